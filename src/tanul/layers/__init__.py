"""Layers: every one follows the contract of :class:`tanul.layers.base.Layer`."""

from tanul.layers.base import LAYERS, Layer, get, register_layer, serialize

__all__ = ["Layer", "LAYERS", "get", "register_layer", "serialize"]
