"""Diagnose a wrong result by measuring it, and say what the likely mistake is.

Every hint comes from a measurement, never from reading the learner's source: a gradient that is
exactly ``n`` times too large is a missing ``/ n``; an array of shape ``(d_out, d_in)`` where
``(d_in, d_out)`` was expected, or whose values equal the expected transpose, is a wrong transpose.
"""

import sysconfig
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from backproplab._typing import FloatArray
from backproplab.checker.sandbox import memory_limit_mib
from backproplab.checker.sources import CELL_MARK

BIG = 1e4  # |z| at which a naive exp overflows (exp(710) is already inf in float64)


class CheckError(Exception):
    """A check measured something wrong: ``detail`` says what, ``hint`` what to look at."""

    def __init__(self, detail: str, hint: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.hint = hint


DIVIDE_BY_N = (
    "did you forget to divide by the batch size n? The loss is a mean over the batch, so every gradient carries a 1/n."
)
DIVIDED_TWICE = "the result is n times too small: the 1/n of the mean was applied twice (once is enough, at dZ2)."
TRANSPOSE = (
    "wrong transpose: with X (n, d_in) and W (d_in, d_out), dW = X.T @ dZ has W's shape (d_in, d_out); "
    "dZ.T @ X gives its transpose (d_out, d_in)."
)
SIGN = "the sign is flipped: the gradient of the BCE with respect to Z2 is (P - y) / n, not (y - P) / n."
SUM_OVER_BATCH = "a bias gradient sums over the batch axis: db = np.sum(dZ, axis=0), shape (d_out,)."
NOT_FINITE = "NaN or inf in the result: look for exp of a large number, log(0) or a division by zero."
SUBTRACT_MAX = (
    "exp overflows for large inputs: subtract the max first, softmax(z) = exp(z - m) / sum(exp(z - m)) and "
    "logsumexp(z) = m + log(sum(exp(z - m))) with m = max(z); it changes nothing mathematically."
)


def timeout_hint(seconds: float) -> str:
    return (
        f"stopped after {seconds:g} s: your code did not finish. Look for a loop whose condition never changes "
        "(a missing `t += 1`, a `while` that cannot end), or raise the limit with --timeout."
    )


def as_array(name: str, got: Any) -> np.ndarray:
    """``got`` as a numeric ndarray, or :class:`CheckError` naming what came back instead."""
    if got is None:
        raise CheckError(f"{name} returned None", "did you forget a `return` statement?")
    try:
        arr = np.asarray(got)
    except ValueError as e:  # a ragged list, rows of different lengths: no array at all
        raise CheckError(f"{name} returned a {type(got).__name__} that is not an array: {e}") from None
    if arr.dtype.kind not in "biuf":
        raise CheckError(f"{name} returned {type(got).__name__} (dtype {arr.dtype}), expected a numeric array")
    return arr


def compare(
    name: str, got: Any, expected: FloatArray, n: int | None = None, rtol: float = 1e-6, atol: float = 1e-9
) -> None:
    """Raise :class:`CheckError` with the most specific hint if ``got`` is not ``expected``.

    ``n`` is the batch size when a wrong factor of ``n`` is a plausible mistake (losses, gradients).
    """
    arr = as_array(name, got)
    if arr.shape != expected.shape:
        _wrong_shape(name, arr, expected)
    if not np.isfinite(arr).all():
        raise CheckError(f"{name} contains NaN or inf (expected finite values)", NOT_FINITE)
    if np.allclose(arr, expected, rtol=rtol, atol=atol):
        return

    def close(target: FloatArray) -> bool:
        return bool(np.allclose(arr, target, rtol=max(rtol, 1e-6), atol=atol))

    diff = np.abs(arr - expected)
    where = np.unravel_index(int(np.argmax(diff)), diff.shape) if diff.ndim else ()
    detail = (
        f"{name} is wrong: largest difference {diff.max():.3g} at index {tuple(int(i) for i in where)} "
        f"(got {arr[where]:.6g}, expected {expected[where]:.6g})"
    )
    if n is not None and n > 1 and close(n * expected):
        raise CheckError(f"{detail}; every entry is exactly n = {n} times too large", DIVIDE_BY_N)
    if n is not None and n > 1 and close(expected / n):
        raise CheckError(f"{detail}; every entry is exactly n = {n} times too small", DIVIDED_TWICE)
    if n is not None and close(-expected):
        raise CheckError(f"{detail}; every entry has the opposite sign", SIGN)
    if expected.ndim == 2 and expected.shape[0] == expected.shape[1] and close(expected.T):
        raise CheckError(f"{detail}; the values equal the expected transpose", TRANSPOSE)
    raise CheckError(detail)


def _wrong_shape(name: str, arr: np.ndarray, expected: FloatArray) -> None:
    detail = f"{name} has shape {arr.shape}, expected {expected.shape}"
    if expected.ndim == 2 and arr.shape == expected.T.shape:
        raise CheckError(detail, TRANSPOSE)
    if expected.ndim == 1 and arr.ndim == 2 and arr.shape[1] == expected.shape[0]:
        raise CheckError(detail, SUM_OVER_BATCH)
    if arr.size == expected.size:
        raise CheckError(
            detail,
            "the right number of values in the wrong shape: (n, 1) and (n,) broadcast against each other "
            "silently into (n, n); keep column vectors as (n, 1) throughout.",
        )
    raise CheckError(detail, f"expected shape {expected.shape}, got {arr.shape}: write the shape of each array down.")


def _library_dirs() -> tuple[str, ...]:
    """Folders whose frames are not the learner's: this checker, the standard library, site-packages."""
    paths = sysconfig.get_paths()
    dirs = {str(Path(__file__).parent), paths["stdlib"], paths["purelib"], paths["platlib"]}
    return tuple(sorted(dirs))


def outside_library(filename: str) -> bool:
    """Whether code from ``filename`` is the learner's: not this checker's, the standard library's or a package's."""
    return not filename.startswith(_library_dirs())


def stub_name(exc: NotImplementedError) -> str | None:
    """The learner's function that raised ``exc`` itself (a stub: ``raise NotImplementedError``), else ``None``."""
    frames = traceback.extract_tb(exc.__traceback__)
    if frames and outside_library(frames[-1].filename) and frames[-1].name != "<module>":
        return frames[-1].name
    return None


def exception_report(exc: BaseException) -> tuple[str, str]:
    """``(detail, hint)`` for an exception raised by the learner's code: its type, message and line."""
    frames = traceback.extract_tb(exc.__traceback__)
    if isinstance(exc, SyntaxError) and exc.filename:  # the failing line is the exception itself
        where = f"{exc.filename}, line {exc.lineno}: {(exc.text or '').strip()}"
    else:
        outside = [f for f in frames if outside_library(f.filename)]
        frame = outside[-1] if outside else (frames[-1] if frames else None)
        where = f"{frame.filename}, line {frame.lineno}, in {frame.name}: {frame.line}" if frame else "unknown place"
    detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__  # a bare assert has no message
    limit = memory_limit_mib()
    if isinstance(exc, MemoryError) and limit is not None:  # in the worker, whose memory is capped
        return f"used more than {limit} MiB of memory ({detail})", (
            f"your code asked for more memory than the limit at {where}: look for an array far larger than "
            "intended (a shape (n, n) where (n,) was meant, a list that grows forever), or raise --memory-mib."
        )
    if isinstance(exc, SystemExit):  # it would end the checker's process without a word: name it
        return detail, f"your code called sys.exit (unittest.main() does too) at {where}"
    return detail, f"your code raised {detail} at {where}"


def import_error_report(exc: BaseException) -> tuple[str, str]:
    """``(detail, hint)`` for an exception raised while importing the learner's file (every check needs it)."""
    detail, hint = exception_report(exc)
    frames = traceback.extract_tb(exc.__traceback__)
    if any(CELL_MARK in f.filename for f in frames) or CELL_MARK in str(getattr(exc, "filename", "")):
        return detail, hint + (
            ". The checker runs your notebook's code cells in order and stops at the first that fails: fix that "
            'cell, or put your own tests under `if __name__ == "__main__":` (true in Jupyter, not in the checker)'
        )
    # the file's own top-level code (not a function it defines), or an exit from anywhere at import
    if isinstance(exc, SystemExit) or (frames and frames[-1].name == "<module>"):
        hint += (
            ". Importing your file runs its top-level code: move your own tests under "
            '`if __name__ == "__main__":` so the checker can import the functions'
        )
        if isinstance(exc, AssertionError) and "adam" in (frames[-1].line or ""):
            hint += (
                " (exercise 7.6's assert fails as the seed prints it: 50 Adam steps of lr 0.2 end at 2.966;"
                " see docs/errata.md)"
            )
    return detail, hint


def watched(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, list[str]]:
    """``fn(*args, **kwargs)`` and the NumPy warnings it raised: overflow, invalid, divide (underflow is harmless)."""
    with warnings.catch_warnings(record=True) as caught, np.errstate(all="warn", under="ignore"):
        warnings.simplefilter("always")
        result = fn(*args, **kwargs)
    return result, [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]


def no_overflow(name: str, result: Any, caught: list[str], hint: str) -> np.ndarray:
    """``result`` (of a call at ``|z| = BIG``) as an array; :class:`CheckError` with ``hint`` if it warned or is
    not finite."""
    arr = as_array(name, result)
    if caught or not np.isfinite(arr).all():
        what = f"warned {caught[0]!r}" if caught else "returned NaN or inf"
        raise CheckError(f"{name} {what} at |z| = {BIG:g}", hint)
    return arr
