"""The playground's settings as URL query parameters, so a link opens a prepared experiment.

:data:`SETTINGS` is the one table of the page's settings: each row gives the setting's name in the
URL, the key of its widget in ``st.session_state``, its default, and how to read it from the URL and
write it back. The page calls :func:`read` on a session's first run (valid values go into
``st.session_state``, the messages are shown), gives its widgets :func:`defaults`, and after the
widgets mirrors them into the URL with :func:`write`. An invalid parameter gets a message and its
default, never an exception. Each parameter is checked alone; whether settings fit together (a
sigmoid output for three classes) is checked where the run is built. Nothing here imports Streamlit.
"""

import copy
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from backproplab.layers.features import FEATURES, check_feature_names
from backproplab.playground import config, datasets

T = TypeVar("T")

LEARNING_RATES = [0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0]
MAX_SEED = 2**31 - 1
MAX_SHOWN = 40  # characters of a bad value quoted in a message


@dataclass(frozen=True)
class Setting(Generic[T]):
    """One setting: ``name`` in the URL, widget ``key`` in ``st.session_state``, ``default`` widget value.

    ``parse`` turns a URL value into a widget value or raises ``ValueError`` whose message says what was
    expected, worded to follow "is not" (e.g. ``"a whole number in [8, 5000]"``). ``format`` is its
    inverse: ``parse(format(v)) == v`` for every valid ``v``. ``switch`` is the key of a checkbox that
    turns the setting on; the URL value ``off`` clears the checkbox and restores the default.
    """

    name: str
    key: str
    default: T
    parse: Callable[[str], T]
    format: Callable[[T], str]
    switch: str | None = None


def _format_float(x: float) -> str:
    """The shortest text that reads back as ``x``: ``0.03``, ``1`` (not ``1.0``), ``1e-05``."""
    return repr(float(x)).removesuffix(".0")


def _whole(lo: int, hi: int) -> Callable[[str], int]:
    """A parser of whole numbers in ``[lo, hi]`` (digits only: no sign, point or exponent)."""
    expected = f"a whole number in [{lo}, {hi}]"

    def parse(text: str) -> int:
        if not re.fullmatch(r"[0-9]{1,18}", text) or not lo <= int(text) <= hi:
            raise ValueError(expected)
        return int(text)

    return parse


def _as_float(text: str) -> float:
    """``float(text)``, or nan (which every range and choice refuses) for text that is no number."""
    try:
        return float(text)
    except ValueError:
        return math.nan


def _number(lo: float, hi: float, step: float | None = None) -> Callable[[str], float]:
    """A parser of numbers in ``[lo, hi]``; with a slider's ``step``, rounded to 2 decimals first and
    then required to lie on the step's grid."""
    # every number of 2 decimals lies on a grid of 0.01, so only a coarser step is worth saying
    grid = "" if step is None or step <= 0.01 else f" in steps of {_format_float(step)}"
    expected = f"a number in [{_format_float(lo)}, {_format_float(hi)}]{grid}"

    def parse(text: str) -> float:
        x = _as_float(text)
        if step is not None:
            x = round(x, 2) + 0.0  # + 0.0 turns -0.0 into 0.0
        if not lo <= x <= hi:  # also refuses nan and inf, before the grid test divides them
            raise ValueError(expected)
        if step is not None and abs(x / step - round(x / step)) > 1e-9:
            raise ValueError(expected)
        return x

    return parse


def _float_choice(choices: Sequence[float]) -> Callable[[str], float]:
    """A parser of one of ``choices`` (a select slider's options), in any spelling ``float`` reads."""
    expected = "one of " + ", ".join(map(_format_float, choices))

    def parse(text: str) -> float:
        x = _as_float(text)
        if x not in choices:  # nan is in none
            raise ValueError(expected)
        return x

    return parse


def _one_of(choices: Sequence[str]) -> Callable[[str], str]:
    """A parser of one of the names ``choices``, spelled exactly."""
    expected = "one of " + ", ".join(choices)

    def parse(text: str) -> str:
        if text not in choices:
            raise ValueError(expected)
        return text

    return parse


def _parse_features(text: str) -> list[str]:
    """``"x2,x1"`` -> ``["x1", "x2"]``: distinct names of :data:`FEATURES`, in its order."""
    try:
        names = check_feature_names([name.strip() for name in text.split(",")])
    except ValueError:
        raise ValueError("distinct names from " + ", ".join(FEATURES) + " separated by commas") from None
    return [name for name in FEATURES if name in names]


def _parse_hidden(text: str) -> str:
    """``"16,16"`` -> ``"16, 16"`` (the text box's spelling); ``""`` -> ``""`` (no hidden layer)."""
    expected = (
        f"up to {config.MAX_HIDDEN_LAYERS} whole numbers in [1, {config.MAX_UNITS}] separated by commas "
        "(empty: no hidden layer)"
    )
    try:
        units = config.parse_hidden(text)
    except ValueError:
        raise ValueError(expected) from None
    if len(units) > config.MAX_HIDDEN_LAYERS or not all(1 <= u <= config.MAX_UNITS for u in units):
        raise ValueError(expected)
    return ", ".join(map(str, units))


def _format_hidden(text: str) -> str:
    """The text box's contents without spaces: ``"8, 8"`` -> ``"8,8"``."""
    return "".join(text.split())


SETTINGS: tuple[Setting[Any], ...] = (
    Setting("dataset", "dataset", "xor", _one_of(tuple(datasets.DATASETS)), str),
    Setting("n", "n", 200, _whole(datasets.MIN_POINTS, datasets.MAX_POINTS), str),
    Setting("noise", "noise", 0.1, _number(0.0, datasets.MAX_NOISE, 0.01), _format_float),
    Setting("classes", "classes", 3, _whole(3, datasets.MAX_CLASSES), str),
    Setting("test", "test_fraction", 0.2, _number(0.0, datasets.MAX_TEST_FRACTION, 0.05), _format_float),
    Setting("data_seed", "data_seed", 0, _whole(0, MAX_SEED), str),
    Setting("features", "features", ["x1", "x2"], _parse_features, ",".join),
    Setting("hidden", "hidden", "8, 8", _parse_hidden, _format_hidden),
    Setting("activation", "activation", "tanh", _one_of(config.ACTIVATIONS), str),
    Setting("output", "output", "sigmoid", _one_of(config.OUTPUTS), str),
    Setting("reg", "regularization", "none", _one_of(config.REGULARIZATIONS), str),
    Setting("reg_rate", "reg_rate", 0.0, _float_choice(config.REG_RATES), _format_float),
    Setting("dropout", "dropout", 0.0, _number(0.0, config.MAX_DROPOUT, 0.05), _format_float),
    Setting("seed", "seed", 0, _whole(0, MAX_SEED), str),
    Setting("optimizer", "optimizer", "adam", _one_of(config.OPTIMIZERS), str),
    Setting("lr", "lr", 0.03, _float_choice(LEARNING_RATES), _format_float),
    Setting("batch", "batch_size", 32, _whole(1, config.MAX_BATCH), str),
    Setting("clip", "clip", 1.0, _number(0.01, 100.0), _format_float, switch="use_clip"),
    Setting("engine", "engine", "numpy", _one_of(config.ENGINES), str),
    Setting("steps", "steps_per_frame", 10, _whole(1, 200), str),
)
_BY_NAME = {setting.name: setting for setting in SETTINGS}


def defaults() -> dict[str, object]:
    """Widget key -> default value of every setting (a fresh copy: the caller may change it)."""
    values: dict[str, object] = {}
    for setting in SETTINGS:
        if setting.switch is not None:
            values[setting.switch] = False
        values[setting.key] = copy.copy(setting.default)
    return values


def _shown(text: str) -> str:
    """``text`` quoted for a message, cut to :data:`MAX_SHOWN` characters."""
    return repr(text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN] + "...")


def _widget_values(setting: Setting[Any], text: str) -> dict[str, object]:
    """Widget key -> value for the URL value ``text`` of ``setting``; ``ValueError`` if it is invalid."""
    if setting.switch is None:
        return {setting.key: setting.parse(text)}
    if text == "off":
        return {setting.switch: False, setting.key: copy.copy(setting.default)}
    try:
        return {setting.switch: True, setting.key: setting.parse(text)}
    except ValueError as e:
        raise ValueError(f"'off' or {e}") from None


def read(query: Mapping[str, str | list[str]]) -> tuple[dict[str, object], list[str]]:
    """The settings a page URL asks for: widget key -> value of every valid parameter, and one message
    per parameter that is ignored (invalid: it names the value, what was expected and the default kept;
    or unknown). A repeated parameter (a list) counts with its last value. Never raises."""
    values: dict[str, object] = {}
    messages: list[str] = []
    for name, given in query.items():
        setting = _BY_NAME.get(name)
        if setting is None:
            messages.append(f"unknown parameter {_shown(name)} ignored")
            continue
        if isinstance(given, list) and not given:  # no value at all (an empty string is a value)
            continue
        text = (given if isinstance(given, str) else given[-1]).strip()
        try:
            values.update(_widget_values(setting, text))
        except ValueError as e:
            default = "off" if setting.switch is not None else setting.format(setting.default)
            messages.append(f"{name}={_shown(text)} is not {e}; using the default {default}")
    return values, messages


def write(values: Mapping[str, object]) -> dict[str, str]:
    """URL parameter -> text of every setting, from widget key -> value (``st.session_state``); a
    setting without a value (its widget not drawn) is written with its default. Every setting is
    written, so a link does not depend on the defaults of a later version. ``read(write(v))`` gives
    back ``v`` for valid values in their canonical spelling (hidden units as ``"8, 8"``)."""
    query: dict[str, str] = {}
    for setting in SETTINGS:
        if setting.switch is not None and not values.get(setting.switch, False):
            query[setting.name] = "off"
        else:
            query[setting.name] = setting.format(values.get(setting.key, setting.default))
    return query


def plain(text: str) -> str:
    """``text`` with Markdown's special characters escaped, so a message quoting a crafted link shows
    the link's text as it is (no formatting, no links, no pictures)."""
    return re.sub(r"([\\`*_{}\[\]()<>#+\-.!|~$:])", r"\\\1", text)


@dataclass(frozen=True)
class Lesson:
    """A prepared experiment: what to try and watch (``text``), and its settings as URL parameters
    (``query``; every other setting takes its default)."""

    text: str
    query: dict[str, str]


_OVERFIT = {"dataset": "moons", "n": "60", "noise": "0.3", "test": "0.5", "hidden": "32,32,32,32"}
LESSONS: dict[str, Lesson] = {
    "overfitting: noisy, few points, a big network": Lesson(
        "30 noisy training points and 4 layers of 32 units: train, and watch the training loss fall to 0 "
        "while the test loss climbs past 1 within seconds. The gap between the two is overfitting.",
        _OVERFIT,
    ),
    "L2 regularization against overfitting": Lesson(
        "The same experiment with an L2 penalty: the weights stay small, the boundary smooth, and the test "
        "loss stays close to the training loss. Try other rates: too high and nothing is learned.",
        _OVERFIT | {"reg": "l2", "reg_rate": "0.03"},
    ),
    "dropout against overfitting": Lesson(
        "The same experiment with dropout 0.3 on the hidden layers: each step trains a thinned network, "
        "so no unit can memorise a point alone.",
        _OVERFIT | {"dropout": "0.3"},
    ),
    "feature crosses: circles without a hidden layer": Lesson(
        "A linear classifier cannot draw a circle in x1, x2, but it can in x1², x2²: there the circle is "
        "a straight line. No hidden layer is needed.",
        {"dataset": "circles", "features": "x1^2,x2^2", "hidden": ""},
    ),
    "feature crosses: xor with x1·x2": Lesson(
        "xor is positive where x1·x2 is: one feature cross and no hidden layer solve it.",
        {"dataset": "xor", "features": "x1*x2", "hidden": ""},
    ),
    "regression: a plane": Lesson(
        "A linear output with mean squared error: the value x1 + x2 is a plane, which a network without "
        "a hidden layer fits exactly.",
        {"dataset": "plane", "output": "linear", "hidden": "", "lr": "0.01"},
    ),
    "regression: several Gaussians": Lesson(
        "Six bumps of value +1 or -1: a hidden layer of a few units learns them, the test MSE falls.",
        {"dataset": "gaussians", "output": "linear", "hidden": "8,8", "lr": "0.03"},
    ),
}
