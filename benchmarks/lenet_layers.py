"""Per-layer forward/backward time of LeNet-5 in tanul (float32), to find the hot spots.

    PYTHONPATH=src python benchmarks/lenet_layers.py [batch_size] [n_batches]
"""

import sys
import time

import numpy as np

from tanul.models import lenet5


def main() -> None:
    bs = int(sys.argv[1]) if len(sys.argv) > 1 else 64
    nb = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    model = lenet5(seed=0)
    x = np.random.default_rng(0).random((bs, 1, 28, 28), dtype=np.float32)
    fwd = np.zeros(len(model.layers))
    bwd = np.zeros(len(model.layers))
    for it in range(nb + 2):
        h = x
        for i, layer in enumerate(model.layers):
            t = time.perf_counter()
            h = layer.forward(h, training=True)
            if it >= 2:
                fwd[i] += time.perf_counter() - t
        dy = np.ones_like(h)
        for i in reversed(range(len(model.layers))):
            t = time.perf_counter()
            dy = model.layers[i].backward(dy)
            if it >= 2:
                bwd[i] += time.perf_counter() - t
    per = 1e3 / nb
    for i, layer in enumerate(model.layers):
        print(f"{layer.name:14s} fwd {fwd[i] * per:7.3f} ms  bwd {bwd[i] * per:7.3f} ms")
    total = (fwd.sum() + bwd.sum()) / nb
    print(f"total {total * 1e3:.2f} ms/batch of {bs} -> {total * 60000 / bs:.1f} s per 60k epoch "
          "(layers only, no optimiser/loss)")


if __name__ == "__main__":
    main()
