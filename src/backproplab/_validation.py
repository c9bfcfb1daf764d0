"""Input validation at the public boundary (internal).

Every message names what was expected and what arrived, so a learner can fix the call without
reading our code.
"""

import numpy as np
from numpy.typing import ArrayLike

from backproplab._typing import FloatArray


def as_numeric(a: ArrayLike, name: str) -> np.ndarray:
    """``a`` as an ndarray of a real numeric dtype, or a ``TypeError`` naming the dtype."""
    try:
        arr = np.asarray(a)
    except (TypeError, ValueError) as e:  # ragged lists and the like
        raise TypeError(f"{name}: expected a numeric array, could not convert it ({e})") from e
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name}: expected a numeric dtype (bool, int or float), got {arr.dtype}")
    return arr


def as_float(a: ArrayLike, name: str) -> FloatArray:
    """``a`` as a float array: floats kept as they are (float32 stays float32), bool and int to float64."""
    arr = as_numeric(a, name)
    return arr if arr.dtype.kind == "f" else arr.astype(np.float64)


def check_finite(arr: np.ndarray, name: str) -> None:
    """Raise ``ValueError`` naming the first NaN or inf in ``arr`` and where it is."""
    if arr.dtype.kind != "f" or arr.size == 0:
        return
    # min and max propagate NaN and expose inf: two passes without the temporary isfinite(arr)
    if np.isfinite(arr.min()) and np.isfinite(arr.max()):
        return
    bad = np.argwhere(~np.isfinite(arr))[0]
    raise ValueError(f"{name}: expected finite values, found {arr[tuple(bad)]} at index {tuple(int(i) for i in bad)}")


def check_features(X: ArrayLike, d_in: int, dtype: type[np.floating], name: str = "X") -> FloatArray:
    """``X`` as a finite ``(N, d_in)`` array of ``dtype`` with ``N >= 1``."""
    arr = as_numeric(X, name)
    if arr.ndim != 2 or arr.shape[1] != d_in or arr.shape[0] == 0:
        raise ValueError(f"{name}: expected shape (N, {d_in}) with N >= 1, got {arr.shape}")
    check_finite(arr, name)
    return np.ascontiguousarray(arr, dtype=dtype)


def check_same_length(n: int, y: np.ndarray) -> None:
    """``y`` must hold one target per sample of ``X`` (``n`` rows)."""
    if y.shape[0:1] != (n,):
        raise ValueError(f"X and y must have the same number of samples: X has {n} rows, y has shape {y.shape}")
