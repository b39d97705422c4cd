"""hwsim: what does a pruned neural network cost on a hardware accelerator, and how accurate is it there?

The hardware kinds are back-end packages found through :mod:`hwsim.backend` (``hwsim.backend.names()``)."""
from __future__ import annotations

from .errors import ConfigError, DataError, HwsimError, MappingError
from .report import ComponentCost, LayerReport, Report, Totals
from .workload import MatrixLayer, iter_matrix_layers

__version__ = "0.1.0"

__all__ = ["ConfigError", "DataError", "HwsimError", "MappingError", "ComponentCost", "LayerReport",
           "Report", "Totals", "MatrixLayer", "iter_matrix_layers", "warmup", "__version__"]


def warmup() -> None:
    """Compile every numba kernel (the network runtime's and every registered back-end's) on tiny inputs; numba
    caches them on disk, so later processes start fast."""
    from . import backend, nn

    nn.warmup()
    for be in backend.backends():
        be.warmup()
