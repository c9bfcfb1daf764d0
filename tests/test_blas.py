"""The one-pass ``axpy`` through NumPy's own BLAS: equal to NumPy's two passes, on every path."""

import glob
import os

import numpy as np
import pytest
from threadpoolctl import threadpool_info

from backproplab import _blas
from backproplab._blas import MIN_SIZE, axpy


def test_the_blas_path_is_used_wherever_numpy_bundles_openblas() -> None:
    libs_dir = os.path.join(os.path.dirname(os.path.dirname(np.__file__)), "numpy.libs")
    bundled = bool(glob.glob(os.path.join(libs_dir, "libscipy_openblas*")))
    assert bundled == _blas.FAST


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(784, 256), (MIN_SIZE,), (3, 5), (MIN_SIZE - 1,)])
def test_axpy_equals_numpy_up_to_one_rounding(dtype: type[np.floating], shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal(shape).astype(dtype), rng.standard_normal(shape).astype(dtype)
    expected = y + dtype(-0.37) * x
    axpy(-0.37, x, y)
    eps = float(np.finfo(dtype).eps)
    np.testing.assert_allclose(y, expected, rtol=4 * eps, atol=4 * eps)


def test_the_fallback_gives_the_same_numbers(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((300, 100)), rng.standard_normal((300, 100))
    fast, slow = y.copy(), y.copy()
    axpy(0.5, x, fast)
    monkeypatch.setattr(_blas, "_AXPY", {})
    axpy(0.5, x, slow)
    np.testing.assert_allclose(fast, slow, rtol=1e-15, atol=1e-15)


def test_views_overlap_and_mixed_dtypes_take_the_safe_path() -> None:
    rng = np.random.default_rng(2)
    base = rng.standard_normal((200, 100))
    y = base.copy()
    axpy(2.0, y, y)  # x is y: every element reads itself, y becomes 3y
    np.testing.assert_allclose(y, 3 * base, rtol=1e-15)

    strided = base.copy()[:, ::2]  # not contiguous
    x = rng.standard_normal(strided.shape)
    expected = strided + 0.1 * x
    axpy(0.1, x, strided)
    np.testing.assert_allclose(strided, expected, rtol=1e-15)

    y32 = base.astype(np.float32)
    axpy(0.1, base, y32)  # float64 x into float32 y: NumPy's casting rules
    np.testing.assert_allclose(y32, (base + 0.1 * base).astype(np.float32), rtol=1e-6)


def test_no_second_blas_thread_pool_is_loaded() -> None:
    """Going through another BLAS (SciPy's) started a second pool and slowed training 8x."""
    before = sorted(lib["filepath"] for lib in threadpool_info() if lib["user_api"] == "blas")
    axpy(1.0, np.ones(MIN_SIZE, np.float32), np.ones(MIN_SIZE, np.float32))
    after = sorted(lib["filepath"] for lib in threadpool_info() if lib["user_api"] == "blas")
    assert after == before


@pytest.mark.skipif(not _blas.FAST, reason="NumPy here does not bundle OpenBLAS: only the fallback exists")
def test_large_contiguous_updates_take_the_blas_path_and_small_ones_do_not(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = _blas._AXPY[np.dtype(np.float32)]

    def spy(n: int, alpha: float, x: int, incx: int, y: int, incy: int) -> None:
        calls.append(n)
        real(n, alpha, x, incx, y, incy)

    monkeypatch.setitem(_blas._AXPY, np.dtype(np.float32), spy)
    big, small = np.ones((784, 256), np.float32), np.ones(10, np.float32)
    axpy(-0.5, big.copy(), big)
    axpy(-0.5, small.copy(), small)
    assert calls == [784 * 256]
    assert big[0, 0] == small[0] == 0.5
