"""im2col / col2im against a brute-force oracle, the adjoint identity, dtypes, memory, bad input."""
from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strided_conv import (
    col2im,
    col2im_seed_style,
    conv_output_size,
    im2col,
    im2col_seed_style,
    im2col_size,
    window_coverage,
)


@st.composite
def geometries(draw):
    """A random valid 2-D convolution geometry, including strides that do not divide."""
    fh, fw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    p = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    d = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    h = draw(st.integers(max(1, d[0] * (fh - 1) + 1 - 2 * p[0]), 9))
    w = draw(st.integers(max(1, d[1] * (fw - 1) + 1 - 2 * p[1]), 9))
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    return (n, c, h, w), fh, fw, s, p, d


def brute_im2col(x, fh, fw, s, p, d):
    """The definition: one row per window, entries in (c, u, v) order, read one by one."""
    n, c, h, w = x.shape
    oh = conv_output_size(h, fh, s[0], p[0], d[0])
    ow = conv_output_size(w, fw, s[1], p[1], d[1])
    col = np.zeros((n * oh * ow, c * fh * fw), dtype=x.dtype)
    for r in range(n * oh * ow):
        b, i, j = r // (oh * ow), (r // ow) % oh, r % ow
        for k in range(c * fh * fw):
            ch, u, v = k // (fh * fw), (k // fw) % fh, k % fw
            row, column = i * s[0] + u * d[0] - p[0], j * s[1] + v * d[1] - p[1]
            if 0 <= row < h and 0 <= column < w:
                col[r, k] = x[b, ch, row, column]
    return col


@settings(max_examples=60, deadline=None)
@given(geometries(), st.integers(0, 2**32 - 1))
def test_im2col_matches_the_definition(geo, seed):
    shape, fh, fw, s, p, d = geo
    x = np.random.default_rng(seed).integers(-9, 10, size=shape)
    expected = brute_im2col(x, fh, fw, s, p, d)
    np.testing.assert_array_equal(im2col(x, fh, fw, s, p, d), expected)
    np.testing.assert_array_equal(im2col_seed_style(x, fh, fw, s, p, d), expected)
    stale = np.asfortranarray(np.full_like(expected, 7))  # a buffer holding other values
    refilled = im2col(x, fh, fw, s, p, d, out=stale)
    assert refilled is stale
    np.testing.assert_array_equal(refilled, expected)


@settings(max_examples=60, deadline=None)
@given(geometries(), st.integers(0, 2**32 - 1))
def test_col2im_is_the_adjoint_of_im2col(geo, seed):
    shape, fh, fw, s, p, d = geo
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    c = rng.standard_normal(im2col(x, fh, fw, s, p, d).shape)
    lhs = np.vdot(im2col(x, fh, fw, s, p, d), c)
    for back in (col2im, col2im_seed_style):
        rhs = np.vdot(x, back(c, shape, fh, fw, s, p, d))
        assert abs(lhs - rhs) <= 1e-12 * (np.abs(x).sum() * np.abs(c).max() + 1)


@settings(max_examples=40, deadline=None)
@given(geometries(), st.integers(0, 2**32 - 1))
def test_col2im_of_im2col_scales_by_the_coverage(geo, seed):
    shape, fh, fw, s, p, d = geo
    x = np.random.default_rng(seed).integers(-9, 10, size=shape)
    cover = window_coverage(shape[2], shape[3], fh, fw, s, p, d)
    got = col2im(im2col(x, fh, fw, s, p, d), shape, fh, fw, s, p, d)
    np.testing.assert_array_equal(got, x * cover)


@settings(max_examples=40, deadline=None)
@given(geometries())
def test_window_coverage_counts_windows_one_by_one(geo):
    (_, _, h, w), fh, fw, s, p, d = geo
    oh = conv_output_size(h, fh, s[0], p[0], d[0])
    ow = conv_output_size(w, fw, s[1], p[1], d[1])
    count = np.zeros((h, w), dtype=np.int64)
    for i in range(oh):
        for j in range(ow):
            for u in range(fh):
                for v in range(fw):
                    row, column = i * s[0] + u * d[0] - p[0], j * s[1] + v * d[1] - p[1]
                    if 0 <= row < h and 0 <= column < w:
                        count[row, column] += 1
    np.testing.assert_array_equal(window_coverage(h, w, fh, fw, s, p, d), count)


def test_uncovered_tail_has_zero_coverage():
    # 8 rows, kernel 3, stride 2: windows start at 0, 2, 4; row 7 is never read.
    cover = window_coverage(8, 8, 3, 3, 2)
    assert (cover[7, :] == 0).all() and (cover[:, 7] == 0).all()
    assert (cover[:7, :7] > 0).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.float16])
def test_dtype_is_kept(dtype):
    x = np.ones((2, 3, 6, 5), dtype=dtype)
    col = im2col(x, 3, 2, 2, 1)
    assert col.dtype == dtype and im2col_seed_style(x, 3, 2, 2, 1).dtype == dtype
    assert col2im(col, x.shape, 3, 2, 2, 1).dtype == dtype
    assert col2im_seed_style(col, x.shape, 3, 2, 2, 1).dtype == dtype


def test_col2im_allocates_only_the_input():
    col = np.ones((4 * 4, 9))
    dx = col2im(col, (1, 1, 7, 7), 3, 3, stride=2, pad=1)
    assert dx.shape == (1, 1, 7, 7) and dx.base is None
    seed = col2im_seed_style(col, (1, 1, 7, 7), 3, 3, stride=2, pad=1)
    assert seed.base.shape == (1, 1, 9, 9)  # H + 2P, not the seed's H + 2P + S - 1


def test_im2col_makes_one_copy_of_col():
    x = np.ones((4, 8, 32, 32))
    col_bytes = im2col_size(x.shape, 3, 3, 1, 1) * 8
    padded_bytes = 4 * 8 * 34 * 34 * 8
    tracemalloc.start()
    col = im2col(x, 3, 3, 1, 1)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert col.nbytes == col_bytes
    assert peak <= col_bytes + padded_bytes + 64 * 1024


@pytest.mark.parametrize(
    ("shape", "k", "s", "p", "ratio"),
    [((1, 1, 32, 32), 3, 1, 1, 9.0), ((1, 1, 32, 32), 3, 2, 1, 2.25), ((1, 3, 224, 224), 7, 2, 3, 12.25)],
)
def test_im2col_size_blow_up(shape, k, s, p, ratio):
    n, c, h, w = shape
    assert im2col_size(shape, k, k, s, p) / (n * c * h * w) == ratio
    assert im2col(np.zeros(shape, np.float32), k, k, s, p).size == im2col_size(shape, k, k, s, p)


def test_im2col_rejects_3d_input():
    with pytest.raises(ValueError, match="4-D"):
        im2col(np.zeros((1, 4, 4)), 3, 3)


def test_im2col_rejects_a_list():
    with pytest.raises(TypeError, match="numpy.ndarray"):
        im2col([[[[1.0]]]], 1, 1)


def test_im2col_rejects_object_dtype():
    with pytest.raises(TypeError, match="numeric dtype"):
        im2col(np.zeros((1, 1, 3, 3), dtype=object), 1, 1)


def test_im2col_rejects_kernel_larger_than_padded_input():
    with pytest.raises(ValueError, match="does not fit"):
        im2col(np.zeros((1, 1, 4, 4)), 5, 3, stride=2)


def test_im2col_rejects_stride_zero():
    with pytest.raises(ValueError, match="stride must be >= 1"):
        im2col(np.zeros((1, 1, 4, 4)), 3, 3, stride=0)


def test_im2col_rejects_negative_pad():
    with pytest.raises(ValueError, match="pad.* must be >= 0"):
        im2col(np.zeros((1, 1, 4, 4)), 3, 3, pad=(0, -1))


def test_im2col_rejects_float_filter_size():
    with pytest.raises(TypeError, match="filter_h"):
        im2col(np.zeros((1, 1, 4, 4)), 2.0, 2)


def test_col2im_rejects_wrong_col_shape():
    with pytest.raises(ValueError, match=r"col must have shape .*\(4, 9\)"):
        col2im(np.zeros((4, 8)), (1, 1, 4, 4), 3, 3)


def test_col2im_rejects_bad_input_shape():
    with pytest.raises(ValueError, match="4-D"):
        col2im(np.zeros((4, 9)), (1, 4, 4), 3, 3)


def test_im2col_out_must_match_shape_dtype_and_order():
    x = np.zeros((2, 3, 5, 5))
    good = im2col(x, 3, 3)
    for bad in (np.zeros((good.shape[0], good.shape[1] + 1), order="F"),
                good.astype(np.float32), np.ascontiguousarray(good)):
        with pytest.raises(ValueError, match=r"out must be a Fortran-ordered array of shape \(N\*OH\*OW"):
            im2col(x, 3, 3, out=bad)
    with pytest.raises(TypeError, match="out must be a numpy.ndarray or None, got list"):
        im2col(x, 3, 3, out=[])


# ---------------------------------------------------------------- issue 13 regressions
from strided_conv import conv_geometry  # noqa: E402


@pytest.mark.parametrize("pad", [0, 1])
def test_empty_batch_gives_empty_results_like_pytorch(pad):
    import torch

    x = np.zeros((0, 3, 9, 8))
    expected_rows = 0
    for unfold in (im2col, im2col_seed_style):
        col = unfold(x, 3, 3, 2, pad)
        assert col.shape == (expected_rows, 27) and col.dtype == x.dtype
    for fold in (col2im, col2im_seed_style):
        assert fold(np.zeros((0, 27)), (0, 3, 9, 8), 3, 3, 2, pad).shape == (0, 3, 9, 8)
    assert im2col_size((0, 3, 9, 8), 3, 3, 2, pad) == 0
    g = conv_geometry((0, 3, 9, 8), 3, 3, 2, pad)
    torch_out = torch.nn.functional.unfold(torch.zeros(0, 3, 9, 8), 3, padding=pad, stride=2)
    assert torch_out.shape == (0, 27, g.OH * g.OW)


def _ones_col(value, dtype, shape=(1, 1, 5, 5), k=3, pad=2):
    g = conv_geometry(shape, k, k, 1, pad)
    return np.full((g.N * g.OH * g.OW, g.C * k * k), value, dtype=dtype), shape, k, pad


@pytest.mark.parametrize("fold", [col2im, col2im_seed_style])
def test_int8_sums_that_do_not_fit_raise_instead_of_wrapping(fold):
    col, shape, k, pad = _ones_col(100, np.int8)  # every pixel sums 9 entries: 900
    with pytest.raises(ValueError, match=r"col: a pixel's sum is 900, which does not fit col's dtype int8"):
        fold(col, shape, k, k, 1, pad)


@pytest.mark.parametrize("fold", [col2im, col2im_seed_style])
@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16, np.int64])
def test_integer_sums_are_exact_in_the_input_dtype(fold, dtype):
    col, shape, k, pad = _ones_col(10, dtype)  # 90 fits every one of these dtypes
    got = fold(col, shape, k, k, 1, pad)
    assert got.dtype == dtype and (got == 90).all()


@pytest.mark.parametrize("fold", [col2im, col2im_seed_style])
def test_partial_sums_may_exceed_the_dtype_when_the_result_fits(fold):
    # +100 and -100 alternate: 9 * 100 could overflow int8, the true sums do not.
    col, shape, k, pad = _ones_col(100, np.int8)
    col[:, 1::2] = -100
    expected = fold(col.astype(np.int64), shape, k, k, 1, pad)
    got = fold(col, shape, k, k, 1, pad)
    assert got.dtype == np.int8 and np.array_equal(got, expected)


@pytest.mark.parametrize("fold", [col2im, col2im_seed_style])
def test_int64_sums_beyond_int64_are_exact_or_refused(fold):
    big = 2**62
    col, shape, k, pad = _ones_col(big, np.int64)
    with pytest.raises(ValueError, match=r"a pixel's sum is 41505174165846491136"):
        fold(col, shape, k, k, 1, pad)  # 9 * 2**62 does not fit int64
    col[:, 1::2] = -big  # sums are +-2**62 or 0: fit, although partial sums might not
    got = fold(col, shape, k, k, 1, pad)
    expected = fold(col // big, shape, k, k, 1, pad).astype(object) * big  # linear: exact
    assert got.dtype == np.int64 and got.tolist() == expected.tolist()


@pytest.mark.parametrize("fold", [col2im, col2im_seed_style])
def test_float16_overflow_raises_and_float16_sums_in_float32(fold):
    col, shape, k, pad = _ones_col(30000, np.float16)  # 9 * 30000 > 65504
    with pytest.raises(ValueError, match=r"col: the sums overflow float16 .*every entry of col is finite"):
        fold(col, shape, k, k, 1, pad)
    col[:, 1::2] = -30000  # partial sums leave float16's range, the totals do not
    got = fold(col, shape, k, k, 1, pad)
    expected = fold(col.astype(np.float64), shape, k, k, 1, pad).astype(np.float16)
    assert got.dtype == np.float16 and np.array_equal(got, expected)


@pytest.mark.parametrize("fold", [col2im, col2im_seed_style])
def test_float32_overflow_raises_but_inf_in_col_propagates(fold):
    col, shape, k, pad = _ones_col(3e38, np.float32)
    with pytest.raises(ValueError, match="overflow float32"):
        fold(col, shape, k, k, 1, pad)
    col, shape, k, pad = _ones_col(1.0, np.float32)
    col[-1, 0] = np.inf  # the last window's first tap reads pixel (4, 4)
    got = fold(col, shape, k, k, 1, pad)
    assert np.isinf(got).sum() == 1 and np.isfinite(got).sum() == got.size - 1


def test_bool_col_is_refused():
    with pytest.raises(TypeError, match="col has dtype bool"):
        col2im(np.ones((9, 1), dtype=bool), (1, 1, 3, 3), 1, 1)


@pytest.mark.parametrize("bad, error, pattern", [
    (5, TypeError, r"input_shape must be a tuple of 4 ints \(N, C, H, W\), got 5 of type int"),
    ("1234", TypeError, r"input_shape must be a tuple of 4 ints"),
    ((1, 1, 5), ValueError, r"input_shape must be 4-D \(N, C, H, W\): 4 ints, got 3 entries"),
    ((1, 1, 5, 5.0), TypeError, r"input_shape\[3\] \(W\) must be an int"),
    ((-1, 1, 5, 5), ValueError, r"input_shape\[0\] \(N\) must be >= 0"),
])
def test_col2im_input_shape_errors_name_input_shape(bad, error, pattern):
    with pytest.raises(error, match=pattern):
        col2im(np.zeros((9, 9)), bad, 3, 3)


def test_kernel_that_does_not_fit_is_described_in_2d_terms():
    with pytest.raises(ValueError) as info:
        im2col(np.zeros((1, 1, 4, 4)), 5, 3, stride=2)
    message = str(info.value)
    assert "filter_h=5" in message and "padded height H + 2*pad = 4 + 2*0 = 4" in message
    assert "input_size" not in message and "kernel_size" not in message
    with pytest.raises(ValueError, match=r"filter_w=9 .* columns, more than the padded width"):
        window_coverage(4, 4, 3, 9)


def test_sizes_no_array_can_have_raise_value_error_naming_the_arguments():
    x = np.zeros((1, 1, 4, 4))
    with pytest.raises(ValueError, match=r"the col matrix .* more than any array can hold.*pad="):
        im2col(x, 1, 1, pad=10**20)
    assert (window_coverage(4, 4, 1, 1, pad=10**20) == 1).all()  # no col matrix needed
    with pytest.raises(ValueError, match=r"more than int64 holds: filter_h=1000000000000000000000000000000"):
        window_coverage(4, 4, 10**30, 1, pad=10**30)  # each row read by 10**30 windows
    with pytest.raises(ValueError, match=r"the result \(N, C, H, W\) would have shape"):
        col2im(np.zeros((0, 1)), (0, 1, 10**30, 1), 1, 1)


def test_huge_stride_and_dilation_with_one_window_or_tap_work():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    assert im2col(x, 1, 1, stride=10**30, dilation=10**30).tolist() == [[0.0]]
    assert im2col_seed_style(x, 1, 1, stride=10**30).tolist() == [[0.0]]
    dx = col2im(np.ones((1, 1)), (1, 1, 4, 4), 1, 1, stride=10**30)
    assert dx.sum() == 1 and dx[0, 0, 0, 0] == 1
