"""The benchmark: every convolution implementation side by side, interleaved, as JSON.

Run it with ``python -m strided_conv.bench --help`` (or ``strided-conv-bench``);
the book's committed results come from::

    python -m strided_conv.bench --suite all --out book/bench_results.json
    python -m strided_conv.bench --suite conv,polyphase --impls torch,vectorized,polyphase \
        --out book/polyphase_results.json

or from Python with ``run(BenchConfig(...))``. Modules: ``config``
(what to measure), ``cases`` (shapes, FLOP counts), ``conv_impls``
and ``attention_suite`` (the implementation tables), ``polyphase_suite``
(the polyphase chapter's sweep of the input channels), ``timing``
(interleaving, median, slopes), ``checks`` (agreement with PyTorch before
timing), ``memory`` (tracemalloc), ``machine``, ``runner``,
``report`` (tables and target verdicts), ``schema``, ``cli``.

Method
------
- All pools (OpenBLAS via threadpoolctl, OpenMP, torch) get the same thread
  count, 1 by default.
- Each implementation's result is compared with PyTorch's first
  (``checks.check_close``); a mismatch raises :class:`BenchMismatchError`.
- Warm-up calls, then repetitions in round-robin order ``A B C A B C ...``;
  every repetition time is stored, and tables use the median.
- GFLOP/s = FLOP / median seconds / 1e9, with FLOP = ``2*N*FN*OH*OW*C*FH*FW``
  forward and twice that backward (``dW`` and ``dx``). The GEMM peak of a
  dtype is the best GFLOP/s of the matrix products timed in the same run
  (a square one and one of each conv's forward-GEMM shape, NumPy and torch).

Results JSON (schema version 1)
-------------------------------
Checked by :func:`validate_results` against ``schema.SCHEMA``::

    schema_version   int, 1
    command          str, the command line (or "python API")
    date_utc         str, ISO 8601 start time
    note             str, e.g. "other processes were running"
    duration_s       float
    config           BenchConfig as a dict, plus attention_batches {n: batch}
    machine          cpu_model, logical_cores, usable_cores, platform, python,
                     numpy, torch, threadpoolctl, openblas_coretype_env,
                     threadpools [{user_api, internal_api, prefix, version,
                     num_threads, threading_layer, architecture}],
                     torch_num_threads, torch_blas, torch_mkldnn
    load_average     {before: [1, 5, 15 min], after: [...]} (or null)
    implementations  {name: one-line description}
    conv             null, or
      shapes           {S1: {N, C, H, W, FN, FH, FW, stride, pad, OH, OW,
                             gemm_m, gemm_k, gemm_n}, ...}
      torch_kernels    {dtype: [ATen conv operators a small conv2d ran]}
      gemm             [{kind: "square"|"conv_forward", shape, dtype, library,
                         m, k, n, flops, times_s: [...], median_s, gflops}]
      gemm_peak_gflops {dtype: GFLOP/s}
      checks           [{what, max_abs_err, scale, rtol, ok}]
      memory           [{shape, dtype, impl, pass, padded_bytes, peak_extra_bytes (null for
                         torch), peak_repeat_bytes (forward only: a second
                         call on the same object, above the level before the
                         first), note, col_bytes, out_bytes}]
      timings          [{shape, dtype, pass: "forward"|"backward", impl,
                         times_s: [...], median_s, flops, gflops,
                         ratio_to_torch, fraction_of_gemm_peak}]
    downconv         null, or {batch, seq_len, hidden, checks,
                      timings: [{impl, pass: "forward"|"forward_backward",
                                 times_s, median_s}]}
    polyphase        (optional) null, or {shapes, checks, timings: [as conv's,
                      without fraction_of_gemm_peak]}: the sweep of C
    attention        null, or {hidden, m_segments, k1, channel_reduction, tail (the
                      segment layer's DownConv; missing in files written before they
                      were recorded), batches: {n: batch}, checks,
                      timings: [{impl, n, batch, times_s, median_s,
                                 median_per_sequence_s}],
                      slopes: {impl: fitted log-log slope}}

Times are seconds per call.
"""
from .checks import BenchMismatchError, check_close, tolerance
from .cli import main
from .config import DEFAULT_SUITES, SUITES, BenchConfig, tiny_config
from .conv_impls import CONV_IMPLS, REFERENCE
from .cases import CONV_SHAPES, TINY_SHAPES, ConvShape
from .runner import run
from .schema import SCHEMA, SchemaError, validate_results
from .timing import interleaved_order, interleaved_times, loglog_slope, median

__all__ = [
    "BenchConfig", "BenchMismatchError", "DEFAULT_SUITES", "CONV_IMPLS", "CONV_SHAPES", "ConvShape",
    "REFERENCE", "SCHEMA", "SUITES", "SchemaError", "TINY_SHAPES", "check_close",
    "interleaved_order", "interleaved_times", "loglog_slope", "main", "median", "run",
    "tiny_config", "tolerance", "validate_results",
]
