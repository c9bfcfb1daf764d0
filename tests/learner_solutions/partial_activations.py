"""A learner who has done only the first part of exercise 7.1: everything else is "not attempted"."""

import numpy as np
from numpy.typing import ArrayLike, NDArray


def sigmoid(z: ArrayLike) -> NDArray[np.float64]:
    z = np.clip(np.asarray(z, dtype=float), -500, 500)
    return 1.0 / (1.0 + np.exp(-z))


def relu(z: ArrayLike) -> NDArray[np.float64]:
    return np.maximum(0.0, np.asarray(z, dtype=float))
