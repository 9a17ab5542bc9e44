"""one_hot, batches and every scaler entry point's messages (mutation testing: each method passes
its own name to the checks; only fit's name was pinned)."""

import numpy as np
import pytest

from tanul.preprocessing import MinMaxScaler, StandardScaler, batches, one_hot


@pytest.mark.parametrize("cls", [StandardScaler, MinMaxScaler])
@pytest.mark.parametrize("method", ["transform", "inverse_transform"])
def test_every_entry_point_names_itself(cls, method):
    name = f"{cls.__name__}.{method}"
    with pytest.raises(RuntimeError) as exc:
        getattr(cls(), method)([[1.0]])
    assert str(exc.value) == f"{name}: call fit() first (on the training data)"
    s = cls().fit(np.arange(6.0).reshape(3, 2))
    with pytest.raises(ValueError) as exc:
        getattr(s, method)(np.ones((2, 3)))
    assert str(exc.value) == f"{name}: fitted on 2 features, got 3"
    with pytest.raises(TypeError) as exc:
        getattr(s, method)(np.array([["a", "b"]]))
    assert str(exc.value) == f"{name}: expected a numeric array, got dtype <U1"
    assert getattr(s, method)(np.array([[1, 2]])).dtype == np.float64  # integers: float64 out
    assert getattr(s, method)(np.array([[1, 2]], np.float32)).dtype == np.float32


def test_one_hot_labels_and_messages():
    np.testing.assert_array_equal(one_hot(np.array([2.0, 0.0])), [[0, 0, 1], [1, 0, 0]])  # integral floats
    assert one_hot([1, 0]).dtype == np.float32 and one_hot([1], dtype="int64").dtype == np.int64
    assert one_hot([], num_classes=3).shape == (0, 3) and one_hot([]).shape == (0, 0)
    assert one_hot([0, 1], num_classes=4).shape == (2, 4)
    for bad, error, message in [
        ([[0, 1]], ValueError, "one_hot: expected labels of shape (N,), got shape (1, 2)"),
        ([0.5, 1.0], TypeError, "one_hot: expected integer labels, got dtype float64"),
        (["a"], TypeError, "one_hot: expected integer labels, got dtype <U1"),
        ([-1, 0], ValueError, "one_hot: labels must be >= 0, got minimum -1"),
    ]:
        with pytest.raises(error) as exc:
            one_hot(bad)
        assert str(exc.value) == message
    with pytest.raises(ValueError) as exc:
        one_hot([0, 3], num_classes=3)
    assert str(exc.value) == "one_hot: label 3 is out of range for num_classes=3"


def test_batches_order_seed_sizes_and_messages():
    x = np.arange(7)
    assert [b[0].tolist() for b in batches(x, batch_size=3)] == [[0, 1, 2], [3, 4, 5], [6]]  # no shuffle by default
    assert [b[0].tolist() for b in batches(x, batch_size=1)][:2] == [[0], [1]]  # batch_size 1 is fine
    a = [b[0].tolist() for b in batches(x, batch_size=3, shuffle=True, seed=4)]
    assert a == [b[0].tolist() for b in batches(x, batch_size=3, shuffle=True, seed=4)]
    assert a != [b[0].tolist() for b in batches(x, batch_size=3, shuffle=True, seed=5)]
    assert sorted(sum(a, [])) == list(range(7)) and a != [[0, 1, 2], [3, 4, 5], [6]]
    assert [len(b[0]) for b in batches(x, batch_size=3, drop_last=True)] == [3, 3]
    assert [b[0].tolist() for b in batches(np.array([9]), batch_size=2)] == [[9]]  # one sample
    with pytest.raises(ValueError) as exc:
        list(batches(x, np.arange(6), batch_size=2))
    assert str(exc.value) == "batches: all arrays must have the same length, got lengths [7, 6]"
    for bad in (0, True, 2.0):
        with pytest.raises(ValueError) as exc:
            list(batches(x, batch_size=bad))
        assert str(exc.value) == f"batches: expected batch_size to be a positive int, got {bad!r}"


@pytest.mark.parametrize("cls", [StandardScaler, MinMaxScaler])
def test_fit_names_itself(cls):
    with pytest.raises(TypeError) as exc:
        cls().fit(np.array([["a", "b"]]))
    assert str(exc.value) == f"{cls.__name__}.fit: expected a numeric array, got dtype <U1"
    with pytest.raises(ValueError) as exc:
        cls().fit(np.array([[1.0, np.nan]]))
    assert str(exc.value) == (f"{cls.__name__}.fit: found NaN or infinite values in column(s) [1]; "
                              "clean or impute them first")


def test_three_way_split_and_batches_messages():
    from tanul.preprocessing import train_val_test_split

    for call, message in [
        (lambda: train_val_test_split(np.zeros(5), val_size=1.5),
         "train_val_test_split: expected val_size as a fraction in [0, 1), got 1.5"),
        (lambda: train_val_test_split(np.zeros(5), test_size=7),
         "train_val_test_split: expected test_size as a count in [0, 5), got 7"),
        (lambda: train_val_test_split(np.zeros(1)), "train_val_test_split: expected at least 2 samples, got 1"),
        (lambda: list(batches(np.arange(2), np.arange(3), batch_size=1)),  # checked from 2 samples on
         "batches: all arrays must have the same length, got lengths [2, 3]"),
    ]:
        with pytest.raises(ValueError) as exc:
            call()
        assert str(exc.value) == message
