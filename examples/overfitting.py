"""Overfitting and its cures: a small dataset, a big network, four ways to train it.

    python examples/overfitting.py [--out runs/overfitting]

200 training digits (of scikit-learn's 1,797) and a 64-512-512-10 network: without any
regularisation the training loss goes to ~0 while the validation loss climbs. Then L2 on the
kernels, dropout, and early stopping (restoring the best epoch). Prints a table of the final
training/validation losses and the test accuracy, and saves the learning curves of each run
(needs matplotlib).
"""

import argparse
from pathlib import Path

import tanul
from tanul.callbacks import EarlyStopping
from tanul.datasets import digits
from tanul.preprocessing import train_val_test_split
from tanul.regularizers import L2


def build(kind: str) -> tanul.Sequential:
    reg = L2(1e-3) if kind == "L2" else None
    layers = []
    for _ in range(2):
        layers.append(tanul.Dense(512, activation="relu", kernel_regularizer=reg))
        if kind == "dropout":
            layers.append(tanul.Dropout(0.5))
    layers.append(tanul.Dense(10))
    model = tanul.Sequential(layers, seed=0)
    model.compile(optimizer=tanul.Adam(lr=1e-3), loss="cross_entropy", metrics=["accuracy"])
    return model


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--out", default="runs/overfitting")
    p.add_argument("--epochs", type=int, default=150)
    args = p.parse_args()
    x, y = digits()
    x_tr, x_val, x_te, y_tr, y_val, y_te = train_val_test_split(
        x, y, val_size=300, test_size=600, stratify=y, seed=0)
    x_tr, y_tr = x_tr[:200], y_tr[:200]  # a deliberately small training set
    print(f"{'run':16s} {'epochs':>6s} {'train loss':>10s} {'val loss':>9s} {'best val':>9s} {'test acc':>8s}")
    for kind in ("none", "L2", "dropout", "early stopping"):
        model = build(kind)
        cbs = [EarlyStopping(patience=10, restore_best_weights=True)] if kind == "early stopping" else []
        hist = model.fit(x_tr, y_tr, epochs=args.epochs, batch_size=32, validation_data=(x_val, y_val),
                         callbacks=cbs, verbose=0)
        h = hist.history
        test = model.evaluate(x_te, y_te)["accuracy"]
        print(f"{kind:16s} {len(h['loss']):6d} {h['loss'][-1]:10.4f} {h['val_loss'][-1]:9.4f} "
              f"{min(h['val_loss']):9.4f} {test:8.4f}")
        try:
            from tanul import plot
            out = Path(args.out)
            out.mkdir(parents=True, exist_ok=True)
            plot.plot_history(hist, save=out / f"curves_{kind.replace(' ', '_')}.png")
        except ImportError:
            pass
    print(f"Learning curves in {args.out}/")


if __name__ == "__main__":
    main()
