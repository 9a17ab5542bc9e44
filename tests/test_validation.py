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
    (X, np.arange(10) % 5, "label"),                       # labels outside the 3 classes
    (X, Y[:7], "7"),                                       # lengths differ
    (X[:0], Y[:0], "empty|at least one|0 samples"),
    (np.where(np.eye(10, 2) > 0, np.nan, X), Y, "NaN|non-finite|finite"),
    (np.where(np.eye(10, 2) > 0, np.inf, X), Y, "NaN|non-finite|finite|inf"),
    (X.astype(str), Y, "numeric|dtype|float"),
])
def test_fit_rejects_bad_data(x, y, match):
    with pytest.raises((ValueError, TypeError), match=match):
        _clf().fit(x, y, epochs=1, verbose=0)


@pytest.mark.parametrize("bs", [0, -3, 2.5, True])
def test_batch_size(bs):
    with pytest.raises(ValueError, match="batch_size"):
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
    (lambda: tanul.Dense(3, activation="swishy"), "swishy"),
    (lambda: tanul.Dense(3, kernel_initializer="glorot_gaussian"), "glorot_gaussian"),
    (lambda: tanul.optimizers.get("adamax"), "Known"),
    (lambda: tanul.losses.get("hinge"), "Known"),
    (lambda: tanul.layers.get("Dense9"), "Known"),
    (lambda: tanul.metrics.get("accurasy"), "accuracy"),
    (lambda: tanul.Dense(0), "units"),
    (lambda: tanul.Dropout(1.5), "rate"),
    (lambda: tanul.Conv2D(4, 0), "kernel"),
])
def test_unknown_names_and_bad_arguments(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


def test_not_compiled_and_bad_epochs():
    m = tanul.Sequential([tanul.Dense(1)])
    with pytest.raises(RuntimeError, match="compile"):
        m.fit(X, Y, epochs=1)
    with pytest.raises(ValueError, match="epochs"):
        _clf().fit(X, Y, epochs=0)


def test_cli_bad_inputs_one_line(tmp_path, capsys):
    from tanul.cli import main
    assert main(["train", "--dataset", "digits", "--epochs", "0", "--out", str(tmp_path), "--quiet"]) == 2
    assert "epochs" in capsys.readouterr().err
    assert main(["forecast", "--data", str(tmp_path / "none.csv"), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "none.csv" in err
