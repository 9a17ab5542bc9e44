"""Lecture 1, "a first network, by hand": the fever example, as regression and as classification.

Inputs: [body temperature °C, drug dose mg]. Targets: the temperature two hours later
(regression), or its class normal / elevated / fever (classification).

    python examples/fever.py

What it shows, in the lecture's order:

1. standardise the inputs with the *training* mean and standard deviation (and the regression
   target too, rescaling the predictions back to °C);
2. one hidden layer in matrix form, z = XW + b, a = σ(z), squared-error cost;
3. the gradient, checked numerically (why we do not search the weights by brute force);
4. full-batch, mini-batch and stochastic gradient descent: ``fit(batch_size=None | 16 | 1)``;
5. the classifier: logits and softmax cross-entropy, accuracy and the confusion matrix.
"""

from __future__ import annotations

import numpy as np

import tanul
from tanul.optimizers import SGD, Adam
from tanul.testing import numerical_gradient

COURSE_ROWS = np.array([[38.6, 25.0], [37.8, 25.0], [37.3, 50.0], [38.2, 50.0]])
CLASSES = ["normal", "elevated", "fever"]


def fever_data(n: int, seed: int, task: str):
    """``tanul.datasets.fever`` when it is installed, else the same kind of data made here.

    Made here: temperature T ~ U(36.5, 40.5) °C, dose d ~ U(0, 100) mg, and two hours later
    T₂ = 36.8 + (T − 36.8)·e^(−0.025 d) + N(0, 0.1²): the drug pulls the temperature towards
    36.8 °C, the more the larger the dose. Classes of T₂: normal < 37.5 ≤ elevated < 38.0 ≤ fever.
    """
    try:
        from tanul.datasets import fever
    except ImportError:
        pass
    else:
        x, y = fever(n=n, seed=seed, task=task)
        return np.asarray(x, np.float32), np.asarray(y).reshape(-1)
    rng = np.random.default_rng(seed)
    temp = rng.uniform(36.5, 40.5, n)
    dose = rng.uniform(0.0, 100.0, n)
    after = 36.8 + (temp - 36.8) * np.exp(-0.025 * dose) + rng.normal(0.0, 0.1, n)
    x = np.c_[temp, dose].astype(np.float32)
    if task == "regression":
        return x, after.astype(np.float32)
    return x, np.digitize(after, [37.5, 38.0]).astype(np.int64)


def split(x, y, test_fraction=0.25, seed=0):
    order = np.random.default_rng(seed).permutation(len(x))
    n_test = int(len(x) * test_fraction)
    te, tr = order[:n_test], order[n_test:]
    return x[tr], x[te], y[tr], y[te]


def regression() -> None:
    print("=" * 72)
    print("Regression: the temperature two hours later")
    print("=" * 72)
    x, y = fever_data(n=400, seed=0, task="regression")
    x_tr, x_te, y_tr, y_te = split(x, y)
    # 1. standardise with the TRAINING statistics only, and apply the same transform to the test set
    mu, sd = x_tr.mean(axis=0), x_tr.std(axis=0)
    y_mu, y_sd = y_tr.mean(), y_tr.std()
    s_tr, s_te = (x_tr - mu) / sd, (x_te - mu) / sd
    t_tr = (y_tr - y_mu) / y_sd
    print(f"inputs: mean {mu.round(2)}, std {sd.round(2)} (training set); target {y_mu:.2f} ± {y_sd:.2f} °C")

    # 2. one hidden layer: z = XW + b, a = σ(z); a linear output; cost ½·mean (ŷ − y)²
    def network(seed=0):
        return tanul.Sequential([tanul.Dense(8, activation="sigmoid"), tanul.Dense(1)], seed=seed)

    model = network()
    model.compile(optimizer=SGD(lr=0.1), loss="mse")
    model.build((2,))
    model.summary()
    n_weights = model.count_params()
    print(f"Brute force over a grid of 2,000 values per weight would need 2000^{n_weights} "
          f"≈ 10^{n_weights * np.log10(2000):.0f} trials; the gradient needs one backward pass.")

    # 3. the gradient, checked numerically (float64 so that central differences are accurate)
    check = tanul.Sequential([tanul.Dense(8, activation="sigmoid"), tanul.Dense(1)], seed=0, dtype="float64")
    check.compile(optimizer=SGD(lr=0.0), loss="mse")
    check.train_on_batch(s_tr[:32], t_tr[:32])          # lr = 0: computes the gradient, moves nothing
    numeric = numerical_gradient(lambda p: check.evaluate(s_tr[:32], t_tr[:32])["loss"], check.params)
    print(f"backprop vs central differences: max |difference| = {np.abs(check.grads - numeric).max():.1e}")

    # 4. three flavours of gradient descent, the same number of epochs
    print("\nmean squared error (½ convention, standardised units) after 200 epochs of SGD:")
    for label, batch_size, lr in [("full batch  (batch_size=None)", None, 0.5),
                                  ("mini-batch  (batch_size=16)  ", 16, 0.1),
                                  ("stochastic  (batch_size=1)   ", 1, 0.01)]:
        m = network()
        m.compile(optimizer=SGD(lr=lr), loss="mse")
        hist = m.fit(s_tr, t_tr, epochs=200, batch_size=batch_size, verbose=0)
        steps = m.optimizer.iterations
        print(f"  {label} lr={lr:<4}  {steps:6d} steps  train loss {hist.history['loss'][-1]:.4f}  "
              f"test loss {m.evaluate(s_te, (y_te - y_mu) / y_sd)['loss']:.4f}")

    # the model we keep: Adam, mini-batches
    model = network()
    model.compile(optimizer=Adam(lr=0.01), loss="mse")
    model.fit(s_tr, t_tr, epochs=300, batch_size=16, verbose=0)
    pred = model.predict(s_te)[:, 0] * y_sd + y_mu       # back to °C
    mae = np.abs(pred - y_te).mean()
    base = np.abs(y_tr.mean() - y_te).mean()
    print(f"\ntest MAE {mae:.3f} °C (predicting the training mean: {base:.3f} °C)")
    print("\nthe lecture's four patients:")
    course = model.predict((COURSE_ROWS - mu) / sd)[:, 0] * y_sd + y_mu
    for (t, d), p in zip(COURSE_ROWS, course):
        print(f"  {t:.1f} °C, {d:4.0f} mg  ->  {p:.2f} °C in two hours")


def classification() -> None:
    print("\n" + "=" * 72)
    print("Classification: normal / elevated / fever two hours later")
    print("=" * 72)
    x, y = fever_data(n=600, seed=1, task="classification")
    x_tr, x_te, y_tr, y_te = split(x, y, seed=1)
    mu, sd = x_tr.mean(axis=0), x_tr.std(axis=0)
    s_tr, s_te = (x_tr - mu) / sd, (x_te - mu) / sd
    print("class counts (train):", dict(zip(CLASSES, np.bincount(y_tr, minlength=3).tolist())))
    # logits out, softmax cross-entropy inside the loss (log-softmax: no overflow)
    model = tanul.Sequential([tanul.Dense(16, activation="tanh"), tanul.Dense(3)], seed=0)
    model.compile(optimizer=Adam(lr=0.01), loss="cross_entropy")
    hist = model.fit(s_tr, y_tr, epochs=200, batch_size=32, validation_data=(s_te, y_te), verbose=0)
    print(f"cross-entropy: train {hist.history['loss'][-1]:.3f}, test {hist.history['val_loss'][-1]:.3f}")
    pred = model.predict_classes(s_te)
    print(f"test accuracy {(pred == y_te).mean():.3f}")
    cm = np.zeros((3, 3), np.int64)
    np.add.at(cm, (y_te, pred), 1)
    print("confusion matrix (rows: true, columns: predicted)")
    print("            " + "".join(f"{c:>10s}" for c in CLASSES))
    for c, row in zip(CLASSES, cm):
        print(f"  {c:>9s} " + "".join(f"{v:10d}" for v in row))
    print("\nthe lecture's four patients:")
    proba = model.predict_proba((COURSE_ROWS - mu) / sd)
    for (t, d), p in zip(COURSE_ROWS, proba):
        print(f"  {t:.1f} °C, {d:4.0f} mg  ->  {CLASSES[int(p.argmax())]:8s} "
              f"(p = {', '.join(f'{v:.2f}' for v in p)})")


if __name__ == "__main__":
    regression()
    classification()
