"""Exact gradients through the meshes: dL/dphase and dL/dgain of every tile given dL/dW, and heater power.

A tile (phase layout: :func:`hwsim.photonic.mapping.phase_slices`) implements W_t = g Re(S_u M_U A S_v M_V),
with MZIs M(theta, phi) = B diag(e^{i theta}, 1) B diag(e^{i phi}, 1), B = [[1, i], [i, 1]]/sqrt(2) (Harris et
al. 2014 convention, :mod:`hwsim.photonic.mesh`), ideal couplers, and the attenuator column
A_ii = (e^{i theta_i} - 1)/2 folded with the V screen S_v. Heater static power is P_pi (phi mod 2pi)/pi per
phase, so a phase of 0 is a heater switched off.

* :func:`layer_forward` -- the forward model the gradients differentiate (vectorised numpy over tiles; equal
  to the back-end's ``tiles_forward`` kernel behind :func:`hwsim.photonic.layer_matrix` to ~1e-14).
* :func:`phase_gradients` -- exact reverse-mode gradient w.r.t. every phase (rad) and gain, given dL/dW per
  layer: one backward sweep over the MZIs, undoing each unitary op with its adjoint (the non-unitary
  attenuator column is crossed by keeping the V-mesh product from the forward pass).
* :func:`power_units` / :func:`power_penalty` -- heater power in units of P_pi and a differentiable penalty.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np

from ..errors import ConfigError, DataError
from .mapping import LayerMapping, layer_tiles, phase_slices, tiles_matrix
from .mesh import _layout

TWO_PI = 2.0 * math.pi
#: ``kind`` values of :func:`power_penalty`.
POWER_REGULARIZERS = ("wrapped", "power")


def _mzi(theta: np.ndarray, phi: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Entries (a, b, c, d) of M = [[a, b], [c, d]] per tile for phases theta, phi (rad), ideal couplers."""
    et, ep = np.exp(1j * theta), np.exp(1j * phi)
    return 0.5 * ep * (et - 1), 0.5j * (et + 1), 0.5j * ep * (et + 1), 0.5 * (1 - et)


def _apply_rows(X: np.ndarray, m: int, a, b, c, d) -> None:
    """X[:, m:m+2, :] <- [[a, b], [c, d]] @ X[:, m:m+2, :] with per-tile coefficients (T,)."""
    x0, x1 = X[:, m, :].copy(), X[:, m + 1, :]
    X[:, m, :] = a[:, None] * x0 + b[:, None] * x1
    X[:, m + 1, :] = c[:, None] * x0 + d[:, None] * x1


def _mesh_forward(X: np.ndarray, theta: np.ndarray, phi: np.ndarray, modes: np.ndarray) -> None:
    for k, m in enumerate(modes):
        a, b, c, d = _mzi(theta[:, k], phi[:, k])
        _apply_rows(X, int(m), a, b, c, d)


@dataclass(frozen=True, eq=False)
class LayerForward:
    """One layer's mesh forward pass at given phases and gains, kept for the reverse sweep of
    :func:`phase_gradients` (so a training step runs the meshes forward once)."""

    layer: LayerMapping
    phases: np.ndarray
    """(T, P) float64 phases, rad."""
    gains: np.ndarray
    """(T,) float64 per-tile gains."""
    tiles: np.ndarray
    """(T, K, K) real tile matrices g Re(Z)."""
    z: np.ndarray
    """(T, K, K) complex S_u M_U A S_v M_V (before the gain and the real part)."""
    v: np.ndarray
    """(T, K, K) complex V-mesh product M_V."""

    @property
    def matrix(self) -> np.ndarray:
        """The (out, in) float64 layer matrix; equals :func:`hwsim.photonic.layer_matrix` (the numba kernel,
        faster when no gradient is needed) to ~1e-14, not bit for bit."""
        return tiles_matrix(self.layer, self.tiles)


def layer_forward(layer: LayerMapping, phases: Optional[np.ndarray] = None,
                  gains: Optional[np.ndarray] = None) -> LayerForward:
    """The forward pass that :func:`phase_gradients` differentiates, at ``phases`` (T, P) rad and ``gains``
    (T,) (default: the layer's), vectorised numpy over the tiles."""
    ph = layer.phases if phases is None else np.asarray(phases, dtype=np.float64)
    g = layer.gains if gains is None else np.asarray(gains, dtype=np.float64)
    k = int(layer.tile)
    modes, _ = _layout(k, layer.mesh)
    sl = phase_slices(k)
    T = ph.shape[0]
    X = np.broadcast_to(np.eye(k, dtype=np.complex128), (T, k, k)).copy()
    _mesh_forward(X, ph[:, sl["v_theta"]], ph[:, sl["v_phi"]], modes)
    V = X.copy()
    D = np.exp(1j * ph[:, sl["v_screen"]]) * 0.5 * (np.exp(1j * ph[:, sl["sigma"]]) - 1)
    X *= D[:, :, None]
    _mesh_forward(X, ph[:, sl["u_theta"]], ph[:, sl["u_phi"]], modes)
    X *= np.exp(1j * ph[:, sl["u_screen"]])[:, :, None]
    return LayerForward(layer, ph, g, g[:, None, None] * X.real, X, V)


def phase_gradients(layer: LayerMapping, grad_w: np.ndarray, phases: Optional[np.ndarray] = None,
                    gains: Optional[np.ndarray] = None, *, forward: Optional[LayerForward] = None
                    ) -> tuple[np.ndarray, np.ndarray]:
    """(dL/dphases (T, P) per rad, dL/dgains (T,)) of a layer given dL/dW (out, in), by one reverse sweep.

    The gradient is taken at ``phases`` (rad) and ``gains`` (default: the layer's), or at those of
    ``forward`` (:func:`layer_forward`, reused instead of running the meshes forward again).
    """
    if forward is not None and (phases is not None or gains is not None or forward.layer is not layer):
        raise ConfigError("give forward= alone (a layer_forward of this layer), or phases=/gains=, not both")
    if grad_w.shape != tuple(layer.shape):
        raise DataError(f"layer {layer.name!r}: gradient shape {grad_w.shape} != layer shape {tuple(layer.shape)}")
    fw = layer_forward(layer, phases, gains) if forward is None else forward
    ph, g, Z, V = fw.phases, fw.gains, fw.z, fw.v
    k = int(layer.tile)
    modes, _ = _layout(k, layer.mesh)
    sl = phase_slices(k)
    G = layer_tiles(layer, grad_w)
    out = np.zeros_like(ph)
    ggain = np.einsum("tij,tij->t", G, Z.real)
    Y = (g[:, None, None] * G).astype(np.complex128)  # L^T (g G) with L = identity after the last op
    R = Z.copy()

    def block(a: int, b: int) -> np.ndarray:  # (Y R^T)_{ab} per tile
        return np.einsum("tj,tj->t", Y[:, a, :], R[:, b, :])

    # U screen: R <- S^-1 R, grad = Re(X_ii * i e^{i s})
    es = np.exp(1j * ph[:, sl["u_screen"]])
    R *= np.conj(es)[:, :, None]
    out[:, sl["u_screen"]] = np.real(np.einsum("tij,tij->ti", Y, R) * 1j * es)
    Y *= es[:, :, None]  # S^T Y (diagonal)
    # U mesh, last MZI first
    _mesh_backward(Y, R, ph[:, sl["u_theta"]], ph[:, sl["u_phi"]], modes, out[:, sl["u_theta"]],
                   out[:, sl["u_phi"]], block)
    # D column (V screen + attenuators): R is now D V; use the stored V instead of inverting D
    ev, ea = np.exp(1j * ph[:, sl["v_screen"]]), np.exp(1j * ph[:, sl["sigma"]])
    D = ev * 0.5 * (ea - 1)
    R = V.copy()
    xdiag = np.einsum("tij,tij->ti", Y, R)
    out[:, sl["v_screen"]] = np.real(xdiag * 1j * D)
    out[:, sl["sigma"]] = np.real(xdiag * ev * 0.5j * ea)
    Y *= D[:, :, None]
    _mesh_backward(Y, R, ph[:, sl["v_theta"]], ph[:, sl["v_phi"]], modes, out[:, sl["v_theta"]],
                   out[:, sl["v_phi"]], block)
    return out, ggain


def _mesh_backward(Y, R, theta, phi, modes, g_theta, g_phi, block) -> None:
    """Reverse sweep over one mesh: writes dL/dtheta, dL/dphi into the views ``g_theta``, ``g_phi``."""
    for k in range(len(modes) - 1, -1, -1):
        m = int(modes[k])
        a, b, c, d = _mzi(theta[:, k], phi[:, k])
        # R <- M^H R (undo the op: R becomes the product before it)
        _apply_rows(R, m, np.conj(a), np.conj(c), np.conj(b), np.conj(d))
        x00, x01, x10, x11 = block(m, m), block(m, m + 1), block(m + 1, m), block(m + 1, m + 1)
        et, ep = np.exp(1j * theta[:, k]), np.exp(1j * phi[:, k])
        # dM/dtheta = (i/2) e^{i theta} [[e^{i phi}, i], [i e^{i phi}, -1]];  dM/dphi = [[i a, 0], [i c, 0]]
        dth = 0.5j * et * (x00 * ep + x01 * 1j + x10 * 1j * ep - x11)
        g_theta[:, k] = np.real(dth)
        g_phi[:, k] = np.real(1j * (x00 * a + x10 * c))
        # Y <- M^T Y
        _apply_rows(Y, m, a, c, b, d)


def power_units(phases: np.ndarray) -> np.ndarray:
    """Heater power of each phase (rad) in units of P_pi (W per P_pi): (phi mod 2pi) / pi."""
    return np.mod(phases, TWO_PI) / math.pi


def power_penalty(phases: np.ndarray, kind: str = "wrapped") -> tuple[float, np.ndarray]:
    """(value in units of P_pi, d value / d phase in P_pi per rad) of a heater-power penalty summed over
    ``phases`` (rad).

    ``power``: the exact static power (phi mod 2pi)/pi, gradient 1/pi (pushes every phase down, phases just
    below 2pi the long way round). ``wrapped``: the surrogate min(phi, 2pi - phi)/pi (distance to the nearest
    heater-off setting on the circle), gradient +1/pi below pi and -1/pi above, so phases near 2pi drift up
    to wrap to 0. Heaters already off (phase exactly 0) get gradient 0 (a subgradient).
    """
    if kind not in POWER_REGULARIZERS:
        raise ConfigError(f"unknown power regulariser {kind!r}; choose one of {', '.join(POWER_REGULARIZERS)}")
    p = np.mod(np.asarray(phases, dtype=np.float64), TWO_PI)
    on = p != 0.0
    if kind == "power":
        return float(p.sum() / math.pi), np.where(on, 1.0 / math.pi, 0.0)
    slope = np.where(on, np.where(p < math.pi, 1.0, -1.0), 0.0) / math.pi
    return float(np.minimum(p, TWO_PI - p).sum() / math.pi), slope
