"""Gradient checking itself: it must pass correct gradients, catch wrong ones and explain kinks."""

import numpy as np
import pytest

from backproplab.gradcheck import band, check_mlp_gradients, num_derivative, numerical_gradient, relative_error
from backproplab.layers import ReLU
from backproplab.neural_network import MLP


def test_num_derivative_of_a_reused_value_counts_both_uses() -> None:
    # d(x * x)/dx = 2x: a backward pass that assigns instead of accumulating would report x
    z = np.linspace(-2.0, 2.0, 9)
    assert np.allclose(num_derivative(lambda v: v * v, z), 2.0 * z, atol=1e-8)


def test_numerical_gradient_of_a_quadratic_form_and_restores_its_input() -> None:
    rng = np.random.default_rng(0)
    A = rng.standard_normal((4, 4))
    x = rng.standard_normal(4)
    x_before = x.copy()
    grad = numerical_gradient(lambda: float(x @ A @ x), x)
    assert relative_error((A + A.T) @ x, grad).max() <= 1e-7
    assert np.array_equal(x, x_before)


def test_numerical_gradient_of_a_large_constant_is_exactly_zero() -> None:
    x = np.zeros(3)
    assert np.array_equal(numerical_gradient(lambda: 20.222245922195057, x), np.zeros(3))


def test_relative_error_floor_keeps_zero_gradients_from_exploding() -> None:
    assert relative_error(np.array([0.0]), np.array([1e-13]))[0] <= 1e-7
    assert relative_error(np.array([1.0]), np.array([1.1]))[0] == pytest.approx(0.1 / 1.1)


@pytest.mark.parametrize(
    ("error", "expected"), [(0.5, "wrong"), (1e-3, "suspicious"), (1e-5, "ok"), (1e-9, "good"), (0.0, "good")]
)
def test_bands_follow_cs231n(error: float, expected: str) -> None:
    assert band(error) == expected


def _problem(seed: int = 0) -> tuple[MLP, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    net = MLP([3, 4, 4, 2], "tanh", "softmax", seed=seed, dtype=np.float64)
    return net, rng.standard_normal((6, 3)), rng.integers(0, 2, 6)


def test_correct_gradients_pass_in_the_good_band() -> None:
    net, X, y = _problem()
    results = check_mlp_gradients(net, X, y)
    assert all(r.passed and r.band == "good" for r in results)
    assert [r.checked for r in results] == [p.size for p in net.params]


@pytest.mark.parametrize(
    ("bug", "broken_param"),
    [("missing_division_by_n", "W1"), ("transposed_weights", "W1"), ("forgot_bias_gradient", "b3")],
)
def test_a_wrong_gradient_is_caught(bug: str, broken_param: str, monkeypatch: pytest.MonkeyPatch) -> None:
    net, X, y = _problem()
    dense = net.dense_layers
    if bug == "missing_division_by_n":
        original_loss = net._loss

        def loss_without_mean(logits: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
            value, dlogits = original_loss(logits, target)
            return value, dlogits * logits.shape[0]

        monkeypatch.setattr(net, "_loss", loss_without_mean)
    elif bug == "transposed_weights":
        layer = dense[1]  # W2 is square, (4, 4), so the wrong transpose still has the right shape

        def backward_without_transpose(dy: np.ndarray) -> np.ndarray:
            layer.backward_params(dy)
            return dy @ layer.params["W"]

        monkeypatch.setattr(layer, "backward", backward_without_transpose)
    else:
        layer = dense[2]
        original = layer.backward_params

        def no_bias(dy: np.ndarray) -> None:
            original(dy)
            layer.grads["b"][...] = 0.0

        monkeypatch.setattr(layer, "backward_params", no_bias)
    results = {r.name: r for r in check_mlp_gradients(net, X, y)}
    assert not results[broken_param].passed
    assert results[broken_param].band in ("wrong", "suspicious")


def test_inputs_on_a_relu_kink_are_reported_not_failed() -> None:
    rng = np.random.default_rng(1)
    net = MLP([2, 3, 2], "relu", "softmax", seed=1, dtype=np.float64)
    X = rng.standard_normal((4, 2))
    W1, b1 = net.params[0], net.params[1]
    b1[0] = -(X[0] @ W1[:, 0])  # sample 0 sits exactly on the kink of hidden unit 0
    results = {r.name: r for r in check_mlp_gradients(net, X, np.array([0, 1, 0, 1]))}
    assert results["b1"].near_kink >= 1
    assert all(r.passed for r in results.values())
    relu = next(layer for layer in net.layers if isinstance(layer, ReLU))
    assert relu.last_input is not None
    assert relu.last_input[0, 0] == 0.0


def test_a_float32_model_is_refused() -> None:
    net = MLP([2, 2], dtype=np.float32)
    with pytest.raises(TypeError, match="float64 model, got float32"):
        check_mlp_gradients(net, np.zeros((1, 2)), np.array([0]))
