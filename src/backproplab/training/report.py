"""After training: does the NumPy forward reproduce PyTorch? And pictures of the run.

``agreement`` runs the exported weights through :class:`backproplab.cnn.SpecNet` on the whole test
set and compares with PyTorch overall (argmax, largest logit difference) and layer by layer (the
largest difference of each layer's activations), so a learner sees exactly where two
implementations would part ways.
"""

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display needed
import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn

from backproplab._io import atomic_write
from backproplab.cnn.network import SpecNet


@dataclass
class Agreement:
    """NumPy vs PyTorch on the same weights and inputs."""

    argmax_agreement: float  # fraction of test images with the same predicted class
    max_logit_diff: float
    layers: list[tuple[str, float]]  # (layer, max |activation difference|) on the first images
    predictions: np.ndarray  # (N,) the NumPy forward's class ids, for the confusion matrix

    def lines(self) -> list[str]:
        out = [
            f"NumPy vs PyTorch: same prediction on {self.argmax_agreement:.4%} of the test set, "
            f"max |logit difference| {self.max_logit_diff:.2e}",
            "  layer      max |difference| of activations",
        ]
        out += [f"  {name:<10} {diff:.2e}" for name, diff in self.layers]
        return out


@torch.no_grad()
def agreement(model: nn.Module, net: SpecNet, x: np.ndarray, layer_images: int = 256) -> Agreement:
    """Compare ``model`` (eval mode, an ``nn.Sequential`` named like ``net``'s layers) and ``net`` on ``x``.

    The PyTorch side runs on a CPU copy of the model: on a GPU its default TF32 convolutions differ
    from float32 by about 1e-3 (2.4e-3 in the logits, measured on an H200), which would hide an
    export error of that size.
    """
    reference = model if next(model.parameters()).device.type == "cpu" else copy.deepcopy(model).cpu()
    reference.eval()
    model.eval()
    theirs = torch.cat([reference(torch.from_numpy(x[i : i + 1024])) for i in range(0, len(x), 1024)])
    ours = net.forward(x)
    layers = []
    a = torch.from_numpy(x[:layer_images])
    for (name, act), (child_name, child) in zip(
        net.activations(x[:layer_images]), reference.named_children(), strict=True
    ):
        assert name == child_name, f"layer {name} of the NumPy net faces {child_name} of the PyTorch model"
        a = child(a)
        layers.append((name, float(np.abs(act - a.numpy()).max())))
    return Agreement(
        float(np.mean(ours.argmax(1) == theirs.numpy().argmax(1))),
        float(np.abs(ours - theirs.numpy()).max()),
        layers,
        ours.argmax(1),
    )


def _save(fig: Any, path: Path) -> None:
    with atomic_write(path) as f:
        fig.savefig(f, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)


def plot_curves(history: list[dict[str, Any]], path: Path, title: str) -> None:
    """Loss and accuracy per epoch, train and test, side by side."""
    epochs = [h["epoch"] for h in history]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.8))
    for split in ("train", "test"):
        ax_loss.plot(epochs, [h[f"{split}_loss"] for h in history], marker="o", label=split)
        ax_acc.plot(epochs, [h[f"{split}_acc"] for h in history], marker="o", label=split)
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy", title="loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    _save(fig, path)


def plot_confusion(y_true: np.ndarray, y_pred: np.ndarray, classes: list[str], path: Path, title: str) -> None:
    """Confusion matrix: rows the true class, columns the predicted one, counts in the cells."""
    k = len(classes)
    counts = np.zeros((k, k), dtype=np.int64)
    np.add.at(counts, (y_true, y_pred), 1)
    fig, ax = plt.subplots(figsize=(0.55 * k + 2.5, 0.55 * k + 2))
    ax.imshow(counts, cmap="Blues")
    for i in range(k):
        for j in range(k):
            ax.text(
                j,
                i,
                str(counts[i, j]),
                ha="center",
                va="center",
                fontsize=7,
                color="white" if counts[i, j] > counts.max() / 2 else "black",
            )
    ax.set(xticks=range(k), yticks=range(k), xlabel="predicted", ylabel="true", title=title)
    ax.set_xticklabels(classes, rotation=45, ha="right")
    ax.set_yticklabels(classes)
    _save(fig, path)
