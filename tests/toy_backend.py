"""A third hardware kind defined entirely in the test tree (issue 9 acceptance): a digital MAC array.

Weights are cut into ``array.rows`` x ``array.cols`` blocks (outputs x inputs); every block holding a nonzero weight
occupies one array (all-zero blocks are not allocated). Each nonzero weight costs one 8-bit multiply-accumulate per
MVM; every allocated array leaks. Energies: 8-bit integer multiply 0.2 pJ + 8-bit add 0.03 pJ at 45 nm (Horowitz,
"Computing's energy problem", ISSCC 2014, Fig. 1.1.9). Leakage, area and clock are round assumptions for the test.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from hwsim import config as C
from hwsim.backend import BackendBase, Option
from hwsim.report import ComponentCost, LayerReport, Report
from hwsim.workload import iter_matrix_layers


@dataclass(frozen=True)
class ArrayConfig:
    TOML_TABLE: ClassVar[str] = "array"
    rows: int = 64
    """Outputs per array."""
    cols: int = 64
    """Inputs per array."""
    energy_per_mac_j: float = 0.23e-12
    """Energy of one 8-bit multiply-accumulate, J (Horowitz ISSCC 2014: 0.2 pJ mult + 0.03 pJ add)."""
    leakage_per_array_w: float = 1e-4
    """Leakage of one array, W (assumption)."""
    area_per_array_mm2: float = 0.05
    """Area of one array, mm^2 (assumption)."""
    clock_hz: float = 1e9
    """One MVM row pass per cycle, Hz (assumption)."""

    def __post_init__(self) -> None:
        C.pos_int(self, "rows", "cols")
        C.positive(self, "clock_hz")
        C.nonneg(self, "energy_per_mac_j", "leakage_per_array_w", "area_per_array_mm2")


@dataclass(frozen=True)
class MacConfig:
    array: ArrayConfig = field(default_factory=ArrayConfig)
    preset: str | None = None

    def __post_init__(self) -> None:
        C.nodes(self, array=ArrayConfig)


@dataclass(frozen=True)
class MacMapping:
    config: MacConfig
    layers: tuple[tuple[str, tuple[int, int], int, int, int, np.ndarray], ...]
    """(name, shape, mvms per inference, arrays, nonzero weights, int8-quantised effective weights)."""
    network: Any


class ToyBackend(BackendBase):
    name = "toy"
    title = "digital MAC array"
    description = "toy digital MAC array (test back-end)"
    config_class = MacConfig
    presets = {"small": lambda: MacConfig(preset="small"),
               "big": lambda: MacConfig(ArrayConfig(rows=256, cols=256), preset="big")}
    default_preset = "small"
    sweep_metrics = ("energy_j",)
    options = (Option("--array-rows", type=int, key="array.rows", help="outputs per MAC array"),)

    def pruning_unit(self, config: MacConfig) -> tuple[str, tuple[int, int]]:
        return "xbar_tiles", (config.array.rows, config.array.cols)

    def map(self, source: Any, config: MacConfig | None = None) -> MacMapping:
        cfg = config if config is not None else self.resolve_config()
        r, c = cfg.array.rows, cfg.array.cols
        layers = []
        for l in iter_matrix_layers(source):
            w = np.asarray(l.weight, dtype=np.float64)
            nz = w != 0
            pad = np.zeros((-(-w.shape[0] // r) * r, -(-w.shape[1] // c) * c), dtype=bool)
            pad[:w.shape[0], :w.shape[1]] = nz
            arrays = int(pad.reshape(pad.shape[0] // r, r, pad.shape[1] // c, c).any(axis=(1, 3)).sum())
            scale = float(np.abs(w).max()) / 127 or 1.0
            layers.append((l.name, w.shape, l.mvms_per_inference, arrays, int(nz.sum()), np.round(w / scale) * scale))
        network = source if hasattr(source, "weighted_layers") else None
        return MacMapping(cfg, tuple(layers), network)

    def cost(self, mapping: MacMapping) -> Report:
        a = mapping.config.array
        reports = []
        for name, shape, mvms, arrays, nnz, _ in mapping.layers:
            latency = mvms * a.rows / a.clock_hz
            mac = ComponentCost(energy_j=nnz * mvms * a.energy_per_mac_j, area_mm2=arrays * a.area_per_array_mm2,
                                static_power_w=arrays * a.leakage_per_array_w)
            energy = mac.energy_j + mac.static_power_w * latency
            reports.append(LayerReport(name, shape, mvms, arrays, latency, energy, mac.static_power_w, mac.area_mm2,
                                       {"mac": ComponentCost(energy, mac.static_power_w, mac.area_mm2)},
                                       {"macs": nnz * mvms}))
        cfg = mapping.config
        return Report.from_layers(self.name, cfg.preset, self.config_to_dict(cfg), reports)

    def run(self, mapping: MacMapping, x: Any, seed: Any = None) -> Any:
        net = mapping.network.copy()
        for layer, (*_, wq) in zip(net.weighted_layers(), mapping.layers):
            layer.weight = wq.astype(layer.weight.dtype)
        return net.forward(x)

    def accuracy(self, mapping: MacMapping, x: Any, y: Any, seed: Any = None) -> float:
        return float(np.mean(np.argmax(self.run(mapping, x, seed), axis=1) == y))

    def warmup(self) -> None:
        self.warmed = True  # no kernels; hwsim.warmup() must still reach every back-end


BACKEND = ToyBackend()
