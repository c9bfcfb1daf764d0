"""The training loop, written once: mini-batches, a schedule, a divergence guard, progress, a history.

It trains anything that can take one optimisation step on a batch (a :data:`Step`): ``MLP.fit``
and the CNN's NumPy engine (``backproplab train-cnn --engine numpy``) both run :func:`fit_loop`.
One epoch, spelled out::

    order = order_of(epoch)                      # a permutation of the N samples, or None
    for each batch of batch_size rows:
        optimizer.set_hyperparameters(*schedule(step))   # if there is a schedule
        loss, correct = step(X[rows], y[rows])           # forward, loss, backward, update
        if loss is not finite: restore, raise DivergenceError
    history gets the epoch's mean loss, accuracy, validation metrics and learning rate

The NumPy core: no PyTorch, no command line, no files; hooks let a caller add those around it.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from backproplab._typing import FloatArray, IntArray
from backproplab.optim import Optimizer
from backproplab.progress import Progress
from backproplab.schedules import Schedule


class NonFiniteGradientError(ArithmeticError):
    """Raised by a training step whose gradients are not finite, before it updates anything."""

    def __init__(self, norm: float) -> None:
        super().__init__(f"the gradient norm is {norm}")
        self.norm = norm


class DivergenceError(RuntimeError):
    """Training produced a non-finite loss (or gradient); the model was left with its last finite parameters."""

    def __init__(
        self, message: str, epoch: int, history: "History", loss: float, batch: int, what: str = "loss"
    ) -> None:
        super().__init__(message)
        self.epoch, self.batch, self.loss = epoch, batch, loss  # epoch counts from 1, batch from 0
        self.what = what  # "loss" or "gradient norm": what became ``loss``
        self.history = history


@dataclass
class History:
    """Per-epoch metrics: mean training loss, accuracy (classifiers), validation metrics, learning rate."""

    loss: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)


@dataclass
class EpochSums:
    """Running sums of one epoch: ``loss_sum`` (loss times batch size), ``correct`` and ``seen`` samples."""

    loss_sum: float = 0.0
    correct: int = 0
    seen: int = 0


Step = Callable[[FloatArray, np.ndarray], tuple[float, int]]
"""One optimisation step on a batch ``(X, y)``: ``(mean loss, correct predictions)`` (0 for a regressor).
When the loss is not finite it must leave the parameters as they were (no update); when a gradient is
not, it may raise :class:`NonFiniteGradientError`, also before any update."""
Validate = Callable[[], tuple[float, float | None]]
"""Scores the model on held-out data after each epoch: ``(mean loss, accuracy or None)``."""
Hook = Callable[[int, int, EpochSums], None]
"""Called before each step with ``(epoch, batch, sums so far)``; it may raise to stop the run."""


@dataclass
class Start:
    """Where a run begins: epoch, batch within it and its sums so far (not 0 when resuming)."""

    epoch: int = 0
    batch: int = 0
    sums: EpochSums = field(default_factory=EpochSums)


def fit_loop(
    step: Step,
    params: list[FloatArray],
    X: FloatArray,
    y: np.ndarray,
    optimizer: Optimizer,
    epochs: int,
    batch_size: int,
    order_of: Callable[[int], IntArray | None],
    classifier: bool = True,
    history: History | None = None,
    schedule: Schedule | None = None,
    validate: Validate | None = None,
    before_step: Hook | None = None,
    after_epoch: Callable[[int, float], None] | None = None,
    start: Start | None = None,
    progress: Progress | None = None,
    batch_bar: bool = False,
) -> History:
    """Train by ``step`` on ``X: (N, ...)``, ``y: (N, ...)`` for ``epochs``; return the :class:`History`.

    ``params`` are the arrays ``step`` updates in place (the divergence guard restores them).
    ``order_of(epoch)`` gives that epoch's sample order (``None``: as stored). A ``classifier``'s
    history has accuracies; a regressor's does not. ``schedule`` sets the optimizer's learning rate
    (and momentum) before each step. ``before_step`` runs before each step (it may raise to stop the
    run: a caller saves a checkpoint there on Ctrl-C). ``after_epoch(epoch, train_seconds)``
    runs once the epoch's history is written. ``progress`` shows a line or bar per epoch;
    ``batch_bar`` adds a bar over each epoch's batches on a terminal.

    A non-finite loss (or a step's :class:`NonFiniteGradientError`) raises :class:`DivergenceError` naming
    the epoch and batch; ``params`` stay
    finite (the current ones if they are, else those from the start of the failing epoch).
    """
    history = history if history is not None else History()
    start = start if start is not None else Start()
    n = X.shape[0]
    steps_per_epoch = -(-n // batch_size)
    last_finite = [p.copy() for p in params]
    # A diverging run overflows on its way to inf/nan; the loss check below tells the user, so
    # numpy's overflow warnings would only be noise.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for epoch in range(start.epoch, epochs):
            for good, p in zip(last_finite, params, strict=True):
                np.copyto(good, p)  # finite: they gave finite losses all through the last epoch
            order = order_of(epoch)
            first = start.batch if epoch == start.epoch else 0
            sums = start.sums if epoch == start.epoch else EpochSums()
            started = time.perf_counter()
            batches = range(first, steps_per_epoch)
            bar = tqdm(batches, desc=f"epoch {epoch + 1}/{epochs}", leave=False, disable=not batch_bar)
            for batch in bar:
                if before_step is not None:
                    before_step(epoch, batch, sums)
                lo = batch * batch_size
                # Gather one batch at a time (cheaper than copying the whole shuffled set), its rows in
                # ascending order: the same batch, but read front to back memory is about 3x faster to gather.
                rows = slice(lo, lo + batch_size) if order is None else np.sort(order[lo : lo + batch_size])
                xb, yb = X[rows], y[rows]
                if schedule is not None:
                    optimizer.set_hyperparameters(*schedule(epoch * steps_per_epoch + batch))
                try:
                    loss, correct = step(xb, yb)
                except NonFiniteGradientError as e:
                    what = "gradient norm"
                    raise _diverged(params, e.norm, epoch, batch, lo, optimizer, last_finite, history, what) from e
                if not np.isfinite(loss):
                    raise _diverged(params, loss, epoch, batch, lo, optimizer, last_finite, history)
                sums.loss_sum += loss * xb.shape[0]
                sums.correct += correct
                sums.seen += xb.shape[0]
            seconds = time.perf_counter() - started
            _record(history, sums, optimizer.lr, classifier, validate)
            if after_epoch is not None:
                after_epoch(epoch, seconds)
            if progress is not None:
                metrics = {"loss": history.loss[-1]} | ({"acc": history.accuracy[-1]} if history.accuracy else {})
                progress.report(epoch, **metrics)
    return history


def _record(history: History, sums: EpochSums, lr: float, classifier: bool, validate: Validate | None) -> None:
    history.loss.append(sums.loss_sum / max(sums.seen, 1))
    if classifier:
        history.accuracy.append(sums.correct / max(sums.seen, 1))
    history.lr.append(lr)
    if validate is not None:
        val_loss, val_accuracy = validate()
        history.val_loss.append(val_loss)
        if val_accuracy is not None:
            history.val_accuracy.append(val_accuracy)


def _diverged(
    params: list[FloatArray],
    loss: float,
    epoch: int,
    batch: int,
    start: int,
    opt: Optimizer,
    epoch_start: list[FloatArray],
    history: History,
    what: str = "loss",
) -> DivergenceError:
    """Leave the model with its last finite parameters and build the error that explains what happened.

    The current parameters gave the non-finite loss. If they are finite they are the last finite
    ones and stay. If not (NaN or inf spreads through every later layer, so the loss before the
    last update was still finite), the last finite parameters we hold are those from the start
    of the epoch: copying them every step instead would cost a few percent of training speed.
    """
    if all(np.isfinite(p).all() for p in params):
        kept = "the model keeps its current parameters, which are finite"
    else:
        for good, p in zip(epoch_start, params, strict=True):
            np.copyto(p, good)
        kept = f"the parameters were restored to their finite values from the start of epoch {epoch + 1}"
    return DivergenceError(
        f"{what} became {loss} at epoch {epoch + 1} (batch starting at sample {start}); {kept}. "
        f"Try a smaller learning rate (now {opt.lr:g}) or clip_norm.",
        epoch + 1,
        history,
        loss,
        batch,
        what,
    )
