"""The network drawn as TensorFlow Playground draws it: a column of small maps per layer, joined by its weights.

Column 0 holds the inputs (each feature's value over the plane), then one column per hidden layer
(each unit's activation over the plane), then the output. Every weight ``W[i, j]`` of ``W: (d_in,
d_out)`` is a line from unit ``i`` of one column to unit ``j`` of the next: blue when positive, orange
when negative, thicker and deeper in colour the larger ``|w|`` is. A column shows at most
``max_units`` units (the first ones) and says how many more it has; lines join only drawn units.
Drawn with NumPy and Pillow in a few milliseconds, so the picture can follow training.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypedDict

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from backproplab._typing import FloatArray
from backproplab.activations import sigmoid, softmax
from backproplab.neural_network import MLP
from backproplab.playground.boundary import Extent, UInt8Array, network_on_grid, value_colours

TILE = 40  # side of one unit's map, in pixels
PITCH = TILE + 8  # vertical distance between the tops of two tiles of a column
GAP = 72  # horizontal room between two columns, where the weights run
MARGIN = 8
NAMES = 56  # room for the input names (left) and the output names (right)
TITLE = 20  # room for the column titles (top) and the "+56 more" notes (bottom)
TEXT = (60, 60, 60)
FRAME = (190, 190, 190)
_FONT = ImageFont.load_default()


@dataclass(frozen=True)
class NetworkMaps:
    """Every unit of a network over a ``res x res`` grid of the plane (row 0 the bottom of the picture).

    ``inputs: (k, res, res)``: each input feature; ``hidden``: one ``(units, res, res)`` per hidden
    layer, its activations; ``output: (d_out, res, res)``: each output unit on ``[-1, 1]`` (``2p - 1``
    for a probability ``p``, the value itself for a linear output).
    """

    inputs: FloatArray
    hidden: list[FloatArray]
    output: FloatArray


WeightRow = TypedDict("WeightRow", {"from": str, "to": str, "weight": float})
"""One weight for a table: the unit it leaves, the unit it enters, its value."""


def input_names(net: MLP) -> list[str]:
    """The names of what ``net``'s first Dense layer reads: its ``features`` (a first FeatureMap's), else ``x1, x2``."""
    return ["x1", "x2"] if net.features is None else list(net.features)


def network_weights(net: MLP) -> list[FloatArray]:
    """``net``'s weight matrices ``W: (d_in, d_out)``, input layer first (the arrays, not copies)."""
    return [dense.params["W"] for dense in net.dense_layers]


def network_maps(net: MLP, extent: Extent, res: int = 24) -> NetworkMaps:
    """Every unit of ``net`` over the ``res x res`` grid covering ``extent``, at inference (dropout off).

    The output is mapped onto ``[-1, 1]``: ``2p - 1`` of each class probability (softmax) or of the
    sigmoid's probability, the value itself for a linear output; ``output: (d_out, res, res)``.
    """
    inputs, hidden, logits = network_on_grid(net, extent, res)  # logits: (d_out, res, res)
    if net.output == "softmax":
        output = 2.0 * softmax(logits, axis=0) - 1.0
    elif net.output == "sigmoid":
        output = 2.0 * sigmoid(logits) - 1.0
    else:
        output = logits
    return NetworkMaps(inputs, hidden, output)


def unit_names(input_names: Sequence[str], weights: Sequence[FloatArray]) -> list[list[str]]:
    """The names of every column's units: the inputs, ``h1.1 .. h1.n`` (layer 1, units from 1) for
    each hidden layer, and ``out`` (one output unit) or ``class 0 .. class K-1``. ``weights`` are
    ``W: (d_in, d_out)``, input layer first; ``ValueError`` when there are none or the names do not fit ``W1``."""
    if not weights:
        raise ValueError("expected at least one weight matrix W1: (d_in, d_out), got none")
    if len(input_names) != weights[0].shape[0]:
        raise ValueError(
            f"expected {weights[0].shape[0]} input names for W1 {weights[0].shape}, got {list(input_names)}"
        )
    columns = [list(input_names)]
    for layer, W in enumerate(weights[:-1], 1):
        columns.append([f"h{layer}.{unit}" for unit in range(1, W.shape[1] + 1)])
    d_out = weights[-1].shape[1]
    columns.append(["out"] if d_out == 1 else [f"class {k}" for k in range(d_out)])
    return columns


def weight_table(weights: Sequence[FloatArray], layer: int, input_names: Sequence[str]) -> list[WeightRow]:
    """The weights of ``weights[layer - 1]`` (``W{layer}: (d_in, d_out)``, ``layer`` from 1) as rows
    ``{"from": "x1^2", "to": "h1.3", "weight": 0.42}``, one per weight, ``from`` unit by unit."""
    if not 1 <= layer <= len(weights):
        raise ValueError(f"layer must lie in [1, {len(weights)}], got {layer}")
    names = unit_names(input_names, weights)
    W = weights[layer - 1]
    return [
        {"from": a, "to": b, "weight": float(W[i, j])}
        for i, a in enumerate(names[layer - 1])
        for j, b in enumerate(names[layer])
    ]


def _check(maps: NetworkMaps, weights: Sequence[FloatArray], input_names: Sequence[str], max_units: int) -> None:
    """``ValueError`` naming the first size that does not match: the maps, the weights and the names."""
    if max_units < 1:
        raise ValueError(f"max_units must be >= 1, got {max_units}")
    units = [maps.inputs.shape[0], *(h.shape[0] for h in maps.hidden), maps.output.shape[0]]
    if len(weights) != len(units) - 1:
        raise ValueError(
            f"expected {len(units) - 1} weight matrices for {len(maps.hidden)} hidden layers, got {len(weights)}"
        )
    for i, W in enumerate(weights):
        if W.shape != (units[i], units[i + 1]):
            raise ValueError(f"W{i + 1} must have shape {(units[i], units[i + 1])} to join the maps, got {W.shape}")
    if len(input_names) != units[0]:
        raise ValueError(f"expected {units[0]} input names, got {len(input_names)}: {list(input_names)}")


def _tile(values: FloatArray, scale: float) -> Image.Image:
    """One unit's map ``(res, res)`` (row 0 at the bottom) as a ``TILE x TILE`` picture."""
    rgb = value_colours(values[::-1], scale)  # row 0 at the top of a picture
    return Image.fromarray(rgb).resize((TILE, TILE), Image.Resampling.BILINEAR)


def _own_scale(values: FloatArray) -> float:
    """The symmetric scale of one map: its largest finite ``|value|`` (1 when that is 0)."""
    finite = np.abs(values[np.isfinite(values)])
    top = float(finite.max()) if finite.size else 0.0
    return top if top > 0 else 1.0


def _layout(shown: list[int]) -> tuple[int, int, list[list[tuple[int, int]]]]:
    """``(width, height, corners)`` of a picture with ``shown[c]`` tiles in column ``c``, the columns
    centred vertically; ``corners[c][u]`` is the top-left pixel ``(x, y)`` of unit ``u``'s tile."""
    rows = max(shown)
    width = 2 * (MARGIN + NAMES) + len(shown) * TILE + (len(shown) - 1) * GAP
    height = TITLE + rows * PITCH - (PITCH - TILE) + TITLE + MARGIN
    corners = [
        [(MARGIN + NAMES + c * (TILE + GAP), TITLE + (rows - n) * PITCH // 2 + u * PITCH) for u in range(n)]
        for c, n in enumerate(shown)
    ]
    return width, height, corners


def _draw_weights(draw: ImageDraw.ImageDraw, weights: list[FloatArray], corners: list[list[tuple[int, int]]]) -> None:
    """A line per weight of the drawn units (``weights[c]: (shown[c], shown[c + 1])``), from the right
    edge of its tile to the left edge of the next, weakest first so the strong ones lie on top."""
    magnitudes = [np.abs(np.where(np.isfinite(W), W, 0.0)) for W in weights]
    largest = max(float(m.max()) for m in magnitudes) or 1.0
    lines = []  # (strength 0 .. 1, sign, start, end)
    for c, (W, m) in enumerate(zip(weights, magnitudes, strict=True)):
        for i, (x0, y0) in enumerate(corners[c]):
            for j, (x1, y1) in enumerate(corners[c + 1]):
                start, end = (x0 + TILE, y0 + TILE // 2), (x1, y1 + TILE // 2)
                lines.append((float(m[i, j]) / largest, float(np.sign(W[i, j])), start, end))
    lines.sort(key=lambda line: line[0])
    signed = np.array([sign * (0.3 + 0.7 * strength) for strength, sign, _, _ in lines])  # faint, never invisible
    for (strength, _, start, end), colour in zip(lines, value_colours(signed).tolist(), strict=True):
        draw.line([start, end], fill=tuple(colour), width=1 + round(4 * strength))


def draw_network(
    maps: NetworkMaps, weights: Sequence[FloatArray], input_names: Sequence[str], max_units: int = 8
) -> UInt8Array:
    """The picture ``(H, W, 3)`` uint8 of the network: ``maps`` (:func:`network_maps`) as columns of
    tiles joined by ``weights`` (``W: (d_in, d_out)``, input layer first), ``input_names`` beside
    the inputs. Each input and hidden tile is coloured on its own symmetric scale (orange ``-max|v|``,
    white 0, blue ``+max|v|``), the output tiles on ``[-1, 1]``. A line's width is ``1 + round(4 |w| /
    max|w|)`` over the drawn lines; at most ``max_units`` units a column, the rest counted below it."""
    _check(maps, weights, input_names, max_units)
    columns = [maps.inputs, *maps.hidden, maps.output]  # each (units, res, res)
    names = unit_names(input_names, weights)
    shown = [min(column.shape[0], max_units) for column in columns]
    width, height, corners = _layout(shown)
    img = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    _draw_weights(draw, [W[: shown[c], : shown[c + 1]] for c, W in enumerate(weights)], corners)
    last = len(columns) - 1
    for c, column in enumerate(columns):
        for u, (x, y) in enumerate(corners[c]):
            img.paste(_tile(column[u], 1.0 if c == last else _own_scale(column[u])), (x, y))
            draw.rectangle([x - 1, y - 1, x + TILE, y + TILE], outline=FRAME)
            if c == 0:  # the input names right-aligned left of the tiles, the output names right of them
                name_x = x - 4 - draw.textlength(names[c][u], font=_FONT)
                draw.text((name_x, y + TILE // 2 - 6), names[c][u], fill=TEXT, font=_FONT)
            elif c == last:
                draw.text((x + TILE + 4, y + TILE // 2 - 6), names[c][u], fill=TEXT, font=_FONT)
        title = "input" if c == 0 else "output" if c == last else f"hidden {c} ({column.shape[0]})"
        draw.text((corners[c][0][0], 4), title, fill=TEXT, font=_FONT)
        if column.shape[0] > shown[c]:
            x, y = corners[c][-1]
            draw.text((x, y + TILE + 5), f"+{column.shape[0] - shown[c]} more", fill=TEXT, font=_FONT)
    out: UInt8Array = np.array(img)
    return out


def network_picture(net: MLP, extent: Extent, res: int = 24, max_units: int = 8) -> UInt8Array:
    """:func:`draw_network` of ``net`` over ``extent``: its :func:`network_maps`, weights and input names."""
    return draw_network(network_maps(net, extent, res), network_weights(net), input_names(net), max_units)
