"""Max pooling's backward pass routing a window's gradient to every tied maximum. Everything else is solutions_ok.py.

With distinct values it is right; where two inputs of a window share the maximum, both get the whole
gradient, so the window passes on twice what it received.
"""

import numpy as np
from solutions_ok import *  # noqa: F403 (all the correct functions; the one below replaces its namesake)
from solutions_ok import Array


def maxpool2d_backward(dout: Array, x: Array, kernel: int = 2, stride: int = 2) -> Array:
    dx = np.zeros_like(x)
    _, _, H_out, W_out = dout.shape
    for i in range(H_out):
        for j in range(W_out):
            window = x[:, :, i * stride : i * stride + kernel, j * stride : j * stride + kernel]
            is_max = window == window.max(axis=(2, 3), keepdims=True)  # the mistake: every tied maximum
            dx[:, :, i * stride : i * stride + kernel, j * stride : j * stride + kernel] += (
                is_max * dout[:, :, i, j][:, :, None, None]
            )
    return dx
