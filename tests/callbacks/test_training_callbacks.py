"""EarlyStopping, ModelCheckpoint, TerminateOnNaN, CSVLogger, LR control, Ctrl-C."""

import csv
import os
import signal

import numpy as np
import pytest

import tanul
from tanul.callbacks import (
    CSVLogger,
    EarlyStopping,
    Lambda,
    LearningRateScheduler,
    ModelCheckpoint,
    ReduceLROnPlateau,
    TerminateOnNaN,
)


def _data(seed=0, n=120):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 5)).astype(np.float32)
    y = (x @ rng.normal(size=(5, 1)) + 0.3 * rng.normal(size=(n, 1))).astype(np.float32)
    return x, y


def _model(seed=0, lr=0.05):
    m = tanul.Sequential([tanul.Dense(32, activation="tanh"), tanul.Dense(1)], seed=seed)
    m.compile(optimizer=tanul.Adam(lr=lr), loss="mse")
    return m


def _val_losses_and_snapshots(model, x, y, xv, yv, epochs, extra=()):
    snaps = []
    grab = Lambda(on_epoch_end=lambda epoch, logs: snaps.append(model.get_weights()))
    hist = model.fit(x, y, epochs=epochs, batch_size=16, validation_data=(xv, yv), verbose=0,
                     callbacks=[grab, *extra])
    return hist, snaps


def test_restore_best_weights_after_early_stop():
    x, y = _data(0)
    xv, yv = _data(1, 40)
    # a big learning rate on a small set: validation loss goes up and down
    model = _model(lr=0.05)
    es = EarlyStopping(patience=3, restore_best_weights=True)
    hist, snaps = _val_losses_and_snapshots(model, x, y, xv, yv, 200, extra=[es])
    val = hist.history["val_loss"]
    best = int(np.argmin(val))
    assert len(val) == best + 4  # stopped exactly patience epochs after the best one
    assert es.best_epoch == best and hist.best_epoch == best
    for a, b in zip(model.get_weights(), snaps[best], strict=True):
        np.testing.assert_array_equal(a, b)


def test_restore_best_weights_when_epochs_run_out_first():
    x, y = _data(2)
    xv, yv = _data(3, 40)
    model = _model(lr=0.2)
    hist, snaps = _val_losses_and_snapshots(model, x, y, xv, yv, 12,
                                            extra=[EarlyStopping(patience=50, restore_best_weights=True)])
    best = int(np.argmin(hist.history["val_loss"]))
    for a, b in zip(model.get_weights(), snaps[best], strict=True):
        np.testing.assert_array_equal(a, b)


def test_patience_counts_epochs_without_improvement_min_delta_and_mode():
    # feed hand-made logs: the callback alone decides
    model = _model()
    model.build((5,))
    es = EarlyStopping(monitor="val_accuracy", patience=2, min_delta=0.01)
    assert es.mode == "max"
    es.set_model(model)
    es.on_train_begin()
    for epoch, v in enumerate([0.5, 0.6, 0.605, 0.609, 0.7]):
        model.stop_training = False
        es.on_epoch_end(epoch, {"val_accuracy": v})
        if model.stop_training:
            break
    assert epoch == 3 and es.best == 0.6 and es.best_epoch == 1


def test_missing_monitor_warns_with_available_keys():
    x, y = _data()
    model = _model()
    with pytest.warns(RuntimeWarning, match="'val_loss' is not in the logs; available: loss"):
        model.fit(x, y, epochs=2, verbose=0, callbacks=[EarlyStopping()])


def test_terminate_on_nan_stops_quietly():
    x, y = _data()
    y[5] = np.nan  # a poisoned target: the loss becomes NaN in the first epoch
    model = _model()
    with pytest.raises(ValueError):  # fit refuses NaN targets outright ...
        model.fit(x, y, epochs=2, verbose=0)
    x, y = _data()
    model = tanul.Sequential([tanul.Dense(1)], seed=0)
    model.compile(optimizer=tanul.SGD(lr=1e6), loss="mse")  # ... but divergence can happen
    hist = model.fit(x * 1e3, y, epochs=20, batch_size=8, verbose=0, callbacks=[TerminateOnNaN()])
    assert model.stop_training and len(hist.epoch) < 20


def test_csv_logger(tmp_path):
    x, y = _data()
    xv, yv = _data(1, 30)
    path = tmp_path / "log.csv"
    model = _model()
    hist = model.fit(x, y, epochs=3, validation_data=(xv, yv), verbose=0, callbacks=[CSVLogger(path)])
    rows = list(csv.reader(open(path)))
    assert rows[0] == ["epoch", "loss", "val_loss"]
    assert [int(r[0]) for r in rows[1:]] == [0, 1, 2]
    assert [float(r[2]) for r in rows[1:]] == hist.history["val_loss"]
    model.fit(x, y, epochs=5, initial_epoch=3, verbose=0, validation_data=(xv, yv),
              callbacks=[CSVLogger(path, append=True)])
    rows = list(csv.reader(open(path)))
    assert [r[0] for r in rows[1:]] == ["0", "1", "2", "3", "4"]


def test_learning_rate_scheduler_sets_lr_each_epoch():
    x, y = _data()
    model = _model()
    seen = []
    grab = Lambda(on_epoch_begin=lambda e, logs=None: seen.append(model.optimizer.lr))
    sched = LearningRateScheduler(lambda epoch: 0.1 * 0.5 ** epoch)
    hist = model.fit(x, y, epochs=4, verbose=0, callbacks=[sched, grab])
    assert seen == [0.1, 0.05, 0.025, 0.0125]
    assert hist.history["lr"] == seen


def test_reduce_lr_on_plateau():
    model = _model(lr=1.0)
    model.build((5,))
    cb = ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=2, cooldown=1, min_lr=0.2)
    cb.set_model(model)
    lrs = []
    for epoch, v in enumerate([1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]):
        cb.on_epoch_end(epoch, {"val_loss": v})
        lrs.append(model.optimizer.lr)
    # Keras's rule: epoch 0 sets best; waits 1, 2 -> halve at epoch 2 and cool down for one
    # epoch (3, whose count restarts at 1); 4 halves again; 6 would give 0.125: floored at 0.2
    assert lrs == [1.0, 1.0, 0.5, 0.5, 0.25, 0.25, 0.2, 0.2]


def test_model_checkpoint_best_only(tmp_path):
    model = _model()
    model.build((5,))
    cb = ModelCheckpoint(tmp_path / "m-{epoch:02d}.tanul", save_best_only=True)
    cb.set_model(model)
    for epoch, v in enumerate([3.0, 2.0, 2.5, 1.0]):
        cb.on_epoch_end(epoch, {"val_loss": v})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m-01.tanul", "m-02.tanul", "m-04.tanul"]
    m = tanul.load_model(tmp_path / "m-04.tanul")
    for a, b in zip(m.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_ctrl_c_stops_after_the_current_batch():
    x, y = _data()
    model = _model()
    calls = []

    def press(batch, logs=None):
        calls.append(batch)
        if len(calls) == 3:
            os.kill(os.getpid(), signal.SIGINT)

    es = EarlyStopping(monitor="loss", patience=100, restore_best_weights=True)
    hist = model.fit(x, y, epochs=50, batch_size=16, verbose=0, callbacks=[Lambda(on_batch_end=press), es])
    assert hist.interrupted and len(calls) == 3
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_second_fit_continues_optimizer_state():
    x, y = _data()
    model = _model()
    model.fit(x, y, epochs=2, batch_size=40, verbose=0)
    assert model.optimizer.iterations == 6
    m_before = model.optimizer.get_slot("m", "dense_0.W").copy()
    model.fit(x, y, epochs=3, initial_epoch=2, batch_size=40, verbose=0)
    assert model.optimizer.iterations == 9
    assert not np.array_equal(m_before, np.zeros_like(m_before))
