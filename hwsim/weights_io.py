"""Reading weights files (``.npz``) safely: no pickles, bounded size, clear errors.

Format (DESIGN.md): one array per weighted layer, in network order; exact zeros are pruned weights. A weight is
2-D (out, in) -- a convolution's im2col matrix (C_out, C_in*kh*kw) -- or a 4-D convolution weight
(C_out, C_in/groups, kh, kw) as PyTorch and ONNX store it, which is installed as that matrix in the im2col order
documented in :mod:`hwsim.nn.im2col` (block-diagonal for a grouped convolution). Optional companions:
``KEY.bias`` (1-D, out) and ``KEY.mask`` (bool, the weight's shape), where KEY is the weight array's name. Any
other key ending in ``.bias`` / ``.mask`` without its weight array is an error, as is a weight array that is
neither 2-D nor 4-D. A 4-D weight needs an architecture to be costed (its MVMs per inference depend on the input
size): ``--model`` or a layer spec, never a weights file alone.
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
    """(name, 2-D weight) in file order; a 4-D convolution weight as its im2col matrix ``w.reshape(C_out, -1)``."""
    biases: dict[str, np.ndarray] = field(default_factory=dict)
    masks: dict[str, np.ndarray] = field(default_factory=dict)
    """name -> 2-D bool mask (a 4-D mask reshaped like its weight)."""
    kernels: dict[str, tuple[int, int, int, int]] = field(default_factory=dict)
    """name -> the 4-D shape (C_out, C_in/groups, kh, kw) of the weights given 4-D."""


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
    kernels: dict[str, tuple[int, int, int, int]] = {}
    for key, arr in arrays:
        if arr.dtype.kind not in "fiub":
            raise DataError(f"weights file {str(p)!r}: array {key!r} has non-numeric dtype {arr.dtype}")
        if key.endswith(".bias"):
            biases[key[:-5]] = arr
        elif key.endswith(".mask"):
            masks[key[:-5]] = arr
        else:
            if arr.ndim not in (2, 4) or 0 in arr.shape:
                raise DataError(f"weights file {str(p)!r}: array {key!r} must be a non-empty 2-D (out, in) matrix or "
                                f"a 4-D convolution weight (C_out, C_in/groups, kh, kw), got shape {arr.shape}")
            if arr.ndim == 4:
                kernels[key] = tuple(int(d) for d in arr.shape)  # type: ignore[assignment]
                arr = arr.reshape(arr.shape[0], -1)
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
        given = kernels.get(key, shapes[key].shape)
        if m.shape != given:
            raise DataError(f"weights file {str(p)!r}: {key}.mask shape {m.shape} != weight shape {given}")
        masks[key] = m.astype(bool).reshape(shapes[key].shape)
    return WeightsFile(str(p), weights, biases, masks, kernels)


def layer_matrix(layer, key: str, wf: WeightsFile) -> tuple[np.ndarray, np.ndarray]:
    """(weight matrix, mask) of weights-file entry ``key`` for network layer ``layer``: a 2-D weight must have the
    layer's matrix shape; a 4-D one must be the layer's convolution weight (C_out, C_in/groups, kh, kw) and is
    placed in im2col order (block-diagonal for groups > 1, :func:`hwsim.nn.im2col.conv_matrix`). The mask is the
    file's ``KEY.mask`` or, without one, the weight's non-zeros (structural zeros between groups stay masked).
    DataError naming the file, the array and the layer on a mismatch."""
    from .nn.im2col import conv_mask, conv_matrix, kernel_shape, support

    w = dict(wf.weights)[key]
    what = f"weights file {wf.source}: array {key!r}"
    if key in wf.kernels:
        ks = kernel_shape(layer)
        if ks is None or ks != wf.kernels[key]:
            takes = (f"a convolution weight {ks}" if ks is not None else f"a {layer.weight.shape} matrix (not a "
                     "convolution)")
            raise DataError(f"{what} is a 4-D convolution weight {wf.kernels[key]}; layer {layer.name!r} takes {takes}")
        w4 = w.reshape(wf.kernels[key])
        mat = conv_matrix(layer, w4, what).astype(w.dtype)
        m = wf.masks.get(key)
        mask = conv_mask(layer, m.reshape(wf.kernels[key]), what) if m is not None else conv_mask(layer, w4 != 0, what)
        return mat, mask
    if w.shape != layer.weight.shape:
        raise DataError(f"weights file {wf.source}: array {key!r} has shape {w.shape}, layer {layer.name!r} "
                        f"needs {layer.weight.shape}")
    m = wf.masks.get(key)
    mask = m if m is not None else (w != 0)
    sup = support(layer)
    return w, (mask if sup is None else mask & sup)
