"""Part 1 (exercise 7.1): activation functions, their derivatives, and a numerical check.

Replace each ``raise NotImplementedError(...)`` with your code, then check it: run the check cell
of ``part1_activations_notebook.ipynb``, or ``backproplab check --impl .`` in this folder. A
function that still raises NotImplementedError is reported "not attempted", not failed.

Every activation works element by element: ``z`` is an array of any shape ``S`` (or a number),
and the result has the same shape ``S``.
"""

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


def sigmoid(z: FloatArray) -> FloatArray:
    """``sigmoid(z) = 1 / (1 + exp(-z))``, shape ``S`` -> ``S``.

    It must stay finite, without an overflow warning, for ``|z|`` up to 1e4: ``exp(-z)`` overflows
    for ``z < -709``, so clip ``z`` (to about ±500) or use ``exp(-|z|)``.
    """
    raise NotImplementedError("exercise 7.1: write sigmoid")


def sigmoid_deriv(z: FloatArray) -> FloatArray:
    """``sigmoid'(z) = sigmoid(z) * (1 - sigmoid(z))``, shape ``S`` -> ``S``."""
    raise NotImplementedError("exercise 7.1: write sigmoid_deriv")


def relu(z: FloatArray) -> FloatArray:
    """``relu(z) = max(0, z)``, shape ``S`` -> ``S``."""
    raise NotImplementedError("exercise 7.1: write relu")


def relu_deriv(z: FloatArray) -> FloatArray:
    """``relu'(z)``: 1.0 where ``z > 0``, else 0.0 (0 at the kink ``z = 0``), shape ``S`` -> ``S``."""
    raise NotImplementedError("exercise 7.1: write relu_deriv")


def tanh(z: FloatArray) -> FloatArray:
    """``tanh(z) = (exp(z) - exp(-z)) / (exp(z) + exp(-z))``, shape ``S`` -> ``S`` (``np.tanh`` is allowed)."""
    raise NotImplementedError("exercise 7.1: write tanh")


def tanh_deriv(z: FloatArray) -> FloatArray:
    """``tanh'(z) = 1 - tanh(z)^2``, shape ``S`` -> ``S``."""
    raise NotImplementedError("exercise 7.1: write tanh_deriv")


def leaky_relu(z: FloatArray, alpha: float = 0.01) -> FloatArray:
    """Leaky ReLU: ``z`` where ``z > 0``, else ``alpha * z``; shape ``S`` -> ``S``."""
    raise NotImplementedError("exercise 7.1: write leaky_relu")


def leaky_relu_deriv(z: FloatArray, alpha: float = 0.01) -> FloatArray:
    """Derivative of :func:`leaky_relu`: 1.0 where ``z > 0``, else ``alpha``; shape ``S`` -> ``S``."""
    raise NotImplementedError("exercise 7.1: write leaky_relu_deriv")


def num_derivative(f: Callable[[FloatArray], FloatArray], z: FloatArray, h: float = 1e-6) -> FloatArray:
    """The central difference ``(f(z + h) - f(z - h)) / (2 h)``, shape ``S`` -> ``S``.

    ``f`` is an element-wise function such as :func:`sigmoid`. Its error shrinks like ``h^2``; the
    one-sided ``(f(z + h) - f(z)) / h`` is only ``O(h)``: the check tells them apart.
    """
    raise NotImplementedError("exercise 7.1: write num_derivative")
