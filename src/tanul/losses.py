"""Loss functions: ``forward(y_pred, y_true) -> float`` and ``backward() -> ∂L/∂y_pred``.

Every loss is a mean over the N samples of the batch, so the gradient carries the 1/N and the
layers' gradients are already batch means.

======================================  ==============================================  ==================
loss                                    L                                               ∂L/∂ŷ
======================================  ==============================================  ==================
``MeanSquaredError``                    (1/N) Σ_n ½ Σ_k (ŷ_nk − y_nk)²                   (ŷ − y) / N
``MeanAbsoluteError``                   (1/N) Σ_n Σ_k |ŷ_nk − y_nk| / K                  sign(ŷ − y) / (N K)
``CrossEntropy(from_logits=True)``      −(1/N) Σ_n Σ_k y_nk log softmax(z_n)_k           (softmax(z) − y) / N
``BinaryCrossEntropy(from_logits=True)`` (1/N) Σ mean_k [max(z,0) − z y + log(1+e^(−|z|))]  (σ(z) − y) / (N K)
``Sum({loss: weight})``                 Σ_i w_i L_i                                      Σ_i w_i ∂L_i/∂ŷ
======================================  ==============================================  ==================

The ½ in the squared error is the course's convention (its derivative is then just ŷ − y). It
sums over output columns, so with K outputs it is K/2 times Keras's ``mse``; the *metric*
``"mse"`` (``tanul.metrics``) is the plain mean of squares.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tanul.ops.activations import log_softmax, sigmoid

__all__ = ["Loss", "MeanSquaredError", "MeanAbsoluteError", "CrossEntropy",
           "BinaryCrossEntropy", "Sum", "get", "serialize"]


class Loss:
    """Base class. Subclasses implement ``_forward`` and ``_backward`` on validated arrays."""

    def __init__(self) -> None:
        self._cache: Any = None

    def __call__(self, y_pred: np.ndarray, y_true: np.ndarray) -> float:
        return self.forward(y_pred, y_true)

    def forward(self, y_pred: np.ndarray, y_true: np.ndarray) -> float:
        y_pred = np.asarray(y_pred)
        if y_pred.ndim == 1:
            y_pred = y_pred[:, None]
        if y_pred.ndim != 2:
            raise ValueError(f"{type(self).__name__}: expected predictions of shape (N, K), "
                             f"got {y_pred.shape}")
        y_true = self.check_target(y_true, y_pred.shape)
        return self._forward(y_pred, y_true)

    def backward(self) -> np.ndarray:
        if self._cache is None:
            raise RuntimeError(f"{type(self).__name__}: backward() called before forward()")
        return self._backward()

    def check_target(self, y_true: Any, pred_shape: tuple[int, ...]) -> np.ndarray:
        """Validate ``y_true`` against the prediction shape and return it as an array."""
        y = np.asarray(y_true)
        if y.ndim == 1:
            y = y[:, None]
        if y.shape != tuple(pred_shape):
            raise ValueError(f"{type(self).__name__}: targets and predictions differ in shape.\n"
                             f"  Expect: {tuple(pred_shape)}\n  Actual: {np.shape(y_true)}")
        return y

    def link(self, y_pred: np.ndarray) -> np.ndarray:
        """Map raw network outputs to what metrics read (probabilities, or values)."""
        return y_pred

    def get_config(self) -> dict[str, Any]:
        return {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.get_config().items())})"


class MeanSquaredError(Loss):
    """Half the squared error summed over outputs, averaged over samples: ½·mean_n ‖ŷ_n − y_n‖².

    >>> import numpy as np
    >>> MeanSquaredError()(np.array([[1.0], [3.0]]), np.array([0.0, 1.0]))   # (½·1 + ½·4) / 2
    1.25
    """

    def _forward(self, y_pred, y_true):
        diff = y_pred - y_true.astype(y_pred.dtype, copy=False)
        self._cache = diff
        return float(0.5 * np.einsum("nk,nk->", diff, diff) / diff.shape[0])

    def _backward(self):
        diff = self._cache
        return diff / diff.dtype.type(diff.shape[0])


class MeanAbsoluteError(Loss):
    """mean over samples and outputs of |ŷ − y| (robust to outliers); subgradient 0 at 0."""

    def _forward(self, y_pred, y_true):
        diff = y_pred - y_true.astype(y_pred.dtype, copy=False)
        self._cache = diff
        return float(np.abs(diff).mean())

    def _backward(self):
        diff = self._cache
        return np.sign(diff) / diff.dtype.type(diff.size)


class CrossEntropy(Loss):
    """Categorical cross-entropy, fused with log-softmax when ``from_logits=True`` (default).

    Targets may be integer class labels of shape (N,) or one-hot / probability rows (N, C).

    Notes
    -----
    With logits z: log p = log_softmax(z) = z − max z − log Σ e^(z − max z), so no logit
    overflows. L = −(1/N) Σ_n Σ_k y_nk log p_nk and ∂L/∂z = (p − y) / N.
    With ``from_logits=False`` the inputs are probabilities (e.g. after a Softmax layer),
    clipped to [eps, 1] before the log, and ∂L/∂p = −y / (p N).

    >>> import numpy as np
    >>> round(CrossEntropy()(np.array([[0.0, 0.0]]), np.array([1])), 6)   # log 2
    0.693147
    """

    def __init__(self, from_logits: bool = True, eps: float = 1e-7) -> None:
        super().__init__()
        self.from_logits = bool(from_logits)
        self.eps = float(eps)

    def check_target(self, y_true, pred_shape):
        y = np.asarray(y_true)
        n, c = pred_shape
        if c == 1:
            raise ValueError("CrossEntropy: expected one output per class (at least 2), got 1 output; "
                             "for two classes with a single output unit use BinaryCrossEntropy "
                             "(loss='binary_cross_entropy')")
        if y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1 and c > 1):
            y = y.reshape(-1)
            if y.shape[0] != n:
                raise ValueError(f"CrossEntropy: got {y.shape[0]} labels for {n} predictions")
            if y.dtype.kind == "f":
                if not np.all(np.mod(y, 1) == 0):
                    raise ValueError("CrossEntropy: 1-D targets must be integer class labels, "
                                     "got non-integer floats; pass one-hot rows of shape (N, C) "
                                     "for soft targets")
                y = y.astype(np.int64)
            elif y.dtype.kind not in "iu":
                raise TypeError(f"CrossEntropy: expected integer labels, got dtype {y.dtype}")
            if y.size and (y.min() < 0 or y.max() >= c):
                bad = y[(y < 0) | (y >= c)][0]
                raise ValueError(f"CrossEntropy: labels must be in [0, {c - 1}] for {c} outputs, "
                                 f"got label {int(bad)}")
            return y
        if y.shape != (n, c):
            raise ValueError(f"CrossEntropy: targets and predictions differ in shape.\n"
                             f"  Expect: ({n},) integer labels or ({n}, {c}) one-hot\n"
                             f"  Actual: {y.shape}")
        return y

    def _forward(self, y_pred, y_true):
        n = y_pred.shape[0]
        if self.from_logits:
            logp = log_softmax(y_pred, axis=1)
        else:
            logp = np.log(np.clip(y_pred, self.eps, 1.0))
        if y_true.ndim == 1:
            picked = logp[np.arange(n), y_true]
            loss = -float(picked.sum()) / n
        else:
            loss = -float(np.einsum("nk,nk->", logp, y_true.astype(logp.dtype, copy=False))) / n
        self._cache = (y_pred, logp, y_true)
        return loss

    def _backward(self):
        y_pred, logp, y_true = self._cache
        n = y_pred.shape[0]
        if self.from_logits:
            g = np.exp(logp)
            if y_true.ndim == 1:
                g[np.arange(n), y_true] -= 1.0
            else:
                g -= y_true
        else:
            onehot = y_true
            if y_true.ndim == 1:
                onehot = np.zeros_like(y_pred)
                onehot[np.arange(n), y_true] = 1.0
            g = -onehot / np.clip(y_pred, self.eps, 1.0)
            g = np.where(y_pred < self.eps, 0, g)  # clipped region has zero gradient
        g /= g.dtype.type(n)
        return g.astype(y_pred.dtype, copy=False)

    def link(self, y_pred):
        return np.exp(log_softmax(y_pred, axis=1)) if self.from_logits else y_pred

    def get_config(self):
        # eps only when not the default, so that default losses keep their short repr
        return {"from_logits": self.from_logits} | ({"eps": self.eps} if self.eps != 1e-7 else {})


class BinaryCrossEntropy(Loss):
    """Binary cross-entropy for one or more independent 0/1 targets.

    Notes
    -----
    With logits z (``from_logits=True``) the loss per element is
    ``max(z, 0) − z·y + log(1 + e^(−|z|))``, equal to −[y log σ(z) + (1−y) log(1 − σ(z))] and
    finite for any z. The gradient is (σ(z) − y) / (N K). With ``from_logits=False`` the inputs
    are probabilities, clipped to [eps, 1 − eps].

    >>> import numpy as np
    >>> round(BinaryCrossEntropy()(np.array([[1000.0], [-1000.0]]), np.array([1, 0])), 6)
    0.0
    """

    def __init__(self, from_logits: bool = True, eps: float = 1e-7) -> None:
        super().__init__()
        self.from_logits = bool(from_logits)
        self.eps = float(eps)

    def check_target(self, y_true, pred_shape):
        y = super().check_target(y_true, pred_shape)
        if y.size and (np.nanmin(y) < 0 or np.nanmax(y) > 1):
            raise ValueError(f"BinaryCrossEntropy: targets must lie in [0, 1], got values in "
                             f"[{np.min(y)}, {np.max(y)}]")
        return y

    def _forward(self, y_pred, y_true):
        y = y_true.astype(y_pred.dtype, copy=False)
        if self.from_logits:
            z = y_pred
            per = np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))
        else:
            p = np.clip(y_pred, self.eps, 1 - self.eps)
            per = -(y * np.log(p) + (1 - y) * np.log1p(-p))
        self._cache = (y_pred, y)
        return float(per.mean())

    def _backward(self):
        y_pred, y = self._cache
        if self.from_logits:
            g = sigmoid(y_pred) - y
        else:
            p = np.clip(y_pred, self.eps, 1 - self.eps)
            g = (p - y) / (p * (1 - p))
        g /= g.dtype.type(y_pred.size)
        return g

    def link(self, y_pred):
        return sigmoid(y_pred) if self.from_logits else y_pred

    def get_config(self):
        # eps only when not the default, so that default losses keep their short repr
        return {"from_logits": self.from_logits} | ({"eps": self.eps} if self.eps != 1e-7 else {})


class Sum(Loss):
    """Weighted sum of losses on the same predictions: ``Sum({"mse": 1.0, "mae": 0.5})``.

    >>> import numpy as np
    >>> Sum({"mse": 1.0, "mae": 0.5})(np.array([[2.0]]), np.array([0.0]))    # ½·4 + 0.5·2
    3.0
    """

    def __init__(self, losses: dict[Any, float] | list[tuple[Any, float]]) -> None:
        super().__init__()
        pairs = list(losses.items()) if isinstance(losses, dict) else losses
        if not isinstance(pairs, (list, tuple)) or not pairs:
            raise ValueError("Sum: expected a non-empty dict {loss: weight} or list of "
                             f"(loss, weight) pairs, got {losses!r}")
        self.terms = [(get(k), float(w)) for k, w in pairs]

    def check_target(self, y_true, pred_shape):
        return np.asarray(y_true)

    def _forward(self, y_pred, y_true):
        self._cache = True
        return sum(w * loss.forward(y_pred, y_true) for loss, w in self.terms)

    def _backward(self):
        total = None
        for loss, w in self.terms:
            g = loss.backward() * w
            total = g if total is None else total + g
        return total

    def link(self, y_pred):
        return self.terms[0][0].link(y_pred)

    def get_config(self):
        return {"losses": [[serialize(loss), w] for loss, w in self.terms]}

    @classmethod
    def from_config(cls, cfg):
        return cls([(get(c), w) for c, w in cfg["losses"]])

    def __repr__(self):
        return "Sum({" + ", ".join(f"{loss!r}: {w}" for loss, w in self.terms) + "})"


_REGISTRY: dict[str, Any] = {
    "mse": MeanSquaredError, "mean_squared_error": MeanSquaredError,
    "mae": MeanAbsoluteError, "mean_absolute_error": MeanAbsoluteError,
    "cross_entropy": CrossEntropy, "categorical_crossentropy": CrossEntropy,
    "sparse_categorical_crossentropy": CrossEntropy, "crossentropy": CrossEntropy,
    "binary_cross_entropy": BinaryCrossEntropy, "binary_crossentropy": BinaryCrossEntropy,
    "bce": BinaryCrossEntropy,
}
_CLASSES = {c.__name__: c for c in (MeanSquaredError, MeanAbsoluteError, CrossEntropy,
                                    BinaryCrossEntropy, Sum)}


def serialize(loss: Loss) -> dict[str, Any]:
    return {"class_name": type(loss).__name__, "config": loss.get_config()}


def get(identifier: Any) -> Loss:
    """Resolve a loss from a name (``"mse"``, ``"cross_entropy"``...), an instance or a config."""
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str):
        key = identifier.lower()
        if key not in _REGISTRY:
            raise ValueError(f"Unknown loss {identifier!r}. Known: {', '.join(sorted(_REGISTRY))}")
        return _REGISTRY[key]()
    if isinstance(identifier, dict) and "class_name" in identifier:
        cls = _CLASSES.get(identifier["class_name"])
        if cls is None:
            raise ValueError(f"Unknown loss class {identifier['class_name']!r}. "
                             f"Known: {', '.join(sorted(_CLASSES))}")
        cfg = identifier.get("config", {})
        return cls.from_config(cfg) if cls is Sum else cls(**cfg)
    raise TypeError(f"Expected a loss name, a Loss or a config dict, got {identifier!r}")
