"""PyTorch as the oracle: the NumPy core computes what torch computes, in float64.

Each test builds the same computation in torch from the same numbers and compares values and
gradients. Our Dense ``W`` is ``(d_in, d_out)`` (torch's ``Linear.weight`` is its transpose), so the
torch side computes ``x @ W + b`` functionally with leaf tensors copied from the NumPy arrays.
Networks, losses and optimizer trajectories must agree to ``1e-9`` (the acceptance bound);
single elementwise operations and gradient clipping to ``1e-12``. Upstream gradients are random.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.typing import NDArray

from backproplab import activations as act
from backproplab.losses import (
    binary_cross_entropy,
    categorical_cross_entropy,
    mse_loss,
    one_hot,
    sigmoid_binary_cross_entropy,
    softmax_cross_entropy,
)
from backproplab.neural_network import MLP, Activation, Output
from backproplab.optim import SGD, Adam, Momentum, Optimizer, clip_grad_norm

if TYPE_CHECKING:
    import torch
else:
    torch = pytest.importorskip("torch")

F = torch.nn.functional
NET_TOL = 1e-9  # forward, loss, gradients and optimizer trajectories (the acceptance bound)
OP_TOL = 1e-12  # one elementwise operation, one clipping

Array = NDArray[Any]


def _tensor(a: Array | float, requires_grad: bool = False) -> "torch.Tensor":
    """A float64 torch copy of ``a`` (never sharing memory with the NumPy array)."""
    return torch.tensor(np.asarray(a, dtype=np.float64), dtype=torch.float64, requires_grad=requires_grad)


def _max_abs_diff(ours: Array | float, theirs: "torch.Tensor") -> float:
    expected = theirs.detach().numpy()
    actual = np.asarray(ours, dtype=np.float64)
    assert actual.shape == expected.shape
    return float(np.max(np.abs(actual - expected), initial=0.0))


# ----- MLP forward, loss and gradients ------------------------------------------------------------
ACTIVATIONS: tuple[Activation, ...] = ("relu", "tanh", "sigmoid", "leaky_relu")
OUTPUTS: tuple[Output, ...] = ("softmax", "sigmoid", "linear")
TORCH_ACTIVATIONS: dict[str, Callable[["torch.Tensor"], "torch.Tensor"]] = {
    "relu": torch.relu,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "leaky_relu": F.leaky_relu,  # negative_slope 0.01, our LeakyReLU's default alpha
}


@dataclass(frozen=True)
class NetCase:
    """One network and batch; the weights, inputs and targets are drawn from ``seed``."""

    sizes: tuple[int, ...]
    activation: Activation
    output: Output
    n: int
    onehot: bool  # softmax: one-hot (N, K) targets instead of class ids (N,)
    flat: bool  # sigmoid/linear with one output: targets of shape (N,) instead of (N, 1)
    seed: int


@st.composite
def net_cases(draw: st.DrawFn) -> NetCase:
    output = draw(st.sampled_from(OUTPUTS))
    d_in = draw(st.integers(1, 8))
    hidden = draw(st.lists(st.integers(1, 8), min_size=1, max_size=3))
    d_out = draw(st.integers(2 if output == "softmax" else 1, 5))
    return NetCase(
        sizes=(d_in, *hidden, d_out),
        activation=draw(st.sampled_from(ACTIVATIONS)),
        output=output,
        n=draw(st.integers(1, 8)),
        onehot=draw(st.booleans()),
        flat=draw(st.booleans()),
        seed=draw(st.integers(0, 2**32 - 1)),
    )


# N=1 and D=1 at once, for each output.
N1_D1_SOFTMAX = NetCase((1, 1, 2), "relu", "softmax", n=1, onehot=False, flat=False, seed=1)
N1_D1_SIGMOID = NetCase((1, 3, 1), "tanh", "sigmoid", n=1, onehot=False, flat=True, seed=2)
N1_D1_LINEAR = NetCase((1, 2, 2, 1), "leaky_relu", "linear", n=1, onehot=False, flat=False, seed=3)
DEEP_ONEHOT = NetCase((5, 8, 4, 6, 3), "sigmoid", "softmax", n=8, onehot=True, flat=False, seed=4)


def _targets(output: Output, n: int, d_out: int, rng: np.random.Generator, onehot: bool, flat: bool) -> Array:
    if output == "softmax":
        ids = rng.integers(0, d_out, size=n)
        return one_hot(ids, d_out) if onehot else ids
    if output == "sigmoid":
        y = rng.integers(0, 2, size=(n, d_out)).astype(np.float64)
    else:
        y = rng.standard_normal((n, d_out))
    return y[:, 0] if flat and d_out == 1 else y


def _make(case: NetCase) -> tuple[MLP, Array, Array]:
    """The network (with random, non-zero biases), a batch ``X: (N, d_in)`` and its targets."""
    rng = np.random.default_rng(case.seed)
    net = MLP(case.sizes, case.activation, case.output, seed=case.seed, dtype=np.float64)
    for name, p in net.named_params():
        if name.startswith("b"):
            p[...] = 0.5 * rng.standard_normal(p.shape)
    X = rng.standard_normal((case.n, case.sizes[0]))
    y = _targets(case.output, case.n, case.sizes[-1], rng, case.onehot, case.flat)
    return net, X, y


def _torch_params(net: MLP) -> list["torch.Tensor"]:
    """Leaf tensors ``[W1, b1, W2, b2, ...]`` holding copies of the network's parameters."""
    return [_tensor(p, requires_grad=True) for p in net.params]


def _torch_forward(params: list["torch.Tensor"], X: Array, activation: str) -> "torch.Tensor":
    out = _tensor(X)
    for i in range(0, len(params), 2):
        if i > 0:
            out = TORCH_ACTIVATIONS[activation](out)
        out = out @ params[i] + params[i + 1]  # (N, d_in) @ (d_in, d_out) + (d_out,)
    return out


def _torch_loss(logits: "torch.Tensor", y: Array, output: Output) -> "torch.Tensor":
    if output == "softmax":
        target = torch.from_numpy(y.astype(np.int64)) if y.ndim == 1 else _tensor(y)
        return F.cross_entropy(logits, target)
    target = _tensor(y).reshape(logits.shape)
    if output == "sigmoid":
        return F.binary_cross_entropy_with_logits(logits, target)
    return F.mse_loss(logits, target)


def _grad_diffs(net: MLP, theirs: Sequence["torch.Tensor"]) -> dict[str, float]:
    """Max abs difference per parameter name between ``net.grads`` and torch's gradients."""
    names = [name for name, _ in net.named_params()]
    return {name: _max_abs_diff(g, t) for name, g, t in zip(names, net.grads, theirs, strict=True)}


@settings(max_examples=30, deadline=None)
@given(case=net_cases())
@example(case=N1_D1_SOFTMAX)
@example(case=N1_D1_SIGMOID)
@example(case=N1_D1_LINEAR)
@example(case=DEEP_ONEHOT)
def test_mlp_logits_match_torch(case: NetCase) -> None:
    net, X, _ = _make(case)
    logits = net.forward(X)
    assert _max_abs_diff(logits, _torch_forward(_torch_params(net), X, case.activation)) <= NET_TOL


@settings(max_examples=30, deadline=None)
@given(case=net_cases())
@example(case=N1_D1_SOFTMAX)
@example(case=N1_D1_SIGMOID)
@example(case=N1_D1_LINEAR)
@example(case=DEEP_ONEHOT)
def test_mlp_loss_matches_torch(case: NetCase) -> None:
    net, X, y = _make(case)
    loss, _ = net.loss(net.forward(X), y)
    theirs = _torch_loss(_torch_forward(_torch_params(net), X, case.activation), y, case.output)
    assert abs(loss - theirs.item()) <= NET_TOL


@settings(max_examples=30, deadline=None)
@given(case=net_cases())
@example(case=N1_D1_SOFTMAX)
@example(case=N1_D1_SIGMOID)
@example(case=N1_D1_LINEAR)
@example(case=DEEP_ONEHOT)
def test_mlp_loss_gradients_match_torch_autograd(case: NetCase) -> None:
    net, X, y = _make(case)
    _, dlogits = net.loss(net.forward(X), y)
    net.backward(dlogits)
    params = _torch_params(net)
    loss = _torch_loss(_torch_forward(params, X, case.activation), y, case.output)
    diffs = _grad_diffs(net, torch.autograd.grad(loss, params))
    assert max(diffs.values()) <= NET_TOL, diffs


@settings(max_examples=30, deadline=None)
@given(case=net_cases())
@example(case=N1_D1_SOFTMAX)
@example(case=N1_D1_SIGMOID)
@example(case=N1_D1_LINEAR)
@example(case=DEEP_ONEHOT)
def test_mlp_backward_of_random_upstream_gradient_matches_torch(case: NetCase) -> None:
    net, X, _ = _make(case)
    logits = net.forward(X)
    upstream = np.random.default_rng(case.seed + 1).standard_normal(logits.shape)
    net.backward(upstream)
    params = _torch_params(net)
    theirs = torch.autograd.grad(_torch_forward(params, X, case.activation), params, _tensor(upstream))
    diffs = _grad_diffs(net, theirs)
    assert max(diffs.values()) <= NET_TOL, diffs


# ----- optimizers: 10 steps against torch.optim ---------------------------------------------------
OptimizerPair = tuple[Callable[[], Optimizer], Callable[[list["torch.Tensor"]], "torch.optim.Optimizer"]]
OPTIMIZER_PAIRS: dict[str, OptimizerPair] = {
    "sgd": (lambda: SGD(0.1), lambda ps: torch.optim.SGD(ps, lr=0.1)),
    "momentum": (lambda: Momentum(0.05, beta=0.9), lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9)),
    "nesterov": (
        lambda: Momentum(0.05, beta=0.8, nesterov=True),
        lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.8, nesterov=True),
    ),
    "adam-defaults": (lambda: Adam(0.01), lambda ps: torch.optim.Adam(ps, lr=0.01)),
    "adam": (
        lambda: Adam(0.02, beta1=0.8, beta2=0.95, eps=1e-6),
        lambda ps: torch.optim.Adam(ps, lr=0.02, betas=(0.8, 0.95), eps=1e-6),
    ),
}


def _batches(case: NetCase, steps: int) -> list[tuple[Array, Array]]:
    rng = np.random.default_rng(case.seed + 1)
    return [
        (
            rng.standard_normal((case.n, case.sizes[0])),
            _targets(case.output, case.n, case.sizes[-1], rng, onehot=False, flat=False),
        )
        for _ in range(steps)
    ]


@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("name", sorted(OPTIMIZER_PAIRS))
def test_ten_optimizer_steps_match_torch_optim(name: str, output: Output) -> None:
    make_ours, make_theirs = OPTIMIZER_PAIRS[name]
    case = NetCase((3, 6, 5, 3), "tanh", output, n=7, onehot=False, flat=False, seed=11)
    net, _, _ = _make(case)
    params = _torch_params(net)
    opt, torch_opt = make_ours(), make_theirs(params)
    for X, y in _batches(case, steps=10):
        net.train_step(X, y, opt)
        torch_opt.zero_grad()
        torch.autograd.backward(_torch_loss(_torch_forward(params, X, case.activation), y, output))
        torch_opt.step()
    diffs = {n: _max_abs_diff(p, t) for (n, p), t in zip(net.named_params(), params, strict=True)}
    assert max(diffs.values()) <= NET_TOL, diffs


def test_train_step_with_clip_norm_matches_torch_clip_grad_norm_then_step() -> None:
    case = NetCase((4, 8, 3), "relu", "softmax", n=6, onehot=False, flat=False, seed=5)
    net, _, _ = _make(case)
    params = _torch_params(net)
    opt, torch_opt = Momentum(0.1, beta=0.9), torch.optim.SGD(params, lr=0.1, momentum=0.9)
    max_norm, norms = 0.05, []
    for X, y in _batches(case, steps=10):
        net.train_step(X, y, opt, clip_norm=max_norm)
        torch_opt.zero_grad()
        torch.autograd.backward(_torch_loss(_torch_forward(params, X, case.activation), y, case.output))
        norms.append(torch.nn.utils.clip_grad_norm_(params, max_norm).item())
        torch_opt.step()
    assert min(norms) > max_norm  # clipping was active at every step
    diffs = {n: _max_abs_diff(p, t) for (n, p), t in zip(net.named_params(), params, strict=True)}
    assert max(diffs.values()) <= NET_TOL, diffs


# ----- gradient clipping ------------------------------------------------------------------------
@pytest.mark.parametrize("norm_over_max", [0.01, 0.5, 0.99, 1.01, 2.0, 100.0])
def test_clip_grad_norm_matches_torch_clip_grad_norm(norm_over_max: float) -> None:
    rng = np.random.default_rng(7)
    grads = [rng.standard_normal(shape) for shape in [(3, 4), (4,), (4, 2), (2,), (1, 1)]]
    total = float(np.sqrt(sum(np.sum(g * g) for g in grads)))
    max_norm = total / norm_over_max
    params = [_tensor(np.zeros_like(g)) for g in grads]
    for p, g in zip(params, grads, strict=True):
        p.grad = _tensor(g)
    theirs = torch.nn.utils.clip_grad_norm_(params, max_norm)
    ours = clip_grad_norm(grads, max_norm)
    assert abs(ours - theirs.item()) <= OP_TOL
    clipped = [p.grad for p in params if p.grad is not None]
    assert len(clipped) == len(grads)
    assert max(_max_abs_diff(g, t) for g, t in zip(grads, clipped, strict=True)) <= OP_TOL


# ----- activations --------------------------------------------------------------------------------
EXTREMES = np.array([-1e4, -745.0, -710.0, -40.0, -1.0, -1e-12, 0.0, 1e-12, 1.0, 40.0, 710.0, 745.0, 1e4])
float64_arrays = hnp.arrays(
    np.float64,
    hnp.array_shapes(min_dims=1, max_dims=3, max_side=6),
    elements=st.floats(-1e4, 1e4, allow_nan=False),
)
ELEMENTWISE: dict[str, tuple[Callable[[Array], Array], Callable[["torch.Tensor"], "torch.Tensor"]]] = {
    "sigmoid": (act.sigmoid, torch.sigmoid),
    "relu": (act.relu, torch.relu),
    "tanh": (act.tanh, torch.tanh),
    "leaky_relu": (act.leaky_relu, F.leaky_relu),
}
DERIVATIVES: dict[str, Callable[[Array], Array]] = {
    "sigmoid": act.sigmoid_deriv,
    "relu": act.relu_deriv,
    "tanh": act.tanh_deriv,
    "leaky_relu": act.leaky_relu_deriv,
}


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
@settings(max_examples=30, deadline=None)
@given(z=float64_arrays)
@example(z=EXTREMES)
def test_elementwise_activation_matches_torch(name: str, z: Array) -> None:
    ours, theirs = ELEMENTWISE[name]
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        value = ours(z)
    assert value.dtype == np.float64
    assert _max_abs_diff(value, theirs(_tensor(z))) <= OP_TOL


@pytest.mark.parametrize("name", sorted(DERIVATIVES))
@settings(max_examples=30, deadline=None)
@given(z=float64_arrays)
@example(z=EXTREMES)
def test_activation_derivative_times_upstream_matches_torch_autograd(name: str, z: Array) -> None:
    upstream = np.random.default_rng(z.size).standard_normal(z.shape)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        ours = upstream * DERIVATIVES[name](z)
    zt = _tensor(z, requires_grad=True)
    (theirs,) = torch.autograd.grad(ELEMENTWISE[name][1](zt), zt, _tensor(upstream))
    assert _max_abs_diff(ours, theirs) <= OP_TOL


@settings(max_examples=30, deadline=None)
@given(z=float64_arrays)
@example(z=EXTREMES.reshape(1, -1))
def test_softmax_matches_torch(z: Array) -> None:
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        ours = act.softmax(z, axis=-1)
    assert _max_abs_diff(ours, torch.softmax(_tensor(z), dim=-1)) <= OP_TOL


@settings(max_examples=30, deadline=None)
@given(z=float64_arrays)
@example(z=EXTREMES.reshape(1, -1))
def test_logsumexp_matches_torch(z: Array) -> None:
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        ours = act.logsumexp(z, axis=-1)
    assert _max_abs_diff(ours, torch.logsumexp(_tensor(z), dim=-1)) <= OP_TOL


# ----- losses -------------------------------------------------------------------------------------
@st.composite
def logit_batches(draw: st.DrawFn) -> tuple[Array, np.random.Generator]:
    """Logits ``(N, K)`` with N in 1..8, K in 2..6 and a scale from 1e-3 to 1e3, plus an rng for targets."""
    n, k = draw(st.integers(1, 8)), draw(st.integers(2, 6))
    scale = draw(st.sampled_from([1e-3, 1.0, 30.0, 1e3]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return scale * rng.standard_normal((n, k)), rng


def _loss_and_grad(loss_fn: Callable[["torch.Tensor"], "torch.Tensor"], logits: Array) -> tuple[float, "torch.Tensor"]:
    zt = _tensor(logits, requires_grad=True)
    loss = loss_fn(zt)
    (grad,) = torch.autograd.grad(loss, zt)
    return loss.item(), grad


@settings(max_examples=30, deadline=None)
@given(batch=logit_batches())
def test_softmax_cross_entropy_with_class_ids_matches_torch(batch: tuple[Array, np.random.Generator]) -> None:
    logits, rng = batch
    labels = rng.integers(0, logits.shape[1], size=logits.shape[0])
    loss, dlogits = softmax_cross_entropy(logits, labels)
    theirs, grad = _loss_and_grad(lambda z: F.cross_entropy(z, torch.from_numpy(labels)), logits)
    assert abs(loss - theirs) <= NET_TOL
    assert _max_abs_diff(dlogits, grad) <= NET_TOL


@pytest.mark.parametrize("target_kind", ["onehot", "soft"])
@settings(max_examples=30, deadline=None)
@given(batch=logit_batches())
def test_softmax_cross_entropy_with_probability_rows_matches_torch(
    target_kind: str, batch: tuple[Array, np.random.Generator]
) -> None:
    logits, rng = batch
    n, k = logits.shape
    target = (
        one_hot(rng.integers(0, k, size=n), k) if target_kind == "onehot" else act.softmax(rng.standard_normal((n, k)))
    )
    loss, dlogits = softmax_cross_entropy(logits, target)
    theirs, grad = _loss_and_grad(lambda z: F.cross_entropy(z, _tensor(target)), logits)
    assert abs(loss - theirs) <= NET_TOL
    assert _max_abs_diff(dlogits, grad) <= NET_TOL


@pytest.mark.parametrize("shape", ["(N,)", "(N, 1)", "(N, K)"])
@settings(max_examples=30, deadline=None)
@given(batch=logit_batches())
def test_sigmoid_binary_cross_entropy_matches_torch(shape: str, batch: tuple[Array, np.random.Generator]) -> None:
    logits, rng = batch
    logits = {"(N,)": logits[:, 0], "(N, 1)": logits[:, :1], "(N, K)": logits}[shape]
    y = rng.random(logits.shape).round(1)  # mostly soft targets in [0, 1], with some exact 0s and 1s
    loss, dlogits = sigmoid_binary_cross_entropy(logits, y)
    theirs, grad = _loss_and_grad(lambda z: F.binary_cross_entropy_with_logits(z, _tensor(y)), logits)
    assert abs(loss - theirs) <= NET_TOL
    assert _max_abs_diff(dlogits, grad) <= NET_TOL


@settings(max_examples=30, deadline=None)
@given(batch=logit_batches())
def test_mse_loss_matches_torch(batch: tuple[Array, np.random.Generator]) -> None:
    pred, rng = batch
    target = rng.standard_normal(pred.shape)
    loss, dpred = mse_loss(pred, target)
    theirs, grad = _loss_and_grad(lambda p: F.mse_loss(p, _tensor(target)), pred)
    assert abs(loss - theirs) <= NET_TOL * max(1.0, abs(theirs))  # values reach 1e6 at scale 1e3
    assert _max_abs_diff(dpred, grad) <= NET_TOL


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 8))
def test_binary_cross_entropy_of_probabilities_matches_torch(seed: int, n: int) -> None:
    rng = np.random.default_rng(seed)
    p = rng.uniform(1e-6, 1 - 1e-6, size=(n, 1))
    y = rng.integers(0, 2, size=(n, 1)).astype(np.float64)
    theirs = F.binary_cross_entropy(_tensor(p), _tensor(y)).item()
    assert abs(binary_cross_entropy(y, p) - theirs) <= NET_TOL


@settings(max_examples=30, deadline=None)
@given(batch=logit_batches())
def test_categorical_cross_entropy_of_probabilities_matches_torch(
    batch: tuple[Array, np.random.Generator],
) -> None:
    logits, rng = batch
    n, k = logits.shape
    probs = act.softmax(np.clip(logits, -10, 10), axis=1)  # rows sum to 1, no probability below 1e-15
    labels = rng.integers(0, k, size=n)
    theirs = F.nll_loss(torch.log(_tensor(probs)), torch.from_numpy(labels)).item()
    assert abs(categorical_cross_entropy(one_hot(labels, k), probs) - theirs) <= NET_TOL
