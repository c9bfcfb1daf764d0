"""``y += alpha * x`` in one pass, through the BLAS that NumPy itself runs on (BLAS's ``axpy``).

Why this exists: NumPy has no fused multiply-add for arrays, so the SGD update ``p -= lr * g`` makes
two passes over memory (``lr * g`` into a buffer, then the subtraction), where BLAS's ``axpy`` makes
one, on BLAS's threads. For the 784x256 weights of the benchmark MLP that is about 90 us against 22 us
per step (docs/benchmarks.md). We call the very OpenBLAS that NumPy's wheels bundle and have already
loaded, so no second thread pool starts: going through SciPy's own OpenBLAS instead made training
8x *slower*, its idle threads spinning against NumPy's on two cores.

Where that library cannot be found (a NumPy built against another BLAS, another OS), :func:`axpy`
falls back to NumPy's two passes. Both give ``y + alpha * x`` up to one rounding (BLAS may fuse the
multiply and the add); tests check the two paths against each other.
"""

import ctypes
import glob
import os
from collections.abc import Callable

import numpy as np

from backproplab._typing import FloatArray

MIN_SIZE = 4096  # below this many elements the foreign call costs more than the pass it saves

_Axpy = Callable[[int, float, int, int, int, int], None]  # (n, alpha, x pointer, incx, y pointer, incy)


def _find_axpy() -> dict[np.dtype[np.floating], _Axpy]:
    """``{float32: saxpy, float64: daxpy}`` from NumPy's bundled OpenBLAS, or ``{}`` if not found."""
    libs_dir = os.path.join(os.path.dirname(os.path.dirname(np.__file__)), "numpy.libs")
    # ILP64 builds (NumPy 2 wheels) suffix their symbols with 64_ and take 64-bit sizes
    symbols = (("scipy_cblas_{}axpy64_", ctypes.c_int64), ("scipy_cblas_{}axpy", ctypes.c_int32))
    for path in sorted(glob.glob(os.path.join(libs_dir, "libscipy_openblas*"))):
        try:
            lib = ctypes.CDLL(path)  # already loaded by NumPy: dlopen returns that same library
        except OSError:
            continue
        for pattern, int_type in symbols:
            found: dict[np.dtype[np.floating], _Axpy] = {}
            for prefix, dtype, real in (("s", np.float32, ctypes.c_float), ("d", np.float64, ctypes.c_double)):
                fn = getattr(lib, pattern.format(prefix), None)
                if fn is None:
                    break
                fn.restype = None
                fn.argtypes = [int_type, real, ctypes.c_void_p, int_type, ctypes.c_void_p, int_type]
                found[np.dtype(dtype)] = fn
            if len(found) == 2:
                return found
    return {}


_AXPY = _find_axpy()
FAST = bool(_AXPY)  # True when axpy goes through BLAS


def axpy(alpha: float, x: FloatArray, y: FloatArray) -> None:
    """``y += alpha * x`` in place; ``x`` and ``y`` of one shape and float dtype.

    One pass through BLAS when both are C-contiguous, large and do not overlap; else NumPy's two.
    """
    fn = _AXPY.get(y.dtype)
    if (
        fn is not None
        and y.size >= MIN_SIZE
        and x.dtype == y.dtype
        and x.shape == y.shape
        and x.flags.c_contiguous
        and y.flags.c_contiguous
        and y.flags.writeable
        and not np.may_share_memory(x, y)
    ):
        fn(y.size, alpha, x.ctypes.data, 1, y.ctypes.data, 1)
    else:
        y += alpha * x
