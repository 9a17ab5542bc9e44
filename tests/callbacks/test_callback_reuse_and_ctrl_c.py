"""EarlyStopping reused across fits, and Ctrl-C with restore_best_weights (issue 18)."""

import os
import signal

import numpy as np

import tanul
from tanul.callbacks import EarlyStopping, Lambda


def _data(seed=0, n=120, scale=1.0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 5)).astype(np.float32)
    y = (x @ rng.normal(size=(5, 1)) + 0.3 * rng.normal(size=(n, 1))).astype(np.float32)
    return x, (scale * y).astype(np.float32)


def _model(seed=0, lr=0.05):
    m = tanul.Sequential([tanul.Dense(16, activation="tanh"), tanul.Dense(1)], seed=seed)
    m.compile(optimizer=tanul.Adam(lr=lr), loss="mse")
    return m


def _fit_with_snapshots(model, x, y, epochs, callbacks):
    snaps = []
    grab = Lambda(on_epoch_end=lambda epoch, logs: snaps.append(model.get_weights()))
    hist = model.fit(x, y, epochs=epochs, batch_size=20, verbose=0, callbacks=[grab, *callbacks])
    return hist, snaps


def test_early_stopping_reused_across_two_fits_forgets_the_first():
    es = EarlyStopping(monitor="loss", patience=2, restore_best_weights=True)
    x, y = _data(0)
    h1, _ = _fit_with_snapshots(_model(0), x, y, 15, [es])
    best_first = min(h1.history["loss"])
    # second fit: targets 30x larger, so every loss is far above the first fit's best. Keeping
    # the old best, no epoch would "improve": it would stop after 3 epochs and load weights of
    # the first model into the second.
    x2, y2 = _data(1, scale=30.0)
    model2 = _model(1)
    h2, snaps = _fit_with_snapshots(model2, x2, y2, 6, [es])
    loss2 = h2.history["loss"]
    assert min(loss2) > 10 * best_first  # the premise of the test
    assert len(loss2) == 6 and np.all(np.diff(loss2) < 0)  # still learning: never stops early
    assert es.best_epoch == 5 and es.best == loss2[-1] and es.stopped_epoch == -1
    for a, b in zip(model2.get_weights(), snaps[5], strict=True):
        np.testing.assert_array_equal(a, b)


def test_ctrl_c_restores_the_best_weights_seen():
    x, y = _data(2)
    model = _model(2, lr=0.5)  # a large step: the training loss goes up and down
    at_press = []

    def press(batch, logs=None):
        if len(model.history.epoch) == 8 and batch == 2:  # 9th epoch, 3rd batch
            at_press.append(model.get_weights())
            os.kill(os.getpid(), signal.SIGINT)

    es = EarlyStopping(monitor="loss", patience=100, restore_best_weights=True)
    hist, snaps = _fit_with_snapshots(model, x, y, 50, [Lambda(on_batch_end=press), es])
    assert hist.interrupted and len(snaps) == 8
    loss = hist.history["loss"]
    best = int(np.argmin(loss))
    assert es.best_epoch == best
    for a, b in zip(model.get_weights(), snaps[best], strict=True):
        np.testing.assert_array_equal(a, b)
    # and those differ from the weights at the moment of the Ctrl-C (the restore did something)
    assert any(not np.array_equal(a, b) for a, b in zip(model.get_weights(), at_press[0], strict=True))
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_ctrl_c_without_restore_keeps_the_weights_after_the_batch():
    x, y = _data(2)
    model = _model(2, lr=0.5)
    at_press = []

    def press(batch, logs=None):
        if len(model.history.epoch) == 3 and batch == 1:
            at_press.append(model.get_weights())
            os.kill(os.getpid(), signal.SIGINT)

    hist, _ = _fit_with_snapshots(model, x, y, 50, [Lambda(on_batch_end=press),
                                                    EarlyStopping(monitor="loss", patience=100)])
    assert hist.interrupted
    for a, b in zip(model.get_weights(), at_press[0], strict=True):
        np.testing.assert_array_equal(a, b)
