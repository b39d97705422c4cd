"""Schedules and io: pruned weights stay exactly 0 through fine-tuning, Zhu-Gupta targets, rewinding, npz files."""
import numpy as np
import pytest
from conftest import blobs, make_mlp

import hwsim.prune as hp
from hwsim.errors import ConfigError, DataError
from hwsim.weights_io import read_weights


def _pruned_stay_zero(net, masks):
    for l, m in zip(net.weighted_layers(), masks):
        np.testing.assert_array_equal(l.mask, m)
        assert np.all(l.weight[~m] == 0.0)


def test_prune_returns_copy_and_keeps_original():
    net = make_mlp()
    before = [l.weight.copy() for l in net.weighted_layers()]
    p = hp.prune(net, criterion="magnitude", sparsity=0.5)
    assert all(l.mask.all() for l in net.weighted_layers())
    for a, l in zip(before, net.weighted_layers()):
        np.testing.assert_array_equal(a, l.weight)
    assert p.sparsity() == pytest.approx(0.5, abs=0.02)


def test_one_shot_finetune_keeps_pruned_weights_exactly_zero():
    net, data = make_mlp(), blobs(300)
    p0 = hp.prune(net, data, criterion="taylor", sparsity=0.6, scope="global")
    masks = p0.masks()
    p = hp.one_shot(net, data, criterion="taylor", sparsity=0.6, scope="global", finetune_epochs=5, lr=1e-2,
                    batch_size=16)
    _pruned_stay_zero(p, masks)
    assert p.accuracy(*data) > 0.8  # it trained (blobs are separable)
    assert any(not np.array_equal(a.weight, b.weight) for a, b in zip(p.weighted_layers(), p0.weighted_layers()))


def test_one_shot_is_deterministic():
    net, data = make_mlp(), blobs(100)
    a = hp.one_shot(net, data, criterion="random", sparsity=0.5, finetune_epochs=1, seed=5)
    b = hp.one_shot(net, data, criterion="random", sparsity=0.5, finetune_epochs=1, seed=5)
    for u, v in zip(a.weighted_layers(), b.weighted_layers()):
        np.testing.assert_array_equal(u.weight, v.weight)


def test_zhu_gupta_hand_values():
    assert hp.zhu_gupta_sparsity(0, 0.0, 0.8, 0, 10, 100) == 0.0
    assert hp.zhu_gupta_sparsity(500, 0.0, 0.8, 0, 10, 100) == pytest.approx(0.8 - 0.8 * 0.5 ** 3)  # 0.7
    assert hp.zhu_gupta_sparsity(1000, 0.0, 0.8, 0, 10, 100) == pytest.approx(0.8)
    assert hp.zhu_gupta_sparsity(5000, 0.2, 0.8, 0, 10, 100) == pytest.approx(0.8)


def test_gradual_follows_the_cubic_schedule_and_masks_only_grow():
    net, data = make_mlp(), blobs(320)
    p, events = hp.gradual(net, data, final_sparsity=0.7, epochs=4, batch_size=32, frequency=5, ramp_fraction=0.5)
    targets = [e.target_sparsity for e in events]
    assert targets[0] == 0.0 and targets[-1] == pytest.approx(0.7)
    assert all(b >= a for a, b in zip(targets, targets[1:]))
    # 40 steps, ramp 20 = 4 events of 5 steps: s at t = 5 is 0.7 (1 - (1 - 1/4)^3)
    assert targets[1] == pytest.approx(0.7 * (1 - 0.75 ** 3))
    assert p.sparsity() == pytest.approx(0.7, abs=0.03)
    for e in events:
        assert e.sparsity == pytest.approx(e.target_sparsity, abs=0.03)
    _pruned_stay_zero(p, p.masks())


def test_gradual_masks_fixed_between_events():
    net, data = make_mlp(), blobs(320)
    p, events = hp.gradual(net, data, final_sparsity=0.5, epochs=3, batch_size=32, frequency=4, ramp_fraction=0.3,
                           criterion="gradient", score_samples=50)
    m = p.masks()
    q = hp.finetune(p, data, epochs=2, lr=1e-2)
    _pruned_stay_zero(q, m)


def test_iterative_magnitude_rewinds_to_initial_weights():
    net, data = make_mlp(), blobs(160)
    p, events = hp.iterative_magnitude(net, data, final_sparsity=0.75, rounds=2, epochs_per_round=1, batch_size=32,
                                       final_epochs=0, rewind_step=0)
    assert [e.target_sparsity for e in events] == pytest.approx([0.5, 0.75])
    assert p.sparsity() == pytest.approx(0.75, abs=0.01)
    for a, b in zip(p.weighted_layers(), net.weighted_layers()):  # the winning ticket: original init, masked
        np.testing.assert_array_equal(a.weight[a.mask], b.weight[a.mask])
        assert np.all(a.weight[~a.mask] == 0)


def test_iterative_magnitude_late_rewinding_and_training():
    net, data = make_mlp(), blobs(160)
    p, _ = hp.iterative_magnitude(net, data, final_sparsity=0.5, rounds=1, epochs_per_round=1, batch_size=32,
                                  final_epochs=0, rewind_step=2)
    kept = p.weighted_layers()[0].mask
    assert not np.array_equal(p.weighted_layers()[0].weight[kept], net.weighted_layers()[0].weight[kept])
    q, _ = hp.iterative_magnitude(net, data, final_sparsity=0.5, rounds=2, epochs_per_round=1, batch_size=32,
                                  final_epochs=2)
    _pruned_stay_zero(q, q.masks())


def test_structured_schedules():
    net, data = make_mlp(), blobs(100)
    p = hp.one_shot(net, data, criterion="l2", sparsity=0.5, structure="neuron", finetune_epochs=1)
    w = p.weighted_layers()[0].mask
    assert set(w.all(axis=1)) | set(~w.any(axis=1)) == {True, False} or w.all()
    assert all(r.all() or not r.any() for r in w)
    p = hp.prune(net, criterion="magnitude", structure="nm", n=1, m=2)
    assert p.sparsity() == pytest.approx(0.5)


def test_save_load_roundtrip_and_cost_cli_format(tmp_path):
    net = hp.prune(make_mlp(), criterion="magnitude", sparsity=0.8)
    path = hp.save(net, tmp_path / "p.npz")
    wf = read_weights(path)
    assert [k for k, _ in wf.weights] == ["fc1", "fc2"]
    for (k, w), l in zip(wf.weights, net.weighted_layers()):
        np.testing.assert_array_equal(w, l.effective_weight())
        np.testing.assert_array_equal(wf.masks[k], l.mask)
    back = hp.load(make_mlp(seed=9), path)
    for a, b in zip(back.weighted_layers(), net.weighted_layers()):
        np.testing.assert_array_equal(a.weight, b.weight)
        np.testing.assert_array_equal(a.mask, b.mask)
        np.testing.assert_array_equal(a.bias, b.bias)
    for m, l in zip(hp.load_masks(path), net.weighted_layers()):
        np.testing.assert_array_equal(m, l.mask)


def test_load_masks_from_bare_weights(tmp_path):
    w = np.array([[0.0, 1.0], [2.0, 0.0]])
    np.savez(tmp_path / "w.npz", a=w)
    (m,) = hp.load_masks(tmp_path / "w.npz")
    np.testing.assert_array_equal(m, w != 0)


# ---- bad input ---------------------------------------------------------------------------------------------------
def test_apply_masks_wrong_shape():
    with pytest.raises(ConfigError, match=r"mask 1 has shape \(3, 3\)"):
        hp.apply_masks(make_mlp(), [np.ones((6, 8), bool), np.ones((3, 3), bool)])


def test_apply_masks_wrong_count():
    with pytest.raises(ConfigError, match="got 1 masks for 2 layers"):
        hp.apply_masks(make_mlp(), [np.ones((6, 8), bool)])


def test_save_needs_npz(tmp_path):
    with pytest.raises(ConfigError, match=".npz"):
        hp.save(make_mlp(), tmp_path / "p.pt")


def test_load_wrong_architecture(tmp_path):
    path = hp.save(make_mlp(), tmp_path / "p.npz")
    with pytest.raises(DataError, match="shape"):
        hp.load(make_mlp((8, 5, 4)), path)


def test_one_shot_unknown_criterion():
    with pytest.raises(ConfigError, match="unknown criterion"):
        hp.one_shot(make_mlp(), blobs(10), criterion="lottery", sparsity=0.5)


def test_one_shot_negative_epochs():
    with pytest.raises(ConfigError, match="finetune_epochs"):
        hp.one_shot(make_mlp(), blobs(10), sparsity=0.5, finetune_epochs=-1)


def test_finetune_empty_data():
    with pytest.raises(DataError, match="empty"):
        hp.finetune(make_mlp(), (np.zeros((0, 8)), np.zeros(0, np.int64)))


def test_finetune_mislabelled_data():
    with pytest.raises(DataError, match="labels must lie in"):
        hp.finetune(make_mlp(), (np.zeros((2, 8)), np.array([0, 7])))


def test_gradual_bad_final_sparsity():
    with pytest.raises(ConfigError, match="final_sparsity must lie in"):
        hp.gradual(make_mlp(), blobs(10), final_sparsity=1.0)


def test_gradual_initial_above_final():
    with pytest.raises(ConfigError, match="exceeds"):
        hp.gradual(make_mlp(), blobs(10), final_sparsity=0.3, initial_sparsity=0.5)


def test_gradual_bad_ramp():
    with pytest.raises(ConfigError, match="ramp_fraction"):
        hp.gradual(make_mlp(), blobs(10), final_sparsity=0.3, ramp_fraction=0.0)


def test_gradual_unknown_criterion():
    with pytest.raises(ConfigError, match="unknown criterion"):
        hp.gradual(make_mlp(), blobs(10), final_sparsity=0.3, criterion="nope")


def test_imp_bad_rounds():
    with pytest.raises(ConfigError, match="rounds"):
        hp.iterative_magnitude(make_mlp(), blobs(10), final_sparsity=0.5, rounds=0)


def test_imp_rewind_beyond_round():
    with pytest.raises(ConfigError, match="rewind_step"):
        hp.iterative_magnitude(make_mlp(), blobs(10), final_sparsity=0.5, rewind_step=10**6)


def test_imp_negative_sparsity():
    with pytest.raises(ConfigError, match="final_sparsity must lie in"):
        hp.iterative_magnitude(make_mlp(), blobs(10), final_sparsity=-0.5)


def test_gradual_per_layer_targets():
    net, data = make_mlp(), blobs(320)
    p, events = hp.gradual(net, data, final_sparsity=[0.75, 0.25], epochs=2, batch_size=32, frequency=4,
                           ramp_fraction=0.5)
    s = [1 - l.mask.mean() for l in p.weighted_layers()]
    assert s[0] == pytest.approx(0.75, abs=0.03) and s[1] == pytest.approx(0.25, abs=0.05)
    assert events[-1].target_sparsity == pytest.approx((0.75 * 48 + 0.25 * 24) / 72)


def test_gradual_per_layer_wrong_count():
    with pytest.raises(ConfigError, match="got 3 final sparsities for 2"):
        hp.gradual(make_mlp(), blobs(10), final_sparsity=[0.5, 0.5, 0.5])


def test_gradual_per_layer_needs_layer_scope():
    with pytest.raises(ConfigError, match="scope='layer'"):
        hp.gradual(make_mlp(), blobs(10), final_sparsity=[0.5, 0.5], scope="global")


def test_distillation_gradient_hand_case():
    # one sample, student = teacher: the KD term vanishes and only (1 - alpha) CE remains
    from conftest import make_dense

    net = make_dense([[1.0, 0.0], [0.0, 0.5]])
    x, y = np.array([[1.0, 2.0]]), np.array([0])
    s = make_dense([[1.0, 0.0], [0.0, 0.5]])
    hp.finetune(s, (x, y), epochs=1, lr=0.1, batch_size=1, cosine=False, teacher=net, alpha=1.0)
    np.testing.assert_allclose(s.weighted_layers()[0].weight, net.weighted_layers()[0].weight)  # zero gradient
    s2 = make_dense([[1.0, 0.0], [0.0, 0.5]])
    hp.finetune(s2, (x, y), epochs=1, lr=0.1, batch_size=1, cosine=False, teacher=net, alpha=0.0)
    assert not np.allclose(s2.weighted_layers()[0].weight, net.weighted_layers()[0].weight)


def test_distillation_keeps_pruned_weights_zero():
    net, data = make_mlp(), blobs(200)
    p = hp.one_shot(net, data, criterion="magnitude", sparsity=0.7, finetune_epochs=2, distill=True, batch_size=16)
    m = hp.prune(net, criterion="magnitude", sparsity=0.7).masks()
    _pruned_stay_zero(p, m)


def test_distillation_bad_alpha():
    net, data = make_mlp(), blobs(20)
    with pytest.raises(ConfigError, match="alpha"):
        hp.finetune(net.copy(), data, teacher=net, alpha=1.5)
