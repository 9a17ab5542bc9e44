"""The Layer contract that every tanul layer, built-in or user-written, follows.

A layer is a function ``y = f(x; θ)`` with parameters ``θ`` that knows its own derivative.

* ``build(input_shape, rng, dtype)`` creates the parameters once the input shape is known
  (lazily, from the first input, as in Keras: ``Dense(64)`` needs no input size).
  ``input_shape`` excludes the batch axis.
* ``forward(x, training=False)`` computes ``y`` and caches what ``backward`` needs.
* ``backward(dy)`` receives ``∂L/∂y`` and returns ``∂L/∂x``; it writes ``∂L/∂θ`` into
  ``self.grads`` **in place** (``self.grads["W"][...] = dW``) and never mutates ``dy``.
* ``output_shape(input_shape)`` maps shapes without running anything.
* ``get_config()`` returns the constructor arguments, so ``type(layer)(**layer.get_config())``
  builds an equal, unbuilt layer.

``params`` and ``grads`` are dicts keyed by the math names (``"W"``, ``"b"``, ``"alpha"``,
``"gamma"``, ``"beta"``). ``state`` holds non-trainable arrays (BatchNorm's running
statistics) that are saved with the model but never touched by an optimiser.

When a :class:`~tanul.model.Sequential` builds, it moves every parameter into one contiguous
buffer and every gradient into another, and replaces ``params[k]``/``grads[k]`` by views of
them (see ``docs/design.md``). A layer that keeps its own arrays works unchanged outside a model.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

__all__ = ["Layer", "register_layer", "get", "serialize", "LAYERS"]

#: Registry of layer classes by class name, used by :func:`get` and by model loading.
LAYERS: dict[str, type] = {}


def register_layer(cls: type | None = None, *, name: str | None = None):
    """Register a layer class so that saved models and configs can find it by name.

    Usable as a decorator: ``@register_layer`` or ``@register_layer(name="MyLayer")``.
    Built-in layers register themselves through ``Layer.__init_subclass__``; call this for a
    layer defined in a script that is loaded by name before the class statement ran, or to
    register it under another name.
    """

    def deco(c: type) -> type:
        if not (isinstance(c, type) and issubclass(c, Layer)):
            raise TypeError(f"register_layer: expected a subclass of tanul.layers.Layer, got {c!r}")
        LAYERS[name or c.__name__] = c
        return c

    return deco(cls) if cls is not None else deco


def _snake(name: str) -> str:
    """``MaxPool2D -> max_pool2d``, ``LeakyReLU -> leaky_relu``, ``PReLU -> prelu``: a word
    boundary is a capital between two lower-case letters."""
    return re.sub(r"(?<=[a-z])([A-Z])(?=[a-z])", r"_\1", name).lower()


class Layer:
    """Base class of all layers.

    Parameters
    ----------
    name : str, optional
        Unique name inside a model; the model assigns ``{snake_case_class}_{k}`` when omitted.

    Attributes
    ----------
    params, grads : dict[str, ndarray]
        Trainable parameters and their gradients, same keys, shapes and dtype.
    state : dict[str, ndarray]
        Non-trainable arrays that belong to the layer's state (saved with the model).
    regularizers : dict[str, Regularizer]
        Penalties on parameters, applied by the model in one place.
    built : bool
    input_shape : tuple or None
        Shape of one sample (without batch axis) the layer was built for.
    input_grad : bool
        Whether ``backward`` must return ∂L/∂x (see ``__init__``).
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.__name__.startswith("_"):  # private helpers are never reachable by name
            LAYERS.setdefault(cls.__name__, cls)

    def __init__(self, name: str | None = None) -> None:
        if name is not None and (not isinstance(name, str) or not name):
            raise TypeError(f"{type(self).__name__}: expected name to be a non-empty str, got {name!r}")
        self.name = name
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.state: dict[str, np.ndarray] = {}
        self.regularizers: dict[str, Any] = {}
        self.built = False
        self.input_shape: tuple[int, ...] | None = None
        self.dtype: np.dtype | None = None
        self._cache: Any = None
        #: When False, ``backward`` may skip computing ∂L/∂x and return None (the model sets it
        #: on its first layer, whose input gradient nobody needs). Honouring it is optional.
        self.input_grad = True

    # ------------------------------------------------------------------ threads
    def runs_threads(self, training: bool) -> bool:
        """Whether the layer's passes run on tanul's own threads (``tanul.ops.parallel``).

        The model then keeps the BLAS library on one thread for the whole ``fit`` (or
        ``predict``), so that no BLAS thread spins on the core those threads need.
        """
        return False

    def param_blocks(self) -> dict[str, tuple[int, ...]]:
        """``{key: row bounds}``: parameters whose row blocks are computed on separate threads
        in training, block ``j`` always on thread ``j`` (``tanul.ops.matmul``). The model hands
        the same blocks to an element-wise optimiser, so that the thread that computed a block's
        gradient also updates it. Empty by default."""
        return {}

    # ------------------------------------------------------------------ contract
    def build(self, input_shape: tuple[int, ...], rng: np.random.Generator,
              dtype: Any = np.float32) -> None:
        """Create parameters for inputs of shape ``(N, *input_shape)``.

        Subclasses that have parameters override this, create ``self.params`` and call
        ``super().build(...)`` at the end (which allocates matching zero ``grads``).
        """
        self.input_shape = tuple(int(d) for d in input_shape)
        self.dtype = np.dtype(dtype)
        for k, p in self.params.items():
            if k not in self.grads or self.grads[k].shape != p.shape:
                self.grads[k] = np.zeros_like(p)
        self.built = True

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} does not implement forward")

    def backward(self, dy: np.ndarray) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} does not implement backward")

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Shape of one output sample for one input sample of ``input_shape`` (default: same)."""
        return tuple(input_shape)

    def param_shapes(self, input_shape: tuple[int, ...]) -> dict[str, tuple[int, ...]] | None:
        """Shapes of the parameters ``build(input_shape)`` creates, computed without allocating
        them (and raising ``build``'s errors for a wrong ``input_shape``).

        Model loading checks these against the file before anything is built. The default is
        ``{}`` for a layer that keeps ``Layer.build`` and ``None`` ("unknown") for one that
        overrides ``build`` without overriding this method.
        """
        return {} if type(self).build is Layer.build else None

    def state_shapes(self, input_shape: tuple[int, ...]) -> dict[str, tuple[int, ...]] | None:
        """Shapes of the ``state`` arrays ``build(input_shape)`` creates (see :meth:`param_shapes`)."""
        return {} if type(self).build is Layer.build else None

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments; ``type(self)(**cfg)`` rebuilds an equal unbuilt layer."""
        return {"name": self.name}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Layer:
        return cls(**config)

    # ------------------------------------------------------------------ helpers
    def __call__(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """Build from ``x`` if needed (seeded by 0, float dtype of ``x``), then forward."""
        x = np.asarray(x)
        if not self.built:
            dtype = x.dtype if x.dtype.kind == "f" else np.float32
            self.build(x.shape[1:], np.random.default_rng(0), dtype)
        return self.forward(x, training=training)

    @property
    def n_params(self) -> int:
        """Number of trainable scalars."""
        return int(sum(p.size for p in self.params.values()))

    def _check_input(self, x: np.ndarray) -> None:
        """Raise a clear error when ``x`` does not match the built input shape."""
        if not isinstance(x, np.ndarray):
            raise TypeError(f"{self._label()}: expected a numpy array, got {type(x).__name__}")
        if self.input_shape is not None and tuple(x.shape[1:]) != self.input_shape:
            raise ValueError(
                f"{self._label()}: input shape mismatch.\n"
                f"  Expect: (N, {', '.join(map(str, self.input_shape))})\n"
                f"  Actual: {tuple(x.shape)}"
            )

    def _need_cache(self) -> Any:
        if self._cache is None:
            raise RuntimeError(
                f"{self._label()}: backward() called before forward(); run forward(x) first "
                "so that the layer has cached what its derivative needs"
            )
        return self._cache

    def _label(self) -> str:
        return f"{type(self).__name__}({self.name!r})" if self.name else type(self).__name__

    def _default_name(self) -> str:
        return _snake(type(self).__name__)

    def __repr__(self) -> str:
        cfg = self.get_config()
        args = ", ".join(f"{k}={v!r}" for k, v in cfg.items() if k != "name" and v is not None)
        name = f", name={self.name!r}" if self.name else ""
        if args and name:
            return f"{type(self).__name__}({args}{name})"
        return f"{type(self).__name__}({args or name.lstrip(', ')})"


def serialize(layer: Layer) -> dict[str, Any]:
    """``{"class_name": ..., "config": ...}`` for a layer (JSON-ready)."""
    return {"class_name": type(layer).__name__, "config": layer.get_config()}


def get(identifier: Any, custom_objects: dict[str, type] | None = None) -> Layer:
    """Resolve a layer from an instance, a class name (no-argument layers) or a config dict."""
    if isinstance(identifier, Layer):
        return identifier
    table = dict(LAYERS)
    if custom_objects:
        table.update(custom_objects)
    if isinstance(identifier, str):
        identifier = {"class_name": identifier, "config": {}}
    if isinstance(identifier, dict) and "class_name" in identifier:
        cname = identifier["class_name"]
        if not isinstance(cname, str):
            raise TypeError(f"Expected a layer class name (a str), got {cname!r:.80}")
        if cname not in table or (cname.startswith("_") and cname not in (custom_objects or {})):
            raise ValueError(
                f"Unknown layer class {cname!r}. Known: "
                f"{', '.join(sorted(n for n in table if not n.startswith('_')))}. "
                "Register custom layers with tanul.register_layer or pass custom_objects=."
            )
        config = identifier.get("config", {})
        if not isinstance(config, dict) or not all(isinstance(k, str) for k in config):
            raise TypeError(f"{cname}: expected the layer config to be an object of keyword "
                            f"arguments, got {config!r:.80}")
        return table[cname].from_config(dict(config))
    raise TypeError(f"Expected a Layer, a layer class name or a config dict, got {identifier!r}")
