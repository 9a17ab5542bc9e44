"""Search spaces: which hyperparameters a search varies, and over what.

A space is a TOML (or JSON) table. Each hyperparameter is either a plain value, which fixes it,
or a table that gives its distribution:

.. code-block:: toml

    epochs = 30                                  # fixed: every trial trains up to 30 epochs

    [lr]                                         # log-uniform: p(lr) ∝ 1/lr on [low, high]
    type = "float"
    low = 1e-4
    high = 3e-2
    log = true

    [units]                                      # an integer, uniform (or log = true)
    type = "int"
    low = 16
    high = 256
    step = 16                                    # optional grid: low, low + step, ...

    [optimizer]                                  # one of the choices
    type = "categorical"
    choices = ["adam", "sgd", "rmsprop"]

    [momentum]                                   # searched only in trials that use SGD
    type = "float"
    low = 0.5
    high = 0.99
    only_if = { optimizer = "sgd" }              # a value or a list of values

Parsing needs no Optuna; :meth:`Param.suggest` asks an Optuna trial for a value.

>>> space = Space.from_dict({"lr": {"type": "float", "low": 1e-4, "high": 1e-1, "log": True},
...                          "epochs": 10})
>>> space
Space(lr=float[0.0001, 0.1] log, epochs=10)
>>> space.names
['lr', 'epochs']
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Param", "Space", "load_space", "default_space", "default_space_path", "SPACE_DIR"]

SPACE_DIR = Path(__file__).with_name("spaces")
_MISSING = object()
_TYPES = ("float", "int", "categorical")
_KEYS = {"float": {"type", "low", "high", "log", "step", "only_if"},
         "int": {"type", "low", "high", "log", "step", "only_if"},
         "categorical": {"type", "choices", "only_if"}}


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


@dataclass(frozen=True)
class Param:
    """One hyperparameter: ``kind`` is ``"float"``, ``"int"``, ``"categorical"`` or ``"fixed"``.

    * float: uniform on ``[low, high]``, or log-uniform (density ∝ 1/x) with ``log``; ``step``
      makes it a grid ``low + k·step``;
    * int: uniform over ``low .. high`` (both included), log-scaled with ``log``;
    * categorical: one of ``choices``;
    * fixed: always ``value``.
    """

    name: str
    kind: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: tuple = ()
    value: Any = None
    only_if: tuple = ()   #: ((name, allowed values), ...): searched only when those hold

    @classmethod
    def parse(cls, name: str, spec: Any, where: str = "space") -> Param:
        """A Param from a space entry: a plain value (fixed) or a table with ``type``."""
        if not isinstance(spec, dict):
            if not isinstance(spec, (str, int, float, bool)):
                raise ValueError(f"{where}: hyperparameter {name!r}: expected a number, string, boolean or "
                                 f"a table with 'type', got {spec!r}")
            return cls(name, "fixed", value=spec)
        kind = spec.get("type")
        if kind not in _TYPES:
            raise ValueError(f"{where}: hyperparameter {name!r}: expected type to be one of "
                             f"{', '.join(_TYPES)}, got type={kind!r}")
        extra = sorted(set(spec) - _KEYS[kind])
        if extra:
            raise ValueError(f"{where}: hyperparameter {name!r} ({kind}): unknown key(s) {', '.join(extra)}; "
                             f"expected {', '.join(sorted(_KEYS[kind]))}")
        cond = spec.get("only_if", {})
        if not isinstance(cond, dict) or not all(isinstance(k, str) for k in cond):
            raise ValueError(f"{where}: hyperparameter {name!r}: expected only_if to be a table such as "
                             f"{{ optimizer = \"sgd\" }}, got {cond!r}")
        only_if = tuple((k, tuple(v) if isinstance(v, list) else (v,)) for k, v in cond.items())
        spec = {k: v for k, v in spec.items() if k != "only_if"}
        if kind == "categorical":
            choices = spec.get("choices")
            if not isinstance(choices, list) or not choices:
                raise ValueError(f"{where}: hyperparameter {name!r}: expected choices to be a non-empty "
                                 f"list, got choices={choices!r}")
            for c in choices:
                if not isinstance(c, (str, int, float, bool)) or (
                        isinstance(c, float) and not math.isfinite(c)):
                    raise ValueError(f"{where}: hyperparameter {name!r}: choices must be numbers, strings "
                                     f"or booleans, got {c!r}")
            if len(set(map(repr, choices))) != len(choices):
                raise ValueError(f"{where}: hyperparameter {name!r}: repeated choices in {choices!r}")
            return cls(name, kind, choices=tuple(choices), only_if=only_if)
        low, high = spec.get("low"), spec.get("high")
        if not (_number(low) and _number(high)):
            raise ValueError(f"{where}: hyperparameter {name!r}: expected numbers low and high, got "
                             f"low={low!r}, high={high!r}")
        if kind == "int" and not (float(low).is_integer() and float(high).is_integer()):
            raise ValueError(f"{where}: hyperparameter {name!r} (int): expected integer low and high, got "
                             f"low={low!r}, high={high!r}")
        if not low < high:
            raise ValueError(f"{where}: hyperparameter {name!r}: empty range: expected low < high, got "
                             f"low={low!r}, high={high!r}")
        log = spec.get("log", False)
        if not isinstance(log, bool):
            raise ValueError(f"{where}: hyperparameter {name!r}: expected log = true or false, got {log!r}")
        if log and low <= 0:
            raise ValueError(f"{where}: hyperparameter {name!r}: a log scale needs low > 0, got low={low!r}")
        step = spec.get("step")
        if step is not None:
            if not _number(step) or step <= 0 or (kind == "int" and not float(step).is_integer()):
                raise ValueError(f"{where}: hyperparameter {name!r}: expected a positive "
                                 f"{'integer ' if kind == 'int' else ''}step, got step={step!r}")
            if log:
                raise ValueError(f"{where}: hyperparameter {name!r}: give either log = true or a step, "
                                 "not both (Optuna samples a log scale continuously)")
            if step > high - low:
                raise ValueError(f"{where}: hyperparameter {name!r}: step={step!r} is larger than the range "
                                 f"[{low!r}, {high!r}]")
        if kind == "int":
            low, high = int(low), int(high)
            step = None if step is None else int(step)
        else:
            low, high = float(low), float(high)
            step = None if step is None else float(step)
        return cls(name, kind, low=low, high=high, log=log, step=step, only_if=only_if)

    def contains(self, value: Any) -> bool:
        """Whether ``value`` is one this parameter can take."""
        if self.kind == "fixed":
            return value == self.value
        if self.kind == "categorical":
            return any(type(value) is type(c) and value == c for c in self.choices)
        if not (_number(value) and self.low <= value <= self.high):
            return False
        if self.kind == "int" and not float(value).is_integer():
            return False
        if self.step is not None:   # on the grid low, low + step, ...
            k = (value - self.low) / self.step
            return abs(k - round(k)) < 1e-9
        return True

    def suggest(self, trial: Any) -> Any:
        """Ask an Optuna trial for a value (a fixed parameter returns its value)."""
        if self.kind == "fixed":
            return self.value
        if self.kind == "categorical":
            return trial.suggest_categorical(self.name, list(self.choices))
        if self.kind == "int":
            return trial.suggest_int(self.name, self.low, self.high, step=self.step or 1, log=self.log)
        return trial.suggest_float(self.name, self.low, self.high, step=self.step, log=self.log)

    def describe(self) -> str:
        if self.kind == "fixed":
            return repr(self.value)
        if self.kind == "categorical":
            return "{" + ", ".join(map(repr, self.choices)) + "}" + self._condition()
        text = f"{self.kind}[{self.low:g}, {self.high:g}]"
        if self.log:
            text += " log"
        if self.step is not None:
            text += f" step {self.step:g}"
        return text + self._condition()

    def _condition(self) -> str:
        if not self.only_if:
            return ""
        return " if " + " and ".join(f"{k} in {list(v)!r}" if len(v) > 1 else f"{k}={v[0]!r}"
                                     for k, v in self.only_if)

    def __repr__(self) -> str:
        return f"Param({self.name}={self.describe()})"


class Space:
    """An ordered set of :class:`Param` (what :func:`load_space` returns).

    ``space.suggest(trial)`` gives a dict of values, one per parameter, fixed ones included.
    """

    def __init__(self, params: list[Param], source: str = "<dict>", text: str | None = None) -> None:
        names = [p.name for p in params]
        if len(set(names)) != len(names):
            raise ValueError(f"{source}: repeated hyperparameter names in {names}")
        for i, p in enumerate(params):
            for other, _ in p.only_if:
                if other not in names[:i]:
                    raise ValueError(f"{source}: hyperparameter {p.name!r}: only_if names {other!r}, which is "
                                     f"not a hyperparameter listed before it")
        self.params = {p.name: p for p in params}
        self.source, self.text = source, text

    @classmethod
    def from_dict(cls, data: Any, source: str = "<dict>", text: str | None = None) -> Space:
        if not isinstance(data, dict):
            raise ValueError(f"{source}: expected a table of hyperparameters, got {type(data).__name__}")
        if not data:
            raise ValueError(f"{source}: the search space is empty (expected at least one hyperparameter)")
        return cls([Param.parse(str(k), v, source) for k, v in data.items()], source, text)

    @property
    def names(self) -> list[str]:
        return list(self.params)

    def __getitem__(self, name: str) -> Param:
        return self.params[name]

    def __contains__(self, name: str) -> bool:
        return name in self.params

    def __len__(self) -> int:
        return len(self.params)

    def check_names(self, known: Any, who: str) -> None:
        """Raise ValueError naming the first hyperparameter that ``who`` does not know."""
        known = list(known)
        for name in self.params:
            if name not in known:
                raise ValueError(f"{self.source}: unknown hyperparameter {name!r} for {who}; expected one of "
                                 f"{', '.join(known)}")

    def suggest(self, trial: Any) -> dict[str, Any]:
        """Values for one trial; a parameter whose ``only_if`` does not hold is left out (the
        model then uses its default), so it does not dilute the search."""
        values: dict[str, Any] = {}
        for name, p in self.params.items():
            if all(values.get(k, _MISSING) in allowed for k, allowed in p.only_if):
                values[name] = p.suggest(trial)
        return values

    def searched(self) -> list[str]:
        """Names of the parameters that vary (not fixed)."""
        return [n for n, p in self.params.items() if p.kind != "fixed"]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, p in self.params.items():
            if p.kind == "fixed":
                out[name] = p.value
            elif p.kind == "categorical":
                out[name] = {"type": p.kind, "choices": list(p.choices)}
            else:
                out[name] = {"type": p.kind, "low": p.low, "high": p.high, "log": p.log}
                if p.step is not None:
                    out[name]["step"] = p.step
            if p.only_if:
                out[name]["only_if"] = {k: list(v) for k, v in p.only_if}
        return out

    def __repr__(self) -> str:
        return "Space(" + ", ".join(f"{n}={p.describe()}" for n, p in self.params.items()) + ")"


def _parse_text(text: str, source: str, fmt: str) -> Any:
    if fmt == "json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{source}: not valid JSON: {exc}") from None
    try:
        import tomllib  # Python >= 3.11
    except ModuleNotFoundError:  # pragma: no cover - Python 3.10
        try:
            import tomli as tomllib
        except ModuleNotFoundError:
            raise ImportError("reading TOML on Python 3.10 needs tomli: pip install 'tanul[tune]'") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{source}: not valid TOML: {exc}") from None


def load_space(space: Any) -> Space:
    """A :class:`Space` from a Space, a dict, or the path of a ``.toml``/``.json`` file.

    Files ending in ``.json`` are read as JSON, everything else as TOML.
    """
    if isinstance(space, Space):
        return space
    if isinstance(space, dict):
        return Space.from_dict(space)
    if isinstance(space, (str, os.PathLike)):
        path = Path(space)
        if not path.exists():
            raise FileNotFoundError(f"search space file {str(path)!r} not found")
        if path.is_dir():
            raise ValueError(f"search space {str(path)!r} is a folder, not a TOML or JSON file")
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise ValueError(f"{path}: not a text file (expected a TOML or JSON search space)") from None
        fmt = "json" if path.suffix.lower() == ".json" else "toml"
        return Space.from_dict(_parse_text(text, str(path), fmt), str(path), text)
    raise TypeError(f"expected a search space as a Space, a dict or a file path, got {type(space).__name__}")


def default_space_path(model: str) -> Path:
    """The TOML file of a model's default space (shipped with tanul)."""
    path = SPACE_DIR / f"{model}.toml"
    if not path.is_file():
        known = sorted(p.stem for p in SPACE_DIR.glob("*.toml"))
        raise ValueError(f"unknown model {model!r}: expected one of {', '.join(known)}")
    return path


def default_space(model: str) -> Space:
    """The default search space of ``model`` (``mlp``, ``lenet5`` or ``simple_cnn``)."""
    return load_space(default_space_path(model))
