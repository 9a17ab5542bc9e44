"""Sequential: structure, weights, configs, fit semantics, dtypes, seeding and errors."""

import numpy as np
import pytest

from tanul import regularizers
from tanul.callbacks import Callback
from tanul.layers import Dense, Dropout, Flatten, ReLU, Softmax
from tanul.losses import CrossEntropy, MeanSquaredError
from tanul.model import Sequential, TrainingDivergedError
from tanul.optimizers import SGD, Adam

rng = np.random.default_rng(0)
X = rng.standard_normal((40, 4)).astype(np.float32)
Y_CLS = (X[:, 0] + X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 1)     # 3 classes
Y_REG = (X @ np.array([1.0, -2.0, 0.5, 0.0]))[:, None].astype(np.float32)


def mlp(seed=0, dtype="float32", out=3, **kw):
    return Sequential([Dense(8, activation="tanh"), Dense(out)], seed=seed, dtype=dtype, **kw)


def compiled(seed=0, dtype="float32", loss="cross_entropy", optimizer=None, out=3, **kw):
    model = mlp(seed, dtype, out, **kw)
    model.compile(optimizer=optimizer or SGD(lr=0.1), loss=loss)
    return model


# ------------------------------------------------------------------ structure and display
def test_summary_names_shapes_and_counts():
    model = Sequential([Dense(16, activation="relu"), Dropout(0.2), Dense(3)], seed=0, input_shape=(4,))
    text = model.summary(print_fn=None)
    lines = text.splitlines()
    row = {line.split()[0]: line for line in lines if line.startswith(("dense", "dropout"))}
    assert set(row) == {"dense_0", "dropout_0", "dense_1"}
    # 4·16 + 16 = 80;  16·3 + 3 = 51;  total 131
    assert "(Dense)" in row["dense_0"] and "(16,)" in row["dense_0"] and row["dense_0"].endswith("80")
    assert "(Dropout)" in row["dropout_0"] and row["dropout_0"].endswith(" 0")
    assert "(3,)" in row["dense_1"] and row["dense_1"].endswith("51")
    assert "Trainable params: 131" in text and "float32" in text
    assert model.count_params() == 131


def test_summary_prints(capsys):
    mlp(input_shape=(4,)).summary()
    assert "Trainable params: 67" in capsys.readouterr().out      # 4·8 + 8 + 8·3 + 3


def test_layer_names_are_counted_per_class():
    model = Sequential([Dense(4), ReLU(), Dense(4), ReLU(), Dense(2)])
    assert [layer.name for layer in model.layers] == ["dense_0", "relu_0", "dense_1", "relu_1", "dense_2"]


def test_repr():
    model = Sequential([Dense(4, activation="relu"), Dense(1)], seed=3, dtype="float64")
    assert repr(model) == ("Sequential([\n  Dense(4, activation='relu', name='dense_0'),\n"
                           "  Dense(1, name='dense_1')\n], seed=3, dtype='float64')")
    assert repr(Sequential()) == "Sequential([])"


def test_parameters_live_in_one_flat_buffer():
    model = mlp(input_shape=(4,))
    assert model.parameter_names == ["dense_0.W", "dense_0.b", "dense_1.W", "dense_1.b"]
    assert model.params.shape == (67,) and model.grads.shape == (67,)
    for layer in model.layers:
        for k in layer.params:
            assert np.shares_memory(layer.params[k], model.params)
            assert np.shares_memory(layer.grads[k], model.grads)
    model.params[:] = 0.5                                       # writing the buffer changes the layers
    assert (model.layers[1].params["W"] == 0.5).all()


# ------------------------------------------------------------------ weights and configs
def test_get_set_weights_round_trip():
    a, b = mlp(seed=1, input_shape=(4,)), mlp(seed=2, input_shape=(4,))
    assert not np.array_equal(a.predict(X), b.predict(X))
    weights = a.get_weights()
    assert [w.shape for w in weights] == [(4, 8), (8,), (8, 3), (3,)]
    b.set_weights(weights)
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
    weights[0][...] = 0.0                                       # copies, not views
    assert a.layers[0].params["W"].any()


def test_set_weights_errors():
    model = mlp(input_shape=(4,))
    w = model.get_weights()
    with pytest.raises(ValueError, match="expected 4 arrays, got 3"):
        model.set_weights(w[:3])
    w[2] = np.zeros((3, 8))
    with pytest.raises(ValueError, match=r"dense_1.W: expected \(8, 3\), got \(3, 8\)"):
        model.set_weights(w)


def test_config_round_trip_rebuilds_the_same_model():
    model = Sequential([Dense(6, activation="relu", kernel_regularizer=regularizers.L2(0.01)),
                        Dropout(0.3), Dense(2, kernel_initializer="he_normal")],
                       seed=5, dtype="float64", input_shape=(3,), name="net")
    cfg = model.get_config()
    clone = Sequential.from_config(cfg)
    assert clone.get_config() == cfg
    assert repr(clone) == repr(model)
    assert clone.name == "net" and clone.dtype == np.float64 and clone.input_shape == (3,)
    # same seed, same config: the same initial weights, bit for bit
    for a, b in zip(model.get_weights(), clone.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_config_is_json_ready():
    import json
    model = mlp(seed=0, input_shape=(4,))
    cfg = json.loads(json.dumps(model.get_config()))
    assert Sequential.from_config(cfg).count_params() == model.count_params()


# ------------------------------------------------------------------ predict / evaluate
def test_predict_batching_equals_one_shot():
    model = mlp(dtype="float64", input_shape=(4,))
    whole = model.predict(X, batch_size=1000)
    np.testing.assert_allclose(model.predict(X, batch_size=7), whole, rtol=1e-12)
    np.testing.assert_allclose(model.predict(X, batch_size=1), whole, rtol=1e-12)
    assert whole.shape == (40, 3)


def test_evaluate_returns_loss_dict():
    model = compiled(dtype="float64", input_shape=(4,))
    result = model.evaluate(X, Y_CLS)
    assert set(result) == {"loss"} and isinstance(result["loss"], float)
    z = model.predict(X)
    logp = z - z.max(axis=1, keepdims=True)
    logp -= np.log(np.exp(logp).sum(axis=1, keepdims=True))
    assert result["loss"] == pytest.approx(-logp[np.arange(40), Y_CLS].mean(), rel=1e-12)


def test_evaluate_includes_regularisation_penalty():
    model = Sequential([Dense(3, kernel_regularizer=regularizers.L2(0.5))], seed=0, dtype="float64",
                       input_shape=(4,))
    model.compile(optimizer="sgd", loss="mse")
    W = model.layers[0].params["W"]
    mse = MeanSquaredError()(model.predict(X), np.zeros((40, 3)))
    assert model.evaluate(X, np.zeros((40, 3)))["loss"] == pytest.approx(mse + 0.5 * (W ** 2).sum())


def test_evaluate_with_metrics():
    pytest.importorskip("tanul.metrics")
    model = compiled(input_shape=(4,))
    model.compile(optimizer="sgd", loss="cross_entropy", metrics=["accuracy"])
    result = model.evaluate(X, Y_CLS)
    expected = float((model.predict(X).argmax(axis=1) == Y_CLS).mean())
    assert result["accuracy"] == pytest.approx(expected)


def test_predict_proba_and_classes():
    model = compiled(dtype="float64", input_shape=(4,))
    p = model.predict_proba(X)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    np.testing.assert_array_equal(model.predict_classes(X), model.predict(X).argmax(axis=1))


# ------------------------------------------------------------------ fit semantics
def test_full_batch_is_one_step_on_all_data():
    a = compiled(seed=3, dtype="float64")
    b = compiled(seed=3, dtype="float64")
    a.fit(X, Y_CLS, epochs=2, batch_size=None, shuffle=False, verbose=0)
    b.train_on_batch(X, Y_CLS)
    b.train_on_batch(X, Y_CLS)
    assert a.optimizer.iterations == 2
    np.testing.assert_array_equal(a.params, b.params)


def test_full_batch_with_shuffle_is_still_one_step():
    a = compiled(seed=3, dtype="float64")
    b = compiled(seed=3, dtype="float64")
    a.fit(X, Y_CLS, epochs=1, batch_size=None, verbose=0)
    b.train_on_batch(X, Y_CLS)
    assert a.optimizer.iterations == 1
    np.testing.assert_allclose(a.params, b.params, rtol=1e-12)    # only the summation order differs


def test_batch_size_one_is_stochastic_gradient_descent():
    a = compiled(seed=4, dtype="float64")
    b = compiled(seed=4, dtype="float64")
    a.fit(X[:10], Y_CLS[:10], epochs=1, batch_size=1, shuffle=False, verbose=0)
    for i in range(10):
        b.train_on_batch(X[i:i + 1], Y_CLS[i:i + 1])
    assert a.optimizer.iterations == 10
    np.testing.assert_array_equal(a.params, b.params)


def test_minibatch_step_count_and_logged_loss():
    model = compiled(seed=0, dtype="float64")
    seen = []

    class Record(Callback):
        def on_batch_end(self, batch, logs=None):
            seen.append((logs["size"], logs["loss"]))

    hist = model.fit(X, Y_CLS, epochs=1, batch_size=16, shuffle=False, verbose=0, callbacks=[Record()])
    assert [s for s, _ in seen] == [16, 16, 8]          # ⌈40/16⌉ = 3 batches, the last one smaller
    # the epoch loss is the sample-weighted mean of the batch losses
    expected = sum(s * loss for s, loss in seen) / 40
    assert hist.history["loss"][0] == pytest.approx(expected, rel=1e-12)


def test_shuffle_changes_the_order_but_not_the_data():
    a = compiled(seed=0, dtype="float64")
    b = compiled(seed=0, dtype="float64")
    a.fit(X, Y_CLS, epochs=1, batch_size=8, shuffle=True, verbose=0)
    b.fit(X, Y_CLS, epochs=1, batch_size=8, shuffle=False, verbose=0)
    assert not np.array_equal(a.params, b.params)


def test_validation_split_takes_the_last_fraction():
    a = compiled(seed=1, dtype="float64")
    hist = a.fit(X, Y_CLS, epochs=2, batch_size=8, validation_split=0.25, verbose=0)
    # trained on the first 30 rows only: identical to fitting those directly
    b = compiled(seed=1, dtype="float64")
    b.fit(X[:30], Y_CLS[:30], epochs=2, batch_size=8, verbose=0)
    np.testing.assert_array_equal(a.params, b.params)
    # and validated on the last 10
    assert hist.history["val_loss"][-1] == pytest.approx(a.evaluate(X[30:], Y_CLS[30:])["loss"], rel=1e-12)


def test_validation_data_and_history():
    model = compiled(seed=0)
    hist = model.fit(X[:30], Y_CLS[:30], epochs=3, batch_size=10, validation_data=(X[30:], Y_CLS[30:]),
                     verbose=0)
    assert hist is model.history
    assert len(hist.history["loss"]) == len(hist.history["val_loss"]) == 3
    assert hist.history["loss"][-1] < hist.history["loss"][0]


def test_training_reduces_the_loss():
    model = compiled(seed=0, loss="mse", out=1, optimizer=Adam(lr=0.02))
    hist = model.fit(X, Y_REG, epochs=50, batch_size=8, verbose=0)
    before = hist.history["loss"][0]
    assert model.evaluate(X, Y_REG)["loss"] < 0.05 * before


# ------------------------------------------------------------------ dtypes
def test_float32_by_default():
    model = compiled()
    model.fit(X.astype(np.float64), Y_CLS, epochs=1, verbose=0)
    assert model.params.dtype == np.float32
    assert all(p.dtype == np.float32 for layer in model.layers for p in layer.params.values())
    assert model.predict(X.astype(np.float64)).dtype == np.float32


def test_float64_on_request():
    model = compiled(dtype="float64")
    model.fit(X, Y_CLS, epochs=1, verbose=0)
    assert model.params.dtype == np.float64
    assert model.predict(X).dtype == np.float64
    assert "float64" in model.summary(print_fn=None)


def test_integer_inputs_are_cast():
    model = compiled(input_shape=(4,))
    assert model.predict(np.ones((2, 4), dtype=np.int64)).dtype == np.float32


# ------------------------------------------------------------------ seeding
def train(seed, dropout=True):
    layers = [Dense(16, activation="relu")] + ([Dropout(0.3)] if dropout else []) + [Dense(3)]
    model = Sequential(layers, seed=seed)
    model.compile(optimizer="adam", loss="cross_entropy")
    model.fit(X, Y_CLS, epochs=3, batch_size=8, verbose=0)
    return model


def test_same_seed_bit_identical_after_training():
    a, b = train(7), train(7)
    np.testing.assert_array_equal(a.params, b.params)
    assert a.history.history["loss"] == b.history.history["loss"]


def test_different_seeds_differ():
    assert not np.array_equal(train(7).params, train(8).params)


def test_unseeded_models_differ():
    a, b = mlp(seed=None, input_shape=(4,)), mlp(seed=None, input_shape=(4,))
    assert not np.array_equal(a.params, b.params)


# ------------------------------------------------------------------ divergence and warnings
def test_divergence_stops_with_a_clear_error():
    model = Sequential([Dense(8, activation="relu"), Dense(1)], seed=0)
    model.compile(optimizer=SGD(lr=1e6), loss="mse")
    with pytest.raises(TrainingDivergedError, match=r"diverged at epoch \d+, batch \d+"):
        model.fit(X * 1e3, Y_REG * 1e3, epochs=20, batch_size=8, verbose=0)


def test_divergence_in_the_last_step_is_caught():
    """Regression: a finite loss whose update overflows used to end fit silently with inf weights."""
    model = Sequential([Dense(1)], seed=0, input_shape=(2,))
    model.compile(optimizer=SGD(lr=1e10), loss="mse")
    x = np.full((4, 2), 1e15, np.float32)        # loss ≈ ½(1e15)² is finite in float32, the step is not
    with pytest.raises(TrainingDivergedError, match="parameters.*dense_0"):
        model.fit(x, np.zeros((4, 1)), epochs=1, batch_size=None, verbose=0)


def test_softmax_output_with_logits_loss_warns():
    model = Sequential([Dense(3), Softmax()])
    with pytest.warns(UserWarning, match="from_logits"):
        model.compile(optimizer="sgd", loss=CrossEntropy(from_logits=True))


# ------------------------------------------------------------------ errors
def test_not_compiled():
    model = mlp()
    for call in (lambda: model.fit(X, Y_CLS, verbose=0), lambda: model.evaluate(X, Y_CLS),
                 lambda: model.train_on_batch(X, Y_CLS)):
        with pytest.raises(RuntimeError, match="compile the model first"):
            call()


@pytest.mark.parametrize("epochs", [0, -1, 1.5, True])
def test_bad_epochs(epochs):
    with pytest.raises(ValueError, match=f"expected epochs to be a positive int, got epochs={epochs!r}"):
        compiled().fit(X, Y_CLS, epochs=epochs, verbose=0)


@pytest.mark.parametrize("batch_size", [0, -4, 2.0])
def test_bad_batch_size(batch_size):
    with pytest.raises(ValueError, match="expected batch_size to be a positive int or None"):
        compiled().fit(X, Y_CLS, batch_size=batch_size, verbose=0)


def test_wrong_input_width_after_build():
    model = compiled(input_shape=(4,))
    with pytest.raises(ValueError, match=r"(?s)Expect: \(N, 4\).*Actual: \(3, 5\)"):
        model.predict(np.zeros((3, 5)))
    with pytest.raises(ValueError, match=r"Expect: \(N, 4\)"):
        model.fit(np.zeros((3, 5)), np.zeros(3, np.int64), verbose=0)


def test_mismatched_sample_counts():
    with pytest.raises(ValueError, match="same number of samples, got 40 and 39"):
        compiled().fit(X, Y_CLS[:-1], verbose=0)


def test_labels_out_of_range_in_fit():
    with pytest.raises(ValueError, match=r"labels must be in \[0, 2\] for 3 outputs, got label 5"):
        compiled().fit(X, np.full(40, 5), verbose=0)


def test_regression_targets_of_wrong_shape():
    with pytest.raises(ValueError, match=r"(?s)Expect: \(40, 1\).*Actual: \(40, 2\)"):
        compiled(loss="mse", out=1).fit(X, np.zeros((40, 2)), verbose=0)


def test_nan_or_inf_in_inputs():
    bad = X.copy()
    bad[3, 2] = np.nan
    with pytest.raises(ValueError, match=r"fit: x: contains NaN or inf \(first at index \(3, 2\)\)"):
        compiled().fit(bad, Y_CLS, verbose=0)
    bad[3, 2] = np.inf
    with pytest.raises(ValueError, match="NaN or inf"):
        compiled(input_shape=(4,)).predict(bad)
    y = Y_REG.copy()
    y[7, 0] = -np.inf
    with pytest.raises(ValueError, match=r"fit: y: contains NaN or inf \(first at index \(7, 0\)\)"):
        compiled(loss="mse", out=1).fit(X, y, verbose=0)


def test_non_numeric_and_empty_inputs():
    with pytest.raises(TypeError, match="expected numeric data"):
        compiled().fit(np.array([["a"] * 4] * 2), np.zeros(2, np.int64), verbose=0)
    with pytest.raises(ValueError, match="at least one sample"):
        compiled().fit(np.zeros((0, 4)), np.zeros(0, np.int64), verbose=0)


@pytest.mark.parametrize("split", [1.0, -0.1, 0.001])
def test_bad_validation_split(split):
    with pytest.raises(ValueError, match="validation_split"):
        compiled().fit(X, Y_CLS, validation_split=split, verbose=0)


def test_validation_split_and_data_together():
    with pytest.raises(ValueError, match="not both"):
        compiled().fit(X, Y_CLS, validation_split=0.2, validation_data=(X, Y_CLS), verbose=0)


def test_compile_errors():
    model = mlp()
    with pytest.raises(ValueError, match="expected a loss"):
        model.compile(optimizer="sgd")
    with pytest.raises(ValueError, match="Unknown optimizer 'adamx'.*adam"):
        model.compile(optimizer="adamx", loss="mse")
    with pytest.raises(ValueError, match="Unknown loss 'msq'"):
        model.compile(optimizer="sgd", loss="msq")
    with pytest.raises(ValueError, match=r"SGD: expected lr >= 0, got lr=-0.1"):
        SGD(lr=-0.1)


@pytest.mark.parametrize("kwargs,err,match", [
    (dict(dtype="float16"), ValueError, "expected dtype 'float32' or 'float64'"),
    (dict(seed=-1), ValueError, "expected seed to be a non-negative int"),
    (dict(seed=1.5), ValueError, "expected seed"),
])
def test_bad_constructor_arguments(kwargs, err, match):
    with pytest.raises(err, match=match):
        Sequential([Dense(2)], **kwargs)


def test_add_errors():
    layer = Dense(2)
    model = Sequential([layer])
    with pytest.raises(TypeError, match="expected a tanul Layer"):
        model.add("dense")
    with pytest.raises(ValueError, match="already in the model"):
        model.add(layer)
    with pytest.raises(ValueError, match="duplicate layer name 'dense_0'"):
        model.add(Dense(3, name="dense_0"))
    model.build((3,))
    with pytest.raises(RuntimeError, match="already built"):
        model.add(Dense(1))


def test_empty_model_cannot_build():
    with pytest.raises(ValueError, match="no layers"):
        Sequential().build((3,))


def test_image_model_with_flatten():
    x = rng.random((6, 1, 4, 4)).astype(np.float32)
    model = Sequential([Flatten(), Dense(2)], seed=0)
    model.compile(optimizer="sgd", loss="cross_entropy")
    model.fit(x, np.array([0, 1, 0, 1, 0, 1]), epochs=1, verbose=0)
    assert model.input_shape == (1, 4, 4) and model.count_params() == 34


def test_summary_of_an_unbuilt_model_does_not_claim_zero_parameters():
    """Regression: an unbuilt model's summary used to say 'Trainable params: 0'."""
    text = mlp().summary(print_fn=None)
    assert "Trainable params: ?" in text and "not built" in text


def test_a_layer_that_rebinds_its_gradient_still_trains():
    """The model copies a rebound gradient back into its flat buffer (the design's promise)."""
    from tanul.layers import Layer

    class Scale(Layer):                       # y = a·x with one learnable a, written carelessly
        def build(self, input_shape, rng, dtype=np.float32):
            self.params["a"] = np.ones(1, dtype)
            super().build(input_shape, rng, dtype)

        def forward(self, x, training=False):
            self._cache = x
            return x * self.params["a"]

        def backward(self, dy):
            self.grads["a"] = np.array([np.sum(dy * self._cache)], dy.dtype)   # rebinds!
            return dy * self.params["a"]

    model = Sequential([Scale()], dtype="float64", input_shape=(1,))
    model.compile(optimizer=SGD(lr=0.1), loss="mse")
    x, y = np.array([[1.0], [2.0]]), np.array([[3.0], [6.0]])     # best a = 3
    for _ in range(3):
        model.train_on_batch(x, y)
        assert np.shares_memory(model.layers[0].grads["a"], model.grads)
    model.fit(x, y, epochs=200, batch_size=None, verbose=0)
    assert model.layers[0].params["a"][0] == pytest.approx(3.0, abs=1e-6)
