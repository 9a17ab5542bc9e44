"""Pooling layers on NCHW images: max, average and global average.

>>> import numpy as np
>>> pool = MaxPool2D(2)                            # 48@28x28 -> 48@14x14
>>> pool.output_shape((48, 28, 28))
(48, 14, 14)
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np

from tanul.layers.base import Layer
from tanul.layers.conv import Conv2D, _spec, check_image_input, check_image_shape, format_shape
from tanul.ops import conv as ops
from tanul.ops.parallel import parallel_for

__all__ = ["MaxPool2D", "AvgPool2D", "GlobalAvgPool2D"]


class _Pool2D(Layer):
    """Shared bookkeeping of :class:`MaxPool2D` and :class:`AvgPool2D`."""

    def runs_threads(self, training: bool) -> bool:
        """Its copies and pooling run batch-parallel on tanul's threads."""
        return True

    def __init__(self, pool_size: int | tuple[int, int] = 2,
                 strides: int | tuple[int, int] | None = None,
                 padding: int | str | tuple[int, int] = 0, name: str | None = None) -> None:
        super().__init__(name=name)
        who = type(self).__name__
        self.pool_size = ops._pair(pool_size, "pool_size", who)
        self.strides = self.pool_size if strides is None else ops._pair(strides, "strides", who)
        self._strides_spec = None if strides is None else _spec(self.strides)
        if isinstance(padding, (list, tuple)):
            pad = ops._pair(padding, "padding", who, minimum=0)
        else:
            try:
                pad = tuple(ops.resolve_padding(padding, k, s)
                            for k, s in zip(self.pool_size, self.strides, strict=True))
            except ValueError as e:
                raise ValueError(f"{who}: {e}") from None
        if 2 * pad[0] > self.pool_size[0] or 2 * pad[1] > self.pool_size[1]:
            raise ValueError(f"{who}: expected padding to be at most half the pool size, got "
                             f"padding={padding!r} for pool_size={_spec(self.pool_size)!r}")
        self.pad = pad
        self.padding = padding if isinstance(padding, str) else _spec(pad)

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        c, h, w = check_image_shape(self, input_shape)
        try:
            oh = ops.conv_output_size(h, self.pool_size[0], self.strides[0], self.pad[0])
            ow = ops.conv_output_size(w, self.pool_size[1], self.strides[1], self.pad[1])
        except ValueError as e:
            raise ValueError(f"{self._label()} on input {format_shape((c, h, w))}: {e}") from None
        return (c, oh, ow)

    def param_shapes(self, input_shape: tuple[int, ...]) -> dict[str, tuple[int, ...]]:
        return {}

    def state_shapes(self, input_shape: tuple[int, ...]) -> dict[str, tuple[int, ...]]:
        return {}

    def build(self, input_shape: tuple[int, ...], rng: np.random.Generator,
              dtype: Any = np.float32) -> None:
        self.input_shape = None
        self.output_shape(input_shape)  # validates
        super().build(input_shape, rng, dtype)

    def get_config(self) -> dict[str, Any]:
        return {"pool_size": _spec(self.pool_size), "strides": self._strides_spec,
                "padding": self.padding, "name": self.name}

    def __repr__(self) -> str:
        parts = [repr(_spec(self.pool_size))]
        if self._strides_spec is not None and self.strides != self.pool_size:
            parts.append(f"strides={self._strides_spec!r}")
        if self.padding not in (0, "valid"):
            parts.append(f"padding={self.padding!r}")
        if self.name:
            parts.append(f"name={self.name!r}")
        return f"{type(self).__name__}({', '.join(parts)})"


class MaxPool2D(_Pool2D):
    """Maximum over each ``pool_size`` window.

    Parameters
    ----------
    pool_size : int or (int, int)
    strides : int, (int, int) or None
        ``None`` means ``pool_size`` (non-overlapping windows).
    padding : int, (int, int), "valid" or "same"
        At most half the pool size. Padding is ``-inf``, so it is never the maximum.

    Notes
    -----
    Forward: ``y[n, c, i, j] = max_{u,v} x[n, c, i·s + u, j·s + v]``; the position of the
    maximum is stored. Backward: ``dy[n, c, i, j]`` goes to that position only (all other
    inputs of the window get 0); where windows overlap, contributions add up.
    Ties: the FIRST maximum in row-major window order wins (like ``np.argmax`` and PyTorch's
    CPU kernel), so exactly one input receives each gradient.

    >>> import numpy as np
    >>> x = np.array([[[[1., 3.], [3., 2.]]]])
    >>> pool = MaxPool2D(2)
    >>> pool(x).ravel(), pool.backward(np.ones((1, 1, 1, 1)))[0, 0]
    (array([3.]), array([[0., 1.],
           [0., 0.]]))
    """

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        check_image_input(self, x)
        # Inference skips the arg-max (it costs more than the maximum) and keeps only a weak
        # reference to x: a backward pass after an inference forward (gradient checks) recomputes
        # the arg-max while the caller still holds x, and predict's next batch never coexists
        # with this one's input (a conv output: 19 MB for 1,024 LeNet images).
        y, arg = ops.maxpool2d_forward(x, *self.pool_size, self.strides, self.pad,
                                       need_arg=training)
        # training keeps references (no copies) to x and y, for backward_fused
        self._cache = ((arg, x.shape, x, y) if training
                       else (None, x.shape, weakref.ref(x), None))
        return y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        arg, x_shape, x, _ = self._need_cache()
        if arg is None:
            x = x()
            if x is None:
                raise RuntimeError(
                    f"{self._label()}: backward after forward(x, training=False) needs that x "
                    "still alive to find the arg-max; call forward(x, training=True) first")
            _, arg = ops.maxpool2d_forward(x, *self.pool_size, self.strides, self.pad)
        return ops.maxpool2d_backward(dy, arg, x_shape, *self.pool_size, self.strides, self.pad)

    def backward_fused(self, prev: Layer, dy: np.ndarray) -> Any:
        """``prev.backward(self.backward(dy))`` in fewer passes, or ``NotImplemented``.

        When ``prev`` is a :class:`~tanul.layers.conv.Conv2D` whose activation ``f`` acted in
        place (tanh, sigmoid, ReLU) and produced this layer's input ``a = f(z)`` in a training
        pass, and the windows do not overlap: the activation's derivative is taken on the pooled
        values only, ``g = dy · f'(y)`` with ``y = max a`` (a quarter of the values for 2x2),
        and ``g`` is routed to the arg-max straight into the convolution's ``∂L/∂z``. That is
        exact: at the arg-max ``a = y``, elsewhere both ways give 0; the result is the same
        ``∂L/∂z`` as the two separate backward passes, bit for bit (the sign of zeros aside),
        without the full-size pass ``f'(a)·dx``. ``Sequential`` calls it in training.
        """
        cache = self._cache
        if (not isinstance(prev, Conv2D) or cache is None or cache[0] is None
                or self.strides != self.pool_size or self.pad != (0, 0)):
            return NotImplemented
        act = prev.activation
        df_into = getattr(act, "_df_into", None)
        pcache = prev._cache
        if (df_into is None or pcache is None or not pcache[3] or pcache[0] is None
                or act._cache is not cache[2]):
            return NotImplemented
        arg, x_shape, _, y = cache
        g = ops.empty_nchw(y.shape, y.dtype, like=y)

        def derivative(a: int, b: int) -> None:  # samples a..b (one thread each)
            df_into(y[a:b], dy[a:b], g[a:b])

        parallel_for(derivative, y.shape[0])
        dz = ops.maxpool2d_backward(g, arg, x_shape, *self.pool_size, self.strides, self.pad)
        return prev._backward_dz(dz)


class AvgPool2D(_Pool2D):
    """Mean over each ``pool_size`` window (LeNet-5's subsampling, without its weight).

    Zero padding counts in the mean (PyTorch's ``count_include_pad=True``): every window
    divides by ``kH·kW``. Keras's ``padding="same"`` average instead ignores padded pixels.

    Notes
    -----
    Forward ``y = (1/(kH·kW)) Σ_{u,v} x[i·s + u, j·s + v]``; backward gives every input of a
    window ``dy / (kH·kW)``, summed over the windows that contain it.
    """

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        check_image_input(self, x)
        self._cache = x.shape
        return ops.avgpool2d_forward(x, *self.pool_size, self.strides, self.pad)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        x_shape = self._need_cache()
        return ops.avgpool2d_backward(dy, x_shape, *self.pool_size, self.strides, self.pad)


class GlobalAvgPool2D(Layer):
    """Mean over each channel's whole image: ``(N, C, H, W) -> (N, C)``.

    Backward spreads ``dy[n, c] / (H·W)`` over the ``H×W`` image.

    >>> import numpy as np
    >>> GlobalAvgPool2D()(np.ones((2, 3, 4, 5))).shape
    (2, 3)
    """

    def runs_threads(self, training: bool) -> bool:
        """Its copies and pooling run batch-parallel on tanul's threads."""
        return True

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        c, _, _ = check_image_shape(self, input_shape)
        return (c,)

    def param_shapes(self, input_shape: tuple[int, ...]) -> dict[str, tuple[int, ...]]:
        return {}

    def state_shapes(self, input_shape: tuple[int, ...]) -> dict[str, tuple[int, ...]]:
        return {}

    def build(self, input_shape: tuple[int, ...], rng: np.random.Generator,
              dtype: Any = np.float32) -> None:
        self.input_shape = None
        check_image_shape(self, input_shape)
        super().build(input_shape, rng, dtype)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        check_image_input(self, x)
        self._cache = x.shape
        return x.mean(axis=(2, 3))

    def backward(self, dy: np.ndarray) -> np.ndarray:
        N, C, H, W = self._need_cache()
        g = dy * (1.0 / (H * W))
        return np.broadcast_to(g[:, :, None, None], (N, C, H, W)).copy()

    def __repr__(self) -> str:
        return f"GlobalAvgPool2D(name={self.name!r})" if self.name else "GlobalAvgPool2D()"
