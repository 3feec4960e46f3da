"""Interleaved timing, medians and log-log slopes.

Why interleave: on a shared machine the speed of the CPU drifts (other
processes, frequency scaling, cache pollution). Timing all repetitions of A and
then all of B lets a slow minute fall on one implementation only; timing
``A B C A B C ...`` spreads any drift over every implementation alike, so the
*ratio* of their medians stays meaningful even when absolute times are noisy.
The median, unlike the mean, ignores the few repetitions hit by a burst of
foreign work.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from .._validation import check_int

__all__ = [
    "interleaved_order",
    "interleaved_times",
    "calls_per_repetition",
    "median",
    "loglog_slope",
]


def interleaved_order(repeats: Mapping[str, int]) -> list[str]:
    """Order in which to run the implementations: round-robin ``A B C A B C ...``.

    Parameters
    ----------
    repeats : mapping name -> int
        Repetitions wanted per implementation (``>= 1``). An implementation with
        fewer repetitions than the others takes part in the first rounds only.

    Returns
    -------
    list of str
        Round ``r`` lists, in the mapping's order, every name whose count exceeds ``r``.

    Examples
    --------
    >>> interleaved_order({"A": 3, "B": 3, "naive": 1})
    ['A', 'B', 'naive', 'A', 'B', 'A', 'B']
    """
    counts = {name: check_int(f"repeats[{name!r}]", r, 1) for name, r in repeats.items()}
    rounds = max(counts.values(), default=0)
    return [name for r in range(rounds) for name, c in counts.items() if c > r]


def calls_per_repetition(fn: Callable[[], object], min_time: float) -> int:
    """How many calls of ``fn`` make one repetition last at least ``min_time`` seconds.

    ``fn`` is called once (this also serves as warm-up). Very fast functions are
    called several times per repetition so that the timer's resolution and the
    loop overhead stay negligible; slow ones once.
    """
    if not min_time >= 0:
        raise ValueError(f"min_time must be >= 0 seconds, got {min_time!r}")
    t0 = time.perf_counter()
    fn()
    elapsed = time.perf_counter() - t0
    return max(1, math.ceil(min_time / max(elapsed, 1e-9)))


def interleaved_times(
    fns: Mapping[str, Callable[[], object]],
    repeats: Mapping[str, int],
    warmup: int = 1,
    number: Mapping[str, int] | None = None,
    on_call: Callable[[str], None] | None = None,
) -> dict[str, list[float]]:
    """Time every function in round-robin order; seconds per call, one entry per repetition.

    Parameters
    ----------
    fns : mapping name -> callable
        Zero-argument functions to time.
    repeats : mapping name -> int
        Repetitions per name (every name of ``fns`` must appear).
    warmup : int, default 1
        Untimed calls of each function first (caches, allocator, lazy init).
    number : mapping name -> int, optional
        Calls per repetition (default 1); the recorded time is the mean per call.
    on_call : callable, optional
        Called with the name after each timed repetition (progress bars).

    Returns
    -------
    dict name -> list of float
        Seconds per call, in the order measured.
    """
    missing = set(fns) - set(repeats)
    if missing:
        raise ValueError(f"repeats has no entry for {sorted(missing)}")
    warmup = check_int("warmup", warmup, 0)
    number = {name: check_int(f"number[{name!r}]", (number or {}).get(name, 1), 1) for name in fns}
    for name, fn in fns.items():
        for _ in range(warmup):
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for name in interleaved_order({n: repeats[n] for n in fns}):
        fn, k = fns[name], number[name]
        t0 = time.perf_counter()
        for _ in range(k):
            fn()
        times[name].append((time.perf_counter() - t0) / k)
        if on_call is not None:
            on_call(name)
    return times


def median(values: Sequence[float]) -> float:
    """Median of a non-empty sequence (mean of the two middle values if even)."""
    if len(values) == 0:
        raise ValueError("values must not be empty: the median of nothing is undefined")
    return float(np.median(np.asarray(values, dtype=np.float64)))


def loglog_slope(n: Sequence[float], t: Sequence[float]) -> float:
    r"""Least-squares slope of :math:`\log t` against :math:`\log n`.

    If :math:`t \approx c\, n^a`, then :math:`\log t = \log c + a \log n` and the
    fitted slope estimates the exponent :math:`a` (1 for linear, 2 for quadratic cost).

    Raises
    ------
    ValueError
        If fewer than two points, different lengths, non-positive values, or all
        ``n`` equal (no slope defined).
    """
    x = np.asarray(n, dtype=np.float64)
    y = np.asarray(t, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1 or x.size < 2:
        raise ValueError(f"n and t must be 1-D of equal length >= 2, "
                         f"got shapes {x.shape} and {y.shape}")
    if np.any(x <= 0) or np.any(y <= 0):
        raise ValueError("n and t must be > 0 to take logarithms")
    lx, ly = np.log(x), np.log(y)
    if np.ptp(lx) == 0:
        raise ValueError(f"n must contain at least two different values, got {x.tolist()}")
    slope, _ = np.polyfit(lx, ly, 1)
    return float(slope)
