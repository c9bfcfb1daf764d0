"""``backproplab train-cnn`` and ``scripts/train_cnn_pytorch.py``: one entry point, ``main(argv)``.

``--engine torch`` (the default) trains with PyTorch; ``--engine numpy`` trains the same network with
backproplab's own layers and never imports PyTorch. Either way the run ends with the same report,
plots and export (a :class:`~backproplab.cnn.SpecNet` ``.npz`` that both engines load).
"""

import sys
from dataclasses import dataclass, field
from typing import Any

from backproplab._typing import IntArray
from backproplab.cnn.network import SpecNet
from backproplab.data.images import CLASSES, ImageDataset
from backproplab.training.common import TrainingDivergedError, TrainingInterruptedError
from backproplab.training.config import TrainConfig, parse_config
from backproplab.training.figures import plot_confusion, plot_curves


@dataclass
class Outcome:
    """What either engine hands to the report: the trained network for NumPy inference, and its run."""

    net: SpecNet
    data: ImageDataset
    history: list[dict[str, Any]]
    predictions: IntArray  # (M,) class ids on the test set
    checkpoint: str  # file name in --out
    lines: list[str] = field(default_factory=list)  # engine-specific report lines


@dataclass
class Stage:
    """Where the run stands, as the line Ctrl-C prints there (the training loop handles its own)."""

    interrupted: str = "interrupted before training started; nothing was written"

    def trained(self, config: TrainConfig, checkpoint: str) -> None:
        self.interrupted = (
            f"interrupted after training; {config.out}/{checkpoint} holds the last epoch, the report was not "
            "finished (rerun with --resume to write it)"
        )


def _train_numpy(config: TrainConfig, stage: Stage) -> Outcome:
    from backproplab.training.numpy_engine import train_numpy

    result = train_numpy(config)
    stage.trained(config, "checkpoint.npz")
    net = result.export()
    return Outcome(net, result.data, result.history, net.predict(result.data.x_test), "checkpoint.npz")


def _train_torch(config: TrainConfig, stage: Stage) -> Outcome | None:
    """PyTorch training; ``None`` on ranks other than 0 under torchrun (rank 0 reports)."""
    from backproplab.training.loop import train  # imports torch: only for this engine
    from backproplab.training.models import export_numpy
    from backproplab.training.report import agreement

    result = train(config)
    stage.trained(config, "checkpoint.pt")
    if not result.world.main:
        return None
    net = export_numpy(result.model, result.spec, result.data.input_shape)
    report = agreement(result.model, net, result.data.x_test)
    return Outcome(net, result.data, result.history, report.predictions, "checkpoint.pt", report.lines())


def _report_last_good(config: TrainConfig) -> None:
    """After a diverging run: curves and ``--export`` from the checkpoint of its last finished epoch, if
    it finished one. The checkpoint in ``--out`` is this run's: a run starts only in a folder without
    one, or after ``--overwrite`` removed it, or (``--resume``) continues it."""
    name = "checkpoint.npz" if config.engine == "numpy" else "checkpoint.pt"
    path = config.out / name
    if not path.is_file():
        return
    if config.engine == "numpy":
        from backproplab.training.numpy_engine import saved
    else:
        from backproplab.training.checkpoint import saved
    state = saved(path)
    if not state.history:
        return
    title = f"{config.preset} on {config.dataset} ({config.engine}), until it diverged"
    plot_curves(state.history, config.out / "curves.png", title, config)
    wrote = [str(config.out / "curves.png")]
    if config.export is not None:
        net = SpecNet(state.spec, state.arrays, state.input_shape)
        net.save_npz(config.export, classes=CLASSES[config.dataset])
        wrote.append(str(config.export))
    print(f"wrote {' and '.join(wrote)} from {path}: the last good state", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Train, then report accuracy, draw plots, export. Exit status: 0 done, 2 bad input,
    130 interrupted (in training a checkpoint was saved: rerun with --resume). Ctrl-C at any
    stage prints one line saying what is on disk, never a traceback."""
    stage = Stage()
    try:
        return _main(argv, stage)
    except KeyboardInterrupt:
        print(stage.interrupted, file=sys.stderr)
        return 130


def _main(argv: list[str] | None, stage: Stage) -> int:
    try:
        config = parse_config(argv)
        if config.resume:
            stage.interrupted = f"interrupted before training resumed; the checkpoint in {config.out} is as it was"
        if config.overwrite:
            stage.interrupted = (
                f"interrupted before training started; nothing of this run was written, and {config.out} may have "
                "lost the earlier run's files, some or all: start over with --overwrite"
            )
        outcome = _train_numpy(config, stage) if config.engine == "numpy" else _train_torch(config, stage)
    except TrainingInterruptedError as e:
        print(f"{e}\ncontinue with the same command and --resume", file=sys.stderr)
        return 130
    except TrainingDivergedError as e:
        print(f"error: {e}", file=sys.stderr)
        _report_last_good(config)
        return 2
    except (ValueError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if outcome is None:
        return 0
    data, title = outcome.data, f"{config.preset} on {config.dataset} ({config.engine})"
    accuracy = outcome.history[-1]["test_acc"]
    print(f"test accuracy ({config.preset} on {config.dataset}, {len(data.y_test)} images): {accuracy:.4f}")
    for line in outcome.lines:
        print(line)
    plot_curves(outcome.history, config.out / "curves.png", title, config)
    plot_confusion(data.y_test, outcome.predictions, data.classes, config.out / "confusion.png", title)
    print(f"wrote {config.out}/{outcome.checkpoint}, metrics.jsonl, curves.png, confusion.png")
    if config.export is not None:
        outcome.net.save_npz(config.export, classes=data.classes)
        print(f"exported architecture + weights for the NumPy forward to {config.export}")
    return 0
