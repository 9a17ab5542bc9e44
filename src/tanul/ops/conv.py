"""Convolution and pooling as pure array functions (NCHW images, no state).

Sizes
-----
A kernel of size ``k`` slid with stride ``s`` over ``n`` pixels zero-padded by ``p`` on both
sides gives

.. math:: n_\\text{out} = \\left\\lfloor \\frac{n + 2p - k}{s} \\right\\rfloor + 1

output pixels (floor: when ``s`` does not divide ``n + 2p − k`` the last rows/columns of the
input are never covered, as in PyTorch and Keras). A conv layer has ``(k·k·C_in + 1)·C_out``
parameters (one bias per filter).

Layout
------
:func:`im2col` turns the receptive fields into the columns of a matrix of shape
``(C·kH·kW, N·OH·OW)``: row ``(c, i, j)`` matches column ``(c, i, j)`` of
``W.reshape(C_out, -1)``, column ``(n, oh, ow)`` is one output pixel. Then the whole
convolution of a batch is ONE matrix product, ``W.reshape(C_out, -1) @ cols``, of shape
``(C_out, N·OH·OW)``, which is viewed (not copied) as ``(N, C_out, OH, OW)``.
This "channels first, then batch" order keeps the innermost axis of the copy in
:func:`im2col` and of every strided add in :func:`col2im` a run along the image rows, and
lets the backward pass use two plain GEMMs (``dW = dy_m @ cols.T``, ``dcols = W_m.T @ dy_m``)
with no transposed copies of ``cols``.

>>> import numpy as np
>>> conv_output_size(32, 5)                      # 3@32x32, 12 filters 5x5 -> 12@28x28
28
>>> conv_output_size(28, 4, stride=2)            # 48 filters 4x4, stride 2 -> 48@13x13
13
>>> conv_param_count(3, 12, 5), conv_param_count(12, 48, 5), conv_param_count(12, 48, 4)
(912, 14448, 9264)
>>> x = np.arange(16.0).reshape(1, 1, 4, 4)
>>> y, arg = maxpool2d_forward(x, 2, 2, stride=2)
>>> y[0, 0]
array([[ 5.,  7.],
       [13., 15.]])
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

from tanul.ops.matmul import narrow_matmul, weight_grad
from tanul.ops.parallel import num_threads, parallel_for, parallel_gemms

__all__ = [
    "conv_output_size", "conv_param_count", "resolve_padding", "pad_nchw",
    "im2col", "col2im", "conv2d_forward", "conv2d_backward",
    "conv2d_forward_blocked", "conv2d_backward_blocked", "channel_major", "empty_nchw",
    "same_layout", "chwn", "conv2d_forward_chwn", "conv2d_backward_chwn",
    "maxpool2d_forward", "maxpool2d_backward", "avgpool2d_forward", "avgpool2d_backward",
]

Pair = tuple[int, int]


# ---------------------------------------------------------------------------- sizes

def _reuse_or_new(buf: np.ndarray | None, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """``buf`` when it is a C-contiguous array of ``shape`` and ``dtype`` (a work buffer kept from
    the last batch), else a new empty one."""
    if buf is not None and buf.shape == shape and buf.flags.c_contiguous and buf.dtype == dtype:
        return buf
    return np.empty(shape, dtype=dtype)

def _pair(v: Any, what: str, who: str, minimum: int = 1) -> Pair:
    """``5 -> (5, 5)``, ``(3, 5) -> (3, 5)``; validates non-negative/positive ints."""
    if isinstance(v, (list, tuple)) and len(v) == 2:
        a, b = v
    else:
        a = b = v
    ok = all(isinstance(t, (int, np.integer)) and not isinstance(t, bool) and t >= minimum
             for t in (a, b))
    if not ok:
        kind = "a positive int" if minimum >= 1 else "a non-negative int"
        raise ValueError(f"{who}: expected {what} to be {kind} or a pair of them, got {what}={v!r}")
    return int(a), int(b)


def resolve_padding(padding: int | str, kernel: int, stride: int = 1) -> int:
    """Padding per side (an int) from ``int``, ``"valid"`` or ``"same"``.

    ``"valid"`` is 0. ``"same"`` is ``(k − 1) / 2`` on both sides, which needs an odd kernel
    (an even one would need uneven padding, which tanul does not do: pass an int instead). With
    stride 1 the output then has the input's size; with stride ``s`` it has ``⌈n/s⌉`` pixels, as in
    Keras/TensorFlow, though TensorFlow may pad less and only at the bottom/right, so the
    pixels sampled can be shifted by one.

    >>> resolve_padding("same", 5), resolve_padding("valid", 5), resolve_padding(2, 5)
    (2, 0, 2)
    """
    if isinstance(padding, str):
        key = padding.lower()
        if key == "valid":
            return 0
        if key == "same":
            if kernel % 2 == 0:
                raise ValueError(
                    f"padding='same' needs an odd kernel size (symmetric padding (k-1)/2), "
                    f"got kernel size {kernel}; pass an int padding instead")
            return (kernel - 1) // 2
        raise ValueError(f"expected padding to be an int >= 0, 'same' or 'valid', got {padding!r}")
    if isinstance(padding, bool) or not isinstance(padding, (int, np.integer)) or padding < 0:
        raise ValueError(f"expected padding to be an int >= 0, 'same' or 'valid', got {padding!r}")
    return int(padding)


def conv_output_size(n: int, kernel: int, stride: int = 1, padding: int | str = 0) -> int:
    """Output length ``⌊(n + 2p − k)/s⌋ + 1`` of a convolution or pooling along one axis.

    Floor semantics (PyTorch, Keras): input pixels that the last window cannot reach are
    dropped. A kernel that does not fit even once (output < 1) is an error.

    Parameters
    ----------
    n : int
        Input length (height or width).
    kernel : int
    stride : int
    padding : int, "same" or "valid"
        Zero padding per side (see :func:`resolve_padding`).

    Examples
    --------
    >>> conv_output_size(28, 5, padding=2), conv_output_size(28, 2, stride=2)
    (28, 14)
    >>> conv_output_size(3, 5)
    Traceback (most recent call last):
    ...
    ValueError: kernel 5 does not fit into input 3:
    ⌊(n + 2p − k)/s⌋ + 1 = ⌊(3 + 2·0 − 5)/1⌋ + 1 = -1 < 1
    """
    for what, v in (("n", n), ("kernel", kernel), ("stride", stride)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"conv_output_size: expected {what} to be a positive int, got {v!r}")
    p = resolve_padding(padding, kernel, stride)
    out = (n + 2 * p - kernel) // stride + 1
    if out < 1:
        raise ValueError(
            f"kernel {kernel} does not fit into input {n}:\n⌊(n + 2p − k)/s⌋ + 1 = "
            f"⌊({n} + 2·{p} − {kernel})/{stride}⌋ + 1 = {out} < 1")
    return int(out)


def conv_param_count(c_in: int, c_out: int, kernel: int | Pair, use_bias: bool = True) -> int:
    """Trainable scalars of a conv layer: ``(kH·kW·C_in + 1)·C_out`` (without bias: ``+ 0``).

    >>> conv_param_count(3, 12, 5)
    912
    """
    kh, kw = _pair(kernel, "kernel", "conv_param_count")
    return int((kh * kw * c_in + (1 if use_bias else 0)) * c_out)


# ---------------------------------------------------------------------------- im2col
def channel_major(x: np.ndarray) -> bool:
    """Whether ``x`` (N, C, H, W) is laid out channel by channel (a transposed view of a
    ``(C, N, H, W)`` array, as the outputs of the conv kernels are)."""
    return x.ndim == 4 and x.shape[0] > 1 and x.shape[1] > 1 and abs(x.strides[1]) > abs(x.strides[0])


def _axis_order(x: np.ndarray) -> tuple[int, ...]:
    """``x``'s axes from the slowest-varying in memory to the fastest (ties, e.g. axes of
    length 1, keep their order): ``(0, 1, 2, 3)`` for C order, ``(1, 0, 2, 3)`` for
    channel-major, ``(1, 2, 3, 0)`` for CHWN (the batch innermost)."""
    keyed = [(-abs(st) if n > 1 else 0, ax) for ax, (st, n) in enumerate(zip(x.strides, x.shape))]
    big = sorted((k, ax) for k, ax in keyed if k != 0)
    order = [ax for _, ax in big]
    for ax in range(x.ndim):  # length-1 axes: where C order puts them, relative to the others
        if ax not in order:
            order.insert(min(ax, len(order)), ax)
    return tuple(order)


def same_layout(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether ``a`` and ``b`` order their axes the same way in memory."""
    return _axis_order(a) == _axis_order(b)


def empty_nchw(shape: tuple[int, int, int, int], dtype: Any, like: np.ndarray | None = None,
               fill: Any = None) -> np.ndarray:
    """A new (N, C, H, W) array laid out as ``like`` is (its axes in the same memory order:
    C order, channel-major as the blocked conv kernels write, or CHWN as the stride-1 kernels
    write), else C-contiguous. Element-wise work on arrays of the same layout runs along memory;
    mixed layouts cost up to 10x more."""
    order = _axis_order(like) if like is not None else (0, 1, 2, 3)
    base_shape = tuple(shape[ax] for ax in order)
    if fill is None:
        a = np.empty(base_shape, dtype)
    elif fill == 0:
        a = np.zeros(base_shape, dtype)
    else:
        a = np.full(base_shape, fill, dtype)
    return a.transpose(tuple(order.index(ax) for ax in range(len(shape))))


def pad_nchw(x: np.ndarray, pad: int | Pair, value: float = 0.0) -> np.ndarray:
    """``x`` padded by ``pad`` pixels with ``value`` on each side of H and W (no copy if 0),
    in ``x``'s layout (see :func:`empty_nchw`)."""
    ph, pw = _pair(pad, "pad", "pad_nchw", minimum=0)
    if ph == 0 and pw == 0:
        return x
    N, C, H, W = x.shape
    xp = empty_nchw((N, C, H + 2 * ph, W + 2 * pw), x.dtype, like=x)
    # fill only the border, then copy the interior once
    if ph:
        xp[:, :, :ph] = value
        xp[:, :, ph + H:] = value
    if pw:
        xp[:, :, :, :pw] = value
        xp[:, :, :, pw + W:] = value
    xp[:, :, ph:ph + H, pw:pw + W] = x
    return xp


def _out_hw(H: int, W: int, kh: int, kw: int, sh: int, sw: int, ph: int, pw: int) -> Pair:
    return (conv_output_size(H, kh, sh, ph), conv_output_size(W, kw, sw, pw))


def _check4(x: np.ndarray, who: str) -> None:
    if not isinstance(x, np.ndarray) or x.ndim != 4:
        shape = getattr(x, "shape", type(x).__name__)
        raise ValueError(f"{who}: expected an (N, C, H, W) array, got shape {shape}")


def im2col(x: np.ndarray, kh: int, kw: int, stride: int | Pair = 1, pad: int | Pair = 0,
           out: np.ndarray | None = None) -> np.ndarray:
    """Receptive fields of ``x`` as the columns of a ``(C·kH·kW, N·OH·OW)`` matrix.

    One strided window view of the (zero-)padded input and one copy.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    kh, kw : int
        Kernel height and width.
    stride, pad : int or (int, int)
    out : ndarray, shape (C·kH·kW, N·OH·OW), optional
        Write into this C-contiguous buffer instead of allocating.

    Returns
    -------
    cols : ndarray, shape (C·kH·kW, N·OH·OW)
        ``cols[(c·kH + i)·kW + j, (n·OH + oh)·OW + ow] = xpad[n, c, oh·sH + i, ow·sW + j]``.

    >>> x = np.arange(9.0).reshape(1, 1, 3, 3)
    >>> im2col(x, 2, 2)
    array([[0., 1., 3., 4.],
           [1., 2., 4., 5.],
           [3., 4., 6., 7.],
           [4., 5., 7., 8.]])
    """
    _check4(x, "im2col")
    sh, sw = _pair(stride, "stride", "im2col")
    ph, pw = _pair(pad, "pad", "im2col", minimum=0)
    N, C, H, W = x.shape
    OH, OW = _out_hw(H, W, kh, kw, sh, sw, ph, pw)
    xp = pad_nchw(x, (ph, pw))
    sN, sC, sH, sW = xp.strides
    win = as_strided(xp, shape=(C, kh, kw, N, OH, OW),
                     strides=(sC, sH, sW, sN, sH * sh, sW * sw), writeable=False)
    shape6 = (C, kh, kw, N, OH, OW)
    if out is None:
        out = np.empty((C * kh * kw, N * OH * OW), dtype=x.dtype)
    elif out.shape != (C * kh * kw, N * OH * OW) or not out.flags.c_contiguous:
        raise ValueError(f"im2col: out must be C-contiguous with shape "
                         f"{(C * kh * kw, N * OH * OW)}, got {out.shape}")
    out6 = out.reshape(shape6)

    def copy(a: int, b: int) -> None:  # samples a..b (one thread each)
        np.copyto(out6[:, :, :, a:b], win[:, :, :, a:b])

    parallel_for(copy, N)
    return out


def col2im(cols: np.ndarray, x_shape: tuple[int, int, int, int], kh: int, kw: int,
           stride: int | Pair = 1, pad: int | Pair = 0) -> np.ndarray:
    """Adjoint of :func:`im2col`: sum every column entry back onto the pixel it came from.

    ``kH·kW`` strided adds into a zero padded buffer (overlapping windows accumulate); the
    padding is then cut off. ``<im2col(x), c> == <x, col2im(c)>`` for all ``x``, ``c``.

    Parameters
    ----------
    cols : ndarray, shape (C·kH·kW, N·OH·OW)
    x_shape : (N, C, H, W)

    Returns
    -------
    dx : ndarray, shape (N, C, H, W) (a view into the padded buffer when ``pad > 0``)

    >>> x = np.ones((1, 1, 3, 3))
    >>> col2im(im2col(x, 2, 2), x.shape, 2, 2)[0, 0]     # how many windows see each pixel
    array([[1., 2., 1.],
           [2., 4., 2.],
           [1., 2., 1.]])
    """
    sh, sw = _pair(stride, "stride", "col2im")
    ph, pw = _pair(pad, "pad", "col2im", minimum=0)
    N, C, H, W = (int(d) for d in x_shape)
    OH, OW = _out_hw(H, W, kh, kw, sh, sw, ph, pw)
    if cols.shape != (C * kh * kw, N * OH * OW):
        raise ValueError(f"col2im: expected cols of shape {(C * kh * kw, N * OH * OW)} "
                         f"for x_shape {tuple(x_shape)}, got {cols.shape}")
    c6 = cols.reshape(C, kh, kw, N, OH, OW)
    dxp = np.zeros((N, C, H + 2 * ph, W + 2 * pw), dtype=cols.dtype)
    dxt = dxp.transpose(1, 0, 2, 3)  # (C, N, Hp, Wp) view, matches c6[:, i, j]

    def add(a: int, b: int) -> None:  # samples a..b (one thread each)
        for i in range(kh):
            hi = i + sh * (OH - 1) + 1
            for j in range(kw):
                wj = j + sw * (OW - 1) + 1
                dxt[:, a:b, i:hi:sh, j:wj:sw] += c6[:, i, j, a:b]

    parallel_for(add, N)
    if ph or pw:
        return dxp[:, :, ph:ph + H, pw:pw + W]
    return dxp


# ---------------------------------------------------------------------------- conv
def conv2d_forward(x: np.ndarray, W: np.ndarray, b: np.ndarray | None = None,
                   stride: int | Pair = 1, pad: int | Pair = 0) -> tuple[np.ndarray, np.ndarray]:
    """Cross-correlation ``y[n, o] = Σ_c W[o, c] ⋆ xpad[n, c] + b[o]`` as one GEMM.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    W : ndarray, shape (C_out, C, kH, kW)
    b : ndarray, shape (C_out,), optional

    Returns
    -------
    y : ndarray, shape (N, C_out, OH, OW)
        A transposed view of a C-contiguous ``(C_out, N, OH, OW)`` array.
    cols : ndarray, shape (C·kH·kW, N·OH·OW)
        What :func:`conv2d_backward` needs.
    """
    _check4(x, "conv2d_forward")
    C_out, C, kh, kw = W.shape
    if x.shape[1] != C:
        raise ValueError(f"conv2d_forward: kernel expects {C} input channels, "
                         f"got x of shape {x.shape}")
    sh, sw = _pair(stride, "stride", "conv2d_forward")
    ph, pw = _pair(pad, "pad", "conv2d_forward", minimum=0)
    N, _, H, Wd = x.shape
    OH, OW = _out_hw(H, Wd, kh, kw, sh, sw, ph, pw)
    cols = im2col(x, kh, kw, (sh, sw), (ph, pw))
    y = np.matmul(W.reshape(C_out, -1), cols)  # (C_out, N·OH·OW)
    if b is not None:
        y += b[:, None]
    return y.reshape(C_out, N, OH, OW).transpose(1, 0, 2, 3), cols


def conv2d_backward(dy: np.ndarray, cols: np.ndarray, W: np.ndarray,
                    x_shape: tuple[int, int, int, int], stride: int | Pair = 1,
                    pad: int | Pair = 0, *, dW: np.ndarray | None = None,
                    db: np.ndarray | None = None, need_dx: bool = True,
                    ) -> tuple[np.ndarray | None, np.ndarray, np.ndarray | None]:
    """Gradients of :func:`conv2d_forward`.

    With ``dy_m = dy`` as ``(C_out, N·OH·OW)`` and ``W_m = W.reshape(C_out, -1)``::

        dW = dy_m @ cols.T          db = Σ_{n,oh,ow} dy          dx = col2im(W_m.T @ dy_m)

    Parameters
    ----------
    dy : ndarray, shape (N, C_out, OH, OW)
    cols : ndarray, shape (C·kH·kW, N·OH·OW), from the forward pass
    W : ndarray, shape (C_out, C, kH, kW)
    x_shape : (N, C, H, W)
    dW, db : ndarray, optional
        Write the gradients into these arrays in place (a layer's ``grads`` views) instead of
        allocating new ones.
    need_dx : bool
        ``False`` skips the input gradient (first layer of a network) and returns ``None``.

    Returns
    -------
    dx : ndarray (N, C, H, W) or None
    dW : ndarray (C_out, C, kH, kW)
    db : ndarray (C_out,)
    """
    C_out = W.shape[0]
    dy_m = dy.transpose(1, 0, 2, 3).reshape(C_out, -1)  # free if dy came from conv2d_forward
    W_m = W.reshape(C_out, -1)
    if dW is None:
        dW = np.matmul(dy_m, cols.T).reshape(W.shape)
    else:
        dW2 = dW.reshape(C_out, -1)
        if np.shares_memory(dW2, dW):
            np.matmul(dy_m, cols.T, out=dW2)
        else:
            dW[...] = np.matmul(dy_m, cols.T).reshape(W.shape)
    if db is None:
        db = dy_m.sum(axis=1)
    else:
        dy_m.sum(axis=1, out=db)
    if not need_dx:
        return None, dW, db
    dcols = np.matmul(W_m.T, dy_m)
    kh, kw = W.shape[2:]
    return col2im(dcols, x_shape, kh, kw, stride, pad), dW, db


# ---------------------------------------------------------------------------- fused, blocked
#: Blocks per batch in the blocked kernels below (a fixed number, so that the block sums, and
#: therefore the results, do not depend on the thread count), and the most bytes of im2col
#: columns one block may take (bounds the work memory of inference on large batches).
BLOCKS = 2
BLOCK_BYTES = 4 << 20
#: Inference with fewer bytes of im2col columns than this runs in one piece (no thread hand-off).
MIN_SPLIT_BYTES = 256 << 10


def _block_size(n: int, per_sample_bytes: int, training: bool = True) -> int:
    """Samples per block: ``⌈n / BLOCKS⌉`` in training (a fixed split: the gradient's block
    sums do not depend on the thread count); in inference one block per thread, at most
    :data:`BLOCK_BYTES` of columns each (the work memory stays small on large batches)."""
    parts = BLOCKS if training else max(1, num_threads())
    return max(1, min(-(-n // parts), BLOCK_BYTES // max(per_sample_bytes, 1)))


def _geometry(x_shape, W_shape, stride, pad, who):
    N, C, H, Wd = (int(d) for d in x_shape)
    C_out, C2, kh, kw = W_shape
    if C2 != C:
        raise ValueError(f"{who}: kernel expects {C2} input channels, got x of shape {tuple(x_shape)}")
    sh, sw = _pair(stride, "stride", who)
    ph, pw = _pair(pad, "pad", who, minimum=0)
    OH, OW = _out_hw(H, Wd, kh, kw, sh, sw, ph, pw)
    Hp, Wp = H + 2 * ph, Wd + 2 * pw
    return N, C, H, Wd, C_out, kh, kw, sh, sw, ph, pw, OH, OW, Hp, Wp


def conv2d_forward_blocked(x: np.ndarray, W: np.ndarray, b: np.ndarray | None = None,
                           stride: int | Pair = 1, pad: int | Pair = 0, activation: Any = None,
                           *, keep_cols: bool = True, cols_out: np.ndarray | None = None,
                           ) -> tuple[np.ndarray, np.ndarray | None]:
    """:func:`conv2d_forward` in blocks of samples, with the activation applied in place.

    The same result as ``activation(conv2d_forward(x, W, b)[0])``, computed block by block
    (see :func:`_block_size`): copy the block's receptive fields (:func:`im2col`'s layout),
    multiply by ``W.reshape(C_out, -1)`` into the block's columns of the ``(C_out, N·OH·OW)``
    output, add the bias and apply ``activation`` (a function that overwrites its argument,
    e.g. ``lambda z: np.tanh(z, out=z)``) in place, with no float64 round trip and no
    temporaries. Blocks run on tanul's threads (:func:`tanul.ops.parallel.parallel_gemms`),
    each with its own single-threaded GEMM, so the copies and the matrix products both use
    every core.

    Parameters
    ----------
    keep_cols : bool
        ``True`` (training) writes every block's columns into one ``(C·kH·kW, N·OH·OW)``
        matrix (``cols_out`` if it has that shape, dtype and C order: the layer passes the
        one of the previous batch) and returns it for :func:`conv2d_backward_blocked`;
        ``False`` (inference) uses one small buffer per thread and returns ``None``.

    Returns
    -------
    y : ndarray, shape (N, C_out, OH, OW)
        A transposed view of a C-contiguous ``(C_out, N, OH, OW)`` array ("channel-major").
    cols : ndarray of shape (C·kH·kW, N·OH·OW), or None
    """
    _check4(x, "conv2d_forward_blocked")
    (N, C, H, Wd, C_out, kh, kw, sh, sw, ph, pw, OH, OW, Hp, Wp
     ) = _geometry(x.shape, W.shape, stride, pad, "conv2d_forward_blocked")
    K, P = C * kh * kw, OH * OW
    e = x.itemsize
    xp = pad_nchw(x, (ph, pw))
    sN, sC, sH, sW = xp.strides
    win = as_strided(xp, shape=(C, kh, kw, N, OH, OW),
                     strides=(sC, sH, sW, sN, sH * sh, sW * sw), writeable=False)
    y = np.empty((C_out, N, OH, OW), dtype=x.dtype)
    y2 = y.reshape(C_out, N * P)
    W_m = W.reshape(C_out, K)
    bias = None if b is None else b.reshape(C_out, 1)
    cols = _reuse_or_new(cols_out, (K, N * P), x.dtype) if keep_cols else None
    s = _block_size(N, K * P * e, training=keep_cols)
    nblocks = -(-N // s)

    def work(ba: int, bb: int) -> None:  # blocks ba..bb
        buf = None if keep_cols else np.empty(K * s * P, dtype=x.dtype)
        for k in range(ba, bb):
            s0, s1 = k * s, min((k + 1) * s, N)
            m = s1 - s0
            if keep_cols:
                blk = cols[:, s0 * P:s1 * P]
                dst = cols.reshape(C, kh, kw, N, OH, OW)[:, :, :, s0:s1]
            else:
                blk = buf[:K * m * P].reshape(K, m * P)
                dst = blk.reshape(C, kh, kw, m, OH, OW)
            np.copyto(dst, win[:, :, :, s0:s1])
            yb = y2[:, s0 * P:s1 * P]
            narrow_matmul(W_m, blk, yb)
            if bias is not None:
                yb += bias
            if activation is not None:
                activation(yb)

    parallel_gemms(work, nblocks)
    return y.transpose(1, 0, 2, 3), cols


def conv2d_backward_blocked(dy: np.ndarray, cols: np.ndarray, W: np.ndarray,
                            x_shape: tuple[int, int, int, int], stride: int | Pair = 1,
                            pad: int | Pair = 0, *, y: np.ndarray | None = None,
                            activation_grad: Any = None, dW: np.ndarray | None = None,
                            db: np.ndarray | None = None, need_dx: bool = True,
                            dz: np.ndarray | None = None,
                            ) -> tuple[np.ndarray | None, np.ndarray, np.ndarray | None]:
    """:func:`conv2d_backward` in blocks of samples, with the activation's derivative fused in.

    For each block of samples: ``dZ = activation_grad(y, dy)`` written straight into the
    ``(C_out, N·OH·OW)`` layout the GEMMs need, its partial ``dW = dZ @ cols.T`` and
    ``db = Σ dZ``, and (``need_dx``) ``col2im(W_m.T @ dZ)`` added into the block's own
    samples of ``dx`` (channel-major, like the forward outputs). Blocks run on tanul's threads;
    the per-block partial sums of ``dW`` and ``db`` are added in block order, and training
    always uses :data:`BLOCKS` blocks, so the result does not depend on the thread count.

    Parameters
    ----------
    dy : ndarray, shape (N, C_out, OH, OW)
        Gradient with respect to the layer's output (after the activation).
    y : ndarray, shape (N, C_out, OH, OW), optional
        The activation's output, for ``activation_grad``.
    activation_grad : callable ``(y, dy, out) -> None``, optional
        Writes ``∂L/∂z`` into ``out``; ``None`` means no activation (``dZ = dy``).
    dz : ndarray, shape (N, C_out, OH, OW), optional
        ``∂L/∂z`` already computed (then ``dy``, ``y`` and ``activation_grad`` are not used; pass
        ``dy=None``): a max-pool after the layer routes its gradient straight into it
        (:meth:`tanul.layers.pooling.MaxPool2D.backward_fused`). Used as it is when
        channel-major (a transposed view of a C-contiguous ``(C_out, N, OH, OW)`` array).

    Returns
    -------
    dx : ndarray (N, C, H, W) or None, dW, db : as :func:`conv2d_backward`.
    """
    (N, C, H, Wd, C_out, kh, kw, sh, sw, ph, pw, OH, OW, Hp, Wp
     ) = _geometry(x_shape, W.shape, stride, pad, "conv2d_backward_blocked")
    K, P = C * kh * kw, OH * OW
    if cols.shape != (K, N * P):
        raise ValueError(f"conv2d_backward_blocked: expected cols of shape {(K, N * P)} "
                         f"(from conv2d_forward_blocked), got {cols.shape}")
    dt = cols.dtype
    e = dt.itemsize
    given = dz is not None
    if given:
        if dz.shape != (N, C_out, OH, OW):
            raise ValueError(f"conv2d_backward_blocked: expected dz of shape {(N, C_out, OH, OW)}, "
                             f"got {dz.shape}")
        dzt = dz.transpose(1, 0, 2, 3)
        dz = dzt if dzt.flags.c_contiguous and dzt.dtype == dt else np.ascontiguousarray(dzt, dt)
    else:
        dz = np.empty((C_out, N, OH, OW), dtype=dt)
    dz2 = dz.reshape(C_out, N * P)
    W_m = W.reshape(C_out, K)
    s = _block_size(N, K * P * e)
    nblocks = -(-N // s)
    dW_parts = np.empty((nblocks, C_out, K), dtype=dt)
    db_parts = np.empty((nblocks, C_out), dtype=dt)
    if need_dx:  # channel-major, like the kernels' outputs
        dxt = np.zeros((C, N, Hp, Wp), dtype=dt)
        dxp = dxt.transpose(1, 0, 2, 3)

    def work(ba: int, bb: int) -> None:  # blocks ba..bb
        buf = np.empty(K * s * P, dtype=dt) if need_dx else None
        for k in range(ba, bb):
            s0, s1 = k * s, min((k + 1) * s, N)
            m = s1 - s0
            if not given:
                out = dz[:, s0:s1].transpose(1, 0, 2, 3)
                if activation_grad is None:
                    np.copyto(out, dy[s0:s1])
                else:
                    activation_grad(y[s0:s1], dy[s0:s1], out)
            dzb = dz2[:, s0 * P:s1 * P]
            weight_grad(dzb, cols[:, s0 * P:s1 * P], dW_parts[k])
            dzb.sum(axis=1, out=db_parts[k])
            if not need_dx:
                continue
            dc = buf[:K * m * P].reshape(K, m * P)
            blk = dxt[:, s0:s1]
            np.matmul(W_m.T, dzb, out=dc)
            c6 = dc.reshape(C, kh, kw, m, OH, OW)
            for i in range(kh):
                hi = i + sh * (OH - 1) + 1
                for j in range(kw):
                    wj = j + sw * (OW - 1) + 1
                    blk[:, :, i:hi:sh, j:wj:sw] += c6[:, i, j]

    parallel_gemms(work, nblocks)
    dW, db = _sum_parts(dW_parts, db_parts, W.shape, dW, db)
    if not need_dx:
        return None, dW, db
    dx = dxp[:, :, ph:ph + H, pw:pw + Wd] if (ph or pw) else dxp
    return dx, dW, db


def _sum_parts(dW_parts: np.ndarray, db_parts: np.ndarray, w_shape: tuple, dW, db):
    """Sum the per-block partial gradients (in block order, so the result does not depend on the
    thread count) into ``dW``/``db``, or into new arrays when they are None."""
    dW_sum = dW_parts.sum(axis=0) if len(dW_parts) > 1 else dW_parts[0]
    db_sum = db_parts.sum(axis=0) if len(db_parts) > 1 else db_parts[0]
    if dW is None:
        dW = dW_sum.reshape(w_shape)
    else:
        dW[...] = dW_sum.reshape(w_shape)
    if db is None:
        db = db_sum
    else:
        db[...] = db_sum
    return dW, db


# ---------------------------------------------------------------------------- batch innermost
def chwn(x: np.ndarray) -> np.ndarray | None:
    """The C-contiguous ``(C, H, W, N)`` array behind the (N, C, H, W) view ``x``, or None
    when ``x`` is not laid out that way ("CHWN": the batch innermost)."""
    t = x.transpose(1, 2, 3, 0)
    return t if t.flags.c_contiguous else None


def _bands(OH: int, per_row_bytes: int, training: bool) -> int:
    """Row bands per batch: :data:`BLOCKS` in training (a fixed split: the band sums of ``dW``,
    ``db`` and ``dx`` do not depend on the thread count); in inference one per thread, at most
    :data:`BLOCK_BYTES` of columns each."""
    if training:
        return max(1, min(BLOCKS, OH))
    if OH * per_row_bytes <= MIN_SPLIT_BYTES:  # a few images: splitting costs more than it saves
        return 1
    rows = max(1, min(-(-OH // max(1, num_threads())), BLOCK_BYTES // max(per_row_bytes, 1)))
    return -(-OH // rows)


def conv2d_forward_chwn(x: np.ndarray, W: np.ndarray, b: np.ndarray | None = None,
                        pad: int | Pair = 0, activation: Any = None, *, keep_cols: bool = True,
                        cols_out: np.ndarray | None = None,
                        ) -> tuple[np.ndarray, np.ndarray | None]:
    """Stride-1 convolution with the batch innermost: :func:`conv2d_forward_blocked`'s result,
    computed on ``(C, H, W, N)`` arrays.

    The input is brought to a (zero-)padded C-contiguous ``(C, Hp, Wp, N)`` array (no copy when
    ``x`` is already laid out so and not padded), the im2col columns are ordered
    ``(oh, ow, n)``, so that the copy of each kernel offset's row runs over ``OW·N`` contiguous
    values, and the output ``W_m @ cols`` is the C-contiguous ``(C_out, OH, OW, N)`` array, returned
    as an (N, C_out, OH, OW) view. Work is split into bands of output rows, one GEMM each, on
    tanul's threads. ``cols`` (training) is ``(C·kH·kW, OH·OW·N)``.
    """
    _check4(x, "conv2d_forward_chwn")
    (N, C, H, Wd, C_out, kh, kw, sh, sw, ph, pw, OH, OW, Hp, Wp
     ) = _geometry(x.shape, W.shape, 1, pad, "conv2d_forward_chwn")
    K, Q = C * kh * kw, OW * N
    xc = chwn(x) if (ph == 0 and pw == 0) else None
    if xc is None:  # one copy into the padded batch-innermost layout, rows split over threads
        xc = np.empty((C, Hp, Wp, N), dtype=x.dtype)
        if ph:
            xc[:, :ph] = 0
            xc[:, ph + H:] = 0
        if pw:
            xc[:, ph:ph + H, :pw] = 0
            xc[:, ph:ph + H, pw + Wd:] = 0
        xt = x.transpose(1, 2, 3, 0)

        def bring(a: int, b: int) -> None:  # input rows a..b
            np.copyto(xc[:, ph + a:ph + b, pw:pw + Wd], xt[:, a:b])

        parallel_for(bring, H, min_chunk=max(1, -(-4096 // max(1, C * Wd * N))))
    sC, sH, sW, sN = xc.strides
    win = as_strided(xc, shape=(C, kh, kw, OH, OW, N), strides=(sC, sH, sW, sH, sW, sN),
                     writeable=False)
    y = np.empty((C_out, OH * Q), dtype=x.dtype)
    W_m = W.reshape(C_out, K)
    bias = None if b is None else b.reshape(C_out, 1)
    cols = _reuse_or_new(cols_out, (K, OH * Q), x.dtype) if keep_cols else None
    nb = _bands(OH, K * Q * x.itemsize, keep_cols)
    rows = -(-OH // nb)

    def work(ba: int, bb: int) -> None:  # bands ba..bb
        buf = None if keep_cols else np.empty(K * rows * Q, dtype=x.dtype)
        for k in range(ba, bb):
            r0, r1 = k * rows, min((k + 1) * rows, OH)
            q0, q1 = r0 * Q, r1 * Q
            blk = cols[:, q0:q1] if keep_cols else buf[:K * (q1 - q0)].reshape(K, q1 - q0)
            np.copyto(blk.reshape(C, kh, kw, r1 - r0, OW, N), win[:, :, :, r0:r1])
            yb = y[:, q0:q1]
            narrow_matmul(W_m, blk, yb)
            if bias is not None:
                yb += bias
            if activation is not None:
                activation(yb)

    parallel_gemms(work, nb)
    return y.reshape(C_out, OH, OW, N).transpose(3, 0, 1, 2), cols


def conv2d_backward_chwn(dy: np.ndarray | None, cols: np.ndarray, W: np.ndarray,
                         x_shape: tuple[int, int, int, int], pad: int | Pair = 0, *,
                         y: np.ndarray | None = None, activation_grad: Any = None,
                         dW: np.ndarray | None = None, db: np.ndarray | None = None,
                         need_dx: bool = True, dz: np.ndarray | None = None,
                         dx_like: np.ndarray | None = None,
                         ) -> tuple[np.ndarray | None, np.ndarray, np.ndarray | None]:
    """Gradients of :func:`conv2d_forward_chwn` (the same as :func:`conv2d_backward_blocked`'s).

    Per band of output rows: ``dZ`` (``activation_grad(y, dy)``, or ``dz`` when given, as in
    :func:`conv2d_backward_blocked`), the band's ``dW = dZ @ colsᵀ`` and ``db``, and its col2im:
    ``W_mᵀ @ dZ`` added, one kernel offset at a time, into the band's own zeroed
    ``(C, Hp, Wp, N)`` buffer as runs of ``OW·N`` contiguous values. The band sums are added
    in band order, so the result does not depend on the thread count. ``dx`` is written in the
    layout of ``dx_like`` (the layer's input, so the layer below works on one layout), in
    the same pass that adds the bands.
    """
    (N, C, H, Wd, C_out, kh, kw, sh, sw, ph, pw, OH, OW, Hp, Wp
     ) = _geometry(x_shape, W.shape, 1, pad, "conv2d_backward_chwn")
    K, Q = C * kh * kw, OW * N
    if cols.shape != (K, OH * Q):
        raise ValueError(f"conv2d_backward_chwn: expected cols of shape {(K, OH * Q)} "
                         f"(from conv2d_forward_chwn), got {cols.shape}")
    dt = cols.dtype
    given = dz is not None
    if given:
        if dz.shape != (N, C_out, OH, OW):
            raise ValueError(f"conv2d_backward_chwn: expected dz of shape {(N, C_out, OH, OW)}, "
                             f"got {dz.shape}")
        zc = chwn(dz)
        if zc is None or zc.dtype != dt:
            zc = np.ascontiguousarray(dz.transpose(1, 2, 3, 0), dtype=dt)
    else:
        zc = np.empty((C_out, OH, OW, N), dtype=dt)
    z2 = zc.reshape(C_out, OH * Q)
    W_m = W.reshape(C_out, K)
    nb = _bands(OH, K * Q * dt.itemsize, True)
    rows = -(-OH // nb)
    dW_parts = np.empty((nb, C_out, K), dtype=dt)
    db_parts = np.empty((nb, C_out), dtype=dt)
    dx_parts = np.empty((nb, C, Hp, Wp, N), dtype=dt) if need_dx else None

    def work(ba: int, bb: int) -> None:  # bands ba..bb
        buf = np.empty(K * rows * Q, dtype=dt) if need_dx else None
        for k in range(ba, bb):
            r0, r1 = k * rows, min((k + 1) * rows, OH)
            q0, q1 = r0 * Q, r1 * Q
            if not given:
                out = zc[:, r0:r1].transpose(3, 0, 1, 2)
                if activation_grad is None:
                    np.copyto(out, dy[:, :, r0:r1])
                else:
                    activation_grad(y[:, :, r0:r1], dy[:, :, r0:r1], out)
            zb = z2[:, q0:q1]
            weight_grad(zb, cols[:, q0:q1], dW_parts[k])
            zb.sum(axis=1, out=db_parts[k])
            if not need_dx:
                continue
            dc = buf[:K * (q1 - q0)].reshape(K, q1 - q0)
            np.matmul(W_m.T, zb, out=dc)
            c6 = dc.reshape(C, kh, kw, r1 - r0, OW, N)
            part = dx_parts[k]
            part.fill(0)  # on this band's thread
            for i in range(kh):
                for j in range(kw):
                    part[:, r0 + i:r1 + i, j:j + OW] += c6[:, i, j]

    parallel_gemms(work, nb)
    dW, db = _sum_parts(dW_parts, db_parts, W.shape, dW, db)
    if not need_dx:
        return None, dW, db
    parts = [p[:, ph:ph + H, pw:pw + Wd].transpose(3, 0, 1, 2) for p in dx_parts]
    dx = empty_nchw((N, C, H, Wd), dt, like=dx_like if dx_like is not None else parts[0])

    def add_bands(a: int, b: int) -> None:  # input rows a..b, the bands in a fixed order
        out = dx[:, :, a:b]
        if nb == 1:
            np.copyto(out, parts[0][:, :, a:b])
            return
        np.add(parts[0][:, :, a:b], parts[1][:, :, a:b], out=out)
        for p in parts[2:]:
            out += p[:, :, a:b]

    parallel_for(add_bands, H, min_chunk=max(1, -(-4096 // max(1, C * Wd * N))))
    return dx, dW, db


# ---------------------------------------------------------------------------- pooling
def _pool_setup(x_shape, kh, kw, stride, pad, who):
    kh, kw = _pair((kh, kw), "pool size", who)
    sh, sw = _pair((kh, kw) if stride is None else stride, "stride", who)
    ph, pw = _pair(pad, "pad", who, minimum=0)
    if 2 * ph > kh or 2 * pw > kw:
        raise ValueError(f"{who}: padding must be at most half the pool size, "
                         f"got pad={(ph, pw)} for pool size {(kh, kw)}")
    N, C, H, W = x_shape
    OH, OW = _out_hw(H, W, kh, kw, sh, sw, ph, pw)
    return kh, kw, sh, sw, ph, pw, OH, OW


def _windows(xp: np.ndarray, kh, kw, sh, sw, OH, OW):
    """Yield ``(k, view)`` for the kH·kW strided views ``xp[:, :, i::sh, j::sw]`` (k = i·kW + j)."""
    for i in range(kh):
        for j in range(kw):
            yield i * kw + j, xp[:, :, i:i + sh * (OH - 1) + 1:sh, j:j + sw * (OW - 1) + 1:sw]


def maxpool2d_forward(x: np.ndarray, kh: int, kw: int, stride: int | Pair | None = None,
                      pad: int | Pair = 0, *, need_arg: bool = True,
                      ) -> tuple[np.ndarray, np.ndarray | None]:
    """Max over each ``kH×kW`` window, and which window entry it was.

    Padding is filled with ``-inf`` so that it is never the maximum (``pad ≤ k/2``, as in
    PyTorch, so every window holds a real pixel). Ties: the FIRST maximum in row-major window
    order wins (as ``np.argmax``), and only it receives the gradient.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    kh, kw : int
    stride : int or pair, optional (default: the pool size, non-overlapping windows)
    pad : int or pair
    need_arg : bool
        ``False`` (inference: no backward pass follows) skips the arg-max, which costs more
        than the maximum itself, and returns ``None`` for it.

    Returns
    -------
    y : ndarray, shape (N, C, OH, OW)
    arg : ndarray of uint8 (int32 for windows over 255 entries), shape (N, C, OH, OW), or None
        Index ``i·kW + j`` of the maximum inside its window.
    """
    _check4(x, "maxpool2d_forward")
    kh, kw, sh, sw, ph, pw, OH, OW = _pool_setup(x.shape, kh, kw, stride, pad,
                                                 "maxpool2d_forward")
    xp = pad_nchw(x, (ph, pw), value=-np.inf)
    N, C = x.shape[:2]
    # outputs in x's layout (channel-major or batch-innermost after a conv layer): every pass
    # runs along memory
    y = empty_nchw((N, C, OH, OW), x.dtype, like=x)
    arg = (empty_nchw((N, C, OH, OW), np.uint8 if kh * kw <= 256 else np.int32, like=x, fill=0)
           if need_arg else None)

    fast = (kh, kw, sh, sw, ph, pw) == (2, 2, 2, 2, 0, 0)

    def pool(a: int, b: int) -> None:  # samples a..b (one thread each)
        ya = y[a:b]
        if fast:  # 2x2 stride 2: a tournament
            xa = xp[a:b, :, :2 * OH, :2 * OW]
            w0, w1 = xa[:, :, 0::2, 0::2], xa[:, :, 0::2, 1::2]
            w2, w3 = xa[:, :, 1::2, 0::2], xa[:, :, 1::2, 1::2]
            top, bottom = np.maximum(w0, w1), np.maximum(w2, w3)
            np.maximum(top, bottom, out=ya)
            if arg is None:
                return
            # First maximum wins: a later entry only when strictly greater. With the uint8
            # flags t = [w1 > w0], u = [w3 > w2], v = [bottom > top] the index is
            # v ? 2 + u : t = t + v·(2 + u − t) (mod 256): 5 cheap byte passes, no np.where.
            t = np.greater(w1, w0).view(np.uint8)
            u = np.greater(w3, w2).view(np.uint8)
            v = np.greater(bottom, top).view(np.uint8)
            np.subtract(u, t, out=u)
            u += np.uint8(2)
            np.multiply(u, v, out=u)
            np.add(t, u, out=arg[a:b])
            return
        wins = _windows(xp[a:b], kh, kw, sh, sw, OH, OW)
        _, v0 = next(wins)
        np.copyto(ya, v0)
        mask = np.empty_like(ya, dtype=bool)
        arga = None if arg is None else arg[a:b]
        for k, v in wins:
            if arga is not None:
                np.greater(v, ya, out=mask)           # strict: an equal later value does not win
                np.copyto(arga, k, where=mask)
            np.maximum(ya, v, out=ya)

    def pool_blocks(a: int, b: int) -> None:  # at most 128 samples at a time: bounded temporaries
        for s0 in range(a, b, 128):
            pool(s0, min(s0 + 128, b))

    parallel_for(pool_blocks, N)
    return y, arg


def maxpool2d_backward(dy: np.ndarray, arg: np.ndarray, x_shape: tuple[int, int, int, int],
                       kh: int, kw: int, stride: int | Pair | None = None,
                       pad: int | Pair = 0) -> np.ndarray:
    """Route each ``dy`` to the stored argmax; overlapping windows accumulate.

    ``kH·kW`` masked strided adds into a zero padded buffer (no scatter, no loop over pixels).
    """
    kh, kw, sh, sw, ph, pw, OH, OW = _pool_setup(x_shape, kh, kw, stride, pad,
                                                 "maxpool2d_backward")
    N, C, H, W = x_shape
    if (sh, sw) == (kh, kw) and ph == pw == 0:
        # Non-overlapping windows (e.g. 2x2 stride 2): every input pixel lies in at most one
        # window, so dx[:, :, i::kH, j::kW] = dy · [arg = i·kW + j]: kH·kW strided writes.
        exact = H == OH * kh and W == OW * kw
        # dx in the layout of the forward input (arg has it); dy brought to it once if needed
        dx = empty_nchw((N, C, H, W), dy.dtype, like=arg, fill=None if exact else 0)
        if not same_layout(dy, arg):
            dy2 = empty_nchw(dy.shape, dy.dtype, like=arg)
            np.copyto(dy2, dy)
            dy = dy2

        def route(a: int, b: int) -> None:  # samples a..b (one thread each)
            hit = empty_nchw(arg[a:b].shape, bool, like=arg)
            for i in range(kh):
                for j in range(kw):
                    np.equal(arg[a:b], i * kw + j, out=hit)
                    np.multiply(dy[a:b], hit, out=dx[a:b, :, i:kh * OH:kh, j:kw * OW:kw])

        parallel_for(route, N)
        return dx
    dxp = np.zeros((N, C, H + 2 * ph, W + 2 * pw), dtype=dy.dtype)
    mask = np.empty(arg.shape, dtype=bool)
    for k, v in _windows(dxp, kh, kw, sh, sw, OH, OW):
        np.equal(arg, k, out=mask)
        np.add(v, dy, out=v, where=mask)
    return dxp[:, :, ph:ph + H, pw:pw + W] if (ph or pw) else dxp


def avgpool2d_forward(x: np.ndarray, kh: int, kw: int, stride: int | Pair | None = None,
                      pad: int | Pair = 0) -> np.ndarray:
    """Mean over each ``kH×kW`` window; zero padding counts in the mean (PyTorch's default
    ``count_include_pad=True``), so every window divides by ``kH·kW``."""
    _check4(x, "avgpool2d_forward")
    kh, kw, sh, sw, ph, pw, OH, OW = _pool_setup(x.shape, kh, kw, stride, pad,
                                                 "avgpool2d_forward")
    xp = pad_nchw(x, (ph, pw))
    wins = _windows(xp, kh, kw, sh, sw, OH, OW)
    _, v0 = next(wins)
    y = np.copy(v0, order="K")
    for _, v in wins:
        y += v
    y *= 1.0 / (kh * kw)
    return y


def avgpool2d_backward(dy: np.ndarray, x_shape: tuple[int, int, int, int], kh: int, kw: int,
                       stride: int | Pair | None = None, pad: int | Pair = 0) -> np.ndarray:
    """Spread ``dy / (kH·kW)`` evenly over each window; overlapping windows accumulate."""
    kh, kw, sh, sw, ph, pw, OH, OW = _pool_setup(x_shape, kh, kw, stride, pad,
                                                 "avgpool2d_backward")
    N, C, H, W = x_shape
    g = dy * (1.0 / (kh * kw))
    dxp = np.zeros((N, C, H + 2 * ph, W + 2 * pw), dtype=dy.dtype)
    for _, v in _windows(dxp, kh, kw, sh, sw, OH, OW):
        v += g
    return dxp[:, :, ph:ph + H, pw:pw + W] if (ph or pw) else dxp
