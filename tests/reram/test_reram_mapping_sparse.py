"""The mapper's sparse path (one pass over w collects its nonzeros; scans, compact strips and the OU grid work on
them) against the dense-pass path it replaces: identical LayerMappings and Report JSON, every mode and preset."""
from dataclasses import replace

import numpy as np
import pytest

import hwsim.reram as rr
from hwsim.reram import _kernels as K
from hwsim.reram import _reference as ref
from hwsim.reram import mapping as M
from hwsim.reram.config import MappingConfig
from hwsim.workload import MatrixLayer


def weights(shape, sparsity, rng, dtype=np.float32):
    w = rng.standard_normal(shape).astype(dtype)
    w[rng.random(shape) < sparsity] = 0
    if shape[0] > 2:
        w[1] = 0  # an all-zero output
    if shape[1] > 3:
        w[:, 2] = 0  # an all-zero input
    if w.size > 4:
        w.flat[3] = 1e-6 * np.abs(w).max() + 1e-30  # a nonzero that quantizes to 0
    return w


def same(a, b):
    assert a == b
    np.testing.assert_array_equal(a.tile_grid, b.tile_grid)


@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (17, 130), (70, 300), (130, 257)])
@pytest.mark.parametrize("sparsity", [0.0, 0.4, 0.9, 0.97, 1.0])
@pytest.mark.parametrize("preset,dims", [("isaac", (8, 16)), ("neurosim-cell", (4, 8)), ("default", (128, 128)),
                                         ("default", (8, 8)), ("isaac", (128, 128))])
@pytest.mark.parametrize("mode", rr.MAPPING_MODES)
def test_sparse_path_equals_dense_path(shape, sparsity, preset, dims, mode, rng):
    cfg = rr.get_preset(preset)
    cfg = replace(cfg, crossbar=replace(cfg.crossbar, rows=dims[0], cols=dims[1]),
                  mapping=MappingConfig(mode=mode, ou_rows=min(4, dims[0]), ou_cols=min(4, dims[1])))
    for dtype in (np.float32, np.float64):
        layer = MatrixLayer("l", weights(shape, sparsity, rng, dtype), 3)
        same(M.map_layer(layer, cfg), M.map_layer(layer, cfg, _sparse=False))
    if mode == "ou":
        cfg = replace(cfg, mapping=replace(cfg.mapping, ou_packing="densest"))
        same(M.map_layer(layer, cfg), M.map_layer(layer, cfg, _sparse=False))


def test_report_json_identical_resnet_like(rng):
    layers = [MatrixLayer(f"l{k}", weights(s, 0.9, rng), 49) for k, s in
              enumerate([(64, 147), (256, 64), (64, 576), (512, 1152), (2048, 512), (1000, 2048)])]
    for preset in sorted(rr.PRESETS):
        for mode in rr.MAPPING_MODES:
            cfg = rr.resolve_config(preset, mapping=mode)
            new = rr.cost(rr.map(layers, cfg)).to_json()
            old = rr.cost(M.ReramMapping(cfg, tuple(M.map_layer(l, cfg, _sparse=False) for l in layers))).to_json()
            assert new == old


def test_csr_collect_overflow_falls_back(rng):
    w = rng.standard_normal((5, 7))  # dense: more than half nonzero (the estimate says so)
    m, csr = M._collect(w)
    assert csr is None
    w[:, :6] = 0
    m, csr = M._collect(w)
    assert m == K.absmax(w) and csr is not None
    np.testing.assert_array_equal(csr[0], np.arange(6) * 1)
    np.testing.assert_array_equal(csr[1][:5], 6)
    w = rng.standard_normal((400, 400))  # sparse head, dense tail: the kernel itself runs out of room
    w.reshape(-1)[:40000] = 0
    assert M._collect(w)[1] is None
    cfg = rr.resolve_config("default", mapping="compact")
    same(M.map_layer(MatrixLayer("l", w, 1), cfg), M.map_layer(MatrixLayer("l", w, 1), cfg, _sparse=False))


@pytest.mark.parametrize("densest", [False, True])
def test_ou_pack_matches_loop(densest, rng):
    cfg = rr.resolve_config("default", overrides={"mapping.mode": "ou", "mapping.ou_packing":
                                                   "densest" if densest else "critical_path"})
    for sparsity in (0.5, 0.9, 0.99):
        q = np.asarray(M.quantize_matrix(weights((300, 700), sparsity, rng), cfg)[0])
        csr = M._csr(q, np.count_nonzero(q, axis=1))
        a = M.ou_layout(q, cfg)
        b = M.ou_layout(q, cfg, (csr[0], csr[1], csr[2]))
        for f in ("nonzero", "levels", "packed", "strip_tiles", "strip_max_ous"):
            np.testing.assert_array_equal(getattr(a, f), getattr(b, f))
        nz, lev = ref.ou_grid(q, cfg)
        np.testing.assert_array_equal(b.nonzero, nz)
