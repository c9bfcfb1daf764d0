"""``dA1 = dZ2 @ W2`` without the transpose: with one output, (n, 1) @ (d_h, 1) cannot be multiplied, so
``backward`` raises. Everything else is solutions_ok.py.

``trace --impl`` still compares what ``backward`` computed before it stopped (``dZ2``, ``dW2``, ``db2``)
and reports the error with its line instead of a traceback.
"""

import numpy as np
from solutions_ok import *  # noqa: F403 (all the correct functions; the one below replaces its namesake)
from solutions_ok import Array, Cache, relu_deriv


def backward(y: Array, cache: Cache, W2: Array) -> tuple[Array, Array, Array, Array]:
    X, Z1, A1, _, P = cache
    n = X.shape[0]
    dZ2 = (P - y) / n
    dW2 = A1.T @ dZ2
    db2 = np.sum(dZ2, axis=0)
    dA1 = dZ2 @ W2  # the mistake: should be dZ2 @ W2.T
    dZ1 = dA1 * relu_deriv(Z1)
    dW1 = X.T @ dZ1
    db1 = np.sum(dZ1, axis=0)
    return dW1, db1, dW2, db2
