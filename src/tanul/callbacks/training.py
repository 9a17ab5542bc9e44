"""Callbacks that steer training: early stopping, checkpoints, logs, learning-rate control.

All follow Keras's semantics (``tf.keras.callbacks``) unless the docstring says otherwise, and
expose ``get_state``/``set_state`` so that a checkpoint can resume them exactly.
"""

from __future__ import annotations

import csv
import io as _io
import math
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from tanul.callbacks.base import Callback

__all__ = ["EarlyStopping", "ModelCheckpoint", "TerminateOnNaN", "CSVLogger", "LearningRateScheduler",
           "ReduceLROnPlateau"]


class _Monitor:
    """Shared logic: which value to watch and whether bigger is better."""

    def _setup_monitor(self, monitor: str, mode: str, min_delta: float) -> None:
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"{type(self).__name__}: expected mode 'auto', 'min' or 'max', got {mode!r}")
        if mode == "auto":
            name = monitor.removeprefix("val_")
            mode = "max" if ("acc" in name or name.startswith(("f1", "auc", "roc_auc", "precision",
                                                                  "recall", "r2", "top"))) else "min"
        self.monitor, self.mode, self.min_delta = monitor, mode, abs(float(min_delta))

    def _value(self, logs: dict | None) -> float | None:
        logs = logs or {}
        if self.monitor not in logs:
            warnings.warn(f"{type(self).__name__}: the monitored value {self.monitor!r} is not in the "
                          f"logs; available: {', '.join(sorted(logs)) or 'none'}", RuntimeWarning,
                          stacklevel=3)
            return None
        return float(logs[self.monitor])

    def _improved(self, value: float, best: float) -> bool:
        if self.mode == "min":
            return value < best - self.min_delta
        return value > best + self.min_delta

    def _worst(self) -> float:
        return math.inf if self.mode == "min" else -math.inf


class EarlyStopping(_Monitor, Callback):
    """Stop training when ``monitor`` has stopped improving for ``patience`` epochs.

    An epoch improves when the value beats the best so far by more than ``min_delta`` (lower is
    better in ``mode="min"``; ``"auto"`` picks ``max`` for accuracy-like names). With
    ``restore_best_weights=True`` the model ends with the weights of the best epoch. Keras
    restores them only when it stops early; tanul also restores them when training reaches
    ``epochs`` first (what users of Keras commonly patch in), so the returned model is always
    the best one seen. The best epoch is recorded in ``model.history.best_epoch`` so that plots can mark it.

    Parameters
    ----------
    monitor : str, default "val_loss"
    min_delta : float
    patience : int
        Epochs without improvement after which training stops.
    mode : "auto", "min" or "max"
    restore_best_weights : bool
    baseline : float, optional
        Training stops if the value does not beat the baseline within ``patience`` epochs.
    start_from_epoch : int
        Epochs to wait before watching (warm-up).
    """

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0.0, patience: int = 0,
                 mode: str = "auto", restore_best_weights: bool = False, baseline: float | None = None,
                 start_from_epoch: int = 0, verbose: int = 0) -> None:
        super().__init__()
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 0:
            raise ValueError(f"EarlyStopping: expected patience to be an int >= 0, got {patience!r}")
        self._setup_monitor(monitor, mode, min_delta)
        self.patience, self.restore_best_weights = patience, bool(restore_best_weights)
        self.baseline, self.start_from_epoch, self.verbose = baseline, int(start_from_epoch), verbose
        self._reset()

    def _reset(self) -> None:
        self.wait = 0
        self.best = self._worst()
        self.best_epoch: int | None = None
        self.best_weights: list[np.ndarray] | None = None
        self.stopped_epoch = -1

    def on_train_begin(self, logs=None):
        self._reset()

    def on_epoch_end(self, epoch, logs=None):
        value = self._value(logs)
        if value is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()  # Keras: fall back to the first epoch
        self.wait += 1
        if self._improved(value, self.best):
            self.best, self.best_epoch = value, epoch
            if self.baseline is None or self._improved(value, float(self.baseline)):
                self.wait = 0  # only a value that also beats the baseline restarts the count
            self.model.history.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.restore_best_weights and self.best_weights is not None:
            self.model.set_weights(self.best_weights)
        if self.verbose and self.stopped_epoch >= 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping; best {self.monitor} "
                  f"{self.best:.4g} at epoch {(self.best_epoch or 0) + 1}")

    def get_state(self):
        return {"wait": self.wait, "best": self.best, "best_epoch": self.best_epoch,
                "stopped_epoch": self.stopped_epoch, "best_weights": self.best_weights}

    def set_state(self, state):
        self.wait, self.best = int(state["wait"]), float(state["best"])
        self.best_epoch, self.stopped_epoch = state.get("best_epoch"), int(state.get("stopped_epoch", -1))
        self.best_weights = state.get("best_weights")

    def __repr__(self):
        return (f"EarlyStopping(monitor={self.monitor!r}, patience={self.patience}, mode={self.mode!r}, "
                f"restore_best_weights={self.restore_best_weights})")


class ModelCheckpoint(_Monitor, Callback):
    """Save the model (or a full checkpoint) after epochs, atomically.

    ``path`` may contain ``{epoch}`` and log keys, e.g. ``"ckpt-{epoch:02d}-{val_loss:.3f}.tanul"``
    (``epoch`` is 1-based, as in Keras). With ``save_best_only`` the file is written only when
    ``monitor`` improves. ``save_weights_only`` writes ``model.save_weights(path)``;
    ``checkpoint=True`` writes ``model.save_checkpoint(path, epoch=epoch)`` (optimiser,
    generator and history too, for an exact resume); the default writes ``model.save(path)``.
    For a ``Sequential`` these are :func:`tanul.io.save_weights`, :func:`tanul.io.save_checkpoint`
    and :func:`tanul.io.save_model`; the callback itself only relies on the three methods of
    :class:`tanul.protocol.CallbackTarget`, so it never imports the persistence layer.
    """

    def __init__(self, path: str | os.PathLike, monitor: str = "val_loss", save_best_only: bool = False,
                 mode: str = "auto", save_weights_only: bool = False, checkpoint: bool = False,
                 verbose: int = 0) -> None:
        super().__init__()
        self._setup_monitor(monitor, mode, 0.0)
        self.path = str(path)
        self.save_best_only, self.save_weights_only = bool(save_best_only), bool(save_weights_only)
        self.checkpoint, self.verbose = bool(checkpoint), verbose
        self.best = self._worst()
        self.last_path: str | None = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.save_best_only:
            value = self._value(logs)
            if value is None or not self._improved(value, self.best):
                return
            self.best = value
        try:
            path = self.path.format(epoch=epoch + 1, **logs)
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"ModelCheckpoint: cannot format the path {self.path!r} with epoch and "
                             f"the logs {sorted(logs)}: {exc}") from None
        if self.save_weights_only:
            self.model.save_weights(path)
        elif self.checkpoint:
            self.model.save_checkpoint(path, epoch=epoch)
        else:
            self.model.save(path)
        self.last_path = path
        if self.verbose:
            print(f"Epoch {epoch + 1}: saved {path}")

    def get_state(self):
        return {"best": self.best}

    def set_state(self, state):
        self.best = float(state["best"])

    def __repr__(self):
        return (f"ModelCheckpoint({self.path!r}, monitor={self.monitor!r}, "
                f"save_best_only={self.save_best_only})")


class TerminateOnNaN(Callback):
    """Stop training as soon as a batch loss is NaN or infinite (instead of raising).

    Without it ``fit`` raises :class:`tanul.TrainingDivergedError` with a diagnosis; this
    callback stops quietly at that batch (Keras's behaviour) and leaves ``model.stop_training``
    set. The weights are those of the failing step.
    """

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            print(f"Batch {batch + 1}: invalid loss {loss}, terminating training")
            self.model.stop_training = True


class CSVLogger(Callback):
    """Append one CSV row per epoch (``epoch`` then the log keys) to ``path``, flushed each epoch.

    ``append=True`` continues an existing file (for resumed training).
    """

    def __init__(self, path: str | os.PathLike, separator: str = ",", append: bool = False) -> None:
        super().__init__()
        self.path, self.separator, self.append = Path(path), separator, bool(append)
        self.keys: list[str] | None = None
        self._file = None

    def on_train_begin(self, logs=None):
        exists = self.append and self.path.exists() and self.path.stat().st_size > 0
        self.keys = None
        if exists:
            with open(self.path, newline="") as f:
                header = f.readline().strip()
            self.keys = header.split(self.separator)[1:] if header else None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "a" if self.append else "w", newline="")  # noqa: SIM115

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        buf = _io.StringIO()
        w = csv.writer(buf, delimiter=self.separator)
        if self.keys is None:
            self.keys = sorted(logs)
            w.writerow(["epoch", *self.keys])
        w.writerow([epoch, *(repr(float(logs[k])) if k in logs else "" for k in self.keys)])
        self._file.write(buf.getvalue())
        self._file.flush()

    def on_train_end(self, logs=None):
        if self._file is not None:
            self._file.close()
            self._file = None

    def __repr__(self):
        return f"CSVLogger({str(self.path)!r}, append={self.append})"


class LearningRateScheduler(Callback):
    """Set the optimiser's learning rate at the start of every epoch: ``lr = schedule(epoch)``
    or ``schedule(epoch, lr)`` (Keras's two signatures)."""

    def __init__(self, schedule: Any, verbose: int = 0) -> None:
        super().__init__()
        if not callable(schedule):
            raise TypeError(f"LearningRateScheduler: expected a callable schedule, got {schedule!r}")
        self.schedule, self.verbose = schedule, verbose

    def on_epoch_begin(self, epoch, logs=None):
        opt = self.model.optimizer
        try:
            lr = self.schedule(epoch, float(opt.current_lr))
        except TypeError:
            lr = self.schedule(epoch)
        lr = float(lr)
        if not math.isfinite(lr) or lr < 0:
            raise ValueError(f"LearningRateScheduler: the schedule gave lr={lr} at epoch {epoch}")
        opt.lr = lr
        if self.verbose:
            print(f"Epoch {epoch + 1}: learning rate {lr:.4g}")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["lr"] = float(self.model.optimizer.current_lr)

    def __repr__(self):
        return f"LearningRateScheduler({self.schedule!r})"


class ReduceLROnPlateau(_Monitor, Callback):
    """Multiply the learning rate by ``factor`` when ``monitor`` has not improved for ``patience``
    epochs; then wait ``cooldown`` epochs; never go below ``min_lr`` (Keras's semantics)."""

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10,
                 mode: str = "auto", min_delta: float = 1e-4, cooldown: int = 0, min_lr: float = 0.0,
                 verbose: int = 0) -> None:
        super().__init__()
        if not 0 < factor < 1:
            raise ValueError(f"ReduceLROnPlateau: expected factor in (0, 1), got {factor!r}")
        self._setup_monitor(monitor, mode, min_delta)
        self.factor, self.patience, self.cooldown = float(factor), int(patience), int(cooldown)
        self.min_lr, self.verbose = float(min_lr), verbose
        self.best, self.wait, self.cooldown_counter = self._worst(), 0, 0

    def on_epoch_end(self, epoch, logs=None):
        value = self._value(logs)
        opt = self.model.optimizer
        if logs is not None:
            logs["lr"] = float(opt.current_lr)
        if value is None:
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self._improved(value, self.best):
            self.best, self.wait = value, 0
        elif self.cooldown_counter <= 0:
            self.wait += 1
            if self.wait >= self.patience:
                old = float(opt.current_lr)
                if old > self.min_lr:
                    opt.lr = max(old * self.factor, self.min_lr)
                    if self.verbose:
                        print(f"Epoch {epoch + 1}: ReduceLROnPlateau lowers lr to {opt.lr:.4g}")
                    self.cooldown_counter, self.wait = self.cooldown, 0

    def get_state(self):
        return {"best": self.best, "wait": self.wait, "cooldown_counter": self.cooldown_counter}

    def set_state(self, state):
        self.best, self.wait = float(state["best"]), int(state["wait"])
        self.cooldown_counter = int(state["cooldown_counter"])

    def __repr__(self):
        return (f"ReduceLROnPlateau(monitor={self.monitor!r}, factor={self.factor}, "
                f"patience={self.patience}, min_lr={self.min_lr})")
