"""Pooling and flattening, forward only.

Shapes: ``x: (N, C, H, W)`` -> ``(N, C, H_out, W_out)`` with ``(H_out, W_out)`` from
:func:`~backproplab.cnn.shapes.conv2d_out` (kernel ``k``, stride ``s`` defaulting to ``k``,
padding ``p``). Defaults follow ``torch.nn.functional``: max pooling pads with -inf, average
pooling with zeros that count in the average (``count_include_pad=True``).
"""

import numpy as np

from backproplab._typing import FloatArray
from backproplab._validation import check_finite
from backproplab.cnn.conv import pad_hw
from backproplab.cnn.shapes import Pair, conv2d_out, pair


def _pool(x: FloatArray, kernel: Pair, stride: Pair | None, padding: Pair, fill: float, op: np.ufunc) -> FloatArray:
    """Combine every ``KH x KW`` window of ``x: (N, C, H, W)`` with ``op`` (``np.maximum`` or ``np.add``).

    Separably: first the ``KW`` columns of each window, then the ``KH`` rows, each step one
    vectorised ufunc over whole feature maps (2 for a 2x2 pool). NumPy's own reduction over two
    tiny, strided window axes is about 30x slower.
    """
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
    h_out, w_out = conv2d_out(x.shape[2], x.shape[3], kh, kw, (sh, sw), (ph, pw))  # raises if it does not fit
    xp = pad_hw(x, ph, pw, fill)
    # column q of every window, for all windows at once: (N, C, Hp, W_out)
    cols = [xp[..., q : q + sw * (w_out - 1) + 1 : sw] for q in range(kw)]
    across = cols[0].copy()
    for col in cols[1:]:
        op(across, col, out=across)
    rows = [across[..., p : p + sh * (h_out - 1) + 1 : sh, :] for p in range(kh)]  # each (N, C, H_out, W_out)
    out = rows[0].copy()
    for row in rows[1:]:
        op(out, row, out=out)
    return out


def maxpool2d_forward(x: FloatArray, kernel: Pair, stride: Pair | None = None, padding: Pair = 0) -> FloatArray:
    """Max over each window: ``(N, C, H, W)`` -> ``(N, C, H_out, W_out)``."""
    return _pool(x, kernel, stride, padding, -np.inf, np.maximum)


def avgpool2d_forward(x: FloatArray, kernel: Pair, stride: Pair | None = None, padding: Pair = 0) -> FloatArray:
    """Mean over each window, padding zeros included: ``(N, C, H, W)`` -> ``(N, C, H_out, W_out)``."""
    out = _pool(x, kernel, stride, padding, 0.0, np.add)
    kh, kw = pair(kernel, "kernel", 1)
    out /= kh * kw
    return out


def flatten(x: FloatArray) -> FloatArray:
    """``(N, C, H, W)`` -> ``(N, C*H*W)`` in C order (channel, then row, then column), as ``torch.flatten(x, 1)``."""
    x = np.asarray(x)
    if x.ndim < 2:
        raise ValueError(f"flatten needs a batch axis and at least one more, got shape {x.shape}")
    return x.reshape(x.shape[0], -1)
