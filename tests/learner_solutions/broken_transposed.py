"""Seed 7.4's "common mistake": a wrong transpose. Everything else is solutions_ok.py.

``dW1 = dZ1.T @ X`` has shape (d_h, d_in), the transpose of W1's (d_in, d_h): the gradient check
names the transpose, and the training loops (overfit test, XOR) cannot apply such a gradient.
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
    dA1 = dZ2 @ W2.T
    dZ1 = dA1 * relu_deriv(Z1)
    dW1 = dZ1.T @ X  # the mistake: should be X.T @ dZ1
    db1 = np.sum(dZ1, axis=0)
    return dW1, db1, dW2, db2
