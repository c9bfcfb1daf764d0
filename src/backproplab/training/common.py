"""What both training engines share, and nothing that needs PyTorch: seeds, Ctrl-C, ``--resume``
checks, the epoch log."""

import json
import math
import signal
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import numpy as np

from backproplab._io import atomic_write
from backproplab._validation import MetaRules, check_meta, check_weights
from backproplab.training.config import RUN_FILES, TrainConfig


class TrainingInterruptedError(Exception):
    """Training stopped on SIGINT after saving a checkpoint."""


@dataclass
class Saved:
    """What a checkpoint of either engine holds for a report: the network as PyTorch-named float32
    arrays, its spec and input shape, and the history of its finished epochs."""

    spec: str
    input_shape: tuple[int, int, int]
    arrays: dict[str, np.ndarray]
    history: list[dict[str, Any]]


class TrainingDivergedError(ValueError):
    """Training stopped at a non-finite loss, before writing anything of it."""


def diverged(
    value: float, epoch: int, batch: int, lr: float, checkpoint: Path, what: str = "loss"
) -> TrainingDivergedError:
    """The error for a ``what`` (``"loss"`` or ``"gradient norm"``) of ``value`` at ``epoch`` and ``batch``
    (both from 0): what happened, what is kept on disk, what to try."""
    kept = (
        f"{checkpoint} still holds the last finished epoch"
        if checkpoint.is_file()
        else "no epoch had finished, so there is no checkpoint"
    )
    return TrainingDivergedError(
        f"{what} became {value} at epoch {epoch + 1}, batch {batch}: training stopped and wrote nothing of it; "
        f"{kept}. Try a smaller --lr (now {lr:g}) or --optimizer adamw"
    )


def _count(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 10**7


def _sums(v: Any) -> bool:
    return isinstance(v, list) and len(v) == 3 and all(isinstance(x, int | float) and math.isfinite(x) for x in v)


CHECKPOINT_RULES: MetaRules = {
    "epoch": (_count, "a whole number of epochs, 0 to 10**7"),
    "batch": (_count, "a batch index, 0 to 10**7"),
    "partial": (
        lambda v: (
            isinstance(v, list) and len(v) == 3 and all(isinstance(x, int | float) and math.isfinite(x) for x in v)
        ),
        "the epoch's sums so far, 3 finite numbers",
    ),
    "history": (lambda v: isinstance(v, list) and all(isinstance(r, dict) for r in v), "a list of per-epoch records"),
}
"""What the bookkeeping of a checkpoint of either engine must hold to be resumed."""


def check_checkpoint(
    path: Path, meta: Mapping[str, Any], weights: Mapping[str, np.ndarray], spec: str, input_shape: tuple[int, ...]
) -> None:
    """``ValueError`` naming ``path`` unless the checkpoint holds this run's network (``spec`` on
    ``input_shape``), its bookkeeping keeps :data:`CHECKPOINT_RULES` and every weight is finite and fits
    in float32, the dtype both engines train in: the same checks as a model file."""
    if meta.get("spec") != spec or tuple(meta.get("input_shape", ())) != tuple(input_shape):
        raise ValueError(
            f"{path}: checkpoint of another network: it holds {meta.get('spec')!r} on inputs "
            f"{tuple(meta.get('input_shape', ()))}, this run builds {spec!r} on {tuple(input_shape)}"
        )
    check_meta(str(path), meta, CHECKPOINT_RULES)
    for name, array in weights.items():
        check_weights(f"{path}: {name}", array, np.float32)


def seed_of(*keys: int) -> int:
    """One seed from a tuple of ints such as ``(seed, epoch, batch, rank)``: batches get unrelated streams."""
    return int(np.random.SeedSequence(list(keys)).generate_state(1)[0])


@contextmanager
def sigint_flag() -> Iterator[list[bool]]:
    """While active, SIGINT sets ``flag[0]`` instead of raising, so the loop stops at a batch boundary."""
    flag = [False]

    def handler(signum: int, frame: FrameType | None) -> None:
        flag[0] = True

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)


# What --resume may change: where files go, how much is printed, where data comes from, which device
# and how many threads, and --epochs (checked apart). Any other setting changes the run the checkpoint
# is part of.
RESUMABLE_CHANGES = frozenset(
    {"epochs", "out", "export", "verbose", "download", "data_dir", "device", "threads", "resume", "overwrite"}
)


def _flag(key: str, value: Any) -> str:
    """A stored setting as the command line that asks for it, e.g. ``--optimizer adam``."""
    if key == "augment":
        return "shifts (no --no-augment)" if value else "--no-augment"
    if key == "deterministic":
        return "--deterministic" if value else "no --deterministic"
    name = "--" + key.replace("_", "-")
    return f"{name} {value:g}" if isinstance(value, float) else f"{name} {value}"


def check_resume(saved: dict[str, Any], config: TrainConfig) -> None:
    """``ValueError`` unless ``config`` may continue the checkpoint ``saved`` (its ``config``, ``epoch`` and
    ``batch``): every setting outside :data:`RESUMABLE_CHANGES` as stored, and ``--epochs`` at least the
    epochs it has started. Called before any state is loaded or any file is written."""
    stored: dict[str, Any] = saved.get("config", {})
    asked = config.to_dict()
    changed = [k for k in asked if k in stored and k not in RESUMABLE_CHANGES and stored[k] != asked[k]]
    if changed:
        was = ", ".join(_flag(k, stored[k]) for k in changed)
        now = ", ".join(_flag(k, asked[k]) for k in changed)
        raise ValueError(
            f"--resume: the checkpoint was trained with {was}, this run asks for {now}; resume with the same "
            f"setting or start a new run in another --out"
        )
    epoch, batch = int(saved["epoch"]), int(saved["batch"])
    started = epoch + 1 if batch else epoch  # an epoch stopped mid-way is finished on resuming
    if config.epochs < started:
        where = f"stopped in epoch {epoch + 1}" if batch else f"has finished {epoch} epochs"
        raise ValueError(
            f"--resume: the checkpoint {where}, this run asks for --epochs {config.epochs}; resume with "
            f"--epochs {started} or more, or start a new run in another --out"
        )


def resume_note(saved: dict[str, Any], config: TrainConfig, steps_per_epoch: int) -> str | None:
    """The line to print when ``--resume`` changes ``--epochs`` (the schedule then spans the new total);
    ``None`` when it does not."""
    before = saved.get("config", {}).get("epochs", config.epochs)
    if before == config.epochs:
        return None
    step = int(saved["epoch"]) * steps_per_epoch + int(saved["batch"])
    schedule = {"onecycle": "the one-cycle schedule", "cosine": "the cosine schedule"}.get(config.schedule)
    what = f"{schedule} is rebuilt over {config.epochs} epochs from step {step}" if schedule else "the lr is constant"
    return f"resuming with --epochs {config.epochs} instead of {before}: {what}"


def open_run_folder(config: TrainConfig, history: list[dict[str, Any]]) -> None:
    """Make ``--out``, remove the temporary files a killed run may have left in it (an atomic write
    that never finished: the file it was to replace is intact), on ``--overwrite`` remove the earlier
    run's files, and on ``--resume`` rewrite ``metrics.jsonl`` from the checkpoint's ``history``,
    whatever a crash left in it.

    ``--overwrite`` removes :data:`~backproplab.training.config.RUN_FILES`, the checkpoint first, and
    an ``--export`` inside ``--out``, all before this run writes anything: a crash part way leaves some
    of the earlier run's files and no checkpoint (nothing to resume, and a rerun is told the folder
    holds a run), never its files beside this run's.
    """
    config.out.mkdir(parents=True, exist_ok=True)
    for tmp in config.out.glob(".*.tmp"):
        tmp.unlink(missing_ok=True)
    if config.overwrite:
        export = [config.export] if config.export and config.export.absolute().parent == config.out.absolute() else []
        for path in [*(config.out / name for name in RUN_FILES), *export]:
            path.unlink(missing_ok=True)
    if config.resume:
        write_metrics(history, config.out)


def write_metrics(history: list[dict[str, Any]], out: Path) -> None:
    """``metrics.jsonl``, a line per finished epoch, written whole and atomically from ``history``.

    Each epoch ends by saving the checkpoint and then this file from the same history, and ``--resume``
    rewrites it from the checkpoint's history first: after a crash at any instant, the file never
    lists an epoch twice or one that the checkpoint does not hold.
    """
    with atomic_write(out / "metrics.jsonl") as f:
        f.write("".join(json.dumps(record) + "\n" for record in history).encode())


def log_epoch(history: list[dict[str, Any]], config: TrainConfig) -> None:
    """Write ``metrics.jsonl`` from ``history`` and, if verbose, print its last epoch."""
    write_metrics(history, config.out)
    if config.verbose:
        r = history[-1]
        print(
            f"epoch {r['epoch']:>3}/{config.epochs}  train loss {r['train_loss']:.4f} acc {r['train_acc']:.4f}  "
            f"test loss {r['test_loss']:.4f} acc {r['test_acc']:.4f}  ({r['seconds']:.1f} s)",
            flush=True,
        )
