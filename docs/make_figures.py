"""Regenerate the pictures shown in the README (``make docs-figures``).

Every picture is made by tanul itself from a seeded run on bundled data (no network):

* ``docs/img/curves.png``: learning curves of a dense network on the 8x8 digits, with
  early stopping marking the best epoch;
* ``docs/img/confusion.png``: its test confusion matrix (counts and row percentages);
* ``docs/img/roc.png`` and ``docs/img/pr.png``: one-vs-rest ROC and precision-recall curves;
* ``docs/img/boundary.png``: the decision boundary of a small network on the ``spiral`` set;
* ``docs/img/misclassified.png``: misclassified test digits with true and predicted labels.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import tanul
from tanul import plot
from tanul.callbacks import EarlyStopping
from tanul.datasets import digits, toy2d
from tanul.metrics import confusion_matrix
from tanul.preprocessing import train_test_split

OUT = Path(__file__).resolve().parent / "img"


def main() -> None:
    OUT.mkdir(exist_ok=True)

    x, y = digits()
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.25, stratify=y, seed=0)
    model = tanul.Sequential([tanul.Dense(64, activation="relu"), tanul.Dropout(0.2),
                              tanul.Dense(64, activation="relu"), tanul.Dense(10)], seed=0)
    model.compile(optimizer="adam", loss="cross_entropy", metrics=["accuracy"])
    model.fit(x_tr, y_tr, epochs=60, batch_size=32, validation_split=0.2, verbose=0,
              callbacks=[EarlyStopping(patience=8, restore_best_weights=True)])
    plot.plot_history(model.history, save=OUT / "curves.png")
    proba = model.predict_proba(x_te)
    pred = proba.argmax(axis=1)
    plot.plot_confusion_matrix(confusion_matrix(y_te, pred), save=OUT / "confusion.png")
    plot.plot_roc(y_te, proba, save=OUT / "roc.png")
    plot.plot_precision_recall(y_te, proba, save=OUT / "pr.png")
    wrong = np.flatnonzero(pred != y_te)
    show = np.concatenate([wrong[:12], np.flatnonzero(pred == y_te)[:12]])
    plot.plot_images(x_te[show].reshape(-1, 1, 8, 8), y_te[show], pred[show], ncols=8,
                     save=OUT / "misclassified.png")

    xs, ys = toy2d("spiral", n=400, seed=0)
    net = tanul.Sequential([tanul.Dense(64, activation="relu"), tanul.Dense(64, activation="relu"),
                            tanul.Dense(2)], seed=0)
    net.compile(optimizer=tanul.Adam(lr=0.01), loss="cross_entropy", metrics=["accuracy"])
    net.fit(xs, ys, epochs=300, batch_size=32, verbose=0)
    plot.plot_decision_boundary(net, xs, ys, save=OUT / "boundary.png")

    for name in ("curves", "confusion", "roc", "pr", "boundary", "misclassified"):
        print(OUT / f"{name}.png")


if __name__ == "__main__":
    main()
