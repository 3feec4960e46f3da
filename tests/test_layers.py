"""The NumPy Convolution layers against PyTorch conv2d + autograd, central differences, bad input."""
from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from strided_conv import (
    Convolution,
    SeedStyleConvolution,
    conv2d_naive,
    im2col_size,
    numerical_gradient,
    relative_error,
)
from strided_conv.bench.memory import peak_repeated_call_bytes

LAYERS = [Convolution, SeedStyleConvolution]


@st.composite
def configs(draw):
    """Random layer configurations: strides that do not divide, padding, rectangles, N=1, C=1."""
    fh, fw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    p = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    d = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    h = draw(st.integers(max(1, d[0] * (fh - 1) + 1 - 2 * p[0]), 10))
    w = draw(st.integers(max(1, d[1] * (fw - 1) + 1 - 2 * p[1]), 10))
    n, c, fn = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 4))
    return (n, c, h, w), (fn, c, fh, fw), s, p, d


def torch_reference(x, W, b, dout, s, p, d):
    """Output and gradients (dx, dW, db) from PyTorch, in the inputs' dtype."""
    xt, Wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, W, b))
    out = torch.nn.functional.conv2d(xt, Wt, bt, stride=s, padding=p, dilation=d)
    out.backward(torch.tensor(dout))
    return [t.detach().numpy() for t in (out, xt.grad, Wt.grad, bt.grad)]


def run_layer(layer_cls, x, W, b, dout, s, p, d):
    layer = layer_cls(W, b, stride=s, pad=p, dilation=d)
    out = layer.forward(x)
    dx = layer.backward(dout)
    return [out, dx, layer.dW, layer.db]


def random_case(cfg, seed, dtype):
    x_shape, w_shape, s, p, d = cfg
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(x_shape).astype(dtype)
    W = rng.standard_normal(w_shape).astype(dtype)
    b = rng.standard_normal(w_shape[0]).astype(dtype)
    out_shape = torch.nn.functional.conv2d(
        torch.zeros(x_shape), torch.zeros(w_shape), stride=s, padding=p, dilation=d
    ).shape
    dout = rng.standard_normal(tuple(out_shape)).astype(dtype)
    return x, W, b, dout, s, p, d


@pytest.mark.parametrize("layer_cls", LAYERS)
@settings(max_examples=35, deadline=None)
@given(configs(), st.integers(0, 2**32 - 1))
def test_float64_matches_pytorch(layer_cls, cfg, seed):
    case = random_case(cfg, seed, np.float64)
    for got, ref in zip(run_layer(layer_cls, *case), torch_reference(*case)):
        assert got.shape == ref.shape and got.dtype == np.float64
        assert relative_error(got, ref) <= 1e-10


@pytest.mark.parametrize("layer_cls", LAYERS)
@settings(max_examples=25, deadline=None)
@given(configs(), st.integers(0, 2**32 - 1))
def test_float32_stays_float32_and_matches_pytorch(layer_cls, cfg, seed):
    case = random_case(cfg, seed, np.float32)
    for got, ref in zip(run_layer(layer_cls, *case), torch_reference(*case)):
        assert got.dtype == np.float32
        assert relative_error(got, ref) <= 5e-5


@settings(max_examples=20, deadline=None)
@given(configs(), st.integers(0, 2**32 - 1))
def test_naive_loops_match_pytorch(cfg, seed):
    x, W, b, dout, s, p, d = random_case(cfg, seed, np.float64)
    ref = torch_reference(x, W, b, dout, s, p, d)[0]
    assert relative_error(conv2d_naive(x, W, b, s, p, d), ref) <= 1e-12


def test_forward_returns_contiguous_output():
    x, W, b, *_ = random_case(((2, 3, 7, 6), (4, 3, 3, 2), 2, 1, 1), 0, np.float64)
    assert Convolution(W, b, 2, 1).forward(x).flags.c_contiguous


def test_gradients_match_central_differences_at_stride_2_on_odd_size():
    # Size 8, kernel 3, stride 2: windows start at 0, 2, 4 and end at 6, so row 7
    # and column 7 are never read: (8 - 3) mod 2 = 1 is the remainder the floor drops.
    rng = np.random.default_rng(1)
    x, W, b = rng.standard_normal((2, 2, 8, 8)), rng.standard_normal((3, 2, 3, 3)), rng.standard_normal(3)
    layer = Convolution(W, b, stride=2)
    g = rng.standard_normal(layer.forward(x).shape)
    dx = layer.backward(g)

    def loss(_):
        return float(np.vdot(layer.forward(x), g))

    for analytic, point in ((dx, x), (layer.dW, W), (layer.db, b)):
        assert relative_error(analytic.copy(), numerical_gradient(loss, point)) <= 1e-7
    assert (dx[:, :, 7, :] == 0).all() and (dx[:, :, :, 7] == 0).all()
    assert (dx[:, :, :7, :7] != 0).all()


def test_forward_extra_memory_is_one_col_buffer_plus_output():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 8, 32, 32))
    W, b = rng.standard_normal((16, 8, 3, 3)), rng.standard_normal(16)
    layer = Convolution(W, b, 1, 1)
    budget = im2col_size(x.shape, 3, 3, 1, 1) * 8 + 4 * 16 * 32 * 32 * 8
    tracemalloc.start()
    out = layer.forward(x)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert out.shape == (4, 16, 32, 32)
    assert peak <= 1.25 * budget


def test_forward_refills_col_in_place_and_allocates_anew_for_another_shape():
    rng = np.random.default_rng(0)
    layer = Convolution(rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4), 2, 1)
    x1, x2 = rng.standard_normal((2, 3, 7, 7)), rng.standard_normal((2, 3, 7, 7))
    layer.forward(x1)
    col = layer.col
    out2 = layer.forward(x2)
    assert layer.col is col  # same buffer, new values
    expected = F.conv2d(torch.from_numpy(x2), torch.from_numpy(layer.W), torch.from_numpy(layer.b),
                        stride=2, padding=1).numpy()
    np.testing.assert_allclose(out2, expected, rtol=1e-12, atol=1e-12)
    layer.forward(rng.standard_normal((3, 3, 7, 7)))
    assert layer.col is not col and layer.col.shape[0] == 3 * 4 * 4


def test_repeated_forward_does_not_hold_two_col_buffers():
    # A training loop calls forward again on the same layer: the previous col must be
    # released before the next is built, or the peak holds two of them.
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 8, 32, 32))
    layer = Convolution(rng.standard_normal((16, 8, 3, 3)), rng.standard_normal(16), 1, 1)
    col_bytes = im2col_size(x.shape, 3, 3, 1, 1) * 8
    budget = col_bytes + 4 * 16 * 32 * 32 * 8
    assert peak_repeated_call_bytes(lambda: layer.forward(x)) <= 1.25 * budget
    assert 1.25 * budget < 2 * col_bytes  # so the bound really excludes a second col


def _layer():
    return Convolution(np.zeros((4, 3, 3, 3)), np.zeros(4), stride=2, pad=1)


def test_rejects_3d_x():
    with pytest.raises(ValueError, match="x must be 4-D"):
        _layer().forward(np.zeros((3, 8, 8)))


def test_rejects_channel_mismatch():
    with pytest.raises(ValueError, match="C=2 channels .* W expects C=3"):
        _layer().forward(np.zeros((1, 2, 8, 8)))


def test_rejects_bias_of_wrong_shape():
    with pytest.raises(ValueError, match=r"b must have shape \(FN,\) = \(4,\)"):
        Convolution(np.zeros((4, 3, 3, 3)), np.zeros((4, 1)))


def test_rejects_kernel_larger_than_padded_input():
    with pytest.raises(ValueError, match="does not fit"):
        Convolution(np.zeros((4, 3, 5, 5)), np.zeros(4), stride=2).forward(np.zeros((1, 3, 4, 4)))


def test_rejects_stride_below_one():
    with pytest.raises(ValueError, match="stride must be >= 1, got 0"):
        Convolution(np.zeros((4, 3, 3, 3)), np.zeros(4), stride=0)


def test_rejects_negative_pad():
    with pytest.raises(ValueError, match="pad must be >= 0, got -1"):
        Convolution(np.zeros((4, 3, 3, 3)), np.zeros(4), pad=-1)


def test_rejects_dout_of_wrong_shape():
    layer = _layer()
    layer.forward(np.zeros((1, 3, 8, 8)))
    with pytest.raises(ValueError, match=r"dout must have the output's shape .*\(1, 4, 4, 4\)"):
        layer.backward(np.zeros((1, 4, 3, 3)))


@pytest.mark.parametrize("layer_cls", LAYERS)
def test_rejects_backward_before_forward(layer_cls):
    layer = layer_cls(np.zeros((4, 3, 3, 3)), np.zeros(4))
    with pytest.raises(ValueError, match="before forward"):
        layer.backward(np.zeros((1, 4, 6, 6)))


def test_rejects_mixed_dtypes_of_x_and_W():
    with pytest.raises(TypeError, match="x has dtype float32 but W has dtype float64"):
        _layer().forward(np.zeros((1, 3, 8, 8), dtype=np.float32))


def test_rejects_bias_dtype_other_than_W():
    with pytest.raises(TypeError, match="b has dtype float64 but W has dtype float32"):
        Convolution(np.zeros((4, 3, 3, 3), np.float32), np.zeros(4))


def test_rejects_integer_weights():
    with pytest.raises(TypeError, match="floating dtype, got int64"):
        Convolution(np.zeros((4, 3, 3, 3), np.int64), np.zeros(4, np.int64))


def test_rejects_dout_of_other_dtype():
    layer = _layer()
    layer.forward(np.zeros((1, 3, 8, 8)))
    with pytest.raises(TypeError, match="dout has dtype float32"):
        layer.backward(np.zeros((1, 4, 4, 4), np.float32))


def test_rejects_weights_not_4d():
    with pytest.raises(ValueError, match="W must be 4-D"):
        Convolution(np.zeros((4, 3, 3)), np.zeros(4))


# ---------------------------------------------------------------- issue 13 regressions
@pytest.mark.parametrize("layer_cls", LAYERS)
def test_empty_batch_gives_empty_output_and_zero_weight_gradients(layer_cls):
    rng = np.random.default_rng(0)
    W, b = rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    x = np.zeros((0, 3, 9, 8))
    layer = layer_cls(W, b, stride=2, pad=1)
    out = layer.forward(x)
    expected = F.conv2d(torch.from_numpy(x), torch.from_numpy(W), torch.from_numpy(b), stride=2, padding=1)
    assert out.shape == tuple(expected.shape) == (0, 4, 5, 4)
    dx = layer.backward(np.zeros(out.shape))
    assert dx.shape == x.shape
    assert layer.dW.shape == W.shape and not layer.dW.any()
    assert layer.db.shape == b.shape and not layer.db.any()
    assert conv2d_naive(x, W, b, 2, 1).shape == (0, 4, 5, 4)


@pytest.mark.parametrize("layer_cls", LAYERS)
def test_float16_overflow_raises_instead_of_returning_inf(layer_cls):
    W, b = np.full((2, 3, 3, 3), 100, np.float16), np.zeros(2, np.float16)
    with pytest.raises(ValueError, match=r"the output overflowed float16: every entry of x, W, b is finite"):
        layer_cls(W, b).forward(np.full((1, 3, 5, 5), 100, np.float16))  # 27 * 100 * 100
    layer = layer_cls(W, b)
    out = layer.forward(np.ones((1, 3, 5, 5), np.float16))
    with pytest.raises(ValueError, match=r"overflowed float16: every entry of dout, x, W is finite"):
        layer.backward(np.full(out.shape, 1000, np.float16))
    with pytest.raises(ValueError, match="the output overflowed float16"):
        conv2d_naive(np.full((1, 3, 5, 5), 100, np.float16), W, b)


def test_inf_in_the_input_propagates_without_error():
    W, b = np.ones((2, 3, 3, 3)), np.zeros(2)
    x = np.ones((1, 3, 5, 5))
    x[0, 0, 0, 0] = np.inf
    out = Convolution(W, b).forward(x)
    assert np.isinf(out[:, :, 0, 0]).all() and np.isfinite(out[:, :, 1:, :]).all()


def test_rejects_weights_with_an_empty_dimension():
    with pytest.raises(ValueError, match=r"W must have every size \(FN, C, FH, FW\) >= 1"):
        Convolution(np.zeros((0, 3, 3, 3)), np.zeros(0))
