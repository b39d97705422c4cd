"""Numba kernels of the photonic back-end (private: arrays and scalars in, arrays out).

Conventions (documented for users in :mod:`hwsim.photonic.mesh`):

* Physical MZI on modes (m, m+1), internal phase ``theta`` (between the two 50:50 couplers) and external
  phase ``phi`` (on the top input arm, mode m)::

      M(theta, phi) = i e^{i theta/2} [[e^{i phi} sin(theta/2),  cos(theta/2)],
                                       [e^{i phi} cos(theta/2), -sin(theta/2)]]

* The kernels work with the *reduced* MZI ``G = M / (i e^{i theta/2}) = R(theta) diag(e^{i phi}, 1)`` where
  ``R = [[s, c], [c, -s]]`` (s = sin(theta/2), c = cos(theta/2)) is real and its own inverse. The global
  factor ``i e^{i theta/2}`` of each MZI is a phase common to its two modes; :func:`_reduced_to_physical`
  and :func:`_physical_to_reduced` push those common phases through the mesh to the output phase screen in
  O(N^2), so nulling and reconstruction only ever do "scale one row (column) by a phase, then apply a real
  2x2 reflection" -- and for real orthogonal inputs the scale is a sign flip (all-real arithmetic).
* A mesh is U = diag(e^{i screen}) M_{K-1} ... M_1 M_0: MZI 0 is met first by the light, the diagonal phase
  screen sits at the output. ``modes[k]`` is the upper mode of MZI k (light order).
* Every phase returned is wrapped into [0, 2*pi).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

TWO_PI = 2.0 * math.pi
HALF_PI = 0.5 * math.pi

MESH_CLEMENTS = 0
MESH_RECK = 1


# Phases within this distance of 0 (mod 2*pi) are rounding noise of the nulling, not programmed phases: they are
# set to exactly 0 (heater off). Measured on LeNet-300-100's 565k mapped phases: every near-zero phase lies below
# 1e-14 rad and none between 1e-14 and 1e-4 rad, so the snap changes no real phase; without it, 50 phases of
# -1e-15 wrapped to 2*pi - 1e-15 and cost 2 P_pi each (2.5 W of phantom heater power). 1e-12 rad is far below
# any heater DAC step (16 bits over 2*pi: 1e-4 rad) and at the round-trip tolerance of the decomposition.
PHASE_SNAP_RAD = 1e-12


@njit(cache=True, nogil=True)
def _wrap(x):
    """x mod 2*pi in [0, 2*pi - PHASE_SNAP_RAD); values within PHASE_SNAP_RAD of 0 or 2*pi become exactly 0."""
    r = x - TWO_PI * math.floor(x / TWO_PI)
    if r >= TWO_PI - PHASE_SNAP_RAD or r < PHASE_SNAP_RAD:
        r = 0.0
    return r


# --------------------------------------------------------------------------------------------------------
# phase bookkeeping between reduced (G) and physical (M) MZIs
# --------------------------------------------------------------------------------------------------------
@njit(cache=True, nogil=True)
def _reduced_to_physical(theta, phi, screen, modes, acc):
    """In place: U = diag(e^{i screen}) prod G(theta_k, phi_k)  ->  physical phases of the same U.

    M_k = g_k G_k with g_k = e^{i(theta_k/2 + pi/2)} on both modes, so G_k = M_k g_k^{-1}. Sweeping in light
    order with the accumulated per-mode phase ``acc`` met before MZI k:
    M(t, p) diag(e^{ia}, e^{ib}) = e^{ib} M(t, p + a - b) (common phase on both modes).
    """
    n = screen.shape[0]
    for j in range(n):
        acc[j] = 0.0
    for k in range(theta.shape[0]):
        m = modes[k]
        if theta[k] < PHASE_SNAP_RAD:
            theta[k] = 0.0
        gk = 0.5 * theta[k] + HALF_PI
        a = acc[m] - gk
        b = acc[m + 1] - gk
        phi[k] = _wrap(phi[k] + a - b)
        acc[m] = b
        acc[m + 1] = b
    for j in range(n):
        screen[j] = _wrap(screen[j] + acc[j])


@njit(cache=True, nogil=True)
def _physical_to_reduced(theta, phi, screen, modes, phi_out, screen_out, acc):
    """Inverse of :func:`_reduced_to_physical` (physical phases -> reduced phases), written to *_out."""
    n = screen.shape[0]
    for j in range(n):
        acc[j] = 0.0
    for k in range(theta.shape[0]):
        m = modes[k]
        a = acc[m]
        b = acc[m + 1]
        phi_out[k] = phi[k] + a - b
        b = b + 0.5 * theta[k] + HALF_PI
        acc[m] = b
        acc[m + 1] = b
    for j in range(n):
        screen_out[j] = screen[j] + acc[j]


# --------------------------------------------------------------------------------------------------------
# decomposition: complex unitary
# --------------------------------------------------------------------------------------------------------
_TINY = 2.0 ** -500  # below this, squares lose precision (2^-1000 is still a normal double)
_UPSCALE = 2.0 ** 600  # exact power-of-two scaling that brings any denormal or tiny magnitude above _TINY
_DOWNSCALE = 2.0 ** -600


@njit(cache=True, nogil=True, error_model="numpy")
def _polar(re, im):
    """(|z|, Re z / |z|, Im z / |z|) of z = re + i im, exact to rounding at any magnitude.

    Nulling leaves entries that are zero up to rounding (1e-160 and below, whose squares are denormal or 0);
    sqrt(re^2 + im^2) of such an entry is wrong by up to 100 %, and a Givens rotation built from it is not
    unitary. Tiny inputs are first scaled by 2^600 (exact). z = 0 gives (0, 0, 0): callers treat it as the
    degenerate case.
    """
    up = max(abs(re), abs(im)) < _TINY
    x = re * _UPSCALE if up else re
    y = im * _UPSCALE if up else im
    h = math.sqrt(x * x + y * y)
    ih = 0.0 if h == 0.0 else 1.0 / h
    return (h * _DOWNSCALE if up else h), x * ih, y * ih


@njit(cache=True, nogil=True, error_model="numpy")
def _sin_cos_half(y, x):
    """(sin(theta/2), cos(theta/2)) of theta = 2 atan2(y, x) for y, x >= 0, exact to rounding at any
    magnitude (tiny inputs scaled as in :func:`_polar`); (0, 1) for y = x = 0."""
    up = max(x, y) < _TINY
    xs = x * _UPSCALE if up else x
    ys = y * _UPSCALE if up else y
    h = math.sqrt(xs * xs + ys * ys)
    ih = 0.0 if h == 0.0 else 1.0 / h
    return ys * ih, (1.0 if h == 0.0 else xs * ih)


@njit(cache=True, nogil=True)
def _col_op_c(Sr, Si, r, c):
    """Null S[r, c] by S <- S G^dagger on columns (c, c+1), rows 0..r. Returns (theta, phi) of G.

    (a, b) = (S[r,c], S[r,c+1]); a e^{-i phi} sin(theta/2) + b cos(theta/2) = 0 gives
    theta = 2 atan2(|b|, |a|), e^{-i phi} = -conj(a) b / (|a||b|). No trigonometry in the update.
    """
    aa, ar, ai = _polar(Sr[r, c], Si[r, c])
    bb, br, bi = _polar(Sr[r, c + 1], Si[r, c + 1])
    th = 2.0 * math.atan2(bb, aa)
    if aa == 0.0 or bb == 0.0:
        er = 1.0
        ei = 0.0
        ph = 0.0
    else:
        er = -(ar * br + ai * bi)  # e^{-i phi}
        ei = -(ar * bi - ai * br)
        ph = _wrap(math.atan2(-ei, er))
    s, co = _sin_cos_half(bb, aa)
    sr = s * er
    si = s * ei
    cr = co * er
    ci = co * ei
    for q in range(r + 1):
        xr = Sr[q, c]
        xi = Si[q, c]
        vr = Sr[q, c + 1]
        vi = Si[q, c + 1]
        Sr[q, c] = sr * xr - si * xi + co * vr
        Si[q, c] = sr * xi + si * xr + co * vi
        Sr[q, c + 1] = cr * xr - ci * xi - s * vr
        Si[q, c + 1] = cr * xi + ci * xr - s * vi
    Sr[r, c] = 0.0
    Si[r, c] = 0.0
    return th, ph


@njit(cache=True, nogil=True)
def _row_op_c(Sr, Si, r, c, n):
    """Null S[r, c] by S <- G S on rows (r-1, r), columns c..n-1. Returns (theta, phi) of G.

    (u, v) = (S[r-1,c], S[r,c]); e^{i phi} cos(theta/2) u = sin(theta/2) v gives
    theta = 2 atan2(|u|, |v|), e^{i phi} = v conj(u) / (|u||v|).
    """
    uu, ur0, ui0 = _polar(Sr[r - 1, c], Si[r - 1, c])
    vv, vr0, vi0 = _polar(Sr[r, c], Si[r, c])
    th = 2.0 * math.atan2(uu, vv)
    if uu == 0.0 or vv == 0.0:
        er = 1.0
        ei = 0.0
        ph = 0.0
    else:
        er = vr0 * ur0 + vi0 * ui0  # e^{i phi}
        ei = vi0 * ur0 - vr0 * ui0
        ph = _wrap(math.atan2(ei, er))
    s, co = _sin_cos_half(uu, vv)
    sr = s * er
    si = s * ei
    cr = co * er
    ci = co * ei
    for q in range(c, n):
        xr = Sr[r - 1, q]
        xi = Si[r - 1, q]
        vr = Sr[r, q]
        vi = Si[r, q]
        Sr[r - 1, q] = sr * xr - si * xi + co * vr
        Si[r - 1, q] = sr * xi + si * xr + co * vi
        Sr[r, q] = cr * xr - ci * xi - s * vr
        Si[r, q] = cr * xi + ci * xr - s * vi
    Sr[r, c] = 0.0
    Si[r, c] = 0.0
    return th, ph


@njit(cache=True, nogil=True)
def _commute_left(theta, phi, d, modes, p, m_total):
    """Turn U = L_1^dag ... L_k^dag D R into D' L_1' ... L_k' R (left ops stored at slots m_total-1 .. p).

    G(t,p)^dagger diag(e^{ia}, e^{ib}) = diag(e^{i(b-p)}, e^{ib}) G(t, a-b).
    """
    for k in range(p, m_total):
        m = modes[k]
        a = d[m]
        b = d[m + 1]
        d[m] = b - phi[k]
        phi[k] = _wrap(a - b)


@njit(cache=True, nogil=True)
def _decompose_one_c(U, Sr, Si, theta, phi, screen, modes, mesh, acc):
    n = U.shape[0]
    for i in range(n):
        for j in range(n):
            Sr[i, j] = U[i, j].real
            Si[i, j] = U[i, j].imag
    m_total = theta.shape[0]
    kr = 0  # next right-op slot (light order from the input)
    kl = m_total - 1  # next left-op slot (filled from the output end)
    if mesh == MESH_CLEMENTS:
        for i in range(1, n):
            if i % 2 == 1:
                for j in range(i):
                    r = n - 1 - j
                    c = i - 1 - j
                    th, ph = _col_op_c(Sr, Si, r, c)
                    theta[kr] = th
                    phi[kr] = ph
                    kr += 1
            else:
                for j in range(1, i + 1):
                    r = n + j - i - 1
                    c = j - 1
                    th, ph = _row_op_c(Sr, Si, r, c, n)
                    theta[kl] = th
                    phi[kl] = ph
                    kl -= 1
    else:
        for r in range(n - 1, 0, -1):
            for c in range(r):
                th, ph = _col_op_c(Sr, Si, r, c)
                theta[kr] = th
                phi[kr] = ph
                kr += 1
    err = 0.0
    for j in range(n):
        screen[j] = math.atan2(Si[j, j], Sr[j, j])
        err = max(err, abs(math.sqrt(Sr[j, j] * Sr[j, j] + Si[j, j] * Si[j, j]) - 1.0))
        for q in range(j + 1, n):
            err = max(err, math.sqrt(Sr[j, q] * Sr[j, q] + Si[j, q] * Si[j, q]))
    _commute_left(theta, phi, screen, modes, kr, m_total)
    _reduced_to_physical(theta, phi, screen, modes, acc)
    return err


@njit(cache=True, nogil=True, parallel=True)
def decompose_complex(U, modes, mesh, theta, phi, screen, err, n_chunks):
    """Batched decomposition of complex unitaries U (T, n, n).

    Writes theta, phi (T, n(n-1)/2), screen (T, n) and err (T,): the largest deviation of the nulled matrix
    from a unit-modulus diagonal (0 up to rounding iff U is unitary; the nulling is a unitary change of basis,
    so this measures how far U is from unitary). Parallel over chunks of tiles; one scratch per chunk.
    """
    t_total = U.shape[0]
    n = U.shape[1]
    n_chunks = min(t_total, max(1, n_chunks))
    for ch in prange(n_chunks):
        Sr = np.empty((n, n))
        Si = np.empty((n, n))
        acc = np.empty(n)
        lo = ch * t_total // n_chunks
        hi = (ch + 1) * t_total // n_chunks
        for t in range(lo, hi):
            err[t] = _decompose_one_c(U[t], Sr, Si, theta[t], phi[t], screen[t], modes, mesh, acc)


# --------------------------------------------------------------------------------------------------------
# decomposition: real orthogonal (all-real arithmetic; phi in {0, pi} before the physical conversion)
# --------------------------------------------------------------------------------------------------------
@njit(cache=True, nogil=True)
def _col_op_r(S, r, c):
    a = S[r, c]
    b = S[r, c + 1]
    aa = abs(a)
    bb = abs(b)
    th = 2.0 * math.atan2(bb, aa)
    # e^{-i phi} = -sign(a b): phi = pi when a, b share a sign, else 0 (0 also when a or b is zero).
    neg = (a > 0.0 and b > 0.0) or (a < 0.0 and b < 0.0)
    s, co = _sin_cos_half(bb, aa)
    if neg:
        s_ = -s
        c_ = -co
    else:
        s_ = s
        c_ = co
    for q in range(r + 1):
        u = S[q, c]
        v = S[q, c + 1]
        S[q, c] = s_ * u + co * v
        S[q, c + 1] = c_ * u - s * v
    S[r, c] = 0.0
    return th, (math.pi if neg else 0.0)


@njit(cache=True, nogil=True)
def _row_op_r(S, r, c, n):
    u0 = S[r - 1, c]
    v0 = S[r, c]
    uu = abs(u0)
    vv = abs(v0)
    th = 2.0 * math.atan2(uu, vv)
    # e^{i phi} = sign(u v): phi = pi when u, v have opposite signs.
    neg = (u0 > 0.0 and v0 < 0.0) or (u0 < 0.0 and v0 > 0.0)
    s, co = _sin_cos_half(uu, vv)
    if neg:
        s_ = -s
        c_ = -co
    else:
        s_ = s
        c_ = co
    for q in range(c, n):
        u = S[r - 1, q]
        v = S[r, q]
        S[r - 1, q] = s_ * u + co * v
        S[r, q] = c_ * u - s * v
    S[r, c] = 0.0
    return th, (math.pi if neg else 0.0)


@njit(cache=True, nogil=True)
def _decompose_one_r(U, S, theta, phi, screen, modes, mesh, acc):
    n = U.shape[0]
    for i in range(n):
        for j in range(n):
            S[i, j] = U[i, j]
    m_total = theta.shape[0]
    kr = 0
    kl = m_total - 1
    if mesh == MESH_CLEMENTS:
        for i in range(1, n):
            if i % 2 == 1:
                for j in range(i):
                    th, ph = _col_op_r(S, n - 1 - j, i - 1 - j)
                    theta[kr] = th
                    phi[kr] = ph
                    kr += 1
            else:
                for j in range(1, i + 1):
                    th, ph = _row_op_r(S, n + j - i - 1, j - 1, n)
                    theta[kl] = th
                    phi[kl] = ph
                    kl -= 1
    else:
        for r in range(n - 1, 0, -1):
            for c in range(r):
                th, ph = _col_op_r(S, r, c)
                theta[kr] = th
                phi[kr] = ph
                kr += 1
    err = 0.0
    for j in range(n):
        screen[j] = math.pi if S[j, j] < 0.0 else 0.0
        err = max(err, abs(abs(S[j, j]) - 1.0))
        for q in range(j + 1, n):
            err = max(err, abs(S[j, q]))
    _commute_left(theta, phi, screen, modes, kr, m_total)
    _reduced_to_physical(theta, phi, screen, modes, acc)
    return err


@njit(cache=True, nogil=True, parallel=True)
def decompose_real(U, modes, mesh, theta, phi, screen, err, n_chunks):
    """Batched decomposition of real orthogonal matrices (T, n, n); outputs as :func:`decompose_complex`."""
    t_total = U.shape[0]
    n = U.shape[1]
    n_chunks = min(t_total, max(1, n_chunks))
    for ch in prange(n_chunks):
        S = np.empty((n, n))
        acc = np.empty(n)
        lo = ch * t_total // n_chunks
        hi = (ch + 1) * t_total // n_chunks
        for t in range(lo, hi):
            err[t] = _decompose_one_r(U[t], S, theta[t], phi[t], screen[t], modes, mesh, acc)


# --------------------------------------------------------------------------------------------------------
# reconstruction
# --------------------------------------------------------------------------------------------------------
@njit(cache=True, nogil=True)
def _reconstruct_one(theta, phi, screen, modes, Sr, Si, phr, scr, acc, lo, hi, out):
    n = screen.shape[0]
    _physical_to_reduced(theta, phi, screen, modes, phr, scr, acc)
    for i in range(n):
        for j in range(n):
            Sr[i, j] = 0.0
            Si[i, j] = 0.0
        Sr[i, i] = 1.0
        lo[i] = i
        hi[i] = i + 1
    for k in range(theta.shape[0]):
        m = modes[k]
        a = min(lo[m], lo[m + 1])
        b = max(hi[m], hi[m + 1])
        lo[m] = a
        lo[m + 1] = a
        hi[m] = b
        hi[m + 1] = b
        s = math.sin(0.5 * theta[k])
        co = math.cos(0.5 * theta[k])
        er = math.cos(phr[k])
        ei = math.sin(phr[k])
        for q in range(a, b):
            xr = Sr[m, q]
            xi = Si[m, q]
            ur = xr * er - xi * ei
            ui = xr * ei + xi * er
            vr = Sr[m + 1, q]
            vi = Si[m + 1, q]
            Sr[m, q] = s * ur + co * vr
            Si[m, q] = s * ui + co * vi
            Sr[m + 1, q] = co * ur - s * vr
            Si[m + 1, q] = co * ui - s * vi
    for i in range(n):
        er = math.cos(scr[i])
        ei = math.sin(scr[i])
        for j in range(n):
            xr = Sr[i, j]
            xi = Si[i, j]
            out[i, j] = complex(xr * er - xi * ei, xr * ei + xi * er)


@njit(cache=True, nogil=True, parallel=True)
def reconstruct(theta, phi, screen, modes, out, n_chunks):
    """Batched reconstruction: out[t] = diag(e^{i screen[t]}) prod_k M(theta[t,k], phi[t,k]) (complex)."""
    t_total = theta.shape[0]
    n = screen.shape[1]
    m_total = theta.shape[1]
    n_chunks = min(t_total, max(1, n_chunks))
    for ch in prange(n_chunks):
        Sr = np.empty((n, n))
        Si = np.empty((n, n))
        phr = np.empty(m_total)
        scr = np.empty(n)
        acc = np.empty(n)
        lo = np.empty(n, dtype=np.int64)
        hi = np.empty(n, dtype=np.int64)
        t0 = ch * t_total // n_chunks
        t1 = (ch + 1) * t_total // n_chunks
        for t in range(t0, t1):
            _reconstruct_one(theta[t], phi[t], screen[t], modes, Sr, Si, phr, scr, acc, lo, hi, out[t])


# --------------------------------------------------------------------------------------------------------
# lane-batched kernels: LANES tiles side by side in the innermost (SIMD) dimension
# --------------------------------------------------------------------------------------------------------
# For small meshes the per-tile kernels above are latency bound: every nulling step depends on the previous one,
# and the O(n) two-row updates are too short to vectorize well. The kernels below run the *same arithmetic* on
# LANES tiles at once, scratch laid out (row, col, lane), so each scalar step of the algorithm becomes one SIMD
# instruction over tiles (the mode pattern of a mesh is the same for every tile). Degenerate branches become
# selects, and atan2 / sin / cos are moved out of the dependent chain into flat lane loops and computed by the
# branch-free _atan2v / _sincos below (vectorized; libm's are scalar calls). The updates are the same IEEE
# operations in the same order as the per-tile kernels (no fastmath); only the trigonometry of the complex
# kernels differs, by a few ulp, which the tests bound. decompose_real_lanes (the mapper's kernel) keeps libm's
# atan2 and is bit-identical to decompose_real. (LANES = 32: with 8 the lane loops are fully unrolled and, numba running no SLP
# vectorizer, stay scalar.) Used for n <= LANE_MAX_N, where the (n, n, LANES) scratch stays in L1/L2. error_model="numpy":
# a division by zero in the branch a select discards gives inf instead of raising (and keeps loops vectorizable).
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


@njit(cache=True, nogil=True, error_model="numpy")
def _lanes_commute_and_physical(th, ph, sc, modes, kr, acc):
    """Lane version of :func:`_commute_left` then :func:`_reduced_to_physical` on (m, L) / (n, L) arrays."""
    m_total = th.shape[0]
    n = sc.shape[0]
    for k in range(kr, m_total):
        m = modes[k]
        for l in range(LANES):
            a = sc[m, l]
            b = sc[m + 1, l]
            sc[m, l] = b - ph[k, l]
            ph[k, l] = _wrap(a - b)
    for j in range(n):
        for l in range(LANES):
            acc[j, l] = 0.0
    for k in range(m_total):
        m = modes[k]
        for l in range(LANES):
            th[k, l] = 0.0 if th[k, l] < PHASE_SNAP_RAD else th[k, l]
            gk = 0.5 * th[k, l] + HALF_PI
            a = acc[m, l] - gk
            b = acc[m + 1, l] - gk
            ph[k, l] = _wrap(ph[k, l] + a - b)
            acc[m, l] = b
            acc[m + 1, l] = b
    for j in range(n):
        for l in range(LANES):
            sc[j, l] = _wrap(sc[j, l] + acc[j, l])


@njit(cache=True, nogil=True, error_model="numpy")
def _lanes_col_op_c(Sr, Si, r, c, yth, xth, yph, xph, k, co_r, co_i, cs):
    """Lane version of :func:`_col_op_c`; the angles' atan2 arguments go to (yth, xth), (yph, xph)[k]."""
    sr_ = co_r[0]
    si_ = co_i[0]
    cr_ = co_r[1]
    ci_ = co_i[1]
    s_ = cs[0]
    c_ = cs[1]
    for l in range(LANES):
        aa, ar, ai = _polar(Sr[r, c, l], Si[r, c, l])
        bb, br, bi = _polar(Sr[r, c + 1, l], Si[r, c + 1, l])
        yth[k, l] = bb
        xth[k, l] = aa
        deg = aa == 0.0 or bb == 0.0
        er = 1.0 if deg else -(ar * br + ai * bi)
        ei = 0.0 if deg else -(ar * bi - ai * br)
        yph[k, l] = 0.0 if deg else -ei
        xph[k, l] = er
        s, co = _sin_cos_half(bb, aa)
        sr_[l] = s * er
        si_[l] = s * ei
        cr_[l] = co * er
        ci_[l] = co * ei
        s_[l] = s
        c_[l] = co
    for q in range(r + 1):
        for l in range(LANES):
            xr = Sr[q, c, l]
            xi = Si[q, c, l]
            vr = Sr[q, c + 1, l]
            vi = Si[q, c + 1, l]
            Sr[q, c, l] = sr_[l] * xr - si_[l] * xi + c_[l] * vr
            Si[q, c, l] = sr_[l] * xi + si_[l] * xr + c_[l] * vi
            Sr[q, c + 1, l] = cr_[l] * xr - ci_[l] * xi - s_[l] * vr
            Si[q, c + 1, l] = cr_[l] * xi + ci_[l] * xr - s_[l] * vi
    for l in range(LANES):
        Sr[r, c, l] = 0.0
        Si[r, c, l] = 0.0


@njit(cache=True, nogil=True, error_model="numpy")
def _lanes_row_op_c(Sr, Si, r, c, n, yth, xth, yph, xph, k, co_r, co_i, cs):
    """Lane version of :func:`_row_op_c`."""
    sr_ = co_r[0]
    si_ = co_i[0]
    cr_ = co_r[1]
    ci_ = co_i[1]
    s_ = cs[0]
    c_ = cs[1]
    for l in range(LANES):
        uu, ur0, ui0 = _polar(Sr[r - 1, c, l], Si[r - 1, c, l])
        vv, vr0, vi0 = _polar(Sr[r, c, l], Si[r, c, l])
        yth[k, l] = uu
        xth[k, l] = vv
        deg = uu == 0.0 or vv == 0.0
        er = 1.0 if deg else vr0 * ur0 + vi0 * ui0
        ei = 0.0 if deg else vi0 * ur0 - vr0 * ui0
        yph[k, l] = ei
        xph[k, l] = er
        s, co = _sin_cos_half(uu, vv)
        sr_[l] = s * er
        si_[l] = s * ei
        cr_[l] = co * er
        ci_[l] = co * ei
        s_[l] = s
        c_[l] = co
    for q in range(c, n):
        for l in range(LANES):
            xr = Sr[r - 1, q, l]
            xi = Si[r - 1, q, l]
            vr = Sr[r, q, l]
            vi = Si[r, q, l]
            Sr[r - 1, q, l] = sr_[l] * xr - si_[l] * xi + c_[l] * vr
            Si[r - 1, q, l] = sr_[l] * xi + si_[l] * xr + c_[l] * vi
            Sr[r, q, l] = cr_[l] * xr - ci_[l] * xi - s_[l] * vr
            Si[r, q, l] = cr_[l] * xi + ci_[l] * xr - s_[l] * vi
    for l in range(LANES):
        Sr[r, c, l] = 0.0
        Si[r, c, l] = 0.0


@njit(cache=True, nogil=True, parallel=True, error_model="numpy")
def decompose_complex_lanes(U, modes, mesh, theta, phi, screen, err, n_chunks):
    """:func:`decompose_complex` with LANES tiles per SIMD step (same outputs, bit for bit)."""
    t_total = U.shape[0]
    n = U.shape[1]
    m_total = theta.shape[1]
    n_blocks = (t_total + LANES - 1) // LANES
    n_chunks = min(n_blocks, max(1, n_chunks))
    for ch in prange(n_chunks):
        Sr = np.empty((n, n, LANES))
        Si = np.empty((n, n, LANES))
        yth = np.empty((m_total, LANES))
        xth = np.empty((m_total, LANES))
        yph = np.empty((m_total, LANES))
        xph = np.empty((m_total, LANES))
        sc = np.empty((n, LANES))
        acc = np.empty((n, LANES))
        co_r = np.empty((2, LANES))
        co_i = np.empty((2, LANES))
        cs = np.empty((2, LANES))
        b0 = ch * n_blocks // n_chunks
        b1 = (ch + 1) * n_blocks // n_chunks
        for blk in range(b0, b1):
            t0 = blk * LANES
            nl = min(LANES, t_total - t0)
            for i in range(n):
                for j in range(n):
                    for l in range(LANES):
                        if l < nl:
                            Sr[i, j, l] = U[t0 + l, i, j].real
                            Si[i, j, l] = U[t0 + l, i, j].imag
                        else:
                            Sr[i, j, l] = 1.0 if i == j else 0.0
                            Si[i, j, l] = 0.0
            kr = 0
            kl = m_total - 1
            if mesh == MESH_CLEMENTS:
                for i in range(1, n):
                    if i % 2 == 1:
                        for j in range(i):
                            _lanes_col_op_c(Sr, Si, n - 1 - j, i - 1 - j, yth, xth, yph, xph, kr, co_r, co_i, cs)
                            kr += 1
                    else:
                        for j in range(1, i + 1):
                            _lanes_row_op_c(Sr, Si, n + j - i - 1, j - 1, n, yth, xth, yph, xph, kl, co_r, co_i, cs)
                            kl -= 1
            else:
                for r in range(n - 1, 0, -1):
                    for c in range(r):
                        _lanes_col_op_c(Sr, Si, r, c, yth, xth, yph, xph, kr, co_r, co_i, cs)
                        kr += 1
            # the libm calls, out of the dependent chain
            for k in range(m_total):
                for l in range(LANES):
                    yth[k, l] = 2.0 * _atan2v(yth[k, l], xth[k, l])
                    yph[k, l] = _wrap(_atan2v(yph[k, l], xph[k, l]))
            for j in range(n):
                for l in range(LANES):
                    sc[j, l] = _atan2v(Si[j, j, l], Sr[j, j, l])
            for l in range(nl):
                e = 0.0
                for j in range(n):
                    e = max(e, abs(math.sqrt(Sr[j, j, l] * Sr[j, j, l] + Si[j, j, l] * Si[j, j, l]) - 1.0))
                    for q in range(j + 1, n):
                        e = max(e, math.sqrt(Sr[j, q, l] * Sr[j, q, l] + Si[j, q, l] * Si[j, q, l]))
                err[t0 + l] = e
            _lanes_commute_and_physical(yth, yph, sc, modes, kr, acc)
            for l in range(nl):
                for k in range(m_total):
                    theta[t0 + l, k] = yth[k, l]
                    phi[t0 + l, k] = yph[k, l]
                for j in range(n):
                    screen[t0 + l, j] = sc[j, l]


@njit(cache=True, nogil=True, error_model="numpy")
def _lanes_col_op_r(S, r, c, yth, xth, sgn, k, cs):
    """Lane version of :func:`_col_op_r`; sgn[k] = 1.0 where phi = pi (a and b share a sign)."""
    s_ = cs[0]
    c_ = cs[1]
    sn_ = cs[2]
    cn_ = cs[3]
    for l in range(LANES):
        a = S[r, c, l]
        b = S[r, c + 1, l]
        aa = abs(a)
        bb = abs(b)
        yth[k, l] = bb
        xth[k, l] = aa
        neg = (a > 0.0 and b > 0.0) or (a < 0.0 and b < 0.0)
        s, co = _sin_cos_half(bb, aa)
        sgn[k, l] = 1.0 if neg else 0.0
        s_[l] = s
        c_[l] = co
        sn_[l] = -s if neg else s
        cn_[l] = -co if neg else co
    for q in range(r + 1):
        for l in range(LANES):
            u = S[q, c, l]
            v = S[q, c + 1, l]
            S[q, c, l] = sn_[l] * u + c_[l] * v
            S[q, c + 1, l] = cn_[l] * u - s_[l] * v
    for l in range(LANES):
        S[r, c, l] = 0.0


@njit(cache=True, nogil=True, error_model="numpy")
def _lanes_row_op_r(S, r, c, n, yth, xth, sgn, k, cs):
    """Lane version of :func:`_row_op_r`."""
    s_ = cs[0]
    c_ = cs[1]
    sn_ = cs[2]
    cn_ = cs[3]
    for l in range(LANES):
        u0 = S[r - 1, c, l]
        v0 = S[r, c, l]
        uu = abs(u0)
        vv = abs(v0)
        yth[k, l] = uu
        xth[k, l] = vv
        neg = (u0 > 0.0 and v0 < 0.0) or (u0 < 0.0 and v0 > 0.0)
        s, co = _sin_cos_half(uu, vv)
        sgn[k, l] = 1.0 if neg else 0.0
        s_[l] = s
        c_[l] = co
        sn_[l] = -s if neg else s
        cn_[l] = -co if neg else co
    for q in range(c, n):
        for l in range(LANES):
            u = S[r - 1, q, l]
            v = S[r, q, l]
            S[r - 1, q, l] = sn_[l] * u + c_[l] * v
            S[r, q, l] = cn_[l] * u - s_[l] * v
    for l in range(LANES):
        S[r, c, l] = 0.0


@njit(cache=True, nogil=True, parallel=True, error_model="numpy")
def decompose_real_lanes(U, modes, mesh, theta, phi, screen, err, n_chunks):
    """:func:`decompose_real` with LANES tiles per SIMD step (same outputs, bit for bit)."""
    t_total = U.shape[0]
    n = U.shape[1]
    m_total = theta.shape[1]
    n_blocks = (t_total + LANES - 1) // LANES
    n_chunks = min(n_blocks, max(1, n_chunks))
    for ch in prange(n_chunks):
        S = np.empty((n, n, LANES))
        yth = np.empty((m_total, LANES))
        xth = np.empty((m_total, LANES))
        sgn = np.empty((m_total, LANES))
        sc = np.empty((n, LANES))
        acc = np.empty((n, LANES))
        cs = np.empty((4, LANES))
        b0 = ch * n_blocks // n_chunks
        b1 = (ch + 1) * n_blocks // n_chunks
        for blk in range(b0, b1):
            t0 = blk * LANES
            nl = min(LANES, t_total - t0)
            for i in range(n):
                for j in range(n):
                    for l in range(LANES):
                        if l < nl:
                            S[i, j, l] = U[t0 + l, i, j]
                        else:
                            S[i, j, l] = 1.0 if i == j else 0.0
            kr = 0
            kl = m_total - 1
            if mesh == MESH_CLEMENTS:
                for i in range(1, n):
                    if i % 2 == 1:
                        for j in range(i):
                            _lanes_col_op_r(S, n - 1 - j, i - 1 - j, yth, xth, sgn, kr, cs)
                            kr += 1
                    else:
                        for j in range(1, i + 1):
                            _lanes_row_op_r(S, n + j - i - 1, j - 1, n, yth, xth, sgn, kl, cs)
                            kl -= 1
            else:
                for r in range(n - 1, 0, -1):
                    for c in range(r):
                        _lanes_col_op_r(S, r, c, yth, xth, sgn, kr, cs)
                        kr += 1
            for k in range(m_total):
                for l in range(LANES):
                    # libm here (not _atan2v): the real path is what map() uses, and its phases stay
                    # bit-identical to the per-tile kernel; an ulp of difference can move a phase that is zero
                    # up to rounding across the 0 / 2*pi wrap, i.e. change a heater's power by 2 P_pi.
                    yth[k, l] = 2.0 * math.atan2(yth[k, l], xth[k, l])
                    xth[k, l] = math.pi if sgn[k, l] != 0.0 else 0.0
            for j in range(n):
                for l in range(LANES):
                    sc[j, l] = math.pi if S[j, j, l] < 0.0 else 0.0
            for l in range(nl):
                e = 0.0
                for j in range(n):
                    e = max(e, abs(abs(S[j, j, l]) - 1.0))
                    for q in range(j + 1, n):
                        e = max(e, abs(S[j, q, l]))
                err[t0 + l] = e
            _lanes_commute_and_physical(yth, xth, sc, modes, kr, acc)
            for l in range(nl):
                for k in range(m_total):
                    theta[t0 + l, k] = yth[k, l]
                    phi[t0 + l, k] = xth[k, l]
                for j in range(n):
                    screen[t0 + l, j] = sc[j, l]


@njit(cache=True, nogil=True, parallel=True, error_model="numpy")
def reconstruct_lanes(theta, phi, screen, modes, out, n_chunks):
    """:func:`reconstruct` with LANES tiles per SIMD step (same outputs, bit for bit)."""
    t_total = theta.shape[0]
    n = screen.shape[1]
    m_total = theta.shape[1]
    n_blocks = (t_total + LANES - 1) // LANES
    n_chunks = min(n_blocks, max(1, n_chunks))
    for ch in prange(n_chunks):
        Sr = np.empty((n, n, LANES))
        Si = np.empty((n, n, LANES))
        th = np.empty((m_total, LANES))
        phr = np.empty((m_total, LANES))
        sn = np.empty((m_total, LANES))
        cn = np.empty((m_total, LANES))
        er_ = np.empty((m_total, LANES))
        ei_ = np.empty((m_total, LANES))
        scr = np.empty((n, LANES))
        acc = np.empty((n, LANES))
        lo = np.empty(n, dtype=np.int64)
        hi = np.empty(n, dtype=np.int64)
        b0 = ch * n_blocks // n_chunks
        b1 = (ch + 1) * n_blocks // n_chunks
        for blk in range(b0, b1):
            t0 = blk * LANES
            nl = min(LANES, t_total - t0)
            for k in range(m_total):
                for l in range(LANES):
                    th[k, l] = theta[t0 + l, k] if l < nl else 0.0
                    phr[k, l] = phi[t0 + l, k] if l < nl else 0.0
            for j in range(n):
                for l in range(LANES):
                    scr[j, l] = screen[t0 + l, j] if l < nl else 0.0
                    acc[j, l] = 0.0
            # physical -> reduced (as _physical_to_reduced), in place
            for k in range(m_total):
                m = modes[k]
                for l in range(LANES):
                    a = acc[m, l]
                    b = acc[m + 1, l]
                    phr[k, l] = phr[k, l] + a - b
                    b = b + 0.5 * th[k, l] + HALF_PI
                    acc[m, l] = b
                    acc[m + 1, l] = b
            for j in range(n):
                for l in range(LANES):
                    scr[j, l] = scr[j, l] + acc[j, l]
            # the libm calls, out of the update chain
            bad = 0
            for k in range(m_total):
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
                for k in range(m_total):
                    for l in range(LANES):
                        sn[k, l] = math.sin(0.5 * th[k, l])
                        cn[k, l] = math.cos(0.5 * th[k, l])
                        er_[k, l] = math.cos(phr[k, l])
                        ei_[k, l] = math.sin(phr[k, l])
            for i in range(n):
                for j in range(n):
                    for l in range(LANES):
                        Sr[i, j, l] = 0.0
                        Si[i, j, l] = 0.0
                for l in range(LANES):
                    Sr[i, i, l] = 1.0
                lo[i] = i
                hi[i] = i + 1
            for k in range(m_total):
                m = modes[k]
                a = min(lo[m], lo[m + 1])
                b = max(hi[m], hi[m + 1])
                lo[m] = a
                lo[m + 1] = a
                hi[m] = b
                hi[m + 1] = b
                s_ = sn[k]
                c_ = cn[k]
                er = er_[k]
                ei = ei_[k]
                for q in range(a, b):
                    for l in range(LANES):
                        xr = Sr[m, q, l]
                        xi = Si[m, q, l]
                        ur = xr * er[l] - xi * ei[l]
                        ui = xr * ei[l] + xi * er[l]
                        vr = Sr[m + 1, q, l]
                        vi = Si[m + 1, q, l]
                        Sr[m, q, l] = s_[l] * ur + c_[l] * vr
                        Si[m, q, l] = s_[l] * ui + c_[l] * vi
                        Sr[m + 1, q, l] = c_[l] * ur - s_[l] * vr
                        Si[m + 1, q, l] = c_[l] * ui - s_[l] * vi
            for l in range(nl):
                for i in range(n):
                    er = math.cos(scr[i, l])
                    ei = math.sin(scr[i, l])
                    for j in range(n):
                        xr = Sr[i, j, l]
                        xi = Si[i, j, l]
                        out[t0 + l, i, j] = complex(xr * er - xi * ei, xr * ei + xi * er)


# --------------------------------------------------------------------------------------------------------
# mapping helpers
# --------------------------------------------------------------------------------------------------------
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
def gather_tiles(W, k, tr, tc, out):
    """out[t] = the k x k tile (tr[t], tc[t]) of W, zero padded at the matrix edge (float64)."""
    rows, cols = W.shape
    for t in range(tr.shape[0]):
        r0 = tr[t] * k
        c0 = tc[t] * k
        for i in range(k):
            for j in range(k):
                if r0 + i < rows and c0 + j < cols:
                    out[t, i, j] = W[r0 + i, c0 + j]
                else:
                    out[t, i, j] = 0.0


@njit(cache=True, nogil=True)
def scatter_tiles(tiles, k, tr, tc, W):
    """W[tile (tr[t], tc[t])] = tiles[t], cropped at the matrix edge (W zero elsewhere, set by the caller)."""
    rows, cols = W.shape
    for t in range(tr.shape[0]):
        r0 = tr[t] * k
        c0 = tc[t] * k
        for i in range(k):
            if r0 + i >= rows:
                break
            for j in range(k):
                if c0 + j >= cols:
                    break
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


@njit(cache=True, nogil=True, parallel=True)
def tiles_forward(phases, gains, kappa, modes, n, out, n_chunks):
    """Real tile matrices gain * Re(U_mesh A V_mesh) from per-tile phase rows (layout of mapping.py).

    phases (T, 4M + 3n); kappa (T, 4M + 2n) coupler cross-powers in the order V MZIs (2 per MZI), U MZIs,
    attenuators (2 each). Attenuator i transmits its top input to its top output: M00 with phi = 0.
    Homodyne detection of the in-phase quadrature takes the real part.
    """
    t_total = phases.shape[0]
    m = n * (n - 1) // 2
    n_chunks = min(t_total, max(1, n_chunks))
    for ch in prange(n_chunks):
        Xr = np.empty((n, n))
        Xi = np.empty((n, n))
        ang = np.empty(n)
        amp = np.empty(n)
        t0 = ch * t_total // n_chunks
        t1_ = (ch + 1) * t_total // n_chunks
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
