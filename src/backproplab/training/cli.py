"""``backproplab train-cnn`` and ``scripts/train_cnn_pytorch.py``: one entry point, ``main(argv)``."""

import sys

from backproplab.training.config import parse_config
from backproplab.training.loop import TrainingInterruptedError, train
from backproplab.training.models import export_numpy
from backproplab.training.report import agreement, plot_confusion, plot_curves


def main(argv: list[str] | None = None) -> int:
    """Train, then (rank 0) report accuracy and NumPy/PyTorch agreement, draw plots, export. Exit status:
    0 done, 2 bad input, 130 interrupted (a checkpoint was saved: rerun with --resume)."""
    try:
        config = parse_config(argv)
        result = train(config)
    except TrainingInterruptedError as e:
        print(f"{e}\ncontinue with the same command and --resume", file=sys.stderr)
        return 130
    except (ValueError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if not result.world.main:
        return 0
    data, title = result.data, f"{config.preset} on {config.dataset}"
    input_shape = (data.x_train.shape[1], data.x_train.shape[2], data.x_train.shape[3])
    net = export_numpy(result.model, result.spec, input_shape)
    report = agreement(result.model, net, data.x_test)
    print(f"test accuracy ({config.preset} on {config.dataset}, {len(data.y_test)} images): {result.test_accuracy:.4f}")
    print("\n".join(report.lines()))
    plot_curves(result.history, config.out / "curves.png", title)
    plot_confusion(data.y_test, report.predictions, data.classes, config.out / "confusion.png", title)
    print(f"wrote {config.out}/checkpoint.pt, metrics.jsonl, curves.png, confusion.png")
    if config.export is not None:
        net.save_npz(config.export, classes=data.classes)
        print(f"exported architecture + weights for the NumPy forward to {config.export}")
    return 0
