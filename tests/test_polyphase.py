"""The polyphase layer and helpers against PyTorch, against Convolution, and their bad input.

Oracles: ``torch.nn.functional.conv2d`` / ``conv1d`` with autograd (forward, dx, dW,
db), ``conv_transpose2d`` with ``output_padding``, ``pixel_shuffle``; the im2col
layer ``Convolution``; ``np.pad`` for the components.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from strided_conv import (
    Convolution,
    PolyphaseConvolution,
    conv_transpose2d_polyphase,
    phase_terms,
    pixel_shuffle,
    pixel_unshuffle,
    polyphase_components,
    polyphase_kernels,
    relative_error,
)
from strided_conv.bench.cases import CONV_SHAPES, conv_inputs
from strided_conv.bench.memory import peak_extra_bytes, peak_repeated_call_bytes
from strided_conv.polyphase import BLOCK_BYTES, phase_taps

pytestmark = pytest.mark.usefixtures("one_torch_thread")

#: float32 results are compared with PyTorch's float32 at this relative error
#: (max |difference| / max |value|): sums of up to C*FH*FW = 48 products, each
#: rounded at 2**-24 = 6e-8, in a different order than PyTorch's.
FLOAT32_RTOL = 5e-5


@st.composite
def configs(draw, max_size=10):
    """Random geometries: strides 1-3 that need not divide, padding, dilation,
    rectangular kernels/strides/padding, N = 1 and C = 1 included."""
    fh, fw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    p = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    d = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    h = draw(st.integers(max(1, d[0] * (fh - 1) + 1 - 2 * p[0]), max_size))
    w = draw(st.integers(max(1, d[1] * (fw - 1) + 1 - 2 * p[1]), max_size))
    n, c, fn = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 4))
    return (n, c, h, w), (fn, c, fh, fw), s, p, d


def random_case(cfg, seed, dtype):
    x_shape, w_shape, s, p, d = cfg
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(x_shape).astype(dtype)
    W = rng.standard_normal(w_shape).astype(dtype)
    b = rng.standard_normal(w_shape[0]).astype(dtype)
    out_shape = F.conv2d(torch.zeros(x_shape), torch.zeros(w_shape), stride=s, padding=p,
                         dilation=d).shape
    dout = rng.standard_normal(tuple(out_shape)).astype(dtype)
    return x, W, b, dout, s, p, d


def torch_reference(x, W, b, dout, s, p, d):
    xt, Wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, W, b))
    out = F.conv2d(xt, Wt, bt, stride=s, padding=p, dilation=d)
    out.backward(torch.tensor(dout))
    return [t.detach().numpy() for t in (out, xt.grad, Wt.grad, bt.grad)]


def run_layer(layer_cls, x, W, b, dout, s, p, d, **kw):
    layer = layer_cls(W, b, stride=s, pad=p, dilation=d, **kw)
    out = layer.forward(x)
    dx = layer.backward(dout)
    return [out, dx, layer.dW, layer.db]


TAPS = st.sampled_from([None, 1, 2, 5])


# --------------------------------------------------------------------------- the layer


@settings(max_examples=60, deadline=None)
@given(configs(), st.integers(0, 2**32 - 1), TAPS)
def test_float64_matches_pytorch(cfg, seed, taps):
    case = random_case(cfg, seed, np.float64)
    got = run_layer(PolyphaseConvolution, *case, taps_per_product=taps)
    for name, g, ref in zip(("out", "dx", "dW", "db"), got, torch_reference(*case)):
        assert g.shape == ref.shape and g.dtype == np.float64, name
        assert relative_error(g, ref) <= 1e-10, name


@settings(max_examples=30, deadline=None)
@given(configs(), st.integers(0, 2**32 - 1), TAPS)
def test_float32_stays_float32_and_matches_pytorch(cfg, seed, taps):
    case = random_case(cfg, seed, np.float32)
    got = run_layer(PolyphaseConvolution, *case, taps_per_product=taps)
    for name, g, ref in zip(("out", "dx", "dW", "db"), got, torch_reference(*case)):
        assert g.dtype == np.float32, name
        assert relative_error(g, ref) <= FLOAT32_RTOL, name


@settings(max_examples=40, deadline=None)
@given(configs(), st.integers(0, 2**32 - 1))
def test_matches_the_im2col_layer(cfg, seed):
    case = random_case(cfg, seed, np.float64)
    for g, ref in zip(run_layer(PolyphaseConvolution, *case), run_layer(Convolution, *case)):
        assert relative_error(g, ref) <= 1e-12


def test_many_blocks_and_taps_per_product(monkeypatch):
    # A tiny block budget forces one output row per block; every grouping of taps.
    import strided_conv.polyphase as pp

    monkeypatch.setattr(pp, "BLOCK_BYTES", 1)
    case = random_case(((2, 3, 11, 9), (4, 3, 3, 2), (2, 1), (1, 2), (2, 1)), 0, np.float64)
    ref = torch_reference(*case)
    for taps in (None, 1, 2, 3, 6, 100):
        for g, r in zip(run_layer(PolyphaseConvolution, *case, taps_per_product=taps), ref):
            assert relative_error(g, r) <= 1e-12


def test_bench_shapes_match_pytorch_in_float32():
    # The benchmark's shapes with a smaller batch: S4 is C = 3 with a 7x7 kernel at stride 2.
    for name in ("S1", "S3", "S4"):
        s = CONV_SHAPES[name]
        a = conv_inputs(s, np.float32)
        case = (a["x"][:2], a["W"], a["b"], a["dout"][:2], s.stride, s.pad, 1)
        for g, ref in zip(run_layer(PolyphaseConvolution, *case), torch_reference(*case)):
            assert relative_error(g, ref) <= FLOAT32_RTOL, name


def test_forward_returns_contiguous_output_and_reuses_components():
    x, W, b, *_ = random_case(((2, 3, 7, 6), (4, 3, 3, 2), 2, 1, 1), 0, np.float64)
    layer = PolyphaseConvolution(W, b, 2, 1)
    assert layer.forward(x).flags.c_contiguous
    comp = layer.components
    x2 = x[::-1].copy()
    out2 = layer.forward(x2)
    assert layer.components is comp  # refilled in place
    ref = F.conv2d(torch.from_numpy(x2), torch.from_numpy(W), torch.from_numpy(b), stride=2,
                   padding=1).numpy()
    assert relative_error(out2, ref) <= 1e-12
    layer.forward(np.ones((3, 3, 7, 6)))
    assert layer.components is not comp and layer.components.shape[2] == 3


def test_components_attribute_is_polyphase_components_channels_first():
    x, W, b, _, s, p, d = random_case(((2, 3, 7, 6), (4, 3, 3, 2), (2, 3), (1, 2), 1), 0,
                                      np.float64)
    layer = PolyphaseConvolution(W, b, s, p, d)
    layer.forward(x)
    expected = polyphase_components(x, s, p).transpose(0, 1, 3, 2, 4, 5)
    assert np.array_equal(layer.components, expected)


def test_gradient_of_the_never_read_tail_is_zero():
    # Size 8, kernel 3, stride 2: windows end at 6, so row 7 and column 7 are never read.
    case = random_case(((2, 2, 8, 8), (3, 2, 3, 3), 2, 0, 1), 1, np.float64)
    dx = run_layer(PolyphaseConvolution, *case)[1]
    assert (dx[:, :, 7, :] == 0).all() and (dx[:, :, :, 7] == 0).all()
    assert (dx[:, :, :7, :7] != 0).all()


# --------------------------------------------------------------------------- memory


def _padded_plus_output_bytes(x, W, s, p, d):
    N, C, H, Wd = x.shape
    out = F.conv2d(torch.zeros(x.shape[:2] + (H, Wd)), torch.zeros(W.shape), stride=s,
                   padding=p, dilation=d).shape
    return N * C * (H + 2 * p) * (Wd + 2 * p) * x.itemsize + int(np.prod(out)) * x.itemsize


@pytest.mark.parametrize("name", ["S1", "S2", "S3", "S4"])
def test_forward_peak_memory_at_the_bench_shapes(name):
    """The issue's bound: peak extra memory of a forward <= 1.1 (padded input + output),
    on a first and on a repeated call; the col matrix would not fit under it."""
    s = CONV_SHAPES[name]
    a = conv_inputs(s, np.float32)
    x = a["x"]
    budget = _padded_plus_output_bytes(x, a["W"], s.stride, s.pad, 1)
    layer = PolyphaseConvolution(a["W"], a["b"], s.stride, s.pad)
    assert peak_extra_bytes(lambda: layer.forward(x)) <= 1.1 * budget
    again = PolyphaseConvolution(a["W"], a["b"], s.stride, s.pad)
    assert peak_repeated_call_bytes(lambda: again.forward(x)) <= 1.1 * budget
    if name != "S1":  # S1 (3 channels, 16 filters) has a col smaller than its output
        assert s.col_bytes(np.float32) > 1.1 * budget


@settings(max_examples=25, deadline=None)
@given(configs(max_size=24), st.integers(0, 2**32 - 1))
def test_forward_extra_memory_is_components_output_and_blocks(cfg, seed):
    """At any size: the components, the output and the cache-sized block buffers."""
    x, W, b, _, s, p, d = random_case(cfg, seed, np.float64)
    layer = PolyphaseConvolution(W, b, s, p, d)
    out = layer.forward(x)
    comp = layer.components.nbytes
    one_row = max(W.shape[0], 128 + W.shape[1]) * layer.components.shape[-1] * 8
    blocks = 3 * max(BLOCK_BYTES, one_row)  # three buffers, at least one grid row each
    peak = peak_extra_bytes(lambda: PolyphaseConvolution(W, b, s, p, d).forward(x))
    assert peak <= comp + out.nbytes + blocks + 4 * W.nbytes + 32 * 1024


# --------------------------------------------------------------------------- the identity


@settings(max_examples=60, deadline=None)
@given(configs(), st.integers(0, 2**32 - 1))
def test_polyphase_identity(cfg, seed):
    """The strided convolution is the sum over phases of stride-1 convolutions."""
    x, W, b, dout, s, p, d = random_case(cfg, seed, np.float64)
    terms = phase_terms(x, W, s, p, d)
    assert terms.shape[:2] == s
    ref = torch_reference(x, W, b, dout, s, p, d)[0]
    assert relative_error(terms.sum(axis=(0, 1)) + b[:, None, None], ref) <= 1e-12
    # and each term is PyTorch's stride-1 convolution of a component with a sub-kernel
    comp, subs = polyphase_components(x, s, p), polyphase_kernels(W, s, d)
    OH, OW = ref.shape[2:]
    for rh in range(s[0]):
        for rw in range(s[1]):
            sub = subs[rh][rw]
            if sub.shape[2] == 0 or sub.shape[3] == 0:
                assert not terms[rh, rw].any()
                continue
            t = F.conv2d(torch.from_numpy(comp[rh, rw]), torch.from_numpy(sub)).numpy()
            assert relative_error(t[:, :, :OH, :OW], terms[rh, rw]) <= 1e-12


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 20), st.integers(1, 5), st.integers(1, 4), st.integers(0, 3),
       st.integers(1, 3), st.integers(0, 2**32 - 1))
def test_identity_in_1d_against_conv1d(i, k, s, p, d, seed):
    if d * (k - 1) + 1 > i + 2 * p:
        return
    rng = np.random.default_rng(seed)
    x, W = rng.standard_normal((2, 3, i)), rng.standard_normal((2, 3, k))
    terms = phase_terms(x, W, s, p, d)
    ref = F.conv1d(torch.from_numpy(x), torch.from_numpy(W), stride=s, padding=p,
                   dilation=d).numpy()
    assert terms.shape == (s,) + ref.shape
    assert relative_error(terms.sum(axis=0), ref) <= 1e-12
    comp = polyphase_components(x, s, p)
    assert comp.shape == (s, 2, 3, -(-(i + 2 * p) // s))
    padded = np.pad(x, ((0, 0), (0, 0), (p, p)))
    for r in range(s):
        n = len(range(r, i + 2 * p, s))
        assert np.array_equal(comp[r, ..., :n], padded[..., r::s])
        assert not comp[r, ..., n:].any()


@given(st.integers(1, 9), st.integers(1, 4), st.integers(1, 4))
def test_every_tap_falls_on_exactly_one_phase(k, s, d):
    phases = phase_taps(k, s, d)
    taps = sorted(t for ph in phases for t, _ in ph)
    assert taps == list(range(k))
    for r, ph in enumerate(phases):
        assert all(t * d == q * s + r for t, q in ph)
    W = np.arange(1.0, k + 1).reshape(1, 1, k)
    subs = polyphase_kernels(W, s, d)
    assert sum(np.count_nonzero(w) for w in subs) == k
    if d == 1:  # no dilation: sub-kernel lengths ceil((k - r)/s), summing to k
        assert [w.shape[-1] for w in subs] == [-(-(k - r) // s) for r in range(s)]
        assert sum(w.shape[-1] for w in subs) == k


@settings(max_examples=40, deadline=None)
@given(configs(), st.integers(0, 2**32 - 1))
def test_components_are_the_padded_input_rearranged(cfg, seed):
    x, _, _, _, s, p, _ = random_case(cfg, seed, np.float64)
    comp = polyphase_components(x, s, p)
    padded = np.pad(x, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])))
    H, W = padded.shape[2:]
    assert comp.shape == (*s, *x.shape[:2], -(-H // s[0]), -(-W // s[1]))
    for rh in range(s[0]):
        for rw in range(s[1]):
            part = padded[:, :, rh::s[0], rw::s[1]]
            assert np.array_equal(comp[rh, rw, :, :, :part.shape[2], :part.shape[3]], part)
    # nothing is lost or duplicated
    assert comp.sum() == pytest.approx(x.sum(), rel=1e-12, abs=1e-12)
    assert comp.size - padded.size == np.count_nonzero(comp == 0) - np.count_nonzero(padded == 0)


@given(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.integers(1, 4),
       st.integers(0, 2**32 - 1))
def test_pixel_shuffle_and_unshuffle_match_pytorch(f, hb, wb, c, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, c, hb * f, wb * f))
    un = pixel_unshuffle(x, f)
    assert np.array_equal(un, F.pixel_unshuffle(torch.from_numpy(x), f).numpy())
    assert np.array_equal(pixel_shuffle(un, f), x)
    assert np.array_equal(pixel_shuffle(un, f), F.pixel_shuffle(torch.from_numpy(un), f).numpy())
    # the components of a divisible image are pixel_unshuffle with the phases in front
    comp = polyphase_components(x, f)
    assert np.array_equal(comp, un.reshape(2, c, f, f, hb, wb).transpose(2, 3, 0, 1, 4, 5))


# --------------------------------------------------------------------------- transposed


@settings(max_examples=60, deadline=None)
@given(configs(), st.integers(0, 2**32 - 1), st.data())
def test_transposed_convolution_matches_pytorch(cfg, seed, data):
    x, W, b, dout, s, p, d = random_case(cfg, seed, np.float64)
    a = tuple(data.draw(st.integers(0, max(si, di) - 1)) for si, di in zip(s, d))
    c = np.random.default_rng(seed).standard_normal(W.shape[1])
    try:
        ref = F.conv_transpose2d(torch.from_numpy(dout), torch.from_numpy(W), torch.from_numpy(c),
                                 stride=s, padding=p, output_padding=a, dilation=d).numpy()
    except RuntimeError:  # PyTorch finds no valid output size: so must we
        with pytest.raises(ValueError):
            conv_transpose2d_polyphase(dout, W, c, s, p, d, a)
        return
    got = conv_transpose2d_polyphase(dout, W, c, s, p, d, a)
    assert got.shape == ref.shape
    assert relative_error(got, ref) <= 1e-12


def test_transposed_convolution_is_the_layers_dx():
    x, W, b, dout, s, p, d = random_case(((2, 3, 9, 8), (4, 3, 3, 3), (2, 3), (1, 0), 1), 3,
                                         np.float64)
    layer = PolyphaseConvolution(W, b, s, p, d)
    layer.forward(x)
    dx = layer.backward(dout)
    a = tuple((n + 2 * pi - (k - 1) - 1) % si for n, pi, k, si in zip((9, 8), p, (3, 3), s))
    assert np.array_equal(conv_transpose2d_polyphase(dout, W, None, s, p, d, a), dx)


# --------------------------------------------------------------------------- bad input


def _W(dtype=np.float64):
    return np.zeros((4, 3, 3, 3), dtype)


BAD_CONSTRUCTION = {
    "W not an array": lambda L: L([[0.0]], np.zeros(4)),
    "W 3-D": lambda L: L(np.zeros((4, 3, 3)), np.zeros(4)),
    "W integer": lambda L: L(np.zeros((4, 3, 3, 3), np.int64), np.zeros(4, np.int64)),
    "b wrong shape": lambda L: L(_W(), np.zeros((4, 1))),
    "b other dtype": lambda L: L(_W(np.float32), np.zeros(4)),
    "b not an array": lambda L: L(_W(), [0.0] * 4),
    "stride 0": lambda L: L(_W(), np.zeros(4), stride=0),
    "stride float": lambda L: L(_W(), np.zeros(4), stride=2.0),
    "stride bool": lambda L: L(_W(), np.zeros(4), stride=True),
    "stride triple": lambda L: L(_W(), np.zeros(4), stride=(1, 2, 3)),
    "stride pair with 0": lambda L: L(_W(), np.zeros(4), stride=(1, 0)),
    "pad -1": lambda L: L(_W(), np.zeros(4), pad=-1),
    "pad float": lambda L: L(_W(), np.zeros(4), pad=0.5),
    "dilation 0": lambda L: L(_W(), np.zeros(4), dilation=0),
    "dilation string": lambda L: L(_W(), np.zeros(4), dilation="2"),
}

BAD_FORWARD = {
    "x not an array": [[0.0]],
    "x 3-D": np.zeros((3, 8, 8)),
    "x other dtype": np.zeros((1, 3, 8, 8), np.float32),
    "x channel mismatch": np.zeros((1, 2, 8, 8)),
    "kernel does not fit": np.zeros((1, 3, 1, 8)),
    "no rows": np.zeros((1, 3, 0, 8)),
    "x integer": np.zeros((1, 3, 8, 8), np.int64),
    "pad beyond any array": np.zeros((1, 3, 8, 8)),
}

BAD_DOUT = {
    "dout not an array": [[0.0]],
    "dout wrong shape": np.zeros((1, 4, 3, 3)),
    "dout other dtype": np.zeros((1, 4, 4, 4), np.float32),
}


def _raised(fn):
    with pytest.raises((TypeError, ValueError)) as info:
        fn()
    return info.type, str(info.value)


@pytest.mark.parametrize("case", sorted(BAD_CONSTRUCTION))
def test_rejects_bad_construction_like_convolution(case):
    make = BAD_CONSTRUCTION[case]
    assert _raised(lambda: make(PolyphaseConvolution)) == _raised(lambda: make(Convolution))


@pytest.mark.parametrize("case", sorted(BAD_FORWARD))
def test_rejects_bad_forward_input_like_convolution(case):
    x = BAD_FORWARD[case]
    pad = 10**30 if case == "pad beyond any array" else 0
    got = _raised(lambda: PolyphaseConvolution(_W(), np.zeros(4), 2, pad).forward(x))
    want = _raised(lambda: Convolution(_W(), np.zeros(4), 2, pad).forward(x))
    if case == "pad beyond any array":  # no col matrix here: the components are refused
        assert got[0] is want[0] is ValueError
        assert "the polyphase components" in got[1] and "pad=(10**30" not in got[1]
        assert f"pad=({10**30}, {10**30})" in got[1] and "more than any array" in got[1]
    else:
        assert got == want


@pytest.mark.parametrize("stride", [1, 2, (3, 1)])
def test_empty_batch_like_convolution(stride):
    """N = 0: empty output and dx, zero dW and db, as Convolution (and PyTorch) give."""
    W, b = np.arange(108.0).reshape(4, 3, 3, 3), np.ones(4)
    results = []
    for L in (PolyphaseConvolution, Convolution):
        layer = L(W, b, stride, 1)
        out = layer.forward(np.zeros((0, 3, 8, 7)))
        dx = layer.backward(np.zeros(out.shape))
        results.append((out, dx, layer.dW, layer.db))
    for got, want in zip(*results):
        assert got.shape == want.shape and got.dtype == want.dtype
        assert np.array_equal(got, want)
    assert results[0][0].shape[0] == 0 and not results[0][2].any() and not results[0][3].any()


@pytest.mark.parametrize("what", ["forward", "backward"])
def test_float16_overflow_raises_like_convolution(what):
    """The overflow rule of layers.py: finite inputs, inf in a result: ValueError."""
    W = np.full((2, 3, 3, 3), 100.0, np.float16)
    x = np.full((1, 3, 5, 5), 100.0 if what == "forward" else 1.0, np.float16)
    raised = []
    for L in (PolyphaseConvolution, Convolution):
        layer = L(W, np.zeros(2, np.float16))
        if what == "forward":
            raised.append(_raised(lambda: layer.forward(x)))
        else:
            out = layer.forward(x)
            raised.append(_raised(lambda: layer.backward(np.full(out.shape, 100.0, np.float16))))
    assert raised[0] == raised[1]
    assert raised[0][0] is ValueError and "overflowed float16" in raised[0][1]


@pytest.mark.parametrize("stride", [(2**40, 1), (1, 10**30), (2**70, 2**40)])
def test_huge_stride_with_one_window_like_convolution(stride):
    """A stride beyond the padded input leaves one window: same result as Convolution,
    and the components hold a handful of phases, not 2**40."""
    x, W, b, _, _, p, d = random_case(((2, 3, 7, 6), (4, 3, 3, 2), 1, 1, 1), 4, np.float64)
    layers = [L(W, b, stride, p, d) for L in (PolyphaseConvolution, Convolution)]
    outs = [layer.forward(x) for layer in layers]
    dout = np.random.default_rng(5).standard_normal(outs[0].shape)
    dxs = [layer.backward(dout) for layer in layers]
    assert outs[0].shape == outs[1].shape
    assert relative_error(outs[0], outs[1]) <= 1e-12 and relative_error(dxs[0], dxs[1]) <= 1e-12
    assert relative_error(layers[0].dW, layers[1].dW) <= 1e-12
    assert np.prod(layers[0].components.shape[:2]) <= (7 + 2) * (6 + 2)


@pytest.mark.parametrize("case", sorted(BAD_DOUT))
def test_rejects_bad_dout_like_convolution(case):
    def run(L):
        layer = L(_W(), np.zeros(4), 2, 1)
        layer.forward(np.zeros((1, 3, 8, 8)))
        return layer.backward(BAD_DOUT[case])

    assert _raised(lambda: run(PolyphaseConvolution)) == _raised(lambda: run(Convolution))


def test_rejects_backward_before_forward_like_convolution():
    def run(L):
        return L(_W(), np.zeros(4)).backward(np.zeros((1, 4, 6, 6)))

    assert _raised(lambda: run(PolyphaseConvolution)) == _raised(lambda: run(Convolution))


def test_rejects_weights_replaced_after_construction_like_convolution():
    def run(L):
        layer = L(_W(), np.zeros(4))
        layer.W = np.zeros((4, 3, 3))
        return layer.forward(np.zeros((1, 3, 8, 8)))

    assert _raised(lambda: run(PolyphaseConvolution)) == _raised(lambda: run(Convolution))


def test_error_messages_name_the_parameter():
    for case, make in BAD_CONSTRUCTION.items():
        _, msg = _raised(lambda: make(PolyphaseConvolution))
        word = case.split()[0]
        assert word in msg, (case, msg)


def test_rejects_bad_taps_per_product():
    with pytest.raises(ValueError, match="taps_per_product must be >= 1, got 0"):
        PolyphaseConvolution(_W(), np.zeros(4), taps_per_product=0)


@pytest.mark.parametrize("fn, args, exc, match", [
    (polyphase_components, (np.zeros((2, 2)), 2), ValueError, "x must be 3-D"),
    (polyphase_components, ([1.0], 2), TypeError, "x must be a numpy.ndarray"),
    (polyphase_components, (np.zeros((1, 1, 4, 4)), 0), ValueError, "stride must be >= 1, got 0"),
    (polyphase_components, (np.zeros((1, 1, 4)), (2, 2)), TypeError, "stride must be an int"),
    (polyphase_components, (np.zeros((1, 1, 4, 4)), 2, -1), ValueError, "pad must be >= 0"),
    (polyphase_kernels, (np.zeros((1, 1, 3, 3)), 2, 0), ValueError, "dilation must be >= 1, got 0"),
    (polyphase_kernels, (np.zeros(3), 2), ValueError, "W must be 3-D"),
    (phase_terms, (np.zeros((1, 1, 5)), np.zeros((1, 1, 3, 3))), ValueError, "both be 1-D"),
    (phase_terms, (np.zeros((1, 2, 5)), np.zeros((1, 1, 3))), ValueError, "x has C=2 channels"),
    (phase_terms, (np.zeros((1, 1, 2)), np.zeros((1, 1, 3))), ValueError, "does not fit"),
    (pixel_unshuffle, (np.zeros((1, 1, 4, 5)), 2), ValueError, r"\(4, 5\) must be divisible"),
    (pixel_shuffle, (np.zeros((1, 3, 2, 2)), 2), ValueError, "channels \\(3\\) must be divisible"),
    (pixel_shuffle, (np.zeros((1, 4, 2)), 2), ValueError, "x must be 4-D"),
    (pixel_shuffle, (np.zeros((1, 4, 2, 2)), 0), ValueError, "factor must be >= 1, got 0"),
    (conv_transpose2d_polyphase, (np.zeros((1, 5, 3, 3)), _W()), ValueError, "x has 5 channels"),
    (conv_transpose2d_polyphase, (np.zeros((1, 4, 3, 3), np.float32), _W()), TypeError,
     "x has dtype float32 but W has dtype float64"),
    (conv_transpose2d_polyphase, (np.zeros((1, 4, 3, 3)), _W(), np.zeros(4)), ValueError,
     r"b must have shape \(FN,\) = \(3,\)"),
    (conv_transpose2d_polyphase, (np.zeros((1, 4, 3, 3)), _W(), None, 2, 0, 1, 2), ValueError,
     "output_padding=2 must be smaller than max"),
    (conv_transpose2d_polyphase, (np.zeros((1, 4, 3, 3)), np.zeros((4, 3, 3))), ValueError,
     "W must be 4-D"),
    (conv_transpose2d_polyphase, (np.zeros((1, 4, 0, 3)), _W()), ValueError,
     r"x.shape\[2\] \(H'\) must be >= 1, got 0"),
    (conv_transpose2d_polyphase, (np.zeros((1, 4, 1, 1)), _W(), None, 1, 2), ValueError,
     r"padding=2 is too large.*pad=\(2, 2\)"),
    (conv_transpose2d_polyphase, (np.zeros((1, 4, 3, 3)), _W(), None, 2**70), ValueError,
     "the output .* more than any array"),
    (polyphase_components, (np.zeros((1, 1, 4, 4), object), 2), TypeError,
     "x must have a numeric dtype"),
    (polyphase_components, (np.zeros((1, 0, 4)), 2), ValueError,
     r"x.shape\[1\] \(C\) must be >= 1, got 0"),
    (polyphase_components, (np.zeros((1, 1, 4, 4)), 2, 2**70), ValueError,
     "the components .* more than any array"),
    (polyphase_kernels, (np.zeros((0, 1, 3)), 2), ValueError,
     r"W.shape\[0\] \(FN\) must be >= 1, got 0"),
    (polyphase_kernels, (np.zeros((1, 1, 3, 3)), (10**4, 10**4)), ValueError,
     "100000000 phases, more than 10000000"),
    (polyphase_kernels, (np.zeros((1, 1, 3, 3)), 1, 2**70), ValueError,
     "a sub-kernel .* more than any array"),
    (phase_taps, (3, 10**8), ValueError, "stride=100000000 gives 100000000 phases"),
    (phase_terms, (np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 5, 1))), ValueError,
     r"W.shape\[2\] \(FH\)=5 .*\(x.shape = \(1, 1, 4, 4\)"),
    (pixel_unshuffle, (np.zeros((1, 1, 4, 4), "U1"), 2), TypeError, "x must have a numeric"),
    (pixel_unshuffle, (np.zeros((1, 1, 0, 4)), 2), ValueError, r"x.shape\[2\] \(H\) must be"),
    (pixel_shuffle, (np.zeros((1, 4, 2, 2)), 2.0), TypeError, "factor must be an int"),
])
def test_helpers_reject_bad_input(fn, args, exc, match):
    with pytest.raises(exc, match=match):
        fn(*args)


def test_helpers_accept_empty_batches():
    """N = 0 (the package's rule): empty results of the right shape, as PyTorch gives."""
    x, W = np.zeros((0, 3, 8, 7)), np.ones((4, 3, 3, 2))
    assert polyphase_components(x, 2, 1).shape == (2, 2, 0, 3, 5, 5)
    assert phase_terms(x, W, (2, 3), 1).shape == (2, 3, 0, 4, 4, 3)
    assert pixel_unshuffle(np.zeros((0, 3, 4, 6)), 2).shape == (0, 12, 2, 3)
    assert pixel_shuffle(np.zeros((0, 12, 2, 3)), 2).shape == (0, 3, 4, 6)
    got = conv_transpose2d_polyphase(np.zeros((0, 4, 3, 3)), W, np.ones(3), 2, 1)
    ref = F.conv_transpose2d(torch.zeros(0, 4, 3, 3, dtype=torch.float64), torch.from_numpy(W),
                             torch.ones(3, dtype=torch.float64), stride=2, padding=1)
    assert got.shape == tuple(ref.shape)


def test_transposed_convolution_overflow_raises():
    W = np.full((2, 3, 3, 3), 100.0, np.float16)
    with pytest.raises(ValueError, match="the output overflowed float16: every entry of x, W"):
        conv_transpose2d_polyphase(np.full((1, 2, 4, 4), 100.0, np.float16), W)
