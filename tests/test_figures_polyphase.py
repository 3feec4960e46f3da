"""Figures of the polyphase chapter: legible at the page's size, and drawing what they claim."""
from __future__ import annotations

import numpy as np
import pytest
from matplotlib.colors import to_hex
from matplotlib.patches import Rectangle
from matplotlib.text import Text

from strided_conv import unvisited_tail
from strided_conv.figures import legibility_problems
from strided_conv.figures.performance import IMPL_COLORS
from strided_conv.figures.polyphase import plot_channel_sweep, plot_phases_1d, plot_phases_2d


def _roles(fig) -> list[str]:
    return [r.get_gid() for r in fig.axes[0].patches if isinstance(r, Rectangle)]


def _texts(fig) -> list[str]:
    return [t.get_text() for t in fig.findobj(Text) if t.get_text()]


@pytest.mark.parametrize("i, k, s, p", [(10, 3, 2, 0), (9, 3, 2, 0), (11, 5, 3, 1), (6, 2, 1, 2)])
def test_phases_1d_is_legible_and_counts_cells(i, k, s, p):
    fig = plot_phases_1d(np.arange(1, i + 1), 10.0 ** np.arange(k), s, p)
    assert legibility_problems(fig) == []
    roles = _roles(fig)
    o = (i + 2 * p - k) // s + 1
    assert roles.count("window") == k  # the sub-kernels hold every tap once
    assert roles.count("output") == (s + 2) * o  # s terms, their sum, the direct result
    # an unread input cell shows in the padded row and once more in its phase
    tail_input = max(0, unvisited_tail(i, k, s, p) - p)
    assert roles.count("tail") == 2 * tail_input


def test_phases_1d_sum_equals_the_direct_convolution():
    fig = plot_phases_1d(np.arange(1, 11), [1, 10, 100], 2)
    texts = _texts(fig)
    assert "321" in texts and texts.count("987") == 2  # sum row and direct row


def test_phases_1d_rejects_bad_input():
    with pytest.raises(ValueError, match="1-D"):
        plot_phases_1d(np.ones((2, 2)), [1.0], 1)
    with pytest.raises(ValueError, match="stride must be >= 1"):
        plot_phases_1d([1.0, 2.0], [1.0], 0)


@pytest.mark.parametrize("args", [(7, 3, 2, 1), (7, 3, 2, 0), ((8, 6), (3, 2), (3, 2), (1, 0)),
                                  (5, 3, 1, 1)])
def test_phases_2d_is_legible_and_every_tap_is_drawn_once(args):
    size, kernel, stride, pad = args
    fig = plot_phases_2d(size, kernel, stride, pad)
    assert legibility_problems(fig) == []
    roles = _roles(fig)
    fh, fw = (kernel, kernel) if isinstance(kernel, int) else kernel
    h, w = (size, size) if isinstance(size, int) else size
    ph, pw = (pad, pad) if isinstance(pad, int) else pad
    assert roles.count("window") == fh * fw
    assert roles.count("input") == h * w  # every pixel in exactly one phase
    assert roles.count("padding") == (h + 2 * ph) * (w + 2 * pw) - h * w


def test_phases_2d_rejects_a_kernel_that_does_not_fit():
    with pytest.raises(ValueError, match="does not fit"):
        plot_phases_2d(3, 5, 2, 0)


def _sweep(ratio: dict[str, float]) -> dict:
    shapes, rows = {}, []
    for family, geo in (("k3s1", (3, 1, 32)), ("k7s2", (7, 2, 56))):
        for c in (1, 8, 64):
            name = f"{family}-C{c}"
            shapes[name] = {"C": c, "FH": geo[0], "FW": geo[0], "stride": geo[1], "H": geo[2],
                            "W": geo[2], "FN": 64}
            for impl in ("torch", "vectorized", "polyphase"):
                rows += [{"shape": name, "dtype": "float64", "impl": impl, "pass": p,
                          "median_s": ratio.get(impl, 1.0) * c} for p in ("forward", "backward")]
    return {"polyphase": {"shapes": shapes, "timings": rows}}


def test_channel_sweep_is_legible_and_plots_ratios():
    fig = plot_channel_sweep(_sweep({"vectorized": 2.0, "polyphase": 0.5}), ("float64",))
    assert legibility_problems(fig) == []
    ax = fig.axes[0]
    ys = sorted(tuple(line.get_ydata()) for line in ax.get_lines() if len(line.get_ydata()) == 3)
    assert ys == [(0.5, 0.5, 0.5), (2.0, 2.0, 2.0)]
    assert "7×7, stride 2, 56×56, 64 filters" in _texts(fig)


def test_channel_sweep_colours_are_the_performance_chapters():
    """One implementation, one colour, book-wide (figures.performance.IMPL_COLORS)."""
    ax = plot_channel_sweep(_sweep({"vectorized": 2.0, "polyphase": 0.5}), ("float64",)).axes[0]
    by_ratio = {line.get_ydata()[0]: to_hex(line.get_color()) for line in ax.get_lines()}
    assert by_ratio == {1.0: IMPL_COLORS["torch"].lower(),
                        2.0: IMPL_COLORS["vectorized"].lower(),
                        0.5: IMPL_COLORS["polyphase"].lower()}


def test_channel_sweep_needs_the_sweep():
    with pytest.raises(ValueError, match="no sweep family"):
        plot_channel_sweep({"polyphase": {"shapes": {}, "timings": []}})
    with pytest.raises(ValueError, match="no sweep family 'k3s1' in float32"):
        plot_channel_sweep(_sweep({}))  # the synthetic sweep has float64 only
