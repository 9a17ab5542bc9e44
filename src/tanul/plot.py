"""Pictures for evaluation: learning curves, confusion matrix, ROC / PR curves, decision boundary, images.

Needs matplotlib (``pip install tanul[plot]``), imported only when a function runs. Every
function builds a ``matplotlib.figure.Figure`` directly (no ``pyplot``, so no global state and
no GUI backend: safe in scripts, tests and servers), returns it, and with ``save="path.png"``
also writes it atomically (a temporary file in the same folder, then ``os.replace``); the
format follows the suffix (``.png``, ``.pdf``, ``.svg``, ...). In a notebook, display the
returned figure by leaving it as the cell's last value.

>>> import numpy as np
>>> from tanul import plot
>>> fig = plot.plot_confusion_matrix(np.array([[5, 1], [2, 7]]), labels=["cat", "dog"])
>>> fig.axes[0].get_xlabel(), fig.axes[0].get_ylabel()
('predicted', 'true')
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from tanul.io import atomic_path

__all__ = ["plot_history", "plot_confusion_matrix", "plot_roc", "plot_precision_recall",
           "plot_decision_boundary", "plot_images", "optimizer_paths", "animate_optimizer_paths"]

MISCLASSIFIED_COLOR = "red"


def _figure(figsize: tuple[float, float]):
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("tanul.plot needs matplotlib: pip install tanul[plot]") from exc
    return Figure(figsize=figsize, layout="constrained")


def _finish(fig, save: Any, dpi: int = 110):
    """Write ``fig`` to ``save`` atomically (format from the suffix) and return it."""
    if save is None:
        return fig
    path = Path(os.fspath(save))
    fmt = path.suffix.lstrip(".").lower()
    if not fmt:
        raise ValueError(f"plot: expected a file name with a suffix such as .png or .pdf, got {str(path)!r}")
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: F401  (registers the Agg canvas)

    supported = fig.canvas.get_supported_filetypes()
    if fmt not in supported:
        raise ValueError(f"plot: cannot write {fmt!r} files; expected one of {', '.join(sorted(supported))}")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=fmt, dpi=dpi, bbox_inches="tight")
    return fig


# ---------------------------------------------------------------------- learning curves
def _history_dict(history: Any) -> tuple[dict[str, list[float]], list[int], int | None]:
    if hasattr(history, "history") and isinstance(history.history, dict):
        hist = history.history
        epochs = [e + 1 for e in getattr(history, "epoch", [])] or None
        best = getattr(history, "best_epoch", None)
    elif isinstance(history, dict):
        hist, epochs, best = history, None, None
    else:
        raise TypeError(f"plot_history: expected a History (model.history) or a dict of lists, got {history!r}")
    if not hist or not any(len(v) for v in hist.values()):
        raise ValueError("plot_history: the history is empty (train the model first)")
    n = max(len(v) for v in hist.values())
    if epochs is None or len(epochs) != n:
        epochs = list(range(1, n + 1))
    return {k: [float(x) for x in v] for k, v in hist.items()}, epochs, best


def plot_history(history: Any, metrics: list[str] | None = None, *, best_epoch: int | None = None,
                 save: Any = None):
    """Learning curves: one panel for the loss and one per metric, training vs validation.

    Parameters
    ----------
    history : History or dict
        ``model.history`` (or the dict ``{"loss": [...], "val_loss": [...], "accuracy": [...]}``).
    metrics : list of str, optional
        Panels to draw (default: ``loss`` then every other training key).
    best_epoch : int, optional
        0-based epoch to mark with a vertical line. Default: ``history.best_epoch`` (set by
        ``EarlyStopping``), else the epoch of lowest ``val_loss`` (or ``loss``).
    save : path, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    hist, epochs, best = _history_dict(history)
    if metrics is None:
        keys = [k for k in hist if not k.startswith("val_")]
        keys = (["loss"] if "loss" in keys else []) + [k for k in keys if k != "loss"]
        if not keys:  # validation only
            keys = [k[4:] for k in hist]
    else:
        keys = list(metrics)
        unknown = [k for k in keys if k not in hist and f"val_{k}" not in hist]
        if unknown:
            raise ValueError(f"plot_history: no values for {unknown}; the history has {sorted(hist)}")
    if best_epoch is not None:
        best = best_epoch
    if best is None:
        ref = hist.get("val_loss") or hist.get("loss")
        if ref:
            best = int(np.argmin(ref))
    fig = _figure((4.2 * len(keys), 3.4))
    axes = fig.subplots(1, len(keys), squeeze=False)[0]
    for ax, key in zip(axes, keys):
        for name, label, style in ((key, "training", "-"), (f"val_{key}", "validation", "--")):
            if name in hist and hist[name]:
                vals = hist[name]
                ax.plot(epochs[:len(vals)], vals, style, marker="o" if len(vals) < 30 else None,
                        markersize=3, label=label)
        if best is not None and 0 <= best < len(epochs):
            ax.axvline(epochs[best], color="0.4", linestyle=":", linewidth=1.5,
                       label=f"best epoch {epochs[best]}")
        ax.set_xlabel("epoch")
        ax.set_ylabel(key)
        ax.set_title(key)
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    return _finish(fig, save)


# ---------------------------------------------------------------------- confusion matrix
def plot_confusion_matrix(cm: Any, labels: Any = None, *, title: str | None = None, cmap: str = "Blues",
                          save: Any = None):
    """Heat map of a confusion matrix with the count and the row percentage in every cell.

    Rows are true classes, columns predicted ones; a cell's colour is its share of the row (the
    per-class recall on the diagonal), so rare classes stay readable.

    Parameters
    ----------
    cm : array (K, K) of counts
        From ``tanul.metrics.confusion_matrix``.
    labels : list of str, optional
        Class names for the ticks (default ``0 .. K-1``).
    """
    c = np.asarray(cm)
    if c.ndim != 2 or c.shape[0] != c.shape[1] or c.shape[0] == 0:
        raise ValueError(f"plot_confusion_matrix: expected a square (K, K) matrix, got shape {c.shape}")
    if c.dtype.kind not in "biuf" or np.any(c < 0) or not np.all(np.isfinite(c)):
        raise ValueError("plot_confusion_matrix: expected non-negative finite counts")
    k = c.shape[0]
    names = [str(i) for i in range(k)] if labels is None else [str(n) for n in labels]
    if len(names) != k:
        raise ValueError(f"plot_confusion_matrix: expected {k} labels, got {len(names)}")
    rows = c.sum(axis=1, keepdims=True)
    share = np.divide(c, rows, out=np.zeros(c.shape), where=rows != 0)
    size = max(3.5, 0.6 * k + 2)
    fig = _figure((size + 0.8, size))
    ax = fig.add_subplot()
    im = ax.imshow(share, cmap=cmap, vmin=0.0, vmax=1.0)
    fig.colorbar(im, ax=ax, label="share of the true class", fraction=0.046, pad=0.04)
    fontsize = 9 if k <= 10 else 7
    for i in range(k):
        for j in range(k):
            count = int(c[i, j]) if c.dtype.kind in "biu" or float(c[i, j]).is_integer() else float(c[i, j])
            ax.text(j, i, f"{count}\n{100 * share[i, j]:.0f}%", ha="center", va="center", fontsize=fontsize,
                    color="white" if share[i, j] > 0.5 else "black")
    ax.set_xticks(range(k), names, rotation=45 if max(len(n) for n in names) > 3 else 0)
    ax.set_yticks(range(k), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    total = c.sum()
    acc = np.trace(c) / total if total else 0.0
    ax.set_title(title if title is not None else f"confusion matrix (accuracy {acc:.3f}, n={int(total)})")
    return _finish(fig, save)


# ---------------------------------------------------------------------- ROC / PR
def _curves(where: str, y_true: Any, scores: Any, labels: Any):
    """[(name, binary truth, positive scores)] for a binary problem, one-vs-rest, or a dict of models."""
    from tanul.metrics.registry import true_labels

    if isinstance(scores, dict):
        out = []
        for name, s in scores.items():
            sub = _curves(where, y_true, s, labels)
            if len(sub) != 1:
                raise ValueError(f"{where}: a dict of scores compares binary models; {name!r} has {len(sub)} "
                                 "classes")
            out.append((str(name), sub[0][1], sub[0][2]))
        return out
    y = true_labels(y_true, where)
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim == 2 and s.shape[1] == 1:
        s = s[:, 0]
    if s.ndim == 2 and s.shape[1] == 2:
        s = s[:, 1]
    if s.ndim == 1:
        classes = np.unique(y)
        if len(classes) > 2:
            raise ValueError(f"{where}: y_true has {len(classes)} classes but scores is 1-D; give the (N, K) "
                             "probability matrix")
        pos = classes.max() if labels is None else list(labels)[-1]
        return [(None, y == pos, s)]
    if s.ndim != 2:
        raise ValueError(f"{where}: expected scores of shape (N,) or (N, K), got {s.shape}")
    names = [str(c) for c in range(s.shape[1])] if labels is None else [str(n) for n in labels]
    if len(names) != s.shape[1]:
        raise ValueError(f"{where}: expected {s.shape[1]} labels (one per column), got {len(names)}")
    return [(f"class {names[c]}", y == c, s[:, c]) for c in range(s.shape[1]) if (y == c).any()]


def _legend_ncol(n: int) -> int:
    return 1 if n <= 6 else 2


def plot_roc(y_true: Any, scores: Any, labels: Any = None, *, title: str | None = None, save: Any = None):
    """ROC curves with the AUC of each in the legend.

    Parameters
    ----------
    y_true : array (N,) of labels (or one-hot rows)
    scores : array (N,), (N, 1), (N, 2), (N, K), or dict name -> binary scores
        Binary: one curve. ``(N, K)``: one-vs-rest curve per class present in ``y_true``, and
        the macro AUC in the title. A dict draws one curve per model (binary), for comparison.
    labels : list, optional
        Class names for the legend (one per column).
    """
    from tanul.metrics import roc_auc, roc_curve

    curves = _curves("plot_roc", y_true, scores, labels)
    fig = _figure((5.2, 4.6))
    ax = fig.add_subplot()
    aucs = []
    for name, y, s in curves:
        fpr, tpr, _ = roc_curve(y.astype(np.int64), s)
        a = roc_auc(y.astype(np.int64), s)
        aucs.append(a)
        ax.plot(fpr, tpr, linewidth=1.6, label=f"{name + ' ' if name else ''}(AUC = {a:.3f})")
    ax.plot([0, 1], [0, 1], linestyle="--", color="0.6", linewidth=1, label="chance (AUC = 0.5)")
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(-0.01, 1.01)
    ax.set_aspect("equal")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    if title is None:
        title = "ROC curve" if len(curves) == 1 else (
            f"ROC one-vs-rest (macro AUC = {np.mean(aucs):.3f})" if not isinstance(scores, dict)
            else "ROC curves")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize="small", ncol=_legend_ncol(len(curves)))
    return _finish(fig, save)


def plot_precision_recall(y_true: Any, scores: Any, labels: Any = None, *, title: str | None = None,
                          save: Any = None):
    """Precision-recall curves (steps, as average precision integrates them) with AP in the legend.

    Arguments as in :func:`plot_roc`. A dotted line marks the prevalence of the positives (the
    precision of a random ranking) for a single curve.
    """
    from tanul.metrics import average_precision, precision_recall_curve

    curves = _curves("plot_precision_recall", y_true, scores, labels)
    fig = _figure((5.2, 4.6))
    ax = fig.add_subplot()
    aps = []
    for name, y, s in curves:
        p, r, _ = precision_recall_curve(y.astype(np.int64), s)
        ap = average_precision(y.astype(np.int64), s)
        aps.append(ap)
        ax.step(r, p, where="post", linewidth=1.6, label=f"{name + ' ' if name else ''}(AP = {ap:.3f})")
    if len(curves) == 1:
        prevalence = float(np.mean(curves[0][1]))
        ax.axhline(prevalence, linestyle=":", color="0.6", label=f"chance (AP = {prevalence:.3f})")
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(-0.01, 1.05)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    if title is None:
        title = "precision-recall curve" if len(curves) == 1 else (
            f"precision-recall one-vs-rest (mean AP = {np.mean(aps):.3f})" if not isinstance(scores, dict)
            else "precision-recall curves")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left", fontsize="small", ncol=_legend_ncol(len(curves)))
    return _finish(fig, save)


# ---------------------------------------------------------------------- decision boundary
def _grid_scores(model: Any, grid: np.ndarray) -> np.ndarray:
    if hasattr(model, "predict_proba"):
        try:
            return np.asarray(model.predict_proba(grid), dtype=np.float64)
        except RuntimeError:  # e.g. a tanul model used without compile: fall back to predict
            pass
    if hasattr(model, "predict"):
        return np.asarray(model.predict(grid), dtype=np.float64)
    if callable(model):
        return np.asarray(model(grid), dtype=np.float64)
    raise TypeError(f"plot_decision_boundary: expected a model with predict_proba or predict, got {model!r}")


def plot_decision_boundary(model: Any, x: Any, y: Any, *, resolution: int = 200, margin: float = 0.5,
                           title: str | None = None, save: Any = None):
    """Decision regions of a classifier on 2-D inputs, coloured by predicted probability, with the data.

    The picture of the TensorFlow Playground: the model is evaluated on a ``resolution`` x
    ``resolution`` grid covering the data (plus ``margin``). Two classes: the background is
    ``P(class 1)`` on a diverging scale with the 0.5 contour drawn; more classes: the colour of
    the predicted class, faded where the model is unsure (alpha = its probability).

    Parameters
    ----------
    model : object with ``predict_proba(X)`` or ``predict(X)`` (or a function X -> scores)
        Outputs (M,) / (M, 1) probabilities or (M, K) class scores.
    x : array (N, 2)
    y : array (N,) integer labels
    """
    xa = np.asarray(x, dtype=np.float64)
    ya = np.asarray(y).reshape(-1)
    if xa.ndim != 2 or xa.shape[1] != 2:
        raise ValueError(f"plot_decision_boundary: expected x of shape (N, 2), got {xa.shape}")
    if ya.shape[0] != xa.shape[0]:
        raise ValueError(f"plot_decision_boundary: x and y must have the same number of samples, got "
                         f"{xa.shape[0]} and {ya.shape[0]}")
    if isinstance(resolution, bool) or not isinstance(resolution, (int, np.integer)) or resolution < 2:
        raise ValueError(f"plot_decision_boundary: expected resolution to be an int >= 2, got {resolution!r}")
    lo, hi = xa.min(axis=0) - margin, xa.max(axis=0) + margin
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution))
    grid = np.column_stack([gx.ravel(), gy.ravel()]).astype(np.float32)
    out = _grid_scores(model, grid)
    if out.ndim == 2 and out.shape[1] == 1:
        out = out[:, 0]
    if out.shape[0] != grid.shape[0]:
        raise ValueError(f"plot_decision_boundary: the model returned {out.shape[0]} rows for {grid.shape[0]} "
                         "grid points")
    classes = np.unique(ya)
    fig = _figure((5.2, 4.6))
    ax = fig.add_subplot()
    extent = (lo[0], hi[0], lo[1], hi[1])
    from matplotlib import colormaps

    if out.ndim == 1 or out.shape[1] == 2:
        p1 = (out if out.ndim == 1 else out[:, 1]).reshape(gx.shape)
        if p1.min() < 0 or p1.max() > 1:  # raw scores, not probabilities: squash for the colour scale
            p1 = 1.0 / (1.0 + np.exp(-np.clip(p1, -30, 30)))
        im = ax.imshow(p1, origin="lower", extent=extent, cmap="RdBu_r", vmin=0, vmax=1, alpha=0.55,
                       aspect="auto", interpolation="bilinear")
        fig.colorbar(im, ax=ax, label="P(class 1)", fraction=0.046, pad=0.04)
        ax.contour(gx, gy, p1, levels=[0.5], colors="k", linewidths=1.2)
        point_colors = colormaps["RdBu_r"](np.where(ya == classes.max(), 0.97, 0.03))
    else:
        cls = out.argmax(axis=1).reshape(gx.shape)
        conf = out.max(axis=1).reshape(gx.shape)
        if conf.min() < 0 or conf.max() > 1:
            conf = np.full_like(conf, 1.0)
        cmap = colormaps["tab10"]
        rgba = cmap(cls % 10)
        rgba[..., 3] = 0.15 + 0.35 * conf
        ax.imshow(rgba, origin="lower", extent=extent, aspect="auto", interpolation="nearest")
        point_colors = cmap(ya.astype(np.int64) % 10)
    for c in classes:
        m = ya == c
        ax.scatter(xa[m, 0], xa[m, 1], s=16, c=point_colors[m], edgecolors="k", linewidths=0.5,
                   label=f"class {c}")
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_title(title if title is not None else "decision boundary")
    ax.legend(loc="upper right", fontsize="small")
    return _finish(fig, save)


# ---------------------------------------------------------------------- images
def _as_images(images: Any) -> tuple[np.ndarray, bool]:
    """(N, H, W) grey or (N, H, W, 3) colour from NCHW, (N, H, W) or flat square (N, D)."""
    a = np.asarray(images, dtype=np.float64)
    if a.ndim == 2:
        side = int(round(np.sqrt(a.shape[1])))
        if side * side != a.shape[1]:
            raise ValueError(f"plot_images: flat images of {a.shape[1]} pixels are not square; reshape to "
                             "(N, H, W) or (N, C, H, W)")
        a = a.reshape(-1, side, side)
    if a.ndim == 4:
        if a.shape[1] == 1:
            a = a[:, 0]
        elif a.shape[1] == 3:
            a = a.transpose(0, 2, 3, 1)
        else:
            raise ValueError(f"plot_images: expected 1 or 3 channels in NCHW images, got shape {a.shape}")
    elif a.ndim != 3:
        raise ValueError(f"plot_images: expected images of shape (N, H, W), (N, C, H, W) or (N, H*W), got "
                         f"{np.shape(images)}")
    return a, a.ndim == 4


def plot_images(images: Any, y_true: Any = None, y_pred: Any = None, *, ncols: int = 8, max_images: int = 64,
                class_names: Any = None, cmap: str = "gray_r", save: Any = None):
    """A grid of images titled with their labels; misclassified ones have red titles.

    Parameters
    ----------
    images : array (N, C, H, W) with C in {1, 3}, (N, H, W), or (N, H*W) square
    y_true : array (N,), optional
    y_pred : array (N,), optional
        With it, titles read ``"true 3 / pred 5"``; those with ``pred != true`` are red.
    ncols : int
    max_images : int
        The first ``max_images`` are drawn.
    class_names : list, optional
        Names for the labels in the titles.
    """
    imgs, colour = _as_images(images)
    n = imgs.shape[0]
    for name, val in (("ncols", ncols), ("max_images", max_images)):
        if isinstance(val, bool) or not isinstance(val, (int, np.integer)) or val < 1:
            raise ValueError(f"plot_images: expected {name} to be a positive int, got {val!r}")
    yt = None if y_true is None else np.asarray(y_true).reshape(-1)
    yp = None if y_pred is None else np.asarray(y_pred).reshape(-1)
    for name, arr in (("y_true", yt), ("y_pred", yp)):
        if arr is not None and arr.shape[0] != n:
            raise ValueError(f"plot_images: expected {n} labels in {name} (one per image), got {arr.shape[0]}")
    if n == 0:
        raise ValueError("plot_images: expected at least one image")

    def name_of(v: Any) -> str:
        return str(class_names[int(v)]) if class_names is not None else str(v)

    shown = min(n, max_images)
    cols = min(ncols, shown)
    rows = int(np.ceil(shown / cols))
    fig = _figure((1.35 * cols, 1.55 * rows + 0.2))
    for i in range(shown):
        ax = fig.add_subplot(rows, cols, i + 1)
        img = imgs[i]
        if colour:
            lo, hi = img.min(), img.max()
            ax.imshow((img - lo) / (hi - lo) if hi > lo else np.zeros_like(img))
        else:
            ax.imshow(img, cmap=cmap, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        if yt is not None and yp is not None:
            wrong = yt[i] != yp[i]
            ax.set_title(f"true {name_of(yt[i])} / pred {name_of(yp[i])}", fontsize=8,
                         color=MISCLASSIFIED_COLOR if wrong else "black")
            if wrong:
                for spine in ax.spines.values():
                    spine.set_edgecolor(MISCLASSIFIED_COLOR)
                    spine.set_linewidth(1.5)
        elif yt is not None:
            ax.set_title(name_of(yt[i]), fontsize=8)
        elif yp is not None:
            ax.set_title(f"pred {name_of(yp[i])}", fontsize=8)
    return _finish(fig, save)


# ---------------------------------------------------------------------- optimisers on 2-D surfaces
from tanul.plot_paths import animate_optimizer_paths, optimizer_paths  # noqa: E402
from tanul.protocol import register_history_plotter  # noqa: E402

register_history_plotter(plot_history)  # History.plot and LivePlot draw through tanul.protocol
