r"""PAUP's ``DownConv``, with sizes that always add up (chapter 3).

``DownConv`` compresses a sequence of ``seq_len`` item embeddings into
``m_segments`` segment embeddings with two strided convolutions (Zhu et al.,
SIGIR 2022)::

    (B, seq_len, H)
      conv1a: Conv1d(H -> H // channel_reduction, kernel k1, stride k1)  -> L1 positions
      relu1a: ReLU(inplace=True)
      conv2a: Conv1d(-> H, kernel k2, stride k2, padding p)              -> m positions
    -> (B, m_segments, H)

(the original permutes to ``(B, H, seq_len)`` for ``nn.Conv1d`` and back).

Size arithmetic (chapter 1's :func:`~strided_conv.conv_output_size`, with
kernel = stride, so windows never overlap):

.. math::

    L_1 = \lfloor L / k_1 \rfloor, \qquad
    m = \left\lfloor \frac{L_1 + 2p - k_2}{k_2} \right\rfloor + 1
      = \left\lfloor \frac{L_1 + 2p}{k_2} \right\rfloor ,

where ``L`` is the (possibly padded, see ``tail``) input length. With

.. math:: k_2 = \lceil L_1 / m \rceil, \qquad r = m k_2 - L_1, \qquad p = \lceil r / 2 \rceil

the second convolution gives exactly ``m`` segments, each reading at least one
real position, every real position read, **if and only if**
:math:`p \le k_2 - 1`, equivalently :math:`r \le 2(k_2 - 1)`. When no such
choice exists, no other ``(k2, p)`` works either (proof in the chapter; checked
by brute force in the tests), so the module refuses the configuration.
``m_segments <= L1`` is necessary but not sufficient (``L1 = 5, m = 4``
is impossible: four windows of two would need three zeros of padding, and
symmetric padding puts two of them in the first window).

Both convolutions have stride = kernel, so their windows tile the sequence:
im2col duplicates nothing (the col matrix is the input, reshaped) and each
convolution is one matrix product, computed directly in the
``(batch, length, channels)`` layout by :func:`~strided_conv.tiled_conv1d` -- no permutes,
no copy beyond the zero padding, the same sums as ``nn.Conv1d`` (up to rounding).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ._validation import check_int
from .layers import Convolution
from .output_size import conv_output_size

__all__ = [
    "DownConv",
    "DownConvSizes",
    "tiled_conv1d",
    "TAIL_POLICIES",
    "downconv_sizes",
    "second_conv_sizes",
    "feasible_segments",
    "package_outcome",
    "input_dependence",
    "NumPyDownConv",
]

#: Accepted values of ``tail``: what to do with the last ``seq_len mod k1`` items.
TAIL_POLICIES: tuple[str, ...] = ("pad", "error", "drop")


@dataclass(frozen=True)
class DownConvSizes:
    """Every size of one ``DownConv`` configuration.

    Attributes
    ----------
    seq_len, m_segments, k1 : int
        The configuration.
    tail : str
        The tail policy, one of :data:`~strided_conv.TAIL_POLICIES`.
    tail_items : int
        ``seq_len mod k1``: items beyond the last full first-conv window.
    tail_padding : int
        Zeros appended after the last item (``tail="pad"`` only), so that the
        first convolution reads every item.
    mid_length : int
        ``L1``, the first convolution's real output length.
    k2, padding : int
        The second convolution's kernel (= stride) and per-side zero padding.
    """

    seq_len: int
    m_segments: int
    k1: int
    tail: str
    tail_items: int
    tail_padding: int
    mid_length: int
    k2: int
    padding: int

    def segment_spans(self) -> list[tuple[int, int]]:
        """Input positions each segment depends on, as half-open ``(start, stop)``.

        Segment ``j`` reads first-conv positions ``j*k2 - p ... j*k2 - p + k2 - 1``
        (those that exist), and first-conv position ``i`` reads items
        ``i*k1 ... i*k1 + k1 - 1``; appended zeros are not items, so spans stop
        at ``seq_len``. The spans are disjoint, consecutive, and cover every
        item except a dropped tail (``tail="drop"`` only).
        """
        spans = []
        for j in range(self.m_segments):
            lo = max(j * self.k2 - self.padding, 0)
            hi = min(j * self.k2 - self.padding + self.k2, self.mid_length)
            spans.append((lo * self.k1, min(hi * self.k1, self.seq_len)))
        return spans


def second_conv_sizes(mid_length: int, m_segments: int) -> tuple[int, int] | None:
    """``(k2, padding)`` giving exactly ``m_segments`` proper segments, or ``None``.

    ``k2 = ceil(L1 / m)``, ``padding = ceil((m*k2 - L1) / 2)``; ``None`` when
    ``padding >= k2``, i.e. when the first window would read only padding (see
    the module docstring for why nothing else can work then).
    """
    k2 = -(-mid_length // m_segments)
    padding = -(-(m_segments * k2 - mid_length) // 2)
    if padding >= k2:
        return None
    assert conv_output_size(mid_length, k2, k2, padding) == m_segments  # the derivation
    return k2, padding


def feasible_segments(mid_length: int) -> list[int]:
    """Every ``m_segments`` that :func:`second_conv_sizes` accepts for this ``L1``."""
    mid_length = check_int("mid_length", mid_length, 1)
    return [m for m in range(1, mid_length + 1) if second_conv_sizes(mid_length, m) is not None]


def _ranges(values: list[int]) -> str:
    """``[1, 2, 3, 5]`` -> ``'1-3, 5'`` for readable error messages."""
    parts, start = [], values[0]
    for prev, cur in zip(values, values[1:] + [None]):
        if cur != prev + 1:
            parts.append(f"{start}" if start == prev else f"{start}-{prev}")
            start = cur
    return ", ".join(parts)


def _check_config(seq_len: int, m_segments: int, k1: int, tail: str) -> tuple[int, int, int]:
    seq_len = check_int("seq_len", seq_len, 1)
    m_segments = check_int("m_segments", m_segments, 1)
    k1 = check_int("k1", k1, 1)
    if not isinstance(tail, str) or tail not in TAIL_POLICIES:
        raise ValueError(f"tail must be one of {TAIL_POLICIES}, got {tail!r}")
    if k1 > seq_len:
        raise ValueError(
            f"k1={k1} must be <= seq_len={seq_len}: the first convolution's window "
            "(kernel k1) would be longer than the sequence"
        )
    return seq_len, m_segments, k1


def downconv_sizes(seq_len: int = 200, m_segments: int = 4, k1: int = 10,
                   tail: str = "pad") -> DownConvSizes:
    """Derive every size of a ``DownConv``, or refuse the configuration.

    Parameters
    ----------
    seq_len, m_segments, k1 : int
        As in :class:`DownConv`.
    tail : {"pad", "error", "drop"}
        See :class:`DownConv`.

    Raises
    ------
    ValueError
        If ``k1 > seq_len``; if ``tail="error"`` and ``k1`` does not divide
        ``seq_len``; if no second convolution gives exactly ``m_segments``
        segments that each read real input (the message lists the feasible
        ``m_segments``).
    """
    seq_len, m_segments, k1 = _check_config(seq_len, m_segments, k1, tail)
    tail_items = seq_len % k1
    if tail_items and tail == "error":
        raise ValueError(
            f"k1={k1} does not divide seq_len={seq_len}: the first convolution would never "
            f"read the last seq_len mod k1 = {tail_items} items (the most recent ones in a "
            "left-aligned history); choose k1 dividing seq_len, tail='pad' to append zeros, "
            "or tail='drop' to ignore them knowingly"
        )
    tail_padding = (-seq_len) % k1 if tail == "pad" else 0
    mid = conv_output_size(seq_len + tail_padding, k1, k1)
    second = second_conv_sizes(mid, m_segments)
    if second is None:
        raise ValueError(
            f"m_segments={m_segments} is not feasible for seq_len={seq_len}, k1={k1}, "
            f"tail={tail!r}: the first convolution outputs L1={mid} positions, and one "
            "Conv1d(kernel=k2, stride=k2, symmetric padding) gives exactly m segments that "
            "each read real input only for m_segments in {" + _ranges(feasible_segments(mid))
            + "} (necessary: m_segments <= L1; rule: (m-2)*ceil(L1/m) <= L1-2)"
        )
    return DownConvSizes(seq_len, m_segments, k1, tail, tail_items, tail_padding, mid, *second)


def package_outcome(seq_len: int, m_segments: int, k1: int, tail: str = "pad") -> str:
    """What :class:`DownConv` does with a configuration, without building it.

    Returns ``"ok"`` (exactly ``m_segments`` segments, every item read),
    ``"padded tail"`` (the same, after appending zeros) or ``"refused"``
    (the constructor raises ``ValueError``).
    """
    try:
        sizes = downconv_sizes(seq_len, m_segments, k1, tail)
    except ValueError:
        return "refused"
    return "padded tail" if sizes.tail_padding else "ok"


class DownConv(nn.Module):
    """Compress ``seq_len`` item embeddings into exactly ``m_segments`` segments.

    Same names, defaults and layers as PAUP's module (``conv1a``, ``relu1a``,
    ``conv2a``), so for the defaults the layers, shapes and the 3,908
    parameters are identical to the original's and its ``state_dict`` loads
    unchanged. What differs is the size arithmetic (module docstring):

    - ``k2`` and ``padding`` come from the first convolution's integer output
      length ``mid_length``, not from the float ``seq_len / k1``;
    - exactly ``m_segments`` segments, or ``ValueError`` at construction (never
      a printed message);
    - no segment is ever made only of padding: such configurations are
      **refused** (the error lists the feasible ``m_segments``);
    - items after the last full first-conv window are never dropped silently
      (``tail``);
    - ``forward`` runs each convolution as one matrix product on the
      ``(batch, length, channels)`` tensor (:func:`~strided_conv.tiled_conv1d`), with the
      layers' own weights: no permutes, same result as calling ``conv1a`` and
      ``conv2a`` (hooks registered on those two layers are not called).

    Parameters
    ----------
    seq_len : int, default 200
        Number of items ``n`` in every input sequence.
    hidden_size : int, default 64
        Embedding size ``H``.
    m_segments : int, default 4
        Number of output segments ``m``.
    k1 : int, default 10
        Kernel and stride of the first convolution, ``1 <= k1 <= seq_len``.
    channel_reduction : int, default 16
        The first convolution has ``hidden_size // channel_reduction >= 1``
        output channels (floor division, as in the original).
    tail : {"pad", "error", "drop"}, default "pad"
        What to do with the last ``seq_len mod k1`` items when ``k1`` does not
        divide ``seq_len``: ``"pad"`` appends ``k1 - seq_len mod k1`` zeros
        after the last item (the embedding of the padding item in RecBole-style
        data) so every item is read; ``"error"`` refuses the configuration;
        ``"drop"`` ignores them, as the original does, but only when asked.
        With the defaults ``10`` divides ``200`` and all three are identical.

    Attributes
    ----------
    sizes : DownConvSizes
        Every derived size; also ``mid_length`` (first conv output length),
        ``k2``, ``padding`` and ``tail_padding`` directly.

    Shapes
    ------
    input ``(batch, seq_len, hidden_size)`` -> output ``(batch, m_segments, hidden_size)``.
    """

    def __init__(self, seq_len: int = 200, hidden_size: int = 64, m_segments: int = 4,
                 k1: int = 10, channel_reduction: int = 16, tail: str = "pad") -> None:
        super().__init__()
        hidden_size = check_int("hidden_size", hidden_size, 1)
        channel_reduction = check_int("channel_reduction", channel_reduction, 1)
        if hidden_size // channel_reduction < 1:
            raise ValueError(
                f"hidden_size // channel_reduction must be >= 1, got {hidden_size} // "
                f"{channel_reduction} = 0: the first convolution would have no channel"
            )
        self.sizes = downconv_sizes(seq_len, m_segments, k1, tail)
        self.seq_len, self.hidden_size = self.sizes.seq_len, hidden_size
        self.m = self.m_segments = self.sizes.m_segments  # `m` is the original's name
        self.k1, self.channel_reduction, self.tail = self.sizes.k1, channel_reduction, tail
        self.mid_length, self.k2 = self.sizes.mid_length, self.sizes.k2
        self.padding, self.tail_padding = self.sizes.padding, self.sizes.tail_padding
        reduced = hidden_size // channel_reduction
        self.conv1a = nn.Conv1d(hidden_size, reduced, kernel_size=self.k1, stride=self.k1)
        self.relu1a = nn.ReLU(inplace=True)
        self.conv2a = nn.Conv1d(reduced, hidden_size, kernel_size=self.k2, stride=self.k2,
                                padding=self.padding)

    def extra_repr(self) -> str:
        return (f"seq_len={self.seq_len}, hidden_size={self.hidden_size}, "
                f"m_segments={self.m_segments}, k1={self.k1}, "
                f"channel_reduction={self.channel_reduction}, tail={self.tail!r}, "
                f"mid_length={self.mid_length}, k2={self.k2}, padding={self.padding}, "
                f"tail_padding={self.tail_padding}")

    def segment_spans(self) -> list[tuple[int, int]]:
        """Half-open ``(start, stop)`` input positions segment ``j`` depends on.

        See :meth:`DownConvSizes.segment_spans`.
        """
        return self.sizes.segment_spans()

    def check_input(self, input_tensor: torch.Tensor) -> None:
        """Raise unless ``input_tensor`` is a ``(batch, seq_len, hidden_size)`` tensor."""
        if not isinstance(input_tensor, torch.Tensor):
            raise TypeError(f"input_tensor must be a torch.Tensor, got {type(input_tensor).__name__}")
        expected = ("batch", self.seq_len, self.hidden_size)
        shape = tuple(input_tensor.shape)
        if input_tensor.ndim != 3 or shape[1:] != expected[1:]:
            raise ValueError(
                f"input_tensor must have shape (batch, seq_len={self.seq_len}, "
                f"hidden_size={self.hidden_size}), got {shape}"
            )

    def forward(self, input_tensor: torch.Tensor) -> torch.Tensor:
        """``(batch, seq_len, hidden_size)`` -> ``(batch, m_segments, hidden_size)``."""
        self.check_input(input_tensor)
        # Zeros after the most recent item (tail="pad"); tail="drop" leaves the last
        # seq_len mod k1 items out of every window, as Conv1d's floor does.
        x = self.relu1a(tiled_conv1d(input_tensor, self.conv1a, extra_right=self.tail_padding))
        return tiled_conv1d(x, self.conv2a)


def tiled_conv1d(x: torch.Tensor, conv: nn.Conv1d, extra_right: int = 0) -> torch.Tensor:
    r"""Apply ``conv`` (stride = kernel) to ``x`` laid out ``(batch, length, channels)``.

    When the stride equals the kernel size ``k`` the windows tile the (padded)
    input without overlap, so im2col is a reshape,

    .. math:: \text{col}[b, j, t C + c] = x_\text{pad}[b, j k + t, c],
              \qquad j < o = \lfloor (L + 2p + e) / k \rfloor,

    and the convolution is one product with the weight flattened in the same
    ``(t, c)`` order: ``out = col @ W.permute(0, 2, 1).reshape(C_out, k*C).T + b``.
    Positions after the last full window are not read, as in ``nn.Conv1d``.

    Parameters
    ----------
    x : Tensor, shape ``(batch, length, C_in)``
    conv : nn.Conv1d
        Its ``weight`` ``(C_out, C_in, k)``, ``bias`` and per-side ``padding`` p
        are used; it must have ``stride == kernel_size``, dilation 1, groups 1
        and zero padding.
    extra_right : int, default 0
        Zeros appended after the right padding (DownConv's ``tail_padding``).

    Returns
    -------
    Tensor, shape ``(batch, o, C_out)``: ``conv(x.transpose(1, 2)).transpose(1, 2)``
    evaluated on ``x`` right-padded by ``extra_right`` zeros.
    """
    (k,), (stride,), (pad,) = conv.kernel_size, conv.stride, conv.padding
    if (stride, conv.dilation[0], conv.groups, conv.padding_mode) != (k, 1, 1, "zeros"):
        raise ValueError(
            f"conv must have stride == kernel_size, dilation 1, groups 1 and zero padding, "
            f"got kernel_size={k}, stride={stride}, dilation={conv.dilation[0]}, "
            f"groups={conv.groups}, padding_mode={conv.padding_mode!r}")
    check_int("extra_right", extra_right, 0)
    if pad or extra_right:
        x = F.pad(x, (0, 0, pad, pad + extra_right))
    batch, length, channels = x.shape
    windows = length // k
    col = x[:, :windows * k].reshape(batch, windows, k * channels)
    weight = conv.weight.permute(0, 2, 1).reshape(conv.out_channels, k * channels)
    return F.linear(col, weight, conv.bias)


def input_dependence(module: nn.Module, seq_len: int, hidden_size: int) -> np.ndarray:
    """Measure which input positions each output row of a DownConv-like module reads.

    A float64 copy of ``module`` gets every convolution weight set to 1 and
    every bias to 0, so the ReLU never clips and the map is linear with
    non-negative coefficients; the batch holds one one-hot input per position.
    Works for the original module and for :class:`DownConv` alike.

    Returns
    -------
    numpy.ndarray of bool, shape ``(n_outputs, seq_len)``
        ``[j, t]`` is True when output row ``j`` changes with input position ``t``.
    """
    probe = copy.deepcopy(module).double()
    with torch.no_grad():
        for layer in probe.modules():
            if isinstance(layer, nn.Conv1d):
                layer.weight.fill_(1.0)
                layer.bias.zero_()
        x = torch.eye(seq_len, dtype=torch.float64)[:, :, None].expand(-1, -1, hidden_size)
        y = probe(x.contiguous())
    return (y[:, :, 0] != 0).T.numpy()


class NumPyDownConv:
    """A :class:`DownConv`'s two layers rebuilt with chapter 2's NumPy :class:`~strided_conv.Convolution`.

    A 1-D convolution is a 2-D one of height 1: the input ``(B, L, H)`` becomes
    ``(B, H, 1, L)``, a ``Conv1d`` weight ``(out, in, k)`` becomes
    ``(out, in, 1, k)``, stride ``(1, k)`` and padding ``(0, p)``. Weights are
    copied from ``module`` as float64, so the two can be compared to 1e-10.

    Methods follow the seed's layer API: :meth:`forward` then :meth:`backward`.
    """

    def __init__(self, module: DownConv) -> None:
        def layer(conv: nn.Conv1d, pad: int) -> Convolution:
            w = conv.weight.detach().double().numpy()[:, :, None, :].copy()
            b = conv.bias.detach().double().numpy().copy()
            return Convolution(w, b, stride=(1, conv.stride[0]), pad=(0, pad))

        self.module = module
        self.conv1 = layer(module.conv1a, 0)
        self.conv2 = layer(module.conv2a, module.padding)
        self._active: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``(B, seq_len, H)`` float64 -> ``(B, m_segments, H)``."""
        x = np.ascontiguousarray(x.transpose(0, 2, 1))[:, :, None, :]
        x = np.pad(x, ((0, 0), (0, 0), (0, 0), (0, self.module.tail_padding)))
        h = self.conv1.forward(x)
        self._active = h > 0
        y = self.conv2.forward(np.where(self._active, h, 0.0))
        return y[:, :, 0, :].transpose(0, 2, 1)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """Gradient of the loss w.r.t. the input, ``(B, seq_len, H)``, from ``dout`` ``(B, m, H)``."""
        if self._active is None:
            raise ValueError("backward() called before forward()")
        dh = self.conv2.backward(np.ascontiguousarray(dout.transpose(0, 2, 1))[:, :, None, :])
        dx = self.conv1.backward(np.where(self._active, dh, 0.0))
        return dx[:, :, 0, : self.module.seq_len].transpose(0, 2, 1)
