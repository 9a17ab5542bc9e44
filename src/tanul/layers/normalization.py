"""Batch normalisation for NCHW images (per-channel statistics over N, H and W).

>>> import numpy as np
>>> bn = BatchNorm2D()
>>> x = np.random.default_rng(0).normal(3.0, 2.0, size=(8, 2, 4, 4))
>>> y = bn(x, training=True)
>>> np.round(y.mean(axis=(0, 2, 3)), 6) + 0.0, np.round(y.std(axis=(0, 2, 3)), 3)
(array([0., 0.]), array([1., 1.]))
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tanul.layers.base import Layer
from tanul.layers.conv import check_image_input, check_image_shape

__all__ = ["BatchNorm2D", "BatchNorm"]


class BatchNorm2D(Layer):
    """Batch normalisation of NCHW images (Ioffe & Szegedy, 2015), one mean/variance per channel.

    Parameters
    ----------
    momentum : float in [0, 1)
        Weight of the OLD running value (Keras's meaning)::

            running = momentum · running + (1 − momentum) · batch_stat

        PyTorch's ``momentum`` is the weight of the NEW value: PyTorch ``momentum=0.1`` is
        tanul/Keras ``momentum=0.9``.
    eps : float
        Added to the variance before the square root.

    Attributes
    ----------
    params : ``{"gamma": (C,), "beta": (C,)}`` (start at 1 and 0)
    state : ``{"running_mean": (C,), "running_var": (C,)}`` (start at 0 and 1; not trained)

    Notes
    -----
    Training (``training=True``), with ``μ``, ``σ²`` the mean and biased variance of each channel
    over the ``M = N·H·W`` values of the batch::

        x̂ = (x − μ) / √(σ² + ε),      y = γ · x̂ + β

    and the running statistics are updated with the formula above (the running variance uses
    the unbiased batch variance ``σ² · M/(M − 1)``, as PyTorch; Keras uses the biased one).
    Inference (``training=False``) uses ``running_mean`` and ``running_var`` instead of
    ``μ`` and ``σ²``.

    Backward (training), with ``g = γ · dy``, sums over ``(n, h, w)``::

        ∂L/∂γ = Σ dy · x̂,     ∂L/∂β = Σ dy,
        ∂L/∂x = (1 / (M · √(σ² + ε))) · (M · g − Σ g − x̂ · Σ g · x̂)

    In inference mode the statistics are constants: ``∂L/∂x = γ · dy / √(running_var + ε)``.
    """

    def __init__(self, momentum: float = 0.9, eps: float = 1e-5, name: str | None = None) -> None:
        super().__init__(name=name)
        if isinstance(momentum, bool) or not isinstance(momentum, (int, float)) or not (
                0.0 <= momentum < 1.0):
            raise ValueError(f"BatchNorm2D: expected momentum in [0, 1), got momentum={momentum!r} "
                             "(running = momentum·running + (1 − momentum)·batch)")
        if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not eps > 0:
            raise ValueError(f"BatchNorm2D: expected eps > 0, got eps={eps!r}")
        self.momentum = float(momentum)
        self.eps = float(eps)

    def build(self, input_shape: tuple[int, ...], rng: np.random.Generator,
              dtype: Any = np.float32) -> None:
        self.input_shape = None
        c, _, _ = check_image_shape(self, input_shape)
        self.params["gamma"] = np.ones(c, dtype=dtype)
        self.params["beta"] = np.zeros(c, dtype=dtype)
        self.state["running_mean"] = np.zeros(c, dtype=dtype)
        self.state["running_var"] = np.ones(c, dtype=dtype)
        super().build(input_shape, rng, dtype)

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return check_image_shape(self, input_shape)

    def param_shapes(self, input_shape: tuple[int, ...]) -> dict[str, tuple[int, ...]]:
        c = int(self.output_shape(input_shape)[0])
        return {"gamma": (c,), "beta": (c,)}

    def state_shapes(self, input_shape: tuple[int, ...]) -> dict[str, tuple[int, ...]]:
        c = int(self.output_shape(input_shape)[0])
        return {"running_mean": (c,), "running_var": (c,)}

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        check_image_input(self, x)
        return self._forward_any(x, training, axes=(0, 2, 3))

    def backward(self, dy: np.ndarray) -> np.ndarray:
        return self._backward_any(dy, axes=(0, 2, 3))

    @staticmethod
    def _bcast(v: np.ndarray, ndim: int) -> np.ndarray:
        return v.reshape((1, -1) + (1,) * (ndim - 2))

    def _forward_any(self, x: np.ndarray, training: bool, axes: tuple[int, ...]) -> np.ndarray:
        b = self._bcast
        gamma = b(self.params["gamma"], x.ndim)
        beta = b(self.params["beta"], x.ndim)
        if training:
            m = int(np.prod([x.shape[a] for a in axes]))
            mean = x.mean(axis=axes)
            xc = x - b(mean, x.ndim)
            var = np.mean(xc * xc, axis=axes)
            inv_std = 1.0 / np.sqrt(var + self.eps)
            xhat = xc * b(inv_std, x.ndim)
            self._cache = ("train", xhat, inv_std)
            mom = self.momentum
            rm, rv = self.state["running_mean"], self.state["running_var"]
            rm *= mom
            rm += (1.0 - mom) * mean
            rv *= mom
            rv += (1.0 - mom) * var * (m / max(m - 1, 1))
        else:
            inv_std = 1.0 / np.sqrt(self.state["running_var"] + self.eps)
            xhat = (x - b(self.state["running_mean"], x.ndim)) * b(inv_std, x.ndim)
            self._cache = ("infer", xhat, inv_std)
        return (xhat * gamma + beta).astype(x.dtype, copy=False)

    def _backward_any(self, dy: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
        mode, xhat, inv_std = self._need_cache()
        b = self._bcast
        gamma = self.params["gamma"]
        dbeta = dy.sum(axis=axes)
        dgamma = (dy * xhat).sum(axis=axes)
        self.grads["beta"][...] = dbeta
        self.grads["gamma"][...] = dgamma
        scale = b(gamma * inv_std, dy.ndim)
        if mode == "infer":
            return (dy * scale).astype(dy.dtype, copy=False)
        m = int(np.prod([dy.shape[a] for a in axes]))
        # g = γ·dy:  Σg = γ·dβ,  Σg·x̂ = γ·dγ
        dx = dy - b(dbeta / m, dy.ndim) - xhat * b(dgamma / m, dy.ndim)
        dx *= scale
        return dx.astype(dy.dtype, copy=False)

    def get_config(self) -> dict[str, Any]:
        return {"momentum": self.momentum, "eps": self.eps, "name": self.name}

    def __repr__(self) -> str:
        name = f", name={self.name!r}" if self.name else ""
        return f"BatchNorm2D(momentum={self.momentum}, eps={self.eps}{name})"


class BatchNorm(BatchNorm2D):
    """Batch normalisation of feature vectors ``(N, F)`` (Ioffe & Szegedy, 2015), one mean and
    variance per feature over the batch.

    The same formulas as :class:`BatchNorm2D` with ``M = N``: in training

        x̂ = (x − μ_B) / √(σ²_B + ε),   y = γ x̂ + β,
        running = momentum · running + (1 − momentum) · batch statistic

    (running variance from the unbiased batch variance), and in inference the running averages
    replace μ_B and σ²_B. Put it between a ``Dense`` layer (without activation) and its
    activation, as in the paper.
    """

    def build(self, input_shape: tuple[int, ...], rng: np.random.Generator,
              dtype: Any = np.float32) -> None:
        shape = self.output_shape(input_shape)
        f = shape[0]
        self.params["gamma"] = np.ones(f, dtype=dtype)
        self.params["beta"] = np.zeros(f, dtype=dtype)
        self.state["running_mean"] = np.zeros(f, dtype=dtype)
        self.state["running_var"] = np.ones(f, dtype=dtype)
        Layer.build(self, shape, rng, dtype)

    # the same shapes as BatchNorm2D's, declared here because this class has its own build
    def param_shapes(self, input_shape: tuple[int, ...]) -> dict[str, tuple[int, ...]]:
        return super().param_shapes(input_shape)

    def state_shapes(self, input_shape: tuple[int, ...]) -> dict[str, tuple[int, ...]]:
        return super().state_shapes(input_shape)

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        shape = tuple(input_shape)
        if len(shape) != 1:
            raise ValueError(f"{self._label()}: expected feature vectors of shape (F,) per sample, got "
                             f"{shape}; use BatchNorm2D for NCHW images or Flatten first")
        return shape

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        if x.ndim != 2 or (self.input_shape is not None and x.shape[1:] != tuple(self.input_shape)):
            want = self.input_shape[0] if self.input_shape else "F"
            raise ValueError(f"{self._label()}: expected input of shape (N, {want}), got {x.shape}")
        return self._forward_any(x, training, axes=(0,))

    def backward(self, dy: np.ndarray) -> np.ndarray:
        return self._backward_any(dy, axes=(0,))

    def __repr__(self) -> str:
        name = f", name={self.name!r}" if self.name else ""
        return f"BatchNorm(momentum={self.momentum}, eps={self.eps}{name})"
