"""Pictures of a training run, whichever engine trained it: learning curves and the confusion matrix."""

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display needed
import matplotlib.pyplot as plt
import numpy as np

from backproplab._io import atomic_write


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
