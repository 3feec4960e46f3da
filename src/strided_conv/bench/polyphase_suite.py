"""The polyphase chapter's sweep of the input channels C (``--suite polyphase``).

For every shape of :data:`~strided_conv.bench.cases.SWEEP_SHAPES` (S2's and S4's
geometries with C from 1 to 128) and every dtype: the implementations are
checked against PyTorch, then forward and backward are timed interleaved, as
in the conv suite (no memory measurement). By default the implementations are
PyTorch, the im2col layer (``vectorized``) and ``polyphase``; ``--impls``
chooses others.

Readers for the chapter (they take the results dict only, so the chapter's
numbers come from the committed JSON): :func:`sweep_rows`,
:func:`channel_crossover`, :func:`layer_comparison_markdown`.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from .cases import SWEEP_SHAPES, TINY_SWEEP_SHAPES, ConvShape
from .config import BenchConfig
from .conv_impls import CONV_IMPLS, REFERENCE
from .conv_suite import _repeats, run_case
from .report import markdown_table

__all__ = ["SWEEP_IMPLS", "sweep_shapes", "run_polyphase_suite", "planned_sweep_repetitions",
           "sweep_rows", "channel_crossover", "layer_comparison_markdown"]

Tick = Callable[[str], None]

#: The implementations the sweep compares unless ``config.impls`` says otherwise.
SWEEP_IMPLS = (REFERENCE, "vectorized", "polyphase")


def sweep_shapes(config: BenchConfig) -> dict[str, ConvShape]:
    """The sweep's shapes: :data:`SWEEP_SHAPES`, or the tiny ones for ``--tiny``."""
    return TINY_SWEEP_SHAPES if config.tiny else SWEEP_SHAPES


def _impls(config: BenchConfig, dtype: str) -> list[str]:
    wanted = config.impls if config.impls is not None else SWEEP_IMPLS
    unknown = sorted(set(wanted) - set(CONV_IMPLS))
    if unknown:
        raise ValueError(f"impls {unknown} unknown; registered: {sorted(CONV_IMPLS)}")
    return [n for n in CONV_IMPLS if (n in wanted or n == REFERENCE)
            and dtype in CONV_IMPLS[n].dtypes and not CONV_IMPLS[n].slow]


def planned_sweep_repetitions(config: BenchConfig) -> int:
    """Timed repetitions of the sweep (the progress bar's share)."""
    if "polyphase" not in config.suites:
        return 0
    return sum(_repeats(config, n) * (2 if CONV_IMPLS[n].has_backward else 1)
               for dtype in config.dtypes for _ in sweep_shapes(config)
               for n in _impls(config, dtype))


def run_polyphase_suite(config: BenchConfig, tick: Tick) -> dict[str, Any]:
    """Check and time every sweep shape and dtype: the ``"polyphase"`` part of the JSON.

    Returns
    -------
    dict
        ``shapes`` {name: shape as in the conv suite}, ``checks`` [...],
        ``timings`` [{shape, dtype, pass, impl, times_s, median_s, flops,
        gflops, ratio_to_torch}].
    """
    shapes = sweep_shapes(config)
    checks, timings = [], []
    for dtype in config.dtypes:
        for sname, shape in shapes.items():
            case = run_case(sname, shape, dtype, config, tick, names=_impls(config, dtype),
                            memory=False)
            checks += case["checks"]
            timings += case["timings"]
    ref = {(t["shape"], t["dtype"], t["pass"]): t["median_s"]
           for t in timings if t["impl"] == REFERENCE}
    for t in timings:
        t["gflops"] = t["flops"] / t["median_s"] / 1e9
        t["ratio_to_torch"] = t["median_s"] / ref[(t["shape"], t["dtype"], t["pass"])]
    return {"shapes": {s: sh.as_dict() for s, sh in shapes.items()}, "checks": checks,
            "timings": timings}


def sweep_rows(results: dict, family: str, dtype: str) -> list[dict[str, Any]]:
    """One row per channel count of a sweep family (``"k3s1"`` or ``"k7s2"``).

    Returns
    -------
    list of dict
        Sorted by C: ``{"C", "shape", impl: {"forward", "backward", "total"} in
        seconds (medians) for every implementation timed}``; shapes with no
        timing in ``dtype`` are left out.
    """
    sweep = results.get("polyphase") or {}
    rows: dict[str, dict[str, Any]] = {}
    for name, s in sweep.get("shapes", {}).items():
        if name.split("-")[0] == family:
            rows[name] = {"C": s["C"], "shape": name}
    for t in sweep.get("timings", []):
        if t["shape"] in rows and t["dtype"] == dtype:
            cell = rows[t["shape"]].setdefault(t["impl"], {})
            cell[t["pass"]] = t["median_s"]
    for row in rows.values():
        for impl, cell in list(row.items()):
            if isinstance(cell, dict):
                cell["total"] = cell.get("forward", math.nan) + cell.get("backward", math.nan)
    timed = [r for r in rows.values() if any(isinstance(v, dict) for v in r.values())]
    return sorted(timed, key=lambda r: r["C"])


def channel_crossover(results: dict, family: str, dtype: str, impl: str = "polyphase",
                      other: str = "vectorized", pass_: str = "total") -> float | None:
    """The channel count at which ``impl`` and ``other`` take equal time.

    Interpolated linearly in ``log C`` on the log of the time ratio between the
    two neighbouring measured C where the ratio crosses 1; None if it never does
    (scanning C upwards, the first crossing is returned).
    """
    pts = [(r["C"], r[impl][pass_] / r[other][pass_]) for r in sweep_rows(results, family, dtype)
           if impl in r and other in r]
    for (c0, q0), (c1, q1) in zip(pts, pts[1:]):
        if (q0 - 1) * (q1 - 1) <= 0 and q0 != q1:
            f = math.log(q0) / (math.log(q0) - math.log(q1))
            return math.exp(math.log(c0) + f * (math.log(c1) - math.log(c0)))
    return None


def layer_comparison_markdown(results: dict, dtype: str,
                              impls: tuple[str, ...] = SWEEP_IMPLS) -> str:
    """A Markdown pipe table of the conv suite's shapes in ``dtype``, one row per
    implementation: forward and backward medians (ms), forward + backward over
    PyTorch's, and the forward's fraction of the run's GEMM peak."""
    conv = results["conv"]
    by_key = {(t["impl"], t["shape"], t["pass"]): t for t in conv["timings"]
              if t["dtype"] == dtype}
    rows = []
    for shape in conv["shapes"]:
        ref = [by_key.get((REFERENCE, shape, p)) for p in ("forward", "backward")]
        for k, impl in enumerate(i for i in impls if (i, shape, "forward") in by_key):
            f, b = by_key[(impl, shape, "forward")], by_key.get((impl, shape, "backward"))
            total = None if b is None or None in ref else (
                (f["median_s"] + b["median_s"]) / (ref[0]["median_s"] + ref[1]["median_s"]))
            rows.append([shape if k == 0 else "", f"`{impl}`", f"{f['median_s'] * 1e3:,.2f}",
                         "–" if b is None else format(b["median_s"] * 1e3, ",.2f"),
                         "–" if total is None else format(total, ".2f"),
                         f"{f['fraction_of_gemm_peak']:.0%}"])
    return markdown_table(["shape", "implementation", "forward ms", "backward ms",
                           "fwd+bwd × PyTorch", "forward % of peak"], rows, "llrrrr")
