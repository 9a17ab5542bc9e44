"""Split whole-array work along the batch axis over a few threads.

NumPy's element-wise ufuncs and copies run on one core, but they release the GIL, so two
threads working on the two halves of a batch finish in about half the time. tanul uses this
for the memory-bound parts of convolutional layers (im2col copies, col2im adds, pooling)
while the matrix products keep using the BLAS library's own threads.

``TANUL_NUM_THREADS`` (environment) or :func:`set_num_threads` sets the number of threads;
the default is the number of cores this process may use, at most 4. ``1`` turns it off. The
results do not depend on the thread count: every thread writes its own rows.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

__all__ = ["num_threads", "set_num_threads", "parallel_for", "blas_single_threaded",
           "parallel_gemms"]

_state: dict = {"threads": None, "pool": None, "controller": None, "blas_one": 0}


def _default() -> int:
    env = os.environ.get("TANUL_NUM_THREADS")
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            raise ValueError(f"TANUL_NUM_THREADS must be a positive int, got {env!r}") from None
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS
        cores = os.cpu_count() or 1
    return max(1, min(cores, 4))


def num_threads() -> int:
    """Threads used for batch-parallel array work."""
    if _state["threads"] is None:
        _state["threads"] = _default()
    return _state["threads"]


def set_num_threads(n: int) -> None:
    """Use ``n`` threads (``1``: everything on the calling thread)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"set_num_threads: expected a positive int, got {n!r}")
    _state["threads"] = n
    if _state["pool"] is not None:
        _state["pool"].shutdown(wait=False)
        _state["pool"] = None


def _forget_pool_after_fork() -> None:
    # A forked child inherits the pool object but not its threads: work submitted to it would wait
    # forever (a hang in multiprocessing/joblib workers started with fork, or in mutmut). The
    # child makes its own pool on first use.
    _state["pool"] = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool_after_fork)


def parallel_for(fn: Callable[[int, int], None], n: int, min_chunk: int = 8) -> None:
    """Call ``fn(start, stop)`` on contiguous chunks of ``range(n)``, in parallel.

    The calling thread does the first chunk itself. ``fn`` must write disjoint outputs.
    """
    k = min(num_threads(), n // max(min_chunk, 1))
    if k <= 1:
        fn(0, n)
        return
    if _state["pool"] is None:
        _state["pool"] = ThreadPoolExecutor(max_workers=num_threads() - 1, thread_name_prefix="tanul")
    bounds = [n * i // k for i in range(k + 1)]
    futures = [_state["pool"].submit(fn, bounds[i], bounds[i + 1]) for i in range(1, k)]
    fn(bounds[0], bounds[1])
    for f in futures:
        f.result()


def blas_single_threaded(enabled: bool = True):
    """A context in which the BLAS library uses one thread (needs ``threadpoolctl``).

    Used by ``fit`` and ``predict`` for convolutional models when tanul runs its own threads:
    an idle BLAS thread that spins after each matrix product would otherwise steal the core
    that tanul's second thread needs. Without threadpoolctl (extra ``all``) it does nothing.
    """
    import contextlib

    if not enabled or num_threads() <= 1:
        return contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()

    @contextlib.contextmanager
    def limited():
        with threadpool_limits(limits=1, user_api="blas"):
            _state["blas_one"] += 1  # parallel_gemms need not limit it again (~20-50 µs a call)
            try:
                yield
            finally:
                _state["blas_one"] -= 1

    return limited()


def parallel_gemms(fn: Callable[[int, int], None], n: int) -> None:
    """:func:`parallel_for` over ``n`` blocks that each run their own matrix products.

    While several of tanul's threads call the BLAS at once, the BLAS runs single-threaded
    (through a cached ``threadpoolctl`` controller, about 20 µs), so that 2 threads do not
    start 2 BLAS thread pools on 2 cores. One block, or one thread: a plain call.
    """
    if n <= 1 or num_threads() <= 1:
        fn(0, n)
        return
    if _state["blas_one"]:  # inside blas_single_threaded (fit): the BLAS is on one thread already
        parallel_for(fn, n, min_chunk=1)
        return
    ctl = _state["controller"]
    if ctl is None:
        try:
            from threadpoolctl import ThreadpoolController
            ctl = ThreadpoolController()
        except ImportError:
            ctl = False
        _state["controller"] = ctl
    if ctl is False:
        parallel_for(fn, n, min_chunk=1)
        return
    with ctl.limit(limits=1, user_api="blas"):
        parallel_for(fn, n, min_chunk=1)
