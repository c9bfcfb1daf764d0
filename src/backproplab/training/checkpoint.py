"""Checkpoints: written atomically, read back without pickle (``torch.load(weights_only=True)``).

A checkpoint holds the model and optimizer states, the schedule's step count and where training
stands: ``epoch`` and ``batch`` (the next batch to run), so ``--resume`` continues exactly there.
"""

import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from backproplab._io import atomic_write
from backproplab.training.common import Saved, check_checkpoint

FORMAT = "backproplab.checkpoint"


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Write ``state`` (tensors, numbers, strings, lists and dicts of them) to ``path`` atomically."""
    with atomic_write(path) as f:
        torch.save({"format": FORMAT, "version": 1, **state}, f)


def load_checkpoint(path: Path, spec: str, input_shape: tuple[int, ...]) -> dict[str, Any]:
    """Read a checkpoint of a network with this ``spec`` and ``input_shape``; ``ValueError`` otherwise.

    Never unpickles arbitrary objects: a file that needs pickle is refused as corrupt.
    """
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no checkpoint to resume from (train without --resume first)")
    state = read_checkpoint(path)
    model = state.get("model")
    if not isinstance(model, dict):
        raise ValueError(f"{path}: its 'model' entry must be a state dict, got {type(model).__name__}")
    weights = {k: v.numpy() for k, v in model.items() if v.is_floating_point()}
    check_checkpoint(path, state, weights, spec, input_shape)
    return state


def read_checkpoint(path: Path) -> dict[str, Any]:
    """Every entry of the checkpoint at ``path``; ``ValueError`` for a file that is not one.

    Never unpickles arbitrary objects: a file that needs pickle is refused as corrupt.
    """
    try:
        state: dict[str, Any] = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, OSError, ValueError, zipfile.BadZipFile, pickle.UnpicklingError) as e:
        raise ValueError(f"{path}: not a readable checkpoint ({type(e).__name__}: {e})") from e
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ValueError(f"{path}: not a backproplab checkpoint")
    return state


def saved(path: Path) -> Saved:
    """What the PyTorch checkpoint at ``path`` holds for a report (see :class:`Saved`)."""
    state = read_checkpoint(path)
    arrays = {k: v.numpy().astype("float32") for k, v in state["model"].items() if not k.endswith("tracked")}
    c, h, w = state["input_shape"]
    return Saved(state["spec"], (c, h, w), arrays, list(state["history"]))
