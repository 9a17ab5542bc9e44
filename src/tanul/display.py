"""Rich display in Jupyter: a model as an HTML table, text everywhere else.

Pure functions of a model's public attributes (``name``, ``layers``, ``input_shape``,
``built``, ``dtype``, ``count_params()``, ``optimizer``, ``loss``; per layer ``name``,
``built``, ``n_params``, ``output_shape()``, ``state``), so they work for any model shaped like
:class:`~tanul.Sequential`. Jupyter calls ``Sequential._repr_html_``, which delegates to
:func:`model_html`; a terminal keeps the text of ``repr`` and ``summary()``.

>>> import tanul
>>> from tanul.display import summary
>>> model = tanul.Sequential([tanul.Dense(4, activation="relu"), tanul.Dense(1)], input_shape=(3,))
>>> s = summary(model)
>>> "<table" in s._repr_html_(), "Trainable params: 21" in str(s)
(True, True)
"""

from __future__ import annotations

from html import escape
from typing import Any

__all__ = ["summary_rows", "model_html", "summary", "ModelSummary"]


def _shape(shape: Any) -> str:
    from tanul.layers import format_shape

    return format_shape(tuple(shape))


def summary_rows(model: Any) -> list[dict[str, Any]]:
    """One dict per layer: ``name``, ``type``, ``output_shape`` (lecture notation, "?" before
    building), ``params`` (int, or None before building) and ``state`` (non-trainable values),
    from the same rows as the text summary (:func:`tanul.summary.summary_rows`)."""
    from tanul.summary import summary_rows as text_rows

    rows = []
    for layer, (_, out, _) in zip(model.layers, text_rows(model)):
        built = getattr(layer, "built", False)
        rows.append({"name": str(layer.name), "type": type(layer).__name__, "output_shape": out,
                     "params": int(layer.n_params) if built else None,
                     "state": sum(int(v.size) for v in getattr(layer, "state", {}).values())})
    return rows


def _describe(obj: Any) -> str | None:
    if obj is None:
        return None
    name = getattr(obj, "name", None)
    return repr(obj) if name is None or not isinstance(name, str) else f"{name} ({type(obj).__name__})"


def model_html(model: Any) -> str:
    """The summary of ``model`` as an HTML table (layer, type, output shape, parameters), with
    the totals, the dtype and, once compiled, the optimiser and the loss."""
    rows = summary_rows(model)
    built = bool(getattr(model, "built", False))
    inp = getattr(model, "input_shape", None)
    head = f"<b>{escape(str(model.name))}</b> ({escape(type(model).__name__)})"
    if inp:
        head += f", input {escape(_shape(inp))}"
    cells = []
    for r in rows:
        params = "?" if r["params"] is None else f"{r['params']:,}"
        cells.append(f"<tr><td style='text-align:left'>{escape(r['name'])}</td>"
                     f"<td style='text-align:left'>{escape(r['type'])}</td>"
                     f"<td style='text-align:left'><code>{escape(r['output_shape'])}</code></td>"
                     f"<td style='text-align:right'>{params}</td></tr>")
    if not rows:
        cells.append("<tr><td colspan='4'><i>no layers</i></td></tr>")
    dtype = getattr(getattr(model, "dtype", None), "name", None)
    if built:
        n = int(model.count_params())
        size = n * model.dtype.itemsize / 1024
        total = f"Trainable params: <b>{n:,}</b> ({size:,.1f} KiB, {escape(str(dtype))})"
    else:
        total = "Trainable params: ? (not built yet: pass input_shape=, call build(input_shape) or fit)"
    foot = [total]
    n_state = sum(r["state"] for r in rows)
    if n_state:
        foot.append(f"Non-trainable state: {n_state:,}")
    opt, loss = _describe(getattr(model, "optimizer", None)), _describe(getattr(model, "loss", None))
    if opt is not None or loss is not None:
        foot.append(f"Optimizer: {escape(opt or '-')}; loss: {escape(loss or '-')}")
    return ("<div class='tanul-model'>"
            f"<p style='margin:0 0 4px 0'>{head}</p>"
            "<table style='border-collapse:collapse'>"
            "<thead><tr><th style='text-align:left'>Layer</th><th style='text-align:left'>Type</th>"
            "<th style='text-align:left'>Output shape</th>"
            "<th style='text-align:right'>Param #</th></tr></thead>"
            f"<tbody>{''.join(cells)}</tbody></table>"
            f"<p style='margin:4px 0 0 0'>{'<br>'.join(foot)}</p></div>")


class ModelSummary:
    """What :func:`summary` returns: HTML in Jupyter (``_repr_html_``), the text of
    ``model.summary()`` in ``str``/``repr`` (terminals, doctests, logs)."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def _repr_html_(self) -> str:
        return model_html(self.model)

    def __str__(self) -> str:
        return self.model.summary(print_fn=None)

    __repr__ = __str__


def summary(model: Any) -> ModelSummary:
    """The summary of ``model`` as an object that Jupyter shows as an HTML table and a terminal
    as text: leave ``tanul.display.summary(model)`` as a cell's last value."""
    return ModelSummary(model)
