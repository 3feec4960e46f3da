"""Run files of ``python -m strided_conv.rec``: header, merge, per-model summaries.

A run file is JSON: ``schema``, ``command``, ``started``/``finished`` (UTC, ISO
8601), ``wall_seconds``, ``machine`` (``strided_conv.bench.machine.machine_info()``
plus the load average at the start and the end), ``data`` (file name, SHA-256,
statistics), ``config`` and ``runs`` (one entry per model, length and seed, from
:func:`~strided_conv.rec.train.train_run`). A run can be done in parts, each
writing its own file; :func:`merge_results` joins them and keeps every part's
header in ``parts``.
"""
from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from .metrics import hit_rate, ndcg, standard_error

__all__ = ["SCHEMA", "utc_now", "file_sha256", "merge_results", "load_results",
           "summarize_runs", "epoch_seconds", "ms_per_prefix", "paired_difference",
           "crossover_length",
           "results_markdown"]

SCHEMA = "strided_conv.rec/1"


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def file_sha256(path: str | os.PathLike) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def load_results(path: str | os.PathLike) -> dict[str, Any]:
    """Read a run file and check its schema."""
    data = json.loads(Path(path).read_text())
    if data.get("schema") != SCHEMA:
        raise ValueError(f"{path}: schema must be {SCHEMA!r}, got {data.get('schema')!r}")
    return data


def merge_results(parts: Iterable[dict[str, Any]], names: Iterable[str] = ()
                  ) -> dict[str, Any]:
    """Join run files: every run, every part's header; refuse different data or duplicates.

    ``wall_seconds`` of the result is from the earliest start to the latest end;
    ``process_seconds`` the sum of the parts' wall times (they may have run side by side).
    """
    parts, names = list(parts), list(names)
    if not parts:
        raise ValueError("merge needs at least one run file")
    names = names + [f"part{i}" for i in range(len(names), len(parts))]
    sha = {p["data"]["sha256"] for p in parts}
    if len(sha) != 1:
        raise ValueError(f"the parts were run on different data files (sha256 {sorted(sha)})")
    runs, seen = [], set()
    for name, part in zip(names, parts):
        for run in part["runs"]:
            key = (run["model"], run["max_len"], run["seed"])
            if key in seen:
                raise ValueError(f"{name}: run {key} (model, max_len, seed) appears twice")
            seen.add(key)
            runs.append(run)
    headers = [{"name": name, **{k: v for k, v in p.items() if k not in ("runs", "parts")}}
               for name, p in zip(names, parts)]
    return {
        "schema": SCHEMA,
        "started": min(p["started"] for p in parts),
        "finished": max(p["finished"] for p in parts),
        "wall_seconds": (datetime.fromisoformat(max(p["finished"] for p in parts))
                         - datetime.fromisoformat(min(p["started"] for p in parts))
                         ).total_seconds(),
        "process_seconds": float(sum(p["wall_seconds"] for p in parts)),
        "data": parts[0]["data"],
        "parts": headers,
        "runs": sorted(runs, key=lambda r: (r["max_len"], r["model"], r["seed"])),
    }


def epoch_seconds(run: dict[str, Any]) -> float:
    """Median training seconds per epoch of one run (the median resists load spikes)."""
    return float(np.median([e["train_seconds"] for e in run["epochs"]]))


def ms_per_prefix(run: dict[str, Any]) -> float:
    """Median over epochs of training milliseconds per prefix (forward, backward, step).

    Comparable across runs whose epochs hold different numbers of prefixes.
    """
    return float(np.median([1e3 * e["train_seconds"] / e["samples"] for e in run["epochs"]]))


def _per_user(runs: list[dict[str, Any]], fn, kind: str, k: int) -> np.ndarray:
    """``(seeds, users)``: the metric of every user in every run of ``runs``."""
    return np.stack([fn(np.asarray(r["test"][kind]["ranks"]), k) for r in runs])


def summarize_runs(results: dict[str, Any], kind: str = "full", k: int = 10
                   ) -> list[dict[str, Any]]:
    """One row per (max_len, model): metrics over seeds and users.

    For HR@k and NDCG@k: ``mean`` over seeds and users; ``se_users`` the
    standard error over users of each user's metric averaged over the seeds (the
    error of ``mean`` that comes from which users there are; training noise is in
    the spread); ``seed_spread`` max minus min over seeds of the per-seed means
    (0 with one seed). Also ``seeds``, ``epochs`` (mean number run),
    ``epoch_seconds`` and ``ms_per_prefix`` (means over seeds of each run's
    median, :func:`epoch_seconds`, :func:`ms_per_prefix`) and ``parameters``.
    """
    groups: dict[tuple[int, str], list[dict[str, Any]]] = {}
    for run in results["runs"]:
        groups.setdefault((run["max_len"], run["model"]), []).append(run)
    rows = []
    for (max_len, model), runs in sorted(groups.items()):
        row: dict[str, Any] = {"max_len": max_len, "model": model, "seeds": len(runs),
                               "parameters": runs[0]["parameters"],
                               "epochs": float(np.mean([len(r["epochs"]) for r in runs])),
                               "epoch_seconds": float(np.mean([epoch_seconds(r)
                                                               for r in runs])),
                               "ms_per_prefix": float(np.mean([ms_per_prefix(r)
                                                               for r in runs]))}
        for name, fn in (("hr", hit_rate), ("ndcg", ndcg)):
            per_user = _per_user(runs, fn, kind, k)
            means = per_user.mean(axis=1)
            row[name] = float(means.mean())
            row[f"{name}_se_users"] = standard_error(per_user.mean(axis=0))
            row[f"{name}_seed_spread"] = float(means.max() - means.min())
        rows.append(row)
    return rows


def paired_difference(results: dict[str, Any], model_a: str, model_b: str, max_len: int,
                      metric: str = "ndcg", kind: str = "full", k: int = 10
                      ) -> dict[str, Any]:
    """``metric(a) - metric(b)``, paired by user and by seed, with two significance tests.

    Only seeds both models ran count. Returns

    - ``diff``: the mean over seeds and users of the difference;
    - ``se`` and ``z = diff / se``: the standard error over users of each user's
      difference averaged over the seeds (pairing removes the users' own
      difficulty; training noise is not in it);
    - ``seed_diffs``: each seed's mean difference, ``seeds`` their number, and
      ``agree`` how many have the sign of ``diff``;
    - ``t``: the paired t statistic over seeds, ``diff / (std(seed_diffs) /
      sqrt(seeds))``, with ``seeds - 1`` degrees of freedom (``nan`` with one seed).
      It counts training noise, which ``z`` does not.
    """
    fn = {"hr": hit_rate, "ndcg": ndcg}[metric]
    by = {(r["model"], r["seed"]): r for r in results["runs"] if r["max_len"] == max_len}
    seeds = sorted(s for (m, s) in by if m == model_a and (model_b, s) in by)
    if not seeds:
        raise ValueError(f"no seed has both {model_a!r} and {model_b!r} at max_len={max_len}")
    d = (_per_user([by[(model_a, s)] for s in seeds], fn, kind, k)
         - _per_user([by[(model_b, s)] for s in seeds], fn, kind, k))
    diff, se = float(d.mean()), standard_error(d.mean(axis=0))
    seed_diffs = d.mean(axis=1)
    seed_se = standard_error(seed_diffs) if len(seeds) > 1 else 0.0
    t = diff / seed_se if seed_se > 0 else float("nan")
    return {"diff": diff, "se": se, "z": diff / se if se > 0 else float("nan"),
            "seeds": len(seeds), "seed_diffs": [float(v) for v in seed_diffs],
            "agree": int(np.sum(np.sign(seed_diffs) == np.sign(diff))), "t": float(t)}


def crossover_length(rows: list[dict[str, Any]], slow: str = "full", fast: str = "segment"
                     ) -> dict[str, Any]:
    """Where ``fast`` starts to train faster than ``slow``, from training time per prefix.

    ``rows`` carry ``max_len``, ``model`` and ``ms_per_prefix``: the rows of
    :func:`strided_conv.rec.train.step_times` (or of :func:`summarize_runs`).
    ``ratios`` maps each max length to ``ms_per_prefix(slow) / ms_per_prefix(fast)``;
    ``crossover`` is the length where the ratio reaches 1, interpolated log-log
    between the two measured lengths around it; ``"below"`` when the ratio is
    already above 1 at the shortest length, ``None`` when it never reaches 1.
    """
    sec = {(r["max_len"], r["model"]): r["ms_per_prefix"] for r in rows}
    lengths = sorted(n for (n, m) in sec if m == slow and (n, fast) in sec)
    ratios = {n: sec[(n, slow)] / sec[(n, fast)] for n in lengths}
    crossover: float | str | None = None
    if lengths and ratios[lengths[0]] >= 1:
        crossover = "below"
    else:
        for n0, n1 in zip(lengths, lengths[1:]):
            r0, r1 = ratios[n0], ratios[n1]
            if r0 < 1 <= r1:
                f = -np.log(r0) / (np.log(r1) - np.log(r0))
                crossover = float(np.exp(np.log(n0) + f * (np.log(n1) - np.log(n0))))
                break
    return {"ratios": ratios, "crossover": crossover}


def results_markdown(rows: list[dict[str, Any]], labels: dict[str, str] | None = None,
                     epochs: bool = True) -> str:
    """A Markdown table of :func:`summarize_runs` rows: metrics with their standard errors,
    the seed spread of NDCG, and (``epochs``) the mean number of epochs run and the
    training seconds per epoch (``epoch_seconds``)."""
    labels = labels or {}
    head = "| n | model | seeds | HR@10 | NDCG@10 | spread |"
    rule = "|---:|:---|---:|---:|---:|---:|"
    if epochs:
        head, rule = head + " epochs | s / epoch |", rule + "---:|---:|"
    lines = [head, rule]
    for r in rows:
        line = (f"| {r['max_len']} | {labels.get(r['model'], r['model'])} | {r['seeds']} "
                f"| {r['hr']:.4f}&nbsp;±&nbsp;{r['hr_se_users']:.4f} "
                f"| {r['ndcg']:.4f}&nbsp;±&nbsp;{r['ndcg_se_users']:.4f} "
                f"| {r['ndcg_seed_spread']:.4f} |")
        if epochs:
            line += f" {r['epochs']:.1f} | {r['epoch_seconds']:.1f} |"
        lines.append(line)
    return "\n".join(lines)
