"""Dropout without rescaling the kept values. Everything else is solutions_ok.py.

The kept values stay as they are, so the expected output is (1 - p) x instead of x: the network sees
smaller activations in training than at inference. The backward pass is consistent with this forward.
"""

import numpy as np
from solutions_ok import *  # noqa: F403 (all the correct functions; the one below replaces its namesake)
from solutions_ok import Array


def dropout_forward(x: Array, p: float, rng: np.random.Generator) -> tuple[Array, Array]:
    mask = (rng.random(x.shape) >= p).astype(float)  # the mistake: no / (1 - p)
    return x * mask, mask
