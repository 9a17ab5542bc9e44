"""tanul.metrics against scikit-learn (the oracle), hand-worked ranking cases, and the compile path."""

import os
import re
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tanul import metrics as M
from tanul.metrics import UndefinedMetricWarning
from tanul.metrics import registry as REG

skm = pytest.importorskip("sklearn.metrics")

SEEDS = [0, 1, 2, 3, 4]


def _labels(rng, n, k, drop=None):
    """Random labels 0..k-1; ``drop`` removes one class from the array (absent class)."""
    y = rng.integers(0, k, n)
    if drop is not None:
        y[y == drop] = (drop + 1) % k
    return y


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


# ---------------------------------------------------------------------- confusion matrix
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("k", [2, 3, 5])
def test_confusion_matrix_matches_sklearn(seed, k):
    rng = np.random.default_rng(seed)
    yt, yp = _labels(rng, 40, k), _labels(rng, 40, k, drop=0)
    np.testing.assert_array_equal(M.confusion_matrix(yt, yp), skm.confusion_matrix(yt, yp))
    labels = list(range(k + 1))[::-1]  # an extra class absent from both, reversed order
    np.testing.assert_array_equal(M.confusion_matrix(yt, yp, labels=labels),
                                  skm.confusion_matrix(yt, yp, labels=labels))
    for norm in ("true", "pred", "all"):
        np.testing.assert_allclose(M.confusion_matrix(yt, yp, normalize=norm),
                                   skm.confusion_matrix(yt, yp, normalize=norm))


def test_confusion_matrix_string_labels():
    yt = ["cat", "dog", "dog", "bird"]
    yp = ["cat", "cat", "dog", "dog"]
    np.testing.assert_array_equal(M.confusion_matrix(yt, yp), skm.confusion_matrix(yt, yp))


@pytest.mark.parametrize("seed", SEEDS[:3])
def test_confusion_counts_match_multilabel_confusion_matrix(seed):
    rng = np.random.default_rng(seed)
    yt, yp = _labels(rng, 50, 4), _labels(rng, 50, 4, drop=2)
    c = M.confusion_counts(yt, yp)
    mcm = skm.multilabel_confusion_matrix(yt, yp, labels=c.labels)  # [[tn, fp], [fn, tp]] per class
    np.testing.assert_array_equal(c.tn, mcm[:, 0, 0])
    np.testing.assert_array_equal(c.fp, mcm[:, 0, 1])
    np.testing.assert_array_equal(c.fn, mcm[:, 1, 0])
    np.testing.assert_array_equal(c.tp, mcm[:, 1, 1])
    np.testing.assert_array_equal(c.support, np.bincount(yt, minlength=4))
    assert "ConfusionCounts(labels=[0, 1, 2, 3]" in repr(c)


# ---------------------------------------------------------------------- precision / recall / F
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("average", [None, "macro", "micro", "weighted"])
@pytest.mark.parametrize("zero_division", [0, 1, "warn"])
def test_prf_multiclass_matches_sklearn(seed, average, zero_division):
    rng = np.random.default_rng(seed)
    yt, yp = _labels(rng, 30, 4, drop=3), _labels(rng, 30, 4, drop=1)  # class 1 never predicted
    pairs = [(M.precision, skm.precision_score, {}), (M.recall, skm.recall_score, {}),
             (M.f1, skm.f1_score, {}), (M.fbeta, skm.fbeta_score, {"beta": 0.5}),
             (M.fbeta, skm.fbeta_score, {"beta": 2.0})]
    for ours, theirs, kw in pairs:
        got = _quiet(ours, yt, yp, average=average, zero_division=zero_division, **kw)
        want = _quiet(theirs, yt, yp, average=average, zero_division=zero_division, **kw)
        np.testing.assert_allclose(got, want, err_msg=f"{ours.__name__} {kw} average={average}")
    p, r, f, s = _quiet(M.precision_recall_fscore_support, yt, yp, average=average, zero_division=zero_division)
    wp, wr, wf, ws = _quiet(skm.precision_recall_fscore_support, yt, yp, average=average,
                            zero_division=zero_division)
    np.testing.assert_allclose([p, r, f], [wp, wr, wf])
    if average is None:
        np.testing.assert_array_equal(s, ws)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("pos_label", [0, 1])
def test_prf_binary_matches_sklearn(seed, pos_label):
    rng = np.random.default_rng(seed)
    yt, yp = rng.integers(0, 2, 25), rng.integers(0, 2, 25)
    pairs = ((M.precision, skm.precision_score), (M.recall, skm.recall_score), (M.f1, skm.f1_score))
    for ours, theirs in pairs:
        assert ours(yt, yp, pos_label=pos_label) == pytest.approx(theirs(yt, yp, pos_label=pos_label))


def test_binary_with_labels_in_other_order_and_strings():
    yt = np.array(["spam", "ham", "spam", "ham", "spam"])
    yp = np.array(["spam", "spam", "ham", "ham", "spam"])
    assert M.f1(yt, yp, pos_label="spam") == pytest.approx(skm.f1_score(yt, yp, pos_label="spam"))
    with pytest.raises(ValueError, match="pos_label=1 is not one of the labels"):
        M.f1(yt, yp)


def test_labels_argument_with_absent_class_matches_sklearn():
    yt, yp = np.array([0, 1, 1, 2, 2, 2]), np.array([0, 1, 2, 2, 2, 1])
    labels = [0, 1, 2, 3]
    got = _quiet(M.f1, yt, yp, labels=labels, average="macro")
    want = _quiet(skm.f1_score, yt, yp, labels=labels, average="macro")
    assert got == pytest.approx(want)


def test_zero_division_warns_and_returns_zero_not_nan():
    yt, yp = np.array([0, 1, 2, 2]), np.array([0, 0, 2, 2])  # class 1 never predicted
    with pytest.warns(UndefinedMetricWarning, match="Precision is ill-defined"):
        per_class = M.precision(yt, yp, average=None)
    np.testing.assert_allclose(per_class, [0.5, 0.0, 1.0])
    assert issubclass(UndefinedMetricWarning, UserWarning)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an explicit zero_division is silent
        assert M.precision(yt, yp, average="macro", zero_division=1) == pytest.approx((0.5 + 1 + 1) / 3)
    # nothing predicted positive and no positives: F is undefined
    with pytest.warns(UndefinedMetricWarning):
        assert M.f1([0, 0, 0], [0, 0, 0]) == 0.0


def test_binary_average_on_multiclass_is_a_clear_error():
    with pytest.raises(ValueError, match="average='binary' needs at most two classes.*macro"):
        M.f1([0, 1, 2], [0, 1, 1])
    with pytest.raises(ValueError, match="expected average in"):
        M.f1([0, 1], [0, 1], average="samples")
    with pytest.raises(ValueError, match="zero_division"):
        M.f1([0, 1], [0, 1], zero_division=2)


@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4)), min_size=1, max_size=40))
@settings(max_examples=60, deadline=None)
def test_micro_scores_equal_accuracy_and_counts_add_up(pairs):
    yt, yp = np.array(pairs).T
    acc = M.accuracy(yt, yp)
    assert acc == pytest.approx(np.mean(yt == yp))
    for fn in (M.precision, M.recall, M.f1):
        assert fn(yt, yp, average="micro") == pytest.approx(acc)
    c = M.confusion_counts(yt, yp)
    np.testing.assert_array_equal(c.tp + c.fp + c.fn + c.tn, len(yt))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f = M.f1(yt, yp, average=None)
    assert np.all(np.isfinite(f)) and np.all((0 <= f) & (f <= 1))


# ---------------------------------------------------------------------- report, top-k
@pytest.mark.parametrize("seed", SEEDS[:3])
@pytest.mark.parametrize("digits", [2, 4])
def test_classification_report_text_and_dict_match_sklearn(seed, digits):
    rng = np.random.default_rng(seed)
    yt, yp = _labels(rng, 60, 4), _labels(rng, 60, 4, drop=2)
    names = ["zero", "one", "two", "a long class name"]
    got = _quiet(M.classification_report, yt, yp, digits=digits, target_names=names)
    want = _quiet(skm.classification_report, yt, yp, digits=digits, target_names=names)
    assert got == want
    dgot = _quiet(M.classification_report, yt, yp, output_dict=True)
    dwant = _quiet(skm.classification_report, yt, yp, output_dict=True)
    assert dgot.keys() == dwant.keys()
    assert dgot["accuracy"] == pytest.approx(dwant["accuracy"])
    for key in dwant:
        if key != "accuracy":
            for field in ("precision", "recall", "f1-score", "support"):
                assert dgot[key][field] == pytest.approx(dwant[key][field]), (key, field)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_top_k_accuracy_matches_sklearn(seed, k):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 5, 50)
    s = rng.random((50, 5))
    want = _quiet(skm.top_k_accuracy_score, y, s, k=k, labels=range(5))
    assert M.top_k_accuracy(y, s, k=k) == pytest.approx(want)


def test_top_k_accuracy_ties_and_binary_by_hand():
    # row 0: true class 2 tied with class 0 (earlier column wins) -> rank 1 -> miss at k=1, hit at k=2
    s = np.array([[0.4, 0.2, 0.4], [0.1, 0.1, 0.8]])
    assert M.top_k_accuracy([2, 2], s, k=1) == 0.5
    assert M.top_k_accuracy([2, 2], s, k=2) == 1.0
    assert M.top_k_accuracy([0, 1, 1], [0.2, 0.7, 0.4], k=1) == pytest.approx(2 / 3)
    assert M.top_k_accuracy([0, 1, 1], [0.2, 0.7, 0.4], k=2) == 1.0


# ---------------------------------------------------------------------- ROC / PR / AP
def _tied_scores(rng, n):
    return np.round(rng.random(n), 1)  # many ties


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("drop", [True, False])
def test_roc_curve_matches_sklearn_with_ties(seed, drop):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 40)
    s = _tied_scores(rng, 40)
    for got, want in zip(M.roc_curve(y, s, drop_intermediate=drop),
                         skm.roc_curve(y, s, drop_intermediate=drop)):
        np.testing.assert_allclose(got, want)
    assert M.roc_auc(y, s) == pytest.approx(skm.roc_auc_score(y, s))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("drop", [True, False])
def test_precision_recall_curve_and_ap_match_sklearn(seed, drop):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 40)
    s = _tied_scores(rng, 40) if seed % 2 else rng.random(40)
    for got, want in zip(M.precision_recall_curve(y, s, drop_intermediate=drop),
                         skm.precision_recall_curve(y, s, drop_intermediate=drop)):
        np.testing.assert_allclose(got, want)
    assert M.average_precision(y, s) == pytest.approx(skm.average_precision_score(y, s))


def test_binary_labels_minus_one_one_and_pos_label():
    y = np.array([-1, 1, 1, -1, 1])
    s = np.array([0.2, 0.9, 0.3, 0.4, 0.8])
    assert M.roc_auc(y, s) == pytest.approx(skm.roc_auc_score(y, s))
    ys = np.array(["no", "yes", "yes", "no", "yes"])
    with pytest.raises(ValueError, match="pos_label"):
        M.roc_curve(ys, s)
    for got, want in zip(M.roc_curve(ys, s, pos_label="yes"), skm.roc_curve(ys, s, pos_label="yes")):
        np.testing.assert_allclose(got, want)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("average", ["macro", "weighted"])
def test_multiclass_roc_auc_and_ap_match_sklearn(seed, average):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, 60)
    p = rng.random((60, 4))
    p /= p.sum(axis=1, keepdims=True)
    assert M.roc_auc(y, p, average=average) == pytest.approx(
        skm.roc_auc_score(y, p, multi_class="ovr", average=average))
    assert M.average_precision(y, p, average=average) == pytest.approx(
        skm.average_precision_score(y, p, average=average))
    # (N, 2) probabilities: column 1 is the positive class
    yb = (y > 1).astype(int)
    p2 = np.stack([1 - p[:, 0], p[:, 0]], axis=1)
    assert M.roc_auc(yb, p2) == pytest.approx(skm.roc_auc_score(yb, p2[:, 1]))


def test_multiclass_roc_auc_skips_absent_class_with_warning():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 30)  # class 3 absent
    p = rng.random((30, 4))
    with pytest.warns(UndefinedMetricWarning, match=r"classes \[3\]"):
        got = M.roc_auc(y, p)
    want = np.mean([skm.roc_auc_score(y == c, p[:, c]) for c in range(3)])
    assert got == pytest.approx(want)


@given(st.lists(st.tuples(st.booleans(), st.integers(0, 5)), min_size=2, max_size=30))
@settings(max_examples=60, deadline=None)
def test_auc_is_the_pairwise_ranking_probability(pairs):
    y, s = np.array(pairs).T
    y = y.astype(bool)
    if y.all() or not y.any():
        return
    pos, neg = s[y][:, None], s[~y][None, :]
    expected = np.mean((pos > neg) + 0.5 * (pos == neg))  # Mann-Whitney, ties count one half
    assert M.roc_auc(y.astype(int), s.astype(float)) == pytest.approx(expected)


def test_one_class_roc_is_a_clear_error():
    with pytest.raises(ValueError, match="only one class"):
        M.roc_auc([1, 1, 1], [0.1, 0.5, 0.9])
    with pytest.warns(UndefinedMetricWarning, match="No positive class"):
        assert M.average_precision([0, 0, 0], [0.1, 0.5, 0.9]) == 0.0


def test_auc_trapezoid():
    assert M.auc([0, 1, 2], [0, 1, 1]) == pytest.approx(1.5)
    assert M.auc([2, 1, 0], [1, 1, 0]) == pytest.approx(1.5)
    with pytest.raises(ValueError, match="neither increasing nor decreasing"):
        M.auc([0, 2, 1], [0, 1, 1])


# ---------------------------------------------------------------------- MAP, P@k, R@k
def test_map_over_classes_is_mean_of_sklearn_ap_over_present_classes():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 3, 40)
    s = rng.random((40, 4))  # column 3: class never present
    with pytest.warns(UndefinedMetricWarning, match=r"classes \[3\]"):
        got = M.mean_average_precision(y, s)
    assert got == pytest.approx(np.mean([skm.average_precision_score(y == c, s[:, c]) for c in range(3)]))


def test_precision_and_recall_at_k_by_hand():
    rel = [1, 0, 1, 1, 0]
    sc = [0.9, 0.8, 0.7, 0.1, 0.5]  # ranking: items 0, 1, 2, 4, 3 -> relevance 1, 0, 1, 0, 1
    assert M.precision_at_k(rel, sc, k=1) == 1.0
    assert M.precision_at_k(rel, sc, k=2) == 0.5
    assert M.precision_at_k(rel, sc, k=3) == pytest.approx(2 / 3)
    assert M.recall_at_k(rel, sc, k=3) == pytest.approx(2 / 3)
    assert M.recall_at_k(rel, sc, k=5) == 1.0
    # k beyond the list: 3 relevant of 5 items, k=10 -> 3/10, adaptive -> 3/5
    assert M.precision_at_k(rel, sc, k=10) == pytest.approx(0.3)
    assert M.precision_at_k(rel, sc, k=10, adaptive_k=True) == pytest.approx(0.6)
    assert M.recall_at_k(rel, sc, k=10) == 1.0
    # ties keep the input order: item 1 (not relevant) before item 2 (relevant)
    assert M.precision_at_k([0, 0, 1], [0.5, 0.5, 0.5], k=2) == 0.0
    # graded relevance: anything > 0 is relevant
    assert M.precision_at_k([3, 0, 2], [0.1, 0.2, 0.3], k=2) == 0.5


def test_map_over_queries_by_hand():
    # query A: ranking relevance 1, 0, 1, 0, 1 -> AP = (1/3)(1/1 + 2/3 + 3/5) = 0.7555...
    # query B: scores 0.2, 0.9, 0.4 -> ranking items 1, 2, 0 -> relevance 0, 1, 0 -> AP = 1/2
    rel = [np.array([1, 0, 1, 1, 0]), np.array([0, 0, 1])]
    sc = [np.array([0.9, 0.8, 0.7, 0.1, 0.5]), np.array([0.2, 0.9, 0.4])]
    ap_a = (1 + 2 / 3 + 3 / 5) / 3
    assert M.mean_average_precision(rel, sc) == pytest.approx((ap_a + 0.5) / 2)
    # AP@2: A -> (1/min(3, 2)) * (1/1) = 0.5 ; B -> (1/1) * (1/2) = 0.5
    assert M.mean_average_precision(rel, sc, k=2) == pytest.approx(0.5)
    assert M.precision_at_k(rel, sc, k=2) == pytest.approx((0.5 + 0.5) / 2)
    assert M.recall_at_k(rel, sc, k=2) == pytest.approx((1 / 3 + 1) / 2)
    # a query without relevant items: 0 with a warning
    with pytest.warns(UndefinedMetricWarning, match="no relevant item"):
        assert M.mean_average_precision([[0, 0], [1, 0]], [[0.1, 0.2], [0.9, 0.1]]) == pytest.approx(0.5)
    with pytest.warns(UndefinedMetricWarning):
        assert M.recall_at_k([0, 0], [0.1, 0.2], k=1) == 0.0


def test_query_ap_without_ties_equals_sklearn_ap():
    rng = np.random.default_rng(7)
    for _ in range(5):
        rel = rng.integers(0, 2, 12)
        rel[0] = 1
        sc = rng.random(12)
        assert M.mean_average_precision([rel], [sc]) == pytest.approx(skm.average_precision_score(rel, sc))


def test_ranking_input_errors():
    with pytest.raises(ValueError, match="positive int"):
        M.precision_at_k([1, 0], [0.1, 0.2], k=0)
    with pytest.raises(ValueError, match="same length"):
        M.precision_at_k([[1, 0], [1]], [[0.1, 0.2], [0.3, 0.2]], k=1)
    with pytest.raises(ValueError, match="relevance >= 0"):
        M.recall_at_k([1, -1], [0.1, 0.2], k=1)


# ---------------------------------------------------------------------- regression
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shape", [(20,), (20, 1), (20, 3)])
def test_regression_matches_sklearn(seed, shape):
    rng = np.random.default_rng(seed)
    yt, yp = rng.normal(size=shape), rng.normal(size=shape)
    assert M.mse(yt, yp) == pytest.approx(skm.mean_squared_error(yt, yp))
    assert M.mae(yt, yp) == pytest.approx(skm.mean_absolute_error(yt, yp))
    assert M.r2(yt, yp) == pytest.approx(skm.r2_score(yt, yp))
    assert M.rmse(yt, yp) == pytest.approx(skm.root_mean_squared_error(yt, yp))
    for ours, theirs in ((M.mse, skm.mean_squared_error), (M.r2, skm.r2_score)):
        np.testing.assert_allclose(ours(yt, yp, multioutput="raw_values"),
                                   theirs(yt, yp, multioutput="raw_values"))


def test_r2_of_constant_target_is_finite():
    assert M.r2([2.0, 2.0, 2.0], [2.0, 2.0, 2.0]) == 1.0
    assert M.r2([2.0, 2.0, 2.0], [1.0, 2.0, 3.0]) == 0.0
    assert M.r2([2.0, 2.0], [1.0, 2.0]) == skm.r2_score([2.0, 2.0], [1.0, 2.0])


# ---------------------------------------------------------------------- input validation
@pytest.mark.parametrize("fn", [M.accuracy, M.confusion_matrix, M.f1])
def test_length_mismatch_and_empty_input(fn):
    with pytest.raises(ValueError, match="same number of samples, got 3 and 2"):
        fn([0, 1, 1], [0, 1])
    with pytest.raises(ValueError, match="at least one sample"):
        fn([], [])


def test_nan_scores_and_unknown_labels_are_clear_errors():
    with pytest.raises(ValueError, match="NaN"):
        M.roc_auc([0, 1], [0.2, np.nan])
    with pytest.raises(ValueError, match="NaN"):
        M.mse([0.0, 1.0], [np.nan, 1.0])
    with pytest.raises(ValueError, match=r"label\(s\) \[7\] that are not in labels=\[0, 1, 2\]"):
        M.confusion_matrix([0, 1, 7], [0, 1, 2], labels=[0, 1, 2])
    with pytest.raises(ValueError, match="not in labels"):
        M.precision([0, 1, 2], [0, 1, 5], labels=[0, 1, 2], average="macro")
    with pytest.raises(ValueError, match="one-hot"):
        M.accuracy(np.eye(3), [0, 1, 2])
    with pytest.raises(ValueError, match="Expect"):
        M.mse(np.zeros((3, 2)), np.zeros((3, 3)))


# ---------------------------------------------------------------------- Metric / get
def test_get_names_and_aliases():
    assert M.get("accuracy").name == "accuracy"
    assert M.get("acc").fn is M.accuracy
    assert M.get("AUC").fn is M.roc_auc
    m = M.get("top5_accuracy")
    assert m.kwargs == {"k": 5} and m.name == "top5_accuracy"
    assert M.get("top_2").kwargs == {"k": 2}
    assert M.get(m) is m
    assert M.get({"class_name": "Metric", "config": {"name": "f1_macro"}}).kwargs == {"average": "macro"}
    with pytest.raises(ValueError, match="unknown metric 'f2'.*accuracy.*f1_macro.*rmse"):
        M.get("f2")
    with pytest.raises(TypeError, match="metric name"):
        M.get(3)
    assert repr(M.get("f1_weighted")) == "Metric('f1_weighted', f1, kind='labels', average='weighted')"


def test_callable_is_wrapped_with_its_name():
    def hits(y_true, scores):
        return float(np.sum(np.argmax(scores, axis=1) == y_true))

    m = M.get(hits)
    assert m.name == "hits"
    assert m(np.array([0, 1]), np.array([[0.9, 0.1], [0.8, 0.2]])) == 1.0


def test_metric_reads_probability_matrices_binary_columns_and_one_hot():
    y = np.array([0, 1, 2, 2, 1])
    p = np.array([[.7, .2, .1], [.1, .8, .1], [.2, .2, .6], [.5, .1, .4], [.25, .3, .45]])
    pred = p.argmax(axis=1)
    assert M.get("accuracy")(y, p) == pytest.approx(skm.accuracy_score(y, pred))
    assert M.get("f1_macro")(np.eye(3)[y], p) == pytest.approx(skm.f1_score(y, pred, average="macro"))
    assert M.get("top2_accuracy")(y, p) == pytest.approx(skm.top_k_accuracy_score(y, p, k=2))
    q = p / p.sum(axis=1, keepdims=True)
    assert M.get("roc_auc")(y, q) == pytest.approx(skm.roc_auc_score(y, q, multi_class="ovr"))
    yb = np.array([0, 1, 1, 0, 1])
    pb = np.array([0.2, 0.6, 0.4, 0.5, 0.9])
    assert M.get("accuracy")(yb.reshape(-1, 1).astype(np.float32), pb.reshape(-1, 1)) == pytest.approx(
        skm.accuracy_score(yb, pb >= 0.5))
    assert M.get("auc")(yb, pb[:, None]) == pytest.approx(skm.roc_auc_score(yb, pb))
    assert M.get("f1")(yb, pb) == pytest.approx(skm.f1_score(yb, pb >= 0.5))
    assert M.get("rmse")(np.array([1.0, 2.0]), np.array([[1.0], [4.0]])) == pytest.approx(np.sqrt(2.0))
    with pytest.raises(ValueError, match="NaN"):
        M.get("accuracy")(y, np.full((5, 3), np.nan))
    with pytest.raises(ValueError, match="non-integer"):
        M.get("accuracy")(np.array([0.5, 1.0]), np.array([0.1, 0.9]))


def test_compile_reports_named_metrics_in_history():
    tanul = pytest.importorskip("tanul")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 4)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64) + (x[:, 2] > 1).astype(np.int64)
    model = tanul.Sequential([tanul.Dense(8, activation="tanh"), tanul.Dense(3)], seed=0)
    model.compile(optimizer="adam", loss="cross_entropy", metrics=["accuracy", "f1_macro"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        hist = model.fit(x[:90], y[:90], epochs=3, batch_size=30, validation_data=(x[90:], y[90:]), verbose=0)
        res = model.evaluate(x[90:], y[90:])
    for key in ("loss", "accuracy", "f1_macro", "val_loss", "val_accuracy", "val_f1_macro"):
        assert len(hist.history[key]) == 3, key
    pred = model.predict(x[90:]).argmax(axis=1)
    assert hist.history["val_accuracy"][-1] == pytest.approx(skm.accuracy_score(y[90:], pred))
    assert res["accuracy"] == pytest.approx(skm.accuracy_score(y[90:], pred))
    assert res["f1_macro"] == pytest.approx(_quiet(skm.f1_score, y[90:], pred, average="macro"))


def test_compile_binary_sigmoid_and_regression_metrics():
    tanul = pytest.importorskip("tanul")
    rng = np.random.default_rng(1)
    x = rng.normal(size=(80, 3)).astype(np.float32)
    yb = (x[:, 0] - x[:, 1] > 0).astype(np.float32).reshape(-1, 1)
    model = tanul.Sequential([tanul.Dense(4, activation="tanh"), tanul.Dense(1)], seed=0)
    model.compile(optimizer="adam", loss="binary_cross_entropy", metrics=["accuracy", "auc"])
    model.fit(x, yb, epochs=2, batch_size=20, verbose=0)
    res = model.evaluate(x, yb)
    p = model.predict_proba(x)[:, 0]
    assert res["accuracy"] == pytest.approx(skm.accuracy_score(yb[:, 0], p >= 0.5))
    assert res["auc"] == pytest.approx(skm.roc_auc_score(yb[:, 0], p))
    yr = (x @ np.array([1.0, -2.0, 0.5], dtype=np.float32)).reshape(-1, 1)
    reg = tanul.Sequential([tanul.Dense(1)], seed=0)
    reg.compile(optimizer="adam", loss="mse", metrics=["mae", "r2", "rmse"])
    hist = reg.fit(x, yr, epochs=2, batch_size=20, validation_split=0.25, verbose=0)
    assert set(hist.history) >= {"mae", "r2", "rmse", "val_mae", "val_r2", "val_rmse"}
    out = reg.predict(x)
    res = reg.evaluate(x, yr)
    assert res["mae"] == pytest.approx(skm.mean_absolute_error(yr, out), rel=1e-5)
    assert res["r2"] == pytest.approx(skm.r2_score(yr, out), rel=1e-5)


# ---------------------------------------------------------------------- gaps found by mutation testing
def test_every_builtin_name_computes_its_sklearn_metric():
    """The registry table, built afresh (the module's copy is built at import, before any test
    could see a change to it): every name gives a Metric of that name whose value on model-like
    outputs is scikit-learn's."""
    from tanul.metrics import registry

    rng = np.random.default_rng(7)
    y = rng.integers(0, 3, 40)
    p = rng.random((40, 3)) + np.eye(3)[y] * 0.6
    p /= p.sum(axis=1, keepdims=True)
    pred = p.argmax(axis=1)
    yb = rng.integers(0, 2, 40)
    pb = np.clip(rng.random(40) * 0.7 + yb * 0.25, 0, 1)
    yr, pr = rng.normal(size=40), rng.normal(size=40)
    expected = {
        "accuracy": (y, p, skm.accuracy_score(y, pred)), "acc": (y, p, skm.accuracy_score(y, pred)),
        "auc": (yb, pb, skm.roc_auc_score(yb, pb)), "roc_auc": (yb, pb, skm.roc_auc_score(yb, pb)),
        "average_precision": (yb, pb, skm.average_precision_score(yb, pb)),
        "mae": (yr, pr, skm.mean_absolute_error(yr, pr)), "mse": (yr, pr, skm.mean_squared_error(yr, pr)),
        "rmse": (yr, pr, np.sqrt(skm.mean_squared_error(yr, pr))), "r2": (yr, pr, skm.r2_score(yr, pr)),
    }
    for base, fn in (("precision", skm.precision_score), ("recall", skm.recall_score), ("f1", skm.f1_score)):
        expected[base] = (yb, pb, fn(yb, pb >= 0.5))
        for avg in ("macro", "micro", "weighted"):
            expected[f"{base}_{avg}"] = (y, p, fn(y, pred, average=avg))
    reg = registry._builtin()
    assert sorted(reg) == sorted(expected)
    for name, make in reg.items():
        m = make(name)
        yt, scores, want = expected[name]
        assert isinstance(m, M.Metric) and m.name == name
        assert m(yt, scores) == pytest.approx(want), name
        assert m.get_config() == {"name": name}
    assert M.names() == sorted(expected) + ["top<k>_accuracy"]
    # the score metrics read one-hot targets and two-column probabilities, as a softmax model gives them
    onehot, two = np.eye(2)[yb], np.c_[1 - pb, pb]
    for name in ("auc", "roc_auc", "average_precision"):
        assert reg[name](name)(onehot, two) == pytest.approx(expected[name][2]), name


_RAGGED = [[0, 1], [1]]
_BAD_INPUTS = [
    # (call, exception, the start of the message: the function's name, then what was wrong)
    (lambda: M.confusion_matrix(_RAGGED, [0, 1]), ValueError, r"confusion_matrix: expected y_true to be an array, got ragged"),
    (lambda: M.confusion_matrix([0, 1], np.eye(2)), ValueError, r"confusion_matrix: expected y_pred to be 1-D class labels of shape \(N,\), got shape \(2, 2\)"),
    (lambda: M.confusion_matrix([0, 1], [0]), ValueError, r"confusion_matrix: y_true and y_pred must have the same number of samples, got 2 and 1"),
    (lambda: M.confusion_matrix([0, 1], [0, 1], labels=[[0, 1]]), ValueError, r"confusion_matrix: expected labels to be a non-empty 1-D list, got \[\[0, 1\]\]"),
    (lambda: M.confusion_matrix([0, 1], [0, 1], labels=[]), ValueError, r"confusion_matrix: expected labels to be a non-empty 1-D list, got \[\]"),
    (lambda: M.confusion_matrix([0, 1], [0, 1], labels=[0, 1, 0]), ValueError, r"confusion_matrix: expected distinct labels, got \[0, 1, 0\]"),
    (lambda: M.confusion_matrix([0, 1], [0, 2], labels=[0, 1]), ValueError, r"confusion_matrix: y_pred contains label\(s\) \[2\] that are not in labels=\[0, 1\]"),
    (lambda: M.confusion_matrix([0, 1], [0, 1], normalize="rows"), ValueError, r"confusion_matrix: expected normalize in \(None, 'true', 'pred', 'all'\), got 'rows'"),
    (lambda: M.confusion_counts(_RAGGED, [0, 1]), ValueError, r"confusion_counts: expected y_true to be an array"),
    (lambda: M.confusion_counts([0, 1], [0, 3], labels=[0, 1]), ValueError, r"confusion_matrix: y_pred contains label\(s\) \[3\]"),
    (lambda: M.confusion_counts([0, 1], [0, 1], labels=[1, 1]), ValueError, r"confusion_counts: expected distinct labels"),
    (lambda: M.accuracy([0, 1], _RAGGED), ValueError, r"accuracy: expected y_pred to be an array, got ragged"),
    (lambda: M.accuracy(np.array([0.0, np.nan]), [0, 1]), ValueError, r"accuracy: y_true contains 1 NaN or infinite value\(s\)"),
    (lambda: M.accuracy(np.array(["a", None], dtype=object), [0, 1]), TypeError, r"accuracy: expected y_true to be a numeric or label array, got dtype=object"),
    (lambda: M.accuracy(3, [0]), ValueError, r"accuracy: expected y_true to be an array of samples, got the scalar"),
    (lambda: M.precision([0, 1], [0, 1], average="samples"), ValueError, r"precision: expected average in \(None, 'binary', 'macro', 'micro', 'weighted'\), got 'samples'"),
    (lambda: M.recall([0, 1], [0, 1], zero_division="nan"), ValueError, r"recall: expected zero_division to be 'warn', 0, 1 or np.nan, got 'nan'"),
    (lambda: M.recall([0, 1], [0, 1], zero_division=0.5), ValueError, r"recall: expected zero_division to be 'warn', 0, 1 or np.nan, got 0.5"),
    (lambda: M.recall([0, 1], [0, 1], zero_division=True), ValueError, r"recall: expected zero_division"),
    (lambda: M.recall([0, 1], [0, 1], zero_division=None), ValueError, r"recall: expected zero_division"),
    (lambda: M.fbeta([0, 1], [0, 1], beta=-1.0), ValueError, r"fbeta: expected beta to be a number >= 0, got -1.0"),
    (lambda: M.fbeta([0, 1], [0, 1], beta=True), ValueError, r"fbeta: expected beta to be a number >= 0, got True"),
    (lambda: M.fbeta([0, 1], [0, 1], beta="2"), ValueError, r"fbeta: expected beta to be a number >= 0, got '2'"),
    (lambda: M.fbeta([0, 1], [0, 1], beta=float("nan")), ValueError, r"fbeta: expected beta"),
    (lambda: M.f1([0, 1, 2], [0, 1, 2]), ValueError, r"f1: average='binary' needs at most two classes, but the labels are \[0, 1, 2\]"),
    (lambda: M.f1(["a", "b"], ["a", "b"]), ValueError, r"f1: pos_label=1 is not one of the labels \['a', 'b'\]"),
    (lambda: M.f1([0, 1], [0, 1], labels=[0, 1, 1], average="macro"), ValueError, r"f1: expected distinct labels"),
    (lambda: M.f1([0, 2], [0, 1], labels=[0, 1], average="macro"), ValueError, r"f1: y_true contains label\(s\) \[2\]"),
    (lambda: M.precision_recall_fscore_support([0, 1], [0, 5], labels=[0, 1]), ValueError, r"precision_recall_fscore_support: y_pred contains label\(s\) \[5\]"),
    (lambda: M.classification_report([0, 1], [0, 1], digits=-1), ValueError, r"classification_report: expected digits to be an int >= 0, got -1"),
    (lambda: M.classification_report([0, 1], [0, 1], digits=True), ValueError, r"classification_report: expected digits"),
    (lambda: M.classification_report([0, 1], [0, 1], digits=2.0), ValueError, r"classification_report: expected digits"),
    (lambda: M.classification_report([0, 1], [0, 1], target_names=["a"]), ValueError, r"classification_report: expected 2 target_names \(one per label \[0, 1\]\), got 1"),
    (lambda: M.classification_report([0, 1], [0, 1], labels=[0, 0]), ValueError, r"classification_report: expected distinct labels"),
    (lambda: M.classification_report([0, 1], [0]), ValueError, r"classification_report: y_true and y_pred must have the same number"),
    (lambda: M.top_k_accuracy(_RAGGED, [[0.1, 0.9]]), ValueError, r"top_k_accuracy: expected y_true to be an array"),
    (lambda: M.top_k_accuracy([0], [[0.1, np.inf]]), ValueError, r"top_k_accuracy: scores contains 1 NaN or infinite"),
    (lambda: M.top_k_accuracy([0], []), ValueError, r"top_k_accuracy: expected at least one sample in scores"),
    (lambda: M.top_k_accuracy([0, 1], [[0.1, 0.9]]), ValueError, r"top_k_accuracy: y_true and scores must have the same number of samples, got 2 and 1"),
    (lambda: M.top_k_accuracy([0], [[0.1, 0.9]], k=0), ValueError, r"top_k_accuracy: expected k to be a positive int, got 0"),
    (lambda: M.top_k_accuracy([0], [[0.1, 0.9]], k=True), ValueError, r"top_k_accuracy: expected k to be a positive int, got True"),
    (lambda: M.top_k_accuracy([0], [[0.1, 0.9]], k=1.0), ValueError, r"top_k_accuracy: expected k to be a positive int, got 1.0"),
    (lambda: M.top_k_accuracy([0], np.zeros((1, 2, 2))), ValueError, r"top_k_accuracy: expected scores of shape \(N, K\) or \(N,\), got \(1, 2, 2\)"),
    (lambda: M.top_k_accuracy([0], [[0.1, 0.2, 0.7]], labels=[0, 1]), ValueError, r"top_k_accuracy: expected one label per score column \(3\), got 2"),
    (lambda: M.top_k_accuracy([0], [[0.1, 0.9]], labels=[0, 0]), ValueError, r"top_k_accuracy: expected distinct labels"),
    (lambda: M.top_k_accuracy([5], [[0.1, 0.9]]), ValueError, r"top_k_accuracy: y_true contains label\(s\) \[5\] that are not in labels=\[0, 1\]"),
    (lambda: M.auc(_RAGGED, [0, 1]), ValueError, r"auc: expected x to be an array, got ragged"),
    (lambda: M.auc([0, 1], _RAGGED), ValueError, r"auc: expected y to be an array, got ragged"),
    (lambda: M.auc([0, np.nan], [0, 1]), ValueError, r"auc: x contains 1 NaN"),
    (lambda: M.auc([0, 1], [np.inf, 1]), ValueError, r"auc: y contains 1 NaN"),
    (lambda: M.auc([0, 1, 2], [0, 1]), ValueError, r"auc: expected x and y 1-D of the same length >= 2, got shapes \(3,\) and \(2,\)"),
    (lambda: M.auc([0], [1]), ValueError, r"auc: expected x and y 1-D of the same length >= 2, got shapes \(1,\) and \(1,\)"),
    (lambda: M.auc([[0, 1]], [[0, 1]]), ValueError, r"auc: expected x and y 1-D"),
    (lambda: M.roc_curve([0, 1], [[0.1, 0.2], [0.3, 0.4]]), ValueError, r"roc_curve: expected scores of shape \(N,\) for the positive class, got \(2, 2\)"),
    (lambda: M.roc_curve([0, 1], [0.1, np.nan]), ValueError, r"roc_curve: scores contains 1 NaN"),
    (lambda: M.roc_curve([0, 1, 1], [0.1, 0.2]), ValueError, r"roc_curve: y_true and scores must have the same number of samples, got 3 and 2"),
    (lambda: M.roc_curve([0, 2], [0.1, 0.2]), ValueError, r"roc_curve: y_true has labels \[0, 2\]; with labels other than \{0, 1\} or \{-1, 1\} give pos_label"),
    (lambda: M.roc_curve([1, 1], [0.1, 0.2]), ValueError, r"roc_curve: y_true holds only one class \(positive\)"),
    (lambda: M.roc_curve([0, 0], [0.1, 0.2]), ValueError, r"roc_curve: y_true holds only one class \(negative\)"),
    (lambda: M.roc_auc([0, 1], np.array([["a", "b"], ["c", "d"]])), TypeError, r"roc_auc: expected scores to be numeric, got dtype=<U1"),
    (lambda: M.roc_auc([0, 1], np.zeros((2, 2, 2))), ValueError, r"roc_auc: expected scores of shape \(N,\) or \(N, K\), got \(2, 2, 2\)"),
    (lambda: M.roc_auc([1, 1], [0.1, 0.2]), ValueError, r"roc_auc: y_true holds only one class; ROC AUC is undefined"),
    (lambda: M.roc_auc([0, 2], [0.1, 0.2]), ValueError, r"roc_auc: y_true has labels \[0, 2\]"),
    (lambda: M.roc_auc([0, 1, 1], np.eye(3)[[0, 1, 1]] * 0.5 + 0.1, average=None), ValueError, r"roc_auc: classes \[2\] are absent from y_true \(or are all of it\)"),
    (lambda: M.roc_auc([0, 1, 2], np.full((3, 3), 1 / 3), average="micro"), ValueError, r"roc_auc: expected average in \('macro', 'weighted', None\), got 'micro'"),
    (lambda: M.roc_auc([0, 1, 2], np.full((3, 3), 1 / 3), labels=[0, 1]), ValueError, r"roc_auc: expected one label per score column \(3\), got 2"),
    (lambda: M.roc_auc([0, 1, 2, 2], np.full((3, 3), 1 / 3)), ValueError, r"roc_auc: y_true and scores must have the same number of samples, got 4 and 3"),
    (lambda: M.roc_auc(np.eye(3), np.full((3, 3), 1 / 3)), ValueError, r"roc_auc: expected y_true to be 1-D class labels"),
    (lambda: M.roc_auc([0, 1, 7], np.full((3, 3), 1 / 3)), ValueError, r"roc_auc: y_true contains label\(s\) \[7\] that are not in labels=\[0, 1, 2\]"),
    (lambda: M.precision_recall_curve([0, 1], [0.1]), ValueError, r"precision_recall_curve: y_true and scores must have the same number"),
    (lambda: M.precision_recall_curve([0, 3], [0.1, 0.3]), ValueError, r"precision_recall_curve: y_true has labels \[0, 3\]"),
    (lambda: M.average_precision([0, 1], [0.1, np.nan]), ValueError, r"average_precision: scores contains 1 NaN"),
    (lambda: M.average_precision([0, 1, 2], np.full((3, 3), 1 / 3), average="samples"), ValueError, r"average_precision: expected average in \('macro', 'weighted', None\), got 'samples'"),
    (lambda: M.average_precision([0, 1], [0.1, 0.2, 0.3]), ValueError, r"average_precision: y_true and scores must have the same number"),
    (lambda: M.average_precision([0, 1, 2], np.full((3, 3), 1 / 3), labels=["a", "b"]), ValueError, r"average_precision: expected one label per score column \(3\), got 2"),
    (lambda: M.mean_average_precision([0, 1], [0.1, 0.2]), ValueError, r"mean_average_precision: expected a score matrix \(N, K\) with class labels, got scores \(2,\)"),
    (lambda: M.mean_average_precision([0, 1], np.full((2, 2), 0.5), k=1), ValueError, r"mean_average_precision: k applies to queries"),
    (lambda: M.mean_average_precision([[1, 0]], [[0.1, 0.2]], k=0), ValueError, r"mean_average_precision: expected k to be a positive int, got 0"),
    (lambda: M.mean_average_precision([[1, 0]], [[0.1, 0.2]], zero_division=2), ValueError, r"mean_average_precision: expected zero_division"),
    (lambda: M.mean_average_precision([0, 1], np.full((2, 2), np.nan)), ValueError, r"mean_average_precision: scores contains 4 NaN"),
    (lambda: M.mean_average_precision([[1, 0]], [[0.1, np.nan]]), ValueError, r"mean_average_precision: scores\[0\] contains 1 NaN"),
    (lambda: M.mean_average_precision([[1, -1]], [[0.1, 0.2]]), ValueError, r"mean_average_precision: query 0: expected relevance >= 0 \(0 = not relevant\), got -1"),
    (lambda: M.mean_average_precision([0, 1, 1], np.full((3, 2), 0.5), labels=[0, 1, 2]), ValueError, r"mean_average_precision: expected one label per score column \(2\), got 3"),
    (lambda: M.precision_at_k([1, 0], [0.1, 0.2], k=None), ValueError, r"precision_at_k: expected k to be a positive int, got None"),
    (lambda: M.precision_at_k([1, 0], [0.1, 0.2], k=1.0), ValueError, r"precision_at_k: expected k to be a positive int, got 1.0"),
    (lambda: M.precision_at_k([1, 0], [0.1, 0.2], k=False), ValueError, r"precision_at_k: expected k to be a positive int, got False"),
    (lambda: M.precision_at_k([1, 0], [0.1, 0.2, 0.3], k=1), ValueError, r"precision_at_k: expected relevance and scores of the same shape \(n,\) for one query or \(Q, n\) for Q queries, got \(2,\) and \(3,\)"),
    (lambda: M.precision_at_k(np.ones((1, 2, 2)), np.ones((1, 2, 2)), k=1), ValueError, r"precision_at_k: expected relevance and scores of the same shape"),
    (lambda: M.precision_at_k([[1, 0]], np.array([0.1, 0.2]), k=1), ValueError, r"precision_at_k: expected relevance and scores to be two lists with one array per query \(the same number of queries\), got list and ndarray"),
    (lambda: M.precision_at_k([[1, 0], [1, 1]], [[0.1, 0.2]], k=1), ValueError, r"precision_at_k: expected relevance and scores to be two lists with one array per query \(the same number of queries\), got list and list"),
    (lambda: M.precision_at_k([[1, 0], [0, 1]], [[0.1, 0.2], [0.3]], k=1), ValueError, r"precision_at_k: query 1: expected relevance and scores 1-D of the same length, got shapes \(2,\) and \(1,\)"),
    (lambda: M.precision_at_k([[1.0, np.nan]], [[0.1, 0.2]], k=1), ValueError, r"precision_at_k: relevance\[0\] contains 1 NaN"),
    (lambda: M.precision_at_k([[1, 0], []], [[0.1, 0.2], []], k=1), ValueError, r"precision_at_k: expected at least one sample in relevance\[1\]"),
    (lambda: M.precision_at_k([[1, 0], [1]], [[0.1, 0.2], []], k=1), ValueError, r"precision_at_k: expected at least one sample in scores\[1\]"),
    (lambda: M.precision_at_k([], [], k=1), ValueError, r"precision_at_k: expected at least one sample in relevance, got an empty array"),
    (lambda: M.precision_at_k([1], [], k=1), ValueError, r"precision_at_k: expected at least one sample in scores, got an empty array"),
    (lambda: M.recall_at_k([1, 0], [0.1, 0.2], k=0), ValueError, r"recall_at_k: expected k to be a positive int, got 0"),
    (lambda: M.recall_at_k([1, 0], [0.1, 0.2], k=1, zero_division="0"), ValueError, r"recall_at_k: expected zero_division to be 'warn', 0, 1 or np.nan, got '0'"),
    (lambda: M.recall_at_k([1, 0], [0.1, 0.2, 0.3], k=1), ValueError, r"recall_at_k: expected relevance and scores of the same shape"),
    (lambda: M.precision_at_k([1, 0], [0.1, 0.2], k=True), ValueError, r"precision_at_k: expected k to be a positive int, got True"),
    (lambda: M.precision_at_k([[1, 0, 1]], [[0.9, 0.8]], k=1), ValueError, r"precision_at_k: query 0: expected relevance and scores 1-D of the same length, got shapes \(3,\) and \(2,\)"),
    (lambda: M.mean_average_precision(np.array([1, 0]), [np.array([0.1, 0.2])]), ValueError, r"mean_average_precision: expected relevance and scores to be two lists"),
    (lambda: M.mean_average_precision([[1, 0], [1]], np.array([0.1, 0.2])), ValueError, r"mean_average_precision: expected relevance and scores to be two lists"),
    (lambda: M.roc_auc([0, 0, 0], np.full((3, 3), 1 / 3)), ValueError, r"roc_auc: classes \[0, 1, 2\] are absent from y_true \(or are all of it\)"),
    (lambda: M.mse(np.zeros((3, 2)), np.zeros((3, 3))), ValueError, r"mse: y_true and y_pred must have the same number of outputs\n  Expect: \(3, 2\)\n  Actual: \(3, 3\)"),
    (lambda: M.r2([1.0, 2.0], [1.0]), ValueError, r"r2: y_true and y_pred must have the same number of samples, got 2 and 1"),
    (lambda: M.mae([1.0, np.nan], [1.0, 2.0]), ValueError, r"mae: y_true contains 1 NaN"),
    (lambda: M.rmse([1.0, 2.0], [1.0, np.inf]), ValueError, r"rmse: y_pred contains 1 NaN"),
    (lambda: M.rmse([1.0, 2.0], [1.0, 2.0], multioutput="variance_weighted"), ValueError, r"rmse: expected multioutput in \('uniform_average', 'raw_values'\), got 'variance_weighted'"),
    (lambda: M.mse(np.array(["a"]), np.array(["b"])), TypeError, r"mse: expected y_true to be numeric, got dtype=<U1"),
    (lambda: M.get("accuracy")(_RAGGED, [0.1, 0.9]), ValueError, r"metric 'accuracy': expected y_true to be an array, got ragged"),
    (lambda: M.get("accuracy")(np.array([[1.0, np.nan]]), [0.9]), ValueError, r"metric 'accuracy': y_true contains 1 NaN"),
    (lambda: M.get("accuracy")(np.array([1.0, np.nan]), [0.9, 0.1]), ValueError, r"metric 'accuracy': y_true contains 1 NaN"),
    (lambda: M.get("accuracy")(np.array([[1, 1], [0, 0]]), np.eye(2)), ValueError, r"metric 'accuracy': expected y_true as labels \(N,\) or one-hot rows \(N, K\) with a single 1 per row, got shape \(2, 2\) that is not one-hot \(multi-label targets are not supported by the classification metrics\)$"),
    (lambda: M.get("accuracy")(np.array([[0.5, 0.5]]), np.eye(2)[:1]), ValueError, r"metric 'accuracy': expected y_true as labels \(N,\) or one-hot rows"),
    (lambda: M.get("accuracy")(np.array([["a", "b"]]), np.eye(2)[:1]), ValueError, r"metric 'accuracy': expected y_true as labels \(N,\) or one-hot rows"),
    (lambda: M.get("accuracy")(np.zeros((2, 1, 1)), np.eye(2)), ValueError, r"metric 'accuracy': expected y_true of shape \(N,\) or \(N, K\), got \(2, 1, 1\)"),
    (lambda: M.get("accuracy")(np.array([1.0, 0.5, 0.25]), [0.1, 0.9, 0.3]), ValueError, r"metric 'accuracy': expected integer class labels in y_true, got non-integer values such as np.float64\(0.5\) \(a regression target\? use 'mae' or 'r2'\)"),
    (lambda: M.get("accuracy")([0, 1], _RAGGED), ValueError, r"metric 'accuracy': expected scores to be an array, got ragged"),
    (lambda: M.get("accuracy")([0, 1], [0.5, np.inf]), ValueError, r"metric 'accuracy': scores contains 1 NaN"),
    (lambda: M.get("accuracy")([0, 1], np.zeros((2, 2, 2))), ValueError, r"metric 'accuracy': expected scores of shape \(N,\), \(N, 1\) or \(N, K\), got \(2, 2, 2\)"),
    (lambda: M.get("accuracy")([0, 1], np.zeros((2, 0))), ValueError, r"metric 'accuracy': expected scores of shape \(N,\), \(N, 1\) or \(N, K\), got \(2, 0\)"),
    (lambda: M.get("auc")([0, 1], _RAGGED), ValueError, r"metric 'auc': expected scores to be an array, got ragged"),
    (lambda: M.get("auc")([0, 1], [0.5, np.nan]), ValueError, r"metric 'auc': scores contains 1 NaN"),
    (lambda: M.Metric(3), TypeError, r"Metric: expected a callable, got 3$"),
    (lambda: M.Metric(M.f1, kind="label"), ValueError, r"Metric: expected kind in \('labels', 'scores', 'matrix', 'regression', 'raw'\), got 'label'$"),
    (lambda: M.Metric(M.f1, name=""), ValueError, r"Metric: expected a non-empty name, got ''$"),
    (lambda: M.Metric(M.f1, name=3), ValueError, r"Metric: expected a non-empty name, got 3$"),
    (lambda: M.get({"config": {}}), ValueError, r"metrics.get: expected a dict with config\['name'\], got \{'config': \{\}\}$"),
    (lambda: M.get("top0_accuracy"), ValueError, r"metrics.get: unknown metric 'top0_accuracy'; expected one of acc, accuracy, auc, "),
    (lambda: M.mse(_RAGGED, [1.0, 2.0]), ValueError, r"mse: expected y_true to be an array, got ragged"),
    (lambda: M.r2([1.0, 2.0], _RAGGED), ValueError, r"r2: expected y_pred to be an array, got ragged"),
    (lambda: M.mae(np.zeros((2, 2)), np.zeros((2, 3))), ValueError, r"mae: y_true and y_pred must have the same number of outputs"),
    (lambda: M.rmse(np.zeros((2, 2)), np.zeros((2, 3))), ValueError, r"rmse: y_true and y_pred must have the same number of outputs"),
    (lambda: M.r2(np.zeros((2, 2)), np.zeros(2)), ValueError, r"r2: y_true and y_pred must have the same number of outputs\n  Expect: \(2, 2\)\n  Actual: \(2,\)"),
    (lambda: M.roc_curve(np.eye(2), [0.1, 0.2]), ValueError, r"roc_curve: expected y_true to be 1-D class labels"),
    (lambda: M.roc_curve([0, 1], _RAGGED), ValueError, r"roc_curve: expected scores to be an array, got ragged"),
    (lambda: M.average_precision([0, 1], _RAGGED), ValueError, r"average_precision: expected scores to be an array, got ragged"),
    (lambda: M.roc_auc([0, 1, 2], np.full((3, 3), 1 / 3), labels=[0, 0, 1]), ValueError, r"roc_auc: expected distinct labels, got \[0, 0, 1\]"),
    (lambda: M.roc_curve([0, 0], [0.1, 0.2]), ValueError, r"roc_curve: y_true holds only one class \(negative\); the ROC curve needs both positives and negatives$"),
    (lambda: M.roc_auc([1, 1], [0.1, 0.2]), ValueError, r"roc_auc: y_true holds only one class; ROC AUC is undefined \(needs both positives and negatives\)$"),
    (lambda: M.roc_auc([0, 1, 1], np.eye(3)[[0, 1, 1]] * 0.5 + 0.1, average=None), ValueError, r"roc_auc: classes \[2\] are absent from y_true \(or are all of it\); their one-vs-rest AUC is undefined$"),
    (lambda: M.get("auc")(np.zeros((2, 1, 1)), [0.1, 0.2]), ValueError, r"metric 'auc': expected y_true of shape \(N,\) or \(N, K\), got \(2, 1, 1\)"),
    (lambda: M.get("top2_accuracy")(np.zeros((2, 1, 1)), np.eye(2)), ValueError, r"metric 'top2_accuracy': expected y_true of shape"),
    (lambda: REG.true_labels(_RAGGED), ValueError, r"metric: expected y_true to be an array, got ragged"),
    (lambda: REG.predicted_labels(_RAGGED), ValueError, r"metric: expected scores to be an array, got ragged"),
    (lambda: REG.positive_scores(_RAGGED), ValueError, r"metric: expected scores to be an array, got ragged"),
    (lambda: M.mae([1.0, np.nan], [1.0, 2.0]), ValueError, r"mae: y_true contains 1 NaN or infinite value\(s\); check the model's outputs \(a diverged training run\?\)$"),
    (lambda: M.f1([0, 1], np.eye(2)), ValueError, r"f1: expected y_pred to be 1-D class labels of shape \(N,\), got shape \(2, 2\) \(for one-hot targets or probability rows, take argmax\(axis=1\) or use tanul.metrics.get\(...\), which does it for you\)$"),
    (lambda: M.get("f2"), ValueError, r"metrics.get: unknown metric 'f2'; expected one of .* or a callable f\(y_true, scores\)$"),
]


@pytest.mark.parametrize("i", range(len(_BAD_INPUTS)))
def test_bad_input_errors_name_the_function_the_argument_and_the_values(i):
    call, exc, start = _BAD_INPUTS[i]
    with pytest.raises(exc) as info:
        call()
    assert re.match(start, str(info.value)), str(info.value)


def test_undefined_metric_warning_points_at_the_callers_line():
    with pytest.warns(UndefinedMetricWarning) as rec:
        M.recall_at_k([0, 0], [0.1, 0.2], k=1)
    if "MUTANT_UNDER_TEST" not in os.environ:  # mutmut's trampoline adds a frame to every call
        assert rec[0].filename == __file__


def test_ranking_ties_keep_the_items_order_also_for_long_lists():
    # 20 items scored 0.5, then 20 scored 0.7; of the 0.7 group only the first five are relevant.
    # Ranked highest first with ties in item order: items 20, 21, ..., 39, then 0, ..., 19.
    scores = np.r_[np.full(20, 0.5), np.full(20, 0.7)]
    rel = np.zeros(40)
    rel[20:25] = 1
    assert M.precision_at_k(rel, scores, k=5) == 1.0
    assert M.recall_at_k(rel, scores, k=5) == 1.0
    assert M.mean_average_precision([rel], [scores]) == 1.0


def test_query_arrays_of_shape_q_by_n_are_queries():
    rel = np.array([[1, 0, 1], [0, 1, 0]])
    sc = np.array([[0.9, 0.8, 0.7], [0.3, 0.2, 0.1]])
    # query 1: relevant at ranks 1 and 3 -> AP = (1/1 + 2/3) / 2; query 2: rank 2 -> AP = 1/2
    assert M.mean_average_precision(rel, sc) == pytest.approx(((1 + 2 / 3) / 2 + 1 / 2) / 2)
    # AP@2: query 1 divides by min(2, 2): (1/1) / 2; query 2: (1/2) / 1
    assert M.mean_average_precision(rel, sc, k=2) == pytest.approx((1 / 2 + 1 / 2) / 2)
    assert M.precision_at_k(rel, sc, k=2) == pytest.approx((1 / 2 + 1 / 2) / 2)


def test_queries_without_relevant_items_warn_with_their_count_only_under_warn():
    rel = [[0, 0], [1, 0], [0, 0]]
    sc = [[0.1, 0.2], [0.3, 0.1], [0.5, 0.4]]
    with pytest.warns(UndefinedMetricWarning, match=r"^recall_at_k: 2 query\(ies\) have no relevant item; "
                                                    r"their recall is set to 0.0"):
        assert M.recall_at_k(rel, sc, k=1) == pytest.approx(1 / 3)
    with pytest.warns(UndefinedMetricWarning, match=r"^mean_average_precision: 2 query\(ies\) have no relevant "
                                                    r"item; their AP is set to 0.0"):
        assert M.mean_average_precision(rel, sc) == pytest.approx(1 / 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert M.recall_at_k(rel, sc, k=1, zero_division=1) == pytest.approx(1.0)
        assert M.recall_at_k(rel, sc, k=1, zero_division=0) == pytest.approx(1 / 3)
        assert M.mean_average_precision(rel, sc, zero_division=1) == pytest.approx(1.0)
        assert M.mean_average_precision(rel, sc, zero_division=0) == pytest.approx(1 / 3)
        assert M.recall_at_k([[1, 0], [0, 1]], [[0.3, 0.1], [0.5, 0.4]], k=1) == pytest.approx(1 / 2)
        assert M.mean_average_precision([[1, 0], [0, 1]], [[0.3, 0.1], [0.5, 0.4]]) == pytest.approx(3 / 4)


def test_curves_with_three_thresholds_drop_like_sklearn():
    # three tied groups of one positive and one negative: the ROC points (1,1)/3, (2,2)/3, (3,3)/3 are
    # collinear, so the middle threshold goes
    y = np.array([1, 0, 1, 0, 1, 0])
    s = np.array([0.9, 0.9, 0.5, 0.5, 0.1, 0.1])
    for ours, theirs in zip(M.roc_curve(y, s), skm.roc_curve(y, s)):
        np.testing.assert_allclose(ours, theirs)
    assert M.roc_curve(y, s)[2].tolist() == [np.inf, 0.9, 0.1]
    # precision-recall: the recall does not change at 0.5, so that threshold goes
    y, s = np.array([1, 0, 0]), np.array([0.9, 0.5, 0.1])
    for ours, theirs in zip(M.precision_recall_curve(y, s, drop_intermediate=True),
                            skm.precision_recall_curve(y, s, drop_intermediate=True)):
        np.testing.assert_allclose(ours, theirs)


def test_pr_curve_when_the_positives_come_last():
    y, s = np.array([0, 0, 1]), np.array([0.9, 0.8, 0.1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for ours, theirs in zip(M.precision_recall_curve(y, s), skm.precision_recall_curve(y, s)):
            np.testing.assert_allclose(ours, theirs)
        assert M.average_precision(y, s) == pytest.approx(skm.average_precision_score(y, s))
    p, r, _ = M.precision_recall_curve([1], [0.3])  # one sample, one threshold
    assert p.tolist() == [1.0, 1.0] and r.tolist() == [1.0, 0.0]


def test_score_matrices_with_named_classes_and_two_columns():
    rng = np.random.default_rng(11)
    names = np.array(["ant", "bee", "cat"])
    yi = rng.integers(0, 3, 30)
    yi[:3] = [0, 1, 2]
    p = rng.random((30, 3)) + np.eye(3)[yi] * 0.3
    p /= p.sum(axis=1, keepdims=True)
    y = names[yi]
    assert M.roc_auc(y, p, labels=names) == pytest.approx(skm.roc_auc_score(y, p, multi_class="ovr", labels=names))
    # columns in another order than sorted: the labels say which class each column is
    order = [2, 0, 1]
    assert M.roc_auc(y, p[:, order], labels=names[order], average=None) == pytest.approx(
        [skm.roc_auc_score(y == names[c], p[:, c]) for c in order])
    assert M.average_precision(y, p[:, order], labels=names[order], average=None) == pytest.approx(
        [skm.average_precision_score(y == names[c], p[:, c]) for c in order])
    assert M.top_k_accuracy(y, p[:, order], k=2, labels=names[order]) == pytest.approx(
        skm.top_k_accuracy_score(yi, p, k=2))
    # two columns: column 1 is the positive class, named by labels[1]
    yb = np.array(["no", "yes", "yes", "no", "yes"])
    sb = np.array([[0.8, 0.3], [0.1, 0.7], [0.6, 0.5], [0.3, 0.4], [0.2, 0.9]])  # rows need not sum to 1
    assert M.roc_auc(yb, sb, labels=["no", "yes"]) == pytest.approx(skm.roc_auc_score(yb == "yes", sb[:, 1]))
    assert M.roc_auc((yb == "yes").astype(int), sb) == pytest.approx(skm.roc_auc_score(yb == "yes", sb[:, 1]))
    assert M.roc_auc((yb == "no").astype(int), sb[:, [1]]) == pytest.approx(
        skm.roc_auc_score(yb == "no", sb[:, 1]))


def test_roc_auc_leaves_out_an_absent_class_in_the_middle():
    rng = np.random.default_rng(5)
    y = rng.choice([0, 2, 3], 40)
    p = rng.random((40, 4))
    with pytest.warns(UndefinedMetricWarning, match=r"^roc_auc: classes \[1\] are absent from y_true; their AUC "
                                                    r"is undefined and left out of the average"):
        got = M.roc_auc(y, p)
    want = [skm.roc_auc_score(y == c, p[:, c]) for c in (0, 2, 3)]
    assert got == pytest.approx(np.mean(want))
    with pytest.warns(UndefinedMetricWarning):
        got_w = M.roc_auc(y, p, average="weighted")
    assert got_w == pytest.approx(np.average(want, weights=[np.sum(y == c) for c in (0, 2, 3)]))


def test_top_k_accuracy_with_one_column_of_probabilities():
    y = np.array([0, 1, 1, 0])
    p = np.array([0.2, 0.7, 0.4, 0.9])
    # k = 1: the class with the higher probability (p or 1 - p) must be the true one
    assert M.top_k_accuracy(y, p[:, None], k=1) == pytest.approx(skm.accuracy_score(y, p >= 0.5))
    assert M.top_k_accuracy(y, p, k=1) == pytest.approx(skm.accuracy_score(y, p >= 0.5))


def test_regression_raw_values_per_output_match_sklearn():
    rng = np.random.default_rng(2)
    yt, yp = rng.normal(size=(25, 3)), rng.normal(size=(25, 3))
    np.testing.assert_allclose(M.mae(yt, yp, multioutput="raw_values"),
                               skm.mean_absolute_error(yt, yp, multioutput="raw_values"))
    np.testing.assert_allclose(M.rmse(yt, yp, multioutput="raw_values"),
                               np.sqrt(skm.mean_squared_error(yt, yp, multioutput="raw_values")))
    assert M.rmse(yt, yp) == pytest.approx(skm.root_mean_squared_error(yt, yp))


def test_metric_repr_and_name_of_a_callable_without_a_name():
    import functools

    part = functools.partial(M.f1, average="macro")
    m = M.Metric(part)
    assert m.name == "partial"
    assert repr(m) == f"Metric('partial', {part!r}, kind='raw')"
    assert m(np.array([0, 1, 1]), np.array([0, 1, 0])) == pytest.approx(skm.f1_score([0, 1, 1], [0, 1, 0],
                                                                                      average="macro"))


def test_undefined_precision_recall_and_f_warn_with_their_reason():
    yt, yp = np.array([0, 1, 1, 2]), np.array([0, 0, 1, 0])
    tail = r" Use the zero_division argument to choose the value \(and silence this warning\)\.$"
    with pytest.warns(UndefinedMetricWarning) as rec:
        p, r, f, s = M.precision_recall_fscore_support(yt, yp, labels=[0, 1, 2, 3])
    messages = [str(w.message) for w in rec]
    assert len(messages) == 3
    assert re.match(r"^Precision is ill-defined and being set to 0.0 for labels with no predicted samples\." + tail,
                    messages[0])
    assert re.match(r"^Recall is ill-defined and being set to 0.0 for labels with no true samples\." + tail,
                    messages[1])
    assert re.match(r"^F-score is ill-defined and being set to 0.0 for labels with no true nor predicted "
                    r"samples\." + tail, messages[2])
    want = _quiet(skm.precision_recall_fscore_support, yt, yp, labels=[0, 1, 2, 3])
    for ours, theirs in zip((p, r, f, s), want):
        np.testing.assert_allclose(ours, theirs)


def test_only_the_asked_quantity_warns():
    yt, yp = np.array([0, 1, 1, 2]), np.array([0, 0, 1, 1])  # class 2 never predicted: precision undefined
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_allclose(M.recall(yt, yp, average=None), skm.recall_score(yt, yp, average=None))
    yt, yp = np.array([0, 0, 1]), np.array([0, 2, 1])  # class 2 never true: recall undefined
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_allclose(M.precision(yt, yp, average=None), skm.precision_score(yt, yp, average=None))
        np.testing.assert_allclose(M.f1(yt, yp, average=None), skm.f1_score(yt, yp, average=None))
    with pytest.warns(UndefinedMetricWarning, match="^Recall is ill-defined"):
        M.recall(yt, yp, average=None)


def test_labels_choose_and_order_the_classes_like_sklearn():
    yt, yp = np.array([0, 1, 1, 2, 2, 2, 0]), np.array([0, 1, 2, 2, 2, 1, 1])
    labels = [2, 0, 1]  # every class, another order
    for ours, theirs in ((M.precision, skm.precision_score), (M.recall, skm.recall_score), (M.f1, skm.f1_score)):
        np.testing.assert_allclose(ours(yt, yp, labels=labels, average=None),
                                   theirs(yt, yp, labels=labels, average=None))
    np.testing.assert_allclose(M.fbeta(yt, yp, beta=0.5, labels=labels, average=None),
                               skm.fbeta_score(yt, yp, beta=0.5, labels=labels, average=None))
    for ours, theirs in zip(M.precision_recall_fscore_support(yt, yp, labels=labels),
                            skm.precision_recall_fscore_support(yt, yp, labels=labels)):
        np.testing.assert_allclose(ours, theirs)
    c = M.confusion_counts(yt, yp, labels=labels)
    mcm = skm.multilabel_confusion_matrix(yt, yp, labels=labels)
    assert c.labels.tolist() == labels
    np.testing.assert_array_equal(c.tp, mcm[:, 1, 1])
    np.testing.assert_array_equal(c.fn, mcm[:, 1, 0])
    d = c.as_dict()
    assert sorted(d) == ["fn", "fp", "labels", "tn", "tp"]
    for key, col in (("tn", (0, 0)), ("fp", (0, 1)), ("fn", (1, 0)), ("tp", (1, 1))):
        np.testing.assert_array_equal(d[key], mcm[:, col[0], col[1]])
    assert d["labels"].tolist() == labels
    np.testing.assert_array_equal(c.support, [3, 2, 2])
    got = M.classification_report(yt, yp, labels=labels, output_dict=True)
    want = skm.classification_report(yt, yp, labels=labels, output_dict=True)
    for key in ("2", "0", "1", "macro avg", "weighted avg"):
        for field in ("precision", "recall", "f1-score", "support"):
            assert got[key][field] == pytest.approx(want[key][field]), (key, field)


def test_prfs_defaults_and_fbeta_with_a_named_positive_class():
    yt, yp = [0, 1, 1, 0, 1], [0, 1, 0, 1, 1]
    # default average=None: per class, all classes
    for ours, theirs in zip(M.precision_recall_fscore_support(yt, yp), skm.precision_recall_fscore_support(yt, yp)):
        np.testing.assert_allclose(ours, theirs)
    # binary: pos_label defaults to 1
    got = M.precision_recall_fscore_support(yt, yp, average="binary")
    want = skm.precision_recall_fscore_support(yt, yp, average="binary")
    assert got[:3] == pytest.approx(want[:3]) and got[3] is None
    ys, ps = np.array(["a", "b", "b", "a", "b"]), np.array(["a", "b", "a", "b", "b"])
    assert M.fbeta(ys, ps, beta=2.0, pos_label="a") == pytest.approx(skm.fbeta_score(ys, ps, beta=2.0, pos_label="a"))
    # beta = 0 is precision, beta = inf is recall (docstring)
    assert M.fbeta(yt, yp, beta=0) == pytest.approx(skm.precision_score(yt, yp))
    assert M.fbeta(yt, yp, beta=np.inf) == pytest.approx(skm.recall_score(yt, yp))


@pytest.mark.parametrize("digits", [None, 0, 14])
def test_classification_report_default_zero_and_wide_digits_match_sklearn(digits):
    yt, yp = np.array([0, 1, 1, 2, 2, 0]), np.array([0, 1, 2, 2, 2, 1])
    kw = {} if digits is None else {"digits": digits}
    assert M.classification_report(yt, yp, **kw) == skm.classification_report(yt, yp, **kw)


def test_auc_of_two_points_steps_below_one_and_ties_in_x_like_sklearn():
    for x, y in (([0, 1], [0, 1]), ([0, 0.25, 0.5, 1], [0, 0.5, 0.75, 1]), ([0, 1, 1, 2], [0, 0.5, 1, 1]),
                 ([2, 1, 1, 0], [1, 1, 0.5, 0]), ([1.0, 0.5, 0.0], [1.0, 0.75, 0.0])):
        assert M.auc(x, y) == pytest.approx(skm.auc(x, y)), (x, y)
    with pytest.raises(ValueError, match=r"^auc: x is neither increasing nor decreasing$"):
        M.auc([0, 2, 1], [0, 1, 1])


def test_binary_scores_as_a_column_and_boolean_labels():
    y = np.array([0, 1, 1, 0, 1, 0])
    s = np.array([0.2, 0.7, 0.4, 0.5, 0.9, 0.1])
    for ours, theirs in zip(M.roc_curve(y, s[:, None]), skm.roc_curve(y, s)):
        np.testing.assert_allclose(ours, theirs)
    for ours, theirs in zip(M.precision_recall_curve(y.astype(bool), s[:, None]), skm.precision_recall_curve(y, s)):
        np.testing.assert_allclose(ours, theirs)
    assert M.roc_auc(y.astype(bool), s) == pytest.approx(skm.roc_auc_score(y, s))
    assert M.average_precision(y, s[:, None]) == pytest.approx(skm.average_precision_score(y, s))


def test_normalized_confusion_matrix_with_empty_rows_and_columns_is_zero_there():
    yt, yp = [0, 0, 1, 1], [0, 1, 1, 1]
    for norm in ("true", "pred", "all"):
        got = M.confusion_matrix(yt, yp, labels=[0, 1, 2], normalize=norm)
        np.testing.assert_array_equal(got, skm.confusion_matrix(yt, yp, labels=[0, 1, 2], normalize=norm))


def test_classification_report_warns_for_each_undefined_quantity():
    yt, yp = [0, 1, 1, 0], [0, 1, 0, 0]
    with pytest.warns(UndefinedMetricWarning) as rec:
        text = M.classification_report(yt, yp, labels=[0, 1, 2])
    firsts = sorted({str(w.message).split(" ")[0] for w in rec})
    assert firsts == ["F-score", "Precision", "Recall"]
    assert text == _quiet(skm.classification_report, yt, yp, labels=[0, 1, 2])
    with pytest.raises(ValueError, match=r"^classification_report: expected zero_division to be 'warn', 0, 1 or "
                                         r"np.nan, got 5$"):
        M.classification_report(yt, yp, zero_division=5)


def test_binary_nan_zero_division_one_sample_weighted_counts_and_beta_zero_like_sklearn():
    # nothing predicted positive, zero_division=np.nan: precision is NaN, as in scikit-learn
    assert np.isnan(M.precision([0, 0], [0, 0], zero_division=np.nan))
    assert np.isnan(skm.precision_score([0, 0], [0, 0], zero_division=np.nan))
    # one sample, weighted: the supports add up to 1
    assert M.precision([1], [1], average="weighted") == skm.precision_score([1], [1], average="weighted") == 1.0
    assert M.accuracy([0, 1, 1, 2], [0, 2, 1, 2], normalize=False) == skm.accuracy_score(
        [0, 1, 1, 2], [0, 2, 1, 2], normalize=False) == 3.0
    # beta = 0 is the precision also where that is undefined (0.0 without a warning, as scikit-learn)
    yt, yp = np.array([0, 1, 1, 2]), np.array([0, 0, 1, 0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_allclose(M.fbeta(yt, yp, beta=0, average=None),
                                   skm.fbeta_score(yt, yp, beta=0, average=None))
    # unknown labels: the first ten are named
    with pytest.raises(ValueError, match=r"^confusion_matrix: y_true contains label\(s\) \[2, 3, 4, 5, 6, 7, 8, 9, "
                                         r"10, 11\] that are not in labels=\[0, 1\]$"):
        M.confusion_matrix(np.arange(14), np.zeros(14, int), labels=[0, 1])


def test_curves_and_ap_with_a_named_positive_class_like_sklearn():
    y = np.array(["neg", "pos", "pos", "neg", "pos"])
    s = np.array([0.2, 0.7, 0.4, 0.5, 0.9])
    for ours, theirs in zip(M.precision_recall_curve(y, s, pos_label="pos"),
                            skm.precision_recall_curve(y, s, pos_label="pos")):
        np.testing.assert_allclose(ours, theirs)
    assert M.average_precision(y, s, pos_label="pos") == pytest.approx(
        skm.average_precision_score(y, s, pos_label="pos"))
    with pytest.warns(UndefinedMetricWarning, match=r"^No positive class found in y_true, recall is set to one "
                                                    r"for all thresholds\.$"):
        M.precision_recall_curve([0, 0], [0.1, 0.2])


def test_metric_passes_its_settings_on_for_every_kind():
    rng = np.random.default_rng(4)
    y = rng.integers(0, 3, 30)
    y[:3] = [0, 1, 2]
    p = rng.random((30, 3))
    p /= p.sum(axis=1, keepdims=True)
    m = M.Metric(M.roc_auc, "auc_w", "scores", average="weighted")
    assert m(y, p) == pytest.approx(skm.roc_auc_score(y, p, multi_class="ovr", average="weighted"))
    m = M.Metric(M.top_k_accuracy, "top2", "matrix", k=2)
    assert m(np.eye(3)[y], p) == pytest.approx(skm.top_k_accuracy_score(y, p, k=2))
    assert M.get("top2_accuracy")(np.eye(3)[y], p) == pytest.approx(skm.top_k_accuracy_score(y, p, k=2))

    def scaled_mae(y_true, y_pred, scale):
        return scale * float(np.mean(np.abs(np.asarray(y_true) - np.asarray(y_pred))))

    for kind in ("regression", "raw"):
        assert M.Metric(scaled_mae, kind=kind, scale=3.0)([1.0, 2.0], [2.0, 2.0]) == pytest.approx(1.5)
    m = M.Metric(M.fbeta, "f2", "labels", beta=2.0, average="macro")
    assert repr(m) == "Metric('f2', fbeta, kind='labels', beta=2.0, average='macro')"
    assert M.get({"name": "f1_macro"}).kwargs == {"average": "macro"}  # a bare config


def test_label_columns_top1_and_undefined_f_beta():
    yt, yp = np.array([0, 1, 1, 2]), np.array([0, 1, 0, 2])
    assert M.accuracy(yt[:, None], yp[:, None]) == skm.accuracy_score(yt, yp) == 0.75
    np.testing.assert_array_equal(M.confusion_matrix(yt[:, None], yp), skm.confusion_matrix(yt, yp))
    p = np.array([[0.6, 0.3, 0.1], [0.2, 0.7, 0.1], [0.5, 0.4, 0.1], [0.1, 0.2, 0.7]])
    assert M.get("top1_accuracy")(yt, p) == skm.top_k_accuracy_score(yt, p, k=1) == 0.75
    with pytest.warns(UndefinedMetricWarning, match="^F-score is ill-defined"):
        M.fbeta(yt, yp, beta=2.0, labels=[0, 1, 2, 3], average=None)
