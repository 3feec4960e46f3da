"""Chapter 1 figures: the cells they draw agree with the output-size arithmetic.

Cells carry their role as the patch's gid, so a test can count what a reader sees.
"""
from __future__ import annotations

from collections import Counter

import matplotlib.colors as mcolors
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strided_conv import conv_output_size, unvisited_tail
from strided_conv.figures import COLORS
from strided_conv.figures.windows import (
    cell_roles,
    plot_staircase,
    plot_windows_1d,
    plot_windows_2d,
)


def roles(ax) -> Counter:
    return Counter(p.get_gid() for p in ax.patches if p.get_gid())


fitting = st.tuples(
    st.integers(1, 30), st.integers(1, 6), st.integers(1, 5), st.integers(0, 3), st.integers(1, 3)
).filter(lambda c: c[4] * (c[1] - 1) + 1 <= c[0] + 2 * c[3])


@given(fitting)
def test_cell_roles_mark_exactly_the_unvisited_tail(c):
    i, k, s, p, d = c
    r = cell_roles(*c)
    assert len(r) == i + 2 * p
    tail = unvisited_tail(*c)
    assert all(x.startswith("tail") for x in r[len(r) - tail:])
    assert not any(x.startswith("tail") for x in r[: len(r) - tail])
    assert r.count("input") + r.count("tail") == i


@settings(max_examples=15, deadline=None)
@given(fitting)
def test_windows_1d_draws_one_row_per_output(c):
    i, k, s, p, d = c
    fig = plot_windows_1d(i, k, strides=(1, s), padding=p, dilation=d)
    for ax, stride in zip(fig.axes, (1, s)):
        o = conv_output_size(i, k, stride, p, d)
        n = roles(ax)
        assert n["output"] == o
        assert n["window"] == o * k  # dilated taps never coincide
        assert n["tail"] + n["tail_padding"] == unvisited_tail(i, k, stride, p, d)
        assert f"o = {o}" in ax.get_title()


def test_windows_1d_colours_come_from_the_palette():
    fig = plot_windows_1d(8, 3, strides=(3,))
    faces = {mcolors.to_hex(p.get_facecolor()) for p in fig.axes[0].patches}
    assert faces == {c.lower() for c in (COLORS["input"], COLORS["window"], COLORS["output"],
                                         COLORS["tail"], "#ffffff")}


def test_windows_2d_tail_column_at_stride_2():
    fig = plot_windows_2d((5, 6), 3, cases=((1, 0), (2, 0), (2, 1)))
    s1, s2, s2p = (roles(ax) for ax in fig.axes)
    assert (s1["output"], s1["window"], s1["tail"]) == (12, 12 * 9, 0)
    # 2 x 2 frames; each frame's last column (5 rows) is never read.
    assert (s2["output"], s2["window"], s2["tail"]) == (4, 4 * 9, 4 * 5)
    # With padding 1 the unreached column is padding: nothing of the input is lost.
    assert (s2p["output"], s2p["tail"], s2p["tail_padding"]) == (9, 0, 9 * 7)
    assert [ax.get_title().splitlines()[-1] for ax in fig.axes] == [
        "output 3 x 4", "output 2 x 2", "output 3 x 3"]


def test_windows_2d_rectangular_kernel_and_per_axis_stride():
    fig = plot_windows_2d((7, 4), (3, 2), cases=(((2, 1), (0, 1)),))
    oh, ow = conv_output_size(7, 3, 2, 0), conv_output_size(4, 2, 1, 1)
    n = roles(fig.axes[0])
    assert n["output"] == oh * ow and n["window"] == oh * ow * 6


def test_staircase_plots_the_formula():
    fig = plot_staircase(kernel_size=3, strides=(1, 2, 3), padding=1, max_input=12)
    ax = fig.axes[0]
    assert [ln.get_label() for ln in ax.get_lines()] == ["s = 1", "s = 2", "s = 3"]
    for line, s in zip(ax.get_lines(), (1, 2, 3)):
        xs, ys = line.get_xdata(), line.get_ydata()
        assert list(xs) == list(range(1, 13))
        assert list(ys) == [conv_output_size(int(i), 3, s, 1) for i in xs]
    assert ax.get_xlabel() == "input length i" and ax.get_ylabel() == "output length o"


@pytest.mark.parametrize(
    "call, exc, words",
    [
        (lambda: plot_windows_1d(strides=()), ValueError, "strides must hold at least one"),
        (lambda: plot_windows_1d(strides=(0,)), ValueError, r"strides\[0\] must be >= 1, got 0"),
        (lambda: plot_windows_1d(input_size=2, kernel_size=5), ValueError, "no window fits"),
        (lambda: plot_windows_1d(padding=1.0), TypeError, "padding must be an int"),
        (lambda: plot_windows_2d(cases=()), ValueError, "cases must hold at least one"),
        (lambda: plot_windows_2d(cases=(2,)), ValueError, r"cases\[0\] must be a \(stride, padding\) pair"),
        (lambda: plot_windows_2d(cases=((2, -1),)), ValueError, r"cases\[0\] padding must be >= 0, got -1"),
        (lambda: plot_windows_2d(input_shape=(5, 6, 7)), ValueError, "input_shape must be an int or a pair"),
        (lambda: plot_staircase(strides=()), ValueError, "strides must hold at least one"),
        (lambda: plot_staircase(max_input=3), ValueError, "max_input must be >= 5, got 3"),
    ],
)
def test_bad_input(call, exc, words):
    with pytest.raises(exc, match=words):
        call()
