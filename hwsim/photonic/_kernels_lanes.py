"""Lane-batched mesh kernels: decomposition and reconstruction of LANES tiles side by side in the innermost (SIMD)
dimension (private: arrays and scalars in, arrays out).

For small meshes the per-tile kernels (:mod:`._kernels_decompose`) are latency bound: every nulling step depends on
the previous one, and the O(n) two-row updates are too short to vectorize well. The kernels below run the *same
arithmetic* on LANES tiles at once, scratch laid out (row, col, lane), so each scalar step of the algorithm becomes
one SIMD instruction over tiles (the mode pattern of a mesh is the same for every tile). They call the same scalar
steps as the per-tile kernels (:mod:`._kernels_common`: Givens coefficients, 2x2 updates, phase bookkeeping) inside
their lane loops. Degenerate branches are selects, and atan2 / sin / cos are moved out of the dependent chain into
flat loops and computed by the branch-free ``_atan2v`` / ``_sincos`` of :mod:`._kernels_common` (vectorized; libm's
are scalar calls).

What is bit-identical: the updates are the same IEEE operations in the same order as the per-tile kernels (no
fastmath), and the trigonometry is the same too (the real path: libm atan2 for theta, phi 0 or pi; the complex
paths: the branch-free :func:`._kernels_common._atan2v` / :func:`._kernels_common._sincos`, which the per-tile
kernels also use since issue 16), so every lane kernel equals its per-tile kernel to the bit; the one exception is a
reconstruction block holding a phase beyond ``SINCOS_MAX_ARG``, which takes libm's sin / cos for all its tiles
(within 1e-14 n; the tests bound it).

The complex nulling step takes the fused form of ``_kernels_common._givens_cf`` like the per-tile kernel: every
lane's fused coefficients in one vectorized loop, and in the rare block where a lane's pivots fall outside its range
the polar form for those lanes and a per-lane select in the update (10-18 % more CPU per tile than the polar form
alone, the price of matching the per-tile kernel's faster single calls bit for bit). The drivers run nogil chunk
functions through ``_kernels_common.run_chunks`` (no ``prange``).

(LANES = 32: with 8 the lane loops are fully unrolled and, numba running no SLP vectorizer, stay scalar.) Used for
n <= LANE_MAX_N, where the (n, n, LANES) scratch stays in L1/L2. error_model="numpy": a division by zero in the
branch a select discards gives inf instead of raising (and keeps loops vectorizable).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from ._kernels_common import (SCHED_COL, SCHED_ROW, SCHED_ROW_OP, SCHED_SLOT, _apply_reduced_mzi, _atan2v,
                              _chunk_bounds, _commute_step, _complex_angles, _givens_fused, _givens_polar, _givens_r,
                              _mix_c, _mix_fused, _mix_r, _mzi_trig, _nulled_errors, _screen_out, _sign_phase,
                              _to_physical_step, _to_reduced_step, _widen_band, _wrap, nulling_schedule, run_chunks)

LANES = 32
LANE_MAX_N = 32


# --------------------------------------------------------------------------------------------------------
# moving tiles in and out of lanes
# --------------------------------------------------------------------------------------------------------
@njit(cache=True, nogil=True, error_model="numpy")
def _lane_blocks(t_total):
    """Blocks of LANES tiles (the last one partly filled) in a batch of t_total tiles."""
    return (t_total + LANES - 1) // LANES


@njit(cache=True, nogil=True, error_model="numpy")
def _lanes_load(U, t0, nl, Sr, Si, imag):
    """Sr (+ i Si) [i, j, l] = U[t0 + l, i, j] for the nl tiles of the block, the identity in unused lanes
    (Si untouched when ``imag`` is None)."""
    n = Sr.shape[0]
    for i in range(n):
        for j in range(n):
            for l in range(LANES):
                z = U[t0 + l, i, j] if l < nl else (1.0 if i == j else 0.0)
                Sr[i, j, l] = z.real
                if imag is not None:
                    Si[i, j, l] = z.imag


@njit(cache=True, nogil=True, error_model="numpy")
def _lanes_gather(src, t0, nl, dst):
    """dst[k, l] = src[t0 + l, k] for the nl tiles of the block, 0 in unused lanes."""
    for k in range(dst.shape[0]):
        for l in range(LANES):
            dst[k, l] = src[t0 + l, k] if l < nl else 0.0


@njit(cache=True, nogil=True, error_model="numpy")
def _lanes_scatter(src, t0, nl, dst):
    """dst[t0 + l, k] = src[k, l] for the nl tiles of the block."""
    for l in range(nl):
        for k in range(src.shape[0]):
            dst[t0 + l, k] = src[k, l]


# --------------------------------------------------------------------------------------------------------
# decomposition
# --------------------------------------------------------------------------------------------------------
@njit(cache=True, nogil=True, error_model="numpy")
def _line_pair(r, c, row, q):
    """Element q of the two lines a step nulling S[r, c] updates, as (i_x, j_x, i_v, j_v): rows (r-1, r) at
    column q for a row op, columns (c, c+1) at row q for a column op. The pivot pair is q = c (row op), r."""
    if row:
        return r - 1, q, r, q
    return q, c, q, c + 1


@njit(cache=True, nogil=True, error_model="numpy")
def _lanes_null_c(Sr, Si, r, c, row, k, yth, xth, yph, xph, co):
    """Lane version of the complex nulling step on S[r, c] (per tile: ``_kernels_decompose._decompose_chunk``); the
    angles' atan2 arguments go to (yth, xth)[k], (yph, xph)[k]; co (7, LANES) is scratch (co[6]: 1 where the lane
    takes the fused form). The fused coefficients of every lane in one vectorized loop; lanes outside the fused
    range (rare: tiny, zero or non-finite pivots) are redone in the polar form and the block updates with a per-lane
    select of both forms."""
    n = Sr.shape[0]
    ix, jx, iv, jv = _line_pair(r, c, row, c if row else r)
    slow = 0
    for l in range(LANES):
        f, co[0, l], co[1, l], co[2, l], co[3, l], co[4, l], co[5, l], yth[k, l], xth[k, l], yph[k, l], xph[k, l] = (
            _givens_fused(Sr[ix, jx, l], Si[ix, jx, l], Sr[iv, jv, l], Si[iv, jv, l], row))
        co[6, l] = 1.0 if f else 0.0
        slow += 0 if f else 1
    q0 = c if row else 0
    q1 = n if row else r + 1
    if slow == 0:
        for q in range(q0, q1):
            i0, j0, i1, j1 = _line_pair(r, c, row, q)
            for l in range(LANES):
                Sr[i0, j0, l], Si[i0, j0, l], Sr[i1, j1, l], Si[i1, j1, l] = _mix_fused(
                    Sr[i0, j0, l], Si[i0, j0, l], Sr[i1, j1, l], Si[i1, j1, l],
                    co[0, l], co[1, l], co[2, l], co[3, l], co[4, l], co[5, l])
    else:
        for l in range(LANES):
            if co[6, l] == 0.0:
                (_, co[0, l], co[1, l], co[2, l], co[3, l], co[4, l], co[5, l], yth[k, l], xth[k, l], yph[k, l],
                 xph[k, l]) = _givens_polar(Sr[ix, jx, l], Si[ix, jx, l], Sr[iv, jv, l], Si[iv, jv, l], row)
        for q in range(q0, q1):
            i0, j0, i1, j1 = _line_pair(r, c, row, q)
            for l in range(LANES):
                xr = Sr[i0, j0, l]
                xi = Si[i0, j0, l]
                vr = Sr[i1, j1, l]
                vi = Si[i1, j1, l]
                a0, a1, a2, a3 = _mix_fused(xr, xi, vr, vi, co[0, l], co[1, l], co[2, l], co[3, l], co[4, l], co[5, l])
                b0, b1, b2, b3 = _mix_c(xr, xi, vr, vi, co[0, l], co[1, l], co[2, l], co[3, l], co[4, l], co[5, l])
                fu = co[6, l] != 0.0
                Sr[i0, j0, l] = a0 if fu else b0
                Si[i0, j0, l] = a1 if fu else b1
                Sr[i1, j1, l] = a2 if fu else b2
                Si[i1, j1, l] = a3 if fu else b3
    for l in range(LANES):
        Sr[r, c, l] = 0.0
        Si[r, c, l] = 0.0


@njit(cache=True, nogil=True, error_model="numpy")
def _lanes_null_r(S, r, c, row, k, yth, xth, yph, xph, co):
    """Lane version of the real nulling step (``_kernels_decompose._null_r``): xph[k] = -1 where phi = pi (the
    sign flips), else 1; yph is not written (one store stream fewer keeps this loop vectorized: LLVM gives up
    on a loop needing too many runtime alias checks)."""
    n = S.shape[0]
    ix, jx, iv, jv = _line_pair(r, c, row, c if row else r)
    for l in range(LANES):
        yth[k, l], xth[k, l], neg, s, cv = _givens_r(S[ix, jx, l], S[iv, jv, l], row)
        xph[k, l] = -1.0 if neg else 1.0
        co[0, l] = -s if neg else s
        co[1, l] = -cv if neg else cv
        co[2, l] = s
        co[3, l] = cv
    for q in range(c if row else 0, n if row else r + 1):
        i0, j0, i1, j1 = _line_pair(r, c, row, q)
        for l in range(LANES):
            S[i0, j0, l], S[i1, j1, l] = _mix_r(S[i0, j0, l], S[i1, j1, l], co[0, l], co[1, l], co[2, l], co[3, l])
    for l in range(LANES):
        S[r, c, l] = 0.0


@njit(cache=True, nogil=True, error_model="numpy")
def _lanes_angles(Sr, Si, yth, xth, yph, xph, sc, imag):
    """The atan2s of a nulled block, out of the dependent chain: theta in yth, phi in yph (wrapped; on the real
    path pi or 0 from the sign in xph), the output screen in sc. theta takes libm's atan2 on the real path, the
    mapper's (bit-identical to the per-tile kernel: an ulp can move a phase that is zero up to rounding across
    the 0 / 2*pi wrap, i.e. change a heater's power by 2 P_pi), the branch-free one on the complex path."""
    m_total = yth.shape[0]
    n = sc.shape[0]
    if imag is None:
        for k in range(m_total):
            for l in range(LANES):
                yth[k, l] = 2.0 * math.atan2(yth[k, l], xth[k, l])
                yph[k, l] = _sign_phase(xph[k, l])
        for j in range(n):
            for l in range(LANES):
                sc[j, l] = _sign_phase(Sr[j, j, l])
    else:
        _complex_angles(yth.reshape(-1), xth.reshape(-1), yph.reshape(-1), xph.reshape(-1))
        for j in range(n):
            for l in range(LANES):
                sc[j, l] = _atan2v(Si[j, j, l], Sr[j, j, l])


@njit(cache=True, nogil=True, error_model="numpy")
def _lanes_commute_and_physical(th, ph, sc, modes, kr, acc):
    """Lane version of ``_commute_left`` then ``_reduced_to_physical`` on (m, L) / (n, L) arrays."""
    m_total = th.shape[0]
    n = sc.shape[0]
    for k in range(kr, m_total):
        m = modes[k]
        for l in range(LANES):
            sc[m, l], ph[k, l] = _commute_step(sc[m, l], sc[m + 1, l], ph[k, l])
    acc[:, :] = 0.0
    for k in range(m_total):
        m = modes[k]
        for l in range(LANES):
            th[k, l], ph[k, l], b = _to_physical_step(th[k, l], ph[k, l], acc[m, l], acc[m + 1, l])
            acc[m, l] = b
            acc[m + 1, l] = b
    for j in range(n):
        for l in range(LANES):
            sc[j, l] = _wrap(sc[j, l] + acc[j, l])


@njit(cache=True, nogil=True, error_model="numpy")
def _decompose_lane_chunk(U, modes, sched, n_right, theta, phi, screen, err, imag, ch, n_chunks):
    """Blocks of chunk ``ch`` of :func:`decompose_lanes` (``imag`` None: the real path)."""
    t_total = U.shape[0]
    n = U.shape[1]
    m_total = theta.shape[1]
    S = np.empty((2, n, n, LANES))  # real, imaginary part
    Sr = S[0]
    Si = S[1]
    angles = np.empty((4, m_total, LANES))  # per MZI: the atan2 arguments of theta and phi
    yth = angles[0]
    xth = angles[1]
    yph = angles[2]
    xph = angles[3]
    sc = np.empty((n, LANES))
    acc = np.empty((n, LANES))
    co = np.empty((7, LANES))
    b0, b1 = _chunk_bounds(ch, _lane_blocks(t_total), n_chunks)
    for blk in range(b0, b1):
        t0 = blk * LANES
        nl = min(LANES, t_total - t0)
        _lanes_load(U, t0, nl, Sr, Si, imag)
        for s in range(m_total):
            r = sched[s, SCHED_ROW]
            c = sched[s, SCHED_COL]
            row = sched[s, SCHED_ROW_OP] != 0
            if imag is None:
                _lanes_null_r(Sr, r, c, row, sched[s, SCHED_SLOT], yth, xth, yph, xph, co)
            else:
                _lanes_null_c(Sr, Si, r, c, row, sched[s, SCHED_SLOT], yth, xth, yph, xph, co)
        _lanes_angles(Sr, Si, yth, xth, yph, xph, sc, imag)
        _nulled_errors(Sr, Si, nl, err, t0, imag)
        _lanes_commute_and_physical(yth, yph, sc, modes, n_right, acc)
        _lanes_scatter(yth, t0, nl, theta)
        _lanes_scatter(yph, t0, nl, phi)
        _lanes_scatter(sc, t0, nl, screen)


def decompose_lanes(U, modes, mesh, theta, phi, screen, err, n_chunks, imag) -> None:
    """:func:`~._kernels_decompose.decompose` with LANES tiles per SIMD step (same outputs, bit for bit): complex U
    with ``imag`` True, real orthogonal U with ``imag`` None. Chunks of blocks on up to numba's thread count."""
    sched, n_right = nulling_schedule(U.shape[1], mesh)
    run_chunks(_decompose_lane_chunk, (U, modes, sched, n_right, theta, phi, screen, err, imag),
               -(-U.shape[0] // LANES), n_chunks)


# --------------------------------------------------------------------------------------------------------
# reconstruction
# --------------------------------------------------------------------------------------------------------
@njit(cache=True, nogil=True, error_model="numpy")
def _lanes_physical_to_reduced(th, phr, scr, modes, acc):
    """Lane version of ``_physical_to_reduced``, in place on (m, L) / (n, L) arrays."""
    acc[:, :] = 0.0
    for k in range(th.shape[0]):
        m = modes[k]
        for l in range(LANES):
            phr[k, l], b = _to_reduced_step(th[k, l], phr[k, l], acc[m, l], acc[m + 1, l])
            acc[m, l] = b
            acc[m + 1, l] = b
    for j in range(scr.shape[0]):
        for l in range(LANES):
            scr[j, l] = scr[j, l] + acc[j, l]


@njit(cache=True, nogil=True, error_model="numpy")
def _reconstruct_lane_chunk(theta, phi, screen, modes, out, ch, n_chunks):
    """Blocks of chunk ``ch`` of :func:`reconstruct_lanes`; returns the number of non-finite phases met."""
    t_total = theta.shape[0]
    n = screen.shape[1]
    m_total = theta.shape[1]
    Sr = np.empty((n, n, LANES))
    Si = np.empty((n, n, LANES))
    per_mzi = np.empty((6, m_total, LANES))  # theta, reduced phi, sin and cos of theta/2, cos and sin of phi
    th, phr, sn, cn, er_, ei_ = per_mzi[0], per_mzi[1], per_mzi[2], per_mzi[3], per_mzi[4], per_mzi[5]
    scr = np.empty((n, LANES))
    acc = np.empty((n, LANES))
    lo = np.empty(n, dtype=np.int64)
    hi = np.empty(n, dtype=np.int64)
    b0, b1 = _chunk_bounds(ch, _lane_blocks(t_total), n_chunks)
    bad = 0
    for blk in range(b0, b1):
        t0 = blk * LANES
        nl = min(LANES, t_total - t0)
        _lanes_gather(theta, t0, nl, th)
        _lanes_gather(phi, t0, nl, phr)
        _lanes_gather(screen, t0, nl, scr)
        for a in (th, phr, scr):
            for i in range(a.shape[0]):
                for l in range(LANES):
                    bad += 0 if a[i, l] - a[i, l] == 0.0 else 1
        _lanes_physical_to_reduced(th, phr, scr, modes, acc)
        _mzi_trig(th.reshape(-1), phr.reshape(-1), sn.reshape(-1), cn.reshape(-1), er_.reshape(-1), ei_.reshape(-1))
        for i in range(n):
            for j in range(n):
                for l in range(LANES):
                    Sr[i, j, l] = 1.0 if i == j else 0.0
                    Si[i, j, l] = 0.0
            lo[i] = i
            hi[i] = i + 1
        for k in range(m_total):
            m = modes[k]
            a, b = _widen_band(lo, hi, m)
            s_ = sn[k]
            c_ = cn[k]
            er = er_[k]
            ei = ei_[k]
            for q in range(a, b):
                for l in range(LANES):
                    Sr[m, q, l], Si[m, q, l], Sr[m + 1, q, l], Si[m + 1, q, l] = _apply_reduced_mzi(
                        Sr[m, q, l], Si[m, q, l], Sr[m + 1, q, l], Si[m + 1, q, l], s_[l], c_[l], er[l], ei[l])
        _screen_out(Sr, Si, scr, nl, out, t0)
    return bad


def reconstruct_lanes(theta, phi, screen, modes, out, n_chunks) -> int:
    """:func:`~._kernels_decompose.reconstruct` with LANES tiles per SIMD step (same outputs, bit for bit, but for
    blocks holding a phase beyond SINCOS_MAX_ARG; see the module docstring). Returns the number of NaN or inf
    phases."""
    return sum(run_chunks(_reconstruct_lane_chunk, (theta, phi, screen, modes, out), -(-theta.shape[0] // LANES),
                          n_chunks))
