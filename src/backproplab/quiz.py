"""The shape quiz of ``backproplab shapes --quiz``: what to ask, and why a wrong answer is wrong.

Pure functions over the shape table of :mod:`backproplab.cnn.spec`; the command line does the asking.
An explanation comes from recomputing the answer under the usual mistakes (no padding, no division by
the stride, rounding up, no ``+ 1``, the channel axis left out or the input's channels kept) and
naming the one that gives it.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass

from backproplab.cnn.spec import LayerSpec, Row, parse_shape

SHAPE_KEPT = ("relu", "tanh", "sigmoid", "bn", "dropout")  # kinds whose output has their input's shape
SPATIAL = ("conv", "pool", "avgpool")


def fmt(shape: tuple[int, ...]) -> str:
    """``(6, 28, 28)`` -> ``"6x28x28"``."""
    return "x".join(map(str, shape))


@dataclass(frozen=True)
class Question:
    """One layer of the table: its spec, the row before it (its input) and its own row (its output)."""

    layer: LayerSpec
    before: Row
    row: Row

    @property
    def asked(self) -> bool:
        """Layers that keep their input's shape are not asked."""
        return self.layer.kind not in SHAPE_KEPT

    @property
    def prompt(self) -> str:
        return f"{self.row.name} ({self.row.description}) on {fmt(self.before.shape)} -> ? "

    @property
    def skipped(self) -> str:
        """The line that says this layer is not asked, and why."""
        return f"{self.row.name} ({self.row.description}): shape unchanged, {fmt(self.row.shape)} (not asked)"


def questions(specs: list[LayerSpec], rows: list[Row]) -> list[Question]:
    """One :class:`Question` per layer of ``specs``; ``rows`` is their :func:`~backproplab.cnn.spec.shape_table`."""
    return [Question(layer, before, row) for layer, before, row in zip(specs, rows[:-1], rows[1:], strict=True)]


def grade(text: str, q: Question) -> tuple[bool, list[str]]:
    """Whether the typed ``text`` is the output shape of ``q``, and the lines to print about it."""
    try:
        answer = parse_shape(text)
    except ValueError as e:
        return False, [str(e), _verdict(False, q)]
    right = answer == q.row.shape
    return right, [_verdict(right, q)] + ([] if right else [explain(answer, q)])


def _verdict(right: bool, q: Question) -> str:
    return f"{'right' if right else 'not quite'}: {fmt(q.row.shape)}" + (
        f"   ({q.row.formula})" if q.row.formula else ""
    )


def explain(answer: tuple[int, ...], q: Question) -> str:
    """Why ``answer`` is not the output shape of ``q``: the mistake that gives it, else the arithmetic."""
    expected, before, kind = q.row.shape, q.before.shape, q.layer.kind
    if answer == expected:
        return "that is right"
    if answer[1:] == expected and len(answer) == len(expected) + 1:
        return f"{fmt(answer)} has a batch axis in front: the quiz asks for ONE image's shape, {fmt(expected)}"
    if kind in SPATIAL:
        return _spatial(answer, q)
    if kind == "flatten":
        c, h, w = before
        if answer == (h * w,):
            return f"the channels are missing: flatten keeps all {c} maps, C * H * W = {q.row.formula}"
        return f"flatten turns the {fmt(before)} maps into one vector of C * H * W = {q.row.formula} numbers"
    if kind == "gap":
        return f"global average pooling averages each {before[1]}x{before[2]} map to one number: {expected[0]} values"
    if kind == "fc":
        return f"a fully connected layer outputs one value per unit: fc{q.layer.size} gives {expected[0]}"
    return f"the output is {fmt(expected)}"


def _spatial(answer: tuple[int, ...], q: Question) -> str:
    """Convolution and pooling: the channel count and the height and width, each explained apart."""
    layer, (c_in, h, w), (c_out, h_out, w_out) = q.layer, q.before.shape, q.row.shape
    channels = (
        f"a convolution outputs one channel per filter, so {layer.size} filters give {c_out} channels"
        if layer.kind == "conv"
        else f"pooling works on each channel alone, so the {c_in} channels stay"
    )
    if answer == (h_out, w_out):
        return f"{fmt(answer)} is one map's height x width; the channel axis is missing: {channels}, {fmt(q.row.shape)}"
    if len(answer) != 3:
        return f"one image's output has 3 axes, C x H x W: {fmt(q.row.shape)}"
    reasons = []
    if answer[0] != c_out:
        kept = f" (not the input's {c_in})" if answer[0] == c_in else ""
        reasons.append(f"{answer[0]} channels is wrong: {channels}{kept}")
    if answer[1:] != (h_out, w_out):
        reasons.append(_size(answer[1:], layer, (h, w), q.row.formula))
    return "; ".join(reasons)


def _size(got: tuple[int, ...], layer: LayerSpec, hw: tuple[int, int], formula: str) -> str:
    """Which usual mistake turns the input's ``hw`` into ``got``; ``formula`` is the right arithmetic."""
    k, s, p, d = layer.kernel, layer.stride, layer.padding, layer.dilation
    field = d * (k - 1) + 1
    K = f"{k}" if d == 1 else f"{field}"  # the receptive field d(K - 1) + 1
    rule = "(H + 2p - K) // s + 1" if d == 1 else "(H + 2p - d(K-1) - 1) // s + 1"
    h = hw[0]
    span = h + 2 * p - field  # how far the kernel travels
    mistakes: list[tuple[bool, Callable[[int], float], str]] = [
        (
            p > 0,
            lambda x: (x - field) // s + 1,
            f"{fmt(got)} is the size without the padding p={p}: ({h} - {K}) // {s} + 1 = {(h - field) // s + 1}; "
            f"with it, {rule} = {formula}",
        ),
        (
            s > 1,
            lambda x: x + 2 * p - field + 1,
            f"{fmt(got)} is the size for stride 1, {h} + 2*{p} - {K} + 1 = {span + 1}: the stride s={s} divides "
            f"the distance the kernel travels before the + 1, {formula}",
        ),
        (
            s > 1,
            lambda x: math.ceil((x + 2 * p - field) / s) + 1,
            f"the division by the stride rounds down (floor, //), not up: ({h} + 2*{p} - {K}) / {s} = {span / s:g}, "
            f"so {formula}",
        ),
        (
            True,
            lambda x: (x + 2 * p - field) // s,
            f"the + 1 is missing (the kernel's first position counts): {formula}",
        ),
        (
            d > 1,
            lambda x: (x + 2 * p - k) // s + 1,
            f"a dilation of {d} spreads the {k}x{k} kernel over {field}x{field}: {formula}",
        ),
        (
            True,
            lambda x: x,
            f"{fmt(got)} is the input's size, but a {k}x{k} window, stride {s}, padding {p} gives {formula}",
        ),
    ]
    for applies, size, why in mistakes:
        if applies and got == tuple(size(x) for x in hw):
            return why
    return f"the height and width are {rule} = {formula}"
