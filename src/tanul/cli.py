"""Command line: ``tanul demo``, ``tanul train``, ``tanul evaluate``, ``tanul forecast``.

Thin over the API. Every subcommand lives in a function ``_cmd_NAME(args) -> int`` registered in
``COMMANDS`` with its argument parser; user errors print one line (no traceback) and exit 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

__all__ = ["main", "COMMANDS"]

#: name -> (help, add_arguments(parser), run(args) -> exit code)
COMMANDS: dict[str, tuple[str, Callable, Callable]] = {}


def command(name: str, help: str):
    """Register a subcommand: decorate ``run(args)``; ``run.add_arguments(parser)`` is optional."""

    def deco(run: Callable) -> Callable:
        COMMANDS[name] = (help, getattr(run, "add_arguments", lambda p: None), run)
        return run

    return deco


def _demo_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--seed", type=int, default=0)


@command("demo", "train a dense network on scikit-learn's 8x8 digits and print the test report")
def _cmd_demo(args: argparse.Namespace) -> int:
    import numpy as np

    from tanul import Dense, Sequential
    from tanul.datasets import digits
    from tanul.preprocessing import train_test_split

    x, y = digits()
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.25, stratify=y, seed=args.seed)
    model = Sequential([Dense(64, activation="relu"), Dense(64, activation="relu"), Dense(10)],
                       seed=args.seed)
    model.compile(optimizer="adam", loss="cross_entropy", metrics=["accuracy"])
    model.summary()
    model.fit(x_tr, y_tr, epochs=args.epochs, batch_size=32, validation_split=0.1, verbose=1)
    pred = model.predict_classes(x_te)
    acc = float(np.mean(pred == y_te))
    print(f"\nTest accuracy on {len(y_te)} held-out digits: {acc:.4f}")
    try:
        from tanul.metrics import confusion_matrix
        cm = confusion_matrix(y_te, pred)
    except ImportError:  # pragma: no cover
        cm = np.zeros((10, 10), int)
        np.add.at(cm, (y_te, pred), 1)
    print("Confusion matrix (rows: true digit, columns: predicted):")
    print("     " + " ".join(f"{j:>4d}" for j in range(cm.shape[1])))
    for i, row in enumerate(cm):
        print(f"{i:>4d} " + " ".join(f"{v:>4d}" for v in row))
    return 0


_cmd_demo.add_arguments = _demo_args


def build_parser() -> argparse.ArgumentParser:
    from tanul import __version__

    parser = argparse.ArgumentParser(prog="tanul", description="tanul: deep learning in NumPy")
    parser.add_argument("--version", action="version", version=f"tanul {__version__}")
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
    except (ValueError, TypeError, FileNotFoundError, ImportError) as exc:
        print(f"tanul {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"tanul {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
