"""Where one training step of the 784-256-128-10 MLP spends its time (CPU time, per part).

    python benchmarks/mlp_profile.py [--threads 1] [--batch-size 128] [--steps 400]

Times, with ``time.process_time`` (CPU seconds of the whole process, all threads), the parts of
one ``fit`` step on the benchmark's network: gathering the shuffled batch (``x[idx]``), the
forward pass, the loss, the backward pass, the Adam step, and a whole ``fit`` epoch on
``steps × batch`` samples for the per-batch overhead of the loop (input checks, callbacks, logs).
Medians over the steps, in microseconds (``--wall``: wall-clock time instead). Run it at a
fixed thread count (BLAS threads are set through the environment before NumPy is imported).
The parts run in ``fit``'s own context (the BLAS on one thread when a layer runs tanul's threads,
as the row-blocked first layer does at 2 threads); the ``fit / batch`` line is ``fit`` itself.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--steps", type=int, default=400)
    p.add_argument("--wall", action="store_true",
                   help="wall-clock time instead of CPU time (at 2 threads the CPU time counts the "
                        "BLAS threads' spinning; the wall clock is what the epoch takes)")
    p.add_argument("--keep-openblas-env", action="store_true",
                   help="keep OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE from the shell (default: drop them "
                        "before NumPy loads, as benchmarks/common.py does for its workers)")
    args = p.parse_args(argv)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import common
    common.drop_openblas_pins(args.keep_openblas_env)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "TANUL_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    import numpy as np
    from mlp import glorot_params, make_data

    from tanul import Dense, Sequential
    from tanul.ops.parallel import blas_single_threaded
    from tanul.optimizers import Adam

    bs, steps = args.batch_size, args.steps
    x, y = make_data(max(bs * steps, 4096), seed=0)
    model = Sequential([Dense(256, activation="relu"), Dense(128, activation="relu"), Dense(10)],
                       seed=0, input_shape=(784,))
    model.set_weights(glorot_params(0))
    model.compile(optimizer=Adam(lr=1e-3), loss="cross_entropy")
    model.fit(x[:bs * 20], y[:bs * 20], epochs=1, batch_size=bs, verbose=0)
    order = np.random.default_rng(0).permutation(x.shape[0])
    parts = {k: [] for k in ("gather", "forward", "loss", "backward", "adam", "step total")}
    clock = time.perf_counter if args.wall else time.process_time
    what = "wall-clock" if args.wall else "CPU"
    # the parts in fit's own context: the BLAS held on one thread when a layer runs tanul's threads
    with blas_single_threaded(model._runs_threads(training=True)):
        for s in range(steps):
            idx = order[s * bs:(s + 1) * bs]
            t0 = clock()
            xb, yb = x[idx], y[idx]
            t1 = clock()
            out = model._forward(xb, training=True)
            t2 = clock()
            model.loss.forward(out, yb)
            dy = model.loss.backward()
            t3 = clock()
            model._backward(dy)
            model._flat.sync_grads()
            t4 = clock()
            model.optimizer.step()
            t5 = clock()
            for k, a, b in zip(parts, (t0, t1, t2, t3, t4, t0), (t1, t2, t3, t4, t5, t5)):
                parts[k].append(b - a)
    xs, ys = x[:bs * steps], y[:bs * steps]
    fit_t = []
    for _ in range(3):
        t = clock()
        model.fit(xs, ys, epochs=1, batch_size=bs, verbose=0)
        fit_t.append((clock() - t) / steps)
    total = statistics.median(parts["step total"])
    try:
        from threadpoolctl import threadpool_info
        kernels = ", ".join(sorted({str(i.get("architecture")) for i in threadpool_info()
                                    if i.get("user_api") == "blas"})) or "?"
    except ImportError:
        kernels = "? (no threadpoolctl)"
    print(f"threads {args.threads}, batch {bs}, {steps} steps, BLAS kernels {kernels}; "
          f"{what} time per step (median, µs)")
    for k, v in parts.items():
        med = statistics.median(v)
        print(f"  {k:12s} {med * 1e6:8.0f}  {med / total:6.1%}")
    f = statistics.median(fit_t)
    print(f"  {'fit / batch':12s} {f * 1e6:8.0f}  (loop overhead ≈ {(f - total) * 1e6:.0f} µs a batch; "
          f"one 60,000-sample epoch ≈ {f * 60000 / bs:.3f} s {what})")


if __name__ == "__main__":
    main()
