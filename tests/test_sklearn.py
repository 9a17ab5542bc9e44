"""tanul.sklearn in scikit-learn's machinery: pipelines, searches in other processes, pickling
through the .tanul format, the model= hook (LeNet-5 on images), partial_fit, early stopping."""

import os
import pickle
import pickletools

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.base import clone  # noqa: E402
from sklearn.compose import ColumnTransformer  # noqa: E402
from sklearn.datasets import load_digits, load_iris, make_regression  # noqa: E402
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

import tanul  # noqa: E402
from tanul.models import lenet5  # noqa: E402
from tanul.sklearn import NetClassifier, NetRegressor  # noqa: E402


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return X, y


def _opcodes(blob):
    return {op.name for op, _, _ in pickletools.genops(blob)}


def test_classifier_learns_iris_and_exposes_fitted_attributes(iris):
    X, y = iris
    clf = make_pipeline(StandardScaler(), NetClassifier(hidden_layer_sizes=(16,), learning_rate=0.01, random_state=0))
    clf.fit(X, y)
    net = clf[-1]
    assert clf.score(X, y) > 0.95
    assert net.classes_.tolist() == [0, 1, 2]
    assert net.n_features_in_ == 4 and net.n_iter_ == 100
    assert len(net.history_["loss"]) == 100 and net.history_["loss"][-1] < net.history_["loss"][0] / 3
    assert isinstance(net.model_, tanul.Sequential)
    proba = clf.predict_proba(X[:5])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    # predict_proba is the softmax of decision_function, whose arg-max is predict
    z = clf.decision_function(X[:5])
    np.testing.assert_allclose(proba, np.exp(z) / np.exp(z).sum(axis=1, keepdims=True), rtol=1e-10)
    assert (clf.classes_[z.argmax(axis=1)] == clf.predict(X[:5])).all()
    np.testing.assert_allclose(clf.predict_log_proba(X[:5]), np.log(proba), rtol=1e-9, atol=1e-12)


def test_binary_decision_function_is_the_log_odds(iris):
    X, y = iris
    X, y = X[y > 0], np.where(y[y > 0] == 1, "versicolor", "virginica")
    clf = NetClassifier(hidden_layer_sizes=(8,), epochs=20, random_state=1).fit(X, y)
    d, p = clf.decision_function(X), clf.predict_proba(X)
    assert d.shape == (len(X),)
    np.testing.assert_allclose(d, np.log(p[:, 1] / p[:, 0]), rtol=1e-7, atol=1e-9)
    assert (clf.predict(X) == np.where(d > 0, "virginica", "versicolor")).all()


def test_string_labels_and_dataframe_feature_names(iris):
    pd = pytest.importorskip("pandas")
    X, y = iris
    df = pd.DataFrame(X, columns=["sepal_l", "sepal_w", "petal_l", "petal_w"])
    labels = np.array(["setosa", "versicolor", "virginica"], dtype=object)[y]
    clf = NetClassifier(hidden_layer_sizes=(8,), epochs=5, random_state=0).fit(df, labels)
    assert clf.feature_names_in_.tolist() == list(df.columns)
    assert set(clf.predict(df)) <= {"setosa", "versicolor", "virginica"}
    with pytest.warns(UserWarning, match="feature names"):
        clf.predict(X)
    # the pickle holds labels and names as plain strings, not object arrays
    blob = pickle.dumps(clf)
    assert b"numpy" not in blob  # no object array (nor any array) is pickled
    twin = pickle.loads(blob)
    assert twin.classes_.dtype == object and twin.classes_.tolist() == clf.classes_.tolist()
    assert twin.feature_names_in_.tolist() == list(df.columns)


def test_pickle_goes_through_the_tanul_format_without_numpy_objects(iris):
    X, y = iris
    clf = NetClassifier(hidden_layer_sizes=(8,), epochs=5, random_state=0).fit(X, y)
    blob = pickle.dumps(clf)
    # no ndarray is pickled: the stream names no numpy global at all (no _reconstruct, no dtype)
    assert b"numpy" not in blob
    assert "STACK_GLOBAL" in _opcodes(blob)  # (the estimator class itself is referenced)
    state = clf.__getstate__()
    assert isinstance(state["_tanul_checkpoint"], bytes) and state["_tanul_checkpoint"][:2] == b"PK"
    # the bytes are a .tanul file: tanul.io.load_checkpoint reads them
    import os
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "m.tanul")
        with open(path, "wb") as f:
            f.write(state["_tanul_checkpoint"])
        model, info = tanul.io.load_checkpoint(path)
    np.testing.assert_array_equal(model.predict(X), clf.model_.predict(X))
    assert info["extra"]["classes"]["values"] == [0, 1, 2]
    twin = pickle.loads(blob)
    np.testing.assert_array_equal(twin.predict_proba(X), clf.predict_proba(X))
    assert twin.history_ == clf.history_ and twin.n_iter_ == 5


def test_partial_fit_after_unpickling_continues_exactly(iris):
    X, y = iris
    a = NetClassifier(hidden_layer_sizes=(8,), epochs=3, random_state=0).fit(X, y)
    b = pickle.loads(pickle.dumps(a))
    a.partial_fit(X, y)
    b.partial_fit(X, y)
    assert a.n_iter_ == b.n_iter_ == 4 and len(a.history_["loss"]) == 4
    np.testing.assert_array_equal(a.model_.params, b.model_.params)


def test_partial_fit_is_one_epoch_and_needs_all_classes(iris):
    X, y = iris
    clf = NetClassifier(hidden_layer_sizes=(8,), random_state=0)
    clf.partial_fit(X[:20], y[:20], classes=[0, 1, 2])  # only class 0 in this batch
    assert clf.n_iter_ == 1 and clf.classes_.tolist() == [0, 1, 2]
    before = clf.model_.params.copy()
    clf.partial_fit(X, y)
    assert clf.n_iter_ == 2 and not np.array_equal(before, clf.model_.params)
    with pytest.raises(ValueError, match=r"labels \[7\] are not in classes_"):
        clf.partial_fit(X[:3], [0, 1, 7])
    with pytest.raises(ValueError, match="at least 2 classes"):
        NetClassifier().partial_fit(X[:20], y[:20])


def test_clone_gives_an_unfitted_twin(iris):
    X, y = iris
    clf = NetClassifier(hidden_layer_sizes=(8,), epochs=3, random_state=0).fit(X, y)
    twin = clone(clf)
    assert twin.get_params() == clf.get_params()
    assert not hasattr(twin, "model_") and not hasattr(twin, "classes_")
    twin.fit(X, y)  # same seed, same data: the same network
    np.testing.assert_array_equal(twin.model_.params, clf.model_.params)


def test_grid_and_randomized_search_in_two_processes(iris):
    if "MUTANT_UNDER_TEST" in os.environ:  # mutmut: its forked worker cannot start a joblib pool
        pytest.skip("worker processes import the unmutated tanul; their pool hangs in mutmut's forked worker")
    X, y = iris
    pipe = make_pipeline(StandardScaler(), NetClassifier(epochs=15, random_state=0))
    grid = GridSearchCV(pipe, {"netclassifier__hidden_layer_sizes": [(4,), (16,)],
                               "netclassifier__learning_rate": [0.01]}, cv=3, n_jobs=2)
    grid.fit(X, y)
    assert grid.best_score_ > 0.8 and len(grid.cv_results_["params"]) == 2
    assert grid.best_estimator_.score(X, y) > 0.85
    rnd = RandomizedSearchCV(NetRegressor(epochs=10, random_state=0),
                             {"hidden_layer_sizes": [(8,), (16,)], "l2": [0.0, 1e-3]}, n_iter=2, cv=2,
                             n_jobs=2, random_state=0)
    Xr, yr = make_regression(n_samples=120, n_features=4, noise=1.0, random_state=0)
    rnd.fit(Xr, yr / yr.std())
    assert np.isfinite(rnd.best_score_)


def test_cross_val_score_and_column_transformer(iris):
    pd = pytest.importorskip("pandas")
    X, y = iris
    df = pd.DataFrame(X, columns=list("abcd"))
    df["colour"] = np.where(y == 0, "red", "blue")  # a column the network must not see raw
    pre = ColumnTransformer([("num", StandardScaler(), ["a", "b", "c", "d"])], remainder="drop")
    pipe = make_pipeline(pre, NetClassifier(hidden_layer_sizes=(16,), epochs=30, random_state=0))
    scores = cross_val_score(pipe, df, y, cv=3)
    assert scores.shape == (3,) and scores.mean() > 0.8


def test_regressor_learns_a_linear_map_and_multioutput():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    Y = np.c_[X @ [1.0, -2.0, 0.5], X[:, 0] - X[:, 2]]
    reg = NetRegressor(hidden_layer_sizes=(32,), epochs=60, random_state=0).fit(X, Y)
    assert reg.predict(X).shape == (300, 2) and reg.score(X, Y) > 0.97
    reg1 = NetRegressor(hidden_layer_sizes=(32,), epochs=60, random_state=0).fit(X, Y[:, 0])
    assert reg1.predict(X).shape == (300,)
    assert not hasattr(reg1, "predict_proba") and not hasattr(reg1, "decision_function")


def test_network_options_build_the_documented_layers(iris):
    X, y = iris
    clf = NetClassifier(hidden_layer_sizes=(8, 6), activation="tanh", dropout=0.2, batch_norm=True,
                        l2=1e-3, epochs=2, optimizer="sgd", learning_rate=0.05, random_state=0).fit(X, y)
    kinds = [type(layer).__name__ for layer in clf.model_.layers]
    assert kinds == ["Dense", "BatchNorm", "Tanh", "Dropout", "Dense", "BatchNorm", "Tanh", "Dropout", "Dense"]
    assert type(clf.model_.optimizer).__name__ == "SGD" and clf.model_.optimizer.lr == 0.05
    assert all("W" in layer.regularizers for layer in clf.model_.layers if type(layer).__name__ == "Dense")
    assert clf.model_.dtype == np.float64
    f32 = NetClassifier(hidden_layer_sizes=(4,), epochs=1, dtype="float32", random_state=0).fit(X, y)
    assert f32.model_.dtype == np.float32


def test_early_stopping_stops_and_keeps_a_validation_curve():
    X, y = load_digits(return_X_y=True)
    clf = NetClassifier(hidden_layer_sizes=(32,), epochs=200, early_stopping=True, patience=3,
                        validation_fraction=0.2, random_state=0).fit(X / 16.0, y)
    assert clf.n_iter_ < 200 and len(clf.history_["val_loss"]) == clf.n_iter_
    assert clf.score(X / 16.0, y) > 0.9


@pytest.mark.parametrize("params, match", [
    ({"hidden_layer_sizes": (0,)}, "hidden_layer_sizes"),
    ({"activation": "softmax"}, "activation"),
    ({"dropout": 1.0}, "dropout"),
    ({"epochs": 0}, "epochs"),
    ({"learning_rate": -1.0}, "learning_rate"),
    ({"batch_size": 0}, "batch_size"),
    ({"l2": -1}, "l2"),
    ({"validation_fraction": 1.0}, "validation_fraction"),
    ({"patience": -1}, "patience"),
    ({"optimizer": "nope"}, "unknown optimizer 'nope'"),
    ({"dtype": "int8"}, "dtype"),
    ({"verbose": 5}, "verbose"),
])
def test_bad_parameters_fail_at_fit_with_a_clear_message(iris, params, match):
    X, y = iris
    with pytest.raises(ValueError, match=match):
        NetClassifier(**params).fit(X, y)


def test_model_hook_must_return_an_uncompiled_sequential(iris):
    X, y = iris
    with pytest.raises(TypeError, match="must return a tanul.Sequential"):
        NetClassifier(model=lambda: "not a model").fit(X, y)
    with pytest.raises(ValueError, match=r"outputs samples of shape \(5,\), expected \(3,\)"):
        NetClassifier(model=lambda: tanul.Sequential([tanul.Dense(5)])).fit(X, y)
    with pytest.raises(TypeError, match="expected model to be None or a function"):
        NetClassifier(model=3).fit(X, y)
    with pytest.raises(ValueError, match="dim 4, while dim <= 2 is required"):  # scikit-learn's words
        NetClassifier().fit(X.reshape(-1, 1, 2, 2), y)


def build_lenet5(input_shape, n_outputs, seed):
    """A module-level function, so that the estimator pickles (the function by reference)."""
    return lenet5(input_shape=input_shape, num_classes=n_outputs, seed=seed, activation="relu")


def test_model_hook_trains_lenet5_on_images_and_pickles():
    X, y = load_digits(return_X_y=True)
    # 8x8 digits enlarged to 16x16 (each pixel a 2x2 block), so that LeNet-5's two 5x5 convolutions fit
    images = np.kron((X / 16.0).reshape(-1, 1, 8, 8), np.ones((2, 2)))
    clf = NetClassifier(model=build_lenet5, epochs=5, batch_size=32, learning_rate=0.003, random_state=0)
    clf.fit(images[:600], y[:600])
    assert [type(layer).__name__ for layer in clf.model_.layers][:2] == ["Conv2D", "MaxPool2D"]
    assert clf.n_features_in_ == 1 and clf.model_.input_shape == (1, 16, 16)
    assert clf.score(images[600:900], y[600:900]) > 0.85
    twin = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(twin.predict_proba(images[:50]), clf.predict_proba(images[:50]))
    with pytest.raises(ValueError, match="shape mismatch"):
        clf.predict(images[:, :, :15, :15])


def test_import_tanul_does_not_load_sklearn_or_onnx():
    import subprocess
    import sys

    code = ("import sys, tanul; bad = [m for m in ('sklearn', 'onnx', 'onnxruntime', 'scipy') "
            "if m in sys.modules]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_verbose_prints_progress(iris, capsys):
    X, y = iris
    NetClassifier(hidden_layer_sizes=(4,), epochs=2, verbose=2, random_state=0).fit(X, y)
    captured = capsys.readouterr()
    assert "loss" in (captured.out + captured.err)


def test_fitted_estimators_come_back_from_worker_processes(iris):
    from sklearn.model_selection import cross_validate

    X, y = iris
    clf = NetClassifier(hidden_layer_sizes=(8,), epochs=20, learning_rate=0.01, random_state=0)
    res = cross_validate(clf, X, y, cv=2, n_jobs=2, return_estimator=True)
    for est in res["estimator"]:  # fitted in a loky process, pickled back through __getstate__
        assert isinstance(est.model_, tanul.Sequential) and est.n_iter_ == 20
        assert est.classes_.tolist() == [0, 1, 2] and len(est.history_["loss"]) == 20
    assert res["estimator"][0].score(X, y) > 0.6


def test_gridsearch_example_runs_quick(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONPATH=str(root / "src"))
    proc = subprocess.run([sys.executable, str(root / "examples" / "sklearn_gridsearch.py"), "--quick"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "| tanul NetClassifier | (64,) | 0.01 |" in proc.stdout
    assert "| sklearn MLPClassifier |" in proc.stdout
