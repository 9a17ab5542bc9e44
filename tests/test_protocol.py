"""The contracts of tanul.protocol: optimisers and callbacks work on anything that follows them."""

from __future__ import annotations

import numpy as np
import pytest

import tanul
from tanul import io, protocol
from tanul.callbacks import Callback, ModelCheckpoint, TerminateOnNaN
from tanul.optimizers import LBFGS


def _model(seed=0):
    m = tanul.Sequential([tanul.Dense(4, activation="tanh"), tanul.Dense(1)], seed=seed, input_shape=(2,))
    m.compile(optimizer="adam", loss="mse")
    return m


def test_sequential_follows_the_protocols():
    m = _model()
    assert isinstance(m, protocol.TrainingProblem)
    assert isinstance(m, protocol.CallbackTarget)
    assert isinstance(LBFGS(), protocol.FullBatchOptimizer)
    assert not isinstance(tanul.Adam(), protocol.FullBatchOptimizer)
    assert isinstance(io, protocol.ModelStore) and protocol.model_store() is io


def test_loss_and_grads_matches_finite_differences():
    m = _model()
    x = np.random.default_rng(1).normal(size=(8, 2))
    y = np.random.default_rng(2).normal(size=(8, 1))
    m64 = tanul.Sequential([tanul.Dense(4, activation="tanh"), tanul.Dense(1)], seed=0, dtype="float64",
                           input_shape=(2,))
    m64.compile(optimizer="sgd", loss="mse")
    m64.set_weights(m.get_weights())
    loss, out = m64.loss_and_grads(x, y)
    assert out.shape == (8, 1)
    assert loss == pytest.approx(0.5 * np.mean((out - y) ** 2))  # the course's ½ convention
    g = m64.grads.copy()
    eps = 1e-6
    for i in range(m64.params.size):
        m64.params[i] += eps
        up = 0.5 * np.mean((m64.predict(x) - y) ** 2)
        m64.params[i] -= 2 * eps
        down = 0.5 * np.mean((m64.predict(x) - y) ** 2)
        m64.params[i] += eps
        assert g[i] == pytest.approx((up - down) / (2 * eps), rel=1e-5, abs=1e-8)


class LeastSquares:
    """L(θ) = ½‖Aθ − b‖²: a TrainingProblem that is not a model."""

    def __init__(self, a, b):
        self.a, self.b = a, b
        self.params = np.zeros(a.shape[1])
        self.grads = np.zeros(a.shape[1])

    def loss_and_grads(self, x, y):
        r = self.a @ self.params - self.b
        self.grads[...] = self.a.T @ r
        return 0.5 * float(r @ r), r


def test_lbfgs_minimises_any_training_problem():
    pytest.importorskip("scipy")
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(20, 5)), rng.normal(size=20)
    problem = LeastSquares(a, b)
    seen = []
    LBFGS(tol=1e-14).minimize(problem, None, None, max_iter=100, callback=lambda loss: seen.append(loss))
    expected, *_ = np.linalg.lstsq(a, b, rcond=None)
    np.testing.assert_allclose(problem.params, expected, rtol=1e-6, atol=1e-8)
    assert seen and all(later <= earlier for earlier, later in zip(seen, seen[1:]))


def test_lbfgs_stops_when_the_callback_says_so():
    pytest.importorskip("scipy")
    rng = np.random.default_rng(0)
    problem = LeastSquares(rng.normal(size=(20, 5)), rng.normal(size=20))
    opt = LBFGS()
    opt.minimize(problem, None, None, max_iter=100, callback=lambda loss: True)
    assert opt.iterations == 1


def test_fit_hands_the_data_to_any_full_batch_optimizer():
    """fit recognises full-batch optimisers by the protocol, not by class."""

    class HalfStep:  # θ ← θ − ½∇L, twice, whatever epochs says
        max_iter = 2

        def __init__(self):
            self.losses = []

        def minimize(self, problem, x, y, *, max_iter, callback):
            for _ in range(max_iter):
                loss, _ = problem.loss_and_grads(x, y)
                self.losses.append(loss)
                problem.params[...] -= 0.5 * problem.grads
                if callback(loss):
                    break

    m = _model()
    opt = HalfStep()
    m.compile(optimizer=opt, loss="mse")
    x = np.linspace(-1, 1, 16, dtype=np.float32).reshape(8, 2)
    hist = m.fit(x, x[:, :1], epochs=5, verbose=0)
    assert hist.history["loss"] == pytest.approx(opt.losses)
    assert len(opt.losses) == 2


def test_model_checkpoint_writes_through_the_model_it_is_given():
    """ModelCheckpoint only calls save / save_weights / save_checkpoint of its model."""

    class Target:
        stop_training, history, optimizer = False, None, None

        def __init__(self):
            self.calls = []

        def get_weights(self):
            return []

        def set_weights(self, weights):
            pass

        def save(self, path, include_optimizer=True):
            self.calls.append(("save", path))

        def save_weights(self, path):
            self.calls.append(("save_weights", path))

        def save_checkpoint(self, path, *, epoch, extra=None, callbacks=None):
            self.calls.append(("save_checkpoint", path, epoch))

    target = Target()
    assert isinstance(target, protocol.CallbackTarget)
    for kw, expected in [({}, ("save", "m-1.tanul")), ({"save_weights_only": True}, ("save_weights", "m-1.tanul")),
                         ({"checkpoint": True}, ("save_checkpoint", "m-1.tanul", 0))]:
        cb = ModelCheckpoint("m-{epoch}.tanul", **kw)
        cb.set_model(target)
        cb.on_epoch_end(0, {"val_loss": 1.0})
        assert target.calls[-1] == expected


def test_save_checkpoint_method_resumes_like_io(tmp_path):
    m = _model()
    x = np.linspace(-1, 1, 32, dtype=np.float32).reshape(16, 2)
    y = x[:, :1] * x[:, 1:]
    m.fit(x, y, epochs=2, verbose=0)
    m.save_checkpoint(tmp_path / "c.tanul", epoch=1, extra={"note": "hi"})
    back, info = io.load_checkpoint(tmp_path / "c.tanul")
    assert info["epoch"] == 1 and info["extra"] == {"note": "hi"}
    m.fit(x, y, epochs=4, initial_epoch=2, verbose=0)
    back.fit(x, y, epochs=4, initial_epoch=2, verbose=0)
    np.testing.assert_array_equal(back.predict(x), m.predict(x))


def test_a_subclass_of_terminate_on_nan_is_recognised_by_type():
    class Quiet(TerminateOnNaN):
        pass

    m = tanul.Sequential([tanul.Dense(1)], seed=0, input_shape=(1,))
    m.compile(optimizer=tanul.SGD(lr=1e30), loss="mse")
    x = np.full((4, 1), 1e20, np.float32)
    hist = m.fit(x, x, epochs=3, batch_size=2, callbacks=[Quiet()], verbose=0)
    assert m.stop_training and len(hist.epoch) == 0
    m.compile(optimizer=tanul.SGD(lr=1e30), loss="mse")
    with pytest.raises(tanul.TrainingDivergedError):
        m.fit(x, x, epochs=3, batch_size=2, callbacks=[Callback()], verbose=0)


def test_register_store_checks_its_argument():
    with pytest.raises(TypeError, match="save_checkpoint"):
        protocol.register_store(object())
    assert protocol.model_store() is io


def test_a_clone_trains_its_own_layers():
    """Before: a deep copy's layers were no longer views of its flat buffer (fit did nothing)."""
    m = _model()
    x = np.linspace(-1, 1, 32, dtype=np.float32).reshape(16, 2)
    y = x[:, :1] - x[:, 1:]
    m.fit(x, y, epochs=1, verbose=0)
    c = m.clone()
    assert np.shares_memory(c.params, c.layers[0].params["W"])
    assert not np.shares_memory(c.params, m.params)
    before = c.predict(x)
    c.fit(x, y, epochs=2, verbose=0)
    assert not np.array_equal(c.predict(x), before)
    m.fit(x, y, epochs=2, verbose=0)
    np.testing.assert_array_equal(c.predict(x), m.predict(x))  # same state, same steps
    assert c.optimizer.iterations == m.optimizer.iterations
