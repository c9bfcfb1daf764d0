"""The playground's TensorFlow-Playground options: feature crosses, L1/L2, dropout and regression, through
the settings, both engines, the session and the exported script."""

import math
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from backproplab.layers import FEATURES
from backproplab.losses import mse_loss
from backproplab.neural_network import MLP
from backproplab.playground import export
from backproplab.playground.config import MAX_DROPOUT, REG_RATES, REGULARIZATIONS, EngineName, TrainConfig
from backproplab.playground.datasets import Data, DataSpec, make_data, to_csv
from backproplab.playground.engines import NumpyEngine, initial_mlp, make_engine
from backproplab.playground.session import (
    Metrics,
    Session,
    current_session,
    curves,
    engine_agreement,
    loss_and_accuracy,
)

XOR = DataSpec(name="xor", n=200, noise=0.1)
SPIRALS3 = DataSpec(name="multiclass spirals", n=300, noise=0.05, classes=3)
EVERYTHING: dict[str, Any] = {"features": FEATURES, "dropout": 0.2}  # with l1 or l2 on top
REGRESSION = TrainConfig(output="linear", hidden=(8, 8), lr=0.01)


def _plane(n: int = 200, seed: int = 0) -> Data:
    """Regression data: ``y = (x1 + x2) / 2`` plus a little noise on ``[-1, 1]^2``, 20% held out."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1.0, 1.0, size=(n, 2))
    y = 0.5 * (X[:, 0] + X[:, 1]) + rng.normal(0.0, 0.05, n)
    k = n // 5
    return Data(X[k:], y[k:], X[:k], y[:k], n_classes=0, name="plane")


# ----- settings -----------------------------------------------------------------------------------
def test_new_settings_default_to_the_plain_network() -> None:
    config = TrainConfig()
    assert (config.features, config.regularization, config.reg_rate, config.dropout) == (("x1", "x2"), "none", 0.0, 0.0)
    assert REGULARIZATIONS == ("none", "l1", "l2")
    net = initial_mlp(config, 2)
    assert (net.features, net.l1, net.l2, net.dropout) == (None, 0.0, 0.0, 0.0)
    assert net.net.names == ["fc1", "tanh1", "fc2", "tanh2", "fc3"]  # no feature map for the raw inputs


@pytest.mark.parametrize(("output", "n_classes", "d_out"), [("sigmoid", 2, 1), ("softmax", 4, 4), ("linear", 0, 1)])
def test_layer_sizes_keep_two_raw_inputs_and_one_output_unit_for_sigmoid_and_linear(
    output: str, n_classes: int, d_out: int
) -> None:
    config = TrainConfig(output=output, features=FEATURES, hidden=(5,))  # type: ignore[arg-type]
    assert config.layer_sizes(n_classes) == [2, 5, d_out]
    assert [p.shape for p in initial_mlp(config, n_classes).params] == [(7, 5), (5,), (5, d_out), (d_out,)]


@pytest.mark.parametrize(
    ("changes", "n_classes", "message"),
    [
        ({"output": "linear"}, 2, "a linear output is for regression; the data has 2 classes: use softmax"),
        ({"output": "sigmoid"}, 0, "a sigmoid output needs class labels; the data is for regression: use linear"),
        ({"output": "softmax"}, 0, "a softmax output needs class labels; the data is for regression: use linear"),
        ({"features": ("x1", "x1^3")}, 2, r"unknown names \['x1\^3'\]"),
        ({"features": ()}, 2, "features: expected at least one name"),
        ({"features": ("x2", "x2")}, 2, r"each name at most once, got \['x2'\]"),
        ({"regularization": "l3"}, 2, r"regularization must be one of \['none', 'l1', 'l2'\], got 'l3'"),
        ({"reg_rate": 0.02}, 2, r"regularization rate must be one of \[0.0, 0.001, .*10.0\], got 0.02"),
        ({"reg_rate": -1.0}, 2, r"regularization rate must be one of .* got -1.0"),
        ({"dropout": 0.95}, 2, rf"dropout must lie in \[0, {MAX_DROPOUT}\], got 0.95"),
        ({"dropout": -0.1}, 2, r"dropout must lie in \[0, 0.9\], got -0.1"),
        ({"dropout": math.nan}, 2, r"dropout must lie in \[0, 0.9\], got nan"),
    ],
)
def test_validate_names_the_bad_setting(changes: dict[str, object], n_classes: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        replace(TrainConfig(), **changes).validate(n_classes)  # type: ignore[arg-type]


@pytest.mark.parametrize("rate", REG_RATES)
def test_every_rate_of_the_scale_and_a_linear_output_for_regression_are_valid(rate: float) -> None:
    TrainConfig(regularization="l1", reg_rate=rate, dropout=MAX_DROPOUT).validate(2)
    replace(REGRESSION, regularization="l2", reg_rate=rate).validate(0)
    assert initial_mlp(TrainConfig(regularization="l2", reg_rate=rate), 2).l2 == rate


# ----- the two engines agree with every option on -------------------------------------------------
AGREEMENT_CASES = {
    "sigmoid_l1": (XOR, TrainConfig(hidden=(8, 8), output="sigmoid", regularization="l1", reg_rate=0.03)),
    "softmax_l2": (SPIRALS3, TrainConfig(hidden=(8, 6), output="softmax", regularization="l2", reg_rate=0.1)),
    "regression_l1": (None, replace(REGRESSION, regularization="l1", reg_rate=0.01)),
    "regression_l2": (None, replace(REGRESSION, regularization="l2", reg_rate=0.1, activation="relu")),
}


@pytest.mark.parametrize("case", list(AGREEMENT_CASES))
@pytest.mark.parametrize("optimizer", ["adam", "momentum"])
def test_both_engines_agree_step_by_step_with_features_penalty_and_dropout(case: str, optimizer: str) -> None:
    pytest.importorskip("torch")
    spec, base = AGREEMENT_CASES[case]
    data = _plane() if spec is None else make_data(spec)
    config = replace(base, optimizer=optimizer, batch_size=16, **EVERYTHING)  # type: ignore[arg-type]
    runs = {engine: Session(data, replace(config, engine=engine)) for engine in ("numpy", "torch")}
    for _ in range(100):
        for run in runs.values():
            run.step()
    numpy_run, torch_run = runs["numpy"], runs["torch"]
    np.testing.assert_allclose(numpy_run.step_losses, torch_run.step_losses, rtol=1e-9, atol=0)
    for ours, theirs in zip(numpy_run.engine.weights(), torch_run.engine.weights(), strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-8, atol=1e-10)
    a, b = numpy_run.evaluate(), torch_run.evaluate()
    assert a.penalty == pytest.approx(b.penalty, rel=1e-9)
    assert a.penalty > 0
    assert a.train_loss == pytest.approx(b.train_loss, rel=1e-9)
    assert a.test_loss == pytest.approx(b.test_loss, rel=1e-9)
    # and the options really are on: without dropout the very same run takes other steps
    plain = Session(data, replace(config, dropout=0.0))
    plain.advance(3)
    assert plain.step_losses[1:] != numpy_run.step_losses[1:3]


def test_the_agreement_replay_follows_a_change_of_regularization_rate() -> None:
    pytest.importorskip("torch")
    data = make_data(XOR)
    config = TrainConfig(regularization="l2", reg_rate=0.01, dropout=0.2, features=("x1", "x2", "x1*x2"))
    run = Session(data, config)
    run.advance(10)
    run.retune(replace(config, reg_rate=1.0, lr=0.01))
    run.advance(10)
    replay = engine_agreement(data, run.start_config, run.steps, run.retunes)
    assert replay.numpy_losses == run.step_losses
    np.testing.assert_allclose(replay.torch_losses, replay.numpy_losses, rtol=1e-9, atol=0)


# ----- one engine ---------------------------------------------------------------------------------
@pytest.mark.parametrize("engine", ["numpy", "torch"])
def test_a_step_reports_the_objective_and_logits_evaluate_without_dropout(engine: EngineName) -> None:
    if engine == "torch":
        pytest.importorskip("torch")
    data = make_data(XOR)
    config = TrainConfig(engine=engine, regularization="l2", reg_rate=0.3, dropout=0.5, features=FEATURES)
    live = make_engine(config, 2)
    net = initial_mlp(config, 2)  # the same start, and the same first dropout masks
    X, y = data.X_train[:32], data.y_train[:32]
    expected = net.loss(net.forward(X), y)[0]
    assert live.penalty() == pytest.approx(net.penalty(), rel=1e-12)
    assert live.step(X, y).loss == pytest.approx(expected, rel=1e-12)
    first = live.logits(data.X)
    np.testing.assert_array_equal(live.logits(data.X), first)  # no mask drawn: the same every time
    evaluated = initial_mlp(replace(config, dropout=0.0), 2)
    for p, w in zip(evaluated.params, live.weights(), strict=True):
        p[...] = w
    np.testing.assert_allclose(first, evaluated.forward(data.X), rtol=1e-12)
    proba = live.predict_proba(data.X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)


@pytest.mark.parametrize("engine", ["numpy", "torch"])
def test_a_regression_engine_fits_with_mse_and_has_no_probabilities(engine: EngineName) -> None:
    if engine == "torch":
        pytest.importorskip("torch")
    data = _plane()
    live = make_engine(replace(REGRESSION, engine=engine), 0)
    before = mse_loss(live.logits(data.X_train)[:, 0], data.y_train)[0]
    for _ in range(200):
        result = live.step(data.X_train[:64], data.y_train[:64])
    assert math.isfinite(result.loss)
    assert mse_loss(live.logits(data.X_train)[:, 0], data.y_train)[0] < 0.5 * before
    assert live.logits(data.X_test).shape == (40, 1)
    with pytest.raises(ValueError, match="predict_proba needs a classifier"):
        live.predict_proba(data.X_test)


@pytest.mark.parametrize("engine", ["numpy", "torch"])
def test_retune_changes_the_penalty_but_not_its_kind(engine: EngineName) -> None:
    if engine == "torch":
        pytest.importorskip("torch")
    config = TrainConfig(engine=engine, regularization="l1", reg_rate=0.1)
    live = make_engine(config, 2)
    weights = live.weights()[::2]
    assert live.penalty() == pytest.approx(0.1 * sum(float(np.abs(W).sum()) for W in weights), rel=1e-12)
    live.retune(0.01, None, 3.0)
    assert live.penalty() == pytest.approx(3.0 * sum(float(np.abs(W).sum()) for W in weights), rel=1e-12)
    live.retune(0.01, None, 0.0)
    assert live.penalty() == 0.0


def test_the_numpy_engine_builds_the_mlp_with_every_option() -> None:
    config = TrainConfig(features=("x1^2", "x2^2"), regularization="l2", reg_rate=0.03, dropout=0.4, hidden=(3, 3))
    net = NumpyEngine(config, 2).net
    assert net.net.names == ["features", "fc1", "tanh1", "drop1", "fc2", "tanh2", "drop2", "fc3"]
    assert (net.features, net.l1, net.l2, net.dropout) == (("x1^2", "x2^2"), 0.0, 0.03, 0.4)


# ----- the session --------------------------------------------------------------------------------
def test_metrics_show_data_losses_and_the_penalty_apart() -> None:
    data = make_data(XOR)
    run = Session(data, TrainConfig(regularization="l2", reg_rate=1.0, dropout=0.3))
    run.advance(5)
    m = run.history[-1]
    net = run.mlp()
    assert m.penalty == pytest.approx(net.penalty(), rel=1e-12)
    assert m.penalty > 0.1
    assert m.train_loss == pytest.approx(net.data_loss(net.predict_logits(data.X_train), data.y_train)[0], rel=1e-12)
    assert m.test_loss == pytest.approx(net.data_loss(net.predict_logits(data.X_test), data.y_test)[0], rel=1e-12)
    assert m.train_acc == net.accuracy(data.X_train, data.y_train)
    assert run.step_losses[-1] > m.penalty  # a step's loss is the objective: data loss + penalty


def test_a_regression_session_reports_mse_and_no_accuracy() -> None:
    data = _plane()
    run = Session(data, REGRESSION)
    run.advance(50)
    m = run.history[-1]
    net = run.mlp()
    assert m.train_acc is None
    assert m.test_acc is None
    assert m.train_loss == pytest.approx(float(np.mean((net.predict(data.X_train)[:, 0] - data.y_train) ** 2)))
    assert m.test_loss == pytest.approx(float(np.mean((net.predict(data.X_test)[:, 0] - data.y_test) ** 2)))
    assert m.train_loss < run.history[0].train_loss
    assert set(curves(run.history)) == {"step", "train loss", "test loss"}


def test_loss_and_accuracy_of_a_linear_output_is_the_mse_without_accuracy() -> None:
    logits = np.array([[0.5], [1.0], [-2.0]])
    y = np.array([0.0, 1.0, -1.0])
    loss, accuracy = loss_and_accuracy(logits, y, "linear")
    assert loss == pytest.approx((0.25 + 0.0 + 1.0) / 3)
    assert accuracy is None


def test_curves_add_a_penalty_column_only_when_there_is_a_penalty() -> None:
    history = [Metrics(0, 0, 0.7, 0.5, 0.8, 0.5, 0.2), Metrics(5, 0, 0.6, 0.6, 0.7, 0.6, 0.1)]
    assert curves(history)["penalty"] == [0.2, 0.1]
    assert "penalty" not in curves([replace(m, penalty=0.0) for m in history])
    regression = [replace(m, train_acc=None, test_acc=None) for m in history]
    assert set(curves(regression)) == {"step", "train loss", "test loss", "penalty"}


def test_the_regularization_rate_changes_the_run_in_progress_and_other_options_restart_it() -> None:
    store: dict[str, object] = {}
    data = make_data(XOR)
    config = TrainConfig(regularization="l1", reg_rate=0.01)
    run = current_session(store, "xor", data, config)
    run.advance(5)
    assert current_session(store, "xor", data, replace(config, reg_rate=0.3)) is run
    assert run.engine.penalty() == pytest.approx(run.mlp().penalty(), rel=1e-12)
    assert run.mlp().l1 == 0.3
    assert run.steps == 5
    for changed in ({"regularization": "l2"}, {"dropout": 0.1}, {"features": ("x1", "x2", "x1*x2")}):
        again = current_session(store, "xor", data, replace(config, reg_rate=0.3, **changed))
        assert again is not run
        assert again.steps == 0
        run = again
    with pytest.raises(ValueError, match=r"only the learning rate, batch size and clipping .*regularization rate"):
        run.retune(replace(run.config, dropout=0.5))


def test_the_gradient_check_passes_with_every_option_on() -> None:
    run = Session(make_data(XOR), TrainConfig(hidden=(5,), regularization="l2", reg_rate=0.1, **EVERYTHING))
    run.advance(10)
    results = run.gradient_check()
    assert [r.name for r in results] == ["W1", "b1", "W2", "b2"]
    assert results[0].shape == (7, 5)
    assert all(r.passed for r in results)


# ----- the exported script ------------------------------------------------------------------------
def _run_script(tmp_path: Path, net: MLP, csv: bytes, script: str) -> str:
    (tmp_path / export.MODEL_FILE).write_bytes(export.model_bytes(net))
    (tmp_path / export.DATA_FILE).write_bytes(csv)
    (tmp_path / "evaluate.py").write_text(script)
    done = subprocess.run(
        [sys.executable, "evaluate.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_script_reproduces_the_accuracy_of_a_model_with_features_and_dropout(tmp_path: Path) -> None:
    data = make_data(XOR)
    run = Session(data, TrainConfig(features=FEATURES, dropout=0.2, regularization="l1", reg_rate=0.001))
    run.advance(100)
    accuracy, metric = export.score(run.mlp(), data)
    assert metric == "accuracy"
    assert accuracy == run.mlp().accuracy(data.X, data.y)
    out = _run_script(tmp_path, run.mlp(), to_csv(data.X, data.y), export.evaluation_script(accuracy, metric))
    assert f"accuracy on 200 points of {export.DATA_FILE}: {accuracy:.4f} (playground: {accuracy:.4f})" in out
    assert "features=(x1, x2, x1^2, x2^2, x1*x2, sin(x1), sin(x2))" in out


def test_the_script_prints_the_mse_of_a_regression(tmp_path: Path) -> None:
    data = _plane()
    run = Session(data, replace(REGRESSION, features=("x1", "x2", "x1*x2")))
    run.advance(100)
    mse, metric = export.score(run.mlp(), data)
    assert metric == "mse"
    assert mse == pytest.approx(mse_loss(run.engine.logits(data.X)[:, 0], data.y)[0], rel=1e-12)
    script = export.evaluation_script(mse, metric)
    assert f"EXPECTED = {mse!r}" in script
    csv = to_csv(data.X, data.y)
    assert csv.startswith(b"x1,x2,value\n")
    out = _run_script(tmp_path, run.mlp(), csv, script)
    assert f"mean squared error on 200 points of {export.DATA_FILE}: {mse:.4f} (playground: {mse:.4f})" in out


@pytest.mark.parametrize(
    ("score", "metric", "message"),
    [
        (1.5, "accuracy", r"accuracy must lie in \[0, 1\], got 1.5"),
        (-0.1, "mse", "mse must be a finite number >= 0, got -0.1"),
        (math.inf, "mse", "mse must be a finite number >= 0, got inf"),
        (0.5, "r2", "metric must be 'accuracy' or 'mse', got 'r2'"),
    ],
)
def test_the_script_refuses_a_figure_out_of_range(score: float, metric: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        export.evaluation_script(score, metric)  # type: ignore[arg-type]
