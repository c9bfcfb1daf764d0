"""Networks written as one line, and the table of their shapes, layer by layer.

A spec is comma-separated layers::

    conv<C_out>k<K>[s<S>][p<P>][d<D>]   convolution, e.g. conv6k5p2 (6 filters 5x5, padding 2)
    pool<K>[s<S>][p<P>]                 max pooling, stride defaults to K, e.g. pool2
    avgpool<K>[s<S>][p<P>]              average pooling
    relu | tanh | sigmoid               elementwise, shape unchanged
    flatten                             (C, H, W) -> (C*H*W,)
    fc<D>                               fully connected to D units

Shapes are for one image, ``(C, H, W)``, batch axis left out. Pure logic: no printing.
"""

import re
from dataclasses import dataclass

from backproplab.cnn.shapes import conv2d_out

LENET_SPEC = "conv6k5p2,relu,pool2,conv16k5p2,relu,pool2,flatten,fc120,relu,fc84,relu,fc{num_classes}"
_LAYER = re.compile(r"(conv|pool|avgpool|fc)(\d+)((?:[kspd]\d+)*)$|(relu|tanh|sigmoid|flatten)$")


@dataclass(frozen=True)
class Layer:
    """One parsed layer: ``kind`` and its numbers (``size`` is C_out, pool kernel or fc units)."""

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


def parse_spec(spec: str) -> list[Layer]:
    """Parse a spec string (see the module docstring); ``ValueError`` names the bad layer."""
    layers = []
    for token in (t.strip() for t in spec.split(",")):
        m = _LAYER.match(token)
        if not m:
            raise ValueError(
                f"cannot read layer {token!r} in {spec!r}; "
                "expected e.g. conv6k5p2, pool2, avgpool2, relu, flatten, fc10"
            )
        if m.group(4):
            layers.append(Layer(m.group(4)))
            continue
        kind, size = m.group(1), int(m.group(2))
        opts = {key: int(value) for key, value in re.findall(r"([kspd])(\d+)", m.group(3))}
        if kind == "conv":
            if "k" not in opts:
                raise ValueError(f"conv layer {token!r} needs a kernel size, e.g. conv{size}k5")
            layers.append(Layer(kind, size, opts["k"], opts.get("s", 1), opts.get("p", 0), opts.get("d", 1)))
        elif kind in ("pool", "avgpool"):
            layers.append(Layer(kind, size, size, opts.get("s", size), opts.get("p", 0)))
        else:
            layers.append(Layer(kind, size))
        if size < 1:
            raise ValueError(f"layer {token!r}: sizes must be >= 1")
    return layers


def _spatial(layer: Layer, c: int, h: int, w: int) -> tuple[tuple[int, int], str]:
    k, s, p, d = layer.kernel, layer.stride, layer.padding, layer.dilation
    h_out, w_out = conv2d_out(h, w, k, k, s, p, d)
    field = f"{d}*({k}-1)+1" if d > 1 else f"{k}"
    return (h_out, w_out), f"({h} + 2*{p} - {field}) // {s} + 1 = {h_out}" + (f", width {w_out}" if w != h else "")


def shape_table(layers: list[Layer], input_shape: tuple[int, int, int]) -> list[Row]:
    """The output shape of every layer for one ``(C, H, W)`` input, with names ``conv1``, ``pool1``, ..."""
    counts: dict[str, int] = {}
    shape: tuple[int, ...] = input_shape
    rows = [Row("input", "", shape, 0, "")]
    for layer in layers:
        counts[layer.kind] = counts.get(layer.kind, 0) + 1
        name = f"{layer.kind}{counts[layer.kind]}" if layer.kind != "flatten" else "flatten"
        params, formula = 0, ""
        if layer.kind in ("conv", "pool", "avgpool"):
            if len(shape) != 3:
                raise ValueError(f"{name} needs a (C, H, W) input, got {shape}; put it before flatten")
            c, h, w = shape
            try:
                (h_out, w_out), formula = _spatial(layer, c, h, w)
            except ValueError as e:
                raise ValueError(f"{name} on a {c}x{h}x{w} input: {e}") from e
            if layer.kind == "conv":
                params = layer.size * (c * layer.kernel**2 + 1)
                shape = (layer.size, h_out, w_out)
                description = f"{layer.size} filters {layer.kernel}x{layer.kernel}, stride {layer.stride}, "
                description += f"padding {layer.padding}" + (
                    f", dilation {layer.dilation}" if layer.dilation > 1 else ""
                )
            else:
                shape = (c, h_out, w_out)
                description = f"{'max' if layer.kind == 'pool' else 'average'} {layer.kernel}x{layer.kernel}, "
                description += f"stride {layer.stride}" + (f", padding {layer.padding}" if layer.padding else "")
        elif layer.kind == "flatten":
            size = 1
            for dim in shape:
                size *= dim
            formula = " * ".join(map(str, shape)) + f" = {size}"
            shape, description = (size,), "to a vector"
        elif layer.kind == "fc":
            if len(shape) != 1:
                raise ValueError(f"{name} needs a flat input, got {shape}; put flatten before it")
            params = shape[0] * layer.size + layer.size
            shape, description = (layer.size,), f"{shape[0]} -> {layer.size} units"
        else:
            description = "elementwise"
        rows.append(Row(name, description, shape, params, formula))
    return rows


def param_shapes(layers: list[Layer], input_shape: tuple[int, int, int]) -> dict[str, tuple[int, ...]]:
    """Parameter shapes, PyTorch names and layouts: ``conv1.weight (C_out, C_in, K, K)``, ``fc1.weight (out, in)``."""
    rows = shape_table(layers, input_shape)
    shapes: dict[str, tuple[int, ...]] = {}
    for layer, before, row in zip(layers, rows[:-1], rows[1:], strict=True):
        if layer.kind == "conv":
            shapes[f"{row.name}.weight"] = (layer.size, before.shape[0], layer.kernel, layer.kernel)
        elif layer.kind == "fc":
            shapes[f"{row.name}.weight"] = (layer.size, before.shape[0])
        else:
            continue
        shapes[f"{row.name}.bias"] = (layer.size,)
    return shapes


def parse_shape(text: str) -> tuple[int, ...]:
    """``"6x28x28"``, ``"6,28,28"`` or ``"(6, 28, 28)"`` -> ``(6, 28, 28)``; ``ValueError`` otherwise."""
    parts = [p for p in re.split(r"[x,\s()]+", text.strip().lower()) if p]
    if not parts or not all(p.isdigit() for p in parts):
        raise ValueError(f"cannot read a shape from {text!r}; write it like 6x28x28")
    return tuple(int(p) for p in parts)
