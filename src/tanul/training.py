"""The training loop behind ``Sequential.fit``, in named pieces.

``fit`` reads as five steps, each a function here:

1. :func:`check_epochs`, :func:`check_array`, :func:`check_batch_size`: argument checks;
2. :func:`split_validation`: hold out the last fraction of the data (before any shuffling);
3. :func:`make_callbacks`: the user's callbacks, then ``History``, then a ``ProgressBar``;
4. :func:`fit_mini_batches`: epochs of mini-batches, one optimiser ``step()`` per batch
   (:func:`train_one_epoch`, then :func:`epoch_logs`), or :func:`fit_full_batch` when the
   optimiser is a :class:`~tanul.protocol.FullBatchOptimizer` (L-BFGS);
5. ``on_train_end`` and the ``History``.

One mini-batch ``(X, Y)``: ``L, Ŷ = model.loss_and_grads(X, Y)`` (forward, loss, backward;
∇L lands in the flat gradient buffer), then ``optimizer.step()`` updates the flat parameter
buffer in place.

This module sits below :mod:`tanul.model` and never imports it: the loop uses the model
through :class:`~tanul.protocol.TrainingProblem` (``params``, ``grads``, ``loss_and_grads``)
plus ``optimizer``, ``rng``, ``dtype``, ``output_shape``, ``loss``, ``metrics``,
``history``, ``stop_training`` and ``evaluate``.
"""

from __future__ import annotations

import math
import signal
import sys
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from tanul.callbacks import CallbackList, History, ProgressBar, TerminateOnNaN
from tanul.ops.parallel import blas_single_threaded
from tanul.protocol import FullBatchOptimizer, TrainingDivergedError

__all__ = ["check_array", "check_epochs", "check_batch_size", "split_validation", "make_callbacks",
           "fit_mini_batches", "train_one_epoch", "epoch_logs", "fit_full_batch", "metric_values",
           "diagnose_divergence", "CtrlC", "EpochResult"]


# ---------------------------------------------------------------------- 1. argument checks
def check_array(name: str, a: Any, *, finite: bool = True) -> np.ndarray:
    """``a`` as a numeric array with at least one sample (and, with ``finite``, no NaN/inf)."""
    if a is None:
        raise ValueError(f"{name}: expected an array, got None")
    try:
        arr = np.asarray(a)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(f"{name}: expected an array-like of numbers, got {type(a).__name__}: {exc}") \
            from None
    if arr.dtype == object or arr.dtype.kind not in "biuf":
        raise TypeError(f"{name}: expected numeric data, got dtype {arr.dtype}")
    if arr.ndim == 0 or arr.shape[0] == 0:
        raise ValueError(f"{name}: expected at least one sample, got shape {arr.shape}")
    # min and max propagate NaN and expose ±inf without a temporary of the size of the data
    if finite and arr.dtype.kind == "f" and arr.size and \
            not (np.isfinite(arr.min()) and np.isfinite(arr.max())):
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise ValueError(f"{name}: contains NaN or inf (first at index {tuple(int(i) for i in bad)}); "
                         "clean or impute the data before training")
    return arr


def check_epochs(epochs: Any, initial_epoch: Any) -> None:
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise ValueError(f"fit: expected epochs to be a positive int, got epochs={epochs!r}")
    if not 0 <= initial_epoch < epochs:
        raise ValueError(f"fit: expected 0 <= initial_epoch < epochs, got initial_epoch="
                         f"{initial_epoch}, epochs={epochs}")


def check_batch_size(batch_size: Any, n: int) -> int:
    """The batch size to use for ``n`` samples: ``None`` means all of them (full batch)."""
    if batch_size is None:
        batch_size = n
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"fit: expected batch_size to be a positive int or None (full batch), "
                         f"got batch_size={batch_size!r}")
    return min(int(batch_size), n)


# ---------------------------------------------------------------------- 2. validation split
def split_validation(x: np.ndarray, y: np.ndarray, validation_data: Any,
                     validation_split: Any) -> tuple[np.ndarray, np.ndarray, Any]:
    """``(x, y, validation_data)``: with ``validation_split``, the **last** fraction of the
    samples (taken before any shuffling, as Keras does) becomes the validation data."""
    if not isinstance(validation_split, (int, float)) or not 0 <= validation_split < 1:
        raise ValueError(f"fit: expected validation_split in [0, 1), got {validation_split!r}")
    if validation_data is not None and validation_split:
        raise ValueError("fit: give either validation_data or validation_split, not both")
    if validation_split:
        n_val = int(math.floor(x.shape[0] * validation_split))
        if n_val < 1 or n_val >= x.shape[0]:
            raise ValueError(f"fit: validation_split={validation_split} of {x.shape[0]} samples "
                             f"leaves {n_val} for validation and {x.shape[0] - n_val} for training")
        return x[:-n_val], y[:-n_val], (x[-n_val:], y[-n_val:])
    if validation_data is not None and \
            (not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2):
        raise ValueError("fit: expected validation_data=(x_val, y_val)")
    return x, y, validation_data


# ---------------------------------------------------------------------- 3. callbacks
def make_callbacks(model: Any, callbacks: list | None, verbose: int, progress_verbose: int) -> CallbackList:
    """The user's callbacks, then the model's History (after them, so that what they add to the
    logs, such as ``lr``, is recorded), then a ProgressBar unless one was given or ``verbose=0``."""
    cbs = list(callbacks or []) + [model.history]
    if verbose and not any(isinstance(cb, ProgressBar) for cb in cbs):
        cbs.append(ProgressBar(verbose=progress_verbose))
    return CallbackList(cbs, model=model)


class CtrlC:
    """While ``fit`` runs: the first Ctrl-C lets the current batch finish, then training stops
    cleanly (callbacks' ``on_train_end`` runs, e.g. EarlyStopping restores the best weights);
    a second Ctrl-C interrupts at once. Only in the main thread (signals live there)."""

    def __enter__(self) -> CtrlC:
        self.pressed = False
        self._old = None
        if threading.current_thread() is threading.main_thread():
            try:
                self._old = signal.signal(signal.SIGINT, self._handler)
            except (ValueError, OSError):  # pragma: no cover - embedded interpreters
                self._old = None
        return self

    def _handler(self, signum: int, frame: Any) -> None:
        if self.pressed:
            raise KeyboardInterrupt
        self.pressed = True
        print("\nCtrl-C: stopping after this batch (press again to abort at once)", file=sys.stderr)

    def __exit__(self, *exc: Any) -> None:
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)


# ---------------------------------------------------------------------- 4. the loops
@dataclass
class EpochResult:
    """What one pass over the batches leaves: the summed loss, the outputs (for metrics), and
    the last batch seen (for the messages when training stops inside the epoch)."""

    total: float
    outputs: np.ndarray | None
    loss: float
    batch: int
    xb: np.ndarray


def fit_mini_batches(model: Any, x: np.ndarray, y: np.ndarray, *, epochs: int, initial_epoch: int,
                     batch_size: int, shuffle: bool, validation_data: tuple | None,
                     callbacks: CallbackList, image_layers: bool = False) -> History:
    """Epochs ``initial_epoch .. epochs-1`` of mini-batch training; returns ``model.history``.

    Stops after an epoch when a callback sets ``model.stop_training``; inside an epoch on
    Ctrl-C (:class:`CtrlC`) or on a non-finite loss (raises :class:`TrainingDivergedError`,
    or stops quietly when a :class:`~tanul.callbacks.TerminateOnNaN` is among the callbacks).
    ``image_layers``: the model has layers that run their own threads, so BLAS runs on one.
    """
    cb = callbacks
    model.stop_training = False
    n_batches = math.ceil(x.shape[0] / batch_size)
    cb.on_train_begin({"epochs": epochs, "samples": x.shape[0], "batch_size": batch_size,
                       "steps": n_batches})
    nan_ok = any(isinstance(c, TerminateOnNaN) for c in cb)
    model.history.interrupted = False
    epoch = initial_epoch
    with CtrlC() as ctrl_c, blas_single_threaded(image_layers):
        for epoch in range(initial_epoch, epochs):
            cb.on_epoch_begin(epoch)
            r = train_one_epoch(model, x, y, batch_size, shuffle, cb, ctrl_c, nan_ok, epoch)
            if ctrl_c.pressed or model.stop_training and not math.isfinite(r.loss):
                model.history.interrupted = ctrl_c.pressed
                if ctrl_c.pressed:
                    print(f"\nfit: interrupted (Ctrl-C) in epoch {epoch + 1} after batch {r.batch + 1}; "
                          "the weights are those after that batch", file=sys.stderr)
                break
            if not np.isfinite(model.params).all():  # a finite loss whose gradient overflowed
                with np.errstate(over="ignore", invalid="ignore"):
                    raise diagnose_divergence(model.layers, epoch, n_batches - 1, r.xb, r.loss)
            cb.on_epoch_end(epoch, epoch_logs(model, y, r, validation_data, batch_size))
            if model.stop_training:
                break
    cb.on_train_end({"epoch": epoch, "interrupted": model.history.interrupted})
    return model.history


def train_one_epoch(model: Any, x: np.ndarray, y: np.ndarray, batch_size: int, shuffle: bool,
                    cb: CallbackList, ctrl_c: CtrlC, nan_ok: bool, epoch: int) -> EpochResult:
    """One pass over the (reshuffled) samples: ``loss_and_grads`` then ``optimizer.step()``
    per batch. Stops early on Ctrl-C or, with ``nan_ok``, at the first non-finite loss."""
    n = x.shape[0]
    order = model.rng.permutation(n) if shuffle else np.arange(n)
    outputs = np.empty((n, *model.output_shape), model.dtype) if model.metrics else None
    total, loss, b, xb = 0.0, math.nan, 0, x[:0]
    for b in range(math.ceil(n / batch_size)):
        sl = slice(b * batch_size, (b + 1) * batch_size)
        idx = order[sl]
        xb, yb = (x[idx], y[idx]) if shuffle else (x[sl], y[sl])
        cb.on_batch_begin(b, {"size": len(idx)})
        # Overflow is reported once, clearly, by the finiteness checks (no warning spam).
        with np.errstate(over="ignore", invalid="ignore"):
            loss, out = model.loss_and_grads(xb, yb)
            if not math.isfinite(loss):
                if nan_ok:  # TerminateOnNaN: stop quietly instead of raising
                    cb.on_batch_end(b, {"size": len(idx), "loss": loss})
                    break
                raise diagnose_divergence(model.layers, epoch, b, xb, loss)
            model.optimizer.step()
        total += loss * len(idx)
        if outputs is not None:
            outputs[idx] = out
        cb.on_batch_end(b, {"size": len(idx), "loss": loss})
        if ctrl_c.pressed:
            break
    return EpochResult(total, outputs, loss, b, xb)


def epoch_logs(model: Any, y: np.ndarray, r: EpochResult, validation_data: tuple | None,
               batch_size: int) -> dict[str, float]:
    """The logs of one epoch: mean training loss, training metrics, ``val_*`` values."""
    logs: dict[str, float] = {"loss": r.total / y.shape[0]}
    if r.outputs is not None:
        logs.update(metric_values(model.loss, model.metrics, y, r.outputs))
    if validation_data is not None:
        val = model.evaluate(*validation_data, batch_size=max(batch_size, 256))
        logs.update({f"val_{k}": v for k, v in val.items()})
    return logs


def fit_full_batch(model: Any, x: np.ndarray, y: np.ndarray, *, epochs: int,
                   validation_data: tuple | None, callbacks: CallbackList) -> History:
    """Training with a :class:`~tanul.protocol.FullBatchOptimizer` (L-BFGS): the optimiser
    iterates on the whole data set; every iteration is one epoch for the callbacks and the
    History; ``model.stop_training`` stops it."""
    opt = model.optimizer
    if not isinstance(opt, FullBatchOptimizer):
        raise TypeError(f"fit_full_batch: expected a full-batch optimiser, got {opt!r}")
    cb = callbacks
    max_iter = opt.max_iter or epochs
    model.stop_training = False
    model.history.interrupted = False
    state = {"epoch": len(model.history.epoch)}

    def each(loss: float) -> bool:
        epoch = state["epoch"]
        cb.on_epoch_begin(epoch)
        logs = {"loss": float(loss)}
        if validation_data is not None:
            logs.update({f"val_{k}": v for k, v in model.evaluate(*validation_data).items()})
        cb.on_epoch_end(epoch, logs)
        state["epoch"] += 1
        return bool(model.stop_training)

    cb.on_train_begin({"epochs": max_iter, "samples": len(x), "batch_size": len(x), "steps": 1})
    opt.minimize(model, x, y, max_iter=max_iter, callback=each)
    cb.on_train_end({"epoch": state["epoch"] - 1})
    return model.history


# ---------------------------------------------------------------------- shared pieces
def metric_values(loss: Any, metrics: list, y: np.ndarray, outputs: np.ndarray) -> dict[str, float]:
    """Each metric on the outputs after the loss's link (probabilities for cross-entropy)."""
    scores = loss.link(outputs)
    return {m.name: float(m(y, scores)) for m in metrics}


def diagnose_divergence(layers: list, epoch: int, batch: int, xb: np.ndarray,
                        loss: float) -> TrainingDivergedError:
    """The error to raise when the loss went non-finite, naming where it started: the first
    layer with non-finite parameters, else the first layer whose output on ``xb`` is."""
    where = "the loss itself (the outputs are finite: check the targets and the loss)"
    for layer in layers:
        bad = [k for k, p in layer.params.items() if not np.isfinite(p).all()]
        if bad:
            where = (f"the parameters {bad} of layer {layer.name!r} (a previous update "
                     "diverged: lower the learning rate, clip gradients, or scale the inputs)")
            break
    else:
        a = xb
        for layer in layers:
            a = layer.forward(a, training=False)
            if not np.isfinite(a).all():
                where = f"the output of layer {layer.name!r}"
                break
    return TrainingDivergedError(
        f"fit: training diverged at epoch {epoch + 1}, batch {batch + 1}: loss is {loss}; "
        f"the first non-finite values are in {where}"
    )
