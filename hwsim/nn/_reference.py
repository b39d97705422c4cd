"""Plain-numpy oracles of the kernels in :mod:`hwsim.nn._kernels` (used by tests and benchmarks)."""
from __future__ import annotations

import numpy as np


def _patch_index(c: int, h: int, w: int, kh: int, kw: int, stride: int, pad: int):
    oh = (h + 2 * pad - kh) // stride + 1
    ow = (w + 2 * pad - kw) // stride + 1
    i0 = np.repeat(np.arange(kh), kw)
    i0 = np.tile(i0, c)
    i1 = stride * np.repeat(np.arange(oh), ow)
    j0 = np.tile(np.arange(kw), kh * c)
    j1 = stride * np.tile(np.arange(ow), oh)
    rows = i0.reshape(1, -1) + i1.reshape(-1, 1)  # (oh*ow, c*kh*kw)
    cols = j0.reshape(1, -1) + j1.reshape(-1, 1)
    chans = np.repeat(np.arange(c), kh * kw).reshape(1, -1)
    return chans, rows, cols, oh, ow


def im2col(x: np.ndarray, kh: int, kw: int, stride: int, pad: int) -> np.ndarray:
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    chans, rows, cols, oh, ow = _patch_index(c, h, w, kh, kw, stride, pad)
    patches = xp[:, chans, rows, cols]  # (n, oh*ow, c*kh*kw)
    return patches.reshape(n * oh * ow, c * kh * kw)


def col2im(cols: np.ndarray, n: int, c: int, h: int, w: int, kh: int, kw: int, stride: int, pad: int) -> np.ndarray:
    chans, rows, cidx, oh, ow = _patch_index(c, h, w, kh, kw, stride, pad)
    xp = np.zeros((n, c, h + 2 * pad, w + 2 * pad), dtype=cols.dtype)
    patches = cols.reshape(n, oh * ow, c * kh * kw)
    for b in range(n):
        np.add.at(xp[b], (np.broadcast_to(chans, rows.shape), rows, cidx), patches[b])
    return xp[:, :, pad:pad + h, pad:pad + w]


def maxpool_forward(x: np.ndarray, k: int, stride: int) -> tuple[np.ndarray, np.ndarray]:
    """Return (pooled, flat argmax index y*w+x within each channel image); first maximum wins."""
    n, c, h, w = x.shape
    oh = (h - k) // stride + 1
    ow = (w - k) // stride + 1
    windows = np.empty((n, c, oh, ow, k * k), dtype=x.dtype)
    flat_idx = np.empty((oh, ow, k * k), dtype=np.int64)
    for u in range(k):
        for v in range(k):
            ys = np.arange(oh) * stride + u
            xs = np.arange(ow) * stride + v
            windows[..., u * k + v] = x[:, :, ys[:, None], xs[None, :]]
            flat_idx[..., u * k + v] = ys[:, None] * w + xs[None, :]
    am = windows.argmax(axis=-1)
    out = np.take_along_axis(windows, am[..., None], axis=-1)[..., 0]
    idx = np.take_along_axis(np.broadcast_to(flat_idx, windows.shape), am[..., None], axis=-1)[..., 0]
    return out, idx


def maxpool_backward(grad_out: np.ndarray, argmax: np.ndarray, h: int, w: int) -> np.ndarray:
    n, c = grad_out.shape[:2]
    grad = np.zeros((n, c, h * w), dtype=grad_out.dtype)
    for b in range(n):
        for ch in range(c):
            np.add.at(grad[b, ch], argmax[b, ch].ravel(), grad_out[b, ch].ravel())
    return grad.reshape(n, c, h, w)
