"""scikit-learn estimators around tanul networks: :class:`NetClassifier` and :class:`NetRegressor`.

They follow scikit-learn's estimator contract (they pass
``sklearn.utils.estimator_checks.parametrize_with_checks`` with every check, see
``tests/test_sklearn_checks.py``), so a tanul network goes into a ``Pipeline``, a
``GridSearchCV`` (also with ``n_jobs`` > 1), ``cross_val_score`` or ``clone`` like any other
model::

    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from tanul.sklearn import NetClassifier

    pipe = make_pipeline(StandardScaler(), NetClassifier(random_state=0))
    search = GridSearchCV(pipe, {"netclassifier__hidden_layer_sizes": [(32,), (64, 64)]}, n_jobs=2)
    search.fit(X, y)

The network is, by default, a multi-layer perceptron: for every entry ``h`` of
``hidden_layer_sizes`` a ``Dense(h)``, then ``BatchNorm`` when ``batch_norm``, the activation, and
``Dropout(dropout)`` when ``dropout > 0``; then a linear output layer with one unit per class
(trained with the softmax cross-entropy) or per target (trained with the mean squared error
½·Σ(y − ŷ)² averaged over samples). ``model=`` replaces it by any :class:`tanul.Sequential`
built by a function, for instance LeNet-5 on images ``X`` of shape ``(N, C, H, W)``::

    from tanul.models import lenet5
    clf = NetClassifier(model=lambda input_shape, n_outputs, seed:
                        lenet5(input_shape=input_shape, num_classes=n_outputs, seed=seed))

The function may accept any of ``input_shape`` (one sample's shape, a tuple), ``n_outputs``
(classes or targets), ``seed`` (an int or None, from ``random_state``) and ``dtype`` by name; it returns an
uncompiled ``Sequential`` whose output has ``n_outputs`` units (logits for the classifier).

Pickling (``pickle``, ``joblib``, the processes of ``n_jobs``) stores the fitted network as the
bytes of a ``.tanul`` checkpoint (:func:`tanul.io.save_checkpoint`: JSON and ``.npy`` arrays, no
pickle inside), with its optimiser state and random generator, so ``partial_fit`` continues
exactly after unpickling. Class labels and feature names are stored as plain lists, never as
arrays of Python objects.

scikit-learn is imported by this module only (``pip install tanul[sklearn]``); ``import tanul``
does not load it.
"""

from __future__ import annotations

import inspect
import os
import tempfile
from numbers import Integral, Real
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from tanul import layers, optimizers
from tanul.callbacks import EarlyStopping
from tanul.io import load_checkpoint, save_checkpoint
from tanul.layers import activations
from tanul.model import Sequential
from tanul.regularizers import L2

__all__ = ["NetClassifier", "NetRegressor"]

_ACTIVATION_ALIASES = {"logistic": "sigmoid"}


def _softmax64(z: np.ndarray) -> np.ndarray:
    """softmax(z)_k = exp(z_k − max z) / Σ_j exp(z_j − max z), computed in float64."""
    z = np.asarray(z, np.float64)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


class _NetBase(BaseEstimator):
    """What NetClassifier and NetRegressor share: the network, training, pickling."""

    _loss = "mse"

    def __init__(self, hidden_layer_sizes: tuple[int, ...] = (64,), activation: str = "relu",
                 dropout: float = 0.0, batch_norm: bool = False, optimizer: str = "adam",
                 learning_rate: float | None = 0.001, batch_size: int | None = 32, epochs: int = 100,
                 l2: float = 0.0, early_stopping: bool = False, validation_fraction: float = 0.1,
                 patience: int = 10, model: Any = None, dtype: str = "float64",
                 random_state: Any = None, verbose: int = 0) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.epochs = epochs
        self.l2 = l2
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.model = model
        self.dtype = dtype
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ parameters
    def _check_params(self) -> None:
        who = type(self).__name__

        def bad(name: str, expected: str) -> ValueError:
            return ValueError(f"{who}: expected {name} to be {expected}, got {name}="
                              f"{getattr(self, name)!r}")

        if self.model is None:
            sizes = self.hidden_layer_sizes
            if isinstance(sizes, (Integral, np.integer)) and not isinstance(sizes, bool):
                sizes = (sizes,)
            if not isinstance(sizes, (tuple, list)) or not all(
                    isinstance(h, (Integral, np.integer)) and not isinstance(h, bool) and h >= 1
                    for h in sizes):
                raise bad("hidden_layer_sizes", "a tuple of positive ints, e.g. (64, 32)")
            act = self.activation
            if not isinstance(act, str) or _ACTIVATION_ALIASES.get(act, act) not in activations.ACTIVATIONS \
                    or act == "softmax":
                names = sorted(set(activations.ACTIVATIONS) - {"softmax"} | {"logistic"})
                raise bad("activation", f"one of {names}")
            if isinstance(self.dropout, bool) or not isinstance(self.dropout, Real) \
                    or not 0 <= self.dropout < 1:
                raise bad("dropout", "a float in [0, 1)")
        elif not callable(self.model):
            raise TypeError(f"{who}: expected model to be None or a function returning a "
                            f"tanul.Sequential, got model={self.model!r}")
        if not isinstance(self.optimizer, str) and not isinstance(self.optimizer, optimizers.Optimizer):
            raise bad("optimizer", f"a name ({', '.join(sorted(optimizers.OPTIMIZERS))}) or an Optimizer")
        if self.learning_rate is not None and (isinstance(self.learning_rate, bool) or not isinstance(
                self.learning_rate, Real) or not self.learning_rate > 0):
            raise bad("learning_rate", "a float > 0 or None (the optimizer's default)")
        if self.batch_size is not None and (isinstance(self.batch_size, bool) or not isinstance(
                self.batch_size, Integral) or self.batch_size < 1):
            raise bad("batch_size", "a positive int or None (full batch)")
        if isinstance(self.epochs, bool) or not isinstance(self.epochs, Integral) or self.epochs < 1:
            raise bad("epochs", "a positive int")
        if isinstance(self.l2, bool) or not isinstance(self.l2, Real) or not self.l2 >= 0:
            raise bad("l2", "a float >= 0")
        if isinstance(self.validation_fraction, bool) or not isinstance(self.validation_fraction, Real) \
                or not 0 < self.validation_fraction < 1:
            raise bad("validation_fraction", "a float in (0, 1)")
        if isinstance(self.patience, bool) or not isinstance(self.patience, Integral) or self.patience < 0:
            raise bad("patience", "an int >= 0")
        if self.dtype not in ("float32", "float64", np.float32, np.float64):
            raise bad("dtype", "'float32' or 'float64'")
        if isinstance(self.verbose, bool) or not isinstance(self.verbose, Integral) \
                or self.verbose not in (0, 1, 2):
            raise bad("verbose", "0 (silent), 1 (progress bar) or 2 (one line per epoch)")

    def _seed(self) -> int | None:
        rs = self.random_state
        if rs is None:
            return None
        if isinstance(rs, (Integral, np.integer)) and not isinstance(rs, bool) and rs >= 0:
            return int(rs)
        return int(check_random_state(rs).randint(0, 2**31 - 1))

    # ------------------------------------------------------------------ the network
    def _build_network(self, input_shape: tuple[int, ...], n_outputs: int, seed: int | None) -> Any:
        who = type(self).__name__
        if self.model is not None:
            fn = self.model
            try:
                sig = inspect.signature(fn)
                accepts_all = any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())
                names = set(sig.parameters)
            except (TypeError, ValueError):  # builtins without a signature
                accepts_all, names = True, set()
            offered = {"input_shape": tuple(input_shape), "n_outputs": n_outputs, "seed": seed,
                       "dtype": np.dtype(self.dtype).name}
            net = fn(**{k: v for k, v in offered.items() if accepts_all or k in names})
            if not isinstance(net, Sequential):
                raise TypeError(f"{who}: model= must return a tanul.Sequential, got {type(net).__name__}")
            if net.optimizer is not None or net.loss is not None:
                raise ValueError(f"{who}: model= must return an uncompiled Sequential (the estimator "
                                 "compiles it with its optimizer and loss)")
            if not net.built:
                net.build(tuple(input_shape))
            elif tuple(net.input_shape) != tuple(input_shape):
                raise ValueError(f"{who}: the network from model= is built for samples of shape "
                                 f"{tuple(net.input_shape)}, but X has samples of shape {tuple(input_shape)}")
            if tuple(net.output_shape) != (n_outputs,):
                raise ValueError(f"{who}: the network from model= outputs samples of shape "
                                 f"{tuple(net.output_shape)}, expected ({n_outputs},) "
                                 f"({'classes' if is_classifier_like(self) else 'targets'})")
            if self.l2:
                for layer in net.layers:
                    if "W" in layer.params:
                        layer.regularizers["W"] = L2(float(self.l2))
            return net
        if len(input_shape) != 1:
            raise ValueError(f"{who}: the default network needs 2-D X (samples, features), got samples "
                             f"of shape {tuple(input_shape)}; reshape X or pass model= (e.g. a CNN)")
        sizes = self.hidden_layer_sizes
        sizes = (sizes,) if isinstance(sizes, (Integral, np.integer)) else tuple(sizes)
        act = _ACTIVATION_ALIASES.get(self.activation, self.activation)
        reg = None
        if self.l2:
            reg = L2(float(self.l2))
        stack: list[Any] = []
        for h in sizes:
            stack.append(layers.Dense(int(h), kernel_regularizer=reg))
            if self.batch_norm:
                stack.append(layers.BatchNorm())
            stack.append(layers.activations.get(act))
            if self.dropout:
                stack.append(layers.Dropout(float(self.dropout)))
        stack.append(layers.Dense(n_outputs, kernel_regularizer=reg))
        return Sequential(stack, seed=seed, input_shape=tuple(input_shape), dtype=self.dtype,
                          name=type(self).__name__.lower())

    def _make_optimizer(self) -> Any:
        import copy

        if not isinstance(self.optimizer, str):
            return copy.deepcopy(self.optimizer)  # never train the parameter object itself
        key = self.optimizer.lower()
        if key not in optimizers.OPTIMIZERS:
            raise ValueError(f"{type(self).__name__}: unknown optimizer {self.optimizer!r}; known: "
                             f"{', '.join(sorted(optimizers.OPTIMIZERS))}")
        cls = optimizers.OPTIMIZERS[key]
        if self.learning_rate is None or key == "lbfgs":
            return cls()
        return cls(lr=float(self.learning_rate))

    # ------------------------------------------------------------------ fitting
    def _validate(self, X: Any, y: Any = None, reset: bool = True) -> Any:
        nd = self.model is not None
        if y is None and not reset:
            return validate_data(self, X, reset=False, dtype=[np.float32, np.float64], allow_nd=nd)
        return validate_data(self, X, y, reset=reset, dtype=[np.float32, np.float64], allow_nd=nd,
                             multi_output=not is_classifier_like(self), y_numeric=not is_classifier_like(self))

    def _fit_network(self, X: np.ndarray, y: np.ndarray, n_outputs: int, epochs: int,
                     new: bool, validation: bool, stratify: np.ndarray | None) -> None:
        if new:
            seed = self._seed()
            net = self._build_network(X.shape[1:], n_outputs, seed)
            net.compile(optimizer=self._make_optimizer(), loss=self._loss)
            self.model_ = net
            self.n_iter_ = 0
        net = self.model_
        X = X.astype(net.dtype, copy=False)
        kwargs: dict[str, Any] = {}
        if validation:
            n_val = int(np.floor(X.shape[0] * self.validation_fraction))
            if n_val < 1 or X.shape[0] - n_val < 1:
                raise ValueError(f"{type(self).__name__}: early_stopping needs a validation set, but "
                                 f"validation_fraction={self.validation_fraction} of {X.shape[0]} samples "
                                 f"leaves {n_val}")
            try:
                X, X_val, y, y_val = train_test_split(X, y, test_size=n_val, stratify=stratify,
                                                      random_state=net.seed if net.seed is not None else 0)
            except ValueError:  # a class too small to stratify
                X, X_val, y, y_val = train_test_split(X, y, test_size=n_val,
                                                      random_state=net.seed if net.seed is not None else 0)
            kwargs["validation_data"] = (X_val, y_val)
            kwargs["callbacks"] = [EarlyStopping(patience=int(self.patience), restore_best_weights=True)]
        before = len(net.history.epoch)
        net.fit(X, y, epochs=self.n_iter_ + epochs, initial_epoch=self.n_iter_,
                batch_size=self.batch_size, verbose=int(self.verbose), **kwargs)
        self.n_iter_ += len(net.history.epoch) - before
        self.history_ = {k: list(v) for k, v in net.history.history.items()}

    # ------------------------------------------------------------------ inference
    def _outputs(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        X = self._validate(X, reset=False)
        return self.model_.predict(X.astype(self.model_.dtype, copy=False)).astype(np.float64)

    # ------------------------------------------------------------------ pickling
    _FITTED = ("model_", "classes_", "n_features_in_", "feature_names_in_", "history_", "n_iter_")

    def __getstate__(self) -> dict[str, Any]:
        state = {k: v for k, v in self.__dict__.items() if k not in self._FITTED and k != "_label_index"}
        if "model_" not in self.__dict__:
            return state
        extra = {"n_features_in": int(self.n_features_in_), "n_iter": int(self.n_iter_)}
        names = getattr(self, "feature_names_in_", None)
        if names is not None:
            extra["feature_names_in"] = [str(s) for s in names]
        if hasattr(self, "classes_"):
            extra["classes"] = _labels_to_plain(self.classes_)
        with tempfile.TemporaryDirectory(prefix="tanul-pickle-") as d:
            path = os.path.join(d, "estimator.tanul")
            save_checkpoint(path, self.model_, epoch=max(int(self.n_iter_) - 1, 0), extra=extra)
            with open(path, "rb") as f:
                state["_tanul_checkpoint"] = f.read()
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        blob = state.pop("_tanul_checkpoint", None)
        self.__dict__.update(state)
        if blob is None:
            return
        with tempfile.TemporaryDirectory(prefix="tanul-pickle-") as d:
            path = os.path.join(d, "estimator.tanul")
            with open(path, "wb") as f:
                f.write(blob)
            model, info = load_checkpoint(path)
        extra = info["extra"]
        self.model_ = model
        self.history_ = {k: list(v) for k, v in model.history.history.items()}
        self.n_features_in_ = int(extra["n_features_in"])
        self.n_iter_ = int(extra["n_iter"])
        if "feature_names_in" in extra:
            self.feature_names_in_ = np.asarray(extra["feature_names_in"], dtype=object)
        if "classes" in extra:
            self.classes_ = _labels_from_plain(extra["classes"])
            self._label_index = {c: i for i, c in enumerate(self.classes_.tolist())}

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags


def is_classifier_like(est: Any) -> bool:
    return isinstance(est, NetClassifier)


def _labels_to_plain(classes: np.ndarray) -> dict[str, Any]:
    """Class labels as JSON-able values (no arrays of Python objects in a pickle)."""
    if classes.dtype.kind == "O":
        values = []
        for c in classes.tolist():
            if isinstance(c, (np.generic,)):
                c = c.item()
            if not isinstance(c, (str, int, float, bool)):
                raise TypeError(f"cannot store class label {c!r} of type {type(c).__name__}: "
                                "labels must be strings or numbers")
            values.append(c)
        return {"dtype": "object", "values": values}
    return {"dtype": classes.dtype.str, "values": classes.tolist()}


def _labels_from_plain(d: dict[str, Any]) -> np.ndarray:
    if d["dtype"] == "object":
        out = np.empty(len(d["values"]), dtype=object)
        out[:] = d["values"]
        return out
    return np.asarray(d["values"], dtype=np.dtype(d["dtype"]))


class NetClassifier(ClassifierMixin, _NetBase):
    """A tanul network as a scikit-learn classifier (softmax cross-entropy on integer labels).

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default (64,)
        Units of each hidden ``Dense`` layer of the default network.
    activation : str, default "relu"
        ``"relu"``, ``"tanh"``, ``"sigmoid"`` (or ``"logistic"``), ``"leaky_relu"``, ``"prelu"``,
        ``"softplus"`` or ``"identity"``.
    dropout : float in [0, 1), default 0
        Dropout rate after each hidden activation (none when 0).
    batch_norm : bool, default False
        ``BatchNorm`` between each hidden ``Dense`` layer and its activation.
    optimizer : str or tanul Optimizer, default "adam"
        A name from ``tanul.optimizers.OPTIMIZERS`` (an instance is copied before training).
    learning_rate : float or None, default 0.001
        The optimiser's step size (``None``: the optimiser's own default).
    batch_size : int or None, default 32
        Mini-batch size (``None``: full batch).
    epochs : int, default 100
        Passes over the training data in ``fit`` (``partial_fit`` does one).
    l2 : float, default 0
        L2 penalty λ·ΣW² on every weight matrix/kernel (biases excluded), added to the
        mean loss of each mini-batch.
    early_stopping : bool, default False
        Hold out ``validation_fraction`` of the training data (stratified) and stop when the
        validation loss has not improved for ``patience`` epochs, keeping the best weights.
    validation_fraction : float, default 0.1
    patience : int, default 10
    model : callable or None
        A function building the network (see the module docstring): ``model(input_shape=,
        n_outputs=, seed=, dtype=)`` (it declares the names it wants) -> uncompiled
        ``tanul.Sequential``; ``X`` may then have any number of dimensions, e.g. ``(N, C, H, W)``.
    dtype : "float64" (default) or "float32"
        Precision of the default network (offered to ``model=`` as ``dtype``). float64, as
        scikit-learn's own MLP, makes a prediction for one row equal, to round-off, the same
        row's prediction inside a batch (float32 BLAS kernels differ by ~1e-7 between one row
        and a batch, more than scikit-learn's checks allow); float32 trains faster.
    random_state : int, RandomState or None
        Seeds initialisation, shuffling, dropout and the validation split; an int gives the same
        fitted model every time.
    verbose : int, default 0
        0 silent, 1 a progress bar per epoch, 2 one line per epoch.

    Attributes
    ----------
    classes_ : ndarray
        The sorted class labels; output unit ``k`` is ``classes_[k]``.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when ``X`` was a DataFrame with string column names.
    model_ : tanul.Sequential
        The trained network (outputs are logits).
    history_ : dict of lists
        ``"loss"`` (and ``"val_loss"`` with early stopping) per epoch.
    n_iter_ : int
        Epochs trained.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = NetClassifier(hidden_layer_sizes=(16,), epochs=60, random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:2]).shape, clf.score(X, y) > 0.9
    ((2, 3), True)
    """

    _loss = "cross_entropy"

    def fit(self, X: Any, y: Any) -> NetClassifier:
        """Train a new network for ``epochs`` epochs on ``X`` (N, features) and labels ``y`` (N,)."""
        self._check_params()
        X, y = self._validate(X, y, reset=True)
        check_classification_targets(y)
        classes, yi = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise ValueError(f"{type(self).__name__}: expected at least 2 classes in y, got 1 class "
                             f"({classes[0]!r})")
        self.classes_ = classes
        self._label_index = {c: i for i, c in enumerate(classes.tolist())}
        self._fit_network(X, yi.astype(np.int64), len(classes), int(self.epochs), new=True,
                          validation=bool(self.early_stopping), stratify=yi)
        return self

    def partial_fit(self, X: Any, y: Any, classes: Any = None) -> NetClassifier:
        """One more epoch on ``(X, y)``; the first call builds the network.

        ``classes`` lists every label the estimator will ever see; it is required on the first
        call unless ``y`` already holds them all (then ``np.unique(y)`` is used), and ignored later.
        """
        first = not hasattr(self, "model_")
        if first:
            self._check_params()
        X, y = self._validate(X, y, reset=first)
        check_classification_targets(y)
        if first:
            classes = np.unique(y) if classes is None else np.unique(np.asarray(classes))
            if len(classes) < 2:
                raise ValueError(f"{type(self).__name__}.partial_fit: expected at least 2 classes, got "
                                 f"{len(classes)} class; pass classes=[...] with every label")
            self.classes_ = classes
            self._label_index = {c: i for i, c in enumerate(classes.tolist())}
        index = self._label_index
        unknown = [c for c in np.unique(y).tolist() if c not in index]
        if unknown:
            raise ValueError(f"{type(self).__name__}.partial_fit: labels {unknown[:5]} are not in "
                             f"classes_ {self.classes_.tolist()[:10]}; pass every label in classes= "
                             "on the first call")
        yi = np.fromiter((index[c] for c in y.tolist()), dtype=np.int64, count=len(y))
        self._fit_network(X, yi, len(self.classes_), 1, new=first, validation=False, stratify=None)
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        """Logits z (N, K); for two classes the log-odds z₁ − z₀ = log(p₁/p₀), shape (N,)."""
        z = self._outputs(X)
        return z[:, 1] - z[:, 0] if z.shape[1] == 2 else z

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities softmax(z) (N, K), columns in the order of ``classes_``."""
        return _softmax64(self._outputs(X))

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """log softmax(z) = z − logsumexp(z), computed stably."""
        z = self._outputs(X)
        m = z.max(axis=1, keepdims=True)
        return z - m - np.log(np.exp(z - m).sum(axis=1, keepdims=True))

    def predict(self, X: Any) -> np.ndarray:
        """The class of the largest logit (first one on ties), as a label from ``classes_``."""
        z = self._outputs(X)
        return self.classes_[z.argmax(axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = True
        tags.classifier_tags.multi_label = False
        return tags


class NetRegressor(RegressorMixin, _NetBase):
    """A tanul network as a scikit-learn regressor (mean squared error, linear outputs).

    The parameters and attributes are those of :class:`NetClassifier` (without ``classes_``);
    ``y`` may be (N,) or (N, targets) for several outputs. Targets are used as given: scale
    them (``sklearn.compose.TransformedTargetRegressor``) when they are far from unit size.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 3)); y = X @ [1.0, -2.0, 0.5]
    >>> reg = NetRegressor(hidden_layer_sizes=(16,), epochs=50, random_state=0).fit(X, y)
    >>> reg.predict(X[:4]).shape, reg.score(X, y) > 0.95
    ((4,), True)
    """

    _loss = "mse"

    def fit(self, X: Any, y: Any) -> NetRegressor:
        """Train a new network for ``epochs`` epochs on ``X`` and targets ``y``."""
        self._check_params()
        X, y = self._validate(X, y, reset=True)
        y2 = self._targets(y, first=True)
        self._fit_network(X, y2, y2.shape[1], int(self.epochs), new=True,
                          validation=bool(self.early_stopping), stratify=None)
        return self

    def partial_fit(self, X: Any, y: Any) -> NetRegressor:
        """One more epoch on ``(X, y)``; the first call builds the network."""
        first = not hasattr(self, "model_")
        if first:
            self._check_params()
        X, y = self._validate(X, y, reset=first)
        y2 = self._targets(y, first=first)
        self._fit_network(X, y2, y2.shape[1], 1, new=first, validation=False, stratify=None)
        return self

    def _targets(self, y: np.ndarray, first: bool) -> np.ndarray:
        y = np.asarray(y, dtype=np.float64)
        y2 = y.reshape(-1, 1) if y.ndim == 1 else y
        if first:
            self._y_ndim = y.ndim
        elif y2.shape[1] != self.model_.output_shape[0]:
            raise ValueError(f"{type(self).__name__}.partial_fit: y has {y2.shape[1]} targets, the model "
                             f"was fitted on {self.model_.output_shape[0]}")
        return y2

    def predict(self, X: Any) -> np.ndarray:
        """Network outputs, (N,) for one target fitted from 1-D y, else (N, targets); float64."""
        out = self._outputs(X)
        return out[:, 0] if getattr(self, "_y_ndim", 1) == 1 and out.shape[1] == 1 else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags
