"""Hyperparameter search on Optuna: ``tanul tune`` and :func:`search`.

Optuna proposes the values (TPE), prunes hopeless trials (median or Hyperband pruner, fed the
validation loss after every epoch by :class:`OptunaPruning`) and stores the study in a
relational database: a SQLite file for one machine, PostgreSQL (or any URL Optuna accepts)
for many. Needs the ``tune`` extra: ``pip install 'tanul[tune]'``; ``import tanul`` never
imports this package or Optuna.

>>> from tanul.tune import default_space
>>> default_space("mlp")["lr"]
Param(lr=float[0.0001, 0.03] log)
"""

from tanul.tune.space import Param, Space, default_space, default_space_path, load_space

__all__ = ["search", "SearchResult", "OptunaPruning", "Space", "Param", "load_space", "default_space",
           "default_space_path"]


def __getattr__(name: str):
    if name in ("search", "SearchResult", "OptunaPruning"):
        from tanul.tune import engine

        return getattr(engine, name)
    raise AttributeError(f"module 'tanul.tune' has no attribute {name!r}")
