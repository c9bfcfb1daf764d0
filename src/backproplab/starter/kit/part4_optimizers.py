"""Part 4 (exercises 7.6 and 7.7): SGD, Momentum and Adam on a quadratic, and gradient clipping.

The optimizers minimise ``f(w) = (w - 3)^2``, whose gradient is ``f'(w) = 2 (w - 3)`` and whose
minimum is ``w = 3``. Each takes a starting point ``w0``, a learning rate ``lr`` and a number of
steps, and returns the final ``w`` as a float.

Replace each ``raise NotImplementedError(...)`` with your code, then check it: run the check cell
of ``part4_optimizers_notebook.ipynb``, or ``backproplab check --impl .`` in this folder.
"""

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


def sgd(w0: float, lr: float, steps: int) -> float:
    """Gradient descent: ``steps`` times ``w <- w - lr * f'(w)``, from ``w = w0``; the final ``w``."""
    raise NotImplementedError("exercise 7.6: write sgd")


def momentum(w0: float, lr: float, steps: int, beta: float = 0.9) -> float:
    """Heavy-ball momentum: ``v <- beta * v + f'(w)``, then ``w <- w - lr * v``; ``v`` starts at 0.

    ``steps`` steps from ``w = w0``; returns the final ``w``.
    """
    raise NotImplementedError("exercise 7.6: write momentum")


def adam(w0: float, lr: float, steps: int, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8) -> float:
    """Adam with bias correction; ``m`` and ``v`` start at 0, ``t`` counts the steps from 1::

        g = f'(w);  m <- beta1 m + (1 - beta1) g;  v <- beta2 v + (1 - beta2) g^2
        m_hat = m / (1 - beta1^t);  v_hat = v / (1 - beta2^t);  w <- w - lr m_hat / (sqrt(v_hat) + eps)

    ``steps`` steps from ``w = w0``; returns the final ``w``. With the correction the first step has
    size exactly ``lr``.
    """
    raise NotImplementedError("exercise 7.6: write adam")


def clip_by_norm(g: FloatArray, max_norm: float) -> FloatArray:
    """``g * (max_norm / ||g||)`` when the L2 norm ``||g||`` exceeds ``max_norm``, otherwise ``g`` unchanged.

    ``g`` of any shape -> the same shape. Scaling by the norm keeps the gradient's direction
    (clipping each element on its own would not); a zero gradient stays zero.
    """
    raise NotImplementedError("exercise 7.7: write clip_by_norm")
