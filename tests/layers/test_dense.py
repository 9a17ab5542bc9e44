"""Dense: the affine map against its formula, float64 gradient checks, configs and errors."""

import numpy as np
import pytest

from tanul import initializers, regularizers
from tanul.layers import activations
from tanul.layers.dense import Dense
from tanul.model import Sequential
from tanul.optimizers import SGD
from tanul.testing import check_layer, numerical_gradient

ACTIVATIONS = [None, "linear", "identity", "sigmoid", "tanh", "relu", "leaky_relu", "softplus",
               "softmax"]


@pytest.mark.parametrize("use_bias", [True, False])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_check_layer(activation, use_bias):
    # Random normal inputs and glorot weights: no pre-activation lands within h of ReLU's kink.
    errors = check_layer(Dense(4, activation=activation, use_bias=use_bias), (5,), batch_size=4)
    assert set(errors) == ({"x", "W", "b"} if use_bias else {"x", "W"})


def test_forward_is_xW_plus_b():
    layer = Dense(2, kernel_initializer=initializers.Constant(0.5), bias_initializer="ones")
    layer.build((3,), np.random.default_rng(0), np.float64)
    x = np.array([[1.0, 2.0, 3.0], [0.0, -1.0, 4.0]])
    # row 0: 0.5·(1+2+3) + 1 = 4;  row 1: 0.5·(0−1+4) + 1 = 2.5
    np.testing.assert_allclose(layer.forward(x), [[4.0, 4.0], [2.5, 2.5]])


def test_backward_formulas_by_hand():
    layer = Dense(2, use_bias=True)
    layer.build((2,), np.random.default_rng(0), np.float64)
    layer.params["W"][...] = [[1.0, 2.0], [3.0, 4.0]]
    layer.params["b"][...] = [0.5, -0.5]
    x = np.array([[1.0, -1.0], [2.0, 0.0]])
    dy = np.array([[1.0, 0.0], [0.5, 2.0]])
    layer.forward(x)
    dx = layer.backward(dy)
    # dW = xᵀ dy = [[1·1 + 2·0.5, 1·0 + 2·2], [−1·1 + 0·0.5, −1·0 + 0·2]]
    np.testing.assert_allclose(layer.grads["W"], [[2.0, 4.0], [-1.0, 0.0]])
    np.testing.assert_allclose(layer.grads["b"], [1.5, 2.0])       # column sums of dy
    # dx = dy Wᵀ: row 0 = [1·1 + 0·2, 1·3 + 0·4], row 1 = [0.5·1 + 2·2, 0.5·3 + 2·4]
    np.testing.assert_allclose(dx, [[1.0, 3.0], [4.5, 9.5]])


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu", "softplus", "softmax"])
def test_activation_equals_separate_layer(activation):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 3))
    fused, plain = Dense(5, activation=activation), Dense(5)
    fused.build((3,), np.random.default_rng(1), np.float64)
    plain.build((3,), np.random.default_rng(1), np.float64)
    act = activations.get(activation)
    np.testing.assert_array_equal(fused.forward(x), act.forward(plain.forward(x)))
    dy = rng.standard_normal((4, 5))
    np.testing.assert_allclose(fused.backward(dy), plain.backward(act.backward(dy)))
    np.testing.assert_allclose(fused.grads["W"], plain.grads["W"])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_follows_build(dtype):
    layer = Dense(3, activation="tanh")
    layer.build((2,), np.random.default_rng(0), dtype)
    assert layer.params["W"].dtype == dtype and layer.params["b"].dtype == dtype
    y = layer.forward(np.ones((4, 2), dtype))
    assert y.dtype == dtype
    assert layer.backward(np.ones_like(y)).dtype == dtype
    assert layer.grads["W"].dtype == dtype


@pytest.mark.parametrize("reg", [regularizers.L2(0.3), regularizers.L1(0.2),
                                 regularizers.L1L2(l1=0.1, l2=0.05)])
def test_regularizer_gradient_through_model(reg):
    """The model adds penalty and gradient; central differences of the total loss must agree."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 3))
    y = rng.standard_normal((6, 2))
    model = Sequential([Dense(4, activation="tanh", kernel_regularizer=reg), Dense(2)],
                       seed=0, dtype="float64")
    model.compile(optimizer=SGD(lr=0.0), loss="mse")
    model.train_on_batch(x, y)              # lr = 0: gradients only, weights unchanged
    analytic = model.grads.copy()
    numeric = numerical_gradient(lambda p: model.evaluate(x, y)["loss"], model.params)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-7)
    # and the penalty really is part of the loss
    W = model.layers[0].params["W"]
    plain = Sequential([Dense(4, activation="tanh"), Dense(2)], seed=0, dtype="float64")
    plain.compile(optimizer="sgd", loss="mse")
    plain.build((3,))
    plain.set_weights(model.get_weights())
    diff = model.evaluate(x, y)["loss"] - plain.evaluate(x, y)["loss"]
    expected = reg.l1 * np.abs(W).sum() + reg.l2 * (W ** 2).sum()
    assert diff == pytest.approx(expected, rel=1e-12)


def test_initializers_used():
    layer = Dense(3, kernel_initializer="zeros", bias_initializer=initializers.Constant(2.0))
    layer.build((4,), np.random.default_rng(0), np.float32)
    assert not layer.params["W"].any()
    np.testing.assert_array_equal(layer.params["b"], np.full(3, 2.0, np.float32))


def test_n_params_and_output_shape():
    layer = Dense(7)
    assert layer.output_shape((5,)) == (7,)
    layer.build((5,), np.random.default_rng(0), np.float32)
    assert layer.n_params == 5 * 7 + 7
    no_bias = Dense(7, use_bias=False)
    no_bias.build((5,), np.random.default_rng(0), np.float32)
    assert no_bias.n_params == 35 and "b" not in no_bias.params


def test_config_round_trip():
    layer = Dense(6, activation="relu", kernel_initializer="he_normal",
                  bias_initializer=initializers.Constant(0.1),
                  kernel_regularizer=regularizers.L2(0.01), use_bias=True, name="hidden")
    cfg = layer.get_config()
    clone = Dense(**cfg)
    assert clone.get_config() == cfg
    assert clone.kernel_initializer == initializers.HeNormal()
    assert clone.regularizers["W"] == regularizers.L2(0.01)
    # same seed, same config -> same weights
    layer.build((3,), np.random.default_rng(5), np.float32)
    clone.build((3,), np.random.default_rng(5), np.float32)
    np.testing.assert_array_equal(layer.params["W"], clone.params["W"])


def test_repr():
    assert repr(Dense(3)) == "Dense(3)"
    r = repr(Dense(8, activation="relu", kernel_regularizer=regularizers.L2(0.01), name="h"))
    assert r.startswith("Dense(8, activation='relu'") and "L2(" in r and "name='h'" in r


@pytest.mark.parametrize("units", [0, -3, 2.5, True, "4", None])
def test_bad_units(units):
    with pytest.raises(ValueError, match="Dense: expected units to be a positive int"):
        Dense(units)


def test_unknown_activation_lists_known():
    with pytest.raises(ValueError, match="Unknown activation 'relux'.*relu"):
        Dense(3, activation="relux")


def test_prelu_activation_rejected():
    with pytest.raises(ValueError, match="PReLU"):
        Dense(3, activation="prelu")


def test_image_input_asks_for_flatten():
    with pytest.raises(ValueError, match="Flatten"):
        Dense(3).build((1, 8, 8), np.random.default_rng(0), np.float32)


def test_wrong_width_names_both_shapes():
    layer = Dense(3)
    layer.build((4,), np.random.default_rng(0), np.float32)
    with pytest.raises(ValueError, match=r"(?s)Expect: \(N, 4\).*Actual: \(2, 5\)"):
        layer.forward(np.zeros((2, 5), np.float32))


def test_backward_before_forward():
    layer = Dense(3)
    layer.build((4,), np.random.default_rng(0), np.float32)
    with pytest.raises(RuntimeError, match="backward.*before forward"):
        layer.backward(np.zeros((2, 3), np.float32))


def test_lazy_build_from_first_call():
    layer = Dense(2)
    assert not layer.built
    y = layer(np.ones((3, 6), dtype=np.float64))
    assert layer.built and layer.params["W"].shape == (6, 2) and y.dtype == np.float64


def test_one_value_per_sample_asks_for_reshape_not_flatten():
    """Regression: x of shape (N,) used to get the advice to add a Flatten layer."""
    with pytest.raises(ValueError, match=r"x\.reshape\(-1, 1\)"):
        Dense(1).build((), np.random.default_rng(0), np.float32)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
def test_in_place_activation_leaves_input_and_weights_alone(activation):
    # Dense lets these activations overwrite its fresh xW + b; nothing else may change
    layer = Dense(4, activation=activation)
    layer.build((3,), np.random.default_rng(0), np.float64)
    x = np.random.default_rng(1).standard_normal((5, 3))
    x0, W0 = x.copy(), layer.params["W"].copy()
    y = layer.forward(x)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(layer.params["W"], W0)
    expected = activations.get(activation)(x0 @ W0 + layer.params["b"])
    np.testing.assert_array_equal(y, expected)
    assert not np.shares_memory(y, x)
