"""Output-size arithmetic against two independent oracles: a brute-force window
count written here from the definition, and the shapes PyTorch produces."""
from __future__ import annotations

import warnings
from fractions import Fraction

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from strided_conv import (
    TEXTBOOK_RELATIONS,
    conv_output_size,
    count_windows_brute_force,
    cs231n_output_size,
    same_padding,
    tf_same_padding,
    transposed_conv_output_size,
    transposed_output_padding,
    unvisited_tail,
    window_starts,
)


def brute_force_windows(i: int, k: int, s: int, p: int, d: int) -> int:
    """Slide a window over a padded line and count the positions where every tap lands inside."""
    padded = i + 2 * p
    count, start = 0, 0
    while True:
        taps = [start + d * t for t in range(k)]
        if taps[-1] >= padded:
            return count
        count += 1
        start += s


configs = st.tuples(
    st.integers(1, 60), st.integers(1, 9), st.integers(1, 6), st.integers(0, 5), st.integers(1, 4)
).filter(lambda c: c[4] * (c[1] - 1) + 1 <= c[0] + 2 * c[3])


@given(configs)
def test_matches_brute_force(c):
    i, k, s, p, d = c
    assert conv_output_size(i, k, s, p, d) == brute_force_windows(i, k, s, p, d)
    assert len(window_starts(i, k, s, p, d)) == brute_force_windows(i, k, s, p, d)


@settings(max_examples=60, deadline=None)
@given(configs)
def test_matches_pytorch_conv1d(c):
    i, k, s, p, d = c
    y = F.conv1d(torch.zeros(1, 1, i), torch.zeros(1, 1, k), stride=s, padding=p, dilation=d)
    assert y.shape[-1] == conv_output_size(i, k, s, p, d)


@settings(max_examples=60, deadline=None)
@given(configs)
def test_transposed_undoes_the_shape_with_output_padding(c):
    i, k, s, p, d = c
    o = conv_output_size(i, k, s, p, d)
    a = transposed_output_padding(i, k, s, p, d)
    assert 0 <= a < s
    if a < max(s, d):
        assert transposed_conv_output_size(o, k, s, p, d, output_padding=a) == i
        y = F.conv_transpose1d(torch.zeros(1, 1, o), torch.zeros(1, 1, k), stride=s,
                               padding=p, dilation=d, output_padding=a)
        assert y.shape[-1] == i


@given(configs)
def test_unvisited_tail_is_the_floor_remainder(c):
    i, k, s, p, d = c
    tail = unvisited_tail(i, k, s, p, d)
    assert tail == (i + 2 * p - d * (k - 1) - 1) % s
    last_tap = window_starts(i, k, s, p, d)[-1] + d * (k - 1)
    assert last_tap == i - 1 + p - tail


@given(st.integers(1, 50), st.integers(1, 9), st.integers(1, 4))
def test_same_padding_matches_pytorch(i, k, d):
    left, right = same_padding(k, d)
    assert left + right == d * (k - 1) and 0 <= right - left <= 1
    x = torch.arange(float(i)).reshape(1, 1, i)
    w = torch.randn(1, 1, k, generator=torch.Generator().manual_seed(0), dtype=x.dtype)
    ours = F.conv1d(F.pad(x, (left, right)), w, dilation=d)
    with warnings.catch_warnings():
        # PyTorch notes that even total padding may copy the input; irrelevant here.
        warnings.simplefilter("ignore", UserWarning)
        theirs = F.conv1d(x, w, padding="same", dilation=d)
    assert torch.equal(ours, theirs)


BELOW_MINIMUM = [  # every size function shares these rules
        (dict(input_size=0), ValueError, "input_size must be >= 1, got 0"),
        (dict(kernel_size=0), ValueError, "kernel_size must be >= 1, got 0"),
        (dict(stride=0), ValueError, "stride must be >= 1, got 0"),
        (dict(padding=-1), ValueError, "padding must be >= 0, got -1"),
        (dict(dilation=0), ValueError, "dilation must be >= 1, got 0"),
]


@pytest.mark.parametrize("fn", [conv_output_size, window_starts, unvisited_tail,
                                transposed_output_padding])
@pytest.mark.parametrize(
    "kwargs, exc, words",
    BELOW_MINIMUM + [
        (dict(stride=2.0), TypeError, "stride must be an int, got 2.0"),
        (dict(input_size=True), TypeError, "input_size must be an int, got True"),
        (dict(kernel_size=9), ValueError, "no window fits"),
        (dict(kernel_size=3, dilation=4), ValueError, "spans d*(k-1)+1 = 9"),
    ],
)
def test_bad_input(fn, kwargs, exc, words):
    args = dict(input_size=8, kernel_size=3, stride=1, padding=0, dilation=1) | kwargs
    with pytest.raises(exc, match=words.replace("(", r"\(").replace(")", r"\)").replace("*", r"\*").replace("+", r"\+")):
        fn(**args)


def test_kernel_fits_exactly_after_padding():
    assert conv_output_size(3, 5, padding=1) == 1


@pytest.mark.parametrize(
    "kwargs, exc, words",
    [
        (dict(output_padding=2), ValueError, r"output_padding=2 must be smaller than max\(stride, dilation\) = 2"),
        (dict(output_padding=-1), ValueError, "output_padding must be >= 0"),
        (dict(output_padding=1.0), TypeError, "output_padding must be an int"),
        (dict(input_size=1, kernel_size=1, padding=1), ValueError, "padding=1 is too large"),
    ],
)
def test_transposed_bad_input(kwargs, exc, words):
    args = dict(input_size=5, kernel_size=3, stride=2, padding=0, dilation=1) | kwargs
    with pytest.raises(exc, match=words):
        transposed_conv_output_size(**args)


@pytest.mark.parametrize("kwargs, exc", [(dict(kernel_size=0), ValueError),
                                         (dict(dilation=1.5), TypeError)])
def test_same_padding_bad_input(kwargs, exc):
    with pytest.raises(exc):
        same_padding(**(dict(kernel_size=3) | kwargs))


def test_results_are_python_ints():
    import numpy as np
    assert type(conv_output_size(np.int64(28), 5, 2)) is int


# --- the chapter's oracle, TensorFlow "SAME", CS231n, textbook relations -------------

any_config = st.tuples(
    st.integers(1, 40), st.integers(1, 9), st.integers(1, 6), st.integers(0, 4), st.integers(1, 4)
)


@given(any_config)
def test_package_brute_force_agrees_with_the_test_brute_force(c):
    """Two independent slidings; 0 exactly where the formula refuses."""
    count = count_windows_brute_force(*c)
    assert count == brute_force_windows(*c)
    i, k, s, p, d = c
    if count == 0:
        with pytest.raises(ValueError, match="no window fits"):
            conv_output_size(*c)
    else:
        assert conv_output_size(*c) == count


@settings(max_examples=40, deadline=None)
@given(any_config.filter(lambda c: brute_force_windows(*c) == 0))
def test_pytorch_also_refuses_when_no_window_fits(c):
    i, k, s, p, d = c
    with pytest.raises(RuntimeError):
        F.conv1d(torch.zeros(1, 1, i), torch.zeros(1, 1, k), stride=s, padding=p, dilation=d)


@settings(max_examples=60, deadline=None)
@given(configs, configs)
def test_conv2d_is_two_1d_problems(rows, cols):
    (ih, kh, sh, ph, dh), (iw, kw, sw, pw, dw) = rows, cols
    y = F.conv2d(torch.zeros(1, 1, ih, iw), torch.zeros(1, 1, kh, kw),
                 stride=(sh, sw), padding=(ph, pw), dilation=(dh, dw))
    assert tuple(y.shape[-2:]) == (conv_output_size(*rows), conv_output_size(*cols))


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 20), st.integers(1, 7), st.integers(1, 5), st.integers(0, 3),
       st.integers(1, 3), st.integers(0, 4))
def test_transposed_size_matches_pytorch_for_every_output_padding(i, k, s, p, d, a):
    if a >= max(s, d):
        return
    try:
        ours = transposed_conv_output_size(i, k, s, p, d, output_padding=a)
    except ValueError:
        with pytest.raises(RuntimeError):
            F.conv_transpose1d(torch.zeros(1, 1, i), torch.zeros(1, 1, k), stride=s,
                               padding=p, dilation=d, output_padding=a)
        return
    y = F.conv_transpose1d(torch.zeros(1, 1, i), torch.zeros(1, 1, k), stride=s,
                           padding=p, dilation=d, output_padding=a)
    assert y.shape[-1] == ours


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 40), st.integers(1, 9), st.integers(1, 6), st.integers(1, 4))
def test_tf_same_padding_gives_ceil_i_over_s(i, k, s, d):
    left, right = tf_same_padding(i, k, s, d)
    assert 0 <= right - left <= 1
    want = -(-i // s)
    assert conv_output_size(i + left + right, k, s, 0, d) == want
    y = F.conv1d(F.pad(torch.zeros(1, 1, i), (left, right)), torch.zeros(1, 1, k),
                 stride=s, dilation=d)
    assert y.shape[-1] == want
    # Minimal: one zero less and the last window no longer fits (when any was added).
    if left + right > 0:
        assert count_windows_brute_force(i + left + right - 1, k, s, 0, d) < want


@given(st.integers(1, 9), st.integers(1, 4), st.integers(1, 40))
def test_tf_same_equals_pytorch_same_at_stride_1(k, d, i):
    assert tf_same_padding(i, k, 1, d) == same_padding(k, d)


def test_tf_same_padding_depends_on_the_input_length():
    assert [tf_same_padding(i, 3, 2) for i in (7, 8)] == [(1, 1), (0, 1)]


@pytest.mark.parametrize(
    "kwargs, exc, words",
    [
        (dict(input_size=0), ValueError, "input_size must be >= 1, got 0"),
        (dict(kernel_size=0), ValueError, "kernel_size must be >= 1, got 0"),
        (dict(stride=0), ValueError, "stride must be >= 1, got 0"),
        (dict(dilation=0), ValueError, "dilation must be >= 1, got 0"),
        (dict(stride=2.0), TypeError, "stride must be an int, got 2.0"),
        (dict(input_size=True), TypeError, "input_size must be an int, got True"),
    ],
)
def test_tf_same_padding_bad_input(kwargs, exc, words):
    with pytest.raises(exc, match=words):
        tf_same_padding(**(dict(input_size=8, kernel_size=3, stride=2, dilation=1) | kwargs))


@pytest.mark.parametrize(
    "kwargs, exc, words",
    BELOW_MINIMUM + [
        (dict(kernel_size=3.0), TypeError, "kernel_size must be an int, got 3.0"),
        (dict(padding=False), TypeError, "padding must be an int, got False"),
    ],
)
def test_count_windows_brute_force_bad_input(kwargs, exc, words):
    with pytest.raises(exc, match=words):
        count_windows_brute_force(**(dict(input_size=8, kernel_size=3) | kwargs))


@given(any_config)
def test_cs231n_floor_is_the_formula_and_invalid_means_a_tail(c):
    i, k, s, p, d = c
    exact = cs231n_output_size(i, k, s, p, dilation=d - 1)  # CS231n counts gaps
    if brute_force_windows(*c) == 0:
        assert exact < 1
        return
    assert exact.numerator // exact.denominator == conv_output_size(*c)
    assert (exact.denominator == 1) == (unvisited_tail(*c) == 0)


def test_cs231n_example_is_invalid():
    # W=6, F=3, S=2, P=0: (6-3)/2 + 1 = 2.5, "invalid"; every framework gives 2.
    assert cs231n_output_size(6, 3, 2) == Fraction(5, 2)
    assert conv_output_size(6, 3, 2) == 2


@pytest.mark.parametrize(
    "kwargs, exc, words",
    [
        (dict(dilation=-1), ValueError, "dilation must be >= 0, got -1"),
        (dict(padding=-1), ValueError, "padding must be >= 0, got -1"),
        (dict(stride=0), ValueError, "stride must be >= 1, got 0"),
        (dict(kernel_size=0), ValueError, "kernel_size must be >= 1, got 0"),
        (dict(input_size=0), ValueError, "input_size must be >= 1, got 0"),
        (dict(stride=1.5), TypeError, "stride must be an int, got 1.5"),
    ],
)
def test_cs231n_output_size_bad_input(kwargs, exc, words):
    with pytest.raises(exc, match=words):
        cs231n_output_size(**(dict(input_size=8, kernel_size=3) | kwargs))


GRID = [(i, k, s, p, d) for i in range(1, 25) for k in range(1, 8) for s in range(1, 6)
        for p in range(0, 7) for d in range(1, 4)]


@pytest.mark.parametrize("rel", TEXTBOOK_RELATIONS, ids=lambda r: r.label)
def test_textbook_relation_holds_on_a_grid(rel):
    checked = 0
    for c in GRID:
        if rel.applies(*c) and brute_force_windows(*c) > 0:
            assert rel.predict(*c) == conv_output_size(*c) == brute_force_windows(*c), c
            checked += 1
    assert checked >= 20  # the condition is not vacuous on this grid


def test_relation_7_pooling_matches_pytorch_max_pool():
    (rel,) = [r for r in TEXTBOOK_RELATIONS if r.label == "D&V 7"]
    for i in range(1, 25):
        for k in range(1, min(i, 7) + 1):
            for s in range(1, 6):
                y = F.max_pool1d(torch.zeros(1, 1, i), k, stride=s)
                assert y.shape[-1] == rel.predict(i, k, s, 0, 1)


# ---------------------------------------------------------------- issue 13 regressions
def test_no_fit_message_names_the_padded_length_once():
    with pytest.raises(ValueError) as info:
        conv_output_size(5, 7)
    message = str(info.value)
    assert "input input" not in message
    assert "kernel_size=7" in message
    assert "padded input length input_size + 2*padding = 5 + 2*0 = 5" in message


def test_brute_force_refuses_a_line_too_long_to_build():
    with pytest.raises(ValueError, match=r"input_size \+ 2\*padding\) \* kernel_size"):
        count_windows_brute_force(10**30, 3)
    assert count_windows_brute_force(10**4, 3, 7) == conv_output_size(10**4, 3, 7)


def test_window_starts_refuses_a_list_too_long_to_hold():
    with pytest.raises(ValueError, match="windows, more than 10000000 to list"):
        window_starts(10**30, 1)
    assert window_starts(10**30, 1, stride=10**30) == [0]
