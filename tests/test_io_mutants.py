"""tanul.io, field by field (issue 18, the survivors of a mutation run of ``tanul.io``).

Each test states what the documented file format and the loader's contract require: the whole
message of a refusal (``<path>: <what is wrong>``, written out here from the file the test made),
values at the edges of every limit (the limit itself loads, one past it is refused) and round trips
compared with the original objects. Limits are lowered with ``monkeypatch`` where the real ones
would need gigabytes, so that nothing here allocates more than a few kilobytes even when the
code under test is wrong.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import sys
import zipfile

import numpy as np
import pytest

import tanul
from hostile_files import edit, good_files, npy, read_members, write_members
from tanul import io as tio
from tanul.io import ModelFileError, load_checkpoint, load_model, load_weights, save_checkpoint, save_model
from tanul.io import checks as tchecks
from tanul.io import reader as treader
from tanul.optimizers import schedules


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    """A model file (Dense(4, relu) -> Dense(3) on 5 inputs, Adam after 2 steps) and a checkpoint."""
    return good_files(tmp_path_factory.mktemp("good"))


def refusal(fn, path, *args, **kwargs):
    """The ModelFileError message of ``fn(path)``, with the ``<path>: `` prefix checked and removed."""
    with pytest.raises(ModelFileError) as info:
        fn(path, *args, **kwargs)
    msg = str(info.value)
    assert msg.startswith(f"{path}: "), msg
    return msg[len(f"{path}: "):]


def _weights_model(units=(4, 3), seed=0, dtype="float32", built=True, names=None):
    layers = [tanul.Dense(u, name=None if names is None else names[k]) for k, u in enumerate(units)]
    kw = {"input_shape": (5,)} if built else {}
    return tanul.Sequential(layers, seed=seed, dtype=dtype, **kw)


# ---------------------------------------------------------------------- compile settings
@pytest.mark.parametrize("field,value,expected", [
    ("compile", [1], "compile must be an object, found [1]"),
    ("optimizer", "adam", "compile.optimizer must be {'class_name': str, 'config': {...}}, found 'adam'"),
    ("optimizer", {"class_name": "Adam", "config": [1]},
     "compile.optimizer must be {'class_name': str, 'config': {...}}, found {'class_name': 'Adam', 'config': [1]}"),
    ("metrics", "accuracy", "compile.metrics must be a list of metric names, found 'accuracy'"),
    ("metrics", ["accuracy", 3], "compile.metrics must be a list of metric names, found ['accuracy', 3]"),
    ("loss", 5, "compile.loss must be a loss name or config, found 5"),
])
def test_compile_fields_are_refused_with_what_was_found(good, tmp_path, field, value, expected):
    def fn(c):
        if field == "compile":
            c["compile"] = value
        else:
            c["compile"][field] = value
    assert refusal(load_model, edit(good[0], tmp_path / "c.tanul", fn)) == expected


def test_a_loss_that_does_not_compile_is_named(good, tmp_path):
    p = edit(good[0], tmp_path / "l.tanul", lambda c: c["compile"].update(loss="no_such_loss"))
    assert re.fullmatch(r"compile: .*'no_such_loss'.*", refusal(load_model, p))


def test_a_missing_optimizer_means_adam_with_its_defaults(good, tmp_path):
    """``compile.optimizer: null`` is what ``compile(optimizer=None)`` would not accept: the
    loader falls back to Adam's defaults (and still loads the stored Adam state into it)."""
    original = load_model(good[0])
    loaded = load_model(edit(good[0], tmp_path / "n.tanul", lambda c: c["compile"].update(optimizer=None)))
    assert type(loaded.optimizer) is tanul.Adam
    assert loaded.optimizer.get_config() == tanul.Adam().get_config()
    assert loaded.optimizer.iterations == original.optimizer.iterations == 2
    np.testing.assert_array_equal(loaded.optimizer.get_slot("v", "dense_0.W"),
                                  original.optimizer.get_slot("v", "dense_0.W"))


# ---------------------------------------------------------------------- learning rate after loading
def _sgd_file(path, lr, iterations=None):
    model = tanul.Sequential([tanul.Dense(2)], seed=0, input_shape=(3,))
    model.compile(optimizer=tanul.SGD(lr=lr), loss="mse")
    save_model(model, path)
    if iterations is not None:
        edit(path, path, lambda c: c["optimizer_state"].update(iterations=iterations))
    return path


def test_a_learning_rate_of_zero_loads(tmp_path):
    loaded = load_model(_sgd_file(tmp_path / "z.tanul", 0.0))
    assert loaded.optimizer.current_lr == 0.0


def test_a_schedule_that_is_infinite_at_the_loaded_step_is_refused(tmp_path):
    """CosineDecay's warm-up is η₀ (t + 1) / w: with η₀ = 1e308 and t + 1 = w = 2**53 the product
    η₀ (t + 1) overflows to inf before the division."""
    assert 1e308 * 2**53 == math.inf
    schedule = tanul.optimizers.CosineDecay(1e308, decay_steps=1, warmup_steps=2**53)
    p = _sgd_file(tmp_path / "inf.tanul", schedule, iterations=2**53 - 1)
    assert refusal(load_model, p) == ("the optimizer's learning rate at step 9007199254740991 is inf, "
                                      "not a finite number >= 0")


class Doubling(schedules.Schedule):
    """A user's schedule η₀ · 2^t: it overflows (OverflowError) past t = 1023."""

    def __init__(self, initial_lr=1.0):
        self.initial_lr = initial_lr
        self._config = {"initial_lr": initial_lr}

    def __call__(self, step):
        return self.initial_lr * 2.0 ** step


def test_a_schedule_that_cannot_be_evaluated_at_the_loaded_step_is_refused(tmp_path, monkeypatch):
    monkeypatch.setitem(schedules.SCHEDULES, "Doubling", Doubling)
    p = _sgd_file(tmp_path / "ovf.tanul", Doubling(), iterations=2000)
    with pytest.raises(OverflowError) as overflow:
        _ = 2.0 ** 2000
    assert refusal(load_model, p) == (f"the optimizer's learning rate cannot be evaluated at step 2000: "
                                      f"OverflowError: {overflow.value}")
    assert load_model(_sgd_file(tmp_path / "ok.tanul", Doubling(), iterations=3)).optimizer.current_lr == 8.0


# ---------------------------------------------------------------------- optimiser state
@pytest.mark.parametrize("state,expected", [
    ({"slots": {}}, 0),          # no step count: 0
    ({"iterations": 3}, 3),      # no slots: SGD without momentum has none
    ({"iterations": 2**53, "slots": {}}, 2**53),  # the largest step count accepted
])
def test_optimizer_state_defaults_and_limits(tmp_path, state, expected):
    p = _sgd_file(tmp_path / "s.tanul", 0.1)
    edit(p, p, lambda c: c.update(optimizer_state=state))
    assert load_model(p).optimizer.iterations == expected


@pytest.mark.parametrize("change,expected", [
    (lambda s: s.update(junk=1), None),
    (lambda s: s.clear() or s.update(junk=1), "optimizer_state must be an object with 'iterations' and "
                                              "'slots', found {'junk': 1}"),
    (lambda s: s.update(iterations=2**53 + 1),
     "optimizer_state.iterations must be an int in [0, 2**53], found 9007199254740993"),
    (lambda s: s.update(slots=[1]), "optimizer_state.slots must be an object, found list"),
    (lambda s: s["slots"].update({"m/dense_0.W": 5}),
     "optimizer_state.slots['m/dense_0.W'] must refer to an array, found 5"),
    (lambda s: s["slots"].update({"m/dense_0.W": {"__array__": ["x"]}}),
     "an array reference must be a member name, found ['x']"),
    (lambda s: s["slots"].update({"m/dense_0.W": {"__array__": "params/nowhere.npy"}}),
     "array 'params/nowhere.npy' is not listed in config.json"),
])
def test_optimizer_state_refusals_say_what_was_found(good, tmp_path, change, expected):
    config, _ = read_members(good[0])
    if expected is None:  # an unknown key next to the two known ones
        state = config["optimizer_state"]
        change(state)
        expected = (f"optimizer_state must be an object with 'iterations' and 'slots', found "
                    f"{state!r:.80}")
    p = edit(good[0], tmp_path / "o.tanul", lambda c: change(c["optimizer_state"]))
    assert refusal(load_model, p) == expected


def test_square_slots_of_a_layer_whose_name_has_a_slash_are_checked(tmp_path):
    """Slot keys are ``<slot>/<layer>.<param>``: the slot is what comes before the first '/',
    also when the layer's own name holds one."""
    model = tanul.Sequential([tanul.Dense(2, name="enc/d")], seed=0, input_shape=(3,))
    model.compile(optimizer="adam", loss="mse")
    x = np.ones((4, 3), np.float32)
    model.fit(x, x[:, :2], epochs=1, batch_size=4, verbose=0)
    path = tmp_path / "slash.tanul"
    model.save(path)
    config, _ = read_members(path)
    member = config["optimizer_state"]["slots"]["v/enc/d.W"]["__array__"]
    p = edit(path, tmp_path / "neg.tanul", members={member: npy(np.full((3, 2), -1.0, np.float32))})
    assert refusal(load_model, p) == ("optimizer_state.slots['v/enc/d.W'] holds negative values "
                                      "(it is a running average of squares)")


# ---------------------------------------------------------------------- random generator state
def _rng(change):
    return lambda c: change(c["rng_state"])


@pytest.mark.parametrize("change,expected", [
    (lambda s: s.update(state={"state": 1}), "rng_state.state must have keys ['inc', 'state'], found {'state': 1}"),
    (lambda s: s["state"].update(state=2**128),
     "rng_state.state.state must be an int in [0, 2**128), found 340282366920938463463374607431768211456"),
    (lambda s: s["state"].update(inc=-1), "rng_state.state.inc must be an int in [0, 2**128), found -1"),
    (lambda s: s.update(has_uint32=2), "rng_state.has_uint32 must be an int in [0, 2), found 2"),
    (lambda s: s.update(uinteger=2**32), "rng_state.uinteger must be an int in [0, 4294967296), found 4294967296"),
    (lambda s: s.update(uinteger=-1), "rng_state.uinteger must be an int in [0, 4294967296), found -1"),
])
def test_rng_state_refusals_say_what_was_found(good, tmp_path, change, expected):
    assert refusal(load_checkpoint, edit(good[1], tmp_path / "r.tanul", _rng(change))) == expected


@pytest.mark.parametrize("state", [
    {"bit_generator": "PCG64", "state": {"state": 0, "inc": 2**128 - 1}, "has_uint32": 1, "uinteger": 2**32 - 1},
    {"bit_generator": "PCG64", "state": {"state": 2**128 - 1, "inc": 0}, "has_uint32": 0, "uinteger": 0},
])
def test_rng_state_at_its_limits_loads(good, tmp_path, state):
    model, _ = load_checkpoint(edit(good[1], tmp_path / "r.tanul", lambda c: c.update(rng_state=state)))
    got = model.rng.bit_generator.state
    expected = np.random.PCG64()
    expected.state = state
    assert got == expected.state
    assert got["has_uint32"] == state["has_uint32"] and got["uinteger"] == state["uinteger"]


def test_an_array_in_place_of_an_rng_word_is_read_and_refused(good, tmp_path):
    config, members = read_members(good[1])
    b = np.load(io.BytesIO(members["params/dense_0.b.npy"]), allow_pickle=False)
    p = edit(good[1], tmp_path / "r.tanul",
             lambda c: c["rng_state"]["state"].update(state={"__array__": "params/dense_0.b.npy"}))
    assert refusal(load_checkpoint, p) == f"rng_state.state.state must be an int in [0, 2**128), found {b!r:.80}"


# ---------------------------------------------------------------------- checkpoints
class MioHalve(tanul.Layer):
    """A user layer without parameters: y = x / 2."""

    def forward(self, x, training=False):
        return x / 2

    def backward(self, dy):
        return dy / 2


def test_load_checkpoint_passes_custom_objects_on(tmp_path):
    model = tanul.Sequential([tanul.Dense(2), MioHalve()], seed=0, input_shape=(3,))
    model.compile(optimizer="sgd", loss="mse")
    path = tmp_path / "c.tanul"
    save_checkpoint(path, model, epoch=0)
    renamed = edit(path, tmp_path / "r.tanul",
                   lambda c: c["model"]["layers"][1].update(class_name="MioHalveUnregistered"))
    loaded, info = load_checkpoint(renamed, custom_objects={"MioHalveUnregistered": MioHalve})
    assert type(loaded.layers[1]) is MioHalve and info["epoch"] == 0
    x = np.ones((2, 3), np.float32)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


@pytest.mark.parametrize("array", [
    np.arange(2.0).reshape((2,) + (1,) * 31),   # 32 dimensions: the most a stored array may have
    np.zeros((0, 3), np.float32),               # a dimension of 0
    np.zeros((0,), np.int64),
])
def test_extra_arrays_at_the_shape_limits_round_trip(tmp_path, array):
    model = tanul.Sequential([tanul.Dense(2)], seed=0, input_shape=(3,))
    model.compile(optimizer="sgd", loss="mse")
    save_checkpoint(tmp_path / "c.tanul", model, epoch=0, extra={"a": array})
    _, info = load_checkpoint(tmp_path / "c.tanul")
    got = info["extra"]["a"]
    assert got.shape == array.shape and got.dtype == array.dtype
    np.testing.assert_array_equal(got, array)


# ---------------------------------------------------------------------- the arrays table
@pytest.mark.parametrize("meta,expected", [
    ({"shape": [2**63], "dtype": "<f4"},
     "arrays['params/dense_0.b.npy']: shape must be a list of at most 32 non-negative ints, found [9223372036854775808]"),
    ({"shape": [4], "dtype": "float640"},     # 8 characters: read, then refused by NumPy's parser
     "arrays['params/dense_0.b.npy']: dtype 'float640' is not a boolean, integer or float type (tanul stores only those)"),
    ({"shape": [4], "dtype": "float6400"},    # 9 characters: refused unread
     "arrays['params/dense_0.b.npy']: dtype must be a NumPy type string such as '<f4', found 'float6400'"),
    ({"shape": [4], "dtype": "float32"},      # a float type, but not spelt as NumPy's dtype.str
     "arrays['params/dense_0.b.npy']: dtype 'float32' is not a boolean, integer or float type (tanul stores only those)"),
])
def test_array_table_entries_are_refused_with_what_was_found(good, tmp_path, meta, expected):
    p = edit(good[0], tmp_path / "a.tanul", lambda c: c["arrays"].update({"params/dense_0.b.npy": meta}))
    assert refusal(load_model, p) == expected


# ---------------------------------------------------------------------- .npy members
def _npy_version(a, version):
    buf = io.BytesIO()
    np.lib.format.write_array(buf, a, version=version, allow_pickle=False)
    return buf.getvalue()


def _w(good):
    _, members = read_members(good[0])
    return np.load(io.BytesIO(members["params/dense_0.W.npy"]), allow_pickle=False)


def test_a_version_2_npy_member_loads(good, tmp_path):
    w = _w(good)
    data = _npy_version(w, (2, 0))
    assert data[6:8] == b"\x02\x00"
    loaded = load_model(edit(good[0], tmp_path / "v2.tanul", members={"params/dense_0.W.npy": data}))
    np.testing.assert_array_equal(loaded.layers[0].params["W"], w)


def test_a_version_3_npy_member_is_refused_by_name(good, tmp_path):
    data = _npy_version(_w(good), (3, 0))
    p = edit(good[0], tmp_path / "v3.tanul", members={"params/dense_0.W.npy": data})
    assert refusal(load_model, p) == (
        "array 'params/dense_0.W.npy' cannot be read: its .npy header is malformed (ValueError: .npy "
        "format version (3, 0) (tanul writes 1.0)); tanul never stores pickled objects")


def test_a_malformed_npy_header_is_refused_with_the_parser_message(good, tmp_path):
    _, members = read_members(good[0])
    data = members["params/dense_0.W.npy"].replace(b"NUMPY", b"NUMPX", 1)
    p = edit(good[0], tmp_path / "h.tanul", members={"params/dense_0.W.npy": data})
    assert refusal(load_model, p) == (
        "array 'params/dense_0.W.npy' cannot be read: its .npy header is malformed (ValueError: the "
        r"magic string is not correct; expected b'\x93NUMPY', got b'\x93NUMPX'); tanul never stores "
        "pickled objects")


@pytest.mark.parametrize("transform,expected", [
    (np.asfortranarray, "array 'params/dense_0.W.npy' has shape (5, 4) and dtype <f4 (Fortran order) in its "
                        ".npy header, but config.json says [5, 4] / <f4"),
    (lambda w: np.ascontiguousarray(w.T), "array 'params/dense_0.W.npy' has shape (4, 5) and dtype <f4 in its "
                                          ".npy header, but config.json says [5, 4] / <f4"),
    (lambda w: w.astype("<f8")[:, :2], "array 'params/dense_0.W.npy' has shape (5, 2) and dtype <f8 in its "
                                       ".npy header, but config.json says [5, 4] / <f4"),
])
def test_an_npy_header_that_disagrees_with_the_config_is_refused(good, tmp_path, transform, expected):
    p = edit(good[0], tmp_path / "f.tanul", members={"params/dense_0.W.npy": npy(transform(_w(good)))})
    assert refusal(load_model, p) == expected


def test_bytes_after_the_data_of_a_member_are_refused(good, tmp_path):
    w = _w(good)
    data = npy(w)
    header = len(data) - w.nbytes          # 128 for NumPy's 1.0 header
    p = edit(good[0], tmp_path / "j.tanul", members={"params/dense_0.W.npy": data + b"junk!"})
    assert refusal(load_model, p) == (
        f"array 'params/dense_0.W.npy': the member holds {len(data) + 5:,} bytes, but a {header}-byte header "
        f"and 80 bytes of data make {len(data):,}")


def test_a_flipped_data_byte_is_caught_by_the_zip_checksum(good, tmp_path):
    raw = bytearray(good[0].read_bytes())
    _, members = read_members(good[0])
    data = members["params/dense_0.W.npy"]
    at = raw.find(data) + len(data) - 3     # inside the float data, after the .npy header
    raw[at] ^= 0x40
    p = tmp_path / "crc.tanul"
    p.write_bytes(bytes(raw))
    assert refusal(load_model, p) == ("array 'params/dense_0.W.npy' is corrupted: Bad CRC-32 for file "
                                      "'params/dense_0.W.npy'")


# ---------------------------------------------------------------------- filling a model's arrays
def test_load_weights_into_a_built_model_lists_at_most_five_missing_or_unexpected(tmp_path):
    _weights_model(units=(3,)).save_weights(tmp_path / "small.tanul")
    _weights_model(units=(3, 2, 2, 2)).save_weights(tmp_path / "big.tanul")
    with pytest.raises(ModelFileError) as info:
        load_weights(_weights_model(units=(3, 2, 2, 2)), tmp_path / "small.tanul")
    assert str(info.value) == (
        f"{tmp_path / 'small.tanul'}: load_weights: the arrays do not match the model: missing "
        "['params/dense_1.W.npy', 'params/dense_1.b.npy', 'params/dense_2.W.npy', 'params/dense_2.b.npy', "
        "'params/dense_3.W.npy'], unexpected []")
    with pytest.raises(ModelFileError) as info:
        load_weights(_weights_model(units=(3,)), tmp_path / "big.tanul")
    assert str(info.value) == (
        f"{tmp_path / 'big.tanul'}: load_weights: the arrays do not match the model: missing [], "
        "unexpected ['params/dense_1.W.npy', 'params/dense_1.b.npy', 'params/dense_2.W.npy', "
        "'params/dense_2.b.npy', 'params/dense_3.W.npy']")


def test_load_weights_names_a_mismatch_by_layer_and_parameter(tmp_path):
    """The message names ``<layer>.<param>``: everything after ``params/``, also when the layer's
    name holds a '/'."""
    _weights_model(units=(4,), names=["enc/d"]).save_weights(tmp_path / "w.tanul")
    with pytest.raises(ModelFileError) as info:
        load_weights(_weights_model(units=(3,), names=["enc/d"]), tmp_path / "w.tanul")
    assert str(info.value) == (f"{tmp_path / 'w.tanul'}: load_weights: enc/d.W: the file has shape (5, 4), "
                               "the model expects (5, 3)")


def test_load_weights_refuses_another_dtype(tmp_path):
    _weights_model(units=(4,)).save_weights(tmp_path / "w.tanul")
    with pytest.raises(ModelFileError) as info:
        load_weights(_weights_model(units=(4,), dtype="float64"), tmp_path / "w.tanul")
    assert str(info.value) == (f"{tmp_path / 'w.tanul'}: load_weights: params/dense_0.W.npy: dtype float32 "
                               "in the file, the model uses float64")


def test_non_finite_parameters_are_refused(good, tmp_path):
    w = _w(good)
    w[2, 1] = np.inf
    p = edit(good[0], tmp_path / "nan.tanul", members={"params/dense_0.W.npy": npy(w)})
    assert refusal(load_model, p) == "params/dense_0.W.npy holds NaN or infinite values"


def test_running_variances_of_zero_load(tmp_path):
    model = tanul.Sequential([tanul.Dense(3), tanul.BatchNorm()], seed=0, input_shape=(2,))
    model.layers[1].state["running_var"][...] = 0.0
    model.save(tmp_path / "bn.tanul")
    loaded = load_model(tmp_path / "bn.tanul")
    np.testing.assert_array_equal(loaded.layers[1].state["running_var"], np.zeros(3, np.float32))


class MioScale(tanul.Layer):
    """A user layer y = s·x that does not declare its parameters' shapes (checked after build)."""

    def build(self, input_shape, rng, dtype=np.float32):
        self.params["s"] = np.array([2.0], dtype=dtype)
        super().build(input_shape, rng, dtype)

    def forward(self, x, training=False):
        self._x = x
        return x * self.params["s"]

    def backward(self, dy):
        self.grads["s"][...] = (dy * self._x).sum()
        return dy * self.params["s"]


def test_a_custom_layer_whose_array_is_missing_is_refused_after_build(tmp_path):
    model = tanul.Sequential([tanul.Dense(2), MioScale()], seed=0, input_shape=(3,))
    model.save(tmp_path / "s.tanul")
    config, members = read_members(tmp_path / "s.tanul")
    del config["arrays"]["params/mio_scale_0.s.npy"], members["params/mio_scale_0.s.npy"]
    p = write_members(tmp_path / "missing.tanul", config, members)
    assert refusal(load_model, p) == ("the arrays do not match the model: missing ['params/mio_scale_0.s.npy'], "
                                      "unexpected []")


# ---------------------------------------------------------------------- load_weights into an unbuilt model
def test_load_weights_into_an_unbuilt_model(good, tmp_path):
    def unbuilt():
        return _weights_model(units=(4, 3), built=False)

    p = edit(good[0], tmp_path / "n.tanul", lambda c: c["model"].pop("input_shape"))
    assert refusal(lambda q: load_weights(unbuilt(), q), p) == "the model is not built and the file has no input_shape"
    p = edit(good[0], tmp_path / "z.tanul", lambda c: c["model"].update(input_shape=[0]))
    assert refusal(lambda q: load_weights(unbuilt(), q), p) == (
        "model.input_shape must be a list of 1 to 32 positive ints (each at most 2147483647), found [0]")
    assert refusal(lambda q: load_weights(_weights_model(units=(5, 3), built=False), q), good[0]) == (
        "load_weights: dense_0.W: the file has shape (5, 4), the model expects (5, 5)")
    model = unbuilt()
    load_weights(model, good[0])
    np.testing.assert_array_equal(model.layers[0].params["W"], _w(good))


# ---------------------------------------------------------------------- what the config declares
def _dense_file(path, units, inputs=4):
    model = tanul.Sequential([tanul.Dense(units)], seed=0, input_shape=(inputs,))
    model.save(path)
    return path, model


def test_shapes_at_every_limit_load(tmp_path, monkeypatch):
    """Dense(100) on 100 inputs: input and output (100,), 100·100 + 100 = 10,100 float32 = 40,400
    bytes, each limit lowered to exactly that; two layers, the most allowed."""
    model = tanul.Sequential([tanul.Dense(100), tanul.ReLU()], seed=0, input_shape=(100,))
    path = tmp_path / "d.tanul"
    model.save(path)
    monkeypatch.setattr(tchecks, "MAX_DIM", 100)
    monkeypatch.setattr(tchecks, "MAX_SAMPLE_VALUES", 100)
    monkeypatch.setattr(tchecks, "MAX_NDIM", 1)
    monkeypatch.setattr(tchecks, "MAX_MODEL_BYTES", 40_400)
    monkeypatch.setattr(tchecks, "MAX_LAYERS", 2)
    loaded = load_model(path)
    np.testing.assert_array_equal(loaded.layers[0].params["W"], model.layers[0].params["W"])


@pytest.mark.parametrize("limit,value", [("MAX_DIM", 99), ("MAX_SAMPLE_VALUES", 99)])
def test_a_layer_output_past_a_limit_is_refused(tmp_path, monkeypatch, limit, value):
    path, _ = _dense_file(tmp_path / "d.tanul", 100)
    monkeypatch.setattr(tchecks, limit, value)
    assert refusal(load_model, path) == "layer 'dense_0' would output samples of shape (100,), outside tanul's limits"


def test_the_model_byte_budget_counts_every_array_in_the_model_dtype(tmp_path, monkeypatch):
    """Two layers of 2,000 bytes each (float32): the total, 4,000, is what is compared."""
    model = tanul.Sequential([tanul.Dense(100), tanul.Dense(4)], seed=0, input_shape=(4,))
    assert model.count_params() * 4 == 2000 + 1616
    model.save(tmp_path / "m.tanul")
    monkeypatch.setattr(tchecks, "MAX_MODEL_BYTES", 3616)
    load_model(tmp_path / "m.tanul")
    monkeypatch.setattr(tchecks, "MAX_MODEL_BYTES", 3615)
    assert refusal(load_model, tmp_path / "m.tanul") == (
        "the model in config.json declares more than 3,615 bytes of parameters and state (the limit of "
        "tanul.io.MAX_MODEL_BYTES); refused before allocating anything")
    monkeypatch.setattr(tchecks, "MAX_MODEL_BYTES", 2500)   # more than either layer alone
    assert "declares more than 2,500 bytes" in refusal(load_model, tmp_path / "m.tanul")


def test_a_shape_the_layer_refuses_is_reported(good, tmp_path):
    model = tanul.Sequential([tanul.Conv2D(2, 3, name="c")], seed=0, input_shape=(1, 4, 4))
    model.save(tmp_path / "c.tanul")
    p = edit(tmp_path / "c.tanul", tmp_path / "small.tanul", lambda c: c["model"].update(input_shape=[1, 2, 2]))
    with pytest.raises(ValueError) as direct:
        tanul.Conv2D(2, 3, name="c").output_shape((1, 2, 2))
    assert refusal(load_model, p) == f"cannot rebuild the model: {direct.value}"


@pytest.mark.parametrize("change", ["extra arrays", "other shape", "more layers"])
def test_a_file_that_disagrees_with_its_architecture_is_refused_before_building(good, tmp_path, monkeypatch, change):
    if change == "extra arrays":  # six: the message lists the first five, sorted
        config, members = read_members(good[0])
        for k in range(6):
            config["arrays"][f"params/junk_{k}.W.npy"] = {"shape": [2], "dtype": "<f4"}
            members[f"params/junk_{k}.W.npy"] = npy(np.zeros(2, np.float32))
        p = write_members(tmp_path / "x.tanul", config, members)
        expected = ("the arrays do not match the model: missing [], unexpected ['params/junk_0.W.npy', "
                    "'params/junk_1.W.npy', 'params/junk_2.W.npy', 'params/junk_3.W.npy', 'params/junk_4.W.npy']")
    elif change == "more layers":  # three more Dense(3) layers: six arrays missing
        def fn(c):
            for k in (2, 3, 4):
                c["model"]["layers"].append({"class_name": "Dense", "config": {"units": 3, "name": f"dense_{k}"}})
        p = edit(good[0], tmp_path / "x.tanul", fn)
        expected = ("the arrays do not match the model: missing ['params/dense_2.W.npy', 'params/dense_2.b.npy', "
                    "'params/dense_3.W.npy', 'params/dense_3.b.npy', 'params/dense_4.W.npy'], unexpected []")
    else:
        p = edit(good[0], tmp_path / "x.tanul", lambda c: c["model"]["layers"][1]["config"].update(units=5))
        expected = "dense_1.W: the file has shape (4, 3), the model expects (4, 5)"

    def no_build(self, *args, **kwargs):
        raise AssertionError("the model was built before its arrays were checked")
    monkeypatch.setattr(tanul.Sequential, "build", no_build)
    assert refusal(load_model, p) == expected


# ---------------------------------------------------------------------- messages and files
def test_long_messages_are_cut_after_1000_characters():
    assert treader.MAX_MESSAGE_CHARS == 1000
    assert treader.cut("a" * 1000) == "a" * 1000
    assert treader.cut("a" * 999 + "bc") == "a" * 999 + "b ... (message cut)"


class _GrowingOs:
    """``os`` whose ``stat`` reports the file 5 bytes smaller than it is (it grew after stat)."""

    def __getattr__(self, name):
        return getattr(os, name)

    def stat(self, path):
        st = os.stat(path)
        fields = list(st)
        fields[6] -= 5  # st_size
        return os.stat_result(fields)


def test_a_file_that_grows_past_the_limit_after_stat_is_refused(tmp_path, monkeypatch):
    p = tmp_path / "run.json"
    p.write_text(json.dumps({"a": 1234567}))  # 14 bytes
    assert tio.read_json_file(p, max_bytes=14) == {"a": 1234567}
    monkeypatch.setattr(treader, "os", _GrowingOs())
    with pytest.raises(ModelFileError) as info:
        tio.read_json_file(p, max_bytes=10)
    assert str(info.value) == f"{p}: is not a regular file or changed size while it was opened"


def test_a_config_dtype_other_than_the_arrays_is_refused(good, tmp_path):
    p = edit(good[0], tmp_path / "d.tanul", lambda c: c["model"].update(dtype="float64"))
    assert refusal(load_model, p) == "params/dense_0.W.npy: dtype float32 in the file, the model uses float64"


def test_a_mismatch_is_named_by_layer_and_parameter_when_the_layer_name_has_a_slash(tmp_path):
    tanul.Sequential([tanul.Dense(4, name="enc/d")], seed=0, input_shape=(3,)).save(tmp_path / "m.tanul")
    p = edit(tmp_path / "m.tanul", tmp_path / "x.tanul", lambda c: c["model"]["layers"][0]["config"].update(units=5))
    assert refusal(load_model, p) == "enc/d.W: the file has shape (3, 4), the model expects (3, 5)"


def test_with_a_custom_layer_the_known_layers_are_still_checked_one_by_one(tmp_path):
    """A layer that does not declare its shapes turns off the missing/unexpected test before
    building, not the shape test of the layers after a missing array."""
    model = tanul.Sequential([tanul.Dense(2), MioScale(), tanul.Dense(3)], seed=0, input_shape=(4,))
    model.save(tmp_path / "m.tanul")

    def fn(c):
        del c["arrays"]["params/dense_0.b.npy"]
        c["model"]["layers"][2]["config"]["units"] = 5
    p = edit(tmp_path / "m.tanul", tmp_path / "x.tanul", fn)
    assert refusal(load_model, p) == "dense_1.W: the file has shape (2, 3), the model expects (2, 5)"


@pytest.mark.parametrize("change,expected", [
    (lambda m: m.update(layers=5), "config.json has no model architecture ('model.layers')"),
    (lambda m: m.update(layers=[]), "model.layers is empty"),
    (lambda m: m.pop("input_shape"), "the stored model has no input_shape"),
    (lambda m: m.update(input_shape=5),
     "model.input_shape must be a list of 1 to 32 positive ints (each at most 2147483647), found 5"),
    (lambda m: m.update(input_shape=[0]),
     "model.input_shape must be a list of 1 to 32 positive ints (each at most 2147483647), found [0]"),
    (lambda m: m.update(input_shape=[1] * 33),
     "model.input_shape must be a list of 1 to 32 positive ints (each at most 2147483647), found "
     + f"{[1] * 33!r:.80}"),
    (lambda m: m.update(dtype=None), "model.dtype must be 'float32' or 'float64', found None"),
])
def test_model_config_refusals_say_what_was_found(good, tmp_path, change, expected):
    assert refusal(load_model, edit(good[0], tmp_path / "m.tanul", lambda c: change(c["model"]))) == expected


def test_model_config_limits_on_layers_and_values_per_sample(good, tmp_path, monkeypatch):
    monkeypatch.setattr(tchecks, "MAX_LAYERS", 1)
    assert refusal(load_model, good[0]) == "model.layers has 2 layers, more than the 1 tanul loads"
    monkeypatch.setattr(tchecks, "MAX_LAYERS", 2)
    monkeypatch.setattr(tchecks, "MAX_SAMPLE_VALUES", 100)
    p = edit(good[0], tmp_path / "m.tanul", lambda c: c["model"].update(input_shape=[10, 11]))
    assert refusal(load_model, p) == "model.input_shape [10, 11] has more than 100 values per sample"


def test_a_model_config_without_dtype_is_float32(good, tmp_path):
    loaded = load_model(edit(good[0], tmp_path / "m.tanul", lambda c: c["model"].pop("dtype")))
    assert loaded.dtype == np.float32
    np.testing.assert_array_equal(loaded.layers[0].params["W"], _w(good))


class MioHalveRenamed(MioHalve):
    pass


def test_load_model_passes_custom_objects_on(tmp_path):
    model = tanul.Sequential([tanul.Dense(2), MioHalve()], seed=0, input_shape=(3,))
    model.save(tmp_path / "m.tanul")
    p = edit(tmp_path / "m.tanul", tmp_path / "r.tanul",
             lambda c: c["model"]["layers"][1].update(class_name="NotRegisteredAnywhere"))
    loaded = load_model(p, custom_objects={"NotRegisteredAnywhere": MioHalveRenamed})
    assert type(loaded.layers[1]) is MioHalveRenamed


class MioParamsOnly(tanul.Dense):
    """Overrides build and param_shapes but inherits Dense's state_shapes."""

    def build(self, input_shape, rng, dtype=np.float32):
        super().build(input_shape, rng, dtype)

    def param_shapes(self, input_shape):
        return super().param_shapes(input_shape)


def test_shapes_are_declared_only_when_both_methods_come_with_build():
    from tanul.io.checks import _declares_shapes

    assert not _declares_shapes(MioParamsOnly(2))
    assert _declares_shapes(tanul.Dense(2))


# ---------------------------------------------------------------------- the model's own settings
def test_name_and_seed_come_back(tmp_path):
    model = tanul.Sequential([tanul.Dense(2)], seed=2**128 - 1, name="n" * 1000, input_shape=(3,))
    model.save(tmp_path / "m.tanul")
    loaded = load_model(tmp_path / "m.tanul")
    assert loaded.name == "n" * 1000 and loaded.seed == 2**128 - 1
    assert loaded.rng.bit_generator.state == model.rng.bit_generator.state  # both built once
    unnamed = load_model(edit(tmp_path / "m.tanul", tmp_path / "u.tanul",
                              lambda c: c["model"].update(name=None, seed=None)))
    assert unnamed.name == "sequential" and unnamed.seed is None


@pytest.mark.parametrize("field,value,expected", [
    ("seed", 2**128, "model.seed must be null or an int in [0, 2**128), found 340282366920938463463374607431768211456"),
    ("seed", -1, "model.seed must be null or an int in [0, 2**128), found -1"),
    ("seed", "7", "model.seed must be null or an int in [0, 2**128), found '7'"),
    ("name", 5, "model.name must be a string of at most 1,000 characters, found 5"),
    ("name", "n" * 1001, "model.name must be a string of at most 1,000 characters, found " + f"{'n' * 1001!r:.80}"),
    ("dtype", "float16", "model.dtype must be 'float32' or 'float64', found 'float16'"),
])
def test_model_settings_are_refused_with_what_was_found(good, tmp_path, field, value, expected):
    assert refusal(load_model, edit(good[0], tmp_path / "m.tanul", lambda c: c["model"].update({field: value}))) \
        == expected


def test_an_unknown_layer_class_is_named_with_the_ways_to_register_it(good, tmp_path):
    p = edit(good[0], tmp_path / "u.tanul", lambda c: c["model"]["layers"][1].update(class_name="Unheard"))
    assert re.fullmatch(r"cannot rebuild the model: Unknown layer class 'Unheard'\. Known: [^']*\bDense\b[^']*\. "
                        r"Register custom layers with tanul\.register_layer or pass custom_objects=\.",
                        refusal(load_model, p))


class MioPicky(tanul.Layer):
    """A user layer whose build accepts only 3 features."""

    def build(self, input_shape, rng, dtype=np.float32):
        if tuple(input_shape) != (3,):
            raise ValueError(f"MioPicky: expected 3 features, got input shape {tuple(input_shape)}")
        super().build(input_shape, rng, dtype)

    def forward(self, x, training=False):
        return x

    def backward(self, dy):
        return dy


def test_a_layer_whose_build_refuses_the_stored_shape_is_reported(tmp_path):
    tanul.Sequential([MioPicky()], seed=0, input_shape=(3,)).save(tmp_path / "p.tanul")
    p = edit(tmp_path / "p.tanul", tmp_path / "x.tanul", lambda c: c["model"].update(input_shape=[4]))
    assert refusal(load_model, p) == "cannot rebuild the model: MioPicky: expected 3 features, got input shape (4,)"


@pytest.mark.parametrize("exc,expected", [
    (KeyError("layers"), "malformed tanul file: KeyError: missing entry 'layers'"),
    (TypeError("unhashable type: 'list'"), "malformed tanul file: TypeError: unhashable type: 'list'"),
    (ArithmeticError(), "malformed tanul file: ArithmeticError: no detail"),
])
def test_errors_from_malformed_content_become_model_file_errors(exc, expected):
    def fn():
        raise exc
    with pytest.raises(ModelFileError) as info:
        tio._guard("f.tanul", fn)
    assert str(info.value) == f"f.tanul: {expected}"
    with pytest.raises(FileNotFoundError):
        tio._guard("f.tanul", lambda: open(os.path.join(os.sep, "no", "such", "file")))


# ---------------------------------------------------------------------- the file layout (docs/saving.md)
def _trained(optimizer="adam"):
    model = tanul.Sequential([tanul.Dense(3, activation="relu"), tanul.Dense(2)], seed=0, input_shape=(4,))
    model.compile(optimizer=optimizer, loss="mse")
    x = np.random.default_rng(0).normal(size=(8, 4)).astype(np.float32)
    model.fit(x, x[:, :2], epochs=1, batch_size=4, verbose=0)
    return model


def test_save_model_includes_the_optimizer_state_unless_told_not_to(tmp_path):
    model = _trained()
    save_model(model, tmp_path / "with.tanul")
    save_model(model, tmp_path / "without.tanul", include_optimizer=False)
    config, _ = read_members(tmp_path / "with.tanul")
    assert config["kind"] == "model" and config["optimizer_state"]["iterations"] == 2
    with_state = load_model(tmp_path / "with.tanul")
    assert with_state.optimizer.iterations == 2
    np.testing.assert_array_equal(with_state.optimizer.get_slot("m", "dense_1.W"), model.optimizer.get_slot("m", "dense_1.W"))
    config, members = read_members(tmp_path / "without.tanul")
    assert "optimizer_state" not in config and not [m for m in members if m.startswith("optimizer/")]
    assert load_model(tmp_path / "without.tanul").optimizer.iterations == 0


def test_member_names_follow_the_documented_layout(tmp_path):
    """params/<layer>.<name>.npy, optimizer/..., and in a checkpoint callbacks/<i>/... and extra/...;
    every array is referred to from config.json by its member name."""
    from tanul.callbacks import EarlyStopping

    model = _trained()
    es = [EarlyStopping(restore_best_weights=True), EarlyStopping(restore_best_weights=True)]
    es[0].set_state({"wait": 0, "best": 1.0, "best_epoch": 0, "stopped_epoch": -1, "best_weights": [np.zeros(2)]})
    es[1].set_state({"wait": 0, "best": 2.0, "best_epoch": 0, "stopped_epoch": -1, "best_weights": [np.ones(3)]})
    save_checkpoint(tmp_path / "c.tanul", model, epoch=0, callbacks=es, extra={"grid": np.arange(3)})
    model.save_weights(tmp_path / "w.tanul")
    config, members = read_members(tmp_path / "c.tanul")
    assert config["kind"] == "checkpoint" and read_members(tmp_path / "w.tanul")[0]["kind"] == "weights"
    params = {f"params/dense_{k}.{p}.npy" for k in (0, 1) for p in "Wb"}
    slots = {f"optimizer/slots/{s}/dense_{k}.{p}.npy" for s in "mv" for k in (0, 1) for p in "Wb"}
    others = {"callbacks/0/best_weights/0.npy", "callbacks/1/best_weights/0.npy", "extra/grid.npy"}
    assert set(members) == set(config["arrays"]) == params | slots | others
    assert {ref["__array__"] for ref in config["optimizer_state"]["slots"].values()} == slots
    assert config["extra"] == {"grid": {"__array__": "extra/grid.npy"}}
    _, info = load_checkpoint(tmp_path / "c.tanul")
    np.testing.assert_array_equal(info["callbacks"][0]["state"]["best_weights"][0], np.zeros(2))
    np.testing.assert_array_equal(info["callbacks"][1]["state"]["best_weights"][0], np.ones(3))


class MioCounter(tanul.Layer):
    """A user layer that declares its parameters but says its state is unknown (``None``)."""

    def build(self, input_shape, rng, dtype=np.float32):
        self.params["w"] = np.ones(input_shape, dtype=dtype)
        self.state["count"] = np.zeros(1, dtype=dtype)
        super().build(input_shape, rng, dtype)

    def param_shapes(self, input_shape):
        return {"w": tuple(input_shape)}

    def state_shapes(self, input_shape):
        return None

    def forward(self, x, training=False):
        return x * self.params["w"]

    def backward(self, dy):
        return dy * self.params["w"]


def test_a_layer_with_unknown_state_shapes_is_checked_after_build(tmp_path):
    model = tanul.Sequential([tanul.Dense(3), MioCounter()], seed=0, input_shape=(2,))
    model.layers[1].params["w"][...] = [1.0, 2.0, 3.0]
    model.layers[1].state["count"][...] = 7.0
    model.save(tmp_path / "m.tanul")
    loaded = load_model(tmp_path / "m.tanul")
    np.testing.assert_array_equal(loaded.layers[1].params["w"], [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(loaded.layers[1].state["count"], [7.0])


# ---------------------------------------------------------------------- JSON limits (tanul.io.reader)
def test_json_depth_counts_nesting_and_containers_outside_strings():
    text = b'{"a": [[], [[]]], "b": "]]"}'   # depths 1, 2, 3, 3, 4; five containers; "]]" is a string
    assert treader.json_depth(text, 64) == (4, 5)
    assert treader.json_depth(text, 64, 5) == (4, 5)
    assert treader.json_depth(text, 2) == (3, 3)       # stops at the first level past the limit
    assert treader.json_depth(text, 64, 3) == (3, 4)   # stops at the fourth container (depth 3)
    assert treader.json_depth(b"[[][[]]]", 64) == (3, 4)


def _json_file(tmp_path, text):
    p = tmp_path / "run.json"
    p.write_bytes(text if isinstance(text, bytes) else text.encode())
    return p


def test_json_nesting_and_container_limits_are_inclusive(tmp_path, monkeypatch):
    p = _json_file(tmp_path, "[" * 64 + "]" * 64)
    assert tio.read_json_file(p) == json.loads("[" * 64 + "]" * 64)
    p = _json_file(tmp_path, "[" * 65 + "]" * 65)
    assert refusal(tio.read_json_file, p) == "the file nests arrays/objects more than 64 deep"
    monkeypatch.setattr(treader, "MAX_JSON_CONTAINERS", 3)
    assert tio.read_json_file(_json_file(tmp_path, '[{}, [], "[]"]')) == [{}, [], "[]"]
    assert refusal(tio.read_json_file, _json_file(tmp_path, "[{}, [], [[]]]")) == "the file holds more than 3 arrays/objects"


def test_json_integers_up_to_4300_digits_are_read(tmp_path):
    big = "9" * 4300
    assert tio.read_json_file(_json_file(tmp_path, f'{{"n": -{big}}}')) == {"n": -int(big)}
    assert refusal(tio.read_json_file, _json_file(tmp_path, f'{{"n": {big}9}}')) == (
        "the file holds an integer of 4,301 digits (at most 4,300 are read)")


def test_json_integers_over_the_interpreters_own_limit_are_refused(tmp_path):
    old = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(640)
    try:
        msg = refusal(tio.read_json_file, _json_file(tmp_path, "1" * 1000))
    finally:
        sys.set_int_max_str_digits(old)
    assert msg == "the file holds an integer of 1,000 digits (at most 4,300 are read)"


def test_json_that_is_not_utf8_or_not_json_is_refused_with_the_decoders_message(tmp_path):
    with pytest.raises(UnicodeDecodeError) as utf8:
        b'"\xff"'.decode("utf-8")
    assert refusal(tio.read_json_file, _json_file(tmp_path, b'"\xff"')) == f"the file is not UTF-8 text: {utf8.value}"
    with pytest.raises(json.JSONDecodeError) as bad:
        json.loads('{"a": }')
    assert refusal(tio.read_json_file, _json_file(tmp_path, '{"a": }')) == f"the file is not valid JSON: {bad.value}"


# ---------------------------------------------------------------------- the zip container
def _cd_entries(raw):
    """Offsets of the central-directory entries of a zip, by member name."""
    out, at = {}, raw.find(b"PK\x01\x02")
    while at != -1:
        n = int.from_bytes(raw[at + 28:at + 30], "little")
        out[raw[at + 46:at + 46 + n].decode()] = at
        at = raw.find(b"PK\x01\x02", at + 46 + n)
    return out


def _patched(good, tmp_path, member, **fields):
    """The good model file with central-directory fields of ``member`` changed: ``flags``,
    ``method``, ``size`` (both compressed and uncompressed size)."""
    raw = bytearray(good[0].read_bytes())
    at = _cd_entries(raw)[member]
    if "flags" in fields:
        raw[at + 8:at + 10] = fields["flags"].to_bytes(2, "little")
    if "method" in fields:
        raw[at + 10:at + 12] = fields["method"].to_bytes(2, "little")
    if "size" in fields:
        raw[at + 20:at + 28] = fields["size"].to_bytes(4, "little") * 2
    p = tmp_path / "patched.tanul"
    p.write_bytes(bytes(raw))
    return p


def test_encrypted_and_unknown_compression_members_are_refused(good, tmp_path):
    p = _patched(good, tmp_path, "params/dense_0.W.npy", flags=1)
    assert refusal(load_model, p) == "array 'params/dense_0.W.npy' is encrypted; tanul files are never encrypted"
    p = _patched(good, tmp_path, "config.json", method=7)
    assert refusal(load_model, p) == ("config.json is compressed (method 7); tanul writes stored (uncompressed) "
                                      "members and reads only those")


def test_a_member_said_to_extend_past_the_end_is_refused(good, tmp_path):
    raw = good[0].read_bytes()
    entries = _cd_entries(raw)
    last = max(entries, key=lambda n: int.from_bytes(raw[entries[n] + 42:entries[n] + 46], "little"))
    offset = int.from_bytes(raw[entries[last] + 42:entries[last] + 46], "little")
    p = _patched(good, tmp_path, last, size=len(raw) - offset + 1)
    assert refusal(load_model, p) == f"array {last!r} extends past the end of the file (truncated?)"
    # ending exactly at the end of the file passes this test (and fails the .npy size test after it)
    p = _patched(good, tmp_path, last, size=len(raw) - offset)
    _, members = read_members(good[0])
    header = len(members[last]) - np.load(io.BytesIO(members[last])).nbytes
    assert refusal(load_model, p) == (f"array {last!r}: the member holds {len(raw) - offset:,} bytes, but a "
                                      f"{header}-byte header and {len(members[last]) - header:,} bytes of data "
                                      f"make {len(members[last]):,}")


def test_a_member_twice_and_a_missing_config_are_refused(good, tmp_path):
    config, members = read_members(good[0])
    p = tmp_path / "twice.tanul"
    with pytest.warns(UserWarning, match="Duplicate name"):
        with zipfile.ZipFile(write_members(p, config, members), "a") as zf:
            zf.writestr("params/dense_0.b.npy", members["params/dense_0.b.npy"])
    assert refusal(load_model, p) == "the zip archive holds 'params/dense_0.b.npy' twice"
    p = tmp_path / "noconfig.tanul"
    with zipfile.ZipFile(p, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    assert refusal(load_model, p) == "not a tanul file: config.json is missing"
    p = tmp_path / "text.tanul"
    p.write_text("hello")
    assert refusal(load_model, p) == "not a tanul file (not a zip archive, or truncated): File is not a zip file"


def test_a_corrupted_config_is_caught_by_the_zip_checksum(good, tmp_path):
    raw = bytearray(good[0].read_bytes())
    at = raw.find(b'"format_version"')
    raw[at + 1] ^= 0x20   # "format_version" -> "Format_version"
    p = tmp_path / "crc.tanul"
    p.write_bytes(bytes(raw))
    assert refusal(load_model, p) == "config.json is corrupted: Bad CRC-32 for file 'config.json'"


def test_the_zip_directory_and_config_size_limits_are_inclusive(good, tmp_path, monkeypatch):
    raw = good[0].read_bytes()
    eocd = raw.rfind(b"PK\x05\x06")
    directory = int.from_bytes(raw[eocd + 12:eocd + 16], "little")
    with zipfile.ZipFile(good[0]) as zf:
        config_bytes = zf.getinfo("config.json").file_size
    monkeypatch.setattr(treader, "MAX_DIRECTORY_BYTES", directory)
    monkeypatch.setattr(treader, "MAX_CONFIG_BYTES", config_bytes)
    np.testing.assert_array_equal(load_model(good[0]).layers[0].params["W"], _w(good))
    monkeypatch.setattr(treader, "MAX_DIRECTORY_BYTES", directory - 1)
    assert refusal(load_model, good[0]) == (f"its zip directory is {directory:,} bytes, more than the "
                                            f"{directory - 1:,} bytes tanul reads")


@pytest.mark.parametrize("change,expected", [
    (lambda c: c.update(format="keras"), "not a tanul file: config.json has format 'keras'"),
    (lambda c: c.update(format_version=2, tanul_version="9.9.9"),
     "format version 2 is newer than this tanul reads (1); upgrade tanul (file written by tanul 9.9.9)"),
    (lambda c: c.update(format_version=2) or c.pop("tanul_version"),
     "format version 2 is newer than this tanul reads (1); upgrade tanul (file written by tanul ?)"),
    (lambda c: c.update(format_version=2, tanul_version="1." + "2" * 60),  # a version quoted up to 40 characters
     "format version 2 is newer than this tanul reads (1); upgrade tanul (file written by tanul 1." + "2" * 38 + ")"),
    (lambda c: c.update(format_version=0), "unknown format version 0"),
    (lambda c: c.update(format_version="1"), "format_version must be an int, found '1'"),
    (lambda c: c.pop("arrays"), "config.json has no 'arrays' table"),
])
def test_config_headers_are_refused_with_what_was_found(good, tmp_path, change, expected):
    assert refusal(load_model, edit(good[0], tmp_path / "h.tanul", change)) == expected


def test_a_config_that_is_not_an_object_is_refused(good, tmp_path):
    _, members = read_members(good[0])
    p = write_members(tmp_path / "list.tanul", b"[1, 2]", members)
    assert refusal(load_model, p) == "config.json must hold an object, found list"


# ---------------------------------------------------------------------- writing
def test_the_config_header_of_every_kind_of_file(tmp_path):
    model = _trained()
    model.save(tmp_path / "m.tanul")
    config, members = read_members(tmp_path / "m.tanul")
    assert (config["format"], config["format_version"], config["tanul_version"]) == ("tanul", 1, tanul.__version__)
    assert config["model"] == json.loads(json.dumps(model.get_config()))
    assert config["compile"] == {"loss": tanul.losses.serialize(model.loss), "metrics": [],
                                 "optimizer": {"class_name": "Adam", "config": model.optimizer.get_config()}}
    assert config["arrays"]["params/dense_0.W.npy"] == {"shape": [4, 3], "dtype": "<f4"}
    assert set(config["arrays"]) == set(members)
    with zipfile.ZipFile(tmp_path / "m.tanul") as zf:
        assert zf.namelist()[0] == "config.json"
        assert {i.compress_type for i in zf.infolist()} == {zipfile.ZIP_STORED}


def test_an_unbuilt_model_is_not_saved(tmp_path):
    model = tanul.Sequential([tanul.Dense(2)], name="net")
    for save in (save_model, tio.save_weights):
        with pytest.raises(ValueError) as info:
            save(model, tmp_path / "m.tanul")
        assert str(info.value) == ("cannot save 'net': the model is not built yet (give input_shape=..., "
                                   "or call fit/predict once)")
    assert not list(tmp_path.iterdir())


def test_an_uncompiled_model_and_lbfgs_round_trip(tmp_path):
    plain = tanul.Sequential([tanul.Dense(2)], seed=0, input_shape=(3,))
    plain.save(tmp_path / "plain.tanul")
    assert read_members(tmp_path / "plain.tanul")[0]["compile"] is None
    assert load_model(tmp_path / "plain.tanul").loss is None
    lb = tanul.Sequential([tanul.Dense(2)], seed=0, input_shape=(3,))
    lb.compile(optimizer=tanul.optimizers.LBFGS(max_iter=7, tol=1e-6), loss="mse", metrics=["mae"])
    lb.save(tmp_path / "lbfgs.tanul")
    loaded = load_model(tmp_path / "lbfgs.tanul")
    assert type(loaded.optimizer) is tanul.optimizers.LBFGS
    assert loaded.optimizer.get_config() == {"max_iter": 7, "tol": 1e-6, "history_size": 10}
    assert [m.name for m in loaded.metrics] == ["mae"]


def test_a_checkpoint_of_a_diverged_run_keeps_its_nan_losses(tmp_path):
    model = _trained()
    model.history.set_state({"history": {"loss": [1.5, float("nan"), float("inf")]}, "epoch": [0, 1, 2]})
    save_checkpoint(tmp_path / "c.tanul", model, epoch=2)
    loaded, _ = load_checkpoint(tmp_path / "c.tanul")
    loss = loaded.history.history["loss"]
    assert loss[0] == 1.5 and math.isnan(loss[1]) and loss[2] == math.inf


def test_a_directory_is_not_a_regular_file(tmp_path):
    assert refusal(load_model, tmp_path) == "is a directory, not a regular file"


def test_missing_files_and_files_over_the_size_limit(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        load_model(tmp_path / "nothing.tanul")
    assert str(info.value) == f"no such file: {tmp_path / 'nothing.tanul'}"
    p = _json_file(tmp_path, '{"a": 1234567}')
    assert refusal(tio.read_json_file, p, max_bytes=13) == "is 14 bytes, more than the 13 bytes tanul reads"
    loop = tmp_path / "loop.tanul"
    loop.symlink_to(loop)
    with pytest.raises(OSError) as direct:
        os.stat(loop)
    assert refusal(load_model, loop) == f"cannot be read: {direct.value.strerror}"


def test_an_object_array_is_never_written(tmp_path):
    model = _trained()
    path = tmp_path / "c.tanul"
    with pytest.raises(ValueError, match="allow_pickle=False"):
        save_checkpoint(path, model, epoch=0, extra={"objects": np.array([{"a": 1}], dtype=object)})
    assert not list(tmp_path.iterdir())   # nothing written, not even a temporary file


class MioFullBatch:
    """A user's full-batch optimiser (the FullBatchOptimizer protocol) without get_config."""

    max_iter = None

    def minimize(self, problem, x, y, *, max_iter, callback):
        pass


def test_an_optimizer_without_get_config_is_saved_as_null(tmp_path):
    model = tanul.Sequential([tanul.Dense(2)], seed=0, input_shape=(3,))
    model.compile(optimizer=MioFullBatch(), loss="mse")
    model.save(tmp_path / "m.tanul")
    config, _ = read_members(tmp_path / "m.tanul")
    assert config["compile"]["optimizer"] is None and config["compile"]["loss"] == tanul.losses.serialize(model.loss)


# ---------------------------------------------------------------------- errors the loader did not foresee
class MioStrict(tanul.Layer):
    """A user layer whose constructor looks a key up in a dict the file supplies."""

    def __init__(self, sizes=None, name=None):
        super().__init__(name=name)
        self.size = (sizes or {"size": 1})["size"]

    def forward(self, x, training=False):
        return x

    def backward(self, dy):
        return dy

    def get_config(self):
        return {"sizes": {"size": self.size}, "name": self.name}


def test_an_unforeseen_error_from_a_file_names_the_file(tmp_path):
    tanul.Sequential([MioStrict()], seed=0, input_shape=(2,)).save(tmp_path / "m.tanul")
    p = edit(tmp_path / "m.tanul", tmp_path / "x.tanul",
             lambda c: c["model"]["layers"][0]["config"].update(sizes={"other": 2}))
    assert refusal(load_model, p) == "malformed tanul file: KeyError: missing entry 'size'"


# ---------------------------------------------------------------------- files that change under the loader
class _LyingOs:
    """``os`` whose ``stat`` says every file is a small regular file (what a check sees before a
    FIFO is swapped in), and whose ``open`` can be made to fail."""

    def __init__(self, open_error=None):
        self.open_error = open_error

    def __getattr__(self, name):
        return getattr(os, name)

    def stat(self, path):
        return os.stat_result((0o100644, 0, 0, 1, 0, 0, 10, 0, 0, 0))

    def open(self, path, flags):
        if self.open_error is not None:
            raise self.open_error
        return os.open(path, flags)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_a_fifo_swapped_in_after_the_check_does_not_block(tmp_path, monkeypatch):
    import signal

    fifo = tmp_path / "pipe.tanul"
    os.mkfifo(fifo)
    monkeypatch.setattr(treader, "os", _LyingOs())

    def timeout(*_):
        raise TimeoutError("opening the FIFO blocked")
    old = signal.signal(signal.SIGALRM, timeout)
    signal.alarm(10)
    try:
        msg = refusal(load_model, fifo)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    assert msg == "is a FIFO (named pipe) or changed size while it was opened"


def test_a_file_that_cannot_be_opened_is_named_with_the_reason(good, monkeypatch):
    monkeypatch.setattr(treader, "os", _LyingOs(PermissionError(13, "Permission denied")))
    assert refusal(load_model, good[0]) == "cannot be opened: Permission denied"


def test_a_member_of_exactly_the_data_size_has_no_room_for_a_header(good, tmp_path):
    p = edit(good[0], tmp_path / "raw.tanul", members={"params/dense_0.W.npy": bytes(80)})
    assert refusal(load_model, p).startswith(
        "array 'params/dense_0.W.npy' cannot be read: its .npy header is malformed (ValueError: the magic "
        "string is not correct")


def _overlapping(path, names, pad):
    """A zip whose members ``names`` all point at the same stored bytes (one .npy of 1,000 float32),
    declared in config.json; ``pad`` spaces in the config set the file's size."""
    import zlib

    data = npy(np.zeros(1000, np.float32))
    config = {"format": "tanul", "format_version": 1, "kind": "model", "pad": " " * pad,
              "arrays": {n: {"shape": [1000], "dtype": "<f4"} for n in names}}
    raw_config = json.dumps(config).encode()
    out, central = bytearray(), bytearray()

    def local(name, body):
        fn = name.encode()
        return (len(out), len(body), zlib.crc32(body),
                b"PK\x03\x04" + (20).to_bytes(2, "little") + bytes(4) + bytes(4)
                + zlib.crc32(body).to_bytes(4, "little") + len(body).to_bytes(4, "little") * 2
                + len(fn).to_bytes(2, "little") + bytes(2) + fn + body)

    entries = []
    for name, body in (("config.json", raw_config), (names[0], data)):
        offset, size, crc, blob = local(name, body)
        out += blob
        entries.append((name, offset, size, crc))
    entries += [(n, entries[1][1], entries[1][2], entries[1][3]) for n in names[1:]]
    for name, offset, size, crc in entries:
        fn = name.encode()
        central += (b"PK\x01\x02" + (20).to_bytes(2, "little") * 2 + bytes(4) + bytes(4) + crc.to_bytes(4, "little")
                    + size.to_bytes(4, "little") * 2 + len(fn).to_bytes(2, "little") + bytes(8)
                    + bytes(4) + offset.to_bytes(4, "little") + fn)
    end = (b"PK\x05\x06" + bytes(4) + len(entries).to_bytes(2, "little") * 2 + len(central).to_bytes(4, "little")
           + len(out).to_bytes(4, "little") + bytes(2))
    path.write_bytes(bytes(out + central + end))
    return path


def test_overlapping_members_cannot_declare_more_array_bytes_than_the_file_holds(tmp_path):
    """Three directory entries share one member's bytes (the overlapping-files zip bomb): 12,000
    bytes of arrays declared in a file of about 5,000."""
    names = ["a.npy", "b.npy", "c.npy"]
    p = _overlapping(tmp_path / "o.tanul", names, 0)
    size = p.stat().st_size
    assert 4000 < size < 12_000
    assert refusal(treader.Archive, p) == f"config.json declares 12,000 bytes of arrays, more than the file's {size:,} bytes"
    # exactly as many bytes declared as the file has: opened (each member is then read on its own)
    p = _overlapping(tmp_path / "o.tanul", names, 12_000 - size)
    assert p.stat().st_size == 12_000
    with treader.Archive(p) as ar:
        assert sorted(ar.manifest) == names
        np.testing.assert_array_equal(ar.array("a.npy"), np.zeros(1000, np.float32))
