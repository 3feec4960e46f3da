"""The package's ConvMultiHeadAttention against PAUP's published class, kept verbatim."""
from __future__ import annotations

import contextlib
import hashlib
import io
import math
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import strided_conv
from strided_conv.original import paup_attention as original
from strided_conv.paup import (
    ConvMultiHeadAttention, paup_branch_times, positional_map_bytes,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")

# (n_heads, m_segments, hidden_size, seq_len, k1): configurations both classes accept
# with the same (k2, padding) and k1 dividing seq_len.
CONFIGS = [
    (2, 4, 64, 200, 10),  # PAUP's MovieLens-1M setting
    (2, 5, 64, 50, 5),    # the book's length-50 setting
    (4, 5, 32, 100, 10),
    (1, 4, 16, 60, 6),    # second convolution padded (k2 = 3, padding 1)
    (8, 3, 16, 30, 2),
]

VERBATIM_SHA256 = "33ed392759ae4fbd3f9f5a12593428a3714531b1e35a4448ac54cdf2bd131594"


def _pair(config, seed=0, **kwargs):
    n_heads, m, hidden, n, k1 = config
    torch.manual_seed(seed)
    published = original.ConvMultiHeadAttention(n_heads, m, hidden, n, 0.2, 0.2, 1e-12, k1)
    ours = ConvMultiHeadAttention(n_heads, m, hidden, n, 0.2, 0.2, 1e-12, k1, **kwargs)
    return published.double().eval(), ours.double().eval()


def _inputs(config, batch=3, seed=1):
    _, _, hidden, n, _ = config
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, n, hidden, generator=g, dtype=torch.float64)
    pos = torch.randn(n, hidden, generator=g, dtype=torch.float64)
    return x, pos


def _rel(a, b):
    return float(((a - b).abs().max() / b.abs().max()).detach())


def test_the_verbatim_copy_is_unchanged():
    text = Path(original.__file__).read_text()
    block = text[text.index("# ---- verbatim"):text.index("# ---- end of verbatim copy ----")]
    block = block.split("\n", 1)[1]
    assert hashlib.sha256(block.encode()).hexdigest() == VERBATIM_SHA256
    assert "Copyright (c) 2020 RUCAIBox" in original.__doc__
    assert "ff5288c125eedb23c4203aec968364e04870cddf" in original.__doc__


@pytest.mark.parametrize("config", CONFIGS)
def test_same_state_dict_keys_and_shapes(config):
    published, ours = _pair(config)
    a, b = published.state_dict(), ours.state_dict()
    assert list(a) == list(b)
    assert all(a[k].shape == b[k].shape for k in a)


@pytest.mark.parametrize("config", CONFIGS)
def test_published_weights_load_into_ours_and_outputs_agree(config):
    published, ours = _pair(config)
    ours.load_state_dict(published.state_dict(), strict=True)
    x, pos = _inputs(config)
    with torch.no_grad():
        assert _rel(ours(x, pos), published(x, pos)) < 1e-12


@pytest.mark.parametrize("config", CONFIGS)
def test_our_weights_load_into_the_published_class(config):
    published, ours = _pair(config, seed=5)
    torch.manual_seed(9)
    for p in ours.parameters():  # move away from the shared initialisation
        torch.nn.init.normal_(p, 0.0, 0.3)
    published.load_state_dict(ours.state_dict(), strict=True)
    x, pos = _inputs(config, seed=2)
    with torch.no_grad():
        assert _rel(ours(x, pos), published(x, pos)) < 1e-12


@pytest.mark.parametrize("config", CONFIGS[:3])
def test_gradients_agree(config):
    published, ours = _pair(config)
    ours.load_state_dict(published.state_dict())
    x, pos = _inputs(config)
    # A random linear functional: sum(y**2) of a LayerNorm output is nearly constant.
    weight = torch.randn(x.shape, generator=torch.Generator().manual_seed(4),
                         dtype=torch.float64)
    grads = []
    for layer in (published, ours):
        xi, pi = x.clone().requires_grad_(), pos.clone().requires_grad_()
        layer.zero_grad()
        (layer(xi, pi) * weight).sum().backward()
        grads.append([xi.grad, pi.grad] + [p.grad for p in layer.parameters()])
    scale = max(float(g.abs().max()) for g in grads[0])
    for ga, gb in zip(*grads):
        # relative to the largest gradient: some are exactly zero in exact arithmetic
        # (a query bias shifts a whole column of scores, which a softmax over queries ignores)
        assert float((ga - gb).abs().max()) <= 1e-12 * scale
    assert float(grads[1][3].abs().max()) <= 1e-12 * scale  # query.bias: rounding only


@settings(max_examples=15, deadline=None)
@given(batch=st.integers(1, 3), seed=st.integers(0, 10**6), scale=st.floats(0.1, 3.0))
def test_any_input_agrees(batch, seed, scale):
    config = CONFIGS[3]
    published, ours = _pair(config, seed=seed % 100)
    ours.load_state_dict(published.state_dict())
    x, pos = _inputs(config, batch=batch, seed=seed)
    with torch.no_grad():
        assert _rel(ours(scale * x, pos), published(scale * x, pos)) < 1e-12


def test_train_mode_applies_dropout_like_the_published_layer():
    # Same RNG stream, same dropout calls in the same order: equal in training mode too.
    published, ours = _pair(CONFIGS[1])
    ours.load_state_dict(published.state_dict())
    published.train(), ours.train()
    x, pos = _inputs(CONFIGS[1])
    torch.manual_seed(3)
    a = published(x, pos)
    torch.manual_seed(3)
    b = ours(x, pos)
    assert _rel(b, a) < 1e-12
    assert not torch.allclose(a, published.eval()(x, pos))


def test_softmax_over_queries_by_default():
    _, ours = _pair(CONFIGS[0])
    x, pos = _inputs(CONFIGS[0])
    with torch.no_grad():
        b = ours.positional_map(x, pos)
    assert torch.allclose(b.sum(-2), torch.ones(()).double())  # columns sum to 1
    assert not torch.allclose(b.sum(-1), torch.ones(()).double())


def test_variant_without_positional_branch():
    published, _ = _pair(CONFIGS[0])
    torch.manual_seed(0)
    variant = ConvMultiHeadAttention(2, 4, 64, 200, 0.2, 0.2, 1e-12, 10,
                                     positional="none").double().eval()
    assert not any(k.startswith("pos_") for k in variant.state_dict())
    missing = variant.load_state_dict(published.state_dict(), strict=False)
    assert sorted(missing.unexpected_keys) == sorted(
        k for k in published.state_dict() if k.startswith("pos_"))
    x, pos = _inputs(CONFIGS[0])
    with torch.no_grad():  # the oracle: the published layer's first branch only, by hand
        p = published
        heads = p.transpose_for_scores
        q = heads(p.query(x))
        k = heads(p.attpooling_key(p.key(x)))
        v = heads(p.attpooling_value(p.value(x)))
        ctx = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(32), dim=-2) @ v
        ctx = ctx.permute(0, 2, 1, 3).reshape(3, 200, 64)
        expected = p.LayerNorm(p.dense(ctx) + x)
        assert _rel(variant(x), expected) < 1e-12
        assert _rel(variant(x, pos), expected) < 1e-12  # pos_emb ignored


def test_softmax_over_segments_normalises_each_query():
    _, ours = _pair(CONFIGS[0], softmax_over="segments")
    x, pos = _inputs(CONFIGS[0])
    with torch.no_grad():
        assert torch.allclose(ours.positional_map(x, pos).sum(-1), torch.ones(()).double())


def test_extra_repr_and_export():
    layer = ConvMultiHeadAttention(2, 4, 64, 200, 0.2, 0.2, 1e-12, 10)
    assert "n_heads=2, m_segments=4, hidden_size=64, seq_len=200, k1=10" in repr(layer)
    assert "positional='published', softmax_over='queries'" in repr(layer)
    assert strided_conv.ConvMultiHeadAttention is ConvMultiHeadAttention
    assert "ConvMultiHeadAttention" in strided_conv.__all__


def test_published_layer_prints_where_ours_refuses():
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        layer = original.ConvMultiHeadAttention(2, 25, 64, 200, 0.0, 0.0, 1e-12, 10).eval()
        keys = layer.attpooling_key(torch.randn(1, 200, 64))
        y = layer(torch.randn(1, 200, 64), torch.randn(200, 64))  # and carries on
    assert keys.shape == (1, 26, 64) and y.shape == (1, 200, 64)
    assert "size_erroe, x2a.size_26 do not equals to m_segments_25" in out.getvalue()
    with pytest.raises(ValueError, match="m_segments=25 is not feasible"):
        ConvMultiHeadAttention(2, 25, 64, 200, 0.0, 0.0, 1e-12, 10)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"n_heads": 3}, ValueError, "hidden_size=64 must be a multiple of n_heads=3"),
    ({"n_heads": 0}, ValueError, "n_heads must be >= 1"),
    ({"n_heads": 2.0}, TypeError, "n_heads must be an int"),
    ({"seq_len": 50, "k1": 10, "m_segments": 4}, ValueError, "m_segments=4 is not feasible"),
    ({"k1": 300}, ValueError, "k1=300 must be <= seq_len=200"),
    ({"hidden_dropout_prob": 1.0}, ValueError, r"hidden_dropout_prob must be in \[0, 1\)"),
    ({"attn_dropout_prob": "0.1"}, TypeError, "attn_dropout_prob must be a float"),
    ({"layer_norm_eps": 0.0}, ValueError, "layer_norm_eps must be > 0"),
    ({"positional": "relative"}, ValueError, "positional must be one of"),
    ({"softmax_over": "keys"}, ValueError, "softmax_over must be one of"),
    # not hashable: refused by name, not by dict lookup's "unhashable type"
    ({"softmax_over": ["queries"]}, ValueError, "softmax_over must be one of"),
    ({"positional": ["published"]}, ValueError, "positional must be one of"),
    ({"layer_norm_eps": float("inf")}, ValueError, "layer_norm_eps must be > 0 and finite"),
    ({"hidden_dropout_prob": True}, TypeError, "hidden_dropout_prob must be a float"),
    ({"hidden_size": 2**40, "n_heads": 1}, ValueError, "hidden_size=1099511627776"),
])
def test_bad_constructor_arguments(kwargs, error, match):
    args = dict(n_heads=2, m_segments=4, hidden_size=64, seq_len=200, hidden_dropout_prob=0.2,
                attn_dropout_prob=0.2, layer_norm_eps=1e-12, k1=10)
    args.update(kwargs)
    with pytest.raises(error, match=match):
        ConvMultiHeadAttention(**args)


def test_bad_input_shapes():
    layer = ConvMultiHeadAttention(2, 5, 64, 50, 0.2, 0.2, 1e-12, 5)
    with pytest.raises(ValueError, match=r"shape \(batch, seq_len=50, hidden_size=64\)"):
        layer(torch.randn(2, 40, 64), torch.randn(50, 64))
    with pytest.raises(ValueError, match=r"pos_emb must have shape \(seq_len=50"):
        layer(torch.randn(2, 50, 64), torch.randn(40, 64))
    with pytest.raises(TypeError, match="pos_emb must be a torch.Tensor"):
        layer(torch.randn(2, 50, 64), None)
    with pytest.raises(TypeError, match="input_tensor must be a torch.Tensor"):
        layer([[0.0]], torch.randn(50, 64))
    # a float64 pos_emb for a float32 layer: named, not LayerNorm's dtype error
    with pytest.raises(TypeError, match="pos_emb has dtype torch.float64"):
        layer(torch.randn(2, 50, 64), torch.randn(50, 64, dtype=torch.float64))
    with pytest.raises(TypeError, match="input_tensor has dtype torch.float64"):
        layer(torch.randn(2, 50, 64, dtype=torch.float64), torch.randn(50, 64))


def test_numpy_probabilities_and_empty_batches_are_accepted():
    import numpy as np

    layer = ConvMultiHeadAttention(2, 5, 64, 50, np.float32(0.2), np.float64(0.1), 1e-12, 5)
    assert layer.out_dropout.p == pytest.approx(0.2)
    assert layer.eval()(torch.randn(0, 50, 64), torch.randn(50, 64)).shape == (0, 50, 64)


def test_branch_times_on_small_n():
    times = paup_branch_times((20, 40), hidden_size=16, m_segments=2, k1=2, repeats=1,
                              max_map_bytes=positional_map_bytes(20))
    assert times["n"] == [20, 40]
    for name in ("variant", "projections", "downconv", "segment_scores", "output"):
        assert len(times[name]) == 2 and all(t > 0 for t in times[name])
    assert times["layer"][1] is None and times["positional"][1] is None  # map too big
    assert times["layer"][0] > 0
    with pytest.raises(ValueError, match="k1=2 must divide every n, got n=21"):
        paup_branch_times((21,), k1=2)


def test_positional_map_bytes():
    assert positional_map_bytes(20_000) == 3_200_000_000
