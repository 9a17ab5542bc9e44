"""Inverted dropout."""

from __future__ import annotations

import numpy as np

from tanul.layers.base import Layer

__all__ = ["Dropout"]


class Dropout(Layer):
    """Inverted dropout (Srivastava et al., 2014), active only when ``training=True``.

    Each unit is kept with probability ``1 − rate`` and scaled by ``1/(1 − rate)`` during
    training, so that the expected activation is unchanged and inference is the identity.
    Works on any shape (dense features or NCHW images: each value is dropped independently).

    Notes
    -----
    Forward (training): m ~ Bernoulli(1 − rate), y = x ⊙ m / (1 − rate).
    Backward: ∂L/∂x = dy ⊙ m / (1 − rate). The mask comes from the model's single random
    generator, so a seeded model drops the same units every run (the uniforms are drawn in the
    input's precision: float32 for float32 inputs, float64 for float64).

    >>> import numpy as np
    >>> d = Dropout(0.5)
    >>> x = np.ones((1, 8))
    >>> bool((d(x) == x).all())            # inference: identity
    True
    >>> sorted(set(d(x, training=True).ravel().tolist())) # training: 0 or 1/(1-0.5)
    [0.0, 2.0]
    """

    def __init__(self, rate: float, name: str | None = None) -> None:
        super().__init__(name)
        if isinstance(rate, bool) or not isinstance(rate, (int, float, np.integer, np.floating)) \
                or not 0 <= rate < 1:
            raise ValueError(f"Dropout: expected rate in [0, 1), got rate={rate!r}")
        self.rate = float(rate)
        self.rng: np.random.Generator | None = None

    def param_shapes(self, input_shape):
        return {}

    def state_shapes(self, input_shape):
        return {}

    def build(self, input_shape, rng, dtype=np.float32):
        self.rng = rng
        super().build(input_shape, rng, dtype)

    def forward(self, x, training=False):
        self._check_input(x)
        if not training or self.rate == 0.0:
            self._cache = None
            self._identity = True
            return x
        self._identity = False
        keep = 1.0 - self.rate
        mask = self.rng.random(x.shape, dtype=np.float64 if x.dtype == np.float64 else np.float32)
        mask = (mask < keep).astype(x.dtype)
        mask *= x.dtype.type(1.0 / keep)
        self._cache = mask
        return x * mask

    def backward(self, dy):
        if getattr(self, "_identity", None) is True:
            return dy
        return dy * self._need_cache()

    def get_config(self):
        return {"rate": self.rate, "name": self.name}
