"""Every download source is asked for the published SHA-256, and the training-file hashes are the
published ones (issue 18: only the first mirror and the t10k hashes were ever exercised).

Offline: pooch.retrieve is replaced by a fake that records what it was asked for.
"""

import hashlib

import pytest

from tanul.datasets import DownloadError, mnist, weather
from tanul.datasets.mnist import MNIST_FILES, MNIST_MIRRORS
from tanul.datasets.weather import WEATHER_URLS

# Published with the dataset loaders, written here by hand (not read from tanul):
# SHA-256 as in TensorFlow Datasets' MNIST url checksums; MD5 as in torchvision's MNIST resources.
PUBLISHED_SHA256 = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}
PUBLISHED_MD5 = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}


def test_mnist_hashes_are_the_published_ones():
    assert MNIST_FILES == PUBLISHED_SHA256


@pytest.mark.parametrize("name", sorted(PUBLISHED_SHA256))
def test_shared_files_match_both_published_digests(mnist_dir, name):
    # an independent check of the table: the files on disk against the published SHA-256 and MD5
    path = mnist_dir / name
    if not path.exists():
        pytest.skip(f"{name} is not in the shared folder (only the training images are absent)")
    data = path.read_bytes()
    assert hashlib.md5(data).hexdigest() == PUBLISHED_MD5[name]
    assert hashlib.sha256(data).hexdigest() == PUBLISHED_SHA256[name] == MNIST_FILES[name]


def test_every_mnist_mirror_is_asked_for_the_sha256_of_each_training_file(monkeypatch, tmp_path):
    pooch = pytest.importorskip("pooch")
    asked = []

    def refuse(url, known_hash, fname, path, **kw):
        asked.append((url, known_hash))
        raise ConnectionError("offline")

    monkeypatch.setattr(pooch, "retrieve", refuse)
    with pytest.raises(DownloadError, match="could not download train-images-idx3-ubyte.gz"):
        mnist(split="train", cache_dir=tmp_path)
    name = "train-images-idx3-ubyte.gz"
    assert asked == [(m + name, "sha256:" + PUBLISHED_SHA256[name]) for m in MNIST_MIRRORS]
    assert len(MNIST_MIRRORS) == 3


def test_a_fallback_mirror_is_downloaded_with_the_sha256(monkeypatch, tmp_path, mnist_dir):
    pooch = pytest.importorskip("pooch")
    import shutil
    asked = []

    def first_mirror_down(url, known_hash, fname, path, **kw):
        asked.append((url, known_hash))
        if url.startswith(MNIST_MIRRORS[0]):
            raise ConnectionError("first mirror down")
        shutil.copy(mnist_dir / fname, tmp_path / fname)
        return str(tmp_path / fname)

    monkeypatch.setattr(pooch, "retrieve", first_mirror_down)
    x, y = mnist(split="test", cache_dir=tmp_path)
    assert x.shape == (10000, 1, 28, 28) and y.shape == (10000,)
    got = [(url, h) for url, h in asked if url.startswith(MNIST_MIRRORS[1])]
    assert got == [(MNIST_MIRRORS[1] + n, "sha256:" + PUBLISHED_SHA256[n])
                   for n in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")]


def test_weather_second_url_is_downloaded_with_the_sha256(monkeypatch, tmp_path, weather_csv):
    pooch = pytest.importorskip("pooch")
    import shutil
    asked = []

    def zenodo_down(url, known_hash, fname, path, **kw):
        asked.append((url, known_hash, fname))
        if "zenodo" in url:
            raise ConnectionError("zenodo down")
        shutil.copy(weather_csv, tmp_path / fname)
        return str(tmp_path / fname)

    monkeypatch.setattr(pooch, "retrieve", zenodo_down)
    w = weather("BUDAPEST", cache_dir=tmp_path)
    assert len(w) == 3654
    sha = "sha256:6d5bf0b2cc53292603e710f2562f0296f9b1bd6782ecdfd70e3d6df07c358363"
    assert asked == [(u, sha, "weather_prediction_dataset.csv") for u in WEATHER_URLS]
    assert "raw.githubusercontent.com/florian-huber/weather_prediction_dataset" in asked[1][0]
