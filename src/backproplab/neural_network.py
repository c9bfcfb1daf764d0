"""A multilayer perceptron with a hand-written backward pass (the seed's ``neural_network.py``).

The network is a list of layers ``Dense -> activation -> ... -> Dense``. The last Dense layer
produces *logits*; the output non-linearity (softmax or sigmoid) is fused into the loss, which is
both more stable and gives the famous simple gradient ``dlogits = (P - Y) / N``.

One training step, spelled out (this is what :meth:`MLP.train_step` does)::

    logits = net.forward(X)               # (N, d_out)
    loss, dlogits = net.loss(logits, y)   # scalar, (N, d_out)
    net.backward(dlogits)                 # fills every layer's grads
    opt.step(net.params, net.grads)       # updates the weights in place
"""

import os
from collections.abc import Callable, Sequence
from itertools import pairwise
from typing import Literal, get_args

import numpy as np
from numpy.typing import ArrayLike

from backproplab._io import load_npz, save_npz
from backproplab._typing import FloatArray, IntArray
from backproplab._validation import (
    MetaRules,
    as_numeric,
    check_features,
    check_finite,
    check_meta,
    check_same_length,
    check_weights,
)
from backproplab.activations import sigmoid, softmax
from backproplab.fit import History, fit_loop
from backproplab.layers import Dense, Init, Layer, LeakyReLU, ReLU, Sequential, Sigmoid, Tanh
from backproplab.losses import mse_loss, sigmoid_binary_cross_entropy, softmax_cross_entropy
from backproplab.optim import Adam, Optimizer, clip_grad_norm
from backproplab.progress import Progress
from backproplab.schedules import Schedule

Activation = Literal["relu", "tanh", "sigmoid", "leaky_relu"]
Output = Literal["softmax", "sigmoid", "linear"]
_ACTIVATIONS: dict[str, type[Layer]] = {"relu": ReLU, "tanh": Tanh, "sigmoid": Sigmoid, "leaky_relu": LeakyReLU}
_FORMAT, _VERSION = "backproplab.MLP", 1  # the meta of a saved network's .npz
_MAX_LAYERS, _MAX_UNITS = 64, 100_000  # bounds on a saved file's layer_sizes, checked before building


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

    Shapes: ``X: (N, layer_sizes[0])``; logits ``(N, layer_sizes[-1])``; parameters are named like
    the seed, ``W1: (d0, d1)``, ``b1: (d1,)``, ``W2: (d1, d2)``, ...
    """

    def __init__(
        self,
        layer_sizes: Sequence[int],
        hidden_activation: Activation = "relu",
        output: Output = "softmax",
        seed: int = 0,
        dtype: type[np.floating] = np.float32,
        init: Init | None = None,
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
        self.layer_sizes = sizes
        self.hidden_activation = hidden_activation
        self.output = output
        self.seed = seed
        self.dtype: type[np.floating] = np.dtype(dtype).type
        self.init: Init = init or ("he" if hidden_activation in ("relu", "leaky_relu") else "xavier")
        self.rng = np.random.default_rng(seed)
        named: list[tuple[str, Layer]] = []
        for i, (d_in, d_out) in enumerate(pairwise(sizes), 1):
            if i > 1:
                named.append((f"{hidden_activation}{i - 1}", _ACTIVATIONS[hidden_activation]()))
            named.append((f"fc{i}", Dense(d_in, d_out, init=self.init, rng=self.rng, dtype=self.dtype)))
        self.net = Sequential(named)  # fc1, relu1, fc2, ...: the same layers and names as a CNN's head
        self.layers: list[Layer] = self.net.layers

    def __repr__(self) -> str:
        arch = "-".join(map(str, self.layer_sizes))
        n = sum(p.size for p in self.params)
        return f"MLP({arch}, hidden={self.hidden_activation}, output={self.output}, {n} parameters)"

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

    # ----- forward, loss, backward --------------------------------------------------------------
    def forward(self, X: ArrayLike) -> FloatArray:
        """``X: (N, d_in)`` -> logits ``(N, d_out)``; caches activations for :meth:`backward`."""
        return self._forward(check_features(X, self.layer_sizes[0], self.dtype))

    def _forward(self, X: FloatArray) -> FloatArray:
        return self.net.forward(X)

    def loss(self, logits: FloatArray, y: ArrayLike) -> tuple[float, FloatArray]:
        """Mean loss of ``logits: (N, d_out)`` against targets ``y``, and ``dlogits: (N, d_out)``.

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
        """Backpropagate ``dlogits: (N, d_out)`` through every layer, filling :attr:`grads`."""
        self.net.backward_params(dlogits)  # the gradient w.r.t. the input X is never needed

    def train_step(
        self, X: ArrayLike, y: ArrayLike, optimizer: Optimizer, clip_norm: float | None = None
    ) -> tuple[float, FloatArray]:
        """One step of gradient descent on the batch ``(X, y)``; returns ``(loss, logits)``."""
        X_arr = check_features(X, self.layer_sizes[0], self.dtype)
        logits = self._forward(X_arr)
        loss, dlogits = self._loss(logits, self._targets(y, X_arr.shape[0]))
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
        """Probabilities: ``(N, K)`` rows summing to 1 (softmax) or ``(N, d_out)`` in [0, 1] (sigmoid)."""
        logits = self.forward(X)
        if self.output == "softmax":
            return softmax(logits, axis=1)
        if self.output == "sigmoid":
            return sigmoid(logits)
        raise ValueError("predict_proba needs a classifier (output 'softmax' or 'sigmoid'); use predict")

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Class ids ``(N,)`` (softmax), 0/1 labels ``(N,)`` or ``(N, d_out)`` (sigmoid), values (linear)."""
        if self.output == "linear":
            return self.forward(X)
        return self._labels(self.forward(X))

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

        ``X: (N, d_in)``; ``y`` as in :meth:`loss`. ``optimizer`` defaults to ``Adam(1e-3)``;
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
            loss, dlogits = self._loss(logits, yb)
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
        """Scores the model on ``(X, y)``, checked once here: ``(mean loss, accuracy or None)``."""
        X_arr = check_features(X, self.layer_sizes[0], self.dtype, "validation X")
        y_arr = self._targets(y, X_arr.shape[0])

        def score() -> tuple[float, float | None]:
            logits = self._forward(X_arr)
            loss, _ = self._loss(logits, y_arr)
            accuracy = self._correct(logits, y_arr) / len(X_arr) if self.output != "linear" else None
            return loss, accuracy

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

    # ----- persistence --------------------------------------------------------------------------
    def save(self, path: str | os.PathLike[str]) -> None:
        """Write architecture and weights to a ``.npz`` file, atomically (no pickle).

        Weights :meth:`load` would refuse (NaN, inf) raise ``ValueError`` naming the parameter, and
        nothing is written.
        """
        named = dict(self.named_params())
        for name, p in named.items():
            check_weights(f"cannot save {path}: {name}", p, self.dtype)
        meta = {
            "format": _FORMAT,
            "version": _VERSION,
            "layer_sizes": self.layer_sizes,
            "hidden_activation": self.hidden_activation,
            "output": self.output,
            "dtype": np.dtype(self.dtype).name,
        }
        save_npz(path, meta, named)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> "MLP":
        """Rebuild a network written by :meth:`save`; a foreign or damaged file raises ``ValueError``.

        Metadata and every array are checked against each other before the network is built, so a
        crafted file cannot make it allocate more than the file itself holds.
        """
        meta, arrays = load_npz(path, _FORMAT)
        check_meta(str(path), meta, _META_RULES)
        expected = _param_shapes(meta["layer_sizes"])
        if sorted(arrays) != sorted(expected):
            raise ValueError(f"{path}: expected arrays {sorted(expected)}, found {sorted(arrays)}")
        dtype = np.dtype(meta["dtype"]).type
        for name, shape in expected.items():
            a = arrays[name]
            if a.shape != shape or a.dtype.kind != "f":
                raise ValueError(f"{path}: {name} should be a float array of shape {shape}, got {a.dtype} {a.shape}")
            check_weights(f"{path}: {name}", a, dtype)
        try:
            net = cls(meta["layer_sizes"], meta["hidden_activation"], meta["output"], dtype=dtype)
        except (TypeError, ValueError) as e:
            raise ValueError(f"{path}: invalid architecture in file ({e!r})") from e
        for name, p in net.named_params():
            p[...] = arrays[name]
        return net


def _param_shapes(layer_sizes: Sequence[int]) -> dict[str, tuple[int, ...]]:
    """``{"W1": (d0, d1), "b1": (d1,), "W2": (d1, d2), ...}``: what :meth:`MLP.named_params` holds."""
    shapes: dict[str, tuple[int, ...]] = {}
    for i, (d_in, d_out) in enumerate(pairwise(layer_sizes), 1):
        shapes[f"W{i}"], shapes[f"b{i}"] = (d_in, d_out), (d_out,)
    return shapes


def _sane_sizes(value: object) -> bool:
    return (
        isinstance(value, list)
        and 2 <= len(value) <= _MAX_LAYERS
        and all(type(d) is int and 1 <= d <= _MAX_UNITS for d in value)
    )


_META_RULES: MetaRules = {
    "version": (lambda v: type(v) is int and v == _VERSION, str(_VERSION)),
    "layer_sizes": (_sane_sizes, f"a list of 2 to {_MAX_LAYERS} ints, each 1 to {_MAX_UNITS}"),
    "dtype": (lambda v: v in ("float32", "float64"), "'float32' or 'float64'"),
    "hidden_activation": (lambda v: isinstance(v, str) and v in _ACTIVATIONS, f"one of {sorted(_ACTIVATIONS)}"),
    "output": (lambda v: v in get_args(Output), f"one of {list(get_args(Output))}"),
}
