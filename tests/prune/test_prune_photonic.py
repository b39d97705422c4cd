"""Photonic phase pruning: criteria, selection, fine-tuning through the meshes (the physics: tests/photonic)."""
import math

import numpy as np
import pytest
from conftest import blobs, make_mlp

photonic = pytest.importorskip("hwsim.photonic")
from hwsim.errors import ConfigError, DataError  # noqa: E402
from hwsim.photonic import MeshConfig, PhotonicConfig  # noqa: E402
from hwsim.prune import photonic_phases as pp  # noqa: E402


def _fake_mapping(phases):
    class L:  # only what the criteria read
        pass

    class M:
        pass

    lm = L()
    lm.phases = np.asarray(phases, dtype=float)
    lm.name = "x"
    m = M()
    m.layers = (lm,)
    return m


def test_phase_criteria_hand_case():
    ph = [[0.1, math.pi, 2 * math.pi - 0.2, 0.0, 0.5]]
    m = _fake_mapping(ph)
    (mag,) = pp.phase_scores(m, "magnitude")
    np.testing.assert_allclose(mag[0, [0, 1, 2, 4]], [0.1, math.pi, 0.2, 0.5])
    assert np.isinf(mag[0, 3])  # heater already off
    (pw,) = pp.phase_scores(m, "power")
    np.testing.assert_allclose(pw[0, [0, 1, 2, 4]], [math.pi, math.pi, 0.2 * math.pi / (2 * math.pi - 0.2), math.pi])
    # magnitude prunes the phase nearest 0 (0.1); power prefers the near-2pi heater (saves ~2 P_pi at 0.2 rad)
    (mk,) = pp.select_phases(m, 0.25, "magnitude")
    np.testing.assert_array_equal(mk, [[True, False, False, False, False]])
    (mk,) = pp.select_phases(m, 0.25, "power")
    np.testing.assert_array_equal(mk, [[False, False, True, False, False]])
    (sq,) = pp.phase_scores(m, "power_sq")
    np.testing.assert_allclose(sq[0, [0, 1, 2, 4]], [0.1 * math.pi, math.pi ** 2, 0.04 * math.pi / (2 * math.pi - 0.2),
                                                      0.5 * math.pi])
    (mk,) = pp.select_phases(m, 0.5, "power_sq")  # 2 of the 4 heaters on: near-2pi, then near-0
    np.testing.assert_array_equal(mk, [[True, False, True, False, False]])
    g = np.array([[1.0, 0.0, 2.0, 5.0, 0.1]])
    (sv,) = pp.phase_scores(m, "sensitivity", grads=[g])
    np.testing.assert_allclose(sv[0, [0, 1, 2, 4]], [1.0 * 0.1 / (0.1 / math.pi), 0.0, 2.0 * 0.2 / ((2 * math.pi - 0.2) / math.pi),
                                                      0.1 * 0.5 / (0.5 / math.pi)])


def test_phase_pruning_saves_the_power_the_cost_model_reports():
    rng = np.random.default_rng(3)
    cfg = PhotonicConfig(mesh=MeshConfig(tile=4))
    m = photonic.map([rng.standard_normal((8, 8))], cfg)
    base = photonic.cost(m).total.static_power_w
    masks = pp.select_phases(m, 0.3, "power")
    pruned = photonic.prune_phases(m, masks)
    saved_units = float(np.sum(photonic.power_units(m.layers[0].phases)[masks[0]]))
    p_pi = cfg.heater.p_pi_w
    assert photonic.cost(pruned).total.static_power_w == pytest.approx(base - p_pi * saved_units, rel=1e-9)
    # at equal pruned count the power-aware criterion saves more heater power than phase magnitude
    mag = photonic.prune_phases(m, pp.select_phases(m, 0.3, "magnitude"))
    assert photonic.cost(pruned).total.static_power_w < photonic.cost(mag).total.static_power_w


def test_finetune_phases_keeps_pruned_heaters_off_and_lowers_loss():
    net, (x, y) = make_mlp((8, 8, 4)), blobs(256)
    from hwsim.prune import finetune

    finetune(net, (x, y), epochs=10, lr=1e-2, batch_size=32)
    cfg = PhotonicConfig(mesh=MeshConfig(tile=4))
    m = photonic.map(net, cfg)
    pruned = photonic.prune_phases(m, pp.select_phases(m, 0.3, "power"))
    off = [l.phases == 0 for l in pruned.layers]

    def loss(mp):
        from hwsim.nn import softmax_cross_entropy

        return softmax_cross_entropy(photonic.run(mp, x), y)[0]

    tuned = pp.finetune_phases(pruned, (x, y), epochs=4, lr=5e-3, batch_size=32)
    for o, l in zip(off, tuned.layers):
        assert np.all(l.phases[o] == 0.0)
        assert np.all((l.phases >= 0) & (l.phases < 2 * math.pi))
    assert loss(tuned) < loss(pruned)


def test_network_phase_gradients_shapes():
    net, data = make_mlp((8, 8, 4)), blobs(64)
    m = photonic.map(net, PhotonicConfig(mesh=MeshConfig(tile=4)))
    g = pp.network_phase_gradients(m, data)
    assert [a.shape for a in g] == [l.phases.shape for l in m.layers]
    assert all(np.all(np.isfinite(a)) for a in g)


# ---- bad input ---------------------------------------------------------------------------------------------------
def test_unknown_phase_criterion():
    with pytest.raises(ConfigError, match="unknown phase criterion 'heat'"):
        pp.phase_scores(_fake_mapping([[1.0]]), "heat")


def test_sensitivity_without_grads():
    with pytest.raises(ConfigError, match="needs grads"):
        pp.phase_scores(_fake_mapping([[1.0]]), "sensitivity")


def test_sensitivity_grads_wrong_shape():
    with pytest.raises(DataError, match="grads shape"):
        pp.phase_scores(_fake_mapping([[1.0, 2.0]]), "sensitivity", grads=[np.ones((1, 3))])


def test_phase_fraction_out_of_range():
    with pytest.raises(ConfigError, match=r"phase fraction must lie in \[0, 1\)"):
        pp.select_phases(_fake_mapping([[1.0]]), 1.0)


def test_finetune_phases_needs_a_network():
    m = photonic.map([np.ones((4, 4))], PhotonicConfig(mesh=MeshConfig(tile=4)))
    with pytest.raises(ConfigError, match="needs a mapping of a hwsim.nn.Network"):
        pp.finetune_phases(m, blobs(8))


def test_finetune_phases_mislabelled_data():
    net = make_mlp((8, 8, 4))
    m = photonic.map(net, PhotonicConfig(mesh=MeshConfig(tile=4)))
    with pytest.raises(DataError, match="labels must lie in"):
        pp.finetune_phases(m, (np.zeros((2, 8)), np.array([0, 9])))


def test_iterative_phase_pruning_switches_off_more_heaters_each_stage():
    net, (x, y) = make_mlp((8, 8, 4)), blobs(256)
    m = photonic.map(net, PhotonicConfig(mesh=MeshConfig(tile=4)))
    on0 = sum(int(np.count_nonzero(l.phases)) for l in m.layers)
    seen = []
    stages = pp.iterative_phase_pruning(m, (x, y), fractions=(0.25, 0.25), criterion="sensitivity", steps=5,
                                        batch_size=32, callback=lambda i, mp: seen.append(i))
    on = [sum(int(np.count_nonzero(l.phases)) for l in s.layers) for s in stages]
    assert seen == [0, 1]
    assert on[0] <= on0 - int(0.25 * on0) and on[1] <= on[0] - int(0.25 * on[0])
    p = [photonic.cost(s).total.static_power_w for s in stages]
    assert p[1] < p[0] < photonic.cost(m).total.static_power_w


def test_iterative_phase_pruning_unknown_criterion():
    m = photonic.map(make_mlp((8, 8, 4)), PhotonicConfig(mesh=MeshConfig(tile=4)))
    with pytest.raises(ConfigError, match="unknown phase criterion"):
        pp.iterative_phase_pruning(m, blobs(8), criterion="random")


def test_finetune_phases_bias_training_leaves_callers_network_alone():
    net, (x, y) = make_mlp((8, 8, 4)), blobs(128)
    m = photonic.map(net, PhotonicConfig(mesh=MeshConfig(tile=4)))
    b0 = [l.bias.copy() for l in net.weighted_layers()]
    tuned = pp.finetune_phases(m, (x, y), epochs=2, lr=5e-3, batch_size=32)
    for a, l in zip(b0, net.weighted_layers()):
        np.testing.assert_array_equal(a, l.bias)
    assert any(not np.array_equal(a, l.bias) for a, l in zip(b0, tuned.network.weighted_layers()))
    frozen = pp.finetune_phases(m, (x, y), epochs=1, batch_size=32, train_biases=False)
    assert frozen.network is net


def test_finetune_phases_keeps_pruned_heaters_at_their_fabrication_offset():
    net, (x, y) = make_mlp((8, 8, 4)), blobs(128)
    cfg = photonic.resolve_config("harris2014_weight_stationary",
                                  overrides={"mesh.tile": 4, "heater.offset_sigma_rad": 0.05})
    m = photonic.map(net, cfg)
    pruned = photonic.prune_phases(m, pp.select_phases(m, 0.5, "power"))
    off = [l.phases == l.offsets for l in pruned.layers]
    assert sum(o.sum() for o in off) > 0
    tuned = pp.finetune_phases(pruned, (x, y), epochs=2, lr=5e-3, batch_size=32, power_reg=1e-3)
    for o, l in zip(off, tuned.layers):
        assert np.array_equal(l.phases[o], l.offsets[o])  # off heaters stay at their offset (drive 0)
        assert np.all(l.drive()[o] == 0.0) and np.all(l.drive()[~o] > 0.0)
    assert photonic.cost(tuned).total.static_power_w > 0
