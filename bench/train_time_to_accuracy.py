"""Time to accuracy: training seconds each preset needs to reach a target test accuracy on Fashion-MNIST.

Each preset is trained with the library's own code path (``backproplab.training.loop.train`` for
``--engine torch``, ``backproplab.training.numpy_engine.train_numpy`` for ``--engine numpy``) on the
real Fashion-MNIST (60,000 training and 10,000 test images, never downloaded here) with its preset
defaults from ``backproplab.training.config``. After every epoch the 10,000 test images are scored;
the time to target is the cumulative *training* time (the ``seconds`` of each epoch in the history:
forward, backward and optimizer steps, augmentation included) up to the first epoch whose test
accuracy reaches the target. Evaluation and data loading are not counted.

Random shifts (``augment``) are off by default here, as with ``train-cnn --no-augment``: in 4 to 6 epochs
they cost Fashion-MNIST accuracy (see docs/benchmarks.md); ``--augment`` turns them on.

    python bench/train_time_to_accuracy.py [--engine torch|numpy] [--presets fast lenet] [--threads N]
                                           [--epochs E] [--lr LR] [--augment]

Targets on a 2-core CPU: PyTorch fast >= 92.5% within 60 s, PyTorch lenet >= 89% within 30 s, NumPy lenet
>= 89% within 60 s. The last line of output is a JSON object keyed by preset, with the engine named.
"""

import argparse
import json
import os
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
from _common import environment_lines
from threadpoolctl import threadpool_limits

from backproplab.training.config import PRESET_DEFAULTS, TrainConfig
from backproplab.training.loop import train
from backproplab.training.numpy_engine import train_numpy

DATASET = "fashion-mnist"
TARGETS = {"fast": 0.925, "lenet": 0.89}  # test accuracy to reach
BUDGETS_S = {"torch": {"fast": 60.0, "lenet": 30.0}, "numpy": {"lenet": 60.0}}  # training seconds; numpy fast: none


def preset_config(engine: str, preset: str, out: Path, overrides: dict[str, Any]) -> TrainConfig:
    """The config of ``train-cnn --engine ENGINE --dataset fashion-mnist --preset PRESET``, plus ``overrides``."""
    config = TrainConfig(
        engine=engine, dataset=DATASET, preset=preset, out=out, download=False, verbose=False, device="cpu"
    )
    return replace(config, **PRESET_DEFAULTS[preset], **overrides)


def run_preset(engine: str, preset: str, target: float, overrides: dict[str, Any]) -> dict[str, Any]:
    """Train ``preset``; print one line per epoch and a summary; return the figures of the JSON line."""
    with tempfile.TemporaryDirectory() as out:
        config = preset_config(engine, preset, Path(out), overrides)
        history = (train_numpy if engine == "numpy" else train)(config).history
    settings = ", ".join(
        f"{k} {getattr(config, k)}" for k in ("optimizer", "lr", "epochs", "batch_size", "schedule", "augment")
    )
    print(f"{preset} ({engine}): {settings}; target {target:.1%}")
    elapsed, reached = 0.0, None
    for h in history:
        elapsed += h["seconds"]
        hit = reached is None and h["test_acc"] >= target
        reached = elapsed if hit else reached
        mark = "  <- target" if hit else ""
        print(f"  epoch {h['epoch']:>2}  train {elapsed:6.1f} s  test acc {h['test_acc']:.4f}{mark}")
    threads = torch.get_num_threads()
    final = float(history[-1]["test_acc"])
    budget = BUDGETS_S[engine].get(preset)
    to_target = "never" if reached is None else f"{reached:.1f} s"
    verdict = "met" if reached is not None and budget is not None and reached <= budget else "missed"
    goal = "no time target" if budget is None else f"budget {budget:.0f} s: {verdict}"
    print(
        f"  {preset}: {to_target} to {target:.1%} ({goal}); "
        f"final {final:.4f} after {elapsed:.1f} s training; threads {threads}"
    )
    return {
        "engine": engine,
        "seconds_to_target": None if reached is None else round(reached, 2),
        "target": target,
        "budget_s": budget,
        "final_test_accuracy": round(final, 4),
        "train_seconds": round(elapsed, 2),
        "threads": threads,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engine", choices=["torch", "numpy"], default="torch", help="training engine")
    parser.add_argument("--presets", nargs="+", choices=sorted(TARGETS), default=["fast", "lenet"], help="presets")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="torch and BLAS threads")
    parser.add_argument("--epochs", type=int, help="epochs (preset default)")
    parser.add_argument("--lr", type=float, help="peak learning rate (preset default)")
    parser.add_argument("--batch-size", type=int, help="batch size (preset default)")
    parser.add_argument("--target", type=float, help="test accuracy to reach, for every preset (default per preset)")
    parser.add_argument("--augment", action="store_true", help="random 2-pixel shifts (default off)")
    args = parser.parse_args(argv)
    overrides = {k: v for k, v in {"epochs": args.epochs, "lr": args.lr, "batch_size": args.batch_size}.items() if v}
    overrides["augment"] = args.augment

    torch.set_num_threads(args.threads)
    results: dict[str, dict[str, Any]] = {}
    with threadpool_limits(limits=args.threads, user_api="blas"):
        print(f"time to accuracy on {DATASET}; seconds are training time only (evaluation excluded)")
        print("\n".join(environment_lines(args.threads)))
        for preset in args.presets:
            results[preset] = run_preset(args.engine, preset, args.target or TARGETS[preset], overrides)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
