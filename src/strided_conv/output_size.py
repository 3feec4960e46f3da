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

from fractions import Fraction
from typing import Callable, NamedTuple

from ._validation import check_int

__all__ = [
    "conv_output_size",
    "transposed_conv_output_size",
    "transposed_output_padding",
    "same_padding",
    "tf_same_padding",
    "window_starts",
    "unvisited_tail",
    "count_windows_brute_force",
    "cs231n_output_size",
    "Relation",
    "TEXTBOOK_RELATIONS",
]


#: Largest ``(input_size + 2*padding) * kernel_size`` :func:`count_windows_brute_force` accepts.
BRUTE_FORCE_LIMIT = 10**8
#: Longest list :func:`window_starts` returns.
LIST_LIMIT = 10**7


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
            f"more than the padded input length input_size + 2*padding = {i} + 2*{p} = "
            f"{i + 2 * p}: no window fits"
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

    Raises
    ------
    TypeError, ValueError
        As :func:`conv_output_size`; ``ValueError`` also when there are more than
        ``10**7`` windows (the list would take gigabytes; count them with
        :func:`conv_output_size`).
    """
    o = conv_output_size(input_size, kernel_size, stride, padding, dilation)
    if o > LIST_LIMIT:
        raise ValueError(
            f"input_size={input_size}, kernel_size={kernel_size}, stride={stride}, "
            f"padding={padding} give o = {o} windows, more than {LIST_LIMIT} to list; "
            "use conv_output_size for the count"
        )
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

    .. math:: o' = s(i' - 1) - 2p + d(k-1) + \tau + 1

    where ``i'`` is the transposed convolution's input length and :math:`\tau` its
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


def tf_same_padding(
    input_size: int, kernel_size: int, stride: int = 1, dilation: int = 1
) -> tuple[int, int]:
    r"""TensorFlow's ``padding="SAME"``: the (left, right) zeros that give ``ceil(i/s)`` outputs.

    With stride ``s > 1`` "same" cannot mean ``o == i``; TensorFlow redefines it as
    :math:`o = \lceil i/s \rceil` and pads just enough for the last window to fit:

    .. math::

        \text{total} = \max\bigl((\lceil i/s \rceil - 1)\,s + d(k-1) + 1 - i,\ 0\bigr),
        \quad \text{left} = \lfloor \text{total}/2 \rfloor,
        \quad \text{right} = \text{total} - \text{left}.

    Unlike :func:`same_padding`, the result depends on ``input_size`` (through
    ``i mod s``), so a layer cannot fix it before it sees the input. At ``s = 1``
    the two functions agree.

    Returns
    -------
    tuple of int
        ``(left, right)``; an odd total puts the extra zero on the right.
        A convolution of the input padded this way (``padding=0`` afterwards) has
        ``conv_output_size(i + left + right, k, s, 0, d) == ceil(i / s)``.
    """
    i = check_int("input_size", input_size, 1)
    k = check_int("kernel_size", kernel_size, 1)
    s = check_int("stride", stride, 1)
    d = check_int("dilation", dilation, 1)
    o = -(-i // s)  # ceil(i / s) in integers, no float rounding
    total = max((o - 1) * s + _span(k, d) - i, 0)
    return total // 2, total - total // 2


def count_windows_brute_force(
    input_size: int, kernel_size: int, stride: int = 1, padding: int = 0, dilation: int = 1
) -> int:
    """Count window placements by sliding a window over a padded line: the oracle.

    This deliberately does not use the output-size formula. It builds the padded
    line as a list of cells, puts the first tap at position ``0, s, 2s, ...`` and
    counts the placements whose every tap lands on a cell of the line. It is
    O(i * k) and meant for checking :func:`conv_output_size`, not for use.

    Returns
    -------
    int
        Number of windows, ``0`` when not even one fits (where
        :func:`conv_output_size` raises ``ValueError`` and PyTorch raises too).

    Raises
    ------
    TypeError, ValueError
        As :func:`conv_output_size` for the arguments; ``ValueError`` also when
        ``(input_size + 2*padding) * kernel_size`` exceeds ``10**8``: the line and
        its windows are built cell by cell, so larger cases would take minutes.
    """
    i = check_int("input_size", input_size, 1)
    k = check_int("kernel_size", kernel_size, 1)
    s = check_int("stride", stride, 1)
    p = check_int("padding", padding, 0)
    d = check_int("dilation", dilation, 1)
    if (i + 2 * p) * k > BRUTE_FORCE_LIMIT:
        raise ValueError(
            f"(input_size + 2*padding) * kernel_size = ({i} + 2*{p}) * {k} is more than "
            f"{BRUTE_FORCE_LIMIT}: too large for the cell-by-cell brute force; "
            "use conv_output_size"
        )
    line = ["pad"] * p + ["input"] * i + ["pad"] * p
    count, start = 0, 0
    while start < len(line):
        taps = [start + d * t for t in range(k)]
        if not all(t < len(line) for t in taps):
            break
        count += 1
        start += s
    return count


def cs231n_output_size(
    input_size: int, kernel_size: int, stride: int = 1, padding: int = 0, dilation: int = 0
) -> Fraction:
    r"""CS231n's output size :math:`(W - F + 2P)/S + 1`, exact and unfloored.

    CS231n calls a configuration "invalid" when this is not an integer; every
    framework instead floors it, which is :func:`conv_output_size`. The value
    is non-integer exactly when :func:`unvisited_tail` is positive.

    ``dilation`` follows CS231n's convention: the number of *gaps* between
    taps, so CS231n's ``dilation=0`` is PyTorch's ``dilation=1`` and the
    filter spans ``F = k + (k-1) * dilation`` cells.

    Returns
    -------
    fractions.Fraction
        Exact value; no float rounding can hide a non-integer.
    """
    w = check_int("input_size", input_size, 1)
    k = check_int("kernel_size", kernel_size, 1)
    s = check_int("stride", stride, 1)
    p = check_int("padding", padding, 0)
    gaps = check_int("dilation", dilation, 0)
    f = k + (k - 1) * gaps
    return Fraction(w - f + 2 * p, s) + 1


class Relation(NamedTuple):
    """One textbook special case of the output-size formula.

    ``applies(i, k, s, p, d)`` says whether the relation's conditions hold;
    ``predict(i, k, s, p, d)`` evaluates the textbook's own expression
    (``p`` is padding per side, ``d`` PyTorch's dilation).
    """

    label: str
    case: str
    formula: str
    applies: Callable[[int, int, int, int, int], bool]
    predict: Callable[[int, int, int, int, int], int]


# Each expression is typed as the source prints it, not derived from
# conv_output_size: these are claims to check, not implementations to reuse.
TEXTBOOK_RELATIONS: tuple[Relation, ...] = (
    Relation("D&V 1", "s=1, p=0, d=1", "i - k + 1",
             lambda i, k, s, p, d: s == 1 and p == 0 and d == 1,
             lambda i, k, s, p, d: i - k + 1),
    Relation("D&V 2", "s=1, d=1", "i - k + 2p + 1",
             lambda i, k, s, p, d: s == 1 and d == 1,
             lambda i, k, s, p, d: i - k + 2 * p + 1),
    Relation("D&V 3", "half: k odd, p=floor(k/2), s=1, d=1", "i",
             lambda i, k, s, p, d: k % 2 == 1 and p == k // 2 and s == 1 and d == 1,
             lambda i, k, s, p, d: i),
    Relation("D&V 4", "full: p=k-1, s=1, d=1", "i + k - 1",
             lambda i, k, s, p, d: p == k - 1 and s == 1 and d == 1,
             lambda i, k, s, p, d: i + k - 1),
    Relation("D&V 5", "p=0, d=1", "floor((i - k)/s) + 1",
             lambda i, k, s, p, d: p == 0 and d == 1,
             lambda i, k, s, p, d: (i - k) // s + 1),
    Relation("D&V 6", "d=1", "floor((i + 2p - k)/s) + 1",
             lambda i, k, s, p, d: d == 1,
             lambda i, k, s, p, d: (i + 2 * p - k) // s + 1),
    Relation("D&V 7", "pooling: p=0, d=1", "floor((i - k)/s) + 1",
             lambda i, k, s, p, d: p == 0 and d == 1,
             lambda i, k, s, p, d: (i - k) // s + 1),
    Relation("D&V 15", "dilated", "floor((i + 2p - k - (k-1)(d-1))/s) + 1",
             lambda i, k, s, p, d: True,
             lambda i, k, s, p, d: (i + 2 * p - k - (k - 1) * (d - 1)) // s + 1),
    Relation("d2l", "p_tot = 2p in total, d=1", "floor((i - k + p_tot + s)/s)",
             lambda i, k, s, p, d: d == 1,
             lambda i, k, s, p, d: (i - k + 2 * p + s) // s),
)
