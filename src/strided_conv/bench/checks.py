"""Every implementation must agree with PyTorch before it is timed.

A fast wrong answer is worth nothing, so the benchmark compares each output
with PyTorch's (forward output; ``dx``, ``dW``, ``db`` after backward) and stops
with :class:`BenchMismatchError` on the first disagreement. It also refuses a
result whose dtype differs from the input's: a float32 benchmark that silently
computes in float64 would measure the wrong thing.
"""
from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["BenchMismatchError", "tolerance", "check_close"]

#: Relative tolerance per dtype. The absolute tolerance is the same factor
#: times the largest reference magnitude, because sums over thousands of terms
#: (dW sums over N*OH*OW products) have absolute rounding errors that grow with them.
_RTOL = {np.dtype(np.float32): 1e-4, np.dtype(np.float64): 1e-10}


class BenchMismatchError(RuntimeError):
    """An implementation's result differs from PyTorch's: the benchmark must not time it."""


def tolerance(dtype: np.dtype | type) -> float:
    """Relative tolerance used for ``dtype`` (float32: 1e-4, float64: 1e-10)."""
    dt = np.dtype(dtype)
    if dt not in _RTOL:
        raise ValueError(f"dtype must be float32 or float64, got {dt}")
    return _RTOL[dt]


def check_close(what: str, got: Any, ref: Any, dtype: np.dtype | type) -> dict[str, Any]:
    """Compare ``got`` with ``ref`` (arrays or tensors); raise on any mismatch.

    Parameters
    ----------
    what : str
        Names the case in the error message, e.g. ``"S2 float32 seed_im2col dx"``.
    got, ref : array-like
        ``got`` must have ``ref``'s shape and the dtype ``dtype``.
    dtype : numpy dtype
        The dtype of the benchmark case.

    Returns
    -------
    dict
        ``{"what", "max_abs_err", "scale", "rtol", "ok": True}`` for the JSON.

    Raises
    ------
    BenchMismatchError
        Wrong shape, wrong dtype, or ``not np.allclose(got, ref, rtol, rtol * scale)``.
    """
    got, ref = _to_numpy(got), _to_numpy(ref)
    dt = np.dtype(dtype)
    if got.shape != ref.shape:
        raise BenchMismatchError(f"{what}: shape {got.shape}, PyTorch gives {ref.shape}")
    if got.dtype != dt:
        raise BenchMismatchError(f"{what}: result dtype {got.dtype}, input dtype {dt}")
    rtol = tolerance(dt)
    ref64, got64 = ref.astype(np.float64), got.astype(np.float64)
    scale = float(np.max(np.abs(ref64))) if ref64.size else 0.0
    err = float(np.max(np.abs(got64 - ref64))) if ref64.size else 0.0
    if not np.allclose(got64, ref64, rtol=rtol, atol=rtol * scale):
        raise BenchMismatchError(
            f"{what}: max |difference| {err:.3g} from PyTorch exceeds rtol={rtol:g} "
            f"(atol = rtol * max|ref| = {rtol * scale:.3g})"
        )
    return {"what": what, "max_abs_err": err, "scale": scale, "rtol": rtol, "ok": True}


def _to_numpy(a: Any) -> np.ndarray:
    if hasattr(a, "detach"):
        return a.detach().cpu().numpy()
    return np.asarray(a)
