"""A convolution backward pass without the kernel flip. Everything else is solutions_ok.py.

The forward pass correlates x with w, so dx is dout correlated with the *flipped* kernel (a full
convolution). This dx correlates the padded dout with w as it is; dw and db are right.
"""

import numpy as np
from solutions_ok import *  # noqa: F403 (all the correct functions; the one below replaces its namesake)
from solutions_ok import Array
from solutions_ok import conv2d_backward as correct_conv2d_backward


def conv2d_backward(dout: Array, x: Array, w: Array, stride: int = 1, padding: int = 0) -> tuple[Array, Array, Array]:
    _, dw, db = correct_conv2d_backward(dout, x, w, stride, padding)
    _, _, KH, KW = w.shape
    dpad = np.pad(dout, ((0, 0), (0, 0), (KH - 1, KH - 1), (KW - 1, KW - 1)))
    dx = np.zeros_like(x)
    for i in range(x.shape[2]):
        for j in range(x.shape[3]):
            window = dpad[:, :, i : i + KH, j : j + KW]  # (N, C_out, KH, KW)
            dx[:, :, i, j] = np.tensordot(
                window, w, axes=([1, 2, 3], [0, 2, 3])
            )  # the mistake: w, not w[..., ::-1, ::-1]
    return dx, dw, db
