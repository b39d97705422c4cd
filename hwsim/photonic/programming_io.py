"""Saving and loading a programmed photonic chip: every tile's phases (rad) and gain, plus the digital biases.

Phase-domain pruning and phase fine-tuning (:mod:`hwsim.prune.photonic_phases`) produce phases that no weight
matrix maps to (heaters switched off, phases trained through the meshes), so a weights ``.npz`` cannot carry
their result. A *programming file* can: ``hwsim cost --hardware photonic --phases FILE.npz`` prices it and
``hwsim evaluate --hardware photonic --model NAME --phases FILE.npz`` measures its accuracy.

Format (``.npz``, compressed, no pickles): ``__hwsim__`` holds UTF-8 JSON bytes (uint8) with ``format``
("hwsim.photonic.programming"), ``version`` (1), the resolved ``config`` (``config_to_dict``) and one entry per
layer (``name``, ``shape`` (out, in), ``mvms_per_inference``, ``tile``, ``mesh``, ``grid``); then per layer i the
arrays ``layer{i}.tile_rows``, ``layer{i}.tile_cols`` (int64, (T,)), ``layer{i}.phases`` (float64,
(T, 2K(K-1)+3K), rad) and ``layer{i}.gains`` (float64, (T,)), and, when the mapping has a network,
``layer{i}.bias`` (float, (out,)). Loading validates every field and array (:class:`DataError` otherwise).
"""
from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic_io import atomic_open
from ..errors import ConfigError, DataError
from ..config import merge_dataclass
from ..weights_io import read_npz_arrays
from ..workload import iter_matrix_layers
from .config import PhotonicConfig, config_to_dict
from .mapping import LayerMapping, PhotonicMapping, phases_per_tile, with_offsets
from .mesh import check_mesh, wrap_phases

FORMAT = "hwsim.photonic.programming"
VERSION = 1
_META = "__hwsim__"


def save_programming(mapping: PhotonicMapping, path: str | Path) -> Path:
    """Write ``mapping``'s programmed phases, gains, layout, configuration and biases to ``path`` (.npz)."""
    if not isinstance(mapping, PhotonicMapping):
        raise ConfigError(f"save_programming needs a PhotonicMapping, got {type(mapping).__name__}")
    biases = None
    if mapping.network is not None:
        biases = [l.bias for l in mapping.network.weighted_layers()]
        if len(biases) != len(mapping.layers):
            raise ConfigError(f"the mapping's network has {len(biases)} weighted layers for {len(mapping.layers)} "
                              "mapped layers")
    meta = {"format": FORMAT, "version": VERSION, "config": config_to_dict(mapping.config),
            "layers": [{"name": l.name, "shape": list(l.shape), "mvms_per_inference": int(l.mvms_per_inference),
                        "tile": int(l.tile), "mesh": l.mesh, "grid": list(l.grid)} for l in mapping.layers]}
    arrays: dict[str, np.ndarray] = {_META: np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)}
    for i, l in enumerate(mapping.layers):
        arrays[f"layer{i}.tile_rows"] = np.asarray(l.tile_rows, dtype=np.int64)
        arrays[f"layer{i}.tile_cols"] = np.asarray(l.tile_cols, dtype=np.int64)
        arrays[f"layer{i}.phases"] = np.asarray(l.phases, dtype=np.float64)
        arrays[f"layer{i}.gains"] = np.asarray(l.gains, dtype=np.float64)
        if biases is not None:
            arrays[f"layer{i}.bias"] = np.asarray(biases[i])
    p = Path(path)
    if p.suffix != ".npz":
        p = p.with_name(p.name + ".npz")
    with atomic_open(p) as f:  # an interrupt leaves the old file intact or the new one whole
        np.savez_compressed(f, **arrays)
    return p


def _meta(arrays: dict[str, np.ndarray], where: str) -> dict[str, Any]:
    raw = arrays.get(_META)
    if raw is None or raw.dtype != np.uint8 or raw.ndim != 1:
        raise DataError(f"{where}: not an hwsim photonic programming file (no {_META!r} metadata; a weights .npz "
                        "goes to --weights)")
    try:
        meta = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{where}: metadata is not valid JSON: {exc}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise DataError(f"{where}: metadata format is not {FORMAT!r}")
    if meta.get("version") != VERSION:
        raise DataError(f"{where}: unsupported programming file version {meta.get('version')!r} (this hwsim reads "
                        f"version {VERSION})")
    if not isinstance(meta.get("config"), dict) or not isinstance(meta.get("layers"), list):
        raise DataError(f"{where}: metadata needs a 'config' table and a 'layers' list")
    return meta


def _int_pair(v: Any, what: str) -> tuple[int, int]:
    if (not isinstance(v, list) or len(v) != 2 or not all(isinstance(x, int) and not isinstance(x, bool) for x in v)
            or min(v) < 1):
        raise DataError(f"{what} must be two positive integers, got {v!r}")
    return int(v[0]), int(v[1])


def _array(arrays: dict[str, np.ndarray], key: str, kind: str, shape: tuple[int, ...], where: str) -> np.ndarray:
    a = arrays.get(key)
    if a is None:
        raise DataError(f"{where}: array {key!r} is missing")
    if a.dtype.kind not in kind or a.shape != shape:
        raise DataError(f"{where}: array {key!r} must be {'integer' if kind == 'iu' else 'float'} of shape {shape}, "
                        f"got {a.dtype} {a.shape}")
    if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
        raise DataError(f"{where}: array {key!r} holds NaN or inf values")
    return a


def _layer(arrays: dict[str, np.ndarray], i: int, entry: Any, where: str) -> LayerMapping:
    w = f"{where}: layer {i}"
    if not isinstance(entry, dict):
        raise DataError(f"{w}: metadata entry must be a table")
    name, mesh, k, mvms = entry.get("name"), entry.get("mesh"), entry.get("tile"), entry.get("mvms_per_inference")
    if not isinstance(name, str) or not isinstance(mesh, str):
        raise DataError(f"{w}: 'name' and 'mesh' must be strings")
    try:
        check_mesh(mesh)
    except ConfigError as exc:
        raise DataError(f"{w}: {exc}") from None
    if not isinstance(k, int) or isinstance(k, bool) or not 2 <= k <= 1024:
        raise DataError(f"{w}: tile K must be an integer in [2, 1024], got {k!r}")
    if not isinstance(mvms, int) or isinstance(mvms, bool) or mvms < 1:
        raise DataError(f"{w}: mvms_per_inference must be a positive integer, got {mvms!r}")
    shape = _int_pair(entry.get("shape"), f"{w}: shape")
    grid = _int_pair(entry.get("grid"), f"{w}: grid")
    if grid != (math.ceil(shape[0] / k), math.ceil(shape[1] / k)):
        raise DataError(f"{w}: grid {grid} does not fit shape {shape} with K = {k}")
    rows = arrays.get(f"layer{i}.tile_rows")
    t = 0 if rows is None or rows.ndim != 1 else rows.shape[0]
    if t > grid[0] * grid[1]:
        raise DataError(f"{w}: {t} tiles do not fit a {grid[0]} x {grid[1]} grid")
    rows = _array(arrays, f"layer{i}.tile_rows", "iu", (t,), where)
    cols = _array(arrays, f"layer{i}.tile_cols", "iu", (t,), where)
    if t and (rows.min() < 0 or rows.max() >= grid[0] or cols.min() < 0 or cols.max() >= grid[1]):
        raise DataError(f"{w}: tile indices outside the {grid[0]} x {grid[1]} grid")
    if np.unique(rows.astype(np.int64) * grid[1] + cols).size != t:
        raise DataError(f"{w}: a tile position appears twice")
    phases = _array(arrays, f"layer{i}.phases", "f", (t, phases_per_tile(k)), where)
    gains = _array(arrays, f"layer{i}.gains", "f", (t,), where)
    if t and gains.min() < 0:
        raise DataError(f"{w}: tile gains must be >= 0")
    return LayerMapping(name=name, shape=shape, mvms_per_inference=int(mvms), tile=int(k), mesh=mesh, grid=grid,
                        tile_rows=rows.astype(np.int64), tile_cols=cols.astype(np.int64),
                        phases=wrap_phases(phases), gains=gains.astype(np.float64))


def load_programming(path: str | Path, network: Any = None) -> PhotonicMapping:
    """The :class:`PhotonicMapping` saved by :func:`save_programming`.

    ``network`` (an :class:`hwsim.nn.Network` of the same architecture, e.g. ``models.get(name)``) makes the
    mapping runnable: its weighted layers must have the saved shapes, and a copy of it receives the saved biases
    (its weights are not used: the meshes compute the layers). Without it the mapping can be costed only.
    """
    p = Path(path)
    where = f"programming file {str(p)!r}"
    arrays = dict(read_npz_arrays(p, "programming file"))
    meta = _meta(arrays, where)
    cfg_dict = dict(meta["config"])
    if "chip" not in cfg_dict:  # written before the chip level (issue 11): every tile was its own mesh pair
        cfg_dict["chip"] = {"mode": "weight_stationary"}
    preset = cfg_dict.pop("preset", None)
    try:
        cfg = merge_dataclass(PhotonicConfig(), cfg_dict, "")
        cfg = dataclasses.replace(cfg, preset=preset if isinstance(preset, str) else None)
    except ConfigError as exc:
        raise DataError(f"{where}: bad configuration: {exc}") from None
    layers = tuple(_layer(arrays, i, e, where) for i, e in enumerate(meta["layers"]))
    layers = tuple(with_offsets(layers, cfg))  # the chip's fabrication offsets follow from its configuration
    for l in layers:
        if l.tile != cfg.mesh.tile or l.mesh != cfg.mesh.mesh:
            raise DataError(f"{where}: layer {l.name!r} (K = {l.tile}, {l.mesh}) disagrees with the configuration "
                            f"(K = {cfg.mesh.tile}, {cfg.mesh.mesh})")
    known = {_META} | {f"layer{i}.{s}" for i in range(len(layers))
                       for s in ("tile_rows", "tile_cols", "phases", "gains", "bias")}
    extra = sorted(set(arrays) - known)
    if extra:
        raise DataError(f"{where}: unexpected arrays {extra}")
    net = None
    if network is not None:
        matrices = list(iter_matrix_layers(network))
        if [m.weight.shape for m in matrices] != [l.shape for l in layers]:
            raise DataError(f"{where}: layer shapes {[l.shape for l in layers]} do not match the network's "
                            f"{[m.weight.shape for m in matrices]}")
        net = network.copy()
        for i, (wl, l) in enumerate(zip(net.weighted_layers(), layers)):
            b = arrays.get(f"layer{i}.bias")
            if b is None:
                raise DataError(f"{where}: no biases saved (the chip was saved without a network): cannot run it")
            wl.bias = _array(arrays, f"layer{i}.bias", "f", (l.shape[0],), where).astype(wl.bias.dtype)
    return PhotonicMapping(config=cfg, layers=layers, network=net)
