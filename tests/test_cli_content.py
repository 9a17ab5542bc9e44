"""What ``tanul train`` and ``tanul evaluate`` write, checked for content (issue 18): the numbers
in the report agree with each other, with the saved model and with scikit-learn, not just "the
exit code is 0 and the word accuracy appears"."""

import csv
import json
import re

import numpy as np
import pytest

skm = pytest.importorskip("sklearn.metrics")

from tanul.cli import main  # noqa: E402
from tanul.io import load_model  # noqa: E402
from tanul.jobs import adapt_images, load_image_dataset  # noqa: E402


def parse_report(text):
    """(accuracy in the header, per-class (precision, recall, support), confusion matrix)."""
    head = re.search(r"(?:test )?accuracy (\d\.\d{4})", text)
    per_class = {int(m[1]): (float(m[2]), float(m[3]), int(m[5]))
                 for m in re.finditer(r"^\s+(\d)\s+(\d\.\d{4})\s+(\d\.\d{4})\s+(\d\.\d{4})\s+(\d+)$", text, re.M)}
    cm_text = text.split("columns: predicted):")[1].strip().splitlines()[1:11]
    cm = np.array([[int(v) for v in row.split()[1:]] for row in cm_text])
    return float(head[1]), per_class, cm


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "run"
    rc = main(["train", "--model", "mlp", "--dataset", "digits", "--epochs", "3", "--batch-size", "32",
               "--seed", "4", "--out", str(out), "--quiet"])
    assert rc == 0
    return out


def test_train_report_agrees_with_the_saved_model_and_sklearn(trained):
    acc, per_class, cm = parse_report((trained / "report.txt").read_text())
    # the saved model, on the test split the run used, scored independently by scikit-learn
    model = load_model(trained / "model.tanul")
    _, (x_te, y_te) = load_image_dataset("digits", seed=4)
    y_pred = model.predict(adapt_images(x_te, model.input_shape)).argmax(axis=1)
    assert acc == pytest.approx(skm.accuracy_score(y_te, y_pred), abs=5e-5)
    np.testing.assert_array_equal(cm, skm.confusion_matrix(y_te, y_pred, labels=range(10)))
    p, r, _, s = skm.precision_recall_fscore_support(y_te, y_pred, labels=range(10), zero_division=0)
    for c in range(10):
        assert per_class[c] == (pytest.approx(p[c], abs=5e-5), pytest.approx(r[c], abs=5e-5), s[c])
    assert cm.sum() == 450 and acc > 0.6  # ceil(0.25 · 1797) test images; 3 epochs learn something


def test_train_history_and_run_json(trained):
    rows = list(csv.DictReader((trained / "history.csv").open()))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    loss = [float(r["loss"]) for r in rows]
    assert loss[2] < loss[0] and all(0 <= float(r["val_accuracy"]) <= 1 for r in rows)
    run = json.loads((trained / "run.json").read_text())
    assert (run["model"], run["dataset"], run["epochs"], run["batch_size"], run["seed"]) == ("mlp", "digits", 3, 32, 4)


def test_evaluate_prints_the_same_numbers_as_training(trained, tmp_path, capsys):
    rc = main(["evaluate", str(trained / "model.tanul"), "--dataset", "digits", "--out", str(tmp_path / "ev")])
    assert rc == 0
    printed = capsys.readouterr().out
    acc, per_class, cm = parse_report(printed)
    acc_train, per_class_train, cm_train = parse_report((trained / "report.txt").read_text())
    # evaluate reads the split seed from run.json: the same 450 images, the same predictions
    assert acc == acc_train and per_class == per_class_train
    np.testing.assert_array_equal(cm, cm_train)
    assert (tmp_path / "ev" / "report.txt").read_text() in printed
    assert acc == pytest.approx(np.trace(cm) / cm.sum(), abs=5e-5)

