"""Map weight matrices onto K x K SVD tiles of MZI meshes ([Shen17] architecture), streaming layer by layer.

Each non-zero K x K tile B of W (zero padded at the edges) is factored B = U S V^T (real SVD). V^T is
programmed on the input mesh, S / s_max on a column of K attenuating MZIs, U on the output mesh, and the
largest singular value s_max is a per-tile electronic gain (assumption: applied to the detected signal).
All-zero tiles are not allocated.

Per-tile phase layout (one row of ``LayerMapping.phases``, M = K(K-1)/2, every phase in [0, 2*pi)):

====================  =======================  ==============================================
slice                 content                  notes
====================  =======================  ==============================================
[0, M)                V mesh theta (internal)  light order of :func:`hwsim.photonic.mesh_layout`
[M, 2M)               V mesh phi (external)
[2M, 2M+K)            V output screen          includes -(theta_att/2 + pi/2) of the attenuators
[2M+K, 2M+2K)         attenuator theta         amplitude transmission sin(theta/2) = s_i / s_max
[2M+2K, 3M+2K)        U mesh theta
[3M+2K, 4M+2K)        U mesh phi
[4M+2K, 4M+3K)        U output screen
====================  =======================  ==============================================

The attenuator MZIs use their internal heater only (external phase fixed at 0): their output phase
theta/2 + pi/2 is folded into the V screen just before them, so no extra heater is spent on it. Every entry
of this layout is a heater; a phase of 0 is a heater that is off.

Tiles are processed in chunks (SVD + two batched decompositions per chunk), and only phases are kept, so
VGG-16 (about 540k tiles at K = 16) maps within a few GB. The chunks run on worker threads (numba's thread count)
while the caller's thread generates the weights and gathers the next chunks (:class:`_Pipeline`). The SVD is the
lane-batched Jacobi SVD of :mod:`._svd` in its canonical form (:func:`tile_svd`): the phases depend on the signs and
null-space bases an SVD routine picks, and the canonical form fixes them from the tile alone.
"""
from __future__ import annotations

import math
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import numpy as np

from ..errors import ConfigError, MappingError
from ..workload import iter_matrix_layers
from . import _kernels_common as KC, _kernels_decompose as KD, _kernels_lanes as KL, _kernels_tiles as KT, _svd as SV
from .config import PhotonicConfig
from .mesh import _chunks, _layout, mesh_depth, wrap_phases

#: Tiles per SVD/decomposition chunk, the unit of work of the mapper's worker threads (bounds the transient tiles,
#: U, V, S memory: 2048 x 16 x 16 x 8 B = 4 MiB each).
CHUNK_TILES = 2048


def phase_slices(k: int) -> dict[str, slice]:
    """Named slices of one tile's phase row (see the module docstring)."""
    m = k * (k - 1) // 2
    return {"v_theta": slice(0, m), "v_phi": slice(m, 2 * m), "v_screen": slice(2 * m, 2 * m + k),
            "sigma": slice(2 * m + k, 2 * m + 2 * k), "u_theta": slice(2 * m + 2 * k, 3 * m + 2 * k),
            "u_phi": slice(3 * m + 2 * k, 4 * m + 2 * k), "u_screen": slice(4 * m + 2 * k, 4 * m + 3 * k)}


def phases_per_tile(k: int) -> int:
    """Programmed phases (= heaters) per tile: 2K(K-1) mesh phases + 2K screen phases + K attenuators."""
    return 2 * k * (k - 1) + 3 * k


@dataclass(frozen=True, eq=False)
class LayerMapping:
    """One weight matrix on photonic tiles."""

    name: str
    shape: tuple[int, int]
    """(out_features, in_features) of W."""
    mvms_per_inference: int
    tile: int
    """K."""
    mesh: str
    grid: tuple[int, int]
    """(ceil(out/K), ceil(in/K)) tile grid, allocated or not."""
    tile_rows: np.ndarray
    """(T,) int64 tile-row index (output block) of each allocated tile."""
    tile_cols: np.ndarray
    """(T,) int64 tile-column index (input block)."""
    phases: np.ndarray
    """(T, 2K(K-1)+3K) float64 programmed phases, rad (layout in the module docstring)."""
    gains: np.ndarray
    """(T,) float64 per-tile gain = largest singular value of the tile."""
    reference_phases: np.ndarray | None = None
    """Phases as first mapped (before any pruning), for :func:`matrix_error`; None means ``phases``."""
    offsets: np.ndarray | None = None
    """(T, P) fabrication phase offsets of the shifters each phase is programmed on, rad (None = all 0; see
    :mod:`hwsim.photonic.offsets`): a heater is off when its phase equals its offset."""

    @property
    def tiles(self) -> int:
        return int(self.phases.shape[0])

    def off_phases(self) -> np.ndarray:
        """(T, P) the phase of every heater when switched off: its offset (0 on an ideal chip), rad."""
        return np.zeros_like(self.phases) if self.offsets is None else self.offsets

    def drive(self, phases: np.ndarray | None = None) -> np.ndarray:
        """(T, P) heater drive wrap(phase - offset) in [0, 2pi) of ``phases`` (default: the layer's), rad."""
        from .offsets import drive

        return drive(self.phases if phases is None else phases, self.offsets)

    @property
    def reference(self) -> np.ndarray:
        return self.phases if self.reference_phases is None else self.reference_phases

    def active_inputs(self) -> np.ndarray:
        """(T,) unpadded input columns of each tile."""
        return np.minimum(self.tile, self.shape[1] - self.tile_cols * self.tile)

    def active_outputs(self) -> np.ndarray:
        """(T,) unpadded output rows of each tile."""
        return np.minimum(self.tile, self.shape[0] - self.tile_rows * self.tile)


@dataclass(frozen=True, eq=False)
class PhotonicMapping:
    """A network mapped onto photonic tiles."""

    config: PhotonicConfig
    layers: tuple[LayerMapping, ...]
    network: Any = field(default=None, repr=False)
    """The :class:`hwsim.nn.Network` mapped (None for shape-only networks or bare matrices); ``run`` needs it."""

    @property
    def tiles(self) -> int:
        return int(sum(l.tiles for l in self.layers))


class _Pipeline:
    """Worker threads that SVD and decompose chunks of tiles while the caller's thread generates weights and gathers
    the next chunks (issue 16).

    A chunk's work (the lane-batched Jacobi SVD or LAPACK's, then two batched decompositions) is numba ``nogil`` or
    LAPACK code that releases the GIL, so ``workers`` chunks run at once; at most ``depth`` chunks are queued, which
    bounds the transient tiles and U, S, V^T memory. Each worker runs its kernels on one thread (numba's thread count
    is per calling thread): the parallelism is across chunks.
    """

    def __init__(self, workers: int | None = None, depth: int | None = None) -> None:
        import numba

        self.workers = max(1, numba.get_num_threads() if workers is None else int(workers))
        self.depth = self.workers + 1 if depth is None else depth
        self.pending: deque[Future] = deque()
        self.ex = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="hwsim-photonic-map",
                                     initializer=numba.set_num_threads, initargs=(1,))

    def submit(self, fn, *args) -> Future:
        while len(self.pending) >= self.depth:
            self.pending.popleft().result()
        fut = self.ex.submit(fn, *args)
        self.pending.append(fut)
        return fut

    def close(self, cancel: bool) -> None:
        self.ex.shutdown(wait=True, cancel_futures=cancel)


def tile_svd(B: np.ndarray, signs: str = "canonical") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(U, S, Vt) of a stack of K x K float64 tiles B (T, K, K) in the canonical form of :mod:`._svd` (signs, and
    bases of repeated and zero singular values, fixed by the tile alone). Stacks of at least
    ``_svd.JACOBI_MIN_TILES`` tiles of K <= ``_svd.JACOBI_MAX_K``: the lane-batched Jacobi SVD (LAPACK's if it did
    not converge); otherwise LAPACK's. Either way the same canonical factors to ~1e-13. ``signs`` "lapack"
    (``mesh.svd_signs``): LAPACK's factors as it returns them."""
    if signs == "lapack":
        return np.linalg.svd(B)
    if B.shape[1] <= SV.JACOBI_MAX_K and B.shape[0] >= SV.JACOBI_MIN_TILES:
        U, S, Vt, sweeps = SV.svd_tiles(np.ascontiguousarray(B, dtype=np.float64))
        if sweeps > SV.MAX_SWEEPS:
            U, S, Vt = np.linalg.svd(B)
    else:
        U, S, Vt = np.linalg.svd(B)
    SV.canonicalize(U, S, Vt)
    return U, S, Vt


def _finish_chunk(name: str, k: int, code: int, modes: np.ndarray, B: np.ndarray, out: np.ndarray,
                  gains: np.ndarray, signs: str) -> None:
    """SVD one chunk of tiles B and decompose its factors into its rows of the phase table (``out``) and ``gains``."""
    u, s, vt = tile_svd(B, signs)
    m = k * (k - 1) // 2
    n = u.shape[0]
    sl = phase_slices(k)
    # lanes for every K <= 32, even for a layer of a few tiles (bit-identical either way): one kernel family to
    # compile per command (the per-tile one would add ~2.5 s of cold start for <= 0.2 ms saved per layer)
    lanes = k <= KL.LANE_MAX_N
    dec = KL.decompose_lanes if lanes else KD.decompose
    g = s[:, 0]
    gains[:] = g
    ratio = np.clip(s / g[:, None], 0.0, 1.0)
    th_att = 2.0 * np.arcsin(ratio)
    th = np.empty((n, m))
    ph = np.empty((n, m))
    sc = np.empty((n, k))
    err = np.empty(n)
    dec(np.ascontiguousarray(vt), modes, code, th, ph, sc, err, _chunks(n, lanes, k), None)  # None: real path
    _check_err(err, name)
    out[:, sl["v_theta"]] = th
    out[:, sl["v_phi"]] = ph
    # (every other phase is already wrapped by the kernels; theta and the attenuators lie in [0, pi])
    out[:, sl["v_screen"]] = wrap_phases(sc - (0.5 * th_att + 0.5 * math.pi))
    out[:, sl["sigma"]] = th_att
    dec(np.ascontiguousarray(u), modes, code, th, ph, sc, err, _chunks(n, lanes, k), None)
    _check_err(err, name)
    out[:, sl["u_theta"]] = th
    out[:, sl["u_phi"]] = ph
    out[:, sl["u_screen"]] = sc


def _map_layer(name: str, w: np.ndarray, mvms: int, cfg: PhotonicConfig,
               pipe: _Pipeline) -> Callable[[], LayerMapping]:
    """Gather the layer's tiles chunk by chunk and queue their SVDs and decompositions on ``pipe``; returns a
    function that waits for them and builds the LayerMapping."""
    k = cfg.mesh.tile
    mesh = cfg.mesh.mesh
    nz = KT.tile_nonzero(w, k)
    tr, tc = np.nonzero(nz)
    tr = tr.astype(np.int64)
    tc = tc.astype(np.int64)
    t_total = tr.shape[0]
    phases = np.empty((t_total, phases_per_tile(k)))
    gains = np.empty(t_total)
    modes, _ = _layout(k, mesh)
    code = KC.MESH_CLEMENTS if mesh == "clements" else KC.MESH_RECK
    futures = []
    for c0 in range(0, t_total, CHUNK_TILES):
        c1 = min(t_total, c0 + CHUNK_TILES)
        B = np.empty((c1 - c0, k, k))
        KT.gather_tiles(w, k, tr[c0:c1], tc[c0:c1], B)
        futures.append(pipe.submit(_finish_chunk, name, k, code, modes, B, phases[c0:c1], gains[c0:c1],
                                   cfg.mesh.svd_signs))
    shape = (int(w.shape[0]), int(w.shape[1]))
    grid = (int(nz.shape[0]), int(nz.shape[1]))

    def finish() -> LayerMapping:
        for f in futures:
            f.result()
        return LayerMapping(name, shape, int(mvms), k, mesh, grid, tr, tc, phases, gains)

    return finish


def _check_err(err: np.ndarray, name: str) -> None:
    worst = float(err.max()) if err.size else 0.0
    if not worst <= 1e-9:  # SVD factors are orthogonal to ~1e-15; anything else is a numerical failure
        raise MappingError(f"layer {name!r}: SVD factor not orthogonal to 1e-9 (distance {worst:.3g})")


def map(source: Any, config: PhotonicConfig | None = None) -> PhotonicMapping:  # noqa: A001 - API name
    """Map every weighted layer of ``source`` (anything :func:`hwsim.iter_matrix_layers` takes).

    Layers are consumed one at a time (shape-only networks stream), and only phases and gains are kept.
    When ``source`` is a :class:`hwsim.nn.Network` it is kept for :func:`hwsim.photonic.run`.
    """
    cfg = config if config is not None else PhotonicConfig(preset="harris2014")
    if not isinstance(cfg, PhotonicConfig):
        raise ConfigError(f"config must be a PhotonicConfig, got {type(cfg).__name__}")
    layers = []
    pipe = _Pipeline()
    ok = False
    try:
        prev = None  # the previous layer finishes while this one is gathered and SVD'd
        for layer in iter_matrix_layers(source):
            fin = _map_layer(layer.name, layer.weight, layer.mvms_per_inference, cfg, pipe)
            if prev is not None:
                layers.append(prev())
            prev = fin
        if prev is not None:
            layers.append(prev())
        ok = True
    finally:
        pipe.close(cancel=not ok)
    layers = with_offsets(layers, cfg)
    network = source if hasattr(source, "forward") and hasattr(source, "weighted_layers") else None
    return PhotonicMapping(cfg, tuple(layers), network)


def with_offsets(layers: Any, cfg: PhotonicConfig) -> list[LayerMapping]:
    """``layers`` with their fabrication offsets (:func:`hwsim.photonic.offsets.layer_offsets`) under ``cfg``."""
    from dataclasses import replace

    from .offsets import layer_offsets

    out = []
    for i, l in enumerate(layers):
        off = layer_offsets(cfg, i, l.tiles, l.phases.shape[1])
        out.append(l if off is None and l.offsets is None else replace(l, offsets=off))
    return out


def layer_counts(layer: LayerMapping, push_pull: bool = False) -> dict[str, float]:
    """Action and inventory counts of one layer (per inference where they are actions).

    tiles, mzis (mesh MZIs + attenuators), phase_shifters (= heaters), heaters_on (phase != 0),
    heater_pi_units (sum of phi/pi, or |phi|/pi for push-pull; times P_pi gives the static power),
    optical_depth (MZI columns on the light path through V, attenuators and U), mvms,
    dac_conversions and adc_conversions (unpadded inputs / outputs of every tile, per MVM x MVMs),
    tile_mvms (laser on-time units: tiles x MVMs).
    """
    k = layer.tile
    t = layer.tiles
    ph = layer.phases if layer.offsets is None else layer.drive()
    pi_units, on = KT.heater_power_sum(ph, push_pull) if t else (0.0, 0)
    mvms = layer.mvms_per_inference
    return {
        "tiles": t,
        "mzis": t * (k * (k - 1) + k),
        "phase_shifters": t * phases_per_tile(k),
        "heaters_on": int(on),
        "heater_pi_units": float(pi_units),
        "optical_depth": 2 * mesh_depth(k, layer.mesh) + 1,
        "mvms": mvms,
        "dac_conversions": mvms * int(layer.active_inputs().sum()),
        "adc_conversions": mvms * int(layer.active_outputs().sum()),
        "tile_mvms": mvms * t,
    }


def iter_layer_tiles(layer: LayerMapping, phases: np.ndarray | None = None, kappa: np.ndarray | None = None,
                     chunk: int = CHUNK_TILES, gains: np.ndarray | None = None) -> Iterator[tuple[slice, np.ndarray]]:
    """Yield (tile slice, real tile matrices (n, K, K)) reconstructed from ``phases`` (rad) and ``gains``
    (default: the layer's)."""
    k = layer.tile
    ph = layer.phases if phases is None else phases
    g = layer.gains if gains is None else gains
    modes, _ = _layout(k, layer.mesh)
    m = k * (k - 1) // 2
    ncoup = 4 * m + 2 * k
    for c0 in range(0, layer.tiles, chunk):
        c1 = min(layer.tiles, c0 + chunk)
        kap = np.full((c1 - c0, ncoup), 0.5) if kappa is None else np.ascontiguousarray(kappa[c0:c1])
        out = np.empty((c1 - c0, k, k))
        KT.tiles_forward(np.ascontiguousarray(ph[c0:c1], dtype=np.float64),
                         np.ascontiguousarray(g[c0:c1], dtype=np.float64), kap, modes, k, out,
                         _chunks(c1 - c0, False, k))
        yield slice(c0, c1), out


def layer_matrix(layer: LayerMapping, phases: np.ndarray | None = None, kappa: np.ndarray | None = None,
                 gains: np.ndarray | None = None) -> np.ndarray:
    """The (out, in) float64 matrix the layer's meshes implement with ``phases`` (T, P) rad, coupler
    cross-powers ``kappa`` (T, 4M+2K) (default: ideal 0.5) and per-tile ``gains`` (T,) (defaults: as mapped)."""
    w = np.zeros(layer.shape)
    for sl, tiles in iter_layer_tiles(layer, phases, kappa, gains=gains):
        KT.scatter_tiles(tiles, layer.tile, layer.tile_rows[sl], layer.tile_cols[sl], w)
    return w


def layer_tiles(layer: LayerMapping, w: np.ndarray) -> np.ndarray:
    """(T, K, K) float64 blocks of an (out, in) matrix ``w`` at the layer's allocated tiles, zero padded at the
    edge (the inverse of the scatter in :func:`layer_matrix`; e.g. dL/dW cut into per-tile gradients)."""
    k = layer.tile
    out = np.empty((layer.tiles, k, k))
    KT.gather_tiles(np.ascontiguousarray(w, dtype=np.float64), k, layer.tile_rows, layer.tile_cols, out)
    return out


def tiles_matrix(layer: LayerMapping, tiles: np.ndarray) -> np.ndarray:
    """The (out, in) float64 matrix with the (T, K, K) ``tiles`` at the layer's allocated tiles (cropped at the
    edge, zero elsewhere): the inverse of :func:`layer_tiles`."""
    w = np.zeros(layer.shape)
    KT.scatter_tiles(np.ascontiguousarray(tiles, dtype=np.float64), layer.tile, layer.tile_rows, layer.tile_cols, w)
    return w
