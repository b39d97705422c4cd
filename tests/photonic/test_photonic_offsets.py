"""Fabrication phase offsets (issue 11, 4): heater power P_pi wrap(phi - offset)/pi, off heaters at their offset,
one seeded draw per physical shifter, seen by cost, prune_phases, run, the gauge and phase fine-tuning."""
import math

import numpy as np
import pytest

from hwsim.photonic import (LayerMapping, MeshConfig, PhotonicConfig, cost, gauge_optimize, layer_matrix, map,
                            prune_phases, resolve_config)
from hwsim.photonic.config import ChipConfig, HeaterConfig
from hwsim.photonic.mapping import PhotonicMapping
from hwsim.photonic.offsets import layer_offsets

TWO_PI = 2 * math.pi


def _layer(phases, offsets):
    t = phases.shape[0]
    return LayerMapping("l", (2, 2 * t), 1, 2, "clements", (1, t), np.zeros(t, dtype=np.int64),
                        np.arange(t, dtype=np.int64), phases, np.ones(t), offsets=offsets)


@pytest.mark.parametrize("mode", ["standard", "push_pull"])
def test_heater_power_of_offsets_by_hand(mode):
    # K = 2: 10 heaters; offsets +-0.05 rad
    ph = np.array([[0.0, 0.5, 1.0, 3.0, 6.2, 0.05, -0.05, 0.0, 2.0, 0.0]])
    off = np.array([[0.05, -0.05, 0.0, 0.0, 0.0, 0.05, -0.05, -0.05, 0.0, 0.1]])
    d = np.mod(ph - off, TWO_PI)  # drive: 2pi-0.05, 0.55, 1, 3, 6.2, 0, 0, 0.05, 2, 2pi-0.1
    if mode == "push_pull":
        d = np.where(d > math.pi, TWO_PI - d, d)
    c = PhotonicConfig(mesh=MeshConfig(tile=2), heater=HeaterConfig(mode=mode),
                       chip=ChipConfig(mode="weight_stationary"), preset="hand")
    rep = cost(PhotonicMapping(c, (_layer(ph, off),)))
    assert rep.total.static_power_w == pytest.approx(24.77e-3 * d.sum() / math.pi, rel=1e-12)
    assert rep.layers[0].counts["heaters_on"] == 8
    if mode == "standard":  # a 0 target on a +0.05 rad shifter costs nearly 2 P_pi single-arm
        assert d[0, 0] / math.pi == pytest.approx(2 - 0.05 / math.pi)


def test_offsets_are_seeded_per_physical_shifter():
    w = [np.random.default_rng(0).standard_normal((40, 40))]  # 3 x 3 = 9 tiles of 16
    tm = resolve_config(overrides={"heater.offset_sigma_rad": 0.05, "chip.cores": 4})
    l = map(w, tm).layers[0]
    assert l.offsets.shape == l.phases.shape
    assert np.array_equal(l.offsets[0], l.offsets[4]) and np.array_equal(l.offsets[1], l.offsets[5])  # same core
    assert not np.array_equal(l.offsets[0], l.offsets[1])
    assert 0.04 < l.offsets.std() < 0.06
    ws = resolve_config("harris2014_weight_stationary", overrides={"heater.offset_sigma_rad": 0.05})
    lw = map(w, ws).layers[0]
    assert not np.array_equal(lw.offsets[0], lw.offsets[4])
    assert np.array_equal(lw.offsets, map(w, ws).layers[0].offsets)  # same seed, same chip
    other = resolve_config("harris2014_weight_stationary", overrides={"heater.offset_sigma_rad": 0.05,
                                                                     "heater.offset_seed": 1})
    assert not np.array_equal(lw.offsets, map(w, other).layers[0].offsets)
    assert layer_offsets(resolve_config(), 0, 9, 528) is None
    assert map(w, resolve_config()).layers[0].offsets is None  # sigma 0: the ideal chip, nothing stored


def test_pruned_heaters_sit_at_their_offset_in_cost_and_run():
    w = [np.random.default_rng(1).standard_normal((12, 12))]
    cfg = resolve_config("harris2014_weight_stationary", overrides={"mesh.tile": 4, "heater.offset_sigma_rad": 0.2})
    m = map(w, cfg)
    lay = m.layers[0]
    assert np.max(np.abs(layer_matrix(lay) - w[0])) < 1e-12  # programmed phases are exact (the drive compensates)
    everything = prune_phases(m, mask=[np.ones_like(lay.phases, dtype=bool)])
    assert cost(everything).total.static_power_w == 0.0
    assert np.array_equal(everything.layers[0].phases, lay.offsets)
    # run sees the off phases at the offset: the hardware matrix is that of the offsets, not of phases 0
    assert np.allclose(layer_matrix(everything.layers[0]), layer_matrix(lay, lay.offsets))
    assert not np.allclose(layer_matrix(lay, lay.offsets), layer_matrix(lay, np.zeros_like(lay.phases)))
    # threshold pruning measures the drive, not the phase
    thr = prune_phases(m, threshold=0.3)
    off_mask = thr.layers[0].phases == lay.offsets
    assert np.array_equal(off_mask, np.minimum(lay.drive(), TWO_PI - lay.drive()) <= 0.3)


def test_gauge_sees_the_offsets():
    w = [np.random.default_rng(2).standard_normal((8, 8))]
    cfg = resolve_config("harris2014_weight_stationary", overrides={"mesh.tile": 4, "heater.offset_sigma_rad": 0.05})
    m = map(w, cfg)
    g = gauge_optimize(m, levels=4, sweeps=1)
    assert cost(g).total.static_power_w <= cost(m).total.static_power_w
    assert np.array_equal(g.layers[0].offsets, m.layers[0].offsets)
    assert np.max(np.abs(layer_matrix(g.layers[0]) - w[0])) < 1e-9


def test_offsets_survive_a_programming_file(tmp_path):
    from hwsim.photonic import load_programming, save_programming

    w = [np.random.default_rng(3).standard_normal((8, 8))]
    cfg = resolve_config(overrides={"mesh.tile": 4, "heater.offset_sigma_rad": 0.05})
    m = prune_phases(map(w, cfg), threshold=0.5)
    back = load_programming(save_programming(m, tmp_path / "c.npz"))
    assert np.array_equal(back.layers[0].offsets, m.layers[0].offsets)
    assert cost(back).total.static_power_w == pytest.approx(cost(m).total.static_power_w, rel=1e-9)
