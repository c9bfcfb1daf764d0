"""Checks of the seed's single functions: activations (7.1), dense (7.2), softmax and losses (7.3, 7.4),
optimizers (7.6), clipping (7.7) and convolution shapes (7.8).

Each check takes the :class:`~backproplab.checker.learner.Impl`, returns a one-line summary of
what it verified, or raises :class:`~backproplab.checker.hints.CheckError` with a hint. Expected
values come from the formulas written out here at inputs where they are exact, not from the
library, so that checking the library checks something.
"""

from typing import Any

import numpy as np

from backproplab._typing import FloatArray
from backproplab.checker.hints import NOT_FINITE, SUBTRACT_MAX, CheckError, as_array, compare, watched
from backproplab.checker.learner import Impl

RNG_SEED = 0
BIG = 1e4  # |z| at which a naive exp overflows (exp(710) is already inf in float64)


def _rng() -> np.random.Generator:
    return np.random.default_rng(RNG_SEED)


def _central(f: Any, z: FloatArray, h: float = 1e-5) -> FloatArray:
    """Five-point central difference of an elementwise ``f`` (error O(h^4)), shape of ``z``."""
    return np.asarray((8 * (f(z + h) - f(z - h)) - (f(z + 2 * h) - f(z - 2 * h))) / (12 * h))


def _exact_sigmoid(z: FloatArray) -> FloatArray:
    return np.asarray(1.0 / (1.0 + np.exp(-z)))


def _no_overflow(name: str, result: Any, caught: list[str], hint: str) -> np.ndarray:
    """``result`` as an array; :class:`CheckError` with ``hint`` if it warned or is not finite."""
    arr = as_array(name, result)
    if caught or not np.isfinite(arr).all():
        what = f"warned {caught[0]!r}" if caught else "returned NaN or inf"
        raise CheckError(f"{name} {what} at |z| = {BIG:g}", hint)
    return arr


# ----- 7.1 ---------------------------------------------------------------------------------------
def check_sigmoid(impl: Impl) -> str:
    (sigmoid,) = impl.get("sigmoid")
    z = _rng().standard_normal((4, 5)) * 3
    compare("sigmoid(z)", sigmoid(z), _exact_sigmoid(z))
    far = np.array([-BIG, -40.0, 0.0, 40.0, BIG])
    result, caught = watched(sigmoid, far)
    clip = "clip z (np.clip(z, -500, 500)) or use exp(-|z|) so that exp never overflows."
    arr = _no_overflow("sigmoid(z)", result, caught, clip)
    compare("sigmoid at z = [-1e4, -40, 0, 40, 1e4]", arr, np.array([0.0, 4.248e-18, 0.5, 1.0, 1.0]), atol=1e-12)
    return "matches 1 / (1 + exp(-z)); finite and exact at |z| = 1e4"


def check_sigmoid_deriv(impl: Impl) -> str:
    (sigmoid_deriv,) = impl.get("sigmoid_deriv")
    z = _rng().standard_normal(10) * 3
    got = as_array("sigmoid_deriv(z)", sigmoid_deriv(z))  # its shape is checked before any arithmetic
    if got.shape == z.shape and np.allclose(got, _exact_sigmoid(z)):
        raise CheckError("sigmoid_deriv(z) returned sigmoid(z) itself", "sigmoid'(z) = s (1 - s) with s = sigmoid(z).")
    compare("sigmoid_deriv(z)", got, _central(_exact_sigmoid, z), rtol=1e-7)
    return "matches central finite differences of sigmoid at 10 points"


def check_relu(impl: Impl) -> str:
    (relu,) = impl.get("relu")
    z = np.array([[-2.0, -0.5, 0.0, 0.5, 2.0], [3.0, -3.0, 1e-9, -1e-9, 7.0]])
    compare("relu(z)", relu(z), np.maximum(z, 0.0), rtol=0, atol=0)
    return "equals max(0, z), shape kept"


def check_relu_deriv(impl: Impl) -> str:
    (relu_deriv,) = impl.get("relu_deriv")
    z = _rng().standard_normal(10)
    z += np.sign(z) * 1e-3  # finite differences are meaningless at the kink: stay away from 0
    compare("relu_deriv(z)", relu_deriv(z), _central(lambda t: np.maximum(t, 0.0), z), atol=1e-9)
    return "matches central finite differences of relu away from the kink"


def check_num_derivative(impl: Impl) -> str:
    (num_derivative,) = impl.get("num_derivative")
    z = np.linspace(1.0, 2.0, 5)
    h = 1e-3

    def cube(t: FloatArray) -> FloatArray:
        return np.asarray(t**3)

    got = as_array("num_derivative(z**3, z, h=1e-3)", num_derivative(cube, z, h=h))
    central = 3 * z**2 + h**2  # exactly what (f(z+h) - f(z-h)) / 2h gives for z**3
    if got.shape == z.shape and np.allclose(got, ((z + h) ** 3 - z**3) / h, rtol=1e-9):
        raise CheckError(
            "num_derivative uses the forward difference (f(z+h) - f(z)) / h: its error is O(h)",
            "use central differences (f(z + h) - f(z - h)) / (2h): the error drops to O(h^2).",
        )
    if got.shape == z.shape and np.allclose(got, 2 * central, rtol=1e-9):
        raise CheckError("num_derivative is twice the derivative", "divide by 2h: the two points are 2h apart.")
    compare("num_derivative(z**3, z, h=1e-3)", got, central, rtol=1e-9)
    default = as_array("num_derivative(sin, z)", num_derivative(np.sin, z))
    if default.shape == z.shape and not np.allclose(default, np.cos(z), rtol=0, atol=1e-6):
        raise CheckError(
            f"with the default h, num_derivative(sin) is off from cos by {np.abs(default - np.cos(z)).max():.2g}",
            "pick h near 1e-6 for central differences: too large biases, too small drowns in round-off.",
        )
    compare("num_derivative(sin, z)", default, np.cos(z), rtol=0, atol=1e-6)
    return "central differences: exact for z**3 with h = 1e-3, d/dz sin = cos with the default h"


# ----- 7.2 ---------------------------------------------------------------------------------------
def check_dense_forward(impl: Impl) -> str:
    (dense_forward,) = impl.get("dense_forward")
    rng = _rng()
    for n, d_in, d_out in ((4, 3, 4), (5, 3, 4)):  # n == d_out first: it names a bias broadcast along the batch axis
        X, W, b = rng.standard_normal((n, d_in)), rng.standard_normal((d_in, d_out)), rng.standard_normal(d_out)
        loop = np.array([X[i] @ W + b for i in range(n)])
        got = as_array("dense_forward(X, W, b)", dense_forward(X, W, b))
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
    arr = _no_overflow("logsumexp(z)", result, caught, SUBTRACT_MAX)
    compare("logsumexp at |z| = 1e4", arr, np.array([BIG + np.log(2), -BIG + np.log(2), BIG]))
    return "matches log(sum(exp(z))); exact at |z| = 1e4 without overflow"


def check_softmax(impl: Impl) -> str:
    (softmax,) = impl.get("softmax")
    z = _rng().standard_normal((3, 4)) * 2
    e = np.exp(z)
    compare("softmax(z) of z (3, 4)", softmax(z), e / e.sum(axis=-1, keepdims=True))
    big = np.array([[BIG, 0.0, -BIG], [-BIG, -BIG, -BIG]])
    result, caught = watched(softmax, big)
    arr = _no_overflow("softmax(z)", result, caught, SUBTRACT_MAX)
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
    compare("categorical_cross_entropy(y_true, p)", cce(y_true, p), np.array(expected), n=n)
    sure_wrong = np.array([[0.0, 1.0, 0.0]])  # the true class gets probability 0
    result, caught = watched(cce, np.array([[1.0, 0.0, 0.0]]), sure_wrong)
    if caught or not np.isfinite(as_array("categorical_cross_entropy", result)).all():
        raise CheckError("categorical_cross_entropy is inf or NaN when p = 0 for the true class", NOT_FINITE)
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
