"""Chapter 1 figures and animations: the cells they draw agree with the output-size arithmetic.

Cells carry their role as the patch's gid, so a test can count what a reader sees.
The animations are checked frame by frame through a movie writer that records,
instead of pixels, which cells each frame shows in the window colour.
"""
from __future__ import annotations

import re
from collections import Counter

import matplotlib.colors as mcolors
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.animation import AbstractMovieWriter
from matplotlib.text import Text

from strided_conv import conv_output_size, unvisited_tail, window_starts
from strided_conv.figures import COLORS, COLUMN_WIDTH_IN, OKABE_ITO, legibility_problems
from strided_conv.figures.windows import (
    _KEY,
    animate_windows_1d,
    animate_windows_2d,
    animation_html,
    cell_roles,
    plot_staircase,
    plot_transposed_lengths,
    plot_window_taps,
    plot_windows_1d,
    plot_windows_2d,
    window_taps,
)

PALETTE = {c.lower() for c in (*COLORS.values(), *OKABE_ITO.values())} | {"#ffffff", "#bbbbbb"}


def roles(ax) -> Counter:
    return Counter(p.get_gid() for p in ax.patches if p.get_gid())


fitting = st.tuples(
    st.integers(1, 30), st.integers(1, 6), st.integers(1, 5), st.integers(0, 3), st.integers(1, 3)
).filter(lambda c: c[4] * (c[1] - 1) + 1 <= c[0] + 2 * c[3])


# ------------------------------------------------------------------ every figure is legible

FIGURES = {
    "windows_1d": lambda: plot_windows_1d(8, 3, strides=(1, 2, 3)),
    "windows_1d_padded_dilated": lambda: plot_windows_1d(7, 3, strides=(1, 2), padding=1,
                                                         dilation=2),
    "window_taps": lambda: plot_window_taps(7, 3, 2, 1, 2),
    "window_taps_long": lambda: plot_window_taps(20, 4, 3, 2, 2),
    "windows_2d": lambda: plot_windows_2d((5, 6), 3, cases=((1, 0), (2, 0))),
    "windows_2d_padded": lambda: plot_windows_2d((5, 6), 3, cases=((2, 1),)),
    "staircase": lambda: plot_staircase(3, (1, 2, 3), 0, 1, 16),
    "transposed": lambda: plot_transposed_lengths(5, 5, 3, 2),
    "transposed_dilated": lambda: plot_transposed_lengths(4, 3, 2, 1, 2),
}


def _texts_outside(fig) -> list[str]:
    """Texts (labels, titles, key entries) that stick out of the figure."""
    fig.draw_without_rendering()
    box = fig.bbox
    hidden = set()  # tick labels of axes drawn with axis("off") exist but are not drawn
    for ax in fig.axes:
        if not ax.axison:
            for axis in (ax.xaxis, ax.yaxis):
                hidden.update(id(t) for t in axis.findobj(Text))
    out = []
    for text in fig.findobj(Text):
        if id(text) in hidden or not (text.get_visible() and text.get_text().strip()):
            continue
        ext = text.get_window_extent()
        if ext.x0 < box.x0 - 1 or ext.x1 > box.x1 + 1 or ext.y0 < box.y0 - 1 or ext.y1 > box.y1 + 1:
            out.append(text.get_text())
    return out


@pytest.mark.parametrize("name", FIGURES)
def test_figure_is_legible_at_the_column_width(name):
    fig = FIGURES[name]()
    assert legibility_problems(fig) == []
    assert fig.get_figwidth() <= COLUMN_WIDTH_IN
    assert _texts_outside(fig) == []


@pytest.mark.parametrize("name", FIGURES)
def test_figure_colours_come_from_the_palette(name):
    fig = FIGURES[name]()
    for ax in fig.axes:
        for patch in ax.patches:
            if patch.get_fill():
                assert mcolors.to_hex(patch.get_facecolor()) in PALETTE, name
        for line in ax.get_lines():
            assert mcolors.to_hex(line.get_color()) in PALETTE, name


@pytest.mark.parametrize("name", [n for n in FIGURES if n != "staircase"])
def test_colour_key_lists_exactly_the_roles_drawn(name):
    fig = FIGURES[name]()
    drawn = {p.get_gid() for ax in fig.axes for p in ax.patches} - {"blank", None}
    (legend,) = fig.legends
    assert sorted(t.get_text() for t in legend.get_texts()) == sorted(
        {_KEY[g] for g in drawn})


def test_legibility_check_can_fail():
    fig = plot_windows_1d(8, 3, strides=(3,))
    fig.axes[0].texts[0].set_fontsize(7)
    assert legibility_problems(fig)
    fig.set_figwidth(9)
    assert any("wide" in p for p in legibility_problems(fig))


# ------------------------------------------------------------------------------ arithmetic

@given(fitting)
def test_window_taps_land_inside_the_padded_line_and_fill_it_by_stride(c):
    i, k, s, p, d = c
    taps = window_taps(*c)
    assert len(taps) == count_by_sliding(i, k, s, p, d)
    for j, row in enumerate(taps):
        assert row == [j * s - p + t * d for t in range(k)]
        assert -p <= row[0] and row[-1] <= i + p - 1
    # one more window would not fit
    assert len(taps) * s - p + d * (k - 1) > i + p - 1


def count_by_sliding(i, k, s, p, d) -> int:
    """Independent oracle: place the first tap at -p, -p+s, ... while the last fits."""
    count, first = 0, -p
    while first + d * (k - 1) <= i + p - 1:
        count, first = count + 1, first + s
    return count


@given(fitting)
def test_cell_roles_mark_exactly_the_unvisited_tail(c):
    i, k, s, p, d = c
    r = cell_roles(*c)
    assert len(r) == i + 2 * p
    tail = unvisited_tail(*c)
    assert all(x.startswith("tail") for x in r[len(r) - tail:])
    assert not any(x.startswith("tail") for x in r[: len(r) - tail])
    assert r.count("input") + r.count("tail") == i


# ----------------------------------------------------------------------- static figures

@settings(max_examples=12, deadline=None)
@given(fitting.filter(lambda c: c[0] <= 16))
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


def test_windows_1d_numbers_positions_from_minus_p():
    fig = plot_windows_1d(7, 3, strides=(2,), padding=1, dilation=2)
    labels = [t.get_text() for t in fig.axes[0].texts if t.get_position()[1] < 0]
    assert labels == [str(u) for u in range(-1, 8)]


def test_windows_1d_colours_come_from_the_palette():
    fig = plot_windows_1d(8, 3, strides=(3,))
    faces = {mcolors.to_hex(p.get_facecolor()) for p in fig.axes[0].patches}
    assert faces == {c.lower() for c in (COLORS["input"], COLORS["window"], COLORS["output"],
                                         COLORS["tail"], "#ffffff")}


def _cells_by_row(ax) -> dict[float, list]:
    rows: dict[float, list] = {}
    for patch in ax.patches:
        rows.setdefault(patch.get_y(), []).append(patch)
    return {y: sorted(ps, key=lambda q: q.get_x()) for y, ps in sorted(rows.items())}


def test_window_taps_figure_numbers_taps_and_marks_unread_input():
    i, k, s, p, d = 7, 3, 2, 1, 2
    fig = plot_window_taps(i, k, s, p, d)
    ax = fig.axes[0]
    rows = list(_cells_by_row(ax).values())
    line, windows = rows[0], rows[1:]
    read = {a + t * d for a in window_starts(i, k, s, p, d) for t in range(k)}
    assert read == {-1, 1, 3, 5, 7}
    # the top row, u = -1 .. 7: input cells no window reads are "unread"
    assert [c.get_gid() for c in line] == ["padding", "unread", "input", "unread", "input",
                                          "unread", "input", "unread", "padding"]
    # each window row: taps numbered t = 0, 1, 2 at u = a_j + t d, then the output cell
    x0 = line[0].get_x()
    for j, (row, a) in enumerate(zip(windows, window_starts(i, k, s, p, d))):
        taps = [c for c in row if c.get_gid() == "window"]
        assert [round(c.get_x() - x0) - p for c in taps] == [a + t * d for t in range(k)]
        digits = [t.get_text() for t in ax.texts
                  if t.get_position()[1] == row[0].get_y() + 0.5 and t.get_text().isdigit()]
        assert digits[-k:] == [str(t) for t in range(k)]
        assert row[-1].get_gid() == "output"
    assert len(windows) == conv_output_size(i, k, s, p, d)


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
    assert ax.get_legend() is None  # lines are labelled directly
    assert {"s = 1", "s = 2", "s = 3"} <= {t.get_text() for t in ax.texts}


@pytest.mark.parametrize("o, k, s, p, d", [(5, 5, 3, 2, 1), (4, 3, 2, 1, 2), (3, 2, 4, 0, 1)])
def test_transposed_lengths_against_pytorch(o, k, s, p, d):
    fig = plot_transposed_lengths(o, k, s, p, d)
    rows = list(_cells_by_row(fig.axes[0]).values())
    lengths = [i for i in range(1, 60)
               if i + 2 * p >= d * (k - 1) + 1 and conv_output_size(i, k, s, p, d) == o]
    assert 1 <= len(lengths) <= s
    # one row per input length, the output row in the middle
    forward = [[c for c in row if c.get_x() < min(lengths) + 2 * p + 3] for row in rows]
    back = [[c for c in row if c.get_gid() in ("input", "output_padding")
             and c.get_x() > max(lengths) + 2 * p + 3] for row in rows]
    drawn = [(len(f), len(b), sum(c.get_gid() == "output_padding" for c in b))
             for f, b in zip(forward, back) if b]
    want = []
    for i in lengths:
        y = F.conv1d(torch.zeros(1, 1, i), torch.zeros(1, 1, k), stride=s, padding=p,
                     dilation=d)
        assert y.shape[-1] == o
        base = F.conv_transpose1d(y, torch.zeros(1, 1, k), stride=s, padding=p,
                                  dilation=d).shape[-1]
        want.append((i + 2 * p, i, i - base))
    assert drawn == want
    assert sum(c.get_gid() == "output" for row in rows for c in row) == o


# ------------------------------------------------------------------------------ animations

class FrameRecorder(AbstractMovieWriter):
    """A movie writer that keeps, per frame, each panel's cell gids instead of pixels.

    With ``legibility=True`` it also checks every frame as the book shows it.
    """

    def __init__(self, legibility: bool = False):
        super().__init__()
        self.legibility = legibility

    def setup(self, fig, outfile, dpi=None):
        super().setup(fig, outfile, dpi)
        self.frames: list[list[list[str]]] = []
        self.problems: list[str] = []

    def grab_frame(self, **savefig_kwargs):
        self.frames.append([[p.get_gid() for p in ax.patches if p.get_gid() != "span"]
                            for ax in self.fig.axes])
        if self.legibility:
            self.problems += legibility_problems(self.fig) + _texts_outside(self.fig)

    def finish(self):
        pass


def record(anim, legibility: bool = False) -> FrameRecorder:
    rec = FrameRecorder(legibility)
    anim.save("unused.rec", writer=rec)
    return rec


def _at(gids: list[str], role: str) -> list[str]:
    return sorted((g.split("@")[1] for g in gids if g.startswith(role + "@")),
                  key=lambda v: tuple(int(x) for x in v.split(",")))


CASES_1D = ((1, 0, 1), (2, 0, 1), (2, 1, 1), (1, 1, 2), (3, 2, 2))


@pytest.mark.parametrize("i, k", [(8, 3), (5, 2), (11, 4)])
def test_animation_1d_frame_f_shows_window_f(i, k):
    cases = [c for c in CASES_1D if (k - 1) * c[2] + 1 <= i + 2 * c[1]]
    rec = record(animate_windows_1d(i, k, cases), legibility=(i, k) == (8, 3))
    outs = [conv_output_size(i, k, *c) for c in cases]
    assert len(rec.frames) == max(outs)  # one frame per window of the longest panel
    assert rec.problems == []
    for f, panels in enumerate(rec.frames):
        for (s, p, d), o, gids in zip(cases, outs, panels):
            starts = window_starts(i, k, s, p, d)
            want = sorted(starts[f] + t * d for t in range(k)) if f < o else []
            assert [int(u) for u in _at(gids, "window")] == want
            assert _at(gids, "current") == ([str(f)] if f < o else [])
            assert len(_at(gids, "output")) == min(f, o)
            # the tail keeps its colour: no window ever covers it
            assert len(_at(gids, "tail")) + len(_at(gids, "tail_padding")) == \
                unvisited_tail(i, k, s, p, d)


@pytest.mark.parametrize("shape, k", [((5, 5), 3), ((6, 4), (3, 2))])
def test_animation_2d_frame_f_shows_window_f_in_row_major_order(shape, k):
    cases = ((1, 0, 1), (2, 0, 1), (2, 1, 1), (1, 1, 2))
    kh, kw = (k, k) if isinstance(k, int) else k
    rec = record(animate_windows_2d(shape, k, cases), legibility=shape == (5, 5))
    grids = []
    for s, p, d in cases:
        grids.append((window_starts(shape[0], kh, s, p, d), window_starts(shape[1], kw, s, p, d)))
    assert len(rec.frames) == max(len(h) * len(w) for h, w in grids)
    assert rec.problems == []
    for f, panels in enumerate(rec.frames):
        for (s, p, d), (sh, sw), gids in zip(cases, grids, panels):
            if f < len(sh) * len(sw):
                r, c = divmod(f, len(sw))
                want = sorted((sh[r] + a * d, sw[c] + b * d) for a in range(kh)
                              for b in range(kw))
                assert _at(gids, "current") == [f"{r},{c}"]
            else:
                want = []
                assert _at(gids, "current") == []
            got = [tuple(int(x) for x in v.split(",")) for v in _at(gids, "window")]
            assert sorted(got) == want


def test_animation_html_is_reproducible_and_self_contained():
    html = animation_html(animate_windows_1d(6, 3, ((1, 0, 1), (2, 1, 1))), "anim_test")
    again = animation_html(animate_windows_1d(6, 3, ((1, 0, 1), (2, 1, 1))), "anim_test")
    assert html == again
    assert not re.search(r"[0-9a-f]{32}", html)  # matplotlib's random uuid is gone
    assert "anim_test" in html and "play_animation" in html and "next_frame" in html
    frames = re.findall(r'frames\[(\d+)\] = "data:image/png;base64,', html)
    assert [int(f) for f in frames] == list(range(conv_output_size(6, 3)))
    assert not re.search(r"(src|href)=\"?(https?:)?//", html)
    assert "font-awesome" not in html and 'class="fa' not in html
    assert len(html) < 400_000


@pytest.mark.parametrize("bad", ["1x", "a-b", "", "x y", None])
def test_animation_html_wants_an_identifier(bad):
    anim = animate_windows_1d(4, 3, ((1, 0, 1),))
    with pytest.raises(ValueError, match="html_id must be a JavaScript identifier"):
        animation_html(anim, bad)
    record(anim)  # rendered after all: matplotlib warns about unrendered animations


def test_two_animations_keep_their_ids_apart():
    one = animation_html(animate_windows_1d(4, 3, ((1, 0, 1),)), "Qone")
    two = animation_html(animate_windows_1d(4, 3, ((1, 0, 1),)), "Qtwo")
    assert "Qone" in one and "Qtwo" not in one
    assert one.replace("Qone", "Qtwo") == two


# ----------------------------------------------------------------------------- bad input

@pytest.mark.parametrize(
    "call, exc, words",
    [
        (lambda: plot_windows_1d(strides=()), ValueError, "strides must hold at least one"),
        (lambda: plot_windows_1d(strides=(0,)), ValueError, r"strides\[0\] must be >= 1, got 0"),
        (lambda: plot_windows_1d(input_size=2, kernel_size=5), ValueError, "no window fits"),
        (lambda: plot_windows_1d(padding=1.0), TypeError, "padding must be an int"),
        (lambda: plot_window_taps(stride=0), ValueError, "stride must be >= 1, got 0"),
        (lambda: plot_window_taps(input_size=2, kernel_size=3, padding=0), ValueError,
         "no window fits"),
        (lambda: plot_windows_2d(cases=()), ValueError, "cases must hold at least one"),
        (lambda: plot_windows_2d(cases=(2,)), ValueError, r"cases\[0\] must be a \(stride, padding\) pair"),
        (lambda: plot_windows_2d(cases=((2, -1),)), ValueError, r"cases\[0\] padding must be >= 0, got -1"),
        (lambda: plot_windows_2d(input_shape=(5, 6, 7)), ValueError, "input_shape must be an int or a pair"),
        (lambda: plot_staircase(strides=()), ValueError, "strides must hold at least one"),
        (lambda: plot_staircase(max_input=3), ValueError, "max_input must be >= 5, got 3"),
        (lambda: plot_transposed_lengths(output_size=0), ValueError, "output_size must be >= 1"),
        (lambda: plot_transposed_lengths(1, 1, 1, 3), ValueError,
         "output_size=1 is produced by no input length"),
        (lambda: animate_windows_1d(cases=()), ValueError, "cases must hold at least one"),
        (lambda: animate_windows_1d(cases=((1, 0),)), ValueError,
         r"cases\[0\] must be a \(stride, padding, dilation\) triple"),
        (lambda: animate_windows_1d(cases=((1, 0, 0),)), ValueError,
         r"cases\[0\] dilation must be >= 1, got 0"),
        (lambda: animate_windows_1d(input_size=2, kernel_size=4), ValueError, "no window fits"),
        (lambda: animate_windows_2d(input_shape=(2, 2, 2)), ValueError,
         "input_shape must be an int or a pair"),
        (lambda: animate_windows_2d(cases=((1, -1, 1),)), ValueError,
         r"cases\[0\] padding must be >= 0, got -1"),
    ],
)
def test_bad_input(call, exc, words):
    with pytest.raises(exc, match=words):
        call()
