"""Defaults, names, dtypes, reprs and messages of the layers (the details mutation testing found
unpinned: a changed default or a lost name passed every behavioural test)."""

import numpy as np
import pytest

from tanul.layers import (
    AvgPool2D,
    BatchNorm,
    BatchNorm2D,
    Conv2D,
    LeakyReLU,
    MaxPool2D,
    PReLU,
)


def test_leaky_relu_and_prelu_defaults_and_names():
    x = np.array([[-2.0, 3.0]])
    assert LeakyReLU().alpha == 0.01
    np.testing.assert_allclose(LeakyReLU()(x), [[-0.02, 3.0]])
    assert LeakyReLU(0.0)(x).tolist() == [[0.0, 3.0]]  # alpha = 0 is allowed: ReLU
    assert LeakyReLU(name="lk").name == "lk" and PReLU(name="pr").name == "pr"
    p = PReLU()
    np.testing.assert_allclose(p(x), [[-0.5, 3.0]])  # alpha starts at 0.25
    np.testing.assert_array_equal(p.params["alpha"], [0.25, 0.25])
    with pytest.raises(ValueError, match=r"PReLU: expected input with a feature axis, got shape \(\)"):
        PReLU()(np.ones(3))


@pytest.mark.parametrize("make", [lambda: BatchNorm(), lambda: PReLU()])
def test_float32_layers_keep_float32_parameters_state_and_outputs(make):
    layer = make()
    x = np.random.default_rng(0).normal(size=(8, 3)).astype(np.float32)
    y = layer(x)
    assert y.dtype == np.float32
    for arr in list(layer.params.values()) + list(getattr(layer, "state", {}).values()):
        assert arr.dtype == np.float32
    assert layer.backward(np.ones_like(y)).dtype == np.float32


def test_batchnorm2d_backward_keeps_float32():
    bn = BatchNorm2D()
    x = np.random.default_rng(1).normal(size=(4, 2, 3, 3)).astype(np.float32)
    y = bn(x, training=True)
    assert bn.backward(np.ones_like(y)).dtype == np.float32


def test_batchnorm_forward_defaults_to_inference_with_the_running_statistics():
    bn = BatchNorm(eps=1e-5)
    x = np.array([[1.0, 2.0], [3.0, 6.0]])
    # fresh running statistics: mean 0, variance 1 -> y = x / sqrt(1 + eps)
    np.testing.assert_allclose(bn(x), x / np.sqrt(1 + 1e-5), rtol=1e-12)
    np.testing.assert_allclose(bn.forward(x), x / np.sqrt(1 + 1e-5), rtol=1e-12)
    # training=True normalises by the batch instead: each column has mean 0
    np.testing.assert_allclose(bn.forward(x, training=True).mean(axis=0), 0.0, atol=1e-12)


def test_batchnorm_shape_errors_say_what_was_expected():
    with pytest.raises(ValueError, match=r"^BatchNorm: expected input of shape \(N, F\), got \(2, 3, 4\)$"):
        BatchNorm().forward(np.ones((2, 3, 4)))
    bn = BatchNorm(name="bn")
    bn(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"^BatchNorm\('bn'\): expected input of shape \(N, 3\), got \(2, 4\)$"):
        bn.forward(np.ones((2, 4)))


@pytest.mark.parametrize(("layer", "text"), [
    (Conv2D(4, 3, strides=2, padding="same", use_bias=False, activation="relu", bias_initializer="ones",
            kernel_regularizer="l2"),
     "Conv2D(4, 3, strides=2, padding='same', use_bias=False, activation='relu', bias_initializer=Ones(), "
     "kernel_regularizer=L2(l2=0.01))"),
    (Conv2D(4, (3, 5), padding="valid", name="c"), "Conv2D(4, (3, 5), name='c')"),
    (MaxPool2D(2, padding="valid"), "MaxPool2D(2)"),
    (AvgPool2D(3, strides=1, padding=1), "AvgPool2D(3, strides=1, padding=1)"),
    (BatchNorm(name="b"), "BatchNorm(momentum=0.9, eps=1e-05, name='b')"),
    (BatchNorm2D(), "BatchNorm2D(momentum=0.9, eps=1e-05)"),
    (BatchNorm2D(momentum=0.8, name="bn"), "BatchNorm2D(momentum=0.8, eps=1e-05, name='bn')"),
])
def test_repr(layer, text):
    assert repr(layer) == text


@pytest.mark.parametrize(("kw", "message"), [
    (dict(momentum=True), r"^BatchNorm2D: expected momentum in \[0, 1\), got momentum=True "
                          r"\(running = momentum·running \+ \(1 − momentum\)·batch\)$"),
    (dict(momentum=1.0), r"^BatchNorm2D: expected momentum in \[0, 1\), got momentum=1\.0 "),
    (dict(eps=True), r"^BatchNorm2D: expected eps > 0, got eps=True$"),
    (dict(eps=0), r"^BatchNorm2D: expected eps > 0, got eps=0$"),
])
def test_batchnorm_argument_errors(kw, message):
    with pytest.raises(ValueError, match=message):
        BatchNorm2D(**kw)


def test_batchnorm_momentum_zero_keeps_only_the_last_batch():
    bn = BatchNorm2D(momentum=0.0)
    x = np.random.default_rng(2).normal(size=(3, 2, 2, 2))
    bn(x, training=True)
    np.testing.assert_allclose(bn.state["running_mean"], x.mean(axis=(0, 2, 3)), rtol=1e-12)
    np.testing.assert_allclose(bn.state["running_var"], x.var(axis=(0, 2, 3), ddof=1), rtol=1e-12)


@pytest.mark.parametrize("m", [1, 2, 3])
def test_running_variance_is_unbiased_even_for_tiny_batches(m):
    # M = N·H·W values per channel; running_var += (1 − mom)·σ²·M/(M − 1), with M/(M − 1) := 1
    # when M = 1 (a single value has no spread: σ² = 0 anyway, the factor must not blow up)
    x = np.arange(1.0, 1.0 + 2 * m).reshape(m, 2, 1, 1) ** 2
    bn = BatchNorm2D(momentum=0.5)
    bn(x, training=True)
    var = x.var(axis=(0, 2, 3))
    factor = m / (m - 1) if m > 1 else 1.0
    np.testing.assert_allclose(bn.state["running_var"], 0.5 * 1.0 + 0.5 * var * factor, rtol=1e-12)


def test_dropout_forward_defaults_to_inference_and_rate_zero_draws_nothing():
    from tanul.layers import Dropout

    x = np.ones((4, 6))
    d = Dropout(0.5)
    d(x)  # build
    np.testing.assert_array_equal(d.forward(x), x)  # forward() without training: identity
    np.testing.assert_array_equal(d.backward(np.full_like(x, 3.0)), np.full_like(x, 3.0))
    zero = Dropout(0.0)
    zero.build((6,), np.random.default_rng(5))
    before = zero.rng.bit_generator.state
    np.testing.assert_array_equal(zero.forward(x, training=True), x)
    # no random numbers used: a seeded model with Dropout(0) shuffles exactly as one without it
    assert zero.rng.bit_generator.state == before
