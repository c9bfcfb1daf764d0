"""Seed 7.3's "common mistake": computing ``exp(z)`` directly for large logits. Everything else is solutions_ok.py.

Right for small logits, but ``exp(1e4)`` overflows to inf and inf / inf is NaN.
"""

import numpy as np
from numpy.typing import ArrayLike
from solutions_ok import *  # noqa: F403 (all the correct functions; the one below replaces its namesake)
from solutions_ok import Array


def softmax(z: ArrayLike, axis: int = -1) -> Array:
    e = np.exp(np.asarray(z, dtype=float))  # the mistake: no max subtracted first
    return e / np.sum(e, axis=axis, keepdims=True)
