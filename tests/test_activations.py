"""Activations: known values, dtypes, stability at |z| = 1e4, and derivatives against finite differences."""

from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.typing import ArrayLike, NDArray

from backproplab.activations import (
    leaky_relu,
    leaky_relu_deriv,
    logsumexp,
    relu,
    relu_deriv,
    sigmoid,
    sigmoid_deriv,
    softmax,
    tanh,
    tanh_deriv,
)
from backproplab.gradcheck import num_derivative, numerical_gradient, relative_error

Fn = Callable[[ArrayLike], NDArray[np.floating]]

ELEMENTWISE: list[Fn] = [
    sigmoid,
    sigmoid_deriv,
    relu,
    relu_deriv,
    tanh,
    tanh_deriv,
    leaky_relu,
    leaky_relu_deriv,
]
ALL: list[Fn] = [*ELEMENTWISE, softmax, logsumexp]


def _leaky(z: ArrayLike) -> NDArray[np.floating]:
    return leaky_relu(z, alpha=0.1)


def _leaky_deriv(z: ArrayLike) -> NDArray[np.floating]:
    return leaky_relu_deriv(z, alpha=0.1)


# (function, its derivative, whether inputs must stay away from a kink at 0)
DERIVATIVE_PAIRS = [
    pytest.param(sigmoid, sigmoid_deriv, False, id="sigmoid"),
    pytest.param(tanh, tanh_deriv, False, id="tanh"),
    pytest.param(relu, relu_deriv, True, id="relu"),
    pytest.param(leaky_relu, leaky_relu_deriv, True, id="leaky_relu"),
    pytest.param(_leaky, _leaky_deriv, True, id="leaky_relu_alpha_0.1"),
]

shapes = st.tuples(st.integers(1, 6), st.integers(1, 6))
seeds = st.integers(0, 2**32 - 1)


def _inputs(shape: tuple[int, ...], seed: int, away_from_kink: bool) -> NDArray[np.float64]:
    """Random float64 inputs in [-3, 3]; with ``away_from_kink``, every ``|z| >= 0.01``."""
    rng = np.random.default_rng(seed)
    if not away_from_kink:
        return rng.uniform(-3.0, 3.0, size=shape)
    z = rng.uniform(0.01, 3.0, size=shape)
    z[rng.random(shape) < 0.5] *= -1.0
    return z


# --- known values -------------------------------------------------------------------------------


def test_sigmoid_of_zero_is_one_half() -> None:
    assert sigmoid(0.0) == 0.5


def test_sigmoid_at_log_3_is_three_quarters() -> None:
    np.testing.assert_allclose(sigmoid([np.log(3.0), -np.log(3.0)]), [0.75, 0.25], rtol=1e-15)


def test_sigmoid_of_minus_z_is_one_minus_sigmoid_of_z() -> None:
    z = np.linspace(-8.0, 8.0, 33)
    np.testing.assert_allclose(sigmoid(-z), 1.0 - sigmoid(z), rtol=0, atol=1e-15)


def test_sigmoid_deriv_peaks_at_one_quarter_at_zero() -> None:
    assert sigmoid_deriv(0.0) == 0.25


def test_relu_zeroes_negatives_and_keeps_positives() -> None:
    np.testing.assert_array_equal(relu([-2.0, -0.5, 0.0, 0.5, 3.0]), [0.0, 0.0, 0.0, 0.5, 3.0])


def test_relu_deriv_is_zero_at_the_kink_as_in_pytorch() -> None:
    assert relu_deriv(0.0) == 0.0
    np.testing.assert_array_equal(relu_deriv([-1.0, 0.0, -0.0, 1e-300]), [0.0, 0.0, 0.0, 1.0])


def test_leaky_relu_scales_negatives_by_alpha() -> None:
    np.testing.assert_allclose(leaky_relu([-2.0, 0.0, 3.0], alpha=0.1), [-0.2, 0.0, 3.0], rtol=1e-15)


def test_leaky_relu_default_alpha_is_0_01() -> None:
    np.testing.assert_allclose(leaky_relu([-2.0]), [-0.02], rtol=1e-15)


def test_leaky_relu_deriv_is_one_above_zero_and_alpha_elsewhere() -> None:
    np.testing.assert_array_equal(leaky_relu_deriv([-2.0, 0.0, 3.0], alpha=0.1), [0.1, 0.1, 1.0])


def test_tanh_matches_numpy() -> None:
    z = np.linspace(-5.0, 5.0, 21)
    np.testing.assert_array_equal(tanh(z), np.tanh(z))


def test_tanh_deriv_is_one_at_zero() -> None:
    assert tanh_deriv(0.0) == 1.0


def test_softmax_known_value() -> None:
    np.testing.assert_allclose(softmax([[0.0, np.log(3.0)]]), [[0.25, 0.75]], rtol=1e-15)


@given(z=hnp.arrays(np.float64, shapes, elements=st.floats(-1e4, 1e4)))
@example(z=np.array([[7.0]]))
def test_softmax_rows_are_probabilities(z: NDArray[np.float64]) -> None:
    p = softmax(z)
    assert p.shape == z.shape
    assert np.all(p >= 0.0)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=0, atol=1e-12)


@given(
    z=hnp.arrays(np.float64, shapes, elements=st.floats(-50.0, 50.0)),
    c=st.floats(-100.0, 100.0),
)
def test_softmax_is_invariant_to_adding_a_constant_per_row(z: NDArray[np.float64], c: float) -> None:
    shift = c * np.arange(1, z.shape[0] + 1)[:, None]  # a different constant for each row
    np.testing.assert_allclose(softmax(z + shift), softmax(z), rtol=1e-11, atol=0)


def test_softmax_axis_0_normalises_columns() -> None:
    z = np.random.default_rng(0).standard_normal((4, 3))
    np.testing.assert_allclose(softmax(z, axis=0), softmax(z.T, axis=1).T, rtol=1e-15)
    np.testing.assert_allclose(softmax(z, axis=0).sum(axis=0), 1.0, rtol=1e-15)


@given(z=hnp.arrays(np.float64, shapes, elements=st.floats(-20.0, 20.0)))
@example(z=np.array([[0.5]]))
def test_logsumexp_equals_log_of_sum_of_exp_on_small_inputs(z: NDArray[np.float64]) -> None:
    np.testing.assert_allclose(logsumexp(z), np.log(np.sum(np.exp(z), axis=-1)), rtol=1e-12, atol=1e-12)


def test_logsumexp_drops_the_axis_by_default_and_keeps_it_with_keepdims() -> None:
    z = np.random.default_rng(1).standard_normal((4, 3))
    assert logsumexp(z).shape == (4,)
    assert logsumexp(z, keepdims=True).shape == (4, 1)
    assert logsumexp(z, axis=0).shape == (3,)
    assert logsumexp(z, axis=0, keepdims=True).shape == (1, 3)
    np.testing.assert_array_equal(logsumexp(z, keepdims=True)[:, 0], logsumexp(z))


def test_logsumexp_along_axis_0_reduces_columns() -> None:
    z = np.random.default_rng(2).standard_normal((4, 3))
    np.testing.assert_allclose(logsumexp(z, axis=0), np.log(np.sum(np.exp(z), axis=0)), rtol=1e-14)


# --- dtypes and input types ---------------------------------------------------------------------


@pytest.mark.parametrize("fn", ALL)
def test_float32_input_gives_float32_output(fn: Fn) -> None:
    z = np.linspace(-3.0, 3.0, 12, dtype=np.float32).reshape(3, 4)
    assert fn(z).dtype == np.float32


@pytest.mark.parametrize("fn", ALL)
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8, np.bool_])
def test_integer_or_bool_input_is_promoted_to_float64(fn: Fn, dtype: type[np.generic]) -> None:
    z = np.arange(6).reshape(2, 3).astype(dtype)
    out = fn(z)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, fn(z.astype(np.float64)), rtol=1e-15)


@pytest.mark.parametrize("fn", ALL)
def test_non_numeric_input_raises_type_error(fn: Fn) -> None:
    with pytest.raises(TypeError, match="numeric"):
        fn(np.array([["a", "b"]]))


# --- stability ----------------------------------------------------------------------------------

EXTREME = [-1e4, -1e3, -40.0, -1.0, 0.0, 1.0, 40.0, 1e3, 1e4]


@pytest.mark.parametrize("fn", ALL)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_inputs_up_to_1e4_give_finite_output_without_warnings(fn: Fn, dtype: type[np.floating]) -> None:
    z = np.array([EXTREME, EXTREME[::-1]], dtype=dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out = fn(z)
    assert np.all(np.isfinite(out))


def test_sigmoid_saturates_exactly_at_1e4() -> None:
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        np.testing.assert_array_equal(sigmoid([-1e4, 1e4]), [0.0, 1.0])


def test_sigmoid_lower_tail_keeps_relative_precision() -> None:
    # exp(-40) / (1 + exp(-40)); a naive 1 - sigmoid(40) would round to 0.
    np.testing.assert_allclose(sigmoid(-40.0), 4.248354255291589e-18, rtol=1e-14)


def test_sigmoid_deriv_upper_tail_keeps_relative_precision() -> None:
    # s(40) * (1 - s(40)) is 0 if computed with 1 - s(40); the true value is about exp(-40).
    np.testing.assert_allclose(sigmoid_deriv(40.0), 4.248354255291589e-18, rtol=1e-14)
    np.testing.assert_allclose(sigmoid_deriv(-40.0), 4.248354255291589e-18, rtol=1e-14)


def test_softmax_at_1e4_puts_all_mass_on_the_largest_logit() -> None:
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        p = softmax([[1e4, 0.0, -1e4], [-1e4, -1e4, 1e4]])
    np.testing.assert_array_equal(p, [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])


def test_logsumexp_at_1e4_is_shifted_exactly() -> None:
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out = logsumexp([[1e4, 1e4], [-1e4, -1e4]])
    np.testing.assert_allclose(out, [1e4 + np.log(2.0), -1e4 + np.log(2.0)], rtol=1e-15)


# --- derivatives --------------------------------------------------------------------------------


@pytest.mark.parametrize(("fn", "deriv", "kink"), DERIVATIVE_PAIRS)
@settings(deadline=None, max_examples=25)
@given(shape=shapes, seed=seeds)
@example(shape=(1, 1), seed=0)
@example(shape=(1, 6), seed=1)
@example(shape=(6, 1), seed=2)
def test_derivative_matches_five_point_central_difference(
    fn: Fn, deriv: Fn, kink: bool, shape: tuple[int, int], seed: int
) -> None:
    z = _inputs(shape, seed, away_from_kink=kink)
    G = np.random.default_rng(seed + 1).standard_normal(shape)  # random upstream gradient
    analytic = deriv(z) * G
    # sum((fn(z) - y0) * G) is sum(fn(z) * G) shifted by a constant, so it has the same gradient; but the
    # terms a perturbation does not touch are exactly 0 instead of feeding the round-off of a large sum,
    # which after differencing can reach 1e-12: the whole 1e-7 budget at relative_error's 1e-5 floor.
    y0 = fn(z).copy()
    numeric = numerical_gradient(lambda: float(np.sum((fn(z) - y0) * G)), z, h=1e-3)
    assert relative_error(analytic, numeric).max() <= 1e-7


@pytest.mark.parametrize(("fn", "deriv", "kink"), DERIVATIVE_PAIRS)
@settings(deadline=None, max_examples=25)
@given(shape=shapes, seed=seeds)
@example(shape=(1, 1), seed=0)
def test_derivative_matches_two_point_num_derivative(
    fn: Fn, deriv: Fn, kink: bool, shape: tuple[int, int], seed: int
) -> None:
    z = _inputs(shape, seed, away_from_kink=kink)
    np.testing.assert_allclose(num_derivative(fn, z, h=1e-6), deriv(z), rtol=1e-5, atol=1e-6)


def test_logsumexp_of_a_row_of_minus_infinity_is_minus_infinity_without_warning() -> None:
    assert logsumexp(np.array([[-np.inf, -np.inf], [0.0, 0.0]])).tolist() == [-np.inf, np.log(2.0)]
