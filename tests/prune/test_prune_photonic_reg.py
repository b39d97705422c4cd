"""Heater-power regulariser in phase fine-tuning and CHAMP-style regularised phase pruning."""
import math

import numpy as np
import pytest
from conftest import blobs, make_mlp

photonic = pytest.importorskip("hwsim.photonic")
from hwsim.errors import ConfigError  # noqa: E402
from hwsim.photonic import MeshConfig, PhotonicConfig  # noqa: E402
from hwsim.prune import photonic_phases as pp  # noqa: E402

CFG = PhotonicConfig(mesh=MeshConfig(tile=4))


def _heaters_on(m):
    return sum(int(np.count_nonzero(l.phases)) for l in m.layers)


def test_finetune_with_power_reg_lowers_heater_power_and_keeps_off_heaters_off():
    net, (x, y) = make_mlp((8, 8, 4)), blobs(256)
    m = photonic.prune_phases(photonic.map(net, CFG), threshold=0.3)
    off = [l.phases == 0 for l in m.layers]
    plain = pp.finetune_phases(m, (x, y), epochs=3, lr=1e-2, batch_size=32)
    reg = pp.finetune_phases(m, (x, y), epochs=3, lr=1e-2, batch_size=32, power_reg=1.0)
    pen = lambda mp: sum(photonic.power_penalty(l.phases, "wrapped")[0] for l in mp.layers)  # noqa: E731
    assert pen(reg) < pen(plain) - 1.0
    for o, l in zip(off, reg.layers):
        assert np.all(l.phases[o] == 0.0)
        assert np.all((l.phases >= 0) & (l.phases < 2 * math.pi))


@pytest.mark.parametrize("bad", [-1.0, float("nan")])
def test_finetune_bad_power_reg(bad):
    m = photonic.map(make_mlp((8, 8, 4)), CFG)
    with pytest.raises(ConfigError, match="power_reg"):
        pp.finetune_phases(m, blobs(64), power_reg=bad)


def test_finetune_unknown_reg_kind():
    m = photonic.map(make_mlp((8, 8, 4)), CFG)
    with pytest.raises(ConfigError, match="unknown power regulariser"):
        pp.finetune_phases(m, blobs(64), power_reg=1.0, reg_kind="l2")


def test_regularized_phase_pruning_switches_heaters_off_round_by_round():
    net, (x, y) = make_mlp((8, 8, 4)), blobs(256)
    m = photonic.map(net, CFG)
    seen = []
    out = pp.regularized_phase_pruning(m, (x, y), power_reg=1.0, rounds=2, threshold=0.2, steps=20, lr=2e-2,
                                       final_steps=5, batch_size=32, callback=lambda i, mp: seen.append(i))
    assert seen == [0, 1, 2] and len(out) == 3
    on = [_heaters_on(s) for s in out]
    assert on[0] < _heaters_on(m) and on[1] <= on[0] and on[2] == on[1]  # final fine-tuning prunes nothing
    for s in out[:2]:  # right after pruning, nothing is left within the threshold of 0
        for l in s.layers:
            w = pp.wrapped(l.phases)
            assert np.all((l.phases == 0) | (w > 0.2))
    assert photonic.cost(out[-1]).total.static_power_w < photonic.cost(m).total.static_power_w


@pytest.mark.parametrize("kw, match", [({"rounds": 0}, "rounds"), ({"threshold": 4.0}, "threshold")])
def test_regularized_phase_pruning_bad_args(kw, match):
    m = photonic.map(make_mlp((8, 8, 4)), CFG)
    with pytest.raises(ConfigError, match=match):
        pp.regularized_phase_pruning(m, blobs(64), power_reg=1.0, **kw)


def _kl_to_teacher(mp, teacher, x):
    from hwsim.nn import distillation_loss

    net = pp._network_for(mp)
    for l, lm in zip(net.weighted_layers(), mp.layers):
        l.weight = photonic.layer_matrix(lm)
    return distillation_loss(net.forward(x), teacher.forward(x), 2.0)[0]


def test_distillation_pulls_the_pruned_mesh_toward_the_teacher():
    """kd_weight = 1: the fine-tuned meshes match the dense teacher's soft outputs better than with labels only."""
    net, (x, y) = make_mlp((8, 8, 4)), blobs(256)
    m = photonic.prune_phases(photonic.map(net, CFG), threshold=0.6)
    kw = dict(epochs=4, lr=1e-2, batch_size=32, seed=1)
    plain = pp.finetune_phases(m, (x, y), **kw)
    kd = pp.finetune_phases(m, (x, y), teacher=net, kd_weight=1.0, kd_temperature=2.0, **kw)
    assert _kl_to_teacher(kd, net, x) < 0.8 * _kl_to_teacher(plain, net, x)
    for o, l in zip([l.phases == 0 for l in m.layers], kd.layers):
        assert np.all(l.phases[o] == 0.0)


@pytest.mark.parametrize("kw, match", [({"kd_weight": 0.5}, "needs a teacher"), ({"kd_weight": 1.5}, "kd_weight"),
                                       ({"kd_temperature": 0.0}, "kd_temperature")])
def test_finetune_bad_distillation_args(kw, match):
    m = photonic.map(make_mlp((8, 8, 4)), CFG)
    with pytest.raises(ConfigError, match=match):
        pp.finetune_phases(m, blobs(64), **kw)


def test_finetune_teacher_of_the_wrong_shape():
    m = photonic.map(make_mlp((8, 8, 4)), CFG)
    with pytest.raises(ConfigError, match="teacher"):
        pp.finetune_phases(m, blobs(64), teacher=make_mlp((8, 8, 3)), kd_weight=0.5)
