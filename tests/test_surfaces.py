"""The 2-D test surfaces: analytic gradients, and real tanul optimisers racing on them."""

import math

import numpy as np
import pytest

from tanul import surfaces
from tanul.optimizers import LBFGS, SGD, AdaDelta, AdaGrad, Adam, AdamW, RMSProp
from tanul.testing import numerical_gradient

POINTS = [(1.0, 1.5), (-2.0, 0.3), (0.7, -1.2), (3.0, 0.5), (2.5, 2.0)]


@pytest.mark.parametrize("name", list(surfaces.SURFACES))
@pytest.mark.parametrize("point", POINTS)
def test_analytic_gradient_matches_central_differences(name, point):
    s = surfaces.get(name)
    x = np.array(point, dtype=np.float64)
    numeric = numerical_gradient(lambda p: float(s.f(p)), x)
    np.testing.assert_allclose(s.grad(x), numeric, rtol=1e-6, atol=1e-5)


@pytest.mark.parametrize("name", list(surfaces.SURFACES))
def test_minimum_is_stationary_and_lowest_on_a_grid(name):
    s = surfaces.get(name)
    m = np.array(s.minimum)
    np.testing.assert_allclose(s.grad(m), 0.0, atol=1e-12)
    gx, gy = np.meshgrid(np.linspace(*s.xlim, 101), np.linspace(*s.ylim, 101))
    assert s.f(m) <= s.f(np.stack([gx, gy])).min() + 1e-12


def test_vectorised_f_agrees_with_pointwise():
    for s in surfaces.SURFACES.values():
        pts = np.array(POINTS).T
        np.testing.assert_allclose(s.f(pts), [s.f(np.array(p)) for p in POINTS])


def test_get_rejects_unknown_names():
    with pytest.raises(ValueError, match="Unknown surface 'bowl'; expected one of beale, rosenbrock"):
        surfaces.get("bowl")
    with pytest.raises(TypeError, match="surface name"):
        surfaces.get(3)


def test_descend_steps_through_the_optimizer_api():
    # one SGD step by hand: p1 = p0 - lr * grad(p0); the optimiser counts its iterations
    opt = SGD(lr=0.01)
    path = surfaces.descend("rosenbrock", opt, start=(-1.5, 2.0), steps=3)
    g0 = surfaces.ROSENBROCK.grad(np.array([-1.5, 2.0]))
    np.testing.assert_allclose(path[1], np.array([-1.5, 2.0]) - 0.01 * g0)
    assert path.shape == (4, 2) and opt.iterations == 3
    np.testing.assert_array_equal(path[-1], opt._p)  # the 2-vector the optimiser updated in place


def test_descend_validates_its_arguments():
    with pytest.raises(ValueError, match=r"expected start to be a finite point \(x, y\), got \(1, 2, 3\)"):
        surfaces.descend("beale", Adam(), start=(1, 2, 3))
    with pytest.raises(ValueError, match="expected steps to be a positive int, got 0"):
        surfaces.descend("beale", Adam(), steps=0)
    with pytest.raises(TypeError, match="expected a tanul optimizer instance, got 'adam'"):
        surfaces.descend("beale", "adam")
    opt = Adam()
    with pytest.raises(ValueError, match="same optimizer instance appears twice"):
        surfaces.descend_all("beale", {"a": opt, "b": opt}, steps=2)


# Beale from (1, 1.5), learning rate 0.05, 1000 steps (the numbers in docs/notebooks.md):
BEALE_LR, BEALE_STEPS, BEALE_TOL = 0.05, 1000, 0.1


@pytest.mark.parametrize("make", [lambda: Adam(lr=BEALE_LR), lambda: RMSProp(lr=BEALE_LR)],
                         ids=["Adam", "RMSProp"])
def test_adaptive_methods_reach_the_beale_minimum(make):
    path = surfaces.descend("beale", make(), start=(1.0, 1.5), steps=BEALE_STEPS)
    reached = surfaces.steps_to_reach("beale", path, tol=BEALE_TOL)
    assert reached <= BEALE_STEPS
    assert np.hypot(*(path[-1] - (3.0, 0.5))) < BEALE_TOL


def test_plain_sgd_at_the_same_rate_does_not_reach_the_beale_minimum():
    path = surfaces.descend("beale", SGD(lr=BEALE_LR), start=(1.0, 1.5), steps=BEALE_STEPS)
    assert surfaces.steps_to_reach("beale", path, tol=BEALE_TOL) == math.inf
    assert np.hypot(*(path[-1] - (3.0, 0.5))) > 1.0  # it left the window (diverged)


def test_momentum_escapes_the_saddle_and_plain_sgd_on_its_axis_does_not():
    steps, lr = 200, 0.01
    on_axis = surfaces.descend("saddle", SGD(lr=lr), start=(1.0, 0.0), steps=steps)
    assert np.all(on_axis[:, 1] == 0.0)                       # never leaves the axis y = 0
    assert np.hypot(*on_axis[-1]) < 0.05                      # and ends in the saddle point
    near = surfaces.descend("saddle", SGD(lr=lr), start=(1.0, 1e-3), steps=steps)
    assert np.abs(near[:, 1]).max() < 0.05                    # plain SGD still stuck nearby
    momentum = surfaces.descend("saddle", SGD(lr=lr, momentum=0.9), start=(1.0, 1e-3), steps=steps)
    assert abs(momentum[-1, 1]) > 0.9                         # escaped into a minimum (0, ±1)
    assert surfaces.SADDLE(momentum[-1]) < -0.2               # below the saddle's f = 0


def test_ravine_every_optimizer_descends():
    paths = surfaces.descend_all("ravine", surfaces.default_optimizers(lr=0.01), steps=300)
    assert set(paths) == {"SGD", "Momentum", "Nesterov", "AdaGrad", "AdaDelta", "RMSProp", "Adam", "AdamW",
                          "L-BFGS"}
    f0 = surfaces.RAVINE(surfaces.RAVINE.start)
    for label, path in paths.items():
        assert path.shape == (301, 2), label
        assert surfaces.RAVINE(path[-1]) < f0, label


def test_lbfgs_runs_its_real_minimize_on_the_surface():
    opt = LBFGS()
    path = surfaces.descend("rosenbrock", opt, start=(-1.5, 2.0), steps=100)
    assert opt.result is not None and opt.result.nit <= 100  # scipy's result object: it did the work
    assert opt.iterations == opt.result.nit
    np.testing.assert_allclose(path[-1], (1.0, 1.0), atol=1e-4)
    np.testing.assert_allclose(path[opt.iterations:], np.repeat(path[-1:], 101 - opt.iterations, axis=0))


def test_lbfgs_stops_after_the_requested_steps():
    path = surfaces.descend("beale", LBFGS(), start=(1.0, 1.5), steps=3)
    assert path.shape == (4, 2) and not np.allclose(path[3], path[2])


def test_descend_keeps_the_last_finite_point_when_it_blows_up():
    path = surfaces.descend("beale", SGD(lr=1.0), start=(1.0, 1.5), steps=50)
    assert np.isfinite(path).all()


def test_optimizers_listed_by_class_name():
    paths = surfaces.descend_all("ravine", [AdaGrad(lr=0.5), AdaGrad(lr=0.1), AdaDelta(), AdamW(lr=0.1)], steps=5)
    assert list(paths) == ["AdaGrad", "AdaGrad (2)", "AdaDelta", "AdamW"]
