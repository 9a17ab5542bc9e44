"""What a search leaves in its folder: ``trials.csv``, ``best.json``, ``best.tanul`` and pictures."""

from __future__ import annotations

import csv
import io as _io
import json
import math
import shutil
from pathlib import Path
from typing import Any

from tanul.tune.space import Space

__all__ = ["write_outputs", "trial_rows", "TRIAL_COLUMNS"]

#: the columns of ``trials.csv`` before the parameters (``param_NAME``)
TRIAL_COLUMNS = ["number", "state", "value", "val_accuracy", "best_epoch", "epochs", "seconds",
                 "retry_of", "host"]


def _text(path: Path, text: str) -> None:
    from tanul.io import atomic_write

    with atomic_write(path, "w") as f:
        f.write(text)


def _num(v: Any) -> Any:
    if v is None:
        return ""
    return repr(float(v)) if isinstance(v, float) else v


def trial_rows(study: Any, space: Space) -> tuple[list[str], list[list[Any]]]:
    """Header and rows of ``trials.csv``: one row per trial, in trial-number order."""
    names = list(space.searched())
    for t in study.get_trials(deepcopy=False):
        names += [k for k in t.params if k not in names]
    rows = []
    for t in sorted(study.get_trials(deepcopy=False), key=lambda t: t.number):
        ua = t.user_attrs
        rows.append([t.number, t.state.name, _num(t.value), _num(ua.get("val_accuracy")),
                     ua.get("best_epoch", ""), ua.get("epochs", ""), _num(ua.get("seconds")),
                     t.system_attrs.get("failed_trial", ""), ua.get("host", "")]
                    + [_num(t.params.get(k)) for k in names])
    return TRIAL_COLUMNS + [f"param_{k}" for k in names], rows


def _csv(header: list[str], rows: list[list[Any]]) -> str:
    buf = _io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def write_outputs(study: Any, space: Space, out: Path, model: Any = None, say: Any = print,
                  storage: str | None = None, test: dict | None = None,
                  settings: dict | None = None) -> list[Path]:
    """Write the search folder; returns the paths written.

    ``best.json`` holds the best trial (number, value = lowest validation loss, parameters,
    epochs, seconds) and, when given, ``test`` (the best model's test-set figures).
    ``best.tanul`` is the best model: ``model``, else the file the best trial's worker saved in
    ``out/trials`` (other trials' files there are removed).
    """
    from tanul.tune.engine import count_trials, redact

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    header, rows = trial_rows(study, space)
    _text(out / "trials.csv", _csv(header, rows))
    written.append(out / "trials.csv")
    try:
        best = study.best_trial
    except ValueError:
        say(f"no finished trial in study {study.study_name!r}: nothing to call best")
        return written
    ua = best.user_attrs
    trials_dir = out / "trials"
    model_file = trials_dir / f"trial-{best.number:05d}.tanul"
    if model is not None:
        from tanul.io import save_model

        save_model(model, out / "best.tanul")
    elif model_file.exists():
        shutil.copyfile(model_file, out / ".best.tanul.tmp")
        (out / ".best.tanul.tmp").replace(out / "best.tanul")
    have_model = (model is not None or model_file.exists())
    if have_model:
        written.append(out / "best.tanul")
    if trials_dir.is_dir():
        for f in trials_dir.glob("trial-*.tanul"):
            if f != model_file:
                f.unlink(missing_ok=True)
    info = {"study": study.study_name, "storage": redact(storage) if storage else None,
            "number": best.number, "value": best.value, "metric": "val_loss",
            "val_accuracy": ua.get("val_accuracy"), "best_epoch": ua.get("best_epoch"),
            "epochs": ua.get("epochs"), "seconds": ua.get("seconds"), "seed": ua.get("seed"),
            "params": best.params, "host": ua.get("host"),
            "model": "best.tanul" if have_model else None, "trials": count_trials(study)}
    if not have_model:
        info["model_note"] = (f"trial {best.number} ran on {ua.get('host')}; its model is in that "
                              "machine's output folder")
    if test:
        info["test"] = test
    if settings:
        info["settings"] = settings
    _text(out / "best.json", json.dumps(info, indent=2) + "\n")
    written.append(out / "best.json")
    written += _pictures(study, out, say)
    return written


def _pictures(study: Any, out: Path, say: Any) -> list[Path]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - matplotlib missing
        say(f"(no pictures: {exc})")
        return []
    written = []
    trials = sorted(study.get_trials(deepcopy=False), key=lambda t: t.number)
    # optimisation history: every finished trial's value and the best so far
    fig, ax = plt.subplots(figsize=(7, 4))
    best, xs, ys = math.inf, [], []
    for state, colour in (("COMPLETE", "tab:blue"), ("PRUNED", "tab:gray")):
        pts = [(t.number, t.value) for t in trials if t.state.name == state and t.value is not None
               and math.isfinite(t.value)]
        if pts:
            ax.scatter(*zip(*pts), s=18, color=colour, label=state.lower())
    for t in trials:
        if t.state.name == "COMPLETE" and t.value is not None:
            best = min(best, t.value)
            xs.append(t.number)
            ys.append(best)
    if xs:
        ax.step(xs, ys, where="post", color="tab:red", label="best so far")
    ax.set_xlabel("trial")
    ax.set_ylabel("validation loss (best epoch; pruned: last reported)")
    ax.set_title(f"Optimisation history of {study.study_name}")
    if xs and min(ys) > 0 and max(t.value for t in trials if t.value is not None and math.isfinite(t.value)) \
            > 20 * min(ys):
        ax.set_yscale("log")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "history.png", dpi=110)
    plt.close(fig)
    written.append(out / "history.png")
    # parameter importances (Optuna's fANOVA on the complete trials)
    complete = [t for t in trials if t.state.name == "COMPLETE"]
    if len(complete) >= 3 and any(len(t.distributions) for t in complete):
        try:
            import optuna

            imp = optuna.importance.get_param_importances(study)
        except (ValueError, RuntimeError, ImportError) as exc:
            say(f"(no importance picture: {str(exc).splitlines()[0]})")
            imp = {}
        if imp:
            names = list(imp)[::-1]
            fig, ax = plt.subplots(figsize=(7, 0.4 * len(names) + 1.2))
            ax.barh(names, [imp[n] for n in names], color="tab:blue")
            ax.set_xlabel("importance (fANOVA share of the validation loss' variance)")
            ax.set_title("Hyperparameter importances")
            fig.tight_layout()
            fig.savefig(out / "importances.png", dpi=110)
            plt.close(fig)
            written.append(out / "importances.png")
    # the best trial's learning curves
    hist = study.best_trial.user_attrs.get("history") or {}
    if hist.get("loss"):
        panels = [k for k in hist if not k.startswith("val_")]
        fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.6), squeeze=False)
        for ax, key in zip(axes[0], panels):
            ep = range(1, len(hist[key]) + 1)
            ax.plot(ep, hist[key], label="training")
            if f"val_{key}" in hist:
                ax.plot(range(1, len(hist[f"val_{key}"]) + 1), hist[f"val_{key}"], label="validation")
            be = study.best_trial.user_attrs.get("best_epoch")
            if be:
                ax.axvline(be, color="gray", ls=":", label=f"best epoch {be}")
            ax.set_xlabel("epoch")
            ax.set_ylabel(key)
            ax.legend()
        fig.suptitle(f"Best trial #{study.best_trial.number}: learning curves")
        fig.tight_layout()
        fig.savefig(out / "best_curves.png", dpi=110)
        plt.close(fig)
        written.append(out / "best_curves.png")
    return written
