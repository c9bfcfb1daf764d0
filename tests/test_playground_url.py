"""The playground's settings in the page URL: every setting round-trips, and a bad link never crashes."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backproplab.layers.features import FEATURES
from backproplab.playground import config, datasets, url
from backproplab.playground.session import Session


def two_decimals(k: int, step: float) -> float:
    """``k`` steps of a slider, as the slider holds them."""
    return round(k * step, 2)


# every valid widget value, in the page's canonical spelling
valid_values = st.fixed_dictionaries(
    {
        "dataset": st.sampled_from(list(datasets.DATASETS)),
        "n": st.integers(datasets.MIN_POINTS, datasets.MAX_POINTS),
        "noise": st.integers(0, 100).map(lambda k: two_decimals(k, 0.01)),
        "classes": st.integers(3, datasets.MAX_CLASSES),
        "test_fraction": st.integers(0, 10).map(lambda k: two_decimals(k, 0.05)),
        "data_seed": st.integers(0, 2**31 - 1),
        "features": st.lists(st.sampled_from(FEATURES), min_size=1, unique=True).map(
            lambda names: [f for f in FEATURES if f in names]
        ),
        "hidden": st.lists(st.integers(1, config.MAX_UNITS), max_size=config.MAX_HIDDEN_LAYERS).map(
            lambda units: ", ".join(map(str, units))
        ),
        "activation": st.sampled_from(config.ACTIVATIONS),
        "output": st.sampled_from(config.OUTPUTS),
        "regularization": st.sampled_from(config.REGULARIZATIONS),
        "reg_rate": st.sampled_from(config.REG_RATES),
        "dropout": st.integers(0, 18).map(lambda k: two_decimals(k, 0.05)),
        "seed": st.integers(0, 2**31 - 1),
        "optimizer": st.sampled_from(config.OPTIMIZERS),
        "lr": st.sampled_from(url.LEARNING_RATES),
        "batch_size": st.integers(1, config.MAX_BATCH),
        "use_clip": st.booleans(),
        "clip": st.floats(0.01, 100.0),
        "engine": st.sampled_from(config.ENGINES),
        "steps_per_frame": st.integers(1, 200),
    }
).map(lambda v: v if v["use_clip"] else {**v, "clip": 1.0})  # clip=off keeps no number: the default


def test_names_and_keys_are_unique() -> None:
    names = [s.name for s in url.SETTINGS]
    keys = [s.key for s in url.SETTINGS] + [s.switch for s in url.SETTINGS if s.switch]
    assert len(set(names)) == len(names)
    assert len(set(keys)) == len(keys)


def test_defaults_are_the_pages_widget_values() -> None:
    assert url.defaults() == {
        "dataset": "xor",
        "n": 200,
        "noise": 0.1,
        "classes": 3,
        "test_fraction": 0.2,
        "data_seed": 0,
        "features": ["x1", "x2"],
        "hidden": "8, 8",
        "activation": "tanh",
        "output": "sigmoid",
        "regularization": "none",
        "reg_rate": 0.0,
        "dropout": 0.0,
        "seed": 0,
        "optimizer": "adam",
        "lr": 0.03,
        "batch_size": 32,
        "use_clip": False,
        "clip": 1.0,
        "engine": "numpy",
        "steps_per_frame": 10,
    }


def test_defaults_returns_a_fresh_copy() -> None:
    first = url.defaults()
    features = first["features"]
    assert isinstance(features, list)
    features.append("x1^2")
    assert url.defaults()["features"] == ["x1", "x2"]


def test_defaults_round_trip_with_the_widgets_types() -> None:
    values, messages = url.read(url.write(url.defaults()))
    assert messages == []
    assert values == url.defaults()
    assert {k: type(v) for k, v in values.items()} == {k: type(v) for k, v in url.defaults().items()}


def test_write_spells_every_setting() -> None:
    assert url.write(url.defaults()) == {
        "dataset": "xor",
        "n": "200",
        "noise": "0.1",
        "classes": "3",
        "test": "0.2",
        "data_seed": "0",
        "features": "x1,x2",
        "hidden": "8,8",
        "activation": "tanh",
        "output": "sigmoid",
        "reg": "none",
        "reg_rate": "0",
        "dropout": "0",
        "seed": "0",
        "optimizer": "adam",
        "lr": "0.03",
        "batch": "32",
        "clip": "off",
        "engine": "numpy",
        "steps": "10",
    }


def test_a_fully_changed_setting_round_trips() -> None:
    changed = {
        "dataset": "multiclass spirals",
        "n": 1000,
        "noise": 0.35,
        "classes": 5,
        "test_fraction": 0.3,
        "data_seed": 7,
        "features": ["x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)"],
        "hidden": "",
        "activation": "relu",
        "output": "softmax",
        "regularization": "l2",
        "reg_rate": 0.003,
        "dropout": 0.25,
        "seed": 42,
        "optimizer": "momentum",
        "lr": 0.1,
        "batch_size": 8,
        "use_clip": True,
        "clip": 2.5,
        "engine": "torch",
        "steps_per_frame": 50,
    }
    assert set(changed) == set(url.defaults())
    assert all(changed[k] != v for k, v in url.defaults().items())
    assert url.read(url.write(changed)) == (changed, [])


@given(valid_values)
def test_every_valid_setting_round_trips(values: dict[str, object]) -> None:
    assert url.read(url.write(values)) == (values, [])


@given(st.dictionaries(st.sampled_from([s.name for s in url.SETTINGS]), st.text(max_size=30)))
def test_any_text_gives_a_value_or_a_message_never_an_exception(query: dict[str, str]) -> None:
    values, messages = url.read(query)
    for name in query:
        key = next(s.key for s in url.SETTINGS if s.name == name)
        said = [m for m in messages if m.startswith(f"{name}=")]
        assert (key in values) != (len(said) == 1)


def test_the_issues_garbage_link_gives_two_messages_and_no_values() -> None:
    values, messages = url.read({"lr": "abc", "hidden": "999,x"})
    assert values == {}
    assert messages == [
        "lr='abc' is not one of 0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3; using the default 0.03",
        "hidden='999,x' is not up to 6 whole numbers in [1, 64] separated by commas (empty: no hidden layer); "
        "using the default 8,8",
    ]


def test_valid_parameters_beside_invalid_ones_still_count() -> None:
    values, messages = url.read({"lr": "abc", "n": "400"})
    assert values == {"n": 400}
    assert len(messages) == 1


@pytest.mark.parametrize(
    ("name", "text", "key", "value"),
    [
        ("n", "8", "n", 8),
        ("n", "5000", "n", 5000),
        ("noise", "0", "noise", 0.0),
        ("noise", "1", "noise", 1.0),
        ("noise", "0.123", "noise", 0.12),  # rounded to the slider's 2 decimals
        ("classes", "3", "classes", 3),
        ("classes", "8", "classes", 8),
        ("test", "0", "test_fraction", 0.0),
        ("test", "0.5", "test_fraction", 0.5),
        ("test", "0.151", "test_fraction", 0.15),  # 0.15 after rounding: on the grid of 0.05
        ("data_seed", "0", "data_seed", 0),
        ("data_seed", "2147483647", "data_seed", 2**31 - 1),
        ("hidden", "", "hidden", ""),
        ("hidden", "1", "hidden", "1"),
        ("hidden", "64,64,64,64,64,64", "hidden", "64, 64, 64, 64, 64, 64"),
        ("reg_rate", "0", "reg_rate", 0.0),
        ("reg_rate", "10", "reg_rate", 10.0),
        ("dropout", "0", "dropout", 0.0),
        ("dropout", "0.9", "dropout", 0.9),
        ("seed", "2147483647", "seed", 2**31 - 1),
        ("lr", "0.0001", "lr", 0.0001),
        ("lr", "3", "lr", 3.0),
        ("lr", "3e0", "lr", 3.0),
        ("batch", "1", "batch_size", 1),
        ("batch", "5000", "batch_size", 5000),
        ("clip", "0.01", "clip", 0.01),
        ("clip", "100", "clip", 100.0),
        ("steps", "1", "steps_per_frame", 1),
        ("steps", "200", "steps_per_frame", 200),
        ("dataset", "multiclass spirals", "dataset", "multiclass spirals"),
        ("n", " 300 ", "n", 300),  # surrounding spaces are no error
    ],
)
def test_values_just_inside_the_limits_are_read(name: str, text: str, key: str, value: object) -> None:
    values, messages = url.read({name: text})
    assert messages == []
    assert values[key] == value
    assert type(values[key]) is type(value)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("n", "7"),
        ("n", "5001"),
        ("n", "200.0"),
        ("n", "2e2"),
        ("n", "-8"),
        ("noise", "1.01"),
        ("noise", "-0.01"),
        ("noise", "nan"),
        ("noise", "inf"),
        ("classes", "2"),
        ("classes", "9"),
        ("test", "0.55"),
        ("test", "-0.05"),
        ("test", "0.17"),
        ("data_seed", "-1"),
        ("data_seed", "2147483648"),
        ("hidden", "0"),
        ("hidden", "65"),
        ("hidden", "1,1,1,1,1,1,1"),
        ("hidden", "8 8"),
        ("reg_rate", "0.002"),
        ("reg_rate", "30"),
        ("dropout", "0.95"),
        ("dropout", "0.12"),
        ("dropout", "-0.05"),
        ("seed", "-1"),
        ("seed", "2147483648"),
        ("lr", "0.0002"),
        ("lr", "10"),
        ("lr", "abc"),
        ("batch", "0"),
        ("batch", "5001"),
        ("clip", "0.009"),
        ("clip", "100.1"),
        ("clip", "on"),
        ("steps", "0"),
        ("steps", "201"),
        ("dataset", "upload CSV"),
        ("dataset", "XOR"),
        ("activation", "gelu"),
        ("output", "tanh"),
        ("reg", "l3"),
        ("optimizer", "rmsprop"),
        ("engine", "jax"),
        ("features", ""),
        ("features", "x1,x1"),
        ("features", "x1x2"),
        ("features", "x1,x3"),
    ],
)
def test_values_just_outside_the_limits_get_a_message_and_no_value(name: str, text: str) -> None:
    values, messages = url.read({name: text})
    assert values == {}
    assert len(messages) == 1
    assert messages[0].startswith(f"{name}={text.strip()!r} is not ")
    assert "using the default" in messages[0]


def test_a_negative_zero_reads_as_zero() -> None:
    values, _ = url.read({"noise": "-0.001"})
    noise = values["noise"]
    assert isinstance(noise, float)
    assert math.copysign(1.0, noise) == 1.0


def test_every_dataset_name_is_accepted_and_upload_is_not() -> None:
    for name in datasets.DATASETS:
        assert url.read({"dataset": name}) == ({"dataset": name}, [])


def test_an_unknown_parameter_gets_a_message() -> None:
    values, messages = url.read({"foo": "1", "n": "100"})
    assert values == {"n": 100}
    assert messages == ["unknown parameter 'foo' ignored"]


def test_a_long_bad_value_is_cut_in_the_message() -> None:
    _, messages = url.read({"lr": "9" * 1000, "x" * 1000: "1"})
    assert all(len(m) < 200 for m in messages)
    assert "..." in messages[0]
    assert "..." in messages[1]


def test_a_repeated_parameter_uses_its_last_value() -> None:
    assert url.read({"n": ["100", "300"]}) == ({"n": 300}, [])
    assert url.read({"n": ["abc", "300"]}) == ({"n": 300}, [])
    values, messages = url.read({"n": ["300", "abc"]})
    assert values == {}
    assert len(messages) == 1


def test_a_parameter_without_any_value_is_skipped() -> None:
    assert url.read({"n": []}) == ({}, [])


def test_features_come_back_in_the_canonical_order() -> None:
    values, messages = url.read({"features": "sin(x2), x1*x2,x1"})
    assert messages == []
    assert values == {"features": ["x1", "x1*x2", "sin(x2)"]}
    assert url.write(values)["features"] == "x1,x1*x2,sin(x2)"


def test_clip_off_clears_the_checkbox_and_keeps_the_default_number() -> None:
    assert url.read({"clip": "off"}) == ({"use_clip": False, "clip": 1.0}, [])


def test_clip_number_ticks_the_checkbox() -> None:
    assert url.read({"clip": "2.5"}) == ({"use_clip": True, "clip": 2.5}, [])


def test_clip_is_written_off_unless_the_checkbox_is_ticked() -> None:
    assert url.write({"use_clip": False, "clip": 5.0})["clip"] == "off"
    assert url.write({"use_clip": True, "clip": 2.5})["clip"] == "2.5"
    assert url.write({"use_clip": True})["clip"] == "1"  # the number input not drawn yet: its default


def test_a_bad_clip_says_off_is_allowed() -> None:
    _, messages = url.read({"clip": "on"})
    assert messages == ["clip='on' is not 'off' or a number in [0.01, 100]; using the default off"]


def test_write_fills_missing_widgets_with_their_defaults() -> None:
    assert url.write({"n": 400}) == {**url.write(url.defaults()), "n": "400"}


def test_hidden_text_is_written_without_spaces_and_read_back_canonical() -> None:
    query = url.write({"hidden": " 16,16 "})
    assert query["hidden"] == "16,16"
    assert url.read({"hidden": query["hidden"]}) == ({"hidden": "16, 16"}, [])


def test_plain_shows_a_crafted_value_as_text_not_markdown() -> None:
    crafted = "lr='[click](http://x) ![i](http://y) **b** `c`' is not one of 0.1"
    shown = url.plain(crafted)
    assert "[click](" not in shown
    assert "**b**" not in shown
    assert shown.replace("\\", "") == crafted  # only escapes were added


@pytest.mark.parametrize("name", list(url.LESSONS))
def test_every_lesson_is_a_valid_link_of_a_valid_experiment(name: str) -> None:
    lesson = url.LESSONS[name]
    values, messages = url.read(lesson.query)
    assert messages == []
    assert set(values) >= {url_setting.key for url_setting in url.SETTINGS if url_setting.name in lesson.query}
    settings = url.defaults() | values
    spec = datasets.DataSpec(
        name=str(settings["dataset"]),
        n=int(str(settings["n"])),
        noise=float(str(settings["noise"])),
        test_fraction=float(str(settings["test_fraction"])),
    )
    data = datasets.make_data(spec)
    output = "linear" if data.regression else settings["output"]
    train = config.TrainConfig(
        hidden=config.parse_hidden(str(settings["hidden"])),
        output=output,  # type: ignore[arg-type]
        features=tuple(settings["features"]),  # type: ignore[arg-type]
        regularization=settings["regularization"],  # type: ignore[arg-type]
        reg_rate=float(str(settings["reg_rate"])),
        dropout=float(str(settings["dropout"])),
        lr=float(str(settings["lr"])),
    )
    train.validate(data.n_classes)
    assert len(lesson.text) > 40


def _lesson_run(name: str) -> Session:
    values, _ = url.read(url.LESSONS[name].query)
    s = url.defaults() | values
    data = datasets.make_data(
        datasets.DataSpec(
            name=str(s["dataset"]),
            n=int(str(s["n"])),
            noise=float(str(s["noise"])),
            test_fraction=float(str(s["test_fraction"])),
        )
    )
    return Session(
        data,
        config.TrainConfig(
            hidden=config.parse_hidden(str(s["hidden"])),
            regularization=s["regularization"],  # type: ignore[arg-type]
            reg_rate=float(str(s["reg_rate"])),
            dropout=float(str(s["dropout"])),
        ),
    )


@pytest.mark.slow
def test_the_overfitting_lesson_overfits_and_its_remedies_close_the_gap() -> None:
    """3,000 steps: about 10 s of the live page on 2 cores."""
    gaps = {}
    for name in (
        "overfitting: noisy, few points, a big network",
        "L2 regularization against overfitting",
        "dropout against overfitting",
    ):
        run = _lesson_run(name)
        for _ in range(30):
            run.advance(100)
        last = run.history[-1]
        assert last.test_loss is not None
        gaps[name] = (last.train_loss, last.test_loss)
    train, test = gaps["overfitting: noisy, few points, a big network"]
    assert train < 0.01  # the 30 training points are learnt by heart
    assert test > 1.0  # and the test points pay for it
    for remedy in ("L2 regularization against overfitting", "dropout against overfitting"):
        assert gaps[remedy][1] < 0.5 * test, gaps
