"""Train a spec network with backproplab's own NumPy layers: ``train_numpy(config)``, no PyTorch.

The same run as :func:`backproplab.training.loop.train` makes with PyTorch: the same data, network
spec, optimizer, schedule, label smoothing, shifts, per-epoch lines and ``metrics.jsonl``. Batch
order, shifts and dropout of epoch ``e``, batch ``b`` come from generators seeded with
``(seed, e, b)``, so a run resumed at any batch is the run that was never stopped. Ctrl-C finishes
the current batch, writes ``checkpoint.npz`` (weights, optimizer state, where it stopped; atomic,
no pickle) and stops; ``--resume`` continues from there.
"""

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from backproplab._io import load_npz, save_npz
from backproplab._typing import FloatArray, IntArray
from backproplab.cnn.network import SpecNet
from backproplab.cnn.spec import build
from backproplab.data.augment import shift_images
from backproplab.data.images import ImageDataset, load_dataset
from backproplab.fit import DivergenceError, EpochSums, History, NonFiniteGradientError, Start, fit_loop
from backproplab.layers import Dropout, Sequential
from backproplab.losses import softmax_cross_entropy
from backproplab.optim import Adam, AdamW, Momentum, Optimizer, global_norm
from backproplab.schedules import make_schedule
from backproplab.training.common import (
    Saved,
    TrainingInterruptedError,
    check_checkpoint,
    check_resume,
    diverged,
    log_epoch,
    open_run_folder,
    resume_note,
    seed_of,
    sigint_flag,
)
from backproplab.training.config import TrainConfig, preset_spec

FORMAT = "backproplab.numpy-checkpoint"
EVAL_BATCH = 1024  # images per evaluation forward pass


@dataclass
class NumpyResult:
    """A finished NumPy run: the network (inference mode), its spec, data and per-epoch history."""

    net: Sequential
    spec: str
    data: ImageDataset
    history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def test_accuracy(self) -> float:
        return float(self.history[-1]["test_acc"]) if self.history else float("nan")

    def export(self) -> SpecNet:
        """The trained network as a :class:`SpecNet` (the format both engines export and load)."""
        return SpecNet(self.spec, self.net.state(), self.data.input_shape, self.data.classes)


def make_optimizer(config: TrainConfig) -> Optimizer:
    """The optimizer ``config`` names, as the PyTorch engine builds it (SGD is Nesterov momentum 0.9)."""
    if config.optimizer == "sgd":
        return Momentum(config.lr, 0.9, nesterov=True, weight_decay=config.weight_decay)
    if config.optimizer == "adam":
        return Adam(config.lr, weight_decay=config.weight_decay)
    return AdamW(config.lr, weight_decay=config.weight_decay)


def smoothed_targets(y: IntArray, num_classes: int, smoothing: float, dtype: type[np.floating]) -> FloatArray:
    """Class ids ``(B,)`` -> target rows ``(B, K)``: ``1 - smoothing + smoothing / K`` on the class,
    ``smoothing / K`` elsewhere (``nn.CrossEntropyLoss(label_smoothing=...)``)."""
    target = np.full((len(y), num_classes), smoothing / num_classes, dtype=dtype)
    target[np.arange(len(y)), y] += 1.0 - smoothing
    return target


def evaluate(net: Sequential, x: FloatArray, y: IntArray) -> tuple[float, float]:
    """``(mean cross-entropy, accuracy)`` of ``net`` in inference mode on ``x: (N, C, H, W)``, ``y: (N,)``."""
    net.train(False)
    loss, correct = 0.0, 0
    for i in range(0, len(x), EVAL_BATCH):
        logits = net.forward(x[i : i + EVAL_BATCH])
        batch_loss, _ = softmax_cross_entropy(logits, y[i : i + EVAL_BATCH])
        loss += batch_loss * len(logits)
        correct += int((logits.argmax(axis=1) == y[i : i + EVAL_BATCH]).sum())
    net.train(True)
    return loss / len(x), correct / len(x)


def train_step(net: Sequential, opt: Optimizer, xb: FloatArray, target: FloatArray) -> tuple[float, FloatArray]:
    """Forward, loss, backward and one update on ``xb: (B, C, H, W)``; ``(mean loss, logits (B, K))``.

    A non-finite loss takes no update, and non-finite gradients raise :class:`NonFiniteGradientError`
    before the update: the training loop stops there and keeps the last finite weights.
    """
    logits = net.forward(xb)
    loss, dlogits = softmax_cross_entropy(logits, target)
    if np.isfinite(loss):
        net.backward_params(dlogits)
        grads = list(net.grads.values())
        norm = global_norm(grads)
        if not np.isfinite(norm):  # an overflow in the backward pass: no update from it
            raise NonFiniteGradientError(norm)
        opt.step(list(net.params.values()), grads)
    return loss, logits


def _save(path: Path, net: Sequential, opt: Optimizer, meta: dict[str, Any]) -> None:
    arrays = {f"model.{k}": v for k, v in net.state().items()}
    arrays |= {f"optim.{k}": v for k, v in opt.state().items()}
    save_npz(path, {"format": FORMAT, "version": 1, **meta}, arrays)


def saved(path: Path) -> Saved:
    """What the NumPy checkpoint at ``path`` holds for a report (see :class:`Saved`)."""
    meta, arrays = load_npz(path, FORMAT)
    state = {k[len("model.") :]: v for k, v in arrays.items() if k.startswith("model.")}
    c, h, w = meta["input_shape"]
    return Saved(meta["spec"], (c, h, w), state, list(meta["history"]))


def _load(
    path: Path, net: Sequential, opt: Optimizer, spec: str, input_shape: tuple[int, ...], config: TrainConfig
) -> dict[str, Any]:
    """Restore ``net`` and ``opt`` from ``path``; return its meta. ``ValueError`` for another network's file
    or settings that ``config`` may not change (:func:`check_resume`), before anything is loaded."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no checkpoint to resume from (train without --resume first)")
    meta, arrays = load_npz(path, FORMAT)
    check_checkpoint(path, meta, {k: v for k, v in arrays.items() if k.startswith("model.")}, spec, input_shape)
    check_resume(meta, config)
    try:
        net.load_state({k[len("model.") :]: v for k, v in arrays.items() if k.startswith("model.")})
        opt.load_state(
            {k[len("optim.") :]: v for k, v in arrays.items() if k.startswith("optim.")}, list(net.params.values())
        )
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from e
    return meta


def train_numpy(config: TrainConfig) -> NumpyResult:
    """Run training as configured with the NumPy engine; :class:`TrainingInterruptedError` after saving on SIGINT."""
    data = load_dataset(config.dataset, data_dir=config.data_dir, download=config.download)
    spec = preset_spec(config.preset, len(data.classes))
    net = build(spec, data.input_shape, seed=config.seed, dtype=np.float32)
    opt = make_optimizer(config)
    n, k = len(data.x_train), len(data.classes)
    steps_per_epoch = -(-n // config.batch_size)
    path = config.out / "checkpoint.npz"
    start, records = Start(), []
    if config.resume:
        meta = _load(path, net, opt, spec, data.input_shape, config)
        start = Start(meta["epoch"], meta["batch"], EpochSums(*meta["partial"]))
        records = meta["history"]
        if note := resume_note(meta, config, steps_per_epoch):  # the schedule is a function of the step and
            print(note, flush=True)  # the total: it takes the new total as it is
    open_run_folder(config, records)
    dropouts = [layer for layer in net.layers if isinstance(layer, Dropout)]
    shifts = [np.random.default_rng()]  # this batch's generator for the random shifts, set before each step
    history = History()

    def checkpoint(epoch: int, batch: int, sums: EpochSums) -> None:
        where = {"epoch": epoch, "batch": batch, "partial": [sums.loss_sum, sums.correct, sums.seen]}
        meta = where | {"history": records, "spec": spec, "input_shape": list(data.input_shape)}
        _save(path, net, opt, meta | {"config": config.to_dict()})

    def before_step(epoch: int, batch: int, sums: EpochSums) -> None:
        if stop[0]:
            checkpoint(epoch, batch, sums)
            raise TrainingInterruptedError(f"interrupted at epoch {epoch + 1}, batch {batch}; saved {path}")
        shifts[0] = np.random.default_rng(seed_of(config.seed, epoch, batch, 0, 1))
        for i, layer in enumerate(dropouts):
            layer.rng = np.random.default_rng(seed_of(config.seed, epoch, batch, 0, 2, i))

    def step(xb: FloatArray, yb: np.ndarray) -> tuple[float, int]:
        if config.augment:
            xb = shift_images(xb, shifts[0])
        loss, logits = train_step(net, opt, xb, smoothed_targets(yb, k, config.label_smoothing, np.float32))
        return loss, int((logits.argmax(axis=1) == yb).sum())

    def after_epoch(epoch: int, seconds: float) -> None:
        h = history
        record = {"epoch": epoch + 1, "train_loss": h.loss[-1], "train_acc": h.accuracy[-1]}
        record |= {"test_loss": h.val_loss[-1], "test_acc": h.val_accuracy[-1], "lr": h.lr[-1]}
        records.append(record | {"seconds": seconds, "engine": "numpy"})
        checkpoint(epoch + 1, 0, EpochSums())  # the checkpoint first: metrics.jsonl never runs ahead of it
        log_epoch(records, config)

    with sigint_flag() as stop, threadpool_limits(limits=config.threads):  # None: no limit
        try:
            fit_loop(
                step,
                list(net.params.values()),
                data.x_train,
                data.y_train,
                opt,
                config.epochs,
                config.batch_size,
                order_of=lambda epoch: np.random.default_rng(seed_of(config.seed, epoch)).permutation(n),
                history=history,
                schedule=make_schedule(config.schedule, config.lr, config.epochs * steps_per_epoch),
                validate=lambda: evaluate(net, data.x_test, data.y_test),
                before_step=before_step,
                after_epoch=after_epoch,
                start=start,
                batch_bar=config.verbose and sys.stderr.isatty(),
            )
        except DivergenceError as e:  # the loop kept the weights finite; the checkpoint was never touched
            raise diverged(e.loss, e.epoch - 1, e.batch, opt.lr, path, e.what) from e
    net.train(False)
    return NumpyResult(net, spec, data, records)
