"""Two training engines behind one small interface: our NumPy MLP and PyTorch.

Both start from the very same weights (drawn by :class:`~backproplab.neural_network.MLP` from the
seed), compute in float64 and receive the same batches from the session, so with the same settings
they produce the same losses up to round-off (about 1e-12 over hundreds of steps; the tests demand
1e-5). PyTorch is imported only when its engine is built: the playground runs without it.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from backproplab._typing import FloatArray, IntArray
from backproplab.neural_network import MLP
from backproplab.optim import SGD, Adam, Momentum, Optimizer, clip_grad_norm
from backproplab.playground.config import EngineName, TrainConfig

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class StepResult:
    """One optimizer step: the batch's mean loss (before the update) and each Dense layer's gradient
    norm ``sqrt(||dW||^2 + ||db||^2)`` before clipping, first layer first."""

    loss: float
    grad_norms: list[float]


class Engine(Protocol):
    """What the session needs from an engine. ``X: (B, 2)`` float64, ``y: (B,)`` int64 class ids."""

    name: EngineName

    def step(self, X: FloatArray, y: IntArray) -> StepResult:
        """One forward, backward, optional clipping and optimizer update on the batch."""
        ...

    def logits(self, X: FloatArray) -> FloatArray:
        """``X: (N, 2)`` -> float64 logits ``(N, K)`` for a softmax output, ``(N, 1)`` for a sigmoid one."""
        ...

    def predict_proba(self, X: FloatArray) -> FloatArray:
        """``X: (N, 2)`` -> class probabilities ``(N, K)``, rows summing to 1 (K = 2 for a sigmoid output)."""
        ...

    def weights(self) -> list[FloatArray]:
        """Copies of the parameters in :attr:`MLP.params` order: ``W1: (2, h1)``, ``b1: (h1,)``, ..."""
        ...

    def retune(self, lr: float, clip: float | None) -> None:
        """Use learning rate ``lr`` and clipping norm ``clip`` from the next step on (the optimizer keeps its state)."""
        ...


def initial_mlp(config: TrainConfig, n_classes: int) -> MLP:
    """The float64 network both engines start from (its weights depend on ``config.seed`` only)."""
    return MLP(config.layer_sizes(n_classes), config.activation, config.output, seed=config.seed, dtype=np.float64)


def mlp_with_weights(config: TrainConfig, n_classes: int, weights: Sequence[FloatArray]) -> MLP:
    """A float64 :class:`MLP` of ``config``'s architecture holding ``weights`` (copied)."""
    net = initial_mlp(config, n_classes)
    for p, w in zip(net.params, weights, strict=True):
        p[...] = w
    return net


def _layer_norms(grads: Sequence[FloatArray]) -> list[float]:
    """``[dW1, db1, dW2, ...]`` -> one norm per layer."""
    return [float(np.sqrt(np.sum(dW * dW) + np.sum(db * db))) for dW, db in zip(grads[::2], grads[1::2], strict=True)]


def _two_columns(p1: FloatArray) -> FloatArray:
    """Sigmoid probabilities ``(N, 1)`` of class 1 -> ``(N, 2)`` rows ``[p0, p1]``."""
    return np.hstack([1.0 - p1, p1])


class NumpyEngine:
    """backproplab's :class:`MLP` and :mod:`backproplab.optim`, in float64."""

    name: EngineName = "numpy"

    def __init__(self, config: TrainConfig, n_classes: int) -> None:
        self.net = initial_mlp(config, n_classes)
        self.clip = config.clip
        self.optimizer: Optimizer
        if config.optimizer == "sgd":
            self.optimizer = SGD(config.lr)
        elif config.optimizer == "momentum":
            self.optimizer = Momentum(config.lr, beta=config.momentum)
        else:
            self.optimizer = Adam(config.lr)

    def step(self, X: FloatArray, y: IntArray) -> StepResult:
        net = self.net
        # the four lines of MLP.train_step, spelled out to read the gradient norms before clipping
        logits = net.forward(X)
        loss, dlogits = net.loss(logits, y)
        net.backward(dlogits)
        norms = _layer_norms(net.grads)
        if self.clip is not None:
            clip_grad_norm(net.grads, self.clip)
        self.optimizer.step(net.params, net.grads)
        return StepResult(loss, norms)

    def logits(self, X: FloatArray) -> FloatArray:
        return self.net.forward(X)

    def predict_proba(self, X: FloatArray) -> FloatArray:
        proba = self.net.predict_proba(X)
        return proba if self.net.output == "softmax" else _two_columns(proba)

    def weights(self) -> list[FloatArray]:
        return [p.copy() for p in self.net.params]

    def retune(self, lr: float, clip: float | None) -> None:
        self.optimizer.lr, self.clip = lr, clip


def torch_unavailable_reason() -> str | None:
    """None when PyTorch can be imported, else a sentence saying why its engine is disabled."""
    try:
        import torch  # noqa: F401
    except ImportError as e:
        return f"PyTorch is not installed ({e}); install torch==2.13.0 to compare the two engines."
    return None


class TorchEngine:
    """The same network in PyTorch: leaf tensors copied from :func:`initial_mlp`, ``torch.optim``."""

    name: EngineName = "torch"

    def __init__(self, config: TrainConfig, n_classes: int) -> None:
        import torch

        self._torch = torch
        init = initial_mlp(config, n_classes)
        self.output = config.output
        self.clip = config.clip
        self.params = [torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in init.params]
        F = torch.nn.functional
        self._act = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid, "leaky_relu": F.leaky_relu}[
            config.activation
        ]
        self.optimizer: torch.optim.Optimizer
        if config.optimizer == "sgd":
            self.optimizer = torch.optim.SGD(self.params, lr=config.lr)
        elif config.optimizer == "momentum":
            self.optimizer = torch.optim.SGD(self.params, lr=config.lr, momentum=config.momentum)
        else:
            self.optimizer = torch.optim.Adam(self.params, lr=config.lr)

    def _logits(self, X: FloatArray) -> "torch.Tensor":
        h = self._torch.from_numpy(np.ascontiguousarray(X, dtype=np.float64))
        last = len(self.params) - 2
        for i in range(0, len(self.params), 2):
            h = h @ self.params[i] + self.params[i + 1]  # W: (d_in, d_out), as in our Dense
            if i < last:
                h = self._act(h)
        return h

    def step(self, X: FloatArray, y: IntArray) -> StepResult:
        torch, F = self._torch, self._torch.nn.functional
        self.optimizer.zero_grad(set_to_none=True)
        logits = self._logits(X)
        target = torch.from_numpy(np.asarray(y, dtype=np.int64))
        if self.output == "softmax":
            loss = F.cross_entropy(logits, target)
        else:
            loss = F.binary_cross_entropy_with_logits(logits[:, 0], target.to(torch.float64))
        loss.backward()
        grads = [p.grad.detach().numpy() if p.grad is not None else np.zeros(p.shape) for p in self.params]
        norms = _layer_norms(grads)
        if self.clip is not None:
            torch.nn.utils.clip_grad_norm_(self.params, self.clip)
        self.optimizer.step()
        return StepResult(float(loss.item()), norms)

    def logits(self, X: FloatArray) -> FloatArray:
        with self._torch.no_grad():
            out: FloatArray = self._logits(X).numpy()
        return out

    def predict_proba(self, X: FloatArray) -> FloatArray:
        with self._torch.no_grad():
            logits = self._logits(X)
            proba = self._torch.softmax(logits, dim=1) if self.output == "softmax" else self._torch.sigmoid(logits)
        out: FloatArray = proba.numpy()
        return out if self.output == "softmax" else _two_columns(out)

    def weights(self) -> list[FloatArray]:
        return [p.detach().numpy().copy() for p in self.params]

    def retune(self, lr: float, clip: float | None) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        self.clip = clip


def make_engine(config: TrainConfig, n_classes: int) -> Engine:
    """The engine ``config.engine`` names; ``RuntimeError`` with the reason if PyTorch is missing."""
    config.validate(n_classes)
    if config.engine == "numpy":
        return NumpyEngine(config, n_classes)
    reason = torch_unavailable_reason()
    if reason is not None:
        raise RuntimeError(reason)
    return TorchEngine(config, n_classes)
