"""Exact resume across processes, and saves that survive being killed."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from tanul.io import load_model

SRC = str(Path(__file__).resolve().parents[1] / "src")

TRAIN = r"""
import sys, numpy as np, tanul
from tanul.io import save_checkpoint, load_checkpoint
mode, path, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
rng = np.random.default_rng(0)
x = rng.normal(size=(96, 6)).astype(np.float32)
y = (x[:, 0] + x[:, 1] * x[:, 2] > 0).astype(np.int64)
if mode == "resume":
    model, info = load_checkpoint(path)
    model.fit(x, y, epochs=2 * n, initial_epoch=info["epoch"] + 1, batch_size=16, verbose=0)
else:
    model = tanul.Sequential([tanul.Dense(16, activation="relu"), tanul.Dropout(0.3), tanul.Dense(2)], seed=7)
    model.compile(optimizer="adam", loss="cross_entropy", metrics=["accuracy"])
    model.fit(x, y, epochs=n if mode == "first" else 2 * n, batch_size=16, verbose=0)
    if mode == "first":
        save_checkpoint(path, model, epoch=n - 1)
        sys.exit(0)
model.save(sys.argv[4])
"""


def _run(*args):
    env = dict(os.environ, PYTHONPATH=SRC)
    subprocess.run([sys.executable, "-c", TRAIN, *map(str, args)], check=True, env=env, timeout=120)


def test_train_n_stop_resume_in_new_process_equals_2n_straight(tmp_path):
    n = 3
    _run("straight", tmp_path / "unused", n, tmp_path / "straight.tanul")
    _run("first", tmp_path / "ckpt.tanul", n)
    _run("resume", tmp_path / "ckpt.tanul", n, tmp_path / "resumed.tanul")
    a, b = load_model(tmp_path / "straight.tanul"), load_model(tmp_path / "resumed.tanul")
    for u, v in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_array_equal(u, v)
    assert a.optimizer.iterations == b.optimizer.iterations == 2 * n * 6


SAVER = r"""
import sys, numpy as np, tanul
model = tanul.Sequential([tanul.Dense(256), tanul.Dense(256), tanul.Dense(1)], seed=0, input_shape=(64,))
i = 0
print("ready", flush=True)
while True:
    i += 1
    model.params[:] = i          # every version distinguishable
    model.save(sys.argv[1])
"""


def test_killing_a_process_mid_save_leaves_a_loadable_file(tmp_path):
    path = tmp_path / "m.tanul"
    env = dict(os.environ, PYTHONPATH=SRC)
    rng = np.random.default_rng(0)
    for _ in range(4):
        proc = subprocess.Popen([sys.executable, "-c", SAVER, str(path)], env=env, stdout=subprocess.PIPE)
        proc.stdout.readline()
        time.sleep(0.15 + rng.uniform(0, 0.25))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        model = load_model(path)  # never half-written
        assert np.unique(model.params).size == 1 and model.params[0] >= 1
    leftovers = [p for p in tmp_path.iterdir() if p.name != "m.tanul"]
    assert all(p.name.startswith(".m.tanul.") for p in leftovers)  # only hidden temporaries
