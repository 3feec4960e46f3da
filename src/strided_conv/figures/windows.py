"""Chapter 1 figures: where the windows of a strided convolution land.

Every function returns a :class:`matplotlib.figure.Figure` (nothing is shown or
saved) drawn in the book's colour language :data:`strided_conv.figures.COLORS`:
real input, padding zeros, the cells under a window, output cells, and the
*tail* -- trailing cells no window reaches because of the floor in

.. math:: o = \\left\\lfloor \\frac{i + 2p - d(k-1) - 1}{s} \\right\\rfloor + 1 .

A tail cell that is padding is drawn as padding with a red hatch: nothing of
the input is lost there. A tail cell that is real input is red: the layer
never reads it.
"""
from __future__ import annotations

from collections.abc import Sequence

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle

from .._validation import check_int, check_pair
from ..output_size import conv_output_size, unvisited_tail, window_starts
from . import COLORS

__all__ = ["cell_roles", "plot_windows_1d", "plot_windows_2d", "plot_staircase"]

_GAP = 1.0  # blank cells between small multiples


def cell_roles(
    input_size: int, kernel_size: int, stride: int = 1, padding: int = 0, dilation: int = 1
) -> list[str]:
    """Role of every cell of the padded line, left to right.

    Returns
    -------
    list of str, length ``i + 2p``
        Each entry is ``"input"``, ``"padding"``, ``"tail"`` (real input no window
        reaches) or ``"tail_padding"`` (a padding zero no window reaches).
    """
    tail = unvisited_tail(input_size, kernel_size, stride, padding, dilation)
    i, p = int(input_size), int(padding)
    n = i + 2 * p
    roles = ["padding" if j < p or j >= p + i else "input" for j in range(n)]
    for j in range(n - tail, n):
        roles[j] = "tail" if roles[j] == "input" else "tail_padding"
    return roles


def _cell(
    ax: Axes, x: float, y: float, role: str, text: str | None = None, size: float = 1.0
) -> Rectangle:
    """Draw one square cell with its top-left corner at (x, y); y grows downwards."""
    face = {"tail_padding": COLORS["padding"], "blank": "white"}.get(role, COLORS.get(role))
    rect = Rectangle(
        (x, y), size, size, facecolor=face, edgecolor=COLORS["edge"], linewidth=0.6,
        hatch="///" if role == "tail_padding" else None,
    )
    if role == "tail_padding":
        rect.set_edgecolor(COLORS["tail"])
    rect.set_gid(role)  # lets tests and readers count cells by role
    ax.add_patch(rect)
    if text is not None:
        light = role in ("input", "tail", "output")
        ax.text(x + size / 2, y + size / 2, text, ha="center", va="center", fontsize=8,
                color="white" if light else COLORS["edge"])
    return rect


def _legend(fig: Figure, with_tail_padding: bool) -> None:
    handles = [Patch(facecolor=COLORS[r], edgecolor=COLORS["edge"], label=r)
               for r in ("input", "padding", "window", "output", "tail")]
    handles[-1].set_label("tail (input never read)")
    if with_tail_padding:
        handles.append(Patch(facecolor=COLORS["padding"], edgecolor=COLORS["tail"],
                             hatch="///", label="tail (padding only)"))
    # Narrow figures wrap the legend onto two lines instead of clipping it.
    ncol = len(handles) if fig.get_figwidth() >= 7 else 3
    fig.legend(handles=handles, loc="lower center", ncol=ncol, frameon=False, fontsize=8)


def plot_windows_1d(
    input_size: int = 8,
    kernel_size: int = 3,
    strides: Sequence[int] = (1, 2, 3),
    padding: int = 0,
    dilation: int = 1,
) -> Figure:
    """Every window of a 1-D convolution, one panel per stride.

    In each panel the top row is the padded input, labelled with its index in
    the *unpadded* input (padding at ``-p .. -1`` and ``i .. i+p-1``). Row ``j``
    below it shows window ``j``: its taps in the window colour and, on the right,
    the output cell ``y[j]`` it produces.

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
    if len(strides) == 0:
        raise ValueError("strides must hold at least one stride, got an empty sequence")
    i, k = check_int("input_size", input_size, 1), check_int("kernel_size", kernel_size, 1)
    p, d = check_int("padding", padding, 0), check_int("dilation", dilation, 1)
    strides = [check_int(f"strides[{n}]", s, 1) for n, s in enumerate(strides)]
    n = i + 2 * p
    outs = [conv_output_size(i, k, s, p, d) for s in strides]
    rows = max(outs) + 2
    # Sized to fit the book's text column (about 8 inches at 100 dpi) without scaling.
    cell = min(0.24, 7.4 / ((n + 3) * len(strides)))
    fig = Figure(figsize=(cell * (n + 3) * len(strides) + 0.6, cell * rows + 1.2))
    axes = fig.subplots(1, len(strides), squeeze=False)[0]
    any_tail_pad = False
    for ax, s, o in zip(axes, strides, outs):
        roles = cell_roles(i, k, s, p, d)
        any_tail_pad |= "tail_padding" in roles
        for x, role in enumerate(roles):
            _cell(ax, x, 0, role)
            ax.text(x + 0.5, -0.3, str(x - p), ha="center", va="bottom", fontsize=7)
        for j, start in enumerate(window_starts(i, k, s, p, d)):
            y = j + 1.5
            taps = {start + p + d * t for t in range(k)}
            for x in range(n):
                _cell(ax, x, y, "window" if x in taps else "blank")
            _cell(ax, n + 1, y, "output", f"y{j}")
        ax.set_title(f"stride {s}: o = {o}, tail = {unvisited_tail(i, k, s, p, d)}",
                     fontsize=9)
        ax.set_xlim(-0.2, n + 2.2)
        ax.set_ylim(rows + 0.2, -1.2)
        ax.set_aspect("equal")
        ax.axis("off")
    fig.suptitle(f"i = {i}, k = {k}, p = {p}, d = {d}: windows start every s cells",
                 fontsize=10)
    _legend(fig, any_tail_pad)
    height = fig.get_figheight()  # margins in inches: suptitle above, legend below
    fig.subplots_adjust(left=0.02, right=0.98, top=1 - 0.6 / height, bottom=0.35 / height,
                        wspace=0.08)
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
                    if 0 <= y - sr - padding[0] < kernel[0] and 0 <= x - sc - padding[1] < kernel[1]:
                        role = "window"
                    _cell(ax, x0 + x, y0 + y, role)
    # Output cells are drawn twice as large so their "r,c" labels fit.
    xo = ow * (ww + _GAP) + 1.5
    yo = (oh * (hh + _GAP) - _GAP - 2 * oh) / 2  # centre the output grid vertically
    for r in range(oh):
        for c in range(ow):
            _cell(ax, xo + 2 * c, yo + 2 * r, "output", f"{r},{c}", size=2)
    ax.annotate("", xy=(xo - 0.2, yo + oh), xytext=(xo - 1.4, yo + oh),
                arrowprops=dict(arrowstyle="->", color=COLORS["edge"]))
    ax.set_xlim(-0.3, xo + 2 * ow + 0.3)
    ax.set_ylim(oh * (hh + _GAP) - _GAP + 0.3, -0.3)
    ax.set_aspect("equal")
    ax.axis("off")
    return oh, ow


def _combine(row_role: str, col_role: str) -> str:
    """A 2-D cell is padding if its row or column is; tail if its row or column is."""
    pad = "padding" in (row_role, col_role) or "tail_padding" in (row_role, col_role)
    tail = row_role.startswith("tail") or col_role.startswith("tail")
    if pad:
        return "tail_padding" if tail else "padding"
    return "tail" if tail else "input"


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
    widths = []
    for stride, pad in checked:
        ow = conv_output_size(shape[1], kernel[1], stride[1], pad[1])
        widths.append(ow * (shape[1] + 2 * pad[1] + _GAP) + 2 * ow + 1.5)
    heights = [conv_output_size(shape[0], kernel[0], st[0], pd[0])
               * (shape[0] + 2 * pd[0] + _GAP) for st, pd in checked]
    scale = min(0.16, 7.2 / sum(widths))  # fit the book's ~8-inch text column
    fig = Figure(figsize=(scale * sum(widths) + 0.3 * len(cases) + 0.4,
                          scale * max(heights) + 1.3))
    axes = fig.subplots(1, len(cases), squeeze=False, gridspec_kw={"width_ratios": widths})[0]
    any_tail_pad = False
    for ax, (stride, pad) in zip(axes, checked):
        oh, ow = _draw_case_2d(ax, shape, kernel, stride, pad)
        any_tail_pad |= any(p.get_gid() == "tail_padding" for p in ax.patches)
        ax.set_title(f"stride {_fmt(stride)}, padding {_fmt(pad)}\n"
                     f"output {oh} x {ow}", fontsize=9)
    fig.suptitle(f"input {shape[0]} x {shape[1]}, kernel {kernel[0]} x {kernel[1]}: "
                 "one frame per output cell", fontsize=10)
    _legend(fig, any_tail_pad)
    height = fig.get_figheight()  # margins in inches: titles above, legend below
    bottom = (0.55 if fig.get_figwidth() < 7 else 0.35) / height
    fig.subplots_adjust(left=0.02, right=0.98, top=1 - 0.75 / height, bottom=bottom,
                        wspace=0.1)
    return fig


def _fmt(pair: tuple[int, int]) -> str:
    return str(pair[0]) if pair[0] == pair[1] else f"({pair[0]}, {pair[1]})"


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
    that contains ``max_input - 2`` is shaded to make the point.

    Returns
    -------
    matplotlib.figure.Figure
        One axes, one line per stride, labelled ``s = ...``; the plotted points
        are exactly ``conv_output_size(i, k, s, p, d)`` for every ``i`` with at
        least one window.
    """
    if len(strides) == 0:
        raise ValueError("strides must hold at least one stride, got an empty sequence")
    k, p = check_int("kernel_size", kernel_size, 1), check_int("padding", padding, 0)
    d = check_int("dilation", dilation, 1)
    strides = [check_int(f"strides[{n}]", s, 1) for n, s in enumerate(strides)]
    i_min = max(1, d * (k - 1) + 1 - 2 * p)
    m = check_int("max_input", max_input, i_min + 2)
    xs = list(range(i_min, m + 1))
    fig = Figure(figsize=(6.4, 3.6))
    ax = fig.subplots()
    palette = [COLORS[c] for c in ("input", "window", "output", "tail", "edge")]
    for n, s in enumerate(strides):
        ys = [conv_output_size(i, k, s, p, d) for i in xs]
        ax.step(xs, ys, where="post", color=palette[n % len(palette)], linewidth=1.2,
                marker="o", markersize=4, label=f"s = {s}")
    s = max(strides)
    o_mark = conv_output_size(m - 2, k, s, p, d)
    share = [i for i in xs if conv_output_size(i, k, s, p, d) == o_mark]
    ax.axvspan(share[0] - 0.4, share[-1] + 0.4, color=COLORS["padding"], alpha=0.6, zorder=0)
    mid = (share[0] + share[-1]) / 2
    ax.annotate(f"s = {s}: i = {share[0]}..{share[-1]}\nall give o = {o_mark}",
                xy=(mid, o_mark - 0.15), xytext=(0, -22), textcoords="offset points",
                ha="center", va="top", fontsize=8,
                arrowprops=dict(arrowstyle="->", color=COLORS["edge"]))
    ax.set_xticks(xs)
    ax.set_xlabel("input length i")
    ax.set_ylabel("output length o")
    ax.set_title(f"o = floor((i + 2p - d(k-1) - 1)/s) + 1 with k = {k}, p = {p}, d = {d}",
                 fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
