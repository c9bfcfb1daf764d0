"""The checks beyond the seed's own functions: each known mistake is told apart by a measurement.

tanh and leaky ReLU (7.1), momentum (7.6), training with plain SGD (``network``), the LeNet of
``backproplab shapes`` against PyTorch, and the layers beyond the seed: dropout, batch norm, conv and
max-pool backward. Each learner function here is a few lines with one mistake, checked in-process;
the library's versions are the reference (they pass: tests/test_checker.py).
"""

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from backproplab.checker import reference
from backproplab.checker.checks import BY_ID, Result, run_one
from backproplab.checker.cnn_checks import STAGES
from backproplab.checker.learner import Impl
from backproplab.cli import main
from backproplab.cnn.lenet import lenet_spec
from backproplab.cnn.spec import param_shapes, parse_spec

Array = Any  # a learner's array, untyped as a learner writes it


def test_the_library_passes_the_checks_beyond_the_seed(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--exercise", "beyond"]) == 0
    out = capsys.readouterr().out
    assert "summary: 6 pass, 0 fail, 0 not attempted, 0 error, 0 timeout" in out


def outcome(check_id: str, **functions: Callable[..., Any]) -> Result:
    return run_one(BY_ID[check_id], Impl("test", dict(functions)))


def assert_hint(result: Result, fragment: str) -> None:
    assert result.status == "fail", result
    assert fragment in (result.hint or ""), result


# ----- 7.1: tanh and leaky ReLU --------------------------------------------------------------------
def test_a_tanh_written_with_exp_overflows_and_is_told_how_to_avoid_it() -> None:
    def tanh(z: Array) -> Array:
        return (np.exp(z) - np.exp(-z)) / (np.exp(z) + np.exp(-z))

    with np.errstate(all="ignore"):
        assert_hint(outcome("tanh", tanh=tanh), "exp(-2|z|)")


def test_tanh_deriv_of_z_instead_of_tanh_z_is_named() -> None:
    assert_hint(outcome("tanh_deriv", tanh_deriv=lambda z: 1 - z**2), "square tanh(z), not z")


@pytest.mark.parametrize(
    ("leaky_relu", "fragment"),
    [
        (lambda z, alpha=0.01: np.maximum(z, 0.0), "alpha * z, not 0"),
        (lambda z, alpha=0.01: np.where(z > 0, z, 0.01 * z), "use the alpha passed in"),
    ],
)
def test_leaky_relu_mistakes_are_named(leaky_relu: Callable[..., Array], fragment: str) -> None:
    assert_hint(outcome("leaky_relu", leaky_relu=leaky_relu), fragment)


def test_leaky_relu_deriv_with_relus_slope_is_named() -> None:
    result = outcome("leaky_relu_deriv", leaky_relu_deriv=lambda z, alpha=0.01: (z > 0) * 1.0)
    assert_hint(result, "the slope is alpha, not 0")


# ----- 7.6: momentum -------------------------------------------------------------------------------
def momentum_with(update: str) -> Callable[..., float]:
    """A learner's momentum on (w - 3)^2 with one of three update rules."""

    def momentum(w0: float, lr: float, steps: int, beta: float = 0.9) -> float:
        w, v = w0, 0.0
        for _ in range(steps):
            g = 2 * (w - 3)
            if update == "ema":
                v = beta * v + (1 - beta) * g
                w -= lr * v
            elif update == "old velocity":
                w -= lr * v
                v = beta * v + g
            else:  # beta fixed at 0.9
                v = 0.9 * v + g
                w -= lr * v
        return w

    return momentum


@pytest.mark.parametrize(
    ("update", "fragment"),
    [
        ("ema", "moving-average form"),
        ("old velocity", "update v = beta v + g first"),
        ("constant beta", "use the beta passed in"),
    ],
)
def test_momentum_mistakes_are_named(update: str, fragment: str) -> None:
    assert_hint(outcome("momentum", momentum=momentum_with(update)), fragment)


# ----- the network trained with plain SGD -----------------------------------------------------------
def backward_scaled(factor: float) -> Callable[..., Any]:
    def backward(y: Array, cache: Any, W2: Array) -> tuple[Array, ...]:
        return tuple(g * factor for g in reference.backward(y, cache, W2))

    return backward


@pytest.mark.parametrize(("factor", "fragment"), [(16.0, "16 times the true ones"), (1 / 16, "0.0625 times")])
def test_plain_sgd_fails_on_gradients_of_the_wrong_scale_and_says_by_how_much(factor: float, fragment: str) -> None:
    with np.errstate(all="ignore"):
        result = outcome("network", forward=reference.forward, backward=backward_scaled(factor))
    assert_hint(result, fragment)


def test_adam_trains_on_gradients_of_the_wrong_scale() -> None:
    result = outcome("overfit", forward=reference.forward, backward=backward_scaled(16.0))
    assert result.status == "pass"  # why `network` exists: Adam's step ignores the gradient's scale


# ----- the LeNet of `backproplab shapes` ------------------------------------------------------------
def test_cnn_vs_torch_runs_the_784_feature_lenet_that_the_library_builds() -> None:
    pytest.importorskip("torch")
    fc1_in = param_shapes(parse_spec(lenet_spec(10)), (1, 28, 28))["fc1.weight"][1]
    assert fc1_in == 784
    assert [(s.kind, s.kernel, s.padding) for s in STAGES] == [("conv", 5, 2), ("pool", 2, 0)] * 2
    result = outcome(
        "cnn_vs_torch", conv2d_forward=reference.conv2d_forward, maxpool2d_forward=reference.maxpool2d_forward
    )
    assert result.status == "pass", result
    assert "(16, 7, 7) = 784 features per image" in result.detail


# ----- dropout --------------------------------------------------------------------------------------
def dropout_forward_with(keep_scale: float, drop_with: str = ">=") -> Callable[..., Any]:
    def dropout_forward(x: Array, p: float, rng: np.random.Generator) -> tuple[Array, Array]:
        r = rng.random(x.shape)
        keep = r >= p if drop_with == ">=" else r < p
        mask = keep * (keep_scale if keep_scale else 1 / (1 - p))
        return x * mask, mask

    return dropout_forward


@pytest.mark.parametrize(
    ("forward", "fragment"),
    [
        (dropout_forward_with(1.0), "scales the kept values by 1 / (1 - p)"),
        (dropout_forward_with(0.0, drop_with="<"), "p is the probability of dropping"),
    ],
)
def test_dropout_forward_mistakes_are_named(forward: Callable[..., Any], fragment: str) -> None:
    assert_hint(outcome("dropout_forward", dropout_forward=forward), fragment)


def test_dropout_forward_that_scales_passes() -> None:
    assert outcome("dropout_forward", dropout_forward=dropout_forward_with(0.0)).status == "pass"


def test_dropout_backward_must_route_through_the_mask() -> None:
    result = outcome("dropout_backward", dropout_forward=reference.dropout_forward, dropout_backward=lambda d, m: d)
    assert_hint(result, "dx = dout * mask")


def test_dropout_backward_must_scale_as_the_forward_did() -> None:
    def forward(x: Array, p: float, rng: np.random.Generator) -> tuple[Array, Array]:
        keep = rng.random(x.shape) >= p
        return x * keep / (1 - p), keep  # the mask alone does not carry the scale

    result = outcome("dropout_backward", dropout_forward=forward, dropout_backward=lambda d, m: d * m)
    assert_hint(result, "so does its gradient")


# ----- batch norm -----------------------------------------------------------------------------------
def batchnorm_forward_with(mistake: str) -> Callable[..., Any]:
    def batchnorm_forward(x: Array, gamma: Array, beta: Array, eps: float = 1e-5) -> tuple[Array, None]:
        axis = 1 if mistake == "axis" else 0
        mean, var = x.mean(axis=axis, keepdims=True), x.var(axis=axis, ddof=mistake == "ddof", keepdims=True)
        spread = {"no eps": np.sqrt(var), "variance": var + eps, "fixed eps": np.sqrt(var + 1e-5)}
        return gamma * (x - mean) / spread.get(mistake, np.sqrt(var + eps)) + beta, None

    return batchnorm_forward


@pytest.mark.parametrize(
    ("mistake", "fragment"),
    [
        ("ddof", "biased variance"),
        ("no eps", "eps inside the square root"),
        ("variance", "not by the variance"),
        ("axis", "along axis 0"),
        ("fixed eps", "use the eps passed in"),
    ],
)
def test_batchnorm_forward_mistakes_are_named(mistake: str, fragment: str) -> None:
    assert_hint(outcome("batchnorm_forward", batchnorm_forward=batchnorm_forward_with(mistake)), fragment)


def batchnorm_backward_without(term: str) -> Callable[..., Any]:
    def batchnorm_backward(dout: Array, cache: Any) -> tuple[Array, Array, Array]:
        x_hat, inv_std, gamma = cache.x_hat, cache.inv_std, cache.gamma
        dxhat = dout * gamma
        through_mean = 0 if term in ("mean", "both") else dxhat.mean(axis=0)
        through_var = 0 if term in ("variance", "both") else x_hat * (dxhat * x_hat).mean(axis=0)
        return inv_std * (dxhat - through_mean - through_var), (dout * x_hat).sum(axis=0), dout.sum(axis=0)

    return batchnorm_backward


@pytest.mark.parametrize(
    ("term", "fragment"),
    [
        ("both", "treats the batch mean and variance as constants"),
        ("variance", "through the variance"),
        ("mean", "through the mean"),
    ],
)
def test_batchnorm_backward_missing_terms_are_named(term: str, fragment: str) -> None:
    result = outcome(
        "batchnorm_backward",
        batchnorm_forward=reference.batchnorm_forward,
        batchnorm_backward=batchnorm_backward_without(term),
    )
    assert_hint(result, fragment)


def test_batchnorm_backward_with_every_term_passes() -> None:
    result = outcome(
        "batchnorm_backward",
        batchnorm_forward=reference.batchnorm_forward,
        batchnorm_backward=batchnorm_backward_without("nothing"),
    )
    assert result.status == "pass", result


# ----- conv and max-pool backward -------------------------------------------------------------------
def test_conv_backward_without_the_kernel_flip_is_named() -> None:
    def conv2d_backward(dout: Array, x: Array, w: Array, stride: int = 1, padding: int = 0) -> Any:
        dx = reference.conv2d_backward(dout, x, w[..., ::-1, ::-1], stride, padding)[0]  # dx with w unflipped
        _, dw, db = reference.conv2d_backward(dout, x, w, stride, padding)
        return dx, dw, db

    assert_hint(outcome("conv2d_backward", conv2d_backward=conv2d_backward), "flips the kernel")


def test_conv_backward_with_a_transposed_kernel_gradient_fails_on_its_shape() -> None:
    def conv2d_backward(dout: Array, x: Array, w: Array, stride: int = 1, padding: int = 0) -> Any:
        dx, dw, db = reference.conv2d_backward(dout, x, w, stride, padding)
        return dx, dw.transpose(1, 0, 2, 3), db

    result = outcome("conv2d_backward", conv2d_backward=conv2d_backward)
    assert result.status == "fail"
    assert result.detail.startswith("dw of conv2d_backward(dout, x (2, 2, 5, 5), w (3, 2, 3, 3)")


def route(dout: Array, x: Array, kernel: int, stride: int, how: str) -> Array:
    """Max-pool backward by loops: to the first maximum, to every tied one, split among them, or overwriting."""
    dx = np.zeros_like(x)
    for n, c, i, j in np.ndindex(*dout.shape):
        rows, cols = slice(i * stride, i * stride + kernel), slice(j * stride, j * stride + kernel)
        window = x[n, c, rows, cols]
        is_max = window == window.max()
        first = np.arange(window.size).reshape(window.shape) == window.argmax()
        if how == "overwrite":
            dx[n, c, rows, cols][first] = dout[n, c, i, j]
            continue
        share = {"first": first, "every": is_max, "split": is_max / is_max.sum()}[how]
        dx[n, c, rows, cols] += share * dout[n, c, i, j]
    return dx


@pytest.mark.parametrize(
    ("how", "fragment"),
    [("every", "route each window's gradient to one maximum"), ("overwrite", "add each window's gradient")],
)
def test_max_pool_backward_mistakes_are_named(how: str, fragment: str) -> None:
    result = outcome("maxpool2d_backward", maxpool2d_backward=lambda d, x, k=2, s=2: route(d, x, k, s, how))
    assert_hint(result, fragment)


@pytest.mark.parametrize("how", ["first", "split"])
def test_max_pool_backward_may_give_a_tie_to_one_maximum_or_share_it(how: str) -> None:
    result = outcome("maxpool2d_backward", maxpool2d_backward=lambda d, x, k=2, s=2: route(d, x, k, s, how))
    assert result.status == "pass", result
