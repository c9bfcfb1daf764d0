"""The playground's logic without Streamlit: data, CSV checks, engines, session, pictures, exports."""

import importlib.util
import math
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from backproplab.cli import build_parser, parse
from backproplab.neural_network import MLP
from backproplab.playground import boundary, datasets, export, optimizer_paths
from backproplab.playground.cli import cmd_playground, streamlit_command
from backproplab.playground.config import (
    MAX_HIDDEN_LAYERS,
    MAX_UNITS,
    OPTIMIZERS,
    EngineName,
    OptimizerName,
    OutputName,
    TrainConfig,
    parse_hidden,
)
from backproplab.playground.datasets import CSVError, DataSpec, make_data, parse_csv, to_csv
from backproplab.playground.engines import NumpyEngine, make_engine, torch_unavailable_reason
from backproplab.playground.session import (
    MAX_STEPS_PER_CALL,
    Agreement,
    Metrics,
    Session,
    current_session,
    curves,
    engine_agreement,
    format_loss,
)

XOR = DataSpec(name="xor", n=200, noise=0.1)
SPIRALS3 = DataSpec(name="multiclass spirals", n=300, noise=0.05, classes=3)


# ----- data ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(datasets.DATASETS))
def test_every_dataset_has_n_points_split_into_train_and_test(name: str) -> None:
    data = make_data(DataSpec(name=name, n=250, classes=4, test_fraction=0.2, seed=3))
    assert data.X_train.shape == (200, 2)
    assert data.X_test.shape == (50, 2)
    assert data.y_train.shape == (200,)
    assert data.X.shape == (250, 2)
    if name in datasets.REGRESSION:  # values, not classes
        assert data.regression
        assert data.n_classes == 0
        assert data.y.dtype == np.float64
        return
    expected = datasets.DATASETS[name] or 4
    assert not data.regression
    assert data.n_classes == expected
    assert set(np.unique(data.y).tolist()) == set(range(expected))


def test_multiclass_sets_have_three_or_more_classes() -> None:
    assert make_data(SPIRALS3).n_classes == 3
    assert make_data(DataSpec(name="multiclass blobs", classes=5)).n_classes == 5


def test_the_same_spec_gives_the_same_data_and_another_seed_other_data() -> None:
    a, b = make_data(XOR), make_data(XOR)
    c = make_data(replace(XOR, seed=1))
    assert np.array_equal(a.X_train, b.X_train)
    assert np.array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.X_train, c.X_train)


def test_xor_clusters_sit_at_the_corners_of_the_truth_table() -> None:
    data = make_data(replace(XOR, noise=0.0, test_fraction=0.0))
    expected = np.logical_xor(data.X[:, 0] > 0, data.X[:, 1] > 0).astype(int)
    assert np.array_equal(data.y, expected)
    assert set(map(tuple, data.X.tolist())) == {(-1.0, -1.0), (-1.0, 1.0), (1.0, -1.0), (1.0, 1.0)}


def test_no_test_set_when_the_fraction_is_zero() -> None:
    data = make_data(replace(XOR, test_fraction=0.0))
    assert data.X_test.shape == (0, 2)
    assert data.X_train.shape == (200, 2)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (DataSpec(n=5001), r"n must lie in \[8, 5000\], got 5001"),
        (DataSpec(n=2), r"got 2"),
        (DataSpec(noise=1.5), r"noise must lie in \[0, 1.0\], got 1.5"),
        (DataSpec(name="multiclass blobs", classes=2), r"classes must lie in \[3, 8\]"),
        (DataSpec(test_fraction=0.9), r"test_fraction must lie in \[0, 0.5\]"),
        (DataSpec(name="swiss roll"), r"dataset must be one of .* got 'swiss roll'"),
    ],
)
def test_data_outside_the_limits_is_refused_with_the_limit_named(spec: DataSpec, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_data(spec)


# ----- CSV upload and download --------------------------------------------------------------------
def test_csv_download_reads_back_as_the_same_points() -> None:
    data = make_data(SPIRALS3)
    back = parse_csv(to_csv(data.X, data.y), test_fraction=0.0)
    assert back.n_classes == 3

    def rows(X: np.ndarray, y: np.ndarray) -> list[tuple[float, float, int]]:
        return sorted(zip(X[:, 0].tolist(), X[:, 1].tolist(), y.tolist(), strict=True))

    assert rows(back.X_train, back.y_train) == rows(data.X, data.y)  # repr() of a float reads back exactly


def test_csv_without_header_and_with_blank_lines_and_spaces_is_read() -> None:
    rows = "\n".join(f" {i * 0.1}, {-i * 0.2} , {i % 2}" for i in range(10))
    data = parse_csv(("\n" + rows + "\n\n").encode(), test_fraction=0.0)
    assert data.X_train.shape == (10, 2)
    in_file_order = np.argsort(data.X_train[:, 0])  # the split shuffles; x1 grows down the file
    assert data.y_train[in_file_order].tolist() == [i % 2 for i in range(10)]


def _csv(*bad_rows: str, good: int = 10) -> bytes:
    rows = ["x1,x2,label"] + [f"{i},{i},{i % 2}" for i in range(good)] + list(bad_rows)
    return "\n".join(rows).encode()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (_csv("1.0,abc,0"), r"line 12, column x2: expected a number, got 'abc'"),
        (_csv("1.0,2.0"), r"line 12: expected 3 values \(x1,x2,label\), got 2"),
        (_csv("1.0,2.0,0,7"), r"line 12: expected 3 values \(x1,x2,label\), got 4"),
        (_csv("nan,2.0,1"), r"line 12, column x1: expected a finite number, got 'nan'"),
        (_csv("1.0,2.0,0.5"), r"line 12, column label: expected a whole number in \[0, 7\], got '0.5'"),
        (_csv("1.0,2.0,-1"), r"line 12, column label: .* got '-1'"),
        (_csv("1.0,2.0,9"), r"line 12, column label: .* got '9'"),
        (_csv("1.0,2.0,3"), r"every class present .* found labels \[0, 1, 3\], missing \[2\]"),
        (_csv(good=3), r"expected at least 8 points, got 3"),
        (b"x1,x2,label\n" + b"0,0,0\n" * 10, r"K >= 2; found labels \[0\]"),
        (b"\xff\xfe1,2,3", r"not UTF-8 text \(byte 0 is b'\\xff'\)"),
        (b"0,0,1\n" * 5001, r"line 5001: more than 5000 points"),
        (b"0" * 1_000_001, r"the file has 1,000,001 bytes; the limit is 1,000,000"),
    ],
)
def test_a_bad_csv_is_refused_naming_line_column_and_value(content: bytes, message: str) -> None:
    with pytest.raises(CSVError, match=message):
        parse_csv(content)


def test_to_csv_checks_the_shapes() -> None:
    with pytest.raises(ValueError, match=r"expected X \(n, 2\) and y \(n,\), got X \(3, 3\) and y \(3,\)"):
        to_csv(np.zeros((3, 3)), np.zeros(3, dtype=np.int64))


# ----- settings -----------------------------------------------------------------------------------
def test_hidden_layers_are_parsed_from_text() -> None:
    assert parse_hidden("16, 16") == (16, 16)
    assert parse_hidden(" 4;8 ,") == (4, 8)
    assert parse_hidden("") == ()
    with pytest.raises(ValueError, match=r"got '1.5' in '8, 1.5'"):
        parse_hidden("8, 1.5")


@pytest.mark.parametrize(
    ("config", "n_classes", "message"),
    [
        (TrainConfig(hidden=(8,) * (MAX_HIDDEN_LAYERS + 1)), 2, r"at most 6 hidden layers, got 7"),
        (TrainConfig(hidden=(8, MAX_UNITS + 1)), 2, r"1 to 64 units each, got \[8, 65\]"),
        (TrainConfig(hidden=(0,)), 2, r"got \[0\]"),
        (TrainConfig(lr=0.0), 2, r"learning rate must lie in \(0, 10.0\], got 0.0"),
        (TrainConfig(lr=float("nan")), 2, r"learning rate"),
        (TrainConfig(batch_size=0), 2, r"batch size must lie in \[1, 5000\], got 0"),
        (TrainConfig(clip=-1.0), 2, r"clip must be a finite number > 0 or None, got -1.0"),
        (TrainConfig(output="sigmoid"), 3, r"a sigmoid output needs 2 classes, the data has 3"),
    ],
)
def test_settings_outside_the_limits_are_refused(config: TrainConfig, n_classes: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        config.validate(n_classes)
    data = make_data(SPIRALS3 if n_classes == 3 else XOR)
    with pytest.raises(ValueError, match=message):
        Session(data, config)  # the session checks too, whatever the page let through


def test_the_largest_network_allowed_trains_a_step_on_the_most_points() -> None:
    data = make_data(DataSpec(name="moons", n=datasets.MAX_POINTS, test_fraction=0.0))
    config = TrainConfig(hidden=(MAX_UNITS,) * MAX_HIDDEN_LAYERS, output="softmax", batch_size=5000)
    run = Session(data, config)
    assert run.advance(1) == 1
    assert run.history[-1].step == 1


# ----- engines ------------------------------------------------------------------------------------
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("clip", [None, 0.5])
@pytest.mark.parametrize(("spec", "output"), [(XOR, "sigmoid"), (SPIRALS3, "softmax")])
def test_numpy_and_torch_engines_give_the_same_losses_over_100_steps(
    optimizer: OptimizerName, clip: float | None, spec: DataSpec, output: OutputName
) -> None:
    pytest.importorskip("torch")
    config = TrainConfig(hidden=(16, 16), output=output, optimizer=optimizer, lr=0.05, clip=clip, batch_size=16)
    data = make_data(spec)
    runs = {engine: Session(data, replace(config, engine=engine)) for engine in ("numpy", "torch")}
    losses = {engine: [run.step().loss for _ in range(100)] for engine, run in runs.items()}
    assert np.max(np.abs(np.subtract(losses["numpy"], losses["torch"]))) <= 1e-5
    assert losses["numpy"][-1] < losses["numpy"][0]  # it trained: the comparison is not of two frozen nets
    for a, b in zip(runs["numpy"].engine.weights(), runs["torch"].engine.weights(), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-8)
    ours, theirs = runs["numpy"].engine.predict_proba(data.X), runs["torch"].engine.predict_proba(data.X)
    np.testing.assert_allclose(ours, theirs, atol=1e-8)


def test_clipping_bounds_the_update_and_the_reported_norm_is_before_clipping() -> None:
    data = make_data(XOR)
    config = TrainConfig(hidden=(8,), optimizer="sgd", lr=1.0, clip=1e-3)
    engine = NumpyEngine(config, 2)
    before = engine.weights()
    result = engine.step(data.X_train, data.y_train)
    change = np.sqrt(sum(np.sum((a - b) ** 2) for a, b in zip(engine.weights(), before, strict=True)))
    assert change == pytest.approx(1e-3, rel=1e-3)  # lr * clipped norm
    assert np.sqrt(np.sum(np.square(result.grad_norms))) > 1e-3  # what was clipped


def test_agreement_replays_both_engines_and_reports_the_largest_gap() -> None:
    pytest.importorskip("torch")
    agreement = engine_agreement(make_data(XOR), TrainConfig(), steps=30)
    assert agreement.steps == 30
    assert len(agreement.numpy_losses) == len(agreement.torch_losses) == 30
    assert agreement.stopped is None
    assert agreement.max_rel_diff < 1e-10
    assert agreement.numpy_losses[0] != agreement.numpy_losses[-1]


def test_the_gap_is_relative_to_the_loss_and_absolute_below_one() -> None:
    assert Agreement(1, [0.5], [0.6]).max_rel_diff == pytest.approx(0.1)  # |a - b| / 1 below a loss of 1
    assert Agreement(1, [200.0], [202.0]).max_rel_diff == pytest.approx(0.01)
    # two engines diverging alike: a gap of 1e67 in absolute terms, round-off in relative ones
    assert Agreement(1, [1e82], [1e82 * (1 + 1e-15)]).max_rel_diff < 1e-14
    assert Agreement(0, [], []).max_rel_diff == 0.0


@pytest.mark.parametrize(
    ("numpy_losses", "torch_losses"),
    [
        ([1.0, math.nan], [1.0, 2.0]),  # max() over a NaN used to depend on where it stood
        ([math.nan, 1.0], [2.0, 1.0]),
        ([1.0, 2.0], [1.0, math.nan]),
        ([1.0, math.inf], [1.0, 2.0]),
        ([1.0, math.inf], [1.0, -math.inf]),
        ([1.0, math.inf], [1.0, math.nan]),
    ],
)
def test_one_engine_breaking_down_alone_is_an_infinite_gap(
    numpy_losses: list[float], torch_losses: list[float]
) -> None:
    assert Agreement(2, numpy_losses, torch_losses).max_rel_diff == math.inf


@pytest.mark.parametrize("broken", [math.nan, math.inf])
def test_both_engines_breaking_down_alike_at_the_same_step_agree(broken: float) -> None:
    assert Agreement(2, [1.0, broken], [1.0, broken]).max_rel_diff == 0.0


def test_the_replay_stops_at_the_first_non_finite_loss_and_says_so() -> None:
    pytest.importorskip("torch")
    data = make_data(DataSpec(name="moons"))
    config = TrainConfig(hidden=(64, 64, 64), activation="relu", output="softmax", optimizer="sgd", lr=10.0)
    agreement = engine_agreement(data, config, steps=200)
    n = agreement.steps
    assert n < 200
    assert len(agreement.numpy_losses) == len(agreement.torch_losses) == n
    last = (agreement.numpy_losses[-1], agreement.torch_losses[-1])
    assert not all(map(math.isfinite, last))  # the replay ends on the first non-finite loss ...
    assert all(map(math.isfinite, agreement.numpy_losses[:-1] + agreement.torch_losses[:-1]))  # ... not later
    assert agreement.stopped is not None
    assert f"step {n} of 200" in agreement.stopped
    chart = agreement.chart()
    assert chart["numpy"][:-1] == agreement.numpy_losses[:-1]
    assert not all(map(math.isfinite, (chart["numpy"][-1], chart["torch"][-1])))
    assert all(math.isfinite(x) or math.isnan(x) for x in chart["numpy"] + chart["torch"])  # no inf to draw
    assert max(agreement.numpy_losses[:-1]) > 1e6  # it did diverge on the way
    gaps = Agreement(n - 1, agreement.numpy_losses[:-1], agreement.torch_losses[:-1]).max_rel_diff
    assert gaps < 1e-6  # identically diverging engines: round-off, not a huge absolute gap


def test_without_torch_only_the_numpy_engine_runs_and_the_reason_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` raise ImportError
    reason = torch_unavailable_reason()
    assert reason is not None
    assert "PyTorch is not installed" in reason
    with pytest.raises(RuntimeError, match="PyTorch is not installed"):
        make_engine(replace(TrainConfig(), engine="torch"), 2)
    assert Session(make_data(XOR), TrainConfig()).advance(5) == 5


# ----- the session --------------------------------------------------------------------------------
def test_controls_start_pause_one_step_and_reset() -> None:
    run = Session(make_data(XOR), TrainConfig())
    first = run.history[0]
    assert (run.steps, run.running) == (0, False)
    run.start()
    assert run.running
    run.pause()
    assert not run.running
    run.start()
    run.one_step()  # a single step pauses the run
    assert (run.steps, run.running) == (1, False)
    run.advance(20)
    assert run.steps == 21
    assert len(run.step_losses) == 21
    run.reset()
    assert (run.steps, run.epoch, len(run.history), run.step_losses) == (0, 0, 1, [])
    assert run.history[0] == first  # the same initial weights


def test_epochs_count_full_passes_over_a_new_permutation() -> None:
    data = make_data(XOR)  # 160 training points, batches of 32: 5 steps an epoch
    run = Session(data, TrainConfig(batch_size=32))
    run.advance(5)
    assert run.epoch == 0
    run.advance(1)
    assert run.epoch == 1


def test_training_xor_lowers_the_loss_and_reaches_full_accuracy() -> None:
    run = Session(make_data(XOR), TrainConfig())
    run.advance(400)
    start, end = run.history[0], run.history[-1]
    assert end.train_loss < 0.1 * start.train_loss
    assert end.train_acc == 1.0
    assert end.test_acc == 1.0


def test_one_call_is_bounded_in_steps_and_time() -> None:
    run = Session(make_data(XOR), TrainConfig())
    assert run.advance(10 * MAX_STEPS_PER_CALL) == MAX_STEPS_PER_CALL
    assert run.advance(100, budget_s=0.0) == 1  # the budget is checked after every step
    with pytest.raises(ValueError, match="steps must be >= 1, got 0"):
        run.advance(0)


def test_a_diverging_run_stops_and_says_why() -> None:
    config = TrainConfig(hidden=(64, 64, 64), activation="relu", output="softmax", optimizer="sgd", lr=10.0)
    run = Session(make_data(DataSpec(name="moons")), config)
    run.start()
    run.advance(200)
    assert run.stopped is not None
    assert "diverged" in run.stopped
    assert "learning rate (now 10)" in run.stopped
    assert not run.running
    run.start()
    assert not run.running  # refuses to go on until reset
    assert run.advance(5) == 0


@pytest.mark.parametrize("engine", ["numpy", "torch"])
@pytest.mark.parametrize("output", ["softmax", "sigmoid"])
def test_a_diverging_run_shows_its_real_loss_not_a_clipped_one(engine: EngineName, output: OutputName) -> None:
    if engine == "torch":
        pytest.importorskip("torch")
    data = make_data(DataSpec(name="moons"))
    config = TrainConfig(hidden=(64, 64), activation="relu", output=output, optimizer="sgd", lr=10.0, engine=engine)
    run = Session(data, config)
    assert run.advance(6) == 6
    net = run.mlp()
    shown = run.history[-1]
    for X, y, loss, acc in (
        (data.X_train, data.y_train, shown.train_loss, shown.train_acc),
        (data.X_test, data.y_test, shown.test_loss, shown.test_acc),
    ):
        with np.errstate(over="ignore"):
            true_loss, _ = net.loss(net.forward(X), y)
        assert true_loss > 1e6  # diverged: far beyond the -log(1e-15) = 34.5 a clipped probability allows
        assert loss == pytest.approx(true_loss, rel=1e-9)
        assert acc == net.accuracy(X, y)


def test_losses_are_shown_to_four_decimals_or_in_scientific_notation_when_huge() -> None:
    assert format_loss(0.123456) == "0.1235"
    assert format_loss(1234.5) == "1234.5000"
    assert format_loss(1.25e34) == "1.250e+34"
    assert format_loss(math.inf) == "inf"
    assert format_loss(math.nan) == "nan"
    assert format_loss(None) == "-"
    assert float(format_loss(1.25e34)) == 1.25e34


def test_curves_leave_out_losses_a_chart_cannot_draw() -> None:
    history = [Metrics(0, 0, 0.7, 0.5, 0.8, 0.5), Metrics(5, 0, 1e40, 0.5, math.inf, 0.5)]
    columns = curves(history)
    assert columns["train loss"] == [0.7, 1e40]  # huge but finite: drawn as it is
    assert columns["test loss"][0] == 0.8
    assert math.isnan(columns["test loss"][1])  # inf: a gap in the line (the metrics show it)


def test_gradient_norms_are_reported_per_layer() -> None:
    run = Session(make_data(XOR), TrainConfig(hidden=(8, 4, 4)))
    run.one_step()
    assert len(run.grad_norms) == 4
    assert all(n > 0 for n in run.grad_norms)


def test_the_gradient_check_of_the_current_weights_passes() -> None:
    run = Session(make_data(SPIRALS3), TrainConfig(hidden=(6,), output="softmax"))
    run.advance(20)
    results = run.gradient_check()
    assert [r.name for r in results] == ["W1", "b1", "W2", "b2"]
    assert all(r.passed for r in results)
    assert all(r.band in ("good", "ok") for r in results)


def test_the_page_keeps_its_session_until_a_setting_of_the_network_changes() -> None:
    store: dict[str, object] = {}
    data = make_data(XOR)
    first = current_session(store, "xor", data, TrainConfig())
    first.advance(3)
    assert current_session(store, "xor", data, TrainConfig()) is first
    changed = current_session(store, "xor", data, TrainConfig(hidden=(4,)))
    assert changed is not first
    assert changed.steps == 0
    assert current_session(store, "moons", data, TrainConfig(hidden=(4,))) is not changed


@pytest.mark.parametrize("engine", ["numpy", "torch"])
def test_learning_rate_batch_size_and_clipping_change_the_run_in_progress(engine: EngineName) -> None:
    store: dict[str, object] = {}
    data = make_data(XOR)
    run = current_session(store, "xor", data, TrainConfig(engine=engine, optimizer="momentum"))
    run.advance(5)
    weights = run.engine.weights()
    retuned = TrainConfig(engine=engine, optimizer="momentum", lr=0.3, batch_size=2, clip=0.5)
    assert current_session(store, "xor", data, retuned) is run
    assert (run.steps, run.config) == (5, retuned)
    assert all(np.array_equal(a, b) for a, b in zip(run.engine.weights(), weights, strict=True))
    cursor = run._cursor
    run.advance(1)
    assert run._cursor in (cursor + 2, 2)  # a batch of 2 (or the first of a new epoch)
    assert run.engine.clip == 0.5  # type: ignore[attr-defined]
    if engine == "numpy":
        assert run.engine.optimizer.lr == 0.3  # type: ignore[attr-defined]
    else:
        assert [g["lr"] for g in run.engine.optimizer.param_groups] == [0.3]  # type: ignore[attr-defined]


def test_both_engines_stay_equal_across_a_change_of_learning_rate() -> None:
    data = make_data(XOR)
    losses = {}
    for engine in ("numpy", "torch"):
        run = Session(data, TrainConfig(engine=engine, optimizer="adam", lr=0.01))
        run.advance(20)
        run.retune(TrainConfig(engine=engine, optimizer="adam", lr=0.1, batch_size=8, clip=1.0))
        run.advance(20)
        losses[engine] = run.step_losses
    assert losses["numpy"][20:] != losses["numpy"][:20]
    np.testing.assert_allclose(losses["numpy"], losses["torch"], atol=1e-5)


@pytest.mark.parametrize("engine", ["numpy", "torch"])
def test_the_agreement_replay_follows_the_runs_mid_run_changes(engine: EngineName) -> None:
    data = make_data(XOR)
    run = Session(data, TrainConfig(engine=engine, optimizer="momentum", lr=0.01))
    run.advance(10)
    run.retune(TrainConfig(engine=engine, optimizer="momentum", lr=0.2, batch_size=3, clip=0.5))
    run.advance(15)
    assert run.retunes == [(10, run.config)]
    replay = engine_agreement(data, run.start_config, run.steps, run.retunes)
    replayed = replay.numpy_losses if engine == "numpy" else replay.torch_losses
    assert replayed == run.step_losses  # the very run, step for step
    assert replay.max_rel_diff < 1e-10
    fixed = engine_agreement(data, run.start_config, run.steps)  # without the change: another run
    assert fixed.numpy_losses[10:] != replay.numpy_losses[10:]


def test_a_run_refuses_to_retune_anything_but_rate_batch_and_clipping() -> None:
    run = Session(make_data(XOR), TrainConfig())
    with pytest.raises(ValueError, match="only the learning rate, batch size and clipping"):
        run.retune(TrainConfig(hidden=(3,)))


def test_curves_are_thinned_to_at_most_max_points_keeping_first_and_last() -> None:
    run = Session(make_data(XOR), TrainConfig())
    for _ in range(50):
        run.advance(1)
    columns = curves(run.history, max_points=10)
    assert set(columns) == {"step", "train loss", "train accuracy", "test loss", "test accuracy"}
    assert len(columns["step"]) == 10
    assert columns["step"][0] == 0
    assert columns["step"][-1] == 50
    no_test = Session(make_data(replace(XOR, test_fraction=0.0)), TrainConfig())
    assert set(curves(no_test.history)) == {"step", "train loss", "train accuracy"}


# ----- pictures -----------------------------------------------------------------------------------
def test_boundary_grid_is_100_by_100_probabilities() -> None:
    data = make_data(SPIRALS3)
    run = Session(data, TrainConfig(output="softmax"))
    extent = boundary.extent_of(data.X)
    proba = boundary.boundary_grid(run.engine.predict_proba, extent)
    assert proba.shape == (100, 100, 3)
    assert proba.min() >= 0.0
    assert proba.max() <= 1.0
    np.testing.assert_allclose(proba.sum(axis=-1), 1.0)
    rgb = boundary.heat_map(proba)
    assert rgb.shape == (100, 100, 3)
    assert 0.0 <= rgb.min() <= rgb.max() <= 1.0
    png = boundary.render_boundary(proba, extent, data, "title")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")


def test_grid_rows_run_bottom_to_top_and_the_extent_holds_the_data() -> None:
    X = np.array([[0.0, 0.0], [1.0, 2.0]])
    extent = boundary.extent_of(X, margin=0.5)
    assert extent == (-0.5, 1.5, -1.0, 3.0)
    points = boundary.grid_points(extent, res=3)
    assert points.shape == (9, 2)
    assert points[0].tolist() == [-0.5, -1.0]
    assert points[-1].tolist() == [1.5, 3.0]
    with pytest.raises(ValueError, match=r"res must lie in \[2, 400\], got 1000"):
        boundary.grid_points(extent, res=1000)


def test_the_live_picture_has_x2_growing_upwards_and_points_where_they_lie() -> None:
    extent = (0.0, 1.0, 0.0, 1.0)
    grid = boundary.grid_points(extent, res=50)
    p1 = (grid[:, 1] > 0.5).astype(float)  # class 1 exactly above x2 = 0.5
    proba = np.column_stack([1.0 - p1, p1]).reshape(50, 50, 2)
    corner = datasets.Data(
        X_train=np.array([[0.0, 1.0]]),  # (x1_min, x2_max): the top-left corner
        y_train=np.array([0]),
        X_test=np.array([[1.0, 0.0]]),  # (x1_max, x2_min): the bottom-right corner
        y_test=np.array([1]),
        n_classes=2,
        name="corners",
    )
    img = boundary.boundary_image(proba, extent, corner, size=100).astype(int)
    assert img.shape == (100, 100, 3)
    sure = (255 * (0.2 + 0.8 * boundary.COLOURS[:2])).round().astype(int)  # a certain class's colour
    np.testing.assert_allclose(img[10:40, 30:70], np.broadcast_to(sure[1], (30, 40, 3)), atol=1)  # top: class 1
    np.testing.assert_allclose(img[60:90, 30:70], np.broadcast_to(sure[0], (30, 40, 3)), atol=1)  # bottom: class 0
    dot = (255 * boundary.COLOURS[:2]).round().astype(int)  # a point's fill: its class's full colour
    assert img[0, 0].tolist() == dot[0].tolist()  # the training point, at the top-left pixel
    assert img[2, 2].tolist() == img[0, 3].tolist() == dot[0].tolist()  # a disc of radius 3 ...
    assert img[0, 4].tolist() == [30, 30, 30]  # ... in a dark ring ...
    assert img[0, 5].tolist() == img[5, 0].tolist() == sure[1].tolist()  # ... and the heat map beyond
    assert img[99, 99].tolist() == dot[1].tolist()  # the test point, at the bottom-right pixel
    assert img[99, 95].tolist() == [255, 255, 255]  # in a white ring
    assert img[99, 94].tolist() == sure[0].tolist()


def test_a_diverged_networks_nan_probabilities_are_drawn_white() -> None:
    proba = np.full((4, 4, 3), 1 / 3)
    proba[0, 0] = [1.0, 0.0, 0.0]
    proba[1:, 2:] = np.nan
    rgb = boundary.heat_map(proba)
    assert np.isfinite(rgb).all()
    np.testing.assert_allclose(rgb[1:, 1:], 1.0)  # unsure (uniform) and NaN alike: white
    np.testing.assert_allclose(rgb[0, 0], 0.2 + 0.8 * boundary.COLOURS[0])
    data = make_data(XOR)
    img = boundary.boundary_image(proba, boundary.extent_of(data.X), data, size=40)  # no invalid cast
    assert img.dtype == np.uint8


def test_hidden_maps_show_every_unit_of_every_hidden_layer() -> None:
    data = make_data(XOR)
    run = Session(data, TrainConfig(hidden=(5, 3)))
    maps = boundary.hidden_maps(run.mlp(), boundary.extent_of(data.X), res=20)
    assert [m.shape for m in maps] == [(5, 20, 20), (3, 20, 20)]
    assert np.all(np.abs(maps[0]) <= 1.0)  # tanh
    mosaic = boundary.hidden_maps_mosaic(maps[0], cols=4, scale=2)
    assert mosaic.shape == (2 * 42, 4 * 42, 3)
    assert mosaic.dtype == np.uint8


# ----- the optimizer panel ------------------------------------------------------------------------
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_every_optimizer_reaches_the_minimum_of_the_quadratic(optimizer: OptimizerName) -> None:
    surface = optimizer_paths.SURFACES["quadratic (exercise 7.6)"]
    path = optimizer_paths.trajectory(surface, optimizer, surface.lrs[optimizer], 300)
    assert path.shape == (301, 2)
    assert path[0].tolist() == list(surface.start)
    np.testing.assert_allclose(path[-1], surface.minimum, atol=1e-3)


def test_sgd_with_too_large_a_step_diverges_and_its_path_stops() -> None:
    surface = optimizer_paths.SURFACES["quadratic (exercise 7.6)"]
    path = optimizer_paths.trajectory(surface, "sgd", 0.15, 1000)  # the steep direction needs lr < 0.1
    assert path.shape[0] < 1001
    assert np.abs(path[-1]).max() > optimizer_paths.ESCAPED


def test_optimizer_paths_picture_and_limits() -> None:
    png = optimizer_paths.paths_png("rosenbrock", (("sgd", 0.001), ("adam", 0.05)), 50)
    assert png.startswith(b"\x89PNG")
    with pytest.raises(ValueError, match=r"steps must lie in \[1, 2000\], got 5000"):
        optimizer_paths.paths_png("rosenbrock", (("sgd", 0.001),), 5000)
    with pytest.raises(ValueError, match="surface must be one of"):
        optimizer_paths.paths_png("himmelblau", (), 10)


# ----- exports ------------------------------------------------------------------------------------
def test_model_download_is_an_mlp_file_with_the_trained_weights(tmp_path: Path) -> None:
    data = make_data(XOR)
    run = Session(data, TrainConfig())
    run.advance(50)
    path = tmp_path / "model.npz"
    path.write_bytes(export.model_bytes(run.mlp()))
    loaded = MLP.load(path)
    np.testing.assert_allclose(loaded.predict_proba(data.X)[:, 0], run.engine.predict_proba(data.X)[:, 1])


def test_the_generated_script_rebuilds_the_net_and_prints_its_accuracy(tmp_path: Path) -> None:
    data = make_data(SPIRALS3)
    run = Session(data, TrainConfig(hidden=(16, 16), output="softmax"))
    run.advance(200)
    accuracy = run.mlp().accuracy(data.X, data.y)
    (tmp_path / export.MODEL_FILE).write_bytes(export.model_bytes(run.mlp()))
    (tmp_path / export.DATA_FILE).write_bytes(to_csv(data.X, data.y))
    script = tmp_path / "evaluate.py"
    script.write_text(export.evaluation_script(accuracy))
    done = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert f"accuracy on 300 points of {export.DATA_FILE}: {accuracy:.4f} (playground: {accuracy:.4f})" in done.stdout
    assert "MLP(2-16-16-3" in done.stdout


# ----- the command ---------------------------------------------------------------------------------
def test_the_playground_command_runs_streamlit_on_the_app_with_extra_options(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str]] = []

    def call(cmd: list[str]) -> int:
        seen.append(cmd)
        return 0

    monkeypatch.setattr(subprocess, "call", call)
    args = parse(build_parser(), ["playground", "--server.port", "8599"])
    assert args.func(args) == 0
    assert seen == [streamlit_command(["--server.port", "8599"])]
    assert seen[0][1:4] == ["-m", "streamlit", "run"]
    assert Path(seen[0][4]).name == "app.py"
    assert Path(seen[0][4]).is_file()


def test_the_playground_command_says_when_streamlit_is_missing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    assert cmd_playground(parse(build_parser(), ["playground"])) == 1
    assert "the playground needs streamlit, which is not installed" in capsys.readouterr().err


def test_playground_help_says_what_it_opens_before_streamlits_own_help(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seen: list[list[str]] = []

    def call(cmd: list[str]) -> int:
        seen.append(cmd)
        return 0

    monkeypatch.setattr(subprocess, "call", call)
    args = parse(build_parser(), ["playground", "--help"])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: backproplab playground")
    assert "pytorch_training_playground_app.py" in out
    assert seen == [streamlit_command(["--help"])]  # streamlit run's help follows
