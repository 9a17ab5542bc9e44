"""tanul.ops.conv against naive Python-loop references (small sizes)."""

import numpy as np
import pytest
from conv_reference import naive_conv, naive_conv_backward
from conv_reference import pad as naive_pad

from tanul.ops import conv as ops


# ------------------------------------------------------------------ naive references
def naive_maxpool(x, k, s, p):
    N, C, H, W = x.shape
    xp = naive_pad(x, p, p, -np.inf)
    OH, OW = (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1
    y = np.zeros((N, C, OH, OW))
    for n in range(N):
        for c in range(C):
            for i in range(OH):
                for j in range(OW):
                    y[n, c, i, j] = xp[n, c, i * s:i * s + k, j * s:j * s + k].max()
    return y


def naive_maxpool_backward(x, dy, k, s, p):
    N, C, H, W = x.shape
    xp = naive_pad(x, p, p, -np.inf)
    dxp = np.zeros_like(xp)
    OH, OW = dy.shape[2:]
    for n in range(N):
        for c in range(C):
            for i in range(OH):
                for j in range(OW):
                    w = xp[n, c, i * s:i * s + k, j * s:j * s + k]
                    u, v = np.unravel_index(np.argmax(w), w.shape)  # first max
                    dxp[n, c, i * s + u, j * s + v] += dy[n, c, i, j]
    return dxp[:, :, p:p + H, p:p + W]


def naive_avgpool(x, k, s, p):
    N, C, H, W = x.shape
    xp = naive_pad(x, p, p)
    OH, OW = (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1
    y = np.zeros((N, C, OH, OW))
    for i in range(OH):
        for j in range(OW):
            y[:, :, i, j] = xp[:, :, i * s:i * s + k, j * s:j * s + k].mean(axis=(2, 3))
    return y


CONV_CASES = [  # (N, C, H, W, F, k, s, p)
    (2, 3, 7, 7, 4, 3, 1, 0),
    (2, 2, 7, 6, 3, 3, 2, 1),
    (1, 3, 8, 8, 2, 5, 1, 2),
    (3, 1, 9, 9, 2, 4, 2, 0),
    (2, 2, 5, 5, 3, 1, 1, 0),
    (1, 2, 6, 7, 2, 2, 3, 2),
]


@pytest.mark.parametrize("N,C,H,W,F,k,s,p", CONV_CASES)
def test_im2col_matches_naive_patches(N, C, H, W, F, k, s, p):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, C, H, W))
    cols = ops.im2col(x, k, k, s, p)
    xp = naive_pad(x, p, p)
    OH, OW = ops.conv_output_size(H, k, s, p), ops.conv_output_size(W, k, s, p)
    assert cols.shape == (C * k * k, N * OH * OW)
    for n in range(N):
        for i in range(OH):
            for j in range(OW):
                patch = xp[n, :, i * s:i * s + k, j * s:j * s + k].ravel()
                np.testing.assert_array_equal(cols[:, (n * OH + i) * OW + j], patch)


@pytest.mark.parametrize("N,C,H,W,F,k,s,p", CONV_CASES)
def test_col2im_is_adjoint_of_im2col(N, C, H, W, F, k, s, p):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((N, C, H, W))
    cols = ops.im2col(x, k, k, s, p)
    c = rng.standard_normal(cols.shape)
    lhs = np.sum(cols * c)
    rhs = np.sum(x * ops.col2im(c, x.shape, k, k, s, p))
    assert lhs == pytest.approx(rhs, rel=1e-12, abs=1e-12)


def test_im2col_out_buffer_and_noncontiguous_input():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 6, 6)).transpose(1, 0, 2, 3)  # CNHW memory, as conv output
    assert not x.flags.c_contiguous
    ref = ops.im2col(np.ascontiguousarray(x), 3, 3, 1, 1)
    out = np.empty_like(ref)
    assert ops.im2col(x, 3, 3, 1, 1, out=out) is out
    np.testing.assert_array_equal(out, ref)


@pytest.mark.parametrize("N,C,H,W,F,k,s,p", CONV_CASES)
def test_conv_forward_backward_match_naive(N, C, H, W, F, k, s, p):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((N, C, H, W))
    Wt = rng.standard_normal((F, C, k, k))
    b = rng.standard_normal(F)
    y, cols = ops.conv2d_forward(x, Wt, b, s, p)
    np.testing.assert_allclose(y, naive_conv(x, Wt, b, s, s, p, p), rtol=1e-12, atol=1e-12)
    dy = rng.standard_normal(y.shape)
    dx, dW, db = ops.conv2d_backward(dy, cols, Wt, x.shape, s, p)
    rdx, rdW, rdb = naive_conv_backward(x, Wt, dy, s, s, p, p)
    np.testing.assert_allclose(dx, rdx, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dW, rdW, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(db, rdb, rtol=1e-12, atol=1e-12)
    # in-place variant writes into the given arrays
    gW, gb = np.full_like(Wt, 7.0), np.full_like(b, 7.0)
    _, rW, rb = ops.conv2d_backward(dy, cols, Wt, x.shape, s, p, dW=gW, db=gb, need_dx=False)
    assert rW is gW and rb is gb
    np.testing.assert_allclose(gW, rdW, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gb, rdb, rtol=1e-12, atol=1e-12)


def test_conv_float32_stays_float32():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 3, 8, 8)).astype(np.float32)
    W = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    b = np.zeros(4, np.float32)
    y, cols = ops.conv2d_forward(x, W, b, 1, 1)
    assert y.dtype == cols.dtype == np.float32
    dx, dW, db = ops.conv2d_backward(np.ones_like(y), cols, W, x.shape, 1, 1)
    assert dx.dtype == dW.dtype == db.dtype == np.float32


POOL_CASES = [  # (H, W, k, s, p)
    (4, 4, 2, 2, 0), (7, 7, 2, 2, 0), (7, 7, 3, 2, 0), (6, 5, 3, 1, 1), (5, 5, 2, 2, 1),
    (8, 8, 3, 3, 1),
]


@pytest.mark.parametrize("H,W,k,s,p", POOL_CASES)
def test_maxpool_matches_naive(H, W, k, s, p):
    rng = np.random.default_rng(5)
    x = rng.permutation(2 * 3 * H * W).reshape(2, 3, H, W).astype(float)  # distinct values
    y, arg = ops.maxpool2d_forward(x, k, k, s, p)
    np.testing.assert_array_equal(y, naive_maxpool(x, k, s, p))
    dy = rng.standard_normal(y.shape)
    dx = ops.maxpool2d_backward(dy, arg, x.shape, k, k, s, p)
    np.testing.assert_allclose(dx, naive_maxpool_backward(x, dy, k, s, p), rtol=1e-12)


@pytest.mark.parametrize("H,W,k,s,p", POOL_CASES)
def test_avgpool_matches_naive_and_is_adjoint(H, W, k, s, p):
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 3, H, W))
    y = ops.avgpool2d_forward(x, k, k, s, p)
    np.testing.assert_allclose(y, naive_avgpool(x, k, s, p), rtol=1e-12, atol=1e-12)
    dy = rng.standard_normal(y.shape)
    dx = ops.avgpool2d_backward(dy, x.shape, k, k, s, p)
    # avg pool is linear, so its backward is its adjoint
    assert np.sum(y * dy) == pytest.approx(np.sum(x * dx), rel=1e-12)


def test_maxpool_ties_route_to_first_maximum():
    x = np.array([[[[1.0, 5.0, 5.0, 0.0],
                    [5.0, 5.0, 0.0, 5.0],
                    [2.0, 2.0, 3.0, 3.0],
                    [2.0, 2.0, 3.0, 3.0]]]])
    y, arg = ops.maxpool2d_forward(x, 2, 2, 2)
    np.testing.assert_array_equal(y[0, 0], [[5, 5], [2, 3]])
    np.testing.assert_array_equal(arg[0, 0], [[1, 0], [0, 0]])
    dx = ops.maxpool2d_backward(np.ones_like(y), arg, x.shape, 2, 2, 2)
    np.testing.assert_array_equal(dx[0, 0], [[0, 1, 1, 0],
                                             [0, 0, 0, 0],
                                             [1, 0, 1, 0],
                                             [0, 0, 0, 0]])


def test_maxpool_never_picks_padding():
    x = -1.0 - np.random.default_rng(7).random((2, 2, 5, 5))  # all negative
    y, arg = ops.maxpool2d_forward(x, 3, 3, 2, 1)
    assert np.all(y < 0) and np.all(np.isfinite(y))
    np.testing.assert_array_equal(y, naive_maxpool(x, 3, 2, 1))
    dx = ops.maxpool2d_backward(np.ones_like(y), arg, x.shape, 3, 3, 2, 1)
    assert dx.sum() == y.size  # every gradient landed on a real pixel


def test_sizes_and_errors():
    assert ops.conv_output_size(32, 5) == 28
    assert ops.conv_output_size(28, 5, 1, 2) == 28
    assert ops.conv_output_size(28, 4, 2) == 13
    assert ops.conv_output_size(28, 2, 2) == 14
    assert ops.conv_output_size(7, 2, 2) == 3  # floor: the last column is dropped
    assert ops.conv_output_size(28, 5, 1, "same") == 28
    assert ops.conv_output_size(28, 3, 2, "same") == 14
    assert ops.conv_output_size(28, 5, 1, "valid") == 24
    with pytest.raises(ValueError, match=r"⌊\(3 \+ 2·0 − 5\)/1⌋ \+ 1 = -1 < 1"):
        ops.conv_output_size(3, 5)
    with pytest.raises(ValueError, match="odd kernel"):
        ops.resolve_padding("same", 4)
    with pytest.raises(ValueError, match="padding"):
        ops.resolve_padding("full", 3)
    with pytest.raises(ValueError, match="padding"):
        ops.resolve_padding(-1, 3)
    assert ops.conv_param_count(3, 12, 5) == 912
    assert ops.conv_param_count(12, 48, 5) == 14448
    assert ops.conv_param_count(12, 48, 4) == 9264
    assert ops.conv_param_count(12, 48, 4, use_bias=False) == 9216
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        ops.im2col(np.zeros((3, 4, 4)), 2, 2)
    with pytest.raises(ValueError, match="at most half"):
        ops.maxpool2d_forward(np.zeros((1, 1, 4, 4)), 2, 2, 2, 2)


# ------------------------------------------------------------------ blocked, fused kernels
@pytest.mark.parametrize("N,C,H,W,F,k,s,p", CONV_CASES)
@pytest.mark.parametrize("blocks,block_bytes", [(2, 1), (3, 600), (2, 1 << 20)])
def test_blocked_conv_matches_naive_with_tanh(monkeypatch, N, C, H, W, F, k, s, p, blocks,
                                              block_bytes):
    monkeypatch.setattr(ops, "BLOCKS", blocks)
    monkeypatch.setattr(ops, "BLOCK_BYTES", block_bytes)
    rng = np.random.default_rng(5)
    N = N * 5  # several blocks, split over the threads
    x = rng.standard_normal((N, C, H, W))
    Wt = rng.standard_normal((F, C, k, k))
    b = rng.standard_normal(F)
    y, cols = ops.conv2d_forward_blocked(x, Wt, b, s, p, lambda z: np.tanh(z, out=z))
    ref_z = naive_conv(x, Wt, b, s, s, p, p)
    np.testing.assert_allclose(y, np.tanh(ref_z), rtol=1e-12, atol=1e-12)
    y2, none = ops.conv2d_forward_blocked(x, Wt, b, s, p, keep_cols=False)
    assert none is None
    np.testing.assert_allclose(y2, ref_z, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(cols, ops.im2col(x, k, k, s, p))
    dy = rng.standard_normal(y.shape)

    def tanh_grad(yy, g, out):
        np.copyto(out, g * (1 - yy * yy))

    dx, dW, db = ops.conv2d_backward_blocked(dy, cols, Wt, x.shape, s, p, y=y,
                                             activation_grad=tanh_grad)
    rdx, rdW, rdb = naive_conv_backward(x, Wt, dy * (1 - np.tanh(ref_z) ** 2), s, s, p, p)
    np.testing.assert_allclose(dx, rdx, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(dW, rdW, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(db, rdb, rtol=1e-10, atol=1e-10)
    gW, gb = np.full_like(Wt, 7.0), np.full_like(b, 7.0)
    none, rW, rb = ops.conv2d_backward_blocked(dy, cols, Wt, x.shape, s, p, y=y,
                                               activation_grad=tanh_grad, dW=gW, db=gb,
                                               need_dx=False)
    assert none is None and rW is gW and rb is gb
    np.testing.assert_array_equal(gW, dW)


def test_blocked_results_do_not_depend_on_the_thread_count(monkeypatch):
    from tanul.ops import parallel
    monkeypatch.setattr(ops, "BLOCKS", 4)
    rng = np.random.default_rng(6)
    x = rng.standard_normal((40, 3, 12, 12)).astype(np.float32)
    Wt = rng.standard_normal((5, 3, 3, 3)).astype(np.float32)
    b = rng.standard_normal(5).astype(np.float32)
    runs = []
    old = parallel.num_threads()
    try:
        for t in (1, 2, 3):
            parallel.set_num_threads(t)
            y, cols = ops.conv2d_forward_blocked(x, Wt, b, 1, 1)
            assert y.dtype == np.float32 and cols.dtype == np.float32
            runs.append((y.copy(), *ops.conv2d_backward_blocked(np.ones_like(y), cols, Wt, x.shape,
                                                                 1, 1)))
    finally:
        parallel.set_num_threads(old)
    for other in runs[1:]:
        for a, c in zip(runs[0], other):
            np.testing.assert_array_equal(a, c)


def test_blocked_reuses_a_matching_cols_buffer():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((4, 2, 6, 6))
    Wt = rng.standard_normal((3, 2, 3, 3))
    buf = np.empty((18, 4 * 16))
    _, cols = ops.conv2d_forward_blocked(x, Wt, None, 1, 0, cols_out=buf)
    assert cols is buf
    _, cols = ops.conv2d_forward_blocked(x, Wt, None, 1, 0, cols_out=np.empty((18, 8)))
    assert cols is not buf and cols.shape == (18, 64)


@pytest.mark.parametrize("k,s,p", [(2, 2, 0), (3, 2, 1), (3, 1, 0)])
def test_pooling_keeps_the_channel_major_layout_and_the_values(k, s, p):
    rng = np.random.default_rng(8)
    x = rng.standard_normal((5, 3, 8, 8))
    xc = np.ascontiguousarray(x.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)  # same values
    assert ops.channel_major(xc) and not ops.channel_major(x)
    y, arg = ops.maxpool2d_forward(x, k, k, s, p)
    yc, argc = ops.maxpool2d_forward(xc, k, k, s, p)
    assert ops.channel_major(yc) and ops.channel_major(argc)
    np.testing.assert_array_equal(yc, y)
    np.testing.assert_array_equal(argc, arg)
    dy = rng.standard_normal(y.shape)
    ref = ops.maxpool2d_backward(dy, arg, x.shape, k, k, s, p)
    np.testing.assert_array_equal(ops.maxpool2d_backward(dy, argc, x.shape, k, k, s, p), ref)
    np.testing.assert_allclose(naive_maxpool_backward(x, dy, k, s, p), ref, rtol=1e-12, atol=1e-12)
    assert ops.channel_major(ops.pad_nchw(xc, 1)) and not ops.channel_major(ops.pad_nchw(x, 1))
    np.testing.assert_array_equal(ops.pad_nchw(xc, 1), naive_pad(x, 1, 1))
    # batch innermost (the stride-1 conv kernels' output): kept as well, same values
    xn = np.ascontiguousarray(x.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)
    yn, argn = ops.maxpool2d_forward(xn, k, k, s, p)
    assert ops.chwn(yn) is not None and ops.chwn(argn) is not None
    np.testing.assert_array_equal(yn, y)
    np.testing.assert_array_equal(argn, arg)
    dxn = ops.maxpool2d_backward(dy, argn, x.shape, k, k, s, p)
    np.testing.assert_array_equal(dxn, ref)
    assert ops.same_layout(dxn, xn) or (s, p) != (k, 0)  # non-overlapping: dx in x's layout


# ------------------------------------------------------------------ batch-innermost (CHWN) kernels
@pytest.mark.parametrize("N,C,H,W,F,kh,kw,p", [(5, 3, 7, 7, 4, 3, 3, 0), (3, 2, 9, 8, 3, 3, 2, 1),
                                               (4, 6, 14, 14, 5, 5, 5, 0), (1, 2, 5, 6, 2, 5, 1, 2),
                                               (6, 3, 4, 4, 2, 4, 4, 0)])
@pytest.mark.parametrize("layout", ["C", "channel-major", "CHWN"])
@pytest.mark.parametrize("threads,blocks,block_bytes", [(1, 2, 4 << 20), (2, 2, 4 << 20),
                                                        (2, 3, 64)])
def test_chwn_kernels_match_naive(monkeypatch, N, C, H, W, F, kh, kw, p, layout, threads, blocks,
                                  block_bytes):
    from tanul.ops import parallel
    monkeypatch.setattr(ops, "BLOCKS", blocks)
    monkeypatch.setattr(ops, "BLOCK_BYTES", block_bytes)  # 64: one output row per inference band
    old = parallel.num_threads()
    rng = np.random.default_rng(12)
    base = rng.standard_normal((N, C, H, W))
    x = {"C": base,
         "channel-major": np.ascontiguousarray(base.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3),
         "CHWN": np.ascontiguousarray(base.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)}[layout]
    Wt = rng.standard_normal((F, C, kh, kw))
    b = rng.standard_normal(F)
    try:
        parallel.set_num_threads(threads)
        y, cols = ops.conv2d_forward_chwn(x, Wt, b, p, lambda z: np.tanh(z, out=z))
        ref_z = naive_conv(base, Wt, b, 1, 1, p, p)
        np.testing.assert_allclose(y, np.tanh(ref_z), rtol=1e-12, atol=1e-12)
        assert ops.chwn(y) is not None  # the output is laid out batch-innermost
        y2, none = ops.conv2d_forward_chwn(x, Wt, b, p, keep_cols=False)
        assert none is None
        np.testing.assert_allclose(y2, ref_z, rtol=1e-12, atol=1e-12)
        dy = rng.standard_normal(y.shape)

        def tanh_grad(yy, g, out):
            np.copyto(out, g * (1 - yy * yy))

        dz = dy * (1 - np.tanh(ref_z) ** 2)
        rdx, rdW, rdb = naive_conv_backward(base, Wt, dz, 1, 1, p, p)
        dx, dW, db = ops.conv2d_backward_chwn(dy, cols, Wt, x.shape, p, y=y,
                                              activation_grad=tanh_grad, dx_like=x)
        np.testing.assert_allclose(dx, rdx, rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(dW, rdW, rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(db, rdb, rtol=1e-10, atol=1e-10)
        if N > 1 and C > 1:
            assert ops.same_layout(dx, x)  # dx comes back in the layout of the layer's input
        # dz given (what a max-pool's fused backward passes), in any layout: the same gradients
        gdx, gdW, gdb = ops.conv2d_backward_chwn(None, cols, Wt, x.shape, p, dz=dz, dx_like=x)
        np.testing.assert_allclose(gdx, rdx, rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(gdW, rdW, rtol=1e-10, atol=1e-10)
        none, gW2, _ = ops.conv2d_backward_chwn(None, cols, Wt, x.shape, p, dz=dz, need_dx=False)
        assert none is None
        np.testing.assert_array_equal(gW2, gdW)
    finally:
        parallel.set_num_threads(old)


def test_chwn_results_do_not_depend_on_the_thread_count():
    # big enough that the input copy and the sum of the bands are split over rows too
    from tanul.ops import parallel
    rng = np.random.default_rng(13)
    x = rng.standard_normal((40, 3, 12, 12)).astype(np.float32)
    Wt = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    b = rng.standard_normal(4).astype(np.float32)
    dy = rng.standard_normal((40, 4, 12, 12)).astype(np.float32)
    old = parallel.num_threads()
    runs = []
    try:
        for t in (1, 2, 3):
            parallel.set_num_threads(t)
            y, cols = ops.conv2d_forward_chwn(x, Wt, b, 1)
            assert y.dtype == np.float32 and cols.dtype == np.float32
            runs.append((y.copy(), *ops.conv2d_backward_chwn(dy, cols, Wt, x.shape, 1, dx_like=x)))
    finally:
        parallel.set_num_threads(old)
    for other in runs[1:]:
        for a, c in zip(runs[0], other):
            np.testing.assert_array_equal(a, c)
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(runs[1][0], naive_conv(x64, Wt.astype(np.float64), b, 1, 1, 1, 1),
                               rtol=1e-5, atol=1e-4)
    rdx, rdW, rdb = naive_conv_backward(x64, Wt.astype(np.float64), dy.astype(np.float64), 1, 1, 1, 1)
    np.testing.assert_allclose(runs[1][1], rdx, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(runs[1][2], rdW, rtol=1e-5, atol=1e-3)


def test_chwn_errors_are_clear():
    x = np.zeros((2, 3, 6, 6))
    Wt = np.zeros((4, 3, 3, 3))
    _, cols = ops.conv2d_forward_chwn(x, Wt, None, 0)
    with pytest.raises(ValueError, match="expected cols of shape"):
        ops.conv2d_backward_chwn(np.zeros((2, 4, 4, 4)), cols[:, :-1], Wt, x.shape, 0)
    with pytest.raises(ValueError, match="expected dz of shape"):
        ops.conv2d_backward_chwn(None, cols, Wt, x.shape, 0, dz=np.zeros((2, 4, 3, 4)))
    with pytest.raises(ValueError, match=r"kernel expects 3 input channels"):
        ops.conv2d_forward_chwn(np.zeros((2, 2, 6, 6)), Wt, None, 0)
