"""Optimisers: every one updates the model's flat parameter buffer in place.

``get("adam")`` / ``get({"class_name": "SGD", "config": {...}})`` / an instance.
"""

from __future__ import annotations

from typing import Any

from tanul.optimizers import schedules
from tanul.optimizers.adam import Adam, AdamW
from tanul.optimizers.adaptive import AdaDelta, AdaGrad, RMSProp
from tanul.optimizers.base import Optimizer
from tanul.optimizers.lbfgs import LBFGS
from tanul.optimizers.schedules import CosineDecay, ExponentialDecay, StepDecay
from tanul.optimizers.sgd import SGD
from tanul.protocol import FullBatchOptimizer

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "AdaGrad", "AdaDelta", "RMSProp", "LBFGS", "StepDecay",
           "ExponentialDecay", "CosineDecay", "schedules", "get", "serialize", "OPTIMIZERS"]

OPTIMIZERS: dict[str, Any] = {"sgd": SGD, "adam": Adam, "adamw": AdamW, "adagrad": AdaGrad,
                              "adadelta": AdaDelta, "rmsprop": RMSProp, "lbfgs": LBFGS}


def serialize(opt: Optimizer) -> dict[str, Any]:
    return {"class_name": type(opt).__name__, "config": opt.get_config()}


def get(identifier: Any) -> Any:
    """Resolve an optimiser from a name, an instance or a config dict."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, FullBatchOptimizer):  # full-batch optimisers such as LBFGS
        return identifier
    if isinstance(identifier, str):
        key = identifier.lower()
        if key not in OPTIMIZERS:
            raise ValueError(f"Unknown optimizer {identifier!r}. Known: {', '.join(sorted(OPTIMIZERS))}")
        return OPTIMIZERS[key]()
    if isinstance(identifier, dict) and "class_name" in identifier:
        classes = {c.__name__: c for c in OPTIMIZERS.values()}
        cls = classes.get(identifier["class_name"])
        if cls is None:
            raise ValueError(f"Unknown optimizer class {identifier['class_name']!r}. "
                             f"Known: {', '.join(sorted(classes))}")
        config = dict(identifier.get("config", {}))
        if isinstance(config.get("lr"), dict):  # a saved learning-rate schedule
            config["lr"] = schedules.get(config["lr"])
        return cls(**config)
    raise TypeError(f"Expected an optimizer name, an Optimizer or a config dict, got {identifier!r}")
