"""Elementwise activations as layers: ``x: (N, ...)`` -> ``y`` of the same shape (exercise 7.4)."""

import numpy as np

from backproplab._typing import FloatArray
from backproplab.activations import sigmoid
from backproplab.layers.base import Layer


class ReLU(Layer):
    """``y = max(0, x)``; the gradient passes where ``x > 0`` (0 at the kink, as in PyTorch).

    ``last_input`` keeps the input of the last forward: gradient checking reads it to spot inputs
    so close to the kink at 0 that a finite difference straddles it.
    """

    def __init__(self) -> None:
        super().__init__()
        self.last_input: FloatArray | None = None

    def forward(self, x: FloatArray) -> FloatArray:
        self.last_input = x
        return np.maximum(x, 0)

    def backward(self, dy: FloatArray) -> FloatArray:
        return dy * (self._cached(self.last_input) > 0)


class LeakyReLU(ReLU):
    """``y = x`` where ``x > 0``, else ``alpha * x``; a ReLU whose negative side keeps a small slope."""

    def __init__(self, alpha: float = 0.01) -> None:
        super().__init__()
        self.alpha = alpha

    def forward(self, x: FloatArray) -> FloatArray:
        self.last_input = x
        return np.where(x > 0, x, self.alpha * x)

    def backward(self, dy: FloatArray) -> FloatArray:
        return np.where(self._cached(self.last_input) > 0, dy, self.alpha * dy)


class Sigmoid(Layer):
    """``y = sigmoid(x)``; backward uses the cached output: ``dx = dy * y * (1 - y)``."""

    def __init__(self) -> None:
        super().__init__()
        self._y: FloatArray | None = None

    def forward(self, x: FloatArray) -> FloatArray:
        self._y = sigmoid(x)
        return self._y

    def backward(self, dy: FloatArray) -> FloatArray:
        y = self._cached(self._y)
        return dy * y * (1.0 - y)


class Tanh(Layer):
    """``y = tanh(x)``; backward uses the cached output: ``dx = dy * (1 - y^2)``."""

    def __init__(self) -> None:
        super().__init__()
        self._y: FloatArray | None = None

    def forward(self, x: FloatArray) -> FloatArray:
        self._y = np.tanh(x)
        return self._y

    def backward(self, dy: FloatArray) -> FloatArray:
        y = self._cached(self._y)
        return dy * (1.0 - y * y)
