"""Does the input change the cost? LeNet-5's first layers, op by op, on noise and on real images.

    python benchmarks/ops_by_input.py [--dist uniform normal fashion] [--rounds 2] [--calls 60]

For each input distribution (a batch of 128 1x28x28 images: uniform [0, 1) noise, standard-normal
noise, Fashion-MNIST test images from Debian's folder), the same untrained weights, one thread, the
median CPU time (``time.process_time``) of ``--calls`` calls of each forward op: tanul's
(``tanul.ops.conv``: conv + tanh, max-pool 2x2 with its arg-max) and PyTorch's (conv, tanh,
``max_pool2d_with_indices``), in rounds that repeat the distributions in turn. tanul's ops are
branch-free whole-array passes; PyTorch's CPU max-pool walks each window with a data-dependent
branch, which the flat backgrounds of real images make predictable. Also prints the share of exact
zeros and of float32 denormals in the activations.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "TANUL_NUM_THREADS"):
    os.environ[var] = "1"
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from lenet_layers import make_batches  # noqa: E402


def cpu_ms(fn, calls: int) -> float:
    fn()
    times = []
    for _ in range(calls):
        t = time.process_time()
        fn()
        times.append(time.process_time() - t)
    return statistics.median(times) * 1e3


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dist", nargs="+", default=["uniform", "normal", "fashion"])
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--calls", type=int, default=60)
    args = p.parse_args(argv)
    import torch
    import torch.nn.functional as F

    from tanul.ops import conv as ops
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    W1 = rng.uniform(-0.3, 0.3, (6, 1, 5, 5)).astype(np.float32)
    W2 = rng.uniform(-0.1, 0.1, (16, 6, 5, 5)).astype(np.float32)
    b1, b2 = np.zeros(6, np.float32), np.zeros(16, np.float32)
    tW1, tW2, tb1, tb2 = (torch.from_numpy(a) for a in (W1, W2, b1, b2))

    def tanh(z):
        return np.tanh(z, out=z)

    def ops_on(dist: str):
        """The timed calls on one batch of ``dist`` inputs, and its zero/denormal counts."""
        x = make_batches(dist, 128, 1)
        a1, _ = ops.conv2d_forward_blocked(x, W1, b1, 1, 2, tanh, keep_cols=False)
        p1, _ = ops.maxpool2d_forward(a1, 2, 2)
        a2, _ = ops.conv2d_forward_blocked(p1, W2, b2, 1, 0, tanh, keep_cols=False)
        tx = torch.from_numpy(x)
        with torch.no_grad():
            z1 = F.conv2d(tx, tW1, tb1, padding=2)
            t1 = torch.tanh(z1)
            t2 = torch.tanh(F.conv2d(F.max_pool2d(t1, 2), tW2, tb2))
        calls = {
            "tanul conv 1 + tanh": lambda: ops.conv2d_forward_blocked(x, W1, b1, 1, 2, tanh,
                                                                      keep_cols=False),
            "tanul max-pool 1 (with arg-max)": lambda: ops.maxpool2d_forward(a1, 2, 2),
            "tanul max-pool 2 (with arg-max)": lambda: ops.maxpool2d_forward(a2, 2, 2),
            "PyTorch conv 1": lambda: F.conv2d(tx, tW1, tb1, padding=2),
            "PyTorch tanh 1": lambda: torch.tanh(z1),
            "PyTorch max-pool 1 (with indices)": lambda: F.max_pool2d_with_indices(t1, 2),
            "PyTorch max-pool 2 (with indices)": lambda: F.max_pool2d_with_indices(t2, 2),
        }
        tiny = np.finfo(np.float32).tiny
        counts = {name: (float(np.mean(a == 0)), int(np.sum((a != 0) & (np.abs(a) < tiny))))
                  for name, a in (("input", x), ("conv 1 out", a1), ("pool 1 out", p1),
                                  ("conv 2 out", a2))}
        return calls, counts

    rows: dict[tuple[str, str], list[float]] = {}
    stats = {}
    for _ in range(args.rounds):
        for dist in args.dist:
            calls, stats[dist] = ops_on(dist)
            with torch.no_grad():
                for name, fn in calls.items():
                    rows.setdefault((name, dist), []).append(cpu_ms(fn, args.calls))
    names = list(dict.fromkeys(n for n, _ in rows))
    print(f"CPU ms per call (median of {args.calls} calls; median over {args.rounds} rounds), 1 thread, "
          f"batch 128")
    print("| op | " + " | ".join(args.dist) + " |")
    print("| :--- |" + " ---: |" * len(args.dist))
    for n in names:
        print(f"| {n} | " + " | ".join(f"{statistics.median(rows[(n, d)]):.3f}" for d in args.dist) + " |")
    for d in args.dist:
        print(f"{d}: " + "; ".join(f"{k}: {z:.1%} exact zeros, {dn} denormals"
                                   for k, (z, dn) in stats[d].items()))


if __name__ == "__main__":
    main()
