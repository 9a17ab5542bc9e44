"""One epoch of a 784-256-128-10 MLP: tanul vs PyTorch CPU vs a NumPy loop vs scikit-learn.

    python benchmarks/mlp.py [--repeats 5] [--threads N] [--batch-sizes 64 128]
                             [--samples 60000] [--markdown out.md] [--cpu] [--tanul-threads N]
                             [--dist uniform|normal|fashion] [--data FOLDER]

The network: Dense(256, ReLU) -> Dense(128, ReLU) -> Dense(10), softmax cross-entropy on logits,
Adam(lr=1e-3, betas (0.9, 0.999), eps 1e-8), float32, Glorot-uniform weights and zero biases
(PyTorch's and scikit-learn's own initialisations otherwise). Data (``--dist``): 60,000 synthetic
samples of 784 values, uniform in [0, 1) (the default, an MNIST-sized input) or standard normal,
labelled by a random linear teacher, so every framework has something to learn, the same seeded
data in every process; or ``fashion``: Fashion-MNIST's 60,000 training images, flattened (from
``--data``, default the folder Debian's ``dataset-fashion-mnist`` installs).

Contenders, each timed on one epoch of shuffled mini-batches after a short warm-up:

* ``tanul``          ``Sequential.fit(x, y, epochs=1, batch_size=B)`` (input checks included)
* ``numpy``          a hand-written NumPy loop: flat parameter buffer, in-place Adam
* ``torch``          ``torch.optim.Adam`` with its default (for-loop on CPU)
* ``torch-foreach``  ``Adam(foreach=True)``
* ``torch-fused``    ``Adam(fused=True)``
* ``sklearn``        ``MLPClassifier(solver="adam", alpha=0).partial_fit`` on float32 input

Every (framework, batch size, repeat) runs in its own subprocess, in an order that rotates from
one repeat to the next; the subprocess also times inference (logits for a batch of 1,024 and for
a single sample; scikit-learn returns probabilities) and reports its peak RSS. The script prints
the median and the range over the repeats and the ratios to PyTorch's default Adam.

``--cpu`` adds the CPU seconds of the epoch (user + system, all threads of the process) to the
tables: on a busy machine wall-clock times only ever grow, while CPU time mostly measures the work.
``--parallel-adam`` hands tanul's thread runner to its Adam (the element-wise update split over
``--tanul-threads`` threads; off by default, see docs/benchmarks.md "MLP, second pass").
``--tanul-threads N`` sets tanul's own threads (``tanul.ops.parallel.set_num_threads``: the
optimiser's element-wise update, the image layers' copies) apart from the BLAS threads (default:
``--threads``), e.g. 1 to compare with them off.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

FRAMEWORKS = ["tanul", "numpy", "torch", "torch-foreach", "torch-fused", "sklearn"]
LABELS = {
    "tanul": "tanul",
    "numpy": "NumPy loop (hand-written)",
    "torch": "PyTorch, Adam (default)",
    "torch-foreach": "PyTorch, Adam(foreach=True)",
    "torch-fused": "PyTorch, Adam(fused=True)",
    "sklearn": "scikit-learn MLPClassifier",
}
SIZES = (784, 256, 128, 10)
LR = 1e-3
WARMUP_BATCHES = 20
INFER_1024_CALLS = 30
INFER_1_CALLS = 300


# ======================================================================================
# data and helpers used inside the workers
# ======================================================================================
DISTS = ("uniform", "normal", "fashion")
DEBIAN_FASHION = "/usr/share/datasets/fashion-mnist"
DATA_WORDS = {"uniform": "synthetic samples (uniform [0, 1) inputs)",
              "normal": "synthetic samples (standard-normal inputs)",
              "fashion": "Fashion-MNIST training images"}


def make_data(n: int, seed: int = 0, dist: str = "uniform", data: str | None = None):
    """``n`` samples of 784 values: ``uniform`` [0, 1) or ``normal`` standard-normal noise labelled
    by a random linear teacher, or ``fashion``: the first ``n`` Fashion-MNIST training images,
    flattened (real images: mostly exact zeros, a few bright strokes)."""
    import numpy as np
    if dist == "fashion":
        from tanul.datasets import fashion_mnist
        x, y = fashion_mnist(data or DEBIAN_FASHION, split="train")
        if n > len(x):
            raise ValueError(f"--samples {n}: Fashion-MNIST has {len(x)} training images")
        return np.ascontiguousarray(x[:n].reshape(n, -1), dtype=np.float32), y[:n].astype(np.int64)
    rng = np.random.default_rng(seed)
    if dist == "uniform":
        x, centre = rng.random((n, SIZES[0]), dtype=np.float32), 0.5
    elif dist == "normal":
        x, centre = rng.standard_normal((n, SIZES[0]), dtype=np.float32), 0.0
    else:
        raise ValueError(f"unknown --dist {dist!r}: expected one of {', '.join(DISTS)}")
    teacher = rng.standard_normal((SIZES[0], SIZES[-1])).astype(np.float32)
    y = np.empty(n, np.int64)
    for s in range(0, n, 4096):       # in chunks: no temporary the size of x inflates the peak RSS
        y[s:s + 4096] = np.argmax((x[s:s + 4096] - centre) @ teacher, axis=1)
    return x, y


def glorot_params(seed: int = 0):
    """Glorot-uniform weights (fan_in, fan_out) and zero biases, float32."""
    import numpy as np
    rng = np.random.default_rng(seed)
    out = []
    for fan_in, fan_out in zip(SIZES[:-1], SIZES[1:]):
        a = np.sqrt(6.0 / (fan_in + fan_out))
        out.append(rng.uniform(-a, a, (fan_in, fan_out)).astype(np.float32))
        out.append(np.zeros(fan_out, np.float32))
    return out


def cross_entropy(logits, y) -> float:
    import numpy as np
    z = logits.astype(np.float64)
    z -= z.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-logp[np.arange(len(y)), y].mean())


def time_calls(fn, calls: int) -> float:
    """Median seconds of one call of ``fn`` over ``calls`` calls (after one warm-up call)."""
    import statistics
    fn()
    times = []
    for _ in range(calls):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


# ======================================================================================
# the contenders (each returns: train_epoch(), logits(x) and a description)
# ======================================================================================
def setup_tanul(x, y, bs, seed, parallel_adam=False):
    from tanul import Dense, Sequential
    from tanul.ops.parallel import parallel_for
    from tanul.optimizers import Adam
    model = Sequential([Dense(256, activation="relu"), Dense(128, activation="relu"), Dense(10)],
                       seed=seed, input_shape=(SIZES[0],))
    model.set_weights(glorot_params(seed))
    opt = Adam(lr=LR)
    if parallel_adam:  # the element-wise update split over tanul's threads (opt-in)
        opt.parallel_for = parallel_for
    model.compile(optimizer=opt, loss="cross_entropy")
    model.fit(x[:bs * WARMUP_BATCHES], y[:bs * WARMUP_BATCHES], epochs=1, batch_size=bs, verbose=0)

    def epoch():
        model.fit(x, y, epochs=1, batch_size=bs, verbose=0)

    return epoch, model.predict


def setup_numpy(x, y, bs, seed):
    """The loop a NumPy programmer would write: flat buffers, views per layer, in-place Adam."""
    import numpy as np
    init = glorot_params(seed)
    total = sum(p.size for p in init)
    P = np.empty(total, np.float32)
    G = np.zeros(total, np.float32)
    params, grads, off = [], [], 0
    for p in init:
        P[off:off + p.size] = p.ravel()
        params.append(P[off:off + p.size].reshape(p.shape))
        grads.append(G[off:off + p.size].reshape(p.shape))
        off += p.size
    W1, b1, W2, b2, W3, b3 = params
    gW1, gb1, gW2, gb2, gW3, gb3 = grads
    m, v, tmp = np.zeros_like(P), np.zeros_like(P), np.empty_like(P)
    state = {"t": 0}
    rng = np.random.default_rng(seed)
    b1_, b2_, eps = 0.9, 0.999, 1e-8
    f32 = np.float32

    def forward(xb):
        h1 = xb @ W1
        h1 += b1
        np.maximum(h1, 0, out=h1)
        h2 = h1 @ W2
        h2 += b2
        np.maximum(h2, 0, out=h2)
        z = h2 @ W3
        z += b3
        return h1, h2, z

    def step(xb, yb):
        nonlocal P, m, v, tmp     # updated in place (augmented assignment needs the declaration)
        n = xb.shape[0]
        h1, h2, z = forward(xb)
        z -= z.max(axis=1, keepdims=True)          # softmax, then (p − onehot) / n
        np.exp(z, out=z)
        z /= z.sum(axis=1, keepdims=True)
        z[np.arange(n), yb] -= 1.0
        z *= f32(1.0 / n)
        np.matmul(h2.T, z, out=gW3)
        z.sum(axis=0, out=gb3)
        d2 = z @ W3.T
        d2[h2 <= 0] = 0.0
        np.matmul(h1.T, d2, out=gW2)
        d2.sum(axis=0, out=gb2)
        d1 = d2 @ W2.T
        d1[h1 <= 0] = 0.0
        np.matmul(xb.T, d1, out=gW1)
        d1.sum(axis=0, out=gb1)
        # Adam, bias correction folded into the step size: 9 whole-buffer passes
        state["t"] += 1
        t = state["t"]
        m *= f32(b1_)
        np.multiply(G, f32(1 - b1_), out=tmp)
        m += tmp
        v *= f32(b2_)
        np.multiply(G, G, out=tmp)
        tmp *= f32(1 - b2_)
        v += tmp
        lr_t = LR * np.sqrt(1 - b2_ ** t) / (1 - b1_ ** t)
        np.sqrt(v, out=tmp)
        tmp += f32(eps * np.sqrt(1 - b2_ ** t))
        np.divide(m, tmp, out=tmp)
        tmp *= f32(lr_t)
        P -= tmp

    def epoch_on(xs, ys):
        order = rng.permutation(xs.shape[0])
        for s in range(0, xs.shape[0], bs):
            idx = order[s:s + bs]
            step(xs[idx], ys[idx])

    epoch_on(x[:bs * WARMUP_BATCHES], y[:bs * WARMUP_BATCHES])
    return (lambda: epoch_on(x, y)), (lambda xb: forward(xb)[2])


def setup_torch(x, y, bs, seed, threads, variant):
    import numpy as np
    import torch
    from torch import nn
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
    with torch.no_grad():
        linears = [mod for mod in model if isinstance(mod, nn.Linear)]
        init = glorot_params(seed)
        for lin, W, b in zip(linears, init[0::2], init[1::2]):
            lin.weight.copy_(torch.from_numpy(np.ascontiguousarray(W.T)))
            lin.bias.copy_(torch.from_numpy(b))
    kw = {"torch-foreach": {"foreach": True}, "torch-fused": {"fused": True}}.get(variant, {})
    opt = torch.optim.Adam(model.parameters(), lr=LR, **kw)
    X, Y = torch.from_numpy(x), torch.from_numpy(y)
    loss_fn = nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(seed)

    def epoch_on(xs, ys):
        order = torch.randperm(xs.shape[0], generator=gen)
        for s in range(0, xs.shape[0], bs):
            idx = order[s:s + bs]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xs[idx]), ys[idx])
            loss.backward()
            opt.step()

    epoch_on(X[:bs * WARMUP_BATCHES], Y[:bs * WARMUP_BATCHES])

    def logits(xb):
        with torch.inference_mode():
            return model(torch.from_numpy(xb)).numpy()

    return (lambda: epoch_on(X, Y)), logits


def setup_sklearn(x, y, bs, seed):
    import warnings

    import numpy as np
    from sklearn.neural_network import MLPClassifier
    clf = MLPClassifier(hidden_layer_sizes=(256, 128), activation="relu", solver="adam", alpha=0.0,
                        batch_size=bs, learning_rate_init=LR, shuffle=True, random_state=seed)
    classes = np.arange(SIZES[-1])
    clf.partial_fit(x[:bs * WARMUP_BATCHES], y[:bs * WARMUP_BATCHES], classes=classes)

    def epoch():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf.partial_fit(x, y)

    # scikit-learn has no logits API: predict_proba (softmax included), log taken for the loss
    return epoch, lambda xb: np.log(np.clip(clf.predict_proba(xb), 1e-30, None))


def worker(args) -> None:
    import numpy as np
    x, y = make_data(args.samples, seed=0, dist=args.dist, data=args.data)
    if args.worker == "tanul":
        if args.tanul_threads is not None:
            from tanul.ops.parallel import set_num_threads
            set_num_threads(args.tanul_threads)
        epoch, logits = setup_tanul(x, y, args.batch_size, args.seed, args.parallel_adam)
    elif args.worker == "numpy":
        epoch, logits = setup_numpy(x, y, args.batch_size, args.seed)
    elif args.worker.startswith("torch"):
        epoch, logits = setup_torch(x, y, args.batch_size, args.seed, args.threads, args.worker)
    elif args.worker == "sklearn":
        epoch, logits = setup_sklearn(x, y, args.batch_size, args.seed)
    else:
        raise SystemExit(f"unknown framework {args.worker!r}; known: {', '.join(FRAMEWORKS)}")
    rss_before = common.rss_mib()
    t, c = time.perf_counter(), common.cpu_seconds()
    epoch()
    epoch_s, epoch_cpu = time.perf_counter() - t, common.cpu_seconds() - c
    x1024 = np.ascontiguousarray(x[:1024])
    x1 = np.ascontiguousarray(x[:1])
    result = {
        "framework": args.worker,
        "batch_size": args.batch_size,
        "epoch_s": epoch_s,
        "epoch_cpu_s": epoch_cpu,
        "infer_1024_s": time_calls(lambda: logits(x1024), INFER_1024_CALLS),
        "infer_1_s": time_calls(lambda: logits(x1), INFER_1_CALLS),
        "loss_after": cross_entropy(logits(x[:4096]), y[:4096]),
        "rss_before_mib": rss_before,
        "rss_peak_mib": common.peak_rss_mib(),
    }
    print(json.dumps(result))


# ======================================================================================
# the driver
# ======================================================================================
def available(frameworks: list[str]) -> tuple[list[str], list[str]]:
    import importlib.util
    ok, missing = [], []
    for fw in frameworks:
        mod = {"torch-foreach": "torch", "torch-fused": "torch"}.get(fw, fw)
        (ok if fw == "numpy" or importlib.util.find_spec(mod) else missing).append(fw)
    return ok, missing


def fmt_range(med: float, lo: float, hi: float, scale: float = 1.0, digits: int = 2) -> tuple[str, str]:
    return f"{med * scale:.{digits}f}", f"{lo * scale:.{digits}f}–{hi * scale:.{digits}f}"


def report(results: list[dict], info: dict, args, command: str, missing: list[str]) -> str:
    by = {}
    for r in results:
        by.setdefault((r["framework"], r["batch_size"]), []).append(r)
    fws = [fw for fw in FRAMEWORKS if any(k[0] == fw for k in by)]
    ref = "torch" if "torch" in fws else None
    out = [f"Command: `{command}`", "", common.machine_markdown(info), ""]
    out.append(f"Network 784-256-128-10 (ReLU), softmax cross-entropy, Adam(lr=1e-3), float32; one epoch "
               f"of {args.samples:,} {DATA_WORDS[args.dist]} in shuffled mini-batches; "
               f"{args.repeats} repeat(s), "
               "each framework in its own process, alternating. Times are medians, with the range over "
               "the repeats.")
    for bs in args.batch_sizes:
        rows = []
        ref_t = common.median_range(r["epoch_s"] for r in by[(ref, bs)])[0] if ref else None
        sk_t = common.median_range(r["epoch_s"] for r in by[("sklearn", bs)])[0] \
            if ("sklearn", bs) in by else None
        for fw in fws:
            rs = by.get((fw, bs))
            if not rs:
                continue
            med, lo, hi = common.median_range(r["epoch_s"] for r in rs)
            loss = common.median_range(r["loss_after"] for r in rs)[0]
            ratio = f"{med / ref_t:.2f}x" if ref_t else "n/a"
            sk_ratio = f"{med / sk_t:.2f}x" if sk_t else "n/a"
            row = [LABELS[fw], *fmt_range(med, lo, hi), ratio, sk_ratio]
            if args.cpu:
                cmed, clo, chi = common.median_range(r["epoch_cpu_s"] for r in rs)
                ref_c = common.median_range(r["epoch_cpu_s"] for r in by[(ref, bs)])[0] if ref else None
                row += [*fmt_range(cmed, clo, chi), f"{cmed / ref_c:.2f}x" if ref_c else "n/a"]
            rows.append(row + [f"{loss:.3f}"])
        cpu_cols = ["CPU s / epoch", "CPU range", "CPU vs PyTorch"] if args.cpu else []
        out += ["", f"**Training, batch {bs}** (time ratios: below 1 is faster than PyTorch's default Adam, "
                "or than scikit-learn)", "",
                common.markdown_table(["framework", "s / epoch", "range", "time vs PyTorch",
                                       "time vs scikit-learn", *cpu_cols, "loss after the epoch"], rows)]
    # inference and memory: pooled over all batch sizes
    rows, mem = [], []
    ref_inf = None
    if ref:
        ref_inf = common.median_range(r["infer_1024_s"] for k, rs in by.items() if k[0] == ref for r in rs)[0]
    for fw in fws:
        rs = [r for k, v in by.items() if k[0] == fw for r in v]
        med, lo, hi = common.median_range(r["infer_1024_s"] for r in rs)
        one = common.median_range(r["infer_1_s"] for r in rs)[0]
        thr = f"{ref_inf / med:.2f}x" if ref_inf else "n/a"
        rows.append([LABELS[fw], *fmt_range(med, lo, hi, 1e3), f"{1024 / med:,.0f}", thr, f"{one * 1e6:.0f}"])
        peak = max(r["rss_peak_mib"] for r in rs)
        before = common.median_range(r["rss_before_mib"] for r in rs)[0]
        mem.append([LABELS[fw], f"{before:,.0f}", f"{peak:,.0f}"])
    out += ["", "**Inference** (throughput ratio: higher is faster than PyTorch)", "",
            common.markdown_table(["framework", "batch 1,024 (ms)", "range", "samples / s",
                                   "throughput vs PyTorch", "1 sample (µs)"], rows),
            "", f"**Memory** (resident set of the process; every process holds the "
            f"{args.samples * SIZES[0] * 4 / 1e6:,.0f} MB data set)", "",
            common.markdown_table(["framework", "RSS before the epoch (MiB)", "peak RSS (MiB)"], mem)]
    if missing:
        out += ["", f"Not measured (not installed): {', '.join(missing)}."]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=common.available_cores())
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[64, 128])
    p.add_argument("--samples", type=int, default=60_000)
    p.add_argument("--frameworks", nargs="+", default=FRAMEWORKS, choices=FRAMEWORKS)
    p.add_argument("--markdown", help="also write the Markdown report to this file (atomically)")
    p.add_argument("--json", help="also write the raw measurements and the machine description here")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dist", default="uniform", choices=DISTS,
                   help="the inputs: uniform or standard-normal noise, or Fashion-MNIST's images")
    p.add_argument("--data", default=None, help=f"Fashion-MNIST folder (default {DEBIAN_FASHION})")
    p.add_argument("--cpu", action="store_true", help="also report the CPU seconds of each epoch")
    p.add_argument("--tanul-threads", type=int, help="tanul's own threads (TANUL_NUM_THREADS); "
                   "default: --threads")
    p.add_argument("--parallel-adam", action="store_true",
                   help="tanul: split Adam's element-wise update over tanul's threads (opt-in)")
    common.add_openblas_option(p)
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--batch-size", type=int, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    common.apply_openblas_option(args)
    if args.worker:
        return worker(args)
    if args.repeats < 1 or args.threads < 1 or args.samples < 2048:
        p.error("expected --repeats >= 1, --threads >= 1 and --samples >= 2048")
    if args.tanul_threads is not None:
        if args.tanul_threads < 1:
            p.error(f"expected --tanul-threads >= 1, got {args.tanul_threads}")
        extra = ["--tanul-threads", str(args.tanul_threads)]
    else:
        extra = []
    extra += ["--parallel-adam"] if args.parallel_adam else []
    extra += ["--dist", args.dist] + (["--data", args.data] if args.data else [])
    frameworks, missing = available(args.frameworks)
    command = "python benchmarks/mlp.py " + " ".join(argv if argv is not None else sys.argv[1:])
    results = []
    script = Path(__file__).resolve()
    for rep in range(args.repeats):
        order = frameworks[rep % len(frameworks):] + frameworks[:rep % len(frameworks)]
        for bs in args.batch_sizes:
            for fw in order:
                r = common.run_worker(script, ["--worker", fw, "--batch-size", str(bs), "--threads",
                                               str(args.threads), "--samples", str(args.samples),
                                               "--seed", str(args.seed), *extra], args.threads)
                results.append(r)
                print(f"  repeat {rep + 1}/{args.repeats}  batch {bs:4d}  {fw:14s} "
                      f"{r['epoch_s']:7.2f} s/epoch (CPU {r['epoch_cpu_s']:.2f} s)"
                      f"  loss {r['loss_after']:.3f}  "
                      f"peak {r['rss_peak_mib']:,.0f} MiB", file=sys.stderr)
    info = common.machine_info(args.threads)
    text = report(results, info, args, command.strip(), missing)
    print(text)
    if args.markdown:
        common.write_atomic(args.markdown, text)
    if args.json:
        common.write_atomic(args.json, json.dumps({"command": command.strip(), "machine": info,
                                                   "results": results}, indent=1))


if __name__ == "__main__":
    main()
