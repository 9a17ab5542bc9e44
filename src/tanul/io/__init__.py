"""Saving and loading models, weights and checkpoints, safely.

A ``.tanul`` file is a zip archive holding

* ``config.json``: ``{"format": "tanul", "format_version": 1, "kind": "model" | "weights" |
  "checkpoint", "tanul_version", "model": <Sequential.get_config()>, "compile": {...},
  "arrays": {member: {"shape", "dtype"}}, ...}``;
* one ``.npy`` member per array: parameters under ``params/<layer>.<name>.npy``, non-trainable
  state (BatchNorm's running averages) under ``state/``, optimiser slots under ``optimizer/``.

Nothing is pickled: arrays are read with ``np.load(..., allow_pickle=False)`` and the config is
plain JSON, so opening a file from a stranger cannot run code. Layers are rebuilt by class name
from the layer registry (``tanul.register_layer`` or ``custom_objects=``), as in Keras.

Every write is atomic (:func:`atomic_write`: a temporary file in the same folder, ``fsync``,
``os.replace``): an interrupted save leaves the previous file intact. Every way a file can be
wrong (not a zip, truncated, corrupted, missing or malformed config, unknown format version,
missing or mis-shaped arrays, unknown layer class) raises :class:`ModelFileError` naming the file
and the problem.

>>> import tempfile, os, numpy as np, tanul
>>> model = tanul.Sequential([tanul.Dense(3, activation="relu"), tanul.Dense(1)], seed=0,
...                          input_shape=(2,))
>>> path = os.path.join(tempfile.mkdtemp(), "m.tanul")
>>> save_model(model, path)
>>> x = np.ones((4, 2), np.float32)
>>> bool(np.array_equal(load_model(path).predict(x), model.predict(x)))
True
"""

from __future__ import annotations

import contextlib
import io as _io
import json
import os
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from tanul import losses, optimizers
from tanul._version import __version__
from tanul.io.checks import (
    MAX_ITERATIONS,
    MAX_LAYERS,
    MAX_MODEL_BYTES,
    _input_shape,
    check_checkpoint_info,
    check_lr,
    check_optimizer_state,
    check_rng_state,
    check_shapes_fit,
    plan_model,
)
from tanul.io.checks import model_arrays as _model_arrays
from tanul.io.reader import (
    MAX_CONFIG_BYTES,
    MAX_DIRECTORY_BYTES,
    MAX_FILE_BYTES,
    MAX_INT_DIGITS,
    MAX_JSON_CONTAINERS,
    MAX_JSON_DEPTH,
    READ_ERRORS,
    Archive,
    ModelFileError,
    cut,
    read_json_file,
)
from tanul.protocol import register_store

__all__ = ["ModelFileError", "FORMAT_VERSION", "atomic_write", "save_model", "load_model",
           "save_weights", "load_weights", "save_checkpoint", "load_checkpoint", "read_json_file",
           "MAX_FILE_BYTES", "MAX_DIRECTORY_BYTES", "MAX_CONFIG_BYTES", "MAX_JSON_DEPTH", "MAX_JSON_CONTAINERS",
           "MAX_INT_DIGITS", "MAX_LAYERS", "MAX_MODEL_BYTES", "MAX_ITERATIONS"]

#: Version of the file layout written by this tanul; files with a larger version are refused.
FORMAT_VERSION = 1
_FORMAT = "tanul"


# ---------------------------------------------------------------------- atomic writes
@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb") -> Iterator[Any]:
    """Open a temporary file next to ``path``; on success ``fsync`` it and rename it over ``path``.

    If the block raises (or the process dies), ``path`` keeps its previous content and the
    temporary file is removed (or, after a hard kill, left as a hidden ``.tmp`` file).
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"cannot write to {path}: it is a directory")
    folder = path.parent if str(path.parent) else Path(".")
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if hasattr(os, "O_DIRECTORY"):  # make the rename itself durable
        with contextlib.suppress(OSError):
            dfd = os.open(folder, os.O_DIRECTORY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[str]:
    """For writers that take a file name (``fig.savefig``, an animation writer): yield the name of
    a temporary file next to ``path``; on success give it the usual permissions and rename it over
    ``path``, else remove it, so ``path`` is never left half-written.

    Examples
    --------
    >>> import os, tempfile
    >>> target = os.path.join(tempfile.mkdtemp(), "out.txt")
    >>> with atomic_path(target) as tmp:
    ...     _ = open(tmp, "w").write("done")
    >>> open(target).read()
    'done'
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"cannot write to {path}: it is a directory")
    folder = path.parent if str(path.parent) else Path(".")
    folder.mkdir(parents=True, exist_ok=True)
    # the temporary name keeps the suffix: writers such as Pillow choose the format from it
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix or ".tmp", dir=folder)
    os.close(fd)
    try:
        yield tmp
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


# ---------------------------------------------------------------------- JSON with arrays
def _encode(obj: Any, arrays: dict[str, np.ndarray], prefix: str) -> Any:
    """Replace arrays inside ``obj`` by ``{"__array__": member}`` and collect them."""
    if isinstance(obj, np.ndarray):
        member = f"{prefix}.npy"
        arrays[member] = obj
        return {"__array__": member}
    if isinstance(obj, dict):
        return {str(k): _encode(v, arrays, f"{prefix}/{k}") for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_encode(v, arrays, f"{prefix}/{i}") for i, v in enumerate(obj)]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def _decode(obj: Any, read: Any) -> Any:
    if isinstance(obj, dict):
        if set(obj) == {"__array__"}:
            return read(obj["__array__"])
        return {k: _decode(v, read) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_decode(v, read) for v in obj]
    return obj


def _npy_bytes(a: np.ndarray) -> bytes:
    buf = _io.BytesIO()
    np.save(buf, np.ascontiguousarray(a), allow_pickle=False)
    return buf.getvalue()


def _write_archive(path: str | os.PathLike, config: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    config = dict(config)
    config["arrays"] = {m: {"shape": list(a.shape), "dtype": a.dtype.str} for m, a in arrays.items()}
    text = json.dumps(config, indent=1, allow_nan=True)
    with atomic_write(path, "wb") as f, zipfile.ZipFile(f, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("config.json", text)
        for member, a in arrays.items():
            zf.writestr(member, _npy_bytes(a))


# ---------------------------------------------------------------------- building the content
def _compile_config(model: Any) -> dict[str, Any] | None:
    if model.loss is None:
        return None
    opt = model.optimizer
    opt_cfg = optimizers.serialize(opt) if isinstance(opt, optimizers.Optimizer) else (
        {"class_name": type(opt).__name__, "config": opt.get_config()} if hasattr(opt, "get_config")
        else None)
    return {"loss": losses.serialize(model.loss), "optimizer": opt_cfg,
            "metrics": [m.name for m in model.metrics]}


def _base_config(model: Any, kind: str) -> dict[str, Any]:
    if not model.built:
        raise ValueError(f"cannot save {model.name!r}: the model is not built yet (give "
                         "input_shape=..., or call fit/predict once)")
    return {"format": _FORMAT, "format_version": FORMAT_VERSION, "kind": kind,
            "tanul_version": __version__, "model": model.get_config()}


def _optimizer_arrays(model: Any, config: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    opt = model.optimizer
    if opt is None or not hasattr(opt, "state_dict") or not getattr(opt, "built", False):
        return
    state = opt.state_dict()
    config["optimizer_state"] = _encode(state, arrays, "optimizer")


def save_model(model: Any, path: str | os.PathLike, *, include_optimizer: bool = True) -> None:
    """Write ``model`` (architecture, weights, state, compile settings, optimiser state) to ``path``."""
    config = _base_config(model, "model")
    config["compile"] = _compile_config(model)
    arrays = _model_arrays(model)
    if include_optimizer:
        _optimizer_arrays(model, config, arrays)
    _write_archive(path, config, arrays)


def save_weights(model: Any, path: str | os.PathLike) -> None:
    """Write only the parameters and state arrays (plus the architecture, for checks)."""
    _write_archive(path, _base_config(model, "weights"), _model_arrays(model))


def save_checkpoint(path: str | os.PathLike, model: Any, *, epoch: int, extra: dict | None = None,
                    callbacks: list | None = None) -> None:
    """Everything needed to continue training exactly: model, optimiser state (slots, step
    count), the model's random generator, the history, ``epoch`` (0-based, last finished),
    the states of ``callbacks`` (``get_state()``) and ``extra`` (JSON-able settings)."""
    config = _base_config(model, "checkpoint")
    config["compile"] = _compile_config(model)
    arrays = _model_arrays(model)
    _optimizer_arrays(model, config, arrays)
    config["epoch"] = int(epoch)
    config["rng_state"] = _encode(model.rng.bit_generator.state, arrays, "rng")
    config["history"] = model.history.get_state()
    config["callbacks"] = [{"class_name": type(cb).__name__,
                            "state": _encode(cb.get_state(), arrays, f"callbacks/{i}")}
                           for i, cb in enumerate(callbacks or [])]
    config["extra"] = _encode(extra or {}, arrays, "extra")
    _write_archive(path, config, arrays)


# ---------------------------------------------------------------------- reading
def _guard(path: str | os.PathLike, fn: Any, *args: Any) -> Any:
    """Run ``fn``; turn any error from malformed content into a ModelFileError."""
    try:
        return fn(*args)
    except (ModelFileError, FileNotFoundError):
        raise
    except (KeyError, TypeError, AttributeError, RecursionError, ArithmeticError, *READ_ERRORS) as exc:
        msg = str(exc) if not isinstance(exc, KeyError) else f"missing entry {exc}"
        raise ModelFileError(f"{path}: " + cut(f"malformed tanul file: {type(exc).__name__}: "
                                               f"{msg or 'no detail'}")) from None


def _fill_arrays(ar: Archive, model: Any, what: str = "") -> None:
    expected = _model_arrays(model)
    stored = {m for m in ar.manifest if m.startswith(("params/", "state/"))}
    missing, extra = sorted(set(expected) - stored), sorted(stored - set(expected))
    if missing or extra:
        raise ar.error(f"{what}the arrays do not match the model: missing {missing[:5]}, "
                       f"unexpected {extra[:5]}")
    for member, dst in expected.items():
        spec = ar.manifest[member]
        if spec.shape != dst.shape:  # checked before reading anything
            name = member.split("/", 1)[1][:-4]
            raise ar.error(f"{what}{name}: the file has shape {spec.shape}, the model expects {dst.shape}")
        if spec.dtype != dst.dtype:
            raise ar.error(f"{what}{member}: dtype {spec.dtype} in the file, the model uses {dst.dtype}")
    for member, dst in expected.items():
        src = ar.array(member)
        if src.dtype.kind == "f" and not np.isfinite(src).all():
            raise ar.error(f"{member} holds NaN or infinite values")
        if member.endswith(".running_var.npy") and src.size and src.min() < 0:
            raise ar.error(f"{member} holds negative variances")
        dst[...] = src


def _compile(ar: Archive, model: Any) -> None:
    comp = ar.config.get("compile")
    if not comp:
        return
    if not isinstance(comp, dict):
        raise ar.error(f"compile must be an object, found {comp!r:.80}")
    opt_cfg = comp.get("optimizer")
    optimizer: Any = "adam"
    if opt_cfg is not None:
        if not isinstance(opt_cfg, dict) or not isinstance(opt_cfg.get("class_name"), str) \
                or not isinstance(opt_cfg.get("config", {}), dict):
            raise ar.error(f"compile.optimizer must be {{'class_name': str, 'config': {{...}}}}, "
                           f"found {opt_cfg!r:.80}")
        try:
            optimizer = optimizers.get(opt_cfg)
        except (ValueError, TypeError) as exc:
            raise ar.error(f"compile.optimizer: {exc}") from None
    metrics = comp.get("metrics") or []
    if not isinstance(metrics, list) or not all(isinstance(m, str) for m in metrics):
        raise ar.error(f"compile.metrics must be a list of metric names, found {metrics!r:.80}")
    loss = comp.get("loss")
    if not isinstance(loss, (str, dict)):
        raise ar.error(f"compile.loss must be a loss name or config, found {loss!r:.80}")
    try:
        model.compile(optimizer=optimizer, loss=loss, metrics=metrics)
    except (ValueError, TypeError) as exc:
        raise ar.error(f"compile: {exc}") from None
    state = ar.config.get("optimizer_state")
    opt = model.optimizer
    if state is not None and hasattr(opt, "load_state_dict"):  # compile built it (the model is built)
        checked = check_optimizer_state(ar, state, model.dtype)
        try:
            opt.load_state_dict(checked)
        except (ValueError, KeyError) as exc:
            raise ar.error(f"optimizer_state: {exc}") from None
    if hasattr(type(opt), "current_lr"):  # on the class: hasattr(opt, ...) would evaluate the schedule
        check_lr(ar, opt)


def _read(path: str | os.PathLike, fn: Any) -> Any:
    """Open ``path`` as an :class:`Archive`, run ``fn(archive)`` under :func:`_guard`, close."""
    with Archive(path, formats=(_FORMAT, FORMAT_VERSION)) as ar:
        return _guard(path, fn, ar)


def load_model(path: str | os.PathLike, custom_objects: dict | None = None, compile: bool = True) -> Any:
    """Rebuild a model saved by :func:`save_model` (or a checkpoint): architecture, weights,
    state and, with ``compile=True``, loss, optimiser (and its state) and metrics.

    Loading is bounded (see ``docs/saving.md``, "Hostile files"): only regular files up to
    :data:`MAX_FILE_BYTES`, stored members, a checked config, arrays compared with the config
    before they are read and a model compared with the arrays before it is built.

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    ModelFileError
        The file is not a valid tanul model file; the message says what is wrong.
    """

    def run(ar: Archive) -> Any:
        model = plan_model(ar, custom_objects)
        _fill_arrays(ar, model)
        if compile:
            _compile(ar, model)
        return model

    return _read(path, run)


def load_weights(model: Any, path: str | os.PathLike) -> None:
    """Copy the arrays of a weights (or model) file into ``model``, checking names and shapes."""

    def run(ar: Archive) -> None:
        if not model.built:
            shape = (ar.config.get("model") or {}).get("input_shape")
            if not shape:
                raise ar.error("the model is not built and the file has no input_shape")
            shape = _input_shape(ar, shape)
            check_shapes_fit(ar, model, shape, what="load_weights: ")
            model.build(shape)
        _fill_arrays(ar, model, what="load_weights: ")

    _read(path, run)


def load_checkpoint(path: str | os.PathLike, custom_objects: dict | None = None) -> tuple[Any, dict]:
    """Load a :func:`save_checkpoint` file: ``(model, info)``.

    The model comes back compiled with its optimiser state, random generator state and history
    restored; ``info`` has ``"epoch"`` (last finished, 0-based), ``"extra"`` and ``"callbacks"``
    (a list of ``{"class_name", "state"}`` to pass to each callback's ``set_state``). Continue
    with ``model.fit(..., initial_epoch=info["epoch"] + 1)``.
    """

    def run(ar: Archive) -> tuple[Any, dict]:
        if ar.config.get("kind") != "checkpoint":
            raise ar.error(f"not a checkpoint (kind {ar.config.get('kind')!r:.40}); use load_model")
        check_checkpoint_info(ar, ar.config)
        model = plan_model(ar, custom_objects)
        _fill_arrays(ar, model)
        _compile(ar, model)
        model.rng.bit_generator.state = check_rng_state(ar, _decode(ar.config.get("rng_state"), ar.array),
                                                        model.rng.bit_generator)
        model.history.set_state(ar.config.get("history") or {})
        info = {"epoch": ar.config["epoch"],
                "extra": _decode(ar.config.get("extra") or {}, ar.array),
                "callbacks": [{"class_name": c["class_name"], "state": _decode(c["state"], ar.array)}
                              for c in ar.config.get("callbacks") or []]}
        return model, info

    return _read(path, run)


# ``Sequential.save``/``save_weights``/``load_weights``/``save_checkpoint`` reach this module
# through the ModelStore contract of tanul.protocol: the model never imports tanul.io.
register_store(sys.modules[__name__])
