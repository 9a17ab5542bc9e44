"""Mangled model files: every one gives a tanul ModelFileError, or loads a model identical to the
original (a flipped byte that landed in padding), never another exception or a wrong model."""

import io
import json
import zipfile

import numpy as np
import pytest

import tanul
from tanul.io import ModelFileError, load_model

X = np.random.default_rng(0).normal(size=(4, 1, 6, 6)).astype(np.float32)


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    model = tanul.Sequential([tanul.Conv2D(2, 3), tanul.BatchNorm2D(), tanul.Flatten(), tanul.Dense(3)],
                             seed=0, input_shape=(1, 6, 6))
    model.compile(optimizer="adam", loss="cross_entropy")
    model.fit(X, np.array([0, 1, 2, 0]), epochs=1, verbose=0)
    path = tmp_path_factory.mktemp("good") / "m.tanul"
    model.save(path)
    return path, path.read_bytes(), model.predict(X)


def _check(path, expected):
    try:
        model = load_model(path)
    except ModelFileError as exc:
        assert str(path) in str(exc)
        return "error"
    np.testing.assert_array_equal(model.predict(X), expected)
    return "same"


def test_truncations(good, tmp_path):
    _, data, expected = good
    cuts = sorted(set(np.linspace(0, len(data) - 1, 60).astype(int).tolist()))
    for cut in cuts:
        p = tmp_path / f"t{cut}.tanul"
        p.write_bytes(data[:cut])
        assert _check(p, expected) == "error"


def test_random_byte_flips(good, tmp_path):
    _, data, expected = good
    rng = np.random.default_rng(1)
    outcomes = []
    for k in range(300):
        b = bytearray(data)
        for pos in rng.integers(0, len(b), size=rng.integers(1, 4)):
            b[pos] ^= int(rng.integers(1, 256))
        p = tmp_path / f"f{k}.tanul"
        p.write_bytes(bytes(b))
        outcomes.append(_check(p, expected))
    assert outcomes.count("error") > 200  # CRCs catch almost every flip


def _rewrite(src: bytes, dst, *, config=None, arrays=None, drop=()):
    with zipfile.ZipFile(io.BytesIO(src)) as zin, zipfile.ZipFile(dst, "w") as zout:
        for name in zin.namelist():
            if name in drop:
                continue
            data = zin.read(name)
            if name == "config.json" and config is not None:
                data = config(data)
            if arrays and name in arrays:
                buf = io.BytesIO()
                np.save(buf, arrays[name], allow_pickle=True)
                data = buf.getvalue()
            zout.writestr(name, data)


def _cfg(fn):
    def edit(raw):
        c = json.loads(raw)
        fn(c)
        return json.dumps(c).encode()
    return edit


CASES = {
    "not json": dict(config=lambda raw: raw[:-5]),
    "json list": dict(config=lambda raw: b"[1, 2]"),
    "wrong format": dict(config=_cfg(lambda c: c.update(format="keras"))),
    "version string": dict(config=_cfg(lambda c: c.update(format_version="1"))),
    "no layers": dict(config=_cfg(lambda c: c["model"].pop("layers"))),
    "layers not list": dict(config=_cfg(lambda c: c["model"].update(layers=5))),
    "bad layer config": dict(config=_cfg(lambda c: c["model"]["layers"][0]["config"].update(filters="x"))),
    "unknown activation": dict(config=_cfg(lambda c: c["model"]["layers"][3]["config"].update(activation="zap"))),
    "wrong input shape": dict(config=_cfg(lambda c: c["model"].update(input_shape=[1, 7, 7]))),
    "no arrays table": dict(config=_cfg(lambda c: c.pop("arrays"))),
    "bad loss": dict(config=_cfg(lambda c: c["compile"].update(loss={"class_name": "Nope"}))),
    "missing array": dict(drop=("params/dense_0.W.npy",)),
    "wrong shape": dict(arrays={"params/dense_0.W.npy": np.zeros((3, 3), np.float32)}),
    "wrong dtype": dict(arrays={"params/dense_0.W.npy": np.zeros((32, 3), np.float64)}),
    "pickled object array": dict(arrays={"params/dense_0.W.npy": np.array([{"a": 1}], dtype=object)}),
    "nan weights": dict(arrays={"params/dense_0.b.npy": np.full(3, np.nan, np.float32)}),
    "missing config": dict(drop=("config.json",)),
}


@pytest.mark.parametrize("case", CASES)
def test_mangled_contents(good, tmp_path, case):
    _, data, expected = good
    p = tmp_path / "bad.tanul"
    _rewrite(data, p, **CASES[case])
    assert _check(p, expected) == "error"
