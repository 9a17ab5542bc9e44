"""Callback base class, the list that dispatches to callbacks, History and Lambda."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["Callback", "CallbackList", "History", "Lambda"]


class Callback:
    """Hooks called by ``Sequential.fit``. ``self.model`` is set before ``on_train_begin``.

    ``self.model`` is used only through :class:`tanul.protocol.CallbackTarget`
    (``stop_training``, ``history``, ``optimizer``, ``get_weights``/``set_weights``, ``save``,
    ``save_weights``, ``save_checkpoint``): callbacks never import the model or ``tanul.io``.

    ``logs`` at ``on_epoch_end`` holds ``loss``, the metrics, and ``val_*`` for validation data.
    Epochs are 0-based in the hooks (as in Keras) and 1-based on screen.
    Set ``self.model.stop_training = True`` to stop after the current epoch.
    """

    def __init__(self) -> None:
        self.model: Any = None

    def set_model(self, model: Any) -> None:
        self.model = model

    def on_train_begin(self, logs: dict | None = None) -> None: ...
    def on_train_end(self, logs: dict | None = None) -> None: ...
    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None: ...
    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None: ...
    def on_batch_begin(self, batch: int, logs: dict | None = None) -> None: ...
    def on_batch_end(self, batch: int, logs: dict | None = None) -> None: ...

    def get_state(self) -> dict[str, Any]:
        """JSON-ready state needed to resume (for checkpoints); override where it matters."""
        return {}

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`get_state` returned."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class CallbackList:
    """Dispatch every hook to a list of callbacks, in order."""

    def __init__(self, callbacks: Iterable[Callback] = (), model: Any = None) -> None:
        self.callbacks = list(callbacks)
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"fit: expected callbacks to be tanul.callbacks.Callback instances, "
                                f"got {cb!r}")
            if model is not None:
                cb.set_model(model)

    def __getattr__(self, hook: str) -> Callable[..., None]:
        if not hook.startswith("on_"):
            raise AttributeError(hook)

        def call(*args: Any, **kwargs: Any) -> None:
            for cb in self.callbacks:
                getattr(cb, hook)(*args, **kwargs)

        return call

    def __iter__(self):
        return iter(self.callbacks)


class History(Callback):
    """Records the per-epoch logs: ``history.history["loss"]``, ``["val_loss"]``, metrics.

    ``epoch`` lists the 0-based epoch numbers. ``best_epoch`` (0-based) is set by
    ``EarlyStopping`` so that plots can mark it. Several ``fit`` calls append.
    """

    def __init__(self) -> None:
        super().__init__()
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []
        self.best_epoch: int | None = None

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(int(epoch))
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(float(v))

    def __getitem__(self, key: str) -> list[float]:
        return self.history[key]

    def keys(self):
        return self.history.keys()

    def plot(self, metrics: list[str] | None = None, **kwargs: Any):
        """Learning curves of this history: :func:`tanul.plot.plot_history` (needs matplotlib),
        reached through :func:`tanul.protocol.history_plotter`. Returns the Figure."""
        from tanul.protocol import history_plotter
        return history_plotter()(self, metrics, **kwargs)

    def get_state(self):
        return {"history": self.history, "epoch": self.epoch, "best_epoch": self.best_epoch}

    def set_state(self, state):
        self.history = {k: list(v) for k, v in state.get("history", {}).items()}
        self.epoch = list(state.get("epoch", []))
        self.best_epoch = state.get("best_epoch")

    def __repr__(self):
        last = {k: round(v[-1], 4) for k, v in self.history.items() if v}
        return f"History(epochs={len(self.epoch)}, last={last})"


class Lambda(Callback):
    """Quick hooks from functions: ``Lambda(on_epoch_end=lambda epoch, logs: print(logs))``."""

    _HOOKS = ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end",
              "on_batch_begin", "on_batch_end")

    def __init__(self, **hooks: Callable[..., None]) -> None:
        super().__init__()
        for name, fn in hooks.items():
            if name not in self._HOOKS:
                raise TypeError(f"Lambda: unknown hook {name!r}; expected one of {', '.join(self._HOOKS)}")
            if not callable(fn):
                raise TypeError(f"Lambda: {name} must be callable, got {fn!r}")
            setattr(self, name, fn)
        self._names = sorted(hooks)

    def __repr__(self):
        return f"Lambda({', '.join(self._names)})"
