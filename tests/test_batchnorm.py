"""Batch norm: gradients against finite differences and PyTorch, running statistics, the layer classes.

Inputs are ``(N, D)`` (per feature) or ``(N, C, H, W)`` (per channel, H and W drawn apart so maps are
not square). Training needs more than one value per feature, so there ``N`` (or ``N*H*W``) is >= 2.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from backproplab.gradcheck import numerical_gradient, relative_error
from backproplab.layers import (
    BatchNorm1d,
    BatchNorm2d,
    BatchNormCache,
    batchnorm_backward,
    batchnorm_eval,
    batchnorm_eval_backward,
    batchnorm_forward,
    dropout_forward,
    update_running_stats,
)

if TYPE_CHECKING:
    import torch

FArr = NDArray[np.floating[Any]]
Shape = tuple[int, ...]
seeds = st.integers(0, 2**32 - 1)


@st.composite
def input_shapes(draw: st.DrawFn, training: bool) -> Shape:
    """``(N, D)`` or ``(N, C, H, W)`` with every side in 1..8 and, in training, at least 2 values per feature."""
    if draw(st.booleans()):
        return draw(st.integers(2 if training else 1, 8)), draw(st.integers(1, 8))
    shape = tuple(draw(st.integers(1, 8)) for _ in range(4))
    assume(not training or shape[0] * shape[2] * shape[3] >= 2)
    return shape


@dataclass(frozen=True)
class Inputs:
    x: FArr
    gamma: FArr
    beta: FArr
    running_mean: FArr
    running_var: FArr
    dout: FArr  # a random upstream gradient: all ones would hide a wrong sum or a wrong axis


def _inputs(shape: Shape, seed: int, dtype: type[np.floating] = np.float64) -> Inputs:
    """Random inputs; ``x`` has a random mean (-2..2) and standard deviation (0.5..2) in each channel.

    Setting each channel's spread keeps it far above the finite-difference step: two values 0.05
    apart (var ~ 6e-4) would make ``x_hat`` curve on the scale of the step ``h = 1e-3`` itself.
    """
    rng = np.random.default_rng(seed)
    C = shape[1]
    per_channel = (1, C) + (1,) * (len(shape) - 2)
    axes = (0,) if len(shape) == 2 else (0, 2, 3)
    z = rng.standard_normal(shape)
    if z.size > C:  # more than one value per channel: give each channel mean 0 and std 1
        z = (z - z.mean(axis=axes, keepdims=True)) / z.std(axis=axes, keepdims=True)
    x = rng.uniform(-2, 2, per_channel) + rng.uniform(0.5, 2, per_channel) * z
    gamma, beta, running_mean = rng.standard_normal((3, C))
    running_var, dout = rng.uniform(0.5, 2, C), rng.standard_normal(shape)
    return Inputs(*(a.astype(dtype) for a in (x, gamma, beta, running_mean, running_var, dout)))


def _max_rel_error(analytic: FArr, forward: Callable[[], FArr], wrt: FArr, dout: FArr) -> float:
    """Max relative error of ``analytic`` against the five-point difference of ``sum(forward() * dout)`` in ``wrt``.

    As in test_layers.py, the scalar is ``sum((forward() - y0) * dout)``: outputs the perturbation does not
    touch (other channels) then add exactly 0 and no round-off. But one value of ``x`` (or ``gamma``) moves
    all ``M`` outputs of its channel, each with round-off of about ``1e-16 * |out|``, so the difference's
    error is about ``1e-12 * sqrt(M) * max|out|`` (1e-11 at M = 512). The floor of the relative error grows
    alike, as :func:`~backproplab.gradcheck.check_mlp_gradients` grows it with the loss: "<= 1e-7" means
    7 digits, or ``|a - n| <= 1e-12 * sqrt(M) * max(1, max|out|)``.
    """
    y0 = forward().copy()
    numeric = numerical_gradient(lambda: float(np.sum((forward() - y0) * dout)), wrt, h=1e-3)
    M = y0.size // y0.shape[1]
    floor = 1e-5 * np.sqrt(M) * max(1.0, float(np.abs(y0).max()))
    return float(relative_error(analytic, numeric, floor=floor).max())


# ----- gradients against finite differences ------------------------------------------------------
@settings(max_examples=25, deadline=None)
@given(shape=input_shapes(training=True), seed=seeds)
@example(shape=(2, 1), seed=0)  # the smallest batch training allows, one feature
@example(shape=(1, 3, 2, 5), seed=1)  # one image: the statistics run over H*W alone
def test_training_gradients_match_numerical_gradients(shape: Shape, seed: int) -> None:
    a = _inputs(shape, seed)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        _, cache = batchnorm_forward(a.x, a.gamma, a.beta)
        dx, dgamma, dbeta = batchnorm_backward(a.dout, cache)

        def forward() -> FArr:
            return batchnorm_forward(a.x, a.gamma, a.beta)[0]

        errors = {name: _max_rel_error(g, forward, wrt, a.dout) for name, g, wrt in _wrt(a, dx, dgamma, dbeta)}
    assert max(errors.values()) <= 1e-7, errors


@settings(max_examples=25, deadline=None)
@given(shape=input_shapes(training=False), seed=seeds)
@example(shape=(1, 1), seed=0)
@example(shape=(1, 2, 1, 1), seed=1)
def test_eval_gradients_match_numerical_gradients(shape: Shape, seed: int) -> None:
    a = _inputs(shape, seed)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        dx, dgamma, dbeta = batchnorm_eval_backward(a.dout, a.x, a.gamma, a.running_mean, a.running_var)

        def forward() -> FArr:
            return batchnorm_eval(a.x, a.gamma, a.beta, a.running_mean, a.running_var)

        errors = {name: _max_rel_error(g, forward, wrt, a.dout) for name, g, wrt in _wrt(a, dx, dgamma, dbeta)}
    assert max(errors.values()) <= 1e-7, errors


def _wrt(a: Inputs, dx: FArr, dgamma: FArr, dbeta: FArr) -> list[tuple[str, FArr, FArr]]:
    """``(name, analytic gradient, the input array it is the gradient for)`` for x, gamma and beta."""
    return [("dx", dx, a.x), ("dgamma", dgamma, a.gamma), ("dbeta", dbeta, a.beta)]


# ----- PyTorch as the oracle ----------------------------------------------------------------------
TOL = {np.float64: 1e-10, np.float32: 1e-4}
dtypes = pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])


def _max_diff(ours: FArr, theirs: "torch.Tensor") -> float:
    """Max absolute difference, relative to the size of torch's values once they exceed 1."""
    expected = theirs.detach().numpy()
    assert ours.shape == expected.shape
    assert ours.dtype == expected.dtype
    return float(np.max(np.abs(ours - expected)) / max(1.0, float(np.max(np.abs(expected)))))


def _torch_batch_norm(a: Inputs, training: bool) -> tuple[dict[str, "torch.Tensor"], "torch.Tensor", "torch.Tensor"]:
    """Out and the gradients of ``sum(out * dout)`` from ``F.batch_norm``, and its updated running stats."""
    torch = pytest.importorskip("torch")
    x, gamma, beta = (torch.tensor(v, requires_grad=True) for v in (a.x, a.gamma, a.beta))
    running_mean, running_var = torch.tensor(a.running_mean), torch.tensor(a.running_var)
    out = torch.nn.functional.batch_norm(
        x, running_mean, running_var, gamma, beta, training=training, momentum=0.1, eps=1e-5
    )
    out.backward(torch.tensor(a.dout))
    assert x.grad is not None
    assert gamma.grad is not None
    assert beta.grad is not None
    results = {"out": out, "dx": x.grad, "dgamma": gamma.grad, "dbeta": beta.grad}
    return results, running_mean, running_var


@dtypes
@settings(max_examples=30, deadline=None)
@given(shape=input_shapes(training=True), seed=seeds)
@example(shape=(2, 1), seed=0)
def test_training_forward_backward_and_running_stats_match_torch(
    dtype: type[np.floating], shape: Shape, seed: int
) -> None:
    a = _inputs(shape, seed, dtype)
    theirs, their_mean, their_var = _torch_batch_norm(a, training=True)
    running_mean, running_var = a.running_mean.copy(), a.running_var.copy()
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out, cache = batchnorm_forward(a.x, a.gamma, a.beta)
        dx, dgamma, dbeta = batchnorm_backward(a.dout, cache)
        update_running_stats(running_mean, running_var, cache, momentum=0.1)
    ours = {"out": out, "dx": dx, "dgamma": dgamma, "dbeta": dbeta}
    ours_stats = {"running_mean": running_mean, "running_var": running_var}
    diffs = {k: _max_diff(ours[k], theirs[k]) for k in ours}
    diffs |= {k: _max_diff(v, t) for (k, v), t in zip(ours_stats.items(), (their_mean, their_var), strict=True)}
    assert max(diffs.values()) <= TOL[dtype], diffs


@dtypes
@settings(max_examples=30, deadline=None)
@given(shape=input_shapes(training=False), seed=seeds)
@example(shape=(1, 1), seed=0)
def test_eval_forward_and_backward_match_torch(dtype: type[np.floating], shape: Shape, seed: int) -> None:
    a = _inputs(shape, seed, dtype)
    theirs, _, _ = _torch_batch_norm(a, training=False)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out = batchnorm_eval(a.x, a.gamma, a.beta, a.running_mean, a.running_var)
        dx, dgamma, dbeta = batchnorm_eval_backward(a.dout, a.x, a.gamma, a.running_mean, a.running_var)
    ours = {"out": out, "dx": dx, "dgamma": dgamma, "dbeta": dbeta}
    diffs = {k: _max_diff(ours[k], theirs[k]) for k in ours}
    assert max(diffs.values()) <= TOL[dtype], diffs


@pytest.mark.parametrize("shape", [(6, 4), (3, 5, 4, 2)], ids=["BatchNorm1d", "BatchNorm2d"])
def test_layer_running_stats_after_several_steps_match_torch_modules(shape: Shape) -> None:
    torch = pytest.importorskip("torch")
    C = shape[1]
    ours = (BatchNorm1d if len(shape) == 2 else BatchNorm2d)(C, dtype=np.float64)
    theirs = (torch.nn.BatchNorm1d if len(shape) == 2 else torch.nn.BatchNorm2d)(C, dtype=torch.float64)
    rng = np.random.default_rng(7)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(rng.standard_normal(C)))
        theirs.bias.copy_(torch.tensor(rng.standard_normal(C)))
    ours.params["weight"][:] = theirs.weight.detach().numpy()
    ours.params["bias"][:] = theirs.bias.detach().numpy()
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        for step in range(5):
            x = 3.0 + (step + 1) * rng.standard_normal(shape)
            out = ours.forward(x)
            assert _max_diff(out, theirs(torch.tensor(x))) <= TOL[np.float64]
        for name in ("running_mean", "running_var"):
            assert _max_diff(ours.buffers[name], getattr(theirs, name)) <= TOL[np.float64], name
        ours.train(False)
        theirs.eval()
        x = rng.standard_normal(shape)
        assert _max_diff(ours.forward(x), theirs(torch.tensor(x))) <= TOL[np.float64]


# ----- the layer classes: training and inference -------------------------------------------------
def _layer(shape: Shape, seed: int) -> tuple[BatchNorm1d | BatchNorm2d, Inputs]:
    """A float64 layer for ``shape`` with random weights and running statistics, and inputs for it."""
    a = _inputs(shape, seed)
    layer = (BatchNorm1d if len(shape) == 2 else BatchNorm2d)(shape[1], dtype=np.float64)
    for store, name, value in [
        (layer.params, "weight", a.gamma),
        (layer.params, "bias", a.beta),
        (layer.buffers, "running_mean", a.running_mean),
        (layer.buffers, "running_var", a.running_var),
    ]:
        store[name][:] = value
    return layer, a


@pytest.mark.parametrize("shape", [(5, 3), (2, 3, 4, 2)])
def test_layer_in_training_normalises_with_batch_stats_and_moves_the_running_stats(shape: Shape) -> None:
    layer, a = _layer(shape, seed=3)
    out = layer.forward(a.x)
    expected, cache = batchnorm_forward(a.x, a.gamma, a.beta)
    np.testing.assert_array_equal(out, expected)
    running_mean, running_var = a.running_mean.copy(), a.running_var.copy()
    update_running_stats(running_mean, running_var, cache)
    np.testing.assert_array_equal(layer.buffers["running_mean"], running_mean)
    np.testing.assert_array_equal(layer.buffers["running_var"], running_var)
    dx = layer.backward(a.dout)
    for ours, theirs in zip(
        (dx, layer.grads["weight"], layer.grads["bias"]), batchnorm_backward(a.dout, cache), strict=True
    ):
        np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("shape", [(5, 3), (2, 3, 4, 2)])
def test_layer_in_eval_mode_uses_the_running_stats_and_leaves_them_alone(shape: Shape) -> None:
    layer, a = _layer(shape, seed=4)
    layer.train(False)
    out = layer.forward(a.x)
    np.testing.assert_array_equal(out, batchnorm_eval(a.x, a.gamma, a.beta, a.running_mean, a.running_var))
    np.testing.assert_array_equal(layer.buffers["running_mean"], a.running_mean)
    np.testing.assert_array_equal(layer.buffers["running_var"], a.running_var)
    dx = layer.backward(a.dout)
    expected = batchnorm_eval_backward(a.dout, a.x, a.gamma, a.running_mean, a.running_var)
    for ours, theirs in zip((dx, layer.grads["weight"], layer.grads["bias"]), expected, strict=True):
        np.testing.assert_array_equal(ours, theirs)
    # one sample's output no longer depends on the rest of the batch
    np.testing.assert_array_equal(layer.forward(a.x[:1]), out[:1])


def test_layer_switches_back_to_batch_stats_in_training_mode() -> None:
    layer, a = _layer((6, 2), seed=5)
    layer.train(False)
    eval_out = layer.forward(a.x)
    layer.train(True)
    train_out = layer.forward(a.x)
    assert not np.allclose(train_out, eval_out)
    np.testing.assert_allclose(((train_out - a.beta) / a.gamma).mean(axis=0), 0.0, atol=1e-12)


def test_layer_backward_follows_the_mode_of_the_last_forward() -> None:
    layer, a = _layer((6, 2), seed=6)
    layer.forward(a.x)  # training
    layer.train(False)  # switched after the forward: backward must still use the batch statistics
    dx = layer.backward(a.dout)
    _, cache = batchnorm_forward(a.x, a.gamma, a.beta)
    np.testing.assert_array_equal(dx, batchnorm_backward(a.dout, cache)[0])


@pytest.mark.parametrize("make", [BatchNorm1d, BatchNorm2d])
def test_layer_starts_with_pytorch_names_and_values_in_float32(make: Callable[[int], BatchNorm1d]) -> None:
    layer = make(3)
    assert layer.training
    expected = {"weight": 1.0, "bias": 0.0, "running_mean": 0.0, "running_var": 1.0}
    actual = layer.params | layer.buffers
    assert sorted(actual) == sorted(expected)
    for name, value in expected.items():
        assert actual[name].dtype == np.float32
        np.testing.assert_array_equal(actual[name], np.full(3, value, dtype=np.float32))


def test_layer_keeps_float32() -> None:
    layer = BatchNorm2d(2)
    x = np.random.default_rng(8).standard_normal((3, 2, 4, 5)).astype(np.float32)
    out = layer.forward(x)
    dx = layer.backward(out)
    assert out.dtype == dx.dtype == layer.grads["weight"].dtype == layer.buffers["running_var"].dtype == np.float32


def test_layer_backward_before_forward_raises() -> None:
    with pytest.raises(RuntimeError, match=r"BatchNorm1d\.backward called before forward"):
        BatchNorm1d(2).backward(np.ones((3, 2)))


# ----- validation ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("layer", "shape", "message"),
    [
        (BatchNorm1d(4), (2, 4, 3, 3), r"BatchNorm1d\(4\) expects x of shape \(N, 4\), got \(2, 4, 3, 3\)"),
        (BatchNorm1d(4), (2, 5), r"BatchNorm1d\(4\) expects x of shape \(N, 4\), got \(2, 5\)"),
        (BatchNorm2d(3), (2, 3), r"BatchNorm2d\(3\) expects x of shape \(N, 3, H, W\), got \(2, 3\)"),
        (BatchNorm2d(3), (2, 1, 4, 4), r"BatchNorm2d\(3\) expects x of shape \(N, 3, H, W\), got \(2, 1, 4, 4\)"),
    ],
)
def test_layer_rejects_input_of_the_wrong_shape(layer: BatchNorm1d, shape: Shape, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        layer.forward(np.zeros(shape, dtype=np.float32))


@pytest.mark.parametrize("shape", [(4,), (2, 3, 4), (1, 2, 3, 4, 5)])
def test_forward_rejects_a_rank_other_than_2_or_4(shape: Shape) -> None:
    with pytest.raises(ValueError, match=rf"\(N, D\) or \(N, C, H, W\), got {re.escape(str(shape))}"):
        batchnorm_forward(np.ones(shape), np.ones(2), np.zeros(2))


@pytest.mark.parametrize("which", ["gamma", "beta"])
def test_forward_rejects_gamma_or_beta_of_the_wrong_shape(which: str) -> None:
    vectors = {"gamma": np.ones(3), "beta": np.zeros(3), which: np.ones(4)}
    with pytest.raises(ValueError, match=rf"{which} must have shape \(3,\) to match x \(2, 3, 5, 5\), got \(4,\)"):
        batchnorm_forward(np.ones((2, 3, 5, 5)), vectors["gamma"], vectors["beta"])


def test_eval_rejects_running_stats_of_the_wrong_shape() -> None:
    with pytest.raises(ValueError, match=r"running_var must have shape \(3,\) to match x \(2, 3\), got \(1, 3\)"):
        batchnorm_eval(np.ones((2, 3)), np.ones(3), np.zeros(3), np.zeros(3), np.ones((1, 3)))


@pytest.mark.parametrize("shape", [(1, 3), (1, 3, 1, 1)])
def test_training_with_one_value_per_channel_raises_as_pytorch_does(shape: Shape) -> None:
    with pytest.raises(ValueError, match=r"Expected more than 1 value per channel when training.*\(1, 3"):
        batchnorm_forward(np.ones(shape), np.ones(3), np.zeros(3))
    # at inference one value is fine: the statistics are the running ones
    assert batchnorm_eval(np.ones(shape), np.ones(3), np.zeros(3), np.zeros(3), np.ones(3)).shape == shape


def test_backward_rejects_dout_of_another_shape() -> None:
    _, cache = batchnorm_forward(np.arange(6.0).reshape(3, 2), np.ones(2), np.zeros(2))
    with pytest.raises(ValueError, match=r"dout must have the shape of x, \(3, 2\), got \(2, 3\)"):
        batchnorm_backward(np.ones((2, 3)), cache)


def test_eval_backward_rejects_dout_of_another_shape() -> None:
    with pytest.raises(ValueError, match=r"dout must have the shape of x, \(3, 2\), got \(3, 1\)"):
        batchnorm_eval_backward(np.ones((3, 1)), np.ones((3, 2)), np.ones(2), np.zeros(2), np.ones(2))


def test_backward_rejects_the_cache_of_another_layer() -> None:
    x = np.random.default_rng(9).standard_normal((4, 3))
    conv_cache: Any = (x, np.ones((2, 3, 3, 3)), 1)
    with pytest.raises(ValueError, match=r"expects the BatchNormCache .* got a tuple of 3 items"):
        batchnorm_backward(x, conv_cache)
    _, mask = dropout_forward(x, 0.5, np.random.default_rng(0))
    dropout_cache: Any = mask
    with pytest.raises(ValueError, match=r"expects the BatchNormCache .* got an ndarray of shape \(4, 3\)"):
        batchnorm_backward(x, dropout_cache)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_x_or_dout_raises_naming_where(bad: float) -> None:
    x = np.random.default_rng(10).standard_normal((4, 2, 3, 3))
    x_bad = x.copy()
    x_bad[1, 0, 2, 1] = bad
    with pytest.raises(ValueError, match=r"x: expected finite values, found .* at index \(1, 0, 2, 1\)"):
        batchnorm_forward(x_bad, np.ones(2), np.zeros(2))
    with pytest.raises(ValueError, match=r"x: expected finite values"):
        batchnorm_eval(x_bad, np.ones(2), np.zeros(2), np.zeros(2), np.ones(2))
    _, cache = batchnorm_forward(x, np.ones(2), np.zeros(2))
    with pytest.raises(ValueError, match=r"dout: expected finite values, found .* at index \(1, 0, 2, 1\)"):
        batchnorm_backward(x_bad, cache)


@pytest.mark.parametrize("momentum", [-0.1, 1.5, np.nan])
def test_momentum_outside_zero_one_raises(momentum: float) -> None:
    with pytest.raises(ValueError, match=r"momentum must lie in \[0, 1\]"):
        BatchNorm1d(2, momentum=momentum)
    _, cache = batchnorm_forward(np.arange(4.0).reshape(2, 2), np.ones(2), np.zeros(2))
    with pytest.raises(ValueError, match=r"momentum must lie in \[0, 1\]"):
        update_running_stats(np.zeros(2), np.ones(2), cache, momentum)


def test_cache_is_a_frozen_dataclass_of_named_arrays() -> None:
    _, cache = batchnorm_forward(np.arange(12.0).reshape(2, 3, 2, 1), np.ones(3), np.zeros(3))
    assert isinstance(cache, BatchNormCache)
    assert cache.x_hat.shape == (2, 3, 2, 1)
    assert cache.mean.shape == cache.var.shape == cache.inv_std.shape == cache.gamma.shape == (3,)
    with pytest.raises(AttributeError):
        cache.mean = np.zeros(3)  # type: ignore[misc]
