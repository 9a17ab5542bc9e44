"""``Sequential``: a stack of layers with compile / fit / evaluate / predict / summary.

Training in matrix form, one mini-batch ``(X, Y)`` at a time:

1. forward:  ``A_0 = X``, ``A_l = f_l(A_{l−1})`` for every layer, ``Ŷ = A_L``;
2. loss:     ``L = loss(Ŷ, Y) + Σ R(W)`` (mean over the batch, plus the regularisers);
3. backward: ``G_L = ∂L/∂Ŷ``, ``G_{l−1} = f_l.backward(G_l)``; each layer writes ``∂L/∂θ_l``;
4. step:     the optimiser updates all parameters at once in the flat buffer.

``batch_size=None`` is full-batch gradient descent, ``batch_size=1`` stochastic gradient descent,
anything between is mini-batch.
"""

from __future__ import annotations

import copy
import math
import signal
import sys
import threading
from typing import Any

import numpy as np

from tanul import losses as losses_mod
from tanul import optimizers as optimizers_mod
from tanul.callbacks import Callback, CallbackList, History, ProgressBar
from tanul.layers import base as layer_base
from tanul.layers.base import Layer
from tanul.layers.conv import format_shape
from tanul.ops.parallel import blas_single_threaded

__all__ = ["Sequential", "TrainingDivergedError"]


class TrainingDivergedError(FloatingPointError):
    """Raised by ``fit`` when the loss, a layer output or a parameter becomes NaN or infinite."""


def _check_array(name: str, a: Any, *, finite: bool = True) -> np.ndarray:
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


class _CtrlC:
    """While ``fit`` runs: the first Ctrl-C lets the current batch finish, then training stops
    cleanly (callbacks' ``on_train_end`` runs, e.g. EarlyStopping restores the best weights);
    a second Ctrl-C interrupts at once. Only in the main thread (signals live there)."""

    def __enter__(self) -> _CtrlC:
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


class Sequential:
    """A linear stack of layers.

    Parameters
    ----------
    layers : list of Layer, optional
    seed : int, optional
        Seeds the model's single ``numpy.random.Generator``, which feeds weight initialisation,
        shuffling, dropout masks and ``validation_split``; the same seed gives the same weights
        bit for bit (on the same machine and NumPy/BLAS build).
    dtype : "float32" (default) or "float64"
    input_shape : tuple, optional
        Shape of one sample; builds the model at once (otherwise it builds from the first data).
    name : str, optional

    Examples
    --------
    >>> import numpy as np
    >>> from tanul import Sequential, Dense
    >>> model = Sequential([Dense(8, activation="tanh"), Dense(1)], seed=0, input_shape=(2,))
    >>> model.compile(optimizer="adam", loss="mse")
    >>> model.count_params()
    33
    """

    def __init__(self, layers: list[Layer] | None = None, seed: int | None = None,
                 dtype: Any = "float32", input_shape: tuple[int, ...] | None = None,
                 name: str | None = None) -> None:
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise ValueError(f"Sequential: expected dtype 'float32' or 'float64', got {dtype!r}")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))
                                 or seed < 0):
            raise ValueError(f"Sequential: expected seed to be a non-negative int or None, got {seed!r}")
        self.seed = None if seed is None else int(seed)
        self.rng = np.random.default_rng(self.seed)
        self.name = name or "sequential"
        self.layers: list[Layer] = []
        self.built = False
        self.input_shape: tuple[int, ...] | None = None
        self.optimizer: Any = None
        self.loss: losses_mod.Loss | None = None
        self.metrics: list[Any] = []
        self.history = History()
        self.stop_training = False
        self._params = np.empty(0, self.dtype)
        self._grads = np.empty(0, self.dtype)
        self._index: dict[str, tuple[Layer, str, int, tuple[int, ...]]] = {}
        self._grad_views: dict[str, np.ndarray] = {}  # the views handed to the layers, by name
        for layer in layers or []:
            self.add(layer)
        if input_shape is not None:
            self.build(input_shape)

    # ------------------------------------------------------------------ structure
    def add(self, layer: Layer) -> None:
        """Append a layer (before the model is built)."""
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add: expected a tanul Layer, got {layer!r}")
        if self.built:
            raise RuntimeError("Sequential.add: the model is already built; create a new model")
        if any(layer is other for other in self.layers):
            raise ValueError(f"Sequential.add: layer {layer!r} is already in the model")
        if layer.name is None:
            base = layer._default_name()
            k = sum(1 for other in self.layers if (other.name or "").rsplit("_", 1)[0] == base)
            layer.name = f"{base}_{k}"
        elif any(layer.name == other.name for other in self.layers):
            raise ValueError(f"Sequential.add: duplicate layer name {layer.name!r}")
        self.layers.append(layer)

    def build(self, input_shape: tuple[int, ...]) -> None:
        """Build every layer for samples of ``input_shape`` and pack the parameters."""
        if not self.layers:
            raise ValueError("Sequential.build: the model has no layers")
        shape = tuple(int(s) for s in input_shape)
        if any(s < 1 for s in shape):
            raise ValueError(f"Sequential.build: expected positive dimensions, got input_shape={shape}")
        self.input_shape = shape
        for layer in self.layers:
            if not layer.built:
                layer.build(shape, self.rng, self.dtype)
            elif layer.input_shape != shape:
                raise ValueError(f"{layer._label()}: built for input {layer.input_shape}, "
                                 f"but the previous layer gives {shape}")
            shape = tuple(layer.output_shape(shape))
        self.layers[0].input_grad = False  # nothing upstream needs ∂L/∂x of the data
        self._pack()
        self.built = True

    def _pack(self) -> None:
        """Move every parameter into one flat buffer and every gradient into another."""
        entries = [(layer, k, p) for layer in self.layers for k, p in layer.params.items()]
        total = sum(p.size for _, _, p in entries)
        self._params = np.empty(total, self.dtype)
        self._grads = np.zeros(total, self.dtype)
        self._index = {}
        self._grad_views = {}
        off = 0
        for layer, k, p in entries:
            n = p.size
            pv = self._params[off:off + n].reshape(p.shape)
            pv[...] = p
            layer.params[k] = pv
            layer.grads[k] = self._grads[off:off + n].reshape(p.shape)
            self._grad_views[f"{layer.name}.{k}"] = layer.grads[k]
            self._index[f"{layer.name}.{k}"] = (layer, k, off, p.shape)
            off += n

    def _sync_grads(self) -> None:
        """Copy back gradients that a user layer rebound instead of writing in place."""
        for name, (layer, k, off, shape) in self._index.items():
            g = layer.grads[k]
            if g is self._grad_views.get(name):  # the usual case: written in place
                continue
            view = self._grads[off:off + g.size]
            if not np.shares_memory(g, view):
                view.reshape(shape)[...] = g
                layer.grads[k] = self._grad_views[name] = view.reshape(shape)

    def _ensure_built(self, x: np.ndarray) -> None:
        if not self.built:
            self.build(x.shape[1:])
        elif tuple(x.shape[1:]) != self.input_shape:
            raise ValueError(f"{self.name}: input shape mismatch.\n"
                             f"  Expect: (N, {', '.join(map(str, self.input_shape))})\n"
                             f"  Actual: {tuple(x.shape)}")

    @property
    def output_shape(self) -> tuple[int, ...]:
        if not self.built:
            raise RuntimeError(f"{self.name}: not built yet")
        shape = self.input_shape
        for layer in self.layers:
            shape = tuple(layer.output_shape(shape))
        return shape

    def count_params(self) -> int:
        return int(self._params.size)

    @property
    def parameter_names(self) -> list[str]:
        """Qualified parameter names in buffer order, e.g. ``["dense_0.W", "dense_0.b", ...]``."""
        return list(self._index)

    # ------------------------------------------------------------------ compile
    def compile(self, optimizer: Any = "adam", loss: Any = None, metrics: list | None = None) -> None:
        """Choose the optimiser, the loss and the metrics reported by ``fit`` and ``evaluate``.

        Parameters
        ----------
        optimizer : str or Optimizer, default "adam"
        loss : str or Loss
            ``"mse"``, ``"mae"``, ``"cross_entropy"``, ``"binary_cross_entropy"`` or an instance.
        metrics : list of str or callables, optional
            See ``tanul.metrics.get``. Metrics see the output after the loss's link (class
            probabilities for cross-entropy), training metrics are computed once per epoch on
            the outputs of that epoch's batches.
        """
        if loss is None:
            raise ValueError("compile: expected a loss (e.g. 'mse' or 'cross_entropy'), got None")
        self.optimizer = optimizers_mod.get(optimizer)
        self.loss = losses_mod.get(loss)
        self.metrics = []
        if metrics:
            from tanul import metrics as metrics_mod
            self.metrics = [metrics_mod.get(m) for m in metrics]
        last = self.layers[-1] if self.layers else None
        from tanul.layers.activations import Softmax
        if isinstance(last, Softmax) and getattr(self.loss, "from_logits", False):
            import warnings
            warnings.warn("compile: the last layer is Softmax but the loss has from_logits=True; "
                          "remove the Softmax layer (recommended) or use from_logits=False",
                          stacklevel=2)
        if self.built:
            self._build_optimizer()

    def _build_optimizer(self) -> None:
        if self.optimizer is not None and hasattr(self.optimizer, "build"):
            index = {name: (off, shape) for name, (_, _, off, shape) in self._index.items()}
            self.optimizer.build(self._params, self._grads, index)

    def _require_compiled(self, what: str) -> None:
        if self.loss is None:
            raise RuntimeError(f"{what}: compile the model first, e.g. "
                               "model.compile(optimizer='adam', loss='mse')")

    # ------------------------------------------------------------------ core passes
    def _forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        for layer in self.layers:
            x = layer.forward(x, training=training)
        return x

    def _backward(self, dy: np.ndarray) -> None:
        for layer in reversed(self.layers):
            dy = layer.backward(dy)

    def _regularization(self, grads: bool) -> float:
        """Add Σ R(W) to the loss and ∂R/∂W to the gradients, in this one place."""
        total = 0.0
        for layer in self.layers:
            for k, reg in layer.regularizers.items():
                total += reg.penalty(layer.params[k])
                if grads:
                    layer.grads[k] += reg.grad(layer.params[k])
        return total

    def _loss_and_grads(self, x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        """Forward, loss, backward on one batch; gradients land in the flat buffer."""
        out = self._forward(x, training=True)
        loss = self.loss.forward(out, y)
        self._backward(self.loss.backward())
        self._sync_grads()
        loss += self._regularization(grads=True)
        return loss, out

    def train_on_batch(self, x: Any, y: Any) -> float:
        """One optimiser step on one batch; returns the batch loss before the step."""
        self._require_compiled("train_on_batch")
        x, y = self._prepare(x, y, "train_on_batch")
        if self.optimizer is None or not self.optimizer.built:
            self._build_optimizer()
        loss, _ = self._loss_and_grads(x, y)
        self.optimizer.step()
        return loss

    def _prepare(self, x: Any, y: Any, where: str) -> tuple[np.ndarray, np.ndarray]:
        x = _check_array(f"{where}: x", x).astype(self.dtype, copy=False)
        self._ensure_built(x)
        yarr = _check_array(f"{where}: y", y)
        if yarr.shape[0] != x.shape[0]:
            raise ValueError(f"{where}: x and y must have the same number of samples, "
                             f"got {x.shape[0]} and {yarr.shape[0]}")
        if yarr.dtype.kind == "f":
            yarr = yarr.astype(self.dtype, copy=False)
        self.loss.check_target(yarr, (x.shape[0], *self.output_shape))
        return x, yarr

    # ------------------------------------------------------------------ fit
    def fit(self, x: Any, y: Any, epochs: int = 1, batch_size: int | None = 32,
            validation_data: tuple | None = None, validation_split: float = 0.0,
            shuffle: bool = True, callbacks: list[Callback] | None = None, verbose: int = 1,
            initial_epoch: int = 0) -> History:
        """Train for ``epochs`` passes over ``(x, y)``.

        Parameters
        ----------
        x : array (N, ...)
        y : array (N,) integer labels, (N, K) one-hot or targets
        epochs : int
            Index of the last epoch (with ``initial_epoch``, as in Keras).
        batch_size : int or None, default 32
            ``None``: full-batch gradient descent; ``1``: stochastic gradient descent.
        validation_data : (x_val, y_val), optional
        validation_split : float in [0, 1)
            Hold out the **last** fraction of ``x``/``y``, taken before any shuffling (Keras's
            choice; right for time-ordered data). Use ``preprocessing.train_val_test_split`` for
            a shuffled, stratified split.
        shuffle : bool
            Reshuffle the sample order every epoch (indices, not data) with the model's generator.
        callbacks : list of Callback
        verbose : 0 silent, 1 progress bar, 2 one line per epoch
        initial_epoch : int

        Returns
        -------
        History
            ``history.history["loss"]``, ``["val_loss"]``, metric values per epoch.

        Raises
        ------
        TrainingDivergedError
            When the loss becomes NaN or infinite; the message names the epoch, the batch and
            the first layer whose parameters or output went bad.
        """
        self._require_compiled("fit")
        if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
            raise ValueError(f"fit: expected epochs to be a positive int, got epochs={epochs!r}")
        if not 0 <= initial_epoch < epochs:
            raise ValueError(f"fit: expected 0 <= initial_epoch < epochs, got initial_epoch="
                             f"{initial_epoch}, epochs={epochs}")
        x, y = self._prepare(x, y, "fit")
        if not isinstance(validation_split, (int, float)) or not 0 <= validation_split < 1:
            raise ValueError(f"fit: expected validation_split in [0, 1), got {validation_split!r}")
        if validation_data is not None and validation_split:
            raise ValueError("fit: give either validation_data or validation_split, not both")
        if validation_split:
            n_val = int(math.floor(x.shape[0] * validation_split))
            if n_val < 1 or n_val >= x.shape[0]:
                raise ValueError(f"fit: validation_split={validation_split} of {x.shape[0]} samples "
                                 f"leaves {n_val} for validation and {x.shape[0] - n_val} for training")
            x, x_val = x[:-n_val], x[-n_val:]
            y, y_val = y[:-n_val], y[-n_val:]
            validation_data = (x_val, y_val)
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                raise ValueError("fit: expected validation_data=(x_val, y_val)")
            validation_data = self._prepare(*validation_data, "fit: validation_data")
        n = x.shape[0]
        if batch_size is None:
            batch_size = n
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"fit: expected batch_size to be a positive int or None (full batch), "
                             f"got batch_size={batch_size!r}")
        batch_size = min(int(batch_size), n)

        if hasattr(self.optimizer, "minimize_model"):  # full-batch optimisers (L-BFGS)
            return self.optimizer.minimize_model(self, x, y, epochs=epochs,
                                                 validation_data=validation_data,
                                                 callbacks=callbacks, verbose=verbose)
        if not self.optimizer.built or self.optimizer._p is not self._params:
            self._build_optimizer()

        # History after the user's callbacks, so that what they add to the logs (lr) is recorded
        cbs = list(callbacks or []) + [self.history]
        if verbose and not any(isinstance(cb, ProgressBar) for cb in cbs):
            cbs.append(ProgressBar(verbose=verbose))
        cb = CallbackList(cbs, model=self)
        self.stop_training = False
        n_batches = math.ceil(n / batch_size)
        keep_outputs = bool(self.metrics)
        cb.on_train_begin({"epochs": epochs, "samples": n, "batch_size": batch_size,
                           "steps": n_batches})
        nan_ok = any(type(c).__name__ == "TerminateOnNaN" for c in cbs)
        self.history.interrupted = False
        epoch = initial_epoch
        with _CtrlC() as ctrl_c, blas_single_threaded(self._has_conv()):
            for epoch in range(initial_epoch, epochs):
                cb.on_epoch_begin(epoch)
                order = self.rng.permutation(n) if shuffle else np.arange(n)
                outputs = np.empty((n, *self.output_shape), self.dtype) if keep_outputs else None
                total = 0.0
                for b in range(n_batches):
                    sl = slice(b * batch_size, (b + 1) * batch_size)
                    idx = order[sl]
                    xb, yb = (x[idx], y[idx]) if shuffle else (x[sl], y[sl])
                    cb.on_batch_begin(b, {"size": len(idx)})
                    # Overflow is reported once, clearly, by the finiteness checks (no warning spam).
                    with np.errstate(over="ignore", invalid="ignore"):
                        loss, out = self._loss_and_grads(xb, yb)
                        if not math.isfinite(loss):
                            if nan_ok:  # TerminateOnNaN: stop quietly instead of raising
                                cb.on_batch_end(b, {"size": len(idx), "loss": loss})
                                break
                            self._diverged(epoch, b, xb, loss)
                        self.optimizer.step()
                    total += loss * len(idx)
                    if keep_outputs:
                        outputs[idx] = out
                    cb.on_batch_end(b, {"size": len(idx), "loss": loss})
                    if ctrl_c.pressed:
                        break
                if ctrl_c.pressed or self.stop_training and not math.isfinite(loss):
                    self.history.interrupted = ctrl_c.pressed
                    if ctrl_c.pressed:
                        print(f"\nfit: interrupted (Ctrl-C) in epoch {epoch + 1} after batch {b + 1}; "
                              "the weights are those after that batch", file=sys.stderr)
                    break
                if not np.isfinite(self._params).all():  # a finite loss whose gradient overflowed
                    with np.errstate(over="ignore", invalid="ignore"):
                        self._diverged(epoch, n_batches - 1, xb, loss)
                logs: dict[str, float] = {"loss": total / n}
                if keep_outputs:
                    logs.update(self._metric_values(y, outputs))
                if validation_data is not None:
                    val = self.evaluate(*validation_data, batch_size=max(batch_size, 256))
                    logs.update({f"val_{k}": v for k, v in val.items()})
                cb.on_epoch_end(epoch, logs)
                if self.stop_training:
                    break
        cb.on_train_end({"epoch": epoch, "interrupted": self.history.interrupted})
        return self.history

    def _has_conv(self) -> bool:
        """Image layers run their own batch-parallel threads (tanul.ops.parallel)."""
        return any(type(layer).__module__.startswith(("tanul.layers.conv", "tanul.layers.pooling"))
                   for layer in self.layers)

    def _metric_values(self, y: np.ndarray, outputs: np.ndarray) -> dict[str, float]:
        scores = self.loss.link(outputs)
        return {m.name: float(m(y, scores)) for m in self.metrics}

    def _diverged(self, epoch: int, batch: int, xb: np.ndarray, loss: float) -> None:
        where = "the loss itself (the outputs are finite: check the targets and the loss)"
        for layer in self.layers:
            bad = [k for k, p in layer.params.items() if not np.isfinite(p).all()]
            if bad:
                where = (f"the parameters {bad} of layer {layer.name!r} (a previous update "
                         "diverged: lower the learning rate, clip gradients, or scale the inputs)")
                break
        else:
            a = xb
            for layer in self.layers:
                a = layer.forward(a, training=False)
                if not np.isfinite(a).all():
                    where = f"the output of layer {layer.name!r}"
                    break
        raise TrainingDivergedError(
            f"fit: training diverged at epoch {epoch + 1}, batch {batch + 1}: loss is {loss}; "
            f"the first non-finite values are in {where}"
        )

    # ------------------------------------------------------------------ inference
    def predict(self, x: Any, batch_size: int = 1024) -> np.ndarray:
        """Raw network outputs (logits for classifiers) in batches of ``batch_size``."""
        x = _check_array("predict: x", x).astype(self.dtype, copy=False)
        self._ensure_built(x)
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"predict: expected batch_size to be a positive int, got {batch_size!r}")
        n = x.shape[0]
        if n <= batch_size:
            return self._forward(x, training=False)
        out = np.empty((n, *self.output_shape), self.dtype)
        for s in range(0, n, batch_size):
            out[s:s + batch_size] = self._forward(x[s:s + batch_size], training=False)
        return out

    def predict_proba(self, x: Any, batch_size: int = 1024) -> np.ndarray:
        """Outputs after the loss's link: softmax probabilities for ``CrossEntropy``, σ for BCE."""
        self._require_compiled("predict_proba")
        return self.loss.link(self.predict(x, batch_size))

    def predict_classes(self, x: Any, batch_size: int = 1024) -> np.ndarray:
        """Predicted class labels: arg-max of the outputs, or output > 0.5 probability for one unit."""
        p = self.predict_proba(x, batch_size) if self.loss is not None else self.predict(x, batch_size)
        if p.ndim == 2 and p.shape[1] > 1:
            return p.argmax(axis=1)
        return (p.reshape(-1) >= 0.5).astype(np.int64)

    def evaluate(self, x: Any, y: Any, batch_size: int = 1024, verbose: int = 0) -> dict[str, float]:
        """Loss (with regularisation penalties) and metrics on ``(x, y)`` in inference mode."""
        self._require_compiled("evaluate")
        x, y = self._prepare(x, y, "evaluate")
        out = self.predict(x, batch_size=batch_size)
        result = {"loss": float(self.loss.forward(out, y)) + self._regularization(grads=False)}
        result.update(self._metric_values(y, out))
        if verbose:
            print("  ".join(f"{k} {v:.4f}" for k, v in result.items()))
        return result

    # ------------------------------------------------------------------ weights
    def get_weights(self) -> list[np.ndarray]:
        """Copies of every parameter (in ``parameter_names`` order) and every state array."""
        out = [layer.params[k].copy() for layer, k, _, _ in self._index.values()]
        for layer in self.layers:
            out.extend(v.copy() for v in layer.state.values())
        return out

    def set_weights(self, weights: list[np.ndarray]) -> None:
        """Copy arrays into the parameters (and state arrays), checking every shape."""
        targets = [(f"{name}", layer.params[k]) for name, (layer, k, _, _) in self._index.items()]
        for layer in self.layers:
            targets.extend((f"{layer.name}.{k}", v) for k, v in layer.state.items())
        weights = list(weights)
        if len(weights) != len(targets):
            raise ValueError(f"set_weights: expected {len(targets)} arrays, got {len(weights)}")
        for (name, dst), src in zip(targets, weights):
            src = np.asarray(src)
            if src.shape != dst.shape:
                raise ValueError(f"set_weights: shape mismatch for {name}: expected {dst.shape}, "
                                 f"got {src.shape}")
            dst[...] = src

    @property
    def params(self) -> np.ndarray:
        """The flat parameter buffer (a view: writing to it changes the model)."""
        return self._params

    @property
    def grads(self) -> np.ndarray:
        """The flat gradient buffer of the last backward pass."""
        return self._grads

    # ------------------------------------------------------------------ files
    def save(self, path: Any, include_optimizer: bool = True) -> None:
        """Write the whole model to a ``.tanul`` file (see :mod:`tanul.io`; no pickle, atomic)."""
        from tanul.io import save_model
        save_model(self, path, include_optimizer=include_optimizer)

    def save_weights(self, path: Any) -> None:
        """Write only the parameters and state arrays (see :func:`tanul.io.save_weights`)."""
        from tanul.io import save_weights
        save_weights(self, path)

    def load_weights(self, path: Any) -> None:
        """Load parameters saved by :meth:`save_weights` or :meth:`save`; shapes are checked."""
        from tanul.io import load_weights
        load_weights(self, path)

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "seed": self.seed,
            "dtype": self.dtype.name,
            "input_shape": list(self.input_shape) if self.input_shape else None,
            "layers": [layer_base.serialize(layer) for layer in self.layers],
        }

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: dict | None = None) -> Sequential:
        layers = [layer_base.get(c, custom_objects) for c in config["layers"]]
        shape = config.get("input_shape")
        return cls(layers, seed=config.get("seed"), dtype=config.get("dtype", "float32"),
                   input_shape=tuple(shape) if shape else None, name=config.get("name"))

    def clone(self) -> Sequential:
        """A deep copy (weights, optimiser state and generator included)."""
        return copy.deepcopy(self)

    # ------------------------------------------------------------------ display
    def summary(self, print_fn: Any = print) -> str:
        """Print (and return) each layer, its output shape and parameter count, and the total."""
        rows = [("Layer (type)", "Output shape", "Param #")]
        shape = self.input_shape
        for layer in self.layers:
            out = format_shape(layer.output_shape(shape)) if shape is not None else "?"
            if shape is not None:
                shape = tuple(layer.output_shape(shape))
            rows.append((f"{layer.name} ({type(layer).__name__})", out, f"{layer.n_params:,}"
                         if layer.built else "?"))
        w = [max(len(r[i]) for r in rows) + 3 for i in range(3)]
        line = "=" * sum(w)
        text = [f'Model "{self.name}"' + (f"  input {format_shape(self.input_shape)}"
                                          if self.input_shape else ""), line]
        for i, r in enumerate(rows):
            text.append(f"{r[0]:<{w[0]}}{r[1]:<{w[1]}}{r[2]:>{w[2]}}")
            if i == 0:
                text.append(line)
        text.append(line)
        n_state = sum(v.size for layer in self.layers for v in layer.state.values())
        if self.built:
            text.append(f"Trainable params: {self.count_params():,} "
                        f"({self.count_params() * self.dtype.itemsize / 1024:,.1f} KiB, {self.dtype.name})")
        else:
            text.append("Trainable params: ? (not built yet: pass input_shape=, call build(input_shape) "
                        "or fit)")
        if n_state:
            text.append(f"Non-trainable state: {n_state:,}")
        s = "\n".join(text)
        if print_fn is not None:
            print_fn(s)
        return s

    def __repr__(self) -> str:
        inner = ",\n".join(f"  {layer!r}" for layer in self.layers)
        opts = f", seed={self.seed}" if self.seed is not None else ""
        if self.dtype != np.float32:
            opts += f", dtype={self.dtype.name!r}"
        return f"Sequential([\n{inner}\n]{opts})" if self.layers else f"Sequential([]{opts})"

    def _repr_html_(self) -> str:
        """Jupyter shows the model as its summary in an HTML table (:func:`tanul.display.model_html`)."""
        from tanul.display import model_html
        return model_html(self)
