"""A NumPy forward pass for any network written as a spec (see :mod:`backproplab.cnn.spec`).

Parameters come as a PyTorch-named state dict (``conv1.weight``, ``fc1.bias``, ``bn1.running_var``,
...) in PyTorch's layouts, so a ``torch.nn`` model with the same layer names exports to it without
transposes. :meth:`SpecNet.save_npz` writes the whole network (spec, input shape, class names,
arrays) to one ``.npz`` file and :meth:`SpecNet.from_npz` reads it back.
"""

import os
from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import ArrayLike

from backproplab._io import load_npz, save_npz
from backproplab._typing import FloatArray, IntArray
from backproplab.activations import sigmoid
from backproplab.cnn.conv import conv2d_forward
from backproplab.cnn.pool import avgpool2d_forward, flatten, maxpool2d_forward
from backproplab.cnn.spec import Layer, Row, param_shapes, parse_spec, shape_table

CHUNK = 512  # images per forward chunk: bounds the im2col buffers (about 100 MiB for LeNet at 28x28)
BN_EPS = 1e-5  # added to the running variance; PyTorch's default for BatchNorm1d and BatchNorm2d
FORMAT, VERSION = "backproplab.SpecNet", 1  # the meta of an exported network's .npz


def batchnorm_eval(
    x: FloatArray, weight: FloatArray, bias: FloatArray, running_mean: FloatArray, running_var: FloatArray
) -> FloatArray:
    """Batch norm in eval mode: ``(x - mean) / sqrt(var + eps) * weight + bias`` with the running statistics.

    ``x: (N, C, H, W)`` (per channel) or ``(N, D)`` (per feature); the four others ``(C,)`` or ``(D,)``.
    """
    per_channel = (-1,) + (1,) * (x.ndim - 2)  # (C, 1, 1) broadcasts over (N, C, H, W), (D,) over (N, D)
    x_hat = (x - running_mean.reshape(per_channel)) / np.sqrt(running_var.reshape(per_channel) + BN_EPS)
    out: FloatArray = x_hat * weight.reshape(per_channel) + bias.reshape(per_channel)
    return out


class SpecNet:
    """Forward pass of ``spec`` on ``(C, H, W)`` images with the weights in ``params``.

    ``params`` must hold the arrays :func:`param_shapes` lists for this spec and input; others (such
    as PyTorch's ``bn1.num_batches_tracked``) are ignored. ``classes`` optionally names the outputs.
    """

    def __init__(
        self,
        spec: str,
        params: Mapping[str, ArrayLike],
        input_shape: tuple[int, int, int],
        classes: Sequence[str] | None = None,
    ) -> None:
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
        self.classes = None if classes is None else self._checked_classes(classes)

    def _checked_classes(self, classes: Sequence[str]) -> list[str]:
        names: list[object] = list(classes) if isinstance(classes, list | tuple) else [classes]  # str: one name
        outputs = self.rows[-1].shape
        if not all(isinstance(c, str) for c in names) or outputs != (len(names),):
            raise ValueError(f"classes must be {outputs} names (strings), one per output; got {names!r}")
        return [str(c) for c in names]

    def save_npz(self, path: str | os.PathLike[str], classes: Sequence[str] | None = None) -> None:
        """Write the whole network to ``path`` (``.npz``): spec, input shape, ``classes`` (default
        :attr:`classes`) and every array, atomically and without pickle. :meth:`from_npz` reads it."""
        names = self.classes if classes is None else self._checked_classes(classes)
        meta = {
            "format": FORMAT,
            "version": VERSION,
            "spec": self.spec,
            "input_shape": list(self.input_shape),
            "classes": names,
        }
        save_npz(path, meta, self.params)

    @staticmethod
    def from_npz(path: str | os.PathLike[str]) -> "SpecNet":
        """A network written by :meth:`save_npz`; never unpickles. Errors name the path."""
        meta, arrays = load_npz(path, FORMAT)
        spec, shape = meta.get("spec"), meta.get("input_shape")
        try:
            if meta.get("version") != VERSION:
                raise ValueError(f"version {meta.get('version')!r} is not {VERSION}")
            if not isinstance(spec, str):
                raise ValueError(f"its spec must be a string, got {spec!r}")
            if not (isinstance(shape, list) and len(shape) == 3 and all(isinstance(d, int) for d in shape)):
                raise ValueError(f"its input_shape must be [C, H, W], got {shape!r}")
            return SpecNet(spec, arrays, (shape[0], shape[1], shape[2]), meta.get("classes"))
        except ValueError as e:
            raise ValueError(f"{path}: {e}") from e

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
        if layer.kind == "bn":
            weight, bias = p[f"{name}.weight"], p[f"{name}.bias"]
            return batchnorm_eval(a, weight, bias, p[f"{name}.running_mean"], p[f"{name}.running_var"])
        if layer.kind == "gap":
            out = a.mean(axis=(2, 3))  # (N, C, H, W) -> (N, C)
            return out
        if layer.kind == "dropout":
            return a  # dropout acts only in training; at inference it is the identity
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
