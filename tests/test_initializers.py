"""Initialisers: sample statistics against the formulas written here, bounds, fans, registry."""

import math

import numpy as np
import pytest

from tanul import initializers
from tanul.initializers import (
    Constant,
    GlorotNormal,
    GlorotUniform,
    HeNormal,
    HeUniform,
    LecunNormal,
    Ones,
    RandomNormal,
    RandomUniform,
    Zeros,
    compute_fans,
)

FAN_IN, FAN_OUT = 300, 500          # 150,000 draws: the sample variance is within ~1 % of the truth
SHAPE = (FAN_IN, FAN_OUT)

# variance each scheme is designed to have (Glorot & Bengio 2010; He et al. 2015; LeCun et al. 1998)
EXPECTED_VAR = {
    "glorot_normal": 2.0 / (FAN_IN + FAN_OUT),
    "glorot_uniform": 2.0 / (FAN_IN + FAN_OUT),       # U(−a, a) with a = √(6/(in+out)): a²/3
    "he_normal": 2.0 / FAN_IN,
    "he_uniform": 2.0 / FAN_IN,                        # a = √(6/in): a²/3 = 2/in
    "lecun_normal": 1.0 / FAN_IN,
}
UNIFORM_BOUND = {
    "glorot_uniform": math.sqrt(6.0 / (FAN_IN + FAN_OUT)),
    "he_uniform": math.sqrt(6.0 / FAN_IN),
}


@pytest.mark.parametrize("name", sorted(EXPECTED_VAR))
def test_variance_matches_formula(name):
    w = initializers.get(name)(SHAPE, np.random.default_rng(0), np.float64)
    assert w.shape == SHAPE
    assert abs(w.mean()) < 4 * math.sqrt(EXPECTED_VAR[name] / w.size)
    assert w.var() == pytest.approx(EXPECTED_VAR[name], rel=0.03)


@pytest.mark.parametrize("name", sorted(UNIFORM_BOUND))
def test_uniform_bounds(name):
    a = UNIFORM_BOUND[name]
    w = initializers.get(name)(SHAPE, np.random.default_rng(1), np.float64)
    assert np.abs(w).max() <= a
    assert np.abs(w).max() > 0.99 * a                      # the whole interval is used
    # roughly flat: each tenth of [−a, a] holds about 10 % of the draws
    hist, _ = np.histogram(w, bins=10, range=(-a, a))
    np.testing.assert_allclose(hist / w.size, 0.1, atol=0.01)


@pytest.mark.parametrize("name", ["glorot_normal", "he_normal", "lecun_normal"])
def test_normals_are_not_truncated(name):
    # a plain normal puts ~0.27 % of draws beyond 3σ; a truncated one (Keras) puts none beyond 2σ
    w = initializers.get(name)(SHAPE, np.random.default_rng(2), np.float64)
    sigma = math.sqrt(EXPECTED_VAR[name])
    beyond = (np.abs(w) > 3 * sigma).mean()
    assert 0.0015 < beyond < 0.004


def test_conv_kernel_fans():
    # (C_out, C_in, kH, kW) = (8, 3, 5, 5): fan_in = 3·25 = 75, fan_out = 8·25 = 200
    assert compute_fans((8, 3, 5, 5)) == (75, 200)
    assert compute_fans((4, 6)) == (4, 6)
    assert compute_fans((7,)) == (7, 7)
    w = HeNormal()((64, 16, 3, 3), np.random.default_rng(0), np.float64)
    assert w.var() == pytest.approx(2.0 / (16 * 9), rel=0.03)


def test_zeros_ones_constant():
    rng = np.random.default_rng(0)
    assert not Zeros()((3, 2), rng).any()
    np.testing.assert_array_equal(Ones()((2,), rng), [1.0, 1.0])
    np.testing.assert_array_equal(Constant(0.7)((2, 2), rng, np.float64), np.full((2, 2), 0.7))


def test_random_normal_and_uniform_parameters():
    rng = np.random.default_rng(3)
    w = RandomNormal(mean=1.0, stddev=0.5)((400, 400), rng, np.float64)
    assert w.mean() == pytest.approx(1.0, abs=0.005) and w.std() == pytest.approx(0.5, rel=0.01)
    u = RandomUniform(-0.2, 0.6)((400, 400), rng, np.float64)
    assert u.min() >= -0.2 and u.max() <= 0.6
    assert u.mean() == pytest.approx(0.2, abs=0.005)
    assert u.var() == pytest.approx(0.8 ** 2 / 12, rel=0.02)        # (b − a)²/12


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype(dtype):
    assert GlorotUniform()((3, 4), np.random.default_rng(0), dtype).dtype == dtype


def test_default_dtype_is_float32():
    assert HeUniform()((3, 4), np.random.default_rng(0)).dtype == np.float32


def test_same_seed_same_weights():
    a = GlorotNormal()((5, 5), np.random.default_rng(9))
    b = GlorotNormal()((5, 5), np.random.default_rng(9))
    c = GlorotNormal()((5, 5), np.random.default_rng(10))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("name,cls", [
    ("zeros", Zeros), ("ones", Ones), ("constant", Constant), ("random_normal", RandomNormal),
    ("random_uniform", RandomUniform), ("glorot_normal", GlorotNormal), ("glorot_uniform", GlorotUniform),
    ("xavier_uniform", GlorotUniform), ("he_normal", HeNormal), ("he_uniform", HeUniform),
    ("kaiming_normal", HeNormal), ("lecun_normal", LecunNormal), ("He_Normal", HeNormal),
])
def test_get_by_name(name, cls):
    assert type(initializers.get(name)) is cls


def test_get_object_and_config_dict():
    init = RandomNormal(0.0, 0.1)
    assert initializers.get(init) is init
    clone = initializers.get(initializers.serialize(init))
    assert clone == init and clone is not init
    assert initializers.get({"class_name": "Constant", "config": {"value": 3.0}}) == Constant(3.0)


def test_unknown_name_lists_known():
    with pytest.raises(ValueError, match="Unknown initializer 'glorot'.*glorot_normal.*he_normal"):
        initializers.get("glorot")
    with pytest.raises(ValueError, match="Unknown initializer class 'Orthogonal'"):
        initializers.get({"class_name": "Orthogonal", "config": {}})
    with pytest.raises(TypeError, match="initializer name"):
        initializers.get(0.1)


def test_bad_arguments():
    with pytest.raises(ValueError, match="RandomNormal: expected stddev >= 0"):
        RandomNormal(stddev=-1.0)
    with pytest.raises(ValueError, match="RandomUniform: expected minval <= maxval"):
        RandomUniform(1.0, 0.0)


def test_repr():
    assert repr(HeNormal()) == "HeNormal()"
    assert repr(RandomUniform(-0.1, 0.1)) == "RandomUniform(minval=-0.1, maxval=0.1)"
    assert repr(Constant(2)) == "Constant(value=2.0)"


def test_by_name_in_dense():
    from tanul.layers.dense import Dense
    layer = Dense(FAN_OUT, kernel_initializer="he_uniform")
    layer.build((FAN_IN,), np.random.default_rng(0), np.float64)
    assert np.abs(layer.params["W"]).max() <= UNIFORM_BOUND["he_uniform"]
    assert layer.params["W"].var() == pytest.approx(EXPECTED_VAR["he_uniform"], rel=0.03)
