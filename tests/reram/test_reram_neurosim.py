"""The 'neurosim-v1.4' preset against DNN+NeuroSim V1.4's published VGG-8 run, and its chip rules one by one.

Source of the published figures: github.com/neurosim/DNN_NeuroSim_V1.4, commit 9e6742c ("initial commit for V1.4"),
``Data/1.4_Release_test.csv`` row 1 (22 nm, conventionalParallel, RRAM, CMOS access, numRowParallel 128, on/off
0.0588 = 6 k / 102 kOhm, levelOutput 16, cellBit 1, current-mode sense amplifier, 128 x 128 sub-arrays), as written
by ``main.cpp``: chip area 8.47747e7 um^2, clock 2.2312 ns, pipeline cycle 194225 ns, buffer latency 136858 ns, IC
latency 47868.9 ns, ADC latency 8032.31 ns, 23.9369 TOPS/W, 5148.66 FPS, 1.23184e9 operations.
"""
import math

import pytest

import hwsim.reram as rr
import models
from hwsim.errors import ConfigError
from hwsim.reram.config import NEUROSIM_V14_CLOCK_S
from hwsim.reram.cost import per_crossbar
from hwsim.reram.neurosim import psum_bits

ROW1 = {"tops_per_w": 23.9369, "fps": 5148.66, "area_mm2": 84.7747, "ops": 1.23184e9, "clock_s": 2.2312e-9,
        "buffer_latency_s": 136858e-9, "ic_latency_s": 47868.9e-9, "adc_latency_s": 8032.31e-9}
#: NeuroSim's input vectors of VGG-8's conv1: (32 - 3 + 1)^2 (``numInVector`` in ``ChipCalculatePerformance``).
NS_CONV1_VECTORS = 900


@pytest.fixture(scope="module")
def vgg8():
    cfg = rr.get_preset("neurosim-v1.4")
    m = rr.map(models.get("vgg8-cifar"), cfg)
    return m, rr.cost(m)


def test_vgg8_within_2x_of_neurosim_v14_published_run(vgg8):
    """TOPS/W, throughput and chip area each within 2x of ``Data/1.4_Release_test.csv`` row 1 (commit 9e6742c)."""
    m, r = vgg8
    c = r.chip
    assert 2 * c.macs_per_inference == pytest.approx(ROW1["ops"], rel=1e-5)  # the same operation count
    for ours, theirs in ((c.tops_per_w, ROW1["tops_per_w"]), (c.throughput_inferences_per_s, ROW1["fps"]),
                         (c.area_mm2, ROW1["area_mm2"])):
        assert 0.5 <= ours / theirs <= 2.0, (ours, theirs)
    # the figures the preset's docstring tabulates (it explains each difference)
    assert c.tops_per_w == pytest.approx(20.49, rel=0.01)
    assert c.throughput_inferences_per_s == pytest.approx(4550, rel=0.01)
    assert c.area_mm2 == pytest.approx(79.31, rel=0.01)
    assert c.chips == 1 and c.tiles_used == c.tiles_available == 99


def test_neurosim_duplication_tiles_and_partial_sums(vgg8):
    """``ChipDesignInitialize``: d = min(8, 32 / 8) = 4, bound 8, copies (IFM / 8)^2; conv1 and the FC layers are
    conventionally mapped (1024 x 1024 tiles of 2 x 2 PEs), conv2..6 novel-mapped (9 PEs)."""
    m, r = vgg8
    s = r.extra["chip_schedule"]
    assert list(s["replicas"].values()) == [16, 16, 4, 4, 1, 1, 1, 1]
    det = s["detail"]
    assert [L["novel_mapping"] for L in det["layers"].values()] == [False] + [True] * 5 + [False, False]
    assert [L["tiles"] for L in det["layers"].values()] == [2, 8, 4, 8, 4, 8, 64, 1]
    assert (det["tiles_cm"], det["tiles_nm"]) == (67, 32)
    cfg = m.config
    assert psum_bits(cfg, 2) == 25 and psum_bits(cfg, 9) == 28  # NeuroSim's 24 + 1 and 24 + 4
    assert det["global_buffer_cores"] == 71  # ceil(8 x 290,816 / 2 / 16,384), as NeuroSim's floorplan


def test_clock_and_mvm_time_are_neurosims(vgg8):
    """One vector = 8 input bits x 8 muxed columns = 64 sensing cycles; conv1's 900 vectors over 16 copies give the
    published ADC latency 8032.31 ns."""
    m, _ = vgg8
    assert NEUROSIM_V14_CLOCK_S == ROW1["clock_s"]
    t = m.layers[0].mvm_latency_s
    assert t == pytest.approx(64 * ROW1["clock_s"], rel=1e-9)
    assert NS_CONV1_VECTORS / 16 * t == pytest.approx(ROW1["adc_latency_s"], rel=1e-4)


def test_conv1_transfer_cycles_reproduce_the_published_buffer_and_ic_latency(vgg8):
    """conv1 bounds NeuroSim's pipeline. Its tile-buffer (input 27 x 8 bits over 2 x 32-bit cores, 128 x 25-bit
    partial sums over one 50-bit core) and global-buffer cycles, scaled to NeuroSim's 900 vectors, are the published
    buffer latency less the PE buffers hwsim leaves out (216 cycles, 0.5 us); its tile H-tree cycles are exact."""
    _, r = vgg8
    L = r.extra["chip_schedule"]["detail"]["layers"]["conv1"]
    k = NS_CONV1_VECTORS / 1024
    assert L["tile_buffer_cycles"] * k == pytest.approx(3037.5 + 57600)
    assert L["htree_cycles"] * k == pytest.approx((194400 + 2880000) / 256)
    buffer_s = (L["tile_buffer_cycles"] + L["global_buffer_cycles"]) * k * ROW1["clock_s"]
    assert buffer_s == pytest.approx(ROW1["buffer_latency_s"], rel=0.005)
    ic_s = (L["htree_cycles"] + L["global_bus_cycles"]) * k * ROW1["clock_s"]
    assert ic_s == pytest.approx(ROW1["ic_latency_s"], rel=0.05)  # the X-Y bus spans 99 tiles here, 103 there
    # the slowest stage is conv1 and it is transfer-bound: compute is 4 % of it
    stages = r.extra["chip_schedule"]["stage_s"]
    assert max(stages, key=stages.get) == "conv1"
    assert L["compute_s"] < 0.05 * stages["conv1"]


def test_area_is_neurosims_tiles_and_chip_periphery(vgg8):
    m, r = vgg8
    cfg = m.config
    ns = cfg.chip.neurosim
    pe = 16 * sum(a for k, (_, a) in per_crossbar(cfg).items() if k != "index")
    assert pe == pytest.approx(0.12218, rel=1e-4)  # NeuroSim's ProcessingUnitCalculateArea, 1.2218e-7 m^2
    cm = 4 * pe + ns.tile_accumulation_area_mm2 + ns.tile_buffer_area_mm2 + ns.tile_htree_area_mm2
    nm = 9 * pe + ns.tile_nm_accumulation_area_mm2 + ns.tile_nm_buffer_area_mm2 + ns.tile_nm_htree_area_mm2
    assert cm == pytest.approx(0.496827, rel=1e-4) and nm == pytest.approx(1.30582, rel=1e-4)  # TileCalculateArea
    c = r.chip
    periphery = (c.breakdown["global_buffer"].area_mm2 + c.breakdown["interconnect"].area_mm2
                 + ns.chip_periphery_area_mm2)
    assert c.area_mm2 == pytest.approx(67 * cm + 32 * nm + periphery)
    assert c.breakdown["global_buffer"].area_mm2 == pytest.approx(1.44817, rel=1e-4)


def test_activity_and_vectors_explain_the_energy_gap():
    """At hwsim's generic input density 0.5 the word lines cost 5x more: TOPS/W falls below half of row 1. That is
    NeuroSim's own energy on random traces (14.42 TOPS/W with bits at density 0.5, measured on 9e6742c) times its
    900/1024-vector undercount (1/1.378): within 2 %."""
    cfg = rr.resolve_config("neurosim-v1.4", overrides={"system.input_activity": 0.5})
    c = rr.cost(rr.map(models.get("vgg8-cifar"), cfg)).chip
    assert c.tops_per_w / ROW1["tops_per_w"] < 0.5
    assert c.tops_per_w == pytest.approx(14.4186 * 228_335_616 / 314_580_992, rel=0.02)


@pytest.mark.parametrize("override,match", [
    ({"chip.chips": 2}, "chip.chips must be 1 or unset with schedule 'neurosim'"),
    ({"chip.crossbars_per_ima": 8}, "chip.crossbars_per_ima must be a square"),
    ({"chip.neurosim.speed_up_degree": 0}, "chip.neurosim.speed_up_degree must be a positive integer"),
    ({"chip.schedule": "mnsim"}, "chip.schedule"),
])
def test_bad_neurosim_configs_are_one_clear_error_each(override, match):
    with pytest.raises(ConfigError, match=match):
        rr.resolve_config("neurosim-v1.4", overrides=override)


def test_without_replication_the_pipeline_is_slower_and_smaller(vgg8):
    _, r = vgg8
    cfg = rr.resolve_config("neurosim-v1.4", overrides={"chip.replicate": False})
    c = rr.cost(rr.map(models.get("vgg8-cifar"), cfg)).chip
    assert c.throughput_inferences_per_s < r.chip.throughput_inferences_per_s
    assert c.area_mm2 < r.chip.area_mm2
    assert math.isfinite(c.tops_per_w) and c.tops_per_w > 0


# ---- MNSIM-2.0 (github.com/thu-nics/MNSIM-2.0 at ca39ccb, SimConfig.ini) --------------------------------------------
def test_mnsim2_preset_is_simconfig_ini():
    cfg = rr.get_preset("mnsim2")
    ch = cfg.chip
    assert (ch.tiles_per_chip, ch.imas_per_tile, ch.crossbars_per_ima) == (64 * 64, 4, 2)  # Tile_Num, PE_Num, polarity
    assert (cfg.rows, cfg.cols, cfg.crossbar.bits_per_cell) == (256, 256, 1)  # Xbar_Size, Device_Level 2
    assert (cfg.crossbar.r_on_ohm, cfg.crossbar.r_off_ohm, cfg.crossbar.read_voltage_v) == (1e4, 1e6, 0.15)
    assert cfg.crossbar.read_time_s == 3.16e-9
    assert cfg.crossbar.area_mm2 == pytest.approx(0.388772)  # 256^2 x 1.44 um^2 + 1150 um^2 x 256 rows
    assert cfg.precision.weight_bits == cfg.precision.input_bits == 9 and cfg.precision.signed == "differential"
    assert cfg.adc.bits == 6 and cfg.adc.conversion_energy_j == pytest.approx(10.08e-12)  # ADC_Choice 6: 8 ns x 1.26 mW
    assert cfg.adcs_per_crossbar == 64  # ADC_Num = 128 per PE of two crossbars
    assert ch.noc_bandwidth_bits_per_s == 20e9 and cfg.peripherals.access_bits == 64
    assert cfg.system.input_activity == 0.1  # Device.py: V^2 = 0.9 x 0 + 0.1 x Vread^2


def test_mnsim2_costs_vgg8():
    c = rr.cost(rr.map(models.get("vgg8-cifar"), rr.get_preset("mnsim2"))).chip
    assert c.chips == 1 and c.tiles_available == 4096 and c.tiles_used == 399  # no layer duplicated, as MNSIM
    assert c.breakdown["links"].area_mm2 == 0.0 and c.breakdown["interconnect"].energy_j == 0.0
    # area of the occupied tiles only (MNSIM's Model_Area): 399 of 4,096 tiles
    assert c.area_mm2 == pytest.approx(26590 * 399 / 4096, rel=0.01)
    assert c.tops_per_w == pytest.approx(0.0264, rel=0.02) and c.static_power_w == pytest.approx(14.93, rel=0.01)
