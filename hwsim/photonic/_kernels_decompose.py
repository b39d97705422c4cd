"""Per-tile mesh kernels: decomposition of unitaries (complex, or real orthogonal in all-real arithmetic) into
MZI phases, and reconstruction of the unitary from phases (private: arrays and scalars in, arrays out).

One tile at a time; the public functions use them for meshes larger than :data:`._kernels_lanes.LANE_MAX_N` and for
single calls and small batches (``mesh._use_lanes``; the lane-batched versions in :mod:`._kernels_lanes` take the
rest). Conventions and the shared nulling step: :mod:`._kernels_common`.

Where the time of one tile goes (issue 16), and what each kernel does about it:

* The nulling is a chain of n(n-1)/2 dependent steps: each step's rotation comes from two entries the previous
  step has just updated. The complex steps take the fused form of :func:`._kernels_common._givens_cf` (one square
  root and one division on the chain instead of two of each), and every step computes the *next* step's rotation
  from the two pivot entries as they will be after this step, before running this step's O(n) update loop, so the
  loop overlaps the next square root and division instead of waiting for them (N = 16 complex: 10.8 -> ~4 us).
  The updates are the same IEEE operations as the lane kernels', so every path gives the same bits.
* atan2 / sin / cos of the complex paths are taken in flat loops out of the dependent chain, by the branch-free
  versions of :mod:`._kernels_common` (vectorized); the real path (the mapper's) keeps libm's atan2.
* Updates index with unsigned integers (numba tests every signed index for wrap-around, which kept LLVM from
  vectorizing), and row operations run along contiguous memory (numba's F-ordered transposed view).

The batched drivers :func:`decompose` / :func:`reconstruct` run nogil chunk functions through
:func:`._kernels_common.run_chunks` (the calling thread for one chunk, else a small thread pool).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from ._kernels_common import (SCHED_COL, SCHED_ROW, SCHED_ROW_OP, SCHED_SLOT, _apply_reduced_mzi,
                              _atan2v, _chunk_bounds, _commute_left, _complex_angles, _givens_cf, _givens_r, _mix_c,
                              _mix_cf, _mix_fused, _mix_r, _mzi_trig, _nulled_errors, _physical_to_reduced,
                              _reduced_to_physical, _screen_out, _sign_phase, _widen_band, nulling_schedule,
                              run_chunks)


# --------------------------------------------------------------------------------------------------------
# decomposition
# --------------------------------------------------------------------------------------------------------
# A nulling step (see _kernels_common) updates columns p, p+1 of a matrix A over rows [q0, q1): a column op is
# A = S, p = c, rows 0..r; a row op is the same on A = S.T (numba's F-ordered view, so the loop still runs along
# contiguous memory), p = r-1, rows c..n-1. ``imag`` None is the real path (Si unused), True the complex one.
@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _step_coefficients(x0, x1, v0, v1, row, imag):
    """(fused, c0..c5, a0..a3) of the step with pivot pair (x0 + i x1, v0 + i v1): the update's coefficients and its
    angles' atan2 arguments (theta: a0, a1; complex phi: a2, a3; real: a2 = 1 where phi = pi, else 0)."""
    if imag is None:
        yth, xth, neg, s, co = _givens_r(x0, v0, row)
        return False, (-s if neg else s), (-co if neg else co), s, co, 0.0, 0.0, yth, xth, (1.0 if neg else 0.0), 0.0
    return _givens_cf(x0, x1, v0, v1, row)


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _step_mix(f, c0, c1, c2, c3, c4, c5, x0, x1, v0, v1, imag):
    """One element pair (x, v) after a step with coefficients (f, c0..c5)."""
    if imag is None:
        nx, nv = _mix_r(x0, v0, c0, c1, c2, c3)
        return nx, 0.0, nv, 0.0
    return _mix_cf(f, c0, c1, c2, c3, c4, c5, x0, x1, v0, v1)


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _step_update(Ar, Ai, p, q0, q1, f, c0, c1, c2, c3, c4, c5, imag):
    """Apply a step to columns p, p+1 of A = Ar (+ i Ai) over rows [q0, q1) (one loop per arithmetic form, each
    vectorizable along contiguous rows)."""
    p0 = np.uint64(p)  # unsigned indices: no negative-index wrap-around test per element, so the loop vectorizes
    p1 = np.uint64(p + 1)
    if imag is None:
        for q in range(np.uint64(q0), np.uint64(q1)):
            Ar[q, p0], Ar[q, p1] = _mix_r(Ar[q, p0], Ar[q, p1], c0, c1, c2, c3)
    elif f:
        for q in range(np.uint64(q0), np.uint64(q1)):
            Ar[q, p0], Ai[q, p0], Ar[q, p1], Ai[q, p1] = _mix_fused(Ar[q, p0], Ai[q, p0], Ar[q, p1], Ai[q, p1],
                                                                    c0, c1, c2, c3, c4, c5)
    else:
        for q in range(np.uint64(q0), np.uint64(q1)):
            Ar[q, p0], Ai[q, p0], Ar[q, p1], Ai[q, p1] = _mix_c(Ar[q, p0], Ai[q, p0], Ar[q, p1], Ai[q, p1],
                                                                c0, c1, c2, c3, c4, c5)


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _entry_after(Sr, Si, i, j, r, c, row, f, c0, c1, c2, c3, c4, c5, imag):
    """S[i, j] (re, im) as it will be once the step nulling S[r, c] (coefficients f, c0..c5) has been applied:
    the same arithmetic as the step's update loop, on the one element pair holding (i, j)."""
    if row:
        hit = (i == r - 1 or i == r) and j >= c
        i0, j0, i1, j1 = r - 1, j, r, j
        first = i == r - 1
    else:
        hit = (j == c or j == c + 1) and i <= r
        i0, j0, i1, j1 = i, c, i, c + 1
        first = j == c
    if not hit:
        return Sr[i, j], (0.0 if imag is None else Si[i, j])
    if i == r and j == c:  # the entry this step nulls
        return 0.0, 0.0
    x1 = 0.0 if imag is None else Si[i0, j0]
    v1 = 0.0 if imag is None else Si[i1, j1]
    nx0, nx1, nv0, nv1 = _step_mix(f, c0, c1, c2, c3, c4, c5, Sr[i0, j0], x1, Sr[i1, j1], v1, imag)
    return (nx0, nx1) if first else (nv0, nv1)


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _pivot_entries(sched, s):
    """(i_x, j_x, i_v, j_v, row): the two entries whose values set step s's rotation."""
    r = sched[s, SCHED_ROW]
    c = sched[s, SCHED_COL]
    if sched[s, SCHED_ROW_OP] != 0:
        return r - 1, c, r, c, True
    return r, c, r, c + 1, False


@njit(cache=True, nogil=True, error_model="numpy")
def _decompose_chunk(U, modes, sched, n_right, theta, phi, screen, err, imag, ch, n_chunks):
    """Tiles of chunk ``ch`` of :func:`decompose` (``imag`` None: the real path), one scratch."""
    t_total = U.shape[0]
    n = U.shape[1]
    m_total = theta.shape[1]
    nn = n * n
    buf = np.empty(2 * nn + 8 + n + 4 * m_total)  # one allocation (a single call pays for each)
    Sr = buf[:nn].reshape((n, n))
    Si = buf[nn + 8:2 * nn + 8].reshape((n, n))  # 64 bytes past Sr's size: no 4K aliasing of Sr[i, j] and Si[i, j]
    acc = buf[2 * nn + 8:2 * nn + 8 + n]
    ang = buf[2 * nn + 8 + n:].reshape((4, m_total))  # per MZI: the atan2 arguments of theta and phi
    SrT = Sr.T  # the views once per chunk, not once per step
    SiT = Si.T
    Sr3 = Sr.reshape((n, n, 1))
    Si3 = Si.reshape((n, n, 1))
    lo, hi = _chunk_bounds(ch, t_total, n_chunks)
    for t in range(lo, hi):
        bad = 0  # non-zero iff the tile holds a NaN or inf (x - x is NaN exactly then): err[t] = NaN below
        for i in range(n):
            for j in range(n):
                z = U[t, i, j]
                Sr[i, j] = z.real
                bad += 0 if z.real - z.real == 0.0 else 1
                if imag is not None:
                    Si[i, j] = z.imag
                    bad += 0 if z.imag - z.imag == 0.0 else 1
        ix, jx, iv, jv, row = _pivot_entries(sched, 0)
        f, c0, c1, c2, c3, c4, c5, a0, a1, a2, a3 = _step_coefficients(
            Sr[ix, jx], 0.0 if imag is None else Si[ix, jx], Sr[iv, jv], 0.0 if imag is None else Si[iv, jv], row, imag)
        for s in range(m_total):
            k = sched[s, SCHED_SLOT]
            r = sched[s, SCHED_ROW]
            c = sched[s, SCHED_COL]
            row = sched[s, SCHED_ROW_OP] != 0
            ang[0, k] = a0
            ang[1, k] = a1
            ang[2, k] = a2
            ang[3, k] = a3
            # the next step's rotation first (off this step's update loop: the loop overlaps its sqrt and division)
            nf, n0, n1, n2, n3, n4, n5, b0, b1, b2, b3 = f, c0, c1, c2, c3, c4, c5, a0, a1, a2, a3
            if s + 1 < m_total:
                ix, jx, iv, jv, row2 = _pivot_entries(sched, s + 1)
                x0, x1 = _entry_after(Sr, Si, ix, jx, r, c, row, f, c0, c1, c2, c3, c4, c5, imag)
                v0, v1 = _entry_after(Sr, Si, iv, jv, r, c, row, f, c0, c1, c2, c3, c4, c5, imag)
                nf, n0, n1, n2, n3, n4, n5, b0, b1, b2, b3 = _step_coefficients(x0, x1, v0, v1, row2, imag)
            if row:  # rows r-1, r of S are columns of its transpose
                _step_update(SrT, SiT, r - 1, c, n, f, c0, c1, c2, c3, c4, c5, imag)
            else:
                _step_update(Sr, Si, c, 0, r + 1, f, c0, c1, c2, c3, c4, c5, imag)
            Sr[r, c] = 0.0
            if imag is not None:
                Si[r, c] = 0.0
            f, c0, c1, c2, c3, c4, c5, a0, a1, a2, a3 = nf, n0, n1, n2, n3, n4, n5, b0, b1, b2, b3
        if imag is None:
            for k in range(m_total):
                theta[t, k] = 2.0 * math.atan2(ang[0, k], ang[1, k])
                phi[t, k] = math.pi if ang[2, k] != 0.0 else 0.0
            for j in range(n):
                screen[t, j] = _sign_phase(Sr[j, j])
        else:
            _complex_angles(ang[0], ang[1], ang[2], ang[3])
            for k in range(m_total):
                theta[t, k] = ang[0, k]
                phi[t, k] = ang[2, k]
            for j in range(n):
                screen[t, j] = _atan2v(Si[j, j], Sr[j, j])
        _nulled_errors(Sr3, Si3, 1, err, t, imag)
        if bad:
            err[t] = math.nan
        _commute_left(theta[t], phi[t], screen[t], modes, n_right, m_total)
        _reduced_to_physical(theta[t], phi[t], screen[t], modes, acc)


def decompose(U, modes, mesh, theta, phi, screen, err, n_chunks, imag) -> None:
    """Batched decomposition of unitaries U (T, n, n): complex with ``imag`` True, real orthogonal in all-real
    arithmetic (phi in {0, pi} before the physical conversion) with ``imag`` None; numba compiles one version each.

    Writes theta, phi (T, n(n-1)/2), screen (T, n) and err (T,): the largest deviation of the nulled matrix
    from a unit-modulus diagonal (0 up to rounding iff U is unitary; the nulling is a unitary change of basis,
    so this measures how far U is from unitary), NaN for a tile holding NaN or inf. ``mesh``: MESH_CLEMENTS or
    MESH_RECK, ``modes`` its layout (``mesh.mesh_layout``). Chunks of tiles (one scratch each) on up to numba's
    thread count; n_chunks = 1 runs on the calling thread.
    """
    sched, n_right = nulling_schedule(U.shape[1], mesh)
    run_chunks(_decompose_chunk, (U, modes, sched, n_right, theta, phi, screen, err, imag), U.shape[0], n_chunks)


# --------------------------------------------------------------------------------------------------------
# reconstruction
# --------------------------------------------------------------------------------------------------------
@njit(cache=True, nogil=True, error_model="numpy")
def _count_non_finite(a):
    """How many entries of the 1-D array ``a`` are NaN or inf (vectorizable: x - x is NaN exactly then)."""
    bad = 0
    for i in range(a.shape[0]):
        bad += 0 if a[i] - a[i] == 0.0 else 1
    return bad


@njit(cache=True, nogil=True, error_model="numpy")
def _reconstruct_chunk(theta, phi, screen, modes, out, ch, n_chunks):
    """Tiles of chunk ``ch`` of :func:`reconstruct`, one scratch: physical -> reduced phases, then the reduced MZIs
    in light order from the identity (each only on the columns its two rows can be non-zero in), then the screen.
    Returns the number of non-finite phases met."""
    t_total = theta.shape[0]
    n = screen.shape[1]
    m_total = theta.shape[1]
    nn = n * n
    buf = np.empty(2 * nn + 8 + 2 * n + 5 * m_total)  # one allocation (a single call pays for each)
    Sr = buf[:nn].reshape((n, n))  # real, imaginary part
    Si = buf[nn + 8:2 * nn + 8].reshape((n, n))
    scr = buf[2 * nn + 8:2 * nn + 8 + n]  # reduced screen
    acc = buf[2 * nn + 8 + n:2 * nn + 8 + 2 * n]
    trig = buf[2 * nn + 8 + 2 * n:].reshape((5, m_total))  # reduced phi, sin and cos of theta/2, cos and sin of phi
    phr, sn, cn, er_, ei_ = trig[0], trig[1], trig[2], trig[3], trig[4]
    band = np.empty((2, n), dtype=np.int64)  # [lo, hi) of the non-zero columns of each row
    t0, t1 = _chunk_bounds(ch, t_total, n_chunks)
    bad = 0
    for t in range(t0, t1):
        bad += _count_non_finite(theta[t]) + _count_non_finite(phi[t]) + _count_non_finite(screen[t])
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
    return bad


def reconstruct(theta, phi, screen, modes, out, n_chunks) -> int:
    """Batched reconstruction: out[t] = diag(e^{i screen[t]}) prod_k M(theta[t,k], phi[t,k]) (complex). Returns the
    number of NaN or inf phases (their tiles' outputs hold NaN)."""
    return sum(run_chunks(_reconstruct_chunk, (theta, phi, screen, modes, out), theta.shape[0], n_chunks))
