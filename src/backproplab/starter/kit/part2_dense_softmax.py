"""Part 2 (exercises 7.2, 7.3, and 7.4's loss): a dense layer, a stable softmax, and the cross-entropies.

Replace each ``raise NotImplementedError(...)`` with your code, then check it: run the check cell
of ``part2_dense_softmax_notebook.ipynb``, or ``backproplab check --impl .`` in this folder.
Shapes are batch-first: ``n`` examples, one per row.
"""

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


def dense_forward(X: FloatArray, W: FloatArray, b: FloatArray) -> FloatArray:
    """A dense layer's output ``Z = X W + b``.

    ``X: (n, d_in)``, ``W: (d_in, d_out)``, ``b: (d_out,)`` -> ``Z: (n, d_out)``; row ``i`` is
    ``X[i] @ W + b``, one bias per output unit.
    """
    raise NotImplementedError("exercise 7.2: write dense_forward")


def logsumexp(z: FloatArray, axis: int = -1, keepdims: bool = False) -> FloatArray:
    """``log(sum(exp(z), axis))`` without overflow: ``m + log(sum(exp(z - m)))`` with ``m = max(z, axis)``.

    ``z: S`` -> ``S`` without ``axis`` (``keepdims=False``), or with ``axis`` of size 1 (``keepdims=True``).
    It must be exact and finite at ``|z| = 1e4``.
    """
    raise NotImplementedError("exercise 7.3: write logsumexp")


def softmax(z: FloatArray, axis: int = -1) -> FloatArray:
    """``softmax(z)_k = exp(z_k) / sum_j exp(z_j)`` along ``axis``, computed as ``exp(z - logsumexp(z))``.

    ``z: S`` -> ``S``; the values along ``axis`` are positive and sum to 1. ``[1e4, 0, -1e4]`` must
    give ``[1, 0, 0]`` without an overflow warning.
    """
    raise NotImplementedError("exercise 7.3: write softmax")


def categorical_cross_entropy(y_true: FloatArray, y_pred: FloatArray, eps: float = 1e-15) -> float:
    """The mean over the batch of ``-sum_k y_true[i, k] * log(y_pred[i, k])``.

    ``y_true: (n, K)`` one-hot rows, ``y_pred: (n, K)`` rows of probabilities -> a float. Clip
    ``y_pred`` to ``[eps, 1]`` first, so that a probability of exactly 0 gives a finite loss.
    """
    raise NotImplementedError("exercise 7.3: write categorical_cross_entropy")


def bce(y: FloatArray, p: FloatArray, eps: float = 1e-15) -> float:
    """The mean binary cross-entropy ``-mean(y log(p) + (1 - y) log(1 - p))``.

    ``y`` (labels 0 or 1) and ``p`` (probabilities) of the same shape, e.g. ``(n, 1)`` -> a float.
    Clip ``p`` to ``[eps, 1 - eps]`` first, so that ``p`` of exactly 0 or 1 gives a finite loss.
    """
    raise NotImplementedError("exercise 7.4: write bce")
