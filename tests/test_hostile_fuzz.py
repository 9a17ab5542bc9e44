"""The loader's fuzz target (tests/fuzz_loader.py) for a fixed number of generated inputs:
zero escapes (only ModelFileError may come out of load_model/load_checkpoint).

With atheris (the ``dev`` extra installs it) the run is coverage-guided (libFuzzer, fixed
seed); without it, hypothesis generates the inputs (derandomised, a fixed number of examples).
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
RUNS = 1500


@pytest.mark.skipif(importlib.util.find_spec("atheris") is None, reason="atheris is not installed "
                    "(pip install atheris); test_fuzz_with_hypothesis runs instead")
def test_fuzz_the_loader_with_atheris(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, str(HERE / "fuzz_loader.py"), f"-runs={RUNS}", "-seed=1",
                           "-len_control=0", "-max_len=16384", "-rss_limit_mb=2048", str(corpus)],
                          capture_output=True, text=True, timeout=600, env=env)
    tail = proc.stderr[-4000:]
    assert proc.returncode == 0, f"the fuzzer found an escape:\n{tail}"
    # libFuzzer reports "Done N runs"; N can exceed -runs by one (it counts the empty input or a
    # corpus replay), so the check is that at least RUNS inputs went through the loader
    done = re.search(r"Done (\d+) runs", proc.stderr)
    assert done is not None and int(done.group(1)) >= RUNS, tail


@pytest.mark.skipif(importlib.util.find_spec("atheris") is not None, reason="atheris ran the fuzz target")
def test_fuzz_with_hypothesis():
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    sys.path.insert(0, str(HERE))
    import fuzz_loader

    seeds = fuzz_loader.seeds()

    @st.composite
    def inputs(draw):
        base = bytearray(draw(st.sampled_from(seeds)))
        for _ in range(draw(st.integers(0, 8))):
            op = draw(st.integers(0, 3))
            pos = draw(st.integers(1, max(1, len(base) - 1)))
            if op == 0 and len(base) > 1:
                base[pos % len(base)] = draw(st.integers(0, 255))
            elif op == 1:
                base[pos:pos] = draw(st.binary(max_size=16))
            elif op == 2:
                del base[pos:pos + draw(st.integers(1, 64))]
            else:
                base = base[:pos]
        return bytes(base)

    @settings(max_examples=RUNS // 3, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(inputs())
    def run(data):
        fuzz_loader.one_input(data)

    run()


def _paths(obj, prefix=()):
    """Every path to a value inside a JSON document."""
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, (*prefix, i))


HOSTILE_VALUES = [None, True, False, 0, -1, 1, 2**31, 2**63, 10**400, -(10**400), 0.5, -0.5, 1e308,
                  float("nan"), float("inf"), -float("inf"), "", "x", "__init__", "_Elementwise", "<f4",
                  "|O", "../../etc/passwd", [], [1], [-1], [0, 0], [2**31, 2**31], {}, {"a": 1},
                  {"__array__": "params/dense_0.W.npy"}, {"__array__": "nope.npy"},
                  {"class_name": "__hash__", "config": {}}, {"class_name": "Dense", "config": {"units": 10**9}}]


def test_structured_config_mutations():
    """Replace values anywhere in a valid checkpoint's config by hostile ones (hypothesis,
    derandomised): every load gives a model or a ModelFileError, nothing else."""
    import json

    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    sys.path.insert(0, str(HERE))
    import fuzz_loader

    state = fuzz_loader._setup()
    base = json.loads(state["raw_config"])
    paths = [p for p in _paths(base) if p]

    def apply(doc, path, value):
        target = doc
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    @settings(max_examples=int(os.environ.get("TANUL_FUZZ_EXAMPLES", 400)), derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(st.lists(st.tuples(st.sampled_from(paths), st.sampled_from(HOSTILE_VALUES)), min_size=1, max_size=3))
    def run(changes):
        doc = json.loads(state["raw_config"])
        for path, value in changes:
            try:
                apply(doc, path, value)
            except (KeyError, IndexError, TypeError):
                pass  # an earlier change removed the place
        fuzz_loader.one_input(b"\x01" + json.dumps(doc).encode())

    run()
