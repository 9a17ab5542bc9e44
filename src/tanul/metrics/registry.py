"""Metrics by name for ``compile(metrics=[...])``: the ``Metric`` wrapper and ``get``."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np

from tanul.metrics import classification as C
from tanul.metrics import regression as R
from tanul.metrics import scores as S
from tanul.metrics._checks import as_array, check_finite

KINDS = ("labels", "scores", "matrix", "regression", "raw")


def true_labels(y_true: Any, where: str = "metric") -> np.ndarray:
    """Integer class labels from ``(N,)`` labels, an ``(N, 1)`` column or ``(N, K)`` one-hot rows."""
    y = as_array(where, y_true, "y_true")
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim == 2:
        if y.dtype.kind in "biuf":
            check_finite(where, y, "y_true")
            onehot = np.all((y == 0) | (y == 1)) and np.all(y.sum(axis=1) == 1)
            if onehot:
                return y.argmax(axis=1)
        raise ValueError(f"{where}: expected y_true as labels (N,) or one-hot rows (N, K) with a single 1 per "
                         f"row, got shape {y.shape} that is not one-hot (multi-label targets are not "
                         "supported by the classification metrics)")
    if y.ndim != 1:
        raise ValueError(f"{where}: expected y_true of shape (N,) or (N, K), got {y.shape}")
    if y.dtype.kind == "f":
        check_finite(where, y, "y_true")
        if not np.all(y == np.round(y)):
            raise ValueError(f"{where}: expected integer class labels in y_true, got non-integer values "
                             f"such as {y[y != np.round(y)][0]!r} (a regression target? use 'mae' or 'r2')")
        y = y.astype(np.int64)
    return y


def predicted_labels(scores: Any, where: str = "metric") -> np.ndarray:
    """Arg-max of a probability matrix ``(N, K)``; ``score >= 0.5`` for binary ``(N,)`` or ``(N, 1)``."""
    s = check_finite(where, as_array(where, scores, "scores"), "scores")
    if s.ndim == 2 and s.shape[1] > 1:
        return s.argmax(axis=1)
    if s.ndim > 2 or (s.ndim == 2 and s.shape[1] != 1):
        raise ValueError(f"{where}: expected scores of shape (N,), (N, 1) or (N, K), got {s.shape}")
    return (s.reshape(-1) >= 0.5).astype(np.int64)


def positive_scores(scores: Any, where: str = "metric") -> np.ndarray:
    """Binary: the positive class's score (N,) from (N,), (N, 1) or (N, 2); else the (N, K) matrix."""
    s = check_finite(where, as_array(where, scores, "scores"), "scores")
    if s.ndim == 2 and s.shape[1] == 1:
        return s[:, 0]
    if s.ndim == 2 and s.shape[1] == 2:
        return s[:, 1]
    return s


class Metric:
    """A named metric ``m(y_true, scores) -> float`` that reads model outputs directly.

    Parameters
    ----------
    fn : callable
        The metric function.
    name : str, optional
        Key in ``History`` and the logs (``"val_" + name`` for validation data); default
        ``fn.__name__``.
    kind : {"labels", "scores", "matrix", "regression", "raw"}
        How ``(y_true, scores)`` are turned into ``fn``'s arguments:

        * ``"labels"``: y_true labels (one-hot rows -> arg-max); scores -> predicted labels
          (arg-max of (N, K), or ``p >= 0.5`` for (N,) / (N, 1) probabilities);
        * ``"scores"``: y_true labels; scores -> positive-class scores for binary outputs
          ((N, 1) or column 1 of (N, 2)), the (N, K) matrix otherwise (``roc_auc``);
        * ``"matrix"``: y_true labels; scores as given (``top_k_accuracy``);
        * ``"regression"``: both passed as arrays of targets;
        * ``"raw"``: both passed unchanged (user functions).
    **kwargs
        Passed on to ``fn`` (e.g. ``average="macro"``).

    Examples
    --------
    >>> import numpy as np
    >>> m = Metric(C.f1, "f1_macro", "labels", average="macro")
    >>> m
    Metric('f1_macro', f1, kind='labels', average='macro')
    >>> m(np.array([0, 1, 2]), np.array([[.8, .1, .1], [.2, .7, .1], [.1, .6, .3]]))
    0.555...
    """

    def __init__(self, fn: Callable[..., Any], name: str | None = None, kind: str = "raw",
                 **kwargs: Any) -> None:
        if not callable(fn):
            raise TypeError(f"Metric: expected a callable, got {fn!r}")
        if kind not in KINDS:
            raise ValueError(f"Metric: expected kind in {KINDS}, got {kind!r}")
        self.fn = fn
        self.name = name if name is not None else getattr(fn, "__name__", type(fn).__name__)
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"Metric: expected a non-empty name, got {self.name!r}")
        self.kind = kind
        self.kwargs = kwargs

    def __call__(self, y_true: Any, scores: Any) -> float:
        where = f"metric {self.name!r}"
        if self.kind == "labels":
            yt, yp = true_labels(y_true, where), predicted_labels(scores, where)
            return float(self.fn(yt, yp, **self.kwargs))
        if self.kind == "scores":
            return float(self.fn(true_labels(y_true, where), positive_scores(scores, where), **self.kwargs))
        if self.kind == "matrix":
            return float(self.fn(true_labels(y_true, where), scores, **self.kwargs))
        return float(self.fn(y_true, scores, **self.kwargs))  # "regression" and "raw": as given

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name}

    def __repr__(self) -> str:
        extra = "".join(f", {k}={v!r}" for k, v in self.kwargs.items())
        fn = getattr(self.fn, "__name__", repr(self.fn))
        return f"Metric({self.name!r}, {fn}, kind={self.kind!r}{extra})"


def _builtin() -> dict[str, Callable[[str], Metric]]:
    reg: dict[str, Callable[[str], Metric]] = {
        "accuracy": lambda n: Metric(C.accuracy, n, "labels"),
        "acc": lambda n: Metric(C.accuracy, n, "labels"),
        "auc": lambda n: Metric(S.roc_auc, n, "scores"),
        "roc_auc": lambda n: Metric(S.roc_auc, n, "scores"),
        "average_precision": lambda n: Metric(S.average_precision, n, "scores"),
        "mae": lambda n: Metric(R.mae, n, "regression"),
        "mse": lambda n: Metric(R.mse, n, "regression"),
        "rmse": lambda n: Metric(R.rmse, n, "regression"),
        "r2": lambda n: Metric(R.r2, n, "regression"),
    }
    for base, fn in (("precision", C.precision), ("recall", C.recall), ("f1", C.f1)):
        reg[base] = lambda n, fn=fn: Metric(fn, n, "labels", average="binary")
        for avg in ("macro", "micro", "weighted"):
            reg[f"{base}_{avg}"] = lambda n, fn=fn, avg=avg: Metric(fn, n, "labels", average=avg)
    return reg


_REGISTRY = _builtin()
_TOPK = re.compile(r"^top_?(\d+)(?:_accuracy)?$")


def names() -> list[str]:
    """The names ``get`` understands (plus ``top<k>_accuracy`` for any k)."""
    return sorted(_REGISTRY) + ["top<k>_accuracy"]


def get(identifier: Any) -> Metric:
    """A ``Metric`` from a name, a ``Metric`` (returned as is), a callable, or ``{"config": {"name": ...}}``.

    Names: ``accuracy``/``acc``, ``precision``/``recall``/``f1`` (binary) and their ``_macro``,
    ``_micro``, ``_weighted`` forms, ``auc``/``roc_auc``, ``average_precision``,
    ``top5_accuracy`` (any ``top<k>_accuracy``), ``mae``, ``mse``, ``rmse``, ``r2``. A plain
    callable ``f(y_true, scores)`` is wrapped as is and named ``f.__name__``.

    >>> get("f1_macro")
    Metric('f1_macro', f1, kind='labels', average='macro')
    >>> get("top3_accuracy")
    Metric('top3_accuracy', top_k_accuracy, kind='matrix', k=3)
    """
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, dict):
        cfg = identifier.get("config", identifier)
        if "name" not in cfg:
            raise ValueError(f"metrics.get: expected a dict with config['name'], got {identifier!r}")
        return get(cfg["name"])
    if isinstance(identifier, str):
        key = identifier.strip().lower()
        if key in _REGISTRY:
            return _REGISTRY[key](key)
        m = _TOPK.match(key)
        if m and int(m.group(1)) >= 1:
            return Metric(C.top_k_accuracy, key, "matrix", k=int(m.group(1)))
        raise ValueError(f"metrics.get: unknown metric {identifier!r}; expected one of {', '.join(names())} "
                         "or a callable f(y_true, scores)")
    if callable(identifier):
        return Metric(identifier)
    raise TypeError(f"metrics.get: expected a metric name, a Metric or a callable, got {identifier!r}")
