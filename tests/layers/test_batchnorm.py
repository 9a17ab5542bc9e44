"""Dense BatchNorm: gradient check in training mode, running averages, inference."""

import numpy as np
import pytest

import tanul
from tanul.layers import BatchNorm
from tanul.testing import check_layer


def test_gradient_check_training_and_inference():
    check_layer(BatchNorm(), (5,), batch_size=7, training=True)
    check_layer(BatchNorm(), (3,), batch_size=4, training=False)


def test_normalises_each_feature_and_tracks_running_averages():
    rng = np.random.default_rng(0)
    x = rng.normal([1.0, -3.0, 10.0], [0.5, 2.0, 4.0], size=(64, 3))
    bn = BatchNorm(momentum=0.9)
    bn.build((3,), rng, np.float64)
    y = bn.forward(x, training=True)
    np.testing.assert_allclose(y.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(y.std(axis=0), 1 / np.sqrt(1 + 1e-5 / x.var(axis=0)), rtol=1e-9)
    # running = 0.9·running + 0.1·batch (unbiased variance), from 0 and 1
    np.testing.assert_allclose(bn.state["running_mean"], 0.1 * x.mean(axis=0))
    np.testing.assert_allclose(bn.state["running_var"], 0.9 + 0.1 * x.var(axis=0, ddof=1))
    z = bn.forward(x[:2], training=False)
    expect = (x[:2] - bn.state["running_mean"]) / np.sqrt(bn.state["running_var"] + 1e-5)
    np.testing.assert_allclose(z, expect)


def test_in_a_model_and_errors():
    x = np.random.default_rng(1).normal(size=(50, 4)).astype(np.float32)
    y = (x[:, :1] > 0).astype(np.int64).ravel()
    model = tanul.Sequential([tanul.Dense(8), BatchNorm(), tanul.ReLU(), tanul.Dense(2)], seed=0)
    model.compile(optimizer="adam", loss="cross_entropy")
    model.fit(x, y, epochs=3, verbose=0)
    assert "batch_norm_0" in model.summary(print_fn=None)
    assert "Non-trainable state: 16" in model.summary(print_fn=None)
    with pytest.raises(ValueError, match="BatchNorm2D for NCHW"):
        BatchNorm().build((1, 8, 8), np.random.default_rng(0), np.float32)
    with pytest.raises(ValueError, match="momentum"):
        BatchNorm(momentum=1.0)
