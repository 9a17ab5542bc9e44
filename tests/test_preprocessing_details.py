"""Scalers' validation, state, repr and options against scikit-learn (mutation testing found them
unpinned: every message, with_mean / with_std, the constant-column threshold, set_state)."""

import json

import numpy as np
import pytest

from tanul.preprocessing import MinMaxScaler, StandardScaler

skp = pytest.importorskip("sklearn.preprocessing")


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda: StandardScaler().fit(np.array([["a"], ["b"]])), TypeError,
     "StandardScaler.fit: expected a numeric array, got dtype <U1"),
    (lambda: StandardScaler().fit(np.zeros((2, 2, 2))), ValueError,
     "StandardScaler.fit: expected an array of shape (N, F) or (N,), got shape (2, 2, 2)"),
    (lambda: StandardScaler().fit(np.zeros((0, 2))), ValueError,
     "StandardScaler.fit: expected at least one sample, got shape (0, 2)"),
    (lambda: StandardScaler().fit(np.full((2, 12), np.nan)), ValueError,  # first 10 columns named
     "StandardScaler.fit: found NaN or infinite values in column(s) [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]; "
     "clean or impute them first"),
    (lambda: MinMaxScaler().fit([[1.0, np.inf], [2.0, 3.0]]), ValueError,
     "MinMaxScaler.fit: found NaN or infinite values in column(s) [1]; clean or impute them first"),
    (lambda: MinMaxScaler().transform([[1.0]]), RuntimeError,
     "MinMaxScaler.transform: call fit() first (on the training data)"),
    (lambda: StandardScaler().fit(np.ones((3, 2))).transform(np.ones((2, 3))), ValueError,
     "StandardScaler.transform: fitted on 2 features, got 3"),
    (lambda: MinMaxScaler().fit(np.ones((3, 2))).inverse_transform(np.ones((2, 1))), ValueError,
     "MinMaxScaler.inverse_transform: fitted on 2 features, got 1"),
])
def test_messages(call, error, message):
    with pytest.raises(error) as exc:
        call()
    assert str(exc.value) == message


def test_one_sample_and_one_dimensional_inputs():
    s = StandardScaler().fit([[1.0, 2.0]])  # a single sample is allowed: every column constant
    np.testing.assert_array_equal(s.scale_, [1.0, 1.0])
    y = np.array([1.0, 2.0, 4.0])
    z = MinMaxScaler().fit_transform(y)
    assert z.shape == (3,) and z.tolist() == [0.0, 1 / 3, 1.0]


def test_integer_input_gives_float64_output():
    x = np.array([[1, 2], [3, 6]])
    for s in (StandardScaler(), MinMaxScaler()):
        z = s.fit_transform(x)
        assert z.dtype == np.float64
        assert s.inverse_transform(z).dtype == np.float64
    assert StandardScaler().fit_transform(x.astype(np.float32)).dtype == np.float32


@pytest.mark.parametrize(("with_mean", "with_std"), [(False, True), (True, False), (False, False)])
def test_with_mean_and_with_std_match_sklearn(with_mean, with_std):
    x = np.random.default_rng(3).normal(5, 3, (30, 3))
    ours = StandardScaler(with_mean=with_mean, with_std=with_std).fit(x)
    ref = skp.StandardScaler(with_mean=with_mean, with_std=with_std).fit(x)
    np.testing.assert_allclose(ours.transform(x), ref.transform(x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ours.inverse_transform(ours.transform(x)), x, rtol=1e-12)
    assert repr(ours) == f"StandardScaler(with_mean={with_mean}, with_std={with_std})  # fitted on 3 features"


def test_constant_column_threshold_counts_samples_like_sklearn():
    # a column at 1e10 with a spread of 3e-5: variance 1e-9 lies between (F·mean·eps)² ≈ 2e-11
    # and (N·mean·eps)² ≈ 5e-8, so only the rule with N = 100 samples calls it constant
    rng = np.random.default_rng(0)
    x = np.column_stack([1e10 + rng.normal(0, 3e-5, 100), rng.normal(size=100)])
    ours, ref = StandardScaler().fit(x), skp.StandardScaler().fit(x)
    np.testing.assert_allclose(ours.scale_, ref.scale_, rtol=1e-9)
    assert ours.scale_[0] == 1.0


def test_state_round_trip_through_json_restores_arrays():
    x = np.random.default_rng(4).normal(size=(10, 2))
    for s in (StandardScaler(with_mean=False), MinMaxScaler((-1, 2))):
        s.fit(x)
        state = json.loads(json.dumps(s.get_state()))
        assert state["class_name"] == type(s).__name__
        assert state["config"] == json.loads(json.dumps(s.get_config()))
        t = type(s)(**state["config"]).set_state(state)
        assert isinstance(t.scale_, np.ndarray) and t.scale_.dtype == np.float64
        np.testing.assert_array_equal(t.transform(x), s.transform(x))
        assert repr(t) == repr(s) and repr(type(s)()).endswith(")")  # unfitted: no "# fitted" note
    assert repr(MinMaxScaler((-1, 2))) == "MinMaxScaler(feature_range=(-1.0, 2.0))"


# ------------------------------------------------------------------ splits: arguments
from tanul.preprocessing import train_test_split, train_val_test_split  # noqa: E402


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda: train_test_split(), ValueError, "train_test_split: expected at least one array"),
    (lambda: train_test_split(np.zeros(1)), ValueError, "train_test_split: expected at least 2 samples, got 1"),
    (lambda: train_test_split(np.zeros(5), test_size=True), TypeError,
     "train_test_split: test_size must be a float fraction or an int count, got True"),
    (lambda: train_test_split(np.zeros(5), test_size="a"), TypeError,
     "train_test_split: test_size must be a float fraction or an int count, got 'a'"),
    (lambda: train_test_split(np.zeros(5), test_size=1.0), ValueError,
     "train_test_split: expected test_size as a fraction in [0, 1), got 1.0"),
    (lambda: train_test_split(np.zeros(5), test_size=5), ValueError,
     "train_test_split: expected test_size as a count in [0, 5), got 5"),
    (lambda: train_test_split(np.zeros(5), test_size=0.0), ValueError,
     "train_test_split: test_size=0.0 leaves no test samples out of 5"),
    (lambda: MinMaxScaler((1, 1)), ValueError,
     "MinMaxScaler: expected feature_range (min, max) with min < max, got (1, 1)"),
])
def test_split_and_range_messages(call, error, message):
    with pytest.raises(error) as exc:
        call()
    assert str(exc.value) == message


def test_smallest_valid_sizes():
    assert [len(p) for p in train_test_split(np.arange(2), test_size=1)] == [1, 1]  # 2 samples suffice
    assert [len(p) for p in train_test_split(np.arange(3), test_size=0.01)] == [2, 1]  # ceil(0.03) = 1
    # an empty validation part is allowed, as a fraction 0.0 or a count 0
    assert [len(p) for p in train_val_test_split(np.arange(5), val_size=0.0, test_size=1)] == [4, 0, 1]
    assert [len(p) for p in train_val_test_split(np.arange(5), val_size=0, test_size=3)] == [2, 0, 3]
    assert [len(p) for p in train_val_test_split(np.arange(5), val_size=4 - 1, test_size=1)] == [1, 3, 1]


@pytest.mark.parametrize("k", [10.0, 10.5, 12.0])
def test_minmax_threshold_boundary_like_sklearn(k):
    # a range of exactly 10·eps or a little above is a real range for scikit-learn (strict <)
    x = np.array([[0.0], [k * np.finfo(np.float64).eps]])
    ours, ref = MinMaxScaler().fit(x), skp.MinMaxScaler().fit(x)
    np.testing.assert_allclose(ours.scale_, ref.scale_, rtol=1e-12)
    assert ours.transform(x).ravel().tolist() == [0.0, 1.0]


def test_minmax_one_dimensional_transform_and_inverse_keep_the_shape():
    s = MinMaxScaler((-1, 1)).fit(np.array([2.0, 4.0, 6.0]))
    z = s.transform(np.array([3.0, 5.0]))
    assert z.shape == (2,) and z.tolist() == [-0.5, 0.5]
    back = s.inverse_transform(z)
    assert back.shape == (2,) and back.tolist() == [3.0, 5.0]


@pytest.mark.parametrize(("call", "message"), [
    (lambda: train_test_split(np.arange(10), stratify=np.array([0] * 9 + [1]), shuffle=False),
     "train_test_split: stratify needs shuffle=True"),
    (lambda: train_test_split(np.arange(10), stratify=np.zeros(5)), "train_test_split: stratify has 5 labels for 10 samples"),
    (lambda: train_val_test_split(np.arange(10), val_size=0.45, test_size=0.45),
     "train_val_test_split: val_size=0.45 and test_size=0.45 leave no training samples out of 10"),
    # three classes of one sample each into three parts of one: the largest-remainder allocation
    # of the first two parts takes more members of a class than it has
    (lambda: train_val_test_split(np.arange(3), val_size=1, test_size=1, stratify=np.arange(3), seed=0),
     "stratify: a class has too few members for the requested split sizes"),
])
def test_stratify_messages(call, message):
    with pytest.raises(ValueError) as exc:
        call()
    assert str(exc.value) == message


def test_default_sizes():
    assert [len(p) for p in train_test_split(np.arange(20))] == [15, 5]  # test_size=0.25
    assert [len(p) for p in train_val_test_split(np.arange(20))] == [14, 3, 3]  # 0.15 each, rounded up


def test_three_way_splits_are_seeded_partitions_of_the_indices():
    idx = np.arange(30)
    y = np.array([0] * 15 + [1] * 9 + [2] * 6)
    for stratify in (None, y):
        a = train_val_test_split(idx, val_size=0.2, test_size=0.3, stratify=stratify, seed=7)
        b = train_val_test_split(idx, val_size=0.2, test_size=0.3, stratify=stratify, seed=7)
        c = train_val_test_split(idx, val_size=0.2, test_size=0.3, stratify=stratify, seed=8)
        assert all(np.array_equal(p, q) for p, q in zip(a, b, strict=True))  # same seed, same split
        assert not all(np.array_equal(p, q) for p, q in zip(a, c, strict=True))
        assert sorted(np.concatenate(a).tolist()) == list(range(30))  # every index exactly once


def test_lists_are_split_like_arrays():
    x = [[i, -i] for i in range(8)]
    labels = list("abcdefgh")
    x_tr, x_te, l_tr, l_te = train_test_split(x, labels, test_size=2, seed=0)
    assert x_tr.shape == (6, 2) and l_te.shape == (2,)
    assert [labels[row[0]] for row in x_te] == l_te.tolist()  # rows stay aligned
