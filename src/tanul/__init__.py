"""tanul: a deep-learning library whose engine is NumPy.

>>> import tanul
>>> model = tanul.Sequential([tanul.Dense(16, activation="relu"), tanul.Dense(3)], seed=0)
"""

from tanul import callbacks, initializers, layers, losses, optimizers, regularizers, testing
from tanul.layers import (
    Dense,
    Dropout,
    Flatten,
    Identity,
    Layer,
    LeakyReLU,
    PReLU,
    ReLU,
    Sigmoid,
    Softmax,
    Softplus,
    Tanh,
    register_layer,
)
from tanul.model import Sequential, TrainingDivergedError
from tanul.optimizers import SGD, Adam, AdamW

__version__ = "0.1.0"

__all__ = [
    "__version__", "Sequential", "TrainingDivergedError",
    "Layer", "register_layer", "Dense", "Dropout", "Flatten",
    "Identity", "LeakyReLU", "PReLU", "ReLU", "Sigmoid", "Softmax", "Softplus", "Tanh",
    "SGD", "Adam", "AdamW",
    "callbacks", "initializers", "layers", "losses", "optimizers", "regularizers", "testing",
]
