"""Weight penalties added to the loss: L1, L2 and both.

================  =======================  ==========================
regulariser       penalty R(W)             gradient ∂R/∂W
================  =======================  ==========================
``L1(l1)``        l1 · Σ|W|                l1 · sign(W)
``L2(l2)``        l2 · Σ W²                2 · l2 · W
``L1L2(l1, l2)``  l1 · Σ|W| + l2 · Σ W²    l1 · sign(W) + 2 · l2 · W
================  =======================  ==========================

The penalty uses Keras's convention (no ½ in L2, so the gradient has the 2). It is added once per
batch to the *mean* loss over the batch, so its weight does not depend on the batch size. The model
adds ``penalty`` to the reported loss and ``grad`` to the layer's gradient in one place
(``Sequential._apply_regularizers``), so the two cannot drift apart.

L2 on the gradient is *not* the same as the decoupled weight decay of ``AdamW``: see
``tanul.optimizers.AdamW``.

>>> import numpy as np
>>> W = np.array([[1.0, -2.0]])
>>> L1L2(l1=0.1, l2=0.5).penalty(W)
2.8
>>> L1L2(l1=0.1, l2=0.5).grad(W)
array([[ 1.1, -2.1]])
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["Regularizer", "L1", "L2", "L1L2", "get", "serialize"]


def _check(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) or value < 0 \
            or not np.isfinite(value):
        raise ValueError(f"{name}: expected a finite float >= 0, got {value!r}")
    return float(value)


class Regularizer:
    """Base class: ``penalty(W) -> float`` and ``grad(W) -> ndarray``."""

    def penalty(self, W: np.ndarray) -> float:
        raise NotImplementedError

    def grad(self, W: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def __call__(self, W: np.ndarray) -> float:
        return self.penalty(W)

    def get_config(self) -> dict[str, float]:
        return {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v}' for k, v in self.get_config().items())})"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.get_config() == other.get_config()


class L1L2(Regularizer):
    """l1 · Σ|W| + l2 · Σ W²."""

    def __init__(self, l1: float = 0.0, l2: float = 0.0) -> None:
        self.l1 = _check("L1L2 l1", l1)
        self.l2 = _check("L1L2 l2", l2)

    def penalty(self, W):
        total = 0.0
        if self.l1:
            total += self.l1 * float(np.abs(W).sum())
        if self.l2:
            total += self.l2 * float(np.square(W).sum())
        return total

    def grad(self, W):
        g = np.zeros_like(W)
        if self.l1:
            g += self.l1 * np.sign(W)
        if self.l2:
            g += (2.0 * self.l2) * W
        return g

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    """l1 · Σ|W| (drives weights to exactly zero: sparse solutions)."""

    def __init__(self, l1: float = 0.01) -> None:
        super().__init__(l1=l1, l2=0.0)

    def get_config(self):
        return {"l1": self.l1}


class L2(L1L2):
    """l2 · Σ W² (shrinks all weights towards zero)."""

    def __init__(self, l2: float = 0.01) -> None:
        super().__init__(l1=0.0, l2=l2)

    def get_config(self):
        return {"l2": self.l2}


_CLASSES = {"L1": L1, "L2": L2, "L1L2": L1L2}


def serialize(reg: Regularizer | None) -> dict[str, Any] | None:
    return None if reg is None else {"class_name": type(reg).__name__, "config": reg.get_config()}


def get(identifier: Any) -> Regularizer | None:
    """``None``, a Regularizer, ``"l1"``/``"l2"``/``"l1l2"`` (default strengths) or a config dict."""
    if identifier is None or isinstance(identifier, Regularizer):
        return identifier
    if isinstance(identifier, str):
        table = {k.lower(): v for k, v in _CLASSES.items()}
        if identifier.lower() not in table:
            raise ValueError(f"Unknown regularizer {identifier!r}. Known: l1, l2, l1l2")
        return table[identifier.lower()]()
    if isinstance(identifier, dict) and identifier.get("class_name") in _CLASSES:
        return _CLASSES[identifier["class_name"]](**identifier.get("config", {}))
    raise TypeError(f"Expected a regularizer name, Regularizer, config dict or None, got {identifier!r}")
