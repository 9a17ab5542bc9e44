"""tanul.plot: what is drawn (axes, labels, numbers, legend values, colours), and atomic saving."""

import os
import sys

import numpy as np
import pytest

pytest.importorskip("matplotlib")
skm = pytest.importorskip("sklearn.metrics")

from tanul import plot  # noqa: E402
from tanul.callbacks.base import History  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _legend_texts(ax):
    leg = ax.get_legend()
    assert leg is not None
    return [t.get_text() for t in leg.get_texts()]


# ---------------------------------------------------------------------- history
def _history():
    h = History()
    vals = {"loss": [1.0, 0.6, 0.4, 0.35, 0.3], "accuracy": [0.5, 0.7, 0.8, 0.85, 0.9],
            "val_loss": [1.1, 0.7, 0.5, 0.55, 0.6], "val_accuracy": [0.45, 0.65, 0.75, 0.74, 0.73]}
    for e in range(5):
        h.on_epoch_end(e, {k: v[e] for k, v in vals.items()})
    return h, vals


def test_plot_history_panels_lines_and_best_epoch_from_history():
    h, vals = _history()
    h.best_epoch = 2  # as EarlyStopping sets it (0-based)
    fig = plot.plot_history(h)
    assert len(fig.axes) == 2
    loss_ax, acc_ax = fig.axes
    assert loss_ax.get_ylabel() == "loss" and acc_ax.get_ylabel() == "accuracy"
    assert loss_ax.get_xlabel() == "epoch"
    lines = {ln.get_label(): ln for ln in loss_ax.get_lines()}
    np.testing.assert_allclose(lines["training"].get_ydata(), vals["loss"])
    np.testing.assert_allclose(lines["validation"].get_ydata(), vals["val_loss"])
    np.testing.assert_allclose(lines["training"].get_xdata(), [1, 2, 3, 4, 5])
    for ax in fig.axes:
        assert "best epoch 3" in _legend_texts(ax)
        best = [ln for ln in ax.get_lines() if ln.get_label() == "best epoch 3"][0]
        assert list(best.get_xdata()) == [3, 3]


def test_plot_history_dict_marks_lowest_val_loss_and_selects_metrics():
    _, vals = _history()
    fig = plot.plot_history(vals, metrics=["accuracy"])
    assert len(fig.axes) == 1 and fig.axes[0].get_title() == "accuracy"
    assert "best epoch 3" in _legend_texts(fig.axes[0])  # argmin of val_loss is index 2
    with pytest.raises(ValueError, match="no values for \\['f1'\\]"):
        plot.plot_history(vals, metrics=["f1"])
    with pytest.raises(ValueError, match="empty"):
        plot.plot_history({})
    with pytest.raises(TypeError, match="History"):
        plot.plot_history([1, 2])


def test_plot_history_of_a_trained_model():
    import tanul

    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    model = tanul.Sequential([tanul.Dense(4, activation="tanh"), tanul.Dense(2)], seed=0)
    model.compile(optimizer="adam", loss="cross_entropy", metrics=["accuracy"])
    model.fit(x, y, epochs=3, batch_size=16, validation_split=0.25, verbose=0)
    fig = plot.plot_history(model.history)
    assert [ax.get_ylabel() for ax in fig.axes] == ["loss", "accuracy"]
    assert len(fig.axes[1].get_lines()[0].get_ydata()) == 3


# ---------------------------------------------------------------------- confusion matrix
def test_confusion_matrix_cells_show_counts_and_row_percentages():
    rng = np.random.default_rng(1)
    yt, yp = rng.integers(0, 3, 50), rng.integers(0, 3, 50)
    cm = skm.confusion_matrix(yt, yp)
    fig = plot.plot_confusion_matrix(cm, labels=["ant", "bee", "cow"])
    assert len(fig.axes) == 2  # heat map + colour bar
    ax = fig.axes[0]
    assert ax.get_xlabel() == "predicted" and ax.get_ylabel() == "true"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["ant", "bee", "cow"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["ant", "bee", "cow"]
    cells = {}
    for t in ax.texts:
        j, i = t.get_position()
        cells[(int(i), int(j))] = t.get_text().split("\n")
    assert len(cells) == 9
    rows = cm.sum(axis=1)
    for (i, j), (count, pct) in cells.items():
        assert int(count) == cm[i, j]
        assert pct == f"{100 * cm[i, j] / rows[i]:.0f}%"
    assert f"{np.trace(cm) / cm.sum():.3f}" in ax.get_title()


def test_confusion_matrix_rejects_bad_input():
    with pytest.raises(ValueError, match="square"):
        plot.plot_confusion_matrix(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="expected 2 labels"):
        plot.plot_confusion_matrix(np.eye(2, dtype=int), labels=["a"])


# ---------------------------------------------------------------------- ROC / PR
def _multiclass(seed=0, n=120, k=3):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    p = rng.random((n, k)) + 1.5 * np.eye(k)[y] * rng.random((n, 1))
    return y, p / p.sum(axis=1, keepdims=True)


def test_plot_roc_binary_legend_has_sklearn_auc_and_curve_points():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 80)
    s = np.clip(0.3 * y + rng.random(80) * 0.7, 0, 1)
    fig = plot.plot_roc(y, s)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "false positive rate" and ax.get_ylabel() == "true positive rate"
    texts = _legend_texts(ax)
    assert f"(AUC = {skm.roc_auc_score(y, s):.3f})" in texts
    fpr, tpr, _ = skm.roc_curve(y, s)
    curve = ax.get_lines()[0]
    np.testing.assert_allclose(curve.get_xdata(), fpr)
    np.testing.assert_allclose(curve.get_ydata(), tpr)


def test_plot_roc_multiclass_one_vs_rest_and_model_comparison():
    y, p = _multiclass()
    fig = plot.plot_roc(y, p, labels=["a", "b", "c"])
    texts = _legend_texts(fig.axes[0])
    for c, name in enumerate("abc"):
        assert f"class {name} (AUC = {skm.roc_auc_score(y == c, p[:, c]):.3f})" in texts
    macro = skm.roc_auc_score(y, p, multi_class="ovr")
    assert f"{macro:.3f}" in fig.axes[0].get_title()
    yb = (y == 0).astype(int)
    fig = plot.plot_roc(yb, {"model A": p[:, 0], "model B": p[:, 1]})
    texts = _legend_texts(fig.axes[0])
    assert f"model A (AUC = {skm.roc_auc_score(yb, p[:, 0]):.3f})" in texts
    assert f"model B (AUC = {skm.roc_auc_score(yb, p[:, 1]):.3f})" in texts


def test_plot_precision_recall_legend_has_sklearn_ap():
    y, p = _multiclass(seed=3)
    fig = plot.plot_precision_recall(y, p)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "recall" and ax.get_ylabel() == "precision"
    texts = _legend_texts(ax)
    for c in range(3):
        assert f"class {c} (AP = {skm.average_precision_score(y == c, p[:, c]):.3f})" in texts
    yb = (y == 1).astype(int)
    fig = plot.plot_precision_recall(yb, p[:, 1])
    assert f"(AP = {skm.average_precision_score(yb, p[:, 1]):.3f})" in _legend_texts(fig.axes[0])


# ---------------------------------------------------------------------- decision boundary
def _disc(n=120, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    return x, (np.sum(x ** 2, axis=1) < 1.0).astype(np.int64)


def test_decision_boundary_with_predict_proba_model():
    from sklearn.linear_model import LogisticRegression

    x, y = _disc()
    x2 = np.column_stack([x, np.sum(x ** 2, axis=1)])

    class Circle:  # logistic regression on (x1, x2, r^2): a model object with predict_proba
        def __init__(self):
            self.clf = LogisticRegression().fit(x2, y)

        def predict_proba(self, g):
            return self.clf.predict_proba(np.column_stack([g, np.sum(g ** 2, axis=1)]))

    fig = plot.plot_decision_boundary(Circle(), x, y, resolution=50)
    ax = fig.axes[0]
    assert len(ax.images) == 1
    assert ax.images[0].get_array().shape == (50, 50)
    offsets = np.concatenate([c.get_offsets() for c in ax.collections if hasattr(c, "get_offsets")
                              and len(c.get_offsets()) and c.get_offsets().shape[1] == 2
                              and type(c).__name__ == "PathCollection"])
    assert offsets.shape[0] == len(x)
    assert any(type(c).__name__ in ("QuadContourSet", "ContourSet") for c in ax.collections)
    assert _legend_texts(ax) == ["class 0", "class 1"]


def test_decision_boundary_with_predict_only_multiclass_and_a_tanul_model():
    x, y = _disc()
    y3 = (np.arctan2(x[:, 1], x[:, 0]) > 0).astype(np.int64) + (x[:, 0] > 1).astype(np.int64)

    class Argmax:  # predict returns class scores (M, 3)
        def predict(self, g):
            return np.column_stack([-g[:, 1], g[:, 1], g[:, 0] - 1])

    fig = plot.plot_decision_boundary(Argmax(), x, y3, resolution=30)
    assert len(fig.axes[0].images) == 1
    import tanul

    model = tanul.Sequential([tanul.Dense(2)], seed=0)
    model.compile(optimizer="sgd", loss="cross_entropy")
    fig = plot.plot_decision_boundary(model, x.astype(np.float32), y, resolution=20)
    assert len(fig.axes[0].images) == 1
    with pytest.raises(ValueError, match="shape \\(N, 2\\)"):
        plot.plot_decision_boundary(model, np.zeros((5, 3)), np.zeros(5))


# ---------------------------------------------------------------------- images
def test_plot_images_titles_and_red_exactly_for_misclassified():
    rng = np.random.default_rng(4)
    imgs = rng.random((10, 1, 8, 8))
    yt = np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    yp = np.array([0, 1, 5, 3, 4, 5, 0, 7, 8, 3])
    fig = plot.plot_images(imgs, yt, yp, ncols=4)
    assert len(fig.axes) == 10
    from matplotlib.colors import to_rgba

    for ax, t, p in zip(fig.axes, yt, yp):
        title = ax.title
        assert title.get_text() == f"true {t} / pred {p}"
        is_red = to_rgba(title.get_color()) == to_rgba("red")
        assert is_red == (t != p), (t, p)
    assert sum(to_rgba(ax.title.get_color()) == to_rgba("red") for ax in fig.axes) == 3


def test_plot_images_layouts_max_images_and_names():
    rng = np.random.default_rng(5)
    fig = plot.plot_images(rng.random((20, 64)), np.arange(20) % 3, max_images=6, ncols=3,
                           class_names=["zero", "one", "two"])
    assert len(fig.axes) == 6
    assert [ax.get_title() for ax in fig.axes[:3]] == ["zero", "one", "two"]
    assert fig.axes[0].images[0].get_array().shape == (8, 8)
    fig = plot.plot_images(rng.random((2, 3, 5, 5)))
    assert fig.axes[0].images[0].get_array().shape == (5, 5, 3)
    with pytest.raises(ValueError, match="expected 4 labels in y_pred"):
        plot.plot_images(rng.random((4, 8, 8)), np.zeros(4), np.zeros(3))
    with pytest.raises(ValueError, match="not square"):
        plot.plot_images(rng.random((4, 10)))


# ---------------------------------------------------------------------- saving
def test_save_writes_a_png_atomically_and_returns_the_figure(tmp_path):
    target = tmp_path / "sub" / "cm.png"
    fig = plot.plot_confusion_matrix(np.array([[3, 1], [0, 4]]), save=target)
    assert fig.axes  # the Figure itself comes back
    assert target.read_bytes()[:8] == PNG_MAGIC
    assert os.listdir(target.parent) == ["cm.png"]  # no temporary file left behind
    pdf = tmp_path / "roc.pdf"
    plot.plot_roc([0, 1, 0, 1], [0.1, 0.9, 0.4, 0.6], save=pdf)
    assert pdf.read_bytes()[:4] == b"%PDF"
    with pytest.raises(ValueError, match="suffix"):
        plot.plot_roc([0, 1], [0.2, 0.8], save=tmp_path / "noext")
    with pytest.raises(ValueError, match="cannot write 'xyz'"):
        plot.plot_roc([0, 1], [0.2, 0.8], save=tmp_path / "a.xyz")
    assert sorted(os.listdir(tmp_path)) == ["roc.pdf", "sub"]


def test_missing_matplotlib_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match=r"pip install tanul\[plot\]"):
        plot.plot_confusion_matrix(np.eye(2, dtype=int))
