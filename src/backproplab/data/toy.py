"""Seeded 2-D toy datasets for classification.

Every generator returns ``(X, y)`` with ``X: (n, 2)`` float64 and ``y: (n,)`` int64 class ids, and
is deterministic for a given ``seed``. ``noise`` is the standard deviation of Gaussian jitter.
"""

import numpy as np

from backproplab._typing import FloatArray, IntArray

Dataset = tuple[FloatArray, IntArray]


def _check(n: int, noise: float) -> None:
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if noise < 0:
        raise ValueError(f"noise must be >= 0, got {noise}")


def xor() -> Dataset:
    """The four XOR points: ``X: (4, 2)`` corners of the unit square, ``y: (4,)`` = x1 XOR x2."""
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([0, 1, 1, 0], dtype=np.int64)
    return X, y


def xor_blobs(n: int = 200, noise: float = 0.1, seed: int = 0) -> Dataset:
    """Noisy XOR: points near the four corners of ``[-1, 1]^2``, class 1 where the signs differ."""
    _check(n, noise)
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1.0, 1.0, size=(n, 2))
    y = ((X[:, 0] > 0) != (X[:, 1] > 0)).astype(np.int64)
    return X + rng.normal(0.0, noise, size=X.shape), y


def moons(n: int = 200, noise: float = 0.1, seed: int = 0) -> Dataset:
    """Two interleaving half circles (class 0 on top, class 1 below, shifted)."""
    _check(n, noise)
    rng = np.random.default_rng(seed)
    n0 = (n + 1) // 2
    t0 = np.linspace(0.0, np.pi, n0)
    t1 = np.linspace(0.0, np.pi, n - n0)
    top = np.column_stack([np.cos(t0), np.sin(t0)])
    bottom = np.column_stack([1.0 - np.cos(t1), 0.5 - np.sin(t1)])
    X = np.vstack([top, bottom]) + rng.normal(0.0, noise, size=(n, 2))
    y = np.concatenate([np.zeros(n0, np.int64), np.ones(n - n0, np.int64)])
    return _shuffled(X, y, rng)


def circles(n: int = 200, noise: float = 0.05, factor: float = 0.5, seed: int = 0) -> Dataset:
    """Two concentric circles: class 0 the outer (radius 1), class 1 the inner (radius ``factor``)."""
    _check(n, noise)
    if not 0 < factor < 1:
        raise ValueError(f"factor must lie in (0, 1), got {factor}")
    rng = np.random.default_rng(seed)
    n0 = (n + 1) // 2
    t = rng.uniform(0.0, 2 * np.pi, size=n)
    r = np.where(np.arange(n) < n0, 1.0, factor)
    X = np.column_stack([r * np.cos(t), r * np.sin(t)]) + rng.normal(0.0, noise, size=(n, 2))
    y = (np.arange(n) >= n0).astype(np.int64)
    return _shuffled(X, y, rng)


def spirals(n: int = 200, noise: float = 0.1, n_classes: int = 2, turns: float = 1.5, seed: int = 0) -> Dataset:
    """``n_classes`` interleaved arms of an Archimedean spiral, ``turns`` turns each."""
    _check(n, noise)
    if n_classes < 2:
        raise ValueError(f"n_classes must be >= 2, got {n_classes}")
    rng = np.random.default_rng(seed)
    y = np.arange(n, dtype=np.int64) % n_classes
    r = rng.uniform(0.05, 1.0, size=n)
    theta = 2 * np.pi * (turns * r + y / n_classes)
    X = np.column_stack([r * np.cos(theta), r * np.sin(theta)]) + rng.normal(0.0, noise, size=(n, 2))
    return _shuffled(X, y, rng)


def blobs(n: int = 200, centers: int = 3, std: float = 0.5, seed: int = 0) -> Dataset:
    """Gaussian blobs with ``std`` around ``centers`` points spread evenly on a circle of radius 2."""
    _check(n, std)
    if centers < 2:
        raise ValueError(f"centers must be >= 2, got {centers}")
    rng = np.random.default_rng(seed)
    y = np.arange(n, dtype=np.int64) % centers
    angle = 2 * np.pi * y / centers
    X = 2.0 * np.column_stack([np.cos(angle), np.sin(angle)]) + rng.normal(0.0, std, size=(n, 2))
    return _shuffled(X, y, rng)


def _shuffled(X: FloatArray, y: IntArray, rng: np.random.Generator) -> Dataset:
    order = rng.permutation(len(y))
    return X[order], y[order]
