"""Free heater power from the SVD gauge: re-program a tile at lower static power with its matrix unchanged.

B = U S V^H = (U D) S (D^* V^H) for any diagonal unitary D, so a per-tile D re-programs the U mesh and the V
screen (which sits right before the diagonal attenuator column) without changing W (to machine precision).
"""
from __future__ import annotations

import dataclasses

import numpy as np

from ..errors import ConfigError
from .gradients import TWO_PI, power_units
from .mapping import PhotonicMapping, phase_slices
from .mesh import MeshPhases, decompose, reconstruct, wrap_phases


def gauge_optimize(mapping: PhotonicMapping, levels: int = 8, sweeps: int = 2) -> PhotonicMapping:
    """A new mapping with the same matrices and lower (never higher) heater power, via the SVD gauge freedom.

    Per tile, U S V^H = (U D) S (D^* V^H) for D = diag(e^{i d}): the V screen gets -d (rad), and the U mesh is
    re-decomposed for U D. ``d`` is chosen per tile and mode by coordinate search over ``levels`` equally spaced
    values in [0, 2pi) (``levels = 2``: sign flips of (u_i, v_i) pairs), ``sweeps`` passes over the modes; a
    change is kept only when it lowers the tile's summed heater power (in units of P_pi, :func:`power_units`).
    Heaters that are off may turn on (the U mesh is re-programmed) when that pays.
    """
    if int(levels) < 2 or int(sweeps) < 1:
        raise ConfigError(f"levels must be >= 2 and sweeps >= 1, got {levels}, {sweeps}")
    new_layers = []
    for lm in mapping.layers:
        if lm.tiles == 0:
            new_layers.append(lm)
            continue
        k = int(lm.tile)
        sl = phase_slices(k)
        ph0 = lm.phases
        U0 = reconstruct(MeshPhases(lm.mesh, k, ph0[:, sl["u_theta"]], ph0[:, sl["u_phi"]], ph0[:, sl["u_screen"]]))

        def program(d: np.ndarray) -> np.ndarray:
            mp = decompose(U0 * np.exp(1j * d)[:, None, :], lm.mesh)
            out = ph0.copy()
            out[:, sl["u_theta"]], out[:, sl["u_phi"]], out[:, sl["u_screen"]] = mp.theta, mp.phi, mp.screen
            out[:, sl["v_screen"]] = wrap_phases(ph0[:, sl["v_screen"]] - d)
            return out

        d = np.zeros((lm.tiles, k))
        best_ph = ph0.copy()
        best = power_units(lm.drive(ph0)).sum(axis=1)  # heater power sees the fabrication offsets
        grid = TWO_PI * np.arange(int(levels)) / int(levels)
        for _ in range(int(sweeps)):
            for i in range(k):
                for val in grid:
                    trial = d.copy()
                    trial[:, i] = val
                    ph = program(trial)
                    pw = power_units(lm.drive(ph)).sum(axis=1)
                    better = pw < best * (1 - 1e-12)
                    if better.any():
                        d[better] = trial[better]
                        best[better] = pw[better]
                        best_ph[better] = ph[better]
        new_layers.append(dataclasses.replace(lm, phases=best_ph, reference_phases=lm.reference))
    return dataclasses.replace(mapping, layers=tuple(new_layers))
