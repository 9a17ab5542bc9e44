"""Learning-rate schedules: ``schedule(step) -> lr``, with ``step`` the 0-based update count.

Give one as an optimiser's ``lr`` (``SGD(lr=StepDecay(0.1, 0.5, 1000))``): it is evaluated
before every update. For per-epoch control use the callbacks ``LearningRateScheduler`` and
``ReduceLROnPlateau``. Schedules are plain objects with ``get_config`` so that model files and
checkpoints can store them.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["Schedule", "StepDecay", "ExponentialDecay", "CosineDecay", "SCHEDULES", "get"]


class Schedule:
    def __call__(self, step: int) -> float:  # pragma: no cover
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return dict(self._config)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self._config.items())})"


def _pos(cls: str, name: str, v: Any, zero_ok: bool = False, at_most: float | None = None) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0 \
            or (v == 0 and not zero_ok) or (at_most is not None and v > at_most):
        want = ">= 0" if zero_ok else "> 0"
        if at_most is not None:
            want = f"in (0, {at_most:g}]"
        raise ValueError(f"{cls}: expected {name} {want}, got {v!r:.80}")
    return float(v)


def _steps(cls: str, name: str, v: Any, zero_ok: bool = False) -> int:
    """A whole number of steps (>= 1, or >= 0 with ``zero_ok``), at most 2**53."""
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) \
            or v != int(v) or not (0 if zero_ok else 1) <= v <= 2**53:
        raise ValueError(f"{cls}: expected {name} to be a whole number of steps "
                         f"{'>= 0' if zero_ok else '>= 1'}, got {v!r:.80}")
    return int(v)


class StepDecay(Schedule):
    """η_t = η₀ · factor^⌊t / step_size⌋ (PyTorch's ``StepLR``).

    Examples
    --------
    >>> [StepDecay(1.0, 0.5, 2)(t) for t in range(5)]
    [1.0, 1.0, 0.5, 0.5, 0.25]
    """

    def __init__(self, initial_lr: float, factor: float = 0.5, step_size: int = 1000) -> None:
        self.initial_lr = _pos("StepDecay", "initial_lr", initial_lr)
        self.factor = _pos("StepDecay", "factor", factor, at_most=1.0)
        self.step_size = _steps("StepDecay", "step_size", step_size)
        self._config = {"initial_lr": self.initial_lr, "factor": self.factor, "step_size": self.step_size}

    def __call__(self, step: int) -> float:
        return self.initial_lr * self.factor ** (step // self.step_size)


class ExponentialDecay(Schedule):
    """η_t = η₀ · rate^(t / decay_steps), or ``rate^⌊t / decay_steps⌋`` with ``staircase``
    (Keras's ``ExponentialDecay``).

    >>> round(ExponentialDecay(1.0, 100, 0.5)(150), 6)
    0.353553
    """

    def __init__(self, initial_lr: float, decay_steps: int, decay_rate: float, staircase: bool = False) -> None:
        self.initial_lr = _pos("ExponentialDecay", "initial_lr", initial_lr)
        self.decay_steps = _pos("ExponentialDecay", "decay_steps", decay_steps)
        self.decay_rate = _pos("ExponentialDecay", "decay_rate", decay_rate, at_most=1.0)
        self.staircase = bool(staircase)
        self._config = {"initial_lr": self.initial_lr, "decay_steps": self.decay_steps,
                        "decay_rate": self.decay_rate, "staircase": self.staircase}

    def __call__(self, step: int) -> float:
        p = step / self.decay_steps
        return self.initial_lr * self.decay_rate ** (math.floor(p) if self.staircase else p)


class CosineDecay(Schedule):
    """Cosine annealing (Loshchilov & Hutter, 2017) with optional linear warm-up:

    * warm-up (t < w): η_t = η₀ (t + 1) / w
    * then η_t = η_min + ½ (η₀ − η_min)(1 + cos(π · min(t − w, T) / T)), ``T = decay_steps``

    >>> s = CosineDecay(1.0, decay_steps=10)
    >>> s(0), round(s(5), 6), s(10), s(99)
    (1.0, 0.5, 0.0, 0.0)
    """

    def __init__(self, initial_lr: float, decay_steps: int, min_lr: float = 0.0, warmup_steps: int = 0) -> None:
        self.initial_lr = _pos("CosineDecay", "initial_lr", initial_lr)
        self.decay_steps = _pos("CosineDecay", "decay_steps", decay_steps)
        self.min_lr = _pos("CosineDecay", "min_lr", min_lr, zero_ok=True)
        self.warmup_steps = _steps("CosineDecay", "warmup_steps", warmup_steps, zero_ok=True)
        self._config = {"initial_lr": self.initial_lr, "decay_steps": self.decay_steps,
                        "min_lr": self.min_lr, "warmup_steps": self.warmup_steps}

    def __call__(self, step: int) -> float:
        if step < self.warmup_steps:
            return self.initial_lr * (step + 1) / self.warmup_steps
        t = min(step - self.warmup_steps, self.decay_steps)
        cos = 1 + math.cos(math.pi * t / self.decay_steps)
        return self.min_lr + 0.5 * (self.initial_lr - self.min_lr) * cos


#: The public schedules, by class name: the only names a config (or a file) can resolve.
SCHEDULES: dict[str, type[Schedule]] = {c.__name__: c for c in (StepDecay, ExponentialDecay, CosineDecay)}


def get(config: dict[str, Any]) -> Schedule:
    """Rebuild a schedule from ``{"class_name": ..., "config": {...}}`` through :data:`SCHEDULES`
    (never by attribute lookup on this module)."""
    if not isinstance(config, dict):
        raise TypeError(f"expected a schedule config {{'class_name': ..., 'config': {{...}}}}, "
                        f"got {config!r:.80}")
    name = config.get("class_name")
    cls = SCHEDULES.get(name) if isinstance(name, str) else None
    if cls is None:
        raise ValueError(f"unknown schedule {name!r:.80}; known: {', '.join(SCHEDULES)}")
    kwargs = config.get("config", {})
    if not isinstance(kwargs, dict):
        raise TypeError(f"{name}: expected its config to be an object, got {kwargs!r:.80}")
    return cls(**kwargs)
