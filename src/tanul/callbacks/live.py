"""Live learning curves in a notebook, harmless everywhere else.

:class:`LivePlot` redraws the loss and metric curves in one place of the notebook while ``fit``
runs (an IPython display handle updated after every ``every`` epochs), instead of one picture per
epoch. In a terminal, a script or CI it shows nothing and opens no window; with ``save=`` it
writes the same picture to a PNG file (atomically, so a viewer never sees half a file).

:func:`in_notebook` and :func:`progress_bar_class` tell the rest of tanul whether it runs in a
Jupyter kernel and which ``tqdm`` suits it.
"""

from __future__ import annotations

import io
import sys
from typing import Any

from tanul.callbacks.base import Callback

__all__ = ["LivePlot", "in_notebook", "progress_bar_class"]


def in_notebook() -> bool:
    """True inside a Jupyter kernel (JupyterLab, classic notebook, VS Code, nbclient), False in a
    terminal IPython, a script or pytest. IPython is never imported by this check."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    try:
        shell = ipython.get_ipython()
    except Exception:  # pragma: no cover - a broken IPython install
        return False
    return shell is not None and (getattr(shell, "kernel", None) is not None
                                  or "IPKernelApp" in getattr(shell, "config", {}))


def progress_bar_class() -> Any:
    """The ``tqdm`` class for progress bars, or None when tqdm is not installed.

    In a notebook with ipywidgets: the widget bar of ``tqdm.notebook`` (right in JupyterLab and
    the classic notebook). In a notebook without ipywidgets: the text bar of ``tqdm.std``
    directly, which is what ``tqdm.auto`` would fall back to, but without its warning. Elsewhere:
    the text bar.
    """
    try:
        import tqdm  # noqa: F401
    except ImportError:
        return None
    if in_notebook():
        try:
            import ipywidgets  # noqa: F401
        except ImportError:
            from tqdm.std import tqdm as text_bar
            return text_bar
        from tqdm.notebook import tqdm as widget_bar
        return widget_bar
    from tqdm.std import tqdm as text_bar
    return text_bar


class LivePlot(Callback):
    """Redraw the learning curves (loss and metrics, training and validation) during ``fit``.

    Parameters
    ----------
    metrics : list of str, optional
        Panels to draw, as in :func:`tanul.plot.plot_history` (default: the loss and every metric).
    every : int, default 1
        Redraw after every ``every`` epochs (and always after the last one).
    mode : "auto" (default), "notebook" or "off"
        ``"auto"``: draw in place when running in a Jupyter kernel, else nothing.
        ``"notebook"``: always display through IPython (needs IPython).
        ``"off"``: never display (``save`` still works).
    save : path to a ``.png`` (or other matplotlib format), optional
        Also write the picture there at every redraw, atomically, in any mode.

    Notes
    -----
    In a notebook the figure is rendered to PNG and shown through
    ``IPython.display.display(..., display_id=True)``; later redraws call ``handle.update`` on
    the same output, so the cell shows one picture that changes. No ``pyplot`` figure and no GUI
    window is created, in any mode. Needs matplotlib (extra ``plot``) only when it draws; the
    picture is :func:`tanul.plot.plot_history`'s, reached through :mod:`tanul.protocol` (callbacks
    never import the plotting module).

    Examples
    --------
    >>> import tanul
    >>> from tanul.callbacks import LivePlot
    >>> live = LivePlot(every=5)     # outside a notebook: draws nothing, writes nothing
    >>> live
    LivePlot(every=5, mode='auto', active=False)
    """

    MODES = ("auto", "notebook", "off")

    def __init__(self, metrics: list[str] | None = None, every: int = 1, mode: str = "auto",
                 save: Any = None) -> None:
        super().__init__()
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"LivePlot: expected every to be a positive int, got {every!r}")
        if mode not in self.MODES:
            raise ValueError(f"LivePlot: expected mode to be one of {', '.join(map(repr, self.MODES))}, "
                             f"got {mode!r}")
        self.metrics = None if metrics is None else list(metrics)
        self.every = every
        self.mode = mode
        self.save = save
        self.redraws = 0
        self._handle: Any = None
        self._drawn = -1

    @property
    def active(self) -> bool:
        """Whether it displays in a notebook (``mode="notebook"``, or ``"auto"`` in a kernel)."""
        return self.mode == "notebook" or (self.mode == "auto" and in_notebook())

    def _history(self) -> Any:
        return getattr(self.model, "history", None)

    def on_train_begin(self, logs=None):
        self._handle = None
        self._drawn = -1

    def on_epoch_begin(self, epoch, logs=None):
        hist = self._history()
        self._recorded = len(hist.epoch) if hist is not None else 0

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every == 0:
            self._draw(logs)

    def on_train_end(self, logs=None):
        hist = self._history()
        if hist is not None and hist.epoch and self._drawn != len(hist.epoch):
            self._draw(None)

    def _data(self, logs: dict | None) -> dict[str, list[float]]:
        """The history so far, with this epoch's logs if ``History`` has not recorded them yet
        (``fit`` runs it after the user's callbacks)."""
        hist = self._history()
        data = {k: list(v) for k, v in hist.history.items()} if hist is not None else {}
        if logs and (hist is None or len(hist.epoch) == getattr(self, "_recorded", -1)):
            for k, v in logs.items():
                data.setdefault(k, []).append(float(v))
        return data

    def _draw(self, logs: dict | None) -> None:
        if not (self.active or self.save is not None):
            return
        from tanul.protocol import history_plotter

        data = self._data(logs)
        if not data:
            return
        fig = history_plotter()(data, self.metrics, save=self.save)   # tanul.plot.plot_history
        self._drawn = max(len(v) for v in data.values())
        self.redraws += 1
        if self.active:
            from IPython.display import Image, display
            from matplotlib.backends.backend_agg import FigureCanvasAgg

            buf = io.BytesIO()
            FigureCanvasAgg(fig).print_png(buf)
            image = Image(data=buf.getvalue(), format="png")
            if self._handle is None:
                self._handle = display(image, display_id=True)
            else:
                self._handle.update(image)

    def __repr__(self) -> str:
        extra = f", save={str(self.save)!r}" if self.save is not None else ""
        return f"LivePlot(every={self.every}, mode={self.mode!r}, active={self.active}{extra})"
