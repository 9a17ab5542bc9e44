"""Dropout: inverted scaling, identity at inference, seeded masks, gradient check in training mode."""

import numpy as np
import pytest

from tanul.layers.dense import Dense
from tanul.layers.dropout import Dropout
from tanul.model import Sequential
from tanul.testing import check_layer


def built(rate, shape=(1000,), seed=0, dtype=np.float64):
    layer = Dropout(rate)
    layer.build(shape, np.random.default_rng(seed), dtype)
    return layer


def test_inference_is_identity():
    layer = built(0.5)
    x = np.random.default_rng(1).standard_normal((4, 1000))
    y = layer.forward(x, training=False)
    np.testing.assert_array_equal(y, x)
    np.testing.assert_array_equal(layer.backward(np.ones_like(x)), np.ones_like(x))


def test_rate_zero_is_identity_in_training():
    layer = built(0.0)
    x = np.random.default_rng(1).standard_normal((4, 1000))
    np.testing.assert_array_equal(layer.forward(x, training=True), x)


@pytest.mark.parametrize("rate", [0.2, 0.5, 0.8])
def test_training_mask_values_and_keep_fraction(rate):
    layer = built(rate)
    x = np.ones((50, 1000))
    y = layer.forward(x, training=True)
    scale = 1.0 / (1.0 - rate)
    # every unit is either dropped (0) or kept and scaled by 1/(1 − rate)
    assert set(np.unique(y)) <= {0.0, scale}
    kept = (y != 0).mean()
    # 50,000 Bernoulli(1 − rate) draws: std of the mean ≤ 0.0023, allow ~4 std
    assert kept == pytest.approx(1.0 - rate, abs=0.01)


@pytest.mark.parametrize("rate", [0.3, 0.6])
def test_inverted_scaling_keeps_the_expectation(rate):
    layer = built(rate, seed=3)
    x = np.random.default_rng(4).uniform(1.0, 2.0, size=(200, 1000))
    y = layer.forward(x, training=True)
    # E[y] = (1 − rate) · x / (1 − rate) = x: the mean ratio over 200,000 entries is ≈ 1
    assert (y / x).mean() == pytest.approx(1.0, abs=0.02)


def test_backward_uses_the_same_mask():
    layer = built(0.5)
    x = np.random.default_rng(2).standard_normal((8, 1000)) + 5.0   # no zeros in x
    y = layer.forward(x, training=True)
    dx = layer.backward(np.ones_like(x))
    np.testing.assert_array_equal(dx == 0, y == 0)
    np.testing.assert_allclose(dx[dx != 0], 2.0)


def test_seed_determinism():
    x = np.ones((10, 1000))
    a = built(0.5, seed=7).forward(x, training=True)
    b = built(0.5, seed=7).forward(x, training=True)
    c = built(0.5, seed=8).forward(x, training=True)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_fresh_mask_each_forward():
    layer = built(0.5)
    x = np.ones((10, 1000))
    assert not np.array_equal(layer.forward(x, training=True), layer.forward(x, training=True))


def test_check_layer_training_mode():
    check_layer(Dropout(0.4), (6,), training=True, batch_size=4)


def test_check_layer_inference_mode_and_images():
    check_layer(Dropout(0.4), (2, 3, 3), training=False, batch_size=2)
    check_layer(Dropout(0.4), (2, 3, 3), training=True, batch_size=2)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_preserved(dtype):
    layer = built(0.5, dtype=dtype)
    y = layer.forward(np.ones((3, 1000), dtype), training=True)
    assert y.dtype == dtype
    assert layer.backward(np.ones_like(y)).dtype == dtype


def test_seeded_model_with_dropout_is_repeatable():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 5)).astype(np.float32)
    y = rng.integers(0, 3, 64)

    def train(seed):
        model = Sequential([Dense(16, activation="relu"), Dropout(0.5), Dense(3)], seed=seed)
        model.compile(optimizer="adam", loss="cross_entropy")
        model.fit(x, y, epochs=3, batch_size=16, verbose=0)
        return model.params.copy()

    np.testing.assert_array_equal(train(1), train(1))
    assert not np.array_equal(train(1), train(2))


@pytest.mark.parametrize("rate", [1.0, -0.1, 1.5, "0.5", True, None])
def test_bad_rate(rate):
    with pytest.raises(ValueError, match=r"Dropout: expected rate in \[0, 1\)"):
        Dropout(rate)


def test_backward_before_forward():
    layer = built(0.5)
    with pytest.raises(RuntimeError, match="before forward"):
        layer.backward(np.ones((2, 1000)))


def test_config_and_repr():
    layer = Dropout(0.25, name="drop")
    assert Dropout(**layer.get_config()).get_config() == {"rate": 0.25, "name": "drop"}
    assert repr(layer) == "Dropout(rate=0.25, name='drop')"


def test_numpy_scalar_rate():
    """Regression: Dropout(np.float32(0.5)) used to be rejected."""
    assert Dropout(np.float32(0.5)).rate == 0.5
