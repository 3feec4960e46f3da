"""Figures of the polyphase chapter: phases, sub-kernels, and the sweep of C.

Every function returns a :class:`matplotlib.figure.Figure` in the book's colour
language (:data:`strided_conv.figures.COLORS`): input cells blue, padding light
grey, kernel taps orange (the window's colour), outputs bluish green, cells no
window reads vermillion (the tail). Implementations in the sweep take the
colours the Performance chapter gives them
(:data:`strided_conv.figures.performance.IMPL_COLORS`).
"""
from __future__ import annotations

import math

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import FuncFormatter

from .._validation import check_int, check_pair
from ..output_size import conv_output_size
from ..polyphase import phase_taps
from . import COLORS
from .performance import IMPL_COLORS  # one colour per implementation, book-wide

__all__ = ["plot_phases_1d", "plot_phases_2d", "plot_channel_sweep"]

_LABELS = {"torch": "PyTorch", "vectorized": "im2col layer", "polyphase": "polyphase layer"}

_FONT = 10  # points: every text of these figures
_CELL_IN = 0.36  # inches per cell in the cell diagrams with numbers
_CELL_2D_IN = 0.27  # inches per (empty) cell of the 2-D small multiples


def _cell(ax: Axes, x: float, y: float, role: str, text: str = "") -> None:
    """One square cell, top-left corner (x, y), y growing downwards; ``role`` in COLORS or blank."""
    face = "white" if role == "blank" else COLORS[role]
    rect = Rectangle((x, y), 1, 1, facecolor=face, edgecolor=COLORS["edge"], linewidth=0.6)
    rect.set_gid(role)  # tests count cells by role
    ax.add_patch(rect)
    if text:
        light = role in ("input", "tail", "output")
        ax.text(x + 0.5, y + 0.5, text, ha="center", va="center", fontsize=_FONT,
                color="white" if light else COLORS["edge"])


def _num(v: float) -> str:
    return f"{v:.0f}" if float(v).is_integer() else f"{v:.2g}"


def _diagram(width_cells: float, height_cells: float,
             cell_in: float = _CELL_IN) -> tuple[Figure, Axes]:
    fig = Figure(figsize=(width_cells * cell_in, height_cells * cell_in), dpi=100)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width_cells)
    ax.set_ylim(height_cells, 0)
    ax.set_aspect("equal")
    ax.axis("off")
    return fig, ax


def plot_phases_1d(x, w, stride: int, pad: int = 0) -> Figure:
    r"""The polyphase identity on one line, every number visible.

    Rows: the padded input; its ``s`` phases
    :math:`x^{(r)}[\ell] = x_{\text{pad}}[\ell s + r]`; the sub-kernels :math:`w^{(r)}`;
    the stride-1 convolutions :math:`y^{(r)}[j] = \sum_q w^{(r)}[q]\, x^{(r)}[j + q]`;
    their sum; and the strided
    convolution computed directly (the same numbers). Phase entries no output
    reads are drawn as the tail.

    Parameters
    ----------
    x, w : 1-D sequences of numbers
        Input of length ``i`` and kernel of length ``k``.
    stride, pad : int
        ``s >= 1``, ``p >= 0``; no dilation.
    """
    x, w = np.asarray(x, dtype=np.float64), np.asarray(w, dtype=np.float64)
    if x.ndim != 1 or w.ndim != 1 or x.size == 0 or w.size == 0:
        raise ValueError(f"x and w must be non-empty 1-D sequences, got shapes {x.shape}, "
                         f"{w.shape}")
    s, p = check_int("stride", stride, 1), check_int("pad", pad, 0)
    i, k = x.size, w.size
    o = conv_output_size(i, k, s, p)
    xp = np.concatenate([np.zeros(p), x, np.zeros(p)])
    direct = np.array([xp[j * s:j * s + k] @ w for j in range(o)])
    phases = phase_taps(k, s)
    rows = [("padded input", [(_num(v), "padding" if (u < p or u >= p + i) else
                               ("tail" if u > (o - 1) * s + k - 1 else "input"))
                              for u, v in enumerate(xp)])]
    terms = []
    for r, taps in enumerate(phases):
        comp = xp[r::s]
        qmax = max((q for _, q in taps), default=-1)
        sub = np.zeros(qmax + 1)
        for t, q in taps:
            sub[q] = w[t]
        y_r = np.array([comp[j:j + sub.size] @ sub for j in range(o)]) if taps else np.zeros(o)
        terms.append(y_r)
        pos = range(r, xp.size, s)
        rows.append((f"phase x{_phase(r)}", [(_num(v), "padding" if (u < p or u >= p + i) else
                                          ("tail" if m > o - 1 + qmax else "input"))
                                         for m, (u, v) in enumerate(zip(pos, comp))]))
    for r, taps in enumerate(phases):
        sub = [w[t] for t, _ in taps]
        rows.append((f"sub-kernel w{_phase(r)}", [(_num(v), "window") for v in sub]))
    for r in range(s):
        rows.append((f"y{_phase(r)} = x{_phase(r)} ⋆ w{_phase(r)}",
                     [(_num(v), "output") for v in terms[r]]))
    rows.append(("sum of the y" + "ᵣ", [(_num(v), "output") for v in np.sum(terms, axis=0)]))
    rows.append((f"stride-{s} convolution", [(_num(v), "output") for v in direct]))
    label_w = 6.2
    width = label_w + max(len(cells) for _, cells in rows) + 0.2
    fig, ax = _diagram(width, len(rows) * 1.25)
    for n, (label, cells) in enumerate(rows):
        y = n * 1.25
        ax.text(label_w - 0.3, y + 0.5, label, ha="right", va="center", fontsize=_FONT,
                color=COLORS["edge"])
        for c, (text, role) in enumerate(cells):
            _cell(ax, label_w + c, y, role, text)
    return fig


def _phase(r: int) -> str:
    """``r`` as the book writes a phase index, a superscript in parentheses: x⁽⁰⁾."""
    return "⁽" + "".join("⁰¹²³⁴⁵⁶⁷⁸⁹"[int(ch)] for ch in str(r)) + "⁾"


def plot_phases_2d(size: int | tuple[int, int] = 7, kernel: int | tuple[int, int] = 3,
                   stride: int | tuple[int, int] = 2, pad: int | tuple[int, int] = 0) -> Figure:
    r"""Small multiples, one per phase ``(r_h, r_w)``: which input cells the phase
    holds (blue; padding grey) and which kernel taps form its sub-kernel (orange).

    The sub-kernels' tap counts sum to :math:`F_H F_W`; the title of each panel
    gives its sub-kernel's size.
    """
    (H, W), (FH, FW) = check_pair("size", size, 1), check_pair("kernel", kernel, 1)
    s, p = check_pair("stride", stride, 1), check_pair("pad", pad, 0)
    if FH > H + 2 * p[0] or FW > W + 2 * p[1]:
        raise ValueError(f"kernel {(FH, FW)} does not fit the padded input "
                         f"{(H + 2 * p[0], W + 2 * p[1])}")
    Hp, Wp = H + 2 * p[0], W + 2 * p[1]
    rows_taps, cols_taps = phase_taps(FH, s[0]), phase_taps(FW, s[1])
    panel_w, panel_h = Wp + 0.6 + FW + 0.8, Hp + 2.2
    n = s[0] * s[1]
    per_row = max(1, min(n, int(7.5 / _CELL_2D_IN // panel_w)))
    n_rows = math.ceil(n / per_row)
    fig, ax = _diagram(per_row * panel_w, n_rows * panel_h, _CELL_2D_IN)
    for idx in range(n):
        rh, rw = divmod(idx, s[1])
        x0, y0 = (idx % per_row) * panel_w, (idx // per_row) * panel_h + 1.4
        for a in range(Hp):
            for b in range(Wp):
                pad_cell = a < p[0] or a >= p[0] + H or b < p[1] or b >= p[1] + W
                mine = a % s[0] == rh and b % s[1] == rw
                _cell(ax, x0 + b, y0 + a, ("padding" if pad_cell else "input") if mine else "blank")
        kx = x0 + Wp + 0.6
        taps = {(u, v) for u, _ in rows_taps[rh] for v, _ in cols_taps[rw]}
        for u in range(FH):
            for v in range(FW):
                _cell(ax, kx + v, y0 + u, "window" if (u, v) in taps else "blank")
        ax.text(x0, y0 - 0.45, f"phase ({rh}, {rw}): sub-kernel "
                f"{len(rows_taps[rh])}×{len(cols_taps[rw])}", ha="left", va="bottom",
                fontsize=_FONT, color=COLORS["edge"])
    return fig


def plot_channel_sweep(results: dict, dtypes: tuple[str, ...] = ("float32", "float64")) -> Figure:
    """Time of forward + backward relative to PyTorch against the input channels C.

    One row of panels per dtype, one column per sweep family of
    ``results["polyphase"]`` (S2's geometry, 3x3 stride 1; S4's, 7x7 stride 2),
    one line per implementation, PyTorch the dashed line at 1; log-log axes.
    Labels sit at the right end of each line.
    """
    from ..bench.polyphase_suite import sweep_rows  # noqa: PLC0415 (bench imports torch)

    fig = Figure(figsize=(7.4, 2.9 * len(dtypes) + 0.3), dpi=100)
    axes = np.atleast_2d(fig.subplots(len(dtypes), 2, sharex="col"))
    for row, dtype in enumerate(dtypes):
        for ax, family in zip(axes[row], ("k3s1", "k7s2")):
            _sweep_panel(ax, sweep_rows(results, family, dtype), results, family, dtype)
            if row == 0:
                g = results["polyphase"]["shapes"][sweep_rows(results, family, dtype)[0]["shape"]]
                ax.set_title(f"{g['FH']}×{g['FW']}, stride {g['stride']}, {g['H']}×{g['W']}, "
                             f"{g['FN']} filters", fontsize=_FONT)
            if row == len(dtypes) - 1:
                ax.set_xlabel("input channels C", fontsize=_FONT)
        axes[row][0].set_ylabel(f"time / PyTorch's\n{dtype}", fontsize=_FONT)
    fig.tight_layout()
    return fig


def _sweep_panel(ax: Axes, rows: list[dict], results: dict, family: str, dtype: str) -> None:
    if not rows:
        raise ValueError(f"results have no sweep family {family!r} in {dtype}")
    cs = [r["C"] for r in rows]
    ax.axhline(1.0, color=IMPL_COLORS["torch"], linestyle="--", linewidth=1.2)
    ax.annotate("PyTorch", (cs[0], 1.0), xytext=(0, 3), textcoords="offset points",
                color=IMPL_COLORS["torch"], fontsize=_FONT, va="bottom")
    for impl in ("vectorized", "polyphase"):
        ratio = [r[impl]["total"] / r["torch"]["total"] for r in rows]
        ax.plot(cs, ratio, marker="o", color=IMPL_COLORS[impl], linewidth=1.6)
        ax.annotate(_LABELS[impl].replace(" layer", ""), (cs[-1], ratio[-1]), xytext=(4, 0),
                    textcoords="offset points", va="center", fontsize=_FONT,
                    color=IMPL_COLORS[impl])
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.yaxis.set_minor_formatter(FuncFormatter(lambda v, _: ""))
    ax.set_xticks(cs, [str(c) for c in cs])
    ax.set_xlim(cs[0] / 1.3, cs[-1] * 5)
    ax.tick_params(labelsize=_FONT)
    ax.grid(True, which="major", color="#EEEEEE", linewidth=0.6)
