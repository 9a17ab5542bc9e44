"""Shared fixtures: where ``../shared/data`` is (CI has it; a user's machine does not)."""

import os
from pathlib import Path

import pytest

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
