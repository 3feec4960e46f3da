"""Chapter 2 figures: what im2col copies, how col2im adds back, where gradients go.

Every function returns a :class:`matplotlib.figure.Figure` (nothing is shown or
saved), or for the animation a :class:`matplotlib.animation.FuncAnimation`, in
the book's colour language :data:`strided_conv.figures.COLORS`: input cells
blue, the cells under the current window orange, output cells bluish green,
input cells no window reads (the tail the floor in the output size drops)
vermillion. Counts of windows are shaded from white to the input blue.

All drawings use one axes in *cell units* (one unit = one grid cell, y growing
downwards), so that the cell size in inches, and hence the room for a 9 pt
label, is chosen once per figure. Chapter 2 of the book
(``book/numpy_convolution.ipynb``) shows every figure.
"""
from __future__ import annotations

import math
import re
import string

import numpy as np
from matplotlib.animation import FuncAnimation
from matplotlib.axes import Axes
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, Patch, Rectangle

from .._validation import check_int
from ..im2col import ConvGeometry, col2im, conv_geometry, im2col, window_coverage
from . import COLORS, COLUMN_WIDTH_IN, MIN_FONT_PT

__all__ = [
    "plot_im2col_rows",
    "plot_coverage",
    "plot_col2im_scatter_add",
    "plot_backward_routes",
    "animate_im2col",
    "im2col_animation_html",
]

_FONT = MIN_FONT_PT + 1  # cell labels: one point above the book's minimum
_SMALL = MIN_FONT_PT  # secondary labels
_TITLE = 11
# Drawing width. The book's limit is COLUMN_WIDTH_IN, but at a 1280 px window the
# theme shows images at most 660 px wide (the page's table of contents takes the
# rest), and the notebook stores figures with bbox_inches="tight", which adds 0.1 in
# on each side: 6.4 in of drawing is shown unscaled, so 9 pt stays 9 pt.
_MAX_IN = min(COLUMN_WIDTH_IN - 0.2, 6.4)
_COUNT_MAP = LinearSegmentedColormap.from_list("coverage", ["#FFFFFF", COLORS["input"]])
_WHITE_TEXT = ("input", "tail", "output", "error")


def _canvas(width: float, height: float, unit_in: float) -> tuple[Figure, Axes]:
    """A figure with one axes that maps one data unit to ``unit_in`` inches, y down."""
    fig = Figure(figsize=(width * unit_in, height * unit_in))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)
    ax.axis("off")
    return fig, ax


def _unit(width: float, preferred: float) -> float:
    """Inches per cell: ``preferred`` unless the drawing would exceed the column."""
    return min(preferred, _MAX_IN / width)


def _cell(
    ax: Axes, x: float, y: float, role: str, text: str = "", gid: str | None = None,
    face: str | tuple | None = None, fontsize: float = _FONT, text_color: str | None = None,
) -> Rectangle:
    """One unit cell with its top-left corner at (x, y); ``gid`` defaults to ``role``."""
    if face is None:
        face = COLORS.get(role, "white")
    rect = Rectangle((x, y), 1, 1, facecolor=face, edgecolor=COLORS["edge"], linewidth=0.6)
    rect.set_gid(gid or role)
    ax.add_patch(rect)
    if text:
        color = text_color or ("white" if role in _WHITE_TEXT else COLORS["edge"])
        ax.text(x + 0.5, y + 0.5, text, ha="center", va="center", fontsize=fontsize, color=color,
                gid=f"{gid or role}:text")
    return rect


def _count_face(count: int, top: int) -> tuple:
    """Shade of a coverage count: white (1 window) to the input blue (``top`` windows)."""
    return COLORS["tail"] if count == 0 else _COUNT_MAP(0.15 + 0.85 * count / max(top, 1))


def _count_text_color(count: int, top: int) -> str:
    return "white" if count == 0 or count / max(top, 1) > 0.5 else COLORS["edge"]


def _title(ax: Axes, x: float, y: float, text: str, size: float = _FONT, ha: str = "left") -> None:
    ax.text(x, y, text, ha=ha, va="bottom", fontsize=size, color=COLORS["edge"])


def _checked(size: int, kernel: int, stride: int) -> tuple[int, int, int]:
    size = check_int("size", size, 1)
    kernel = check_int("kernel", kernel, 1)
    stride = check_int("stride", stride, 1)
    if kernel > size:
        raise ValueError(
            f"kernel must be <= size (no padding here), got kernel={kernel}, size={size}"
        )
    return size, kernel, stride


def _window_cells(r: int, ow: int, kernel: int, stride: int) -> set[tuple[int, int]]:
    """Input cells ``(row, column)`` read by window ``r`` (row-major over the output)."""
    i, j = divmod(r, ow)
    return {(i * stride + u, j * stride + v) for u in range(kernel) for v in range(kernel)}


def _too_many_windows(fn: str, n_win: int, size: int, kernel: int, stride: int) -> ValueError:
    return ValueError(
        f"{fn} draws one grid per window and fits at most {_MAX_WINDOWS}, got {n_win} "
        f"windows for size={size}, kernel={kernel}, stride={stride}"
    )


_MAX_WINDOWS = 6


def _tiny_case(fn: str, size: int, kernel: int, stride: int
               ) -> tuple[int, int, int, ConvGeometry, np.ndarray, np.ndarray]:
    """The checked sizes, the geometry, the numbered input ``x`` and its ``col``: the
    set-up of the figures that draw one grid per window (at most ``_MAX_WINDOWS``)."""
    size, kernel, stride = _checked(size, kernel, stride)
    g = conv_geometry((1, 1, size, size), kernel, kernel, stride)
    if g.OH * g.OW > _MAX_WINDOWS:
        raise _too_many_windows(fn, g.OH * g.OW, size, kernel, stride)
    x = np.arange(size * size).reshape(1, 1, size, size)
    return size, kernel, stride, g, x, im2col(x, kernel, kernel, stride)


def plot_im2col_rows(size: int = 4, kernel: int = 3, stride: int = 1) -> Figure:
    """Each row of ``col`` and the input cells it copies.

    The input is one ``size x size`` channel holding ``0, 1, 2, ...`` (so
    every number names its cell), no padding. Top: one copy of the input per
    window ``r``, with the window in orange and the input cells no window
    reads in vermillion. Bottom: ``col = im2col(x)``, whose row ``r`` holds
    the orange numbers of window ``r`` read row by row.

    Parameters
    ----------
    size, kernel, stride : int
        Input side, kernel side (``<= size``), stride; at most 6 windows.

    Returns
    -------
    Figure
        Input cells have gid ``"win{r}:{role}"`` with role ``"window"``,
        ``"input"`` or ``"tail"``; the cells of row ``r`` of col ``"col{r}"``.

    Raises
    ------
    ValueError
        If the kernel is larger than the input or there are more than 6 windows.
    """
    size, kernel, stride, g, x, col = _tiny_case("plot_im2col_rows", size, kernel, stride)
    n_win, k2 = g.OH * g.OW, kernel * kernel
    read = window_coverage(size, size, kernel, kernel, stride) > 0

    gap, label_w, margin = 1.3, 3.0, 0.3
    width = 2 * margin + max(n_win * size + (n_win - 1) * gap, label_w + k2)
    unit = _unit(width, 0.4)
    y1 = 2.2
    y2 = y1 + size + 1.6
    height = y2 + n_win + (1.2 if not read.all() else 0.4)
    fig, ax = _canvas(width, height, unit)
    _title(ax, margin, 0.9, f"im2col: {size}x{size} input, {kernel}x{kernel} kernel, "
           f"stride {stride}", _TITLE)
    for r in range(n_win):
        x0 = margin + r * (size + gap)
        cells = _window_cells(r, g.OW, kernel, stride)
        for h in range(size):
            for w in range(size):
                role = "window" if (h, w) in cells else ("input" if read[h, w] else "tail")
                _cell(ax, x0 + w, y1 + h, role, str(x[0, 0, h, w]), gid=f"win{r}:{role}")
        _title(ax, x0 + size / 2, y1 - 0.2, f"window {r}", _FONT, ha="center")
    _title(ax, margin, y2 - 0.25, "col = im2col(x): row r holds window r", _TITLE)
    for r in range(n_win):
        ax.text(margin + label_w - 0.2, y2 + r + 0.5, f"row {r}", ha="right", va="center",
                fontsize=_FONT, color=COLORS["edge"])
        for e in range(k2):
            _cell(ax, margin + label_w + e, y2 + r, "window", str(col[r, e]), gid=f"col{r}")
    if not read.all():
        ax.text(margin, y2 + n_win + 0.35, "vermillion: input cells no window reads",
                ha="left", va="top", fontsize=_FONT, color=COLORS["tail"])
    return fig


def plot_coverage(
    size: int = 8, kernel: int = 3, strides: tuple[int, ...] = (1, 2), pad: int = 0
) -> Figure:
    """How many windows read each pixel: the factor ``col2im(im2col(x)) / x``.

    One panel per stride, on a ``size x size`` input. Cells are shaded by the
    count (darker = more windows) and labelled with it; cells no window reads
    (count 0, the tail the floor drops) are vermillion.

    Returns
    -------
    Figure
        One axes per stride, titled with the stride and the largest count.
    """
    size, kernel = check_int("size", size, 1), check_int("kernel", kernel, 1)
    pad = check_int("pad", pad, 0)
    strides = tuple(check_int("strides[]", s, 1) for s in strides)
    if not strides:
        raise ValueError("strides must name at least one stride, got ()")
    maps = [window_coverage(size, size, kernel, kernel, s, pad) for s in strides]
    top = max(int(m.max()) for m in maps)
    panel_in = min(3.4, (_MAX_IN - 0.2) / len(strides))
    fig = Figure(figsize=(panel_in * len(strides) + 0.2, panel_in + 0.9))
    axes = fig.subplots(1, len(strides), squeeze=False)[0]
    for ax, s, m in zip(axes, strides, maps):
        for h in range(size):
            for w in range(size):
                c = int(m[h, w])
                _cell(ax, w, h, "tail" if c == 0 else "covered", str(c), face=_count_face(c, top),
                      text_color=_count_text_color(c, top))
        ax.set_xlim(-0.1, size + 0.1)
        ax.set_ylim(size + 0.1, -0.1)
        ax.set_aspect("equal")
        ax.axis("off")
        ax.set_title(f"stride {s}: max {int(m.max())} windows", fontsize=_FONT)
    fig.suptitle(f"windows covering each pixel ({size}x{size} input, {kernel}x{kernel} kernel, "
                 f"pad {pad})", fontsize=_TITLE)
    if any((m == 0).any() for m in maps):
        fig.legend(handles=[Patch(facecolor=COLORS["tail"], edgecolor=COLORS["edge"],
                                  label="0: never read")],
                   loc="lower center", frameon=False, fontsize=_FONT)
    fig.subplots_adjust(left=0.02, right=0.98, top=1 - 0.6 / fig.get_figheight(),
                        bottom=0.35 / fig.get_figheight(), wspace=0.08)
    return fig


def plot_col2im_scatter_add(size: int = 4, kernel: int = 3, stride: int = 1) -> Figure:
    """col2im as a scatter-add: each row of ``col`` added back onto the pixels it came from.

    The input ``x`` is one ``size x size`` channel holding ``0, 1, 2, ...``
    and ``col = im2col(x)``. Three bands, top to bottom:

    1. ``col``, one row per window (orange: copies of input values);
    2. one input-sized grid per window ``r``: row ``r`` of ``col`` put back
       where window ``r`` read it (orange), nothing elsewhere; col2im adds
       these grids;
    3. the sum ``col2im(col)``, then ``x`` and the number of windows that
       added into each pixel: ``col2im(im2col(x)) = x * count``.

    Parameters
    ----------
    size, kernel, stride : int
        Input side, kernel side (``<= size``), stride; at most 6 windows
        (the grids of band 2 must fit the page).

    Returns
    -------
    Figure
        Patches carry gids ``"col"``, ``"add{r}"`` / ``"empty{r}"`` (band 2,
        window ``r``), ``"sum"``, ``"x"``, ``"count"`` (band 3); each cell's
        label has the gid of its cell plus ``":text"``.

    Raises
    ------
    ValueError
        If the kernel is larger than the input or there are more than 6 windows.
    """
    size, kernel, stride, g, x, col = _tiny_case("plot_col2im_scatter_add", size, kernel, stride)
    n_win, k2 = g.OH * g.OW, kernel * kernel
    total = col2im(col, x.shape, kernel, kernel, stride)[0, 0]
    count = window_coverage(size, size, kernel, kernel, stride)
    top = int(count.max())

    gap, label_w, margin = 1.3, 3.0, 0.3
    band2_w = n_win * size + (n_win - 1) * gap
    band3_w = 3 * size + 2 * gap
    width = 2 * margin + max(band2_w, band3_w, label_w + k2)
    unit = _unit(width, 0.4)
    y1 = 1.3  # band 1 top
    y2 = y1 + n_win + 2.4
    y3 = y2 + size + 2.4
    height = y3 + size + 0.4
    fig, ax = _canvas(width, height, unit)

    def operator(x: float, y: float, sign: str) -> None:
        ax.text(x, y, sign, ha="center", va="center", fontsize=_TITLE + 5, color=COLORS["edge"])

    _title(ax, margin, y1 - 0.25, "col = im2col(x): one row per window", _TITLE)
    for r in range(n_win):
        ax.text(margin + label_w - 0.2, y1 + r + 0.5, f"row {r}", ha="right", va="center",
                fontsize=_FONT, color=COLORS["edge"])
        for e in range(k2):
            _cell(ax, margin + label_w + e, y1 + r, "window", str(col[r, e]), gid="col")

    _title(ax, margin, y2 - 1.05, "col2im puts row r back where window r read it, and adds:",
           _TITLE)
    for r in range(n_win):
        x0 = margin + r * (size + gap)
        cells = _window_cells(r, g.OW, kernel, stride)
        taps = iter(col[r])
        for h in range(size):
            for w in range(size):
                if (h, w) in cells:
                    _cell(ax, x0 + w, y2 + h, "window", str(next(taps)), gid=f"add{r}")
                else:
                    _cell(ax, x0 + w, y2 + h, "blank", gid=f"empty{r}")
        _title(ax, x0 + size / 2, y2 - 0.2, f"row {r}", _FONT, ha="center")
        if r:
            operator(x0 - gap / 2, y2 + size / 2, "+")

    panels = [("sum", "col2im(col), the sum", total), ("x", "x", x[0, 0]),
              ("count", "windows reading it", count)]
    for b, (gid, label, grid) in enumerate(panels):
        x0 = margin + b * (size + gap)
        for h in range(size):
            for w in range(size):
                c = int(count[h, w])
                if gid == "x":
                    _cell(ax, x0 + w, y3 + h, "input", str(grid[h, w]), gid=gid)
                else:
                    _cell(ax, x0 + w, y3 + h, gid, str(grid[h, w]), gid=gid,
                          face=_count_face(c, top), text_color=_count_text_color(c, top))
        _title(ax, x0, y3 - 0.2, label, _FONT)
        if b:
            operator(x0 - gap / 2, y3 + size / 2, "=" if b == 1 else "\u00d7")
    return fig


def _letters(n: int) -> list[str]:
    if n > 26:
        raise ValueError(f"at most 26 output cells can be lettered, got {n}")
    return list(string.ascii_lowercase[:n])


def plot_backward_routes(size: int = 8, kernel: int = 3, stride: int = 2) -> Figure:
    """Backward pass of a strided layer: which output cells send gradient to which pixels.

    One channel, one filter, no padding. The output grid ``dout`` (bluish
    green) has its cells lettered ``a, b, c, ...`` in row-major order. Every
    input pixel lists the letters of the output cells whose window read it:
    exactly the entries of ``dout`` that ``dx = col2im(dout @ col_W.T)`` adds
    into it (:func:`plot_coverage`'s count is the number of letters). Pixels
    no window reads are vermillion and marked ``0``: their gradient is exactly
    zero, a sum with no terms. One route is drawn: the middle output cell and
    the window (orange outline) it sends its gradient to.

    Returns
    -------
    Figure
        Output cells have gid ``"dout"``; input cells ``"dx"`` (read) or
        ``"tail"``; the label of input cell ``(h, w)`` has gid ``"dx:h,w"``.

    Raises
    ------
    ValueError
        If the kernel is larger than the input or there are more than 26
        output cells.
    """
    size, kernel, stride = _checked(size, kernel, stride)
    g = conv_geometry((1, 1, size, size), kernel, kernel, stride)
    n_out = g.OH * g.OW
    names = _letters(n_out)
    readers: dict[tuple[int, int], list[str]] = {
        (h, w): [] for h in range(size) for w in range(size)
    }
    for r, name in enumerate(names):
        for cell in sorted(_window_cells(r, g.OW, kernel, stride)):
            readers[cell].append(name)
    top = max(len(v) for v in readers.values())
    per_line = math.ceil(math.sqrt(top))
    lines = math.ceil(top / per_line)
    # A cell must hold `lines` lines of 9 pt letters with some air.
    need_in = (lines * _SMALL * 1.25 + 5) / 72
    gap, margin = 2.2, 0.3
    width = 2 * margin + g.OW + gap + size
    unit = max(need_in, _unit(width, 0.42))
    if width * unit > _MAX_IN:
        raise ValueError(
            f"plot_backward_routes cannot fit {size}x{size} cells of up to {top} letters "
            f"in {_MAX_IN} in; use a smaller size or a larger stride"
        )
    top_y = 2.0
    tail = not all(readers.values())
    height = top_y + size + (1.4 if tail else 0.5)
    fig, ax = _canvas(width, height, unit)

    out_x0 = margin
    out_y0 = top_y + (size - g.OH) / 2
    _title(ax, out_x0, out_y0 - 0.25, "dout", _TITLE)
    for r, name in enumerate(names):
        i, j = divmod(r, g.OW)
        _cell(ax, out_x0 + j, out_y0 + i, "output", name, gid="dout")

    in_x0 = margin + g.OW + gap
    _title(ax, in_x0, top_y - 0.2, "dx: the dout entries\nadded into each pixel", _TITLE)
    for (h, w), who in readers.items():
        if who:
            text = "\n".join("".join(who[k:k + per_line]) for k in range(0, len(who), per_line))
            rect = _cell(ax, in_x0 + w, top_y + h, "dx", face=_count_face(len(who), top))
            color = _count_text_color(len(who), top)
        else:
            text, color = "0", "white"
            rect = _cell(ax, in_x0 + w, top_y + h, "tail")
        ax.text(rect.get_x() + 0.5, rect.get_y() + 0.5, text, ha="center", va="center",
                fontsize=_SMALL, color=color, linespacing=1.05, gid=f"dx:{h},{w}")

    if tail:
        ax.text(in_x0 + size, top_y + size + 0.25, "0: never read, gradient exactly zero",
                ha="right", va="top", fontsize=_FONT, color=COLORS["tail"])

    # One route: the middle output cell and the window it reads.
    r = n_out // 2
    i, j = divmod(r, g.OW)
    src = Rectangle((out_x0 + j, out_y0 + i), 1, 1, fill=False, edgecolor=COLORS["window"],
                    linewidth=3, gid="route")
    dst = Rectangle((in_x0 + j * stride, top_y + i * stride), kernel, kernel, fill=False,
                    edgecolor=COLORS["window"], linewidth=3, gid="route")
    ax.add_patch(src)
    ax.add_patch(dst)
    ax.add_patch(FancyArrowPatch((out_x0 + j + 1, out_y0 + i + 0.5),
                                 (in_x0 + j * stride, top_y + i * stride + kernel / 2),
                                 arrowstyle="-|>", mutation_scale=14, color=COLORS["window"],
                                 linewidth=2, connectionstyle="arc3,rad=-0.25"))
    ax.text(out_x0 + g.OW / 2, out_y0 + g.OH + 0.3,
            f"{g.OH}x{g.OW} output\n{size}x{size} input\n{kernel}x{kernel} kernel\nstride {stride}",
            ha="center", va="top", fontsize=_SMALL, color=COLORS["edge"])
    return fig


def animate_im2col(size: int = 4, kernel: int = 3, stride: int = 1) -> FuncAnimation:
    """im2col filling the col matrix row by row, one frame per window.

    Frame ``r`` shows the ``size x size`` input (values ``0, 1, ...``) with
    window ``r`` in orange, and ``col`` with rows ``0 .. r-1`` filled (blue:
    copies of input values), row ``r`` being filled (orange) and the rows
    still to come empty. Input cells no window reads are vermillion.

    Returns
    -------
    FuncAnimation
        ``O_H * O_W`` frames. Its attribute ``draw_frame(r)`` draws frame
        ``r`` on the figure (``anim._fig``); afterwards the input cells carry
        the gids ``"window"``, ``"input"`` or ``"tail"`` and the col cells
        ``"current"``, ``"copied"`` or ``"empty"``.
    """
    size, kernel, stride = _checked(size, kernel, stride)
    g = conv_geometry((1, 1, size, size), kernel, kernel, stride)
    n_win, k2 = g.OH * g.OW, kernel * kernel
    x = np.arange(size * size).reshape(1, 1, size, size)
    col = im2col(x, kernel, kernel, stride)
    read = window_coverage(size, size, kernel, kernel, stride) > 0

    margin, gap, label_w = 0.3, 1.2, 2.4
    width = 2 * margin + size + gap + label_w + k2
    unit = _unit(width, 0.4)
    top_y = 1.4
    height = top_y + max(size, n_win) + 0.4
    fig, ax = _canvas(width, height, unit)
    _title(ax, margin, top_y - 0.25, "input x", _TITLE)
    col_x0 = margin + size + gap + label_w
    _title(ax, col_x0, top_y - 0.25, "col = im2col(x)", _TITLE)
    heading = ax.text(width / 2, 0.15, "", ha="center", va="top", fontsize=_TITLE,
                      color=COLORS["edge"])

    in_cells, in_texts = {}, {}
    for h in range(size):
        for w in range(size):
            in_cells[h, w] = _cell(ax, margin + w, top_y + h, "input", str(x[0, 0, h, w]))
            in_texts[h, w] = ax.texts[-1]
    col_cells, col_texts = [], []
    for r in range(n_win):
        ax.text(col_x0 - 0.2, top_y + r + 0.5, f"row {r}", ha="right", va="center",
                fontsize=_FONT, color=COLORS["edge"])
        row_cells, row_texts = [], []
        for e in range(k2):
            row_cells.append(_cell(ax, col_x0 + e, top_y + r, "empty", str(col[r, e])))
            row_texts.append(ax.texts[-1])
        col_cells.append(row_cells)
        col_texts.append(row_texts)

    def draw_frame(r: int) -> list:
        cells = _window_cells(r, g.OW, kernel, stride)
        for (h, w), rect in in_cells.items():
            role = "window" if (h, w) in cells else ("input" if read[h, w] else "tail")
            rect.set_facecolor(COLORS[role])
            rect.set_gid(role)
            in_texts[h, w].set_color("white" if role in _WHITE_TEXT else COLORS["edge"])
        for q, (row_cells, row_texts) in enumerate(zip(col_cells, col_texts)):
            role = "current" if q == r else ("copied" if q < r else "empty")
            face = {"current": COLORS["window"], "copied": COLORS["input"], "empty": "white"}[role]
            for rect, text in zip(row_cells, row_texts):
                rect.set_facecolor(face)
                rect.set_gid(role)
                text.set_visible(role != "empty")
                text.set_color("white" if role == "copied" else COLORS["edge"])
        heading.set_text(f"window {r} is copied into row {r} of col")
        return list(in_cells.values()) + [c for row in col_cells for c in row] + [heading]

    draw_frame(0)
    anim = FuncAnimation(fig, draw_frame, frames=n_win, interval=1000, repeat=False, blit=False)
    anim.draw_frame = draw_frame
    return anim


def im2col_animation_html(size: int = 4, kernel: int = 3, stride: int = 1) -> str:
    """:func:`animate_im2col` as self-contained, reproducible HTML (frames embedded as PNG).

    Made by :func:`strided_conv.figures.windows.animation_html`, with the id
    ``im2col_<size>_<kernel>_<stride>``: two runs give the same text (the notebook
    test compares it), two animations on one page differ, and nothing is fetched.
    """
    from .windows import animation_html

    return animation_html(animate_im2col(size, kernel, stride), f"im2col_{size}_{kernel}_{stride}")
