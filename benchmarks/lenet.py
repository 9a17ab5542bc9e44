"""One epoch of LeNet-5 on 60,000 synthetic 1x28x28 images: tanul vs PyTorch CPU.

    python benchmarks/lenet.py [--repeats 3] [--threads N] [--samples 60000] [--markdown out.md]

The network (tanul.models.lenet5 and the same in PyTorch): conv 6@5x5 pad 2, tanh, max-pool 2,
conv 16@5x5, tanh, max-pool 2, dense 120 tanh, 84 tanh, 10; softmax cross-entropy on logits;
SGD(lr=0.01, momentum=0.9), batch 128, float32, NCHW. The same Glorot/LeCun-style weights are
copied into both. Data: uniform noise images labelled by a random linear teacher (speed does not
depend on the values).

Every (framework, repeat) runs in its own subprocess, alternating the order between repeats; the
subprocess times one shuffled epoch after a warm-up of 10 batches, inference on a batch of 1,024
and on one image, and reports its peak RSS. The script prints medians, ranges and the ratio to
PyTorch.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

FRAMEWORKS = ["tanul", "torch"]
LABELS = {"tanul": "tanul", "torch": "PyTorch (CPU)"}
BATCH = 128
LR, MOMENTUM = 0.01, 0.9
WARMUP_BATCHES = 10


def make_data(n: int, seed: int = 0):
    import numpy as np
    rng = np.random.default_rng(seed)
    x = rng.random((n, 1, 28, 28), dtype=np.float32)
    teacher = rng.normal(size=(784, 10)).astype(np.float32)
    y = np.concatenate([(x[i:i + 8192].reshape(-1, 784) @ teacher).argmax(1) for i in range(0, n, 8192)])
    return x, y.astype(np.int64)


def time_calls(fn, calls: int) -> float:
    fn()
    times = []
    for _ in range(calls):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def setup_tanul(x, y, seed):
    from tanul.models import lenet5
    from tanul.optimizers import SGD
    model = lenet5(seed=seed)
    model.compile(optimizer=SGD(lr=LR, momentum=MOMENTUM), loss="cross_entropy")
    model.fit(x[:BATCH * WARMUP_BATCHES], y[:BATCH * WARMUP_BATCHES], epochs=1, batch_size=BATCH, verbose=0)
    weights = model.get_weights()

    def epoch():
        model.fit(x, y, epochs=1, batch_size=BATCH, verbose=0)

    return epoch, model.predict, weights


def setup_torch(x, y, seed, threads, weights):
    import numpy as np
    import torch
    from torch import nn
    torch.set_num_threads(threads)
    model = nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.Tanh(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.Tanh(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.Tanh(), nn.Linear(120, 84), nn.Tanh(), nn.Linear(84, 10))
    with torch.no_grad():  # tanul's initial weights: conv (C_out, C_in, kH, kW); dense W is (in, out)
        mods = [m for m in model if isinstance(m, (nn.Conv2d, nn.Linear))]
        for m, W, b in zip(mods, weights[0::2], weights[1::2]):
            m.weight.copy_(torch.from_numpy(np.ascontiguousarray(W if W.ndim == 4 else W.T)))
            m.bias.copy_(torch.from_numpy(b))
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    X, Y = torch.from_numpy(x), torch.from_numpy(y)
    loss_fn = nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(seed)

    def epoch_on(xs, ys):
        order = torch.randperm(xs.shape[0], generator=gen)
        for s in range(0, xs.shape[0], BATCH):
            idx = order[s:s + BATCH]
            opt.zero_grad(set_to_none=True)
            loss_fn(model(xs[idx]), ys[idx]).backward()
            opt.step()

    epoch_on(X[:BATCH * WARMUP_BATCHES], Y[:BATCH * WARMUP_BATCHES])

    def logits(xb):
        with torch.inference_mode():
            return model(torch.from_numpy(xb)).numpy()

    return (lambda: epoch_on(X, Y)), logits


def worker(args) -> None:
    import numpy as np
    x, y = make_data(args.samples)
    if args.worker == "tanul":
        epoch, logits, _ = setup_tanul(x, y, args.seed)
    else:
        from tanul.models import lenet5
        weights = lenet5(seed=args.seed).get_weights()
        epoch, logits = setup_torch(x, y, args.seed, args.threads, weights)
    rss_before = common.rss_mib()
    t = time.perf_counter()
    epoch()
    epoch_s = time.perf_counter() - t
    x1024, x1 = np.ascontiguousarray(x[:1024]), np.ascontiguousarray(x[:1])
    z = logits(x[:4096])
    z = z - z.max(1, keepdims=True)
    loss = float(np.mean(np.log(np.exp(z).sum(1)) - z[np.arange(4096), y[:4096]]))
    print(json.dumps({"framework": args.worker, "epoch_s": epoch_s,
                      "infer_1024_s": time_calls(lambda: logits(x1024), 20),
                      "infer_1_s": time_calls(lambda: logits(x1), 200), "loss_after": loss,
                      "rss_before_mib": rss_before, "rss_peak_mib": common.peak_rss_mib()}))


def report(results, info, args, command) -> str:
    by = {fw: [r for r in results if r["framework"] == fw] for fw in FRAMEWORKS}
    by = {k: v for k, v in by.items() if v}
    ref = by.get("torch")
    rows = []
    for fw, rs in by.items():
        ep = common.median_range(r["epoch_s"] for r in rs)
        i1024 = common.median_range(r["infer_1024_s"] for r in rs)
        i1 = common.median_range(r["infer_1_s"] for r in rs)
        ratio = ""
        if ref:
            ratio = f"{ep[0] / statistics.median(r['epoch_s'] for r in ref):.2f}x"
        rows.append([LABELS[fw], f"{ep[0]:.2f}", f"{ep[1]:.2f}–{ep[2]:.2f}", ratio,
                     f"{i1024[0] * 1e3:.1f}", f"{i1[0] * 1e6:.0f}",
                     f"{statistics.median(r['rss_peak_mib'] for r in rs):,.0f}",
                     f"{statistics.median(r['loss_after'] for r in rs):.3f}"])
    table = common.markdown_table(
        ["framework", "s/epoch (median)", "range", "time vs PyTorch", "inference 1,024 (ms)",
         "inference 1 image (µs)", "peak RSS (MiB)", "loss after 1 epoch"], rows, align="lrrrrrrr")
    return (f"### LeNet-5, one epoch of {args.samples:,} images, batch {BATCH}, SGD momentum "
            f"({args.repeats} repeats, {args.threads} threads)\n\n{table}\n\n"
            f"Command: `{command}`\n\n{common.machine_markdown(info)}\n")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=common.available_cores())
    p.add_argument("--samples", type=int, default=60_000)
    p.add_argument("--frameworks", nargs="+", default=FRAMEWORKS, choices=FRAMEWORKS)
    p.add_argument("--markdown")
    p.add_argument("--json")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--worker", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        return worker(args)
    import importlib.util
    frameworks = [f for f in args.frameworks if f == "tanul" or importlib.util.find_spec("torch")]
    command = "python benchmarks/lenet.py " + " ".join(argv if argv is not None else sys.argv[1:])
    results = []
    for rep in range(args.repeats):
        order = frameworks if rep % 2 == 0 else frameworks[::-1]
        for fw in order:
            r = common.run_worker(Path(__file__).resolve(), ["--worker", fw, "--threads", str(args.threads),
                                                             "--samples", str(args.samples),
                                                             "--seed", str(args.seed)], args.threads)
            results.append(r)
            print(f"  repeat {rep + 1}/{args.repeats}  {fw:6s} {r['epoch_s']:7.2f} s/epoch  "
                  f"loss {r['loss_after']:.3f}", file=sys.stderr)
    text = report(results, common.machine_info(args.threads), args, command.strip())
    print(text)
    if args.markdown:
        common.write_atomic(args.markdown, text)
    if args.json:
        common.write_atomic(args.json, json.dumps({"command": command.strip(), "results": results}, indent=1))


if __name__ == "__main__":
    main()
