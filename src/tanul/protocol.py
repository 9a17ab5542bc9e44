"""The contracts between the floors of the house (see ``docs/design.md``).

Optimisers and callbacks sit *below* the model: they never import :mod:`tanul.model` or
:mod:`tanul.io`. What they may use of a model is written down here, as
:class:`typing.Protocol` classes, and nothing else:

* :class:`TrainingProblem`: what an optimiser sees. Two flat buffers of the same length and
  dtype, ``params`` (θ, written in place) and ``grads`` (∇L(θ), written by
  ``loss_and_grads``), and ``loss_and_grads(x, y) -> (L, outputs)``, which runs forward, loss
  and backward on a batch and leaves ∂L/∂θ in ``grads``:

  ``L(θ) = loss(f_θ(x), y) + Σ R(W)``,  ``grads ← ∇_θ L(θ)``.

* :class:`FullBatchOptimizer`: an optimiser that minimises the whole-data objective itself
  (L-BFGS) instead of taking one ``step()`` per mini-batch; ``fit`` recognises it by this
  protocol and lets it drive the iterations.

* :class:`CallbackTarget`: what a callback sees as ``self.model``: ``stop_training``,
  ``history``, ``optimizer`` (``lr``/``current_lr``), ``get_weights``/``set_weights`` and the
  three writers ``save``, ``save_weights``, ``save_checkpoint``. The *logs* dict passed to the
  hooks holds ``loss``, the metric values and ``val_*`` entries (floats) at ``on_epoch_end``,
  and ``size``/``loss`` at ``on_batch_end``.

* :class:`HistoryPlotter`: drawing learning curves, seen from the callbacks
  (``History.plot``, ``LivePlot``). :mod:`tanul.plot` registers its ``plot_history`` with
  :func:`register_history_plotter` when it is imported, as :mod:`tanul.io` registers the store.

* :class:`ModelStore`: persistence, seen from the model. The model's ``save``/``save_weights``/
  ``load_weights``/``save_checkpoint`` methods delegate to the store registered with
  :func:`register_store`; :mod:`tanul.io` registers itself when it is imported (``import
  tanul`` always imports it). So persistence depends on the model, and the model only on this
  contract: the dependency is inverted, not hidden in a late import.

This module imports nothing from tanul.
"""

from __future__ import annotations

import os
from typing import Any, Protocol, runtime_checkable

import numpy as np

__all__ = ["TrainingDivergedError", "TrainingProblem", "FullBatchOptimizer", "CallbackTarget",
           "ModelStore", "register_store", "model_store", "HistoryPlotter", "register_history_plotter",
           "history_plotter"]


class TrainingDivergedError(FloatingPointError):
    """Raised by ``fit`` when the loss, a layer output or a parameter becomes NaN or infinite."""


@runtime_checkable
class TrainingProblem(Protocol):
    """An objective over one flat parameter vector, as optimisers see a model."""

    @property
    def params(self) -> np.ndarray:
        """θ: the flat, contiguous parameter buffer (writing to it changes the model)."""

    @property
    def grads(self) -> np.ndarray:
        """∇L(θ) of the last ``loss_and_grads`` call, same shape and dtype as ``params``."""

    def loss_and_grads(self, x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        """``(L(θ), outputs)`` on ``(x, y)`` in training mode; leaves ∇L(θ) in ``grads``."""


@runtime_checkable
class FullBatchOptimizer(Protocol):
    """An optimiser that runs its own iterations on the whole training set (L-BFGS).

    ``max_iter``: its own iteration limit, or ``None`` to use ``fit``'s ``epochs``.
    ``minimize`` must call ``callback(loss)`` after every iteration with ``problem.params``
    holding that iterate, stop when the callback returns ``True``, and leave the final iterate
    in ``problem.params``.
    """

    max_iter: int | None

    def minimize(self, problem: TrainingProblem, x: np.ndarray, y: np.ndarray, *, max_iter: int,
                 callback: Any) -> None: ...


@runtime_checkable
class CallbackTarget(Protocol):
    """What ``Callback.model`` offers (``tanul.Sequential`` implements it)."""

    stop_training: bool
    history: Any
    optimizer: Any

    def get_weights(self) -> list[np.ndarray]: ...

    def set_weights(self, weights: list[np.ndarray]) -> None: ...

    def save(self, path: str | os.PathLike, include_optimizer: bool = True) -> None: ...

    def save_weights(self, path: str | os.PathLike) -> None: ...

    def save_checkpoint(self, path: str | os.PathLike, *, epoch: int, extra: dict | None = None,
                        callbacks: list | None = None) -> None: ...


@runtime_checkable
class ModelStore(Protocol):
    """Writes and reads models; :mod:`tanul.io` is the implementation."""

    def save_model(self, model: Any, path: str | os.PathLike, *, include_optimizer: bool = True) -> None: ...

    def save_weights(self, model: Any, path: str | os.PathLike) -> None: ...

    def load_weights(self, model: Any, path: str | os.PathLike) -> None: ...

    def save_checkpoint(self, path: str | os.PathLike, model: Any, *, epoch: int,
                        extra: dict | None = None, callbacks: list | None = None) -> None: ...


_store: list[ModelStore] = []


def register_store(store: ModelStore) -> None:
    """Make ``store`` the persistence used by ``Sequential.save`` and friends (the last wins)."""
    missing = [m for m in ("save_model", "save_weights", "load_weights", "save_checkpoint")
               if not callable(getattr(store, m, None))]
    if missing:
        raise TypeError(f"register_store: expected an object with save_model, save_weights, "
                        f"load_weights and save_checkpoint, got {store!r} (missing {missing})")
    _store[:] = [store]


def model_store() -> ModelStore:
    """The registered :class:`ModelStore` (``tanul.io`` once ``tanul`` is imported)."""
    if not _store:  # pragma: no cover - import tanul always registers tanul.io
        raise RuntimeError("no model store is registered: import tanul (or tanul.io) first")
    return _store[0]


@runtime_checkable
class HistoryPlotter(Protocol):
    """Draws learning curves: ``plotter(history, metrics=None, save=None) -> Figure``, where
    ``history`` is a ``History`` or a dict ``{"loss": [...], "val_loss": [...], ...}``
    (:func:`tanul.plot.plot_history` is the implementation)."""

    def __call__(self, history: Any, metrics: list[str] | None = None, *, save: Any = None) -> Any: ...


_history_plotter: list[HistoryPlotter] = []


def register_history_plotter(plotter: HistoryPlotter) -> None:
    """Make ``plotter`` the one ``History.plot`` and ``LivePlot`` use (the last wins)."""
    if not callable(plotter):
        raise TypeError(f"register_history_plotter: expected a function (history, metrics=None, save=None) "
                        f"-> Figure, got {plotter!r}")
    _history_plotter[:] = [plotter]


def history_plotter() -> HistoryPlotter:
    """The registered :class:`HistoryPlotter` (``tanul.plot.plot_history`` once ``tanul`` is imported)."""
    if not _history_plotter:  # pragma: no cover - import tanul always registers tanul.plot
        raise RuntimeError("no history plotter is registered: import tanul (or tanul.plot) first")
    return _history_plotter[0]
