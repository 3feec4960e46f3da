r"""Attention over DownConv segments, and plain softmax self-attention (chapter 3).

Full self-attention over ``n`` items of hidden size ``D`` (Vaswani et al.,
2017) scores every query against every key:

.. math:: \operatorname{softmax}\!\left(\frac{Q K^\top}{\sqrt{D}}\right) V,
          \qquad Q, K, V \in \mathbb{R}^{n \times D},

an ``n x n`` map. Segment attention keeps the ``n`` queries but takes keys and
values from the ``m`` segments of a :class:`~strided_conv.DownConv`, so the map
is ``n x m``. Neither layer costs only its score map: both project the ``n``
items with ``D x D`` matrices first. :func:`~strided_conv.attention_flops` counts every term
(for ``D = 64, m = 4`` the query projection, :math:`2 n D^2` FLOPs, is eight
times the scores and the weighted sum together, :math:`4 n m D`), and
:func:`~strided_conv.time_attention` measures both layers.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Sequence

import numpy as np
import torch
import torch.nn as nn

from ._validation import check_int
from .downconv import DownConv, _check_dtype, _check_weight_size, _memory_errors, downconv_sizes

__all__ = ["SegmentAttention", "FullSelfAttention", "time_attention", "loglog_slope",
           "attention_flops"]

_SOFTMAX_DIMS = {"segments": -1, "queries": -2}
_TIMED = ("full", "segment")
_CLOCKS = {"wall": time.perf_counter, "cpu": time.thread_time}
_SEGMENT_REDUCTION = 16  # SegmentAttention's default channel_reduction, used by time_attention


def _attend(q: torch.Tensor, k: torch.Tensor, dim: int) -> torch.Tensor:
    """``softmax(q k^T / sqrt(D))`` along ``dim``: (N, n, D), (N, m, D) -> (N, n, m)."""
    return torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1]), dim=dim)


class SegmentAttention(nn.Module):
    """Single-head attention of ``n`` item queries over ``m`` DownConv segments.

    ``S = downconv(x)`` compresses the items to ``(batch, m, D)``; then
    ``Q = query(x)``, ``K = key(S)``, ``V = value(S)`` (three ``nn.Linear(D, D)``)
    and the output is ``softmax(Q K^T / sqrt(D)) V``.

    Parameters
    ----------
    seq_len, hidden_size, m_segments, k1, channel_reduction, tail
        Passed to :class:`~strided_conv.DownConv` (same defaults).
    softmax_over : {"segments", "queries"}, default "segments"
        ``"segments"`` normalises each query's ``m`` weights (softmax over the
        last axis), the usual attention. ``"queries"`` normalises each
        segment's ``n`` weights (softmax over axis -2), which is what PAUP's
        public code does; then a query's weights need not sum to 1.

    Shapes
    ------
    ``(batch, seq_len, hidden_size)`` -> ``(batch, seq_len, hidden_size)``;
    :meth:`attention_map` gives ``(batch, seq_len, m_segments)``. ``batch = 0``
    gives empty results; the input must have the parameters' dtype
    (``TypeError`` naming both otherwise).
    """

    def __init__(self, seq_len: int = 200, hidden_size: int = 64, m_segments: int = 4,
                 k1: int = 10, channel_reduction: int = 16, tail: str = "pad",
                 softmax_over: str = "segments") -> None:
        super().__init__()
        if not isinstance(softmax_over, str) or softmax_over not in _SOFTMAX_DIMS:
            raise ValueError(f"softmax_over must be one of {tuple(_SOFTMAX_DIMS)}, "
                             f"got {softmax_over!r}")
        self.softmax_over = softmax_over
        self.downconv = DownConv(seq_len, hidden_size, m_segments, k1, channel_reduction, tail)
        _check_weight_size("the (hidden_size, hidden_size) weights", (hidden_size, hidden_size),
                           f"hidden_size={hidden_size}")
        with _memory_errors():
            self.query = nn.Linear(hidden_size, hidden_size)
            self.key = nn.Linear(hidden_size, hidden_size)
            self.value = nn.Linear(hidden_size, hidden_size)

    def extra_repr(self) -> str:
        return f"softmax_over={self.softmax_over!r}"

    def _map_and_segments(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        self.downconv._check_input(x, "x", owner=self)
        segments = self.downconv(x)
        weights = _attend(self.query(x), self.key(segments), _SOFTMAX_DIMS[self.softmax_over])
        return weights, segments

    def attention_map(self, x: torch.Tensor) -> torch.Tensor:
        """The ``(batch, n, m)`` attention weights."""
        return self._map_and_segments(x)[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weights, segments = self._map_and_segments(x)
        return weights @ self.value(segments)


class FullSelfAttention(nn.Module):
    """Single-head softmax self-attention over all ``n`` items, for comparison.

    ``softmax(Q K^T / sqrt(D)) V`` with ``Q, K, V`` three ``nn.Linear(D, D)``
    of the input; an ``n x n`` map.

    Shapes
    ------
    ``(batch, n, hidden_size)`` -> ``(batch, n, hidden_size)``, any ``n`` and
    ``batch`` (0 included); the input must have the parameters' dtype.
    """

    def __init__(self, hidden_size: int = 64) -> None:
        super().__init__()
        self.hidden_size = check_int("hidden_size", hidden_size, 1)
        _check_weight_size("the (hidden_size, hidden_size) weights", (hidden_size, hidden_size),
                           f"hidden_size={hidden_size}")
        with _memory_errors():
            self.query = nn.Linear(hidden_size, hidden_size)
            self.key = nn.Linear(hidden_size, hidden_size)
            self.value = nn.Linear(hidden_size, hidden_size)

    def _check(self, x: torch.Tensor) -> None:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
        if x.ndim != 3 or x.shape[-1] != self.hidden_size:
            raise ValueError(
                f"x must have shape (batch, n, hidden_size={self.hidden_size}), "
                f"got {tuple(x.shape)}"
            )
        _check_dtype("x", x, self)

    def attention_map(self, x: torch.Tensor) -> torch.Tensor:
        """The ``(batch, n, n)`` attention weights."""
        self._check(x)
        return _attend(self.query(x), self.key(x), -1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.attention_map(x) @ self.value(x)


def time_attention(n_values: Iterable[int] = (200, 1000, 5000), hidden_size: int = 64,
                   batch: int = 1, repeats: int = 3, m_segments: int = 4, k1: int = 10,
                   seed: int = 0, models: Sequence[str] = ("full", "segment"),
                   clock: str = "wall") -> dict[str, list[float]]:
    """Best-of-``repeats`` forward time (seconds) of full vs segment attention.

    Runs on the CPU, one thread (restored afterwards), ``torch.no_grad``,
    float32, with ``seq_len = n`` for the segment model. Wall-clock timings:
    they depend on the machine.

    Parameters
    ----------
    models : sequence of {"full", "segment"}, default both
        Which layers to time; leaving out ``"full"`` makes large ``n`` cheap
        (full attention's ``n x n`` map is 400 MB at ``n = 10,000``).
    clock : {"wall", "cpu"}, default "wall"
        ``"wall"`` times with ``time.perf_counter``; ``"cpu"`` with
        ``time.thread_time``, the CPU time of the calling thread, which is
        where PyTorch computes with one thread: time spent waiting while other
        processes hold the core is not counted, so on a shared machine it is
        far less noisy.

    Returns
    -------
    dict
        ``{"n": [...], "full": [...], "segment": [...]}``, with only the keys
        of ``models`` besides ``"n"``.

    Raises
    ------
    TypeError, ValueError
        Before anything is timed, if an argument is not an int in range
        (``n >= 1`` for every ``n`` in ``n_values``, ``hidden_size >= 16``,
        ``batch >= 0``, ``repeats >= 1``, ``seed >= 0``, ``models`` and ``clock`` among
        their choices) or ``DownConv``
        refuses ``(n, m_segments, k1)`` for some ``n``.
    """
    if isinstance(n_values, (str, bytes)) or not isinstance(n_values, Iterable):
        raise TypeError(f"n_values must be an iterable of ints, got {type(n_values).__name__}")
    ns = [check_int(f"n_values[{i}]", n, 1) for i, n in enumerate(n_values)]
    hidden_size = check_int("hidden_size", hidden_size, 1)
    batch = check_int("batch", batch, 0)
    repeats = check_int("repeats", repeats, 1)
    # Strings first: an int is not iterable, a list not hashable, an array has no truth value.
    chosen = list(models) if isinstance(models, Iterable) and not isinstance(models, str) else []
    if not chosen or not all(isinstance(m, str) and m in _TIMED for m in chosen):
        raise ValueError(f"models must be a non-empty sequence of {_TIMED}, got {models!r}")
    models = chosen
    if not isinstance(clock, str) or clock not in _CLOCKS:
        raise ValueError(f"clock must be one of {tuple(_CLOCKS)}, got {clock!r}")
    seed = check_int("seed", seed, 0)
    if "segment" in models and hidden_size // _SEGMENT_REDUCTION < 1:
        raise ValueError(
            f"hidden_size must be >= {_SEGMENT_REDUCTION}, got {hidden_size}: the segment model's "
            f"DownConv has hidden_size // channel_reduction channels (channel_reduction="
            f"{_SEGMENT_REDUCTION}, SegmentAttention's default)"
        )
    for n in (ns if "segment" in models else ()):
        try:
            downconv_sizes(n, m_segments, k1)
        except ValueError as err:
            raise ValueError(f"n_values contains n={n}, which DownConv refuses: {err}") from err
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    result: dict[str, list[float]] = {"n": ns, **{name: [] for name in _TIMED if name in models}}
    try:
        torch.manual_seed(seed)
        for n in ns:
            x = torch.randn(batch, n, hidden_size)
            for name in (name for name in _TIMED if name in result):
                model = (FullSelfAttention(hidden_size) if name == "full"
                         else SegmentAttention(n, hidden_size, m_segments, k1))
                result[name].append(_best_time(model, x, repeats, _CLOCKS[clock]))
    finally:
        torch.set_num_threads(threads)
    return result


def _best_time(model: nn.Module, x: torch.Tensor, repeats: int,
               clock: Callable[[], float] = time.perf_counter) -> float:
    with torch.no_grad():
        model(x)  # warm-up: first calls allocate and pick kernels
        best = math.inf
        for _ in range(repeats):
            start = clock()
            model(x)
            best = min(best, clock() - start)
    return best


def loglog_slope(n: Iterable[float], t: Iterable[float]) -> float:
    """Least-squares slope of ``log t`` against ``log n``: the exponent in ``t ~ n^slope``.

    Raises
    ------
    TypeError
        If ``n`` or ``t`` is not a sequence of real numbers.
    ValueError
        If they are not 1-D of the same length, a value is not positive and
        finite (no logarithm), or ``n`` has fewer than two distinct values (no slope).
    """
    n_arr, t_arr = _positive_1d("n", n), _positive_1d("t", t)
    if n_arr.shape != t_arr.shape:
        raise ValueError(f"n and t must have the same length, got {n_arr.size} and {t_arr.size}")
    if np.unique(n_arr).size < 2:
        raise ValueError(
            f"n must have at least two distinct values for a slope, got {n_arr.tolist()}")
    return float(np.polyfit(np.log(n_arr), np.log(t_arr), 1)[0])


def _positive_1d(name: str, values: object) -> np.ndarray:
    try:
        if np.iscomplexobj(values):
            raise TypeError("complex values")
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError, RuntimeError) as err:
        raise TypeError(f"{name} must be a sequence of real numbers, got {type(values).__name__} "
                        f"({err})") from err
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if not (np.isfinite(arr).all() and (arr > 0).all()):
        raise ValueError(
            f"{name} must be positive and finite (its logarithm is taken), got {arr.tolist()}")
    return arr


#: Elementwise FLOPs counted per attention score: the scaling by ``1/sqrt(D)`` and
#: the softmax's max, subtraction, exponential, sum and division.
FLOPS_PER_SCORE = 6


def attention_flops(n: int, hidden_size: int = 64, m_segments: int = 4, k1: int = 10,
                    channel_reduction: int = 16, tail: str = "pad",
                    batch: int = 1) -> dict[str, dict[str, int]]:
    r"""Floating-point operations of one forward pass, term by term, for both layers.

    A multiply-add counts as 2 FLOPs. With ``n`` items, hidden size ``D``,
    ``m`` segments, ``D_r = D // channel_reduction`` channels between the two
    convolutions, and ``L_1``, ``k_2`` the sizes :func:`~strided_conv.downconv_sizes`
    derives, for a batch of ``N`` sequences:

    =====================  ==========================  ==============================
    term                   :class:`FullSelfAttention`  :class:`SegmentAttention`
    =====================  ==========================  ==============================
    ``"projections"``      :math:`3 \cdot 2 n D^2`     :math:`2 n D^2` (queries) +
                                                       :math:`2 \cdot 2 m D^2` (K, V)
    ``"convolutions"``     --                          :math:`2 L_1 k_1 D D_r` +
                                                       :math:`2 m k_2 D_r D`
    ``"scores"``           :math:`2 n^2 D`             :math:`2 n m D`
    ``"weighted sum"``     :math:`2 n^2 D`             :math:`2 n m D`
    ``"elementwise"``      :math:`6 n^2 + 3 n D`       :math:`6 n m + n D + 3 m D`
                                                       :math:`+ 2 L_1 D_r`
    =====================  ==========================  ==============================

    all times ``N``. ``"elementwise"`` counts ``FLOPS_PER_SCORE = 6`` per score
    (scaling and softmax), one per bias element added and one per ReLU output.
    Every other term is a matrix product: their sum is what
    :class:`torch.utils.flop_counter.FlopCounterMode` counts for the layer (tested).

    Parameters
    ----------
    n : int
        Sequence length (``seq_len`` of the segment layer).
    hidden_size, m_segments, k1, channel_reduction, tail
        As in :class:`SegmentAttention`; only the segment layer depends on all but
        ``hidden_size``.
    batch : int, default 1
        ``N``, the number of sequences, ``>= 0`` (``0``: every term is 0).

    Returns
    -------
    dict
        ``{"full": {term: flops}, "segment": {term: flops}}`` with the five terms
        above (``"convolutions"`` is 0 for full attention), plain ints.

    Raises
    ------
    ValueError
        For a configuration :class:`~strided_conv.DownConv` refuses, or
        ``hidden_size // channel_reduction < 1``.
    """
    n, d = check_int("n", n, 1), check_int("hidden_size", hidden_size, 1)
    batch = check_int("batch", batch, 0)  # an empty batch costs nothing, as in the layers
    reduced = d // check_int("channel_reduction", channel_reduction, 1)
    if reduced < 1:
        raise ValueError(f"hidden_size // channel_reduction must be >= 1, got {d} // "
                         f"{channel_reduction} = 0: the first convolution would have no channel")
    sizes = downconv_sizes(n, m_segments, k1, tail)
    m, mid = sizes.m_segments, sizes.mid_length
    full = {"projections": 3 * 2 * n * d * d, "convolutions": 0,
            "scores": 2 * n * n * d, "weighted sum": 2 * n * n * d,
            "elementwise": FLOPS_PER_SCORE * n * n + 3 * n * d}
    segment = {"projections": 2 * n * d * d + 2 * 2 * m * d * d,
               "convolutions": 2 * mid * sizes.k1 * d * reduced + 2 * m * sizes.k2 * reduced * d,
               "scores": 2 * n * m * d, "weighted sum": 2 * n * m * d,
               # biases of query, conv1a, conv2a, key, value; ReLU after conv1a
               "elementwise": FLOPS_PER_SCORE * n * m + n * d + 3 * m * d + 2 * mid * reduced}
    return {name: {term: batch * v for term, v in terms.items()}
            for name, terms in (("full", full), ("segment", segment))}
