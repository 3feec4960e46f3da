"""Tests of the chapter-2 figures: they draw what they claim, legibly, in the palette.

The oracles are independent of the drawing code: the package's ``im2col``,
``col2im`` and ``window_coverage`` for the values, ``window_starts`` (chapter 1)
for where the windows are, and the real backward pass of ``Convolution`` for
where gradient flows.
"""
from __future__ import annotations

import io
import re

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from PIL import Image

from strided_conv import (
    Convolution, col2im, conv_output_size, im2col, window_coverage, window_starts,
)
from strided_conv.figures import COLORS, COLUMN_WIDTH_IN, DPI, OKABE_ITO, legibility_problems
from strided_conv.figures.im2col import (
    animate_im2col,
    im2col_animation_html,
    plot_backward_routes,
    plot_col2im_scatter_add,
    plot_coverage,
    plot_im2col_rows,
)

PALETTE = {to_rgba(c) for c in (*COLORS.values(), *OKABE_ITO.values(), "white")}


def _patches(fig: Figure, gid: str) -> list:
    return [p for ax in fig.axes for p in ax.patches if p.get_gid() == gid]


def _texts(fig: Figure, gid: str) -> list[str]:
    return [t.get_text() for ax in fig.axes for t in ax.texts if t.get_gid() == gid]


def _window(size: int, kernel: int, stride: int, r: int) -> set[tuple[int, int]]:
    """Cells of window r (row-major) from chapter 1's window_starts."""
    starts = window_starts(size, kernel, stride)
    top, left = starts[r // len(starts)], starts[r % len(starts)]
    return {(top + u, left + v) for u in range(kernel) for v in range(kernel)}


def _grid_cells(fig: Figure, prefix: str, size: int) -> dict[tuple[int, int], str]:
    """(row, column) -> role of the cells whose gid is ``prefix:role``, in drawing order."""
    cells = [p.get_gid() for ax in fig.axes for p in ax.patches
             if (p.get_gid() or "").startswith(prefix + ":")]
    assert len(cells) == size * size
    return {divmod(k, size): gid.split(":")[1] for k, gid in enumerate(cells)}


def _drawn(anim):
    """Mark an animation as used: matplotlib warns when one is deleted unrendered,
    and these tests inspect its frames without rendering a movie."""
    anim._draw_was_started = True
    return anim


FIGURES = [
    lambda: plot_im2col_rows(4, 3, 1),
    lambda: plot_im2col_rows(4, 3, 2),
    lambda: plot_coverage(8, 3, (1, 2)),
    lambda: plot_col2im_scatter_add(4, 3, 1),
    lambda: plot_col2im_scatter_add(5, 3, 2),
    lambda: plot_backward_routes(8, 3, 2),
    lambda: plot_backward_routes(5, 3, 1),
    lambda: _drawn(animate_im2col(4, 3, 1))._fig,
]


@pytest.mark.parametrize("make", FIGURES, ids=range(len(FIGURES)))
def test_every_figure_is_legible_and_in_the_palette(make):
    fig = make()
    assert legibility_problems(fig) == []
    # No label is cut off at the figure's edge.
    renderer = FigureCanvasAgg(fig).get_renderer()
    box = fig.bbox
    for ax in fig.axes:
        for t in ax.texts:
            if t.get_visible() and t.get_text():
                e = t.get_window_extent(renderer)
                inside = box.x0 - 1 <= e.x0 and e.x1 <= box.x1 + 1
                assert inside and box.y0 - 1 <= e.y0 and e.y1 <= box.y1 + 1, t.get_text()
    faces = {to_rgba(p.get_facecolor()) for ax in fig.axes for p in ax.patches if p.get_fill()}
    assert faces - PALETTE - {c for c in faces if _is_count_shade(c)} == set()


@pytest.mark.parametrize("make", FIGURES, ids=range(len(FIGURES)))
def test_stored_png_fits_the_column(make):
    """As the notebook stores it (inline backend: bbox_inches="tight"), at most 7.5 in."""
    buf = io.BytesIO()
    make().savefig(buf, format="png", dpi=DPI, bbox_inches="tight")
    width_px = Image.open(buf).size[0]
    assert width_px <= COLUMN_WIDTH_IN * DPI, f"stored PNG is {width_px} px wide"


def _is_count_shade(rgba) -> bool:
    """A shade between white and the input blue (the coverage counts)."""
    white, blue = np.array(to_rgba("white")), np.array(to_rgba(COLORS["input"]))
    t = (np.array(rgba) - white) @ (blue - white) / ((blue - white) @ (blue - white))
    return bool(np.allclose(white + t * (blue - white), rgba, atol=0.01))


def test_legibility_check_can_fail():
    fig = plot_coverage(8, 3, (1, 2))
    fig.axes[0].texts[0].set_fontsize(7)
    assert legibility_problems(fig)


# --- im2col rows --------------------------------------------------------------------------


@pytest.mark.parametrize("size, kernel, stride", [(4, 3, 1), (4, 3, 2), (5, 2, 2), (6, 3, 3)])
def test_im2col_rows_windows_and_values(size, kernel, stride):
    fig = plot_im2col_rows(size, kernel, stride)
    o = conv_output_size(size, kernel, stride)
    col = im2col(np.arange(size * size).reshape(1, 1, size, size), kernel, kernel, stride)
    read = window_coverage(size, size, kernel, kernel, stride) > 0
    for r in range(o * o):
        roles = _grid_cells(fig, f"win{r}", size)
        window = {c for c, role in roles.items() if role == "window"}
        assert window == _window(size, kernel, stride, r)
        assert {c for c, role in roles.items() if role == "tail"} == set(zip(*np.nonzero(~read)))
        assert _texts(fig, f"col{r}:text") == [str(v) for v in col[r]]
    assert not _patches(fig, f"col{o * o}")


def test_im2col_rows_stride_2_marks_the_unread_tail():
    fig = plot_im2col_rows(4, 3, 2)
    roles = _grid_cells(fig, "win0", 4)
    assert sum(role == "tail" for role in roles.values()) == 7  # last row and column
    assert all(p.get_facecolor() == to_rgba(COLORS["tail"]) for p in _patches(fig, "win0:tail"))


def test_im2col_rows_rejects_too_many_windows():
    with pytest.raises(ValueError, match="at most 6.*9 windows.*size=5, kernel=3, stride=1"):
        plot_im2col_rows(5, 3, 1)


# --- coverage -----------------------------------------------------------------------------


def test_coverage_counts_and_tail():
    fig = plot_coverage(8, 3, (1, 2))
    ax1, ax2 = fig.axes
    assert "stride 1: max 9" in ax1.get_title() and "stride 2: max 4" in ax2.get_title()
    assert [p.get_gid() for p in ax1.patches].count("tail") == 0
    assert [p.get_gid() for p in ax2.patches].count("tail") == 15  # row 7 and column 7
    assert sum(int(t.get_text()) for t in ax1.texts) == 6 * 6 * 9  # windows x taps
    assert sum(int(t.get_text()) for t in ax2.texts) == 3 * 3 * 9


def test_tail_cells_use_the_palette_vermillion():
    fig = plot_coverage(8, 3, (2,))
    tails = [p for p in fig.axes[0].patches if p.get_gid() == "tail"]
    assert tails and all(p.get_facecolor() == to_rgba(COLORS["tail"]) for p in tails)


def test_coverage_rejects_bad_strides():
    with pytest.raises(ValueError, match="strides"):
        plot_coverage(8, 3, ())
    with pytest.raises(ValueError, match=r"strides\[\] must be >= 1, got 0"):
        plot_coverage(8, 3, (0,))


# --- col2im as a scatter-add --------------------------------------------------------------


@pytest.mark.parametrize("size, kernel, stride", [(4, 3, 1), (5, 3, 2), (4, 2, 2), (6, 4, 2)])
def test_scatter_add_grids_sum_to_col2im(size, kernel, stride):
    fig = plot_col2im_scatter_add(size, kernel, stride)
    x = np.arange(size * size).reshape(1, 1, size, size)
    col = im2col(x, kernel, kernel, stride)
    n_win = col.shape[0]
    assert _texts(fig, "col:text") == [str(v) for v in col.ravel()]
    # Band 2: grid r holds row r of col exactly on window r's cells, nothing elsewhere.
    added = np.zeros((size, size), dtype=np.int64)
    for r in range(n_win):
        cells = sorted(_window(size, kernel, stride, r))
        assert len(_patches(fig, f"add{r}")) == len(cells)
        assert len(_patches(fig, f"empty{r}")) == size * size - len(cells)
        values = [int(t) for t in _texts(fig, f"add{r}:text")]
        assert values == [int(v) for v in col[r]]
        for (h, w), v in zip(cells, values):
            added[h, w] += v
    # Band 3: the sum is col2im(col), which is x times the number of windows.
    total = col2im(col, x.shape, kernel, kernel, stride)[0, 0]
    count = window_coverage(size, size, kernel, kernel, stride)
    shown_sum = np.array([int(t) for t in _texts(fig, "sum:text")]).reshape(size, size)
    shown_count = np.array([int(t) for t in _texts(fig, "count:text")]).reshape(size, size)
    shown_x = np.array([int(t) for t in _texts(fig, "x:text")]).reshape(size, size)
    assert np.array_equal(shown_sum, added) and np.array_equal(shown_sum, total)
    assert np.array_equal(shown_count, count)
    assert np.array_equal(shown_x * shown_count, shown_sum)


def test_scatter_add_rejects_too_many_windows():
    with pytest.raises(ValueError, match="plot_col2im_scatter_add.*at most 6"):
        plot_col2im_scatter_add(6, 3, 1)


# --- backward routes, against the real gradient -------------------------------------------


def _shown_readers(fig: Figure, size: int) -> dict[tuple[int, int], set[str]]:
    out = {}
    for ax in fig.axes:
        for t in ax.texts:
            m = re.fullmatch(r"dx:(\d+),(\d+)", t.get_gid() or "")
            if m:
                text = t.get_text()
                out[int(m[1]), int(m[2])] = set() if text == "0" else set(text.replace("\n", ""))
    assert len(out) == size * size
    return out


@settings(max_examples=15, deadline=None)
@given(size=st.integers(2, 8), kernel=st.integers(1, 4), stride=st.integers(1, 3),
       seed=st.integers(0, 2**16))
def test_backward_routes_match_the_real_gradient(size, kernel, stride, seed):
    assume(kernel <= size and conv_output_size(size, kernel, stride) ** 2 <= 26)
    try:
        fig = plot_backward_routes(size, kernel, stride)
    except ValueError as err:  # too many letters per cell for the page: a stated refusal
        assert "cannot fit" in str(err)
        return
    shown = _shown_readers(fig, size)
    rng = np.random.default_rng(seed)
    # Nonzero weights, so a pixel a window reads always receives a nonzero gradient.
    W = rng.uniform(0.5, 1.5, (1, 1, kernel, kernel)) * rng.choice([-1, 1], (1, 1, kernel, kernel))
    layer = Convolution(W, np.zeros(1), stride=stride)
    x = rng.standard_normal((1, 1, size, size))
    o = conv_output_size(size, kernel, stride)
    layer.forward(x)
    letters = "abcdefghijklmnopqrstuvwxyz"
    for r in range(o * o):
        dout = np.zeros((1, 1, o, o))
        dout.flat[r] = 1.0
        dx = layer.backward(dout)[0, 0]
        receives = {(int(h), int(w)) for h, w in zip(*np.nonzero(dx))}
        assert receives == {c for c, who in shown.items() if letters[r] in who}
    # The never-read pixels: exactly zero for a random dout, and drawn as the tail.
    dx = layer.backward(rng.standard_normal((1, 1, o, o)))[0, 0]
    zero = {(int(h), int(w)) for h, w in zip(*np.nonzero(dx == 0))}
    tail = {c for c, who in shown.items() if not who}
    assert zero == tail
    assert len(_patches(fig, "tail")) == len(tail)


def test_backward_routes_default_has_the_tail_of_the_gradient_check():
    fig = plot_backward_routes(8, 3, 2)
    shown = _shown_readers(fig, 8)
    assert {c for c, who in shown.items() if not who} == (
        {(7, w) for w in range(8)} | {(h, 7) for h in range(8)}
    )
    assert _texts(fig, "dout:text") == list("abcdefghi")
    assert shown[2, 2] == set("abde")  # read by four windows


def test_backward_routes_refuses_what_does_not_fit():
    with pytest.raises(ValueError, match="cannot fit 6x6 cells of up to 9 letters"):
        plot_backward_routes(6, 3, 1)


# --- the im2col animation -----------------------------------------------------------------


@pytest.mark.parametrize("size, kernel, stride", [(4, 3, 1), (5, 3, 2), (4, 2, 2)])
def test_animation_frames_follow_the_windows(size, kernel, stride):
    anim = _drawn(animate_im2col(size, kernel, stride))
    o = conv_output_size(size, kernel, stride)
    frames = list(anim.new_frame_seq())
    assert frames == list(range(o * o))
    fig = anim._fig
    k2 = kernel * kernel
    for r in frames:
        anim.draw_frame(r)
        gids = [p.get_gid() for p in fig.axes[0].patches]
        in_roles, col_roles = gids[:size * size], gids[size * size:]
        window = {divmod(k, size) for k, g in enumerate(in_roles) if g == "window"}
        assert window == _window(size, kernel, stride, r)
        later = (o * o - r - 1) * k2
        assert col_roles == ["copied"] * (r * k2) + ["current"] * k2 + ["empty"] * later
        assert legibility_problems(fig) == []


def test_animation_html_is_reproducible_and_self_contained():
    a, b = im2col_animation_html(4, 2, 2), im2col_animation_html(4, 2, 2)
    assert a == b
    assert not re.search(r"[0-9a-f]{32}", a)  # matplotlib's random uuid is gone
    assert 'id="_anim_imgim2col_4_2_2"' in a
    assert a.count("data:image/png;base64") == 4  # one embedded PNG per window
    assert not re.search(r"""src=["']?(https?:)?//""", a)  # nothing fetched from the network
