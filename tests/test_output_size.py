"""Output-size arithmetic against two independent oracles: a brute-force window
count written here from the definition, and the shapes PyTorch produces."""
from __future__ import annotations

import warnings

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from strided_conv import (
    conv_output_size,
    same_padding,
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


@pytest.mark.parametrize("fn", [conv_output_size, window_starts, unvisited_tail,
                                transposed_output_padding])
@pytest.mark.parametrize(
    "kwargs, exc, words",
    [
        (dict(input_size=0), ValueError, "input_size must be >= 1, got 0"),
        (dict(kernel_size=0), ValueError, "kernel_size must be >= 1, got 0"),
        (dict(stride=0), ValueError, "stride must be >= 1, got 0"),
        (dict(padding=-1), ValueError, "padding must be >= 0, got -1"),
        (dict(dilation=0), ValueError, "dilation must be >= 1, got 0"),
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
