"""tanul.ops.activations as pure functions (issue 18, mutation testing): hand-worked values,
central differences with a non-constant upstream gradient (``dy = 1`` cannot tell ``f'(z)``
from ``f'(z)·dy``), and the ``out=`` / ``axis`` options."""

import math

import numpy as np
import pytest

from tanul.ops import activations as A

Z = np.array([[-3.0, -0.5, 0.0, 0.25, 2.0], [1.5, -1.0, 4.0, -2.5, 0.75]])
DY = np.array([[0.3, -1.2, 0.7, 2.0, -0.4], [1.1, 0.5, -0.9, 0.2, 1.6]])


def numeric_vjp(f, z, dy, h=1e-6):
    """Σ dy ⊙ f(z) differentiated by central differences, one coordinate of z at a time."""
    g = np.zeros_like(z)
    for idx in np.ndindex(z.shape):
        zp, zm = z.copy(), z.copy()
        zp[idx] += h
        zm[idx] -= h
        g[idx] = (np.sum(dy * f(zp)) - np.sum(dy * f(zm))) / (2 * h)
    return g


def test_values_by_hand():
    s = [1 / (1 + math.exp(-v)) for v in Z.ravel()]
    np.testing.assert_allclose(A.sigmoid(Z).ravel(), s, rtol=1e-14)
    np.testing.assert_array_equal(A.relu(Z), np.where(Z > 0, Z, 0.0))
    assert A.relu(Z.astype(np.float32)).dtype == np.float32
    np.testing.assert_allclose(A.leaky_relu(Z, 0.1), np.where(Z > 0, Z, 0.1 * Z), rtol=1e-15)
    np.testing.assert_allclose(A.softplus(Z).ravel(), [math.log1p(math.exp(v)) for v in Z.ravel()],
                               rtol=1e-14)
    e = np.exp(Z)
    np.testing.assert_allclose(A.softmax(Z), e / e.sum(axis=1, keepdims=True), rtol=1e-14)
    np.testing.assert_allclose(A.softmax(Z, axis=0), e / e.sum(axis=0, keepdims=True), rtol=1e-14)
    np.testing.assert_allclose(A.log_softmax(Z), np.log(e / e.sum(axis=1, keepdims=True)), rtol=1e-13)
    np.testing.assert_allclose(A.log_softmax(Z, axis=0), np.log(e / e.sum(axis=0, keepdims=True)),
                               rtol=1e-13)


def test_no_overflow_at_large_inputs():
    big = np.array([[-1000.0, 0.0, 1000.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        np.testing.assert_array_equal(A.sigmoid(big), [[0.0, 0.5, 1.0]])
        np.testing.assert_allclose(A.softplus(big), [[0.0, math.log(2.0), 1000.0]])
        np.testing.assert_allclose(A.softmax(big), [[0.0, 0.0, 1.0]])
        np.testing.assert_allclose(A.log_softmax(big), [[-2000.0, -1000.0, 0.0]])


def test_sigmoid_out_argument():
    z = Z.copy()
    ref = 1 / (1 + np.exp(-Z))
    y = A.sigmoid(z, out=z)
    assert y is z
    np.testing.assert_allclose(z, ref, rtol=1e-14)
    z = Z.copy()
    y = A.sigmoid(z)
    assert y is not z
    np.testing.assert_array_equal(z, Z)       # the input untouched without out=


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "relu", "leaky", "softplus", "softmax", "softmax0"])
def test_backward_is_the_vector_jacobian_product(name):
    fwd, back = {
        "sigmoid": (A.sigmoid, lambda z, dy: A.sigmoid_backward(A.sigmoid(z), dy)),
        "tanh": (np.tanh, lambda z, dy: A.tanh_backward(np.tanh(z), dy)),
        "relu": (A.relu, lambda z, dy: A.relu_backward(A.relu(z), dy)),
        "leaky": (lambda z: A.leaky_relu(z, 0.2), lambda z, dy: A.leaky_relu_backward(z, dy, 0.2)),
        "softplus": (A.softplus, lambda z, dy: dy * A.sigmoid(z)),
        "softmax": (A.softmax, lambda z, dy: A.softmax_backward(A.softmax(z), dy)),
        "softmax0": (lambda z: A.softmax(z, axis=0),
                     lambda z, dy: A.softmax_backward(A.softmax(z, axis=0), dy, axis=0)),
    }[name]
    z = Z + 0.01            # away from the kinks of relu and leaky relu at 0
    np.testing.assert_allclose(back(z, DY), numeric_vjp(fwd, z, DY), rtol=1e-6, atol=1e-8)


def test_relu_and_leaky_derivative_at_zero_is_the_left_one():
    z = np.array([0.0, 0.0])
    dy = np.array([2.0, -3.0])
    np.testing.assert_array_equal(A.relu_backward(A.relu(z), dy), [0.0, 0.0])
    np.testing.assert_array_equal(A.leaky_relu_backward(z, dy, 0.5), [1.0, -1.5])
    np.testing.assert_array_equal(A.leaky_relu(np.array([0.0, -2.0, 2.0]), 0.5), [0.0, -1.0, 2.0])


def test_softmax_shifts_each_row_by_its_own_maximum():
    # rows of very different scales: a shift by the global maximum would underflow the first row
    z = np.array([[0.0, 1.0], [1000.0, 1001.0]])
    p = 1 / (1 + math.e)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        np.testing.assert_allclose(A.softmax(z), [[p, 1 - p], [p, 1 - p]], rtol=1e-14)
        np.testing.assert_allclose(A.log_softmax(z), np.log([[p, 1 - p], [p, 1 - p]]), rtol=1e-14)
        np.testing.assert_allclose(A.softmax(z.T, axis=0), [[p, p], [1 - p, 1 - p]], rtol=1e-14)
        np.testing.assert_allclose(A.log_softmax(z.T, axis=0), np.log([[p, p], [1 - p, 1 - p]]), rtol=1e-14)
