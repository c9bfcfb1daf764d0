"""The Streamlit page, driven headless by ``streamlit.testing.v1.AppTest``.

AppTest runs the whole script once per ``run()``; while training is on, the live fragment runs in
every one of those runs and advances the session, so a few runs stand for a few frames.
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


def _page(path: Path = APP) -> AppTest:
    at = AppTest.from_file(str(path), default_timeout=TIMEOUT)
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


def test_hidden_unit_maps_follow_the_training() -> None:
    at = _page()
    at.toggle(key="show_maps").set_value(True).run()
    assert at.selectbox(key="maps_layer").options == ["1", "2"]  # the default network: 8, 8
    maps = [i for i in at.get("image") if "each unit of hidden layer 1" in str(i.proto)]
    assert len(maps) == 1
    before = maps[0].proto.imgs[0].url
    at.slider(key="steps_per_frame").set_value(50)
    _train(at, frames=2)
    after = [i for i in at.get("image") if "each unit of hidden layer 1" in str(i.proto)]
    assert after
    assert after[0].proto.imgs[0].url != before  # a new picture: the units changed while training
    at.selectbox(key="maps_layer").set_value(2).run()
    assert any("each unit of hidden layer 2" in str(i.proto) for i in at.get("image"))
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
    at.toggle(key="show_maps").set_value(True).run()  # the pictures of a broken network still draw
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
            "decision boundary (PNG)",
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
    assert fetch("decision boundary (PNG)").startswith(b"\x89PNG\r\n\x1a\n")
    script = fetch("evaluation script (.py)")
    compile(script, "evaluate_playground_model.py", "exec")  # valid Python
    assert f"EXPECTED_ACCURACY = {net.accuracy(run.data.X, run.data.y)!r}" in script
    assert not at.exception
