"""train-cnn with no options, what ``--help`` says about each default, a rerun into a run's folder, what
the curves are labelled with, and one LeNet everywhere."""

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pytest
from threadpoolctl import threadpool_info

from backproplab.cnn.lenet import LeNet, lenet_spec
from backproplab.cnn.spec import build, parse_spec, shape_table
from backproplab.training import figures, numpy_engine
from backproplab.training.cli import main
from backproplab.training.common import RESUMABLE_CHANGES, check_resume
from backproplab.training.config import PRESET_DEFAULTS, TrainConfig, build_parser, parse_config, preset_spec

QUICK = ["--dataset", "digits", "--quiet", "--no-download"]
ONE_EPOCH = ["--preset", "lenet", "--epochs", "1", "--batch-size", "256"]
EARLIER = {"checkpoint.npz": b"an earlier run's checkpoint", "metrics.jsonl": b'{"epoch": 5}\n', "curves.png": b"old"}


def _help(monkeypatch: pytest.MonkeyPatch) -> str:
    """``--help`` with one line per option (whitespace collapsed within each)."""
    monkeypatch.setenv("COLUMNS", "1000")
    options = build_parser().format_help().split("options:\n", 1)[1]
    return "\n".join(" ".join(block.split()) for block in re.split(r"\n(?=  -)", options))


def _epochs(out: Path) -> list[int]:
    return [json.loads(line)["epoch"] for line in (out / "metrics.jsonl").read_text().splitlines()]


@pytest.fixture
def earlier(tmp_path: Path) -> Path:
    """A folder holding an earlier run's files, and a file of the user's."""
    out = tmp_path / "run"
    out.mkdir()
    for name, data in {**EARLIER, "notes.txt": b"mine"}.items():
        (out / name).write_bytes(data)
    return out


def _files(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in out.iterdir()}


def test_help_states_the_default_of_every_option(monkeypatch: pytest.MonkeyPatch) -> None:
    lines = _help(monkeypatch).splitlines()
    assert {"--epochs", "--threads", "--overwrite", "--out", "--quiet"} <= {line.split()[0] for line in lines}
    for line in lines:
        if not line.startswith("-h"):
            assert "(default: " in line, line


def test_help_spells_out_defaults_that_depend_on_the_dataset_or_preset(monkeypatch: pytest.MonkeyPatch) -> None:
    text = _help(monkeypatch)
    assert "epochs (default: 30 for digits; for mnist and fashion-mnist the preset's: 5 for fast, 3 for lenet)" in text
    assert "(default: 1 for digits; for mnist and fashion-mnist the libraries' own, one per core)" in text
    assert "peak learning rate (default: 0.004 for fast, 0.005 for lenet)" in text
    assert "optimizer (default: adamw for fast, adam for lenet)" in text
    assert "(default: runs/latest)" in text


@pytest.mark.parametrize("preset", sorted(PRESET_DEFAULTS))
def test_the_defaults_help_names_are_the_ones_parse_config_fills_in(
    preset: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = _help(monkeypatch)
    mnist = parse_config(["--dataset", "mnist", "--preset", preset])
    digits = parse_config(["--preset", preset])
    assert f"{mnist.epochs} for {preset}" in text
    assert f"{mnist.lr:g} for {preset}" in text
    assert (digits.epochs, digits.threads, mnist.threads) == (30, 1, None)
    assert f"{digits.epochs} for digits" in text


def test_no_options_train_the_fast_preset_on_digits_for_30_epochs_on_one_thread() -> None:
    config = parse_config([])
    assert (config.engine, config.dataset, config.preset) == ("torch", "digits", "fast")
    assert (config.epochs, config.batch_size, config.lr, config.schedule, config.threads) == (
        30,
        128,
        4e-3,
        "onecycle",
        1,
    )


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_default_command_reaches_98_percent_on_digits_within_10_seconds_of_training(
    seed: int, tmp_path: Path
) -> None:
    pytest.importorskip("torch")
    assert main(["--quiet", "--no-download", "--seed", str(seed), "--out", str(tmp_path)]) == 0
    history = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert history[-1]["test_acc"] >= 0.98
    assert sum(record["seconds"] for record in history) <= 10  # about 2 s on 2 busy cores (one thread)


@pytest.mark.parametrize("engine", ["numpy", "torch"])
def test_a_rerun_into_a_runs_folder_is_refused_and_changes_nothing(
    engine: str, earlier: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _files(earlier)
    assert main([*QUICK, "--engine", engine, "--out", str(earlier)]) == 2
    err = capsys.readouterr().err
    assert (
        f"error: --out {earlier} already holds a run (checkpoint.npz, metrics.jsonl, curves.png): pass --resume "
        "to continue it or --overwrite to start over"
    ) in err
    assert _files(earlier) == before


def test_a_folder_without_a_runs_files_is_used_as_it_is(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_bytes(b"mine")
    assert parse_config([*QUICK, "--out", str(tmp_path)]).out == tmp_path


def test_resume_and_overwrite_together_are_refused(earlier: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([*QUICK, "--out", str(earlier), "--resume", "--overwrite"])
    assert exit_info.value.code == 2
    assert "argument --overwrite: not allowed with argument --resume" in capsys.readouterr().err


@pytest.mark.parametrize("engine", ["numpy", "torch"])
def test_overwrite_starts_over_leaving_nothing_of_the_earlier_run(engine: str, earlier: Path) -> None:
    if engine == "torch":
        pytest.importorskip("torch")
    (earlier / "model.npz").write_bytes(b"the earlier run's export")
    argv = [*QUICK, *ONE_EPOCH, "--engine", engine, "--out", str(earlier), "--export", str(earlier / "model.npz")]
    assert main([*argv, "--overwrite"]) == 0
    assert _epochs(earlier) == [1]
    after = _files(earlier)
    assert after["notes.txt"] == b"mine"
    assert not [name for name, data in after.items() if data in EARLIER.values() or data.startswith(b"the earlier")]
    checkpoint = "checkpoint.npz" if engine == "numpy" else "checkpoint.pt"
    assert set(after) == {checkpoint, "metrics.jsonl", "curves.png", "confusion.png", "model.npz", "notes.txt"}


def test_a_crash_while_overwriting_removes_the_checkpoint_first_and_writes_nothing_new(
    earlier: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    unlink = Path.unlink

    def crash_at_the_metrics(self: Path, missing_ok: bool = False) -> None:
        if self.name == "metrics.jsonl":
            raise KeyboardInterrupt
        unlink(self, missing_ok=missing_ok)

    argv = [*QUICK, *ONE_EPOCH, "--engine", "numpy", "--out", str(earlier)]
    with monkeypatch.context() as m:
        m.setattr(Path, "unlink", crash_at_the_metrics)
        assert main([*argv, "--overwrite"]) == 130
    assert "may have lost the earlier run's files, some or all: start over with --overwrite" in capsys.readouterr().err
    assert set(_files(earlier)) == {"metrics.jsonl", "curves.png", "notes.txt"}  # no checkpoint to resume
    assert main(argv) == 2  # what is left still counts as a run
    assert "already holds a run (metrics.jsonl, curves.png)" in capsys.readouterr().err
    assert main([*argv, "--overwrite"]) == 0
    assert _epochs(earlier) == [1]
    assert numpy_engine.saved(earlier / "checkpoint.npz").history[0]["epoch"] == 1


def test_curve_labels_say_the_training_loss_is_smoothed_on_augmented_batches() -> None:
    labels = figures.curve_labels(TrainConfig(label_smoothing=0.1, augment=True))
    assert labels == {
        "train_loss": "training loss (label smoothing 0.1, augmented batches, running mean over the epoch)",
        "test_loss": "test loss (plain cross-entropy, after the epoch)",
        "train_acc": "training accuracy (augmented batches, running mean over the epoch)",
        "test_acc": "test accuracy (after the epoch)",
    }


def test_curve_labels_without_smoothing_or_augmentation_say_so() -> None:
    labels = figures.curve_labels(TrainConfig(label_smoothing=0.0, augment=False))
    assert (
        labels["train_loss"] == "training loss (plain cross-entropy, unaugmented batches, running mean over the epoch)"
    )
    assert labels["train_acc"] == "training accuracy (unaugmented batches, running mean over the epoch)"


def test_the_curves_legends_carry_the_labels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    drawn: list[Any] = []
    monkeypatch.setattr(figures, "_save", lambda fig, path: drawn.append(fig))
    history = [
        {"epoch": e, "train_loss": 1.0 / e, "test_loss": 0.9 / e, "train_acc": 0.5, "test_acc": 0.6} for e in (1, 2)
    ]
    config = TrainConfig(label_smoothing=0.05)
    figures.plot_curves(history, tmp_path / "curves.png", "a run", config)
    labels = figures.curve_labels(config)
    loss, accuracy = ([t.get_text() for t in ax.get_legend().get_texts()] for ax in drawn[0].axes)
    assert loss == [labels["train_loss"], labels["test_loss"]]
    assert accuracy == [labels["train_acc"], labels["test_acc"]]
    plt.close(drawn[0])


def test_the_lenet_preset_is_the_784_unit_lenet_that_backproplab_cnn_runs() -> None:
    spec = preset_spec("lenet", 10)
    assert spec == lenet_spec(10)
    rows = {row.name: row for row in shape_table(parse_spec(spec), (1, 28, 28))}
    assert rows["flatten"].shape == (784,)
    assert sum(row.params for row in rows.values()) == 107_786  # what `backproplab shapes` prints
    numpy_engine = build(spec, (1, 28, 28), seed=0, dtype=np.float32).state()  # what train_numpy builds
    assert {k: v.shape for k, v in numpy_engine.items()} == {k: v.shape for k, v in LeNet.random().params.items()}
    assert LeNet.random().params["fc1.weight"].shape == (120, 784)


def test_the_torch_lenet_preset_has_the_same_weights_shapes() -> None:
    pytest.importorskip("torch")
    from backproplab.training.models import build_model, state_dict_arrays

    model = build_model(preset_spec("lenet", 10), (1, 28, 28))
    assert {k: v.shape for k, v in state_dict_arrays(model).items()} == {
        k: v.shape for k, v in LeNet.random().params.items()
    }


@pytest.mark.parametrize(("stored", "asked"), [({"threads": 1}, {"threads": 2}), ({"overwrite": True}, {})])
def test_resume_may_change_the_threads_and_follow_an_overwrite(stored: dict[str, Any], asked: dict[str, Any]) -> None:
    checkpoint = {"config": TrainConfig(**stored).to_dict(), "epoch": 1, "batch": 0}
    check_resume(checkpoint, TrainConfig(resume=True, **asked))  # a ValueError if it refused
    assert set(stored) <= RESUMABLE_CHANGES


def _interrupt_recording(record: list[int], threads: Callable[[], int]) -> Callable[..., None]:
    def interrupt(*args: Any, **kwargs: Any) -> None:
        record.append(threads())
        raise KeyboardInterrupt

    return interrupt


def test_the_numpy_engine_trains_digits_on_one_blas_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seen: list[int] = []

    def blas_threads() -> int:
        return int(max(info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"))

    monkeypatch.setattr(numpy_engine, "fit_loop", _interrupt_recording(seen, blas_threads))
    assert main([*QUICK, "--engine", "numpy", "--out", str(tmp_path)]) == 130
    assert seen == [1]


def test_the_torch_engine_trains_digits_on_one_thread_and_restores_the_count(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    torch = pytest.importorskip("torch")
    from backproplab.training import loop

    before, seen = torch.get_num_threads(), list[int]()
    monkeypatch.setattr(loop, "_train", _interrupt_recording(seen, torch.get_num_threads))
    assert main([*QUICK, "--out", str(tmp_path)]) == 130
    assert seen == [1]
    assert torch.get_num_threads() == before
