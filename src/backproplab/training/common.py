"""What both training engines share, and nothing that needs PyTorch: seeds, Ctrl-C, the epoch log."""

import json
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

import numpy as np

from backproplab.training.config import TrainConfig


class TrainingInterruptedError(Exception):
    """Training stopped on SIGINT after saving a checkpoint."""


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


def log_epoch(record: dict[str, Any], config: TrainConfig) -> None:
    """Append the epoch's metrics to ``metrics.jsonl`` and, if verbose, print them."""
    with open(config.out / "metrics.jsonl", "a") as f:
        f.write(json.dumps(record) + "\n")
    if config.verbose:
        r = record
        print(
            f"epoch {r['epoch']:>3}/{config.epochs}  train loss {r['train_loss']:.4f} acc {r['train_acc']:.4f}  "
            f"test loss {r['test_loss']:.4f} acc {r['test_acc']:.4f}  ({r['seconds']:.1f} s)",
            flush=True,
        )
