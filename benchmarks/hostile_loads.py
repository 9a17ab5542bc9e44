"""Peak memory and time of loading the hostile files of issue 17, each in a fresh process under
a 4 GiB address-space limit (as the issue measured them).

    python benchmarks/hostile_loads.py            # a table: outcome, seconds, peak RSS, message
    python benchmarks/hostile_loads.py --large    # plus a valid 172 MB model (15 M parameters, Adam)

Peak memory is the child's ``ru_maxrss`` (the interpreter with NumPy and tanul imported is about
40 MB of it); seconds are the load call alone.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import zipfile
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from hostile_files import (  # noqa: E402
    deflate_bomb,
    edit,
    good_files,
    load_in_child,
    raw_zip,
    read_members,
    write_members,
)

GiB = 2**30


def _bomb_file(good: Path, path: Path, member: str, inflated: int, fill: bytes = b"\0") -> Path:
    config, members = read_members(good)
    raw = json.dumps(config).encode()
    entries = [("config.json", raw, 0, len(raw), zlib.crc32(raw))]
    if member == "config.json":
        entries = [("config.json", deflate_bomb(inflated, fill), zipfile.ZIP_DEFLATED, inflated, 0)]
    for name, data in members.items():
        if name == member:
            entries.append((name, deflate_bomb(inflated, fill), zipfile.ZIP_DEFLATED, inflated, 0))
        else:
            entries.append((name, data, 0, len(data), zlib.crc32(data)))
    return raw_zip(path, entries)


def _relu_stack(path: Path, n: int) -> Path:
    layers = [{"class_name": "ReLU", "config": {"name": None}} for _ in range(n)]
    config = {"format": "tanul", "format_version": 1, "kind": "model", "tanul_version": "0",
              "model": {"name": "deep", "seed": 0, "dtype": "float32", "input_shape": [2],
                        "layers": layers}, "compile": None, "arrays": {}}
    return write_members(path, config, {})


def _large_model(path: Path) -> Path:
    import numpy as np

    import tanul

    m = tanul.Sequential([tanul.Dense(3162, activation="relu"), tanul.Dense(3162)], seed=0,
                         input_shape=(1581,))
    m.compile(optimizer="adam", loss="mse")
    m.train_on_batch(np.ones((2, 1581), np.float32), np.ones((2, 3162), np.float32))
    m.save(path)
    return path


def cases(folder: Path, large: bool = False) -> dict[str, tuple[Path, str]]:
    model, ckpt = good_files(folder)
    out: dict[str, tuple[Path, str]] = {"valid model (reference)": (model, "load_model"),
                                        "valid checkpoint (reference)": (ckpt, "load_checkpoint")}
    if large:
        out["valid model, 15 M parameters + Adam slots"] = (_large_model(folder / "large.tanul"), "load_model")
    out["deflate bomb, member inflating to 4 GiB"] = (
        _bomb_file(model, folder / "bomb.tanul", "params/dense_0.W.npy", 1023 * 2**22), "load_model")
    bz = {"params/dense_0.W.npy": zipfile.ZIP_BZIP2}
    out["bzip2 member"] = (edit(model, folder / "bz.tanul", methods=bz), "load_model")
    config, members = read_members(model)
    raw = json.dumps(config).encode()
    out["config.json: 1.5 GiB of spaces, deflated"] = (
        _bomb_file(model, folder / "pad.tanul", "config.json", 384 * 2**22, b" "), "load_model")
    out["config.json: 17 MiB, stored"] = (
        write_members(folder / "pad17.tanul", raw[:-1] + b" " * (17 * 2**20) + b"}", members), "load_model")
    out["Dense(units=4e7) in the config"] = (
        edit(model, folder / "units.tanul",
             lambda c: c["model"]["layers"][1]["config"].update(units=40_000_000)), "load_model")
    out["/dev/zero"] = (Path("/dev/zero"), "load_model")
    os.mkfifo(folder / "fifo.tanul")
    out["FIFO"] = (folder / "fifo.tanul", "load_model")
    with open(folder / "sparse.tanul", "wb") as f:
        f.truncate(5 * GiB)
    out["5 GiB sparse file"] = (folder / "sparse.tanul", "load_model")
    out["32,000 ReLU layers (loads)"] = (_relu_stack(folder / "deep32k.tanul", 32_000), "load_model")
    out["100,000 ReLU layers (over the cap)"] = (_relu_stack(folder / "deep100k.tanul", 100_000), "load_model")
    nested = raw[:-1] + b', "x": ' + b"[" * 1000 + b"]" * 1000 + b"}"
    out["JSON nested 1,000 deep"] = (write_members(folder / "nest.tanul", nested, members), "load_model")
    big = raw.replace(b'"seed": 0', b'"seed": ' + b"9" * 5000)
    out["5,000-digit integer"] = (write_members(folder / "int.tanul", big, members), "load_model")
    m2 = dict(members)
    m2["params/dense_0.W.npy"] = m2["params/dense_0.W.npy"].replace(b"'descr'", b"'descr\"", 1)
    out["one wrong byte in an .npy header"] = (write_members(folder / "hdr.tanul", config, m2), "load_model")
    out["optimizer iterations 10**4000"] = (
        edit(ckpt, folder / "it.tanul", lambda c: c["optimizer_state"].update(iterations=10**4000)),
        "load_checkpoint")
    return out


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print(f"{'file':44} {'outcome':8} {'size':>10} {'seconds':>8} {'peak MB':>8}  message")
        for name, (path, fn) in cases(folder, large="--large" in sys.argv).items():
            r = load_in_child(path, limit_bytes=4 * GiB, fn=fn, timeout=300)
            size = path.stat().st_size if path.is_file() else 0
            msg = r["message"].replace(str(folder), "<tmp>")
            print(f"{name:44} {r['outcome']:8} {size:>10,} {r['seconds']:8.3f} {r['peak_mb']:8.0f}  "
                  f"{msg[:150]}", flush=True)


if __name__ == "__main__":
    main()
