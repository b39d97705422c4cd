"""Coherent photonic accelerator: weight tiles as SVDs on Clements/Reck MZI meshes (issue 4).

Public API: ``BACKEND`` (this package's entry in :mod:`hwsim.backend`), ``PRESETS`` (default "harris2014"),
``PhotonicConfig`` and its parts, ``resolve_config`` / ``get_preset`` / ``load_config``,
``config_to_dict``, ``decompose`` / ``reconstruct`` (batched, numba), ``map`` -> ``PhotonicMapping``,
``cost`` -> ``Report``, ``run`` / ``accuracy`` (through the hardware, with noise), and the phase-pruning
mechanism ``prune_phases`` / ``matrix_error``. See :mod:`hwsim.photonic.mesh` for the MZI convention and
:mod:`hwsim.photonic.mapping` for the per-tile phase layout.
"""
from __future__ import annotations

from .backend import BACKEND, config_from_dict, get_preset, load_config, resolve_config
from .config import (DEFAULT_PRESET, PRESETS, ChipConfig, HeaterConfig, MeshConfig, MZIConfig, NoiseConfig,
                     OptoelectronicsConfig, PhotonicConfig, config_to_dict)
from .cost import cost
from .gauge import gauge_optimize
from .gradients import layer_forward, phase_gradients, power_penalty, power_units
from .mapping import (LayerMapping, PhotonicMapping, layer_counts, layer_matrix, map, phase_slices,
                      phases_per_tile)
from .mesh import MeshPhases, decompose, haar_unitary, mesh_depth, mesh_layout, reconstruct, wrap_phases
from .phase_pruning import matrix_error, prune_phases, wrapped_magnitude
from .programming_io import load_programming, save_programming
from .run import accuracy, hardware_matrix, run

__all__ = ["BACKEND", "config_from_dict", "get_preset", "DEFAULT_PRESET", "PRESETS", "ChipConfig", "HeaterConfig", "MeshConfig", "MZIConfig", "NoiseConfig",
           "OptoelectronicsConfig", "PhotonicConfig", "config_to_dict", "load_config", "resolve_config", "cost",
           "LayerMapping", "PhotonicMapping", "layer_counts", "layer_matrix", "map", "phase_slices",
           "phases_per_tile", "MeshPhases", "decompose", "haar_unitary", "mesh_depth", "mesh_layout", "reconstruct",
           "wrap_phases", "load_programming", "save_programming", "matrix_error", "prune_phases", "wrapped_magnitude",
           "accuracy", "hardware_matrix", "run", "gauge_optimize", "layer_forward", "phase_gradients", "power_penalty",
           "power_units"]

