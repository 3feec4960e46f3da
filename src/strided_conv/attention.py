r"""Attention over DownConv segments, and plain softmax self-attention (chapter 3).

Full self-attention over ``n`` items (Vaswani et al., 2017) scores every
query against every key:

.. math:: \operatorname{softmax}\!\left(\frac{Q K^\top}{\sqrt{d}}\right) V,
          \qquad Q, K, V \in \mathbb{R}^{n \times d},

an ``n x n`` map, :math:`O(n^2 d)` time. Segment attention keeps the ``n``
queries but takes keys and values from the ``m`` segments of a
:class:`~strided_conv.DownConv`, so the map is ``n x m`` and the cost
:math:`O(n m d)` plus the convolutions' :math:`O(n d^2 / \text{channel\_reduction})`:
linear in ``n`` for fixed ``m``.
"""
from __future__ import annotations

import math
import time
from collections.abc import Iterable

import numpy as np
import torch
import torch.nn as nn

from ._validation import check_int
from .downconv import DownConv, _check_dtype, _check_weight_size, _memory_errors, downconv_sizes

__all__ = ["SegmentAttention", "FullSelfAttention", "time_attention", "loglog_slope"]

_SOFTMAX_DIMS = {"segments": -1, "queries": -2}
_SEGMENT_REDUCTION = 16  # SegmentAttention's default channel_reduction, used by time_attention


def _attend(q: torch.Tensor, k: torch.Tensor, dim: int) -> torch.Tensor:
    """``softmax(q k^T / sqrt(d))`` along ``dim``: (B, n, d), (B, m, d) -> (B, n, m)."""
    return torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1]), dim=dim)


class SegmentAttention(nn.Module):
    """Single-head attention of ``n`` item queries over ``m`` DownConv segments.

    ``S = downconv(x)`` compresses the items to ``(batch, m, H)``; then
    ``Q = query(x)``, ``K = key(S)``, ``V = value(S)`` (three ``nn.Linear(H, H)``)
    and the output is ``softmax(Q K^T / sqrt(H)) V``.

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
            raise ValueError(f"softmax_over must be one of {tuple(_SOFTMAX_DIMS)}, got {softmax_over!r}")
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

    ``softmax(Q K^T / sqrt(H)) V`` with ``Q, K, V`` three ``nn.Linear(H, H)``
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
                f"x must have shape (batch, n, hidden_size={self.hidden_size}), got {tuple(x.shape)}"
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
                   seed: int = 0) -> dict[str, list[float]]:
    """Best-of-``repeats`` forward time (seconds) of full vs segment attention.

    Runs on the CPU, one thread (restored afterwards), ``torch.no_grad``,
    float32, with ``seq_len = n`` for the segment model. Wall-clock timings:
    they depend on the machine.

    Returns
    -------
    dict
        ``{"n": [...], "full": [...], "segment": [...]}``.

    Raises
    ------
    TypeError, ValueError
        Before anything is timed, if an argument is not an int in range
        (``n >= 1`` for every ``n`` in ``n_values``, ``hidden_size >= 16``,
        ``batch >= 0``, ``repeats >= 1``, ``seed >= 0``) or ``DownConv``
        refuses ``(n, m_segments, k1)`` for some ``n``.
    """
    if isinstance(n_values, (str, bytes)) or not isinstance(n_values, Iterable):
        raise TypeError(f"n_values must be an iterable of ints, got {type(n_values).__name__}")
    ns = [check_int(f"n_values[{i}]", n, 1) for i, n in enumerate(n_values)]
    hidden_size = check_int("hidden_size", hidden_size, 1)
    batch = check_int("batch", batch, 0)
    repeats = check_int("repeats", repeats, 1)
    seed = check_int("seed", seed, 0)
    if hidden_size // _SEGMENT_REDUCTION < 1:
        raise ValueError(
            f"hidden_size must be >= {_SEGMENT_REDUCTION}, got {hidden_size}: the segment model's "
            f"DownConv has hidden_size // channel_reduction channels (channel_reduction="
            f"{_SEGMENT_REDUCTION}, SegmentAttention's default)"
        )
    for n in ns:
        try:
            downconv_sizes(n, m_segments, k1)
        except ValueError as err:
            raise ValueError(f"n_values contains n={n}, which DownConv refuses: {err}") from err
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    result: dict[str, list[float]] = {"n": ns, "full": [], "segment": []}
    try:
        torch.manual_seed(seed)
        for n in ns:
            x = torch.randn(batch, n, hidden_size)
            models = {"full": FullSelfAttention(hidden_size),
                      "segment": SegmentAttention(n, hidden_size, m_segments, k1)}
            for name, model in models.items():
                result[name].append(_best_time(model, x, repeats))
    finally:
        torch.set_num_threads(threads)
    return result


def _best_time(model: nn.Module, x: torch.Tensor, repeats: int) -> float:
    with torch.no_grad():
        model(x)  # warm-up: first calls allocate and pick kernels
        best = math.inf
        for _ in range(repeats):
            start = time.perf_counter()
            model(x)
            best = min(best, time.perf_counter() - start)
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
