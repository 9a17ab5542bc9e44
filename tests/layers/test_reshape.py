"""Flatten: C-order reshape, gradient check, use between images and Dense."""

import numpy as np
import pytest

from tanul.layers.dense import Dense
from tanul.layers.reshape import Flatten
from tanul.model import Sequential
from tanul.testing import check_layer


def test_check_layer():
    check_layer(Flatten(), (2, 3, 4), batch_size=2)


def test_c_order_and_output_shape():
    x = np.arange(2 * 3 * 2 * 2, dtype=np.float64).reshape(2, 3, 2, 2)
    layer = Flatten()
    y = layer(x)
    assert layer.output_shape((3, 2, 2)) == (12,)
    np.testing.assert_array_equal(y[1], np.arange(12, 24))     # sample 1, channels then rows
    dx = layer.backward(np.ones_like(y) * 2.0)
    assert dx.shape == x.shape and (dx == 2.0).all()


def test_flatten_then_dense_in_a_model():
    model = Sequential([Flatten(), Dense(3)], seed=0, input_shape=(1, 4, 4))
    assert model.output_shape == (3,)
    assert model.count_params() == 16 * 3 + 3
    assert model.predict(np.zeros((5, 1, 4, 4))).shape == (5, 3)


def test_backward_before_forward():
    layer = Flatten()
    layer.build((2, 2), np.random.default_rng(0), np.float64)
    with pytest.raises(RuntimeError, match="before forward"):
        layer.backward(np.ones((1, 4)))


def test_repr_and_config():
    assert repr(Flatten()) == "Flatten()"
    assert Flatten(**Flatten(name="f").get_config()).name == "f"
