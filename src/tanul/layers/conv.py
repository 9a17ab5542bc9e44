"""2-D convolution layer (NCHW) and the ``{depth}@{height}x{width}`` shape notation.

>>> import numpy as np
>>> conv = Conv2D(12, 5)                          # the lecture's 3@32x32 -> 12@28x28
>>> conv.build((3, 32, 32), np.random.default_rng(0))
>>> format_shape(conv.output_shape((3, 32, 32))), conv.n_params
('12@28x28', 912)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tanul import initializers, regularizers
from tanul.layers import activations
from tanul.layers.base import Layer
from tanul.ops import conv as ops

__all__ = ["Conv2D", "format_shape"]


def format_shape(shape: tuple[int, ...]) -> str:
    """Lecture notation for a sample shape: ``(12, 28, 28) -> "12@28x28"``, else ``"(120,)"``.

    A leading ``None`` (batch axis) is dropped.

    >>> format_shape((12, 28, 28)), format_shape((120,)), format_shape((None, 6, 14, 14))
    ('12@28x28', '(120,)', '6@14x14')
    """
    shape = tuple(shape)
    if len(shape) == 4 and shape[0] is None:
        shape = shape[1:]
    if len(shape) == 3:
        c, h, w = shape
        return f"{c}@{h}x{w}"
    return str(tuple(shape))


def _spec(v: Any) -> Any:
    """``(5, 5) -> 5`` so configs stay short; other pairs as tuples."""
    if isinstance(v, (list, tuple)):
        a, b = v
        return int(a) if a == b else (int(a), int(b))
    return v


def check_image_input(layer: Layer, x: Any) -> None:
    """Raise a clear ``ValueError`` unless ``x`` is an ``(N, C, H, W)`` array (then the base
    shape check against the built input shape)."""
    if isinstance(x, np.ndarray) and x.ndim != 4:
        exp = ("(N, " + ", ".join(map(str, layer.input_shape)) + ")"
               if layer.input_shape else "(N, C, H, W)")
        raise ValueError(f"{layer._label()}: expected a 4-D NCHW input.\n"
                         f"  Expect: {exp}\n  Actual: {tuple(x.shape)}")
    layer._check_input(x)


def check_image_shape(layer: Layer, input_shape: tuple[int, ...]) -> tuple[int, int, int]:
    """Validate a sample shape ``(C, H, W)`` (and its channels against a built layer)."""
    shape = tuple(input_shape)
    if len(shape) != 3:
        raise ValueError(f"{layer._label()}: expected a sample shape (C, H, W) (NCHW images, "
                         f"without the batch axis), got {shape}")
    if layer.input_shape is not None and shape[0] != layer.input_shape[0]:
        raise ValueError(f"{layer._label()}: built for {layer.input_shape[0]} input channels, "
                         f"got input shape {shape}")
    return int(shape[0]), int(shape[1]), int(shape[2])


class Conv2D(Layer):
    """2-D convolution (cross-correlation, as in every deep-learning library) on NCHW images.

    Parameters
    ----------
    filters : int
        Number of output channels ``C_out`` (the output depth).
    kernel_size : int or (int, int)
    strides : int or (int, int)
    padding : int, (int, int), "valid" or "same"
        Zero padding per side; ``"same"`` is ``(k − 1)/2`` and needs an odd kernel
        (see :func:`tanul.ops.conv.resolve_padding`).
    use_bias : bool
    activation : str, Layer or None
        Applied after the convolution (``"relu"``, ``"tanh"``, ...).
    kernel_initializer, bias_initializer : str, Initializer or config dict
        Keras defaults: ``"glorot_uniform"`` (fans ``C_in·kH·kW`` and ``C_out·kH·kW``), ``"zeros"``.
    kernel_regularizer : str, Regularizer or None
        Penalty on ``W``, applied by the model.

    Attributes
    ----------
    params : ``{"W": (C_out, C_in, kH, kW), "b": (C_out,)}``

    Notes
    -----
    Output size per axis ``⌊(n + 2p − k)/s⌋ + 1``; parameters ``(k·k·C_in + 1)·C_out``.

    Forward: ``y[n, o, i, j] = b[o] + Σ_{c,u,v} W[o, c, u, v] · xpad[n, c, i·s + u, j·s + v]``,
    computed as ``W.reshape(C_out, -1) @ im2col(x)`` (one GEMM for the batch).

    Backward, with ``dy`` as a ``(C_out, N·OH·OW)`` matrix ``dY``:
    ``∂L/∂W = dY @ cols.T``, ``∂L/∂b = Σ dy`` over ``(n, i, j)``,
    ``∂L/∂x = col2im(W_m.T @ dY)`` (LeCun et al., 1998; im2col: Chellapilla et al., 2006).

    Setting ``layer.input_grad = False`` (e.g. the model, for the first layer) skips ``∂L/∂x``;
    ``backward`` then returns ``None``.

    >>> import numpy as np
    >>> conv = Conv2D(48, 4, strides=2)
    >>> conv.build((12, 28, 28), np.random.default_rng(0))
    >>> conv.output_shape((12, 28, 28)), conv.n_params
    ((48, 13, 13), 9264)
    """

    def runs_threads(self, training: bool) -> bool:
        """Its copies and pooling run batch-parallel on tanul's threads."""
        return True

    def __init__(self, filters: int, kernel_size: int | tuple[int, int], strides: int | tuple[
            int, int] = 1, padding: int | str | tuple[int, int] = 0, use_bias: bool = True,
            activation: Any = None, kernel_initializer: Any = "glorot_uniform",
            bias_initializer: Any = "zeros", kernel_regularizer: Any = None,
            name: str | None = None) -> None:
        super().__init__(name=name)
        if isinstance(filters, bool) or not isinstance(filters, (int, np.integer)) or filters < 1:
            raise ValueError("Conv2D: expected filters to be a positive int, "
                             f"got filters={filters!r}")
        self.filters = int(filters)
        self.kernel_size = ops._pair(kernel_size, "kernel_size", "Conv2D")
        self.strides = ops._pair(strides, "strides", "Conv2D")
        if isinstance(padding, (list, tuple)):
            ph, pw = ops._pair(padding, "padding", "Conv2D", minimum=0)
        else:
            try:
                ph = ops.resolve_padding(padding, self.kernel_size[0], self.strides[0])
                pw = ops.resolve_padding(padding, self.kernel_size[1], self.strides[1])
            except ValueError as e:
                raise ValueError(f"Conv2D: {e}") from None
        self.padding = padding if isinstance(padding, str) else _spec((ph, pw))
        self.pad = (ph, pw)
        self.use_bias = bool(use_bias)
        self.activation = activations.get(activation)
        if self.activation is not None:
            activations.name_of(self.activation)  # validates: only parameter-free defaults
            if isinstance(self.activation, activations.PReLU):
                raise ValueError("Conv2D: activation='prelu' has parameters; add a PReLU() layer "
                                 "after the Conv2D instead")
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        reg = regularizers.get(kernel_regularizer)
        if reg is not None:
            self.regularizers["W"] = reg
        self.input_grad = True

    # ------------------------------------------------------------------ contract
    def build(self, input_shape: tuple[int, ...], rng: np.random.Generator,
              dtype: Any = np.float32) -> None:
        self.input_shape = None  # rebuilding for another shape is allowed
        c, h, w = check_image_shape(self, input_shape)
        out_shape = self.output_shape((c, h, w))
        shapes = self.param_shapes((c, h, w))
        self.params["W"] = self.kernel_initializer(shapes["W"], rng, dtype)
        if self.use_bias:
            self.params["b"] = self.bias_initializer(shapes["b"], rng, dtype)
        if self.activation is not None:
            self.activation.build(out_shape, rng, dtype)
        super().build((c, h, w), rng, dtype)

    def param_shapes(self, input_shape: tuple[int, ...]) -> dict[str, tuple[int, ...]]:
        c, _, _ = check_image_shape(self, input_shape)
        shapes = {"W": (self.filters, c, *self.kernel_size)}
        if self.use_bias:
            shapes["b"] = (self.filters,)
        return shapes

    def state_shapes(self, input_shape: tuple[int, ...]) -> dict[str, tuple[int, ...]]:
        return {}

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        c, h, w = check_image_shape(self, input_shape)
        try:
            oh = ops.conv_output_size(h, self.kernel_size[0], self.strides[0], self.pad[0])
            ow = ops.conv_output_size(w, self.kernel_size[1], self.strides[1], self.pad[1])
        except ValueError as e:
            raise ValueError(f"{self._label()} on input {format_shape((c, h, w))}: {e}") from None
        return (self.filters, oh, ow)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        check_image_input(self, x)
        act = self.activation
        f_inplace = None if act is None else getattr(act, "_f_inplace", None)
        if act is not None and f_inplace is None:  # an activation that needs its input: unfused
            z, cols = ops.conv2d_forward(x, self.params["W"], self.params.get("b"),
                                         self.strides, self.pad)
            self._cache = (cols, None, x.shape, False, None)
            return act.forward(z, training=training)
        # Blocked kernels, activation applied in place per block. Stride 1: the batch-innermost
        # kernel (ops.conv2d_forward_chwn: long contiguous runs in im2col, col2im and the pooling
        # after it); other strides: ops.conv2d_forward_blocked.
        # Training keeps the im2col columns and the output for backward, the columns in a
        # buffer reused batch after batch; inference keeps only a reference to x (backward, if
        # ever called, recomputes both), so predict's next batch does not coexist with this one.
        ws = self.__dict__.setdefault("_workspace", {})
        y, cols, layout = self._fused_forward(x, keep_cols=training, cols_out=ws.get("cols"))
        if cols is not None:
            ws["cols"] = cols
        self._cache = (cols, None if training else x, x.shape, True, layout)
        if act is not None:
            act._cache = y if training else None  # the output, for the derivative
        return y

    def _fused_forward(self, x: np.ndarray, keep_cols: bool = True,
                       cols_out: np.ndarray | None = None) -> tuple[Any, Any, Any]:
        """``(y, cols, layout)``: the fused kernel's output and columns; ``layout`` is a tiny
        array laid out as ``x`` when the batch-innermost kernel ran (its ``dx`` is written so),
        else None."""
        act = self.activation
        f_inplace = None if act is None else act._f_inplace
        if self.strides == (1, 1):
            y, cols = ops.conv2d_forward_chwn(x, self.params["W"], self.params.get("b"),
                                              self.pad, f_inplace, keep_cols=keep_cols,
                                              cols_out=cols_out)
            return y, cols, ops.empty_nchw((2, 2, 2, 2), np.bool_, like=x)
        y, cols = ops.conv2d_forward_blocked(x, self.params["W"], self.params.get("b"),
                                             self.strides, self.pad, f_inplace,
                                             keep_cols=keep_cols, cols_out=cols_out)
        return y, cols, None

    def _fused_backward(self, dy: Any, cols: np.ndarray, x_shape: tuple[int, ...], layout: Any,
                        **kw: Any) -> np.ndarray | None:
        if layout is not None:
            dx, _, _ = ops.conv2d_backward_chwn(
                dy, cols, self.params["W"], x_shape, self.pad, dW=self.grads["W"],
                db=self.grads.get("b"), need_dx=self.input_grad, dx_like=layout, **kw)
        else:
            dx, _, _ = ops.conv2d_backward_blocked(
                dy, cols, self.params["W"], x_shape, self.strides, self.pad,
                dW=self.grads["W"], db=self.grads.get("b"), need_dx=self.input_grad, **kw)
        return dx

    def backward(self, dy: np.ndarray) -> np.ndarray | None:
        cols, x, x_shape, fused, layout = self._need_cache()
        act = self.activation
        if not fused:
            dy = act.backward(dy)
            dx, _, _ = ops.conv2d_backward(dy, cols, self.params["W"], x_shape, self.strides,
                                           self.pad, dW=self.grads["W"], db=self.grads.get("b"),
                                           need_dx=self.input_grad)
            return dx
        y = None
        if cols is None:  # forward ran in inference mode: recompute the columns and the output
            y, cols, layout = self._fused_forward(x)
        grad = None
        if act is not None:
            grad = getattr(act, "_df_into", None) or (
                lambda y, g, out: np.copyto(out, act._df(y, g)))
            if y is None:
                y = act._need_cache()
        return self._fused_backward(dy, cols, x_shape, layout, y=y, activation_grad=grad)

    def _backward_dz(self, dz: np.ndarray) -> np.ndarray | None:
        """``backward`` from ``∂L/∂z`` (the gradient before the activation), after a training
        ``forward`` of the fused kernel: what :meth:`MaxPool2D.backward_fused` calls."""
        cols, _, x_shape, fused, layout = self._need_cache()
        if not fused or cols is None:
            raise RuntimeError(f"{self._label()}: _backward_dz needs a training forward pass")
        return self._fused_backward(None, cols, x_shape, layout, dz=dz)

    def get_config(self) -> dict[str, Any]:
        return {
            "filters": self.filters, "kernel_size": _spec(self.kernel_size),
            "strides": _spec(self.strides), "padding": self.padding,
            "use_bias": self.use_bias, "activation": activations.name_of(self.activation),
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.regularizers.get("W")),
            "name": self.name,
        }

    def __repr__(self) -> str:
        parts = [str(self.filters), str(_spec(self.kernel_size))]
        if self.strides != (1, 1):
            parts.append(f"strides={_spec(self.strides)!r}")
        if self.padding not in (0, "valid"):
            parts.append(f"padding={self.padding!r}")
        if not self.use_bias:
            parts.append("use_bias=False")
        if self.activation is not None:
            parts.append(f"activation={activations.name_of(self.activation)!r}")
        if self.kernel_initializer != initializers.GlorotUniform():
            parts.append(f"kernel_initializer={self.kernel_initializer!r}")
        if self.bias_initializer != initializers.Zeros():
            parts.append(f"bias_initializer={self.bias_initializer!r}")
        if "W" in self.regularizers:
            parts.append(f"kernel_regularizer={self.regularizers['W']!r}")
        if self.name:
            parts.append(f"name={self.name!r}")
        return f"Conv2D({', '.join(parts)})"
