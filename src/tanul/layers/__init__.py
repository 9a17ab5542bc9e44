"""Layers: every one follows the contract of :class:`tanul.layers.base.Layer`."""

from tanul.layers.activations import (
    Identity,
    LeakyReLU,
    PReLU,
    ReLU,
    Sigmoid,
    Softmax,
    Softplus,
    Tanh,
)
from tanul.layers.base import LAYERS, Layer, get, register_layer, serialize
from tanul.layers.dense import Dense
from tanul.layers.dropout import Dropout
from tanul.layers.reshape import Flatten

__all__ = [
    "Layer", "LAYERS", "get", "register_layer", "serialize",
    "Dense", "Dropout", "Flatten",
    "Identity", "LeakyReLU", "PReLU", "ReLU", "Sigmoid", "Softmax", "Softplus", "Tanh",
]
