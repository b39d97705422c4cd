"""Mapping, cost and phase pruning: hand-computed cases, oracles, invariants, bad input."""
import math

import numpy as np
import pytest

from hwsim.errors import ConfigError, DataError, MappingError
from hwsim.photonic import (LayerMapping, MeshConfig, PhotonicConfig, cost, layer_counts, layer_matrix, map,
                            matrix_error, phase_slices, phases_per_tile, prune_phases, resolve_config)
from hwsim.photonic import _kernels_tiles as KT
from hwsim.photonic import _reference as R
from hwsim.photonic.mapping import PhotonicMapping, iter_layer_tiles
from hwsim.photonic.mesh import _layout


def cfg(tile=4, mesh="clements", preset="harris2014", **kw):
    return resolve_config(preset, tile=tile, mesh=mesh, **kw)


@pytest.mark.parametrize("mesh", ["clements", "reck"])
@pytest.mark.parametrize("shape,tile", [((1, 1), 2), ((7, 5), 4), ((37, 50), 16), ((16, 32), 16), ((9, 3), 3)])
def test_map_round_trip(mesh, shape, tile):
    rng = np.random.default_rng(sum(shape))
    w = rng.standard_normal(shape)
    m = map([w], cfg(tile, mesh))
    layer = m.layers[0]
    assert layer.tiles == math.ceil(shape[0] / tile) * math.ceil(shape[1] / tile)
    assert np.max(np.abs(layer_matrix(layer) - w)) <= 1e-12 * max(1.0, np.abs(w).max())
    assert layer.phases.min() >= 0 and layer.phases.max() < 2 * math.pi
    assert layer.phases.shape == (layer.tiles, phases_per_tile(tile))


def test_zero_tiles_skipped_and_float32_accepted():
    w = np.ones((8, 12), dtype=np.float32)
    w[:4, 4:8] = 0
    w[4:, :4] = 0
    layer = map([w], cfg(4)).layers[0]
    assert layer.tiles == 4
    assert set(zip(layer.tile_rows.tolist(), layer.tile_cols.tolist())) == {(0, 0), (0, 2), (1, 1), (1, 2)}
    assert np.allclose(layer_matrix(layer), w, atol=1e-12)


def test_all_zero_layer_maps_to_nothing():
    layer = map([np.zeros((5, 5))], cfg(4)).layers[0]
    assert layer.tiles == 0
    rep = cost(map([np.zeros((5, 5))], cfg(4)))
    assert rep.total.static_power_w == 0 and rep.total.area_mm2 == 0 and rep.total.energy_j == 0


def test_tiles_forward_matches_oracle_with_imbalance():
    rng = np.random.default_rng(3)
    k, t = 4, 3
    m = k * (k - 1) // 2
    ph = rng.uniform(0, 2 * np.pi, (t, phases_per_tile(k)))
    gains = rng.uniform(0.5, 2, t)
    kap = rng.uniform(0.3, 0.7, (t, 4 * m + 2 * k))
    modes, _ = _layout(k, "reck")
    out = np.empty((t, k, k))
    KT.tiles_forward(ph, gains, kap, modes, k, out, 2)
    for i in range(t):
        assert np.allclose(out[i], R.tile_matrix(ph[i], gains[i], k, "reck", kap[i]), atol=1e-13)


def test_heater_sum_matches_oracle():
    rng = np.random.default_rng(4)
    ph = rng.uniform(-1, 8, (5, 7))
    ph[0, :3] = 0.0
    for pp in (False, True):
        units, on = KT.heater_power_sum(ph, pp)
        assert units == pytest.approx(R.heater_pi_units(ph.copy(), pp), rel=1e-14)
    assert on == 32


def hand_layer(phases, k=2, gain=1.0):
    phases = np.atleast_2d(np.asarray(phases, dtype=float))
    t = phases.shape[0]
    return LayerMapping("hand", (k, k * t), 3, k, "clements", (1, t), np.zeros(t, np.int64),
                        np.arange(t, dtype=np.int64), phases, np.full(t, gain))


def test_static_power_of_hand_made_mesh():
    # K = 2: 10 heaters per tile (V theta, V phi, V screen x2, 2 attenuators, U theta, U phi, U screen x2)
    ph = np.array([0.5 * np.pi, np.pi, 1.5 * np.pi, 0.0, 0.25 * np.pi, 2 * np.pi - 1e-3, 0.0, 0.1, 3.0, 0.0])
    for mode, units in (("standard", 0.5 + 1 + 1.5 + 0.25 + (2 - 1e-3 / np.pi) + 0.1 / np.pi + 3.0 / np.pi),
                        ("push_pull", 0.5 + 1 + 0.5 + 0.25 + 1e-3 / np.pi + 0.1 / np.pi + 3.0 / np.pi)):
        c = PhotonicConfig(mesh=MeshConfig(tile=2), preset="hand")
        c = c if mode == "standard" else resolve_config("harris2014_push_pull", tile=2)
        rep = cost(PhotonicMapping(c, (hand_layer(ph),)))
        assert rep.total.static_power_w == pytest.approx(24.77e-3 * units, rel=1e-12)
        assert rep.layers[0].counts["heaters_on"] == 7


def _hand_path(depth):
    """Loss (dB) and length (m) of a K = 2 core's light path by hand (hwsim.photonic.chip docstring)."""
    length = depth * 250e-6 + 2 * 61.6e-6
    loss = 1.2 + depth * (0.23 + 2 * 0.33) + 2 * 0.23 + 1.0 + 3.6 * length * 100
    return loss, length


@pytest.mark.parametrize("mode", ["weight_stationary", "time_multiplexed"])
def test_energy_latency_area_hand_computed(mode):
    from hwsim.photonic.config import ChipConfig

    c = PhotonicConfig(mesh=MeshConfig(tile=2), chip=ChipConfig(mode=mode, cores=1, batch_size=4), preset="hand")
    layer = hand_layer(np.zeros((2, 10)))  # 2 tiles of K=2, shape (2, 4), 3 MVMs
    r = cost(PhotonicMapping(c, (layer,))).layers[0]
    depth = 2 * 1 + 1  # Clements K=2 depth 1, twice, plus the attenuator column
    loss_db, length = _hand_path(depth)
    t_sym = 1 / 10e9
    laser_w = 2 * 10 ** (-2.5) * 1e-3 * 2 ** 4 * 10 ** (loss_db / 10) / 0.2  # per core: K x -25 dBm x 2^4 x loss
    dac = 3 * 4 * (50e-3 / 14e9 + 200e-15)
    adc = 3 * 4 * 2.6e-12
    tof = length * 4.2 / 299_792_458.0
    if mode == "weight_stationary":
        latency, per_inf, lit, cores = 3 * t_sym + tof, 3 * t_sym + tof, 2, 2
    else:  # 2 tiles on 1 core: 2 rounds of (settling + 4 x 3 MVMs + flight)
        settle = 9 * math.log(2) / (2 * math.pi * 130e3)
        latency = 2 * (settle + 4 * 3 * t_sym + tof)
        per_inf, lit, cores = latency / 4, 1, 1
    assert r.latency_s == pytest.approx(latency, rel=1e-12)
    assert r.breakdown["laser"].energy_j == pytest.approx(lit * laser_w * per_inf, rel=1e-12)
    assert r.breakdown["receivers"].energy_j == pytest.approx(lit * 2 * 4.1e-3 * per_inf, rel=1e-12)
    assert r.breakdown["dac_modulator"].energy_j == pytest.approx(dac, rel=1e-12)
    assert r.breakdown["pd_adc"].energy_j == pytest.approx(adc, rel=1e-12)
    # digital: 12 partial outputs added, 2 x 3 nonlinearities, 12 x 8 input + 2 x 12 x 16 partial + 6 x 8 output bits
    dig = 12 * 0.1e-12 + 6 * 0.1e-12 + (96 + 384 + 48) * 10e-12 / 64
    assert r.breakdown["digital"].energy_j == pytest.approx(dig, rel=1e-12)
    assert r.static_power_w == 0.0
    mesh_area = (4 * 250e-6 * 2 * 25e-6 + 4 * 61.6e-6 * 25e-6) * 1e6
    core = mesh_area + 2 * (0.011 + 260e-3 * 20e-3) + 2 * 0.00285 + 10 * 0.011 + 0.12
    assert r.area_mm2 == pytest.approx(cores * core, rel=1e-12)
    assert r.counts["mzis"] == 8 and r.counts["phase_shifters"] == 20 and r.counts["optical_depth"] == 3


def test_breakdown_sums_to_layer_and_total():
    rng = np.random.default_rng(5)
    rep = cost(map([rng.standard_normal((20, 30)), rng.standard_normal((6, 20))], cfg(8)))
    for l in rep.layers:
        assert sum(c.energy_j for c in l.breakdown.values()) == pytest.approx(l.energy_j, rel=1e-12)
        assert sum(c.static_power_w for c in l.breakdown.values()) == pytest.approx(l.static_power_w, rel=1e-12)
        assert sum(c.area_mm2 for c in l.breakdown.values()) == pytest.approx(l.area_mm2, rel=1e-12)
    assert rep.total.energy_j == pytest.approx(sum(l.energy_j for l in rep.layers))
    d = rep.to_dict()
    assert d["hardware"] == "photonic" and d["preset"] == "harris2014" and d["config"]["mesh"]["tile"] == 8


def test_unstructured_sparsity_barely_changes_static_power_but_zero_tiles_do():
    rng = np.random.default_rng(6)
    w = rng.standard_normal((64, 128))
    c = cfg(16, preset="harris2014_weight_stationary")  # every tile its own mesh: zero tiles free their heaters
    p0 = cost(map([w], c)).total.static_power_w
    ws = w * (rng.random(w.shape) >= 0.5)  # 50 % random unstructured sparsity
    p50 = cost(map([ws], c)).total.static_power_w
    wt = w.copy()
    wt[:, :64] = 0.0  # half of the tiles entirely zero
    pt = cost(map([wt], c)).total.static_power_w
    assert abs(p50 - p0) / p0 < 0.05
    assert pt / p0 == pytest.approx(0.5, abs=0.05)


def test_prune_all_phases_gives_zero_static_power():
    rng = np.random.default_rng(7)
    m = map([rng.standard_normal((10, 9))], cfg(4))
    pruned = prune_phases(m, mask=[np.ones_like(l.phases, dtype=bool) for l in m.layers])
    assert cost(pruned).total.static_power_w == 0.0
    assert cost(pruned).layers[0].counts["heaters_on"] == 0
    assert cost(m).total.static_power_w > 0  # the input mapping is unchanged


def test_prune_threshold_and_matrix_error():
    rng = np.random.default_rng(8)
    m = map([rng.standard_normal((12, 12))], cfg(4))
    assert matrix_error(m) == {"layer0": 0.0}
    same = prune_phases(m, threshold=0.0)
    assert matrix_error(same)["layer0"] < 1e-13
    p = prune_phases(m, threshold=0.3)
    err = matrix_error(p)["layer0"]
    assert 0 < err < 2
    assert cost(p).total.static_power_w < cost(m).total.static_power_w
    # pruning again keeps the original reference
    pp = prune_phases(p, threshold=0.6)
    assert matrix_error(pp)["layer0"] >= err * 0.5
    assert pp.layers[0].reference_phases is m.layers[0].phases


def test_prune_one_phase_by_name_error_matches_direct_reconstruction():
    rng = np.random.default_rng(9)
    w = rng.standard_normal((4, 4))
    m = map([w], cfg(4))
    mask = np.zeros_like(m.layers[0].phases, dtype=bool)
    mask[0, phase_slices(4)["u_theta"].start] = True
    p = prune_phases(m, mask={"layer0": mask})
    w_rec = R.tile_matrix(p.layers[0].phases[0], p.layers[0].gains[0], 4, "clements")
    assert matrix_error(p)["layer0"] == pytest.approx(np.linalg.norm(w - w_rec) / np.linalg.norm(w), rel=1e-9)


def test_iter_layer_tiles_chunks():
    rng = np.random.default_rng(10)
    layer = map([rng.standard_normal((9, 9))], cfg(2)).layers[0]
    parts = list(iter_layer_tiles(layer, chunk=7))
    assert sum(t.shape[0] for _, t in parts) == layer.tiles == 25


def test_counts_conversions():
    layer = map([np.ones((5, 7))], cfg(4)).layers[0]
    c = layer_counts(layer)
    assert c["tiles"] == 4 and c["mzis"] == 4 * 16
    assert c["dac_conversions"] == 2 * 7 and c["adc_conversions"] == 2 * 5


# ---- bad input ---------------------------------------------------------------------------------------------
def test_map_nan_weight():
    w = np.ones((3, 3))
    w[1, 1] = np.nan
    with pytest.raises(MappingError, match="NaN"):
        map([w], cfg(2))


def test_map_1d_weight():
    with pytest.raises(MappingError, match="2-D"):
        map([np.ones(3)], cfg(2))


def test_map_bad_config():
    with pytest.raises(ConfigError, match="PhotonicConfig"):
        map([np.ones((2, 2))], {"tile": 2})


def test_cost_bad_mapping():
    with pytest.raises(ConfigError, match="PhotonicMapping"):
        cost([np.ones((2, 2))])


def test_prune_needs_exactly_one():
    m = map([np.ones((2, 2))], cfg(2))
    with pytest.raises(ConfigError, match="exactly one"):
        prune_phases(m)


def test_prune_both_given():
    m = map([np.ones((2, 2))], cfg(2))
    with pytest.raises(ConfigError, match="exactly one"):
        prune_phases(m, mask=[np.zeros((1, 10), bool)], threshold=0.1)


def test_prune_bad_threshold():
    m = map([np.ones((2, 2))], cfg(2))
    with pytest.raises(ConfigError, match="threshold"):
        prune_phases(m, threshold=4.0)


def test_prune_mask_wrong_shape():
    m = map([np.ones((2, 2))], cfg(2))
    with pytest.raises(DataError, match="mask shape"):
        prune_phases(m, mask=[np.zeros((1, 3), bool)])


def test_prune_mask_not_bool():
    m = map([np.ones((2, 2))], cfg(2))
    with pytest.raises(DataError, match="bool"):
        prune_phases(m, mask=[np.zeros((1, 10))])


def test_prune_mask_wrong_count():
    m = map([np.ones((2, 2))], cfg(2))
    with pytest.raises(DataError, match="1 layers"):
        prune_phases(m, mask=[])


def test_prune_mask_unknown_name():
    m = map([np.ones((2, 2))], cfg(2))
    with pytest.raises(DataError, match="unknown layers"):
        prune_phases(m, mask={"fc9": np.zeros((1, 10), bool)})
