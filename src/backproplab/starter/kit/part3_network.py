"""Part 3 (exercises 7.4, 7.5 and the XOR deliverable): a two-layer network, forward and backward.

The network of exercise 7.4, with ``n`` examples of ``d_in`` features and ``d_h`` hidden units::

    Z1 = X W1 + b1      (n, d_h)
    A1 = relu(Z1)       (n, d_h)
    Z2 = A1 W2 + b2     (n, 1)
    P  = sigmoid(Z2)    (n, 1)    loss = bce(y, P), the mean over the batch

Replace each ``raise NotImplementedError(...)`` with your code, then check it: run the check cell
of ``part3_network_notebook.ipynb``, or ``backproplab check --impl .`` in this folder. The checks
also train your network: they memorise 16 random points (7.5) and solve XOR.
"""

import numpy as np
from numpy.typing import NDArray

# Your functions from part 1, for forward and backward (this folder is on the import path).
from part1_activations import relu, relu_deriv, sigmoid  # noqa: F401

FloatArray = NDArray[np.float64]
Cache = tuple[FloatArray, ...]  # what forward keeps for backward, e.g. (X, Z1, A1, Z2, P)


def forward(X: FloatArray, W1: FloatArray, b1: FloatArray, W2: FloatArray, b2: FloatArray) -> tuple[FloatArray, Cache]:
    """The forward pass: ``P = sigmoid(relu(X W1 + b1) W2 + b2)``, and a cache for :func:`backward`.

    ``X: (n, d_in)``, ``W1: (d_in, d_h)``, ``b1: (d_h,)``, ``W2: (d_h, 1)``, ``b2: (1,)`` ->
    ``(P, cache)`` with ``P: (n, 1)`` and ``cache`` the arrays backward needs, e.g. ``(X, Z1, A1, Z2, P)``.
    """
    raise NotImplementedError("exercise 7.4: write forward")


def backward(y: FloatArray, cache: Cache, W2: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """The gradients of the mean BCE loss with respect to the four parameters, by the chain rule.

    ``y: (n, 1)`` labels 0 or 1, ``cache`` from :func:`forward`, ``W2: (d_h, 1)`` ->
    ``(dW1, db1, dW2, db2)`` with the shapes of ``W1, b1, W2, b2``: ``(d_in, d_h)``, ``(d_h,)``,
    ``(d_h, 1)``, ``(1,)``. Start from ``dZ2 = (P - y) / n`` (sigmoid and BCE together); sum the
    bias gradients over the batch axis.
    """
    raise NotImplementedError("exercise 7.4: write backward")
