"""Chapter 3 figures: DownConv's segments, where they read, and what attention over them costs.

Colour language (:data:`strided_conv.figures.COLORS`): blue is real input, grey
padding (hatched where it is the second convolution's or a segment's only
content), orange a kernel window, bluish green an output segment, vermillion
input that is never read (the tail), sky blue a tail read after zeros were
appended. The outcome maps use the chapter's outcome roles: ``output`` for
"exactly m", ``tail``, ``padding`` (hatched), ``wrong_count``, ``error`` and
``padded_tail``. Every function returns a :class:`matplotlib.figure.Figure`
drawn at most :data:`~strided_conv.figures.COLUMN_WIDTH_IN` inches wide with no
text below :data:`~strided_conv.figures.MIN_FONT_PT` points; drawn patches carry
their role as ``gid`` so tests can count what a reader sees.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.collections import PolyCollection
from matplotlib.colors import LinearSegmentedColormap, ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle
from matplotlib.textpath import TextPath

from .._validation import check_int
from ..attention import loglog_slope
from ..downconv import DownConvSizes, package_outcome
from ..original.downconv import OUTCOMES, original_sizes
from ..output_size import conv_output_size
from . import COLORS, COLUMN_WIDTH_IN

__all__ = [
    "ORIGINAL_STYLE",
    "PACKAGE_STYLE",
    "outcome_grid",
    "plot_outcome_maps",
    "plot_downconv_pipeline",
    "plot_receptive_fields",
    "plot_attention_map",
    "plot_attention_timing",
    "plot_time_against_m",
]

#: Font size of every text in this module's figures, in points.
FONT_PT = 9.5
#: Width of the full-width figures, inches. At a 1280 px window the page shows
#: images at most about 670 px wide (the page's own table of contents takes the
#: rest of the :data:`~strided_conv.figures.COLUMN_WIDTH_IN`), and the notebook
#: stores figures with ``bbox_inches="tight"``, which adds 0.1 in on each side:
#: drawn this wide, a figure is shown unscaled and 9.5 pt stays 9.5 pt.
WIDTH_IN = min(COLUMN_WIDTH_IN - 0.2, 6.4)
#: Hatch of cells that are zero padding.
PADDING_HATCH = "///"

#: Outcome -> (colour, legend label) for the original module.
ORIGINAL_STYLE: dict[str, tuple[str, str]] = {
    "ok": (COLORS["output"], "ok: m segments, all read"),
    "dropped tail": (COLORS["tail"], "m, tail never read"),
    "pure padding": (COLORS["padding"], "m, one only padding"),
    "wrong count": (COLORS["wrong_count"], "m + 1 (only printed)"),
    "error": (COLORS["error"], "forward raises"),
}
#: Outcome -> (colour, legend label) for :class:`strided_conv.DownConv`.
PACKAGE_STYLE: dict[str, tuple[str, str]] = {
    "ok": (COLORS["output"], "ok: m segments, all read"),
    "padded tail": (COLORS["padded_tail"], "m, tail read (zeros added)"),
    "refused": ("#FFFFFF", "refused: ValueError"),
}
assert set(ORIGINAL_STYLE) == set(OUTCOMES)


def outcome_grid(seq_len: int, which: str, m_max: int = 50, k1_max: int = 200) -> np.ndarray:
    """Outcome of every ``(m, k1)``, ``m`` in ``1..m_max`` (rows), ``k1`` in ``1..k1_max``.

    ``which="original"`` uses :func:`strided_conv.original.downconv.original_sizes`,
    ``which="package"`` uses :func:`strided_conv.package_outcome`.

    Returns
    -------
    numpy.ndarray of str, shape ``(m_max, k1_max)``
    """
    seq_len, m_max, k1_max = (check_int(n, v, 1) for n, v in
                              (("seq_len", seq_len), ("m_max", m_max), ("k1_max", k1_max)))
    if which == "original":
        cell = lambda m, k1: original_sizes(seq_len, m, k1).outcome  # noqa: E731
    elif which == "package":
        cell = lambda m, k1: package_outcome(seq_len, m, k1)  # noqa: E731
    else:
        raise ValueError(f"which must be 'original' or 'package', got {which!r}")
    return np.array([[cell(m, k1) for k1 in range(1, k1_max + 1)] for m in range(1, m_max + 1)])


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Half-open ``(start, stop)`` runs of True in a 1-D boolean array."""
    edges = np.diff(np.concatenate(([0], mask.astype(int), [0])))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)))


def _draw_grid(ax, grid: np.ndarray, style: dict[str, tuple[str, str]], seq_len: int) -> None:
    names = list(style)
    codes = np.vectorize(names.index)(grid)
    cmap = ListedColormap([style[n][0] for n in names])
    m_max, k1_max = grid.shape
    # Cell edges at k1 +- 0.5 so every k1 is one column, also on the log axis.
    mesh = ax.pcolormesh(np.arange(k1_max + 1) + 0.5, np.arange(m_max + 1) + 0.5, codes,
                         cmap=cmap, vmin=-0.5, vmax=len(names) - 0.5)
    mesh.set_gid(",".join(names))
    if "pure padding" in names:
        # Hatch the padding-only cells (one polygon per run of cells in a row), so
        # the light grey reads as padding and not as an empty cell.
        polys = [[(a + 0.5, m + 0.5), (b + 0.5, m + 0.5), (b + 0.5, m + 1.5), (a + 0.5, m + 1.5)]
                 for m in range(m_max) for a, b in _runs(grid[m] == "pure padding")]
        hatch = PolyCollection(polys, facecolor="none", edgecolor=COLORS["edge"],
                               linewidth=0, hatch=PADDING_HATCH)
        hatch.set_gid("pure padding hatch")
        ax.add_collection(hatch)
    k1 = np.arange(1, min(k1_max, seq_len) + 1)
    ax.step(k1, np.minimum(seq_len // k1, m_max + 0.5), where="mid", color=COLORS["edge"],
            linewidth=1.0)
    ax.set_xscale("log")
    ax.set_xlim(0.75, k1_max + 0.5)
    ax.set_ylim(0.5, m_max + 0.5)
    ticks = [t for t in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000) if t <= k1_max]
    ax.set_xticks(ticks, [str(t) for t in ticks])
    ax.set_xticks([], minor=True)
    ax.set_xlabel("$k_1$ (log scale)", fontsize=FONT_PT)
    ax.tick_params(labelsize=FONT_PT)


def plot_outcome_maps(seq_lens: Sequence[int] = (200, 150), m_max: int = 50,
                      k1_max: int = 200) -> Figure:
    """Original vs package outcome over ``(m, k1)``: original left, package right.

    One row of panels per sequence length ``n``; each column has its own
    legend under it; padding-only cells are hatched. The dark staircase is
    ``m = n // k1``, the first convolution's output length: no configuration
    above it can work.
    """
    fig = Figure(figsize=(WIDTH_IN, 2.3 * len(seq_lens) + 1.5), layout="constrained")
    left, right = fig.subfigures(1, 2, wspace=0.02)
    rows = max(len(ORIGINAL_STYLE), len(PACKAGE_STYLE))
    for sub, which, style, name in ((left, "original", ORIGINAL_STYLE, "original DownConv"),
                                    (right, "package", PACKAGE_STYLE, "strided_conv.DownConv")):
        axes = sub.subplots(len(seq_lens), 1, squeeze=False, sharex=True)[:, 0]
        for ax, seq_len in zip(axes, seq_lens):
            _draw_grid(ax, outcome_grid(seq_len, which, m_max, k1_max), style, seq_len)
            ax.set_ylabel("$m$", fontsize=FONT_PT)
            ax.set_title(f"{name}, $n = {seq_len}$", fontsize=FONT_PT)
            if ax is not axes[-1]:
                ax.set_xlabel("")
        handles = [Patch(facecolor=c, edgecolor=COLORS["edge"], label=lab,
                         hatch=PADDING_HATCH if key == "pure padding" else None)
                   for key, (c, lab) in style.items()]
        # Blank entries give both legends the same number of rows, so the panels of
        # both columns get the same height.
        handles += [Patch(visible=False, label=" ")] * (rows - len(handles))
        sub.legend(handles=handles, loc="outside lower center", ncol=1, fontsize=FONT_PT,
                   frameon=False, handlelength=1.5)
    return fig


def _box(ax, x0: float, x1: float, y: float, role: str, face: str, height: float = 0.7,
         **kw) -> Rectangle:
    kw.setdefault("edgecolor", COLORS["edge"])
    kw.setdefault("linewidth", 0.6)
    rect = Rectangle((x0, y - height / 2), x1 - x0, height, facecolor=face, **kw)
    rect.set_gid(role)
    ax.add_patch(rect)
    return rect


def _brace(ax, x0: float, x1: float, y: float, text: str, below: bool = False) -> None:
    """A dimension line from x0 to x1 at height y, labelled above (or below) it."""
    color = COLORS["edge"]
    ax.annotate("", (x0, y), (x1, y),
                arrowprops={"arrowstyle": "|-|", "color": color, "linewidth": 1.0,
                            "mutation_scale": 2.5, "shrinkA": 0, "shrinkB": 0})
    ax.text((x0 + x1) / 2, y - 0.05 if below else y + 0.04, text, ha="center",
            va="top" if below else "bottom", fontsize=FONT_PT, color=color)


def _conditions(s: DownConvSizes) -> list[tuple[str, str, bool]]:
    """Conditions (a)-(d) of the chapter's feasibility theorem, with numbers filled in."""
    m, k2, p2, mid = s.m_segments, s.k2, s.padding, s.mid_length
    return [
        ("(a)", f"exactly {m} windows: $m k_2 = {m * k2} \\leq L_1 + 2p_2 = {mid + 2 * p2} "
                f"< (m+1) k_2 = {(m + 1) * k2}$", m * k2 <= mid + 2 * p2 < (m + 1) * k2),
        ("(b)", f"window 0 reads a real position: $p_2 = {p2} \\leq k_2 - 1 = {k2 - 1}$",
         p2 <= k2 - 1),
        ("(c)", f"window {m - 1} reads a real position: $(m-1) k_2 = {(m - 1) * k2} "
                f"\\leq p_2 + L_1 - 1 = {p2 + mid - 1}$", (m - 1) * k2 <= p2 + mid - 1),
        ("(d)", f"every real position is read: $p_2 + L_1 = {p2 + mid} \\leq m k_2 = {m * k2}$",
         p2 + mid <= m * k2),
    ]


def plot_downconv_pipeline(configs: Sequence[tuple[str, DownConvSizes]]) -> Figure:
    """DownConv's two convolutions drawn to scale: n items -> L1 positions -> m segments.

    The x axis is the item index. Top row: the ``n`` items (blue; a tail
    read after appended zeros sky blue, a dropped tail vermillion, the zeros
    grey and hatched) with the first convolution's windows of ``k1`` items
    outlined in orange. Middle row: the first convolution's ``L1`` outputs, one
    cell under each window, plus ``p2`` cells of zero padding per side (grey,
    hatched), with the second convolution's windows of ``k2`` cells outlined in
    orange. Bottom row: the ``m`` segments (green), each under the window it
    reads. The letters (a)-(d) point at the cells where each condition of the
    chapter's feasibility theorem can be seen, and the lines under each panel
    check it with the configuration's numbers.

    Parameters
    ----------
    configs : sequence of (title, sizes)
        ``sizes`` from :func:`strided_conv.downconv_sizes` (any ``tail``).
    """
    if not configs:
        raise ValueError("configs must hold at least one (title, sizes) pair, got none")
    fig = Figure(figsize=(WIDTH_IN, 3.5 * len(configs)), layout="constrained")
    subs = np.atleast_1d(fig.subfigures(len(configs), 1, hspace=0.04))
    for sub, (title, s) in zip(subs, configs):
        if not isinstance(s, DownConvSizes):
            raise TypeError(f"sizes must be a DownConvSizes, got {type(s).__name__}")
        n, k1, k2, p2, mid, m = (s.seq_len, s.k1, s.k2, s.padding, s.mid_length,
                                 s.m_segments)
        assert conv_output_size(mid, k2, k2, p2) == m  # the picture shows the real sizes
        ax, text_ax = sub.subplots(2, 1, height_ratios=[2.5, 1.0])
        y_items, y_mid, y_seg, y_mark, h = 3.1, 1.9, 0.6, -0.3, 0.6
        # Top row: items, the tail, appended zeros, first-conv windows.
        tail_start = n - s.tail_items
        _box(ax, 0, tail_start, y_items, "input", COLORS["input"], height=h, linewidth=0)
        if s.tail_items:
            role, face = (("padded tail", COLORS["padded_tail"]) if s.tail_padding
                          else ("tail", COLORS["tail"]))
            _box(ax, tail_start, n, y_items, role, face, height=h, linewidth=0)
        if s.tail_padding:
            _box(ax, n, n + s.tail_padding, y_items, "padding", COLORS["padding"],
                 height=h, linewidth=0, hatch=PADDING_HATCH)
        if s.tail_items:
            what = "read" if s.tail_padding else "never read"
            zeros = f" + {s.tail_padding} zeros" if s.tail_padding else ""
            ax.text(n + s.tail_padding, y_items + h / 2 + 0.08,
                    f"tail: {s.tail_items} items, {what}{zeros}", ha="right", va="bottom",
                    fontsize=FONT_PT, color=COLORS["edge"])
        for i in range(mid):
            _box(ax, i * k1, (i + 1) * k1, y_items, "conv1 window", "none", height=h,
                 edgecolor=COLORS["window"], linewidth=1.2)
        # Middle row: L1 real cells, p2 padding cells per side, second-conv windows.
        for i in range(mid):
            _box(ax, i * k1, (i + 1) * k1, y_mid, "L1 cell", COLORS["input"], height=h)
        for i in list(range(-p2, 0)) + list(range(mid, mid + p2)):
            _box(ax, i * k1, (i + 1) * k1, y_mid, "padding", COLORS["padding"], height=h,
                 hatch=PADDING_HATCH)
        windows = [((j * k2 - p2) * k1, ((j + 1) * k2 - p2) * k1) for j in range(m)]
        for a, b in windows:
            _box(ax, a, b, y_mid, "conv2 window", "none", height=h + 0.12,
                 edgecolor=COLORS["window"], linewidth=2.2)
        # Bottom row: the segments.
        for j, (a, b) in enumerate(windows):
            _box(ax, a, b, y_seg, "segment", COLORS["output"], height=h, linewidth=1.5,
                 edgecolor="white")
            ax.text((a + b) / 2, y_seg, f"segment {j}" if b - a >= 24 else f"{j}",
                    ha="center", va="center", fontsize=FONT_PT, color="white")
        # Dimensions of the first window of each convolution, and the padding.
        _brace(ax, 0, k1, y_items + h / 2 + 0.12, f"$k_1 = {k1}$")
        _brace(ax, windows[0][0], windows[0][1], y_mid + h / 2 + 0.14, f"$k_2 = {k2}$")
        if p2:
            _brace(ax, -p2 * k1, 0, y_mid - h / 2 - 0.1, f"$p_2 = {p2}$", below=True)
        # Where each condition shows: (b) the first real cell, in window 0; (c) the
        # first real cell of the last window; (d) the last real cell, inside the
        # last window; (a) the end of the padded line, where no window m + 1 fits.
        cells = {"(b)": 0, "(c)": (m - 1) * k2 - p2, "(d)": mid - 1}
        for label, cell in cells.items():
            x = (cell + 0.5) * k1
            ax.annotate(label, (x, y_mid - h / 2), (x, y_mark), ha="center", va="center",
                        fontsize=FONT_PT, color=COLORS["edge"],
                        arrowprops={"arrowstyle": "->", "color": COLORS["edge"],
                                    "linewidth": 1.0, "shrinkA": 4, "shrinkB": 1})
        right = max((mid + p2) * k1, n + s.tail_padding)
        left = -p2 * k1
        ax.text((mid + p2) * k1 + 0.012 * (right - left), y_mid, "(a)", ha="left",
                va="center", fontsize=FONT_PT, color=COLORS["edge"])
        ax.set_xlim(left - 0.01 * (right - left), right + 0.06 * (right - left))
        ax.set_ylim(y_mark - 0.3, y_items + h / 2 + 0.55)
        ax.set_yticks([y_items, y_mid, y_seg],
                      [f"items, $n = {n}$", f"conv1 output,\n$L_1 = {mid}$",
                       f"segments, $m = {m}$"], fontsize=FONT_PT)
        ax.tick_params(axis="x", labelsize=FONT_PT)
        ax.tick_params(axis="y", length=0)
        ax.set_xlabel("item index (oldest first)", fontsize=FONT_PT)
        for side in ("top", "right", "left"):
            ax.spines[side].set_visible(False)
        ax.set_title(title, fontsize=FONT_PT + 0.5, loc="left")
        text_ax.axis("off")
        for row, (label, text, ok) in enumerate(_conditions(s)):
            text_ax.text(0.0, 1 - row * 0.26, f"{label} {text}: {'yes' if ok else 'NO'}",
                         ha="left", va="top", fontsize=FONT_PT, transform=text_ax.transAxes)
    return fig


def plot_receptive_fields(panels: Sequence[tuple[str, np.ndarray]]) -> Figure:
    """Which input positions each segment reads, one panel per configuration.

    Parameters
    ----------
    panels : sequence of (title, depends)
        ``depends`` is a boolean ``(n_segments, seq_len)`` matrix, e.g. measured
        by :func:`strided_conv.input_dependence`. Each segment is a row with
        orange bars over the positions it reads (a kernel window's cells), with
        the first and last position written in (beside a narrow bar); a
        segment that reads nothing is a grey hatched row ("padding only");
        positions that no segment reads are vermillion bars in the bottom row
        ("never read").
    """
    heights = [d.shape[0] + 1 for _, d in panels]
    fig = Figure(figsize=(WIDTH_IN, 0.3 * sum(heights) + 0.75 * len(panels) + 0.4),
                 layout="constrained")
    axes = fig.subplots(len(panels), 1, squeeze=False, height_ratios=heights)[:, 0]
    for ax, (title, depends) in zip(axes, panels):
        n_seg, seq_len = depends.shape
        width_in = WIDTH_IN - 1.3  # the plotting area, about

        def fits(a: int, b: int, text: str) -> bool:
            text_in = TextPath((0, 0), text, size=FONT_PT).get_extents().width / 72
            return (b - a) / seq_len * width_in > text_in + 0.03

        def bar(a: int, b: int, row: int, role: str, face: str, text_color: str) -> None:
            _box(ax, a, b, row, role, face, height=0.8)
            text = f"{a}..{b - 1}"
            if fits(a, b, text):
                ax.text((a + b) / 2, row, text, ha="center", va="center", fontsize=FONT_PT,
                        color=text_color)
            else:  # beside the bar, on the side with more room (nothing else is in its row)
                left = (a + b) / 2 > seq_len / 2
                ax.text(a - 0.01 * seq_len if left else b + 0.01 * seq_len, row, text,
                        ha="right" if left else "left", va="center", fontsize=FONT_PT,
                        color=COLORS["edge"])

        for j in range(n_seg):
            runs = _runs(depends[j])
            if not runs:
                _box(ax, 0, seq_len, j, "padding only", COLORS["padding"], height=0.8,
                     hatch=PADDING_HATCH)
                ax.text(seq_len / 2, j, "padding only", ha="center", va="center",
                        fontsize=FONT_PT, bbox={"fc": "white", "ec": "none", "pad": 1})
            for a, b in runs:
                bar(a, b, j, "segment", COLORS["window"], "black")
        for a, b in _runs(~depends.any(axis=0)):
            bar(a, b, n_seg, "never read", COLORS["tail"], "white")
        ax.set_xlim(0, seq_len)
        ax.set_ylim(n_seg + 0.6, -0.6)
        ax.set_yticks(range(n_seg + 1), [f"segment {j}" for j in range(n_seg)] + ["never read"],
                      fontsize=FONT_PT)
        ax.tick_params(axis="x", labelsize=FONT_PT)
        ax.set_title(title, fontsize=FONT_PT + 0.5, loc="left")
    axes[-1].set_xlabel("input position (item index, oldest first)", fontsize=FONT_PT)
    return fig


def plot_attention_map(maps: Sequence[tuple[str, np.ndarray]]) -> Figure:
    """Heat maps of ``(n, m)`` attention matrices with their row and column sums.

    Query items run down, segments across. Beside each map a bar per row shows
    that row's sum, under it a bar per column shows that column's sum, each
    against a dashed line at 1: the axis the softmax normalised is the one
    whose bars all end on the line.

    Parameters
    ----------
    maps : sequence of (title, weights)
        One panel per ``weights`` array of shape ``(n, m)``; the colour scale
        runs from 0 to the panel's largest weight.
    """
    arrays = [np.asarray(w, dtype=float) for _, w in maps]
    for w in arrays:
        if w.ndim != 2:
            raise ValueError(f"weights must be 2-D (n, m), got shape {w.shape}")
    cmap = LinearSegmentedColormap.from_list("attention", ["#FFFFFF", COLORS["output"]])
    n, m = arrays[0].shape
    fig = Figure(figsize=(WIDTH_IN, 1.9 + 0.13 * n), layout="constrained")
    subs = np.atleast_1d(fig.subfigures(1, len(arrays), wspace=0.03))
    for sub, (title, _), w in zip(subs, maps, arrays):
        grid = sub.add_gridspec(2, 3, width_ratios=[m, 1.6, 0.25],
                                height_ratios=[w.shape[0], 4.5])
        ax = sub.add_subplot(grid[0, 0])
        rows_ax = sub.add_subplot(grid[0, 1], sharey=ax)
        cols_ax = sub.add_subplot(grid[1, 0], sharex=ax)
        bar_ax = sub.add_subplot(grid[0, 2])
        image = ax.imshow(w, cmap=cmap, vmin=0, vmax=w.max(), aspect="auto",
                          interpolation="nearest")
        ax.set_ylabel("query: item", fontsize=FONT_PT)
        ax.tick_params(labelsize=FONT_PT, labelbottom=False)
        row_sums, col_sums = w.sum(axis=1), w.sum(axis=0)
        rows_ax.barh(range(w.shape[0]), row_sums, height=0.7, color=COLORS["input"],
                     gid="row sums")
        cols_ax.bar(range(w.shape[1]), col_sums, width=0.7, color=COLORS["input"],
                    gid="column sums")
        # The line at 1 on top of the bars: where every bar ends on it, that axis
        # is the one the softmax normalised.
        rows_ax.axvline(1.0, color=COLORS["edge"], linestyle="--", linewidth=1.2, zorder=3)
        cols_ax.axhline(1.0, color=COLORS["edge"], linestyle="--", linewidth=1.2, zorder=3)
        rows_ax.set_xlim(0, 1.15 * max(1.0, row_sums.max()))
        cols_ax.set_ylim(0, 1.15 * max(1.0, col_sums.max()))
        rows_ax.set_xlabel("row sum", fontsize=FONT_PT)
        cols_ax.set_ylabel("column\nsum", fontsize=FONT_PT)
        rows_ax.tick_params(labelleft=False, labelsize=FONT_PT)
        cols_ax.set_xticks(range(w.shape[1]), [f"{j}" for j in range(w.shape[1])])
        cols_ax.set_xlabel("key / value: segment", fontsize=FONT_PT)
        cols_ax.tick_params(labelsize=FONT_PT)
        cb = sub.colorbar(image, cax=bar_ax)
        cb.set_label("weight", fontsize=FONT_PT)
        cb.ax.tick_params(labelsize=FONT_PT)
        sub.suptitle(title, fontsize=FONT_PT + 0.5)
    return fig


def _as_series(timings: Mapping | Sequence[Mapping]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{"full": (n, t), "segment": (n, t)}`` from one or several :func:`time_attention` dicts."""
    parts = [timings] if isinstance(timings, Mapping) else list(timings)
    series = {}
    for part in parts:
        for name in ("full", "segment"):
            if name in part:
                series[name] = (np.asarray(part["n"], float), np.asarray(part[name], float))
    if not series:
        keys = sorted({key for part in parts for key in part})
        raise ValueError(f"timings must hold 'full' or 'segment' times, got keys {keys}")
    return series


_LAYERS = {"full": (COLORS["tail"], "full attention"),
           "segment": (COLORS["output"], "DownConv + segment attention")}


def plot_attention_timing(timings: Mapping | Sequence[Mapping],
                          flops: Mapping[str, Sequence[float]] | None = None,
                          min_n: int | Mapping[str, int] = 0) -> Figure:
    """Forward time against ``n`` on log-log axes, with the fitted slopes in the legend.

    Parameters
    ----------
    timings : dict or sequence of dicts
        As returned by :func:`strided_conv.time_attention`; several dicts may
        time the two layers over different ``n``.
    flops : dict, optional
        ``{"full": [...], "segment": [...]}``, the cost model's FLOPs at the
        same ``n`` as the times. Drawn as a dashed line through the fitted
        points' geometric mean (FLOPs divided by one rate per layer): its
        shape, not its height, is what the model predicts.
    min_n : int or dict, default 0
        Slopes are fitted (and the model line placed) over ``n >= min_n`` only,
        per layer if a dict; points below it are drawn hollow.
    """
    series = _as_series(timings)
    fig = Figure(figsize=(WIDTH_IN * 0.85, 3.6), layout="constrained")
    ax = fig.subplots()
    ticks = set()
    for name, (n, t) in series.items():
        color, label = _LAYERS[name]
        lo = min_n.get(name, 0) if isinstance(min_n, Mapping) else min_n
        fit = n >= lo
        if fit.sum() < 2:
            raise ValueError(f"min_n={lo} leaves {int(fit.sum())} {name!r} times; "
                             "a slope needs at least 2")
        ax.loglog(n[fit], t[fit] * 1e3, "o", color=color, markersize=6,
                  label=f"{label}: slope {loglog_slope(n[fit], t[fit]):.2f}")
        if (~fit).any():
            ax.loglog(n[~fit], t[~fit] * 1e3, "o", color=color, markersize=6,
                      markerfacecolor="white")
        ticks.update(n.tolist())
        if flops is not None and name in flops:
            f = np.asarray(flops[name], float)
            if f.shape != n.shape:
                raise ValueError(f"flops[{name!r}] must have one value per n ({n.size}), "
                                 f"got {f.size}")
            scale = np.exp(np.mean(np.log(t[fit])) - np.mean(np.log(f[fit])))
            ax.loglog(n, f * scale * 1e3, "--", color=color, linewidth=1.2,
                      label=f"cost model: slope {loglog_slope(n[fit], f[fit]):.2f}")
    ticks = sorted(ticks)
    ax.set_xticks(ticks, [f"{v / 1000:g}k" if v >= 1000 else f"{v:g}" for v in ticks],
                  minor=False)
    ax.set_xticks([], minor=True)
    ax.set_xlabel("n (items)", fontsize=FONT_PT)
    ax.set_ylabel("forward time (ms)", fontsize=FONT_PT)
    ax.tick_params(labelsize=FONT_PT)
    ax.legend(fontsize=FONT_PT, loc="upper left", frameon=False)
    ax.grid(True, which="major", linewidth=0.3)
    return fig


def plot_time_against_m(m_values: Sequence[int], times: Sequence[float],
                        predictions: Mapping[str, Sequence[float]], n: int) -> Figure:
    """Segment attention's time at one ``n`` for several ``m``, relative to the first ``m``.

    Measured ratios are dots; each cost model in ``predictions`` (label -> FLOPs
    at each ``m``) is a line of its own ratios, so a reader sees which model the
    measurement follows.
    """
    m = np.asarray(m_values, float)
    t = np.asarray(times, float)
    if m.shape != t.shape or m.size < 2:
        raise ValueError(f"m_values and times must have the same length >= 2, got {m.size} "
                         f"and {t.size}")
    fig = Figure(figsize=(WIDTH_IN * 0.75, 3.2), layout="constrained")
    ax = fig.subplots()
    styles = ["--", ":", "-."]
    for (label, f), style in zip(predictions.items(), styles):
        f = np.asarray(f, float)
        ax.plot(m, f / f[0], style, color=COLORS["edge"], linewidth=1.5, label=label)
    ax.plot(m, t / t[0], "o", color=COLORS["output"], markersize=8,
            label=f"measured, n = {n:,}")
    ax.set_xscale("log", base=2)
    ax.set_xticks(m, [f"{v:g}" for v in m])
    ax.set_xticks([], minor=True)
    ax.set_xlabel("m (segments)", fontsize=FONT_PT)
    ax.set_ylabel(f"time / time at m = {m[0]:g}", fontsize=FONT_PT)
    ax.set_ylim(0, None)
    ax.tick_params(labelsize=FONT_PT)
    ax.legend(fontsize=FONT_PT, loc="upper left", frameon=False)
    ax.grid(True, linewidth=0.3)
    return fig
