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
def bitserial_adc(X, G, cycles, lsb, maxcode, coef, jidx, cyc_w, y, B, L, T, acc, colacc, yw):
    """Bit-serial crossbar reads with 1-bit inputs, ADC and shift-add, for one group of rows and a whole batch.

    ``X`` (n, rows) holds the unsigned integer inputs of the group's rows; cycle t drives row i when bit t of
    X[r, i] is 1, and column c reads ``sum_i bit_t(X[r, i]) G[i, c]`` (level units). Each read is converted,
    ``code = clip(round(read / lsb), 0, maxcode)`` (round half up; ``lsb`` a power of two, as
    :func:`hwsim.reram.run.adc_params` makes it), and merged digitally:
    ``y[r, jidx[c]] += code * lsb * coef[c] * cyc_w[t]``.

    A read is a sum of selected rows, so it is summed from tables of all 256 subsets of 8 rows ("four
    Russians"): one lookup (a contiguous add over a block of columns) replaces up to 8 row adds, all-zero 8-row
    chunks of an input are skipped, and four lookups share one pass over the accumulator. Columns are cut into
    blocks of ``T.shape[3]`` (slices of crossbar tiles); the outer ``prange`` runs over ``nw = T.shape[0]``
    workers, worker w taking blocks w, w + nw, ... with its own preallocated slot: its table ``T[w]`` (rows/8 x
    256 x block float32, 1 MB for 128 rows and 64 columns, which stays in the core's cache while the whole batch
    streams through it), accumulators ``acc[w]``, ``colacc[w]`` (codes shift-added over the cycles, so outputs
    are updated once per column, not once per cycle) and partial outputs ``yw[w]``, summed into ``y`` serially
    afterwards. Workspace: ``B`` (n, cycles, ceil(rows/8)) uint8 chunk bytes and ``L`` (n, cycles,
    ceil(rows/8) + 1) int32 lists of nonzero chunks (count first); ``acc`` (nw, block) float32; ``colacc``
    (nw, block) and ``yw`` (nw, n, outputs) float64. All are overwritten.
    """
    n, nrows = X.shape
    ncols = G.shape[1]
    nch = (nrows + 7) // 8
    nw, _, _, blk = T.shape
    nb = (ncols + blk - 1) // blk
    inv = 1.0 / lsb
    for r in prange(n):  # bits t of rows 8 ch ... 8 ch + 7 packed into one byte (row 8 ch + b -> bit b)
        for t in range(cycles):
            cnt = 0
            for ch in range(nch):
                p = 0
                i0 = 8 * ch
                for i in range(i0, min(i0 + 8, nrows)):
                    p |= ((X[r, i] >> t) & 1) << (i - i0)
                B[r, t, ch] = p
                if p != 0:
                    cnt += 1
                    L[r, t, cnt] = ch
            L[r, t, 0] = cnt
    for wk in prange(nw):
        Tb = T[wk]
        a = acc[wk]
        ca = colacc[wk]
        yv = yw[wk]
        yv[:, :] = 0.0
        for cb in range(wk, nb, nw):
            c0 = cb * blk
            w = min(blk, ncols - c0)
            for ch in range(nch):
                for k in range(w):
                    Tb[ch, 0, k] = 0.0
                for p in range(1, 256):
                    b = 0
                    while not (p >> b) & 1:
                        b += 1
                    i = 8 * ch + b
                    tp = Tb[ch, p]
                    tq = Tb[ch, p & (p - 1)]
                    if i < nrows:
                        for k in range(w):
                            tp[k] = tq[k] + G[i, c0 + k]
                    else:
                        for k in range(w):
                            tp[k] = tq[k]
            for r in range(n):
                for k in range(w):
                    ca[k] = 0.0
                for t in range(cycles):
                    bt = B[r, t]
                    lt = L[r, t]
                    cnt = lt[0]
                    for k in range(w):
                        a[k] = 0.0
                    j = 1
                    while j + 3 <= cnt:  # four lookups per pass over the accumulator
                        t0 = Tb[lt[j], bt[lt[j]]]
                        t1 = Tb[lt[j + 1], bt[lt[j + 1]]]
                        t2 = Tb[lt[j + 2], bt[lt[j + 2]]]
                        t3 = Tb[lt[j + 3], bt[lt[j + 3]]]
                        for k in range(w):
                            a[k] += (t0[k] + t1[k]) + (t2[k] + t3[k])
                        j += 4
                    while j <= cnt:
                        t0 = Tb[lt[j], bt[lt[j]]]
                        for k in range(w):
                            a[k] += t0[k]
                        j += 1
                    wt = cyc_w[t]
                    for k in range(w):
                        code = math.floor(a[k] * inv + 0.5)
                        code = min(max(code, 0.0), maxcode)
                        ca[k] += code * wt
                for k in range(w):
                    yv[r, jidx[c0 + k]] += ca[k] * lsb * coef[c0 + k]
    for wk in range(nw):
        for r in range(n):
            for j in range(y.shape[1]):
                y[r, j] += yw[wk, r, j]


@njit(cache=True, nogil=True)
def _weight_level(v, differential, offset, nslices, bpc):
    """Sum of the cell levels of a weight's columns (differential: |q| split in slices; offset: q + offset)."""
    mask = (1 << bpc) - 1
    u = (v if v > 0 else -v) if differential else v + offset
    tot = 0
    for s in range(nslices):
        tot += (u >> (bpc * s)) & mask
    return tot


@njit(cache=True, nogil=True)
def csr_fill(q, indptr, indices, values):
    """Compressed sparse rows of q (out, in): the nonzero inputs of output j (increasing) and their values at
    ``indptr[j]:indptr[j + 1]`` (``indptr`` from the nonzero counts per output)."""
    for j in range(q.shape[0]):
        p = indptr[j]
        for i in range(q.shape[1]):
            v = q[j, i]
            if v != 0:
                indices[p] = i
                values[p] = v
                p += 1


@njit(cache=True, nogil=True)
def compact_scan(indptr, indices, values, in_f, strips, strip_len, R, cpw, cpa, C, differential, offset, nslices,
                 bpc):
    """Counts of the 'compact' layout (see :func:`hwsim.reram.mapping.compact_layout`), from the compressed
    sparse rows of the quantized weights (:func:`csr_fill`).

    ``strips`` (n_strips, outputs per strip) holds each strip's outputs in increasing order, ``strip_len`` how
    many are used. In each strip the inputs with a nonzero weight are packed, in index order, R per crossbar.
    Two passes over the strip's nonzeros: mark and rank the nonzero rows, then mark the converted outputs of
    every tile and sum the cell levels. Returns (tiles, driven rows, converted outputs, cell levels of the driven
    rows, most conversions of any ADC).
    """
    wps = strips.shape[1]
    zero_wl = _weight_level(0, differential, offset, nslices, bpc)
    rank = np.full(in_f, -1, dtype=np.int64)
    max_tiles = (in_f + R - 1) // R
    conv = np.zeros((max_tiles, wps), dtype=np.uint8)
    n_adc = (C + cpa - 1) // cpa
    adc = np.zeros(n_adc, dtype=np.int64)
    tiles = rows_tot = conv_outs = levels = max_conv = 0
    for s in range(strips.shape[0]):
        ns = strip_len[s]
        for jl in range(ns):
            j = strips[s, jl]
            for p in range(indptr[j], indptr[j + 1]):
                rank[indices[p]] = 0
        nr = 0
        tcur = 1  # 1-based tile of the next ranked row (0 still means "marked"); no division per row
        tfill = 0
        for i in range(in_f):
            if rank[i] == 0:
                rank[i] = tcur
                nr += 1
                tfill += 1
                if tfill == R:
                    tfill = 0
                    tcur += 1
        ntile = (nr + R - 1) // R
        for t in range(ntile):
            for jl in range(ns):
                conv[t, jl] = 0
        for jl in range(ns):
            j = strips[s, jl]
            for p in range(indptr[j], indptr[j + 1]):
                conv[rank[indices[p]] - 1, jl] = 1
                levels += _weight_level(values[p], differential, offset, nslices, bpc) - zero_wl
        for t in range(ntile):
            rows_t = min(R, nr - t * R)
            tiles += 1
            rows_tot += rows_t
            levels += ns * rows_t * zero_wl
            for a in range(n_adc):
                adc[a] = 0
            for jl in range(ns):
                if conv[t, jl]:
                    conv_outs += 1
                    for c in range(jl * cpw, jl * cpw + cpw):
                        adc[c // cpa] += 1
            for a in range(n_adc):
                if adc[a] > max_conv:
                    max_conv = adc[a]
        for i in range(in_f):
            rank[i] = -1
    return tiles, rows_tot, conv_outs, levels, max_conv


@njit(cache=True, nogil=True)
def ou_scan(q, our, ouc, cpw, nslices, bpc, differential, offset, off_lv, nonzero, levels):
    """One pass over q (out, in) for the operation-unit grid (row blocks of ``our`` inputs x ``ouc`` physical
    columns): ``nonzero[rb, cb] = 1`` when an output with a column in cb has a nonzero weight in rb;
    ``levels[rb, cb]`` accumulates the cell levels of the nonzero weights there minus the levels a zero weight
    holds (``off_lv``, offset mode; the zero-weight baseline is added by the caller)."""
    mask = (1 << bpc) - 1
    for j in range(q.shape[0]):
        kbase = j * cpw
        cb0 = kbase // ouc
        cb1 = (kbase + cpw - 1) // ouc
        for i in range(q.shape[1]):
            v = q[j, i]
            if v == 0:
                continue
            rb = i // our
            for cb in range(cb0, cb1 + 1):
                nonzero[rb, cb] = 1
            if differential:
                mag = v if v > 0 else -v
                sc = 0 if v > 0 else 1
                for s in range(nslices):
                    lv = (mag >> (bpc * s)) & mask
                    if lv != 0:
                        levels[rb, (kbase + 2 * s + sc) // ouc] += lv
            else:
                u = v + offset
                for s in range(nslices):
                    d = ((u >> (bpc * s)) & mask) - off_lv[s]
                    if d != 0:
                        levels[rb, (kbase + s) // ouc] += d


@njit(cache=True, nogil=True)
def lowbit_tables(O, TP):
    """"Four Russians" tables of one read group for reads taken modulo 2^s (s = ``O.shape[1]``), bit-sliced:
    ``O[i, b, w]`` holds bit b of row i's levels (bit c of word w: column 64 w + c); ``TP[ch, p, b, w]`` bit b of
    the sum, modulo 2^s, of the rows 8 ch + k with bit k set in p (ripple-carry adds of bit planes). s = 1: the
    parity, a GF(2) sum."""
    nrows, ns, nwd = O.shape
    for ch in range(TP.shape[0]):
        for b in range(ns):
            for w in range(nwd):
                TP[ch, 0, b, w] = 0
        for p in range(1, 256):
            k = 0
            while not (p >> k) & 1:
                k += 1
            i = 8 * ch + k
            src = TP[ch, p & (p - 1)]
            dst = TP[ch, p]
            if i >= nrows:
                for b in range(ns):
                    for w in range(nwd):
                        dst[b, w] = src[b, w]
                continue
            for w in range(nwd):
                carry = np.uint64(0)
                for b in range(ns):
                    x = src[b, w]
                    y = O[i, b, w]
                    dst[b, w] = x ^ y ^ carry
                    carry = (x & y) | (carry & (x ^ y))


@njit(cache=True, nogil=True)
def csr_collect(w, indptr, indices, vals):
    """One pass over w (out, in): its nonzero entries as compressed sparse rows (``indptr`` (out + 1,), ``indices``
    and ``vals``; the store is unconditional, the cursor advances on nonzeros, so only the first nnz + 1 entries
    are touched) and max |w| (the same value as :func:`absmax`). Returns -1.0 when a row might not fit in
    ``indices`` (then the caller takes the dense path)."""
    m = 0.0
    p = 0
    cap = indices.shape[0]
    for j in range(w.shape[0]):
        if p + w.shape[1] > cap:
            return -1.0
        indptr[j] = p
        for i in range(w.shape[1]):
            v = w[j, i]
            a = abs(v)
            if a > m:
                m = a
            indices[p] = i
            vals[p] = v
            p += v != 0
    indptr[w.shape[0]] = p
    return m


@njit(cache=True, nogil=True)
def csr_quantize_scan(indptr, indices, vals, in_f, scale_inv, qmax, R, C, cpw, nslices, bpc, differential, offset,
                      off_lv, qindptr, qvals, rownz, colnz, rowlev):
    """:func:`scan_layer` over the nonzeros of w in compressed sparse rows (:func:`csr_collect`), which it
    quantizes in place: quantized zeros are dropped, ``indices`` compacted, ``qindptr``/``qvals`` filled (the CSR
    of q that :func:`compact_scan` and :func:`ou_scan_csr` take). Same outputs as :func:`scan_layer` on the dense
    matrix; work proportional to the nonzeros. Returns the number of quantized nonzero weights."""
    mask = (1 << bpc) - 1
    nnz = 0
    rt_of = np.empty(in_f, dtype=np.int64)  # row tile of each input (no division per nonzero)
    for i in range(in_f):
        rt_of[i] = i // R
    cts = np.empty(2 * nslices, dtype=np.int64)  # column tile of each of an output's columns
    for j in range(indptr.shape[0] - 1):
        qindptr[j] = nnz
        kbase = j * cpw
        ct0 = kbase // C
        ct1 = (kbase + cpw - 1) // C
        for k in range(cpw):
            cts[k] = (kbase + k) // C
        for p in range(indptr[j], indptr[j + 1]):
            i = indices[p]
            q = _qround(vals[p] * scale_inv, qmax)
            if q == 0:
                continue
            indices[nnz] = i
            qvals[nnz] = q
            nnz += 1
            colnz[rt_of[i], j] = 1
            for ct in range(ct0, ct1 + 1):
                rownz[ct, i] = 1
            if differential:  # unconditional adds (of 0 too): no mispredicted branch per slice
                mag = abs(q)
                sc = int(q < 0)
                for s in range(nslices):
                    rowlev[cts[2 * s + sc], i] += (mag >> (bpc * s)) & mask
            else:
                u = q + offset
                for s in range(nslices):
                    rowlev[cts[s], i] += ((u >> (bpc * s)) & mask) - off_lv[s]
    qindptr[indptr.shape[0] - 1] = nnz
    return nnz


@njit(cache=True, nogil=True)
def ou_scan_csr(indptr, indices, values, our, ouc, cpw, nslices, bpc, differential, offset, off_lv, nonzero, levels):
    """:func:`ou_scan` from the compressed sparse rows of q (work proportional to its nonzeros)."""
    mask = (1 << bpc) - 1
    cbs = np.empty(2 * nslices, dtype=np.int64)  # OU column of each of an output's columns
    rb_of = np.empty(nonzero.shape[0] * our, dtype=np.int64)  # row block of each input (no division per nonzero)
    for i in range(rb_of.shape[0]):
        rb_of[i] = i // our
    for j in range(indptr.shape[0] - 1):
        kbase = j * cpw
        cb0 = kbase // ouc
        cb1 = (kbase + cpw - 1) // ouc
        for k in range(cpw):
            cbs[k] = (kbase + k) // ouc
        for p in range(indptr[j], indptr[j + 1]):
            i = indices[p]
            v = values[p]
            rb = rb_of[i]
            for cb in range(cb0, cb1 + 1):
                nonzero[rb, cb] = 1
            if differential:  # unconditional adds, as in csr_quantize_scan
                mag = abs(v)
                sc = int(v < 0)
                for s in range(nslices):
                    levels[rb, cbs[2 * s + sc]] += (mag >> (bpc * s)) & mask
            else:
                u = v + offset
                for s in range(nslices):
                    levels[rb, cbs[s]] += ((u >> (bpc * s)) & mask) - off_lv[s]


@njit(cache=True, nogil=True)
def ou_pack(n_g, nat_tiles, slots, critical, densest, packed, strip_tiles, strip_max):
    """Placement of every column strip of the 'ou' layout (see :func:`hwsim.reram.mapping.ou_layout`): ``n_g``
    (strips, OU columns) nonzero OUs per OU column; ``nat_tiles`` crossbars of the natural layout per strip, whose
    ``strip_max`` (in: the natural value) is replaced when the strip is packed."""
    for ct in range(n_g.shape[0]):
        g = n_g[ct]
        gmax = 0
        for k in range(g.shape[0]):
            if g[k] > gmax:
                gmax = g[k]
        strip_tiles[ct] = nat_tiles[ct]
        if densest:
            pk = (gmax + slots - 1) // slots if gmax > 0 else 0
            if pk < nat_tiles[ct]:
                packed[ct] = True
                strip_tiles[ct] = pk
                best = 0
                for t in range(pk):
                    tot = 0
                    for k in range(g.shape[0]):
                        c = g[k] - t * slots
                        tot += min(max(c, 0), slots)
                    if tot > best:
                        best = tot
                strip_max[ct] = best
            continue
        p0 = max(1, (gmax + slots - 1) // slots)
        for p in range(p0, nat_tiles[ct]):
            busiest = 0
            for k in range(g.shape[0]):
                busiest += (g[k] + p - 1) // p
            if busiest <= critical:
                packed[ct] = True
                strip_tiles[ct] = p
                strip_max[ct] = busiest
                break
