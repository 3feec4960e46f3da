"""Command line: ``python -m strided_conv.rec {train,merge,stats,steps,cost}``.

``train`` trains every ``--models`` x ``--seeds`` at one ``--max-len`` on
MovieLens-100k (or ``--data FILE``, a RecBole ``.inter`` file) with a progress bar
on stderr, and writes one JSON run file (:mod:`strided_conv.rec.results`).
``merge`` joins run files made in parts. ``stats`` prints the data statistics.
``steps`` times one training step of every model, interleaved
(:func:`strided_conv.rec.train.step_times`): the models' speeds, which the
training run's epoch times cannot compare when the machine's load changes.
``cost`` times PAUP's layer and each of its branches against ``n``
(:func:`strided_conv.paup.paup_branch_times`) and writes JSON.

Examples::

    python -m strided_conv.rec train --max-len 50 --seeds 0 1 2 -o part50.json
    python -m strided_conv.rec merge part50.json part200.json -o book/rec_results.json
    python -m strided_conv.rec steps --max-len 50 200 -o book/rec_step_times.json
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

import torch

from .. import __version__
from ..downconv import downconv_sizes
from ..bench.machine import load_average, machine_info
from .data import history_stats, load_ml100k, ml100k_path
from .model import ATTENTIONS
from .results import SCHEMA, file_sha256, load_results, merge_results, utc_now
from .train import TrainConfig, step_times, train_run

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m strided_conv.rec",
        description="Next-item recommendation on MovieLens-100k with full, segment or PAUP "
                    "attention: train, merge run files, data statistics, layer cost.")
    sub = parser.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train models and write a JSON run file")
    t.add_argument("--models", nargs="+", default=list(ATTENTIONS[:3]), choices=ATTENTIONS,
                   help="attention kinds (default: %(default)s)")
    t.add_argument("--seeds", nargs="+", type=int, default=[0], help="seeds (default: 0)")
    t.add_argument("--max-len", type=int, default=50, help="history length n (default: 50)")
    t.add_argument("--m-segments", type=int, default=None,
                   help="DownConv segments m (default: 5 at n=50, 4 at n=200)")
    t.add_argument("--k1", type=int, default=None,
                   help="DownConv first kernel k1 (default: 5 at n=50, 10 at n=200)")
    t.add_argument("--max-epochs", type=int, default=30)
    t.add_argument("--patience", type=int, default=3,
                   help="stop after this many epochs without a better validation NDCG@10")
    t.add_argument("--round-batches", type=int, default=None,
                   help="batches per epoch; default: one full pass over the training prefixes")
    t.add_argument("--batch-size", type=int, default=256)
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--negatives", type=int, default=100,
                   help="sampled negatives per test user for the sampled metrics (default: 100)")
    t.add_argument("--threads", type=int, default=1, help="torch threads (default: 1)")
    t.add_argument("--data", type=Path, default=None,
                   help="a RecBole .inter file (default: MovieLens-100k from the recbole wheel)")
    t.add_argument("--no-progress", action="store_true", help="no progress bar")
    t.add_argument("-o", "--output", type=Path, required=True, help="JSON run file to write")

    m = sub.add_parser("merge", help="join run files made in parts")
    m.add_argument("parts", nargs="+", type=Path)
    m.add_argument("--note", default=None,
                   help="a sentence stored with the merged file (e.g. how a part was stopped)")
    m.add_argument("-o", "--output", type=Path, required=True)

    s = sub.add_parser("stats", help="print the data statistics as JSON")
    s.add_argument("--data", type=Path, default=None)

    st = sub.add_parser("steps", help="time a training step of every model, interleaved")
    st.add_argument("--max-len", nargs="+", type=int, default=[50, 200])
    st.add_argument("--models", nargs="+", default=list(ATTENTIONS), choices=ATTENTIONS)
    st.add_argument("--batch-size", type=int, default=128)
    st.add_argument("--repeats", type=int, default=10, help="timed rounds (default: 10)")
    st.add_argument("--warmup", type=int, default=2, help="untimed steps per model first")
    st.add_argument("--threads", type=int, default=1, help="torch threads (default: 1)")
    st.add_argument("--data", type=Path, default=None)
    st.add_argument("-o", "--output", type=Path, required=True)

    c = sub.add_parser("cost", help="time PAUP's layer and its branches against n")
    c.add_argument("--n", nargs="+", type=int,
                   default=[200, 500, 1000, 2000, 5000, 10000, 20000])
    c.add_argument("--repeats", type=int, default=3)
    c.add_argument("--max-map-gb", type=float, default=1.0,
                   help="skip parts whose n x n map exceeds this (default: 1 GB)")
    c.add_argument("-o", "--output", type=Path, required=True)
    return parser


_NUMBER_LIST = re.compile(r"\[\s*(-?[\d.e+-]+(?:,\s*-?[\d.e+-]+)*)\s*\]")


def _write(path: Path, data: dict[str, Any]) -> None:
    """Indented JSON, but every list of plain numbers on one line (ranks: 943 per run)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(data, indent=1)
    text = _NUMBER_LIST.sub(lambda m: "[" + ", ".join(v.strip() for v in m.group(1).split(","))
                            + "]", text)
    path.write_text(text + "\n")


def _train(args: argparse.Namespace) -> int:
    torch.set_num_threads(args.threads)
    data_path = ml100k_path() if args.data is None else args.data
    histories = load_ml100k(data_path)
    config = TrainConfig(max_len=args.max_len, m_segments=args.m_segments, k1=args.k1,
                         batch_size=args.batch_size, lr=args.lr, max_epochs=args.max_epochs,
                         patience=args.patience, round_batches=args.round_batches,
                         n_negatives=args.negatives)
    # Fail now, not after the first model, on sizes a DownConv cannot cut.
    m_segments, k1 = config.segments()
    if any(model != "full" for model in args.models):
        downconv_sizes(args.max_len, m_segments, k1)
    started, t0 = utc_now(), time.perf_counter()
    header = {"schema": SCHEMA, "command": ["python", "-m", "strided_conv.rec", *sys.argv[1:]],
              "started": started, "strided_conv": __version__,
              "machine": {**machine_info(), "load_average_start": load_average()},
              "data": {"file": Path(data_path).name, "sha256": file_sha256(data_path),
                       "stats": history_stats(histories)}}
    runs = []
    for attention in args.models:
        for seed in args.seeds:
            runs.append(train_run(histories, attention, seed, config,
                                  progress=not args.no_progress))
            # write after every run, so a stopped job keeps what it finished
            _write(args.output, {**header, "finished": utc_now(),
                                 "wall_seconds": time.perf_counter() - t0, "runs": runs})
            best = runs[-1]["test"]["full"]
            print(f"{attention} n={args.max_len} seed={seed}: HR@10 {best['hr']:.4f} "
                  f"NDCG@10 {best['ndcg']:.4f} ({runs[-1]['seconds']:.0f} s)", file=sys.stderr)
    header["machine"]["load_average_end"] = load_average()
    _write(args.output, {**header, "finished": utc_now(),
                         "wall_seconds": time.perf_counter() - t0, "runs": runs})
    return 0


def _steps(args: argparse.Namespace) -> int:
    torch.set_num_threads(args.threads)
    data_path = ml100k_path() if args.data is None else args.data
    started, load_start = utc_now(), load_average()
    times = step_times(load_ml100k(data_path), args.max_len, args.models, args.batch_size,
                       args.repeats, args.warmup)
    _write(args.output, {"schema": "strided_conv.rec_steps/1",
                         "command": ["python", "-m", "strided_conv.rec", *sys.argv[1:]],
                         "started": started, "finished": utc_now(),
                         "machine": {**machine_info(), "load_average_start": load_start,
                                     "load_average_end": load_average()},
                         "data": {"file": Path(data_path).name,
                                  "sha256": file_sha256(data_path)}, **times})
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "train":
            return _train(args)
        if args.command == "merge":
            merged = merge_results([load_results(p) for p in args.parts],
                                   [p.name for p in args.parts])
            if args.note:
                merged["note"] = args.note
            _write(args.output, merged)
            print(f"{len(merged['runs'])} runs from {len(args.parts)} parts -> {args.output}")
            return 0
        if args.command == "stats":
            print(json.dumps(history_stats(load_ml100k(args.data)), indent=1))
            return 0
        if args.command == "steps":
            return _steps(args)
        from ..paup import paup_branch_times
        started = utc_now()
        times = paup_branch_times(args.n, repeats=args.repeats,
                                  max_map_bytes=int(args.max_map_gb * 1e9))
        _write(args.output, {"schema": "strided_conv.paup_cost/1", "started": started,
                             "finished": utc_now(),
                             "machine": {**machine_info(), "load_average": load_average()},
                             **times})
        return 0
    except (FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
