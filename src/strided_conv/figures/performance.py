"""Figures of the "Performance" chapter, drawn from a benchmark results dict.

Every function takes the dict :func:`strided_conv.bench.run` returns (or the
committed JSON loaded with ``json.load``) and returns a
:class:`matplotlib.figure.Figure`. One colour per implementation, taken from
the book's palette: PyTorch in the "output" green, the package's vectorized
layer in the "input" blue, the seed-style layer in the "window" orange, the
seed as written in grey, the naive loops in the "tail" red.
"""
from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from ..bench.report import memory_ratio
from . import COLORS

__all__ = ["IMPL_COLORS", "plot_conv_times", "plot_ratio_to_torch", "plot_memory",
           "plot_attention_scaling"]

IMPL_COLORS: dict[str, str] = {
    "torch": COLORS["output"],
    "vectorized": COLORS["input"],
    "seed_style": COLORS["window"],
    "original": "#8C8C8C",
    "naive": COLORS["tail"],
    "segment": COLORS["input"],
    "full": COLORS["tail"],
    "sdpa": COLORS["output"],
}


def _color(impl: str) -> str:
    return IMPL_COLORS.get(impl, COLORS["edge"])


def _grouped_bars(ax, groups: list[str], impls: list[str], value) -> None:
    """Bars of ``value(group, impl)`` (None = no bar), one centred cluster per group.

    Only the implementations measured in a group take a slot there, so a shape
    without the naive loops has no gap where they would be.
    """
    present = {g: [i for i in impls if value(g, i) is not None] for g in groups}
    width = 0.8 / max(1, max(len(p) for p in present.values()))
    for impl in impls:
        xs, ys = [], []
        for g, group in enumerate(groups):
            if impl in present[group]:
                k, n = present[group].index(impl), len(present[group])
                xs.append(g + (k - (n - 1) / 2) * width)
                ys.append(value(group, impl))
        if ys:  # no empty legend entry for an implementation absent from this panel
            ax.bar(xs, ys, width, color=_color(impl), edgecolor=COLORS["edge"], linewidth=0.5,
                   label=impl)
    ax.set_xticks(range(len(groups)), groups)


def _figure_legend(fig: Figure, **kwargs) -> None:
    """One legend for all panels, every label once, outside the axes."""
    handles = {}
    for ax in fig.axes:
        for h, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label, h)
    fig.legend(handles.values(), handles.keys(), loc="outside lower center",
               ncols=len(handles), fontsize=8, **kwargs)


def _impls(rows: list[dict], exclude: tuple[str, ...] = ()) -> list[str]:
    """Implementations in ``rows``, in the palette's order (unknown names last)."""
    order = list(IMPL_COLORS)
    names = [i for i in dict.fromkeys(r["impl"] for r in rows) if i not in exclude]
    return sorted(names, key=lambda i: order.index(i) if i in order else len(order))


def plot_conv_times(results: dict) -> Figure:
    """Median ms per implementation and shape, log scale; rows dtype, columns pass."""
    rows = results["conv"]["timings"]
    dtypes = results["config"]["dtypes"]
    shapes = list(results["conv"]["shapes"])
    fig = Figure(figsize=(10, 3.6 * len(dtypes)), layout="constrained")
    axes = fig.subplots(len(dtypes), 2, squeeze=False)
    median = {(r["impl"], r["shape"], r["dtype"], r["pass"]): r["median_s"] for r in rows}
    for i, dtype in enumerate(dtypes):
        for j, pass_ in enumerate(("forward", "backward")):
            ax = axes[i, j]
            _grouped_bars(ax, shapes, _impls(rows),
                          lambda s, impl: None if (impl, s, dtype, pass_) not in median
                          else 1e3 * median[(impl, s, dtype, pass_)])
            ax.set_yscale("log")
            ax.set_title(f"{pass_}, {dtype}")
            ax.set_ylabel("median time (ms)")
            ax.grid(axis="y", which="major", alpha=0.3)
    _figure_legend(fig)
    return fig


def plot_ratio_to_torch(results: dict) -> Figure:
    """(forward + backward time) / PyTorch's, per shape and dtype; lines at 1 and 2."""
    rows = results["conv"]["timings"]
    dtypes = results["config"]["dtypes"]
    shapes = list(results["conv"]["shapes"])
    median = {(r["impl"], r["shape"], r["dtype"], r["pass"]): r["median_s"] for r in rows}

    def ratio(impl: str, s: str, dtype: str) -> float | None:
        keys = [(impl, s, dtype, p) for p in ("forward", "backward")]
        refs = [("torch", s, dtype, p) for p in ("forward", "backward")]
        if not all(k in median for k in keys + refs):
            return None
        return sum(median[k] for k in keys) / sum(median[k] for k in refs)

    fig = Figure(figsize=(10, 3.6), layout="constrained")
    axes = fig.subplots(1, len(dtypes), squeeze=False, sharey=True)[0]
    impls = _impls(rows, exclude=("torch", "naive"))
    for ax, dtype in zip(axes, dtypes):
        _grouped_bars(ax, shapes, impls, lambda s, impl: ratio(impl, s, dtype))
        ax.axhline(1.0, color=IMPL_COLORS["torch"], linestyle="-", linewidth=1.5,
                   label="PyTorch (= 1)")
        ax.axhline(2.0, color=COLORS["edge"], linestyle="--", linewidth=1, label="2x")
        ax.set_title(f"forward + backward, {dtype}")
        ax.set_ylabel("time / PyTorch time")
    _figure_legend(fig)
    return fig


def plot_memory(results: dict) -> Figure:
    """Forward peak extra memory / (col buffer + output) against col buffer + output (MiB).

    Left: a first call on a fresh layer; right: a second call on the same layer,
    as in a training loop. Lines at 1 (the col buffer and the output, nothing
    else) and 1.25 (the target). The seed as written is drawn as hollow
    markers: its points coincide with the seed-style layer's.
    """
    rows = [m for m in results["conv"]["memory"]
            if m["pass"] == "forward" and m["peak_extra_bytes"] is not None]
    fig = Figure(figsize=(9, 4), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    for ax, key, title in zip(axes, ("peak_extra_bytes", "peak_repeat_bytes"),
                              ("first call", "repeated call (same layer)")):
        _memory_panel(ax, [m for m in rows if m.get(key) is not None], key)
        ax.set_title(title)
    axes[0].set_ylabel("forward peak extra memory / (col + out)")
    axes[1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    return fig


def _memory_panel(ax, rows: list[dict], key: str) -> None:
    markers = {"float32": "o", "float64": "s"}
    for impl in _impls(rows):
        hollow = impl == "original"
        for dtype, marker in markers.items():
            pts = [((m["col_bytes"] + m["out_bytes"]) / 2**20, memory_ratio(m, key))
                   for m in rows if m["impl"] == impl and m["dtype"] == dtype]
            if pts:
                x, y = np.array(pts).T
                ax.scatter(x, y, marker=marker, s=110 if hollow else 40,
                           facecolor="none" if hollow else _color(impl),
                           edgecolor=_color(impl) if hollow else COLORS["edge"],
                           linewidth=1.5 if hollow else 0.5, label=f"{impl} {dtype}", zorder=3)
    for m in rows:  # name the shapes once, under the float32 points of the vectorized layer
        if m["impl"] == "vectorized" and m["dtype"] == "float32":
            ax.annotate(m["shape"], ((m["col_bytes"] + m["out_bytes"]) / 2**20, memory_ratio(m, key)),
                        textcoords="offset points", xytext=(0, -14), ha="center", fontsize=8)
    ax.axhline(1.0, color=COLORS["edge"], linewidth=1, label="col + out")
    ax.axhline(1.25, color=COLORS["edge"], linewidth=1, linestyle="--", label="1.25 x (col + out)")
    ax.set_xscale("log")
    ax.set_xlabel("col buffer + output (MiB)")


def plot_attention_scaling(results: dict) -> Figure:
    """Time per sequence against n, log-log, with each fitted slope in the legend."""
    att = results["attention"]
    fig = Figure(figsize=(6, 4.5), layout="constrained")
    ax = fig.subplots()
    for impl in _impls(att["timings"]):
        pts = sorted((t["n"], 1e3 * t["median_per_sequence_s"])
                     for t in att["timings"] if t["impl"] == impl)
        n, ms = np.array(pts).T
        slope = att["slopes"].get(impl)
        label = impl if slope is None else f"{impl} (slope {slope:.2f})"
        ax.plot(n, ms, marker="o", color=_color(impl), label=label,
                linestyle="--" if impl == "sdpa" else "-")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("sequence length n")
    ax.set_ylabel("median time per sequence (ms)")
    ax.grid(which="major", alpha=0.3)
    ax.legend(fontsize=8)
    return fig
