"""Compile every numba kernel of :mod:`hwsim.reram` on tiny inputs (``BACKEND.warmup``; numba caches them on disk)."""
from __future__ import annotations

import numpy as np

from . import _kernels as K
from . import _kernels_run as KR


def warmup() -> None:
    """Call each kernel once for every dtype signature the package uses."""
    w = np.array([[0.5, 0.0], [-1.0, 0.25]])
    K.absmax(w)
    K.absmax(w.astype(np.float32))
    q = np.empty((2, 2), dtype=np.int32)
    K.quantize(w, 1.0, 7, q)
    K.quantize(w.astype(np.float32), 1.0, 7, q)
    for dt in (np.float64, np.float32):
        rownz = np.zeros((1, 2), dtype=np.uint8)
        colnz = np.zeros((1, 2), dtype=np.uint8)
        rowlev = np.zeros((1, 2), dtype=np.int64)
        K.scan_layer(w.astype(dt), 1.0, 7, 2, 8, 4, 2, 2, True, 8, np.zeros(2, dtype=np.int64), rownz, colnz, rowlev)
    P = np.zeros((2, 2), dtype=np.float32)
    y = np.zeros((1, 1))
    K.adc_accumulate(P, 1, 2, 1.0, 255.0, np.ones(2), np.zeros(2, dtype=np.int64), np.ones(2), y)
    K.bitserial_adc(np.ones((1, 2), dtype=np.int64), np.ones((2, 2), dtype=np.float32), 2, 1.0, 255.0, np.ones(2),
                    np.zeros(2, dtype=np.int64), np.ones(2), y, np.empty((1, 2, 1), dtype=np.uint8),
                    np.empty((1, 2, 2), dtype=np.int32), np.empty((1, 1, 256, 4), dtype=np.float32),
                    np.empty((1, 4), dtype=np.float32), np.empty((1, 4)), np.empty((1, 1, 1)))
    for dt in (np.float32, np.float64):
        KR.quantize_rows(w.astype(dt), 1.0, np.int64(255), np.empty((2, 2), dtype=np.int64), np.empty(2))
    L = np.empty((1, 2, 2), dtype=np.int32)
    KR.bitplane_lists(np.ones((1, 2), dtype=np.int64), 0, 2, 2, L)
    KR.bitserial_adc_lists(L, np.ones((8, KR.BLOCK), dtype=np.float32), 2, 1.0, 255.0, np.ones(KR.BLOCK),
                           np.array([0, 1], dtype=np.int64), np.array([2], dtype=np.int64), np.zeros(1, dtype=np.int64),
                           np.ones(2), 0, 1, np.empty((256, KR.BLOCK), dtype=np.float32),
                           np.empty(KR.BLOCK, dtype=np.float32), np.empty(KR.BLOCK, dtype=np.float32),
                           np.empty(KR.BLOCK), y)
    TP = np.empty((1, 256, 1, 1), dtype=np.uint64)
    K.lowbit_tables(np.ones((2, 1, 1), dtype=np.uint64), TP)
    KR.bitserial_lowbits_rows(np.ones((1, 2), dtype=np.int64), TP, 2, np.ones(1), np.zeros(1, dtype=np.int64),
                              np.zeros(1, dtype=np.int64), np.zeros((1, 256)), y, 0, 1,
                              np.empty((2, 1, 1), dtype=np.uint64))
    qi = np.array([[1, 0], [0, -2]], dtype=np.int32)
    ip, ix, vv = np.array([0, 1, 2], dtype=np.int64), np.array([0, 1], dtype=np.int64), np.array([1, -2], dtype=np.int64)
    K.csr_fill(qi, ip, ix.astype(np.int32), vv.astype(np.int32))
    K.ou_scan(qi, 2, 2, 4, 2, 2, True, 8, np.zeros(2, dtype=np.int64), np.zeros((1, 4), dtype=np.uint8),
              np.zeros((1, 4), dtype=np.int64))  # differential, 2 slices: 4 columns per weight, 2 per OU
    # the mapper's sparse path (int32 indices and values)
    for dt in (np.float64, np.float32):
        ptr, ind, val = np.empty(3, dtype=np.int64), np.empty(8, dtype=np.int32), np.empty(8, dtype=dt)
        K.csr_collect(w.astype(dt), ptr, ind, val)
        qptr, qval = np.empty(3, dtype=np.int64), np.empty(8, dtype=np.int32)
        K.csr_quantize_scan(ptr, ind, val, 2, 1.0, 7, 2, 8, 4, 2, 2, True, 8, np.zeros(2, dtype=np.int64), qptr, qval,
                            np.zeros((1, 2), dtype=np.uint8), np.zeros((1, 2), dtype=np.uint8),
                            np.zeros((1, 2), dtype=np.int64))
    ix32, vv32 = ix.astype(np.int32), vv.astype(np.int32)
    K.compact_scan(ip, ix32, vv32, 2, np.array([[0, 1]], dtype=np.int64), np.array([2], dtype=np.int64), 2, 2, 2, 4,
                   True, 8, 2, 2)
    K.ou_scan_csr(ip, ix32, vv32, 2, 2, 4, 2, 2, True, 8, np.zeros(2, dtype=np.int64), np.zeros((1, 4), dtype=np.uint8),
                  np.zeros((1, 4), dtype=np.int64))  # consistent geometry: 4 columns per weight, 2 per OU
    K.ou_pack(np.ones((1, 2), dtype=np.int64), np.ones(1, dtype=np.int64), 2, 1, False, np.zeros(1, dtype=np.bool_),
              np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64))
