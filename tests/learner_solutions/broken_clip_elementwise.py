"""Seed 7.7's "common mistake": clipping element-wise instead of by the norm. Everything else is solutions_ok.py.

Each element is capped at max_norm, so a large gradient changes direction (and its norm can
still exceed max_norm).
"""

import numpy as np
from numpy.typing import ArrayLike
from solutions_ok import *  # noqa: F403 (all the correct functions; the one below replaces its namesake)
from solutions_ok import Array


def clip_by_norm(g: ArrayLike, max_norm: float) -> Array:
    g = np.asarray(g, dtype=float)
    return np.clip(g, -max_norm, max_norm)  # the mistake: element-wise
