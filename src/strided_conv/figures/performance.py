"""Figures of the "Performance" chapter, drawn from a benchmark results dict.

Every function takes the dict :func:`strided_conv.bench.run` returns (or the
committed JSON loaded with ``json.load``) and returns a
:class:`matplotlib.figure.Figure` at most :data:`~strided_conv.figures.COLUMN_WIDTH_IN`
wide with no text below :data:`~strided_conv.figures.MIN_FONT_PT`.

Times are drawn as dots, not bars: on a logarithmic axis a bar's length depends
on where the axis happens to start, a dot's position does not. Each row of a dot
plot is one implementation on one shape and carries the implementation's name,
so no legend has to be matched by colour (Okabe and Ito's advice: label the
elements on the graph itself). The implementations, shapes and sequence lengths
are those the results record, in the recorded order: an implementation added to
the benchmark appears in every figure without a change here.

Colours: one per implementation, the same in every figure of the book that
shows implementations (the polyphase chapter's too), from the Okabe-Ito palette
(:data:`IMPL_COLORS`; an implementation not listed there takes a palette colour
no listed implementation has, see :func:`impl_colors`).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

from ..bench.report import attention_model, implementations, memory_ratio
from . import COLORS, COLUMN_WIDTH_IN, OKABE_ITO

__all__ = ["IMPL_COLORS", "impl_colors", "plot_conv_times", "plot_ratio_to_torch",
           "plot_memory", "plot_attention_scaling"]

#: Implementation -> colour, by role: PyTorch's code bluish green (``torch``,
#: ``sdpa``), the package's im2col layer and its segment attention blue
#: (``vectorized``, ``segment``), the polyphase layer sky blue, the seed-style
#: layer orange, the original layer reddish purple, the slowest baselines
#: vermillion (the naive loops, full attention). Convolutions and attention never
#: share a figure, so each figure shows one colour per implementation.
IMPL_COLORS: dict[str, str] = {
    "torch": OKABE_ITO["bluish_green"],
    "vectorized": OKABE_ITO["blue"],
    "seed_style": OKABE_ITO["orange"],
    "original": OKABE_ITO["reddish_purple"],
    "naive": OKABE_ITO["vermillion"],
    "polyphase": OKABE_ITO["sky_blue"],
    "segment": OKABE_ITO["blue"],
    "full": OKABE_ITO["vermillion"],
    "sdpa": OKABE_ITO["bluish_green"],
}

# Spare colours for implementations IMPL_COLORS does not know, in this order (yellow
# last: it is the hardest to see on white). Only colours no listed implementation has,
# so that a colour never means two implementations of one suite in two figures.
_SPARE = tuple(name for name in ("black", "yellow")
               if OKABE_ITO[name] not in IMPL_COLORS.values())

FONT = 10  # points; every text of these figures, tick labels included
# Jupyter's inline backend stores figures with bbox_inches="tight", which pads the
# drawn area with 0.1 in on each side: drawn this wide, the stored image fits the column.
WIDTH_IN = COLUMN_WIDTH_IN - 0.2
ROW_IN = 0.24  # height of one row of a dot plot, inches


def impl_colors(names: Iterable[str]) -> dict[str, str]:
    """One distinct Okabe-Ito colour for each name.

    Names in :data:`IMPL_COLORS` keep their colour; any other name takes the
    next palette colour that no implementation of :data:`IMPL_COLORS` has
    (black, then yellow), and after those dark grey.
    """
    names = list(dict.fromkeys(names))
    colors = {n: IMPL_COLORS[n] for n in names if n in IMPL_COLORS}
    spare = [OKABE_ITO[c] for c in _SPARE]
    for n in names:
        if n not in colors:
            colors[n] = spare.pop(0) if spare else COLORS["edge"]
    return colors


# --- dot plots: rows of (group, implementation) ---------------------------------------------

Rows = list[tuple[str, list[str]]]


def _layout(groups: Rows) -> tuple[dict[tuple[str, str], float], dict[str, float], float]:
    """y of every (group, impl) row and of every group's header row; rows run top down."""
    y, rows, headers = 0.0, {}, {}
    for group, impls in groups:
        headers[group] = y
        for impl in impls:
            y += 1
            rows[(group, impl)] = y
        y += 1.3  # a little air before the next group's header
    return rows, headers, y - 1.3


def _dot_axes(fig: Figure, groups: Rows, panels: list[str]) -> tuple[list[Axes], dict]:
    """One panel per name in ``panels``, sharing the rows; names on the left panel only."""
    rows, headers, bottom = _layout(groups)
    axes = fig.subplots(1, len(panels), sharey=True, squeeze=False)[0]
    ticks = sorted([*rows.values(), *headers.values()])
    labels = {**{y: impl for (_, impl), y in rows.items()}, **{y: g for g, y in headers.items()}}
    for ax, title in zip(axes, panels):
        ax.set_title(title, fontsize=FONT)
        ax.set_ylim(bottom + 0.7, -0.7)
        for y in rows.values():  # a faint guide from the name to its dot
            ax.axhline(y, color=COLORS["padding"], linewidth=0.8, zorder=0)
        ax.tick_params(axis="both", labelsize=FONT, length=0, pad=4)
        ax.tick_params(axis="x", length=3)
        for side in ("top", "right", "left"):
            ax.spines[side].set_visible(False)
    axes[0].yaxis.set_major_locator(FixedLocator(ticks))
    axes[0].set_yticklabels([labels[y] for y in ticks])
    for y, label in zip(ticks, axes[0].get_yticklabels()):
        if y in headers.values():
            label.set_fontweight("bold")
    return list(axes), rows


def _height(groups: Rows, extra: float = 1.3) -> float:
    n_rows = sum(1 + len(impls) for _, impls in groups)
    return extra + ROW_IN * (n_rows + 0.3 * len(groups))


def _groups(shapes: Iterable[str], present: Callable[[str], list[str]]) -> Rows:
    return [(s, present(s)) for s in shapes if present(s)]


def _log_ms_axis(ax: Axes) -> None:
    ax.set_xscale("log")
    ax.grid(axis="x", which="major", color=COLORS["padding"], linewidth=0.8)
    ax.set_axisbelow(True)


def plot_conv_times(results: dict, pass_: str = "forward") -> Figure:
    """Median milliseconds of every implementation on every shape, one panel per dtype.

    A dot plot on a logarithmic time axis: one row per implementation that ran
    ``pass_`` on that shape, grouped by shape.

    Raises
    ------
    ValueError
        If ``pass_`` is not ``"forward"`` or ``"backward"``.
    """
    if pass_ not in ("forward", "backward"):
        raise ValueError(f"pass_ must be 'forward' or 'backward', got {pass_!r}")
    timings = [t for t in results["conv"]["timings"] if t["pass"] == pass_]
    dtypes = list(results["config"]["dtypes"])
    median = {(t["shape"], t["impl"], t["dtype"]): t["median_s"] * 1e3 for t in timings}
    groups = _groups(results["conv"]["shapes"],
                     lambda s: implementations([t for t in timings if t["shape"] == s]))
    colors = impl_colors(implementations(timings))
    fig = Figure(figsize=(WIDTH_IN, _height(groups)), layout="constrained")
    axes, rows = _dot_axes(fig, groups, [f"{pass_}, {d}" for d in dtypes])
    for ax, dtype in zip(axes, dtypes):
        _log_ms_axis(ax)
        for (shape, impl), y in rows.items():
            if (shape, impl, dtype) in median:
                ax.plot(median[(shape, impl, dtype)], y, "o", ms=7, color=colors[impl],
                        markeredgecolor=COLORS["edge"], markeredgewidth=0.6, gid=impl)
        ax.set_xlabel("median ms per call (log scale)", fontsize=FONT)
    return fig


def _ratio_axis(ax: Axes, values: list[float]) -> None:
    """Logarithmic ratio axis with ticks at powers of two, labelled 0.5×, 1×, 2×..."""
    lo, hi = min(values + [1.0]), max(values + [2.0])
    ax.set_xscale("log", base=2)
    ax.set_xlim(lo / 1.25, hi * 1.25)
    powers = [2.0 ** k for k in range(int(np.floor(np.log2(lo / 1.25))),
                                       int(np.ceil(np.log2(hi * 1.25))) + 1)]
    ax.xaxis.set_major_locator(FixedLocator(powers))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}×"))
    ax.grid(axis="x", which="major", color=COLORS["padding"], linewidth=0.8)
    ax.set_axisbelow(True)


def _vline(ax: Axes, x: float, label: str, color: str, style: str = "-",
           ha: str = "center") -> None:
    """A vertical reference line named at its top, above the panel.

    ``ha="right"`` puts the name left of the line, ``"left"`` right of it.
    """
    ax.axvline(x, color=color, linestyle=style, linewidth=1.3, zorder=1, gid=label)
    dx = {"center": 0, "right": -3, "left": 3}[ha]
    ax.annotate(label, (x, 1.0), xycoords=("data", "axes fraction"), xytext=(dx, 2),
                textcoords="offset points", ha=ha, va="bottom", fontsize=FONT,
                color=COLORS["edge"])


def plot_ratio_to_torch(results: dict, reference: str = "torch") -> Figure:
    """(forward + backward time) / PyTorch's, per implementation and shape; one panel per dtype.

    Only implementations that ran both passes; lines at 1 (as fast as PyTorch)
    and 2 (twice PyTorch's time). The ratio axis is logarithmic, so 0.5× and
    2× lie equally far from 1×.
    """
    timings = results["conv"]["timings"]
    dtypes = list(results["config"]["dtypes"])
    median = {(t["shape"], t["impl"], t["dtype"], t["pass"]): t["median_s"] for t in timings}

    def ratio(shape: str, impl: str, dtype: str) -> float | None:
        keys = [(shape, i, dtype, p) for i in (impl, reference) for p in ("forward", "backward")]
        if not all(k in median for k in keys):
            return None
        return (median[keys[0]] + median[keys[1]]) / (median[keys[2]] + median[keys[3]])

    def present(shape: str) -> list[str]:
        return [i for i in implementations(timings) if i != reference
                and any(ratio(shape, i, d) is not None for d in dtypes)]

    groups = _groups(results["conv"]["shapes"], present)
    colors = impl_colors(implementations(timings))
    fig = Figure(figsize=(WIDTH_IN, _height(groups, 1.5)), layout="constrained")
    axes, rows = _dot_axes(fig, groups, [f"forward + backward, {d}\n" for d in dtypes])
    values = [v for (s, i) in rows for d in dtypes if (v := ratio(s, i, d)) is not None]
    for ax, dtype in zip(axes, dtypes):
        _ratio_axis(ax, values)
        _vline(ax, 1.0, "PyTorch", colors.get(reference, COLORS["edge"]))
        _vline(ax, 2.0, "2×", COLORS["edge"], "--")
        for (shape, impl), y in rows.items():
            v = ratio(shape, impl, dtype)
            if v is not None:
                ax.plot(v, y, "o", ms=7, color=colors[impl], markeredgecolor=COLORS["edge"],
                        markeredgewidth=0.6, gid=impl, zorder=3)
        ax.set_xlabel("time / PyTorch's time (log scale)", fontsize=FONT)
    return fig


def plot_memory(results: dict) -> Figure:
    """Forward peak extra memory / (col buffer + output), one panel per dtype.

    One row per implementation that tracemalloc can see, grouped by shape. A
    filled dot is the first call on a fresh layer; an open ring around it is a
    second call on the same layer (a training loop's steady state): where the two
    agree the ring encloses the dot, so no marker hides another. Lines at 1 (the
    col buffer and the output, nothing else) and at 1.25 (the target).
    """
    mem = [m for m in results["conv"]["memory"]
           if m["pass"] == "forward" and m["peak_extra_bytes"] is not None]
    dtypes = list(results["config"]["dtypes"])
    by_key = {(m["shape"], m["impl"], m["dtype"]): m for m in mem}
    groups = _groups(results["conv"]["shapes"],
                     lambda s: implementations([m for m in mem if m["shape"] == s]))
    colors = impl_colors(implementations(results["conv"]["timings"]) + implementations(mem))
    fig = Figure(figsize=(WIDTH_IN, _height(groups, 1.7)), layout="constrained")
    axes, rows = _dot_axes(fig, groups, [f"{d}\n" for d in dtypes])
    values = [r for m in mem for r in (memory_ratio(m), memory_ratio(m, "peak_repeat_bytes"))
              if r is not None]
    for ax, dtype in zip(axes, dtypes):
        ax.set_xlim(min(values + [1.0]) - 0.15, max(values + [1.25]) + 0.2)
        ax.grid(axis="x", color=COLORS["padding"], linewidth=0.8)
        ax.set_axisbelow(True)
        _vline(ax, 1.0, "col + out", COLORS["edge"], ha="right")
        _vline(ax, 1.25, "1.25", COLORS["edge"], "--", ha="left")
        for (shape, impl), y in rows.items():
            m = by_key.get((shape, impl, dtype))
            if m is None:
                continue
            ax.plot(memory_ratio(m), y, "o", ms=6, color=colors[impl], zorder=3,
                    markeredgecolor=COLORS["edge"], markeredgewidth=0.6, gid=f"{impl} first")
            again = memory_ratio(m, "peak_repeat_bytes")
            if again is not None:
                ax.plot(again, y, "o", ms=12, color=colors[impl], markerfacecolor="none", zorder=3,
                        markeredgecolor=colors[impl], markeredgewidth=1.5, gid=f"{impl} repeated")
        ax.set_xlabel("peak extra memory / (col + out)", fontsize=FONT)
    fig.suptitle("● first call    ○ repeated call of the same layer", fontsize=FONT)
    return fig


def _end_labels(ax: Axes, items: list[tuple[float, float, str, str]], log_y: bool,
                min_gap: float) -> None:
    """Write each label right of its line's last point, nudged apart vertically.

    ``items`` are ``(x, y, text, colour)``; ``min_gap`` is the smallest vertical
    distance between two labels, in decades (``log_y``) or in data units. The
    highest label stays at its line; each lower one moves down if it must.
    """
    def f(y):
        return np.log10(y) if log_y else y

    placed: list[float] = []
    for x, y, text, color in sorted(items, key=lambda it: -f(it[1])):
        pos = f(y) if not placed else min(f(y), placed[-1] - min_gap)
        placed.append(pos)
        ax.annotate(text, (x, 10 ** pos if log_y else pos), xytext=(6, 0),
                    textcoords="offset points", va="center", ha="left", fontsize=FONT,
                    color=color, annotation_clip=False)


def plot_attention_scaling(results: dict) -> Figure:
    """Left: time per sequence against ``n`` (log-log), each line named with its fitted slope.

    Right: the same times divided by the FLOPs
    :func:`strided_conv.attention_flops` counts (picoseconds per FLOP; see
    ``strided_conv.bench.report.attention_model``): a flat line means the
    time grows exactly like the count.
    Implementations without a cost model appear on the left only.
    """
    att = results["attention"]
    impls = implementations(att["timings"])
    colors = impl_colors(impls)
    styles = dict(zip(impls, ["-", "--", ":", "-."] * 3))
    markers = dict(zip(impls, ["o", "s", "^", "D", "v"] * 2))
    model = attention_model(results)
    fig = Figure(figsize=(WIDTH_IN, 3.9), layout="constrained")
    left, right = fig.subplots(1, 2)
    ends_l, ends_r = [], []
    for impl in impls:
        pts = sorted((t["n"], 1e3 * t["median_per_sequence_s"])
                     for t in att["timings"] if t["impl"] == impl)
        n, ms = np.array(pts).T
        kw = dict(color=colors[impl], linestyle=styles[impl], marker=markers[impl], ms=5, gid=impl)
        left.plot(n, ms, **kw)
        slope = att["slopes"].get(impl)
        ends_l.append((n[-1], ms[-1], impl if slope is None else f"{impl}, slope {slope:.2f}",
                       colors[impl]))
        per_op = sorted((r["n"], r["ps_per_flop"]) for r in model if r["impl"] == impl)
        if per_op:
            n2, ps = np.array(per_op).T
            right.plot(n2, ps, **kw)
            ends_r.append((n2[-1], ps[-1], impl, colors[impl]))
    for ax in (left, right):
        ax.set_xscale("log")
        ax.set_xlabel("sequence length n", fontsize=FONT)
        ax.grid(which="major", color=COLORS["padding"], linewidth=0.8)
        ax.tick_params(labelsize=FONT)
        ax.spines[["top", "right"]].set_visible(False)
        lo, hi = ax.get_xlim()
        ax.set_xlim(lo, hi * (20 if ax is left else 6))  # room for the names at the right
    left.set_yscale("log")
    left.set_ylabel("median ms per sequence", fontsize=FONT)
    left.set_title("time", fontsize=FONT)
    lo, hi = left.get_ylim()
    _end_labels(left, ends_l, True, 0.065 * np.log10(hi / lo))
    right.set_ylim(0, max([r["ps_per_flop"] for r in model] + [1.0]) * 1.15)
    right.set_ylabel("ps per counted FLOP", fontsize=FONT)
    right.set_title("time / FLOP count", fontsize=FONT)
    _end_labels(right, ends_r, False, 0.07 * right.get_ylim()[1])
    return fig
