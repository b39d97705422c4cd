"""Batched Jacobi SVD of K x K tiles and the canonical form of an SVD (issue 16): errors against numpy's SVD,
rank-deficient and all-zero tiles, any magnitude, and photonic Reports independent of the SVD routine."""
import numpy as np
import pytest

from hwsim.photonic import _svd as SV
from hwsim.photonic import cost, map, resolve_config
from hwsim.photonic import mapping as MP


def _tiles(k: int, t: int, seed: int) -> np.ndarray:
    """Gaussian tiles with the rank-deficient kinds the mapper meets in their first slots."""
    rng = np.random.default_rng(seed)
    b = rng.standard_normal((t, k, k))
    h = max(1, k // 2)
    specials = [np.zeros((k, k)),  # all zero
                np.pad(rng.standard_normal((k, h)), ((0, 0), (0, k - h))),  # zero columns (padded inputs)
                np.pad(rng.standard_normal((h, k)), ((0, k - h), (0, 0))),  # zero rows (padded outputs)
                np.pad(rng.standard_normal((h, h)), ((0, k - h), (0, k - h))),  # an edge-corner tile
                np.outer(rng.standard_normal(k), rng.standard_normal(k)),  # rank 1
                np.eye(k)[rng.permutation(k)] * 2.0,  # all singular values equal
                np.diag(np.r_[3.0, 3.0, np.ones(k - 2)])[:, ::-1],  # repeated values
                ]
    dup = rng.standard_normal((k, k))
    dup[:, -1] = dup[:, 0]  # a repeated column: rank k - 1 with no zero row or column
    specials.append(dup)
    for i, s in enumerate(specials[:t]):
        b[i] = s
    return b


def _check_svd(b, u, s, vt, rel=1e-12):
    k = b.shape[1]
    ref = np.linalg.svd(b, compute_uv=False)
    scale = np.maximum(ref[:, :1], np.finfo(float).tiny)
    assert np.all(np.abs(s - ref) <= rel * scale)  # singular values, relative to the largest
    assert np.all(np.diff(s, axis=1) <= 0)
    rec = np.einsum("tij,tj,tjk->tik", u, s, vt)
    assert np.all(np.abs(rec - b).reshape(len(b), -1).max(axis=1) <= rel * scale[:, 0])
    assert np.abs(np.einsum("tji,tjl->til", u, u) - np.eye(k)).max() <= 1e-13
    assert np.abs(np.einsum("tij,tlj->til", vt, vt) - np.eye(k)).max() <= 1e-13


@pytest.mark.parametrize("k", [2, 3, 5, 8, 12, 16, 24])
def test_jacobi_matches_numpy(k):
    b = _tiles(k, 70, seed=k)  # 70: two full blocks of 32 lanes and a partial one
    u, s, vt, sweeps = SV.svd_tiles(b)
    assert sweeps <= SV.MAX_SWEEPS
    SV.canonicalize(u, s, vt)
    _check_svd(b, u, s, vt)


@pytest.mark.parametrize("scale", [1e-300, 1e-150, 1e150, 1e300])
def test_jacobi_at_any_magnitude(scale):
    b = _tiles(16, 33, seed=3) * scale
    u, s, vt, _ = SV.svd_tiles(b)
    SV.canonicalize(u, s, vt)
    _check_svd(b, u, s, vt)


@pytest.mark.parametrize("k", [3, 8, 16])
def test_canonical_form_is_the_same_from_numpy_and_jacobi(k):
    """Both SVDs, canonicalized, agree to 1e-12 on every tile whose singular values are separated or repeated
    exactly (the rank-deficient and equal-value tiles included); the all-zero tile gives identities."""
    b = _tiles(k, 64, seed=100 + k)
    u1, s1, v1, _ = SV.svd_tiles(b)
    u2, s2, v2 = np.linalg.svd(b)
    SV.canonicalize(u1, s1, v1)
    SV.canonicalize(u2, s2, v2)
    _check_svd(b, u2, s2, v2)
    gap = np.diff(s2, axis=1)
    ok = np.all((-gap > 1e-6 * s2[:, :1]) | (-gap <= SV.CLUSTER_TOL * s2[:, :1]), axis=1)  # separated or equal
    ok[:8] = True  # the specials
    assert ok.sum() >= 60
    assert np.abs(u1 - u2)[ok].max() <= 1e-12 and np.abs(v1 - v2)[ok].max() <= 1e-12
    assert np.array_equal(u1[0], np.eye(k)) and np.array_equal(v1[0], np.eye(k)) and not s1[0].any()


def test_canonical_form_ignores_the_routine_s_choices():
    """Flipping the signs of singular pairs and rotating the null-space bases gives the same canonical form."""
    rng = np.random.default_rng(5)
    b = _tiles(8, 16, seed=5)
    u, s, vt = np.linalg.svd(b)
    u2, s2, vt2 = u.copy(), s.copy(), vt.copy()
    sg = rng.choice([-1.0, 1.0], size=(16, 8))
    u2 *= sg[:, None, :]
    vt2 *= sg[:, :, None]
    null = 4  # tile 1: zero columns 4..7 -> a 4-dimensional null space on both sides
    q = np.linalg.qr(rng.standard_normal((null, null)))[0]
    vt2[1, -null:] = q @ vt2[1, -null:]
    u2[1][:, -null:] = u2[1][:, -null:] @ np.linalg.qr(rng.standard_normal((null, null)))[0]
    SV.canonicalize(u, s, vt)
    SV.canonicalize(u2, s2, vt2)
    assert np.abs(u - u2).max() <= 1e-13 and np.abs(vt - vt2).max() <= 1e-13


def _reports(net_or_weights, preset="harris2014_weight_stationary"):
    cfg = resolve_config(preset)
    m = map(net_or_weights, cfg)
    return m, cost(m)


@pytest.mark.parametrize("sparsity,rel,flips", [(0.0, 1e-12, 0), (0.5, 1e-12, 0), (0.9, 2e-4, 1e-3)])
def test_reports_do_not_depend_on_the_svd_routine(monkeypatch, sparsity, rel, flips):
    """Map + cost with the Jacobi SVD and with LAPACK's: the same canonical factors (to ~1e-14), so phases equal to
    rounding and Reports equal to 1e-12 for dense and half-pruned layers with edge tiles. Heavily pruned tiles are
    ill-conditioned for the mesh decomposition: a pivot that is zero in exact arithmetic comes out as noise
    amplified up to ~1e-10 by earlier small pivots, and where the two routines' noise falls on either side of
    ``PIVOT_ZERO`` an MZI flips between theta = 0 and pi (measured at 90 %: 568 of 1.7M phases, static power
    4.5e-5 apart)."""
    rng = np.random.default_rng(11)
    ws = [rng.standard_normal((600, 900)), rng.standard_normal((250, 1000)) * 0.1]
    ws = [w * (rng.random(w.shape) >= sparsity) for w in ws]
    monkeypatch.setattr(SV, "JACOBI_MIN_TILES", 1)
    mj, rj = _reports(ws)
    monkeypatch.setattr(SV, "JACOBI_MAX_K", 0)
    ml, rl = _reports(ws)
    n = differ = 0
    for a, b in zip(mj.layers, ml.layers):
        d = np.abs(np.angle(np.exp(1j * (a.phases - b.phases))))
        differ += int((d > 1e-6).sum())
        n += d.size
        assert np.allclose(a.gains, b.gains, rtol=1e-12, atol=0)
    assert differ <= flips * n
    for field in ("static_power_w", "energy_j", "latency_s", "area_mm2"):
        assert getattr(rj.total, field) == pytest.approx(getattr(rl.total, field), rel=rel)
    assert rj.total.tiles == rl.total.tiles


def test_tile_svd_uses_jacobi_only_for_big_stacks(monkeypatch):
    calls = []
    real = SV.svd_tiles
    monkeypatch.setattr(SV, "svd_tiles", lambda b: calls.append(len(b)) or real(b))
    b = _tiles(16, SV.JACOBI_MIN_TILES, seed=2)
    MP.tile_svd(b[:10])
    MP.tile_svd(b)
    big = SV.JACOBI_MAX_K + 1
    MP.tile_svd(np.random.default_rng(0).standard_normal((SV.JACOBI_MIN_TILES, big, big)))
    assert calls == [SV.JACOBI_MIN_TILES]


@pytest.mark.parametrize("k", [2, 3, 5, 16])
def test_pivoted_qr_preconditioner(k):
    """The lane QR the sweeps start from: A[:, perm] = Q R per lane, Q orthogonal, R = X^T upper triangular with
    |R_jj| non-increasing (column pivoting), on Gaussian and rank-deficient tiles (numpy reference: QR of the
    permuted tile has the same |R|)."""
    b = _tiles(k, SV.LANES, seed=40 + k)
    A = np.ascontiguousarray(b.transpose(2, 1, 0))  # A[j, i, l] = b[l, i, j]
    Q = np.empty_like(A)
    perm = np.empty((k, SV.LANES), dtype=np.int64)
    SV._qr_transpose(A, Q, perm, np.empty((k, SV.LANES)), np.empty(SV.LANES), np.empty((2, SV.LANES)))
    for l in range(SV.LANES):
        q, r = Q[:, :, l].T, A[:, :, l]  # R[i, j] = X[j, i] = A[i, j] stored column-major as X's columns
        assert sorted(perm[:, l]) == list(range(k))
        assert np.array_equal(r, np.triu(r))
        assert np.abs(q.T @ q - np.eye(k)).max() <= 1e-14
        bp = b[l][:, perm[:, l]]
        assert np.abs(q @ r - bp).max() <= 1e-14 * max(1.0, np.abs(b[l]).max())
        d = np.abs(np.diag(r))
        assert np.all(d[1:] <= d[:-1] * (1 + 1e-12) + 1e-15)
        assert np.allclose(np.abs(np.linalg.qr(bp)[1]), np.abs(r), atol=1e-12)


@pytest.mark.parametrize("angle", [1e-2, 1e-4, 1e-9])
def test_rotation_orthogonalizes_pairs(angle):
    """_rotation's (c, s) per lane, in its series form (every lane's angle below SMALL_ANGLE) and its square-root
    form (one lane larger): exactly orthogonal (c^2 + s^2 = 1 to rounding), the rotated columns orthogonal to
    rounding, the updated squared norms those of the rotated columns; lanes already orthogonal get (1, 0)."""
    rng = np.random.default_rng(7)
    n, L = 12, SV.LANES
    x = rng.standard_normal((L, n))
    y = rng.standard_normal((L, n))
    y -= (np.einsum("li,li->l", x, y) / np.einsum("li,li->l", x, x))[:, None] * x  # orthogonal to x ...
    y *= rng.uniform(0.2, 3.0, L)[:, None]
    y += angle * rng.uniform(0.5, 1.0, L)[:, None] * x  # ... then a small angle off
    y[3] = x[3] + 0.5 * y[3] / np.linalg.norm(y[3]) * np.linalg.norm(x[3])  # a large angle: the square-root form
    y[0] = rng.standard_normal(n)
    y[0] -= (x[0] @ y[0]) / (x[0] @ x[0]) * x[0]  # exactly orthogonal up to rounding: no rotation
    y[0] -= (x[0] @ y[0]) / (x[0] @ x[0]) * x[0]
    g = np.einsum("li,li->l", x, y)
    a, b = np.einsum("li,li->l", x, x), np.einsum("li,li->l", y, y)
    tol2 = (n * np.finfo(float).eps) ** 2
    big = np.abs(2 * g) > 2 * SV.SMALL_ANGLE * np.abs(b - a)
    cs = np.empty((2, L))
    a2, b2 = a.copy(), b.copy()
    n_rot = SV._rotation(g, a2, b2, tol2, cs)
    c, s = cs
    rot = g * g > tol2 * a * b
    assert n_rot == rot.sum() and not rot[0] and (c[0], s[0]) == (1.0, 0.0)
    assert np.abs(c * c + s * s - 1.0).max() <= 4.5e-16
    xn, yn = c[:, None] * x - s[:, None] * y, s[:, None] * x + c[:, None] * y
    cos = np.einsum("li,li->l", xn, yn) / np.sqrt(np.einsum("li,li->l", xn, xn) * np.einsum("li,li->l", yn, yn))
    assert np.abs(cos).max() <= 1e-14
    assert np.allclose(a2, np.einsum("li,li->l", xn, xn), rtol=1e-13)
    assert np.allclose(b2, np.einsum("li,li->l", yn, yn), rtol=1e-13)
    if angle < SV.SMALL_ANGLE / 10:  # lane 3 aside, the series form: check it alone on the small lanes
        small = ~big & rot
        g2 = np.where(small, g, 0.0)
        cs2 = np.empty((2, L))
        SV._rotation(g2, a.copy(), b.copy(), tol2, cs2)
        ref = 0.5 * np.arctan(2 * g2 / (b - a))  # the smaller of the two angles, as the kernel
        assert np.allclose(cs2[1][small], np.sin(ref[small]), rtol=1e-14, atol=0)
        assert np.abs(cs2[0] ** 2 + cs2[1] ** 2 - 1).max() <= 4.5e-16


@pytest.mark.parametrize("k", [2, 5, 16])
def test_sign_and_zero_kernels_match_their_numpy_forms_bit_for_bit(k):
    """canonicalize's compiled steps against the numpy forms they replaced: the sign of each pair (ties within
    _TIE between entries of equal magnitude, exact zeros, negative zeros) and the rounding-noise zeroing."""
    from hwsim.photonic import _reference as R

    rng = np.random.default_rng(k)
    Vt = rng.standard_normal((40, k, k))
    Vt[::3, :, 0] = -np.abs(Vt[::3, :, 1])  # ties: the first of two equal magnitudes decides the sign
    Vt[::5, 1] = 0.0
    Vt[::5, 1, -1] = -0.0
    Vt[1::4] *= 1e-11  # below ZERO_TOL: zeroed afterwards
    U = rng.standard_normal((40, k, k))
    u1, v1, u2, v2 = U.copy(), Vt.copy(), U.copy(), Vt.copy()
    SV._sign_pairs(u1, v1, SV._TIE)
    R.sign_pairs(u2, v2, SV._TIE)
    assert (u1.view(np.int64) == u2.view(np.int64)).all() and (v1.view(np.int64) == v2.view(np.int64)).all()
    SV._zero_small(v1, SV.ZERO_TOL)
    v2[np.abs(v2) < SV.ZERO_TOL] = 0.0
    assert (v1.view(np.int64) == v2.view(np.int64)).all()
    SV._zero_small(v1[:, ::2], SV.ZERO_TOL)  # a strided stack works too
