"""Progress display for ``fit``: a bar per epoch with samples/s and ETA."""

from __future__ import annotations

import sys
import time

from tanul.callbacks.base import Callback

__all__ = ["ProgressBar"]


def _fmt_logs(logs: dict) -> str:
    return "  ".join(f"{k} {v:.4g}" for k, v in logs.items() if isinstance(v, (int, float)))


class ProgressBar(Callback):
    """The default display at ``verbose=1``.

    Uses ``tqdm`` when it is installed (extra ``progress``): one bar per epoch, with samples/s,
    ETA and the running loss; in Jupyter the ipywidgets bar when ipywidgets is installed (extra
    ``notebooks``), else the text bar (no ``tqdm.auto`` warning). Without tqdm, or at
    ``verbose=2``, it prints one line per epoch.
    Output goes to ``stderr`` unless ``file`` is given.
    """

    def __init__(self, verbose: int = 1, file=None) -> None:
        super().__init__()
        self.verbose = int(verbose)
        self.file = file
        self._bar = None

    def on_train_begin(self, logs=None):
        self.epochs = (logs or {}).get("epochs", 0)
        self.samples = (logs or {}).get("samples", 0)
        self._tqdm = None
        if self.verbose == 1:
            from tanul.callbacks.live import progress_bar_class  # widgets in Jupyter, text elsewhere
            self._tqdm = progress_bar_class()

    def on_epoch_begin(self, epoch, logs=None):
        self._t0 = time.perf_counter()
        self._seen = 0
        if self._tqdm is not None:
            self._bar = self._tqdm(total=self.samples, unit="sample", unit_scale=True,
                                   desc=f"Epoch {epoch + 1}/{self.epochs}", leave=True,
                                   file=self.file or sys.stderr, dynamic_ncols=True,
                                   mininterval=0.2)

    def on_batch_end(self, batch, logs=None):
        logs = logs or {}
        size = int(logs.get("size", 0))
        self._seen += size
        if self._bar is not None:
            self._bar.update(size)
            if "loss" in logs:
                self._bar.set_postfix(loss=f"{logs['loss']:.4f}", refresh=False)

    def on_epoch_end(self, epoch, logs=None):
        dt = time.perf_counter() - self._t0
        text = _fmt_logs(logs or {})
        if self._bar is not None:
            self._bar.set_postfix_str(text, refresh=True)
            self._bar.close()
            self._bar = None
        else:
            rate = self._seen / dt if dt > 0 else 0.0
            print(f"Epoch {epoch + 1}/{self.epochs}  {dt:.1f}s  {rate:,.0f} samples/s  {text}",
                  file=self.file or sys.stderr, flush=True)

    def on_train_end(self, logs=None):
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __repr__(self):
        return f"ProgressBar(verbose={self.verbose})"
