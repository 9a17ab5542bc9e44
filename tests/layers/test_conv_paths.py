"""Conv2D's three code paths against a naive convolution (issue 18, mutation testing): the fused
blocked kernel (activations that can work in place), the unfused one (activations that need
their input: softplus, leaky ReLU, identity) and backward after an inference-mode forward (the
columns and the output recomputed), each with an activation's derivative applied to a
non-constant upstream gradient."""

import numpy as np
import pytest

from tanul.layers import Conv2D
from tanul.layers.activations import Tanh


def naive(x, W, b, s, p):
    N, C, H, Wd = x.shape
    F, _, kh, kw = W.shape
    (sh, sw), (ph, pw) = s, p
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    OH, OW = (H + 2 * ph - kh) // sh + 1, (Wd + 2 * pw - kw) // sw + 1
    z = np.zeros((N, F, OH, OW))
    for i in range(OH):
        for j in range(OW):
            win = xp[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw]
            z[:, :, i, j] = np.einsum("nckl,fckl->nf", win, W) + (0 if b is None else b)

    def backward(dz):
        dxp, dW = np.zeros_like(xp), np.zeros_like(W)
        for i in range(OH):
            for j in range(OW):
                win = (slice(None), slice(None), slice(i * sh, i * sh + kh), slice(j * sw, j * sw + kw))
                dW += np.einsum("nf,nckl->fckl", dz[:, :, i, j], xp[win])
                dxp[win] += np.einsum("nf,fckl->nckl", dz[:, :, i, j], W)
        return dxp[:, :, ph:ph + H, pw:pw + Wd], dW, dz.sum(axis=(0, 2, 3))

    return z, backward


ACTS = {  # name: (f, f')
    None: (lambda z: z, lambda z: np.ones_like(z)),
    "relu": (lambda z: np.maximum(z, 0), lambda z: (z > 0).astype(float)),
    "tanh": (np.tanh, lambda z: 1 - np.tanh(z) ** 2),
    "sigmoid": (lambda z: 1 / (1 + np.exp(-z)), lambda z: np.exp(-z) / (1 + np.exp(-z)) ** 2),
    "softplus": (lambda z: np.log1p(np.exp(z)), lambda z: 1 / (1 + np.exp(-z))),
    "leaky_relu": (lambda z: np.where(z > 0, z, 0.01 * z), lambda z: np.where(z > 0, 1.0, 0.01)),
    "linear": (lambda z: z, lambda z: np.ones_like(z)),
}


@pytest.mark.parametrize("act", list(ACTS))
@pytest.mark.parametrize("training", [True, False])
def test_forward_and_backward_match_the_naive_convolution(act, training):
    rng = np.random.default_rng(21)
    x = rng.standard_normal((3, 2, 6, 5))
    conv = Conv2D(3, (3, 2), strides=(2, 1), padding=(1, 0), activation=act)
    conv.build(x.shape[1:], np.random.default_rng(0), np.float64)
    conv.params["b"][...] = [0.3, -0.2, 0.1]
    f, df = ACTS[act]
    z, back = naive(x, conv.params["W"], conv.params["b"], (2, 1), (1, 0))
    y = conv.forward(x, training=training)
    np.testing.assert_allclose(y, f(z), rtol=1e-12, atol=1e-12)
    dy = rng.standard_normal(y.shape)
    rdx, rdW, rdb = back(dy * df(z))
    dx = conv.backward(dy)
    np.testing.assert_allclose(dx, rdx, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(conv.grads["W"], rdW, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(conv.grads["b"], rdb, rtol=1e-10, atol=1e-12)
    conv.input_grad = False                      # parameter gradients only
    conv.grads["W"][...] = 0.0
    assert conv.backward(dy) is None
    np.testing.assert_allclose(conv.grads["W"], rdW, rtol=1e-10, atol=1e-12)


def test_training_forward_reuses_its_columns_buffer_and_inference_keeps_none():
    rng = np.random.default_rng(22)
    x = rng.standard_normal((2, 2, 5, 5))
    conv = Conv2D(2, 3, activation="tanh")
    conv.build(x.shape[1:], np.random.default_rng(0), np.float64)
    conv.forward(x, training=True)
    cols = conv._workspace["cols"]
    assert cols is not None and cols.shape == (18, 2 * 9)
    conv.forward(2 * x, training=True)
    assert conv._workspace["cols"] is cols               # the same buffer, refilled
    z, _ = naive(2 * x, conv.params["W"], conv.params["b"], (1, 1), (0, 0))
    np.testing.assert_allclose(conv.activation._cache, np.tanh(z), rtol=1e-12, atol=1e-12)
    conv.forward(x, training=False)
    assert conv.activation._cache is None and conv._cache[0] is None and conv._cache[1] is x


def test_an_in_place_activation_without_a_fused_derivative():
    # a user activation with _f_inplace but no _df_into: its _df is used through a copy
    class Cube(Tanh):
        def _f_inplace(self, z):
            np.power(z, 3, out=z)
            return z

        def _df(self, y, dy):                   # d(z³)/dz = 3 z² = 3 y^(2/3)
            return dy * 3 * np.cbrt(y) ** 2

        _df_into = None

    rng = np.random.default_rng(23)
    x = rng.standard_normal((2, 2, 4, 4))
    conv = Conv2D(2, 3, activation=None)
    conv.activation = Cube()
    conv.build(x.shape[1:], np.random.default_rng(0), np.float64)
    z, back = naive(x, conv.params["W"], conv.params["b"], (1, 1), (0, 0))
    y = conv.forward(x, training=True)
    np.testing.assert_allclose(y, z ** 3, rtol=1e-12, atol=1e-12)
    dy = rng.standard_normal(y.shape)
    rdx, rdW, rdb = back(dy * 3 * z ** 2)
    np.testing.assert_allclose(conv.backward(dy), rdx, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(conv.grads["W"], rdW, rtol=1e-9, atol=1e-12)
