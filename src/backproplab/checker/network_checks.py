"""Checks of the seed's two-layer network (7.4), the overfit test (7.5), training it with plain SGD, and XOR.

The network is the seed's 7.4 one: ``Z1 = X W1 + b1``, ``A1 = relu(Z1)``, ``Z2 = A1 W2 + b2``,
``P = sigmoid(Z2)``, mean BCE. The learner's ``forward(X, W1, b1, W2, b2) -> (P, cache)`` and
``backward(y, cache, W2) -> (dW1, db1, dW2, db2)`` are used as they are. The overfit test and XOR
train with the library's Adam, whose step does not depend on the gradient's scale, so they test the
gradients' directions; ``network`` trains with plain SGD, whose step is ``lr`` times the gradient, so
it also tests their scale; the gradient check tests their exact values.
"""

from typing import Any

import numpy as np

from backproplab._typing import FloatArray
from backproplab.checker.hints import NOT_FINITE, CheckError, as_array, compare
from backproplab.checker.learner import Fn, Impl
from backproplab.data.toy import xor
from backproplab.demos import SOLVED_LOSS, tiny_dataset
from backproplab.gradcheck import numerical_gradient
from backproplab.layers import init_weight
from backproplab.optim import SGD, Adam, Optimizer

PARAM_NAMES = ("W1", "b1", "W2", "b2")
XOR_SEEDS = range(5)  # "XOR is solved reliably": every one of these initialisations must solve it


def _exact_forward(X: FloatArray, W1: FloatArray, b1: FloatArray, W2: FloatArray, b2: FloatArray) -> FloatArray:
    A1 = np.maximum(X @ W1 + b1, 0.0)
    return np.asarray(1.0 / (1.0 + np.exp(-(A1 @ W2 + b2))))


def _exact_bce(y: FloatArray, P: FloatArray) -> float:
    return float(-np.mean(y * np.log(P) + (1 - y) * np.log(1 - P)))


def init_params(d_in: int, d_h: int, seed: int, d_out: int = 1) -> list[FloatArray]:
    """``[W1 (d_in, d_h), b1 (d_h,), W2 (d_h, d_out), b2 (d_out,)]``, He-scaled, small random biases."""
    rng = np.random.default_rng(seed)
    return [
        init_weight((d_in, d_h), d_in, "he", rng, np.float64),
        rng.standard_normal(d_h) * 0.1,
        init_weight((d_h, d_out), d_h, "he", rng, np.float64),
        rng.standard_normal(d_out) * 0.1,
    ]


def _probabilities(forward: Fn, X: FloatArray, params: list[FloatArray]) -> tuple[np.ndarray, Any]:
    """The learner's ``(P, cache)``, with ``P`` checked for its shape ``(n, d_out)``."""
    out = forward(X, *params)
    if not (isinstance(out, tuple) and len(out) == 2):
        raise CheckError(f"forward returned {type(out).__name__}, expected the pair (P, cache)")
    P = as_array("P from forward", out[0])
    expected_shape = (X.shape[0], params[2].shape[1])
    if P.shape != expected_shape:
        compare("P from forward", P, np.zeros(expected_shape))
    return P, out[1]


def _gradients(backward: Fn, y: FloatArray, cache: Any, params: list[FloatArray]) -> list[np.ndarray]:
    """The learner's four gradients, each checked for its parameter's shape (a transpose is named)."""
    grads = backward(y, cache, params[2])
    if not (isinstance(grads, tuple | list) and len(grads) == 4):
        raise CheckError(f"backward returned {type(grads).__name__}, expected the 4 arrays (dW1, db1, dW2, db2)")
    arrays = [as_array(f"d{name}", g) for name, g in zip(PARAM_NAMES, grads, strict=True)]
    for name, g, p in zip(PARAM_NAMES, arrays, params, strict=True):
        if g.shape != p.shape:
            compare(f"d{name}", g, np.zeros(p.shape))  # raises with the shape hint
    return arrays


def check_forward(impl: Impl) -> str:
    (forward,) = impl.get("forward")
    rng = np.random.default_rng(1)
    X = rng.standard_normal((8, 3))
    params = init_params(3, 5, seed=1)
    P, _ = _probabilities(forward, X, params)
    compare("P = sigmoid(relu(X W1 + b1) W2 + b2)", P, _exact_forward(X, *params))
    return "P: (n, 1) equals sigmoid(relu(X W1 + b1) W2 + b2)"


def check_backward(impl: Impl) -> str:
    forward, backward = impl.get("forward", "backward")
    rng = np.random.default_rng(0)
    n, d_in, d_h = 8, 3, 5  # d_in != d_h, so that a transposed dW1 has the wrong shape
    X = rng.standard_normal((n, d_in))
    y = (rng.random((n, 1)) < 0.5).astype(float)
    params = init_params(d_in, d_h, seed=0)
    _, cache = _probabilities(forward, X, params)
    grads = _gradients(backward, y, cache, params)
    worst = 0.0
    for name, g, p in zip(PARAM_NAMES, grads, params, strict=True):
        numeric = numerical_gradient(lambda: _exact_bce(y, _exact_forward(X, *params)), p, h=1e-5)
        compare(f"d{name}", g, numeric, n=n, rtol=1e-6, atol=1e-9)
        worst = max(worst, float(np.max(np.abs(g - numeric) / np.maximum(np.abs(numeric), 1e-8))))
    return f"dW1, db1, dW2, db2 match central differences of the mean BCE (max relative error {worst:.1e})"


def train(
    impl: Impl, X: FloatArray, y: FloatArray, d_h: int, optimizer: Optimizer, steps: int, seed: int
) -> np.ndarray:
    """Full-batch ``optimizer`` steps on the learner's gradients for ``steps`` steps; the final ``P: (n, 1)``."""
    forward, backward = impl.get("forward", "backward")
    params = init_params(X.shape[1], d_h, seed)
    for _ in range(steps):
        _, cache = _probabilities(forward, X, params)
        grads = _gradients(backward, y, cache, params)
        if not all(np.isfinite(g).all() for g in grads):
            raise CheckError("a gradient became NaN or inf during training", NOT_FINITE)
        optimizer.step(params, [g.astype(float) for g in grads])
    return _probabilities(forward, X, params)[0]


def _verdict(P: np.ndarray, y: FloatArray) -> tuple[float, int]:
    """``(loss, number correct)`` of the probabilities ``P`` on 0/1 targets ``y``."""
    if not np.isfinite(P).all():
        raise CheckError("forward returned NaN or inf after training", NOT_FINITE)
    loss = _exact_bce(y, np.clip(P, 1e-15, 1 - 1e-15))
    return loss, int(np.sum((P >= 0.5) == (y == 1)))


def check_overfit(impl: Impl) -> str:
    X, labels = tiny_dataset(16, seed=0)
    y = labels[:, None].astype(float)
    P = train(impl, X, y, d_h=64, optimizer=Adam(0.05), steps=600, seed=0)
    loss, correct = _verdict(P, y)
    if loss >= SOLVED_LOSS:
        raise CheckError(
            f"after 600 Adam steps the loss on 16 random points is {loss:.4f} (needs < {SOLVED_LOSS})",
            "a network that cannot memorise 16 points has a bug: run the backward check (--exercise 7.4).",
        )
    return f"16 points with random labels memorised: loss {loss:.5f} < {SOLVED_LOSS}, {correct}/16 correct"


SGD_LR, SGD_STEPS = 1.0, 2000  # measured: correct gradients reach loss 0.0037; 16x too large ones stall at 1.3


def _gradient_scale(impl: Impl, X: FloatArray, y: FloatArray, params: list[FloatArray]) -> float:
    """``||learner's gradients|| / ||central differences||`` at ``params``: 1 when their scale is right."""
    forward, backward = impl.get("forward", "backward")
    _, cache = _probabilities(forward, X, params)
    ours = np.concatenate([g.ravel() for g in _gradients(backward, y, cache, params)])
    numeric = np.concatenate(
        [numerical_gradient(lambda: _exact_bce(y, _exact_forward(X, *params)), p, h=1e-5).ravel() for p in params]
    )
    return float(np.linalg.norm(ours) / np.linalg.norm(numeric))


def check_network(impl: Impl) -> str:
    X, labels = tiny_dataset(16, seed=0)
    y = labels[:, None].astype(float)
    try:
        loss, correct = _verdict(train(impl, X, y, d_h=64, optimizer=SGD(SGD_LR), steps=SGD_STEPS, seed=0), y)
    except CheckError as e:
        if e.hint != NOT_FINITE:
            raise
        loss, correct = float("inf"), 0  # diverged: the gradients' scale says why
    if loss < SOLVED_LOSS:
        return (
            f"plain SGD (lr {SGD_LR:g}, {SGD_STEPS} steps) on your gradients memorises 16 points: "
            f"loss {loss:.5f}, {correct}/16 correct"
        )
    scale = _gradient_scale(impl, X, y, init_params(X.shape[1], 64, seed=0))
    outcome = f"is {loss:.4f} (needs < {SOLVED_LOSS})" if np.isfinite(loss) else "became NaN or inf"
    detail = f"after {SGD_STEPS} plain SGD steps of lr {SGD_LR:g} the loss on 16 points {outcome}"
    if scale > 1.5:
        hint = (
            f"your gradients are {scale:.3g} times the true ones (measured at the start; a missing / n?): plain SGD's "
            f"step is lr x gradient, so its steps were {scale:.3g} times too large. Adam hides this; SGD does not."
        )
    elif scale < 1 / 1.5:
        hint = (
            f"your gradients are {scale:.3g} times the true ones (measured at the start; the 1/n applied twice?): "
            "plain SGD's steps were too small to learn in time."
        )
    else:
        hint = "your gradients have the right size but do not train: run the backward check (--exercise 7.4)."
    raise CheckError(detail, hint)


def check_xor(impl: Impl) -> str:
    X, labels = xor()
    y = labels[:, None].astype(float)
    losses = []
    for seed in XOR_SEEDS:
        P = train(impl, X, y, d_h=16, optimizer=Adam(0.05), steps=500, seed=seed)
        loss, correct = _verdict(P, y)
        if loss >= SOLVED_LOSS or correct < 4:
            raise CheckError(
                f"XOR not solved from initialisation seed {seed}: loss {loss:.4f}, {correct}/4 correct",
                "XOR needs the hidden layer's non-linearity; if the gradient check passes, look at forward.",
            )
        losses.append(loss)
    return f"XOR solved from all {len(losses)} initialisations (worst loss {max(losses):.5f})"
