r"""Output-size arithmetic of strided, padded, dilated convolution (chapter 1).

Notation used throughout the book, for one axis (2-D is one call per axis):

=====  ====================================================
``i``  input length
``k``  kernel length
``s``  stride
``p``  zero padding **per side** (PyTorch's ``padding``)
``d``  dilation (``d = 1`` is an ordinary kernel)
``o``  output length
=====  ====================================================

The dilated kernel spans :math:`d(k-1)+1` input positions. Its start
positions on the padded input are :math:`0, s, 2s, \dots` as long as the window
still fits, which gives

.. math::

    o = \left\lfloor \frac{i + 2p - d(k-1) - 1}{s} \right\rfloor + 1 .
"""
from __future__ import annotations

from ._validation import check_int

__all__ = [
    "conv_output_size",
    "transposed_conv_output_size",
    "transposed_output_padding",
    "same_padding",
    "window_starts",
    "unvisited_tail",
]


def _check_conv_args(
    input_size: int, kernel_size: int, stride: int, padding: int, dilation: int
) -> tuple[int, int, int, int, int]:
    return (
        check_int("input_size", input_size, 1),
        check_int("kernel_size", kernel_size, 1),
        check_int("stride", stride, 1),
        check_int("padding", padding, 0),
        check_int("dilation", dilation, 1),
    )


def _span(kernel_size: int, dilation: int) -> int:
    """Number of input positions one dilated window covers: d(k-1)+1."""
    return dilation * (kernel_size - 1) + 1


def conv_output_size(
    input_size: int, kernel_size: int, stride: int = 1, padding: int = 0, dilation: int = 1
) -> int:
    r"""Output length of a convolution along one axis.

    .. math:: o = \left\lfloor \frac{i + 2p - d(k-1) - 1}{s} \right\rfloor + 1

    Parameters
    ----------
    input_size : int
        ``i >= 1``.
    kernel_size : int
        ``k >= 1``.
    stride : int, default 1
        ``s >= 1``.
    padding : int, default 0
        Zeros added on **each** side, ``p >= 0``.
    dilation : int, default 1
        Spacing between kernel taps, ``d >= 1``.

    Returns
    -------
    int
        ``o >= 1``; the same number PyTorch's ``Conv1d``/``Conv2d`` produce.

    Raises
    ------
    TypeError
        If an argument is not an int (``bool`` and ``float`` included).
    ValueError
        If an argument is out of range, or if the dilated kernel
        ``d(k-1)+1`` is longer than the padded input ``i + 2p`` (no window fits).

    Examples
    --------
    >>> conv_output_size(28, 5, stride=2)
    12
    >>> conv_output_size(7, 3, stride=2, padding=1)
    4
    """
    i, k, s, p, d = _check_conv_args(input_size, kernel_size, stride, padding, dilation)
    span = _span(k, d)
    if span > i + 2 * p:
        raise ValueError(
            f"kernel_size={k} with dilation={d} spans d*(k-1)+1 = {span} positions, "
            f"more than the padded input input_size + 2*padding = {i + 2 * p}: "
            "no window fits"
        )
    # Floor division of a non-negative numerator: the floor, never int() truncation.
    return (i + 2 * p - span) // s + 1


def window_starts(
    input_size: int, kernel_size: int, stride: int = 1, padding: int = 0, dilation: int = 1
) -> list[int]:
    """Start of every window, as an index into the **unpadded** input.

    A start of ``-p`` is a window whose first tap sits on the first padding
    zero. This is the direct count the output-size formula abbreviates:
    ``len(window_starts(...)) == conv_output_size(...)``.

    Returns
    -------
    list of int
        Window starts ``-p, -p + s, -p + 2s, ...``, every one whose last tap
        ``start + d(k-1)`` is still ``<= i - 1 + p``.
    """
    o = conv_output_size(input_size, kernel_size, stride, padding, dilation)
    return [-int(padding) + j * int(stride) for j in range(o)]


def unvisited_tail(
    input_size: int, kernel_size: int, stride: int = 1, padding: int = 0, dilation: int = 1
) -> int:
    """How many trailing positions of the padded input no window reaches.

    These are what the floor in the output-size formula throws away:
    ``(i + 2p - d(k-1) - 1) mod s``. Some of them may be padding; the rest
    are real input that the layer never reads.
    """
    o = conv_output_size(input_size, kernel_size, stride, padding, dilation)
    i, k, s, p, d = map(int, (input_size, kernel_size, stride, padding, dilation))
    return (i + 2 * p) - ((o - 1) * s + _span(k, d))


def transposed_output_padding(
    input_size: int, kernel_size: int, stride: int = 1, padding: int = 0, dilation: int = 1
) -> int:
    r"""The ``output_padding`` that makes a transposed convolution return ``input_size``.

    A convolution maps the ``s`` input lengths :math:`i, i+1, \dots, i+s-1`
    onto the same output length, so its transpose cannot tell which one to
    give back. The remainder

    .. math:: a = (i + 2p - d(k-1) - 1) \bmod s

    picks the right one. It equals :func:`unvisited_tail`.
    """
    return unvisited_tail(input_size, kernel_size, stride, padding, dilation)


def transposed_conv_output_size(
    input_size: int,
    kernel_size: int,
    stride: int = 1,
    padding: int = 0,
    dilation: int = 1,
    output_padding: int = 0,
) -> int:
    r"""Output length of a transposed convolution along one axis.

    .. math:: o' = s(i' - 1) - 2p + d(k-1) + a + 1

    where ``i'`` is the transposed convolution's input length and ``a`` its
    ``output_padding``. This is the formula of ``torch.nn.ConvTranspose1d``.

    Raises
    ------
    ValueError
        If ``output_padding`` is not in ``[0, max(stride, dilation))`` (the
        rule PyTorch enforces), or if the result would be ``< 1``.
    """
    i, k, s, p, d = _check_conv_args(input_size, kernel_size, stride, padding, dilation)
    a = check_int("output_padding", output_padding, 0)
    if a >= max(s, d):
        raise ValueError(
            f"output_padding={a} must be smaller than max(stride, dilation) = {max(s, d)}"
        )
    o = s * (i - 1) - 2 * p + d * (k - 1) + a + 1
    if o < 1:
        raise ValueError(
            f"padding={p} is too large: s*(i-1) - 2p + d*(k-1) + output_padding + 1 "
            f"= {o} < 1 for input_size={i}, kernel_size={k}, stride={s}, dilation={d}"
        )
    return o


def same_padding(kernel_size: int, dilation: int = 1) -> tuple[int, int]:
    """Left and right padding that keep the length unchanged at stride 1.

    The total is ``d(k-1)``; like PyTorch's ``padding='same'`` the left side
    gets ``total // 2`` and the right side the rest, so an even total splits
    evenly and an odd total puts the extra zero on the right.

    There is no stride argument on purpose: with ``s > 1`` no padding keeps
    ``o == i`` for every ``i`` (the output is about ``i / s``), which is why
    PyTorch refuses ``padding='same'`` for strided convolutions.

    Returns
    -------
    tuple of int
        ``(left, right)`` with ``left + right == d * (k - 1)``.
    """
    k = check_int("kernel_size", kernel_size, 1)
    d = check_int("dilation", dilation, 1)
    total = d * (k - 1)
    return total // 2, total - total // 2
