"""Hardware-aware pruning: the Lagrangian hull by hand, units from configs, optimize on a tiny MLP, bad input."""
import numpy as np
import pytest
from conftest import blobs, make_mlp

import hwsim.prune as hp
from hwsim.errors import ConfigError, DataError


def test_lagrangian_hull_hand_case():
    costs = np.array([[10.0, 2.0], [10.0, 5.0]])
    loss = np.array([[0.0, 1.0], [0.0, 0.1]])
    hull = hp.lagrangian_hull(costs, loss)
    # lambda < 8: both prune; 8 < lambda < 50: only layer 2 (5 per 0.1 of loss); lambda > 50: none
    assert [(h[0], h[1], pytest.approx(h[2])) for h in hull] == [((1, 1), 7.0, pytest.approx(1.1)),
                                                                   ((0, 1), 15.0, pytest.approx(0.1)),
                                                                   ((0, 0), 20.0, 0.0)]


def test_lagrangian_hull_skips_dominated_points():
    # level 1 of layer 0 costs more and loses more than level 2: never chosen
    costs = np.array([[10.0, 9.0, 3.0]])
    loss = np.array([[0.0, 2.0, 1.0]])
    assert [h[0] for h in hp.lagrangian_hull(costs, loss)] == [(2,), (0,)]


def test_negative_loss_changes_are_clipped():
    hull = hp.lagrangian_hull(np.array([[4.0, 1.0]]), np.array([[0.0, -0.5]]))
    assert hull[0][0] == (1,) and hull[0][2] == 0.0


def test_reram_tile_geometry():
    class C:
        rows, cols, columns_per_weight = 128, 128, 8

    from hwsim import reram

    assert reram.tile_geometry(C()) == (16, 128)
    assert hp.hardware_unit("reram", reram.get_preset("isaac")) == ("xbar_tiles", (16, 128))


photonic = pytest.importorskip("hwsim.photonic")


def _tiny_trained():
    net, data = make_mlp((16, 16, 4)), blobs(600, d=16, k=4)
    hp.finetune(net, data, epochs=10, lr=1e-2, batch_size=32)
    return net, data


def test_optimize_photonic_frees_whole_tiles_and_meets_floor():
    net, data = _tiny_trained()
    # weight-stationary: static power falls with every tile freed (time-multiplexed, the resident power does not;
    # freed tiles shorten the schedule instead)
    cfg = photonic.PhotonicConfig(mesh=photonic.MeshConfig(tile=4), chip=photonic.ChipConfig(mode="weight_stationary"))
    assert hp.hardware_unit("photonic", cfg) == ("xbar_tiles", (4, 4))
    r = hp.optimize(net, "photonic", data, metric="static_power_w", accuracy_floor=0.85, config=cfg,
                    finetune_epochs=3, lr=1e-2, batch_size=32, val_samples=200, levels=(0.25, 0.5, 0.75))
    assert r.val_accuracy >= 0.85
    assert r.report.total.static_power_w < r.baseline_report.total.static_power_w
    assert r.saving > 0.2
    for l in r.network.weighted_layers():  # whole 4x4 blocks only
        m = l.mask
        for i in range(0, m.shape[0], 4):
            for j in range(0, m.shape[1], 4):
                assert m[i:i + 4, j:j + 4].all() or not m[i:i + 4, j:j + 4].any()
    # the report's tiles are the non-empty blocks
    nz = sum(int(np.count_nonzero([[l.effective_weight()[i:i + 4, j:j + 4].any() for j in range(0, l.shape[1], 4)]
                                   for i in range(0, l.shape[0], 4)])) for l in r.network.weighted_layers())
    assert r.report.total.tiles == nz
    assert r.sensitivity.shape == r.layer_costs.shape == (2, 4)
    assert np.all(np.diff(r.layer_costs[0]) <= 1e-12)  # pruning more never costs more tiles/power here


def test_optimize_budget_mode_respects_budget():
    net, data = _tiny_trained()
    cfg = photonic.PhotonicConfig(mesh=photonic.MeshConfig(tile=4))
    base = photonic.cost(photonic.map(net, cfg)).total.tiles
    r = hp.optimize(net, "photonic", data, metric="tiles", budget=base // 2, config=cfg, finetune_epochs=1,
                    batch_size=32, val_samples=200, levels=(0.25, 0.5, 0.75))
    assert r.report.total.tiles <= base // 2
    assert len(r.trials) == 1


# ---- bad input ---------------------------------------------------------------------------------------------------
def test_unknown_metric():
    with pytest.raises(ConfigError, match="unknown metric 'power'"):
        hp.optimize(make_mlp(), "photonic", blobs(50), metric="power", accuracy_floor=0.5)


def test_both_budget_and_floor():
    with pytest.raises(ConfigError, match="exactly one of budget"):
        hp.optimize(make_mlp(), "photonic", blobs(50), budget=1.0, accuracy_floor=0.5)


def test_neither_budget_nor_floor():
    with pytest.raises(ConfigError, match="exactly one of budget"):
        hp.optimize(make_mlp(), "photonic", blobs(50))


def test_floor_out_of_range():
    with pytest.raises(ConfigError, match="accuracy_floor must be a fraction"):
        hp.optimize(make_mlp(), "photonic", blobs(50), accuracy_floor=90.0)


def test_negative_budget():
    with pytest.raises(ConfigError, match="budget must be"):
        hp.optimize(make_mlp(), "photonic", blobs(50), budget=-1.0)


def test_unknown_hardware():
    with pytest.raises(ConfigError, match="unknown hardware 'fpga'"):
        hp.optimize(make_mlp(), "fpga", blobs(50), accuracy_floor=0.5)


def test_level_out_of_range():
    with pytest.raises(ConfigError, match=r"level must lie in \[0, 1\)"):
        hp.optimize(make_mlp(), "photonic", blobs(50), accuracy_floor=0.5, levels=(0.5, 1.2))


def test_val_samples_too_many():
    with pytest.raises(ConfigError, match="val_samples"):
        hp.optimize(make_mlp(), "photonic", blobs(50), accuracy_floor=0.5, val_samples=50)


def test_empty_data():
    with pytest.raises(DataError, match="empty"):
        hp.optimize(make_mlp(), "photonic", (np.zeros((0, 8)), np.zeros(0, np.int64)), accuracy_floor=0.5)


def test_mislabelled_data():
    with pytest.raises(DataError, match="labels must lie in"):
        hp.optimize(make_mlp(), "photonic", (np.zeros((4, 8)), np.array([0, 1, 2, 5])), accuracy_floor=0.5)


def test_not_a_network():
    with pytest.raises(ConfigError, match="trainable"):
        hp.optimize([np.ones((4, 4))], "photonic", blobs(50), accuracy_floor=0.5)


def test_recovery_steps_lower_measured_sensitivity():
    net, data = _tiny_trained()
    cfg = photonic.PhotonicConfig(mesh=photonic.MeshConfig(tile=4))
    kw = dict(metric="tiles", budget=1e9, config=cfg, finetune_epochs=0, batch_size=32, val_samples=200,
              levels=(0.5, 0.75))
    raw = hp.optimize(net, "photonic", data, **kw)
    rec = hp.optimize(net, "photonic", data, recovery_steps=30, **kw)
    assert rec.sensitivity[:, 1:].sum() < raw.sensitivity[:, 1:].sum()
    np.testing.assert_array_equal(rec.layer_costs, raw.layer_costs)


def test_negative_recovery_steps():
    with pytest.raises(ConfigError, match="recovery_steps"):
        hp.optimize(make_mlp(), "photonic", blobs(50), accuracy_floor=0.5, recovery_steps=-1)


def test_optimize_gradual_schedule_reaches_candidate():
    net, data = _tiny_trained()
    cfg = photonic.PhotonicConfig(mesh=photonic.MeshConfig(tile=4))
    base = photonic.cost(photonic.map(net, cfg)).total.tiles
    r = hp.optimize(net, "photonic", data, metric="tiles", budget=base // 2, config=cfg, finetune_epochs=2,
                    batch_size=32, val_samples=200, levels=(0.25, 0.5, 0.75), schedule="gradual")
    assert r.report.total.tiles <= base // 2
    for l, s in zip(r.network.weighted_layers(), r.sparsity):
        assert 1 - l.mask.mean() >= s - 1e-9


def test_unknown_schedule():
    with pytest.raises(ConfigError, match="unknown schedule 'cyclic'"):
        hp.optimize(make_mlp(), "photonic", blobs(50), accuracy_floor=0.5, schedule="cyclic")


def test_sort_hidden_neurons_preserves_function_and_orders_rows():
    from hwsim.nn import Dense, Network, ReLU

    net = Network([Dense(5, 6, "a", seed=1), ReLU(), Dense(6, 4, "b", seed=2), ReLU(), Dense(4, 3, "c", seed=3)],
                  (5,)).astype(np.float64)
    net.weighted_layers()[0].bias[:] = np.arange(6)
    net.set_masks([np.random.default_rng(0).random(l.shape) > 0.3 for l in net.weighted_layers()])
    s = hp.sort_hidden_neurons(net)
    x = np.random.default_rng(1).standard_normal((7, 5))
    np.testing.assert_allclose(s.forward(x), net.forward(x), rtol=1e-12, atol=1e-12)
    for l in s.weighted_layers()[:2]:
        norms = np.linalg.norm(l.effective_weight(), axis=1)
        assert np.all(np.diff(norms) <= 0)
    np.testing.assert_array_equal(s.weighted_layers()[2].weight, net.weighted_layers()[2].weight[:, np.argsort(
        -np.linalg.norm(net.weighted_layers()[1].effective_weight(), axis=1), kind="stable")])
