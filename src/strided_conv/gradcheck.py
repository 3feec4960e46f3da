r"""Numerical gradients and relative errors, the yardsticks of chapter 2.

A backward pass is checked by comparing it with central differences,

.. math:: \frac{\partial f}{\partial x_k} \approx \frac{f(x + \varepsilon e_k) - f(x - \varepsilon e_k)}{2\varepsilon},

whose truncation error is :math:`O(\varepsilon^2)` (zero when ``f`` is linear
or quadratic in ``x_k``) and whose rounding error is about
:math:`|f|\,u / \varepsilon` with ``u`` the float64 unit roundoff.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

__all__ = ["numerical_gradient", "relative_error"]


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central-difference gradient of a scalar function, one entry at a time.

    Parameters
    ----------
    f : callable
        ``f(x)`` returns a scalar. It is called ``2 * x.size`` times with
        ``x`` perturbed **in place** (so a layer holding a reference to ``x``,
        such as a weight array, sees the perturbation); every entry is restored
        exactly afterwards.
    x : ndarray of float64
        The point; float64 is required because float32 central differences
        lose about half their digits.
    eps : float, default 1e-6
        Step, ``> 0``.

    Returns
    -------
    ndarray, shape and dtype of ``x``
        ``(f(x + eps e_k) - f(x - eps e_k)) / (2 eps)`` for every index ``k``.

    Raises
    ------
    TypeError
        If ``x`` is not a float64 ndarray.
    ValueError
        If ``eps`` is not a positive finite number.
    """
    if not isinstance(x, np.ndarray) or x.dtype != np.float64:
        kind = x.dtype if isinstance(x, np.ndarray) else type(x).__name__
        raise TypeError(f"x must be a float64 numpy.ndarray, got {kind}")
    if not (np.isfinite(eps) and eps > 0):
        raise ValueError(f"eps must be a positive finite number, got {eps!r}")
    grad = np.empty_like(x)
    for k in np.ndindex(x.shape):
        old = x[k]
        x[k] = old + eps
        f_plus = float(f(x))
        x[k] = old - eps
        f_minus = float(f(x))
        x[k] = old
        grad[k] = (f_plus - f_minus) / (2 * eps)
    return grad


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    r"""Largest absolute difference relative to the largest magnitude.

    .. math:: \frac{\max_k |a_k - b_k|}{\max(\max_k |a_k|, \max_k |b_k|)}

    A norm-wise measure: unlike the elementwise ``|a-b| / max(|a|,|b|)`` it is
    not fooled by entries that are nearly zero in both arrays. Returns ``0.0``
    when both arrays are all zeros.

    Raises
    ------
    ValueError
        If the shapes differ.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {a.shape} and {b.shape}")
    scale = max(np.abs(a).max(initial=0.0), np.abs(b).max(initial=0.0))
    if scale == 0.0:
        return 0.0
    return float(np.abs(a - b).max() / scale)
