"""Optimisers racing on a 2-D surface: a contour plot with one path each, and its animation.

Used through ``tanul.plot.optimizer_paths`` and ``tanul.plot.animate_optimizer_paths``; the
surfaces and the stepping loop are in :mod:`tanul.surfaces` (NumPy only), the drawing here
(matplotlib, extra ``plot``). As in :mod:`tanul.plot`, figures are built without ``pyplot`` and
files are written atomically (this module does not import :mod:`tanul.plot`, which re-exports
it, so the imports run one way).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from tanul.io import atomic_path

__all__ = ["optimizer_paths", "animate_optimizer_paths"]


def _grid(s: Any, resolution: int = 200) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    gx, gy = np.meshgrid(np.linspace(*s.xlim, resolution), np.linspace(*s.ylim, resolution))
    with np.errstate(over="ignore", invalid="ignore"):
        z = np.asarray(s.f(np.stack([gx, gy])), dtype=np.float64)
    return gx, gy, z


def _draw_surface(ax: Any, s: Any, levels: int) -> None:
    from matplotlib.colors import LogNorm

    gx, gy, z = _grid(s)
    if s.log_levels:
        lo = max(float(np.nanmin(z)), 1e-3)
        hi = float(np.nanmax(z))
        ax.contour(gx, gy, np.maximum(z, lo), levels=np.logspace(np.log10(lo), np.log10(hi), levels),
                   norm=LogNorm(lo, hi), cmap="viridis", linewidths=0.7, alpha=0.8)
    else:
        ax.contour(gx, gy, z, levels=levels, cmap="viridis", linewidths=0.7, alpha=0.8)
    if s.minimum is not None:
        ax.plot(*s.minimum, marker="*", markersize=14, color="k", linestyle="none", label="minimum")
    ax.set_xlim(*s.xlim)
    ax.set_ylim(*s.ylim)
    ax.set_xlabel("x")
    ax.set_ylabel("y")


def _figure_with_canvas(figsize: tuple[float, float]):
    """A Figure with an Agg canvas (no pyplot: no window, no global state)."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("tanul.plot needs matplotlib: pip install tanul[plot]") from exc
    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save_figure(fig: Any, save: Any) -> Any:
    """As ``tanul.plot``'s ``save=``: the format follows the suffix, written atomically."""
    if save is None:
        return fig
    path = Path(os.fspath(save))
    fmt = path.suffix.lstrip(".").lower()
    supported = fig.canvas.get_supported_filetypes()
    if fmt not in supported:
        raise ValueError(f"plot: cannot write {str(path)!r}; expected a suffix among "
                         f"{', '.join('.' + k for k in sorted(supported))}")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=fmt, dpi=110, bbox_inches="tight")
    return fig


def optimizer_paths(surface: Any, optimizers: Any = None, start: Any = None, steps: int = 100, *,
                    levels: int = 30, title: str | None = None, save: Any = None):
    """Contour plot of ``surface`` with the path of every optimiser from the same ``start``.

    Parameters
    ----------
    surface : str or tanul.surfaces.Surface
        ``"beale"``, ``"rosenbrock"``, ``"saddle"`` or ``"ravine"``.
    optimizers : dict label -> optimizer, list of optimizers, or None
        Fresh tanul optimiser instances (each is built on its own 2-vector and stepped through
        the real ``Optimizer`` API, see :func:`tanul.surfaces.descend`). Default: every tanul
        optimiser at ``lr=0.01`` (:func:`tanul.surfaces.default_optimizers`).
    start : (x, y), optional
        Default: the surface's usual start.
    steps : int
    levels : int
        Number of contour levels (log-spaced for Beale and Rosenbrock).
    save : path, optional

    Returns
    -------
    matplotlib.figure.Figure
        With the computed paths as ``fig.paths`` (dict label -> array (steps + 1, 2)).
    """
    from tanul import surfaces

    s = surfaces.get(surface)
    start = s.start if start is None else start
    paths = surfaces.descend_all(s, optimizers, start, steps)
    fig = _figure_with_canvas((6.4, 5.2))
    ax = fig.add_subplot()
    _draw_surface(ax, s, levels)
    for label, path in paths.items():
        ax.plot(path[:, 0], path[:, 1], "-", linewidth=1.6, label=label)
        ax.plot(*path[-1], "o", markersize=4, color=ax.lines[-1].get_color())
    ax.plot(*np.asarray(start, float), marker="o", color="k", markersize=6, linestyle="none")
    ax.set_title(title if title is not None else f"{s.name}: {s.formula}\n{steps} steps from {tuple(start)}",
                 fontsize=10)
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.paths = paths
    return _save_figure(fig, save)


def _frame_steps(steps: int, frames: int) -> np.ndarray:
    """The step shown by each frame: ``frames`` distinct steps from 0 to ``steps``."""
    return np.unique(np.round(np.linspace(0, steps, frames)).astype(int))


def animate_optimizer_paths(surface: Any, optimizers: Any = None, start: Any = None, steps: int = 100, *,
                            frames: int = 50, fps: int = 10, levels: int = 30, save: Any = None):
    """The race as an animation: frame *i* shows every path up to step ⌊i·steps/(frames − 1)⌉.

    Parameters
    ----------
    surface, optimizers, start, steps, levels
        As in :func:`optimizer_paths`.
    frames : int in [2, steps + 1]
        Number of frames; each shows a later step than the one before (the title counts them).
    fps : int
        Frames per second of the saved file.
    save : path ending in ``.gif`` or ``.mp4``, optional
        GIF through matplotlib's Pillow writer (Pillow comes with matplotlib); MP4 needs the
        ``ffmpeg`` program on the PATH (a clear error otherwise). Written atomically.

    Returns
    -------
    matplotlib.animation.FuncAnimation
        In a notebook, ``IPython.display.HTML(anim.to_jshtml())`` plays it inline; the paths
        are in ``anim.paths``.
    """
    from matplotlib import animation

    from tanul import surfaces

    for name, val, low in (("frames", frames, 2), ("fps", fps, 1)):
        if isinstance(val, bool) or not isinstance(val, (int, np.integer)) or val < low:
            raise ValueError(f"animate_optimizer_paths: expected {name} to be an int >= {low}, got {val!r}")
    if isinstance(steps, (int, np.integer)) and not isinstance(steps, bool) and frames > steps + 1:
        raise ValueError(f"animate_optimizer_paths: expected frames <= steps + 1 = {steps + 1} (one step "
                         f"per frame at most), got frames={frames}")
    fmt = None
    if save is not None:
        fmt = Path(os.fspath(save)).suffix.lower()
        if fmt not in (".gif", ".mp4"):
            raise ValueError(f"animate_optimizer_paths: expected save to end in .gif or .mp4, "
                             f"got {str(save)!r}")
        if fmt == ".mp4" and not animation.writers.is_available("ffmpeg"):
            raise ValueError("animate_optimizer_paths: writing .mp4 needs the ffmpeg program on the PATH "
                             "(apt-get install ffmpeg); save a .gif instead")
    s = surfaces.get(surface)
    start = s.start if start is None else start
    paths = surfaces.descend_all(s, optimizers, start, steps)
    shown = _frame_steps(steps, frames)
    fig = _figure_with_canvas((6.4, 5.2))
    ax = fig.add_subplot()
    _draw_surface(ax, s, levels)
    ax.plot(*np.asarray(start, float), marker="o", color="k", markersize=6, linestyle="none")
    lines, heads = [], []
    for label in paths:
        (line,) = ax.plot([], [], "-", linewidth=1.6, label=label)
        (head,) = ax.plot([], [], "o", markersize=5, color=line.get_color())
        lines.append(line)
        heads.append(head)
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    title = ax.set_title("", fontsize=10)

    def update(i: int):
        k = int(shown[i])
        for line, head, path in zip(lines, heads, paths.values()):
            line.set_data(path[:k + 1, 0], path[:k + 1, 1])
            head.set_data([path[k, 0]], [path[k, 1]])
        title.set_text(f"{s.name}: step {k} of {steps}")
        return [*lines, *heads, title]

    anim = animation.FuncAnimation(fig, update, frames=len(shown), interval=1000 / fps, blit=False,
                                   repeat=True)
    anim.paths = paths
    anim.frame_steps = shown
    if save is not None:
        writer = animation.PillowWriter(fps=fps) if fmt == ".gif" else animation.FFMpegWriter(fps=fps)
        with atomic_path(os.fspath(save)) as tmp:
            anim.save(tmp, writer=writer, dpi=80)
    return anim
