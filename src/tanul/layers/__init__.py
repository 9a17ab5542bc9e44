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
from tanul.layers.conv import Conv2D, format_shape
from tanul.layers.dense import Dense
from tanul.layers.dropout import Dropout
from tanul.layers.normalization import BatchNorm, BatchNorm2D
from tanul.layers.pooling import AvgPool2D, GlobalAvgPool2D, MaxPool2D
from tanul.layers.reshape import Flatten

__all__ = [
    "Layer", "LAYERS", "get", "register_layer", "serialize",
    "Dense", "Dropout", "Flatten", "Conv2D", "MaxPool2D", "AvgPool2D", "GlobalAvgPool2D",
    "BatchNorm2D", "BatchNorm", "format_shape",
    "Identity", "LeakyReLU", "PReLU", "ReLU", "Sigmoid", "Softmax", "Softplus", "Tanh",
]
