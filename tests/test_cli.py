"""The command line and the seed's entry points, run as a user runs them."""

import subprocess
import sys
from pathlib import Path

import pytest

from backproplab.cli import main
from backproplab.demos import overfit_tiny, train_xor

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_xor_defaults_solve_all_200_seeds() -> None:
    failed = [seed for seed in range(200) if not train_xor(seed=seed).solved]
    assert len(failed) <= 1, f"XOR not solved for seeds {failed}"


def test_xor_command_prints_milestones_and_predictions_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["xor", "--seed", "5"]) == 0
    out = capsys.readouterr().out
    assert "epoch      loss" in out
    assert "loss < 0.01: first at epoch" in out
    assert out.count(" ok") == 4
    assert "XOR SOLVED" in out


def test_xor_command_exits_1_when_not_solved(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["xor", "--epochs", "3"]) == 1
    assert "XOR NOT SOLVED" in capsys.readouterr().out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_overfit_memorises_random_labels(seed: int) -> None:
    result = overfit_tiny(seed=seed)
    assert result.final_loss < 0.01
    assert result.accuracy == 1.0


def test_overfit_command_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["overfit"]) == 0
    assert "Overfit test SOLVED" in capsys.readouterr().out
    assert main(["overfit", "--epochs", "2"]) == 1
    assert "has a bug" in capsys.readouterr().out


def test_gradcheck_command_prints_a_table_and_passes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gradcheck"]) == 0
    out = capsys.readouterr().out
    for name in ("W1", "b1", "W2", "b2", "W3", "b3"):
        assert f"  {name} " in out
    assert "gradient check PASSED" in out
    assert "good" in out


def test_gradcheck_command_reports_kinks_instead_of_failing(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gradcheck", "--seed", "3"]) == 0  # seed 3 puts ReLU inputs on their kink
    assert "entries not judged" in capsys.readouterr().out


def test_gradcheck_command_exits_1_when_a_check_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gradcheck", "--tol", "1e-30"]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out
    assert "gradient check FAILED for" in out


@pytest.mark.parametrize("output", ["sigmoid", "linear"])
def test_gradcheck_command_covers_every_output(output: str) -> None:
    assert main(["gradcheck", "--output", output, "--activation", "tanh"]) == 0


def test_bad_arguments_give_a_clear_error_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gradcheck", "--sizes", "3,0,2"]) == 2
    assert "error: layer_sizes" in capsys.readouterr().err
    assert main(["gradcheck", "--sizes", "3,x,2"]) == 2
    assert "error: --sizes: expected comma-separated integers such as 2,3,1, got '3,x,2'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("xor", "--seed"),
        ("overfit", "--samples"),
        ("gradcheck", "--tol"),
        ("shapes", "--quiz"),
        ("demo", "embedded data"),
        ("train-cnn", "--resume"),
        ("trace", "--hidden"),
        ("graph", "--format"),
        ("plots", "--only"),
        ("check", "--impl"),
    ],
)
def test_every_subcommand_has_useful_help(command: str, expected: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    assert expected in capsys.readouterr().out


@pytest.mark.slow
def test_demo_runs_everything_and_summarises(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("torch")
    monkeypatch.chdir(tmp_path)  # the demo writes runs/demo/
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "=== summary ===" in out
    assert out.split("=== summary ===")[1].count(" pass") == 7
    assert "summary: 31 pass, 0 fail" in out  # the module's checklist and its extensions
    assert "conv1    6 filters 5x5" in out  # the LeNet shape table
    torch_run, numpy_run = out.split("test accuracy (fast on digits, 360 images): ")[1:]
    assert float(torch_run.split()[0]) >= 0.98
    assert float(numpy_run.split()[0]) >= 0.98  # the same network trained by backproplab's own backward passes
    assert "NumPy vs PyTorch: same prediction on 100.0000% of the test set" in out
    assert (tmp_path / "runs" / "demo" / "model.npz").is_file()


@pytest.mark.slow
def test_seed_entry_point_overfit_test_py_runs() -> None:
    done = subprocess.run(
        [sys.executable, "overfit_test.py"], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "Overfit test SOLVED" in done.stdout


@pytest.mark.slow
def test_console_script_is_installed() -> None:
    script = Path(sys.executable).with_name("backproplab")
    done = subprocess.run([script, "--version"], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0
    assert done.stdout.startswith("backproplab ")
