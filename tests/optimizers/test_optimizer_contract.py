"""The optimiser API around the update rules (issue 18, mutation testing): argument checks with
their whole messages, build/state bookkeeping, slots, configs and reprs, schedules and ``get``.

Every expectation is written out by hand from the documented behaviour (the messages, the
formulas in the docstrings), never taken from the code's own output.
"""

import math
import re

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
    schedules,
)


def full(msg):
    """A regex that matches exactly ``msg`` (no prefix or suffix may be added)."""
    return "^" + re.escape(msg) + "$"


# ------------------------------------------------------------------ argument checks
@pytest.mark.parametrize(("make", "exc", "msg"), [
    (lambda: SGD(lr=-0.1), ValueError, "SGD: expected lr >= 0, got lr=-0.1"),
    (lambda: SGD(lr=math.inf), ValueError, "SGD: expected lr >= 0, got lr=inf"),
    (lambda: SGD(lr=math.nan), ValueError, "SGD: expected lr >= 0, got lr=nan"),
    (lambda: SGD(lr=True), TypeError, "SGD: expected lr to be a float, got lr=True"),
    (lambda: SGD(lr="0.1"), TypeError, "SGD: expected lr to be a float, got lr='0.1'"),
    (lambda: SGD(momentum=1.0), ValueError, "SGD: expected momentum in [0, 1.0), got momentum=1.0"),
    (lambda: SGD(momentum=-0.5), ValueError, "SGD: expected momentum in [0, 1.0), got momentum=-0.5"),
    (lambda: SGD(nesterov=True), ValueError, "SGD: nesterov=True needs momentum > 0, got momentum=0"),
    (lambda: SGD(weight_decay=-1), ValueError, "SGD: expected weight_decay >= 0, got weight_decay=-1"),
    (lambda: SGD(clipnorm=0.0), ValueError, "SGD: expected clipnorm > 0, got clipnorm=0.0"),
    (lambda: SGD(clipvalue=0), ValueError, "SGD: expected clipvalue > 0, got clipvalue=0"),
    (lambda: SGD(clipvalue=-2.0), ValueError, "SGD: expected clipvalue > 0, got clipvalue=-2.0"),
    (lambda: Adam(beta1=1), ValueError, "Adam: expected beta1 in [0, 1.0), got beta1=1"),
    (lambda: AdamW(beta2=1.5), ValueError, "AdamW: expected beta2 in [0, 1.0), got beta2=1.5"),
    (lambda: Adam(eps=-1e-8), ValueError, "Adam: expected eps >= 0, got eps=-1e-08"),
    (lambda: Adam(weight_decay=-0.1), ValueError, "Adam: expected weight_decay >= 0, got weight_decay=-0.1"),
    (lambda: AdaGrad(eps=-1.0), ValueError, "AdaGrad: expected eps >= 0, got eps=-1.0"),
    (lambda: AdaGrad(initial_accumulator=-1.0), ValueError,
     "AdaGrad: expected initial_accumulator >= 0, got initial_accumulator=-1.0"),
    (lambda: AdaDelta(rho=1.0), ValueError, "AdaDelta: expected rho in [0, 1.0), got rho=1.0"),
    (lambda: AdaDelta(eps=0.0), ValueError, "AdaDelta: expected eps > 0, got eps=0.0"),
    (lambda: RMSProp(rho=1.5), ValueError, "RMSProp: expected rho in [0, 1.0), got rho=1.5"),
    (lambda: RMSProp(eps=-1.0), ValueError, "RMSProp: expected eps >= 0, got eps=-1.0"),
    (lambda: RMSProp(momentum=1.0), ValueError, "RMSProp: expected momentum in [0, 1.0), got momentum=1.0"),
])
def test_bad_hyperparameters_are_refused_with_the_whole_message(make, exc, msg):
    with pytest.raises(exc, match=full(msg)):
        make()


def test_hyperparameters_at_the_edges_of_their_ranges_are_accepted():
    # zero is allowed where the range is [0, ...), numpy scalars and ints are floats
    assert SGD(lr=0).lr == 0.0 and isinstance(SGD(lr=0).lr, float)
    assert SGD(lr=np.float32(0.5)).lr == 0.5
    assert SGD(lr=np.int64(2)).lr == 2.0
    assert SGD(momentum=0.0).momentum == 0.0
    assert SGD(momentum=0.999).momentum == 0.999
    assert Adam(beta1=0.0, beta2=0.0, eps=0.0).eps == 0.0
    assert AdaGrad(eps=0.0, initial_accumulator=0.0).initial_accumulator == 0.0
    assert SGD(clipnorm=1e-12).clipnorm == 1e-12
    assert SGD(clipvalue=3).clipvalue == 3.0 and isinstance(SGD(clipvalue=3).clipvalue, float)
    assert SGD(clipnorm=None, clipvalue=None).clipnorm is None


def test_a_schedule_is_kept_as_the_learning_rate():
    s = StepDecay(0.4, 0.5, 2)
    opt = SGD(lr=s)
    assert opt.lr is s
    p, g = np.zeros(1), np.ones(1)
    opt.build(p, g)
    lrs = []
    for _ in range(5):
        lrs.append(opt.current_lr)
        opt.step()
    assert lrs == [0.4, 0.4, 0.2, 0.2, 0.1]      # η₀·0.5^⌊t/2⌋ at t = 0..4
    assert p[0] == pytest.approx(-(0.4 + 0.4 + 0.2 + 0.2 + 0.1))


# ------------------------------------------------------------------ build and step
def test_build_checks_shapes_dtypes_and_layout():
    opt = SGD()
    with pytest.raises(ValueError, match=full("SGD: params and grads must match, got (3,)/float64 "
                                              "and (4,)/float64")):
        opt.build(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match=full("SGD: params and grads must match, got (3,)/float64 "
                                              "and (3,)/float32")):
        opt.build(np.zeros(3), np.zeros(3, np.float32))
    with pytest.raises(ValueError, match=full("SGD: params and grads must be contiguous arrays")):
        opt.build(np.zeros(6)[::2], np.zeros(3))
    with pytest.raises(ValueError, match=full("SGD: params and grads must be contiguous arrays")):
        opt.build(np.zeros(3), np.zeros(6)[::2])
    assert not opt.built


def test_step_before_build_says_what_to_do():
    with pytest.raises(RuntimeError, match=full("Adam: step() before build(); compile a model with "
                                                "this optimiser or call build(params, grads)")):
        Adam().step()


def test_built_and_is_built_for():
    p, g = np.zeros(2), np.zeros(2)
    opt = SGD()
    assert opt.built is False
    assert opt.is_built_for(p) is False
    opt.build(p, g)
    assert opt.built is True
    assert opt.is_built_for(p) is True
    assert opt.is_built_for(p.copy()) is False


def test_rebuilding_on_a_same_sized_buffer_keeps_the_state_and_a_new_size_resets_it():
    p, g = np.array([1.0, 2.0]), np.array([0.5, -1.0])
    opt = SGD(lr=0.1, momentum=0.5)
    opt.build(p, g)
    opt.step()                                   # v = −η g = [−0.05, 0.1]
    np.testing.assert_allclose(opt.get_slot("velocity", "param"), [-0.05, 0.1])
    p2, g2 = np.array([1.0, 2.0]), np.array([0.5, -1.0])
    opt.build(p2, g2)                            # a second fit: same size, state kept
    assert opt.iterations == 1
    np.testing.assert_allclose(opt.get_slot("velocity", "param"), [-0.05, 0.1])
    opt.step()                                   # v = 0.5·v − η g = [−0.075, 0.15]
    np.testing.assert_allclose(p2, [1.0 - 0.075, 2.0 + 0.15])
    p3, g3 = np.zeros(3), np.ones(3)
    opt.build(p3, g3)                            # another size: fresh state
    assert opt.iterations == 0
    np.testing.assert_array_equal(opt.get_slot("velocity", "param"), np.zeros(3))
    p4, g4 = np.zeros(3, np.float32), np.ones(3, np.float32)
    opt.step()
    opt.build(p4, g4)                            # another dtype: fresh state too
    assert opt.iterations == 0
    assert opt.get_slot("velocity", "param").dtype == np.float32
    np.testing.assert_array_equal(opt.get_slot("velocity", "param"), np.zeros(3))


def test_clipping_by_value_is_symmetric_and_leaves_small_entries():
    p, g = np.zeros(4), np.zeros(4)
    opt = SGD(lr=1.0, clipvalue=0.5)
    opt.build(p, g)
    g[...] = [-3.0, -0.25, 0.25, 3.0]
    opt.step()
    np.testing.assert_array_equal(p, [0.5, 0.25, -0.25, -0.5])


def test_clipnorm_rescales_to_exactly_the_limit():
    # ‖[6, 8]‖ = 10 > 2: g ← g·2/10 = [1.2, 1.6]; float32 stays float32
    p, g = np.zeros(2, np.float32), np.zeros(2, np.float32)
    opt = SGD(lr=1.0, clipnorm=2.0)
    opt.build(p, g)
    g[...] = [6.0, 8.0]
    opt.step()
    assert p.dtype == np.float32
    np.testing.assert_allclose(p, [-1.2, -1.6], rtol=1e-6)
    np.testing.assert_allclose(g, [1.2, 1.6], rtol=1e-6)


def test_plain_sgd_with_weight_decay_adds_lambda_theta():
    # no momentum: θ ← θ − η(g + λθ) = 1 − 0.1·(0.5 + 0.2·1) = 0.93
    p, g = np.array([1.0, -2.0]), np.array([0.5, 0.5])
    opt = SGD(lr=0.1, weight_decay=0.2)
    opt.build(p, g)
    opt.step()
    np.testing.assert_allclose(p, [1.0 - 0.1 * (0.5 + 0.2), -2.0 - 0.1 * (0.5 - 0.4)], rtol=1e-15)
    assert opt.slots == ()


def test_sgd_momentum_and_nesterov_by_hand():
    # momentum 0.9, lr 0.1, g = 1 constant: v1 = −0.1, v2 = −0.19; θ2 = −0.29
    p, g = np.zeros(1), np.ones(1)
    opt = SGD(lr=0.1, momentum=0.9)
    opt.build(p, g)
    opt.step()
    opt.step()
    assert p[0] == pytest.approx(-0.29, abs=1e-15)
    # Nesterov: θ += μv − ηg: step 1: −0.09 − 0.1 = −0.19; step 2: v = −0.19, 0.9·(−0.19) − 0.1
    p, g = np.zeros(1), np.ones(1)
    opt = SGD(lr=0.1, momentum=0.9, nesterov=True)
    opt.build(p, g)
    opt.step()
    assert p[0] == pytest.approx(-0.19, abs=1e-15)
    opt.step()
    assert p[0] == pytest.approx(-0.19 - 0.171 - 0.1, abs=1e-15)


def test_adam_first_step_moves_by_lr_and_eps_matters():
    # step 1: m̂ = g, v̂ = g², θ −= η g / (|g| + ε); with ε = |g| the step is η/2
    p, g = np.array([0.0, 0.0]), np.array([0.5, -2.0])
    opt = Adam(lr=0.1, eps=0.5)
    opt.build(p, g)
    opt.step()
    np.testing.assert_allclose(p, [-0.1 * 0.5 / 1.0, 0.1 * 2.0 / 2.5], rtol=1e-12)


def test_adam_second_step_by_hand():
    # g1 = 1, g2 = 3, β1 = 0.5, β2 = 0.75, ε = 0, η = 1
    # m2 = 0.5·0.5 + 0.5·3 = 1.75, m̂ = 1.75/0.75; v2 = 0.75·0.25 + 0.25·9 = 2.4375, v̂ = 2.4375/0.4375
    p, g = np.zeros(1), np.ones(1)
    opt = Adam(lr=1.0, beta1=0.5, beta2=0.75, eps=0.0)
    opt.build(p, g)
    opt.step()
    assert p[0] == pytest.approx(-1.0)
    g[0] = 3.0
    opt.step()
    assert p[0] == pytest.approx(-1.0 - (1.75 / 0.75) / math.sqrt(2.4375 / 0.4375), rel=1e-12)
    np.testing.assert_allclose(opt.get_slot("m", "param"), [1.75])
    np.testing.assert_allclose(opt.get_slot("v", "param"), [2.4375])


def test_amsgrad_keeps_the_largest_second_moment():
    # g1 = 2, g2 = 0, β2 = 0.5: v1 = 2, v2 = 1, v_max stays 2
    p, g = np.zeros(1), np.array([2.0])
    opt = Adam(lr=1.0, beta1=0.0, beta2=0.5, eps=0.0, amsgrad=True)
    assert opt.slots == ("m", "v", "v_max")
    opt.build(p, g)
    opt.step()
    g[0] = 0.0
    opt.step()
    np.testing.assert_allclose(opt.get_slot("v", "param"), [1.0])
    np.testing.assert_allclose(opt.get_slot("v_max", "param"), [2.0])
    assert Adam().slots == ("m", "v")


def test_adamw_decays_by_lr_times_lambda_before_the_step():
    # g = 0: m = v = 0, so only the decay moves θ: θ·(1 − ηλ) per step
    p, g = np.array([2.0, -4.0]), np.zeros(2)
    opt = AdamW(lr=0.1, weight_decay=0.5, eps=1e-8)
    opt.build(p, g)
    opt.step()
    opt.step()
    np.testing.assert_allclose(p, np.array([2.0, -4.0]) * 0.95 ** 2, rtol=1e-12)
    assert AdamW().weight_decay == 0.01 and Adam().weight_decay == 0.0


def test_adagrad_initial_accumulator_fills_the_slot():
    p, g = np.zeros(3), np.zeros(3)
    opt = AdaGrad(initial_accumulator=0.25)
    opt.build(p, g)
    np.testing.assert_array_equal(opt.get_slot("sum", "param"), [0.25, 0.25, 0.25])
    g[...] = [0.0, 1.0, -2.0]
    opt.step()                                   # G = 0.25 + g²; θ −= 0.01 g/(√G + 1e-10)
    np.testing.assert_allclose(p, [0.0, -0.01 / math.sqrt(1.25), 0.02 / math.sqrt(4.25)], rtol=1e-9)


def test_rmsprop_slots_follow_the_options():
    assert RMSProp().slots == ("sq_avg",)
    assert RMSProp(centered=True).slots == ("sq_avg", "grad_avg")
    assert RMSProp(momentum=0.5).slots == ("sq_avg", "momentum_buffer")
    assert RMSProp(momentum=0.5, centered=True).slots == ("sq_avg", "grad_avg", "momentum_buffer")
    assert SGD(momentum=0.5).slots == ("velocity",) and AdaDelta().slots == ("sq_avg", "delta_avg")


def test_rmsprop_first_step_by_hand():
    # v = (1 − ρ) g² = 0.75·4 = 3; θ −= η g/(√3 + ε); centred: denominator √(3 − (0.75·2)²)
    p, g = np.zeros(1), np.array([2.0])
    opt = RMSProp(lr=0.1, rho=0.25, eps=0.0)
    opt.build(p, g)
    opt.step()
    assert p[0] == pytest.approx(-0.1 * 2.0 / math.sqrt(3.0), rel=1e-12)
    p, g = np.zeros(1), np.array([2.0])
    opt = RMSProp(lr=0.1, rho=0.25, eps=0.0, centered=True)
    opt.build(p, g)
    opt.step()
    assert p[0] == pytest.approx(-0.1 * 2.0 / math.sqrt(3.0 - 2.25), rel=1e-12)


# ------------------------------------------------------------------ slots and state
def two_param_opt():
    p, g = np.arange(7, dtype=np.float64), np.zeros(7)
    index = {"dense_0.W": (0, (2, 3)), "dense_0.b": (6, (1,))}
    opt = Adam(lr=0.1)
    opt.build(p, g, index)
    g[...] = np.arange(1.0, 8.0)
    opt.step()
    return opt, p, g


def test_get_slot_gives_each_parameters_view():
    opt, p, g = two_param_opt()
    m = opt.get_slot("m", "dense_0.W")
    assert m.shape == (2, 3)
    np.testing.assert_allclose(m, 0.1 * np.arange(1.0, 7.0).reshape(2, 3))   # (1 − β1)·g
    np.testing.assert_allclose(opt.get_slot("v", "dense_0.b"), [0.001 * 49.0])  # (1 − β2)·g²
    m[0, 0] = 5.0                                # a view, not a copy
    assert opt.get_slot("m", "dense_0.W")[0, 0] == 5.0
    with pytest.raises(KeyError, match=re.escape("Adam has no slot 'velocity'; slots: ['m', 'v']")):
        opt.get_slot("velocity", "dense_0.W")
    with pytest.raises(KeyError, match=re.escape("Adam: unknown parameter 'dense_1.W'; known: "
                                                 "['dense_0.W', 'dense_0.b']")):
        opt.get_slot("m", "dense_1.W")


def test_state_dict_round_trip_and_checks():
    opt, p, g = two_param_opt()
    state = opt.state_dict()
    assert state["iterations"] == 1 and isinstance(state["iterations"], int)
    assert sorted(state["slots"]) == ["m/dense_0.W", "m/dense_0.b", "v/dense_0.W", "v/dense_0.b"]
    np.testing.assert_allclose(state["slots"]["m/dense_0.b"], [0.7])
    state["slots"]["m/dense_0.b"][0] = 99.0      # copies: the optimiser is untouched
    assert opt.get_slot("m", "dense_0.b")[0] == pytest.approx(0.7)

    other = Adam(lr=0.1)
    with pytest.raises(RuntimeError, match=full("Adam: build the optimiser before loading state")):
        other.load_state_dict(state)
    other.build(np.zeros(7), np.zeros(7), {"dense_0.W": (0, (2, 3)), "dense_0.b": (6, (1,))})
    other.load_state_dict(state)
    assert other.iterations == 1
    assert other.get_slot("m", "dense_0.b")[0] == 99.0
    np.testing.assert_allclose(other.get_slot("v", "dense_0.W"),
                               0.001 * np.arange(1.0, 7.0).reshape(2, 3) ** 2)
    other.load_state_dict({"slots": state["slots"]})   # no iterations: 0
    assert other.iterations == 0

    missing = dict(state["slots"])
    del missing["v/dense_0.b"]
    missing["w/x"] = np.zeros(1)
    with pytest.raises(ValueError, match=full(
            "Adam: optimiser state does not match the model; missing ['v/dense_0.b'], "
            "unexpected ['w/x']")):
        other.load_state_dict({"iterations": 1, "slots": missing})
    with pytest.raises(ValueError, match=full(
            "Adam: optimiser state does not match the model; missing ['m/dense_0.W', 'm/dense_0.b', "
            "'v/dense_0.W', 'v/dense_0.b'], unexpected []")):
        other.load_state_dict({"iterations": 1})
    bad = dict(state["slots"])
    bad["m/dense_0.W"] = np.zeros((3, 2))
    with pytest.raises(ValueError, match=full("Adam: state 'm/dense_0.W' has shape (3, 2), "
                                              "expected (2, 3)")):
        other.load_state_dict({"iterations": 1, "slots": bad})


def test_default_index_names_the_whole_buffer_param():
    p, g = np.zeros((2, 2)), np.zeros((2, 2))
    opt = SGD(momentum=0.5)
    opt.build(p, g)
    assert list(opt.state_dict()["slots"]) == ["velocity/param"]
    assert opt.get_slot("velocity", "param").shape == (2, 2)


# ------------------------------------------------------------------ configs and reprs
def test_configs_and_reprs_spell_every_setting():
    assert repr(SGD(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01, clipnorm=1.0, clipvalue=2)) == \
        "SGD(lr=0.1, clipnorm=1.0, clipvalue=2.0, momentum=0.9, nesterov=True, weight_decay=0.01)"
    assert repr(SGD()) == "SGD(lr=0.01, momentum=0.0, nesterov=False, weight_decay=0.0)"
    assert Adam().get_config() == {"lr": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8,
                                   "amsgrad": False, "weight_decay": 0.0}
    assert AdamW(amsgrad=True).get_config() == {"lr": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8,
                                                "amsgrad": True, "weight_decay": 0.01}
    assert AdaGrad().get_config() == {"lr": 0.01, "eps": 1e-10, "initial_accumulator": 0.0}
    assert AdaDelta().get_config() == {"lr": 1.0, "rho": 0.9, "eps": 1e-6}
    assert RMSProp(centered=True).get_config() == {"lr": 0.01, "rho": 0.99, "eps": 1e-8,
                                                   "momentum": 0.0, "centered": True}
    assert SGD(lr=StepDecay(0.1, 0.5, 10)).get_config()["lr"] == {
        "class_name": "StepDecay", "config": {"initial_lr": 0.1, "factor": 0.5, "step_size": 10}}

    def plain(step):
        return 0.1

    assert SGD(lr=plain).get_config()["lr"] == repr(plain)     # no get_config: its repr


def test_serialize_and_get_round_trip():
    opt = RMSProp(lr=0.05, momentum=0.5, clipvalue=1.0)
    cfg = tanul.optimizers.serialize(opt)
    assert cfg == {"class_name": "RMSProp", "config": {"lr": 0.05, "clipvalue": 1.0, "rho": 0.99,
                                                       "eps": 1e-8, "momentum": 0.5, "centered": False}}
    again = tanul.optimizers.get(cfg)
    assert type(again) is RMSProp and again.get_config() == cfg["config"]
    cfg = tanul.optimizers.serialize(SGD(lr=CosineDecay(1.0, 10, min_lr=0.1)))
    again = tanul.optimizers.get(cfg)
    assert isinstance(again.lr, CosineDecay) and again.lr(10) == pytest.approx(0.1)
    assert type(tanul.optimizers.get({"class_name": "Adam"})) is Adam


def test_get_resolves_names_instances_and_refuses_the_rest():
    for name, cls in [("sgd", SGD), ("ADAM", Adam), ("AdamW", AdamW), ("adagrad", AdaGrad),
                      ("adadelta", AdaDelta), ("rmsprop", RMSProp), ("lbfgs", LBFGS)]:
        assert type(tanul.optimizers.get(name)) is cls
    opt, lb = SGD(), LBFGS()
    assert tanul.optimizers.get(opt) is opt and tanul.optimizers.get(lb) is lb
    with pytest.raises(ValueError, match=full("Unknown optimizer 'nadam'. Known: adadelta, adagrad, "
                                              "adam, adamw, lbfgs, rmsprop, sgd")):
        tanul.optimizers.get("nadam")
    with pytest.raises(ValueError, match=full("Unknown optimizer class 'Nadam'. Known: AdaDelta, "
                                              "AdaGrad, Adam, AdamW, LBFGS, RMSProp, SGD")):
        tanul.optimizers.get({"class_name": "Nadam"})
    with pytest.raises(TypeError, match=full("Expected an optimizer name, an Optimizer or a config "
                                             "dict, got 3")):
        tanul.optimizers.get(3)
    with pytest.raises(TypeError, match="got {'config': {}}"):
        tanul.optimizers.get({"config": {}})


# ------------------------------------------------------------------ schedules
def test_schedule_formulas_by_hand():
    s = StepDecay(0.8, 0.25, 3)
    assert [s(t) for t in (0, 2, 3, 5, 6, 9)] == [0.8, 0.8, 0.2, 0.2, 0.05, 0.0125]
    e = ExponentialDecay(2.0, 4, 0.5)
    assert e(0) == 2.0 and e(4) == 1.0 and e(2) == pytest.approx(2.0 * 0.5 ** 0.5)
    assert e(6) == pytest.approx(2.0 * 0.5 ** 1.5)
    st = ExponentialDecay(2.0, 4, 0.5, staircase=True)
    assert [st(t) for t in (0, 3, 4, 7, 8)] == [2.0, 2.0, 1.0, 1.0, 0.5]
    c = CosineDecay(2.0, 4, min_lr=0.5, warmup_steps=2)
    # warm-up: η₀(t + 1)/w; then 0.5 + 0.75(1 + cos(π (t − 2)/4)), flat after t = 6
    assert c(0) == 1.0 and c(1) == 2.0
    assert c(2) == pytest.approx(2.0)
    assert c(3) == pytest.approx(0.5 + 0.75 * (1 + math.cos(math.pi / 4)))
    assert c(4) == pytest.approx(1.25)
    assert c(6) == pytest.approx(0.5) and c(100) == pytest.approx(0.5)
    assert CosineDecay(1.0, 4)(2) == pytest.approx(0.5)


@pytest.mark.parametrize(("make", "msg"), [
    (lambda: StepDecay(0, 0.5, 1), "StepDecay: expected initial_lr > 0, got 0"),
    (lambda: StepDecay(-1.0, 0.5, 1), "StepDecay: expected initial_lr > 0, got -1.0"),
    (lambda: StepDecay(True, 0.5, 1), "StepDecay: expected initial_lr > 0, got True"),
    (lambda: StepDecay(math.inf, 0.5, 1), "StepDecay: expected initial_lr > 0, got inf"),
    (lambda: StepDecay("1", 0.5, 1), "StepDecay: expected initial_lr > 0, got '1'"),
    (lambda: StepDecay(1.0, 1.5, 1), "StepDecay: expected factor in (0, 1], got 1.5"),
    (lambda: StepDecay(1.0, 0, 1), "StepDecay: expected factor in (0, 1], got 0"),
    (lambda: StepDecay(1.0, 0.5, 0), "StepDecay: expected step_size to be a whole number of steps >= 1, got 0"),
    (lambda: StepDecay(1.0, 0.5, 2.5),
     "StepDecay: expected step_size to be a whole number of steps >= 1, got 2.5"),
    (lambda: StepDecay(1.0, 0.5, True),
     "StepDecay: expected step_size to be a whole number of steps >= 1, got True"),
    (lambda: StepDecay(1.0, 0.5, math.inf),
     "StepDecay: expected step_size to be a whole number of steps >= 1, got inf"),
    (lambda: StepDecay(1.0, 0.5, 2**53 + 2),
     "StepDecay: expected step_size to be a whole number of steps >= 1, got 9007199254740994"),
    (lambda: ExponentialDecay(1.0, 0, 0.5), "ExponentialDecay: expected decay_steps > 0, got 0"),
    (lambda: ExponentialDecay(1.0, 10, 2.0), "ExponentialDecay: expected decay_rate in (0, 1], got 2.0"),
    (lambda: CosineDecay(1.0, 10, min_lr=-0.1), "CosineDecay: expected min_lr >= 0, got -0.1"),
    (lambda: CosineDecay(1.0, 10, warmup_steps=-1),
     "CosineDecay: expected warmup_steps to be a whole number of steps >= 0, got -1"),
    (lambda: CosineDecay(1.0, 0), "CosineDecay: expected decay_steps > 0, got 0"),
])
def test_schedule_arguments_are_checked(make, msg):
    with pytest.raises(ValueError, match=full(msg)):
        make()


def test_schedule_arguments_at_their_limits_are_accepted():
    assert StepDecay(1.0, 1.0, 2**53).step_size == 2**53
    assert StepDecay(1.0, 0.5, 4.0).step_size == 4 and isinstance(StepDecay(1.0, 0.5, 4.0).step_size, int)
    assert ExponentialDecay(1.0, 0.5, 1.0).decay_rate == 1.0
    assert CosineDecay(1.0, 10, min_lr=0, warmup_steps=0).min_lr == 0.0


def test_schedule_reprs_configs_and_get():
    s = CosineDecay(1.0, 10, min_lr=0.1, warmup_steps=2)
    assert repr(s) == "CosineDecay(initial_lr=1.0, decay_steps=10.0, min_lr=0.1, warmup_steps=2)"
    assert repr(StepDecay(1, 0.5, 3)) == "StepDecay(initial_lr=1.0, factor=0.5, step_size=3)"
    assert ExponentialDecay(1, 5, 0.5, staircase=1).get_config() == {
        "initial_lr": 1.0, "decay_steps": 5.0, "decay_rate": 0.5, "staircase": True}
    cfg = s.get_config()
    cfg["min_lr"] = 7.0                          # a copy
    assert s.min_lr == 0.1 and s.get_config()["min_lr"] == 0.1
    again = schedules.get({"class_name": "CosineDecay", "config": s.get_config()})
    assert type(again) is CosineDecay and again.get_config() == s.get_config()
    assert type(schedules.get({"class_name": "StepDecay", "config": {"initial_lr": 0.1}})) is StepDecay
    with pytest.raises(TypeError, match=full("expected a schedule config {'class_name': ..., "
                                             "'config': {...}}, got 'StepDecay'")):
        schedules.get("StepDecay")
    with pytest.raises(ValueError, match=full("unknown schedule 'Schedule'; known: StepDecay, "
                                              "ExponentialDecay, CosineDecay")):
        schedules.get({"class_name": "Schedule", "config": {}})
    with pytest.raises(ValueError, match=full("unknown schedule 3; known: StepDecay, "
                                              "ExponentialDecay, CosineDecay")):
        schedules.get({"class_name": 3})
    with pytest.raises(TypeError, match=full("StepDecay: expected its config to be an object, got [1]")):
        schedules.get({"class_name": "StepDecay", "config": [1]})


# ------------------------------------------------------------------ L-BFGS
def test_lbfgs_arguments_config_and_repr():
    lb = LBFGS(max_iter=5, tol=1e-6, history_size=4)
    assert lb.get_config() == {"max_iter": 5, "tol": 1e-6, "history_size": 4}
    assert repr(lb) == "LBFGS(max_iter=5, tol=1e-06, history_size=4)"
    assert repr(LBFGS()) == "LBFGS(max_iter=None, tol=1e-12, history_size=10)"
    assert lb.current_lr == 1.0 and lb.lr == 1.0 and lb.iterations == 0 and lb.result is None
    assert LBFGS(max_iter=1).max_iter == 1 and LBFGS(tol=0).tol == 0.0
    for bad in (0, -1, True, 2.0, "3"):
        with pytest.raises(ValueError, match=full(
                f"LBFGS: expected max_iter to be a positive int or None, got {bad!r}")):
            LBFGS(max_iter=bad)
    for bad in (-1e-3, math.nan):
        with pytest.raises(ValueError, match=full(f"LBFGS: expected tol >= 0, got {bad!r}")):
            LBFGS(tol=bad)


class Quadratic:
    """L(θ) = ½ Σ a_i (θ_i − c_i)² on a float32 buffer, as a model presents itself to L-BFGS."""

    def __init__(self, a, c, start):
        self.a, self.c = np.asarray(a, np.float64), np.asarray(c, np.float64)
        self.params = np.asarray(start, np.float32).copy()
        self.grads = np.zeros_like(self.params)
        self.calls = 0

    def loss_and_grads(self, x, y):
        self.calls += 1
        d = self.params.astype(np.float64) - self.c
        self.grads[...] = self.a * d
        return 0.5 * float(np.sum(self.a * d * d)), None


def test_lbfgs_minimises_in_place_and_reports_each_iteration():
    pytest.importorskip("scipy")
    prob = Quadratic([1.0, 4.0, 9.0], [1.0, -2.0, 0.5], [0.0, 0.0, 0.0])
    buf = prob.params
    seen = []

    def callback(loss):
        seen.append((loss, prob.params.copy()))
        return False

    lb = LBFGS(tol=1e-10)
    lb.minimize(prob, None, None, max_iter=50, callback=callback)
    assert prob.params is buf and buf.dtype == np.float32
    np.testing.assert_allclose(buf, [1.0, -2.0, 0.5], atol=1e-5)
    assert lb.iterations == len(seen) == lb.result.nit >= 2
    losses = [s[0] for s in seen]
    assert all(b <= a for a, b in zip(losses, losses[1:]))
    assert losses[-1] < 1e-8
    np.testing.assert_array_equal(seen[-1][1], buf)  # the callback saw the final iterate


def test_lbfgs_stops_when_the_callback_says_so():
    pytest.importorskip("scipy")
    prob = Quadratic([1.0, 4.0, 9.0], [1.0, -2.0, 0.5], [0.0, 0.0, 0.0])
    seen = []
    lb = LBFGS()
    lb.minimize(prob, None, None, max_iter=50, callback=lambda loss: seen.append(prob.params.copy()) or True)
    assert lb.iterations == 1 and len(seen) == 1
    assert not np.allclose(prob.params, [1.0, -2.0, 0.5], atol=1e-3)   # stopped early
    assert 0.5 * np.sum(np.array([1.0, 4.0, 9.0]) * (prob.params - [1.0, -2.0, 0.5]) ** 2) < 0.5 * (1 + 16 + 2.25)


def test_lbfgs_max_iter_and_no_callback():
    pytest.importorskip("scipy")
    prob = Quadratic([1.0, 100.0], [3.0, -1.0], [0.0, 0.0])
    lb = LBFGS()
    lb.minimize(prob, None, None, max_iter=2)
    assert lb.iterations == 2 and lb.result.nit == 2
    np.testing.assert_array_equal(prob.params, lb.result.x.astype(np.float32))


def test_lbfgs_passes_its_settings_to_scipy():
    # the documented mapping: maxcor = history_size, ftol = tol, gtol = 1000·tol, maxiter = max_iter
    scipy_optimize = pytest.importorskip("scipy.optimize")
    a, c = np.array([1.0, 3.0, 10.0, 30.0, 100.0]), np.array([1.0, -1.0, 2.0, 0.5, -0.5])

    def fun(w):
        d = w - c
        return 0.5 * float(np.sum(a * d * d)), a * d

    for hist, tol, iters in [(1, 1e-3, 30), (3, 1e-9, 30), (10, 1e-12, 4)]:
        ref = scipy_optimize.minimize(fun, np.zeros(5), jac=True, method="L-BFGS-B",
                                      options={"maxiter": iters, "maxcor": hist, "ftol": tol,
                                               "gtol": 1000 * tol})
        prob = Quadratic(a, c, np.zeros(5))
        prob.params = prob.params.astype(np.float64)
        prob.grads = np.zeros(5)
        lb = LBFGS(tol=tol, history_size=hist)
        lb.minimize(prob, None, None, max_iter=iters)
        assert lb.result.nit == ref.nit and lb.result.nfev == ref.nfev
        np.testing.assert_allclose(prob.params, ref.x, rtol=1e-12, atol=1e-14)



def test_lbfgs_gtol_is_a_thousand_times_tol():
    # L = ½θ², θ0 = 1.0005: |g| = 1.0005 is above gtol = 1000·1e-3 = 1, so at least one iteration
    pytest.importorskip("scipy")
    prob = Quadratic([1.0], [0.0], [1.0005])
    prob.params, prob.grads = np.array([1.0005]), np.zeros(1)
    lb = LBFGS(tol=1e-3)
    lb.minimize(prob, None, None, max_iter=10)
    assert lb.result.nit >= 1 and abs(prob.params[0]) < 1e-3
    prob = Quadratic([1.0], [0.0], [0.9995])     # |g| = 0.9995 <= 1: converged at the start
    prob.params, prob.grads = np.array([0.9995]), np.zeros(1)
    lb = LBFGS(tol=1e-3)
    lb.minimize(prob, None, None, max_iter=10)
    assert lb.result.nit == 0 and prob.params[0] == 0.9995


def test_lbfgs_raises_when_the_parameters_run_off_to_infinity():
    # L = −10³⁰⁰·Σθ is unbounded below: the iterates overflow
    pytest.importorskip("scipy")

    class Unbounded:
        def __init__(self):
            self.params, self.grads = np.array([1.0, 0.5]), np.zeros(2)

        def loss_and_grads(self, x, y):
            self.grads[...] = -1e300
            return float(np.sum(-1e300 * self.params)), None

    with pytest.raises(tanul.protocol.TrainingDivergedError,
                       match=full("LBFGS: the parameters became non-finite; scale the inputs")):
        LBFGS().minimize(Unbounded(), None, None, max_iter=20)


def test_lbfgs_without_scipy_says_which_extra(monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "scipy.optimize", None)     # import fails
    with pytest.raises(ImportError, match=full("LBFGS needs SciPy: pip install 'tanul[optim]'")):
        LBFGS().minimize(Quadratic([1.0], [0.0], [1.0]), None, None, max_iter=1)


def test_defaults_and_keyword_arguments_reach_the_base_class():
    assert AdamW().amsgrad is False and AdamW().slots == ("m", "v")
    assert AdamW(clipnorm=2.0).clipnorm == 2.0 and Adam(clipvalue=1.0).clipvalue == 1.0
    assert AdaGrad(clipnorm=0.5).clipnorm == 0.5 and AdaDelta(clipvalue=0.25).clipvalue == 0.25
    assert RMSProp(clipnorm=3.0).clipnorm == 3.0 and SGD(clipvalue=4.0).clipvalue == 4.0
    s = StepDecay(0.1)
    assert (s.factor, s.step_size) == (0.5, 1000)


def test_centred_rmsprop_keeps_the_running_mean_of_the_gradient():
    # ḡ = ρ ḡ + (1 − ρ) g: 0.75·2 = 1.5, then 0.25·1.5 + 0.75·(−1) = −0.375
    p, g = np.zeros(1), np.array([2.0])
    opt = RMSProp(lr=0.1, rho=0.25, centered=True)
    opt.build(p, g)
    opt.step()
    np.testing.assert_allclose(opt.get_slot("grad_avg", "param"), [1.5])
    g[0] = -1.0
    opt.step()
    np.testing.assert_allclose(opt.get_slot("grad_avg", "param"), [-0.375])


def test_state_of_many_parameters_and_names_with_a_slash():
    names = ["enc/dense_0.W", "enc/dense_0.b", "dec/dense_1.W"]
    index = {n: (i, (1,)) for i, n in enumerate(names)}
    opt = Adam(lr=0.1)
    opt.build(np.zeros(3), np.ones(3), index)
    opt.step()
    state = opt.state_dict()
    assert sorted(state["slots"]) == sorted(f"{s}/{n}" for s in ("m", "v") for n in names)
    other = Adam(lr=0.1)
    other.build(np.zeros(3), np.zeros(3), index)
    other.load_state_dict(state)                 # "m/enc/dense_0.W": slot m, parameter enc/dense_0.W
    np.testing.assert_allclose(other.get_slot("m", "enc/dense_0.b"), [0.1])
    # at most five names of each kind in the message: six missing, six unexpected
    extra = {f"x/p{i}": np.zeros(1) for i in range(6)}
    with pytest.raises(ValueError, match=full(
            "Adam: optimiser state does not match the model; missing ['m/dec/dense_1.W', 'm/enc/dense_0.W', "
            "'m/enc/dense_0.b', 'v/dec/dense_1.W', 'v/enc/dense_0.W'], unexpected ['x/p0', 'x/p1', 'x/p2', "
            "'x/p3', 'x/p4']")):
        other.load_state_dict({"slots": extra})


def test_more_schedule_messages_and_get_edge_cases():
    for make, msg in [
        (lambda: ExponentialDecay(0, 10, 0.5), "ExponentialDecay: expected initial_lr > 0, got 0"),
        (lambda: CosineDecay(-1.0, 10), "CosineDecay: expected initial_lr > 0, got -1.0"),
    ]:
        with pytest.raises(ValueError, match=full(msg)):
            make()
    with pytest.raises(ValueError, match=full("unknown schedule ['StepDecay']; known: StepDecay, "
                                              "ExponentialDecay, CosineDecay")):
        schedules.get({"class_name": ["StepDecay"]})          # not a str (and not hashable)
    with pytest.raises(TypeError, match="initial_lr"):        # no config: the class's own error
        schedules.get({"class_name": "StepDecay"})


def test_a_user_optimiser_on_the_base_class():
    # the extension contract: slots and _update; lr defaults to 0.01; nothing attached before build
    from tanul.optimizers import Optimizer

    class SignSGD(Optimizer):
        slots = ("last",)

        def _update(self, p, g, lr):
            self._state["last"][...] = np.sign(g)
            p -= lr * np.sign(g)

    opt = SignSGD()
    assert opt.lr == 0.01 and opt.iterations == 0 and not opt.built
    assert opt.state_dict() == {"iterations": 0, "slots": {}}
    with pytest.raises(KeyError, match="SignSGD has no slot 'last'; slots: \\[\\]"):
        opt.get_slot("last", "param")
    p, g = np.array([1.0, 1.0, 1.0]), np.array([0.5, -2.0, 0.0])
    opt.build(p, g)
    opt.step()
    np.testing.assert_allclose(p, [0.99, 1.01, 1.0])
    np.testing.assert_array_equal(opt.get_slot("last", "param"), [1.0, -1.0, 0.0])
    assert repr(opt) == "SignSGD(lr=0.01)" and opt.iterations == 1


def test_range_message_of_a_positive_bounded_value():
    from tanul.optimizers.base import _check_nonneg
    assert _check_nonneg("X", "a", 0.5, upper=1.0, positive=True) == 0.5
    with pytest.raises(ValueError, match=full("X: expected a in (0, 1.0), got a=0")):
        _check_nonneg("X", "a", 0, upper=1.0, positive=True)
    with pytest.raises(ValueError, match=full("X: expected a in (0, 2), got a=2")):
        _check_nonneg("X", "a", 2, upper=2, positive=True)
