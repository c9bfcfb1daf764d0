"""Networks written as one line, and the table of their shapes, layer by layer.

A spec is comma-separated layers::

    conv<C_out>k<K>[s<S>][p<P>][d<D>]   convolution, e.g. conv6k5p2 (6 filters 5x5, padding 2)
    pool<K>[s<S>][p<P>]                 max pooling, stride defaults to K, e.g. pool2
    avgpool<K>[s<S>][p<P>]              average pooling
    relu | tanh | sigmoid               elementwise, shape unchanged
    bn                                  batch normalisation, per channel of (C, H, W)
                                        or per feature of (D,); shape unchanged, 2*C parameters
    dropout<P>                          drops P% of the units in training (1 <= P <= 99), e.g.
                                        dropout25; identity at inference, shape unchanged
    gap                                 global average pooling, (C, H, W) -> (C,)
    flatten                             (C, H, W) -> (C*H*W,)
    fc<D>                               fully connected to D units

Shapes are for one image, ``(C, H, W)``, batch axis left out. Layers are named by kind and count
(``conv1``, ``bn1``, ``relu1``, ``bn2``, ...; ``flatten`` alone), as the children of the
``torch.nn.Sequential`` that :mod:`backproplab.training.models` builds. Pure logic: no printing.
"""

# Annotations stay unevaluated: backproplab.layers imports backproplab.cnn (for the conv functions),
# so while it loads this module sees it half built; the table below only reaches into it lazily.
from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from backproplab import layers
from backproplab.cnn.shapes import conv2d_out

LENET_SPEC = "conv6k5p2,relu,pool2,conv16k5p2,relu,pool2,flatten,fc120,relu,fc84,relu,fc{num_classes}"
_LAYER = re.compile(r"(conv|pool|avgpool|fc|dropout)(\d+)((?:[kspd]\d+)*)$|(relu|tanh|sigmoid|flatten|bn|gap)$")


@dataclass(frozen=True)
class LayerSpec:
    """One parsed layer: ``kind`` and its numbers (``size`` is C_out, pool kernel, fc units or dropout %)."""

    kind: str
    size: int = 0
    kernel: int = 0
    stride: int = 1
    padding: int = 0
    dilation: int = 1


@dataclass(frozen=True)
class Row:
    """One line of the shape table: the layer's name, what it does, its output shape and parameter count."""

    name: str
    description: str
    shape: tuple[int, ...]
    params: int
    formula: str


def parse_spec(spec: str) -> list[LayerSpec]:
    """Parse a spec string (see the module docstring); ``ValueError`` names the bad layer."""
    layers = []
    for token in (t.strip() for t in spec.split(",")):
        m = _LAYER.match(token)
        if not m:
            raise ValueError(
                f"cannot read layer {token!r} in {spec!r}; "
                "expected e.g. conv6k5p2, pool2, avgpool2, relu, bn, dropout25, gap, flatten, fc10"
            )
        if m.group(4):
            layers.append(LayerSpec(m.group(4)))
            continue
        kind, size = m.group(1), int(m.group(2))
        opts = {key: int(value) for key, value in re.findall(r"([kspd])(\d+)", m.group(3))}
        if kind == "conv":
            if "k" not in opts:
                raise ValueError(f"conv layer {token!r} needs a kernel size, e.g. conv{size}k5")
            layers.append(LayerSpec(kind, size, opts["k"], opts.get("s", 1), opts.get("p", 0), opts.get("d", 1)))
        elif kind in ("pool", "avgpool"):
            layers.append(LayerSpec(kind, size, size, opts.get("s", size), opts.get("p", 0)))
        elif kind == "dropout" and (opts or not 1 <= size <= 99):
            raise ValueError(f"dropout layer {token!r}: write the percentage dropped, 1 to 99, e.g. dropout25")
        else:
            layers.append(LayerSpec(kind, size))
        if size < 1:
            raise ValueError(f"layer {token!r}: sizes must be >= 1")
    return layers


Shape = tuple[int, ...]
TorchModule = tuple[str, tuple[float, ...], dict[str, int]]
"""A ``torch.nn`` module as plain data: class name, positional and keyword arguments (the core imports no torch)."""


def _spatial(layer: LayerSpec, shape: Shape) -> tuple[Shape, str]:
    c, h, w = shape
    k, s, p, d = layer.kernel, layer.stride, layer.padding, layer.dilation
    h_out, w_out = conv2d_out(h, w, k, k, s, p, d)
    field = f"{d}*({k}-1)+1" if d > 1 else f"{k}"
    formula = f"({h} + 2*{p} - {field}) // {s} + 1 = {h_out}" + (f", width {w_out}" if w != h else "")
    return (layer.size if layer.kind == "conv" else c, h_out, w_out), formula


def _flat(layer: LayerSpec, shape: Shape) -> tuple[Shape, str]:
    if layer.kind == "gap":
        return shape[:1], f"mean of each {shape[1]}x{shape[2]} map: {shape[0]}"
    size = math.prod(shape)
    return (size,), " * ".join(map(str, shape)) + f" = {size}"


def _fc(layer: LayerSpec, shape: Shape) -> tuple[Shape, str]:
    return (layer.size,), ""


def _same(layer: LayerSpec, shape: Shape) -> tuple[Shape, str]:
    return shape, f"2*{shape[0]} learnable; running mean, var: buffers" if layer.kind == "bn" else ""


def _conv_text(layer: LayerSpec, shape: Shape) -> str:
    text = f"{layer.size} filters {layer.kernel}x{layer.kernel}, stride {layer.stride}, padding {layer.padding}"
    return text + (f", dilation {layer.dilation}" if layer.dilation > 1 else "")


def _pool_text(layer: LayerSpec, shape: Shape) -> str:
    text = f"{'max' if layer.kind == 'pool' else 'average'} {layer.kernel}x{layer.kernel}, stride {layer.stride}"
    return text + (f", padding {layer.padding}" if layer.padding else "")


def _bn_text(layer: LayerSpec, shape: Shape) -> str:
    return f"batch norm over {shape[0]} {'channels' if len(shape) == 3 else 'features'}"


@dataclass(frozen=True)
class Kind:
    """Everything about one kind of layer: its shapes, its NumPy layer and its PyTorch twin.

    ``out``: output shape for one input shape and the arithmetic behind it; ``text``: what it does;
    ``arrays``: parameter and buffer shapes under PyTorch's names and layouts; ``numpy``: the layer,
    given the input shape, a generator for its initial weights and a dtype; ``torch``: the
    ``torch.nn`` modules of the twin, as data. ``spatial``: needs a ``(C, H, W)`` input.
    """

    out: Callable[[LayerSpec, Shape], tuple[Shape, str]]
    text: Callable[[LayerSpec, Shape], str]
    arrays: Callable[[LayerSpec, Shape], dict[str, Shape]]
    numpy: Callable[[LayerSpec, Shape, np.random.Generator, type[np.floating]], layers.Layer]
    torch: Callable[[LayerSpec, Shape], list[TorchModule]]
    spatial: bool = False


def _no_arrays(layer: LayerSpec, shape: Shape) -> dict[str, Shape]:
    return {}


def _elementwise(name: str) -> Kind:
    """``ReLU``, ``Tanh``, ``Sigmoid``: the same class name in :mod:`backproplab.layers` and ``torch.nn``."""
    return Kind(
        _same, lambda *_: "elementwise", _no_arrays, lambda *_: getattr(layers, name)(), lambda *_: [(name, (), {})]
    )


def _pool_kind(name: str) -> Kind:
    """``MaxPool2d``, ``AvgPool2d``: the same class name in :mod:`backproplab.layers` and ``torch.nn``."""
    return Kind(
        _spatial,
        _pool_text,
        _no_arrays,
        lambda t, *_: getattr(layers, name)(t.kernel, t.stride, t.padding),
        lambda t, s: [(name, (t.kernel,), {"stride": t.stride, "padding": t.padding})],
        spatial=True,
    )


KINDS: dict[str, Kind] = {
    "conv": Kind(
        _spatial,
        _conv_text,
        lambda t, s: {"weight": (t.size, s[0], t.kernel, t.kernel), "bias": (t.size,)},
        lambda t, s, rng, dtype: layers.Conv2d(
            s[0], t.size, t.kernel, t.stride, t.padding, t.dilation, "pytorch", rng, dtype
        ),
        lambda t, s: [
            ("Conv2d", (s[0], t.size, t.kernel), {"stride": t.stride, "padding": t.padding, "dilation": t.dilation})
        ],
        spatial=True,
    ),
    "pool": _pool_kind("MaxPool2d"),
    "avgpool": _pool_kind("AvgPool2d"),  # count_include_pad=True in both, PyTorch's default
    "bn": Kind(  # per channel of (C, H, W) maps, per feature of (D,) vectors
        _same,
        _bn_text,
        lambda t, s: {k: s[:1] for k in ("weight", "bias", "running_mean", "running_var")},
        lambda t, s, rng, dtype: (layers.BatchNorm2d if len(s) == 3 else layers.BatchNorm1d)(s[0], dtype=dtype),
        lambda t, s: [("BatchNorm2d" if len(s) == 3 else "BatchNorm1d", (s[0],), {})],
    ),
    "dropout": Kind(
        _same,
        lambda t, _: f"drops {t.size}% in training, else identity",
        _no_arrays,
        lambda t, s, rng, dtype: layers.Dropout(t.size / 100, rng=rng),
        lambda t, s: [("Dropout", (t.size / 100,), {})],
    ),
    "gap": Kind(  # (N, C, H, W) -> (N, C, 1, 1) -> (N, C) in PyTorch
        _flat,
        lambda *_: "global average pooling",
        _no_arrays,
        lambda *_: layers.GlobalAvgPool2d(),
        lambda *_: [("AdaptiveAvgPool2d", (1,), {}), ("Flatten", (), {})],
        spatial=True,
    ),
    "flatten": Kind(
        _flat, lambda *_: "to a vector", _no_arrays, lambda *_: layers.Flatten(), lambda *_: [("Flatten", (), {})]
    ),
    "fc": Kind(  # nn.Linear stores weight (out, in); Dense's W is its transpose, (in, out)
        _fc,
        lambda t, s: f"{s[0]} -> {t.size} units",
        lambda t, s: {"weight": (t.size, s[0]), "bias": (t.size,)},
        lambda t, s, rng, dtype: layers.Dense(s[0], t.size, "pytorch", rng, dtype),
        lambda t, s: [("Linear", (s[0], t.size), {})],
    ),
    "relu": _elementwise("ReLU"),
    "tanh": _elementwise("Tanh"),
    "sigmoid": _elementwise("Sigmoid"),
}
"""The one table of layer kinds: the shape table, the NumPy network and its PyTorch twin all read it."""
BUFFERS = ("running_mean", "running_var")  # arrays that are state, not learned (not counted as parameters)


def shape_table(specs: list[LayerSpec], input_shape: tuple[int, int, int]) -> list[Row]:
    """The output shape of every layer for one ``(C, H, W)`` input, with names ``conv1``, ``pool1``, ..."""
    counts: dict[str, int] = {}
    shape: Shape = input_shape
    rows = [Row("input", "", shape, 0, "")]
    for layer in specs:
        counts[layer.kind] = counts.get(layer.kind, 0) + 1
        name = f"{layer.kind}{counts[layer.kind]}" if layer.kind != "flatten" else "flatten"
        kind = KINDS[layer.kind]
        if kind.spatial and len(shape) != 3:
            raise ValueError(f"{name} needs a (C, H, W) input, got {shape}; put it before flatten")
        if layer.kind == "fc" and len(shape) != 1:
            raise ValueError(f"{name} needs a flat input, got {shape}; put flatten before it")
        try:
            out, formula = kind.out(layer, shape)
        except ValueError as e:
            raise ValueError(f"{name} on a {'x'.join(map(str, shape))} input: {e}") from e
        arrays = kind.arrays(layer, shape)
        params = sum(math.prod(s) for k, s in arrays.items() if k not in BUFFERS)
        rows.append(Row(name, kind.text(layer, shape), out, params, formula))
        shape = out
    return rows


def param_shapes(specs: list[LayerSpec], input_shape: tuple[int, int, int]) -> dict[str, Shape]:
    """Parameter and buffer shapes, PyTorch names and layouts, in ``state_dict()`` order.

    ``conv1.weight (C_out, C_in, K, K)``, ``fc1.weight (out, in)``; batch norm has ``bn1.weight``,
    ``bn1.bias`` and the buffers ``bn1.running_mean``, ``bn1.running_var``, all ``(C,)`` (PyTorch's
    ``num_batches_tracked`` counter is left out: inference does not use it).
    """
    rows = shape_table(specs, input_shape)
    return {
        f"{row.name}.{key}": shape
        for layer, before, row in zip(specs, rows[:-1], rows[1:], strict=True)
        for key, shape in KINDS[layer.kind].arrays(layer, before.shape).items()
    }


def build(
    spec: str, input_shape: tuple[int, int, int], seed: int = 0, dtype: type[np.floating] = np.float32
) -> layers.Sequential:
    """The NumPy network of ``spec`` for ``(N, *input_shape)`` inputs, initialised from ``seed``.

    Weights and biases start as PyTorch's do (``U(±1/sqrt(fan_in))``), so both engines start from the
    same distribution; batch norm starts at ``weight = 1``, ``bias = 0``.
    """
    specs = parse_spec(spec)
    rows = shape_table(specs, input_shape)
    rng = np.random.default_rng(seed)
    return layers.Sequential(
        [
            (row.name, KINDS[layer.kind].numpy(layer, before.shape, rng, dtype))
            for layer, before, row in zip(specs, rows[:-1], rows[1:], strict=True)
        ]
    )


def parse_shape(text: str) -> tuple[int, ...]:
    """``"6x28x28"``, ``"6,28,28"`` or ``"(6, 28, 28)"`` -> ``(6, 28, 28)``; ``ValueError`` otherwise."""
    parts = [p for p in re.split(r"[x,\s()]+", text.strip().lower()) if p]
    if not parts or not all(p.isdigit() for p in parts):
        raise ValueError(f"cannot read a shape from {text!r}; write it like 6x28x28")
    return tuple(int(p) for p in parts)
