"""Numba kernels of the bit-serial ReRAM engine's chunk-list path (:mod:`hwsim.reram.run`, ``fast=True``; device
variation, stuck-at faults, clipping ADCs, ADC LSBs above 2^LOWBITS_MAX = 2 levels).

:func:`bitserial_adc_lists` computes every crossbar read with the same float32 operations, in the same order, as
:func:`hwsim.reram._kernels.bitserial_adc` (the reference, ``fast=False``): the same "four Russians" tables of
8-row subsets, the same list of nonzero 8-row chunks per read, summed four lookups at a time and then one at a
time. Its ADC step is an exact rewrite of the reference's (float32 instead of float64; proof in the docstring)
and its shift-add sums integers times powers of two (exact in any order). So its outputs are bit-identical to
the reference's (tests). What changes is the cost (2.2-2.7x less CPU on LeNet-300-100, BENCHMARKS.md):
fixed-width inner loops over a block of ``BLOCK`` columns, the last lookups fused with the ADC step, reads of
no driven row skipped, the chunk lists built once per call (one multiply per chunk and cycle), the per-output
sums over runs of columns, and no ``prange``: serial ``nogil`` calls on column ranges that the caller's threads
take as they come.

A bit-for-bit numpy replica of the arithmetic: :func:`hwsim.reram._reference.bitserial_adc_f32` (and
:func:`hwsim.reram._reference.bitplane_lists`); :func:`hwsim.reram._reference.bitserial_adc` is the float64
oracle (exact reads), equal to float32 rounding.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

BLOCK = 80
"""Columns per block: one table is ceil(rows / 8) x 256 x BLOCK float32 (1.25 MB for 128 rows) per thread. 80 to
160 measured alike (LeNet-300-100, default preset), 64 ~15 % slower (more per-read overhead), 48 slower still."""


_LOWBIT = np.array([0] + [(p & -p).bit_length() - 1 for p in range(1, 256)], dtype=np.int64)
"""Lowest set bit of each byte (the row a subset table entry adds last)."""


@njit(cache=True, nogil=True)
def quantize_rows(X, sign, imax, xq, sx):
    """Per-row input quantization of the bit-serial engine in one pass per row: with v = sign * X[r, i] (sign +1 or
    -1, exact), sx[r] = max_i v / imax (1.0 where that is <= 0) and xq[r, i] = clip(floor(v / sx[r] + 0.5), 0, imax)
    as int64, the same float64 operations as :func:`hwsim.reram._reference.quantize_inputs` (so the same bits; a
    negative v quantizes to 0). Returns (negatives, non-finite): how many v < 0, and how many v are NaN or inf (the
    caller refuses those; xq is then meaningless)."""
    n, m = X.shape
    neg = 0
    bad = 0
    for r in range(n):
        mx = -np.inf
        for i in range(m):
            v = sign * np.float64(X[r, i])
            neg += 1 if v < 0.0 else 0
            bad += 0 if v - v == 0.0 else 1
            mx = max(mx, v)
        s = mx / imax
        if not s > 0.0:
            s = 1.0
        sx[r] = s
        for i in range(m):
            q = math.floor(sign * np.float64(X[r, i]) / s + 0.5)
            xq[r, i] = np.int64(min(max(q, 0.0), np.float64(imax))) if q - q == 0.0 else 0
    return neg, bad


@njit(cache=True, nogil=True)
def bitplane_lists(X, c0, nrows, cycles, L):
    """Nonzero 8-row chunks of every input bit-plane of the crossbar rows fed by columns c0 ... c0 + nrows - 1 of
    ``X`` (n, m) unsigned integer inputs (read in place: no copy of the slice); cycle t drives row i when bit t of
    X[r, c0 + i] is 1. ``L[r, t, 0]`` is the number of chunks ch (rows 8 ch ... 8 ch + 7) with a driven
    row, ``L[r, t, 1:1 + count]`` their table rows ``256 ch + p`` in increasing ch, p the byte of driven rows
    (row 8 ch + b -> bit b). ``L`` (n, cycles, ceil(rows / 8) + 1) int32; inputs below 2^cycles. Serial (about
    1 ms per 1000 x 128 inputs)."""
    n = X.shape[0]
    nch = (nrows + 7) // 8
    ones = np.uint64(0x0101010101010101)
    gather = np.uint64(0x0102040810204080)  # (bytes of 0/1) * gather >> 56: byte b's bit -> bit b
    s56 = np.uint64(56)
    for r in range(n):
        for t in range(cycles):
            L[r, t, 0] = 0
        for ch in range(nch):
            i0 = 8 * ch
            i1 = min(i0 + 8, nrows)
            m = 0
            for i in range(i0, i1):
                m |= X[r, c0 + i]
            if m == 0:
                continue  # no row of the chunk driven in any cycle
            if cycles <= 8:  # the chunk's 8 inputs as the bytes of one word; cycle t's byte by one multiply
                wd = np.uint64(0)
                for i in range(i0, i1):
                    wd |= np.uint64(X[r, c0 + i]) << np.uint64(8 * (i - i0))
                for t in range(cycles):
                    p = np.int64((((wd >> np.uint64(t)) & ones) * gather) >> s56)
                    if p != 0:
                        cnt = L[r, t, 0] + 1
                        L[r, t, 0] = cnt
                        L[r, t, cnt] = 256 * ch + p
            else:
                for t in range(cycles):
                    p = 0
                    for i in range(i0, i1):
                        p |= ((X[r, c0 + i] >> t) & 1) << (i - i0)
                    if p != 0:
                        cnt = L[r, t, 0] + 1
                        L[r, t, 0] = cnt
                        L[r, t, cnt] = 256 * ch + p


@njit(cache=True, nogil=True, inline="always")
def _adc(v, inv, mc, wt):
    """One conversion, shift-weighted: ``clip(floor(v / lsb + 0.5), 0, maxcode) * wt`` exactly, in float32 (see
    :func:`bitserial_adc_lists`)."""
    x = v * inv
    f = np.floor(x)
    code = f + (np.float32(1.0) if x - f >= np.float32(0.5) else np.float32(0.0))
    return min(max(code, np.float32(0.0)), mc) * wt


@njit(cache=True, nogil=True)
def bitserial_adc_lists(L, G, cycles, lsb, maxcode, cl, seg_ptr, seg_end, seg_j, cyc_w, cb0, cb1, T, a, ca, pr, yv):
    """Bit-serial reads with 1-bit inputs, ADC and shift-add of column blocks ``cb0 <= cb < cb1`` (``BLOCK``
    columns each) of one group of rows, for a batch whose chunk lists ``L`` are (:func:`bitplane_lists`); adds
    to ``yv`` (n, outputs). Over all column blocks, the result is bit for bit that of
    :func:`hwsim.reram._kernels.bitserial_adc` (the reference), whatever the split into calls.

    Reads: column c of cycle t reads ``sum_i bit_t(X[r, i]) G[i, c]`` (level units, float32; ``G`` zero-padded
    to whole 8-row chunks and whole column blocks, :func:`hwsim.reram.run._padded_levels`), summed as the
    reference sums it: table ``T[256 ch + p]`` (one block of columns) holds the subset sum of chunk ch's rows in
    p, built ``T[p] = T[p & (p - 1)] + G[lowest row of p]`` (a padding row adds 0: the same value); a read adds
    its chunks' rows four at a time, ``a += (t0 + t1) + (t2 + t3)``, then one at a time, from a = 0. Here the
    first group is stored without the ``0 +`` and the last group and the single lookups are fused with the ADC
    step (no store of a): adding 0 or not changes no value.

    ADC: the reference converts ``code = clip(floor(a / lsb + 0.5), 0, maxcode)`` in float64. Here x = a * (1 /
    lsb) is exact in float32 (lsb a power of two); for x >= 0, f = floor(x) and x - f are exact (Sterbenz for
    f >= 1, x itself for f = 0), and ``f + (x - f >= 0.5)`` is floor(x + 0.5); for x < 0 both give a code <= 0,
    clipped to 0. A read with no chunk is 0 (code 0) and is skipped. Codes are shift-added over the cycles in
    float32, ``ca += code * cyc_w[t]``: integers below 2^24 (the caller checks ``maxcode * sum(cyc_w) < 2^24``),
    exact. Outputs: ``yv[r, j] += sum of ca[c] * cl[c]`` over the run of j's columns in the block, ``cl = lsb *
    coef`` (zero-padded to whole blocks); the columns of one output are contiguous: run s of block cb (``seg_ptr[cb]
    <= s < seg_ptr[cb + 1]``) ends before column ``seg_end[s]`` of the block and belongs to output ``seg_j[s]``.
    In float64 these are integers times powers of two, exact in any order (the caller checks the bound).

    Scratch (overwritten): ``T`` (>= ceil(rows / 8) * 256, BLOCK) float32, ``a`` and ``ca`` (BLOCK,) float32,
    ``pr`` (BLOCK,) float64.
    Serial and ``nogil``: the caller runs disjoint column ranges on threads, each with its own scratch and
    ``yv``."""
    n = L.shape[0]
    nch = G.shape[0] // 8
    inv = np.float32(1.0 / lsb)
    mc = np.float32(maxcode)
    cw = cyc_w.astype(np.float32)
    z = np.zeros(BLOCK, dtype=np.float32)
    for cb in range(cb0, cb1):
        c0 = cb * BLOCK
        for ch in range(nch):
            base = 256 * ch
            for k in range(BLOCK):
                T[base, k] = 0.0
            for p in range(1, 256):
                i = 8 * ch + _LOWBIT[p]
                q = base + (p & (p - 1))
                for k in range(BLOCK):
                    T[base + p, k] = T[q, k] + G[i, c0 + k]
        for r in range(n):
            for k in range(BLOCK):
                ca[k] = 0.0
            for t in range(cycles):
                cnt = L[r, t, 0]
                if cnt == 0:
                    continue  # no row driven: every read is 0, code 0
                ng = cnt >> 2
                if ng >= 2:  # a = first group + the next ones but the last
                    i0 = L[r, t, 1]
                    i1 = L[r, t, 2]
                    i2 = L[r, t, 3]
                    i3 = L[r, t, 4]
                    for k in range(BLOCK):
                        a[k] = (T[i0, k] + T[i1, k]) + (T[i2, k] + T[i3, k])
                    for j in range(5, 4 * ng - 3, 4):
                        i0 = L[r, t, j]
                        i1 = L[r, t, j + 1]
                        i2 = L[r, t, j + 2]
                        i3 = L[r, t, j + 3]
                        for k in range(BLOCK):
                            a[k] += (T[i0, k] + T[i1, k]) + (T[i2, k] + T[i3, k])
                    src = a
                else:
                    src = z
                if ng >= 1:  # the last group (row 0 of the table is zero: a group of zeros adds nothing)
                    j = 4 * ng - 3
                    i0 = L[r, t, j]
                    i1 = L[r, t, j + 1]
                    i2 = L[r, t, j + 2]
                    i3 = L[r, t, j + 3]
                else:
                    i0 = i1 = i2 = i3 = 0
                rem = cnt & 3
                j = 4 * ng + 1  # the single lookups
                wt = cw[t]
                if rem == 0:
                    for k in range(BLOCK):
                        v = src[k] + ((T[i0, k] + T[i1, k]) + (T[i2, k] + T[i3, k]))
                        ca[k] += _adc(v, inv, mc, wt)
                elif rem == 1:
                    s1 = L[r, t, j]
                    for k in range(BLOCK):
                        v = src[k] + ((T[i0, k] + T[i1, k]) + (T[i2, k] + T[i3, k]))
                        v += T[s1, k]
                        ca[k] += _adc(v, inv, mc, wt)
                elif rem == 2:
                    s1 = L[r, t, j]
                    s2 = L[r, t, j + 1]
                    for k in range(BLOCK):
                        v = src[k] + ((T[i0, k] + T[i1, k]) + (T[i2, k] + T[i3, k]))
                        v += T[s1, k]
                        v += T[s2, k]
                        ca[k] += _adc(v, inv, mc, wt)
                else:
                    s1 = L[r, t, j]
                    s2 = L[r, t, j + 1]
                    s3 = L[r, t, j + 2]
                    for k in range(BLOCK):
                        v = src[k] + ((T[i0, k] + T[i1, k]) + (T[i2, k] + T[i3, k]))
                        v += T[s1, k]
                        v += T[s2, k]
                        v += T[s3, k]
                        ca[k] += _adc(v, inv, mc, wt)
            for k in range(BLOCK):
                pr[k] = np.float64(ca[k]) * cl[c0 + k]
            k = 0
            for sg in range(seg_ptr[cb], seg_ptr[cb + 1]):  # runs of columns of one output
                tot = 0.0
                for k in range(k, seg_end[sg]):
                    tot += pr[k]
                k = seg_end[sg]
                yv[r, seg_j[sg]] += tot


@njit(cache=True, nogil=True)
def bitserial_lowbits_rows(X, TP, cycles, plane_w, ent_bp, ent_j, ent_tab, y, r0, r1, aw):
    """The non-linear part of bit-serial reads converted by an ADC with ``lsb = 2^s`` (s >= 1) that never clips,
    for samples ``r0 <= r < r1``.

    With integer reads a >= 0 and h = lsb / 2, ``lsb * round_half_up(a / lsb) = a + h - ((a + h) mod lsb)``, and
    ``(a + h) mod lsb`` is ``a mod lsb`` with its top bit flipped. So the shift-added output is the exact integer
    product (computed apart, one matrix product) plus ``sum_c coef[c] sum_t 2^t sum_b plane_w[b] l_b[t, c]``, where
    l_b is bit b of ``a mod lsb`` and ``plane_w = (-1, -2, ..., -2^(s-2), +2^(s-1))``; this kernel adds that term
    to ``y`` (n, outputs). The low bits of a read are summed bit-sliced from the tables ``TP``
    (:func:`hwsim.reram._kernels.lowbit_tables`, ``(ceil(rows/8), 256, s, words)`` uint64) with ripple-carry adds,
    into the scratch ``aw`` (cycles, s, words). Each entry e (byte ``ent_bp[e]`` of the words, i.e. columns
    8 bp ... 8 bp + 7, restricted to output ``ent_j[e]``'s columns) adds ``sum_t 2^t sum_b plane_w[b]
    ent_tab[e, byte]``, where ``ent_tab[e, v]`` sums the ``coef`` of that output's columns whose bit is set in v.
    Exact: sums of integers times powers of two. Serial and ``nogil``: the caller runs disjoint ranges of samples
    on threads (each writes only its rows of ``y``). The plain-numpy reference is
    :func:`hwsim.reram._reference.bitserial_lowbits` (tests)."""
    nrows = X.shape[1]
    nch = TP.shape[0]
    ns = TP.shape[2]
    nwd = TP.shape[3]
    ne = ent_bp.shape[0]
    for r in range(r0, r1):
        for t in range(cycles):
            at = aw[t]
            for b in range(ns):
                for w in range(nwd):
                    at[b, w] = 0
            for ch in range(nch):
                p = 0
                i0 = 8 * ch
                for i in range(i0, min(i0 + 8, nrows)):
                    p |= ((X[r, i] >> t) & 1) << (i - i0)
                if p != 0:
                    tp = TP[ch, p]
                    if ns == 1:
                        for w in range(nwd):
                            at[0, w] ^= tp[0, w]
                    else:
                        for w in range(nwd):
                            carry = np.uint64(0)
                            for b in range(ns):
                                u = at[b, w]
                                v = tp[b, w]
                                at[b, w] = u ^ v ^ carry
                                carry = (u & v) | (carry & (u ^ v))
        for e in range(ne):
            bp = ent_bp[e]
            w = bp >> 3
            sh = np.uint64(8 * (bp & 7))
            tab = ent_tab[e]
            tot = 0.0
            wt = 1.0
            for t in range(cycles):
                for b in range(ns):
                    tot += tab[np.intp((aw[t, b, w] >> sh) & np.uint64(255))] * (plane_w[b] * wt)
                wt *= 2.0
            y[r, ent_j[e]] += tot
