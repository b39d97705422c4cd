"""What a hardware back-end maps: a sequence of 2-D weight matrices with their MVM counts.

Every back-end's ``map`` accepts anything :func:`iter_matrix_layers` understands:

* a trained :class:`hwsim.nn.Network` (its masked weights; ``run`` is then possible),
* a shape-only :class:`models.shapes.ShapeNetwork` (synthetic weights drawn lazily, layer by layer,
  so that VGG-16-sized workloads stream instead of materialising every matrix at once),
* a sequence of :class:`MatrixLayer`, or of bare 2-D arrays (one MVM per inference each).

Exact zeros in a weight matrix mean pruned weights.
"""
from __future__ import annotations

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


def validate_matrix(name: str, w: Any) -> np.ndarray:
    """Return ``w`` as a finite 2-D float array or raise :class:`MappingError` naming the problem."""
    arr = np.asarray(w)
    if arr.ndim != 2:
        raise MappingError(f"layer {name!r}: weight must be a 2-D (out, in) matrix, got shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise MappingError(f"layer {name!r}: weight matrix is empty, shape {arr.shape}")
    if arr.size > MAX_MATRIX_ELEMENTS:
        raise MappingError(f"layer {name!r}: {arr.size} elements exceed the limit of {MAX_MATRIX_ELEMENTS}")
    if arr.dtype.kind not in "fiub":
        raise MappingError(f"layer {name!r}: weight dtype must be real numeric, got {arr.dtype}")
    if arr.dtype.kind != "f":
        arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise MappingError(f"layer {name!r}: weight matrix holds {bad} NaN/inf values")
    return arr


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
        if int(mvms) < 1:
            raise MappingError(f"layer {name!r}: mvms_per_inference must be >= 1, got {mvms}")
        yield MatrixLayer(name, validate_matrix(name, w), int(mvms))
        n += 1
    if n == 0:
        raise MappingError("nothing to map: the network has no weighted layers")
