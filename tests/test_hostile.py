"""Hostile model files (issue 17): each finding as a regression test.

Every file is made by the test. Where memory matters the load runs in a child process under an
address-space limit (``resource.setrlimit(RLIMIT_AS)``), so an unbounded read would fail there
with ``MemoryError`` instead of quietly passing.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import stat
import sys
import zipfile

import numpy as np
import pytest

import tanul
from hostile_files import (
    deflate_bomb,
    edit,
    good_files,
    load_in_child,
    npy,
    raw_zip,
    read_members,
    write_members,
)
from tanul import io as tio
from tanul.io import ModelFileError, load_checkpoint, load_model, load_weights

GiB = 2**30


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    return good_files(tmp_path_factory.mktemp("good"))


def refused(path, fn=load_model, match=None):
    """Load ``path`` and return the ModelFileError's message, checking it names the file and
    says something after the name."""
    with pytest.raises(ModelFileError) as info:
        fn(path)
    msg = str(info.value)
    assert msg.startswith(f"{path}: "), msg
    assert len(msg) > len(str(path)) + 12, msg
    if match is not None:
        import re
        assert re.search(match, msg), msg
    return msg


def test_the_good_files_still_load(good):
    model, ckpt = good
    loaded = load_model(model)
    assert loaded.count_params() == 5 * 4 + 4 + 4 * 3 + 3
    net, info = load_checkpoint(ckpt)
    assert info["epoch"] == 0 and net.optimizer.iterations == 2


# ---------------------------------------------------------------------- zip bombs
@pytest.mark.parametrize("method,name", [(zipfile.ZIP_DEFLATED, "deflate"), (zipfile.ZIP_BZIP2, "bzip2"),
                                         (zipfile.ZIP_LZMA, "lzma")])
@pytest.mark.parametrize("member", ["config.json", "params/dense_0.W.npy"])
def test_compressed_members_are_refused_by_name(good, tmp_path, method, name, member):
    p = edit(good[0], tmp_path / "c.tanul", methods={member: method})
    refused(p, match=rf"{'config.json' if member == 'config.json' else repr(member)} is compressed "
                     rf"\({name}\); tanul writes stored")


def test_a_deflate_bomb_is_never_inflated(good, tmp_path):
    """2 GiB of zeros in a 2 MB member, loaded under a 1 GiB address-space limit: the old reader
    inflated it whole (MemoryError); the member is refused from the zip directory alone."""
    config, members = read_members(good[0])
    bomb = deflate_bomb(2 * GiB)
    entries = [("config.json", json.dumps(config).encode(), 0, 0, 0)]
    entries[0] = (*entries[0][:3], len(entries[0][1]), __import__("zlib").crc32(entries[0][1]))
    for name, data in members.items():
        if name == "params/dense_0.W.npy":
            entries.append((name, bomb, zipfile.ZIP_DEFLATED, 2 * GiB, 0))
        else:
            entries.append((name, data, 0, len(data), __import__("zlib").crc32(data)))
    p = raw_zip(tmp_path / "bomb.tanul", entries)
    r = load_in_child(p, limit_bytes=GiB)
    assert r["outcome"] == "REFUSED", r
    assert "compressed (deflate)" in r["message"]
    assert r["peak_mb"] < 300, r


def test_a_stored_member_that_lies_about_its_size_is_refused(good, tmp_path):
    config, members = read_members(good[0])
    data = members["params/dense_0.W.npy"]
    entries = [("config.json", json.dumps(config).encode(), 0, 0, 0)]
    entries[0] = (*entries[0][:3], len(entries[0][1]), __import__("zlib").crc32(entries[0][1]))
    for name, d in members.items():
        size = len(d) if name != "params/dense_0.W.npy" else 10 * len(data)
        entries.append((name, d, 0, size, __import__("zlib").crc32(d)))
    p = raw_zip(tmp_path / "lie.tanul", entries)
    refused(p, match="stored with .* bytes but claims")


def test_config_json_has_a_size_cap(good, tmp_path):
    """The issue's 1.5 GiB of spaces: stored it is refused by size before a byte is read."""
    config, members = read_members(good[0])
    raw = json.dumps(config).encode()
    padded = raw[:-1] + b" " * (tio.MAX_CONFIG_BYTES - len(raw) + 1) + b"}"
    p = write_members(tmp_path / "big.tanul", padded, members)
    refused(p, match=r"config.json is 16,777,217 bytes, more than the 16,777,216 bytes tanul reads")
    # deflated, it is refused as compressed (and a 1.5 MB file never becomes 1.5 GiB)
    p = write_members(tmp_path / "bigz.tanul", padded, members, {"config.json": zipfile.ZIP_DEFLATED})
    assert p.stat().st_size < 100_000
    refused(p, match=r"config.json is compressed \(deflate\)")


# ---------------------------------------------------------------------- configs that allocate
def _units(n):
    def fn(c):
        c["model"]["layers"][1]["config"]["units"] = n
    return fn


def test_a_huge_dense_layer_in_the_config_is_refused_before_allocating(good, tmp_path):
    """Dense(units=4e7) after 4 inputs: 640 MB of weights (and as much again for the gradients
    and the flat buffers). The old loader built and randomly filled them first."""
    p = edit(good[0], tmp_path / "units.tanul", _units(40_000_000))
    r = load_in_child(p, limit_bytes=GiB)
    assert r["outcome"] == "REFUSED", r
    assert "dense_1.W: the file has shape (4, 3), the model expects (4, 40000000)" in r["message"]
    assert r["peak_mb"] < 300, r


def test_a_manifest_that_agrees_with_the_huge_config_is_checked_against_the_members(good, tmp_path):
    def fn(c):
        _units(40_000_000)(c)
        c["arrays"]["params/dense_1.W.npy"]["shape"] = [4, 40_000_000]
        c["arrays"]["params/dense_1.b.npy"]["shape"] = [40_000_000]
    p = edit(good[0], tmp_path / "agree.tanul", fn)
    r = load_in_child(p, limit_bytes=GiB)
    assert r["outcome"] == "REFUSED", r
    assert "array 'params/dense_1.W.npy': config.json declares shape [4, 40000000] <f4 (640,000,000 " \
           "bytes), but the member holds only" in r["message"]


# Tests whose regression would allocate gigabytes load in a child under RLIMIT_AS, never here.
def test_the_model_budget(good, tmp_path):
    p = edit(good[0], tmp_path / "budget.tanul", _units(2**31 - 1))
    r = load_in_child(p, limit_bytes=GiB)
    assert r["outcome"] == "REFUSED", r
    assert "declares more than 2,147,483,648 bytes of parameters and state (the limit of " \
           "tanul.io.MAX_MODEL_BYTES); refused before allocating anything" in r["message"]


def test_load_weights_into_an_unbuilt_model_checks_the_file_input_shape_first(good, tmp_path):
    p = edit(good[0], tmp_path / "wide.tanul", lambda c: c["model"].update(input_shape=[2**31 - 1]))
    r = load_in_child(p, limit_bytes=GiB, fn="load_weights_unbuilt")
    assert r["outcome"] == "REFUSED" and "load_weights: the model in config.json declares more than" \
        in r["message"], r


# ---------------------------------------------------------------------- not a regular file
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.tanul"
    os.mkfifo(fifo)
    r = load_in_child(fifo, timeout=60)  # the old reader blocked here forever
    assert r["outcome"] == "REFUSED" and "is a FIFO (named pipe), not a regular file" in r["message"], r


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
def test_dev_zero_is_refused():
    r = load_in_child("/dev/zero", limit_bytes=GiB)  # the old reader read it until memory ran out
    assert r["outcome"] == "REFUSED" and "/dev/zero: is a character device, not a regular file" \
        in r["message"], r


def test_a_directory_is_refused(tmp_path):
    refused(tmp_path, match="is a directory, not a regular file")
    refused(tmp_path, fn=load_checkpoint, match="is a directory")


def test_a_file_over_the_size_cap_is_refused_unread(tmp_path):
    p = tmp_path / "sparse.tanul"
    with open(p, "wb") as f:
        f.truncate(5 * GiB)  # sparse: no disk used
    r = load_in_child(p, limit_bytes=GiB)
    assert r["outcome"] == "REFUSED", r
    assert "is 5,368,709,120 bytes, more than the 4,294,967,296 bytes tanul reads" in r["message"]
    assert r["peak_mb"] < 300


def test_the_file_is_never_read_whole(good, monkeypatch):
    def boom(*a, **k):
        raise AssertionError("read whole")
    monkeypatch.setattr(pathlib.Path, "read_bytes", boom)
    load_model(good[0])
    load_checkpoint(good[1])


# ---------------------------------------------------------------------- quadratic loading
def _relu_stack(path, n):
    layers = [{"class_name": "ReLU", "config": {"name": None}} for _ in range(n)]
    config = {"format": "tanul", "format_version": 1, "kind": "model", "tanul_version": "0",
              "model": {"name": "deep", "seed": 0, "dtype": "float32", "input_shape": [2],
                        "layers": layers}, "compile": None, "arrays": {}}
    return write_members(path, config, {})


def test_twenty_thousand_layers_load(tmp_path):
    model = load_model(_relu_stack(tmp_path / "deep.tanul", 20_000))
    assert len(model.layers) == 20_000 and model.layers[-1].name == "relu_19999"


def _calls_to_load(path):
    count = 0

    def prof(frame, event, arg):
        nonlocal count
        count += event in ("call", "c_call")

    sys.setprofile(prof)
    try:
        load_model(path)
    finally:
        sys.setprofile(None)
    return count


def test_loading_is_linear_in_the_number_of_layers(tmp_path):
    """Counted, not timed: Python and C calls made by the load grow like n, not n² (the old
    Sequential.add compared every new layer with all the earlier ones)."""
    small = _calls_to_load(_relu_stack(tmp_path / "a.tanul", 1_000))
    large = _calls_to_load(_relu_stack(tmp_path / "b.tanul", 5_000))
    assert large / small < 6, (small, large)


def test_the_layer_count_cap(tmp_path):
    refused(_relu_stack(tmp_path / "cap.tanul", tio.MAX_LAYERS + 1),
            match=r"model.layers has 65,537 layers, more than the 65,536 tanul loads")


def test_sequential_add_still_refuses_duplicates_and_names_layers_as_before():
    relu = tanul.ReLU()
    model = tanul.Sequential([relu, tanul.Dense(2), tanul.ReLU(name="relu_5"), tanul.ReLU()])
    assert [la.name for la in model.layers] == ["relu_0", "dense_0", "relu_5", "relu_2"]
    with pytest.raises(ValueError, match="already in the model"):
        model.add(relu)
    with pytest.raises(ValueError, match="duplicate layer name 'relu_5'"):
        model.add(tanul.ReLU(name="relu_5"))
    model.layers.append(tanul.Tanh(name="t"))  # changed behind add's back: the index is rebuilt
    with pytest.raises(ValueError, match="duplicate layer name 't'"):
        model.add(tanul.Tanh(name="t"))
    clone = model.clone()
    with pytest.raises(ValueError, match="already in the model"):
        clone.add(clone.layers[0])


# ---------------------------------------------------------------------- names resolve through registries
def _schedule(name):
    def fn(c):
        c["compile"]["optimizer"]["config"]["lr"] = {"class_name": name, "config": {}}
    return fn


@pytest.mark.parametrize("name", ["__init__", "__hash__", "_pos", "get", "Schedule", "math", "__class__"])
def test_schedule_names_resolve_only_through_the_registry(good, tmp_path, name):
    p = edit(good[0], tmp_path / "s.tanul", _schedule(name))
    refused(p, match=rf"unknown schedule '{name}'; known: StepDecay, ExponentialDecay, CosineDecay")
    assert tanul.optimizers.schedules.__name__ == "tanul.optimizers.schedules"


@pytest.mark.parametrize("name", ["_Elementwise", "_Pool2D", "Layer", "__init__", "__class__"])
def test_private_and_base_layer_classes_are_unreachable(good, tmp_path, name):
    p = edit(good[0], tmp_path / "l.tanul", lambda c: c["model"]["layers"][0].update(class_name=name))
    refused(p, match=rf"Unknown layer class '{name}'")
    assert not [k for k in tanul.layers.LAYERS if k.startswith("_")]


@pytest.mark.parametrize("where,name", [("optimizer", "Optimizer"), ("optimizer", "__init__"),
                                        ("loss", "Loss"), ("loss", "__hash__"),
                                        ("kernel_initializer", "Initializer"),
                                        ("kernel_regularizer", "Regularizer")])
def test_other_names_from_files_use_their_registries(good, tmp_path, where, name):
    def fn(c):
        if where == "optimizer":
            c["compile"]["optimizer"]["class_name"] = name
        elif where == "loss":
            c["compile"]["loss"] = {"class_name": name, "config": {}}
        else:
            c["model"]["layers"][0]["config"][where] = {"class_name": name, "config": {}}
    refused(edit(good[0], tmp_path / "n.tanul", fn))


# ---------------------------------------------------------------------- raw exceptions
def test_deep_json_nesting_is_refused_without_recursion(good, tmp_path):
    config, members = read_members(good[1])
    text = json.dumps(config)
    raw = text[:-1] + ', "deep": ' + "[" * 1000 + "]" * 1000 + "}"
    refused(write_members(tmp_path / "deep.tanul", raw.encode(), members), fn=load_checkpoint,
            match="config.json nests arrays/objects more than 64 deep")
    # brackets inside strings do not count
    ok = text[:-1] + ', "note": "' + "[" * 1000 + '"}'
    load_checkpoint(write_members(tmp_path / "str.tanul", ok.encode(), members))


def test_a_huge_integer_is_refused_with_the_file_named(good, tmp_path):
    config, members = read_members(good[0])
    raw = json.dumps(config).replace('"seed": 0', '"seed": ' + "9" * 5000).encode()
    refused(write_members(tmp_path / "int.tanul", raw, members),
            match="config.json holds an integer of 5,000 digits")


@pytest.mark.parametrize("old,new", [(b"'descr'", b"'descr\""), (b"(5, 4)", b"(5, 4("), (b"{", b"["),
                                     (b"'<f4'", b"'|O8'"), (b"False", b"True!"), (b"NUMPY", b"NUMPX")])
def test_a_bad_npy_header_byte(good, tmp_path, old, new):
    config, members = read_members(good[0])
    data = members["params/dense_0.W.npy"]
    assert old in data[:128]
    members["params/dense_0.W.npy"] = data.replace(old, new, 1)
    refused(write_members(tmp_path / "h.tanul", config, members), match="params/dense_0.W.npy")


def test_an_object_or_complex_array_is_refused_by_its_declared_dtype(good, tmp_path):
    def fn(c):
        c["arrays"]["params/dense_0.b.npy"]["dtype"] = "<c8"
    p = edit(good[0], tmp_path / "c.tanul", fn, {"params/dense_0.b.npy": npy(np.zeros(4, np.complex64))})
    refused(p, match=r"dtype '<c8' is not a boolean, integer or float type")
    p = edit(good[0], tmp_path / "o.tanul", lambda c: c["arrays"]["params/dense_0.b.npy"].update(dtype="|O"))
    refused(p, match="is not a boolean, integer or float type")


# ---------------------------------------------------------------------- optimiser, rng, checkpoint
def _slot(fn_array):
    def fn(c):
        ref = c["optimizer_state"]["slots"]["v/dense_0.W"]["__array__"]
        return ref
    return fn


def _with_slot(good, tmp_path, value):
    config, members = read_members(good[1])
    member = config["optimizer_state"]["slots"]["v/dense_0.W"]["__array__"]
    members[member] = npy(value)
    config["arrays"][member] = {"shape": list(value.shape), "dtype": value.dtype.str}
    return write_members(tmp_path / "slot.tanul", config, members)


@pytest.mark.parametrize("value,match", [
    (np.full((5, 4), np.nan, np.float32), "holds NaN or infinite values"),
    (np.full((5, 4), -1.0, np.float32), "holds negative values"),
    (np.zeros((5, 4), np.float64), "has dtype float64, the model uses float32"),
    (np.zeros((4, 5), np.float32), r"has shape \(4, 5\), expected \(5, 4\)"),
])
def test_optimizer_slots_are_validated(good, tmp_path, value, match):
    refused(_with_slot(good, tmp_path, value), fn=load_checkpoint,
            match=r"optimizer_state.*" + match)


@pytest.mark.parametrize("iterations", [-1, 10**4000, "3", True, 2.0, None])
def test_the_step_count_is_validated(good, tmp_path, iterations):
    p = edit(good[1], tmp_path / "it.tanul",
             lambda c: c["optimizer_state"].update(iterations=iterations))
    refused(p, fn=load_checkpoint, match=r"optimizer_state.iterations must be an int in \[0, 2\*\*53\]")
    refused(edit(good[0], tmp_path / "itm.tanul",
                 lambda c: c["optimizer_state"].update(iterations=iterations)),
            match="optimizer_state.iterations")


@pytest.mark.parametrize("schedule,match", [
    ({"class_name": "StepDecay", "config": {"initial_lr": 0.1, "factor": 1e300, "step_size": 1}}, "factor"),
    ({"class_name": "StepDecay", "config": {"initial_lr": 0.1, "step_size": 0.5}}, "step_size"),
    ({"class_name": "ExponentialDecay", "config": {"initial_lr": 0.1, "decay_steps": 1, "decay_rate": 10}},
     "decay_rate"),
    ({"class_name": "CosineDecay", "config": {"initial_lr": float("nan"), "decay_steps": 10}}, "initial_lr"),
    ({"class_name": "StepDecay", "config": {"initial_lr": 0.1, "oops": 1}}, "oops"),
    ({"class_name": "StepDecay", "config": [1]}, "config"),
])
def test_schedules_are_validated(good, tmp_path, schedule, match):
    p = edit(good[1], tmp_path / "sch.tanul",
             lambda c: c["compile"]["optimizer"]["config"].update(lr=schedule))
    refused(p, fn=load_checkpoint, match=match)


@pytest.mark.parametrize("lr", [float("nan"), -1.0, float("inf"), "0.1"])
def test_a_plain_learning_rate_is_validated(good, tmp_path, lr):
    p = edit(good[1], tmp_path / "lr.tanul", lambda c: c["compile"]["optimizer"]["config"].update(lr=lr))
    refused(p, fn=load_checkpoint, match="compile.optimizer")


@pytest.mark.parametrize("change,match", [
    (lambda s: s["state"].update(state=-1), r"rng_state.state.state must be an int in \[0, 2\*\*128\)"),
    (lambda s: s["state"].update(inc=2**200), "rng_state.state.inc"),
    (lambda s: s.update(bit_generator="MT19937"), "rng_state must be the state of a PCG64 generator"),
    (lambda s: s.update(has_uint32=7), "rng_state.has_uint32"),
    (lambda s: s.update(extra=1), "rng_state must be"),
    (lambda s: s.pop("state"), "rng_state must be"),
])
def test_rng_state_is_validated(good, tmp_path, change, match):
    refused(edit(good[1], tmp_path / "rng.tanul", lambda c: change(c["rng_state"])), fn=load_checkpoint,
            match=match)


@pytest.mark.parametrize("field,value,match", [
    ("epoch", -5, "epoch must be an int"), ("epoch", "x", "epoch must be an int"),
    ("epoch", 10**4000, "epoch must be an int"),
    ("history", {"history": {"loss": ["a"]}, "epoch": []}, r"history.history\['loss'\]"),
    ("history", [1], "history must be an object"),
    ("callbacks", [1], "callbacks must be a list"), ("extra", [1], "extra must be an object"),
])
def test_checkpoint_fields_are_validated(good, tmp_path, field, value, match):
    refused(edit(good[1], tmp_path / "f.tanul", lambda c: c.update({field: value})), fn=load_checkpoint,
            match=match)


@pytest.mark.parametrize("fn", [
    lambda c: c.update(arrays={"params/x.npy": {"shape": [-1], "dtype": "<f4"}}),
    lambda c: c.update(arrays={"params/x.npy": {"shape": [1] * 40, "dtype": "<f4"}}),
    lambda c: c.update(arrays={"params/x.npy": [1, 2]}),
    lambda c: c["model"].update(input_shape=[0]), lambda c: c["model"].update(input_shape=[True]),
    lambda c: c["model"].update(input_shape="5"), lambda c: c["model"].update(dtype="float16"),
    lambda c: c["model"].update(seed=-1), lambda c: c["model"].update(layers=[]),
    lambda c: c["model"]["layers"][0].update(config=[1]),
    lambda c: c["model"]["layers"][0].update(class_name=["Dense"]),
    lambda c: c["compile"].update(metrics="accuracy"), lambda c: c["compile"].update(loss=5),
    lambda c: c.update(compile=[1]), lambda c: c["compile"].update(optimizer="adam"),
    lambda c: c.update(optimizer_state=[1]), lambda c: c["optimizer_state"].update(slots=[1]),
    lambda c: c["optimizer_state"]["slots"].update({"m/dense_0.W": 5}),
    lambda c: c["optimizer_state"]["slots"].update({"m/dense_0.W": {"__array__": ["x"]}}),
])
def test_malformed_fields_give_a_model_file_error(good, tmp_path, fn):
    refused(edit(good[0], tmp_path / "m.tanul", fn))


def test_messages_never_have_an_empty_reason(good, tmp_path):
    """The old reader said 'is corrupted: ' with nothing after it (a bare BadZipFile)."""
    data = good[0].read_bytes()
    for k, cut in enumerate(range(0, len(data), max(1, len(data) // 40))):
        p = tmp_path / f"cut{k}.tanul"
        p.write_bytes(data[:cut])
        msg = refused(p)
        assert not msg.rstrip().endswith(":"), msg


def test_load_weights_uses_the_same_reader(good, tmp_path):
    model = tanul.Sequential([tanul.Dense(4, activation="relu"), tanul.Dense(3)], seed=1, input_shape=(5,))
    refused(tmp_path, fn=model.load_weights)
    p = edit(good[0], tmp_path / "z.tanul", methods={"params/dense_0.W.npy": zipfile.ZIP_DEFLATED})
    refused(p, fn=lambda q: load_weights(model, q), match="compressed")


def test_read_json_file_limits(tmp_path):
    p = tmp_path / "run.json"
    p.write_text("[" * 100 + "]" * 100)
    with pytest.raises(ModelFileError, match="nests"):
        tio.read_json_file(p)
    p.write_text(" " * (2**20 + 1))
    with pytest.raises(ModelFileError, match="more than"):
        tio.read_json_file(p)
    assert stat.S_ISREG(os.stat(p).st_mode)


def test_the_json_container_cap(good, tmp_path, monkeypatch):
    """Millions of tiny objects cost ~30x their text once parsed: counted by the scan first."""
    monkeypatch.setattr(tio.reader, "MAX_JSON_CONTAINERS", 1000)
    config, members = read_members(good[0])
    raw = json.dumps(config)[:-1] + ', "x": [' + "{}," * 1000 + "{}]}"
    refused(write_members(tmp_path / "many.tanul", raw.encode(), members),
            match="config.json holds more than 1,000 arrays/objects")


def test_the_zip_directory_size_is_checked_before_it_is_parsed(good, tmp_path, monkeypatch):
    """zipfile builds one ZipInfo (~350 bytes) per 46-byte directory entry: bounded first."""
    monkeypatch.setattr(tio.reader, "MAX_DIRECTORY_BYTES", 2000)
    config, members = read_members(good[0])
    for k in range(40):
        members[f"junk/{k}"] = b""
    refused(write_members(tmp_path / "dir.tanul", config, members),
            match=r"its zip directory is [\d,]+ bytes, more than the 2,000 bytes tanul reads")
    load_model(good[0])


class ScaledDense(tanul.Dense):
    """A user's subclass whose build adds a parameter that Dense.param_shapes does not know."""

    def build(self, input_shape, rng, dtype=np.float32):
        self.params["s"] = np.full((self.units,), 2.0, dtype=dtype)
        super().build(input_shape, rng, dtype)

    def forward(self, x, training=False):
        return super().forward(x, training) * self.params["s"]


def test_a_custom_subclass_with_its_own_build_still_loads(tmp_path):
    model = tanul.Sequential([ScaledDense(3), tanul.BatchNorm(), tanul.Dense(2)], seed=0, input_shape=(4,))
    model.params[:] = np.linspace(-1, 1, model.params.size, dtype=np.float32)
    model.save(tmp_path / "custom.tanul")
    loaded = load_model(tmp_path / "custom.tanul")
    x = np.ones((2, 4), np.float32)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


@pytest.mark.parametrize("make,shape", [
    (lambda: tanul.Dense(3, activation="tanh"), (5,)), (lambda: tanul.Dense(3, use_bias=False), (5,)),
    (lambda: tanul.Conv2D(4, 3, padding="same", activation="relu"), (2, 6, 6)),
    (lambda: tanul.Conv2D(4, (3, 1), use_bias=False), (2, 6, 6)), (tanul.BatchNorm2D, (3, 4, 4)),
    (tanul.BatchNorm, (7,)), (tanul.PReLU, (3, 4, 4)), (lambda: tanul.Dropout(0.5), (5,)),
    (tanul.MaxPool2D, (2, 4, 4)), (tanul.AvgPool2D, (2, 4, 4)), (tanul.GlobalAvgPool2D, (2, 4, 4)),
    (tanul.Flatten, (2, 3, 4)), (tanul.ReLU, (5,)), (tanul.Softmax, (5,)), (lambda: tanul.LeakyReLU(0.1), (5,)),
])
def test_every_built_in_layer_declares_the_shapes_its_build_makes(make, shape):
    from tanul.io.checks import _declares_shapes

    layer = make()
    assert _declares_shapes(layer)
    params, state = layer.param_shapes(shape), layer.state_shapes(shape)
    layer.build(shape, np.random.default_rng(0), np.float32)
    assert params == {k: v.shape for k, v in layer.params.items()}
    assert state == {k: v.shape for k, v in layer.state.items()}


def test_no_built_in_layer_leaves_its_shapes_unknown():
    """A built-in layer whose build allocates must say what (param_shapes/state_shapes), or a
    file could make the loader allocate before checking; see tanul.layers.base.Layer.param_shapes."""
    from tanul.io.checks import _declares_shapes

    unknown = [name for name, cls in tanul.layers.LAYERS.items()
               if cls.__module__.startswith("tanul.") and not _declares_shapes(cls.__new__(cls))]
    assert not unknown, f"built-in layers without param_shapes/state_shapes for their build: {unknown}"


def test_negative_running_variances_are_refused(tmp_path):
    model = tanul.Sequential([tanul.Dense(3), tanul.BatchNorm()], seed=0, input_shape=(2,))
    model.save(tmp_path / "bn.tanul")
    p = edit(tmp_path / "bn.tanul", tmp_path / "neg.tanul",
             members={"state/batch_norm_0.running_var.npy": npy(np.full(3, -1.0, np.float32))})
    refused(p, match="state/batch_norm_0.running_var.npy holds negative variances")


@pytest.mark.parametrize("where", ["layer", "loss", "optimizer", "array"])
def test_megabyte_names_give_short_messages(good, tmp_path, where):
    name = "A" * 1_000_000

    def fn(c):
        if where == "layer":
            c["model"]["layers"][0]["class_name"] = name
        elif where == "loss":
            c["compile"]["loss"] = {"class_name": name}
        elif where == "optimizer":
            c["compile"]["optimizer"]["class_name"] = name
        else:
            c["arrays"][name] = {"shape": [1], "dtype": "<f4"}
    msg = refused(edit(good[0], tmp_path / "long.tanul", fn))
    assert len(msg) < len(str(tmp_path)) + 1100, len(msg)


def test_read_json_file_at_exactly_its_limit_and_its_message(tmp_path):
    p = tmp_path / "run.json"
    p.write_text("[1,2,3,44]")  # 10 bytes: read whole at max_bytes=10
    assert tio.read_json_file(p, max_bytes=10) == [1, 2, 3, 44]
    p.write_text("{")
    with pytest.raises(ModelFileError, match=rf"^{re.escape(str(p))}: the file is not valid JSON: "):
        tio.read_json_file(p)


def test_a_weights_file_is_not_a_checkpoint(good, tmp_path):
    model = tanul.load_model(good[0])
    path = tmp_path / "w.tanul"
    tio.save_weights(model, path)
    with pytest.raises(ModelFileError, match=r"not a checkpoint \(kind 'weights'\); use load_model"):
        tio.load_checkpoint(path)


@pytest.mark.parametrize("field,value,match", [
    ("epoch", -2, r"epoch must be an int in \[-1, 2\*\*31\), found -2$"),
    ("epoch", 2**31, r"epoch must be an int in \[-1, 2\*\*31\), found 2147483648$"),
    ("epoch", True, r"epoch must be an int in \[-1, 2\*\*31\), found True$"),
    ("history", {"history": [1], "epoch": []}, r"history must be an object with 'history' and 'epoch', found "),
    ("history", {"history": {}, "epoch": 5}, r"history must be an object with 'history' and 'epoch', found "),
    ("history", {"history": {"loss": [True]}, "epoch": []}, r"history.history\['loss'\] must be a list of numbers$"),
    ("history", {"history": {"loss": 1.0}, "epoch": []}, r"history.history\['loss'\] must be a list of numbers$"),
    ("history", {"history": {}, "epoch": [1.5]}, r"history.epoch must be a list of ints$"),
    ("history", {"history": {}, "epoch": [], "best_epoch": "2"}, r"history.best_epoch must be null or an int, found '2'$"),
    ("callbacks", [{"class_name": 1, "state": {}}], r"callbacks must be a list of \{'class_name': str, 'state': \.\.\.\} objects$"),
    ("callbacks", [{"class_name": "EarlyStopping"}], r"callbacks must be a list of \{'class_name': str"),
    ("extra", [1], r"extra must be an object, found list$"),
])
def test_checkpoint_fields_are_checked_at_their_limits(good, tmp_path, field, value, match):
    refused(edit(good[1], tmp_path / "f.tanul", lambda c: c.update({field: value})), fn=load_checkpoint,
            match=match)


@pytest.mark.parametrize("field,value", [("epoch", -1), ("epoch", 2**31 - 1), ("history", {}),
                                         ("history", {"history": {"loss": [1, 0.5]}, "epoch": [0, 1],
                                                      "best_epoch": 1})])
def test_checkpoint_fields_at_their_limits_load(good, tmp_path, field, value):
    model, info = load_checkpoint(edit(good[1], tmp_path / "ok.tanul", lambda c: c.update({field: value})))
    if field == "epoch":
        assert info["epoch"] == value
    else:
        assert model.history.history == value.get("history", {})
        assert model.history.best_epoch == value.get("best_epoch")
