"""ONNX export, checked: onnx's full checker passes and ONNX Runtime gives model.predict's numbers
(1e-5, float32) for every layer type, LeNet-5, a net with every activation, the sklearn wrappers
with their scalers, and LeNet-5's predicted classes on the official MNIST test images."""

import json

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import tanul  # noqa: E402
import tanul.onnx  # noqa: E402
from tanul import layers as L  # noqa: E402
from tanul.cli import main  # noqa: E402
from tanul.models import lenet5  # noqa: E402

TOL = {"rtol": 1e-5, "atol": 1e-5}


def _randomize(model, seed=0):
    """Weights and BatchNorm statistics far from their initial values, so that every parameter
    matters (a fresh BatchNorm is the identity)."""
    rng = np.random.default_rng(seed)
    model.params[...] = rng.normal(0, 0.5, size=model.params.shape).astype(model.dtype)
    for layer in model.layers:
        if "running_var" in layer.state:
            n = layer.state["running_var"].shape
            layer.state["running_mean"][...] = rng.normal(0, 1, n)
            layer.state["running_var"][...] = rng.uniform(0.2, 3.0, n)
            layer.params["gamma"][...] = rng.uniform(0.5, 2.0, n)
    return model


def _session(path):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def _export_and_run(model, tmp_path, x, **kwargs):
    path = tmp_path / "model.onnx"
    tanul.onnx.export(model, path, **kwargs)
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    sess = _session(path)
    name = sess.get_inputs()[0].name
    return sess.run(None, {name: x.astype(np.float32)}), proto, sess


DENSE_CASES = {
    "dense": [L.Dense(7)],
    "dense_no_bias": [L.Dense(7, use_bias=False)],
    **{f"dense_{a}": [L.Dense(7, activation=a)]
       for a in ("sigmoid", "tanh", "relu", "leaky_relu", "softplus", "softmax", "identity")},
    **{f"layer_{cls.__name__}": [L.Dense(7), cls()]
       for cls in (L.Sigmoid, L.Tanh, L.ReLU, L.Softplus, L.Softmax, L.Identity, L.PReLU)},
    "leaky_relu_0.3": [L.Dense(7), L.LeakyReLU(0.3)],
    "dropout": [L.Dense(7, activation="relu"), L.Dropout(0.5), L.Dense(3)],
    "batchnorm": [L.Dense(7), L.BatchNorm(eps=1e-3), L.ReLU()],
}

IMAGE_CASES = {
    "conv": [L.Conv2D(4, 3)],
    "conv_stride2_pad1": [L.Conv2D(4, 3, strides=2, padding=1)],
    "conv_same_relu": [L.Conv2D(3, 5, padding="same", activation="relu")],
    "conv_rect_no_bias": [L.Conv2D(2, (3, 2), strides=(1, 2), padding=(1, 0), use_bias=False)],
    "conv_tanh": [L.Conv2D(3, 3, activation="tanh")],
    "maxpool2": [L.Conv2D(3, 3), L.MaxPool2D(2)],
    "maxpool3_s2_p1": [L.Conv2D(3, 3), L.MaxPool2D(3, strides=2, padding=1)],
    "avgpool2": [L.AvgPool2D(2)],
    "avgpool3_s1_p1": [L.AvgPool2D(3, strides=1, padding=1)],
    "global_avgpool": [L.Conv2D(5, 3), L.GlobalAvgPool2D()],
    "batchnorm2d": [L.Conv2D(4, 3), L.BatchNorm2D(eps=1e-4)],
    "prelu_channels": [L.Conv2D(4, 3), L.PReLU()],
    "leaky_relu_image": [L.LeakyReLU(0.1)],
    "softmax_image": [L.Softmax()],  # over the last axis, as tanul does
    "sigmoid_image": [L.Sigmoid()],
    "flatten_dense": [L.Conv2D(2, 3), L.Flatten(), L.Dense(5)],
}


@pytest.mark.parametrize("case", list(DENSE_CASES))
def test_every_vector_layer_matches_predict(case, tmp_path):
    model = _randomize(tanul.Sequential(DENSE_CASES[case], seed=0, input_shape=(6,)))
    x = np.random.default_rng(1).normal(0, 2, size=(33, 6)).astype(np.float32)
    (out,), _, _ = _export_and_run(model, tmp_path, x)
    np.testing.assert_allclose(out, model.predict(x), **TOL)


@pytest.mark.parametrize("case", list(IMAGE_CASES))
def test_every_image_layer_matches_predict(case, tmp_path):
    model = _randomize(tanul.Sequential(IMAGE_CASES[case], seed=0, input_shape=(3, 9, 8)))
    x = np.random.default_rng(2).normal(0, 1, size=(5, 3, 9, 8)).astype(np.float32)
    (out,), _, _ = _export_and_run(model, tmp_path, x)
    assert out.shape == model.predict(x).shape
    np.testing.assert_allclose(out, model.predict(x), **TOL)


def test_softplus_is_stable_for_large_inputs(tmp_path):
    model = tanul.Sequential([L.Softplus()], input_shape=(4,))
    x = np.array([[-100.0, -20.0, 20.0, 80.0]], np.float32)
    (out,), _, _ = _export_and_run(model, tmp_path, x)
    np.testing.assert_allclose(out, model.predict(x), **TOL)
    assert np.isfinite(out).all()


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_lenet5_matches_predict_at_any_batch_size(activation, tmp_path):
    model = _randomize(lenet5(activation=activation, seed=0), seed=3)
    model.params[...] *= 0.3  # keep tanh out of saturation so that differences would show
    rng = np.random.default_rng(4)
    x = rng.uniform(0, 1, size=(17, 1, 28, 28)).astype(np.float32)
    (out,), proto, sess = _export_and_run(model, tmp_path, x, class_labels=list("abcdefghij"))
    np.testing.assert_allclose(out, model.predict(x), **TOL)
    one = sess.run(None, {"input": x[:1]})[0]  # the batch axis is dynamic
    np.testing.assert_allclose(one, model.predict(x[:1]), **TOL)
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    meta = {p.key: p.value for p in proto.metadata_props}
    assert json.loads(meta["class_labels"]) == list("abcdefghij")
    assert json.loads(meta["input_shape"]) == [1, 28, 28]


def test_a_network_with_every_activation(tmp_path):
    model = _randomize(tanul.Sequential([
        L.Dense(8, activation="sigmoid"), L.Dense(8, activation="tanh"), L.Dense(8, activation="relu"),
        L.Dense(8), L.LeakyReLU(0.05), L.Dense(8), L.PReLU(), L.Dense(8, activation="softplus"),
        L.Dense(8, activation="identity"), L.BatchNorm(), L.Dropout(0.3), L.Dense(5), L.Softmax(),
    ], seed=0, input_shape=(10,)), seed=5)
    x = np.random.default_rng(6).normal(0, 1.5, size=(64, 10)).astype(np.float32)
    (out,), _, _ = _export_and_run(model, tmp_path, x)
    np.testing.assert_allclose(out, model.predict(x), **TOL)


def test_float64_models_are_exported_in_float32(tmp_path):
    model = _randomize(tanul.Sequential([L.Dense(5, activation="tanh"), L.Dense(2)], seed=0,
                                        input_shape=(3,), dtype="float64"))
    x = np.random.default_rng(7).normal(size=(10, 3))
    (out,), proto, _ = _export_and_run(model, tmp_path, x)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, model.predict(x), **TOL)


def test_names_opset_and_metadata(tmp_path):
    model = tanul.Sequential([L.Dense(3)], seed=0, input_shape=(2,), name="tiny")
    x = np.ones((2, 2), np.float32)
    for opset in (tanul.onnx.MIN_OPSET, onnx.defs.onnx_opset_version()):
        (out,), proto, sess = _export_and_run(model, tmp_path, x, opset=opset, input_name="features",
                                              output_name="scores")
        assert proto.opset_import[0].version == opset
        assert [i.name for i in sess.get_inputs()] == ["features"]
        assert [o.name for o in sess.get_outputs()] == ["scores"]
        np.testing.assert_allclose(out, model.predict(x), **TOL)
    assert proto.producer_name == "tanul" and proto.graph.name == "tiny"
    assert "Trainable params" in proto.graph.doc_string
    with pytest.raises(ValueError, match=r"expected opset to be an int in \[13, "):
        tanul.onnx.export(model, tmp_path / "x.onnx", opset=11)
    with pytest.raises(ValueError, match=r"2 class labels for a network with output shape \(3,\)"):
        tanul.onnx.export(model, tmp_path / "x.onnx", class_labels=["a", "b"])


class Cube(L.Layer):
    """A user's layer: y = x³."""

    def forward(self, x, training=False):
        self._cache = x
        return x ** 3

    def backward(self, dy):
        return 3 * self._cache ** 2 * dy


def test_a_custom_layer_is_named_in_the_error_and_nothing_is_written(tmp_path):
    model = tanul.Sequential([L.Dense(3), Cube(name="my_cube")], seed=0, input_shape=(2,))
    path = tmp_path / "m.onnx"
    with pytest.raises(tanul.onnx.OnnxExportError, match=r"layer 'my_cube' of class .*Cube: ONNX export knows only"):
        tanul.onnx.export(model, path)
    assert not path.exists() and list(tmp_path.iterdir()) == []
    # a subclass of a built-in layer may change its maths: refused too
    class MyReLU(L.ReLU):
        pass

    with pytest.raises(tanul.onnx.OnnxExportError, match="MyReLU"):
        tanul.onnx.export(tanul.Sequential([MyReLU()], input_shape=(2,)), path)
    with pytest.raises(tanul.onnx.OnnxExportError, match="not built"):
        tanul.onnx.export(tanul.Sequential([L.Dense(2)]), path)
    with pytest.raises(TypeError, match="expected a tanul.Sequential"):
        tanul.onnx.export("model", path)


def test_cli_export(tmp_path, capsys):
    model = lenet5(seed=0)
    src = tmp_path / "lenet.tanul"
    model.save(src)
    out = tmp_path / "lenet.onnx"
    assert main(["export", str(src), "--onnx", str(out), "--opset", "15", "--class-labels",
                 *map(str, range(10))]) == 0
    assert "wrote" in capsys.readouterr().out
    x = np.random.default_rng(8).uniform(size=(3, 1, 28, 28)).astype(np.float32)
    np.testing.assert_allclose(_session(out).run(None, {"input": x})[0], model.predict(x), **TOL)
    meta = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    assert json.loads(meta["class_labels"]) == [str(i) for i in range(10)]
    bad = tmp_path / "cube.tanul"
    tanul.Sequential([L.Dense(3), Cube()], seed=0, input_shape=(2,)).save(bad)
    assert main(["export", str(bad), "--onnx", str(tmp_path / "cube.onnx")]) == 2
    assert "layer 'cube_0' of class test_onnx.Cube" in capsys.readouterr().err and not (tmp_path / "cube.onnx").exists()


# ---------------------------------------------------------------------- scikit-learn wrappers
sklearn = pytest.importorskip("sklearn")


def test_classifier_pipeline_with_standard_scaler(tmp_path):
    from sklearn.datasets import load_iris
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from tanul.sklearn import NetClassifier

    X, y = load_iris(return_X_y=True)
    labels = np.array(["setosa", "versicolor", "virginica"])[y]
    pipe = make_pipeline(StandardScaler(), NetClassifier(hidden_layer_sizes=(16,), batch_norm=True,
                                                         epochs=30, random_state=0)).fit(X, labels)
    (logits, proba, index), proto, sess = _export_and_run(pipe, tmp_path, X)
    assert [o.name for o in sess.get_outputs()] == ["logits", "probabilities", "class_index"]
    np.testing.assert_allclose(proba, pipe.predict_proba(X), **TOL)
    np.testing.assert_allclose(logits, pipe.decision_function(X), **TOL)
    meta = {p.key: p.value for p in proto.metadata_props}
    classes = json.loads(meta["class_labels"])
    assert classes == ["setosa", "versicolor", "virginica"]
    assert (np.array(classes)[index] == pipe.predict(X)).all()
    assert "StandardScaler" in meta["preprocessing"]


def test_regressor_with_minmax_scaler_clip_and_tanul_scaler(tmp_path):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MinMaxScaler

    from tanul.preprocessing import StandardScaler as TanulStandardScaler
    from tanul.sklearn import NetRegressor

    rng = np.random.default_rng(0)
    X = rng.normal(3, 2, size=(200, 4))
    y = X @ [1.0, -1.0, 0.5, 0.0]
    pipe = make_pipeline(MinMaxScaler(feature_range=(-1, 1), clip=True),
                         NetRegressor(hidden_layer_sizes=(8,), epochs=5, random_state=0)).fit(X, y)
    Xt = X * 1.5  # outside the training range: the clip matters
    (pred,), _, sess = _export_and_run(pipe, tmp_path, Xt)
    assert pred.shape == (200,) and sess.get_outputs()[0].name == "predictions"
    np.testing.assert_allclose(pred, pipe.predict(Xt), **TOL)

    scaler = TanulStandardScaler().fit(X)
    reg = NetRegressor(hidden_layer_sizes=(8,), epochs=3, random_state=0).fit(scaler.transform(X), np.c_[y, -y])
    (pred2,), _, _ = _export_and_run(reg, tmp_path, X, preprocessing=[scaler])
    np.testing.assert_allclose(pred2, reg.predict(scaler.transform(X)), **TOL)


def test_unsupported_preprocessing_is_named(tmp_path):
    from sklearn.decomposition import PCA
    from sklearn.pipeline import make_pipeline

    from tanul.sklearn import NetClassifier

    X = np.random.default_rng(0).normal(size=(40, 4))
    y = (X[:, 0] > 0).astype(int)
    pipe = make_pipeline(PCA(3), NetClassifier(epochs=1, random_state=0)).fit(X, y)
    with pytest.raises(tanul.onnx.OnnxExportError, match="pipeline step 'pca': PCA"):
        tanul.onnx.export(pipe, tmp_path / "p.onnx")
    with pytest.raises(tanul.onnx.OnnxExportError, match="not fitted"):
        tanul.onnx.export(NetClassifier(), tmp_path / "p.onnx")


# ---------------------------------------------------------------------- MNIST
def test_exported_lenet5_gives_the_same_classes_on_the_mnist_test_images(mnist_dir, tmp_path):
    from tanul.datasets import mnist

    x_test, y_test = mnist(mnist_dir, split="test")
    # a quickly trained LeNet-5 (one epoch on 3,000 of the images; the training images are not in
    # the shared folder): its classes on all 10,000 must be the same through ONNX Runtime
    model = lenet5(activation="relu", seed=0)
    model.compile(optimizer="adam", loss="cross_entropy")
    model.fit(x_test[:3000], y_test[:3000], epochs=1, batch_size=32, verbose=0)
    path = tmp_path / "lenet5.onnx"
    tanul.onnx.export(model, path, class_labels=list(range(10)))
    onnx_logits = _session(path).run(None, {"input": x_test})[0]
    ours = model.predict(x_test)
    np.testing.assert_allclose(onnx_logits, ours, **TOL)
    np.testing.assert_array_equal(onnx_logits.argmax(axis=1), ours.argmax(axis=1))
    assert (ours[3000:].argmax(axis=1) == y_test[3000:]).mean() > 0.8  # it did learn (held-out images)


def test_binary_classifier_from_the_model_hook_exports(tmp_path):
    from sklearn.datasets import load_digits

    from tanul.sklearn import NetClassifier

    X, y = load_digits(return_X_y=True)
    keep = y < 2
    images = (X[keep] / 16.0).reshape(-1, 1, 8, 8)
    labels = np.where(y[keep] == 0, "zero", "one")

    def small_cnn(input_shape, n_outputs, seed):
        return tanul.Sequential([L.Conv2D(4, 3, padding=1, activation="relu"), L.AvgPool2D(2),
                                 L.BatchNorm2D(), L.GlobalAvgPool2D(), L.Dense(n_outputs)], seed=seed,
                                input_shape=input_shape)

    clf = NetClassifier(model=small_cnn, epochs=3, dtype="float32", random_state=0).fit(images, labels)
    (logits, proba, index), proto, _ = _export_and_run(clf, tmp_path, images)
    assert logits.shape == (len(images), 2)
    np.testing.assert_allclose(proba, clf.predict_proba(images), **TOL)
    np.testing.assert_allclose(logits[:, 1] - logits[:, 0], clf.decision_function(images), **TOL)
    classes = json.loads({p.key: p.value for p in proto.metadata_props}["class_labels"])
    assert classes == ["one", "zero"] and (np.array(classes)[index] == clf.predict(images)).all()
