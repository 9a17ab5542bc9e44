"""Trials per minute of ``tanul tune`` with 1 and with 2 local worker processes.

    python benchmarks/tune_workers.py [--pairs 5] [--trials 12] [--epochs 8] [--markdown out.md]

Every trial costs the same (an MLP 64-128-64-10 on the 8x8 digits, --epochs epochs of batch 32, no
pruning, no early stopping; only the learning rate is searched), so the throughput measures the
workers, not the sampler's luck. Each run is a fresh ``tanul tune`` process (which starts its
workers, BLAS single-threaded in each) on a fresh SQLite study; the runs alternate 1, 2, 1, 2, ...
Throughput = finished trials / (last trial's end - first trial's start), from the study's own
timestamps (process start-up excluded); the whole command's wall time is reported too.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SPACE = """
epochs = {epochs}
patience = {epochs}
batch_size = 32
layers = 2
units = 128
optimizer = "adam"

[lr]
type = "float"
low = 5e-4
high = 5e-3
log = true
"""


def one_run(workers: int, trials: int, folder: Path, epochs: int) -> dict:
    import optuna

    space = folder / "space.toml"
    space.write_text(SPACE.format(epochs=epochs))
    out = folder / f"w{workers}"
    t0 = time.perf_counter()
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-m", "tanul.cli", "tune", "--model", "mlp", "--space", str(space),
                    "--trials", str(trials), "--workers", str(workers), "--out", str(out), "--pruner", "none",
                    "--quiet"], check=True, env=dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1"))
    wall = time.perf_counter() - t0
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    study = optuna.load_study(study_name="tanul-mlp-digits", storage=f"sqlite:///{out / 'study.db'}")
    done = [t for t in study.trials if t.state.name == "COMPLETE"]
    span = (max(t.datetime_complete for t in done) - min(t.datetime_start for t in done)).total_seconds()
    return {"trials": len(done), "span_s": span, "per_min": 60 * len(done) / span, "wall_s": wall, "cpu_s": cpu,
            "load": os.getloadavg()[0]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=5)
    ap.add_argument("--trials", type=int, default=12)
    ap.add_argument("--epochs", type=int, default=8, help="epochs per trial (its cost)")
    ap.add_argument("--markdown", default=None)
    args = ap.parse_args()
    res: dict[int, list[dict]] = {1: [], 2: []}
    for i in range(args.pairs):
        for w in ((1, 2) if i % 2 == 0 else (2, 1)):
            with tempfile.TemporaryDirectory() as d:
                r = one_run(w, args.trials, Path(d), args.epochs)
            res[w].append(r)
            print(f"pair {i + 1}: {w} worker(s): {r['trials']} trials in {r['span_s']:.1f} s = "
                  f"{r['per_min']:.1f} trials/min (command {r['wall_s']:.1f} s wall, {r['cpu_s']:.1f} s CPU; "
                  f"load {r['load']:.1f})",
                  flush=True)
    rows = ["| workers | trials/min (median) | range | command wall time (median) | command CPU (median) |",
            "|---|---|---|---|---|"]
    for w in (1, 2):
        v = [r["per_min"] for r in res[w]]
        rows.append(f"| {w} | {statistics.median(v):.1f} | {min(v):.1f} - {max(v):.1f} | "
                    f"{statistics.median(r['wall_s'] for r in res[w]):.1f} s | "
                    f"{statistics.median(r['cpu_s'] for r in res[w]):.1f} s |")
    ratio = statistics.median(r["per_min"] for r in res[2]) / statistics.median(r["per_min"] for r in res[1])
    text = "\n".join(rows) + (f"\n\n2 workers / 1 worker: {ratio:.2f}x (medians of {args.pairs} "
                              "alternated pairs)\n")
    cpu = os.cpu_count()
    loads = [r["load"] for w in (1, 2) for r in res[w]]
    text += (f"Machine: {cpu} logical CPUs; 1-minute load average during the runs {min(loads):.1f} - "
             f"{max(loads):.1f}.\n")
    print(text)
    if args.markdown:
        Path(args.markdown).write_text(text)


if __name__ == "__main__":
    main()
