"""Checks of two layers beyond the seed: inverted dropout and batch normalisation, forward and backward.

``dropout_forward(x, p, rng) -> (out, mask)`` drops each value with probability ``p`` and scales the
kept ones by ``1 / (1 - p)``; ``dropout_backward(dout, mask) -> dx``. ``batchnorm_forward(x, gamma,
beta, eps=1e-5) -> (out, cache)`` normalises each feature of ``x: (N, D)`` over the batch;
``batchnorm_backward(dout, cache) -> (dx, dgamma, dbeta)``. The caches are the learner's own: each
backward pass is checked on what the learner's forward pass returned, with a random upstream gradient.
"""

from typing import Any

import numpy as np

from backproplab._typing import FloatArray
from backproplab.checker.hints import CheckError, as_array, compare
from backproplab.checker.learner import Impl
from backproplab.gradcheck import numerical_gradient

P_DROP = 0.3
RESCALE = (
    "inverted dropout scales the kept values by 1 / (1 - p), so that every value keeps its expectation "
    "(out = x * mask / (1 - p)) and inference needs no change."
)


def _pair(name: str, got: Any, what: str) -> tuple[Any, Any]:
    if not (isinstance(got, tuple | list) and len(got) == 2):
        raise CheckError(f"{name} returned {type(got).__name__}, expected the pair {what}")
    return got[0], got[1]


def check_dropout_forward(impl: Impl) -> str:
    (dropout_forward,) = impl.get("dropout_forward")
    x = np.random.default_rng(0).uniform(1.0, 2.0, (200, 50))  # no zeros: a zero in out means dropped
    rng = np.random.default_rng(1)
    call = f"dropout_forward(x {x.shape}, {P_DROP}, rng)"
    out = as_array(f"out of {call}", _pair(call, dropout_forward(x, P_DROP, rng), "(out, mask)")[0])
    if out.shape != x.shape:
        compare(f"out of {call}", out, x)  # raises with the shape hint
    dropped = float(np.mean(out == 0))
    tolerance = 5 * np.sqrt(P_DROP * (1 - P_DROP) / x.size)  # 5 standard deviations of the fraction dropped
    if abs(dropped - (1 - P_DROP)) < tolerance:
        raise CheckError(
            f"{call} dropped {dropped:.1%} of the values, about 1 - p", "p is the probability of dropping a value."
        )
    if abs(dropped - P_DROP) >= tolerance:
        raise CheckError(f"{call} dropped {dropped:.1%} of the values, expected about p = {P_DROP:.0%}")
    kept = out != 0
    scale = out[kept] / x[kept]
    if np.allclose(scale, 1.0):
        mean = float(out.mean() / x.mean())
        raise CheckError(f"{call} keeps values unscaled: the mean of out / x is {mean:.3f}, not 1", RESCALE)
    compare(f"the kept values of {call}", out[kept], x[kept] / (1 - P_DROP))
    call = "dropout_forward(x, 0.0, rng)"
    same = as_array(f"out of {call}", _pair(call, dropout_forward(x, 0.0, rng), "(out, mask)")[0])
    compare(f"out of {call} (nothing dropped)", same, x)
    return f"drops {dropped:.1%} for p = {P_DROP}, kept values scaled by 1 / (1 - p): the mean is kept; p = 0 is x"


def check_dropout_backward(impl: Impl) -> str:
    dropout_forward, dropout_backward = impl.get("dropout_forward", "dropout_backward")
    rng = np.random.default_rng(1)
    x = rng.uniform(1.0, 2.0, (20, 30))
    out, mask = _pair("dropout_forward(x, p, rng)", dropout_forward(x, P_DROP, rng), "(out, mask)")
    out = as_array("out of dropout_forward", out)
    if out.shape != x.shape:
        compare("out of dropout_forward", out, x)  # raises with the shape hint
    dout = rng.standard_normal(x.shape)
    dx = as_array("dropout_backward(dout, mask)", dropout_backward(dout, mask))
    if dx.shape == x.shape and np.allclose(dx, dout):
        raise CheckError(
            "dropout_backward(dout, mask) returned dout unchanged",
            "a dropped value had no effect on the output, so it gets no gradient: dx = dout * mask.",
        )
    if dx.shape == x.shape and np.allclose(dx, dout * (out != 0)) and not np.allclose(out[out != 0], x[out != 0]):
        raise CheckError(
            "dropout_backward passes dout through the kept values without the forward's 1 / (1 - p)",
            "the forward multiplied each kept value by 1 / (1 - p): so does its gradient (keep the scale in the mask).",
        )
    compare("dropout_backward(dout, mask)", dx, dout * out / x)  # out = x * mask: d out / d x = out / x
    return "dx = dout * d(out)/dx: gradient flows through the kept values, scaled as in the forward pass"


# ----- batch normalisation -------------------------------------------------------------------------
EPS = 1e-5


def _batchnorm(x: FloatArray, gamma: FloatArray, beta: FloatArray, eps: float = EPS) -> FloatArray:
    return np.asarray(gamma * (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps) + beta)


def _bn_inputs(rng: np.random.Generator, scales: list[float]) -> tuple[FloatArray, FloatArray, FloatArray]:
    """``x: (8, D)`` with one feature per scale (and shifted means), ``gamma``, ``beta: (D,)``."""
    d = len(scales)
    x = rng.standard_normal((8, d)) * np.array(scales) + rng.standard_normal(d) * 3
    return x, rng.uniform(0.5, 2.0, d), rng.standard_normal(d)


def check_batchnorm_forward(impl: Impl) -> str:
    (batchnorm_forward,) = impl.get("batchnorm_forward")
    x, gamma, beta = _bn_inputs(np.random.default_rng(0), [1.0, 3.0, 0.01, 0.3])  # var 1e-4: eps shows
    call = f"batchnorm_forward(x {x.shape}, gamma, beta)"
    out = as_array(f"out of {call}", _pair(call, batchnorm_forward(x, gamma, beta), "(out, cache)")[0])
    mean, var, n = x.mean(axis=0), x.var(axis=0), x.shape[0]

    def scaled(centred: FloatArray, spread: FloatArray) -> FloatArray:
        return np.asarray(gamma * centred / spread + beta)

    no_eps = "add eps inside the square root, sqrt(var + eps): it keeps a feature of small variance finite."
    variants = [
        (
            "use the biased variance, divided by N (np.var's default), as the normalisation does.",
            scaled(x - mean, np.sqrt(var * n / (n - 1) + EPS)),
        ),
        (no_eps, scaled(x - mean, np.sqrt(var))),
        (no_eps, scaled(x - mean, np.sqrt(var) + EPS)),
        ("divide by the standard deviation sqrt(var + eps), not by the variance.", scaled(x - mean, var + EPS)),
        (
            "normalise each feature (a column) over the batch: mean and var along axis 0, not axis 1.",
            scaled(x - x.mean(axis=1, keepdims=True), np.sqrt(x.var(axis=1, keepdims=True) + EPS)),
        ),
    ]
    if out.shape == x.shape and not np.allclose(out, _batchnorm(x, gamma, beta), rtol=1e-6):
        hint = next((h for h, v in variants if np.allclose(out, v, rtol=1e-6)), None)
        if hint is not None:
            raise CheckError(f"out of {call} is wrong", hint)
    compare(f"out of {call}", out, _batchnorm(x, gamma, beta))
    call = "batchnorm_forward(x, gamma, beta, 0.1)"
    other = as_array(f"out of {call}", _pair(call, batchnorm_forward(x, gamma, beta, 0.1), "(out, cache)")[0])
    if other.shape == x.shape and np.allclose(other, _batchnorm(x, gamma, beta)):
        raise CheckError(f"{call} equals batchnorm_forward(x, gamma, beta)", "use the eps passed in, not a constant.")
    compare(f"out of {call} (eps = 0.1)", other, _batchnorm(x, gamma, beta, 0.1))
    return "gamma (x - mean) / sqrt(var + eps) + beta per feature over the batch; eps honoured"


GRADS = ("dx", "dgamma", "dbeta")
NO_MEAN_TERMS = (
    "dx = dout * gamma / sqrt(var + eps) treats the batch mean and variance as constants, but they depend on "
    "every x_i: dx = gamma / (N sqrt(var + eps)) * (N dout - sum(dout) - x_hat * sum(dout * x_hat)), sums over "
    "the batch."
)

VAR_TERM = "the term through the variance is missing: subtract x_hat * mean(dout * gamma * x_hat) too."
MEAN_TERM = "the term through the mean is missing: subtract mean(dout * gamma) too."


def check_batchnorm_backward(impl: Impl) -> str:
    batchnorm_forward, batchnorm_backward = impl.get("batchnorm_forward", "batchnorm_backward")
    rng = np.random.default_rng(1)
    x, gamma, beta = _bn_inputs(rng, [1.0, 3.0, 0.5])
    dout = rng.standard_normal(x.shape)  # random: with ones, sum(dout * x_hat) = 0 and a missing term hides
    _, cache = _pair("batchnorm_forward(x, gamma, beta)", batchnorm_forward(x, gamma, beta), "(out, cache)")
    got = batchnorm_backward(dout, cache)
    if not (isinstance(got, tuple | list) and len(got) == 3):
        raise CheckError(f"batchnorm_backward returned {type(got).__name__}, expected (dx, dgamma, dbeta)")
    dx, dgamma, dbeta = (as_array(f"{name} of batchnorm_backward", g) for name, g in zip(GRADS, got, strict=True))

    def loss() -> float:
        return float(np.sum(_batchnorm(x, gamma, beta) * dout))

    numeric = numerical_gradient(loss, x, h=1e-4)
    inv_std = 1 / np.sqrt(x.var(axis=0) + EPS)
    dxhat, x_hat = dout * gamma, (x - x.mean(axis=0)) * inv_std
    through_mean, through_var = dxhat.mean(axis=0), x_hat * (dxhat * x_hat).mean(axis=0)
    variants = [
        (NO_MEAN_TERMS, dxhat * inv_std),
        (VAR_TERM, inv_std * (dxhat - through_mean)),
        (MEAN_TERM, inv_std * (dxhat - through_var)),
    ]
    if dx.shape == x.shape and not np.allclose(dx, numeric, rtol=1e-6, atol=1e-8):
        hint = next((h for h, v in variants if np.allclose(dx, v, rtol=1e-6)), None)
        if hint is not None:
            raise CheckError("dx of batchnorm_backward is wrong (finite differences of the loss disagree)", hint)
    compare("dx of batchnorm_backward", dx, numeric, rtol=1e-6, atol=1e-8)
    compare("dgamma of batchnorm_backward", dgamma, numerical_gradient(loss, gamma, h=1e-4), rtol=1e-6, atol=1e-8)
    compare("dbeta of batchnorm_backward", dbeta, numerical_gradient(loss, beta, h=1e-4), rtol=1e-6, atol=1e-8)
    return "dx, dgamma, dbeta match finite differences with a random upstream gradient"
