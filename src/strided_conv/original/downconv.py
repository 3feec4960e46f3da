r"""PAUP's ``DownConv`` as written in the seed document, and its size arithmetic.

Source: the seed document of this book, which quotes the ``DownConv`` of PAUP
(Zhu et al., SIGIR 2022; the public code is a RecBole fork, MIT licence).
:class:`DownConv` below is that code with only formatting changed, its defects
included, so the book can run it:

1. The sizes come from the float ``seq_len / k1`` instead of the integer
   length the first convolution really produces (``seq_len // k1``).
2. A wrong number of segments is only **printed** (``size_erroe, ...``) and
   the wrong-sized tensor is returned anyway; for many ``(m_segments, k1)`` the
   module returns ``m_segments + 1`` segments.
3. Nothing stops a segment from covering only zero padding (an output that
   ignores the input entirely).
4. When ``k1`` does not divide ``seq_len`` the first convolution never reads
   the last ``seq_len mod k1`` items; in the left-aligned histories of that
   code base these are the most recent ones.
5. ``k1 > seq_len`` is accepted at construction and fails in ``forward``.

:func:`original_sizes` reproduces the arithmetic without building the module,
turning the printed mismatch into returned values, and :func:`run_original`
builds and runs the real module and measures what each output depends on.
:class:`strided_conv.DownConv` is the repaired module.
"""
from __future__ import annotations

import contextlib
import io
import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn

from ..downconv import input_dependence  # the same probe measures both modules
from ..output_size import conv_output_size

__all__ = [
    "DownConv",
    "OriginalSizes",
    "OriginalRun",
    "original_sizes",
    "run_original",
    "OUTCOMES",
]


class DownConv(nn.Module):
    def __init__(self, seq_len=200, hidden_size=64, m_segments=4, k1=10, channel_reduction=16):
        super().__init__()
        """
        DownConv is implemented by stacked strided convolution layers and more details can be found below.
        When the parameters k_1 and k_2 are determined, we can soon get m in Eq.2 of the paper.
        However, we are more concerned with the size of the parameter m, so we searched for a combination of
        parameter m and parameter k_1 (parameter k_2 can be easily calculated in this process) to find the
        optimal segment numbers.
        Args:
            input_tensor (torch.Tensor): the input of the attention layer

        Returns:
            output_conv (torch.Tensor): the convolutional outputs in Eq.2 of the paper
        """
        self.m = m_segments
        self.k1 = k1
        self.channel_reduction = channel_reduction  # avoid over-parameterization
        middle_segment_length = seq_len / k1
        k2 = math.ceil(middle_segment_length / m_segments)
        padding = math.ceil((k2 * self.m - middle_segment_length) / 2.0)  # pad the second convolutional layer appropriately
        self.conv1a = nn.Conv1d(in_channels=hidden_size, out_channels=hidden_size // self.channel_reduction,
                                kernel_size=self.k1, stride=self.k1)
        self.relu1a = nn.ReLU(inplace=True)
        self.conv2a = nn.Conv1d(in_channels=hidden_size // self.channel_reduction, out_channels=hidden_size,
                                kernel_size=k2, stride=k2, padding=padding)

    def forward(self, input_tensor):
        input_tensor = input_tensor.permute(0, 2, 1)
        x1a = self.relu1a(self.conv1a(input_tensor))
        x2a = self.conv2a(x1a)
        if x2a.size(2) != self.m:
            print('size_erroe, x2a.size_{} do not equals to m_segments_{}'.format(x2a.size(2), self.m))
        output_conv = x2a.permute(0, 2, 1)
        return output_conv


#: Outcome labels, in the order of precedence used to classify one configuration.
OUTCOMES: tuple[str, ...] = (
    "error",          # forward raises
    "wrong count",    # a number of segments other than m_segments (in practice m + 1)
    "pure padding",   # m segments, but one of them reads only zero padding
    "dropped tail",   # m segments, but some input items reach no segment
    "ok",             # m segments, each reading real input, every item read
)


def _classify(m: int, n_segments: int | None, pure: tuple[int, ...], dropped: int) -> str:
    if n_segments is None:
        return "error"
    if n_segments != m:
        return "wrong count"
    if pure:
        return "pure padding"
    return "dropped tail" if dropped else "ok"


@dataclass(frozen=True)
class OriginalSizes:
    """What the original ``DownConv`` does for one ``(seq_len, m_segments, k1)``.

    Attributes
    ----------
    middle_segment_length : float
        The original's ``seq_len / k1`` (a float).
    k2, padding : int
        The second convolution's kernel (= stride) and per-side padding, computed
        from that float exactly as the original does.
    first_conv_length : int or None
        What the first convolution really outputs, ``seq_len // k1``; ``None``
        when ``k1 > seq_len`` (the forward pass raises).
    n_segments : int or None
        Segments produced; ``None`` when the forward pass raises.
    pure_padding_segments : tuple of int
        Indices of segments whose window holds only padding zeros.
    dropped_items : int
        Input positions no segment depends on.
    outcome : str
        One of :data:`OUTCOMES`.
    """

    seq_len: int
    m_segments: int
    k1: int
    middle_segment_length: float
    k2: int
    padding: int
    first_conv_length: int | None
    n_segments: int | None
    pure_padding_segments: tuple[int, ...]
    dropped_items: int
    outcome: str


def original_sizes(seq_len: int = 200, m_segments: int = 4, k1: int = 10) -> OriginalSizes:
    r"""Reproduce the original's size arithmetic, returning what it only prints.

    The original computes, with ``mid = seq_len / k1`` a float,

    .. math:: k_2 = \lceil mid / m \rceil, \qquad
              p = \lceil (k_2 m - mid) / 2 \rceil ,

    while PyTorch's first convolution produces :math:`L_1 = \lfloor seq\_len / k_1 \rfloor`
    positions, and the second produces :math:`\lfloor (L_1 + 2p - k_2)/k_2 \rfloor + 1`
    (both from :func:`strided_conv.conv_output_size`). Segment ``j`` reads the
    first-conv positions ``j*k2 - p .. j*k2 - p + k2 - 1`` that exist.
    """
    middle = seq_len / k1
    k2 = math.ceil(middle / m_segments)
    padding = math.ceil((k2 * m_segments - middle) / 2.0)
    try:
        first = conv_output_size(seq_len, k1, k1)
        n_segments = conv_output_size(first, k2, k2, padding)
    except ValueError:
        first = first if k1 <= seq_len else None
        return OriginalSizes(seq_len, m_segments, k1, middle, k2, padding, first,
                             None, (), seq_len, "error")
    pure, covered = [], 0
    for j in range(n_segments):
        lo, hi = max(j * k2 - padding, 0), min(j * k2 - padding + k2, first)
        if lo >= hi:
            pure.append(j)
        covered += max(hi - lo, 0) * k1  # windows of both layers are disjoint
    dropped = seq_len - covered
    return OriginalSizes(seq_len, m_segments, k1, middle, k2, padding, first, n_segments,
                         tuple(pure), dropped,
                         _classify(m_segments, n_segments, tuple(pure), dropped))


@dataclass(frozen=True)
class OriginalRun:
    """The measured behaviour of one real run of the original module.

    Attributes
    ----------
    n_segments : int or None
        Segments in the output, ``None`` if ``forward`` raised.
    depends : numpy.ndarray or None
        Boolean ``(n_segments, seq_len)``: ``depends[j, t]`` is True when
        segment ``j`` changes with input position ``t``.
    printed : str
        Everything the module printed.
    error : str or None
        ``"ExceptionType: message"`` if construction or ``forward`` raised.
    outcome : str
        One of :data:`OUTCOMES`.
    """

    n_segments: int | None
    depends: np.ndarray | None
    printed: str
    error: str | None
    outcome: str


def run_original(seq_len: int = 200, m_segments: int = 4, k1: int = 10,
                 hidden_size: int = 1, channel_reduction: int = 1) -> OriginalRun:
    """Build the original module, run it, and measure what each segment reads.

    The measurement is :func:`strided_conv.input_dependence`: all
    weights 1, biases 0, float64, one one-hot input per position, so output
    ``j`` is non-zero for input ``t`` exactly when segment ``j`` reads ``t``.
    The sizes do not depend on ``hidden_size`` or ``channel_reduction``, so
    the defaults (one channel) keep a run near a millisecond. Whatever the module prints is captured and returned.
    """
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            module = DownConv(seq_len, hidden_size, m_segments, k1, channel_reduction)
            depends = input_dependence(module, seq_len, hidden_size)
    except (RuntimeError, ValueError) as exc:
        return OriginalRun(None, None, out.getvalue(), f"{type(exc).__name__}: {exc}", "error")
    pure = tuple(int(j) for j in np.flatnonzero(~depends.any(axis=1)))
    dropped = int((~depends.any(axis=0)).sum())
    return OriginalRun(depends.shape[0], depends, out.getvalue(), None,
                       _classify(m_segments, depends.shape[0], pure, dropped))
