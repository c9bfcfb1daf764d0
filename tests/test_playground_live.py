"""The live view's pure parts: frame encoding, the loss curve and bars pictures, the clock, the metrics row."""

import base64
import io
import math
import time

import numpy as np
import pytest
from PIL import Image

from backproplab.playground import live
from backproplab.playground.session import Metrics


def _rgb(h: int = 30, w: int = 40) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, size=(h, w, 3), dtype=np.uint8)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_a_frame_becomes_a_data_uri_the_browser_decodes_to_the_same_picture(fmt: str) -> None:
    img = _rgb()
    uri = live.data_uri(img, fmt)
    head, body = uri.split(",", 1)
    assert head == f"data:image/{fmt.lower()};base64"
    decoded = np.asarray(Image.open(io.BytesIO(base64.b64decode(body))))
    assert decoded.shape == img.shape
    if fmt == "PNG":
        np.testing.assert_array_equal(decoded, img)  # lossless


def test_encoding_refuses_what_is_not_an_rgb_uint8_picture() -> None:
    with pytest.raises(ValueError, match=r"expected an RGB picture \(H, W, 3\) uint8, got float64 \(4, 4, 3\)"):
        live.encode(np.zeros((4, 4, 3)))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"got uint8 \(4, 4\)"):
        live.encode(np.zeros((4, 4), np.uint8))
    with pytest.raises(ValueError, match="fmt must be 'JPEG' or 'PNG', got 'GIF'"):
        live.encode(_rgb(), "GIF")


def _ink(img: np.ndarray, colour: tuple[int, int, int]) -> int:
    return int(np.all(img == np.array(colour, np.uint8), axis=-1).sum())


def test_the_loss_curve_draws_train_and_test_lines_and_leaves_out_what_is_not_finite() -> None:
    steps = list(range(0, 1000, 10))
    train = [1 / (1 + s / 100) for s in steps]
    test = [t + 0.1 for t in train]
    img = live.curve_image(steps, train, test, size=(300, 150))
    assert img.shape == (150, 300, 3)
    assert img.dtype == np.uint8
    assert _ink(img, live.TRAIN_COLOUR) > 200
    assert _ink(img, live.TEST_COLOUR) > 200
    broken = live.curve_image(steps, [*train[:-1], math.inf], None)  # a diverged last step, no test set
    assert _ink(broken, live.TEST_COLOUR) == 0  # no test line, no test legend
    assert _ink(broken, live.TRAIN_COLOUR) > 200
    one = live.curve_image([0], [0.7], [0.8])  # the first frame: one point each
    assert one.shape == (200, 420, 3)


def test_the_loss_curve_needs_columns_of_one_length() -> None:
    with pytest.raises(ValueError, match="steps, train and test need one length, got 2, 1, 0"):
        live.curve_image([0, 1], [0.5], None)


def test_the_bars_grow_with_their_values() -> None:
    img = live.bars_image([1.0, 4.0], ["layer 1", "layer 2"], size=(300, 60))
    rows = np.all(img == np.array(live.TEST_COLOUR, np.uint8), axis=-1)  # (H, W): bar pixels
    first, second = rows[:30].sum(axis=1).max(), rows[30:].sum(axis=1).max()
    assert second > 3 * first
    with pytest.raises(ValueError, match="values and labels need one length, got 1 and 2"):
        live.bars_image([1.0], ["a", "b"])


def test_the_clock_says_what_is_due_and_paces_frames() -> None:
    clock = live.Clock({"curve": 0.2, "network": 0.5}, frame_s=0.01)
    assert clock.due(10.0) == {"curve", "network"}  # everything at the first frame
    assert clock.due(10.1) == set()
    assert clock.due(10.25) == {"curve"}
    assert clock.due(10.5) == {"network", "curve"}
    start = time.perf_counter()
    clock.wait(start)
    assert time.perf_counter() - start >= 0.01


def _metrics(test: float | None = 0.5, acc: float | None = 0.9, penalty: float = 0.0) -> Metrics:
    return Metrics(
        step=12,
        epoch=1,
        train_loss=0.25,
        train_acc=acc,
        test_loss=test,
        test_acc=None if test is None else acc,
        penalty=penalty,
    )


def test_the_metrics_row_puts_train_and_test_loss_side_by_side_with_their_gap() -> None:
    pairs = dict(live.metric_pairs(_metrics(), regression=False, penalised=False))
    assert pairs == {
        "step": "12",
        "epoch": "1",
        "train loss": "0.2500",
        "test loss": "0.5000",
        "test - train": "0.2500",
        "train accuracy": "90.0%",
        "test accuracy": "90.0%",
    }
    regression = dict(live.metric_pairs(_metrics(acc=None, penalty=0.125), regression=True, penalised=True))
    assert list(regression) == ["step", "epoch", "train MSE", "test MSE", "test - train", "penalty"]
    assert regression["penalty"] == "0.1250"
    no_test = dict(live.metric_pairs(_metrics(test=None), regression=False, penalised=False))
    assert (no_test["test loss"], no_test["test - train"], no_test["test accuracy"]) == ("-", "-", "-")
