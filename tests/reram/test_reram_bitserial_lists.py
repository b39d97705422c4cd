"""The chunk-list kernel (``fast=True`` for device variation, stuck-at faults, clipping ADCs, ADCs of <= 3 bits)
against the table kernel it replaces (``fast=False``) and against a plain-numpy replica of their float32
arithmetic: bit-identical outputs, whatever the thread count or split of the work.

Criterion: ``assert_array_equal`` on every output. Both kernels sum each read in float32 in the same order (the
same subset tables, the same chunk lists, four lookups at a time), so no ADC decision can differ; there is no
tolerance to state. The float64 oracle (:func:`hwsim.reram._reference.bitserial_adc`, exact reads) is only
compared to float32 rounding."""
import sys

import numba
import numpy as np
import pytest

import hwsim.reram as rr
from hwsim.reram import _kernels as K
from hwsim.reram import _kernels_run as KR
from hwsim.reram import _reference as ref
from hwsim.reram.run import engines

from bitserial_engines import both, net3

R = sys.modules["hwsim.reram.run"]  # the module (hwsim.reram.run is also the name of the function)




# ---------------------------------------------------------------------------------------------------------------
# kernels against the numpy replica and the table kernel
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("nrows", [1, 5, 8, 13, 128, 300])
@pytest.mark.parametrize("cycles", [1, 5, 8, 9, 12])
def test_bitplane_lists_match_oracle(nrows, cycles, rng):
    n = 7
    X = rng.integers(0, 2 ** cycles, (n, nrows))
    X[rng.random(X.shape) < 0.5] = 0
    X[0] = 0  # an all-zero input vector
    X[1] = 2 ** cycles - 1  # every row in every cycle
    L = np.full((n, cycles, (nrows + 7) // 8 + 1), -1, dtype=np.int32)
    KR.bitplane_lists(X, 0, nrows, cycles, L)
    np.testing.assert_array_equal(L, ref.bitplane_lists(X, cycles))
    # the rows fed by a slice of the columns, read in place (the engine's blocks of rows)
    c0 = nrows // 3
    W = np.concatenate([rng.integers(0, 2 ** cycles, (n, c0)), X, rng.integers(0, 2 ** cycles, (n, 5))], axis=1)
    L2 = np.full_like(L, -1)
    KR.bitplane_lists(W, c0, nrows, cycles, L2)
    np.testing.assert_array_equal(L2, L)


def _lists_kernel(X, G, cycles, lsb, maxcode, coef, jidx, out_f, splits=1):
    """The kernel over all column blocks, cut into ``splits`` calls with their own scratch and partial output."""
    n = X.shape[0]
    nch = (G.shape[0] + 7) // 8
    L = np.empty((n, cycles, nch + 1), dtype=np.int32)
    KR.bitplane_lists(X, 0, X.shape[1], cycles, L)
    cl = R._padded(coef * lsb)
    sp, se, sj = R._runs(jidx)
    nb = -(-G.shape[1] // KR.BLOCK)
    y = np.zeros((n, out_f))
    cuts = np.linspace(0, nb, splits + 1).astype(int)
    for c0, c1 in zip(cuts[:-1], cuts[1:]):
        yv = np.zeros((n, out_f))
        KR.bitserial_adc_lists(L, R._padded_levels(G), cycles, lsb, maxcode, cl, sp, se, sj, 2.0 ** np.arange(cycles),
                               c0, c1,
                               np.full((nch * 256, KR.BLOCK), np.nan, dtype=np.float32),
                               np.empty(KR.BLOCK, dtype=np.float32), np.empty(KR.BLOCK, dtype=np.float32),
                               np.empty(KR.BLOCK), yv)
        y += yv
    return y


@pytest.mark.parametrize("nrows,ncols", [(1, 1), (5, 7), (13, 300), (128, 80), (128, 81), (300, 170)])
@pytest.mark.parametrize("lsb,maxcode", [(1.0, 1023.0), (2.0, 255.0), (8.0, 3.0), (64.0, 7.0)])
@pytest.mark.parametrize("levels", ["continuous", "integer"])
def test_bitserial_adc_lists_bit_identical_to_table_kernel(nrows, ncols, lsb, maxcode, levels, rng):
    """Continuous levels (variation) and integer levels (reads on exact ADC rounding ties, clipping): the list
    kernel, its numpy replica and the table kernel agree bit for bit; all three match the float64 oracle to
    float32 rounding."""
    n, cycles, out_f = 6, 5, 4
    X = rng.integers(0, 2 ** cycles, (n, nrows))
    X[0] = 0
    X[1] = 2 ** cycles - 1
    if levels == "continuous":
        G = (rng.random((nrows, ncols)) * 3.2 - 0.2).astype(np.float32)  # negative levels read below 0: clipped
    else:
        G = rng.integers(0, 4, (nrows, ncols)).astype(np.float32)
    coef = rng.choice([1.0, -2.0, 4.0, -16.0], ncols)
    jidx = np.sort(rng.integers(0, out_f, ncols))
    jidx[: ncols // 3] = rng.integers(0, out_f, ncols // 3)  # runs and scattered outputs
    cyc_w = 2.0 ** np.arange(cycles)
    y_new = _lists_kernel(X, G, cycles, lsb, maxcode, coef, jidx, out_f)
    y_split = _lists_kernel(X, G, cycles, lsb, maxcode, coef, jidx, out_f, splits=3)
    nch = (nrows + 7) // 8
    y_old = np.zeros((n, out_f))
    K.bitserial_adc(X, G, cycles, lsb, maxcode, coef, jidx, cyc_w, y_old, np.empty((n, cycles, nch), dtype=np.uint8),
                    np.empty((n, cycles, nch + 1), dtype=np.int32), np.empty((2, nch, 256, 64), dtype=np.float32),
                    np.empty((2, 64), dtype=np.float32), np.empty((2, 64)), np.empty((2, n, out_f)))
    y_np = ref.bitserial_adc_f32(X, G, cycles, lsb, maxcode, coef, jidx, cyc_w, out_f)
    np.testing.assert_array_equal(y_new, y_np)
    np.testing.assert_array_equal(y_new, y_old)
    np.testing.assert_array_equal(y_split, y_new)
    y64 = ref.bitserial_adc(X, G, cycles, lsb, maxcode, coef, jidx, cyc_w, out_f)
    if levels == "integer":
        np.testing.assert_array_equal(y_new, y64)  # integer reads are exact in float32: no rounding to differ
    else:
        np.testing.assert_allclose(y_new, y64, rtol=1e-6, atol=1e-6 * lsb * 16 * 2 ** cycles)


def test_rounding_ties_round_half_up():
    """Reads of exactly (k + 1/2) LSB convert to k + 1 in both kernels (the reference rounds half up)."""
    G = np.ones((3, 2), dtype=np.float32)  # reads of 1, 2, 3 levels at lsb 2: codes 1, 1, 2
    X = np.array([[1, 0, 0], [1, 1, 0], [1, 1, 1]])
    coef, jidx = np.array([1.0, 1.0]), np.array([0, 1])
    y = _lists_kernel(X, G, 1, 2.0, 255.0, coef, jidx, 2)
    np.testing.assert_array_equal(y, [[2.0, 2.0], [2.0, 2.0], [4.0, 4.0]])


# ---------------------------------------------------------------------------------------------------------------
# the engine: fast (list kernel) against fast=False (table kernel)
# ---------------------------------------------------------------------------------------------------------------
NONIDEAL = {
    "default (lognormal 0.043)": {},
    "gaussian 0.1": {"nonideal.variation": "gaussian", "nonideal.sigma": 0.1},
    "stuck-at": {"nonideal.sigma": 0.0, "nonideal.p_sa0": 0.02, "nonideal.p_sa1": 0.02},
    "variation + stuck-at": {"nonideal.p_sa0": 0.01, "nonideal.p_sa1": 0.01},
    "clipping ADC, ideal devices": {"nonideal.sigma": 0.0, "adc.range_fraction": 0.25},
    "clipping ADC + variation": {"adc.range_fraction": 0.1},
    "3-bit ADC, ideal devices": {"nonideal.sigma": 0.0, "adc.bits": 3},
    "2-bit ADC + variation": {"adc.bits": 2},
    "9 input cycles": {"precision.input_bits": 9},
}


@pytest.mark.parametrize("mode", rr.MAPPING_MODES)
@pytest.mark.parametrize("nonideal", sorted(NONIDEAL))
@pytest.mark.parametrize("prune_all", [None, 1])
def test_engine_bit_identical(mode, nonideal, prune_all, rng):
    ov = {"mapping.mode": mode, **NONIDEAL[nonideal]}
    if mode == "ou":
        ov.update({"mapping.ou_rows": 8, "mapping.ou_cols": 8})
    cfg = rr.resolve_config("default", overrides=ov)
    x = rng.standard_normal((29, 150)).astype(np.float32)  # negative inputs: two passes
    x[0] = 0.0
    (y_old, y_new), (old, new) = both(net3(0.5, prune_all=prune_all), cfg, x, seed=5)
    np.testing.assert_array_equal(y_new, y_old)
    assert all(e.table_lists or not e.table_blocks for e in new)  # nothing left on the table kernel
    if not cfg.nonideal.ideal:
        assert any(e.table_lists and e.table_blocks for e in new)  # the list kernel ran
    assert not any(e.table_lists for e in old)


@pytest.mark.parametrize("preset", sorted(rr.PRESETS))
@pytest.mark.parametrize("dims", [(128, 128), (16, 32)])
def test_engine_bit_identical_presets_with_variation(preset, dims, rng):
    cfg = rr.resolve_config(preset, overrides={"nonideal.sigma": 0.05, "crossbar.rows": dims[0],
                                               "crossbar.cols": dims[1]})
    x = rng.random((23, 150)).astype(np.float32)
    (y_old, y_new), _ = both(net3(0.3), cfg, x, seed=1)
    np.testing.assert_array_equal(y_new, y_old)


def test_offset_encoding_and_one_bit_cells(rng):
    for ov in ({"precision.signed": "offset"}, {"crossbar.bits_per_cell": 1}, {"precision.input_bits": 4}):
        cfg = rr.resolve_config("default", overrides=ov)
        x = rng.random((17, 150)).astype(np.float32)
        (y_old, y_new), _ = both(net3(0.5), cfg, x, seed=2)
        np.testing.assert_array_equal(y_new, y_old)


def test_dead_columns_dropped(rng):
    """Columns whose positive levels cannot reach half an LSB (zero-level cells with variation) are dropped; the
    outputs do not change."""
    cfg = rr.get_preset("default")
    net = net3(0.2)
    (y_old, y_new), (old, new) = both(net, cfg, rng.random((11, 150)).astype(np.float32))
    np.testing.assert_array_equal(y_new, y_old)
    kept = sum(G.shape[1] for e in new for _, G, _, _ in e.table_blocks)
    total = sum(G.shape[1] for e in old for _, G, _, _ in e.table_blocks)
    assert kept < total


@pytest.mark.parametrize("threads,item_blocks", [(1, 2), (2, 1), (3, 1)])
def test_thread_split_changes_no_bit(threads, item_blocks, rng, monkeypatch):
    cfg = rr.resolve_config("default", overrides={"crossbar.cols": 64})
    net = net3(0.1)
    x = rng.random((40, 150)).astype(np.float32)
    y_ref = net.forward(x, matmul=(lambda e: lambda i, c: e[i](c))(engines(rr.map(net, cfg), 0, fast=False)))
    monkeypatch.setattr(R, "LIST_ITEM_BLOCKS", item_blocks)
    prev = numba.get_num_threads()
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    try:
        eng = engines(rr.map(net, cfg), 0)
        y = net.forward(x, matmul=lambda i, c: eng[i](c))
    finally:
        numba.set_num_threads(prev)
    np.testing.assert_array_equal(y, y_ref)


def test_float32_code_sums_guard(rng):
    """16 input cycles with a 9-bit ADC: shift-added codes could pass 2^24, so the table kernel keeps them."""
    cfg = rr.resolve_config("default", overrides={"precision.input_bits": 16, "adc.bits": 9})
    (y_old, y_new), (_, new) = both(net3(0.5), cfg, rng.random((5, 150)).astype(np.float32))
    assert not any(e.table_lists for e in new)
    np.testing.assert_array_equal(y_new, y_old)


def test_accuracy_identical_through_public_api(rng):
    cfg = rr.get_preset("default")
    net = net3(0.2)
    x = rng.random((64, 150)).astype(np.float32)
    labels = rng.integers(0, 5, 64)
    m = rr.map(net, cfg)
    eng = engines(m, 0, fast=False)
    y_ref = net.forward(x, matmul=lambda i, c: eng[i](c))
    np.testing.assert_array_equal(rr.run(m, x, seed=0, batch_size=25), y_ref)
    assert rr.accuracy(m, x, labels, seed=0) == float(np.mean(np.argmax(y_ref, axis=1) == labels))
