"""A loop that never ends: the step counter is never incremented. Everything else is solutions_ok.py.

The checker stops it after its time limit, reports a timeout for this check only, and goes on.
"""

from solutions_ok import *  # noqa: F403 (all the correct functions; the one below replaces its namesake)
from solutions_ok import grad_f


def sgd(w0: float, lr: float, steps: int) -> float:
    w = float(w0)
    t = 0
    while t < steps:  # the mistake: t is never incremented
        w -= lr * grad_f(w)
    return w
