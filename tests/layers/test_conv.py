"""Conv2D: gradient checks, the lecture's worked examples, configs, errors, models."""

import numpy as np
import pytest

from tanul.layers.base import Layer
from tanul.layers.conv import Conv2D, format_shape
from tanul.layers.pooling import MaxPool2D
from tanul.ops.conv import conv_output_size, conv_param_count
from tanul.testing import check_layer

CASES = [  # (kwargs, input_shape)
    (dict(filters=2, kernel_size=3), (3, 5, 5)),
    (dict(filters=3, kernel_size=3, strides=2), (2, 7, 7)),
    (dict(filters=2, kernel_size=3, strides=2, padding=1), (2, 6, 5)),
    (dict(filters=2, kernel_size=5, padding=2), (3, 5, 6)),
    (dict(filters=2, kernel_size=3, padding="same"), (2, 5, 5)),
    (dict(filters=2, kernel_size=(3, 2), strides=(1, 2), padding=(1, 0)), (2, 5, 6)),
    (dict(filters=3, kernel_size=1, use_bias=False), (4, 3, 3)),
    (dict(filters=2, kernel_size=4, strides=2, padding="valid"), (1, 9, 9)),
]


@pytest.mark.parametrize("kwargs,shape", CASES)
def test_check_layer(kwargs, shape):
    check_layer(Conv2D(**kwargs), shape, batch_size=2)


@pytest.mark.parametrize("act", ["tanh", "sigmoid"])
def test_check_layer_with_activation(act):
    check_layer(Conv2D(2, 3, padding=1, activation=act), (2, 4, 5), batch_size=2)


def test_activation_relu_matches_separate_layer():
    from tanul.layers.activations import ReLU
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 6, 6))
    a, b = Conv2D(4, 3, activation="relu"), Conv2D(4, 3)
    a.build(x.shape[1:], np.random.default_rng(1), np.float64)
    b.build(x.shape[1:], np.random.default_rng(1), np.float64)
    relu = ReLU()
    np.testing.assert_array_equal(a.forward(x), relu(b.forward(x)))
    dy = rng.standard_normal((2, 4, 4, 4))
    np.testing.assert_array_equal(a.backward(dy), b.backward(relu.backward(dy)))
    np.testing.assert_array_equal(a.grads["W"], b.grads["W"])


# ------------------------------------------------------------------ lecture 4 worked examples
@pytest.mark.parametrize("c_in,hw,filters,k,s,p,out,n_params", [
    (3, 32, 12, 5, 1, 0, (12, 28, 28), 912),
    (12, 28, 48, 5, 1, 2, (48, 28, 28), 14_448),
    (12, 28, 48, 4, 2, 0, (48, 13, 13), 9_264),
])
def test_course_worked_examples(c_in, hw, filters, k, s, p, out, n_params):
    conv = Conv2D(filters, k, strides=s, padding=p)
    assert conv.output_shape((c_in, hw, hw)) == out
    conv.build((c_in, hw, hw), np.random.default_rng(0), np.float32)
    assert conv.n_params == n_params == conv_param_count(c_in, filters, k)
    assert conv.params["W"].shape == (filters, c_in, k, k)
    assert conv_output_size(hw, k, s, p) == out[1]
    assert format_shape(out) == f"{out[0]}@{out[1]}x{out[2]}"


def test_course_maxpool_example():
    pool = MaxPool2D(2, strides=2)
    assert pool.output_shape((48, 28, 28)) == (48, 14, 14)
    assert format_shape(pool.output_shape((48, 28, 28))) == "48@14x14"
    assert conv_output_size(28, 2, 2) == 14
    pool.build((48, 28, 28), np.random.default_rng(0), np.float32)
    assert pool.n_params == 0


def test_format_shape():
    assert format_shape((12, 28, 28)) == "12@28x28"
    assert format_shape((120,)) == "(120,)"
    assert format_shape((3, 4)) == "(3, 4)"


# ------------------------------------------------------------------ dtype, config, errors
def test_float32_in_float32_out():
    conv = Conv2D(4, 3, padding=1, activation="tanh")
    x = np.random.default_rng(0).standard_normal((2, 3, 8, 8)).astype(np.float32)
    y = conv(x)
    assert conv.params["W"].dtype == np.float32 and y.dtype == np.float32
    dx = conv.backward(np.ones_like(y))
    assert dx.dtype == np.float32 and conv.grads["W"].dtype == np.float32


def test_default_initializer_is_glorot_uniform():
    conv = Conv2D(12, 5)
    conv.build((3, 32, 32), np.random.default_rng(0), np.float64)
    fan_in, fan_out = 3 * 25, 12 * 25
    a = np.sqrt(6 / (fan_in + fan_out))
    W = conv.params["W"]
    assert np.abs(W).max() <= a and np.abs(W).max() > 0.9 * a
    np.testing.assert_array_equal(conv.params["b"], 0.0)


def test_grads_written_in_place():
    conv = Conv2D(3, 3, padding=1)
    conv.build((2, 5, 5), np.random.default_rng(0), np.float64)
    gW, gb = conv.grads["W"], conv.grads["b"]
    y = conv.forward(np.random.default_rng(1).standard_normal((2, 2, 5, 5)))
    conv.backward(np.ones_like(y))
    assert conv.grads["W"] is gW and conv.grads["b"] is gb
    assert np.any(gW != 0) and np.allclose(gb, 2 * 25)


def test_input_grad_off_skips_dx_but_not_param_grads():
    conv = Conv2D(3, 3)
    conv.build((2, 5, 5), np.random.default_rng(0), np.float64)
    x = np.random.default_rng(1).standard_normal((2, 2, 5, 5))
    y = conv.forward(x)
    conv.backward(np.ones_like(y))
    ref = conv.grads["W"].copy()
    conv.input_grad = False
    assert conv.backward(np.ones_like(y)) is None
    np.testing.assert_array_equal(conv.grads["W"], ref)


@pytest.mark.parametrize("kwargs", [
    dict(filters=12, kernel_size=5),
    dict(filters=4, kernel_size=(3, 5), strides=2, padding="same", activation="relu",
         use_bias=False, kernel_initializer="he_normal", kernel_regularizer="l2", name="c1"),
    dict(filters=4, kernel_size=3, padding=(1, 0)),
])
def test_get_config_round_trip(kwargs):
    layer = Conv2D(**kwargs)
    cfg = layer.get_config()
    again = Conv2D(**cfg)
    assert again.get_config() == cfg
    assert repr(again) == repr(layer)
    assert repr(layer).startswith(f"Conv2D({kwargs['filters']}, ")


def test_registered_and_resolvable_by_name():
    from tanul.layers.base import get, serialize
    layer = Conv2D(6, 5, padding=2, activation="tanh")
    assert isinstance(layer, Layer)
    assert get(serialize(layer)).get_config() == layer.get_config()


def test_errors_are_clear():
    with pytest.raises(ValueError, match="filters"):
        Conv2D(0, 3)
    with pytest.raises(ValueError, match="kernel_size"):
        Conv2D(4, 0)
    with pytest.raises(ValueError, match="odd kernel"):
        Conv2D(4, 4, padding="same")
    with pytest.raises(ValueError, match="padding"):
        Conv2D(4, 3, padding="full")
    conv = Conv2D(4, 5)
    with pytest.raises(ValueError, match=r"Conv2D.*\(C, H, W\)"):
        conv.output_shape((28, 28))
    with pytest.raises(ValueError, match=r"⌊\(3 \+ 2·0 − 5\)/1⌋ \+ 1 = -1 < 1"):
        conv.output_shape((1, 3, 3))
    conv.build((3, 8, 8), np.random.default_rng(0), np.float64)
    with pytest.raises(ValueError, match=r"Expect: \(N, 3, 8, 8\)[\s\S]*Actual: \(2, 8, 8\)"):
        conv.forward(np.zeros((2, 8, 8)))
    with pytest.raises(ValueError, match=r"Actual: \(2, 1, 8, 8\)"):
        conv.forward(np.zeros((2, 1, 8, 8)))
    with pytest.raises(ValueError, match="3 input channels"):
        conv.output_shape((1, 8, 8))
    with pytest.raises(RuntimeError, match="before forward"):
        Conv2D(2, 3).backward(np.zeros((1, 2, 3, 3)))


# ------------------------------------------------------------------ model zoo
def test_lenet5_shapes_and_params():
    from tanul.models import lenet5
    model = lenet5(seed=0)
    assert model.output_shape == (10,)
    # 156 + 2,416 + 48,120 + 10,164 + 850
    assert model.count_params() == 61_706
    x = np.random.default_rng(0).random((4, 1, 28, 28)).astype(np.float32)
    assert model.predict(x).shape == (4, 10)


def test_simple_cnn_trains_a_step():
    from tanul.models import simple_cnn
    model = simple_cnn(num_classes=3, input_shape=(3, 12, 12), seed=0)
    assert model.output_shape == (3,)
    assert model.count_params() == (5 * 5 * 3 + 1) * 12 + 12 * 4 * 4 * 3 + 3
    rng = np.random.default_rng(0)
    x = rng.random((16, 3, 12, 12)).astype(np.float32)
    y = rng.integers(0, 3, 16)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    hist = model.fit(x, y, epochs=3, batch_size=8, verbose=0)
    loss = hist.history["loss"]
    assert loss[-1] < loss[0]


def test_default_names_in_a_model():
    from tanul.models import lenet5
    names = [layer.name for layer in lenet5(seed=0).layers]
    assert names[:4] == ["conv2d_0", "max_pool2d_0", "conv2d_1", "max_pool2d_1"]
