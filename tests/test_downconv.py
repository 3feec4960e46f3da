"""DownConv against independent oracles: the original module, brute-force window
checks, PyTorch autograd and chapter 2's NumPy layer."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils import prune
from hypothesis import given, settings
from hypothesis import strategies as st

from strided_conv import (
    TAIL_POLICIES,
    DownConv,
    DownConvSizes,
    NumPyDownConv,
    conv_output_size,
    downconv_sizes,
    feasible_segments,
    input_dependence,
    package_outcome,
    second_conv_sizes,
    tiled_conv1d,
)
from strided_conv.original.downconv import DownConv as OriginalDownConv


pytestmark = pytest.mark.usefixtures("one_torch_thread")


# ---------------------------------------------------------------- defaults = original
def test_defaults_have_the_original_layers_and_3908_parameters():
    ours, orig = DownConv(), OriginalDownConv()
    assert [(n, p.shape) for n, p in ours.named_parameters()] == \
           [(n, p.shape) for n, p in orig.named_parameters()]
    assert sum(p.numel() for p in ours.parameters()) == 3908
    assert (ours.mid_length, ours.k2, ours.padding, ours.tail_padding) == (20, 5, 0, 0)
    assert ours.relu1a.inplace and orig.relu1a.inplace
    assert (ours.m, ours.k1, ours.channel_reduction) == (orig.m, orig.k1, orig.channel_reduction)


def test_defaults_give_the_original_output_with_its_weights():
    torch.manual_seed(0)
    orig = OriginalDownConv()
    ours = DownConv()
    ours.load_state_dict(orig.state_dict())
    x = torch.randn(3, 200, 64)
    expected = orig(x.clone())
    assert expected.shape == (3, 4, 64)
    # One GEMM instead of Conv1d's kernel: the same sums in another order, so equal
    # up to float32 rounding, and to float64 rounding in double precision.
    torch.testing.assert_close(ours(x), expected)
    torch.testing.assert_close(ours.double()(x.double()), orig.double()(x.double()),
                               rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("tail", TAIL_POLICIES[::2])  # "pad" and "drop"
@given(data=st.data())
@settings(max_examples=40, deadline=None)
def test_tiled_forward_equals_conv1d_layers(tail, data):
    """forward() (tiled_conv1d) against the layers called the usual way, any valid config."""
    n = data.draw(st.integers(1, 60), label="seq_len")
    k1 = data.draw(st.integers(1, n), label="k1")
    tail_pad = (-n) % k1 if tail == "pad" else 0
    mid = (n + tail_pad) // k1
    m = data.draw(st.sampled_from(feasible_segments(mid)), label="m")
    torch.manual_seed(data.draw(st.integers(0, 2**16), label="seed"))
    module = DownConv(n, 8, m, k1, channel_reduction=2, tail=tail).double()
    x = torch.randn(2, n, 8, dtype=torch.float64)
    h = torch.relu(module.conv1a(F.pad(x.transpose(1, 2), (0, tail_pad))))
    expected = module.conv2a(h).transpose(1, 2)
    torch.testing.assert_close(module(x), expected, rtol=1e-12, atol=1e-12)


def test_tiled_conv1d_rejects_overlapping_windows():
    with pytest.raises(ValueError, match=r"stride == kernel_size.*kernel_size=3, stride=2"):
        tiled_conv1d(torch.zeros(1, 6, 2), nn.Conv1d(2, 2, 3, stride=2))
    with pytest.raises(ValueError, match="extra_right"):
        tiled_conv1d(torch.zeros(1, 6, 2), nn.Conv1d(2, 2, 3, stride=3), extra_right=-1)


def test_extra_repr_shows_the_derived_sizes():
    text = repr(DownConv())
    for part in ("mid_length=20", "k2=5", "padding=0", "tail='pad'", "m_segments=4"):
        assert part in text


# ---------------------------------------------------------------- the map of all (m, k1)
def _brute_force_feasible(mid: int, m: int) -> bool:
    """Try every kernel k2 (= stride) and symmetric padding p, checking windows one by one."""
    k2 = np.arange(1, mid + 1)[:, None]
    p = np.arange(0, mid + 1)[None, :]
    padded = mid + 2 * p
    fits = k2 <= padded
    count = np.where(fits, (padded - k2) // k2 + 1, 0)  # direct window count: starts 0, k2, ...
    ok = fits & (count == m)
    for j in range(m):  # window j covers padded [j*k2, j*k2 + k2); real input is [p, p + mid)
        ok &= (j * k2 < p + mid) & (j * k2 + k2 > p)
    ok &= m * k2 >= p + mid  # the last real position is read
    return bool(ok.any())


@pytest.mark.parametrize("tail", TAIL_POLICIES)
def test_every_pair_at_200_gives_m_segments_or_raises(tail):
    cache: dict[tuple[int, int], bool] = {}
    for k1 in range(1, 201):
        for m in range(1, 51):
            try:
                s = downconv_sizes(200, m, k1, tail)
            except ValueError:
                if tail == "error" and 200 % k1:
                    continue
                mid = -(-200 // k1) if tail == "pad" else 200 // k1
                key = (mid, m)
                cache.setdefault(key, _brute_force_feasible(*key))
                assert not cache[key], (m, k1, tail)
                continue
            assert conv_output_size(s.mid_length, s.k2, s.k2, s.padding) == m
            key = (s.mid_length, m)
            cache.setdefault(key, _brute_force_feasible(*key))
            assert cache[key]
            spans = s.segment_spans()
            assert all(a < b for a, b in spans), (m, k1, tail)  # no pure-padding segment
            assert spans[0][0] == 0 and all(x[1] == y[0] for x, y in zip(spans, spans[1:]))
            assert spans[-1][1] == (200 - s.tail_items if tail == "drop" else 200)


def test_feasibility_rule_matches_brute_force_for_small_lengths():
    for mid in range(1, 41):
        for m in range(1, 46):
            assert (second_conv_sizes(mid, m) is not None) == _brute_force_feasible(mid, m), (mid, m)


def test_real_modules_on_a_sample_of_pairs_match_the_arithmetic():
    rng = np.random.default_rng(0)
    for m, k1 in zip(rng.integers(1, 51, 120), rng.integers(1, 201, 120)):
        m, k1 = int(m), int(k1)
        outcome = package_outcome(200, m, k1)
        if outcome == "refused":
            with pytest.raises(ValueError):
                DownConv(200, 16, m, k1)
            continue
        module = DownConv(200, 16, m, k1)
        assert module(torch.zeros(1, 200, 16)).shape == (1, m, 16)
        depends = input_dependence(module, 200, 16)
        assert depends.shape == (m, 200)
        assert depends.any(axis=1).all() and depends.any(axis=0).all()
        assert (outcome == "padded tail") == bool(200 % k1)


def test_refusal_message_lists_the_feasible_range():
    assert feasible_segments(20) == [1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 20]
    with pytest.raises(ValueError, match=r"m_segments=12 .* L1=20 .*\{1-8, 10-11, 20\}"):
        DownConv(m_segments=12)


# ---------------------------------------------------------------- tail policy
def test_tail_pad_reads_the_most_recent_items():
    torch.manual_seed(0)
    module = DownConv(200, 16, 3, 30, tail="pad").double()
    with torch.no_grad():  # positive weights: the ReLU never clips
        for p in module.parameters():
            p.copy_(p.abs() + 0.1)
    assert (module.mid_length, module.tail_padding) == (7, 10)
    x = torch.rand(1, 200, 16, dtype=torch.float64, requires_grad=True)
    module(x).sum().backward()
    assert x.grad[0, 180:].abs().sum() > 0
    assert module.segment_spans()[-1][1] == 200


def test_tail_error_refuses_a_k1_that_does_not_divide_seq_len():
    with pytest.raises(ValueError, match=r"k1=30 does not divide seq_len=200.*20 items"):
        DownConv(200, 16, 3, 30, tail="error")


def test_tail_drop_ignores_exactly_the_tail_when_asked():
    module = DownConv(200, 16, 3, 30, tail="drop")
    depends = input_dependence(module, 200, 16)
    assert not depends[:, 180:].any() and depends[:, :180].any(axis=0).all()


def test_all_tail_policies_agree_when_k1_divides_seq_len():
    sizes = {t: downconv_sizes(200, 4, 10, t) for t in TAIL_POLICIES}
    assert len({(s.mid_length, s.k2, s.padding, s.tail_padding) for s in sizes.values()}) == 1


# ---------------------------------------------------------------- spans vs autograd
feasible_configs = st.tuples(
    st.integers(1, 60), st.integers(1, 12), st.integers(1, 20), st.sampled_from(TAIL_POLICIES)
).filter(lambda c: c[2] <= c[0] and package_outcome(c[0], c[1], c[2], c[3]) != "refused")


@settings(max_examples=40, deadline=None)
@given(feasible_configs)
def test_segment_spans_match_autograd(c):
    seq_len, m, k1, tail = c
    torch.manual_seed(0)
    module = DownConv(seq_len, 4, m, k1, channel_reduction=2, tail=tail).double()
    with torch.no_grad():  # positive weights and input: the ReLU never clips
        for p in module.parameters():
            p.copy_(p.abs() + 0.1)
    x = torch.rand(1, seq_len, 4, dtype=torch.float64) + 0.1
    for j, (start, stop) in enumerate(module.segment_spans()):
        xj = x.clone().requires_grad_(True)
        module(xj)[0, j].sum().backward()
        nonzero = (xj.grad[0].abs().sum(axis=1) > 0).numpy()
        expected = np.zeros(seq_len, bool)
        expected[start:stop] = True
        np.testing.assert_array_equal(nonzero, expected)


# ---------------------------------------------------------------- chapter 2 cross-check
@pytest.mark.parametrize("args", [{}, {"m_segments": 3, "k1": 30}, {"m_segments": 7, "k1": 8},
                                  {"m_segments": 3, "k1": 30, "tail": "drop"}])
def test_numpy_layers_match_pytorch_forward_and_input_gradient(args):
    torch.manual_seed(1)
    module = DownConv(**args).double()
    x = torch.randn(2, 200, 64, dtype=torch.float64, requires_grad=True)
    y = module(x)
    dout = torch.randn_like(y)
    y.backward(dout)
    numpy_layers = NumPyDownConv(module)
    y_np = numpy_layers.forward(x.detach().numpy())
    dx_np = numpy_layers.backward(dout.numpy())
    rel = lambda a, b: np.abs(a - b).max() / np.abs(b).max()  # noqa: E731
    assert rel(y_np, y.detach().numpy()) <= 1e-10
    assert rel(dx_np, x.grad.numpy()) <= 1e-10


def test_numpy_backward_before_forward_raises():
    with pytest.raises(ValueError, match="before forward"):
        NumPyDownConv(DownConv()).backward(np.zeros((1, 4, 64)))


# ---------------------------------------------------------------- bad arguments
@pytest.mark.parametrize("kwargs, error, pattern", [
    ({"seq_len": 0}, ValueError, r"seq_len must be >= 1, got 0"),
    ({"seq_len": 200.0}, TypeError, r"seq_len must be an int"),
    ({"hidden_size": 0}, ValueError, r"hidden_size must be >= 1"),
    ({"m_segments": 0}, ValueError, r"m_segments must be >= 1"),
    ({"m_segments": True}, TypeError, r"m_segments must be an int"),
    ({"k1": 0}, ValueError, r"k1 must be >= 1"),
    ({"k1": 201}, ValueError, r"k1=201 must be <= seq_len=200"),
    ({"channel_reduction": 0}, ValueError, r"channel_reduction must be >= 1"),
    ({"channel_reduction": 65}, ValueError, r"hidden_size // channel_reduction must be >= 1"),
    ({"tail": "truncate"}, ValueError, r"tail must be one of"),
    ({"m_segments": 21}, ValueError, r"m_segments=21 is not feasible"),
])
def test_bad_constructor_argument(kwargs, error, pattern):
    with pytest.raises(error, match=pattern):
        DownConv(**kwargs)


@pytest.mark.parametrize("x, error, pattern", [
    (torch.zeros(2, 199, 64), ValueError, r"seq_len=200.*got \(2, 199, 64\)"),
    (torch.zeros(2, 200, 32), ValueError, r"hidden_size=64.*got \(2, 200, 32\)"),
    (torch.zeros(200, 64), ValueError, r"got \(200, 64\)"),
    (np.zeros((2, 200, 64)), TypeError, r"must be a torch.Tensor, got ndarray"),
])
def test_bad_forward_input(x, error, pattern):
    with pytest.raises(error, match=pattern):
        DownConv()(x)


# ---------------------------------------------------------------- issue 13: what users attach
def _prune(conv):
    prune.l1_unstructured(conv, "weight", amount=0.5)


def _weight_norm_old(conv):
    import warnings

    with warnings.catch_warnings():  # deprecated in favour of parametrizations, still used
        warnings.simplefilter("ignore", FutureWarning)
        torch.nn.utils.weight_norm(conv)


ATTACHMENTS = {
    "prune": _prune,
    "weight_norm": _weight_norm_old,
    "parametrizations.weight_norm": torch.nn.utils.parametrizations.weight_norm,
    "spectral_norm": torch.nn.utils.spectral_norm,
    "parametrizations.spectral_norm": torch.nn.utils.parametrizations.spectral_norm,
    "forward_pre_hook": lambda conv: conv.register_forward_pre_hook(lambda m, args: (args[0] * 2,)),
    "forward_hook": lambda conv: conv.register_forward_hook(lambda m, args, out: out + 1),
}


@pytest.mark.parametrize("layer", ["conv1a", "conv2a"])
@pytest.mark.parametrize("kind", ATTACHMENTS)
def test_attached_things_run_as_in_the_original_module_over_training_steps(kind, layer):
    """Same weights, the same thing attached to both, three SGD steps: same outputs."""
    torch.manual_seed(0)
    ours, orig = DownConv().double(), OriginalDownConv().double()
    for module in (ours, orig):
        torch.manual_seed(1)  # spectral_norm draws its power-iteration vector
        ATTACHMENTS[kind](getattr(module, layer))
    orig.load_state_dict(ours.state_dict())
    x = torch.randn(3, 200, 64, dtype=torch.float64)
    optimisers = [torch.optim.SGD(m.parameters(), lr=0.5) for m in (ours, orig)]
    for step in range(3):
        outputs = [m(x.clone()) for m in (ours, orig)]
        torch.testing.assert_close(outputs[0], outputs[1], rtol=1e-10, atol=1e-10)
        for y, opt in zip(outputs, optimisers):
            opt.zero_grad()
            y.square().mean().backward()
            opt.step()
        if kind == "prune":  # an update of weight_orig must reach the next forward
            assert getattr(ours, layer).weight_orig.grad is not None


def test_pruned_weight_update_reaches_the_output():
    """The issue's case: prune conv1a, change weight_orig, the output must follow."""
    torch.manual_seed(0)
    module = DownConv(200, 16, 3, 30)  # k1 does not divide: padded tail, called layers
    _prune(module.conv1a)
    with torch.no_grad():
        module.conv1a.weight_orig.mul_(3.0)
    x = torch.randn(2, 200, 16)
    h = torch.relu(module.conv1a(F.pad(x.transpose(1, 2), (0, module.tail_padding))))
    torch.testing.assert_close(module(x), module.conv2a(h).transpose(1, 2))


def test_a_full_backward_hook_sees_the_gradient():
    module = DownConv()
    seen = []
    module.conv2a.register_full_backward_hook(lambda m, gin, gout: seen.append(gout[0].shape))
    module(torch.randn(2, 200, 64)).sum().backward()
    assert seen == [torch.Size([2, 64, 4])]


def test_plain_layers_take_the_tiled_path_and_attached_ones_do_not():
    from strided_conv.downconv import _has_attachments

    module = DownConv()
    assert not _has_attachments(module.conv1a)
    handle = module.conv1a.register_forward_hook(lambda m, a, o: None)
    assert _has_attachments(module.conv1a)
    handle.remove()
    assert not _has_attachments(module.conv1a)
    torch.nn.utils.parametrizations.weight_norm(module.conv2a)
    assert _has_attachments(module.conv2a)


# ---------------------------------------------------------------- issue 13: errors and empty batches
def test_float64_input_to_a_float32_module_names_both_dtypes():
    with pytest.raises(TypeError, match=r"input_tensor has dtype torch.float64 but the parameters "
                                        r"of DownConv have dtype torch.float32"):
        DownConv()(torch.zeros(2, 200, 64, dtype=torch.float64))


def test_empty_batch_everywhere():
    module = DownConv().double()
    assert module(torch.zeros(0, 200, 64, dtype=torch.float64)).shape == (0, 4, 64)
    numpy_layers = NumPyDownConv(module)
    y = numpy_layers.forward(np.zeros((0, 200, 64)))
    assert y.shape == (0, 4, 64)
    assert numpy_layers.backward(np.zeros((0, 4, 64))).shape == (0, 200, 64)


@pytest.mark.parametrize("call, error, pattern", [
    (lambda: second_conv_sizes(5, 0), ValueError, "m_segments must be >= 1"),
    (lambda: second_conv_sizes(2.5, 1), TypeError, "mid_length must be an int"),
    (lambda: feasible_segments(10**8), ValueError, "mid_length=100000000 is more than 10000000"),
    (lambda: tiled_conv1d(torch.zeros(1, 6, 3), nn.Conv1d(2, 2, 3, stride=3)), ValueError,
     r"x must have shape \(batch, length, C_in=2\)"),
    (lambda: tiled_conv1d(torch.zeros(1, 2, 2), nn.Conv1d(2, 2, 3, stride=3)), ValueError,
     "fewer than one window"),
    (lambda: tiled_conv1d(torch.zeros(1, 6, 2, dtype=torch.float64), nn.Conv1d(2, 2, 3, stride=3)),
     TypeError, "x has dtype torch.float64"),
    (lambda: tiled_conv1d(torch.zeros(1, 6, 2), nn.Linear(2, 2)), TypeError, "conv must be a torch.nn.Conv1d"),
    (lambda: NumPyDownConv(nn.Linear(2, 2)), TypeError, "module must be a strided_conv.DownConv"),
    (lambda: NumPyDownConv(DownConv()).forward(np.zeros((1, 200, 64), np.float32)), TypeError,
     "x must have dtype float64"),
    (lambda: NumPyDownConv(DownConv()).forward([[0.0]]), TypeError, "x must be a numpy.ndarray"),
    (lambda: input_dependence("DownConv", 200, 64), TypeError, "module must be a torch.nn.Module"),
    (lambda: input_dependence(DownConv(), 100, 64), ValueError,
     "seq_len=100 but the module was built for seq_len=200"),
    (lambda: DownConv(seq_len=10**30, k1=10**29, m_segments=1), ValueError,
     r"conv1a.weight .* more than any array can hold"),
])
def test_errors_name_the_parameter(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()


def test_numpy_copy_refuses_a_module_with_attachments():
    module = DownConv()
    _prune(module.conv1a)
    with pytest.raises(ValueError, match="module.conv1a has hooks, pruning"):
        NumPyDownConv(module)


def test_sizes_must_be_consistent():
    assert DownConvSizes(*[getattr(downconv_sizes(), f) for f in (
        "seq_len", "m_segments", "k1", "tail", "tail_items", "tail_padding", "mid_length", "k2",
        "padding")]) == downconv_sizes()
    with pytest.raises(ValueError, match=r"padding=1 does not match .* which give padding=0"):
        DownConvSizes(200, 4, 10, "pad", 0, 0, 20, 5, 1)


def test_refusal_for_a_huge_first_output_states_the_rule_without_listing():
    with pytest.raises(ValueError, match=r"L1 too large to list it\) \(necessary"):
        downconv_sizes(10**30, 10**29 - 3, 10)


def test_input_dependence_ignores_pruning_and_weight_norm():
    module = DownConv(60, 8, 3, 5, channel_reduction=2)
    expected = input_dependence(module, 60, 8)
    _prune(module.conv1a)
    _weight_norm_old(module.conv2a)
    np.testing.assert_array_equal(input_dependence(module, 60, 8), expected)


def test_global_module_hooks_see_both_convolutions():
    from torch.nn.modules.module import register_module_forward_hook

    module = DownConv()
    seen = []
    handle = register_module_forward_hook(lambda m, args, out: seen.append(type(m).__name__))
    try:
        module(torch.randn(1, 200, 64))
    finally:
        handle.remove()
    assert seen.count("Conv1d") == 2 and seen[-1] == "DownConv"


def test_a_conv1d_subclass_with_its_own_forward_is_called():
    class Doubled(nn.Conv1d):
        def forward(self, x):
            return 2 * super().forward(x)

    torch.manual_seed(0)
    module = DownConv(60, 8, 3, 5, channel_reduction=2).double()
    expected = module(torch.ones(1, 60, 8, dtype=torch.float64))
    doubled = Doubled(8, 4, 5, stride=5).double()
    doubled.load_state_dict(module.conv1a.state_dict())
    module.conv1a = doubled
    h = torch.relu(2 * F.conv1d(torch.ones(1, 8, 60, dtype=torch.float64), doubled.weight,
                                doubled.bias, stride=5))
    torch.testing.assert_close(module(torch.ones(1, 60, 8, dtype=torch.float64)),
                               module.conv2a(h).transpose(1, 2))
    assert not torch.allclose(expected, module(torch.ones(1, 60, 8, dtype=torch.float64)))


def test_infeasible_message_states_every_condition_of_the_theorem():
    # thm-downconv-feasible: exactly m segments, each reading real input, together reading
    # every position; the message must not promise less than the theorem.
    with pytest.raises(ValueError) as info:
        DownConv(m_segments=12)
    message = " ".join(str(info.value).split())
    for condition in ("exactly m segments", "each read real input",
                      "together read every position", "m_segments in {1-8, 10-11, 20}"):
        assert condition in message, condition
