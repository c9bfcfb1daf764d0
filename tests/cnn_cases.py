"""Shared by the CNN tests: valid convolution and pooling configurations drawn by hypothesis, and a scaled diff."""

from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st
from numpy.typing import NDArray

from backproplab.cnn.shapes import Pair

FArr = NDArray[np.floating]


def hw_pair(v: Pair) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else v


def pairs(lo: int, hi: int) -> st.SearchStrategy[Pair]:
    """An int or an ``(h, w)`` pair of ints in ``[lo, hi]``."""
    return st.one_of(st.integers(lo, hi), st.tuples(st.integers(lo, hi), st.integers(lo, hi)))


def scaled_max_diff(ours: FArr, theirs: FArr) -> float:
    """Max absolute difference relative to the largest expected value (never below an absolute bound)."""
    assert ours.shape == theirs.shape
    return float(np.abs(ours - theirs).max() / max(1.0, np.abs(theirs).max()))


@dataclass(frozen=True)
class ConvCase:
    """One valid convolution; the arrays are drawn from ``seed``."""

    n: int
    c_in: int
    c_out: int
    hw: tuple[int, int]
    kernel: tuple[int, int]
    stride: Pair
    padding: Pair
    dilation: Pair
    seed: int

    def arrays(self, dtype: type[np.floating], bias: bool) -> tuple[FArr, FArr, FArr | None]:
        rng = np.random.default_rng(self.seed)
        x = rng.standard_normal((self.n, self.c_in, *self.hw)).astype(dtype)
        w = rng.standard_normal((self.c_out, self.c_in, *self.kernel)).astype(dtype)
        b = rng.standard_normal(self.c_out).astype(dtype) if bias else None
        return x, w, b


@st.composite
def conv_cases(
    draw: st.DrawFn, max_kernel: int, max_padding: int, max_hw: int, max_channels: int, max_n: int
) -> ConvCase:
    """Valid convolutions: the input is drawn at least as big as the receptive field minus the padding."""
    kernel = (draw(st.integers(1, max_kernel)), draw(st.integers(1, max_kernel)))
    padding, dilation = draw(pairs(0, max_padding)), draw(pairs(1, 2))
    fields = [d * (k - 1) + 1 for k, d in zip(kernel, hw_pair(dilation), strict=True)]
    smallest = [max(1, f - 2 * p) for f, p in zip(fields, hw_pair(padding), strict=True)]
    hw = (draw(st.integers(smallest[0], max_hw)), draw(st.integers(smallest[1], max_hw)))
    c_in, c_out = draw(st.integers(1, max_channels)), draw(st.integers(1, max_channels))
    n = draw(st.integers(1, max_n))
    return ConvCase(n, c_in, c_out, hw, kernel, draw(pairs(1, 3)), padding, dilation, draw(st.integers(0, 2**32 - 1)))


@dataclass(frozen=True)
class PoolCase:
    """One valid pooling; ``stride=None`` is the kernel (both libraries' default); arrays drawn from ``seed``."""

    n: int
    c: int
    hw: tuple[int, int]
    kernel: Pair
    stride: Pair | None
    padding: Pair
    seed: int

    @property
    def args(self) -> tuple[Pair, Pair | None, Pair]:
        return self.kernel, self.stride, self.padding

    def x(self, dtype: type[np.floating], distinct: bool = False, spacing: float = 1.0) -> FArr:
        """Standard normal input, or distinct multiples of ``spacing`` in random order (no ties)."""
        rng = np.random.default_rng(self.seed)
        shape = (self.n, self.c, *self.hw)
        if distinct:
            return (rng.permutation(int(np.prod(shape))).reshape(shape) * spacing).astype(dtype)
        return rng.standard_normal(shape).astype(dtype)


@st.composite
def pool_cases(draw: st.DrawFn, max_kernel: int, max_hw: int, max_channels: int, max_n: int) -> PoolCase:
    """Valid poolings: stride 1-3 or the kernel, padding up to half the kernel (PyTorch's rule), the input
    at least as big as the kernel minus the padding."""
    kernel = draw(pairs(1, max_kernel))
    kh, kw = hw_pair(kernel)
    ph, pw = draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2))
    padding: Pair = ph if ph == pw and draw(st.booleans()) else (ph, pw)
    hw = (
        draw(st.integers(max(1, kh - 2 * ph), max(max_hw, kh))),
        draw(st.integers(max(1, kw - 2 * pw), max(max_hw, kw))),
    )
    stride = draw(st.one_of(st.none(), pairs(1, 3)))
    n, c = draw(st.integers(1, max_n)), draw(st.integers(1, max_channels))
    return PoolCase(n, c, hw, kernel, stride, padding, draw(st.integers(0, 2**32 - 1)))
