"""tanul.ops.conv with different heights and widths of kernel, stride and padding, against naive
loops (issue 18, mutation testing): the first suite used square kernels with equal strides and
paddings only, so a swapped ``kh``/``kw`` or ``sh``/``sw`` could not be seen. Also the argument
checks (whole messages), the layout helpers and the buffer options of the blocked kernels.
"""

import re

import numpy as np
import pytest
from conv_reference import naive_conv, naive_conv_backward, out_size, pad

from tanul.ops import conv as ops
from tanul.ops import parallel


def full(msg):
    return "^" + re.escape(msg) + "$"


# ------------------------------------------------------------------ naive references
def naive_pool(x, kh, kw, sh, sw, ph, pw, kind):
    N, C, H, W = x.shape
    xp = pad(x, ph, pw, -np.inf if kind == "max" else 0.0)
    OH, OW = out_size(H, kh, sh, ph), out_size(W, kw, sw, pw)
    y = np.zeros((N, C, OH, OW))
    arg = np.zeros((N, C, OH, OW), int)
    for i in range(OH):
        for j in range(OW):
            w = xp[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw].reshape(N, C, -1)
            if kind == "max":
                arg[:, :, i, j] = w.argmax(axis=2)
                y[:, :, i, j] = w.max(axis=2)
            else:
                y[:, :, i, j] = w.mean(axis=2)
    return y, arg


def naive_pool_backward(x_shape, dy, arg, kh, kw, sh, sw, ph, pw, kind):
    N, C, H, W = x_shape
    dxp = np.zeros((N, C, H + 2 * ph, W + 2 * pw))
    OH, OW = dy.shape[2:]
    for n in range(N):
        for c in range(C):
            for i in range(OH):
                for j in range(OW):
                    if kind == "max":
                        a = arg[n, c, i, j]
                        dxp[n, c, i * sh + a // kw, j * sw + a % kw] += dy[n, c, i, j]
                    else:
                        dxp[n, c, i * sh:i * sh + kh, j * sw:j * sw + kw] += dy[n, c, i, j] / (kh * kw)
    return dxp[:, :, ph:ph + H, pw:pw + W]


# (N, C, H, W, F, (kh, kw), (sh, sw), (ph, pw))
GEOMETRIES = [
    (2, 2, 7, 9, 3, (3, 2), (1, 2), (1, 0)),
    (2, 3, 8, 6, 2, (2, 3), (2, 1), (0, 1)),
    (3, 1, 9, 7, 2, (1, 3), (3, 2), (0, 1)),
    (2, 2, 6, 10, 2, (4, 2), (2, 3), (2, 1)),
]


@pytest.mark.parametrize("N,C,H,W,F,k,s,p", GEOMETRIES)
def test_conv_with_unequal_heights_and_widths(N, C, H, W, F, k, s, p):
    (kh, kw), (sh, sw), (ph, pw) = k, s, p
    rng = np.random.default_rng(11)
    x = rng.standard_normal((N, C, H, W))
    Wt = rng.standard_normal((F, C, kh, kw))
    b = rng.standard_normal(F)
    OH, OW = out_size(H, kh, sh, ph), out_size(W, kw, sw, pw)

    cols = ops.im2col(x, kh, kw, s, p)
    assert cols.shape == (C * kh * kw, N * OH * OW)
    xp = pad(x, ph, pw)
    for n in range(N):
        for i in range(OH):
            for j in range(OW):
                np.testing.assert_array_equal(cols[:, (n * OH + i) * OW + j],
                                              xp[n, :, i * sh:i * sh + kh, j * sw:j * sw + kw].ravel())
    c = rng.standard_normal(cols.shape)       # col2im is the adjoint of im2col
    assert np.sum(cols * c) == pytest.approx(np.sum(x * ops.col2im(c, x.shape, kh, kw, s, p)), rel=1e-12)

    y, cols2 = ops.conv2d_forward(x, Wt, b, s, p)
    np.testing.assert_allclose(y, naive_conv(x, Wt, b, sh, sw, ph, pw), rtol=1e-12, atol=1e-12)
    y0, _ = ops.conv2d_forward(x, Wt, None, s, p)
    np.testing.assert_allclose(y0, naive_conv(x, Wt, None, sh, sw, ph, pw), rtol=1e-12, atol=1e-12)
    dy = rng.standard_normal(y.shape)
    rdx, rdW, rdb = naive_conv_backward(x, Wt, dy, sh, sw, ph, pw)
    dx, dW, db = ops.conv2d_backward(dy, cols2, Wt, x.shape, s, p)
    np.testing.assert_allclose(dx, rdx, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dW, rdW, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(db, rdb, rtol=1e-12, atol=1e-12)

    yb, colsb = ops.conv2d_forward_blocked(x, Wt, b, s, p)
    np.testing.assert_allclose(yb, naive_conv(x, Wt, b, sh, sw, ph, pw), rtol=1e-12, atol=1e-12)
    yi, none = ops.conv2d_forward_blocked(x, Wt, b, s, p, keep_cols=False)
    assert none is None
    np.testing.assert_allclose(yi, yb, rtol=1e-12, atol=1e-12)
    dxb, dWb, dbb = ops.conv2d_backward_blocked(dy, colsb, Wt, x.shape, s, p)   # no activation
    np.testing.assert_allclose(dxb, rdx, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dWb, rdW, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dbb, rdb, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("N,C,H,W,F,k,s,p", GEOMETRIES)
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pooling_with_unequal_heights_and_widths(N, C, H, W, F, k, s, p, kind):
    (kh, kw), (sh, sw), (ph, pw) = k, s, p
    if 2 * ph > kh or 2 * pw > kw:
        ph, pw = ph if 2 * ph <= kh else 0, pw if 2 * pw <= kw else 0
    rng = np.random.default_rng(12)
    x = rng.permutation(N * C * H * W).reshape(N, C, H, W).astype(float)   # distinct values
    y_ref, arg_ref = naive_pool(x, kh, kw, sh, sw, ph, pw, kind)
    if kind == "max":
        y, arg = ops.maxpool2d_forward(x, kh, kw, (sh, sw), (ph, pw))
        np.testing.assert_array_equal(arg, arg_ref)
    else:
        y = ops.avgpool2d_forward(x, kh, kw, (sh, sw), (ph, pw))
    np.testing.assert_allclose(y, y_ref, rtol=1e-12, atol=1e-12)
    dy = rng.standard_normal(y.shape)
    dx_ref = naive_pool_backward(x.shape, dy, arg_ref, kh, kw, sh, sw, ph, pw, kind)
    if kind == "max":
        dx = ops.maxpool2d_backward(dy, arg, x.shape, kh, kw, (sh, sw), (ph, pw))
    else:
        dx = ops.avgpool2d_backward(dy, x.shape, kh, kw, (sh, sw), (ph, pw))
    np.testing.assert_allclose(dx, dx_ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kh,kw,H,W", [(2, 3, 5, 7), (3, 2, 7, 4), (2, 2, 5, 5), (3, 3, 9, 6)])
def test_non_overlapping_pools_with_leftover_rows_and_columns(kh, kw, H, W):
    # stride = pool size, no padding: the strided-write backward; the rows/columns no window
    # covers must get a zero gradient
    rng = np.random.default_rng(13)
    x = rng.permutation(2 * 2 * H * W).reshape(2, 2, H, W).astype(float)
    y, arg = ops.maxpool2d_forward(x, kh, kw)
    y_ref, arg_ref = naive_pool(x, kh, kw, kh, kw, 0, 0, "max")
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(arg, arg_ref)
    dy = rng.standard_normal(y.shape) + 3.0
    dx = ops.maxpool2d_backward(dy, arg, x.shape, kh, kw)
    np.testing.assert_array_equal(dx, naive_pool_backward(x.shape, dy, arg_ref, kh, kw, kh, kw, 0, 0, "max"))
    # dy in the other layout than arg (channel-major): the same routing
    dyc = np.ascontiguousarray(dy.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)
    np.testing.assert_array_equal(ops.maxpool2d_backward(dyc, arg, x.shape, kh, kw), dx)
    xc = np.ascontiguousarray(x.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)
    _, argc = ops.maxpool2d_forward(xc, kh, kw)
    np.testing.assert_array_equal(ops.maxpool2d_backward(dy, argc, x.shape, kh, kw), dx)


def test_maxpool_index_type_holds_every_window_entry():
    # indices 0..kH·kW−1: uint8 up to 256 entries, int32 beyond
    x = np.zeros((1, 1, 17, 16))
    x[0, 0, 16, 15] = 1.0                        # the last entry of the 17x16 window: index 271
    y, arg = ops.maxpool2d_forward(x, 17, 16)
    assert arg.dtype == np.int32 and arg[0, 0, 0, 0] == 16 * 16 + 15
    dx = ops.maxpool2d_backward(np.ones_like(y), arg, x.shape, 17, 16)
    assert dx[0, 0, 16, 15] == 1.0 and dx.sum() == 1.0
    x = np.zeros((1, 1, 16, 16))
    x[0, 0, 15, 15] = 1.0
    _, arg = ops.maxpool2d_forward(x, 16, 16)
    assert arg.dtype == np.uint8 and arg[0, 0, 0, 0] == 255


def test_maxpool_forward_on_many_samples_in_blocks():
    # more than 128 samples: pooled in blocks of 128 on the general path
    rng = np.random.default_rng(14)
    x = rng.standard_normal((300, 1, 5, 5))
    y, arg = ops.maxpool2d_forward(x, 3, 3, 2)
    y_ref, arg_ref = naive_pool(x, 3, 3, 2, 2, 0, 0, "max")
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(arg, arg_ref)


# ------------------------------------------------------------------ helpers and checks
def test_pair_and_padding_checks_with_their_messages():
    assert ops._pair(3, "kernel", "f") == (3, 3)
    assert ops._pair((2, 5), "kernel", "f") == (2, 5)
    assert ops._pair([0, 1], "pad", "f", minimum=0) == (0, 1)
    assert ops._pair(np.int64(4), "kernel", "f") == (4, 4) and type(ops._pair(np.int64(4), "k", "f")[0]) is int
    with pytest.raises(ValueError, match=full("f: expected kernel to be a positive int or a pair of them, "
                                              "got kernel=0")):
        ops._pair(0, "kernel", "f")
    with pytest.raises(ValueError, match=full("f: expected kernel to be a positive int or a pair of them, "
                                              "got kernel=(2, 0)")):
        ops._pair((2, 0), "kernel", "f")
    with pytest.raises(ValueError, match=full("g: expected pad to be a non-negative int or a pair of them, "
                                              "got pad=-1")):
        ops._pair(-1, "pad", "g", minimum=0)
    for bad in (True, 2.0, (1, 2, 3), "2"):
        with pytest.raises(ValueError, match="expected kernel to be a positive int"):
            ops._pair(bad, "kernel", "f")
    assert ops.resolve_padding("SAME", 3) == 1 and ops.resolve_padding("Valid", 3) == 0
    assert ops.resolve_padding("same", 7) == 3 and ops.resolve_padding(np.int32(2), 3) == 2
    assert ops.resolve_padding(0, 3) == 0
    with pytest.raises(ValueError, match=full(
            "padding='same' needs an odd kernel size (symmetric padding (k-1)/2), got kernel size 4; "
            "pass an int padding instead")):
        ops.resolve_padding("same", 4)
    for bad in ("full", -1, True, 1.0):
        with pytest.raises(ValueError, match=full(
                f"expected padding to be an int >= 0, 'same' or 'valid', got {bad!r}")):
            ops.resolve_padding(bad, 3)


def test_output_size_checks_with_their_messages():
    assert ops.conv_output_size(1, 1) == 1                   # the smallest that fits
    assert ops.conv_output_size(5, 5) == 1
    assert ops.conv_output_size(10, 3, 3) == 3
    assert ops.conv_output_size(4, 5, 1, 1) == 2             # padding lets a large kernel fit
    assert type(ops.conv_output_size(np.int64(9), 3)) is int
    for what, args in [("n", (0, 3)), ("kernel", (5, 0)), ("stride", (5, 3, 0)), ("n", (True, 1)),
                       ("kernel", (5, 2.0))]:
        bad = args[("n", "kernel", "stride").index(what)]
        with pytest.raises(ValueError, match=full(
                f"conv_output_size: expected {what} to be a positive int, got {bad!r}")):
            ops.conv_output_size(*args)
    with pytest.raises(ValueError, match=full("kernel 6 does not fit into input 3:\n⌊(n + 2p − k)/s⌋ + 1 = "
                                              "⌊(3 + 2·1 − 6)/2⌋ + 1 = 0 < 1")):
        ops.conv_output_size(3, 6, 2, 1)
    assert ops.conv_param_count(2, 5, (3, 2)) == (3 * 2 * 2 + 1) * 5
    assert ops.conv_param_count(2, 5, (3, 2), use_bias=False) == 3 * 2 * 2 * 5


def test_layout_helpers():
    x = np.zeros((3, 2, 4, 5))
    cm = np.zeros((2, 3, 4, 5)).transpose(1, 0, 2, 3)
    assert ops.channel_major(cm) and not ops.channel_major(x)
    assert not ops.channel_major(np.zeros((2, 1, 4, 5)).transpose(1, 0, 2, 3))   # N = 1
    assert not ops.channel_major(np.zeros((1, 3, 4, 5)).transpose(1, 0, 2, 3))   # C = 1
    assert not ops.channel_major(np.zeros((2, 3, 4)))
    assert not ops.channel_major(np.zeros((2, 3, 4, 5))[::-1])   # negative strides, same order
    for like, major in [(None, False), (x, False), (cm, True)]:
        e = ops.empty_nchw((3, 2, 4, 5), np.float32, like=like)
        assert e.shape == (3, 2, 4, 5) and e.dtype == np.float32 and ops.channel_major(e) is major
        z = ops.empty_nchw((3, 2, 4, 5), np.float64, like=like, fill=0)
        assert ops.channel_major(z) is major and not z.any()
        f = ops.empty_nchw((3, 2, 4, 5), np.float64, like=like, fill=-np.inf)
        assert ops.channel_major(f) is major and np.all(f == -np.inf)
        g = ops.empty_nchw((3, 2, 4, 5), np.int16, like=like, fill=7)
        assert g.dtype == np.int16 and np.all(g == 7)
    rng = np.random.default_rng(15)
    v = rng.standard_normal((2, 3, 4, 5))
    assert ops.pad_nchw(v, 0) is v and ops.pad_nchw(v, (0, 0)) is v
    for p in [(1, 0), (0, 2), (2, 1)]:
        np.testing.assert_array_equal(ops.pad_nchw(v, p, value=-7.0), pad(v, *p, value=-7.0))
        np.testing.assert_array_equal(ops.pad_nchw(v, p), pad(v, *p))


def test_kernel_argument_checks_with_their_messages():
    x = np.zeros((2, 3, 6, 6))
    with pytest.raises(ValueError, match=full("im2col: expected an (N, C, H, W) array, got shape (3, 6, 6)")):
        ops.im2col(x[0], 2, 2)
    with pytest.raises(ValueError, match=full("conv2d_forward: expected an (N, C, H, W) array, got shape list")):
        ops.conv2d_forward([[1.0]], np.zeros((1, 1, 1, 1)))
    with pytest.raises(ValueError, match=full(
            "im2col: out must be C-contiguous with shape (4, 50), got (4, 49)")):
        ops.im2col(x[:, :1], 2, 2, out=np.empty((4, 49)))
    with pytest.raises(ValueError, match=full(
            "im2col: out must be C-contiguous with shape (4, 50), got (4, 50)")):
        ops.im2col(x[:, :1], 2, 2, out=np.empty((50, 4)).T)
    with pytest.raises(ValueError, match=full(
            "col2im: expected cols of shape (12, 50) for x_shape (2, 3, 6, 6), got (12, 49)")):
        ops.col2im(np.zeros((12, 49)), x.shape, 2, 2)
    with pytest.raises(ValueError, match=full(
            "conv2d_forward: kernel expects 2 input channels, got x of shape (2, 3, 6, 6)")):
        ops.conv2d_forward(x, np.zeros((4, 2, 3, 3)))
    with pytest.raises(ValueError, match=full(
            "conv2d_forward_blocked: kernel expects 2 input channels, got x of shape (2, 3, 6, 6)")):
        ops.conv2d_forward_blocked(x, np.zeros((4, 2, 3, 3)))
    with pytest.raises(ValueError, match=full(
            "conv2d_backward_blocked: expected cols of shape (27, 32) (from conv2d_forward_blocked), "
            "got (27, 31)")):
        ops.conv2d_backward_blocked(np.zeros((2, 4, 4, 4)), np.zeros((27, 31)), np.zeros((4, 3, 3, 3)),
                                    x.shape)
    with pytest.raises(ValueError, match=full(
            "avgpool2d_backward: padding must be at most half the pool size, got pad=(1, 2) "
            "for pool size (3, 3)")):
        ops.avgpool2d_backward(np.zeros((2, 3, 3, 3)), x.shape, 3, 3, 1, (1, 2))
    with pytest.raises(ValueError, match=full(
            "maxpool2d_forward: padding must be at most half the pool size, got pad=(2, 0) "
            "for pool size (3, 2)")):
        ops.maxpool2d_forward(x, 3, 2, 1, (2, 0))
    # exactly half the pool size is allowed
    assert ops.avgpool2d_forward(x, 2, 4, 1, (1, 2)).shape == (2, 3, 7, 7)


def test_conv_backward_writes_into_given_gradient_arrays():
    rng = np.random.default_rng(16)
    x = rng.standard_normal((2, 2, 5, 5))
    Wt = rng.standard_normal((3, 2, 3, 2))
    y, cols = ops.conv2d_forward(x, Wt, None, (1, 2), (1, 0))
    dy = rng.standard_normal(y.shape)
    rdx, rdW, rdb = naive_conv_backward(x, Wt, dy, 1, 2, 1, 0)
    # a contiguous dW (written by the GEMM directly) and a strided one (copied into)
    strided = np.full((2, 3, 3, 2), 9.0).transpose(1, 0, 2, 3)     # (3, 2, 3, 2), not a view-able 2-D
    assert not np.shares_memory(strided.reshape(3, -1), strided)
    for dW in (np.full_like(Wt, 9.0), strided):
        db = np.full(3, 9.0)
        dx, rW, rb = ops.conv2d_backward(dy, cols, Wt, x.shape, (1, 2), (1, 0), dW=dW, db=db)
        assert rW is dW and rb is db
        np.testing.assert_allclose(dW, rdW, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(db, rdb, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(dx, rdx, rtol=1e-12, atol=1e-12)


def test_block_size_rules(monkeypatch):
    monkeypatch.setattr(ops, "BLOCKS", 2)
    monkeypatch.setattr(ops, "BLOCK_BYTES", 1000)
    assert ops._block_size(10, 10) == 5          # training: ⌈10 / 2⌉
    assert ops._block_size(11, 10) == 6
    assert ops._block_size(10, 300) == 3         # at most 1000 // 300 samples
    assert ops._block_size(10, 5000) == 1        # at least one sample
    assert ops._block_size(10, 0) == 5           # a zero size does not divide by zero
    assert ops._block_size(1, 10) == 1
    old = parallel.num_threads()
    try:
        parallel.set_num_threads(3)
        assert ops._block_size(10, 10, training=False) == 4      # ⌈10 / 3⌉, one per thread
        parallel.set_num_threads(1)
        assert ops._block_size(10, 10, training=False) == 10
        assert ops._block_size(10, 10, training=True) == 5
    finally:
        parallel.set_num_threads(old)


def test_blocked_cols_buffer_is_reused_only_when_it_fits():
    rng = np.random.default_rng(17)
    x = rng.standard_normal((4, 2, 6, 6))
    Wt = rng.standard_normal((3, 2, 3, 3))
    ref = ops.im2col(x, 3, 3)
    good = np.empty((18, 64))
    _, cols = ops.conv2d_forward_blocked(x, Wt, None, 1, 0, cols_out=good)
    assert cols is good
    np.testing.assert_array_equal(cols, ref)
    for bad in (np.empty((18, 64), np.float32), np.empty((64, 18)).T, np.empty((18, 63))):
        _, cols = ops.conv2d_forward_blocked(x, Wt, None, 1, 0, cols_out=bad)
        assert cols is not bad and cols.dtype == np.float64 and cols.flags.c_contiguous
        np.testing.assert_array_equal(cols, ref)


def test_blocked_backward_with_an_activation_and_one_block():
    # one sample: one block, no partial sums; ReLU's derivative fused in
    rng = np.random.default_rng(18)
    x = rng.standard_normal((1, 2, 5, 4))
    Wt = rng.standard_normal((3, 2, 2, 3))
    b = rng.standard_normal(3)
    relu = lambda z: np.maximum(z, 0, out=z)  # noqa: E731
    y, cols = ops.conv2d_forward_blocked(x, Wt, b, (2, 1), (1, 1), relu)
    z = naive_conv(x, Wt, b, 2, 1, 1, 1)
    np.testing.assert_allclose(y, np.maximum(z, 0), rtol=1e-12, atol=1e-12)
    dy = rng.standard_normal(y.shape)

    def relu_grad(yy, g, out):
        np.multiply(g, yy > 0, out=out)

    dx, dW, db = ops.conv2d_backward_blocked(dy, cols, Wt, x.shape, (2, 1), (1, 1), y=y,
                                             activation_grad=relu_grad)
    rdx, rdW, rdb = naive_conv_backward(x, Wt, dy * (z > 0), 2, 1, 1, 1)
    np.testing.assert_allclose(dx, rdx, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dW, rdW, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(db, rdb, rtol=1e-12, atol=1e-12)
    gW, gb = np.zeros_like(Wt), np.zeros(3)
    none, rW, rb = ops.conv2d_backward_blocked(dy, cols, Wt, x.shape, (2, 1), (1, 1), y=y,
                                               activation_grad=relu_grad, dW=gW, db=gb, need_dx=False)
    assert none is None and rW is gW and rb is gb
    np.testing.assert_allclose(gW, rdW, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gb, rdb, rtol=1e-12, atol=1e-12)


BAD_STRIDE = "{who}: expected stride to be a positive int or a pair of them, got stride=0"
BAD_PAD = "{who}: expected pad to be a non-negative int or a pair of them, got pad=-1"


@pytest.mark.parametrize(("who", "call"), [
    ("im2col", lambda s, p: ops.im2col(np.zeros((1, 1, 4, 4)), 2, 2, s, p)),
    ("col2im", lambda s, p: ops.col2im(np.zeros((4, 9)), (1, 1, 4, 4), 2, 2, s, p)),
    ("conv2d_forward", lambda s, p: ops.conv2d_forward(np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 2, 2)), None,
                                                       s, p)),
    ("conv2d_forward_blocked", lambda s, p: ops.conv2d_forward_blocked(
        np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 2, 2)), None, s, p)),
    ("conv2d_backward_blocked", lambda s, p: ops.conv2d_backward_blocked(
        np.zeros((1, 1, 3, 3)), np.zeros((4, 9)), np.zeros((1, 1, 2, 2)), (1, 1, 4, 4), s, p)),
    ("maxpool2d_forward", lambda s, p: ops.maxpool2d_forward(np.zeros((1, 1, 4, 4)), 2, 2, s, p)),
    ("maxpool2d_backward", lambda s, p: ops.maxpool2d_backward(np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 2, 2)),
                                                               (1, 1, 4, 4), 2, 2, s, p)),
    ("avgpool2d_forward", lambda s, p: ops.avgpool2d_forward(np.zeros((1, 1, 4, 4)), 2, 2, s, p)),
    ("avgpool2d_backward", lambda s, p: ops.avgpool2d_backward(np.zeros((1, 1, 2, 2)), (1, 1, 4, 4), 2, 2,
                                                               s, p)),
])
def test_every_kernel_names_itself_and_the_bad_argument(who, call):
    with pytest.raises(ValueError, match=full(BAD_STRIDE.format(who=who))):
        call(0, 0)
    with pytest.raises(ValueError, match=full(BAD_PAD.format(who=who))):
        call(1, -1)


def test_more_names_in_messages():
    with pytest.raises(ValueError, match=full("conv_param_count: expected kernel to be a positive int or a "
                                              "pair of them, got kernel=0")):
        ops.conv_param_count(1, 1, 0)
    with pytest.raises(ValueError, match=full("avgpool2d_forward: expected an (N, C, H, W) array, "
                                              "got shape (4, 4)")):
        ops.avgpool2d_forward(np.zeros((4, 4)), 2, 2)
    with pytest.raises(ValueError, match=full("maxpool2d_forward: expected an (N, C, H, W) array, "
                                              "got shape (4, 4)")):
        ops.maxpool2d_forward(np.zeros((4, 4)), 2, 2)
    with pytest.raises(ValueError, match=full("maxpool2d_backward: expected pool size to be a positive int "
                                              "or a pair of them, got pool size=(0, 2)")):
        ops.maxpool2d_backward(np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 2, 2)), (1, 1, 4, 4), 0, 2)


def test_defaults_are_stride_one_and_no_padding_for_conv_and_the_pool_size_for_pools():
    rng = np.random.default_rng(19)
    x = rng.standard_normal((2, 2, 5, 6))
    Wt = rng.standard_normal((3, 2, 2, 3))
    y, cols = ops.conv2d_forward(x, Wt)
    np.testing.assert_allclose(y, naive_conv(x, Wt, None, 1, 1, 0, 0), rtol=1e-12, atol=1e-12)
    assert ops.im2col(x, 2, 3).shape == cols.shape == (12, 2 * 4 * 4)
    dy = rng.standard_normal(y.shape)
    dx, dW, db = ops.conv2d_backward(dy, cols, Wt, x.shape)
    rdx, rdW, rdb = naive_conv_backward(x, Wt, dy, 1, 1, 0, 0)
    np.testing.assert_allclose(dx, rdx, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dW, rdW, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ops.col2im(cols, x.shape, 2, 3), ops.col2im(cols, x.shape, 2, 3, 1, 0))
    yb, colsb = ops.conv2d_forward_blocked(x, Wt)
    np.testing.assert_allclose(yb, y, rtol=1e-12, atol=1e-12)
    dxb, _, _ = ops.conv2d_backward_blocked(dy, colsb, Wt, x.shape)
    np.testing.assert_allclose(dxb, rdx, rtol=1e-12, atol=1e-12)
    for kind in ("max", "avg"):
        y_ref, arg_ref = naive_pool(x, 2, 3, 2, 3, 0, 0, kind)
        if kind == "max":
            yp, arg = ops.maxpool2d_forward(x, 2, 3)
            dxp = ops.maxpool2d_backward(np.ones_like(yp), arg, x.shape, 2, 3)
        else:
            yp = ops.avgpool2d_forward(x, 2, 3)
            dxp = ops.avgpool2d_backward(np.ones_like(yp), x.shape, 2, 3)
        np.testing.assert_allclose(yp, y_ref, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(dxp, naive_pool_backward(x.shape, np.ones_like(yp), arg_ref, 2, 3, 2, 3, 0, 0,
                                                            kind), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("p", [(1, 0), (0, 1), (1, 1)])
def test_maxpool_with_stride_equal_to_the_pool_size_and_padding(p):
    # stride = pool size but padded: not the padding-free strided-write path
    rng = np.random.default_rng(20)
    x = rng.permutation(2 * 2 * 5 * 6).reshape(2, 2, 5, 6).astype(float)
    y, arg = ops.maxpool2d_forward(x, 2, 2, 2, p)
    y_ref, arg_ref = naive_pool(x, 2, 2, 2, 2, *p, "max")
    np.testing.assert_array_equal(y, y_ref)
    dy = rng.standard_normal(y.shape)
    np.testing.assert_allclose(ops.maxpool2d_backward(dy, arg, x.shape, 2, 2, 2, p),
                               naive_pool_backward(x.shape, dy, arg_ref, 2, 2, 2, 2, *p, "max"),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("H,W", [(4, 7), (5, 6)])
def test_maxpool_backward_zeroes_only_uncovered_columns_or_rows(H, W):
    # exactly one of H, W is a multiple of the pool size: the uncovered rest must be 0, even in
    # memory that held something else before
    rng = np.random.default_rng(24)
    x = rng.permutation(3 * 2 * H * W).reshape(3, 2, H, W).astype(float)
    y, arg = ops.maxpool2d_forward(x, 2, 3)
    dy = rng.standard_normal(y.shape)
    ref = naive_pool_backward(x.shape, dy, naive_pool(x, 2, 3, 2, 3, 0, 0, "max")[1], 2, 3, 2, 3, 0, 0, "max")
    for _ in range(3):
        junk = np.full(x.shape, np.nan)
        del junk
        np.testing.assert_array_equal(ops.maxpool2d_backward(dy, arg, x.shape, 2, 3), ref)


def test_maxpool_index_type_at_257_entries():
    x = np.zeros((1, 1, 257, 1))
    x[0, 0, 256, 0] = 1.0                        # the last entry: index 256 does not fit a uint8
    y, arg = ops.maxpool2d_forward(x, 257, 1)
    assert arg.dtype == np.int32 and arg[0, 0, 0, 0] == 256
    dx = ops.maxpool2d_backward(np.ones_like(y), arg, x.shape, 257, 1)
    assert dx[0, 0, 256, 0] == 1.0 and dx.sum() == 1.0


@pytest.mark.parametrize("k,s,p", [(2, 2, 0), (3, 2, 1), (3, 3, 0)])
def test_pool_gradients_keep_float32_and_the_inputs_layout(k, s, p):
    rng = np.random.default_rng(25)
    x = rng.standard_normal((3, 2, 7, 7)).astype(np.float32)
    xc = np.ascontiguousarray(x.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)
    for inp in (x, xc):
        y, arg = ops.maxpool2d_forward(inp, k, k, s, p)
        dy = rng.standard_normal(y.shape).astype(np.float32)
        dx = ops.maxpool2d_backward(dy, arg, x.shape, k, k, s, p)
        assert dx.dtype == np.float32
        if (s, p) == (k, 0):   # the strided-write path gives dx the forward input's layout
            assert ops.channel_major(dx) == ops.channel_major(inp)
        ref = naive_pool_backward(x.shape, dy.astype(float), naive_pool(x.astype(float), k, k, s, s, p, p,
                                                                         "max")[1], k, k, s, s, p, p, "max")
        np.testing.assert_allclose(dx, ref, rtol=1e-6, atol=1e-6)
        ya = ops.avgpool2d_forward(inp, k, k, s, p)
        assert ya.dtype == np.float32
        assert ops.avgpool2d_backward(dy, x.shape, k, k, s, p).dtype == np.float32


def test_channel_major_needs_two_samples_two_channels_and_a_larger_channel_stride():
    assert not ops.channel_major(np.zeros((3, 4, 5))[None])           # N = 1 (stride 0)
    assert ops.channel_major(np.zeros((3, 2, 4, 5)).transpose(1, 0, 2, 3))   # N = 2
    assert not ops.channel_major(np.broadcast_to(np.zeros((4, 5)), (2, 3, 4, 5)))   # equal strides


def test_block_size_of_tiny_samples(monkeypatch):
    monkeypatch.setattr(ops, "BLOCKS", 2)
    monkeypatch.setattr(ops, "BLOCK_BYTES", 1000)
    assert ops._block_size(2000, 1) == 1000      # 1000 bytes // 1 byte per sample


def test_blocked_kernels_keep_float32():
    rng = np.random.default_rng(26)
    x = rng.standard_normal((4, 2, 5, 5)).astype(np.float32)
    Wt = rng.standard_normal((3, 2, 3, 3)).astype(np.float32)
    b = rng.standard_normal(3).astype(np.float32)
    y, cols = ops.conv2d_forward_blocked(x, Wt, b, 1, 1)
    dx, dW, db = ops.conv2d_backward_blocked(np.ones_like(y), cols, Wt, x.shape, 1, 1)
    assert y.dtype == cols.dtype == dx.dtype == dW.dtype == db.dtype == np.float32
    rdx, rdW, rdb = naive_conv_backward(x.astype(float), Wt.astype(float), np.ones(y.shape), 1, 1, 1, 1)
    np.testing.assert_allclose(dW, rdW, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(db, rdb, rtol=1e-5)


def test_pad_nchw_keeps_the_dtype_and_checks_its_argument():
    x = np.ones((1, 1, 2, 2), np.float32)
    assert ops.pad_nchw(x, 1).dtype == np.float32
    assert ops.pad_nchw(x, (0, 1), value=-np.inf).dtype == np.float32
    with pytest.raises(ValueError, match=full("pad_nchw: expected pad to be a non-negative int or a pair "
                                              "of them, got pad=-1")):
        ops.pad_nchw(x, -1)
    with pytest.raises(ValueError, match=full("conv2d_forward_blocked: expected an (N, C, H, W) array, "
                                              "got shape (2, 2)")):
        ops.conv2d_forward_blocked(np.zeros((2, 2)), np.zeros((1, 1, 1, 1)))
