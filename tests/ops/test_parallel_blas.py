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


def test_predict_of_an_image_model_keeps_the_blas_on_one_thread_for_the_whole_call():
    import numpy as np

    from tanul import Sequential
    from tanul.layers import Conv2D, Dense, Flatten, MaxPool2D
    old = parallel.num_threads()
    try:
        parallel.set_num_threads(2)
        model = Sequential([Conv2D(2, 3, activation="tanh"), MaxPool2D(2), Flatten(), Dense(3)],
                           seed=0, input_shape=(1, 8, 8))
        seen = []
        forward = model._forward

        def spy(x, training):
            seen.append([i["num_threads"] for i in threadpoolctl.threadpool_info()
                         if i["user_api"] == "blas"])
            return forward(x, training)

        model._forward = spy
        x = np.random.default_rng(0).standard_normal((10, 1, 8, 8)).astype(np.float32)
        out = model.predict(x, batch_size=4)
        assert len(seen) == 3 and all(s and set(s) == {1} for s in seen)
        model._forward = forward
        np.testing.assert_array_equal(out, model._forward(x, training=False))
    finally:
        parallel.set_num_threads(old)
