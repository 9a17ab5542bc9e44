"""Evaluation metrics: classification, scores and ranking, regression; ``get`` for ``compile``.

All functions take plain arrays and agree with their scikit-learn counterparts (the tests use
scikit-learn as the oracle). Formulas are in each submodule's docstring and in
``docs/evaluation.md``.

>>> from tanul import metrics
>>> metrics.accuracy([0, 1, 1], [0, 1, 0])
0.666...
>>> metrics.get("f1_macro").name
'f1_macro'
"""

from tanul.metrics._checks import UndefinedMetricWarning
from tanul.metrics.classification import (
    ConfusionCounts,
    accuracy,
    classification_report,
    confusion_counts,
    confusion_matrix,
    f1,
    fbeta,
    precision,
    precision_recall_fscore_support,
    recall,
    top_k_accuracy,
)
from tanul.metrics.registry import Metric, get, names
from tanul.metrics.regression import mae, mse, r2, rmse
from tanul.metrics.scores import (
    auc,
    average_precision,
    mean_average_precision,
    precision_at_k,
    precision_recall_curve,
    recall_at_k,
    roc_auc,
    roc_curve,
)

__all__ = [
    "UndefinedMetricWarning", "Metric", "get", "names",
    "ConfusionCounts", "confusion_matrix", "confusion_counts", "accuracy", "precision", "recall", "f1",
    "fbeta", "precision_recall_fscore_support", "classification_report", "top_k_accuracy",
    "roc_curve", "roc_auc", "auc", "precision_recall_curve", "average_precision", "mean_average_precision",
    "precision_at_k", "recall_at_k",
    "mse", "rmse", "mae", "r2",
]
