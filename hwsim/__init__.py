"""hwsim: what does a pruned neural network cost on ReRAM crossbar and coherent photonic accelerators?"""
from __future__ import annotations

from .errors import ConfigError, DataError, HwsimError, MappingError
from .report import ComponentCost, LayerReport, Report, Totals
from .workload import MatrixLayer, iter_matrix_layers

__version__ = "0.1.0"

__all__ = ["ConfigError", "DataError", "HwsimError", "MappingError", "ComponentCost", "LayerReport",
           "Report", "Totals", "MatrixLayer", "iter_matrix_layers", "warmup", "__version__"]


def warmup() -> None:
    """Compile every numba kernel on tiny inputs (cached on disk after the first call)."""
    import importlib

    for mod in ("hwsim.nn", "hwsim.reram", "hwsim.photonic"):
        try:
            m = importlib.import_module(mod)
        except ModuleNotFoundError:
            continue
        fn = getattr(m, "_warmup", None)
        if fn is not None:
            fn()
