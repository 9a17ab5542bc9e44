"""Pooling layers' arguments: every error names the argument and the value; asymmetric pools,
strides and paddings keep their axes apart (mutation testing found all of it unpinned)."""

import numpy as np
import pytest

from tanul.layers import AvgPool2D, MaxPool2D


@pytest.mark.parametrize(("kw", "message"), [
    (dict(pool_size=0), r"^MaxPool2D: expected pool_size to be a positive int or a pair of them, got pool_size=0$"),
    (dict(pool_size=2, strides=0), r"^MaxPool2D: expected strides to be a positive int or a pair of them, got strides=0$"),
    (dict(pool_size=2, padding=-1), r"^MaxPool2D: expected padding to be an int >= 0, 'same' or 'valid', got -1$"),
    (dict(pool_size=2, padding="full"), r"^MaxPool2D: expected padding to be an int >= 0, 'same' or 'valid', got 'full'$"),
    (dict(pool_size=2, padding=(-1, 0)),
     r"^MaxPool2D: expected padding to be a non-negative int or a pair of them, got padding=\(-1, 0\)$"),
    (dict(pool_size=3, padding=2),
     r"^MaxPool2D: expected padding to be at most half the pool size, got padding=2 for pool_size=3$"),
    (dict(pool_size=(2, 4), padding=(1, 3)),  # only the second axis is too wide
     r"^MaxPool2D: expected padding to be at most half the pool size, got padding=\(1, 3\) for pool_size=\(2, 4\)$"),
    (dict(pool_size=(4, 2), padding=(2, 2)),  # only the second axis: 2·2 > 2
     r"^MaxPool2D: expected padding to be at most half the pool size, got padding=\(2, 2\) for pool_size=\(4, 2\)$"),
    (dict(pool_size=(2, 4), padding=(2, 0)),  # only the first axis
     r"^MaxPool2D: expected padding to be at most half the pool size"),
    (dict(pool_size=2, strides=1, padding="same"), r"^MaxPool2D: padding='same' needs an odd kernel size"),
])
def test_argument_errors(kw, message):
    with pytest.raises(ValueError, match=message):
        MaxPool2D(**kw)


def test_zero_padding_pair_is_valid():
    p = MaxPool2D(2, padding=(0, 0))
    assert p.pad == (0, 0) and repr(p) == "MaxPool2D(2)"


def test_asymmetric_pool_strides_and_padding_keep_their_axes():
    # H: (7 + 2·1 − 3)//2 + 1 = 4;  W: (5 + 0 − 2)//1 + 1 = 4
    p = MaxPool2D((3, 2), strides=(2, 1), padding=(1, 0))
    assert p.output_shape((1, 7, 5)) == (1, 4, 4)
    assert repr(p) == "MaxPool2D((3, 2), strides=(2, 1), padding=(1, 0))" and p.padding == (1, 0)
    # H: (6 + 0 − 2)//2 + 1 = 3;  W: (9 + 2·1 − 3)//3 + 1 = 3
    q = AvgPool2D((2, 3), strides=(2, 3), padding=(0, 1))
    assert q.output_shape((2, 6, 9)) == (2, 3, 3)
    x = np.random.default_rng(0).normal(size=(1, 2, 6, 9))
    assert q(x).shape == (1, 2, 3, 3)


def test_same_padding_depends_on_the_stride():
    p = MaxPool2D(3, strides=2, padding="same")
    assert p.pad == (1, 1) and p.output_shape((1, 7, 5)) == (1, 4, 3)  # ceil(7/2), ceil(5/2)
    assert repr(p) == "MaxPool2D(3, strides=2, padding='same')" and p.padding == "same"


def test_pooling_keeps_float64():
    x = np.random.default_rng(1).normal(size=(2, 1, 4, 4))
    for layer in (MaxPool2D(2), AvgPool2D(2)):
        y = layer(x)
        assert layer.dtype == np.float64 and y.dtype == np.float64


def test_float32_layers_record_float32():
    from tanul.layers import BatchNorm2D, GlobalAvgPool2D

    x = np.random.default_rng(2).normal(size=(2, 3, 4, 4)).astype(np.float32)
    for layer in (MaxPool2D(2), AvgPool2D(2), GlobalAvgPool2D(), BatchNorm2D()):
        y = layer(x)
        assert layer.dtype == np.float32 and y.dtype == np.float32, layer
        for arr in list(layer.params.values()) + list(getattr(layer, "state", {}).values()):
            assert arr.dtype == np.float32, layer
