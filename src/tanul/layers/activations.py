"""Activation layers: element-wise non-linearities (and Softmax over the last axis).

They are layers of their own so that a learner can put them anywhere and see their shapes in
``summary()``; ``Dense(..., activation="relu")`` uses the same classes internally.

Vanishing gradients: σ'(z) ≤ 1/4 and tanh'(z) ≤ 1, so a deep stack of saturating units
multiplies many small factors; ReLU's derivative is exactly 1 on its active side.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tanul.layers.base import Layer
from tanul.ops import activations as A

__all__ = ["Sigmoid", "Tanh", "ReLU", "LeakyReLU", "PReLU", "Softplus", "Softmax",
           "Identity", "get", "ACTIVATIONS"]


class _Elementwise(Layer):
    def forward(self, x, training=False):
        self._check_input(x)
        y = self._f(x)
        self._cache = self._to_cache(x, y)
        return y

    def _to_cache(self, x, y):
        return y

    def backward(self, dy):
        return self._df(self._need_cache(), dy)

    def forward_owned(self, z, training=False):
        """``forward`` on an array the caller owns and never reads again (Dense's fresh ``xW + b``).

        Activations whose derivative needs only the output overwrite ``z`` in place (``_f_inplace``),
        which saves one allocation and one pass per layer; the others fall back to ``forward``.
        """
        f = getattr(self, "_f_inplace", None)
        if f is None:
            return self.forward(z, training)
        self._check_input(z)
        y = f(z)
        self._cache = y
        return y


class Identity(_Elementwise):
    """y = x (a linear output layer for regression)."""

    def _f(self, x):
        return x.copy()

    def _to_cache(self, x, y):
        return True

    def _df(self, cache, dy):
        return dy.copy()


class Sigmoid(_Elementwise):
    """Logistic function σ(z) = 1 / (1 + e^(−z)); backward σ'(z) = y(1 − y).

    >>> import numpy as np
    >>> Sigmoid()(np.array([[0.0, 1000.0, -1000.0]]))
    array([[0.5, 1. , 0. ]])
    """

    def _f(self, x):
        return A.sigmoid(x)

    def _f_inplace(self, z):
        return A.sigmoid(z, out=z)

    def _df(self, y, dy):
        return A.sigmoid_backward(y, dy)

    def _df_into(self, y, dy, out):
        """``out = dy · y(1 − y)``."""
        np.subtract(1, y, out=out)
        np.multiply(out, y, out=out)
        np.multiply(out, dy, out=out)


class Tanh(_Elementwise):
    """Hyperbolic tangent; backward 1 − y²."""

    def _f(self, x):
        return np.tanh(x)

    def _f_inplace(self, z):
        return np.tanh(z, out=z)

    def _df(self, y, dy):
        return A.tanh_backward(y, dy)

    def _df_into(self, y, dy, out):
        """``out = dy · (1 − y²)`` in three passes, no temporaries (``out`` may be strided)."""
        np.multiply(y, y, out=out)
        np.subtract(1, out, out=out)
        np.multiply(out, dy, out=out)


class ReLU(_Elementwise):
    """max(0, z); backward passes the gradient where z > 0 (0 at z = 0)."""

    def _f(self, x):
        return A.relu(x)

    def _f_inplace(self, z):
        return np.maximum(z, 0, out=z)

    def _df(self, y, dy):
        return A.relu_backward(y, dy)

    def _df_into(self, y, dy, out):
        """``out = dy · [y > 0]``."""
        np.multiply(dy, y > 0, out=out)


class LeakyReLU(_Elementwise):
    """z for z > 0, αz otherwise (Maas et al., 2013). ``alpha`` is fixed; see PReLU to learn it."""

    def __init__(self, alpha: float = 0.01, name: str | None = None) -> None:
        super().__init__(name)
        if not isinstance(alpha, (int, float)) or isinstance(alpha, bool) or alpha < 0:
            raise ValueError(f"LeakyReLU: expected alpha to be a float >= 0, got alpha={alpha!r}")
        self.alpha = float(alpha)

    def _f(self, x):
        return A.leaky_relu(x, x.dtype.type(self.alpha))

    def _to_cache(self, x, y):
        return x

    def _df(self, x, dy):
        return A.leaky_relu_backward(x, dy, dy.dtype.type(self.alpha))

    def get_config(self):
        return {"alpha": self.alpha, "name": self.name}


class Softplus(_Elementwise):
    """log(1 + e^z), a smooth ReLU; backward σ(z)."""

    def _f(self, x):
        return A.softplus(x)

    def _to_cache(self, x, y):
        return x

    def _df(self, x, dy):
        return dy * A.sigmoid(x)


class Softmax(_Elementwise):
    """softmax(z)_i = e^(z_i) / Σ_j e^(z_j) over the last axis.

    For classification prefer a linear output with ``CrossEntropy(from_logits=True)``, which
    fuses log-softmax and the loss and never overflows; use this layer to read probabilities.
    """

    def _f(self, x):
        return A.softmax(x, axis=-1)

    def _df(self, y, dy):
        return A.softmax_backward(y, dy, axis=-1)


class PReLU(Layer):
    """Parametric ReLU (He et al., 2015): z for z > 0, α·z otherwise, with α learned.

    One slope per feature for ``(N, F)`` input and one per channel for ``(N, C, H, W)``
    (``alpha`` has shape ``(input_shape[0],)``), initialised to ``alpha_init`` = 0.25.

    Notes
    -----
    ∂L/∂z = dy if z > 0 else α·dy; ∂L/∂α_c = Σ over the batch and the positions of channel c
    of dy·z where z ≤ 0.
    """

    def __init__(self, alpha_init: float = 0.25, name: str | None = None) -> None:
        super().__init__(name)
        if isinstance(alpha_init, bool) or not isinstance(alpha_init, (int, float, np.integer, np.floating)) \
                or not np.isfinite(alpha_init):
            raise ValueError(f"PReLU: expected alpha_init to be a finite float, got alpha_init={alpha_init!r}")
        self.alpha_init = float(alpha_init)

    def param_shapes(self, input_shape):
        if len(input_shape) < 1:
            raise ValueError(f"{self._label()}: expected input with a feature axis, got shape {input_shape}")
        return {"alpha": (int(input_shape[0]),)}

    def state_shapes(self, input_shape):
        return {}

    def build(self, input_shape, rng, dtype=np.float32):
        shapes = self.param_shapes(input_shape)
        self.params["alpha"] = np.full(shapes["alpha"], self.alpha_init, dtype=dtype)
        super().build(input_shape, rng, dtype)

    def _alpha(self, ndim: int) -> np.ndarray:
        return self.params["alpha"].reshape((-1,) + (1,) * (ndim - 2))

    def forward(self, x, training=False):
        self._check_input(x)
        self._cache = x
        return A.leaky_relu(x, self._alpha(x.ndim))

    def backward(self, dy):
        x = self._need_cache()
        neg = np.where(x > 0, 0, x * dy)
        axes = (0,) + tuple(range(2, x.ndim))
        self.grads["alpha"][...] = neg.sum(axis=axes)
        return A.leaky_relu_backward(x, dy, self._alpha(x.ndim))

    def get_config(self):
        return {"alpha_init": self.alpha_init, "name": self.name}


ACTIVATIONS: dict[str, type[Layer]] = {
    "sigmoid": Sigmoid, "tanh": Tanh, "relu": ReLU, "leaky_relu": LeakyReLU,
    "prelu": PReLU, "softplus": Softplus, "softmax": Softmax, "linear": Identity,
    "identity": Identity,
}


def get(identifier: Any) -> Layer | None:
    """Activation layer from a name (``"relu"``), a layer instance, or ``None`` (no activation)."""
    if identifier is None:
        return None
    if isinstance(identifier, Layer):
        return identifier
    if isinstance(identifier, str):
        key = identifier.lower()
        if key not in ACTIVATIONS:
            raise ValueError(f"Unknown activation {identifier!r}. Known: {', '.join(sorted(ACTIVATIONS))}")
        return ACTIVATIONS[key]()
    raise TypeError(f"Expected an activation name, a Layer or None, got {identifier!r}")


def name_of(layer: Layer | None) -> str | None:
    """The registry name of an activation layer (for get_config), or None."""
    if layer is None:
        return None
    for k, cls in ACTIVATIONS.items():
        if type(layer) is cls and layer.get_config() == cls().get_config() | {"name": layer.name}:
            return k
    raise ValueError(f"Activation {layer!r} has non-default arguments; use a separate layer")
