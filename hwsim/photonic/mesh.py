"""MZI meshes: decompose a unitary into programmed phases and reconstruct it, batched over many tiles.

Device convention (Harris et al., Opt. Express 22, 10487 (2014); Shen et al., Nat. Photonics 11, 441 (2017))
---------------------------------------------------------------------------------------------------------
An MZI acts on two neighbouring waveguide modes (m, m+1). It is an external phase shifter ``phi`` on the
upper input arm (mode m), a 50:50 directional coupler B = [[1, i], [i, 1]]/sqrt(2), an *internal* phase
shifter ``theta`` on the upper arm between the couplers, and a second coupler B:

    M(theta, phi) = B diag(e^{i theta}, 1) B diag(e^{i phi}, 1)
                  = i e^{i theta/2} [[e^{i phi} sin(theta/2),  cos(theta/2)],
                                     [e^{i phi} cos(theta/2), -sin(theta/2)]]

``theta`` sets the splitting (theta = 0: full cross, theta = pi: bar state), ``phi`` the relative phase.
Both are heater settings in [0, 2*pi); a phase of 0 is a heater switched off.

Mesh
----
A mesh of n modes has n(n-1)/2 MZIs and a diagonal phase screen at its *output*:

    U = diag(e^{i screen}) M_{K-1} ... M_1 M_0,

with MZI 0 met first by the light (light order). :func:`mesh_layout` gives, per MZI, its upper mode and
its column (optical depth position). "clements": rectangular mesh of depth n (Clements et al., Optica 3,
1460 (2016), the nulling order of their Fig. 2 / algorithm); "reck": triangular mesh of depth 2n-3 (Reck et
al., PRL 73, 58 (1994)), nulling each row of U from the right.

Decomposition nulls one matrix element per MZI with a two-row or two-column update (O(n) each, O(n^3) in
all), then commutes the left-side MZIs through the diagonal (Clements Eq. 5 in our convention). Every MZI's
global phase i e^{i theta/2} is carried to the output screen. Degenerate cases are deterministic: when the
element to null is already zero the MZI is set to (theta=0 or pi as required, phi=0); when both elements are
zero, theta = phi = 0 (heaters off). All phases are returned in [0, 2*pi); a phase within 1e-12 rad of 0
(mod 2*pi) is rounding noise of the nulling and is returned as exactly 0, a heater off (``PHASE_SNAP_RAD`` in
``_kernels_common.py``; cost applies the same rule, so -1e-15 never costs 2 P_pi). A pivot entry below 1e-10 is
rounding noise of an exact zero and nulls as one (``PIVOT_ZERO``: structured unitaries, such as the SVD factors of
padded or pruned tiles, meet +-1e-17 midway, whose sign would otherwise pick phi = 0 or pi); other magnitudes are
taken without underflow.

Phase layout of a :class:`MeshPhases`: ``theta`` and ``phi`` are (..., n(n-1)/2) in light order, ``screen``
is (..., n); the batch dimensions ``...`` are those of the input matrices.

Batches and threads: :func:`decompose` and :func:`reconstruct` take one matrix or a stack (..., n, n) (the batched
API: pass a stack rather than looping). One matrix, or a stack below ``PARALLEL_MIN_WORK`` (tiles x n^3), runs on
the calling thread (a single call goes straight to the per-tile kernel); larger stacks run in chunks on up to
numba's thread count (a small Python thread pool of nogil kernels, no ``prange``); stacks of at least
``LANE_MIN_TILES`` meshes of n <= 32 take the lane-batched kernels. Every path gives the same bits (the lane and
per-tile kernels share their arithmetic and trigonometry).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..errors import ConfigError, MappingError
from . import _kernels_common as KC, _kernels_decompose as KD, _kernels_lanes as KL

MESHES = ("clements", "reck")
_MESH_CODE = {"clements": KC.MESH_CLEMENTS, "reck": KC.MESH_RECK}

#: Largest mesh size accepted by decompose/reconstruct (a 1024 x 1024 complex tile is 16 MiB).
MAX_N = 1024


@dataclass(frozen=True)
class MeshPhases:
    """Programmed phases of one or many meshes (radians, each in [0, 2*pi))."""

    mesh: str
    """"clements" or "reck"."""
    n: int
    """Modes per mesh."""
    theta: np.ndarray
    """(..., n(n-1)/2) internal MZI phases, light order (see :func:`mesh_layout`), rad."""
    phi: np.ndarray
    """(..., n(n-1)/2) external MZI phases, rad."""
    screen: np.ndarray
    """(..., n) output phase screen, rad."""

    @property
    def batch_shape(self) -> tuple[int, ...]:
        return tuple(self.screen.shape[:-1])


#: Below this much work (tiles x n^3) a call runs on the calling thread: waking other threads costs more than the
#: arithmetic, and with another process on the machine a parallel call waits for a busy core (measured in
#: BENCHMARKS.md, issue 16). The rule every batched kernel of this package follows (one chunk runs on the calling
#: thread; above it, chunks go to a small thread pool, ``_kernels_common.run_chunks``).
PARALLEL_MIN_WORK = 1 << 21

#: A lane kernel runs LANES tiles per block whatever the batch: below this many tiles (per mesh size, see
#: :func:`_use_lanes`) the per-tile kernels are faster (no lane cliff: one 32 x 32 tile costs a 32 x 32 tile's
#: work, not a block's).
LANE_MIN_TILES = 16


def _use_lanes(t: int, n: int) -> bool:
    """Lane-batched kernels for n <= LANE_MAX_N and batches that fill enough of a block."""
    return n <= KL.LANE_MAX_N and t >= LANE_MIN_TILES


def _chunks(t: int, lanes: bool = False, n: int | None = None) -> int:
    """Number of tile chunks for the batched kernels: 1 (the calling thread) below ``PARALLEL_MIN_WORK`` when
    the mesh size ``n`` is given, else a few per thread for load balance (a lane kernel's unit of work is a block
    of ``_kernels_lanes.LANES`` tiles)."""
    if n is not None and int(t) * int(n) ** 3 < PARALLEL_MIN_WORK:
        return 1
    import numba

    units = -(-int(t) // KL.LANES) if lanes else int(t)
    return max(1, min(units, 4 * numba.get_num_threads()))


def check_mesh(mesh: str) -> str:
    if mesh not in _MESH_CODE:
        raise ConfigError(f"unknown mesh {mesh!r}; choose one of {', '.join(MESHES)}")
    return mesh


@lru_cache(maxsize=64)
def _layout(n: int, mesh: str) -> tuple[np.ndarray, np.ndarray]:
    """(modes, columns), read-only: the upper mode of each MZI in light order (from the nulling schedule the kernels
    run, ``_kernels_common.nulling_schedule``) and its column in the mesh."""
    modes = np.ascontiguousarray(KC.nulling_schedule(n, _MESH_CODE[mesh])[0][:, KC.SCHED_MODE])
    cols = np.empty(modes.shape[0], dtype=np.int64)
    last = np.zeros(n, dtype=np.int64)
    for k, m in enumerate(modes):
        c = max(last[m], last[m + 1])
        cols[k] = c
        last[m] = last[m + 1] = c + 1
    modes.setflags(write=False)
    cols.setflags(write=False)
    return modes, cols


def mesh_layout(n: int, mesh: str = "clements") -> tuple[np.ndarray, np.ndarray]:
    """(modes, columns) of the n(n-1)/2 MZIs in light order: upper mode and column index of each MZI."""
    check_mesh(mesh)
    if int(n) < 2:
        raise ConfigError(f"a mesh needs n >= 2 modes, got {n}")
    return _layout(int(n), mesh)


def mesh_depth(n: int, mesh: str = "clements") -> int:
    """Optical depth in MZI columns: n for Clements, 2n-3 for Reck (both 1 for n = 2)."""
    _, cols = mesh_layout(n, mesh)
    return int(cols.max()) + 1


def wrap_phases(phases: np.ndarray) -> np.ndarray:
    """Phases (radians) wrapped into [0, 2*pi), with the kernels' rule: within ``PHASE_SNAP_RAD`` (1e-12 rad) of 0
    or 2*pi is exactly 0 (heater off). Returns a new float64 array."""
    r = np.mod(np.asarray(phases, dtype=np.float64), 2 * np.pi)
    r[(r < KC.PHASE_SNAP_RAD) | (r >= 2 * np.pi - KC.PHASE_SNAP_RAD)] = 0.0
    return r


def _check_square(U: np.ndarray, what: str) -> None:
    if U.ndim < 2 or U.shape[-1] != U.shape[-2]:
        raise MappingError(f"{what} must be square (..., n, n), got shape {U.shape}")
    n = U.shape[-1]
    if n < 2:
        raise MappingError(f"{what} must be at least 2 x 2, got n = {n}")
    if n > MAX_N:
        raise MappingError(f"{what}: n = {n} exceeds the limit of {MAX_N}")


def unitarity_error(U: np.ndarray) -> float:
    """max |U^H U - I| over a batch (..., n, n)."""
    n = U.shape[-1]
    g = np.conj(np.swapaxes(U, -1, -2)) @ U
    return float(np.max(np.abs(g - np.eye(n)))) if g.size else 0.0


_F64 = np.dtype(np.float64)
_C128 = np.dtype(np.complex128)


def _mesh_phases(mesh: str, n: int, theta: np.ndarray, phi: np.ndarray, screen: np.ndarray) -> MeshPhases:
    """A MeshPhases from checked arrays without the frozen dataclass's __init__ (1.8 us, as much as a 16 x 16
    reconstruction)."""
    p = object.__new__(MeshPhases)
    p.__dict__.update(mesh=mesh, n=n, theta=theta, phi=phi, screen=screen)
    return p


def decompose(U: np.ndarray, mesh: str = "clements", *, atol: float = 1e-9) -> MeshPhases:
    """Phases of the mesh implementing unitary ``U`` (n, n) or a batch (..., n, n).

    Real input is taken as real orthogonal and decomposed with all-real arithmetic (same phases as the
    complex path). Raises MappingError when ``U`` is not square, not finite, or further than ``atol`` from
    unitary; ConfigError for an unknown mesh. The distance is measured on the nulled matrix (a unitary change
    of basis of U): the largest |off-diagonal| or ||d_jj| - 1| left after nulling.
    """
    code = _MESH_CODE.get(mesh)
    if code is None:
        check_mesh(mesh)
    U = np.asarray(U)
    shape = U.shape
    if len(shape) < 2 or shape[-1] != shape[-2] or not 2 <= shape[-1] <= MAX_N:
        _check_square(U, "decompose: U")
    dt = U.dtype
    if dt == _C128:
        cplx = True
    elif dt == _F64:
        cplx = False
    elif dt.kind in "fciub":
        cplx = dt.kind == "c"
        U = U.astype(_C128 if cplx else _F64)
    else:
        raise MappingError(f"decompose: U must be numeric, got dtype {dt}")
    n = shape[-1]
    batch = shape[:-2]
    flat = U.reshape((-1, n, n)) if batch else U[None]
    if not flat.flags.c_contiguous:
        flat = np.ascontiguousarray(flat)
    t = flat.shape[0]
    m = n * (n - 1) // 2
    theta = np.empty((t, m))
    phi = np.empty((t, m))
    screen = np.empty((t, n))
    err = np.empty(t)
    modes = _layout(n, mesh)[0]
    imag = True if cplx else None
    if t == 1:  # one matrix: the per-tile kernel on the calling thread, no driver in between
        sched, n_right = KC.nulling_schedule(n, code)
        KD._decompose_chunk(flat, modes, sched, n_right, theta, phi, screen, err, imag, 0, 1)
        worst = err[0]
    elif t:
        lanes = _use_lanes(t, n)
        if lanes and not np.isfinite(flat).all():  # the per-tile kernels flag NaN / inf themselves (err = NaN)
            raise MappingError("decompose: U holds NaN or inf values")
        (KL.decompose_lanes if lanes else KD.decompose)(flat, modes, code, theta, phi, screen, err,
                                                         _chunks(t, lanes, n), imag)
        worst = err.max()  # NaN (non-finite input) propagates
    else:
        worst = 0.0
    if not worst <= atol:
        if not np.isfinite(flat).all():
            raise MappingError("decompose: U holds NaN or inf values")
        i = int(np.argmax(err))
        where = f" (matrix {np.unravel_index(i, batch)})" if batch else ""
        raise MappingError(f"decompose: U is not unitary{where}: distance {float(worst):.3g} > atol = {atol:g} "
                           "(largest off-diagonal or |1 - |diagonal|| after nulling)")
    if batch:
        return _mesh_phases(mesh, n, theta.reshape(batch + (m,)), phi.reshape(batch + (m,)),
                            screen.reshape(batch + (n,)))
    return _mesh_phases(mesh, n, theta[0], phi[0], screen[0])


def _phase_array(p: MeshPhases, name: str) -> np.ndarray:
    a = getattr(p, name)
    if type(a) is not np.ndarray or a.dtype != _F64:
        a = np.asarray(a)
        if a.dtype.kind not in "fiub":  # a complex phase would lose its imaginary part silently
            raise MappingError(f"reconstruct: {name} must be real phases (rad), got dtype {a.dtype}")
        a = a.astype(_F64)
    return a


def _check_phases(p: MeshPhases) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The phases as float64 arrays, shapes and dtypes checked (finiteness is checked by the kernels)."""
    if p.mesh not in _MESH_CODE:
        check_mesh(p.mesh)
    n = p.n
    if not 2 <= n <= MAX_N:
        raise MappingError(f"reconstruct: n must lie in [2, {MAX_N}], got {n}")
    theta, phi, screen = _phase_array(p, "theta"), _phase_array(p, "phi"), _phase_array(p, "screen")
    m = n * (n - 1) // 2
    batch = screen.shape[:-1]
    if screen.shape[-1:] != (n,) or theta.shape != batch + (m,) or phi.shape != batch + (m,):
        raise MappingError(f"reconstruct: phase shapes theta {theta.shape}, phi {phi.shape}, screen "
                           f"{screen.shape} do not fit n = {n} (expected (..., {m}), (..., {m}), (..., {n}))")
    return theta, phi, screen


def _check_finite_phases(theta: np.ndarray, phi: np.ndarray, screen: np.ndarray) -> None:
    for name, a in (("theta", theta), ("phi", phi), ("screen", screen)):
        if not np.isfinite(a).all():
            raise MappingError(f"reconstruct: {name} holds NaN or inf values")


def _tiles(a: np.ndarray, t: int, k: int) -> np.ndarray:
    """``a`` as a C-contiguous (t, k) array (a view when it already is one)."""
    a = a.reshape((t, k)) if a.ndim != 1 else a[None]
    return a if a.flags.c_contiguous else np.ascontiguousarray(a)


def reconstruct(phases: MeshPhases) -> np.ndarray:
    """The complex unitary (..., n, n) a mesh with these phases implements (any real phases accepted)."""
    theta, phi, screen = _check_phases(phases)
    n = int(phases.n)
    batch = screen.shape[:-1]
    m = n * (n - 1) // 2
    t = math.prod(batch) if batch else 1
    out = np.empty((t, n, n), dtype=np.complex128)
    if t:
        modes = _layout(n, phases.mesh)[0]
        th, ph, sc = _tiles(theta, t, m), _tiles(phi, t, m), _tiles(screen, t, n)
        if t == 1:  # one matrix: the per-tile kernel on the calling thread, no driver in between
            bad = KD._reconstruct_chunk(th, ph, sc, modes, out, 0, 1)
        else:
            lanes = _use_lanes(t, n)
            bad = (KL.reconstruct_lanes if lanes else KD.reconstruct)(th, ph, sc, modes, out, _chunks(t, lanes, n))
        if bad:  # a NaN or inf phase makes its rows of the output NaN
            _check_finite_phases(theta, phi, screen)
    return out.reshape(batch + (n, n)) if batch else out[0]


def haar_unitary(n: int, size: int, seed: int | np.random.Generator = 0) -> np.ndarray:
    """``size`` Haar-random n x n unitaries, shape (size, n, n): QR of a complex Ginibre matrix with the phases
    of R's diagonal moved into Q (Mezzadri, Notices AMS 54, 592 (2007))."""
    rng = np.random.default_rng(seed)
    z = (rng.standard_normal((size, n, n)) + 1j * rng.standard_normal((size, n, n))) / np.sqrt(2)
    q, r = np.linalg.qr(z)
    d = np.diagonal(r, axis1=-2, axis2=-1)
    return q * (d / np.abs(d))[:, None, :]

