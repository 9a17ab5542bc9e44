"""Layer error messages, whole (mutation testing: a garbled half of a message passed every test
that matched a single word), and layers.get's forms."""

import numpy as np
import pytest

from tanul.layers import Conv2D, Dense, Flatten, ReLU
from tanul.layers import base as B


@pytest.mark.parametrize(("make", "error", "message"), [
    (lambda: Dense(2, activation="prelu"), ValueError,
     "Dense: activation='prelu' has parameters; add a PReLU() layer after the Dense layer instead"),
    (lambda: Dense(2)(np.ones(3)), ValueError,
     "Dense: expected input of shape (N, features), got one value per sample (x of shape (N,)); "
     "reshape it to (N, 1) with x.reshape(-1, 1)"),
    (lambda: B.get(42), TypeError, "Expected a Layer, a layer class name or a config dict, got 42"),
    (lambda: ReLU().backward(np.ones(2)), RuntimeError,
     "ReLU: backward() called before forward(); run forward(x) first so that the layer has cached "
     "what its derivative needs"),
    (lambda: Conv2D(2, 3)(np.ones((2, 3))), ValueError,
     "Conv2D: expected a sample shape (C, H, W) (NCHW images, without the batch axis), got (3,)"),
    (lambda: B.get("Dense9"), ValueError, "Unknown layer class 'Dense9'. Known: "),
])
def test_messages(make, error, message):
    with pytest.raises(error) as exc:
        make()
    assert str(exc.value).startswith(message)
    if "Known" in message:
        assert str(exc.value).endswith("Register custom layers with tanul.register_layer or pass custom_objects=.")


def test_get_accepts_names_configs_and_instances():
    assert repr(B.get({"class_name": "Dense", "config": {"units": 3}})) == "Dense(3)"
    assert isinstance(B.get("Flatten"), Flatten) and isinstance(B.get({"class_name": "Flatten"}), Flatten)
    d = Dense(2)
    assert B.get(d) is d
    with pytest.raises(TypeError, match="got {'units': 3}"):
        B.get({"units": 3})  # a dict without class_name
    assert isinstance(B.get("Twice", custom_objects={"Twice": Flatten}), Flatten)
