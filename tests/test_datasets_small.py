"""Built-in offline datasets: shapes, ranges, determinism, errors."""

import numpy as np
import pytest

from tanul.datasets import TOY2D, digits, fever, toy2d


def test_digits_shapes_and_range():
    pytest.importorskip("sklearn")
    x, y = digits()
    assert x.shape == (1797, 64) and x.dtype == np.float32 and y.dtype == np.int64
    assert x.min() == 0.0 and x.max() == 1.0 and set(np.unique(y)) == set(range(10))
    xi, _ = digits(images=True)
    assert xi.shape == (1797, 1, 8, 8)
    np.testing.assert_array_equal(xi.reshape(1797, 64), x)


@pytest.mark.parametrize("name", TOY2D)
def test_toy2d(name):
    x, y = toy2d(name, n=200, seed=3)
    assert x.shape == (200, 2) and x.dtype == np.float32
    assert np.bincount(y).tolist() == [100, 100]
    x2, y2 = toy2d(name, n=200, seed=3)
    np.testing.assert_array_equal(x, x2)
    assert not np.array_equal(toy2d(name, n=200, seed=4)[0], x)


def test_toy2d_labels_follow_their_rule():
    x, y = toy2d("xor", n=400, noise=0.0, seed=0)
    np.testing.assert_array_equal(y, (x[:, 0] * x[:, 1] > 0).astype(int))
    x, y = toy2d("circle", n=400, noise=0.0, seed=0)
    np.testing.assert_array_equal(y, (np.hypot(x[:, 0], x[:, 1]) < 0.5).astype(int))


def test_fever():
    x, t = fever(300, seed=0)
    assert x.shape == (300, 2) and t.shape == (300,) and t.dtype == np.float32
    assert 36.5 <= x[:, 0].min() and x[:, 0].max() <= 40.5 and 0 <= x[:, 1].min() and x[:, 1].max() <= 100
    # the generator's rule, written out: T2 = 36.8 + (T - 36.8)·exp(-0.025 d) + N(0, 0.1²)
    resid = t - (36.8 + (x[:, 0] - 36.8) * np.exp(-0.025 * x[:, 1]))
    assert abs(resid.mean()) < 0.03 and 0.07 < resid.std() < 0.13
    x, y = fever(600, seed=0, task="classification")
    assert set(np.unique(y)) == {0, 1, 2}


def test_errors_list_known_names():
    with pytest.raises(ValueError, match="known: circle, xor, gauss, spiral"):
        toy2d("moons")
    with pytest.raises(ValueError, match="even int"):
        toy2d("xor", n=3)
    with pytest.raises(ValueError, match="regression"):
        fever(task="ranking")
