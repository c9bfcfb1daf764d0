"""Networks written as one line, and the table of their shapes, layer by layer.

A spec is comma-separated layers::

    conv<C_out>k<K>[s<S>][p<P>][d<D>]   convolution, e.g. conv6k5p2 (6 filters 5x5, padding 2)
    pool<K>[s<S>][p<P>]                 max pooling, stride defaults to K, e.g. pool2
    avgpool<K>[s<S>][p<P>]              average pooling
    relu | tanh | sigmoid               elementwise, shape unchanged
    bn                                  batch normalisation (eval mode), per channel of (C, H, W)
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

import re
from dataclasses import dataclass

from backproplab.cnn.shapes import conv2d_out

LENET_SPEC = "conv6k5p2,relu,pool2,conv16k5p2,relu,pool2,flatten,fc120,relu,fc84,relu,fc{num_classes}"
_LAYER = re.compile(r"(conv|pool|avgpool|fc|dropout)(\d+)((?:[kspd]\d+)*)$|(relu|tanh|sigmoid|flatten|bn|gap)$")


@dataclass(frozen=True)
class Layer:
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


def parse_spec(spec: str) -> list[Layer]:
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
        elif kind == "dropout" and (opts or not 1 <= size <= 99):
            raise ValueError(f"dropout layer {token!r}: write the percentage dropped, 1 to 99, e.g. dropout25")
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
        if layer.kind in ("conv", "pool", "avgpool", "gap") and len(shape) != 3:
            raise ValueError(f"{name} needs a (C, H, W) input, got {shape}; put it before flatten")
        if layer.kind in ("conv", "pool", "avgpool"):
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
        elif layer.kind == "gap":
            c, h, w = shape
            formula = f"mean of each {h}x{w} map: {c}"
            shape, description = (c,), "global average pooling"
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
        elif layer.kind == "bn":  # weight and bias learn; running mean and variance are buffers, not counted
            params = 2 * shape[0]
            description = f"batch norm over {shape[0]} {'channels' if len(shape) == 3 else 'features'}"
            formula = f"2*{shape[0]} learnable; running mean, var: buffers"
        elif layer.kind == "dropout":
            description = f"drops {layer.size}% in training, else identity"
        else:
            description = "elementwise"
        rows.append(Row(name, description, shape, params, formula))
    return rows


def param_shapes(layers: list[Layer], input_shape: tuple[int, int, int]) -> dict[str, tuple[int, ...]]:
    """Parameter and buffer shapes, PyTorch names and layouts, in ``state_dict()`` order.

    ``conv1.weight (C_out, C_in, K, K)``, ``fc1.weight (out, in)``; batch norm has ``bn1.weight``,
    ``bn1.bias`` and the buffers ``bn1.running_mean``, ``bn1.running_var``, all ``(C,)`` (PyTorch's
    ``num_batches_tracked`` counter is left out: inference does not use it).
    """
    rows = shape_table(layers, input_shape)
    shapes: dict[str, tuple[int, ...]] = {}
    for layer, before, row in zip(layers, rows[:-1], rows[1:], strict=True):
        c_in = before.shape[0]
        if layer.kind == "conv":
            shapes[f"{row.name}.weight"] = (layer.size, c_in, layer.kernel, layer.kernel)
            shapes[f"{row.name}.bias"] = (layer.size,)
        elif layer.kind == "fc":
            shapes[f"{row.name}.weight"] = (layer.size, c_in)
            shapes[f"{row.name}.bias"] = (layer.size,)
        elif layer.kind == "bn":
            for key in ("weight", "bias", "running_mean", "running_var"):
                shapes[f"{row.name}.{key}"] = (c_in,)
    return shapes


def parse_shape(text: str) -> tuple[int, ...]:
    """``"6x28x28"``, ``"6,28,28"`` or ``"(6, 28, 28)"`` -> ``(6, 28, 28)``; ``ValueError`` otherwise."""
    parts = [p for p in re.split(r"[x,\s()]+", text.strip().lower()) if p]
    if not parts or not all(p.isdigit() for p in parts):
        raise ValueError(f"cannot read a shape from {text!r}; write it like 6x28x28")
    return tuple(int(p) for p in parts)
