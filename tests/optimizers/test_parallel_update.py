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
