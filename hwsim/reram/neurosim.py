"""DNN+NeuroSim V1.4's chip, pipeline and transfer costs (``chip.schedule = 'neurosim'``), reimplemented from its source.

[NS9] = github.com/neurosim/DNN_NeuroSim_V1.4 at commit 9e6742c, the commit whose run is ``Data/1.4_Release_test.csv``
(the files named below are under ``Inference_pytorch/NeuroSIM``). What this module reproduces, rule by rule:

* **Chip.** One chip holding exactly the tiles the network needs (``ChipFloorPlan``: NeuroSim sizes the chip to the
  network; ``chip.tiles_per_chip`` is not used). A PE is ``crossbars_per_ima`` sub-arrays (an n x n grid: 4 x 4 of
  128 x 128 = 512 x 512 cells); a conventionally mapped (CM) tile is ``imas_per_tile`` PEs (2 x 2: 1024 x 1024);
  a novel-mapped (NM) tile is ``chip.neurosim.novel_mapping_pes`` PEs, one per kernel position of a k x k
  convolution (``Chip.cpp`` ``ChipDesignInitialize``: NM when k^2 equals it and C k^2 >= the sub-array rows; see
  :class:`hwsim.reram.config.NeurosimChipConfig` for how hwsim tells a convolution without its kernel size).
* **Duplication** (``ChipDesignInitialize``, pipeline branch): d = min(speedUpDegree, IFM_first / IFM_min over k>1
  layers) (integer division), bound = ceil(IFM_first / d), a layer is duplicated ceil((IFM_l / bound)^2) times;
  IFM_l = sqrt(MVMs per inference) (*assumption*: 'same'-padded convolutions, the input side equals the output side).
  NeuroSim also fills free PE slots of allocated tiles with further copies (``OverallEachLayer``); hwsim does not.
  Each copy takes ceil(copies x crossbars / crossbars_per_ima) PEs, ceil(PEs / PEs per tile) tiles.
* **Clock** = the sensing cycle (``param->synchronous``: ``main.cpp`` sets ``clkFreq = 1 / clkPeriod``, the longest
  ``SubArray::CalculateLatency`` sensing delay x beta = 1.4): ``1 / adc.sample_rate_hz``. One MVM = input bits x
  columns per ADC cycles (``SubArray.cpp``: ``readLatencyADC = numColMuxed * numAdd`` cycles per input bit), which is
  hwsim's crossbar MVM time with ``crossbar.read_time_s`` <= the clock.
* **Layer time** = compute + buffers + interconnect, added, not overlapped (``Tile.cpp`` ``TileCalculatePerformance``
  and ``Chip.cpp`` ``ChipCalculatePerformance`` add the buffer and bus latencies to the read latency). Compute =
  ceil(MVMs / copies) x MVM time (``readLatency /= speedUp``). Buffers and buses are *not* sped up by duplication
  ("no matter speedup or not, the total number of data transferred is fixed", ``Tile.cpp``), in clock cycles, for
  the fullest tile position (tiles work in parallel):

  - tile input buffer: rows x input bits per vector (NM: / k, the sliding window reuses k-1 of k input columns),
    each bit written and read at two lines per cycle (``Buffer::CalculateLatency`` synchronous: ``numRead / 2``),
    over ``min(cores, ceil(H-tree width / width))`` cores of ``tile_buffer_width_bits`` (``TileInitialize``: cores =
    ceil(PEs x input bits x rows / core bits), a smaller buffer is one core as wide as PEs x rows);
  - tile output buffer: the tile's outputs x partial-sum bits per vector (``chipActivation``: partial sums leave the
    tile): psum = log2(ADC levels) + input bits + (columns per weight - 1) x bits per cell + 1 (``numBitSubarrayOutput``)
    + sqrt(crossbars per PE) (``numBitPEOutput``) + ceil(log2 PEs) (the tile adder tree's stages; NeuroSim passes 2
    for a 2 x 2 CM tile); cores likewise (a buffer under one core is psum x PEs bits wide);
  - tile H-tree: (input + output bits) / (PEs x rows) per cycle;
  - global buffer: chip input (in x input bits, NM: / k) and output (out x input bits) bits, one line of
    ``global_buffer_width_bits`` per half cycle over min(cores, ceil(global bus / width)) cores (cores =
    ceil(input bits x sum of input feature maps / 2 / core bits), ``ChipInitialize``);
  - global X-Y bus (``XYBus::CalculateLatency``): ceil(in / W x grid rows / the layer's tile rows) + ceil(out / W x
    grid columns / the layer's tile columns) cycles, W the global bus width (the tiles' interfaces summed and
    halved until <= ``global_bus_max_width_bits``), grid = ceil(sqrt(tiles)) rows.

  Not modelled (each under 2 % of VGG-8's slowest layer in [NS9]'s own breakdown): the accumulation adder trees'
  latency, the PE-level buffers and buses, ReLU and max-pooling latency; max-pooling's 4x smaller output traffic
  (hwsim's layers do not say which are pooled).
* **Pipeline**: interval = the slowest layer (``main.cpp``: ``systemClock = MAX(layerReadLatency)``); latency of one
  input = the sum of the layer times (a layer streams its whole feature map before the next consumes it).
* **Energy**: the crossbar-level components (:func:`hwsim.reram.cost.dynamic_energy_per_mvm`) plus the transfers:
  tile buffers ``tile_buffer_energy_per_bit_j`` per bit over every tile position, tile H-trees and the global bus
  per toggled bit (``input_toggle`` / ``output_toggle``), the global buffer per bit; static = crossbar and tile
  leakage x the interval; everything x ``post_layout_energy_factor`` (NeuroSim's zeta).
* **Area**: every allocated tile in full (its PEs, accumulation, buffers, H-tree), the global buffer's cores, the
  X-Y bus (width x (grid rows + columns) x tile side x ``global_bus_area_per_bit_mm``) and the chip-level
  accumulation, pooling and activation units (``ChipCalculateArea``).
"""
from __future__ import annotations

import math
from typing import Any

from ..report import Chip, ComponentCost
from ._schedule import Schedule
from .config import ReramConfig


def _cdiv(a: float, b: float) -> int:
    return int(math.ceil(a / b - 1e-12)) if b else 0


def _is_conv(in_f: int, mvms: int, k2: int) -> bool:
    """A k x k convolution as hwsim can tell it: several MVMs per inference and inputs a multiple of k^2."""
    return mvms > 1 and k2 > 1 and in_f % k2 == 0


def psum_bits(cfg: ReramConfig, pes: int) -> int:
    """Bits of a partial sum leaving a tile whose adder tree adds ``pes`` PEs ([NS9] ``TileInitialize``:
    ``numBitSubarrayOutput`` = log2(ADC levels) + input bits + (columns per weight - 1) x bits per cell + 1 (all
    rows read in parallel), + ceil(sqrt(sub-arrays per PE)) for the PE, + the tile adder tree's ceil(log2 PEs)
    stages, ``AdderTree::Initialize``)."""
    sub = cfg.adc.bits + cfg.precision.input_bits + (cfg.columns_per_weight - 1) * cfg.crossbar.bits_per_cell + 1
    return sub + math.isqrt(cfg.chip.crossbars_per_ima) + math.ceil(math.log2(pes))


def _buffer_bits_per_cycle(total_bits: float, natural_width: int, core_bits: int, width: int, bus: int) -> float:
    """Bits a NeuroSim tile buffer moves per cycle, each written and read once ([NS9] ``Buffer::CalculateLatency``:
    read and write ``numRead / 2`` cycles each, so ``bits / width`` cycles per core; ``TileInitialize``: a buffer
    of ``total_bits`` under one core is one core ``natural_width`` wide, else cores of ``width``; ``Tile.cpp``
    divides by min(cores, ceil(H-tree width / width)))."""
    if total_bits < core_bits:
        return float(natural_width)
    cores = _cdiv(total_bits, core_bits)
    return float(width * min(cores, _cdiv(bus, width)))


def schedule(mapping: Any) -> Schedule:
    """The :class:`hwsim.reram.chip.Schedule` of a mapping under NeuroSim V1.4's chip rules (module docstring)."""
    cfg: ReramConfig = mapping.config
    ch, ns = cfg.chip, cfg.chip.neurosim
    layers = mapping.layers
    R, Cc, cpw = cfg.rows, cfg.cols, cfg.columns_per_weight
    ib = cfg.precision.input_bits
    colmux = cfg.adc.cols_per_adc
    clk = 1.0 / cfg.adc.sample_rate_hz
    xpi, ipt, k2 = ch.crossbars_per_ima, ch.imas_per_tile, ns.novel_mapping_pes
    pe_side = math.isqrt(xpi)
    pe_rows, pe_cols = pe_side * R, pe_side * Cc
    cm_pes = math.isqrt(ipt)  # NeuroSim's numPECM: PEs along one side of a CM tile
    tile_rows, tile_cols = cm_pes * pe_rows, cm_pes * pe_cols
    k = math.isqrt(k2) if k2 > 1 else 1
    n = [int(l.mvms_per_inference) for l in layers]
    x = [int(l.tiles) for l in layers]
    conv = [_is_conv(l.shape[1], ni, k2) for l, ni in zip(layers, n)]
    nm = [bool(k2 > 1 and c and l.shape[1] >= R) for l, c in zip(layers, conv)]
    # duplication (ChipDesignInitialize, pipeline branch)
    ifm = [math.sqrt(ni) for ni in n]
    r = [1] * len(layers)
    if ch.replicate and layers:
        convs = [f for f, c in zip(ifm, [ni > 1 for ni in n]) if c]
        if convs:
            d = max(1, min(ns.speed_up_degree, int(ifm[0] // min(convs))))
            bound = math.ceil(ifm[0] / d)
            r = [max(1, math.ceil((f / bound) ** 2 - 1e-9)) for f in ifm]
    pes = [_cdiv(ri * xi, xpi) if xi else 0 for ri, xi in zip(r, x)]
    tiles = [_cdiv(p, k2 if m else ipt) if p else 0 for p, m in zip(pes, nm)]
    total_tiles = sum(tiles)
    grid_rows = max(1, math.isqrt(max(total_tiles, 1) - 1) + 1)
    grid_cols = max(1, _cdiv(total_tiles, grid_rows))
    # global bus width (ChipInitialize) and global buffer cores
    gbw = float(sum(t * ((pe_cols * k + pe_cols * k / colmux) if m else (tile_cols + tile_cols / colmux))
                    for t, m in zip(tiles, nm)))
    while gbw > ns.global_bus_max_width_bits:
        gbw /= 2
    gbw = max(gbw, 1.0)
    fmap = sum((l.shape[1] // k2 if c else l.shape[1]) * (ni if c else 1) for l, ni, c in zip(layers, n, conv))
    gb_cores = max(1, _cdiv(ib * fmap / 2, ns.global_buffer_core_bits))
    gb_par = min(gb_cores, _cdiv(gbw, ns.global_buffer_width_bits))
    stage, detail = [], {}
    cells = {"tile_buffer_bits": 0.0, "htree_toggles_cm": 0.0, "htree_toggles_nm": 0.0, "global_buffer_bits": 0.0,
             "global_bus_toggles": 0.0}
    for i, l in enumerate(layers):
        out_f, in_f = l.shape
        if not x[i]:
            stage.append(0.0)
            continue
        if nm[i]:
            pes_t, rows_cap, cols_cap, reuse = k2, k2 * pe_rows, pe_cols, k
        else:
            pes_t, rows_cap, cols_cap, reuse = cm_pes, tile_rows, tile_cols, 1
        ps = psum_bits(cfg, pes_t)
        bus = pes_t * R
        rows_t = min(in_f, rows_cap)
        outs_t = min(out_f, cols_cap // cpw) if cols_cap >= cpw else 1
        in_v = rows_t * ib / reuse  # bits per vector into the fullest tile position
        out_v = outs_t * ps
        bw_in = _buffer_bits_per_cycle(pes_t * ib * R, pes_t * R, ns.tile_buffer_core_bits,
                                       ns.tile_buffer_width_bits, bus)
        bw_out = _buffer_bits_per_cycle(ps * pes_t * Cc / colmux, ps * pes_t, ns.tile_buffer_core_bits,
                                        ns.tile_buffer_width_bits, bus)
        tile_buf = n[i] * (in_v / bw_in + out_v / bw_out)
        htree = n[i] * (in_v + out_v) / bus
        chip_in = in_f * ib * n[i] / reuse
        chip_out = out_f * ib * n[i]
        gbuf = (chip_in + chip_out) / (2 * ns.global_buffer_width_bits * gb_par)
        col_pos = max(1, _cdiv(out_f * cpw, cols_cap))
        row_tiles = max(1.0, tiles[i] / col_pos)
        xy = math.ceil(chip_in / gbw * grid_rows / row_tiles) + math.ceil(chip_out / gbw * grid_cols / col_pos)
        compute = _cdiv(n[i], r[i]) * float(l.mvm_latency_s)
        transfer_cycles = tile_buf + htree + gbuf + xy
        stage.append(compute + transfer_cycles * clk)
        # traffic summed over every tile position (energy): NeuroSim charges each position's buffers and H-tree
        row_pos = max(1, _cdiv(in_f, rows_cap))
        in_all = in_f * ib / reuse * col_pos * n[i]
        out_all = out_f * ps * row_pos * n[i]
        cells["tile_buffer_bits"] += in_all + out_all
        cells["htree_toggles_nm" if nm[i] else "htree_toggles_cm"] += in_all * ns.input_toggle + out_all * ns.output_toggle
        cells["global_buffer_bits"] += chip_in + chip_out
        cells["global_bus_toggles"] += chip_in * ns.input_toggle + chip_out * ns.output_toggle
        detail[l.name] = {"novel_mapping": nm[i], "tiles": tiles[i], "psum_bits": ps, "compute_s": compute,
                          "tile_buffer_cycles": tile_buf, "htree_cycles": htree, "global_buffer_cycles": gbuf,
                          "global_bus_cycles": float(xy)}
    active = [s for s, xi in zip(stage, x) if xi]
    interval = max(active) if active else 0.0
    latency = float(sum(active))
    extra = {"clock_s": clk, "global_bus_width_bits": gbw, "global_buffer_cores": gb_cores, "grid": [grid_rows, grid_cols],
             "tiles_cm": sum(t for t, m in zip(tiles, nm) if not m), "tiles_nm": sum(t for t, m in zip(tiles, nm) if m),
             "layers": detail, "traffic": cells}
    return Schedule(chips=1, rounds=1, replicas=tuple(r), imas=tuple(pes), stage_s=tuple(stage), latency_s=latency,
                    pipeline_interval_s=float(interval), tiles_used=int(total_tiles), tiles_available=int(total_tiles),
                    noc_bit_hops=0.0, noc_hops=tuple(0.0 for _ in layers), link_bits=0.0, spill_bits=0.0,
                    cells_written=0.0, write_time_s=0.0, detail=extra)


def chip_cost(mapping: Any, dynamic_j: dict[str, float], per_crossbar: dict[str, tuple[float, float]],
              s: Schedule) -> Chip:
    """The :class:`hwsim.report.Chip` of a mapping under NeuroSim V1.4's chip rules (module docstring)."""
    cfg: ReramConfig = mapping.config
    ch, ns = cfg.chip, cfg.chip.neurosim
    d = s.detail
    t_cm, t_nm = d["tiles_cm"], d["tiles_nm"]
    xbars = (t_cm * ch.imas_per_tile + t_nm * ns.novel_mapping_pes) * ch.crossbars_per_ima
    tr = d["traffic"]
    zeta = ns.post_layout_energy_factor
    parts: dict[str, list[float]] = {}
    for name, (leak_x, area_x) in per_crossbar.items():
        parts[name] = [dynamic_j.get(name, 0.0), leak_x * xbars, area_x * xbars if name != "index" else 0.0]
    for name in ("interconnect", "global_buffer", "links", "weight_writes"):
        parts[name] = [0.0, 0.0, 0.0]
    parts["buffer"][0] += tr["tile_buffer_bits"] * ns.tile_buffer_energy_per_bit_j
    parts["buffer"][2] += t_cm * ns.tile_buffer_area_mm2 + t_nm * ns.tile_nm_buffer_area_mm2
    parts["bus"][0] += (tr["htree_toggles_cm"] * ns.htree_energy_per_toggle_j
                        + tr["htree_toggles_nm"] * ns.htree_nm_energy_per_toggle_j)
    parts["bus"][2] += t_cm * ns.tile_htree_area_mm2 + t_nm * ns.tile_nm_htree_area_mm2
    parts["output_unit"][1] += t_cm * ns.tile_leakage_w + t_nm * ns.tile_nm_leakage_w
    parts["output_unit"][2] += (t_cm * ns.tile_accumulation_area_mm2 + t_nm * ns.tile_nm_accumulation_area_mm2
                                + ns.chip_periphery_area_mm2)
    parts["global_buffer"] = [tr["global_buffer_bits"] * ns.global_buffer_energy_per_bit_j, 0.0,
                              d["global_buffer_cores"] * ns.global_buffer_core_area_mm2]
    # the X-Y bus spans the tile grid; NeuroSim lays it out along the larger tile's side
    pe_area = ch.crossbars_per_ima * sum(a for k_, (_, a) in per_crossbar.items() if k_ != "index")
    side = math.sqrt(max(ch.imas_per_tile * pe_area + ns.tile_accumulation_area_mm2 + ns.tile_buffer_area_mm2
                         + ns.tile_htree_area_mm2,
                         (ns.novel_mapping_pes * pe_area + ns.tile_nm_accumulation_area_mm2 + ns.tile_nm_buffer_area_mm2
                          + ns.tile_nm_htree_area_mm2) if t_nm else 0.0))
    rows, cols = d["grid"]
    parts["interconnect"] = [tr["global_bus_toggles"] * ns.global_bus_energy_per_toggle_j, 0.0,
                             d["global_bus_width_bits"] * (rows + cols) * side * ns.global_bus_area_per_bit_mm]
    breakdown = {k_: ComponentCost(energy_j=zeta * (dyn + p * s.pipeline_interval_s), static_power_w=p, area_mm2=a)
                 for k_, (dyn, p, a) in parts.items()}
    macs = int(sum(l.shape[0] * l.shape[1] * l.mvms_per_inference for l in mapping.layers))
    return Chip(chips=1, tiles_used=s.tiles_used, tiles_available=s.tiles_available, latency_s=s.latency_s,
                pipeline_interval_s=s.pipeline_interval_s,
                energy_per_inference_j=sum(c.energy_j for c in breakdown.values()),
                static_power_w=sum(c.static_power_w for c in breakdown.values()),
                area_mm2=sum(c.area_mm2 for c in breakdown.values()), macs_per_inference=macs, breakdown=breakdown)
