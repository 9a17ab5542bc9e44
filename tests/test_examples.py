"""The quick examples run to the end and print what they claim (the long ones are run by hand;
their numbers are in docs/). Content is parsed from the output: a crash-free run that prints
"accuracy" next to nonsense does not pass."""

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_example(name, tmp_path):
    pytest.importorskip("sklearn")
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), MPLBACKEND="Agg")
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / name)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def number(pattern, text):
    m = re.search(pattern, text)
    assert m, f"{pattern!r} not in the output:\n{text[-3000:]}"
    return [float(g) for g in m.groups()]


def test_quickstart_learns_the_digits(tmp_path):
    out = run_example("quickstart.py", tmp_path)
    scores = ast.literal_eval(out.strip().splitlines()[-1])  # print(model.evaluate(...))
    assert set(scores) == {"loss", "accuracy"}
    assert scores["accuracy"] > 0.93 and scores["loss"] < 0.3  # 30 epochs of a 64-64 MLP


def test_fever_example_prints_consistent_figures(tmp_path):
    out = run_example("fever.py", tmp_path)
    [diff] = number(r"max \|difference\| = (\S+)", out)
    assert diff < 1e-6  # backprop against central differences, float64
    # 400 samples, 300 for training (n_test = int(400 · 0.25)); 200 epochs:
    # full batch 200 steps, batches of 16 ceil(300/16)·200 = 3800, stochastic 300·200 = 60000
    steps = [int(s) for s in re.findall(r"lr=\S+\s+(\d+) steps", out)]
    assert steps == [200, 3800, 60000]
    mae, base = number(r"test MAE (\S+) °C \(predicting the training mean: (\S+) °C\)", out)
    assert mae < 0.3 * base
    # classification: the confusion matrix holds the 150 test patients and gives the accuracy
    [acc] = number(r"test accuracy (\S+)", out)
    rows = re.findall(r"^\s+(normal|elevated|fever)\s+(\d+)\s+(\d+)\s+(\d+)$", out, re.M)
    cm = [[int(v) for v in r[1:]] for r in rows]
    assert len(cm) == 3 and sum(map(sum, cm)) == 150
    assert acc == pytest.approx(sum(cm[i][i] for i in range(3)) / 150, abs=5e-4) and acc > 0.85
    counts = ast.literal_eval(re.search(r"class counts \(train\): (\{.*\})", out)[1])
    assert sum(counts.values()) == 450
    probs = re.findall(r"\(p = (\S+), (\S+), (\S+)\)", out)
    assert len(probs) == 4 and all(abs(sum(map(float, p)) - 1) <= 0.015 for p in probs)
