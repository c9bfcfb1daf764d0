"""Seed 7.4's "common mistake": the missing ``/ n``. Everything else is solutions_ok.py.

``dZ2 = P - y`` forgets that the loss is a *mean* over the batch, so every gradient is n times
too large. The overfit test and XOR still pass (Adam's step does not depend on the gradient's
scale); only the gradient check catches it.
"""

import numpy as np
from solutions_ok import *  # noqa: F403 (all the correct functions; the one below replaces its namesake)
from solutions_ok import Array, Cache, relu_deriv


def backward(y: Array, cache: Cache, W2: Array) -> tuple[Array, Array, Array, Array]:
    X, Z1, A1, _, P = cache
    dZ2 = P - y  # the mistake: no / n
    dW2 = A1.T @ dZ2
    db2 = np.sum(dZ2, axis=0)
    dA1 = dZ2 @ W2.T
    dZ1 = dA1 * relu_deriv(Z1)
    dW1 = X.T @ dZ1
    db1 = np.sum(dZ1, axis=0)
    return dW1, db1, dW2, db2
