r"""The polyphase view of stride: a convolution layer without the col matrix.

Notation of the book: stride :math:`s`, padding :math:`p` per side, dilation
:math:`d`, kernel length :math:`k`, output length :math:`o`, phase index
:math:`r = 0, \dots, s-1`. Positions are numbered on the *padded* line here:
input position :math:`u` is padded position :math:`u + p` of :math:`x_{\text{pad}}`,
whose positions run from 0 to :math:`i + 2p - 1`.

**Polyphase components.** Phase :math:`r` of the padded input takes every
:math:`s`-th position starting at :math:`r`:

.. math:: x^{(r)}[\ell] = x_{\text{pad}}[\ell s + r], \qquad \ell = 0, 1, \dots

**Sub-kernels.** Tap :math:`t` of the kernel reads padded position
:math:`j s + t d` for output :math:`j`. Write :math:`t d = q_t s + r_t` with
:math:`r_t = t d \bmod s` and :math:`q_t = \lfloor t d / s \rfloor`; the tap then
reads :math:`x^{(r_t)}[j + q_t]`. Collecting the taps of each phase gives the
sub-kernel :math:`w^{(r_t)}[q_t] = w[t]` (zero where no tap lands), and

.. math:: y[j] = \sum_{r=0}^{s-1} \sum_{q} w^{(r)}[q]\, x^{(r)}[j + q],
          \qquad j = 0, \dots, o-1,

a sum of :math:`s` stride-1 convolutions. Every tap belongs to exactly one
phase, so the sub-kernels together hold the :math:`k` taps once: no
multiplication is wasted (computing the stride-1 output and keeping every
:math:`s`-th value would waste a fraction :math:`1 - 1/s` of them). In 2-D the
phases are pairs :math:`(r_h, r_w)`, :math:`s_h s_w` of them.

**Shifted products.** A stride-1 convolution of a component stored as a
matrix of :math:`C` rows (channels) by :math:`H_c W_c` columns (its pixels,
row by row) is a sum over taps of one matrix product each:
:math:`W_{[:, :, t_h, t_w]} \, U_{[:, \; \text{off} : \text{off} + B]}` with
``off = q_h * W_c + q_w``. The product reads the component *in place*; its
result lives on the component's grid (``W_c`` columns per row, of which the
first ``OW`` are outputs), and the extra columns are cropped.

:class:`PolyphaseConvolution` computes forward and backward this way, blocked
over output rows so each block's accumulator stays in the L2 cache (NumPy's
``matmul`` cannot accumulate into its output, so an unblocked sum of taps would
stream the whole output through memory once per tap). The only buffers of the
input's or output's size are the components (the padded input, rearranged)
and the output; nothing has the col matrix's size.

The transposed convolution (the layer's ``dx``) is the same identity read
backwards: each tap adds ``W^T dout`` into a shifted block of its phase, and
the phases are interleaved back (:func:`~strided_conv.pixel_shuffle` when the sizes divide).
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ._validation import check_allocatable, check_int, check_pair
from .im2col import ConvGeometry, _because, _check_array, _geometry
from .layers import (
    _W_NAMES, _X_NAMES, _check_dout, _check_input, _check_overflow, _check_params,
    _overflow_checked_below,
)
from .output_size import LIST_LIMIT, transposed_conv_output_size

__all__ = [
    "PolyphaseConvolution",
    "polyphase_components",
    "polyphase_kernels",
    "phase_terms",
    "conv_transpose2d_polyphase",
    "pixel_shuffle",
    "pixel_unshuffle",
    "phase_taps",
]

#: Bytes of each per-block buffer (accumulator, product, stacked taps): two
#: of them plus the block of input they read fit the 512 KiB L2 of one core.
BLOCK_BYTES = 1 << 17
#: Taps are stacked into one product until its inner dimension (taps x
#: channels) reaches this depth: a product over C = 3 channels alone is too
#: thin for BLAS (the chapter's sweep of C); from C = 64 on every tap is its
#: own product, reading the components in place.
MIN_DEPTH = 64
#: ... and at most this fraction (1/32) of the components plus the output: the
#: three block buffers then add at most 3/32 < 10% to the memory of a forward.
BLOCK_FRACTION = 32


# ---------------------------------------------------------------------------
# the identity, axis by axis


def phase_taps(kernel_size: int, stride: int, dilation: int = 1) -> list[list[tuple[int, int]]]:
    """Which taps fall on which phase, along one axis.

    Tap ``t`` reads padded position ``j*s + t*d`` for output ``j``; with
    ``t*d = q*s + r`` it reads phase ``r`` at ``j + q``.

    Parameters
    ----------
    kernel_size, stride, dilation : int
        ``k >= 1``, ``s >= 1``, ``d >= 1``.

    Returns
    -------
    list of s lists of (t, q)
        Entry ``r`` lists the taps ``t`` with ``t*d mod s == r`` and their
        shift ``q = t*d // s``, in increasing ``t``. The lists hold every tap
        exactly once, so their lengths sum to ``k``.

    Raises
    ------
    TypeError, ValueError
        An argument not an int in range, or ``stride`` above ``10**7``
        (``LIST_LIMIT``: the list would take gigabytes).
    """
    k = check_int("kernel_size", kernel_size, 1)
    s = check_int("stride", stride, 1)
    d = check_int("dilation", dilation, 1)
    _check_phase_count((s,), "stride")
    phases: list[list[tuple[int, int]]] = [[] for _ in range(s)]
    for t in range(k):
        q, r = divmod(t * d, s)
        phases[r].append((t, q))
    return phases


def _check_phase_count(s: tuple[int, ...], name: str) -> None:
    """The phases are listed one by one (a Python list, a loop): at most ``LIST_LIMIT``."""
    count = math.prod(s)
    if count > LIST_LIMIT:
        raise ValueError(
            f"{name}={s if len(s) > 1 else s[0]} gives {count} phases, more than {LIST_LIMIT} "
            "to list one by one; a stride that large leaves every phase but a few empty"
        )


def _as_2d(a: object, name: str, what: str, batch_may_be_empty: bool = True
           ) -> tuple[np.ndarray, bool]:
    """``a`` as a 4-D array; 3-D ``(N, C, length)`` (a 1-D signal) becomes
    ``(N, C, 1, length)``.

    The package's rules for arrays (as :func:`~strided_conv.im2col`): an ndarray
    of a numeric dtype (bool, integer, float, complex) whose sizes are ``>= 1``,
    except the batch ``N``, which may be 0 when ``batch_may_be_empty``.
    """
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(a).__name__}")
    if a.ndim not in (3, 4):
        raise ValueError(f"{name} must be 3-D {what[0]} or 4-D {what[1]}, got {a.ndim}-D "
                         f"array of shape {a.shape}")
    if a.dtype.kind not in "biufc":
        raise TypeError(f"{name} must have a numeric dtype (bool, integer, float, complex), "
                        f"got {a.dtype}")
    labels = (what[0] if a.ndim == 3 else what[1]).strip("()").split(", ")
    for i, (size, label) in enumerate(zip(a.shape, labels)):
        check_int(f"{name}.shape[{i}] ({label})", size, 0 if i == 0 and batch_may_be_empty else 1)
    return (a[:, :, None, :], True) if a.ndim == 3 else (a, False)


def _axis_params(one_d: bool, name: str, value: object, minimum: int) -> tuple[int, int]:
    """A 1-D signal takes one int per parameter (its row axis is trivial)."""
    if one_d:
        return 1 if minimum == 1 else 0, check_int(name, value, minimum)
    return check_pair(name, value, minimum)


def polyphase_components(
    x: np.ndarray,
    stride: int | tuple[int, int],
    pad: int | tuple[int, int] = 0,
) -> np.ndarray:
    r"""Split the zero-padded input into its polyphase components.

    .. math:: x^{(r_h, r_w)}[:, c, \ell_h, \ell_w]
              = x_{\text{pad}}[:, c,\; \ell_h s_h + r_h,\; \ell_w s_w + r_w]

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W), or (N, C, length) for a 1-D signal
        Any numeric dtype; kept.
    stride : int or (int, int)
        ``>= 1``; a 1-D signal takes an int.
    pad : int or (int, int), default 0
        Zeros added on each side before splitting, ``>= 0``.

    Returns
    -------
    ndarray
        2-D: shape ``(s_h, s_w, N, C, H_c, W_c)`` with ``H_c = ceil((H + 2 p_h) / s_h)``
        and ``W_c = ceil((W + 2 p_w) / s_w)``; 1-D: shape ``(s, N, C, L_c)``.
        Phases shorter than ``H_c`` (or ``W_c``) end with one extra zero, so
        all phases share one grid. When ``s`` divides the padded sizes the
        components are :func:`pixel_unshuffle` of the padded input, with the
        phase axes moved to the front.

    Raises
    ------
    TypeError, ValueError
        ``x`` not a 3-D/4-D ndarray of a numeric dtype with sizes ``>= 1`` (``N >= 0``:
        an empty batch gives empty components), ``stride`` or ``pad`` not an int
        (pair) in range, or components larger than any array can be.

    Notes
    -----
    Defined in the chapter *The polyphase view of stride* (:doc:`/book/polyphase`).
    """
    x4, one_d = _as_2d(x, "x", ("(N, C, length)", "(N, C, H, W)"))
    s = _axis_params(one_d, "stride", stride, 1)
    p = _axis_params(one_d, "pad", pad, 0)
    N, C, H, W = x4.shape
    hc, wc = -(-(H + 2 * p[0]) // s[0]), -(-(W + 2 * p[1]) // s[1])
    check_allocatable("the components (s_h, s_w, N, C, H_c, W_c)", (s[0], s[1], N, C, hc, wc),
                      x4.itemsize, f"x.shape={x.shape}, stride={stride}, pad={pad}")
    comp = np.zeros((s[0], s[1], N, C, hc, wc), dtype=x4.dtype)
    _fill_components(x4, s, p, comp)
    return comp[0, :, :, :, 0] if one_d else comp


def _phase_slices(size: int, pad: int, stride: int, r: int) -> tuple[slice, slice] | None:
    """Unpadded positions of phase ``r`` (a strided slice) and where they sit in the phase.

    Padded position ``m*s + r`` is unpadded ``m*s + r - pad``; the first one
    ``>= 0`` is ``(r - pad) mod s``.
    """
    first = (r - pad) % stride
    if first >= size:
        return None
    count = len(range(first, size, stride))
    m0 = (first + pad) // stride
    return slice(first, size, stride), slice(m0, m0 + count)


def _fill_components(x: np.ndarray, s: tuple[int, int], p: tuple[int, int],
                     comp: np.ndarray) -> None:
    """Copy ``x`` into the (zeroed) components: one strided copy per phase, no padded temporary."""
    H, W = x.shape[2:]
    for rh in range(s[0]):
        rows = _phase_slices(H, p[0], s[0], rh)
        for rw in range(s[1]):
            cols = _phase_slices(W, p[1], s[1], rw)
            if rows is not None and cols is not None:
                comp[rh, rw, :, :, rows[1], cols[1]] = x[:, :, rows[0], cols[0]]


def _merge_components(comp: np.ndarray, s: tuple[int, int], p: tuple[int, int],
                      out: np.ndarray) -> np.ndarray:
    """Inverse of :func:`_fill_components` on the unpadded region: ``out`` gets every phase back."""
    H, W = out.shape[2:]
    for rh in range(s[0]):
        rows = _phase_slices(H, p[0], s[0], rh)
        for rw in range(s[1]):
            cols = _phase_slices(W, p[1], s[1], rw)
            if rows is not None and cols is not None:
                out[:, :, rows[0], cols[0]] = comp[rh, rw, :, :, rows[1], cols[1]]
    return out


def polyphase_kernels(
    W: np.ndarray,
    stride: int | tuple[int, int],
    dilation: int | tuple[int, int] = 1,
) -> list:
    r"""Split a kernel into the sub-kernels of the polyphase identity.

    .. math:: w^{(r_h, r_w)}[f, c, q_h, q_w] = W[f, c, t_h, t_w] \quad\text{where}\quad
              t_h d_h = q_h s_h + r_h,\; t_w d_w = q_w s_w + r_w

    and zero at every ``(q_h, q_w)`` no tap lands on.

    Parameters
    ----------
    W : ndarray, shape (FN, C, FH, FW), or (FN, C, k) for a 1-D kernel
    stride : int or (int, int)
        ``>= 1``; a 1-D kernel takes an int.
    dilation : int or (int, int), default 1
        ``>= 1``.

    Returns
    -------
    list
        2-D: ``s_h`` lists of ``s_w`` arrays, entry ``[r_h][r_w]`` of shape
        ``(FN, C, k_{r_h}, k_{r_w})``; 1-D: ``s`` arrays of shape ``(FN, C, k_r)``.
        Without dilation ``k_r = ceil((k - r) / s)`` and the ``k_r`` sum to
        ``k``; with dilation the sub-kernels hold zeros between their taps (the
        layer skips them), and their numbers of taps still sum to ``k``. A
        phase no tap reads has a sub-kernel of length 0.

    Raises
    ------
    TypeError, ValueError
        ``W`` not a 3-D/4-D ndarray of a numeric dtype with every size ``>= 1``;
        ``stride`` or ``dilation`` not an int (pair) in range; more than
        ``10**7`` phases (``s_h s_w``: the list would take gigabytes); or a
        sub-kernel larger than any array can be (a huge dilation).

    Notes
    -----
    Defined in the chapter *The polyphase view of stride* (:doc:`/book/polyphase`).
    """
    W4, one_d = _as_2d(W, "W", ("(FN, C, k)", "(FN, C, FH, FW)"), batch_may_be_empty=False)
    s = _axis_params(one_d, "stride", stride, 1)
    d = _axis_params(one_d, "dilation", dilation, 1)
    FN, C, FH, FW = W4.shape
    _check_phase_count(s, "stride")
    # The longest sub-kernel holds the last tap: q = (k-1)*d // s, then zeros between taps.
    longest = ((FH - 1) * d[0] // s[0] + 1, (FW - 1) * d[1] // s[1] + 1)
    check_allocatable("a sub-kernel (FN, C, k_r_h, k_r_w)", (FN, C, *longest), W4.itemsize,
                      f"W.shape={W.shape}, stride={stride}, dilation={dilation}")
    row_phases = phase_taps(FH, s[0], d[0])
    col_phases = phase_taps(FW, s[1], d[1])
    result = []
    for taps_h in row_phases:
        row = []
        kh = max((q for _, q in taps_h), default=-1) + 1
        for taps_w in col_phases:
            kw = max((q for _, q in taps_w), default=-1) + 1
            sub = np.zeros((FN, C, kh, kw), dtype=W4.dtype)
            for u, qh in taps_h:
                for v, qw in taps_w:
                    sub[:, :, qh, qw] = W4[:, :, u, v]
            row.append(sub[:, :, 0] if one_d else sub)
        result.append(row)
    return result[0] if one_d else result


def phase_terms(
    x: np.ndarray,
    W: np.ndarray,
    stride: int | tuple[int, int] = 1,
    pad: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
) -> np.ndarray:
    r"""The terms of the polyphase identity: one stride-1 convolution per phase.

    .. math:: y^{(r_h, r_w)}[:, f, j_h, j_w] = \sum_{c, q_h, q_w}
              w^{(r_h, r_w)}[f, c, q_h, q_w]\; x^{(r_h, r_w)}[:, c, j_h + q_h, j_w + q_w],
              \quad j_h < O_H,\; j_w < O_W

    with the components of :func:`polyphase_components` and the sub-kernels of
    :func:`polyphase_kernels`. Their sum over the phases, plus the bias, is the
    strided convolution. Written straight from the formula (one ``einsum`` per
    sub-kernel tap) as the chapter's demonstration and a test oracle;
    :class:`PolyphaseConvolution` computes the same sum blocked.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W), or (N, C, length)
    W : ndarray, shape (FN, C, FH, FW), or (FN, C, k); same dtype as ``x``
    stride, pad, dilation : int or (int, int)
        As in :class:`~strided_conv.Convolution`; a 1-D signal takes ints.

    Returns
    -------
    ndarray
        2-D: shape ``(s_h, s_w, N, FN, O_H, O_W)``; 1-D: ``(s, N, FN, o)``.

    Raises
    ------
    TypeError, ValueError
        As :class:`~strided_conv.Convolution` for ``x``, ``W``, the geometry
        (an empty batch gives empty terms) and overflow (a term that is ``inf``
        or ``nan`` although ``x`` and ``W`` are finite), and as :func:`polyphase_kernels`.

    Notes
    -----
    Defined in the chapter *The polyphase view of stride* (:doc:`/book/polyphase`).
    """
    x4, one_d = _as_2d(x, "x", ("(N, C, length)", "(N, C, H, W)"))
    W4, w_one_d = _as_2d(W, "W", ("(FN, C, k)", "(FN, C, FH, FW)"))
    if one_d != w_one_d:
        raise ValueError(f"x ({x.ndim}-D) and W ({W.ndim}-D) must both be 1-D signals "
                         "or both images")
    s = _axis_params(one_d, "stride", stride, 1)
    p = _axis_params(one_d, "pad", pad, 0)
    d = _axis_params(one_d, "dilation", dilation, 1)
    b = np.zeros(W4.shape[0], dtype=W4.dtype)
    _check_params(W4, b)
    _check_input(x4, W4)
    x_names, w_names = (_X_NAMES, _W_NAMES) if not one_d else (
        ("x.shape[0] (N)", "x.shape[1] (C)", "H", "x.shape[2] (length)"),
        ("FH", "W.shape[2] (k)"))
    g = _geometry(x4.shape, x_names, W4.shape[2], W4.shape[3], s, p, d, w_names)
    subs = polyphase_kernels(W4, s, d)
    check_allocatable("the terms (s_h, s_w, N, FN, O_H, O_W)",
                      (*s, g.N, W4.shape[0], g.OH, g.OW), x4.itemsize, _because(g, "x.shape"))
    comp = polyphase_components(x4, s, p)
    terms = np.zeros((s[0], s[1], g.N, W4.shape[0], g.OH, g.OW), dtype=x4.dtype)
    with _overflow_checked_below():
        for rh in range(s[0]):
            for rw in range(s[1]):
                sub = subs[rh][rw]
                for qh in range(sub.shape[2]):
                    for qw in range(sub.shape[3]):
                        window = comp[rh, rw, :, :, qh:qh + g.OH, qw:qw + g.OW]
                        terms[rh, rw] += np.einsum("fc,nchw->nfhw", sub[:, :, qh, qw], window)
    _check_overflow({"the terms": terms}, {"x": x4, "W": W4})  # the layer's overflow rule
    return terms[0, :, :, :, 0] if one_d else terms


# ---------------------------------------------------------------------------
# the blocked layer


def _one_window_stride(g: ConvGeometry) -> ConvGeometry:
    """``g`` with the stride of an axis that has one output lowered to the smallest
    that still gives one window, ``size + 2*pad - span + 1``.

    A single window starts at 0 whatever the stride, so the result is the same;
    but the layer's loops and components have ``s_h * s_w`` phases, and a stride
    of ``2**40`` (which :class:`~strided_conv.Convolution` accepts) would make
    that many. After this, ``s <= size + 2*pad`` on every axis.
    """
    stride = tuple(
        min(s, size + 2 * p - (d * (k - 1) + 1) + 1) if o == 1 else s
        for s, size, p, d, k, o in zip(g.stride, (g.H, g.W), g.pad, g.dilation,
                                       (g.FH, g.FW), (g.OH, g.OW)))
    return g._replace(stride=stride)


def _check_layer_allocatable(g: ConvGeometry, FN: int, itemsize: int, shape_name: str) -> None:
    """The layer's two arrays of the data's size: the components and the output."""
    (sh, sw), (ph, pw) = g.stride, g.pad
    hc, wc = -(-(g.H + 2 * ph) // sh), -(-(g.W + 2 * pw) // sw)
    check_allocatable("the polyphase components (s_h, s_w, C, N, H_c, W_c)",
                      (sh, sw, g.C, g.N, hc, wc), itemsize, _because(g, shape_name))
    check_allocatable("the output (N, FN, OH, OW)", (g.N, FN, g.OH, g.OW), itemsize,
                      _because(g, shape_name))


class _Plan(NamedTuple):
    """Everything the blocked loops need, computed once per geometry.

    ``groups`` lists the products of one block: each is a tuple of taps
    ``(u, v, r_h, r_w, off)`` whose slices are stacked into one product
    (``off = q_h * W_c + q_w`` on the flattened component). The grid has
    ``N * H_c`` rows of ``W_c`` positions (the batch's samples one below the
    other); ``rows`` of them make one block.
    """

    g: ConvGeometry
    hc: int
    wc: int
    groups: tuple[tuple[tuple[int, int, int, int, int], ...], ...]
    rows: int


def _plan(g: ConvGeometry, FN: int, itemsize: int, taps_per_product: int | None) -> _Plan:
    (sh, sw), (ph, pw), (dh, dw) = g.stride, g.pad, g.dilation
    hc, wc = -(-(g.H + 2 * ph) // sh), -(-(g.W + 2 * pw) // sw)
    taps = []
    for rh, row_taps in enumerate(phase_taps(g.FH, sh, dh)):
        for rw, col_taps in enumerate(phase_taps(g.FW, sw, dw)):
            taps += [(u, v, rh, rw, qh * wc + qw) for u, qh in row_taps for v, qw in col_taps]
    per = taps_per_product or max(1, min(len(taps), math.ceil(MIN_DEPTH / g.C)))
    groups = tuple(tuple(taps[i:i + per]) for i in range(0, len(taps), per))
    widest = max(FN, per * g.C)
    # Each block buffer fits the cache and, on a small problem, stays a small
    # fraction of the memory the layer needs anyway (components + output).
    needed = (g.stride[0] * g.stride[1] * g.N * g.C * hc * wc + g.N * FN * g.OH * g.OW) * itemsize
    budget = min(BLOCK_BYTES, needed // BLOCK_FRACTION)
    rows = max(1, min(g.N * hc, budget // (widest * wc * itemsize)))
    return _Plan(g, hc, wc, groups, rows)


def _view(buf: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """A C-contiguous ``(rows, cols)`` view of the front of the flat buffer ``buf``.

    Contiguous blocks matter beyond speed: NumPy gives a ufunc on arrays it
    cannot flatten an iteration buffer of 8192 elements per operand, which
    the memory bound of the forward would see.
    """
    return buf[:rows * cols].reshape(rows, cols)


def _grid(block: np.ndarray, rows: int, wc: int, cols: int) -> np.ndarray:
    """The outputs inside a ``(R, B)`` block of grid positions: view ``(R, rows, cols)``,
    position ``a*wc + j`` of row ``a`` (the grid's other columns are skipped)."""
    step = block.itemsize
    return as_strided(block, (block.shape[0], rows, cols), (block.shape[1] * step, wc * step, step))


def _stacked(plan: _Plan, group, cf: np.ndarray, start: int, B: int,
             stack: np.ndarray | None) -> np.ndarray:
    """The ``(len(group)*C, B)`` right-hand side of one product: the component slice
    itself for a single tap (read in place), else the slices copied into ``stack``."""
    C = plan.g.C
    if len(group) == 1:
        _, _, rh, rw, off = group[0]
        return cf[rh, rw, :, start + off:start + off + B]
    rhs = _view(stack, len(group) * C, B)
    for j, (_, _, rh, rw, off) in enumerate(group):
        np.copyto(rhs[j * C:(j + 1) * C], cf[rh, rw, :, start + off:start + off + B])
    return rhs


def _blocks(plan: _Plan, out_rows: int):
    """Blocks of grid rows, ``(R0, R1, start, B, segments)``.

    Grid row ``R = n*H_c + a`` holds output row ``a`` of sample ``n`` when
    ``a < out_rows``; the block covers positions ``[start, start + B)``, the
    very last row cut after ``OW`` outputs so no read leaves the components.
    ``segments`` lists ``(n, a0, a1)``: the output rows of sample ``n`` in the block.
    """
    hc, wc = plan.hc, plan.wc
    end = (plan.g.N - 1) * hc + out_rows  # one past the last grid row with outputs
    for R0 in range(0, end, plan.rows):
        R1 = min(end, R0 + plan.rows)
        B = (R1 - R0) * wc if R1 < end else (R1 - R0 - 1) * wc + plan.g.OW
        segments = []
        for n in range(R0 // hc, (R1 - 1) // hc + 1):
            a0, a1 = max(R0 - n * hc, 0), min(R1 - n * hc, out_rows)
            if a0 < a1:
                segments.append((n, a0, a1))
        yield R0, R1, R0 * wc, B, segments


def _weight_groups(W: np.ndarray, plan: _Plan) -> list[np.ndarray]:
    """Per product, the filters' taps side by side: shape ``(FN, len(group)*C)``."""
    return [np.ascontiguousarray(
        np.stack([W[:, :, u, v] for u, v, *_ in grp], axis=1).reshape(W.shape[0], -1))
        for grp in plan.groups]


def _buffers(plan: _Plan, dtype: np.dtype, *rows: int) -> list[np.ndarray | None]:
    """Flat block buffers of ``r`` rows of grid positions each (None for ``r = 0``)."""
    size = plan.rows * plan.wc
    return [np.empty(r * size, dtype=dtype) if r else None for r in rows]


def _forward(cf: np.ndarray, wg: list[np.ndarray], b: np.ndarray, plan: _Plan) -> np.ndarray:
    g, hc, wc, FN = plan.g, plan.hc, plan.wc, b.shape[0]
    out = np.empty((g.N, FN, g.OH, g.OW), dtype=cf.dtype)
    width = max(w.shape[1] for w in wg)
    acc_buf, tmp_buf, stack = _buffers(plan, cf.dtype, FN, FN, width if width > g.C else 0)
    bias = b.reshape(FN, 1)
    for R0, R1, start, B, segments in _blocks(plan, g.OH):
        acc, tmp = _view(acc_buf, FN, B), _view(tmp_buf, FN, B)
        np.copyto(acc, bias)  # a broadcasting copy needs no iteration buffer
        for grp, w in zip(plan.groups, wg):
            np.matmul(w, _stacked(plan, grp, cf, start, B, stack), out=tmp)
            acc += tmp  # matmul cannot accumulate: one pass over the cached block
        grid = _grid(acc, R1 - R0, wc, g.OW)
        for n, a0, a1 in segments:
            r0 = n * hc + a0 - R0
            np.copyto(out[n, :, a0:a1], grid[:, r0:r0 + a1 - a0])
    return out


def _backward(cf: np.ndarray | None, dout: np.ndarray, wg: list[np.ndarray],
              plan: _Plan, dcf: np.ndarray, want_dw: bool) -> list[np.ndarray] | None:
    """Scatter ``W^T dout`` tap by tap into the zeroed components ``dcf`` (the
    transposed convolution) and, if ``want_dw``, return ``dout @ slice^T`` summed
    per product (``dW`` in the layout of ``wg``). ``dout`` may cover fewer rows
    and columns than the plan's output (a transposed convolution's input)."""
    g, hc, wc, C = plan.g, plan.hc, plan.wc, plan.g.C
    FN, rows_in, cols_in = dout.shape[1:]
    width = max(w.shape[1] for w in wg)
    dg_buf, dtmp_buf, stack = _buffers(plan, dout.dtype, FN, width,
                                       width if want_dw and width > C else 0)
    dw_acc = [np.zeros_like(w) for w in wg] if want_dw else None
    dw_tmp = [np.empty_like(w) for w in wg] if want_dw else None
    wt = [np.ascontiguousarray(w.T) for w in wg]
    for R0, R1, start, B, segments in _blocks(plan, rows_in):
        dg = _view(dg_buf, FN, B)
        dg.fill(0)  # the grid's other positions must add nothing
        grid = _grid(dg, R1 - R0, wc, cols_in)
        for n, a0, a1 in segments:
            r0 = n * hc + a0 - R0
            np.copyto(grid[:, r0:r0 + a1 - a0], dout[n, :, a0:a1])
        for i, grp in enumerate(plan.groups):
            if want_dw:
                rhs = _stacked(plan, grp, cf, start, B, stack)
                np.matmul(dg, rhs.T, out=dw_tmp[i])
                dw_acc[i] += dw_tmp[i]
            dtmp = _view(dtmp_buf, len(grp) * C, B)
            np.matmul(wt[i], dg, out=dtmp)
            for j, (_, _, rh, rw, off) in enumerate(grp):
                dcf[rh, rw, :, start + off:start + off + B] += dtmp[j * C:(j + 1) * C]
    return dw_acc


class PolyphaseConvolution:
    """A 2-D convolution layer computed by the polyphase identity, without a col matrix.

    Same arguments, checks, attributes ``x``, ``W``, ``b``, ``stride``,
    ``pad``, ``dilation``, ``dW``, ``db`` and results as
    :class:`~strided_conv.Convolution`; it saves the polyphase components of
    the padded input (an array of the padded input's size) instead of col.

    Each component is stored as a matrix of ``C`` rows and ``N*H_c*W_c``
    columns: the samples of the batch one below the other, flattened. Forward,
    per block of ``B`` consecutive grid positions (a few grid rows): for every
    group of taps one matrix product ``(FN, taps*C) @ (taps*C, B)`` whose
    right-hand side is the slice of a component at the taps' shift (read in
    place when a group holds one tap), accumulated into a block that stays in
    cache, whose outputs (``OW`` of every ``W_c`` columns, ``OH`` of every
    ``H_c`` rows) are then copied out. Backward: ``dW`` from the same slices,
    ``dx`` by the transposed identity (:func:`conv_transpose2d_polyphase`).

    Bad input is refused exactly as :class:`~strided_conv.Convolution` refuses
    it (same exception, same message), an empty batch (``N = 0``) gives empty
    outputs and ``dx`` with zero ``dW`` and ``db``, and the same overflow rule
    holds: an output or gradient that is ``inf`` or ``nan`` although every
    input is finite raises ``ValueError``. The only difference: where
    Convolution would refuse a col matrix larger than any array can be, this
    layer refuses components or an output that large.

    Parameters
    ----------
    W : ndarray, shape (FN, C, FH, FW)
        Filters; floating dtype.
    b : ndarray, shape (FN,)
        Biases, same dtype as ``W``.
    stride : int or (int, int), default 1
        ``>= 1``.
    pad : int or (int, int), default 0
        Zeros added on each side, ``>= 0``.
    dilation : int or (int, int), default 1
        ``>= 1``.
    taps_per_product : int, optional, keyword-only
        Taps stacked into one product. Default: enough for ``taps*C >=``
        ``MIN_DEPTH`` (one tap per product, read in place, once
        ``C >= MIN_DEPTH``). ``1`` gives the pure shifted products.

    Attributes
    ----------
    x, components : ndarray or None
        The last input, and its polyphase components with the channel axis
        first, shape ``(s_h, s_w, C, N, H_c, W_c)`` (:func:`polyphase_components`
        with ``pad``, axes 2 and 3 swapped), saved by :meth:`forward` for
        :meth:`backward`; the components are refilled in place when the next
        input has the same shape and dtype. On an axis with a single output
        the stride is lowered to ``size + 2*pad - span + 1`` first (one window
        starts at 0 whatever the stride, and a stride of ``2**40`` would make
        ``2**40`` phases), so the components then have fewer phases than ``stride``.
    dW, db : ndarray or None
        Gradients set by :meth:`backward`.

    Notes
    -----
    Defined in the chapter *The polyphase view of stride* (:doc:`/book/polyphase`).
    """

    def __init__(
        self,
        W: np.ndarray,
        b: np.ndarray,
        stride: int | tuple[int, int] = 1,
        pad: int | tuple[int, int] = 0,
        dilation: int | tuple[int, int] = 1,
        *,
        taps_per_product: int | None = None,
    ) -> None:
        _check_params(W, b)
        check_pair("stride", stride, 1)
        check_pair("pad", pad, 0)
        check_pair("dilation", dilation, 1)
        if taps_per_product is not None:
            check_int("taps_per_product", taps_per_product, 1)
        self.W, self.b = W, b
        self.stride, self.pad, self.dilation = stride, pad, dilation
        self.taps_per_product = taps_per_product
        self.x: np.ndarray | None = None
        self.components: np.ndarray | None = None
        self.dW: np.ndarray | None = None
        self.db: np.ndarray | None = None
        self._plan: _Plan | None = None
        self._owned: np.ndarray | None = None  # our own components buffer, for reuse

    def _components(self, x: np.ndarray, g: ConvGeometry, hc: int, wc: int) -> np.ndarray:
        shape = (*g.stride, g.C, g.N, hc, wc)
        buf, self._owned = self._owned, None
        if buf is None or buf.shape != shape or buf.dtype != x.dtype:
            buf = None  # released before the new one exists: one buffer at the peak
            buf = np.zeros(shape, dtype=x.dtype)
        # padding cells are already zero; the view puts N before C as x has it
        _fill_components(x, g.stride, g.pad, buf.transpose(0, 1, 3, 2, 4, 5))
        self._owned = buf
        return buf

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Return the convolution of ``x``, shape ``(N, FN, OH, OW)``, C-contiguous.

        .. math:: \\text{out}[:, f, j_h, j_w] = b[f] + \\sum_{r_h, r_w}
                  \\sum_{(t_h, t_w) \\in (r_h, r_w)} W[f, :, t_h, t_w] \\cdot
                  x^{(r_h, r_w)}[:, :, j_h + q_{t_h}, j_w + q_{t_w}]
        """
        _check_params(self.W, self.b)  # W and b are public: they may have been replaced
        _check_input(x, self.W)
        FN, C, FH, FW = self.W.shape
        # Convolution's checks and wording (the kernel is W's shape, the sizes x's)
        g = _geometry(x.shape, _X_NAMES, FH, FW, self.stride, self.pad, self.dilation, _W_NAMES)
        g = _one_window_stride(g)
        _check_layer_allocatable(g, FN, x.itemsize, "x.shape")
        plan = _plan(g, FN, x.itemsize, self.taps_per_product)
        self.components = None
        comp = self._components(x, g, plan.hc, plan.wc)
        self.x, self.components, self._plan = x, comp, plan
        cf = comp.reshape(*comp.shape[:3], -1)
        with _overflow_checked_below():
            out = _forward(cf, _weight_groups(self.W, plan), self.b, plan)
        _check_overflow({"the output": out}, {"x": x, "W": self.W, "b": self.b})
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """Gradient with respect to ``x``; sets ``self.dW`` and ``self.db``.

        ``db`` sums ``dout``; ``dW[:, :, t_h, t_w] = dout_grid @ slice^T`` summed
        over blocks (the grid's extra columns hold zeros); ``dx`` adds
        ``W[:, :, t_h, t_w]^T dout_grid`` into the shifted slice of each tap's
        phase, then interleaves the phases and drops the padding.

        Parameters
        ----------
        dout : ndarray, shape (N, FN, OH, OW)

        Returns
        -------
        dx : ndarray, shape (N, C, H, W)
        """
        if self._plan is None or self.components is None:
            raise ValueError("backward() called before forward(): there is no saved input")
        plan = self._plan
        g = plan.g
        _check_dout(dout, (g.N, self.W.shape[0], g.OH, g.OW), self.components.dtype)
        wg = _weight_groups(self.W, plan)
        comp = self.components
        cf = comp.reshape(*comp.shape[:3], -1)
        dcomp = np.zeros(comp.shape, dtype=dout.dtype)
        with _overflow_checked_below():
            dw_groups = _backward(cf, dout, wg, plan, dcomp.reshape(cf.shape), True)
            self.db = dout.sum(axis=(0, 2, 3))
        dW = np.empty_like(self.W)
        for grp, dwg in zip(plan.groups, dw_groups):
            for j, (u, v, *_) in enumerate(grp):
                dW[:, :, u, v] = dwg[:, j * g.C:(j + 1) * g.C]
        self.dW = dW
        dx = np.empty((g.N, g.C, g.H, g.W), dtype=dout.dtype)
        _merge_components(dcomp.transpose(0, 1, 3, 2, 4, 5), g.stride, g.pad, dx)
        # Convolution's overflow rule and wording
        _check_overflow({"dx": dx, "dW": self.dW, "db": self.db},
                        {"dout": dout, "x": self.x, "W": self.W})
        return dx


# ---------------------------------------------------------------------------
# the identity read backwards


def conv_transpose2d_polyphase(
    x: np.ndarray,
    W: np.ndarray,
    b: np.ndarray | None = None,
    stride: int | tuple[int, int] = 1,
    pad: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
    output_padding: int | tuple[int, int] = 0,
) -> np.ndarray:
    r"""Transposed convolution by the polyphase identity read backwards.

    Each tap ``(u, v)`` of phase ``(r_h, r_w)`` adds ``W[:, :, u, v]^T x`` into
    phase ``(r_h, r_w)`` of the padded output, shifted by ``(q_h, q_w)``: every
    phase is a stride-1 transposed convolution with its sub-kernel, and the
    phases are interleaved (:func:`~strided_conv.pixel_shuffle` when the sizes divide).
    Then the padding is dropped:

    .. math:: z[n, c, m s_h + r_h - p_h, \cdot] = \sum_{f} \sum_{(u, v) \in r}
              W[f, c, u, v]\; x[n, f, m - q_h(u), \cdot - q_w(v)]

    Same result and arguments as ``torch.nn.functional.conv_transpose2d``
    (one group). Output size per axis:
    :math:`s(i' - 1) - 2p + d(k - 1) + a + 1` (:func:`~strided_conv.transposed_conv_output_size`).

    Parameters
    ----------
    x : ndarray, shape (N, FN, H', W')
        The input (the gradient of a convolution's output, for backward).
    W : ndarray, shape (FN, C, FH, FW)
        The weights of the convolution being transposed; same dtype as ``x``.
    b : ndarray, shape (C,), optional
    stride, pad, dilation : int or (int, int)
    output_padding : int or (int, int), default 0
        ``a``: extra rows/columns at the end, ``0 <= a < max(s, d)``; the
        convolution maps ``s`` sizes to one, and ``a`` says which to return.

    Returns
    -------
    ndarray, shape (N, C, H_out, W_out)

    Raises
    ------
    TypeError, ValueError
        As :class:`~strided_conv.Convolution` for ``W`` and ``b`` (``b`` has
        ``C`` entries here); ``x`` not a 4-D ndarray of ``W``'s dtype with ``FN``
        channels and ``H', W' >= 1`` (``N = 0`` gives an empty result); an
        ``output_padding`` outside ``[0, max(s, d))`` or a ``pad`` that leaves no
        output; a result larger than any array can be; and, as in the layer, an
        output that is ``inf`` or ``nan`` although every input is finite.

    Notes
    -----
    Defined in the chapter *The polyphase view of stride* (:doc:`/book/polyphase`).
    """
    if not isinstance(W, np.ndarray) or W.ndim != 4:
        _check_params(W, np.zeros(1))  # raises: W must be a 4-D ndarray
    FN, C, FH, FW = W.shape
    # The layer's checks of W, with the transposed output's C channels taking the bias.
    _check_params(W, np.zeros(FN, dtype=W.dtype))
    if b is not None:
        _check_params(W.transpose(1, 0, 2, 3), b)
    if not isinstance(x, np.ndarray):
        raise TypeError(f"x must be a numpy.ndarray, got {type(x).__name__}")
    if x.ndim != 4:
        raise ValueError(f"x must be 4-D (N, FN, H', W'), got {x.ndim}-D array of shape {x.shape}")
    for i, label in ((2, "H'"), (3, "W'")):  # N may be 0: an empty batch, empty result
        check_int(f"x.shape[{i}] ({label})", x.shape[i], 1)
    if x.dtype != W.dtype:
        raise TypeError(f"x has dtype {x.dtype} but W has dtype {W.dtype}; "
                        "cast one explicitly (no promotion)")
    if x.shape[1] != FN:
        raise ValueError(f"x has {x.shape[1]} channels (shape {x.shape}) but W has FN={FN} "
                         f"filters (shape {W.shape}): a transposed convolution maps FN "
                         "channels to C")
    s, p = check_pair("stride", stride, 1), check_pair("pad", pad, 0)
    d = check_pair("dilation", dilation, 1)
    a = check_pair("output_padding", output_padding, 0)
    N, _, ih, iw = x.shape
    because = (f"x.shape={x.shape}, W.shape={W.shape}, stride={s}, pad={p}, dilation={d}, "
               f"output_padding={a}")
    try:
        ho = transposed_conv_output_size(ih, FH, s[0], p[0], d[0], a[0])
        wo = transposed_conv_output_size(iw, FW, s[1], p[1], d[1], a[1])
    except ValueError as err:  # its words are one axis's (input_size, padding): add ours
        raise ValueError(f"{err} ({because})") from None
    check_allocatable("the output (N, C, H_out, W_out)", (N, C, ho, wo), x.itemsize, because)
    # the convolution this one transposes; OH >= ih (output_padding may add a window)
    g = _one_window_stride(_geometry((N, C, ho, wo), _X_NAMES, FH, FW, s, p, d, _W_NAMES))
    _check_layer_allocatable(g, FN, x.itemsize, "the output shape")
    plan = _plan(g, FN, x.itemsize, None)
    dcomp = np.zeros((*g.stride, C, N, plan.hc, plan.wc), dtype=x.dtype)
    with _overflow_checked_below():
        _backward(None, x, _weight_groups(W, plan), plan,
                  dcomp.reshape(*dcomp.shape[:3], -1), False)
        z = _merge_components(dcomp.transpose(0, 1, 3, 2, 4, 5), g.stride, p,
                              np.empty((N, C, ho, wo), dtype=x.dtype))
        if b is not None:
            z += b.reshape(C, 1, 1)
    inputs = {"x": x, "W": W} if b is None else {"x": x, "W": W, "b": b}
    _check_overflow({"the output": z}, inputs)
    return z


# ---------------------------------------------------------------------------
# pixel (un)shuffle


def _check_factor(x: object, factor: object) -> tuple[np.ndarray, int]:
    """The package's array rules (as :func:`~strided_conv.im2col`): a 4-D ndarray of a
    numeric dtype, ``C, H, W >= 1`` and ``N >= 0``; ``factor`` an int ``>= 1``."""
    x = _check_array("x", x, 4)
    for i, label in enumerate("NCHW"):
        check_int(f"x.shape[{i}] ({label})", x.shape[i], 0 if i == 0 else 1)
    return x, check_int("factor", factor, 1)


def pixel_unshuffle(x: np.ndarray, factor: int) -> np.ndarray:
    r"""Move each ``factor x factor`` block of pixels into channels (as ``F.pixel_unshuffle``).

    .. math:: y[n, c f^2 + r_h f + r_w, m_h, m_w] = x[n, c, m_h f + r_h, m_w f + r_w]

    Channel ``c f^2 + r_h f + r_w`` of the result is the polyphase component
    ``(r_h, r_w)`` of channel ``c`` at stride ``f``.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
        ``H`` and ``W`` divisible by ``factor``.
    factor : int
        ``>= 1``.

    Returns
    -------
    ndarray, shape (N, C*factor**2, H/factor, W/factor)

    Raises
    ------
    TypeError, ValueError
        ``x`` not a 4-D ndarray of a numeric dtype with ``C, H, W >= 1``
        (``N = 0`` gives an empty result), ``factor`` not an int ``>= 1``, or
        ``H``, ``W`` not divisible by it.

    Notes
    -----
    Defined in the chapter *The polyphase view of stride* (:doc:`/book/polyphase`).
    """
    x, f = _check_factor(x, factor)
    N, C, H, W = x.shape
    if H % f or W % f:
        raise ValueError(f"x's height and width ({H}, {W}) must be divisible by factor={f}")
    return (x.reshape(N, C, H // f, f, W // f, f).transpose(0, 1, 3, 5, 2, 4)
            .reshape(N, C * f * f, H // f, W // f))


def pixel_shuffle(x: np.ndarray, factor: int) -> np.ndarray:
    r"""Interleave groups of ``factor**2`` channels into pixels (as ``F.pixel_shuffle``).

    .. math:: y[n, c, m_h f + r_h, m_w f + r_w] = x[n, c f^2 + r_h f + r_w, m_h, m_w]

    The inverse of :func:`pixel_unshuffle`: it merges ``f^2`` phases back into
    one image, the last step of the transposed convolution read as ``f^2``
    stride-1 convolutions (sub-pixel convolution).

    Parameters
    ----------
    x : ndarray, shape (N, C*factor**2, H, W)
    factor : int
        ``>= 1``.

    Returns
    -------
    ndarray, shape (N, C, H*factor, W*factor)

    Raises
    ------
    TypeError, ValueError
        As :func:`pixel_unshuffle`, with the channels (not ``H`` and ``W``)
        divisible by ``factor**2``.

    Notes
    -----
    Defined in the chapter *The polyphase view of stride* (:doc:`/book/polyphase`).
    """
    x, f = _check_factor(x, factor)
    N, CF, H, W = x.shape
    if CF % (f * f):
        raise ValueError(f"x's channels ({CF}) must be divisible by factor**2 = {f * f}")
    C = CF // (f * f)
    return x.reshape(N, C, f, f, H, W).transpose(0, 1, 4, 2, 5, 3).reshape(N, C, H * f, W * f)
