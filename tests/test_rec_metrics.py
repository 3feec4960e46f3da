"""HR@10, NDCG@10 and ranks on hand-computed examples."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from strided_conv.rec.metrics import (
    hit_rate, ndcg, sample_negatives, standard_error, summarize_ranks, target_ranks,
)


def test_hand_computed_example():
    # three users: target ranked first, fourth, and twelfth
    ranks = np.array([0, 3, 11])
    assert hit_rate(ranks).tolist() == [1.0, 1.0, 0.0]
    assert ndcg(ranks).tolist() == [1.0, 1 / math.log2(5), 0.0]
    s = summarize_ranks(ranks)
    assert s["hr"] == pytest.approx(2 / 3)
    assert s["ndcg"] == pytest.approx((1 + 1 / math.log2(5)) / 3)
    assert s["hr_se"] == pytest.approx(np.std([1, 1, 0], ddof=1) / math.sqrt(3))


def test_target_ranks_with_exclusion_and_ties():
    scores = torch.tensor([[0.1, 0.9, 0.5, 0.7],
                           [0.3, 0.3, 0.3, 0.1]])
    targets = torch.tensor([2, 0])
    # row 0: 0.9 and 0.7 are higher -> rank 2; row 1: two ties -> 0 + 2/2 = 1
    assert target_ranks(scores, targets).tolist() == [2.0, 1.0]
    exclude = torch.tensor([[False, True, False, False], [False, False, True, False]])
    # excluded 0.9 no longer counts; excluded tie no longer counts
    assert target_ranks(scores, targets, exclude).tolist() == [1.0, 0.5]
    with pytest.raises(ValueError, match="must not exclude a row's own target"):
        target_ranks(scores, targets, ~exclude)
    with pytest.raises(ValueError, match=r"scores must be \(N, C\)"):
        target_ranks(scores[0], targets)


def test_sample_negatives_avoid_seen_items_and_repeat_with_the_seed():
    seen = [np.array([1, 2, 3]), np.array([4])]
    a = sample_negatives(10, seen, 5, seed=1)
    assert a.shape == (2, 5)
    assert not set(a[0]) & {1, 2, 3} and 4 not in a[1]
    assert all(len(set(row)) == 5 for row in a)
    assert (a == sample_negatives(10, seen, 5, seed=1)).all()
    with pytest.raises(ValueError, match="user 0 has only 7 unseen items"):
        sample_negatives(10, seen, 8)


def test_standard_error():
    assert standard_error(np.array([0.0, 1.0])) == pytest.approx(0.5)
