"""The Layer base class: __call__, labels in messages, repr, registration, format_shape
(mutation testing found these unpinned)."""

import numpy as np
import pytest

from tanul.layers import (
    BatchNorm,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    GlobalAvgPool2D,
    LeakyReLU,
    MaxPool2D,
    ReLU,
)
from tanul.layers import base as B
from tanul.layers.conv import format_shape


def test_call_builds_seeded_in_the_input_dtype_and_runs_in_inference_mode():
    x = np.arange(12, dtype=np.float64).reshape(3, 4)
    a, b = Dense(5), Dense(5)
    np.testing.assert_array_equal(a(x), b(x))  # both built from default_rng(0)
    rng0 = np.random.default_rng(0)
    c = Dense(5)
    c.build((4,), rng0, np.float64)
    np.testing.assert_array_equal(a.params["W"], c.params["W"])
    assert a.dtype == np.float64 and a(x).dtype == np.float64
    ints = Dense(2)
    ints(np.ones((2, 4), dtype=np.int64))
    assert ints.dtype == np.float32 and ints.params["W"].dtype == np.float32  # integers: float32
    drop = Dropout(0.5)
    np.testing.assert_array_equal(drop(x), x)  # __call__ defaults to training=False: no mask
    assert not np.array_equal(drop(x, training=True), x)


def test_labels_in_messages_carry_the_name():
    d = Dense(3, name="head")
    d(np.ones((1, 2)))
    with pytest.raises(ValueError, match=r"^Dense\('head'\): input shape mismatch"):
        d.forward(np.ones((1, 5)))
    e = Dense(3)
    e(np.ones((1, 2)))
    with pytest.raises(ValueError, match=r"^Dense: input shape mismatch"):
        e.forward(np.ones((1, 5)))
    with pytest.raises(RuntimeError, match=r"^ReLU: backward\(\) called before forward\(\)"):
        ReLU().backward(np.ones((1, 2)))


@pytest.mark.parametrize(("layer", "text"), [
    (Dense(3), "Dense(3)"),
    (Dense(3, name="d"), "Dense(3, name='d')"),
    (Dense(3, activation="relu", use_bias=False), "Dense(3, activation='relu', use_bias=False)"),
    (Conv2D(4, 3), "Conv2D(4, 3)"),
    (MaxPool2D(2), "MaxPool2D(2)"),
    (MaxPool2D(3, strides=2), "MaxPool2D(3, strides=2)"),
    (MaxPool2D(3, strides=2, padding=1, name="p"), "MaxPool2D(3, strides=2, padding=1, name='p')"),
    (MaxPool2D(2, strides=2), "MaxPool2D(2)"),
    (GlobalAvgPool2D(), "GlobalAvgPool2D()"),
    (GlobalAvgPool2D(name="g"), "GlobalAvgPool2D(name='g')"),
    (Flatten(), "Flatten()"),
    (Flatten(name="f"), "Flatten(name='f')"),
    (ReLU(name="r"), "ReLU(name='r')"),
    (Dropout(0.5), "Dropout(rate=0.5)"),
    (LeakyReLU(0.1), "LeakyReLU(alpha=0.1)"),
    (LeakyReLU(0.1, name="lr"), "LeakyReLU(alpha=0.1, name='lr')"),
    (BatchNorm(), "BatchNorm(momentum=0.9, eps=1e-05)"),
])
def test_repr(layer, text):
    assert repr(layer) == text


def test_base_layer_contract():
    layer = B.Layer()
    assert repr(layer) == "Layer()" and layer.output_shape((3, 4)) == (3, 4)
    with pytest.raises(NotImplementedError, match="Layer does not implement forward"):
        layer.forward(np.ones((1, 2)))
    with pytest.raises(NotImplementedError, match="Layer does not implement backward"):
        layer.backward(np.ones((1, 2)))


def test_subclasses_register_themselves_without_replacing_an_existing_name():
    class Halve(B.Layer):
        pass

    try:
        assert B.LAYERS["Halve"] is Halve  # __init_subclass__, no decorator needed
        first = Halve

        class Halve(B.Layer):  # noqa: F811 - a second class of the same name
            pass

        assert B.LAYERS["Halve"] is first  # setdefault: the first registration stays
    finally:
        B.LAYERS.pop("Halve", None)


def test_register_layer_at_run_time():
    class Twice(B.Layer):
        def forward(self, x, training=False):
            return 2 * x

    try:
        assert B.register_layer(Twice) is Twice and B.LAYERS["Twice"] is Twice
        deco = B.register_layer(name="Doubler")
        assert deco(Twice) is Twice and B.LAYERS["Doubler"] is Twice
        assert isinstance(B.get("Doubler"), Twice)
        with pytest.raises(TypeError, match=r"register_layer: expected a subclass of tanul.layers.Layer, got <class 'int'>"):
            B.register_layer(int)
    finally:
        B.LAYERS.pop("Twice", None)
        B.LAYERS.pop("Doubler", None)


@pytest.mark.parametrize(("shape", "text"), [
    ((12, 28, 28), "12@28x28"),
    ((None, 6, 14, 14), "6@14x14"),
    ([None, 6, 14, 14], "6@14x14"),
    ((2, 3, 4, 5), "(2, 3, 4, 5)"),  # four axes without a batch None: not an image sample
    ((120,), "(120,)"),
    ((None, 120), "(None, 120)"),
])
def test_format_shape(shape, text):
    assert format_shape(shape) == text


def test_base_repr_joins_several_arguments():
    class Affine(B.Layer):
        def __init__(self, a=1.0, b=0.0, c=None, name=None):
            super().__init__(name)
            self.a, self.b, self.c = a, b, c

        def get_config(self):
            return {"a": self.a, "b": self.b, "c": self.c, "name": self.name}

    try:
        assert repr(Affine(2.0, 3.0)) == "Affine(a=2.0, b=3.0)"  # None values are left out
        assert repr(Affine(2.0, 3.0, name="f")) == "Affine(a=2.0, b=3.0, name='f')"
    finally:
        B.LAYERS.pop("Affine", None)
