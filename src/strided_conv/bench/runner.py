"""One benchmark run: thread limits, machine record, the suites, the results dict."""
from __future__ import annotations

import contextlib
import datetime as dt
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import torch
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from .config import BenchConfig
from .attention_suite import (ATTENTION_IMPLS, DOWNCONV_IMPLS, planned_attention_repetitions,
                              run_attention_suite, run_downconv_suite)
from .conv_impls import CONV_IMPLS
from .conv_suite import planned_conv_repetitions, run_conv_suite
from .polyphase_suite import planned_sweep_repetitions, run_polyphase_suite
from .machine import load_average, machine_info
from .schema import SCHEMA_VERSION, validate_results

__all__ = ["run", "limited_threads", "planned_repetitions"]

DEFAULT_NOTE = "no note given"


@contextlib.contextmanager
def limited_threads(n: int) -> Iterator[None]:
    """Limit every BLAS/OpenMP pool (threadpoolctl) and torch's intra-op pool to ``n`` threads.

    Both are needed: threadpoolctl reaches NumPy's OpenBLAS and the OpenMP
    runtime torch links, but torch keeps its own thread count.
    """
    before = torch.get_num_threads()
    with threadpool_limits(limits=n):
        torch.set_num_threads(n)
        try:
            yield
        finally:
            torch.set_num_threads(before)


def planned_repetitions(config: BenchConfig) -> int:
    """Number of timed repetitions the run will make (the progress bar's total)."""
    return (planned_conv_repetitions(config) + planned_attention_repetitions(config)
            + planned_sweep_repetitions(config))


def run(config: BenchConfig, progress: bool = True, command: str | None = None,
        note: str = DEFAULT_NOTE, tick: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run the suites of ``config`` and return the results dict (see the package docstring).

    Parameters
    ----------
    config : BenchConfig
        What to measure.
    progress : bool, default True
        Show a tqdm bar on stderr.
    command : str, optional
        The command line to record (default: ``sys.argv`` joined).
    note : str
        Free text stored with the results (e.g. "other processes were running").
    tick : callable, optional
        Also called with the implementation name after every timed repetition.
    """
    t0 = time.perf_counter()
    started = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    load_before = load_average()
    bar = tqdm(total=planned_repetitions(config), disable=not progress, file=sys.stderr,
               unit="rep", desc="bench")

    def on_call(name: str) -> None:
        bar.update(1)
        if tick is not None:
            tick(name)

    with limited_threads(config.threads):
        machine = machine_info()
        suites = {
            "conv": run_conv_suite(config, on_call) if "conv" in config.suites else None,
            "downconv": (run_downconv_suite(config, on_call) if "downconv" in config.suites
                         else None),
            "attention": (run_attention_suite(config, on_call) if "attention" in config.suites
                          else None),
            "polyphase": (run_polyphase_suite(config, on_call) if "polyphase" in config.suites
                          else None),
        }
    bar.close()
    results = {
        "schema_version": SCHEMA_VERSION,
        "command": command if command is not None else " ".join(sys.argv),
        "date_utc": started,
        "note": note,
        "duration_s": time.perf_counter() - t0,
        "config": config.as_dict(),
        "machine": machine,
        "load_average": {"before": load_before, "after": load_average()},
        "implementations": _implementations(),
        **suites,
    }
    validate_results(results)
    return results


def _implementations() -> dict[str, str]:
    table = {n: i.description for n, i in CONV_IMPLS.items()}
    table |= {f"downconv:{n}": d for n, (_, d) in DOWNCONV_IMPLS.items()}
    table |= {f"attention:{n}": d for n, (_, d) in ATTENTION_IMPLS.items()}
    return table
