"""Shared fixtures: where ``../shared/data`` is (CI has it; a user's machine does not)."""

import os
import signal
import threading
from pathlib import Path

import pytest
from hypothesis import settings

# Hypothesis profiles. CI (CI=true) must be deterministic, so that a red build always means a real
# defect: examples are derived from each test's name (derandomize) and no example database is read
# or written. Locally the search stays random, so new inputs keep being tried run after run; a
# failure found that way is printed with @reproduce_failure and stored in .hypothesis/ to replay.
# `mutate` is the deterministic profile `make mutate` runs under (fewer examples: speed).
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.register_profile("dev", derandomize=False)
settings.register_profile("mutate", derandomize=True, database=None, max_examples=20)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") == "true" else "dev"))

# A shell that starts a job in the background (`cmd &`, nohup, some CI runners) makes it ignore
# SIGINT, and child processes inherit that. The Ctrl-C tests need Python's own handler, as an
# interactive run has it, so it is put back in every test process (xdist workers included).
if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("TANUL_SHARED", REPO.parent / "shared"))


def shared_path(*parts: str) -> Path:
    """A path under the shared data folder, or skip the test with the reason."""
    p = SHARED.joinpath("data", *parts)
    if not p.exists():
        pytest.skip(f"shared data not found at {p} (set TANUL_SHARED to the folder holding data/)")
    return p


@pytest.fixture
def mnist_dir() -> Path:
    return shared_path("mnist")


@pytest.fixture
def weather_csv() -> Path:
    return shared_path("weather", "weather_prediction_dataset.csv")
