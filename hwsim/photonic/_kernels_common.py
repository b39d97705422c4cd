"""What every photonic kernel shares (private: arrays and scalars in, arrays out).

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

This module holds the constants, phase wrapping, the branch-free atan2 / sincos of the complex paths, the exact
polar form, one nulling step's Givens
coefficients (:func:`_givens_c`, :func:`_givens_r`) and 2x2 updates, the nulling schedule, the per-MZI steps of
the reduced <-> physical bookkeeping (the per-tile sweeps here; the lane sweeps in :mod:`._kernels_lanes` call
the same steps), the nulling residual and the split of a batch into chunks. Per-tile decomposition and
reconstruction are in :mod:`._kernels_decompose`, their lane-batched versions in :mod:`._kernels_lanes`, the
tile helpers of the mapper in :mod:`._kernels_tiles`.

Editing this module does not invalidate numba's on-disk cache of the kernels in the other three, which inline
these helpers (numba checks only the caller's own source file): delete ``hwsim/photonic/__pycache__/_kernels_*``
after a change here, or the old helper code keeps running.
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from numba import njit

from .._threads import run_items

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
# splitting a batch into chunks, and running the chunks on threads
# --------------------------------------------------------------------------------------------------------
# Every batched kernel is a ``nogil`` chunk function ``fn(*args, ch, n_chunks)`` working on chunk ``ch`` of
# ``n_chunks`` (one scratch per chunk), run by :func:`run_chunks`: on the calling thread when there is one chunk or
# one thread, else on a small Python thread pool that takes chunks as they come (issue 16). No ``prange``: numba's
# parfor pipeline cost ~1.5-2 s of cold compile per kernel family and split the chunks statically, so a parallel call
# waited for a core that another process held.
def chunk_count(units: int, n_chunks: int) -> int:
    """The number of chunks actually used: at least 1 per call, at most one per unit (0 when there are none)."""
    return min(int(units), max(1, int(n_chunks)))


def run_chunks(fn, args: tuple, units: int, n_chunks: int) -> list:
    """``[fn(*args, ch, n) for ch in range(n)]`` with n = chunk_count(units, n_chunks), on up to numba's thread count
    of the calling thread (``numba.get_num_threads()``) threads: the calling thread and pool workers each take the
    next chunk until none is left. One chunk, or one thread, runs on the calling thread alone."""
    n = chunk_count(units, n_chunks)
    if n <= 1:
        return [fn(*args, 0, n)] if n else []
    import numba

    results: list = [None] * n

    def work(w: int, ch: int) -> None:
        results[ch] = fn(*args, ch, n)

    run_items(work, range(n), min(n, numba.get_num_threads()))
    return results


@njit(cache=True, nogil=True)
def _chunk_bounds(ch, units, n_chunks):
    """[lo, hi) of the units (tiles, or blocks of lanes) that chunk ``ch`` of ``n_chunks`` works on."""
    return ch * units // n_chunks, (ch + 1) * units // n_chunks


# --------------------------------------------------------------------------------------------------------
# phase bookkeeping between reduced (G) and physical (M) MZIs: per-MZI steps, then the per-tile sweeps
# --------------------------------------------------------------------------------------------------------
@njit(cache=True, nogil=True, error_model="numpy")
def _commute_step(a, b, ph):
    """G(t, ph)^dagger diag(e^{ia}, e^{ib}) = diag(e^{i(b-ph)}, e^{ib}) G(t, a-b): (new phase of mode m, new ph)."""
    return b - ph, _wrap(a - b)


@njit(cache=True, nogil=True, error_model="numpy")
def _to_physical_step(th, ph, acc_m, acc_m1):
    """One MZI of :func:`_reduced_to_physical`: (theta snapped, physical phi, accumulated phase after it)."""
    th = 0.0 if th < PHASE_SNAP_RAD else th
    gk = 0.5 * th + HALF_PI
    a = acc_m - gk
    b = acc_m1 - gk
    return th, _wrap(ph + a - b), b


@njit(cache=True, nogil=True, error_model="numpy")
def _to_reduced_step(th, ph, acc_m, acc_m1):
    """One MZI of :func:`_physical_to_reduced`: (reduced phi, accumulated phase after it)."""
    return ph + acc_m - acc_m1, acc_m1 + 0.5 * th + HALF_PI


@njit(cache=True, nogil=True)
def _commute_left(theta, phi, d, modes, p, m_total):
    """Turn U = L_1^dag ... L_k^dag D R into D' L_1' ... L_k' R (left ops stored at slots m_total-1 .. p)."""
    for k in range(p, m_total):
        m = modes[k]
        d[m], phi[k] = _commute_step(d[m], d[m + 1], phi[k])


@njit(cache=True, nogil=True)
def _reduced_to_physical(theta, phi, screen, modes, acc):
    """In place: U = diag(e^{i screen}) prod G(theta_k, phi_k)  ->  physical phases of the same U.

    M_k = g_k G_k with g_k = e^{i(theta_k/2 + pi/2)} on both modes, so G_k = M_k g_k^{-1}. Sweeping in light
    order with the accumulated per-mode phase ``acc`` met before MZI k:
    M(t, p) diag(e^{ia}, e^{ib}) = e^{ib} M(t, p + a - b) (common phase on both modes).
    """
    acc[:] = 0.0
    for k in range(theta.shape[0]):
        m = modes[k]
        theta[k], phi[k], b = _to_physical_step(theta[k], phi[k], acc[m], acc[m + 1])
        acc[m] = b
        acc[m + 1] = b
    for j in range(screen.shape[0]):
        screen[j] = _wrap(screen[j] + acc[j])


@njit(cache=True, nogil=True)
def _physical_to_reduced(theta, phi, screen, modes, phi_out, screen_out, acc):
    """Inverse of :func:`_reduced_to_physical` (physical phases -> reduced phases), written to *_out."""
    acc[:] = 0.0
    for k in range(theta.shape[0]):
        m = modes[k]
        phi_out[k], b = _to_reduced_step(theta[k], phi[k], acc[m], acc[m + 1])
        acc[m] = b
        acc[m + 1] = b
    for j in range(screen.shape[0]):
        screen_out[j] = screen[j] + acc[j]


# --------------------------------------------------------------------------------------------------------
# nulling: the schedule, one step's coefficients and 2x2 updates, the residual
# --------------------------------------------------------------------------------------------------------
# A nulling step zeroes S[r, c] (below the diagonal) with one MZI acting on the two "lines" (x, v) of S:
# a column op (from the right) on columns (c, c+1), rows 0..r, x = S[r, c], v = S[r, c+1], S[r, c] = x nulled;
# a row op (from the left, Clements only) on rows (r-1, r), columns c..n-1, x = S[r-1, c], v = S[r, c] nulled.
# Both update the lines with the same arithmetic (x, v) <- (s e x + c v, c e x - s v), e = e^{-i phi} (column
# op) or e^{i phi} (row op); only the angles' arguments differ (the ``row`` flag below).
_TINY = 2.0 ** -500  # below this, squares lose precision (2^-1000 is still a normal double)
_UPSCALE = 2.0 ** 600  # exact power-of-two scaling that brings any denormal or tiny magnitude above _TINY
_DOWNSCALE = 2.0 ** -600

SCHED_ROW, SCHED_COL, SCHED_ROW_OP, SCHED_SLOT, SCHED_MODE = 0, 1, 2, 3, 4


@lru_cache(maxsize=128)
def nulling_schedule(n: int, mesh: int) -> tuple[np.ndarray, int]:
    """(sched, n_right): step s nulls S[sched[s, 0], sched[s, 1]] by a row op (sched[s, 2] = 1) or a column op
    (0) whose MZI goes to slot sched[s, 3]: column ops fill slots 0, 1, ... (light order from the input), row
    ops m-1, m-2, ... from the output end; n_right column ops in all. Column 4 holds the layout: sched[k, 4] is the
    upper mode of the MZI in slot k (light order; :func:`hwsim.photonic.mesh_layout`). Read-only, cached (made in
    Python once per mesh: the kernels take it as an argument)."""
    m_total = n * (n - 1) // 2
    sched = np.empty((m_total, 5), dtype=np.int64)
    kr = 0  # next right-op slot
    kl = m_total - 1  # next left-op slot
    s = 0
    if mesh == MESH_CLEMENTS:
        steps = [(n + j - i - 1, j - 1, 1) if i % 2 == 0 else (n - 1 - j, i - 1 - j, 0)
                 for i in range(1, n) for j in (range(1, i + 1) if i % 2 == 0 else range(i))]
    else:
        steps = [(r, c, 0) for r in range(n - 1, 0, -1) for c in range(r)]
    for r, c, row in steps:
        k = kl if row else kr
        sched[s, SCHED_ROW] = r
        sched[s, SCHED_COL] = c
        sched[s, SCHED_ROW_OP] = row
        sched[s, SCHED_SLOT] = k
        sched[k, SCHED_MODE] = r - 1 if row else c
        kl -= row
        kr += 1 - row
        s += 1
    sched.setflags(write=False)
    return sched, kr


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


# A pivot entry below PIVOT_ZERO is rounding noise of an exact zero (the input is unitary to 1e-9, its entries O(1)):
# it is taken as 0, the degenerate rotation (theta = 0 or pi, phi = 0). Structured unitaries (the SVD factors of
# padded edge tiles and pruned tiles) meet such entries midway through the nulling, as +-1e-17 whose sign would
# otherwise set phi to 0 or pi, so the programmed phases, and a Report's heater power, would follow rounding noise
# (different SVD routines, or CPUs, gave different Reports; issue 16). Genuine entries this small change the
# decomposition by at most 1e-13.
PIVOT_ZERO = 1e-10


@njit(cache=True, nogil=True, error_model="numpy")
def _zero_noise(re, im):
    """(re, im), or (0, 0) when both are below PIVOT_ZERO in magnitude (branch-free)."""
    z = max(abs(re), abs(im)) < PIVOT_ZERO
    return (0.0 if z else re), (0.0 if z else im)


@njit(cache=True, nogil=True, error_model="numpy")
def _givens_c(xre, xim, vre, vim, row):
    """Complex nulling step on the pivot pair (x, v): (y_theta, x_theta, y_phi, er, ei, s, c).

    theta = 2 atan2(y_theta, x_theta) (column op: |v|, |x|; row op: |x|, |v|), phi = atan2(y_phi, er),
    er + i ei = e = -conj(x) v / (|x||v|) (column op) or v conj(x) / (|x||v|) (row op), s, c = sin, cos of
    theta/2. No trigonometry: the caller takes the atan2s where they are out of its dependent chain. A zero
    x or v is the degenerate case: e = 1, phi = 0.
    """
    xre, xim = _zero_noise(xre, xim)
    vre, vim = _zero_noise(vre, vim)
    xx, xr, xi = _polar(xre, xim)
    vv, vr, vi = _polar(vre, vim)
    deg = xx == 0.0 or vv == 0.0
    sg = 1.0 if row else -1.0
    p = xr * vr + xi * vi
    q = xr * vi - xi * vr
    er = 1.0 if deg else sg * p
    ei = 0.0 if deg else sg * q
    yth = xx if row else vv
    xth = vv if row else xx
    s, co = _sin_cos_half(yth, xth)
    return yth, xth, (0.0 if deg else q), er, ei, s, co


@njit(cache=True, nogil=True, error_model="numpy")
def _givens_r(x, v, row):
    """Real nulling step on the pivot pair (x, v): (y_theta, x_theta, neg, s, c) with theta as in
    :func:`_givens_c` and neg: phi = pi (e = -1; column op: x, v share a sign, row op: opposite signs), else 0
    (also when x or v is zero)."""
    x = 0.0 if abs(x) < PIVOT_ZERO else x
    v = 0.0 if abs(v) < PIVOT_ZERO else v
    xx = abs(x)
    vv = abs(v)
    w = -v if row else v
    neg = (x > 0.0 and w > 0.0) or (x < 0.0 and w < 0.0)
    yth = xx if row else vv
    xth = vv if row else xx
    s, co = _sin_cos_half(yth, xth)
    return yth, xth, neg, s, co


# The complex steps take a cheaper exact form when both pivot magnitudes are ordinary numbers (the common case).
# With g = -conj(x) v (column op) or v conj(x) (row op) and h^2 = |x|^2 + |v|^2, the update (s e x + c v, c e x - s v)
# is ((g x + A v) a, (g x - B v) b) with (A, a, B, b) = (|x|^2, 1/(|x| h), |v|^2, 1/(|v| h)) (column op; a row op
# swaps the roles of x and v): one square root and one division on the nulling's dependent chain, where the polar
# form takes two of each in sequence (N = 16: 10.8 -> 3.7 us per nulling with the next step's coefficients computed
# before this step's update loop, :mod:`._kernels_decompose`). Squared magnitudes in [2^-500, 2^500] keep every
# product normal; tiny (pruned tiles leave 1e-162), huge, zero or non-finite pivots take the polar form.
_FUSED_LO = 2.0 ** -500
_FUSED_HI = 2.0 ** 500


@njit(cache=True, nogil=True, error_model="numpy")
def _givens_fused(xr, xi, vr, vi, row):
    """The fused form of a complex nulling step on the pivot pair (x, v), branch-free (it vectorizes over lanes):
    (fused, c0, ..., c5, y_theta, x_theta, y_phi, x_phi) with c0 + i c1 = g, (c2, c3, c4, c5) = (A, a, B, b) above,
    (y_theta, x_theta) = (s, c) and (y_phi, x_phi) = (Im, Re) of g up to sign (the atan2s' arguments, as in
    :func:`_givens_c`). ``fused`` False: the pivots are outside its range and the values are not to be used."""
    xr, xi = _zero_noise(xr, xi)
    vr, vi = _zero_noise(vr, vi)
    ax2 = xr * xr + xi * xi
    av2 = vr * vr + vi * vi
    p = xr * vr + xi * vi  # conj(x) v = p + i q
    q = xr * vi - xi * vr
    h2 = ax2 + av2
    rx = 1.0 / math.sqrt(ax2 * h2)  # 1 / (|x| h)
    rv = 1.0 / math.sqrt(av2 * h2)  # 1 / (|v| h)
    ok = (ax2 >= _FUSED_LO) & (av2 >= _FUSED_LO) & (ax2 <= _FUSED_HI) & (av2 <= _FUSED_HI)
    gr = p if row else -p
    gi = q if row else -q
    if row:  # theta = 2 atan2(|x|, |v|): s = |x| / h
        return ok, gr, gi, av2, rv, ax2, rx, ax2 * rx, av2 * rv, q, gr
    return ok, gr, gi, ax2, rx, av2, rv, av2 * rv, ax2 * rx, q, gr


@njit(cache=True, nogil=True, error_model="numpy")
def _givens_polar(xr, xi, vr, vi, row):
    """:func:`_givens_c` in the tuple layout of :func:`_givens_fused`, fused = False: c0..c5 = (s e, c e, s, c) for
    :func:`_mix_c`."""
    yth, xth, yph, er, ei, s, co = _givens_c(xr, xi, vr, vi, row)
    return False, s * er, s * ei, co * er, co * ei, s, co, yth, xth, yph, er


@njit(cache=True, nogil=True, error_model="numpy")
def _givens_cf(xr, xi, vr, vi, row):
    """Complex nulling step on the pivot pair (x, v), in the form the updates take: :func:`_givens_fused` when its
    range holds, else :func:`_givens_polar`. Apply with :func:`_mix_cf`."""
    res = _givens_fused(xr, xi, vr, vi, row)
    if res[0]:
        return res
    return _givens_polar(xr, xi, vr, vi, row)


@njit(cache=True, nogil=True, error_model="numpy")
def _mix_fused(xr, xi, vr, vi, gr, gi, A, a, B, b):
    """One element pair of a fused complex update: ((g x + A v) a, (g x - B v) b) as (Re, Im) of each."""
    tr = gr * xr - gi * xi
    ti = gr * xi + gi * xr
    return (tr + A * vr) * a, (ti + A * vi) * a, (tr - B * vr) * b, (ti - B * vi) * b


@njit(cache=True, nogil=True, error_model="numpy")
def _mix_cf(fused, c0, c1, c2, c3, c4, c5, xr, xi, vr, vi):
    """One element pair of the complex update with the coefficients of :func:`_givens_cf`."""
    if fused:
        return _mix_fused(xr, xi, vr, vi, c0, c1, c2, c3, c4, c5)
    return _mix_c(xr, xi, vr, vi, c0, c1, c2, c3, c4, c5)


@njit(cache=True, nogil=True, error_model="numpy")
def _mix_c(xr, xi, vr, vi, sr, si, cr, ci, s, co):
    """One element pair of a complex nulling update: (s e x + c v, c e x - s v) with (sr + i si) = s e and
    (cr + i ci) = c e; returns (Re, Im) of the new x, then of the new v."""
    return (sr * xr - si * xi + co * vr, sr * xi + si * xr + co * vi,
            cr * xr - ci * xi - s * vr, cr * xi + ci * xr - s * vi)


@njit(cache=True, nogil=True, error_model="numpy")
def _mix_r(u, v, s_, c_, s, co):
    """One element pair of a real nulling update: (s_ u + c v, c_ u - s v), s_, c_ = s, c with e's sign."""
    return s_ * u + co * v, c_ * u - s * v


# Real or complex arithmetic is chosen by an argument ``imag`` that is None on the real path (True on the complex
# one), tested only as ``imag is None``: numba prunes such a branch before typing, so each compiled version holds
# one path (a boolean flag would compile both paths into every version).
#
# The helpers that read whole tiles (here and _screen_out below) take (n, n, L) scratch and loop over its first
# ``nl`` lanes, writing tiles t0, t0+1, ...: the lane kernels pass their (n, n, LANES) blocks, the per-tile ones an
# (n, n, 1) view of their scratch. (One call per lane instead, or a view per lane, cost 5-15 % of the lane
# kernels at n = 4..8: call and reference-counting overhead.)
@njit(cache=True, nogil=True, error_model="numpy")
def _magnitude2(Sr, Si, i, j, l, imag):
    """|S[i, j, l]|^2 (complex), |S[i, j, l]| (real: no square needed)."""
    if imag is None:
        return abs(Sr[i, j, l])
    return Sr[i, j, l] * Sr[i, j, l] + Si[i, j, l] * Si[i, j, l]


@njit(cache=True, nogil=True, error_model="numpy")
def _nulled_errors(Sr, Si, nl, err, t0, imag):
    """err[t0 + l] = largest deviation of nulled tile l (Sr + i Si; Sr alone when ``imag`` is None) from a
    unit-modulus diagonal: 0 up to rounding iff the input was unitary (the nulling is a unitary change of basis).
    Complex: the largest squared off-diagonal magnitude, then one square root (the same value as the largest
    magnitude: the rounded square root is monotone); off-diagonal entries below 1e-154 count as 0."""
    n = Sr.shape[0]
    for l in range(nl):
        e = 0.0
        o = 0.0
        for j in range(n):
            d = _magnitude2(Sr, Si, j, j, l, imag)
            e = max(e, abs((d if imag is None else math.sqrt(d)) - 1.0))
            for q in range(j + 1, n):
                o = max(o, _magnitude2(Sr, Si, j, q, l, imag))
        err[t0 + l] = max(e, o if imag is None else math.sqrt(o))


@njit(cache=True, nogil=True, error_model="numpy")
def _sign_phase(x):
    """The phase of a real number: pi if negative, else 0."""
    return math.pi if x < 0.0 else 0.0


# --------------------------------------------------------------------------------------------------------
# reconstruction: one MZI on one element pair, and the band of columns a row can be non-zero in
# --------------------------------------------------------------------------------------------------------
@njit(cache=True, nogil=True, error_model="numpy")
def _apply_reduced_mzi(xr, xi, vr, vi, s, co, er, ei):
    """G = R(theta) diag(e, 1) on one column (x, v) of rows (m, m+1): u = e x, then (s u + c v, c u - s v)."""
    ur = xr * er - xi * ei
    ui = xr * ei + xi * er
    return s * ur + co * vr, s * ui + co * vi, co * ur - s * vr, co * ui - s * vi


@njit(cache=True, nogil=True)
def _widen_band(lo, hi, m):
    """Rows m, m+1 after an MZI on them are non-zero in the union of their column ranges [lo, hi): update both
    and return it (the reconstruction starts from the identity, lo[i] = i, hi[i] = i + 1)."""
    a = min(lo[m], lo[m + 1])
    b = max(hi[m], hi[m + 1])
    lo[m] = a
    lo[m + 1] = a
    hi[m] = b
    hi[m + 1] = b
    return a, b


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _screen_out(Sr, Si, scr, nl, out, t0):
    """out[t0 + l] = diag(e^{i scr[:, l]}) (Sr + i Si)[:, :, l] for the first nl lanes, complex. (Inlined by numba:
    as a call, reconstruct_lanes was 4 % slower at n = 4..8.)"""
    n = Sr.shape[0]
    for l in range(nl):
        for i in range(n):
            x = scr[i, l]
            if abs(x) <= SINCOS_MAX_ARG:
                ei, er = _sincos(x)
            else:  # huge or non-finite: libm's full range reduction
                er = math.cos(x)
                ei = math.sin(x)
            for j in range(n):
                xr = Sr[i, j, l]
                xi = Si[i, j, l]
                out[t0 + l, i, j] = complex(xr * er - xi * ei, xr * ei + xi * er)


# --------------------------------------------------------------------------------------------------------
# branch-free trigonometry (vectorizes in flat loops; used by the complex kernels, per tile and lane-batched)
# --------------------------------------------------------------------------------------------------------
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
def _complex_angles(yth, xth, yph, xph):
    """In place over flat arrays of MZIs (per tile: (m,), lane blocks: (m * LANES,)): yth <- theta =
    2 atan2(yth, xth), yph <- phi = atan2(yph, xph) wrapped, by the branch-free :func:`_atan2v` (one flat loop
    that vectorizes, out of the nulling's dependent chain)."""
    for k in range(yth.shape[0]):
        yth[k] = 2.0 * _atan2v(yth[k], xth[k])
        yph[k] = _wrap(_atan2v(yph[k], xph[k]))


@njit(cache=True, nogil=True, error_model="numpy")
def _mzi_trig(th, phr, sn, cn, er_, ei_):
    """sin, cos of theta/2 and cos, sin of the reduced phi, elementwise over flat arrays of MZIs (per tile or a
    lane block), branch-free; when any argument lies beyond SINCOS_MAX_ARG (or is non-finite) the whole array
    takes libm's instead."""
    bad = 0
    for k in range(th.shape[0]):
        h = 0.5 * th[k]
        p = phr[k]
        sv, cv = _sincos(h)
        sn[k] = sv
        cn[k] = cv
        sv, cv = _sincos(p)
        er_[k] = cv
        ei_[k] = sv
        bad += 0 if (abs(h) <= SINCOS_MAX_ARG and abs(p) <= SINCOS_MAX_ARG) else 1
    if bad:  # huge (or non-finite) phases: libm's full range reduction
        for k in range(th.shape[0]):
            sn[k] = math.sin(0.5 * th[k])
            cn[k] = math.cos(0.5 * th[k])
            er_[k] = math.cos(phr[k])
            ei_[k] = math.sin(phr[k])
