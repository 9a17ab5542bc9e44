"""Bad input everywhere: each error says what was expected and what was received."""

import numpy as np
import pytest

import tanul


def _clf():
    m = tanul.Sequential([tanul.Dense(4, activation="relu"), tanul.Dense(3)], seed=0)
    m.compile(optimizer="adam", loss="cross_entropy")
    return m


X = np.random.default_rng(0).normal(size=(10, 2)).astype(np.float32)
Y = np.arange(10) % 3


@pytest.mark.parametrize(("x", "y", "match"), [
    # each message: where, what was expected, what was received
    (X, np.arange(10) % 5, r"labels must be in \[0, 2\] for 3 outputs, got label 3"),
    (X, Y[:7], r"fit: x and y must have the same number of samples, got 10 and 7"),
    (X[:0], Y[:0], r"fit: x: expected at least one sample, got shape \(0, 2\)"),
    (np.where(np.eye(10, 2) > 0, np.nan, X), Y, r"fit: x: contains NaN or inf \(first at index \(0, 0\)\)"),
    (np.where(np.eye(10, 2) > 0, np.inf, X), Y, r"fit: x: contains NaN or inf \(first at index \(0, 0\)\)"),
    (X.astype(str), Y, r"fit: x: expected numeric data, got dtype <U"),
])
def test_fit_rejects_bad_data(x, y, match):
    with pytest.raises((ValueError, TypeError), match=match):
        _clf().fit(x, y, epochs=1, verbose=0)


def test_nan_position_is_reported():
    x = X.copy()
    x[6, 1] = np.nan
    with pytest.raises(ValueError, match=r"first at index \(6, 1\)"):
        _clf().fit(x, Y, epochs=1, verbose=0)


@pytest.mark.parametrize("bs", [0, -3, 2.5, True])
def test_batch_size(bs):
    with pytest.raises(ValueError, match=r"expected batch_size to be a positive int or None \(full batch\), "
                                         rf"got batch_size={bs}$"):
        _clf().fit(X, Y, epochs=1, batch_size=bs, verbose=0)


def test_batch_size_larger_than_data_is_one_full_batch():
    m = _clf()
    m.fit(X, Y, epochs=2, batch_size=1000, verbose=0)
    assert m.optimizer.iterations == 2


def test_predict_wrong_shape_says_both():
    m = _clf()
    m.fit(X, Y, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"Expect: \(N, 2\)[\s\S]*Actual: \(4, 3\)"):
        m.predict(np.zeros((4, 3), np.float32))


@pytest.mark.parametrize(("make", "match"), [
    (lambda: tanul.Dense(3, activation="swishy"), r"Unknown activation 'swishy'\. Known: .*\brelu\b.*\bsigmoid\b"),
    (lambda: tanul.Dense(3, kernel_initializer="glorot_gaussian"),
     r"Unknown initializer 'glorot_gaussian'\. Known: .*\bglorot_normal\b"),
    (lambda: tanul.optimizers.get("adamax"), r"Unknown optimizer 'adamax'\. Known: .*\badam\b.*\bsgd\b"),
    (lambda: tanul.losses.get("hinge"), r"Unknown loss 'hinge'\. Known: .*\bcross_entropy\b.*\bmse\b"),
    (lambda: tanul.layers.get("Dense9"), r"Unknown layer class 'Dense9'\. Known: .*\bDense\b.*register_layer"),
    (lambda: tanul.metrics.get("accurasy"), r"unknown metric 'accurasy'; expected one of .*\baccuracy\b"),
    (lambda: tanul.Dense(0), r"Dense: expected units to be a positive int, got units=0"),
    (lambda: tanul.Dropout(1.5), r"Dropout: expected rate in \[0, 1\), got rate=1\.5"),
    (lambda: tanul.Conv2D(4, 0), r"Conv2D: expected kernel_size to be a positive int or a pair of them, got kernel_size=0"),
])
def test_unknown_names_and_bad_arguments(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


def test_unknown_layer_lists_public_layers_only():
    with pytest.raises(ValueError) as exc:
        tanul.layers.get("Dense9")
    known = str(exc.value).split("Known: ")[1].split(". Register")[0].split(", ")
    assert "Dense" in known and "MaxPool2D" in known and not [n for n in known if n.startswith("_")]


def test_not_compiled_and_bad_epochs():
    m = tanul.Sequential([tanul.Dense(1)])
    with pytest.raises(RuntimeError, match=r"fit: compile the model first, e\.g\. model\.compile\("):
        m.fit(X, Y, epochs=1)
    with pytest.raises(ValueError, match=r"fit: expected epochs to be a positive int, got epochs=0"):
        _clf().fit(X, Y, epochs=0)


def test_cli_bad_inputs_one_line(tmp_path, capsys):
    from tanul.cli import main
    assert main(["train", "--dataset", "digits", "--epochs", "0", "--out", str(tmp_path), "--quiet"]) == 2
    assert capsys.readouterr().err == "tanul train: error: expected epochs to be a positive int, got 0\n"
    assert main(["forecast", "--data", str(tmp_path / "none.csv"), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "none.csv" in err
