"""The benchmarks' worker environment (benchmarks/common.py): threads fixed, OpenBLAS pins dropped.

Some build machines pin OpenBLAS to older kernels (``OPENBLAS_CORETYPE=Haswell``); a user's
machine has no such pin, so the benchmark workers run without it unless asked to keep it, and
every framework's worker gets the same environment. No timing here.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

COMMON = Path(__file__).resolve().parents[1] / "benchmarks" / "common.py"


@pytest.fixture
def common(monkeypatch):
    spec = importlib.util.spec_from_file_location("bench_common_under_test", COMMON)
    mod = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "bench_common_under_test", mod)
    spec.loader.exec_module(mod)
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")
    monkeypatch.setenv("OPENBLAS_L2_SIZE", "512")
    return mod


def test_workers_run_without_the_openblas_pins_by_default(common):
    env = common.thread_env(2)
    assert "OPENBLAS_CORETYPE" not in env and "OPENBLAS_L2_SIZE" not in env
    assert env["OPENBLAS_NUM_THREADS"] == "2" and env["TANUL_NUM_THREADS"] == "2"


def test_keep_openblas_env_keeps_both_pins(common):
    import argparse
    p = argparse.ArgumentParser()
    common.add_openblas_option(p)
    common.apply_openblas_option(p.parse_args(["--keep-openblas-env"]))
    env = common.thread_env(1)
    assert env["OPENBLAS_CORETYPE"] == "Haswell" and env["OPENBLAS_L2_SIZE"] == "512"
    common.apply_openblas_option(p.parse_args([]))
    assert "OPENBLAS_CORETYPE" not in common.thread_env(1)


def test_drop_openblas_pins_for_in_process_benchmarks(common, monkeypatch):
    import os
    common.drop_openblas_pins(keep=True)
    assert os.environ["OPENBLAS_CORETYPE"] == "Haswell"
    common.drop_openblas_pins()
    assert "OPENBLAS_CORETYPE" not in os.environ and "OPENBLAS_L2_SIZE" not in os.environ


def test_machine_description_names_the_pins_and_what_happened_to_them(common):
    info = {"cpu": "x", "cores": 2, "threads": 2, "python": "3.11", "platform": "p", "numpy": "2",
            "blas": "openblas", "blas_runtime": "openblas 0.3 (pthreads, SkylakeX kernels)",
            "openblas_pins": "OPENBLAS_CORETYPE=Haswell (dropped from the workers)",
            "tanul": "0", "torch": "t", "sklearn": "s"}
    text = common.machine_markdown(info)
    assert "SkylakeX kernels" in text and "OPENBLAS_CORETYPE=Haswell (dropped from the workers)" in text
