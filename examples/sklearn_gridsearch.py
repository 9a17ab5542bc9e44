"""tanul's NetClassifier and scikit-learn's MLPClassifier under the same GridSearchCV.

    python examples/sklearn_gridsearch.py          # the table in docs/sklearn.md (a few minutes)
    python examples/sklearn_gridsearch.py --quick  # a smaller grid (the test suite runs this)

Data: scikit-learn's bundled 8x8 digits (1,797 images, 10 classes), a stratified 75/25 split
(seed 0). Both estimators sit in a ``Pipeline`` after a ``StandardScaler`` and are searched over
the same grid (hidden layers x learning rate) with the same 5-fold splits, two worker processes,
the same mini-batch size (32), number of epochs (60), Adam and penalty weight 1e-4 (``alpha``
and ``l2``; the two penalty formulas differ, see docs/sklearn.md). scikit-learn's
``max_iter`` counts epochs for Adam; its ``tol``-based stop is switched off (``n_iter_no_change``
= ``max_iter``) so both train for exactly the same number of epochs. The printed Markdown table
gives the cross-validated accuracy of every grid point (mean ± std over the folds), then each
best model's accuracy on the held-out quarter.
"""

import argparse
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, StratifiedKFold, train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from tanul.sklearn import NetClassifier


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a 2-point grid, 2 folds, 10 epochs")
    args = parser.parse_args()
    epochs = 10 if args.quick else 60
    sizes = [(64,)] if args.quick else [(64,), (128, 64)]
    rates = [1e-3, 1e-2]
    folds = 2 if args.quick else 5

    X, y = load_digits(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)
    cv = StratifiedKFold(folds, shuffle=True, random_state=0)
    candidates = {
        "tanul NetClassifier": (
            NetClassifier(epochs=epochs, batch_size=32, l2=1e-4, random_state=0),
            {"hidden_layer_sizes": sizes, "learning_rate": rates}),
        "sklearn MLPClassifier": (
            MLPClassifier(max_iter=epochs, n_iter_no_change=epochs, batch_size=32, alpha=1e-4,
                          random_state=0),
            {"hidden_layer_sizes": sizes, "learning_rate_init": rates}),
    }
    print(f"digits: {len(X_tr)} training / {len(X_te)} test images; {folds}-fold CV; {epochs} epochs; "
          "batch 32; Adam; StandardScaler in the pipeline\n")
    rows, best = [], []
    for name, (est, grid) in candidates.items():
        pipe = Pipeline([("scale", StandardScaler()), ("net", est)])
        search = GridSearchCV(pipe, {f"net__{k}": v for k, v in grid.items()}, cv=cv, n_jobs=2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            search.fit(X_tr, y_tr)
        res = search.cv_results_
        for i, params in enumerate(res["params"]):
            hidden = params["net__hidden_layer_sizes"]
            lr = params.get("net__learning_rate", params.get("net__learning_rate_init"))
            rows.append((name, str(hidden), lr, res["mean_test_score"][i], res["std_test_score"][i]))
        best.append((name, search.best_params_, search.best_score_, search.score(X_te, y_te)))

    print("| estimator | hidden layers | learning rate | CV accuracy (mean ± std) |")
    print("| --- | --- | --- | --- |")
    for name, hidden, lr, mean, std in rows:
        print(f"| {name} | {hidden} | {lr:g} | {mean:.4f} ± {std:.4f} |")
    print("\n| estimator | best grid point | best CV accuracy | test accuracy |")
    print("| --- | --- | --- | --- |")
    for name, params, cv_acc, test_acc in best:
        short = ", ".join(f"{k.split('__')[1]}={v}" for k, v in params.items())
        print(f"| {name} | {short} | {cv_acc:.4f} | {test_acc:.4f} |")
    assert all(np.isfinite(b[3]) for b in best)


if __name__ == "__main__":
    main()
