"""Lane-batched mesh kernels: decomposition and reconstruction of LANES tiles side by side in the innermost (SIMD)
dimension, and the branch-free atan2 / sincos they use (private: arrays and scalars in, arrays out).

For small meshes the per-tile kernels (:mod:`._kernels_decompose`) are latency bound: every nulling step depends on
the previous one, and the O(n) two-row updates are too short to vectorize well. The kernels below run the *same
arithmetic* on LANES tiles at once, scratch laid out (row, col, lane), so each scalar step of the algorithm becomes
one SIMD instruction over tiles (the mode pattern of a mesh is the same for every tile). They call the same scalar
steps as the per-tile kernels (:mod:`._kernels_common`: Givens coefficients, 2x2 updates, phase bookkeeping) inside
their lane loops. Degenerate branches are selects, and atan2 / sin / cos are moved out of the dependent chain into
flat lane loops and computed by the branch-free :func:`_atan2v` / :func:`_sincos` below (vectorized; libm's are
scalar calls).

What is bit-identical and what is not: the updates are the same IEEE operations in the same order as the per-tile
kernels (no fastmath), so :func:`decompose_real_lanes` (the mapper's kernel, libm atan2 for theta; phi is 0 or
pi) equals :func:`decompose_real` to the bit. Only the trigonometry of the complex kernels differs:
:func:`decompose_complex_lanes` and :func:`reconstruct_lanes` agree with :func:`decompose_complex` and
:func:`reconstruct` to a few ulp, which the tests bound (phases within 1e-13 rad with the same exact zeros,
reconstructions within 1e-14 n).

(LANES = 32: with 8 the lane loops are fully unrolled and, numba running no SLP vectorizer, stay scalar.) Used for
n <= LANE_MAX_N, where the (n, n, LANES) scratch stays in L1/L2. error_model="numpy": a division by zero in the
branch a select discards gives inf instead of raising (and keeps loops vectorizable).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from ._kernels_common import (HALF_PI, SCHED_COL, SCHED_ROW, SCHED_ROW_OP, SCHED_SLOT, _apply_reduced_mzi,
                              _chunk_bounds, _chunk_count, _commute_step, _givens_c, _givens_r, _mix_c, _mix_r,
                              _nulled_errors, _nulling_schedule, _screen_out, _sign_phase, _to_physical_step,
                              _to_reduced_step, _widen_band, _wrap)

LANES = 32
LANE_MAX_N = 32


# Branch-free atan2 / sincos (Cephes atan.c, sin.c: rational / polynomial on a reduced range, ~1 ulp), written
# with selects only so that the lane loops that call them vectorize; libm's versions are scalar calls. Compared
# with math.atan2 / math.sin / math.cos in the tests (a few ulp). _sincos is accurate for |x| <= SINCOS_MAX_ARG;
# the callers fall back to libm for a block holding a larger argument.
_AT_P0 = -8.750608600031904122785e-1
_AT_P1 = -1.615753718733365076637e1
_AT_P2 = -7.500855792314704667340e1
_AT_P3 = -1.228866684490136173410e2
_AT_P4 = -6.485021904942025371773e1
_AT_Q0 = 2.485846490142306297962e1
_AT_Q1 = 1.650270098316988542046e2
_AT_Q2 = 4.328810604912902668951e2
_AT_Q3 = 4.853903996359136964868e2
_AT_Q4 = 1.945506571482613964425e2
_T3P8 = 2.41421356237309504880
_MOREBITS = 6.123233995736765886130e-17
_PIO4 = 0.25 * math.pi
_SC_S0 = 1.58962301576546568060e-10
_SC_S1 = -2.50507477628578072866e-8
_SC_S2 = 2.75573136213857245213e-6
_SC_S3 = -1.98412698295895385996e-4
_SC_S4 = 8.33333333332211858878e-3
_SC_S5 = -1.66666666666666307295e-1
_SC_C0 = -1.13585365213876817300e-11
_SC_C1 = 2.08757008419747316778e-9
_SC_C2 = -2.75573141792967388112e-7
_SC_C3 = 2.48015872888517045348e-5
_SC_C4 = -1.38888888888730564116e-3
_SC_C5 = 4.16666666666665929218e-2
_DP1 = 7.85398125648498535156e-1
_DP2 = 3.77489470793079817668e-8
_DP3 = 2.69515142907905952645e-15
_FOPI = 1.27323954473516268615
SINCOS_MAX_ARG = 1.0e6


@njit(cache=True, nogil=True, error_model="numpy")
def _atan2v(y, x):
    """atan2(y, x) in [-pi, pi], IEEE signed zeros as libm (atan2(-0, 1) = -0, atan2(+-0, -1) = +-pi)."""
    ay = abs(y)
    ax = abs(x)
    t = ay / ax  # inf for ax == 0 (-> pi/2), nan for 0/0 (-> 0 below)
    big = t > _T3P8
    mid = t > 0.66
    xr = -1.0 / t if big else ((t - 1.0) / (t + 1.0) if mid else t)
    base = HALF_PI if big else (_PIO4 if mid else 0.0)
    corr = _MOREBITS if big else (0.5 * _MOREBITS if mid else 0.0)
    z = xr * xr
    num = (((_AT_P0 * z + _AT_P1) * z + _AT_P2) * z + _AT_P3) * z + _AT_P4
    den = ((((z + _AT_Q0) * z + _AT_Q1) * z + _AT_Q2) * z + _AT_Q3) * z + _AT_Q4
    r = z * num / den
    a = base + ((xr * r + xr) + corr)
    a = 0.0 if ay == 0.0 else a
    a = math.pi - a if math.copysign(1.0, x) < 0.0 else a
    return math.copysign(a, y)


@njit(cache=True, nogil=True, error_model="numpy")
def _sincos(x):
    """(sin x, cos x) for |x| <= SINCOS_MAX_ARG (Cody-Waite reduction by pi/4 in three parts)."""
    ax = abs(x)
    y = math.floor(ax * _FOPI)
    y = y + (y - 2.0 * math.floor(0.5 * y))  # round odd octants up: y even
    z = ((ax - y * _DP1) - y * _DP2) - y * _DP3
    zz = z * z
    ps = z + z * (zz * (((((_SC_S0 * zz + _SC_S1) * zz + _SC_S2) * zz + _SC_S3) * zz + _SC_S4) * zz + _SC_S5))
    pc = 1.0 - 0.5 * zz + zz * zz * (((((_SC_C0 * zz + _SC_C1) * zz + _SC_C2) * zz + _SC_C3) * zz + _SC_C4) * zz + _SC_C5)
    j = y - 8.0 * math.floor(0.125 * y)  # 0, 2, 4 or 6
    swap = j == 2.0 or j == 6.0
    sv = pc if swap else ps
    cv = ps if swap else pc
    sv = -sv if j >= 4.0 else sv
    cv = -cv if (j == 2.0 or j == 4.0) else cv
    sv = -sv if x < 0.0 else sv
    return sv, cv


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
    """Lane version of the complex nulling step on S[r, c] (per tile: ``_kernels_decompose._null_c``); the
    angles' atan2 arguments go to (yth, xth)[k], (yph, xph)[k]; co (6, LANES) is scratch."""
    n = Sr.shape[0]
    ix, jx, iv, jv = _line_pair(r, c, row, c if row else r)
    for l in range(LANES):
        yth[k, l], xth[k, l], yph[k, l], er, ei, s, cv = _givens_c(Sr[ix, jx, l], Si[ix, jx, l], Sr[iv, jv, l],
                                                                   Si[iv, jv, l], row)
        xph[k, l] = er
        co[0, l] = s * er
        co[1, l] = s * ei
        co[2, l] = cv * er
        co[3, l] = cv * ei
        co[4, l] = s
        co[5, l] = cv
    for q in range(c if row else 0, n if row else r + 1):
        i0, j0, i1, j1 = _line_pair(r, c, row, q)
        for l in range(LANES):
            Sr[i0, j0, l], Si[i0, j0, l], Sr[i1, j1, l], Si[i1, j1, l] = _mix_c(
                Sr[i0, j0, l], Si[i0, j0, l], Sr[i1, j1, l], Si[i1, j1, l],
                co[0, l], co[1, l], co[2, l], co[3, l], co[4, l], co[5, l])
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
        for k in range(m_total):
            for l in range(LANES):
                yth[k, l] = 2.0 * _atan2v(yth[k, l], xth[k, l])
                yph[k, l] = _wrap(_atan2v(yph[k, l], xph[k, l]))
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
def _decompose_lane_chunk(U, modes, mesh, theta, phi, screen, err, ch, n_chunks, imag):
    """Blocks of chunk ``ch`` of :func:`decompose_complex_lanes` (``imag`` None: :func:`decompose_real_lanes`)."""
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
    co = np.empty((6, LANES))
    sched, n_right = _nulling_schedule(n, mesh)
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


@njit(cache=True, nogil=True, parallel=True, error_model="numpy")
def decompose_complex_lanes(U, modes, mesh, theta, phi, screen, err, n_chunks):
    """:func:`~._kernels_decompose.decompose_complex` with LANES tiles per SIMD step: the same nulling, in the same
    order, but the branch-free atan2, so phases agree to a few ulp (not bit for bit; see the module docstring)."""
    n_chunks = _chunk_count(_lane_blocks(U.shape[0]), n_chunks)
    for ch in prange(n_chunks):
        _decompose_lane_chunk(U, modes, mesh, theta, phi, screen, err, ch, n_chunks, True)


@njit(cache=True, nogil=True, parallel=True, error_model="numpy")
def decompose_real_lanes(U, modes, mesh, theta, phi, screen, err, n_chunks):
    """:func:`~._kernels_decompose.decompose_real` with LANES tiles per SIMD step (same outputs, bit for bit)."""
    n_chunks = _chunk_count(_lane_blocks(U.shape[0]), n_chunks)
    for ch in prange(n_chunks):
        _decompose_lane_chunk(U, modes, mesh, theta, phi, screen, err, ch, n_chunks, None)


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
def _lanes_mzi_trig(th, phr, sn, cn, er_, ei_):
    """sin, cos of theta/2 and cos, sin of phi of every MZI and lane: the trigonometry, out of the update chain,
    branch-free; a block holding an argument beyond SINCOS_MAX_ARG (or non-finite) takes libm's instead."""
    bad = 0
    for k in range(th.shape[0]):
        for l in range(LANES):
            h = 0.5 * th[k, l]
            p = phr[k, l]
            sv, cv = _sincos(h)
            sn[k, l] = sv
            cn[k, l] = cv
            sv, cv = _sincos(p)
            er_[k, l] = cv
            ei_[k, l] = sv
            bad += 0 if (abs(h) <= SINCOS_MAX_ARG and abs(p) <= SINCOS_MAX_ARG) else 1
    if bad:  # huge (or non-finite) phases: libm's full range reduction
        for k in range(th.shape[0]):
            for l in range(LANES):
                sn[k, l] = math.sin(0.5 * th[k, l])
                cn[k, l] = math.cos(0.5 * th[k, l])
                er_[k, l] = math.cos(phr[k, l])
                ei_[k, l] = math.sin(phr[k, l])


@njit(cache=True, nogil=True, error_model="numpy")
def _reconstruct_lane_chunk(theta, phi, screen, modes, out, ch, n_chunks):
    """Blocks of chunk ``ch`` of :func:`reconstruct_lanes`."""
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
    for blk in range(b0, b1):
        t0 = blk * LANES
        nl = min(LANES, t_total - t0)
        _lanes_gather(theta, t0, nl, th)
        _lanes_gather(phi, t0, nl, phr)
        _lanes_gather(screen, t0, nl, scr)
        _lanes_physical_to_reduced(th, phr, scr, modes, acc)
        _lanes_mzi_trig(th, phr, sn, cn, er_, ei_)
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


@njit(cache=True, nogil=True, parallel=True, error_model="numpy")
def reconstruct_lanes(theta, phi, screen, modes, out, n_chunks):
    """:func:`~._kernels_decompose.reconstruct` with LANES tiles per SIMD step: the same updates, but sin / cos
    from the branch-free :func:`_sincos`, so entries agree to a few ulp (not bit for bit)."""
    n_chunks = _chunk_count(_lane_blocks(theta.shape[0]), n_chunks)
    for ch in prange(n_chunks):
        _reconstruct_lane_chunk(theta, phi, screen, modes, out, ch, n_chunks)
