"""Inference of LeNet-5 and an MLP: the exported ONNX graph in ONNX Runtime vs tanul's
``model.predict`` vs PyTorch, at batch 1 and batch 1,024.

    python benchmarks/onnx_inference.py [--repeats 5] [--threads N] [--markdown out.md] [--json raw.json]

Models (float32, seeded, the same weights everywhere):

* ``lenet5``: ``tanul.models.lenet5()`` (tanh; conv 6@5x5 pad 2, max-pool, conv 16@5x5, max-pool,
  120, 84, 10), input 1x28x28;
* ``mlp``: Dense(256, ReLU) -> Dense(128, ReLU) -> Dense(10), input 784.

The parent process builds each model, saves it as ``.tanul`` and exports it with
``tanul.onnx.export`` into a temporary folder. Each (model, batch size, framework, repeat) then
runs in its own fresh subprocess, in an order that is reversed on every other repeat (so no
framework always runs first or last):

* ``onnxruntime``: ``InferenceSession(path, CPUExecutionProvider)`` with
  ``intra_op_num_threads = threads``, ``session.run`` on a float32 batch;
* ``tanul``: ``tanul.load_model(path).predict(x)`` (input checks included);
* ``torch``: the same network as ``torch.nn.Sequential`` with the weights copied from the
  ``.tanul`` file, under ``torch.inference_mode()``, ``torch.set_num_threads(threads)``.

A subprocess warms up with 3 calls, then reports the median seconds per call over 300 calls
(batch 1) or 20 calls (batch 1,024), and the first output row of a fixed input, with which the
parent checks that the three frameworks compute the same function (max |difference| printed).
The table gives the median over the repeats, the range (min-max) and the ratio to ``tanul``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

FRAMEWORKS = ["onnxruntime", "tanul", "torch"]
MODELS = ["lenet5", "mlp"]
BATCHES = [1, 1024]
CALLS = {1: 300, 1024: 20}
LABELS = {"onnxruntime": "ONNX Runtime (exported graph)", "tanul": "tanul `model.predict`",
          "torch": "PyTorch (eager, inference_mode)"}


def build_model(name: str):
    import tanul
    if name == "lenet5":
        return tanul.models.lenet5(seed=0)
    return tanul.Sequential([tanul.Dense(256, activation="relu"), tanul.Dense(128, activation="relu"),
                             tanul.Dense(10)], seed=0, input_shape=(784,), name="mlp")


def batch(model_name: str, n: int):
    import numpy as np
    rng = np.random.default_rng(123)
    shape = (1, 28, 28) if model_name == "lenet5" else (784,)
    return rng.random((n, *shape), dtype=np.float32)


# ====================================================================================== workers
def torch_model(tanul_model, threads: int):
    import torch
    from torch import nn

    torch.set_num_threads(threads)
    mods = []
    for layer in tanul_model.layers:
        kind = type(layer).__name__
        if kind == "Conv2D":
            conv = nn.Conv2d(layer.params["W"].shape[1], layer.filters, layer.kernel_size,
                             stride=layer.strides, padding=layer.pad)
            conv.weight.data = torch.from_numpy(layer.params["W"].copy())
            conv.bias.data = torch.from_numpy(layer.params["b"].copy())
            mods.append(conv)
        elif kind == "Dense":
            lin = nn.Linear(*layer.params["W"].shape)
            lin.weight.data = torch.from_numpy(layer.params["W"].T.copy())
            lin.bias.data = torch.from_numpy(layer.params["b"].copy())
            mods.append(lin)
        elif kind == "MaxPool2D":
            mods.append(nn.MaxPool2d(layer.pool_size, layer.strides))
        elif kind == "Flatten":
            mods.append(nn.Flatten())
        else:
            raise ValueError(f"no PyTorch twin for {kind}")
        act = getattr(layer, "activation", None)
        if act is not None:
            mods.append({"Tanh": nn.Tanh, "ReLU": nn.ReLU}[type(act).__name__]())
    net = nn.Sequential(*mods).eval()

    def run(x):
        with torch.inference_mode():
            return net(torch.from_numpy(x)).numpy()

    return run


def worker(fw: str, model_name: str, n: int, folder: str, threads: int) -> dict:
    import statistics

    import numpy as np

    folder_p = Path(folder)
    if fw == "onnxruntime":
        import onnxruntime as ort
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        sess = ort.InferenceSession(str(folder_p / f"{model_name}.onnx"), opts,
                                    providers=["CPUExecutionProvider"])

        def run(x):
            return sess.run(None, {"input": x})[0]
    else:
        import tanul
        model = tanul.load_model(folder_p / f"{model_name}.tanul", compile=False)
        run = model.predict if fw == "tanul" else torch_model(model, threads)
    x = batch(model_name, n)
    for _ in range(3):
        run(x)
    times = []
    for _ in range(CALLS[n]):
        t = time.perf_counter()
        run(x)
        times.append(time.perf_counter() - t)
    check = np.asarray(run(batch(model_name, 2)))[0]
    return {"seconds": statistics.median(times), "row": [float(v) for v in check]}


# ====================================================================================== parent
def report(results: dict, info: dict, args, command: str) -> str:
    rows = []
    for model_name in MODELS:
        for n in BATCHES:
            ref = common.median_range(results[(model_name, n, "tanul")])[0]
            for fw in FRAMEWORKS:
                med, lo, hi = common.median_range(results[(model_name, n, fw)])
                unit, scale = ("µs", 1e6) if med < 1e-3 else ("ms", 1e3)
                rows.append([model_name, f"{n:,}", LABELS[fw], f"{med * scale:.1f} {unit}",
                             f"{lo * scale:.1f}-{hi * scale:.1f}", f"{med / ref:.2f}x",
                             f"{n / med:,.0f}"])
    table = common.markdown_table(["model", "batch", "framework", "median per call", "range",
                                   "time vs tanul", "samples/s"], rows, align="lllrrrr")
    versions = f"- onnxruntime {info.get('onnxruntime')}, onnx {info.get('onnx')}"
    note = (f"({args.repeats} repeats per row, each a fresh process; {args.threads} threads; "
            f"batch 1: median of {CALLS[1]} calls, batch 1,024: of {CALLS[1024]})")
    return f"Command: `{command}`\n\n{common.machine_markdown(info)}\n{versions}\n\n{table}\n\n{note}\n"


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=common.available_cores())
    p.add_argument("--markdown")
    p.add_argument("--json")
    common.add_openblas_option(p)
    p.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)  # fw model batch folder
    args = p.parse_args(argv)
    common.apply_openblas_option(args)
    if args.worker:
        fw, model_name, n, folder = args.worker
        print(json.dumps(worker(fw, model_name, int(n), folder, args.threads)))
        return
    import numpy as np

    import tanul.onnx

    command = "python benchmarks/onnx_inference.py " + " ".join(argv if argv is not None else sys.argv[1:])
    results: dict = {}
    rows_seen: dict = {}
    with tempfile.TemporaryDirectory(prefix="tanul-onnx-bench-") as folder:
        for model_name in MODELS:
            model = build_model(model_name)
            model.save(Path(folder) / f"{model_name}.tanul")
            tanul.onnx.export(model, Path(folder) / f"{model_name}.onnx")
        for rep in range(args.repeats):
            for model_name in MODELS:
                for n in BATCHES:
                    order = FRAMEWORKS if rep % 2 == 0 else FRAMEWORKS[::-1]
                    for fw in order:
                        r = common.run_worker(Path(__file__).resolve(),
                                              ["--worker", fw, model_name, str(n), folder,
                                               "--threads", str(args.threads)], args.threads)
                        results.setdefault((model_name, n, fw), []).append(r["seconds"])
                        rows_seen.setdefault(model_name, {})[fw] = r["row"]
                        print(f"repeat {rep + 1}/{args.repeats} {model_name:6s} batch {n:5d} {fw:12s} "
                              f"{r['seconds'] * 1e3:9.3f} ms", flush=True)
    for model_name, rows in rows_seen.items():
        ref = np.array(rows["tanul"])
        diffs = {fw: float(np.abs(np.array(v) - ref).max()) for fw, v in rows.items()}
        print(f"{model_name}: max |output - tanul's| on a fixed input: {diffs}")
        assert max(diffs.values()) < 1e-4, "the frameworks do not compute the same function"
    info = common.machine_info(args.threads)
    for mod in ("onnxruntime", "onnx"):
        try:
            info[mod] = __import__(mod).__version__
        except ImportError:
            info[mod] = "not installed"
    text = report(results, info, args, command.strip())
    print("\n" + text)
    if args.markdown:
        common.write_atomic(args.markdown, text)
    if args.json:
        common.write_atomic(args.json, json.dumps({f"{m}|{n}|{fw}": v for (m, n, fw), v in results.items()},
                                                  indent=1))


if __name__ == "__main__":
    main()
