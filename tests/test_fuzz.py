"""Fuzzing every public name of ``strided_conv`` (issue 13).

For each name in ``strided_conv.__all__`` a strategy below draws one call, with
valid or invalid arguments: wrong types (floats, bools, strings, None, lists,
tensors where arrays belong and arrays where tensors belong), out-of-range and
huge sizes (up to 2**70), empty batches, shapes that do not match, bool, integer,
float and complex dtypes, Fortran-ordered, strided, read-only and big-endian
arrays, hooks, pruning and weight norms attached to convolutions. Each strategy
knows, from its own reasoning and not from the package, whether the call is
valid (one exception: a DownConvSizes with a changed configuration is judged by
``downconv_sizes``, itself fuzzed against brute force). :func:`run_case` then
requires that

- a valid call returns what an independent oracle says (brute-force loops
  written here, PyTorch, exact integer or ``Fraction`` arithmetic, or the
  module's own layers called the usual way), and
- an invalid call raises ``TypeError`` or ``ValueError`` whose message contains
  the name of the offending parameter;

any other exception, a wrong result, an invalid call that returns, or a valid
call that raises fails the test. ``test_every_public_name_has_a_strategy``
fails when a public name has no strategy, so nothing public goes unfuzzed.

Each fuzz test records how many calls it made (valid and rejected) as the
``fuzz_cases`` user property; ``tests/conftest.py`` prints them at the end of
the session (also under pytest-xdist).
"""
from __future__ import annotations

import functools
import math
import os
import warnings
from collections import Counter
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Callable

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from torch.nn.utils import prune

import strided_conv as sc

# ====================================================================== the harness


@dataclass
class Case:
    """One drawn call: ``call()`` runs it; ``bad`` holds the parameter names an
    error may name (empty: the call is valid); ``check(result)`` is the oracle."""

    call: Callable[[], Any]
    bad: frozenset[str] = frozenset()
    check: Callable[[Any], None] = lambda result: None
    # Valid calls whose outcome the oracle cannot decide (a sum within rounding
    # of the largest float): either a correct result or an error naming these.
    either: frozenset[str] = field(default_factory=frozenset)


def invalid(call: Callable[[], Any], *names: str) -> Case:
    return Case(call, frozenset(names))


def run_case(case: Case) -> str:
    """Run one case; return ``"valid"`` or ``"rejected"`` or fail."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # torch.nn.utils.weight_norm
            result = case.call()
    except (TypeError, ValueError) as err:
        names = case.bad or case.either
        assert names, f"a valid call raised {type(err).__name__}: {err}"
        message = str(err)
        assert any(name in message for name in names), (
            f"{type(err).__name__} names none of {sorted(names)}: {message}")
        return "rejected"
    assert not case.bad, f"an invalid call (bad {sorted(case.bad)}) returned {result!r:.300}"
    case.check(result)
    return "valid"


#: Reproducible by default (CI must not flake); STRIDED_CONV_FUZZ_RANDOM=1 draws fresh cases.
# No shrinking: a failure is reported as drawn (every draw is labelled), at once.
FUZZ_SETTINGS = dict(deadline=None, database=None, phases=(Phase.explicit, Phase.generate),
                     derandomize=os.environ.get("STRIDED_CONV_FUZZ_RANDOM") != "1",
                     suppress_health_check=list(HealthCheck))


def fuzz(name: str, examples: int, record_property) -> None:
    tally: Counter[str] = Counter()

    @settings(max_examples=examples, **FUZZ_SETTINGS)
    @given(data=st.data())
    def one(data):
        tally[run_case(STRATEGIES[name](data))] += 1

    one()
    total = tally["valid"] + tally["rejected"]
    record_property("fuzz_cases", f"{name}: {total} calls ({tally['valid']} valid, "
                                  f"{tally['rejected']} rejected)")
    print(f"fuzzed {name}: {dict(tally)}")


# ====================================================================== shared draws
def corruption(data, kinds: list[str], label: str) -> str:
    """``"ok"`` for half of the cases, else one of ``kinds`` (what to break)."""
    return "ok" if not rarely(data, 2, label) else data.draw(st.sampled_from(kinds), label=label)


def rarely(data, one_in: int, label: str) -> bool:
    """True about once in ``one_in`` calls. Hypothesis favours the ends of a range
    (0 and the maximum) and choices it drew before, so a rare choice placed at an end
    would not be rare; it is a band in the middle of 0..999 instead."""
    value = data.draw(st.integers(0, 999), label=label)
    return 500 <= value < 500 + 1000 // one_in


HUGE = st.sampled_from([2**31, 2**40, 10**18, 2**63, 10**30, 2**70])


def good_int(data, lo: int, hi: int, label: str, huge: bool | str = False) -> int:
    """An int in ``[lo, hi]`` (sometimes huge), as int, numpy.int64 or numpy.int32.

    ``huge="beyond"`` draws only sizes no array can have (nothing is allocated then).
    """
    if huge and rarely(data, 16, f"{label} huge?"):
        value = data.draw(st.sampled_from([10**30, 2**70]) if huge == "beyond" else HUGE, label=label)
    else:
        value = data.draw(st.integers(lo, hi), label=label)
    kind = data.draw(st.sampled_from(["int", "int", "int", "int64", "int32"]), label=f"{label} type")
    if kind == "int64" and value < 2**63:
        return np.int64(value)
    if kind == "int32" and value < 2**31:
        return np.int32(value)
    return value


NOT_INTS = [2.0, 1.5, float("nan"), True, False, "3", None, 1j, b"1", np.float64(2.0),
            np.array(2), torch.tensor(2), object()]


def bad_int(data, minimum: int, label: str) -> Any:
    """A value ``check_int(name, value, minimum)`` must refuse."""
    if data.draw(st.booleans(), label=f"{label} below minimum?"):
        return data.draw(st.integers(minimum - 10**20, minimum - 1), label=label)
    return data.draw(st.sampled_from(NOT_INTS), label=label)


def bad_pair(data, minimum: int, label: str) -> Any:
    """A value ``check_pair(name, value, minimum)`` must refuse."""
    kind = data.draw(st.sampled_from(["scalar", "first", "second", "length"]), label=f"{label} how")
    if kind == "scalar":
        return bad_int(data, minimum, label)
    if kind == "length":
        return data.draw(st.sampled_from([(), (1,), (1, 1, 1), [1, 2, 3]]), label=label)
    ok = minimum + 1
    wrong = bad_int(data, minimum, label)
    return (wrong, ok) if kind == "first" else [ok, wrong]


def maybe_corrupt(data, params: dict[str, Any], kinds: dict[str, tuple[str, int]],
                  p_bad: int = 3) -> str | None:
    """With probability ``1/p_bad`` replace one parameter by a bad value; return its name.

    ``kinds[name] = ("int" | "pair", minimum)``.
    """
    if not rarely(data, p_bad, "corrupt?"):
        return None
    name = data.draw(st.sampled_from(sorted(kinds)), label="corrupted parameter")
    kind, minimum = kinds[name]
    params[name] = (bad_int if kind == "int" else bad_pair)(data, minimum, name)
    return name


def span(k: int, d: int) -> int:
    return d * (k - 1) + 1


def brute_starts(length: int, width: int, stride: int) -> list[int]:
    """Every start 0, s, 2s, ... of a window of ``width`` cells inside ``length`` cells."""
    starts, start = [], 0
    while start + width <= length:
        starts.append(start)
        start += stride
    return starts


def count_windows(length: int, width: int, stride: int) -> int:
    """The number of windows: brute force for small lines, for long ones the count of the
    arithmetic progression 0, s, ..., checked by its defining inequalities."""
    if length <= 4000:
        return len(brute_starts(length, width, stride))
    if width > length:
        return 0
    o = (length - width) // stride + 1
    assert (o - 1) * stride + width <= length < o * stride + width
    return o


# ====================================================================== chapter 1
INT5 = {"input_size": ("int", 1), "kernel_size": ("int", 1), "stride": ("int", 1),
        "padding": ("int", 0), "dilation": ("int", 1)}


def draw_conv1d(data, huge: bool = True) -> tuple[dict[str, Any], str | None]:
    params = {
        "input_size": good_int(data, 1, 40, "input_size", huge),
        "kernel_size": good_int(data, 1, 12, "kernel_size", huge),
        "stride": good_int(data, 1, 8, "stride", huge),
        "padding": good_int(data, 0, 6, "padding", huge),
        "dilation": good_int(data, 1, 5, "dilation", huge),
    }
    return params, maybe_corrupt(data, params, INT5)


def ints(params: dict[str, Any]) -> tuple[int, ...]:
    return tuple(int(v) for v in params.values())


def s_conv_output_size(data) -> Case:
    params, bad = draw_conv1d(data)
    call = lambda: sc.conv_output_size(**params)  # noqa: E731
    if bad:
        return invalid(call, bad)
    i, k, s, p, d = ints(params)
    if span(k, d) > i + 2 * p:
        return invalid(call, "kernel_size")
    return Case(call, check=lambda o: _is(o, int, count_windows(i + 2 * p, span(k, d), s)))


def _is(result: Any, kind: type, expected: Any) -> None:
    assert type(result) is kind, f"{result!r} is a {type(result).__name__}, not {kind.__name__}"
    assert result == expected, f"{result!r} != {expected!r}"


def s_window_starts(data) -> Case:
    params, bad = draw_conv1d(data)
    call = lambda: sc.window_starts(**params)  # noqa: E731
    if bad:
        return invalid(call, bad)
    i, k, s, p, d = ints(params)
    if span(k, d) > i + 2 * p:
        return invalid(call, "kernel_size")
    if count_windows(i + 2 * p, span(k, d), s) > 10**7:
        return invalid(call, "input_size", "stride")
    expected = [start - p for start in brute_starts(i + 2 * p, span(k, d), s)]
    return Case(call, check=lambda got: _is(got, list, expected))


def _tail_check(i: int, k: int, s: int, p: int, d: int) -> Callable[[Any], None]:
    def check(t: Any) -> None:
        assert type(t) is int and 0 <= t < s, t
        assert (i + 2 * p - span(k, d) - t) % s == 0  # the last window ends t cells early
        if i + 2 * p <= 4000:
            last = brute_starts(i + 2 * p, span(k, d), s)[-1]
            assert t == i + 2 * p - (last + span(k, d))
    return check


def s_unvisited_tail(data) -> Case:
    params, bad = draw_conv1d(data)
    call = lambda: sc.unvisited_tail(**params)  # noqa: E731
    if bad:
        return invalid(call, bad)
    i, k, s, p, d = ints(params)
    if span(k, d) > i + 2 * p:
        return invalid(call, "kernel_size")
    return Case(call, check=_tail_check(i, k, s, p, d))


def s_transposed_output_padding(data) -> Case:
    params, bad = draw_conv1d(data)
    call = lambda: sc.transposed_output_padding(**params)  # noqa: E731
    if bad:
        return invalid(call, bad)
    i, k, s, p, d = ints(params)
    if span(k, d) > i + 2 * p:
        return invalid(call, "kernel_size")

    def check(a: Any) -> None:
        _tail_check(i, k, s, p, d)(a)
        if i + 2 * p <= 200 and max(k, s, d) <= 64 and a < max(s, d):  # PyTorch returns i
            o = count_windows(i + 2 * p, span(k, d), s)
            y = F.conv_transpose1d(torch.zeros(1, 1, o), torch.zeros(1, 1, k), stride=s,
                                   padding=p, dilation=d, output_padding=a)
            assert y.shape[-1] == i
    return Case(call, check=check)


def s_transposed_conv_output_size(data) -> Case:
    params, bad = draw_conv1d(data)
    params["output_padding"] = good_int(data, 0, 8, "output_padding", huge=True)
    if bad is None and rarely(data, 6, "corrupt a?"):
        params["output_padding"], bad = bad_int(data, 0, "output_padding"), "output_padding"
    call = lambda: sc.transposed_conv_output_size(**params)  # noqa: E731
    if bad:
        return invalid(call, bad)
    i, k, s, p, d, a = ints(params)
    if a >= max(s, d):
        return invalid(call, "output_padding")
    small = max(i, k, s, p, d, a) <= 64
    if small:  # PyTorch's ConvTranspose1d is the oracle
        try:
            length = F.conv_transpose1d(torch.zeros(1, 1, i), torch.zeros(1, 1, k), stride=s,
                                        padding=p, dilation=d, output_padding=a).shape[-1]
        except RuntimeError:
            return invalid(call, "padding")
        if length < 1:
            return invalid(call, "padding")
    else:  # the formula of PyTorch's documentation, in exact integers
        length = (i - 1) * s - 2 * p + d * (k - 1) + a + 1
        if length < 1:
            return invalid(call, "padding")
    return Case(call, check=lambda got: _is(got, int, length))


def s_same_padding(data) -> Case:
    params = {"kernel_size": good_int(data, 1, 9, "kernel_size", huge=True),
              "dilation": good_int(data, 1, 4, "dilation", huge=True)}
    bad = maybe_corrupt(data, params, {"kernel_size": ("int", 1), "dilation": ("int", 1)})
    call = lambda: sc.same_padding(**params)  # noqa: E731
    if bad:
        return invalid(call, bad)
    k, d = ints(params)
    i = data.draw(st.integers(1, 12), label="probe length")

    def check(lr: Any) -> None:
        assert type(lr) is tuple and len(lr) == 2
        left, right = lr
        assert left + right == d * (k - 1) and left == (d * (k - 1)) // 2
        if k <= 9 and d <= 4:  # PyTorch's padding='same' puts the same zeros on each side
            x, w = torch.randn(1, 1, i, dtype=torch.float64), torch.randn(1, 1, k, dtype=torch.float64)
            ours = F.conv1d(F.pad(x, (left, right)), w, dilation=d)
            with warnings.catch_warnings():  # PyTorch notes a padded copy for even spans
                warnings.simplefilter("ignore", UserWarning)
                same = F.conv1d(x, w, padding="same", dilation=d)
            torch.testing.assert_close(ours, same)
    return Case(call, check=check)


def s_tf_same_padding(data) -> Case:
    params = {"input_size": good_int(data, 1, 40, "input_size", huge=True),
              "kernel_size": good_int(data, 1, 9, "kernel_size", huge=True),
              "stride": good_int(data, 1, 6, "stride", huge=True),
              "dilation": good_int(data, 1, 4, "dilation", huge=True)}
    bad = maybe_corrupt(data, params, {n: INT5[n] for n in params})
    call = lambda: sc.tf_same_padding(**params)  # noqa: E731
    if bad:
        return invalid(call, bad)
    i, k, s, d = ints(params)
    target = -(-i // s)

    def check(lr: Any) -> None:
        left, right = lr
        total = left + right
        assert left == total // 2 and total >= 0
        # TensorFlow's rule: the fewest zeros that give ceil(i/s) windows.
        assert count_windows(i + total, span(k, d), s) == target
        assert total == 0 or count_windows(i + total - 1, span(k, d), s) < target
    return Case(call, check=check)


def s_count_windows_brute_force(data) -> Case:
    params, bad = draw_conv1d(data)
    call = lambda: sc.count_windows_brute_force(**params)  # noqa: E731
    if bad:
        return invalid(call, bad)
    i, k, s, p, d = ints(params)
    if (i + 2 * p) * k > 10**8:
        return invalid(call, "input_size", "kernel_size", "padding")
    return Case(call, check=lambda got: _is(got, int, count_windows(i + 2 * p, span(k, d), s)))


def s_cs231n_output_size(data) -> Case:
    params, bad = draw_conv1d(data)
    params["dilation"] = good_int(data, 0, 4, "gaps", huge=True)
    if bad == "dilation":
        params["dilation"] = bad_int(data, 0, "dilation")
    call = lambda: sc.cs231n_output_size(**params)  # noqa: E731
    if bad:
        return invalid(call, bad)
    w, k, s, p, gaps = ints(params)

    def check(value: Any) -> None:
        assert isinstance(value, Fraction)
        f = k + (k - 1) * gaps  # CS231n's F: the filter's extent
        assert (value - 1) * s == w - f + 2 * p  # exact, never floored
        if f <= w + 2 * p:  # where a window fits, frameworks floor the same value
            assert math.floor(value) == count_windows(w + 2 * p, f, s)
    return Case(call, check=check)


RELATION_FIELDS = ("label", "case", "formula", "applies", "predict")


def s_Relation(data) -> Case:
    values = {"label": data.draw(st.text(max_size=5)), "case": data.draw(st.text(max_size=5)),
              "formula": data.draw(st.text(max_size=5)),
              "applies": lambda *a: True, "predict": lambda *a: 0}
    missing = data.draw(st.sampled_from([None, *RELATION_FIELDS]), label="missing field")
    kwargs = {n: v for n, v in values.items() if n != missing}
    call = lambda: sc.Relation(**kwargs)  # noqa: E731
    if missing:
        return invalid(call, missing)
    return Case(call, check=lambda r: _is(tuple(r), tuple, tuple(values.values())))


def s_TEXTBOOK_RELATIONS(data) -> Case:
    relation = data.draw(st.sampled_from(sc.TEXTBOOK_RELATIONS), label="relation")
    i, k, s = data.draw(st.integers(1, 40)), data.draw(st.integers(1, 9)), data.draw(st.integers(1, 6))
    p, d = data.draw(st.integers(0, 5)), data.draw(st.integers(1, 4))
    call = lambda: (relation.applies(i, k, s, p, d), relation.predict(i, k, s, p, d))  # noqa: E731

    def check(result: tuple[bool, int]) -> None:
        applies, predicted = result
        if applies and span(k, d) <= i + 2 * p:  # the textbook's special case is the real count
            assert predicted == count_windows(i + 2 * p, span(k, d), s), (relation.label, i, k, s, p, d)
    return Case(call, check=check)


# ====================================================================== chapter 2: arrays
GEOM = {"filter_h": ("int", 1), "filter_w": ("int", 1), "stride": ("pair", 1),
        "pad": ("pair", 0), "dilation": ("pair", 1)}


def pair(data, lo: int, hi: int, label: str, huge: bool | str = False) -> Any:
    if data.draw(st.booleans(), label=f"{label} as pair?"):
        return (good_int(data, lo, hi, f"{label}[0]", huge), good_int(data, lo, hi, f"{label}[1]", huge))
    return good_int(data, lo, hi, label, huge)


def as_pair(v: Any) -> tuple[int, int]:
    return (int(v[0]), int(v[1])) if isinstance(v, (tuple, list)) else (int(v), int(v))


@dataclass
class Geo:
    shape: tuple[int, int, int, int]
    params: dict[str, Any]  # filter_h, filter_w, stride, pad, dilation
    bad: str | None
    fits: bool = True
    OH: int = 0
    OW: int = 0


def draw_geometry(data, n_max: int = 2, c_max: int = 3, huge: bool = True, p_bad: int = 4,
                  kernel_is_a_parameter: bool = True) -> Geo:
    """A 2-D geometry: valid (most often), kernel larger than the padded input, or one bad
    parameter; sometimes a huge stride, pad or dilation."""
    params = {"filter_h": good_int(data, 1, 4, "filter_h"), "filter_w": good_int(data, 1, 4, "filter_w"),
              # A huge pad only beyond what any array can hold: between, im2col would really try.
        "stride": pair(data, 1, 3, "stride", huge), "pad": pair(data, 0, 2, "pad", huge and "beyond"),
              "dilation": pair(data, 1, 2, "dilation", huge)}
    fh, fw = int(params["filter_h"]), int(params["filter_w"])
    (ph, pw), (dh, dw) = as_pair(params["pad"]), as_pair(params["dilation"])
    fit = not rarely(data, 8, "fit?")
    lo_h, lo_w = max(1, span(fh, dh) - 2 * ph), max(1, span(fw, dw) - 2 * pw)
    if fit and lo_h <= 9 and lo_w <= 9:
        h, w = data.draw(st.integers(lo_h, 9), label="H"), data.draw(st.integers(lo_w, 9), label="W")
    else:
        h, w = data.draw(st.integers(1, 9), label="H"), data.draw(st.integers(1, 9), label="W")
    shape = (data.draw(st.integers(0, n_max), label="N"), data.draw(st.integers(1, c_max), label="C"), h, w)
    kinds = GEOM if kernel_is_a_parameter else {k: GEOM[k] for k in ("stride", "pad", "dilation")}
    bad = maybe_corrupt(data, params, kinds, p_bad)
    geo = Geo(shape, params, bad)
    if bad is None:
        (sh, sw) = as_pair(params["stride"])
        geo.fits = span(fh, dh) <= h + 2 * ph and span(fw, dw) <= w + 2 * pw
        if geo.fits:
            geo.OH = count_windows(h + 2 * ph, span(fh, dh), sh)
            geo.OW = count_windows(w + 2 * pw, span(fw, dw), sw)
    return geo


def too_big(*dims: int, itemsize: int = 8) -> bool:
    total = itemsize
    for dim in dims:
        total *= dim
    return total > 2**63 - 1 or max(dims, default=0) > 2**63 - 1


def no_fit_names(geo: Geo) -> tuple[str, ...]:
    return ("filter_h", "filter_w")


def brute_im2col(x: np.ndarray, geo: Geo) -> np.ndarray:
    """The definition, one entry at a time."""
    n, c, h, w = x.shape
    fh, fw = int(geo.params["filter_h"]), int(geo.params["filter_w"])
    (sh, sw), (ph, pw), (dh, dw) = (as_pair(geo.params[k]) for k in ("stride", "pad", "dilation"))
    col = np.zeros((n * geo.OH * geo.OW, c * fh * fw), dtype=x.dtype)
    for b in range(n):
        for i in range(geo.OH):
            for j in range(geo.OW):
                for ch in range(c):
                    for u in range(fh):
                        for v in range(fw):
                            row, column = i * sh + u * dh - ph, j * sw + v * dw - pw
                            if 0 <= row < h and 0 <= column < w:
                                col[(b * geo.OH + i) * geo.OW + j, (ch * fh + u) * fw + v] = x[b, ch, row, column]
    return col


def brute_col2im_lists(col: list, geo: Geo) -> tuple[dict, dict]:
    """Exact sums (Python ints, or floats) per pixel, and the sum of |terms| per pixel."""
    n, c, h, w = geo.shape
    fh, fw = int(geo.params["filter_h"]), int(geo.params["filter_w"])
    (sh, sw), (ph, pw), (dh, dw) = (as_pair(geo.params[k]) for k in ("stride", "pad", "dilation"))
    sums: dict = {}
    mags: dict = {}
    for b in range(n):
        for ch in range(c):
            for row in range(h):
                for column in range(w):
                    sums[b, ch, row, column] = 0
                    mags[b, ch, row, column] = 0
    for b in range(n):
        for i in range(geo.OH):
            for j in range(geo.OW):
                for ch in range(c):
                    for u in range(fh):
                        for v in range(fw):
                            row, column = i * sh + u * dh - ph, j * sw + v * dw - pw
                            if 0 <= row < h and 0 <= column < w:
                                value = col[(b * geo.OH + i) * geo.OW + j][(ch * fh + u) * fw + v]
                                sums[b, ch, row, column] += value
                                mags[b, ch, row, column] += abs(value)
    return sums, mags


ARRAY_DTYPES = [np.bool_, np.int8, np.uint8, np.int16, np.int32, np.int64, np.uint64,
                np.float16, np.float32, np.float64, np.complex64, np.complex128]


def layout(data, a: np.ndarray, label: str = "layout", big_endian: bool = True) -> np.ndarray:
    """``a`` as C-ordered, Fortran-ordered, a strided view, read-only or big-endian."""
    kinds = ["C", "F", "strided", "readonly"] + (["big-endian"] if big_endian else [])
    kind = data.draw(st.sampled_from(kinds), label=label)
    if kind == "F":
        return np.asfortranarray(a)
    if kind == "strided":
        wide = np.zeros(a.shape[:-1] + (2 * a.shape[-1],), dtype=a.dtype) if a.ndim else a.copy()
        if a.ndim:
            wide[..., ::2] = a
            return wide[..., ::2]
        return wide
    if kind == "readonly":
        b = a.copy()
        b.flags.writeable = False
        return b
    if kind == "big-endian" and a.dtype.itemsize > 1 and a.dtype.kind != "b":
        return a.astype(a.dtype.newbyteorder(">"))
    return a


def values(data, shape: tuple[int, ...], dtype: Any, label: str = "values") -> np.ndarray:
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label=f"{label} seed"))
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return rng.integers(0, 2, size=shape).astype(dtype)
    if dtype.kind == "u":
        return rng.integers(0, 6, size=shape).astype(dtype)
    if dtype.kind == "c":
        return (rng.integers(-5, 6, size=shape) + 1j * rng.integers(-5, 6, size=shape)).astype(dtype)
    return rng.integers(-5, 6, size=shape).astype(dtype)


NOT_ARRAYS = [None, 3, "array", [[[[1.0]]]]]


def bad_array(data, ndim: int, label: str) -> Any:
    """Something the array parameter must refuse: not an ndarray, wrong ndim or dtype."""
    kind = data.draw(st.sampled_from(["type", "tensor", "ndim", "object", "str", "datetime"]), label=label)
    if kind == "type":
        return data.draw(st.sampled_from(NOT_ARRAYS), label=label)
    if kind == "tensor":
        return torch.zeros((1,) * ndim)
    if kind == "ndim":
        return np.zeros((1,) * data.draw(st.sampled_from([0, ndim - 1, ndim + 1]), label=label))
    if kind == "object":
        return np.zeros((1,) * ndim, dtype=object)
    if kind == "str":
        return np.zeros((1,) * ndim, dtype="U1")
    return np.zeros((1,) * ndim, dtype="datetime64[s]")


def _im2col_case(data, fn: Callable, with_out: bool) -> Case:
    geo = draw_geometry(data)
    dtype = data.draw(st.sampled_from(ARRAY_DTYPES), label="dtype")
    shape = geo.shape
    if rarely(data, 10, "empty H?"):
        shape, geo.bad = (shape[0], shape[1], 0, shape[3]), "input_data"
    x = layout(data, values(data, shape, dtype))
    kwargs = dict(geo.params)
    bad_x = rarely(data, 8, "bad x?")
    if bad_x:
        x = bad_array(data, 4, "input_data")
    out_kind = data.draw(st.sampled_from(["none", "none", "good", "bad"]), label="out") if with_out else "none"
    call = lambda: fn(x, **kwargs)  # noqa: E731
    if bad_x:
        return invalid(call, "input_data")
    if geo.bad:
        return invalid(call, geo.bad)
    if not geo.fits:
        return invalid(call, *no_fit_names(geo))
    fh, fw = int(geo.params["filter_h"]), int(geo.params["filter_w"])
    (ph, pw) = as_pair(geo.params["pad"])
    n, c, h, w = shape
    rows, columns = n * geo.OH * geo.OW, c * fh * fw
    if too_big(rows, columns, itemsize=x.itemsize) or too_big(n, c, h + 2 * ph, w + 2 * pw,
                                                              itemsize=x.itemsize):
        return invalid(call, "pad", "stride")
    if out_kind != "none":
        good = np.empty((rows, columns), dtype=x.dtype, order="F")
        out = good if out_kind == "good" else data.draw(st.sampled_from([
            np.empty((rows, columns), dtype=x.dtype, order="C") if rows > 1 and columns > 1 else [],
            np.empty((rows + 1, columns), dtype=x.dtype, order="F"),
            np.empty((rows, columns), dtype=np.float32 if x.dtype != np.float32 else np.float64,
                     order="F"), [], "out"]), label="bad out")
        kwargs["out"] = out
        if out_kind == "bad":
            return invalid(call, "out")
    expected = brute_im2col(np.asarray(x), geo)

    def check(col: Any) -> None:
        assert isinstance(col, np.ndarray) and col.dtype == x.dtype and col.shape == expected.shape
        assert np.array_equal(col, expected)
        if out_kind == "good":
            assert col is kwargs["out"]
    return Case(call, check=check)


def s_im2col(data) -> Case:
    return _im2col_case(data, sc.im2col, with_out=True)


def s_im2col_seed_style(data) -> Case:
    return _im2col_case(data, sc.im2col_seed_style, with_out=False)


def draw_input_shape(data, geo: Geo, name: str = "input_shape") -> tuple[Any, str | None]:
    """``geo.shape`` as a tuple, list, or 1-D array; or a bad ``input_shape``."""
    kind = "bad" if rarely(data, 6, f"bad {name}?") else data.draw(
        st.sampled_from(["tuple", "list", "array"]), label=name)
    if kind == "tuple":
        return geo.shape, None
    if kind == "list":
        return list(geo.shape), None
    if kind == "array":
        return np.array(geo.shape), None
    how = data.draw(st.sampled_from(["int", "str", "short", "long", "float", "negative N", "zero C"]),
                    label=f"bad {name}")
    shape = {"int": 5, "str": "NCHW", "short": geo.shape[:3], "long": geo.shape + (1,),
             "float": geo.shape[:3] + (float(geo.shape[3]),), "negative N": (-1,) + geo.shape[1:],
             "zero C": (geo.shape[0], 0) + geo.shape[2:]}[how]
    return shape, name


FLOAT_MAX = {np.dtype(np.float16): 65504.0, np.dtype(np.float32): float(np.finfo(np.float32).max),
             np.dtype(np.float64): float(np.finfo(np.float64).max)}


def _col2im_case(data, fn: Callable) -> Case:
    geo = draw_geometry(data, huge=rarely(data, 6, "huge geometry?"))
    input_shape, bad_shape = draw_input_shape(data, geo)
    dtype = np.dtype(data.draw(st.sampled_from(ARRAY_DTYPES), label="dtype"))
    kwargs = dict(geo.params)
    fh, fw = (int(geo.params["filter_h"]), int(geo.params["filter_w"])) if geo.bad is None else (1, 1)
    rows = geo.shape[0] * geo.OH * geo.OW if geo.fits and geo.bad is None else 1
    columns = geo.shape[1] * fh * fw if geo.bad is None else 1
    if rows * columns > 10**6:  # a huge pad: no such col can be drawn; a small one is refused
        col = np.zeros((1, 1), dtype=dtype)
        call = lambda: fn(col, input_shape, **kwargs)  # noqa: E731
        return invalid(call, *(["col"] if geo.bad is None else [geo.bad]), "input_shape", "pad")
    scale = data.draw(st.sampled_from(["small", "small", "large", "inf"]), label="magnitude")
    col = values(data, (rows, columns), dtype, "col")
    if scale == "large" and dtype.kind in "iuf":  # near the dtype's limit: sums may not fit
        top = (np.iinfo(dtype).max if dtype.kind in "iu" else FLOAT_MAX[dtype]) // 6
        col = (col.astype(object if dtype.kind in "iu" else np.float64) * top).astype(dtype)
    if scale == "inf" and dtype.kind == "f" and col.size:
        col = col.copy()
        col.flat[data.draw(st.integers(0, col.size - 1), label="inf at")] = np.inf
    col = layout(data, col, "col layout")
    bad_col = data.draw(st.sampled_from(["no", "no", "no", "no", "no", "array", "shape"]), label="bad col?")
    if bad_col == "array":
        col = bad_array(data, 2, "col")
    elif bad_col == "shape":
        col = np.zeros((rows + 1, columns), dtype=dtype)
    call = lambda: fn(col, input_shape, **kwargs)  # noqa: E731
    if bad_shape:
        return invalid(call, bad_shape)
    if geo.bad:
        return invalid(call, geo.bad)
    if not geo.fits:
        return invalid(call, *no_fit_names(geo))
    if bad_col != "no":
        return invalid(call, "col")
    ph, pw = as_pair(geo.params["pad"])
    if fn is sc.col2im_seed_style and too_big(geo.shape[0], geo.shape[1], geo.shape[2] + 2 * ph,
                                               geo.shape[3] + 2 * pw, itemsize=col.itemsize):
        return invalid(call, "pad")  # the seed's padded buffer cannot exist
    if dtype.kind == "b":
        return invalid(call, "col")
    sums, mags = brute_col2im_lists(col.tolist(), geo)
    keys = sorted(sums)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        if any(not info.min <= sums[k] <= info.max for k in keys):
            return invalid(call, "col")
        expected = np.array([sums[k] for k in keys], dtype=object).reshape(geo.shape)

        def check_int(img: Any) -> None:
            assert isinstance(img, np.ndarray) and img.dtype == col.dtype and img.shape == geo.shape
            assert img.tolist() == expected.tolist()
        return Case(call, check=check_int)
    limit = FLOAT_MAX.get(dtype, FLOAT_MAX[np.dtype(np.float32 if dtype == np.complex64 else np.float64)])
    finite_col = all(math.isfinite(abs(v)) for row in col.tolist() for v in row)
    worst = max((abs(sums[k]) for k in keys), default=0.0)
    loose = max((mags[k] for k in keys), default=0.0)
    if finite_col and worst > limit * 1.01:
        return invalid(call, "col")
    either = frozenset(["col"]) if finite_col and loose > 0.5 * limit else frozenset()
    tol = {"e": 2e-3, "f": 3e-6, "d": 1e-13, "F": 3e-6, "D": 1e-13}[dtype.char]

    def check_float(img: Any) -> None:
        assert isinstance(img, np.ndarray) and img.dtype == col.dtype and img.shape == geo.shape
        for k in keys:
            got, want, mag = complex(img[k]), complex(sums[k]), mags[k]
            if math.isfinite(abs(want)):
                assert abs(got - want) <= tol * mag + 1e-300, (k, got, want)
            else:  # an inf in col: propagated, as in any sum (nan where +inf meets -inf)
                assert not math.isfinite(abs(got)), (k, got)
    return Case(call, check=check_float, either=either)


def s_col2im(data) -> Case:
    return _col2im_case(data, sc.col2im)


def s_col2im_seed_style(data) -> Case:
    return _col2im_case(data, sc.col2im_seed_style)


def s_im2col_size(data) -> Case:
    geo = draw_geometry(data, n_max=3)
    input_shape, bad_shape = draw_input_shape(data, geo)
    call = lambda: sc.im2col_size(input_shape, **geo.params)  # noqa: E731
    if bad_shape:
        return invalid(call, bad_shape)
    if geo.bad:
        return invalid(call, geo.bad)
    if not geo.fits:
        return invalid(call, *no_fit_names(geo))
    n, c, _, _ = geo.shape
    fh, fw = int(geo.params["filter_h"]), int(geo.params["filter_w"])
    return Case(call, check=lambda got: _is(got, int, n * geo.OH * geo.OW * c * fh * fw))


def s_conv_geometry(data) -> Case:
    geo = draw_geometry(data, n_max=3)
    input_shape, bad_shape = draw_input_shape(data, geo)
    call = lambda: sc.conv_geometry(input_shape, **geo.params)  # noqa: E731
    if bad_shape:
        return invalid(call, bad_shape)
    if geo.bad:
        return invalid(call, geo.bad)
    if not geo.fits:
        return invalid(call, *no_fit_names(geo))
    p = geo.params
    expected = (*geo.shape, int(p["filter_h"]), int(p["filter_w"]), geo.OH, geo.OW,
                as_pair(p["stride"]), as_pair(p["pad"]), as_pair(p["dilation"]))

    def check(g: Any) -> None:
        assert tuple(g) == expected
        assert all(type(v) is int for v in tuple(g)[:8])
    return Case(call, check=check)


def s_window_coverage(data) -> Case:
    geo = draw_geometry(data)
    _, _, h, w = geo.shape
    sizes: dict[str, Any] = {"height": h, "width": w}
    bad = geo.bad
    if bad is None and rarely(data, 6, "bad size?"):
        bad = data.draw(st.sampled_from(["height", "width"]), label="which")
        sizes[bad] = bad_int(data, 1, bad)
    call = lambda: sc.window_coverage(sizes["height"], sizes["width"], **geo.params)  # noqa: E731
    if bad:
        return invalid(call, bad)
    if not geo.fits:
        return invalid(call, *no_fit_names(geo))
    fh, fw = int(geo.params["filter_h"]), int(geo.params["filter_w"])
    if geo.OH * geo.OW * fh * fw <= 10**5:  # the definition: every window, every tap
        ones_geo = Geo((1, 1, h, w), geo.params, None, True, geo.OH, geo.OW)
        sums, _ = brute_col2im_lists([[1] * (fh * fw)] * (geo.OH * geo.OW), ones_geo)
        expected = [[sums[0, 0, r, c] for c in range(w)] for r in range(h)]
    else:  # billions of windows (huge stride and pad): per axis, every tap of the kernel
        (sh, sw), (ph, pw), (dh, dw) = (as_pair(geo.params[k]) for k in ("stride", "pad", "dilation"))

        def axis(size, k, out, s_, p_, d_):
            return [sum(1 for u in range(k) if r + p_ - u * d_ >= 0 and (r + p_ - u * d_) % s_ == 0
                        and (r + p_ - u * d_) // s_ < out) for r in range(size)]
        rows, cols = axis(h, fh, geo.OH, sh, ph, dh), axis(w, fw, geo.OW, sw, pw, dw)
        expected = [[a * b for b in cols] for a in rows]

    def check(cover: Any) -> None:
        assert isinstance(cover, np.ndarray) and cover.dtype == np.int64 and cover.tolist() == expected
    return Case(call, check=check)


# ====================================================================== chapter 2: layers
def torch_conv(x, W, b, dout, stride, pad, dilation) -> list[np.ndarray]:
    """out, dx, dW, db from PyTorch in float64."""
    xt, Wt, bt = (torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=True) for a in (x, W, b))
    out = F.conv2d(xt, Wt, bt, stride=stride, padding=pad, dilation=dilation)
    if dout is not None:
        out.backward(torch.tensor(np.asarray(dout, dtype=np.float64)))
        return [t.detach().numpy() for t in (out, xt.grad, Wt.grad, bt.grad)]
    return [out.detach().numpy()]


def torch_magnitudes(x, W, b, dout, stride, pad, dilation) -> list[np.ndarray]:
    """The same sums with every term's absolute value: bounds on every partial sum."""
    return torch_conv(np.abs(x), np.abs(W), np.abs(b), None if dout is None else np.abs(dout),
                      stride, pad, dilation)


LAYER_DTYPES = [np.float16, np.float32, np.float64]
LAYER_TOL = {np.dtype(np.float16): 4e-3, np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-12}


def _layer_case(data, make: Callable, backward: bool) -> Case:
    """A layer (or conv2d_naive) on a drawn geometry: build, forward, backward."""
    geo = draw_geometry(data, huge=False, p_bad=6, kernel_is_a_parameter=False)  # W's shape
    n, c, h, w = geo.shape
    dtype = np.dtype(data.draw(st.sampled_from(LAYER_DTYPES), label="dtype"))
    fn = data.draw(st.integers(1, 3), label="FN")
    fh, fw = (int(geo.params["filter_h"]), int(geo.params["filter_w"])) if geo.bad is None else (1, 1)
    big = dtype == np.float16 and rarely(data, 4, "large?")
    scale = 60 if big else 1  # float16: 60 * 60 * terms overflows 65504 for most kernels
    # Byte order is part of the dtype (nothing is converted): all arrays share one.
    order = data.draw(st.sampled_from(["=", "=", "=", ">"]), label="byte order")
    dtype = dtype.newbyteorder(order)
    x = layout(data, (values(data, geo.shape, dtype, "x") * scale).astype(dtype), "x layout", False)
    W = layout(data, (values(data, (fn, c, fh, fw), dtype, "W") * scale).astype(dtype), "W layout", False)
    b = values(data, (fn,), dtype, "b")
    what = corruption(data, ["W", "b", "x dtype", "x channels", "x", "dout"], "corrupt")
    if geo.bad:
        what = "ok"  # one bad argument at a time
    if what == "W":
        W = data.draw(st.sampled_from([W.astype(np.int64), W[0], W.tolist(), torch.zeros(1, 1, 1, 1),
                                       np.zeros((0, c, fh, fw), dtype)]), label="bad W")
    elif what == "b":
        b = data.draw(st.sampled_from([b[:0] if fn > 1 else np.zeros(2, dtype), b.astype(
            np.float64 if dtype != np.float64 else np.float32), b.tolist()]), label="bad b")
    elif what == "x dtype":
        x = x.astype(np.float64 if dtype != np.float64 else np.float32)
    elif what == "x channels":
        x = np.zeros((max(n, 1), c + 1, h, w), dtype)
    elif what == "x":
        x = bad_array(data, 4, "x")
    params = geo.params
    state: dict[str, Any] = {}

    def call():
        out = make(x, W, b, params, state)
        return out

    bad_names = {"W": ("W",), "b": ("b",), "x dtype": ("x",), "x channels": ("x",), "x": ("x",)}
    if what in bad_names:
        return invalid(call, *bad_names[what])
    if geo.bad:
        return invalid(call, geo.bad)
    if not geo.fits:
        return invalid(call, "W.shape")  # the layer's kernel is W's shape
    stride, pad, dil = (as_pair(params[k]) for k in ("stride", "pad", "dilation"))
    out_shape = (n, fn, geo.OH, geo.OW)
    dout = (values(data, out_shape, dtype, "dout") * scale).astype(dtype)
    if what == "dout":
        dout = data.draw(st.sampled_from([dout.astype(np.float64 if dtype != np.float64 else np.float32),
                                          np.zeros((n + 1,) + out_shape[1:], dtype), dout.tolist()]),
                         label="bad dout")
    state["dout"] = dout if backward else None
    if what == "dout" and backward:
        return invalid(call, "dout")
    reference = torch_conv(x, W, b, state["dout"] if what != "dout" else None, stride, pad, dil)
    bounds = torch_magnitudes(x, W, b, state["dout"] if what != "dout" else None, stride, pad, dil)
    limit = FLOAT_MAX[dtype.newbyteorder("=")]
    names = ("x", "W", "b", "dout", "output")
    if any(np.abs(r).max(initial=0) > limit * 1.01 for r in reference):
        return invalid(call, *names)
    either = frozenset(names) if any(m.max(initial=0) > limit * 0.5 for m in bounds) else frozenset()
    tol = LAYER_TOL[dtype.newbyteorder("=")]
    state.update(either=bool(either), bounds=bounds, tol=tol)

    def check(results: Any) -> None:
        results = results if isinstance(results, list) else [results]
        for got, want, bound in zip(results, reference, bounds):
            # Same float type; NumPy's products return native byte order (dW, db).
            assert isinstance(got, np.ndarray) and got.shape == want.shape
            assert got.dtype.newbyteorder("=") == dtype.newbyteorder("=")
            assert (np.abs(got.astype(np.float64) - want) <= tol * (bound + 1)).all()
    return Case(call, check=check, either=either)


def _make_layer(cls: type, **kwargs: Any) -> Callable:
    def make(x, W, b, params, state):
        layer = cls(W, b, stride=params["stride"], pad=params["pad"], dilation=params["dilation"],
                    **kwargs)
        out = layer.forward(x)
        if state.get("dout") is None:
            return out
        dx = layer.backward(state["dout"])
        return [out, dx, layer.dW, layer.db]
    return make


def s_Convolution(data) -> Case:
    return _layer_case(data, _make_layer(sc.Convolution), backward=True)


def s_PolyphaseConvolution(data) -> Case:
    """Oracles: PyTorch (as for Convolution) and the im2col layer itself: the same
    outcome on every input (the same exception and message when either refuses,
    results that agree when both return); only where a float16 sum comes within
    rounding of the largest float16 may one overflow and the other not."""
    taps: Any = data.draw(st.sampled_from([None, None, 1, 2, 5]), label="taps_per_product")
    if rarely(data, 10, "bad taps?"):
        taps = data.draw(st.sampled_from([0, -1, 2.0, True, "2", np.float64(1.0)]), label="bad taps")
        W, b = np.zeros((2, 1, 2, 2)), np.zeros(2)
        return invalid(lambda: sc.PolyphaseConvolution(W, b, taps_per_product=taps),
                       "taps_per_product")
    polyphase, im2col_layer = (_make_layer(sc.PolyphaseConvolution, taps_per_product=taps),
                               _make_layer(sc.Convolution))

    def make(x, W, b, params, state):
        outcomes = []
        for run in (polyphase, im2col_layer):
            try:
                outcomes.append(run(x, W, b, params, state))
            except (TypeError, ValueError) as err:
                outcomes.append(err)
        got, ref = outcomes
        if isinstance(got, Exception) or isinstance(ref, Exception):
            assert state.get("either") or (type(got), str(got)) == (type(ref), str(ref)), (
                f"PolyphaseConvolution: {got!r}; Convolution: {ref!r}")
            if isinstance(got, Exception):
                raise got
            return got
        for g, r, bound in zip(got, ref, state["bounds"]):
            assert g.shape == r.shape and g.dtype.newbyteorder("=") == r.dtype.newbyteorder("=")
            diff = np.abs(g.astype(np.float64) - r.astype(np.float64))
            assert (diff <= 2 * state["tol"] * (bound + 1)).all(), diff.max()
        return got
    return _layer_case(data, make, backward=True)


def s_SeedStyleConvolution(data) -> Case:
    return _layer_case(data, _make_layer(sc.SeedStyleConvolution), backward=True)


def s_conv2d_naive(data) -> Case:
    def make(x, W, b, params, state):
        return sc.conv2d_naive(x, W, b, params["stride"], params["pad"], params["dilation"])
    return _layer_case(data, make, backward=False)


def s_numerical_gradient(data) -> Case:
    shape = tuple(data.draw(st.lists(st.integers(0, 3), max_size=3), label="shape"))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    coef = rng.standard_normal(shape)
    x: Any = np.asarray(rng.standard_normal(shape))
    if shape:
        x = layout(data, x, "x layout", big_endian=False)
    eps: Any = data.draw(st.sampled_from([1e-3, 1e-4, 1e-5]), label="eps")
    f: Any = lambda a: float(np.sum(coef * a) + np.sum(a * a))  # noqa: E731
    what = corruption(data, ["f", "f returns", "x", "eps"], "corrupt")
    if what == "f":
        f = data.draw(st.sampled_from([3.0, None, "f"]), label="bad f")
    elif what == "f returns":
        f = data.draw(st.sampled_from([lambda a: np.ones(3), lambda a: "0", lambda a: 1j]), label="bad f")
    elif what == "x":
        x = data.draw(st.sampled_from([x.astype(np.float32), x.tolist(), torch.tensor(x), None,
                                       np.zeros(shape, dtype=np.int64)]), label="bad x")
    elif what == "eps":
        eps = data.draw(st.sampled_from([0.0, -1e-3, float("inf"), float("nan"), "1e-6", None,
                                         True, 1j]), label="bad eps")
    before = np.array(x, copy=True) if isinstance(x, np.ndarray) else None
    call = lambda: sc.numerical_gradient(f, x, eps)  # noqa: E731
    # The function's order of checks: f callable, x a float64 array, x writeable, eps, f's result.
    if what == "f":
        return invalid(call, "f")
    if what == "x":
        return invalid(call, "x")
    if not x.flags.writeable:
        return invalid(call, "x")
    if what == "eps":
        return invalid(call, "eps")
    if what == "f returns" and x.size:
        return invalid(call, "f")

    def check(grad: Any) -> None:
        assert isinstance(grad, np.ndarray) and grad.dtype == np.float64 and grad.shape == shape
        np.testing.assert_allclose(grad, coef + 2 * before, rtol=1e-6, atol=1e-6)
        assert np.array_equal(x, before)  # restored exactly
    return Case(call, check=check)


def s_relative_error(data) -> Case:
    shape = tuple(data.draw(st.lists(st.integers(0, 3), max_size=2), label="shape"))
    magnitude = data.draw(st.sampled_from([1e-300, 1.0, 1e300, 1.7e308]), label="magnitude")
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    a = np.asarray(rng.uniform(-1, 1, shape) * magnitude)
    with np.errstate(over="ignore"):
        b = a + rng.uniform(-1, 1, shape) * magnitude * data.draw(st.sampled_from([0.0, 1e-9, 1.0]))
    b = np.asarray(np.clip(b, -1.7e308, 1.7e308))
    wrap = data.draw(st.sampled_from(["array", "list", "tensor", "int"]), label="container")
    args: list[Any] = [a, b]
    if wrap == "list":
        args = [a.tolist(), b.tolist()]
    elif wrap == "tensor":
        args = [torch.from_numpy(a), torch.from_numpy(b)]
    elif wrap == "int":
        args = [np.round(a / magnitude * 7).astype(np.int64), np.round(b / magnitude * 7).astype(np.int64)]
    what = corruption(data, ["shape", "complex", "text", "nan", "grad"], "corrupt")
    which = data.draw(st.integers(0, 1), label="which")
    some = shape if 0 not in shape else (1,)  # a non-empty shape: the bad value is really there
    bad_value = {"shape": lambda: np.zeros(shape + (2,)), "complex": lambda: np.ones(some, dtype=complex),
                 "text": lambda: np.full(some, "x"), "nan": lambda: np.full(some, np.nan),
                 "grad": lambda: torch.zeros(some, requires_grad=True)}
    if what != "ok":
        args[which] = bad_value[what]()
    call = lambda: sc.relative_error(*args)  # noqa: E731
    if what == "shape":
        return invalid(call, "a and b")
    if what != "ok":
        return invalid(call, "ab"[which])  # the content is checked before the shapes
    ea = [Fraction(float(v)) for v in np.ravel(np.asarray(args[0], dtype=np.float64))]
    eb = [Fraction(float(v)) for v in np.ravel(np.asarray(args[1], dtype=np.float64))]
    scale = max([abs(v) for v in ea + eb], default=Fraction(0))
    exact = 0.0 if scale == 0 else float(max(abs(p - q) for p, q in zip(ea, eb)) / scale)

    def check(r: Any) -> None:
        assert type(r) is float and abs(r - exact) <= 1e-12 * max(exact, 1e-300), (r, exact)
    return Case(call, check=check)


@functools.lru_cache(maxsize=None)
def brute_feasible(mid: int, m: int) -> tuple[int, int] | None:
    """Some (k2, p) with exactly m windows of k2 (stride k2, p zeros per side) that each read
    real input and together read all of it, trying every pair; None if there is none."""
    for k2 in range(1, mid + 1):
        for p in range(0, k2):
            starts = brute_starts(mid + 2 * p, k2, k2)
            if len(starts) != m:
                continue
            reads = [set(range(max(s0, p), min(s0 + k2, p + mid))) for s0 in starts]
            if all(reads) and set().union(*reads) == set(range(p, p + mid)):
                return k2, p
    return None


@dataclass
class Config:
    seq_len: Any
    m_segments: Any
    k1: Any
    tail: Any
    bad: str | None = None
    refused: tuple[str, ...] = ()  # names a valid-typed but refused configuration gives
    mid: int = 0
    tail_padding: int = 0


def draw_config(data, max_len: int = 30, huge: bool | str = False, p_bad: int = 8,
                corrupt: bool = True) -> Config:
    seq_len = good_int(data, 1, max_len, "seq_len", huge)
    n = int(seq_len)
    k1 = good_int(data, 1, min(n, 12) + rarely(data, 8, "k1 > seq_len?"), "k1")
    tail = data.draw(st.sampled_from(sc.TAIL_POLICIES), label="tail")
    # Usually an m_segments that some second convolution can produce (found by brute
    # force over every kernel and padding), sometimes any: refusals stay common enough.
    mid = None
    if int(k1) <= n <= 40 and not (n % int(k1) and tail == "error"):
        mid = len(brute_starts(n + ((-n) % int(k1) if tail == "pad" else 0), int(k1), int(k1)))
    if mid is not None and not rarely(data, 6, "any m_segments?"):
        feasible = [m for m in range(1, mid + 1) if brute_feasible(mid, m) is not None]
        m_segments: Any = data.draw(st.sampled_from(feasible), label="m_segments")
    else:
        m_segments = good_int(data, 1, 8, "m_segments")
    cfg = Config(seq_len, m_segments, k1, tail)
    params = {"seq_len": cfg.seq_len, "m_segments": cfg.m_segments, "k1": cfg.k1}
    cfg.bad = maybe_corrupt(data, params, {n: ("int", 1) for n in params}, p_bad) if corrupt else None
    if corrupt and cfg.bad is None and rarely(data, p_bad, "bad tail?"):
        cfg.tail, cfg.bad = data.draw(st.sampled_from(["Pad", "", None, 3, ["pad"]]), label="tail"), "tail"
    cfg.seq_len, cfg.m_segments, cfg.k1 = params["seq_len"], params["m_segments"], params["k1"]
    if cfg.bad:
        return cfg
    n, m, k1 = int(cfg.seq_len), int(cfg.m_segments), int(cfg.k1)
    if k1 > n:
        cfg.refused = ("k1",)
        return cfg
    if n % k1 and cfg.tail == "error":
        cfg.refused = ("k1",)
        return cfg
    cfg.tail_padding = (-n) % k1 if cfg.tail == "pad" else 0
    cfg.mid = len(brute_starts(n + cfg.tail_padding, k1, k1)) if n <= 4000 else (n + cfg.tail_padding) // k1
    if cfg.mid <= 60:
        feasible = brute_feasible(cfg.mid, m) is not None
    else:  # too long to try every pair: the published rule, checked by brute force up to 60
        k2 = -(-cfg.mid // m)
        feasible = m <= cfg.mid and -(-(m * k2 - cfg.mid) // 2) < k2
    if not feasible:
        cfg.refused = ("m_segments",)
    return cfg


def brute_spans(n: int, mid: int, k1: int, k2: int, p: int, m: int) -> list[tuple[int, int]]:
    """The items each segment reads, found by following every tap."""
    spans = []
    for j in range(m):
        items = set()
        for tap in range(k2):
            q = j * k2 + tap - p  # first-conv position read by this tap
            if 0 <= q < mid:
                items |= set(range(q * k1, min(q * k1 + k1, n)))
        assert items and items == set(range(min(items), max(items) + 1))
        spans.append((min(items), max(items) + 1))
    return spans


def s_downconv_sizes(data) -> Case:
    cfg = draw_config(data, max_len=200, huge=True)
    call = lambda: sc.downconv_sizes(cfg.seq_len, cfg.m_segments, cfg.k1, cfg.tail)  # noqa: E731
    if cfg.bad:
        return invalid(call, cfg.bad)
    if cfg.refused:
        return invalid(call, *cfg.refused)
    n, m, k1 = int(cfg.seq_len), int(cfg.m_segments), int(cfg.k1)

    def check(s: Any) -> None:
        assert isinstance(s, sc.DownConvSizes)
        assert (s.seq_len, s.m_segments, s.k1, s.tail) == (n, m, k1, cfg.tail)
        assert (s.mid_length, s.tail_padding, s.tail_items) == (cfg.mid, cfg.tail_padding, n % k1)
        assert 0 <= s.padding < s.k2
        assert count_windows(s.mid_length + 2 * s.padding, s.k2, s.k2) == m
        if s.mid_length <= 60 and m <= 60:
            assert s.segment_spans() == brute_spans(n, s.mid_length, k1, s.k2, s.padding, m)
    return Case(call, check=check)


SIZE_FIELDS = ("seq_len", "m_segments", "k1", "tail", "tail_items", "tail_padding", "mid_length",
               "k2", "padding")


def s_DownConvSizes(data) -> Case:
    cfg = draw_config(data, max_len=60, corrupt=False)  # a valid-typed configuration
    if cfg.refused:
        cfg = Config(60, 3, 5, "pad", mid=12)
    truth = sc.downconv_sizes(cfg.seq_len, cfg.m_segments, cfg.k1, cfg.tail)
    fields = {f: getattr(truth, f) for f in SIZE_FIELDS}
    what = None if not rarely(data, 2, "corrupt a field?") else data.draw(
        st.sampled_from(SIZE_FIELDS), label="corrupt field")
    if what == "tail":
        fields["tail"] = data.draw(st.sampled_from(["Pad", None]), label="bad tail")
    elif what:
        fields[what] = data.draw(st.sampled_from([fields[what] + 1, fields[what] - 1, float(fields[what]),
                                                  "1", None]), label=f"bad {what}")
    call = lambda: sc.DownConvSizes(**fields)  # noqa: E731
    n, m, k1 = (fields[f] for f in ("seq_len", "m_segments", "k1"))
    if what in ("seq_len", "m_segments", "k1") and type(fields[what]) is int:
        # Another configuration: refused, or derived sizes that differ (checked by
        # downconv_sizes, itself fuzzed against brute force above), or by chance the same.
        try:
            other = sc.downconv_sizes(n, m, k1, fields["tail"])
        except ValueError:
            return invalid(call, *SIZE_FIELDS)
        if tuple(getattr(other, f) for f in SIZE_FIELDS) != tuple(fields.values()):
            return invalid(call, *SIZE_FIELDS)
        return Case(call, check=lambda got: _is(got, sc.DownConvSizes, other))
    if what:
        return invalid(call, what)

    def check(got: Any) -> None:
        assert got == truth
        assert got.segment_spans() == brute_spans(n, truth.mid_length, k1, truth.k2, truth.padding, m)
    return Case(call, check=check)


def s_TAIL_POLICIES(data) -> Case:
    tail = data.draw(st.sampled_from([*sc.TAIL_POLICIES, "Pad", "", "none", None, 3, ("pad",)]), label="tail")
    call = lambda: sc.downconv_sizes(21, 2, 3, tail)  # noqa: E731  (3 divides 21: every policy works)
    if not (isinstance(tail, str) and tail in ("pad", "error", "drop")):
        return invalid(call, "tail")
    return Case(call, check=lambda s: _is(s.tail, str, tail))


def s_second_conv_sizes(data) -> Case:
    params = {"mid_length": good_int(data, 1, 40, "mid_length", huge=True),
              "m_segments": good_int(data, 1, 45, "m_segments")}
    bad = maybe_corrupt(data, params, {"mid_length": ("int", 1), "m_segments": ("int", 1)})
    call = lambda: sc.second_conv_sizes(**params)  # noqa: E731
    if bad:
        return invalid(call, bad)
    mid, m = ints(params)

    def check(result: Any) -> None:
        if mid <= 40:
            assert (result is None) == (brute_feasible(mid, m) is None)
        if result is not None:
            k2, p = result
            assert 0 <= p < k2 and count_windows(mid + 2 * p, k2, k2) == m
            assert (m - 1) * k2 < p + mid  # the last window reads real input
    return Case(call, check=check)


def s_feasible_segments(data) -> Case:
    mid: Any = good_int(data, 1, 30, "mid_length", huge=True)
    bad = None
    if rarely(data, 4, "corrupt?"):
        mid, bad = bad_int(data, 1, "mid_length"), "mid_length"
    call = lambda: sc.feasible_segments(mid)  # noqa: E731
    if bad:
        return invalid(call, bad)
    if int(mid) > 10**7:
        return invalid(call, "mid_length")
    expected = [m for m in range(1, int(mid) + 1) if brute_feasible(int(mid), m) is not None]
    return Case(call, check=lambda got: _is(got, list, expected))


def s_package_outcome(data) -> Case:
    cfg = draw_config(data, max_len=60)
    call = lambda: sc.package_outcome(cfg.seq_len, cfg.m_segments, cfg.k1, cfg.tail)  # noqa: E731
    value = getattr(cfg, cfg.bad) if cfg.bad else None
    if cfg.bad and cfg.bad != "tail" and (isinstance(value, bool) or not isinstance(value, (int, np.integer))):
        return invalid(call, cfg.bad)  # not an int: TypeError, not an outcome
    if cfg.bad or cfg.refused:
        return Case(call, check=lambda got: _is(got, str, "refused"))
    expected = "padded tail" if cfg.tail_padding else "ok"
    return Case(call, check=lambda got: _is(got, str, expected))


# ---------------------------------------------------------------- modules and attachments
def _prune(conv):
    prune.l1_unstructured(conv, "weight", amount=0.5)


ATTACH: dict[str, Callable[[nn.Conv1d], Any]] = {
    "nothing": lambda conv: None,
    "prune": _prune,
    "weight_norm": torch.nn.utils.weight_norm,
    "parametrizations.weight_norm": torch.nn.utils.parametrizations.weight_norm,
    "spectral_norm": torch.nn.utils.spectral_norm,
    "parametrizations.spectral_norm": torch.nn.utils.parametrizations.spectral_norm,
    "forward_pre_hook": lambda conv: conv.register_forward_pre_hook(lambda m, a: (a[0] * 0.5,)),
    "forward_hook": lambda conv: conv.register_forward_hook(lambda m, a, out: out - 0.25),
}


def twins(build: Callable[[], nn.Module], layer: str, kind: str, dtype: torch.dtype) -> tuple[nn.Module, nn.Module]:
    """Two identical modules (same seed, same thing attached, same state): one runs the
    package's forward, the other is the oracle, so stateful attachments stay in step."""
    made = []
    for _ in range(2):
        torch.manual_seed(0)
        module = build().to(dtype)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            ATTACH[kind](module.get_submodule(layer) if layer else module)
        made.append(module)
    return made[0], made[1]


def layers_called(module: sc.DownConv, x: torch.Tensor) -> torch.Tensor:
    """DownConv's definition: the two Conv1d modules called the usual way."""
    h = module.relu1a(module.conv1a(F.pad(x.transpose(1, 2), (0, module.tail_padding))))
    return module.conv2a(h).transpose(1, 2)


def _train_and_compare(ours: nn.Module, oracle: nn.Module, run_ours, run_oracle, x: torch.Tensor) -> None:
    """Forward, backward, one SGD step, forward again: outputs and gradients agree."""
    tol = dict(rtol=1e-9, atol=1e-9) if x.dtype == torch.float64 else dict(rtol=2e-4, atol=2e-5)
    xs = [x.clone().requires_grad_(True), x.clone().requires_grad_(True)]
    ys = [run_ours(ours, xs[0]), run_oracle(oracle, xs[1])]
    torch.testing.assert_close(ys[0], ys[1], **tol)
    for y, module in zip(ys, (ours, oracle)):
        y.square().sum().backward()  # a sum: an empty batch gives zero gradients, not nan
        with torch.no_grad():
            for p in module.parameters():
                if p.grad is not None:
                    p -= 0.01 * p.grad
    torch.testing.assert_close(xs[0].grad, xs[1].grad, **tol)
    with torch.no_grad():
        torch.testing.assert_close(run_ours(ours, x), run_oracle(oracle, x), **tol)


def draw_tensor_input(data, shape: tuple[int, ...], dtype: torch.dtype, name: str,
                      length_matters: bool = True) -> tuple[Any, str | None]:
    """A tensor of ``shape``, sometimes non-contiguous; or a bad one (named ``name``)."""
    what = "ok" if not rarely(data, 3, f"bad {name}?") else data.draw(
        st.sampled_from(["dtype", "length", "ndarray", "2-D"]), label=name)
    torch.manual_seed(data.draw(st.integers(0, 2**16), label=f"{name} seed"))
    x = torch.randn(shape, dtype=dtype)
    if data.draw(st.booleans(), label="non-contiguous?") and len(shape) == 3:
        x = torch.randn(shape[0], shape[2], shape[1], dtype=dtype).transpose(1, 2)
    if what == "dtype":
        return x.to(torch.float32 if dtype == torch.float64 else torch.float64), name
    if what == "length":
        return torch.randn(shape[0], shape[1] + 1, *shape[2:], dtype=dtype), name if length_matters else None
    if what == "ndarray":
        return x.numpy(), name
    if what == "2-D":
        return x.flatten(0, 1), name
    return x, None


def s_DownConv(data) -> Case:
    cfg = draw_config(data, max_len=30, huge="beyond")
    hidden = good_int(data, 1, 8, "hidden_size")
    reduction = good_int(data, 1, min(4, int(hidden)) + rarely(data, 6, "no channel?"),
                         "channel_reduction")
    kwargs = dict(seq_len=cfg.seq_len, hidden_size=hidden, m_segments=cfg.m_segments, k1=cfg.k1,
                  channel_reduction=reduction, tail=cfg.tail)
    bad = None if cfg.bad else maybe_corrupt(data, kwargs, {"hidden_size": ("int", 1),
                                                             "channel_reduction": ("int", 1)}, 8)
    build = lambda: sc.DownConv(**kwargs)  # noqa: E731
    # The constructor's order: hidden_size, channel_reduction, their quotient, then the rest.
    if bad:
        return invalid(build, bad)
    if int(hidden) // int(reduction) < 1:
        return invalid(build, "channel_reduction")
    if cfg.bad:
        return invalid(build, cfg.bad)
    if cfg.refused:
        return invalid(build, *cfg.refused)
    if int(cfg.seq_len) > 10**6:  # the weights of the second convolution could not exist
        k2 = -(-cfg.mid // int(cfg.m_segments))
        if too_big(int(hidden), int(hidden) // int(reduction), max(k2, int(cfg.k1))):
            return invalid(build, "hidden_size", "seq_len", "k1", "k2")
        return Case(build, check=lambda m: _is(m.sizes.mid_length, int, cfg.mid))
    dtype = data.draw(st.sampled_from([torch.float32, torch.float64]), label="dtype")
    layer = data.draw(st.sampled_from(["conv1a", "conv2a"]), label="layer")
    kind = data.draw(st.sampled_from(list(ATTACH)), label="attached")
    batch = data.draw(st.integers(0, 3), label="batch")
    x, bad_x = draw_tensor_input(data, (batch, int(cfg.seq_len), int(hidden)), dtype, "input_tensor")

    def call():
        ours, oracle = twins(build, layer, kind, dtype)
        if bad_x:
            ours(x)
        _train_and_compare(ours, oracle, lambda m, t: m(t), layers_called, x)
        return ours

    if bad_x:
        return invalid(call, "input_tensor")
    return Case(call)


def s_tiled_conv1d(data) -> Case:
    c_in, c_out = data.draw(st.integers(1, 4), label="C_in"), data.draw(st.integers(1, 4), label="C_out")
    k = data.draw(st.integers(1, 5), label="k")
    pad = data.draw(st.integers(0, k - 1), label="padding")
    geometry = "tiling" if not rarely(data, 3, "not a tiling conv?") else data.draw(
        st.sampled_from(["stride", "dilation", "groups", "mode", "not conv"]), label="conv")
    args = dict(kernel_size=k, stride=k, padding=pad)
    if geometry == "stride":
        args["stride"] = k + 1
    elif geometry == "dilation":
        args["dilation"], k = 2, max(k, 2)
        args["kernel_size"] = args["stride"] = k
    elif geometry == "groups":
        c_in = c_out = 2
        args["groups"] = 2
    elif geometry == "mode":
        args["padding_mode"], args["padding"] = "circular", max(pad, 1)
        args["kernel_size"] = args["stride"] = k = max(k, 2)
    build = (lambda: nn.Linear(c_in, c_out)) if geometry == "not conv" else \
        (lambda: nn.Conv1d(c_in, c_out, **args))
    extra: Any = data.draw(st.integers(0, 3), label="extra_right")
    if rarely(data, 8, "bad extra?"):
        extra = bad_int(data, 0, "extra_right")
    dtype = data.draw(st.sampled_from([torch.float32, torch.float64]), label="dtype")
    length = data.draw(st.integers(1, 12), label="length")
    batch = data.draw(st.integers(0, 2), label="batch")
    x, bad_x = draw_tensor_input(data, (batch, length, c_in), dtype, "x")
    if bad_x == "x" and x.ndim == 3 and isinstance(x, torch.Tensor) and x.shape[1] == length + 1:
        x, bad_x = torch.randn(batch, length, c_in + 1, dtype=dtype), "x"  # wrong channels
    kind = data.draw(st.sampled_from(list(ATTACH)), label="attached") if geometry == "tiling" else "nothing"

    def call():
        ours, oracle = twins(build, "", kind, dtype)
        if bad_x or geometry != "tiling" or not isinstance(extra, int) or extra < 0:
            return sc.tiled_conv1d(x, ours, extra)
        _train_and_compare(ours, oracle, lambda m, t: sc.tiled_conv1d(t, m, extra),
                           lambda m, t: m(F.pad(t.transpose(1, 2), (0, extra))).transpose(1, 2), x)
        return ours

    if geometry == "not conv":
        return invalid(call, "conv")
    if geometry != "tiling":
        return invalid(call, "conv")
    if not isinstance(extra, int) or extra < 0:
        return invalid(call, "extra_right")
    if bad_x:
        return invalid(call, "x")
    if length + 2 * pad + extra < k:
        return invalid(call, "x")
    return Case(call)


def s_input_dependence(data) -> Case:
    cfg = draw_config(data, max_len=30, corrupt=False)
    if cfg.refused:
        cfg = Config(12, 2, 3, "pad", mid=4)
    hidden = data.draw(st.integers(1, 4), label="hidden")
    kind = data.draw(st.sampled_from(list(ATTACH)), label="attached")
    layer = data.draw(st.sampled_from(["conv1a", "conv2a"]), label="layer")
    module_build = lambda: sc.DownConv(cfg.seq_len, hidden, cfg.m_segments, cfg.k1, 1, cfg.tail)  # noqa: E731
    args: dict[str, Any] = {"seq_len": cfg.seq_len, "hidden_size": hidden}
    what = corruption(data, ["module", "seq_len", "hidden_size"], "corrupt")
    if what in args:
        args[what] = data.draw(st.sampled_from([args[what] + 1, 0, 2.0, None]), label=f"bad {what}")
    not_a_module = data.draw(st.sampled_from(["DownConv", None, {"conv1a.weight": 0}]), label="bad module")

    def call():
        module = twins(module_build, layer, kind, torch.float32)[0]
        return sc.input_dependence(not_a_module if what == "module" else module,
                                   args["seq_len"], args["hidden_size"])

    if what != "ok":
        return invalid(call, what)
    truth = sc.downconv_sizes(cfg.seq_len, cfg.m_segments, cfg.k1, cfg.tail)
    spans = brute_spans(int(cfg.seq_len), truth.mid_length, int(cfg.k1), truth.k2, truth.padding,
                        int(cfg.m_segments))
    expected = np.zeros((int(cfg.m_segments), int(cfg.seq_len)), dtype=bool)
    for j, (lo, hi) in enumerate(spans):
        expected[j, lo:hi] = True
    return Case(call, check=lambda got: _is(got.tolist(), list, expected.tolist()))


def s_NumPyDownConv(data) -> Case:
    cfg = draw_config(data, max_len=30, corrupt=False)
    if cfg.refused:
        cfg = Config(12, 2, 3, "pad", mid=4)
    hidden = data.draw(st.integers(1, 4), label="hidden")
    torch.manual_seed(0)
    module: Any = sc.DownConv(cfg.seq_len, hidden, cfg.m_segments, cfg.k1, 1, cfg.tail).double()
    kind = "nothing" if not rarely(data, 4, "attach?") else data.draw(
        st.sampled_from(list(ATTACH)[1:]), label="attached")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        ATTACH[kind](module.conv1a)
    batch = data.draw(st.integers(0, 3), label="batch")
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    n, m = int(cfg.seq_len), int(cfg.m_segments)
    x = layout(data, rng.standard_normal((batch, n, hidden)), "x layout")
    dout = rng.standard_normal((batch, m, hidden))
    what = corruption(data, ["module", "x", "dout", "order"], "corrupt")
    if what == "module":
        module = data.draw(st.sampled_from([None, nn.Linear(2, 2), "DownConv"]), label="bad module")
    elif what == "x":
        x = data.draw(st.sampled_from([x.astype(np.float32), x[:, :-1] if n > 1 else x[:, :, :0],
                                       torch.from_numpy(np.array(x, dtype=np.float64)), x.tolist()]),
                             label="bad x")
    elif what == "dout":
        dout = data.draw(st.sampled_from([dout.astype(np.float32), np.zeros((batch + 1, m, hidden)),
                                          dout.tolist()]), label="bad dout")

    def call():
        layers = sc.NumPyDownConv(module)
        if what == "order":
            return layers.backward(dout)
        return layers.forward(x), layers.backward(dout)

    if what == "module" or kind != "nothing":  # the constructor checks the module first
        return invalid(call, "module")
    if what != "ok":
        return invalid(call, {"order": "forward"}.get(what, what))
    xt = torch.tensor(np.array(x, dtype=np.float64), requires_grad=True)  # native byte order
    y = module(xt)
    y.backward(torch.from_numpy(dout))
    ref_y, ref_dx = y.detach().numpy(), xt.grad.numpy()

    def check(result: Any) -> None:
        got_y, got_dx = result
        np.testing.assert_allclose(got_y, ref_y, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(got_dx, ref_dx, rtol=1e-10, atol=1e-12)
    return Case(call, check=check)


# ---------------------------------------------------------------- attention
def reference_attention(q: np.ndarray, k: np.ndarray, v: np.ndarray, axis: int = -1):
    scores = q @ k.transpose(0, 2, 1) / math.sqrt(q.shape[-1])
    if scores.size == 0:
        return scores, scores @ v
    e = np.exp(scores - scores.max(axis=axis, keepdims=True))
    weights = e / e.sum(axis=axis, keepdims=True)
    return weights, weights @ v


def _linear(layer: nn.Linear, x: np.ndarray) -> np.ndarray:
    return x @ layer.weight.detach().numpy().T + layer.bias.detach().numpy()


def s_SegmentAttention(data) -> Case:
    cfg = draw_config(data, max_len=30)
    hidden = good_int(data, 1, 6, "hidden_size")
    softmax_over: Any = data.draw(st.sampled_from(["segments", "queries"]), label="softmax_over")
    bad = cfg.bad
    if bad is None and rarely(data, 6, "bad softmax?"):
        softmax_over, bad = data.draw(st.sampled_from(["keys", None, ["segments"]]), label="bad"), "softmax_over"
    build = lambda: sc.SegmentAttention(cfg.seq_len, hidden, cfg.m_segments, cfg.k1, 1, cfg.tail,  # noqa: E731
                                        softmax_over)
    if bad:
        return invalid(build, bad)
    if cfg.refused:
        return invalid(build, *cfg.refused)
    dtype = data.draw(st.sampled_from([torch.float32, torch.float64]), label="dtype")
    x, bad_x = draw_tensor_input(data, (data.draw(st.integers(0, 2)), int(cfg.seq_len), int(hidden)),
                                 dtype, "x")

    def call():
        torch.manual_seed(0)
        model = build().to(dtype)
        return model, model(x), model.attention_map(x)

    if bad_x:
        return invalid(call, "x")

    def check(result: Any) -> None:
        model, y, weights = result
        xd = x.detach().double().numpy()
        segments = model.downconv(x).detach().double().numpy()
        model = model.double()
        ref_w, ref_y = reference_attention(_linear(model.query, xd), _linear(model.key, segments),
                                           _linear(model.value, segments),
                                           -1 if softmax_over == "segments" else -2)
        tol = dict(rtol=1e-9, atol=1e-9) if dtype == torch.float64 else dict(rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(weights.detach().double().numpy(), ref_w, **tol)
        np.testing.assert_allclose(y.detach().double().numpy(), ref_y, **tol)
    return Case(call, check=check)


def s_FullSelfAttention(data) -> Case:
    hidden: Any = good_int(data, 1, 6, "hidden_size")
    bad = None
    if rarely(data, 6, "bad hidden?"):
        hidden, bad = bad_int(data, 1, "hidden_size"), "hidden_size"
    elif rarely(data, 10, "huge?"):
        hidden = data.draw(st.sampled_from([2**40, 10**30]), label="hidden_size")
        return invalid(lambda: sc.FullSelfAttention(hidden), "hidden_size")
    build = lambda: sc.FullSelfAttention(hidden)  # noqa: E731
    if bad:
        return invalid(build, bad)
    dtype = data.draw(st.sampled_from([torch.float32, torch.float64]), label="dtype")
    n = data.draw(st.integers(1, 6), label="n")
    x, bad_x = draw_tensor_input(data, (data.draw(st.integers(0, 2)), n, int(hidden)), dtype, "x",
                                 length_matters=False)
    if bad_x is None and rarely(data, 10, "n = 0?"):
        x = torch.zeros(1, 0, int(hidden), dtype=dtype)  # no items: empty results

    def call():
        torch.manual_seed(0)
        model = build().to(dtype)
        return model, model(x), model.attention_map(x)

    if bad_x:
        return invalid(call, "x")

    def check(result: Any) -> None:
        model, y, weights = result
        xd = x.detach().double().numpy()
        model = model.double()
        ref_w, ref_y = reference_attention(_linear(model.query, xd), _linear(model.key, xd),
                                           _linear(model.value, xd))
        tol = dict(rtol=1e-9, atol=1e-9) if dtype == torch.float64 else dict(rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(weights.detach().double().numpy(), ref_w, **tol)
        np.testing.assert_allclose(y.detach().double().numpy(), ref_y, **tol)
    return Case(call, check=check)


def s_time_attention(data) -> Case:
    ns: Any = data.draw(st.lists(st.integers(4, 12), min_size=1, max_size=2), label="n_values")
    # hidden_size >= 16: the segment model's DownConv divides it by channel_reduction=16.
    kwargs: dict[str, Any] = {"hidden_size": good_int(data, 16, 18, "hidden_size"),
                              "batch": good_int(data, 0, 2, "batch"), "repeats": 1,
                              "m_segments": 2, "k1": 2, "seed": good_int(data, 0, 5, "seed")}
    bad = maybe_corrupt(data, kwargs, {"hidden_size": ("int", 16), "batch": ("int", 0),
                                       "repeats": ("int", 1), "seed": ("int", 0)})
    if bad is None and rarely(data, 4, "bad n_values?"):
        ns = data.draw(st.sampled_from([5, None, "abc", [0], [2.0], [1]]), label="bad n_values")
        bad = "n_values"  # [1]: k1=2 is longer than the sequence: DownConv refuses it
    models: Any = data.draw(st.sampled_from([("full", "segment"), ("full",), ("segment",),
                                             ["segment", "full"]]), label="models")
    bad_models = [(), "full", ["fulll"], 5, None, [["full"]], {"full": 1}, ("full", 2)]
    if bad is None and rarely(data, 6, "bad models?"):
        models, bad = data.draw(st.sampled_from(bad_models), label="bad models"), "models"
    kwargs["models"] = models
    kwargs["clock"] = data.draw(st.sampled_from(["wall", "cpu"]), label="clock")
    if bad is None and rarely(data, 8, "bad clock?"):
        kwargs["clock"] = data.draw(st.sampled_from(["CPU", "", None, ["wall"], 1]), label="bad clock")
        bad = "clock"
    if bad in ("hidden_size", "n_values") and "segment" not in models:
        # only the segment model needs hidden_size >= 16 and a sequence DownConv accepts
        value = kwargs["hidden_size"] if bad == "hidden_size" else ns
        if bad == "hidden_size" and type(value) is int and value >= 1:
            bad = None
        if bad == "n_values" and value == [1]:
            bad = None
    call = lambda: sc.time_attention(ns, **kwargs)  # noqa: E731
    if bad:
        return invalid(call, bad)
    threads = torch.get_num_threads()
    timed = [m for m in ("full", "segment") if m in models]

    def check(result: Any) -> None:
        assert sorted(result) == sorted(["n", *timed]) and result["n"] == [int(n) for n in ns]
        times = [t for m in timed for t in result[m]]
        assert all(len(result[m]) == len(ns) for m in timed)
        assert all(isinstance(t, float) and 0 <= t < 60 for t in times)
        assert torch.get_num_threads() == threads
    return Case(call, check=check)


def s_loglog_slope(data) -> Case:
    n = data.draw(st.lists(st.sampled_from([1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 1e3, 1e4, 1e5]),
                           min_size=2, max_size=6, unique=True), label="n")
    t = data.draw(st.lists(st.floats(1e-6, 1e3), min_size=len(n), max_size=len(n)), label="t")
    args: list[Any] = [n, t]
    what = corruption(data, ["length", "zero", "text", "same", "2-D"], "corrupt")
    which = data.draw(st.integers(0, 1), label="which")
    if what == "length":
        args[which] = args[which][:-1]
    elif what == "zero":
        args[which] = [0.0] + list(args[which][1:])
    elif what == "text":
        args[which] = "abc"
    elif what == "same":
        args = [[2.0] * len(n), t]
        which = 0
    elif what == "2-D":
        args[which] = [args[which]]
    call = lambda: sc.loglog_slope(*args)  # noqa: E731
    if what == "length":
        return invalid(call, "n and t")
    if what == "text":
        return invalid(call, "nt"[which])
    if what != "ok":
        return invalid(call, "nt"[which])
    xs, ys = [math.log(v) for v in n], [math.log(v) for v in t]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    slope = sum((a - mx) * (b - my) for a, b in zip(xs, ys)) / sum((a - mx) ** 2 for a in xs)

    def check(got: Any) -> None:
        assert type(got) is float and abs(got - slope) <= 1e-9 * (1 + abs(slope))
    return Case(call, check=check)


# ---------------------------------------------------------------- the polyphase view
def _bad_ndim_array(data, ndims: list[int], label: str) -> Any:
    """Something an array parameter accepting ``ndims`` dimensions must refuse."""
    kind = data.draw(st.sampled_from(["type", "tensor", "ndim", "object", "str", "datetime"]),
                     label=label)
    shape = (1,) * ndims[-1]
    if kind == "type":
        return data.draw(st.sampled_from(NOT_ARRAYS[:3]), label=label)
    if kind == "tensor":
        return torch.zeros(shape)
    if kind == "ndim":
        return np.zeros((1,) * data.draw(st.sampled_from([0, 2, 5]), label=label))
    return np.zeros(shape, dtype={"object": object, "str": "U1", "datetime": "datetime64[s]"}[kind])


def _axis_value(data, one_d: bool, lo: int, hi: int, label: str, huge: bool | str) -> Any:
    """One int (a 1-D signal), or an int or pair (an image)."""
    return good_int(data, lo, hi, label, huge) if one_d else pair(data, lo, hi, label, huge)


def _axis_ints(v: Any, one_d: bool) -> tuple[int, int]:
    """(row, column) values; a 1-D signal's row axis is trivial (fixed up by the caller)."""
    return (1, int(v)) if one_d else as_pair(v)


def _maybe_bad_axis(data, params: dict[str, Any], minima: dict[str, int], one_d: bool) -> str | None:
    """Sometimes one of ``params`` made bad; a pair is bad for a 1-D signal."""
    if not rarely(data, 4, "corrupt?"):
        return None
    name = data.draw(st.sampled_from(sorted(minima)), label="corrupted parameter")
    if one_d and data.draw(st.booleans(), label=f"{name} as pair?"):
        params[name] = (minima[name] + 1, minima[name] + 1)  # a 1-D signal takes an int
    else:
        params[name] = (bad_int if one_d else bad_pair)(data, minima[name], name)
    return name


def _padded(x: np.ndarray, ph: int, pw: int) -> np.ndarray:
    """The zero-padded input, entry by entry (no np.pad)."""
    n, c, h, w = x.shape
    out = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=x.dtype)
    for r in range(h):
        for col in range(w):
            out[:, :, r + ph, col + pw] = x[:, :, r, col]
    return out


def _signal_or_image(data, name: str, axes: dict[str, tuple[int, int]],
                     sizes: tuple[tuple[str, int, int], ...]) -> tuple[bool, dict, Any, str]:
    """A 3-D signal (sometimes) or a 4-D image of any numeric dtype and layout, the
    axis parameters (ints, or pairs for an image), and at most one bad thing:
    returns ``(one_d, params, array, what)``, ``what`` a parameter name, ``name``
    (not an array, or its size 0 on one axis: ``"empty size"``) or ``"ok"``."""
    one_d = rarely(data, 4, "1-D?")
    params = {k: _axis_value(data, one_d, lo, hi, k, "beyond") for k, (lo, hi) in axes.items()}
    dtype = data.draw(st.sampled_from(ARRAY_DTYPES), label="dtype")
    shape = tuple(1 if one_d and i == 2 else data.draw(st.integers(lo, hi), label=label)
                  for i, (label, lo, hi) in enumerate(sizes))
    a = layout(data, values(data, shape, dtype))
    a = a[:, :, 0] if one_d else a
    bad = _maybe_bad_axis(data, params, {k: lo for k, (lo, _) in axes.items()}, one_d)
    what = bad or corruption(data, [name, "empty size"], f"corrupt {name}")
    if what == name:
        a = _bad_ndim_array(data, [3, 4], name)
    elif what == "empty size":
        a = np.zeros(a.shape[:-1] + (0,), dtype)
    return one_d, params, a, what


def s_polyphase_components(data) -> Case:
    one_d, params, x, what = _signal_or_image(
        data, "x", {"stride": (1, 4), "pad": (0, 3)},
        (("N", 0, 2), ("C", 1, 3), ("H", 1, 7), ("W", 1, 7)))
    bad = what if what in params else None
    call = lambda: sc.polyphase_components(x, **params)  # noqa: E731
    if bad:
        return invalid(call, bad)
    if what != "ok":
        return invalid(call, "x")
    (sh, sw), (ph, pw) = _axis_ints(params["stride"], one_d), _axis_ints(params["pad"], one_d)
    if one_d:
        ph = 0
    x4 = np.asarray(x)[:, :, None] if one_d else np.asarray(x)
    n, c, h, w = x4.shape
    hc, wc = -(-(h + 2 * ph) // sh), -(-(w + 2 * pw) // sw)
    if too_big(sh, sw, n, c, hc, wc, itemsize=x4.itemsize):
        return invalid(call, "stride", "pad")
    padded = _padded(x4, ph, pw)
    expected = np.zeros((sh, sw, n, c, hc, wc), dtype=x4.dtype)
    for rh in range(sh):
        for rw in range(sw):
            for a in range(hc):
                for b_ in range(wc):
                    if a * sh + rh < h + 2 * ph and b_ * sw + rw < w + 2 * pw:
                        expected[rh, rw, :, :, a, b_] = padded[:, :, a * sh + rh, b_ * sw + rw]
    expected = expected[0, :, :, :, 0] if one_d else expected

    def check(comp: Any) -> None:
        assert isinstance(comp, np.ndarray) and comp.dtype == x4.dtype
        assert comp.shape == expected.shape and np.array_equal(comp, expected)
    return Case(call, check=check)


def _brute_sub_kernels(W4: np.ndarray, s: tuple[int, int], d: tuple[int, int]) -> list:
    """Entry (q_h, q_w) of phase (r_h, r_w) is the tap (u, v) with u d_h = q_h s_h + r_h
    and v d_w = q_w s_w + r_w, found by trying every tap; zero where none is."""
    fn, c, fh, fw = W4.shape
    result = []
    for rh in range(s[0]):
        row = []
        for rw in range(s[1]):
            us = [u for u in range(fh) if (u * d[0]) % s[0] == rh]
            vs = [v for v in range(fw) if (v * d[1]) % s[1] == rw]
            kh = max((u * d[0] // s[0] for u in us), default=-1) + 1
            kw = max((v * d[1] // s[1] for v in vs), default=-1) + 1
            sub = np.zeros((fn, c, kh, kw), dtype=W4.dtype)
            for qh in range(kh):
                for qw in range(kw):
                    for u in range(fh):
                        for v in range(fw):
                            if u * d[0] == qh * s[0] + rh and v * d[1] == qw * s[1] + rw:
                                sub[:, :, qh, qw] = W4[:, :, u, v]
            row.append(sub)
        result.append(row)
    return result


def s_polyphase_kernels(data) -> Case:
    one_d, params, W, what = _signal_or_image(
        data, "W", {"stride": (1, 4), "dilation": (1, 3)},
        (("FN", 1, 2), ("C", 1, 2), ("FH", 1, 5), ("FW", 1, 5)))
    call = lambda: sc.polyphase_kernels(W, **params)  # noqa: E731
    if what in params:
        return invalid(call, what)
    if what != "ok":  # not an array, or a kernel of width 0
        return invalid(call, "W")
    s, d = _axis_ints(params["stride"], one_d), _axis_ints(params["dilation"], one_d)
    W4 = np.asarray(W)[:, :, None] if one_d else np.asarray(W)
    if s[0] * s[1] > 10**7:  # the package lists at most 10**7 phases (LIST_LIMIT)
        return invalid(call, "stride")
    fn, c, fh, fw = W4.shape
    if too_big(fn, c, (fh - 1) * d[0] // s[0] + 1, (fw - 1) * d[1] // s[1] + 1,
               itemsize=W4.itemsize):
        return invalid(call, "dilation", "stride")
    expected = _brute_sub_kernels(W4, s, d)
    if one_d:
        expected = [sub[:, :, 0] for sub in expected[0]]

    def check(got: Any) -> None:
        flat_got = got if one_d else [a for row in got for a in row]
        flat_want = expected if one_d else [a for row in expected for a in row]
        assert isinstance(got, list) and len(flat_got) == len(flat_want)
        for g, w in zip(flat_got, flat_want):
            assert isinstance(g, np.ndarray) and g.dtype == w.dtype and g.shape == w.shape
            assert np.array_equal(g, w)
    return Case(call, check=check)


def _brute_terms(x4, W4, s, p, d, OH, OW) -> np.ndarray:
    """T[r_h, r_w] sums the taps (u, v) with u d_h mod s_h = r_h, v d_w mod s_w = r_w:
    the strided convolution's definition, one tap at a time, sorted by phase."""
    xp = _padded(x4.astype(np.float64), p[0], p[1])
    fn, _, fh, fw = W4.shape
    terms = np.zeros((s[0], s[1], x4.shape[0], fn, OH, OW))
    for u in range(fh):
        for v in range(fw):
            window = xp[:, :, u * d[0]:u * d[0] + s[0] * (OH - 1) + 1:s[0],
                        v * d[1]:v * d[1] + s[1] * (OW - 1) + 1:s[1]]
            terms[(u * d[0]) % s[0], (v * d[1]) % s[1]] += np.einsum(
                "fc,nchw->nfhw", W4[:, :, u, v].astype(np.float64), window)
    return terms


def s_phase_terms(data) -> Case:
    one_d = rarely(data, 4, "1-D?")
    geo = draw_geometry(data, huge=False, p_bad=10**6, kernel_is_a_parameter=False)
    if one_d:
        geo.shape = (geo.shape[0], geo.shape[1], 1, geo.shape[3])
        geo.params["filter_h"] = 1
        for k in ("stride", "pad", "dilation"):
            geo.params[k] = as_pair(geo.params[k])[1]
    params = {k: geo.params[k] for k in ("stride", "pad", "dilation")}
    bad = _maybe_bad_axis(data, params, {"stride": 1, "pad": 0, "dilation": 1}, one_d)
    dtype = np.dtype(data.draw(st.sampled_from(LAYER_DTYPES), label="dtype"))
    fn = data.draw(st.integers(1, 2), label="FN")
    fh, fw = int(geo.params["filter_h"]), int(geo.params["filter_w"])
    x = layout(data, values(data, geo.shape, dtype, "x"), "x layout", False)
    W = values(data, (fn, geo.shape[1], fh, fw), dtype, "W")
    if one_d:
        x, W = x[:, :, 0], W[:, :, 0]
    what = corruption(data, ["x", "W", "dims", "dtype", "channels", "W int"], "corrupt") \
        if bad is None else "ok"
    if what == "x":
        x = _bad_ndim_array(data, [3, 4], "x")
    elif what == "W":
        W = _bad_ndim_array(data, [3, 4], "W")
    elif what == "dims":  # one a signal, the other an image
        W = W[:, :, None] if one_d else W[:, :, 0]
    elif what == "dtype":
        x = x.astype(np.float64 if dtype != np.float64 else np.float32)
    elif what == "channels":
        x = np.zeros(x.shape[:1] + (x.shape[1] + 1,) + x.shape[2:], dtype)
    elif what == "W int":
        W, x = W.astype(np.int64), x.astype(np.int64)
    call = lambda: sc.phase_terms(x, W, **params)  # noqa: E731
    names = {"x": ("x",), "W": ("W",), "dims": ("x", "W"), "dtype": ("x",), "channels": ("x",),
             "W int": ("W",)}
    if what in names:
        return invalid(call, *names[what])
    if bad:
        return invalid(call, bad)
    s, p, d = (_axis_ints(params[k], one_d) for k in ("stride", "pad", "dilation"))
    if one_d:
        p = (0, p[1])
    x4 = np.asarray(x)[:, :, None] if one_d else np.asarray(x)
    W4 = W[:, :, None] if one_d else W
    n, c, h, w = x4.shape
    if d[0] * (fh - 1) + 1 > h + 2 * p[0] or d[1] * (fw - 1) + 1 > w + 2 * p[1]:
        return invalid(call, "W.shape" if not one_d else "W.shape[2]")
    OH = count_windows(h + 2 * p[0], d[0] * (fh - 1) + 1, s[0])
    OW = count_windows(w + 2 * p[1], d[1] * (fw - 1) + 1, s[1])
    expected = _brute_terms(x4, W4, s, p, d, OH, OW)
    bound = _brute_terms(np.abs(x4), np.abs(W4), s, p, d, OH, OW)
    if one_d:
        expected, bound = expected[0, :, :, :, 0], bound[0, :, :, :, 0]
    limit = FLOAT_MAX[dtype]
    if np.abs(expected).max(initial=0) > 1.01 * limit:  # the overflow rule
        return invalid(call, "x", "W")
    either = frozenset(["x", "W"]) if bound.max(initial=0) > 0.5 * limit else frozenset()
    tol = LAYER_TOL[dtype]

    def check(terms: Any) -> None:
        assert isinstance(terms, np.ndarray) and terms.dtype == dtype
        assert terms.shape == expected.shape
        assert (np.abs(terms.astype(np.float64) - expected) <= tol * (bound + 1)).all()
    return Case(call, check=check, either=either)


def s_conv_transpose2d_polyphase(data) -> Case:
    """Oracle: ``torch.nn.functional.conv_transpose2d`` in float64 (and its refusal)."""
    params: dict[str, Any] = {"stride": pair(data, 1, 3, "stride"), "pad": pair(data, 0, 2, "pad"),
                              "dilation": pair(data, 1, 2, "dilation")}
    s, d = as_pair(params["stride"]), as_pair(params["dilation"])
    params["output_padding"] = tuple(data.draw(st.integers(0, max(si, di) - 1 + rarely(
        data, 8, "a too large?")), label="output_padding") for si, di in zip(s, d))
    if rarely(data, 16, "huge stride?"):
        params["stride"] = data.draw(st.sampled_from([10**30, 2**70]), label="stride")
    bad = _maybe_bad_axis(data, params, {"stride": 1, "pad": 0, "dilation": 1,
                                         "output_padding": 0}, one_d=False)
    dtype = np.dtype(data.draw(st.sampled_from(LAYER_DTYPES), label="dtype"))
    fn, c = data.draw(st.integers(1, 3), label="FN"), data.draw(st.integers(1, 3), label="C")
    fh, fw = data.draw(st.integers(1, 3), label="FH"), data.draw(st.integers(1, 3), label="FW")
    shape = (data.draw(st.integers(0, 2), label="N"), fn, data.draw(st.integers(1, 5), label="H'"),
             data.draw(st.integers(1, 5), label="W'"))
    x = layout(data, values(data, shape, dtype, "x"), "x layout", False)
    W = values(data, (fn, c, fh, fw), dtype, "W")
    b = None if data.draw(st.booleans(), label="no bias?") else values(data, (c,), dtype, "b")
    what = corruption(data, ["x", "W", "b", "dtype", "channels", "no rows"], "corrupt") \
        if bad is None else "ok"
    if what == "x":
        x = bad_array(data, 4, "x")
    elif what == "W":
        W = bad_array(data, 4, "W")
    elif what == "b":
        b = data.draw(st.sampled_from([np.zeros(c + 1, dtype), np.zeros((c, 1), dtype), [0.0] * c,
                                       np.zeros(c, np.float64 if dtype != np.float64 else np.float32)]),
                      label="bad b")
    elif what == "dtype":
        x = x.astype(np.float64 if dtype != np.float64 else np.float32)
    elif what == "channels":
        x = np.zeros((shape[0], fn + 1) + shape[2:], dtype)
    elif what == "no rows":
        x = np.zeros(shape[:2] + (0, shape[3]), dtype)
    call = lambda: sc.conv_transpose2d_polyphase(x, W, b, **params)  # noqa: E731
    names = {"x": "x", "W": "W", "b": "b", "dtype": "x", "channels": "x", "no rows": "x"}
    if what in names:
        return invalid(call, names[what])
    if bad:
        return invalid(call, bad)
    s, p, d, a = (as_pair(params[k]) for k in ("stride", "pad", "dilation", "output_padding"))
    if any(ai >= max(si, di) for ai, si, di in zip(a, s, d)):
        return invalid(call, "output_padding")
    if max(s) > 64:  # a huge stride: sizes from PyTorch's formula in exact integers
        sizes = [(i - 1) * si - 2 * pi + di * (k - 1) + ai + 1
                 for i, si, pi, di, k, ai in zip(shape[2:], s, p, d, (fh, fw), a)]
        if min(sizes) < 1:
            return invalid(call, "pad")
        if too_big(shape[0], c, *sizes):
            return invalid(call, "stride")
        # an axis of one input row: the stride never multiplies anything (PyTorch's
        # own arithmetic is int64, so the oracle runs with a stride it can hold)
        s = tuple(min(si, 64) for si in s)
    def tb(a_: Any) -> torch.Tensor:
        # PyTorch checks the output size only for a non-empty batch: N = 0 is run as
        # one sample of zeros and none of it kept
        t = torch.from_numpy(np.array(a_, dtype=np.float64))
        return torch.zeros((1, *t.shape[1:]), dtype=t.dtype) if t.ndim == 4 and not len(t) else t

    def transposed(x_: Any, W_: Any, b_: Any) -> np.ndarray:
        out = F.conv_transpose2d(tb(x_), tb(W_), None if b_ is None else tb(b_), stride=s,
                                 padding=p, output_padding=a, dilation=d).numpy()
        return out[:len(x_)]
    try:
        ref = transposed(x, W, b)
    except RuntimeError:  # PyTorch finds no valid output size
        return invalid(call, "pad")
    bound = transposed(np.abs(x), np.abs(W), None if b is None else np.abs(b))
    if np.abs(ref).max(initial=0) > 1.01 * FLOAT_MAX[dtype]:  # the overflow rule
        return invalid(call, "x", "W", "b")
    either = frozenset(["x", "W", "b"]) if bound.max(initial=0) > 0.5 * FLOAT_MAX[dtype] \
        else frozenset()
    tol = LAYER_TOL[dtype]

    def check(z: Any) -> None:
        assert isinstance(z, np.ndarray) and z.dtype.newbyteorder("=") == dtype
        assert z.shape == ref.shape
        assert (np.abs(z.astype(np.float64) - ref) <= tol * (bound + 1)).all()
    return Case(call, check=check, either=either)


def _pixel_case(data, shuffle: bool) -> Case:
    f: Any = good_int(data, 1, 3, "factor", huge="beyond")
    dtype = data.draw(st.sampled_from(ARRAY_DTYPES), label="dtype")
    fi = int(f) if int(f) <= 3 else 2
    blocks = (data.draw(st.integers(1, 3), label="H blocks"), data.draw(st.integers(1, 3), label="W blocks"))
    c = data.draw(st.integers(1, 3), label="C")
    n = data.draw(st.integers(0, 2), label="N")
    shape = (n, c * fi * fi, *blocks) if shuffle else (n, c, blocks[0] * fi, blocks[1] * fi)
    x = layout(data, values(data, shape, dtype))
    what = corruption(data, ["x", "factor", "indivisible", "empty size"], "corrupt")
    if what == "x":
        x = bad_array(data, 4, "x")
    elif what == "factor":
        f = bad_int(data, 1, "factor")
    elif what == "indivisible":
        x = np.zeros((n, shape[1] + 1, *shape[2:]) if shuffle else (n, c, shape[2] + 1, shape[3]),
                     dtype)
    elif what == "empty size":
        x = np.zeros(shape[:3] + (0,), dtype)
    fn = sc.pixel_shuffle if shuffle else sc.pixel_unshuffle
    call = lambda: fn(x, f)  # noqa: E731
    if what in ("x", "empty size"):
        return invalid(call, "x")
    if what == "factor":
        return invalid(call, "factor")
    if int(f) > 3:  # beyond any array: nothing divides
        return invalid(call, "factor")
    if what == "indivisible" and fi > 1:
        return invalid(call, "x", "factor")
    wide = np.complex128 if np.dtype(dtype).kind == "c" else np.float64
    torch_fn = F.pixel_shuffle if shuffle else F.pixel_unshuffle
    xt = torch.from_numpy(np.array(x, dtype=wide))
    if xt.shape[0] == 0:  # PyTorch 2.13's pixel_unshuffle returns an empty input unchanged
        xt = torch.zeros((1, *xt.shape[1:]), dtype=xt.dtype)  # (wrong shape): one sample, none kept
        expected = torch_fn(xt, fi).numpy()[:0]
    else:
        expected = torch_fn(xt, fi).numpy()

    def check(y: Any) -> None:
        assert isinstance(y, np.ndarray) and y.dtype == x.dtype and y.shape == expected.shape
        assert np.array_equal(y.astype(wide), expected)
    return Case(call, check=check)


def s_pixel_shuffle(data) -> Case:
    return _pixel_case(data, shuffle=True)


def s_pixel_unshuffle(data) -> Case:
    return _pixel_case(data, shuffle=False)


def _flops_counted(fn: Callable[[], Any]) -> int:
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def _elements(modules: list[nn.Module], fn: Callable[[], Any]) -> int:
    """Elements of every output of ``modules`` during ``fn()`` (hooks: a brute count)."""
    counted = []
    handles = [m.register_forward_hook(lambda m, a, out: counted.append(out.numel()))
               for m in modules]
    try:
        fn()
    finally:
        for h in handles:
            h.remove()
    return sum(counted)


def _flops_by_counting(n: int, d: int, m: int, k1: int, reduction: int, tail: str,
                       batch: int) -> dict[str, dict[str, int]]:
    """Each term measured on the real layers: matrix products by PyTorch's
    FlopCounterMode, elementwise work by counting elements (scores x 6 for scaling
    and softmax, one per bias element added and per ReLU output)."""
    torch.manual_seed(0)
    x = torch.randn(batch, n, d)
    full = sc.FullSelfAttention(d)
    seg = sc.SegmentAttention(n, d, m, k1, reduction, tail)
    out: dict[str, dict[str, int]] = {}
    with torch.no_grad():
        q, k, v = full.query(x), full.key(x), full.value(x)
        w = full.attention_map(x)
        proj = _flops_counted(lambda: (full.query(x), full.key(x), full.value(x)))
        scores = _flops_counted(lambda: q @ k.transpose(-2, -1))
        wsum = _flops_counted(lambda: w @ v)
        assert _flops_counted(lambda: full(x)) == proj + scores + wsum
        linears = _elements([full.query, full.key, full.value], lambda: full(x))
        out["full"] = {"projections": proj, "convolutions": 0, "scores": scores,
                       "weighted sum": wsum, "elementwise": 6 * w.numel() + linears}
        dc = seg.downconv
        segments = dc(x)
        q, k, v = seg.query(x), seg.key(segments), seg.value(segments)
        w = seg.attention_map(x)
        proj = _flops_counted(lambda: (seg.query(x), seg.key(segments), seg.value(segments)))
        conv = _flops_counted(lambda: layers_called(dc, x))  # the Conv1d modules themselves
        scores = _flops_counted(lambda: q @ k.transpose(-2, -1))
        wsum = _flops_counted(lambda: w @ v)
        assert _flops_counted(lambda: seg(x)) == proj + conv + scores + wsum
        linears = _elements([seg.query, seg.key, seg.value], lambda: seg(x))
        convs = _elements([dc.conv1a, dc.conv2a, dc.relu1a], lambda: layers_called(dc, x))
        out["segment"] = {"projections": proj, "convolutions": conv, "scores": scores,
                          "weighted sum": wsum, "elementwise": 6 * w.numel() + linears + convs}
    return out


def _flops_by_hand(n: int, d: int, m: int, k1: int, reduction: int, tail: str,
                   batch: int) -> dict[str, dict[str, int]]:
    """For sizes no layer can be built at: each term as a product of sizes, with
    L_1 and k_2 from downconv_sizes (fuzzed against brute force above)."""
    sz = sc.downconv_sizes(n, m, k1, tail)
    r, L1, k2 = d // reduction, sz.mid_length, sz.k2
    full = {"projections": 3 * (2 * n * d * d), "convolutions": 0, "scores": 2 * n * n * d,
            "weighted sum": 2 * n * n * d, "elementwise": 6 * n * n + 3 * n * d}
    seg = {"projections": 2 * n * d * d + 2 * (2 * m * d * d),
           "convolutions": 2 * L1 * d * k1 * r + 2 * m * r * k2 * d,
           "scores": 2 * n * m * d, "weighted sum": 2 * n * m * d,
           "elementwise": 6 * n * m + (n * d + 2 * m * d) + (L1 * r + m * d) + L1 * r}
    return {"full": {t: batch * v for t, v in full.items()},
            "segment": {t: batch * v for t, v in seg.items()}}


def s_attention_flops(data) -> Case:
    cfg = draw_config(data, max_len=24, huge="beyond", p_bad=10)
    hidden: Any = good_int(data, 1, 8, "hidden_size")
    reduction: Any = good_int(data, 1, min(4, int(hidden)) + rarely(data, 8, "no channel?"),
                              "channel_reduction")
    batch: Any = good_int(data, 0, 2, "batch", huge="beyond")
    kwargs = {"hidden_size": hidden, "channel_reduction": reduction, "batch": batch}
    bad = None if cfg.bad else maybe_corrupt(data, kwargs, {"hidden_size": ("int", 1),
                                                             "channel_reduction": ("int", 1),
                                                             "batch": ("int", 0)}, 6)
    call = lambda: sc.attention_flops(cfg.seq_len, m_segments=cfg.m_segments, k1=cfg.k1,  # noqa: E731
                                      tail=cfg.tail, **kwargs)
    # The function's order: n, hidden_size, batch, channel_reduction, their quotient, the rest.
    if cfg.bad == "seq_len":
        return invalid(call, "n")
    if bad:
        return invalid(call, bad)
    if int(hidden) // int(reduction) < 1:
        return invalid(call, "channel_reduction")
    if cfg.bad:
        return invalid(call, cfg.bad)
    if cfg.refused:
        return invalid(call, *cfg.refused)
    args = (int(cfg.seq_len), int(hidden), int(cfg.m_segments), int(cfg.k1), int(reduction),
            cfg.tail)
    small = int(cfg.seq_len) <= 24 and int(batch) <= 2
    expected = (_flops_by_counting(*args, int(batch)) if small and int(batch) > 0
                else _flops_by_hand(*args, int(batch)))

    def check(got: Any) -> None:
        assert got == expected, (got, expected)
        assert all(type(v) is int for terms in got.values() for v in terms.values())
    return Case(call, check=check)


def paup_reference(layer: nn.Module, x: torch.Tensor, pos: Any) -> torch.Tensor:
    """The formula of the paup module's docstring, in float64, with each DownConv's
    Conv1d modules called the usual way (no dropout: eval mode)."""
    import copy

    m = copy.deepcopy(layer).double()
    x = x.detach().double()
    h, dh = m.n_heads, m.attention_head_size

    def heads(t: torch.Tensor) -> torch.Tensor:
        return t.reshape(t.shape[0], t.shape[1], h, dh).permute(0, 2, 1, 3)
    axis = -2 if m.softmax_over == "queries" else -1
    with torch.no_grad():
        v = m.value(x)
        q, vh = heads(m.query(x)), heads(layers_called(m.attpooling_value, v))
        kh = heads(layers_called(m.attpooling_key, m.key(x)))
        ctx = torch.softmax(q @ kh.transpose(-1, -2) / math.sqrt(dh), dim=axis) @ vh
        if m.positional == "published":
            pe = m.pos_ln(pos.detach().double().unsqueeze(0) + x)
            pq = heads(m.pos_q_linear(pe)) / math.sqrt(2 * dh)
            pk = heads(m.pos_k_linear(pe))
            ctx = ctx + torch.softmax(pq @ pk.transpose(-1, -2) / math.sqrt(dh), dim=axis) @ heads(v)
        ctx = ctx.permute(0, 2, 1, 3).reshape(x.shape)
        return m.LayerNorm(m.dense(ctx) + x)


def published_output(layer: nn.Module, x: torch.Tensor, pos: torch.Tensor) -> torch.Tensor | None:
    """PAUP's verbatim class with ``layer``'s weights, float64, eval; None where it is
    no oracle (its sizes differ from ours, or it prints its size error)."""
    import contextlib
    import io

    from strided_conv.original import paup_attention as original

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        published = original.ConvMultiHeadAttention(
            layer.n_heads, int(layer.m_segments), layer.hidden_size, int(layer.seq_len), 0.0, 0.0,
            layer.layer_norm_eps, int(layer.k1)).double().eval()
        state = {k: v.double() for k, v in layer.state_dict().items()}
        if published.attpooling_key.conv2a.padding != layer.attpooling_key.conv2a.padding:
            return None
        try:
            published.load_state_dict(state, strict=True)
        except RuntimeError:  # other shapes: another k2
            return None
        with torch.no_grad():
            y = published(x.detach().double(), pos.detach().double())
    return None if out.getvalue() else y


def s_ConvMultiHeadAttention(data) -> Case:
    cfg = draw_config(data, max_len=16, p_bad=10)
    n_heads: Any = good_int(data, 1, 4, "n_heads")
    hidden: Any = int(n_heads) * data.draw(st.sampled_from([4, 8, 16]), label="head size")
    reduction: Any = 16 if hidden >= 16 and data.draw(st.booleans(), label="published reduction?") \
        else good_int(data, 1, min(4, hidden), "channel_reduction")
    kwargs: dict[str, Any] = {
        "n_heads": n_heads, "m_segments": cfg.m_segments, "hidden_size": hidden,
        "seq_len": cfg.seq_len, "hidden_dropout_prob": data.draw(st.sampled_from([0.0, 0.2, np.float64(0.5)])),
        "attn_dropout_prob": data.draw(st.sampled_from([0.0, 0.1])),
        "layer_norm_eps": data.draw(st.sampled_from([1e-12, 1e-5, 0.1]), label="eps"), "k1": cfg.k1,
        "positional": data.draw(st.sampled_from(["published", "published", "none"]), label="positional"),
        "softmax_over": data.draw(st.sampled_from(["queries", "queries", "segments"]), label="softmax"),
        "tail": cfg.tail, "channel_reduction": reduction}
    BAD = {"n_heads": [0, -1, 2.0, True, None, "2", hidden + 1],  # the last divides nothing
           "hidden_size": [0, -4, 16.0, None, 2**40 * int(n_heads)],
           "hidden_dropout_prob": [1.0, -0.1, float("nan"), "0.1", True, None, 1j],
           "attn_dropout_prob": [1.5, -1e-9, float("inf"), [0.1]],
           "layer_norm_eps": [0.0, -1e-5, float("nan"), float("inf"), "1e-12", True, None],
           "positional": ["relative", "", None, ["published"], ("none",)],
           "softmax_over": ["keys", None, ["queries"], {"queries": 1}],
           "channel_reduction": [0, 2.0, None, hidden + 1]}
    bad = cfg.bad
    if bad is None and rarely(data, 4, "corrupt an argument?"):
        bad = data.draw(st.sampled_from(sorted(BAD)), label="corrupted parameter")
        kwargs[bad] = data.draw(st.sampled_from(BAD[bad]), label=f"bad {bad}")
    build = lambda: sc.ConvMultiHeadAttention(**kwargs)  # noqa: E731
    if bad:
        return invalid(build, bad)
    if cfg.refused:
        return invalid(build, *cfg.refused)
    dtype = data.draw(st.sampled_from([torch.float32, torch.float64]), label="dtype")
    n = int(cfg.seq_len)
    batch = data.draw(st.integers(0, 2), label="batch")
    x, bad_x = draw_tensor_input(data, (batch, n, hidden), dtype, "input_tensor")
    torch.manual_seed(data.draw(st.integers(0, 2**16), label="pos seed"))
    pos: Any = torch.randn(n, hidden, dtype=dtype)
    bad_pos = None
    if bad_x is None and rarely(data, 5, "bad pos_emb?"):
        pos = data.draw(st.sampled_from([None, pos.numpy(), pos[:-1], pos.T if n != hidden else pos[:, :-1],
                                         pos.to(torch.float64 if dtype == torch.float32 else torch.float32),
                                         pos[None]]), label="bad pos_emb")
        bad_pos = "pos_emb" if kwargs["positional"] == "published" else None

    def call():
        torch.manual_seed(0)
        layer = build().to(dtype).eval()
        for p_ in layer.parameters():  # away from the initialisation (LayerNorm weights 1, biases 0)
            with torch.no_grad():
                p_.add_(0.1 * torch.randn_like(p_))
        return layer, layer(x, pos)

    if bad_x:
        return invalid(call, "input_tensor")
    if bad_pos:
        return invalid(call, "pos_emb")

    def check(result: Any) -> None:
        layer, y = result
        assert y.shape == (batch, n, hidden) and y.dtype == dtype
        tol = dict(rtol=1e-9, atol=1e-9) if dtype == torch.float64 else dict(rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(y.double(), paup_reference(layer, x, pos), **tol)
        published_setting = (kwargs["positional"], kwargs["softmax_over"], int(reduction)) == (
            "published", "queries", 16)
        if published_setting and (n % int(cfg.k1) == 0 or cfg.tail == "drop"):
            ref = published_output(layer, x, pos)
            if ref is not None:
                torch.testing.assert_close(y.double(), ref, **tol)
    return Case(call, check=check)


# ====================================================================== registry
STRATEGIES: dict[str, Callable[[Any], Case]] = {
    name[2:]: fn for name, fn in globals().items() if name.startswith("s_") and callable(fn)
}

#: Examples per name: cheap arithmetic gets more, modules with a training step fewer.
EXAMPLES = {
    "DownConv": 25, "tiled_conv1d": 30, "input_dependence": 15, "NumPyDownConv": 20,
    "SegmentAttention": 20, "FullSelfAttention": 25, "time_attention": 8,
    "conv2d_naive": 25, "Convolution": 30, "SeedStyleConvolution": 30,
    "col2im": 40, "col2im_seed_style": 40, "im2col": 40, "im2col_seed_style": 40,
    "window_coverage": 30, "same_padding": 30, "TAIL_POLICIES": 20, "Relation": 20,
    "ConvMultiHeadAttention": 15, "attention_flops": 20, "PolyphaseConvolution": 30,
    "phase_terms": 25, "conv_transpose2d_polyphase": 30, "polyphase_components": 30,
    "polyphase_kernels": 30, "pixel_shuffle": 30, "pixel_unshuffle": 30,
}
DEFAULT_EXAMPLES = 50
#: STRIDED_CONV_FUZZ_SCALE=10 (with STRIDED_CONV_FUZZ_RANDOM=1) fuzzes ten times longer.
SCALE = float(os.environ.get("STRIDED_CONV_FUZZ_SCALE", "1"))
#: Names whose calls have no invalid arguments to draw (constants and a data class).
ONE_SIDED = {"TEXTBOOK_RELATIONS"}


def test_every_public_name_has_a_strategy():
    public = set(sc.__all__)
    missing, stale = public - set(STRATEGIES), set(STRATEGIES) - public
    assert not missing, f"public names without a fuzz strategy (add s_<name> here): {sorted(missing)}"
    assert not stale, f"strategies for names that are not public: {sorted(stale)}"


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_fuzz(name, record_property):
    fuzz(name, max(1, round(SCALE * EXAMPLES.get(name, DEFAULT_EXAMPLES))), record_property)
