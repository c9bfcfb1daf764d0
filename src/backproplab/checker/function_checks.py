"""Checks of the seed's single functions beyond 7.1: dense (7.2), softmax and losses (7.3, 7.4),
optimizers (7.6), clipping (7.7) and convolution shapes (7.8).

Each check takes the :class:`~backproplab.checker.learner.Impl`, returns a one-line summary of
what it verified, or raises :class:`~backproplab.checker.hints.CheckError` with a hint. Expected
values come from the formulas written out here at inputs where they are exact, not from the
library, so that checking the library checks something.
"""

from typing import Any

import numpy as np

from backproplab.checker.hints import BIG, NOT_FINITE, SUBTRACT_MAX, CheckError, as_array, compare, no_overflow, watched
from backproplab.checker.learner import Impl

RNG_SEED = 0


def _rng() -> np.random.Generator:
    return np.random.default_rng(RNG_SEED)


# ----- 7.2 ---------------------------------------------------------------------------------------
def check_dense_forward(impl: Impl) -> str:
    (dense_forward,) = impl.get("dense_forward")
    rng = _rng()
    # square first: a W read as (d_out, d_in) runs and can be named; n == d_out names a bias along the batch axis
    for n, d_in, d_out in ((3, 3, 3), (4, 3, 4), (5, 3, 4)):
        X, W, b = rng.standard_normal((n, d_in)), rng.standard_normal((d_in, d_out)), rng.standard_normal(d_out)
        loop = np.array([X[i] @ W + b for i in range(n)])
        got = as_array("dense_forward(X, W, b)", dense_forward(X, W, b))
        if got.shape == loop.shape and d_in == d_out and np.allclose(got, X @ W.T + b):
            raise CheckError(
                "dense_forward(X, W, b) equals X @ W.T + b",
                "W is (d_in, d_out): Z = X @ W + b with no transpose. Reading W as (d_out, d_in) forces "
                "transposes everywhere else.",
            )
        if got.shape == loop.shape and np.allclose(got, X @ W):
            raise CheckError("dense_forward(X, W, b) equals X @ W: the bias is missing", "add b: Z = X @ W + b.")
        if got.shape == loop.shape and n == d_out and np.allclose(got, X @ W + b[:, None]):
            raise CheckError(
                "dense_forward adds b[i] to row i instead of to column i",
                "the bias broadcasts along the second axis: one bias per output unit, b: (d_out,).",
            )
        compare(f"dense_forward on X {X.shape}, W {W.shape}", got, loop)
    return "Z: (n, d_out) equals the loop Z[i] = X[i] @ W + b"


# ----- 7.3 ---------------------------------------------------------------------------------------
def check_logsumexp(impl: Impl) -> str:
    (logsumexp,) = impl.get("logsumexp")
    z = _rng().standard_normal((3, 4)) * 2
    expected = np.log(np.exp(z).sum(axis=-1))
    compare("logsumexp(z) of z (3, 4)", logsumexp(z), expected)
    compare("logsumexp(z, keepdims=True)", logsumexp(z, keepdims=True), expected[:, None])
    big = np.array([[BIG, BIG], [-BIG, -BIG], [BIG, 0.0]])
    result, caught = watched(logsumexp, big)
    arr = no_overflow("logsumexp(z)", result, caught, SUBTRACT_MAX)
    compare("logsumexp at |z| = 1e4", arr, np.array([BIG + np.log(2), -BIG + np.log(2), BIG]))
    return "matches log(sum(exp(z))); exact at |z| = 1e4 without overflow"


def check_softmax(impl: Impl) -> str:
    (softmax,) = impl.get("softmax")
    z = _rng().standard_normal((3, 4)) * 2
    e = np.exp(z)
    compare("softmax(z) of z (3, 4)", softmax(z), e / e.sum(axis=-1, keepdims=True))
    big = np.array([[BIG, 0.0, -BIG], [-BIG, -BIG, -BIG]])
    result, caught = watched(softmax, big)
    arr = no_overflow("softmax(z)", result, caught, SUBTRACT_MAX)
    compare("softmax at |z| = 1e4", arr, np.array([[1.0, 0.0, 0.0], [1 / 3, 1 / 3, 1 / 3]]), atol=1e-12)
    return "rows sum to 1 and match exp(z) / sum(exp(z)); exact at |z| = 1e4 without overflow"


def check_cross_entropy(impl: Impl) -> str:
    (cce,) = impl.get("categorical_cross_entropy")
    rng = _rng()
    n, k = 6, 3
    y_true = np.eye(k)[rng.integers(0, k, n)]
    p = rng.random((n, k)) + 0.1
    p /= p.sum(axis=1, keepdims=True)
    expected = -np.mean(np.sum(y_true * np.log(p), axis=1))
    got = as_array("categorical_cross_entropy(y_true, p)", cce(y_true, p))
    binary = -np.mean(y_true * np.log(p) + (1 - y_true) * np.log(1 - p))  # over every entry, as bce would
    if got.size == 1 and any(np.isclose(got, v, rtol=1e-9) for v in (binary, binary * k)):
        raise CheckError(
            "categorical_cross_entropy equals the binary cross-entropy applied to each class",
            "with one-hot targets the categorical loss is -sum over classes of y log p, averaged over the batch; "
            "the (1 - y) log(1 - p) term belongs to the binary loss.",
        )
    compare("categorical_cross_entropy(y_true, p)", got, np.array(expected), n=n)
    sure_wrong = np.array([[0.0, 1.0, 0.0]])  # the true class gets probability 0
    result, caught = watched(cce, np.array([[1.0, 0.0, 0.0]]), sure_wrong)
    if caught or not np.isfinite(as_array("categorical_cross_entropy", result)).all():
        raise CheckError(
            "categorical_cross_entropy is inf or NaN when p = 0 for the true class",
            "clip the probabilities before the log, np.clip(y_pred, eps, 1.0) with eps = 1e-15: log(0) is -inf.",
        )
    return "mean over the batch of -sum(y log p); finite when p = 0"


def check_bce(impl: Impl) -> str:
    (bce,) = impl.get("bce")
    rng = _rng()
    n = 8
    y = (rng.random((n, 1)) < 0.5).astype(float)
    p = rng.uniform(0.05, 0.95, (n, 1))
    expected = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    compare("bce(y, p)", bce(y, p), np.array(expected), n=n)
    result, caught = watched(bce, np.array([[1.0], [0.0]]), np.array([[0.0], [1.0]]))
    if caught or not np.isfinite(as_array("bce", result)).all():
        raise CheckError(
            "bce is inf or NaN when p is exactly 0 or 1", "clip p into [eps, 1 - eps] before taking the log."
        )
    return "mean binary cross-entropy over the batch; finite when p is 0 or 1"


# ----- 7.6 ---------------------------------------------------------------------------------------
def _final_w(name: str, got: Any) -> float:
    arr = as_array(name, got)
    if arr.size != 1 or not np.isfinite(arr).all():
        hint = NOT_FINITE if arr.size == 1 else "return the final w alone, one number."
        raise CheckError(f"{name} returned {got!r}, expected one finite number w", hint)
    return float(arr.reshape(()))


def check_sgd(impl: Impl) -> str:
    (sgd,) = impl.get("sgd")
    one = _final_w("sgd(10.0, 0.1, 1)", sgd(10.0, 0.1, 1))
    if not np.isclose(one, 10.0 - 0.1 * 14.0):
        raise CheckError(
            f"one SGD step from w = 10 with lr 0.1 gave {one:.6g}, expected 8.6",
            "w <- w - lr * f'(w), with f'(w) = 2 (w - 3).",
        )
    w = _final_w("sgd(10.0, 0.1, 50)", sgd(10.0, 0.1, 50))
    if abs(w - 3.0) >= 1e-2:
        raise CheckError(f"sgd(10.0, 0.1, 50) ended at w = {w:.6g}, not within 1e-2 of 3")
    return f"one step exact; 50 steps of lr 0.1 reach w = {w:.5f}"


def _heavy_ball(steps: int, beta: float = 0.9, lr: float = 0.1, w: float = 10.0, ema: bool = False) -> float:
    """``steps`` of momentum on ``(w - 3)^2``: ``v = beta v + g; w -= lr v`` (``ema``: ``v = beta v + (1-beta) g``)."""
    v = 0.0
    for _ in range(steps):
        g = 2.0 * (w - 3.0)
        v = beta * v + (1.0 - beta if ema else 1.0) * g
        w -= lr * v
    return w


def _momentum_old_velocity(steps: int) -> float:
    """The mistake of moving ``w`` with the velocity of the step before: ``w -= lr v`` first, then ``v`` updated."""
    w, v = 10.0, 0.0
    for _ in range(steps):
        g = 2.0 * (w - 3.0)
        w -= 0.1 * v
        v = 0.9 * v + g
    return w


def check_momentum(impl: Impl) -> str:
    (momentum,) = impl.get("momentum")
    got = [_final_w(f"momentum(10.0, 0.1, {k})", momentum(10.0, 0.1, k)) for k in (1, 2, 3)]
    expected = [_heavy_ball(k) for k in (1, 2, 3)]
    if not np.allclose(got, expected, rtol=1e-12):
        variants = {
            "this is the moving-average form v = beta v + (1 - beta) g; heavy-ball momentum (the seed's, "
            "PyTorch's) adds the whole gradient: v = beta v + g.": [_heavy_ball(k, ema=True) for k in (1, 2, 3)],
            "w moved with the velocity of the step before: update v = beta v + g first, then w -= lr v.": [
                _momentum_old_velocity(k) for k in (1, 2, 3)
            ],
            "that is plain SGD: keep the velocity v from one step to the next (v = beta v + g).": [
                _heavy_ball(k, beta=0.0) for k in (1, 2, 3)
            ],
        }
        hint = next((h for h, v in variants.items() if np.allclose(got, v, rtol=1e-9)), None)
        shown = ", ".join(f"{w:.6g}" for w in got)
        raise CheckError(
            f"momentum(10.0, 0.1, k) for k = 1, 2, 3 gave w = {shown}, expected 8.6, 6.22, {expected[2]:.6g}", hint
        )
    slow = _final_w("momentum(10.0, 0.1, 3, 0.5)", momentum(10.0, 0.1, 3, 0.5))
    if not np.isclose(slow, _heavy_ball(3, beta=0.5), rtol=1e-12):
        hint = "use the beta passed in, not a constant." if np.isclose(slow, expected[2], rtol=1e-12) else None
        raise CheckError(f"momentum(10.0, 0.1, 3, 0.5) gave {slow:.6g}, expected {_heavy_ball(3, beta=0.5):.6g}", hint)
    w = _final_w("momentum(10.0, 0.1, 200)", momentum(10.0, 0.1, 200))
    if abs(w - 3.0) >= 1e-2:
        raise CheckError(f"momentum(10.0, 0.1, 200) ended at w = {w:.6g}, not within 1e-2 of 3")
    return f"first 3 steps exact (v = beta v + g; w -= lr v), beta honoured; 200 steps of lr 0.1 reach w = {w:.5f}"


def check_adam(impl: Impl) -> str:
    (adam,) = impl.get("adam")
    lr = 0.1
    step = 10.0 - _final_w("adam(10.0, 0.1, 1)", adam(10.0, lr, 1))
    ratio = step / lr
    # With both corrections the first step is exactly lr (m_hat / sqrt(v_hat) = g / |g|). Without
    # them m = 0.1 g and v = 0.001 g^2: the step is 0.1 / sqrt(0.001) = 3.16 lr, or 0.1 lr when only
    # v_hat is corrected, or 31.6 lr when only m_hat is.
    known = {
        (1 - 0.9)
        / np.sqrt(1 - 0.999): "forgot the bias correction m_hat = m / (1 - beta1^t), v_hat = v / (1 - beta2^t)",
        1 - 0.9: "forgot m_hat = m / (1 - beta1^t): without it the first steps are 10x too small",
        1 / np.sqrt(1 - 0.999): "forgot v_hat = v / (1 - beta2^t): without it the first steps are 31.6x too large",
    }
    if not np.isclose(ratio, 1.0, rtol=1e-6):
        hint = next((h for r, h in known.items() if np.isclose(ratio, r, rtol=1e-3)), None)
        raise CheckError(f"Adam's first step is {ratio:.4g} x lr; with bias correction it is exactly lr", hint)
    w = _final_w("adam(10.0, 0.2, 200)", adam(10.0, 0.2, 200))
    if abs(w - 3.0) >= 1e-2:
        raise CheckError(f"adam(10.0, 0.2, 200) ended at w = {w:.6g}, not within 1e-2 of 3")
    return f"first step exactly lr; 200 steps of lr 0.2 reach w = {w:.5f} (50 are too few: docs/errata.md)"


# ----- 7.7 ---------------------------------------------------------------------------------------
def check_clip_by_norm(impl: Impl) -> str:
    (clip_by_norm,) = impl.get("clip_by_norm")
    g = _rng().standard_normal((2, 3)) * 5  # norm about 12
    expected = g / np.linalg.norm(g)
    got = as_array("clip_by_norm(g, 1.0)", clip_by_norm(g.copy(), 1.0))
    if got.shape != g.shape or not np.isfinite(got).all() or not got.any():  # no direction to measure
        compare("clip_by_norm(g, 1.0)", got, expected)  # raises with the shape, NaN or value hint
    cosine = float(np.sum(got * g) / (np.linalg.norm(got) * np.linalg.norm(g)))
    if not np.isclose(cosine, 1.0, rtol=0, atol=1e-12):
        hint = "clip by the norm, g * (max_norm / ||g||), not each element: clipping elements changes the direction."
        raise CheckError(f"the clipped gradient points elsewhere (cosine with g = {cosine:.4f})", hint)
    norm = float(np.linalg.norm(got))
    if norm > 1.0 + 1e-12:
        raise CheckError(
            f"||clip_by_norm(g, 1.0)|| = {norm:.4g} > 1.0", "scale by max_norm / ||g|| when ||g|| > max_norm."
        )
    compare("clip_by_norm(g, 1.0)", got, expected)
    small = np.array([0.3, 0.4])
    compare("clip_by_norm([0.3, 0.4], 1.0) (norm below max_norm)", clip_by_norm(small.copy(), 1.0), small)
    result, caught = watched(clip_by_norm, np.zeros(3), 1.0)
    if caught or not np.isfinite(as_array("clip_by_norm(0, 1.0)", result)).all():
        raise CheckError("clip_by_norm of a zero gradient gives NaN", "handle ||g|| = 0: return g unchanged.")
    compare("clip_by_norm(0, 1.0)", result, np.zeros(3))
    return "norm <= max_norm, direction kept, small and zero gradients unchanged"


# ----- 7.8 ---------------------------------------------------------------------------------------
RETURN_PAIR = "return both sizes: `return H_out, W_out`."
CONV_CASES = [  # (H, W, KH, KW, stride, padding) -> (H_out, W_out)
    ((28, 28, 5, 5, 1, 0), (24, 24)),
    ((28, 28, 5, 5, 1, 2), (28, 28)),
    ((32, 20, 3, 5, 2, 1), (16, 9)),
    ((7, 9, 3, 3, 3, 2), (3, 4)),
]


def check_conv2d_out(impl: Impl) -> str:
    (conv2d_out,) = impl.get("conv2d_out")
    for (H, W, KH, KW, s, p), expected in CONV_CASES:
        call = f"conv2d_out({H}, {W}, {KH}, {KW}, stride={s}, padding={p})"
        arr = as_array(call, conv2d_out(H, W, KH, KW, s, p))
        if arr.shape != (2,):
            raise CheckError(f"{call} returned {arr.tolist()!r}, expected the pair (H_out, W_out)", RETURN_PAIR)
        got = tuple(arr.tolist())
        if got == expected:
            continue
        variants = {
            "forgot `+ 2p`: padding adds p rows on each side, so the formula is (in + 2p - k) // s + 1.": (
                (H + p - KH) // s + 1,
                (W + p - KW) // s + 1,
            ),
            "padding is missing: out = (in + 2p - k) // s + 1.": ((H - KH) // s + 1, (W - KW) // s + 1),
            "forgot the `+ 1`: a kernel that fits exactly still gives one output.": (
                (H + 2 * p - KH) // s,
                (W + 2 * p - KW) // s,
            ),
        }
        hint = next((h for h, v in variants.items() if got == v), None)
        if hint is None and any(isinstance(v, float) and not float(v).is_integer() for v in got):
            hint = "use floor division `//`: a window that does not fit is dropped."
        raise CheckError(f"{call} returned {got}, expected {expected}", hint)
    return f"{len(CONV_CASES)} cases with padding and stride, including the seed's 28x28 with 5x5 kernels"
