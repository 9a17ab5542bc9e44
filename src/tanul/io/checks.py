"""What a model file declares, checked before anything is built or trusted.

* :func:`plan_model` rebuilds the layers from ``config.json`` through the layer registry (public
  classes only), walks the input shape through every layer's ``output_shape``/``param_shapes``/
  ``state_shapes`` (no allocation), and compares the parameters and state the config implies
  with the arrays the file declares, and their total with :data:`MAX_MODEL_BYTES`. Only then is
  the model built, so a few-kilobyte file naming ``Dense(units=40_000_000)`` costs nothing.
* :func:`check_optimizer_state`, :func:`check_rng_state`, :func:`check_checkpoint_info`
  validate optimiser slots and step count, the random generator's state, the epoch, history
  and callback entries with the same care as the parameters.

Every failure is a :class:`~tanul.io.reader.ModelFileError` naming the file and the field.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tanul.io.reader import MAX_NDIM, Archive
from tanul.layers import base as layer_base
from tanul.model import Sequential

__all__ = ["MAX_LAYERS", "MAX_MODEL_BYTES", "MAX_ITERATIONS", "plan_model", "check_shapes_fit",
           "check_optimizer_state", "check_rng_state", "check_checkpoint_info", "model_arrays"]

#: Most layers a model file may declare.
MAX_LAYERS = 65_536
#: Most bytes of parameters and state a model file may declare (2 GiB: 500 million float32).
MAX_MODEL_BYTES = 2 * 2**30
#: Largest optimiser step count accepted from a file.
MAX_ITERATIONS = 2**53
#: Largest dimension of a sample and number of values per sample, at every layer.
MAX_DIM = 2**31 - 1
MAX_SAMPLE_VALUES = 2**40
#: slots that are running averages of squares (Adam's v, AdaGrad's sum, ...): must be >= 0
_SQUARE_SLOTS = frozenset({"v", "v_max", "sum", "sq_avg", "delta_avg"})


def model_arrays(model: Any) -> dict[str, np.ndarray]:
    """``{member: array}`` of a built model: ``params/<layer>.<name>.npy`` and ``state/...``."""
    arrays: dict[str, np.ndarray] = {}
    for name, p in model.named_parameters().items():
        arrays[f"params/{name}.npy"] = p
    for layer in model.layers:
        for k, v in layer.state.items():
            arrays[f"state/{layer.name}.{k}.npy"] = v
    return arrays


def _input_shape(ar: Archive, shape: Any) -> tuple[int, ...]:
    if not isinstance(shape, list) or not 1 <= len(shape) <= MAX_NDIM or not all(
            type(d) is int and 1 <= d <= MAX_DIM for d in shape):
        raise ar.error(f"model.input_shape must be a list of 1 to {MAX_NDIM} positive ints "
                       f"(each at most {MAX_DIM}), found {shape!r:.80}")
    if math.prod(shape) > MAX_SAMPLE_VALUES:
        raise ar.error(f"model.input_shape {shape} has more than {MAX_SAMPLE_VALUES:,} values per sample")
    return tuple(shape)


def plan_model(ar: Archive, custom_objects: dict | None) -> Any:
    """The model ``config.json`` describes, built only after its arrays were checked."""
    cfg = ar.config.get("model")
    if not isinstance(cfg, dict) or not isinstance(cfg.get("layers"), list):
        raise ar.error("config.json has no model architecture ('model.layers')")
    if not cfg.get("input_shape"):
        raise ar.error("the stored model has no input_shape")
    layers_cfg = cfg["layers"]
    if not layers_cfg:
        raise ar.error("model.layers is empty")
    if len(layers_cfg) > MAX_LAYERS:
        raise ar.error(f"model.layers has {len(layers_cfg):,} layers, more than the {MAX_LAYERS:,} "
                       "tanul loads")
    shape = _input_shape(ar, cfg["input_shape"])
    dtype, seed, name = cfg.get("dtype", "float32"), cfg.get("seed"), cfg.get("name")
    if dtype not in ("float32", "float64"):
        raise ar.error(f"model.dtype must be 'float32' or 'float64', found {dtype!r:.80}")
    if seed is not None and (type(seed) is not int or not 0 <= seed < 2**128):
        raise ar.error(f"model.seed must be null or an int in [0, 2**128), found {seed!r:.80}")
    if name is not None and (not isinstance(name, str) or len(name) > 1000):
        raise ar.error(f"model.name must be a string of at most 1,000 characters, found {name!r:.80}")
    try:
        layers = [layer_base.get(c, custom_objects) for c in layers_cfg]
        model = Sequential(layers, seed=seed, dtype=dtype, name=name)
    except (ValueError, TypeError) as exc:  # an unknown class: the registry's message says what to do
        raise ar.error(f"cannot rebuild the model: {exc}") from None
    check_shapes_fit(ar, model, shape)
    try:
        model.build(shape)
    except (ValueError, TypeError) as exc:
        raise ar.error(f"cannot rebuild the model: {exc}") from None
    return model


def _declares_shapes(layer: Any) -> bool:
    """Whether ``param_shapes``/``state_shapes`` describe this layer's ``build``: they must be
    defined by the class that defines ``build`` or by a subclass of it (a custom subclass of
    ``Dense`` that overrides ``build`` inherits shapes that may no longer be true)."""
    mro = type(layer).__mro__

    def owner(name: str) -> type:
        return next(c for c in mro if name in c.__dict__)

    b = owner("build")
    return issubclass(owner("param_shapes"), b) and issubclass(owner("state_shapes"), b)


def check_shapes_fit(ar: Archive, model: Any, shape: tuple[int, ...], what: str = "") -> None:
    """Walk ``shape`` through the (unbuilt) layers and compare what ``build`` would allocate
    with the file's arrays and :data:`MAX_MODEL_BYTES`, allocating nothing."""
    expected: dict[str, tuple[int, ...]] = {}
    known = True
    total = 0
    itemsize = np.dtype(model.dtype).itemsize
    for layer in model.layers:
        try:
            params = layer.param_shapes(shape)
            state = layer.state_shapes(shape)
            out = tuple(layer.output_shape(shape))
        except (ValueError, TypeError) as exc:
            raise ar.error(f"cannot rebuild the model: {exc}") from None
        if not all(type(d) is int and 1 <= d <= MAX_DIM for d in out) or len(out) > MAX_NDIM \
                or math.prod(out) > MAX_SAMPLE_VALUES:
            raise ar.error(f"{what}layer {layer.name!r} would output samples of shape {out}, "
                           f"outside tanul's limits")
        if params is None or state is None or not _declares_shapes(layer):
            known = False  # a custom layer that does not say: its arrays are checked after build
            params = state = None
        for prefix, shapes in (("params", params or {}), ("state", state or {})):
            for k, s in shapes.items():
                s = tuple(int(d) for d in s)
                expected[f"{prefix}/{layer.name}.{k}.npy"] = s
                total += math.prod(s) * itemsize
        if total > MAX_MODEL_BYTES:
            raise ar.error(f"{what}the model in config.json declares more than {MAX_MODEL_BYTES:,} "
                           f"bytes of parameters and state (the limit of tanul.io.MAX_MODEL_BYTES); "
                           f"refused before allocating anything")
        shape = out
    stored = {m: spec for m, spec in ar.manifest.items() if m.startswith(("params/", "state/"))}
    if known:
        missing = sorted(set(expected) - set(stored))
        extra = sorted(set(stored) - set(expected))
        if missing or extra:
            raise ar.error(f"{what}the arrays do not match the model: missing {missing[:5]}, "
                           f"unexpected {extra[:5]}")
    for member, s in expected.items():
        spec = stored.get(member)
        if spec is None:
            continue
        if spec.shape != s:
            raise ar.error(f"{what}{member[member.index('/') + 1:-4]}: the file has shape "
                           f"{spec.shape}, the model expects {s}")
        if spec.dtype != model.dtype:
            raise ar.error(f"{what}{member}: dtype {spec.dtype} in the file, the model uses {model.dtype}")


def check_optimizer_state(ar: Archive, state: Any, dtype: np.dtype) -> dict[str, Any]:
    """Validate ``optimizer_state`` and read its slot arrays: ``{"iterations", "slots"}``."""
    if not isinstance(state, dict) or set(state) - {"iterations", "slots"}:
        raise ar.error(f"optimizer_state must be an object with 'iterations' and 'slots', found "
                       f"{state!r:.80}")
    it = state.get("iterations", 0)
    if type(it) is not int or not 0 <= it <= MAX_ITERATIONS:
        raise ar.error(f"optimizer_state.iterations must be an int in [0, 2**53], found {it!r:.80}")
    slots = state.get("slots", {})
    if not isinstance(slots, dict):
        raise ar.error(f"optimizer_state.slots must be an object, found {type(slots).__name__}")
    out: dict[str, np.ndarray] = {}
    for key, ref in slots.items():
        where = f"optimizer_state.slots[{key!r:.80}]"
        if not isinstance(ref, dict) or set(ref) != {"__array__"}:
            raise ar.error(f"{where} must refer to an array, found {ref!r:.80}")
        a = ar.array(ref["__array__"])
        if a.dtype != dtype:
            raise ar.error(f"{where} has dtype {a.dtype}, the model uses {dtype}")
        if not np.isfinite(a).all():
            raise ar.error(f"{where} holds NaN or infinite values")
        if key.split("/", 1)[0] in _SQUARE_SLOTS and a.size and a.min() < 0:
            raise ar.error(f"{where} holds negative values (it is a running average of squares)")
        out[key] = a
    return {"iterations": it, "slots": out}


def check_lr(ar: Archive, optimizer: Any) -> None:
    """The learning rate (a schedule evaluated at the loaded step) must be finite and >= 0."""
    try:
        lr = float(optimizer.current_lr)
    except (ArithmeticError, ValueError, TypeError) as exc:
        raise ar.error(f"the optimizer's learning rate cannot be evaluated at step "
                       f"{getattr(optimizer, 'iterations', 0)}: {type(exc).__name__}: {exc}") from None
    if not math.isfinite(lr) or lr < 0:
        raise ar.error(f"the optimizer's learning rate at step {getattr(optimizer, 'iterations', 0)} "
                       f"is {lr}, not a finite number >= 0")


def check_rng_state(ar: Archive, state: Any, bit_generator: Any) -> dict[str, Any]:
    """``rng_state`` must be the state of the model's bit generator, every word in range."""
    name = type(bit_generator).__name__
    current = bit_generator.state
    if not isinstance(state, dict) or state.get("bit_generator") != name or set(state) != set(current):
        raise ar.error(f"rng_state must be the state of a {name} generator with keys "
                       f"{sorted(current)}, found {state!r:.120}")
    inner = state.get("state")
    if not isinstance(inner, dict) or set(inner) != set(current["state"]):
        raise ar.error(f"rng_state.state must have keys {sorted(current['state'])}, found {inner!r:.120}")
    for k, v in inner.items():
        if type(v) is not int or not 0 <= v < 2**128:
            raise ar.error(f"rng_state.state.{k} must be an int in [0, 2**128), found {v!r:.80}")
    for k, hi in (("has_uint32", 2), ("uinteger", 2**32)):
        if k in state and (type(state[k]) is not int or not 0 <= state[k] < hi):
            raise ar.error(f"rng_state.{k} must be an int in [0, {hi}), found {state[k]!r:.80}")
    return state


def check_checkpoint_info(ar: Archive, config: dict[str, Any]) -> None:
    """``epoch``, ``history`` and ``callbacks`` of a checkpoint."""
    epoch = config.get("epoch")
    if type(epoch) is not int or not -1 <= epoch < 2**31:
        raise ar.error(f"epoch must be an int in [-1, 2**31), found {epoch!r:.80}")
    history = config.get("history") or {}
    if not isinstance(history, dict) or not isinstance(history.get("history", {}), dict) or \
            not isinstance(history.get("epoch", []), list):
        raise ar.error(f"history must be an object with 'history' and 'epoch', found {history!r:.80}")
    for k, v in history.get("history", {}).items():
        if not isinstance(v, list) or not all(isinstance(x, (int, float)) and not isinstance(x, bool)
                                              for x in v):
            raise ar.error(f"history.history[{k!r:.80}] must be a list of numbers")
    if not all(type(e) is int for e in history.get("epoch", [])):
        raise ar.error("history.epoch must be a list of ints")
    best = history.get("best_epoch")
    if best is not None and type(best) is not int:
        raise ar.error(f"history.best_epoch must be null or an int, found {best!r:.80}")
    callbacks = config.get("callbacks") or []
    if not isinstance(callbacks, list) or not all(
            isinstance(c, dict) and isinstance(c.get("class_name"), str) and "state" in c
            for c in callbacks):
        raise ar.error("callbacks must be a list of {'class_name': str, 'state': ...} objects")
    if not isinstance(config.get("extra", {}), dict):
        raise ar.error(f"extra must be an object, found {type(config.get('extra')).__name__}")
