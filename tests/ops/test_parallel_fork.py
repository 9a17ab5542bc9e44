"""parallel_for in a forked child (multiprocessing / joblib workers, mutmut): the child must not
use the parent's thread pool, whose threads did not survive the fork (found by mutation testing:
every mutant run in a forked worker after a parallel test hung)."""

import os
import time

import numpy as np
import pytest

from tanul.ops import parallel

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork (POSIX)")


def test_parallel_for_works_in_a_forked_child():
    before = parallel.num_threads()
    parallel.set_num_threads(3)
    try:
        out = np.zeros(64)

        def fill(a, b):
            time.sleep(0.2)  # slow chunks: the pool starts both of its threads
            out[a:b] = np.arange(a, b)

        parallel.parallel_for(fill, 64)  # the parent now holds a pool with two idle threads
        assert parallel._state["pool"] is not None
        time.sleep(0.1)
        pid = os.fork()
        if pid == 0:  # child: the same call must finish, with a pool of its own
            try:
                child = np.zeros(64)

                def fill_child(a, b):
                    child[a:b] = 2 * np.arange(a, b)

                parallel.parallel_for(fill_child, 64)
                os._exit(0 if np.array_equal(child, 2 * np.arange(64)) else 1)
            except BaseException:
                os._exit(2)
        deadline = time.monotonic() + 15
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() > deadline:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
                pytest.fail("parallel_for hung in a forked child (it used the parent's dead pool)")
            time.sleep(0.05)
        assert os.waitstatus_to_exitcode(status) == 0
        np.testing.assert_array_equal(out, np.arange(64))
    finally:
        parallel.set_num_threads(before)
