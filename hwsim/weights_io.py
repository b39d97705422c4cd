"""Reading weights files (``.npz``) safely: no pickles, bounded size, clear errors.

Format (DESIGN.md): one 2-D array per weighted layer, shape (out, in), in network order; exact zeros are
pruned weights. Optional companions: ``KEY.bias`` (1-D, out) and ``KEY.mask`` (2-D bool, same shape as KEY),
where KEY is the weight array's name. Any other key ending in ``.bias`` / ``.mask`` without its weight array
is an error, as is any weight array that is not 2-D.
"""
from __future__ import annotations

import math
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np
from numpy.lib import format as npformat

from .errors import DataError
from .workload import as_kernel_float

#: Refuse files whose arrays would take more than this many bytes once loaded (zip bombs, typos).
MAX_WEIGHTS_BYTES = 8 * 2**30


@dataclass(frozen=True)
class WeightsFile:
    source: str
    weights: list[tuple[str, np.ndarray]]
    """(name, 2-D weight) in file order."""
    biases: dict[str, np.ndarray] = field(default_factory=dict)
    masks: dict[str, np.ndarray] = field(default_factory=dict)


#: At most this many arrays in one file.
MAX_MEMBERS = 100_000
#: Longest ``.npy`` header accepted (numpy's own default limit).
MAX_HEADER_BYTES = 10_000
_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate", zipfile.ZIP_BZIP2: "bzip2",
            zipfile.ZIP_LZMA: "lzma"}


def read_npz_arrays(path: str | Path, what: str) -> list[tuple[str, np.ndarray]]:
    """(key, array) pairs of an ``.npz`` in file order, read safely. ``what`` names the file in errors ("weights
    file", ...). Every problem is one :class:`DataError` naming the file, the array and the problem: a missing or
    non-zip file; an encrypted member, an unknown compression method, a member that is not ``.npy``; a corrupt
    ``.npy`` header, an object (pickle) or structured dtype, a header whose shape does not match the member's size;
    a corrupt compressed stream or checksum. Sizes are checked from the headers before anything is allocated: no
    array over :data:`MAX_WEIGHTS_BYTES` in total."""
    p = Path(path)
    where = f"{what} {str(p)!r}"
    if not p.is_file():
        raise DataError(f"{where} does not exist")
    try:
        zf = zipfile.ZipFile(p)
    except Exception as exc:  # BadZipFile, OSError, ValueError, struct.error, ...
        raise DataError(f"{where} is not a valid .npz archive: {exc}") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_MEMBERS:
            raise DataError(f"{where} holds {len(infos)} members, over the limit of {MAX_MEMBERS}")
        seen: set[str] = set()
        for info in infos:
            name = info.filename
            if info.flag_bits & 0x1:
                raise DataError(f"{where}: member {name!r} is encrypted (not an array numpy wrote)")
            if info.compress_type not in _METHODS:
                raise DataError(f"{where}: member {name!r} uses compression method {info.compress_type}; supported: "
                                + ", ".join(f"{k} ({v})" for k, v in _METHODS.items()))
            if not name.endswith(".npy") or info.is_dir():
                raise DataError(f"{where}: member {name!r} is not a .npy array (an .npz holds only NAME.npy members)")
            if name[:-4] in seen:
                raise DataError(f"{where}: array {name[:-4]!r} appears twice")
            seen.add(name[:-4])
        try:
            _check_layout(zf, infos, where)
        except (OSError, ValueError, OverflowError) as exc:
            if isinstance(exc, DataError):
                raise
            raise DataError(f"{where}: damaged archive directory: {exc}") from None
        total = sum(info.file_size for info in infos)
        if total > MAX_WEIGHTS_BYTES:
            raise DataError(f"{where} would expand to {total} bytes, over the {MAX_WEIGHTS_BYTES} limit")
        return [(info.filename[:-4], _read_member(zf, info, where)) for info in infos]


def _check_layout(zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo], where: str) -> None:
    """The members must tile the archive: each local header where the central directory says, each member ending
    where the next begins and the last where the central directory starts. A damaged directory that hides a member
    (an archive cut short by an interrupted write, a corrupt count or offset) is refused, not read as fewer layers."""
    fp = zf.fp
    assert fp is not None
    pos = min((i.header_offset for i in infos), default=zf.start_dir)
    for info in sorted(infos, key=lambda i: i.header_offset):
        if info.header_offset != pos:
            raise DataError(f"{where}: member {info.filename!r} starts at byte {info.header_offset}, expected {pos} "
                            "(damaged archive directory)")
        fp.seek(pos)
        head = fp.read(30)
        if len(head) != 30 or head[:4] != b"PK\x03\x04":
            raise DataError(f"{where}: member {info.filename!r} has no local header at byte {pos}")
        pos += 30 + int.from_bytes(head[26:28], "little") + int.from_bytes(head[28:30], "little") + info.compress_size
        if info.flag_bits & 0x8:  # a data descriptor follows: 12-24 bytes, optionally signed
            fp.seek(pos)
            signed = fp.read(4) == b"PK\x07\x08"
            pos += (4 if signed else 0) + (20 if info.file_size >= 0xFFFFFFFF or info.compress_size >= 0xFFFFFFFF
                                           else 12)
    if pos != zf.start_dir:
        raise DataError(f"{where}: {zf.start_dir - pos} bytes between the last member and the archive directory "
                        "(damaged or hidden members)")


def _read_header(f: IO[bytes]) -> tuple[tuple[int, ...], bool, np.dtype]:
    version = npformat.read_magic(f)
    if version == (1, 0):
        return npformat.read_array_header_1_0(f, max_header_size=MAX_HEADER_BYTES)
    if version in ((2, 0), (3, 0)):
        return npformat.read_array_header_2_0(f, max_header_size=MAX_HEADER_BYTES)
    raise ValueError(f"unsupported .npy format version {version}")


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, where: str) -> np.ndarray:
    key = info.filename[:-4]
    try:
        with zf.open(info) as f:
            try:
                shape, fortran, dtype = _read_header(f)
            except Exception as exc:  # ValueError, SyntaxError, tokenize.TokenError, ...: all one problem
                raise DataError(f"{where}: array {key!r} has a corrupt .npy header: {exc}") from None
            if dtype.hasobject:
                raise DataError(f"{where}: array {key!r} holds Python objects (dtype {dtype}); object arrays need "
                                "pickle and are refused")
            if dtype.fields is not None or dtype.subdtype is not None or dtype.itemsize == 0:
                raise DataError(f"{where}: array {key!r} has unsupported dtype {dtype}")
            if not all(isinstance(n, int) and n >= 0 for n in shape):
                raise DataError(f"{where}: array {key!r} has an invalid shape {shape}")
            count = math.prod(shape)
            nbytes = count * dtype.itemsize
            if nbytes > MAX_WEIGHTS_BYTES:
                raise DataError(f"{where}: array {key!r} claims shape {shape} ({count} elements, {nbytes} bytes), "
                                f"over the {MAX_WEIGHTS_BYTES}-byte limit")
            held = info.file_size - f.tell()
            if nbytes != held:
                raise DataError(f"{where}: array {key!r} claims shape {shape} and dtype {dtype} ({nbytes} bytes) "
                                f"but the file holds {held} bytes for it")
            buf = bytearray(nbytes)
            got = 0
            view = memoryview(buf)
            while got < nbytes:
                n = f.readinto(view[got:])
                if not n:
                    break
                got += n
            if got != nbytes or f.read(1):  # reading to the end checks the CRC
                raise DataError(f"{where}: array {key!r} is truncated ({got} of {nbytes} bytes)")
    except DataError:
        raise
    except MemoryError:
        raise
    except Exception as exc:  # zlib.error, BadZipFile (CRC), EOFError, lzma.LZMAError, ...: the member is corrupt
        raise DataError(f"{where}: array {key!r} is corrupt: {exc}") from None
    arr = np.frombuffer(buf, dtype=dtype)
    return arr.reshape(shape[::-1]).T if fortran else arr.reshape(shape)


def read_weights(path: str | Path) -> WeightsFile:
    """Read and validate a weights ``.npz`` (see module doc). Raises :class:`DataError` on any problem."""
    p = Path(path)
    arrays = read_npz_arrays(p, "weights file")
    weights: list[tuple[str, np.ndarray]] = []
    biases: dict[str, np.ndarray] = {}
    masks: dict[str, np.ndarray] = {}
    for key, arr in arrays:
        if arr.dtype.kind not in "fiub":
            raise DataError(f"weights file {str(p)!r}: array {key!r} has non-numeric dtype {arr.dtype}")
        if key.endswith(".bias"):
            biases[key[:-5]] = arr
        elif key.endswith(".mask"):
            masks[key[:-5]] = arr
        else:
            if arr.ndim != 2 or 0 in arr.shape:
                raise DataError(f"weights file {str(p)!r}: array {key!r} must be a non-empty 2-D (out, in) matrix, "
                                f"got shape {arr.shape}")
            weights.append((key, as_kernel_float(arr, f"weights file {str(p)!r}: array {key!r}", DataError)))
    if not weights:
        raise DataError(f"weights file {str(p)!r} holds no weight matrix")
    names = {k for k, _ in weights}
    shapes = dict(weights)
    for kind, table in (("bias", biases), ("mask", masks)):
        for key, arr in table.items():
            if key not in names:
                raise DataError(f"weights file {str(p)!r}: {key}.{kind} has no weight array {key!r}")
    for key, b in biases.items():
        if b.shape != (shapes[key].shape[0],):
            raise DataError(f"weights file {str(p)!r}: {key}.bias must have shape ({shapes[key].shape[0]},), "
                            f"got {b.shape}")
        biases[key] = as_kernel_float(b, f"weights file {str(p)!r}: {key}.bias", DataError)
    for key, m in masks.items():
        if m.shape != shapes[key].shape:
            raise DataError(f"weights file {str(p)!r}: {key}.mask shape {m.shape} != weight shape {shapes[key].shape}")
        masks[key] = m.astype(bool)
    return WeightsFile(str(p), weights, biases, masks)
