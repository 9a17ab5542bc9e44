"""``tanul train`` / ``tanul evaluate`` end to end on the bundled digits (small and fast)."""

import numpy as np
import pytest

pytest.importorskip("sklearn")

from tanul.cli import main  # noqa: E402
from tanul.io import load_model  # noqa: E402
from tanul.jobs import adapt_images, train_job  # noqa: E402


def test_adapt_images_pads_digits_like_mnist():
    x = np.arange(2 * 64, dtype=np.float32).reshape(2, 1, 8, 8)
    y = adapt_images(x, (1, 28, 28))
    assert y.shape == (2, 1, 28, 28)
    # each pixel repeated 3x3, then 2 pixels of zeros on every side
    assert y[0, 0, 2, 2] == x[0, 0, 0, 0] and y[0, 0, 4, 4] == x[0, 0, 0, 0]
    assert y[0, 0, 5, 5] == x[0, 0, 1, 1]
    assert y[:, :, :2].sum() == 0 and y[:, :, -2:].sum() == 0
    assert adapt_images(x, (64,)).shape == (2, 64)
    with pytest.raises(ValueError, match="cannot feed images"):
        adapt_images(x, (3, 28, 28))


def test_train_writes_the_run_folder(tmp_path, capsys):
    out = tmp_path / "run"
    rc = main(["train", "--model", "mlp", "--dataset", "digits", "--epochs", "3", "--batch-size", "32",
               "--out", str(out), "--quiet"])
    assert rc == 0
    for name in ("model.tanul", "checkpoint.tanul", "run.json", "history.csv", "report.txt"):
        assert (out / name).stat().st_size > 0, name
    rows = (out / "history.csv").read_text().splitlines()
    assert rows[0].startswith("epoch,loss") and len(rows) == 4
    report = (out / "report.txt").read_text()
    acc = float(report.split("test accuracy ")[1].split()[0])
    assert acc > 0.85  # a 3-epoch MLP on digits; the real figures are in the docs
    model = load_model(out / "model.tanul")
    assert model.count_params() > 0


def test_resume_continues_exactly(tmp_path):
    kw = dict(model="mlp", dataset="digits", batch_size=32, seed=3, verbose=0)
    train_job(epochs=4, out=tmp_path / "straight", **kw)
    train_job(epochs=2, out=tmp_path / "split", **kw)
    train_job(epochs=4, out=tmp_path / "split", resume=True, verbose=0)
    a = load_model(tmp_path / "straight" / "model.tanul").get_weights()
    b = load_model(tmp_path / "split" / "model.tanul").get_weights()
    assert all(np.array_equal(u, v) for u, v in zip(a, b, strict=True))


def test_evaluate_command(tmp_path, capsys):
    out = tmp_path / "run"
    train_job(model="mlp", dataset="digits", epochs=2, out=out, verbose=0)
    rc = main(["evaluate", str(out / "model.tanul"), "--dataset", "digits", "--out", str(tmp_path / "ev")])
    assert rc == 0
    text = capsys.readouterr().out
    assert "accuracy" in text and "Wrote:" in text
    assert (tmp_path / "ev" / "report.txt").exists()


def test_cli_errors_are_one_line(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path / "missing.tanul")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "missing.tanul" in err
    assert main(["train", "--resume", "--out", str(tmp_path / "nothing"), "--quiet"]) == 2
    assert "no checkpoint" in capsys.readouterr().err
    bad = tmp_path / "bad.tanul"
    bad.write_bytes(b"not a model")
    assert main(["evaluate", str(bad)]) == 2
    assert "bad.tanul" in capsys.readouterr().err
