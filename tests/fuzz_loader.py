"""Fuzz target for tanul's model loader: every input must load or raise ModelFileError.

Coverage-guided with atheris (libFuzzer)::

    python tests/fuzz_loader.py -runs=100000 -seed=1 [-max_total_time=600] [corpus_dir]

``tests/test_hostile_fuzz.py`` runs it for a fixed number of inputs (and falls back to
hypothesis, derandomised, where atheris is not installed). The first byte of an input picks
what the rest replaces, so that mutations reach past the zip CRCs:

* 0: the whole file;
* 1: ``config.json`` of a valid checkpoint (the other members intact, CRCs recomputed);
* 2: one ``.npy`` member (a parameter or an optimiser slot) of a valid checkpoint.

Each input is given to ``load_model``, ``load_checkpoint`` and ``load_weights`` (into an unbuilt
model of the same layers); any exception other than
``ModelFileError`` is an escape (libFuzzer stops and prints it).
"""

from __future__ import annotations

import io
import sys
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

_STATE: dict = {}


def _setup() -> dict:
    """A valid checkpoint's bytes and members, and a scratch folder (made once per process)."""
    if not _STATE:
        from hostile_files import good_files, read_members

        work = Path(tempfile.mkdtemp(prefix="tanul-fuzz-"))
        _, ckpt = good_files(work)
        config, members = read_members(ckpt)
        with zipfile.ZipFile(ckpt) as zf:
            raw_config = zf.read("config.json")
        _STATE.update(work=work, data=ckpt.read_bytes(), raw_config=raw_config, members=members,
                      npy_names=sorted(members))
    return _STATE


def seeds() -> list[bytes]:
    """Starting inputs: the valid checkpoint in each of the three modes."""
    s = _setup()
    return [b"\x00" + s["data"], b"\x01" + s["raw_config"],
            b"\x02" + bytes([0]) + s["members"][s["npy_names"][0]]]


def _materialise(data: bytes) -> bytes:
    s = _setup()
    mode, body = (data[0] % 3, data[1:]) if data else (0, b"")
    if mode == 0:
        return body
    config, members = s["raw_config"], dict(s["members"])
    if mode == 1:
        config = body
    else:
        name = s["npy_names"][body[0] % len(s["npy_names"])] if body else s["npy_names"][0]
        members[name] = body[1:]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("config.json", config)
        for name, member in members.items():
            zf.writestr(name, member)
    return buf.getvalue()


def one_input(data: bytes) -> None:
    """Load ``data`` as a file with both loaders; only ModelFileError may come out."""
    import tanul
    from tanul.io import ModelFileError, load_checkpoint, load_model

    def load_weights_unbuilt(p):
        tanul.Sequential([tanul.Dense(4, activation="relu"), tanul.Dense(3)]).load_weights(p)

    s = _setup()
    path = s["work"] / "input.tanul"
    path.write_bytes(_materialise(data))
    for load in (load_model, load_checkpoint, load_weights_unbuilt):
        try:
            load(path)
        except ModelFileError as exc:
            msg = str(exc)
            if not msg.startswith(f"{path}: ") or len(msg) <= len(str(path)) + 4:
                raise AssertionError(f"a ModelFileError without the file or a reason: {msg!r}") from None


def main(argv: list[str]) -> None:
    import atheris
    import numpy  # noqa: F401  (not instrumented)

    with atheris.instrument_imports(include=["tanul"]):
        import tanul  # noqa: F401
        import tanul.io  # noqa: F401
    global _materialise
    _materialise = atheris.instrument_func(_materialise)  # each mode is its own coverage
    args = [a for a in argv if a.startswith("-")]
    corpus = [a for a in argv[1:] if not a.startswith("-")]
    if not corpus:
        corpus = [tempfile.mkdtemp(prefix="tanul-corpus-")]
    for k, seed in enumerate(seeds()):
        (Path(corpus[0]) / f"seed{k}").write_bytes(seed)
    atheris.Setup([argv[0], *args, *corpus], one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
