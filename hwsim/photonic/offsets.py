"""Fabrication phase offsets of the phase shifters (DESIGN.md, "Coherent photonic mesh model").

Every physical phase shifter carries a fixed phase error drawn once per chip: N(0, ``heater.offset_sigma_rad``) from
``heater.offset_seed``. A heater that is off leaves its phase at the offset, so the programmed (physical) phase phi
costs the drive wrap(phi - offset) in [0, 2pi) (single-arm) or its distance to 0 on the circle (push-pull), times
P_pi / pi. A mapping keeps physical phases; a pruned heater's phase *is* its offset (``LayerMapping.offsets``).

Which physical shifter a tile's phase lands on: time-multiplexed, tile t of a layer runs on core t mod cores (a
core's offsets are shared by every tile it runs; a tile smaller than its core uses the core's first P(K) shifters);
weight-stationary, every tile is its own mesh pair with its own draw (per layer, in tile order).
"""
from __future__ import annotations

import numpy as np

from .chip import heaters_per_core

_CORES_STREAM = 0x0FF5E7


def core_offsets(cfg) -> np.ndarray:
    """(cores, P_core) offsets of the physical cores of a time-multiplexed chip, rad."""
    rng = np.random.default_rng([int(cfg.heater.offset_seed), _CORES_STREAM])
    return rng.normal(0.0, cfg.heater.offset_sigma_rad, size=(cfg.chip.cores, heaters_per_core(cfg.core_size)))


def layer_offsets(cfg, layer_index: int, tiles: int, phases_per_tile: int) -> np.ndarray | None:
    """(tiles, phases_per_tile) offsets of the shifters a layer's tiles are programmed on, rad; None when
    ``heater.offset_sigma_rad`` is 0 (the ideal chip)."""
    if cfg.heater.offset_sigma_rad == 0:
        return None
    if cfg.chip.mode == "time_multiplexed":
        core = core_offsets(cfg)
        return np.ascontiguousarray(core[np.arange(tiles) % cfg.chip.cores, :phases_per_tile])
    rng = np.random.default_rng([int(cfg.heater.offset_seed), int(layer_index)])
    return rng.normal(0.0, cfg.heater.offset_sigma_rad, size=(tiles, phases_per_tile))


def drive(phases: np.ndarray, offsets: np.ndarray | None) -> np.ndarray:
    """Heater drive wrap(phi - offset) in [0, 2pi) (0 = heater off) of physical phases ``phases`` (rad)."""
    from .mesh import wrap_phases

    return wrap_phases(phases if offsets is None else np.asarray(phases) - offsets)
