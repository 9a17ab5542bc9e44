"""Where LeNet-5's time goes: per-layer forward and backward time in tanul (float32).

    python benchmarks/lenet_layers.py [--batch 128] [--batches 30] [--dist uniform|normal|fashion]
                                      [--cpu] [--torch] [--unfused]

Runs the layers one by one as ``Sequential.fit`` does (inside the same BLAS thread setting), on
batches of 128 images drawn from ``--dist``: uniform [0, 1) noise, standard-normal noise, or real
Fashion-MNIST images (Debian's folder). Prints milliseconds per batch for every layer's forward
and backward pass, their share of the total, and the time of a whole batch step
(``model.train_on_batch``: loss, backward, optimiser) for comparison. ``--torch`` also times
PyTorch's forward and backward (whole network, same shapes) in the same process, for scale only:
the side-by-side comparison is ``benchmarks/lenet.py``. ``--cpu`` measures the process's CPU time
instead of the wall clock: on a shared, busy machine that is the stable measure (run it with
``TANUL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1`` so that it is also the elapsed time of one core).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np


def make_batches(dist: str, batch: int, n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if dist == "uniform":
        return rng.random((n * batch, 1, 28, 28), dtype=np.float32)
    if dist == "normal":
        return rng.standard_normal((n * batch, 1, 28, 28), dtype=np.float32)
    if dist == "fashion":
        from tanul.datasets import fashion_mnist
        from tanul.datasets.mnist import DEBIAN_FASHION_MNIST
        x, _ = fashion_mnist(DEBIAN_FASHION_MNIST, split="test")
        return x[: n * batch]
    raise ValueError(f"unknown --dist {dist!r}")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--batches", type=int, default=30)
    p.add_argument("--dist", default="uniform", choices=["uniform", "normal", "fashion"])
    p.add_argument("--torch", action="store_true")
    p.add_argument("--cpu", action="store_true", help="CPU time of the process, not wall clock")
    p.add_argument("--unfused", action="store_true",
                   help="time every layer's own backward (no conv/max-pool fusion) in the per-layer table")
    args = p.parse_args(argv)
    clock = time.process_time if args.cpu else time.perf_counter

    from tanul.models import lenet5
    from tanul.ops.parallel import blas_single_threaded, num_threads

    model = lenet5(seed=0)
    model.compile(optimizer="adam", loss="cross_entropy")
    model.layers[0].input_grad = False  # as fit does for the first layer
    bs, nb = args.batch, args.batches
    x = make_batches(args.dist, bs, nb + 3)
    y = np.random.default_rng(1).integers(0, 10, len(x))
    L = len(model.layers)
    fwd = np.zeros((nb, L))
    bwd = np.zeros((nb, L))
    steps = []
    fused_rows: set[int] = set()
    with blas_single_threaded():
        for it in range(nb + 3):
            xb = x[it * bs:(it + 1) * bs]
            h = xb
            for i, layer in enumerate(model.layers):
                t = clock()
                h = layer.forward(h, training=True)
                if it >= 3:
                    fwd[it - 3, i] = clock() - t
            dy = (h - h.mean()) * np.float32(1e-3)
            i = L - 1
            while i >= 0:  # as Sequential._backward: a max-pool may fuse with the conv before it
                layer = model.layers[i]
                fused = getattr(layer, "backward_fused", None)
                t = clock()
                dx = fused(model.layers[i - 1], dy) if (fused and i > 0 and not args.unfused) \
                    else NotImplemented
                if dx is not NotImplemented:
                    fused_rows.add(i)
                    dy, i = dx, i - 2  # the pair's time goes on the conv's row
                else:
                    dy = layer.backward(dy)
                    i -= 1
                if it >= 3:
                    bwd[it - 3, i + 1] = clock() - t
        for it in range(nb + 3):
            xb, yb = x[it * bs:(it + 1) * bs], y[it * bs:(it + 1) * bs]
            t = clock()
            model.train_on_batch(xb, yb)
            if it >= 3:
                steps.append(clock() - t)
    f, b = np.median(fwd, axis=0) * 1e3, np.median(bwd, axis=0) * 1e3
    total = f.sum() + b.sum()
    print(f"LeNet-5 per layer, batch {bs}, {args.dist} inputs, median of {nb} batches, "
          f"{num_threads()} tanul threads, {'CPU time' if args.cpu else 'wall clock'}")
    print(f"{'layer':24s} {'forward ms':>10s} {'backward ms':>11s} {'share':>6s}")
    for i, layer in enumerate(model.layers):
        bt = "   (fused)" if i in fused_rows else f"{b[i]:11.3f}"
        print(f"{repr(layer)[:24]:24s} {f[i]:10.3f} {bt:>11s} {(f[i] + b[i]) / total:6.1%}")
    if fused_rows:
        print("(fused): the max-pool's backward ran fused with the conv's before it "
              "(MaxPool2D.backward_fused); the pair's time is on the conv's row")
    inf = []
    for _ in range(12):
        t = clock()
        model.predict(x[:1024])
        inf.append(clock() - t)
    step = statistics.median(steps) * 1e3
    print(f"{'layers, total':24s} {f.sum():10.3f} {b.sum():11.3f}")
    print(f"train_on_batch (whole step): {step:.2f} ms -> {step * 60000 / bs / 1e3:.2f} s per "
          f"60,000-image epoch")
    print(f"predict on 1,024 images: {statistics.median(inf[2:]) * 1e3:.1f} ms")
    if args.torch:
        import torch
        from torch import nn
        net = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.Tanh(), nn.MaxPool2d(2),
                            nn.Conv2d(6, 16, 5), nn.Tanh(), nn.MaxPool2d(2), nn.Flatten(),
                            nn.Linear(400, 120), nn.Tanh(), nn.Linear(120, 84), nn.Tanh(),
                            nn.Linear(84, 10))
        X = torch.from_numpy(x)
        tf, tb = [], []
        for it in range(nb + 3):
            xb = X[it * bs:(it + 1) * bs]
            t = time.perf_counter()
            out = net(xb)
            t1 = time.perf_counter()
            out.sum().backward()
            t2 = time.perf_counter()
            if it >= 3:
                tf.append(t1 - t)
                tb.append(t2 - t1)
        print(f"PyTorch {torch.__version__} ({torch.get_num_threads()} threads): forward "
              f"{statistics.median(tf) * 1e3:.3f} ms, backward {statistics.median(tb) * 1e3:.3f} ms")


if __name__ == "__main__":
    main()
