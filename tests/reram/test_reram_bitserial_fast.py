"""The fast bit-serial engine (low-bits path for exact integer reads at lsb = 2^s without clipping) against the
table kernel it replaces: bit-identical outputs for the same seed across presets, mapping modes, ADC resolutions,
non-idealities, pruned layers."""
import dataclasses
import sys

import numpy as np
import pytest

import hwsim.reram as rr
from hwsim.reram import _kernels as K
from hwsim.reram import _kernels_run as KR
from hwsim.reram import _reference as ref

from bitserial_engines import both, net3


def lsb2(cfg):
    """``cfg`` without ISAAC's flipped encoding: the ADC resolutions below then give LSBs of 2^s levels (the default
    preset reads 128-row sums exactly since it encodes flipped weights), which these tests walk through."""
    return dataclasses.replace(cfg, adc=dataclasses.replace(cfg.adc, flip_encoding=False))


@pytest.mark.parametrize("preset", sorted(rr.PRESETS))
@pytest.mark.parametrize("mode", rr.MAPPING_MODES)
@pytest.mark.parametrize("adc_bits", [4, 6, 8])
@pytest.mark.parametrize("dims", [(128, 128), (16, 32)])
def test_fast_engine_bit_identical(preset, mode, adc_bits, dims, rng):
    ov = {"mapping.mode": mode, "adc.bits": adc_bits, "crossbar.rows": dims[0], "crossbar.cols": dims[1]}
    if mode == "ou":
        ov.update({"mapping.ou_rows": 8, "mapping.ou_cols": 8})
    cfg = rr.resolve_config(preset, overrides=ov)
    x = rng.standard_normal((37, 150)).astype(np.float32)  # negative inputs: two passes
    x[0] = 0.0
    (y_old, y_new), (_, eng) = both(net3(0.6), cfg, x)
    np.testing.assert_array_equal(y_new, y_old)


def test_default_preset_takes_the_parity_path(rng):
    cfg = lsb2(rr.get_preset("ideal"))  # ideal devices: the default preset's device variation keeps the table kernel
    x = rng.random((20, 150)).astype(np.float32)
    (y_old, y_new), (old, new) = both(net3(0.3), cfg, x)
    assert all(e.parity_blocks and not e.table_blocks for e in new)
    assert all(e.table_blocks and not e.parity_blocks for e in old)
    np.testing.assert_array_equal(y_new, y_old)


@pytest.mark.parametrize("ov", [{"nonideal.sigma": 0.05}, {"nonideal.p_sa0": 0.01, "nonideal.p_sa1": 0.01},
                                {"adc.range_fraction": 0.25}, {"mapping.mode": "ou", "mapping.ou_skip_zero_inputs": True},
                                {"mapping.mode": "compact"}, {"precision.signed": "offset"},
                                {"crossbar.bits_per_cell": 1}, {"precision.input_bits": 4}])
@pytest.mark.parametrize("prune_all", [None, 1])
def test_fast_engine_bit_identical_nonideal_and_pruned(ov, prune_all, rng):
    cfg = rr.resolve_config("default", overrides=ov)
    x = rng.random((25, 150)).astype(np.float32)
    (y_old, y_new), _ = both(net3(0.5, prune_all=prune_all), cfg, x, seed=3)
    np.testing.assert_array_equal(y_new, y_old)


def test_fast_accuracy_identical_through_public_api(rng):
    cfg = rr.get_preset("ideal")
    net = net3(0.2)
    x = rng.random((64, 150)).astype(np.float32)
    m = rr.map(net, cfg)
    y = rr.run(m, x, seed=0)
    (y_old, _), _ = both(net, cfg, x)
    np.testing.assert_array_equal(y, y_old)


@pytest.mark.parametrize("adc_bits,fast_blocks", [(9, 0), (8, 1), (7, 2), (6, 3), (5, 4), (4, 5), (3, 0)])
def test_default_preset_low_bits_per_adc_resolution(adc_bits, fast_blocks, rng, monkeypatch):
    """With LOWBITS_MAX = 5 (the kernel's range), lsb = 2^s for s = 0 (exact product) ... 5 take the low-bits path;
    s = 6 goes to the chunk-list kernel."""
    monkeypatch.setattr(sys.modules["hwsim.reram.run"], "LOWBITS_MAX", 5)
    cfg = lsb2(rr.resolve_config("ideal", adc_bits=adc_bits))  # the default preset with ideal devices
    x = rng.random((20, 150)).astype(np.float32)
    (y_old, y_new), (_, new) = both(net3(0.3), cfg, x)
    e = new[0]
    assert e.lsb == 2.0 ** {9: 0, 8: 1, 7: 2, 6: 3, 5: 4, 4: 5, 3: 6}[adc_bits]
    assert (e.lin is not None) == (adc_bits > 3)
    assert all(tp.shape[2] == fast_blocks for _, tp, *_ in e.parity_blocks)
    np.testing.assert_array_equal(y_new, y_old)


@pytest.mark.parametrize("adc_bits,path", [(9, "low-bits"), (8, "low-bits"), (7, "lists"), (6, "lists"),
                                           (5, "lists"), (4, "lists"), (3, "lists")])
def test_ideal_devices_path_per_adc_resolution(adc_bits, path, rng):
    """Ideal devices: lsb 2^s for s <= LOWBITS_MAX = 1 on the low-bits path, coarser ADCs on the chunk-list kernel
    (faster there); bit-identical to the table kernel either way."""
    cfg = lsb2(rr.resolve_config("ideal", adc_bits=adc_bits))
    x = rng.random((20, 150)).astype(np.float32)
    (y_old, y_new), (_, new) = both(net3(0.3), cfg, x)
    e = new[0]
    assert (e.lin is not None) == (path == "low-bits")
    assert (e.table_lists and bool(e.table_blocks)) == (path == "lists")
    np.testing.assert_array_equal(y_new, y_old)


@pytest.mark.parametrize("nrows,ncols", [(1, 1), (5, 7), (13, 300), (128, 64), (300, 130)])
@pytest.mark.parametrize("lsb", [2, 4, 16])
@pytest.mark.parametrize("nw", [1, 3])
def test_bitserial_lowbits_matches_oracle(nrows, ncols, lsb, nw, rng):
    n, cycles, out_f = 6, 5, 4
    X = rng.integers(0, 2 ** cycles, (n, nrows))
    X[0] = 0
    G = rng.integers(0, 4, (nrows, ncols)).astype(np.float32)
    coef = rng.choice([1.0, -2.0, 4.0], ncols)
    jidx = rng.integers(0, out_f, ncols)
    sh = int(np.log2(lsb))
    nwd = (ncols + 63) // 64
    packed = np.zeros((nrows, sh, nwd * 8), dtype=np.uint8)
    for b in range(sh):
        packed[:, b, :(ncols + 7) // 8] = np.packbits(((G.astype(np.int64) >> b) & 1).astype(bool), axis=1,
                                                      bitorder="little")
    TP = np.empty(((nrows + 7) // 8, 256, sh, nwd), dtype=np.uint64)
    K.lowbit_tables(np.ascontiguousarray(packed.view("<u8")), TP)
    c = np.arange(ncols)
    keys, inv = np.unique((c // 8) * out_f + jidx, return_inverse=True)
    bits = ((np.arange(256)[:, None] >> np.arange(8)[None, :]) & 1).astype(np.float64)
    tab = np.zeros((len(keys), 256))
    for b in range(8):
        sel = c % 8 == b
        tab[inv[sel]] += coef[sel, None] * bits[None, :, b]
    plane_w = np.array([-(2.0 ** b) for b in range(sh - 1)] + [2.0 ** (sh - 1)])
    y_rows = np.zeros((n, out_f))  # the engine's kernel on nw disjoint sample ranges: the oracle's bits
    cuts = np.linspace(0, n, nw + 1).astype(int)
    for r0, r1 in zip(cuts[:-1], cuts[1:]):
        KR.bitserial_lowbits_rows(X, TP, cycles, plane_w, keys // out_f, keys % out_f, tab, y_rows, r0, r1,
                                  np.empty((cycles, sh, nwd), dtype=np.uint64))
    np.testing.assert_array_equal(y_rows, ref.bitserial_lowbits(X, G, cycles, lsb, coef, jidx, out_f))
