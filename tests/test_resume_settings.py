"""``--resume`` with changed settings, and Ctrl-C outside the training loop, for both engines.

``--epochs`` may grow (the schedule is rebuilt over the new total) but not fall below the epochs
already run; any setting that shapes the run (optimizer, lr, batch size, ...) is refused before a
file is touched. Ctrl-C while loading data or drawing the report ends with one line and exit 130.
"""

import json
from pathlib import Path
from typing import Any

import pytest

from backproplab.schedules import make_schedule
from backproplab.training import cli
from backproplab.training.cli import main

ENGINES = ["numpy", "torch"]
CHECKPOINT = {"numpy": "checkpoint.npz", "torch": "checkpoint.pt"}


def _args(engine: str, out: Path, *extra: str) -> list[str]:
    if engine == "torch":
        pytest.importorskip("torch")
    common = ["--engine", engine, "--dataset", "digits", "--quiet", "--no-download", "--preset", "lenet"]
    return [*common, "--epochs", "2", "--batch-size", "64", "--out", str(out), *extra]


@pytest.fixture(scope="module")
def finished(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """``(engine, folder)`` of a finished 2-epoch run, trained once per engine for the module."""
    engine: str = request.param
    out = tmp_path_factory.mktemp(f"{engine}-2-epochs")
    assert main(_args(engine, out)) == 0
    return engine, out


@pytest.fixture
def run(finished: tuple[str, Path], tmp_path: Path) -> tuple[str, Path]:
    """``(engine, folder)`` of a copy of the finished run, free to change."""
    engine, source = finished
    out = tmp_path / "run"
    out.mkdir()
    for name in (CHECKPOINT[engine], "metrics.jsonl"):
        (out / name).write_bytes((source / name).read_bytes())
    return engine, out


def _epochs(out: Path) -> list[int]:
    return [json.loads(line)["epoch"] for line in (out / "metrics.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("finished", ENGINES, indirect=True)
def test_resume_with_more_epochs_continues_on_a_rebuilt_schedule(
    run: tuple[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    engine, out = run
    capsys.readouterr()
    assert main([*_args(engine, out, "--resume"), "--epochs", "3"]) == 0
    assert _epochs(out) == [1, 2, 3]
    steps = 2 * -(-1437 // 64)  # 1,437 training digits in batches of 64
    note = "resuming with --epochs 3 instead of 2: the one-cycle schedule is rebuilt over 3 epochs from step"
    assert f"{note} {steps}\n" in capsys.readouterr().out


@pytest.mark.parametrize("finished", ENGINES, indirect=True)
@pytest.mark.parametrize(
    ("option", "value", "was"),
    [("--optimizer", "sgd", "adam"), ("--lr", "0.01", "0.005"), ("--batch-size", "32", "64")],
)
def test_resume_with_another_setting_is_refused_and_touches_nothing(
    run: tuple[str, Path],
    capsys: pytest.CaptureFixture[str],
    option: str,
    value: str,
    was: str,
) -> None:
    engine, out = run
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    capsys.readouterr()
    assert main([*_args(engine, out, "--resume"), option, value]) == 2
    err = capsys.readouterr().err
    assert f"trained with {option} {was}, this run asks for {option} {value}" in err
    assert "Traceback" not in err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


@pytest.mark.parametrize("finished", ENGINES, indirect=True)
def test_resume_with_fewer_epochs_than_finished_is_refused(
    run: tuple[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    engine, out = run
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    capsys.readouterr()
    assert main([*_args(engine, out, "--resume"), "--epochs", "1"]) == 2
    assert "has finished 2 epochs, this run asks for --epochs 1" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


@pytest.mark.parametrize("schedule", ["onecycle", "cosine"])
def test_a_rebuilt_torch_schedule_is_at_the_new_curves_step(schedule: str) -> None:
    torch = pytest.importorskip("torch")
    from backproplab.training.config import TrainConfig
    from backproplab.training.loop import rebuilt_schedule

    config = TrainConfig(schedule=schedule, lr=5e-3)
    opt = torch.optim.Adam([torch.nn.Parameter(torch.zeros(3))], lr=1.0)  # an lr the rebuild must replace
    rebuilt = rebuilt_schedule(opt, config, total_steps=69, step=46)
    assert rebuilt.get_last_lr()[0] == pytest.approx(make_schedule(schedule, 5e-3, 69)(46)[0], rel=1e-9)


def _interrupt(*args: Any, **kwargs: Any) -> None:
    raise KeyboardInterrupt


@pytest.mark.parametrize("engine", ENGINES)
def test_ctrl_c_while_loading_data_prints_one_line(
    engine: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    args = _args(engine, tmp_path)
    module = "backproplab.training.numpy_engine" if engine == "numpy" else "backproplab.training.loop"
    monkeypatch.setattr(f"{module}.load_dataset", _interrupt)
    assert main(args) == 130
    err = capsys.readouterr().err
    assert err.strip() == "interrupted before training started; nothing was written"
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("engine", ENGINES)
def test_ctrl_c_while_plotting_prints_one_line(
    engine: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    args = _args(engine, tmp_path)
    args[args.index("--epochs") + 1] = "1"
    monkeypatch.setattr(cli, "plot_curves", _interrupt)
    assert main(args) == 130
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1, err
    assert err.startswith("interrupted after training;")
    assert "Traceback" not in err
    assert (tmp_path / CHECKPOINT[engine]).is_file()
