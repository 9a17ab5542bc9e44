"""Losses: values worked by hand or by scikit-learn, float64 gradient checks, stability, errors."""

import math
import warnings

import numpy as np
import pytest
from sklearn.metrics import log_loss, mean_absolute_error, mean_squared_error

from tanul import losses
from tanul.losses import BinaryCrossEntropy, CrossEntropy, MeanAbsoluteError, MeanSquaredError, Sum
from tanul.testing import check_loss

rng = np.random.default_rng(0)
PRED = rng.standard_normal((5, 3))
TARGET = rng.standard_normal((5, 3))
LABELS = np.array([0, 2, 1, 1, 0])
ONE_HOT = np.eye(3)[LABELS]


def log_softmax_by_hand(z):
    """log softmax row by row with the max subtracted, written independently of tanul."""
    out = np.empty_like(z)
    for i, row in enumerate(z):
        m = max(row)
        lse = m + math.log(sum(math.exp(v - m) for v in row))
        out[i] = [v - lse for v in row]
    return out


# ------------------------------------------------------------------ mean squared error
def test_mse_half_sum_mean_convention_by_hand():
    y_pred = np.array([[1.0, 2.0], [3.0, 4.0]])
    y_true = np.array([[0.0, 0.0], [1.0, 1.0]])
    # sample 0: ½(1² + 2²) = 2.5;  sample 1: ½(2² + 3²) = 6.5;  mean over samples: 4.5
    loss = MeanSquaredError()
    assert loss(y_pred, y_true) == 4.5
    # ∂L/∂ŷ = (ŷ − y) / N
    np.testing.assert_allclose(loss.backward(), [[0.5, 1.0], [1.0, 1.5]])


def test_mse_is_k_over_2_times_sklearn():
    k = PRED.shape[1]
    assert MeanSquaredError()(PRED, TARGET) == pytest.approx(k / 2 * mean_squared_error(TARGET, PRED),
                                                             rel=1e-12)


def test_mse_one_dimensional_targets():
    # (N,) targets against (N, 1) outputs: ½ mean of squares
    assert MeanSquaredError()(np.array([[1.0], [3.0]]), np.array([0.0, 1.0])) == 1.25


# ------------------------------------------------------------------ mean absolute error
def test_mae_by_hand_and_sklearn():
    y_pred = np.array([[1.0, -2.0], [0.5, 4.0]])
    y_true = np.array([[0.0, 0.0], [1.0, 1.0]])
    loss = MeanAbsoluteError()
    assert loss(y_pred, y_true) == (1 + 2 + 0.5 + 3) / 4
    np.testing.assert_allclose(loss.backward(), [[0.25, -0.25], [-0.25, 0.25]])   # sign / (N K)
    assert MeanAbsoluteError()(PRED, TARGET) == pytest.approx(mean_absolute_error(TARGET, PRED))


# ------------------------------------------------------------------ cross-entropy
def test_cross_entropy_int_labels_vs_formula():
    expected = -np.mean(log_softmax_by_hand(PRED)[np.arange(5), LABELS])
    assert CrossEntropy()(PRED, LABELS) == pytest.approx(expected, rel=1e-12)


def test_cross_entropy_matches_sklearn_log_loss():
    p = np.exp(log_softmax_by_hand(PRED))
    assert CrossEntropy()(PRED, LABELS) == pytest.approx(log_loss(LABELS, p, labels=[0, 1, 2]),
                                                         rel=1e-10)


def test_cross_entropy_one_hot_equals_int_labels():
    a, b = CrossEntropy(), CrossEntropy()
    assert a(PRED, LABELS) == pytest.approx(b(PRED, ONE_HOT), rel=1e-14)
    np.testing.assert_allclose(a.backward(), b.backward(), rtol=1e-14)


def test_cross_entropy_gradient_is_p_minus_y_over_n():
    loss = CrossEntropy()
    loss(PRED, LABELS)
    p = np.exp(log_softmax_by_hand(PRED))
    np.testing.assert_allclose(loss.backward(), (p - ONE_HOT) / 5, rtol=1e-12, atol=1e-15)


def test_cross_entropy_soft_targets():
    soft = np.array([[0.7, 0.2, 0.1]] * 5)
    expected = -np.mean((soft * log_softmax_by_hand(PRED)).sum(axis=1))
    assert CrossEntropy()(PRED, soft) == pytest.approx(expected, rel=1e-12)


def test_cross_entropy_huge_logits_are_finite():
    z = np.array([[1000.0, 0.0, -1000.0], [-1000.0, 1000.0, 0.0]])
    loss = CrossEntropy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = loss(z, np.array([1, 1]))
        grad = loss.backward()
    assert value == pytest.approx((1000.0 + 0.0) / 2)   # sample 0 has log p_1 = −1000, sample 1 log 1
    np.testing.assert_allclose(grad, [[0.5, -0.5, 0.0], [0.0, 0.0, 0.0]], atol=1e-300)


def test_cross_entropy_from_probabilities():
    p = np.exp(log_softmax_by_hand(PRED))
    loss = CrossEntropy(from_logits=False)
    assert loss(p, LABELS) == pytest.approx(CrossEntropy()(PRED, LABELS), rel=1e-12)
    np.testing.assert_allclose(loss.backward(), -ONE_HOT / (p * 5), rtol=1e-12)
    check_loss(CrossEntropy(from_logits=False), p, LABELS)


@pytest.mark.parametrize("bad,err,match", [
    (np.array([0, 3, 1, 1, 0]), ValueError, r"labels must be in \[0, 2\].*got label 3"),
    (np.array([0, -1, 1, 1, 0]), ValueError, "got label -1"),
    (np.array([0, 1, 1]), ValueError, "3 labels for 5 predictions"),
    (np.array([0.5, 1, 1, 1, 0]), ValueError, "integer class labels"),
    (np.zeros((5, 4)), ValueError, "Expect"),
    (np.array(["a", "b", "a", "a", "b"]), TypeError, "integer labels"),
])
def test_cross_entropy_bad_targets(bad, err, match):
    with pytest.raises(err, match=match):
        CrossEntropy()(PRED, bad)


# ------------------------------------------------------------------ binary cross-entropy
def bce_by_hand(z, y):
    return np.mean([-(t * math.log(1 / (1 + math.exp(-v))) + (1 - t) * math.log(1 - 1 / (1 + math.exp(-v))))
                    for v, t in zip(z.ravel(), y.ravel())])


def test_bce_matches_formula():
    z = rng.standard_normal((6, 2))
    y = rng.integers(0, 2, (6, 2)).astype(float)
    loss = BinaryCrossEntropy()
    assert loss(z, y) == pytest.approx(bce_by_hand(z, y), rel=1e-12)
    sig = 1 / (1 + np.exp(-z))
    np.testing.assert_allclose(loss.backward(), (sig - y) / 12, rtol=1e-12)


def test_bce_matches_sklearn_log_loss():
    z = rng.standard_normal(8)
    y = np.array([0, 1, 1, 0, 1, 0, 0, 1])
    p = 1 / (1 + np.exp(-z))
    assert BinaryCrossEntropy()(z[:, None], y) == pytest.approx(log_loss(y, p), rel=1e-10)


def test_bce_stable_for_logits_plus_minus_1000():
    z = np.array([[1000.0], [-1000.0], [1000.0], [-1000.0]])
    y = np.array([1, 0, 0, 1])
    loss = BinaryCrossEntropy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = loss(z, y)
        grad = loss.backward()
    # right with certainty costs 0, wrong with logit ±1000 costs 1000: mean (0 + 0 + 1000 + 1000)/4
    assert value == pytest.approx(500.0)
    np.testing.assert_allclose(grad, [[0.0], [0.0], [0.25], [-0.25]])


def test_bce_from_probabilities():
    z = rng.standard_normal((4, 1))
    y = np.array([[1.0], [0.0], [1.0], [0.0]])
    p = 1 / (1 + np.exp(-z))
    assert BinaryCrossEntropy(from_logits=False)(p, y) == pytest.approx(bce_by_hand(z, y), rel=1e-10)
    check_loss(BinaryCrossEntropy(from_logits=False), p, y)


def test_bce_targets_outside_unit_interval():
    with pytest.raises(ValueError, match=r"targets must lie in \[0, 1\]"):
        BinaryCrossEntropy()(np.zeros((2, 1)), np.array([0.0, 2.0]))


# ------------------------------------------------------------------ gradient checks
@pytest.mark.parametrize("loss,y_pred,y_true", [
    (MeanSquaredError(), PRED, TARGET),
    (MeanAbsoluteError(), PRED, TARGET),            # random normal: no difference is exactly 0
    (CrossEntropy(), PRED, LABELS),
    (CrossEntropy(), PRED, ONE_HOT),
    (CrossEntropy(), PRED, np.full((5, 3), 1 / 3)),
    (BinaryCrossEntropy(), PRED, (TARGET > 0).astype(float)),
    (BinaryCrossEntropy(), PRED[:, :1], LABELS[:, None] % 2),
    (Sum({"mse": 1.0, "mae": 0.5}), PRED, TARGET),
    (Sum([(MeanSquaredError(), 2.0), (BinaryCrossEntropy(), 0.3)]), PRED, (TARGET > 0).astype(float)),
], ids=["mse", "mae", "ce_int", "ce_onehot", "ce_soft", "bce", "bce_1col", "sum_mse_mae", "sum_mse_bce"])
def test_check_loss(loss, y_pred, y_true):
    check_loss(loss, y_pred, y_true)


# ------------------------------------------------------------------ Sum
def test_sum_is_weighted_sum():
    total = Sum({"mse": 1.0, "mae": 0.5})
    value = total(PRED, TARGET)
    mse, mae = MeanSquaredError(), MeanAbsoluteError()
    assert value == pytest.approx(mse(PRED, TARGET) + 0.5 * mae(PRED, TARGET), rel=1e-14)
    np.testing.assert_allclose(total.backward(), mse.backward() + 0.5 * mae.backward(), rtol=1e-14)


def test_sum_by_hand():
    # ŷ = 2, y = 0: mse ½·4 = 2, mae 2 -> 1·2 + 0.5·2 = 3
    assert Sum({"mse": 1.0, "mae": 0.5})(np.array([[2.0]]), np.array([0.0])) == 3.0


def test_sum_config_round_trip_and_repr():
    total = Sum({"mse": 1.0, "mae": 0.5})
    clone = losses.get(losses.serialize(total))
    assert isinstance(clone, Sum)
    assert clone(PRED, TARGET) == total(PRED, TARGET)
    assert repr(total) == "Sum({MeanSquaredError(): 1.0, MeanAbsoluteError(): 0.5})"


def test_sum_empty_rejected():
    with pytest.raises(ValueError, match="Sum: expected a non-empty"):
        Sum({})


# ------------------------------------------------------------------ registry, shapes, errors
@pytest.mark.parametrize("name,cls", [("mse", MeanSquaredError), ("mae", MeanAbsoluteError),
                                      ("cross_entropy", CrossEntropy),
                                      ("sparse_categorical_crossentropy", CrossEntropy),
                                      ("binary_cross_entropy", BinaryCrossEntropy),
                                      ("BCE", BinaryCrossEntropy)])
def test_get_by_name(name, cls):
    assert type(losses.get(name)) is cls


def test_get_unknown_lists_known():
    with pytest.raises(ValueError, match="Unknown loss 'hinge'.*mse"):
        losses.get("hinge")
    with pytest.raises(TypeError, match="loss name"):
        losses.get(42)


@pytest.mark.parametrize("loss", [MeanSquaredError(), MeanAbsoluteError(), CrossEntropy(from_logits=False),
                                  BinaryCrossEntropy()])
def test_config_round_trip_and_repr(loss):
    clone = losses.get(losses.serialize(loss))
    assert type(clone) is type(loss) and clone.get_config() == loss.get_config()
    assert repr(clone) == repr(loss)


def test_repr_shows_arguments():
    assert repr(CrossEntropy()) == "CrossEntropy(from_logits=True)"
    assert repr(MeanSquaredError()) == "MeanSquaredError()"


def test_shape_mismatch_prints_both_shapes():
    with pytest.raises(ValueError, match=r"(?s)Expect: \(5, 3\).*Actual: \(5, 2\)"):
        MeanSquaredError()(PRED, TARGET[:, :2])


def test_backward_before_forward():
    with pytest.raises(RuntimeError, match="before forward"):
        MeanSquaredError().backward()


def test_float32_gradient_stays_float32():
    for loss, y in [(MeanSquaredError(), TARGET), (CrossEntropy(), LABELS), (BinaryCrossEntropy(),
                                                                            (TARGET > 0) * 1.0)]:
        loss(PRED.astype(np.float32), y)
        assert loss.backward().dtype == np.float32, loss


def test_cross_entropy_with_one_output_suggests_bce():
    """Regression: one output unit used to give 'labels must be in [0, 0]'."""
    with pytest.raises(ValueError, match="one output per class.*BinaryCrossEntropy"):
        CrossEntropy()(np.zeros((4, 1)), np.array([0, 1, 0, 1]))
