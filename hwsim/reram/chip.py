"""The chip level: layers placed on a fixed hierarchy of chips x tiles x IMAs x crossbars, a schedule, and its cost.

Placement. Layer l needs ``x_l`` crossbars (its allocated crossbars from :mod:`hwsim.reram.mapping`) per copy and
occupies ``ceil(r_l x_l / crossbars_per_ima)`` IMAs for ``r_l`` copies; layers are laid out in network order,
IMA after IMA, tile after tile, chip after chip. One column strip of a layer (its crossbars that add partial sums
of the same outputs, at most ``ceil(in / rows)``) must fit one chip, or the configuration is refused.

Schedule (``chip.schedule = 'isaac'``; 'neurosim' is DNN+NeuroSim V1.4's chip, :mod:`hwsim.reram.neurosim`). Each
copy of a layer runs its share of the layer's MVMs back to back: stage time ``s_l = ceil(n_l / r_l) t_l`` (n MVMs
per inference, t one MVM), bounded below by the time its output feature map takes through one mesh link, by its
tile-buffer time (every bit to or from its crossbars written and read once, ``2 n_l buffer_bits_l /
(tile_buffer_bandwidth x IMAs_l / IMAs per tile)``: transfers overlap compute, ISAAC Sec. 5) and, for activations
that do not fit the layer's tile buffers, through the global buffer. Layers form a pipeline ([ISAAC] Sec. 4): pipeline interval = the slowest stage (throughput = 1 / interval);
latency of one input = the slowest stage + one MVM of every other layer + interconnect latency (router hops, a tile
buffer write and read per layer, chip-to-chip transfers). With
``system.pipeline_layers = False`` both are the sum of the stages. Replication ([ISAAC]'s balancing, greedy): while
the chips have room, give the slowest stage the fewest extra copies that shorten it; stop when it cannot be
shortened (a larger budget never lowers throughput). When ``chip.chips`` is below what the network needs, the
schedule runs in rounds that each reprogram the chips: every allocated cell is written once per batch of
``chip.reload_batch`` inferences at ``V_write^2 G_on t_pulse`` (an upper bound: a cell held at G_on for the
pulse), rows programmed one pulse at a time, all crossbars in parallel; rounds run one after another.

Traffic. Each layer's output feature map (outputs x MVMs x input_bits bits per inference) crosses
``1 + d`` router hops, d the Manhattan distance between the centroids of the producing and consuming layers'
routers on a square mesh (routers in snake order); a layer whose window (``in x ceil(sqrt(n)) x input_bits``
bits, k rows of a k x k convolution's input, with k >= 1) exceeds its tiles' buffers streams its inputs through the
global buffer (or, with none, other tiles' eDRAM): each im2col input bit read once, the producer's outputs written
once. Feature maps that change chips cross the chip-to-chip links (their power is static; latency per transfer,
time by bandwidth). Host input and output are not modelled.

Static energy per inference = static power of the allocated chips (leakage of the tiles in use, or of every tile
with ``system.power_gating = False``; global buffers; links) x the pipeline interval. A job on one chip has its
links power-gated (``chip.link_power_gating``, default True: no chip-to-chip traffic, HyperTransport's link
disconnect; their area stays); several chips power all their links.
"""
from __future__ import annotations

import heapq
import math
from typing import Any

from ..errors import ConfigError
from ..report import Chip, ComponentCost
from ._schedule import Schedule
from .config import ReramConfig

CHIP_COMPONENTS = ("interconnect", "global_buffer", "links", "weight_writes")
"""Components the chip adds to the crossbar-level ones of :data:`hwsim.reram.cost.COMPONENTS`."""


def _cdiv(a: int, b: int) -> int:
    return -(-int(a) // int(b))


def _router_xy(index: float, side: int) -> tuple[float, float]:
    """Position of router ``index`` on a side x side mesh filled row by row in snake order (fractional: linear)."""
    i = int(index)
    y, x = divmod(i, side)
    if y % 2:
        x = side - 1 - x
    return float(x), float(y)


def _replicate(n: list[int], t: list[float], x: list[int], xpi: int, budget_imas: int) -> list[int]:
    """Greedy replication: copies per layer so that the slowest stage is as short as ``budget_imas`` allows."""
    r = [1] * len(n)
    used = sum(_cdiv(xi, xpi) for xi in x if xi)
    heap = [(-_cdiv(ni, 1) * ti, i) for i, (ni, ti, xi) in enumerate(zip(n, t, x)) if xi and ni > 1]
    heapq.heapify(heap)
    while heap:
        _, i = heapq.heappop(heap)
        per = _cdiv(n[i], r[i])
        if per <= 1:
            break
        r_new = _cdiv(n[i], per - 1)
        delta = _cdiv(r_new * x[i], xpi) - _cdiv(r[i] * x[i], xpi)
        if used + delta > budget_imas:
            break
        used += delta
        r[i] = r_new
        heapq.heappush(heap, (-_cdiv(n[i], r_new) * t[i], i))
    return r


def schedule(mapping: Any) -> Schedule:
    """Place and schedule a :class:`hwsim.reram.mapping.ReramMapping` on its config's chips."""
    cfg: ReramConfig = mapping.config
    ch = cfg.chip
    if ch.schedule == "neurosim":
        from .neurosim import schedule as neurosim_schedule

        return neurosim_schedule(mapping)
    xpi, ipt = ch.crossbars_per_ima, ch.imas_per_tile
    ipc = ipt * ch.tiles_per_chip
    layers = mapping.layers
    ib = cfg.precision.input_bits
    x = [int(l.tiles) for l in layers]
    n = [int(l.mvms_per_inference) for l in layers]
    t = [float(l.mvm_latency_s) for l in layers]
    for l in layers:
        strip = min(l.tiles, _cdiv(l.shape[1], cfg.rows))
        if strip > ch.crossbars_per_chip:
            raise ConfigError(f"chip.tiles_per_chip ({ch.tiles_per_chip}) x {ch.crossbars_per_tile} crossbars per tile "
                              f"= {ch.crossbars_per_chip} crossbars per chip is smaller than one column strip of layer "
                              f"{l.name!r} ({strip} crossbars whose partial sums add up); allowed: >= "
                              f"{_cdiv(strip, ch.crossbars_per_tile)} tiles per chip")
    need_imas = sum(_cdiv(xi, xpi) for xi in x if xi)
    chips_needed = max(1, _cdiv(need_imas, ipc))
    chips = ch.chips if ch.chips is not None else chips_needed
    rounds = max(1, _cdiv(need_imas, chips * ipc))
    if rounds == 1 and ch.replicate:
        r = _replicate(n, t, x, xpi, chips * ipc)
    else:
        r = [1] * len(layers)
    imas = [_cdiv(ri * xi, xpi) if xi else 0 for ri, xi in zip(r, x)]
    stage = [(_cdiv(ni, ri) * ti if xi else 0.0) for ni, ri, ti, xi in zip(n, r, t, x)]
    # placement, mesh positions and traffic
    routers_per_chip = _cdiv(ch.tiles_per_chip, ch.noc_tiles_per_router)
    side = max(1, math.isqrt(routers_per_chip - 1) + 1)
    start, pos, chip_of = 0, [], []
    for m in imas:
        m_eff = max(m, 1)
        lo, hi = start, start + m_eff - 1
        start += m
        if rounds > 1:  # every round starts on chip 0: positions within a chip of IMAs
            lo, hi = lo % ipc, hi % ipc if hi % ipc >= lo % ipc else ipc - 1
        c0, c1 = lo // ipc, hi // ipc
        rl = ((lo % ipc) // ipt) // ch.noc_tiles_per_router
        rh = ((hi % ipc) // ipt) // ch.noc_tiles_per_router
        pts = [_router_xy(k, side) for k in range(rl, rh + 1)] if c0 == c1 else [_router_xy(k, side) for k in
                                                                               range(routers_per_chip)]
        pos.append((sum(p[0] for p in pts) / len(pts), sum(p[1] for p in pts) / len(pts)))
        chip_of.append((c0, c1))
    out_bits = [l.shape[0] * ni * ib for l, ni in zip(layers, n)]
    # tile buffers: every bit to or from a crossbar is written once and read once, through the buffers of the tiles
    # the layer's IMAs occupy (their share of each tile's bandwidth)
    buffer_s = [2.0 * ni * float(l.effective_counts()["buffer_bits"]) / (ch.tile_buffer_bandwidth_bits_per_s * m / ipt)
                if m else 0.0 for l, ni, m in zip(layers, n, imas)]
    hops, link_bits, spill_bits, noc_lat, link_lat = [], 0.0, 0.0, 0.0, 0.0
    gb_bw = ch.global_buffer_bandwidth_bits_per_s
    for i, l in enumerate(layers):
        j = i + 1 if i + 1 < len(layers) else i
        h = 1.0 + abs(pos[i][0] - pos[j][0]) + abs(pos[i][1] - pos[j][1])
        hops.append(h)
        noc_lat += h * ch.noc_hop_latency_s + (2.0 * ch.tile_buffer_latency_s if x[i] else 0.0)
        crosses = rounds == 1 and j != i and chip_of[i] != chip_of[j] or chip_of[i][0] != chip_of[i][1]
        if crosses:
            link_bits += out_bits[i]
            link_lat += ch.link_latency_s
        s = max(stage[i], out_bits[i] / ch.noc_bandwidth_bits_per_s,
                out_bits[i] / ch.link_bandwidth_bits_per_s if crosses else 0.0,
                buffer_s[i])
        window = l.shape[1] * (math.isqrt(max(n[i], 1) - 1) + 1)  # in x ceil(sqrt(n)) inputs
        cap = _cdiv(imas[i], ipt) * ch.tile_buffer_bytes * 8 if imas[i] else 0
        if x[i] and window * ib > cap:
            spilled = l.shape[1] * n[i] * ib + (out_bits[i - 1] if i else l.shape[1] * n[i] * ib)
            spill_bits += spilled
            s = max(s, spilled / gb_bw)
        stage[i] = s
    noc_bit_hops = sum(b * h for b, h in zip(out_bits, hops))
    # timing
    write_round_s = cfg.rows * cfg.crossbar.write_pulse_s
    cells = float(sum(x) * cfg.rows * cfg.cols) if rounds > 1 else 0.0
    write_time = rounds * write_round_s / ch.reload_batch if rounds > 1 else 0.0
    cells /= ch.reload_batch
    active = [i for i in range(len(layers)) if x[i]]
    if not active:
        latency = interval = 0.0
    elif rounds > 1 or not cfg.system.pipeline_layers:
        interval = sum(stage) + write_time
        latency = sum(stage) + (rounds * write_round_s if rounds > 1 else 0.0) + noc_lat + link_lat
    else:
        k = max(active, key=lambda i: stage[i])
        interval = stage[k]
        latency = stage[k] + sum(t[i] for i in active if i != k) + noc_lat + link_lat
    tiles_used = min(_cdiv(sum(imas), ipt), chips * ch.tiles_per_chip)
    return Schedule(chips=chips, rounds=rounds, replicas=tuple(r), imas=tuple(imas), stage_s=tuple(stage),
                    latency_s=float(latency), pipeline_interval_s=float(interval), tiles_used=int(tiles_used),
                    tiles_available=chips * ch.tiles_per_chip, noc_bit_hops=float(noc_bit_hops), noc_hops=tuple(hops),
                    link_bits=float(link_bits), spill_bits=float(spill_bits), cells_written=cells,
                    write_time_s=float(write_time))


def chip_cost(mapping: Any, dynamic_j: dict[str, float], per_crossbar: dict[str, tuple[float, float]],
              sched: Schedule | None = None) -> Chip:
    """The :class:`hwsim.report.Chip` of a mapping: ``dynamic_j`` is the crossbar-level dynamic energy per inference
    by component, ``per_crossbar`` (leakage W, area mm^2) of one crossbar and its share of the tile by component."""
    cfg: ReramConfig = mapping.config
    ch = cfg.chip
    s = sched or schedule(mapping)
    if ch.schedule == "neurosim":
        from .neurosim import chip_cost as neurosim_chip_cost

        return neurosim_chip_cost(mapping, dynamic_j, per_crossbar, s)
    xpt = ch.crossbars_per_tile
    tiles_leaking = s.tiles_used if cfg.system.power_gating else s.tiles_available
    tiles_area = s.tiles_used if ch.area_of_occupied_tiles else s.tiles_available
    links = s.chips > 1 or ch.links_on_single_chip
    links_powered = links and (s.chips > 1 or not ch.link_power_gating)
    gb = ch.global_buffer_bytes is not None
    e_gb = ch.global_buffer_energy_per_bit_j if gb else cfg.peripherals.buffer.energy_per_action_j / cfg.peripherals.access_bits
    g_on = 1.0 / cfg.crossbar.r_on_ohm
    e_cell = cfg.crossbar.write_voltage_v ** 2 * g_on * cfg.crossbar.write_pulse_s
    spill_hops = 0.0 if gb else s.spill_bits * ch.noc_energy_per_bit_per_hop_j  # parked in another tile: one hop
    parts: dict[str, tuple[float, float, float]] = {}
    for name, (leak_x, area_x) in per_crossbar.items():
        parts[name] = (dynamic_j.get(name, 0.0), leak_x * xpt * tiles_leaking,
                       area_x * xpt * tiles_area if name != "index" else 0.0)
    parts["interconnect"] = (s.noc_bit_hops * ch.noc_energy_per_bit_per_hop_j + spill_hops, 0.0, 0.0)
    parts["global_buffer"] = (s.spill_bits * e_gb, ch.global_buffer_leakage_w * s.chips if gb else 0.0,
                              ch.global_buffer_area_mm2 * s.chips if gb else 0.0)
    parts["links"] = (0.0, ch.link_power_w * s.chips if links_powered else 0.0,
                      ch.link_area_mm2 * s.chips if links else 0.0)
    parts["weight_writes"] = (s.cells_written * e_cell, 0.0, 0.0)
    breakdown = {k: ComponentCost(energy_j=d + p * s.pipeline_interval_s, static_power_w=p, area_mm2=a)
                 for k, (d, p, a) in parts.items()}
    macs = int(sum(l.shape[0] * l.shape[1] * l.mvms_per_inference for l in mapping.layers))
    return Chip(chips=s.chips, tiles_used=s.tiles_used, tiles_available=s.tiles_available, latency_s=s.latency_s,
                pipeline_interval_s=s.pipeline_interval_s,
                energy_per_inference_j=sum(c.energy_j for c in breakdown.values()),
                static_power_w=sum(c.static_power_w for c in breakdown.values()),
                area_mm2=sum(c.area_mm2 for c in breakdown.values()), macs_per_inference=macs, breakdown=breakdown)
