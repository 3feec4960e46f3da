"""Figures of the "DownConv at work" chapter: PAUP's layer cost and the recommender runs.

Every function takes the committed JSON (loaded with ``json.load``) or rows
derived from it and returns a :class:`matplotlib.figure.Figure`, sized for the
page (:data:`~strided_conv.figures.COLUMN_WIDTH_IN` wide, text >= 9 pt).
Colours come from the Okabe-Ito palette: one per model and one per layer part,
with direct labels instead of legends where lines allow it.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FormatStrFormatter, LogLocator, MaxNLocator, NullFormatter

from ..attention import loglog_slope
from . import COLORS, OKABE_ITO

__all__ = ["MODEL_COLORS", "PART_COLORS", "PART_LABELS", "MODEL_LABELS", "plot_paup_cost",
           "plot_rec_metrics", "plot_rec_validation", "plot_step_times", "part_slopes"]

#: One colour per attention kind of :mod:`strided_conv.rec.model`.
MODEL_COLORS: dict[str, str] = {
    "full": OKABE_ITO["vermillion"],
    "segment": OKABE_ITO["blue"],
    "paup": OKABE_ITO["reddish_purple"],
    "paup-nopos": OKABE_ITO["bluish_green"],
}
MODEL_LABELS: dict[str, str] = {
    "full": "full causal",
    "segment": "SegmentAttention",
    "paup": "PAUP layer",
    "paup-nopos": "PAUP, no pos.",
}
#: One colour per timed part of :func:`strided_conv.paup.paup_branch_times`.
PART_COLORS: dict[str, str] = {
    "layer": OKABE_ITO["black"],
    "variant": OKABE_ITO["bluish_green"],
    "positional": OKABE_ITO["vermillion"],
    "projections": OKABE_ITO["blue"],
    "downconv": OKABE_ITO["orange"],
    "segment_scores": OKABE_ITO["sky_blue"],
    "output": OKABE_ITO["reddish_purple"],
}
PART_LABELS: dict[str, str] = {
    "layer": "published layer",
    "variant": "without positional branch",
    "positional": "positional branch",
    "projections": "Q, K, V projections",
    "downconv": "two DownConvs",
    "segment_scores": "n x m scores",
    "output": "dense + LayerNorm",
}


def part_slopes(cost: dict[str, Any], n_min: int = 0) -> dict[str, float]:
    """Fitted exponent of ``time ~ n^slope`` for every timed part, over the measured
    ``n >= n_min`` (at small n fixed per-call costs flatten every line)."""
    slopes = {}
    for part in PART_COLORS:
        pts = [(n, t) for n, t in zip(cost["n"], cost[part]) if t is not None and n >= n_min]
        if len(pts) >= 2:
            slopes[part] = loglog_slope(*zip(*pts))
    return slopes


def _loglog_lines(ax, cost: dict[str, Any], parts: list[str], slopes: dict[str, float]) -> None:
    for part in parts:
        pts = [(n, t * 1e3) for n, t in zip(cost["n"], cost[part]) if t is not None]
        ns, ts = zip(*pts)
        ax.plot(ns, ts, "o-", color=PART_COLORS[part], lw=1.5, ms=4,
                label=f"{PART_LABELS[part]}: slope {slopes[part]:.2f}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.xaxis.set_minor_formatter(NullFormatter())  # minor labels collide on short ranges
    ax.set_xlabel("sequence length n")
    ax.set_ylabel("forward time (ms)")
    ax.grid(True, which="major", color="#DDDDDD", lw=0.5)
    # the lines rise to the right, so the upper left corner is free for the key
    ax.legend(loc="upper left", fontsize=9, frameon=False, handlelength=1.2)


def plot_paup_cost(cost: dict[str, Any], n_min: int = 0) -> Figure:
    """Forward time against n, log-log: left the whole layer with and without the
    positional branch, right each part; every line labelled with its slope fitted over
    ``n >= n_min`` (:func:`part_slopes`)."""
    slopes = part_slopes(cost, n_min)
    fig = Figure(figsize=(7.2, 3.8), layout="constrained")
    left, right = fig.subplots(1, 2)
    _loglog_lines(left, cost, ["layer", "variant"], slopes)
    _loglog_lines(right, cost, ["positional", "projections", "downconv", "segment_scores",
                                "output"], slopes)
    for ax in (left, right):
        lo, hi = ax.get_ylim()
        ax.set_ylim(lo, hi * 10 ** (0.3 * np.log10(hi / lo)))  # headroom for the key
    left.set_title("whole layer")
    right.set_title("its parts")
    return fig


def _models(rows: list[dict[str, Any]]) -> list[str]:
    present = {r["model"] for r in rows}
    return [m for m in MODEL_COLORS if m in present]


def plot_rec_metrics(rows: list[dict[str, Any]], runs: list[dict[str, Any]],
                     kind: str = "full") -> Figure:
    """``HR@10`` and ``NDCG@10`` per model and max length: bars are means over seeds, error
    bars one standard error over users (of each user's metric averaged over the seeds),
    dots the individual seeds."""
    models = _models(rows)
    lengths = sorted({r["max_len"] for r in rows})
    fig = Figure(figsize=(7.2, 3.3), layout="constrained")
    axes = fig.subplots(1, 2)
    width = 0.8 / len(models)
    for ax, metric, title in zip(axes, ("hr", "ndcg"), ("HR@10", "NDCG@10")):
        for k, model in enumerate(models):
            for g, n in enumerate(lengths):
                row = next((r for r in rows if r["model"] == model and r["max_len"] == n), None)
                if row is None:
                    continue
                x = g + (k - (len(models) - 1) / 2) * width
                ax.bar(x, row[metric], width, color=MODEL_COLORS[model],
                       edgecolor=COLORS["edge"], linewidth=0.5,
                       label=MODEL_LABELS[model] if g == 0 else None)
                ax.errorbar(x, row[metric], yerr=row[f"{metric}_se_users"], color="black",
                            capsize=3, lw=1)
                seeds = [r["test"][kind][metric] for r in runs
                         if r["model"] == model and r["max_len"] == n]
                ax.plot([x] * len(seeds), seeds, "o", ms=3.5, mfc="white",
                        mec=COLORS["edge"], mew=0.8)
        ax.set_xticks(range(len(lengths)), [f"max length {n}" for n in lengths])
        ax.set_ylabel(f"test {title} ({'full ranking' if kind == 'full' else 'sampled'})")
        ax.set_ylim(0, None)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=len(models), fontsize=9)
    return fig


def plot_rec_validation(runs: list[dict[str, Any]]) -> Figure:
    """Validation ``NDCG@10`` after each epoch, one line per run, one panel per max length;
    a ring marks the epoch whose weights were tested."""
    lengths = sorted({r["max_len"] for r in runs})
    fig = Figure(figsize=(7.2, 3.2), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(lengths), sharey=True))
    for ax, n in zip(axes, lengths):
        for run in (r for r in runs if r["max_len"] == n):
            epochs = [e["epoch"] for e in run["epochs"]]
            values = [e["valid_ndcg10"] for e in run["epochs"]]
            color = MODEL_COLORS[run["model"]]
            ax.plot(epochs, values, "-", color=color, lw=1.2,
                    label=MODEL_LABELS[run["model"]] if run["seed"] == min(
                        r["seed"] for r in runs if r["max_len"] == n) else None)
            best = run["best_epoch"]
            ax.plot(best, values[epochs.index(best)], "o", mfc="none", mec=color, ms=7)
        ax.set_title(f"max length {n}")
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(True, color="#DDDDDD", lw=0.5)
    axes[0].set_ylabel("validation NDCG@10")
    # the key in the colour table's order, as in the metrics figure
    keyed = dict(zip(*reversed(axes[0].get_legend_handles_labels())))
    labels = [MODEL_LABELS[m] for m in MODEL_COLORS if MODEL_LABELS[m] in keyed]
    fig.legend([keyed[k] for k in labels], labels, loc="outside lower center",
               ncols=len(labels), fontsize=9)
    return fig


def plot_step_times(rows: list[dict[str, Any]], reference: str = "segment") -> Figure:
    """Training time per prefix against the history length, per model (left, log-log),
    and each model's time divided by ``reference``'s at the same length (right).

    ``rows``: :func:`strided_conv.rec.train.step_times` rows (``max_len``, ``model``,
    ``ms_per_prefix``), every model at every length.
    """
    models = _models(rows)
    ms = {(r["max_len"], r["model"]): r["ms_per_prefix"] for r in rows}
    lengths = sorted({n for n, _ in ms})
    fig = Figure(figsize=(7.2, 3.4), layout="constrained")
    left, right = fig.subplots(1, 2)
    for model in models:
        color = MODEL_COLORS[model]
        left.plot(lengths, [ms[(n, model)] for n in lengths], "o-", color=color, lw=1.5,
                  ms=4, label=MODEL_LABELS[model])
        if model != reference:
            right.plot(lengths, [ms[(n, model)] / ms[(n, reference)] for n in lengths],
                       "o-", color=color, lw=1.5, ms=4)
    right.axhline(1.0, color=MODEL_COLORS[reference], lw=1.5)
    for ax in (left, right):
        ax.set_xscale("log")
        ax.set_xticks(lengths, [str(n) for n in lengths])
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("history length n")
        ax.grid(True, which="major", color="#DDDDDD", lw=0.5)
    left.set_yscale("log")
    # plain numbers (0.2, 0.5, 1, ...) instead of 2 x 10^-1 on a short log axis
    left.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    left.yaxis.set_major_formatter(FormatStrFormatter("%g"))
    left.yaxis.set_minor_formatter(NullFormatter())
    left.set_ylabel("training ms per prefix")
    right.set_ylabel(f"time / {MODEL_LABELS[reference]}'s")
    right.set_ylim(0, None)
    handles, labels = left.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=len(models), fontsize=9)
    return fig
