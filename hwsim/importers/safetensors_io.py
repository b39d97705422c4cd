"""Reading ``.safetensors`` files safely, without the ``safetensors`` package (the format is an 8-byte header size,
a JSON table and raw little-endian data; no code is executed).

Every problem is one :class:`DataError` naming the file and the tensor: a header size past the file or over
:data:`MAX_HEADER_BYTES`, a header that is not a JSON object, an unknown dtype, a shape that is not non-negative
integers, offsets outside the data, overlapping, or disagreeing with shape x item size. All sizes are checked
from the header before a tensor is read; no tensor over :data:`MAX_TENSOR_BYTES`.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from ..errors import DataError

#: Largest JSON header accepted (the reference implementation's own limit is 100 MB).
MAX_HEADER_BYTES = 100 * 2**20
#: Largest single tensor accepted.
MAX_TENSOR_BYTES = 8 * 2**30

_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "BF16": "<u2", "I64": "<i8", "I32": "<i4", "I16": "<i2",
           "I8": "i1", "U8": "u1", "BOOL": "?"}


def read_safetensors(path: str | Path) -> dict[str, np.ndarray]:
    """name -> array (bfloat16 widened to float32), in header order; see module doc."""
    p = Path(path)
    where = f"safetensors file {str(p)!r}"
    if not p.is_file():
        raise DataError(f"{where} does not exist")
    size = p.stat().st_size
    with open(p, "rb") as f:
        head = f.read(8)
        if len(head) != 8:
            raise DataError(f"{where} is too short ({size} bytes) to hold a header")
        n = int.from_bytes(head, "little")
        if n > MAX_HEADER_BYTES or n > size - 8:
            raise DataError(f"{where}: header claims {n} bytes (file {size} bytes, limit {MAX_HEADER_BYTES})")
        try:
            table = json.loads(f.read(n).decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise DataError(f"{where}: header is not valid JSON: {exc}") from None
        if not isinstance(table, dict):
            raise DataError(f"{where}: header must be a JSON object, got {type(table).__name__}")
        data_len = size - 8 - n
        entries = []
        for name, e in table.items():
            if name == "__metadata__":
                continue
            if not isinstance(e, dict) or set(e) - {"dtype", "shape", "data_offsets"} or len(e) != 3:
                raise DataError(f"{where}: tensor {name!r}: expected keys dtype, shape, data_offsets, got {e!r:.200}")
            dt, shape, off = e["dtype"], e["shape"], e["data_offsets"]
            if dt not in _DTYPES:
                raise DataError(f"{where}: tensor {name!r}: unsupported dtype {dt!r}; supported: {', '.join(_DTYPES)}")
            if not isinstance(shape, list) or len(shape) > 8 or not all(
                    isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape):
                raise DataError(f"{where}: tensor {name!r}: invalid shape {shape!r:.200}")
            if not (isinstance(off, list) and len(off) == 2 and all(isinstance(o, int) and not isinstance(o, bool)
                                                                     for o in off) and 0 <= off[0] <= off[1] <= data_len):
                raise DataError(f"{where}: tensor {name!r}: data_offsets {off!r:.200} outside the {data_len} data bytes")
            nbytes = math.prod(shape) * np.dtype(_DTYPES[dt]).itemsize
            if nbytes > MAX_TENSOR_BYTES:
                raise DataError(f"{where}: tensor {name!r} claims shape {shape} ({nbytes} bytes), over the "
                                f"{MAX_TENSOR_BYTES}-byte limit")
            if off[1] - off[0] != nbytes:
                raise DataError(f"{where}: tensor {name!r}: shape {shape} and dtype {dt} need {nbytes} bytes, "
                                f"data_offsets give {off[1] - off[0]}")
            entries.append((name, dt, tuple(shape), off[0], off[1]))
        spans = sorted((b, e, name) for name, _, _, b, e in entries if e > b)
        for (b0, e0, n0), (b1, _, n1) in zip(spans, spans[1:]):
            if b1 < e0:
                raise DataError(f"{where}: tensors {n0!r} and {n1!r} overlap")
        out: dict[str, np.ndarray] = {}
        for name, dt, shape, b, e in entries:
            f.seek(8 + n + b)
            buf = f.read(e - b)
            if len(buf) != e - b:  # pragma: no cover - the size was checked; a file shrinking while read
                raise DataError(f"{where}: tensor {name!r} is truncated")
            arr = np.frombuffer(buf, dtype=_DTYPES[dt]).reshape(shape)
            if dt == "BF16":
                arr = (arr.astype(np.uint32) << 16).view(np.float32)
            out[name] = arr.astype(arr.dtype.newbyteorder("="), copy=True)
    return out
