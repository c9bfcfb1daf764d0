"""Inverted dropout: the mask's statistics, its gradient, inference as the identity, reproducible masks."""

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from backproplab.gradcheck import numerical_gradient, relative_error
from backproplab.layers import Dropout, dropout_backward, dropout_forward

FArr = NDArray[np.floating[Any]]
probabilities = pytest.mark.parametrize("p", [0.1, 0.5, 0.9])


@probabilities
def test_fraction_dropped_is_p(p: float) -> None:
    x = np.ones((500, 400))
    _, mask = dropout_forward(x, p, np.random.default_rng(0))
    # 200,000 draws: the fraction's standard deviation is at most 0.0011, so 0.005 is over 4 of them
    assert abs(np.mean(mask == 0) - p) < 0.005


@probabilities
def test_mask_is_zero_or_one_over_one_minus_p(p: float) -> None:
    _, mask = dropout_forward(np.ones((50, 40)), p, np.random.default_rng(1))
    assert set(np.unique(mask)) == {0.0, 1.0 / (1.0 - p)}


@probabilities
def test_expectation_is_preserved(p: float) -> None:
    x = np.random.default_rng(2).standard_normal(1000) + 3.0
    rng = np.random.default_rng(3)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        mean_out = np.mean([dropout_forward(x, p, rng)[0] for _ in range(400)], axis=0)
    # each entry averages 400 draws of x/(1-p) or 0: relative std sqrt(p / (1-p) / 400) <= 0.15 at p=0.9;
    # averaged over 1000 entries that is <= 0.005, so 0.02 is 4 of them
    assert abs(mean_out.mean() / x.mean() - 1.0) < 0.02


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_out_and_mask_keep_the_dtype_of_x(dtype: type[np.floating]) -> None:
    out, mask = dropout_forward(np.ones((3, 4), dtype=dtype), 0.3, np.random.default_rng(4))
    assert out.dtype == mask.dtype == dtype


def test_p_zero_keeps_everything() -> None:
    x = np.random.default_rng(5).standard_normal((4, 3))
    out, mask = dropout_forward(x, 0.0, np.random.default_rng(6))
    np.testing.assert_array_equal(out, x)
    np.testing.assert_array_equal(mask, 1.0)


def test_same_seed_gives_the_same_mask_and_another_seed_another() -> None:
    x = np.ones((20, 30))
    _, first = dropout_forward(x, 0.5, np.random.default_rng(7))
    _, again = dropout_forward(x, 0.5, np.random.default_rng(7))
    _, other = dropout_forward(x, 0.5, np.random.default_rng(8))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


@settings(max_examples=20, deadline=None)
@given(
    shape=st.lists(st.integers(1, 6), min_size=1, max_size=4).map(tuple),
    p=st.floats(0.0, 0.95),
    seed=st.integers(0, 2**32 - 1),
)
def test_backward_is_dout_times_mask_and_matches_finite_differences(
    shape: tuple[int, ...], p: float, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    x, dout = rng.standard_normal(shape), rng.standard_normal(shape)
    _, mask = dropout_forward(x, p, rng)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        dx = dropout_backward(dout, mask)
        np.testing.assert_array_equal(dx, dout * mask)
        # with the mask fixed, dropout is the linear map x -> x * mask
        numeric = numerical_gradient(lambda: float(np.sum(x * mask * dout)), x)
    assert float(relative_error(dx, numeric).max()) <= 1e-7


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5, np.nan])
def test_p_outside_zero_one_raises(p: float) -> None:
    with pytest.raises(ValueError, match=r"p must lie in \[0, 1\), got"):
        dropout_forward(np.ones(3), p, np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"p must lie in \[0, 1\), got"):
        Dropout(p)


def test_backward_rejects_dout_of_another_shape() -> None:
    _, mask = dropout_forward(np.ones((3, 2)), 0.5, np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"dout must have the mask's shape \(3, 2\), got \(2, 3\)"):
        dropout_backward(np.ones((2, 3)), mask)


# ----- the layer ----------------------------------------------------------------------------------
def test_layer_in_training_drops_with_its_rng_and_backward_uses_the_same_mask() -> None:
    x, dy = np.random.default_rng(9).standard_normal((2, 8, 10))
    layer = Dropout(0.4, rng=np.random.default_rng(10))
    out = layer.forward(x)
    expected, mask = dropout_forward(x, 0.4, np.random.default_rng(10))
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(layer.backward(dy), dy * mask)


def test_layer_in_eval_mode_is_the_identity_forward_and_backward() -> None:
    x, dy = np.random.default_rng(11).standard_normal((2, 5, 6))
    layer = Dropout(0.5, rng=np.random.default_rng(12))
    layer.train(False)
    assert layer.forward(x) is x
    assert layer.backward(dy) is dy


def test_layer_backward_follows_the_mode_of_the_last_forward() -> None:
    x, dy = np.random.default_rng(13).standard_normal((2, 5, 6))
    layer = Dropout(0.5, rng=np.random.default_rng(14))
    out = layer.forward(x)
    layer.train(False)  # switched after the forward: backward must still apply the mask
    np.testing.assert_array_equal(layer.backward(dy) == 0, out == 0)
    layer.forward(x)  # now an inference forward
    layer.train(True)
    assert layer.backward(dy) is dy


def test_replacing_the_layer_rng_reproduces_a_batch_mask() -> None:
    x = np.ones((10, 10))
    layer = Dropout(0.5)
    layer.rng = np.random.default_rng(15)
    first = layer.forward(x)
    second = layer.forward(x)  # the rng moved on: another mask
    layer.rng = np.random.default_rng(15)
    np.testing.assert_array_equal(layer.forward(x), first)
    assert not np.array_equal(first, second)


def test_layer_backward_before_forward_raises() -> None:
    with pytest.raises(RuntimeError, match=r"Dropout\.backward called before forward"):
        Dropout(0.5).backward(np.ones(3))
