"""A small, strict parser of the IDX format (LeCun's MNIST files; Fashion-MNIST uses it too).

Header: two zero bytes, a type code (0x08 ubyte, 0x09 byte, 0x0B int16, 0x0C int32, 0x0D float32,
0x0E float64), the number of dimensions, then one big-endian uint32 per dimension; then the data,
big-endian, exactly prod(dims) items. Files may be gzip-compressed (``.gz``).
"""
from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

import numpy as np

from hwsim.errors import DataError

_TYPES = {0x08: np.dtype("u1"), 0x09: np.dtype("i1"), 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
          0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}

#: Refuse IDX payloads above this size (a 60k x 28 x 28 file is 47 MB).
MAX_IDX_BYTES = 2 * 2**30


def read_idx(path: str | Path, expect_ndim: int | None = None) -> np.ndarray:
    """Read one IDX file (optionally gzip-compressed) into a native-endian array; raise DataError if malformed."""
    p = Path(path)
    try:
        opener = gzip.open if p.suffix == ".gz" else open
        with opener(p, "rb") as f:
            head = f.read(4)
            if len(head) < 4:
                raise DataError(f"IDX file {str(p)!r} is truncated: header has {len(head)} of 4 bytes")
            zero, code, ndim = struct.unpack(">HBB", head)
            if zero != 0 or code not in _TYPES:
                raise DataError(f"IDX file {str(p)!r} has a wrong magic number 0x{head.hex()}: expected 0x0000 "
                                f"followed by a type code in {sorted(hex(c) for c in _TYPES)}")
            if ndim < 1 or (expect_ndim is not None and ndim != expect_ndim):
                want = f"{expect_ndim}" if expect_ndim is not None else ">= 1"
                raise DataError(f"IDX file {str(p)!r} declares {ndim} dimensions, expected {want}")
            raw_dims = f.read(4 * ndim)
            if len(raw_dims) < 4 * ndim:
                raise DataError(f"IDX file {str(p)!r} is truncated inside its dimension header")
            dims = struct.unpack(f">{ndim}I", raw_dims)
            dtype = _TYPES[code]
            nbytes = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
            if nbytes > MAX_IDX_BYTES:
                raise DataError(f"IDX file {str(p)!r} declares dimensions {dims} ({nbytes} bytes), over the "
                                f"{MAX_IDX_BYTES}-byte limit")
            data = f.read(nbytes)
            if len(data) != nbytes:
                raise DataError(f"IDX file {str(p)!r} is truncated: dimensions {dims} need {nbytes} data bytes, "
                                f"found {len(data)}")
            if f.read(1):
                raise DataError(f"IDX file {str(p)!r} has trailing bytes after the {nbytes} data bytes of {dims}")
    except FileNotFoundError:
        raise DataError(f"IDX file {str(p)!r} does not exist") from None
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"IDX file {str(p)!r} is corrupt: {exc}") from None
    return np.frombuffer(data, dtype=dtype).reshape(dims).astype(dtype.newbyteorder("="))
