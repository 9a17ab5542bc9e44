"""Callbacks: hooks into ``fit`` (Keras semantics)."""

from tanul.callbacks.base import Callback, CallbackList, History, Lambda
from tanul.callbacks.progress import ProgressBar

__all__ = ["Callback", "CallbackList", "History", "Lambda", "ProgressBar"]
