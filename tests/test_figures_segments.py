"""Chapter 3 figures: smoke tests that check what is drawn."""
from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from strided_conv import DownConv, input_dependence
from strided_conv.figures.segments import (
    outcome_grid,
    plot_attention_map,
    plot_attention_timing,
    plot_outcome_maps,
    plot_receptive_fields,
)
from strided_conv.original.downconv import run_original


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_outcome_grid_counts_at_200():
    counts = Counter(outcome_grid(200, "original").ravel())
    assert counts["wrong count"] == 4626 and sum(counts.values()) == 10000
    package = Counter(outcome_grid(200, "package").ravel())
    assert set(package) == {"ok", "padded tail", "refused"}


def test_outcome_grid_rejects_an_unknown_source():
    with pytest.raises(ValueError, match="which must be"):
        outcome_grid(200, "paper")


def test_outcome_maps_draw_one_image_per_panel():
    fig = plot_outcome_maps((200, 50), m_max=10, k1_max=30)
    meshes = [c for ax in fig.axes for c in ax.collections if c.get_gid()]
    assert len(meshes) == 4
    assert meshes[0].get_array().shape == (10, 30)
    # the package panel at seq_len 50 colours exactly the cells package_outcome accepts
    names = meshes[3].get_gid().split(",")
    codes = np.asarray(meshes[3].get_array())
    assert (codes != names.index("refused")).sum() == (outcome_grid(50, "package", 10, 30) != "refused").sum()
    assert all(ax.get_xlabel().startswith("k1") for ax in fig.axes)


def test_receptive_fields_mark_never_read_positions():
    panels = [("defaults", input_dependence(DownConv(), 200, 64)),
              ("dropped tail", run_original(200, 3, 30).depends),
              ("pure padding", run_original(200, 12, 10).depends)]
    fig = plot_receptive_fields(panels)
    roles = [Counter(p.get_gid() for p in ax.patches) for ax in fig.axes]
    assert roles[0] == {"segment": 4}
    assert roles[1]["never read"] == 1 and roles[1]["segment"] == 3
    widths = [p.get_width() for p in fig.axes[1].patches if p.get_gid() == "never read"]
    assert widths == [20]
    assert roles[2]["padding only"] == 2 and roles[2]["segment"] == 10


def test_attention_map_has_one_cell_per_weight():
    fig = plot_attention_map([("a", np.full((6, 3), 1 / 3)), ("b", np.eye(6, 3))])
    images = [im for ax in fig.axes for im in ax.images]
    assert [im.get_array().shape for im in images] == [(6, 3), (6, 3)]
    assert images[1].get_clim() == (0.0, 1.0)
    with pytest.raises(ValueError, match="2-D"):
        plot_attention_map([("bad", np.zeros(3))])


def test_timing_plot_is_log_log_with_slopes_in_the_legend():
    fig = plot_attention_timing({"n": [10, 100], "full": [1e-4, 1e-2], "segment": [1e-4, 1e-3]})
    ax = fig.axes[0]
    assert ax.get_xscale() == ax.get_yscale() == "log"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "slope 2.00" in labels[0] and "slope 1.00" in labels[1]
