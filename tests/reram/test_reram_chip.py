"""Chip level: hand-computed schedules and costs, ISAAC's chip, replication, weight reloading, bad chip configs."""
import json

import numpy as np
import pytest

import hwsim.reram as rr
from hwsim.errors import ConfigError
from hwsim.reram.chip import schedule
from hwsim.reram.cost import (ISAAC_CE_GOPS_PER_S_MM2, ISAAC_CHIP_AREA_MM2, ISAAC_CHIP_POWER_W, ISAAC_PE_GOPS_PER_W,
                              ISAAC_TILE_AREA_MM2, ISAAC_TILE_TOTAL_W, isaac_chip_operating_point, per_crossbar)
from hwsim.workload import MatrixLayer

SMALL_CHIP = {"chip.tiles_per_chip": 2, "chip.imas_per_tile": 2, "chip.crossbars_per_ima": 2}  # 8 crossbars per chip


def _layers(rng, specs):
    return [MatrixLayer(f"l{i}", rng.standard_normal((o, n_in)), mvms) for i, (o, n_in, mvms) in enumerate(specs)]


def test_isaac_chip_reproduced_within_2_percent_and_efficiency_within_10():
    op = isaac_chip_operating_point()
    assert op["chip"].chips == 1 and op["chip"].tiles_used == 168 and op["chip"].utilization == 1.0
    assert op["tile_power_w"] == pytest.approx(ISAAC_TILE_TOTAL_W, rel=0.02)
    assert op["tile_area_mm2"] == pytest.approx(ISAAC_TILE_AREA_MM2, rel=0.02)
    assert op["chip_power_w"] == pytest.approx(ISAAC_CHIP_POWER_W, rel=0.02)
    assert op["chip_area_mm2"] == pytest.approx(ISAAC_CHIP_AREA_MM2, rel=0.02)
    # hwsim's MVM is 16 x 106.7 ns (128 conversions at 1.2 GS/s) against ISAAC's 16 x 100 ns: about 6 % slower
    assert op["ce_gops_per_s_mm2"] == pytest.approx(ISAAC_CE_GOPS_PER_S_MM2, rel=0.10)
    assert op["pe_gops_per_w"] == pytest.approx(ISAAC_PE_GOPS_PER_W, rel=0.10)


def test_isaac_cost_tile_power_is_table6_not_plus_puma_leakage():
    """Through cost(): one full tile's energy / latency was 354.6 mW with PUMA's leakage added; Table 6 says 330."""
    cfg = rr.get_preset("isaac")
    w = np.random.default_rng(0).uniform(-1, 1, (8 * cfg.cols // cfg.columns_per_weight, 12 * cfg.rows))
    L = rr.cost(rr.map([w], cfg)).layers[0]
    assert L.tiles == 96 and L.static_power_w == 0.0
    assert L.energy_j / L.latency_s == pytest.approx(ISAAC_TILE_TOTAL_W, rel=0.02)


def test_hand_computed_single_chip_schedule():
    """Two layers on one 8-crossbar chip: fc a (4 crossbars, 3 MVMs), fc b (1 crossbar, 1 MVM), no replication."""
    cfg = rr.resolve_config("default", overrides={**SMALL_CHIP, "chip.replicate": False})
    rng = np.random.default_rng(1)
    layers = _layers(rng, [(16, 256, 3), (16, 64, 1)])  # default: 16 outputs x 8 columns = 128 columns
    m = rr.map(layers, cfg)
    assert [l.tiles for l in m.layers] == [2, 1]
    r = rr.cost(m)
    c, s = r.chip, r.extra["chip_schedule"]
    t0, t1 = m.layers[0].mvm_latency_s, m.layers[1].mvm_latency_s
    assert s["imas"] == {"l0": 1, "l1": 1} and c.chips == 1 and c.tiles_used == 1 and c.tiles_available == 2
    ch = cfg.chip
    bits0, bits1 = 16 * 3 * 8, 16 * 1 * 8
    # both layers in tile 0 -> router 0: one hop each; their stage times are compute-bound (l0's tile-buffer time,
    # 3 MVMs x (2 x 128 inputs + 2 x 16 outputs) x 8 bits, written and read at half a tile's 256 Gb/s, is 108 ns)
    assert s["stage_s"]["l0"] == pytest.approx(3 * t0) and s["stage_s"]["l1"] == pytest.approx(t1)
    assert 2 * 3 * (2 * 128 + 2 * 16) * 8 / (ch.tile_buffer_bandwidth_bits_per_s / 2) < 3 * t0
    assert c.pipeline_interval_s == pytest.approx(3 * t0)
    # each layer's outputs are written to and read from a tile buffer once: two accesses per layer
    assert c.latency_s == pytest.approx(3 * t0 + t1 + 2 * ch.noc_hop_latency_s + 4 * ch.tile_buffer_latency_s)
    xb = per_crossbar(cfg)
    leak_tile = sum(v[0] for v in xb.values()) * 4  # one tile of 4 crossbars leaks (power-gated: tile 1 unused)
    assert c.static_power_w == pytest.approx(leak_tile)  # a one-chip job's links are power-gated (area kept)
    area = sum(v[1] for v in xb.values()) * 4 * 2 + ch.link_area_mm2
    assert c.area_mm2 == pytest.approx(area)
    dyn = sum(L.energy_j - L.static_power_w * L.latency_s for L in r.layers)
    noc = (bits0 + bits1) * ch.noc_energy_per_bit_per_hop_j
    assert c.energy_per_inference_j == pytest.approx(dyn + noc + c.static_power_w * 3 * t0)
    assert c.breakdown["interconnect"].energy_j == pytest.approx(noc)
    assert c.macs_per_inference == 16 * 256 * 3 + 16 * 64
    assert c.tops_per_w == pytest.approx(2 * c.macs_per_inference / c.energy_per_inference_j / 1e12)
    for key in ("energy_j", "static_power_w", "area_mm2"):
        total = {"energy_j": c.energy_per_inference_j, "static_power_w": c.static_power_w, "area_mm2": c.area_mm2}[key]
        assert sum(getattr(v, key) for v in c.breakdown.values()) == pytest.approx(total)
    d = json.loads(r.to_json())["chip"]
    assert {"chips", "tiles_used", "tiles_available", "utilization", "latency_s", "pipeline_interval_s",
            "throughput_inferences_per_s", "energy_per_inference_j", "static_power_w", "area_mm2", "tops_per_w",
            "breakdown"} <= set(d)
    # without power gating every tile of the chip leaks
    ungated = rr.cost(rr.map(layers, rr.resolve_config(
        "default", overrides={**SMALL_CHIP, "chip.replicate": False, "system.power_gating": False}))).chip
    assert ungated.static_power_w == pytest.approx(2 * leak_tile)


def test_links_power_gated_on_one_chip_powered_on_several_and_in_isaac():
    """A one-chip job keeps its links' area but not their power (HyperTransport link disconnect); several chips
    power theirs; ``isaac`` keeps them powered on one chip, as Table 6's 65.8 W does."""
    layers = _layers(np.random.default_rng(6), [(16, 256, 2)])
    one = rr.cost(rr.map(layers, rr.resolve_config("default", overrides=SMALL_CHIP))).chip
    assert one.chips == 1 and one.breakdown["links"].static_power_w == 0.0
    assert one.breakdown["links"].area_mm2 == pytest.approx(22.88) and one.breakdown["links"].energy_j == 0.0
    on = rr.cost(rr.map(layers, rr.resolve_config("default", overrides={**SMALL_CHIP, "chip.link_power_gating": False})))
    assert on.chip.breakdown["links"].static_power_w == pytest.approx(10.4)
    assert on.chip.energy_per_inference_j == pytest.approx(one.energy_per_inference_j
                                                           + 10.4 * one.pipeline_interval_s)
    isaac = rr.get_preset("isaac")
    assert isaac.chip.link_power_gating is False
    two = rr.cost(rr.map(_layers(np.random.default_rng(5), [(16, 1024, 1), (16, 256, 1)]), rr.resolve_config(
        "default", overrides={**SMALL_CHIP, "chip.replicate": False}))).chip
    assert two.chips == 2 and two.breakdown["links"].static_power_w == pytest.approx(2 * 10.4)


def test_replication_hand_computed():
    """l0: 2 crossbars x 10 MVMs, l1: 1 crossbar x 1 MVM on an 8-crossbar chip (4 IMAs of 2): l0 gets 3 copies
    (IMAs 3 + 1 = 4): ceil(10 / 3) = 4 MVMs per copy; the next step (4 copies, 3 MVMs each) needs a 5th IMA."""
    cfg = rr.resolve_config("default", overrides=SMALL_CHIP)
    layers = _layers(np.random.default_rng(2), [(16, 256, 10), (16, 64, 1)])
    m = rr.map(layers, cfg)
    r = rr.cost(m)
    s = r.extra["chip_schedule"]
    assert s["replicas"] == {"l0": 3, "l1": 1} and s["imas"] == {"l0": 3, "l1": 1}
    assert r.chip.pipeline_interval_s == pytest.approx(4 * m.layers[0].mvm_latency_s)
    assert r.chip.tiles_used == 2


def test_throughput_monotone_in_chip_budget_until_balanced():
    rng = np.random.default_rng(3)
    layers = _layers(rng, [(32, 300, 16), (64, 288, 9), (64, 576, 9), (10, 1024, 1)])
    m = rr.map(layers, rr.resolve_config("default", overrides=SMALL_CHIP))
    base = sum(-(-l.tiles // 2) for l in m.layers)
    thr = []
    for chips in range(-(-base // 4), 60):
        cfg = rr.resolve_config("default", overrides={**SMALL_CHIP, "chip.chips": chips})
        thr.append(rr.cost(rr.ReramMapping(cfg, m.layers)).chip.throughput_inferences_per_s)
    assert all(b >= a for a, b in zip(thr, thr[1:]))
    assert thr[-1] > 8 * thr[0]  # replication pays until every stage is one MVM
    assert thr[-1] == pytest.approx(1 / max(l.mvm_latency_s for l in m.layers), rel=1e-9)


def test_weight_reloading_when_chips_are_capped():
    """Needs 2 chips (9 IMAs of 2 crossbars, 4 per chip... 8 per chip), capped at 1: two rounds, every cell
    written once per inference, rows programmed one pulse at a time."""
    cfg = rr.resolve_config("default", overrides={**SMALL_CHIP, "chip.chips": 1})
    layers = _layers(np.random.default_rng(4), [(16, 1024, 1), (16, 256, 1)])
    m = rr.map(layers, cfg)
    x = sum(l.tiles for l in m.layers)
    assert x == 10
    r = rr.cost(m)
    s, c = r.extra["chip_schedule"], r.chip
    assert s["rounds"] == 2 and c.chips == 1
    assert s["cells_written_per_inference"] == x * 128 * 128
    e_cell = cfg.crossbar.write_voltage_v ** 2 / cfg.crossbar.r_on_ohm * cfg.crossbar.write_pulse_s
    assert c.breakdown["weight_writes"].energy_j == pytest.approx(x * 128 * 128 * e_cell)
    t_write = 2 * 128 * cfg.crossbar.write_pulse_s
    assert s["write_time_per_inference_s"] == pytest.approx(t_write)
    stages = sum(s["stage_s"].values())
    assert c.pipeline_interval_s == pytest.approx(stages + t_write)
    # a batch of 8 amortises the writes
    b8 = rr.cost(rr.ReramMapping(rr.resolve_config("default", overrides={**SMALL_CHIP, "chip.chips": 1,
                                                                         "chip.reload_batch": 8}), m.layers))
    assert b8.extra["chip_schedule"]["cells_written_per_inference"] == x * 128 * 128 / 8
    assert b8.chip.pipeline_interval_s < c.pipeline_interval_s


def test_multi_chip_links_and_feature_map_crossing():
    cfg = rr.resolve_config("default", overrides={**SMALL_CHIP, "chip.replicate": False})
    layers = _layers(np.random.default_rng(5), [(16, 1024, 1), (16, 256, 1)])  # 8 + 2 crossbars: 2 chips
    r = rr.cost(rr.map(layers, cfg))
    assert r.chip.chips == 2 and r.chip.breakdown["links"].static_power_w == pytest.approx(2 * 10.4)
    assert r.extra["chip_schedule"]["link_bits_per_inference"] == 16 * 8  # l0's outputs go to chip 1
    single = rr.resolve_config("default", overrides={**SMALL_CHIP, "chip.links_on_single_chip": False})
    one = rr.cost(rr.map(layers[1:], single)).chip
    assert one.chips == 1 and one.breakdown["links"].static_power_w == 0.0 and one.breakdown["links"].area_mm2 == 0.0


@pytest.mark.parametrize("override,match", [
    ({"chip.tiles_per_chip": 1, "chip.imas_per_tile": 1, "chip.crossbars_per_ima": 4}, "smaller than one column strip"),
    ({"chip.tile_buffer_bytes": 0}, r"chip.tile_buffer_bytes must be a positive integer, got 0"),
    ({"chip.noc_bandwidth_bits_per_s": -1.0}, r"chip.noc_bandwidth_bits_per_s must be a finite number > 0, got -1"),
    ({"chip.chips": 0}, r"chip.chips must be a positive integer, got 0"),
])
def test_bad_chip_configs_are_one_clear_error_each(override, match):
    w = np.random.default_rng(6).standard_normal((16, 1024))  # 8 row tiles: one column strip of 8 crossbars
    with pytest.raises(ConfigError, match=match):
        rr.cost(rr.map([w], rr.resolve_config("default", overrides=override)))


def test_static_energy_is_chip_static_power_times_interval():
    cfg = rr.get_preset("default")
    w = np.random.default_rng(7).standard_normal((100, 300))
    c = rr.cost(rr.map([MatrixLayer("a", w, 5)], cfg)).chip
    dyn = sum(v.energy_j - v.static_power_w * c.pipeline_interval_s for v in c.breakdown.values())
    assert c.energy_per_inference_j - dyn == pytest.approx(c.static_power_w * c.pipeline_interval_s)
    assert schedule(rr.map([MatrixLayer("a", w, 5)], cfg)).rounds == 1


def _ou_block_prune(w, frac, rows, outs, rng):
    w = w.copy()
    nb_i, nb_o = -(-w.shape[1] // rows), -(-w.shape[0] // outs)
    for b in rng.permutation(nb_i * nb_o)[:int(round(frac * nb_i * nb_o))]:
        r, c = divmod(int(b), nb_o)
        w[c * outs:(c + 1) * outs, r * rows:(r + 1) * rows] = 0.0
    return w


def test_ou_mode_on_ou_aligned_90_percent_pruning_beats_ou_mode_on_dense():
    """Issue 10 acceptance: >= 5x less energy and >= 3x less time than OU mode on the dense network (SRE reports
    6.8x (-85.3 %) and 13.1x on average). OUs of 8 rows x 8 columns = 8 inputs x 1 output at 8 columns per weight."""
    cfg = rr.resolve_config("default", mapping="ou")
    # 8 rows x 3 levels = 24 -> 5 bits, one less with ISAAC's flipped encoding (the default preset's): 4
    assert cfg.adc_bits_for_rows(8) == 4 and cfg.adc_bits_for_rows(128) == 8
    rng = np.random.default_rng(8)
    dense = _layers(rng, [(300, 784, 1), (100, 300, 1), (10, 100, 1)])
    pruned = [MatrixLayer(l.name, _ou_block_prune(l.weight, 0.9, 8, 1, rng), 1) for l in dense]
    rd, rp = rr.cost(rr.map(dense, cfg)), rr.cost(rr.map(pruned, cfg))
    assert rd.total.energy_j >= 5 * rp.total.energy_j and rd.total.latency_s >= 3 * rp.total.latency_s
    assert rd.chip.energy_per_inference_j >= 5 * rp.chip.energy_per_inference_j
    assert rd.chip.pipeline_interval_s >= 3 * rp.chip.pipeline_interval_s
    # the ADC energy is charged at the 4 bits of the converter; run reads 5 effective bits (4 + flipped encoding)
    from hwsim.reram.run import adc_params
    assert adc_params(cfg, 8)[1] == 2 ** 5 - 1
    L = rd.layers[0]
    assert L.breakdown["adc"].energy_j - L.breakdown["adc"].static_power_w * L.latency_s == pytest.approx(
        rr.config.adc_energy_j(4) * L.counts["adc_conversions"])
