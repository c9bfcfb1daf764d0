"""Seed 7.6's "common mistake": Adam without bias correction. Everything else is solutions_ok.py.

m and v start at 0, so without ``m_hat`` and ``v_hat`` the first step is
``lr * 0.1 / sqrt(0.001) = 3.16 lr`` instead of exactly ``lr``.
"""

import numpy as np
from solutions_ok import *  # noqa: F403 (all the correct functions; the one below replaces its namesake)
from solutions_ok import grad_f


def adam(w0: float, lr: float, steps: int, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8) -> float:
    w = float(w0)
    m = 0.0
    v = 0.0
    for _ in range(steps):
        g = grad_f(w)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * (g**2)
        w -= lr * m / (np.sqrt(v) + eps)  # the mistake: m and v used without bias correction
    return w
