r"""im2col and col2im: convolution as one matrix product (chapter 2).

``im2col`` copies every receptive field of a batch ``x`` of shape
``(N, C, H, W)`` into one row of a matrix ``col`` of shape
``(N*OH*OW, C*FH*FW)``; row ``(n, i, j)`` (in C order) holds the window whose
top-left tap sits at row ``i*S - P`` and column ``j*S - P`` of the unpadded
input, its entries ordered ``(c, u, v)`` like the weights ``W.reshape(FN, -1)``.
A convolution is then ``col @ W.reshape(FN, -1).T``.

``col2im`` is the **adjoint** (transpose) of ``im2col``, not its inverse: it
adds every entry of ``col`` back onto the input pixel it was copied from, so
for all ``x`` and ``c``

.. math:: \langle \mathrm{im2col}(x), c \rangle = \langle x, \mathrm{col2im}(c) \rangle ,

and ``col2im(im2col(x))`` is ``x`` times the number of windows covering each pixel.

Two implementations of each are kept because the chapter compares them:

- :func:`~strided_conv.im2col_seed_style` / :func:`~strided_conv.col2im_seed_style` follow the seed
  (*Deep Learning from Scratch*): one strided slice copy per kernel offset into
  an ``(N, C, FH, FW, OH, OW)`` buffer, then a transposing copy. Its defects
  (``int()`` truncation, float64 promotion, oversize col2im buffer) are fixed,
  its structure, and its second copy of the col buffer, are not.
- :func:`~strided_conv.im2col` / :func:`~strided_conv.col2im` (the public, fast ones) take
  one strided view of the padded input and copy it **once**; ``col2im`` adds into a buffer of
  exactly the input's shape.

Output sizes always come from :func:`strided_conv.conv_output_size` (floor).
Every function keeps the dtype of its array argument (integers included), so
float32 stays float32 and nothing is promoted. A batch may be empty (``N = 0``):
the results are then empty arrays of the right shape, as in PyTorch.

Sums never wrap or overflow silently (``col2im``, ``col2im_seed_style``,
``window_coverage``). Integers are summed exactly, in a wider integer type when
the entries could overflow ``col``'s own, and the result is returned in
``col``'s dtype if every sum fits it, else ``ValueError``; ``bool`` is refused
(a sum of booleans is not a boolean). float16 is summed in float32 and rounded
once; float32, float64 and complex are summed in their own dtype. A sum that
overflows to ``inf`` (or ``nan``) while every entry of ``col`` is finite raises
``ValueError``; infinities and NaNs already in ``col`` propagate, as in any sum.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ._validation import check_allocatable, check_int, check_pair
from .output_size import conv_output_size

__all__ = [
    "im2col",
    "col2im",
    "im2col_seed_style",
    "col2im_seed_style",
    "im2col_size",
    "window_coverage",
    "ConvGeometry",
    "conv_geometry",
]


class ConvGeometry(NamedTuple):
    """Every size a 2-D convolution needs, checked once.

    ``stride``, ``pad`` and ``dilation`` are ``(row, column)`` pairs.
    """

    N: int
    C: int
    H: int
    W: int
    FH: int
    FW: int
    OH: int
    OW: int
    stride: tuple[int, int]
    pad: tuple[int, int]
    dilation: tuple[int, int]


def conv_geometry(
    input_shape: tuple[int, ...],
    filter_h: int,
    filter_w: int,
    stride: int | tuple[int, int] = 1,
    pad: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
) -> ConvGeometry:
    """Check the arguments of a 2-D convolution and compute its output size.

    Parameters
    ----------
    input_shape : tuple of 4 int
        ``(N, C, H, W)``; ``N >= 0`` (an empty batch is allowed), ``C, H, W >= 1``.
    filter_h, filter_w : int
        Kernel height ``FH`` and width ``FW``, ``>= 1``.
    stride, pad, dilation : int or pair of int
        One value for both axes or ``(row, column)``; ``stride >= 1``,
        ``pad >= 0``, ``dilation >= 1``.

    Returns
    -------
    ConvGeometry
        With ``OH = conv_output_size(H, FH, S, P, D)`` and likewise ``OW``.

    Raises
    ------
    TypeError
        If ``input_shape`` is not a sequence (tuple, list) or a size is not an int.
    ValueError
        If ``input_shape`` does not have 4 entries, an argument is out of range,
        or the (dilated) kernel is larger than the padded input on either axis.
    """
    return _geometry(_shape4("input_shape", input_shape), _INPUT_SHAPE_NAMES,
                     filter_h, filter_w, stride, pad, dilation)


_INPUT_SHAPE_NAMES = tuple(f"input_shape[{i}] ({label})" for i, label in enumerate("NCHW"))
_INPUT_DATA_NAMES = tuple(f"input_data.shape[{i}] ({label})" for i, label in enumerate("NCHW"))


def _shape4(name: str, shape: object) -> tuple:
    """``shape`` as a tuple, if it is a sequence of 4 entries (the entries are checked later)."""
    if isinstance(shape, np.ndarray) and shape.ndim == 1:
        shape = tuple(shape.tolist())
    if isinstance(shape, (str, bytes)) or not isinstance(shape, Sequence):
        raise TypeError(
            f"{name} must be a tuple of 4 ints (N, C, H, W), got {shape!r} of type "
            f"{type(shape).__name__}"
        )
    if len(shape) != 4:
        raise ValueError(
            f"{name} must be 4-D (N, C, H, W): 4 ints, got {len(shape)} entries {tuple(shape)}"
        )
    return tuple(shape)


def _geometry(
    shape: tuple, names: tuple[str, str, str, str], filter_h: int, filter_w: int,
    stride: int | tuple[int, int], pad: int | tuple[int, int], dilation: int | tuple[int, int],
    kernel_names: tuple[str, str] = ("filter_h", "filter_w"),
) -> ConvGeometry:
    """:func:`conv_geometry` with the shape entries and the kernel sizes named as the
    caller's parameters (a layer's kernel size is its weight's shape)."""
    n, c, h, w = (check_int(names[i], v, 0 if i == 0 else 1) for i, v in enumerate(shape))
    fh = check_int(kernel_names[0], filter_h, 1)
    fw = check_int(kernel_names[1], filter_w, 1)
    s, p = check_pair("stride", stride, 1), check_pair("pad", pad, 0)
    d = check_pair("dilation", dilation, 1)
    axes = ((h, fh, kernel_names[0], "rows", "height H"),
            (w, fw, kernel_names[1], "columns", "width W"))
    for axis, (size, k, label, taps, side) in enumerate(axes):
        span = d[axis] * (k - 1) + 1
        if span > size + 2 * p[axis]:
            where = (f"(height, width) = ({h}, {w})" if names[2] == "height"
                     else f"{names[0].split('[')[0]} = {(n, c, h, w)}")
            raise ValueError(
                f"kernel does not fit: {label}={k} with dilation {d[axis]} spans "
                f"{d[axis]}*({k}-1)+1 = {span} {taps}, more than the padded {side} + 2*pad = "
                f"{size} + 2*{p[axis]} = {size + 2 * p[axis]} ({where}, pad={p}, "
                f"dilation={d}): no window fits"
            )
    oh = conv_output_size(h, fh, s[0], p[0], d[0])
    ow = conv_output_size(w, fw, s[1], p[1], d[1])
    return ConvGeometry(n, c, h, w, fh, fw, oh, ow, s, p, d)


def _because(g: ConvGeometry, shape_name: str) -> str:
    return (f"{shape_name} (N, C, H, W) = {(g.N, g.C, g.H, g.W)}, kernel (filter_h, filter_w) = "
            f"{(g.FH, g.FW)}, stride={g.stride}, pad={g.pad}, dilation={g.dilation}")


def _check_col_allocatable(g: ConvGeometry, itemsize: int, shape_name: str) -> None:
    """Both arrays im2col allocates, checked before either is: the col matrix and
    the zero-padded input."""
    check_allocatable("the col matrix (N*OH*OW, C*FH*FW)",
                      (g.N * g.OH * g.OW, g.C * g.FH * g.FW), itemsize, _because(g, shape_name))
    (ph, pw) = g.pad
    check_allocatable("the padded input (N, C, H + 2*pad[0], W + 2*pad[1])",
                      (g.N, g.C, g.H + 2 * ph, g.W + 2 * pw), itemsize, _because(g, shape_name))


def _check_array(name: str, a: object, ndim: int) -> np.ndarray:
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(a).__name__}")
    if a.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got {a.ndim}-D array of shape {a.shape}")
    if a.dtype.kind not in "biufc":
        raise TypeError(
            f"{name} must have a numeric dtype (bool, integer, float, complex), got {a.dtype}")
    return a


def _pad(x: np.ndarray, pad: tuple[int, int]) -> np.ndarray:
    """Zero-pad the last two axes; returns ``x`` itself when there is no padding."""
    ph, pw = pad
    if ph == 0 and pw == 0:
        return x
    n, c, h, w = x.shape
    check_allocatable("the padded input (N, C, H + 2*pad[0], W + 2*pad[1])",
                      (n, c, h + 2 * ph, w + 2 * pw), x.itemsize, f"pad={pad}")
    xp = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=x.dtype)
    xp[:, :, ph:ph + h, pw:pw + w] = x
    return xp


def im2col(
    input_data: np.ndarray,
    filter_h: int,
    filter_w: int,
    stride: int | tuple[int, int] = 1,
    pad: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
    *,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Unfold every receptive field of ``input_data`` into one row (vectorized).

    One strided view of the padded input enumerates all windows without
    copying (:func:`numpy.lib.stride_tricks.as_strided`); a single copy then
    writes it out. The copy is laid out ``(C, FH, FW, N, OH, OW)`` in memory so
    its innermost loop runs along an output row, and the function returns the
    transposed view: same shape and values as the seed's C-ordered matrix
    (``col[r, k]`` is identical), Fortran-ordered in memory.

    Parameters
    ----------
    input_data : ndarray, shape (N, C, H, W)
        Any numeric dtype; the result has the same dtype.
    filter_h, filter_w : int
        Kernel size ``FH``, ``FW``.
    stride, pad, dilation : int or (int, int)
        As in ``torch.nn.functional.conv2d``.
    out : ndarray, optional
        Write the result into this array and return it: a Fortran-ordered
        array of the result's shape and dtype, typically an earlier result of
        this function. A fresh buffer of this size costs a page fault per 4 KiB
        on first write; refilling one that is already mapped does not.

    Returns
    -------
    col : ndarray, shape (N*OH*OW, C*FH*FW)
        ``col[(n*OH + i)*OW + j, (c*FH + u)*FW + v] = xpad[n, c, i*S_h + u*D_h, j*S_w + v*D_w]``.
    """
    x = _check_array("input_data", input_data, 4)
    g = _geometry(x.shape, _INPUT_DATA_NAMES, filter_h, filter_w, stride, pad, dilation)
    _check_col_allocatable(g, x.itemsize, "input_data.shape")
    return im2col_checked(x, g, out)


def im2col_checked(x: np.ndarray, g: ConvGeometry, out: np.ndarray | None = None) -> np.ndarray:
    """:func:`im2col` for an ``x`` and geometry ``g = conv_geometry(x.shape, ...)`` already
    checked by the caller (a layer checks once per call, not once per step)."""
    col_t = _col_t_buffer(out, g, x.dtype)
    xp = _pad(x, g.pad)
    s_n, s_c, s_h, s_w = xp.strides
    (sh, sw), (dh, dw) = g.stride, g.dilation
    # A step along an axis of length 1 is never taken: 0 keeps a huge stride or
    # dilation (one window, or a 1-tap kernel) from overflowing the byte strides.
    sh, sw = (sh if g.OH > 1 else 0), (sw if g.OW > 1 else 0)
    dh, dw = (dh if g.FH > 1 else 0), (dw if g.FW > 1 else 0)
    windows = as_strided(
        xp,
        shape=(g.C, g.FH, g.FW, g.N, g.OH, g.OW),
        strides=(s_c, dh * s_h, dw * s_w, s_n, sh * s_h, sw * s_w),
        writeable=False,
    )
    col_t.reshape(windows.shape)[...] = windows  # the one copy
    return col_t.T if out is None else out


def _col_t_buffer(out: np.ndarray | None, g: ConvGeometry, dtype: np.dtype) -> np.ndarray:
    """The C-ordered ``(C*FH*FW, N*OH*OW)`` buffer im2col fills: ``out.T``, or a new one."""
    shape = (g.C * g.FH * g.FW, g.N * g.OH * g.OW)
    if out is None:
        return np.empty(shape, dtype=dtype)
    if not isinstance(out, np.ndarray):
        raise TypeError(f"out must be a numpy.ndarray or None, got {type(out).__name__}")
    if out.shape != shape[::-1] or out.dtype != dtype or not out.T.flags.c_contiguous:
        raise ValueError(
            f"out must be a Fortran-ordered array of shape (N*OH*OW, C*FH*FW) = {shape[::-1]} "
            f"and dtype {dtype} (an earlier im2col result), got shape {out.shape}, dtype "
            f"{out.dtype}, Fortran-ordered={out.T.flags.c_contiguous}"
        )
    return out.T


_CACHE_BYTES = 1 << 18


def _clipped_taps(g: ConvGeometry) -> list[tuple[int, int, slice, slice, slice, slice]]:
    """For each kernel offset ``(u, v)`` that reads real input at least once:
    the input rows/columns it reads and the outputs that read them, as slices."""
    (sh, sw), (ph, pw), (dh, dw) = g.stride, g.pad, g.dilation
    taps = []
    for u in range(g.FH):
        i0, i1, r = _taps_inside(u * dh, sh, g.OH, ph, g.H)
        for v in range(g.FW):
            j0, j1, c = _taps_inside(v * dw, sw, g.OW, pw, g.W)
            if i0 < i1 and j0 < j1:
                # Step 1 for a single row/column: a huge stride never reaches NumPy.
                rows = slice(r, r + (i1 - i0 - 1) * sh + 1, sh if i1 - i0 > 1 else 1)
                cols = slice(c, c + (j1 - j0 - 1) * sw + 1, sw if j1 - j0 > 1 else 1)
                taps.append((u, v, rows, cols, slice(i0, i1), slice(j0, j1)))
    return taps


def _taps_inside(tap: int, stride: int, out: int, pad: int, size: int) -> tuple[int, int, int]:
    """Output indices ``[lo, hi)`` whose tap at padded offset ``tap`` lands on real input.

    Output ``o`` reads padded position ``o*stride + tap``, i.e. unpadded
    ``o*stride + tap - pad``; it must be in ``[0, size)``. Returns ``(lo, hi,
    first)`` with ``first`` the unpadded row/column read by output ``lo``.
    """
    lo = max(0, -((tap - pad) // stride))  # ceil((pad - tap) / stride), at least 0
    hi = min(out, (size - 1 + pad - tap) // stride + 1)
    return lo, max(lo, hi), lo * stride + tap - pad


def col2im(
    col: np.ndarray,
    input_shape: tuple[int, int, int, int],
    filter_h: int,
    filter_w: int,
    stride: int | tuple[int, int] = 1,
    pad: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
) -> np.ndarray:
    """Add every row of ``col`` back onto the pixels it was copied from (adjoint of im2col).

    Loops over the ``FH*FW`` kernel offsets; each adds one strided block of
    ``col`` into the result with a strided ``+=``. Taps that fall on padding
    are clipped instead of being added into a padded buffer, so the only
    allocation is the result itself, of exactly ``input_shape``.

    Parameters
    ----------
    col : ndarray, shape (N*OH*OW, C*FH*FW)
        Any memory order, any integer, float or complex dtype (``bool`` is
        refused); the result has its dtype.
    input_shape : tuple of 4 int
        ``(N, C, H, W)``, the shape of the array ``im2col`` was applied to;
        ``N = 0`` gives an empty result.
    filter_h, filter_w, stride, pad, dilation
        As in :func:`im2col`.

    Returns
    -------
    ndarray, shape input_shape
        ``dx[n, c, h, w] = sum of col[r, k]`` over every ``(r, k)`` that
        ``im2col`` filled from ``x[n, c, h, w]``.

    Raises
    ------
    TypeError
        If ``col`` is not a numeric ndarray or has dtype ``bool``, or
        ``input_shape`` is not a tuple (or list) of ints.
    ValueError
        If the shapes do not match, or a sum does not fit ``col``'s dtype
        (integers) or overflows it while every entry is finite (floats): see the
        overflow rule in the module docstring. Each pixel adds at most
        ``min(OH, FH) * min(OW, FW)`` entries.
    """
    g = conv_geometry(input_shape, filter_h, filter_w, stride, pad, dilation)
    return col2im_checked(_check_col(col, g), g)


def col2im_checked(col: np.ndarray, g: ConvGeometry, name: str | None = "col") -> np.ndarray:
    """:func:`col2im` for a ``col`` of the shape ``g`` implies, already checked by the caller.

    ``name`` is what an overflow error calls ``col``; ``None`` leaves the float
    overflow check to the caller (a layer checks its gradients together, once).
    """
    check_allocatable("the result (N, C, H, W)", (g.N, g.C, g.H, g.W), col.itemsize,
                      _because(g, "input_shape"))
    # A view for C- or F-ordered col: both only split axes.
    col6 = col.reshape(g.N, g.OH, g.OW, g.C, g.FH, g.FW)
    img = np.zeros((g.N, g.C, g.H, g.W), dtype=_sum_dtype(col, g, name))
    if col.size == 0:  # an empty batch: nothing to add (and no FH*FW loop to run)
        return _sums_in_dtype(img, col, g, name)
    taps = _clipped_taps(g)
    # A few samples at a time, all offsets each: the block of img being summed
    # into stays in cache instead of being streamed from memory FH*FW times.
    step = max(1, _CACHE_BYTES // (g.C * g.H * g.W * img.itemsize))
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is checked below
        for n in range(0, g.N, step):
            for u, v, rows, cols, out_rows, out_cols in taps:
                img[n:n + step, :, rows, cols] += \
                    col6[n:n + step, out_rows, out_cols, :, u, v].transpose(0, 3, 1, 2)
    return _sums_in_dtype(img, col, g, name)


def _max_terms(g: ConvGeometry) -> int:
    """Most entries of col added into one pixel: a pixel is read by at most one
    window per kernel tap and axis, so ``min(OH, FH) * min(OW, FW)``."""
    return min(g.OH, g.FH) * min(g.OW, g.FW)


def _sum_dtype(col: np.ndarray, g: ConvGeometry, name: str | None) -> np.dtype:
    """The dtype col2im sums in: col's own unless that could wrap (integers) or
    lose the sum to rounding and overflow (float16). See the module docstring."""
    if col.dtype.kind == "b":
        raise TypeError(
            f"{name} has dtype bool: col2im adds entries, and a sum of booleans is not a "
            "boolean; cast it to an integer dtype (col.astype(np.int64))"
        )
    if col.dtype.kind in "iu":
        if col.size == 0:
            return col.dtype
        # Exact bound on |partial sum|: Python ints, no overflow in the check itself.
        bound = max(abs(int(col.min())), abs(int(col.max()))) * _max_terms(g)
        info = np.iinfo(col.dtype)
        if bound <= info.max and -bound >= info.min:
            return col.dtype
        wide = np.dtype(np.uint64 if col.dtype.kind == "u" else np.int64)
        return wide if bound <= np.iinfo(wide).max else np.dtype(object)
    if col.dtype.kind == "f" and col.dtype.itemsize == 2:  # float16, either byte order
        return np.dtype(np.float32)
    return col.dtype


def _sums_in_dtype(img: np.ndarray, col: np.ndarray, g: ConvGeometry, name: str | None
                   ) -> np.ndarray:
    """``img`` (summed in :func:`_sum_dtype`) in ``col``'s dtype, or ``ValueError``."""
    dtype = col.dtype
    if dtype.kind in "iu":
        if img.dtype != dtype:
            info = np.iinfo(dtype)
            low, high = (int(img.min()), int(img.max())) if img.size else (0, 0)
            if low < info.min or high > info.max:
                worst = high if high > info.max else low
                raise ValueError(
                    f"{name}: a pixel's sum is {worst}, which does not fit {name}'s dtype "
                    f"{dtype} (range {info.min} to {info.max}); each pixel adds up to "
                    f"min(OH, FH) * min(OW, FW) = {_max_terms(g)} entries. Cast {name} to a "
                    f"wider integer dtype, e.g. astype(np.int64)"
                )
            img = img.astype(dtype)
        return img
    if img.dtype != dtype:
        with np.errstate(over="ignore"):
            img = img.astype(dtype)
    if name is not None and not _all_finite(img) and _all_finite(col):
        finfo = np.finfo(dtype)
        raise ValueError(
            f"{name}: the sums overflow {dtype} (largest finite value {float(finfo.max):g}): "
            f"every entry of {name} is finite but a pixel's sum is not; each pixel adds up to "
            f"{_max_terms(g)} entries. Use a wider float dtype (float32 or float64)"
        )
    return img


def _all_finite(a: np.ndarray) -> bool:
    """True if no entry of ``a`` is inf or NaN (integers: always).

    One reduction, no temporary of ``a``'s size: a sum is finite exactly when
    every entry is, unless the finite entries overflow the sum itself; only then
    are the entries tested one by one. float16 is summed in float32 (a sum of
    float16 overflows easily); float32 and wider in their own dtype, which
    needs no casting buffer (the polyphase layer's memory bound counts it).
    """
    if a.dtype.kind not in "fc" or a.size == 0:
        return True
    with np.errstate(over="ignore", invalid="ignore"):
        total = a.sum(dtype=np.float32) if a.dtype.kind == "f" and a.itemsize < 4 else a.sum()
    return bool(np.isfinite(total)) or bool(np.isfinite(a).all())


def _check_col(col: np.ndarray, g: ConvGeometry) -> np.ndarray:
    col = _check_array("col", col, 2)
    expected = (g.N * g.OH * g.OW, g.C * g.FH * g.FW)
    if col.shape != expected:
        raise ValueError(
            f"col must have shape (N*OH*OW, C*FH*FW) = {expected} for input_shape "
            f"{(g.N, g.C, g.H, g.W)} and kernel ({g.FH}, {g.FW}), got {col.shape}"
        )
    return col


def im2col_seed_style(
    input_data: np.ndarray,
    filter_h: int,
    filter_w: int,
    stride: int | tuple[int, int] = 1,
    pad: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
) -> np.ndarray:
    """im2col as the seed writes it, with its defects fixed.

    Allocates ``(N, C, FH, FW, OH, OW)`` and fills it with one strided slice
    copy per kernel offset (``FH*FW`` copies, each covering all windows at
    once), then transposes it to ``(N*OH*OW, C*FH*FW)``; the transpose is a
    second full copy. Fixed relative to the seed: floor output sizes, the
    input's dtype, stride/pad pairs and dilation. Same result as :func:`im2col`.
    """
    x = _check_array("input_data", input_data, 4)
    g = _geometry(x.shape, _INPUT_DATA_NAMES, filter_h, filter_w, stride, pad, dilation)
    _check_col_allocatable(g, x.itemsize, "input_data.shape")
    img = _pad(x, g.pad)
    (sh, sw), (dh, dw) = g.stride, g.dilation
    col = np.empty((g.N, g.C, g.FH, g.FW, g.OH, g.OW), dtype=x.dtype)
    for u in range(g.FH if col.size else 0):  # nothing to copy for an empty batch
        y = u * dh
        for v in range(g.FW):
            xx = v * dw
            col[:, :, u, v, :, :] = img[:, :, y:y + sh * g.OH:sh, xx:xx + sw * g.OW:sw]
    # Both sizes spelled out: with N = 0, reshape could not infer a -1.
    return col.transpose(0, 4, 5, 1, 2, 3).reshape(g.N * g.OH * g.OW, g.C * g.FH * g.FW)


def col2im_seed_style(
    col: np.ndarray,
    input_shape: tuple[int, int, int, int],
    filter_h: int,
    filter_w: int,
    stride: int | tuple[int, int] = 1,
    pad: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
) -> np.ndarray:
    """col2im as the seed writes it, with its defects fixed.

    One strided ``+=`` per kernel offset into a zero buffer of the padded
    input's size ``(N, C, H+2P, W+2P)`` (the seed allocates ``H+2P+S-1``),
    in ``col``'s dtype (the seed always used float64); returns the interior,
    a view of that buffer. Same result, dtype rule and overflow rule as
    :func:`col2im` (when the sums need a wider type, the result is a copy).
    """
    g = conv_geometry(input_shape, filter_h, filter_w, stride, pad, dilation)
    col = _check_col(col, g)
    (sh, sw), (ph, pw), (dh, dw) = g.stride, g.pad, g.dilation
    col6 = col.reshape(g.N, g.OH, g.OW, g.C, g.FH, g.FW).transpose(0, 3, 4, 5, 1, 2)
    check_allocatable("the padded buffer (N, C, H + 2*pad[0], W + 2*pad[1])",
                      (g.N, g.C, g.H + 2 * ph, g.W + 2 * pw), col.itemsize,
                      _because(g, "input_shape"))
    img = np.zeros((g.N, g.C, g.H + 2 * ph, g.W + 2 * pw), dtype=_sum_dtype(col, g, "col"))
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is checked below
        for u in range(g.FH if col.size else 0):  # nothing to add for an empty batch
            y = u * dh
            for v in range(g.FW):
                xx = v * dw
                img[:, :, y:y + sh * g.OH:sh, xx:xx + sw * g.OW:sw] += col6[:, :, u, v, :, :]
    return _sums_in_dtype(img[:, :, ph:ph + g.H, pw:pw + g.W], col, g, "col")


def im2col_size(
    input_shape: tuple[int, int, int, int],
    filter_h: int,
    filter_w: int,
    stride: int | tuple[int, int] = 1,
    pad: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
) -> int:
    """Number of elements of the col matrix: ``N*OH*OW * C*FH*FW``.

    Divided by ``N*C*H*W`` it is the memory blow-up of im2col: about
    ``FH*FW / (S_h*S_w)`` when the padding keeps ``OH ~ H/S``.
    """
    g = conv_geometry(input_shape, filter_h, filter_w, stride, pad, dilation)
    return g.N * g.OH * g.OW * g.C * g.FH * g.FW


def window_coverage(
    height: int,
    width: int,
    filter_h: int,
    filter_w: int,
    stride: int | tuple[int, int] = 1,
    pad: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
) -> np.ndarray:
    """How many windows read each input pixel, shape ``(height, width)``, int64.

    It equals ``col2im(ones)``: the adjoint applied to all-ones counts the
    copies ``im2col`` makes of each pixel. Zero marks pixels no window reads
    (the tail the floor in the output size drops). A window covers a pixel
    exactly when its row window covers the row and its column window the
    column, so the count is the product of two 1-D counts, each solved exactly
    per position (window ``i`` and tap ``u`` read row ``r`` when
    ``i*S + u*D = r + P``): no col matrix is built, and the cost is
    ``O(height + width)`` whatever the kernel, stride, pad and dilation.

    Raises
    ------
    TypeError, ValueError
        As :func:`conv_geometry`, with ``height`` and ``width`` for ``H`` and ``W``;
        ``ValueError`` also if the result could not be allocated at all, or a
        count does not fit int64 (a kernel and padding beyond ``2**31``).
    """
    g = _geometry((1, 1, height, width), ("N", "C", "height", "width"),
                  filter_h, filter_w, stride, pad, dilation)
    check_allocatable("the result (height, width)", (g.H, g.W), 8, f"height={g.H}, width={g.W}")
    rows = _axis_coverage(g.H, g.FH, g.OH, g.stride[0], g.pad[0], g.dilation[0])
    cols = _axis_coverage(g.W, g.FW, g.OW, g.stride[1], g.pad[1], g.dilation[1])
    if max(rows) * max(cols) > np.iinfo(np.int64).max:  # the overflow rule: never wrap
        raise ValueError(
            f"a pixel is read by {max(rows) * max(cols)} windows, more than int64 holds: "
            f"filter_h={g.FH}, filter_w={g.FW} with pad={g.pad}, stride={g.stride}"
        )
    return np.outer(np.array(rows, dtype=np.int64), np.array(cols, dtype=np.int64))


def _axis_coverage(size: int, k: int, out: int, s: int, p: int, d: int) -> list[int]:
    """For each position ``r < size``: the number of pairs (window ``i < out``, tap
    ``u < k``) with ``i*s + u*d = r + p``, counted in exact integer arithmetic."""
    g = math.gcd(d, s)
    m = s // g  # the taps reading a position repeat every m
    inverse = pow(d // g, -1, m) if m > 1 else 0
    counts = []
    for r in range(size):
        q = r + p  # position on the padded line
        if q % g:
            counts.append(0)
            continue
        u0 = (q // g) * inverse % m if m > 1 else 0  # smallest u >= 0 with u*d = q (mod s)
        # taps with 0 <= i = (q - u*d) / s < out: ceil((q - (out-1)*s) / d) <= u <= q // d
        lo = max(0, -((-(q - (out - 1) * s)) // d))
        hi = min(k - 1, q // d)
        if lo > hi:
            counts.append(0)
            continue
        first = lo + (u0 - lo) % m  # the first tap >= lo in the class u0 mod m
        counts.append(0 if first > hi else (hi - first) // m + 1)
    return counts
