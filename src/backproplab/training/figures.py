"""Pictures of a training run, whichever engine trained it: learning curves and the confusion matrix."""

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display needed
import matplotlib.pyplot as plt
import numpy as np

from backproplab._io import atomic_write
from backproplab.training.config import TrainConfig


def _save(fig: Any, path: Path) -> None:
    with atomic_write(path) as f:
        fig.savefig(f, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)


def curve_labels(config: TrainConfig) -> dict[str, str]:
    """What each curve of a run of ``config`` measured, keyed as the history is (``train_loss``, ...).

    The training figures are running means over the epoch's batches as they were trained on (weights
    changing, label-smoothed loss, shifted images); the test figures come from the weights at the
    end of the epoch, plain cross-entropy on the untouched test images: the two are not the same
    measurement, and the legend says how they differ.
    """
    batches = "augmented batches" if config.augment else "unaugmented batches"
    loss = f"label smoothing {config.label_smoothing:g}" if config.label_smoothing > 0 else "plain cross-entropy"
    return {
        "train_loss": f"training loss ({loss}, {batches}, running mean over the epoch)",
        "test_loss": "test loss (plain cross-entropy, after the epoch)",
        "train_acc": f"training accuracy ({batches}, running mean over the epoch)",
        "test_acc": "test accuracy (after the epoch)",
    }


def plot_curves(history: list[dict[str, Any]], path: Path, title: str, config: TrainConfig) -> None:
    """Loss and accuracy per epoch, train and test, side by side; the legend says what each curve
    measured (:func:`curve_labels`)."""
    epochs = [h["epoch"] for h in history]
    labels = curve_labels(config)
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 4.4))
    for split in ("train", "test"):
        for ax, key in ((ax_loss, f"{split}_loss"), (ax_acc, f"{split}_acc")):
            ax.plot(epochs, [h[key] for h in history], marker="o", label=labels[key])
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy", title="loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), fontsize=7.5)
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
