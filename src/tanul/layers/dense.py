"""Fully connected layer."""

from __future__ import annotations

from typing import Any

import numpy as np

from tanul import initializers, regularizers
from tanul.layers import activations
from tanul.layers.base import Layer
from tanul.ops.matmul import matmul_blocks, matmul_blocks_backward, row_blocks, worth_splitting

__all__ = ["Dense"]


class Dense(Layer):
    """Affine map followed by an optional activation: ``y = φ(x W + b)``.

    Parameters
    ----------
    units : int
        Output features.
    activation : str or Layer, optional
        ``"relu"``, ``"tanh"``, ``"sigmoid"``, ... (see ``tanul.layers.activations``); ``None`` is
        linear, the right output for regression and for logits fed to ``CrossEntropy``.
    kernel_initializer : str or Initializer, default "glorot_uniform"
    bias_initializer : str or Initializer, default "zeros"
    kernel_regularizer : str or Regularizer, optional
    use_bias : bool, default True

    Notes
    -----
    Shapes: x (N, F_in), W (F_in, F_out), b (F_out,), y (N, F_out).

    Forward: z = x W + b, y = φ(z). Backward, with dz = ∂L/∂z = φ'(z) ⊙ dy:

    * ∂L/∂W = xᵀ dz   (F_in, F_out)
    * ∂L/∂b = Σ_n dz  (F_out,)
    * ∂L/∂x = dz Wᵀ   (N, F_in)

    The mean over the batch is already inside ``dy`` (the loss divides by N).

    In training, weights of at least 65,536 entries are used in two row blocks, each block's
    products on its own thread (``tanul.ops.matmul``: ``x W = x₀ W₀ + x₁ W₁``); the optimiser
    updates each block on the thread that computed it (:attr:`row_bounds`). Inference uses the
    whole product and the BLAS library's threads.

    Examples
    --------
    >>> import numpy as np
    >>> layer = Dense(3, activation="relu")
    >>> layer(np.ones((2, 4), dtype=np.float32)).shape
    (2, 3)
    >>> layer.params["W"].shape, layer.params["b"].shape
    ((4, 3), (3,))
    """

    def __init__(self, units: int, activation: Any = None,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, use_bias: bool = True,
                 name: str | None = None) -> None:
        super().__init__(name)
        if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units < 1:
            raise ValueError(f"Dense: expected units to be a positive int, got units={units!r}")
        self.units = int(units)
        self.activation = activations.get(activation)
        if self.activation is not None:
            activations.name_of(self.activation)  # validates: only parameter-free defaults
            if isinstance(self.activation, activations.PReLU):
                raise ValueError("Dense: activation='prelu' has parameters; add a PReLU() layer "
                                 "after the Dense layer instead")
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.use_bias = bool(use_bias)
        self.row_bounds: tuple[int, ...] = ()  # set by build
        reg = regularizers.get(kernel_regularizer)
        if reg is not None:
            self.regularizers["W"] = reg

    def param_shapes(self, input_shape):
        if len(input_shape) == 0:
            raise ValueError(
                f"{self._label()}: expected input of shape (N, features), got one value per sample "
                "(x of shape (N,)); reshape it to (N, 1) with x.reshape(-1, 1)"
            )
        if len(input_shape) != 1:
            raise ValueError(
                f"{self._label()}: expected input of shape (N, features), got a sample shape "
                f"{tuple(input_shape)}; add a Flatten() layer before Dense"
            )
        shapes = {"W": (int(input_shape[0]), self.units)}
        if self.use_bias:
            shapes["b"] = (self.units,)
        return shapes

    def state_shapes(self, input_shape):
        return {}

    def build(self, input_shape, rng, dtype=np.float32):
        shapes = self.param_shapes(input_shape)
        self.params["W"] = self.kernel_initializer(shapes["W"], rng, dtype)
        if self.use_bias:
            self.params["b"] = self.bias_initializer(shapes["b"], rng, dtype)
        if self.activation is not None:
            self.activation.build((self.units,), rng, dtype)
        #: the row bounds of W's blocks in training, ``(0, F_in)`` when W is not split
        self.row_bounds = row_blocks(shapes["W"])
        super().build(input_shape, rng, dtype)

    def runs_threads(self, training: bool) -> bool:
        """In training, when W is used in row blocks (inference: the BLAS library's threads)."""
        return training and len(self.row_bounds) > 2

    def param_blocks(self) -> dict[str, tuple[int, ...]]:
        return {"W": self.row_bounds} if len(self.row_bounds) > 2 else {}

    def output_shape(self, input_shape):
        return (self.units,)

    def forward(self, x, training=False):
        self._check_input(x)
        w = self.params["W"]
        if training and worth_splitting(self.row_bounds, x.shape[0], w.shape):
            z = matmul_blocks(x, w, self.row_bounds)
        else:
            z = x @ w
        if self.use_bias:
            z += self.params["b"]
        self._cache = x
        if self.activation is not None:  # z is ours: the activation may overwrite it
            z = getattr(self.activation, "forward_owned", self.activation.forward)(z, training)
        return z

    def backward(self, dy):
        x = self._need_cache()
        dz = dy if self.activation is None else self.activation.backward(dy)
        w = self.params["W"]
        if worth_splitting(self.row_bounds, x.shape[0], w.shape):
            dx = matmul_blocks_backward(x, dz, w, self.grads["W"], self.row_bounds, self.input_grad)
        else:
            np.matmul(x.T, dz, out=self.grads["W"])
            dx = dz @ w.T if self.input_grad else None
        if self.use_bias:
            dz.sum(axis=0, out=self.grads["b"])
        return dx

    def get_config(self):
        return {
            "units": self.units,
            "activation": activations.name_of(self.activation),
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.regularizers.get("W")),
            "use_bias": self.use_bias,
            "name": self.name,
        }

    def __repr__(self):
        act = activations.name_of(self.activation)
        extra = f", activation={act!r}" if act else ""
        reg = self.regularizers.get("W")
        extra += f", kernel_regularizer={reg!r}" if reg is not None else ""
        extra += "" if self.use_bias else ", use_bias=False"
        name = f", name={self.name!r}" if self.name else ""
        return f"Dense({self.units}{extra}{name})"
