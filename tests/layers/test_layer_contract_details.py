"""Layer contract details the first suite did not pin (issue 18, mutation testing): the dtype a
layer records when built, defaults, private helper classes kept out of the registry, the
random stream of Dropout's mask, BatchNorm2D's inference default and its argument check."""

import numpy as np
import pytest

from tanul.layers import (
    AvgPool2D,
    BatchNorm,
    BatchNorm2D,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    GlobalAvgPool2D,
    LeakyReLU,
    MaxPool2D,
    PReLU,
)
from tanul.layers.base import LAYERS, Layer, get, register_layer


@pytest.mark.parametrize(("make", "shape"), [
    (PReLU, (3,)), (lambda: Dropout(0.5), (3,)), (BatchNorm2D, (2, 3, 3)),
    (BatchNorm, (3,)), (lambda: MaxPool2D(2), (1, 4, 4)), (lambda: AvgPool2D(2), (1, 4, 4)),
    (lambda: Dense(2), (3,)), (lambda: Conv2D(2, 1), (1, 3, 3)), (Flatten, (2, 3)),
    (GlobalAvgPool2D, (2, 3, 3)), (lambda: Conv2D(2, 1, activation="tanh"), (1, 3, 3)),
    (lambda: Dense(2, activation="sigmoid"), (3,)),
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_built_layers_record_their_dtype_and_input_shape(make, shape, dtype):
    layer = make()
    layer.build(shape, np.random.default_rng(0), dtype)
    assert layer.dtype == np.dtype(dtype)
    assert layer.built is True
    if getattr(layer, "activation", None) is not None:
        assert layer.activation.dtype == np.dtype(dtype)
        assert layer.activation.input_shape == layer.output_shape(shape)
    for k, p in layer.params.items():
        assert p.dtype == dtype and layer.grads[k].dtype == dtype and layer.grads[k].shape == p.shape


def test_private_helper_classes_are_not_registered():
    assert "_Pool2D" not in LAYERS and "_Elementwise" not in LAYERS
    assert LAYERS["MaxPool2D"] is MaxPool2D and LAYERS["PReLU"] is PReLU


def test_pool_size_defaults_to_two():
    assert MaxPool2D().pool_size == (2, 2) and MaxPool2D().strides == (2, 2)
    assert AvgPool2D().pool_size == (2, 2) and AvgPool2D().output_shape((1, 6, 4)) == (1, 3, 2)


def test_batchnorm2d_forward_defaults_to_inference():
    bn = BatchNorm2D(eps=1e-5)
    bn.build((2, 2, 2), np.random.default_rng(0), np.float64)
    x = np.arange(16.0).reshape(2, 2, 2, 2)
    # fresh running statistics (mean 0, variance 1): y = x / √(1 + ε), and nothing is updated
    np.testing.assert_allclose(bn.forward(x), x / np.sqrt(1 + 1e-5), rtol=1e-12)
    np.testing.assert_array_equal(bn.state["running_mean"], [0.0, 0.0])
    np.testing.assert_array_equal(bn.state["running_var"], [1.0, 1.0])


@pytest.mark.parametrize("momentum", ["0.9", None, [0.9]])
def test_batchnorm_momentum_of_another_type_is_a_clear_error(momentum):
    msg = (f"BatchNorm2D: expected momentum in [0, 1), got momentum={momentum!r} "
           "(running = momentum·running + (1 − momentum)·batch)")
    with pytest.raises(ValueError) as exc:
        BatchNorm2D(momentum=momentum)
    assert str(exc.value) == msg


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dropout_mask_is_drawn_in_the_inputs_precision(dtype):
    # the mask is U < 1 − rate with U drawn from the layer's generator in the input's float type
    # (float32 uniforms for float32 inputs): a seed gives the same units on every run
    layer = Dropout(0.3)
    layer.build((4, 5), np.random.default_rng(11), dtype)
    x = np.ones((6, 4, 5), dtype)
    y = layer.forward(x, training=True)
    u = np.random.default_rng(11).random((6, 4, 5), dtype=dtype)
    np.testing.assert_array_equal(y != 0, u < 0.7)
    np.testing.assert_allclose(y[y != 0], 1 / 0.7, rtol=1e-6)
    assert y.dtype == dtype


def test_a_layer_with_its_own_build_has_unknown_parameter_shapes():
    class _Plain(Layer):   # private names: not added to the registry
        pass

    class _OwnBuild(Layer):
        def build(self, input_shape, rng, dtype=np.float32):
            self.params["w"] = np.zeros(input_shape, dtype)
            super().build(input_shape, rng, dtype)

    assert _Plain().param_shapes((3,)) == {} and _Plain().state_shapes((3,)) == {}
    assert _OwnBuild().param_shapes((3,)) is None and _OwnBuild().state_shapes((3,)) is None


def test_get_refuses_a_class_name_that_is_not_a_string():
    with pytest.raises(TypeError) as exc:
        get({"class_name": 3})
    assert str(exc.value) == "Expected a layer class name (a str), got 3"


def test_unbuilt_image_layers_name_the_nchw_layout():
    with pytest.raises(ValueError) as exc:
        MaxPool2D().forward(np.ones((2, 3, 4)))
    assert str(exc.value) == "MaxPool2D: expected a 4-D NCHW input.\n  Expect: (N, C, H, W)\n  Actual: (2, 3, 4)"


def test_conv2d_settings_are_kept():
    assert Conv2D(2, 3, padding=(1, 1)).get_config()["padding"] == 1
    assert Conv2D(2, 3, padding=[1, 0]).get_config()["padding"] == (1, 0)
    assert Conv2D(2, 3, padding=2).padding == 2 and Conv2D(2, 3, padding="same").padding == "same"
    conv = Conv2D(2, 3, kernel_regularizer="l2")
    assert list(conv.regularizers) == ["W"]
    assert conv.get_config()["kernel_regularizer"] is not None and "kernel_regularizer=" in repr(conv)
    assert Conv2D(2, 3).regularizers == {}
    with pytest.raises(ValueError, match="non-default arguments"):
        Conv2D(2, 3, activation=LeakyReLU(0.2))


def test_conv2d_random_bias_comes_from_the_build_generator():
    a, b = Conv2D(2, 3, bias_initializer="random_normal"), Conv2D(2, 3, bias_initializer="random_normal")
    a.build((1, 5, 5), np.random.default_rng(3), np.float64)
    b.build((1, 5, 5), np.random.default_rng(3), np.float64)
    np.testing.assert_array_equal(a.params["b"], b.params["b"])
    assert np.any(a.params["b"] != 0)


@pytest.mark.parametrize("name", ["", 3, b"dense"])
def test_a_layer_name_must_be_a_non_empty_string(name):
    with pytest.raises(TypeError) as exc:
        Dense(2, name=name)
    assert str(exc.value) == f"Dense: expected name to be a non-empty str, got {name!r}"


def test_unbuilt_state_and_rebuilding():
    layer = Dense(2)
    assert layer.built is False and layer.dtype is None and layer.input_shape is None
    layer.build((3,), np.random.default_rng(0), np.float64)
    g = layer.grads["W"]
    layer.build((3,), np.random.default_rng(0), np.float64)
    assert layer.grads["W"] is g                 # same shape: the gradient array is kept
    layer.build((4,), np.random.default_rng(0), np.float64)
    assert layer.grads["W"].shape == (4, 2) and layer.params["W"].shape == (4, 2)


def test_input_checks_name_the_layer_the_type_and_both_shapes():
    layer = Flatten(name="flat")
    layer.build((2, 3), np.random.default_rng(0), np.float64)
    with pytest.raises(TypeError) as exc:
        layer.forward([[1.0, 2.0]])
    assert str(exc.value) == "Flatten('flat'): expected a numpy array, got list"
    with pytest.raises(ValueError) as exc:
        layer.forward(np.zeros((1, 3, 2)))
    assert str(exc.value) == "Flatten('flat'): input shape mismatch.\n  Expect: (N, 2, 3)\n  Actual: (1, 3, 2)"


def test_get_keeps_private_names_for_custom_objects_only():
    class _Hidden(Flatten):
        pass

    register_layer(_Hidden, name="_Hidden")
    try:
        with pytest.raises(ValueError) as exc:
            get("_Hidden")
        assert "_Hidden" not in str(exc.value).split("Known:")[1]   # not listed
        assert isinstance(get("_Hidden", custom_objects={"_Hidden": _Hidden}), _Hidden)
        assert isinstance(get("_Mine", custom_objects={"_Mine": Flatten}), Flatten)
    finally:
        del LAYERS["_Hidden"]
    with pytest.raises(TypeError) as exc:
        get({"class_name": "Dense", "config": {"units": 3, 5: 1}})
    assert str(exc.value) == ("Dense: expected the layer config to be an object of keyword arguments, "
                              "got {'units': 3, 5: 1}")


def test_dense_random_bias_and_activation_check():
    a, b = Dense(3, bias_initializer="random_normal"), Dense(3, bias_initializer="random_normal")
    a.build((2,), np.random.default_rng(5), np.float64)
    b.build((2,), np.random.default_rng(5), np.float64)
    np.testing.assert_array_equal(a.params["b"], b.params["b"])
    assert np.any(a.params["b"] != 0)
    with pytest.raises(ValueError, match="non-default arguments"):
        Dense(2, activation=LeakyReLU(0.2))
