"""Adam with L2 (coupled) vs AdamW (decoupled weight decay), with numbers.

    python examples/adam_vs_adamw.py

Part 1 follows two weights for 100 steps, one with a large (alternating) loss gradient and one
with none: with Adam + L2 the decay term λθ is divided by √v̂ like the gradient, so the idle
weight is decayed hard and the busy one hardly at all; AdamW shrinks both by the same factor
(1 − ηλ) per step. Part 2 trains the same digits network both ways
and prints the test accuracy and the size of the weights.
"""

import numpy as np

import tanul
from tanul.datasets import digits
from tanul.preprocessing import train_test_split


def hundred_steps():
    lam, lr, steps = 0.1, 0.01, 100
    print(f"Part 1: {steps} steps from θ = [1, 1], η = {lr}, λ = {lam}; the loss gradient of θ₁ alternates")
    print("        ±10 (a busy weight), that of θ₂ is 0 (a weight the data does not need)")
    for name, opt in (("Adam(weight_decay=0.1)   L2 in the gradient", tanul.Adam(lr=lr, weight_decay=lam)),
                      ("AdamW(weight_decay=0.1)  decoupled", tanul.AdamW(lr=lr, weight_decay=lam))):
        p, g = np.ones(2), np.zeros(2)
        opt.build(p, g)
        for t in range(steps):
            g[:] = [10.0 if t % 2 == 0 else -10.0, 0.0]
            opt.step()
        print(f"  {name:45s} θ = [{p[0]:+.4f}, {p[1]:+.4f}]")
    print(f"  AdamW shrinks every weight by (1 − ηλ) per step: (1 − {lr * lam:g})^{steps} = "
          f"{(1 - lr * lam) ** steps:.4f}, busy or not.")
    print("  Adam + L2 divides λθ by √v̂: the idle weight's 'gradient' is λθ alone, so it moves by ≈ η")
    print("  per step and is driven to 0, while the busy weight's decay is drowned by its large v̂.\n")


def train():
    x, y = digits()
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.25, stratify=y, seed=0)
    print("Part 2: 64-256-256-10 network on digits, 60 epochs, lr 1e-3, λ = 0.05")
    print(f"  {'optimizer':28s} {'test accuracy':>13s} {'‖W‖₂ (all kernels)':>20s}")
    for name, opt in (("Adam (no decay)", tanul.Adam(lr=1e-3)),
                      ("Adam(weight_decay=0.05)", tanul.Adam(lr=1e-3, weight_decay=0.05)),
                      ("AdamW(weight_decay=0.05)", tanul.AdamW(lr=1e-3, weight_decay=0.05))):
        model = tanul.Sequential([tanul.Dense(256, activation="relu"), tanul.Dense(256, activation="relu"),
                                  tanul.Dense(10)], seed=0)
        model.compile(optimizer=opt, loss="cross_entropy", metrics=["accuracy"])
        model.fit(x_tr, y_tr, epochs=60, batch_size=32, verbose=0)
        acc = model.evaluate(x_te, y_te)["accuracy"]
        norm = np.sqrt(sum(float((w ** 2).sum()) for w in model.get_weights() if w.ndim == 2))
        print(f"  {name:28s} {acc:13.4f} {norm:20.2f}")


if __name__ == "__main__":
    hundred_steps()
    train()
