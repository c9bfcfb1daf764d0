"""Two training engines behind one small interface: our NumPy MLP and PyTorch.

Both start from the very same weights (drawn by :class:`~backproplab.neural_network.MLP` from the
seed), compute in float64 and receive the same batches from the session, so with the same settings
they produce the same losses up to round-off (about 1e-12 over hundreds of steps; the tests demand
1e-9 over 100 steps). That holds for every option: the PyTorch engine computes the feature columns
with torch ops, adds the same explicit L1/L2 penalty to its loss, and draws its dropout masks from its
own :func:`~backproplab.neural_network.dropout_rng` exactly as the MLP draws them. One combination
drifts sooner: under an L1 penalty trained with Adam, a weight the penalty holds near 0 jumps across it
at every step, and those dynamics amplify round-off about tenfold every 30 steps (1e-14 after 100
steps, 1e-7 after 300). PyTorch is imported only when its engine is built: the playground runs
without it.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from backproplab._typing import FloatArray, IntArray
from backproplab.neural_network import MLP, dropout_rng
from backproplab.optim import SGD, Adam, Momentum, Optimizer, clip_grad_norm
from backproplab.playground.config import RAW_FEATURES, EngineName, RegularizationName, TrainConfig

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class StepResult:
    """One optimizer step: the objective on the batch before the update (mean data loss + penalty) and
    each Dense layer's gradient norm ``sqrt(||dW||^2 + ||db||^2)`` before clipping, first layer first."""

    loss: float
    grad_norms: list[float]


class Engine(Protocol):
    """What the session needs from an engine. ``X: (B, 2)`` float64 raw inputs (the engine computes the
    features); ``y: (B,)`` int64 class ids, or float64 values for a linear output (regression)."""

    name: EngineName

    def step(self, X: FloatArray, y: IntArray | FloatArray) -> StepResult:
        """One forward (dropout on), backward, optional clipping and optimizer update on the batch."""
        ...

    def logits(self, X: FloatArray) -> FloatArray:
        """``X: (N, 2)`` -> float64 logits ``(N, K)`` for a softmax output, ``(N, 1)`` for a sigmoid or
        linear one (the predicted values), in evaluation mode: no dropout, no mask drawn."""
        ...

    def predict_proba(self, X: FloatArray) -> FloatArray:
        """``X: (N, 2)`` -> class probabilities ``(N, K)``, rows summing to 1 (K = 2 for a sigmoid output),
        in evaluation mode; ``ValueError`` for a linear output."""
        ...

    def weights(self) -> list[FloatArray]:
        """Copies of the parameters in :attr:`MLP.params` order: ``W1: (k, h1)`` (k features), ``b1: (h1,)``, ..."""
        ...

    def penalty(self) -> float:
        """The current weights' penalty ``l1 * sum |W| + l2 * sum W**2 / 2`` (0 without regularization)."""
        ...

    def retune(self, lr: float, clip: float | None, reg_rate: float) -> None:
        """Use learning rate ``lr``, clipping norm ``clip`` and regularization rate ``reg_rate`` from the next
        step on (the optimizer keeps its state; the kind of regularization stays)."""
        ...


def _penalty_rates(regularization: RegularizationName, reg_rate: float) -> tuple[float, float]:
    """``(l1, l2)``: ``reg_rate`` in the place ``regularization`` names, 0 elsewhere."""
    return (reg_rate if regularization == "l1" else 0.0, reg_rate if regularization == "l2" else 0.0)


def initial_mlp(config: TrainConfig, n_classes: int) -> MLP:
    """The float64 network both engines start from, with ``config``'s features, penalty and dropout (its
    weights depend on ``config.seed`` and the number of features only).

    The raw inputs ``("x1", "x2")`` build no feature map at all: the network, its file and its hidden
    maps are then the plain MLP's."""
    l1, l2 = _penalty_rates(config.regularization, config.reg_rate)
    features = None if config.features == RAW_FEATURES else config.features
    return MLP(
        config.layer_sizes(n_classes),
        config.activation,
        config.output,
        seed=config.seed,
        dtype=np.float64,
        features=features,
        l1=l1,
        l2=l2,
        dropout=config.dropout,
    )


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
        self.regularization = config.regularization
        self.optimizer: Optimizer
        if config.optimizer == "sgd":
            self.optimizer = SGD(config.lr)
        elif config.optimizer == "momentum":
            self.optimizer = Momentum(config.lr, beta=config.momentum)
        else:
            self.optimizer = Adam(config.lr)

    def step(self, X: FloatArray, y: IntArray | FloatArray) -> StepResult:
        net = self.net
        # the four lines of MLP.train_step, spelled out to read the gradient norms before clipping
        logits = net.forward(X)
        loss, dlogits = net.loss(logits, y)  # the objective: data loss + penalty
        net.backward(dlogits)
        norms = _layer_norms(net.grads)
        if self.clip is not None:
            clip_grad_norm(net.grads, self.clip)
        self.optimizer.step(net.params, net.grads)
        return StepResult(loss, norms)

    def logits(self, X: FloatArray) -> FloatArray:
        return self.net.predict_logits(X)

    def predict_proba(self, X: FloatArray) -> FloatArray:
        proba = self.net.predict_proba(X)
        return proba if self.net.output == "softmax" else _two_columns(proba)

    def weights(self) -> list[FloatArray]:
        return [p.copy() for p in self.net.params]

    def penalty(self) -> float:
        return self.net.penalty()

    def retune(self, lr: float, clip: float | None, reg_rate: float) -> None:
        self.optimizer.lr, self.clip = lr, clip
        self.net.l1, self.net.l2 = _penalty_rates(self.regularization, reg_rate)


def torch_unavailable_reason() -> str | None:
    """None when PyTorch can be imported, else a sentence saying why its engine is disabled."""
    try:
        import torch  # noqa: F401
    except ImportError as e:
        return f"PyTorch is not installed ({e}); install torch==2.13.0 to compare the two engines."
    return None


# the feature columns in torch ops, from the columns x1, x2 of a (N, 2) tensor: the twins of layers/features.py
_TORCH_FEATURES: dict[str, Callable[["torch.Tensor", "torch.Tensor"], "torch.Tensor"]] = {
    "x1": lambda x1, x2: x1,
    "x2": lambda x1, x2: x2,
    "x1^2": lambda x1, x2: x1 * x1,
    "x2^2": lambda x1, x2: x2 * x2,
    "x1*x2": lambda x1, x2: x1 * x2,
    "sin(x1)": lambda x1, x2: x1.sin(),
    "sin(x2)": lambda x1, x2: x2.sin(),
}


class TorchEngine:
    """The same network in PyTorch: leaf tensors copied from :func:`initial_mlp`, ``torch.optim``."""

    name: EngineName = "torch"

    def __init__(self, config: TrainConfig, n_classes: int) -> None:
        import torch

        self._torch = torch
        init = initial_mlp(config, n_classes)
        self.output = config.output
        self.clip = config.clip
        self.features = init.features
        self.dropout = init.dropout
        self._masks = dropout_rng(config.seed)  # drawn in the MLP's order: the same masks, step by step
        self.regularization = config.regularization
        self.l1, self.l2 = init.l1, init.l2
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

    def _logits(self, X: FloatArray, training: bool) -> "torch.Tensor":
        """``X: (N, 2)`` -> logits ``(N, d_out)``; dropout (a mask drawn per hidden layer) only in ``training``."""
        h = self._torch.from_numpy(np.ascontiguousarray(X, dtype=np.float64))  # (N, 2)
        if self.features is not None:
            x1, x2 = h[:, 0], h[:, 1]
            h = self._torch.stack([_TORCH_FEATURES[name](x1, x2) for name in self.features], dim=1)  # (N, k)
        last = len(self.params) - 2
        for i in range(0, len(self.params), 2):
            h = h @ self.params[i] + self.params[i + 1]  # W: (d_in, d_out), as in our Dense
            if i < last:
                h = self._act(h)
                if training and self.dropout:  # as dropout_forward: keep where u >= p, scale by 1 / (1 - p)
                    keep = self._masks.random(tuple(h.shape)) >= self.dropout
                    h = h * self._torch.from_numpy(keep.astype(np.float64) / (1.0 - self.dropout))
        return h

    def _penalty(self) -> "torch.Tensor | float":
        """``l1 * sum |W| + l2 * sum W**2 / 2`` over the weight matrices, as a tensor autograd follows."""
        total: torch.Tensor | float = 0.0
        for W in self.params[::2]:
            if self.l1:
                total = total + self.l1 * W.abs().sum()
            if self.l2:
                total = total + self.l2 * 0.5 * (W * W).sum()
        return total

    def step(self, X: FloatArray, y: IntArray | FloatArray) -> StepResult:
        torch, F = self._torch, self._torch.nn.functional
        self.optimizer.zero_grad(set_to_none=True)
        logits = self._logits(X, training=True)
        if self.output == "softmax":
            data = F.cross_entropy(logits, torch.from_numpy(np.asarray(y, dtype=np.int64)))
        elif self.output == "sigmoid":
            data = F.binary_cross_entropy_with_logits(logits[:, 0], torch.from_numpy(np.asarray(y, dtype=np.float64)))
        else:
            data = F.mse_loss(logits[:, 0], torch.from_numpy(np.asarray(y, dtype=np.float64)))
        loss = data + self._penalty()
        loss.backward()
        grads = [p.grad.detach().numpy() if p.grad is not None else np.zeros(p.shape) for p in self.params]
        norms = _layer_norms(grads)
        if self.clip is not None:
            torch.nn.utils.clip_grad_norm_(self.params, self.clip)
        self.optimizer.step()
        return StepResult(float(loss.item()), norms)

    def logits(self, X: FloatArray) -> FloatArray:
        with self._torch.no_grad():
            out: FloatArray = self._logits(X, training=False).numpy()
        return out

    def predict_proba(self, X: FloatArray) -> FloatArray:
        if self.output == "linear":
            raise ValueError("predict_proba needs a classifier (output 'softmax' or 'sigmoid'); use logits")
        with self._torch.no_grad():
            logits = self._logits(X, training=False)
            proba = self._torch.softmax(logits, dim=1) if self.output == "softmax" else self._torch.sigmoid(logits)
        out: FloatArray = proba.numpy()
        return out if self.output == "softmax" else _two_columns(out)

    def weights(self) -> list[FloatArray]:
        return [p.detach().numpy().copy() for p in self.params]

    def penalty(self) -> float:
        with self._torch.no_grad():
            return float(self._penalty())

    def retune(self, lr: float, clip: float | None, reg_rate: float) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        self.clip = clip
        self.l1, self.l2 = _penalty_rates(self.regularization, reg_rate)


def make_engine(config: TrainConfig, n_classes: int) -> Engine:
    """The engine ``config.engine`` names; ``RuntimeError`` with the reason if PyTorch is missing."""
    config.validate(n_classes)
    if config.engine == "numpy":
        return NumpyEngine(config, n_classes)
    reason = torch_unavailable_reason()
    if reason is not None:
        raise RuntimeError(reason)
    return TorchEngine(config, n_classes)
