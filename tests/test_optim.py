"""Optimizers and gradient clipping in pure NumPy (no torch): the behaviour ``optim.py`` promises.

Optimizers see two parallel lists of arrays and update the params in place, keeping state per
position; clipping by norm keeps the direction of a gradient and only ever shrinks it.
"""

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.typing import NDArray

from backproplab.optim import SGD, Adam, Momentum, Optimizer, clip_by_norm, clip_grad_norm

Array = NDArray[np.float64]
OPTIMIZERS: dict[str, Callable[[], Optimizer]] = {
    "sgd": lambda: SGD(0.1),
    "momentum": lambda: Momentum(0.05, beta=0.9),
    "nesterov": lambda: Momentum(0.05, beta=0.9, nesterov=True),
    "adam": lambda: Adam(0.1),
}
optimizer_names = pytest.mark.parametrize("name", sorted(OPTIMIZERS))

gradients = hnp.arrays(
    np.float64,
    hnp.array_shapes(min_dims=1, max_dims=3, max_side=5),
    elements=st.floats(-1e3, 1e3, allow_subnormal=False),
)
max_norms = st.floats(1e-3, 1e3)


def _norm(arrays: list[Array]) -> float:
    return float(np.sqrt(sum(float(np.sum(a * a)) for a in arrays)))


# ----- update rules -------------------------------------------------------------------------------
@optimizer_names
def test_optimizer_converges_on_a_quadratic(name: str) -> None:
    opt, w = OPTIMIZERS[name](), np.array([-2.0])
    for _ in range(500):
        opt.step([w], [2.0 * (w - 3.0)])  # f(w) = (w - 3)^2
    assert abs(w[0] - 3.0) < 1e-6


def test_sgd_step_subtracts_lr_times_grad() -> None:
    rng = np.random.default_rng(0)
    p, g = rng.standard_normal((3, 2)), rng.standard_normal((3, 2))
    expected = p - 0.1 * g
    SGD(0.1).step([p], [g])
    np.testing.assert_allclose(p, expected, rtol=0, atol=1e-15)


def test_momentum_steps_along_the_velocity_of_past_gradients() -> None:
    rng = np.random.default_rng(1)
    p, g1, g2 = rng.standard_normal((3, 4))
    start = p.copy()
    opt = Momentum(0.1, beta=0.9)
    opt.step([p], [g1])
    opt.step([p], [g2])
    # v1 = g1, v2 = 0.9 g1 + g2; p moves by -lr v1 - lr v2.
    np.testing.assert_allclose(p, start - 0.1 * g1 - 0.1 * (0.9 * g1 + g2), rtol=0, atol=1e-15)


def test_nesterov_steps_along_grad_plus_beta_times_velocity() -> None:
    rng = np.random.default_rng(2)
    p, g1, g2 = rng.standard_normal((3, 4))
    start = p.copy()
    opt = Momentum(0.1, beta=0.9, nesterov=True)
    opt.step([p], [g1])
    opt.step([p], [g2])
    v1, v2 = g1, 0.9 * g1 + g2
    np.testing.assert_allclose(p, start - 0.1 * (g1 + 0.9 * v1) - 0.1 * (g2 + 0.9 * v2), rtol=0, atol=1e-15)


@settings(max_examples=50, deadline=None)
@given(
    magnitudes=hnp.arrays(np.float64, st.integers(1, 6), elements=st.floats(1e-3, 1e3)),
    signs=st.lists(st.sampled_from([-1.0, 1.0]), min_size=6, max_size=6),
    lr=st.floats(1e-4, 1e-1),
    beta1=st.floats(0.0, 0.99),
    beta2=st.floats(0.0, 0.9999),
)
def test_adam_first_step_moves_each_param_by_lr_whatever_the_betas(
    magnitudes: Array, signs: list[float], lr: float, beta1: float, beta2: float
) -> None:
    g = magnitudes * np.array(signs[: magnitudes.size])
    p = np.zeros_like(g)
    Adam(lr, beta1=beta1, beta2=beta2).step([p], [g])
    # Bias correction makes m_hat = g and v_hat = g^2, so the step is lr * g / (|g| + eps).
    np.testing.assert_allclose(p, -lr * np.sign(g), rtol=1e-4)


def test_adam_first_step_without_first_moment_correction_would_be_one_minus_beta1_as_large() -> None:
    lr, beta1, beta2 = 0.01, 0.9, 0.999
    g = np.random.default_rng(3).standard_normal(5)
    p = np.zeros_like(g)
    opt = Adam(lr, beta1=beta1, beta2=beta2)
    opt.step([p], [g])
    m, v = opt.m[0], opt.v[0]  # moments after one step from zero: (1 - b1) g and (1 - b2) g^2
    step_without_m_correction = lr * m / (np.sqrt(v / (1 - beta2)) + opt.eps)
    np.testing.assert_allclose(np.abs(p), lr, rtol=1e-6)
    np.testing.assert_allclose(np.abs(step_without_m_correction), (1 - beta1) * lr, rtol=1e-6)  # 10x smaller


@optimizer_names
def test_step_updates_params_in_place(name: str) -> None:
    buffer = np.ones(6)
    p = buffer[2:5]  # a view: only an in-place update reaches the buffer
    params = [p]
    OPTIMIZERS[name]().step(params, [np.random.default_rng(4).standard_normal(3)])
    assert params[0] is p
    assert np.all(buffer[2:5] != 1.0)
    np.testing.assert_array_equal(buffer[[0, 1, 5]], 1.0)


@optimizer_names
def test_step_does_not_modify_grads(name: str) -> None:
    opt, rng = OPTIMIZERS[name](), np.random.default_rng(5)
    p, g = rng.standard_normal(4), rng.standard_normal(4)
    before = g.copy()
    opt.step([p], [g])
    opt.step([p], [g])
    np.testing.assert_array_equal(g, before)


# ----- state per position and validation ---------------------------------------------------------
@optimizer_names
@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_state_is_per_position_so_one_optimizer_on_two_params_equals_two_optimizers(name: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    a, b = rng.standard_normal((2, 3)), rng.standard_normal(4)
    a_alone, b_alone = a.copy(), b.copy()
    joint, only_a, only_b = OPTIMIZERS[name](), OPTIMIZERS[name](), OPTIMIZERS[name]()
    for _ in range(5):
        ga, gb = rng.standard_normal(a.shape), rng.standard_normal(b.shape)
        joint.step([a, b], [ga, gb])
        only_a.step([a_alone], [ga])
        only_b.step([b_alone], [gb])
    np.testing.assert_array_equal(a, a_alone)
    np.testing.assert_array_equal(b, b_alone)


@optimizer_names
def test_second_step_with_different_shapes_raises_naming_the_shapes(name: str) -> None:
    opt = OPTIMIZERS[name]()
    opt.step([np.zeros(2), np.zeros((2, 3))], [np.ones(2), np.ones((2, 3))])
    with pytest.raises(ValueError, match=r"\[\(2,\), \(2, 3\)\].*\[\(3,\), \(2, 3\)\]"):
        opt.step([np.zeros(3), np.zeros((2, 3))], [np.ones(3), np.ones((2, 3))])


@optimizer_names
def test_step_with_fewer_grads_than_params_raises(name: str) -> None:
    with pytest.raises(ValueError, match="2 params but 1 grads"):
        OPTIMIZERS[name]().step([np.zeros(2), np.zeros(3)], [np.ones(2)])


@optimizer_names
def test_step_with_a_grad_of_the_wrong_shape_raises_and_changes_nothing(name: str) -> None:
    p0, p1 = np.zeros(2), np.zeros((2, 3))
    with pytest.raises(ValueError, match=r"param 1 has shape \(2, 3\) but its grad has shape \(3, 2\)"):
        OPTIMIZERS[name]().step([p0, p1], [np.ones(2), np.ones((3, 2))])
    np.testing.assert_array_equal(p0, 0.0)
    np.testing.assert_array_equal(p1, 0.0)


@pytest.mark.parametrize("make", [SGD, Momentum, Adam], ids=["sgd", "momentum", "adam"])
@pytest.mark.parametrize("lr", [0.0, -1e-3, -np.inf, np.nan, np.inf])
def test_non_positive_or_infinite_learning_rate_raises(make: Callable[[float], Optimizer], lr: float) -> None:
    with pytest.raises(ValueError, match="learning rate must be a finite number > 0"):
        make(lr)


@pytest.mark.parametrize("eps", [0.0, -1e-8, np.nan])
def test_adam_non_positive_eps_raises(eps: float) -> None:
    with pytest.raises(ValueError, match="eps must be > 0"):
        Adam(eps=eps)


BAD_BETAS = [-0.1, 1.0, 1.5, np.nan]


@pytest.mark.parametrize("beta", BAD_BETAS)
def test_momentum_beta_outside_zero_one_raises(beta: float) -> None:
    with pytest.raises(ValueError, match=r"beta must lie in \[0, 1\)"):
        Momentum(0.1, beta=beta)


@pytest.mark.parametrize("which", ["beta1", "beta2"])
@pytest.mark.parametrize("beta", BAD_BETAS)
def test_adam_beta_outside_zero_one_raises(which: str, beta: float) -> None:
    kwargs: dict[str, Any] = {which: beta}
    with pytest.raises(ValueError, match=rf"{which} must lie in \[0, 1\)"):
        Adam(0.1, **kwargs)


# ----- clip_by_norm -------------------------------------------------------------------------------
@settings(max_examples=50, deadline=None)
@given(g=gradients, max_norm=max_norms)
def test_clip_by_norm_result_has_norm_at_most_max_norm(g: Array, max_norm: float) -> None:
    assert np.linalg.norm(clip_by_norm(g, max_norm)) <= max_norm * (1 + 1e-12)


@settings(max_examples=50, deadline=None)
@given(g=gradients, max_norm=max_norms)
def test_clip_by_norm_result_is_a_positive_multiple_of_the_input(g: Array, max_norm: float) -> None:
    norm = np.linalg.norm(g)
    assume(norm > 0)  # a zero gradient has no direction: see the zero-gradient test
    out = clip_by_norm(g, max_norm)
    scale = np.linalg.norm(out) / norm
    assert 0 < scale <= 1 + 1e-12
    np.testing.assert_allclose(out, scale * g, rtol=1e-12, atol=1e-300)


@settings(max_examples=50, deadline=None)
@given(g=gradients, headroom=st.floats(1.0, 10.0))
def test_clip_by_norm_leaves_a_gradient_within_max_norm_unchanged(g: Array, headroom: float) -> None:
    max_norm = max(float(np.linalg.norm(g)) * headroom, 1e-3)
    np.testing.assert_array_equal(clip_by_norm(g, max_norm), g)


@pytest.mark.parametrize("max_norm", [1e-6, 1.0])
def test_clip_by_norm_keeps_a_zero_gradient_zero(max_norm: float) -> None:
    out = clip_by_norm(np.zeros((3, 2)), max_norm)
    assert out.shape == (3, 2)
    np.testing.assert_array_equal(out, 0.0)


def test_clip_by_norm_does_not_modify_its_input() -> None:
    g = np.random.default_rng(6).standard_normal((4, 3)) * 10
    before = g.copy()
    out = clip_by_norm(g, 1.0)
    np.testing.assert_array_equal(g, before)
    assert not np.shares_memory(out, g)


@pytest.mark.parametrize("max_norm", [0.0, -1.0, np.nan])
def test_clip_by_norm_non_positive_max_norm_raises(max_norm: float) -> None:
    with pytest.raises(ValueError, match="max_norm must be > 0"):
        clip_by_norm(np.ones(3), max_norm)


# ----- clip_grad_norm -----------------------------------------------------------------------------
def test_clip_grad_norm_scales_by_the_global_norm_not_per_array() -> None:
    g1, g2 = np.array([3.0]), np.array([0.0, 4.0])  # norms 3 and 4, each below 4.5; together 5
    clip_grad_norm([g1, g2], 4.5)
    coef = 4.5 / (5.0 + 1e-6)
    np.testing.assert_allclose(g1, [3.0 * coef], rtol=1e-15)
    np.testing.assert_allclose(g2, [0.0, 4.0 * coef], rtol=1e-15)


@settings(max_examples=50, deadline=None)
@given(grads=st.lists(gradients, min_size=1, max_size=4), max_norm=max_norms)
def test_clip_grad_norm_returns_the_global_norm_before_clipping(grads: list[Array], max_norm: float) -> None:
    expected = _norm(grads)
    assert clip_grad_norm(grads, max_norm) == pytest.approx(expected, rel=1e-12)


@settings(max_examples=50, deadline=None)
@given(grads=st.lists(gradients, min_size=1, max_size=4), max_norm=max_norms)
def test_clip_grad_norm_leaves_a_global_norm_at_most_max_norm(grads: list[Array], max_norm: float) -> None:
    clip_grad_norm(grads, max_norm)
    assert _norm(grads) <= max_norm * (1 + 1e-12)


@settings(max_examples=50, deadline=None)
@given(grads=st.lists(gradients, min_size=1, max_size=4), max_norm=max_norms)
def test_clip_grad_norm_keeps_the_direction_of_the_whole_update(grads: list[Array], max_norm: float) -> None:
    before = [g.copy() for g in grads]
    total = clip_grad_norm(grads, max_norm)
    scale = min(1.0, max_norm / (total + 1e-6))
    for g, original in zip(grads, before, strict=True):
        np.testing.assert_allclose(g, scale * original, rtol=1e-12, atol=1e-300)


def test_clip_grad_norm_clips_in_place() -> None:
    buffer = np.random.default_rng(7).standard_normal(10) * 10
    grads = [buffer[:4], buffer[4:]]  # views: only an in-place update reaches the buffer
    total = clip_grad_norm(grads, 1.0)
    assert total > 1.0
    assert np.linalg.norm(buffer) == pytest.approx(1.0, rel=1e-5)


@settings(max_examples=50, deadline=None)
@given(grads=st.lists(gradients, min_size=1, max_size=4), headroom=st.floats(1.01, 10.0))
def test_clip_grad_norm_leaves_gradients_below_max_norm_unchanged(grads: list[Array], headroom: float) -> None:
    before = [g.copy() for g in grads]
    clip_grad_norm(grads, max(_norm(grads) * headroom, 1e-3))
    for g, original in zip(grads, before, strict=True):
        np.testing.assert_array_equal(g, original)


@pytest.mark.parametrize("max_norm", [0.0, -1.0, np.nan])
def test_clip_grad_norm_non_positive_max_norm_raises(max_norm: float) -> None:
    with pytest.raises(ValueError, match="max_norm must be > 0"):
        clip_grad_norm([np.ones(3)], max_norm)
