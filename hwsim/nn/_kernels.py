"""Numba kernels of the network runtime: im2col / col2im and max pooling.

Arrays and scalars only; the layers in :mod:`hwsim.nn.layers` validate and allocate.
Layout: images are NCHW; im2col rows are ordered (n, oh, ow) and columns (c, kh, kw), so a
convolution's weight matrix is (C_out, C_in*kh*kw) and ``cols @ W.T`` gives (n*oh*ow, C_out).
Each kernel has a numpy oracle in :mod:`hwsim.nn._reference`.
"""
from __future__ import annotations

import numba as nb
import numpy as np


@nb.njit(cache=True, nogil=True)
def im2col(x, kh, kw, stride, pad, out):  # pragma: no cover - compiled
    n, c, h, w = x.shape
    oh = (h + 2 * pad - kh) // stride + 1
    ow = (w + 2 * pad - kw) // stride + 1
    for b in range(n):
        for i in range(oh):
            for j in range(ow):
                r = (b * oh + i) * ow + j
                col = 0
                for ch in range(c):
                    for u in range(kh):
                        y = i * stride + u - pad
                        for v in range(kw):
                            xx = j * stride + v - pad
                            if 0 <= y < h and 0 <= xx < w:
                                out[r, col] = x[b, ch, y, xx]
                            else:
                                out[r, col] = 0.0
                            col += 1


@nb.njit(cache=True, nogil=True)
def col2im(cols, n, c, h, w, kh, kw, stride, pad, out):  # pragma: no cover - compiled
    oh = (h + 2 * pad - kh) // stride + 1
    ow = (w + 2 * pad - kw) // stride + 1
    for b in range(n):
        for ch in range(c):
            for y in range(h):
                for xx in range(w):
                    out[b, ch, y, xx] = 0.0
        for i in range(oh):
            for j in range(ow):
                r = (b * oh + i) * ow + j
                col = 0
                for ch in range(c):
                    for u in range(kh):
                        y = i * stride + u - pad
                        for v in range(kw):
                            xx = j * stride + v - pad
                            if 0 <= y < h and 0 <= xx < w:
                                out[b, ch, y, xx] += cols[r, col]
                            col += 1


@nb.njit(cache=True, nogil=True)
def maxpool_forward(x, k, stride, out, argmax):  # pragma: no cover - compiled
    n, c, h, w = x.shape
    oh = out.shape[2]
    ow = out.shape[3]
    for b in range(n):
        for ch in range(c):
            for i in range(oh):
                for j in range(ow):
                    best = -np.inf
                    best_idx = 0
                    for u in range(k):
                        for v in range(k):
                            y = i * stride + u
                            xx = j * stride + v
                            val = x[b, ch, y, xx]
                            if val > best:
                                best = val
                                best_idx = y * w + xx
                    out[b, ch, i, j] = best
                    argmax[b, ch, i, j] = best_idx


@nb.njit(cache=True, nogil=True)
def maxpool_backward(grad_out, argmax, h, w, grad_in):  # pragma: no cover - compiled
    n, c, oh, ow = grad_out.shape
    for b in range(n):
        for ch in range(c):
            for y in range(h):
                for xx in range(w):
                    grad_in[b, ch, y, xx] = 0.0
            for i in range(oh):
                for j in range(ow):
                    idx = argmax[b, ch, i, j]
                    grad_in[b, ch, idx // w, idx % w] += grad_out[b, ch, i, j]
