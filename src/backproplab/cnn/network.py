"""A NumPy forward pass for any network written as a spec (see :mod:`backproplab.cnn.spec`).

Parameters come as a PyTorch-named state dict (``conv1.weight``, ``fc1.bias``, ``bn1.running_var``,
...) in PyTorch's layouts, so a ``torch.nn`` model with the same layer names exports to it without
transposes. :meth:`SpecNet.save_npz` writes the whole network (spec, input shape, class names,
arrays) to one ``.npz`` file and :meth:`SpecNet.from_npz` reads it back.
"""

import math
import os
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
from numpy.typing import ArrayLike

from backproplab._io import load_npz, save_npz
from backproplab._typing import FloatArray, IntArray
from backproplab._validation import MetaRules, check_meta, check_weights
from backproplab.cnn.spec import LayerSpec, Row, build, param_shapes, parse_spec, shape_table

CHUNK = 512  # images per forward chunk: bounds the im2col buffers (about 100 MiB for LeNet at 28x28)
FORMAT, VERSION = "backproplab.SpecNet", 1  # the meta of an exported network's .npz
MAX_SIDE = 4096  # bound on each of a saved file's input_shape C, H, W
MAX_ELEMENTS = 10**9  # bound on the weights a saved file's spec and input_shape imply, checked before building


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
        self.layers: list[LayerSpec] = parse_spec(spec)
        self.input_shape = input_shape
        self.rows: list[Row] = shape_table(self.layers, input_shape)
        expected = param_shapes(self.layers, input_shape)
        missing = [k for k in expected if k not in params]
        if missing:
            raise ValueError(f"state dict lacks {missing}; a {spec!r} network needs {list(expected)}")
        arrays = {name: np.asarray(params[name]) for name in expected}
        for name, shape in expected.items():
            a = arrays[name]
            if a.shape != shape or a.dtype.kind != "f":
                c, h, w = input_shape
                raise ValueError(
                    f"for {c}x{h}x{w} inputs, {name} must be a float array of shape {shape}, got {a.dtype} {a.shape}"
                )
        dtype = np.result_type(*arrays.values()).type if arrays else np.float32
        self.net = build(spec, input_shape, dtype=dtype)
        self.net.load_state(arrays)
        self.net.train(False)  # inference: batch norm uses its running statistics, dropout is off
        self.params: dict[str, FloatArray] = self.net.state()
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
        check_arrays(f"cannot save {path}", self.params, self.params)
        save_npz(path, meta, self.params)

    @staticmethod
    def from_npz(path: str | os.PathLike[str]) -> "SpecNet":
        """A network written by :meth:`save_npz`; never unpickles. Errors name the path.

        Metadata, the parameter count it implies and the weights (finite, within the network's
        dtype) are checked before the network is built.
        """
        meta, arrays = load_npz(path, FORMAT)
        check_meta(str(path), meta, _META_RULES)
        spec, (c, h, w) = meta["spec"], meta["input_shape"]
        try:
            shapes = param_shapes(parse_spec(spec), (c, h, w))
        except ValueError as e:
            raise ValueError(f"{path}: spec {spec!r} on input_shape {[c, h, w]}: {e}") from e
        count = sum(math.prod(shape) for shape in shapes.values())
        if count > MAX_ELEMENTS:
            raise ValueError(
                f"{path}: spec {spec!r} on input_shape {[c, h, w]} needs {count:,} weights, at most {MAX_ELEMENTS:,}"
            )
        check_arrays(str(path), arrays, shapes)
        try:
            return SpecNet(spec, arrays, (c, h, w), meta.get("classes"))
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
        for name, layer in self.net:
            a = layer.forward(a)
            out.append((name, a))
        return out

    def _dtype(self) -> np.dtype[np.floating]:
        return next(iter(self.params.values())).dtype

    def _forward(self, x: FloatArray) -> FloatArray:
        return self.net.forward(x.astype(self._dtype(), copy=False))

    def predict(self, x: ArrayLike) -> IntArray:
        """Class ids ``(N,)``: the argmax of the outputs."""
        ids: IntArray = self.forward(x).argmax(axis=1)
        return ids


def check_arrays(where: str, arrays: Mapping[str, np.ndarray], names: Iterable[str]) -> None:
    """The float arrays among ``arrays[names]`` must be finite and fit the dtype a :class:`SpecNet`
    built from them computes in (their common type); ``ValueError`` names ``where`` and the key.
    Missing keys and other dtypes are left to :class:`SpecNet`, which names them."""
    floats = {k: arrays[k] for k in names if k in arrays and arrays[k].dtype.kind == "f"}
    dtype = np.result_type(*floats.values()) if floats else np.float32
    for key, a in floats.items():
        check_weights(f"{where}: {key}", a, dtype)


def _sane_shape(value: object) -> bool:
    return isinstance(value, list) and len(value) == 3 and all(type(d) is int and 1 <= d <= MAX_SIDE for d in value)


_META_RULES: MetaRules = {
    "version": (lambda v: type(v) is int and v == VERSION, str(VERSION)),
    "spec": (lambda v: isinstance(v, str), "a spec string such as 'flatten,fc10'"),
    "input_shape": (_sane_shape, f"[C, H, W]: 3 ints, each 1 to {MAX_SIDE}"),
}
