"""Coherent photonic accelerator: weight tiles as SVDs on Clements/Reck MZI meshes (issue 4).

Public API: ``PRESETS`` (default "harris2014"), ``PhotonicConfig`` and its parts, ``resolve_config``,
``config_to_dict``, ``decompose`` / ``reconstruct`` (batched, numba), ``map`` -> ``PhotonicMapping``,
``cost`` -> ``Report``, ``run`` / ``accuracy`` (through the hardware, with noise), and the phase-pruning
mechanism ``prune_phases`` / ``matrix_error``. See :mod:`hwsim.photonic.mesh` for the MZI convention and
:mod:`hwsim.photonic.mapping` for the per-tile phase layout.
"""
from __future__ import annotations

from .config import (DEFAULT_PRESET, PRESETS, HeaterConfig, MeshConfig, MZIConfig, NoiseConfig,
                     OptoelectronicsConfig, PhotonicConfig, config_to_dict, load_config, resolve_config)
from .cost import cost
from .gauge import gauge_optimize
from .gradients import layer_forward, phase_gradients, power_penalty, power_units
from .mapping import (LayerMapping, PhotonicMapping, layer_counts, layer_matrix, map, phase_slices,
                      phases_per_tile)
from .mesh import MeshPhases, decompose, haar_unitary, mesh_depth, mesh_layout, reconstruct, wrap_phases
from .phase_pruning import matrix_error, prune_phases, wrapped_magnitude
from .programming_io import load_programming, save_programming
from .run import accuracy, hardware_matrix, run

__all__ = ["DEFAULT_PRESET", "PRESETS", "HeaterConfig", "MeshConfig", "MZIConfig", "NoiseConfig",
           "OptoelectronicsConfig", "PhotonicConfig", "config_to_dict", "load_config", "resolve_config", "cost",
           "LayerMapping", "PhotonicMapping", "layer_counts", "layer_matrix", "map", "phase_slices",
           "phases_per_tile", "MeshPhases", "decompose", "haar_unitary", "mesh_depth", "mesh_layout", "reconstruct",
           "wrap_phases", "load_programming", "save_programming", "matrix_error", "prune_phases", "wrapped_magnitude",
           "accuracy", "hardware_matrix", "run", "gauge_optimize", "layer_forward", "phase_gradients", "power_penalty",
           "power_units"]


def _warmup() -> None:
    """Compile every kernel of this package on tiny inputs (cached on disk by numba)."""
    import numpy as np

    u = np.array([[0.0, 1.0], [1.0, 0.0]])
    for mesh in ("clements", "reck"):
        p = decompose(u, mesh)
        reconstruct(p)
        decompose(u.astype(np.complex128), mesh)
    w32 = np.array([[1.0, -2.0, 0.5], [0.0, 3.0, 1.0]], dtype=np.float32)
    for w in (w32, w32.astype(np.float64)):
        m = map([w], PhotonicConfig(mesh=MeshConfig(tile=2)))
        cost(m)
        layer_matrix(m.layers[0])
