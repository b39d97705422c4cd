"""Costs of a mapping: a per-component table (energy per action, leakage, area) applied to the mapper's counts.

Per layer and inference (n = MVMs per inference, counts per MVM from :mod:`hwsim.reram.mapping`):

* array energy = n * activity * V_read^2 * t_read * (G_off * cells_driven + (G_on - G_off) / L * levels_driven)
  (V^2 G t over the cells of the driven rows, once per input cycle; a cell at level l of L has
  G = G_off + l (G_on - G_off) / L); 0 when ``adc.includes_array_energy`` (the conversion energy already holds the
  column current, NeuroSim's current-mode sense amplifier);
* DAC energy per row and cycle, x ``system.input_activity`` when ``peripherals.dac_per_nonzero_digit`` (a word-line
  driver that pulses only for a '1');
* DAC, ADC, sample-and-hold, shift-add, registers, buffer, bus, router, output unit, index: energy per action x
  count;
* latency = n * cycles * read time of the slowest crossbar per cycle; layers are pipelined (ISAAC) or sequential;
* static power = leakage of one crossbar and its periphery x leaking crossbars + index storage. Allocated
  crossbars always leak -- in ``dense`` mode that includes all-zero ones, since that mode exploits no sparsity;
  crossbars a sparse-aware mode does not allocate are power-gated, or, with ``power_gating = False``, leak too
  (the whole dense footprint is on chip and powered);
* energy of a component = dynamic + its static power x the layer latency; area = allocated crossbars x area per
  crossbar + index storage.

Two static energies, on purpose (DESIGN.md: static energy = static power x wall-clock time). ``Report.layers[i]``
and ``Report.total`` cost each layer *in isolation*: its own allocated crossbars leaking for its own latency
(``latency_s`` = MVMs x MVM time, no replication, no waiting) -- the figure per-layer pruning budgets compare, and
the one the crossbar-level tests (ISAAC Table 6 per tile) check. ``Report.chip`` is the whole allocated hardware
running the schedule: the static power of every powered tile (all tiles of the allocated chips without power gating),
global buffers and links, x the pipeline interval -- the wall-clock time per inference in steady state. They differ
exactly by (a) hardware that leaks while a layer waits for the slowest pipeline stage (chip: interval; layer: own
latency), (b) replicas, buffers, links and unallocated-but-powered tiles that only the chip has, (c) sequential
schedules, where the chip's interval is the sum of the stages. Use ``chip.energy_per_inference_j`` for system
energy; ``total.energy_j`` is the sum of isolated layer costs (it equals the chip's dynamic energy exactly, and its
static part only for one layer with no replicas and no chip-level components). The 'neurosim' chip schedule adds
what exists only at chip level there -- tile buffers, H-trees, the global buffer and bus, NeuroSim's post-layout
energy factor -- to ``Report.chip`` alone (:mod:`hwsim.reram.neurosim`).
"""
from __future__ import annotations

from typing import Any

from ..errors import ConfigError
from ..report import ComponentCost, LayerReport, Report
from .chip import chip_cost, schedule
from .config import ReramConfig, config_to_dict
from .mapping import LayerMapping, ReramMapping

COMPONENTS = ("array", "dac", "adc", "sample_hold", "shift_add", "input_register", "output_register", "buffer",
              "bus", "router", "output_unit", "index")

#: Index metadata is stored in eDRAM: [ISAAC] Table 6, 0.083 mm^2 per 64 KB; leakage [PUMA] 0.46 mW per 64 KB.
_EDRAM_BITS = 64 * 1024 * 8


def per_crossbar(cfg: ReramConfig) -> dict[str, tuple[float, float]]:
    """(leakage W, area mm^2) of one crossbar and its share of the periphery, per component."""
    p = cfg.peripherals
    n_adc = cfg.adcs_per_crossbar
    out = {"array": (0.0, cfg.crossbar.area_mm2),
           "dac": (cfg.rows * p.dac.leakage_w, cfg.rows * p.dac.area_mm2),
           "adc": (n_adc * cfg.adc.leakage_w, n_adc * cfg.adc.adc_area_mm2),
           "sample_hold": (cfg.cols * p.sample_hold.leakage_w, cfg.cols * p.sample_hold.area_mm2)}
    for name in ("shift_add", "input_register", "output_register", "buffer", "bus", "router", "output_unit"):
        c = getattr(p, name)
        out[name] = (c.instances_per_crossbar * c.leakage_w, c.instances_per_crossbar * c.area_mm2)
    out["index"] = (0.0, 0.0)
    return out


def rows_per_read(cfg: ReramConfig, lm: LayerMapping) -> int:
    """Rows one read drives: an operation unit's in 'ou' mode, else the crossbar's."""
    return cfg.mapping.ou_rows if lm.mode == "ou" else cfg.rows


def dynamic_energy_per_mvm(cfg: ReramConfig, counts: dict[str, int] | Any, rows: int | None = None) -> dict[str, float]:
    """Energy of one MVM per component, J; ADC conversions at the resolution reads of ``rows`` rows need
    (:meth:`ReramConfig.adc_bits_for_rows`, None: the crossbar's rows)."""
    p = cfg.peripherals
    dg = (cfg.g_on_s - cfg.g_off_s) / cfg.levels
    v2t = cfg.system.input_activity * cfg.crossbar.read_voltage_v ** 2 * cfg.crossbar.read_time_s
    e_bit_buffer = p.buffer.energy_per_action_j / p.access_bits
    array = 0.0 if cfg.adc.includes_array_energy else v2t * (cfg.g_off_s * counts["cells_driven"]
                                                              + dg * counts["levels_driven"])
    e_dac = p.dac.energy_per_action_j * (cfg.system.input_activity if p.dac_per_nonzero_digit else 1.0)
    return {
        "array": array,
        "dac": e_dac * counts["dac_conversions"],
        "adc": cfg.conversion_energy_for_rows_j(rows or cfg.rows) * counts["adc_conversions"],
        "sample_hold": p.sample_hold.energy_per_action_j * counts["sample_holds"],
        "shift_add": p.shift_add.energy_per_action_j * counts["shift_adds"],
        "input_register": p.input_register.energy_per_action_j * counts["input_bits"],
        "output_register": p.output_register.energy_per_action_j * counts["output_bits"],
        "buffer": p.buffer.energy_per_action_j * counts["buffer_accesses"],
        "bus": p.bus.energy_per_action_j * counts["bus_bits"],
        "router": p.router.energy_per_action_j * counts["router_flits"],
        "output_unit": p.output_unit.energy_per_action_j * counts["output_bits"],
        "index": e_bit_buffer * counts["index_bits_read"],
    }


def layer_report(lm: LayerMapping, cfg: ReramConfig) -> LayerReport:
    """Cost of one mapped layer."""
    n = lm.mvms_per_inference
    latency = n * lm.mvm_latency_s
    dyn = dynamic_energy_per_mvm(cfg, lm.effective_counts(), rows_per_read(cfg, lm))
    xbar = per_crossbar(cfg)
    # allocated crossbars leak (in 'dense' mode all-zero ones too: that mode exploits no sparsity); gated: the
    # crossbars a sparse-aware mode leaves unallocated do not leak; ungated: the whole dense footprint leaks.
    leaking = lm.tiles if cfg.system.power_gating else max(lm.footprint_tiles, lm.tiles)
    breakdown = {}
    for name in COMPONENTS:
        leak_x, area_x = xbar[name]
        static = leak_x * leaking
        area = area_x * lm.tiles
        if name == "index":
            static = cfg.peripherals.buffer.leakage_w * lm.index_bits_stored / _EDRAM_BITS
            area = cfg.peripherals.buffer.area_mm2 * lm.index_bits_stored / _EDRAM_BITS
        breakdown[name] = ComponentCost(energy_j=n * dyn[name] + static * latency, static_power_w=static,
                                        area_mm2=area)
    counts = {k: v * n for k, v in lm.effective_counts().items()}
    counts.update({"tiles_allocated": lm.tiles, "footprint_tiles": lm.footprint_tiles,
                   "tiles_leaking": leaking, "nonzero_weights": lm.nonzero_weights,
                   "index_bits_stored": lm.index_bits_stored, "cycles_per_mvm": lm.cycles_per_mvm})
    return LayerReport(
        name=lm.name, shape=lm.shape, mvms_per_inference=n, tiles=lm.tiles, latency_s=latency,
        energy_j=sum(c.energy_j for c in breakdown.values()),
        static_power_w=sum(c.static_power_w for c in breakdown.values()),
        area_mm2=sum(c.area_mm2 for c in breakdown.values()), breakdown=breakdown, counts=counts)


def network_latency(mapping: ReramMapping) -> tuple[float, float]:
    """(latency of one inference, pipeline interval) in s."""
    lat = [l.mvms_per_inference * l.mvm_latency_s for l in mapping.layers]
    one = [l.mvm_latency_s for l in mapping.layers]
    if not lat:
        return 0.0, 0.0
    if not mapping.config.system.pipeline_layers:
        return float(sum(lat)), float(sum(lat))
    k = max(range(len(lat)), key=lambda i: lat[i])
    return float(lat[k] + sum(one) - one[k]), float(lat[k])


def cost(mapping: ReramMapping) -> Report:
    """The Report of a mapping (hardware 'reram')."""
    if not isinstance(mapping, ReramMapping):
        raise ConfigError(f"cost() needs a ReramMapping from hwsim.reram.map, got {type(mapping).__name__}")
    cfg = mapping.config
    layers = [layer_report(l, cfg) for l in mapping.layers]
    latency, interval = network_latency(mapping)
    sched = schedule(mapping)
    dynamic: dict[str, float] = {}
    for lm in mapping.layers:
        for k, e in dynamic_energy_per_mvm(cfg, lm.effective_counts(), rows_per_read(cfg, lm)).items():
            dynamic[k] = dynamic.get(k, 0.0) + lm.mvms_per_inference * e
    chip = chip_cost(mapping, dynamic, per_crossbar(cfg), sched)
    extra = {"pipelined": cfg.system.pipeline_layers, "pipeline_interval_s": interval,
             "throughput_inferences_per_s": (1.0 / interval) if interval > 0 else None,
             "mapping_modes": {l.name: l.mode for l in mapping.layers},
             "chip_schedule": sched.to_dict([l.name for l in mapping.layers])}
    return Report.from_layers("reram", cfg.preset, config_to_dict(cfg), layers, latency_s=latency, extra=extra,
                              chip=chip)


# ---- ISAAC Table 6 reproduction --------------------------------------------------------------------------------
#: [ISAAC] Table 6, power per IMA (8 crossbars), W.
ISAAC_IMA_POWER_W = {"adc": 16e-3, "dac": 4e-3, "sample_hold": 10e-6, "array": 2.4e-3, "shift_add": 0.2e-3,
                     "input_register": 1.24e-3, "output_register": 0.23e-3}
ISAAC_IMA_TOTAL_W = 24.07e-3
#: [ISAAC] Table 6, tile-level power (12 IMAs = 96 crossbars), W: eDRAM 20.7 mW, bus 7 mW, router 42 mW / 4 tiles,
#: sigmoid 0.52 + shift-add 0.05 + max-pool 0.4 + output register 1.68 mW.
ISAAC_TILE_POWER_W = {"buffer": 20.7e-3, "bus": 7e-3, "router": 10.5e-3, "output_unit": 2.65e-3}
ISAAC_TILE_TOTAL_W = 330e-3
ISAAC_TILE_AREA_MM2 = 0.372


def isaac_operating_point(cfg: ReramConfig | None = None, seed: int = 0) -> dict[str, Any]:
    """Per-component power of one ISAAC tile (96 crossbars) running back-to-back MVMs on a fully used layer.

    The layer is 1536 x 128 (in x out) of uniformly random 16-bit weights: 12 x 8 = 96 fully used crossbars at
    mean mid-scale conductance. Power = energy per MVM / MVM time. Returns ``{"ima_w": {...}, "tile_w": {...},
    "tile_total_w": float, "ima_total_w": float, "tile_area_mm2": float}`` to compare with ISAAC Table 6.
    """
    import numpy as np

    from .config import isaac
    from .mapping import map as map_

    cfg = cfg or isaac()
    rng = np.random.default_rng(seed)
    n_in, n_out = 12 * cfg.rows, 8 * cfg.cols // cfg.columns_per_weight
    w = rng.uniform(-1.0, 1.0, size=(n_out, n_in))
    w[0, 0] = 1.0
    lm = map_([w], cfg).layers[0]
    t = lm.mvm_latency_s
    dyn = dynamic_energy_per_mvm(cfg, lm.counts)
    scale = 96 / lm.tiles
    power = {k: v / t * scale for k, v in dyn.items()}
    ima = {k: power[k] / 12 for k in ISAAC_IMA_POWER_W}
    tile = {k: power[k] for k in ISAAC_TILE_POWER_W}
    area = sum(a for _, a in per_crossbar(cfg).values()) * 96
    return {"ima_w": ima, "tile_w": tile, "ima_total_w": sum(ima.values()),
            "tile_total_w": sum(power.values()), "tile_area_mm2": area, "tiles": lm.tiles, "mvm_time_s": t}


#: [ISAAC] Table 6, the chip: 168 tiles, 65.8 W and 85.4 mm^2 including the HyperTransport links (10.4 W, 22.88 mm^2).
ISAAC_CHIP_POWER_W = 65.8
ISAAC_CHIP_AREA_MM2 = 85.4
#: [ISAAC] peak computational efficiency (GOPs/s/mm^2) and power efficiency (GOPs/W) of the chip, 16-bit operands,
#: one MAC = 2 ops: 41.3 TOPS, 0.48 TOPS/mm^2 and 0.63 TOPS/W as tabulated for ISAAC in Aguirre et al., "Hardware
#: implementation of memristor-based artificial neural networks", Nat. Commun. 15, 1974 (2024), Table 3.
ISAAC_CE_GOPS_PER_S_MM2 = 479.0
ISAAC_PE_GOPS_PER_W = 627.5


def isaac_chip_operating_point(cfg: ReramConfig | None = None, mvms: int = 64, seed: int = 0) -> dict[str, Any]:
    """One ISAAC chip at peak: 168 layers of 1536 x 128 random 16-bit weights (one full tile each, 96 crossbars),
    ``mvms`` MVMs per inference each, run through :func:`cost`; the chip's power = energy per inference / pipeline
    interval. Returns the Report's ``chip``, ``chip_power_w``, ``tile_power_w`` ((chip - links) / tiles),
    ``tile_area_mm2``, ``ce_gops_per_s_mm2`` and ``pe_gops_per_w`` to compare with [ISAAC]."""
    import dataclasses

    import numpy as np

    from .config import isaac
    from .mapping import map as map_
    from ..workload import MatrixLayer

    cfg = cfg or isaac()
    rng = np.random.default_rng(seed)
    w = rng.uniform(-1.0, 1.0, size=(8 * cfg.cols // cfg.columns_per_weight, 12 * cfg.rows))
    w[0, 0] = 1.0
    one = map_([MatrixLayer("tile", w, mvms)], cfg).layers[0]
    n_layers = cfg.chip.tiles_per_chip
    mapping = ReramMapping(cfg, tuple(dataclasses.replace(one, name=f"tile{i}") for i in range(n_layers)))
    chip = cost(mapping).chip
    power = chip.energy_per_inference_j / chip.pipeline_interval_s
    ops_per_s = 2.0 * chip.macs_per_inference / chip.pipeline_interval_s
    links = chip.breakdown["links"]
    return {"chip": chip, "chip_power_w": power, "chip_area_mm2": chip.area_mm2,
            "tile_power_w": (power - links.static_power_w) / chip.tiles_used,
            "tile_area_mm2": (chip.area_mm2 - links.area_mm2) / chip.tiles_available,
            "ce_gops_per_s_mm2": ops_per_s / chip.area_mm2 / 1e9, "pe_gops_per_w": ops_per_s / power / 1e9}
