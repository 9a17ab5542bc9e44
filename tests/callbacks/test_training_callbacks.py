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


# ---------------------------------------------------------------------- gaps found by mutation testing
class _FakeOptimizer:
    def __init__(self, lr):
        self.lr = lr

    @property
    def current_lr(self):
        return self.lr


class _FakeModel:
    """The CallbackTarget surface, recording what the callbacks ask of it."""

    def __init__(self, lr=1.0):
        self.stop_training = False
        self.history = tanul.callbacks.History()
        self.optimizer = _FakeOptimizer(lr)
        self.weights = [np.zeros(2)]
        self.calls = []

    def get_weights(self):
        return [w.copy() for w in self.weights]

    def set_weights(self, ws):
        self.calls.append(("set_weights", [w.tolist() for w in ws]))
        self.weights = [np.asarray(w) for w in ws]

    def save(self, path):
        self.calls.append(("save", path))

    def save_weights(self, path):
        self.calls.append(("save_weights", path))

    def save_checkpoint(self, path, epoch):
        self.calls.append(("save_checkpoint", path, epoch))


def _drive(cb, values, key="val_loss", model=None, stop=True):
    """Feed hand-made logs epoch by epoch (weights = [epoch, epoch]); returns the model and the epochs run."""
    model = model or _FakeModel()
    cb.set_model(model)
    cb.on_train_begin()
    ran = []
    for epoch, v in enumerate(values):
        model.weights = [np.full(2, float(epoch))]
        cb.on_epoch_end(epoch, {key: v})
        ran.append(epoch)
        if stop and model.stop_training:
            break
    cb.on_train_end()
    return model, ran


@pytest.mark.parametrize("name, mode", [
    ("val_loss", "min"), ("loss", "min"), ("mae", "min"), ("val_rmse", "min"), ("val_mse", "min"),
    ("accuracy", "max"), ("val_acc", "max"), ("val_f1_macro", "max"), ("auc", "max"), ("val_roc_auc", "max"),
    ("precision_weighted", "max"), ("val_recall", "max"), ("r2", "max"), ("val_r2", "max"),
    ("top5_accuracy", "max"), ("val_top_2", "max"),
])
def test_auto_mode_is_max_for_scores_and_min_for_losses(name, mode):
    assert EarlyStopping(monitor=name).mode == mode
    assert ModelCheckpoint("m.tanul", monitor=name).mode == mode
    assert ReduceLROnPlateau(monitor=name).mode == mode


def test_monitor_settings_are_checked_and_min_delta_is_a_magnitude():
    for cls in (EarlyStopping, ReduceLROnPlateau):
        with pytest.raises(ValueError, match=rf"^{cls.__name__}: expected mode 'auto', 'min' or 'max', got 'up'$"):
            cls(mode="up")
    assert EarlyStopping(min_delta=-0.25).min_delta == 0.25
    for bad in (-1, 1.5, True, "2"):
        with pytest.raises(ValueError, match=rf"^EarlyStopping: expected patience to be an int >= 0, got {bad!r}$"):
            EarlyStopping(patience=bad)
    for bad in (0, 1, 1.5, -0.5):
        with pytest.raises(ValueError, match=rf"^ReduceLROnPlateau: expected factor in \(0, 1\), got {bad!r}$"):
            ReduceLROnPlateau(factor=bad)


def test_improvement_needs_more_than_min_delta_in_both_modes():
    lo = EarlyStopping(mode="min", min_delta=0.125)
    assert lo._improved(0.875 - 1e-9, 1.0) and not lo._improved(0.875, 1.0)
    hi = EarlyStopping(mode="max", min_delta=0.125)
    assert hi._improved(1.125 + 1e-9, 1.0) and not hi._improved(1.125, 1.0)
    assert lo._worst() == np.inf and hi._worst() == -np.inf


def test_missing_monitored_value_warns_at_the_caller_and_names_what_there_is():
    es = EarlyStopping(monitor="val_auc")
    es.set_model(_FakeModel())
    with pytest.warns(RuntimeWarning, match=r"^EarlyStopping: the monitored value 'val_auc' is not in the logs; "
                                            r"available: loss, val_loss$") as rec:
        es.on_epoch_end(0, {"val_loss": 1.0, "loss": 2.0})
    if "MUTANT_UNDER_TEST" not in os.environ:  # mutmut's trampoline adds a frame to every call
        assert rec[0].filename == __file__
    with pytest.warns(RuntimeWarning, match=r"available: none$"):
        es.on_epoch_end(1, None)
    assert es.wait == 0 and es.best == -np.inf  # val_auc: bigger is better


def test_early_stopping_by_hand():
    # patience 2: best at epoch 1 (0.5); epochs 2 and 3 do not improve -> stop at epoch 3
    es = EarlyStopping(patience=2, restore_best_weights=True, verbose=1)
    model, ran = _drive(es, [1.0, 0.5, 0.6, 0.7, 0.1])
    assert ran == [0, 1, 2, 3] and es.stopped_epoch == 3 and es.best == 0.5 and es.best_epoch == 1
    assert model.history.best_epoch == 1
    assert model.calls == [("set_weights", [[1.0, 1.0]])]
    assert es.get_state() == {"wait": 2, "best": 0.5, "best_epoch": 1, "stopped_epoch": 3,
                              "best_weights": es.best_weights}
    fresh = EarlyStopping(patience=2)
    fresh.set_state({"wait": 1, "best": 0.25, "best_epoch": 4, "stopped_epoch": 6, "best_weights": None})
    assert (fresh.wait, fresh.best, fresh.best_epoch, fresh.stopped_epoch) == (1, 0.25, 4, 6)
    fresh.set_state({"wait": 1, "best": 0.25})
    assert fresh.best_epoch is None and fresh.stopped_epoch == -1
    assert repr(es) == "EarlyStopping(monitor='val_loss', patience=2, mode='min', restore_best_weights=True)"
    # patience 0: the first epoch without improvement stops (but never epoch 0 itself)
    _, ran = _drive(EarlyStopping(patience=0), [1.0, 2.0, 0.5])
    assert ran == [0, 1]


def test_early_stopping_prints_where_it_stopped(capsys):
    _drive(EarlyStopping(patience=1, verbose=1), [1.0, 0.123456, 0.5, 0.7])
    assert capsys.readouterr().out == "Epoch 3: early stopping; best val_loss 0.1235 at epoch 2\n"
    _drive(EarlyStopping(patience=1, verbose=0), [1.0, 0.5, 0.7])
    _drive(EarlyStopping(patience=5, verbose=1), [1.0, 0.5, 0.7])  # did not stop: nothing printed
    assert capsys.readouterr().out == ""


def test_early_stopping_baseline_and_warm_up():
    # baseline 0.4: 0.5 improves the best but not the baseline, so the count goes on: epochs 0, 1
    # and 2 count, and 2 does not improve -> stop there (without a baseline epoch 1 restarts the count)
    es = EarlyStopping(patience=2, baseline=0.4)
    _, ran = _drive(es, [1.0, 0.5, 0.6, 0.3])
    assert ran == [0, 1, 2] and es.best == 0.5
    _, ran = _drive(EarlyStopping(patience=2), [1.0, 0.5, 0.6, 0.3])
    assert ran == [0, 1, 2, 3]
    es = EarlyStopping(patience=2, baseline=0.4)
    _, ran = _drive(es, [1.0, 0.35, 0.36, 0.37, 0.38])
    assert ran == [0, 1, 2, 3] and es.best_epoch == 1
    # start_from_epoch 2: epochs 0 and 1 are not watched (their values, however good, are ignored)
    es = EarlyStopping(patience=1, start_from_epoch=2, restore_best_weights=True)
    model, ran = _drive(es, [0.0, 0.0, 1.0, 2.0, 3.0])
    assert ran == [0, 1, 2, 3] and es.best == 1.0 and es.best_epoch == 2
    assert model.calls == [("set_weights", [[2.0, 2.0]])]
    # restore without any improvement (NaN never improves): the first watched epoch's weights
    # (Keras's fallback)
    es = EarlyStopping(patience=1, restore_best_weights=True)
    model, ran = _drive(es, [float("nan"), float("nan"), float("nan")])
    assert ran == [0, 1] and es.best_epoch is None
    assert model.calls == [("set_weights", [[0.0, 0.0]])]


def test_model_checkpoint_kinds_formats_and_state(capsys):
    model = _FakeModel()
    for kwargs, kind in (({}, "save"), ({"save_weights_only": True}, "save_weights"),
                         ({"checkpoint": True}, "save_checkpoint")):
        model.calls.clear()
        cb = ModelCheckpoint("ck-{epoch:03d}-{val_loss:.2f}", **kwargs)
        _drive(cb, [0.5, 0.25], model=model)
        want = [(kind, "ck-001-0.50"), (kind, "ck-002-0.25")]
        if kind == "save_checkpoint":
            want = [(kind, "ck-001-0.50", 0), (kind, "ck-002-0.25", 1)]
        assert model.calls == want and cb.last_path == "ck-002-0.25"
    cb = ModelCheckpoint("best-{epoch}", monitor="val_acc", save_best_only=True, verbose=1)
    model.calls.clear()
    _drive(cb, [0.5, 0.4, 0.7], key="val_acc", model=model)
    assert model.calls == [("save", "best-1"), ("save", "best-3")]
    assert capsys.readouterr().out == "Epoch 1: saved best-1\nEpoch 3: saved best-3\n"
    assert cb.get_state() == {"best": 0.7}
    cb2 = ModelCheckpoint("x", monitor="val_acc", save_best_only=True)
    cb2.set_state({"best": 0.9})
    model.calls.clear()
    _drive(cb2, [0.8, 0.95], key="val_acc", model=model)
    assert model.calls == [("save", "x")]
    assert repr(cb2) == "ModelCheckpoint('x', monitor='val_acc', save_best_only=True)"
    with pytest.warns(RuntimeWarning, match="^ModelCheckpoint: the monitored value 'val_loss'"):
        _drive(ModelCheckpoint("y", save_best_only=True), [0.1], key="loss", model=model)
    with pytest.raises(ValueError, match=r"^ModelCheckpoint: cannot format the path 'm-\{val_acc\}' with epoch and "
                                         r"the logs \['val_loss'\]: 'val_acc'$"):
        _drive(ModelCheckpoint("m-{val_acc}"), [0.1], model=model)


def test_terminate_on_nan_by_hand(capsys):
    for bad in (float("nan"), float("inf"), -float("inf")):
        model = _FakeModel()
        cb = TerminateOnNaN()
        cb.set_model(model)
        cb.on_batch_end(0, {"loss": 1.0})
        cb.on_batch_end(1, {})
        cb.on_batch_end(2, None)
        assert not model.stop_training
        cb.on_batch_end(3, {"loss": bad})
        assert model.stop_training
        assert capsys.readouterr().out == f"Batch 4: invalid loss {bad}, terminating training\n"


def test_csv_logger_separator_append_and_missing_keys(tmp_path):
    path = tmp_path / "sub" / "log.tsv"  # the folder is created
    cb = CSVLogger(path, separator="\t")
    cb.on_train_begin()
    cb.on_epoch_end(0, {"loss": 0.5, "acc": 0.25})
    cb.on_train_end()
    cb.on_train_end()  # twice is harmless
    assert path.read_text() == "epoch\tacc\tloss\n0\t0.25\t0.5\n"
    cb = CSVLogger(path, separator="\t", append=True)
    cb.on_train_begin()
    cb.on_epoch_end(1, {"loss": 0.125})  # acc missing: an empty cell, in the file's column order
    cb.on_train_end()
    assert path.read_text() == "epoch\tacc\tloss\n0\t0.25\t0.5\n1\t\t0.125\n"
    assert repr(cb) == f"CSVLogger({str(path)!r}, append=True)"
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    cb = CSVLogger(empty, append=True)  # an empty file gets a header
    cb.on_train_begin()
    cb.on_epoch_end(0, {"loss": 1.0})
    cb.on_train_end()
    assert empty.read_text() == "epoch,loss\n0,1.0\n"
    cb = CSVLogger(empty)  # no append: the file starts again
    cb.on_train_begin()
    cb.on_epoch_end(0, None)
    cb.on_train_end()
    assert empty.read_text() == "epoch\n0\n"


def test_learning_rate_scheduler_signatures_checks_and_print(capsys):
    model = _FakeModel(lr=0.5)
    cb = LearningRateScheduler(lambda epoch, lr: lr * 0.5, verbose=1)
    cb.set_model(model)
    cb.on_epoch_begin(0)
    cb.on_epoch_begin(1)
    assert model.optimizer.lr == 0.125
    assert capsys.readouterr().out == "Epoch 1: learning rate 0.25\nEpoch 2: learning rate 0.125\n"
    logs = {}
    cb.on_epoch_end(1, logs)
    cb.on_epoch_end(1, None)
    assert logs == {"lr": 0.125}
    for bad in (-0.1, float("nan"), float("inf")):
        cb = LearningRateScheduler((lambda v: lambda epoch: v)(bad))  # the one-argument signature
        cb.set_model(model)
        with pytest.raises(ValueError, match=rf"^LearningRateScheduler: the schedule gave lr={bad} at epoch 3$"):
            cb.on_epoch_begin(3)
    with pytest.raises(TypeError, match=r"^LearningRateScheduler: expected a callable schedule, got 0.1$"):
        LearningRateScheduler(0.1)
    f = np.exp
    assert repr(LearningRateScheduler(f)) == f"LearningRateScheduler({f!r})"


def test_reduce_lr_on_plateau_by_hand(capsys):
    # min_delta 0.1: 0.95 is not an improvement on 1.0; patience 2, factor 0.25, verbose
    model = _FakeModel(lr=1.0)
    cb = ReduceLROnPlateau(factor=0.25, patience=2, min_delta=0.1, verbose=1)
    cb.set_model(model)
    logs = [{"val_loss": v} for v in (1.0, 0.95, 0.95, 0.5, 0.45, 0.45)]
    for epoch, lg in enumerate(logs):
        cb.on_epoch_end(epoch, lg)
    # epoch 2: second epoch without improvement -> lr 0.25; epoch 3 improves; 4, 5 do not -> 0.0625
    assert [lg["lr"] for lg in logs] == [1.0, 1.0, 1.0, 0.25, 0.25, 0.25]
    assert model.optimizer.lr == 0.0625
    assert capsys.readouterr().out == ("Epoch 3: ReduceLROnPlateau lowers lr to 0.25\n"
                                       "Epoch 6: ReduceLROnPlateau lowers lr to 0.0625\n")
    assert cb.get_state() == {"best": 0.5, "wait": 0, "cooldown_counter": 0}
    other = ReduceLROnPlateau()
    other.set_state({"best": 0.5, "wait": 3, "cooldown_counter": 2})
    assert (other.best, other.wait, other.cooldown_counter) == (0.5, 3, 2)
    assert repr(other) == "ReduceLROnPlateau(monitor='val_loss', factor=0.1, patience=10, min_lr=0.0)"
    # at min_lr already: nothing changes, nothing printed
    model = _FakeModel(lr=0.01)
    cb = ReduceLROnPlateau(patience=1, min_lr=0.01, verbose=1)
    cb.set_model(model)
    for epoch in range(3):
        cb.on_epoch_end(epoch, {"val_loss": 1.0})
    assert model.optimizer.lr == 0.01 and capsys.readouterr().out == ""
    # a missing value: the lr is still logged, nothing else happens
    with pytest.warns(RuntimeWarning):
        lg = {"loss": 1.0}
        cb.on_epoch_end(3, lg)
    assert lg["lr"] == 0.01 and cb.wait == 2


def test_history_records_appends_and_round_trips():
    h = tanul.callbacks.History()
    h.on_epoch_end(0, {"loss": 1, "val_loss": np.float32(0.5)})
    h.on_epoch_end(1, {"loss": 0.123456})
    h.on_epoch_end(2, None)
    assert h.epoch == [0, 1, 2] and h["loss"] == [1.0, 0.123456] and h["val_loss"] == [0.5]
    assert list(h.keys()) == ["loss", "val_loss"]
    assert repr(h) == "History(epochs=3, last={'loss': 0.1235, 'val_loss': 0.5})"
    h.best_epoch = 1
    other = tanul.callbacks.History()
    other.set_state(h.get_state())
    assert (other.history, other.epoch, other.best_epoch) == ({"loss": [1.0, 0.123456], "val_loss": [0.5]},
                                                              [0, 1, 2], 1)
    assert other.history["loss"] is not h.history["loss"]  # copied, not shared
    other.set_state({})
    assert (other.history, other.epoch, other.best_epoch) == ({}, [], None)


def test_lambda_and_callback_list_dispatch_in_order():
    from tanul.callbacks import Callback, CallbackList

    seen = []
    a = Lambda(on_epoch_end=lambda e, logs: seen.append(("a", e)), on_train_begin=lambda logs=None: seen.append("a0"))
    b = Lambda(on_epoch_end=lambda e, logs: seen.append(("b", e)))
    assert repr(a) == "Lambda(on_epoch_end, on_train_begin)"
    model = _FakeModel()
    cbs = CallbackList([a, b], model=model)
    assert a.model is model and b.model is model and list(cbs) == [a, b]
    cbs.on_train_begin()
    cbs.on_epoch_end(4, logs={})  # keyword arguments are passed on too
    cbs.on_batch_end(0, {})  # hooks nobody set do nothing
    assert seen == ["a0", ("a", 4), ("b", 4)]
    with pytest.raises(AttributeError):
        cbs.stop_training  # noqa: B018 - only on_* hooks are dispatched
    assert CallbackList([a]).callbacks[0].model is model  # no model given: left as it was
    with pytest.raises(TypeError, match=r"^fit: expected callbacks to be tanul.callbacks.Callback instances, got 3$"):
        CallbackList([a, 3])
    with pytest.raises(TypeError, match=r"^Lambda: unknown hook 'on_step'; expected one of on_train_begin, "
                                        r"on_train_end, on_epoch_begin, on_epoch_end, on_batch_begin, on_batch_end$"):
        Lambda(on_step=print)
    with pytest.raises(TypeError, match=r"^Lambda: on_epoch_end must be callable, got 1$"):
        Lambda(on_epoch_end=1)
    base = Callback()
    assert base.model is None and base.get_state() == {} and repr(base) == "Callback()"
    base.set_state({"x": 1})
    for hook in ("on_train_begin", "on_train_end"):
        assert getattr(base, hook)() is None


def test_progress_line_at_verbose_2():
    import io
    import re

    from tanul.callbacks.progress import ProgressBar, _fmt_logs

    assert _fmt_logs({"loss": 0.123456, "acc": 1, "note": "x", "val_loss": 2.5e-5}) == \
        "loss 0.1235  acc 1  val_loss 2.5e-05"
    out = io.StringIO()
    bar = ProgressBar(verbose=2, file=out)
    assert repr(bar) == "ProgressBar(verbose=2)"
    bar.on_train_begin({"epochs": 3, "samples": 100})
    bar.on_epoch_begin(1)
    bar.on_batch_end(0, {"size": 60, "loss": 1.0})
    bar.on_batch_end(1, {"size": 40, "loss": 0.5})
    bar.on_epoch_end(1, {"loss": 0.75})
    bar.on_train_end()
    line = out.getvalue()
    assert re.fullmatch(r"Epoch 2/3  \d+\.\ds  [\d,]+ samples/s  loss 0\.75\n", line), line
    assert bar._seen == 100


def test_progress_bar_at_verbose_1_counts_samples():
    pytest.importorskip("tqdm")
    import threading

    from tqdm.std import tqdm

    # tqdm's default lock holds a multiprocessing semaphore: in a process forked from one where it
    # was taken (a mutation-testing worker) it can block for ever; a thread lock is enough here
    old_lock = tqdm.get_lock()
    tqdm.set_lock(threading.RLock())
    try:
        _progress_bar_at_verbose_1()
    finally:
        tqdm.set_lock(old_lock)


def _progress_bar_at_verbose_1():
    import io

    from tanul.callbacks.progress import ProgressBar

    out = io.StringIO()
    bar = ProgressBar(verbose=1, file=out)
    bar.on_train_begin({"epochs": 2, "samples": 100})
    bar.on_epoch_begin(0)
    assert bar._bar.total == 100 and bar._bar.desc == "Epoch 1/2"
    assert bar._bar.unit == "sample" and bar._bar.unit_scale is True and bar._bar.leave is True
    bar.on_batch_end(0, {"size": 60, "loss": 0.5})
    assert bar._bar.n == 60 and bar._bar.postfix == "loss=0.5000"
    bar.on_epoch_end(0, {"loss": 0.25})
    assert bar._bar is None
    text = out.getvalue()
    assert "Epoch 1/2" in text and "60.0/100" in text and "loss 0.25]" in text.splitlines()[-1]
    bar.on_epoch_begin(1)
    bar.on_train_end()  # an interrupted epoch: the bar is closed
    assert bar._bar is None


def test_defaults_are_keras_and_quiet(capsys):
    # tf.keras.callbacks.ReduceLROnPlateau: factor 0.1, patience 10, min_delta 1e-4, cooldown 0, min_lr 0
    cb = ReduceLROnPlateau()
    assert (cb.factor, cb.patience, cb.min_delta, cb.cooldown, cb.min_lr, cb.verbose) == (0.1, 10, 1e-4, 0, 0.0, 0)
    assert cb.get_state() == {"best": np.inf, "wait": 0, "cooldown_counter": 0}
    assert LearningRateScheduler(lambda e: 0.1).verbose == 0
    from tanul.callbacks.progress import ProgressBar
    assert ProgressBar().verbose == 1
    from tanul.callbacks import LivePlot
    assert repr(LivePlot(mode="off", save="c.png")) == "LivePlot(every=1, mode='off', active=False, save='c.png')"


def test_reduce_lr_cooldown_of_two_epochs_by_hand():
    # patience 1, cooldown 2, a flat loss: reduce at epoch 1; epochs 2 and 3 cool down (the count
    # restarts at 3), so the next reduction is at 3, then 5
    model = _FakeModel(lr=1.0)
    cb = ReduceLROnPlateau(factor=0.5, patience=1, cooldown=2)
    cb.set_model(model)
    lrs = []
    for epoch in range(6):
        cb.on_epoch_end(epoch, {"val_loss": 1.0})
        lrs.append(model.optimizer.lr)
    assert lrs == [1.0, 0.5, 0.5, 0.25, 0.25, 0.125]


def test_schedule_gets_the_epoch_and_may_give_zero():
    model = _FakeModel(lr=1.0)
    cb = LearningRateScheduler(lambda epoch, lr: lr * 0.5 ** epoch)
    cb.set_model(model)
    for epoch in range(3):
        cb.on_epoch_begin(epoch)
    assert model.optimizer.lr == 1.0 * 0.5 ** 0 * 0.5 ** 1 * 0.5 ** 2
    cb = LearningRateScheduler(lambda epoch: 0.0)  # a learning rate of 0 freezes training: allowed
    cb.set_model(model)
    cb.on_epoch_begin(0)
    assert model.optimizer.lr == 0.0


def test_early_stopping_state_carries_the_best_weights():
    es = EarlyStopping(restore_best_weights=True)
    es.set_state({"wait": 0, "best": 0.5, "best_epoch": 2, "stopped_epoch": -1, "best_weights": [np.ones(2)]})
    model = _FakeModel()
    es.set_model(model)
    es.on_train_end()
    assert model.calls == [("set_weights", [[1.0, 1.0]])]


def test_csv_logger_closes_its_file_comma_append_and_nested_folder(tmp_path):
    path = tmp_path / "a" / "b" / "log.csv"
    cb = CSVLogger(path)
    cb.on_train_end()  # never started: nothing to close
    cb.on_train_begin()
    f = cb._file
    cb.on_epoch_end(0, {"loss": 0.5, "acc": 0.25})
    cb.on_train_end()
    assert f.closed and cb._file is None
    cb = CSVLogger(path, append=True)
    cb.on_train_begin()
    cb.on_epoch_end(1, {"loss": 0.125, "acc": 1.0})
    cb.on_train_end()
    assert path.read_text() == "epoch,acc,loss\n0,0.25,0.5\n1,1.0,0.125\n"
    blank = tmp_path / "blank.csv"
    blank.write_text("\n")  # a file whose first line is blank has no columns yet: it gets a header
    cb = CSVLogger(blank, append=True)
    cb.on_train_begin()
    cb.on_epoch_end(0, {"loss": 1.0})
    cb.on_train_end()
    assert blank.read_text() == "\nepoch,loss\n0,1.0\n"


def test_progress_line_rate_from_the_clock(monkeypatch):
    import io

    from tanul.callbacks import progress

    clock = iter([10.0, 10.5, 20.0, 20.0])
    monkeypatch.setattr(progress.time, "perf_counter", lambda: next(clock))
    out = io.StringIO()
    bar = progress.ProgressBar(verbose=2, file=out)
    bar.on_train_begin({"epochs": 2, "samples": 100})
    bar.on_epoch_begin(0)
    bar.on_batch_end(0, {"size": 100})
    bar.on_batch_end(1, {"loss": 1.0})  # no size: counts nothing
    bar.on_epoch_end(0, {"loss": 0.5})
    bar.on_epoch_begin(1)
    bar.on_batch_end(0, {"size": 100})
    bar.on_epoch_end(1, {"loss": 0.25})  # no time measured: the rate is shown as 0
    assert out.getvalue() == ("Epoch 1/2  0.5s  200 samples/s  loss 0.5\n"
                              "Epoch 2/2  0.0s  0 samples/s  loss 0.25\n")


def test_in_notebook_asks_the_running_ipython(monkeypatch):
    import sys
    import types

    from tanul.callbacks.live import in_notebook

    monkeypatch.delitem(sys.modules, "IPython", raising=False)
    assert in_notebook() is False  # IPython never imported: not a notebook

    def fake(shell):
        monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: shell))
        return in_notebook()

    assert fake(None) is False  # IPython imported, no shell running
    assert fake(types.SimpleNamespace(kernel=None, config={})) is False  # terminal IPython
    assert fake(types.SimpleNamespace(kernel=object(), config={})) is True  # a Jupyter kernel
    assert fake(types.SimpleNamespace(config={"IPKernelApp": {}})) is True  # nbclient and others
    assert fake(types.SimpleNamespace()) is False

    def broken():
        raise RuntimeError("no")

    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=broken))
    assert in_notebook() is False


def test_model_checkpoint_has_no_last_path_before_saving():
    assert ModelCheckpoint("x").last_path is None


def test_keras_defaults_of_early_stopping_and_checkpoint():
    # tf.keras.callbacks.EarlyStopping: min_delta 0, patience 0, verbose 0; ModelCheckpoint: save_best_only False
    es = EarlyStopping()
    assert (es.monitor, es.min_delta, es.patience, es.verbose, es.restore_best_weights) == ("val_loss", 0.0, 0,
                                                                                             0, False)
    assert ModelCheckpoint("x").save_best_only is False


def test_early_stopping_names_the_best_epoch_one_based(capsys):
    _drive(EarlyStopping(patience=1, verbose=1), [0.1, 0.5, 0.7])
    assert capsys.readouterr().out == "Epoch 2: early stopping; best val_loss 0.1 at epoch 1\n"


class _Plotter:
    """Stands in for tanul.plot.plot_history: records what it is asked to draw."""

    def __init__(self):
        self.calls = []

    def __call__(self, history, metrics=None, save=None):
        data = history if isinstance(history, dict) else history.history
        self.calls.append(({k: list(v) for k, v in data.items()}, metrics, save))
        return "figure"


@pytest.fixture
def plotter(monkeypatch):
    from tanul import protocol

    p = _Plotter()
    monkeypatch.setattr(protocol, "_history_plotter", [p])
    return p


def test_history_plot_passes_the_panels_on(plotter):
    h = tanul.callbacks.History()
    h.on_epoch_end(0, {"loss": 1.0})
    assert h.plot(["loss"], save="h.png") == "figure"
    assert plotter.calls == [({"loss": [1.0]}, ["loss"], "h.png")]


def test_live_plot_redraws_every_n_epochs_and_at_the_end(plotter):
    from tanul.callbacks import LivePlot

    with pytest.raises(ValueError, match=r"^LivePlot: expected every to be a positive int, got 2.0$"):
        LivePlot(every=2.0)
    live = LivePlot(metrics=("loss",), every=2, mode="off", save="c.png")
    assert live.metrics == ["loss"]
    model = _FakeModel()
    live.set_model(model)
    live.on_train_begin()
    for epoch, loss in enumerate([4.0, 3.0, 2.0]):
        live.on_epoch_begin(epoch)
        live.on_epoch_end(epoch, {"loss": loss})  # History runs after the user's callbacks ...
        model.history.on_epoch_end(epoch, {"loss": loss})  # ... and records the epoch afterwards
    live.on_train_end()
    # drawn after epoch 2 (1-based) with that epoch's logs added, then at the end for epoch 3
    assert plotter.calls == [({"loss": [4.0, 3.0]}, ["loss"], "c.png"),
                             ({"loss": [4.0, 3.0, 2.0]}, ["loss"], "c.png")]
    assert live.redraws == 2
    live.on_train_end()  # already drawn: nothing more
    assert live.redraws == 2
    # a second fit with the same callback starts again
    live.on_train_begin()
    live.on_epoch_begin(3)
    live.on_epoch_end(3, {"loss": 1.0})
    model.history.on_epoch_end(3, {"loss": 1.0})
    live.on_train_end()
    assert plotter.calls[-1] == ({"loss": [4.0, 3.0, 2.0, 1.0]}, ["loss"], "c.png") and live.redraws == 3
    # outside a notebook and without save=, nothing is drawn
    quiet = LivePlot(mode="off")
    quiet.set_model(model)
    quiet.on_epoch_end(0, {"loss": 1.0})
    quiet.on_train_end()
    assert quiet.redraws == 0 and len(plotter.calls) == 3


def test_live_plot_every_three_a_single_epoch_and_history_first(plotter):
    import types

    from tanul.callbacks import LivePlot

    live = LivePlot(every=3, mode="off", save="c.png")
    model = _FakeModel()
    live.set_model(model)
    live.on_train_begin()
    for epoch in range(4):
        live.on_epoch_begin(epoch)
        model.history.on_epoch_end(epoch, {"loss": float(epoch)})  # History first: nothing to add
        live.on_epoch_end(epoch, {"loss": float(epoch)})
    assert [c[0]["loss"] for c in plotter.calls] == [[0.0, 1.0, 2.0]]  # after the third epoch only
    live.on_train_end()
    assert [c[0]["loss"] for c in plotter.calls][-1] == [0.0, 1.0, 2.0, 3.0]
    # a one-epoch fit with every=2 is drawn at its end
    plotter.calls.clear()
    one = LivePlot(every=2, mode="off", save="c.png")
    model = _FakeModel()
    one.set_model(model)
    one.on_train_begin()
    one.on_epoch_begin(0)
    one.on_epoch_end(0, {"loss": 5.0})
    model.history.on_epoch_end(0, {"loss": 5.0})
    one.on_train_end()
    assert plotter.calls == [({"loss": [5.0]}, None, "c.png")]
    # a model without a history: the epoch's logs alone
    plotter.calls.clear()
    bare = LivePlot(mode="off", save="c.png")
    bare.set_model(types.SimpleNamespace())
    bare.on_train_begin()
    bare.on_epoch_begin(0)
    bare.on_epoch_end(0, {"loss": 2.0})
    bare.on_train_end()
    assert plotter.calls == [({"loss": [2.0]}, None, "c.png")]
