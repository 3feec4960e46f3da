"""Central differences and the relative error against functions with known gradients."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from strided_conv import numerical_gradient, relative_error

finite = st.floats(-10, 10, allow_nan=False, allow_infinity=False)


@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(1, 4)), elements=finite))
def test_quadratic_gradient_is_exact_up_to_rounding(x):
    # f = sum(x^2 + 3x): central differences have no truncation error on a quadratic.
    grad = numerical_gradient(lambda a: float(np.sum(a * a + 3 * a)), x.copy(), eps=1e-4)
    np.testing.assert_allclose(grad, 2 * x + 3, rtol=1e-7, atol=1e-7)


def test_cubic_truncation_error_is_eps_squared():
    # d/dx x^3 at 1: central difference gives 3 + eps^2 exactly.
    for eps in (1e-2, 1e-3):
        g = numerical_gradient(lambda a: float(a[0] ** 3), np.array([1.0]), eps)
        assert abs(g[0] - 3 - eps**2) < 1e-9


def test_x_is_restored_exactly():
    x = np.random.default_rng(0).standard_normal((3, 2))
    before = x.copy()
    numerical_gradient(lambda a: float(np.sin(a).sum()), x)
    np.testing.assert_array_equal(x, before)


def test_f_sees_the_perturbation_in_place():
    x = np.zeros(3)
    held = x  # a layer holding a reference, like Convolution.W
    g = numerical_gradient(lambda _: float(held @ np.array([1.0, 2.0, 3.0])), x)
    np.testing.assert_allclose(g, [1.0, 2.0, 3.0], rtol=1e-9)


def test_rejects_float32():
    with pytest.raises(TypeError, match="float64 numpy.ndarray, got float32"):
        numerical_gradient(lambda a: 0.0, np.zeros(2, np.float32))


def test_rejects_non_positive_eps():
    with pytest.raises(ValueError, match="eps must be a positive"):
        numerical_gradient(lambda a: 0.0, np.zeros(2), eps=0.0)


def test_works_on_a_non_contiguous_view():
    base = np.zeros((4, 4))
    g = numerical_gradient(lambda a: float(np.sum(base * np.arange(16.0).reshape(4, 4))), base[:, :2])
    np.testing.assert_allclose(g, [[0, 1], [4, 5], [8, 9], [12, 13]], rtol=1e-9)


def test_relative_error_is_normwise():
    assert relative_error(np.array([1.0, 1e-20]), np.array([1.0, 0.0])) == pytest.approx(1e-20)
    assert relative_error(np.array([2.0, 0.0]), np.array([1.0, 0.0])) == 0.5
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0


def test_relative_error_rejects_shape_mismatch():
    with pytest.raises(ValueError, match="same shape"):
        relative_error(np.zeros(3), np.zeros(4))


def test_random_cases_are_valid_and_varied():
    from strided_conv import Convolution
    from strided_conv.gradcheck import layer_results, pytorch_reference, random_conv_case

    rng = np.random.default_rng(0)
    cases = [random_conv_case(rng) for _ in range(60)]
    assert any(c.stride != (1, 1) for c in cases) and any(c.pad != (0, 0) for c in cases)
    assert any(c.x.shape[0] == 1 for c in cases) and any(c.x.shape[1] == 1 for c in cases)
    for case in cases[:10]:
        ref, got = pytorch_reference(case), layer_results(Convolution, case)
        assert ref.keys() == got.keys()
        for key in ref:
            assert ref[key].shape == got[key].shape and ref[key].dtype == np.float64
    assert random_conv_case(rng, np.float32).x.dtype == np.float32


# ---------------------------------------------------------------- issue 13 regressions
def test_rejects_a_read_only_x_by_name():
    x = np.zeros(3)
    x.flags.writeable = False
    with pytest.raises(ValueError, match=r"x must be writeable: numerical_gradient perturbs it in place"):
        numerical_gradient(lambda a: 0.0, x)


def test_rejects_bad_f_and_eps_by_name():
    with pytest.raises(TypeError, match="f must be callable"):
        numerical_gradient(3.0, np.zeros(2))
    with pytest.raises(TypeError, match="eps must be a real number, got '1e-6'"):
        numerical_gradient(lambda a: 0.0, np.zeros(2), eps="1e-6")
    with pytest.raises(TypeError, match="f must return a real scalar"):
        numerical_gradient(lambda a: a, np.zeros(2))


def test_x_is_restored_when_f_raises():
    x = np.arange(3.0)

    def f(a):
        if a[1] != 1.0:
            raise RuntimeError("boom")
        return 0.0

    with pytest.raises(RuntimeError, match="boom"):
        numerical_gradient(f, x)
    np.testing.assert_array_equal(x, [0.0, 1.0, 2.0])


def test_empty_x_gives_an_empty_gradient():
    assert numerical_gradient(lambda a: 0.0, np.zeros((0, 3))).shape == (0, 3)


def test_relative_error_does_not_overflow():
    assert relative_error(np.array([1e308]), np.array([-1e308])) == 2.0


@pytest.mark.parametrize("a, error, pattern", [
    (np.array([1 + 1j]), TypeError, "a must be an array of real numbers"),
    (["x"], TypeError, "a must be an array of real numbers"),
    (np.array([np.nan]), ValueError, "a contains inf or nan"),
])
def test_relative_error_names_the_bad_argument(a, error, pattern):
    with pytest.raises(error, match=pattern):
        relative_error(a, np.zeros(1))


def test_random_cases_with_dilation_fit_and_match_pytorch():
    from strided_conv import Convolution
    from strided_conv.gradcheck import layer_results, pytorch_reference, random_conv_case

    rng = np.random.default_rng(1)
    cases = [random_conv_case(rng, max_dilation=2) for _ in range(40)]
    assert any(c.dilation != (1, 1) for c in cases) and any(c.dilation == (1, 1) for c in cases)
    for case in cases[:15]:
        ref, got = pytorch_reference(case), layer_results(Convolution, case)
        for key in ref:
            assert relative_error(got[key], ref[key]) <= 1e-10
    # max_dilation=1 draws no dilation: the same stream as the default
    a, b = np.random.default_rng(5), np.random.default_rng(5)
    assert np.array_equal(random_conv_case(a).x, random_conv_case(b, max_dilation=1).x)
