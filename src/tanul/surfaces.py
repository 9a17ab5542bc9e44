"""Two-dimensional test surfaces for watching optimisers move, and the loop that moves them.

The pictures of the optimisation lectures (Alec Radford's animations, the deeplearning.ai notes)
put every optimiser on the same 2-D loss surface from the same start. Here each surface is a
NumPy function ``f(p)`` of a 2-vector with its analytic gradient, and :func:`descend` runs a real
tanul optimiser on it through the ordinary :class:`~tanul.optimizers.Optimizer` API: the
2-vector *is* the flat parameter buffer (``opt.build(p, g)``), the gradient is written into
``g`` and ``opt.step()`` updates ``p`` in place, exactly as during ``fit``. L-BFGS, which
minimises a whole objective through SciPy, runs its ``minimize`` on the surface seen as a
:class:`tanul.protocol.TrainingProblem` (θ = the 2-vector). No optimiser is re-implemented here.

Surfaces (``get(name)``):

* ``"beale"``: f(x, y) = (1.5 − x + xy)² + (2.25 − x + xy²)² + (2.625 − x + xy³)²,
  minimum 0 at (3, 0.5); flat plateaus and steep walls.
* ``"rosenbrock"``: f(x, y) = (1 − x)² + 100 (y − x²)², minimum 0 at (1, 1) at the bottom of a
  curved, nearly flat valley.
* ``"saddle"``: f(x, y) = x² + y⁴/4 − y²/2, a saddle point at (0, 0) (f = 0: a minimum along
  x, a maximum along y) between two minima f = −1/4 at (0, ±1). On the axis y = 0 the gradient
  has no y component, so gradient descent started there slides into the saddle and stays.
* ``"ravine"``: f(x, y) = x²/20 + 5y², minimum 0 at (0, 0); curvatures 0.1 and 10 (condition
  number 100): a long narrow valley where plain SGD zig-zags across and crawls along.

>>> import numpy as np
>>> from tanul import surfaces
>>> from tanul.optimizers import Adam
>>> path = surfaces.descend("beale", Adam(lr=0.1), start=(1.0, 1.5), steps=1000)
>>> path.shape, bool(np.allclose(path[-1], (3.0, 0.5), atol=1e-2))
((1001, 2), True)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Surface", "BEALE", "ROSENBROCK", "SADDLE", "RAVINE", "SURFACES", "get", "descend", "descend_all",
           "default_optimizers", "distance_to_minimum", "steps_to_reach"]


@dataclass(frozen=True)
class Surface:
    """A 2-D test function with its gradient, a known minimum and a window to draw.

    Attributes
    ----------
    name : str
    f : callable (2,) -> float, also vectorised: ``f(np.stack([X, Y]))`` on grids
    grad : callable (2,) -> (2,)
    minimum : (x, y) of the global minimum (``None`` when unbounded)
    xlim, ylim : the window of the contour plot
    start : a start point the course uses
    formula : the formula as text (for titles and docs)
    log_levels : draw contour levels on a log scale (surfaces spanning many decades)
    """

    name: str
    f: Callable[[np.ndarray], Any]
    grad: Callable[[np.ndarray], np.ndarray]
    minimum: tuple[float, float] | None
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    start: tuple[float, float]
    formula: str
    log_levels: bool = False

    def __call__(self, p: Any) -> Any:
        return self.f(np.asarray(p, dtype=np.float64))

    def __repr__(self) -> str:
        return f"Surface({self.name!r}: {self.formula}, minimum {self.minimum})"


# ---------------------------------------------------------------------- Beale
def _beale(p: np.ndarray) -> Any:
    x, y = p[0], p[1]
    return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y ** 2) ** 2 + (2.625 - x + x * y ** 3) ** 2


def _beale_grad(p: np.ndarray) -> np.ndarray:
    x, y = np.float64(p[0]), np.float64(p[1])
    a, b, c = 1.5 - x + x * y, 2.25 - x + x * y ** 2, 2.625 - x + x * y ** 3
    dx = 2 * a * (y - 1) + 2 * b * (y ** 2 - 1) + 2 * c * (y ** 3 - 1)
    dy = 2 * a * x + 2 * b * 2 * x * y + 2 * c * 3 * x * y ** 2
    return np.array([dx, dy])


# ---------------------------------------------------------------------- Rosenbrock
def _rosenbrock(p: np.ndarray) -> Any:
    x, y = p[0], p[1]
    return (1 - x) ** 2 + 100 * (y - x ** 2) ** 2


def _rosenbrock_grad(p: np.ndarray) -> np.ndarray:
    x, y = np.float64(p[0]), np.float64(p[1])
    return np.array([-2 * (1 - x) - 400 * x * (y - x ** 2), 200 * (y - x ** 2)])


# ---------------------------------------------------------------------- saddle
def _saddle(p: np.ndarray) -> Any:
    x, y = p[0], p[1]
    return x ** 2 + y ** 4 / 4 - y ** 2 / 2


def _saddle_grad(p: np.ndarray) -> np.ndarray:
    x, y = np.float64(p[0]), np.float64(p[1])
    return np.array([2 * x, y ** 3 - y])


# ---------------------------------------------------------------------- ravine
def _ravine(p: np.ndarray) -> Any:
    x, y = p[0], p[1]
    return x ** 2 / 20 + 5 * y ** 2


def _ravine_grad(p: np.ndarray) -> np.ndarray:
    x, y = np.float64(p[0]), np.float64(p[1])
    return np.array([x / 10, 10 * y])


BEALE = Surface("beale", _beale, _beale_grad, (3.0, 0.5), (-4.5, 4.5), (-4.5, 4.5), (1.0, 1.5),
                "(1.5 − x + xy)² + (2.25 − x + xy²)² + (2.625 − x + xy³)²", log_levels=True)
ROSENBROCK = Surface("rosenbrock", _rosenbrock, _rosenbrock_grad, (1.0, 1.0), (-2.0, 2.0), (-1.0, 3.0),
                     (-1.5, 2.0), "(1 − x)² + 100 (y − x²)²", log_levels=True)
SADDLE = Surface("saddle", _saddle, _saddle_grad, (0.0, 1.0), (-1.5, 1.5), (-1.6, 1.6), (1.0, 1e-3),
                 "x² + y⁴/4 − y²/2")
RAVINE = Surface("ravine", _ravine, _ravine_grad, (0.0, 0.0), (-10.0, 10.0), (-2.0, 2.0), (-9.0, 1.5),
                 "x²/20 + 5y²")

SURFACES: dict[str, Surface] = {s.name: s for s in (BEALE, ROSENBROCK, SADDLE, RAVINE)}


def get(surface: Any) -> Surface:
    """A :class:`Surface` from its name (``"beale"``, ``"rosenbrock"``, ``"saddle"``, ``"ravine"``)."""
    if isinstance(surface, Surface):
        return surface
    if isinstance(surface, str):
        key = surface.lower()
        if key not in SURFACES:
            raise ValueError(f"Unknown surface {surface!r}; expected one of {', '.join(SURFACES)}")
        return SURFACES[key]
    raise TypeError(f"Expected a surface name or a tanul.surfaces.Surface, got {surface!r}")


# ---------------------------------------------------------------------- descending
def _check_start(start: Any) -> np.ndarray:
    p = np.array(start, dtype=np.float64).reshape(-1)
    if p.shape != (2,) or not np.isfinite(p).all():
        raise ValueError(f"descend: expected start to be a finite point (x, y), got {start!r}")
    return p


def _check_steps(steps: Any) -> int:
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"descend: expected steps to be a positive int, got {steps!r}")
    return int(steps)


class _SurfaceProblem:
    """A surface as a :class:`tanul.protocol.TrainingProblem`: θ is the 2-vector, no data."""

    def __init__(self, surface: Surface, p: np.ndarray) -> None:
        self.surface = surface
        self.params = p
        self.grads = np.zeros_like(p)

    def loss_and_grads(self, x: Any, y: Any) -> tuple[float, None]:
        self.grads[...] = self.surface.grad(self.params)
        return float(self.surface.f(self.params)), None


def _descend_full_batch(s: Surface, optimizer: Any, p: np.ndarray, steps: int) -> np.ndarray:
    points = [p.copy()]

    def record(loss: float) -> bool:  # after every iteration, with the iterate in p
        points.append(p.copy())
        return len(points) > steps

    none = np.empty((1, 0))
    optimizer.minimize(_SurfaceProblem(s, p), none, none, max_iter=steps, callback=record)
    path = np.array(points)
    if len(path) < steps + 1:  # converged early: it stays where it stopped
        path = np.vstack([path, np.repeat(path[-1:], steps + 1 - len(path), axis=0)])
    return path


def descend(surface: Any, optimizer: Any, start: Any = None, steps: int = 100) -> np.ndarray:
    """Run ``optimizer`` for ``steps`` updates on ``surface`` from ``start``; return the path.

    The optimiser is built on a float64 2-vector ``p`` (its flat parameter buffer) and a
    gradient buffer ``g``; each step writes ``g = ∇f(p)`` and calls ``optimizer.step()``, the
    same call ``fit`` makes after every batch. An unbuilt optimiser instance is used as given;
    pass a fresh one per run (its state is the run's history). A full-batch optimiser (L-BFGS,
    :class:`tanul.protocol.FullBatchOptimizer`) runs its own ``minimize`` on the surface as a
    :class:`tanul.protocol.TrainingProblem`, one iteration per step; it may stop early when
    converged, and the path then stays at its last point.

    Returns
    -------
    ndarray (steps + 1, 2): the start and the point after every step. A path that leaves
    the finite numbers (a too large learning rate) keeps its last finite point from then on.
    """
    s = get(surface)
    steps = _check_steps(steps)
    p = _check_start(s.start if start is None else start)
    from tanul.optimizers import Optimizer
    from tanul.protocol import FullBatchOptimizer

    if isinstance(optimizer, FullBatchOptimizer):
        return _descend_full_batch(s, optimizer, p, steps)

    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"descend: expected a tanul optimizer instance, got {optimizer!r}")
    g = np.zeros_like(p)
    optimizer.build(p, g)
    path = np.empty((steps + 1, 2))
    path[0] = p
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(1, steps + 1):
            g[...] = s.grad(p)
            if not np.isfinite(g).all():
                path[t:] = path[t - 1]
                break
            optimizer.step()
            if not np.isfinite(p).all():
                path[t:] = path[t - 1]
                break
            path[t] = p
    return path


def default_optimizers(lr: float = 0.01) -> dict[str, Any]:
    """One fresh instance of every tanul optimiser, labelled, at learning rate ``lr``
    (AdaDelta at its usual ``lr=1``; L-BFGS chooses its own step by line search)."""
    from tanul.optimizers import LBFGS, SGD, AdaDelta, AdaGrad, Adam, AdamW, RMSProp

    return {"SGD": SGD(lr=lr), "Momentum": SGD(lr=lr, momentum=0.9),
            "Nesterov": SGD(lr=lr, momentum=0.9, nesterov=True), "AdaGrad": AdaGrad(lr=lr * 10),
            "AdaDelta": AdaDelta(lr=1.0), "RMSProp": RMSProp(lr=lr), "Adam": Adam(lr=lr),
            "AdamW": AdamW(lr=lr, weight_decay=0.01), "L-BFGS": LBFGS()}


def descend_all(surface: Any, optimizers: Any = None, start: Any = None,
                steps: int = 100) -> dict[str, np.ndarray]:
    """:func:`descend` for each optimiser (a dict label → instance, or a list), from one start."""
    if optimizers is None:
        optimizers = default_optimizers()
    if isinstance(optimizers, Mapping):
        items = [(str(k), v) for k, v in optimizers.items()]
    else:
        items, seen = [], {}
        for opt in optimizers:
            label = type(opt).__name__
            seen[label] = seen.get(label, 0) + 1
            items.append((label if seen[label] == 1 else f"{label} ({seen[label]})", opt))
    if not items:
        raise ValueError("descend_all: expected at least one optimizer")
    ids = [id(o) for _, o in items]
    if len(set(ids)) != len(ids):
        raise ValueError("descend_all: the same optimizer instance appears twice; give each run its own")
    return {label: descend(surface, opt, start, steps) for label, opt in items}


def distance_to_minimum(surface: Any, path: np.ndarray) -> np.ndarray:
    """Euclidean distance of every point of ``path`` to the surface's minimum."""
    s = get(surface)
    if s.minimum is None:
        raise ValueError(f"{s.name} has no minimum")
    return np.hypot(path[:, 0] - s.minimum[0], path[:, 1] - s.minimum[1])


def steps_to_reach(surface: Any, path: np.ndarray, tol: float = 1e-2) -> float:
    """The first step after which the path stays within ``tol`` of the minimum, or ``inf``."""
    d = distance_to_minimum(surface, path)
    far = np.flatnonzero(d > tol)
    if len(far) == 0:
        return 0
    first = int(far[-1]) + 1
    return first if first < len(d) else math.inf
