"""Cost model: hand-computed energies and latencies, breakdown sums, ISAAC Table 6 reproduction."""
import json
from dataclasses import replace

import numpy as np
import pytest

import hwsim.reram as rr
from hwsim.errors import ConfigError
from hwsim.reram.config import MappingConfig, SystemConfig
from hwsim.reram.cost import (ISAAC_IMA_POWER_W, ISAAC_IMA_TOTAL_W, ISAAC_TILE_AREA_MM2, ISAAC_TILE_POWER_W,
                              ISAAC_TILE_TOTAL_W, per_crossbar)
from test_reram_mapping import W_DIFF, tiny


def test_hand_energy_latency_static_area_tiny():
    cfg = tiny("skip_empty")
    r = rr.cost(rr.map([W_DIFF], cfg))
    L = r.layers[0]
    p = cfg.peripherals
    g_on, g_off = 1 / cfg.crossbar.r_on_ohm, 1 / cfg.crossbar.r_off_ohm
    v2t = 0.5 * cfg.crossbar.read_voltage_v ** 2 * 25e-9
    e_array = v2t * (g_off * 16 + (g_on - g_off) * 8)
    assert L.breakdown["array"].energy_j - L.breakdown["array"].static_power_w * 50e-9 == pytest.approx(e_array)
    assert L.latency_s == pytest.approx(50e-9)
    # a 4-row read of 1-bit cells peaks at 4: the 4-bit ADC converts it at the 3 bits it needs
    dyn = {"dac": p.dac.energy_per_action_j * 4, "adc": rr.config.adc_energy_j(3) * 16,
           "sample_hold": p.sample_hold.energy_per_action_j * 16, "shift_add": p.shift_add.energy_per_action_j * 16,
           "input_register": p.input_register.energy_per_action_j * 4,
           "output_register": p.output_register.energy_per_action_j * 4,
           "buffer": p.buffer.energy_per_action_j * 2, "bus": p.bus.energy_per_action_j * 8,
           "router": p.router.energy_per_action_j * 1, "output_unit": p.output_unit.energy_per_action_j * 4}
    leak = {"dac": 4 * p.dac.leakage_w, "adc": 2 * cfg.adc.leakage_w, "shift_add": 0.5 * p.shift_add.leakage_w,
            "buffer": p.buffer.leakage_w / 96}
    for k, e in dyn.items():
        static = 2 * leak.get(k, 0.0)
        assert L.breakdown[k].static_power_w == pytest.approx(static, abs=1e-18), k
        assert L.breakdown[k].energy_j == pytest.approx(e + static * 50e-9), k
    assert L.static_power_w == pytest.approx(2 * sum(leak.values()))
    area_x = (cfg.crossbar.area_mm2 + 4 * p.dac.area_mm2 + 2 * rr.config.adc_area_mm2(4) + 4 * p.sample_hold.area_mm2
              + 0.5 * p.shift_add.area_mm2 + p.input_register.area_mm2 + p.output_register.area_mm2
              + (p.buffer.area_mm2 + p.bus.area_mm2 + p.router.area_mm2 + p.output_unit.area_mm2) / 96)
    assert L.area_mm2 == pytest.approx(2 * area_x)


@pytest.mark.parametrize("mode", rr.MAPPING_MODES)
@pytest.mark.parametrize("preset", sorted(rr.PRESETS))
def test_breakdown_sums_to_layer_and_report_json(mode, preset):
    rng = np.random.default_rng(3)
    w = rng.standard_normal((70, 300))
    w[rng.random(w.shape) < 0.7] = 0
    r = rr.cost(rr.map([w, w[:20, :70]], rr.resolve_config(preset, mapping=mode)))
    for L in r.layers:
        assert sum(c.energy_j for c in L.breakdown.values()) == pytest.approx(L.energy_j)
        assert sum(c.static_power_w for c in L.breakdown.values()) == pytest.approx(L.static_power_w)
        assert sum(c.area_mm2 for c in L.breakdown.values()) == pytest.approx(L.area_mm2)
    d = json.loads(r.to_json())
    assert d["hardware"] == "reram" and d["preset"] == preset
    assert set(d["total"]) >= {"tiles", "latency_s", "energy_j", "static_power_w", "area_mm2"}
    assert d["layers"][0]["counts"]["adc_conversions"] > 0


def test_mvms_scale_energy_and_latency():
    from hwsim.workload import MatrixLayer

    w = np.random.default_rng(0).standard_normal((32, 200))
    cfg = rr.get_preset("default")
    one = rr.cost(rr.map([MatrixLayer("a", w, 1)], cfg)).layers[0]
    many = rr.cost(rr.map([MatrixLayer("a", w, 49)], cfg)).layers[0]
    assert many.latency_s == pytest.approx(49 * one.latency_s)
    assert many.energy_j == pytest.approx(49 * one.energy_j)
    assert many.counts["adc_conversions"] == 49 * one.counts["adc_conversions"]


def test_pipelined_vs_sequential_latency():
    from hwsim.workload import MatrixLayer

    rng = np.random.default_rng(0)
    layers = [MatrixLayer("a", rng.standard_normal((16, 128)), 10), MatrixLayer("b", rng.standard_normal((16, 128)), 3)]
    cfg = rr.get_preset("default")
    piped = rr.cost(rr.map(layers, cfg))
    seq = rr.cost(rr.map(layers, replace(cfg, system=SystemConfig(pipeline_layers=False))))
    t = piped.layers[0].latency_s / 10
    assert seq.total.latency_s == pytest.approx(13 * t)
    assert piped.total.latency_s == pytest.approx(10 * t + t)  # slowest layer + one MVM of the other
    assert piped.extra["pipeline_interval_s"] == pytest.approx(10 * t)


def test_skip_empty_saves_energy_over_dense_on_sparse_rows():
    w = np.random.default_rng(0).standard_normal((64, 256))
    w[:, 100:] = 0
    cfg = rr.get_preset("default")
    d = rr.cost(rr.map([w], replace(cfg, mapping=MappingConfig("dense"))))
    s = rr.cost(rr.map([w], cfg))
    assert s.total.energy_j < d.total.energy_j and s.total.tiles < d.total.tiles


def test_isaac_table6_reproduced_within_2_percent():
    op = rr.isaac_operating_point()
    assert op["tiles"] == 96 and op["mvm_time_s"] == pytest.approx(16 * 128 / 1.2e9)
    for k, ref in ISAAC_IMA_POWER_W.items():
        assert op["ima_w"][k] == pytest.approx(ref, rel=0.02), k
    for k, ref in ISAAC_TILE_POWER_W.items():
        assert op["tile_w"][k] == pytest.approx(ref, rel=0.02), k
    assert op["ima_total_w"] == pytest.approx(ISAAC_IMA_TOTAL_W, rel=0.02)
    assert op["tile_total_w"] == pytest.approx(ISAAC_TILE_TOTAL_W, rel=0.02)
    assert op["tile_area_mm2"] == pytest.approx(ISAAC_TILE_AREA_MM2, rel=0.02)


def test_isaac_area_per_component():
    a = per_crossbar(rr.get_preset("isaac"))
    assert a["adc"][1] * 8 == pytest.approx(0.0096)
    assert a["buffer"][1] * 96 == pytest.approx(0.083)
    assert a["router"][1] * 96 == pytest.approx(0.151 / 4)


def test_cost_rejects_non_mapping():
    with pytest.raises(ConfigError, match="ReramMapping"):
        rr.cost([np.ones((2, 2))])
