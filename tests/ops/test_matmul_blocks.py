"""tanul.ops.matmul: a dense layer's products in two row blocks of the weights.

Oracles: the whole products ``x @ w``, ``x.T @ dz``, ``dz @ w.T`` in float64 (the blocks are the
same sums, grouped differently), the rules for when to split worked out by hand, and the
promise that the thread count never changes a result (1 thread against 2, bit for bit)."""

from __future__ import annotations

import numpy as np
import pytest

import tanul
from tanul.layers import Dense
from tanul.ops import matmul, parallel
from tanul.testing import check_layer


@pytest.fixture
def threads():
    saved = parallel._state["threads"]
    yield parallel.set_num_threads
    parallel.set_num_threads(saved or 1)
    parallel._state["threads"] = saved


def test_which_weights_are_split():
    assert matmul.row_blocks((784, 256)) == (0, 392, 784)      # 200,704 entries
    assert matmul.row_blocks((300, 256)) == (0, 150, 300)      # 76,800
    assert matmul.row_blocks((257, 255)) == (0, 257)           # 65,535 < 65,536
    assert matmul.row_blocks((256, 128)) == (0, 256)           # 32,768: not worth a hand-off
    assert matmul.row_blocks((127, 1000)) == (0, 127)          # too few rows
    assert matmul.row_blocks((128, 512)) == (0, 64, 128)       # 65,536 and 128 rows: the edge
    assert matmul.row_blocks((16, 8, 8)) == (0, 16)            # not a matrix


def test_when_a_product_is_computed_in_blocks():
    b = (0, 392, 784)
    assert matmul.worth_splitting(b, 128, (784, 256))          # 25.7 M multiply-adds
    assert matmul.worth_splitting(b, 20, (784, 256))           # 4.01 M: the edge
    assert not matmul.worth_splitting(b, 19, (784, 256))       # 3.81 M
    assert not matmul.worth_splitting((0, 784), 1000, (784, 256))   # one block


@pytest.mark.parametrize("n_threads", [1, 2])
def test_block_products_equal_the_whole_products(threads, n_threads):
    threads(n_threads)
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((40, 300)), rng.standard_normal((300, 70))
    dz = rng.standard_normal((40, 70))
    bounds = (0, 150, 300)
    np.testing.assert_allclose(matmul.matmul_blocks(x, w, bounds), x @ w, rtol=1e-12, atol=1e-12)
    dw = np.full_like(w, np.nan)
    dx = matmul.matmul_blocks_backward(x, dz, w, dw, bounds, input_grad=True)
    np.testing.assert_allclose(dw, x.T @ dz, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dx, dz @ w.T, rtol=1e-12, atol=1e-12)
    dw2 = np.zeros_like(w)
    assert matmul.matmul_blocks_backward(x, dz, w, dw2, bounds, input_grad=False) is None
    np.testing.assert_array_equal(dw2, dw)


def test_the_thread_count_does_not_change_the_numbers(threads):
    # tanul's thread count, that is: OpenBLAS's own thread count may change the last bits of a
    # float32 product (it does here), so the BLAS is held on one thread for both runs
    threadpoolctl = pytest.importorskip("threadpoolctl")
    rng = np.random.default_rng(1)
    x = rng.random((128, 784), dtype=np.float32)
    w = rng.standard_normal((784, 256)).astype(np.float32)
    dz = rng.standard_normal((128, 256)).astype(np.float32)
    out = {}
    for n in (1, 2):
        threads(n)
        dw = np.empty_like(w)
        with threadpoolctl.threadpool_limits(1, user_api="blas"):
            dx = matmul.matmul_blocks_backward(x, dz, w, dw, (0, 392, 784), True)
            out[n] = (matmul.matmul_blocks(x, w, (0, 392, 784)), dw, dx)
    for a, b in zip(out[1], out[2]):
        np.testing.assert_array_equal(a, b)
    # and with two threads the two blocks really run on two threads, block 0 on the caller
    import threading
    seen = {}

    def spy(first, stop):
        for j in range(first, stop):
            seen[j] = threading.get_ident()

    matmul.parallel_gemms(spy, 2)
    assert seen[0] == threading.get_ident() and seen[1] != seen[0]


def test_dense_gradients_in_blocks_against_central_differences(monkeypatch):
    # the split path on a layer small enough for a float64 central-difference check
    monkeypatch.setattr(matmul, "SPLIT_MIN_ROWS", 4)
    monkeypatch.setattr(matmul, "SPLIT_MIN_WEIGHTS", 1)
    monkeypatch.setattr(matmul, "SPLIT_MIN_WORK", 1)
    layer = Dense(5, activation="tanh")
    errors = check_layer(layer, (7,), batch_size=4, training=True)
    assert layer.row_bounds == (0, 3, 7)
    assert max(errors.values()) < 1e-6


def test_dense_in_training_uses_the_blocks_and_matches_the_formulas(monkeypatch):
    layer = Dense(256, activation="relu")
    layer.build((300,), np.random.default_rng(0), np.float64)
    assert layer.row_bounds == (0, 150, 300) and layer.param_blocks() == {"W": (0, 150, 300)}
    assert layer.runs_threads(True) and not layer.runs_threads(False)
    calls = []
    real = matmul.matmul_blocks
    monkeypatch.setattr(tanul.layers.dense, "matmul_blocks", lambda *a: calls.append(1) or real(*a))
    rng = np.random.default_rng(1)
    x, dy = rng.standard_normal((64, 300)), rng.standard_normal((64, 256))
    y = layer.forward(x, training=True)
    assert calls == [1]
    W, b = layer.params["W"], layer.params["b"]
    z = x @ W + b
    np.testing.assert_allclose(y, np.maximum(z, 0), rtol=1e-12, atol=1e-12)
    dx = layer.backward(dy)
    dz = dy * (z > 0)
    np.testing.assert_allclose(layer.grads["W"], x.T @ dz, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.grads["b"], dz.sum(0), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dx, dz @ W.T, rtol=1e-12, atol=1e-12)
    layer.forward(x, training=False)                           # inference: the whole product
    assert calls == [1]
    small = Dense(10)
    small.build((128,), np.random.default_rng(0))
    assert small.param_blocks() == {} and not small.runs_threads(True)


def test_the_edge_of_the_work_rule_and_the_documented_grouping(monkeypatch):
    monkeypatch.setattr(matmul, "SPLIT_MIN_WORK", 20 * 784 * 256)
    assert matmul.worth_splitting((0, 392, 784), 20, (784, 256))         # exactly the minimum
    assert not matmul.worth_splitting((0, 392, 784), 19, (784, 256))
    # the blocks' sum is grouped as documented, x0 W0 + x1 W1, in float32 (not one whole product;
    # the BLAS on one thread for both, as OpenBLAS's own thread count may change the last bits)
    threadpoolctl = pytest.importorskip("threadpoolctl")
    rng = np.random.default_rng(5)
    x = rng.standard_normal((64, 784)).astype(np.float32)
    w = rng.standard_normal((784, 256)).astype(np.float32)
    with threadpoolctl.threadpool_limits(1, user_api="blas"):
        expected = x[:, :392] @ w[:392]
        expected += x[:, 392:] @ w[392:]
        got = matmul.matmul_blocks(x, w, (0, 392, 784))
        assert not np.array_equal(got, x @ w)      # the grouping matters in float32 here
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, expected)
    dz = rng.standard_normal((64, 256)).astype(np.float32)
    dx = matmul.matmul_blocks_backward(x, dz, w, np.empty_like(w), (0, 392, 784), True)
    assert dx.dtype == np.float32 and dx.shape == (64, 784)


# ---------------------------------------------------------------------------- narrow products
def test_which_products_are_computed_in_pieces():
    assert matmul._pieces(6, 25, 50176) == 4096            # LeNet-5's first layer: 614,400 a piece
    assert matmul._pieces(16, 150, 6400) == 6400           # 9.8 M a piece: one product
    assert matmul._pieces(244, 1, 8192) == 4096            # 999,424 <= 1,000,000: the edge
    assert matmul._pieces(245, 1, 8192) == 8192            # 1,003,520
    assert matmul._pieces(6, 25, 4096) == 4096             # not longer than one piece
    assert matmul._pieces(6, 25, 4097) == 4096             # one column more: two pieces


@pytest.mark.parametrize("shape", [(6, 25, 4097 * 2 + 5), (6, 25, 100), (16, 150, 5000)])
def test_narrow_matmul_is_the_product(shape):
    m, k, n = shape
    rng = np.random.default_rng(0)
    a = rng.standard_normal((m, k)).astype(np.float32)
    b = rng.standard_normal((k, n)).astype(np.float32)
    big = np.zeros((m, n + 7), np.float32)
    out = big[:, 3:3 + n]                                  # a column slice, as the conv bands use
    assert matmul.narrow_matmul(a, b, out) is out
    ref = a.astype(np.float64) @ b.astype(np.float64)
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-4)
    assert not big[:, :3].any() and not big[:, 3 + n:].any()   # nothing written outside


def test_weight_grad_in_pieces_is_the_ordered_sum_of_the_pieces():
    rng = np.random.default_rng(1)
    n = 3 * 4096 + 100
    dz = rng.standard_normal((6, n)).astype(np.float32)
    cols = rng.standard_normal((25, n)).astype(np.float32)
    out = np.empty((6, 25), np.float32)
    matmul.weight_grad(dz, cols, out)
    want = dz[:, :4096] @ cols[:, :4096].T                  # the rule written out, in float32
    for s in (4096, 8192, 12288):
        want += dz[:, s:s + 4096] @ cols[:, s:s + 4096].T
    np.testing.assert_array_equal(out, want)
    np.testing.assert_allclose(out, dz.astype(np.float64) @ cols.astype(np.float64).T,
                               rtol=1e-4, atol=1e-3)


def test_weight_grad_of_a_larger_layer_is_one_transposed_product():
    rng = np.random.default_rng(2)
    dz = rng.standard_normal((16, 6400)).astype(np.float32)
    cols = rng.standard_normal((150, 6400)).astype(np.float32)
    out = np.full((16, 150), np.nan, np.float32)
    matmul.weight_grad(dz, cols, out)
    np.testing.assert_array_equal(out, (cols @ dz.T).T)
    np.testing.assert_allclose(out, dz.astype(np.float64) @ cols.astype(np.float64).T,
                               rtol=1e-4, atol=1e-3)
