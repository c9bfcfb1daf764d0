"""Atomic file writes and pickle-free ``.npz`` reading (internal)."""

import json
import os
import tempfile
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import numpy as np


@contextmanager
def atomic_write(path: str | os.PathLike[str]) -> Iterator[IO[bytes]]:
    """Open a temporary file next to ``path`` for binary writing; on success rename it over ``path``.

    A crash or an exception mid-write leaves the old file (if any) untouched and no partial file.
    """
    target = Path(path)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; give the file the usual permissions
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_npz(path: str | os.PathLike[str], meta: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> None:
    """Write ``arrays`` plus ``meta`` (as a JSON string under the key ``"meta"``) atomically."""
    if not str(path).endswith(".npz"):
        raise ValueError(f"expected a path ending in .npz, got {path}")
    with atomic_write(path) as f:
        payload: dict[str, Any] = {"meta": np.array(json.dumps(meta)), **arrays}
        np.savez(f, **payload)


def read_npz(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Every array of a ``.npz`` file, never unpickling. Raises ``FileNotFoundError`` or a
    ``ValueError`` naming the path for a directory or anything else that is not a sound ``.npz`` of
    plain arrays."""
    p = Path(path)
    if p.is_dir():
        raise ValueError(f"{p}: is a directory, not a file")
    if not p.is_file():
        raise FileNotFoundError(f"{p}: no such file")
    if not zipfile.is_zipfile(p):
        # without this check np.load would take any other file for a pickle and refuse it as such
        raise ValueError(f"{p}: not a readable .npz file (not a zip archive)")
    try:
        with open(p, "rb") as fh, np.load(fh, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as e:
        raise ValueError(f"{p}: not a readable .npz file ({e})") from e
    except ValueError as e:  # object arrays, which would need pickle
        raise ValueError(f"{p}: refused to load ({e}); backproplab files never contain pickled objects") from e


def load_npz(path: str | os.PathLike[str], kind: str) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Read a file written by :func:`save_npz` whose ``meta["format"] == kind``; never unpickles.

    Returns ``(meta, arrays)``. Raises ``FileNotFoundError`` or ``ValueError`` naming the path.
    """
    p = Path(path)
    arrays = read_npz(p)
    meta_arr = arrays.pop("meta", None)
    if meta_arr is None or meta_arr.dtype.kind != "U" or meta_arr.shape != ():
        raise ValueError(f"{p}: not a backproplab {kind} file (no 'meta' entry; found {sorted(arrays)})")
    try:
        meta = json.loads(str(meta_arr))
    except json.JSONDecodeError as e:
        raise ValueError(f"{p}: its 'meta' entry is not valid JSON ({e})") from e
    if not isinstance(meta, dict) or meta.get("format") != kind:
        found = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
        raise ValueError(f"{p}: expected a backproplab {kind} file, found format {found!r}")
    return meta, arrays
