"""Reading weights files (``.npz``) safely: no pickles, bounded size, clear errors.

Format (DESIGN.md): one 2-D array per weighted layer, shape (out, in), in network order; exact zeros are
pruned weights. Optional companions: ``KEY.bias`` (1-D, out) and ``KEY.mask`` (2-D bool, same shape as KEY),
where KEY is the weight array's name. Any other key ending in ``.bias`` / ``.mask`` without its weight array
is an error, as is any weight array that is not 2-D.
"""
from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import DataError

#: Refuse files whose arrays would take more than this many bytes once loaded (zip bombs, typos).
MAX_WEIGHTS_BYTES = 8 * 2**30


@dataclass(frozen=True)
class WeightsFile:
    source: str
    weights: list[tuple[str, np.ndarray]]
    """(name, 2-D weight) in file order."""
    biases: dict[str, np.ndarray] = field(default_factory=dict)
    masks: dict[str, np.ndarray] = field(default_factory=dict)


def read_npz_arrays(path: str | Path, what: str) -> list[tuple[str, np.ndarray]]:
    """(key, array) pairs of an ``.npz`` in file order, read safely: no pickles (object arrays refused), the
    expanded size bounded by :data:`MAX_WEIGHTS_BYTES`. ``what`` names the file in errors ("weights file", ...).
    Raises :class:`DataError` for a missing, non-zip, oversized or corrupt file."""
    p = Path(path)
    if not p.is_file():
        raise DataError(f"{what} {str(p)!r} does not exist")
    try:
        with zipfile.ZipFile(p) as zf:
            total = sum(info.file_size for info in zf.infolist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataError(f"{what} {str(p)!r} is not a valid .npz archive: {exc}") from None
    if total > MAX_WEIGHTS_BYTES:
        raise DataError(f"{what} {str(p)!r} would expand to {total} bytes, over the {MAX_WEIGHTS_BYTES} limit")
    arrays: list[tuple[str, np.ndarray]] = []
    try:
        with np.load(p, allow_pickle=False) as npz:
            for key in npz.files:
                try:
                    arrays.append((key, npz[key]))
                except ValueError as exc:
                    raise DataError(f"{what} {str(p)!r}: array {key!r} cannot be loaded without pickle "
                                    f"(object arrays are refused): {exc}") from None
    except DataError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(f"{what} {str(p)!r} is corrupt: {exc}") from None
    return arrays


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
            if not np.all(np.isfinite(arr)):
                raise DataError(f"weights file {str(p)!r}: array {key!r} holds NaN/inf values")
            weights.append((key, arr.astype(np.float64) if arr.dtype.kind != "f" else arr))
    if not weights:
        raise DataError(f"weights file {str(p)!r} holds no weight matrix")
    names = {k for k, _ in weights}
    shapes = dict(weights)
    for kind, table in (("bias", biases), ("mask", masks)):
        for key, arr in table.items():
            if key not in names:
                raise DataError(f"weights file {str(p)!r}: {key}.{kind} has no weight array {key!r}")
    for key, b in biases.items():
        if b.shape != (shapes[key].shape[0],) or not np.all(np.isfinite(b)):
            raise DataError(f"weights file {str(p)!r}: {key}.bias must be finite with shape "
                            f"({shapes[key].shape[0]},), got {b.shape}")
    for key, m in masks.items():
        if m.shape != shapes[key].shape:
            raise DataError(f"weights file {str(p)!r}: {key}.mask shape {m.shape} != weight shape {shapes[key].shape}")
        masks[key] = m.astype(bool)
    return WeightsFile(str(p), weights, biases, masks)
