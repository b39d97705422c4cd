"""Numpy oracles of :mod:`hwsim.reram._kernels`: short, vectorised, obviously correct; tests compare the two."""
from __future__ import annotations

import numpy as np


def absmax(w: np.ndarray) -> float:
    return float(np.abs(w).max()) if w.size else 0.0


def qround(x: np.ndarray, qmax: int) -> np.ndarray:
    r = np.minimum(np.floor(np.abs(x) + 0.5), qmax)
    return (np.sign(x) * r).astype(np.int64)


def quantize(w: np.ndarray, scale_inv: float, qmax: int) -> np.ndarray:
    return qround(w.astype(np.float64) * scale_inv, qmax)


def slice_levels(q: np.ndarray, differential: bool, offset: int, nslices: int, bpc: int) -> np.ndarray:
    """Physical cell levels (in, out * cpw) of the quantized matrix q (out, in), column j * cpw + ..."""
    mask = (1 << bpc) - 1
    out_f, in_f = q.shape
    if differential:
        cpw = 2 * nslices
        lv = np.zeros((in_f, out_f * cpw), dtype=np.int64)
        mag = np.abs(q).T
        pos = (q > 0).T
        for s in range(nslices):
            sl = (mag >> (bpc * s)) & mask
            lv[:, 2 * s::cpw] = np.where(pos, sl, 0)
            lv[:, 2 * s + 1::cpw] = np.where(~pos, sl, 0)
    else:
        cpw = nslices
        u = (q + offset).T
        lv = np.zeros((in_f, out_f * cpw), dtype=np.int64)
        for s in range(nslices):
            lv[:, s::cpw] = (u >> (bpc * s)) & mask
    return lv


def scan_layer(w, scale_inv, qmax, R, C, cpw, nslices, bpc, differential, offset, off_lv):
    """Oracle of the kernel: returns (rownz, colnz, rowlev, nnz) with the kernel's padded shapes."""
    out_f, in_f = w.shape
    q = quantize(w, scale_inv, qmax)
    nz = q != 0
    n_rt, n_ct = -(-in_f // R), -(-(out_f * cpw) // C)
    rownz = np.zeros((n_ct, n_rt * R), dtype=np.uint8)
    colnz = np.zeros((n_rt, out_f), dtype=np.uint8)
    rowlev = np.zeros((n_ct, n_rt * R), dtype=np.int64)
    for rt in range(n_rt):
        colnz[rt] = nz[:, rt * R:(rt + 1) * R].any(axis=1)
    lv = slice_levels(q, differential, offset, nslices, bpc)
    zero_lv = slice_levels(np.zeros_like(q), differential, offset, nslices, bpc)
    delta = np.where(np.repeat(nz.T, cpw, axis=1), lv - zero_lv, 0)
    for ct in range(n_ct):
        k0, k1 = ct * C, min((ct + 1) * C, out_f * cpw)
        j0, j1 = k0 // cpw, (k1 - 1) // cpw + 1
        rownz[ct, :in_f] = nz[j0:j1].any(axis=0)
        rowlev[ct, :in_f] = delta[:, k0:k1].sum(axis=1)
    return rownz, colnz, rowlev, int(nz.sum())


def adc_accumulate(P, n, cycles, lsb, maxcode, coef, jidx, cyc_w, out_f):
    codes = np.clip(np.floor(P / lsb + 0.5), 0, maxcode) * lsb
    y = np.zeros((n, out_f))
    for t in range(cycles):
        contrib = codes[t * n:(t + 1) * n] * coef[None, :] * cyc_w[t]
        np.add.at(y.T, jidx, contrib.T)
    return y


def bitserial_adc(X, G, cycles, lsb, maxcode, coef, jidx, cyc_w, out_f):
    n = X.shape[0]
    D = np.concatenate([((X >> t) & 1) for t in range(cycles)], axis=0).astype(np.float64)
    P = D @ G.astype(np.float64)
    return adc_accumulate(P, n, cycles, lsb, maxcode, coef, jidx, cyc_w, out_f)
