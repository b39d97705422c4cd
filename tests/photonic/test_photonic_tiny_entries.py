"""Unitaries with entries that are zero only up to rounding (1e-150 .. 1e-320).

Pruned tiles give block-structured U with exact zeros; nulling then leaves entries like 1e-162 whose squares
underflow. Before the fix, the Clements kernels built a non-unitary Givens rotation from sqrt(re^2 + im^2) of
such an entry and rejected a unitary input ("distance 0.239"); the regression case is a LeNet-300-100 fc2
tile's U times a diagonal gauge (data/clements_decompose_failure_16.npy).
"""
import math
from pathlib import Path

import numpy as np
import pytest

from hwsim.photonic import _kernels_common as KC, _kernels_decompose as KD, _kernels_lanes as KL, _kernels_tiles as KT
from hwsim.photonic import decompose, haar_unitary, reconstruct
from hwsim.photonic.mesh import mesh_layout

FAILURE_16 = np.load(Path(__file__).parent / "data" / "clements_decompose_failure_16.npy", allow_pickle=False)
MESHES = ("clements", "reck")


def test_regression_input_is_unitary():
    assert np.abs(FAILURE_16 @ FAILURE_16.conj().T - np.eye(16)).max() < 1e-14


@pytest.mark.parametrize("mesh", MESHES)
def test_regression_matrix_round_trips(mesh):
    assert np.abs(reconstruct(decompose(FAILURE_16, mesh)) - FAILURE_16).max() < 1e-12


def _tiny_mixed(n: int, eps: float, seed: int, real: bool) -> np.ndarray:
    """Block-diagonal Haar/orthogonal unitary, rows permuted, then two modes mixed by a Givens angle eps."""
    rng = np.random.default_rng(seed)
    h = n // 2
    if real:
        blocks = [np.linalg.qr(rng.standard_normal((k, k)))[0] for k in (h, n - h)]
        u = np.zeros((n, n))
    else:
        blocks = [haar_unitary(k, 1, seed=seed + k)[0] for k in (h, n - h)]
        u = np.zeros((n, n), dtype=np.complex128)
    u[:h, :h] = blocks[0]
    u[h:, h:] = blocks[1]
    u = u[rng.permutation(n)][:, rng.permutation(n)]
    g = np.eye(n)
    i, j = rng.choice(n, 2, replace=False)
    g[i, i] = g[j, j] = math.cos(eps)
    g[i, j], g[j, i] = -math.sin(eps), math.sin(eps)
    return g @ u


@pytest.mark.parametrize("mesh", MESHES)
@pytest.mark.parametrize("real", [False, True])
@pytest.mark.parametrize("eps", [1e-150, 1e-162, 1e-170, 1e-200, 1e-310])
def test_tiny_entries_round_trip_in_every_kernel(mesh, real, eps):
    """Per-tile and 32-lane kernels, complex and real paths: unitary inputs with tiny entries decompose
    (nulling residual <= 1e-12) and reconstruct to 1e-12."""
    n, t = 12, 40
    u = np.stack([_tiny_mixed(n, eps, seed, real) for seed in range(t)])
    if not real:
        u = u * np.exp(1j * np.random.default_rng(1).uniform(0, 2 * np.pi, (t, 1, n)))  # a diagonal gauge
    modes, _ = mesh_layout(n, mesh)
    code = KC.MESH_CLEMENTS if mesh == "clements" else KC.MESH_RECK
    m = n * (n - 1) // 2
    for fn in (KD.decompose, KL.decompose_lanes):
        th, ph, sc, err = np.empty((t, m)), np.empty((t, m)), np.empty((t, n)), np.empty(t)
        fn(np.ascontiguousarray(u), modes, code, th, ph, sc, err, 2, None if real else True)
        assert err.max() <= 1e-12, fn
        rec = np.empty((t, n, n), dtype=np.complex128)
        KD.reconstruct(th, ph, sc, modes, rec, 2)
        assert np.abs(rec - u).max() <= 1e-12, fn


@pytest.mark.parametrize("re,im", [(1e-162, -3e-162), (5e-324, 0.0), (0.0, -1e-310), (3e-200, 4e-200),
                                   (0.6, 0.8), (-1.0, 0.0)])
def test_polar_is_exact_at_any_magnitude(re, im):
    mag, ur, ui = KC._polar(re, im)
    ref = abs(complex(re, im))
    assert mag == pytest.approx(ref, rel=1e-15, abs=0)
    assert math.hypot(ur, ui) == pytest.approx(1.0, abs=2e-16)
    assert complex(ur, ui) * ref == pytest.approx(complex(re, im), rel=1e-15, abs=0)


@pytest.mark.parametrize("y,x", [(1e-170, 1e-170), (5e-324, 1e-320), (0.0, 1e-300), (1e-300, 0.0), (3.0, 4.0)])
def test_sin_cos_half_matches_libm(y, x):
    s, c = KC._sin_cos_half(y, x)
    half = math.atan2(y, x)
    assert s == pytest.approx(math.sin(half), abs=2e-16) and c == pytest.approx(math.cos(half), abs=2e-16)


def test_sin_cos_half_of_zero_is_identity_angle():
    assert KC._sin_cos_half(0.0, 0.0) == (0.0, 1.0)
    assert KC._polar(0.0, 0.0) == (0.0, 0.0, 0.0)


def test_rounding_level_phases_are_heaters_off():
    """A phase within 1e-12 rad of 0 (mod 2 pi) is 0: it costs nothing and does not count as a heater on."""
    from hwsim.photonic import wrap_phases

    ph = np.array([2 * np.pi - 1e-15, -1e-15, 1e-14, 2 * np.pi, 1e-6, np.pi])
    assert np.array_equal(wrap_phases(ph), [0.0, 0.0, 0.0, 0.0, 1e-6, np.pi])
    units, on = KT.heater_power_sum(ph, False)
    assert on == 2 and units == pytest.approx((1e-6 + np.pi) / np.pi, rel=1e-15)
    assert KC._wrap(-1e-15) == 0.0 and KC._wrap(2 * np.pi - 1e-13) == 0.0 and KC._wrap(1e-11) == 1e-11


@pytest.mark.parametrize("mesh", MESHES)
def test_decomposed_phases_have_no_rounding_noise(mesh):
    """Structured unitaries (permutations, block-diagonal with a tiny mixing) leave no phase in (0, 1e-12) or
    (2 pi - 1e-12, 2 pi): such phases would count as heaters on, and near 2 pi would cost 2 P_pi each."""
    u = np.stack([_tiny_mixed(16, 1e-162, seed, real) for seed in range(20) for real in (True, False)])
    p = decompose(u, mesh)
    for a in (p.theta, p.phi, p.screen):
        d = np.minimum(a, 2 * np.pi - a)
        assert not np.any((d > 0) & (d < 1e-12))
    assert np.abs(reconstruct(p) - u).max() < 1e-12
