"""tanul.ops.parallel: the thread-count rules and how work is split (issue 18, mutation testing).
Expectations are the documented rules worked out by hand."""

import contextlib
import re
import threading

import pytest

from tanul.ops import parallel


@pytest.fixture
def threads():
    """Restore the thread count and pool after the test."""
    saved = parallel._state["threads"]
    yield
    if parallel._state["pool"] is not None:
        parallel._state["pool"].shutdown(wait=False)
    parallel._state["pool"] = None
    parallel._state["threads"] = saved


def test_default_thread_count_from_the_environment(monkeypatch, threads):
    monkeypatch.setenv("TANUL_NUM_THREADS", "3")
    assert parallel._default() == 3
    monkeypatch.setenv("TANUL_NUM_THREADS", "7")
    assert parallel._default() == 7              # the environment is not capped at 4
    monkeypatch.setenv("TANUL_NUM_THREADS", "0")
    assert parallel._default() == 1
    monkeypatch.setenv("TANUL_NUM_THREADS", "-2")
    assert parallel._default() == 1
    monkeypatch.setenv("TANUL_NUM_THREADS", "two")
    with pytest.raises(ValueError, match="^" + re.escape("TANUL_NUM_THREADS must be a positive int, got 'two'")
                       + "$"):
        parallel._default()


@pytest.mark.parametrize(("cores", "expected"), [(1, 1), (2, 2), (4, 4), (6, 4), (16, 4)])
def test_default_thread_count_from_the_cores(monkeypatch, cores, expected):
    monkeypatch.delenv("TANUL_NUM_THREADS", raising=False)
    monkeypatch.setattr(parallel.os, "sched_getaffinity", lambda pid: set(range(cores)))
    assert parallel._default() == expected
    monkeypatch.setenv("TANUL_NUM_THREADS", "")    # empty: as if unset
    assert parallel._default() == expected


def test_num_threads_is_computed_once_and_set_num_threads_checks(monkeypatch, threads):
    monkeypatch.setenv("TANUL_NUM_THREADS", "3")
    parallel._state["threads"] = None
    assert parallel.num_threads() == 3
    monkeypatch.setenv("TANUL_NUM_THREADS", "2")
    assert parallel.num_threads() == 3           # cached
    parallel.set_num_threads(2)
    assert parallel.num_threads() == 2
    for bad in (0, -1, True, 2.0, "2"):
        with pytest.raises(ValueError, match="^" + re.escape(
                f"set_num_threads: expected a positive int, got {bad!r}") + "$"):
            parallel.set_num_threads(bad)
    assert parallel.num_threads() == 2


def record_chunks(n, min_chunk, nthreads):
    parallel.set_num_threads(nthreads)
    calls, lock = [], threading.Lock()

    def fn(a, b):
        with lock:
            calls.append((a, b, threading.current_thread() is threading.main_thread()))

    if min_chunk is None:
        parallel.parallel_for(fn, n)
    else:
        parallel.parallel_for(fn, n, min_chunk=min_chunk)
    return sorted(calls)


def test_parallel_for_splits_into_equal_contiguous_chunks(threads):
    # k = min(threads, n // min_chunk) chunks with bounds n·i // k; the caller does the first
    assert record_chunks(40, 8, 3) == [(0, 13, True), (13, 26, False), (26, 40, False)]
    assert record_chunks(40, None, 3) == [(0, 13, True), (13, 26, False), (26, 40, False)]  # default 8
    assert record_chunks(16, 8, 3) == [(0, 8, True), (8, 16, False)]
    assert record_chunks(15, 8, 3) == [(0, 15, True)]      # 15 // 8 = 1: one plain call
    assert record_chunks(5, 1, 4) == [(0, 1, True), (1, 2, False), (2, 3, False), (3, 5, False)]
    assert record_chunks(3, 0, 2) == [(0, 1, True), (1, 3, False)]   # min_chunk 0 counts as 1
    assert record_chunks(100, 8, 1) == [(0, 100, True)]    # one thread: no pool
    assert record_chunks(0, 1, 4) == [(0, 0, True)]


def test_set_num_threads_replaces_the_pool(threads):
    parallel.set_num_threads(3)
    parallel.parallel_for(lambda a, b: None, 30, min_chunk=1)
    pool = parallel._state["pool"]
    assert pool is not None and pool._max_workers == 2    # the caller is the third thread
    parallel.set_num_threads(2)
    assert parallel._state["pool"] is None
    parallel.parallel_for(lambda a, b: None, 30, min_chunk=1)
    assert parallel._state["pool"]._max_workers == 1


def test_parallel_for_propagates_a_workers_exception(threads):
    parallel.set_num_threads(2)

    def fn(a, b):
        if a > 0:
            raise KeyError("in the worker")

    with pytest.raises(KeyError, match="in the worker"):
        parallel.parallel_for(fn, 10, min_chunk=1)


def test_blas_single_threaded_only_when_tanul_runs_threads(threads):
    pytest.importorskip("threadpoolctl")
    parallel.set_num_threads(2)
    assert isinstance(parallel.blas_single_threaded(False), contextlib.nullcontext)
    ctx = parallel.blas_single_threaded()
    assert not isinstance(ctx, contextlib.nullcontext)
    with ctx:
        pass
    parallel.set_num_threads(1)
    assert isinstance(parallel.blas_single_threaded(True), contextlib.nullcontext)


def test_parallel_gemms_blocks_and_plain_calls(threads, monkeypatch):
    calls = []

    def fn(a, b):
        calls.append((a, b))

    parallel.set_num_threads(2)
    parallel.parallel_gemms(fn, 1)
    assert calls == [(0, 1)]
    calls.clear()
    parallel.set_num_threads(1)
    parallel.parallel_gemms(fn, 6)
    assert calls == [(0, 6)]
    calls.clear()
    parallel.set_num_threads(3)
    monkeypatch.setitem(parallel._state, "controller", False)     # no threadpoolctl
    parallel.parallel_gemms(fn, 6)
    assert sorted(calls) == [(0, 2), (2, 4), (4, 6)]               # one block is enough per chunk
    calls.clear()
    if pytest.importorskip("threadpoolctl"):
        monkeypatch.setitem(parallel._state, "controller", None)
        parallel.parallel_gemms(fn, 2)
        assert sorted(calls) == [(0, 1), (1, 2)]
        ctl = parallel._state["controller"]
        assert ctl is not None and ctl is not False
        parallel.parallel_gemms(fn, 2)
        assert parallel._state["controller"] is ctl                # cached


@pytest.mark.parametrize(("count", "expected"), [(None, 1), (1, 1), (3, 3), (8, 4)])
def test_default_thread_count_without_sched_getaffinity(monkeypatch, count, expected):
    # macOS has no os.sched_getaffinity: os.cpu_count(), which may be None
    monkeypatch.delenv("TANUL_NUM_THREADS", raising=False)
    monkeypatch.delattr(parallel.os, "sched_getaffinity", raising=False)
    monkeypatch.setattr(parallel.os, "cpu_count", lambda: count)
    assert parallel._default() == expected


def test_a_forked_child_forgets_the_parents_pool(threads):
    parallel.set_num_threads(2)
    parallel.parallel_for(lambda a, b: None, 4, min_chunk=1)
    pool = parallel._state["pool"]
    assert pool is not None
    parallel._forget_pool_after_fork()           # what os.register_at_fork runs in the child
    assert parallel._state["pool"] is None
    pool.shutdown()


def test_parallel_gemms_split_and_fallback_without_threadpoolctl(threads, monkeypatch):
    import sys
    calls, lock = [], threading.Lock()

    def fn(a, b):
        with lock:
            calls.append((a, b))

    parallel.set_num_threads(2)
    monkeypatch.setitem(parallel._state, "controller", None)
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)        # not installed
    parallel.parallel_gemms(fn, 2)
    assert sorted(calls) == [(0, 1), (1, 2)]                        # two threads, two blocks
    assert parallel._state["controller"] is False                    # remembered
    calls.clear()
    parallel.set_num_threads(3)
    parallel.parallel_gemms(fn, 4)
    assert sorted(calls) == [(0, 1), (1, 2), (2, 4)]                # one block per chunk at least


def test_parallel_gemms_runs_the_blas_single_threaded(threads, monkeypatch):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    import numpy as np

    def blas_threads():
        return [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]

    np.ones((2, 2)) @ np.ones((2, 2))
    if not blas_threads():
        pytest.skip("no BLAS library that threadpoolctl can see")
    seen, lock = [], threading.Lock()

    def fn(a, b):
        with lock:
            seen.extend(blas_threads())

    parallel.set_num_threads(2)
    monkeypatch.setitem(parallel._state, "controller", None)
    with threadpoolctl.threadpool_limits(limits=3, user_api="blas"):
        assert set(blas_threads()) == {3}
        parallel.parallel_gemms(fn, 2)
        assert set(blas_threads()) == {3}                            # restored afterwards
    assert seen and set(seen) == {1}


def test_blas_single_threaded_limits_the_blas_to_one_thread(threads):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    import numpy as np

    def blas_threads():
        return {i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"}

    np.ones((2, 2)) @ np.ones((2, 2))
    if not blas_threads():
        pytest.skip("no BLAS library that threadpoolctl can see")
    parallel.set_num_threads(2)
    with threadpoolctl.threadpool_limits(limits=3, user_api="blas"):
        with parallel.blas_single_threaded():
            assert blas_threads() == {1}
        assert blas_threads() == {3}


def test_worker_threads_are_named_after_tanul(threads):
    parallel.set_num_threads(2)
    names = []
    parallel.parallel_for(lambda a, b: names.append(threading.current_thread().name), 2, min_chunk=1)
    assert len(names) == 2 and any(n.startswith("tanul_") for n in names)
