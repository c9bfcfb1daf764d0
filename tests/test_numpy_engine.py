"""CNN training with the NumPy engine: the same run as PyTorch's, resumable, exported to either engine.

PyTorch is the oracle: from the same weights, on the same batches, with the same optimizer, schedule,
weight decay and label smoothing, the NumPy engine's training steps give the same losses and weights
(float64). The rest is the engine's own: Ctrl-C and ``--resume``, checkpoints refused when they do
not fit, a diverging run, accuracy on the digits hold-out, and no PyTorch import on its path.
"""

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

from backproplab._io import load_npz
from backproplab.cnn import SpecNet
from backproplab.cnn.spec import build
from backproplab.data.images import load_dataset
from backproplab.optim import SGD, Adam, AdamW, Momentum, Optimizer
from backproplab.schedules import make_schedule
from backproplab.training import numpy_engine
from backproplab.training.cli import main
from backproplab.training.config import TrainConfig, preset_spec
from backproplab.training.numpy_engine import FORMAT, make_optimizer, smoothed_targets, train_step

if TYPE_CHECKING:
    import torch

    from backproplab.training import loop
    from backproplab.training.models import build_model, from_numpy
else:
    torch = pytest.importorskip("torch")
    from backproplab.training import loop
    from backproplab.training.models import build_model, from_numpy

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "train_cnn_pytorch.py"
QUICK = ["--engine", "numpy", "--dataset", "digits", "--quiet", "--no-download"]


def _weights(path: Path) -> dict[str, np.ndarray]:
    _, arrays = load_npz(path, FORMAT)
    return {k: v for k, v in arrays.items() if k.startswith("model.")}


# --- the same training step as PyTorch's ----------------------------------------------------------


@pytest.mark.parametrize("preset", ["lenet", "fast"])
@pytest.mark.parametrize("optimizer", ["sgd", "adam", "adamw"])
def test_twenty_steps_match_pytorch_from_the_same_weights(preset: str, optimizer: str) -> None:
    spec, shape, steps = preset_spec(preset, 10), (1, 8, 8), 20
    net = build(spec, shape, seed=0, dtype=np.float64)
    model = build_model(spec, shape).double()
    model.load_state_dict({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in net.state().items()}, strict=False)
    config = TrainConfig(optimizer=optimizer, lr=4e-3, weight_decay=5e-4, schedule="onecycle", label_smoothing=0.05)
    opt, schedule = make_optimizer(config), make_schedule(config.schedule, config.lr, steps)
    torch_opt = loop.make_optimizer(model, config)
    torch_schedule = loop.make_schedule(torch_opt, config, steps)
    loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    rng = np.random.default_rng(0)
    for step in range(steps):
        x, y = rng.random((8, *shape)), rng.integers(0, 10, 8)
        opt.set_hyperparameters(*schedule(step))
        ours, _ = train_step(net, opt, x, smoothed_targets(y, 10, config.label_smoothing, np.float64))
        theirs, _ = loop.train_step(model, torch_opt, torch_schedule, loss_fn, torch.from_numpy(x), torch.from_numpy(y))
        assert ours == pytest.approx(theirs, rel=1e-12, abs=1e-12), f"step {step}"
    state = model.state_dict()
    for key, value in net.state().items():
        np.testing.assert_allclose(value, state[key].numpy(), rtol=0, atol=1e-7, err_msg=key)


@pytest.mark.parametrize("name", ["onecycle", "cosine", "constant"])
@pytest.mark.parametrize("total", [1, 2, 7, 100])
def test_schedules_follow_torch_lr_schedulers_step_by_step(name: str, total: int) -> None:
    param = torch.nn.Parameter(torch.zeros(1))
    config = TrainConfig(optimizer="adam", lr=4e-3, schedule=name)
    torch_opt = loop.make_optimizer(torch.nn.Linear(1, 1), config)
    torch_opt = torch.optim.Adam([param], lr=config.lr)
    torch_schedule = loop.make_schedule(torch_opt, config, total)
    schedule = make_schedule(name, config.lr, total)
    for step in range(total):
        lr, momentum = schedule(step)
        group = torch_opt.param_groups[0]
        assert lr == pytest.approx(group["lr"], rel=1e-12)
        if momentum is not None:
            assert momentum == pytest.approx(group["betas"][0], rel=1e-12)
        torch_opt.step()
        torch_schedule.step()


def test_an_unknown_schedule_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="schedule must be onecycle, cosine or constant, got 'linear'"):
        make_schedule("linear", 0.1, 10)


@pytest.mark.parametrize("make", [lambda: SGD(0.1), lambda: Momentum(0.1, nesterov=True), Adam, AdamW])
def test_optimizer_state_saved_and_restored_continues_the_same_trajectory(make: Callable[[], Optimizer]) -> None:
    rng = np.random.default_rng(0)
    grads = [[rng.standard_normal((3, 2)), rng.standard_normal(2)] for _ in range(6)]
    whole_params, whole = [np.ones((3, 2)), np.zeros(2)], make()
    for g in grads:
        whole.step(whole_params, g)
    parts_params, first = [np.ones((3, 2)), np.zeros(2)], make()
    for g in grads[:3]:
        first.step(parts_params, g)
    saved = {k: v.copy() for k, v in first.state().items()}
    second = make()
    second.load_state(saved, parts_params)
    for g in grads[3:]:
        second.step(parts_params, g)
    assert second.t == whole.t == 6
    for a, b in zip(parts_params, whole_params, strict=True):
        np.testing.assert_array_equal(a, b)


def test_optimizer_state_of_other_shapes_is_refused_naming_them() -> None:
    opt = Adam()
    opt.step([np.ones(3)], [np.ones(3)])
    with pytest.raises(ValueError, match=r"m\.0: expected shape \(4,\), got \(3,\)"):
        Adam().load_state(opt.state(), [np.ones(4)])


# --- runs of the engine -------------------------------------------------------------------------


class _StopAtBatch:
    """Stands in for the Ctrl-C flag: reads True from the ``n``-th check on, as if SIGINT came then."""

    def __init__(self, n: int) -> None:
        self.checks, self.n = 0, n

    def __getitem__(self, index: int) -> bool:
        self.checks += 1
        return self.checks > self.n


def test_an_interrupted_run_resumes_to_the_same_weights_as_an_uninterrupted_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    common = [*QUICK, "--preset", "fast", "--epochs", "2", "--batch-size", "64"]  # 23 batches per epoch
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    assert main([*common, "--out", str(whole)]) == 0

    @contextmanager
    def stop_mid_epoch_two() -> Iterator[_StopAtBatch]:
        yield _StopAtBatch(23 + 9)

    monkeypatch.setattr(numpy_engine, "sigint_flag", stop_mid_epoch_two)
    assert main([*common, "--out", str(parts)]) == 130
    meta, _ = load_npz(parts / "checkpoint.npz", FORMAT)
    assert (meta["epoch"], meta["batch"]) == (1, 9)
    monkeypatch.undo()

    assert main([*common, "--out", str(parts), "--resume"]) == 0
    a, b = _weights(whole / "checkpoint.npz"), _weights(parts / "checkpoint.npz")
    assert a.keys() == b.keys()
    assert all(np.array_equal(a[k], b[k]) for k in a)
    logs = [[json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()] for run in (whole, parts)]
    for key in ("train_loss", "train_acc", "test_loss", "test_acc"):
        assert [m[key] for m in logs[0]] == [m[key] for m in logs[1]], key


@pytest.mark.slow
def test_sigint_saves_a_checkpoint_and_exits_130(tmp_path: Path) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    argv = [*QUICK, "--preset", "fast", "--epochs", "50", "--batch-size", "8", "--out", str(tmp_path)]
    proc = subprocess.Popen([sys.executable, str(SCRIPT), *argv], env=env, stdout=subprocess.DEVNULL)
    metrics = tmp_path / "metrics.jsonl"
    deadline = time.monotonic() + 120
    while not metrics.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=120) == 130
    meta, arrays = load_npz(tmp_path / "checkpoint.npz", FORMAT)
    assert meta["epoch"] >= 1
    assert any(k.startswith("optim.m.") for k in arrays)


def test_a_corrupt_checkpoint_is_refused_and_left_untouched(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    checkpoint = tmp_path / "checkpoint.npz"
    checkpoint.write_bytes(b"not a checkpoint at all")
    assert main([*QUICK, "--out", str(tmp_path), "--resume"]) == 2
    assert "checkpoint.npz: not a readable .npz file" in capsys.readouterr().err
    assert checkpoint.read_bytes() == b"not a checkpoint at all"


def test_a_checkpoint_of_another_architecture_is_refused_and_left_untouched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*QUICK, "--preset", "lenet", "--epochs", "1", "--out", str(tmp_path)]) == 0
    before = (tmp_path / "checkpoint.npz").read_bytes()
    capsys.readouterr()
    assert main([*QUICK, "--preset", "fast", "--epochs", "2", "--out", str(tmp_path), "--resume"]) == 2
    assert "checkpoint of another network" in capsys.readouterr().err
    assert (tmp_path / "checkpoint.npz").read_bytes() == before


def test_a_diverging_run_stops_with_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = [*QUICK, "--preset", "lenet", "--optimizer", "sgd", "--lr", "1e6", "--schedule", "constant"]
    assert main([*argv, "--out", str(tmp_path)]) == 2
    assert "loss became nan at epoch 1" in capsys.readouterr().err


@pytest.mark.slow
def test_numpy_fast_reaches_98_percent_on_the_digits_hold_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*QUICK, "--out", str(tmp_path)]) == 0  # train-cnn --engine numpy --dataset digits, as it is
    out = capsys.readouterr().out
    accuracy = float(out.split("test accuracy (fast on digits, 360 images): ")[1].split()[0])
    assert accuracy >= 0.98
    for name in ("checkpoint.npz", "curves.png", "confusion.png"):
        assert (tmp_path / name).stat().st_size > 1000


@pytest.mark.parametrize("preset", ["lenet", "fast"])
def test_a_numpy_trained_model_runs_in_pytorch_with_the_same_predictions(
    preset: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = tmp_path / "model.npz"
    assert main([*QUICK, "--preset", preset, "--epochs", "2", "--out", str(tmp_path), "--export", str(export)]) == 0
    net = SpecNet.from_npz(export)
    assert net.classes == [str(d) for d in range(10)]
    x = load_dataset("digits").x_test
    with torch.no_grad():
        theirs = from_numpy(net)(torch.from_numpy(x)).numpy()
    ours = net.forward(x)
    assert np.abs(ours - theirs).max() <= 1e-4
    assert np.array_equal(ours.argmax(1), theirs.argmax(1))


def test_the_numpy_engine_never_imports_torch(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from backproplab.training.cli import main\n"
        f"assert main({[*QUICK, '--preset', 'lenet', '--epochs', '1', '--out', str(tmp_path)]!r}) == 0\n"
        "assert 'torch' not in sys.modules, 'the NumPy engine imported torch'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "checkpoint.npz").is_file()
