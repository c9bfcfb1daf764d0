"""Checks of the NumPy CNN: the LeNet forward pass against PyTorch (exercise 7.8 and the module's "CNNs
(practice)"), and the backward passes of convolution and max pooling (beyond the seed).

The seed asks for a NumPy forward pass of convolution and pooling for a LeNet-like network but
names no functions; the checker looks for ``conv2d_forward(x, w, b, stride, padding)`` and
``maxpool2d_forward(x, kernel)`` (the library's names), and for the backward passes
``conv2d_backward(dout, x, w, stride, padding) -> (dx, dw, db)`` and
``maxpool2d_backward(dout, x, kernel, stride) -> dx``. PyTorch is imported here, lazily: the rest of
the checker never needs it. Backward passes are checked against finite differences of a convolution
written out here (exact: the loss ``sum(out * dout)`` is linear in ``x`` and in ``w``) and against the
routing rule of max pooling, with random upstream gradients.
"""

from collections.abc import Callable

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from backproplab._typing import FloatArray
from backproplab.checker.hints import CheckError, as_array, compare
from backproplab.checker.learner import Impl, NotAttemptedError
from backproplab.cnn.lenet import lenet_spec
from backproplab.cnn.spec import parse_spec
from backproplab.gradcheck import numerical_gradient

FLIPPED = (
    "the kernel is flipped: PyTorch's conv2d (and the module's) is a cross-correlation, "
    "out[i, j] = sum(x[i:i+KH, j:j+KW] * w), with w as it is."
)
# LeNet's feature extractor, as `backproplab shapes` and backproplab.cnn.lenet build it: every conv and
# pool of the spec up to flatten (conv 5x5 padding 2, pool 2, conv 5x5 padding 2, pool 2: 16 x 7 x 7 = 784).
STAGES = [layer for layer in parse_spec(lenet_spec(10)) if layer.kind in ("conv", "pool")]


def check_cnn_vs_torch(impl: Impl) -> str:
    conv2d_forward, maxpool2d_forward = impl.get("conv2d_forward", "maxpool2d_forward")
    try:
        import torch
    except ImportError:
        raise NotAttemptedError(["torch (PyTorch is not installed: pip install torch)"]) from None
    F = torch.nn.functional
    rng = np.random.default_rng(0)
    x: FloatArray = rng.standard_normal((2, 1, 28, 28))
    ours, theirs = x, torch.from_numpy(x)
    for i, layer in enumerate(STAGES, 1):
        flipped = None
        if layer.kind == "conv":
            size, stride, pad = layer.size, layer.stride, layer.padding
            w = rng.standard_normal((size, ours.shape[1], layer.kernel, layer.kernel)) / layer.kernel
            b = rng.standard_normal(size)
            call = f"conv2d_forward(x, w {w.shape}, b, stride={stride}, padding={pad})"
            ours = np.maximum(as_array(f"stage {i}: {call}", conv2d_forward(ours, w, b, stride, pad)), 0.0)
            flipped = F.relu(
                F.conv2d(theirs, torch.from_numpy(w[..., ::-1, ::-1].copy()), torch.from_numpy(b), stride, pad)
            )
            theirs = F.relu(F.conv2d(theirs, torch.from_numpy(w), torch.from_numpy(b), stride, pad))
            what = f"stage {i}: relu({call})"
        else:
            what = f"stage {i}: maxpool2d_forward(x, {layer.kernel})"
            ours = as_array(what, maxpool2d_forward(ours, layer.kernel))
            theirs = F.max_pool2d(theirs, layer.kernel)
        expected = theirs.numpy()
        atol = 1e-10 * max(float(np.abs(expected).max()), 1.0)
        try:
            compare(what, ours, expected, rtol=0, atol=atol)
        except CheckError as e:
            if flipped is not None and ours.shape == expected.shape and np.allclose(ours, flipped.numpy(), atol=atol):
                raise CheckError(e.detail + "; it equals PyTorch's with the kernel flipped", FLIPPED) from None
            raise
    features = int(np.prod(ours.shape[1:]))
    return (
        f"LeNet's conv 5x5 (padding 2), pool 2, conv 5x5 (padding 2), pool 2 on 28x28 images: equal to torch, "
        f"{ours.shape[1:]} = {features} features per image"
    )


# ----- beyond the seed: backward passes ------------------------------------------------------------
NO_FLIP = (
    "dx correlates dout with the kernel as it is: the forward pass correlates, so its input gradient is a "
    "full convolution, which flips the kernel: dx = correlate(pad(dout, K - 1), w[..., ::-1, ::-1]) with "
    "the channel axes of w swapped."
)
CONV_CASES = [((2, 2, 5, 5), (3, 2, 3, 3), 1, 0), ((2, 2, 6, 5), (3, 2, 3, 2), 2, 1)]  # x, w, stride, padding


def _conv(x: FloatArray, w: FloatArray, stride: int, padding: int) -> FloatArray:
    """Cross-correlation without bias: ``x: (N, C_in, H, W)``, ``w: (C_out, C_in, KH, KW)`` -> ``(N, C_out, ...)``."""
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    win = sliding_window_view(xp, w.shape[2:], axis=(2, 3))[:, :, ::stride, ::stride]  # (N, C_in, Ho, Wo, KH, KW)
    return np.asarray(np.einsum("nchwij,ocij->nohw", win, w))


def _linear_loss(x: FloatArray, w: FloatArray, dout: FloatArray, stride: int, padding: int) -> Callable[[], float]:
    """``sum(conv(x, w) * dout)``, read from ``x`` and ``w`` at each call: its gradients are ``(dx, dw)``."""
    return lambda: float(np.sum(_conv(x, w, stride, padding) * dout))


def _triple(name: str, got: object) -> tuple[np.ndarray, ...]:
    if not (isinstance(got, tuple | list) and len(got) == 3):
        raise CheckError(f"{name} returned {type(got).__name__}, expected the 3 arrays (dx, dw, db)")
    return tuple(as_array(f"{name}[{i}]", g) for i, g in enumerate(got))


def check_conv2d_backward(impl: Impl) -> str:
    (conv2d_backward,) = impl.get("conv2d_backward")
    rng = np.random.default_rng(0)
    for x_shape, w_shape, stride, padding in CONV_CASES:
        x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
        dout = rng.standard_normal(_conv(x, w, stride, padding).shape)  # random: ones would hide a transpose

        loss = _linear_loss(x, w, dout, stride, padding)
        call = f"conv2d_backward(dout, x {x_shape}, w {w_shape}, stride={stride}, padding={padding})"
        dx, dw, db = _triple(call, conv2d_backward(dout, x, w, stride, padding))
        if stride == 1 and padding == 0 and dx.shape == x.shape:
            k = w.shape[2] - 1, w.shape[3] - 1
            dpad = np.pad(dout, ((0, 0), (0, 0), (k[0], k[0]), (k[1], k[1])))
            if np.allclose(dx, _conv(dpad, w.transpose(1, 0, 2, 3), 1, 0)) and not np.allclose(dx, 0):
                raise CheckError(f"dx of {call} is the correlation of dout with the unflipped kernel", NO_FLIP)
        compare(f"dx of {call}", dx, numerical_gradient(loss, x))
        compare(f"dw of {call}", dw, numerical_gradient(loss, w))
        compare(f"db of {call}", db, dout.sum(axis=(0, 2, 3)))
    return "dx, dw, db match finite differences with a random upstream gradient (stride 1 and 2, padding 0 and 1)"


TIES = (
    "at a tie every maximum of the window got its gradient, so the window passed on more than it received: "
    "route each window's gradient to one maximum (np.argmax picks the first, as PyTorch does)."
)
OVERWRITTEN = "overlapping windows share inputs: add each window's gradient (dx[...] += ...), do not overwrite it."


def _pool_windows(a: FloatArray, kernel: int, stride: int) -> FloatArray:
    """``(N, C, Ho, Wo, k, k)``: every pooling window of ``a: (N, C, H, W)``."""
    return np.asarray(sliding_window_view(a, (kernel, kernel), axis=(2, 3))[:, :, ::stride, ::stride])


def _route(dout: FloatArray, x: FloatArray, kernel: int, stride: int, every_max: bool = False) -> FloatArray:
    """``dx`` of max pooling: each window's gradient added to its first maximum (``every_max``: to each tied one)."""
    dx = np.zeros_like(x)
    for n, c, i, j in np.ndindex(*dout.shape):
        window = x[n, c, i * stride : i * stride + kernel, j * stride : j * stride + kernel]
        first = np.arange(window.size).reshape(window.shape) == window.argmax()
        target = window == window.max() if every_max else first
        dx[n, c, i * stride : i * stride + kernel, j * stride : j * stride + kernel] += target * dout[n, c, i, j]
    return dx


def check_maxpool2d_backward(impl: Impl) -> str:
    (maxpool2d_backward,) = impl.get("maxpool2d_backward")
    rng = np.random.default_rng(0)
    for shape, kernel, stride in (((2, 3, 6, 6), 2, 2), ((1, 2, 7, 7), 3, 2)):  # distinct values: one maximum each
        x = rng.permutation(int(np.prod(shape))).reshape(shape) / 10.0
        dout = rng.standard_normal(_pool_windows(x, kernel, stride).shape[:4])
        call = f"maxpool2d_backward(dout, x {shape}, kernel={kernel}, stride={stride})"
        got = as_array(call, maxpool2d_backward(dout, x, kernel, stride))
        if kernel > stride and got.shape == x.shape and not np.allclose(got, _route(dout, x, kernel, stride)):
            last = np.zeros_like(x)  # each window's gradient written over the one before: the last one stays
            for n, c, i, j in np.ndindex(*dout.shape):
                window = x[n, c, i * stride : i * stride + kernel, j * stride : j * stride + kernel]
                p, q = np.unravel_index(window.argmax(), window.shape)
                last[n, c, i * stride + p, j * stride + q] = dout[n, c, i, j]
            if np.allclose(got, last):
                raise CheckError(f"{call} overwrites where windows overlap", OVERWRITTEN)
        compare(call, got, _route(dout, x, kernel, stride))
    x = rng.integers(0, 3, (2, 2, 6, 6)).astype(float)  # values 0, 1, 2 in 2x2 windows: many tied maxima
    dout = rng.standard_normal((2, 2, 3, 3))
    call = "maxpool2d_backward(dout, x with tied maxima, kernel=2, stride=2)"
    got = as_array(call, maxpool2d_backward(dout, x, 2, 2))
    if got.shape == x.shape and np.allclose(got, _route(dout, x, 2, 2, every_max=True)):
        raise CheckError(f"{call} gives each tied maximum the whole gradient of its window", TIES)
    if got.shape != x.shape:
        compare(call, got, np.zeros_like(x))  # raises with the shape hint
    windows, x_windows = _pool_windows(got, 2, 2), _pool_windows(x, 2, 2)
    at_max = x_windows == x_windows.max(axis=(4, 5), keepdims=True)
    if not (np.allclose(windows.sum(axis=(4, 5)), dout) and np.allclose(windows * ~at_max, 0)):
        raise CheckError(
            f"{call}: a window's gradient does not go, whole, to its maximum",
            "each window passes its gradient dout[i, j] to one of its maxima and nothing to the other inputs.",
        )
    return "each window's gradient goes to its maximum (one of them at a tie), overlapping windows add up"
