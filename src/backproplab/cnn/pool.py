"""Pooling and flattening, forward only.

Shapes: ``x: (N, C, H, W)`` -> ``(N, C, H_out, W_out)`` with ``(H_out, W_out)`` from
:func:`~backproplab.cnn.shapes.conv2d_out` (kernel ``k``, stride ``s`` defaulting to ``k``,
padding ``p``). Defaults follow ``torch.nn.functional``: max pooling pads with -inf, average
pooling with zeros that count in the average (``count_include_pad=True``).
"""

import numpy as np

from backproplab._typing import FloatArray
from backproplab._validation import check_finite
from backproplab.cnn.conv import pad_hw, windows
from backproplab.cnn.shapes import Pair, conv2d_out, pair


def _pool_windows(x: FloatArray, kernel: Pair, stride: Pair | None, padding: Pair, fill: float) -> FloatArray:
    x = np.asarray(x)
    if x.ndim != 4:
        raise ValueError(f"x must have shape (N, C, H, W), got ndim {x.ndim} with shape {x.shape}")
    if x.dtype.kind != "f":
        raise TypeError(f"x must be a float array, got dtype {x.dtype}")
    check_finite(x, "x")
    kh, kw = pair(kernel, "kernel", 1)
    sh, sw = pair(stride if stride is not None else kernel, "stride", 1)
    ph, pw = pair(padding, "padding", 0)
    if ph > kh // 2 or pw > kw // 2:
        raise ValueError(f"padding {ph}x{pw} must be at most half the kernel {kh}x{kw} (as in PyTorch)")
    conv2d_out(x.shape[2], x.shape[3], kh, kw, (sh, sw), (ph, pw))  # raises if the kernel does not fit
    return windows(pad_hw(x, ph, pw, fill), kh, kw, (sh, sw), (1, 1))


def maxpool2d_forward(x: FloatArray, kernel: Pair, stride: Pair | None = None, padding: Pair = 0) -> FloatArray:
    """Max over each window: ``(N, C, H, W)`` -> ``(N, C, H_out, W_out)``."""
    out: FloatArray = _pool_windows(x, kernel, stride, padding, -np.inf).max(axis=(4, 5))
    return out


def avgpool2d_forward(x: FloatArray, kernel: Pair, stride: Pair | None = None, padding: Pair = 0) -> FloatArray:
    """Mean over each window, padding zeros included: ``(N, C, H, W)`` -> ``(N, C, H_out, W_out)``."""
    out: FloatArray = _pool_windows(x, kernel, stride, padding, 0.0).mean(axis=(4, 5))
    return out


def flatten(x: FloatArray) -> FloatArray:
    """``(N, C, H, W)`` -> ``(N, C*H*W)`` in C order (channel, then row, then column), as ``torch.flatten(x, 1)``."""
    x = np.asarray(x)
    if x.ndim < 2:
        raise ValueError(f"flatten needs a batch axis and at least one more, got shape {x.shape}")
    return x.reshape(x.shape[0], -1)
