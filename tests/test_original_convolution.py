"""The seed's layer as reproduced: correct where it is valid, and its four defects are real."""
from __future__ import annotations

import numpy as np
import pytest

from strided_conv import Convolution, col2im, conv_output_size, im2col
from strided_conv.original import convolution as original


@pytest.mark.parametrize(("shape", "k", "s", "p"), [((2, 3, 7, 7), 3, 1, 0), ((2, 3, 8, 7), 3, 2, 1), ((1, 2, 9, 6), 2, 3, 0)])
def test_original_agrees_with_the_package_on_valid_float64_input(shape, k, s, p):
    rng = np.random.default_rng(0)
    x, W, b = rng.standard_normal(shape), rng.standard_normal((4, shape[1], k, k)), rng.standard_normal(4)
    ours, seed = Convolution(W, b, s, p), original.Convolution(W, b, s, p)
    out = ours.forward(x)
    np.testing.assert_allclose(seed.forward(x), out, rtol=1e-12, atol=1e-12)
    dout = rng.standard_normal(out.shape)
    np.testing.assert_allclose(seed.backward(dout), ours.backward(dout), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(seed.dW, ours.dW, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(seed.db, ours.db, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(original.im2col(x, k, k, s, p), im2col(x, k, k, s, p))
    c = rng.standard_normal(im2col(x, k, k, s, p).shape)
    np.testing.assert_allclose(original.col2im(c, shape, k, k, s, p), col2im(c, shape, k, k, s, p), atol=1e-12)


def test_defect_int_truncation_claims_an_output_that_does_not_exist():
    # H + 2P - FH = -1, stride 2: int(-0.5) = 0 says one row, the floor says none fits.
    assert 1 + int((4 - 5) / 2) == 1 and (4 - 5) // 2 + 1 == 0
    layer = original.Convolution(np.ones((1, 1, 5, 5)), np.zeros(1), stride=2)
    with pytest.raises(ValueError, match="cannot reshape"):
        layer.forward(np.ones((1, 1, 4, 4)))
    with pytest.raises(ValueError, match="does not fit"):
        Convolution(np.ones((1, 1, 5, 5)), np.zeros(1), stride=2).forward(np.ones((1, 1, 4, 4)))


def test_defect_conv_output_size_returns_a_float():
    assert original.conv_output_size(28, 5, 2, 0) == 12.5
    assert conv_output_size(28, 5, 2, 0) == 12


def test_defect_col2im_buffer_is_stride_minus_one_too_large():
    h, w, k, s, p = 7, 7, 3, 2, 1
    oh = conv_output_size(h, k, s, p)
    col = np.ones((oh * oh, k * k))
    seed = original.col2im(col, (1, 1, h, w), k, k, s, p)
    assert seed.base.shape == (1, 1, h + 2 * p + s - 1, w + 2 * p + s - 1)
    assert col2im(col, (1, 1, h, w), k, k, s, p).base is None  # exactly (1, 1, h, w)


def test_defect_float32_input_is_promoted_to_float64():
    x = np.ones((1, 1, 5, 5), np.float32)
    layer = original.Convolution(np.ones((2, 1, 3, 3), np.float32), np.zeros(2, np.float32))
    out = layer.forward(x)
    assert layer.col.dtype == np.float64 and out.dtype == np.float64
    assert layer.backward(np.ones(out.shape, np.float32)).dtype == np.float64
    ours = Convolution(np.ones((2, 1, 3, 3), np.float32), np.zeros(2, np.float32))
    assert ours.forward(x).dtype == np.float32
