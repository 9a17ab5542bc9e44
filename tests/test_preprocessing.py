"""Scalers against scikit-learn; splits, one-hot and batches by their definitions."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from tanul.preprocessing import (
    MinMaxScaler,
    StandardScaler,
    batches,
    one_hot,
    train_test_split,
    train_val_test_split,
)

skp = pytest.importorskip("sklearn.preprocessing")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_standard_scaler_matches_sklearn(seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(3, 5, (50, 4)) * rng.uniform(0.01, 100, 4)
    x[:, 2] = 7.25  # constant column
    x_new = rng.normal(0, 10, (9, 4))
    ours, ref = StandardScaler().fit(x), skp.StandardScaler().fit(x)
    np.testing.assert_allclose(ours.mean_, ref.mean_)
    np.testing.assert_allclose(ours.scale_, ref.scale_)
    np.testing.assert_allclose(ours.transform(x_new), ref.transform(x_new), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ours.inverse_transform(x_new), ref.inverse_transform(x_new), rtol=1e-12)
    assert np.isfinite(ours.transform(x)).all()


@pytest.mark.parametrize("rng_", [(0.0, 1.0), (-1.0, 1.0), (2.0, 5.0)])
def test_minmax_scaler_matches_sklearn(rng_):
    rng = np.random.default_rng(5)
    x = rng.uniform(-3, 9, (40, 3))
    x[:, 1] = -2.0
    x_new = rng.uniform(-10, 10, (7, 3))
    ours, ref = MinMaxScaler(rng_).fit(x), skp.MinMaxScaler(feature_range=rng_).fit(x)
    np.testing.assert_allclose(ours.transform(x_new), ref.transform(x_new), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ours.inverse_transform(x_new), ref.inverse_transform(x_new), rtol=1e-12)


def test_one_dimensional_targets_keep_their_shape_and_float32():
    y = np.array([10.0, 20.0, 30.0], np.float32)
    s = StandardScaler().fit(y)
    z = s.transform(y)
    assert z.shape == (3,) and z.dtype == np.float32
    np.testing.assert_allclose(s.inverse_transform(z), y, rtol=1e-6)


def test_scaler_errors():
    with pytest.raises(RuntimeError, match="fit"):
        StandardScaler().transform([[1.0]])
    s = StandardScaler().fit(np.ones((3, 2)))
    with pytest.raises(ValueError, match="fitted on 2 features, got 3"):
        s.transform(np.ones((3, 3)))
    with pytest.raises(ValueError, match=r"column\(s\) \[1\]"):
        StandardScaler().fit([[1.0, np.nan], [2.0, 3.0]])
    with pytest.raises(ValueError, match="min < max"):
        MinMaxScaler((1, 0))


def test_scaler_state_round_trip_is_json():
    import json
    s = StandardScaler().fit(np.random.default_rng(0).normal(size=(20, 3)))
    state = json.loads(json.dumps(s.get_state()))
    t = StandardScaler().set_state(state)
    x = np.random.default_rng(1).normal(size=(4, 3))
    np.testing.assert_array_equal(s.transform(x), t.transform(x))
    assert "fitted on 3 features" in repr(s)


@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(2, 20), st.integers(1, 4)),
              elements=st.floats(-1e6, 1e6)))
def test_inverse_transform_undoes_transform(x):
    for scaler in (StandardScaler(), MinMaxScaler((-1, 1))):
        z = scaler.fit_transform(x)
        np.testing.assert_allclose(scaler.inverse_transform(z), x, rtol=1e-7, atol=1e-6 * (1 + np.abs(x).max()))


def test_train_test_split_partitions_and_is_seeded():
    x, y = np.arange(100).reshape(50, 2), np.arange(50)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.2, seed=1)
    assert len(y_te) == 10 and len(y_tr) == 40
    assert sorted(np.concatenate([y_tr, y_te]).tolist()) == list(range(50))
    np.testing.assert_array_equal(x_te[:, 0] // 2, y_te)  # rows stay aligned
    again = train_test_split(x, y, test_size=0.2, seed=1)
    np.testing.assert_array_equal(again[3], y_te)
    other = train_test_split(x, y, test_size=0.2, seed=2)
    assert not np.array_equal(other[3], y_te)


def test_stratified_split_keeps_proportions():
    y = np.array([0] * 60 + [1] * 30 + [2] * 10)
    rng = np.random.default_rng(0)
    y = y[rng.permutation(100)]
    _, _, y_tr, y_te = train_test_split(np.zeros((100, 1)), y, test_size=0.3, stratify=y, seed=0)
    assert np.bincount(y_te).tolist() == [18, 9, 3]
    assert np.bincount(y_tr).tolist() == [42, 21, 7]
    parts = train_val_test_split(y, val_size=0.2, test_size=0.2, stratify=y, seed=0)
    assert [np.bincount(p).tolist() for p in parts] == [[36, 18, 6], [12, 6, 2], [12, 6, 2]]


def test_time_ordered_split_keeps_order():
    t = np.arange(20)
    tr, va, te = train_val_test_split(t, val_size=0.25, test_size=0.25, shuffle=False)
    assert tr.tolist() == list(range(10)) and va.tolist() == list(range(10, 15))
    assert te.tolist() == list(range(15, 20))


def test_split_errors():
    with pytest.raises(ValueError, match="same length"):
        train_test_split(np.zeros(5), np.zeros(4))
    with pytest.raises(ValueError, match="fraction in"):
        train_test_split(np.zeros(5), test_size=1.5)
    with pytest.raises(ValueError, match="leave no training"):
        train_val_test_split(np.zeros(5), val_size=2, test_size=3)


def test_one_hot_and_batches():
    np.testing.assert_array_equal(one_hot([1, 0, 2]), np.eye(3, dtype=np.float32)[[1, 0, 2]])
    with pytest.raises(ValueError, match="out of range"):
        one_hot([0, 3], num_classes=3)
    with pytest.raises(ValueError, match=">= 0"):
        one_hot([-1, 0])
    x, y = np.arange(10), np.arange(10) * 10
    got = list(batches(x, y, batch_size=4, shuffle=True, seed=0))
    assert [len(b[0]) for b in got] == [4, 4, 2]
    assert sorted(np.concatenate([b[0] for b in got]).tolist()) == list(range(10))
    assert all(np.array_equal(b[0] * 10, b[1]) for b in got)
    assert [len(b[0]) for b in batches(x, batch_size=4, drop_last=True)] == [4, 4]
    with pytest.raises(ValueError, match="batch_size"):
        list(batches(x, batch_size=0))


# ---------------------------------------------------------------- issue 18: the flaky property
@pytest.mark.parametrize("tiny", [2.2e-311, 1e-300, 1e-16])
def test_minmax_near_zero_range_counts_as_constant_like_sklearn(tiny):
    # hypothesis found [[0], [2.2e-311]]: dividing by a subnormal range overflowed (RuntimeWarning,
    # an error under the suite's filter). scikit-learn treats ranges below 10*eps as zero.
    x = np.array([[0.0, 1.0], [tiny, 3.0]])
    ours, ref = MinMaxScaler((-1, 1)).fit(x), skp.MinMaxScaler(feature_range=(-1, 1)).fit(x)
    np.testing.assert_array_equal(ours.scale_, ref.scale_)
    np.testing.assert_array_equal(ours.transform(x), ref.transform(x))
    z = ours.transform(x)
    np.testing.assert_array_equal(ours.inverse_transform(z), ref.inverse_transform(z))
    np.testing.assert_allclose(ours.inverse_transform(z), x, rtol=1e-12, atol=1e-15)


def test_minmax_range_just_above_threshold_is_scaled_like_sklearn():
    x = np.array([[0.0], [1e-14]])  # 1e-14 > 10 * eps = 2.2e-15: a real range
    ours, ref = MinMaxScaler().fit(x), skp.MinMaxScaler().fit(x)
    np.testing.assert_allclose(ours.scale_, ref.scale_, rtol=1e-12)
    assert ours.transform(x).ravel().tolist() == [0.0, 1.0]


# ------------------------------------------------- issue 18: split sizes (scikit-learn's rule)
def test_test_size_fraction_rounds_up_as_documented():
    # 10 samples at 0.25 is 2.5 test samples: rounded up to 3 (round() or floor would give 2)
    _, te = train_test_split(np.arange(10), test_size=0.25, seed=0)
    assert len(te) == 3
    tr, va, te = train_val_test_split(np.arange(10), val_size=0.25, test_size=0.15, seed=0)
    assert (len(tr), len(va), len(te)) == (5, 3, 2)  # ceil(2.5) = 3, ceil(1.5) = 2


def test_test_size_matches_sklearn_over_a_grid():
    skms = pytest.importorskip("sklearn.model_selection")
    for n in range(4, 41):
        for frac in (0.1, 0.15, 0.2, 0.25, 0.3, 1 / 3, 0.5, 0.7):
            _, te = train_test_split(np.arange(n), test_size=frac, seed=0)
            _, ref = skms.train_test_split(np.arange(n), test_size=frac, random_state=0)
            assert len(te) == len(ref), (n, frac)


def test_stratified_split_allocates_fractional_shares_by_largest_remainder():
    # classes of 7, 2 and 1 samples, 3 test samples: exact test shares 2.1, 0.6, 0.3. Whole parts
    # first (2, 0, 0), the one left over goes to the largest remainder (0.6: class 1) -> (2, 1, 0),
    # and training keeps (5, 1, 1).
    y = np.array([0] * 7 + [1] * 2 + [2])
    for seed in range(5):
        _, _, y_tr, y_te = train_test_split(np.zeros((10, 1)), y, test_size=0.3, stratify=y, seed=seed)
        assert np.bincount(y_te, minlength=3).tolist() == [2, 1, 0]
        assert np.bincount(y_tr, minlength=3).tolist() == [5, 1, 1]
    # 5, 3, 2 samples into halves: training shares 2.5, 1.5, 1.0; one extra sample, remainders tie
    # (0.5, 0.5): the first class in label order takes it -> training (3, 1, 1), test (2, 2, 1)
    y = np.array([2, 0, 1, 0, 2, 0, 1, 0, 1, 0])
    _, _, y_tr, y_te = train_test_split(np.zeros((10, 1)), y, test_size=0.5, stratify=y, seed=3)
    assert np.bincount(y_tr).tolist() == [3, 1, 1] and np.bincount(y_te).tolist() == [2, 2, 1]


def test_stratified_three_way_split_with_fractional_shares():
    # 6, 3, 1 samples; parts of 6, 2, 2 (n=10, val 0.2, test 0.2).
    # training: exact 3.6, 1.8, 0.6 -> whole (3, 1, 0), 2 left: remainders .8 (class 1), .6, .6
    # (tie: class 0 before 2) -> (4, 2, 0). validation: exact 1.2, .6, .2 -> (1, 0, 0), 1 left to
    # class 1 -> (1, 1, 0). test: what is left, (1, 0, 1).
    y = np.array([0] * 6 + [1] * 3 + [2])
    tr, va, te = train_val_test_split(y, val_size=0.2, test_size=0.2, stratify=y, seed=0)
    assert [np.bincount(p, minlength=3).tolist() for p in (tr, va, te)] == [[4, 2, 0], [1, 1, 0], [1, 0, 1]]
    assert sorted(np.concatenate([tr, va, te]).tolist()) == sorted(y.tolist())


def test_minmax_scaler_treats_a_subnormal_range_as_constant():
    """Found by hypothesis: a range of 2e-313 overflowed (hi - lo) / range to inf."""
    x = np.array([[2.22507386e-313], [0.0]])
    s = MinMaxScaler((-1, 1))
    z = s.fit_transform(x)               # RuntimeWarnings are errors in this suite
    assert np.isfinite(z).all() and s.scale_[0] == 2.0
    np.testing.assert_allclose(s.inverse_transform(z), x, atol=1e-300)
