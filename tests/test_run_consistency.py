"""A training run never loses its last good state: a diverging run and a run killed at any instant.

Both engines stop at the first non-finite loss, say where, and write nothing of it: the checkpoint and
metrics.jsonl on disk are those of the last finished epoch (or absent). Each epoch saves its checkpoint
and then rewrites metrics.jsonl whole from the same history, so a SIGKILL at any instant followed by
``--resume`` lists every epoch exactly once, leaves no temporary file and ends with the weights of a
run that was never stopped.
"""

import importlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from backproplab._io import load_npz, save_npz
from backproplab.cnn import SpecNet
from backproplab.fit import NonFiniteGradientError
from backproplab.layers import Sequential
from backproplab.training import numpy_engine
from backproplab.training.cli import main
from backproplab.training.numpy_engine import FORMAT

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "train_cnn_pytorch.py"
DIGITS = ["--dataset", "digits", "--quiet", "--no-download"]
DIVERGING = ["--optimizer", "sgd", "--lr", "1e4", "--schedule", "constant", "--epochs", "4"]


def _metrics(out: Path) -> list[dict[str, float]]:
    path = out / "metrics.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.mark.parametrize("engine", ["numpy", "torch"])
def test_a_diverging_run_stops_naming_the_epoch_and_writes_no_nan(
    engine: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if engine == "torch":
        pytest.importorskip("torch")
    assert main(["--engine", engine, *DIGITS, *DIVERGING, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    # the first of the two to go: the loss, or the gradient norm (then before the update it would make)
    assert re.search(r"(loss|gradient norm) became (nan|-?inf) at epoch \d+, batch \d+", err), err
    assert "Try a smaller --lr (now 10000)" in err
    for record in _metrics(tmp_path):
        assert all(np.isfinite(v) for v in record.values() if isinstance(v, float)), record


def test_a_diverging_run_leaves_an_earlier_runs_files_as_they_were(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--engine", "numpy", *DIGITS, "--preset", "lenet", "--epochs", "1", "--out", str(tmp_path)]) == 0
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    capsys.readouterr()
    assert main(["--engine", "numpy", *DIGITS, "--preset", "lenet", *DIVERGING, "--out", str(tmp_path)]) == 2
    assert "already holds a run" in capsys.readouterr().err  # refused before training: no --resume or --overwrite
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    _, arrays = load_npz(tmp_path / "checkpoint.npz", FORMAT)
    assert all(np.isfinite(a).all() for a in arrays.values())


@pytest.mark.parametrize("engine", ["numpy", "torch"])
def test_a_run_diverging_after_a_good_epoch_still_plots_and_exports_that_epoch(
    engine: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    module: ModuleType = numpy_engine
    if engine == "torch":
        pytest.importorskip("torch")
        module = importlib.import_module("backproplab.training.loop")
    real_step, calls = module.train_step, [0]

    def nan_from_the_8th_step(*args: Any) -> tuple[float, Any]:
        calls[0] += 1
        loss, out = real_step(*args)
        return (float("nan") if calls[0] >= 8 else loss), out

    monkeypatch.setattr(module, "train_step", nan_from_the_8th_step)  # 6 batches an epoch: epoch 2
    export = tmp_path / "last.npz"
    argv = ["--engine", engine, *DIGITS, "--preset", "lenet", "--epochs", "3", "--batch-size", "256"]
    assert main([*argv, "--out", str(tmp_path), "--export", str(export)]) == 2
    err = capsys.readouterr().err
    assert "loss became nan at epoch 2, batch 1" in err
    assert "the last good state" in err
    assert [m["epoch"] for m in _metrics(tmp_path)] == [1]
    assert (tmp_path / "curves.png").stat().st_size > 1000
    net = SpecNet.from_npz(export)  # refuses non-finite weights
    assert net.classes == [str(d) for d in range(10)]


def _run(out: Path, *extra: str) -> subprocess.Popen[bytes]:
    argv = ["--engine", "numpy", *DIGITS, "--preset", "lenet", "--epochs", "3", "--batch-size", "32", *extra]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, str(SCRIPT), *argv, "--out", str(out)], env=env, stdout=subprocess.DEVNULL)


def _weights(out: Path) -> dict[str, np.ndarray]:
    _, arrays = load_npz(out / "checkpoint.npz", FORMAT)
    return {k: v for k, v in arrays.items() if k.startswith("model.")}


@pytest.mark.slow
def test_a_run_killed_at_20_random_instants_resumes_to_the_uninterrupted_result(tmp_path: Path) -> None:
    whole = tmp_path / "whole"
    started = time.monotonic()
    assert _run(whole).wait(timeout=300) == 0
    duration = time.monotonic() - started
    expected = _weights(whole)
    rng = random.Random(0)
    for i in range(20):
        out = tmp_path / f"killed{i}"
        proc = _run(out)
        time.sleep(rng.uniform(0.0, duration))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        resumed = _run(out, "--resume") if (out / "checkpoint.npz").exists() else _run(out)
        assert resumed.wait(timeout=300) == 0, f"instant {i}"
        assert [m["epoch"] for m in _metrics(out)] == [1, 2, 3], f"instant {i}"
        assert not [p.name for p in out.iterdir() if p.name.endswith(".tmp")], f"instant {i}"
        got = _weights(out)
        assert got.keys() == expected.keys()
        assert all(np.array_equal(got[k], expected[k]) for k in expected), f"instant {i}"


def test_a_non_finite_gradient_stops_the_numpy_run_before_its_update(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real, calls = Sequential.backward_params, [0]

    def inf_gradient_from_the_8th_step(self: Sequential, dy: np.ndarray) -> None:
        calls[0] += 1
        real(self, dy)
        if calls[0] >= 8:
            next(iter(self.grads.values()))[...] = np.inf  # as an overflow in the backward pass would

    monkeypatch.setattr(Sequential, "backward_params", inf_gradient_from_the_8th_step)
    argv = ["--engine", "numpy", *DIGITS, "--preset", "lenet", "--epochs", "3", "--batch-size", "256"]
    assert main([*argv, "--out", str(tmp_path)]) == 2
    assert "gradient norm became inf at epoch 2, batch 1" in capsys.readouterr().err
    assert [m["epoch"] for m in _metrics(tmp_path)] == [1]
    assert all(np.isfinite(a).all() for a in _weights(tmp_path).values())


def test_the_torch_step_refuses_a_non_finite_gradient_and_leaves_the_weights() -> None:
    torch = pytest.importorskip("torch")
    from backproplab.training import loop

    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 3))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    schedule = torch.optim.lr_scheduler.LambdaLR(opt, lambda _: 1.0)
    before = [p.detach().clone() for p in model.parameters()]
    model[1].weight.register_hook(lambda g: g * float("inf"))
    with pytest.raises(NonFiniteGradientError, match="the gradient norm is inf"):
        loop.train_step(model, opt, schedule, torch.nn.CrossEntropyLoss(), torch.ones(2, 1, 2, 2), torch.tensor([0, 1]))
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


@pytest.mark.parametrize("engine", ["numpy", "torch"])
def test_resuming_a_checkpoint_with_nan_weights_is_refused_naming_the_weight(
    engine: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--engine", engine, *DIGITS, "--preset", "lenet", "--epochs", "1", "--out", str(tmp_path)]
    if engine == "torch":
        torch = pytest.importorskip("torch")
        assert main(argv) == 0
        state = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
        state["model"]["fc1.weight"][0, 0] = float("nan")
        torch.save(state, tmp_path / "checkpoint.pt")
    else:
        assert main(argv) == 0
        meta, arrays = load_npz(tmp_path / "checkpoint.npz", FORMAT)
        arrays["model.fc1.weight"][0, 0] = np.nan
        save_npz(tmp_path / "checkpoint.npz", meta, arrays)
    name = next(tmp_path.glob("checkpoint.*"))
    before = name.read_bytes()
    capsys.readouterr()
    assert main([*argv[:-4], "--epochs", "2", "--out", str(tmp_path), "--resume"]) == 2
    assert re.search(r"fc1\.weight: expected finite values, found nan", capsys.readouterr().err)
    assert name.read_bytes() == before


def test_resuming_a_checkpoint_with_bookkeeping_out_of_range_is_refused_naming_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--engine", "numpy", *DIGITS, "--preset", "lenet", "--epochs", "1", "--out", str(tmp_path)]
    assert main(argv) == 0
    meta, arrays = load_npz(tmp_path / "checkpoint.npz", FORMAT)
    save_npz(tmp_path / "checkpoint.npz", meta | {"epoch": -1}, arrays)
    capsys.readouterr()
    assert main([*argv, "--resume"]) == 2
    assert "epoch must be a whole number of epochs, 0 to 10**7, got -1" in capsys.readouterr().err
