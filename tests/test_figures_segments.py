"""Chapter 3 figures: what is drawn, in which colour, and that a reader can read it."""
from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.colors import to_hex

from strided_conv import DownConv, attention_flops, downconv_sizes, input_dependence
from strided_conv.figures import COLORS, legibility_problems
from strided_conv.figures.segments import (
    ORIGINAL_STYLE,
    PACKAGE_STYLE,
    outcome_grid,
    plot_attention_map,
    plot_attention_timing,
    plot_downconv_pipeline,
    plot_outcome_maps,
    plot_receptive_fields,
    plot_time_against_m,
)
from strided_conv.original.downconv import run_original

pytestmark = pytest.mark.usefixtures("one_torch_thread")

PIPELINE = [("defaults", downconv_sizes(200, 4, 10)),
            ("tail read after zeros", downconv_sizes(200, 3, 30, tail="pad"))]
TIMINGS = [{"n": [250, 1000, 4000], "full": [1e-3, 1.6e-2, 2.6e-1]},
           {"n": [250, 1000, 4000, 16000], "segment": [3e-4, 5e-4, 2e-3, 8e-3]}]


def _patches(ax, gid):
    return [p for p in ax.patches if p.get_gid() == gid]


# ----------------------------------------------------------------- every figure is legible
@pytest.mark.parametrize("draw", [
    lambda: plot_outcome_maps((200, 150)),
    lambda: plot_downconv_pipeline(PIPELINE),
    lambda: plot_downconv_pipeline([("drop", downconv_sizes(200, 3, 30, tail="drop"))]),
    lambda: plot_receptive_fields([("defaults", input_dependence(DownConv(), 200, 64)),
                                   ("pure padding", run_original(200, 12, 10).depends)]),
    lambda: plot_attention_map([("rows", np.full((24, 4), 0.25)),
                                ("columns", np.full((24, 4), 1 / 24))]),
    lambda: plot_attention_timing(TIMINGS),
    lambda: plot_time_against_m([4, 8, 16], [1.0, 1.1, 1.2], {"model": [1, 2, 4]}, 10_000),
], ids=["outcome_maps", "pipeline", "pipeline_drop", "receptive_fields", "attention_map",
        "attention_timing", "time_against_m"])
def test_every_figure_fits_the_column_with_no_small_text(draw):
    assert legibility_problems(draw()) == []


# ----------------------------------------------------------------- outcome maps
def test_outcome_grid_counts_at_200():
    counts = Counter(outcome_grid(200, "original").ravel())
    assert counts["wrong count"] == 4626 and sum(counts.values()) == 10000
    package = Counter(outcome_grid(200, "package").ravel())
    assert set(package) == {"ok", "padded tail", "refused"}


def test_outcome_grid_rejects_an_unknown_source():
    with pytest.raises(ValueError, match="which must be"):
        outcome_grid(200, "paper")


def test_outcomes_use_the_books_colour_roles():
    roles = {"ok": "output", "dropped tail": "tail", "pure padding": "padding",
             "wrong count": "wrong_count", "error": "error"}
    assert {k: c for k, (c, _) in ORIGINAL_STYLE.items()} == {
        k: COLORS[r] for k, r in roles.items()}
    assert PACKAGE_STYLE["ok"][0] == COLORS["output"]
    assert PACKAGE_STYLE["padded tail"][0] == COLORS["padded_tail"]


def test_outcome_maps_draw_one_image_per_panel_with_its_legend():
    fig = plot_outcome_maps((200, 50), m_max=10, k1_max=30)
    meshes = [c for ax in fig.axes for c in ax.collections
              if c.get_gid() and "," in c.get_gid()]
    assert len(meshes) == 4
    assert meshes[0].get_array().shape == (10, 30)
    # the package panel at n = 50 colours exactly the cells package_outcome accepts
    names = meshes[3].get_gid().split(",")
    codes = np.asarray(meshes[3].get_array())
    expected = (outcome_grid(50, "package", 10, 30) != "refused").sum()
    assert (codes != names.index("refused")).sum() == expected
    # each mesh's colours are its style's, in order
    for mesh, style in zip(meshes, (ORIGINAL_STYLE, ORIGINAL_STYLE, PACKAGE_STYLE,
                                    PACKAGE_STYLE)):
        colours = [to_hex(mesh.cmap(i)) for i in range(mesh.cmap.N)]
        assert colours == [to_hex(c) for c, _ in style.values()]
    assert all(ax.get_xlabel() in ("$k_1$ (log scale)", "") for ax in fig.axes)
    legends = [sub.legends[0] for sub in fig.subfigs]
    entries = [[t.get_text() for t in leg.get_texts() if t.get_text().strip()]
               for leg in legends]
    assert entries == [[lab for _, lab in ORIGINAL_STYLE.values()],
                       [lab for _, lab in PACKAGE_STYLE.values()]]
    # padded with blank rows to the same height, so both columns line up
    assert len(legends[0].get_texts()) == len(legends[1].get_texts())


def test_outcome_maps_hatch_exactly_the_padding_only_cells():
    fig = plot_outcome_maps((200,), m_max=12, k1_max=40)
    hatch = [c for c in fig.axes[0].collections if c.get_gid() == "pure padding hatch"]
    assert len(hatch) == 1 and isinstance(hatch[0], PolyCollection) and hatch[0].get_hatch()
    hatched = sum(np.ptp(p.vertices[:, 0]) for p in hatch[0].get_paths())
    assert hatched == (outcome_grid(200, "original", 12, 40) == "pure padding").sum()


# ----------------------------------------------------------------- the pipeline, to scale
def test_pipeline_draws_every_cell_and_window_to_scale():
    fig = plot_downconv_pipeline(PIPELINE)
    drawings = [ax for ax in fig.axes if ax.patches]
    assert len(drawings) == 2
    for ax, (_, s) in zip(drawings, PIPELINE):
        k1, k2, p2, mid, m = s.k1, s.k2, s.padding, s.mid_length, s.m_segments
        assert len(_patches(ax, "conv1 window")) == mid
        cells = sorted(p.get_x() for p in _patches(ax, "L1 cell"))
        assert cells == [i * k1 for i in range(mid)]  # under its first-conv window
        segments = sorted((p.get_x(), p.get_x() + p.get_width())
                          for p in _patches(ax, "segment"))
        assert segments == [((j * k2 - p2) * k1, ((j + 1) * k2 - p2) * k1) for j in range(m)]
        windows = sorted((p.get_x(), p.get_width()) for p in _patches(ax, "conv2 window"))
        assert windows == [(a, b - a) for a, b in segments]
        pads = sorted(p.get_x() for p in _patches(ax, "padding") if p.get_y() < 2.5)
        assert pads == [i * k1 for i in list(range(-p2, 0)) + list(range(mid, mid + p2))]


def test_pipeline_shows_the_tail_and_the_zeros_appended():
    fig = plot_downconv_pipeline(PIPELINE[1:])
    ax = fig.axes[0]
    tail = _patches(ax, "padded tail")
    assert [(p.get_x(), p.get_width()) for p in tail] == [(180, 20)]
    zeros = [p for p in _patches(ax, "padding") if p.get_y() > 2.5]
    assert [(p.get_x(), p.get_width()) for p in zeros] == [(200, 10)]
    assert all(to_hex(p.get_facecolor()) == to_hex(COLORS["padding"]) for p in zeros)
    dropped = plot_downconv_pipeline([("drop", downconv_sizes(200, 3, 30, tail="drop"))])
    assert [p.get_width() for p in _patches(dropped.axes[0], "tail")] == [20]


def test_pipeline_marks_each_condition_where_it_shows_and_checks_it():
    fig = plot_downconv_pipeline(PIPELINE)
    drawings = [ax for ax in fig.axes if ax.patches]
    texts = [ax for ax in fig.axes if not ax.patches]
    for ax, text_ax, (_, s) in zip(drawings, texts, PIPELINE):
        k1, k2, p2, mid, m = s.k1, s.k2, s.padding, s.mid_length, s.m_segments
        marks = {t.get_text(): t.xy[0] for t in ax.texts if t.get_text() in ("(b)", "(c)", "(d)")}
        # (b) in window 0, (c) in window m-1, (d) on the last real cell; all on real cells
        assert -p2 * k1 <= marks["(b)"] < (k2 - p2) * k1
        assert ((m - 1) * k2 - p2) * k1 <= marks["(c)"] < (m * k2 - p2) * k1
        assert marks["(d)"] == (mid - 0.5) * k1
        assert all(0 <= x < mid * k1 for x in marks.values())
        assert any(t.get_text() == "(a)" for t in ax.texts)
        lines = [t.get_text() for t in text_ax.texts]
        assert [line[:3] for line in lines] == ["(a)", "(b)", "(c)", "(d)"]
        assert all(line.endswith(": yes") for line in lines)
        assert f"p_2 = {p2}" in lines[1] and f"k_2 - 1 = {k2 - 1}" in lines[1]


def test_pipeline_rejects_bad_configs():
    with pytest.raises(ValueError, match="at least one"):
        plot_downconv_pipeline([])
    with pytest.raises(TypeError, match="DownConvSizes, got dict"):
        plot_downconv_pipeline([("bad", {"k1": 10})])


# ----------------------------------------------------------------- receptive fields
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
    colours = {p.get_gid(): to_hex(p.get_facecolor()) for ax in fig.axes for p in ax.patches}
    assert colours == {"segment": to_hex(COLORS["window"]), "never read": to_hex(COLORS["tail"]),
                       "padding only": to_hex(COLORS["padding"])}
    # the first and last position are written in every bar wide enough for them
    assert {t.get_text() for t in fig.axes[0].texts} == {"0..49", "50..99", "100..149",
                                                        "150..199"}
    assert "180..199" in {t.get_text() for t in fig.axes[1].texts}


# ----------------------------------------------------------------- attention map
def test_attention_map_draws_each_weight_and_both_sums():
    rng = np.random.default_rng(0)
    rows = rng.dirichlet(np.ones(3), size=6)          # rows sum to 1
    cols = rng.dirichlet(np.ones(6), size=3).T        # columns sum to 1
    fig = plot_attention_map([("rows", rows), ("columns", cols)])
    images = [im for ax in fig.axes for im in ax.images]
    assert [im.get_array().shape for im in images] == [(6, 3), (6, 3)]
    assert images[1].get_clim() == (0.0, cols.max())
    for w in (rows, cols):
        bars = {gid: [p for ax in fig.axes for p in ax.patches if p.get_gid() == gid]
                for gid in ("row sums", "column sums")}
        assert len(bars["row sums"]) == 12 and len(bars["column sums"]) == 6
    row_bars = [p.get_width() for ax in fig.axes for p in ax.patches if p.get_gid() == "row sums"]
    col_bars = [p.get_height() for ax in fig.axes for p in ax.patches
                if p.get_gid() == "column sums"]
    np.testing.assert_allclose(row_bars, np.concatenate([rows.sum(1), cols.sum(1)]))
    np.testing.assert_allclose(col_bars, np.concatenate([rows.sum(0), cols.sum(0)]))
    with pytest.raises(ValueError, match="2-D"):
        plot_attention_map([("bad", np.zeros(3))])


# ----------------------------------------------------------------- timings
def test_timing_plot_is_log_log_with_slopes_in_the_legend():
    fig = plot_attention_timing({"n": [10, 100], "full": [1e-4, 1e-2], "segment": [1e-4, 1e-3]})
    ax = fig.axes[0]
    assert ax.get_xscale() == ax.get_yscale() == "log"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "slope 2.00" in labels[0] and "slope 1.00" in labels[1]


def test_timing_plot_fits_over_min_n_and_draws_the_cost_model():
    flops = {"full": [sum(attention_flops(n)["full"].values()) for n in TIMINGS[0]["n"]],
             "segment": [sum(attention_flops(n)["segment"].values()) for n in TIMINGS[1]["n"]]}
    fig = plot_attention_timing(TIMINGS, flops, min_n={"segment": 1000})
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    segment_n = np.array(TIMINGS[1]["n"][1:], float)
    slope = np.polyfit(np.log(segment_n), np.log(TIMINGS[1]["segment"][1:]), 1)[0]
    assert f"slope {slope:.2f}" in labels[2]
    assert labels[1].startswith("cost model") and labels[3].startswith("cost model")
    hollow = [line for line in ax.lines if line.get_markerfacecolor() == "white"]
    assert len(hollow) == 1 and list(hollow[0].get_xdata()) == [250.0]
    with pytest.raises(ValueError, match="one value per n"):
        plot_attention_timing(TIMINGS, {"full": [1.0]})
    with pytest.raises(ValueError, match="min_n=5000 leaves 0"):
        plot_attention_timing(TIMINGS, min_n=5000)
    with pytest.raises(ValueError, match="'full' or 'segment'"):
        plot_attention_timing({"n": [1, 2]})


def test_time_against_m_draws_ratios_to_the_first_m():
    fig = plot_time_against_m([4, 8, 16], [2.0, 2.2, 2.4], {"every term": [10, 11, 13],
                                                           "scores only": [1, 2, 4]}, 10_000)
    ax = fig.axes[0]
    lines = {line.get_label(): list(line.get_ydata()) for line in ax.lines}
    assert lines["every term"] == [1.0, 1.1, 1.3]
    assert lines["scores only"] == [1.0, 2.0, 4.0]
    np.testing.assert_allclose(lines["measured, n = 10,000"], [1.0, 1.1, 1.2])
    with pytest.raises(ValueError, match="same length >= 2"):
        plot_time_against_m([4], [1.0], {}, 10)
