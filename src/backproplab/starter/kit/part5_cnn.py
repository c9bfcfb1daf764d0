"""Part 5 (exercise 7.8 and the CNN practice): convolution, pooling, batch norm and dropout in NumPy.

Images are batch-first, as in PyTorch: ``x: (N, C, H, W)``; a convolution's kernels are
``w: (C_out, C_in, KH, KW)``. Each layer has a forward pass and, right after it, its backward pass,
which takes ``dout``, the loss's gradient with respect to the layer's output.

Replace each ``raise NotImplementedError(...)`` with your code, then check it: run the check cell
of ``part5_cnn_notebook.ipynb``, or ``backproplab check --impl .`` in this folder.
"""

from typing import Any

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
BatchNormCache = tuple[Any, ...]  # what batchnorm_forward keeps for batchnorm_backward


def conv2d_out(H: int, W: int, KH: int, KW: int, stride: int = 1, padding: int = 0) -> tuple[int, int]:
    """The output size ``(H_out, W_out)`` of a ``KH x KW`` convolution of an ``H x W`` input.

    ``H_out = (H + 2 padding - KH) // stride + 1``, and the same for ``W_out`` with ``W`` and ``KW``.
    """
    raise NotImplementedError("exercise 7.8: write conv2d_out")


def conv2d_forward(x: FloatArray, w: FloatArray, b: FloatArray, stride: int = 1, padding: int = 0) -> FloatArray:
    """A convolution (a cross-correlation, as PyTorch's: the kernel is not flipped).

    ``x: (N, C_in, H, W)``, ``w: (C_out, C_in, KH, KW)``, ``b: (C_out,)`` -> ``(N, C_out, H_out, W_out)``
    with ``out[n, o, i, j] = b[o] + sum over c, p, q of w[o, c, p, q] * xp[n, c, i*stride + p, j*stride + q]``,
    where ``xp`` is ``x`` padded with ``padding`` zeros on each side of H and W.
    """
    raise NotImplementedError("CNN practice: write conv2d_forward")


def conv2d_backward(
    dout: FloatArray, x: FloatArray, w: FloatArray, stride: int = 1, padding: int = 0
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """The gradients through :func:`conv2d_forward`: ``dout: (N, C_out, H_out, W_out)`` -> ``(dx, dw, db)``.

    ``dx: (N, C_in, H, W)``, ``dw: (C_out, C_in, KH, KW)``, ``db: (C_out,)``. Each output value used
    one window of ``xp``: it sends ``dout * w`` back to that window of ``dxp`` and ``dout * window``
    to ``dw``; ``db`` sums ``dout`` over ``N, H_out, W_out``. Drop the padding from ``dxp`` to get ``dx``.
    """
    raise NotImplementedError("CNN practice: write conv2d_backward")


def maxpool2d_forward(x: FloatArray, kernel: int = 2, stride: int = 2) -> FloatArray:
    """Max pooling: the maximum of each ``kernel x kernel`` window, windows ``stride`` apart.

    ``x: (N, C, H, W)`` -> ``(N, C, H_out, W_out)`` with ``H_out = (H - kernel) // stride + 1`` (and the same for W).
    """
    raise NotImplementedError("CNN practice: write maxpool2d_forward")


def maxpool2d_backward(dout: FloatArray, x: FloatArray, kernel: int = 2, stride: int = 2) -> FloatArray:
    """The gradient through :func:`maxpool2d_forward`: ``dout: (N, C, H_out, W_out)``, ``x: (N, C, H, W)`` -> ``dx``.

    ``dx`` has ``x``'s shape: each window's gradient goes to the position of its maximum (the first
    one on ties), 0 elsewhere; where windows overlap, the gradients add up.
    """
    raise NotImplementedError("CNN practice: write maxpool2d_backward")


def batchnorm_forward(
    x: FloatArray, gamma: FloatArray, beta: FloatArray, eps: float = 1e-5
) -> tuple[FloatArray, BatchNormCache]:
    """Batch normalisation in training mode: each feature normalised over the batch, then scaled and shifted.

    ``x: (N, D)``, ``gamma, beta: (D,)`` -> ``(out, cache)`` with ``out: (N, D)``::

        mean = x.mean(axis=0);  var = x.var(axis=0)    (D,), the biased variance (divided by N)
        x_hat = (x - mean) / sqrt(var + eps);  out = gamma * x_hat + beta

    ``cache`` holds what :func:`batchnorm_backward` needs, e.g. ``(x_hat, var, gamma, eps)``.
    """
    raise NotImplementedError("CNN practice: write batchnorm_forward")


def batchnorm_backward(dout: FloatArray, cache: BatchNormCache) -> tuple[FloatArray, FloatArray, FloatArray]:
    """The gradients through :func:`batchnorm_forward`: ``dout: (N, D)`` -> ``(dx, dgamma, dbeta)``.

    ``dx: (N, D)``, ``dgamma, dbeta: (D,)``. With ``dx_hat = dout * gamma`` and sums over the batch axis::

        dbeta = sum(dout);  dgamma = sum(dout * x_hat)
        dx = (N dx_hat - sum(dx_hat) - x_hat sum(dx_hat * x_hat)) / (N sqrt(var + eps))
    """
    raise NotImplementedError("CNN practice: write batchnorm_backward")


def dropout_forward(x: FloatArray, p: float, rng: np.random.Generator) -> tuple[FloatArray, FloatArray]:
    """Inverted dropout in training: drop each value with probability ``p``, scale the kept ones by ``1 / (1 - p)``.

    ``x`` of any shape -> ``(out, mask)``, both of ``x``'s shape: ``mask`` is ``1 / (1 - p)`` where a
    value is kept and 0 where it is dropped (draw with ``rng.random(x.shape) >= p``), and
    ``out = x * mask``. The scaling keeps each value's expectation, so at inference dropout does nothing.
    """
    raise NotImplementedError("CNN practice: write dropout_forward")


def dropout_backward(dout: FloatArray, mask: FloatArray) -> FloatArray:
    """The gradient through :func:`dropout_forward`: ``dx = dout * mask``, of ``dout``'s shape."""
    raise NotImplementedError("CNN practice: write dropout_backward")
