"""Text displays of a model: the ``summary()`` table and the ``repr``.

Above :mod:`tanul.layers`, below :mod:`tanul.model`: the functions read a model through its
public attributes (``name``, ``layers``, ``input_shape``, ``built``, ``dtype``, ``seed``,
``count_params()``) and never import it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tanul.layers import format_shape

__all__ = ["summary_rows", "summary_text", "model_repr"]


def summary_rows(model: Any) -> list[tuple[str, str, str]]:
    """``(name (type), output shape, parameter count)`` per layer; ``?`` where not built."""
    rows = []
    shape = model.input_shape
    for layer in model.layers:
        out = format_shape(layer.output_shape(shape)) if shape is not None else "?"
        if shape is not None:
            shape = tuple(layer.output_shape(shape))
        rows.append((f"{layer.name} ({type(layer).__name__})", out,
                     f"{layer.n_params:,}" if layer.built else "?"))
    return rows


def summary_text(model: Any) -> str:
    """The table printed by ``Sequential.summary``: layers, output shapes, parameter counts,
    then the totals (and their memory in the model's dtype)."""
    rows = [("Layer (type)", "Output shape", "Param #"), *summary_rows(model)]
    w = [max(len(r[i]) for r in rows) + 3 for i in range(3)]
    line = "=" * sum(w)
    text = [f'Model "{model.name}"' + (f"  input {format_shape(model.input_shape)}"
                                       if model.input_shape else ""), line]
    for i, r in enumerate(rows):
        text.append(f"{r[0]:<{w[0]}}{r[1]:<{w[1]}}{r[2]:>{w[2]}}")
        if i == 0:
            text.append(line)
    text.append(line)
    n_state = sum(v.size for layer in model.layers for v in layer.state.values())
    if model.built:
        n = model.count_params()
        text.append(f"Trainable params: {n:,} ({n * model.dtype.itemsize / 1024:,.1f} KiB, "
                    f"{model.dtype.name})")
    else:
        text.append("Trainable params: ? (not built yet: pass input_shape=, call build(input_shape) "
                    "or fit)")
    if n_state:
        text.append(f"Non-trainable state: {n_state:,}")
    return "\n".join(text)


def model_repr(model: Any) -> str:
    """``Sequential([...layers...], seed=..., dtype=...)``, one layer a line."""
    inner = ",\n".join(f"  {layer!r}" for layer in model.layers)
    opts = f", seed={model.seed}" if model.seed is not None else ""
    if model.dtype != np.float32:
        opts += f", dtype={model.dtype.name!r}"
    return f"Sequential([\n{inner}\n]{opts})" if model.layers else f"Sequential([]{opts})"
