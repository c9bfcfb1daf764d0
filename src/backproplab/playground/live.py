"""What keeps the playground's pictures live: frames encoded into the page, a loss curve drawn in
a millisecond, and the clock that says what to redraw when.

Measured in a real browser (``bench/playground_fps.py``), a Streamlit rerun per frame caps the page
at about 4 pictures a second; the page instead streams frames into placeholders from one loop. Two
things then decide the frame rate: the browser fetching each picture from the server (a data URI
inside the message needs no second request) and re-rendering an interactive chart (a Vega-Lite
chart redrawn 4 times a second halved the frame rate, so the live curve is a small picture too).
"""

import base64
import io
import math
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw
from threadpoolctl import threadpool_limits

from backproplab.playground import boundary
from backproplab.playground.datasets import Data
from backproplab.playground.engines import Engine
from backproplab.playground.session import Metrics, format_loss

UInt8Array = NDArray[np.uint8]

FRAME_S = 1 / 30  # one boundary picture per 33 ms: TensorFlow Playground's pace
CURVE_S = 0.2  # the loss curve: 5 times a second
NETWORK_S = 0.4  # the network diagram: 2.5 times a second (it costs ~20 ms to draw and encode)
TRAIN_COLOUR, TEST_COLOUR = (60, 60, 60), (8, 119, 189)  # dark grey, TensorFlow Playground's blue


def encode(img: UInt8Array, fmt: str = "PNG") -> bytes:
    """An RGB picture ``(H, W, 3)`` uint8 as file bytes: ``"JPEG"`` (quality 90, about 0.5 ms for a
    420 x 420 frame) or ``"PNG"`` (lossless, for pictures with text; about 5 ms)."""
    if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
        raise ValueError(f"expected an RGB picture (H, W, 3) uint8, got {img.dtype} {img.shape}")
    buf = io.BytesIO()
    if fmt == "JPEG":
        Image.fromarray(img).save(buf, format="JPEG", quality=90)
    elif fmt == "PNG":
        Image.fromarray(img).save(buf, format="PNG", compress_level=1)
    else:
        raise ValueError(f"fmt must be 'JPEG' or 'PNG', got {fmt!r}")
    return buf.getvalue()


def data_uri(img: UInt8Array, fmt: str = "JPEG") -> str:
    """An RGB picture ``(H, W, 3)`` uint8 as a ``data:image/...;base64,`` URI (see :func:`encode`), which
    ``st.image`` puts in the page as it is: the browser needs no second request to show it."""
    return f"data:image/{fmt.lower()};base64,{base64.b64encode(encode(img, fmt)).decode('ascii')}"


def _polyline(
    values: Sequence[float], x: NDArray[np.float64], lo: float, hi: float, top: int, bottom: int
) -> list[list[tuple[float, float]]]:
    """Pixel paths of ``values`` (NaN and inf break the line) on a y axis from ``lo`` (at ``bottom``) to
    ``hi`` (at ``top``)."""
    paths: list[list[tuple[float, float]]] = [[]]
    span = max(hi - lo, 1e-12)
    for xi, v in zip(x.tolist(), values, strict=True):
        if math.isfinite(v):
            paths[-1].append((xi, bottom - (min(v, hi) - lo) / span * (bottom - top)))
        elif paths[-1]:
            paths.append([])
    return [p for p in paths if p]


def curve_image(
    steps: Sequence[float], train: Sequence[float], test: Sequence[float] | None, size: tuple[int, int] = (420, 200)
) -> UInt8Array:
    """The loss curve as a picture ``(height, width, 3)`` uint8: ``train`` (dark) and ``test`` (blue) loss
    against ``steps``, all three of one length; the y axis runs from 0 to the largest finite loss (at
    most 10 times the last one, so an early spike does not flatten the rest), labelled at both ends."""
    if len(train) != len(steps) or (test is not None and len(test) != len(steps)):
        raise ValueError(f"steps, train and test need one length, got {len(steps)}, {len(train)}, {len(test or [])}")
    width, height = size
    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    left, right, top, bottom = 44, width - 8, 8, height - 22
    draw.rectangle((left, top, right, bottom), outline=(200, 200, 200))
    finite = [v for v in [*train, *(test or [])] if math.isfinite(v)]
    last = [v for v in (train[-1:] if train else []) if math.isfinite(v)]
    hi = max(finite, default=1.0)
    if last and last[0] > 0:
        hi = min(hi, 10 * last[0])
    hi = hi if hi > 0 else 1.0
    first, final = (steps[0], steps[-1]) if steps else (0, 0)
    x = left + (np.asarray(steps, dtype=np.float64) - first) / max(final - first, 1) * (right - left)
    for values, colour in ((train, TRAIN_COLOUR), (test, TEST_COLOUR)):
        if values is None:
            continue
        for path in _polyline(values, x, 0.0, hi, top, bottom):
            draw.line(path * 2 if len(path) == 1 else path, fill=colour, width=2)  # a lone point: a dot
    draw.text((4, top), f"{hi:.3g}", fill=(90, 90, 90))
    draw.text((4, bottom - 10), "0", fill=(90, 90, 90))
    draw.text((left, bottom + 6), f"step {first}", fill=(90, 90, 90))
    draw.text((right - 70, bottom + 6), f"step {final}", fill=(90, 90, 90))
    draw.text((left + 90, bottom + 6), "train", fill=TRAIN_COLOUR)
    if test is not None:
        draw.text((left + 130, bottom + 6), "test", fill=TEST_COLOUR)
    return np.asarray(img, dtype=np.uint8)


@contextmanager
def one_math_thread() -> Iterator[None]:
    """BLAS, OpenMP and PyTorch (if loaded) on one thread inside the block, as before after it.

    The playground's networks are small: splitting each product over threads gains little, and the
    threads busy-wait between products on the very cores the browser draws with. Measured with
    ``bench/playground_fps.py`` on 2 cores: the PyTorch engine went from 23 to 29 frames/s, a 6 x 64
    network from 17 to 27.
    """
    torch = sys.modules.get("torch")  # only an engine that trains with it has imported it
    threads = torch.get_num_threads() if torch is not None else 0
    with threadpool_limits(limits=1):
        if torch is not None:
            torch.set_num_threads(1)
        try:
            yield
        finally:
            if torch is not None:
                torch.set_num_threads(threads)


@dataclass
class Clock:
    """Says which parts of the page are due at a frame: every part has its own period in seconds.

    ``due(now)`` returns the names whose period has passed since they were last drawn (all of them
    at the first call) and marks them drawn; :meth:`wait` sleeps out the rest of a frame.
    """

    periods: dict[str, float] = field(default_factory=lambda: {"curve": CURVE_S, "network": NETWORK_S})
    frame_s: float = FRAME_S
    _last: dict[str, float] = field(default_factory=dict)

    def due(self, now: float) -> set[str]:
        names = {n for n, p in self.periods.items() if now - self._last.get(n, -math.inf) >= p}
        self._last.update(dict.fromkeys(names, now))
        return names

    def wait(self, frame_start: float) -> None:
        """Sleep until ``frame_s`` seconds after ``frame_start`` (a ``time.perf_counter()`` reading)."""
        rest = self.frame_s - (time.perf_counter() - frame_start)
        if rest > 0:
            time.sleep(rest)


def bars_image(values: Sequence[float], labels: Sequence[str], size: tuple[int, int] = (420, 110)) -> UInt8Array:
    """Horizontal bars, one per value (e.g. each layer's gradient norm), as ``(height, width, 3)`` uint8,
    each labelled with its name and value; the longest finite value spans the width."""
    if len(values) != len(labels):
        raise ValueError(f"values and labels need one length, got {len(values)} and {len(labels)}")
    width, height = size
    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    finite = [v for v in values if math.isfinite(v)]
    top = max(finite, default=1.0) or 1.0
    row = height / max(len(values), 1)
    left, right = 60, width - 70
    for i, (v, name) in enumerate(zip(values, labels, strict=True)):
        y0 = i * row + 2
        draw.text((4, y0), name, fill=(90, 90, 90))
        length = (right - left) * (v / top if math.isfinite(v) else 1.0)
        draw.rectangle((left, y0, left + max(length, 1), y0 + row - 4), fill=TEST_COLOUR)
        draw.text((right + 6, y0), f"{v:.3g}", fill=(90, 90, 90))
    return np.asarray(img, dtype=np.uint8)


def picture_res(weights: Sequence[NDArray[np.floating]], budget: int = 2000) -> int:
    """How many grid points a side the live picture evaluates the network on: 100 while a point costs
    at most ``budget`` multiply-adds (the sum of the weight matrices' sizes), fewer for bigger networks
    (down to 50, which bilinear scaling still draws smoothly), so the biggest network allowed keeps
    its frame rate: 6 x 64 units cost ~26 ms a frame at 100 x 100, ~8 ms at 50 x 50."""
    macs = sum(W.size for W in weights)
    return int(np.clip(100 * math.sqrt(budget / max(macs, 1)), 50, 100))


def frame_picture(engine: Engine, extent: boundary.Extent, data: Data, res: int = 100) -> UInt8Array:
    """The live picture of ``engine``'s model over ``extent`` (on a ``res x res`` grid) with ``data``'s
    points, ``(420, 420, 3)`` uint8: class probabilities mixed into colours for a classifier, the
    predicted value on the orange-white-blue scale for a regression (``data.regression``)."""
    if data.regression:
        values = engine.logits(boundary.grid_points(extent, res))[:, 0].reshape(res, res)  # row 0 at the bottom
        return boundary.value_image(values, extent, data)
    return boundary.boundary_image(boundary.boundary_grid(engine.predict_proba, extent, res), extent, data)


def metric_pairs(m: Metrics, regression: bool, penalised: bool) -> list[tuple[str, str]]:
    """The metrics row as ``(label, value)`` pairs: step, epoch, the train and test loss side by side
    (mean squared error for a regression) and their gap, the penalty when one is on, and for a
    classifier the two accuracies. The losses are the data's alone, without the penalty, so train and
    test compare like with like."""
    loss = "MSE" if regression else "loss"
    gap = None if m.test_loss is None else m.test_loss - m.train_loss
    pairs = [
        ("step", f"{m.step}"),
        ("epoch", f"{m.epoch}"),
        (f"train {loss}", format_loss(m.train_loss)),
        (f"test {loss}", format_loss(m.test_loss)),
        ("test - train", format_loss(gap)),
    ]
    if penalised:
        pairs.append(("penalty", format_loss(m.penalty)))
    if not regression:
        pairs.append(("train accuracy", "-" if m.train_acc is None else f"{m.train_acc:.1%}"))
        pairs.append(("test accuracy", "-" if m.test_acc is None else f"{m.test_acc:.1%}"))
    return pairs
