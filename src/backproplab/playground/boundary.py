"""The decision boundary and the hidden units, as arrays on a grid and as PNG pictures.

The grid is ``res x res`` points over the data's extent; the model's class probabilities there
form a heat map ``(res, res, K)``, its predicted values (regression) a map ``(res, res)`` on
TensorFlow Playground's orange-white-blue scale. The live pictures are drawn with NumPy and Pillow;
the others with matplotlib's Agg canvas on a ``Figure`` of their own (never pyplot's global state,
which threads of a server would share).
"""

import io
from collections.abc import Callable

import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from numpy.typing import NDArray
from PIL import Image

from backproplab._typing import FloatArray, IntArray
from backproplab.layers import feature_map
from backproplab.neural_network import MLP
from backproplab.playground.datasets import Data

UInt8Array = NDArray[np.uint8]
Extent = tuple[float, float, float, float]  # x1_min, x1_max, x2_min, x2_max
# class colours (matplotlib's tab10): blue, orange, green, red, purple, brown, pink, grey
COLOURS = np.array(
    [
        [0.12, 0.47, 0.71],
        [1.00, 0.50, 0.05],
        [0.17, 0.63, 0.17],
        [0.84, 0.15, 0.16],
        [0.58, 0.40, 0.74],
        [0.55, 0.34, 0.29],
        [0.89, 0.47, 0.76],
        [0.50, 0.50, 0.50],
    ]
)
# TensorFlow Playground's diverging scale for values: orange at -1, white at 0, blue at +1
NEGATIVE = np.array([0xF5, 0x93, 0x22], dtype=np.float64)
POSITIVE = np.array([0x08, 0x77, 0xBD], dtype=np.float64)


def extent_of(X: FloatArray, margin: float = 0.25) -> Extent:
    """The bounding box of ``X: (N, 2)`` widened by ``margin`` of its size on every side."""
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = margin * np.maximum(hi - lo, 1e-3)
    return float(lo[0] - pad[0]), float(hi[0] + pad[0]), float(lo[1] - pad[1]), float(hi[1] + pad[1])


def grid_points(extent: Extent, res: int = 100) -> FloatArray:
    """``res * res`` points covering ``extent`` row by row from the bottom: ``(res * res, 2)``."""
    if not 2 <= res <= 400:
        raise ValueError(f"res must lie in [2, 400], got {res}")
    x1 = np.linspace(extent[0], extent[1], res)
    x2 = np.linspace(extent[2], extent[3], res)
    g1, g2 = np.meshgrid(x1, x2)  # (res, res) each; row i has x2 = x2[i]
    return np.column_stack([g1.ravel(), g2.ravel()])


def boundary_grid(predict_proba: Callable[[FloatArray], FloatArray], extent: Extent, res: int = 100) -> FloatArray:
    """Class probabilities on the grid: ``(res, res, K)``; row 0 is the bottom of the picture."""
    proba = predict_proba(grid_points(extent, res))  # (res * res, K)
    return proba.reshape(res, res, -1)


def heat_map(proba: FloatArray) -> FloatArray:
    """Probabilities ``(H, W, K)`` -> RGB ``(H, W, 3)`` in [0, 1]: each point takes the colours of the
    classes mixed by probability, faded to white where the model is unsure (all classes equally likely).
    A point without finite probabilities (a diverged network's NaN) is drawn as unsure: white."""
    k = proba.shape[-1]
    broken = ~np.isfinite(proba).all(axis=-1, keepdims=True)  # (H, W, 1)
    proba = np.where(broken, 1.0 / k, proba)
    mix = proba @ COLOURS[:k]  # (H, W, 3)
    confidence = (proba.max(axis=-1, keepdims=True) - 1.0 / k) / (1.0 - 1.0 / k)  # 0 unsure .. 1 certain
    rgb: FloatArray = 1.0 - 0.8 * confidence * (1.0 - mix)
    return rgb


def png_bytes(fig: Figure) -> bytes:
    """The figure drawn by the Agg canvas, as PNG bytes."""
    buf = io.BytesIO()
    FigureCanvasAgg(fig)  # attaches the Agg canvas: savefig then needs no pyplot
    fig.savefig(buf, format="png")
    return buf.getvalue()


def render_boundary(proba: FloatArray, extent: Extent, data: Data, title: str = "") -> bytes:
    """PNG of the heat map of ``proba: (res, res, K)`` with the training points (filled) and the
    test points (white edges) on top."""
    fig = Figure(figsize=(4.2, 4.2), dpi=90)
    fig.subplots_adjust(left=0.14, right=0.97, bottom=0.11, top=0.93)  # fixed: a layout engine draws twice
    ax = fig.add_subplot()
    ax.imshow(heat_map(proba), extent=extent, origin="lower", interpolation="bilinear", aspect="auto")
    for X, y, edge in ((data.X_train, data.y_train, "black"), (data.X_test, data.y_test, "white")):
        if y.size:
            ax.scatter(X[:, 0], X[:, 1], c=COLOURS[y], s=14, edgecolors=edge, linewidths=0.6)
    ax.set(xlim=extent[:2], ylim=extent[2:], xlabel="x1", ylabel="x2", title=title)
    return png_bytes(fig)


def _stamp(img: UInt8Array, rows: IntArray, cols: IntArray, radius: int, colours: UInt8Array) -> None:
    """Paint a disc of ``radius`` pixels in ``colours[i]`` (``(N, 3)``) at each ``(rows[i], cols[i])``."""
    h, w = img.shape[:2]
    for dr in range(-radius, radius + 1):
        for dc in range(-radius, radius + 1):
            if dr * dr + dc * dc <= radius * radius:
                img[np.clip(rows + dr, 0, h - 1), np.clip(cols + dc, 0, w - 1)] = colours


def _picture_with_points(
    heat: UInt8Array, extent: Extent, data: Data, size: int, fill: Callable[[np.ndarray], UInt8Array]
) -> UInt8Array:
    """``heat: (res, res, 3)`` uint8 (row 0 at the bottom) scaled to ``(size, size, 3)``, with the
    training points (dark edges) and the test points (white edges) filled ``fill(y): (n, 3)`` on top."""
    img = np.array(Image.fromarray(heat[::-1]).resize((size, size), Image.Resampling.BILINEAR))  # row 0 at the top
    for X, y, edge in ((data.X_train, data.y_train, 30), (data.X_test, data.y_test, 255)):
        cols = np.round((X[:, 0] - extent[0]) / (extent[1] - extent[0]) * (size - 1)).astype(np.int64)
        rows = np.round((extent[3] - X[:, 1]) / (extent[3] - extent[2]) * (size - 1)).astype(np.int64)
        _stamp(img, rows, cols, 4, np.full((y.size, 3), edge, dtype=np.uint8))
        _stamp(img, rows, cols, 3, fill(y))
    out: UInt8Array = img
    return out


def boundary_image(proba: FloatArray, extent: Extent, data: Data, size: int = 420) -> UInt8Array:
    """The live picture: the heat map of ``proba: (res, res, K)`` scaled to ``(size, size, 3)`` uint8,
    training points with dark edges, test points with white edges. Drawn with NumPy and Pillow in a
    few milliseconds (matplotlib's :func:`render_boundary` takes a few hundred), so it can follow
    training frame by frame."""
    heat = (255 * heat_map(proba)).round().astype(np.uint8)
    return _picture_with_points(heat, extent, data, size, lambda y: (255 * COLOURS[y]).round().astype(np.uint8))


def value_colours(values: FloatArray, scale: float = 1.0) -> UInt8Array:
    """``values: (...)`` -> RGB ``(..., 3)`` uint8 on TensorFlow Playground's diverging scale: orange
    (``#f59322``) at ``-scale``, white at 0, blue (``#0877bd``) at ``+scale``, clipped beyond; a
    non-finite value (a diverged network's NaN) is white."""
    if not scale > 0:
        raise ValueError(f"scale must be > 0, got {scale}")
    t = np.clip(np.where(np.isfinite(values), values, 0.0) / scale, -1.0, 1.0)[..., None]  # (..., 1)
    end = np.where(t < 0, NEGATIVE, POSITIVE)  # (..., 3): the colour this side of 0 fades towards
    rgb = 255.0 + np.abs(t) * (end - 255.0)
    out: UInt8Array = rgb.round().astype(np.uint8)
    return out


def value_image(values: FloatArray, extent: Extent, data: Data, size: int = 420) -> UInt8Array:
    """The live picture of a regression: predicted ``values: (res, res)`` (row 0 the bottom of the
    picture, as :func:`boundary_grid` lays it out) scaled to ``(size, size, 3)`` uint8 and coloured by
    :func:`value_colours` on ``[-1, 1]``, with the points filled by their target value on the same
    scale (training points with dark edges, test points with white edges). NumPy and Pillow, a few ms."""
    if values.ndim != 2 or values.shape[0] != values.shape[1]:
        raise ValueError(f"values must be a (res, res) grid, got shape {values.shape}")
    return _picture_with_points(value_colours(values), extent, data, size, value_colours)


def network_on_grid(net: MLP, extent: Extent, res: int = 40) -> tuple[FloatArray, list[FloatArray], FloatArray]:
    """``net`` in evaluation mode (dropout off, its mode restored) over the grid: ``(inputs, hidden, logits)``.

    ``inputs: (k, res, res)``: what the first Dense layer reads, ``net.features`` (a first
    :class:`~backproplab.layers.FeatureMap`) or else ``x1, x2`` (``k = 2``); ``hidden``: each hidden
    layer's activations ``(units, res, res)``, after the activation and before any dropout;
    ``logits: (d_out, res, res)``. Row 0 of every map is the bottom of the picture."""
    grid = grid_points(extent, res)  # (res * res, 2)
    inputs = grid if net.features is None else feature_map(grid, net.features)  # (res * res, k)
    hidden = [a.T.reshape(-1, res, res) for a in net.hidden_activations(grid)]
    logits = net.predict_logits(grid)  # (res * res, d_out)
    return inputs.T.reshape(-1, res, res), hidden, logits.T.reshape(-1, res, res)


def hidden_maps(net: MLP, extent: Extent, res: int = 40) -> list[FloatArray]:
    """Every hidden unit's activation on the grid, one array ``(units, res, res)`` per hidden layer,
    computed at inference (dropout off): :func:`network_on_grid`'s hidden maps."""
    return network_on_grid(net, extent, res)[1]


def hidden_maps_mosaic(maps: FloatArray, max_units: int = 16, cols: int = 8, scale: int = 2) -> UInt8Array:
    """The first ``max_units`` maps of one layer, ``maps: (units, res, res)``, tiled into one RGB picture
    ``(rows * (scale * res + 2), cols * (scale * res + 2), 3)`` uint8, ``cols`` tiles a row, each map
    coloured on its own scale (blue low, red high) and drawn with ``x2`` growing upwards."""
    units, res = min(maps.shape[0], max_units), maps.shape[1]
    cols = min(cols, units)
    rows = -(-units // cols)
    lo = maps[:units].min(axis=(1, 2), keepdims=True)
    hi = maps[:units].max(axis=(1, 2), keepdims=True)
    norm = (maps[:units] - lo) / np.maximum(hi - lo, 1e-12)  # (units, res, res) in [0, 1]
    tiles = colormaps["RdBu_r"](norm[:, ::-1])[..., :3]  # row 0 at the top of a picture: flip x2
    tiles = tiles.repeat(scale, axis=1).repeat(scale, axis=2)
    side = scale * res + 2  # a 1-pixel white frame around every tile
    mosaic = np.ones((rows * side, cols * side, 3))
    for i in range(units):
        r, c = divmod(i, cols)
        mosaic[r * side + 1 : (r + 1) * side - 1, c * side + 1 : (c + 1) * side - 1] = tiles[i]
    out: UInt8Array = (255 * mosaic).round().astype(np.uint8)
    return out
