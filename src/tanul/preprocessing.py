"""Data preparation: scalers, splits, one-hot labels and batches.

**Fit scalers on the training data only.** Statistics computed on all the data let the test set
leak into training (its mean and spread shape the inputs the network learns from), and the
test score then flatters the model. The pattern::

    x_scaler = StandardScaler().fit(x_train)           # statistics of the training set
    x_train, x_val, x_test = (x_scaler.transform(a) for a in (x_train, x_val, x_test))

Output rescaling: a regression network learns better on standardised targets; train on the
scaled targets and report predictions and errors in the original units::

    y_scaler = StandardScaler().fit(y_train)
    model.fit(x_train, y_scaler.transform(y_train), ...)
    y_pred = y_scaler.inverse_transform(model.predict(x_test))   # back in °C, $, ...

Scalers accept ``(N, F)`` arrays and ``(N,)`` arrays (one feature; the shape is kept).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np

__all__ = ["StandardScaler", "MinMaxScaler", "train_test_split", "train_val_test_split", "one_hot",
           "batches"]


def _as_2d(x: Any, who: str) -> tuple[np.ndarray, bool]:
    a = np.asarray(x)
    if a.dtype.kind not in "fiub":
        raise TypeError(f"{who}: expected a numeric array, got dtype {a.dtype}")
    if a.ndim == 1:
        return a.reshape(-1, 1), True
    if a.ndim != 2:
        raise ValueError(f"{who}: expected an array of shape (N, F) or (N,), got shape {a.shape}")
    if a.shape[0] == 0:
        raise ValueError(f"{who}: expected at least one sample, got shape {a.shape}")
    return a, False


def _check_finite(a: np.ndarray, who: str) -> None:
    if a.dtype.kind == "f" and not np.isfinite(a).all():
        bad = np.flatnonzero(~np.isfinite(a).all(axis=0))
        raise ValueError(f"{who}: found NaN or infinite values in column(s) {bad.tolist()[:10]}; "
                         "clean or impute them first")


def _out_dtype(a: np.ndarray) -> np.dtype:
    return a.dtype if a.dtype.kind == "f" else np.dtype(np.float64)


class _Scaler:
    _fitted_attr = ""

    def _check_fitted(self, who: str) -> None:
        if getattr(self, self._fitted_attr, None) is None:
            raise RuntimeError(f"{type(self).__name__}.{who}: call fit() first (on the training data)")

    def _check_features(self, a: np.ndarray, who: str) -> None:
        if a.shape[1] != self.n_features_in_:
            raise ValueError(f"{type(self).__name__}.{who}: fitted on {self.n_features_in_} features, "
                             f"got {a.shape[1]}")

    def fit_transform(self, x: Any) -> np.ndarray:
        """``fit(x)`` then ``transform(x)``."""
        return self.fit(x).transform(x)

    def get_state(self) -> dict[str, Any]:
        """The fitted statistics as plain lists (JSON-able), with the settings."""
        out: dict[str, Any] = {"class_name": type(self).__name__, "config": self.get_config()}
        for k in self._state_keys:
            v = getattr(self, k, None)
            out[k] = v.tolist() if isinstance(v, np.ndarray) else v
        return out

    def set_state(self, state: dict[str, Any]) -> _Scaler:
        for k in self._state_keys:
            v = state.get(k)
            setattr(self, k, np.asarray(v, dtype=np.float64) if isinstance(v, list) else v)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        fitted = ""
        if getattr(self, self._fitted_attr, None) is not None:
            fitted = f"  # fitted on {self.n_features_in_} features"
        return f"{type(self).__name__}({args}){fitted}"


class StandardScaler(_Scaler):
    """Standardise features: :math:`z = (x - \\mu) / \\sigma` with the training mean and the
    population standard deviation (``ddof=0``, as scikit-learn).

    A constant column has :math:`\\sigma = 0`; its scale is set to 1 (it becomes all zeros)
    instead of dividing by zero.

    Attributes
    ----------
    mean_, var_, scale_ : ndarray (F,)
    n_features_in_, n_samples_seen_ : int

    Examples
    --------
    >>> s = StandardScaler().fit([[0.0, 5.0], [2.0, 5.0]])
    >>> s.transform([[1.0, 5.0], [3.0, 6.0]]).tolist()
    [[0.0, 0.0], [2.0, 1.0]]
    """

    _fitted_attr = "scale_"
    _state_keys = ("mean_", "var_", "scale_", "n_features_in_", "n_samples_seen_")

    def __init__(self, with_mean: bool = True, with_std: bool = True) -> None:
        self.with_mean, self.with_std = bool(with_mean), bool(with_std)
        self.mean_ = self.var_ = self.scale_ = None
        self.n_features_in_ = self.n_samples_seen_ = None

    def get_config(self) -> dict[str, Any]:
        return {"with_mean": self.with_mean, "with_std": self.with_std}

    def fit(self, x: Any) -> StandardScaler:
        """Compute the mean and standard deviation of each column of ``x``."""
        a, _ = _as_2d(x, "StandardScaler.fit")
        _check_finite(a, "StandardScaler.fit")
        a = a.astype(np.float64)
        self.n_samples_seen_, self.n_features_in_ = a.shape
        self.mean_ = a.mean(axis=0)
        self.var_ = a.var(axis=0)
        scale = np.sqrt(self.var_)
        # scikit-learn's test for a constant column: variance at round-off level
        n, eps = a.shape[0], np.finfo(np.float64).eps
        const = self.var_ <= n * eps * self.var_ + (n * self.mean_ * eps) ** 2
        scale[const] = 1.0
        self.scale_ = scale if self.with_std else np.ones_like(scale)
        if not self.with_mean:
            self.mean_ = np.zeros_like(self.mean_)
        return self

    def transform(self, x: Any) -> np.ndarray:
        """``(x - mean_) / scale_``, in ``x``'s float dtype."""
        self._check_fitted("transform")
        a, flat = _as_2d(x, "StandardScaler.transform")
        self._check_features(a, "transform")
        dt = _out_dtype(a)
        out = ((a - self.mean_) / self.scale_).astype(dt, copy=False)
        return out.ravel() if flat else out

    def inverse_transform(self, z: Any) -> np.ndarray:
        """``z * scale_ + mean_``: back to the original units."""
        self._check_fitted("inverse_transform")
        a, flat = _as_2d(z, "StandardScaler.inverse_transform")
        self._check_features(a, "inverse_transform")
        out = (a * self.scale_ + self.mean_).astype(_out_dtype(a), copy=False)
        return out.ravel() if flat else out


class MinMaxScaler(_Scaler):
    """Scale each feature to ``feature_range`` ``(a, b)``:
    :math:`x' = a + (x - x_{min}) \\, (b - a) / (x_{max} - x_{min})`.

    A constant column uses a range of 1, as scikit-learn does; "constant" means a range below
    ``10 * eps`` (float64 eps), so a round-off or subnormal range such as ``2e-311`` cannot
    overflow the division.
    Values outside the training range map outside ``(a, b)``: that is expected for new data.

    Examples
    --------
    >>> MinMaxScaler().fit_transform([[1.0], [3.0], [5.0]]).ravel().tolist()
    [0.0, 0.5, 1.0]
    """

    _fitted_attr = "scale_"
    _state_keys = ("data_min_", "data_max_", "data_range_", "scale_", "min_", "n_features_in_",
                   "n_samples_seen_")

    def __init__(self, feature_range: tuple[float, float] = (0.0, 1.0)) -> None:
        lo, hi = feature_range
        if not lo < hi:
            raise ValueError(f"MinMaxScaler: expected feature_range (min, max) with min < max, "
                             f"got {feature_range!r}")
        self.feature_range = (float(lo), float(hi))
        self.data_min_ = self.data_max_ = self.data_range_ = self.scale_ = self.min_ = None
        self.n_features_in_ = self.n_samples_seen_ = None

    def get_config(self) -> dict[str, Any]:
        return {"feature_range": self.feature_range}

    def fit(self, x: Any) -> MinMaxScaler:
        """Record each column's minimum and maximum."""
        a, _ = _as_2d(x, "MinMaxScaler.fit")
        _check_finite(a, "MinMaxScaler.fit")
        a = a.astype(np.float64)
        self.n_samples_seen_, self.n_features_in_ = a.shape
        self.data_min_, self.data_max_ = a.min(axis=0), a.max(axis=0)
        self.data_range_ = self.data_max_ - self.data_min_
        # a range below 10·eps counts as constant, as in scikit-learn (a subnormal range would
        # overflow (hi − lo) / range)
        rng = np.where(self.data_range_ < 10 * np.finfo(np.float64).eps, 1.0, self.data_range_)
        lo, hi = self.feature_range
        self.scale_ = (hi - lo) / rng
        self.min_ = lo - self.data_min_ * self.scale_
        return self

    def transform(self, x: Any) -> np.ndarray:
        self._check_fitted("transform")
        a, flat = _as_2d(x, "MinMaxScaler.transform")
        self._check_features(a, "transform")
        out = (a * self.scale_ + self.min_).astype(_out_dtype(a), copy=False)
        return out.ravel() if flat else out

    def inverse_transform(self, z: Any) -> np.ndarray:
        self._check_fitted("inverse_transform")
        a, flat = _as_2d(z, "MinMaxScaler.inverse_transform")
        self._check_features(a, "inverse_transform")
        out = ((a - self.min_) / self.scale_).astype(_out_dtype(a), copy=False)
        return out.ravel() if flat else out


# ---------------------------------------------------------------------- splits
def _check_arrays(arrays: tuple, who: str) -> int:
    if not arrays:
        raise ValueError(f"{who}: expected at least one array")
    lengths = [len(a) for a in arrays]
    if len(set(lengths)) != 1:
        raise ValueError(f"{who}: all arrays must have the same length, got lengths {lengths}")
    if lengths[0] < 2:
        raise ValueError(f"{who}: expected at least 2 samples, got {lengths[0]}")
    return lengths[0]


def _count(size: Any, n: int, name: str, who: str) -> int:
    if isinstance(size, bool):
        raise TypeError(f"{who}: {name} must be a float fraction or an int count, got {size!r}")
    if isinstance(size, (float, np.floating)):
        if not 0.0 <= size < 1.0:
            raise ValueError(f"{who}: expected {name} as a fraction in [0, 1), got {size}")
        return int(math.ceil(size * n)) if size > 0 else 0
    if isinstance(size, (int, np.integer)):
        if not 0 <= size < n:
            raise ValueError(f"{who}: expected {name} as a count in [0, {n}), got {size}")
        return int(size)
    raise TypeError(f"{who}: {name} must be a float fraction or an int count, got {size!r}")


def _stratified_order(y: np.ndarray, sizes: list[int], rng: np.random.Generator) -> list[np.ndarray]:
    """Split indices into parts of ``sizes`` keeping each class's share in every part."""
    classes, inv = np.unique(y, return_inverse=True)
    n = len(y)
    parts: list[list[np.ndarray]] = [[] for _ in sizes]
    # allocate each class's members to parts proportionally (largest remainder)
    counts = np.bincount(inv)
    alloc = np.zeros((len(classes), len(sizes)), dtype=int)
    for j, s in enumerate(sizes[:-1]):
        exact = counts * s / n
        base = np.floor(exact).astype(int)
        short = s - base.sum()
        order = np.argsort(-(exact - base), kind="stable")
        base[order[:short]] += 1
        alloc[:, j] = base
    alloc[:, -1] = counts - alloc[:, :-1].sum(axis=1)
    if (alloc < 0).any():
        raise ValueError("stratify: a class has too few members for the requested split sizes")
    for c in range(len(classes)):
        members = rng.permutation(np.flatnonzero(inv == c))
        start = 0
        for j in range(len(sizes)):
            parts[j].append(members[start:start + alloc[c, j]])
            start += alloc[c, j]
    return [rng.permutation(np.concatenate(p)) for p in parts]


def _split(arrays: tuple, sizes: list[int], shuffle: bool, stratify: Any, seed: Any, who: str
           ) -> list[np.ndarray]:
    n = sum(sizes)
    rng = np.random.default_rng(seed)
    if stratify is not None:
        if not shuffle:
            raise ValueError(f"{who}: stratify needs shuffle=True")
        strat = np.asarray(stratify)
        if len(strat) != n:
            raise ValueError(f"{who}: stratify has {len(strat)} labels for {n} samples")
        return _stratified_order(strat, sizes, rng)
    order = rng.permutation(n) if shuffle else np.arange(n)
    bounds = np.cumsum([0, *sizes])
    return [order[bounds[i]:bounds[i + 1]] for i in range(len(sizes))]


def _take(a: Any, idx: np.ndarray) -> Any:
    return a[idx] if isinstance(a, np.ndarray) else np.asarray(a)[idx]


def train_test_split(*arrays: Any, test_size: float | int = 0.25, shuffle: bool = True,
                     stratify: Any = None, seed: int | None = None) -> list[np.ndarray]:
    """Split arrays into a training and a test part (scikit-learn's order of results).

    >>> x, y = np.arange(10).reshape(5, 2), np.arange(5)
    >>> x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=2, shuffle=False)
    >>> y_tr.tolist(), y_te.tolist()
    ([0, 1, 2], [3, 4])

    Parameters
    ----------
    test_size : float (fraction, rounded up) or int (count)
    shuffle : bool
        ``False`` keeps the order (the test part is the end: right for time series).
    stratify : array of labels, optional
        Keep each class's proportion in both parts.
    seed : int, optional
    """
    who = "train_test_split"
    n = _check_arrays(arrays, who)
    n_test = _count(test_size, n, "test_size", who)
    if n_test < 1:
        raise ValueError(f"{who}: test_size={test_size!r} leaves no test samples out of {n}")
    tr, te = _split(arrays, [n - n_test, n_test], shuffle, stratify, seed, who)
    return [part for a in arrays for part in (_take(a, tr), _take(a, te))]


def train_val_test_split(*arrays: Any, val_size: float | int = 0.15, test_size: float | int = 0.15,
                         shuffle: bool = True, stratify: Any = None, seed: int | None = None
                         ) -> list[np.ndarray]:
    """Split arrays into training, validation and test parts: ``x_tr, x_val, x_te, y_tr, ...``.

    With ``shuffle=False`` the order is kept: training first, then validation, then test (a
    chronological split for time series).

    Examples
    --------
    >>> t = np.arange(10)
    >>> [p.tolist() for p in train_val_test_split(t, val_size=2, test_size=3, shuffle=False)]
    [[0, 1, 2, 3, 4], [5, 6], [7, 8, 9]]
    """
    who = "train_val_test_split"
    n = _check_arrays(arrays, who)
    n_val, n_test = _count(val_size, n, "val_size", who), _count(test_size, n, "test_size", who)
    if n_val + n_test >= n:
        raise ValueError(f"{who}: val_size={val_size!r} and test_size={test_size!r} leave no "
                         f"training samples out of {n}")
    tr, va, te = _split(arrays, [n - n_val - n_test, n_val, n_test], shuffle, stratify, seed, who)
    return [part for a in arrays for part in (_take(a, tr), _take(a, va), _take(a, te))]


def one_hot(y: Any, num_classes: int | None = None, dtype: Any = "float32") -> np.ndarray:
    """Integer labels ``(N,)`` to a one-hot matrix ``(N, num_classes)``.

    >>> one_hot([0, 2], 3).tolist()
    [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    """
    a = np.asarray(y)
    if a.ndim != 1:
        raise ValueError(f"one_hot: expected labels of shape (N,), got shape {a.shape}")
    if a.size and (a.dtype.kind not in "iu" and not (a.dtype.kind == "f" and np.all(a == np.round(a)))):
        raise TypeError(f"one_hot: expected integer labels, got dtype {a.dtype}")
    a = a.astype(np.int64)
    if a.size and a.min() < 0:
        raise ValueError(f"one_hot: labels must be >= 0, got minimum {a.min()}")
    k = int(a.max()) + 1 if num_classes is None and a.size else int(num_classes or 0)
    if a.size and a.max() >= k:
        raise ValueError(f"one_hot: label {a.max()} is out of range for num_classes={k}")
    out = np.zeros((a.size, k), dtype=dtype)
    out[np.arange(a.size), a] = 1
    return out


def batches(*arrays: Any, batch_size: int, shuffle: bool = False, seed: int | None = None,
            drop_last: bool = False) -> Iterator[tuple[np.ndarray, ...]]:
    """Yield aligned mini-batches ``(x_b, y_b, ...)`` of ``batch_size`` samples.

    Examples
    --------
    >>> [b[0].tolist() for b in batches(np.arange(5), batch_size=2)]
    [[0, 1], [2, 3], [4]]
    """
    n = _check_arrays(arrays, "batches") if len(arrays) and len(arrays[0]) >= 2 else len(arrays[0])
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batches: expected batch_size to be a positive int, got {batch_size!r}")
    order = np.random.default_rng(seed).permutation(n) if shuffle else np.arange(n)
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        idx = order[start:start + batch_size]
        yield tuple(_take(a, idx) for a in arrays)
