"""The Conv2d suite: GEMM peak, correctness checks, memory, interleaved timings."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from .cases import ConvShape, conv_inputs
from .checks import check_close
from .config import BenchConfig
from .conv_impls import CONV_IMPLS, REFERENCE
from .machine import torch_conv_kernels
from .memory import TORCH_MEMORY_NOTE, peak_extra_bytes, peak_repeated_call_bytes
from .timing import calls_per_repetition, interleaved_times, median

__all__ = ["run_conv_suite", "measure_gemm", "selected_impls", "check_case",
           "planned_conv_repetitions"]

Tick = Callable[[str], None]


def selected_impls(config: BenchConfig, shape: ConvShape, dtype: str) -> list[str]:
    """Implementations that run on ``shape`` in ``dtype``: the reference first, then the
    table's order."""
    unknown = sorted(set(config.impls or ()) - set(CONV_IMPLS))
    if unknown:
        raise ValueError(f"impls {unknown} unknown; registered: {sorted(CONV_IMPLS)}")
    names = [n for n in CONV_IMPLS if config.impls is None or n in config.impls or n == REFERENCE]
    fl = shape.flops("forward")
    return [n for n in names
            if fl <= CONV_IMPLS[n].max_forward_flops and dtype in CONV_IMPLS[n].dtypes]


def _repeats(config: BenchConfig, name: str) -> int:
    """GEMMs and fast implementations get ``repeats``, slow ones ``naive_repeats``."""
    impl = CONV_IMPLS.get(name)
    return config.naive_repeats if impl is not None and impl.slow else config.repeats


def planned_conv_repetitions(config: BenchConfig) -> int:
    """Timed repetitions of the conv suite: two GEMMs per dtype and shape, then every case."""
    if "conv" not in config.suites:
        return 0
    total = 0
    for dtype in config.dtypes:
        total += 2 * config.repeats  # square GEMM, NumPy and torch
        for shape in config.shape_table.values():
            total += 2 * config.repeats  # the conv's forward-GEMM shape
            for name in selected_impls(config, shape, dtype):
                total += _repeats(config, name) * (2 if CONV_IMPLS[name].has_backward else 1)
    return total


def _time(fns: dict[str, Callable[[], object]], config: BenchConfig, tick: Tick
          ) -> dict[str, list[float]]:
    number = {n: calls_per_repetition(f, config.min_time) for n, f in fns.items()}
    repeats = {n: _repeats(config, n) for n in fns}
    return interleaved_times(fns, repeats, warmup=max(0, config.warmup - 1),
                             number=number, on_call=tick)


def measure_gemm(m: int, k: int, n: int, dtype: str, config: BenchConfig, tick: Tick,
                 kind: str, shape: str | None = None) -> list[dict[str, Any]]:
    """Median GFLOP/s of ``(m, k) @ (k, n)`` in NumPy and in torch, interleaved."""
    rng = np.random.default_rng(config.seed)
    a = rng.standard_normal((m, k)).astype(dtype)
    b = rng.standard_normal((k, n)).astype(dtype)
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    times = _time({"gemm:numpy": lambda: a @ b, "gemm:torch": lambda: ta @ tb}, config, tick)
    flops = 2 * m * k * n
    return [{"kind": kind, "shape": shape, "dtype": dtype, "library": lib.split(":")[1],
             "m": m, "k": k, "n": n, "flops": flops, "times_s": t, "median_s": median(t),
             "gflops": flops / median(t) / 1e9} for lib, t in times.items()]


def check_case(label: str, runners: dict[str, Any], dtype: str) -> list[dict[str, Any]]:
    """Run forward and backward of every runner once and compare with the reference.

    Raises :class:`~strided_conv.bench.checks.BenchMismatchError` on the first mismatch.
    """
    ref = runners[REFERENCE]
    ref_out, ref_grads = ref.forward(), ref.backward()
    checks = []
    for name, r in runners.items():
        if name == REFERENCE:
            continue
        checks.append(check_close(f"{label} {name} out", r.forward(), ref_out, dtype))
        if not CONV_IMPLS[name].has_backward:
            continue
        for gname, g, rg in zip(("dx", "dW", "db"), r.backward(), ref_grads):
            checks.append(check_close(f"{label} {name} {gname}", g, rg, dtype))
    return checks


def _memory(name: str, shape: ConvShape, arrays: dict) -> list[dict[str, Any]]:
    """Peak extra bytes of a first forward, a first backward, and a repeated forward.

    Each on a fresh runner, so nothing of an earlier measurement is alive.
    """
    impl = CONV_IMPLS[name]
    passes = ("forward", "backward") if impl.has_backward else ("forward",)
    if not impl.numpy_memory:
        return [{"impl": name, "pass": p, "peak_extra_bytes": None, "peak_repeat_bytes": None,
                 "note": TORCH_MEMORY_NOTE} for p in passes]

    def fresh():
        return impl.factory(**arrays, stride=shape.stride, pad=shape.pad)

    runner = fresh()
    rows = [{"impl": name, "pass": p, "peak_extra_bytes": peak_extra_bytes(getattr(runner, p)),
             "peak_repeat_bytes": None, "note": None} for p in passes]
    rows[0]["peak_repeat_bytes"] = peak_repeated_call_bytes(fresh().forward)
    return rows


def run_case(sname: str, shape: ConvShape, dtype: str, config: BenchConfig,
             tick: Tick, names: list[str] | None = None, memory: bool = True) -> dict[str, Any]:
    """Checks, memory (unless ``memory`` is False) and timings of the implementations
    ``names`` (default: :func:`selected_impls`) on one shape and dtype."""
    arrays = conv_inputs(shape, dtype, config.seed)
    names = selected_impls(config, shape, dtype) if names is None else names
    runners = {n: CONV_IMPLS[n].factory(**arrays, stride=shape.stride, pad=shape.pad)
               for n in names}
    checks = check_case(f"{sname} {dtype}", runners, dtype)
    memory = [row | {"shape": sname, "dtype": dtype, "col_bytes": shape.col_bytes(dtype),
                     "out_bytes": shape.out_bytes(dtype),
                     "padded_bytes": shape.padded_bytes(dtype)}
              for n in names for row in _memory(n, shape, arrays)] if memory else []
    timings = []
    for pass_ in ("forward", "backward"):
        fns = {n: getattr(r, pass_) for n, r in runners.items()
               if pass_ == "forward" or CONV_IMPLS[n].has_backward}
        times = _time(fns, config, tick)
        for n, t in times.items():
            timings.append({"shape": sname, "dtype": dtype, "pass": pass_, "impl": n,
                            "times_s": t, "median_s": median(t), "flops": shape.flops(pass_)})
    return {"checks": checks, "memory": memory, "timings": timings}


def _derive(timings: list[dict[str, Any]], peaks: dict[str, float]) -> None:
    """Add GFLOP/s, ratio to the reference and fraction of the GEMM peak to each row."""
    ref = {(t["shape"], t["dtype"], t["pass"]): t["median_s"]
           for t in timings if t["impl"] == REFERENCE}
    for t in timings:
        t["gflops"] = t["flops"] / t["median_s"] / 1e9
        t["ratio_to_torch"] = t["median_s"] / ref[(t["shape"], t["dtype"], t["pass"])]
        t["fraction_of_gemm_peak"] = t["gflops"] / peaks[t["dtype"]]


def run_conv_suite(config: BenchConfig, tick: Tick) -> dict[str, Any]:
    """GEMM peaks, then every shape x dtype: the ``"conv"`` part of the results JSON."""
    gemm, checks, memory, timings = [], [], [], []
    for dtype in config.dtypes:
        g = config.gemm_size
        gemm += measure_gemm(g, g, g, dtype, config, tick, kind="square")
        for sname, shape in config.shape_table.items():
            m, k, n = shape.gemm_mkn
            # Oriented as the package's layer multiplies: W (FN, K) @ col^T (K, M), one
            # row per filter, which suits NCHW output (and is the faster orientation).
            gemm += measure_gemm(n, k, m, dtype, config, tick, kind="conv_forward", shape=sname)
            case = run_case(sname, shape, dtype, config, tick)
            checks += case["checks"]
            memory += case["memory"]
            timings += case["timings"]
    # The peak is the best GEMM rate seen for the dtype, square or conv-shaped, in
    # either library: the most the machine's BLAS delivered in this run.
    peaks = {d: max(r["gflops"] for r in gemm if r["dtype"] == d) for d in config.dtypes}
    _derive(timings, peaks)
    return {"shapes": {s: sh.as_dict() for s, sh in config.shape_table.items()},
            "torch_kernels": {d: torch_conv_kernels(d) for d in config.dtypes},
            "gemm": gemm, "gemm_peak_gflops": peaks, "checks": checks,
            "memory": memory, "timings": timings}
