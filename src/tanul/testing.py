"""Numerical gradient checking: public, so that users can test the layers they write.

The central difference

.. math:: \\frac{\\partial f}{\\partial x_i} \\approx \\frac{f(x + h e_i) - f(x - h e_i)}{2h}

has error O(h²). In float64 with h = 1e-6 it agrees with a correct analytic gradient to about
1e-8 relative, so :func:`check_layer` compares with ``rtol=1e-5, atol=1e-7``.

:func:`check_layer` builds the layer in float64, draws a random input and a random upstream
gradient ``dy``, and checks the scalar ``L = Σ y·dy``: then ``∂L/∂x`` must equal
``layer.backward(dy)`` and ``∂L/∂θ`` must equal ``layer.grads[θ]`` for every parameter.

>>> import numpy as np
>>> from tanul.testing import numerical_gradient
>>> g = numerical_gradient(lambda x: float((x ** 3).sum()), np.array([1.0, 2.0]))
>>> np.round(g, 6)
array([ 3., 12.])
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["numerical_gradient", "check_layer", "check_loss", "GradientCheckError"]


class GradientCheckError(AssertionError):
    """Raised when an analytic gradient disagrees with the numerical one."""


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray,
                       h: float = 1e-6) -> np.ndarray:
    """Central-difference gradient of the scalar function ``f`` at ``x``.

    ``x`` is perturbed in place, one entry at a time, and restored, so ``f`` may close over
    the very array (a layer's parameter) that ``x`` is.

    Parameters
    ----------
    f : callable ndarray -> float
    x : ndarray, float64 recommended
    h : float
        Step; 1e-6 suits float64 (use ~1e-3 for float32, with looser tolerances).

    Returns
    -------
    ndarray, same shape as ``x``
    """
    if not isinstance(x, np.ndarray):
        raise TypeError(f"numerical_gradient: expected x to be a numpy array, got {type(x).__name__}")
    if x.dtype.kind != "f":
        raise TypeError(f"numerical_gradient: expected a floating x, got dtype {x.dtype}")
    grad = np.zeros_like(x, dtype=np.float64)
    flat = x.reshape(-1)  # a view when x is contiguous
    if not np.shares_memory(flat, x):
        raise ValueError("numerical_gradient: x must be contiguous so it can be perturbed in place")
    gflat = grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + h
        fp = f(x)
        flat[i] = old - h
        fm = f(x)
        flat[i] = old
        gflat[i] = (fp - fm) / (2 * h)
    return grad


def _compare(name: str, analytic: np.ndarray, numeric: np.ndarray, rtol: float, atol: float) -> None:
    if analytic.shape != numeric.shape:
        raise GradientCheckError(f"{name}: gradient shape {analytic.shape}, expected {numeric.shape}")
    if not np.allclose(analytic, numeric, rtol=rtol, atol=atol):
        err = np.abs(analytic - numeric)
        i = np.unravel_index(int(np.argmax(err)), err.shape)
        raise GradientCheckError(
            f"{name}: analytic and numerical gradients differ; max abs error {err.max():.3e} "
            f"at index {tuple(int(j) for j in i)}: analytic {analytic[i]:.8g}, "
            f"numerical {numeric[i]:.8g}"
        )


def check_layer(layer: Any, input_shape: tuple[int, ...], *, batch_size: int = 3,
                training: bool = False, seed: int = 0, x: np.ndarray | None = None,
                rtol: float = 1e-5, atol: float = 1e-7, h: float = 1e-6,
                check_input: bool = True) -> dict[str, float]:
    """Check a layer's output shape, dtype and every gradient against central differences.

    Parameters
    ----------
    layer : Layer
        An unbuilt layer (it is built here in float64 with a seeded generator).
    input_shape : tuple of int
        One sample's shape, without the batch axis.
    batch_size : int
    training : bool
        Passed to ``forward``. Stochastic layers (Dropout) are checked in training mode by
        re-seeding their generator before every forward so the mask is fixed.
    x : ndarray, optional
        Use this input instead of a random normal one (e.g. to avoid ReLU's kink at 0).
    check_input : bool
        Also check ``∂L/∂x`` (turn off for layers whose input is not differentiable).

    Returns
    -------
    dict
        The largest absolute error per checked quantity (``"x"``, ``"W"``, ...).

    Raises
    ------
    GradientCheckError
        With the quantity, the index and both values of the worst disagreement.
    """
    rng = np.random.default_rng(seed)
    if not layer.built:
        layer.build(tuple(input_shape), np.random.default_rng(seed + 1), np.float64)
    if x is None:
        x = rng.standard_normal((batch_size, *input_shape))
    x = np.ascontiguousarray(x, dtype=np.float64)

    def fwd(inp: np.ndarray) -> np.ndarray:
        if hasattr(layer, "rng") and training:
            layer.rng = np.random.default_rng(seed + 2)
        return layer.forward(inp, training=training)

    y = fwd(x)
    expected = (x.shape[0], *layer.output_shape(tuple(input_shape)))
    if y.shape != expected:
        raise GradientCheckError(f"{layer!r}: output shape {y.shape}, output_shape() says {expected}")
    if y.dtype != np.float64:
        raise GradientCheckError(f"{layer!r}: float64 input gave {y.dtype} output")
    dy = rng.standard_normal(y.shape)
    dy_copy = dy.copy()
    dx = layer.backward(dy)
    if not np.array_equal(dy, dy_copy):
        raise GradientCheckError(f"{layer!r}: backward() mutated its argument dy")
    analytic = {k: np.array(g, copy=True) for k, g in layer.grads.items()}
    errors: dict[str, float] = {}

    def loss_x(inp: np.ndarray) -> float:
        return float(np.sum(fwd(inp) * dy))

    if check_input:
        num = numerical_gradient(loss_x, x.copy(), h)
        if dx is None or dx.shape != x.shape:
            raise GradientCheckError(f"{layer!r}: backward returned shape "
                                     f"{None if dx is None else dx.shape}, expected {x.shape}")
        _compare(f"{layer!r} input", dx, num, rtol, atol)
        errors["x"] = float(np.max(np.abs(dx - num))) if num.size else 0.0
    for k, p in layer.params.items():
        num = numerical_gradient(lambda _p: float(np.sum(fwd(x) * dy)), p, h)
        _compare(f"{layer!r} parameter {k!r}", analytic[k], num, rtol, atol)
        errors[k] = float(np.max(np.abs(analytic[k] - num))) if num.size else 0.0
    return errors


def check_loss(loss: Any, y_pred: np.ndarray, y_true: np.ndarray, *, rtol: float = 1e-5,
               atol: float = 1e-7, h: float = 1e-6) -> float:
    """Check ``loss.backward()`` against the central-difference gradient of ``loss(y_pred, y_true)``.

    Returns the largest absolute error.
    """
    y_pred = np.ascontiguousarray(y_pred, dtype=np.float64)
    loss.forward(y_pred, y_true)
    analytic = np.array(loss.backward(), copy=True)
    num = numerical_gradient(lambda p: float(loss.forward(p, y_true)), y_pred.copy(), h)
    _compare(f"{loss!r}", analytic, num, rtol, atol)
    return float(np.max(np.abs(analytic - num)))
