"""Helpers for the ``tanul tune`` tests: tiny spaces, CLI runs in subprocesses, study polling,
and a throwaway PostgreSQL server (initdb in a temporary folder, 127.0.0.1, a free port)."""

from __future__ import annotations

import contextlib
import glob
import os
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

optuna = pytest.importorskip("optuna", reason="tanul tune tests need the tune extra (optuna)")
pytest.importorskip("sklearn", reason="tanul tune tests train on scikit-learn's digits")

# a small MLP search on the 8x8 digits: a trial takes well under a second
TINY_SPACE = """
epochs = {epochs}
patience = {epochs}
batch_size = {batch_size}
layers = 1

[lr]
type = "float"
low = 1e-3
high = 3e-2
log = true

[units]
type = "int"
low = 8
high = 32
"""


def tiny_space(folder: Path, epochs: int = 6, batch_size: int = 32) -> Path:
    path = folder / "space.toml"
    path.write_text(TINY_SPACE.format(epochs=epochs, batch_size=batch_size))
    return path


def tune_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "tanul.cli", "tune", *args]


def run_tune(*args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    return subprocess.run(tune_cmd(*args), capture_output=True, text=True, timeout=timeout, env=env)


def wait_for(predicate, timeout: float, what: str, poll: float = 0.05, proc=None, explain=None):
    """Poll ``predicate()`` until it returns something truthy; fail naming ``what``.

    ``proc``: the process that should bring the wait to an end; if it exits first, or the time
    runs out, the failure shows its output (and ``explain()``, e.g. the study's trials), so a
    failure in CI says what happened instead of only that it timed out.
    """
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        value = predicate()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the process exited (status {proc.returncode}) before {what}"
                                 f"{_output_of(proc)}{_explained(explain)}")
        time.sleep(poll)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}{_output_of(proc)}"
                         f"{_explained(explain)}")


def _output_of(proc) -> str:
    if proc is None:
        return ""
    if proc.poll() is None:
        proc.kill()
    try:
        out, err = proc.communicate(timeout=30)
    except (subprocess.SubprocessError, OSError) as exc:
        return f"\n(its output could not be read: {exc})"
    return f"\n--- its stdout:\n{out or ''}\n--- its stderr:\n{err or ''}"


def _explained(explain) -> str:
    if explain is None:
        return ""
    try:
        return f"\n--- {explain()}"
    except Exception as exc:  # a diagnostic must not hide the failure it explains
        return f"\n--- (could not explain: {exc!r})"


def trial_states(storage: str, study: str) -> str:
    """One line per trial: number, state, epochs reported, worker pid (for failure messages)."""
    s = optuna.load_study(study_name=study, storage=storage)
    rows = [f"#{t.number} {t.state.name} epochs={len(t.intermediate_values)} "
            f"pid={t.user_attrs.get('pid')} retry_of={t.system_attrs.get('failed_trial')}"
            for t in s.get_trials(deepcopy=False)]
    return "trials:\n" + ("\n".join(rows) or "(none)")


_STUDIES: dict[tuple[str, str], object] = {}


def running_trial_with_epochs(storage: str, study: str, epochs: int):
    """A RUNNING trial that has reported at least ``epochs`` epochs (and its worker's pid).

    The study is opened once and then only re-read: opening it makes a new database engine and
    checks the schema, which on a loaded machine takes longer than the trial the poll looks for.
    """
    s = _STUDIES.get((storage, study))
    if s is None:
        try:
            s = _STUDIES[(storage, study)] = optuna.load_study(study_name=study, storage=storage)
        except (KeyError, Exception):  # the study is not created yet / the file is locked
            return None
    try:
        trials = s.get_trials(deepcopy=False)
    except Exception:  # SQLite: a writer holds the lock; look again
        return None
    for t in trials:
        if t.state.name == "RUNNING" and len(t.intermediate_values) >= epochs and "pid" in t.user_attrs:
            return t
    return None


# ---------------------------------------------------------------------- PostgreSQL
def _pg_bin() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    hits = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(hits[-1]).parent if hits else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgres_url():
    """A throwaway PostgreSQL cluster, started for the module and removed after it.

    Runs as an unprivileged user (``nobody`` when the tests run as root: PostgreSQL refuses to
    run as root), listens on 127.0.0.1 only, trusts local connections. Outside CI, a machine
    without the server binaries skips; with ``CI=true`` that is a failure.
    """
    pytest.importorskip("psycopg", reason="the PostgreSQL tests need psycopg (tune extra)")
    bindir = _pg_bin()
    if bindir is None:
        msg = ("PostgreSQL server binaries (initdb, pg_ctl) not found: apt-get install postgresql "
               "(.ci/run does)")
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    root = Path(tempfile.mkdtemp(prefix="tanul-pg-"))
    data, sock, log = root / "data", root / "sock", root / "server.log"
    sock.mkdir()
    as_root = os.geteuid() == 0
    if as_root:
        os.chmod(root, 0o755)
        shutil.chown(root, "nobody")
        shutil.chown(sock, "nobody")
    port = _free_port()

    def run(cmd: list[str]) -> None:
        if as_root and shutil.which("runuser"):
            cmd = ["runuser", "-u", "nobody", "--", *cmd]
        elif as_root:
            cmd = ["su", "-s", "/bin/sh", "nobody", "-c", shlex.join(cmd)]
        subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=120, cwd=root)

    try:
        run([str(bindir / "initdb"), "-D", str(data), "-U", "tanul", "--auth=trust", "-E", "UTF8",
             "--no-sync"])
        run([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60", "-o",
             f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off", "start"])
    except subprocess.CalledProcessError as exc:
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"could not start PostgreSQL: {exc.stderr or exc.stdout}")
    try:
        yield f"postgresql://tanul@127.0.0.1:{port}/postgres"
    finally:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            run([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"])
        shutil.rmtree(root, ignore_errors=True)
