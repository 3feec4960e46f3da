"""Chapter 3 figures: DownConv's segments, where they read, and what attention over them costs.

Colour language (:data:`strided_conv.figures.COLORS`): green cells are
correct outputs, red is input that is never read (the tail), grey is padding,
orange a wrong number of segments, blue input that is read after zeros were
appended. Every function returns a :class:`matplotlib.figure.Figure`; drawn
patches carry their role as ``gid`` so tests can count what a reader sees.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.colors import LinearSegmentedColormap, ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle

from .._validation import check_int
from ..attention import loglog_slope
from ..downconv import package_outcome
from ..original.downconv import OUTCOMES, original_sizes
from . import COLORS

__all__ = [
    "ORIGINAL_STYLE",
    "PACKAGE_STYLE",
    "outcome_grid",
    "plot_outcome_maps",
    "plot_receptive_fields",
    "plot_attention_map",
    "plot_attention_timing",
]

#: Outcome -> (colour, legend label) for the original module.
ORIGINAL_STYLE: dict[str, tuple[str, str]] = {
    "ok": (COLORS["output"], "exactly m, every item read"),
    "dropped tail": (COLORS["tail"], "m, but tail items never read"),
    "pure padding": (COLORS["padding"], "m, but a segment is only padding"),
    "wrong count": (COLORS["window"], "m + 1 segments (printed only)"),
    "error": (COLORS["edge"], "forward raises"),
}
#: Outcome -> (colour, legend label) for :class:`strided_conv.DownConv`.
PACKAGE_STYLE: dict[str, tuple[str, str]] = {
    "ok": (COLORS["output"], "exactly m, every item read"),
    "padded tail": (COLORS["input"], "exactly m, tail read after zero padding"),
    "refused": ("#FFFFFF", "refused: ValueError at construction"),
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


def _draw_grid(ax, grid: np.ndarray, style: dict[str, tuple[str, str]], seq_len: int) -> None:
    names = list(style)
    codes = np.vectorize(names.index)(grid)
    cmap = ListedColormap([style[n][0] for n in names])
    m_max, k1_max = grid.shape
    # Cell edges at k1 +- 0.5 so every k1 is one column, also on the log axis.
    mesh = ax.pcolormesh(np.arange(k1_max + 1) + 0.5, np.arange(m_max + 1) + 0.5, codes,
                         cmap=cmap, vmin=-0.5, vmax=len(names) - 0.5)
    mesh.set_gid(",".join(names))
    k1 = np.arange(1, min(k1_max, seq_len) + 1)
    ax.step(k1, np.minimum(seq_len // k1, m_max + 0.5), where="mid", color=COLORS["edge"],
            linewidth=0.8, label="m = seq_len // k1")
    ax.set_xscale("log")
    ax.set_xlim(0.75, k1_max + 0.5)
    ax.set_xlabel("k1 (log scale)")
    ax.set_ylabel("m_segments")


def plot_outcome_maps(seq_lens: Sequence[int] = (200, 150), m_max: int = 50,
                      k1_max: int = 200) -> Figure:
    """Original vs package outcome over ``(m, k1)``, one row per sequence length.

    The black staircase is ``m = seq_len // k1``, the first convolution's
    output length: no configuration above it can work.
    """
    fig = Figure(figsize=(10, 3.4 * len(seq_lens) + 0.9), layout="constrained")
    axes = fig.subplots(len(seq_lens), 2, squeeze=False, sharey=True)
    for row, seq_len in zip(axes, seq_lens):
        for ax, which, style in ((row[0], "original", ORIGINAL_STYLE),
                                 (row[1], "package", PACKAGE_STYLE)):
            grid = outcome_grid(seq_len, which, m_max, k1_max)
            _draw_grid(ax, grid, style, seq_len)
            ax.set_title(f"{'original DownConv' if which == 'original' else 'strided_conv.DownConv'}"
                         f", seq_len={seq_len}", fontsize=10)
    handles = [Patch(facecolor=c, edgecolor=COLORS["edge"], label=f"original: {lab}")
               for c, lab in ORIGINAL_STYLE.values()]
    handles += [Patch(facecolor=c, edgecolor=COLORS["edge"], label=f"package: {lab}")
                for c, lab in PACKAGE_STYLE.values()]
    fig.legend(handles=handles, loc="outside lower center", ncol=2, fontsize=8, frameon=False)
    return fig


def _bar(ax, x0: float, width: float, y: float, role: str, face: str, **kw) -> None:
    rect = Rectangle((x0, y - 0.4), width, 0.8, facecolor=face, edgecolor=COLORS["edge"],
                     linewidth=0.5, **kw)
    rect.set_gid(role)
    ax.add_patch(rect)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Half-open ``(start, stop)`` runs of True in a 1-D boolean array."""
    edges = np.diff(np.concatenate(([0], mask.astype(int), [0])))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)))


def plot_receptive_fields(panels: Sequence[tuple[str, np.ndarray]]) -> Figure:
    """Which input positions each segment reads, one panel per configuration.

    Parameters
    ----------
    panels : sequence of (title, depends)
        ``depends`` is a boolean ``(n_segments, seq_len)`` matrix, e.g. measured
        by :func:`strided_conv.input_dependence`. Each segment is a
        row of bars (green/orange alternate between neighbours); a segment that
        reads nothing is a grey hatched row ("padding only"); positions that no
        segment reads are red bars in the top row ("never read").
    """
    heights = [d.shape[0] + 1 for _, d in panels]
    fig = Figure(figsize=(9, 0.32 * sum(heights) + 1.0 * len(panels)), layout="constrained")
    axes = fig.subplots(len(panels), 1, squeeze=False, height_ratios=heights)[:, 0]
    for ax, (title, depends) in zip(axes, panels):
        n_seg, seq_len = depends.shape
        for j in range(n_seg):
            runs = _runs(depends[j])
            if not runs:
                _bar(ax, 0, seq_len, j, "padding only", COLORS["padding"], hatch="///")
                ax.text(seq_len / 2, j, "padding only", ha="center", va="center", fontsize=8)
            for a, b in runs:
                color = COLORS["output"] if j % 2 == 0 else COLORS["window"]
                _bar(ax, a, b - a, j, "segment", color)
                ax.text((a + b) / 2, j, f"{a}..{b - 1}", ha="center", va="center", fontsize=7)
        for a, b in _runs(~depends.any(axis=0)):
            _bar(ax, a, b - a, n_seg, "never read", COLORS["tail"])
            ax.text((a + b) / 2, n_seg, f"{a}..{b - 1}", ha="center", va="center", fontsize=7,
                    color="white")
        ax.set_xlim(0, seq_len)
        ax.set_ylim(n_seg + 0.6, -0.6)
        ax.set_yticks(range(n_seg + 1), [f"segment {j}" for j in range(n_seg)] + ["never read"],
                      fontsize=8)
        ax.set_title(title, fontsize=10)
    axes[-1].set_xlabel("input position (item index, oldest first)")
    return fig


def plot_attention_map(maps: Sequence[tuple[str, np.ndarray]]) -> Figure:
    """Heat maps of ``(n, m)`` attention matrices: query items down, segments across.

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
    fig = Figure(figsize=((2.4 + 0.5 * m) * len(arrays), 1.4 + 0.16 * n), layout="constrained")
    axes = fig.subplots(1, len(arrays), squeeze=False)[0]
    for ax, (title, _), w in zip(axes, maps, arrays):
        image = ax.imshow(w, cmap=cmap, vmin=0, vmax=w.max(), aspect="auto",
                          interpolation="nearest")
        ax.set_xticks(range(w.shape[1]), [f"seg {j}" for j in range(w.shape[1])], fontsize=8)
        ax.set_xlabel("key / value: segment")
        ax.set_ylabel("query: item")
        ax.set_title(title, fontsize=9)
        fig.colorbar(image, ax=ax, label="weight")
    return fig


def plot_attention_timing(timings: dict[str, list[float]]) -> Figure:
    """Forward time against ``n`` on log-log axes, with the fitted slopes in the legend.

    ``timings`` is the dict returned by :func:`strided_conv.time_attention`.
    """
    n = np.asarray(timings["n"], dtype=float)
    fig = Figure(figsize=(6, 4), layout="constrained")
    ax = fig.subplots()
    for name, color, label in (("full", COLORS["tail"], "full softmax attention (n x n)"),
                               ("segment", COLORS["output"], "DownConv + segment attention (n x m)")):
        t = np.asarray(timings[name], dtype=float)
        ax.loglog(n, t * 1e3, "o-", color=color,
                  label=f"{label}: slope {loglog_slope(n, t):.2f}")
    ax.set_xticks(n, [f"{v:,.0f}" for v in n], minor=False)
    ax.set_xticks([], minor=True)
    ax.set_xlabel("n (items)")
    ax.set_ylabel("forward time (ms)")
    ax.legend(fontsize=8)
    ax.grid(True, which="both", linewidth=0.3)
    return fig
