r"""Chapter 1 figures and animations: where the windows of a strided convolution land.

Explained in :ref:`ch-output-size`. Every function returns a
:class:`matplotlib.figure.Figure` or a
:class:`matplotlib.animation.FuncAnimation` (nothing is shown or saved), drawn
at the size the page shows it (at most
:data:`strided_conv.figures.COLUMN_WIDTH_IN` inches wide, no text below
:data:`strided_conv.figures.MIN_FONT_PT` points) in the book's colour language
:data:`strided_conv.figures.COLORS`: real input, padding zeros, the taps of a
window, output cells, and the *tail* -- trailing cells no window reaches
because of the floor in

.. math:: o = \left\lfloor \frac{i + 2p - d(k-1) - 1}{s} \right\rfloor + 1 .

Positions ``u`` are numbered on the **unpadded** line, as in the book: the
input is ``u = 0 .. i-1``, the padding zeros are ``u = -p .. -1`` and
``u = i .. i+p-1``. Window ``j`` starts at ``a_j = j s - p`` and its tap ``t``
(``t = 0 .. k-1``) reads ``u = a_j + t d`` (:func:`window_taps`).

A tail cell that is padding is drawn as padding with a vermillion hatch:
nothing of the input is lost there. A tail cell that is real input is
vermillion: the layer never reads it.

Every drawn cell is a :class:`matplotlib.patches.Rectangle` whose ``gid`` is
its role, so tests (and curious readers) can count what the figure shows. In
the animations the ``gid`` also carries the cell's position:
``"window@3"`` (1-D) or ``"window@1,2"`` (2-D, row and column).
"""
from __future__ import annotations

import re
from collections.abc import Sequence

import matplotlib as mpl
from matplotlib.animation import FuncAnimation
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle

from .._validation import check_int, check_pair
from ..output_size import (
    conv_output_size,
    transposed_conv_output_size,
    transposed_output_padding,
    unvisited_tail,
    window_starts,
)
from . import COLORS, COLUMN_WIDTH_IN, DPI, MIN_FONT_PT, OKABE_ITO

__all__ = [
    "window_taps",
    "cell_roles",
    "plot_windows_1d",
    "plot_window_taps",
    "plot_windows_2d",
    "plot_staircase",
    "plot_transposed_lengths",
    "animate_windows_1d",
    "animate_windows_2d",
    "animation_html",
]

_FONT = MIN_FONT_PT  # every label: the smallest size the book allows, no smaller
_TITLE = 10.0
_MAX_WIDTH_IN = COLUMN_WIDTH_IN - 0.2  # a little air inside the column
_WHITE_TEXT = ("input", "tail", "output", "current")
_GAP = 1.0  # blank cells between small multiples


# --------------------------------------------------------------------------- arithmetic


def window_taps(
    input_size: int, kernel_size: int, stride: int = 1, padding: int = 0, dilation: int = 1
) -> list[list[int]]:
    """Input positions each window reads: ``taps[j][t] = a_j + t d`` with ``a_j = j s - p``.

    Positions are numbered on the unpadded line (padding at ``-p .. -1`` and
    ``i .. i+p-1``), as :func:`strided_conv.window_starts` numbers the starts.

    Returns
    -------
    list of list of int, shape ``(o, k)``
        Row ``j`` holds the ``k`` positions window ``j`` reads, in tap order.
    """
    d = check_int("dilation", dilation, 1)
    starts = window_starts(input_size, kernel_size, stride, padding, dilation)
    return [[a + t * d for t in range(int(kernel_size))] for a in starts]


def cell_roles(
    input_size: int, kernel_size: int, stride: int = 1, padding: int = 0, dilation: int = 1
) -> list[str]:
    """Role of every cell of the padded line, left to right (``u = -p .. i+p-1``).

    Returns
    -------
    list of str, length ``i + 2p``
        Each entry is ``"input"``, ``"padding"``, ``"tail"`` (real input no window
        reaches) or ``"tail_padding"`` (a padding zero no window reaches).
    """
    tail = unvisited_tail(input_size, kernel_size, stride, padding, dilation)
    i, p = int(input_size), int(padding)
    n = i + 2 * p
    roles = ["padding" if x < p or x >= p + i else "input" for x in range(n)]
    for x in range(n - tail, n):
        roles[x] = "tail" if roles[x] == "input" else "tail_padding"
    return roles


# ------------------------------------------------------------------------------ drawing


def _face(role: str) -> str:
    return {
        "tail_padding": COLORS["padding"],
        "unread": COLORS["tail"],
        "current": COLORS["output"],
        "blank": "white",
        "pending": "white",
        "output_padding": "white",
    }.get(role, COLORS.get(role, "white"))


def _cell(
    ax: Axes,
    x: float,
    y: float,
    role: str,
    text: str | None = None,
    size: float = 1.0,
    gid: str | None = None,
) -> Rectangle:
    """Draw one square cell with its top-left corner at (x, y); y grows downwards."""
    rect = Rectangle((x, y), size, size, facecolor=_face(role), edgecolor=COLORS["edge"],
                     linewidth=0.6)
    _style(rect, role)
    rect.set_gid(gid or role)  # lets tests and readers count cells by role
    # add_artist, not add_patch: the limits are set by hand, and updating the data
    # limits for every one of hundreds of cells is most of the drawing time.
    ax.add_artist(rect)
    if text is not None:
        ax.text(x + size / 2, y + size / 2, text, ha="center", va="center", fontsize=_FONT,
                color="white" if role in _WHITE_TEXT else COLORS["edge"])
    return rect


def _style(rect: Rectangle, role: str) -> None:
    """Hatches and edges that carry meaning beyond the face colour."""
    rect.set_facecolor(_face(role))
    rect.set_hatch(None)
    rect.set_edgecolor(COLORS["edge"])
    rect.set_linewidth(0.6)
    if role == "tail_padding":
        rect.set_hatch("///")
        rect.set_edgecolor(COLORS["tail"])
    elif role == "output_padding":
        rect.set_hatch("///")
        rect.set_edgecolor(COLORS["input"])
    elif role == "current":
        rect.set_edgecolor(COLORS["window"])
        rect.set_linewidth(3.0)
    elif role == "blank":
        rect.set_edgecolor("#BBBBBB")


_KEY = {
    "input": "input",
    "padding": "padding",
    "window": "window tap",
    "output": "output",
    "tail": "input never read",
    "unread": "input never read",
    "tail_padding": "padding, never read",
    "output_padding": "added by output_padding",
}


def _key_rows(roles: Sequence[str], width_in: float) -> tuple[int, int]:
    """Columns and rows of a colour key with ``roles`` that fits ``width_in`` inches.

    Estimated from DejaVu Sans at :data:`_FONT` points (about 0.55 em per
    character); the tests check that every drawn key lies inside its figure.
    """
    em = _FONT / 72
    widths = [(1.4 + 0.8 + 1.2) * em + 0.58 * em * len(_KEY[r]) for r in roles]
    for ncol in range(len(roles), 0, -1):
        # matplotlib sizes every column of a legend to its widest entry
        cols = [max(widths[c::ncol]) for c in range(ncol)]
        if sum(cols) <= width_in - 0.2:
            return ncol, -(-len(roles) // ncol)
    return 1, len(roles)


def _legend(fig: Figure, roles: Sequence[str], bottom_in: float = 0.04) -> None:
    """A colour key, centred below the panels (the figure leaves room for it)."""
    handles = []
    for role in roles:
        patch = Patch(label=_KEY[role])
        _style(patch, role)  # Patch shares Rectangle's style setters
        handles.append(patch)
    ncol, _ = _key_rows(roles, fig.get_figwidth())
    fig.legend(handles=handles, loc="lower center", ncol=ncol, frameon=False,
               fontsize=_FONT, handlelength=1.4, handletextpad=0.8, columnspacing=1.2,
               borderaxespad=0, borderpad=0,
               bbox_to_anchor=(0.5, bottom_in / fig.get_figheight()))


def _key_height(roles: Sequence[str], width_in: float) -> float:
    """Inches to leave below the panels for :func:`_legend`."""
    return 0.12 + 0.21 * _key_rows(roles, width_in)[1]


def _panel_axes(fig: Figure, left_in: float, top_in: float, width_units: float,
                height_units: float, unit: float, y0: float = 0.0) -> Axes:
    """An axes in cell units: x in [0, width_units], y in [y0, y0 + height_units] downwards."""
    fw, fh = fig.get_size_inches()
    ax = fig.add_axes((left_in / fw, 1 - (top_in + height_units * unit) / fh,
                       width_units * unit / fw, height_units * unit / fh))
    ax.set_xlim(0, width_units)
    ax.set_ylim(y0 + height_units, y0)
    ax.axis("off")
    return ax


def _unit(width_units: float, preferred: float, fixed_in: float = 0.0) -> float:
    """Inches per cell: ``preferred``, or less if the figure would be wider than the column."""
    return min(preferred, (_MAX_WIDTH_IN - fixed_in) / width_units)


def _check_strides(strides: Sequence[int]) -> list[int]:
    if len(strides) == 0:
        raise ValueError("strides must hold at least one stride, got an empty sequence")
    return [check_int(f"strides[{n}]", s, 1) for n, s in enumerate(strides)]


# ------------------------------------------------------------------------ static figures


def plot_windows_1d(
    input_size: int = 8,
    kernel_size: int = 3,
    strides: Sequence[int] = (1, 2, 3),
    padding: int = 0,
    dilation: int = 1,
) -> Figure:
    """Every window of a 1-D convolution, one panel per stride.

    In each panel the top row is the padded input, labelled with its position
    ``u`` on the *unpadded* line (padding at ``-p .. -1`` and ``i .. i+p-1``).
    Row ``j`` below it shows window ``j``: its taps in the window colour and, on
    the right, the output cell ``y_j`` it produces.

    Parameters
    ----------
    input_size, kernel_size, padding, dilation : int
        ``i``, ``k``, ``p`` (per side), ``d``; shared by all panels.
    strides : sequence of int
        One panel per stride.

    Returns
    -------
    matplotlib.figure.Figure
        One axes per stride, titled with the stride, ``o`` and the tail length.
    """
    i, k = check_int("input_size", input_size, 1), check_int("kernel_size", kernel_size, 1)
    p, d = check_int("padding", padding, 0), check_int("dilation", dilation, 1)
    strides = _check_strides(strides)
    n = i + 2 * p
    outs = [conv_output_size(i, k, s, p, d) for s in strides]
    panel_w, gap = n + 2.1, 0.8
    panel_h = 2.1 + max(outs)  # u labels, input row, a gap, one row per window
    width_units = len(strides) * panel_w + (len(strides) - 1) * gap
    unit = _unit(width_units, 0.3, fixed_in=0.2)
    present = {r for s in strides for r in cell_roles(i, k, s, p, d)}
    roles = [r for r in ("input", "padding", "window", "output", "tail", "tail_padding")
             if r in present or r in ("window", "output")]
    top_in = 0.62
    bottom_in = _key_height(roles, width_units * unit + 0.2)
    fig = Figure(figsize=(width_units * unit + 0.2, panel_h * unit + top_in + bottom_in),
                 dpi=DPI)
    for m, (s, o) in enumerate(zip(strides, outs)):
        ax = _panel_axes(fig, 0.1 + m * (panel_w + gap) * unit, top_in, panel_w, panel_h,
                         unit, y0=-0.8)
        for x, role in enumerate(cell_roles(i, k, s, p, d)):
            _cell(ax, x, 0, role)
            ax.text(x + 0.5, -0.15, str(x - p), ha="center", va="bottom", fontsize=_FONT,
                    color=COLORS["edge"])
        for j, taps in enumerate(window_taps(i, k, s, p, d)):
            y = j + 1.3
            for x in range(n):
                _cell(ax, x, y, "window" if x - p in taps else "blank")
            _cell(ax, n + 1.1, y, "output", f"y{j}")
        ax.set_title(f"$s = {s}$: $o = {o}$, tail {unvisited_tail(i, k, s, p, d)}",
                     fontsize=_FONT, pad=2)
    fig.suptitle(f"$i = {i}$, $k = {k}$, $p = {p}$, $d = {d}$: window $j$ starts at "
                 "$a_j = js - p$", fontsize=_TITLE, y=1 - 0.06 / fig.get_figheight(),
                 va="top")
    _legend(fig, roles)
    return fig


def plot_window_taps(
    input_size: int = 7,
    kernel_size: int = 3,
    stride: int = 2,
    padding: int = 1,
    dilation: int = 2,
) -> Figure:
    """The taps of every window, numbered, on a line numbered from ``u = -p``.

    The top row is the padded line with each cell's position ``u`` above it;
    input cells that no window reads are vermillion (with ``s`` and ``d``
    both even they need not be at the end). Row ``j`` is window ``j``: the
    labels on the left give ``j`` and its start ``a_j = j s - p``, the digit in
    each orange cell is the tap index ``t``, so that cell is
    ``u = a_j + t d``; the output ``y_j`` is on the right.

    Returns
    -------
    matplotlib.figure.Figure
        One axes; its patches carry the gids ``"input"``, ``"padding"``,
        ``"unread"``, ``"tail_padding"``, ``"window"``, ``"blank"``, ``"output"``.
    """
    i, k = check_int("input_size", input_size, 1), check_int("kernel_size", kernel_size, 1)
    s, p = check_int("stride", stride, 1), check_int("padding", padding, 0)
    d = check_int("dilation", dilation, 1)
    taps = window_taps(i, k, s, p, d)
    read = {u for row in taps for u in row}
    n = i + 2 * p
    label_w = 3.4
    width_units = label_w + n + 2.5
    height_units = 2.4 + len(taps) + 0.2
    unit = _unit(width_units, 0.4, fixed_in=0.2)
    roles = cell_roles(i, k, s, p, d)
    key = ["input", "padding", "window", "output"]
    if any(r == "input" and x - p not in read for x, r in enumerate(roles)) or "tail" in roles:
        key.append("unread")
    if "tail_padding" in roles:
        key.append("tail_padding")
    top_in = 0.3
    bottom_in = _key_height(key, width_units * unit + 0.2)
    fig = Figure(figsize=(width_units * unit + 0.2, height_units * unit + top_in + bottom_in),
                 dpi=DPI)
    ax = _panel_axes(fig, 0.1, top_in, width_units, height_units, unit, y0=-1.0)
    x0 = label_w
    for x, role in enumerate(roles):
        u = x - p
        if role == "input" and u not in read:
            role = "unread"  # interior input skipped by every window
        _cell(ax, x0 + x, 0, role)
        ax.text(x0 + x + 0.5, -0.15, str(u), ha="center", va="bottom", fontsize=_FONT,
                color=COLORS["edge"])
    ax.text(x0 - 0.2, -0.15, "$u$", ha="right", va="bottom", fontsize=_FONT,
            color=COLORS["edge"])
    ax.text(0.9, 1.15, "$j$", ha="center", va="top", fontsize=_FONT, color=COLORS["edge"])
    ax.text(2.4, 1.15, "$a_j$", ha="center", va="top", fontsize=_FONT, color=COLORS["edge"])
    for j, row in enumerate(taps):
        y = j + 1.4
        ax.text(0.9, y + 0.5, str(j), ha="center", va="center", fontsize=_FONT,
                color=COLORS["edge"])
        ax.text(2.4, y + 0.5, str(row[0]), ha="center", va="center", fontsize=_FONT,
                color=COLORS["edge"])
        for x in range(n):
            u = x - p
            if u in row:
                _cell(ax, x0 + x, y, "window", str(row.index(u)))
            else:
                _cell(ax, x0 + x, y, "blank")
        _cell(ax, x0 + n + 1.2, y, "output", f"y{j}")
    fig.suptitle(f"$i = {i}$, $k = {k}$, $s = {s}$, $p = {p}$, $d = {d}$: "
                 "tap $t$ of window $j$ reads $u = a_j + td$",
                 fontsize=_TITLE, y=1 - 0.06 / fig.get_figheight(), va="top")
    _legend(fig, key)
    return fig


def _draw_case_2d(
    ax: Axes,
    shape: tuple[int, int],
    kernel: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int],
) -> tuple[int, int]:
    """Small multiples: frame (r, c) shows the window that produces output (r, c)."""
    args = [(shape[a], kernel[a], stride[a], padding[a], 1) for a in (0, 1)]
    roles_h, roles_w = (cell_roles(*a) for a in args)
    starts_h, starts_w = (window_starts(*a) for a in args)
    oh, ow = len(starts_h), len(starts_w)
    hh, ww = len(roles_h), len(roles_w)
    for r, sr in enumerate(starts_h):
        for c, sc in enumerate(starts_w):
            x0, y0 = c * (ww + _GAP), r * (hh + _GAP)
            for y, rh in enumerate(roles_h):
                for x, rw in enumerate(roles_w):
                    role = _combine(rh, rw)
                    in_rows = 0 <= y - sr - padding[0] < kernel[0]
                    if in_rows and 0 <= x - sc - padding[1] < kernel[1]:
                        role = "window"
                    _cell(ax, x0 + x, y0 + y, role)
    # Output cells are drawn larger than input cells so their "r,c" labels fit.
    xo = ow * (ww + _GAP) + 1.5
    yo = (oh * (hh + _GAP) - _GAP - _OUT * oh) / 2  # centre the output grid vertically
    for r in range(oh):
        for c in range(ow):
            _cell(ax, xo + _OUT * c, yo + _OUT * r, "output", f"{r},{c}", size=_OUT)
    ax.annotate("", xy=(xo - 0.2, yo + _OUT * oh / 2), xytext=(xo - 1.4, yo + _OUT * oh / 2),
                arrowprops=dict(arrowstyle="->", color=COLORS["edge"]))
    return oh, ow


_OUT = 2.4  # size of a 2-D output cell, in input cells


def _combine(row_role: str, col_role: str) -> str:
    """A 2-D cell is padding if its row or column is; tail if its row or column is."""
    pad = "padding" in (row_role, col_role) or "tail_padding" in (row_role, col_role)
    tail = row_role.startswith("tail") or col_role.startswith("tail")
    if pad:
        return "tail_padding" if tail else "padding"
    return "tail" if tail else "input"


def _case_extent(shape, kernel, stride, pad) -> tuple[float, float]:
    oh = conv_output_size(shape[0], kernel[0], stride[0], pad[0])
    ow = conv_output_size(shape[1], kernel[1], stride[1], pad[1])
    hh, ww = shape[0] + 2 * pad[0], shape[1] + 2 * pad[1]
    width = ow * (ww + _GAP) + 1.5 + _OUT * ow
    height = max(oh * (hh + _GAP) - _GAP, _OUT * oh)
    return width, height


def plot_windows_2d(
    input_shape: int | Sequence[int] = (5, 6),
    kernel_size: int | Sequence[int] = 3,
    cases: Sequence[tuple[int, int]] = ((1, 0), (2, 0)),
) -> Figure:
    """Every window of a 2-D convolution, as small multiples, one panel per case.

    Each panel lays out one copy of the padded input per output cell, in the
    output's own ``o_h x o_w`` arrangement, with that output's window in the
    window colour; the output grid is drawn on the right. Rows and columns are
    two independent 1-D problems, so tail rows and tail columns appear
    separately.

    Parameters
    ----------
    input_shape : int or (int, int)
        ``(h, w)`` of the unpadded input.
    kernel_size : int or (int, int)
        ``(k_h, k_w)``.
    cases : sequence of (stride, padding)
        One panel per pair; each of stride and padding is an int or an
        ``(h, w)`` pair, as in ``torch.nn.Conv2d``.

    Returns
    -------
    matplotlib.figure.Figure
        One axes per case, titled with stride, padding and the output shape.
    """
    if len(cases) == 0:
        raise ValueError("cases must hold at least one (stride, padding) pair, got none")
    shape = check_pair("input_shape", input_shape, 1)
    kernel = check_pair("kernel_size", kernel_size, 1)
    checked = []
    for n, case in enumerate(cases):
        if not isinstance(case, (tuple, list)) or len(case) != 2:
            raise ValueError(f"cases[{n}] must be a (stride, padding) pair, got {case!r}")
        checked.append((check_pair(f"cases[{n}] stride", case[0], 1),
                        check_pair(f"cases[{n}] padding", case[1], 0)))
    extents = [_case_extent(shape, kernel, st, pd) for st, pd in checked]
    gap = 2.0
    width_units = sum(w for w, _ in extents) + gap * (len(extents) - 1)
    height_units = max(h for _, h in extents)
    # fit the column, and keep the panels under 3.6 inches tall
    unit = min(_unit(width_units, 0.2, fixed_in=0.2), 3.6 / height_units)
    roles = {"window", "output"}  # the key lists the roles the panels draw
    for st, pd in checked:
        rows, cols = (cell_roles(shape[a], kernel[a], st[a], pd[a]) for a in (0, 1))
        roles.update(_combine(rr, rc) for rr in set(rows) for rc in set(cols))
    key = [r for r in ("input", "padding", "window", "output", "tail", "tail_padding")
           if r in roles]
    top_in = 0.72
    bottom_in = _key_height(key, width_units * unit + 0.2)
    fig = Figure(figsize=(width_units * unit + 0.2,
                          height_units * unit + top_in + bottom_in), dpi=DPI)
    left = 0.1
    for (stride, pad), (w, h) in zip(checked, extents):
        ax = _panel_axes(fig, left, top_in, w, height_units, unit, y0=-0.15)
        oh, ow = _draw_case_2d(ax, shape, kernel, stride, pad)
        ax.set_title(f"stride {_fmt(stride)}, padding {_fmt(pad)}\n"
                     f"output {oh} x {ow}", fontsize=_FONT, pad=3)
        left += (w + gap) * unit
    fig.suptitle(f"input {shape[0]} x {shape[1]}, kernel {kernel[0]} x {kernel[1]}: "
                 "one frame per output cell", fontsize=_TITLE,
                 y=1 - 0.06 / fig.get_figheight(), va="top")
    _legend(fig, key)
    return fig


def _fmt(pair: tuple[int, int]) -> str:
    return str(pair[0]) if pair[0] == pair[1] else f"({pair[0]}, {pair[1]})"


_LINE_COLORS = [OKABE_ITO[c] for c in ("black", "blue", "reddish_purple", "sky_blue",
                                       "vermillion")]


def plot_staircase(
    kernel_size: int = 3,
    strides: Sequence[int] = (1, 2, 3),
    padding: int = 0,
    dilation: int = 1,
    max_input: int = 16,
) -> Figure:
    """The output length ``o`` against the input length ``i``, one staircase per stride.

    Each step of stride ``s`` is ``s`` inputs wide: the inputs
    ``i, i+1, ..., i+s-1`` share one output length. The widest stride's step
    that contains ``max_input - 2`` is shaded to make the point. Each line is
    labelled at its right end (no legend).

    Returns
    -------
    matplotlib.figure.Figure
        One axes, one line per stride, labelled ``s = ...``; the plotted points
        are exactly ``conv_output_size(i, k, s, p, d)`` for every ``i`` with at
        least one window.
    """
    strides = _check_strides(strides)
    k, p = check_int("kernel_size", kernel_size, 1), check_int("padding", padding, 0)
    d = check_int("dilation", dilation, 1)
    i_min = max(1, d * (k - 1) + 1 - 2 * p)
    m = check_int("max_input", max_input, i_min + 2)
    xs = list(range(i_min, m + 1))
    fig = Figure(figsize=(7.0, 3.6), dpi=DPI)
    ax = fig.subplots()
    for n, s in enumerate(strides):
        ys = [conv_output_size(i, k, s, p, d) for i in xs]
        color = _LINE_COLORS[n % len(_LINE_COLORS)]
        ax.step(xs, ys, where="post", color=color, linewidth=1.4, marker="o", markersize=4,
                label=f"s = {s}")
        ax.text(xs[-1] + 0.4, ys[-1], f"s = {s}", color=color, fontsize=_FONT + 1,
                va="center", ha="left")
    s = max(strides)
    o_mark = conv_output_size(m - 2, k, s, p, d)
    share = [i for i in xs if conv_output_size(i, k, s, p, d) == o_mark]
    ax.axvspan(share[0] - 0.4, share[-1] + 0.4, color=COLORS["padding"], alpha=0.7, zorder=0)
    mid = (share[0] + share[-1]) / 2
    ax.annotate(f"s = {s}: i = {share[0]}..{share[-1]}\nall give o = {o_mark}",
                xy=(mid, o_mark - 0.15), xytext=(0, -24), textcoords="offset points",
                ha="center", va="top", fontsize=_FONT,
                arrowprops=dict(arrowstyle="->", color=COLORS["edge"]))
    ax.set_xticks(xs)
    ax.set_xlim(xs[0] - 0.6, xs[-1] + 2.2)
    ax.set_xlabel("input length i")
    ax.set_ylabel("output length o")
    ax.set_title(f"o = floor((i + 2p - d(k-1) - 1)/s) + 1 with k = {k}, p = {p}, d = {d}",
                 fontsize=_TITLE)
    ax.grid(alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig


def plot_transposed_lengths(
    output_size: int = 5,
    kernel_size: int = 5,
    stride: int = 3,
    padding: int = 2,
    dilation: int = 1,
) -> Figure:
    """Several input lengths give one output length; ``output_padding`` picks one back.

    Left, one row per input length ``i`` whose convolution has ``o`` outputs
    (at most ``s`` of them, by the staircase property): the padded line, with
    the tail the floor leaves unread. Middle: the ``o`` outputs they all
    produce. Right: the transposed convolution of those ``o`` outputs with
    ``output_padding = a = (i + 2p - d(k-1) - 1) mod s``, which has length
    ``i``: ``(o-1)s - 2p + d(k-1) + 1`` cells, plus ``a`` hatched cells added
    by ``output_padding``.

    Returns
    -------
    matplotlib.figure.Figure
        One axes. Gids: forward rows use :func:`cell_roles`, the middle row
        ``"output"``, the transposed rows ``"input"`` and ``"output_padding"``.

    Raises
    ------
    ValueError
        If no input length gives ``output_size`` outputs.
    """
    o = check_int("output_size", output_size, 1)
    k, s = check_int("kernel_size", kernel_size, 1), check_int("stride", stride, 1)
    p, d = check_int("padding", padding, 0), check_int("dilation", dilation, 1)
    span = d * (k - 1) + 1
    # o(i) = o needs (o-1)s <= i + 2p - span <= os - 1: search just that range.
    lengths = [i for i in range(max(1, (o - 1) * s + span - 2 * p), o * s + span - 2 * p)
               if conv_output_size(i, k, s, p, d) == o]
    if not lengths:
        raise ValueError(f"output_size={o} is produced by no input length >= 1 with "
                         f"kernel_size={k}, stride={s}, padding={p}, dilation={d}")
    left_w = max(lengths) + 2 * p
    gap = 5.0
    right_x = left_w + gap + o + gap
    width_units = right_x + max(lengths) + 0.2
    row_step = 2.9
    top = 1.6
    height_units = top + row_step * (len(lengths) - 1) + 1.2
    unit = _unit(width_units, 0.25, fixed_in=0.2)
    all_roles = {r for i in lengths for r in cell_roles(i, k, s, p, d)}
    key = ["input", "padding", "output", "output_padding"]
    key += [r for r in ("tail", "tail_padding") if r in all_roles]
    top_in = 0.1
    bottom_in = _key_height(key, width_units * unit + 0.2)
    fig = Figure(figsize=(width_units * unit + 0.2,
                          height_units * unit + top_in + bottom_in), dpi=DPI)
    ax = _panel_axes(fig, 0.1, top_in, width_units, height_units, unit)
    head = dict(ha="center", va="bottom", fontsize=_FONT, color=COLORS["edge"])
    ax.text(left_w / 2, 0.3, f"conv: k = {k}, s = {s}, p = {p}, d = {d}", **head)
    ax.text(left_w + gap + o / 2, 0.3, "output", **head)
    ax.text(right_x + max(lengths) / 2, 0.3, "transposed conv", **head)
    y_mid = top + row_step * (len(lengths) - 1) / 2
    for x in range(o):
        _cell(ax, left_w + gap + x, y_mid, "output")
    ax.text(left_w + gap + o / 2, y_mid + 1.15, f"o = {o}", ha="center", va="top",
            fontsize=_FONT, color=COLORS["edge"])
    base = transposed_conv_output_size(o, k, s, p, d)
    arrow = dict(arrowstyle="->", color=COLORS["edge"], linewidth=1.0)
    for r, i in enumerate(lengths):
        y = top + r * row_step
        for x, role in enumerate(cell_roles(i, k, s, p, d)):
            _cell(ax, x, y, role)
        tail = unvisited_tail(i, k, s, p, d)
        ax.text(0, y - 0.12, f"i = {i}, tail {tail}", ha="left", va="bottom", fontsize=_FONT,
                color=COLORS["edge"])
        a = transposed_output_padding(i, k, s, p, d)  # so that base + a == i
        for x in range(i):
            _cell(ax, right_x + x, y, "input" if x < base else "output_padding")
        ax.text(right_x, y - 0.12, f"output_padding = {a}: length {i}", ha="left",
                va="bottom", fontsize=_FONT, color=COLORS["edge"])
        ax.annotate("", xy=(left_w + gap - 0.3, y_mid + 0.5),
                    xytext=(i + 2 * p + 0.3, y + 0.5), arrowprops=arrow)
        ax.annotate("", xy=(right_x - 0.3, y + 0.5), xytext=(left_w + gap + o + 0.3,
                                                             y_mid + 0.5), arrowprops=arrow)
    _legend(fig, key)
    return fig


# ---------------------------------------------------------------------------- animations


def _check_cases(cases: Sequence[Sequence[int]], name: str = "cases") -> list[tuple[int, ...]]:
    if len(cases) == 0:
        raise ValueError(f"{name} must hold at least one (stride, padding, dilation) "
                         "triple, got none")
    checked = []
    for n, case in enumerate(cases):
        if not isinstance(case, (tuple, list)) or len(case) != 3:
            raise ValueError(f"{name}[{n}] must be a (stride, padding, dilation) triple, "
                             f"got {case!r}")
        checked.append((check_int(f"{name}[{n}] stride", case[0], 1),
                        check_int(f"{name}[{n}] padding", case[1], 0),
                        check_int(f"{name}[{n}] dilation", case[2], 1)))
    return checked


def _case_title(s: int, p: int, d: int) -> str:
    return f"stride {s}, padding {p}, dilation {d}"



def _labelled_cell(ax: Axes, x: float, y: float, role: str, text: str, gid: str):
    """A cell and its label, both returned so an animation can restyle them."""
    rect = _cell(ax, x, y, role, gid=gid)
    label = ax.text(x + 0.5, y + 0.5, text, ha="center", va="center", fontsize=_FONT,
                    color="white" if role in _WHITE_TEXT else COLORS["edge"])
    return rect, label


def _restyle(rect: Rectangle, role: str, gid: str, label=None) -> None:
    _style(rect, role)
    rect.set_gid(gid)
    if label is not None:
        label.set_color("white" if role in _WHITE_TEXT else COLORS["edge"])


def animate_windows_1d(
    input_size: int = 8,
    kernel_size: int = 3,
    cases: Sequence[Sequence[int]] = ((1, 0, 1), (2, 0, 1), (2, 1, 1), (1, 1, 2)),
    interval: int = 1200,
) -> FuncAnimation:
    """The kernel window sliding over a 1-D input, one panel per case, all in step.

    Each panel shows the padded line (positions ``u`` above the cells, numbered
    on the unpadded line; the panels are aligned on ``u = 0``) and, on the
    right, the output cells. Frame ``f`` shows window ``f`` of every panel: its
    ``k`` taps ``u = a_f + t d`` in the window colour inside an outline of its
    span, and output ``y_f`` being written (thick orange edge). A panel with
    fewer windows than frames shows its finished output and no window.

    Parameters
    ----------
    input_size, kernel_size : int
        ``i`` and ``k``, shared by all panels.
    cases : sequence of (stride, padding, dilation)
        One panel per triple.
    interval : int
        Milliseconds per frame when played.

    Returns
    -------
    matplotlib.animation.FuncAnimation
        ``max(o)`` frames, ``o`` the output length of each case. Once frame ``f``
        is drawn, every input cell's gid is ``"<role>@<u>"``, with role
        ``"window"`` for the taps of window ``f`` and otherwise its
        :func:`cell_roles` role; output cells are ``"output@<j>"`` (written),
        ``"current@<j>"`` (window ``f``) or ``"pending@<j>"``. Render it with
        :func:`animation_html`.
    """
    i, k = check_int("input_size", input_size, 1), check_int("kernel_size", kernel_size, 1)
    cases = _check_cases(cases)
    interval = check_int("interval", interval, 1)
    p_max = max(p for _, p, _ in cases)
    outs = [conv_output_size(i, k, s, p, d) for s, p, d in cases]
    ml = 0.25  # margin, in cells, so the window's outline is not clipped
    out_x = ml + i + 2 * p_max + 1.6
    width_units = out_x + max(outs) + ml
    panel_h, gap = 2.6, 0.3  # a title line, the u labels, one row of cells
    unit = _unit(width_units, 0.3, fixed_in=0.2)
    fig = Figure(figsize=(width_units * unit + 0.2,
                          len(cases) * (panel_h + gap) * unit + 0.1), dpi=DPI)
    panels = []
    for m, (s, p, d) in enumerate(cases):
        ax = _panel_axes(fig, 0.1, 0.05 + m * (panel_h + gap) * unit, width_units, panel_h,
                         unit, y0=-1.45)
        cells = {}
        for x, role in enumerate(cell_roles(i, k, s, p, d)):
            u = x - p
            cells[u] = (_cell(ax, ml + u + p_max, 0, role, gid=f"{role}@{u}"), role)
            ax.text(ml + u + p_max + 0.5, -0.12, str(u), ha="center", va="bottom", fontsize=_FONT,
                    color=COLORS["edge"])
        outputs = [_labelled_cell(ax, out_x + j, 0, "pending", f"y{j}", f"pending@{j}")
                   for j in range(outs[len(panels)])]
        ax.text(ml, -1.4, _case_title(s, p, d), ha="left", va="top", fontsize=_FONT,
                color=COLORS["edge"], weight="bold")
        status = ax.text(width_units - ml, -1.4, "", ha="right", va="top", fontsize=_FONT,
                         color=COLORS["edge"])
        span = Rectangle((0, -0.1), 1, 1.2, fill=False, edgecolor=COLORS["window"],
                         linewidth=2.5, visible=False, gid="span")
        ax.add_patch(span)
        panels.append((cells, outputs, status, span, window_taps(i, k, s, p, d),
                       unvisited_tail(i, k, s, p, d)))

    def draw_frame(f: int) -> list:
        artists = []
        for cells, outputs, status, span, taps, tail in panels:
            now = taps[f] if f < len(taps) else []
            for u, (rect, role) in cells.items():
                role = "window" if u in now else role
                _restyle(rect, role, f"{role}@{u}")
            for j, (rect, label) in enumerate(outputs):
                role = "current" if j == f else ("output" if j < f else "pending")
                _restyle(rect, role, f"{role}@{j}", label)
            if now:
                span.set_bounds(ml + now[0] + p_max - 0.1, -0.1, now[-1] - now[0] + 1.2, 1.2)
                status.set_text(f"window $j = {f}$: $a_j = {now[0]}$, reads $u = "
                                + ", ".join(map(str, now)) + "$")
            else:
                status.set_text(f"done: $o = {len(taps)}$ windows, tail {tail}")
            span.set_visible(bool(now))
            artists += [r for r, _ in cells.values()] + [c for pair in outputs for c in pair]
            artists += [status, span]
        return artists

    draw_frame(0)
    return FuncAnimation(fig, draw_frame, frames=max(outs), interval=interval, repeat=True,
                         blit=False, cache_frame_data=False)


def animate_windows_2d(
    input_shape: int | Sequence[int] = (5, 5),
    kernel_size: int | Sequence[int] = 3,
    cases: Sequence[Sequence[int]] = ((1, 0, 1), (2, 0, 1), (2, 1, 1), (1, 1, 2)),
    interval: int = 1200,
) -> FuncAnimation:
    """The kernel window sliding over a 2-D input, one panel per case, all in step.

    Each panel shows the padded input (rows and columns numbered on the
    unpadded grid, padding at ``-p``) with the output grid below it. Frame ``f``
    shows window ``f`` of every panel in row-major order, ``(r, c) =
    divmod(f, o_w)``: its ``k_h x k_w`` taps (rows ``a_r + t d``, columns
    ``a_c + t d``) in the window colour inside an outline of its span, and
    output cell ``(r, c)`` being written. A panel with fewer windows than
    frames shows its finished output and no window. Stride, padding and
    dilation are the same on both axes.

    Parameters
    ----------
    input_shape : int or (int, int)
        ``(h, w)`` of the unpadded input, shared by all panels.
    kernel_size : int or (int, int)
        ``(k_h, k_w)``.
    cases : sequence of (stride, padding, dilation)
        One panel per triple.
    interval : int
        Milliseconds per frame when played.

    Returns
    -------
    matplotlib.animation.FuncAnimation
        ``max(o_h o_w)`` frames. Once frame ``f`` is drawn, input cells carry
        gids ``"<role>@<row>,<col>"`` (role ``"window"`` for the taps of window
        ``f``) and output cells ``"output@r,c"``, ``"current@r,c"`` or
        ``"pending@r,c"``.
    """
    shape = check_pair("input_shape", input_shape, 1)
    kernel = check_pair("kernel_size", kernel_size, 1)
    cases = _check_cases(cases)
    interval = check_int("interval", interval, 1)
    p_max = max(p for _, p, _ in cases)
    geo = []
    for s, p, d in cases:
        taps = [window_taps(shape[a], kernel[a], s, p, d) for a in (0, 1)]
        roles = [cell_roles(shape[a], kernel[a], s, p, d) for a in (0, 1)]
        geo.append((taps, roles))
    ml = 0.25  # margin, in cells, so the window's outline is not clipped
    slot_w = shape[1] + 2 * p_max + 2 * ml
    out_h = max(len(t[0]) for t, _ in geo)
    gap = 1.0
    width_units = len(cases) * slot_w + (len(cases) - 1) * gap
    height_units = 2.4 + 2 * ml + shape[0] + 2 * p_max + 0.8 + out_h + 0.1
    unit = _unit(width_units, 0.24, fixed_in=0.2)
    fig = Figure(figsize=(width_units * unit + 0.2, height_units * unit + 0.1), dpi=DPI)
    panels = []
    for m, ((s, p, d), (taps, roles)) in enumerate(zip(cases, geo)):
        ax = _panel_axes(fig, 0.1 + m * (slot_w + gap) * unit, 0.05, slot_w, height_units,
                         unit, y0=-2.4)
        off = ml + p_max - p  # centre smaller padded grids in the slot
        cells = {}
        for y, rr in enumerate(roles[0]):
            for x, rc in enumerate(roles[1]):
                pos = (y - p, x - p)
                role = _combine(rr, rc)
                rect = _cell(ax, off + x, off + y, role, gid=f"{role}@{pos[0]},{pos[1]}")
                cells[pos] = (rect, role)
        oh, ow = len(taps[0]), len(taps[1])
        ox, oy = (slot_w - ow) / 2, 2 * ml + shape[0] + 2 * p_max + 0.8
        outputs = {(r, c): _cell(ax, ox + c, oy + r, "pending", gid=f"pending@{r},{c}")
                   for r in range(oh) for c in range(ow)}
        ax.text(slot_w / 2, -2.4, f"$s = {s}$, $p = {p}$, $d = {d}$", ha="center", va="top",
                fontsize=_FONT, color=COLORS["edge"], weight="bold")
        status = ax.text(slot_w / 2, -1.2, "", ha="center", va="top", fontsize=_FONT,
                         color=COLORS["edge"])
        span = Rectangle((0, 0), 1, 1, fill=False, edgecolor=COLORS["window"], linewidth=2.5,
                         visible=False, gid="span")
        ax.add_patch(span)
        panels.append((cells, outputs, status, span, taps, off + p))

    def draw_frame(f: int) -> list:
        artists = []
        for cells, outputs, status, span, (taps_h, taps_w), shift in panels:
            oh, ow = len(taps_h), len(taps_w)
            r, c = divmod(f, ow)
            active = f < oh * ow
            now = {(y, x) for y in taps_h[r] for x in taps_w[c]} if active else set()
            for pos, (rect, role) in cells.items():
                role = "window" if pos in now else role
                _restyle(rect, role, f"{role}@{pos[0]},{pos[1]}")
            for (rr, cc), rect in outputs.items():
                q = rr * ow + cc
                role = "current" if q == f else ("output" if q < f else "pending")
                _restyle(rect, role, f"{role}@{rr},{cc}")
            if active:
                y0, x0 = taps_h[r][0], taps_w[c][0]
                span.set_bounds(x0 + shift - 0.1, y0 + shift - 0.1,
                                taps_w[c][-1] - x0 + 1.2, taps_h[r][-1] - y0 + 1.2)
                status.set_text(f"window ({r}, {c})")
            else:
                status.set_text(f"done: {oh} x {ow}")
            span.set_visible(active)
            artists += [rc[0] for rc in cells.values()] + list(outputs.values())
            artists += [status, span]
        return artists

    draw_frame(0)
    frames = max(len(t[0]) * len(t[1]) for t, _ in geo)
    return FuncAnimation(fig, draw_frame, frames=frames, interval=interval, repeat=True,
                         blit=False, cache_frame_data=False)


# Matplotlib's player draws its buttons with Font Awesome icons loaded from a CDN;
# the book works offline, so the buttons get plain text glyphs instead.
_BUTTON_GLYPHS = {
    "fa-minus": "&minus;",
    "fa-fast-backward": "|&#9664;&#9664;",
    "fa-step-backward": "|&#9664;",
    "fa-play fa-flip-horizontal": "&#9664;",
    "fa-pause": "&#10074;&#10074;",
    "fa-play": "&#9654;",
    "fa-step-forward": "&#9654;|",
    "fa-fast-forward": "&#9654;&#9654;|",
    "fa-plus": "+",
}


def animation_html(anim: FuncAnimation, html_id: str) -> str:
    """``anim`` as self-contained, reproducible HTML with play, pause and step controls.

    Built on :meth:`matplotlib.animation.Animation.to_jshtml` (every frame
    embedded as a PNG, the player inline JavaScript), with three changes:

    - matplotlib names the player's elements with a random ``uuid4``; it is
      replaced by ``html_id``, so two runs give the same text (nbval compares
      it) and two animations on one page stay apart;
    - the Font Awesome stylesheet matplotlib links from a CDN is dropped and
      the buttons show text glyphs instead, so nothing is fetched;
    - frames are drawn at :data:`strided_conv.figures.DPI`, whatever the
      notebook's rcParams say.

    Parameters
    ----------
    anim : matplotlib.animation.FuncAnimation
        For example from :func:`animate_windows_1d`.
    html_id : str
        A JavaScript identifier (letters, digits, ``_``), unique on the page.

    Raises
    ------
    ValueError
        If ``html_id`` is not an identifier.
    RuntimeError
        If matplotlib's HTML no longer has the shape this function edits.
    """
    if not isinstance(html_id, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", html_id):
        raise ValueError(f"html_id must be a JavaScript identifier (letters, digits, _), "
                         f"got {html_id!r}")
    rc = {"savefig.dpi": DPI, "savefig.bbox": None, "savefig.facecolor": "white",
          "savefig.transparent": False}
    with mpl.rc_context(rc):
        html = anim.to_jshtml(default_mode="loop")
    ids = set(re.findall(r'id="_anim_img([0-9a-f]{32})"', html))
    if len(ids) != 1:
        raise RuntimeError(f"expected one animation id in matplotlib's HTML, found {len(ids)}")
    html = html.replace(ids.pop(), html_id)
    html, n_links = re.subn(r"<link[^>]*font-awesome[^>]*>\s*", "", html)
    for icon, glyph in _BUTTON_GLYPHS.items():
        html = html.replace(f'<i class="fa {icon}"></i>', glyph)
    if n_links != 1 or 'class="fa' in html or re.search(r"(src|href)=\"?(https?:)?//", html):
        raise RuntimeError("matplotlib's animation HTML changed: an external asset or an "
                           "icon could not be replaced")
    return html
