"""Loss configs keep every constructor argument (mutation testing: eps was lost on save/load)."""

import numpy as np
import pytest

from tanul import losses
from tanul.losses import BinaryCrossEntropy, CrossEntropy


@pytest.mark.parametrize("cls", [CrossEntropy, BinaryCrossEntropy])
def test_eps_survives_a_config_round_trip(cls):
    loss = cls(from_logits=False, eps=1e-3)
    clone = losses.get(losses.serialize(loss))
    assert clone.eps == 1e-3 and clone.from_logits is False
    assert repr(clone) == f"{cls.__name__}(from_logits=False, eps=0.001)"
    assert repr(cls()) == f"{cls.__name__}(from_logits=True)"  # the default stays short
    # and the clone computes the same clipped loss (eps matters for a zero probability)
    p = np.array([[0.0, 1.0], [0.5, 0.5]]) if cls is CrossEntropy else np.array([[0.0], [0.3]])
    y = np.array([0, 1]) if cls is CrossEntropy else np.array([1.0, 0.0])
    assert clone(p, y) == loss(p, y) and clone(p, y) != cls(from_logits=False)(p, y)
