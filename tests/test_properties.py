"""Property tests: random shapes and values through layers, save/load round trips."""

import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tanul

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(n=st.integers(1, 5), f=st.integers(1, 6), units=st.integers(1, 5),
       act=st.sampled_from(["relu", "tanh", "sigmoid", "softplus", "leaky_relu", None]),
       scale=st.floats(1e-3, 1e3), seed=st.integers(0, 1000))
def test_dense_forward_backward_shapes_and_finiteness(n, f, units, act, scale, seed):
    rng = np.random.default_rng(seed)
    layer = tanul.Dense(units, activation=act)
    layer.build((f,), rng, np.float64)
    x = rng.normal(size=(n, f)) * scale
    y = layer.forward(x, training=True)
    assert y.shape == (n, units) and np.isfinite(y).all()
    dx = layer.backward(rng.normal(size=y.shape))
    assert dx.shape == x.shape and np.isfinite(dx).all()
    assert all(np.isfinite(g).all() for g in layer.grads.values())


@SETTINGS
@given(n=st.integers(1, 3), c=st.integers(1, 3), h=st.integers(3, 9), w=st.integers(3, 9),
       k=st.integers(1, 3), s=st.integers(1, 2), p=st.integers(0, 1), pool=st.integers(1, 2),
       seed=st.integers(0, 100))
def test_conv_and_pool_shapes(n, c, h, w, k, s, p, pool, seed):
    rng = np.random.default_rng(seed)
    conv = tanul.Conv2D(2, k, strides=s, padding=p)
    conv.build((c, h, w), rng, np.float64)
    x = rng.normal(size=(n, c, h, w))
    y = conv.forward(x, training=True)
    assert y.shape == (n, *conv.output_shape((c, h, w)))
    assert y.shape[2] == (h + 2 * p - k) // s + 1
    mp = tanul.MaxPool2D(pool)
    if y.shape[2] >= pool and y.shape[3] >= pool:
        mp.build(y.shape[1:], rng, np.float64)
        z = mp.forward(y, training=True)
        dz = mp.backward(np.ones_like(z))
        assert dz.shape == y.shape and np.isfinite(dz).all()
        # every pooling window routes its gradient to exactly one input
        assert dz.sum() == z.size
    dx = conv.backward(np.ones_like(y))
    assert dx.shape == x.shape and np.isfinite(dx).all()


@SETTINGS
@given(widths=st.lists(st.integers(1, 6), min_size=1, max_size=3), f=st.integers(1, 5),
       dtype=st.sampled_from(["float32", "float64"]), seed=st.integers(0, 10_000))
def test_save_load_round_trip(widths, f, dtype, seed):
    layers = [tanul.Dense(u, activation="tanh") for u in widths] + [tanul.Dense(2)]
    model = tanul.Sequential(layers, seed=seed, dtype=dtype, input_shape=(f,))
    x = np.random.default_rng(seed).normal(size=(3, f)).astype(dtype)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "m.tanul"
        model.save(path)
        np.testing.assert_array_equal(tanul.load_model(path).predict(x), model.predict(x))
