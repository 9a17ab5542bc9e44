"""The flat buffers: every parameter of a model in one array, every gradient in another.

After packing, ``layer.params["W"]`` is a reshaped *view* into ``params`` and
``layer.grads["W"]`` a view into ``grads``, so an optimiser updates the whole model with a
few whole-buffer operations, and ``params``/``grads`` are what
:class:`tanul.protocol.TrainingProblem` hands to optimisers. Qualified names are
``"{layer.name}.{param}"`` (``"dense_0.W"``), in buffer order.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["FlatParameters"]


class FlatParameters:
    """Pack the parameters of ``layers`` (built) into one ``dtype`` buffer, gradients into another.

    Attributes
    ----------
    params, grads : 1-D arrays of the same length and dtype
    index : dict name -> (layer, key, offset, shape)
    """

    def __init__(self, layers: list[Any], dtype: Any) -> None:
        entries = [(layer, k, p) for layer in layers for k, p in layer.params.items()]
        total = sum(p.size for _, _, p in entries)
        self.params = np.empty(total, dtype)
        self.grads = np.zeros(total, dtype)
        self.index: dict[str, tuple[Any, str, int, tuple[int, ...]]] = {}
        self._grad_views: dict[str, np.ndarray] = {}  # the views handed to the layers, by name
        off = 0
        for layer, k, p in entries:
            n = p.size
            pv = self.params[off:off + n].reshape(p.shape)
            pv[...] = p
            layer.params[k] = pv
            layer.grads[k] = self.grads[off:off + n].reshape(p.shape)
            self._grad_views[f"{layer.name}.{k}"] = layer.grads[k]
            self.index[f"{layer.name}.{k}"] = (layer, k, off, p.shape)
            off += n

    def sync_grads(self) -> None:
        """Copy back gradients that a user layer rebound instead of writing in place."""
        for name, (layer, k, off, shape) in self.index.items():
            g = layer.grads[k]
            if g is self._grad_views.get(name):  # the usual case: written in place
                continue
            view = self.grads[off:off + g.size]
            if not np.shares_memory(g, view):
                view.reshape(shape)[...] = g
                layer.grads[k] = self._grad_views[name] = view.reshape(shape)

    def thread_parts(self) -> list[list[tuple[int, int]]] | None:
        """Which thread updates which ranges of the buffers, from the layers' ``param_blocks``.

        Part ``j`` holds row block ``j`` of every blocked parameter; the other parameters, runs of
        neighbours merged into one range (each range costs a dozen NumPy calls), go to the part
        with the fewest elements so far. ``None`` when no layer computes its parameters in blocks.
        """
        blocked, rest = [], []
        for layer, k, off, shape in self.index.values():
            bounds = layer.param_blocks().get(k)
            if bounds is None:
                stop = off + int(np.prod(shape, dtype=np.int64))
                if rest and rest[-1][1] == off:
                    rest[-1] = (rest[-1][0], stop)
                else:
                    rest.append((off, stop))
                continue
            row = int(np.prod(shape[1:], dtype=np.int64))
            blocked.append([(off + a * row, off + b * row) for a, b in zip(bounds[:-1], bounds[1:])])
        if not blocked:
            return None
        parts: list[list[tuple[int, int]]] = [[] for _ in range(max(len(b) for b in blocked))]
        for ranges in blocked:
            for j, r in enumerate(ranges):
                parts[j].append(r)
        for r in rest:
            min(parts, key=lambda q: sum(b - a for a, b in q)).append(r)
        return parts

    def offsets(self) -> dict[str, tuple[int, tuple[int, ...]]]:
        """``{name: (offset, shape)}``: the layout optimisers use for per-parameter state."""
        return {name: (off, shape) for name, (_, _, off, shape) in self.index.items()}

    def named(self) -> dict[str, np.ndarray]:
        """``{name: view}`` of every parameter, in buffer order."""
        return {name: layer.params[k] for name, (layer, k, _, _) in self.index.items()}

    def __repr__(self) -> str:
        return f"FlatParameters({len(self.index)} arrays, {self.params.size:,} {self.params.dtype.name})"
