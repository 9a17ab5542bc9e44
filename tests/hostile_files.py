"""Helpers that make hostile .tanul files for tests/test_hostile*.py (and the fuzz target)."""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import textwrap
import zipfile
import zlib
from pathlib import Path

import numpy as np

import tanul

X = np.random.default_rng(0).normal(size=(8, 5)).astype(np.float32)
Y = np.arange(8) % 3


def trained_model(optimizer="adam"):
    model = tanul.Sequential([tanul.Dense(4, activation="relu"), tanul.Dense(3)], seed=0, input_shape=(5,))
    model.compile(optimizer=optimizer, loss="cross_entropy", metrics=["accuracy"])
    model.fit(X, Y, epochs=1, batch_size=4, verbose=0)
    return model


def good_files(folder: Path) -> tuple[Path, Path]:
    """A model file and a checkpoint (Adam state, rng state, history, extra settings)."""
    model = trained_model()
    m, c = folder / "good.tanul", folder / "good-ckpt.tanul"
    model.save(m)
    model.save_checkpoint(c, epoch=0, extra={"settings": {"model": "mlp", "dataset": "digits",
                                                          "batch_size": 4, "seed": 0, "val_fraction": 0.1}})
    return m, c


def read_members(path: Path) -> tuple[dict, dict[str, bytes]]:
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    return json.loads(members.pop("config.json")), members


def write_members(path: Path, config: dict | bytes, members: dict[str, bytes],
                  methods: dict[str, int] | None = None) -> Path:
    """A zip with ``config.json`` first (stored unless ``methods`` says otherwise)."""
    methods = methods or {}
    raw = config if isinstance(config, bytes) else json.dumps(config).encode()
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("config.json", raw, compress_type=methods.get("config.json", zipfile.ZIP_STORED))
        for name, data in members.items():
            zf.writestr(name, data, compress_type=methods.get(name, zipfile.ZIP_STORED))
    return path


def npy(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a, allow_pickle=False)
    return buf.getvalue()


def edit(src: Path, dst: Path, fn=None, members: dict[str, bytes] | None = None,
         methods: dict[str, int] | None = None) -> Path:
    """Copy ``src`` to ``dst`` with ``fn(config)`` applied and some members replaced."""
    config, old = read_members(src)
    if fn is not None:
        fn(config)
    old.update(members or {})
    return write_members(dst, config, old, methods)


def deflate_bomb(inflated_bytes: int, fill: bytes = b"\0") -> bytes:
    """A raw deflate stream of ``inflated_bytes`` copies of ``fill`` (a multiple of 4 MiB), about
    1/1000 the size.

    Once the window is all zeros, compressing another 4 MiB of zeros with a sync flush gives the
    same bytes every time, so the middle of the stream is one block repeated.
    """
    chunk = fill * (1 << 22)
    n = inflated_bytes // len(chunk)
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = c.compress(chunk) + c.flush(zlib.Z_SYNC_FLUSH)
    middle = c.compress(chunk) + c.flush(zlib.Z_SYNC_FLUSH)
    return first + middle * (n - 1) + c.flush()


def raw_zip(path: Path, entries: list[tuple[str, bytes, int, int, int]]) -> Path:
    """A zip written by hand: ``(name, stored bytes, method, uncompressed size, crc)`` per entry,
    so that the directory can say anything."""
    out = bytearray()
    central = bytearray()
    for name, data, method, size, crc in entries:
        fn = name.encode()
        offset = len(out)
        out += struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, method, 0, 0x21, crc, len(data), size,
                           len(fn), 0) + fn + data
        central += struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, method, 0, 0x21, crc,
                               len(data), size, len(fn), 0, 0, 0, 0, 0, offset) + fn
    cd_offset = len(out)
    out += central + struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(entries), len(entries),
                                 len(central), cd_offset, 0)
    path.write_bytes(bytes(out))
    return path


CHILD = textwrap.dedent("""
    import resource, sys, time
    limit = int(sys.argv[1])
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    import tanul
    from tanul.io import ModelFileError
    t = time.perf_counter()
    try:
        if sys.argv[2] == "load_weights_unbuilt":
            model = tanul.Sequential([tanul.Dense(4, activation="relu"), tanul.Dense(3)])
            model.load_weights(sys.argv[3])
        else:
            getattr(tanul.io, sys.argv[2])(sys.argv[3])
        print("LOADED")
    except ModelFileError as exc:
        print("REFUSED", exc)
    except BaseException as exc:
        print("ESCAPED", type(exc).__name__, exc)
    print("SECONDS", time.perf_counter() - t)
    try:  # VmHWM: the peak of this process image (ru_maxrss can include the parent's pages
        # from before exec)
        status = open("/proc/self/status").read()
        print("PEAK_KB", int(status.split("VmHWM:")[1].split()[0]))
    except (OSError, IndexError):
        print("PEAK_KB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
""")


def load_in_child(path: Path, limit_bytes: int = 2**30, fn: str = "load_model",
                  timeout: float = 120) -> dict:
    """Load ``path`` in a fresh process under an address-space limit (``RLIMIT_AS``).

    Returns ``{"outcome": LOADED|REFUSED|ESCAPED, "message", "seconds", "peak_mb"}`` (peak
    resident memory of the child, interpreter and imports included).
    """
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-c", CHILD, str(limit_bytes), fn, str(path)],
                          capture_output=True, text=True, timeout=timeout, env=env)
    lines = proc.stdout.splitlines()
    assert lines, f"the child printed nothing (rc {proc.returncode}): {proc.stderr[-2000:]}"
    outcome, _, message = lines[0].partition(" ")
    seconds = float(next(x for x in lines if x.startswith("SECONDS")).split()[1])
    peak = int(next(x for x in lines if x.startswith("PEAK_KB")).split()[1]) / 1024
    return {"outcome": outcome, "message": message, "seconds": seconds, "peak_mb": peak}


CLI_CHILD = textwrap.dedent("""
    import resource, sys
    limit = int(sys.argv[1])
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    from tanul.cli import main
    sys.exit(main(sys.argv[2:]))
""")


def cli_in_child(argv: list[str], limit_bytes: int = 2**30, timeout: float = 120):
    """``tanul ARGV`` in a fresh process under an address-space limit: ``(exit code, stderr)``."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-c", CLI_CHILD, str(limit_bytes), *map(str, argv)],
                          capture_output=True, text=True, timeout=timeout, env=env)
    return proc.returncode, proc.stderr
