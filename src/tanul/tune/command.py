"""``tanul tune``: the command line over :mod:`tanul.tune`.

One process (``--workers 1``) runs trials itself; ``--workers K`` starts K worker processes of
the same command (BLAS single-threaded in each), waits for them and writes the outputs. Every
machine of a multi-machine study runs the same command with the same ``--study`` and
``--storage``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["add_arguments", "run_command"]

_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
                "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS", "TANUL_NUM_THREADS")


def add_arguments(p: argparse.ArgumentParser) -> None:
    from tanul.tune.engine import PRUNERS
    from tanul.tune.models import MODELS

    p.add_argument("--model", default="mlp", help=f"network to tune: {', '.join(MODELS)} (default mlp)")
    p.add_argument("--dataset", default="digits", help="digits (bundled), mnist, mnist_sample")
    p.add_argument("--data", default=None, help="local folder with the MNIST IDX files")
    p.add_argument("--space", default=None, help="search space file (TOML or .json); default: the "
                                                 "model's, printed by --show-space")
    p.add_argument("--show-space", action="store_true", help="print the search space and exit")
    p.add_argument("--trials", type=int, default=20, help="finished trials the study should hold (default 20)")
    p.add_argument("--out", default="runs/tune", help="output folder (default runs/tune)")
    p.add_argument("--study", default=None, help="study name (default tanul-MODEL-DATASET)")
    p.add_argument("--storage", default=None, help="Optuna storage URL, e.g. postgresql://user:pw@host/db "
                                                   "(default: sqlite:///OUT/study.db)")
    p.add_argument("--workers", type=int, default=1, help="local worker processes (default 1)")
    p.add_argument("--pruner", choices=PRUNERS, default="median", help="default median")
    p.add_argument("--seed", type=int, default=0,
                   help="seeds the sampler and the models; one worker repeats its search exactly. "
                        "Give every machine of a shared study its own seed")
    p.add_argument("--val-fraction", type=float, default=0.2,
                   help="stratified fraction of the training images held out for validation")
    p.add_argument("--heartbeat", type=int, default=30,
                   help="seconds between a running trial's heartbeats; a trial silent for twice as "
                        "long is failed and retried (default 30)")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--worker-index", type=int, default=None, help=argparse.SUPPRESS)


def _fail(msg: str) -> ValueError:
    return ValueError(msg)


def _load_space(args: argparse.Namespace) -> Any:
    from tanul.tune.models import DEFAULTS, MODELS
    from tanul.tune.space import default_space_path, load_space

    if args.model not in MODELS:
        raise _fail(f"unknown model {args.model!r}: expected one of {', '.join(MODELS)}")
    space = load_space(args.space if args.space else default_space_path(args.model))
    space.check_names(DEFAULTS[args.model], f"model {args.model}")
    for name in ("epochs", "batch_size", "patience"):
        if name in space and space[name].kind not in ("fixed", "int", "categorical"):
            raise _fail(f"{space.source}: {name} must be a whole number (fixed, int or categorical)")
    return space


def _data(args: argparse.Namespace) -> tuple:
    from tanul.jobs import DATASETS, adapt_images, load_image_dataset
    from tanul.preprocessing import train_test_split
    from tanul.tune.models import build

    if args.dataset not in DATASETS:
        raise _fail(f"unknown dataset {args.dataset!r}: expected one of {', '.join(DATASETS)}")
    if not 0 < args.val_fraction < 0.5:
        raise _fail(f"expected --val-fraction in (0, 0.5), got {args.val_fraction}")
    (x_tr, y_tr), (x_te, y_te) = load_image_dataset(args.dataset, args.data, seed=args.seed)
    k = int(max(y_tr.max(), y_te.max())) + 1
    shape = build(args.model, {}, x_tr.shape[1:], k).input_shape
    x_tr, x_te = adapt_images(x_tr, shape), adapt_images(x_te, shape)
    x_fit, x_val, y_fit, y_val = train_test_split(x_tr, y_tr, test_size=args.val_fraction, stratify=y_tr,
                                                  seed=args.seed)
    return (x_fit, y_fit), (x_val, y_val), (x_te, y_te), tuple(x_tr.shape[1:]), k


def _worker_argv(args: argparse.Namespace, index: int, storage: str, study: str) -> list[str]:
    argv = [sys.executable, "-m", "tanul.cli", "tune", "--model", args.model, "--dataset", args.dataset,
            "--trials", str(args.trials), "--out", str(args.out), "--study", study, "--storage", storage,
            "--workers", "1", "--pruner", args.pruner, "--seed", str(args.seed),
            "--val-fraction", str(args.val_fraction), "--heartbeat", str(args.heartbeat),
            "--worker-index", str(index)]
    if args.space:
        argv += ["--space", str(args.space)]
    if args.data:
        argv += ["--data", str(args.data)]
    if args.quiet:
        argv.append("--quiet")
    return argv


def _run_workers(args: argparse.Namespace, storage: str, study: str, say: Any) -> int:
    env = dict(os.environ, **{v: "1" for v in _THREAD_VARS})
    procs = [subprocess.Popen(_worker_argv(args, i + 1, storage, study), env=env) for i in range(args.workers)]
    say(f"started {args.workers} workers (pids {', '.join(str(p.pid) for p in procs)}), BLAS single-threaded")
    interrupted = False
    while any(p.poll() is None for p in procs):
        try:
            time.sleep(0.2)
        except KeyboardInterrupt:  # the workers got it too: they finish their epoch and stop
            interrupted = True
    for i, p in enumerate(procs, 1):
        if p.returncode < 0:
            say(f"worker {i} (pid {p.pid}) was killed by signal {-p.returncode}; its trial is failed "
                "and retried by the others")
        elif p.returncode == 130:
            interrupted = True
        elif p.returncode != 0:
            say(f"worker {i} (pid {p.pid}) exited with status {p.returncode}")
    return 130 if interrupted else 0


def run_command(args: argparse.Namespace) -> int:
    from tanul.tune import engine as S
    from tanul.tune.models import DEFAULTS, build

    quiet = args.quiet
    say = (lambda *_a, **_k: None) if quiet else (lambda m: print(m, flush=True))
    space = _load_space(args)
    if args.show_space:
        print(space.text if space.text is not None else space, end="" if space.text else "\n")
        return 0
    if args.trials < 1:
        raise _fail(f"expected --trials >= 1, got {args.trials}")
    if args.workers < 1:
        raise _fail(f"expected --workers >= 1, got {args.workers}")
    optuna = S._optuna()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    storage = args.storage or f"sqlite:///{(out / 'study.db').resolve()}"
    study_name = args.study or f"tanul-{args.model}-{args.dataset}"
    worker = args.worker_index is not None
    label = f"[w{args.worker_index}] " if worker else ""
    st = S.open_storage(storage, heartbeat=args.heartbeat)
    max_epochs = S.max_epochs_of(space, DEFAULTS[args.model]["epochs"])
    seed = args.seed + (args.worker_index or 0)   # workers must not draw the same random trials
    study = optuna.create_study(study_name=study_name, storage=st, direction="minimize",
                                sampler=S.make_sampler(seed, args.trials),
                                pruner=S.make_pruner(args.pruner, max_epochs), load_if_exists=True)
    n_before = len(study.trials)
    if not worker and not n_before:
        # trial 0: tanul's defaults (those the space can take), the point to beat
        d = DEFAULTS[args.model]
        defaults = {k: v for k, v in d.items() if k in space.searched() and space[k].contains(v)
                    and all(d.get(c) in allowed for c, allowed in space[k].only_if)}
        study.enqueue_trial(defaults, user_attrs={"defaults": True})
    (x_fit, y_fit), (x_val, y_val), (x_te, y_te), shape, k = _data(args)
    if not worker:
        say(f"study {study_name!r} in {S.redact(storage)}: {n_before} trials so far; "
            f"{args.model} on {args.dataset}: {len(x_fit)} training, {len(x_val)} validation images; "
            f"searching {', '.join(space.searched())}")
    models_dir = out / "trials"
    models_dir.mkdir(exist_ok=True)
    ctx = S._Context(build=lambda p: build(args.model, p, shape, k), space=space, x=x_fit, y=y_fit,
                     x_val=x_val, y_val=y_val, epochs=DEFAULTS[args.model]["epochs"],
                     batch_size=DEFAULTS[args.model]["batch_size"], patience=DEFAULTS[args.model]["patience"],
                     seed=args.seed, models_dir=models_dir, label=label)
    if args.workers > 1 and not worker:
        rc = _run_workers(args, storage, study_name, say)
    else:
        rc = 130 if S.run_worker(study, ctx, args.trials, say=say) == "interrupted" else 0
    if worker:
        return rc
    from tanul.tune.report import write_outputs

    test = None
    try:
        best_number = study.best_trial.number
    except ValueError:
        best_number = None
    model_file = models_dir / f"trial-{best_number:05d}.tanul" if best_number is not None else None
    model = ctx.best_model if ctx.best_number == best_number and best_number is not None else None
    if model is None and model_file is not None and model_file.exists():
        from tanul.io import load_model

        model = load_model(model_file)
    if model is not None:
        res = model.evaluate(x_te, y_te)
        test = {"loss": res["loss"], "accuracy": res.get("accuracy"), "images": int(len(y_te))}
    settings = {"model": args.model, "dataset": args.dataset, "seed": args.seed, "pruner": args.pruner,
                "val_fraction": args.val_fraction, "space": space.to_dict()}
    written = write_outputs(study, space, out, model=model, say=say, storage=storage, test=test,
                            settings=settings)
    c = S.count_trials(study)
    if best_number is not None:
        b = study.best_trial
        acc = f", test accuracy {test['accuracy']:.4f}" if test and test.get("accuracy") is not None else ""
        say(f"\nbest trial #{b.number}: val_loss {b.value:.4f}{acc}; "
            + ", ".join(f"{s.lower()} {n}" for s, n in sorted(c.items())))
    say("Wrote:\n" + "\n".join(f"  {p}" for p in written))
    return rc
