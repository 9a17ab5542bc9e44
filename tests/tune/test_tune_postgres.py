"""A real PostgreSQL server shared by two worker processes, one of them killed mid-trial.

The server is started by the ``postgres_url`` fixture (conftest.py): initdb in a temporary
folder, an unprivileged user, 127.0.0.1 and a free port, stopped at the end. Outside CI the
test skips when the server binaries are missing; with CI=true it must run.
"""

from __future__ import annotations

import os
import signal
import subprocess

from conftest import optuna, running_trial_with_epochs, tiny_space, trial_states, tune_cmd, wait_for


def test_killed_worker_trial_is_failed_and_retried_by_the_survivor(tmp_path, postgres_url):
    out = tmp_path / "run"
    study_name = "pg-kill"
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    # a trial of 200 epochs runs for seconds (0.03 s an epoch here, several times that on a loaded
    # CI machine): one is surely running when we look. Heartbeat 2 s, grace 4 s: a starved but
    # living worker is not taken for dead.
    parent = subprocess.Popen(
        tune_cmd("--model", "mlp", "--space", str(tiny_space(tmp_path, epochs=200, batch_size=8)),
                 "--trials", "3", "--workers", "2", "--out", str(out), "--study", study_name,
                 "--storage", postgres_url, "--heartbeat", "2", "--pruner", "none", "--seed", "1"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        running = wait_for(lambda: running_trial_with_epochs(postgres_url, study_name, 2), 180,
                           "a trial two epochs into its run", proc=parent,
                           explain=lambda: trial_states(postgres_url, study_name))
        pid = running.user_attrs["pid"]
        os.kill(pid, signal.SIGKILL)
        stdout, stderr = parent.communicate(timeout=300)
    finally:
        if parent.poll() is None:
            parent.kill()
    assert parent.returncode == 0, stdout + stderr
    assert f"killed by signal {signal.SIGKILL.value}" in stdout
    study = optuna.load_study(study_name=study_name, storage=postgres_url)
    trials = study.get_trials()
    # the trial the killed worker was running when the signal came: on a loaded machine it may have
    # finished the trial polled above and started the next between the poll and the kill
    failed = [t for t in trials if t.state.name not in ("COMPLETE", "PRUNED")]
    assert len(failed) == 1, [(t.number, t.state.name) for t in trials]
    victim = failed[0]
    assert victim.user_attrs["pid"] == pid and victim.number >= running.number
    assert victim.state.name == "FAIL"                       # failed by the heartbeat check
    retries = [t for t in trials if t.system_attrs.get("failed_trial") == victim.number]
    assert len(retries) == 1 and retries[0].state.name == "COMPLETE"
    assert retries[0].params == victim.params                # the same point, run again
    survivor = {t.user_attrs["pid"] for t in trials} - {pid}
    assert len(survivor) == 1 and retries[0].user_attrs["pid"] in survivor
    finished = [t for t in trials if t.state.name in ("COMPLETE", "PRUNED")]
    assert len(finished) >= 3 and len({t.number for t in trials}) == len(trials)
    assert (out / "best.json").exists() and f"(retry of #{victim.number})" in stdout
