"""CNN training with PyTorch on the bundled digits: runs, files, export, resume, SIGINT, DDP, bad input."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

from backproplab.cnn.network import SpecNet

if TYPE_CHECKING:
    import torch
else:
    torch = pytest.importorskip("torch")

from backproplab.data.images import load_dataset
from backproplab.training.cli import main
from backproplab.training.config import parse_config
from backproplab.training.distributed import torchrun_command
from backproplab.training.models import build_model

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "train_cnn_pytorch.py"
QUICK = ["--dataset", "digits", "--quiet", "--no-download"]


def _weights(path: Path) -> dict[str, "torch.Tensor"]:
    state: dict[str, torch.Tensor] = torch.load(path, weights_only=True)["model"]
    return state


def _run_script(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=timeout, env=env, check=False
    )


def test_preset_defaults_fill_what_the_command_line_leaves_out() -> None:
    config = parse_config(["--preset", "lenet", "--lr", "0.5"])
    assert (config.optimizer, config.lr, config.batch_size) == ("adam", 0.5, 128)


def test_the_small_digits_set_trains_longer_unless_told_otherwise() -> None:
    assert parse_config(["--dataset", "digits"]).epochs == 30
    assert parse_config(["--dataset", "digits", "--epochs", "4"]).epochs == 4
    assert parse_config(["--dataset", "fashion-mnist", "--preset", "lenet"]).epochs == 3


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--preset", "resnet"], "unknown preset 'resnet'; choose one of ['fast', 'lenet']"),
        (["--dataset", "cifar"], "cifar"),
        (["--epochs", "0"], "must be positive"),
    ],
)
def test_bad_settings_exit_2_with_a_clear_error(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*QUICK, "--out", str(tmp_path), *argv]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.parametrize("preset", ["lenet", "fast"])
def test_every_preset_trains_exports_and_runs_unchanged_in_numpy(
    preset: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = tmp_path / "model.npz"
    argv = [*QUICK, "--preset", preset, "--epochs", "2", "--out", str(tmp_path), "--export", str(export)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "NumPy vs PyTorch: same prediction on" in out
    lines = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [m["epoch"] for m in lines] == [1, 2]
    for name in ("checkpoint.pt", "curves.png", "confusion.png"):
        assert (tmp_path / name).stat().st_size > 1000
    net = SpecNet.from_npz(export)
    data = load_dataset("digits")
    model = build_model(net.spec, net.input_shape)
    model.load_state_dict(torch.load(tmp_path / "checkpoint.pt", weights_only=True)["model"])
    model.eval()
    with torch.no_grad():
        theirs = model(torch.from_numpy(data.x_test)).numpy()
    ours = net.forward(data.x_test)
    assert np.abs(ours - theirs).max() <= 1e-4
    assert np.mean(ours.argmax(1) == theirs.argmax(1)) >= 0.999


@pytest.mark.slow
def test_an_interrupted_run_resumes_to_the_same_weights_as_an_uninterrupted_one(tmp_path: Path) -> None:
    common = [*QUICK, "--preset", "lenet", "--epochs", "3", "--batch-size", "4", "--deterministic"]
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    assert _run_script(*common, "--out", str(whole)).returncode == 0

    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [sys.executable, str(SCRIPT), *common, "--out", str(parts)], env=env, stdout=subprocess.DEVNULL
    )
    metrics = parts / "metrics.jsonl"
    deadline = time.monotonic() + 120
    while not (metrics.exists() and metrics.read_text().count("\n") >= 1) and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.3)  # into epoch 2: 360 batches of 4, about 1.5 s
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=120) == 130
    state = torch.load(parts / "checkpoint.pt", weights_only=True)
    assert (state["epoch"], state["batch"] > 0) == (1, True), "the interrupt should land mid-epoch"

    assert _run_script(*common, "--out", str(parts), "--resume").returncode == 0
    a, b = _weights(whole / "checkpoint.pt"), _weights(parts / "checkpoint.pt")
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    logs = [[json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()] for run in (whole, parts)]
    for key in ("train_loss", "train_acc", "test_loss", "test_acc"):
        assert [m[key] for m in logs[0]] == [m[key] for m in logs[1]], key


def test_a_corrupt_checkpoint_is_refused_and_left_untouched(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    checkpoint = tmp_path / "checkpoint.pt"
    checkpoint.write_bytes(b"not a checkpoint at all")
    assert main([*QUICK, "--out", str(tmp_path), "--resume"]) == 2
    assert "checkpoint.pt: not a readable checkpoint" in capsys.readouterr().err
    assert checkpoint.read_bytes() == b"not a checkpoint at all"


@pytest.mark.slow
def test_a_checkpoint_of_another_architecture_is_refused_and_left_untouched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*QUICK, "--preset", "lenet", "--epochs", "1", "--out", str(tmp_path)]) == 0
    before = (tmp_path / "checkpoint.pt").read_bytes()
    capsys.readouterr()
    assert main([*QUICK, "--preset", "fast", "--epochs", "2", "--out", str(tmp_path), "--resume"]) == 2
    assert "checkpoint of another network" in capsys.readouterr().err
    assert (tmp_path / "checkpoint.pt").read_bytes() == before


@pytest.mark.slow
def test_two_torchrun_processes_agree_with_each_other_and_with_one_process(tmp_path: Path) -> None:
    common = [*QUICK, "--preset", "lenet", "--epochs", "1", "--batch-size", "32", "--no-augment", "--deterministic"]
    single = _run_script(*common, "--out", str(tmp_path / "single"))
    assert single.returncode == 0, single.stderr
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    ddp = subprocess.run(
        torchrun_command(2, SCRIPT, [*common, "--out", str(tmp_path / "ddp")]),
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    digests = sorted(line.split()[-1] for line in ddp.stdout.splitlines() if "final weights sha256" in line)
    assert len(digests) == 2
    assert digests[0] == digests[1], "the two ranks ended with different weights"
    one = json.loads((tmp_path / "single" / "metrics.jsonl").read_text())
    two = json.loads((tmp_path / "ddp" / "metrics.jsonl").read_text())
    assert two["train_loss"] == pytest.approx(one["train_loss"], rel=1e-3)
    assert two["test_loss"] == pytest.approx(one["test_loss"], rel=1e-3)
