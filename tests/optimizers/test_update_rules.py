"""Every optimiser, three steps, against its paper's update rule written out here in plain Python.

The parameter vector is updated in place by the optimiser; the reference runs the scalar rule
per coordinate with ``math``. The gradient depends on the current parameters
(g = 2·(θ − c) + 0.3·θ³), so a wrong step propagates into the next steps' gradients.
"""

import math

import numpy as np
import pytest

import tanul
from tanul.optimizers import (
    LBFGS,
    SGD,
    AdaDelta,
    AdaGrad,
    Adam,
    AdamW,
    CosineDecay,
    ExponentialDecay,
    RMSProp,
    StepDecay,
)

C = [0.3, -0.7, 1.1, 0.0]
THETA0 = [0.5, -1.2, 2.0, -0.05]


def grad(theta):
    return [2 * (t - c) + 0.3 * t ** 3 for t, c in zip(theta, C, strict=True)]


def run_ours(opt, steps=3):
    p = np.array(THETA0, dtype=np.float64)
    g = np.zeros_like(p)
    opt.build(p, g)
    out = []
    for _ in range(steps):
        g[...] = grad(p.tolist())
        opt.step()
        out.append(p.copy())
    return out


def run_ref(rule, steps=3):
    theta = list(THETA0)
    state = [dict() for _ in theta]
    out = []
    for t in range(1, steps + 1):
        g = grad(theta)
        theta = [rule(th, gi, s, t) for th, gi, s in zip(theta, g, state, strict=True)]
        out.append(np.array(theta))
    return out


def sgd(lr, mu=0.0, nesterov=False, wd=0.0):
    # PyTorch / Sutskever et al. 2013: b = μb + g; θ −= η(g + μb) (Nesterov) or η b
    def rule(th, g, s, t):
        g = g + wd * th
        if mu == 0:
            return th - lr * g
        s["b"] = mu * s.get("b", 0.0) + g if "b" in s else g
        step = g + mu * s["b"] if nesterov else s["b"]
        return th - lr * step
    return rule


def adagrad(lr, eps, g0=0.0):
    # Duchi et al. 2011: G += g²; θ −= η g / (√G + ε)
    def rule(th, g, s, t):
        s["G"] = s.get("G", g0) + g * g
        return th - lr * g / (math.sqrt(s["G"]) + eps)
    return rule


def adadelta(lr, rho, eps):
    # Zeiler 2012, Algorithm 1 (with PyTorch's lr multiplying Δx)
    def rule(th, g, s, t):
        s["Eg"] = rho * s.get("Eg", 0.0) + (1 - rho) * g * g
        dx = math.sqrt(s.get("Ed", 0.0) + eps) / math.sqrt(s["Eg"] + eps) * g
        s["Ed"] = rho * s.get("Ed", 0.0) + (1 - rho) * dx * dx
        return th - lr * dx
    return rule


def rmsprop(lr, rho, eps, mu=0.0, centered=False):
    # Hinton 2012 (lecture 6e); centred: Graves 2013; momentum as PyTorch
    def rule(th, g, s, t):
        s["v"] = rho * s.get("v", 0.0) + (1 - rho) * g * g
        denom = s["v"]
        if centered:
            s["ga"] = rho * s.get("ga", 0.0) + (1 - rho) * g
            denom = s["v"] - s["ga"] ** 2
        step = g / (math.sqrt(denom) + eps)
        if mu:
            s["b"] = mu * s.get("b", 0.0) + step
            step = s["b"]
        return th - lr * step
    return rule


def adam(lr, b1=0.9, b2=0.999, eps=1e-8, amsgrad=False, wd=0.0, decoupled=False):
    # Kingma & Ba 2015, Algorithm 1; AMSGrad: Reddi et al. 2018 (PyTorch's form);
    # AdamW: Loshchilov & Hutter 2019 (θ ← θ − ηλθ before the Adam step)
    def rule(th, g, s, t):
        if decoupled:
            th = th - lr * wd * th
        else:
            g = g + wd * th
        s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
        s["v"] = b2 * s.get("v", 0.0) + (1 - b2) * g * g
        v = s["v"]
        if amsgrad:
            s["vmax"] = max(s.get("vmax", 0.0), s["v"])
            v = s["vmax"]
        mhat, vhat = s["m"] / (1 - b1 ** t), v / (1 - b2 ** t)
        return th - lr * mhat / (math.sqrt(vhat) + eps)
    return rule


CASES = [
    ("sgd", lambda: SGD(lr=0.1), sgd(0.1)),
    ("momentum", lambda: SGD(lr=0.1, momentum=0.9), sgd(0.1, 0.9)),
    ("nesterov", lambda: SGD(lr=0.1, momentum=0.9, nesterov=True), sgd(0.1, 0.9, True)),
    ("sgd_weight_decay", lambda: SGD(lr=0.1, momentum=0.5, weight_decay=0.01), sgd(0.1, 0.5, wd=0.01)),
    ("adagrad", lambda: AdaGrad(lr=0.5, eps=1e-10), adagrad(0.5, 1e-10)),
    ("adagrad_init", lambda: AdaGrad(lr=0.5, eps=1e-10, initial_accumulator=0.1), adagrad(0.5, 1e-10, 0.1)),
    ("adadelta", lambda: AdaDelta(lr=1.0, rho=0.9, eps=1e-6), adadelta(1.0, 0.9, 1e-6)),
    ("rmsprop", lambda: RMSProp(lr=0.01, rho=0.9, eps=1e-8), rmsprop(0.01, 0.9, 1e-8)),
    ("rmsprop_momentum", lambda: RMSProp(lr=0.01, rho=0.9, momentum=0.8), rmsprop(0.01, 0.9, 1e-8, 0.8)),
    ("rmsprop_centered", lambda: RMSProp(lr=0.01, rho=0.9, centered=True), rmsprop(0.01, 0.9, 1e-8, centered=True)),
    ("adam", lambda: Adam(lr=0.01), adam(0.01)),
    ("amsgrad", lambda: Adam(lr=0.01, beta2=0.9, amsgrad=True), adam(0.01, b2=0.9, amsgrad=True)),
    ("adam_l2", lambda: Adam(lr=0.01, weight_decay=0.1), adam(0.01, wd=0.1)),
    ("adamw", lambda: AdamW(lr=0.01, weight_decay=0.1), adam(0.01, wd=0.1, decoupled=True)),
]


@pytest.mark.parametrize(("name", "opt", "rule"), CASES, ids=[c[0] for c in CASES])
def test_first_three_steps_follow_the_rule(name, opt, rule):
    # a fresh optimiser per run: a module-level instance keeps its state when the module is run
    # twice in one process (mutmut's stats and clean-test runs), so its second run would fail
    opt = opt()
    ours, ref = run_ours(opt), run_ref(rule)
    for t, (a, b) in enumerate(zip(ours, ref, strict=True), 1):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14, err_msg=f"{name}, step {t}")
    assert opt.iterations == 3


def test_adam_l2_and_adamw_differ():
    a, w = run_ours(Adam(lr=0.01, weight_decay=0.1), 10), run_ours(AdamW(lr=0.01, weight_decay=0.1), 10)
    assert np.abs(a[-1] - w[-1]).max() > 1e-4


@pytest.mark.parametrize("opt", [SGD(lr=0.05), SGD(lr=0.05, momentum=0.9),
                                 SGD(lr=0.05, momentum=0.9, nesterov=True), AdaGrad(lr=0.5),
                                 AdaDelta(lr=1.0), RMSProp(lr=0.01), Adam(lr=0.05),
                                 AdamW(lr=0.05), "lbfgs"], ids=repr)
def test_every_optimiser_fits_a_linear_regression(opt):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3))
    y = x @ np.array([[1.5], [-2.0], [0.5]]) + 0.7 + 0.1 * rng.normal(size=(200, 1))
    model = tanul.Sequential([tanul.Dense(1)], seed=0, dtype="float64")
    model.compile(optimizer=opt, loss="mse")
    first = model.evaluate(x, y)["loss"]
    model.fit(x, y, epochs=30, batch_size=20, verbose=0)
    assert model.evaluate(x, y)["loss"] < 0.2 * first


def test_lbfgs_reaches_the_least_squares_solution():
    pytest.importorskip("scipy")
    rng = np.random.default_rng(1)
    x = rng.normal(size=(100, 4))
    y = x @ rng.normal(size=(4, 2)) + rng.normal(size=(1, 2)) + 0.3 * rng.normal(size=(100, 2))
    model = tanul.Sequential([tanul.Dense(2)], seed=0, dtype="float64")
    model.compile(optimizer=LBFGS(max_iter=200), loss="mse")
    hist = model.fit(x, y, epochs=200, verbose=0)
    xa = np.hstack([x, np.ones((100, 1))])
    coef, *_ = np.linalg.lstsq(xa, y, rcond=None)
    w, b = model.get_weights()
    np.testing.assert_allclose(w, coef[:4], atol=1e-6)
    np.testing.assert_allclose(b, coef[4], atol=1e-6)
    assert len(hist.history["loss"]) >= 2 and hist.history["loss"][-1] <= hist.history["loss"][0]


def test_clipping_by_norm_then_value():
    p, g = np.zeros(2), np.zeros(2)
    opt = SGD(lr=1.0, clipnorm=1.0)
    opt.build(p, g)
    g[...] = [3.0, 4.0]
    opt.step()
    np.testing.assert_allclose(p, [-0.6, -0.8])  # the gradient rescaled to norm 1
    p2, g2 = np.zeros(2), np.zeros(2)
    opt = SGD(lr=1.0, clipvalue=0.5)
    opt.build(p2, g2)
    g2[...] = [3.0, -0.2]
    opt.step()
    np.testing.assert_allclose(p2, [-0.5, 0.2])


def test_schedules():
    assert [StepDecay(1.0, 0.1, 3)(t) for t in (0, 2, 3, 6)] == pytest.approx([1.0, 1.0, 0.1, 0.01])
    e = ExponentialDecay(0.5, 10, 0.1)
    assert e(10) == pytest.approx(0.05) and e(5) == pytest.approx(0.5 * 0.1 ** 0.5)
    assert ExponentialDecay(0.5, 10, 0.1, staircase=True)(15) == pytest.approx(0.05)
    c = CosineDecay(1.0, 100, min_lr=0.1, warmup_steps=10)
    assert c(0) == pytest.approx(0.1) and c(9) == pytest.approx(1.0)
    assert c(60) == pytest.approx(0.1 + 0.45 * (1 + math.cos(math.pi * 0.5)))
    # a schedule as lr: evaluated at the 0-based step before each update
    p, g = np.zeros(1), np.ones(1)
    opt = SGD(lr=StepDecay(1.0, 0.5, 1))
    opt.build(p, g)
    for _ in range(3):
        opt.step()
    assert p[0] == pytest.approx(-(1.0 + 0.5 + 0.25))
    cfg = tanul.optimizers.serialize(opt)
    again = tanul.optimizers.get(cfg)
    assert again.lr(2) == 0.25


def test_optimizer_argument_errors():
    with pytest.raises(ValueError, match="rho"):
        RMSProp(rho=1.5)
    with pytest.raises(ValueError, match="Unknown optimizer 'adamax'"):
        tanul.optimizers.get("adamax")
    with pytest.raises(ValueError, match="max_iter"):
        LBFGS(max_iter=0)


@pytest.mark.parametrize(("opt", "epochs"), [
    (SGD(lr=0.1), 30), (SGD(lr=0.05, momentum=0.9), 20), (SGD(lr=0.05, momentum=0.9, nesterov=True), 20),
    (AdaGrad(lr=0.05), 20), (AdaDelta(lr=1.0), 30), (RMSProp(lr=1e-3), 20), (Adam(lr=1e-3), 20),
    (AdamW(lr=1e-3, weight_decay=1e-4), 20), ("lbfgs", 150),
], ids=lambda v: type(v).__name__ if not isinstance(v, (int, str)) else str(v))
def test_every_optimiser_trains_the_digits_network(opt, epochs):
    """Issue 4: each optimiser, with a sensible learning rate, reaches >= 0.95 test accuracy."""
    pytest.importorskip("sklearn")
    from tanul.datasets import digits
    from tanul.preprocessing import train_test_split
    x, y = digits()
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.25, stratify=y, seed=0)
    model = tanul.Sequential([tanul.Dense(64, activation="relu"), tanul.Dense(64, activation="relu"),
                              tanul.Dense(10)], seed=0)
    model.compile(optimizer=opt, loss="cross_entropy", metrics=["accuracy"])
    model.fit(x_tr, y_tr, epochs=epochs, batch_size=32, verbose=0)
    assert model.evaluate(x_te, y_te)["accuracy"] >= 0.95
