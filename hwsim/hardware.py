"""Registry of hardware back-ends. Each implements the same verbs (DESIGN.md):

``resolve_config(preset, config_file, **overrides)``, ``config_to_dict(cfg)``, ``map(source, cfg)``,
``cost(mapping) -> Report`` and ``run(mapping, x, seed=...) -> logits``.
"""
from __future__ import annotations

import importlib
from types import ModuleType

from .errors import ConfigError

HARDWARE = ("reram", "photonic")


def backend(name: str) -> ModuleType:
    """The back-end module for ``name`` ('reram' or 'photonic')."""
    if name not in HARDWARE:
        raise ConfigError(f"unknown hardware {name!r}; choose one of {', '.join(HARDWARE)}")
    try:
        return importlib.import_module(f"hwsim.{name}")
    except ModuleNotFoundError as exc:  # pragma: no cover - only while a back-end is not yet installed
        raise ConfigError(f"hardware back-end {name!r} is not available: {exc}") from None
