r"""The NumPy convolution layer, forward and backward (chapter 2).

Shapes: ``x`` is ``(N, C, H, W)``, ``W`` is ``(FN, C, FH, FW)``, ``b`` is
``(FN,)``, the output is ``(N, FN, OH, OW)``. With ``col = im2col(x)`` of
shape ``(N*OH*OW, C*FH*FW)`` and ``col_W = W.reshape(FN, -1).T`` of shape
``(C*FH*FW, FN)``:

.. math::

    \text{out} = \text{col}\,\text{col}_W + b, \qquad
    db = \sum_{n,i,j} \text{dout}, \qquad
    dW = \text{col}^\top \text{dout}, \qquad
    dx = \text{col2im}(\text{dout}\,\text{col}_W^\top)

where ``dout`` is flattened to ``(N*OH*OW, FN)``.

Three implementations:

- :class:`Convolution` -- the package's layer: vectorized :func:`~strided_conv.im2col`,
  a batched matrix product that writes the output directly in
  ``(N, FN, OH, OW)`` order, and :func:`~strided_conv.col2im` into a buffer of
  the input's size.
- :class:`SeedStyleConvolution` -- the seed's forward/backward line by line,
  on :func:`~strided_conv.im2col_seed_style`; only the defects are fixed.
- :func:`~strided_conv.conv2d_naive` -- the definition as loops, a test oracle for tiny shapes.

dtype rule: ``x``, ``W``, ``b`` and ``dout`` must share one floating dtype
(float16, float32 or float64); anything else raises ``TypeError`` naming the
dtypes. Nothing is promoted, so float32 in gives float32 out.

Empty batches (``N = 0``) give empty outputs and gradients (``dW`` and ``db``
zero), as in PyTorch. Overflow rule: an output or gradient that is ``inf`` or
``nan`` although every input is finite (float16 overflows above 65504) raises
``ValueError`` naming the inputs and the dtype; infinities and NaNs already in
the inputs propagate, as in any arithmetic.
"""
from __future__ import annotations

import numpy as np

from .im2col import (
    ConvGeometry, _all_finite, _check_col_allocatable, _geometry, col2im_checked,
    col2im_seed_style, im2col_checked, im2col_seed_style,
)

# The layer's input is called x: its sizes are named after it in error messages.
_X_NAMES = tuple(f"x.shape[{i}] ({label})" for i, label in enumerate("NCHW"))
_W_NAMES = ("W.shape[2] (FH)", "W.shape[3] (FW)")
from ._validation import check_pair

__all__ = ["Convolution", "SeedStyleConvolution", "conv2d_naive"]


def _check_params(W: np.ndarray, b: np.ndarray) -> None:
    for name, a in (("W", W), ("b", b)):
        if not isinstance(a, np.ndarray):
            raise TypeError(f"{name} must be a numpy.ndarray, got {type(a).__name__}")
    if W.ndim != 4:
        raise ValueError(f"W must be 4-D (FN, C, FH, FW), got shape {W.shape}")
    if 0 in W.shape:
        raise ValueError(f"W must have every size (FN, C, FH, FW) >= 1, got shape {W.shape}")
    if not np.issubdtype(W.dtype, np.floating):
        raise TypeError(f"W must have a floating dtype, got {W.dtype}")
    if b.shape != (W.shape[0],):
        raise ValueError(f"b must have shape (FN,) = ({W.shape[0]},) to match W {W.shape}, "
                         f"got {b.shape}")
    if b.dtype != W.dtype:
        raise TypeError(f"b has dtype {b.dtype} but W has dtype {W.dtype}; "
                        "cast one explicitly (no promotion)")


def _check_input(x: np.ndarray, W: np.ndarray) -> None:
    if not isinstance(x, np.ndarray):
        raise TypeError(f"x must be a numpy.ndarray, got {type(x).__name__}")
    if x.ndim != 4:
        raise ValueError(f"x must be 4-D (N, C, H, W), got {x.ndim}-D array of shape {x.shape}")
    if x.dtype != W.dtype:
        raise TypeError(f"x has dtype {x.dtype} but W has dtype {W.dtype}; "
                        "cast one explicitly (no promotion)")
    if x.shape[1] != W.shape[1]:
        raise ValueError(f"x has C={x.shape[1]} channels (shape {x.shape}) "
                         f"but W expects C={W.shape[1]} (shape {W.shape})")


def _overflow_checked_below() -> np.errstate:
    """Silence NumPy's overflow warnings where :func:`_check_overflow` turns an
    overflow into a ``ValueError`` right after (a warning first would be noise)."""
    return np.errstate(over="ignore", invalid="ignore")


def _check_overflow(results: dict[str, np.ndarray], inputs: dict[str, np.ndarray]) -> None:
    """Raise if a result is inf/nan although every input is finite (the overflow rule)."""
    bad = [name for name, a in results.items() if not _all_finite(a)]
    if bad and all(_all_finite(a) for a in inputs.values()):
        dtype = next(iter(inputs.values())).dtype
        names = ", ".join(inputs)
        raise ValueError(
            f"{' and '.join(bad)} overflowed {dtype}: every entry of {names} is finite but "
            f"the result has inf or nan (largest finite {dtype}: {float(np.finfo(dtype).max):g}); "
            "use a wider float dtype (float32 or float64) or smaller values"
        )


def _check_dout(dout: np.ndarray, expected: tuple[int, int, int, int], dtype: np.dtype) -> None:
    """``dout`` must be an ndarray of the output's shape and the layer's dtype."""
    if not isinstance(dout, np.ndarray):
        raise TypeError(f"dout must be a numpy.ndarray, got {type(dout).__name__}")
    if dout.shape != expected:
        raise ValueError(f"dout must have the output's shape (N, FN, OH, OW) = {expected}, "
                         f"got {dout.shape}")
    if dout.dtype != dtype:
        raise TypeError(f"dout has dtype {dout.dtype} but the layer ran in {dtype}; no promotion")


class Convolution:
    """A 2-D convolution layer (cross-correlation, as in every framework).

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
        Spacing between kernel taps, ``>= 1``.

    Attributes
    ----------
    x, col, col_W : ndarray or None
        Saved by :meth:`forward` for :meth:`backward` (names as in the seed):
        the input, ``im2col(x)`` of shape ``(N*OH*OW, C*FH*FW)`` and
        ``W.reshape(FN, -1).T`` of shape ``(C*FH*FW, FN)``. The next
        :meth:`forward` with an input of the same shape and dtype refills
        ``col`` in place (one buffer for a whole training loop): copy it to
        keep it.
    dW, db : ndarray or None
        Gradients set by :meth:`backward`, shaped like ``W`` and ``b``.
    """

    def __init__(
        self,
        W: np.ndarray,
        b: np.ndarray,
        stride: int | tuple[int, int] = 1,
        pad: int | tuple[int, int] = 0,
        dilation: int | tuple[int, int] = 1,
    ) -> None:
        _check_params(W, b)
        # Checked now so a bad argument fails at construction, not at the first forward.
        check_pair("stride", stride, 1)
        check_pair("pad", pad, 0)
        check_pair("dilation", dilation, 1)
        self.W, self.b = W, b
        self.stride, self.pad, self.dilation = stride, pad, dilation
        self.x: np.ndarray | None = None
        self.col: np.ndarray | None = None
        self.col_W: np.ndarray | None = None
        self.dW: np.ndarray | None = None
        self.db: np.ndarray | None = None
        self._geometry: ConvGeometry | None = None

    def _prepare(self, x: np.ndarray) -> ConvGeometry:
        """Check ``x``, run im2col and save what backward needs."""
        _check_params(self.W, self.b)  # W and b are public: they may have been replaced
        _check_input(x, self.W)
        FN, C, FH, FW = self.W.shape
        g = _geometry(x.shape, _X_NAMES, FH, FW, self.stride, self.pad, self.dilation, _W_NAMES)
        _check_col_allocatable(g, x.itemsize, "x.shape")
        self.x, self._geometry = x, g
        self.col = self._make_col(x, g)
        self.col_W = self.W.reshape(FN, -1).T
        return g

    def _make_col(self, x: np.ndarray, g: ConvGeometry) -> np.ndarray:
        """im2col into the previous call's col when shape and dtype match, else a new one.

        Refilling a buffer that is already mapped avoids a page fault per 4 KiB;
        a buffer that cannot be reused is released *before* the new one exists,
        so the peak never holds two col matrices.
        """
        old, self.col = self.col, None
        rows, cols = g.N * g.OH * g.OW, g.C * g.FH * g.FW
        if old is not None and (old.shape != (rows, cols) or old.dtype != x.dtype):
            old = None
        return im2col_checked(x, g, out=old)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Return the convolution of ``x``, shape ``(N, FN, OH, OW)``, C-contiguous.

        ``col.T`` is contiguous and laid out ``(C*FH*FW, N, OH*OW)``, so one
        BLAS product per sample, ``W_flat @ col.T[:, n]``, writes sample ``n``
        straight into ``out[n]``: no transposing copy of the output.
        """
        g = self._prepare(x)
        FN = self.W.shape[0]
        out = np.empty((g.N, FN, g.OH, g.OW), dtype=x.dtype)
        # Every size spelled out: with N = 0, reshape could not infer a -1.
        col_t = self.col.T.reshape(g.C * g.FH * g.FW, g.N, g.OH * g.OW).transpose(1, 0, 2)
        with _overflow_checked_below():
            np.matmul(self.col_W.T, col_t, out=out.reshape(g.N, FN, g.OH * g.OW))
            out += self.b.reshape(FN, 1, 1)
        _check_overflow({"the output": out}, {"x": x, "W": self.W, "b": self.b})
        return out

    def _check_dout(self, dout: np.ndarray) -> ConvGeometry:
        if self._geometry is None or self.col is None:
            raise ValueError("backward() called before forward(): there is no saved input")
        g = self._geometry
        _check_dout(dout, (g.N, self.W.shape[0], g.OH, g.OW), self.col.dtype)
        return g

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """Gradient with respect to ``x``; sets ``self.dW`` and ``self.db``.

        Parameters
        ----------
        dout : ndarray, shape (N, FN, OH, OW)
            Gradient of the loss with respect to the output of :meth:`forward`.

        Returns
        -------
        dx : ndarray, shape (N, C, H, W)
        """
        g = self._check_dout(dout)
        FN = self.W.shape[0]
        # (FN, N*OH*OW): one small copy of dout makes both products single GEMMs.
        dout_t = np.ascontiguousarray(dout.transpose(1, 0, 2, 3)).reshape(FN, -1)
        with _overflow_checked_below():
            self.db = dout_t.sum(axis=1)
            self.dW = (dout_t @ self.col).reshape(self.W.shape)
            dcol = (self.col_W @ dout_t).T  # (N*OH*OW, C*FH*FW), same layout as col
        dx = col2im_checked(dcol, g, name=None)  # dx's overflow is checked just below
        _check_overflow({"dx": dx, "dW": self.dW, "db": self.db},
                        {"dout": dout, "x": self.x, "W": self.W})
        return dx


class SeedStyleConvolution(Convolution):
    """The seed's layer, line by line, with only its defects fixed.

    Uses :func:`~strided_conv.im2col_seed_style` (two copies of col),
    ``np.dot(col, col_W) + b`` reshaped and transposed to ``(N, FN, OH, OW)``
    (returned as a non-contiguous view, as in the seed) and
    :func:`~strided_conv.col2im_seed_style`. Output sizes come from
    :func:`strided_conv.conv_output_size`, dtypes are kept. Kept for the
    chapter's and the benchmark's comparisons.
    """

    def _make_col(self, x: np.ndarray, g: ConvGeometry) -> np.ndarray:
        self.col = None  # released before the new one is built, as in Convolution
        return im2col_seed_style(x, g.FH, g.FW, g.stride, g.pad, g.dilation)

    def forward(self, x: np.ndarray) -> np.ndarray:
        g = self._prepare(x)
        with _overflow_checked_below():
            out = np.dot(self.col, self.col_W) + self.b
        _check_overflow({"the output": out}, {"x": x, "W": self.W, "b": self.b})
        return out.reshape(g.N, g.OH, g.OW, self.W.shape[0]).transpose(0, 3, 1, 2)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        g = self._check_dout(dout)
        FN, C, FH, FW = self.W.shape
        dout_flat = dout.transpose(0, 2, 3, 1).reshape(-1, FN)
        with _overflow_checked_below():
            self.db = np.sum(dout_flat, axis=0)
            self.dW = np.dot(self.col.T, dout_flat).transpose(1, 0).reshape(FN, C, FH, FW)
            dcol = np.dot(dout_flat, self.col_W.T)
        dx = col2im_seed_style(dcol, self.x.shape, FH, FW, g.stride, g.pad, g.dilation)
        _check_overflow({"dx": dx, "dW": self.dW, "db": self.db},
                        {"dout": dout, "x": self.x, "W": self.W})
        return dx


def conv2d_naive(
    x: np.ndarray,
    W: np.ndarray,
    b: np.ndarray,
    stride: int | tuple[int, int] = 1,
    pad: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
) -> np.ndarray:
    r"""Convolution straight from its definition, one multiply-add at a time.

    .. math::

        \text{out}[n, f, i, j] = b[f] + \sum_{c, u, v}
        W[f, c, u, v]\; x_{\text{pad}}[n, c,\, i S_h + u D_h,\, j S_w + v D_w]

    Seven nested Python loops, accumulated in Python floats (float64) and
    stored in ``x``'s dtype. Thousands of times slower than :class:`Convolution`;
    it exists as an independent oracle for tiny shapes and as the benchmark's
    baseline. Same arguments and checks as :class:`Convolution`.

    Returns
    -------
    ndarray, shape (N, FN, OH, OW)
    """
    _check_params(W, b)
    _check_input(x, W)
    FN, C, FH, FW = W.shape
    g = _geometry(x.shape, _X_NAMES, FH, FW, stride, pad, dilation, _W_NAMES)
    (sh, sw), (ph, pw), (dh, dw) = g.stride, g.pad, g.dilation
    _check_col_allocatable(g, x.itemsize, "x.shape")  # not built, but its size bounds the loops
    xp = np.zeros((g.N, C, g.H + 2 * ph, g.W + 2 * pw), dtype=x.dtype)
    xp[:, :, ph:ph + g.H, pw:pw + g.W] = x
    xl, wl, bl = xp.tolist(), W.tolist(), b.tolist()  # Python floats: loops stay readable
    out = np.empty((g.N, FN, g.OH, g.OW), dtype=x.dtype)
    with _overflow_checked_below():
        for n in range(g.N):
            for f in range(FN):
                for i in range(g.OH):
                    for j in range(g.OW):
                        acc = bl[f]
                        for c in range(C):
                            for u in range(FH):
                                for v in range(FW):
                                    row, column = i * sh + u * dh, j * sw + v * dw
                                    acc += wl[f][c][u][v] * xl[n][c][row][column]
                        out[n, f, i, j] = acc
    _check_overflow({"the output": out}, {"x": x, "W": W, "b": b})
    return out
