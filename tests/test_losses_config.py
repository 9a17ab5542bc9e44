"""Loss configs keep every constructor argument (mutation testing: eps was lost on save/load)."""

import numpy as np
import pytest

from tanul import losses
from tanul.losses import BinaryCrossEntropy, CrossEntropy


@pytest.mark.parametrize("cls", [CrossEntropy, BinaryCrossEntropy])
def test_eps_survives_a_config_round_trip(cls):
    loss = cls(from_logits=False, eps=1e-3)
    clone = losses.get(losses.serialize(loss))
    assert clone.eps == 1e-3 and clone.from_logits is False
    assert repr(clone) == f"{cls.__name__}(from_logits=False, eps=0.001)"
    assert repr(cls()) == f"{cls.__name__}(from_logits=True)"  # the default stays short
    # and the clone computes the same clipped loss (eps matters for a zero probability)
    p = np.array([[0.0, 1.0], [0.5, 0.5]]) if cls is CrossEntropy else np.array([[0.0], [0.3]])
    y = np.array([0, 1]) if cls is CrossEntropy else np.array([1.0, 0.0])
    assert clone(p, y) == loss(p, y) and clone(p, y) != cls(from_logits=False)(p, y)


# ------------------------------------------------------------------ messages, whole
@pytest.mark.parametrize(("call", "message"), [
    (lambda: CrossEntropy()(np.zeros((2, 1)), [0, 1]),
     "CrossEntropy: expected one output per class (at least 2), got 1 output; for two classes with a "
     "single output unit use BinaryCrossEntropy (loss='binary_cross_entropy')"),
    (lambda: CrossEntropy()(np.zeros((2, 3)), np.array([0.5, 1.0])),
     "CrossEntropy: 1-D targets must be integer class labels, got non-integer floats; pass one-hot rows "
     "of shape (N, C) for soft targets"),
    (lambda: CrossEntropy()(np.zeros((2, 3)), np.array([1.0, 3.0])),  # odd integers are fine...
     "CrossEntropy: labels must be in [0, 2] for 3 outputs, got label 3"),  # ...3 is out of range
    (lambda: BinaryCrossEntropy()(np.zeros((2, 1)), np.array([2.0, -1.0])),
     "BinaryCrossEntropy: targets must lie in [0, 1], got values in [-1.0, 2.0]"),
    (lambda: losses.MeanSquaredError()(np.zeros((2, 2)), np.zeros((3, 2))),
     "MeanSquaredError: targets and predictions differ in shape.\n  Expect: (2, 2)\n  Actual: (3, 2)"),
])
def test_messages(call, message):
    with pytest.raises(ValueError) as exc:
        call()
    assert str(exc.value) == message


def test_cross_entropy_accepts_float_labels_and_a_label_column():
    z = np.array([[2.0, 0.0, -1.0], [0.0, 1.0, 3.0]])
    ref = CrossEntropy()(z, np.array([0, 2]))
    assert CrossEntropy()(z, np.array([0.0, 2.0])) == ref  # integer-valued floats: labels
    assert CrossEntropy()(z, np.array([[0], [2]])) == ref  # an (N, 1) column of labels
    np.testing.assert_allclose(CrossEntropy()(z, np.array([1.0, 1.0])), CrossEntropy()(z, np.array([1, 1])))


def test_cross_entropy_on_probabilities_clips_and_zeroes_the_clipped_gradient():
    eps = 1e-3
    loss = CrossEntropy(from_logits=False, eps=eps)
    p = np.array([[1e-5, 0.6, 0.4 - 1e-5], [0.2, 0.3, 0.5]])
    y = np.array([0, 2])
    # the first row's probability of its class is below eps: clipped to eps
    assert loss(p, y) == pytest.approx(-(np.log(eps) + np.log(0.5)) / 2, rel=1e-12)
    g = loss.backward()
    expected = np.zeros_like(p)
    expected[1, 2] = -1 / (0.5 * 2)  # −y / (p N); the clipped entry gets 0
    np.testing.assert_allclose(g, expected, rtol=1e-12)
    # exactly eps is not clipped: gradient −1/(eps N)
    p2 = np.array([[eps, 1 - eps]])
    loss(p2, np.array([0]))
    np.testing.assert_allclose(loss.backward(), [[-1 / eps, 0.0]], rtol=1e-12)


def test_binary_cross_entropy_on_probabilities_clips_both_ends():
    eps = 1e-4
    loss = BinaryCrossEntropy(from_logits=False, eps=eps)
    p = np.array([[1.0], [0.0]])
    y = np.array([0.0, 1.0])  # both confidently wrong: log(1 − p) and log p clipped at eps
    assert loss(p, y) == pytest.approx(-np.log(eps), rel=1e-9)
    g = loss.backward()
    # (p − y) / (p (1 − p)) / N at the clipped p = 1 − eps and eps
    q = np.array([[1 - eps], [eps]])
    np.testing.assert_allclose(g, (q - y[:, None]) / (q * (1 - q)) / 2, rtol=1e-9)


def test_one_dimensional_predictions_are_one_column_and_other_ranks_are_refused():
    mse = losses.MeanSquaredError()
    assert mse(np.array([1.0, 3.0]), np.array([0.0, 1.0])) == 1.25  # (½·1 + ½·4) / 2
    np.testing.assert_allclose(mse.backward(), [[0.5], [1.0]])
    with pytest.raises(ValueError) as exc:
        mse(np.zeros((2, 1, 1)), np.zeros(2))
    assert str(exc.value) == "MeanSquaredError: expected predictions of shape (N, K), got (2, 1, 1)"
    with pytest.raises(RuntimeError) as exc:
        losses.MeanAbsoluteError().backward()
    assert str(exc.value) == "MeanAbsoluteError: backward() called before forward()"


def test_sum_links_through_its_first_term_and_rejects_nothing():
    z = np.array([[1.0, 2.0, 0.5]])
    total = losses.Sum([("cross_entropy", 1.0), ("mse", 0.5)])
    np.testing.assert_allclose(total.link(z), np.exp(z) / np.exp(z).sum())  # softmax, not identity
    np.testing.assert_array_equal(losses.Sum({"mse": 1.0, "cross_entropy": 1.0}).link(z), z)
    with pytest.raises(ValueError) as exc:
        losses.Sum({})
    assert str(exc.value) == ("Sum: expected a non-empty dict {loss: weight} or list of (loss, weight) "
                              "pairs, got {}")
