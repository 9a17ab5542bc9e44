"""Ready-made convolutional networks (lecture 4): LeNet-5 and a minimal CNN.

Each function returns an unbuilt-then-built :class:`tanul.model.Sequential`; compile and fit it
as any other model.

>>> model = lenet5(seed=0)
>>> model.output_shape, model.count_params()
((10,), 61706)
"""

from __future__ import annotations

from typing import Any

from tanul.layers.activations import ReLU
from tanul.layers.conv import Conv2D
from tanul.layers.dense import Dense
from tanul.layers.pooling import MaxPool2D
from tanul.layers.reshape import Flatten
from tanul.model import Sequential

__all__ = ["lenet5", "simple_cnn"]


def _shape(input_shape: Any, who: str) -> tuple[int, int, int]:
    shape = tuple(input_shape)
    if len(shape) != 3 or not all(isinstance(s, int) and s > 0 for s in shape):
        raise ValueError(f"{who}: expected input_shape (C, H, W) of positive ints, "
                         f"got input_shape={input_shape!r}")
    return shape  # type: ignore[return-value]


def lenet5(activation: str = "tanh", num_classes: int = 10,
           input_shape: tuple[int, int, int] = (1, 28, 28), seed: int | None = None,
           dtype: Any = "float32") -> Sequential:
    """LeNet-5 as in the course's Keras version (LeCun et al., 1998).

    ``conv 6@5x5 (padding 2) → max-pool 2 → conv 16@5x5 → max-pool 2 → flatten → dense 120
    → dense 84 → dense num_classes`` with ``activation`` after every conv and hidden dense
    layer, and a linear output (logits: use the softmax cross-entropy loss).

    On 1@28x28 MNIST: 6@28x28 → 6@14x14 → 16@10x10 → 16@5x5 → 400 → 120 → 84 → 10, 61,706
    parameters. The original network read 32x32 images without padding, "subsampled" with a
    trainable average (weight and bias per map), connected C3 to only some S2 maps and ended in
    RBF units; like the course (and most modern re-implementations) this one uses max-pooling,
    full connections and a dense softmax output.


    Parameters
    ----------
    activation : str
        ``"tanh"`` (the course and the paper) or e.g. ``"relu"``.
    num_classes : int
    input_shape : (C, H, W)
    seed : int, optional
        Seeds the model's generator (initialisation, dropout, shuffling).
    dtype : "float32" or "float64"
    """
    c, h, w = _shape(input_shape, "lenet5")
    model = Sequential([
        Conv2D(6, 5, padding=2, activation=activation),
        MaxPool2D(2),
        Conv2D(16, 5, activation=activation),
        MaxPool2D(2),
        Flatten(),
        Dense(120, activation=activation),
        Dense(84, activation=activation),
        Dense(num_classes),
    ], seed=seed, dtype=dtype, input_shape=(c, h, w), name="lenet5")
    return model


def simple_cnn(num_classes: int = 10, input_shape: tuple[int, int, int] = (3, 32, 32),
               seed: int | None = None, dtype: Any = "float32") -> Sequential:
    """The smallest useful CNN: ``conv 12@5x5 → ReLU → max-pool 2 → flatten → dense``.

    On 3@32x32 (CIFAR-10): 12@28x28 (912 parameters, the lecture's example) → 12@14x14 →
    2,352 → ``num_classes`` logits.
    """
    c, h, w = _shape(input_shape, "simple_cnn")
    model = Sequential([
        Conv2D(12, 5),
        ReLU(),
        MaxPool2D(2),
        Flatten(),
        Dense(num_classes),
    ], seed=seed, dtype=dtype, input_shape=(c, h, w), name="simple_cnn")
    return model
