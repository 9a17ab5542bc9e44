"""The search itself, on Optuna: storage, sampler, pruner, the pruning callback, the worker loop.

tanul writes no search algorithm and no job queue: Optuna's TPE sampler proposes the values,
its pruners decide which trials are hopeless, and its relational storage (SQLite in a file, or a
PostgreSQL/MySQL server) is where several processes, on one machine or many, share one study.
"""

from __future__ import annotations

import math
import os
import re
import signal
import socket
import sys
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from tanul.callbacks import Callback
from tanul.tune.space import Space, load_space

__all__ = ["search", "SearchResult", "OptunaPruning", "open_storage", "make_pruner", "make_sampler",
           "run_worker", "redact", "PRUNERS", "TrialInterrupted"]

PRUNERS = ("median", "hyperband", "none")
_TRAINING = ("epochs", "batch_size", "patience")   # read by the search loop, not by build
_FINISHED = ("COMPLETE", "PRUNED")


def _optuna() -> Any:
    try:
        import optuna
    except ImportError:
        raise ImportError("tanul tune needs Optuna: pip install 'tanul[tune]'") from None
    optuna.logging.set_verbosity(optuna.logging.ERROR)   # tanul prints a line per trial
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    return optuna


class TrialInterrupted(Exception):
    """Ctrl-C ended a trial after its current epoch (the trial is marked failed)."""


def redact(url: str) -> str:
    """A storage URL with its password replaced by ``***`` (for messages and files)."""
    return re.sub(r"(://[^:/@]*:)[^@/]*@", r"\1***@", str(url))


# ---------------------------------------------------------------------- Optuna pieces
def open_storage(url: str, heartbeat: int = 30, grace: int | None = None, retries: int = 3) -> Any:
    """An Optuna ``RDBStorage`` with heartbeat and retry of trials whose worker died.

    A running trial's process writes a heartbeat every ``heartbeat`` seconds; a trial whose
    heartbeat is older than ``grace`` seconds (default ``2·heartbeat``) is marked FAIL by the
    next worker that looks, and put back in the queue (up to ``retries`` times) with the same
    parameters: Optuna's ``RetryHeartbeatStaleTrialCallback`` (``RetryFailedTrialCallback`` in
    Optuna < 4.9). A URL that cannot be opened raises ValueError naming it (password hidden).
    ``postgresql://`` URLs use psycopg 3 (``postgresql+DRIVER://`` picks another driver).
    """
    optuna = _optuna()
    if isinstance(heartbeat, bool) or not isinstance(heartbeat, int) or heartbeat < 1:
        raise ValueError(f"expected heartbeat to be a whole number of seconds >= 1, got {heartbeat!r}")
    grace = 2 * heartbeat if grace is None else int(grace)
    if grace <= heartbeat:
        raise ValueError(f"expected the grace period ({grace} s) to be longer than the heartbeat "
                         f"({heartbeat} s)")
    retry_cls = getattr(optuna.storages, "RetryHeartbeatStaleTrialCallback", None)
    kw = "heartbeat_stale_trial_callback"
    if retry_cls is None:  # Optuna < 4.9
        retry_cls, kw = optuna.storages.RetryFailedTrialCallback, "failed_trial_callback"
    given = url
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        # psycopg 3 (the tune extra), whatever SQLAlchemy's default PostgreSQL driver is
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    connect: dict[str, Any] = {}
    if url.startswith("sqlite"):
        connect = {"timeout": 60}   # several local processes take turns on the file lock
    elif url.startswith("postgresql"):
        connect = {"connect_timeout": 10}
    elif url.startswith("mysql"):
        connect = {"connect_timeout": 10}
    try:
        return optuna.storages.RDBStorage(
            url, engine_kwargs={"connect_args": connect, "pool_pre_ping": True},
            heartbeat_interval=heartbeat, grace_period=grace, **{kw: retry_cls(max_retry=retries)})
    except ImportError as exc:
        raise ImportError(f"storage {redact(given)}: {exc} (for PostgreSQL: pip install "
                          "'tanul[tune]')") from None
    except Exception as exc:  # sqlalchemy's errors: unreachable server, bad URL, missing driver, ...
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        first = re.sub(r"^\([\w.]+\)\s*", "", first)
        raise ValueError(f"cannot open storage {redact(given)}: {first}") from None


def make_pruner(name: str, max_epochs: int) -> Any:
    """``median`` (stop a trial whose value at epoch k is worse than the median of earlier trials
    at epoch k), ``hyperband`` (successive halving over epochs) or ``none``."""
    optuna = _optuna()
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1)
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max(int(max_epochs), 3),
                                              reduction_factor=3)
    if name in ("none", None):
        return optuna.pruners.NopPruner()
    raise ValueError(f"unknown pruner {name!r}: expected one of {', '.join(PRUNERS)}")


def make_sampler(seed: int | None, n_trials: int) -> Any:
    """TPE (Bergstra et al., 2011): random for the first trials, then sampling where
    ``l(x)/g(x)`` is large (the density of the best trials' values over that of the rest)."""
    optuna = _optuna()
    return optuna.samplers.TPESampler(seed=seed, n_startup_trials=min(10, max(3, n_trials // 4)))


def max_epochs_of(space: Space, default: int) -> int:
    """The most epochs a trial of ``space`` may run (``epochs`` fixed, searched, or ``default``)."""
    if "epochs" not in space:
        return int(default)
    p = space["epochs"]
    if p.kind == "fixed":
        return int(p.value)
    if p.kind == "categorical":
        return int(max(p.choices))
    return int(p.high)


# ---------------------------------------------------------------------- callbacks
class OptunaPruning(Callback):
    """Report ``monitor`` to an Optuna trial after every epoch; stop the trial when the pruner
    says so (``model.stop_training``; :attr:`pruned` is then True).

    A non-finite value stops training too (nothing good comes after it).
    """

    def __init__(self, trial: Any, monitor: str = "val_loss") -> None:
        super().__init__()
        self.trial, self.monitor = trial, monitor
        self.pruned = False
        self.pruned_epoch: int | None = None

    def on_train_begin(self, logs=None):
        self.pruned, self.pruned_epoch = False, None

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None:
            raise ValueError(f"OptunaPruning: no {self.monitor!r} in the epoch logs (keys: "
                             f"{', '.join(logs or {})}); fit needs validation data")
        value = float(value)
        if not math.isfinite(value):
            self.pruned, self.pruned_epoch = True, epoch
            self.model.stop_training = True
            return
        self.trial.report(value, epoch)
        if self.trial.should_prune():
            self.pruned, self.pruned_epoch = True, epoch
            self.model.stop_training = True

    def __repr__(self):
        return f"OptunaPruning(trial={getattr(self.trial, 'number', '?')}, monitor={self.monitor!r})"


class _FinishEpochOnCtrlC(Callback):
    """First Ctrl-C: finish the current epoch, then stop; a second one interrupts at once.

    (``fit`` on its own stops after the current batch; a trial needs whole epochs so that the
    values it reported stay comparable.)
    """

    def __init__(self, label: str = "") -> None:
        super().__init__()
        self.pressed, self.label, self._installed = False, label, False

    def _handler(self, signum, frame):
        if self.pressed:
            raise KeyboardInterrupt
        self.pressed = True
        print(f"\nCtrl-C: {self.label}finishing this epoch, then stopping (again to abort at once)",
              file=sys.stderr, flush=True)

    def on_epoch_begin(self, epoch, logs=None):
        # installed inside fit (which sets its own stop-after-this-batch handler first and puts
        # the caller's handler back when it returns)
        if not self._installed and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, self._handler)
            self._installed = True

    def on_epoch_end(self, epoch, logs=None):
        if self.pressed:
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        self._installed = False


# ---------------------------------------------------------------------- the objective
@dataclass
class _Context:
    build: Any
    space: Space
    x: np.ndarray
    y: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    epochs: int = 20
    batch_size: int = 32
    patience: int | None = 5
    seed: int = 0
    models_dir: Path | None = None
    label: str = ""
    best_value: float = math.inf
    best_model: Any = None
    best_number: int | None = None
    interrupted: bool = False
    extra: dict = field(default_factory=dict)


def _int(params: dict, name: str, default: Any) -> Any:
    v = params.get(name, default)
    return None if v is None else int(v)


def _objective(trial: Any, ctx: _Context) -> float:
    optuna = _optuna()
    from tanul import TrainingDivergedError
    from tanul.callbacks import EarlyStopping

    params = ctx.space.suggest(trial)
    seed = ctx.seed + trial.number
    trial.set_user_attr("host", socket.gethostname())
    trial.set_user_attr("pid", os.getpid())
    trial.set_user_attr("seed", seed)
    epochs = _int(params, "epochs", ctx.epochs)
    batch_size = _int(params, "batch_size", ctx.batch_size)
    patience = _int(params, "patience", ctx.patience)
    t0 = time.perf_counter()
    model = ctx.build({**params, "seed": seed})
    if not hasattr(model, "fit"):
        raise TypeError(f"search: build(params) must return a compiled tanul model, got {type(model).__name__}")
    pruning = OptunaPruning(trial)
    ctrl_c = _FinishEpochOnCtrlC(ctx.label)
    # the best epoch's weights are kept (patience = epochs: never stops, only remembers)
    es = EarlyStopping(patience=patience if patience else epochs, restore_best_weights=True)
    diverged = None
    try:
        model.fit(ctx.x, ctx.y, epochs=epochs, batch_size=batch_size, verbose=0,
                  validation_data=(ctx.x_val, ctx.y_val), callbacks=[es, pruning, ctrl_c])
    except TrainingDivergedError as exc:
        diverged = str(exc).splitlines()[0][:300]
    seconds = time.perf_counter() - t0
    hist = {k: [round(float(v), 6) for v in vals] for k, vals in model.history.history.items()}
    trial.set_user_attr("epochs", len(hist.get("val_loss", [])))
    trial.set_user_attr("seconds", round(seconds, 3))
    trial.set_user_attr("history", hist)
    if ctrl_c.pressed or getattr(model.history, "interrupted", False):
        ctx.interrupted = True
        trial.set_user_attr("interrupted", True)
        raise TrialInterrupted(f"trial {trial.number} interrupted by Ctrl-C after {len(hist.get('loss', []))} "
                               "whole epochs")
    if diverged is not None:
        trial.set_user_attr("diverged", diverged)
        raise optuna.TrialPruned(f"training diverged: {diverged}")
    if pruning.pruned:
        raise optuna.TrialPruned(f"pruned at epoch {pruning.pruned_epoch + 1}")
    if es.best_epoch is None or not math.isfinite(es.best):
        raise optuna.TrialPruned("no finite validation loss")
    value = float(es.best)
    trial.set_user_attr("best_epoch", int(es.best_epoch) + 1)
    if "val_accuracy" in hist:
        trial.set_user_attr("val_accuracy", hist["val_accuracy"][es.best_epoch])
    if value < ctx.best_value:
        ctx.best_value, ctx.best_model, ctx.best_number = value, model, trial.number
    if ctx.models_dir is not None and _beats_study(trial.study, value):
        from tanul.io import save_model

        save_model(model, ctx.models_dir / f"trial-{trial.number:05d}.tanul")
    return value


def _beats_study(study: Any, value: float) -> bool:
    try:
        return value <= study.best_value
    except ValueError:  # no finished trial yet
        return True


# ---------------------------------------------------------------------- the worker loop
def _describe(params: dict, space: Space) -> str:
    parts = []
    for k in space.searched():
        if k in params:
            v = params[k]
            parts.append(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}")
    return " ".join(parts)


def _progress(ctx: _Context, say: Any) -> Any:
    def callback(study: Any, trial: Any) -> None:
        ua = trial.user_attrs
        value = "" if trial.value is None else f"val_loss {trial.value:.4f}"
        if "val_accuracy" in ua and trial.state.name == "COMPLETE":
            value += f" val_acc {ua['val_accuracy']:.4f}"
        if ua.get("diverged"):
            value = "diverged"
        try:
            best = f"best #{study.best_trial.number} {study.best_value:.4f}"
        except ValueError:
            best = "best -"
        retry = trial.system_attrs.get("failed_trial")
        retry = f" (retry of #{retry})" if retry is not None else ""
        say(f"{ctx.label}trial {trial.number:>3}{retry} {trial.state.name:<8} {value:<32} "
            f"{ua.get('epochs', 0):>3} ep {ua.get('seconds', 0):6.1f} s | "
            f"{_describe(trial.params, ctx.space)} | "
            f"{best}")
    return callback


def count_trials(study: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for t in study.get_trials(deepcopy=False):
        counts[t.state.name] = counts.get(t.state.name, 0) + 1
    return counts


def run_worker(study: Any, ctx: _Context, n_trials: int, say: Any = print, poll: float = 1.0) -> str:
    """Run trials until the study holds ``n_trials`` finished (complete or pruned) trials.

    Before each trial: fail the trials whose worker stopped beating (they are queued again), then
    count. When the remaining trials are all running elsewhere, wait and look again, so that a
    trial whose worker dies is still retried. Returns ``"done"`` or ``"interrupted"``.
    Several workers may overshoot ``n_trials`` by at most one trial each (they count at the same
    moment).
    """
    optuna = _optuna()
    progress = _progress(ctx, say)
    while True:
        optuna.storages.fail_stale_trials(study)
        c = count_trials(study)
        done = sum(c.get(s, 0) for s in _FINISHED)
        if done >= n_trials:
            return "done"
        if done + c.get("RUNNING", 0) >= n_trials and not c.get("WAITING", 0):
            time.sleep(poll)   # the rest run elsewhere; keep watching in case a worker dies
            continue
        try:
            study.optimize(lambda t: _objective(t, ctx), n_trials=1, callbacks=[progress], catch=())
        except TrialInterrupted as exc:
            say(f"{ctx.label}{exc}: marked FAIL; stopping this worker")
            return "interrupted"
        except KeyboardInterrupt:
            say(f"{ctx.label}interrupted; the running trial is marked failed")
            return "interrupted"
        except (ValueError, RuntimeError) as exc:
            # Another worker already finished this trial: on SQLite two workers can pop the same
            # queued trial (its transactions do not lock the row), and on a starved machine a late
            # heartbeat gets a running trial marked FAIL and queued again. Optuna then refuses to
            # update or tell it; its result is dropped and the other worker's counts.
            if not any(m in str(exc) for m in _LOST_RACE):
                raise
            say(f"{ctx.label}a trial was finished by another worker meanwhile; its result is "
                f"dropped ({exc})")


_LOST_RACE = ("Cannot tell a", "has already finished and can not be updated")


# ---------------------------------------------------------------------- the Python API
class SearchResult(NamedTuple):
    """What :func:`search` returns: the Optuna study and the best trial's trained model."""

    study: Any
    model: Any


def _split(x: np.ndarray, y: np.ndarray, val_fraction: float, seed: int) -> tuple:
    from tanul.preprocessing import train_test_split

    if not 0 < val_fraction < 1:
        raise ValueError(f"search: expected val_fraction in (0, 1), got {val_fraction!r}")
    labels = y.ndim == 1 and np.issubdtype(y.dtype, np.integer)
    x_tr, x_va, y_tr, y_va = train_test_split(x, y, test_size=val_fraction, seed=seed,
                                              stratify=y if labels else None)
    return x_tr, y_tr, x_va, y_va


def search(build: Any, space: Any, x: Any, y: Any, *, validation_data: tuple | None = None,
           val_fraction: float = 0.2, trials: int = 20, epochs: int = 20, batch_size: int = 32,
           patience: int | None = 5, pruner: str = "median", seed: int | None = 0,
           study: str | None = None, storage: str | None = None, out: str | os.PathLike | None = None,
           known: Any = None, enqueue: list[dict] | None = None, heartbeat: int = 30,
           verbose: int = 1) -> SearchResult:
    """Search hyperparameters with Optuna (TPE + pruning) and return the study and best model.

    The objective is the lowest validation loss a trial reaches (its weights at that epoch are
    kept). Every epoch the validation loss is reported to the trial; the pruner stops a trial
    that is hopeless compared to the trials before it at the same epoch.

    Parameters
    ----------
    build : callable
        ``build(params) -> compiled tanul model``. ``params`` holds one value per hyperparameter
        of ``space`` and ``"seed"``, a per-trial seed (``seed + trial number``) for the model.
    space : Space, dict or path
        See :mod:`tanul.tune.space`. ``epochs``, ``batch_size`` and ``patience`` in the space
        override the arguments of the same name (and can be searched).
    x, y : arrays
        Training data. Validation: ``validation_data``, else a stratified random
        ``val_fraction`` of ``x``/``y``.
    trials : int
        Finished (complete or pruned) trials the study should hold; a study loaded from
        ``storage`` that already has some only gets the rest.
    pruner : "median", "hyperband" or "none"
    seed : int, optional
        Seeds the sampler and the models; the same seed repeats a search on one worker.
    study, storage : str, optional
        Optuna study name and storage URL (``sqlite:///file.db``, ``postgresql://...``). Default:
        in memory, or ``sqlite:///OUT/study.db`` when ``out`` is given. Other processes running
        ``search`` with the same ``study`` and ``storage`` share the work.
    out : path, optional
        Write ``trials.csv``, ``best.json``, ``best.tanul`` and the pictures there.
    known : iterable of str, optional
        The hyperparameter names ``build`` understands; any other name in ``space`` is an error.
    enqueue : list of dict, optional
        Parameter sets to try first (e.g. the current defaults), if the study is new.
    heartbeat : int
        Seconds between a running trial's heartbeats (storage given or ``out``).

    Returns
    -------
    SearchResult
        ``(study, model)``: the Optuna study and the best trial's model (None when the best
        trial ran in another process and its model file is not in ``out``).
    """
    optuna = _optuna()
    if not callable(build):
        raise TypeError(f"search: expected build to be a callable build(params) -> model, got {build!r}")
    space = load_space(space)
    if known is not None:
        space.check_names([*known, *(n for n in _TRAINING if n not in known)], "build")
    if isinstance(trials, bool) or not isinstance(trials, int) or trials < 1:
        raise ValueError(f"search: expected trials to be a positive int, got {trials!r}")
    x, y = np.asarray(x), np.asarray(y)
    if validation_data is None:
        x_tr, y_tr, x_va, y_va = _split(x, y, val_fraction, 0 if seed is None else seed)
    else:
        x_tr, y_tr = x, y
        x_va, y_va = (np.asarray(a) for a in validation_data)
    outdir = None
    if out is not None:
        outdir = Path(out)
        outdir.mkdir(parents=True, exist_ok=True)
        if storage is None:
            storage = f"sqlite:///{(outdir / 'study.db').resolve()}"
    max_epochs = max_epochs_of(space, epochs)
    st = open_storage(storage, heartbeat=heartbeat) if storage else None
    name = study or "tanul"
    try:
        the_study = optuna.create_study(study_name=name, storage=st, direction="minimize",
                                        sampler=make_sampler(seed, trials),
                                        pruner=make_pruner(pruner, max_epochs), load_if_exists=True)
    except Exception as exc:
        raise ValueError(f"cannot create study {name!r} in {redact(storage or 'memory')}: "
                         f"{str(exc).splitlines()[0]}") from None
    if enqueue and not the_study.trials:
        for params in enqueue:
            the_study.enqueue_trial(params)
    models_dir = None
    if outdir is not None:
        models_dir = outdir / "trials"
        models_dir.mkdir(exist_ok=True)
    ctx = _Context(build=build, space=space, x=x_tr, y=y_tr, x_val=x_va, y_val=y_va, epochs=epochs,
                   batch_size=batch_size, patience=patience, seed=0 if seed is None else seed,
                   models_dir=models_dir)
    say = print if verbose else (lambda *_a, **_k: None)
    run_worker(the_study, ctx, trials, say=say)
    model = None
    try:
        best = the_study.best_trial
    except ValueError:
        best = None
    if best is not None:
        if ctx.best_number == best.number:
            model = ctx.best_model
        elif models_dir is not None and (models_dir / f"trial-{best.number:05d}.tanul").exists():
            from tanul.io import load_model

            model = load_model(models_dir / f"trial-{best.number:05d}.tanul")
    if outdir is not None:
        from tanul.tune.report import write_outputs

        write_outputs(the_study, space, outdir, model=model, say=say, storage=storage)
    return SearchResult(the_study, model)
