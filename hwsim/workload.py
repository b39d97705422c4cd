"""What a hardware back-end maps: a sequence of 2-D weight matrices with their MVM counts.

Every back-end's ``map`` accepts anything :func:`iter_matrix_layers` understands:

* a trained :class:`hwsim.nn.Network` (its masked weights; ``run`` is then possible),
* a shape-only :class:`models.shapes.ShapeNetwork` (synthetic weights drawn lazily, layer by layer,
  so that VGG-16-sized workloads stream instead of materialising every matrix at once),
* a sequence of :class:`MatrixLayer`, or of bare 2-D arrays (one MVM per inference each).

Exact zeros in a weight matrix mean pruned weights.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

import numpy as np

from .errors import MappingError

#: Largest matrix (elements) accepted: 2**31 elements would already need 16 GiB as float64.
MAX_MATRIX_ELEMENTS = 2**31


@dataclass(frozen=True)
class MatrixLayer:
    """One weighted layer as the hardware sees it."""

    name: str
    weight: np.ndarray
    """(out_features, in_features), float; exact zeros are pruned weights."""
    mvms_per_inference: int = 1
    """Matrix-vector products per inference (output pixels for a convolution, tokens for a transformer)."""

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.weight.shape[0]), int(self.weight.shape[1]))


#: Magnitudes a weight may have: within float32's range (networks run in float32), nonzero ones no smaller than
#: float32's smallest subnormal (below it a weight would silently become 0, i.e. pruned).
WEIGHT_MAX = float(np.finfo(np.float32).max)
WEIGHT_TINY = float(np.finfo(np.float32).smallest_subnormal)


def as_kernel_float(arr: np.ndarray, what: str, error: type[Exception] = MappingError) -> np.ndarray:
    """``arr`` (real numeric) in a dtype the kernels take, its values checked; raises ``error`` naming ``what``.

    Native float32 and float64 pass unchanged; float16 becomes float32; big-endian floats become native; long double,
    integers and bools become float64. Refused: NaN/inf, magnitudes over :data:`WEIGHT_MAX` (they overflow float32)
    and nonzero magnitudes under :data:`WEIGHT_TINY` (they underflow to 0 in float32, so a network would treat them as
    pruned while a bare matrix would not)."""
    if arr.dtype.kind not in "fiub":
        raise error(f"{what}: dtype must be real numeric, got {arr.dtype}")
    if arr.dtype.kind != "f" or arr.dtype.itemsize > 8:
        with np.errstate(over="ignore"):
            out = arr.astype(np.float64)
    elif arr.dtype.itemsize < 4:
        out = arr.astype(np.float32)
    else:
        out = arr if arr.dtype.isnative else arr.astype(arr.dtype.newbyteorder("="))
    # two reductions without temporaries (a NaN makes both NaN, an inf one of them infinite): every map runs this on
    # every weight, e.g. 25.5M for ResNet-50, where an isfinite / abs / mask pass each cost as much as the mapper
    lo = float(out.min(initial=0.0))
    hi = float(out.max(initial=0.0))
    if not (math.isfinite(lo) and math.isfinite(hi)):
        bad = int(out.size - np.count_nonzero(np.isfinite(out)))
        src = " (after conversion to float64)" if arr.dtype.kind == "f" and arr.dtype.itemsize > 8 else ""
        raise error(f"{what}: holds {bad} NaN/inf values{src}")
    big = max(-lo, hi)
    if big > WEIGHT_MAX:
        raise error(f"{what}: magnitude {big:.3g} exceeds float32's range (at most {WEIGHT_MAX:.4g})")
    if out.dtype == np.float64 and arr.dtype.kind == "f":  # float32 and integers cannot hold such magnitudes
        mag = np.abs(out)
        small = float(mag[mag != 0].min(initial=np.inf))
        if small < WEIGHT_TINY:
            raise error(f"{what}: nonzero magnitude {small:.3g} is below float32's smallest ({WEIGHT_TINY:.3g}); it "
                        "would become 0 (pruned) in a network: scale the matrix or set such entries to exactly 0")
    return out


def validate_matrix(name: str, w: Any) -> np.ndarray:
    """Return ``w`` as a finite 2-D float array in a kernel dtype (:func:`as_kernel_float`) or raise
    :class:`MappingError` naming the problem."""
    arr = np.asarray(w)
    if arr.ndim != 2:
        raise MappingError(f"layer {name!r}: weight must be a 2-D (out, in) matrix, got shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise MappingError(f"layer {name!r}: weight matrix is empty, shape {arr.shape}")
    if arr.size > MAX_MATRIX_ELEMENTS:
        raise MappingError(f"layer {name!r}: {arr.size} elements exceed the limit of {MAX_MATRIX_ELEMENTS}")
    return as_kernel_float(arr, f"layer {name!r}: weight matrix")


def iter_matrix_layers(source: Any) -> Iterator[MatrixLayer]:
    """Yield validated :class:`MatrixLayer` objects from any supported source (see module doc)."""
    if hasattr(source, "matrix_layers"):
        items: Iterable[Any] = source.matrix_layers()
    elif isinstance(source, np.ndarray):
        items = [source]
    elif isinstance(source, Iterable):
        items = source
    else:
        raise MappingError(f"cannot map an object of type {type(source).__name__}; "
                           "pass a Network, a ShapeNetwork or a sequence of 2-D weight matrices")
    n = 0
    for i, item in enumerate(items):
        if isinstance(item, MatrixLayer):
            name, w, mvms = item.name, item.weight, item.mvms_per_inference
        else:
            name, w, mvms = f"layer{i}", item, 1
        if isinstance(mvms, bool) or not isinstance(mvms, (int, np.integer)) or mvms < 1:
            raise MappingError(f"layer {name!r}: mvms_per_inference must be an integer >= 1, got {mvms!r}")
        yield MatrixLayer(name, validate_matrix(name, w), int(mvms))
        n += 1
    if n == 0:
        raise MappingError("nothing to map: the network has no weighted layers")
