"""Conv2D's arguments, defaults and dtypes (mutation testing found them unpinned)."""

import numpy as np
import pytest

from tanul.layers import Conv2D, Dense


@pytest.mark.parametrize(("args", "kw", "message"), [
    ((0, 3), {}, r"^Conv2D: expected filters to be a positive int, got filters=0$"),
    ((True, 3), {}, r"^Conv2D: expected filters to be a positive int, got filters=True$"),
    ((2.0, 3), {}, r"^Conv2D: expected filters to be a positive int, got filters=2\.0$"),
    ((4, 3), dict(strides=0), r"^Conv2D: expected strides to be a positive int or a pair of them, got strides=0$"),
    ((4, 3), dict(padding=-1), r"^Conv2D: expected padding to be an int >= 0, 'same' or 'valid', got -1$"),
    ((4, 3), dict(padding=(1, -1)),
     r"^Conv2D: expected padding to be a non-negative int or a pair of them, got padding=\(1, -1\)$"),
    ((4, 3), dict(activation="prelu"),
     r"^Conv2D: activation='prelu' has parameters; add a PReLU\(\) layer after the Conv2D instead$"),
])
def test_argument_errors(args, kw, message):
    with pytest.raises(ValueError, match=message):
        Conv2D(*args, **kw)


def test_one_filter_and_the_name_are_kept():
    c = Conv2D(1, 3, name="one")
    assert c.filters == 1 and c.name == "one" and repr(c) == "Conv2D(1, 3, name='one')"


def test_same_padding_per_axis_with_strides():
    c = Conv2D(4, (3, 5), strides=(2, 1), padding="same")
    assert c.padding == "same" and c.output_shape((1, 9, 9)) == (4, 5, 9)  # ceil(9/2), 9
    x = np.random.default_rng(0).normal(size=(1, 1, 9, 9))
    assert c(x).shape == (1, 4, 5, 9)
    d = Conv2D(4, (5, 3), strides=(1, 2), padding="same")
    assert d.output_shape((1, 9, 9)) == (4, 9, 5)


def test_default_initializers_glorot_uniform_weights_and_zero_bias():
    c = Conv2D(6, 3)
    c.build((2, 8, 8), np.random.default_rng(0), np.float64)
    np.testing.assert_array_equal(c.params["b"], np.zeros(6))
    # Glorot uniform: U(−a, a), a = √(6 / (fan_in + fan_out)), fans = 2·9 and 6·9
    a = np.sqrt(6.0 / (2 * 9 + 6 * 9))
    w = c.params["W"]
    assert np.abs(w).max() <= a and np.abs(w).max() > 0.8 * a
    assert 0.6 < w.var() / (a * a / 3) < 1.4  # the variance of U(−a, a) is a²/3


@pytest.mark.parametrize("make", [
    lambda: Conv2D(2, 3, bias_initializer="ones", activation="relu"),
    lambda: Dense(2, activation="tanh", bias_initializer="ones"),
])
def test_float32_parameters_outputs_and_activation(make):
    layer = make()
    x = np.ones((1, 1, 5, 5) if isinstance(layer, Conv2D) else (1, 3), np.float32)
    y = layer(x)
    assert y.dtype == np.float32 and layer.dtype == np.float32
    assert all(p.dtype == np.float32 for p in layer.params.values())
    np.testing.assert_array_equal(layer.params["b"], np.ones(2, np.float32))
    assert layer.activation.dtype == np.float32
    assert layer.backward(np.ones_like(y)).dtype == np.float32
