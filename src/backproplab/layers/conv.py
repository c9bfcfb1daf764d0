"""Convolution, pooling and flattening as layers, over the functions of :mod:`backproplab.cnn`.

Shapes: ``x: (N, C, H, W)`` in, ``(N, C_out, H_out, W_out)`` out (:func:`~backproplab.cnn.conv2d_out`
gives ``H_out, W_out``); :class:`Flatten` and :class:`GlobalAvgPool2d` end in ``(N, D)``. Conv weights
are PyTorch's ``weight: (C_out, C_in, KH, KW)``, ``bias: (C_out,)``, so a ``torch.nn.Conv2d`` state
moves in and out without transposes. Inside a network the layers skip the functions' NaN/inf scans
(``check=False``): a NaN flows on to the loss, whose guard reports a diverging run.
"""

import numpy as np

from backproplab._typing import FloatArray
from backproplab.cnn.conv import conv2d_backward, conv2d_backward_params, conv2d_forward
from backproplab.cnn.pool import avgpool2d_backward, avgpool2d_forward, maxpool2d_backward, maxpool2d_forward
from backproplab.cnn.shapes import Pair, pair
from backproplab.layers.base import Init, Layer, init_bias, init_weight


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
        if c_in < 1 or c_out < 1:
            raise ValueError(f"Conv2d needs c_in >= 1 and c_out >= 1, got c_in={c_in}, c_out={c_out}")
        kh, kw = pair(kernel, "kernel", 1)
        self.stride, self.padding, self.dilation = stride, padding, dilation
        rng = rng if rng is not None else np.random.default_rng()
        self.params = {
            "weight": init_weight((c_out, c_in, kh, kw), c_in * kh * kw, init, rng, dtype),
            "bias": init_bias(c_out, c_in * kh * kw, init, rng, dtype),
        }
        self.grads = {name: np.zeros_like(p) for name, p in self.params.items()}
        self._x: FloatArray | None = None

    def forward(self, x: FloatArray) -> FloatArray:
        """``x: (N, C_in, H, W)`` -> ``(N, C_out, H_out, W_out)``."""
        self._x = x
        p = self.params
        return conv2d_forward(x, p["weight"], p["bias"], self.stride, self.padding, self.dilation, check=False)

    def backward_params(self, dy: FloatArray) -> None:
        """Fill ``grads`` from ``dy: (N, C_out, H_out, W_out)`` without computing ``dx``."""
        x = self._cached(self._x)
        dw, db = conv2d_backward_params(
            dy, x, self.params["weight"], self.stride, self.padding, self.dilation, check=False
        )
        self.grads["weight"][...] = dw
        self.grads["bias"][...] = db

    def backward(self, dy: FloatArray) -> FloatArray:
        """``dy: (N, C_out, H_out, W_out)`` -> ``dx: (N, C_in, H, W)``; fills ``grads``."""
        x = self._cached(self._x)
        dx, dw, db = conv2d_backward(
            dy, x, self.params["weight"], self.stride, self.padding, self.dilation, check=False
        )
        self.grads["weight"][...] = dw
        self.grads["bias"][...] = db
        return dx


class _Pool(Layer):
    """Shared by the pooling layers: kernel, stride (default: the kernel) and padding, no parameters."""

    def __init__(self, kernel: Pair, stride: Pair | None = None, padding: Pair = 0) -> None:
        super().__init__()
        self.kernel, self.stride, self.padding = kernel, stride, padding
        self._x: FloatArray | None = None


class MaxPool2d(_Pool):
    """Max over each window; backward routes each gradient to the window's (first) maximum, as PyTorch."""

    def forward(self, x: FloatArray) -> FloatArray:
        self._x = x
        return maxpool2d_forward(x, self.kernel, self.stride, self.padding, check=False)

    def backward(self, dy: FloatArray) -> FloatArray:
        return maxpool2d_backward(dy, self._cached(self._x), self.kernel, self.stride, self.padding, check=False)


class AvgPool2d(_Pool):
    """Mean over each window (padding zeros count); backward spreads ``dy / (KH * KW)`` over the window."""

    def forward(self, x: FloatArray) -> FloatArray:
        self._x = x
        return avgpool2d_forward(x, self.kernel, self.stride, self.padding, check=False)

    def backward(self, dy: FloatArray) -> FloatArray:
        return avgpool2d_backward(dy, self._cached(self._x), self.kernel, self.stride, self.padding, check=False)


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
