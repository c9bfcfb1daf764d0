"""Ordinary events never show a traceback: Ctrl-C (a real SIGINT) in any command, and a missing PyTorch."""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from backproplab.cli import main

ROOT = Path(__file__).resolve().parents[1]
PNG_START, PNG_END = b"\x89PNG\r\n\x1a\n", b"IEND\xaeB`\x82"  # a PNG's signature and its last chunk


def _start(argv: list[str], cwd: Path = ROOT) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}  # each line as it is printed, as in a terminal
    proc = subprocess.Popen(
        [sys.executable, "-m", "backproplab.cli", *argv],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    watchdog = threading.Timer(120, proc.kill)  # a hung command fails the test instead of hanging it
    watchdog.daemon = True
    watchdog.start()
    return proc


def _interrupt(proc: subprocess.Popen[str]) -> tuple[int, str]:
    """Send Ctrl-C's SIGINT; the exit status and what the command wrote to stderr."""
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    return proc.returncode, err


def _interrupt_after_first_line(argv: list[str], cwd: Path = ROOT) -> tuple[int, str, str]:
    proc = _start(argv, cwd)
    assert proc.stdout is not None
    first = proc.stdout.readline()  # it has started working
    assert first, proc.communicate()[1]
    code, err = _interrupt(proc)
    return code, first, err


def _one_line_naming(err: str, command: str) -> str:
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"backproplab {command}: interrupted (Ctrl-C)")
    return lines[0]


@pytest.mark.parametrize("command", ["xor", "overfit"])
def test_ctrl_c_in_training_exits_130_with_one_line(command: str) -> None:
    code, first, err = _interrupt_after_first_line([command, "--epochs", "100000000"])
    assert "100000000" in first  # the header comes before the training it announces
    assert code == 130
    assert _one_line_naming(err, command).endswith("nothing was saved")


def test_ctrl_c_in_plots_leaves_only_complete_pngs(tmp_path: Path) -> None:
    out = tmp_path / "figs"
    code, first, err = _interrupt_after_first_line(["plots", "--out", str(out)])
    assert first.startswith("[1/5] activations:")
    assert code == 130
    line = _one_line_naming(err, "plots")
    assert "activations" in line
    assert "no partial file" in line
    files = sorted(out.iterdir())
    assert out / "activations.png" in files
    for path in files:  # no temporary file left, and every PNG complete
        assert path.suffix == ".png", path
        data = path.read_bytes()
        assert data.startswith(PNG_START)
        assert data.endswith(PNG_END), path


def _children(pid: int) -> list[int]:
    return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def test_ctrl_c_in_check_stops_its_worker() -> None:
    learner = ROOT / "tests" / "learner_solutions" / "broken_infinite_loop.py"  # sgd never returns
    proc = _start(["check", "--impl", str(learner), "--exercise", "7.6", "--timeout", "60"])
    deadline = time.monotonic() + 60
    while not _children(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    [worker] = _children(proc.pid)
    time.sleep(1.0)  # the worker imports the learner's file and enters its endless loop
    code, err = _interrupt(proc)
    assert code == 130
    _one_line_naming(err, "check")
    assert not Path(f"/proc/{worker}").exists(), "the check's worker outlived it"


def test_ctrl_c_in_a_learners_endless_loop_under_trace_impl(tmp_path: Path) -> None:
    endless = tmp_path / "endless.py"
    endless.write_text(
        "def forward(X, W1, b1, W2, b2):\n"
        "    print('forward started', flush=True)\n"
        "    while True:\n"
        "        pass\n\n"
        "def backward(y, cache, W2):\n"
        "    return ()\n"
    )
    code, first, err = _interrupt_after_first_line(["trace", "--impl", str(endless)])
    assert first == "forward started\n"
    assert code == 130
    _one_line_naming(err, "trace")


def test_train_cnn_without_torch_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now raises ModuleNotFoundError
    monkeypatch.delitem(sys.modules, "backproplab.training.loop", raising=False)  # imported again, without torch
    assert main(["train-cnn", "--epochs", "1"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.startswith("error: train-cnn needs PyTorch: pip install torch==2.13.0")
    assert "--engine numpy" in err
