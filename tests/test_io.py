"""Model files: bit-for-bit round trips for every layer, weights, custom layers, no pickle,
atomic writes, format versions and clear errors."""

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

import tanul
from tanul.io import (
    ModelFileError,
    atomic_write,
    load_checkpoint,
    load_model,
    save_checkpoint,
    save_model,
)


def _image_model(dtype):
    return tanul.Sequential([
        tanul.Conv2D(4, 3, padding=1, activation="relu"), tanul.BatchNorm2D(), tanul.MaxPool2D(2),
        tanul.Conv2D(3, 2, strides=2, activation="tanh"), tanul.AvgPool2D(1), tanul.GlobalAvgPool2D(),
        tanul.Dense(6), tanul.BatchNorm(), tanul.PReLU(), tanul.Dropout(0.3), tanul.Dense(5, activation="softplus"),
        tanul.LeakyReLU(0.1), tanul.Dense(4, activation="sigmoid"), tanul.Tanh(), tanul.ReLU(), tanul.Identity(),
        tanul.Dense(3), tanul.Softmax(),
    ], seed=0, dtype=dtype, input_shape=(2, 8, 8))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_every_layer_round_trips_bit_for_bit(tmp_path, dtype):
    model = _image_model(dtype)
    model.compile(optimizer=tanul.Adam(lr=0.01), loss=tanul.losses.CrossEntropy(from_logits=False),
                  metrics=["accuracy"])
    x = np.random.default_rng(1).normal(size=(16, 2, 8, 8)).astype(dtype)
    y = np.arange(16) % 3
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)  # moves BatchNorm's running averages too
    path = tmp_path / "m.tanul"
    model.save(path)
    loaded = load_model(path)
    assert loaded.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    for a, b in zip(loaded.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert type(loaded.optimizer) is tanul.Adam and loaded.optimizer.iterations == 4
    np.testing.assert_array_equal(loaded.optimizer.get_slot("m", "dense_0.W"),
                                  model.optimizer.get_slot("m", "dense_0.W"))
    assert [m.name for m in loaded.metrics] == ["accuracy"]


def test_dense_activations_round_trip(tmp_path):
    for act in ("relu", "tanh", "sigmoid", "softplus", "leaky_relu", "identity", "softmax"):
        model = tanul.Sequential([tanul.Dense(3, activation=act), tanul.Dense(2)], seed=3, input_shape=(4,))
        save_model(model, tmp_path / f"{act}.tanul")
        x = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
        np.testing.assert_array_equal(load_model(tmp_path / f"{act}.tanul").predict(x), model.predict(x))


def test_no_pickle_inside(tmp_path):
    path = tmp_path / "m.tanul"
    save_model(_image_model("float32"), path)
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        assert names[0] == "config.json" and all(n.endswith(".npy") for n in names[1:])
        for n in names[1:]:
            import io
            a = np.load(io.BytesIO(zf.read(n)), allow_pickle=False)
            assert a.dtype != object
        cfg = json.loads(zf.read("config.json"))
    assert cfg["format"] == "tanul" and cfg["format_version"] == 1


class Scale(tanul.Layer):
    """A user layer: y = s·x with a learnable scalar."""

    def __init__(self, init=2.0, name=None):
        super().__init__(name=name)
        self.init = init

    def build(self, input_shape, rng, dtype=np.float32):
        self.params["s"] = np.array([self.init], dtype=dtype)
        super().build(input_shape, rng, dtype)

    def output_shape(self, input_shape):
        return tuple(input_shape)

    def forward(self, x, training=False):
        self._cache = x
        return x * self.params["s"]

    def backward(self, dy):
        self.grads["s"][...] = (dy * self._cache).sum()
        return dy * self.params["s"]

    def get_config(self):
        return {"init": self.init, "name": self.name}


def test_custom_layers_by_registry_and_custom_objects(tmp_path):
    model = tanul.Sequential([tanul.Dense(2), Scale(3.0)], seed=0, input_shape=(3,))
    save_model(model, tmp_path / "c.tanul")
    x = np.ones((2, 3), np.float32)
    # Layer subclasses register themselves by class name...
    np.testing.assert_array_equal(load_model(tmp_path / "c.tanul").predict(x), model.predict(x))
    # ...and custom_objects overrides (e.g. a class defined after a rename)
    loaded = load_model(tmp_path / "c.tanul", custom_objects={"Scale": Scale})
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    with zipfile.ZipFile(tmp_path / "c.tanul") as zf, zipfile.ZipFile(tmp_path / "u.tanul", "w") as out:
        for item in zf.infolist():
            data = zf.read(item)
            if item.filename == "config.json":
                data = data.replace(b'"Scale"', b'"Unheard"')
            out.writestr(item, data)
    with pytest.raises(ModelFileError, match="Unknown layer class 'Unheard'.*register_layer"):
        load_model(tmp_path / "u.tanul")


def test_weights_only_and_shape_mismatch(tmp_path):
    a = tanul.Sequential([tanul.Dense(4), tanul.Dense(2)], seed=0, input_shape=(3,))
    a.save_weights(tmp_path / "w.tanul")
    b = tanul.Sequential([tanul.Dense(4), tanul.Dense(2)], seed=9)
    b.load_weights(tmp_path / "w.tanul")  # builds b from the stored input shape
    for u, v in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_array_equal(u, v)
    c = tanul.Sequential([tanul.Dense(5), tanul.Dense(2)], seed=0, input_shape=(3,))
    with pytest.raises(ModelFileError, match=r"dense_0.W: the file has shape \(3, 4\), the model expects \(3, 5\)"):
        c.load_weights(tmp_path / "w.tanul")


def test_newer_format_and_non_tanul_files(tmp_path):
    model = tanul.Sequential([tanul.Dense(2)], seed=0, input_shape=(2,))
    path = tmp_path / "m.tanul"
    model.save(path)
    with zipfile.ZipFile(path) as zf:
        cfg = json.loads(zf.read("config.json"))
        arrays = {n: zf.read(n) for n in zf.namelist() if n != "config.json"}
    cfg["format_version"] = 99
    with zipfile.ZipFile(tmp_path / "new.tanul", "w") as zf:
        zf.writestr("config.json", json.dumps(cfg))
        for n, d in arrays.items():
            zf.writestr(n, d)
    with pytest.raises(ModelFileError, match=r"new.tanul: format version 99 is newer.*upgrade tanul"):
        load_model(tmp_path / "new.tanul")
    (tmp_path / "t.txt").write_text("hello")
    with pytest.raises(ModelFileError, match=r"t.txt: not a tanul file"):
        load_model(tmp_path / "t.txt")
    with pytest.raises(FileNotFoundError, match="nothing.tanul"):
        load_model(tmp_path / "nothing.tanul")
    with pytest.raises(ModelFileError, match="not a checkpoint"):
        load_checkpoint(path)
    unbuilt = tanul.Sequential([tanul.Dense(2)])
    with pytest.raises(ValueError, match="not built yet"):
        unbuilt.save(tmp_path / "x.tanul")


def test_atomic_write_keeps_the_old_file_on_error(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_write(path) as f:
        f.write(b"new, half")
        raise RuntimeError("crash in the middle")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]  # no temporary left behind


def test_checkpoint_restores_generator_history_and_schedule(tmp_path):
    from tanul.optimizers import StepDecay
    model = tanul.Sequential([tanul.Dense(3, activation="tanh"), tanul.Dropout(0.2), tanul.Dense(1)], seed=4)
    model.compile(optimizer=tanul.SGD(lr=StepDecay(0.1, 0.5, 5), momentum=0.9), loss="mse")
    x = np.random.default_rng(0).normal(size=(20, 2)).astype(np.float32)
    model.fit(x, x[:, :1], epochs=2, batch_size=5, verbose=0)
    save_checkpoint(tmp_path / "c.tanul", model, epoch=1, extra={"note": "hi"})
    loaded, info = load_checkpoint(tmp_path / "c.tanul")
    assert info["epoch"] == 1 and info["extra"] == {"note": "hi"}
    assert loaded.history.history == model.history.history
    assert loaded.rng.bit_generator.state == model.rng.bit_generator.state
    assert loaded.optimizer.iterations == 8 and loaded.optimizer.current_lr == model.optimizer.current_lr


def test_atomic_path_keeps_the_old_file_when_the_writer_fails(tmp_path):
    from tanul.io import atomic_path

    target = tmp_path / "figure.png"
    target.write_text("old")
    with pytest.raises(RuntimeError, match="writer broke"):
        with atomic_path(target) as tmp:
            assert tmp.endswith(".png") and Path(tmp).parent == tmp_path   # the suffix picks the format
            Path(tmp).write_text("half")
            raise RuntimeError("writer broke")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["figure.png"]


def test_checkpoint_carries_callback_states_and_extra_arrays(tmp_path):
    from tanul.callbacks import EarlyStopping, ReduceLROnPlateau

    model = tanul.Sequential([tanul.Dense(2)], seed=0, input_shape=(3,))
    model.compile(optimizer="sgd", loss="mse")
    es = EarlyStopping(restore_best_weights=True)
    es.set_state({"wait": 1, "best": 0.5, "best_epoch": 2, "stopped_epoch": -1,
                  "best_weights": [np.arange(6.0).reshape(3, 2), np.ones(2)]})
    rl = ReduceLROnPlateau()
    rl.set_state({"best": 0.25, "wait": 3, "cooldown_counter": 1})
    save_checkpoint(tmp_path / "c.tanul", model, epoch=4, callbacks=[es, rl],
                    extra={"grid": np.array([1, 2, 3]), "nested": [{"w": np.zeros(2)}], "seed": 7})
    loaded, info = load_checkpoint(tmp_path / "c.tanul")
    assert info["epoch"] == 4
    assert [c["class_name"] for c in info["callbacks"]] == ["EarlyStopping", "ReduceLROnPlateau"]
    state = info["callbacks"][0]["state"]
    assert (state["wait"], state["best"], state["best_epoch"]) == (1, 0.5, 2)
    np.testing.assert_array_equal(state["best_weights"][0], np.arange(6.0).reshape(3, 2))
    np.testing.assert_array_equal(state["best_weights"][1], np.ones(2))
    assert info["callbacks"][1]["state"] == {"best": 0.25, "wait": 3, "cooldown_counter": 1}
    np.testing.assert_array_equal(info["extra"]["grid"], [1, 2, 3])
    np.testing.assert_array_equal(info["extra"]["nested"][0]["w"], np.zeros(2))
    assert info["extra"]["seed"] == 7
    restored = EarlyStopping()
    restored.set_state(state)
    assert restored.best == 0.5 and len(restored.best_weights) == 2
