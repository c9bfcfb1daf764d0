"""What both training engines share, and nothing that needs PyTorch: seeds, Ctrl-C, the epoch log."""

import json
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

import numpy as np

from backproplab._io import atomic_write
from backproplab.training.config import TrainConfig


class TrainingInterruptedError(Exception):
    """Training stopped on SIGINT after saving a checkpoint."""


class TrainingDivergedError(ValueError):
    """Training stopped at a non-finite loss, before writing anything of it."""


def diverged(loss: float, epoch: int, batch: int, lr: float, checkpoint: Path) -> TrainingDivergedError:
    """The error for a loss of ``loss`` at ``epoch`` and ``batch`` (both from 0): what happened, what is
    kept on disk, what to try."""
    kept = (
        f"{checkpoint} still holds the last finished epoch"
        if checkpoint.is_file()
        else "no epoch had finished, so there is no checkpoint"
    )
    return TrainingDivergedError(
        f"loss became {loss} at epoch {epoch + 1}, batch {batch}: training stopped and wrote nothing of it; "
        f"{kept}. Try a smaller --lr (now {lr:g}) or --optimizer adamw"
    )


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


def prepare_out(out: Path) -> None:
    """Create the run folder and remove the temporary files a killed run may have left in it (an atomic
    write that never finished: the file it was to replace is intact)."""
    out.mkdir(parents=True, exist_ok=True)
    for tmp in out.glob(".*.tmp"):
        tmp.unlink(missing_ok=True)


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
