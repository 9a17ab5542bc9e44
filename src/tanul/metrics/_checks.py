"""Input checks shared by the metrics, and the warning they give for undefined values."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np


class UndefinedMetricWarning(UserWarning):
    """A metric was undefined (e.g. precision of a class never predicted) and set to a fixed value.

    Same meaning as scikit-learn's warning of the same name: the value returned is the
    ``zero_division`` value (0.0 by default), never NaN.
    """


def warn_undefined(message: str) -> None:
    warnings.warn(message, UndefinedMetricWarning, stacklevel=3)


def as_array(where: str, a: Any, name: str) -> np.ndarray:
    """``np.asarray`` with a clear error for ragged input, and a check that it is not empty."""
    try:
        arr = np.asarray(a)
    except ValueError as exc:  # ragged nested lists
        raise ValueError(f"{where}: expected {name} to be an array, got ragged input ({exc})") from None
    if arr.dtype == object:
        raise TypeError(f"{where}: expected {name} to be a numeric or label array, got dtype=object")
    if arr.ndim == 0:
        raise ValueError(f"{where}: expected {name} to be an array of samples, got the scalar {arr!r}")
    if arr.shape[0] == 0:
        raise ValueError(f"{where}: expected at least one sample in {name}, got an empty array")
    return arr


def check_finite(where: str, a: np.ndarray, name: str) -> np.ndarray:
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{where}: expected {name} to be numeric, got dtype={a.dtype}")
    if a.dtype.kind == "f" and not np.isfinite(a).all():
        bad = int(np.size(a) - np.isfinite(a).sum())
        raise ValueError(f"{where}: {name} contains {bad} NaN or infinite value(s); "
                         "check the model's outputs (a diverged training run?)")
    return a


def check_same_length(where: str, a: np.ndarray, b: np.ndarray, names: tuple[str, str]) -> None:
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"{where}: {names[0]} and {names[1]} must have the same number of samples, "
                         f"got {a.shape[0]} and {b.shape[0]}")


def labels_1d(where: str, y: Any, name: str) -> np.ndarray:
    """A 1-D array of class labels; a column ``(N, 1)`` is flattened, ``(N, K)`` is refused."""
    arr = as_array(where, y, name)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError(f"{where}: expected {name} to be 1-D class labels of shape (N,), got shape "
                         f"{arr.shape} (for one-hot targets or probability rows, take argmax(axis=1) "
                         "or use tanul.metrics.get(...), which does it for you)")
    if arr.dtype.kind == "f":
        check_finite(where, arr, name)
    return arr


def check_zero_division(where: str, zero_division: Any) -> None:
    if isinstance(zero_division, str):
        if zero_division != "warn":
            raise ValueError(f"{where}: expected zero_division to be 'warn', 0, 1 or np.nan, "
                             f"got {zero_division!r}")
        return
    if isinstance(zero_division, bool) or not isinstance(zero_division, (int, float, np.number)) or not (
            zero_division in (0, 1) or np.isnan(zero_division)):
        raise ValueError(f"{where}: expected zero_division to be 'warn', 0, 1 or np.nan, "
                         f"got {zero_division!r}")


def zero_division_value(zero_division: Any) -> float:
    return 0.0 if zero_division == "warn" else float(zero_division)


def safe_divide(num: np.ndarray, den: np.ndarray, zero_division: Any, what: str, reason: str) -> np.ndarray:
    """``num / den`` elementwise with ``zero_division`` where ``den == 0`` (and a warning if 'warn')."""
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    zero = den == 0
    out = np.divide(num, den, out=np.full(np.broadcast(num, den).shape, zero_division_value(zero_division)),
                    where=~zero)
    if zero_division == "warn" and np.any(zero):
        warn_undefined(f"{what} is ill-defined and being set to 0.0 for {reason}. "
                       "Use the zero_division argument to choose the value (and silence this warning).")
    return out
