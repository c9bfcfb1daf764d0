"""Pooling and flattening: forward and backward passes.

Shapes: ``x: (N, C, H, W)`` -> ``(N, C, H_out, W_out)`` with ``(H_out, W_out)`` from
:func:`~backproplab.cnn.shapes.conv2d_out` (kernel ``k``, stride ``s`` defaulting to ``k``,
padding ``p``). Defaults follow ``torch.nn.functional``: max pooling pads with -inf, average
pooling with zeros that count in the average (``count_include_pad=True``). Each backward pass
takes ``dout: (N, C, H_out, W_out)``, the loss's gradient with respect to that output, and returns
``dx: (N, C, H, W)``.
"""

from typing import NamedTuple

import numpy as np

from backproplab._typing import FloatArray
from backproplab._validation import check_finite
from backproplab.cnn.conv import check_dout, pad_hw, unpad_hw
from backproplab.cnn.shapes import Pair, conv2d_out, pair


class Windows(NamedTuple):
    """Where a pooling's windows lie: each field an ``(h, w)`` pair; ``out`` is ``(H_out, W_out)``."""

    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]
    out: tuple[int, int]


def pool_windows(
    x: FloatArray, kernel: Pair, stride: Pair | None, padding: Pair, finite: bool = True
) -> tuple[FloatArray, Windows]:
    """``x`` checked as an ``(N, C, H, W)`` float array (NaN/inf too if ``finite``), and its pooling windows."""
    x = np.asarray(x)
    if x.ndim != 4:
        raise ValueError(f"x must have shape (N, C, H, W), got ndim {x.ndim} with shape {x.shape}")
    if x.dtype.kind != "f":
        raise TypeError(f"x must be a float array, got dtype {x.dtype}")
    if finite:
        check_finite(x, "x")
    kh, kw = pair(kernel, "kernel", 1)
    sh, sw = pair(stride if stride is not None else kernel, "stride", 1)
    ph, pw = pair(padding, "padding", 0)
    if ph > kh // 2 or pw > kw // 2:
        raise ValueError(f"padding {ph}x{pw} must be at most half the kernel {kh}x{kw} (as in PyTorch)")
    out = conv2d_out(x.shape[2], x.shape[3], kh, kw, (sh, sw), (ph, pw))  # raises if it does not fit
    return x, Windows((kh, kw), (sh, sw), (ph, pw), out)


def _tap(xp: FloatArray, p: int, q: int, win: Windows) -> FloatArray:
    """Element ``(p, q)`` of every window of the padded ``xp``: a strided view ``(N, C, H_out, W_out)``."""
    (sh, sw), (h_out, w_out) = win.stride, win.out
    return xp[..., p : p + sh * (h_out - 1) + 1 : sh, q : q + sw * (w_out - 1) + 1 : sw]


def _pool(xp: FloatArray, win: Windows, op: np.ufunc) -> FloatArray:
    """Combine every window of the padded ``xp: (N, C, Hp, Wp)`` with ``op`` (``np.maximum`` or ``np.add``).

    Separably: first the ``KW`` columns of each window, then the ``KH`` rows, each step one
    vectorised ufunc over whole feature maps (2 for a 2x2 pool). NumPy's own reduction over two
    tiny, strided window axes is about 30x slower.
    """
    (kh, kw), (sh, sw), (h_out, w_out) = win.kernel, win.stride, win.out
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
    return max_forward(*pool_windows(x, kernel, stride, padding))


def max_forward(x: FloatArray, win: Windows) -> FloatArray:
    """:func:`maxpool2d_forward` of a checked ``x`` over its windows ``win``."""
    return _pool(pad_hw(x, *win.padding, -np.inf), win, np.maximum)


def avgpool2d_forward(x: FloatArray, kernel: Pair, stride: Pair | None = None, padding: Pair = 0) -> FloatArray:
    """Mean over each window, padding zeros included: ``(N, C, H, W)`` -> ``(N, C, H_out, W_out)``."""
    return avg_forward(*pool_windows(x, kernel, stride, padding))


def avg_forward(x: FloatArray, win: Windows) -> FloatArray:
    """:func:`avgpool2d_forward` of a checked ``x`` over its windows ``win``."""
    out = _pool(pad_hw(x, *win.padding), win, np.add)
    out /= win.kernel[0] * win.kernel[1]
    return out


def check_backward_inputs(
    dout: FloatArray, x: FloatArray, kernel: Pair, stride: Pair | None, padding: Pair, finite: bool = True
) -> tuple[FloatArray, FloatArray, Windows]:
    """``dout`` and ``x`` checked as for the forward; ``dout`` must have its output's shape."""
    x, win = pool_windows(x, kernel, stride, padding, finite)
    dout = check_dout(dout, (*x.shape[:2], *win.out), "(N, C, H_out, W_out)", finite)
    return dout, x, win


def _padded_zeros(x: FloatArray, dout: FloatArray, win: Windows) -> FloatArray:
    """Zeros of ``x``'s padded shape, in the dtype of ``x`` and ``dout``: where ``dx`` is gathered."""
    (ph, pw), (n, c, h, w) = win.padding, x.shape
    return np.zeros((n, c, h + 2 * ph, w + 2 * pw), np.result_type(dout, x))


def _route(dxp: FloatArray, p: int, q: int, win: Windows, grad: FloatArray) -> None:
    """Add ``grad: (N, C, H_out, W_out)`` to element ``(p, q)`` of every window of ``dxp``, in place.

    Windows that do not overlap (stride >= kernel) never share an element, so a plain write does.
    """
    if win.stride[0] >= win.kernel[0] and win.stride[1] >= win.kernel[1]:
        _tap(dxp, p, q, win)[...] = grad
    else:
        _tap(dxp, p, q, win)[...] += grad


def maxpool2d_backward(
    dout: FloatArray, x: FloatArray, kernel: Pair, stride: Pair | None = None, padding: Pair = 0
) -> FloatArray:
    """Gradient through :func:`maxpool2d_forward`: ``dout: (N, C, H_out, W_out)``, ``x: (N, C, H, W)`` -> ``dx``.

    Each window's gradient goes to its maximum; on ties, to the first in row-major window order, as
    PyTorch's ``max_pool2d`` does. Overlapping windows add up. Vectorised over all windows, one
    kernel element at a time: ``taken`` marks the windows whose maximum has been met already.
    """
    return max_backward(*check_backward_inputs(dout, x, kernel, stride, padding))


def max_backward(dout: FloatArray, x: FloatArray, win: Windows) -> FloatArray:
    """:func:`maxpool2d_backward` of checked ``dout`` and ``x`` over the windows ``win``."""
    xp = pad_hw(x, *win.padding, -np.inf)
    out = _pool(xp, win, np.maximum)
    dxp = _padded_zeros(x, dout, win)
    taken = np.zeros(out.shape, dtype=bool)
    for p, q in np.ndindex(*win.kernel):  # row-major, as PyTorch scans a window
        is_max = _tap(xp, p, q, win) == out
        first = is_max > taken  # a maximum, and none before it in its window: is_max and not taken
        taken |= is_max
        _route(dxp, p, q, win, dout * first)
    return np.ascontiguousarray(unpad_hw(dxp, *win.padding))


def avgpool2d_backward(
    dout: FloatArray, x: FloatArray, kernel: Pair, stride: Pair | None = None, padding: Pair = 0
) -> FloatArray:
    """Gradient through :func:`avgpool2d_forward`: ``dout: (N, C, H_out, W_out)``, ``x: (N, C, H, W)`` -> ``dx``.

    Every element of a window gets ``1 / (KH * KW)`` of its gradient (padding included, so the
    share that falls on padding is dropped); overlapping windows add up.
    """
    return avg_backward(*check_backward_inputs(dout, x, kernel, stride, padding))


def avg_backward(dout: FloatArray, x: FloatArray, win: Windows) -> FloatArray:
    """:func:`avgpool2d_backward` of checked ``dout`` and ``x`` over the windows ``win``."""
    share = dout / (win.kernel[0] * win.kernel[1])
    dxp = _padded_zeros(x, dout, win)
    for p, q in np.ndindex(*win.kernel):
        _route(dxp, p, q, win, share)
    return np.ascontiguousarray(unpad_hw(dxp, *win.padding))


def maxpool2d_backward_naive(
    dout: FloatArray, x: FloatArray, kernel: Pair, stride: Pair | None = None, padding: Pair = 0
) -> FloatArray:
    """:func:`maxpool2d_backward` with loops over images, channels and windows, for teaching and testing.

    ``np.argmax`` returns the first maximum in row-major order: the element PyTorch picks.
    """
    dout, x, win = check_backward_inputs(dout, x, kernel, stride, padding)
    (kh, kw), (sh, sw), (h_out, w_out) = win.kernel, win.stride, win.out
    xp = pad_hw(x, *win.padding, -np.inf)
    dxp = _padded_zeros(x, dout, win)
    for i, c, r, s in np.ndindex(*x.shape[:2], h_out, w_out):
        window = xp[i, c, r * sh : r * sh + kh, s * sw : s * sw + kw]
        p, q = np.unravel_index(np.argmax(window), window.shape)
        dxp[i, c, r * sh + p, s * sw + q] += dout[i, c, r, s]
    return np.ascontiguousarray(unpad_hw(dxp, *win.padding))


def avgpool2d_backward_naive(
    dout: FloatArray, x: FloatArray, kernel: Pair, stride: Pair | None = None, padding: Pair = 0
) -> FloatArray:
    """:func:`avgpool2d_backward` with loops over images, channels and windows, for teaching and testing."""
    dout, x, win = check_backward_inputs(dout, x, kernel, stride, padding)
    (kh, kw), (sh, sw), (h_out, w_out) = win.kernel, win.stride, win.out
    dxp = _padded_zeros(x, dout, win)
    for i, c, r, s in np.ndindex(*x.shape[:2], h_out, w_out):
        dxp[i, c, r * sh : r * sh + kh, s * sw : s * sw + kw] += dout[i, c, r, s] / (kh * kw)
    return np.ascontiguousarray(unpad_hw(dxp, *win.padding))


def flatten(x: FloatArray) -> FloatArray:
    """``(N, C, H, W)`` -> ``(N, C*H*W)`` in C order (channel, then row, then column), as ``torch.flatten(x, 1)``."""
    x = np.asarray(x)
    if x.ndim < 2:
        raise ValueError(f"flatten needs a batch axis and at least one more, got shape {x.shape}")
    return x.reshape(x.shape[0], -1)
