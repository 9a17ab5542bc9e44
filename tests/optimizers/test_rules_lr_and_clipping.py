"""Update rules at settings the first suite never used (issue 18): AdaDelta with lr != 1, and
gradient clipping below the limit and in its documented order (norm first, then value)."""

import math

import numpy as np
import pytest

from tanul.optimizers import SGD, AdaDelta


def adadelta_rule(lr, rho, eps, steps, theta=0.7):
    """Zeiler 2012, Algorithm 1, with PyTorch's lr multiplying Δx (not the Δx accumulated), on
    L(θ) = θ² + θ (gradient 2θ + 1). Returns every θ and the final E[Δ²]."""
    eg, ed, out = 0.0, 0.0, []
    for _ in range(steps):
        g = 2 * theta + 1.0
        eg = rho * eg + (1 - rho) * g * g
        dx = math.sqrt(ed + eps) / math.sqrt(eg + eps) * g
        ed = rho * ed + (1 - rho) * dx * dx
        theta -= lr * dx
        out.append(theta)
    return out, ed


@pytest.mark.parametrize("lr", [0.5, 2.0])
def test_adadelta_accumulates_the_unscaled_step_when_lr_is_not_one(lr):
    # with lr = 1, accumulating (lr·Δ)² and Δ² are the same; lr = 0.5 or 2 tells them apart
    expected, ed = adadelta_rule(lr, 0.9, 1e-6, 5)
    p, g = np.array([0.7]), np.zeros(1)
    opt = AdaDelta(lr=lr, rho=0.9, eps=1e-6)
    opt.build(p, g)
    got = []
    for _ in range(5):
        g[0] = 2 * p[0] + 1.0
        opt.step()
        got.append(p[0])
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    # the slot holds E[Δ²] of the unscaled Δ (the state a resumed run continues from)
    assert opt._state["delta_avg"][0] == pytest.approx(ed, rel=1e-12)


def sgd_step(g, **clip):
    p, gg = np.zeros(len(g)), np.zeros(len(g))
    opt = SGD(lr=1.0, **clip)
    opt.build(p, gg)
    gg[...] = g
    opt.step()
    return -p  # with lr = 1 the step is the clipped gradient


def test_clipnorm_leaves_a_gradient_under_the_limit_alone():
    np.testing.assert_array_equal(sgd_step([0.3, 0.4], clipnorm=1.0), [0.3, 0.4])  # norm 0.5 < 1
    np.testing.assert_array_equal(sgd_step([0.6, 0.8], clipnorm=1.0), [0.6, 0.8])  # norm exactly 1
    np.testing.assert_allclose(sgd_step([3.0, 4.0], clipnorm=1.0), [0.6, 0.8], rtol=1e-15)


def test_clipnorm_is_applied_before_clipvalue():
    # g = (3, 0.4), ‖g‖ = 3.0265: norm first gives (0.9912, 0.1322), then value clips to
    # (0.5, 0.1322). Value first would give (0.5, 0.4), whose norm 0.64 < 1 is then left alone.
    n = math.hypot(3.0, 0.4)
    np.testing.assert_allclose(sgd_step([3.0, 0.4], clipnorm=1.0, clipvalue=0.5), [0.5, 0.4 / n], rtol=1e-12)


def test_clipnorm_uses_the_global_norm_over_all_parameters():
    # two "parameters" share one flat buffer: (3,) and (4,), global norm 5 -> both scaled by 1/5
    np.testing.assert_allclose(sgd_step([3.0, 4.0], clipnorm=2.5), [1.5, 2.0], rtol=1e-15)
