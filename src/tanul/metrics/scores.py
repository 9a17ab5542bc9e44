"""Metrics on scores (probabilities or any ranking score): ROC, precision-recall, AP, MAP, P@k.

Threshold curves
----------------
Sort the samples by score, highest first, and lower a threshold ``t`` through every distinct
score. At each ``t``, samples with ``score >= t`` are predicted positive::

    TPR(t) = TP(t) / P     FPR(t) = FP(t) / N     precision(t) = TP(t) / (TP(t) + FP(t))

(``P``, ``N``: numbers of positives and negatives). The ROC curve is ``(FPR, TPR)`` from
``(0, 0)`` to ``(1, 1)``; its area ``AUC`` is the probability that a random positive scores
higher than a random negative (ties count one half), computed with the trapezoidal rule.
Average precision is the step-wise area under the precision-recall curve (scikit-learn's
definition, no interpolation)::

    AP = sum_n (R_n - R_{n-1}) P_n

Tied scores form one threshold, so the curves are the same whatever order ties come in.

Ranking (queries)
-----------------
For one query with items ``1..n``, relevance ``rel_i`` (> 0 means relevant) and scores, rank
the items by score, highest first (ties: earlier item first), and let ``R`` be the number of
relevant items::

    P@k   = (# relevant in the top k) / k          (k > n: the missing places count as misses)
    R@k   = (# relevant in the top k) / R
    AP    = (1 / R) sum_{i : item at rank i relevant} P@i
    MAP   = mean of AP over queries

``P@k`` with ``adaptive_k=True`` divides by ``min(k, n)`` instead. With a cut-off ``k``,
``AP@k = (1 / min(R, k)) sum_{i <= k, relevant} P@i``. A query without relevant items has
undefined R@k and AP: they are set to ``zero_division`` (0.0 with a warning by default).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tanul.metrics._checks import (
    as_array,
    check_finite,
    check_same_length,
    check_zero_division,
    labels_1d,
    warn_undefined,
    zero_division_value,
)
from tanul.metrics.classification import _encode, _resolve_labels


def _trapezoid(x: np.ndarray, y: np.ndarray) -> float:
    return float(np.sum(np.diff(x) * (y[1:] + y[:-1]) / 2.0))


def auc(x: Any, y: Any) -> float:
    """Area under a curve through the points ``(x_i, y_i)`` (trapezoidal rule); x must be monotonic.

    >>> auc([0, 0.5, 1], [0, 1, 1])
    0.75
    """
    xa = check_finite("auc", as_array("auc", x, "x").astype(np.float64), "x")
    ya = check_finite("auc", as_array("auc", y, "y").astype(np.float64), "y")
    if xa.ndim != 1 or xa.shape != ya.shape or xa.size < 2:
        raise ValueError(f"auc: expected x and y 1-D of the same length >= 2, got shapes {xa.shape} "
                         f"and {ya.shape}")
    d = np.diff(xa)
    if np.all(d <= 0):
        return -_trapezoid(xa, ya)
    if not np.all(d >= 0):
        raise ValueError("auc: x is neither increasing nor decreasing")
    return _trapezoid(xa, ya)


def _binary_inputs(where: str, y_true: Any, scores: Any, pos_label: Any) -> tuple[np.ndarray, np.ndarray]:
    yt = labels_1d(where, y_true, "y_true")
    s = as_array(where, scores, "scores")
    if s.ndim == 2 and s.shape[1] == 1:
        s = s[:, 0]
    if s.ndim != 1:
        raise ValueError(f"{where}: expected scores of shape (N,) for the positive class, got {s.shape}")
    s = check_finite(where, s, "scores").astype(np.float64)
    check_same_length(where, yt, s, ("y_true", "scores"))
    if pos_label is None:
        classes = set(np.unique(yt).tolist())
        if not (classes <= {0, 1} or classes <= {-1, 1}):  # booleans too: False == 0, True == 1
            raise ValueError(f"{where}: y_true has labels {sorted(classes)}; with labels other than "
                             "{0, 1} or {-1, 1} give pos_label=<the positive class>")
        pos_label = 1
    return (yt == pos_label), s


def _binary_clf_curve(y: np.ndarray, s: np.ndarray):
    """Cumulative FP and TP counts at each distinct score, highest score first."""
    order = np.argsort(s, kind="stable")[::-1]
    s, y = s[order], y[order]
    idx = np.r_[np.flatnonzero(np.diff(s)), y.size - 1]
    tps = np.cumsum(y, dtype=np.float64)[idx]
    fps = 1.0 + idx - tps
    return fps, tps, s[idx]


def roc_curve(y_true: Any, scores: Any, *, pos_label: Any = None, drop_intermediate: bool = True):
    """Receiver operating characteristic: ``(fpr, tpr, thresholds)``, as scikit-learn computes it.

    Parameters
    ----------
    y_true : array (N,)
        Binary labels ({0, 1}, {-1, 1}, or any two labels with ``pos_label``).
    scores : array (N,)
        Score of the positive class (a probability, or any monotone score).
    drop_intermediate : bool, default True
        Drop thresholds on straight segments (they do not change the curve or its area).

    Returns
    -------
    fpr, tpr : array (M,)
        From ``(0, 0)`` to ``(1, 1)``.
    thresholds : array (M,)
        Decreasing; ``thresholds[0] = inf`` stands for "predict nothing positive".

    >>> fpr, tpr, thr = roc_curve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> fpr, tpr
    (array([0. , 0. , 0.5, 0.5, 1. ]), array([0. , 0.5, 0.5, 1. , 1. ]))
    """
    where = "roc_curve"
    y, s = _binary_inputs(where, y_true, scores, pos_label)
    if y.all() or not y.any():
        raise ValueError(f"{where}: y_true holds only one class ({'positive' if y.all() else 'negative'}); "
                         "the ROC curve needs both positives and negatives")
    fps, tps, thr = _binary_clf_curve(y, s)
    if drop_intermediate and fps.size > 2:
        keep = np.r_[True, np.logical_or(np.diff(fps, 2), np.diff(tps, 2)), True]
        fps, tps, thr = fps[keep], tps[keep], thr[keep]
    fps, tps = np.r_[0.0, fps], np.r_[0.0, tps]
    thr = np.r_[np.inf, thr]
    return fps / fps[-1], tps / tps[-1], thr


def _ovr(where: str, y_true: Any, scores: np.ndarray, labels: Any):
    """Yield (class label, binary truth, class scores) for each score column."""
    yt = labels_1d(where, y_true, "y_true")
    check_same_length(where, yt, scores, ("y_true", "scores"))
    lab = np.arange(scores.shape[1]) if labels is None else _resolve_labels(where, yt, yt, labels)
    if len(lab) != scores.shape[1]:
        raise ValueError(f"{where}: expected one label per score column ({scores.shape[1]}), got {len(lab)}")
    ti = _encode(where, yt, lab, "y_true")
    return lab, [(ti == c, scores[:, c]) for c in range(len(lab))]


def _score_matrix(where: str, scores: Any) -> np.ndarray:
    s = as_array(where, scores, "scores")
    s = check_finite(where, s, "scores").astype(np.float64)
    if s.ndim == 2 and s.shape[1] == 1:
        s = s[:, 0]
    if s.ndim not in (1, 2):
        raise ValueError(f"{where}: expected scores of shape (N,) or (N, K), got {s.shape}")
    return s


def _average(where: str, values: np.ndarray, weights: np.ndarray, average: Any) -> Any:
    if average is None:
        return values
    if average == "macro":
        return float(np.mean(values))
    if average == "weighted":
        return float(np.average(values, weights=weights))
    raise ValueError(f"{where}: expected average in ('macro', 'weighted', None), got {average!r}")


def roc_auc(y_true: Any, scores: Any, *, average: str | None = "macro", labels: Any = None,
            pos_label: Any = None) -> Any:
    """Area under the ROC curve; one-vs-rest for a score matrix with more than two columns.

    Parameters
    ----------
    y_true : array (N,)
    scores : array (N,), (N, 1) or (N, 2)
        Binary: the positive class's score (for (N, 2), column 1 is used).
    scores : array (N, K), K > 2
        Class probabilities: AUC of class ``c`` against the rest on column ``c``, then averaged
        (``"macro"``: plain mean, ``"weighted"``: by prevalence, ``None``: per class). A class
        absent from ``y_true`` has no AUC: it is left out of the average with a warning.
    labels : list, optional
        Class of each column (default ``0 .. K-1``).

    Notes
    -----
    ``AUC = P(s_pos > s_neg) + 1/2 P(s_pos = s_neg)``, the area under ``roc_curve``.

    >>> roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    """
    where = "roc_auc"
    s = _score_matrix(where, scores)
    if s.ndim == 2 and s.shape[1] == 2:
        if labels is not None:
            pos_label = list(labels)[1]
        s = s[:, 1]
    if s.ndim == 1:
        y, s = _binary_inputs(where, y_true, s, pos_label)
        if y.all() or not y.any():
            raise ValueError(f"{where}: y_true holds only one class; ROC AUC is undefined "
                             "(needs both positives and negatives)")
        fps, tps, _ = _binary_clf_curve(y, s)
        return _trapezoid(np.r_[0.0, fps] / fps[-1], np.r_[0.0, tps] / tps[-1])
    lab, cols = _ovr(where, y_true, s, labels)
    values, weights, missing = [], [], []
    for c, (yc, sc) in zip(lab.tolist(), cols):
        if yc.all() or not yc.any():
            missing.append(c)
            continue
        fps, tps, _ = _binary_clf_curve(yc, sc)
        values.append(_trapezoid(np.r_[0.0, fps] / fps[-1], np.r_[0.0, tps] / tps[-1]))
        weights.append(yc.sum())
    if missing:
        if average is None or not values:
            raise ValueError(f"{where}: classes {missing} are absent from y_true (or are all of it); their "
                             "one-vs-rest AUC is undefined")
        warn_undefined(f"{where}: classes {missing} are absent from y_true; their AUC is undefined and left "
                       "out of the average")
    return _average(where, np.array(values), np.array(weights, dtype=np.float64), average)


def precision_recall_curve(y_true: Any, scores: Any, *, pos_label: Any = None, drop_intermediate: bool = False):
    """Precision and recall at every distinct threshold, as scikit-learn computes them.

    Returns
    -------
    precision, recall : array (M + 1,)
        Ordered by increasing threshold; the last point is ``(recall 0, precision 1)``.
        Precision is 0 where nothing is predicted positive.
    thresholds : array (M,)
        Increasing distinct scores.

    >>> p, r, t = precision_recall_curve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> p, r
    (array([0.5       , 0.66666667, 0.5       , 1.        , 1.        ]), array([1. , 1. , 0.5, 0.5, 0. ]))
    """
    where = "precision_recall_curve"
    y, s = _binary_inputs(where, y_true, scores, pos_label)
    return _pr_curve(y, s, drop_intermediate)


def _pr_curve(y: np.ndarray, s: np.ndarray, drop_intermediate: bool = False):
    fps, tps, thr = _binary_clf_curve(y, s)
    if drop_intermediate and fps.size > 2:
        keep = np.r_[True, np.logical_or(np.diff(tps[:-1]), np.diff(tps[1:])), True]
        fps, tps, thr = fps[keep], tps[keep], thr[keep]
    ps = tps + fps
    prec = np.divide(tps, ps, out=np.zeros_like(tps), where=ps != 0)
    if tps[-1] == 0:
        warn_undefined("No positive class found in y_true, recall is set to one for all thresholds.")
        rec = np.ones_like(tps)
    else:
        rec = tps / tps[-1]
    return np.r_[prec[::-1], 1.0], np.r_[rec[::-1], 0.0], thr[::-1]


def _ap(y: np.ndarray, s: np.ndarray) -> float:
    p, r, _ = _pr_curve(y, s)
    return float(max(0.0, -np.sum(np.diff(r) * p[:-1])))


def average_precision(y_true: Any, scores: Any, *, average: str | None = "macro", labels: Any = None,
                      pos_label: Any = None) -> Any:
    """Average precision ``AP = sum_n (R_n - R_{n-1}) P_n`` over thresholds (scikit-learn's definition).

    Binary scores ``(N,)`` give one AP. A score matrix ``(N, K)`` gives the one-vs-rest AP of
    each column, averaged like :func:`roc_auc` (a class absent from ``y_true`` scores 0.0 with a
    warning, as in scikit-learn; :func:`mean_average_precision` leaves it out instead).

    >>> average_precision([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.833...
    """
    where = "average_precision"
    s = _score_matrix(where, scores)
    if s.ndim == 1:
        y, s = _binary_inputs(where, y_true, s, pos_label)
        return _ap(y, s)
    _, cols = _ovr(where, y_true, s, labels)
    values = np.array([_ap(yc, sc) for yc, sc in cols])
    weights = np.array([yc.sum() for yc, _ in cols], dtype=np.float64)
    return _average(where, values, weights, average)


# ---------------------------------------------------------------------- ranking
def _is_query_list(a: Any) -> bool:
    return isinstance(a, (list, tuple)) and len(a) > 0 and all(np.ndim(q) >= 1 for q in a)


def _queries(where: str, relevance: Any, scores: Any) -> list[np.ndarray]:
    """For each query, whether each item is relevant, in ranked order (highest score first)."""
    if _is_query_list(relevance) or _is_query_list(scores):
        if not (_is_query_list(relevance) and _is_query_list(scores)) or len(relevance) != len(scores):
            raise ValueError(f"{where}: expected relevance and scores to be two lists with one array per query "
                             f"(the same number of queries), got {type(relevance).__name__} and "
                             f"{type(scores).__name__}")
        pairs = list(zip(relevance, scores))
    else:
        rel = as_array(where, relevance, "relevance")
        sc = as_array(where, scores, "scores")
        if rel.shape != sc.shape or rel.ndim not in (1, 2):
            raise ValueError(f"{where}: expected relevance and scores of the same shape (n,) for one query "
                             f"or (Q, n) for Q queries, got {rel.shape} and {sc.shape}")
        pairs = [(rel, sc)] if rel.ndim == 1 else list(zip(rel, sc))
    out = []
    for q, (r, s) in enumerate(pairs):
        r = check_finite(where, as_array(where, r, f"relevance[{q}]"), f"relevance[{q}]")
        s = check_finite(where, as_array(where, s, f"scores[{q}]"), f"scores[{q}]")
        if r.ndim != 1 or r.shape != s.shape:
            raise ValueError(f"{where}: query {q}: expected relevance and scores 1-D of the same length, "
                             f"got shapes {r.shape} and {s.shape}")
        if np.any(r < 0):
            raise ValueError(f"{where}: query {q}: expected relevance >= 0 (0 = not relevant), got {r.min()}")
        order = np.argsort(-s.astype(np.float64), kind="stable")
        out.append(r[order] > 0)
    return out


def _check_k(where: str, k: Any, allow_none: bool = False) -> None:
    if k is None and allow_none:
        return
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"{where}: expected k to be a positive int, got {k!r}")


def precision_at_k(relevance: Any, scores: Any, k: int, *, adaptive_k: bool = False) -> float:
    """Precision at ``k``: fraction of the ``k`` highest-scored items that are relevant.

    Parameters
    ----------
    relevance : array (n,), list of arrays, or array (Q, n)
        Relevance of each item (``> 0`` = relevant) for one query, or one array per query.
    scores : same layout
        Higher score = ranked earlier; ties keep the items' order.
    k : int
        Cut-off. With fewer than ``k`` items the missing places count as not relevant
        (denominator ``k``) unless ``adaptive_k=True`` (denominator ``min(k, n)``).

    Returns
    -------
    float: for several queries, the mean over queries.

    >>> precision_at_k([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1], k=2)
    0.5
    """
    where = "precision_at_k"
    _check_k(where, k)
    queries = _queries(where, relevance, scores)
    vals = [r[:k].sum() / (min(k, r.size) if adaptive_k else k) for r in queries]
    return float(np.mean(vals))


def recall_at_k(relevance: Any, scores: Any, k: int, *, zero_division: Any = "warn") -> float:
    """Recall at ``k``: fraction of all relevant items that are among the ``k`` highest-scored.

    Arguments as in :func:`precision_at_k`; a query without relevant items gives
    ``zero_division`` (0.0 with a warning by default). Several queries: the mean.

    >>> recall_at_k([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1], k=2)
    0.5
    """
    where = "recall_at_k"
    _check_k(where, k)
    check_zero_division(where, zero_division)
    queries = _queries(where, relevance, scores)
    vals, empty = [], 0
    for r in queries:
        n_rel = r.sum()
        if n_rel == 0:
            empty += 1
            vals.append(zero_division_value(zero_division))
        else:
            vals.append(r[:k].sum() / n_rel)
    if empty and zero_division == "warn":
        warn_undefined(f"{where}: {empty} query(ies) have no relevant item; their recall is set to 0.0")
    return float(np.mean(vals))


def mean_average_precision(y_true: Any, scores: Any, *, k: int | None = None, labels: Any = None,
                           zero_division: Any = "warn") -> float:
    """Mean average precision, over classes or over queries.

    Two uses:

    * ``mean_average_precision(y, S)`` with class labels ``y (N,)`` and a score matrix
      ``S (N, K)``: the mean over classes of the one-vs-rest :func:`average_precision`
      (step-wise, ties grouped). Classes absent from ``y`` are left out (with a warning).
    * ``mean_average_precision(relevance, scores)`` with one relevance array and one score array
      per query (lists, or arrays of shape (Q, n)): the mean over queries of
      ``AP = (1/R) sum_{relevant ranks i} P@i``; with ``k``, ``AP@k`` divides by ``min(R, k)``
      and only ranks ``i <= k`` count. Queries without relevant items give ``zero_division``.

    >>> mean_average_precision([[1, 0, 1], [0, 1, 0]], [[0.9, 0.8, 0.7], [0.3, 0.2, 0.1]])
    0.666...
    """
    where = "mean_average_precision"
    check_zero_division(where, zero_division)
    _check_k(where, k, allow_none=True)
    queries_given = _is_query_list(y_true) or _is_query_list(scores) or (
        np.ndim(y_true) == 2 and np.shape(y_true) == np.shape(scores))
    if not queries_given:
        if k is not None:
            raise ValueError(f"{where}: k applies to queries (lists of relevance arrays), not to class labels")
        s = _score_matrix(where, scores)
        if s.ndim != 2:
            raise ValueError(f"{where}: expected a score matrix (N, K) with class labels, got scores {s.shape}")
        lab, cols = _ovr(where, y_true, s, labels)
        present = [(yc, sc) for yc, sc in cols if yc.any()]
        absent = [c for c, (yc, _) in zip(lab.tolist(), cols) if not yc.any()]
        if absent:
            warn_undefined(f"{where}: classes {absent} are absent from y_true and left out of the mean")
        return float(np.mean([_ap(yc, sc) for yc, sc in present]))
    queries = _queries(where, y_true, scores)
    vals, empty = [], 0
    for r in queries:
        n_rel = int(r.sum())
        if n_rel == 0:
            empty += 1
            vals.append(zero_division_value(zero_division))
            continue
        top = r[:k]  # k None: every rank
        prec_at = np.cumsum(top) / np.arange(1, top.size + 1)
        vals.append(float(prec_at[top].sum()) / (n_rel if k is None else min(n_rel, k)))
    if empty and zero_division == "warn":
        warn_undefined(f"{where}: {empty} query(ies) have no relevant item; their AP is set to 0.0")
    return float(np.mean(vals))
