"""Seed 7.8's "common mistake": forgetting that padding applies on both sides (``+ 2p``).

Everything else is solutions_ok.py (whose conv2d_forward keeps using its own, correct, conv2d_out).
"""

from solutions_ok import *  # noqa: F403 (all the correct functions; the one below replaces its namesake)


def conv2d_out(H: int, W: int, KH: int, KW: int, stride: int = 1, padding: int = 0) -> tuple[int, int]:
    H_out = (H + padding - KH) // stride + 1  # the mistake: + padding instead of + 2 * padding
    W_out = (W + padding - KW) // stride + 1
    return int(H_out), int(W_out)
