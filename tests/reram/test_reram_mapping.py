"""Hand-computed counts for each mapping mode, and the sparsity physics of the mapper."""
import math
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import hwsim.reram as rr
from hwsim.errors import MappingError
from hwsim.reram.config import (AdcConfig, CrossbarConfig, MappingConfig, PrecisionConfig,
                                ReramConfig, SystemConfig)


def tiny(mode="skip_empty", signed="differential", rows=4, cols=4, bpc=1, wb=3, **kw):
    """4x4 crossbars, 1 bit/cell, 3-bit weights, 2-bit inputs fed 1 bit per cycle, 2 columns per ADC,
    25 ns read, 10 ns per conversion."""
    return ReramConfig(crossbar=CrossbarConfig(rows=rows, cols=cols, bits_per_cell=bpc, read_time_s=25e-9),
                       precision=PrecisionConfig(weight_bits=wb, input_bits=2, dac_bits=1, signed=signed),
                       adc=AdcConfig(bits=4, cols_per_adc=2, sample_rate_hz=1e8),
                       mapping=MappingConfig(mode=mode, **kw))


W_DIFF = np.array([[3.0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, -3.0]])  # q = W (scale 1)


def test_dense_tile_formula_isaac():
    cfg = rr.get_preset("isaac")  # offset, 8 columns per weight
    w = np.ones((20, 300))
    lm = rr.map([w], replace(cfg, mapping=MappingConfig(mode="dense"))).layers[0]
    assert lm.footprint_tiles == lm.tiles == math.ceil(300 / 128) * math.ceil(20 * 8 / 128) == 6


@pytest.mark.parametrize("preset", sorted(rr.PRESETS))
@pytest.mark.parametrize("shape", [(1, 1), (7, 129), (130, 257), (64, 128)])
def test_dense_tiles_every_preset(preset, shape):
    cfg = replace(rr.get_preset(preset), mapping=MappingConfig(mode="dense"))
    lm = rr.map([np.ones(shape)], cfg).layers[0]
    out_f, in_f = shape
    assert lm.tiles == math.ceil(in_f / cfg.rows) * math.ceil(out_f * cfg.columns_per_weight / cfg.cols)


def test_differential_skip_empty_hand_counts():
    cfg = tiny("skip_empty")
    assert cfg.columns_per_weight == 4 and cfg.cycles_per_mvm == 2
    lm = rr.map([W_DIFF], cfg).layers[0]
    c = lm.counts
    assert (lm.footprint_tiles, lm.tiles, lm.nonzero_weights) == (4, 2, 2)
    assert c["tiles_active"] == 2 and c["crossbar_reads"] == 4
    assert c["row_activations"] == c["dac_conversions"] == 4  # 1 row per tile x 2 tiles x 2 cycles
    assert c["adc_conversions"] == c["sample_holds"] == 16  # 4 columns x 2 tiles x 2 cycles
    assert c["shift_adds"] == 16
    assert c["cells_driven"] == 16  # 2 rows x 4 cells x 2 cycles
    assert c["levels_driven"] == 8  # q = 3 = 0b11: two cells at level 1 per weight, 2 cycles
    assert c["input_bits"] == 4 and c["output_bits"] == 4
    assert c["buffer_bits"] == 8 and c["buffer_accesses"] == 2 and c["router_flits"] == 1
    assert lm.read_time_s == pytest.approx(25e-9)  # 2 conversions per ADC (20 ns) hide under the 25 ns read
    assert lm.mvm_latency_s == pytest.approx(50e-9)
    assert lm.tile_grid.tolist() == [[True, False], [False, True]]


def test_differential_dense_hand_counts():
    lm = rr.map([W_DIFF], tiny("dense")).layers[0]
    c = lm.counts
    assert (lm.tiles, lm.empty_tiles_allocated) == (4, 2)
    assert c["row_activations"] == 24  # (4 + 2 rows) x 2 column tiles x 2 cycles
    assert c["adc_conversions"] == 32  # 4 columns x 4 tiles x 2 cycles
    assert c["cells_driven"] == 96 and c["levels_driven"] == 8
    assert c["output_bits"] == 4 * 2  # 4 tiles x 1 output x 2 bits


def test_offset_hand_counts():
    # 3-bit weights, offset 4: u = q + 4 in 3 one-bit slices (3 columns per weight); a zero weight is 0b100
    cfg = tiny("skip_empty", signed="offset", rows=4, cols=6)
    assert cfg.columns_per_weight == 3
    w = np.array([[3.0, 0, 0, 0], [0, 0, 0, -3.0]])
    lm = rr.map([w], cfg).layers[0]
    c = lm.counts
    assert lm.tiles == 1
    assert c["row_activations"] == 2 * 2  # rows 0 and 3 driven
    assert c["adc_conversions"] == 6 * 2
    # row 0: u = 7 (3 levels) + zero weight (1) ; row 3: zero weight (1) + u = 1 (1)
    assert c["levels_driven"] == 6 * 2
    assert c["shift_adds"] == 12 + 2  # conversions + one offset correction per output
    dense = rr.map([w], tiny("dense", signed="offset", rows=4, cols=6)).layers[0].counts
    assert dense["levels_driven"] == (6 + 2 + 2) * 2  # rows 1, 2 hold two zero weights at level 1 each


def test_adc_sharing_sets_read_time():
    # 4 columns on one ADC: 4 conversions x 10 ns = 40 ns > 25 ns read
    cfg = replace(tiny("skip_empty"), adc=AdcConfig(bits=4, cols_per_adc=4, sample_rate_hz=1e8))
    lm = rr.map([W_DIFF], cfg).layers[0]
    assert lm.read_time_s == pytest.approx(40e-9)


def test_compact_hand_case():
    # 2-bit weights on 2-bit cells, offset: one column per weight; 2x2 crossbars
    cfg = tiny("compact", signed="offset", rows=2, cols=2, bpc=2, wb=2)
    assert cfg.columns_per_weight == 1
    w = np.zeros((4, 4))
    for j, i in [(0, 0), (1, 2), (2, 1), (3, 3)]:
        w[j, i] = 1.0
    skip = rr.map([w], replace(cfg, mapping=MappingConfig(mode="skip_empty"))).layers[0]
    comp = rr.map([w], cfg).layers[0]
    assert skip.tiles == 4
    assert comp.mode == "compact" and comp.tiles == 2
    assert comp.counts["row_activations"] == 4 * 2
    assert comp.index_bits_stored == comp.counts["index_bits_read"] == 4 * 2 + 4 * 2


def test_compact_falls_back_when_no_gain():
    cfg = tiny("compact")
    lm = rr.map([np.ones((2, 6))], cfg).layers[0]
    assert lm.mode == "skip_empty" and lm.index_bits_stored == 0


def test_ou_hand_case():
    cfg = replace(tiny("ou", signed="offset", bpc=2, wb=2, ou_rows=2, ou_cols=2))
    w = np.zeros((4, 4))
    w[0, 0] = 1.0
    lm = rr.map([w], cfg).layers[0]
    c = lm.counts
    assert lm.tiles == 1
    assert c["crossbar_reads"] == 1 * 2  # one nonzero OU, 2 cycles
    assert c["row_activations"] == 2 * 2 and c["adc_conversions"] == 2 * 2
    assert c["cells_driven"] == 4 * 2
    assert lm.index_bits_stored == 4  # natural strip: 1-bit bitmap of its 2 x 2 OUs
    # one OU per crossbar per cycle: bitlines settle in 25 ns x 2 / 4 rows, overlapped with 2 conversions of 10 ns
    assert lm.read_time_s == pytest.approx(max(25e-9 * 2 / 4, 2 * 10e-9))


def test_ou_packing_frees_tiles():
    cfg = tiny("ou", signed="offset", bpc=2, wb=2, ou_rows=2, ou_cols=2, ou_packing="densest")  # 1 column per weight
    w = np.zeros((2, 8))
    w[0, 0] = w[0, 6] = 1.0  # two nonzero OUs in different row tiles of the same OU column
    skip = rr.map([w], replace(cfg, mapping=MappingConfig(mode="skip_empty"))).layers[0]
    ou = rr.map([w], cfg).layers[0]
    assert skip.tiles == 2 and ou.tiles == 1
    assert ou.index_bits_stored == 2 * 2  # 2 OUs x ceil(log2(4 row blocks))
    assert ou.read_time_s == pytest.approx(2 * 20e-9)  # both OUs in one crossbar, one after the other
    # 'critical_path' packing keeps one OU per crossbar (the natural critical path): no crossbar freed, 2x faster
    fast = rr.map([w], replace(cfg, mapping=replace(cfg.mapping, ou_packing="critical_path"))).layers[0]
    assert fast.tiles == 2 and fast.read_time_s == pytest.approx(20e-9)


# ---- physics ----------------------------------------------------------------------------------------------------
DENSEST = {"mapping.ou_packing": "densest"}  # 'ou' packs into the fewest crossbars (the tile-freeing limit)


def _random_sparse(shape, sparsity, seed=0):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(shape)
    w[rng.random(shape) < sparsity] = 0.0
    return w


@pytest.mark.parametrize("preset,compact_max,ou_max", [("isaac", 0.9, 0.75), ("default", 0.9, 0.75),
                                                       ("neurosim-cell", 0.7, 0.95)])
def test_random_sparsity_frees_tiles_only_under_compact_and_ou(preset, compact_max, ou_max):
    # 90% unstructured: a 128-row crossbar is never empty, but a strip of 16 (2-bit cells) or 9 (1-bit cells)
    # outputs leaves 1 - 0.9^16 = 81% (62%) of the rows nonzero, and an 8x8 OU is empty with p = 0.9^8 = 43%.
    w = _random_sparse((512, 1024), 0.9)
    tiles = {m: rr.map([w], rr.resolve_config(preset, overrides=DENSEST, mapping=m)).layers[0].tiles
             for m in rr.MAPPING_MODES}
    assert tiles["skip_empty"] >= 0.98 * tiles["dense"]
    assert tiles["compact"] <= compact_max * tiles["skip_empty"]
    assert tiles["ou"] <= ou_max * tiles["skip_empty"]


def test_aligned_block_sparsity_frees_tiles():
    cfg = rr.get_preset("isaac")
    bc = cfg.cols // cfg.columns_per_weight  # outputs per crossbar
    rng = np.random.default_rng(1)
    out_f, in_f = 16 * bc, 10 * cfg.rows
    w = rng.standard_normal((out_f, in_f))
    blocks = [(r, c) for r in range(10) for c in range(16)]
    for b in rng.permutation(len(blocks))[:144]:  # 90% of 160 tiles
        r, c = blocks[b]
        w[c * bc:(c + 1) * bc, r * cfg.rows:(r + 1) * cfg.rows] = 0
    lm = rr.map([w], cfg).layers[0]
    assert lm.footprint_tiles == 160 and lm.tiles == 16


@pytest.mark.parametrize("preset,shape,compact_min,ou_min", [
    ("default", (512, 1024), 0.12, 0.25), ("default", (2048, 512), 0.03, 0.20), ("isaac", (256, 4608), 0.15, 0.30),
    ("neurosim-cell", (512, 1024), 0.30, 0.05), ("neurosim-cell", (1000, 784), 0.38, 0.10)])
def test_random_90_percent_sparsity_physics_in_numbers(preset, shape, compact_min, ou_min):
    """Random unstructured 90% sparsity. A crossbar holds R x k weights (k = C / cpw outputs: 16 at 2 bits/cell and
    8-bit weights, 9 for NeuroSim's 1-bit cells); it is empty with probability 0.9^(R k) ~ 1e-94, so skip_empty
    frees nothing. 'compact' keeps, per strip of k outputs, only the inputs with a nonzero weight there: a fraction
    1 - 0.9^k of them (81% for k = 16, 61% for k = 9), and fewer outputs per strip only raise crossbars per output,
    so no strip packing can free more than f = 1 - in / (R ceil(in / R)) (1 - 0.9^k) of the tiles (18.5% and 38.7%
    when R divides in). The heuristic gets within the ceil rounding of that limit (which costs most for small in:
    512 inputs need ceil(417 / 128) = 4 of 4 row tiles per strip); the limit itself is statistics of random
    supports, which only structured (crossbar-aligned) pruning escapes (test_aligned_block_sparsity_frees_tiles).
    'ou' skips empty 8x8 OUs (p = 0.9^8 = 43% for one output of 8 columns) and packs the rest ('densest')."""
    cfg = rr.get_preset(preset)
    w = _random_sparse(shape, 0.9)
    t = {m: rr.map([w], rr.resolve_config(preset, overrides=DENSEST, mapping=m)).layers[0].tiles
         for m in rr.MAPPING_MODES}
    out_f, in_f = shape
    k = cfg.cols // cfg.columns_per_weight
    limit = 1 - in_f / (cfg.rows * math.ceil(in_f / cfg.rows)) * (1 - 0.9 ** k)
    freed = {m: 1 - t[m] / t["dense"] for m in t}
    assert t["skip_empty"] == t["dense"]
    assert compact_min <= freed["compact"] <= limit + 0.01
    assert freed["ou"] >= ou_min


@pytest.mark.parametrize("mode", ["skip_empty", "compact", "ou"])
def test_static_power_proportional_to_allocated_tiles(mode):
    cfg = rr.resolve_config("default", mapping=mode)
    ratios = []
    for s in (0.0, 0.5, 0.95, 0.995):
        r = rr.cost(rr.map([_random_sparse((256, 512), s)], cfg))
        idx = r.layers[0].breakdown["index"].static_power_w
        ratios.append((r.total.static_power_w - idx) / r.total.tiles)
    assert np.allclose(ratios, ratios[0], rtol=1e-12)


def test_power_gating_option():
    w = np.zeros((64, 512))
    w[:, :128] = 1.0  # 1 of 4 row tiles used, in all 4 column tiles (64 outputs x 8 columns per weight)
    cfg = rr.resolve_config("default", mapping="dense")
    # 'dense' exploits no sparsity: its 16 allocated crossbars (4 row x 4 column tiles) leak, all-zero or not
    dense = rr.cost(rr.map([w], cfg)).total.static_power_w
    dense_ungated = rr.cost(rr.map([w], replace(cfg, system=SystemConfig(power_gating=False)))).total.static_power_w
    assert dense_ungated == pytest.approx(dense)
    skip_cfg = replace(cfg, mapping=MappingConfig("skip_empty"))
    gated = rr.cost(rr.map([w], skip_cfg)).total
    assert gated.tiles == 4 and gated.static_power_w == pytest.approx(dense / 4)
    ungated = rr.cost(rr.map([w], replace(skip_cfg, system=SystemConfig(power_gating=False)))).total
    assert ungated.static_power_w == pytest.approx(dense)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), mode=st.sampled_from(rr.MAPPING_MODES),
       preset=st.sampled_from(["isaac", "neurosim-cell", "default"]), frac=st.floats(0.1, 0.9))
def test_zeroing_whole_tiles_never_increases_energy_or_latency(seed, mode, preset, frac):
    cfg = rr.resolve_config(preset, mapping=mode)
    rng = np.random.default_rng(seed)
    bc = max(1, cfg.cols // cfg.columns_per_weight)
    out_f, in_f = int(rng.integers(1, 4)) * bc + int(rng.integers(0, bc)), int(rng.integers(1, 4)) * cfg.rows + 5
    w = _random_sparse((out_f, in_f), float(rng.uniform(0, 0.95)), seed)
    w2 = w.copy()
    for r in range(-(-in_f // cfg.rows)):
        for c in range(-(-out_f // bc)):
            if rng.random() < frac:
                w2[c * bc:(c + 1) * bc, r * cfg.rows:(r + 1) * cfg.rows] = 0
    w2[np.unravel_index(np.argmax(np.abs(w)), w.shape)] = w.flat[np.argmax(np.abs(w))]  # keep the scale
    a, b = rr.cost(rr.map([w], cfg)), rr.cost(rr.map([w2], cfg))
    if mode in ("dense", "skip_empty"):
        assert b.total.energy_j <= a.total.energy_j * (1 + 1e-12)
        assert b.total.latency_s <= a.total.latency_s * (1 + 1e-12)
        assert b.total.tiles <= a.total.tiles
    else:
        # 'compact' and 'ou' choose a layout that minimises crossbars (ordering outputs by nonzero count, packing
        # OUs): zeroing whole tiles can change that choice, so their energy, latency and even tiles are not monotone
        # (e.g. seed 4268, neurosim, frac 0.5: compact 3 tiles -> skip_empty fallback 4). What is guaranteed: never
        # more tiles than skip_empty, which is monotone.
        skip = replace(cfg, mapping=MappingConfig("skip_empty"))
        sa, sb = rr.map([w], skip).tiles, rr.map([w2], skip).tiles
        assert a.total.tiles <= sa and b.total.tiles <= sb <= sa


def test_modes_never_allocate_more_than_skip_empty_random():
    for seed in range(5):
        w = _random_sparse((200, 700), 0.3 + 0.15 * seed, seed)
        t = {m: rr.map([w], rr.resolve_config("neurosim-cell", mapping=m)).layers[0].tiles for m in rr.MAPPING_MODES}
        assert t["compact"] <= t["skip_empty"] <= t["dense"] and t["ou"] <= t["skip_empty"]


def test_streaming_shape_network():
    import models

    net = models.get("resnet18")
    m = rr.map(net.matrix_layers(sparsity=0.5), rr.get_preset("default"))
    assert len(m.layers) == len(net.layers) and m.network is None


# ---- bad input --------------------------------------------------------------------------------------------------
def test_map_rejects_1d():
    with pytest.raises(MappingError, match="2-D"):
        rr.map([np.ones(5)], rr.get_preset("isaac"))


def test_map_rejects_3d():
    with pytest.raises(MappingError, match="2-D"):
        rr.map([np.ones((2, 2, 2))], rr.get_preset("isaac"))


def test_map_rejects_empty_matrix():
    with pytest.raises(MappingError, match="empty"):
        rr.map([np.ones((0, 4))], rr.get_preset("isaac"))


def test_map_rejects_nan():
    with pytest.raises(MappingError, match="NaN"):
        rr.map([np.array([[1.0, np.nan]])], rr.get_preset("isaac"))


def test_map_rejects_inf():
    with pytest.raises(MappingError, match="NaN/inf"):
        rr.map([np.array([[1.0, -np.inf]])], rr.get_preset("isaac"))


def test_map_rejects_no_layers():
    with pytest.raises(MappingError, match="nothing to map"):
        rr.map([], rr.get_preset("isaac"))


def test_map_rejects_non_config():
    with pytest.raises(ValueError, match="ReramConfig"):
        rr.map([np.ones((2, 2))], {"crossbar": {}})
