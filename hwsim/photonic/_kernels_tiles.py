"""Tile kernels of the mapper: which tiles of a weight matrix hold weights, moving tiles in and out of it,
the heater power sum of programmed phases, and the forward model of a programmed tile through imperfect
couplers (private: arrays and scalars in, arrays out). Mesh decomposition is in :mod:`._kernels_decompose` and
:mod:`._kernels_lanes`; conventions in :mod:`._kernels_common`.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from ._kernels_common import PHASE_SNAP_RAD, TWO_PI, _chunk_bounds, _wrap, run_chunks


@njit(cache=True, nogil=True)
def tile_nonzero(W, k):
    """(ceil(out/k), ceil(in/k)) bool: does tile (r, c) of W hold any non-zero weight."""
    rows, cols = W.shape
    nr = (rows + k - 1) // k
    nc = (cols + k - 1) // k
    out = np.zeros((nr, nc), dtype=np.bool_)
    for i in range(rows):
        ri = i // k
        for j in range(cols):
            if W[i, j] != 0:
                out[ri, j // k] = True
    return out


@njit(cache=True, nogil=True)
def _tile_window(tr, tc, t, k, W):
    """(r0, c0, h, w): top-left corner in W of its k x k tile (tr[t], tc[t]), and the part of the tile inside W
    (h x w, cropped at the matrix edge)."""
    r0 = tr[t] * k
    c0 = tc[t] * k
    return r0, c0, min(k, W.shape[0] - r0), min(k, W.shape[1] - c0)


@njit(cache=True, nogil=True)
def gather_tiles(W, k, tr, tc, out):
    """out[t] = the k x k tile (tr[t], tc[t]) of W, zero padded at the matrix edge (float64). Element loops, not
    slices: slice assignment with a dtype cast compiled 10x slower (seconds of cold start)."""
    for t in range(tr.shape[0]):
        r0, c0, h, w = _tile_window(tr, tc, t, k, W)
        for i in range(k):
            for j in range(k):
                out[t, i, j] = W[r0 + i, c0 + j] if i < h and j < w else 0.0


@njit(cache=True, nogil=True)
def scatter_tiles(tiles, k, tr, tc, W):
    """W[tile (tr[t], tc[t])] = tiles[t], cropped at the matrix edge (W zero elsewhere, set by the caller)."""
    for t in range(tr.shape[0]):
        r0, c0, h, w = _tile_window(tr, tc, t, k, W)
        for i in range(h):
            for j in range(w):
                W[r0 + i, c0 + j] = tiles[t, i, j]


@njit(cache=True, nogil=True)
def heater_power_sum(phases, push_pull):
    """Sum over all phases of phi/pi (standard, phi in [0, 2pi)) or |phi|/pi (push-pull, phi in (-pi, pi]),
    and the number of heaters on (phase != 0 after wrapping). Serial float64 accumulation.

    (Serial on purpose: a prange over blocks measured 3x slower on the shared 2-core machine, and the
    serial order keeps the sum bit-identical to earlier versions.)"""
    total = 0.0
    on = 0
    flat = phases.ravel()
    for i in range(flat.shape[0]):
        p = flat[i]
        if p < PHASE_SNAP_RAD or p >= TWO_PI - PHASE_SNAP_RAD:  # elsewhere _wrap is the identity: skip it
            p = _wrap(p)
        if p != 0.0:
            on += 1
            if push_pull and p > math.pi:
                p = TWO_PI - p
            total += p / math.pi
    return total, on


@njit(cache=True, nogil=True)
def _apply_mzi_rows(Xr, Xi, m, n, m00r, m00i, m01r, m01i, m10r, m10i, m11r, m11i):
    for q in range(n):
        ur = Xr[m, q]
        ui = Xi[m, q]
        vr = Xr[m + 1, q]
        vi = Xi[m + 1, q]
        Xr[m, q] = m00r * ur - m00i * ui + m01r * vr - m01i * vi
        Xi[m, q] = m00r * ui + m00i * ur + m01r * vi + m01i * vr
        Xr[m + 1, q] = m10r * ur - m10i * ui + m11r * vr - m11i * vi
        Xi[m + 1, q] = m10r * ui + m10i * ur + m11r * vi + m11i * vr


@njit(cache=True, nogil=True)
def _mesh_rows(Xr, Xi, theta, phi, kappa, modes, n):
    """X <- mesh X (no screen) with couplers of cross-power kappa[2k], kappa[2k+1] (0.5 = ideal).

    M = B(k2) diag(e^{i theta},1) B(k1) diag(e^{i phi},1), B(k) = [[t, i s], [i s, t]], t = sqrt(1-k), s = sqrt(k):
    M00 = e^{i phi}(t1 t2 e^{i theta} - s1 s2), M01 = i(s1 t2 e^{i theta} + s2 t1),
    M10 = i e^{i phi}(s2 t1 e^{i theta} + s1 t2), M11 = t1 t2 - s1 s2 e^{i theta}.
    """
    for k in range(theta.shape[0]):
        k1 = kappa[2 * k]
        k2 = kappa[2 * k + 1]
        t1 = math.sqrt(1.0 - k1)
        s1 = math.sqrt(k1)
        t2 = math.sqrt(1.0 - k2)
        s2 = math.sqrt(k2)
        ctr = math.cos(theta[k])
        cti = math.sin(theta[k])
        cpr = math.cos(phi[k])
        cpi = math.sin(phi[k])
        ar = t1 * t2 * ctr - s1 * s2  # t1 t2 e^{i theta} - s1 s2
        ai = t1 * t2 * cti
        m00r = cpr * ar - cpi * ai
        m00i = cpr * ai + cpi * ar
        br = s1 * t2 * ctr + s2 * t1
        bi = s1 * t2 * cti
        m01r = -bi
        m01i = br
        cr = s2 * t1 * ctr + s1 * t2
        ci = s2 * t1 * cti
        # i e^{i phi} (cr + i ci)
        er = cpr * cr - cpi * ci
        ei = cpr * ci + cpi * cr
        m10r = -ei
        m10i = er
        m11r = t1 * t2 - s1 * s2 * ctr
        m11i = -s1 * s2 * cti
        _apply_mzi_rows(Xr, Xi, modes[k], n, m00r, m00i, m01r, m01i, m10r, m10i, m11r, m11i)


@njit(cache=True, nogil=True)
def _scale_rows(Xr, Xi, ang, amp, n):
    for i in range(n):
        er = amp[i] * math.cos(ang[i])
        ei = amp[i] * math.sin(ang[i])
        for q in range(n):
            xr = Xr[i, q]
            xi = Xi[i, q]
            Xr[i, q] = xr * er - xi * ei
            Xi[i, q] = xr * ei + xi * er


@njit(cache=True, nogil=True)
def _tiles_forward_chunk(phases, gains, kappa, modes, n, out, ch, n_chunks):
    """Tiles of chunk ``ch`` of :func:`tiles_forward`, one scratch."""
    t_total = phases.shape[0]
    m = n * (n - 1) // 2
    Xr = np.empty((n, n))
    Xi = np.empty((n, n))
    ang = np.empty(n)
    amp = np.empty(n)
    t0, t1_ = _chunk_bounds(ch, t_total, n_chunks)
    for t in range(t0, t1_):
        p = phases[t]
        kap = kappa[t]
        for i in range(n):
            for j in range(n):
                Xr[i, j] = 0.0
                Xi[i, j] = 0.0
            Xr[i, i] = 1.0
        _mesh_rows(Xr, Xi, p[0:m], p[m:2 * m], kap[0:2 * m], modes, n)
        # V screen, then the attenuator column (complex transmission M00 with phi = 0)
        for i in range(n):
            th = p[2 * m + n + i]
            k1 = kap[4 * m + 2 * i]
            k2 = kap[4 * m + 2 * i + 1]
            tt = math.sqrt((1.0 - k1) * (1.0 - k2))
            ss = math.sqrt(k1 * k2)
            ar = tt * math.cos(th) - ss
            ai = tt * math.sin(th)
            amp[i] = math.sqrt(ar * ar + ai * ai)
            ang[i] = p[2 * m + i] + math.atan2(ai, ar)
        _scale_rows(Xr, Xi, ang, amp, n)
        _mesh_rows(Xr, Xi, p[2 * m + 2 * n:3 * m + 2 * n], p[3 * m + 2 * n:4 * m + 2 * n], kap[2 * m:4 * m], modes, n)
        g = gains[t]
        for i in range(n):
            ci = math.cos(p[4 * m + 2 * n + i])
            si = math.sin(p[4 * m + 2 * n + i])
            for j in range(n):
                out[t, i, j] = g * (Xr[i, j] * ci - Xi[i, j] * si)


def tiles_forward(phases, gains, kappa, modes, n, out, n_chunks) -> None:
    """Real tile matrices gain * Re(U_mesh A V_mesh) from per-tile phase rows (layout of mapping.py).

    phases (T, 4M + 3n); kappa (T, 4M + 2n) coupler cross-powers in the order V MZIs (2 per MZI), U MZIs,
    attenuators (2 each). Attenuator i transmits its top input to its top output: M00 with phi = 0.
    Homodyne detection of the in-phase quadrature takes the real part. Chunks of tiles on up to numba's thread count
    (:func:`._kernels_common.run_chunks`); n_chunks = 1 runs on the calling thread.
    """
    run_chunks(_tiles_forward_chunk, (phases, gains, kappa, modes, n, out), phases.shape[0], n_chunks)
