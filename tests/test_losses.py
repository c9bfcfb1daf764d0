"""Losses: values, fused gradients against finite differences, stability on huge logits, input errors."""

import re
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from backproplab.activations import sigmoid, softmax
from backproplab.gradcheck import numerical_gradient, relative_error
from backproplab.losses import (
    binary_cross_entropy,
    categorical_cross_entropy,
    mse_loss,
    one_hot,
    sigmoid_binary_cross_entropy,
    softmax_cross_entropy,
)

seeds = st.integers(0, 2**32 - 1)
LossAt = Callable[[], tuple[float, NDArray[np.floating]]]


def _shapes_in_message(*shapes: tuple[int, ...]) -> str:
    """A ``match`` pattern requiring every shape, in order, in the error message."""
    return ".*".join(re.escape(str(s)) for s in shapes)


# --- values -------------------------------------------------------------------------------------


def test_binary_cross_entropy_known_value() -> None:
    loss = binary_cross_entropy([1.0, 0.0], [0.8, 0.3])
    assert loss == pytest.approx(-(np.log(0.8) + np.log(0.7)) / 2, rel=1e-14)


def test_binary_cross_entropy_clips_certain_predictions_to_a_finite_loss() -> None:
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        wrong = binary_cross_entropy([1.0, 0.0], [0.0, 1.0])
        right = binary_cross_entropy([1.0, 0.0], [1.0, 0.0])
    assert wrong == pytest.approx(-np.log(1e-15), rel=1e-3)
    assert 0.0 <= right < 1e-14


def test_categorical_cross_entropy_known_value() -> None:
    y = [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]
    p = [[0.2, 0.5, 0.3], [0.9, 0.05, 0.05]]
    assert categorical_cross_entropy(y, p) == pytest.approx(-(np.log(0.5) + np.log(0.9)) / 2, rel=1e-14)


def test_softmax_cross_entropy_is_logsumexp_minus_the_true_logit() -> None:
    z = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 0.0]])
    expected = np.mean(np.log(np.exp(z).sum(axis=1)) - z[[0, 1], [2, 0]])
    loss, _ = softmax_cross_entropy(z, np.array([2, 0]))
    assert loss == pytest.approx(expected, rel=1e-14)


def test_softmax_cross_entropy_gradient_is_softmax_minus_one_hot_over_n() -> None:
    z = np.random.default_rng(0).standard_normal((4, 3))
    labels = np.array([0, 2, 1, 2])
    _, dz = softmax_cross_entropy(z, labels)
    np.testing.assert_allclose(dz, (softmax(z) - one_hot(labels, 3)) / 4, rtol=1e-14)


def test_softmax_cross_entropy_gives_the_same_result_for_int_and_one_hot_labels() -> None:
    rng = np.random.default_rng(1)
    z = rng.standard_normal((5, 4))
    labels = rng.integers(0, 4, size=5)
    loss_int, dz_int = softmax_cross_entropy(z, labels)
    loss_onehot, dz_onehot = softmax_cross_entropy(z, one_hot(labels, 4))
    assert loss_onehot == pytest.approx(loss_int, rel=1e-14)
    np.testing.assert_allclose(dz_onehot, dz_int, rtol=1e-14, atol=1e-17)


def test_sigmoid_binary_cross_entropy_at_zero_logit_is_log_2() -> None:
    loss, _ = sigmoid_binary_cross_entropy([0.0, 0.0], [1.0, 0.0])
    assert loss == pytest.approx(np.log(2.0), rel=1e-15)


def test_mse_loss_known_value_and_gradient() -> None:
    loss, dpred = mse_loss([[1.0, 2.0]], [[0.0, 0.0]])
    assert loss == 2.5
    np.testing.assert_array_equal(dpred, [[1.0, 2.0]])


# --- fused vs unfused ---------------------------------------------------------------------------


@given(n=st.integers(1, 8), k=st.integers(1, 6), seed=seeds)
@example(n=1, k=1, seed=0)
def test_softmax_cross_entropy_matches_softmax_then_categorical_cross_entropy(n: int, k: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    z = rng.uniform(-5.0, 5.0, size=(n, k))
    labels = rng.integers(0, k, size=n)
    fused, _ = softmax_cross_entropy(z, labels)
    assert fused == pytest.approx(categorical_cross_entropy(one_hot(labels, k), softmax(z)), rel=1e-10, abs=1e-14)


@given(n=st.integers(1, 8), seed=seeds)
@example(n=1, seed=0)
def test_sigmoid_binary_cross_entropy_matches_sigmoid_then_binary_cross_entropy(n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    z = rng.uniform(-5.0, 5.0, size=(n, 1))
    y = rng.integers(0, 2, size=(n, 1)).astype(np.float64)
    fused, _ = sigmoid_binary_cross_entropy(z, y)
    assert fused == pytest.approx(binary_cross_entropy(y, sigmoid(z)), rel=1e-10)


# --- fused gradients against finite differences -------------------------------------------------


def _max_rel_error(loss_at: LossAt, z: NDArray[np.float64]) -> float:
    """Max relative error between the loss's returned gradient and a five-point difference of its value."""
    _, analytic = loss_at()
    numeric = numerical_gradient(lambda: loss_at()[0], z, h=1e-3)
    return float(relative_error(analytic, numeric).max())


@settings(deadline=None)
@given(n=st.integers(1, 8), k=st.integers(1, 6), seed=seeds)
@example(n=1, k=1, seed=0)
@example(n=1, k=6, seed=1)
def test_softmax_cross_entropy_gradient_matches_numerical_gradient(n: int, k: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    z = rng.uniform(-3.0, 3.0, size=(n, k))
    labels = rng.integers(0, k, size=n)
    assert _max_rel_error(lambda: softmax_cross_entropy(z, labels), z) <= 1e-7


@settings(deadline=None)
@given(n=st.integers(1, 8), k=st.integers(1, 6), seed=seeds)
@example(n=1, k=1, seed=0)
def test_softmax_cross_entropy_gradient_with_soft_labels_matches_numerical_gradient(n: int, k: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    z = rng.uniform(-3.0, 3.0, size=(n, k))
    target = softmax(rng.standard_normal((n, k)))  # probability rows, not one-hot
    assert _max_rel_error(lambda: softmax_cross_entropy(z, target), z) <= 1e-7


@settings(deadline=None)
@given(shape=st.sampled_from([(1,), (1, 1), (8,), (8, 1), (3, 4)]), seed=seeds)
def test_sigmoid_binary_cross_entropy_gradient_matches_numerical_gradient(shape: tuple[int, ...], seed: int) -> None:
    rng = np.random.default_rng(seed)
    z = rng.uniform(-3.0, 3.0, size=shape)
    y = rng.uniform(0.0, 1.0, size=shape)  # soft targets exercise the full formula
    assert _max_rel_error(lambda: sigmoid_binary_cross_entropy(z, y), z) <= 1e-7


@settings(deadline=None)
@given(n=st.integers(1, 8), d=st.integers(1, 6), seed=seeds)
@example(n=1, d=1, seed=0)
def test_mse_loss_gradient_matches_numerical_gradient(n: int, d: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    pred = rng.standard_normal((n, d))
    target = rng.standard_normal((n, d))
    assert _max_rel_error(lambda: mse_loss(pred, target), pred) <= 1e-7


# --- stability on huge logits -------------------------------------------------------------------

HUGE = np.array([[1e4, 0.0, -1e4]])


@pytest.mark.parametrize(("label", "expected"), [(0, 0.0), (1, 1e4), (2, 2e4)])
def test_softmax_cross_entropy_on_huge_logits_is_the_margin_to_the_top_logit(label: int, expected: float) -> None:
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss, dz = softmax_cross_entropy(HUGE, np.array([label]))
    assert loss == pytest.approx(expected, rel=1e-15, abs=1e-15)
    assert np.all(np.isfinite(dz))


def test_softmax_cross_entropy_on_huge_logits_with_one_hot_labels_is_finite() -> None:
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss, dz = softmax_cross_entropy(HUGE, one_hot([1], 3))
    assert loss == pytest.approx(1e4, rel=1e-15)
    np.testing.assert_array_equal(dz, [[1.0, -1.0, 0.0]])


@pytest.mark.parametrize(
    ("z", "y", "expected"),
    [(1e4, 1.0, 0.0), (-1e4, 0.0, 0.0), (1e4, 0.0, 1e4), (-1e4, 1.0, 1e4)],
)
def test_sigmoid_binary_cross_entropy_on_huge_logits_is_zero_or_the_margin(z: float, y: float, expected: float) -> None:
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss, dz = sigmoid_binary_cross_entropy(np.array([z]), np.array([y]))
    assert loss == pytest.approx(expected, rel=1e-15, abs=1e-15)
    np.testing.assert_array_equal(dz, [1.0 - y if z > 0 else -y])


# --- mean over the batch ------------------------------------------------------------------------


def test_duplicating_the_batch_leaves_every_loss_unchanged() -> None:
    rng = np.random.default_rng(2)
    z = rng.standard_normal((3, 4))
    labels = np.array([0, 3, 1])
    y01 = rng.integers(0, 2, size=(3, 4)).astype(np.float64)

    def twice(a: NDArray[np.generic]) -> NDArray[np.generic]:
        return np.concatenate([a, a])

    pairs = [
        (softmax_cross_entropy(z, labels)[0], softmax_cross_entropy(twice(z), twice(labels))[0]),
        (sigmoid_binary_cross_entropy(z, y01)[0], sigmoid_binary_cross_entropy(twice(z), twice(y01))[0]),
        (mse_loss(z, y01)[0], mse_loss(twice(z), twice(y01))[0]),
        (binary_cross_entropy(y01, sigmoid(z)), binary_cross_entropy(twice(y01), twice(sigmoid(z)))),
        (
            categorical_cross_entropy(one_hot(labels, 4), softmax(z)),
            categorical_cross_entropy(twice(one_hot(labels, 4)), twice(softmax(z))),
        ),
    ]
    for single, doubled in pairs:
        assert doubled == pytest.approx(single, rel=1e-14)


def test_duplicating_the_batch_halves_each_rows_gradient() -> None:
    rng = np.random.default_rng(3)
    z = rng.standard_normal((3, 4))
    labels = np.array([2, 0, 1])
    _, dz = softmax_cross_entropy(z, labels)
    _, dz2 = softmax_cross_entropy(np.concatenate([z, z]), np.concatenate([labels, labels]))
    np.testing.assert_allclose(dz2, np.concatenate([dz, dz]) / 2, rtol=1e-14)


# --- input errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "loss",
    [binary_cross_entropy, categorical_cross_entropy, sigmoid_binary_cross_entropy, mse_loss],
)
def test_mismatched_shapes_raise_value_error_naming_both(loss: Callable[..., object]) -> None:
    a, b = np.zeros((4, 3)), np.zeros((4, 2))
    with pytest.raises(ValueError, match=_shapes_in_message((4, 3), (4, 2))):
        loss(a, b)


def test_softmax_cross_entropy_with_too_few_labels_names_both_shapes() -> None:
    with pytest.raises(ValueError, match=_shapes_in_message((4, 3), (5,))):
        softmax_cross_entropy(np.zeros((4, 3)), np.zeros(5, dtype=np.int64))


def test_softmax_cross_entropy_with_wrong_one_hot_shape_names_both_shapes() -> None:
    with pytest.raises(ValueError, match=_shapes_in_message((4, 3), (4, 2))):
        softmax_cross_entropy(np.zeros((4, 3)), np.zeros((4, 2)))


@pytest.mark.parametrize("labels", [[0, 3], [-1, 0]])
def test_class_ids_out_of_range_raise_value_error(labels: list[int]) -> None:
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        softmax_cross_entropy(np.zeros((2, 3)), np.array(labels))


@pytest.mark.parametrize("labels", [[0.0, 1.0], [True, False]])
def test_non_integer_class_ids_raise_type_error(labels: list[object]) -> None:
    with pytest.raises(TypeError, match="integer"):
        softmax_cross_entropy(np.zeros((2, 3)), np.array(labels))


@pytest.mark.parametrize("shape", [(3,), (2, 3, 4)])
def test_softmax_cross_entropy_rejects_logits_that_are_not_2d(shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match=re.escape(str(shape))):
        softmax_cross_entropy(np.zeros(shape), np.zeros(shape[0], dtype=np.int64))


def test_softmax_cross_entropy_rejects_3d_labels() -> None:
    with pytest.raises(ValueError, match=re.escape("(2, 3, 1)")):
        softmax_cross_entropy(np.zeros((2, 3)), np.zeros((2, 3, 1), dtype=np.int64))


def test_categorical_cross_entropy_rejects_1d_inputs() -> None:
    with pytest.raises(ValueError, match=re.escape("(3,)")):
        categorical_cross_entropy(np.array([0.0, 1.0, 0.0]), np.array([0.2, 0.5, 0.3]))


@pytest.mark.parametrize(
    "call",
    [
        lambda: mse_loss(np.array(["a", "b"]), np.zeros(2)),
        lambda: binary_cross_entropy(np.zeros(2), np.array(["a", "b"])),
        lambda: softmax_cross_entropy(np.array([["a", "b"]]), np.array([0])),
    ],
)
def test_non_numeric_inputs_raise_type_error(call: Callable[[], object]) -> None:
    with pytest.raises(TypeError, match="numeric"):
        call()


def test_one_hot_builds_indicator_rows() -> None:
    np.testing.assert_array_equal(one_hot([2, 0], 3), [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])


def test_a_confident_right_prediction_keeps_its_tiny_loss_to_full_precision() -> None:
    """loss = (max - z_y) + log(sum exp(z - max)): no cancellation against |z| ~ 18 (found by hypothesis).

    Adding max to the log first, then subtracting z_y, left a relative error of 7e-10 here; what remains
    (5e-11) is the rounding of the sum 1 + 1.9e-6 inside the log.
    """
    z = np.array([[18.47362852, 5.30666906]])
    exact = np.log1p(np.exp(z[0, 1] - z[0, 0]))  # log(1 + e^(z1 - z0)), about 1.9e-6
    for labels in (np.array([0]), np.array([[1.0, 0.0]])):
        loss, _ = softmax_cross_entropy(z, labels)
        assert abs(loss - exact) <= 1e-10 * exact
