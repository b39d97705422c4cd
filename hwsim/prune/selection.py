"""Selection: turn per-layer scores into boolean masks (True = kept) at a target sparsity.

Sparsity is the fraction of *weights* pruned: per layer (``scope="layer"``; a float for every layer or one
per layer) or over all weights of the network (``scope="global"``). Weights already pruned by ``masks`` stay
pruned and count towards the target, which is what iterative and gradual schedules need. ``support`` (one bool
array per layer, :func:`hwsim.nn.graph.supports`) marks where a matrix holds real weights: the structural zeros
between the groups of a grouped convolution's block-diagonal matrix are neither weights nor pruned ones, so they
count in no total and are never selected.

Structures (``structure=``), all in the (out, in) coordinates of a layer's weight matrix:

* ``unstructured`` -- single weights.
* ``neuron`` (alias ``filter``) -- whole output rows: a dense layer's output neuron, a convolution's filter.
  The last layer's rows (the class logits) are protected unless ``protect_output=False``.
* ``input`` -- whole input columns (an input feature; a crossbar wordline across the whole layer).
* ``block`` -- aligned ``block=(b_out, b_in)`` blocks starting at (0, 0); the last block of a dimension may
  be partial. A block larger than a layer is an error.
* ``xbar_tiles`` / ``xbar_rows`` / ``xbar_cols`` -- crossbar-aligned groups for a tile geometry
  ``tile=(outputs_per_tile, inputs_per_tile)``: a whole tile, the part of one input (crossbar row =
  wordline) inside one tile, or the part of one output (its bitline columns) inside one tile. Tiles are
  clipped to small layers (a partial tile is still one crossbar). A back-end's tile geometry is its
  ``pruning_unit(config)`` (:mod:`hwsim.backend`).
* ``nm`` -- N:M: in every run of ``m`` consecutive weights along the input dimension keep the ``n`` best
  (Mishra et al. 2021, NVIDIA Ampere 2:4); the sparsity is 1 - n/m.

Group scores are the mean score of the group's still-kept weights times their fraction (i.e. the sum of
kept scores over the group size). Groups are pruned in ascending score order (stable: ties broken by
position; single weights use an O(n) partial selection whose ties at the threshold are broken
deterministically but not by position) until at least the target number of weights is pruned, so structured selection may overshoot
the target by less than one group. Every layer keeps at least one group, so no layer is ever disconnected
(layer collapse, Tanaka et al., NeurIPS 2020), which also keeps the achieved sparsity below 1.
"""
from __future__ import annotations

from typing import Optional, Sequence, Union

import numpy as np

from ..errors import ConfigError, DataError

STRUCTURES = ("unstructured", "neuron", "filter", "input", "block", "xbar_tiles", "xbar_rows", "xbar_cols", "nm")
SCOPES = ("layer", "global")

Sparsity = Union[float, Sequence[float]]
Block = Union[tuple[int, int], Sequence[tuple[int, int]]]


def check_sparsity(s: object, what: str = "sparsity") -> float:
    """``s`` as a float in [0, 1) or :class:`ConfigError`."""
    if isinstance(s, (bool, np.bool_)) or not isinstance(s, (int, float, np.integer, np.floating)):
        raise ConfigError(f"{what} must be a number in [0, 1), got {s!r}")
    f = float(s)
    if not (0.0 <= f < 1.0):
        raise ConfigError(f"{what} must lie in [0, 1), got {s!r}")
    return f


def check_masks(masks: Optional[Sequence[np.ndarray]], shapes: Sequence[tuple[int, int]]) -> list[np.ndarray]:
    """Masks as bool arrays of the given shapes (all True when None); :class:`ConfigError` on a mismatch."""
    if masks is None:
        return [np.ones(s, dtype=bool) for s in shapes]
    masks = list(masks)
    if len(masks) != len(shapes):
        raise ConfigError(f"got {len(masks)} masks for {len(shapes)} layers")
    out = []
    for i, (m, s) in enumerate(zip(masks, shapes)):
        m = np.asarray(m)
        if m.shape != tuple(s):
            raise ConfigError(f"mask {i} has shape {m.shape}, the layer's weight matrix is {tuple(s)}")
        if m.dtype != bool and not (m.dtype.kind in "iu" and np.all((m == 0) | (m == 1))):
            raise ConfigError(f"mask {i} must be boolean (or 0/1 integers), got dtype {m.dtype}")
        out.append(m.astype(bool))
    return out


#: Largest score magnitude: an infinite score becomes +-SCORE_MAX, finite and summable over any group.
SCORE_MAX = float(np.finfo(np.float64).max) / 2.0**40


def _check_scores(scores: Sequence[np.ndarray]) -> list[np.ndarray]:
    if isinstance(scores, np.ndarray) or not isinstance(scores, Sequence) or len(scores) == 0:
        raise ConfigError("scores must be a non-empty list with one 2-D array per layer")
    out = []
    for i, s in enumerate(scores):
        a = np.asarray(s, dtype=np.float64)
        if a.ndim != 2 or 0 in a.shape:
            raise ConfigError(f"scores {i} must be a non-empty 2-D (out, in) array, got shape {a.shape}")
        if np.isnan(a).any():
            raise DataError(f"scores {i} hold NaN values")
        big = float(np.abs(a[np.isfinite(a)]).max(initial=0.0))
        if big > SCORE_MAX:
            raise DataError(f"scores {i}: magnitude {big:.3g} over the limit {SCORE_MAX:.3g} (rescale the scores)")
        # infinities rank above (below) every finite score but stay finite: +inf marks "not a candidate" inside
        out.append(np.clip(a, -SCORE_MAX, SCORE_MAX))
    return out


def _group_ids(shape: tuple[int, int], block: tuple[int, int]) -> tuple[np.ndarray, int]:
    """Group index of every entry for aligned blocks of ``block`` (partial at the edges); and the group count."""
    bo, bi = block
    r = np.arange(shape[0]) // bo
    c = np.arange(shape[1]) // bi
    ncols = -(-shape[1] // bi)
    return r[:, None] * ncols + c[None, :], int(-(-shape[0] // bo) * ncols)


def _blocks_for(structure: str, shapes: Sequence[tuple[int, int]], block: Optional[Block],
                tile: Optional[tuple[int, int]]) -> list[tuple[int, int]]:
    n = len(shapes)
    if structure == "unstructured":
        return [(1, 1)] * n
    if structure in ("neuron", "filter"):
        return [(1, s[1]) for s in shapes]
    if structure == "input":
        return [(s[0], 1) for s in shapes]
    if structure == "block":
        if block is None:
            raise ConfigError("structure 'block' needs block=(b_out, b_in) or one such pair per layer")
        blocks = [block] * n if _is_pair(block) else list(block)  # type: ignore[list-item]
        if len(blocks) != n:
            raise ConfigError(f"got {len(blocks)} blocks for {n} layers")
        out = []
        for i, (b, s) in enumerate(zip(blocks, shapes)):
            if not _is_pair(b) or int(b[0]) < 1 or int(b[1]) < 1:
                raise ConfigError(f"block {i} must be a pair of positive integers (b_out, b_in), got {b!r}")
            b = (int(b[0]), int(b[1]))
            if b[0] > s[0] or b[1] > s[1]:
                raise ConfigError(f"block {b} is larger than layer {i} of shape {tuple(s)}")
            out.append(b)
        return out
    # crossbar-aligned
    if tile is None or not _is_pair(tile) or int(tile[0]) < 1 or int(tile[1]) < 1:
        raise ConfigError(f"structure {structure!r} needs tile=(outputs_per_tile, inputs_per_tile) of positive "
                          f"integers, got {tile!r}")
    to, ti = int(tile[0]), int(tile[1])
    if structure == "xbar_tiles":
        return [(min(to, s[0]), min(ti, s[1])) for s in shapes]
    if structure == "xbar_rows":
        return [(min(to, s[0]), 1) for s in shapes]
    return [(1, min(ti, s[1])) for s in shapes]  # xbar_cols


def _is_pair(b: object) -> bool:
    return isinstance(b, (tuple, list)) and len(b) == 2 and all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in b)


def select(scores: Sequence[np.ndarray], sparsity: Optional[Sparsity] = None, *, scope: str = "layer",
           structure: str = "unstructured", masks: Optional[Sequence[np.ndarray]] = None,
           block: Optional[Block] = None, tile: Optional[tuple[int, int]] = None, n: Optional[int] = None,
           m: Optional[int] = None, protect_output: bool = True,
           support: Optional[Sequence[np.ndarray]] = None) -> list[np.ndarray]:
    """Masks (bool, True = kept, one per layer) pruning the lowest-scoring weights or groups.

    ``sparsity``: fraction of weights pruned in [0, 1) -- one float, or one per layer with ``scope="layer"``.
    See the module docstring for ``structure``, ``block``, ``tile`` and ``n``/``m``.
    """
    sc = _check_scores(scores)
    shapes = [a.shape for a in sc]
    old = check_masks(masks, shapes)
    sup = check_masks(support, shapes)  # all True when None: every entry is a weight
    old = [o & s for o, s in zip(old, sup)]
    if structure not in STRUCTURES:
        raise ConfigError(f"unknown structure {structure!r}; choose one of {', '.join(STRUCTURES)}")
    if scope not in SCOPES:
        raise ConfigError(f"unknown scope {scope!r}; choose 'layer' or 'global'")
    if structure == "nm":
        return _select_nm(sc, old, sparsity, n, m)
    if sparsity is None:
        raise ConfigError("sparsity is required (a number in [0, 1))")
    if isinstance(sparsity, (Sequence, np.ndarray)) and not isinstance(sparsity, str):
        if scope != "layer":
            raise ConfigError("per-layer sparsities need scope='layer'")
        targets = [check_sparsity(s, f"sparsity of layer {i}") for i, s in enumerate(sparsity)]
        if len(targets) != len(sc):
            raise ConfigError(f"got {len(targets)} sparsities for {len(sc)} layers")
    else:
        targets = [check_sparsity(sparsity)] * len(sc)
    if structure == "unstructured":
        return _select_unstructured(sc, old, targets, scope, sup)
    blocks = _blocks_for(structure, shapes, block, tile)

    # groups: per layer, group score, kept count, size; the best group of each layer is never a candidate
    per_layer = []
    for li, (s, mk, b, su) in enumerate(zip(sc, old, blocks, sup)):
        gid, ng = _group_ids(s.shape, b)
        size = np.bincount(gid.ravel(), weights=su.ravel(), minlength=ng).astype(np.int64)
        kept = np.bincount(gid.ravel(), weights=mk.ravel(), minlength=ng).astype(np.int64)
        gsum = np.bincount(gid.ravel(), weights=np.where(mk, s, 0.0).ravel(), minlength=ng)
        gscore = np.where(kept > 0, gsum / np.maximum(size, 1), -np.inf)
        eligible = kept > 0
        if structure in ("neuron", "filter") and protect_output and li == len(sc) - 1:
            eligible[:] = False
        if eligible.any():  # keep the best live group (layer collapse guard)
            live = np.flatnonzero(kept > 0)
            best = live[np.lexsort((-live, gscore[live]))[-1]]
            eligible[best] = False
        per_layer.append((gid, gscore, kept, size, eligible))

    prune_groups: list[np.ndarray] = [np.zeros(len(p[1]), dtype=bool) for p in per_layer]
    if scope == "layer":
        for li, (gid, gscore, kept, size, eligible) in enumerate(per_layer):
            total = int(size.sum())
            target = int(np.floor(targets[li] * total + 1e-9))
            prune_groups[li] = _choose(gscore, kept, eligible, target - (total - int(kept.sum())))
    else:
        total = sum(int(p[3].sum()) for p in per_layer)
        already = total - sum(int(p[2].sum()) for p in per_layer)
        target = int(np.floor(targets[0] * total + 1e-9))
        gs = np.concatenate([p[1] for p in per_layer])
        kp = np.concatenate([p[2] for p in per_layer])
        el = np.concatenate([p[4] for p in per_layer])
        chosen = _choose(gs, kp, el, target - already)
        off = 0
        for li, p in enumerate(per_layer):
            prune_groups[li] = chosen[off:off + len(p[1])]
            off += len(p[1])
    return [mk & ~pg[gid] for mk, pg, (gid, *_rest) in zip(old, prune_groups, per_layer)]


def _select_unstructured(sc: list[np.ndarray], old: list[np.ndarray], targets: list[float], scope: str,
                         sup: list[np.ndarray]) -> list[np.ndarray]:
    """Fast path for single weights: O(n) partial selection (ties at the threshold broken deterministically)."""
    keys = []
    for s, mk in zip(sc, old):
        k = np.where(mk, s, np.inf).ravel()
        if mk.any():  # layer-collapse guard: the best kept weight is never a candidate
            k[int(np.argmax(np.where(mk, s, -np.inf).ravel()))] = np.inf
        keys.append(k)
    out = [mk.copy() for mk in old]
    if scope == "layer":
        for li, (k, mk, su) in enumerate(zip(keys, old, sup)):
            real = int(su.sum())
            need = min(int(np.floor(targets[li] * real + 1e-9)) - int(real - mk.sum()), int(np.isfinite(k).sum()))
            if need > 0:
                idx = np.argpartition(k, need - 1)[:need]
                out[li].ravel()[idx] = False
        return out
    total = sum(int(su.sum()) for su in sup)
    already = total - sum(int(mk.sum()) for mk in old)
    allk = np.concatenate(keys)
    need = min(int(np.floor(targets[0] * total + 1e-9)) - already, int(np.isfinite(allk).sum()))
    if need > 0:
        idx = np.argpartition(allk, need - 1)[:need]
        off = 0
        for li, mk in enumerate(old):
            sel = idx[(idx >= off) & (idx < off + mk.size)] - off
            out[li].ravel()[sel] = False
            off += mk.size
    return out


def _choose(gscore: np.ndarray, kept: np.ndarray, eligible: np.ndarray, need: int) -> np.ndarray:
    """Lowest-score eligible groups whose kept weights add up to at least ``need`` (all eligible if short)."""
    out = np.zeros(len(gscore), dtype=bool)
    if need <= 0:
        return out
    cand = np.flatnonzero(eligible)
    order = cand[np.argsort(gscore[cand], kind="stable")]
    csum = np.cumsum(kept[order])
    k = int(np.searchsorted(csum, need, side="left")) + 1
    out[order[:min(k, len(order))]] = True
    return out


def _select_nm(sc: list[np.ndarray], old: list[np.ndarray], sparsity: Optional[Sparsity], n: Optional[int],
               m: Optional[int]) -> list[np.ndarray]:
    if n is None or m is None or isinstance(n, bool) or isinstance(m, bool):
        raise ConfigError("structure 'nm' needs integers n and m (keep n of every m weights)")
    n, m = int(n), int(m)
    if not (1 <= n <= m):
        raise ConfigError(f"N:M needs 1 <= n <= m, got n={n}, m={m}")
    if sparsity is not None and not np.isclose(check_sparsity(sparsity), 1 - n / m):
        raise ConfigError(f"structure 'nm' with n={n}, m={m} prunes {1 - n / m:.4g} of the weights; "
                          f"sparsity={sparsity} contradicts it (omit sparsity)")
    out = []
    for i, (s, mk) in enumerate(zip(sc, old)):
        rows, cols = s.shape
        if m > cols:
            raise ConfigError(f"N:M group m={m} is larger than layer {i}'s {cols} inputs")
        pad = (-cols) % m
        sp = np.pad(np.where(mk, s, -np.inf), ((0, 0), (0, pad)), constant_values=np.nan)
        g = sp.reshape(rows, -1, m)
        # rank within each group, descending score, NaN padding last, ties by position
        key = np.where(np.isnan(g), -np.inf, g)
        order = np.argsort(-key, axis=2, kind="stable")
        rank = np.empty_like(order)
        np.put_along_axis(rank, order, np.arange(m)[None, None, :].repeat(rows, 0).repeat(g.shape[1], 1), axis=2)
        keep = (rank < n).reshape(rows, -1)[:, :cols]
        out.append(mk & keep)
    return out


def sparsity_of(masks: Sequence[np.ndarray], support: Optional[Sequence[np.ndarray]] = None) -> float:
    """Fraction of pruned entries over all masks (over the ``support`` entries only, when given: see
    :func:`select`)."""
    if support is not None:
        masks = [np.asarray(m)[np.asarray(s, dtype=bool)] for m, s in zip(masks, support)]
    total = sum(int(np.size(m)) for m in masks)
    return 1.0 - sum(int(np.count_nonzero(m)) for m in masks) / total
