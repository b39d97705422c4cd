"""The network evaluated through the crossbars: quantization, bit-serial inputs, bit-sliced weights, per-read ADC
conversion with finite resolution and clipping, conductance variation, stuck-at faults, finite on/off ratio.

Numerics of one layer y = W x (the hook replaces ``cols @ W.T``):

1. Inputs: each input vector is split into its positive and negative parts (each run through the crossbars,
   results subtracted) and quantized to ``input_bits`` unsigned integers with a per-vector scale
   (dynamic fixed point; assumption). Digits of ``dac_bits`` are applied one cycle each.
2. Weights: q = round(W / s) in ``weight_bits``, stored as cell levels (differential pairs or offset code, see
   :mod:`hwsim.reram.mapping`). Programmed conductance G = G_off + level (G_on - G_off) / L, then variation
   (lognormal G exp(sigma z) or gaussian G (1 + sigma z)), then stuck-at faults (SA0 -> G_off, SA1 -> G_on).
3. A crossbar read sums digit x G over the rows it drives, per column. The periphery subtracts the nominal G_off
   baseline (calibrated reference: exact for nominal cells, so a finite on/off ratio matters only with variation
   and faults) and the ADC converts in level units: full scale FS = rows x L x (2^dac_bits - 1) x range_fraction
   (rows = R, or ou_rows in 'ou' mode), LSB = 2^max(0, ceil(log2(FS + 1)) - b), codes clipped to
   [0, 2^b - 1], b = adc bits (+1 with ISAAC's flipped encoding, ``adc.flip_encoding``). Shift-and-add merges
   slices, cycles and crossbars; the offset code's contribution is removed digitally from the sum of the driven
   inputs.
4. Which rows are summed together, which are driven and which columns converted follow the mapping mode
   (empty tiles, rows and columns are skipped, compact tiles gather their packed rows, 'ou' reads one
   operation unit at a time).

When the hardware is ideal (no variation or faults) and every ADC resolves every level without clipping, the
result equals the exact integer product and is computed as one matrix product (tested against the bit-serial
path).

Bit-serial kernels (1-bit DACs): the reference is the table kernel :func:`_kernels.bitserial_adc` (``fast=False``).
``fast=True`` (the default) sends ideal devices with a non-clipping ADC of LSB <= 2^LOWBITS_MAX to the low-bits
path (exact integer product + a bit-sliced correction) and everything else -- device variation, stuck-at faults,
clipping ADCs, coarser ADCs -- to the chunk-list kernel :func:`_kernels_run.bitserial_adc_lists`, which sums
every read in float32 in the table kernel's own order, converts it with an exact rewrite of its ADC step and
drops the columns that cannot reach half an LSB; both are bit-identical to the reference
(tests/reram/test_reram_bitserial_*.py). Both run on up to ``numba.get_num_threads()`` threads taking work items
as they come (:func:`hwsim._threads.run_items`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Optional

import numba
import numpy as np

from .._threads import run_items
from ..errors import DataError, MappingError
from . import _kernels as K
from . import _kernels_run as KR
from .config import ReramConfig
from .mapping import LayerMapping, ReramMapping, compact_layout, ou_layout, quantize_matrix, zero_levels


LOWBITS_MAX = 1
"""Largest s (ADC LSB 2^s in level units) the low-bits path takes: its tables and adds grow with s, and from s = 2
the chunk-list kernel is as fast or faster (LeNet-300-100, 10k images, preset ideal, CPU s, low-bits vs list
kernel; 1 thread: s = 1 0.69 vs 1.51, s = 2 1.52 vs 1.57, s = 3 1.91 vs 1.41, s = 4 2.09 vs 1.40, s = 5 2.67 vs
1.15; 2 threads at load 3-4: s = 2 2.12 vs ~1.6, the low-bits kernel's ``prange`` workers spinning). The kernel
handles s <= 5 (tests)."""
LOWBITS_TABLE_BYTES = 16 << 20
"""Largest low-bits table of one read group; larger groups stay on the table kernel."""

BITSERIAL_BLOCK = 64
"""Columns per block of the bit-serial kernel: its table (rows/8 x 256 x block float32, 1 MB for 128 rows) stays
in a core's L2 cache while the batch streams through it."""


def physical_levels(q: np.ndarray, cfg: ReramConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cell levels (in, out*cpw), the digital weight (coefficient) of every column and its output index."""
    bpc, ns, mask = cfg.crossbar.bits_per_cell, cfg.slices, (1 << cfg.crossbar.bits_per_cell) - 1
    out_f, in_f = q.shape
    cpw = cfg.columns_per_weight
    lv = np.zeros((in_f, out_f * cpw), dtype=np.int32)
    coef = np.zeros(cpw)
    if cfg.precision.signed == "differential":
        mag, pos = np.abs(q).T, (q > 0).T
        for s in range(ns):
            sl = (mag >> (bpc * s)) & mask
            lv[:, 2 * s::cpw] = np.where(pos, sl, 0)
            lv[:, 2 * s + 1::cpw] = np.where(pos, 0, sl)
            coef[2 * s], coef[2 * s + 1] = 2.0 ** (bpc * s), -(2.0 ** (bpc * s))
    else:
        u = (q + cfg.offset_value).T
        for s in range(ns):
            lv[:, s::cpw] = (u >> (bpc * s)) & mask
            coef[s] = 2.0 ** (bpc * s)
    return lv, np.tile(coef, out_f), np.repeat(np.arange(out_f, dtype=np.int64), cpw)


def effective_levels(lv: np.ndarray, cfg: ReramConfig, rng: np.random.Generator) -> np.ndarray:
    """Programmed levels after variation and faults, in level units relative to the nominal G_off (float32)."""
    ni = cfg.nonideal
    if ni.ideal:
        return lv.astype(np.float32)
    g_on, g_off = cfg.g_on_s, cfg.g_off_s
    dg = (g_on - g_off) / cfg.levels
    g = g_off + lv * dg
    if ni.sigma > 0:
        z = rng.standard_normal(lv.shape)
        g = g * np.exp(ni.sigma * z) if ni.variation == "lognormal" else np.maximum(g * (1.0 + ni.sigma * z), 0.0)
    if ni.p_sa0 > 0 or ni.p_sa1 > 0:
        u = rng.random(lv.shape)
        g = np.where(u < ni.p_sa0, g_off, g)
        g = np.where((u >= ni.p_sa0) & (u < ni.p_sa0 + ni.p_sa1), g_on, g)
    return ((g - g_off) / dg).astype(np.float32)


@dataclass
class _Group:
    """One set of crossbar reads that are converted together: driven input rows x converted columns."""

    rows: Any  # slice or index array into the layer's inputs
    G: np.ndarray  # (rows, cols) float32 effective levels; undriven rows zeroed
    coef: np.ndarray  # (cols,) digital weight of each column
    jidx: np.ndarray  # (cols,) output of each column
    corr: Optional[np.ndarray]  # (out,) offset correction per unit of summed input, or None
    corr_rows: Any  # rows (within the group) whose inputs enter the offset correction


def adc_lsb(full_scale: float, bits: int) -> float:
    """Power-of-two LSB (level units) with which a ``bits``-bit ADC covers reads up to ``full_scale``."""
    needed = math.ceil(math.log2(max(1.0, math.floor(full_scale)) + 1))
    return float(2 ** max(0, needed - bits))


def adc_params(cfg: ReramConfig, rows_per_read: int) -> tuple[float, float, float]:
    """(lsb, maxcode, full scale) of the ADC in level units for reads of ``rows_per_read`` rows, at the resolution
    :meth:`ReramConfig.adc_bits_for_rows` gives (the one ``cost`` charges), plus ISAAC's flipped-encoding bit."""
    fs_full = cfg.read_full_scale(rows_per_read)
    bits = cfg.adc_bits_for_rows(rows_per_read) + int(cfg.adc.flip_encoding)
    return adc_lsb(fs_full * cfg.adc.range_fraction, bits), float(2 ** bits - 1), float(fs_full)


class LayerEngine:
    """A layer programmed on crossbars, ready to multiply input batches."""

    def __init__(self, weight: np.ndarray, lm: LayerMapping, cfg: ReramConfig, rng: np.random.Generator,
                 bit_serial: bool = False, fast: bool = True):
        self.cfg = cfg
        self.out_f, self.in_f = weight.shape
        if (self.out_f, self.in_f) != tuple(lm.shape):
            raise MappingError(f"layer {lm.name!r}: network weight shape {weight.shape} differs from the mapped "
                               f"shape {lm.shape}; map the network again")
        q, self.scale = quantize_matrix(weight, cfg)
        self.q = q
        mode = lm.mode
        rows_per_read = cfg.mapping.ou_rows if mode == "ou" else cfg.rows
        self.lsb, self.maxcode, fs_full = adc_params(cfg, rows_per_read)
        if lm.adc_full_scale is not None:
            self.lsb = adc_lsb(lm.adc_full_scale, cfg.adc.effective_bits)
        self.exact = cfg.nonideal.ideal and self.lsb == 1.0 and self.maxcode >= fs_full and not bit_serial
        self.groups: list[_Group] = []
        if self.exact:
            self.qT = q.T.astype(np.float64)
            return
        lv, coef, jidx = physical_levels(q, cfg)
        G = effective_levels(lv, cfg, rng)
        offset = cfg.precision.signed == "offset"
        off_col = np.tile(zero_levels(cfg), self.out_f) * coef if offset else None
        self._build_groups(mode, q, G, coef, jidx, off_col)
        self._merge_groups()
        self.lin: Optional[np.ndarray] = None
        self.parity_blocks: list = []  # low-bits path (``self.blocks`` keeps every read group, e.g. for calibration)
        self.table_blocks = self.blocks  # the table kernel's share
        self.table_lists = False  # True: table blocks run on the chunk-list kernel (``_kernels_run``)
        if fast:
            self._split_parity_blocks()
            self._prepare_table_blocks()

    def _split_parity_blocks(self) -> None:
        """Move the blocks whose reads are exact integers converted at lsb = 2^s without clipping to the low-bits
        path: ``lsb * code = read + h - ((read + h) mod lsb)`` (h = lsb / 2), so their shift-added output is the
        exact integer product (summed into one matrix ``self.lin``, in x out) plus a term in the low s bits of
        each read, summed bit-sliced (:func:`_kernels_run.bitserial_lowbits_rows` on sample ranges, the serial
        form; s = 0: the product alone). Every term is an integer times a
        power of two, exact in float64, so the result is bit-identical to the table kernel's (tests)."""
        cfg = self.cfg
        if not cfg.nonideal.ideal or cfg.precision.dac_bits != 1:
            return  # levels with variation / faults are not integers
        sh = int(round(math.log2(self.lsb)))
        if 2.0 ** sh != self.lsb or sh > LOWBITS_MAX:
            return
        half = (1 << sh) >> 1
        limit = (self.maxcode + 1) * self.lsb - half - 1  # the largest read that does not clip
        keep = []
        bits = ((np.arange(256)[:, None] >> np.arange(8)[None, :]) & 1).astype(np.float64)  # (byte, bit)
        plane_w = np.array([-(2.0 ** b) for b in range(sh - 1)] + [2.0 ** (sh - 1)] if sh else [], dtype=np.float64)
        for blk in self.blocks:
            rows, G, coef, jidx = blk
            nrows, ncols = G.shape
            nwd = (ncols + 63) // 64
            if (ncols == 0 or nrows == 0 or float(G.sum(axis=0, dtype=np.float64).max()) > limit
                    or ((nrows + 7) // 8) * 256 * sh * nwd * 8 > LOWBITS_TABLE_BYTES):
                keep.append(blk)  # a read could clip (or the tables would be too large): the table kernel
                continue
            if self.lin is None:
                self.lin = np.zeros((self.in_f, self.out_f))
            onehot = np.zeros((ncols, self.out_f))
            onehot[np.arange(ncols), jidx] = coef
            self.lin[rows] += G.astype(np.float64) @ onehot
            if sh == 0:
                continue  # lsb 1 without clipping: the exact product
            Gi = G.astype(np.int64)
            packed = np.zeros((nrows, sh, nwd * 8), dtype=np.uint8)
            for b in range(sh):
                packed[:, b, :(ncols + 7) // 8] = np.packbits(((Gi >> b) & 1).astype(bool), axis=1, bitorder="little")
            O = np.ascontiguousarray(packed.view("<u8"))
            TP = np.empty(((nrows + 7) // 8, 256, sh, nwd), dtype=np.uint64)
            K.lowbit_tables(O, TP)
            c = np.arange(ncols)
            keys, inv = np.unique((c // 8) * self.out_f + jidx, return_inverse=True)
            tab = np.zeros((len(keys), 256))
            for b in range(8):
                sel = c % 8 == b
                tab[inv[sel]] += coef[sel, None] * bits[None, :, b]
            self.parity_blocks.append((rows, TP, plane_w, (keys // self.out_f).astype(np.int64),
                                       (keys % self.out_f).astype(np.int64), tab))
        self.table_blocks = keep

    def _prepare_table_blocks(self) -> None:
        """Route the blocks left on the table kernel (device variation, faults, clipping ADCs, lsb > 2^LOWBITS_MAX) to
        the chunk-list kernel :func:`_kernels_run.bitserial_adc_lists` (same float32 reads, bit-identical outputs) and
        drop the columns whose code is 0 for every input: a column whose positive levels sum (plus a bound on
        float32 rounding, ``gamma_rows * sum |G|``) below lsb / 2 reads below half an LSB whatever rows are driven,
        in the reference's arithmetic too, so its conversions add exactly 0."""
        cfg = self.cfg
        cyc_w = 2.0 ** (cfg.precision.dac_bits * np.arange(cfg.cycles_per_mvm))
        if cfg.precision.dac_bits != 1 or self.maxcode * cyc_w.sum() >= 2.0 ** 24:
            return  # multi-bit DACs take the matrix-product path; larger shift-added codes are not exact in float32
        ncols = sum(G.shape[1] for _, G, _, _ in self.table_blocks)
        cmax = max((float(np.abs(c).max()) for _, _, c, _ in self.table_blocks if len(c)), default=0.0)
        if self.maxcode * cyc_w.sum() * self.lsb * cmax * ncols >= 2.0 ** 53:
            return  # outputs might not be exact integers in float64: keep the reference's order
        half = self.lsb / 2
        keep = []
        for rows, G, coef, jidx in self.table_blocks:
            nrows = G.shape[0]
            gamma = nrows * 2.0 ** -24 / (1 - nrows * 2.0 ** -24)
            Gd = G.astype(np.float64)
            bound = np.maximum(Gd, 0.0).sum(axis=0) + gamma * np.abs(Gd).sum(axis=0)  # >= any read, as summed
            live = np.flatnonzero(bound >= half)
            if len(live) == 0:
                continue
            if len(live) < G.shape[1]:
                G, coef, jidx = np.ascontiguousarray(G[:, live]), coef[live], jidx[live]
            keep.append((rows, G, coef, jidx))
        self.table_blocks = keep
        self.table_lists = True
        self.list_blocks = [(rows, _padded_levels(G), _padded(coef * self.lsb), _runs(jidx))
                            for rows, G, coef, jidx in keep]

    def _merge_groups(self) -> None:
        """Concatenate the columns of groups that read the same contiguous rows (one matrix product per row
        range; the ADC acts per column, so this changes no result)."""
        merged: dict[tuple[int, int], list[_Group]] = {}
        rest: list[_Group] = []
        for g in self.groups:
            if isinstance(g.rows, slice):
                merged.setdefault((g.rows.start, g.rows.stop), []).append(g)
            else:
                rest.append(g)
        self.blocks = []
        for (r0, r1), gs in merged.items():
            self.blocks.append((slice(r0, r1), np.ascontiguousarray(np.concatenate([g.G for g in gs], axis=1)),
                                np.concatenate([g.coef for g in gs]), np.concatenate([g.jidx for g in gs])))
        for g in rest:
            self.blocks.append((g.rows, g.G, g.coef, g.jidx))

    def _add(self, rows, G, cols, coef, jidx, off_col, corr_rows=slice(None)) -> None:
        corr = None
        if off_col is not None:
            corr = np.bincount(jidx[cols], weights=off_col[cols], minlength=self.out_f)
        self.groups.append(_Group(rows, np.ascontiguousarray(G, dtype=np.float32), coef[cols].copy(),
                                  jidx[cols].copy(), corr, corr_rows))

    def _build_groups(self, mode, q, G, coef, jidx, off_col) -> None:
        cfg = self.cfg
        R, C, cpw = cfg.rows, cfg.cols, cfg.columns_per_weight
        ncols = self.out_f * cpw
        nz = q != 0
        if mode in ("dense", "skip_empty"):
            for r0 in range(0, self.in_f, R):
                r1 = min(r0 + R, self.in_f)
                blk = nz[:, r0:r1]
                for k0 in range(0, ncols, C):
                    k1 = min(k0 + C, ncols)
                    cols = np.arange(k0, k1)
                    if mode == "dense":
                        self._add(slice(r0, r1), G[r0:r1, k0:k1], cols, coef, jidx, off_col)
                        continue
                    j0, j1 = k0 // cpw, (k1 - 1) // cpw + 1
                    sub = blk[j0:j1]
                    if not sub.any():
                        continue  # empty tile: not allocated
                    driven = sub.any(axis=0)
                    conv = cols[sub.any(axis=1)[jidx[cols] - j0]]
                    g = G[r0:r1][:, conv].copy()
                    g[~driven] = 0.0
                    self._add(slice(r0, r1), g, conv, coef, jidx, off_col, corr_rows=driven)
        elif mode == "compact":
            for outs, chunks in compact_layout(q, cfg):
                ocols = (outs[:, None] * cpw + np.arange(cpw)[None, :]).ravel()
                for rows in chunks:
                    conv_out = nz[outs][:, rows].any(axis=1)
                    cols = ocols[np.repeat(conv_out, cpw)]
                    self._add(rows, G[rows][:, cols], cols, coef, jidx, off_col)
        elif mode == "ou":
            lay = ou_layout(q, cfg)
            our, ouc = cfg.mapping.ou_rows, cfg.mapping.ou_cols
            for rb in range(lay.nonzero.shape[0]):
                cbs = np.flatnonzero(lay.nonzero[rb])
                if len(cbs) == 0:
                    continue
                cols = (cbs[:, None] * ouc + np.arange(ouc)[None, :]).ravel()
                cols = cols[cols < ncols]
                r0, r1 = rb * our, min((rb + 1) * our, self.in_f)
                self._add(slice(r0, r1), G[r0:r1][:, cols], cols, coef, jidx, off_col)
        else:  # pragma: no cover - config validation forbids it
            raise MappingError(f"unknown mapping mode {mode!r}")

    def _workspace(self, n: int, nrows: int) -> dict:
        """Scratch arrays of the bit-serial kernel, kept between batches (fresh pages cost page faults); flat
        buffers cut into C-contiguous arrays per group of rows."""
        nw, nch, blk, cyc = numba.get_num_threads(), (nrows + 7) // 8, BITSERIAL_BLOCK, self.cfg.cycles_per_mvm
        key = (n, nch, nw)
        if getattr(self, "_ws_key", None) != key:
            self._ws = {"B": np.empty(n * cyc * nch, dtype=np.uint8), "L": np.empty(n * cyc * (nch + 1), dtype=np.int32),
                        "T": np.empty(nw * nch * 256 * blk, dtype=np.float32),
                        "acc": np.empty((nw, blk), dtype=np.float32), "colacc": np.empty((nw, blk)),
                        "yw": np.empty((nw, n, self.out_f))}
            self._ws_key = key
        return self._ws

    def _table_lists(self, xq: np.ndarray, cycles: int, cyc_w: np.ndarray, y: np.ndarray) -> None:
        """Every table block through :func:`_kernels_run.bitserial_adc_lists`: the chunk lists of each group of
        rows, then ranges of ``LIST_ITEM_BLOCKS`` column blocks taken by up to ``numba.get_num_threads()``
        threads as they come (each with its own scratch and partial output; the partial outputs are sums of
        integers times powers of two, so the split changes no bit)."""
        n = xq.shape[0]
        blocks, step = self.list_blocks, LIST_ITEM_BLOCKS
        lists, items = [], []
        for b, (rows, G, _, _) in enumerate(blocks):
            L = np.empty((n, cycles, (G.shape[0] + 7) // 8 + 1), dtype=np.int32)
            if isinstance(rows, slice) and rows.step in (None, 1):  # a range of inputs: read in place
                KR.bitplane_lists(xq, rows.start or 0, _slice_len(rows, xq.shape[1]), cycles, L)
            else:  # compact mode's gathered rows
                KR.bitplane_lists(np.ascontiguousarray(xq[:, rows]), 0, len(rows), cycles, L)
            lists.append(L)
            nb = -(-G.shape[1] // KR.BLOCK)
            items += [(b, c, min(c + step, nb)) for c in range(0, nb, step)]
        nthr = max(1, min(numba.get_num_threads(), len(items)))
        ws = self._workspace_lists(n, nthr)
        lsb, maxcode = self.lsb, self.maxcode

        def work(w: int, item: tuple) -> None:
            b, c0, c1 = item
            _, G, cl, (sp, se, sj) = blocks[b]
            T, a, ca, pr, yv = ws[w]
            KR.bitserial_adc_lists(lists[b], G, cycles, lsb, maxcode, cl, sp, se, sj, cyc_w, c0, c1, T, a, ca, pr, yv)

        run_items(work, items, nthr)
        for *_, yv in ws[:nthr]:
            y += yv

    def _workspace_lists(self, n: int, nthr: int) -> list:
        """Per-thread scratch of the chunk-list kernel (table, accumulators, zeroed partial output (n, out)),
        kept between batches of the same size."""
        nch = (max((G.shape[0] for _, G, _, _ in self.table_blocks), default=1) + 7) // 8
        ws = getattr(self, "_wsl", None)
        if ws is None or ws[0][-1].shape[0] != n or len(ws) < nthr:
            self._wsl = ws = [(np.empty((nch * 256, KR.BLOCK), dtype=np.float32), np.empty(KR.BLOCK, dtype=np.float32),
                               np.empty(KR.BLOCK, dtype=np.float32), np.empty(KR.BLOCK), np.empty((n, self.out_f)))
                              for _ in range(nthr)]
        for *_, yv in ws[:nthr]:
            yv[:] = 0.0
        return ws

    def _unsigned(self, xq: np.ndarray, sx: np.ndarray) -> np.ndarray:
        """The layer's output for quantized non-negative inputs xq (levels) with per-row scales sx."""
        if self.exact:
            y = xq.astype(np.float64) @ self.qT
        else:
            y = self._bit_serial(xq)
        return y * sx[:, None]

    def _bit_serial(self, xq: np.ndarray) -> np.ndarray:
        cfg = self.cfg
        n = xq.shape[0]
        db = cfg.precision.dac_bits
        cycles = cfg.cycles_per_mvm
        dmask = (1 << db) - 1
        if db != 1:
            D = np.empty((cycles * n, self.in_f), dtype=np.float32)
            for t in range(cycles):
                D[t * n:(t + 1) * n] = (xq >> (db * t)) & dmask
        cyc_w = 2.0 ** (db * np.arange(cycles))
        y = np.zeros((n, self.out_f))
        xf = xq.astype(np.float64) if self.lin is not None or any(g.corr is not None for g in self.groups) else None
        if self.lin is not None:  # low-bits path: exact product + a term in the low bits of each read
            y += xf @ self.lin
            for rows, TP, plane_w, ent_bp, ent_j, ent_tab in self.parity_blocks:  # sample ranges on threads
                X = np.ascontiguousarray(xq[:, rows])
                items = [(r, min(r + LOWBITS_ITEM_ROWS, n)) for r in range(0, n, LOWBITS_ITEM_ROWS)]
                nthr = max(1, min(numba.get_num_threads(), len(items)))
                accs = np.empty((nthr, cycles) + TP.shape[2:], dtype=np.uint64)

                def work(w, item, X=X, TP=TP, plane_w=plane_w, ent_bp=ent_bp, ent_j=ent_j, ent_tab=ent_tab):
                    KR.bitserial_lowbits_rows(X, TP, cycles, plane_w, ent_bp, ent_j, ent_tab, y, item[0], item[1],
                                              accs[w])

                run_items(work, items, nthr)
        if db == 1 and self.table_lists:  # chunk-list kernel on threads (column ranges taken as they come)
            self._table_lists(xq, cycles, cyc_w, y)
        elif db == 1:  # table-driven numba kernel (1-bit inputs)
            blk, nw = BITSERIAL_BLOCK, numba.get_num_threads()
            ws = self._workspace(n, max((G.shape[0] for _, G, _, _ in self.table_blocks), default=1))  # none: all pruned
            for rows, G, coef, jidx in self.table_blocks:
                nch = (G.shape[0] + 7) // 8
                B = ws["B"][:n * cycles * nch].reshape(n, cycles, nch)
                L = ws["L"][:n * cycles * (nch + 1)].reshape(n, cycles, nch + 1)
                T = ws["T"][:nw * nch * 256 * blk].reshape(nw, nch, 256, blk)
                K.bitserial_adc(np.ascontiguousarray(xq[:, rows]), G, cycles, self.lsb, self.maxcode, coef, jidx,
                                cyc_w, y, B, L, T, ws["acc"], ws["colacc"], ws["yw"])
        else:
            for rows, G, coef, jidx in self.table_blocks:
                P = D[:, rows] @ G
                K.adc_accumulate(P, n, cycles, self.lsb, self.maxcode, coef, jidx, cyc_w, y)
        for g in self.groups:
            if g.corr is not None:
                xs = xf[:, g.rows]
                s = xs.sum(axis=1) if isinstance(g.corr_rows, slice) else xs[:, g.corr_rows].sum(axis=1)
                y -= np.outer(s, g.corr)
        return y

    def __call__(self, cols: np.ndarray) -> np.ndarray:
        x = np.asarray(cols)
        if x.ndim != 2 or x.shape[1] != self.in_f:
            raise DataError(f"crossbar layer expects inputs of shape (n, {self.in_f}), got {x.shape}")
        bits = self.cfg.precision.input_bits
        xq, sx, negatives = quantize_inputs(x, bits)
        y = self._unsigned(xq, sx)
        if negatives:  # signed inputs: the positive and the negative parts in two passes, subtracted
            xq, sx, _ = quantize_inputs(x, bits, sign=-1.0)
            y -= self._unsigned(xq, sx)
        return (y * self.scale).astype(x.dtype if x.dtype.kind == "f" else np.float32)


def quantize_inputs(x: np.ndarray, input_bits: int, sign: float = 1.0) -> tuple[np.ndarray, np.ndarray, int]:
    """Per-row quantization of a layer's inputs to ``input_bits``-bit levels (:func:`_kernels_run.quantize_rows`,
    one compiled pass; oracle :func:`hwsim.reram._reference.quantize_inputs`): of ``sign * x``'s non-negative part,
    (int64 levels (n, m), float64 scales (n,), how many entries of ``sign * x`` are negative). A NaN or inf input
    is refused (DataError)."""
    x = np.ascontiguousarray(x)
    if x.dtype != np.float32 and x.dtype != np.float64:
        x = x.astype(np.float64)
    xq = np.empty(x.shape, dtype=np.int64)
    sx = np.empty(x.shape[0])
    negatives, bad = KR.quantize_rows(x, float(sign), np.int64(2 ** int(input_bits) - 1), xq, sx)
    if bad:
        raise DataError(f"crossbar layer inputs hold {bad} NaN or inf values (of {x.size})")
    return xq, sx, int(negatives)


def _slice_len(rows: slice, n: int) -> int:
    """How many of ``n`` inputs the slice ``rows`` selects."""
    return len(range(*rows.indices(n)))


LOWBITS_ITEM_ROWS = 128
"""Samples per work item of the low-bits kernel (:func:`_kernels_run.bitserial_lowbits_rows`); items write
disjoint rows of the output."""

LIST_ITEM_BLOCKS = 2
"""Column blocks (of ``_kernels_run.BLOCK`` columns) per work item of the chunk-list kernel: ~1 ms per item for
1000 inputs x 128 rows, so threads share the work evenly even when another process holds a core."""

def _padded(cl: np.ndarray) -> np.ndarray:
    """``cl`` zero-padded to whole column blocks of the chunk-list kernel."""
    out = np.zeros(-(-len(cl) // KR.BLOCK) * KR.BLOCK)
    out[:len(cl)] = cl
    return out


def _padded_levels(G: np.ndarray) -> np.ndarray:
    """``G`` (rows, cols) zero-padded to whole 8-row chunks and whole column blocks of the chunk-list kernel."""
    out = np.zeros((-(-G.shape[0] // 8) * 8, -(-G.shape[1] // KR.BLOCK) * KR.BLOCK), dtype=np.float32)
    out[:G.shape[0], :G.shape[1]] = G
    return out


def _runs(jidx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Runs of equal outputs in ``jidx``, cut at the column blocks of the chunk-list kernel: (per block the first
    run, padded with the total; each run's end within its block; each run's output)."""
    nc, B = len(jidx), KR.BLOCK
    c = np.arange(nc)
    start = np.ones(nc, dtype=bool)
    start[1:] = (jidx[1:] != jidx[:-1]) | (c[1:] % B == 0)
    first = np.flatnonzero(start)
    ends = np.append(first[1:], nc)
    ends = ends - (first // B) * B
    seg_ptr = np.searchsorted(first, np.arange(-(-nc // B) + 1) * B).astype(np.int64)
    return seg_ptr, ends.astype(np.int64), jidx[first].astype(np.int64)


def _rng(seed: Any) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
        raise DataError(f"seed must be an int, a numpy Generator or None, got {seed!r}")
    return np.random.default_rng(seed)


def engines(mapping: ReramMapping, seed: Any = None, *, fast: bool = True) -> list[LayerEngine]:
    """Program every layer of the mapped network (samples variation and faults once, seeded); ``fast=False``
    keeps every bit-serial block on the table kernel (the reference the parity path is tested against)."""
    if not isinstance(mapping, ReramMapping):
        raise MappingError(f"run() needs a ReramMapping from hwsim.reram.map, got {type(mapping).__name__}")
    net = mapping.network
    if net is None:
        raise MappingError("this mapping was made from bare matrices or a shape-only network; run() needs a "
                           "hwsim.nn.Network (map the network itself)")
    layers = net.weighted_layers()
    if len(layers) != len(mapping.layers):
        raise MappingError(f"the network has {len(layers)} weighted layers but the mapping {len(mapping.layers)}")
    rngs = _rng(seed).spawn(len(layers))
    return [LayerEngine(l.effective_weight(), lm, mapping.config, r, fast=fast)
            for l, lm, r in zip(layers, mapping.layers, rngs)]


def _checked_batch(batch_size: Any) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise DataError(f"batch_size must be a positive integer, got {batch_size!r}")
    return int(batch_size)


def _hook(mapping: ReramMapping, seed: Any):
    eng = engines(mapping, seed)
    return lambda i, cols: eng[i](cols)


def run(mapping: ReramMapping, x: np.ndarray, *, seed: Any = 0, batch_size: int = 1000) -> np.ndarray:
    """Logits of ``x`` computed by the mapped network on the crossbars. Same seed, same result."""
    bs = _checked_batch(batch_size)
    hook = _hook(mapping, seed)  # raises MappingError for shape-only mappings
    return mapping.network.predict(x, matmul=hook, batch_size=bs)


def accuracy(mapping: ReramMapping, x: np.ndarray, y: np.ndarray, *, seed: Any = 0,
             batch_size: int = 1000) -> float:
    """Top-1 accuracy of the mapped network on the crossbars."""
    bs = _checked_batch(batch_size)
    hook = _hook(mapping, seed)
    return mapping.network.accuracy(x, y, matmul=hook, batch_size=bs)
