"""2-D convolution (cross-correlation, as in PyTorch), forward and backward, fast and naive.

Shapes: ``x: (N, C_in, H, W)``, ``w: (C_out, C_in, KH, KW)`` (PyTorch's layout, so weights move
between the two without transposes), ``b: (C_out,)`` or ``None`` -> ``(N, C_out, H_out, W_out)``
with ``(H_out, W_out)`` from :func:`~backproplab.cnn.shapes.conv2d_out`. The backward pass takes
``dout``, the loss's gradient with respect to that output, and returns ``(dx, dw, db)``.
"""

import numpy as np
from numpy.lib.stride_tricks import as_strided

from backproplab._typing import FloatArray
from backproplab._validation import check_finite
from backproplab.cnn.shapes import Pair, conv2d_out, pair

IMAGES_PER_BLOCK = 8  # images per im2col block in conv2d_forward: small enough to stay in cache
GRID_PER_BLOCK = 4096  # padded-input positions per im2col block in conv2d_backward: stays in cache


def check_conv_inputs(x: FloatArray, w: FloatArray, b: FloatArray | None, finite: bool = True) -> None:
    """Validate ranks, channels, bias length, dtypes and (if ``finite``) NaN/inf; ``ValueError`` names the shapes."""
    if x.ndim != 4:
        raise ValueError(f"x must have shape (N, C_in, H, W), got ndim {x.ndim} with shape {x.shape}")
    if w.ndim != 4:
        raise ValueError(f"w must have shape (C_out, C_in, KH, KW), got ndim {w.ndim} with shape {w.shape}")
    if x.shape[1] != w.shape[1]:
        raise ValueError(f"channel mismatch: x {x.shape} has C_in={x.shape[1]} but w {w.shape} expects {w.shape[1]}")
    if b is not None and b.shape != (w.shape[0],):
        raise ValueError(f"b must have shape ({w.shape[0]},) for w {w.shape}, got {b.shape}")
    for name, a in (("x", x), ("w", w)):
        if a.dtype.kind != "f":
            raise TypeError(f"{name} must be a float array, got dtype {a.dtype}")
    if finite:
        check_finite(x, "x")


def check_dout(dout: FloatArray, expected: tuple[int, ...], layout: str, finite: bool = True) -> FloatArray:
    """``dout`` as a float array of the forward's output shape ``expected`` (named by ``layout``).

    Finite too, unless ``finite`` is false."""
    dout = np.asarray(dout)
    if dout.shape != expected:
        raise ValueError(f"dout must have the forward's output shape {layout} = {expected}, got {dout.shape}")
    if dout.dtype.kind != "f":
        raise TypeError(f"dout must be a float array, got dtype {dout.dtype}")
    if finite:
        check_finite(dout, "dout")
    return dout


def pad_hw(x: FloatArray, ph: int, pw: int, value: float = 0.0) -> FloatArray:
    """``x: (N, C, H, W)`` padded by ``ph`` rows and ``pw`` columns on each side with ``value``."""
    if ph == 0 and pw == 0:
        return x
    return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=value)


def unpad_hw(a: FloatArray, ph: int, pw: int) -> FloatArray:
    """The view of ``a: (..., Hp, Wp)`` without ``ph`` rows and ``pw`` columns on each side: undoes :func:`pad_hw`."""
    return a[..., ph : a.shape[-2] - ph, pw : a.shape[-1] - pw]


def windows(x: FloatArray, kh: int, kw: int, stride: tuple[int, int], dilation: tuple[int, int]) -> FloatArray:
    """Every ``kh x kw`` window of the (already padded) ``x``, as a read-only view, without copying.

    ``x: (N, C, Hp, Wp)`` -> ``(N, C, H_out, W_out, kh, kw)``: element ``[n, c, i, j, p, q]`` is
    ``x[n, c, i * sh + p * dh, j * sw + q * dw]``. The strides say how to step through memory.
    """
    n, c, hp, wp = x.shape
    (sh, sw), (dh, dw) = stride, dilation
    h_out, w_out = conv2d_out(hp, wp, kh, kw, stride, 0, dilation)
    s_n, s_c, s_h, s_w = x.strides
    return as_strided(
        x,
        shape=(n, c, h_out, w_out, kh, kw),
        strides=(s_n, s_c, s_h * sh, s_w * sw, s_h * dh, s_w * dw),
        writeable=False,
    )


def conv2d_forward(
    x: FloatArray, w: FloatArray, b: FloatArray | None = None, stride: Pair = 1, padding: Pair = 0, dilation: Pair = 1
) -> FloatArray:
    """Convolution by im2col: gather every window into a matrix, then one matrix product.

    ``x: (N, C_in, H, W)``, ``w: (C_out, C_in, KH, KW)``, ``b: (C_out,)`` or None ->
    ``(N, C_out, H_out, W_out)``, in the dtype of ``x`` and ``w``.
    """
    x, w = np.asarray(x), np.asarray(w)
    b = None if b is None else np.asarray(b)
    check_conv_inputs(x, w, b)
    return forward_checked(x, w, b, stride, padding, dilation)


def forward_checked(
    x: FloatArray, w: FloatArray, b: FloatArray | None, stride: Pair, padding: Pair, dilation: Pair
) -> FloatArray:
    """:func:`conv2d_forward` on arrays already checked (the layers check shapes, not NaN: see layers/conv.py)."""
    c_out, c_in, kh, kw = w.shape
    n, _, h, wd = x.shape
    ph, pw = pair(padding, "padding", 0)
    h_out, w_out = conv2d_out(h, wd, kh, kw, stride, padding, dilation)
    win = windows(pad_hw(x, ph, pw), kh, kw, pair(stride, "stride", 1), pair(dilation, "dilation", 1))
    w_mat = w.reshape(c_out, c_in * kh * kw)
    out = np.empty((n, c_out, h_out * w_out), dtype=np.result_type(x, w))
    # A few images at a time, so that their im2col matrix is still in cache when the product reads
    # it (about 1.45x faster than one matrix for the whole batch of 256 LeNet images).
    for start in range(0, n, IMAGES_PER_BLOCK):
        block = win[start : start + IMAGES_PER_BLOCK]
        # im2col, kernel axes first: (B, C_in, H_out, W_out, KH, KW) -> (B, C_in, KH, KW, H_out, W_out)
        # -> (B, C_in*KH*KW, H_out*W_out). The copy runs along contiguous rows of x (3x faster than
        # windows-first), and the product comes out in NCHW order with no transpose to copy.
        cols = block.transpose(0, 1, 4, 5, 2, 3).reshape(len(block), c_in * kh * kw, h_out * w_out)
        np.matmul(w_mat, cols, out=out[start : start + IMAGES_PER_BLOCK])  # one small GEMM per image
    if b is not None:
        out += b[:, None]
    return out.reshape(n, c_out, h_out, w_out)


def conv2d_forward_naive(
    x: FloatArray, w: FloatArray, b: FloatArray | None = None, stride: Pair = 1, padding: Pair = 0, dilation: Pair = 1
) -> FloatArray:
    """The same convolution with explicit loops over images, output channels and output pixels.

    For teaching and for testing :func:`conv2d_forward`: each output value is the sum of one
    window of the padded input times the kernel, plus the bias. Slow on purpose.
    """
    x, w = np.asarray(x), np.asarray(w)
    b = None if b is None else np.asarray(b)
    check_conv_inputs(x, w, b)
    c_out, _, kh, kw = w.shape
    n, _, h, wd = x.shape
    (sh, sw), (ph, pw), (dh, dw) = pair(stride, "stride", 1), pair(padding, "padding", 0), pair(dilation, "dilation", 1)
    h_out, w_out = conv2d_out(h, wd, kh, kw, stride, padding, dilation)
    xp = pad_hw(x, ph, pw)
    out = np.zeros((n, c_out, h_out, w_out), dtype=np.result_type(x, w))
    for i in range(n):
        for o in range(c_out):
            for r in range(h_out):
                for c in range(w_out):
                    window = xp[
                        i, :, r * sh : r * sh + dh * (kh - 1) + 1 : dh, c * sw : c * sw + dw * (kw - 1) + 1 : dw
                    ]
                    out[i, o, r, c] = np.sum(window * w[o]) + (b[o] if b is not None else 0.0)
    return out


def check_backward_inputs(
    dout: FloatArray, x: FloatArray, w: FloatArray, stride: Pair, padding: Pair, dilation: Pair, finite: bool = True
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """``dout``, ``x``, ``w`` as arrays, checked as for the forward; ``dout`` must have its output's shape."""
    x, w = np.asarray(x), np.asarray(w)
    check_conv_inputs(x, w, None, finite)
    h_out, w_out = conv2d_out(x.shape[2], x.shape[3], w.shape[2], w.shape[3], stride, padding, dilation)
    dout = check_dout(dout, (x.shape[0], w.shape[0], h_out, w_out), "(N, C_out, H_out, W_out)", finite)
    return dout, x, w


def _to_grid(a: FloatArray, grid_hw: tuple[int, int], top_left: tuple[int, int], step: tuple[int, int]) -> FloatArray:
    """``a: (N, C, h, w)`` spread over zero images of ``grid_hw = (Hp, Wp)``, one row per channel: ``(C, N*Hp*Wp)``.

    ``a[n, c, r, s]`` lands in row ``c`` at ``n*Hp*Wp + (top + r*step_h) * Wp + left + s*step_w``.
    """
    (n, c, h, w), (hp, wp), (top, left), (step_h, step_w) = a.shape, grid_hw, top_left, step
    grid = np.zeros((c, n, hp, wp), a.dtype)
    rows, cols = slice(top, top + step_h * (h - 1) + 1, step_h), slice(left, left + step_w * (w - 1) + 1, step_w)
    grid[:, :, rows, cols] = a.transpose(1, 0, 2, 3)
    return grid.reshape(c, n * hp * wp)


def _grid_gradients(
    g: FloatArray, xp: FloatArray, w_mat: FloatArray, off: list[int], block: int, need_dx: bool = True
) -> tuple[FloatArray | None, FloatArray]:
    """``(dxp, dw_mat)`` by the formulas of :func:`conv2d_backward`, ``block`` grid positions at a time
    (``dxp`` is ``None`` unless ``need_dx``).

    ``g: (C_out, P)``, ``xp: (C_in, P)`` on the grid, ``w_mat: (C_out, C_in*K)`` for ``K`` kernel taps at
    offsets ``off`` -> ``dxp: (C_in, P)``, ``dw_mat: (C_out, C_in*K)``. A block small enough to stay in
    cache makes im2col and col2im contiguous copies and adds of whole rows, one per tap.
    """
    c_in, taps = xp.shape[0], len(off)
    dxp = np.zeros_like(xp) if need_dx else None
    dw_t = np.zeros((c_in * taps, g.shape[0]), g.dtype)  # dw_mat transposed: cols @ g.T is the faster product
    buffer = np.empty(c_in * taps * block, g.dtype)  # im2col of a block, then the gradient of it
    starts = g.shape[1] - off[-1]  # the positions whose whole window lies on the grid
    for lo in range(0, starts, block):
        span = min(block, starts - lo)
        cols = buffer[: c_in * taps * span].reshape(c_in, taps, span)
        for k in range(taps):
            cols[:, k] = xp[:, lo + off[k] : lo + off[k] + span]
        g_block = g[:, lo : lo + span]  # (C_out, span)
        dw_t += cols.reshape(c_in * taps, span) @ g_block.T
        if dxp is None:
            continue
        dcols = np.matmul(w_mat.T, g_block, out=cols.reshape(c_in * taps, span)).reshape(c_in, taps, span)
        for k in range(taps):
            dxp[:, lo + off[k] : lo + off[k] + span] += dcols[:, k]
    return dxp, dw_t.T


def conv2d_backward(
    dout: FloatArray, x: FloatArray, w: FloatArray, stride: Pair = 1, padding: Pair = 0, dilation: Pair = 1
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Gradients of the loss through :func:`conv2d_forward`, by im2col and col2im on the padded grid.

    ``dout: (N, C_out, H_out, W_out)`` is the gradient of the output of ``conv2d_forward(x, w, b, stride,
    padding, dilation)`` with ``x: (N, C_in, H, W)``, ``w: (C_out, C_in, KH, KW)`` -> ``(dx, dw, db)`` of
    shapes ``(N, C_in, H, W)``, ``(C_out, C_in, KH, KW)`` and ``(C_out,)``, in the dtype of the inputs.

    Lay each channel of the padded batch out as one row, image after image: ``xp[c, p]``. The window
    of an output pixel starts at some ``p``, and kernel tap ``k = (i, j)`` reads ``p + off[k]``, with
    ``off[k] = i * dil_h * Wp + j * dil_w``. So ``out[o, p] = b[o] + sum over c, k of
    w[o, c, k] * xp[c, p + off[k]]``, and with ``g[o, p]`` the upstream gradient at window starts
    (zero at every other position):

        db[o]       = sum over p of g[o, p]
        dw[o, c, k] = sum over p of g[o, p] * xp[c, p + off[k]]       im2col, then one product
        dxp[c, p + off[k]] += sum over o of w[o, c, k] * g[o, p]       one product, then col2im

    Each tap is then one shift of whole rows (:func:`_grid_gradients`), where windows of
    ``H_out x W_out`` pixels would cost a short loop per image row. Reading past the end of one image
    into the next is harmless, as ``g`` is zero there. :func:`conv2d_backward_naive` is the loop version.
    """
    dx, dw, db = backward_checked(
        check_backward_inputs(dout, x, w, stride, padding, dilation), stride, padding, dilation
    )
    assert dx is not None  # asked for
    return dx, dw, db


def backward_checked(
    arrays: tuple[FloatArray, FloatArray, FloatArray], stride: Pair, padding: Pair, dilation: Pair, need_dx: bool = True
) -> tuple[FloatArray | None, FloatArray, FloatArray]:
    """:func:`conv2d_backward` on checked ``(dout, x, w)``; ``dx`` is ``None`` unless ``need_dx`` (a network's
    first layer needs no input gradient, and PyTorch skips it too)."""
    dout, x, w = arrays
    (n, c_in, h, wd), (c_out, _, kh, kw) = x.shape, w.shape
    (ph, pw), (dil_h, dil_w) = pair(padding, "padding", 0), pair(dilation, "dilation", 1)
    dtype = np.result_type(dout, x, w)
    hp, wp = h + 2 * ph, wd + 2 * pw
    xp = _to_grid(x.astype(dtype, copy=False), (hp, wp), (ph, pw), (1, 1))  # (C_in, N*Hp*Wp)
    g = _to_grid(dout.astype(dtype, copy=False), (hp, wp), (0, 0), pair(stride, "stride", 1))  # (C_out, N*Hp*Wp)
    off = [i * dil_h * wp + j * dil_w for i in range(kh) for j in range(kw)]
    w_mat = w.reshape(c_out, c_in * kh * kw).astype(dtype, copy=False)
    dxp, dw_mat = _grid_gradients(g, xp, w_mat, off, GRID_PER_BLOCK, need_dx)
    dw = np.ascontiguousarray(dw_mat.reshape(c_out, c_in, kh, kw))
    db = dout.sum(axis=(0, 2, 3), dtype=dtype)
    if dxp is None:
        return None, dw, db
    dx = unpad_hw(dxp.reshape(c_in, n, hp, wp), ph, pw).transpose(1, 0, 2, 3)
    return np.ascontiguousarray(dx), dw, db


def conv2d_backward_naive(
    dout: FloatArray, x: FloatArray, w: FloatArray, stride: Pair = 1, padding: Pair = 0, dilation: Pair = 1
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """The same gradients with explicit loops over images, output channels and output pixels.

    For teaching and for testing :func:`conv2d_backward`: each output value was one window of the
    padded input times the kernel, plus the bias, so its gradient flows to that window (times the
    kernel), to the kernel (times the window) and to the bias. Slow on purpose.
    """
    dout, x, w = check_backward_inputs(dout, x, w, stride, padding, dilation)
    (n, c_out, h_out, w_out), (kh, kw) = dout.shape, w.shape[2:]
    (sh, sw), (ph, pw), (dil_h, dil_w) = (
        pair(stride, "stride", 1),
        pair(padding, "padding", 0),
        pair(dilation, "dilation", 1),
    )
    dtype = np.result_type(dout, x, w)
    xp = pad_hw(x, ph, pw)
    dxp, dw, db = np.zeros(xp.shape, dtype), np.zeros(w.shape, dtype), np.zeros(c_out, dtype)
    for i in range(n):
        for o in range(c_out):
            for r in range(h_out):
                for c in range(w_out):
                    rows = slice(r * sh, r * sh + dil_h * (kh - 1) + 1, dil_h)
                    cols = slice(c * sw, c * sw + dil_w * (kw - 1) + 1, dil_w)
                    dxp[i, :, rows, cols] += dout[i, o, r, c] * w[o]
                    dw[o] += dout[i, o, r, c] * xp[i, :, rows, cols]
                    db[o] += dout[i, o, r, c]
    return np.ascontiguousarray(unpad_hw(dxp, ph, pw)), dw, db
