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
