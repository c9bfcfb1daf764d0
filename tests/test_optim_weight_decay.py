"""Weight decay: L2 (``weight_decay`` of SGD, Momentum, Adam) and decoupled (AdamW), as ``torch.optim``.

Trajectories of 10 steps on random parameters and random gradients must agree with torch to 1e-9
in float64. Gradients are fed directly (no model), so the test isolates the update rule.
"""

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
from numpy.typing import NDArray

from backproplab.optim import SGD, Adam, AdamW, Momentum, Optimizer

if TYPE_CHECKING:
    import torch

Array = NDArray[np.float64]
SHAPES = [(4, 3), (3,), (2, 2, 2), (5000,)]  # 5000 elements: SGD's BLAS path (_blas.MIN_SIZE is 4096)
TOL = 1e-9

OptimizerPair = tuple[Callable[[], Optimizer], Callable[[list["torch.Tensor"]], "torch.optim.Optimizer"]]


def _pairs() -> dict[str, OptimizerPair]:
    torch = pytest.importorskip("torch")
    return {
        "sgd": (lambda: SGD(0.1, weight_decay=0.3), lambda ps: torch.optim.SGD(ps, lr=0.1, weight_decay=0.3)),
        "momentum": (
            lambda: Momentum(0.05, beta=0.9, weight_decay=0.2),
            lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, weight_decay=0.2),
        ),
        "nesterov": (
            lambda: Momentum(0.05, beta=0.8, nesterov=True, weight_decay=0.2),
            lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.2),
        ),
        "adam": (
            lambda: Adam(0.02, beta1=0.8, beta2=0.95, eps=1e-6, weight_decay=0.1),
            lambda ps: torch.optim.Adam(ps, lr=0.02, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.1),
        ),
        "adamw": (lambda: AdamW(0.02, weight_decay=0.5), lambda ps: torch.optim.AdamW(ps, lr=0.02, weight_decay=0.5)),
        "adamw-defaults": (lambda: AdamW(), lambda ps: torch.optim.AdamW(ps)),
    }


names = pytest.mark.parametrize("name", ["sgd", "momentum", "nesterov", "adam", "adamw", "adamw-defaults"])


def _run_both(name: str, seed: int, lrs: list[float] | None = None) -> float:
    """Max |ours - torch| over all params after one step per gradient set; ``lrs`` sets ``lr`` before each step."""
    torch = pytest.importorskip("torch")
    make_ours, make_theirs = _pairs()[name]
    rng = np.random.default_rng(seed)
    params = [rng.standard_normal(s) for s in SHAPES]
    theirs = [torch.tensor(p, requires_grad=True) for p in params]
    opt, torch_opt = make_ours(), make_theirs(theirs)
    for step_lr in lrs if lrs is not None else [None] * 10:
        grads = [rng.standard_normal(s) for s in SHAPES]
        if step_lr is not None:
            opt.lr = step_lr
            for group in torch_opt.param_groups:
                group["lr"] = step_lr
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            opt.step(params, grads)
        for t, g in zip(theirs, grads, strict=True):
            t.grad = torch.tensor(g)
        torch_opt.step()
    return max(float(np.max(np.abs(p - t.detach().numpy()))) for p, t in zip(params, theirs, strict=True))


@names
@pytest.mark.parametrize("seed", [0, 1])
def test_ten_steps_with_weight_decay_match_torch_optim(name: str, seed: int) -> None:
    assert _run_both(name, seed) <= TOL


@names
def test_a_learning_rate_changed_between_steps_is_used_as_torch_uses_it(name: str) -> None:
    assert _run_both(name, seed=2, lrs=[0.1, 0.05, 0.02, 0.2, 0.01]) <= TOL


@names
def test_step_with_weight_decay_does_not_modify_grads(name: str) -> None:
    rng = np.random.default_rng(3)
    params = [rng.standard_normal(s) for s in SHAPES]
    grads = [rng.standard_normal(s) for s in SHAPES]
    before = [g.copy() for g in grads]
    opt = _pairs()[name][0]()
    for _ in range(2):
        opt.step(params, grads)
    for g, b in zip(grads, before, strict=True):
        np.testing.assert_array_equal(g, b)


def test_sgd_weight_decay_adds_wd_times_p_to_the_gradient() -> None:
    p, g = np.array([2.0, -4.0]), np.array([0.5, 0.5])
    SGD(0.1, weight_decay=0.25).step([p], [g])
    np.testing.assert_allclose(p, [2.0 - 0.1 * (0.5 + 0.5), -4.0 - 0.1 * (0.5 - 1.0)], rtol=0, atol=1e-15)


def test_adamw_with_a_zero_gradient_only_shrinks_the_params() -> None:
    p = np.array([1.0, -3.0])
    AdamW(lr=0.1, weight_decay=0.5).step([p], [np.zeros(2)])
    # decoupled: p * (1 - lr * wd); Adam's step of a zero gradient is 0 / (0 + eps) = 0
    np.testing.assert_array_equal(p, np.array([1.0, -3.0]) * (1 - 0.1 * 0.5))


def test_adam_l2_with_a_zero_gradient_steps_by_lr_towards_zero() -> None:
    p = np.array([1.0, -3.0])
    Adam(lr=0.1, weight_decay=0.5).step([p], [np.zeros(2)])
    # L2 goes through the moments: g = wd * p, and Adam's first step is lr * sign(g) whatever |g|
    np.testing.assert_allclose(p, [0.9, -2.9], rtol=1e-7)


@pytest.mark.parametrize("make", [SGD, Momentum, Adam, AdamW], ids=["sgd", "momentum", "adam", "adamw"])
@pytest.mark.parametrize("weight_decay", [-1e-4, np.nan, np.inf, -np.inf])
def test_negative_or_non_finite_weight_decay_raises(make: Callable[..., Optimizer], weight_decay: float) -> None:
    with pytest.raises(ValueError, match=rf"weight_decay must be a finite number >= 0, got {weight_decay}"):
        make(lr=0.1, weight_decay=weight_decay)


def test_adamw_default_weight_decay_is_torchs() -> None:
    torch = pytest.importorskip("torch")
    their_defaults: dict[str, Any] = torch.optim.AdamW([torch.zeros(1, requires_grad=True)]).defaults
    opt = AdamW()
    assert (opt.lr, opt.beta1, opt.beta2, opt.eps, opt.weight_decay) == (
        their_defaults["lr"],
        *their_defaults["betas"],
        their_defaults["eps"],
        their_defaults["weight_decay"],
    )
