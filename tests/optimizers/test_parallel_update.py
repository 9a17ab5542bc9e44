"""Element-wise optimiser updates split over threads: the same numbers as one whole-buffer update."""

from __future__ import annotations

import numpy as np
import pytest

import tanul
from tanul.ops import parallel
from tanul.optimizers import SGD, Adam, AdamW


def split_runner(calls):
    """A runner that splits into uneven chunks and runs them last-first (any order must do)."""
    def run(fn, n, min_chunk):
        calls.append((n, min_chunk))
        bounds = [0, 7, n // 3, n // 3 + 1, n]
        for a, b in reversed(list(zip(bounds[:-1], bounds[1:]))):
            fn(a, b)
    return run


def steps(opt, runner, dtype, n=1000, k=5):
    rng = np.random.default_rng(0)
    p = rng.standard_normal(n).astype(dtype)
    g = np.empty_like(p)
    opt.parallel_for, opt.parallel_min_chunk = runner, 8
    opt.build(p, g)
    for _ in range(k):
        g[...] = rng.standard_normal(n) * 3
        opt.step()
    return p, {s: opt._state[s].copy() for s in opt.slots}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("make", [lambda: Adam(lr=0.01), lambda: Adam(lr=0.01, beta2=0.9, amsgrad=True),
                                  lambda: Adam(lr=0.01, weight_decay=0.1),
                                  lambda: AdamW(lr=0.01, weight_decay=0.1)],
                         ids=["adam", "amsgrad", "adam_l2", "adamw"])
def test_adam_split_over_chunks_equals_the_whole_buffer_update(make, dtype):
    calls = []
    p1, s1 = steps(make(), None, dtype)
    p2, s2 = steps(make(), split_runner(calls), dtype)
    assert calls == [(1000, 8)] * 5               # the split path really ran, every step
    np.testing.assert_array_equal(p2, p1)
    for slot in s1:
        np.testing.assert_array_equal(s2[slot], s1[slot])
    assert np.abs(p1 - steps(make(), None, dtype, k=0)[0]).max() > 1e-3   # and the steps moved p


def test_small_buffers_and_non_elementwise_optimisers_stay_on_one_call():
    calls = []
    opt = Adam(lr=0.01)
    p, g = np.ones(100, np.float32), np.ones(100, np.float32)
    opt.parallel_for = split_runner(calls)            # default min chunk 65,536: 100 is too small
    opt.build(p, g)
    opt.step()
    sgd = SGD(lr=0.1)                                 # no _update_part: never split
    sgd.parallel_for, sgd.parallel_min_chunk = split_runner(calls), 1
    sgd.build(np.ones(100), np.ones(100))
    sgd.step()
    assert calls == []
    assert p[0] == pytest.approx(0.99, abs=1e-6)


def test_real_threads_give_the_same_result_as_one_thread():
    old = parallel.num_threads()
    try:
        parallel.set_num_threads(1)
        p1, s1 = steps(Adam(lr=0.01), parallel.parallel_for, np.float32, n=5000)
        parallel.set_num_threads(3)
        p2, s2 = steps(Adam(lr=0.01), parallel.parallel_for, np.float32, n=5000)
    finally:
        parallel.set_num_threads(old)
    np.testing.assert_array_equal(p2, p1)
    np.testing.assert_array_equal(s2["v"], s1["v"])


def test_a_model_trains_the_same_with_the_runner_handed_over():
    rng = np.random.default_rng(0)
    x, y = rng.random((64, 30), dtype=np.float32), rng.integers(0, 4, 64)
    weights = []
    for runner in (None, parallel.parallel_for):
        opt = Adam(lr=0.01)
        assert opt.parallel_for is None                      # off unless handed over
        opt.parallel_for, opt.parallel_min_chunk = runner, 16
        model = tanul.Sequential([tanul.Dense(20, activation="relu"), tanul.Dense(4)], seed=0,
                                 input_shape=(30,))
        model.compile(optimizer=opt, loss="cross_entropy")
        model.fit(x, y, epochs=2, batch_size=16, verbose=0)
        weights.append(model.get_weights())
    for a, b in zip(*weights, strict=True):
        np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------- parts handed over by the model
def parts_runner(calls):
    """Runs the chunks of range(n) one by one, the last first (any order must do)."""
    def run(fn, n, min_chunk):
        calls.append((n, min_chunk))
        for j in reversed(range(n)):
            fn(j, j + 1)
    return run


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_adam_over_given_parts_equals_the_whole_buffer_update(dtype):
    rng = np.random.default_rng(3)
    p0 = rng.standard_normal(1000).astype(dtype)
    grads = [rng.standard_normal(1000).astype(dtype) * 3 for _ in range(4)]
    result = {}
    for parts in (None, [[(0, 300), (900, 1000)], [(300, 900)]]):
        calls = []
        opt = Adam(lr=0.01)
        p, g = p0.copy(), np.empty_like(p0)
        opt.build(p, g)
        opt.parallel_for, opt.parallel_parts = parts_runner(calls), parts
        for gk in grads:
            g[...] = gk
            opt.step()
        result[parts is None] = p, opt._state["m"].copy(), opt._state["v"].copy()
        if parts is not None:
            assert calls == [(2, 1)] * 4                   # two parts, every step
    for a, b in zip(result[True], result[False]):
        np.testing.assert_array_equal(a, b)


def test_flat_parameters_parts_follow_the_layers_blocks():
    model = tanul.Sequential([tanul.Dense(256, activation="relu"), tanul.Dense(128, activation="relu"),
                              tanul.Dense(10)], input_shape=(784,), seed=0)
    # W0 is 784x256 in two blocks of 392 rows (100,352 entries each); everything after it
    # (b0 256, W1 32,768, b1 128, W2 1,280, b2 10: 34,442) is one run that goes to the lighter
    # part (a tie: the first)
    assert model._flat.thread_parts() == [[(0, 100_352), (200_704, 235_146)], [(100_352, 200_704)]]
    small = tanul.Sequential([tanul.Dense(8), tanul.Dense(2)], input_shape=(4,))
    assert small._flat.thread_parts() is None


@pytest.fixture
def two_threads():
    saved = parallel._state["threads"]
    parallel.set_num_threads(2)
    yield
    parallel.set_num_threads(1)
    parallel._state["threads"] = saved


def test_the_model_hands_its_parts_to_the_optimiser_and_takes_them_back(two_threads):
    big = tanul.Sequential([tanul.Dense(256), tanul.Dense(3)], input_shape=(300,), seed=0)
    opt = Adam(lr=0.01)
    big.compile(optimizer=opt, loss="mse")
    big._build_optimizer()
    assert opt.parallel_for is parallel.parallel_for
    # W0 300x256 in blocks of 150 rows; then b0 256 + W1 256x3 + b1 3 = 1,027 to the first part
    assert opt.parallel_parts == [[(0, 38_400), (76_800, 77_827)], [(38_400, 76_800)]]
    small = tanul.Sequential([tanul.Dense(8), tanul.Dense(2)], input_shape=(4,))
    small.compile(optimizer=opt, loss="mse")        # the same optimiser on a model without blocks
    small._build_optimizer()
    assert opt.parallel_for is None and opt.parallel_parts is None
    mine = Adam(lr=0.01)
    mine.parallel_for = parts_runner([])            # a runner set by hand is the user's choice
    big.compile(optimizer=mine, loss="mse")
    big._build_optimizer()
    assert mine.parallel_parts is None and mine.parallel_for is not parallel.parallel_for


def test_fit_with_blocks_gives_the_same_weights_on_one_thread_and_on_two():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    rng = np.random.default_rng(0)
    x = rng.random((256, 300)).astype(np.float32)
    y = rng.integers(0, 3, 256)
    saved = parallel._state["threads"]
    weights = {}
    try:
        for n in (1, 2):
            parallel.set_num_threads(n)
            model = tanul.Sequential([tanul.Dense(256, activation="relu"), tanul.Dense(3)],
                                     input_shape=(300,), seed=0)
            model.compile(optimizer=Adam(lr=0.01), loss="cross_entropy")
            with threadpoolctl.threadpool_limits(1, user_api="blas"):   # OpenBLAS's own count aside
                model.fit(x, y, epochs=2, batch_size=64, verbose=0)
            assert (model.optimizer.parallel_parts is not None) == (n == 2)
            weights[n] = model.get_weights()
    finally:
        parallel.set_num_threads(1)
        parallel._state["threads"] = saved
    for a, b in zip(weights[1], weights[2]):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(("size", "split"), [(15, False), (16, True), (23, True)])
def test_a_buffer_is_split_from_twice_the_smallest_chunk_on(size, split):
    # the documented rule: below 2 x parallel_min_chunk elements a step runs in one call
    calls = []
    opt = Adam(lr=0.01)
    opt.parallel_for, opt.parallel_min_chunk = split_runner(calls), 8
    opt.build(np.ones(size, np.float32), np.ones(size, np.float32))
    opt.step()
    assert calls == ([(size, 8)] if split else [])
