"""Export a playground run: the model as a ``.tanul`` file, and a Python script that replays it."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from tanul.playground.trainer import ACTIVATIONS, FEATURES, Trainer

__all__ = ["model_bytes", "python_script"]


def model_bytes(trainer: Trainer) -> bytes:
    """The trained model as the bytes of a ``.tanul`` file (``tanul.io.save_model``)."""
    from tanul.io import save_model

    with tempfile.TemporaryDirectory(prefix="tanul-playground-") as tmp:
        path = Path(tmp) / "playground.tanul"
        save_model(trainer.model, path)
        return path.read_bytes()


def _array_literal(a: np.ndarray) -> str:
    rows = ",\n    ".join("[" + ", ".join(repr(float(v)) for v in row) + "]" for row in np.atleast_2d(a))
    return f"np.array([\n    {rows},\n])"


def python_script(trainer: Trainer) -> str:
    """A standalone script that rebuilds the same data, network and settings, trains the same
    number of epochs in the same order, and prints the losses the page shows."""
    s, d = trainer.settings, trainer.data
    classify = d.task == "classification"
    feats = ", ".join(FEATURES[f][1] for f in s.features)
    opt = {"sgd": f"tanul.SGD(lr={s.lr!r})", "momentum": f"tanul.SGD(lr={s.lr!r}, momentum=0.9)",
           "adam": f"tanul.Adam(lr={s.lr!r})", "rmsprop": f"tanul.RMSProp(lr={s.lr!r})"}[s.optimizer]
    reg = "None"
    if s.regularization != "none" and s.reg_rate > 0:
        reg = f"tanul.regularizers.{s.regularization.upper()}({s.reg_rate!r})"
    if d.source.get("kind") == "csv":
        names = d.source["names"]
        data = (f"# the CSV columns {names['x1']!r}, {names['x2']!r} -> {names['y']!r} of the uploaded file,\n"
                f"# already shuffled with np.random.default_rng({s.seed}).permutation\n"
                f"x_raw = {_array_literal(d.source['x_raw'])}\n"
                f"y_raw = {_array_literal(d.source['y_raw'][:, None])}[:, 0]\n"
                "lo, hi = x_raw.min(axis=0), x_raw.max(axis=0)\n"
                "tiny = 1e-9 * np.maximum(1.0, np.maximum(np.abs(lo), np.abs(hi)))  # constant below\n"
                "x = (2 * (x_raw - lo) / np.where(hi - lo > tiny, hi - lo, 1.0) - 1).astype(np.float32)"
                "  # to [-1, 1]\n")
        if classify:
            data += "y = y_raw.astype(np.float32)  # classes 0 and 1\n"
        else:
            data += ("ylo, yhi = y_raw.min(), y_raw.max()\n"
                     "ytiny = 1e-9 * max(1.0, abs(ylo), abs(yhi))\n"
                     "yspan = yhi - ylo if yhi - ylo > ytiny else 1.0\n"
                     "y = (2 * (y_raw - ylo) / yspan - 1).astype(np.float32)  # to [-1, 1]\n")
    else:
        data = (f"x, y = toy2d({s.dataset!r}, n={s.n_points}, noise={s.noise!r}, seed={s.seed})\n"
                "y = y.astype(np.float32)\n")
    layers = []
    for units in s.layers:
        layers.append(f"    tanul.Dense({units}, activation={ACTIVATIONS[s.activation]!r}, "
                      f"kernel_regularizer=REG),")
        if s.dropout > 0:
            layers.append(f"    tanul.Dropout({s.dropout!r}),")
    layers.append("    tanul.Dense(1, kernel_regularizer=REG),")
    loss_name = "binary_cross_entropy" if classify else "mse"
    loss_cls = "BinaryCrossEntropy" if classify else "MeanSquaredError"
    shape = "-".join(map(str, [len(s.features), *s.layers, 1]))
    return f'''"""Replays a tanul playground run: {s.dataset} data, {shape}
network, {s.activation}, {s.optimizer} (lr {s.lr:g}), batch {s.batch_size}, {trainer.epoch} epochs.

Run it with `python {'playground_run.py'}`; it prints the training and test losses the page
showed and saves the model as playground_run.tanul.
"""

import numpy as np

import tanul
from tanul.datasets import toy2d  # noqa: F401

EPOCHS = {trainer.epoch}
SEED = {s.seed}
BATCH = {s.batch_size}
REG = {reg}

{data}n_train = {d.n_train}  # the first {d.n_train} points train, the other {len(d.x) - d.n_train} test


def features(x):
    """The network's inputs: {', '.join(FEATURES[f][0] for f in s.features)}."""
    x1, x2 = x[:, 0], x[:, 1]
    return np.stack([{feats}], axis=1).astype(np.float32)


x_train, y_train = features(x[:n_train]), y[:n_train].reshape(-1, 1)
x_test, y_test = features(x[n_train:]), y[n_train:].reshape(-1, 1)

model = tanul.Sequential([
{chr(10).join(layers)}
], seed=SEED, input_shape=({len(s.features)},))
model.compile(optimizer={opt}, loss={loss_name!r})

rng = np.random.default_rng(SEED)
for epoch in range(EPOCHS):
    order = rng.permutation(n_train)
    for start in range(0, n_train, BATCH):
        idx = order[start:start + BATCH]
        model.train_on_batch(x_train[idx], y_train[idx])

loss = tanul.losses.{loss_cls}()  # the data loss, without the L1/L2 penalty
print(f"epoch {{EPOCHS}}: training loss {{loss(model.predict(x_train), y_train):.4f}}, "
      f"test loss {{loss(model.predict(x_test), y_test):.4f}}")
model.save("playground_run.tanul")
'''


def describe(trainer: Trainer) -> dict[str, Any]:
    """File names for the downloads."""
    return {"model": f"playground-{trainer.settings.dataset}-epoch{trainer.epoch}.tanul",
            "code": f"playground-{trainer.settings.dataset}-epoch{trainer.epoch}.py"}
