"""precision_at_k with adaptive_k when k < n (issue 18): the denominator is min(k, n), which for
k < n is k, not the list length n."""

import pytest

from tanul import metrics as M


def test_adaptive_k_with_k_smaller_than_the_list_divides_by_k():
    rel = [1, 0, 1, 1, 0]
    sc = [0.9, 0.8, 0.7, 0.1, 0.5]  # ranking relevance 1, 0, 1, 0, 1
    # top 2: one relevant -> 1/2 with or without adaptive_k (min(2, 5) = 2); dividing by n gives 1/5
    assert M.precision_at_k(rel, sc, k=2, adaptive_k=True) == 0.5
    assert M.precision_at_k(rel, sc, k=3, adaptive_k=True) == pytest.approx(2 / 3)
    assert M.precision_at_k(rel, sc, k=5, adaptive_k=True) == pytest.approx(3 / 5)


def test_adaptive_k_over_queries_of_different_lengths():
    # query A (5 items, k=3 < 5): 2 relevant in the top 3 -> 2/3
    # query B (2 items, k=3 > 2): 1 relevant of 2 -> adaptive 1/2 (plain: 1/3)
    rel = [[1, 0, 1, 1, 0], [0, 1]]
    sc = [[0.9, 0.8, 0.7, 0.1, 0.5], [0.9, 0.1]]
    assert M.precision_at_k(rel, sc, k=3, adaptive_k=True) == pytest.approx((2 / 3 + 1 / 2) / 2)
    assert M.precision_at_k(rel, sc, k=3) == pytest.approx((2 / 3 + 1 / 3) / 2)
