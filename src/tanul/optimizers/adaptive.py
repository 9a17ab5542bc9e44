"""AdaGrad, AdaDelta and RMSProp: per-weight learning rates from gradient statistics.

Each follows PyTorch's ``torch.optim`` convention for where ε goes (stated per class), and
updates the flat parameter buffer in place.
"""

from __future__ import annotations

import numpy as np

from tanul.optimizers.base import Optimizer, _check_nonneg

__all__ = ["AdaGrad", "AdaDelta", "RMSProp"]


class AdaGrad(Optimizer):
    """AdaGrad (Duchi, Hazan & Singer, 2011): divide by the root of all past squared gradients.

    * G_t = G_{t−1} + g_t²            (G_0 = ``initial_accumulator``)
    * θ_t = θ_{t−1} − η g_t / (√G_t + ε)

    (ε outside the root, as PyTorch; Keras puts it the same place.) The effective step size
    only shrinks, which suits sparse features and convex problems and stalls deep networks.
    """

    slots = ("sum",)

    def __init__(self, lr=0.01, eps: float = 1e-10, initial_accumulator: float = 0.0, **kwargs) -> None:
        super().__init__(lr, **kwargs)
        self.eps = _check_nonneg("AdaGrad", "eps", eps)
        self.initial_accumulator = _check_nonneg("AdaGrad", "initial_accumulator", initial_accumulator)

    def _init_state(self) -> None:
        self._state["sum"][...] = self.initial_accumulator

    def _update(self, p, g, lr):
        dt, s, tmp = p.dtype.type, self._state["sum"], self._scratch
        np.multiply(g, g, out=tmp)
        s += tmp                                   # G ← G + g²
        np.sqrt(s, out=tmp)
        tmp += dt(self.eps)
        np.divide(g, tmp, out=tmp)                 # g / (√G + ε)
        tmp *= dt(lr)
        p -= tmp

    def get_config(self):
        return super().get_config() | {"eps": self.eps, "initial_accumulator": self.initial_accumulator}


class AdaDelta(Optimizer):
    """AdaDelta (Zeiler, 2012): units-correct steps from running averages, no global rate needed.

    * E[g²]_t = ρ E[g²]_{t−1} + (1 − ρ) g_t²
    * Δ_t = √(E[Δ²]_{t−1} + ε) / √(E[g²]_t + ε) · g_t
    * E[Δ²]_t = ρ E[Δ²]_{t−1} + (1 − ρ) Δ_t²
    * θ_t = θ_{t−1} − η Δ_t          (η = 1 in the paper; PyTorch's ``lr`` multiplies Δ)
    """

    slots = ("sq_avg", "delta_avg")

    def __init__(self, lr=1.0, rho: float = 0.9, eps: float = 1e-6, **kwargs) -> None:
        super().__init__(lr, **kwargs)
        self.rho = _check_nonneg("AdaDelta", "rho", rho, upper=1.0)
        self.eps = _check_nonneg("AdaDelta", "eps", eps, positive=True)

    def _update(self, p, g, lr):
        dt, tmp = p.dtype.type, self._scratch
        sq, acc = self._state["sq_avg"], self._state["delta_avg"]
        rho, eps = dt(self.rho), dt(self.eps)
        sq *= rho
        np.multiply(g, g, out=tmp)
        tmp *= dt(1 - self.rho)
        sq += tmp                                   # E[g²]
        np.add(acc, eps, out=tmp)
        np.sqrt(tmp, out=tmp)                       # √(E[Δ²] + ε)
        tmp /= np.sqrt(sq + eps)
        tmp *= g                                    # Δ
        acc *= rho
        acc += dt(1 - self.rho) * tmp * tmp         # E[Δ²]
        tmp *= dt(lr)
        p -= tmp

    def get_config(self):
        return super().get_config() | {"rho": self.rho, "eps": self.eps}


class RMSProp(Optimizer):
    """RMSProp (Hinton, Coursera lecture 6e, 2012), with momentum and the centred variant.

    * v_t = ρ v_{t−1} + (1 − ρ) g_t²
    * centred (Graves, 2013): ḡ_t = ρ ḡ_{t−1} + (1 − ρ) g_t and the denominator uses v_t − ḡ_t²
    * s_t = g_t / (√(v_t [− ḡ_t²]) + ε)
    * without momentum: θ_t = θ_{t−1} − η s_t; with momentum μ: b_t = μ b_{t−1} + s_t,
      θ_t = θ_{t−1} − η b_t

    ε outside the root and ρ = 0.99 by default, as PyTorch (Keras uses ρ = 0.9, ε = 1e-7).
    """

    def __init__(self, lr=0.01, rho: float = 0.99, eps: float = 1e-8, momentum: float = 0.0,
                 centered: bool = False, **kwargs) -> None:
        super().__init__(lr, **kwargs)
        self.rho = _check_nonneg("RMSProp", "rho", rho, upper=1.0)
        self.eps = _check_nonneg("RMSProp", "eps", eps)
        self.momentum = _check_nonneg("RMSProp", "momentum", momentum, upper=1.0)
        self.centered = bool(centered)
        self.slots = ("sq_avg",) + (("grad_avg",) if self.centered else ()) + \
            (("momentum_buffer",) if self.momentum else ())

    def _update(self, p, g, lr):
        dt, tmp = p.dtype.type, self._scratch
        v = self._state["sq_avg"]
        v *= dt(self.rho)
        np.multiply(g, g, out=tmp)
        tmp *= dt(1 - self.rho)
        v += tmp
        if self.centered:
            ga = self._state["grad_avg"]
            ga *= dt(self.rho)
            ga += dt(1 - self.rho) * g
            np.multiply(ga, ga, out=tmp)
            np.subtract(v, tmp, out=tmp)
            np.sqrt(tmp, out=tmp)
        else:
            np.sqrt(v, out=tmp)
        tmp += dt(self.eps)
        np.divide(g, tmp, out=tmp)                  # s = g / (√v + ε)
        if self.momentum:
            b = self._state["momentum_buffer"]
            b *= dt(self.momentum)
            b += tmp
            np.multiply(b, dt(lr), out=tmp)
        else:
            tmp *= dt(lr)
        p -= tmp

    def get_config(self):
        return super().get_config() | {"rho": self.rho, "eps": self.eps, "momentum": self.momentum,
                                       "centered": self.centered}
