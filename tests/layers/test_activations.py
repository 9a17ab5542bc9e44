"""Activation layers: formulas written out here, float64 gradient checks away from kinks, errors."""

import math
import warnings

import numpy as np
import pytest

from tanul.layers import activations
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
from tanul.testing import check_layer


def away_from_zero(shape, seed=0):
    """Random values with |x| in [0.1, 2]: no central difference straddles a kink at 0."""
    rng = np.random.default_rng(seed)
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.1, 2.0, size=shape)


LAYERS = [Sigmoid, Tanh, ReLU, lambda: LeakyReLU(0.1), Softplus, Softmax, Identity,
          lambda: PReLU(0.3)]
IDS = ["sigmoid", "tanh", "relu", "leaky_relu", "softplus", "softmax", "identity", "prelu"]


@pytest.mark.parametrize("make", LAYERS, ids=IDS)
def test_check_layer_features(make):
    check_layer(make(), (5,), x=away_from_zero((4, 5)))


@pytest.mark.parametrize("make", LAYERS, ids=IDS)
def test_check_layer_images(make):
    check_layer(make(), (2, 3, 3), x=away_from_zero((2, 2, 3, 3), seed=1))


# ------------------------------------------------------------------ forward against the formulas
def scalar(f, x):
    return np.array([[f(float(v)) for v in row] for row in x])


X = np.array([[-2.0, -0.5, 0.3, 1.7], [3.0, -4.0, 0.0, 0.9]])


@pytest.mark.parametrize("layer,f", [
    (Sigmoid(), lambda v: 1.0 / (1.0 + math.exp(-v))),
    (Tanh(), math.tanh),
    (ReLU(), lambda v: max(v, 0.0)),
    (LeakyReLU(0.2), lambda v: v if v > 0 else 0.2 * v),
    (Softplus(), lambda v: math.log(1.0 + math.exp(v))),
    (Identity(), lambda v: v),
], ids=["sigmoid", "tanh", "relu", "leaky_relu", "softplus", "identity"])
def test_forward_matches_formula(layer, f):
    np.testing.assert_allclose(layer(X), scalar(f, X), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("layer,df", [
    (Sigmoid(), lambda v: math.exp(-v) / (1.0 + math.exp(-v)) ** 2),
    (Tanh(), lambda v: 1.0 / math.cosh(v) ** 2),
    (ReLU(), lambda v: 1.0 if v > 0 else 0.0),          # 0 at the kink, as documented
    (LeakyReLU(0.2), lambda v: 1.0 if v > 0 else 0.2),
    (Softplus(), lambda v: 1.0 / (1.0 + math.exp(-v))),
    (Identity(), lambda v: 1.0),
], ids=["sigmoid", "tanh", "relu", "leaky_relu", "softplus", "identity"])
def test_derivative_matches_formula(layer, df):
    # a random upstream gradient: with dy = 1, f'(z) and f'(z)·dy (the chain rule) look the same
    dy = np.random.default_rng(3).uniform(-2.0, 2.0, X.shape)
    layer(X)
    np.testing.assert_allclose(layer.backward(dy), dy * scalar(df, X), rtol=1e-12, atol=1e-15)


def test_softmax_formula_and_rows():
    z = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    e = np.exp([1.0, 2.0, 3.0])
    expected = np.array([e / e.sum(), [1 / 3, 1 / 3, 1 / 3]])
    np.testing.assert_allclose(Softmax()(z), expected, rtol=1e-12)


def test_softmax_jacobian_by_hand():
    # ∂y_i/∂z_j = y_i(δ_ij − y_j); the layer returns Jᵀ dy without forming J.
    z = np.array([[0.2, -1.0, 0.5]])
    layer = Softmax()
    y = layer(z)[0]
    J = np.diag(y) - np.outer(y, y)
    dy = np.array([[1.0, -2.0, 0.5]])
    np.testing.assert_allclose(layer.backward(dy)[0], J.T @ dy[0], rtol=1e-12)


def test_extreme_inputs_are_finite_without_warnings():
    z = np.array([[-1000.0, -50.0, 0.0, 50.0, 1000.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = Sigmoid()(z)
        sp = Softplus()(z)
        sm = Softmax()(z)
    np.testing.assert_allclose(s[0, [0, 2, 4]], [0.0, 0.5, 1.0])
    np.testing.assert_allclose(sp[0, [0, 2, 4]], [0.0, math.log(2.0), 1000.0])
    assert np.isfinite(sm).all() and sm[0, 4] == pytest.approx(1.0)


@pytest.mark.parametrize("cls", [Sigmoid, Tanh, ReLU, LeakyReLU, Softplus, Softmax, Identity, PReLU])
def test_float32_stays_float32(cls):
    layer = cls()
    x = away_from_zero((3, 4)).astype(np.float32)
    y = layer(x)
    assert y.dtype == np.float32
    assert layer.backward(np.ones_like(y)).dtype == np.float32


@pytest.mark.parametrize("cls", [Sigmoid, Tanh, ReLU, LeakyReLU, Softplus, Softmax, Identity])
def test_backward_does_not_mutate_dy(cls):
    layer = cls()
    layer(away_from_zero((3, 4)))
    dy = np.ones((3, 4))
    layer.backward(dy)
    np.testing.assert_array_equal(dy, np.ones((3, 4)))


# ------------------------------------------------------------------ PReLU
def test_prelu_alpha_per_feature_and_gradient_by_hand():
    layer = PReLU(alpha_init=0.25)
    x = np.array([[-1.0, 2.0], [-3.0, -0.5]])
    layer.build((2,), np.random.default_rng(0), np.float64)
    assert layer.params["alpha"].shape == (2,)
    np.testing.assert_array_equal(layer.params["alpha"], [0.25, 0.25])
    layer.params["alpha"][...] = [0.1, 0.5]
    np.testing.assert_allclose(layer.forward(x), [[-0.1, 2.0], [-0.3, -0.25]])
    dy = np.array([[1.0, 1.0], [2.0, 4.0]])
    dx = layer.backward(dy)
    # ∂L/∂α_k = Σ_n dy_nk · x_nk over x_nk ≤ 0: α_0: 1·(−1) + 2·(−3) = −7; α_1: 4·(−0.5) = −2
    np.testing.assert_allclose(layer.grads["alpha"], [-7.0, -2.0])
    np.testing.assert_allclose(dx, [[0.1, 1.0], [0.2, 2.0]])


def test_prelu_alpha_per_channel_for_images():
    layer = PReLU()
    layer.build((3, 4, 4), np.random.default_rng(0), np.float64)
    assert layer.params["alpha"].shape == (3,)


def test_prelu_alpha_learns_in_a_model():
    from tanul.model import Sequential
    from tanul.optimizers import SGD
    model = Sequential([PReLU(alpha_init=0.25)], seed=0, dtype="float64", input_shape=(1,))
    model.compile(optimizer=SGD(lr=0.5), loss="mse")
    x = np.array([[-1.0], [-2.0]])
    y = np.array([[-0.5], [-1.0]])             # the best slope is α = 0.5
    for _ in range(200):
        model.train_on_batch(x, y)
    assert model.layers[0].params["alpha"][0] == pytest.approx(0.5, abs=1e-6)


# ------------------------------------------------------------------ registry, configs, errors
@pytest.mark.parametrize("name,cls", [("sigmoid", Sigmoid), ("tanh", Tanh), ("relu", ReLU),
                                      ("leaky_relu", LeakyReLU), ("prelu", PReLU),
                                      ("softplus", Softplus), ("softmax", Softmax),
                                      ("linear", Identity), ("identity", Identity), ("ReLU", ReLU)])
def test_get_by_name(name, cls):
    assert type(activations.get(name)) is cls


def test_get_instance_and_none():
    layer = LeakyReLU(0.3)
    assert activations.get(layer) is layer
    assert activations.get(None) is None


def test_get_unknown_lists_known():
    with pytest.raises(ValueError, match="Unknown activation 'gelu'.*sigmoid"):
        activations.get("gelu")
    with pytest.raises(TypeError, match="activation name"):
        activations.get(3)


@pytest.mark.parametrize("layer", [Sigmoid(), Tanh(), ReLU(), LeakyReLU(0.3), PReLU(0.1), Softplus(),
                                   Softmax(), Identity(name="out")])
def test_config_round_trip_and_repr(layer):
    clone = type(layer)(**layer.get_config())
    assert clone.get_config() == layer.get_config()
    assert repr(clone) == repr(layer)
    assert repr(layer).startswith(type(layer).__name__ + "(")


def test_leaky_relu_repr_shows_alpha():
    assert repr(LeakyReLU(0.3)) == "LeakyReLU(alpha=0.3)"


@pytest.mark.parametrize("alpha", [-0.1, "0.1", True])
def test_leaky_relu_bad_alpha(alpha):
    with pytest.raises(ValueError, match="LeakyReLU: expected alpha"):
        LeakyReLU(alpha)


@pytest.mark.parametrize("cls", [Sigmoid, ReLU, Softmax, PReLU])
def test_backward_before_forward(cls):
    layer = cls()
    layer.build((3,), np.random.default_rng(0), np.float64)
    with pytest.raises(RuntimeError, match="before forward"):
        layer.backward(np.ones((2, 3)))


def test_input_shape_mismatch():
    layer = Tanh()
    layer.build((3,), np.random.default_rng(0), np.float64)
    with pytest.raises(ValueError, match="Expect"):
        layer.forward(np.ones((2, 4)))


@pytest.mark.parametrize("alpha_init", ["a", None, float("nan"), True])
def test_prelu_bad_alpha_init(alpha_init):
    """Regression: PReLU('a') used to fail with float()'s bare message."""
    with pytest.raises(ValueError, match="PReLU: expected alpha_init to be a finite float"):
        PReLU(alpha_init)


def test_prelu_accepts_numpy_scalars():
    assert PReLU(np.float32(0.5)).alpha_init == 0.5
