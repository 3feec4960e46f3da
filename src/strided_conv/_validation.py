"""Argument checks shared by every module.

Each check raises with a message that names the parameter, the value it got
and the rule it broke, so a reader never has to guess which argument was wrong.
"""
from __future__ import annotations

import numbers
from typing import Any


def check_int(name: str, value: Any, minimum: int | None = None) -> int:
    """Return ``value`` as an ``int`` if it is an integer ``>= minimum``.

    ``bool`` is rejected although it subclasses ``int``: ``stride=True`` is
    almost always a bug, not a request for stride 1. NumPy integers are accepted
    and converted, so results are always plain Python ints.

    Raises
    ------
    TypeError
        If ``value`` is not an integer (floats such as ``2.0`` included).
    ValueError
        If ``value < minimum``.
    """
    if type(value) is int:  # the common case, without the slower ABC check below
        if minimum is not None and value < minimum:
            raise ValueError(f"{name} must be >= {minimum}, got {value}")
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"{name} must be an int, got {value!r} of type {type(value).__name__}"
        )
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def check_pair(name: str, value: Any, minimum: int | None = None) -> tuple[int, int]:
    """Return ``(value, value)`` for an int, or the checked pair for a 2-sequence.

    Used where a 2-D layer accepts either one number for both axes or one per
    axis, as ``torch.nn.Conv2d`` does.
    """
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
        return (
            check_int(f"{name}[0]", value[0], minimum),
            check_int(f"{name}[1]", value[1], minimum),
        )
    v = check_int(name, value, minimum)
    return (v, v)


#: Largest number of bytes one array can have: NumPy indexes memory with a signed
#: 64-bit integer (``numpy.intp``), and so does PyTorch.
MAX_ARRAY_BYTES = 2**63 - 1


def check_real(name: str, value: Any) -> float:
    """Return ``value`` as a ``float`` if it is a real number (``bool`` refused).

    Raises
    ------
    TypeError
        If ``value`` is not a real number (a string, ``None``, a complex number, an array).
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{name} must be a real number, got {value!r} of type {type(value).__name__}"
        )
    return float(value)


def check_allocatable(what: str, shape: tuple[int, ...], itemsize: int, because: str) -> None:
    """Raise ``ValueError`` if no array of ``shape`` and ``itemsize`` can exist.

    NumPy would raise a ``ValueError`` that names no argument ("array is too big",
    "Maximum allowed dimension exceeded"); this one says which array and which
    arguments made it that big. Arrays that could exist but do not fit in this
    machine's memory still raise the allocator's ``MemoryError``.

    Parameters
    ----------
    what : str
        The array, as the message should name it ("the col matrix").
    shape : tuple of int
        Its shape, exact Python ints (no overflow).
    itemsize : int
        Bytes per element.
    because : str
        The arguments that determine ``shape``, for the message.
    """
    n_bytes = itemsize
    for dim in shape:
        n_bytes *= dim
    if max(shape, default=0) > MAX_ARRAY_BYTES or n_bytes > MAX_ARRAY_BYTES:
        raise ValueError(
            f"{what} would have shape {tuple(shape)} ({n_bytes} bytes), more than any array "
            f"can hold (2**63 - 1 bytes, or a dimension above 2**63 - 1); {because}"
        )
