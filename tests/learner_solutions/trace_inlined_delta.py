"""A backward with its own names: ``dz2`` in lower case, and the hidden layer's delta computed in one line
under a name of its own, with a wrong ``dA1`` inside (``abs(W2)`` for ``W2``). Everything else is
solutions_ok.py.

``trace --impl`` finds ``dz2`` as ``dZ2`` but neither ``dA1`` nor ``dZ1``: the first difference it can
see is ``dW1``, and its hint points back along the way, to ``dZ1`` and ``dA1``.
"""

import numpy as np
from solutions_ok import *  # noqa: F403 (all the correct functions; the one below replaces its namesake)
from solutions_ok import Array, Cache, relu_deriv


def backward(y: Array, cache: Cache, W2: Array) -> tuple[Array, Array, Array, Array]:
    X, Z1, A1, _, P = cache
    n = X.shape[0]
    dz2 = (P - y) / n
    dW2 = A1.T @ dz2
    db2 = np.sum(dz2, axis=0)
    delta = (dz2 @ np.abs(W2).T) * relu_deriv(Z1)  # the mistake: abs(W2); dA1 and dZ1 have no names
    dW1 = X.T @ delta
    db1 = np.sum(delta, axis=0)
    return dW1, db1, dW2, db2
