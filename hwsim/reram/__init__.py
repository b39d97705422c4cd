"""ReRAM crossbar accelerator model (ISAAC / NeuroSim lineage) with sparse-aware mapping.

The verbs of the back-end contract (:mod:`hwsim.backend`): :func:`map` (weights -> crossbars, exact action counts),
:func:`cost` (counts -> :class:`hwsim.report.Report`), :func:`run` / :func:`accuracy` (the network evaluated through
the crossbars); :data:`BACKEND` is this package's entry in the back-end registry.
"""
from __future__ import annotations

from .backend import (BACKEND, config_from_dict, config_to_dict, get_preset, load_config, resolve_config,
                      tile_geometry)
from .calibration import calibrate_adc, calibrate_ou_activity
from .config import (MAPPING_MODES, PRESETS, AdcConfig, Component, CrossbarConfig, MappingConfig, NonIdealityConfig,
                     PeripheralsConfig, PrecisionConfig, ReramConfig, SystemConfig)
from .cost import cost, isaac_operating_point
from .mapping import LayerMapping, ReramMapping, map
from .run import accuracy, run

__all__ = ["BACKEND", "MAPPING_MODES", "PRESETS", "AdcConfig", "Component", "CrossbarConfig", "MappingConfig",
           "NonIdealityConfig", "PeripheralsConfig", "PrecisionConfig", "ReramConfig", "SystemConfig",
           "config_from_dict", "config_to_dict", "get_preset", "load_config", "resolve_config", "tile_geometry", "cost",
           "isaac_operating_point", "LayerMapping", "ReramMapping", "map", "run", "accuracy", "calibrate_adc",
           "calibrate_ou_activity"]
