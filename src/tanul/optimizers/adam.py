"""Adam, AMSGrad and AdamW."""

from __future__ import annotations

import math

import numpy as np

from tanul.optimizers.base import Optimizer, _check_nonneg

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015), with AMSGrad (Reddi et al., 2018) and coupled L2.

    Parameters
    ----------
    lr : float, default 0.001
    beta1, beta2 : float, default 0.9, 0.999
    eps : float, default 1e-8
    amsgrad : bool, default False
    weight_decay : float, default 0
        **Coupled** L2, the "classic mistake" of the course: ``λ·θ`` is added to the gradient,
        so it is then divided by √v̂ like the rest of the gradient, and weights with large
        gradients are decayed less. This is PyTorch's ``Adam(weight_decay=)``. For decay that is
        really applied to the weights use :class:`AdamW`.

    Notes
    -----
    With g_t = ∇L(θ_{t−1}) + λθ_{t−1}:

    * m_t = β₁ m_{t−1} + (1 − β₁) g_t
    * v_t = β₂ v_{t−1} + (1 − β₂) g_t²
    * m̂_t = m_t / (1 − β₁ᵗ),  v̂_t = v_t / (1 − β₂ᵗ)   (AMSGrad: v̂_t = max(v̂_{t−1}, v_t) / (1 − β₂ᵗ))
    * θ_t = θ_{t−1} − η m̂_t / (√v̂_t + ε)

    Implemented as ``θ −= η_t · m / (√v + ε̂)`` with η_t = η √(1 − β₂ᵗ) / (1 − β₁ᵗ) and
    ε̂ = ε √(1 − β₂ᵗ), which is algebraically the same and saves two passes over the buffer.

    >>> import numpy as np
    >>> p, g = np.array([1.0, -1.0]), np.array([0.1, -3.0])
    >>> opt = Adam(lr=0.01); opt.build(p, g); opt.step()
    >>> np.round(p, 6)            # the first Adam step moves every weight by ≈ η·sign(g)
    array([ 0.99, -0.99])
    """

    def __init__(self, lr=0.001, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
                 amsgrad: bool = False, weight_decay: float = 0.0, **kwargs) -> None:
        super().__init__(lr, **kwargs)
        name = type(self).__name__
        self.beta1 = _check_nonneg(name, "beta1", beta1, upper=1.0)
        self.beta2 = _check_nonneg(name, "beta2", beta2, upper=1.0)
        self.eps = _check_nonneg(name, "eps", eps)
        self.amsgrad = bool(amsgrad)
        self.weight_decay = _check_nonneg(name, "weight_decay", weight_decay)
        self.slots = ("m", "v", "v_max") if self.amsgrad else ("m", "v")

    def _apply_weight_decay(self, p, g, lr):
        """Coupled L2: g ← g + λθ."""
        if self.weight_decay:
            g += p * g.dtype.type(self.weight_decay)

    def _update(self, p, g, lr):
        self._update_part(p, g, lr, None)

    def _update_part(self, p, g, lr, part):
        """The rule on the elements ``part`` (a slice; ``None``: all), element-wise throughout,
        so threads may split it."""
        self._apply_weight_decay(p, g, lr)
        t = self.iterations
        dt = p.dtype.type
        st = self._state if part is None else {k: a[part] for k, a in self._state.items()}
        m, v = st["m"], st["v"]
        tmp = self._scratch if part is None else self._scratch[part]
        # m ← β1 m + (1 − β1) g
        m *= dt(self.beta1)
        np.multiply(g, dt(1.0 - self.beta1), out=tmp)
        m += tmp
        # v ← β2 v + (1 − β2) g²
        v *= dt(self.beta2)
        np.multiply(g, g, out=tmp)
        tmp *= dt(1.0 - self.beta2)
        v += tmp
        if self.amsgrad:
            vmax = st["v_max"]
            np.maximum(vmax, v, out=vmax)
            v = vmax
        bc1, bc2 = 1.0 - self.beta1 ** t, 1.0 - self.beta2 ** t
        lr_t = lr * math.sqrt(bc2) / bc1
        eps_t = self.eps * math.sqrt(bc2)
        # θ ← θ − η_t m / (√v + ε̂)
        np.sqrt(v, out=tmp)
        tmp += dt(eps_t)
        np.divide(m, tmp, out=tmp)
        tmp *= dt(lr_t)
        p -= tmp

    def get_config(self):
        return super().get_config() | {"beta1": self.beta1, "beta2": self.beta2, "eps": self.eps,
                                       "amsgrad": self.amsgrad, "weight_decay": self.weight_decay}


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019).

    ``weight_decay`` λ here shrinks the weights directly, outside the adaptive scaling:

    * θ ← θ − η λ θ, then the Adam step on the plain gradient ∇L(θ)

    (with the learning rate multiplying λ, as in PyTorch and Keras: ``θ −= η·λ·θ``). Because the
    decay is not divided by √v̂, every weight shrinks by the same factor (1 − ηλ), whereas
    ``Adam(weight_decay=λ)`` adds λθ to the gradient, and the normalisation by √v̂ then makes the
    decay nearly ``η·sign(θ)`` for weights with small gradients and almost nothing for weights
    with large gradients. Default λ = 0.01 as in PyTorch.
    """

    def __init__(self, lr=0.001, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
                 amsgrad: bool = False, weight_decay: float = 0.01, **kwargs) -> None:
        super().__init__(lr, beta1, beta2, eps, amsgrad, weight_decay, **kwargs)

    def _apply_weight_decay(self, p, g, lr):
        """Decoupled: θ ← θ − ηλθ = (1 − ηλ)θ, the gradient untouched."""
        if self.weight_decay:
            p *= p.dtype.type(1.0 - lr * self.weight_decay)
