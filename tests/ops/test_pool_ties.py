"""Max-pool ties on every code path (issue 18).

The 2x2/stride-2 fast path had tie tests; the general path (any other window, stride or
padding) did not, so ``>=`` instead of ``>`` there (the LAST maximum wins) survived. The oracle
is a loop over windows with ``np.argmax`` (first maximum in row-major window order), on inputs
drawn from three values so that most windows hold ties.
"""

import numpy as np
import pytest

from tanul.layers import MaxPool2D
from tanul.ops import conv as ops


def first_max_oracle(x, k, s, p, dy):
    """y, arg and dx by definition: np.argmax picks the first maximum of each window."""
    N, C, H, W = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=-np.inf)
    OH, OW = (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1
    y, arg = np.zeros((N, C, OH, OW)), np.zeros((N, C, OH, OW), int)
    dxp = np.zeros_like(xp)
    for n in range(N):
        for c in range(C):
            for i in range(OH):
                for j in range(OW):
                    w = xp[n, c, i * s:i * s + k, j * s:j * s + k]
                    a = int(np.argmax(w))
                    y[n, c, i, j], arg[n, c, i, j] = w.ravel()[a], a
                    dxp[n, c, i * s + a // k, j * s + a % k] += dy[n, c, i, j]
    return y, arg, dxp[:, :, p:p + H, p:p + W]


@pytest.mark.parametrize("k,s,p,hw", [(3, 2, 0, 7), (3, 2, 1, 6), (2, 1, 0, 5), (3, 3, 0, 6), (2, 2, 1, 5)])
def test_general_path_ties_go_to_first_maximum(k, s, p, hw):
    rng = np.random.default_rng(k * 100 + s * 10 + p)
    x = rng.integers(0, 3, (2, 3, hw, hw)).astype(np.float64)  # values 0, 1, 2: ties everywhere
    y, arg = ops.maxpool2d_forward(x, k, k, s, p)
    dy = rng.standard_normal(y.shape)
    y_ref, arg_ref, dx_ref = first_max_oracle(x, k, s, p, dy)
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(arg, arg_ref)
    np.testing.assert_allclose(ops.maxpool2d_backward(dy, arg, x.shape, k, k, s, p), dx_ref, rtol=1e-12,
                               atol=1e-12)


def test_layer_3x3_stride_2_tie_worked_by_hand():
    # one 3x3 window, maximum 4 at window positions 1, 5 and 7: the first (row 0, col 1) wins
    x = np.array([[[[0.0, 4.0, 1.0, 9.0],
                    [2.0, 3.0, 4.0, 9.0],
                    [1.0, 4.0, 0.0, 9.0]]]])
    pool = MaxPool2D(3, strides=2)
    y = pool(x)
    assert y.shape == (1, 1, 1, 1) and y[0, 0, 0, 0] == 4.0
    dx = pool.backward(np.full_like(y, 2.5))
    expected = np.zeros_like(x)
    expected[0, 0, 0, 1] = 2.5
    np.testing.assert_array_equal(dx, expected)
