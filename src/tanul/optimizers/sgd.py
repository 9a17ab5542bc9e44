"""Stochastic gradient descent, with classical or Nesterov momentum."""

from __future__ import annotations

import numpy as np

from tanul.optimizers.base import Optimizer, _check_nonneg

__all__ = ["SGD"]


class SGD(Optimizer):
    """Gradient descent with optional momentum (Polyak 1964) and Nesterov momentum.

    Parameters
    ----------
    lr : float, default 0.01
    momentum : float in [0, 1), default 0
    nesterov : bool, default False
    weight_decay : float, default 0
        **Coupled** L2: ``λ·θ`` is added to the gradient before the update (as in PyTorch's
        ``SGD(weight_decay=)``). For plain SGD this equals decaying the weights by ``η·λ·θ``.

    Notes
    -----
    With g = ∇L(θ) + λθ and velocity v (initially 0), following Sutskever et al. (2013):

    * plain:     θ ← θ − η g
    * momentum:  v ← μ v − η g;          θ ← θ + v
    * Nesterov:  v ← μ v − η g;          θ ← θ + μ v − η g

    (the Nesterov form is the look-ahead update rewritten in terms of the current parameters,
    as in Keras and PyTorch).

    >>> import numpy as np
    >>> p, g = np.array([1.0]), np.array([0.5])
    >>> opt = SGD(lr=0.1, momentum=0.9); opt.build(p, g)
    >>> opt.step(); opt.step(); p          # v1 = -0.05, v2 = -0.045 - 0.05
    array([0.855])
    """

    def __init__(self, lr=0.01, momentum: float = 0.0, nesterov: bool = False,
                 weight_decay: float = 0.0, **kwargs) -> None:
        super().__init__(lr, **kwargs)
        self.momentum = _check_nonneg("SGD", "momentum", momentum, upper=1.0)
        self.nesterov = bool(nesterov)
        if self.nesterov and self.momentum == 0:
            raise ValueError("SGD: nesterov=True needs momentum > 0, got momentum=0")
        self.weight_decay = _check_nonneg("SGD", "weight_decay", weight_decay)
        self.slots = ("velocity",) if self.momentum else ()

    def _update(self, p, g, lr):
        if self.weight_decay:
            g += p * g.dtype.type(self.weight_decay)
        step = self._scratch
        np.multiply(g, p.dtype.type(lr), out=step)  # η g
        if not self.momentum:
            p -= step
            return
        v = self._state["velocity"]
        v *= p.dtype.type(self.momentum)
        v -= step                                   # v = μv − ηg
        if self.nesterov:
            p -= step
            step[...] = v
            step *= p.dtype.type(self.momentum)
            p += step                               # θ += μv − ηg
        else:
            p += v

    def get_config(self):
        return super().get_config() | {"momentum": self.momentum, "nesterov": self.nesterov,
                                       "weight_decay": self.weight_decay}
