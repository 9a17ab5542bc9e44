"""blas_single_threaded and parallel_gemms: one BLAS thread while tanul's threads run GEMMs."""

import pytest

from tanul.ops import parallel

threadpoolctl = pytest.importorskip("threadpoolctl")


class _NoLimit:
    def limit(self, **kwargs):
        raise AssertionError("parallel_gemms limited the BLAS again inside blas_single_threaded")


def test_parallel_gemms_inside_blas_single_threaded_does_not_limit_again(monkeypatch):
    old = parallel.num_threads()
    try:
        parallel.set_num_threads(2)
        monkeypatch.setitem(parallel._state, "controller", _NoLimit())
        done = []
        with parallel.blas_single_threaded():
            blas = [i for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
            assert blas and all(i["num_threads"] == 1 for i in blas)
            parallel.parallel_gemms(lambda a, b: done.extend(range(a, b)), 4)
        assert sorted(done) == [0, 1, 2, 3]
        assert parallel._state["blas_one"] == 0
        with pytest.raises(AssertionError, match="limited the BLAS again"):  # outside: it limits
            parallel.parallel_gemms(lambda a, b: None, 4)
    finally:
        parallel.set_num_threads(old)
