"""The library's own functions under the seed's names and signatures, for ``backproplab check``.

Each is a thin adapter: the work is done by :mod:`backproplab.activations`, :mod:`~backproplab.losses`,
:mod:`~backproplab.neural_network`, :mod:`~backproplab.optim`, :mod:`~backproplab.layers` and
:mod:`~backproplab.cnn`, so the checklist that grades a learner's file also grades the library.
"""

import numpy as np
from numpy.typing import ArrayLike

from backproplab import cnn
from backproplab._typing import FloatArray
from backproplab.activations import (
    leaky_relu,
    leaky_relu_deriv,
    logsumexp,
    relu,
    relu_deriv,
    sigmoid,
    sigmoid_deriv,
    softmax,
    tanh,
    tanh_deriv,
)
from backproplab.cnn import conv2d_forward, conv2d_out, maxpool2d_forward
from backproplab.demos import quadratic_path
from backproplab.gradcheck import num_derivative
from backproplab.layers import batchnorm_backward, batchnorm_forward, dense_forward, dropout_backward, dropout_forward
from backproplab.losses import binary_cross_entropy as bce
from backproplab.losses import categorical_cross_entropy
from backproplab.neural_network import MLP
from backproplab.optim import SGD, Adam, Momentum, clip_by_norm

__all__ = [
    "adam",
    "backward",
    "batchnorm_backward",
    "batchnorm_forward",
    "bce",
    "categorical_cross_entropy",
    "clip_by_norm",
    "conv2d_backward",
    "conv2d_forward",
    "conv2d_out",
    "dense_forward",
    "dropout_backward",
    "dropout_forward",
    "forward",
    "leaky_relu",
    "leaky_relu_deriv",
    "logsumexp",
    "maxpool2d_backward",
    "maxpool2d_forward",
    "momentum",
    "num_derivative",
    "relu",
    "relu_deriv",
    "sgd",
    "sigmoid",
    "sigmoid_deriv",
    "softmax",
    "tanh",
    "tanh_deriv",
]

# The seed's 7.4 cache is a tuple of arrays; ours carries the network that ran the forward pass.
Cache = tuple[MLP, FloatArray]


def forward(X: ArrayLike, W1: FloatArray, b1: FloatArray, W2: FloatArray, b2: FloatArray) -> tuple[FloatArray, Cache]:
    """The seed's 7.4 network ``relu(X W1 + b1) W2 + b2 -> sigmoid``, run by :class:`MLP`.

    Shapes: ``X: (n, d_in)``, ``W1: (d_in, d_h)``, ``b1: (d_h,)``, ``W2: (d_h, d_out)``, ``b2: (d_out,)``
    -> ``P: (n, d_out)``.
    """
    net = MLP([W1.shape[0], W1.shape[1], W2.shape[1]], "relu", "sigmoid", dtype=np.float64)
    for param, value in zip(net.params, (W1, b1, W2, b2), strict=True):
        param[...] = value
    logits = net.forward(X)
    return sigmoid(logits), (net, logits)


def backward(y: ArrayLike, cache: Cache, W2: FloatArray) -> tuple[FloatArray, ...]:
    """``(dW1, db1, dW2, db2)`` of the mean BCE, each the shape of its parameter.

    ``W2`` is unused: the network in the cache holds it (the seed passes it because its cache does not).
    """
    net, logits = cache
    _, dlogits = net.loss(logits, y)
    net.backward(dlogits)
    return tuple(g.copy() for g in net.grads)


def sgd(w0: float, lr: float, steps: int) -> float:
    """The seed's 7.6 ``sgd``: ``steps`` steps of :class:`SGD` on ``(w - 3)^2``."""
    return float(quadratic_path(SGD(lr), w0, steps)[-1])


def adam(w0: float, lr: float, steps: int, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8) -> float:
    """The seed's 7.6 ``adam``: ``steps`` steps of :class:`Adam` on ``(w - 3)^2``."""
    return float(quadratic_path(Adam(lr, beta1, beta2, eps), w0, steps)[-1])


def momentum(w0: float, lr: float, steps: int, beta: float = 0.9) -> float:
    """``steps`` steps of heavy-ball :class:`Momentum` (``v = beta v + g; w -= lr v``) on ``(w - 3)^2``."""
    return float(quadratic_path(Momentum(lr, beta), w0, steps)[-1])


def conv2d_backward(
    dout: FloatArray, x: FloatArray, w: FloatArray, stride: int = 1, padding: int = 0
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """``(dx, dw, db)`` of :func:`conv2d_forward`: ``x: (N, C_in, H, W)``, ``w: (C_out, C_in, KH, KW)``."""
    return cnn.conv2d_backward(dout, x, w, stride, padding)


def maxpool2d_backward(dout: FloatArray, x: FloatArray, kernel: int = 2, stride: int = 2) -> FloatArray:
    """``dx: (N, C, H, W)`` of max pooling: each window's gradient to its (first) maximum."""
    return cnn.maxpool2d_backward(dout, x, kernel, stride)
