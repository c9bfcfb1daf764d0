"""The module's sanity checks as plain functions: XOR solved, a tiny dataset memorised, (w - 3)^2 minimised.

Pure logic: these return results and never print; the command line (:mod:`backproplab.cli`)
and ``overfit_test.py`` present them.
"""

from dataclasses import dataclass

import numpy as np

from backproplab._typing import FloatArray, IntArray
from backproplab.data.toy import xor
from backproplab.fit import History
from backproplab.neural_network import MLP
from backproplab.optim import Adam, Optimizer

SOLVED_LOSS = 0.01  # the seed's bar for "XOR is solved" and for the overfit test


@dataclass
class RunResult:
    """A finished training run: the network, its data, its history and whether it met the bar."""

    net: MLP
    X: FloatArray
    y: IntArray
    history: History
    final_loss: float
    accuracy: float

    @property
    def solved(self) -> bool:
        return self.final_loss < SOLVED_LOSS and self.accuracy == 1.0

    @property
    def correct(self) -> int:
        return round(self.accuracy * len(self.y))

    @property
    def total(self) -> int:
        return len(self.y)

    @property
    def losses(self) -> list[float]:
        """The mean training loss of each epoch."""
        return self.history.loss


def xor_net(seed: int = 0, hidden: int = 8) -> MLP:
    """The ``2 -> hidden -> 1`` tanh network with a sigmoid output that :func:`train_xor` trains (float64)."""
    return MLP([2, hidden, 1], hidden_activation="tanh", output="sigmoid", seed=seed, dtype=np.float64)


def overfit_net(seed: int = 0) -> MLP:
    """The ``2 -> 64 -> 64 -> 1`` ReLU network with a sigmoid output of the overfit test (float64)."""
    return MLP([2, 64, 64, 1], hidden_activation="relu", output="sigmoid", seed=seed, dtype=np.float64)


def fit_full_batch(net: MLP, X: FloatArray, y: IntArray, lr: float, epochs: int) -> RunResult:
    """Train ``net`` on all of ``(X, y)`` at once for ``epochs`` Adam steps; ``X: (n, d_in)``, ``y: (n,)`` of 0/1."""
    history = net.fit(X, y, optimizer=Adam(lr), epochs=epochs, batch_size=None, verbose=False)
    final_loss, _ = net.loss(net.forward(X), y)
    return RunResult(net, X, y, history, final_loss, net.accuracy(X, y))


def train_xor(seed: int = 0, hidden: int = 8, lr: float = 0.1, epochs: int = 500) -> RunResult:
    """Train :func:`xor_net` on the four XOR points.

    The defaults solve XOR (loss < 0.01, 4/4 correct) for every one of seeds 0-199 (a test runs
    them all): 8 tanh units and Adam give enough slack that no initialisation gets stuck.
    """
    X, y = xor()
    return fit_full_batch(xor_net(seed, hidden), X, y, lr, epochs)


def tiny_dataset(n: int = 16, seed: int = 0) -> tuple[FloatArray, IntArray]:
    """``n`` random 2-D points with *random* 0/1 labels: no pattern to learn, only to memorise."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 2))
    y = rng.permutation(np.arange(n) % 2).astype(np.int64)
    return X, y


def overfit_tiny(seed: int = 0, n: int = 16, epochs: int = 1000, lr: float = 0.01) -> RunResult:
    """The overfit test: :func:`overfit_net` must memorise :func:`tiny_dataset` (loss < 0.01).

    If a network cannot memorise 16 points, the bug is in the code, not in the hyperparameters.
    """
    X, y = tiny_dataset(n, seed)
    return fit_full_batch(overfit_net(seed), X, y, lr, epochs)


def quadratic_path(optimizer: Optimizer, w0: float = 10.0, steps: int = 200) -> FloatArray:
    """``w_t`` for ``t = 0..steps`` as ``optimizer`` minimises ``f(w) = (w - 3)^2`` from ``w0`` (exercise 7.6).

    Returns ``(steps + 1,)``: ``w0`` first. The gradient fed at each step is ``f'(w) = 2 (w - 3)``.
    """
    w = np.array([float(w0)])
    path = np.empty(steps + 1)
    path[0] = w[0]
    for t in range(1, steps + 1):
        optimizer.step([w], [2.0 * (w - 3.0)])
        path[t] = w[0]
    return path
