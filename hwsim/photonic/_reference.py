"""Numpy oracles of the photonic kernels: short, dense, obviously-correct versions for the tests.

They build full n x n matrices per MZI (O(n^5) in all), exactly what the kernels avoid.
"""
from __future__ import annotations

import math

import numpy as np

from .mesh import _layout


def mzi(theta: float, phi: float, kappa1: float = 0.5, kappa2: float = 0.5) -> np.ndarray:
    """2x2 MZI: B(kappa2) diag(e^{i theta}, 1) B(kappa1) diag(e^{i phi}, 1), B(k) = [[t, i s], [i s, t]]."""
    def b(k: float) -> np.ndarray:
        t, s = math.sqrt(1 - k), math.sqrt(k)
        return np.array([[t, 1j * s], [1j * s, t]])

    return b(kappa2) @ np.diag([np.exp(1j * theta), 1]) @ b(kappa1) @ np.diag([np.exp(1j * phi), 1])


def embed(t2: np.ndarray, m: int, n: int) -> np.ndarray:
    out = np.eye(n, dtype=np.complex128)
    out[m:m + 2, m:m + 2] = t2
    return out


def reconstruct(theta: np.ndarray, phi: np.ndarray, screen: np.ndarray, mesh: str,
                kappa: np.ndarray | None = None) -> np.ndarray:
    """One mesh: diag(e^{i screen}) M_{K-1} ... M_0 as dense products."""
    n = screen.shape[0]
    modes, _ = _layout(n, mesh)
    u = np.eye(n, dtype=np.complex128)
    for k, m in enumerate(modes):
        k1, k2 = (0.5, 0.5) if kappa is None else (kappa[2 * k], kappa[2 * k + 1])
        u = embed(mzi(theta[k], phi[k], k1, k2), int(m), n) @ u
    return np.diag(np.exp(1j * screen)) @ u


def decompose(U: np.ndarray, mesh: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Same nulling algorithm as the kernel with dense matrices and the physical MZI (Clements Eq. 5 style
    commutation solved numerically: a left MZI times the diagonal is refit as diagonal times MZI)."""
    U = np.array(U, dtype=np.complex128)
    n = U.shape[0]
    right: list[tuple[int, float, float]] = []
    left: list[tuple[int, float, float]] = []

    def g(theta, phi):  # reduced MZI R(theta) diag(e^{i phi}, 1)
        s, c = math.sin(theta / 2), math.cos(theta / 2)
        return np.array([[np.exp(1j * phi) * s, c], [np.exp(1j * phi) * c, -s]])

    def col(r, c):
        a, b = U[r, c], U[r, c + 1]
        th = 2 * math.atan2(abs(b), abs(a))
        ph = 0.0 if a == 0 or b == 0 else (np.angle(a) - np.angle(b) + math.pi) % (2 * math.pi)
        U[:, :] = U @ embed(g(th, ph).conj().T, c, n)
        right.append((c, th, ph))

    def row(r, c):
        u, v = U[r - 1, c], U[r, c]
        th = 2 * math.atan2(abs(u), abs(v))
        ph = 0.0 if u == 0 or v == 0 else (np.angle(v) - np.angle(u)) % (2 * math.pi)
        U[:, :] = embed(g(th, ph), r - 1, n) @ U
        left.append((r - 1, th, ph))

    if mesh == "clements":
        for i in range(1, n):
            if i % 2 == 1:
                for j in range(i):
                    col(n - 1 - j, i - 1 - j)
            else:
                for j in range(1, i + 1):
                    row(n + j - i - 1, j - 1)
    else:
        for r in range(n - 1, 0, -1):
            for c in range(r):
                col(r, c)
    d = np.angle(np.diag(U)).copy()
    ops = list(right)
    commuted = []
    for m, th, ph in reversed(left):  # G^dag diag(a, b) = diag(b - phi, b) G(theta, a - b)
        a, b = d[m], d[m + 1]
        d[m] = b - ph
        commuted.append((m, th, (a - b) % (2 * math.pi)))
    ops += commuted
    # reduced -> physical: M = i e^{i theta/2} G, push the common phases to the output screen
    acc = np.zeros(n)
    theta = np.array([o[1] for o in ops])
    phi = np.empty(len(ops))
    for k, (m, th, ph) in enumerate(ops):
        gk = th / 2 + math.pi / 2
        a, b = acc[m] - gk, acc[m + 1] - gk
        phi[k] = (ph + a - b) % (2 * math.pi)
        acc[m] = acc[m + 1] = b
    screen = (d + acc) % (2 * math.pi)
    return theta, phi, screen


def tile_matrix(phases: np.ndarray, gain: float, k: int, mesh: str, kappa: np.ndarray | None = None) -> np.ndarray:
    """gain * Re(U_mesh A V_mesh) of one tile's phase row (layout of mapping.py)."""
    m = k * (k - 1) // 2
    kv = None if kappa is None else kappa[:2 * m]
    ku = None if kappa is None else kappa[2 * m:4 * m]
    v = reconstruct(phases[:m], phases[m:2 * m], phases[2 * m:2 * m + k], mesh, kv)
    att = np.empty(k, dtype=np.complex128)
    for i in range(k):
        k1, k2 = (0.5, 0.5) if kappa is None else (kappa[4 * m + 2 * i], kappa[4 * m + 2 * i + 1])
        att[i] = mzi(phases[2 * m + k + i], 0.0, k1, k2)[0, 0]
    u = reconstruct(phases[2 * m + 2 * k:3 * m + 2 * k], phases[3 * m + 2 * k:4 * m + 2 * k], phases[4 * m + 2 * k:], mesh, ku)
    return gain * np.real(u @ np.diag(att) @ v)


def heater_pi_units(phases: np.ndarray, push_pull: bool) -> float:
    p = np.mod(phases, 2 * math.pi)
    p[p >= 2 * math.pi] = 0.0
    if push_pull:
        p = np.where(p > math.pi, 2 * math.pi - p, p)
    return float(np.sum(p) / math.pi)


def sign_pairs(U: np.ndarray, Vt: np.ndarray, tie: float) -> None:
    """Oracle of :func:`hwsim.photonic._svd._sign_pairs` (in place): per tile and pair j, the first entry of v_j
    within ``tie`` of its largest magnitude made positive, u_j flipped with it."""
    mag = np.abs(Vt)
    first = np.argmax(mag >= mag.max(axis=2, keepdims=True) - tie, axis=2)
    neg = np.take_along_axis(Vt, first[:, :, None], axis=2)[:, :, 0] < 0.0
    sg = np.where(neg, -1.0, 1.0)
    Vt *= sg[:, :, None]
    U *= sg[:, None, :]
