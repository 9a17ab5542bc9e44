"""Small built-in datasets that need no network: digits, 2-D toy problems, the fever example."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["digits", "toy2d", "fever", "TOY2D"]

TOY2D = ("circle", "xor", "gauss", "spiral")


def digits(images: bool = False, dtype: Any = "float32") -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled 1,797 handwritten digits (8x8, 16 grey levels), scaled to [0, 1].

    Returns ``(x, y)``: ``x`` of shape ``(1797, 64)``, or ``(1797, 1, 8, 8)`` (NCHW) with
    ``images=True``; ``y`` int64 labels 0-9. Needs scikit-learn (``pip install tanul[data]``).
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("tanul.datasets.digits needs scikit-learn: pip install 'tanul[data]'") from exc
    d = load_digits()
    x = (d.data / 16.0).astype(dtype)
    if images:
        x = x.reshape(-1, 1, 8, 8)
    return x, d.target.astype(np.int64)


def toy2d(name: str = "circle", n: int = 400, noise: float = 0.1, seed: int | None = None
          ) -> tuple[np.ndarray, np.ndarray]:
    """Two-class problems in the plane, like the TensorFlow Playground's.

    * ``"circle"``: a disc of class 1 inside a ring of class 0 (not linearly separable);
    * ``"xor"``: the class is the sign of ``x1 * x2`` (needs a hidden layer);
    * ``"gauss"``: two Gaussian blobs (linearly separable);
    * ``"spiral"``: two interleaved spirals (needs a deeper network).

    ``noise`` is the standard deviation of Gaussian noise added to the points (in units of the
    data's radius, about 1). Classes are balanced (``n // 2`` each, ``n`` even).

    Returns ``x`` float32 ``(n, 2)`` and ``y`` int64 ``(n,)`` in {0, 1}.
    """
    if name not in TOY2D:
        raise ValueError(f"toy2d: unknown problem {name!r}; known: {', '.join(TOY2D)}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2 or n % 2:
        raise ValueError(f"toy2d: expected n to be an even int >= 2, got {n!r}")
    if not noise >= 0:
        raise ValueError(f"toy2d: expected noise >= 0, got {noise!r}")
    rng = np.random.default_rng(seed)
    h = n // 2
    y = np.repeat([0, 1], h)
    if name == "circle":
        r = np.concatenate([rng.uniform(0.7, 1.0, h), rng.uniform(0.0, 0.4, h)])
        t = rng.uniform(0, 2 * np.pi, n)
        x = np.stack([r * np.cos(t), r * np.sin(t)], axis=1)
    elif name == "xor":
        # a small margin around the axes; h points of each class
        cand = rng.uniform(-1, 1, (8 * n, 2))
        cand += np.sign(cand) * 0.05
        pos = cand[:, 0] * cand[:, 1] > 0
        x = np.concatenate([cand[~pos][:h], cand[pos][:h]])
    elif name == "gauss":
        centres = np.array([[-0.5, -0.5], [0.5, 0.5]])
        x = centres[y] + rng.normal(0, 0.25, (n, 2))
    else:  # spiral
        t = np.sqrt(rng.uniform(0, 1, h)) * 3 * np.pi
        arm = np.stack([t * np.cos(t), t * np.sin(t)], axis=1) / (3 * np.pi)
        x = np.concatenate([arm, -arm])
    x = x + rng.normal(0, noise, x.shape) * (noise > 0)
    order = rng.permutation(n)
    return x[order].astype(np.float32), y[order].astype(np.int64)


def fever(n: int = 200, seed: int | None = None, task: str = "regression"
          ) -> tuple[np.ndarray, np.ndarray]:
    """The course's first example (lecture 1): body temperature and drug dose -> temperature
    two hours later.

    A documented synthetic population: temperature ``T ~ U(36.5, 40.5)`` °C, dose
    ``d ~ U(0, 100)`` mg, and two hours later

    ``T₂ = 36.8 + (T − 36.8) · exp(−0.025 d) + ε``,  ``ε ~ N(0, 0.1²)`` °C:

    the drug pulls the temperature towards 36.8 °C, the more the larger the dose. The course's
    rows (38.6, 25), (37.8, 25), (37.3, 50), (38.2, 50) lie inside this range.

    Returns ``x`` float32 ``(n, 2)`` = [temperature °C, dose mg] in the original units
    (standardise them on the training part) and, with ``task="regression"``, ``T₂`` as float32
    ``(n,)``; with ``task="classification"`` the class of ``T₂`` as int64: 0 normal
    (< 37.5 °C), 1 elevated (37.5-38.0), 2 fever (>= 38.0).
    """
    if task not in ("regression", "classification"):
        raise ValueError(f"fever: expected task 'regression' or 'classification', got {task!r}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"fever: expected n to be a positive int, got {n!r}")
    rng = np.random.default_rng(seed)
    temp = rng.uniform(36.5, 40.5, n)
    dose = rng.uniform(0.0, 100.0, n)
    after = 36.8 + (temp - 36.8) * np.exp(-0.025 * dose) + rng.normal(0.0, 0.1, n)
    x = np.stack([temp, dose], axis=1).astype(np.float32)
    if task == "classification":
        return x, np.digitize(after, [37.5, 38.0]).astype(np.int64)
    return x, after.astype(np.float32)
