"""Numba kernels of the ReRAM simulator. Arrays and scalars only; the public modules validate and unpack configs.

Each kernel has a numpy oracle of the same name in :mod:`hwsim.reram._reference`; tests compare them.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange


@njit(cache=True, nogil=True)
def absmax(w):
    """max |w| over a 2-D array."""
    m = 0.0
    for j in range(w.shape[0]):
        for i in range(w.shape[1]):
            a = abs(w[j, i])
            if a > m:
                m = a
    return m


@njit(cache=True, nogil=True)
def _qround(x, qmax):
    r = math.floor(abs(x) + 0.5)
    if r > qmax:
        r = qmax
    return int(r) if x >= 0 else -int(r)


@njit(cache=True, nogil=True)
def quantize(w, scale_inv, qmax, out):
    """out[j, i] = round-half-away(w[j, i] * scale_inv), clipped to [-qmax, qmax]."""
    for j in range(w.shape[0]):
        for i in range(w.shape[1]):
            v = w[j, i]
            out[j, i] = 0 if v == 0 else _qround(v * scale_inv, qmax)


@njit(cache=True, nogil=True)
def scan_layer(w, scale_inv, qmax, R, C, cpw, nslices, bpc, differential, offset, off_lv, rownz, colnz, rowlev):
    """One pass over a weight matrix (out, in) in its natural crossbar layout (W^T tiled R x C).

    For every quantized nonzero weight (j, i): ``colnz[i // R, j] = 1`` (output j has a nonzero in row tile
    i // R); ``rownz[ct, i] = 1`` for every column tile ct its cpw columns touch; ``rowlev[ct, i]`` accumulates
    the cell levels of its columns in ct minus the levels a zero weight holds there (``off_lv``, offset mode).
    Returns the number of quantized nonzero weights.
    """
    mask = (1 << bpc) - 1
    nnz = 0
    for j in range(w.shape[0]):
        kbase = j * cpw
        ct0 = kbase // C
        ct1 = (kbase + cpw - 1) // C
        for i in range(w.shape[1]):
            v = w[j, i]
            if v == 0:
                continue
            q = _qround(v * scale_inv, qmax)
            if q == 0:
                continue
            nnz += 1
            colnz[i // R, j] = 1
            for ct in range(ct0, ct1 + 1):
                rownz[ct, i] = 1
            if differential:
                mag = q if q > 0 else -q
                sc = 0 if q > 0 else 1
                for s in range(nslices):
                    lv = (mag >> (bpc * s)) & mask
                    if lv != 0:
                        rowlev[(kbase + 2 * s + sc) // C, i] += lv
            else:
                u = q + offset
                for s in range(nslices):
                    d = ((u >> (bpc * s)) & mask) - off_lv[s]
                    if d != 0:
                        rowlev[(kbase + s) // C, i] += d
    return nnz


@njit(cache=True, nogil=True, parallel=True)
def adc_accumulate(P, n, cycles, lsb, maxcode, coef, jidx, cyc_w, y):
    """ADC and shift-add of one crossbar read group.

    ``P`` (cycles * n, ncols) holds analog column sums in level units, row t * n + r for input cycle t and
    sample r. Each is converted ``code = clip(round(P / lsb), 0, maxcode)`` and merged digitally:
    ``y[r, jidx[c]] += code * lsb * coef[c] * cyc_w[t]``.
    """
    ncols = P.shape[1]
    for r in prange(n):
        for t in range(cycles):
            row = t * n + r
            wt = cyc_w[t] * lsb
            for c in range(ncols):
                code = math.floor(P[row, c] / lsb + 0.5)
                if code < 0.0:
                    code = 0.0
                elif code > maxcode:
                    code = maxcode
                y[r, jidx[c]] += code * wt * coef[c]


@njit(cache=True, nogil=True, parallel=True)
def bitserial_adc(X, G, cycles, lsb, maxcode, coef, jidx, cyc_w, y, scratch, T):
    """Bit-serial crossbar reads with 1-bit inputs, ADC and shift-add, for one group of rows.

    ``X`` (n, rows) holds the unsigned integer inputs of the group's rows; cycle t drives row i when bit t of
    X[r, i] is 1, and column c reads ``sum_i bit_t(X[r, i]) G[i, c]`` (level units). The read is converted and
    merged as in :func:`adc_accumulate`. Reads are summed from tables of all 16 subsets of 4 rows ("four
    Russians"), built per block of columns. ``scratch`` is (n, block) and ``T`` (ceil(rows/4), 16, block)
    float32 workspace.
    """
    n, nrows = X.shape
    ncols = G.shape[1]
    nch = (nrows + 3) // 4
    blk = T.shape[2]
    for c0 in range(0, ncols, blk):
        w = min(blk, ncols - c0)
        for ch in range(nch):
            for k in range(w):
                T[ch, 0, k] = 0.0
            for p in range(1, 16):
                low = p & (-p)
                b = 0 if low == 1 else (1 if low == 2 else (2 if low == 4 else 3))
                i = 4 * ch + b
                prev = p & (p - 1)
                if i < nrows:
                    for k in range(w):
                        T[ch, p, k] = T[ch, prev, k] + G[i, c0 + k]
                else:
                    for k in range(w):
                        T[ch, p, k] = T[ch, prev, k]
        for r in prange(n):
            acc = scratch[r]
            for t in range(cycles):
                for k in range(w):
                    acc[k] = 0.0
                for ch in range(nch):
                    p = 0
                    for b in range(4):
                        i = 4 * ch + b
                        if i < nrows:
                            p |= ((X[r, i] >> t) & 1) << b
                    if p != 0:
                        for k in range(w):
                            acc[k] += T[ch, p, k]
                wt = cyc_w[t] * lsb
                for k in range(w):
                    code = math.floor(acc[k] / lsb + 0.5)
                    if code < 0.0:
                        code = 0.0
                    elif code > maxcode:
                        code = maxcode
                    y[r, jidx[c0 + k]] += code * wt * coef[c0 + k]
