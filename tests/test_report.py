"""The Report: totals, breakdown sums, and the public JSON contract of DESIGN.md."""
import json

import pytest

from hwsim.report import ComponentCost, LayerReport, Report

LAYER_KEYS = {"name", "shape", "mvms_per_inference", "tiles", "latency_s", "energy_j", "static_power_w", "area_mm2",
              "breakdown"}
TOTAL_KEYS = {"tiles", "latency_s", "energy_j", "static_power_w", "area_mm2"}


def _report():
    l1 = LayerReport("fc1", (300, 784), 1, 14, 1e-6, 2e-9, 3e-3, 0.5,
                     {"adc": ComponentCost(1.5e-9, 2e-3, 0.3), "dac": ComponentCost(0.5e-9, 1e-3, 0.2)},
                     {"adc_conversions": 4200})
    l2 = LayerReport("fc2", (100, 300), 1, 3, 2e-6, 1e-9, 1e-3, 0.25, {"adc": ComponentCost(1e-9, 1e-3, 0.25)})
    return Report.from_layers("reram", "isaac", {"rows": 128, "nested": {"bits": 8}}, [l1, l2])


def test_totals_are_sums():
    r = _report()
    assert r.total.tiles == 17
    assert r.total.latency_s == pytest.approx(3e-6)
    assert r.total.energy_j == pytest.approx(3e-9)
    assert r.total.static_power_w == pytest.approx(4e-3)
    assert r.breakdown()["adc"].energy_j == pytest.approx(2.5e-9)


def test_json_contract_keys_and_types():
    d = json.loads(_report().to_json())
    assert d["hardware"] == "reram" and d["preset"] == "isaac" and d["config"]["nested"]["bits"] == 8
    assert LAYER_KEYS <= set(d["layers"][0]) and TOTAL_KEYS <= set(d["total"])
    assert d["layers"][0]["shape"] == [300, 784]
    assert isinstance(d["layers"][0]["tiles"], int) and isinstance(d["total"]["energy_j"], float)
    assert set(d["layers"][0]["breakdown"]["adc"]) == {"energy_j", "static_power_w", "area_mm2"}


def test_latency_override_and_table():
    r = Report.from_layers("photonic", None, {}, _report().layers, latency_s=5e-7)
    assert r.total.latency_s == 5e-7
    table = r.format_table()
    assert "fc1" in table and "sum of layers" in table and "adc" in table


def test_chip_keys_and_derived_figures():
    from hwsim.report import Chip

    chip = Chip(chips=2, tiles_used=300, tiles_available=336, latency_s=2e-6, pipeline_interval_s=5e-7,
                energy_per_inference_j=4e-6, static_power_w=60.0, area_mm2=170.0, macs_per_inference=10**9,
                breakdown={"adc": ComponentCost(1e-6, 30.0, 10.0)})
    r = Report.from_layers("reram", "isaac", {}, _report().layers, chip=chip)
    d = json.loads(r.to_json())["chip"]
    assert set(d) >= {"chips", "tiles_used", "tiles_available", "utilization", "latency_s", "pipeline_interval_s",
                      "throughput_inferences_per_s", "energy_per_inference_j", "static_power_w", "area_mm2",
                      "tops_per_w", "breakdown"}
    assert d["utilization"] == pytest.approx(300 / 336)
    assert d["throughput_inferences_per_s"] == pytest.approx(2e6)
    assert d["tops_per_w"] == pytest.approx(2e9 / 4e-6 / 1e12)  # 2 ops per MAC: 0.5 TOPS/W
    assert "TOPS/W" in r.format_table()
    assert "chip" not in json.loads(_report().to_json())  # back-ends without a chip model add no key
