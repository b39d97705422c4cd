"""Phase-domain pruning mechanism: switch heaters off (phase -> 0) and measure what it costs in accuracy.

The criteria that choose which phases to prune belong to the pruning front-end; this module provides
the mechanism (:func:`prune_phases`), its matrix error (:func:`matrix_error`) and the static power follows
from :func:`hwsim.photonic.cost`. Masks follow the per-tile layout of :mod:`hwsim.photonic.mapping`.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Mapping, Sequence

import numpy as np

from ..errors import ConfigError, DataError
from .mapping import LayerMapping, PhotonicMapping, layer_matrix


def wrapped_magnitude(phases: np.ndarray) -> np.ndarray:
    """Distance of each phase to 0 on the circle, min(phi, 2pi - phi), in [0, pi]."""
    p = np.mod(np.asarray(phases, dtype=np.float64), 2 * math.pi)
    return np.minimum(p, 2 * math.pi - p)


def prune_phases(mapping: PhotonicMapping, mask: Sequence[np.ndarray] | Mapping[str, np.ndarray] | None = None,
                 threshold: float | None = None) -> PhotonicMapping:
    """A new mapping whose pruned phases are switched off -- at their fabrication offset, 0 on an ideal chip; the
    input mapping is left unchanged.

    ``mask``: one bool array per layer (a sequence in layer order, or a dict by layer name; missing names
    are not pruned), shaped like that layer's ``phases`` (T, 2K(K-1)+3K); True = prune.
    ``threshold`` (rad): prune every heater whose drive wrap(phase - offset) is within ``threshold`` of 0 on the
    circle (near 2pi too).
    Give exactly one of the two. The mapped (unpruned) phases stay available as ``reference_phases``.
    """
    if not isinstance(mapping, PhotonicMapping):
        raise ConfigError(f"prune_phases expects a PhotonicMapping, got {type(mapping).__name__}")
    if (mask is None) == (threshold is None):
        raise ConfigError("give exactly one of mask= or threshold=")
    if threshold is not None:
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 <= threshold <= math.pi:
            raise ConfigError(f"threshold must be a number in [0, pi] rad, got {threshold!r}")
        masks = [wrapped_magnitude(l.drive()) <= threshold for l in mapping.layers]
    elif isinstance(mask, Mapping):
        names = {l.name for l in mapping.layers}
        unknown = sorted(set(mask) - names)
        if unknown:
            raise DataError(f"mask names unknown layers {unknown}; layers: {sorted(names)}")
        masks = [mask.get(l.name) for l in mapping.layers]
    else:
        masks = list(mask)  # type: ignore[arg-type]
        if len(masks) != len(mapping.layers):
            raise DataError(f"mask has {len(masks)} arrays for {len(mapping.layers)} layers")
    new_layers = []
    for layer, m in zip(mapping.layers, masks):
        if m is None:
            new_layers.append(layer)
            continue
        m = np.asarray(m)
        if m.dtype != np.bool_:
            raise DataError(f"layer {layer.name!r}: mask must be bool, got dtype {m.dtype}")
        if m.shape != layer.phases.shape:
            raise DataError(f"layer {layer.name!r}: mask shape {m.shape} != phases shape {layer.phases.shape}")
        ph = layer.phases.copy()
        ph[m] = layer.off_phases()[m]  # a heater switched off leaves its phase at its fabrication offset
        new_layers.append(dataclasses.replace(layer, phases=ph, reference_phases=layer.reference))
    return dataclasses.replace(mapping, layers=tuple(new_layers))


def matrix_error(mapping: PhotonicMapping) -> dict[str, float]:
    """Per layer ||W - W_rec|| / ||W|| (Frobenius), W from the mapped phases, W_rec from the current ones."""
    out: dict[str, float] = {}
    for layer in mapping.layers:
        out[layer.name] = _rel_error(layer)
    return out


def _rel_error(layer: LayerMapping) -> float:
    if layer.reference_phases is None or layer.tiles == 0:
        return 0.0
    w = layer_matrix(layer, layer.reference_phases)
    w_rec = layer_matrix(layer)
    den = float(np.linalg.norm(w))
    return float(np.linalg.norm(w - w_rec) / den) if den > 0 else 0.0
