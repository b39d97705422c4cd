"""Issue 14 methods on tiny problems with checkable answers, and their hyperparameter checks."""
from __future__ import annotations

import numpy as np
import pytest

from hwsim.errors import ConfigError
from hwsim.nn import Conv2d, Dense, Flatten, Network, ReLU
from hwsim.prune import deep_r, dst, grda, gsp, koopman, l0, nest, obs
from hwsim.prune.methods import HYPERPARAMETERS, METHODS, check_hyper, run_method

from conftest import make_dense, make_mlp


# ---- OBS / OBD ----

def _spd(d, seed):
    a = np.random.default_rng(seed).standard_normal((d, d))
    return a @ a.T + 0.5 * np.eye(d)


@pytest.mark.parametrize("seed", range(4))
def test_obs_loss_increase_equals_saliency_on_a_quadratic(seed):
    rng = np.random.default_rng(seed)
    d = 7
    h = _spd(d, seed)
    w_star = rng.standard_normal(d)
    loss = lambda w: 0.5 * (w - w_star) @ h @ (w - w_star)  # noqa: E731  minimum at w_star, loss 0
    h_inv = np.linalg.inv(h)
    sal = obs.obs_saliency(w_star, h_inv)
    for q in range(d):
        w_new = obs.obs_remove(w_star, h_inv, q)
        assert w_new[q] == 0.0
        np.testing.assert_allclose(loss(w_new) - loss(w_star), sal[q], rtol=1e-10)
        # the compensating update is optimal: no other w with w_q = 0 does better (constrained least squares)
        keep = np.arange(d) != q
        best = np.zeros(d)
        best[keep] = np.linalg.solve(h[np.ix_(keep, keep)], h[keep] @ w_star)
        np.testing.assert_allclose(loss(best), sal[q], rtol=1e-9)


def test_obs_layerwise_refit_is_least_squares_and_beats_magnitude():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((400, 12)) @ rng.standard_normal((12, 12))   # correlated inputs
    w = rng.standard_normal((5, 12))
    net = make_dense(w)
    out, info = obs.obs_prune(net, x, sparsity=0.5, damp=1e-8, n_samples=None)
    wp = out.weighted_layers()[0].weight.astype(np.float64)
    mask = out.weighted_layers()[0].mask
    assert info.sparsity == pytest.approx(0.5, abs=1 / 60)
    for r in range(5):  # kept weights = least-squares refit of the row's outputs on the kept inputs
        k = mask[r]
        ls = np.linalg.lstsq(x[:, k], x @ w[r], rcond=None)[0]
        np.testing.assert_allclose(wp[r, k], ls, rtol=1e-5, atol=1e-8)
    same_mask_no_refit = np.where(mask, w, 0.0)
    assert np.sum((x @ (wp - w).T) ** 2) < np.sum((x @ (same_mask_no_refit - w).T) ** 2)


def _brute_fisher(net, x):
    net = net.copy().astype(np.float64)
    layers = net.weighted_layers()
    h = [np.zeros(l.weight.shape) for l in layers]
    from hwsim.nn import softmax, softmax_cross_entropy
    for i in range(len(x)):
        p = softmax(net.forward(x[i:i + 1]))[0]
        for c in range(len(p)):
            net.forward(x[i:i + 1], train=True)
            _, g = softmax_cross_entropy(net.forward(x[i:i + 1], train=True), np.array([c]))
            net.backward(g)
            for k, l in enumerate(layers):
                h[k] += p[c] * l.grad_weight ** 2
    return [a / len(x) for a in h]


@pytest.mark.parametrize("kind", ["mlp", "conv"])
def test_fisher_diagonal_matches_per_sample_brute_force(kind):
    rng = np.random.default_rng(1)
    if kind == "mlp":
        net = make_mlp((6, 5, 3))
        x = rng.standard_normal((9, 6))
    else:
        net = Network([Conv2d(1, 2, 3, name="c1"), ReLU(), Flatten(), Dense(2 * 3 * 3, 3, "fc")], (1, 5, 5)
                      ).astype(np.float64)
        x = rng.standard_normal((7, 1, 5, 5))
    y = rng.integers(0, 3, len(x))
    got = obs.fisher_diagonal(net, (x, y), batch_size=4)
    for a, b in zip(got, _brute_fisher(net, x)):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-14)


def test_obd_prunes_lowest_saliency_and_obs_rejects_zero_damping(tiny_mlp, tiny_data):
    out, info = obs.obd_prune(tiny_mlp, tiny_data, sparsity=0.5)
    sal = obs.obd_scores(tiny_mlp, tiny_data)
    for s, l in zip(sal, out.weighted_layers()):
        assert s[~l.mask].max() <= s[l.mask].min() + 1e-15
    with pytest.raises(ConfigError, match="damp"):
        obs.obs_prune(tiny_mlp, tiny_data, sparsity=0.5, damp=0.0)


# ---- gRDA ----

def test_grda_leaves_exact_zeros_and_follows_the_dual_average(tiny_mlp, tiny_data):
    x, y = tiny_data
    net = tiny_mlp.copy()
    w0 = [l.weight.copy() for l in net.weighted_layers()]
    opt = grda.GRDA(net, lr=0.05, c=0.3, mu=0.6)
    grads_sum = [np.zeros_like(w) for w in w0]
    from hwsim.prune._common import step_loss
    for _ in range(5):
        step_loss(net, x[:64], y[:64])
        for g, l in zip(grads_sum, net.weighted_layers()):
            g += l.grad_weight
        opt.step()
    thr = 0.3 * np.sqrt(0.05) * (5 * 0.05) ** 0.6
    for l, w, g in zip(net.weighted_layers(), w0, grads_sum):
        expect = grda.soft_threshold(w - 0.05 * g, thr)
        np.testing.assert_allclose(l.weight, expect, rtol=1e-12, atol=1e-15)
    zeros = sum(int(np.count_nonzero(l.weight == 0.0)) for l in net.weighted_layers())
    assert zeros > 0
    out, info = grda.grda_train(tiny_mlp, tiny_data, epochs=2, lr=0.05, c=0.3, mu=0.6, batch_size=32)
    for l in out.weighted_layers():
        assert np.array_equal(l.mask, l.weight != 0.0)
    assert 0 < info.sparsity < 1 and info.sparsity == pytest.approx(out.sparsity())


@pytest.mark.parametrize("mu", [0.5, 1.0, 0.2, 1.5, float("nan")])
def test_grda_mu_outside_open_interval_is_refused(tiny_mlp, mu):
    with pytest.raises(ConfigError, match=r"mu must lie in \(0.5, 1\)|mu must be finite"):
        grda.GRDA(tiny_mlp.copy(), mu=mu)


@pytest.mark.parametrize("c", [0.0, -0.1])
def test_grda_c_must_be_positive(tiny_mlp, c):
    with pytest.raises(ConfigError, match="c must be > 0"):
        grda.GRDA(tiny_mlp.copy(), c=c)


# ---- Deep R ----

def test_deep_r_keeps_the_connection_count_exactly_and_signs_fixed(tiny_mlp, tiny_data):
    x, y = tiny_data
    rng = np.random.default_rng(0)
    net = tiny_mlp.copy()
    from hwsim.prune._common import random_masks, step_loss
    from hwsim.nn import SGD
    budgets = [10, 7]
    net.set_masks(random_masks(net, budgets, rng))
    # a strong L1 term makes connections cross zero at almost every step, so rewiring is exercised
    dr = deep_r.DeepR(net, budgets, lr=0.1, alpha=0.5, temperature=1e-3, rng=rng)
    opt = SGD(net, lr=0.1, momentum=0.0)
    for _ in range(30):
        step_loss(net, x[:32], y[:32])
        opt.step()
        dr.step()
        assert dr.counts() == budgets
        for l, s in zip(net.weighted_layers(), dr.signs):
            assert np.all(l.weight[~l.mask] == 0)
            assert np.all(s[l.mask] * l.weight[l.mask] > 0)
    assert dr.rewired > 0
    out, info = deep_r.deep_r_train(tiny_mlp, tiny_data, sparsity=0.75, epochs=2, batch_size=32)
    assert [int(l.mask.sum()) for l in out.weighted_layers()] == [12, 6]


@pytest.mark.parametrize("kw, match", [({"budgets": [-1, 6]}, "budget"), ({"budgets": [0, 6]}, "budget"),
                                       ({"budgets": [12, 25]}, "budget"),
                                       ({"temperature": 0.0}, "temperature"), ({"temperature": -1.0}, "temperature"),
                                       ({"alpha": -1e-5}, "alpha")])
def test_deep_r_bad_hyperparameters(tiny_mlp, kw, match):
    args = {"budgets": [12, 6], "lr": 0.1}
    args.update(kw)
    with pytest.raises(ConfigError, match=match):
        deep_r.DeepR(tiny_mlp.copy(), **args)


# ---- L0 ----

def test_l0_test_gates_are_deterministic_and_prune_exactly(tiny_mlp, tiny_data):
    x, _ = tiny_data
    a, _ = l0.l0_train(tiny_mlp, tiny_data, lam=5.0, epochs=20, batch_size=32, gate_lr=0.2, seed=3)
    b, _ = l0.l0_train(tiny_mlp, tiny_data, lam=5.0, epochs=20, batch_size=32, gate_lr=0.2, seed=3)
    np.testing.assert_array_equal(a.predict(x), a.predict(x))
    np.testing.assert_array_equal(a.predict(x), b.predict(x))
    assert 0 < a.sparsity() < 1
    for l in a.weighted_layers():
        assert np.array_equal(l.mask, l.weight != 0)
    la = np.array([-5.0, -2.4, 0.0, 3.0, 10.0])
    z = l0.test_gates(la)
    assert z[0] == 0.0 and z[-1] == 1.0 and np.all((z >= 0) & (z <= 1))
    np.testing.assert_array_equal(z, l0.test_gates(la))


def test_l0_gate_gradients_match_finite_differences():
    rng = np.random.default_rng(0)
    la = rng.normal(0, 1, 20)
    u = rng.uniform(0.05, 0.95, 20)
    eps = 1e-6
    z, dz = l0.sample_gates(la, u)
    num = (l0.sample_gates(la + eps, u)[0] - l0.sample_gates(la - eps, u)[0]) / (2 * eps)
    inside = (z > 1e-4) & (z < 1 - 1e-4)
    np.testing.assert_allclose(dz[inside], num[inside], rtol=1e-5)
    f, g = l0.expected_l0(la)
    num = np.array([(l0.expected_l0(la + eps * e)[0] - l0.expected_l0(la - eps * e)[0]) / (2 * eps)
                    for e in np.eye(20)])
    np.testing.assert_allclose(g, num, rtol=1e-6)


@pytest.mark.parametrize("kw, match", [({"beta": 0.0}, "beta"), ({"beta": -0.5}, "beta"), ({"lam": -1.0}, "lam"),
                                       ({"droprate_init": 1.0}, "droprate_init"), ({"gamma": 0.1}, "gamma")])
def test_l0_bad_hyperparameters(tiny_mlp, tiny_data, kw, match):
    with pytest.raises(ConfigError, match=match):
        l0.l0_train(tiny_mlp, tiny_data, **kw)


# ---- SET / RigL ----

def test_drop_and_grow_keeps_count_and_grows_by_score():
    w = np.array([[0.5, 0.0, -0.1], [0.0, 2.0, 0.0]])
    m = w != 0
    score = np.array([[0, 5.0, 0], [9.0, 0, 1.0]])
    new, grown = dst.drop_and_grow(w, m, 1, score)
    assert new.sum() == m.sum()
    assert not new[0, 2] and grown[1, 0] and new[1, 0]   # -0.1 dropped, the best dormant (score 9) grown


@pytest.mark.parametrize("regrowth", ["random", "gradient"])
def test_dst_keeps_sparsity_exactly(tiny_mlp, tiny_data, regrowth):
    out, info = dst.dst_train(tiny_mlp, tiny_data, sparsity=0.75, regrowth=regrowth, epochs=3, delta_t=2,
                              batch_size=32)
    assert [int(l.mask.sum()) for l in out.weighted_layers()] == [12, 6]
    assert len(info.history) > 3 and all(s == pytest.approx(0.75) for _, s in info.history)
    assert info.method == ("rigl" if regrowth == "gradient" else "set")


@pytest.mark.parametrize("kw, match", [({"alpha": 1.5}, r"alpha.*\[0, 1\]"), ({"alpha": -0.1}, r"\[0, 1\]"),
                                       ({"t_end": 2.0}, "t_end"), ({"delta_t": 0}, "delta_t"),
                                       ({"regrowth": "momentum"}, "regrowth"), ({"sparsity": 1.0}, "sparsity")])
def test_dst_bad_hyperparameters(tiny_mlp, tiny_data, kw, match):
    args = {"sparsity": 0.5}
    args.update(kw)
    with pytest.raises(ConfigError, match=match):
        dst.dst_train(tiny_mlp, tiny_data, **args)


# ---- GSP / FPGraSP ----

def test_gsp_support_merges_top_2s_gradients():
    g = np.array([0.1, -3.0, 0.2, 2.0, 0.0, 1.0])
    mask = np.array([True, False, False, False, False, False])
    got = gsp.gsp_support(np.zeros(6), g, mask, 1)
    assert got.tolist() == [True, True, False, True, False, False]


def test_gsp_and_fpgrasp_keep_their_budgets(tiny_mlp, tiny_data):
    out, info = gsp.gsp_train(tiny_mlp, tiny_data, sparsity=0.75, epochs=2, inner_steps=3, batch_size=32)
    assert [int(l.mask.sum()) for l in out.weighted_layers()] == [12, 6]
    wide = make_mlp((8, 32, 4))
    out, info = gsp.gsp_train(wide, tiny_data, sparsity=0.75, epochs=8, lr=0.02, inner_steps=5, batch_size=32)
    assert info.method == "gsp" and out.accuracy(*tiny_data) > 0.8 > wide.accuracy(*tiny_data)
    out, info = gsp.gsp_train(tiny_mlp, tiny_data, sparsity=0.5, structure="filter", epochs=2, inner_steps=3,
                              batch_size=32)
    rows = [l.mask.any(axis=1) for l in out.weighted_layers()]
    for l, r in zip(out.weighted_layers(), rows):
        assert np.array_equal(l.mask, np.broadcast_to(r[:, None], l.mask.shape))   # whole rows
    assert [int(r.sum()) for r in rows] == [3, 4]   # class outputs kept
    with pytest.raises(ConfigError, match="inner_steps"):
        gsp.gsp_train(tiny_mlp, tiny_data, sparsity=0.5, inner_steps=0)


# ---- NeST ----

def test_nest_grows_by_gradient_then_prunes_to_target(tiny_mlp, tiny_data):
    w = np.array([[1.0, 0.0, 0.0]])
    m = np.array([[True, False, False]])
    g = np.array([[9.0, -2.0, 0.5]])
    w2, m2 = nest.grow(w, m, g, 1, lr=0.1)
    assert m2.tolist() == [[True, True, False]] and w2[0, 1] == pytest.approx(0.2)
    out, info = nest.nest_train(tiny_mlp, tiny_data, sparsity=0.75, epochs=3, seed_density=0.2,
                                growth_fraction=0.2, batch_size=32)
    assert [int(l.mask.sum()) for l in out.weighted_layers()] == [12, 6]
    assert dict(info.extra)["peak_density"] > 0.25
    with pytest.raises(ConfigError, match=r"grow_share must lie in \(0, 1\)"):
        nest.nest_train(tiny_mlp, tiny_data, sparsity=0.5, epochs=2, grow_share=1.0)
    with pytest.raises(ConfigError, match=r"growth_fraction must lie in \[0, 1\]"):
        nest.nest_train(tiny_mlp, tiny_data, sparsity=0.5, growth_fraction=1.5)


# ---- Koopman ----

def test_koopman_recovers_fixed_point_and_one_step_change_of_a_linear_system():
    rng = np.random.default_rng(0)
    basis = np.linalg.qr(rng.standard_normal((6, 3)))[0]          # 3 modes in 6-D
    lam = np.array([1.0, 0.6, 0.85])
    coef = np.array([2.0, -1.0, 0.5])
    snaps = np.stack([basis @ (coef * lam ** t) for t in range(8)], axis=1)
    fixed = basis[:, 0] * coef[0]
    np.testing.assert_allclose(koopman.koopman_scores(snaps, "magnitude"), np.abs(fixed), atol=1e-9)
    m = snaps.shape[1] - 1
    step = basis @ (coef * lam ** m * (lam - 1))
    np.testing.assert_allclose(koopman.koopman_scores(snaps, "gradient"), np.abs(step), atol=1e-9)


def test_koopman_prune_reaches_target(tiny_mlp, tiny_data):
    out, info = koopman.koopman_prune(tiny_mlp, tiny_data, sparsity=0.5, epochs=2, snapshots=4, snapshot_every=2,
                                      batch_size=32)
    assert out.sparsity() == pytest.approx(0.5, abs=0.02)
    with pytest.raises(ConfigError, match="snapshots"):
        koopman.koopman_prune(tiny_mlp, tiny_data, sparsity=0.5, snapshots=2)
    with pytest.raises(ConfigError, match="scope must be one of global, layer"):
        koopman.koopman_prune(tiny_mlp, tiny_data, sparsity=0.5, scope="network")


def test_koopman_global_scope_is_one_ranking_over_all_weights(tiny_mlp, tiny_data):
    """scope="global" (the paper's KoopGlobalMagWeight) = one DMD over the concatenated weights, ranked across
    layers: its masks keep the weights that the global ranking of the concatenated-snapshot scores keeps."""
    kw = dict(sparsity=0.6, epochs=1, snapshots=4, snapshot_every=2, batch_size=32)
    glob, _ = koopman.koopman_prune(tiny_mlp, tiny_data, scope="global", **kw)
    per, _ = koopman.koopman_prune(tiny_mlp, tiny_data, scope="layer", **kw)
    assert glob.sparsity() == pytest.approx(0.6, abs=0.02) and per.sparsity() == pytest.approx(0.6, abs=0.02)
    per_layer = [1 - l.mask.mean() for l in per.weighted_layers()]
    assert max(per_layer) - min(per_layer) < 0.05  # the same target in every layer
    assert [l.mask.tolist() for l in glob.weighted_layers()] != [l.mask.tolist() for l in per.weighted_layers()]


# ---- registry ----

def test_registry_refuses_hyperparameters_of_other_methods():
    with pytest.raises(ConfigError, match="'mu' does not apply to method 'rigl'"):
        check_hyper("rigl", {"mu": 0.7})
    with pytest.raises(ConfigError, match="unknown pruning method"):
        check_hyper("grasp", {})
    assert {m for h in HYPERPARAMETERS for m in h.methods} <= set(METHODS)


@pytest.mark.parametrize("name", list(METHODS))
def test_every_method_runs_and_is_seeded(name, tiny_mlp, tiny_data):
    kw = {"sparsity": 0.5, "epochs": 2, "batch_size": 32, "seed": 1}
    if name.startswith("koopman"):
        kw.update(snapshots=3, snapshot_every=2)
    a, ia = run_method(name, tiny_mlp, tiny_data, **kw)
    b, _ = run_method(name, tiny_mlp, tiny_data, **kw)
    for la, lb in zip(a.weighted_layers(), b.weighted_layers()):
        np.testing.assert_array_equal(la.weight, lb.weight)
    if name in ("nest", "fpgrasp"):   # NeST may not grow back to the budget; FPGraSP keeps the class outputs
        assert 0.3 <= ia.sparsity <= 0.75
    elif METHODS[name].sets_sparsity:
        assert ia.sparsity == pytest.approx(0.5, abs=0.05)
