"""Layers that only reshape."""

from __future__ import annotations

import numpy as np

from tanul.layers.base import Layer

__all__ = ["Flatten"]


class Flatten(Layer):
    """Flatten each sample: ``(N, C, H, W) -> (N, C·H·W)`` in C order (a view, no copy).

    >>> import numpy as np
    >>> Flatten()(np.zeros((2, 3, 4, 5))).shape
    (2, 60)
    """

    def output_shape(self, input_shape):
        return (int(np.prod(input_shape)),)

    def forward(self, x, training=False):
        self._check_input(x)
        self._cache = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dy):
        return dy.reshape(self._need_cache())
