"""Batched SVD of small square tiles (the photonic mapper's K x K weight tiles) and the canonical form of an SVD.

Why (issue 16): numpy's stacked ``svd`` calls LAPACK's ``gesdd`` once per 16 x 16 tile, and its fixed cost per call
(workspace, bidiagonalisation and back-transformations built for large matrices) is most of the mapper's time; the
arithmetic of a 16 x 16 SVD is small. :func:`svd_tiles` is a one-sided (Hestenes) Jacobi SVD in float64 run on
LANES tiles side by side (the innermost, SIMD dimension of its scratch, as the lane kernels of
:mod:`._kernels_lanes`; each lane's matrix column-major, so that a column is one contiguous (K, LANES) block).
It is preconditioned as LAPACK's ``dgejsv`` (Drmac & Veselic 2008): a Householder QR with column pivoting
A P = Q R first, then cyclic sweeps over column pairs (p, q) of X = R^T rotate the pair orthogonal when
|x_p . x_q| > tol ||x_p|| ||x_q|| (tol = K eps; LAPACK's ``dgesvj`` takes sqrt(K) eps), the rotations
accumulating onto Q. At convergence X = U_x S with U_x's columns orthonormal, so A = (Q V_x) S (P U_x)^T: the
singular values are the column norms of X, U the rotated Q, V the rows of the normalised X permuted back. X's
columns start closer to orthogonal than A's, and the sweeps converge sooner (~7 instead of ~9 per block of 32
Gaussian 16 x 16 tiles).

An SVD is not unique: each singular pair (u_j, v_j) can change sign together, and any orthonormal basis of the
subspace of a repeated singular value (above all the null space of a rank-deficient tile: a padded edge tile, a
pruned row or column) is as good as another. LAPACK and Jacobi choose differently, and the phases programmed on the
meshes follow the choice, so without a convention a change of SVD routine would change every photonic Report.
:func:`canonicalize` fixes one (applied to whichever SVD the mapper uses):

* singular values are sorted descending; values within ``CLUSTER_TOL * s[0]`` of their neighbour form a cluster
  (one value: a single pair), values at most ``CLUSTER_TOL * s[0]`` form the null cluster;
* a single pair is signed so that the entry of v_j largest in magnitude is positive (ties within 1e-12: the first);
* a cluster's right singular vectors are replaced by the canonical basis of their span: pivoted Gram-Schmidt on the
  projections P e_i of the unit vectors (P the projector onto the span), taking at each step the e_i of largest
  remaining projection (ties within 1e-12: the smallest i); its left vectors follow (U_c <- U_c V_c^T W), so
  U S V^T is unchanged; the left vectors of the null cluster are the canonical basis of the complement of the other
  left vectors, built the same way.

Two SVDs of the same tile then agree to rounding wherever the singular vectors are determined by the tile to
rounding (not inside clusters of singular values that are distinct but closer than ~1e-9 s[0]).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from ._kernels_common import _chunk_bounds, run_chunks

LANES = 32
#: Largest tile the mapper gives the Jacobi SVD (thread CPU time per tile, medians, Gaussian tiles, against
#: LAPACK's gesdd: 8 x 8 2.6 against 10.3 us, 16 x 16 16.1 against 35.9, 24 x 24 48.8 against 80.3; 28 x 28 78
#: against 93 and 32 x 32 111 against 119 are too close to count on for tiles that converge slower than Gaussian
#: ones, so larger tiles take LAPACK's; ``benchmarks/bench_photonic.py --only svd``, issue 16).
JACOBI_MAX_K = 24
#: Smallest stack the mapper gives the Jacobi SVD: it saves ~20 us per 16 x 16 tile and costs ~1.7 s of CPU time to
#: compile the first time (numba caches it on disk), so small networks (the demo's LeNets) keep LAPACK's.
JACOBI_MIN_TILES = 1024
#: Cyclic sweeps before giving up (blocks of 16 x 16 Gaussian tiles converge in 7-8; the sweep count is returned).
MAX_SWEEPS = 30
#: Singular values within CLUSTER_TOL * s[0] of each other form one cluster (repeated values: a basis of their
#: span is chosen canonically); those at most CLUSTER_TOL * s[0] are the null cluster. Small enough that treating
#: two distinct values as one changes U S V^T by less than 1e-13 s[0].
CLUSTER_TOL = 1e-13
_TIE = 1e-12
#: Rotations by angles below this (all lanes of a pair) take the series form in :func:`_rotation`.
SMALL_ANGLE = 1e-3
#: Entries of the canonical singular vectors (unit vectors) below this are rounding noise of an exact zero, set to 0.
ZERO_TOL = 1e-10


@njit(cache=True, nogil=True, error_model="numpy", fastmath={"contract"})
def _dot(X, Y, g):
    """g[lane] = x . y of every lane's columns X, Y (K, LANES) (two rows a step: half the loads and stores of g)."""
    n = X.shape[0]
    for l in range(LANES):
        g[l] = X[0, l] * Y[0, l]
    for i in range(1, n - 1, 2):
        for l in range(LANES):
            g[l] += X[i, l] * Y[i, l] + X[i + 1, l] * Y[i + 1, l]
    if n % 2 == 0 and n > 1:
        for l in range(LANES):
            g[l] += X[n - 1, l] * Y[n - 1, l]


@njit(cache=True, nogil=True, error_model="numpy", fastmath={"contract"})
def _rotation(g, a, b, tol2, cs):
    """Per lane, the rotation making columns (a_p, a_q) orthogonal, from g = a_p . a_q and the squared norms
    a, b (updated in place to the rotated columns' norms): cs[0] = c, cs[1] = s, (1, 0) where the pair is already
    orthogonal to tol (g^2 <= tol2 a b). With d = b - a, e = 2 g (tan 2 theta = e / d), r = |(d, e)|, w = r + |d|:
    c = w / sqrt(2 r w), s = sign(d) e / sqrt(2 r w) (two square roots and one division; the tangent form takes
    three divisions). Returns the number of lanes that rotate. (Loops with few store streams: LLVM vectorizes them.)"""
    n_rot = 0
    n_big = 0
    for l in range(g.shape[0]):  # which lanes rotate, and by an angle past SMALL_ANGLE
        rot = g[l] * g[l] > tol2 * a[l] * b[l]
        n_rot += 1 if rot else 0
        n_big += 1 if rot and not abs(2.0 * g[l]) <= 2.0 * SMALL_ANGLE * abs(b[l] - a[l]) else 0
    if n_rot == 0:
        return 0
    if n_big == 0:  # every rotating lane turns by less than SMALL_ANGLE: one division instead of two square
        for l in range(g.shape[0]):  # roots and one (series of tan(atan(u) / 2) and 1 / sqrt(1 + t^2))
            rot = g[l] * g[l] > tol2 * a[l] * b[l]
            d = b[l] - a[l]
            u = 2.0 * g[l] / (d if rot else 1.0)  # tan 2 theta, |u| <= 2 SMALL_ANGLE
            t = 0.5 * u * (1.0 - 0.25 * u * u * (1.0 - 0.5 * u * u))  # tan theta, error 5 u^7 / 128 < 1e-20
            c = 1.0 - t * t * (0.5 - 0.375 * t * t)  # 1 / sqrt(1 + t^2), error 5 t^6 / 16 < 1e-18
            cs[0, l] = c if rot else 1.0
            cs[1, l] = t * c if rot else 0.0
    else:
        for l in range(g.shape[0]):
            rot = g[l] * g[l] > tol2 * a[l] * b[l]
            d = b[l] - a[l]
            e = 2.0 * g[l]
            r = math.sqrt(d * d + e * e)
            w = r + abs(d)
            iq = 1.0 / math.sqrt(2.0 * r * w)
            cs[0, l] = w * iq if rot else 1.0
            cs[1, l] = (e * iq if d >= 0.0 else -e * iq) if rot else 0.0
    if n_rot:
        for l in range(g.shape[0]):
            c = cs[0, l]
            s = cs[1, l]
            aa = a[l]
            bb = b[l]
            gl = g[l]
            a[l] = c * (c * aa - s * gl) - s * (c * gl - s * bb)
            b[l] = s * (s * aa + c * gl) + c * (s * gl + c * bb)
    return n_rot


@njit(cache=True, nogil=True, error_model="numpy", fastmath={"contract"})
def _rotate(X, Y, c_, s_):
    """Columns (X, Y) (K, LANES) of every lane <- (c x - s y, s x + c y), c = c_[lane], s = s_[lane]."""
    for i in range(X.shape[0]):
        for l in range(LANES):
            c = c_[l]
            s = s_[l]
            x = X[i, l]
            y = Y[i, l]
            X[i, l] = c * x - s * y
            Y[i, l] = s * x + c * y


@njit(cache=True, nogil=True, error_model="numpy", fastmath={"contract"})
def _qr_transpose(A, Q, perm, nrm, w, piv):
    """Per lane, Householder QR with column pivoting of A (K, K, LANES; column-major: A[j, i] is row i of column j):
    A[:, perm] = Q R (the column of largest remaining norm first, ties: the first). On return A holds X = R^T (lower
    triangular), Q (K, K, LANES) the orthogonal factor (same layout), perm (K, LANES) the permutation; nrm (K,
    LANES), w (LANES), piv (2, LANES): scratch.

    The Jacobi sweeps then run on X (Drmac & Veselic 2008, LAPACK dgejsv): X V_x = U_x S gives
    A = (Q V_x) S (P U_x)^T, and the rotations accumulate onto Q from the start. X's columns are closer to orthogonal
    than A's (one step of QR iteration on A^T A), so the sweeps converge sooner (16 x 16 Gaussian tiles: ~7 instead
    of ~9 per block of 32)."""
    k = A.shape[0]
    for j in range(k):
        for l in range(LANES):
            perm[j, l] = j
    for c in range(k):  # squared column norms, downdated below (they only choose the pivots)
        for l in range(LANES):
            nrm[c, l] = 0.0
        for i in range(k):
            for l in range(LANES):
                nrm[c, l] += A[c, i, l] * A[c, i, l]
    for j in range(k):
        for l in range(LANES):  # pivot: the largest remaining norm (first of equals), swapped in lane by lane
            m = j
            best = nrm[j, l]
            for c in range(j + 1, k):
                if nrm[c, l] > best:
                    best = nrm[c, l]
                    m = c
            if m != j:
                for i in range(k):
                    x = A[j, i, l]
                    A[j, i, l] = A[m, i, l]
                    A[m, i, l] = x
                nrm[m, l] = nrm[j, l]
                pm = perm[j, l]
                perm[j, l] = perm[m, l]
                perm[m, l] = pm
        for l in range(LANES):  # the pivot column's norm, exactly
            w[l] = 0.0
        for i in range(j, k):
            for l in range(LANES):
                w[l] += A[j, i, l] * A[j, i, l]
        for l in range(LANES):  # reflector H = I - beta v v^T taking column j to (.., alpha, 0, ..)
            xn = math.sqrt(w[l])
            x0 = A[j, j, l]
            v0 = x0 + xn if x0 >= 0.0 else x0 - xn
            piv[0, l] = -xn if x0 >= 0.0 else xn  # alpha
            piv[1, l] = 1.0 / (xn * abs(v0)) if xn > 0.0 else 0.0  # beta = 2 / |v|^2 = 1 / (xn |v0|)
            A[j, j, l] = v0
        for c in range(j + 1, k):
            for l in range(LANES):
                w[l] = 0.0
            for i in range(j, k):
                for l in range(LANES):
                    w[l] += A[j, i, l] * A[c, i, l]
            for l in range(LANES):
                w[l] *= piv[1, l]
            for i in range(j, k):
                for l in range(LANES):
                    A[c, i, l] -= w[l] * A[j, i, l]
            for l in range(LANES):  # row j of column c is final: out of the remaining norm
                nrm[c, l] = max(nrm[c, l] - A[c, j, l] * A[c, j, l], 0.0)
        for l in range(LANES):  # v stays below the diagonal, beta in nrm[j], v0 in Q's diagonal, alpha on A's
            nrm[j, l] = piv[1, l]
            Q[j, j, l] = A[j, j, l]
            A[j, j, l] = piv[0, l]
    # Q = H_0 H_1 ... H_{K-1}, accumulated backwards: step j multiplies rows j.. by H_j, where the product so far is
    # the identity in row and column j; every entry is assigned once (row i, column c at step min(i, c))
    for j in range(k - 1, -1, -1):
        for l in range(LANES):
            piv[1, l] = Q[j, j, l]  # v0
            w[l] = nrm[j, l] * piv[1, l]  # beta v . e_j
            Q[j, j, l] = 1.0 - w[l] * piv[1, l]
        for i in range(j + 1, k):
            for l in range(LANES):
                Q[j, i, l] = -w[l] * A[j, i, l]
        for c in range(j + 1, k):
            for l in range(LANES):
                w[l] = 0.0
            for i in range(j + 1, k):
                for l in range(LANES):
                    w[l] += A[j, i, l] * Q[c, i, l]
            for l in range(LANES):
                w[l] *= nrm[j, l]
                Q[c, j, l] = -w[l] * piv[1, l]
            for i in range(j + 1, k):
                for l in range(LANES):
                    Q[c, i, l] -= w[l] * A[j, i, l]
    # X = R^T in place: R is A's upper triangle (diagonal: alpha); v below it is no longer needed
    for c in range(k):
        for i in range(c + 1, k):
            for l in range(LANES):
                A[c, i, l] = A[i, c, l]
                A[i, c, l] = 0.0


@njit(cache=True, nogil=True, error_model="numpy", fastmath={"contract"})
def _svd_lane_chunk(B, Bbits, U, S, Vt, ch, n_chunks):
    """SVD of the tiles B (T, K, K) of chunk ``ch`` (blocks of LANES tiles; Bbits: B's bits, (T, K K) int64):
    U (T, K, K), S (T, K) descending, Vt (T, K, K) with B[t] = U[t] diag(S[t]) Vt[t]; rows of Vt for zero singular
    values are left 0 (:func:`canonicalize` completes them). Returns the largest number of sweeps a block needed
    (MAX_SWEEPS + 1: one did not converge)."""
    t_total = B.shape[0]
    k = B.shape[1]
    # column-major per lane: A[j, i, l] is row i of column j of lane l's matrix, so a column is one contiguous
    # (K, LANES) block, and the rotation of two columns vectorizes (2.5x faster than with rows outermost)
    A = np.empty((k, k, LANES))
    V = np.empty((k, k, LANES))
    nrm = np.empty((k, LANES))
    cs = np.empty((2, LANES))
    gg = np.empty(LANES)
    order = np.empty(k, dtype=np.int64)
    perm = np.empty((k, LANES), dtype=np.int64)
    tol2 = (k * 2.220446049250313e-16) ** 2  # (K eps)^2
    b0, b1 = _chunk_bounds(ch, -(-t_total // LANES), n_chunks)
    worst = 0
    scale = np.empty(LANES)
    for blk in range(b0, b1):
        t0 = blk * LANES
        nl = min(LANES, t_total - t0)
        for l in range(nl):  # each tile scaled by a power of 2 (exact) to a largest entry in [0.5, 1): no squares
            m = 0  # underflow or overflow at any magnitude. The largest |entry| from the bits (an integer maximum,
            for x in range(k * k):  # which vectorizes; a float one is a dependent chain)
                m = max(m, Bbits[t0 + l, x] & 0x7FFFFFFFFFFFFFFF)
            e = m >> 52  # biased exponent of the largest |entry|: in [0.5, 1) x 2^(e - 1022)
            if 0 < e < 2047:
                scale[l] = math.ldexp(1.0, 1022 - e)
            elif e == 0 and m > 0:  # subnormal
                mx = 0.0
                for i in range(k):
                    for j in range(k):
                        mx = max(mx, abs(B[t0 + l, i, j]))
                scale[l] = math.ldexp(1.0, -math.frexp(mx)[1])
            else:  # zero, inf or nan
                scale[l] = 1.0
        for l in range(nl):
            for j in range(k):
                for i in range(k):
                    A[j, i, l] = B[t0 + l, i, j] * scale[l]
        for l in range(nl, LANES):
            scale[l] = 1.0
            for j in range(k):
                for i in range(k):
                    A[j, i, l] = 0.0
        _qr_transpose(A, V, perm, nrm, gg, cs)  # A <- X = R^T, V <- Q (A[:, perm] = Q R)
        sweeps = 0
        while sweeps <= MAX_SWEEPS:
            sweeps += 1
            for j in range(k):
                _dot(A[j], A[j], nrm[j])
            rotated = 0
            for p in range(k - 1):
                for q in range(p + 1, k):
                    _dot(A[p], A[q], gg)
                    n_rot = _rotation(gg, nrm[p], nrm[q], tol2, cs)
                    if n_rot == 0:
                        continue
                    rotated += n_rot
                    _rotate(A[p], A[q], cs[0], cs[1])
                    _rotate(V[p], V[q], cs[0], cs[1])
            if rotated == 0:
                break
        worst = max(worst, sweeps)
        for j in range(k):
            _dot(A[j], A[j], nrm[j])
            for l in range(LANES):
                nrm[j, l] = math.sqrt(nrm[j, l])
        for l in range(nl):
            t = t0 + l
            for j in range(k):  # descending, stable (insertion sort)
                order[j] = j
                i = j
                while i > 0 and nrm[order[i - 1], l] < nrm[j, l]:
                    order[i] = order[i - 1]
                    i -= 1
                order[i] = j
            for r in range(k):
                j = order[r]
                sv = nrm[j, l]
                S[t, r] = sv / scale[l]
                inv = 1.0 / sv if sv > 0.0 else 0.0
                for i in range(k):  # A[:, perm] = (Q V_x) S U_x^T: U = Q V_x, row perm[i] of V = row i of U_x
                    U[t, i, r] = V[j, i, l]
                    Vt[t, r, perm[i, l]] = A[j, i, l] * inv
    return worst


def svd_tiles(B: np.ndarray, n_chunks: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """(U, S, Vt, sweeps): the SVD of each tile of B (T, K, K) float64 (C-contiguous), numpy's layout, singular
    values descending; Vt's rows of zero singular values are 0 until :func:`canonicalize`. ``sweeps``: the most
    any block needed (> MAX_SWEEPS: not converged, which the tests exclude)."""
    t, k = B.shape[0], B.shape[1]
    U = np.empty((t, k, k))
    S = np.empty((t, k))
    Vt = np.empty((t, k, k))
    res = run_chunks(_svd_lane_chunk, (B, B.reshape(t, k * k).view(np.int64), U, S, Vt), -(-t // LANES), n_chunks)
    return U, S, Vt, max(res) if res else 0


# --------------------------------------------------------------------------------------------------------
# canonical form (numpy, batched over tiles: nothing to compile)
# --------------------------------------------------------------------------------------------------------
def _pivoted_basis(P: np.ndarray, count: np.ndarray) -> np.ndarray:
    """(n, steps, K): for each of n projectors P (n, K, K; destroyed), the first count[i] vectors of the canonical
    orthonormal basis of its range: pivoted Gram-Schmidt on its columns, each step taking the column of largest
    remaining norm (ties within _TIE: the smallest index) and deflating P by it. Rows past count[i] are 0."""
    n, k = P.shape[0], P.shape[1]
    steps = int(count.max()) if n else 0
    W = np.zeros((n, steps, k))
    rows = np.arange(n)
    for step in range(steps):
        act = step < count
        d = np.diagonal(P, axis1=1, axis2=2)
        piv = np.argmax(d >= d.max(axis=1, keepdims=True) - _TIE, axis=1)
        col = P[rows, :, piv]  # (n, K): column piv of each P
        nrm = np.sqrt(np.maximum(col[rows, piv], 0.0))
        w = np.where(act[:, None], col / np.where(nrm > 0.0, nrm, 1.0)[:, None], 0.0)
        W[:, step] = w
        P -= w[:, :, None] * w[:, None, :]
    return W


def _canonical_cluster(U: np.ndarray, Vt: np.ndarray, a: int, b: int) -> None:
    """In place, one tile: the right vectors a..b-1 (a repeated non-zero singular value) <- the canonical basis of
    their span; the left ones follow (U_c <- U_c V_c^T W), so U S V^T is unchanged."""
    Vc = Vt[a:b]
    W = _pivoted_basis((Vc.T @ Vc)[None], np.array([b - a]))[0]  # (c, K)
    U[:, a:b] = U[:, a:b] @ (Vc @ W.T)
    Vt[a:b] = W


@njit(cache=True, nogil=True)
def _sign_pairs(U, Vt, tie):
    """In place, per tile and pair j: the first entry of v_j (row j of Vt) within ``tie`` of its largest magnitude
    made positive, u_j (column j of U) flipped with it (oracle: :func:`hwsim.photonic._reference.sign_pairs`)."""
    t_total, k = Vt.shape[0], Vt.shape[1]
    for t in range(t_total):
        for j in range(k):
            big = 0.0
            for i in range(k):
                big = max(big, abs(Vt[t, j, i]))
            first = 0
            for i in range(k):
                if abs(Vt[t, j, i]) >= big - tie:
                    first = i
                    break
            if Vt[t, j, first] < 0.0:
                for i in range(k):
                    Vt[t, j, i] = -Vt[t, j, i]
                    U[t, i, j] = -U[t, i, j]


@njit(cache=True, nogil=True)
def _zero_small(A, tol):
    """In place: entries of the stack A (T, K, K) smaller than ``tol`` in magnitude set to 0."""
    for t in range(A.shape[0]):
        for i in range(A.shape[1]):
            for j in range(A.shape[2]):
                if abs(A[t, i, j]) < tol:
                    A[t, i, j] = 0.0


def canonicalize(U: np.ndarray, S: np.ndarray, Vt: np.ndarray) -> None:
    """In place: the canonical form (module docstring) of the SVDs (U (T, K, K), S (T, K) descending, Vt (T, K, K);
    float64) of a stack of square tiles."""
    t_total, k = S.shape
    if t_total == 0:
        return
    # every pair: the first entry of v_j within _TIE of its largest magnitude positive (clusters are redone below);
    # compiled, one pass over Vt (the numpy form made ~10 passes over the stack: ~3.6 us a 16 x 16 tile)
    _sign_pairs(U, Vt, _TIE)
    tol = CLUSTER_TOL * S[:, 0]
    close = (S[:, :-1] - S[:, 1:]) <= tol[:, None]  # j and j + 1 in one cluster
    null = S[:, -1] <= tol  # the tile has a null cluster: the last cluster, from index r on
    # r: start of the last cluster (the first j from which every step to the end is "close")
    tail = np.flip(np.cumprod(np.flip(close, axis=1), axis=1), axis=1).astype(bool)  # tail[t, j]: j..K-1 chained
    r = np.where(null, k - 1 - tail.sum(axis=1), k)
    idx = np.nonzero(null)[0]
    if idx.size:
        keep = (np.arange(k)[None, :] < r[idx, None]).astype(np.float64)  # (n, K): the pairs outside the cluster
        eye = np.eye(k)
        Vs, Us = Vt[idx], U[idx]
        Wv = _pivoted_basis(eye - np.einsum("tj,tji,tjl->til", keep, Vs, Vs), k - r[idx])
        Wu = _pivoted_basis(eye - np.einsum("tj,tij,tlj->til", keep, Us, Us), k - r[idx])
        for n, t in enumerate(idx):  # (a few rows each)
            c = k - r[t]
            Vt[t, r[t]:] = Wv[n, :c]
            U[t, :, r[t]:] = Wu[n, :c].T
    # entries that are zero up to rounding are zero: structured tiles (padded edges, pruned rows and columns) have
    # exact zeros in their singular vectors, and the sign of the rounding noise LAPACK leaves there would set mesh
    # phases (0 or pi) and so the Report
    _zero_small(U, ZERO_TOL)
    _zero_small(Vt, ZERO_TOL)
    # repeated non-zero singular values (rare: structured tiles): one tile at a time
    before_null = close & (np.arange(k - 1)[None, :] < (r - 1)[:, None])
    for t in np.nonzero(before_null.any(axis=1))[0]:
        j = 0
        end = r[t]
        while j < end:
            e = j + 1
            while e < end and close[t, e - 1]:
                e += 1
            if e - j > 1:
                _canonical_cluster(U[t], Vt[t], j, e)
            j = e
