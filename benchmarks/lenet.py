"""LeNet-5 in tanul and in PyTorch (CPU), side by side, each in its own process, alternated.

Speed (default): one epoch of 60,000 1x28x28 images, batch 128, SGD(lr 0.01, momentum 0.9)::

    python benchmarks/lenet.py [--repeats 5] [--dist uniform normal fashion] [--threads N]
                               [--samples 60000] [--markdown out.md] [--json raw.json]

Accuracy on Fashion-MNIST: 10 epochs, Adam(lr 1e-3), batch 128, all 60,000 training images,
seconds per epoch and test accuracy after every epoch::

    python benchmarks/lenet.py --dataset fashion_mnist [--epochs 10] [--repeats 1] [--data DIR]

The network (tanul.models.lenet5 and the same in PyTorch): conv 6@5x5 pad 2, tanh, max-pool 2,
conv 16@5x5, tanh, max-pool 2, dense 120 tanh, 84 tanh, 10; softmax cross-entropy on logits;
float32, NCHW. The same initial weights are copied into both.

Speed inputs (``--dist``): ``uniform`` [0, 1) noise and ``normal`` standard-normal noise, both
labelled by a random linear teacher, and ``fashion``: the real Fashion-MNIST training images
(``--data``, default Debian's ``/usr/share/datasets/fashion-mnist``) with their labels.

Every (framework, distribution, repeat) runs in its own subprocess, alternating the order between
repeats; the subprocess times one shuffled epoch after a warm-up of 10 batches (wall clock and the
process's CPU time), inference on a batch of 1,024 and on one image, and reports its peak RSS. The
script prints medians, ranges, the ratio to PyTorch and the load average before and after (the
machine may be shared: the wall-clock times then include waiting for a core, the CPU times not).
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
DISTS = ["uniform", "normal", "fashion"]
BATCH = 128
LR, MOMENTUM = 0.01, 0.9
ADAM_LR = 1e-3
WARMUP_BATCHES = 10
DEBIAN_FASHION = "/usr/share/datasets/fashion-mnist"


def make_data(n: int, dist: str = "uniform", seed: int = 0, data: str | None = None):
    import numpy as np
    if dist == "fashion":
        from tanul.datasets import fashion_mnist
        x, y = fashion_mnist(data or DEBIAN_FASHION, split="train")
        if n > len(x):
            raise ValueError(f"--samples {n}: Fashion-MNIST has {len(x)} training images")
        return np.ascontiguousarray(x[:n]), y[:n]
    rng = np.random.default_rng(seed)
    if dist == "uniform":
        x = rng.random((n, 1, 28, 28), dtype=np.float32)
    elif dist == "normal":
        x = rng.standard_normal((n, 1, 28, 28), dtype=np.float32)
    else:
        raise ValueError(f"unknown --dist {dist!r}: expected one of {', '.join(DISTS)}")
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


def torch_lenet(weights, threads):
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
    return model


def setup_tanul(x, y, seed, optimizer="sgd"):
    from tanul.models import lenet5
    from tanul.optimizers import SGD, Adam
    model = lenet5(seed=seed)
    opt = SGD(lr=LR, momentum=MOMENTUM) if optimizer == "sgd" else Adam(lr=ADAM_LR)
    model.compile(optimizer=opt, loss="cross_entropy")
    weights = model.get_weights()
    model.fit(x[:BATCH * WARMUP_BATCHES], y[:BATCH * WARMUP_BATCHES], epochs=1, batch_size=BATCH, verbose=0)

    def epoch():
        model.fit(x, y, epochs=1, batch_size=BATCH, verbose=0)

    return epoch, model.predict, weights, model


def setup_torch(x, y, seed, threads, weights, optimizer="sgd"):
    import torch
    from torch import nn
    model = torch_lenet(weights, threads)
    opt = (torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM) if optimizer == "sgd"
           else torch.optim.Adam(model.parameters(), lr=ADAM_LR))
    X, Y = torch.from_numpy(x), torch.from_numpy(y)
    loss_fn = nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(seed)

    def epoch_on(xs, ys):
        model.train()
        order = torch.randperm(xs.shape[0], generator=gen)
        for s in range(0, xs.shape[0], BATCH):
            idx = order[s:s + BATCH]
            opt.zero_grad(set_to_none=True)
            loss_fn(model(xs[idx]), ys[idx]).backward()
            opt.step()

    if optimizer == "sgd":  # the speed run warms up; the accuracy run starts from the same weights
        epoch_on(X[:BATCH * WARMUP_BATCHES], Y[:BATCH * WARMUP_BATCHES])

    def logits(xb):
        model.eval()
        with torch.inference_mode():
            return torch.cat([model(torch.from_numpy(xb[i:i + 1024])) for i in range(0, len(xb), 1024)]).numpy()

    return (lambda: epoch_on(X, Y)), logits


def worker(args) -> None:
    import numpy as np

    from tanul.models import lenet5
    if args.dataset == "fashion_mnist":
        return accuracy_worker(args)
    x, y = make_data(args.samples, args.dist, data=args.data)
    if args.worker == "tanul":
        epoch, logits, _, _ = setup_tanul(x, y, args.seed)
    else:
        weights = lenet5(seed=args.seed).get_weights()
        epoch, logits = setup_torch(x, y, args.seed, args.threads, weights)
    rss_before = common.rss_mib()
    t, c = time.perf_counter(), common.cpu_seconds()
    epoch()
    epoch_s, epoch_cpu = time.perf_counter() - t, common.cpu_seconds() - c
    x1024, x1 = np.ascontiguousarray(x[:1024]), np.ascontiguousarray(x[:1])
    k = min(4096, len(x))
    z = logits(x[:k])
    z = z - z.max(1, keepdims=True)
    loss = float(np.mean(np.log(np.exp(z).sum(1)) - z[np.arange(k), y[:k]]))
    print(json.dumps({"framework": args.worker, "dist": args.dist, "epoch_s": epoch_s,
                      "epoch_cpu_s": epoch_cpu,
                      "infer_1024_s": time_calls(lambda: logits(x1024), 20),
                      "infer_1_s": time_calls(lambda: logits(x1), 200), "loss_after": loss,
                      "rss_before_mib": rss_before, "rss_peak_mib": common.peak_rss_mib()}))


def accuracy_worker(args) -> None:
    import numpy as np

    from tanul.datasets import fashion_mnist
    from tanul.models import lenet5
    (x, y), (xt, yt) = fashion_mnist(args.data or DEBIAN_FASHION)
    if args.worker == "tanul":
        model = lenet5(seed=args.seed)
        from tanul.optimizers import Adam
        model.compile(optimizer=Adam(lr=ADAM_LR), loss="cross_entropy")

        def epoch():
            model.fit(x, y, epochs=1, batch_size=BATCH, verbose=0)

        logits = model.predict
    else:
        weights = lenet5(seed=args.seed).get_weights()
        epoch, logits = setup_torch(x, y, args.seed, args.threads, weights, "adam")
    rows = []
    for e in range(args.epochs):
        t, c = time.perf_counter(), common.cpu_seconds()
        epoch()
        sec, cpu = time.perf_counter() - t, common.cpu_seconds() - c
        acc = float(np.mean(logits(xt).argmax(1) == yt))
        rows.append({"epoch": e + 1, "s": sec, "cpu_s": cpu, "test_accuracy": acc})
        print(f"  {args.worker} epoch {e + 1}: {sec:.2f} s, test accuracy {acc:.4f}", file=sys.stderr,
              flush=True)
    print(json.dumps({"framework": args.worker, "epochs": rows, "rss_peak_mib": common.peak_rss_mib()}))


def speed_report(results, info, args, command, loads) -> str:
    out = [f"### LeNet-5, one epoch of {args.samples:,} images, batch {BATCH}, SGD momentum "
           f"({args.repeats} repeats, {args.threads} threads)\n"]
    for dist in args.dist:
        by = {fw: [r for r in results if r["framework"] == fw and r["dist"] == dist] for fw in FRAMEWORKS}
        by = {k: v for k, v in by.items() if v}
        ref = by.get("torch")
        rows = []
        for fw, rs in by.items():
            ep = common.median_range(r["epoch_s"] for r in rs)
            cpu = statistics.median(r["epoch_cpu_s"] for r in rs)
            i1024 = common.median_range(r["infer_1024_s"] for r in rs)
            i1 = statistics.median(r["infer_1_s"] for r in rs)
            ratio = cpu_ratio = thr = thr1 = mem = ""
            if ref:
                ratio = f"{ep[0] / statistics.median(r['epoch_s'] for r in ref):.2f}x"
                cpu_ratio = f"{cpu / statistics.median(r['epoch_cpu_s'] for r in ref):.2f}x"
                thr = f"{statistics.median(r['infer_1024_s'] for r in ref) / i1024[0]:.2f}x"
                thr1 = f"{statistics.median(r['infer_1_s'] for r in ref) / i1:.2f}x"
                rss = statistics.median(r["rss_peak_mib"] for r in rs)
                mem = f"{rss / statistics.median(r['rss_peak_mib'] for r in ref):.2f}x"
            rows.append([LABELS[fw], f"{ep[0]:.2f}", f"{ep[1]:.2f}–{ep[2]:.2f}", ratio, f"{cpu:.2f}",
                         cpu_ratio, f"{i1024[0] * 1e3:.1f} ({i1024[1] * 1e3:.1f}–{i1024[2] * 1e3:.1f})",
                         thr, f"{i1 * 1e6:.0f}", thr1,
                         f"{statistics.median(r['rss_peak_mib'] for r in rs):,.0f}", mem,
                         f"{statistics.median(r['loss_after'] for r in rs):.3f}"])
        table = common.markdown_table(
            ["framework", "s/epoch", "range", "time vs PyTorch", "CPU s/epoch", "CPU vs PyTorch",
             "inference 1,024 (ms)", "throughput vs PyTorch", "1 image (µs)", "vs PyTorch",
             "peak RSS (MiB)", "RSS vs PyTorch", "loss after"], rows, align="lrrrrrrrrrrrr")
        out.append(f"**{dist} inputs**\n\n{table}\n")
    out.append(f"Command: `{command}`; load average before: {loads[0]}, after: {loads[1]}\n\n"
               f"{common.machine_markdown(info)}\n")
    return "\n".join(out)


def accuracy_report(results, info, args, command, loads) -> str:
    lines = [f"### LeNet-5 on Fashion-MNIST: {args.epochs} epochs of 60,000 images, Adam {ADAM_LR}, "
             f"batch {BATCH}, tanh ({args.repeats} run(s) each, {args.threads} threads)\n"]
    by = {fw: [r for r in results if r["framework"] == fw] for fw in FRAMEWORKS}
    by = {k: v for k, v in by.items() if v}
    headers = ["epoch"]
    for fw in by:
        headers += [f"{LABELS[fw]} s/epoch", f"{LABELS[fw]} cumulative s", f"{LABELS[fw]} test accuracy"]
    rows = []
    for e in range(args.epochs):
        row = [str(e + 1)]
        for rs in by.values():
            sec = statistics.median(r["epochs"][e]["s"] for r in rs)
            cum = statistics.median(sum(x["s"] for x in r["epochs"][:e + 1]) for r in rs)
            acc = [r["epochs"][e]["test_accuracy"] for r in rs]
            spread = f" ({min(acc):.4f}–{max(acc):.4f})" if len(acc) > 1 else ""
            row += [f"{sec:.2f}", f"{cum:.1f}", f"{statistics.median(acc):.4f}{spread}"]
        rows.append(row)
    lines.append(common.markdown_table(headers, rows))
    lines.append(f"\nCommand: `{command}`; load average before: {loads[0]}, after: {loads[1]}\n\n"
                 f"{common.machine_markdown(info)}\n")
    return "\n".join(lines)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeats", type=int, default=None, help="pairs of runs (default 5; 1 for --dataset)")
    p.add_argument("--threads", type=int, default=common.available_cores())
    p.add_argument("--samples", type=int, default=60_000)
    p.add_argument("--dist", nargs="+", default=["uniform"], choices=DISTS)
    p.add_argument("--dataset", choices=["fashion_mnist"], default=None,
                   help="accuracy run on this dataset instead of the speed run")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--data", default=None, help=f"Fashion-MNIST folder (default {DEBIAN_FASHION})")
    p.add_argument("--frameworks", nargs="+", default=FRAMEWORKS, choices=FRAMEWORKS)
    p.add_argument("--markdown")
    p.add_argument("--json")
    p.add_argument("--seed", type=int, default=0)
    common.add_openblas_option(p)
    p.add_argument("--worker", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    common.apply_openblas_option(args)
    if args.worker:
        args.dist = args.dist[0]
        return worker(args)
    if args.repeats is None:
        args.repeats = 1 if args.dataset else 5
    import importlib.util
    frameworks = [f for f in args.frameworks if f == "tanul" or importlib.util.find_spec("torch")]
    command = "python benchmarks/lenet.py " + " ".join(argv if argv is not None else sys.argv[1:])
    loads = [common.load_average()]
    results = []
    dists = [None] if args.dataset else args.dist
    for rep in range(args.repeats):
        order = frameworks if rep % 2 == 0 else frameworks[::-1]
        for dist in dists:
            for fw in order:
                extra = ["--dataset", args.dataset, "--epochs", str(args.epochs)] if args.dataset else \
                        ["--dist", dist, "--samples", str(args.samples)]
                if args.data:
                    extra += ["--data", args.data]
                r = common.run_worker(Path(__file__).resolve(),
                                      ["--worker", fw, "--threads", str(args.threads), "--seed", str(args.seed),
                                       *extra], args.threads, timeout=7200)
                results.append(r)
                if args.dataset:
                    last = r["epochs"][-1]
                    print(f"  run {rep + 1}/{args.repeats}  {fw:6s} {sum(e['s'] for e in r['epochs']):7.1f} s "
                          f"in all, test accuracy {last['test_accuracy']:.4f}", file=sys.stderr)
                else:
                    print(f"  repeat {rep + 1}/{args.repeats}  {dist:8s} {fw:6s} {r['epoch_s']:7.2f} s/epoch "
                          f"(CPU {r['epoch_cpu_s']:.2f} s)  loss {r['loss_after']:.3f}", file=sys.stderr)
    loads.append(common.load_average())
    info = common.machine_info(args.threads)
    report = accuracy_report if args.dataset else speed_report
    text = report(results, info, args, command.strip(), loads)
    print(text)
    if args.markdown:
        common.write_atomic(args.markdown, text)
    if args.json:
        common.write_atomic(args.json, json.dumps({"command": command.strip(), "loads": loads,
                                                   "results": results}, indent=1))


if __name__ == "__main__":
    main()
