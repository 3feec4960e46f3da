r"""Numerical gradients and relative errors, the yardsticks of chapter 2.

A backward pass is checked by comparing it with central differences,

.. math::

    \frac{\partial f}{\partial x_k}
    \approx \frac{f(x + \varepsilon e_k) - f(x - \varepsilon e_k)}{2\varepsilon},

whose truncation error is :math:`O(\varepsilon^2)` (zero when ``f`` is linear
or quadratic in ``x_k``) and whose rounding error is about
:math:`|f|\,u / \varepsilon` with ``u`` the float64 unit roundoff.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

from ._validation import check_real
from .output_size import conv_output_size

__all__ = [
    "numerical_gradient",
    "relative_error",
    "ConvCase",
    "random_conv_case",
    "pytorch_reference",
    "layer_results",
]


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray,
                       eps: float = 1e-6) -> np.ndarray:
    """Central-difference gradient of a scalar function, one entry at a time.

    Parameters
    ----------
    f : callable
        ``f(x)`` returns a scalar (a number or a size-1 array). It is called
        ``2 * x.size`` times with ``x`` perturbed **in place** (so a layer holding
        a reference to ``x``, such as a weight array, sees the perturbation);
        every entry is restored exactly afterwards, also when ``f`` raises.
    x : ndarray of float64
        The point, writeable (it is perturbed in place; pass a copy of a
        read-only array); float64 is required because float32 central
        differences lose about half their digits. Any shape, empty included.
    eps : float, default 1e-6
        Step, ``> 0``.

    Returns
    -------
    ndarray, shape and dtype of ``x``
        ``(f(x + eps e_k) - f(x - eps e_k)) / (2 eps)`` for every index ``k``.

    Raises
    ------
    TypeError
        If ``f`` is not callable or does not return a real scalar, ``x`` is not
        a float64 ndarray, or ``eps`` is not a real number.
    ValueError
        If ``x`` is read-only, or ``eps`` is not a positive finite number.
    """
    if not callable(f):
        raise TypeError(f"f must be callable (x -> scalar), got {type(f).__name__}")
    if not isinstance(x, np.ndarray) or x.dtype != np.float64:
        kind = x.dtype if isinstance(x, np.ndarray) else type(x).__name__
        raise TypeError(f"x must be a float64 numpy.ndarray, got {kind}")
    if not x.flags.writeable:
        raise ValueError(
            "x must be writeable: numerical_gradient perturbs it in place (f sees the "
            "perturbation); pass a writeable copy, x.copy()"
        )
    eps = check_real("eps", eps)
    if not (np.isfinite(eps) and eps > 0):
        raise ValueError(f"eps must be a positive finite number, got {eps!r}")
    grad = np.empty_like(x)
    for k in np.ndindex(x.shape):
        old = x[k]
        try:
            x[k] = old + eps
            f_plus = _scalar(f(x))
            x[k] = old - eps
            f_minus = _scalar(f(x))
        finally:
            x[k] = old
        grad[k] = (f_plus - f_minus) / (2 * eps)
    return grad


def _scalar(value: object) -> float:
    """``float(value)`` for a real scalar or size-1 real array, else ``TypeError`` naming f."""
    if isinstance(value, (bool, str, bytes)) or np.iscomplexobj(value):
        raise TypeError(f"f must return a real scalar, got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError) as err:
        raise TypeError(
            f"f must return a real scalar, got {type(value).__name__} {value!r:.60}"
        ) from err


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    r"""Largest absolute difference relative to the largest magnitude.

    .. math:: \frac{\max_k |a_k - b_k|}{\max(\max_k |a_k|, \max_k |b_k|)}

    A norm-wise measure: unlike the elementwise ``|a-b| / max(|a|,|b|)`` it is
    not fooled by entries that are nearly zero in both arrays. Returns ``0.0``
    when both arrays are all zeros (or empty). Computed in float64 without
    overflow: when ``a - b`` would overflow, both are divided by the scale first.

    Parameters
    ----------
    a, b : array_like of real numbers
        Same shape; anything ``numpy.asarray`` turns into real numbers (a
        tensor that requires grad must be detached first).

    Raises
    ------
    TypeError
        If ``a`` or ``b`` is not an array of real numbers (strings, complex).
    ValueError
        If the shapes differ, or ``a`` or ``b`` contains inf or nan (a relative
        error of non-finite values means nothing).
    """
    a, b = _real_array("a", a), _real_array("b", b)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {a.shape} and {b.shape}")
    scale = max(np.abs(a).max(initial=0.0), np.abs(b).max(initial=0.0))
    if scale == 0.0:
        return 0.0
    with np.errstate(over="ignore"):
        diff = np.abs(a - b).max()
    if np.isfinite(diff):
        return float(diff / scale)
    return float(np.abs(a / scale - b / scale).max())  # |a - b| overflowed float64


def _real_array(name: str, value: object) -> np.ndarray:
    """``value`` as a finite float64 array, or an error naming ``name``."""
    try:
        if np.iscomplexobj(value):
            raise TypeError("complex values")
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError, RuntimeError) as err:
        raise TypeError(
            f"{name} must be an array of real numbers, got {type(value).__name__} ({err})"
        ) from err
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains inf or nan; relative_error compares finite arrays")
    return arr


class ConvCase(NamedTuple):
    """One random convolution problem: arrays and hyper-parameters."""

    x: np.ndarray
    W: np.ndarray
    b: np.ndarray
    dout: np.ndarray
    stride: tuple[int, int]
    pad: tuple[int, int]
    dilation: tuple[int, int] = (1, 1)


def random_conv_case(rng: np.random.Generator, dtype: type = np.float64,
                     max_dilation: int = 1) -> ConvCase:
    """Draw a small random configuration and its arrays (standard normal entries).

    Sizes: ``N, C`` in 1..3, ``FN`` in 1..4, kernel sides in 1..5, strides in
    1..3, padding in 0..2 (each axis independently, so rectangles and
    non-dividing strides are common), input sides from the smallest that fits
    up to 12. Dilation per axis in ``1..max_dilation`` (with the default 1 no
    dilation is drawn and the random stream is the same as without it).
    """
    fh, fw = (int(v) for v in rng.integers(1, 6, size=2))
    stride = tuple(int(v) for v in rng.integers(1, 4, size=2))
    pad = tuple(int(v) for v in rng.integers(0, 3, size=2))
    dil = ((1, 1) if max_dilation == 1
           else tuple(int(v) for v in rng.integers(1, max_dilation + 1, size=2)))
    span_h, span_w = dil[0] * (fh - 1) + 1, dil[1] * (fw - 1) + 1
    h = int(rng.integers(max(1, span_h - 2 * pad[0]), max(13, span_h + 1)))
    w = int(rng.integers(max(1, span_w - 2 * pad[1]), max(13, span_w + 1)))
    n, c, fn = int(rng.integers(1, 4)), int(rng.integers(1, 4)), int(rng.integers(1, 5))
    oh = conv_output_size(h, fh, stride[0], pad[0], dil[0])
    ow = conv_output_size(w, fw, stride[1], pad[1], dil[1])
    draw = lambda *shape: rng.standard_normal(shape).astype(dtype)  # noqa: E731
    return ConvCase(draw(n, c, h, w), draw(fn, c, fh, fw), draw(fn), draw(n, fn, oh, ow),
                    stride, pad, dil)


def pytorch_reference(case: ConvCase) -> dict[str, np.ndarray]:
    """``out``, ``dx``, ``dW``, ``db`` from ``torch.nn.functional.conv2d`` and autograd.

    Computed in the case's dtype on the CPU; ``dout`` is the upstream gradient.
    """
    import torch  # imported here: the rest of the package does not need it

    x, W, b = (torch.tensor(a, requires_grad=True) for a in (case.x, case.W, case.b))
    out = torch.nn.functional.conv2d(x, W, b, stride=case.stride, padding=case.pad,
                                     dilation=case.dilation)
    out.backward(torch.tensor(case.dout))
    return {"out": out.detach().numpy(), "dx": x.grad.numpy(), "dW": W.grad.numpy(),
            "db": b.grad.numpy()}


def layer_results(layer_cls: type, case: ConvCase) -> dict[str, np.ndarray]:
    """Run ``layer_cls(W, b, stride, pad, dilation)`` forward and backward on ``case``."""
    layer = layer_cls(case.W, case.b, stride=case.stride, pad=case.pad, dilation=case.dilation)
    out = layer.forward(case.x)
    dx = layer.backward(case.dout)
    return {"out": out, "dx": dx, "dW": layer.dW, "db": layer.db}
