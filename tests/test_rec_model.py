"""The SASRec-style model: why it trains on prefixes (the leak), padding, bad input."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from strided_conv.rec.data import Histories, prefix_samples
from strided_conv.rec.model import ATTENTIONS, SequentialRecommender

pytestmark = pytest.mark.usefixtures("one_torch_thread")

N_ITEMS, MAX_LEN = 40, 20  # DownConv defaults below: m = 2 segments, k1 = 5


def _model(attention, seed=0):
    torch.manual_seed(seed)
    return SequentialRecommender(N_ITEMS, MAX_LEN, attention, hidden_size=16, n_heads=2,
                                 inner_size=32, m_segments=2, k1=5).eval()


def _histories(seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(1, N_ITEMS + 1, (3, MAX_LEN), generator=g)


@pytest.mark.parametrize("attention", ATTENTIONS)
def test_one_target_per_position_would_leak_through_downconv(attention):
    """SASRec reads position t's output to predict item t+1; with DownConv keys, that
    output changes when items after t change: the future leaks into the prediction."""
    model, seqs, t = _model(attention), _histories(), 7
    changed = seqs.clone()
    changed[:, t + 1:] = torch.randint(1, N_ITEMS + 1, changed[:, t + 1:].shape,
                                       generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        same = torch.equal(model.encode(seqs)[:, t], model.encode(changed)[:, t])
    assert same == (attention == "full")  # causal attention alone is safe


@pytest.mark.parametrize("attention", ATTENTIONS)
def test_prefix_training_sees_no_future_item(attention):
    """The score at position t, as training computes it, does not change when the items
    after t change: the input is the prefix, and the target's successors are not in it."""
    rng = np.random.default_rng(0)
    items = rng.integers(1, N_ITEMS + 1, 60)
    offsets = np.array([0, 25, 60])
    make = lambda it: Histories(it, offsets, N_ITEMS, np.array(["a", "b"]),  # noqa: E731
                                np.array([str(i) for i in range(N_ITEMS)]))
    samples = prefix_samples(make(items), "train")
    model = _model(attention)
    for b in (0, 10, 30):
        t = samples.targets[b]  # a training target; change everything after it
        later = items.copy()
        end = offsets[np.searchsorted(offsets, t, side="right")]
        later[t + 1:end] = rng.integers(1, N_ITEMS + 1, end - t - 1)
        with torch.no_grad():
            scores = [model.logits(torch.from_numpy(
                samples.batch(make(it), np.array([b]), MAX_LEN)[0])) for it in (items, later)]
        assert torch.equal(*scores)


@pytest.mark.parametrize("attention", ATTENTIONS)
def test_padded_positions_are_ignored_except_by_paups_positional_branch(attention):
    model = _model(attention)
    seqs = _histories()
    seqs[:, :8] = 0  # eight padded positions on the left
    with torch.no_grad():
        before = model(seqs)
        # only padded positions change (not by a constant: LayerNorm would remove it)
        model.position_embedding.weight[:8] += torch.randn(
            8, 16, generator=torch.Generator().manual_seed(2))
        after = model(seqs)
    # PAUP's positional branch has no mask: as published, it reads padded positions
    assert torch.allclose(before, after, atol=0, rtol=0) == (attention != "paup")


def test_padding_embedding_stays_zero_after_a_step():
    model = _model("segment").train()
    opt = torch.optim.Adam(model.parameters(), lr=0.1)
    seqs = _histories()
    seqs[:, :5] = 0
    torch.nn.functional.cross_entropy(model.logits(seqs), torch.tensor([0, 1, 2])).backward()
    opt.step()
    assert not model.item_embedding.weight[0].any()


def test_shapes():
    model = _model("paup")
    seqs = _histories()
    assert model.encode(seqs).shape == (3, MAX_LEN, 16)
    assert model(seqs).shape == (3, 16)
    assert model.logits(seqs).shape == (3, N_ITEMS)
    assert "attention='paup'" in repr(model)


@pytest.mark.parametrize("seqs, error, match", [
    (torch.zeros(3, 19, dtype=torch.long), ValueError,
     r"shape \(batch, max_len=20\), got \(3, 19\)"),
    (torch.zeros(20, dtype=torch.long), ValueError, r"shape \(batch, max_len=20\), got \(20,\)"),
    (torch.full((2, 20), 41), ValueError, "item ids must be in 0..n_items=40"),
    (torch.full((2, 20), -1), ValueError, "got values from -1 to -1"),
    (torch.zeros(2, 20), TypeError, "integer item ids"),
    (np.zeros((2, 20), dtype=int), TypeError, "must be a torch.Tensor"),
])
def test_bad_histories(seqs, error, match):
    with pytest.raises(error, match=match):
        _model("full")(seqs)


def test_bad_configuration():
    with pytest.raises(ValueError, match="m_segments=4 is not feasible for seq_len=50, k1=10"):
        SequentialRecommender(N_ITEMS, 50, "segment", m_segments=4, k1=10)
    with pytest.raises(ValueError, match="m_segments=4 is not feasible"):
        SequentialRecommender(N_ITEMS, 50, "paup", m_segments=4, k1=10)
    with pytest.raises(ValueError, match="attention must be one of"):
        SequentialRecommender(N_ITEMS, 50, "linear")
    with pytest.raises(ValueError, match="max_len must be >= 1"):
        SequentialRecommender(N_ITEMS, 0)
