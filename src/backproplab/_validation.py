"""Input validation at the public boundary (internal).

Every message names what was expected and what arrived, so a learner can fix the call without
reading our code.
"""

import reprlib
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

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


def check_weights(name: str, arr: np.ndarray, dtype: DTypeLike) -> None:
    """Raise ``ValueError`` naming ``name`` if the float array ``arr`` holds NaN or inf, or a value
    that casting to ``dtype`` would turn into inf (float64 ``1e300`` into float32)."""
    check_finite(arr, name)
    if arr.dtype.kind != "f" or arr.size == 0:
        return
    lo, hi = float(arr.min()), float(arr.max())
    limit = float(np.finfo(dtype).max)
    if max(-lo, hi) > limit:
        worst = hi if hi >= -lo else lo
        raise ValueError(
            f"{name}: expected magnitudes <= {limit:.6g} (the largest {np.dtype(dtype)}), found {worst:.6g}"
        )


MetaRules = Mapping[str, tuple[Callable[[Any], bool], str]]
"""``{field: (is_valid, what is expected)}`` for the ``meta`` of a saved file."""


def check_meta(where: str, meta: Mapping[str, Any], rules: MetaRules) -> None:
    """Raise ``ValueError`` naming ``where`` and the first field of ``meta`` that breaks its rule."""
    for field, (is_valid, expected) in rules.items():
        if field not in meta:
            raise ValueError(f"{where}: meta lacks {field!r}; expected {expected}")
        if not is_valid(meta[field]):
            raise ValueError(f"{where}: {field} must be {expected}, got {reprlib.repr(meta[field])}")


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
