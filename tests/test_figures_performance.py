"""Tests of the Performance chapter's figures, on a tiny benchmark run and on the committed one."""
from __future__ import annotations

import copy
import io
import json
import struct
from pathlib import Path

import pytest
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from strided_conv.bench import run, tiny_config
from strided_conv.bench.report import attention_model, implementations
from strided_conv.figures import COLORS, COLUMN_WIDTH_IN, DPI, OKABE_ITO, legibility_problems
from strided_conv.figures.performance import (
    IMPL_COLORS, impl_colors, plot_attention_scaling, plot_conv_times, plot_memory,
    plot_ratio_to_torch,
)

COMMITTED = Path(__file__).resolve().parents[1] / "book" / "bench_results.json"
FIGURES = {
    "conv_times_forward": lambda r: plot_conv_times(r, "forward"),
    "conv_times_backward": lambda r: plot_conv_times(r, "backward"),
    "ratio_to_torch": plot_ratio_to_torch,
    "memory": plot_memory,
    "attention_scaling": plot_attention_scaling,
}
PALETTE = {c.lower() for c in OKABE_ITO.values()}


@pytest.fixture(scope="module")
def results():
    return run(tiny_config(repeats=2, attention_repeats=2), progress=False, command="pytest")


@pytest.fixture(scope="module")
def committed():
    return json.loads(COMMITTED.read_text())


def with_new_impl(results: dict, name: str = "newcomer", like: str = "vectorized") -> dict:
    """A copy of ``results`` with a fake implementation ``name`` measured wherever ``like`` was."""
    new = copy.deepcopy(results)
    for key in ("timings", "memory"):
        rows = new["conv"][key]
        rows += [{**r, "impl": name} for r in rows if r["impl"] == like]
    return new


def _dots(ax) -> list[Line2D]:
    """The data markers of a dot plot (guide lines and reference lines have no marker)."""
    return [ln for ln in ax.get_lines() if ln.get_marker() == "o"]


def _filled(ax) -> list[Line2D]:
    return [ln for ln in _dots(ax) if ln.get_markerfacecolor() != "none"]


def _row_names(fig: Figure) -> list[str]:
    return [t.get_text() for t in fig.axes[0].get_yticklabels()]


@pytest.mark.parametrize("name", FIGURES)
@pytest.mark.parametrize("which", ["tiny", "committed"])
def test_figure_is_legible_at_page_width(name, which, results, committed):
    fig = FIGURES[name](results if which == "tiny" else committed)
    assert isinstance(fig, Figure)
    assert legibility_problems(fig) == []
    # as the notebook stores it: the inline backend saves with bbox_inches="tight"
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=DPI, bbox_inches="tight")
    width_px = struct.unpack(">I", png.getvalue()[16:20])[0]
    assert width_px <= COLUMN_WIDTH_IN * DPI


@pytest.mark.parametrize("name", FIGURES)
def test_figure_uses_the_palette_and_no_legend(name, committed):
    fig = FIGURES[name](committed)
    assert not fig.legends and all(ax.get_legend() is None for ax in fig.axes)
    for ax in fig.axes:
        for line in ax.get_lines():
            if line.get_gid() in IMPL_COLORS:  # a data series
                assert to_hex(line.get_color()) in PALETTE


@pytest.mark.parametrize("pass_", ["forward", "backward"])
def test_conv_times_has_one_dot_per_measurement(results, pass_):
    fig = plot_conv_times(results, pass_)
    dtypes = results["config"]["dtypes"]
    assert len(fig.axes) == len(dtypes)
    for ax, dtype in zip(fig.axes, dtypes):
        want = [t for t in results["conv"]["timings"] if t["pass"] == pass_ and t["dtype"] == dtype]
        dots = _dots(ax)
        assert len(dots) == len(want)
        assert sorted(d.get_xdata()[0] for d in dots) == pytest.approx(
            sorted(1e3 * t["median_s"] for t in want))
        assert ax.get_xscale() == "log" and "ms" in ax.get_xlabel()
        # dots, not bars: a bar's length on a log axis depends on where the axis starts
        assert not [p for p in ax.patches if isinstance(p, Rectangle)]


def test_conv_times_rows_are_named_by_implementation_and_shape(results):
    fig = plot_conv_times(results, "forward")
    names = _row_names(fig)
    for shape in results["conv"]["shapes"]:
        assert shape in names
    for impl in implementations(results["conv"]["timings"]):
        assert impl in names


def test_conv_times_colours_follow_the_palette(results):
    ax = plot_conv_times(results).axes[0]
    for dot in _dots(ax):
        assert to_hex(dot.get_color()) == IMPL_COLORS[dot.get_gid()].lower()
    assert IMPL_COLORS["torch"] == COLORS["output"] and IMPL_COLORS["naive"] == COLORS["tail"]


def test_conv_times_rejects_an_unknown_pass(results):
    with pytest.raises(ValueError, match="pass_ must be"):
        plot_conv_times(results, "sideways")


def test_ratio_plot_skips_torch_and_forward_only_implementations(results):
    fig = plot_ratio_to_torch(results)
    for ax, dtype in zip(fig.axes, results["config"]["dtypes"]):
        impls = {d.get_gid() for d in _dots(ax)}
        assert "vectorized" in impls and not impls & {"torch", "naive"}
        assert ("original" in impls) == (dtype == "float64")  # the original runs in float64 only
        assert len(_dots(ax)) == len(results["conv"]["shapes"]) * len(impls)
        refs = sorted(ln.get_xdata()[0] for ln in ax.get_lines()
                      if ln.get_gid() in ("PyTorch", "2×"))
        assert refs == [1.0, 2.0]


def test_memory_plot_has_a_dot_and_a_ring_per_measurement(results):
    fig = plot_memory(results)
    for ax, dtype in zip(fig.axes, results["config"]["dtypes"]):
        measured = [m for m in results["conv"]["memory"] if m["pass"] == "forward"
                    and m["dtype"] == dtype and m["peak_extra_bytes"] is not None]
        assert len(_filled(ax)) == len(measured)
        rings = [d for d in _dots(ax) if d.get_markerfacecolor() == "none"]
        assert len(rings) == sum(m["peak_repeat_bytes"] is not None for m in measured)
        refs = sorted(ln.get_xdata()[0] for ln in ax.get_lines()
                      if ln.get_gid() in ("col + out", "1.25"))
        assert refs == [1.0, 1.25]


def test_memory_plot_markers_do_not_hide_each_other(committed):
    """Dots of one panel never share a row; a ring is drawn around its own dot only."""
    fig = plot_memory(committed)
    for ax in fig.axes:
        ys = [d.get_ydata()[0] for d in _filled(ax)]
        assert len(ys) == len(set(ys))


def test_attention_plot_names_every_line_with_its_slope(results):
    fig = plot_attention_scaling(results)
    left, right = fig.axes
    impls = implementations(results["attention"]["timings"])
    assert [ln.get_gid() for ln in left.get_lines()] == impls
    texts = [t.get_text() for t in left.texts]
    for impl in impls:
        slope = results["attention"]["slopes"][impl]
        assert f"{impl}, slope {slope:.2f}" in texts
    assert left.get_xlabel() == "sequence length n"
    assert left.get_xscale() == left.get_yscale() == "log"


def test_attention_plot_right_panel_is_time_per_counted_flop(committed):
    right = plot_attention_scaling(committed).axes[1]
    model = attention_model(committed)
    lines = right.get_lines()
    assert {ln.get_gid() for ln in lines} == {"segment", "full", "sdpa"}
    for line in lines:
        rows = sorted((r["n"], r["ps_per_flop"]) for r in model if r["impl"] == line.get_gid())
        assert list(line.get_ydata()) == pytest.approx([ps for _, ps in rows])
    assert right.get_ylabel() == "ps per counted FLOP"


def _conv_figures(r: dict) -> list[Figure]:
    return [plot_conv_times(r, "forward"), plot_conv_times(r, "backward"),
            plot_ratio_to_torch(r), plot_memory(r)]


def test_a_new_implementation_appears_without_code_changes(results):
    """An implementation no suite registers shows up in every conv figure once the JSON has it,
    in one colour that no listed implementation has."""
    assert "newcomer" not in implementations(results["conv"]["timings"])
    new = with_new_impl(results)
    for fig in _conv_figures(new):
        assert "newcomer" in _row_names(fig)
        dots = [d for ax in fig.axes for d in _dots(ax) if d.get_gid().startswith("newcomer")]
        assert dots and {to_hex(d.get_color()) for d in dots} == {OKABE_ITO["black"].lower()}
        assert legibility_problems(fig) == []
    colours = {d.get_gid(): to_hex(d.get_color()) for d in _dots(plot_conv_times(new).axes[0])}
    assert len(set(colours.values())) == len(colours)  # one colour per implementation


@pytest.mark.parametrize("which", ["tiny", "committed"])
def test_every_implementation_has_its_one_colour_in_every_figure(which, results, committed):
    """Dots and lines take their implementation's IMPL_COLORS entry, whatever the figure."""
    r = results if which == "tiny" else committed
    seen = set()
    for fig in [*_conv_figures(r), plot_attention_scaling(r)]:
        for ax in fig.axes:
            for line in ax.get_lines():
                impl = (line.get_gid() or "").split(" ")[0]
                if impl in IMPL_COLORS:
                    seen.add(impl)
                    assert to_hex(line.get_color()) == IMPL_COLORS[impl].lower(), impl
    assert seen == set(implementations(r["conv"]["timings"])) | set(
        implementations(r["attention"]["timings"]))


def test_impl_colors_are_distinct_and_from_the_palette():
    names = ["torch", "vectorized", "seed_style", "original", "naive", "polyphase", "a", "b"]
    colours = impl_colors(names)
    assert list(colours) == names
    assert len(set(colours.values())) == len(names)
    assert {c.lower() for c in colours.values()} <= PALETTE
    assert impl_colors(["torch"]) == {"torch": IMPL_COLORS["torch"]}
    # more names than the palette has colours: the rest are dark grey, never a stray colour
    many = impl_colors([f"x{i}" for i in range(10)])
    assert list(many.values())[-1] == COLORS["edge"]
    assert set(IMPL_COLORS.values()) <= set(OKABE_ITO.values())
