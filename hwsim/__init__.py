"""hwsim: what does a pruned neural network cost on a hardware accelerator, and how accurate is it there?

The hardware kinds are back-end packages found through :mod:`hwsim.backend` (``hwsim.backend.names()``)."""
from __future__ import annotations

from .errors import ConfigError, DataError, HwsimError, MappingError
from .report import ComponentCost, LayerReport, Report, Totals
from .workload import MatrixLayer, iter_matrix_layers

__version__ = "0.1.0"

__all__ = ["ConfigError", "DataError", "HwsimError", "MappingError", "ComponentCost", "LayerReport",
           "Report", "Totals", "MatrixLayer", "iter_matrix_layers", "warmup", "__version__"]


def warmup(progress: bool = False) -> dict[str, float]:
    """Compile every numba kernel (the network runtime's and every registered back-end's) on tiny inputs; numba
    caches them on disk, so later processes start fast (an ahead-of-time step for tests, benchmarks and installs:
    commands themselves compile only what they use, on first use). ``progress``: one line per part on stderr
    with its time (cold: seconds each; cached: well under one). Returns each part's wall time, s
    (``hwsim warmup`` prints them)."""
    import sys
    import time

    from . import backend, nn

    parts = [("nn", nn.warmup)] + [(be.name, be.warmup) for be in backend.backends()]
    t_all = time.perf_counter()
    seconds: dict[str, float] = {}
    for i, (name, fn) in enumerate(parts, 1):
        t0 = time.perf_counter()
        if progress:
            print(f"hwsim.warmup [{i}/{len(parts)}] {name} ...", end="", file=sys.stderr, flush=True)
        fn()
        seconds[name] = time.perf_counter() - t0
        if progress:
            print(f" {seconds[name]:.1f} s", file=sys.stderr, flush=True)
    if progress:
        print(f"hwsim.warmup: done in {time.perf_counter() - t_all:.1f} s", file=sys.stderr, flush=True)
    return seconds
