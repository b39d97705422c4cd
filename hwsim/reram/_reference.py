"""Numpy oracles of :mod:`hwsim.reram._kernels` and :mod:`hwsim.reram._kernels_run`: short, vectorised, obviously
correct; tests compare the two."""
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


def compact_scan(q, cfg):
    """Oracle of the kernel (via :func:`hwsim.reram.mapping.compact_layout`): (tiles, driven rows, converted
    outputs, cell levels of the driven rows, most conversions of any ADC)."""
    from .mapping import _adc_max_conversions, compact_layout, weight_levels

    C, cpw = cfg.cols, cfg.columns_per_weight
    nz = q != 0
    wl = weight_levels(q, cfg)
    tiles = rows_tot = conv_outs = levels = max_conv = 0
    for outs, chunks in compact_layout(q, cfg):
        nzs, wls = nz[outs], wl[outs]
        for rows in chunks:
            tiles += 1
            rows_tot += len(rows)
            conv_out = nzs[:, rows].any(axis=1)
            conv_outs += int(conv_out.sum())
            levels += int(wls[:, rows].sum())
            phys = np.zeros(C, dtype=bool)
            phys[:len(outs) * cpw] = np.repeat(conv_out, cpw)
            max_conv = max(max_conv, int(_adc_max_conversions(phys[None, :], cfg.adc.cols_per_adc)[0]))
    return tiles, rows_tot, conv_outs, levels, max_conv


def ou_grid(q, cfg):
    """Oracle of :func:`hwsim.reram.mapping.ou_grid` (kernel ``ou_scan``): (nonzero, levels) of the OU grid."""
    out_f, in_f = q.shape
    cpw = cfg.columns_per_weight
    our, ouc = cfg.mapping.ou_rows, cfg.mapping.ou_cols
    n_rb, n_cb = -(-in_f // our), -(-(out_f * cpw) // ouc)
    ncols = out_f * cpw
    nzT = np.zeros((n_rb * our, out_f), dtype=bool)
    nzT[:in_f] = (q != 0).T
    A = nzT.reshape(n_rb, our, out_f).any(axis=1)  # (n_rb, out): output has a nonzero in the row block
    cb = np.arange(n_cb)
    j_lo = (cb * ouc) // cpw
    j_hi = np.minimum(out_f - 1, ((cb + 1) * ouc - 1) // cpw)
    cs = np.concatenate([np.zeros((n_rb, 1), dtype=np.int64), np.cumsum(A, axis=1, dtype=np.int64)], axis=1)
    nonzero = (cs[:, j_hi + 1] - cs[:, j_lo]) > 0
    bpc, mask = cfg.crossbar.bits_per_cell, (1 << cfg.crossbar.bits_per_cell) - 1
    phys_lv = np.zeros((n_rb, n_cb * ouc), dtype=np.int64)
    qT = np.zeros((n_rb * our, out_f), dtype=np.int64)
    qT[:in_f] = q.T
    diff = cfg.precision.signed == "differential"
    u = np.abs(qT) if diff else qT + cfg.offset_value
    if not diff:
        u[in_f:] = 0  # padding rows hold no cells
    for s in range(cfg.slices):
        sl = ((u >> (bpc * s)) & mask).reshape(n_rb, our, out_f)
        if diff:
            pos = (qT > 0).reshape(n_rb, our, out_f)
            phys_lv[:, 2 * s:ncols:cpw] = np.where(pos, sl, 0).sum(axis=1)
            phys_lv[:, 2 * s + 1:ncols:cpw] = np.where(~pos, sl, 0).sum(axis=1)
        else:
            phys_lv[:, s:ncols:cpw] = sl.sum(axis=1)
    return nonzero, phys_lv.reshape(n_rb, n_cb, ouc).sum(axis=2)


def bitserial_lowbits(X, G, cycles, lsb, coef, jidx, out_f):
    """Oracle of the low-bits kernel: ``sum_c coef[c] sum_t 2^t (lsb * round_half_up(read / lsb) - read)`` per
    sample and output, from the exact integer reads of 1-bit input cycles against integer levels G (rows, cols)."""
    y = np.zeros((X.shape[0], out_f))
    Gi = G.astype(np.int64)
    for t in range(cycles):
        a = ((X >> t) & 1) @ Gi
        d = lsb * np.floor(a / lsb + 0.5) - a
        np.add.at(y.T, jidx, (d * coef[None, :] * 2.0 ** t).T)
    return y


def quantize_inputs(x, imax):
    """Oracle of :func:`hwsim.reram._kernels_run.quantize_rows` (sign +1): per-row scale sx = max / imax (1 where
    <= 0) and int64 levels clip(floor(x / sx + 0.5), 0, imax) of float64 ``x``."""
    x = np.asarray(x, dtype=np.float64)
    sx = x.max(axis=1) / imax
    sx[sx <= 0] = 1.0
    q = np.clip(np.floor(x / sx[:, None] + 0.5), 0, imax)
    return q.astype(np.int64), sx


def bitplane_lists(X, cycles, fill=-1):
    """Oracle of :func:`hwsim.reram._kernels_run.bitplane_lists`: (n, cycles, ceil(rows/8) + 1) int32, count
    first, then the table rows ``256 ch + byte`` of the nonzero chunks in increasing ch; the rest ``fill``."""
    n, nrows = X.shape
    nch = -(-nrows // 8)
    Xp = np.zeros((n, nch * 8), dtype=np.int64)
    Xp[:, :nrows] = X
    L = np.full((n, cycles, nch + 1), fill, dtype=np.int32)
    for t in range(cycles):
        p = (((Xp >> t) & 1).reshape(n, nch, 8) << np.arange(8)).sum(axis=2)
        for r in range(n):
            nz = np.flatnonzero(p[r])
            L[r, t, 0] = len(nz)
            L[r, t, 1:1 + len(nz)] = 256 * nz + p[r, nz]
    return L


def subset_tables(G):
    """float32 "four Russians" tables (ceil(rows/8), 256, cols) of the table kernels: ``T[ch, p] = T[ch, p & (p -
    1)] + G[8 ch + lowest bit of p]`` (rows past the end add nothing)."""
    nrows, ncols = G.shape
    nch = -(-nrows // 8)
    Gp = np.zeros((nch * 8, ncols), dtype=np.float32)
    Gp[:nrows] = G
    T = np.zeros((nch, 256, ncols), dtype=np.float32)
    for p in range(1, 256):
        T[:, p] = T[:, p & (p - 1)] + Gp[((p & -p).bit_length() - 1)::8]
    return T


def bitserial_adc_f32(X, G, cycles, lsb, maxcode, coef, jidx, cyc_w, out_f):
    """The table kernels' arithmetic in plain numpy (float32 reads in their order: per read, the tables' rows of
    its nonzero chunks added four at a time, ``a + ((t0 + t1) + (t2 + t3))``, then one at a time, from a = 0;
    float64 ADC ``clip(floor(a / lsb + 0.5), 0, maxcode)``; shift-add). Bit for bit what
    :func:`hwsim.reram._kernels.bitserial_adc` and :func:`hwsim.reram._kernels_run.bitserial_adc_lists` return."""
    n = X.shape[0]
    ncols = G.shape[1]
    T = subset_tables(G).reshape(-1, ncols)
    L = bitplane_lists(X, cycles)
    y = np.zeros((n, out_f))
    for r in range(n):
        for t in range(cycles):
            rows = T[L[r, t, 1:1 + L[r, t, 0]]]
            a = np.zeros(ncols, dtype=np.float32)
            j = 0
            while j + 4 <= len(rows):
                a = a + ((rows[j] + rows[j + 1]) + (rows[j + 2] + rows[j + 3]))
                j += 4
            for j in range(j, len(rows)):
                a = a + rows[j]
            code = np.clip(np.floor(a.astype(np.float64) / lsb + 0.5), 0, maxcode)
            np.add.at(y[r], jidx, code * lsb * coef * cyc_w[t])
    return y
