"""Chapter 2 figures: what im2col copies, and how often col2im adds back.

Every function returns a :class:`matplotlib.figure.Figure` (nothing is shown or
saved) in the book's colour language :data:`strided_conv.figures.COLORS`:
input cells blue, the cells under the current window orange, input cells no
window reads (the tail dropped by the floor) red.
"""
from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle

from .._validation import check_int
from ..im2col import conv_geometry, im2col, window_coverage
from . import COLORS

__all__ = ["plot_im2col_rows", "plot_coverage"]


def _cell(ax: Axes, x: float, y: float, role: str, text: str) -> None:
    """One unit cell, top-left corner at (x, y), y growing downwards; gid = role."""
    rect = Rectangle((x, y), 1, 1, facecolor=COLORS[role], edgecolor=COLORS["edge"], linewidth=0.6)
    rect.set_gid(role)
    ax.add_patch(rect)
    ax.text(x + 0.5, y + 0.5, text, ha="center", va="center", fontsize=8,
            color="white" if role in ("input", "tail") else COLORS["edge"])


def _grid_axes(ax: Axes, width: float, height: float) -> None:
    ax.set_xlim(-0.1, width + 0.1)
    ax.set_ylim(height + 0.1, -0.1)
    ax.set_aspect("equal")
    ax.axis("off")


def plot_im2col_rows(size: int = 4, kernel: int = 3, stride: int = 1) -> Figure:
    """Each row of ``col`` next to the input cells it copies.

    The input is one ``size x size`` channel holding ``0, 1, 2, ...`` (so
    every number names its cell), no padding. Figure row ``r`` shows the
    input with window ``r`` in orange, and row ``r`` of ``im2col(x)``: the
    same numbers, read row by row. Input cells no window reads are red.

    Returns
    -------
    Figure
        Two axes per window: ``"input, window r"`` and ``"col[r]"``.
    """
    size, kernel, stride = check_int("size", size, 1), check_int("kernel", kernel, 1), check_int("stride", stride, 1)
    g = conv_geometry((1, 1, size, size), kernel, kernel, stride)
    x = np.arange(size * size).reshape(1, 1, size, size)
    col = im2col(x, kernel, kernel, stride)
    read = window_coverage(size, size, kernel, kernel, stride) > 0
    n_win, k2 = g.OH * g.OW, kernel * kernel
    fig = Figure(figsize=(0.32 * (size + k2) + 1.6, 0.34 * size * n_win + 0.7))
    axes = fig.subplots(n_win, 2, squeeze=False, gridspec_kw={"width_ratios": [size, k2]})
    for r, (ax_in, ax_col) in enumerate(axes):
        i, j = divmod(r, g.OW)
        top, left = i * stride, j * stride
        for h in range(size):
            for w in range(size):
                inside = top <= h < top + kernel and left <= w < left + kernel
                role = "window" if inside else ("input" if read[h, w] else "tail")
                _cell(ax_in, w, h, role, str(x[0, 0, h, w]))
        for k in range(k2):
            _cell(ax_col, k, (size - 1) / 2, "window", str(col[r, k]))
        _grid_axes(ax_in, size, size)
        _grid_axes(ax_col, k2, size)
        ax_in.set_title(f"input, window {r}", fontsize=8)
        ax_col.set_title(f"col[{r}]", fontsize=8)
    fig.suptitle(f"im2col: {size}x{size} input, {kernel}x{kernel} kernel, stride {stride}", fontsize=10)
    roles = [("input", "input"), ("window", "copied into this row")]
    if not read.all():
        roles.append(("tail", "never read"))
    handles = [Patch(facecolor=COLORS[r], edgecolor=COLORS["edge"], label=lab) for r, lab in roles]
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), frameon=False, fontsize=8)
    fig.subplots_adjust(left=0.02, right=0.98, top=1 - 0.55 / fig.get_figheight(),
                        bottom=0.4 / fig.get_figheight(), hspace=0.35, wspace=0.08)
    return fig


def plot_coverage(size: int = 8, kernel: int = 3, strides: tuple[int, ...] = (1, 2), pad: int = 0) -> Figure:
    """How many windows read each pixel: the factor ``col2im(im2col(x)) / x``.

    One panel per stride, on a ``size x size`` input. Cells are shaded by the
    count (darker = more windows) and labelled with it; cells no window reads
    (count 0, the tail the floor drops) are red.

    Returns
    -------
    Figure
        One axes per stride, titled with the stride and the largest count.
    """
    size, kernel, pad = check_int("size", size, 1), check_int("kernel", kernel, 1), check_int("pad", pad, 0)
    maps = [window_coverage(size, size, kernel, kernel, s, pad) for s in strides]
    top = max(int(m.max()) for m in maps)
    cmap = LinearSegmentedColormap.from_list("coverage", ["#FFFFFF", COLORS["input"]])
    fig = Figure(figsize=(3.0 * len(strides) + 0.4, 3.5))
    axes = fig.subplots(1, len(strides), squeeze=False)[0]
    for ax, s, m in zip(axes, strides, maps):
        for h in range(size):
            for w in range(size):
                c = int(m[h, w])
                face = COLORS["tail"] if c == 0 else cmap(0.15 + 0.85 * c / top)
                rect = Rectangle((w, h), 1, 1, facecolor=face, edgecolor=COLORS["edge"], linewidth=0.6)
                rect.set_gid("tail" if c == 0 else "covered")
                ax.add_patch(rect)
                dark = c == 0 or c / top > 0.5
                ax.text(w + 0.5, h + 0.5, str(c), ha="center", va="center", fontsize=8,
                        color="white" if dark else COLORS["edge"])
        _grid_axes(ax, size, size)
        ax.set_title(f"stride {s}: max {int(m.max())} windows", fontsize=9)
    fig.suptitle(f"windows covering each pixel ({size}x{size} input, {kernel}x{kernel} kernel, pad {pad})",
                 fontsize=10)
    fig.legend(handles=[Patch(facecolor=COLORS["tail"], edgecolor=COLORS["edge"], label="0: never read")],
               loc="lower center", frameon=False, fontsize=8)
    fig.subplots_adjust(left=0.02, right=0.98, top=0.84, bottom=0.08, wspace=0.08)
    return fig
