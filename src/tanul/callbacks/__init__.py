"""Callbacks: hooks into ``fit`` (Keras semantics)."""

from tanul.callbacks.base import Callback, CallbackList, History, Lambda
from tanul.callbacks.live import LivePlot
from tanul.callbacks.progress import ProgressBar
from tanul.callbacks.training import (
    CSVLogger,
    EarlyStopping,
    LearningRateScheduler,
    ModelCheckpoint,
    ReduceLROnPlateau,
    TerminateOnNaN,
)

__all__ = ["Callback", "CallbackList", "History", "Lambda", "ProgressBar", "EarlyStopping",
           "ModelCheckpoint", "TerminateOnNaN", "CSVLogger", "LearningRateScheduler",
           "ReduceLROnPlateau", "LivePlot"]
