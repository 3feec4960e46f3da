"""Smoke tests of the Performance chapter's figures, on a tiny benchmark run."""
from __future__ import annotations

import pytest
from matplotlib.collections import PathCollection
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from strided_conv.bench import run, tiny_config
from strided_conv.figures import COLORS
from strided_conv.figures.performance import (
    IMPL_COLORS, plot_attention_scaling, plot_conv_times, plot_memory, plot_ratio_to_torch,
)


@pytest.fixture(scope="module")
def results():
    return run(tiny_config(repeats=2, attention_repeats=2), progress=False, command="pytest")


def _bars(ax) -> list[Rectangle]:
    return [p for p in ax.patches if isinstance(p, Rectangle)]


def test_conv_times_has_one_bar_per_measurement(results):
    fig = plot_conv_times(results)
    assert isinstance(fig, Figure)
    axes = fig.axes
    assert len(axes) == 4  # 2 dtypes x (forward, backward)
    n_bars = sum(len(_bars(ax)) for ax in axes)
    assert n_bars == len(results["conv"]["timings"])
    assert all(ax.get_yscale() == "log" and "ms" in ax.get_ylabel() for ax in axes)


def test_conv_times_colours_follow_the_palette(results):
    ax = plot_conv_times(results).axes[0]
    by_label = {c.get_label(): c for c in ax.containers}
    for impl in ("torch", "vectorized", "naive"):
        want = to_rgba(IMPL_COLORS[impl])
        assert by_label[impl].patches and all(p.get_facecolor() == want
                                              for p in by_label[impl].patches)
    assert IMPL_COLORS["torch"] == COLORS["output"] and IMPL_COLORS["naive"] == COLORS["tail"]


def test_ratio_plot_skips_torch_and_naive(results):
    fig = plot_ratio_to_torch(results)
    shapes = len(results["conv"]["shapes"])
    for ax, dtype in zip(fig.axes, results["config"]["dtypes"]):
        labels = {c.get_label() for c in ax.containers}
        assert "vectorized" in labels and not labels & {"torch", "naive"}
        assert ("original" in labels) == (dtype == "float64")  # the seed runs in float64 only
        assert len(_bars(ax)) == shapes * len(labels)
        assert [line.get_ydata()[0] for line in ax.get_lines()] == [1.0, 2.0]


def test_memory_plot_has_one_point_per_numpy_measurement(results):
    fig = plot_memory(results)
    measured = [m for m in results["conv"]["memory"]
                if m["pass"] == "forward" and m["peak_extra_bytes"] is not None]
    assert len(fig.axes) == 2
    for ax in fig.axes:
        points = sum(len(c.get_offsets()) for c in ax.collections if isinstance(c, PathCollection))
        assert points == len(measured)  # first call left, repeated call right
        assert ax.get_xscale() == "log" and "MiB" in ax.get_xlabel()
        assert [line.get_ydata()[0] for line in ax.get_lines()] == [1.0, 1.25]


def test_attention_plot_shows_slopes(results):
    ax = plot_attention_scaling(results).axes[0]
    labels = [line.get_label() for line in ax.get_lines()]
    assert len(labels) == len(results["attention"]["slopes"])
    assert all("slope" in lab for lab in labels)
    assert ax.get_xlabel() == "sequence length n"
