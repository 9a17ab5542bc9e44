"""MaxPool2D, AvgPool2D, GlobalAvgPool2D and BatchNorm2D."""

import numpy as np
import pytest

from tanul.layers.normalization import BatchNorm2D
from tanul.layers.pooling import AvgPool2D, GlobalAvgPool2D, MaxPool2D
from tanul.testing import check_layer

POOL_CASES = [  # (kwargs, input_shape)
    (dict(pool_size=2), (2, 4, 4)),
    (dict(pool_size=2), (2, 7, 7)),                          # remainder: last row/col dropped
    (dict(pool_size=3, strides=2), (2, 7, 7)),               # overlapping windows
    (dict(pool_size=3, strides=1, padding=1), (1, 5, 6)),    # overlapping + padding
    (dict(pool_size=3, strides=2, padding="same"), (2, 6, 5)),
    (dict(pool_size=(2, 3), strides=(1, 2)), (2, 5, 7)),
    (dict(pool_size=4, strides=2, padding=2), (1, 6, 6)),
]


def distinct_input(shape, batch_size=2, seed=0):
    """Distinct values spaced by 1 (ties or near-ties would break central differences)."""
    n = batch_size * int(np.prod(shape))
    return np.random.default_rng(seed).permutation(n).reshape(batch_size, *shape) * 0.1


@pytest.mark.parametrize("kwargs,shape", POOL_CASES)
def test_maxpool_check_layer(kwargs, shape):
    check_layer(MaxPool2D(**kwargs), shape, x=distinct_input(shape), batch_size=2)


@pytest.mark.parametrize("kwargs,shape", POOL_CASES)
def test_avgpool_check_layer(kwargs, shape):
    check_layer(AvgPool2D(**kwargs), shape, batch_size=2)


def test_global_avgpool_check_layer():
    check_layer(GlobalAvgPool2D(), (3, 4, 5), batch_size=2)
    assert GlobalAvgPool2D().output_shape((3, 4, 5)) == (3,)


def test_maxpool_ties_go_to_first_maximum():
    pool = MaxPool2D(2)
    x = np.array([[[[7.0, 7.0], [7.0, 7.0]]], [[[1.0, 2.0], [2.0, 2.0]]]])
    y = pool(x)
    np.testing.assert_array_equal(y.ravel(), [7.0, 2.0])
    dx = pool.backward(np.ones_like(y))
    np.testing.assert_array_equal(dx[0, 0], [[1, 0], [0, 0]])
    np.testing.assert_array_equal(dx[1, 0], [[0, 1], [0, 0]])


def test_maxpool_never_routes_to_padding():
    x = -5.0 - np.random.default_rng(1).random((2, 3, 5, 5))  # every value negative
    pool = MaxPool2D(3, strides=2, padding=1)
    y = pool(x)
    assert np.all(np.isfinite(y)) and np.all(y <= -5.0)
    dx = pool.backward(np.ones_like(y))
    assert dx.shape == x.shape and dx.sum() == y.size


def test_maxpool_overlap_accumulates():
    x = np.zeros((1, 1, 3, 3))
    x[0, 0, 1, 1] = 1.0                         # centre belongs to all 4 windows
    pool = MaxPool2D(2, strides=1)
    y = pool(x)
    np.testing.assert_array_equal(y, np.ones((1, 1, 2, 2)))
    dx = pool.backward(np.ones_like(y))
    assert dx[0, 0, 1, 1] == 4.0 and dx.sum() == 4.0


@pytest.mark.parametrize("cls", [MaxPool2D, AvgPool2D, GlobalAvgPool2D])
def test_float32_preserved(cls):
    layer = cls() if cls is GlobalAvgPool2D else cls(2)
    x = np.random.default_rng(0).standard_normal((2, 3, 6, 6)).astype(np.float32)
    y = layer(x)
    assert y.dtype == np.float32
    assert layer.backward(np.ones_like(y)).dtype == np.float32


@pytest.mark.parametrize("layer", [
    MaxPool2D(), MaxPool2D(3, strides=2, padding=1, name="p"), AvgPool2D((2, 3)),
    AvgPool2D(3, padding="same", strides=1), GlobalAvgPool2D(), GlobalAvgPool2D(name="g"),
    BatchNorm2D(), BatchNorm2D(momentum=0.99, eps=1e-3, name="bn"),
])
def test_get_config_round_trip_and_repr(layer):
    cfg = layer.get_config()
    again = type(layer)(**cfg)
    assert again.get_config() == cfg
    assert repr(again) == repr(layer)
    assert repr(layer).startswith(type(layer).__name__ + "(")


def test_pooling_errors():
    with pytest.raises(ValueError, match="MaxPool2D.*pool_size"):
        MaxPool2D(0)
    with pytest.raises(ValueError, match="MaxPool2D.*half"):
        MaxPool2D(2, padding=2)
    with pytest.raises(ValueError, match=r"AvgPool2D.*\(C, H, W\)"):
        AvgPool2D(2).output_shape((10,))
    with pytest.raises(ValueError, match="does not fit"):
        MaxPool2D(3).output_shape((1, 2, 2))
    pool = MaxPool2D(2)
    pool.build((3, 4, 4), np.random.default_rng(0), np.float64)
    with pytest.raises(ValueError, match=r"MaxPool2D[\s\S]*Expect: \(N, 3, 4, 4\)"):
        pool.forward(np.zeros((2, 48)))
    with pytest.raises(RuntimeError, match="before forward"):
        AvgPool2D().backward(np.zeros((1, 1, 1, 1)))


# ------------------------------------------------------------------ BatchNorm2D
def test_batchnorm2d_check_layer_training():
    check_layer(BatchNorm2D(), (3, 4, 5), batch_size=3, training=True)


def test_batchnorm2d_check_layer_training_with_nontrivial_gamma_beta():
    layer = BatchNorm2D()
    layer.build((2, 3, 3), np.random.default_rng(0), np.float64)
    layer.params["gamma"][...] = [1.5, -0.7]
    layer.params["beta"][...] = [0.2, -1.0]
    check_layer(layer, (2, 3, 3), batch_size=4, training=True)


def test_batchnorm2d_check_layer_inference():
    layer = BatchNorm2D()
    layer.build((2, 3, 3), np.random.default_rng(0), np.float64)
    layer.state["running_mean"][...] = [0.5, -0.3]
    layer.state["running_var"][...] = [2.0, 0.4]
    layer.params["gamma"][...] = [1.5, -0.7]
    check_layer(layer, (2, 3, 3), batch_size=2, training=False)


def test_batchnorm2d_normalises_per_channel_and_updates_running_stats():
    rng = np.random.default_rng(0)
    x = rng.normal([[[1.0]], [[-4.0]], [[10.0]]], [[[1.0]], [[3.0]], [[0.5]]], size=(16, 3, 5, 5))
    bn = BatchNorm2D(momentum=0.9)
    y = bn(x, training=True)
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0.0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=(0, 2, 3)), 1.0, rtol=1e-3)
    m = x.shape[0] * x.shape[2] * x.shape[3]
    mean, var = x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3))
    np.testing.assert_allclose(bn.state["running_mean"], 0.1 * mean)
    np.testing.assert_allclose(bn.state["running_var"], 0.9 + 0.1 * var * m / (m - 1))
    assert "running_mean" not in bn.params and set(bn.params) == {"gamma", "beta"}
    for _ in range(200):
        bn.forward(x, training=True)
    np.testing.assert_allclose(bn.state["running_mean"], mean, rtol=1e-6)
    # inference uses the running statistics
    y_inf = bn.forward(x, training=False)
    rm, rv = bn.state["running_mean"][:, None, None], bn.state["running_var"][:, None, None]
    np.testing.assert_allclose(y_inf, (x - rm) / np.sqrt(rv + 1e-5), rtol=1e-12)
    before = bn.state["running_mean"].copy()
    bn.forward(x + 100.0, training=False)
    np.testing.assert_array_equal(bn.state["running_mean"], before)  # inference does not update


def test_batchnorm2d_float32_and_errors():
    bn = BatchNorm2D()
    x = np.random.default_rng(0).standard_normal((4, 3, 2, 2)).astype(np.float32)
    y = bn(x, training=True)
    assert y.dtype == np.float32 and bn.state["running_var"].dtype == np.float32
    assert bn.backward(np.ones_like(y)).dtype == np.float32
    assert bn(x, training=False).dtype == np.float32
    with pytest.raises(ValueError, match="momentum"):
        BatchNorm2D(momentum=1.0)
    with pytest.raises(ValueError, match="eps"):
        BatchNorm2D(eps=0)
    with pytest.raises(ValueError, match=r"BatchNorm2D[\s\S]*Actual: \(4, 2, 2, 2\)"):
        bn.forward(np.zeros((4, 2, 2, 2)))
    with pytest.raises(ValueError, match=r"BatchNorm2D.*\(C, H, W\)"):
        BatchNorm2D().output_shape((12,))
