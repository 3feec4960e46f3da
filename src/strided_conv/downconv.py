r"""PAUP's ``DownConv``, with sizes that always add up (chapter 3).

``DownConv`` compresses a sequence of ``seq_len`` item embeddings into
``m_segments`` segment embeddings with two strided convolutions (Zhu et al.,
SIGIR 2022)::

    (N, seq_len, D)
      conv1a: Conv1d(D -> D // channel_reduction, kernel k1, stride k1)  -> L1 positions
      relu1a: ReLU(inplace=True)
      conv2a: Conv1d(-> D, kernel k2, stride k2, padding p2)             -> m positions
    -> (N, m_segments, D)

(the original permutes to ``(N, D, seq_len)`` for ``nn.Conv1d`` and back; ``N`` is
the batch, ``D`` the hidden size, as in the book's notation).

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

import contextlib
import copy
from collections.abc import Iterator
from dataclasses import dataclass, fields

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils import parametrize

from ._validation import check_allocatable, check_int
from .layers import Convolution
from .output_size import LIST_LIMIT, conv_output_size

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

    def __post_init__(self) -> None:
        # The derived sizes must be the ones the configuration implies: an
        # inconsistent instance would give wrong spans, never an error.
        derived = _derive_sizes(self.seq_len, self.m_segments, self.k1, self.tail)
        for field, expected in zip(fields(self), derived):
            got = getattr(self, field.name)
            if field.name != "tail":
                got = check_int(field.name, got)
                object.__setattr__(self, field.name, got)  # plain ints, as downconv_sizes gives
            if got != expected:
                raise ValueError(
                    f"{field.name}={got!r} does not match seq_len={self.seq_len}, "
                    f"m_segments={self.m_segments}, k1={self.k1}, tail={self.tail!r}, which give "
                    f"{field.name}={expected}; build DownConvSizes with downconv_sizes()"
                )

    def segment_spans(self) -> list[tuple[int, int]]:
        """Input positions each segment depends on, as half-open ``(start, stop)``.

        Segment ``j`` reads first-conv positions ``j*k2 - p ... j*k2 - p + k2 - 1``
        (those that exist), and first-conv position ``i`` reads items
        ``i*k1 ... i*k1 + k1 - 1``; appended zeros are not items, so spans stop
        at ``seq_len``. The spans are disjoint, consecutive, and cover every
        item except a dropped tail (``tail="drop"`` only).

        Raises ``ValueError`` for more than ``10**7`` segments (a list that long
        would take gigabytes).
        """
        if self.m_segments > LIST_LIMIT:
            raise ValueError(
                f"m_segments={self.m_segments} is more than {LIST_LIMIT} spans to list")
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

    Raises
    ------
    TypeError, ValueError
        If ``mid_length`` or ``m_segments`` is not an int ``>= 1``.
    """
    mid_length = check_int("mid_length", mid_length, 1)
    m_segments = check_int("m_segments", m_segments, 1)
    return _second_conv_sizes(mid_length, m_segments)


def _second_conv_sizes(mid_length: int, m_segments: int) -> tuple[int, int] | None:
    k2 = -(-mid_length // m_segments)
    padding = -(-(m_segments * k2 - mid_length) // 2)
    if padding >= k2:
        return None
    assert conv_output_size(mid_length, k2, k2, padding) == m_segments  # the derivation
    return k2, padding


def feasible_segments(mid_length: int) -> list[int]:
    """Every ``m_segments`` that :func:`second_conv_sizes` accepts for this ``L1``.

    Raises
    ------
    TypeError, ValueError
        If ``mid_length`` is not an int ``>= 1``, or is more than ``10**7`` (the
        list could have that many entries; ask :func:`second_conv_sizes` about
        one ``m_segments`` instead).
    """
    mid_length = check_int("mid_length", mid_length, 1)
    if mid_length > LIST_LIMIT:
        raise ValueError(
            f"mid_length={mid_length} is more than {LIST_LIMIT}: too many m_segments to list; "
            "use second_conv_sizes(mid_length, m_segments) for one"
        )
    return _feasible_segments(mid_length)


def _feasible_segments(mid_length: int) -> list[int]:
    """:func:`_second_conv_sizes` for every ``m``, vectorized in blocks (same integer formulas)."""
    found = []
    for start in range(1, mid_length + 1, 1 << 20):
        m = np.arange(start, min(start + (1 << 20), mid_length + 1), dtype=np.int64)
        k2 = -(-mid_length // m)
        padding = -(-(m * k2 - mid_length) // 2)
        found.extend(m[padding < k2].tolist())
    return found


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
        segments that each read real input and together read every position
        (the message lists the feasible ``m_segments``).
    """
    return DownConvSizes(*_derive_sizes(seq_len, m_segments, k1, tail))


def _derive_sizes(seq_len: int, m_segments: int, k1: int, tail: str) -> tuple:
    """:func:`downconv_sizes` as a tuple of :class:`DownConvSizes`'s fields."""
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
    second = _second_conv_sizes(mid, m_segments)
    if second is None:
        listed = ("{" + _ranges(_feasible_segments(mid)) + "}" if mid <= LIST_LIMIT
                  else "the set the rule below defines (L1 too large to list it)")
        raise ValueError(
            f"m_segments={m_segments} is not feasible for seq_len={seq_len}, k1={k1}, "
            f"tail={tail!r}: the first convolution outputs L1={mid} positions, and one "
            "Conv1d(kernel=k2, stride=k2, symmetric padding) gives exactly m segments that "
            f"each read real input and together read every position only for m_segments in "
            f"{listed}"
            " (necessary: m_segments <= L1; rule: (m-2)*ceil(L1/m) <= L1-2)"
        )
    return (seq_len, m_segments, k1, tail, tail_items, tail_padding, mid, *second)


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
      ``conv2a``. When anything is attached to one of them (forward or backward
      hooks, pruning, ``weight_norm`` or ``spectral_norm`` of either API, any
      parametrization, a subclass with its own ``forward``, global module
      hooks), that layer is called as a module instead, so whatever is attached
      runs exactly as on a plain ``nn.Conv1d``.

    Parameters
    ----------
    seq_len : int, default 200
        Number of items ``n`` in every input sequence.
    hidden_size : int, default 64
        Embedding size ``D``.
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
    input ``(batch, seq_len, hidden_size)`` -> output ``(batch, m_segments, hidden_size)``;
    ``batch = 0`` gives an empty output. The input must have the parameters'
    dtype (``TypeError`` naming both dtypes otherwise: nothing is promoted).
    Arithmetic is PyTorch's: a float16 overflow gives ``inf``, as in ``nn.Conv1d``.
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
        _check_weight_size("conv1a.weight (hidden_size // channel_reduction, hidden_size, k1)",
                          (reduced, hidden_size, self.k1),
                          f"hidden_size={hidden_size}, k1={self.k1}")
        _check_weight_size("conv2a.weight (hidden_size, hidden_size // channel_reduction, k2)",
                          (hidden_size, reduced, self.k2),
                          f"hidden_size={hidden_size}, seq_len={self.seq_len}, "
                          f"m_segments={self.m_segments}, k2={self.k2}")
        with _memory_errors():
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
        """Raise unless ``input_tensor`` is a ``(batch, seq_len, hidden_size)`` tensor
        of the module's dtype (``batch >= 0``)."""
        self._check_input(input_tensor, "input_tensor")

    def _check_input(self, x: torch.Tensor, name: str, owner: nn.Module | None = None) -> None:
        """:meth:`check_input`, naming the tensor as the caller's parameter and the
        dtype's ``owner`` (a module containing this one) if given."""
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
        shape = tuple(x.shape)
        if x.ndim != 3 or shape[1:] != (self.seq_len, self.hidden_size):
            raise ValueError(
                f"{name} must have shape (batch, seq_len={self.seq_len}, "
                f"hidden_size={self.hidden_size}), got {shape}"
            )
        _check_dtype(name, x, self if owner is None else owner)

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

    When anything is attached to ``conv`` (hooks, pruning, ``weight_norm``,
    ``spectral_norm``, parametrizations, a subclass's own ``forward``, global
    module hooks), ``conv`` is called as a module on the transposed input
    instead, so what is attached runs; the result is the same function.

    Parameters
    ----------
    x : Tensor, shape ``(batch, length, C_in)``
        ``batch >= 0``; the dtype of ``conv``'s parameters.
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

    Raises
    ------
    TypeError
        If ``conv`` is not an ``nn.Conv1d``, ``x`` is not a tensor, or their dtypes differ.
    ValueError
        If ``conv``'s geometry is not a tiling one, ``x`` is not 3-D with
        ``C_in`` channels, ``extra_right < 0``, or the padded input is shorter
        than one window (``nn.Conv1d`` refuses that too).
    """
    if not isinstance(conv, nn.Conv1d):
        raise TypeError(f"conv must be a torch.nn.Conv1d, got {type(conv).__name__}")
    (k,), (stride,), (pad,) = conv.kernel_size, conv.stride, conv.padding
    if (stride, conv.dilation[0], conv.groups, conv.padding_mode) != (k, 1, 1, "zeros"):
        raise ValueError(
            f"conv must have stride == kernel_size, dilation 1, groups 1 and zero padding, "
            f"got kernel_size={k}, stride={stride}, dilation={conv.dilation[0]}, "
            f"groups={conv.groups}, padding_mode={conv.padding_mode!r}")
    extra_right = check_int("extra_right", extra_right, 0)
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    if x.ndim != 3 or x.shape[2] != conv.in_channels:
        raise ValueError(
            f"x must have shape (batch, length, C_in={conv.in_channels}) for conv "
            f"{conv.in_channels} -> {conv.out_channels} channels, got {tuple(x.shape)}"
        )
    _check_dtype("x", x, conv)
    if x.shape[1] + 2 * pad + extra_right < k:
        raise ValueError(
            f"x has length {x.shape[1]}; with padding 2*{pad} and extra_right={extra_right} "
            f"that is {x.shape[1] + 2 * pad + extra_right} positions, fewer than one window "
            f"(kernel_size={k})"
        )
    if _has_attachments(conv):
        # Call the module so its hooks and parametrizations run, as on any Conv1d.
        xt = F.pad(x, (0, 0, 0, extra_right)) if extra_right else x
        return conv(xt.transpose(1, 2)).transpose(1, 2)
    if pad or extra_right:
        x = F.pad(x, (0, 0, pad, pad + extra_right))
    batch, length, channels = x.shape
    windows = length // k
    col = x[:, :windows * k].reshape(batch, windows, k * channels)
    weight = conv.weight.permute(0, 2, 1).reshape(conv.out_channels, k * channels)
    return F.linear(col, weight, conv.bias)


def _has_attachments(module: nn.Module) -> bool:
    """True if calling ``module`` could do more than ``nn.Conv1d.forward`` on its
    own ``weight`` and ``bias``: hooks (its own or global), parametrizations
    (``parametrizations.weight_norm``/``spectral_norm``), the hook-based
    ``prune``/``weight_norm``/``spectral_norm``, or a subclass's ``forward``."""
    if type(module).forward is not nn.Conv1d.forward or \
            type(module)._conv_forward is not nn.Conv1d._conv_forward:
        return True
    if parametrize.is_parametrized(module):
        return True
    own = (module._forward_pre_hooks, module._forward_hooks, module._backward_pre_hooks,
           module._backward_hooks)
    # Module-wide hooks (torch.nn.modules.module.register_module_forward_hook and co.)
    # run on every module call; private dicts, read defensively.
    registry = torch.nn.modules.module
    global_hooks = (getattr(registry, name, None) for name in (
        "_global_forward_pre_hooks", "_global_forward_hooks", "_global_backward_pre_hooks",
        "_global_backward_hooks"))
    return any(len(h) for h in own) or any(h for h in global_hooks)


def _check_dtype(name: str, x: torch.Tensor, module: nn.Module) -> None:
    """``TypeError`` naming both dtypes unless ``x`` has the dtype of every parameter of
    ``module`` (PyTorch would fail later with "mat1 and mat2 must have the same dtype")."""
    dtypes = {p.dtype for p in module.parameters()}
    if dtypes and dtypes != {x.dtype}:
        have = ", ".join(sorted(str(d) for d in dtypes))
        raise TypeError(
            f"{name} has dtype {x.dtype} but the parameters of {type(module).__name__} have "
            f"dtype {have}; convert one explicitly (module.to({name}.dtype) or "
            f"{name}.to(...)); nothing is promoted"
        )


def _check_weight_size(what: str, shape: tuple[int, ...], because: str) -> None:
    """``ValueError`` if no tensor of ``shape`` (float64 at most) can exist."""
    check_allocatable(what, shape, 8, because)


@contextlib.contextmanager
def _memory_errors() -> Iterator[None]:
    """Turn PyTorch's out-of-memory ``RuntimeError`` into ``MemoryError``, as NumPy raises."""
    try:
        yield
    except RuntimeError as err:
        if "can't allocate memory" in str(err) or "not enough memory" in str(err):
            raise MemoryError(str(err)) from err
        raise


def input_dependence(module: nn.Module, seq_len: int, hidden_size: int) -> np.ndarray:
    """Measure which input positions each output row of a DownConv-like module reads.

    A float64 copy of ``module`` gets every ``nn.Conv1d`` replaced by a plain one
    of the same geometry with every weight 1 and every bias 0 (so pruning, weight
    norms and hooks attached to the layers do not change what is measured), so
    the ReLU never clips and the map is linear with non-negative coefficients;
    the batch holds one one-hot input per position. Works for the original
    module and for :class:`DownConv` alike.

    Returns
    -------
    numpy.ndarray of bool, shape ``(n_outputs, seq_len)``
        ``[j, t]`` is True when output row ``j`` changes with input position ``t``.

    Raises
    ------
    TypeError
        If ``module`` is not an ``nn.Module`` or a size is not an int.
    ValueError
        If a size is ``< 1``, or differs from the module's own ``seq_len`` or
        ``hidden_size`` attribute.
    """
    if not isinstance(module, nn.Module):
        raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
    seq_len = check_int("seq_len", seq_len, 1)
    hidden_size = check_int("hidden_size", hidden_size, 1)
    for name, value in (("seq_len", seq_len), ("hidden_size", hidden_size)):
        own = getattr(module, name, value)
        if isinstance(own, int) and own != value:
            raise ValueError(f"{name}={value} but the module was built for {name}={own}")
    check_allocatable("the one-hot probe batch (seq_len, seq_len, hidden_size)",
                      (seq_len, seq_len, hidden_size), 8,
                      f"seq_len={seq_len}, hidden_size={hidden_size}")
    # deepcopy with the convolutions pre-mapped to plain ones: hook-based weight
    # norms hold non-leaf tensors that deepcopy refuses, and none of it is wanted here.
    memo = {id(layer): _ones_conv(layer) for layer in module.modules()
            if isinstance(layer, nn.Conv1d)}
    probe = copy.deepcopy(module, memo).double()
    with torch.no_grad():
        x = torch.eye(seq_len, dtype=torch.float64)[:, :, None].expand(-1, -1, hidden_size)
        y = probe(x.contiguous())
    return (y[:, :, 0] != 0).T.numpy()


def _ones_conv(layer: nn.Conv1d) -> nn.Conv1d:
    """A plain float64 ``nn.Conv1d`` with ``layer``'s geometry, weights 1 and bias 0."""
    plain = nn.Conv1d(layer.in_channels, layer.out_channels, layer.kernel_size, layer.stride,
                      layer.padding, layer.dilation, layer.groups, bias=layer.bias is not None,
                      padding_mode=layer.padding_mode, dtype=torch.float64)
    with torch.no_grad():
        plain.weight.fill_(1.0)
        if plain.bias is not None:
            plain.bias.zero_()
    return plain


class NumPyDownConv:
    """A :class:`DownConv`'s two layers rebuilt with chapter 2's NumPy
    :class:`~strided_conv.Convolution`.

    A 1-D convolution is a 2-D one of height 1: the input ``(N, n, D)`` becomes
    ``(N, D, 1, n)``, a ``Conv1d`` weight ``(out, in, k)`` becomes
    ``(out, in, 1, k)``, stride ``(1, k)`` and padding ``(0, p)``. Weights are
    copied from ``module`` as float64, so the two can be compared to 1e-10.

    Methods follow the seed's layer API: :meth:`forward` then :meth:`backward`.
    A batch may be empty. ``module``'s convolutions must be plain (nothing
    attached, see :class:`DownConv`): a NumPy copy of the weights cannot run hooks.
    """

    def __init__(self, module: DownConv) -> None:
        if not isinstance(module, DownConv):
            raise TypeError(f"module must be a strided_conv.DownConv, got {type(module).__name__}")
        for name in ("conv1a", "conv2a"):
            conv = getattr(module, name)
            if not isinstance(conv, nn.Conv1d) or _has_attachments(conv):
                raise ValueError(
                    f"module.{name} has hooks, pruning, a weight norm or another "
                    "parametrization attached (or is not a plain nn.Conv1d): NumPyDownConv copies "
                    "plain weights and cannot run them; remove them first (e.g. "
                    "torch.nn.utils.prune.remove, torch.nn.utils.remove_weight_norm)"
                )

        def layer(conv: nn.Conv1d, pad: int) -> Convolution:
            w = conv.weight.detach().double().numpy()[:, :, None, :].copy()
            b = conv.bias.detach().double().numpy().copy()
            return Convolution(w, b, stride=(1, conv.stride[0]), pad=(0, pad))

        self.module = module
        self.conv1 = layer(module.conv1a, 0)
        self.conv2 = layer(module.conv2a, module.padding)
        self._active: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``(N, seq_len, D)`` float64 -> ``(N, m_segments, D)``."""
        m = self.module
        _check_numpy("x", x, (None, m.seq_len, m.hidden_size), "(batch, seq_len, hidden_size)")
        x = x.astype(np.float64, copy=False)  # native byte order, as the weights
        x = np.ascontiguousarray(x.transpose(0, 2, 1))[:, :, None, :]
        x = np.pad(x, ((0, 0), (0, 0), (0, 0), (0, self.module.tail_padding)))
        h = self.conv1.forward(x)
        self._active = h > 0
        y = self.conv2.forward(np.where(self._active, h, 0.0))
        return y[:, :, 0, :].transpose(0, 2, 1)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """Gradient of the loss w.r.t. the input, ``(N, seq_len, D)``, from ``dout``
        ``(N, m, D)``."""
        if self._active is None:
            raise ValueError("backward() called before forward()")
        m = self.module
        _check_numpy("dout", dout, (self._active.shape[0], m.m_segments, m.hidden_size),
                      "(batch of the last forward, m_segments, hidden_size)")
        dout = dout.astype(np.float64, copy=False)
        dh = self.conv2.backward(np.ascontiguousarray(dout.transpose(0, 2, 1))[:, :, None, :])
        dx = self.conv1.backward(np.where(self._active, dh, 0.0))
        return dx[:, :, 0, : self.module.seq_len].transpose(0, 2, 1)


def _check_numpy(name: str, a: object, shape: tuple[int | None, ...], spec: str) -> None:
    """``a`` must be a float64 ndarray of ``shape`` (``None`` matches any size)."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(a).__name__}")
    if a.ndim != len(shape) or any(e is not None and e != d for e, d in zip(shape, a.shape)):
        want = tuple("any" if e is None else e for e in shape)
        raise ValueError(f"{name} must have shape {spec} = {want}, got {a.shape}")
    if a.dtype.kind != "f" or a.dtype.itemsize != 8:  # float64 in either byte order
        raise TypeError(f"{name} must have dtype float64 (the layers' weights), got {a.dtype}")
