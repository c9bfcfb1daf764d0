"""Data augmentation for image batches, in NumPy: random shifts."""

import numpy as np

from backproplab._typing import FloatArray


def shift_images(x: FloatArray, rng: np.random.Generator) -> FloatArray:
    """Shift each image of ``x: (B, C, H, W)`` by up to ``max(1, H // 14)`` pixels each way (2 for 28x28),
    filling with zeros; returns a new ``(B, C, H, W)`` array. The same rule as PyTorch training's shifts."""
    b, _, h, w = x.shape
    s = max(1, h // 14)
    padded = np.pad(x, ((0, 0), (0, 0), (s, s), (s, s)))
    dy, dx = rng.integers(0, 2 * s + 1, size=b), rng.integers(0, 2 * s + 1, size=b)
    rows = np.arange(h)[None, :] + dy[:, None]  # (B, H): the rows of the padded image that image b keeps
    cols = np.arange(w)[None, :] + dx[:, None]  # (B, W)
    batch = np.arange(b)[:, None, None]
    out = padded.transpose(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]]  # (B, H, W, C)
    return np.ascontiguousarray(out.transpose(0, 3, 1, 2))
