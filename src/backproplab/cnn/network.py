"""A NumPy forward pass for any network written as a spec (see :mod:`backproplab.cnn.spec`).

Parameters come as a PyTorch-named state dict (``conv1.weight``, ``fc1.bias``, ...) in PyTorch's
layouts, so a ``torch.nn`` model with the same layer names exports to it without transposes.
"""

from collections.abc import Mapping

import numpy as np
from numpy.typing import ArrayLike

from backproplab._typing import FloatArray, IntArray
from backproplab.activations import sigmoid
from backproplab.cnn.conv import conv2d_forward
from backproplab.cnn.pool import avgpool2d_forward, flatten, maxpool2d_forward
from backproplab.cnn.spec import Layer, Row, param_shapes, parse_spec, shape_table

CHUNK = 512  # images per forward chunk: bounds the im2col buffers (about 100 MiB for LeNet at 28x28)


class SpecNet:
    """Forward pass of ``spec`` on ``(C, H, W)`` images with the weights in ``params``.

    ``params`` must hold exactly the arrays :func:`param_shapes` lists for this spec and input.
    """

    def __init__(self, spec: str, params: Mapping[str, ArrayLike], input_shape: tuple[int, int, int]) -> None:
        self.spec = spec
        self.layers: list[Layer] = parse_spec(spec)
        self.input_shape = input_shape
        self.rows: list[Row] = shape_table(self.layers, input_shape)
        expected = param_shapes(self.layers, input_shape)
        missing = [k for k in expected if k not in params]
        if missing:
            raise ValueError(f"state dict lacks {missing}; a {spec!r} network needs {list(expected)}")
        self.params: dict[str, FloatArray] = {}
        for name, shape in expected.items():
            a = np.asarray(params[name])
            if a.shape != shape or a.dtype.kind != "f":
                c, h, w = input_shape
                raise ValueError(
                    f"for {c}x{h}x{w} inputs, {name} must be a float array of shape {shape}, got {a.dtype} {a.shape}"
                )
            self.params[name] = a

    def layer_shapes(self, H: int | None = None, W: int | None = None) -> list[tuple[str, tuple[int, ...]]]:
        """``[(layer name, output shape for one image), ...]``, input first, for ``H x W`` images."""
        rows = self.rows if H is None or W is None else shape_table(self.layers, (self.input_shape[0], H, W))
        return [(row.name, row.shape) for row in rows]

    def forward(self, x: ArrayLike) -> FloatArray:
        """``x: (N, C, H, W)`` -> ``(N, outputs)``, computed :data:`CHUNK` images at a time."""
        x_arr = np.asarray(x)
        if x_arr.ndim != 4 or x_arr.shape[1:] != self.input_shape or len(x_arr) == 0:
            expected = ", ".join(map(str, self.input_shape))
            raise ValueError(f"x must have shape (N, {expected}) with N >= 1, got {x_arr.shape}")
        return np.concatenate([self._forward(x_arr[i : i + CHUNK]) for i in range(0, len(x_arr), CHUNK)])

    def activations(self, x: ArrayLike) -> list[tuple[str, FloatArray]]:
        """Every layer's output for the batch ``x``, in order: ``[("conv1", (N, 6, 28, 28)), ...]``."""
        out = []
        a = np.asarray(x).astype(self._dtype(), copy=False)
        for layer, row in zip(self.layers, self.rows[1:], strict=True):
            a = self._apply(layer, row.name, a)
            out.append((row.name, a))
        return out

    def _dtype(self) -> np.dtype[np.floating]:
        return next(iter(self.params.values())).dtype

    def _forward(self, x: FloatArray) -> FloatArray:
        a = x.astype(self._dtype(), copy=False)
        for layer, row in zip(self.layers, self.rows[1:], strict=True):
            a = self._apply(layer, row.name, a)
        return a

    def _apply(self, layer: Layer, name: str, a: FloatArray) -> FloatArray:
        p = self.params
        if layer.kind == "conv":
            return conv2d_forward(
                a, p[f"{name}.weight"], p[f"{name}.bias"], layer.stride, layer.padding, layer.dilation
            )
        if layer.kind == "pool":
            return maxpool2d_forward(a, layer.kernel, layer.stride, layer.padding)
        if layer.kind == "avgpool":
            return avgpool2d_forward(a, layer.kernel, layer.stride, layer.padding)
        if layer.kind == "fc":
            out: FloatArray = a @ p[f"{name}.weight"].T + p[f"{name}.bias"]  # nn.Linear stores (out, in)
            return out
        if layer.kind == "flatten":
            return flatten(a)
        if layer.kind == "relu":
            return np.maximum(a, 0)
        if layer.kind == "tanh":
            return np.tanh(a)
        return sigmoid(a)

    def predict(self, x: ArrayLike) -> IntArray:
        """Class ids ``(N,)``: the argmax of the outputs."""
        ids: IntArray = self.forward(x).argmax(axis=1)
        return ids
