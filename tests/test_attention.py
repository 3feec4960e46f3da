"""SegmentAttention and FullSelfAttention against explicit softmax(Q K^T / sqrt(d)) V."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from strided_conv import FullSelfAttention, SegmentAttention, loglog_slope, time_attention


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
