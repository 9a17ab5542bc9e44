"""tanul: a deep-learning library whose engine is NumPy.

>>> import tanul
>>> model = tanul.Sequential([tanul.Dense(16, activation="relu"), tanul.Dense(3)], seed=0)
"""

from tanul import (
    callbacks,
    datasets,
    display,
    initializers,
    io,
    layers,
    losses,
    metrics,
    models,
    optimizers,
    plot,
    preprocessing,
    regularizers,
    surfaces,
    testing,
)
from tanul._version import __version__
from tanul.io import ModelFileError, load_model
from tanul.layers import (
    AvgPool2D,
    BatchNorm,
    BatchNorm2D,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    GlobalAvgPool2D,
    Identity,
    Layer,
    LeakyReLU,
    MaxPool2D,
    PReLU,
    ReLU,
    Sigmoid,
    Softmax,
    Softplus,
    Tanh,
    register_layer,
)
from tanul.model import Sequential, TrainingDivergedError
from tanul.optimizers import LBFGS, SGD, AdaDelta, AdaGrad, Adam, AdamW, RMSProp

__all__ = [
    "__version__", "Sequential", "TrainingDivergedError", "load_model", "ModelFileError",
    "Layer", "register_layer", "Dense", "Dropout", "Flatten",
    "Conv2D", "MaxPool2D", "AvgPool2D", "GlobalAvgPool2D", "BatchNorm2D",
    "Identity", "LeakyReLU", "PReLU", "ReLU", "Sigmoid", "Softmax", "Softplus", "Tanh",
    "SGD", "Adam", "AdamW", "AdaGrad", "AdaDelta", "RMSProp", "LBFGS", "BatchNorm",
    "callbacks", "datasets", "initializers", "io", "layers", "losses", "metrics", "models", "optimizers",
    "plot", "preprocessing", "regularizers", "testing", "display", "surfaces",
]
