"""The training state machine behind the playground: start, pause, one step, reset.

A :class:`Session` owns the data, the settings, one engine and everything shown about the run:
the objective of every step, the train/test data loss and accuracy and the penalty at every
evaluation, the last gradient norms. It never touches a UI; the Streamlit page keeps one per
browser session and calls it.
"""

import math
import time
from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from backproplab._typing import FloatArray, IntArray
from backproplab.gradcheck import ParamCheck, check_mlp_gradients
from backproplab.losses import mse_loss, sigmoid_binary_cross_entropy, softmax_cross_entropy
from backproplab.neural_network import MLP
from backproplab.playground.config import EngineName, OutputName, TrainConfig
from backproplab.playground.datasets import Data
from backproplab.playground.engines import Engine, StepResult, make_engine, mlp_with_weights

MAX_STEPS_PER_CALL = 2000  # one call of advance() never runs longer than this many steps
MAX_STEPS = 200_000  # a session stops by itself here, so an open tab cannot train (and grow) forever
MAX_AGREEMENT_STEPS = 500  # the engine comparison replays at most this many steps
GRADCHECK_POINTS = 16  # the gradient check's batch: 4 forwards per parameter, so keep it small


@dataclass(frozen=True)
class Metrics:
    """The data loss (no penalty: the train/test gap shows overfitting) and accuracy on the whole training
    set and test set (test ones None without a test set; accuracies None for regression, whose loss is the
    mean squared error) after ``step`` steps, and the weights' ``penalty`` then (0 without regularization)."""

    step: int
    epoch: int
    train_loss: float
    train_acc: float | None
    test_loss: float | None
    test_acc: float | None
    penalty: float = 0.0


def loss_and_accuracy(logits: FloatArray, y: IntArray | FloatArray, output: OutputName) -> tuple[float, float | None]:
    """Mean data loss of ``logits`` (``(N, K)`` for a softmax output, ``(N, 1)`` for a sigmoid or linear one)
    for targets ``y: (N,)`` (class ids, or values for linear), and the accuracy (None for linear).

    Cross-entropy from the logits, with the same fused losses training uses (a loss rebuilt from
    probabilities clips them at 1e-15 and never exceeds -log(1e-15) = 34.5, which would hide a diverging
    run); the mean squared error for a linear output.
    """
    if output == "linear":
        loss, _ = mse_loss(logits[:, 0], y)
        return loss, None
    if output == "softmax":
        loss, _ = softmax_cross_entropy(logits, y)
        predicted = logits.argmax(axis=1)
    else:
        loss, _ = sigmoid_binary_cross_entropy(logits[:, 0], y)
        predicted = logits[:, 0] >= 0  # sigmoid(z) >= 0.5 exactly when z >= 0
    return loss, float(np.mean(predicted == y))


def format_loss(loss: float | None) -> str:
    """A loss as the page shows it: 4 decimals, scientific notation from 1e4 on (a diverging run's 1e34
    stays readable), ``inf`` and ``nan`` as they are, ``-`` for None (no test set)."""
    if loss is None:
        return "-"
    if not math.isfinite(loss):
        return str(loss)
    return f"{loss:.4f}" if abs(loss) < 1e4 else f"{loss:.3e}"


class Session:
    """One training run of ``config`` on ``data``; ``reset()`` starts it over from the same weights."""

    def __init__(self, data: Data, config: TrainConfig) -> None:
        config.validate(data.n_classes)
        self.data = data
        self.config = config
        self.reset()

    def reset(self) -> None:
        """Back to step 0: the initial weights, a fresh optimizer, the first batch order, empty history."""
        self.engine: Engine = make_engine(self.config, self.data.n_classes)
        self.start_config = self.config  # the settings of step 1; retunes lists the changes since
        self.retunes: list[tuple[int, TrainConfig]] = []  # (steps taken when it changed, the new settings)
        self._batch_rng = np.random.default_rng([self.config.seed, 2])  # apart from the weights' stream
        self._order = np.zeros(0, dtype=np.int64)
        self._cursor = 0
        self.steps = 0
        self.epoch = 0
        self.running = False
        self.stopped: str | None = None  # why training stopped by itself (divergence, step limit)
        self.step_losses: list[float] = []
        self.grad_norms: list[float] = []
        self.history: list[Metrics] = [self.evaluate()]

    # ----- controls -----------------------------------------------------------------------------
    def start(self) -> None:
        """Keep training on every :meth:`advance` until :meth:`pause` (refused after a stop)."""
        self.running = self.stopped is None

    def pause(self) -> None:
        self.running = False

    def one_step(self) -> None:
        """One optimizer step, then an evaluation (pauses the run)."""
        self.running = False
        self.advance(1)

    def retune(self, config: TrainConfig) -> None:
        """Take ``config``'s learning rate, batch size, clipping and regularization rate from the next step
        on, keeping the weights, the optimizer's state and the history; any other difference raises
        ``ValueError``."""
        config.validate(self.data.n_classes)
        if _structure(config) != _structure(self.config):
            raise ValueError(
                "only the learning rate, batch size and clipping (and the regularization rate) change "
                "during a run; reset for others"
            )
        self.config = config
        self.engine.retune(config.lr, config.clip, config.reg_rate)
        self.retunes.append((self.steps, config))

    # ----- training -----------------------------------------------------------------------------
    def _next_batch(self) -> IntArray:
        """Indices of the next mini-batch: a new permutation of the training set every epoch."""
        n = self.data.X_train.shape[0]
        if self._cursor >= self._order.size:
            if self._order.size:
                self.epoch += 1
            self._order = self._batch_rng.permutation(n)
            self._cursor = 0
        rows = self._order[self._cursor : self._cursor + self.config.batch_size]
        self._cursor += rows.size
        return np.sort(rows)  # the same batch, read front to back (faster to gather)

    def step(self) -> StepResult:
        """One mini-batch step (its loss is the objective: data loss + penalty); a non-finite loss stops
        the run and says why in :attr:`stopped`."""
        rows = self._next_batch()
        # a diverging run overflows on its way to inf; the loss check below reports it instead
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            result = self.engine.step(self.data.X_train[rows], self.data.y_train[rows])
        self.steps += 1
        self.step_losses.append(result.loss)
        self.grad_norms = result.grad_norms
        if not math.isfinite(result.loss):
            self.stopped = (
                f"the loss became {result.loss} at step {self.steps}: training diverged. "
                f"Lower the learning rate (now {self.config.lr:g}) or clip the gradients, then reset."
            )
            self.running = False
        elif self.steps >= MAX_STEPS:
            self.stopped = f"stopped at the limit of {MAX_STEPS:,} steps; reset to train again"
            self.running = False
        return result

    def advance(self, steps: int, budget_s: float | None = None) -> int:
        """Run up to ``steps`` steps (at most ``MAX_STEPS_PER_CALL``, fewer if ``budget_s`` seconds run
        out or training stops), then evaluate. Returns the number of steps taken."""
        if steps < 1:
            raise ValueError(f"steps must be >= 1, got {steps}")
        start, done = time.perf_counter(), 0
        while done < min(steps, MAX_STEPS_PER_CALL) and self.stopped is None:
            self.step()
            done += 1
            if budget_s is not None and time.perf_counter() - start > budget_s:
                break
        if done:
            self.history.append(self.evaluate())
        return done

    # ----- what the page shows ------------------------------------------------------------------
    def evaluate(self) -> Metrics:
        """Data loss and accuracy of the current weights on the whole training and test sets (in
        evaluation mode: no dropout), and their penalty."""
        d = self.data
        out = self.config.output
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            train_loss, train_acc = loss_and_accuracy(self.engine.logits(d.X_train), d.y_train, out)
            test = loss_and_accuracy(self.engine.logits(d.X_test), d.y_test, out) if d.y_test.size else None
            penalty = self.engine.penalty()
        test_loss, test_acc = test if test is not None else (None, None)
        return Metrics(self.steps, self.epoch, train_loss, train_acc, test_loss, test_acc, penalty)

    def mlp(self) -> MLP:
        """The current weights as a float64 backproplab :class:`MLP` with the run's features, penalty and
        dropout (whichever engine trains), in training mode as a new network starts."""
        return mlp_with_weights(self.config, self.data.n_classes, self.engine.weights())

    def gradient_check(self) -> list[ParamCheck]:
        """Backprop against finite differences of the objective (data loss + penalty) for the current
        weights, on the first training points, in evaluation mode: a dropout mask drawn anew at every
        evaluation would make the finite differences meaningless."""
        n = min(GRADCHECK_POINTS, self.data.X_train.shape[0])
        net = self.mlp()
        net.train(False)
        return check_mlp_gradients(net, self.data.X_train[:n], self.data.y_train[:n])


def _drawable(losses: list[float]) -> list[float]:
    """``losses`` with inf and NaN turned into NaN, which a chart leaves out: an infinite value would
    stretch its axis to nothing. The metrics and the stop message show such a loss."""
    return [x if math.isfinite(x) else math.nan for x in losses]


def relative_gap(a: float, b: float) -> float:
    """``|a - b| / max(1, |a|)``: relative for losses above 1 (two engines diverging alike differ by
    round-off, not by 1e80), absolute below. Two equal non-finite losses (both inf, both NaN) give 0,
    the engines broke down alike; a non-finite loss on one side only gives inf."""
    if math.isfinite(a) and math.isfinite(b):
        return abs(a - b) / max(1.0, abs(a))
    return 0.0 if a == b or (math.isnan(a) and math.isnan(b)) else math.inf


@dataclass(frozen=True)
class Agreement:
    """The two engines replayed side by side on the same settings: the step losses of each (``steps`` of
    them) and, when the replay ended early on a non-finite loss, why (``stopped``)."""

    steps: int
    numpy_losses: list[float]
    torch_losses: list[float]
    stopped: str | None = None

    @property
    def max_rel_diff(self) -> float:
        """The largest :func:`relative_gap` over the steps (never NaN, so the order of steps cannot matter)."""
        pairs = zip(self.numpy_losses, self.torch_losses, strict=True)
        return max((relative_gap(a, b) for a, b in pairs), default=0.0)

    def chart(self) -> dict[str, list[float]]:
        """Columns ``numpy`` and ``torch`` of step losses for a line chart (non-finite ones left out as NaN)."""
        return {"numpy": _drawable(self.numpy_losses), "torch": _drawable(self.torch_losses)}


def engine_agreement(
    data: Data, config: TrainConfig, steps: int, retunes: Sequence[tuple[int, TrainConfig]] = ()
) -> Agreement:
    """Replay ``steps`` (capped at ``MAX_AGREEMENT_STEPS``) with both engines from the same start, step by
    step, applying ``retunes`` (a session's ``(steps taken, new settings)`` list) where the run did; the
    replay ends at the first step where either loss is not finite (what follows would only compare two
    broken runs)."""
    steps = max(1, min(steps, MAX_AGREEMENT_STEPS))
    engines: tuple[EngineName, ...] = ("numpy", "torch")
    numpy_run, torch_run = (Session(data, replace(config, engine=engine)) for engine in engines)
    numpy_losses: list[float] = []
    torch_losses: list[float] = []
    for step in range(1, steps + 1):
        for run in (numpy_run, torch_run):
            for _, new in (r for r in retunes if r[0] == step - 1):
                run.retune(replace(new, engine=run.config.engine))
        a, b = numpy_run.step().loss, torch_run.step().loss
        numpy_losses.append(a)
        torch_losses.append(b)
        if not (math.isfinite(a) and math.isfinite(b)):
            why = (
                f"the replay stopped at step {step} of {steps}: the loss became {a} with NumPy "
                f"and {b} with PyTorch (training diverged)"
            )
            return Agreement(step, numpy_losses, torch_losses, why)
    return Agreement(steps, numpy_losses, torch_losses)


def _structure(config: TrainConfig) -> TrainConfig:
    """``config`` without the settings a run may change as it goes (learning rate, batch size, clipping,
    regularization rate); features, dropout and the kind of regularization stay."""
    return replace(config, lr=1.0, batch_size=1, clip=None, reg_rate=0.0)


def current_session(store: MutableMapping[Any, Any], data_id: str, data: Data, config: TrainConfig) -> Session:
    """The :class:`Session` kept in ``store`` (a page's ``st.session_state``) if it trains ``config``'s
    network on the data named ``data_id``; otherwise a new one, stored there.

    As in other playgrounds, a new learning rate, batch size, clipping norm or regularization rate
    applies to the run in progress from its next step; any other setting (data, layers, activation,
    features, regularization kind, dropout, seed, optimizer, engine) starts over from the initial weights.
    """
    session = store.get("session")
    if not isinstance(session, Session) or store.get("session_id") != (data_id, _structure(config)):
        session = Session(data, config)
        store["session"] = session
        store["session_id"] = (data_id, _structure(config))
    elif session.config != config:
        session.retune(config)
    return session


def curves(history: list[Metrics], max_points: int = 400) -> dict[str, list[float]]:
    """Columns for a chart: ``step``, the train/test data losses and accuracies (test ones only with a
    test set, accuracies only for a classifier) and ``penalty`` (only when some is not 0), at most
    ``max_points`` rows evenly picked from ``history`` (always its first and last). Non-finite losses
    become NaN, a gap in the line."""
    if len(history) > max_points:
        keep = np.unique(np.linspace(0, len(history) - 1, max_points).round().astype(int))
        history = [history[i] for i in keep]
    classifier = history[0].train_acc is not None
    columns: dict[str, list[float]] = {
        "step": [m.step for m in history],
        "train loss": _drawable([m.train_loss for m in history]),
    }
    if classifier:
        columns["train accuracy"] = [m.train_acc for m in history if m.train_acc is not None]
    if history[0].test_loss is not None:
        columns["test loss"] = _drawable([m.test_loss for m in history if m.test_loss is not None])
        if classifier:
            columns["test accuracy"] = [m.test_acc for m in history if m.test_acc is not None]
    if any(m.penalty for m in history):
        columns["penalty"] = _drawable([m.penalty for m in history])
    return columns
