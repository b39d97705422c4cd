"""Decomposition / reconstruction kernels against hand cases, the numpy oracle and random unitaries."""
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from hwsim.errors import ConfigError, MappingError
from hwsim.photonic import MeshPhases, decompose, haar_unitary, mesh_depth, mesh_layout, reconstruct
from hwsim.photonic import _reference as R

MESHES = ("clements", "reck")


def phase_dist(a, b):
    return float(np.max(np.abs(np.angle(np.exp(1j * (np.asarray(a) - np.asarray(b))))))) if np.size(a) else 0.0


@pytest.mark.parametrize("mesh", MESHES)
@pytest.mark.parametrize("n", [2, 3, 4, 5, 7, 8, 16, 31, 32, 64])
def test_haar_round_trip(mesh, n):
    u = haar_unitary(n, 3, seed=n)
    p = decompose(u, mesh)
    assert np.max(np.abs(reconstruct(p) - u)) <= 1e-12
    for a in (p.theta, p.phi, p.screen):
        assert a.min() >= 0.0 and a.max() < 2 * math.pi
    assert np.all(p.theta <= math.pi + 1e-15)  # theta = 2 atan2(.,.) in [0, pi]


@pytest.mark.parametrize("mesh", MESHES)
@pytest.mark.parametrize("n", [2, 5, 12])
def test_special_matrices_round_trip(mesh, n):
    rng = np.random.default_rng(n)
    perm = np.eye(n)[rng.permutation(n)]
    diag = np.diag(np.exp(1j * rng.uniform(0, 2 * np.pi, n)))
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    for u in (np.eye(n), perm, diag, q, -np.eye(n), np.eye(n)[::-1]):
        p = decompose(u, mesh)
        assert np.max(np.abs(reconstruct(p) - u)) <= 1e-12


@pytest.mark.parametrize("mesh", MESHES)
def test_identity_is_deterministic_and_real_path_matches_complex(mesh):
    n = 6
    a = decompose(np.eye(n), mesh)
    b = decompose(np.eye(n), mesh)
    assert np.array_equal(a.theta, b.theta) and np.array_equal(a.phi, b.phi) and np.array_equal(a.screen, b.screen)
    q, _ = np.linalg.qr(np.random.default_rng(1).standard_normal((5, n, n)))
    pr = decompose(q, mesh)
    pc = decompose(q.astype(np.complex128), mesh)
    assert phase_dist(pr.theta, pc.theta) < 1e-12
    assert phase_dist(pr.phi, pc.phi) < 1e-12
    assert phase_dist(pr.screen, pc.screen) < 1e-12


def test_hand_two_mode_mzi():
    # theta = pi: bar state, M = -diag(e^{i phi}, -1); theta = 0: cross state, M = i [[0, 1], [e^{i phi}, 0]]
    for theta, phi, screen in ((math.pi, 0.3, (0.0, 0.0)), (0.0, 1.1, (0.2, 0.0)), (math.pi / 2, 0.0, (0.0, 0.0))):
        p = MeshPhases("clements", 2, np.array([theta]), np.array([phi]), np.array(screen))
        s, c = math.sin(theta / 2), math.cos(theta / 2)
        m = 1j * np.exp(1j * theta / 2) * np.array([[np.exp(1j * phi) * s, c], [np.exp(1j * phi) * c, -s]])
        expected = np.diag(np.exp(1j * np.array(screen))) @ m
        assert np.allclose(reconstruct(p), expected, atol=1e-15)
        # the physical device B diag(e^{i theta},1) B diag(e^{i phi},1) gives the same matrix
        assert np.allclose(R.mzi(theta, phi), m, atol=1e-15)


@pytest.mark.parametrize("mesh", MESHES)
def test_decompose_matches_oracle(mesh):
    for n in (2, 3, 6, 9):
        u = haar_unitary(n, 1, seed=100 + n)[0]
        th, ph, sc = R.decompose(u, mesh)
        p = decompose(u, mesh)
        assert phase_dist(th, p.theta) < 1e-10
        assert phase_dist(ph, p.phi) < 1e-10
        assert phase_dist(sc, p.screen) < 1e-10


@pytest.mark.parametrize("mesh", MESHES)
def test_reconstruct_matches_oracle_for_arbitrary_phases(mesh):
    rng = np.random.default_rng(7)
    n = 6
    m = n * (n - 1) // 2
    th, ph, sc = rng.uniform(-7, 7, (3, m)), rng.uniform(-7, 7, (3, m)), rng.uniform(-7, 7, (3, n))
    got = reconstruct(MeshPhases(mesh, n, th, ph, sc))
    for i in range(3):
        assert np.allclose(got[i], R.reconstruct(th[i], ph[i], sc[i], mesh), atol=1e-13)


def test_layout_depth_and_counts():
    for n in (2, 3, 8, 16):
        for mesh in MESHES:
            modes, cols = mesh_layout(n, mesh)
            assert modes.shape == (n * (n - 1) // 2,)
            assert modes.min() >= 0 and modes.max() <= n - 2
        assert mesh_depth(n, "clements") == (n if n > 2 else 1)
        assert mesh_depth(n, "reck") == max(1, 2 * n - 3)


def test_batched_shapes():
    u = haar_unitary(4, 6, seed=3).reshape(2, 3, 4, 4)
    p = decompose(u)
    assert p.theta.shape == (2, 3, 6) and p.screen.shape == (2, 3, 4)
    assert reconstruct(p).shape == (2, 3, 4, 4)
    assert np.max(np.abs(reconstruct(p) - u)) < 1e-13


@settings(max_examples=40, deadline=None)
@given(n=st.integers(2, 12), seed=st.integers(0, 2**32 - 1), mesh=st.sampled_from(MESHES))
def test_property_random_unitary_round_trip(n, seed, mesh):
    u = haar_unitary(n, 1, seed)[0]
    p = decompose(u, mesh)
    assert np.max(np.abs(reconstruct(p) - u)) <= 1e-12
    assert p.phi.min() >= 0 and p.phi.max() < 2 * math.pi and p.screen.max() < 2 * math.pi


# ---- bad input: one pytest.raises per case ---------------------------------------------------------------
def test_non_unitary_says_how_far():
    with pytest.raises(MappingError, match=r"not unitary.*distance 0\.5"):
        decompose(np.diag([1.0, 1.0, 0.5]))


def test_non_square():
    with pytest.raises(MappingError, match="square"):
        decompose(np.zeros((3, 4)))


def test_nan():
    u = np.eye(3)
    u[0, 1] = np.nan
    with pytest.raises(MappingError, match="NaN"):
        decompose(u)


def test_inf():
    u = np.eye(3, dtype=complex)
    u[2, 2] = np.inf
    with pytest.raises(MappingError, match="NaN or inf"):
        decompose(u)


def test_too_small():
    with pytest.raises(MappingError, match="at least 2"):
        decompose(np.eye(1))


def test_unknown_mesh():
    with pytest.raises(ConfigError, match="unknown mesh"):
        decompose(np.eye(2), "hexagonal")


def test_layout_needs_two_modes():
    with pytest.raises(ConfigError, match="n >= 2"):
        mesh_layout(1)


def test_reconstruct_bad_shapes():
    with pytest.raises(MappingError, match="do not fit"):
        reconstruct(MeshPhases("clements", 3, np.zeros(2), np.zeros(3), np.zeros(3)))


def test_reconstruct_nan_phase():
    with pytest.raises(MappingError, match="theta holds NaN"):
        reconstruct(MeshPhases("clements", 2, np.array([np.nan]), np.zeros(1), np.zeros(2)))


# ---- lane-batched kernels (LANES tiles per SIMD step) against the per-tile kernels ----------------------------
def _lane_inputs(n, t, seed):
    rng = np.random.default_rng(seed)
    u = haar_unitary(n, t, seed)
    q, _ = np.linalg.qr(rng.standard_normal((t, n, n)))
    # corner cases: identity, anti-diagonal, sign-flipped permutation, diagonal phases, exact zeros to null
    specials_c = [np.eye(n), np.eye(n)[::-1], -np.eye(n)[rng.permutation(n)], np.diag(np.exp(1j * rng.uniform(0, 7, n)))]
    specials_r = [np.eye(n), np.eye(n)[::-1], -np.eye(n)[rng.permutation(n)], np.diag(rng.choice([-1.0, 1.0], n))]
    for i, s in enumerate(specials_c[:t]):
        u[i] = s
    for i, s in enumerate(specials_r[:t]):
        q[i] = s
    return u, q


@pytest.mark.parametrize("mesh", MESHES)
@pytest.mark.parametrize("n,t", [(2, 1), (3, 5), (5, 33), (16, 70), (17, 31), (32, 40)])
def test_lane_kernels_match_per_tile_kernels(mesh, n, t):
    """Same updates in the same order and the same trigonometry (the complex kernels' branch-free atan2 / sincos
    per tile too, since issue 16): decompositions bit-identical; reconstructions too, except that a lane block
    holding a phase beyond the branch-free range takes libm's sin / cos for all its tiles (within 1e-14 n)."""
    from hwsim.photonic import _kernels_common as KC, _kernels_decompose as KD, _kernels_lanes as KL

    modes, _ = mesh_layout(n, mesh)
    code = KC.MESH_CLEMENTS if mesh == "clements" else KC.MESH_RECK
    m = n * (n - 1) // 2
    u, q = _lane_inputs(n, t, seed=n * 1000 + t)
    for x, imag in ((u, True), (q, None)):
        outs = []
        for fn in (KD.decompose, KL.decompose_lanes):
            res = (np.empty((t, m)), np.empty((t, m)), np.empty((t, n)), np.empty(t))
            fn(x, modes, code, *res, 3, imag)
            outs.append(res)
        for a, b in zip(outs[0], outs[1]):
            assert np.array_equal(a, b)
        for a, b in zip(outs[0][:3], outs[1][:3]):
            assert phase_dist(a, b) <= 1e-13
            assert np.array_equal(a == 0.0, b == 0.0)
            assert b.min() >= 0.0 and b.max() < 2 * math.pi
        assert np.allclose(outs[0][3], outs[1][3], rtol=0, atol=1e-14)
    rng = np.random.default_rng(t)
    th, ph, sc = rng.uniform(-7, 7, (t, m)), rng.uniform(-7, 7, (t, m)), rng.uniform(-7, 7, (t, n))
    if t > 3:
        th[3, 0] = 1e9  # beyond the branch-free sincos range: that block falls back to libm
    a = np.empty((t, n, n), dtype=np.complex128)
    b = np.empty_like(a)
    KD.reconstruct(th, ph, sc, modes, a, 3)
    KL.reconstruct_lanes(th, ph, sc, modes, b, 3)
    assert np.max(np.abs(a - b)) <= 1e-14 * n
    if t <= 3:  # no huge phase: bit-identical
        assert np.array_equal(a, b)


def test_branch_free_trig_matches_libm():
    from numba import njit

    from hwsim.photonic import _kernels_common as KC

    @njit
    def at(y, x, out):
        for i in range(y.shape[0]):
            out[i] = KC._atan2v(y[i], x[i])

    @njit
    def sc(x, s, c):
        for i in range(x.shape[0]):
            s[i], c[i] = KC._sincos(x[i])

    rng = np.random.default_rng(11)
    edge = [0.0, -0.0, 1.0, -1.0, 1e-310, -1e-310, 1e300, np.inf]
    ey, ex = np.meshgrid(edge, edge)
    y = np.concatenate([rng.standard_normal(20000), ey.ravel(), rng.uniform(-1, 1, 2000) * 1e-200])
    x = np.concatenate([rng.standard_normal(20000), ex.ravel(), rng.uniform(-1, 1, 2000)])
    y[:2000] = np.abs(x[:2000]) * rng.choice([-1.0, 1.0], 2000)  # |y| = |x|: the pi/4 diagonals
    ok = np.isfinite(x) & np.isfinite(y) | (np.abs(x) != np.abs(y))
    got = np.empty_like(y)
    at(y, x, got)
    ref = np.arctan2(y, x)
    assert np.max(np.abs(got - ref)[ok]) <= 4.5e-16
    assert np.array_equal(np.signbit(got[ok]), np.signbit(ref[ok]))
    xs = np.concatenate([rng.uniform(-30, 30, 20000), rng.uniform(-1e6, 1e6, 2000), np.arange(-64, 65) * math.pi / 4,
                         [0.0, -0.0, 1e-300, KC.SINCOS_MAX_ARG]])
    s = np.empty_like(xs)
    c = np.empty_like(xs)
    sc(xs, s, c)
    small = np.abs(xs) <= 30
    assert np.max(np.abs(s - np.sin(xs))[small]) <= 2.3e-16 and np.max(np.abs(c - np.cos(xs))[small]) <= 2.3e-16
    assert np.max(np.abs(s - np.sin(xs))) <= 1e-15 and np.max(np.abs(c - np.cos(xs))) <= 1e-15


# ---- single calls vs batches (issue 16) ----------------------------------------------------------------------
@pytest.mark.parametrize("mesh", MESHES)
@pytest.mark.parametrize("n", [4, 16, 31])
def test_single_calls_equal_the_batched_call(mesh, n):
    """One tile at a time (per-tile kernel, calling thread) and a stack (lane kernel, threads): the same nulling
    and the same branch-free trigonometry, so the same bits; the real path (the mapper's) likewise."""
    from hwsim.photonic import mesh as M

    u = haar_unitary(n, 40, seed=n)
    assert M._use_lanes(40, n) and not M._use_lanes(1, n)
    q = np.linalg.qr(np.random.default_rng(n).standard_normal((40, n, n)))[0]
    for x in (u, q):
        batched = decompose(x, mesh)
        rec = reconstruct(batched)
        for i in (0, 17, 39):
            one = decompose(x[i], mesh)
            for name in ("theta", "phi", "screen"):
                assert np.array_equal(getattr(one, name), getattr(batched, name)[i])
            assert np.array_equal(reconstruct(one), rec[i])


def test_nan_in_a_batch():
    u = np.broadcast_to(np.eye(3), (40, 3, 3)).copy()
    u[7, 0, 1] = np.inf
    with pytest.raises(MappingError, match="NaN or inf"):
        decompose(u)
    with pytest.raises(MappingError, match="NaN or inf"):
        decompose(u[6:9])


def test_single_calls_have_no_lane_cliff():
    """A single call never costs more than a larger size's (issue 16: a lone 32 x 32 tile once ran a whole
    32-lane block, 10x a 33 x 33 call). Work is counted (no single call takes the lane kernels), and best-of-k
    times of N = 31, 32, 33, 64 must be monotone within a generous factor 2 (the cliff was 10x)."""
    import time

    from hwsim.photonic import mesh as M

    assert not any(M._use_lanes(1, n) for n in range(2, 65))
    best = {}
    for n in (31, 32, 33, 64):
        u = haar_unitary(n, 1, seed=n)[0]
        reconstruct(decompose(u))
        ts = []
        for _ in range(15):
            t0 = time.perf_counter()
            reconstruct(decompose(u))
            ts.append(time.perf_counter() - t0)
        best[n] = min(ts)
    assert best[31] <= 2 * best[32] and best[32] <= 2 * best[33] and best[33] <= 2 * best[64], best
