"""Gradients through the meshes: the numpy forward equals the back-end, exact phase/gain gradients, heater power."""
import math

import numpy as np
import pytest

from hwsim import photonic
from hwsim.errors import ConfigError, DataError
from hwsim.photonic import MeshConfig, PhotonicConfig, layer_forward, phase_gradients, power_penalty, power_units
from hwsim.photonic.mapping import iter_layer_tiles, layer_tiles, tiles_matrix


@pytest.mark.parametrize("mesh", ["clements", "reck"])
@pytest.mark.parametrize("shape", [(7, 9), (4, 4), (1, 5)])
def test_forward_matches_backend(mesh, shape):
    w = np.random.default_rng(0).standard_normal(shape)
    lm = photonic.map([w], PhotonicConfig(mesh=MeshConfig(tile=4, mesh=mesh))).layers[0]
    fw = layer_forward(lm)
    np.testing.assert_allclose(fw.matrix, photonic.layer_matrix(lm), atol=1e-12)
    np.testing.assert_allclose(fw.matrix, w, atol=1e-12)
    np.testing.assert_allclose(fw.tiles, np.concatenate([t for _, t in iter_layer_tiles(lm)]), atol=1e-12)


def test_layer_matrix_gains_and_tiles_round_trip():
    rng = np.random.default_rng(5)
    w = rng.standard_normal((7, 9))
    lm = photonic.map([w], PhotonicConfig(mesh=MeshConfig(tile=4))).layers[0]
    g = lm.gains * rng.uniform(0.5, 2.0, lm.tiles)
    ph = lm.phases + 0.1 * rng.standard_normal(lm.phases.shape)
    np.testing.assert_allclose(photonic.layer_matrix(lm, ph, gains=g), layer_forward(lm, ph, g).matrix, atol=1e-12)
    np.testing.assert_array_equal(photonic.layer_matrix(lm, gains=lm.gains), photonic.layer_matrix(lm))
    np.testing.assert_array_equal(tiles_matrix(lm, layer_tiles(lm, w)), w)  # gather then scatter is exact
    assert layer_tiles(lm, w)[-1, 3, 3] == 0.0  # zero padding at the edge (7 x 9 on 4 x 4 tiles)


@pytest.mark.parametrize("mesh", ["clements", "reck"])
def test_phase_and_gain_gradients_match_finite_differences(mesh):
    rng = np.random.default_rng(1)
    w = rng.standard_normal((6, 5))
    lm = photonic.map([w], PhotonicConfig(mesh=MeshConfig(tile=4, mesh=mesh))).layers[0]
    G = rng.standard_normal(w.shape)
    gp, gg = phase_gradients(lm, G)
    f = lambda p=None, g=None: float(np.sum(G * photonic.layer_matrix(lm, p, gains=g)))  # noqa: E731
    eps = 1e-6
    for t in range(lm.tiles):
        for j in range(lm.phases.shape[1]):  # every phase of every tile
            p1, p2 = lm.phases.copy(), lm.phases.copy()
            p1[t, j] += eps
            p2[t, j] -= eps
            assert abs((f(p1) - f(p2)) / (2 * eps) - gp[t, j]) < 1e-7
        g1, g2 = lm.gains.copy(), lm.gains.copy()
        g1[t] += eps
        g2[t] -= eps
        assert abs((f(None, g1) - f(None, g2)) / (2 * eps) - gg[t]) < 1e-7


def test_gradient_of_pruned_mapping_matches_finite_differences():
    rng = np.random.default_rng(2)
    m = photonic.map([rng.standard_normal((4, 4))], PhotonicConfig(mesh=MeshConfig(tile=4)))
    m = photonic.prune_phases(m, threshold=1.0)  # some attenuators may be switched off (A singular)
    lm = m.layers[0]
    G = rng.standard_normal((4, 4))
    gp, _ = phase_gradients(lm, G)
    eps = 1e-6
    for j in range(0, lm.phases.shape[1], 3):
        p1, p2 = lm.phases.copy(), lm.phases.copy()
        p1[0, j] += eps
        p2[0, j] -= eps
        fd = (np.sum(G * photonic.layer_matrix(lm, p1)) - np.sum(G * photonic.layer_matrix(lm, p2))) / (2 * eps)
        assert abs(fd - gp[0, j]) < 1e-7


def test_gradients_from_a_kept_forward_are_the_same():
    rng = np.random.default_rng(6)
    lm = photonic.map([rng.standard_normal((6, 5))], PhotonicConfig(mesh=MeshConfig(tile=4))).layers[0]
    ph, g, G = lm.phases + 0.2, lm.gains * 1.5, rng.standard_normal((6, 5))
    fw = layer_forward(lm, ph, g)
    for a, b in zip(phase_gradients(lm, G, forward=fw), phase_gradients(lm, G, ph, g)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(fw.z, layer_forward(lm, ph, g).z)  # the reverse sweep leaves the forward intact


def test_power_penalty_hand_case():
    ph = np.array([0.0, 0.5, math.pi - 0.1, math.pi + 0.1, 2 * math.pi - 0.2, 2 * math.pi + 0.3])
    v, g = power_penalty(ph, "power")
    assert v == pytest.approx((0.5 + math.pi - 0.1 + math.pi + 0.1 + 2 * math.pi - 0.2 + 0.3) / math.pi)
    np.testing.assert_allclose(g, [0.0] + [1 / math.pi] * 5)
    v, g = power_penalty(ph, "wrapped")
    assert v == pytest.approx((0.5 + math.pi - 0.1 + math.pi - 0.1 + 0.2 + 0.3) / math.pi)
    np.testing.assert_allclose(g, np.array([0, 1, 1, -1, -1, 1]) / math.pi)
    # the exact penalty is the static power the cost model reports, in P_pi units
    assert power_penalty(ph, "power")[0] == pytest.approx(float(np.sum(power_units(ph))))


@pytest.mark.parametrize("kind", ["wrapped", "power"])
def test_power_penalty_gradient_matches_finite_differences(kind):
    rng = np.random.default_rng(0)
    ph = rng.uniform(0.05, 2 * math.pi - 0.05, 200)
    ph = ph[np.abs(ph - math.pi) > 0.05]  # away from the kinks (0, pi for the wrapped surrogate)
    _, g = power_penalty(ph, kind)
    eps = 1e-6
    for j in range(ph.size):
        p1, p2 = ph.copy(), ph.copy()
        p1[j] += eps
        p2[j] -= eps
        fd = (power_penalty(p1, kind)[0] - power_penalty(p2, kind)[0]) / (2 * eps)
        assert abs(fd - g[j]) < 1e-6


def test_power_units_match_the_cost_model():
    rng = np.random.default_rng(3)
    cfg = PhotonicConfig(mesh=MeshConfig(tile=4))
    m = photonic.prune_phases(photonic.map([rng.standard_normal((8, 8))], cfg), threshold=0.5)
    units = float(np.sum(power_units(m.layers[0].phases)))
    assert m.layers[0].phases.min() >= 0  # standard heaters: phases in [0, 2pi)
    assert photonic.cost(m).layers[0].counts["heater_pi_units"] == pytest.approx(units, rel=1e-12)


# ---- bad input ---------------------------------------------------------------------------------------------------
def test_power_penalty_unknown_kind():
    with pytest.raises(ConfigError, match="unknown power regulariser"):
        power_penalty(np.zeros(3), "l2")


def test_gradient_of_wrong_shape():
    lm = photonic.map([np.ones((4, 4))], PhotonicConfig(mesh=MeshConfig(tile=4))).layers[0]
    with pytest.raises(DataError, match="gradient shape"):
        phase_gradients(lm, np.ones((3, 4)))


def test_gradient_forward_and_phases_together():
    lm = photonic.map([np.ones((4, 4))], PhotonicConfig(mesh=MeshConfig(tile=4))).layers[0]
    with pytest.raises(ConfigError, match="forward= alone"):
        phase_gradients(lm, np.ones((4, 4)), lm.phases, forward=layer_forward(lm))
