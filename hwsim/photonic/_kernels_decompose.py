"""Per-tile mesh kernels: decomposition of unitaries (complex, or real orthogonal in all-real arithmetic) into
MZI phases, and reconstruction of the unitary from phases (private: arrays and scalars in, arrays out).

One tile at a time; the public functions use them for meshes larger than :data:`._kernels_lanes.LANE_MAX_N` and for
single calls and small batches (``mesh._use_lanes``; the lane-batched versions in :mod:`._kernels_lanes` take the
rest). The atan2 / sin / cos of the complex paths are taken in flat loops out of the nulling's dependent chain, by
the branch-free versions of :mod:`._kernels_common` (vectorized; 2x faster single calls than libm inline at n = 64);
the real path (the mapper's) keeps libm's atan2. Every kernel runs on the calling thread when n_chunks = 1.
Conventions and the shared nulling step: :mod:`._kernels_common`.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from ._kernels_common import (SCHED_COL, SCHED_ROW, SCHED_ROW_OP, SCHED_SLOT, _apply_reduced_mzi, _atan2v,
                              _chunk_bounds, _chunk_count, _commute_left, _complex_angles, _givens_c, _givens_r,
                              _mix_c, _mix_r, _mzi_trig, _nulled_errors, _nulling_schedule, _physical_to_reduced,
                              _reduced_to_physical, _screen_out, _sign_phase, _widen_band)


# --------------------------------------------------------------------------------------------------------
# decomposition
# --------------------------------------------------------------------------------------------------------
# A nulling step (see _kernels_common) updates columns p, p+1 of a matrix A over rows [q0, q1), the pivot pair on
# row ``piv``: a column op is A = S, p = c, rows 0..r, pivot row r; a row op is the same on A = S.T (numba's
# F-ordered view, so the loop still runs along contiguous memory), p = r-1, rows c..n-1, pivot row c. The
# chunk loop calls the four (real / complex, row / column) directly: one dispatching helper in between, making the
# transposed views at every step, cost 5-20 % at n = 64.
@njit(cache=True, nogil=True)
def _null_c(Ar, Ai, p, piv, q0, q1, row, ang, k):
    """Complex nulling step on A = Ar + i Ai; the atan2 arguments of its MZI's theta and phi go to ang[0..3, k]
    (taken afterwards, out of the dependent chain, by :func:`._kernels_common._complex_angles`)."""
    yth, xth, yph, er, ei, s, co = _givens_c(Ar[piv, p], Ai[piv, p], Ar[piv, p + 1], Ai[piv, p + 1], row)
    ang[0, k] = yth
    ang[1, k] = xth
    ang[2, k] = yph
    ang[3, k] = er
    sr = s * er
    si = s * ei
    cr = co * er
    ci = co * ei
    p0 = np.uint64(p)  # unsigned indices: no negative-index wrap-around test per element, so the loop vectorizes
    p1 = np.uint64(p + 1)
    for q in range(np.uint64(q0), np.uint64(q1)):
        Ar[q, p0], Ai[q, p0], Ar[q, p1], Ai[q, p1] = _mix_c(Ar[q, p0], Ai[q, p0], Ar[q, p1], Ai[q, p1],
                                                            sr, si, cr, ci, s, co)
    z = p + 1 if row else p
    Ar[piv, z] = 0.0
    Ai[piv, z] = 0.0


@njit(cache=True, nogil=True)
def _null_r(A, p, piv, q0, q1, row):
    """Real nulling step on A (phi in {0, pi}: a sign flip); returns (theta, phi) of its MZI."""
    yth, xth, neg, s, co = _givens_r(A[piv, p], A[piv, p + 1], row)
    s_ = -s if neg else s
    c_ = -co if neg else co
    p0 = np.uint64(p)
    p1 = np.uint64(p + 1)
    for q in range(np.uint64(q0), np.uint64(q1)):
        A[q, p0], A[q, p1] = _mix_r(A[q, p0], A[q, p1], s_, c_, s, co)
    A[piv, p + 1 if row else p] = 0.0
    return 2.0 * math.atan2(yth, xth), (math.pi if neg else 0.0)


@njit(cache=True, nogil=True)
def _decompose_chunk(U, modes, mesh, theta, phi, screen, err, ch, n_chunks, imag):
    """Tiles of chunk ``ch`` of :func:`decompose` (``imag`` None: the real path), one scratch."""
    t_total = U.shape[0]
    n = U.shape[1]
    m_total = theta.shape[1]
    Sr = np.empty((n, n))
    Si = np.empty((n, n))
    SrT = Sr.T  # the views once per chunk, not once per step
    SiT = Si.T
    Sr3 = Sr.reshape((n, n, 1))
    Si3 = Si.reshape((n, n, 1))
    acc = np.empty(n)
    ang = np.empty((4, m_total))  # complex path: the atan2 arguments of theta and phi per MZI
    sched, n_right = _nulling_schedule(n, mesh)
    lo, hi = _chunk_bounds(ch, t_total, n_chunks)
    for t in range(lo, hi):
        bad = 0.0  # NaN iff the tile holds a NaN or inf (x * 0 is NaN exactly then): err[t] = NaN below
        for i in range(n):
            for j in range(n):
                Sr[i, j] = U[t, i, j].real
                bad += Sr[i, j] * 0.0
        if imag is not None:
            for i in range(n):
                for j in range(n):
                    Si[i, j] = U[t, i, j].imag
                    bad += Si[i, j] * 0.0
        for s in range(m_total):
            k = sched[s, SCHED_SLOT]
            r = sched[s, SCHED_ROW]
            c = sched[s, SCHED_COL]
            if sched[s, SCHED_ROW_OP] != 0:  # rows r-1, r of S are columns of its transpose
                if imag is None:
                    theta[t, k], phi[t, k] = _null_r(SrT, r - 1, c, c, n, True)
                else:
                    _null_c(SrT, SiT, r - 1, c, c, n, True, ang, k)
            elif imag is None:
                theta[t, k], phi[t, k] = _null_r(Sr, c, r, 0, r + 1, False)
            else:
                _null_c(Sr, Si, c, r, 0, r + 1, False, ang, k)
        if imag is not None:
            _complex_angles(ang[0], ang[1], ang[2], ang[3])
            for k in range(m_total):
                theta[t, k] = ang[0, k]
                phi[t, k] = ang[2, k]
        for j in range(n):
            if imag is None:
                screen[t, j] = _sign_phase(Sr[j, j])
            else:
                screen[t, j] = _atan2v(Si[j, j], Sr[j, j])
        _nulled_errors(Sr3, Si3, 1, err, t, imag)
        if bad != 0.0:
            err[t] = math.nan
        _commute_left(theta[t], phi[t], screen[t], modes, n_right, m_total)
        _reduced_to_physical(theta[t], phi[t], screen[t], modes, acc)


@njit(cache=True, nogil=True, parallel=True)
def decompose(U, modes, mesh, theta, phi, screen, err, n_chunks, imag):
    """Batched decomposition of unitaries U (T, n, n): complex with ``imag`` True, real orthogonal in all-real
    arithmetic (phi in {0, pi} before the physical conversion) with ``imag`` None; numba compiles one version each.

    Writes theta, phi (T, n(n-1)/2), screen (T, n) and err (T,): the largest deviation of the nulled matrix
    from a unit-modulus diagonal (0 up to rounding iff U is unitary; the nulling is a unitary change of basis,
    so this measures how far U is from unitary), NaN for a tile holding NaN or inf. Parallel over chunks of
    tiles (one scratch per chunk); n_chunks = 1 runs on the calling thread.
    """
    n_chunks = _chunk_count(U.shape[0], n_chunks)
    if n_chunks == 1:  # on the calling thread: no thread-pool wake-up (see mesh._chunks)
        _decompose_chunk(U, modes, mesh, theta, phi, screen, err, n_chunks - 1, n_chunks, imag)
    else:
        for ch in prange(n_chunks):
            _decompose_chunk(U, modes, mesh, theta, phi, screen, err, np.int64(ch), n_chunks, imag)


# --------------------------------------------------------------------------------------------------------
# reconstruction
# --------------------------------------------------------------------------------------------------------
@njit(cache=True, nogil=True)
def _reconstruct_chunk(theta, phi, screen, modes, out, ch, n_chunks):
    """Tiles of chunk ``ch`` of :func:`reconstruct`, one scratch: physical -> reduced phases, then the reduced MZIs
    in light order from the identity (each only on the columns its two rows can be non-zero in), then the screen."""
    t_total = theta.shape[0]
    n = screen.shape[1]
    S = np.empty((2, n, n))  # real, imaginary part
    Sr = S[0]
    Si = S[1]
    m_total = theta.shape[1]
    trig = np.empty((5, m_total))  # reduced phi, sin and cos of theta/2, cos and sin of phi
    phr, sn, cn, er_, ei_ = trig[0], trig[1], trig[2], trig[3], trig[4]
    scr = np.empty(n)  # reduced screen
    acc = np.empty(n)
    band = np.empty((2, n), dtype=np.int64)  # [lo, hi) of the non-zero columns of each row
    t0, t1 = _chunk_bounds(ch, t_total, n_chunks)
    for t in range(t0, t1):
        _physical_to_reduced(theta[t], phi[t], screen[t], modes, phr, scr, acc)
        _mzi_trig(theta[t], phr, sn, cn, er_, ei_)
        for i in range(n):
            for j in range(n):
                Sr[i, j] = 1.0 if i == j else 0.0
                Si[i, j] = 0.0
            band[0, i] = i
            band[1, i] = i + 1
        for k in range(m_total):
            m = modes[k]
            a, b = _widen_band(band[0], band[1], m)
            s = sn[k]
            co = cn[k]
            er = er_[k]
            ei = ei_[k]
            m0 = np.uint64(m)  # unsigned indices: the row update vectorizes (2.3x at n = 64, same bits)
            m1 = np.uint64(m + 1)
            for q in range(np.uint64(a), np.uint64(b)):
                Sr[m0, q], Si[m0, q], Sr[m1, q], Si[m1, q] = _apply_reduced_mzi(
                    Sr[m0, q], Si[m0, q], Sr[m1, q], Si[m1, q], s, co, er, ei)
        _screen_out(Sr.reshape((n, n, 1)), Si.reshape((n, n, 1)), scr.reshape((n, 1)), 1, out, t)


@njit(cache=True, nogil=True, parallel=True)
def reconstruct(theta, phi, screen, modes, out, n_chunks):
    """Batched reconstruction: out[t] = diag(e^{i screen[t]}) prod_k M(theta[t,k], phi[t,k]) (complex)."""
    n_chunks = _chunk_count(theta.shape[0], n_chunks)
    if n_chunks == 1:
        _reconstruct_chunk(theta, phi, screen, modes, out, n_chunks - 1, n_chunks)
    else:
        for ch in prange(n_chunks):
            _reconstruct_chunk(theta, phi, screen, modes, out, np.int64(ch), n_chunks)

