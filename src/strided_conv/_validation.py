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
