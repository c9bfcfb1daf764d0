"""Convolution, pooling and flattening as layers, over the functions of :mod:`backproplab.cnn`.

Shapes: ``x: (N, C, H, W)`` in, ``(N, C_out, H_out, W_out)`` out (:func:`~backproplab.cnn.conv2d_out`
gives ``H_out, W_out``); :class:`Flatten` and :class:`GlobalAvgPool2d` end in ``(N, D)``. Conv weights
are PyTorch's ``weight: (C_out, C_in, KH, KW)``, ``bias: (C_out,)``, so a ``torch.nn.Conv2d`` state
moves in and out without transposes. The layers check shapes as the functions do, but not for NaN
or inf: inside a network a NaN flows on to the loss, whose guard reports a diverging run, and the
scans would cost a tenth of a training step.
"""

from collections.abc import Callable

import numpy as np

from backproplab._typing import FloatArray
from backproplab.cnn import conv, pool
from backproplab.cnn.shapes import Pair, pair
from backproplab.layers.base import Init, Layer


class Conv2d(Layer):
    """``y = conv2d(x, weight) + bias`` with a ``KH x KW`` kernel, stride, padding and dilation.

    ``init``: He (``"he"``, std ``sqrt(2 / (C_in * KH * KW))``) by default, biases at zero; see
    :func:`~backproplab.layers.base.init_weight` for the others.
    """

    def __init__(
        self,
        c_in: int,
        c_out: int,
        kernel: Pair,
        stride: Pair = 1,
        padding: Pair = 0,
        dilation: Pair = 1,
        init: Init = "he",
        rng: np.random.Generator | None = None,
        dtype: type[np.floating] = np.float32,
    ) -> None:
        super().__init__()
        kh, kw = pair(kernel, "kernel", 1)
        self.stride, self.padding, self.dilation = stride, padding, dilation
        sizes, shape = {"c_in": c_in, "c_out": c_out}, (c_out, c_in, kh, kw)
        self._init_weight_and_bias(sizes, ("weight", "bias"), shape, c_in * kh * kw, (init, rng, dtype))
        self._x: FloatArray | None = None

    def forward(self, x: FloatArray) -> FloatArray:
        """``x: (N, C_in, H, W)`` -> ``(N, C_out, H_out, W_out)``."""
        self._x = x
        p = self.params
        conv.check_conv_inputs(x, p["weight"], p["bias"], finite=False)
        return conv.forward_checked(x, p["weight"], p["bias"], self.stride, self.padding, self.dilation)

    def _grads(self, dy: FloatArray, need_dx: bool) -> FloatArray | None:
        """Fill ``grads`` from ``dy: (N, C_out, H_out, W_out)``; return ``dx`` if ``need_dx``."""
        geometry = (self.stride, self.padding, self.dilation)
        arrays = conv.check_backward_inputs(dy, self._cached(self._x), self.params["weight"], *geometry, finite=False)
        dx, dw, db = conv.backward_checked(arrays, *geometry, need_dx)
        self.grads["weight"][...] = dw
        self.grads["bias"][...] = db
        return dx

    def backward_params(self, dy: FloatArray) -> None:
        """Fill ``grads`` from ``dy: (N, C_out, H_out, W_out)`` without computing ``dx``."""
        self._grads(dy, need_dx=False)

    def backward(self, dy: FloatArray) -> FloatArray:
        """``dy: (N, C_out, H_out, W_out)`` -> ``dx: (N, C_in, H, W)``; fills ``grads``."""
        dx = self._grads(dy, need_dx=True)
        assert dx is not None  # asked for
        return dx


class _Pool(Layer):
    """Shared by the pooling layers: kernel, stride (default: the kernel) and padding, no parameters.

    A subclass names its pair of functions from :mod:`backproplab.cnn.pool` as ``pool_forward`` and
    ``pool_backward``.
    """

    pool_forward: Callable[[FloatArray, pool.Windows], FloatArray]
    pool_backward: Callable[[FloatArray, FloatArray, pool.Windows], FloatArray]

    def __init__(self, kernel: Pair, stride: Pair | None = None, padding: Pair = 0) -> None:
        super().__init__()
        self.kernel, self.stride, self.padding = kernel, stride, padding
        self._x: FloatArray | None = None

    def forward(self, x: FloatArray) -> FloatArray:
        """``x: (N, C, H, W)`` -> ``(N, C, H_out, W_out)``."""
        self._x = x
        return type(self).pool_forward(*pool.pool_windows(x, self.kernel, self.stride, self.padding, finite=False))

    def backward(self, dy: FloatArray) -> FloatArray:
        """``dy: (N, C, H_out, W_out)`` -> ``dx: (N, C, H, W)``."""
        x = self._cached(self._x)
        checked = pool.check_backward_inputs(dy, x, self.kernel, self.stride, self.padding, finite=False)
        return type(self).pool_backward(*checked)


class MaxPool2d(_Pool):
    """Max over each window; backward routes each gradient to the window's (first) maximum, as PyTorch."""

    pool_forward, pool_backward = staticmethod(pool.max_forward), staticmethod(pool.max_backward)


class AvgPool2d(_Pool):
    """Mean over each window (padding zeros count); backward spreads ``dy / (KH * KW)`` over the window."""

    pool_forward, pool_backward = staticmethod(pool.avg_forward), staticmethod(pool.avg_backward)


class GlobalAvgPool2d(Layer):
    """Mean of each feature map: ``(N, C, H, W)`` -> ``(N, C)``; backward spreads ``dy / (H * W)`` evenly."""

    def __init__(self) -> None:
        super().__init__()
        self._shape: tuple[int, ...] | None = None

    def forward(self, x: FloatArray) -> FloatArray:
        if x.ndim != 4:
            raise ValueError(f"GlobalAvgPool2d expects x of shape (N, C, H, W), got {x.shape}")
        self._shape = x.shape
        out: FloatArray = x.mean(axis=(2, 3))
        return out

    def backward(self, dy: FloatArray) -> FloatArray:
        if self._shape is None:
            raise RuntimeError("GlobalAvgPool2d.backward called before forward")
        n, c, h, w = self._shape
        if dy.shape != (n, c):
            raise ValueError(f"GlobalAvgPool2d.backward: dy must have shape {(n, c)}, got {dy.shape}")
        return np.broadcast_to((dy / (h * w))[:, :, None, None], self._shape).copy()


class Flatten(Layer):
    """``(N, C, H, W)`` -> ``(N, C*H*W)`` in C order, as ``torch.flatten(x, 1)``; backward reshapes back."""

    def __init__(self) -> None:
        super().__init__()
        self._shape: tuple[int, ...] | None = None

    def forward(self, x: FloatArray) -> FloatArray:
        if x.ndim < 2:
            raise ValueError(f"Flatten needs a batch axis and at least one more, got shape {x.shape}")
        self._shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dy: FloatArray) -> FloatArray:
        if self._shape is None:
            raise RuntimeError("Flatten.backward called before forward")
        n, d = self._shape[0], int(np.prod(self._shape[1:]))
        if dy.shape != (n, d):
            raise ValueError(f"Flatten.backward: dy must have shape {(n, d)}, got {dy.shape}")
        return dy.reshape(self._shape)
