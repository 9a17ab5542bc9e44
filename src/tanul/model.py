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
import warnings
from typing import Any

import numpy as np

from tanul import losses as losses_mod
from tanul import metrics as metrics_mod
from tanul import optimizers as optimizers_mod
from tanul import training as loop
from tanul.callbacks import Callback, History
from tanul.callbacks.live import in_notebook
from tanul.display import ModelSummary, model_html
from tanul.layers import base as layer_base
from tanul.layers.activations import Softmax
from tanul.layers.base import Layer
from tanul.ops.parallel import blas_single_threaded, num_threads, parallel_for
from tanul.parameters import FlatParameters
from tanul.protocol import FullBatchOptimizer, TrainingDivergedError, model_store
from tanul.summary import model_repr, summary_text

_PRINT = print   # summary()'s default: replaced by the HTML table in a notebook

__all__ = ["Sequential", "TrainingDivergedError"]


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
        self._flat = FlatParameters([], self.dtype)  # the flat buffers, filled by build()
        for layer in layers or []:
            self.add(layer)
        if input_shape is not None:
            self.build(input_shape)

    # ------------------------------------------------------------------ structure
    def add(self, layer: Layer) -> None:
        """Append a layer (before the model is built).

        Constant time per layer: the layers already in the model are indexed (identities, names
        and how many of each default-name base there are), so a model of n layers is assembled
        in O(n), even from a file with tens of thousands of layers.
        """
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add: expected a tanul Layer, got {layer!r}")
        if self.built:
            raise RuntimeError("Sequential.add: the model is already built; create a new model")
        ids, names, bases = self._layer_index()
        if id(layer) in ids:
            raise ValueError(f"Sequential.add: layer {layer!r} is already in the model")
        if layer.name is None:
            base = layer._default_name()
            layer.name = f"{base}_{bases.get(base, 0)}"
        elif layer.name in names:
            raise ValueError(f"Sequential.add: duplicate layer name {layer.name!r}")
        self.layers.append(layer)
        ids.add(id(layer))
        names.add(layer.name)
        base = layer.name.rsplit("_", 1)[0]
        bases[base] = bases.get(base, 0) + 1
        self._index = (self.layers, len(self.layers), ids, names, bases)

    def _layer_index(self) -> tuple[set[int], set[str], dict[str, int]]:
        """``(ids, names, count per name base)`` of ``self.layers``, rebuilt only when the list
        was replaced or changed length behind ``add``'s back."""
        index = getattr(self, "_index", None)
        if index is not None and index[0] is self.layers and index[1] == len(self.layers):
            return index[2], index[3], index[4]
        ids = {id(other) for other in self.layers}
        names = {other.name for other in self.layers if other.name is not None}
        bases: dict[str, int] = {}
        for other in self.layers:
            base = (other.name or "").rsplit("_", 1)[0]
            bases[base] = bases.get(base, 0) + 1
        return ids, names, bases

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
        self._flat = FlatParameters(self.layers, self.dtype)
        self.built = True

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
        return int(self._flat.params.size)

    @property
    def parameter_names(self) -> list[str]:
        """Qualified parameter names in buffer order, e.g. ``["dense_0.W", "dense_0.b", ...]``."""
        return list(self._flat.index)

    def named_parameters(self) -> dict[str, np.ndarray]:
        """``{qualified name: parameter}`` in buffer order; the arrays are views (not copies)."""
        return self._flat.named()

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
        self.metrics = [metrics_mod.get(m) for m in metrics or []]
        last = self.layers[-1] if self.layers else None
        if isinstance(last, Softmax) and getattr(self.loss, "from_logits", False):
            warnings.warn("compile: the last layer is Softmax but the loss has from_logits=True; "
                          "remove the Softmax layer (recommended) or use from_logits=False",
                          stacklevel=2)
        if self.built:
            self._build_optimizer()

    def _build_optimizer(self) -> None:
        if self.optimizer is not None and hasattr(self.optimizer, "build"):
            self.optimizer.build(self._flat.params, self._flat.grads, self._flat.offsets())
            # each thread updates the weight blocks whose products it computed (the layers'
            # param_blocks), so they stay in its core's cache (tanul.ops.matmul); build() dropped
            # parts of earlier buffers; a runner the user set by hand is left alone
            opt = self.optimizer
            if getattr(opt, "parallel_for", 0) is None and num_threads() > 1:
                parts = self._flat.thread_parts()
                if parts is not None:
                    opt.parallel_for, opt.parallel_parts = parallel_for, parts

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
        """``dy = layer.backward(dy)`` from the last layer to the first; a layer with
        ``backward_fused(prev, dy)`` (max-pooling after a convolution) may do its own and the
        previous layer's backward in one go (it returns ``NotImplemented`` when it cannot)."""
        layers = self.layers
        i = len(layers) - 1
        while i >= 0:
            layer = layers[i]
            fused = getattr(layer, "backward_fused", None)
            if fused is not None and i > 0:
                dx = fused(layers[i - 1], dy)
                if dx is not NotImplemented:
                    dy, i = dx, i - 2
                    continue
            dy = layer.backward(dy)
            i -= 1

    def _regularization(self, grads: bool) -> float:
        """Add Σ R(W) to the loss and ∂R/∂W to the gradients, in this one place."""
        total = 0.0
        for layer in self.layers:
            for k, reg in layer.regularizers.items():
                total += reg.penalty(layer.params[k])
                if grads:
                    layer.grads[k] += reg.grad(layer.params[k])
        return total

    def loss_and_grads(self, x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        """Forward, loss, backward on one prepared batch (arrays of the model's dtype):
        returns ``(L, outputs)`` with ``L = loss(Ŷ, Y) + Σ R(W)`` and leaves ``∂L/∂θ`` in
        :attr:`grads` (the :class:`tanul.protocol.TrainingProblem` that optimisers use)."""
        out = self._forward(x, training=True)
        loss = self.loss.forward(out, y)
        self._backward(self.loss.backward())
        self._flat.sync_grads()
        loss += self._regularization(grads=True)
        return loss, out

    def train_on_batch(self, x: Any, y: Any) -> float:
        """One optimiser step on one batch; returns the batch loss before the step."""
        self._require_compiled("train_on_batch")
        x, y = self._prepare(x, y, "train_on_batch")
        if self.optimizer is None or not self.optimizer.built:
            self._build_optimizer()
        loss, _ = self.loss_and_grads(x, y)
        self.optimizer.step()
        return loss

    def _prepare(self, x: Any, y: Any, where: str) -> tuple[np.ndarray, np.ndarray]:
        x = loop.check_array(f"{where}: x", x).astype(self.dtype, copy=False)
        self._ensure_built(x)
        yarr = loop.check_array(f"{where}: y", y)
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
        loop.check_epochs(epochs, initial_epoch)
        x, y = self._prepare(x, y, "fit")
        x, y, validation_data = loop.split_validation(x, y, validation_data, validation_split)
        if validation_data is not None:
            validation_data = self._prepare(*validation_data, "fit: validation_data")
        batch_size = loop.check_batch_size(batch_size, x.shape[0])
        if isinstance(self.optimizer, FullBatchOptimizer):  # L-BFGS: one iteration per epoch
            cbs = loop.make_callbacks(self, callbacks, verbose, progress_verbose=2)
            return loop.fit_full_batch(self, x, y, epochs=epochs,
                                           validation_data=validation_data, callbacks=cbs)
        if not self.optimizer.is_built_for(self._flat.params):
            self._build_optimizer()
        cbs = loop.make_callbacks(self, callbacks, verbose, progress_verbose=verbose)
        return loop.fit_mini_batches(self, x, y, epochs=epochs, initial_epoch=initial_epoch,
                                         batch_size=batch_size, shuffle=shuffle,
                                         validation_data=validation_data, callbacks=cbs,
                                         image_layers=self._runs_threads(training=True))

    def _runs_threads(self, training: bool) -> bool:
        """Whether a layer runs its passes on tanul's threads (tanul.ops.parallel)."""
        return any(layer.runs_threads(training) for layer in self.layers)

    # ------------------------------------------------------------------ inference
    def predict(self, x: Any, batch_size: int = 1024) -> np.ndarray:
        """Raw network outputs (logits for classifiers) in batches of ``batch_size``."""
        x = loop.check_array("predict: x", x).astype(self.dtype, copy=False)
        self._ensure_built(x)
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"predict: expected batch_size to be a positive int, got {batch_size!r}")
        n = x.shape[0]
        # Image layers run their own threads: the BLAS on one thread for the whole call (one
        # threadpoolctl switch, not one per conv layer and batch, and no BLAS threads left
        # spinning after the dense layers while tanul's threads need the cores). One sample:
        # nothing to split, no switch.
        with blas_single_threaded(n > 1 and self._runs_threads(training=False)):
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
        result.update(loop.metric_values(self.loss, self.metrics, y, out))
        if verbose:
            print("  ".join(f"{k} {v:.4f}" for k, v in result.items()))
        return result

    # ------------------------------------------------------------------ weights
    def get_weights(self) -> list[np.ndarray]:
        """Copies of every parameter (in ``parameter_names`` order) and every state array."""
        out = [p.copy() for p in self._flat.named().values()]
        for layer in self.layers:
            out.extend(v.copy() for v in layer.state.values())
        return out

    def set_weights(self, weights: list[np.ndarray]) -> None:
        """Copy arrays into the parameters (and state arrays), checking every shape."""
        targets = list(self._flat.named().items())
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
        return self._flat.params

    @property
    def grads(self) -> np.ndarray:
        """The flat gradient buffer of the last backward pass."""
        return self._flat.grads

    # ------------------------------------------------------------------ files
    # Persistence lives above the model (tanul.io); these methods reach it through the
    # ModelStore contract of tanul.protocol, which tanul.io registers when it is imported.
    def save(self, path: Any, include_optimizer: bool = True) -> None:
        """Write the whole model to a ``.tanul`` file (see :mod:`tanul.io`; no pickle, atomic)."""
        model_store().save_model(self, path, include_optimizer=include_optimizer)

    def save_weights(self, path: Any) -> None:
        """Write only the parameters and state arrays (see :func:`tanul.io.save_weights`)."""
        model_store().save_weights(self, path)

    def load_weights(self, path: Any) -> None:
        """Load parameters saved by :meth:`save_weights` or :meth:`save`; shapes are checked."""
        model_store().load_weights(self, path)

    def save_checkpoint(self, path: Any, *, epoch: int, extra: dict | None = None,
                        callbacks: list | None = None) -> None:
        """Write everything needed to resume training exactly (see :func:`tanul.io.save_checkpoint`)."""
        model_store().save_checkpoint(path, self, epoch=epoch, extra=extra, callbacks=callbacks)

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

    def __deepcopy__(self, memo: dict) -> Sequential:
        # A deep copy of a NumPy view is a separate array, so the copied layers would no longer
        # write into the copied flat buffers: pack the copies again (values are unchanged) and
        # re-attach a built optimiser, which keeps its state for buffers of the same size.
        new = type(self).__new__(type(self))
        memo[id(self)] = new
        for key, value in self.__dict__.items():
            if key != "_index":  # identities of the old layers: rebuilt on demand
                setattr(new, key, copy.deepcopy(value, memo))
        if new.built:
            new._flat = FlatParameters(new.layers, new.dtype)
            if getattr(new.optimizer, "built", False):
                new._build_optimizer()
        return new

    # ------------------------------------------------------------------ display
    def summary(self, print_fn: Any = print) -> str | None:
        """Print (and return) each layer, its output shape and parameter count, and the total.

        In a Jupyter notebook, with the default ``print_fn``, the summary is shown as an HTML
        table instead (:func:`tanul.display.model_html`) and nothing is returned, so the cell
        shows the table once; ``print_fn=None`` only returns the text, anywhere.
        """
        text = summary_text(self)
        if print_fn is _PRINT and in_notebook():
            from IPython.display import display  # a notebook has IPython

            display(ModelSummary(self))
            return None
        if print_fn is not None:
            print_fn(text)
        return text

    def __repr__(self) -> str:
        return model_repr(self)

    def _repr_html_(self) -> str:
        """Jupyter shows the model as its summary in an HTML table (:func:`tanul.display.model_html`)."""
        return model_html(self)
