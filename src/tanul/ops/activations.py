"""Activation functions and their derivatives as pure array functions.

Each ``*_backward`` takes what the forward pass cached (the output where the derivative is
cheapest in terms of it, as in scikit-learn's ``delta *= 1 - Z**2``) and the upstream gradient.

=========  ==============================  ===================================
function   forward                         derivative
=========  ==============================  ===================================
sigmoid    σ(z) = 1 / (1 + e^(−z))         σ(z)·(1 − σ(z)) = y(1 − y)
tanh       tanh z                          1 − tanh² z = 1 − y²
relu       max(0, z)                       1 if z > 0 else 0
leaky      z if z > 0 else αz              1 if z > 0 else α
softplus   log(1 + e^z)                    σ(z)
softmax    e^(z_i) / Σ_j e^(z_j)           ∂L/∂z = y ⊙ (g − Σ_j g_j y_j)
=========  ==============================  ===================================
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "sigmoid", "sigmoid_backward", "tanh_backward", "relu", "relu_backward",
    "leaky_relu", "leaky_relu_backward", "softplus", "softmax", "softmax_backward",
    "log_softmax",
]


def sigmoid(z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Numerically stable logistic function (no overflow for any finite ``z``); ``out=z`` is allowed."""
    # σ(z) = ½(1 + tanh(z/2)) is exact and never overflows.
    out = np.multiply(z, 0.5, out=out)
    np.tanh(out, out=out)
    out += 1.0
    out *= 0.5
    return out


def sigmoid_backward(y: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """∂L/∂z = dy · y(1 − y), from the cached output ``y = σ(z)``."""
    return dy * y * (1.0 - y)


def tanh_backward(y: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """∂L/∂z = dy · (1 − y²), from the cached output ``y = tanh z``."""
    return dy * (1.0 - y * y)


def relu(z: np.ndarray) -> np.ndarray:
    return np.maximum(z, 0, dtype=z.dtype)


def relu_backward(y: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """∂L/∂z = dy where z > 0 (equivalently y > 0), else 0. The derivative at 0 is taken as 0.

    Computed as ``dy · [y > 0]`` (a multiply by the mask is about 3x faster than ``np.where``).
    """
    return np.multiply(dy, y > 0)


def leaky_relu(z: np.ndarray, alpha: float | np.ndarray) -> np.ndarray:
    return np.where(z > 0, z, z * alpha)


def leaky_relu_backward(z: np.ndarray, dy: np.ndarray, alpha: float | np.ndarray) -> np.ndarray:
    return np.where(z > 0, dy, dy * alpha)


def softplus(z: np.ndarray) -> np.ndarray:
    """log(1 + e^z) computed as max(z, 0) + log1p(e^(−|z|)), stable for any z."""
    return np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))


def log_softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """log softmax(z) = z − max z − log Σ e^(z − max z): no logit can overflow."""
    shifted = z - z.max(axis=axis, keepdims=True)
    shifted -= np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
    return shifted


def softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    e /= e.sum(axis=axis, keepdims=True)
    return e


def softmax_backward(y: np.ndarray, dy: np.ndarray, axis: int = -1) -> np.ndarray:
    """Vector-Jacobian product of softmax: y ⊙ (dy − Σ_j dy_j y_j)."""
    return y * (dy - (dy * y).sum(axis=axis, keepdims=True))
