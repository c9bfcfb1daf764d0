"""The Streamlit page, driven headless by ``streamlit.testing.v1.AppTest``.

AppTest runs the whole script once per ``run()``. In a browser the page ends in a loop that streams
frames until paused; here ``live_frames = 1`` in the session state ends that loop after one frame, so
while training is on every run advances the session by one frame, and a few runs stand for a few.
"""

import sys
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import streamlit
from streamlit.delta_generator import DeltaGenerator
from streamlit.testing.v1 import AppTest

from backproplab.neural_network import MLP
from backproplab.playground import export
from backproplab.playground.datasets import parse_csv
from backproplab.playground.session import Session, format_loss

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "src" / "backproplab" / "playground" / "app.py"
SEED_APP = ROOT / "interactive_labs" / "m07_deep_learning" / "pytorch_training_playground_app.py"
TIMEOUT = 60  # seconds per run: the first one imports matplotlib and torch


def _page(path: Path = APP, query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(str(path), default_timeout=TIMEOUT)
    at.session_state["live_frames"] = 1
    at.query_params.update(query or {})
    at.run()
    assert not at.exception
    return at


def _shown(at: AppTest) -> dict[str, str]:
    """The metrics row: label -> the value as displayed."""
    return {m.label: m.value for m in at.metric}


def _percent(text: str) -> float:
    return float(text.rstrip("%")) / 100


def _train(at: AppTest, frames: int) -> list[dict[str, str]]:
    """Press train, then let ``frames`` more updates happen; the metrics after each."""
    at.button(key="train").click().run()
    seen = [_shown(at)]
    for _ in range(frames):
        at.run()
        assert not at.exception
        seen.append(_shown(at))
    return seen


def _session(at: AppTest) -> Session:
    run = at.session_state["session"]
    assert isinstance(run, Session)
    return run


@pytest.mark.slow
def test_xor_trains_to_full_accuracy_with_the_loss_shown_falling() -> None:
    at = _page()
    before = _shown(at)
    assert before["step"] == "0"
    at.slider(key="steps_per_frame").set_value(50)
    seen = _train(at, frames=6)
    losses = [float(before["train loss"])] + [float(s["train loss"]) for s in seen]
    assert all(b <= a for a, b in pairwise(losses))  # falls frame after frame (shown to 4 decimals)
    assert losses[-1] < 0.1 * losses[0]
    assert _percent(seen[-1]["train accuracy"]) == 1.0
    assert _percent(seen[-1]["test accuracy"]) == 1.0
    assert _percent(before["train accuracy"]) < 1.0
    assert not at.exception


@pytest.mark.slow
@pytest.mark.parametrize(
    ("dataset", "engine", "optimizer", "lr"),
    [
        ("moons", "torch", "sgd", 0.3),
        ("circles", "numpy", "momentum", 0.1),
        ("multiclass blobs", "torch", "adam", 0.03),
    ],
)
def test_changing_dataset_engine_and_optimizer_then_training_lowers_the_loss(
    dataset: str, engine: str, optimizer: str, lr: float
) -> None:
    at = _page()
    at.selectbox(key="dataset").set_value(dataset)
    at.run()
    at.radio(key="engine").set_value(engine)
    at.selectbox(key="optimizer").set_value(optimizer)
    at.select_slider(key="lr").set_value(lr)
    at.text_input(key="hidden").input("16, 16")
    at.slider(key="steps_per_frame").set_value(40)
    at.run()
    before = _shown(at)
    run = _session(at)
    assert (run.data.name, run.config.engine, run.config.optimizer, run.config.lr) == (dataset, engine, optimizer, lr)
    after = _train(at, frames=4)[-1]
    assert float(after["train loss"]) < 0.8 * float(before["train loss"])
    assert _percent(after["train accuracy"]) > _percent(before["train accuracy"])
    assert int(after["step"]) > 0
    assert not at.exception


def test_pause_one_step_and_reset() -> None:
    at = _page()
    at.button(key="train").click().run()
    at.button(key="pause").click().run()
    paused_at = _shown(at)["step"]
    at.run()
    assert _shown(at)["step"] == paused_at  # paused: reruns do not train
    at.button(key="step").click().run()
    assert int(_shown(at)["step"]) == int(paused_at) + 1
    at.button(key="reset").click().run()
    assert _shown(at)["step"] == "0"
    assert not at.exception


def test_changing_a_setting_starts_the_network_over() -> None:
    at = _page()
    at.button(key="step").click().run()
    assert _shown(at)["step"] == "1"
    at.selectbox(key="activation").set_value("relu").run()
    assert _shown(at)["step"] == "0"
    assert _session(at).config.activation == "relu"


def test_a_new_learning_rate_applies_to_the_run_in_progress() -> None:
    at = _page()
    at.button(key="step").click().run()
    at.button(key="step").click().run()
    at.select_slider(key="lr").set_value(0.3).run()
    assert _shown(at)["step"] == "2"  # the run goes on from where it was
    assert _session(at).config.lr == 0.3
    at.button(key="step").click().run()
    assert _shown(at)["step"] == "3"
    assert not at.exception


def _picture(at: AppTest, caption: str) -> str:
    """The ``src`` of the picture whose caption contains ``caption`` (the one of the last frame)."""
    found = [str(i.proto.imgs[0].url) for i in at.get("image") if caption in str(i.proto)]
    assert found, f"no picture captioned {caption!r}"
    return found[-1]


def test_the_network_diagram_and_the_weights_follow_the_training() -> None:
    at = _page()
    before = _picture(at, "the network:")
    assert before.startswith("data:image/png;base64,")
    assert len(at.dataframe[0].value) == 2 * 8  # layer 1 of the default 2-8-8-1: W1 (2, 8)
    at.selectbox(key="weights_layer").set_value(3).run()
    table = at.dataframe[0].value
    assert list(table["to"]) == ["out"] * 8
    assert list(table["weight"]) == [float(w) for w in _session(at).engine.weights()[4][:, 0]]
    at.slider(key="steps_per_frame").set_value(50)
    _train(at, frames=2)
    assert _picture(at, "the network:") != before  # a new picture: the units changed while training
    assert not at.exception


def test_a_bad_hidden_layer_setting_shows_the_limit() -> None:
    at = _page()
    at.text_input(key="hidden").input("8, 8, 8, 8, 8, 8, 8").run()
    assert not at.exception
    assert any("at most 6 hidden layers, got 7" in e.value for e in at.error)


def test_a_bad_csv_upload_shows_where_it_is_wrong_and_a_good_one_trains() -> None:
    at = _page()
    at.selectbox(key="dataset").set_value("upload CSV").run()
    assert not at.exception
    at.file_uploader(key="csv").set_value(("points.csv", b"x1,x2,label\n0,0,0\n1,oops,1\n", "text/csv")).run()
    assert not at.exception
    assert any("points.csv: line 3, column x2: expected a number, got 'oops'" in e.value for e in at.error)
    rows = [(x1, x2, int(x1 > x2)) for x1 in range(5) for x2 in range(5)]
    good = "x1,x2,label\n" + "\n".join(f"{a},{b},{c}" for a, b, c in rows)
    at.file_uploader(key="csv").set_value(("points.csv", good.encode(), "text/csv")).run()
    assert not at.exception
    assert not at.error
    assert _session(at).data.X.shape == (25, 2)
    at.button(key="step").click().run()
    assert _shown(at)["step"] == "1"


def test_gradient_check_and_engine_agreement_buttons_show_their_numbers() -> None:
    pytest.importorskip("torch")
    at = _page()
    at.button(key="step").click().run()
    at.button(key="gradcheck").click().run()
    assert not at.exception
    table = at.table[0].value
    assert list(table["param"]) == ["W1", "b1", "W2", "b2", "W3", "b3"]
    assert all(float(e) < 1e-6 for e in table["max rel error"])
    at.button(key="agree").click().run()
    gap = next(m for m in at.metric if m.label.startswith("largest relative gap |NumPy - PyTorch|"))
    assert float(gap.value) < 1e-10
    assert not at.warning  # nothing stopped the replay


@pytest.mark.slow
def test_a_diverging_run_shows_its_real_loss_and_why_it_stopped() -> None:
    pytest.importorskip("torch")
    at = _page()
    at.selectbox(key="dataset").set_value("moons").run()
    at.selectbox(key="activation").set_value("relu")
    at.selectbox(key="output").set_value("sigmoid")
    at.text_input(key="hidden").input("64, 64, 64")
    at.selectbox(key="optimizer").set_value("sgd")
    at.select_slider(key="lr").set_value(3.0)
    at.run()
    for _ in range(6):
        at.button(key="step").click().run()
    shown, run = _shown(at), _session(at)
    assert shown["step"] == "6"
    assert float(shown["train loss"]) > 1e6  # the real loss: a clipped one stayed below 34.5
    assert shown["train loss"] == format_loss(run.history[-1].train_loss)
    at.slider(key="steps_per_frame").set_value(50)
    _train(at, frames=2)
    assert run.stopped is not None
    assert any("training diverged" in w.value for w in at.warning)
    assert at.button(key="train").disabled
    assert _picture(at, "the network:")  # the pictures of a broken network still draw
    assert not at.exception
    at.button(key="agree").click().run()
    assert any("the replay stopped at step" in w.value for w in at.warning)
    assert float(next(m for m in at.metric if m.label.startswith("largest relative gap")).value) < 1e-6
    assert not at.exception


def test_without_torch_the_page_runs_on_numpy_and_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now raises ImportError
    at = _page()
    assert at.radio(key="engine").options == ["numpy"]
    assert any("The PyTorch engine is disabled: PyTorch is not installed" in c.value for c in at.caption)
    at.button(key="step").click().run()
    assert _shown(at)["step"] == "1"
    assert not at.exception


def test_the_seeds_app_path_opens_the_same_page() -> None:
    at = _page(SEED_APP)
    assert at.title[0].value == "backproplab playground"
    at.button(key="step").click().run()
    assert _shown(at)["step"] == "1"
    assert not at.exception


def test_downloads_offer_model_picture_script_and_data(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    offered: dict[str, Any] = {}  # label -> what the page hands the download button (bytes, str or a callable)
    button = DeltaGenerator.download_button

    def recording(dg: DeltaGenerator, label: str, data: Any, *args: Any, **kwargs: Any) -> Any:
        offered[label] = data
        return button(dg, label, data, *args, **kwargs)

    monkeypatch.setattr(DeltaGenerator, "download_button", recording)  # st.sidebar.download_button
    monkeypatch.setattr(streamlit, "download_button", lambda *a, **k: recording(streamlit._main, *a, **k))
    at = _page()
    at.button(key="step").click().run()
    assert (
        {b.proto.label for b in at.get("download_button")}
        == set(offered)
        == {
            "download the data (CSV)",
            "model (.npz, MLP.save)",
            "picture (PNG)",
            "evaluation script (.py)",
        }
    )
    run = _session(at)

    def fetch(label: str) -> Any:
        data = offered[label]
        return data() if callable(data) else data  # a callable runs when the button is clicked

    (tmp_path / export.MODEL_FILE).write_bytes(fetch("model (.npz, MLP.save)"))
    net = MLP.load(tmp_path / export.MODEL_FILE)
    for ours, theirs in zip(net.params, run.engine.weights(), strict=True):
        np.testing.assert_array_equal(ours, theirs)  # the weights after the step, not the initial ones
    csv = parse_csv(fetch("download the data (CSV)"), test_fraction=0.0)
    assert csv.X_train.shape == run.data.X.shape
    assert fetch("picture (PNG)").startswith(b"\x89PNG\r\n\x1a\n")
    script = fetch("evaluation script (.py)")
    compile(script, "evaluate_playground_model.py", "exec")  # valid Python
    assert f"EXPECTED = {net.accuracy(run.data.X, run.data.y)!r}" in script
    assert not at.exception


# ----- the lessons of issue 11: regularization, features, regression, the shareable link --------------
def _first_losses(at: AppTest, steps: int) -> list[float]:
    for _ in range(steps):
        at.button(key="step").click().run()
    return _session(at).step_losses[:steps]


def test_regularization_adds_exactly_the_penalty_to_the_loss_at_step_0() -> None:
    plain = _page()
    at = _page()
    at.selectbox(key="regularization").set_value("l2")
    at.select_slider(key="reg_rate").set_value(0.3).run()
    weights = _session(at).engine.weights()
    penalty = 0.3 * sum(0.5 * float(np.sum(W * W)) for W in weights[::2])  # the weight matrices, not biases
    assert penalty > 0.01
    assert _shown(at)["penalty"] == format_loss(penalty)
    [without] = _first_losses(plain, 1)
    [with_l2] = _first_losses(at, 1)
    assert with_l2 - without == pytest.approx(penalty, rel=1e-12, abs=1e-15)
    at.selectbox(key="regularization").set_value("l1").run()
    weights = _session(at).engine.weights()
    [with_l1] = _first_losses(at, 1)
    assert with_l1 - without == pytest.approx(0.3 * sum(float(np.abs(W).sum()) for W in weights[::2]), rel=1e-12)
    assert not at.exception


def test_features_change_the_input_width_and_the_diagram() -> None:
    at = _page()
    assert _session(at).engine.weights()[0].shape == (2, 8)
    at.multiselect(key="features").set_value(["x1", "x2", "x1^2", "x1*x2", "sin(x2)"]).run()
    run = _session(at)
    assert run.config.features == ("x1", "x2", "x1^2", "x1*x2", "sin(x2)")
    assert run.engine.weights()[0].shape == (5, 8)
    assert set(at.dataframe[0].value["from"]) == {"x1", "x2", "x1^2", "x1*x2", "sin(x2)"}
    assert at.query_params["features"] == "x1,x2,x1^2,x1*x2,sin(x2)"
    at.button(key="step").click().run()
    assert _shown(at)["step"] == "1"
    assert not at.exception


@pytest.mark.slow
def test_a_regression_trains_to_a_falling_test_mse() -> None:
    at = _page()
    at.selectbox(key="dataset").set_value("gaussians").run()
    assert at.selectbox(key="output").options == ["linear"]  # the only output for values
    assert _session(at).data.regression
    before = _shown(at)
    assert "test accuracy" not in before
    at.slider(key="steps_per_frame").set_value(100)
    seen = _train(at, frames=6)
    mse = [float(before["test MSE"])] + [float(s["test MSE"]) for s in seen]
    assert mse[-1] < 0.6 * mse[0]
    assert _picture(at, "colour: the predicted value").startswith("data:image/jpeg;base64,")
    assert not at.exception


EVERY_SETTING = {
    "dataset": "moons",
    "n": "120",
    "noise": "0.2",
    "classes": "4",
    "test": "0.3",
    "data_seed": "7",
    "features": "x1,x2,x1^2,sin(x1)",
    "hidden": "6,5",
    "activation": "relu",
    "output": "softmax",
    "reg": "l1",
    "reg_rate": "0.01",
    "dropout": "0.2",
    "seed": "3",
    "optimizer": "momentum",
    "lr": "0.1",
    "batch": "16",
    "clip": "2.5",
    "engine": "numpy",
    "steps": "7",
}


def test_a_link_with_every_setting_reproduces_the_settings_and_the_first_10_losses() -> None:
    linked = _page(query=EVERY_SETTING)
    assert not linked.warning
    by_hand = _page()
    by_hand.selectbox(key="dataset").set_value("moons").run()
    by_hand.slider(key="n").set_value(120)
    by_hand.slider(key="noise").set_value(0.2)
    by_hand.slider(key="test_fraction").set_value(0.3)
    by_hand.number_input(key="data_seed").set_value(7)
    by_hand.multiselect(key="features").set_value(["x1", "x2", "x1^2", "sin(x1)"])
    by_hand.text_input(key="hidden").input("6, 5")
    by_hand.selectbox(key="activation").set_value("relu")
    by_hand.selectbox(key="output").set_value("softmax")
    by_hand.selectbox(key="regularization").set_value("l1")
    by_hand.select_slider(key="reg_rate").set_value(0.01)
    by_hand.slider(key="dropout").set_value(0.2)
    by_hand.number_input(key="seed").set_value(3)
    by_hand.selectbox(key="optimizer").set_value("momentum")
    by_hand.select_slider(key="lr").set_value(0.1)
    by_hand.number_input(key="batch_size").set_value(16)
    by_hand.checkbox(key="use_clip").check().run()
    by_hand.number_input(key="clip").set_value(2.5)
    by_hand.slider(key="steps_per_frame").set_value(7)
    by_hand.run()
    a, b = _session(linked), _session(by_hand)
    assert a.config == b.config
    assert repr(a.data.name) == repr(b.data.name)
    np.testing.assert_array_equal(a.data.X, b.data.X)
    assert _first_losses(linked, 10) == _first_losses(by_hand, 10)
    # and the page writes its settings back into its address: the link a teacher copies
    assert {k: v for k, v in by_hand.query_params.items() if k != "classes"} == {
        k: v for k, v in EVERY_SETTING.items() if k != "classes"
    }
    assert not linked.exception
    assert not by_hand.exception


def test_a_link_with_garbage_shows_messages_and_keeps_the_defaults() -> None:
    at = _page(query={"lr": "abc", "hidden": "999,x"})
    assert not at.exception
    warnings = [w.value for w in at.warning]
    assert len(warnings) == 2, warnings
    assert any("lr='abc' is not one of" in w.replace("\\", "") for w in warnings)
    assert any("hidden='999,x' is not" in w.replace("\\", "") for w in warnings)
    run = _session(at)
    assert (run.config.lr, run.config.hidden) == (0.03, (8, 8))
    at.button(key="step").click().run()
    assert _shown(at)["step"] == "1"


def test_a_lesson_opens_its_experiment_and_writes_it_into_the_link() -> None:
    at = _page()
    at.selectbox(key="lesson").set_value("overfitting: noisy, few points, a big network")
    at.button(key="open_lesson").click().run()
    run = _session(at)
    assert run.config.hidden == (32, 32, 32, 32)
    assert (run.data.name, run.data.X_train.shape[0]) == ("moons", 30)
    assert at.query_params["hidden"] == "32,32,32,32"
    assert not at.exception
