"""Training, checked two ways.

1. One SGD step of tiny networks against numbers worked out by hand: a 2-2-1 network
   (lecture 1's "first network, by hand": z = XW + b, a = σ(z), squared-error cost, backprop
   output→hidden then hidden→input) and Matt Mazur's published 2-2-2 example.
2. Seeded end-to-end runs with a score threshold: scikit-learn's 8x8 digits and the
   xor / circle / spiral sets of the TensorFlow Playground.
"""

import math

import numpy as np
import pytest

from tanul.layers import Dense
from tanul.model import Sequential
from tanul.optimizers import SGD, Adam

# ======================================================================================
# 1. one step by hand
# ======================================================================================
#
# Network 2-2-1: hidden Dense(2, sigmoid), output Dense(1) linear; cost ½(ŷ − y)² (tanul's MSE
# for N = 1, K = 1); plain SGD with η = 0.5. COURSE.md gives the set-up of lecture 1 but no
# numbers, so the numbers here are ours, every one written out.
#
#   x = [1.0, 0.5],  y = 0.8
#   W1 = [[0.1, −0.2],      b1 = [0.0, 0.1]     (W1[i, j]: input i -> hidden j)
#         [0.4,  0.3]]
#   W2 = [[0.5], [−0.6]],   b2 = [0.2]
X1 = np.array([[1.0, 0.5]])
Y1 = np.array([[0.8]])
W1 = np.array([[0.1, -0.2], [0.4, 0.3]])
B1 = np.array([0.0, 0.1])
W2 = np.array([[0.5], [-0.6]])
B2 = np.array([0.2])
LR = 0.5

# forward
#   z1 = x W1 + b1 = [1·0.1 + 0.5·0.4 + 0.0,  1·(−0.2) + 0.5·0.3 + 0.1] = [0.3, 0.05]
#   a1 = σ(z1)     = [1/(1 + e^−0.3), 1/(1 + e^−0.05)] = [0.574442516812, 0.512497396484]
#   ŷ  = a1 W2 + b2 = 0.5·0.574442516812 − 0.6·0.512497396484 + 0.2 = 0.179722820515
#   L  = ½(ŷ − y)² = ½(0.179722820515 − 0.8)² = ½·0.620277179485² = 0.192371889695
Z1 = [0.3, 0.05]
A1 = [0.574442516812, 0.512497396484]
YHAT = 0.179722820515
LOSS = 0.192371889695

# backward (output -> hidden)
#   δ2 = ∂L/∂ŷ = ŷ − y = −0.620277179485
#   ∂L/∂W2 = a1ᵀ δ2 = [0.574442516812·(−0.620277179485), 0.512497396484·(−0.620277179485)]
#          = [−0.356313584104, −0.317890439584]
#   ∂L/∂b2 = δ2 = −0.620277179485
DELTA2 = -0.620277179485
DW2 = [[-0.356313584104], [-0.317890439584]]
DB2 = [-0.620277179485]

# backward (hidden -> input)
#   δ1_j = δ2 · W2[j] · a1_j (1 − a1_j)
#   δ1_0 = −0.620277179485 · 0.5  · 0.574442516812·0.425557483188 = −0.075815956039
#   δ1_1 = −0.620277179485 · −0.6 · 0.512497396484·0.487502603516 =  0.092983450158
#   ∂L/∂W1 = xᵀ δ1 = [[1.0·δ1_0, 1.0·δ1_1], [0.5·δ1_0, 0.5·δ1_1]]
#   ∂L/∂b1 = δ1
DELTA1 = [-0.075815956039, 0.092983450158]
DW1 = [[-0.075815956039, 0.092983450158], [-0.037907978019, 0.046491725079]]
DB1 = DELTA1

# update θ ← θ − η ∂L/∂θ, η = 0.5
#   W2 = [0.5 − 0.5·(−0.356313584104), −0.6 − 0.5·(−0.317890439584)] = [0.678156792052, −0.441054780208]
#   b2 = 0.2 − 0.5·(−0.620277179485) = 0.510138589742
#   W1 = [[0.1 + 0.037907978019, −0.2 − 0.046491725079], [0.4 + 0.018953989010, 0.3 − 0.023245862540]]
#   b1 = [0.0 + 0.037907978019, 0.1 − 0.046491725079]
NEW_W2 = [[0.678156792052], [-0.441054780208]]
NEW_B2 = [0.510138589742]
NEW_W1 = [[0.137907978019, -0.246491725079], [0.418953989010, 0.276754137460]]
NEW_B1 = [0.037907978019, 0.053508274921]

HAND = dict(atol=1e-11, rtol=0)    # the hand values carry 12 decimals


def net_221(activation_out=None):
    model = Sequential([Dense(2, activation="sigmoid"), Dense(1, activation=activation_out)],
                       seed=0, dtype="float64", input_shape=(2,))
    model.set_weights([W1, B1, W2, B2])
    model.compile(optimizer=SGD(lr=LR), loss="mse")
    return model


def test_hand_arithmetic_stage_by_stage():
    """Each hand-worked stage against the tanul piece that computes it, one at a time, so that a
    failure names the stage (the end-to-end tests below only say that the step is wrong)."""
    from tanul.layers import Sigmoid
    from tanul.losses import MeanSquaredError
    from tanul.ops.activations import sigmoid, sigmoid_backward

    hidden = Dense(2)  # linear: z1 = x W1 + b1
    hidden.build((2,), np.random.default_rng(0), dtype=np.float64)
    hidden.params["W"][...], hidden.params["b"][...] = W1, B1
    np.testing.assert_allclose(hidden.forward(X1), [Z1], atol=1e-15, rtol=0)
    np.testing.assert_allclose(sigmoid(np.array(Z1)), A1, **HAND)
    act = Sigmoid()
    np.testing.assert_allclose(act.forward(np.array([Z1])), [A1], **HAND)
    out = Dense(1)
    out.build((2,), np.random.default_rng(0), dtype=np.float64)
    out.params["W"][...], out.params["b"][...] = W2, B2
    yhat = out.forward(np.array([A1]))
    np.testing.assert_allclose(yhat, [[YHAT]], **HAND)
    mse = MeanSquaredError()
    assert mse(np.array([[YHAT]]), Y1) == pytest.approx(LOSS, abs=1e-11)
    np.testing.assert_allclose(mse.backward(), [[DELTA2]], **HAND)
    # output -> hidden: Dense.backward returns ∂L/∂a1 = δ2 W2ᵀ and stores ∂L/∂W2, ∂L/∂b2
    da1 = out.backward(np.array([[DELTA2]]))
    np.testing.assert_allclose(out.grads["W"], DW2, **HAND)
    np.testing.assert_allclose(out.grads["b"], DB2, **HAND)
    np.testing.assert_allclose(da1, [[DELTA2 * 0.5, DELTA2 * -0.6]], **HAND)
    # hidden: δ1 = ∂L/∂a1 · σ'(z1), σ' = a(1 − a); the layer and the op agree with the hand δ1
    np.testing.assert_allclose(sigmoid_backward(np.array([A1]), da1), [DELTA1], **HAND)
    np.testing.assert_allclose(act.backward(da1), [DELTA1], **HAND)
    hidden.backward(np.array([DELTA1]))
    np.testing.assert_allclose(hidden.grads["W"], DW1, **HAND)
    np.testing.assert_allclose(hidden.grads["b"], DB1, **HAND)


def test_221_forward():
    model = net_221()
    hidden = model.layers[0].forward(X1)
    np.testing.assert_allclose(hidden, [A1], **HAND)
    np.testing.assert_allclose(model.predict(X1), [[YHAT]], **HAND)
    assert model.evaluate(X1, Y1)["loss"] == pytest.approx(LOSS, abs=1e-11)


def test_221_gradients_and_one_sgd_step():
    model = net_221()
    loss = model.train_on_batch(X1, Y1)          # returns the loss before the step
    assert loss == pytest.approx(LOSS, abs=1e-11)
    hidden, out = model.layers
    # plain SGD leaves the gradient buffer as it was computed
    np.testing.assert_allclose(out.grads["W"], DW2, **HAND)
    np.testing.assert_allclose(out.grads["b"], DB2, **HAND)
    np.testing.assert_allclose(hidden.grads["W"], DW1, **HAND)
    np.testing.assert_allclose(hidden.grads["b"], DB1, **HAND)
    np.testing.assert_allclose(out.params["W"], NEW_W2, **HAND)
    np.testing.assert_allclose(out.params["b"], NEW_B2, **HAND)
    np.testing.assert_allclose(hidden.params["W"], NEW_W1, **HAND)
    np.testing.assert_allclose(hidden.params["b"], NEW_B1, **HAND)


def test_221_fit_one_epoch_full_batch_is_the_same_step():
    model = net_221()
    hist = model.fit(X1, Y1, epochs=1, batch_size=None, verbose=0)
    assert hist.history["loss"] == pytest.approx([LOSS], abs=1e-11)
    w1, b1, w2, b2 = model.get_weights()
    np.testing.assert_allclose(w1, NEW_W1, **HAND)
    np.testing.assert_allclose(b1, NEW_B1, **HAND)
    np.testing.assert_allclose(w2, NEW_W2, **HAND)
    np.testing.assert_allclose(b2, NEW_B2, **HAND)


def scalar_step(x, y):
    """The same network, one sample at a time, in plain Python floats: (loss, dW1, db1, dW2, db2)."""
    z1 = [x[0] * W1[0, j] + x[1] * W1[1, j] + B1[j] for j in range(2)]
    a1 = [1 / (1 + math.exp(-v)) for v in z1]
    yhat = a1[0] * W2[0, 0] + a1[1] * W2[1, 0] + B2[0]
    d2 = yhat - y
    d1 = [d2 * W2[j, 0] * a1[j] * (1 - a1[j]) for j in range(2)]
    return (0.5 * d2 ** 2, [[x[i] * d1[j] for j in range(2)] for i in range(2)], d1,
            [[a1[j] * d2] for j in range(2)], [d2])


def test_batch_gradient_is_the_mean_of_sample_gradients():
    # the ½ Σ mean convention: the batch loss and every gradient are means over the samples
    xs = np.array([[1.0, 0.5], [-0.3, 2.0], [0.7, -1.2]])
    ys = np.array([[0.8], [0.1], [-0.5]])
    per = [scalar_step(x, y[0]) for x, y in zip(xs, ys)]
    mean = [np.mean([np.array(p[i]) for p in per], axis=0) for i in range(5)]
    model = net_221()
    model.compile(optimizer=SGD(lr=0.0), loss="mse")
    assert model.train_on_batch(xs, ys) == pytest.approx(mean[0], rel=1e-12)
    hidden, out = model.layers
    for got, want in [(hidden.grads["W"], mean[1]), (hidden.grads["b"], mean[2]),
                      (out.grads["W"], mean[3]), (out.grads["b"], mean[4])]:
        np.testing.assert_allclose(got, want, rtol=1e-12)


# --------------------------------------------------------------------------------------
# Matt Mazur, "A Step by Step Backpropagation Example" (2015): 2-2-2, sigmoid everywhere,
# E = Σ ½(target − out)², η = 0.5; inputs (0.05, 0.10), targets (0.01, 0.99). The blog updates
# only the weights, so the biases are compared with our own hand formula instead.
#   h1 = w1 i1 + w2 i2 + b1, h2 = w3 i1 + w4 i2 + b1, o1 = w5 h1 + w6 h2 + b2, o2 = w7 h1 + w8 h2 + b2
MAZUR_W1 = np.array([[0.15, 0.25], [0.20, 0.30]])      # [[w1, w3], [w2, w4]]
MAZUR_W2 = np.array([[0.40, 0.50], [0.45, 0.55]])      # [[w5, w7], [w6, w8]]
MAZUR_X = np.array([[0.05, 0.10]])
MAZUR_Y = np.array([[0.01, 0.99]])


def test_mazur_published_example():
    model = Sequential([Dense(2, activation="sigmoid"), Dense(2, activation="sigmoid")],
                       dtype="float64", input_shape=(2,))
    model.set_weights([MAZUR_W1, np.full(2, 0.35), MAZUR_W2, np.full(2, 0.60)])
    model.compile(optimizer=SGD(lr=0.5), loss="mse")
    # published: out_h1 = 0.593269992, out_h2 = 0.596884378, out_o1 = 0.75136507,
    # out_o2 = 0.772928465, E_total = 0.298371109
    np.testing.assert_allclose(model.layers[0].forward(MAZUR_X), [[0.593269992, 0.596884378]], atol=1e-9)
    np.testing.assert_allclose(model.predict(MAZUR_X), [[0.75136507, 0.772928465]], atol=1e-8)
    assert model.train_on_batch(MAZUR_X, MAZUR_Y) == pytest.approx(0.298371109, abs=1e-9)
    # published updates: w5..w8 = 0.35891648, 0.408666186, 0.511301270, 0.561370121
    #                    w1..w4 = 0.149780716, 0.19956143, 0.24975114, 0.29950229
    w1, b1, w2, b2 = model.get_weights()
    np.testing.assert_allclose(w2, [[0.35891648, 0.511301270], [0.408666186, 0.561370121]], atol=1e-8)
    np.testing.assert_allclose(w1, [[0.149780716, 0.24975114], [0.19956143, 0.29950229]], atol=1e-8)
    # biases: b ← b − η Σ δ, δ_o = (out − target)·out(1 − out) from the published outputs
    d_o = [(0.75136507 - 0.01) * 0.75136507 * (1 - 0.75136507),
           (0.772928465 - 0.99) * 0.772928465 * (1 - 0.772928465)]
    np.testing.assert_allclose(b2, [0.60 - 0.5 * d_o[0], 0.60 - 0.5 * d_o[1]], atol=1e-8)


def test_adam_mlp_matches_a_numpy_loop_written_here():
    """Ten Adam steps of a 6-8-5-3 ReLU network against an independent NumPy implementation
    that uses the paper's form of Adam (Kingma & Ba 2015, Algorithm 1, bias corrections explicit)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((40, 6))
    y = rng.integers(0, 3, 40)
    model = Sequential([Dense(8, activation="relu"), Dense(5, activation="relu"), Dense(3)], seed=1,
                       dtype="float64", input_shape=(6,))
    model.compile(optimizer=Adam(lr=0.01), loss="cross_entropy")
    params = [p.copy() for p in model.get_weights()]           # W1, b1, W2, b2, W3, b3
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    for t in range(1, 11):
        xb, yb = x[(t % 4) * 10:(t % 4) * 10 + 10], y[(t % 4) * 10:(t % 4) * 10 + 10]
        model.train_on_batch(xb, yb)
        W1, c1, W2, c2, W3, c3 = params
        h1 = np.maximum(xb @ W1 + c1, 0)
        h2 = np.maximum(h1 @ W2 + c2, 0)
        z = h2 @ W3 + c3
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        dz = (p - np.eye(3)[yb]) / len(yb)                      # ∂L/∂z of the mean cross-entropy
        d2 = (dz @ W3.T) * (h2 > 0)
        d1 = (d2 @ W2.T) * (h1 > 0)
        grads = [xb.T @ d1, d1.sum(0), h1.T @ d2, d2.sum(0), h2.T @ dz, dz.sum(0)]
        for i, g in enumerate(grads):
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g * g
            m_hat, v_hat = m[i] / (1 - b1 ** t), v[i] / (1 - b2 ** t)
            params[i] = params[i] - lr * m_hat / (np.sqrt(v_hat) + eps)
    for name, got, want in zip(model.parameter_names, model.get_weights(), params):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12, err_msg=name)


# ======================================================================================
# 2. end-to-end learning
# ======================================================================================
def toy2d(name, n=400, noise=0.0, seed=0):
    """The TensorFlow Playground's xor / circle / spiral sets, generated here (x in [−1, 1]²)."""
    rng = np.random.default_rng(seed)
    if name == "xor":
        x = rng.uniform(-5, 5, (n, 2))
        x += np.where(x > 0, 0.3, -0.3)               # keep points off the axes (the playground's pad)
        y = (x[:, 0] * x[:, 1] > 0).astype(np.int64)
    elif name == "circle":
        r = np.concatenate([rng.uniform(0, 2, n // 2), rng.uniform(3.5, 5, n - n // 2)])
        t = rng.uniform(0, 2 * np.pi, n)
        x = np.c_[r * np.cos(t), r * np.sin(t)]
        y = (r < 2.5).astype(np.int64)
    else:                                              # two interleaved arms, 1.75 turns each
        m = n // 2
        r = np.linspace(0.5, 5, m)
        t = np.linspace(0, 1.75 * 2 * np.pi, m)
        arm = np.c_[r * np.sin(t), r * np.cos(t)]
        x = np.r_[arm, -arm]
        y = np.r_[np.zeros(m, np.int64), np.ones(m, np.int64)]
    x = x + rng.normal(0, noise, x.shape)
    return (x / 5).astype(np.float32), y


@pytest.mark.parametrize("name,epochs", [("xor", 100), ("circle", 100), ("spiral", 300)])
def test_toy2d_problems_are_solved(name, epochs):
    x, y = toy2d(name, noise=0.1)
    model = Sequential([Dense(32, activation="relu"), Dense(32, activation="relu"), Dense(2)], seed=0)
    model.compile(optimizer=Adam(lr=0.01), loss="cross_entropy")
    model.fit(x, y, epochs=epochs, batch_size=32, verbose=0)
    acc = float((model.predict_classes(x) == y).mean())
    assert acc >= 0.95, f"{name}: training accuracy {acc:.3f} < 0.95"


def test_xor_with_binary_cross_entropy_and_one_output():
    x, y = toy2d("xor")
    model = Sequential([Dense(16, activation="tanh"), Dense(16, activation="tanh"), Dense(1)], seed=1)
    model.compile(optimizer=Adam(lr=0.01), loss="binary_cross_entropy")
    model.fit(x, y, epochs=100, batch_size=32, verbose=0)
    acc = float((model.predict_classes(x) == y).mean())
    assert acc >= 0.95, f"xor (BCE): training accuracy {acc:.3f} < 0.95"


def digits():
    try:
        from tanul import datasets
        return datasets.digits()
    except (ImportError, AttributeError):
        from sklearn.datasets import load_digits
        x, y = load_digits(return_X_y=True)
        return (x / 16).astype(np.float32), y.astype(np.int64)


@pytest.mark.parametrize("seed", [0, 1])
def test_digits_two_hidden_layers_reach_95_percent(seed):
    from sklearn.model_selection import train_test_split
    x, y = digits()
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.25, stratify=y, random_state=seed)
    model = Sequential([Dense(64, activation="relu"), Dense(32, activation="relu"), Dense(10)], seed=seed)
    model.compile(optimizer=Adam(lr=0.003), loss="cross_entropy")
    model.fit(x_tr, y_tr, epochs=30, batch_size=32, verbose=0)
    acc = float((model.predict_classes(x_te) == y_te).mean())
    assert acc >= 0.95, f"digits seed {seed}: test accuracy {acc:.3f} < 0.95"


def test_sgd_full_batch_minibatch_and_stochastic_all_learn():
    """Lecture 1's three flavours of gradient descent on one regression task."""
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (64, 2))
    y = (np.sin(2 * x[:, :1]) + 0.5 * x[:, 1:] ** 2)
    finals = {}
    for batch_size, lr, epochs in [(None, 0.5, 400), (8, 0.1, 100), (1, 0.02, 40)]:
        model = Sequential([Dense(16, activation="tanh"), Dense(1)], seed=0, dtype="float64")
        model.compile(optimizer=SGD(lr=lr), loss="mse")
        first = model.evaluate(x, y)["loss"]
        model.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=0)
        finals[batch_size] = (first, model.evaluate(x, y)["loss"])
    for batch_size, (first, last) in finals.items():
        assert last < 0.1 * first, f"batch_size={batch_size}: loss {first:.4f} -> {last:.4f}"
