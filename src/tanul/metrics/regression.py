"""Regression metrics: MSE, RMSE, MAE, R^2 (several outputs: the uniform average over outputs).

For targets ``y`` and predictions ``yhat`` over ``N`` samples (per output column)::

    MSE  = (1/N) sum_i (y_i - yhat_i)^2          RMSE = sqrt(MSE)
    MAE  = (1/N) sum_i |y_i - yhat_i|
    R^2  = 1 - sum_i (y_i - yhat_i)^2 / sum_i (y_i - mean(y))^2

R^2 of a constant target is 1.0 for a perfect prediction and 0.0 otherwise (scikit-learn's
``force_finite``), never NaN or -inf.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tanul.metrics._checks import as_array, check_finite, check_same_length

MULTIOUTPUT = ("uniform_average", "raw_values")


def _targets(where: str, y_true: Any, y_pred: Any, multioutput: str) -> tuple[np.ndarray, np.ndarray]:
    if multioutput not in MULTIOUTPUT:
        raise ValueError(f"{where}: expected multioutput in {MULTIOUTPUT}, got {multioutput!r}")
    yt = check_finite(where, as_array(where, y_true, "y_true"), "y_true").astype(np.float64)
    yp = check_finite(where, as_array(where, y_pred, "y_pred"), "y_pred").astype(np.float64)
    check_same_length(where, yt, yp, ("y_true", "y_pred"))
    yt = yt.reshape(yt.shape[0], -1) if yt.ndim != 1 else yt[:, None]
    yp = yp.reshape(yp.shape[0], -1) if yp.ndim != 1 else yp[:, None]
    if yt.shape != yp.shape:
        raise ValueError(f"{where}: y_true and y_pred must have the same number of outputs\n"
                         f"  Expect: {np.shape(y_true)}\n  Actual: {np.shape(y_pred)}")
    return yt, yp


def _reduce(values: np.ndarray, multioutput: str) -> Any:
    return values if multioutput == "raw_values" else float(np.mean(values))


def mse(y_true: Any, y_pred: Any, *, multioutput: str = "uniform_average") -> Any:
    """Mean squared error ``(1/N) sum_i (y_i - yhat_i)^2``.

    >>> mse([1.0, 2.0, 3.0], [1.0, 2.0, 5.0])
    1.333...
    """
    yt, yp = _targets("mse", y_true, y_pred, multioutput)
    return _reduce(np.mean((yt - yp) ** 2, axis=0), multioutput)


def rmse(y_true: Any, y_pred: Any, *, multioutput: str = "uniform_average") -> Any:
    """Root mean squared error ``sqrt(MSE)`` per output (then averaged over outputs).

    >>> rmse([0.0, 0.0], [3.0, 4.0])
    3.535...
    """
    yt, yp = _targets("rmse", y_true, y_pred, multioutput)
    return _reduce(np.sqrt(np.mean((yt - yp) ** 2, axis=0)), multioutput)


def mae(y_true: Any, y_pred: Any, *, multioutput: str = "uniform_average") -> Any:
    """Mean absolute error ``(1/N) sum_i |y_i - yhat_i|``.

    >>> mae([1.0, 2.0, 3.0], [1.0, 2.0, 5.0])
    0.666...
    """
    yt, yp = _targets("mae", y_true, y_pred, multioutput)
    return _reduce(np.mean(np.abs(yt - yp), axis=0), multioutput)


def r2(y_true: Any, y_pred: Any, *, multioutput: str = "uniform_average") -> Any:
    """Coefficient of determination ``1 - SS_res / SS_tot``; 1 is perfect, 0 predicts the mean.

    >>> r2([1.0, 2.0, 3.0], [1.0, 2.0, 4.0])
    0.5
    """
    yt, yp = _targets("r2", y_true, y_pred, multioutput)
    ss_res = np.sum((yt - yp) ** 2, axis=0)
    ss_tot = np.sum((yt - yt.mean(axis=0)) ** 2, axis=0)
    ok = ss_tot != 0
    out = np.where(ss_res == 0, 1.0, 0.0)
    out[ok] = 1.0 - ss_res[ok] / ss_tot[ok]
    return _reduce(out, multioutput)
