"""Smoke tests of the chapter-2 figures: they draw what they claim to draw."""
from __future__ import annotations

from matplotlib.figure import Figure

from strided_conv.figures import COLORS
from strided_conv.figures.im2col import plot_coverage, plot_im2col_rows


def _roles(ax):
    return [p.get_gid() for p in ax.patches]


def test_im2col_rows_stride_1_has_one_row_per_window():
    fig = plot_im2col_rows(4, 3, 1)
    assert isinstance(fig, Figure)
    axes = fig.axes
    assert len(axes) == 2 * 4  # (input, col row) for each of the 2x2 windows
    for ax_in, ax_col in zip(axes[::2], axes[1::2]):
        assert _roles(ax_in).count("window") == 9 and "tail" not in _roles(ax_in)
        assert len(ax_col.patches) == 9
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["input", "copied into this row"]
    # window 3 (bottom-right) copies cells 5, 6, 7, 9, ..., 15 in this order.
    assert [t.get_text() for t in axes[7].texts] == ["5", "6", "7", "9", "10", "11", "13", "14", "15"]


def test_im2col_rows_stride_2_marks_the_unread_tail():
    fig = plot_im2col_rows(4, 3, 2)
    ax_in = fig.axes[0]
    assert len(fig.axes) == 2
    assert _roles(ax_in).count("tail") == 7  # last row and last column of a 4x4
    assert [t.get_text() for t in fig.axes[1].texts] == ["0", "1", "2", "4", "5", "6", "8", "9", "10"]
    assert "stride 2" in fig.get_suptitle()
    assert "never read" in [t.get_text() for t in fig.legends[0].get_texts()]


def test_coverage_counts_and_tail():
    fig = plot_coverage(8, 3, (1, 2))
    ax1, ax2 = fig.axes
    assert "stride 1: max 9" in ax1.get_title() and "stride 2: max 4" in ax2.get_title()
    assert _roles(ax1).count("tail") == 0
    assert _roles(ax2).count("tail") == 15  # row 7 and column 7
    assert sum(int(t.get_text()) for t in ax1.texts) == 6 * 6 * 9  # windows x taps
    assert sum(int(t.get_text()) for t in ax2.texts) == 3 * 3 * 9


def test_tail_cells_use_the_palette_red():
    from matplotlib.colors import to_rgba

    fig = plot_coverage(8, 3, (2,))
    reds = [p for p in fig.axes[0].patches if p.get_gid() == "tail"]
    assert reds and all(p.get_facecolor() == to_rgba(COLORS["tail"]) for p in reds)
