"""SegmentAttention and FullSelfAttention against explicit softmax(Q K^T / sqrt(d)) V."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from strided_conv import FullSelfAttention, SegmentAttention, loglog_slope, time_attention
from strided_conv import attention_flops


def reference(q: np.ndarray, k: np.ndarray, v: np.ndarray, axis: int = -1):
    """Attention written out in NumPy float64: scores, a stable softmax, weighted sum."""
    scores = q @ k.transpose(0, 2, 1) / math.sqrt(q.shape[-1])
    e = np.exp(scores - scores.max(axis=axis, keepdims=True))
    weights = e / e.sum(axis=axis, keepdims=True)
    return weights, weights @ v


def _linear(layer, x):
    return x @ layer.weight.detach().numpy().T + layer.bias.detach().numpy()


@pytest.mark.parametrize("softmax_over, axis", [("segments", -1), ("queries", -2)])
def test_segment_attention_equals_the_reference(softmax_over, axis):
    torch.manual_seed(0)
    model = SegmentAttention(seq_len=60, hidden_size=16, m_segments=3, k1=5,
                             channel_reduction=4, softmax_over=softmax_over).double()
    x = torch.randn(2, 60, 16, dtype=torch.float64)
    segments = model.downconv(x).detach().numpy()  # the DownConv outputs, same weights
    xn = x.numpy()
    weights, out = reference(_linear(model.query, xn), _linear(model.key, segments),
                             _linear(model.value, segments), axis)
    assert model.attention_map(x).shape == (2, 60, 3)
    np.testing.assert_allclose(model.attention_map(x).detach().numpy(), weights, rtol=1e-12)
    y = model(x)
    assert y.shape == (2, 60, 16)
    np.testing.assert_allclose(y.detach().numpy(), out, rtol=1e-10, atol=1e-12)


def test_softmax_over_segments_sums_to_one_per_query_and_queries_per_segment():
    torch.manual_seed(0)
    x = torch.randn(1, 200, 64, dtype=torch.float64)
    per_query = SegmentAttention().double().attention_map(x)
    per_segment = SegmentAttention(softmax_over="queries").double().attention_map(x)
    torch.testing.assert_close(per_query.sum(-1), torch.ones(1, 200, dtype=torch.float64))
    torch.testing.assert_close(per_segment.sum(-2), torch.ones(1, 4, dtype=torch.float64))


def test_full_attention_equals_the_reference():
    torch.manual_seed(0)
    model = FullSelfAttention(8).double()
    x = torch.randn(2, 11, 8, dtype=torch.float64)
    xn = x.numpy()
    weights, out = reference(_linear(model.query, xn), _linear(model.key, xn), _linear(model.value, xn))
    np.testing.assert_allclose(model.attention_map(x).detach().numpy(), weights, rtol=1e-12)
    np.testing.assert_allclose(model(x).detach().numpy(), out, rtol=1e-10, atol=1e-12)


def test_time_attention_returns_one_positive_time_per_n_and_restores_threads():
    threads = torch.get_num_threads()
    result = time_attention((20, 40), hidden_size=16, repeats=1, m_segments=2, k1=2)
    assert result["n"] == [20, 40]
    assert all(t > 0 for t in result["full"] + result["segment"])
    assert torch.get_num_threads() == threads


def test_loglog_slope_recovers_a_power_law():
    n = np.array([10.0, 100.0, 1000.0])
    assert loglog_slope(n, 3 * n**2) == pytest.approx(2.0)


def test_bad_softmax_axis():
    with pytest.raises(ValueError, match=r"softmax_over must be one of .* got 'keys'"):
        SegmentAttention(softmax_over="keys")


def test_segment_attention_rejects_a_wrong_length():
    with pytest.raises(ValueError, match=r"seq_len=200"):
        SegmentAttention()(torch.zeros(1, 100, 64))


def test_full_attention_rejects_a_wrong_hidden_size():
    with pytest.raises(ValueError, match=r"hidden_size=8.*got \(1, 5, 4\)"):
        FullSelfAttention(8)(torch.zeros(1, 5, 4))


def test_full_attention_rejects_a_non_tensor():
    with pytest.raises(TypeError, match=r"torch.Tensor, got list"):
        FullSelfAttention(8)([[0.0] * 8])


def test_full_attention_rejects_a_bad_hidden_size():
    with pytest.raises(ValueError, match=r"hidden_size must be >= 1, got 0"):
        FullSelfAttention(0)


# ------------------------------------------------------------------ the cost model
def _counted_flops(model, x):
    """Matrix-product FLOPs PyTorch's own counter sees in one forward pass (2 per multiply-add)."""
    from torch.utils.flop_counter import FlopCounterMode

    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(x)
    return counter.get_total_flops()


@pytest.mark.parametrize("n, d, m, k1, reduction, tail, batch", [
    (200, 64, 4, 10, 16, "pad", 1),     # the defaults
    (200, 64, 3, 30, 16, "pad", 2),     # a padded tail and p2 = 1
    (200, 64, 3, 30, 16, "drop", 1),    # the tail left out
    (57, 12, 5, 4, 3, "pad", 3),        # odd sizes everywhere
    (24, 8, 4, 2, 2, "pad", 1),
])
def test_attention_flops_matrix_terms_match_pytorchs_counter(n, d, m, k1, reduction, tail, batch):
    flops = attention_flops(n, d, m, k1, reduction, tail, batch)
    torch.manual_seed(0)
    x = torch.randn(batch, n, d)
    segment = SegmentAttention(n, d, m, k1, reduction, tail)
    full = FullSelfAttention(d)
    for name, model in (("segment", segment), ("full", full)):
        matrix = sum(v for term, v in flops[name].items() if term != "elementwise")
        assert matrix == _counted_flops(model, x), name


def test_attention_flops_by_hand_for_the_defaults():
    n, d, m = 200, 64, 4  # L1 = 20, k2 = 5, D_r = 4
    flops = attention_flops(n)
    assert flops["segment"] == {
        "projections": 2 * n * d * d + 4 * m * d * d,
        "convolutions": 2 * 20 * 10 * d * 4 + 2 * m * 5 * 4 * d,
        "scores": 2 * n * m * d, "weighted sum": 2 * n * m * d,
        "elementwise": 6 * n * m + n * d + 3 * m * d + 2 * 20 * 4,
    }
    assert flops["full"] == {"projections": 6 * n * d * d, "convolutions": 0,
                             "scores": 2 * n * n * d, "weighted sum": 2 * n * n * d,
                             "elementwise": 6 * n * n + 3 * n * d}
    # the point of the chapter: the query projection alone is 8x scores + weighted sum
    assert 2 * n * d * d == 8 * (flops["segment"]["scores"] + flops["segment"]["weighted sum"])


def test_attention_flops_scale_with_the_batch_and_stay_plain_ints():
    one, three = attention_flops(200), attention_flops(200, batch=3)
    for name in one:
        assert {k: 3 * v for k, v in one[name].items()} == three[name]
        assert all(type(v) is int for v in three[name].values())
    # an empty batch (accepted by every layer of the package) costs nothing
    assert all(v == 0 and type(v) is int
               for terms in attention_flops(200, batch=0).values() for v in terms.values())


@pytest.mark.parametrize("kwargs, error, pattern", [
    ({"n": 0}, ValueError, r"n must be >= 1, got 0"),
    ({"n": 200.0}, TypeError, r"n must be an int, got 200.0"),
    ({"n": 200, "batch": -1}, ValueError, r"batch must be >= 0, got -1"),
    ({"n": 200, "m_segments": 12}, ValueError, r"m_segments=12 is not feasible"),
    ({"n": 200, "hidden_size": 8}, ValueError, r"hidden_size // channel_reduction must be >= 1"),
])
def test_attention_flops_rejects_bad_input(kwargs, error, pattern):
    with pytest.raises(error, match=pattern):
        attention_flops(**kwargs)


def test_time_attention_times_only_the_models_asked_for():
    result = time_attention((20,), hidden_size=16, repeats=1, m_segments=2, k1=2,
                            models=("segment",))
    assert set(result) == {"n", "segment"} and len(result["segment"]) == 1


@pytest.mark.parametrize("models", [(), "full", ("full", "sparse"), 5, None, [["full"]]])
def test_time_attention_rejects_unknown_models(models):
    with pytest.raises(ValueError, match=r"models must be a non-empty sequence of"):
        time_attention((20,), hidden_size=16, repeats=1, m_segments=2, k1=2, models=models)


def test_time_attention_rejects_an_unknown_clock():
    with pytest.raises(ValueError, match=r"clock must be one of \('wall', 'cpu'\), got 'gpu'"):
        time_attention((20,), hidden_size=16, repeats=1, m_segments=2, k1=2, clock="gpu")
    with pytest.raises(ValueError, match=r"clock must be one of .* got \['wall'\]"):
        time_attention((20,), hidden_size=16, repeats=1, m_segments=2, k1=2, clock=["wall"])


def test_time_attention_cpu_clock_gives_positive_times():
    result = time_attention((20,), hidden_size=16, repeats=2, m_segments=2, k1=2, clock="cpu")
    assert all(t > 0 for t in result["full"] + result["segment"])


# ---------------------------------------------------------------- issue 13 regressions
def test_float64_input_to_float32_models_names_x_and_both_dtypes():
    pattern = r"x has dtype torch.float64 but the parameters of {} have dtype torch.float32"
    with pytest.raises(TypeError, match=pattern.format("SegmentAttention")):
        SegmentAttention()(torch.zeros(1, 200, 64, dtype=torch.float64))
    with pytest.raises(TypeError, match=pattern.format("FullSelfAttention")):
        FullSelfAttention(8)(torch.zeros(1, 5, 8, dtype=torch.float64))


def test_empty_batches_give_empty_results():
    assert SegmentAttention()(torch.zeros(0, 200, 64)).shape == (0, 200, 64)
    assert SegmentAttention().attention_map(torch.zeros(0, 200, 64)).shape == (0, 200, 4)
    assert FullSelfAttention(8)(torch.zeros(0, 5, 8)).shape == (0, 5, 8)


@pytest.mark.parametrize("call, error, pattern", [
    (lambda: SegmentAttention(softmax_over=["segments"]), ValueError, "softmax_over must be one of"),
    (lambda: time_attention(5), TypeError, "n_values must be an iterable of ints"),
    (lambda: time_attention((5,), k1=10), ValueError, "n_values contains n=5, which DownConv refuses"),
    (lambda: time_attention((20,), batch=-1), ValueError, "batch must be >= 0"),
    (lambda: loglog_slope([1, 2], [1, 0]), ValueError, "t must be positive and finite"),
    (lambda: loglog_slope([2, 2], [1, 3]), ValueError, "n must have at least two distinct values"),
    (lambda: loglog_slope([1, 2, 3], [1, 2]), ValueError, "n and t must have the same length"),
    (lambda: loglog_slope("abc", [1, 2, 3]), TypeError, "n must be a sequence of real numbers"),
])
def test_errors_name_the_parameter(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()


def test_attention_flops_defaults_are_the_segment_layers():
    import inspect

    from strided_conv.attention import SegmentAttention, attention_flops

    layer = inspect.signature(SegmentAttention).parameters
    flops = inspect.signature(attention_flops).parameters
    shared = ("hidden_size", "m_segments", "k1", "channel_reduction", "tail")
    assert {p: flops[p].default for p in shared} == {p: layer[p].default for p in shared}
