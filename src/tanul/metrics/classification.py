"""Metrics on predicted class labels: confusion matrix, accuracy, precision, recall, F-beta.

Every count comes from one table, the confusion matrix ``C`` (rows: true class, columns:
predicted class). For class ``c`` (one-vs-rest)::

    TP_c = C[c, c]                FP_c = sum_i C[i, c] - TP_c     (predicted c, was not)
    FN_c = sum_j C[c, j] - TP_c   TN_c = N - TP_c - FP_c - FN_c

    precision_c = TP_c / (TP_c + FP_c)      recall_c = TP_c / (TP_c + FN_c)
    F_beta,c    = (1 + b^2) TP_c / ((1 + b^2) TP_c + b^2 FN_c + FP_c)

Averages as in scikit-learn: ``"binary"`` reports ``pos_label`` only; ``"macro"`` is the plain
mean over classes; ``"weighted"`` weights each class by its support ``TP_c + FN_c``; ``"micro"``
sums TP, FP, FN over classes first (for single-label data micro precision = recall = F1 =
accuracy); ``None`` returns the per-class array. A ratio whose denominator is 0 (a class never
predicted, or absent) is set to ``zero_division`` (0.0 with an ``UndefinedMetricWarning`` by
default), never NaN.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tanul.metrics._checks import (
    check_same_length,
    check_zero_division,
    labels_1d,
    safe_divide,
)

AVERAGES = (None, "binary", "macro", "micro", "weighted")


def _pair(where: str, y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    yt = labels_1d(where, y_true, "y_true")
    yp = labels_1d(where, y_pred, "y_pred")
    check_same_length(where, yt, yp, ("y_true", "y_pred"))
    return yt, yp


def _resolve_labels(where: str, yt: np.ndarray, yp: np.ndarray, labels: Any) -> np.ndarray:
    if labels is None:
        try:
            return np.union1d(yt, yp)
        except TypeError:
            raise TypeError(f"{where}: y_true and y_pred mix label types ({yt.dtype} and {yp.dtype}); "
                            "use one type of label (all ints or all strings)") from None
    lab = np.asarray(labels)
    if lab.ndim != 1 or lab.size == 0:
        raise ValueError(f"{where}: expected labels to be a non-empty 1-D list, got {labels!r}")
    if np.unique(lab).size != lab.size:
        raise ValueError(f"{where}: expected distinct labels, got {lab.tolist()}")
    return lab


def _encode(where: str, y: np.ndarray, labels: np.ndarray, name: str) -> np.ndarray:
    """Index of each value of ``y`` in ``labels`` (user order); unknown values raise ValueError."""
    sorter = np.argsort(labels, kind="stable")
    ordered = labels[sorter]
    try:
        pos = np.clip(np.searchsorted(ordered, y), 0, len(ordered) - 1)
        ok = ordered[pos] == y
    except TypeError:
        raise TypeError(f"{where}: {name} has labels of type {y.dtype} but labels= has type "
                        f"{labels.dtype}") from None
    if not np.all(ok):
        unknown = np.unique(y[~ok])
        raise ValueError(f"{where}: {name} contains label(s) {unknown[:10].tolist()} that are not in "
                         f"labels={labels.tolist()}")
    return sorter[pos]


def confusion_matrix(y_true: Any, y_pred: Any, labels: Any = None, normalize: str | None = None) -> np.ndarray:
    """Confusion matrix ``C[i, j]`` = number of samples of true class ``labels[i]`` predicted as ``labels[j]``.

    Parameters
    ----------
    y_true, y_pred : array (N,)
        Class labels (ints or strings).
    labels : list, optional
        Classes in the order of rows/columns. Default: the sorted union of both arrays. A sample
        whose label is not in ``labels`` raises ``ValueError``.
    normalize : {None, "true", "pred", "all"}
        Divide by row sums (recall per class on the diagonal), column sums, or ``N``.

    Returns
    -------
    array (K, K), int64 (float64 when normalised)

    >>> confusion_matrix([0, 1, 2, 2], [0, 2, 2, 1])
    array([[1, 0, 0],
           [0, 0, 1],
           [0, 1, 1]])
    """
    where = "confusion_matrix"
    yt, yp = _pair(where, y_true, y_pred)
    lab = _resolve_labels(where, yt, yp, labels)
    k = len(lab)
    ti = _encode(where, yt, lab, "y_true")
    pi = _encode(where, yp, lab, "y_pred")
    cm = np.bincount(ti * k + pi, minlength=k * k).reshape(k, k).astype(np.int64)
    if normalize is None:
        return cm
    if normalize not in ("true", "pred", "all"):
        raise ValueError(f"{where}: expected normalize in (None, 'true', 'pred', 'all'), got {normalize!r}")
    den = {"true": cm.sum(axis=1, keepdims=True), "pred": cm.sum(axis=0, keepdims=True),
           "all": np.array(cm.sum())}[normalize]
    return np.divide(cm, den, out=np.zeros(cm.shape), where=den != 0)


@dataclass(frozen=True, repr=False)
class ConfusionCounts:
    """One-vs-rest counts per class: ``tp[c]``, ``fp[c]``, ``fn[c]``, ``tn[c]`` for ``labels[c]``."""

    labels: np.ndarray
    tp: np.ndarray
    fp: np.ndarray
    fn: np.ndarray
    tn: np.ndarray

    @property
    def support(self) -> np.ndarray:
        """Number of true samples per class, ``tp + fn``."""
        return self.tp + self.fn

    def as_dict(self) -> dict[str, np.ndarray]:
        return {"labels": self.labels, "tp": self.tp, "fp": self.fp, "fn": self.fn, "tn": self.tn}

    def __repr__(self) -> str:
        return (f"ConfusionCounts(labels={self.labels.tolist()}, tp={self.tp.tolist()}, "
                f"fp={self.fp.tolist()}, fn={self.fn.tolist()}, tn={self.tn.tolist()})")


def confusion_counts(y_true: Any, y_pred: Any, labels: Any = None) -> ConfusionCounts:
    """Per-class TP, FP, FN, TN (one class against the rest), read off the confusion matrix.

    >>> confusion_counts([0, 1, 1, 2], [0, 1, 2, 2])
    ConfusionCounts(labels=[0, 1, 2], tp=[1, 1, 1], fp=[0, 0, 1], fn=[0, 1, 0], tn=[3, 2, 2])
    """
    yt, yp = _pair("confusion_counts", y_true, y_pred)
    lab = _resolve_labels("confusion_counts", yt, yp, labels)
    cm = confusion_matrix(yt, yp, labels=lab)
    tp = np.diag(cm).copy()
    fp = cm.sum(axis=0) - tp
    fn = cm.sum(axis=1) - tp
    tn = cm.sum() - tp - fp - fn
    return ConfusionCounts(lab, tp, fp, fn, tn)


def accuracy(y_true: Any, y_pred: Any, normalize: bool = True) -> float:
    """Fraction of correct predictions, ``(1/N) sum_i [y_i == yhat_i]`` (the count if not ``normalize``).

    >>> accuracy([0, 1, 2, 2], [0, 2, 2, 2])
    0.75
    """
    yt, yp = _pair("accuracy", y_true, y_pred)
    hits = yt == yp
    return float(hits.mean()) if normalize else float(hits.sum())


def _prf(where: str, y_true: Any, y_pred: Any, *, beta: float, labels: Any, pos_label: Any, average: Any,
         zero_division: Any, warn_for: tuple[str, ...]):
    if average not in AVERAGES:
        raise ValueError(f"{where}: expected average in {AVERAGES}, got {average!r}")
    check_zero_division(where, zero_division)
    if isinstance(beta, bool) or not isinstance(beta, (int, float, np.number)) or not beta >= 0:
        raise ValueError(f"{where}: expected beta to be a number >= 0, got {beta!r}")
    yt, yp = _pair(where, y_true, y_pred)
    present = _resolve_labels(where, yt, yp, None)
    if labels is not None:
        lab = _resolve_labels(where, yt, yp, labels)
        _encode(where, yt, lab, "y_true")
        _encode(where, yp, lab, "y_pred")
    else:
        lab = present
    if average == "binary":
        if len(present) > 2:
            raise ValueError(f"{where}: average='binary' needs at most two classes, but the labels are "
                             f"{present.tolist()}; choose average='macro', 'micro', 'weighted' or None")
        if pos_label not in present.tolist() and len(present) == 2:
            raise ValueError(f"{where}: pos_label={pos_label!r} is not one of the labels "
                             f"{present.tolist()}; pass pos_label=<the positive class>")
        t, p = yt == pos_label, yp == pos_label
        tp_sum = np.array([np.sum(t & p)])
        pred_sum = np.array([np.sum(p)])
        true_sum = np.array([np.sum(t)])
    else:
        cm = confusion_matrix(yt, yp, labels=lab)
        tp_sum, pred_sum, true_sum = np.diag(cm), cm.sum(axis=0), cm.sum(axis=1)
        if average == "micro":
            tp_sum, pred_sum, true_sum = (a.sum(keepdims=True) for a in (tp_sum, pred_sum, true_sum))

    def zd(name: str) -> Any:
        return zero_division if name in warn_for or zero_division != "warn" else 0.0

    # (micro sums: pred_sum = true_sum = N >= 1, never undefined; binary and per-class may be)
    precision = safe_divide(tp_sum, pred_sum, zd("precision"), "Precision", "labels with no predicted samples")
    recall = safe_divide(tp_sum, true_sum, zd("recall"), "Recall", "labels with no true samples")
    if np.isposinf(beta):
        f = recall
    elif beta == 0:
        f = precision
    else:
        b2 = float(beta) ** 2
        f = safe_divide((1 + b2) * tp_sum, b2 * true_sum + pred_sum, zd("f-score"), "F-score",
                        "labels with no true nor predicted samples")
    if average is None:
        return precision, recall, f, true_sum
    # weighted: by support; the supports add up to N >= 1 (every sample's class is in the labels)
    weights = true_sum.astype(np.float64) if average == "weighted" else None
    out = []
    for v in (precision, recall, f):
        keep = ~np.isnan(v)
        if not keep.any():
            out.append(float("nan"))
        else:
            out.append(float(np.average(v[keep], weights=None if weights is None else weights[keep])))
    return out[0], out[1], out[2], None


def precision_recall_fscore_support(y_true: Any, y_pred: Any, *, beta: float = 1.0, labels: Any = None,
                                    pos_label: Any = 1, average: str | None = None,
                                    zero_division: Any = "warn"):
    """Precision, recall, F-beta and support (per class when ``average=None``), as in scikit-learn.

    Returns ``(precision, recall, fbeta, support)``; ``support`` (true samples per class) is None
    when averaged.
    """
    return _prf("precision_recall_fscore_support", y_true, y_pred, beta=beta, labels=labels,
                pos_label=pos_label, average=average, zero_division=zero_division,
                warn_for=("precision", "recall", "f-score"))


def precision(y_true: Any, y_pred: Any, *, labels: Any = None, pos_label: Any = 1,
              average: str | None = "binary", zero_division: Any = "warn"):
    """Precision ``TP / (TP + FP)``: of the samples predicted positive, the fraction that are.

    Parameters
    ----------
    y_true, y_pred : array (N,)
    labels : list, optional
        Classes to report (default: sorted union of both arrays).
    pos_label : default 1
        The positive class for ``average="binary"``.
    average : {"binary", "macro", "micro", "weighted", None}
    zero_division : {"warn", 0, 1, np.nan}
        Value when ``TP + FP = 0``; ``"warn"`` gives 0.0 and an ``UndefinedMetricWarning``.

    Returns
    -------
    float, or array (K,) when ``average=None``

    >>> precision([0, 1, 1, 0], [1, 1, 1, 0])
    0.666...
    >>> precision([0, 1, 2, 2], [0, 2, 2, 2], average=None, zero_division=0)
    array([1.        , 0.        , 0.66666667])
    """
    return _prf("precision", y_true, y_pred, beta=1.0, labels=labels, pos_label=pos_label, average=average,
                zero_division=zero_division, warn_for=("precision",))[0]


def recall(y_true: Any, y_pred: Any, *, labels: Any = None, pos_label: Any = 1, average: str | None = "binary",
           zero_division: Any = "warn"):
    """Recall (sensitivity, true-positive rate) ``TP / (TP + FN)``: of the positives, the fraction found.

    Arguments as in :func:`precision`.

    >>> recall([0, 1, 1, 0], [1, 1, 0, 0])
    0.5
    """
    return _prf("recall", y_true, y_pred, beta=1.0, labels=labels, pos_label=pos_label, average=average,
                zero_division=zero_division, warn_for=("recall",))[1]


def fbeta(y_true: Any, y_pred: Any, *, beta: float, labels: Any = None, pos_label: Any = 1,
          average: str | None = "binary", zero_division: Any = "warn"):
    """F-beta ``(1 + b^2) TP / ((1 + b^2) TP + b^2 FN + FP)``: recall weighted ``beta`` times as much.

    ``beta = 1`` is F1, the harmonic mean of precision and recall; ``beta = 0`` is precision,
    ``beta = inf`` recall. Undefined only when there is neither a true nor a predicted sample of
    the class. Arguments as in :func:`precision`.

    >>> fbeta([0, 1, 1, 0], [1, 1, 0, 0], beta=2.0)
    0.5
    """
    return _prf("fbeta", y_true, y_pred, beta=beta, labels=labels, pos_label=pos_label, average=average,
                zero_division=zero_division, warn_for=("f-score",))[2]


def f1(y_true: Any, y_pred: Any, *, labels: Any = None, pos_label: Any = 1, average: str | None = "binary",
       zero_division: Any = "warn"):
    """F1 score ``2 TP / (2 TP + FN + FP)`` = harmonic mean of precision and recall.

    Arguments as in :func:`precision`. ``average="macro"`` is the mean of the per-class F1
    scores (not the F1 of the mean precision and recall).

    >>> f1([0, 1, 1, 0], [1, 1, 0, 0])
    0.5
    >>> round(f1([0, 1, 2, 2], [0, 2, 2, 2], average="macro", zero_division=0), 4)
    0.5
    """
    return _prf("f1", y_true, y_pred, beta=1.0, labels=labels, pos_label=pos_label, average=average,
                zero_division=zero_division, warn_for=("f-score",))[2]


def classification_report(y_true: Any, y_pred: Any, *, labels: Any = None, target_names: Any = None,
                          digits: int = 2, output_dict: bool = False, zero_division: Any = "warn"):
    """Text table of precision, recall, F1 and support per class, with accuracy and averages.

    The layout is scikit-learn's, character for character. ``output_dict=True`` returns
    ``{class_name: {"precision", "recall", "f1-score", "support"}, "accuracy": float,
    "macro avg": {...}, "weighted avg": {...}}`` instead.

    >>> print(classification_report([0, 1, 1, 2], [0, 1, 2, 2]))
                  precision    recall  f1-score   support
    <BLANKLINE>
               0       1.00      1.00      1.00         1
               1       1.00      0.50      0.67         2
               2       0.50      1.00      0.67         1
    <BLANKLINE>
        accuracy                           0.75         4
       macro avg       0.83      0.83      0.78         4
    weighted avg       0.88      0.75      0.75         4
    <BLANKLINE>
    """
    where = "classification_report"
    yt, yp = _pair(where, y_true, y_pred)
    lab = _resolve_labels(where, yt, yp, labels)
    if isinstance(digits, bool) or not isinstance(digits, (int, np.integer)) or digits < 0:
        raise ValueError(f"{where}: expected digits to be an int >= 0, got {digits!r}")
    if target_names is None:
        names = [str(v) for v in lab.tolist()]
    else:
        names = [str(n) for n in target_names]
        if len(names) != len(lab):
            raise ValueError(f"{where}: expected {len(lab)} target_names (one per label {lab.tolist()}), "
                             f"got {len(names)}")
    kw = dict(labels=lab, zero_division=zero_division, warn_for=("precision", "recall", "f-score"),
              beta=1.0, pos_label=1)
    p, r, f, s = _prf(where, yt, yp, average=None, **kw)
    rows = list(zip(names, p, r, f, s))
    acc = float(np.mean(yt == yp))
    n = int(s.sum())
    avgs = {}
    for avg in ("macro", "weighted"):
        ap, ar, af, _ = _prf(where, yt, yp, average=avg, **kw)
        avgs[f"{avg} avg"] = (ap, ar, af, n)
    if output_dict:
        out: dict[str, Any] = {}
        for name, pi, ri, fi, si in rows:
            out[name] = {"precision": float(pi), "recall": float(ri), "f1-score": float(fi), "support": int(si)}
        out["accuracy"] = acc
        for key, (ap, ar, af, sn) in avgs.items():
            out[key] = {"precision": ap, "recall": ar, "f1-score": af, "support": sn}
        return out
    headers = ["precision", "recall", "f1-score", "support"]
    width = max(max(len(nm) for nm in names), len("weighted avg"), digits)
    head_fmt = "{:>{width}s} " + " {:>9}" * len(headers)
    report = head_fmt.format("", *headers, width=width) + "\n\n"
    row_fmt = "{:>{width}s} " + " {:>9.{digits}f}" * 3 + " {:>9}\n"
    for name, pi, ri, fi, si in rows:
        report += row_fmt.format(name, pi, ri, fi, int(si), width=width, digits=digits)
    report += "\n"
    acc_fmt = "{:>{width}s} " + " {:>9.{digits}}" * 2 + " {:>9.{digits}f}" + " {:>9}\n"
    report += acc_fmt.format("accuracy", "", "", acc, n, width=width, digits=digits)
    for key, (ap, ar, af, sn) in avgs.items():
        report += row_fmt.format(key, ap, ar, af, sn, width=width, digits=digits)
    return report


def top_k_accuracy(y_true: Any, scores: Any, k: int = 5, labels: Any = None) -> float:
    """Fraction of samples whose true class is among the ``k`` highest-scored classes.

    Parameters
    ----------
    y_true : array (N,)
    scores : array (N, K) of class scores, or (N,) positive-class probabilities (binary)
    k : int
        ``k >= K`` counts every sample as correct.
    labels : list, optional
        Class of each score column; default ``0 .. K-1``.

    Notes
    -----
    Ties are broken in favour of the earlier column: the true class ``c`` is a hit when
    ``#{j : s_j > s_c} + #{j < c : s_j = s_c} < k``.

    >>> top_k_accuracy([0, 1, 2], [[.5, .3, .2], [.6, .1, .3], [.2, .3, .5]], k=2)
    0.666...
    """
    from tanul.metrics._checks import as_array, check_finite

    where = "top_k_accuracy"
    yt = labels_1d(where, y_true, "y_true")
    s = check_finite(where, as_array(where, scores, "scores").astype(np.float64), "scores")
    check_same_length(where, yt, s, ("y_true", "scores"))
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"{where}: expected k to be a positive int, got {k!r}")
    if s.ndim == 2 and s.shape[1] == 1:
        s = s[:, 0]
    if s.ndim == 1:
        s = np.stack([1.0 - s, s], axis=1)
    if s.ndim != 2:
        raise ValueError(f"{where}: expected scores of shape (N, K) or (N,), got {s.shape}")
    lab = np.arange(s.shape[1]) if labels is None else _resolve_labels(where, yt, yt, labels)
    if len(lab) != s.shape[1]:
        raise ValueError(f"{where}: expected one label per score column ({s.shape[1]}), got {len(lab)}")
    ti = _encode(where, yt, lab, "y_true")
    st = s[np.arange(len(ti)), ti][:, None]
    cols = np.arange(s.shape[1])[None, :]
    rank = np.sum(s > st, axis=1) + np.sum((s == st) & (cols < ti[:, None]), axis=1)
    return float(np.mean(rank < k))
