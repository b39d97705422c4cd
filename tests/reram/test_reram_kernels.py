"""Every numba kernel against its numpy oracle, including corner cases."""
import numpy as np
import pytest

from hwsim.reram import _kernels as K
from hwsim.reram import _reference as ref
from hwsim.reram.mapping import zero_levels
import hwsim.reram as rr

SHAPES = [(1, 1), (3, 5), (17, 130), (40, 9)]


@pytest.mark.parametrize("shape", SHAPES)
def test_absmax_and_quantize(shape, rng):
    w = rng.standard_normal(shape)
    w[rng.random(shape) < 0.5] = 0
    assert K.absmax(w) == pytest.approx(ref.absmax(w))
    q = np.empty(shape, dtype=np.int32)
    K.quantize(w, 7.3, 31, q)
    np.testing.assert_array_equal(q, ref.quantize(w, 7.3, 31))


def test_quantize_half_away_and_clip():
    w = np.array([[0.5, -0.5, 1.49, 100.0, -100.0, 0.0]])
    q = np.empty(w.shape, dtype=np.int32)
    K.quantize(w, 1.0, 7, q)
    assert q.tolist() == [[1, -1, 1, 7, -7, 0]]


@pytest.mark.parametrize("shape", SHAPES + [(64, 300)])
@pytest.mark.parametrize("preset", ["isaac", "neurosim-cell", "default"])
@pytest.mark.parametrize("dims", [(4, 6), (8, 8), (128, 128)])
def test_scan_layer_matches_oracle(shape, preset, dims, rng):
    from dataclasses import replace

    cfg = rr.get_preset(preset)
    cfg = replace(cfg, crossbar=replace(cfg.crossbar, rows=dims[0], cols=dims[1]))
    w = rng.standard_normal(shape)
    w[rng.random(shape) < 0.6] = 0
    w[:, 0] = 0  # an all-zero input
    if shape[0] > 2:
        w[1] = 0  # an all-zero output
    R, C, cpw = cfg.rows, cfg.cols, cfg.columns_per_weight
    qmax = 2 ** (cfg.precision.weight_bits - 1) - 1
    si = qmax / max(np.abs(w).max(), 1e-30)
    args = (si, qmax, R, C, cpw, cfg.slices, cfg.crossbar.bits_per_cell, cfg.precision.signed == "differential",
            cfg.offset_value, zero_levels(cfg))
    exp = ref.scan_layer(w, *args)
    rownz, colnz, rowlev = (np.zeros_like(exp[0]), np.zeros_like(exp[1]), np.zeros_like(exp[2]))
    nnz = K.scan_layer(w, *args, rownz, colnz, rowlev)
    np.testing.assert_array_equal(rownz, exp[0])
    np.testing.assert_array_equal(colnz, exp[1])
    np.testing.assert_array_equal(rowlev, exp[2])
    assert nnz == exp[3]


@pytest.mark.parametrize("lsb,maxcode", [(1.0, 255.0), (2.0, 255.0), (4.0, 15.0)])
def test_adc_accumulate_matches_oracle(lsb, maxcode, rng):
    n, cycles, ncols, out_f = 7, 3, 11, 4
    P = (rng.random((cycles * n, ncols)) * 80 - 5).astype(np.float32)
    coef = rng.choice([1.0, -1.0, 2.0, -4.0], ncols)
    jidx = rng.integers(0, out_f, ncols)
    cyc_w = 2.0 ** np.arange(cycles)
    y = np.zeros((n, out_f))
    K.adc_accumulate(P, n, cycles, lsb, maxcode, coef, jidx, cyc_w, y)
    np.testing.assert_allclose(y, ref.adc_accumulate(P, n, cycles, lsb, maxcode, coef, jidx, cyc_w, out_f),
                               rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize("nrows,ncols,blk", [(1, 1, 4), (5, 7, 4), (13, 300, 256), (128, 20, 8), (9, 65, 64), (300, 130, 64)])
@pytest.mark.parametrize("lsb,maxcode", [(1.0, 1023.0), (2.0, 255.0), (8.0, 3.0)])
@pytest.mark.parametrize("nw", [1, 3])
def test_bitserial_adc_matches_oracle(nrows, ncols, blk, lsb, maxcode, nw, rng):
    n, cycles, out_f = 6, 5, 3
    X = rng.integers(0, 2 ** cycles, (n, nrows))
    X[0] = 0  # an all-zero input vector
    G = (rng.random((nrows, ncols)) * 3 - 0.2).astype(np.float32)
    coef = rng.choice([1.0, -2.0, 4.0], ncols)
    jidx = rng.integers(0, out_f, ncols)
    cyc_w = 2.0 ** np.arange(cycles)
    y = np.zeros((n, out_f))
    nch = (nrows + 7) // 8
    K.bitserial_adc(X, G, cycles, lsb, maxcode, coef, jidx, cyc_w, y, np.empty((n, cycles, nch), dtype=np.uint8),
                    np.empty((n, cycles, nch + 1), dtype=np.int32), np.empty((nw, nch, 256, blk), dtype=np.float32),
                    np.empty((nw, blk), dtype=np.float32), np.empty((nw, blk)), np.empty((nw, n, out_f)))
    np.testing.assert_allclose(y, ref.bitserial_adc(X, G, cycles, lsb, maxcode, coef, jidx, cyc_w, out_f),
                               rtol=1e-6, atol=1e-6)


def _sparse_q(shape, sparsity, rng, qmax=127):
    q = rng.integers(-qmax, qmax + 1, shape).astype(np.int32)
    q[rng.random(shape) < sparsity] = 0
    if shape[0] > 2:
        q[1] = 0  # an all-zero output
    if shape[1] > 3:
        q[:, 2] = 0  # an all-zero input
    return q


@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (17, 130), (40, 9), (70, 300)])
@pytest.mark.parametrize("sparsity", [0.0, 0.6, 0.97, 1.0])
@pytest.mark.parametrize("preset,dims", [("isaac", (8, 16)), ("neurosim-cell", (4, 8)), ("default", (128, 128)),
                                         ("default", (8, 8)), ("isaac", (128, 128))])
def test_compact_and_ou_scans_match_oracles(shape, sparsity, preset, dims, rng):
    from dataclasses import replace
    from hwsim.reram.config import MappingConfig
    from hwsim.reram.mapping import _csr, compact_strips, ou_grid

    cfg = rr.get_preset(preset)
    cfg = replace(cfg, crossbar=replace(cfg.crossbar, rows=dims[0], cols=dims[1]),
                  mapping=MappingConfig(mode="ou", ou_rows=min(4, dims[0]), ou_cols=min(4, dims[1])))
    q = _sparse_q(shape, sparsity, rng, 2 ** (cfg.precision.weight_bits - 1) - 1)
    nz, lev = ou_grid(q, cfg)
    enz, elev = ref.ou_grid(q, cfg)
    np.testing.assert_array_equal(nz, enz)
    np.testing.assert_array_equal(lev, elev)
    if cfg.columns_per_weight <= cfg.cols:
        strips, lens = compact_strips(q, cfg)
        csr = _csr(q, np.count_nonzero(q, axis=1))
        got = K.compact_scan(*csr, q.shape[1], strips, lens, cfg.rows, cfg.columns_per_weight, cfg.adc.cols_per_adc, cfg.cols,
                             cfg.precision.signed == "differential", cfg.offset_value, cfg.slices,
                             cfg.crossbar.bits_per_cell)
        assert tuple(int(v) for v in got) == ref.compact_scan(q, cfg)
