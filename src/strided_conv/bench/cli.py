"""Command line: ``python -m strided_conv.bench [options]`` (also ``strided-conv-bench``)."""
from __future__ import annotations

import argparse
import json
import shlex
import sys
from dataclasses import replace
from pathlib import Path

from .checks import BenchMismatchError
from .config import DEFAULT_SUITES, SUITES, BenchConfig, tiny_config
from .runner import DEFAULT_NOTE, run

__all__ = ["main", "build_parser", "config_from_args"]

EPILOG = """\
examples:
  python -m strided_conv.bench --suite all --out book/bench_results.json
  python -m strided_conv.bench --suite conv --shapes S1,S2 --dtypes float32 --repeats 5
  python -m strided_conv.bench --tiny --out /tmp/tiny.json     # a few seconds
  python -m strided_conv.bench --suite conv,polyphase --impls torch,vectorized,polyphase \
      --out book/polyphase_results.json       # the polyphase chapter's data

Every implementation is checked against PyTorch before it is timed; a
mismatch stops the run with an error. The JSON records the machine, the
library versions, the BLAS kernels and thread counts, and every repetition.
"""


def _csv(text: str) -> tuple[str, ...]:
    return tuple(t.strip() for t in text.split(",") if t.strip())


def _ints(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(t) for t in _csv(text))
    except ValueError as err:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, got {text!r}") from err


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m strided_conv.bench",
        description="Time the NumPy convolution layers, DownConv and segment attention "
                    "against PyTorch, interleaved, and write the results as JSON.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--suite", default="all",
                   help=f"all ({','.join(DEFAULT_SUITES)}), or comma-separated from "
                        f"{','.join(SUITES)}")
    p.add_argument("--shapes", type=_csv,
                   help="conv shapes, e.g. S1,S2 (default: all; T1,T2 with --tiny)")
    p.add_argument("--dtypes", type=_csv, help="float32,float64 (default: both)")
    p.add_argument("--impls", type=_csv, help="conv implementations to include (torch always runs)")
    p.add_argument("--repeats", type=int, help="timed repetitions per implementation")
    p.add_argument("--naive-repeats", type=int, help="repetitions of the naive loops")
    p.add_argument("--warmup", type=int, help="untimed calls before timing")
    p.add_argument("--attention-ns", type=_ints, help="sequence lengths, e.g. 200,1000,5000,20000")
    p.add_argument("--attention-repeats", type=int, help="timed repetitions per attention case")
    p.add_argument("--threads", type=int, help="threads for BLAS, OpenMP and torch (default 1)")
    p.add_argument("--tiny", action="store_true", help="tiny shapes: a smoke test of a few seconds")
    p.add_argument("--out", type=Path, help="write the results JSON here")
    p.add_argument("--note", default=DEFAULT_NOTE, help="free text stored in the JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bar, no summary")
    return p


_OPTION_FIELDS = {"shapes": "shapes", "dtypes": "dtypes", "impls": "impls", "repeats": "repeats",
                  "naive_repeats": "naive_repeats", "warmup": "warmup",
                  "attention_ns": "attention_ns", "attention_repeats": "attention_repeats",
                  "threads": "threads"}


def config_from_args(args: argparse.Namespace) -> BenchConfig:
    """The :class:`BenchConfig` an argument namespace asks for (ValueError on bad values)."""
    suites = DEFAULT_SUITES if args.suite == "all" else _csv(args.suite)
    base = tiny_config() if args.tiny else BenchConfig()
    changes = {f: getattr(args, a) for a, f in _OPTION_FIELDS.items()
               if getattr(args, a) is not None}
    return replace(base, suites=suites, **changes)


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status: 0, 1 if an implementation disagrees with
    PyTorch, 2 for bad arguments (as argparse does)."""
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config = config_from_args(args)
    except (ValueError, TypeError) as err:
        parser.error(str(err))
    command = shlex.join(["python", "-m", "strided_conv.bench", *argv])
    try:
        results = run(config, progress=not args.quiet, command=command, note=args.note)
    except BenchMismatchError as err:
        print(f"error: {err}; nothing was timed for it and no results were written",
              file=sys.stderr)
        return 1
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=1) + "\n")
    if not args.quiet:
        from .report import summary_lines  # noqa: PLC0415
        print("\n".join(summary_lines(results)))
    return 0
