"""Weight initialisers.

For a kernel of shape ``(fan_in, fan_out)`` (Dense) or ``(C_out, C_in, kH, kW)`` (Conv2D),
``fan_in = C_in·kH·kW`` and ``fan_out = C_out·kH·kW``.

=================  ===========================================  ==============================
name               distribution                                 reference
=================  ===========================================  ==============================
glorot_normal      N(0, σ²), σ = √(2 / (fan_in + fan_out))       Glorot & Bengio, 2010
glorot_uniform     U(−a, a), a = √(6 / (fan_in + fan_out))       Glorot & Bengio, 2010
he_normal          N(0, σ²), σ = √(2 / fan_in)                   He et al., 2015
he_uniform         U(−a, a), a = √(6 / fan_in)                   He et al., 2015
lecun_normal       N(0, σ²), σ = √(1 / fan_in)                   LeCun et al., 1998
=================  ===========================================  ==============================

Glorot keeps the variance of activations and of gradients roughly equal from layer to layer for
symmetric activations (tanh); He doubles it to make up for ReLU zeroing half of its inputs.
The normal variants are plain (not truncated) normals, so their variance is exactly σ².

>>> import numpy as np
>>> from tanul import initializers
>>> w = initializers.get("he_normal")((4000, 50), np.random.default_rng(0))
>>> round(float(w.std()), 3), round((2 / 4000) ** 0.5, 3)
(0.022, 0.022)
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "Initializer", "Zeros", "Ones", "Constant", "RandomNormal", "RandomUniform",
    "GlorotNormal", "GlorotUniform", "HeNormal", "HeUniform", "LecunNormal",
    "compute_fans", "get", "serialize",
]


def compute_fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a kernel: Dense ``(in, out)``, conv ``(C_out, C_in, kH, kW)``."""
    shape = tuple(shape)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = int(np.prod(shape[2:]))
    return shape[1] * receptive, shape[0] * receptive


class Initializer:
    """Callable ``init(shape, rng, dtype=float32) -> ndarray``."""

    def __call__(self, shape, rng: np.random.Generator, dtype: Any = np.float32) -> np.ndarray:
        return self._sample(tuple(int(s) for s in shape), rng).astype(dtype, copy=False)

    def _sample(self, shape, rng):  # pragma: no cover - abstract
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.get_config() == other.get_config()


class Zeros(Initializer):
    """All zeros (the usual bias initialiser)."""

    def _sample(self, shape, rng):
        return np.zeros(shape)


class Ones(Initializer):
    """All ones (BatchNorm's γ)."""

    def _sample(self, shape, rng):
        return np.ones(shape)


class Constant(Initializer):
    """Every entry equal to ``value``."""

    def __init__(self, value: float = 0.0) -> None:
        self.value = float(value)

    def _sample(self, shape, rng):
        return np.full(shape, self.value)

    def get_config(self):
        return {"value": self.value}


class RandomNormal(Initializer):
    """N(mean, stddev²)."""

    def __init__(self, mean: float = 0.0, stddev: float = 0.05) -> None:
        if stddev < 0:
            raise ValueError(f"RandomNormal: expected stddev >= 0, got stddev={stddev}")
        self.mean, self.stddev = float(mean), float(stddev)

    def _sample(self, shape, rng):
        return rng.normal(self.mean, self.stddev, size=shape)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev}


class RandomUniform(Initializer):
    """U(minval, maxval)."""

    def __init__(self, minval: float = -0.05, maxval: float = 0.05) -> None:
        if maxval < minval:
            raise ValueError(f"RandomUniform: expected minval <= maxval, got {minval} > {maxval}")
        self.minval, self.maxval = float(minval), float(maxval)

    def _sample(self, shape, rng):
        return rng.uniform(self.minval, self.maxval, size=shape)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval}


class _VarianceScaling(Initializer):
    scale = 1.0
    mode = "fan_in"
    distribution = "normal"

    def _sample(self, shape, rng):
        fan_in, fan_out = compute_fans(shape)
        n = {"fan_in": fan_in, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        var = self.scale / max(1.0, n)
        if self.distribution == "normal":
            return rng.normal(0.0, np.sqrt(var), size=shape)
        a = np.sqrt(3.0 * var)
        return rng.uniform(-a, a, size=shape)


class GlorotNormal(_VarianceScaling):
    """Glorot/Xavier normal: σ = √(2 / (fan_in + fan_out))."""
    mode, distribution = "fan_avg", "normal"


class GlorotUniform(_VarianceScaling):
    """Glorot/Xavier uniform: U(−a, a), a = √(6 / (fan_in + fan_out))."""
    mode, distribution = "fan_avg", "uniform"


class HeNormal(_VarianceScaling):
    """Kaiming/He normal: σ = √(2 / fan_in)."""
    scale, distribution = 2.0, "normal"


class HeUniform(_VarianceScaling):
    """Kaiming/He uniform: U(−a, a), a = √(6 / fan_in)."""
    scale, distribution = 2.0, "uniform"


class LecunNormal(_VarianceScaling):
    """LeCun normal: σ = √(1 / fan_in)."""
    scale, distribution = 1.0, "normal"


_REGISTRY: dict[str, type[Initializer]] = {
    "zeros": Zeros, "ones": Ones, "constant": Constant,
    "random_normal": RandomNormal, "normal": RandomNormal,
    "random_uniform": RandomUniform, "uniform": RandomUniform,
    "glorot_normal": GlorotNormal, "xavier_normal": GlorotNormal,
    "glorot_uniform": GlorotUniform, "xavier_uniform": GlorotUniform,
    "he_normal": HeNormal, "kaiming_normal": HeNormal,
    "he_uniform": HeUniform, "kaiming_uniform": HeUniform,
    "lecun_normal": LecunNormal,
}
_CLASSES = {c.__name__: c for c in set(_REGISTRY.values())}


def serialize(init: Initializer) -> dict[str, Any]:
    return {"class_name": type(init).__name__, "config": init.get_config()}


def get(identifier: Any) -> Initializer:
    """Resolve an initialiser from a name (``"he_normal"``), an instance or a config dict."""
    if isinstance(identifier, Initializer):
        return identifier
    if isinstance(identifier, str):
        key = identifier.lower()
        if key not in _REGISTRY:
            raise ValueError(
                f"Unknown initializer {identifier!r}. Known: {', '.join(sorted(_REGISTRY))}"
            )
        return _REGISTRY[key]()
    if isinstance(identifier, dict) and "class_name" in identifier:
        cls = _CLASSES.get(identifier["class_name"])
        if cls is None:
            raise ValueError(f"Unknown initializer class {identifier['class_name']!r}. "
                             f"Known: {', '.join(sorted(_CLASSES))}")
        return cls(**identifier.get("config", {}))
    raise TypeError(f"Expected an initializer name, Initializer or config dict, got {identifier!r}")
