"""Optimiser base class: in-place updates over the model's flat parameter buffer.

A built :class:`~tanul.model.Sequential` keeps all parameters in one contiguous array ``p`` and
all gradients in another, ``g``. An optimiser's ``_update(p, g, lr)`` therefore runs a handful
of whole-buffer ufunc passes per step (``out=`` everywhere, no temporaries beyond one scratch
buffer), instead of a Python loop over layers. Its state arrays ("slots", e.g. Adam's ``m`` and
``v``) have the same flat shape; ``get_slot(name, "dense_0.W")`` gives the view for one
parameter, and ``state_dict()`` keys everything by qualified parameter name so that a saved state
does not depend on the layout of the buffer.

Optimisers also work without a model: ``opt.build(p, g)`` on any pair of same-shaped float arrays
(contiguous), then ``opt.step()`` after writing ``g``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["Optimizer"]


def _check_nonneg(cls: str, name: str, value: Any, *, upper: float | None = None,
                  positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"{cls}: expected {name} to be a float, got {name}={value!r}")
    v = float(value)
    bad = not math.isfinite(v) or v < 0 or (positive and v == 0) or (upper is not None and v >= upper)
    if bad:
        rng = f"in {'(0' if positive else '[0'}, {upper})" if upper is not None else \
            ("> 0" if positive else ">= 0")
        raise ValueError(f"{cls}: expected {name} {rng}, got {name}={value!r}")
    return v


class Optimizer:
    """Base class of all optimisers.

    Parameters
    ----------
    lr : float or schedule
        Learning rate η, or a schedule object ``schedule(step) -> float`` (``tanul.optimizers``
        schedules), evaluated at the 0-based step number before each update.
    clipnorm : float, optional
        Rescale the whole gradient so that its global L2 norm ‖g‖ is at most ``clipnorm``.
    clipvalue : float, optional
        Clip every gradient entry to [−clipvalue, clipvalue] (applied after ``clipnorm``).

    Notes
    -----
    Subclasses declare their slots in ``slots`` and implement ``_update(p, g, lr)``.
    """

    slots: tuple[str, ...] = ()

    #: ``run(fn, n, min_chunk)`` calling ``fn(start, stop)`` on chunks of ``range(n)``, possibly on
    #: several threads (``fn`` writes disjoint parts). ``None`` (default): one call on the calling
    #: thread. The model hands over ``tanul.ops.parallel.parallel_for`` together with
    #: :attr:`parallel_parts` when a layer computes its weights in row blocks (so this module needs
    #: no import of ops); set by hand without parts it splits the buffers into contiguous chunks,
    #: which on the shared 2-core machine made the MLP benchmark slower (docs/benchmarks.md).
    parallel_for: Any = None
    #: Fewest elements a thread gets: below 2 × this a step runs on one thread (a thread hand-off
    #: costs tens of µs; a pass over 65,536 float32 about 5 µs).
    parallel_min_chunk: int = 65536
    #: ``parts[j]``: the ``(start, stop)`` ranges of the buffers that chunk ``j`` of
    #: ``run(fn, len(parts), 1)`` updates. ``None`` (default): ``run`` splits the buffers into
    #: contiguous chunks of at least :attr:`parallel_min_chunk`. The model sets both when a layer
    #: computes its weights in row blocks on separate threads (``Layer.param_blocks``), so that
    #: each block is updated by the thread, and in the core cache, that computed its gradient.
    parallel_parts: list[list[tuple[int, int]]] | None = None

    def __init__(self, lr: Any = 0.01, *, clipnorm: float | None = None,
                 clipvalue: float | None = None) -> None:
        cls = type(self).__name__
        if callable(lr) and not isinstance(lr, (int, float)):
            self.lr = lr
        else:
            self.lr = _check_nonneg(cls, "lr", lr)
        self.clipnorm = clipnorm if clipnorm is None else \
            _check_nonneg(cls, "clipnorm", clipnorm, positive=True)
        self.clipvalue = clipvalue if clipvalue is None else \
            _check_nonneg(cls, "clipvalue", clipvalue, positive=True)
        self.iterations = 0
        self._p: np.ndarray | None = None
        self._g: np.ndarray | None = None
        self._index: dict[str, tuple[int, tuple[int, ...]]] = {}
        self._state: dict[str, np.ndarray] = {}

    # ------------------------------------------------------------------ building
    def build(self, params: np.ndarray, grads: np.ndarray,
              index: dict[str, tuple[int, tuple[int, ...]]] | None = None) -> None:
        """Attach to a flat parameter buffer and its gradient buffer.

        ``index`` maps qualified names to ``(offset, shape)`` inside the buffers. State of the same
        size that already exists (a second ``fit``) is kept.
        """
        if params.shape != grads.shape or params.dtype != grads.dtype:
            raise ValueError(f"{type(self).__name__}: params and grads must match, got "
                             f"{params.shape}/{params.dtype} and {grads.shape}/{grads.dtype}")
        if not (params.flags.c_contiguous and grads.flags.c_contiguous):
            raise ValueError(f"{type(self).__name__}: params and grads must be contiguous arrays")
        same = self._p is not None and self._p.shape == params.shape and self._p.dtype == params.dtype
        if self.parallel_parts is not None:  # they describe the old buffers; a model sets new ones
            self.parallel_for, self.parallel_parts = None, None
        self._p, self._g = params, grads
        self._index = dict(index) if index is not None else {"param": (0, params.shape)}
        if not same:
            self._state = {s: np.zeros_like(params) for s in self.slots}
            self._init_state()
            self.iterations = 0
        self._scratch = np.empty_like(params)

    def _init_state(self) -> None:
        """Hook for non-zero initial state (AdaGrad's initial accumulator)."""

    @property
    def built(self) -> bool:
        return self._p is not None

    def is_built_for(self, params: np.ndarray) -> bool:
        """Whether the optimiser is attached to exactly this parameter buffer."""
        return self._p is params

    # ------------------------------------------------------------------ stepping
    @property
    def current_lr(self) -> float:
        """η for the next step (a schedule is evaluated at ``iterations``)."""
        return float(self.lr(self.iterations)) if callable(self.lr) else self.lr

    def clip_gradients(self, g: np.ndarray) -> None:
        """Clip ``g`` in place by global norm, then by value."""
        if self.clipnorm is not None:
            norm = math.sqrt(float(np.dot(g.ravel(), g.ravel())))
            if norm > self.clipnorm:
                g *= g.dtype.type(self.clipnorm / norm)
        if self.clipvalue is not None:
            np.clip(g, -self.clipvalue, self.clipvalue, out=g)

    def step(self) -> None:
        """One update of the attached parameters from the attached gradients (in place)."""
        if self._p is None:
            raise RuntimeError(f"{type(self).__name__}: step() before build(); compile a model "
                               "with this optimiser or call build(params, grads)")
        lr = self.current_lr
        self.clip_gradients(self._g)
        self.iterations += 1
        p, g, run, parts = self._p, self._g, self.parallel_for, self.parallel_parts
        if run is None or type(self)._update_part is Optimizer._update_part \
                or (parts is None and p.size < 2 * self.parallel_min_chunk):
            self._update(p, g, lr)
            return
        if parts is not None:
            def update_parts(first: int, stop: int) -> None:
                for j in range(first, stop):
                    for a, b in parts[j]:
                        self._update_part(p[a:b], g[a:b], lr, slice(a, b))

            run(update_parts, len(parts), 1)
            return
        run(lambda a, b: self._update_part(p[a:b], g[a:b], lr, slice(a, b)), p.size,
            self.parallel_min_chunk)

    def _update(self, p: np.ndarray, g: np.ndarray, lr: float) -> None:  # pragma: no cover
        raise NotImplementedError

    def _update_part(self, p: np.ndarray, g: np.ndarray, lr: float, part: slice | None) -> None:
        """The update of the elements ``part`` of the buffers (``p``, ``g``: those elements;
        ``part`` None: the whole buffers).

        Optimisers whose update is element-wise implement it; :meth:`step` then splits a large
        buffer over :attr:`parallel_for`'s threads. Element-wise, so the result does not depend on
        the split. Not implemented here: such an optimiser always updates the whole buffer at once.
        """
        raise NotImplementedError  # pragma: no cover

    # ------------------------------------------------------------------ state
    def get_slot(self, slot: str, name: str) -> np.ndarray:
        """View of state ``slot`` for the parameter called ``name`` (e.g. ``"dense_0.W"``)."""
        if slot not in self._state:
            raise KeyError(f"{type(self).__name__} has no slot {slot!r}; slots: {list(self._state)}")
        if name not in self._index:
            raise KeyError(f"{type(self).__name__}: unknown parameter {name!r}; known: {list(self._index)}")
        off, shape = self._index[name]
        size = int(np.prod(shape))
        return self._state[slot][off:off + size].reshape(shape)

    def state_dict(self) -> dict[str, Any]:
        """``{"iterations": t, "slots": {"m/dense_0.W": array, ...}}`` (copies)."""
        out: dict[str, np.ndarray] = {}
        for slot in self._state:
            for name in self._index:
                out[f"{slot}/{name}"] = self.get_slot(slot, name).copy()
        return {"iterations": int(self.iterations), "slots": out}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned (the optimiser must be built)."""
        if self._p is None:
            raise RuntimeError(f"{type(self).__name__}: build the optimiser before loading state")
        slots = state.get("slots", {})
        expected = {f"{s}/{n}" for s in self._state for n in self._index}
        if set(slots) != expected:
            missing, extra = sorted(expected - set(slots)), sorted(set(slots) - expected)
            raise ValueError(f"{type(self).__name__}: optimiser state does not match the model; "
                             f"missing {missing[:5]}, unexpected {extra[:5]}")
        for key, arr in slots.items():
            slot, name = key.split("/", 1)
            view = self.get_slot(slot, name)
            if np.shape(arr) != view.shape:
                raise ValueError(f"{type(self).__name__}: state {key!r} has shape {np.shape(arr)}, "
                                 f"expected {view.shape}")
            view[...] = arr
        self.iterations = int(state.get("iterations", 0))

    def get_config(self) -> dict[str, Any]:
        lr = self.lr
        if callable(lr):
            lr = {"class_name": type(lr).__name__, "config": lr.get_config()} \
                if hasattr(lr, "get_config") else repr(lr)
        cfg: dict[str, Any] = {"lr": lr}
        if self.clipnorm is not None:
            cfg["clipnorm"] = self.clipnorm
        if self.clipvalue is not None:
            cfg["clipvalue"] = self.clipvalue
        return cfg

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.get_config().items())})"
