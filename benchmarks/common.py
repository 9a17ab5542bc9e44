"""Helpers shared by the benchmarks: worker subprocesses, thread settings, memory, statistics, Markdown.

Each measurement runs in a fresh subprocess (``run_worker``) so that

* the frameworks can be alternated within one run (no framework always runs on a cold or hot
  machine), and
* the peak resident memory (``ru_maxrss``) of the subprocess belongs to one framework only.

The number of threads is fixed before NumPy/BLAS or PyTorch load, through the usual environment
variables (``thread_env``); the worker also calls ``torch.set_num_threads``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
               "BLIS_NUM_THREADS", "NUMEXPR_NUM_THREADS",
               "TANUL_NUM_THREADS")  # tanul's own threads (conv/pool): 2 by default on 2 cores
#: Variables some machines set to pin OpenBLAS to older kernels (on these build machines:
#: ``OPENBLAS_CORETYPE=Haswell``, AVX2, because older OpenBLAS builds misbehave on newer CPUs).
#: A current NumPy picks the CPU's own kernels (SkylakeX, AVX-512, on the benchmark machine),
#: and a user's machine has no such pin, so the workers run without them unless
#: ``--keep-openblas-env`` is given; every worker, of every framework, gets the same environment.
OPENBLAS_PINS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
_settings = {"keep_openblas_env": False}
REPO = Path(__file__).resolve().parents[1]
if importlib.util.find_spec("tanul") is None:  # a checkout that is not installed
    sys.path.insert(0, str(REPO / "src"))


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS
        return os.cpu_count() or 1


def thread_env(threads: int) -> dict[str, str]:
    """The environment for a subprocess whose BLAS/OpenMP pools have ``threads`` threads."""
    env = dict(os.environ)
    drop_openblas_pins(_settings["keep_openblas_env"], env)
    for var in THREAD_VARS:
        env[var] = str(threads)
    # make ``import tanul`` work from a checkout that is not installed
    src = str(REPO / "src")
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def add_openblas_option(parser: Any) -> None:
    """``--keep-openblas-env``: keep this shell's OpenBLAS pins (:data:`OPENBLAS_PINS`)."""
    parser.add_argument("--keep-openblas-env", action="store_true",
                        help="keep OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE from this shell in the "
                             "workers (default: drop them, so NumPy's OpenBLAS picks the CPU's "
                             "own kernels, as on a machine without the pins)")


def apply_openblas_option(args: Any) -> None:
    _settings["keep_openblas_env"] = bool(getattr(args, "keep_openblas_env", False))


def drop_openblas_pins(keep: bool = False, env: dict | None = None) -> None:
    """Drop the pins from ``env`` (default ``os.environ``: for a benchmark that times in its own
    process, called before NumPy is imported, as OpenBLAS reads them once, when it loads)."""
    env = os.environ if env is None else env
    if not keep:
        for var in OPENBLAS_PINS:
            env.pop(var, None)


def run_worker(script: str | Path, args: Sequence[str], threads: int, timeout: float = 1800) -> dict:
    """Run ``python script --worker ... args`` in a fresh process and return its last JSON line."""
    cmd = [sys.executable, str(script), *args]
    proc = subprocess.run(cmd, env=thread_env(threads), capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"worker failed ({' '.join(args)}):\n{proc.stderr[-3000:]}")
    for line in reversed(proc.stdout.strip().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise RuntimeError(f"worker printed no JSON ({' '.join(args)}):\n{proc.stdout[-2000:]}")


def rss_mib() -> float:
    """Current resident set size of this process in MiB (Linux; NaN elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return float("nan")


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far, in MiB (``ru_maxrss``)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


def cpu_seconds() -> float:
    """User + system CPU seconds this process has used so far (all its threads)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def load_average() -> str:
    """The 1/5/15-minute load averages as ``"a, b, c"`` (the machine's business while timing)."""
    try:
        return ", ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "unknown"


def median_range(values: Iterable[float]) -> tuple[float, float, float]:
    v = list(values)
    return statistics.median(v), min(v), max(v)


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info(threads: int) -> dict[str, Any]:
    """CPU, cores, memory, Python, NumPy and its BLAS, and the versions of the other frameworks."""
    import numpy as np

    info: dict[str, Any] = {
        "cpu": cpu_model(),
        "cores": available_cores(),
        "threads": threads,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "numpy": np.__version__,
    }
    try:
        with open("/proc/meminfo") as f:
            kib = int(f.readline().split()[1])
        info["memory_gib"] = round(kib / 2**20, 1)
    except (OSError, ValueError, IndexError):
        pass
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        info["blas"] = f"{blas.get('name')} {blas.get('version')}"
    except Exception:  # older NumPy
        info["blas"] = "unknown"
    # the BLAS kernels as the workers see them (their environment, not this process's)
    probe = ("import json, numpy\ntry:\n from threadpoolctl import threadpool_info\n"
             "except ImportError:\n print('[]')\nelse:\n print(json.dumps(threadpool_info()))")
    try:
        out = subprocess.run([sys.executable, "-c", probe], env=thread_env(threads), text=True,
                             capture_output=True, timeout=120).stdout.strip().splitlines()
        pools = [f"{p['internal_api']} {p.get('version')} ({p.get('threading_layer', '?')}, "
                 f"{p.get('architecture', '?')} kernels)" for p in json.loads(out[-1] if out else "[]")]
        if pools:
            info["blas_runtime"] = "; ".join(sorted(set(pools)))
    except (OSError, ValueError, subprocess.SubprocessError):
        pass
    pins = {v: os.environ[v] for v in OPENBLAS_PINS if v in os.environ}
    if pins:
        kept = "kept in" if _settings["keep_openblas_env"] else "dropped from"
        info["openblas_pins"] = f"{', '.join(f'{k}={v}' for k, v in pins.items())} ({kept} the workers)"
    for mod in ("tanul", "torch", "sklearn"):
        try:
            info[mod] = __import__(mod).__version__
        except ImportError:
            info[mod] = "not installed"
    return info


def machine_markdown(info: dict[str, Any]) -> str:
    lines = [
        f"- CPU: {info['cpu']}, {info['cores']} cores available"
        + (f", {info['memory_gib']} GiB RAM" if "memory_gib" in info else ""),
        f"- threads per framework: {info['threads']} (BLAS/OpenMP environment variables and "
        "`torch.set_num_threads`)",
        f"- Python {info['python']} on {info['platform']}",
        f"- NumPy {info['numpy']}, BLAS {info['blas']}"
        + (f" (runtime: {info['blas_runtime']})" if "blas_runtime" in info else "")
        + (f"; this shell's OpenBLAS pins: {info['openblas_pins']}" if "openblas_pins" in info else ""),
        f"- tanul {info['tanul']}, PyTorch {info['torch']}, scikit-learn {info['sklearn']}",
    ]
    return "\n".join(lines)


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], align: str | None = None) -> str:
    """A GitHub Markdown table; ``align`` is one character per column, ``l`` or ``r``."""
    align = align or "l" + "r" * (len(headers) - 1)
    sep = ["---:" if a == "r" else ":---" for a in align]
    out = ["| " + " | ".join(headers) + " |", "| " + " | ".join(sep) + " |"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def write_atomic(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder and a rename."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent or ".", prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
