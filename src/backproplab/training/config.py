"""Settings of a CNN training run: one typed dataclass, filled from the command line.

Defaults depend on the dataset and the preset (``lenet`` or ``fast``): each preset gets the optimizer,
learning rate, schedule and epochs that train it well, and the small bundled digits more epochs on one
thread; any flag given on the command line wins. :func:`parse_config` checks every value before the
run touches a file: a bad one is a ``ValueError`` naming the option.
"""

import argparse
import math
import os
import tempfile
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from backproplab.cnn.spec import LENET_SPEC
from backproplab.data.images import DATASETS, FILES, data_dir_files

PRESETS: dict[str, str] = {
    "lenet": LENET_SPEC,  # LeNet-5 with ReLU and max pooling, about 108k parameters at 28x28
    # pooling straight after each conv: batch norm and ReLU run on maps 4x smaller; a 128-unit hidden
    # layer (+0.5 points) paid for by 48, not 64, channels in conv3: 92.6-92.8% on Fashion-MNIST in 5
    # epochs of ~10 s on 2 cores, 321k parameters (bench/train_time_to_accuracy.py, docs/benchmarks.md)
    "fast": "conv16k3p1,pool2,bn,relu,conv32k3p1,pool2,bn,relu,conv48k3p1,bn,relu,flatten,fc128,relu,fc{num_classes}",
}
"""Training presets as spec strings; ``{num_classes}`` is filled in by :func:`preset_spec`."""


def preset_spec(name: str, num_classes: int) -> str:
    """The spec of preset ``name`` for ``num_classes`` outputs; ``ValueError`` lists the presets."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(sorted(PRESETS))}")
    return PRESETS[name].format(num_classes=num_classes)


# Per-preset defaults: what trains each network well on a 2-core CPU (see docs/benchmarks.md).
PRESET_DEFAULTS: dict[str, dict[str, Any]] = {
    "lenet": {"optimizer": "adam", "lr": 5e-3, "epochs": 3, "batch_size": 128, "schedule": "onecycle"},
    "fast": {"optimizer": "adamw", "lr": 4e-3, "epochs": 5, "batch_size": 128, "schedule": "onecycle"},
}


# Per-dataset defaults, before the preset's. The presets' epochs suit the 60,000 images of MNIST and
# Fashion-MNIST; the bundled digits have 1,437 training images of 8x8 and need more passes: with the
# fast preset, 30 epochs give 98.3-99.4% on the hold-out for seeds 0-9. Their products are too small
# to split over threads: on an idle 2-core machine one thread trains the 30 epochs as fast as two
# (about 1.7 s), and on a busy one a second thread mostly spins waiting for a core (two: 2-46 s,
# median 8 s; one: 1.6-2.9 s). The NumPy engine's BLAS alike: 3.9 s on one thread, 3.7-22 s on two.
DATASET_DEFAULTS: dict[str, dict[str, Any]] = {"digits": {"epochs": 30, "threads": 1}}

RUN_FILES = ("checkpoint.pt", "checkpoint.npz", "metrics.jsonl", "curves.png", "confusion.png")
"""The files a run writes in ``--out``, the checkpoint first: a folder holding any of them holds a run."""


@dataclass
class TrainConfig:
    """Everything that defines a run. Paths are where files go; only rank 0 writes them."""

    engine: str = "torch"  # torch (PyTorch autograd) or numpy (backproplab's own layers)
    dataset: str = "digits"  # digits (bundled, offline), mnist or fashion-mnist
    preset: str = "fast"  # network: lenet or fast
    epochs: int = 8
    batch_size: int = 128  # the global batch: split across processes under torchrun
    optimizer: str = "adamw"  # sgd, adam or adamw
    lr: float = 3e-3  # peak learning rate
    weight_decay: float = 5e-4
    schedule: str = "onecycle"  # onecycle, cosine or constant
    label_smoothing: float = 0.05
    augment: bool = True  # random shifts of up to 2 pixels
    seed: int = 0
    deterministic: bool = False  # deterministic algorithms: bit-identical reruns
    threads: int | None = None  # math threads on the CPU; None: the libraries' own choice (one per core)
    device: str = "auto"  # auto, cpu, cuda or mps
    out: Path = field(default_factory=lambda: Path("runs/latest"))  # checkpoints, metrics, plots
    data_dir: Path | None = None
    export: Path | None = None  # architecture + weights for the NumPy forward (.npz)
    resume: bool = False  # continue from out/checkpoint.pt
    overwrite: bool = False  # start over in an --out that holds a run
    download: bool = True
    verbose: bool = True

    def to_dict(self) -> dict[str, Any]:
        """Plain values only (paths as strings), as stored in checkpoints and metrics."""
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(self).items()}


def _by_preset(key: str) -> str:
    """A preset's default as help text: ``0.004 for fast, 0.005 for lenet``, or one value if they agree."""
    values = {name: PRESET_DEFAULTS[name][key] for name in sorted(PRESET_DEFAULTS)}
    shown = {name: f"{v:g}" if isinstance(v, float) else str(v) for name, v in values.items()}
    if len(set(shown.values())) == 1:
        return next(iter(shown.values()))
    return ", ".join(f"{v} for {name}" for name, v in shown.items())


def _by_dataset(key: str, otherwise: str) -> str:
    """A dataset's default as help text: ``30 for digits; for mnist and fashion-mnist <otherwise>``."""
    own = {name: defaults[key] for name, defaults in DATASET_DEFAULTS.items() if key in defaults}
    rest = " and ".join(name for name in DATASETS if name not in own)
    return "; ".join(f"{value} for {name}" for name, value in own.items()) + f"; for {rest} {otherwise}"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="train_cnn_pytorch.py",
        description="Train the CNN that backproplab.cnn runs in NumPy, with PyTorch or (--engine numpy) with "
        "backproplab's own backward passes: real images, checkpoints, "
        "metrics, plots, export to the NumPy forward and a layer-by-layer agreement report. Under "
        "`torchrun --nproc_per_node=N` it trains with DistributedDataParallel.",
    )
    p.add_argument(
        "--engine",
        default="torch",
        choices=["torch", "numpy"],
        help="torch (PyTorch autograd) or numpy (backproplab's hand-written backward passes) (default: %(default)s)",
    )
    p.add_argument(
        "--dataset", default="digits", help="digits (bundled, offline), mnist or fashion-mnist (default: %(default)s)"
    )
    p.add_argument(
        "--preset",
        default="fast",
        help="network: lenet (LeNet-5 style) or fast (conv + batch norm) (default: %(default)s)",
    )
    preset_epochs = f"the preset's: {_by_preset('epochs')}"
    p.add_argument("--epochs", type=int, help=f"epochs (default: {_by_dataset('epochs', preset_epochs)})")
    p.add_argument("--batch-size", type=int, help=f"global batch size (default: {_by_preset('batch_size')})")
    p.add_argument(
        "--optimizer", choices=["sgd", "adam", "adamw"], help=f"optimizer (default: {_by_preset('optimizer')})"
    )
    p.add_argument("--lr", type=float, help=f"peak learning rate (default: {_by_preset('lr')})")
    p.add_argument("--weight-decay", type=float, default=5e-4, help="weight decay (default: %(default)g)")
    p.add_argument(
        "--schedule",
        choices=["onecycle", "cosine", "constant"],
        help=f"learning-rate schedule (default: {_by_preset('schedule')})",
    )
    p.add_argument(
        "--label-smoothing",
        type=float,
        default=0.05,
        help="label smoothing of the training loss (default: %(default)g)",
    )
    p.add_argument(
        "--no-augment",
        dest="augment",
        action="store_false",
        help="turn off the random shifts of the training images (default: on, up to 2 pixels at 28x28, 1 at 8x8)",
    )
    p.add_argument(
        "--seed", type=int, default=0, help="seed for weights, shuffling and augmentation (default: %(default)s)"
    )
    p.add_argument(
        "--deterministic",
        action="store_true",
        help="deterministic algorithms: bit-identical reruns (default: off)",
    )
    own_threads = "the libraries' own, one per core"
    p.add_argument(
        "--threads",
        type=int,
        help=f"math threads on the CPU, PyTorch's or NumPy's BLAS (default: {_by_dataset('threads', own_threads)})",
    )
    p.add_argument(
        "--device",
        default="auto",
        choices=["auto", "cpu", "cuda", "mps"],
        help="device; auto takes cuda, else mps, else cpu (default: %(default)s)",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=Path("runs/latest"),
        help="folder for checkpoints, metrics, plots; one that holds a run needs --resume or --overwrite "
        "(default: %(default)s)",
    )
    p.add_argument(
        "--data-dir",
        type=Path,
        help="folder holding the dataset files, the only one read when given (default: none; then "
        "$BACKPROPLAB_DATA, ~/.cache/backproplab, /usr/share/datasets, then a download)",
    )
    p.add_argument(
        "--export", type=Path, help="write architecture + weights for the NumPy forward (.npz) (default: no export)"
    )
    run = p.add_mutually_exclusive_group()
    run.add_argument(
        "--resume",
        action="store_true",
        help="continue the run in OUT from its checkpoint, exactly where it stopped (default: off)",
    )
    run.add_argument(
        "--overwrite",
        action="store_true",
        help=f"start over in an OUT that holds a run, removing its {', '.join(RUN_FILES)} first (default: off)",
    )
    p.add_argument(
        "--no-download",
        dest="download",
        action="store_false",
        help="never touch the network (default: download a missing dataset)",
    )
    p.add_argument(
        "--quiet",
        dest="verbose",
        action="store_false",
        help="no progress bar and no line per epoch (default: both)",
    )
    return p


def parse_config(argv: list[str] | None = None) -> TrainConfig:
    """Command line -> :class:`TrainConfig`: what the command line left out comes from the dataset's
    defaults (:data:`DATASET_DEFAULTS`), then the preset's (:data:`PRESET_DEFAULTS`)."""
    args = build_parser().parse_args(argv)
    if args.preset not in PRESET_DEFAULTS:
        raise ValueError(f"unknown preset {args.preset!r}; choose one of {sorted(PRESET_DEFAULTS)}")
    values = {f.name: getattr(args, f.name) for f in fields(TrainConfig)}
    for defaults in (DATASET_DEFAULTS.get(args.dataset, {}), PRESET_DEFAULTS[args.preset]):
        for key, default in defaults.items():
            if values[key] is None:
                values[key] = default
    config = TrainConfig(**values)
    _check_numbers(config)
    _check_paths(config)
    _check_run_folder(config)
    return config


def _check_numbers(config: TrainConfig) -> None:
    """``ValueError`` naming the first option whose value is out of its range."""
    if config.dataset not in DATASETS:
        raise ValueError(f"--dataset {config.dataset!r}: expected one of {', '.join(DATASETS)}")
    if config.epochs < 1:
        raise ValueError(f"--epochs must be positive, got {config.epochs}")
    if config.batch_size < 1:
        raise ValueError(f"--batch-size must be positive, got {config.batch_size}")
    if config.threads is not None and config.threads < 1:
        raise ValueError(f"--threads must be positive, got {config.threads}")
    if not (math.isfinite(config.lr) and config.lr > 0):
        raise ValueError(f"--lr must be positive and finite, got {config.lr}")
    if not (math.isfinite(config.weight_decay) and config.weight_decay >= 0):
        raise ValueError(f"--weight-decay must be non-negative and finite, got {config.weight_decay}")
    if not 0 <= config.label_smoothing < 1:  # also refuses nan
        raise ValueError(f"--label-smoothing must be in [0, 1), got {config.label_smoothing}")
    if not 0 <= config.seed <= 2**32 - 1:  # the range NumPy's and PyTorch's seeds share
        raise ValueError(f"--seed must be in [0, 2**32 - 1], got {config.seed}")


def _check_paths(config: TrainConfig) -> None:
    """``ValueError`` unless the run can create ``--out``, write ``--export`` and read ``--data-dir``."""
    out = config.out
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out}: is a file, expected a folder")
    ancestor = next(p for p in [out.absolute(), *out.absolute().parents] if p.exists())
    if not ancestor.is_dir():
        raise ValueError(f"--out {out}: {ancestor} is a file, so no folder can be made under it")
    if not _writable(ancestor):
        raise ValueError(f"--out {out}: cannot write in {ancestor}")
    if (export := config.export) is not None:
        if export.suffix != ".npz":
            raise ValueError(f"--export {export}: expected a file name ending in .npz")
        if export.is_dir():
            raise ValueError(f"--export {export}: is a folder, expected a .npz file name")
        folder = export.absolute().parent
        if folder != out.absolute():  # an export into --out is fine: the run makes --out, checked above
            if not folder.is_dir():
                raise ValueError(f"--export {export}: the folder {folder} does not exist")
            if not _writable(folder):
                raise ValueError(f"--export {export}: cannot write in {folder}")
    if (data_dir := config.data_dir) is not None:
        if not data_dir.expanduser().is_dir():
            raise ValueError(f"--data-dir {data_dir}: not an existing folder")
        if config.dataset != "digits" and not config.download:
            folder, lacking = data_dir_files(config.dataset, data_dir)
            if len(lacking) == len(FILES):
                raise ValueError(
                    f"--data-dir {data_dir}: neither {data_dir / config.dataset} nor {data_dir} holds any of "
                    f"the {config.dataset} files {', '.join(FILES)} (and --no-download is given)"
                )
            if lacking:
                raise ValueError(
                    f"--data-dir {data_dir}: {folder} lacks {', '.join(lacking)} (and --no-download is given)"
                )


def _check_run_folder(config: TrainConfig) -> None:
    """``ValueError`` when ``--out`` holds a run (any of :data:`RUN_FILES`) and neither ``--resume`` nor
    ``--overwrite`` says what to do with it: a rerun never mixes its files with an earlier run's."""
    if config.resume or config.overwrite:
        return
    if held := [name for name in RUN_FILES if (config.out / name).is_file()]:
        raise ValueError(
            f"--out {config.out} already holds a run ({', '.join(held)}): pass --resume to continue it or "
            f"--overwrite to start over"
        )


def _writable(folder: Path) -> bool:
    """Whether a file can be made in ``folder``. ``os.access`` alone says yes to root in ``/proc`` or
    ``/sys``, where nothing can be made: a temporary folder is made and removed to be sure."""
    if not os.access(folder, os.W_OK | os.X_OK):
        return False
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".backproplab-probe-", dir=folder))
    except OSError:
        return False
    return True
