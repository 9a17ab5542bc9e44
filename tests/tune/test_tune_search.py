"""The search on SQLite: the Python API, pruning, two worker processes, Ctrl-C."""

from __future__ import annotations

import csv
import json
import math
import os
import signal
import subprocess

import numpy as np
import pytest

import tanul
from conftest import optuna, run_tune, running_trial_with_epochs, tiny_space, trial_states, tune_cmd, wait_for
from tanul import datasets
from tanul.tune import search


@pytest.fixture(scope="module")
def digits():
    x, y = datasets.digits()
    return x.astype(np.float32), y


def _mlp(params):
    net = tanul.Sequential([tanul.Dense(int(params.get("units", 16)), activation="relu"), tanul.Dense(10)],
                           seed=params["seed"], input_shape=(64,))
    net.compile(optimizer=tanul.Adam(lr=params["lr"]), loss="cross_entropy", metrics=["accuracy"])
    return net


def test_pruning_stops_a_trial_far_worse_than_the_median(digits):
    x, y = digits
    good = {"lr": 1e-2}
    bad = {"lr": 1e-7}   # barely moves: its validation loss stays near ln 10 ≈ 2.3
    study, model = search(_mlp, {"lr": {"type": "float", "low": 1e-8, "high": 0.1, "log": True}}, x, y,
                          trials=4, epochs=8, batch_size=32, patience=None, pruner="median",
                          enqueue=[good, good, good, bad], verbose=0, seed=0)
    trials = study.get_trials()
    assert [t.state.name for t in trials] == ["COMPLETE", "COMPLETE", "COMPLETE", "PRUNED"]
    assert [t.user_attrs["epochs"] for t in trials[:3]] == [8, 8, 8]
    # the median pruner waits one warm-up epoch, then compares epoch 2 with the others' epoch 2
    assert trials[3].user_attrs["epochs"] == 2
    assert trials[3].intermediate_values[1] > 5 * max(t.intermediate_values[1] for t in trials[:3])
    # the best model is returned with the weights of its best epoch
    assert model is not None and math.isclose(model.evaluate(*_val(x, y))["loss"], study.best_value, rel_tol=1e-5)


def _val(x, y):
    from tanul.preprocessing import train_test_split

    _, x_va, _, y_va = train_test_split(x, y, test_size=0.2, stratify=y, seed=0)
    return x_va, y_va


def test_same_seed_repeats_the_search_on_one_worker(digits):
    x, y = digits[0][:400], digits[1][:400]
    space = {"lr": {"type": "float", "low": 1e-3, "high": 0.1, "log": True},
             "units": {"type": "int", "low": 4, "high": 32}}
    runs = [search(_mlp, space, x, y, trials=5, epochs=2, pruner="none", seed=7, verbose=0).study
            for _ in range(2)]
    a, b = ([(t.params, t.value) for t in s.trials] for s in runs)
    assert a == b and len({t.params["units"] for t in runs[0].trials}) > 1
    other = search(_mlp, space, x, y, trials=5, epochs=2, pruner="none", seed=8, verbose=0).study
    assert [t.params for t in other.trials] != [p for p, _ in a]


def test_hyperband_pruner(digits):
    x, y = digits[0][:600], digits[1][:600]
    space = {"lr": {"type": "float", "low": 1e-6, "high": 0.1, "log": True}, "units": 16}
    study, model = search(_mlp, space, x, y, trials=8, epochs=9, patience=None, pruner="hyperband", verbose=0)
    states = [t.state.name for t in study.trials]
    assert set(states) <= {"COMPLETE", "PRUNED"} and "COMPLETE" in states and len(states) == 8
    pruned = [t for t in study.trials if t.state.name == "PRUNED"]
    assert all(t.user_attrs["epochs"] < 9 for t in pruned)
    assert model is not None


def test_search_rejects_names_build_does_not_know(digits):
    with pytest.raises(ValueError, match=r"unknown hyperparameter 'dropout' for build; expected one of lr, units, epochs, batch_size, patience"):
        search(_mlp, {"dropout": 0.1}, *digits, known=["lr", "units"], trials=1)


def _read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_two_workers_share_one_sqlite_study(tmp_path):
    out = tmp_path / "run"
    r = run_tune("--model", "mlp", "--space", str(tiny_space(tmp_path, batch_size=8)), "--trials", "8", "--workers", "2",
                 "--out", str(out), "--heartbeat", "10", "--seed", "3")
    assert r.returncode == 0, r.stdout + r.stderr
    rows = _read_csv(out / "trials.csv")
    numbers = [int(r["number"]) for r in rows]
    assert len(numbers) == len(set(numbers)) >= 8
    assert {r["state"] for r in rows} <= {"COMPLETE", "PRUNED"}
    # both workers ran trials (their progress lines carry [w1] / [w2])
    assert "[w1] trial" in r.stdout and "[w2] trial" in r.stdout
    study = optuna.load_study(study_name="tanul-mlp-digits", storage=f"sqlite:///{out / 'study.db'}")
    assert len({t.user_attrs["pid"] for t in study.trials}) == 2
    best = json.loads((out / "best.json").read_text())
    complete = [r for r in rows if r["state"] == "COMPLETE"]
    row = min(complete, key=lambda r: float(r["value"]))
    assert best["number"] == int(row["number"]) and best["value"] == float(row["value"])
    assert best["params"] == {"lr": float(row["param_lr"]), "units": int(row["param_units"])}
    assert best["model"] == "best.tanul"
    model = tanul.load_model(out / "best.tanul")
    assert model.layers[1].units == best["params"]["units"]
    assert 0.5 < best["test"]["accuracy"] <= 1
    for name in ("history.png", "importances.png", "best_curves.png"):
        assert (out / name).stat().st_size > 1000


def test_ctrl_c_finishes_the_epoch_marks_the_trial_and_exits(tmp_path):
    out = tmp_path / "run"
    storage = f"sqlite:///{out / 'study.db'}"
    proc = subprocess.Popen(tune_cmd("--model", "mlp", "--space", str(tiny_space(tmp_path, epochs=400, batch_size=8)),
                                     "--trials", "3", "--out", str(out), "--pruner", "none"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        t = wait_for(lambda: running_trial_with_epochs(storage, "tanul-mlp-digits", 1), 120, "a running trial",
                     proc=proc, explain=lambda: trial_states(storage, "tanul-mlp-digits"))
        os.kill(proc.pid, signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stdout + stderr
    assert "finishing this epoch" in stderr and "Traceback" not in stderr
    study = optuna.load_study(study_name="tanul-mlp-digits", storage=storage)
    trial = study.trials[t.number]
    assert trial.state.name == "FAIL" and trial.user_attrs["interrupted"] is True
    # whole epochs only: every epoch that started was finished and reported
    n = trial.user_attrs["epochs"]
    assert 1 <= n < 400 and len(trial.intermediate_values) == n
    assert all(len(v) == n for v in trial.user_attrs["history"].values())
    assert (out / "trials.csv").exists()
