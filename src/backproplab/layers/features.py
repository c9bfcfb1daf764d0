"""Feature crosses, as in TensorFlow Playground: the network sees columns such as ``x1^2`` or ``sin(x1)``
computed from the two raw inputs ``x1, x2`` instead of (or besides) the inputs themselves.

``X: (N, 2)`` -> ``F: (N, k)``, one column per name, in the order of the names. Each feature's rule
below holds its value and, beside it, its partial derivatives; the backward pass is the chain rule
``dL/dx1 = sum_j dL/dF_j * dF_j/dx1`` (and the same for ``x2``), summed over every column that reads
the input: ``x1``, ``x1^2``, ``x1*x2`` and ``sin(x1)`` all send gradient back to ``x1``.
"""

from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import ArrayLike

from backproplab._typing import FloatArray
from backproplab._validation import as_float
from backproplab.layers.base import Layer

FEATURES: tuple[str, ...] = ("x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)")
"""The names :func:`feature_map` knows (a page may show them as x1², x1·x2)."""

Value = Callable[[FloatArray, FloatArray], FloatArray]
Partials = Callable[[FloatArray, FloatArray, FloatArray], tuple[FloatArray | float, FloatArray | float]]

# name -> (the column from x1, x2;  (dL/dx1, dL/dx2) from x1, x2 and g = dL/dcolumn, 0.0 where it does not read one)
_RULES: dict[str, tuple[Value, Partials]] = {
    "x1": (lambda x1, x2: x1, lambda x1, x2, g: (g, 0.0)),
    "x2": (lambda x1, x2: x2, lambda x1, x2, g: (0.0, g)),
    "x1^2": (lambda x1, x2: x1 * x1, lambda x1, x2, g: (2.0 * x1 * g, 0.0)),
    "x2^2": (lambda x1, x2: x2 * x2, lambda x1, x2, g: (0.0, 2.0 * x2 * g)),
    "x1*x2": (lambda x1, x2: x1 * x2, lambda x1, x2, g: (x2 * g, x1 * g)),
    "sin(x1)": (lambda x1, x2: np.sin(x1), lambda x1, x2, g: (np.cos(x1) * g, 0.0)),
    "sin(x2)": (lambda x1, x2: np.sin(x2), lambda x1, x2, g: (0.0, np.cos(x2) * g)),
}


def check_feature_names(names: Sequence[str]) -> tuple[str, ...]:
    """``names`` as a tuple if it is a non-empty list of distinct names from :data:`FEATURES`, else a
    ``ValueError`` naming the unknown or repeated ones and the allowed list."""
    names = tuple(names)
    if not names:
        raise ValueError(f"features: expected at least one name from {list(FEATURES)}, got none")
    unknown = [n for n in names if n not in _RULES]
    if unknown:
        raise ValueError(f"features: unknown names {unknown}; expected names from {list(FEATURES)}")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"features: each name at most once, got {repeated} repeated in {list(names)}")
    return names


def _check_input(X: FloatArray) -> None:
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"features: expected X of shape (N, 2) (columns x1, x2), got {X.shape}")


def feature_map(X: ArrayLike, names: Sequence[str]) -> FloatArray:
    """``X: (N, 2)`` float -> ``(N, len(names))``: column ``j`` is feature ``names[j]`` of ``(x1, x2)``.

    ``X``'s float dtype is kept (integers become float64). ``ValueError`` for names outside
    :data:`FEATURES`, repeated or none, and for ``X`` not of shape ``(N, 2)``.
    """
    names = check_feature_names(names)
    X = as_float(X, "X")
    _check_input(X)
    x1, x2 = X[:, 0], X[:, 1]
    return np.stack([_RULES[name][0](x1, x2) for name in names], axis=1)


class FeatureMap(Layer):
    """:func:`feature_map` as a layer without parameters: ``(N, 2)`` -> ``(N, k)`` forward, ``(N, k)`` ->
    ``(N, 2)`` backward."""

    def __init__(self, names: Sequence[str]) -> None:
        super().__init__()
        self.names = check_feature_names(names)
        self._x: FloatArray | None = None

    def forward(self, x: FloatArray) -> FloatArray:
        """``x: (N, 2)`` -> ``(N, k)`` with ``k = len(names)``; caches ``x``."""
        out = feature_map(x, self.names)
        self._x = x
        return out

    def backward(self, dy: FloatArray) -> FloatArray:
        """``dy = dL/dF: (N, k)`` -> ``dx = dL/dX: (N, 2)``, each column's partials summed per input."""
        x = self._cached(self._x)
        expected = (x.shape[0], len(self.names))
        if dy.shape != expected:
            raise ValueError(f"FeatureMap.backward: expected dy of shape {expected}, got {dy.shape}")
        x1, x2 = x[:, 0], x[:, 1]
        dx = np.zeros_like(x)
        for j, name in enumerate(self.names):
            d1, d2 = _RULES[name][1](x1, x2, dy[:, j])
            dx[:, 0] += d1  # accumulate: several columns read the same input
            dx[:, 1] += d2
        return dx

    def backward_params(self, dy: FloatArray) -> None:
        """No parameters, and the first layer's input gradient is never needed: nothing to do."""
