"""tanul.metrics against scikit-learn (the oracle), hand-worked ranking cases, and the compile path."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tanul import metrics as M
from tanul.metrics import UndefinedMetricWarning

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
