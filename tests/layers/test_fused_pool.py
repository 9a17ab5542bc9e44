"""Max-pooling after a convolution: the fused backward (Sequential) against the layer-by-layer one."""

import numpy as np
import pytest

from tanul import Sequential
from tanul.layers import Conv2D, Dense, Flatten, MaxPool2D
from tanul.testing import numerical_gradient


def _net(act, dtype, seed=0, pool=2, strides=None, conv_strides=1):
    # conv_strides=1: the batch-innermost kernels; 2: the sample-blocked ones (first conv)
    return Sequential([Conv2D(3, 3, strides=conv_strides, padding=1, activation=act),
                       MaxPool2D(pool, strides=strides),
                       Conv2D(4, 3, padding=2 if conv_strides == 2 else 0, activation=act),
                       MaxPool2D(2), Flatten(), Dense(5)],
                      seed=seed, dtype=dtype, input_shape=(2, 10, 10))


def _layer_by_layer(model, x, y):
    """Forward, loss and backward one layer at a time: the unfused path."""
    out = model._forward(x, training=True)
    model.loss.forward(out, y)
    dy = model.loss.backward()
    for layer in reversed(model.layers):
        dy = layer.backward(dy)
    return [g.copy() for layer in model.layers for g in layer.grads.values()]


def _data(dtype, flat_background):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((17, 2, 10, 10)).astype(dtype)  # 17: split over 2 threads
    if flat_background:  # many exact ties inside the pooling windows, as on real images
        x[:, :, :, :5] = 0.0
        x[:, :, 6:] = 1.0
    return x, rng.integers(0, 5, 17)


@pytest.fixture(params=[1, 2], ids=["1 thread", "2 threads"])
def threads(request):
    from tanul.ops import parallel
    old = parallel.num_threads()
    parallel.set_num_threads(request.param)
    yield request.param
    parallel.set_num_threads(old)


@pytest.mark.parametrize("act", ["tanh", "relu", "sigmoid"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("flat_background", [False, True])
@pytest.mark.parametrize("conv_strides", [1, 2])
def test_fused_backward_gives_the_same_gradients_bit_for_bit(act, dtype, flat_background, threads,
                                                             conv_strides):
    model = _net(act, dtype, conv_strides=conv_strides)
    model.compile(optimizer="sgd", loss="cross_entropy")
    model._build_optimizer()
    x, y = _data(dtype, flat_background)
    calls = []
    for layer in model.layers:
        if isinstance(layer, MaxPool2D):
            orig = layer.backward_fused
            layer.backward_fused = (lambda f: lambda prev, dy: calls.append(
                r := f(prev, dy)) or r)(orig)
    model.loss_and_grads(x, y)
    fused = [g.copy() for layer in model.layers for g in layer.grads.values()]
    assert len(calls) == 2 and all(r is not NotImplemented for r in calls)
    plain = _layer_by_layer(model, x, y)
    assert len(fused) == len(plain) == 6
    for a, b in zip(fused, plain):
        assert a.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(a, b)


def test_fused_backward_passes_a_float64_gradient_check():
    model = _net("tanh", "float64", seed=3)
    model.compile(optimizer="sgd", loss="cross_entropy")
    model._build_optimizer()
    x, y = _data("float64", flat_background=False)
    model.loss_and_grads(x, y)
    analytic = model.grads.copy()

    def loss(_):
        return float(model.loss.forward(model._forward(x, training=True), y))

    numeric = numerical_gradient(loss, model.params)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)


def test_not_fused_where_it_would_be_wrong():
    # overlapping windows (stride 1), an inference forward, a pool not after a conv: plain path
    model = _net("tanh", "float64", pool=2, strides=1)
    model.compile(optimizer="sgd", loss="cross_entropy")
    x, _ = _data("float64", False)
    model._forward(x, training=True)
    assert model.layers[1].backward_fused(model.layers[0], np.ones((17, 3, 9, 9))) is NotImplemented
    model = _net("tanh", "float64")
    model._forward(x, training=False)
    assert model.layers[1].backward_fused(model.layers[0], np.ones((17, 3, 5, 5))) is NotImplemented
    model._forward(x, training=True)
    assert model.layers[3].backward_fused(model.layers[1], np.ones((17, 4, 1, 1))) is NotImplemented
    # a conv without an in-place activation (here: none) keeps the layer-by-layer backward
    plain = Sequential([Conv2D(3, 3), MaxPool2D(2), Flatten(), Dense(2)], seed=0,
                       dtype="float64", input_shape=(2, 10, 10))
    plain._forward(x, training=True)
    assert plain.layers[1].backward_fused(plain.layers[0], np.ones((17, 3, 4, 4))) is NotImplemented


def test_inference_forward_keeps_no_arg_max_and_no_strong_reference_to_its_input():
    import gc

    pool = MaxPool2D(2)
    pool.build((2, 4, 4), np.random.default_rng(0))
    x = np.random.default_rng(1).standard_normal((3, 2, 4, 4))
    y = pool.forward(x, training=False)
    # while the caller holds x, backward works (the arg-max is recomputed) and routes as training
    dx = pool.backward(np.ones_like(y))
    pool.forward(x, training=True)
    np.testing.assert_array_equal(dx, pool.backward(np.ones_like(y)))
    pool.forward(np.random.default_rng(2).standard_normal((3, 2, 4, 4)), training=False)
    gc.collect()
    with pytest.raises(RuntimeError, match="training=True"):
        pool.backward(np.ones_like(y))
    # predict: the conv outputs that went into the pools are freed with each batch
    model = _net("tanh", "float32")
    model.predict(np.zeros((4, 2, 10, 10), np.float32))
    assert all(layer._cache[2]() is None for layer in model.layers if isinstance(layer, MaxPool2D))
