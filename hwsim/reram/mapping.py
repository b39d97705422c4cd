"""Mapping weight matrices onto ReRAM crossbars: exact integer action counts per layer (costs are in ``cost``).

Layout. A layer W (out, in) is quantized to signed integers q = round(W / s), s = max|W| / (2^(b-1) - 1). The
crossbar stores W^T: rows are inputs, and output j occupies ``cpw = cfg.columns_per_weight`` adjacent columns
j*cpw ... j*cpw + cpw - 1 (differential: for each slice s the pair (G+, G-) at 2s, 2s+1; offset: slice s at s).
The resulting in x (out*cpw) cell matrix is cut into R x C crossbars ("tiles"); the dense footprint is
ceil(in/R) * ceil(out*cpw/C) tiles. Adjacent columns share an ADC (column k -> ADC k // cols_per_adc).

Emptiness is judged on quantized weights: a tile is empty when all its weights are 0, a row of a tile when all
weights of that input among the tile's outputs are 0, a column when its output has no nonzero weight among the
tile's rows. (Empty structures hold known values -- G_off, or the offset code whose contribution the digital
offset correction cancels -- so skipping them changes no result.)

Modes:

* ``dense``: every tile of the footprint is allocated and every row driven and used column converted each cycle.
* ``skip_empty``: empty tiles are not allocated, empty rows of a tile not driven, empty columns not converted.
* ``compact``: crossbar-aware compaction (SNrram, Wang et al. DAC 2018; crossbar-aware pruning, Liang et al.
  2018), a row/column permutation (it changes no result of ``run``). Deterministic heuristic: drop all-zero
  outputs; order the remaining outputs by nonzero count (descending, stable); cut them into strips of
  k = floor(C / cpw) outputs (weights never straddle crossbars); in each strip gather the inputs that have a
  nonzero weight in the strip (in index order) and pack them R per tile. Tiles = sum over strips of
  ceil(rows_s / R). Overhead counted: a ceil(log2 in)-bit input index per packed row and a ceil(log2 out)-bit output index per kept output, stored (area, leakage) and read once per
  MVM (energy). If this would not use fewer tiles than ``skip_empty`` the layer keeps the ``skip_empty`` layout, so
  ``compact`` never allocates more tiles than ``skip_empty``. Under random unstructured sparsity p a strip keeps a
  fraction 1 - p^k of the inputs, which bounds what any such packing frees (18.5% at p = 0.9, k = 16; see
  tests/reram/test_reram_mapping.py::test_random_90_percent_sparsity_physics_in_numbers). Greedy narrower strips
  recover part of the ceil rounding for small ``in`` (e.g. 3.5% -> 9% freed for a 2048 x 512 layer) but make the
  layout jump under small changes of the mask (zeroing whole tiles then can raise tiles or latency), so they are
  not used.
* ``ou``: operation units of ou_rows x ou_cols cells (SRE, Yang et al. ISCA 2019). Only OUs holding a nonzero weight
  are activated, one OU per crossbar at a time (an OU read: :func:`ou_read_time`); each activation drives its rows
  and converts its columns at the ADC resolution its rows need (:meth:`ReramConfig.adc_bits_for_rows`). Per column
  strip (C columns), nonzero OUs are packed into R / ou_rows slots per OU column (SRE's OU compression), spread
  evenly over the fewest crossbars that keep every crossbar within the layer's critical path (the most nonzero OUs
  of any natural crossbar; ``mapping.ou_packing = 'densest'``: the fewest crossbars), when that needs fewer
  crossbars than the natural layout; a ceil(log2 row_blocks)-bit
  row index per packed OU; natural strips keep a 1-bit-per-OU bitmap. Never more tiles than ``skip_empty``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

import numpy as np

from ..errors import ConfigError
from ..workload import MatrixLayer, iter_matrix_layers
from . import _kernels as K
from .config import ReramConfig

COUNT_KEYS = ("tiles_active", "crossbar_reads", "row_activations", "dac_conversions", "adc_conversions",
              "sample_holds", "shift_adds", "cells_driven", "levels_driven", "input_bits", "output_bits",
              "buffer_bits", "buffer_accesses", "bus_bits", "router_flits", "index_bits_read")
"""Per-MVM action counts of a :class:`LayerMapping` (summed over the input cycles of one MVM where per cycle)."""
OU_READ_KEYS = ("crossbar_reads", "row_activations", "dac_conversions", "adc_conversions", "sample_holds",
                "shift_adds")
"""Counts proportional to the OU reads performed, which zero-input skipping scales (:attr:`LayerMapping.ou_activity`)."""


@dataclass(frozen=True)
class LayerMapping:
    """One layer mapped on crossbars: geometry, allocation and per-MVM action counts (all exact integers)."""

    name: str
    shape: tuple[int, int]
    mvms_per_inference: int
    mode: str
    """Mapping mode used for this layer ('compact'/'ou' layers that fell back report 'skip_empty')."""
    weight_scale: float
    """Quantization step s of the weights (W ~ s * q)."""
    nonzero_weights: int
    """Quantized nonzero weights."""
    footprint_tiles: int
    """Tiles of the dense layout: ceil(in/R) * ceil(out*cpw/C)."""
    tiles: int
    """Allocated crossbars."""
    empty_tiles_allocated: int
    """Allocated crossbars holding only zero weights (dense mode)."""
    read_time_s: float
    """Critical path of one input cycle: the slowest crossbar's time for its reads in that cycle, s."""
    counts: Mapping[str, int]
    """Per-MVM action counts, keys :data:`COUNT_KEYS`."""
    index_bits_stored: int = 0
    """Index / routing metadata bits stored for 'compact' and 'ou' layouts."""
    tile_grid: Optional[np.ndarray] = field(default=None, repr=False, compare=False)
    """(row tiles, column tiles) bool: natural-layout tiles holding a nonzero weight."""

    cycles_per_mvm: int = 1
    """Input cycles per MVM."""
    adc_full_scale: Optional[float] = None
    """ADC full scale in level units set by :func:`hwsim.reram.calibrate_adc` from observed reads; None: the
    config's ``adc.range_fraction`` of the largest possible read. Affects ``run`` only (not cost)."""
    ou_activity: float = 1.0
    """'ou' mode with ``mapping.ou_skip_zero_inputs``: OU reads performed per nonzero OU and input cycle (SRE's
    zero-input skipping), analytic from ``system.input_digit_density`` at map time or measured by
    :func:`hwsim.reram.calibrate_ou_activity`; 1.0 otherwise. Scales the OU reads, drives, conversions and
    shift-adds of ``counts`` (:meth:`effective_counts`) and the read time (the expected number of OU reads of the
    critical crossbar: a lower bound on the slowest crossbar's)."""

    @property
    def mvm_latency_s(self) -> float:
        """One MVM: cycles x the critical crossbar's read time per cycle (x ``ou_activity``), s."""
        return self.cycles_per_mvm * self.read_time_s * self.ou_activity

    def effective_counts(self) -> dict[str, float]:
        """Per-MVM action counts after zero-input OU skipping: the per-read actions (:data:`OU_READ_KEYS`) x
        ``ou_activity``. Array energy counts (cells, levels) are not scaled: a skipped OU's rows carry zero digits,
        which dissipate nothing in the array model's expectation over digits either."""
        if self.ou_activity == 1.0:
            return dict(self.counts)
        return {k: (v * self.ou_activity if k in OU_READ_KEYS else v) for k, v in self.counts.items()}


@dataclass(frozen=True)
class ReramMapping:
    """A network mapped onto ReRAM crossbars (the result of :func:`map`)."""

    config: ReramConfig
    layers: tuple[LayerMapping, ...]
    network: Any = field(default=None, repr=False, compare=False)
    """The :class:`hwsim.nn.Network` mapped, if any (needed by ``run``)."""

    @property
    def tiles(self) -> int:
        return int(sum(l.tiles for l in self.layers))


# ---- helpers ---------------------------------------------------------------------------------------------------
def _cdiv(a: int, b: int) -> int:
    return -(-int(a) // int(b))


def _ilog2(n: int) -> int:
    return max(1, math.ceil(math.log2(n))) if n > 1 else 1


def quantization(w: np.ndarray, cfg: ReramConfig, absmax: Optional[float] = None) -> tuple[float, int]:
    """(scale, qmax) of a layer: scale = max|W| / qmax, qmax = 2^(weight_bits-1) - 1 (``absmax``: max|W| if known)."""
    qmax = 2 ** (cfg.precision.weight_bits - 1) - 1
    m = float(K.absmax(w)) if absmax is None else absmax
    return (m / qmax if m > 0 else 1.0), qmax


def zero_levels(cfg: ReramConfig) -> np.ndarray:
    """Cell level of each of a weight's slices when the weight is 0 (offset: slices of 2^(b-1); else 0)."""
    bpc, ns = cfg.crossbar.bits_per_cell, cfg.slices
    if cfg.precision.signed == "differential":
        return np.zeros(ns, dtype=np.int64)
    off = cfg.offset_value
    return np.array([(off >> (bpc * s)) & ((1 << bpc) - 1) for s in range(ns)], dtype=np.int64)


def quantize_matrix(w: np.ndarray, cfg: ReramConfig) -> tuple[np.ndarray, float]:
    scale, qmax = quantization(w, cfg)
    q = np.empty(w.shape, dtype=np.int32)
    K.quantize(np.ascontiguousarray(w), 1.0 / scale, qmax, q)
    return q, scale


def weight_levels(q: np.ndarray, cfg: ReramConfig) -> np.ndarray:
    """Sum of the cell levels of every weight's cpw columns (same shape as q)."""
    bpc, ns, mask = cfg.crossbar.bits_per_cell, cfg.slices, (1 << cfg.crossbar.bits_per_cell) - 1
    u = np.abs(q) if cfg.precision.signed == "differential" else q + cfg.offset_value
    tot = np.zeros(q.shape, dtype=np.int64)
    for s in range(ns):
        tot += (u >> (bpc * s)) & mask
    return tot


def _adc_max_conversions(converted: np.ndarray, cpa: int) -> np.ndarray:
    """converted (..., C) bool per physical column -> the most conversions any ADC of the crossbar makes."""
    C = converted.shape[-1]
    n_adc = _cdiv(C, cpa)
    pad = n_adc * cpa - C
    if pad:
        converted = np.concatenate([converted, np.zeros(converted.shape[:-1] + (pad,), dtype=bool)], axis=-1)
    return converted.reshape(converted.shape[:-1] + (n_adc, cpa)).sum(axis=-1).max(axis=-1)


def _read_time(cfg: ReramConfig, max_conv: int) -> float:
    """One crossbar read: array read and conversions overlap (sample-and-hold pipelining, ISAAC Sec. 5)."""
    return max(cfg.crossbar.read_time_s, max_conv * cfg.conversion_time_s)


def ou_read_time(cfg: ReramConfig) -> float:
    """One operation-unit read: the bitlines settle in a time proportional to the rows driven (assumption: the
    crossbar's ``read_time_s`` for all its rows, scaled by ou_rows / rows) overlapped with the conversions of the
    OU's columns on their ADCs (SRE, Yang et al. ISCA 2019: one OU per crossbar per cycle)."""
    conv = min(cfg.mapping.ou_cols, cfg.adc.cols_per_adc) * cfg.conversion_time_s
    return max(cfg.crossbar.read_time_s * cfg.mapping.ou_rows / cfg.rows, conv)


def _finish_counts(cfg: ReramConfig, c: dict[str, int]) -> dict[str, int]:
    """Fill the buffer / bus / router counts from input and output bits (every bit written and read once)."""
    ab = cfg.peripherals.access_bits
    c["buffer_bits"] = c["input_bits"] + c["output_bits"]
    c["buffer_accesses"] = 2 * _cdiv(c["buffer_bits"], ab)
    c["bus_bits"] = c["buffer_bits"]
    c["router_flits"] = _cdiv(c["buffer_bits"], ab)
    c["dac_conversions"] = c["row_activations"]
    c["sample_holds"] = c["adc_conversions"]
    c.setdefault("index_bits_read", 0)
    return {k: int(c.get(k, 0)) for k in COUNT_KEYS}


# ---- natural layout (dense, skip_empty) -------------------------------------------------------------------------
@dataclass
class _Natural:
    """Per-tile statistics of the natural layout, from one kernel pass."""

    n_rt: int
    n_ct: int
    rows_in_tile: np.ndarray  # (n_rt,)
    used_cols: np.ndarray  # (n_ct,)
    driven: np.ndarray  # (n_rt, n_ct) rows with a nonzero weight
    levels_nz: np.ndarray  # (n_rt, n_ct) level sum over those rows (all their cells)
    converted: np.ndarray  # (n_rt, n_ct) columns converted under skip_empty
    max_conv_skip: np.ndarray  # (n_rt, n_ct) most conversions per ADC under skip_empty
    outputs_skip: np.ndarray  # (n_rt, n_ct) outputs with a converted column in the tile
    outputs_dense: np.ndarray  # (n_ct,) outputs with a column in the column tile
    base_ct: np.ndarray  # (n_ct,) level sum of one all-zero row of the column tile
    nnz: int


def _natural(w: np.ndarray, cfg: ReramConfig, scale: float, qmax: int, csr: Optional[tuple] = None) -> _Natural:
    """Per-tile statistics of the natural layout: from one pass over w, or (``csr``: the compressed sparse rows of
    w from :func:`_kernels.csr_collect` plus the arrays that receive q's, see :func:`_csr_scan`) from its nonzeros."""
    out_f, in_f = w.shape
    R, C, cpw = cfg.rows, cfg.cols, cfg.columns_per_weight
    n_rt, n_ct = _cdiv(in_f, R), _cdiv(out_f * cpw, C)
    rownz = np.zeros((n_ct, n_rt * R), dtype=np.uint8)
    colnz = np.zeros((n_rt, out_f), dtype=np.uint8)
    rowlev = np.zeros((n_ct, n_rt * R), dtype=np.int64)
    off_lv = zero_levels(cfg)
    args = (1.0 / scale, qmax, R, C, cpw, cfg.slices, cfg.crossbar.bits_per_cell,
            cfg.precision.signed == "differential", cfg.offset_value, off_lv)
    if csr is None:
        nnz = K.scan_layer(np.ascontiguousarray(w), *args, rownz, colnz, rowlev)
    else:
        indptr, indices, vals, qindptr, qvals = csr
        nnz = K.csr_quantize_scan(indptr, indices, vals, in_f, *args, qindptr, qvals, rownz, colnz, rowlev)
    driven = rownz.reshape(n_ct, n_rt, R).sum(axis=2).T.astype(np.int64)
    lev = rowlev.reshape(n_ct, n_rt, R).sum(axis=2).T
    rows_in_tile = np.minimum(R, in_f - np.arange(n_rt) * R)
    used_cols = np.minimum(C, out_f * cpw - np.arange(n_ct) * C)
    # zero-weight levels of each physical column (offset mode), summed per column tile
    col_zero = np.zeros(n_ct * C, dtype=np.int64)
    col_zero[:out_f * cpw] = np.tile(np.repeat(off_lv, 2) if cfg.precision.signed == "differential" else off_lv, out_f)
    base_ct = col_zero.reshape(n_ct, C).sum(axis=1)
    levels_nz = lev + driven * base_ct[None, :]
    # columns converted under skip_empty: physical column k of tile (rt, ct) iff colnz[rt, k // cpw]
    phys = np.zeros((n_rt, n_ct * C), dtype=bool)
    phys[:, :out_f * cpw] = np.repeat(colnz.astype(bool), cpw, axis=1)
    phys = phys.reshape(n_rt, n_ct, C)
    converted = phys.sum(axis=2).astype(np.int64)
    max_conv_skip = _adc_max_conversions(phys, cfg.adc.cols_per_adc).astype(np.int64)
    # outputs with a column in column tile ct: j in [ct*C // cpw, ((ct+1)*C - 1) // cpw] within [0, out)
    j_lo = (np.arange(n_ct) * C) // cpw
    j_hi = np.minimum(out_f - 1, ((np.arange(n_ct) + 1) * C - 1) // cpw)
    cs = np.concatenate([np.zeros((n_rt, 1), dtype=np.int64), np.cumsum(colnz, axis=1, dtype=np.int64)], axis=1)
    outputs_skip = cs[:, j_hi + 1] - cs[:, j_lo]
    outputs_dense = j_hi - j_lo + 1
    return _Natural(n_rt, n_ct, rows_in_tile, used_cols, driven, levels_nz, converted, max_conv_skip,
                    outputs_skip, outputs_dense, base_ct, int(nnz))


def _counts_dense(cfg: ReramConfig, nat: _Natural) -> tuple[dict[str, int], float, int]:
    cyc, ib = cfg.cycles_per_mvm, cfg.precision.input_bits
    C = cfg.cols
    tiles = nat.n_rt * nat.n_ct
    rows_tot = int(nat.rows_in_tile.sum()) * nat.n_ct
    # levels of every row: nonzero rows from the kernel plus all-zero rows at the zero-weight code
    zero_rows = nat.rows_in_tile[:, None] - nat.driven
    levels = int((nat.levels_nz + zero_rows * nat.base_ct[None, :]).sum())
    conv_per_read = int(nat.used_cols.sum()) * nat.n_rt
    used = np.zeros((nat.n_ct, C), dtype=bool)
    for ct in range(nat.n_ct):
        used[ct, :nat.used_cols[ct]] = True
    max_conv = int(_adc_max_conversions(used, cfg.adc.cols_per_adc).max())
    outputs = int(nat.outputs_dense.sum()) * nat.n_rt
    c = {"tiles_active": tiles, "crossbar_reads": tiles * cyc, "row_activations": rows_tot * cyc,
         "adc_conversions": conv_per_read * cyc, "cells_driven": rows_tot * C * cyc, "levels_driven": levels * cyc,
         "input_bits": rows_tot * ib, "output_bits": outputs * ib}
    c["shift_adds"] = c["adc_conversions"] + (outputs if cfg.precision.signed == "offset" else 0)
    return _finish_counts(cfg, c), _read_time(cfg, max_conv), tiles


def _counts_skip(cfg: ReramConfig, nat: _Natural) -> tuple[dict[str, int], float, int]:
    cyc, ib, C = cfg.cycles_per_mvm, cfg.precision.input_bits, cfg.cols
    alloc = nat.driven > 0
    tiles = int(alloc.sum())
    rows_tot = int(nat.driven.sum())
    conv = int((nat.converted * alloc).sum())
    outputs = int((nat.outputs_skip * alloc).sum())
    max_conv = int(nat.max_conv_skip[alloc].max()) if tiles else 0
    c = {"tiles_active": tiles, "crossbar_reads": tiles * cyc, "row_activations": rows_tot * cyc,
         "adc_conversions": conv * cyc, "cells_driven": rows_tot * C * cyc,
         "levels_driven": int(nat.levels_nz.sum()) * cyc, "input_bits": rows_tot * ib, "output_bits": outputs * ib}
    c["shift_adds"] = c["adc_conversions"] + (outputs if cfg.precision.signed == "offset" else 0)
    return _finish_counts(cfg, c), (_read_time(cfg, max_conv) if tiles else 0.0), tiles


# ---- compact -----------------------------------------------------------------------------------------------------
def compact_layout(q: np.ndarray, cfg: ReramConfig) -> list[tuple[np.ndarray, list[np.ndarray]]]:
    """The compact heuristic's placement: a list of strips (outputs, [input rows of each tile])."""
    R = cfg.rows
    nz = q != 0
    strips, lens = compact_strips(q, cfg)
    out = []
    for s in range(len(lens)):
        outs = strips[s, :lens[s]]
        rows = np.flatnonzero(nz[outs].any(axis=0))
        out.append((outs, [rows[t:t + R] for t in range(0, len(rows), R)]))
    return out


def _compact_order(q: np.ndarray) -> np.ndarray:
    """Outputs with a nonzero weight, by nonzero count (descending, stable)."""
    nnz_out = np.count_nonzero(q, axis=1)
    order = np.argsort(-nnz_out, kind="stable")
    return order[nnz_out[order] > 0]


def _csr(q: np.ndarray, nnz_out: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Compressed sparse rows (indptr, indices, values) of q, from its nonzero counts per output."""
    indptr = np.zeros(q.shape[0] + 1, dtype=np.int64)
    np.cumsum(nnz_out, out=indptr[1:])
    # int32, as the sparse mapper's rows (levels and input indices fit): one compiled signature of the scans
    indices = np.empty(int(indptr[-1]), dtype=np.int32)
    values = np.empty(int(indptr[-1]), dtype=np.int32)
    K.csr_fill(q, indptr, indices, values)
    return indptr, indices, values


def _compact_scan(csr, in_f: int, cfg: ReramConfig, strips: np.ndarray, lens: np.ndarray) -> tuple[int, ...]:
    return tuple(int(v) for v in K.compact_scan(
        *csr, in_f, strips, lens, cfg.rows, cfg.columns_per_weight, cfg.adc.cols_per_adc, cfg.cols,
        cfg.precision.signed == "differential", cfg.offset_value, cfg.slices, cfg.crossbar.bits_per_cell))


def _compact_choice(q: np.ndarray, cfg: ReramConfig, csr: Optional[tuple] = None,
                    ) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
    """Strips of the 'compact' layout, (n_strips, C / cpw) outputs increasing within a strip (padded with -1) and
    the number used per strip, with their :func:`_kernels.compact_scan` counts (``csr``: q's compressed sparse
    rows, then ``q`` is only its shape)."""
    wps = cfg.cols // cfg.columns_per_weight
    if csr is None:
        q = np.ascontiguousarray(q)
        nnz_out = np.count_nonzero(q, axis=1)
        csr = _csr(q, nnz_out)
    else:
        nnz_out = np.diff(csr[0])
    order = np.argsort(-nnz_out, kind="stable")
    order = order[nnz_out[order] > 0]
    n_s = _cdiv(len(order), wps)
    strips = np.full((n_s, wps), -1, dtype=np.int64)
    lens = np.minimum(wps, len(order) - np.arange(n_s) * wps).astype(np.int64)
    if n_s:  # each strip's outputs in increasing order (padding sorts last, then becomes -1)
        big = np.iinfo(np.int64).max
        pad = np.full(n_s * wps, big, dtype=np.int64)
        pad[:len(order)] = order
        pad = np.sort(pad.reshape(n_s, wps), axis=1)
        strips[:] = np.where(pad == big, -1, pad)
    return strips, lens, _compact_scan(csr, q.shape[1], cfg, strips, lens)


def compact_strips(q: np.ndarray, cfg: ReramConfig) -> tuple[np.ndarray, np.ndarray]:
    """The strips of :func:`compact_layout` as arrays (outputs per strip, padded with -1; strip sizes)."""
    strips, lens, _ = _compact_choice(q, cfg)
    return strips, lens


def _counts_compact(cfg: ReramConfig, q: np.ndarray, csr: Optional[tuple] = None,
                    ) -> tuple[dict[str, int], float, int, int]:
    cyc, ib, C, cpw = cfg.cycles_per_mvm, cfg.precision.input_bits, cfg.cols, cfg.columns_per_weight
    out_f, in_f = q.shape
    strips, lens, (tiles, rows_tot, conv_outs, levels, max_conv) = _compact_choice(q, cfg, csr)
    n_out_kept = int(lens.sum())
    idx_bits = rows_tot * _ilog2(in_f) + n_out_kept * _ilog2(out_f)
    c = {"tiles_active": tiles, "crossbar_reads": tiles * cyc, "row_activations": rows_tot * cyc,
         "adc_conversions": conv_outs * cpw * cyc, "cells_driven": rows_tot * C * cyc, "levels_driven": levels * cyc,
         "input_bits": rows_tot * ib, "output_bits": conv_outs * ib, "index_bits_read": idx_bits}
    c["shift_adds"] = c["adc_conversions"] + (conv_outs if cfg.precision.signed == "offset" else 0)
    return _finish_counts(cfg, c), (_read_time(cfg, max_conv) if tiles else 0.0), tiles, idx_bits


# ---- operation units -----------------------------------------------------------------------------------------------
@dataclass
class OuLayout:
    """Nonzero operation units of a layer in the natural grid and how each column strip is placed."""

    nonzero: np.ndarray  # (row blocks, col blocks) bool
    rows_in_block: np.ndarray  # (row blocks,)
    cols_in_block: np.ndarray  # (col blocks,) used physical columns
    levels: np.ndarray  # (row blocks, col blocks) level sums of the OU cells
    packed: np.ndarray  # (column tiles,) bool: strip packed (SRE compression) or natural
    strip_tiles: np.ndarray  # (column tiles,) crossbars used by each strip
    strip_max_ous: np.ndarray  # (column tiles,) most OUs any crossbar of the strip activates per cycle


def ou_grid(q: np.ndarray, cfg: ReramConfig, csr: Optional[tuple] = None) -> tuple[np.ndarray, np.ndarray]:
    """(nonzero, levels) of the OU grid (row blocks, OU columns): an OU is nonzero when an output with a column in
    it has a nonzero weight in its row block; levels sum the cell levels of its cells (padding excluded).
    ``csr``: q's compressed sparse rows (then ``q`` is only its shape)."""
    out_f, in_f = q.shape
    our, ouc, cpw = cfg.mapping.ou_rows, cfg.mapping.ou_cols, cfg.columns_per_weight
    n_rb, n_cb = _cdiv(in_f, our), _cdiv(out_f * cpw, ouc)
    nonzero = np.zeros((n_rb, n_cb), dtype=np.uint8)
    levels = np.zeros((n_rb, n_cb), dtype=np.int64)
    diff = cfg.precision.signed == "differential"
    off_lv = zero_levels(cfg)
    if csr is None:
        K.ou_scan(np.ascontiguousarray(q), our, ouc, cpw, cfg.slices, cfg.crossbar.bits_per_cell, diff,
                  cfg.offset_value, off_lv, nonzero, levels)
    else:
        K.ou_scan_csr(*csr, our, ouc, cpw, cfg.slices, cfg.crossbar.bits_per_cell, diff, cfg.offset_value, off_lv,
                      nonzero, levels)
    if not diff:  # zero-weight baseline: every cell of the block's rows holds its slice's zero level
        col_zero = np.zeros(n_cb * ouc, dtype=np.int64)
        col_zero[:out_f * cpw] = np.tile(off_lv, out_f)
        rows_in_block = np.minimum(our, in_f - np.arange(n_rb) * our)
        levels += rows_in_block[:, None] * col_zero.reshape(n_cb, ouc).sum(axis=1)[None, :]
    return nonzero.astype(bool), levels


def ou_layout(q: np.ndarray, cfg: ReramConfig, csr: Optional[tuple] = None) -> OuLayout:
    out_f, in_f = q.shape
    R, C, cpw = cfg.rows, cfg.cols, cfg.columns_per_weight
    our, ouc = cfg.mapping.ou_rows, cfg.mapping.ou_cols
    n_rb, n_cb = _cdiv(in_f, our), _cdiv(out_f * cpw, ouc)
    ncols = out_f * cpw
    cb = np.arange(n_cb)
    nonzero, levels = ou_grid(q, cfg, csr)
    rows_in_block = np.minimum(our, in_f - np.arange(n_rb) * our)
    cols_in_block = np.minimum(ouc, ncols - cb * ouc)
    # placement per column strip (C / ouc OU columns)
    g_per_strip = C // ouc
    n_ct = _cdiv(ncols, C)
    rb_per_tile = R // our
    slots = rb_per_tile
    n_rt = _cdiv(in_f, R)
    packed = np.zeros(n_ct, dtype=bool)
    strip_tiles = np.zeros(n_ct, dtype=np.int64)
    strip_max = np.zeros(n_ct, dtype=np.int64)
    nzp = np.zeros((n_rt * rb_per_tile, n_ct * g_per_strip), dtype=bool)
    nzp[:n_rb, :n_cb] = nonzero
    per_tile_nat = nzp.reshape(n_rt, rb_per_tile, n_ct, g_per_strip).sum(axis=(1, 3))  # (n_rt, n_ct)
    critical = int(per_tile_nat.max()) if per_tile_nat.size else 0  # the layer's slowest natural crossbar
    if csr is not None:  # the same placement, one kernel call (tested against the loop below)
        n_g = np.ascontiguousarray(nzp.reshape(n_rt * rb_per_tile, n_ct, g_per_strip).sum(axis=0, dtype=np.int64))
        strip_max[:] = per_tile_nat.max(axis=0)
        K.ou_pack(n_g, (per_tile_nat > 0).sum(axis=0).astype(np.int64), slots, critical,
                  cfg.mapping.ou_packing == "densest", packed, strip_tiles, strip_max)
        return OuLayout(nonzero, rows_in_block, cols_in_block, levels, packed, strip_tiles, strip_max)
    for ct in range(n_ct):
        n_g = nzp[:, ct * g_per_strip:(ct + 1) * g_per_strip].sum(axis=0)  # OUs per OU column
        nat_tiles = int((per_tile_nat[:, ct] > 0).sum())
        strip_tiles[ct] = nat_tiles
        strip_max[ct] = int(per_tile_nat[:, ct].max()) if nat_tiles else 0
        if cfg.mapping.ou_packing == "densest":
            pk_tiles = _cdiv(int(n_g.max()), slots) if n_g.max() > 0 else 0
            if pk_tiles < nat_tiles:
                t = np.arange(pk_tiles)[:, None]
                packed[ct], strip_tiles[ct] = True, pk_tiles
                strip_max[ct] = int(np.clip(n_g[None, :] - t * slots, 0, slots).sum(axis=1).max())
            continue
        # compression: the fewest crossbars whose OU columns, spread evenly, keep every crossbar within the
        # layer's critical path (so packing frees crossbars without lengthening the layer)
        for p in range(max(1, _cdiv(int(n_g.max()), slots)), nat_tiles):
            busiest = int(-(-n_g // p).sum())
            if busiest <= critical:
                packed[ct], strip_tiles[ct], strip_max[ct] = True, p, busiest
                break
    return OuLayout(nonzero, rows_in_block, cols_in_block, levels, packed, strip_tiles, strip_max)


def ou_activity_analytic(cfg: ReramConfig, rows_in_block: np.ndarray, nonzero: np.ndarray) -> float:
    """Fraction of the nonzero OUs' reads performed under zero-input skipping: the mean over nonzero OUs of
    1 - (1 - d)^rows (d = ``system.input_digit_density``, digits independent); 1.0 without skipping."""
    if not cfg.mapping.ou_skip_zero_inputs:
        return 1.0
    per_rb = nonzero.sum(axis=1)
    n = int(per_rb.sum())
    if n == 0:
        return 1.0
    p = 1.0 - (1.0 - cfg.system.input_digit_density) ** rows_in_block.astype(np.float64)
    return float((per_rb * p).sum() / n)


def _counts_ou(cfg: ReramConfig, q: np.ndarray, nat: _Natural, csr: Optional[tuple] = None,
               ) -> tuple[dict[str, int], float, int, int, float]:
    cyc, ib = cfg.cycles_per_mvm, cfg.precision.input_bits
    lay = ou_layout(q, cfg, csr)
    nzm = lay.nonzero
    n_ou = int(nzm.sum())
    rows_act = int((nzm * lay.rows_in_block[:, None]).sum())
    cols_act = int((nzm * lay.cols_in_block[None, :]).sum())
    cells = int((nzm * (lay.rows_in_block[:, None] * cfg.mapping.ou_cols)).sum())
    levels = int(lay.levels[nzm].sum())
    tiles = int(lay.strip_tiles.sum())
    t_ou = ou_read_time(cfg)
    read_time = float(lay.strip_max_ous.max()) * t_ou if tiles else 0.0
    # index metadata: packed strips store a row-block index per nonzero OU, natural strips a 1-bit OU bitmap
    g = cfg.cols // cfg.mapping.ou_cols
    n_rb = nzm.shape[0]
    idx_bits = 0
    rb_per_tile = cfg.rows // cfg.mapping.ou_rows
    n_ct = len(lay.packed)
    if csr is not None:  # vectorised form of the loop below
        per_ct = np.zeros(n_ct * g, dtype=np.int64)
        per_ct[:nzm.shape[1]] = nzm.sum(axis=0)
        per_ct = per_ct.reshape(n_ct, g).sum(axis=1)
        idx_bits = int(np.where(lay.packed, per_ct * _ilog2(n_rb), lay.strip_tiles * (rb_per_tile * g)).sum())
    else:
        for ct in range(n_ct):
            sub = nzm[:, ct * g:(ct + 1) * g]
            if lay.packed[ct]:
                idx_bits += int(sub.sum()) * _ilog2(n_rb)
            else:
                idx_bits += int(lay.strip_tiles[ct]) * rb_per_tile * g
    outputs = int((nat.outputs_skip * (nat.driven > 0)).sum())
    c = {"tiles_active": tiles, "crossbar_reads": n_ou * cyc, "row_activations": rows_act * cyc,
         "adc_conversions": cols_act * cyc, "cells_driven": cells * cyc, "levels_driven": levels * cyc,
         "input_bits": rows_act * ib, "output_bits": outputs * ib, "index_bits_read": idx_bits}
    c["shift_adds"] = c["adc_conversions"] + (outputs if cfg.precision.signed == "offset" else 0)
    return _finish_counts(cfg, c), read_time, tiles, idx_bits, ou_activity_analytic(cfg, lay.rows_in_block, nzm)


class _Shape:
    """Stands for q where only its shape is read (the counts come from q's compressed sparse rows)."""

    def __init__(self, shape):
        self.shape = tuple(shape)


# ---- public ------------------------------------------------------------------------------------------------------
def _collect(w: np.ndarray) -> tuple[float, Optional[tuple]]:
    """max |w| and w's nonzeros as compressed sparse rows (int32 indices), from one pass over w; None when w is
    more than about half nonzero (the dense path is as fast then). The buffers are sized for 5/8 of w but only
    the pages written (nnz entries) become resident."""
    w = np.ascontiguousarray(w)
    head = w.reshape(-1)[:65536]  # a cheap density estimate spares dense matrices a wasted pass
    if np.count_nonzero(head) > 0.55 * head.size:
        return 0.0, None
    cap = (w.size * 5) // 8 + w.shape[1]
    indptr = np.empty(w.shape[0] + 1, dtype=np.int64)
    indices = np.empty(cap, dtype=np.int32)
    vals = np.empty(cap, dtype=w.dtype)
    m = float(K.csr_collect(w, indptr, indices, vals))
    if m < 0:
        return m, None
    return m, (indptr, indices, vals, np.empty(w.shape[0] + 1, dtype=np.int64), np.empty(int(indptr[-1]) + 1, dtype=np.int32))


def map_layer(layer: MatrixLayer, cfg: ReramConfig, _sparse: bool = True) -> LayerMapping:
    """Map one validated layer (``_sparse=False``: the dense-pass path, the reference of the sparse one)."""
    w = layer.weight
    m, wcsr = _collect(w) if _sparse else (0.0, None)
    if wcsr is not None:  # one pass over w collected its nonzeros and max |w|; the rest works on them
        scale, qmax = quantization(w, cfg, m)
        nat = _natural(w, cfg, scale, qmax, wcsr)
        qcsr = (wcsr[3], wcsr[1], wcsr[4])  # q's rows; indices compacted in place
        del wcsr
    else:
        scale, qmax = quantization(w, cfg)
        nat = _natural(w, cfg, scale, qmax)
        qcsr = None
    footprint = nat.n_rt * nat.n_ct
    grid = nat.driven > 0
    mode = cfg.mapping.mode
    idx_bits = 0
    empty_alloc = 0
    activity = 1.0
    if mode == "dense":
        counts, t_read, tiles = _counts_dense(cfg, nat)
        empty_alloc = footprint - int(grid.sum())
    else:
        counts, t_read, tiles = _counts_skip(cfg, nat)
        if mode in ("compact", "ou"):
            if qcsr is None:
                q = np.empty(w.shape, dtype=np.int32)  # the scale is known: no second max|W| pass
                K.quantize(np.ascontiguousarray(w), 1.0 / scale, qmax, q)
            else:
                q = _Shape(w.shape)
            if mode == "compact" and cfg.columns_per_weight <= cfg.cols:
                c2, t2, tiles2, ib2 = _counts_compact(cfg, q, qcsr)
            elif mode == "ou":
                c2, t2, tiles2, ib2, activity = _counts_ou(cfg, q, nat, qcsr)
            else:
                tiles2 = tiles + 1  # a weight wider than a crossbar cannot be compacted: keep skip_empty
            del q
            if mode == "ou" or tiles2 < tiles:
                counts, t_read, tiles, idx_bits = c2, t2, tiles2, ib2
            else:
                mode = "skip_empty"
    return LayerMapping(name=layer.name, shape=layer.shape, mvms_per_inference=layer.mvms_per_inference, mode=mode,
                        weight_scale=scale, nonzero_weights=nat.nnz, footprint_tiles=footprint, tiles=tiles,
                        empty_tiles_allocated=empty_alloc, read_time_s=t_read, counts=counts,
                        index_bits_stored=idx_bits, tile_grid=grid, cycles_per_mvm=cfg.cycles_per_mvm,
                        ou_activity=activity)


def map(source: Any, config: ReramConfig | None = None) -> ReramMapping:  # noqa: A001 - the design's verb
    """Map every layer of ``source`` (anything :func:`hwsim.workload.iter_matrix_layers` takes) with ``config``
    (None: the 'default' preset), streaming layer by layer; a :class:`hwsim.nn.Network` source is kept so that
    ``run`` can evaluate it."""
    if config is None:
        from .config import default

        config = default()
    if not isinstance(config, ReramConfig):
        raise ConfigError(f"config must be a ReramConfig, got {type(config).__name__}")
    layers = tuple(map_layer(l, config) for l in iter_matrix_layers(source))
    network = source if hasattr(source, "forward") and hasattr(source, "weighted_layers") else None
    return ReramMapping(config, layers, network)
