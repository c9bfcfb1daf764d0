"""The IDX file format of MNIST and Fashion-MNIST: a strict reader and an atomic writer.

An IDX file is a 4-byte magic number, one big-endian ``uint32`` per dimension, then the values in
C order, big-endian::

    0x00 0x00 <type code> <ndim>   dims[0] ... dims[ndim-1]   data (prod(dims) * itemsize bytes)

Files whose name ends in ``.gz`` are gzip-compressed. Every defect of a file (bad magic, unknown
type code, a short header, too little or too much data, a corrupt gzip stream) is a ``ValueError``
that names the file and says what was expected and what was found.
"""

import gzip
import math
import os
import zlib
from pathlib import Path

import numpy as np

from backproplab._io import atomic_write

# type code -> big-endian dtype of the stored values
_DTYPES: dict[int, np.dtype[np.generic]] = {
    0x08: np.dtype(">u1"),  # unsigned byte
    0x09: np.dtype(">i1"),  # signed byte
    0x0B: np.dtype(">i2"),  # short
    0x0C: np.dtype(">i4"),  # int
    0x0D: np.dtype(">f4"),  # float
    0x0E: np.dtype(">f8"),  # double
}
_CODES = ", ".join(f"0x{code:02X}" for code in _DTYPES)


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """The array stored in the IDX file ``path`` (gzip-compressed when the name ends in ``.gz``).

    Returns an array of shape ``dims`` in native byte order: ``uint8``, ``int8``, ``int16``,
    ``int32``, ``float32`` or ``float64`` as the type code says. Raises ``FileNotFoundError`` for a
    missing file and ``ValueError`` naming the file for anything that is not a sound IDX file.
    """
    p = Path(path)
    raw = _read_bytes(p)
    if len(raw) < 4:
        raise ValueError(f"{p}: not an IDX file: expected a 4-byte magic number, found {len(raw)} bytes in all")
    magic = int.from_bytes(raw[:4], "big")
    zeros, code, ndim = raw[0:2], raw[2], raw[3]
    if zeros != b"\x00\x00" or code not in _DTYPES or ndim == 0:
        raise ValueError(
            f"{p}: bad magic number 0x{magic:08X}: expected 0x0000TTNN with TT a type code "
            f"({_CODES}) and NN >= 1 the number of dimensions"
        )
    header_len = 4 + 4 * ndim
    if len(raw) < header_len:
        raise ValueError(
            f"{p}: truncated header: expected {header_len} bytes (magic and {ndim} dimensions), found {len(raw)}"
        )
    dims = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = _DTYPES[code]
    expected = math.prod(dims) * dtype.itemsize
    found = len(raw) - header_len
    if found != expected:
        problem = "truncated" if found < expected else "over-long"
        raise ValueError(
            f"{p}: {problem}: expected {expected} bytes of data for shape {dims} of {dtype.name}, found {found}"
        )
    data = np.frombuffer(raw, dtype=dtype, offset=header_len).reshape(dims)
    return data.astype(dtype.newbyteorder("="))  # a writable copy in native byte order


def write_idx(path: str | os.PathLike[str], array: np.ndarray) -> None:
    """Write ``array`` (any shape with 1 to 255 dimensions) as an IDX file, atomically.

    The dtype must be one IDX stores: ``uint8``, ``int8``, ``int16``, ``int32``, ``float32`` or
    ``float64`` (else ``TypeError``). The file is gzip-compressed when ``path`` ends in ``.gz``.
    """
    arr = np.asarray(array)
    codes = {dtype.newbyteorder("="): code for code, dtype in _DTYPES.items()}
    code = codes.get(arr.dtype.newbyteorder("="))
    if code is None:
        supported = ", ".join(dtype.newbyteorder("=").name for dtype in _DTYPES.values())
        raise TypeError(f"write_idx: expected a dtype IDX can store ({supported}), got {arr.dtype}")
    if not 1 <= arr.ndim <= 255 or max(arr.shape) >= 2**32:
        raise ValueError(f"write_idx: expected 1 to 255 dimensions each below 2**32, got shape {arr.shape}")
    header = bytes([0, 0, code, arr.ndim]) + b"".join(n.to_bytes(4, "big") for n in arr.shape)
    payload = header + np.ascontiguousarray(arr, dtype=_DTYPES[code]).tobytes()
    p = Path(path)
    with atomic_write(p) as f:
        if p.name.endswith(".gz"):
            # name the member after the target (not the temporary file); mtime=0 keeps output reproducible
            with gzip.GzipFile(filename=p.name, mode="wb", fileobj=f, mtime=0) as gz:
                gz.write(payload)
        else:
            f.write(payload)


def _read_bytes(p: Path) -> bytes:
    """The file's bytes, decompressed when its name ends in ``.gz``."""
    with open(p, "rb") as f:
        if not p.name.endswith(".gz"):
            return f.read()
        try:
            with gzip.GzipFile(fileobj=f, mode="rb") as gz:
                return gz.read()
        except (OSError, EOFError, zlib.error) as e:  # bad header or CRC, cut-off stream, corrupt deflate data
            raise ValueError(f"{p}: not a readable gzip file ({e})") from e
