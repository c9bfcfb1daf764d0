"""Checks of exercise 7.1's activations and their derivatives (sigmoid, ReLU, tanh, leaky ReLU) and of
``num_derivative``.

Each check takes the :class:`~backproplab.checker.learner.Impl`, returns a one-line summary of what it
verified, or raises :class:`~backproplab.checker.hints.CheckError` with a hint. Expected values come from
the formulas written out here, derivatives from central differences of them.
"""

from typing import Any

import numpy as np

from backproplab._typing import FloatArray
from backproplab.checker.hints import BIG, CheckError, as_array, compare, no_overflow, watched
from backproplab.checker.learner import Impl

RNG_SEED = 0


def _rng() -> np.random.Generator:
    return np.random.default_rng(RNG_SEED)


def _central(f: Any, z: FloatArray, h: float = 1e-5) -> FloatArray:
    """Five-point central difference of an elementwise ``f`` (error O(h^4)), shape of ``z``."""
    return np.asarray((8 * (f(z + h) - f(z - h)) - (f(z + 2 * h) - f(z - 2 * h))) / (12 * h))


def _exact_sigmoid(z: FloatArray) -> FloatArray:
    return np.asarray(1.0 / (1.0 + np.exp(-z)))


def _away_from_kink(z: FloatArray) -> FloatArray:
    """``z`` moved 1e-3 away from 0: finite differences are meaningless at a kink."""
    return np.asarray(z + np.sign(z) * 1e-3)


def check_sigmoid(impl: Impl) -> str:
    (sigmoid,) = impl.get("sigmoid")
    z = _rng().standard_normal((4, 5)) * 3
    compare("sigmoid(z)", sigmoid(z), _exact_sigmoid(z))
    far = np.array([-BIG, -40.0, 0.0, 40.0, BIG])
    result, caught = watched(sigmoid, far)
    clip = "clip z (np.clip(z, -500, 500)) or use exp(-|z|) so that exp never overflows."
    arr = no_overflow("sigmoid(z)", result, caught, clip)
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
    z = _away_from_kink(_rng().standard_normal(10))
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


def check_tanh(impl: Impl) -> str:
    (tanh,) = impl.get("tanh")
    z = _rng().standard_normal((4, 5)) * 3
    compare("tanh(z)", tanh(z), np.tanh(z))
    far = np.array([-BIG, -20.0, 0.0, 20.0, BIG])
    result, caught = watched(tanh, far)
    stable = "use np.tanh, or write it with e = exp(-2|z|), which never overflows: sign(z) (1 - e) / (1 + e)."
    arr = no_overflow("tanh(z)", result, caught, stable)
    compare("tanh at z = [-1e4, -20, 0, 20, 1e4]", arr, np.tanh(far), atol=1e-12)
    return "matches (e^z - e^-z) / (e^z + e^-z); finite and exact at |z| = 1e4"


def check_tanh_deriv(impl: Impl) -> str:
    (tanh_deriv,) = impl.get("tanh_deriv")
    z = _rng().standard_normal(10) * 2
    got = as_array("tanh_deriv(z)", tanh_deriv(z))
    if got.shape == z.shape and np.allclose(got, 1 - z**2):
        raise CheckError("tanh_deriv(z) returned 1 - z^2", "tanh'(z) = 1 - tanh(z)^2: square tanh(z), not z.")
    if got.shape == z.shape and np.allclose(got, np.tanh(z)):
        raise CheckError("tanh_deriv(z) returned tanh(z) itself", "tanh'(z) = 1 - tanh(z)^2.")
    compare("tanh_deriv(z)", got, _central(np.tanh, z), rtol=1e-7)
    return "matches central finite differences of tanh at 10 points"


def _leaky(z: FloatArray, alpha: float) -> FloatArray:
    return np.where(z > 0, z, alpha * z)


def check_leaky_relu(impl: Impl) -> str:
    (leaky_relu,) = impl.get("leaky_relu")
    z = np.array([[-2.0, -0.5, 0.0, 0.5, 2.0], [3.0, -3.0, 1e-9, -1e-9, 7.0]])
    got = as_array("leaky_relu(z)", leaky_relu(z))
    if got.shape == z.shape and np.array_equal(got, np.maximum(z, 0.0)):
        raise CheckError("leaky_relu(z) is 0 for z < 0, as relu is", "below 0 the output is alpha * z, not 0.")
    compare("leaky_relu(z) with the default alpha = 0.01", got, _leaky(z, 0.01), rtol=1e-12, atol=1e-15)
    other = as_array("leaky_relu(z, 0.2)", leaky_relu(z, 0.2))
    if other.shape == z.shape and np.allclose(other, _leaky(z, 0.01)):
        raise CheckError("leaky_relu(z, 0.2) equals leaky_relu(z, 0.01)", "use the alpha passed in, not a constant.")
    compare("leaky_relu(z, 0.2)", other, _leaky(z, 0.2), rtol=1e-12, atol=1e-15)
    return "z for z > 0, alpha z below; alpha defaults to 0.01"


def check_leaky_relu_deriv(impl: Impl) -> str:
    (leaky_relu_deriv,) = impl.get("leaky_relu_deriv")
    z = _away_from_kink(_rng().standard_normal(10))
    for alpha, got in ((0.01, leaky_relu_deriv(z)), (0.2, leaky_relu_deriv(z, 0.2))):
        call = "leaky_relu_deriv(z)" if alpha == 0.01 else f"leaky_relu_deriv(z, {alpha})"
        arr = as_array(call, got)
        if arr.shape == z.shape and np.array_equal(arr, (z > 0).astype(float)):
            raise CheckError(f"{call} is 0 for z < 0, as relu_deriv is", "below 0 the slope is alpha, not 0.")
        compare(call, arr, _central(lambda t, a=alpha: _leaky(t, a), z), atol=1e-9)
    return "matches central finite differences away from the kink, for alpha = 0.01 (default) and 0.2"
