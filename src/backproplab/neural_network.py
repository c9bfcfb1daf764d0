"""A multilayer perceptron with a hand-written backward pass (the seed's ``neural_network.py``).

The network is a list of layers ``Dense -> activation -> ... -> Dense``. The last Dense layer
produces *logits*; the output non-linearity (softmax or sigmoid) is fused into the loss, which is
both more stable and gives the famous simple gradient ``dlogits = (P - Y) / N``.

One training step, spelled out (this is what :meth:`MLP.train_step` does)::

    logits = net.forward(X)               # (N, d_out)
    loss, dlogits = net.loss(logits, y)   # scalar, (N, d_out)
    net.backward(dlogits)                 # fills every layer's grads
    opt.step(net.params, net.grads)       # updates the weights in place

Options in the style of TensorFlow Playground: ``features`` (feature crosses such as ``x1^2`` computed
from two raw inputs by a first :class:`~backproplab.layers.FeatureMap`), an L1/L2 penalty on the
weight matrices added to the loss, and dropout after every hidden activation.
"""

import math
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from itertools import pairwise
from typing import Literal, get_args

import numpy as np
from numpy.typing import ArrayLike

from backproplab._typing import FloatArray, IntArray
from backproplab._validation import (
    as_numeric,
    check_features,
    check_finite,
    check_same_length,
)
from backproplab.activations import sigmoid, softmax
from backproplab.fit import History, fit_loop
from backproplab.layers import (
    Dense,
    Dropout,
    FeatureMap,
    Init,
    Layer,
    LeakyReLU,
    ReLU,
    Sequential,
    Sigmoid,
    Tanh,
    check_feature_names,
)
from backproplab.losses import mse_loss, sigmoid_binary_cross_entropy, softmax_cross_entropy
from backproplab.optim import Adam, Optimizer, clip_grad_norm
from backproplab.progress import Progress
from backproplab.schedules import Schedule

Activation = Literal["relu", "tanh", "sigmoid", "leaky_relu"]
Output = Literal["softmax", "sigmoid", "linear"]
_ACTIVATIONS: dict[str, type[Layer]] = {"relu": ReLU, "tanh": Tanh, "sigmoid": Sigmoid, "leaky_relu": LeakyReLU}


def dropout_rng(seed: int) -> np.random.Generator:
    """The one generator all dropout layers of an ``MLP(seed=seed)`` draw their masks from, in forward
    order: ``default_rng([seed, 3])``, a stream apart from the weights' (``seed``). A twin network (the
    playground's PyTorch engine) reproduces the masks exactly by drawing ``rng.random(shape) >= p`` from
    its own ``dropout_rng(seed)`` in the same order, as :func:`~backproplab.layers.dropout_forward` does."""
    return np.random.default_rng([seed, 3])


def dense_widths(layer_sizes: Sequence[int], features: Sequence[str] | None) -> list[int]:
    """The Dense layers' widths ``[d0, d1, ...]``: ``layer_sizes`` with ``d0 = len(features)`` when set."""
    return [len(features) if features is not None else layer_sizes[0], *layer_sizes[1:]]


class MLP:
    """Multilayer perceptron ``layer_sizes[0] -> ... -> layer_sizes[-1]``.

    Parameters
    ----------
    layer_sizes : sizes of every layer, input first, e.g. ``[2, 8, 1]``.
    hidden_activation : ``"relu"``, ``"tanh"``, ``"sigmoid"`` or ``"leaky_relu"``.
    output : ``"softmax"`` (classes; ``layer_sizes[-1] >= 2``), ``"sigmoid"`` (binary or multi-label)
        or ``"linear"`` (regression with mean squared error).
    seed : seeds the weight initialisation and the shuffling in :meth:`fit`.
    dtype : ``np.float32`` (fast) or ``np.float64`` (for gradient checking).
    init : weight initialisation; by default He for ReLU-like activations, Xavier otherwise.
    features : names from :data:`~backproplab.layers.FEATURES` (``"x1"``, ``"x1^2"``, ``"sin(x2)"``, ...);
        the network then starts with a ``FeatureMap`` of the 2 raw inputs (``layer_sizes[0]`` must be 2)
        to ``k = len(features)`` columns, and ``W1`` is ``(k, d1)``. None: the raw inputs.
    l1, l2 : strengths of the penalty ``l1 * sum |W| + l2 * sum W**2 / 2`` over every weight matrix
        (never the biases), as in TensorFlow Playground; :meth:`loss` adds it, :meth:`backward` its gradient.
    dropout : drop probability ``p`` in [0, 1) of a ``Dropout`` layer after every hidden activation
        (``drop1``, ``drop2``, ...), active in training mode only (see :meth:`train`); all draw their
        masks from one generator, :func:`dropout_rng` ``(seed)``, in forward order.

    Shapes: ``X: (N, layer_sizes[0])``; logits ``(N, layer_sizes[-1])``; parameters are named like
    the seed, ``W1: (d0, d1)`` (``(k, d1)`` with features), ``b1: (d1,)``, ``W2: (d1, d2)``, ...
    """

    def __init__(
        self,
        layer_sizes: Sequence[int],
        hidden_activation: Activation = "relu",
        output: Output = "softmax",
        seed: int = 0,
        dtype: type[np.floating] = np.float32,
        init: Init | None = None,
        *,
        features: Sequence[str] | None = None,
        l1: float = 0.0,
        l2: float = 0.0,
        dropout: float = 0.0,
    ) -> None:
        sizes = [int(s) for s in layer_sizes]
        if len(sizes) < 2 or min(sizes) < 1:
            raise ValueError(f"layer_sizes needs at least 2 sizes, all >= 1, got {list(layer_sizes)}")
        if hidden_activation not in _ACTIVATIONS:
            raise ValueError(f"hidden_activation must be one of {sorted(_ACTIVATIONS)}, got {hidden_activation!r}")
        if output not in get_args(Output):
            raise ValueError(f"output must be one of {list(get_args(Output))}, got {output!r}")
        if output == "softmax" and sizes[-1] < 2:
            raise ValueError(f"a softmax output needs >= 2 units, got {sizes[-1]}; use output='sigmoid'")
        if np.dtype(dtype) not in (np.float32, np.float64):
            raise TypeError(f"dtype must be float32 or float64, got {np.dtype(dtype)}")
        self.features = None if features is None else check_feature_names(features)
        if self.features is not None and sizes[0] != 2:
            raise ValueError(
                f"features are computed from 2 raw inputs (x1, x2): layer_sizes[0] must be 2, got {sizes[0]}"
            )
        for name, rate in (("l1", l1), ("l2", l2)):
            if not (math.isfinite(rate) and rate >= 0):
                raise ValueError(f"{name} must be a finite number >= 0, got {rate}")
        if not 0 <= dropout < 1:
            raise ValueError(f"dropout must lie in [0, 1), got {dropout}")
        self.l1, self.l2, self.dropout = float(l1), float(l2), float(dropout)
        self.layer_sizes = sizes
        self.hidden_activation = hidden_activation
        self.output = output
        self.seed = seed
        self.dtype: type[np.floating] = np.dtype(dtype).type
        self.init: Init = init or ("he" if hidden_activation in ("relu", "leaky_relu") else "xavier")
        self.rng = np.random.default_rng(seed)
        masks = dropout_rng(seed)  # shared by every dropout layer, drawn from in forward order
        named: list[tuple[str, Layer]] = []
        if self.features is not None:
            named.append(("features", FeatureMap(self.features)))
        for i, (d_in, d_out) in enumerate(pairwise(dense_widths(sizes, self.features)), 1):
            if i > 1:
                named.append((f"{hidden_activation}{i - 1}", _ACTIVATIONS[hidden_activation]()))
                if self.dropout:
                    named.append((f"drop{i - 1}", Dropout(self.dropout, masks)))
            named.append((f"fc{i}", Dense(d_in, d_out, init=self.init, rng=self.rng, dtype=self.dtype)))
        self.net = Sequential(named)  # fc1, relu1, fc2, ...: the same layers and names as a CNN's head
        self.layers: list[Layer] = self.net.layers

    def __repr__(self) -> str:
        arch = "-".join(map(str, self.layer_sizes))
        n = sum(p.size for p in self.params)
        options = [f"features=({', '.join(self.features)})"] if self.features is not None else []
        options += [f"{name}={value:g}" for name, value in (("l1", self.l1), ("l2", self.l2)) if value]
        options += [f"dropout={self.dropout:g}"] if self.dropout else []
        extra = "".join(f"{o}, " for o in options)
        return f"MLP({arch}, hidden={self.hidden_activation}, output={self.output}, {extra}{n} parameters)"

    # ----- parameters ---------------------------------------------------------------------------
    @property
    def dense_layers(self) -> list[Dense]:
        return [layer for layer in self.layers if isinstance(layer, Dense)]

    def named_params(self) -> list[tuple[str, FloatArray]]:
        """``[("W1", W1), ("b1", b1), ("W2", W2), ...]``: the arrays themselves, not copies."""
        return [(f"{k}{i}", d.params[k]) for i, d in enumerate(self.dense_layers, 1) for k in ("W", "b")]

    @property
    def params(self) -> list[FloatArray]:
        """All parameter arrays in a fixed order (``W1, b1, W2, b2, ...``); optimizers update them in place."""
        return [p for _, p in self.named_params()]

    @property
    def grads(self) -> list[FloatArray]:
        """Gradients from the last :meth:`backward`, parallel to :attr:`params`."""
        return [d.grads[k] for d in self.dense_layers for k in ("W", "b")]

    # ----- training and evaluation mode ---------------------------------------------------------
    @property
    def training(self) -> bool:
        """True in training mode (dropout active), False in evaluation mode."""
        return self.net.training

    def train(self, mode: bool = True) -> None:
        """Training mode (``mode=True``, the start) or evaluation mode (``False``), as ``nn.Module.train()``.

        Only dropout acts differently. :meth:`forward` and the training methods follow the mode;
        :meth:`predict_logits`, the predictions and :meth:`fit`'s validation always evaluate.
        """
        self.net.train(mode)

    # ----- forward, loss, backward --------------------------------------------------------------
    def forward(self, X: ArrayLike) -> FloatArray:
        """``X: (N, d_in)`` -> logits ``(N, d_out)`` in the current mode; caches activations for :meth:`backward`."""
        return self._forward(check_features(X, self.layer_sizes[0], self.dtype))

    def _forward(self, X: FloatArray) -> FloatArray:
        return self.net.forward(X)

    def predict_logits(self, X: ArrayLike) -> FloatArray:
        """``X: (N, d_in)`` -> logits ``(N, d_out)`` in evaluation mode (no dropout); the mode is restored."""
        return self._eval_logits(check_features(X, self.layer_sizes[0], self.dtype))

    @contextmanager
    def _evaluating(self) -> Iterator[None]:
        """Evaluation mode inside the ``with`` block, the mode from before after it."""
        mode = self.net.training
        self.net.train(False)
        try:
            yield
        finally:
            self.net.train(mode)

    def _eval_logits(self, X: FloatArray) -> FloatArray:
        with self._evaluating():
            return self.net.forward(X)

    def hidden_activations(self, X: ArrayLike) -> list[FloatArray]:
        """Every hidden layer's output after its activation, in evaluation mode: ``[(N, d1), (N, d2), ...]``
        for ``X: (N, d_in)`` (empty without hidden layers); what the next Dense layer sees."""
        out = check_features(X, self.layer_sizes[0], self.dtype)
        outputs = []
        with self._evaluating():
            for layer in self.layers:
                out = layer.forward(out)
                if isinstance(layer, tuple(_ACTIVATIONS.values())):
                    outputs.append(out)
        return outputs

    def penalty(self) -> float:
        """``l1 * sum |W| + l2 * sum W**2 / 2`` over the weight matrices ``W1, W2, ...`` (not the biases)."""
        total = 0.0
        for layer in self.dense_layers:
            W = layer.params["W"]
            if self.l1:
                total += self.l1 * float(np.abs(W).sum())
            if self.l2:
                total += self.l2 * 0.5 * float((W * W).sum())
        return total

    def loss(self, logits: FloatArray, y: ArrayLike) -> tuple[float, FloatArray]:
        """The objective, :meth:`data_loss` + :meth:`penalty`, and ``dlogits: (N, d_out)``.

        ``dlogits`` is the data loss's alone: the penalty does not depend on the logits, and
        :meth:`backward` adds its gradient to the weights'. ``y`` as in :meth:`data_loss`.
        """
        data, dlogits = self.data_loss(logits, y)
        return data + self.penalty(), dlogits

    def data_loss(self, logits: FloatArray, y: ArrayLike) -> tuple[float, FloatArray]:
        """Mean loss of ``logits: (N, d_out)`` against targets ``y`` (no penalty), and ``dlogits: (N, d_out)``.

        ``y``: class ids ``(N,)`` or one-hot ``(N, K)`` for softmax; 0/1 ``(N,)`` or ``(N, d_out)`` for
        sigmoid; ``(N, d_out)`` (or ``(N,)`` when ``d_out == 1``) for linear.
        """
        return self._loss(logits, self._targets(y, logits.shape[0]))

    def _loss(self, logits: FloatArray, target: np.ndarray) -> tuple[float, FloatArray]:
        if self.output == "softmax":
            return softmax_cross_entropy(logits, target)
        if self.output == "sigmoid":
            return sigmoid_binary_cross_entropy(logits, target)
        return mse_loss(logits, target)

    def backward(self, dlogits: FloatArray) -> None:
        """Backpropagate ``dlogits: (N, d_out)`` through every layer, filling :attr:`grads`; each ``dW``
        also gets the penalty's gradient ``l1 * sign(W) + l2 * W`` (``(d_in, d_out)`` like ``W``)."""
        self.net.backward_params(dlogits)  # the gradient w.r.t. the input X is never needed
        if self.l1 or self.l2:
            for layer in self.dense_layers:
                W, dW = layer.params["W"], layer.grads["W"]
                if self.l1:
                    dW += self.l1 * np.sign(W)
                if self.l2:
                    dW += self.l2 * W

    def train_step(
        self, X: ArrayLike, y: ArrayLike, optimizer: Optimizer, clip_norm: float | None = None
    ) -> tuple[float, FloatArray]:
        """One step of gradient descent on the batch ``(X, y)``; returns ``(objective, logits)``, the
        objective (:meth:`loss`) before the update and the logits ``(N, d_out)`` in the current mode."""
        X_arr = check_features(X, self.layer_sizes[0], self.dtype)
        logits = self._forward(X_arr)
        data, dlogits = self._loss(logits, self._targets(y, X_arr.shape[0]))
        loss = data + self.penalty()  # before the update changes the weights
        self._update(dlogits, optimizer, clip_norm)
        return loss, logits

    def _update(self, dlogits: FloatArray, optimizer: Optimizer, clip_norm: float | None) -> None:
        """Backward from ``dlogits``, optional global-norm clipping, one optimizer step."""
        self.backward(dlogits)
        if clip_norm is not None:
            clip_grad_norm(self.grads, clip_norm)
        optimizer.step(self.params, self.grads)

    # ----- predictions --------------------------------------------------------------------------
    def predict_proba(self, X: ArrayLike) -> FloatArray:
        """Probabilities: ``(N, K)`` rows summing to 1 (softmax) or ``(N, d_out)`` in [0, 1] (sigmoid);
        ``X: (N, d_in)``, in evaluation mode."""
        logits = self.predict_logits(X)
        if self.output == "softmax":
            return softmax(logits, axis=1)
        if self.output == "sigmoid":
            return sigmoid(logits)
        raise ValueError("predict_proba needs a classifier (output 'softmax' or 'sigmoid'); use predict")

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Class ids ``(N,)`` (softmax), 0/1 labels ``(N,)`` or ``(N, d_out)`` (sigmoid), values ``(N, d_out)``
        (linear); ``X: (N, d_in)``, in evaluation mode."""
        if self.output == "linear":
            return self.predict_logits(X)
        return self._labels(self.predict_logits(X))

    def _labels(self, logits: FloatArray) -> IntArray:
        if self.output == "softmax":
            ids: IntArray = logits.argmax(axis=1)  # the method form skips numpy's Python-level dispatch
            return ids
        labels = (logits >= 0).astype(np.int64)  # sigmoid(z) >= 0.5  <=>  z >= 0
        return labels[:, 0] if labels.shape[1] == 1 else labels

    def accuracy(self, X: ArrayLike, y: ArrayLike) -> float:
        """Fraction of samples whose predicted label equals ``y`` (class ids or 0/1 labels)."""
        if self.output == "linear":
            raise ValueError("accuracy needs a classifier (output 'softmax' or 'sigmoid')")
        y_arr = as_numeric(y, "y")
        pred = self.predict(X)
        if y_arr.ndim == 2 and self.output == "softmax":
            y_arr = np.argmax(y_arr, axis=1)
        return float(np.mean(pred == y_arr.reshape(pred.shape)))

    # ----- training -----------------------------------------------------------------------------
    def fit(
        self,
        X: ArrayLike,
        y: ArrayLike,
        optimizer: Optimizer | None = None,
        epochs: int = 100,
        batch_size: int | None = 32,
        shuffle: bool = True,
        clip_norm: float | None = None,
        verbose: bool = True,
        validation: tuple[ArrayLike, ArrayLike] | None = None,
        schedule: Schedule | None = None,
    ) -> History:
        """Train with mini-batches; return the per-epoch :class:`~backproplab.fit.History`.

        ``X: (N, d_in)``; ``y`` as in :meth:`loss`. The losses are objectives (data loss + :meth:`penalty`),
        as Keras reports them; validation runs in evaluation mode. ``optimizer`` defaults to ``Adam(1e-3)``;
        ``batch_size=None`` means the whole set per step. ``clip_norm`` clips the global gradient
        norm. ``validation=(X_val, y_val)`` adds their loss (and accuracy) to the history after each
        epoch; ``schedule`` (from :mod:`backproplab.schedules`) sets the learning rate before each step.
        ``verbose`` shows a progress bar (a line per epoch when stderr is not a terminal).

        If the loss becomes NaN or inf, training stops with :class:`~backproplab.fit.DivergenceError`
        naming the epoch; the model keeps finite parameters (its current ones if finite, else those
        from the start of the failing epoch). The loop itself is :func:`backproplab.fit.fit_loop`.
        """
        X_arr = check_features(X, self.layer_sizes[0], self.dtype)
        y_arr = self._targets(y, X_arr.shape[0])
        if epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {epochs}")
        n = X_arr.shape[0]
        bs = n if batch_size is None else int(batch_size)
        if bs < 1:
            raise ValueError(f"batch_size must be >= 1 or None, got {batch_size}")
        opt = optimizer if optimizer is not None else Adam(1e-3)
        classifier = self.output != "linear"

        def step(xb: FloatArray, yb: np.ndarray) -> tuple[float, int]:
            logits = self._forward(xb)
            data, dlogits = self._loss(logits, yb)
            loss = data + self.penalty()
            if np.isfinite(loss):  # a non-finite loss stops the loop, which restores finite parameters
                self._update(dlogits, opt, clip_norm)
            return loss, self._correct(logits, yb) if classifier else 0

        progress = Progress(epochs, "epoch", enabled=verbose)
        try:
            return fit_loop(
                step,
                self.params,
                X_arr,
                y_arr,
                opt,
                epochs,
                bs,
                order_of=lambda epoch: self.rng.permutation(n) if shuffle else None,
                classifier=classifier,
                schedule=schedule,
                validate=None if validation is None else self._validator(*validation),
                progress=progress,
            )
        finally:
            progress.close()

    def _validator(self, X: ArrayLike, y: ArrayLike) -> Callable[[], tuple[float, float | None]]:
        """Scores the model on ``(X, y)``, checked once here, in evaluation mode: ``(objective, accuracy or None)``."""
        X_arr = check_features(X, self.layer_sizes[0], self.dtype, "validation X")
        y_arr = self._targets(y, X_arr.shape[0])

        def score() -> tuple[float, float | None]:
            logits = self._eval_logits(X_arr)
            loss, _ = self._loss(logits, y_arr)
            accuracy = self._correct(logits, y_arr) / len(X_arr) if self.output != "linear" else None
            return loss + self.penalty(), accuracy

        return score

    def _correct(self, logits: FloatArray, y: np.ndarray) -> int:
        pred = self._labels(logits)
        if self.output == "softmax" and y.ndim == 2:
            y = np.argmax(y, axis=1)
        return int(np.count_nonzero(pred == y.reshape(pred.shape)))

    def _targets(self, y: ArrayLike, n: int) -> np.ndarray:
        """Validate targets for ``n`` samples; return them in the form :meth:`loss` expects."""
        y_arr = as_numeric(y, "y")
        d_out = self.layer_sizes[-1]
        check_same_length(n, y_arr)
        check_finite(y_arr, "y")
        if self.output == "softmax":
            if y_arr.shape == (n, d_out):
                return y_arr
            if y_arr.ndim != 1:
                raise ValueError(f"y: expected class ids ({n},) or one-hot ({n}, {d_out}), got {y_arr.shape}")
            if y_arr.dtype.kind == "f":
                if not np.all(y_arr == np.round(y_arr)):
                    raise ValueError("y: class ids must be whole numbers")
                y_arr = y_arr.astype(np.int64)
            if y_arr.size and (y_arr.min() < 0 or y_arr.max() >= d_out):
                raise ValueError(
                    f"y: class ids must lie in [0, {d_out}) for {d_out} output units, "
                    f"got range [{y_arr.min()}, {y_arr.max()}]"
                )
            return y_arr
        if y_arr.ndim == 1 and d_out == 1:
            y_arr = y_arr[:, None]
        if y_arr.shape != (n, d_out):
            raise ValueError(f"y: expected shape ({n}, {d_out}) for {d_out} output units, got {y_arr.shape}")
        if self.output == "sigmoid" and y_arr.size and (y_arr.min() < 0 or y_arr.max() > 1):
            raise ValueError(f"y: sigmoid targets must lie in [0, 1], got range [{y_arr.min()}, {y_arr.max()}]")
        return y_arr.astype(self.dtype, copy=False)

    # ----- persistence: the file format lives in backproplab.mlp_file --------------------------
    def save(self, path: str | os.PathLike[str]) -> None:
        """Write architecture, options and weights to a ``.npz`` file, atomically (no pickle).

        Weights :meth:`load` would refuse (NaN, inf) raise ``ValueError`` naming the parameter, and
        nothing is written. The format: :mod:`backproplab.mlp_file`.
        """
        from backproplab.mlp_file import save_mlp  # the format module builds MLPs: imported when used

        save_mlp(self, path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> "MLP":
        """Rebuild a network written by :meth:`save`; a foreign or damaged file raises ``ValueError``
        naming the path and the field (see :func:`backproplab.mlp_file.load_mlp`)."""
        from backproplab.mlp_file import load_mlp

        return load_mlp(path, cls)
