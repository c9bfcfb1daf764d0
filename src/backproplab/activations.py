"""Activation functions and their derivatives (exercise 7.1, 7.3).

Every function is elementwise unless stated and keeps the input's floating dtype
(float32 in, float32 out); integer or boolean input is promoted to float64.
Shapes: any array ``z`` of shape ``S`` maps to an array of shape ``S``.
All functions are exact and warning-free for inputs up to ``|z| = 1e4`` (and beyond).
"""

import numpy as np
from numpy.typing import ArrayLike

from backproplab._typing import FloatArray
from backproplab._validation import as_float


def sigmoid(z: ArrayLike) -> FloatArray:
    """Logistic sigmoid ``1 / (1 + exp(-z))``, shape-preserving.

    Written with ``exp(-|z|)`` so that ``exp`` never overflows and both tails keep full
    relative precision (``sigmoid(-40)`` is ``4.2e-18``, not 0).
    """
    z = as_float(z, "z")
    e = np.exp(-np.abs(z))  # in (0, 1]: never overflows
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(z.dtype, copy=False)


def sigmoid_deriv(z: ArrayLike) -> FloatArray:
    """``sigmoid'(z) = sigmoid(z) * (1 - sigmoid(z))``, shape-preserving.

    Computed as ``sigmoid(z) * sigmoid(-z)``: the same value, without the cancellation of
    ``1 - sigmoid(z)`` for large ``z``.
    """
    z = as_float(z, "z")
    return sigmoid(z) * sigmoid(-z)


def relu(z: ArrayLike) -> FloatArray:
    """Rectified linear unit ``max(0, z)``, shape-preserving."""
    z = as_float(z, "z")
    return np.maximum(z, 0).astype(z.dtype, copy=False)


def relu_deriv(z: ArrayLike) -> FloatArray:
    """``relu'(z)``: 1 where ``z > 0``, else 0 (we take 0 at the kink, as PyTorch does)."""
    z = as_float(z, "z")
    return (z > 0).astype(z.dtype)


def tanh(z: ArrayLike) -> FloatArray:
    """Hyperbolic tangent, shape-preserving."""
    return np.tanh(as_float(z, "z"))


def tanh_deriv(z: ArrayLike) -> FloatArray:
    """``tanh'(z) = 1 - tanh(z)^2``, shape-preserving."""
    t = np.tanh(as_float(z, "z"))
    return 1.0 - t * t


def leaky_relu(z: ArrayLike, alpha: float = 0.01) -> FloatArray:
    """Leaky ReLU: ``z`` where ``z > 0``, else ``alpha * z``; shape-preserving."""
    z = as_float(z, "z")
    return np.where(z > 0, z, alpha * z).astype(z.dtype, copy=False)


def leaky_relu_deriv(z: ArrayLike, alpha: float = 0.01) -> FloatArray:
    """Derivative of :func:`leaky_relu`: 1 where ``z > 0``, else ``alpha``."""
    z = as_float(z, "z")
    return np.where(z > 0, 1.0, alpha).astype(z.dtype, copy=False)


def _shifted_exp(z: FloatArray, axis: int) -> tuple[FloatArray, FloatArray, FloatArray]:
    """``(m, e, s)``: the max ``m`` along ``axis``, ``e = exp(z - m)`` and ``s = sum(e)`` (keepdims).

    Every exponent is <= 0, so nothing overflows, and ``s >= 1`` because the max term is exp(0).
    Both :func:`logsumexp` (``m + log s``) and :func:`softmax` (``e / s``) are built on it.
    """
    if z.ndim == 2 and axis in (1, -1) and z.shape[1] <= 64:
        # numpy reduces along a short last axis about 5x slower than down the columns of the
        # transposed copy (a (128, 10) batch of logits: 11 us vs 2 us); the copy is tiny.
        m = z.T.copy().max(axis=0)[:, None]
    else:
        m = z.max(axis=axis, keepdims=True)  # method forms skip numpy's Python-level dispatch: hot path
    if not np.isfinite(m).all():
        # A row of all -inf has max -inf; shifting by it would give nan, so shift by 0 there.
        m = np.where(np.isfinite(m), m, 0)
    e = np.exp(z - m)
    return m, e, e.sum(axis=axis, keepdims=True)


def logsumexp(z: ArrayLike, axis: int = -1, keepdims: bool = False) -> FloatArray:
    """``log(sum(exp(z), axis))`` without overflow.

    Shapes: ``z: S``; the result drops ``axis`` from ``S`` (or keeps it with size 1 when ``keepdims``).
    """
    m, _, s = _shifted_exp(as_float(z, "z"), axis)
    with np.errstate(divide="ignore"):  # a row of all -inf has s = 0 and logsumexp -inf, rightly
        out: FloatArray = m + np.log(s)
    return out if keepdims else np.squeeze(out, axis=axis)


def softmax(z: ArrayLike, axis: int = -1) -> FloatArray:
    """Softmax along ``axis``: ``exp(z - logsumexp(z))``; same shape as ``z``, sums to 1 along ``axis``."""
    _, e, s = _shifted_exp(as_float(z, "z"), axis)
    out: FloatArray = e / s
    return out
