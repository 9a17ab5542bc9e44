"""The README's first example: a dense network on scikit-learn's 8x8 digits.

    python examples/quickstart.py

Needs the ``data`` extra (``pip install tanul[data]``) for the bundled digits.
"""

import tanul  # noqa: I001  (tanul.preprocessing lands separately; ruff sorts it once it exists)
from tanul.datasets import digits
from tanul.preprocessing import train_test_split

x, y = digits()                                   # 1,797 8x8 digits, scaled to [0, 1]
x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.25, seed=0)
model = tanul.Sequential([tanul.Dense(64, activation="relu"),
                          tanul.Dense(64, activation="relu"),
                          tanul.Dense(10)], seed=0)
model.compile(optimizer="adam", loss="cross_entropy", metrics=["accuracy"])
model.fit(x_tr, y_tr, epochs=30, batch_size=32, validation_split=0.1)
print(model.evaluate(x_te, y_te))                 # {'loss': ..., 'accuracy': ...}
