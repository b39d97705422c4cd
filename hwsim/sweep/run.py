"""Running a sweep: points grouped into tasks that share work, run in processes (or on Dask), stored as they finish.

Sharing: points that prune the same network the same way share the pruned network (a per-process cache), and points
whose configurations differ only in keys the back-end declares cost-only (``Backend.cost_only_keys``, dotted
prefixes that ``map`` does not read, e.g. ReRAM's ``adc.bits``) share one mapping: it is mapped once and re-costed
with each configuration (``dataclasses.replace(mapping, config=...)``). A task is one such mapping group; tasks run
in order of their pruned network so that a worker's cache is hit.
"""
from __future__ import annotations

import dataclasses
import json
import os
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from .spec import Point, SweepSpec

# ---- per-process caches ------------------------------------------------------------------------------------------
_NETS: "OrderedDict[Any, tuple[Any, float, float | None]]" = OrderedDict()
_DATA: dict[Any, Any] = {}
_FLOAT_ACC: dict[Any, float | None] = {}
_NET_CACHE_SIZE = 3


def _prune_key(p: Point, tile: tuple[int, int] | None) -> tuple[Any, ...]:
    import models

    trainable = models.evaluable(p.model, p.weights)
    seeded = not trainable or p.method == "random"
    return (p.model, p.weights, p.weights_sha256, p.method, p.sparsity, p.structure, p.scope,
            p.seed if seeded else None, tile, p.prune_images if p._data_driven else None, p.data_dir)


def _data(split: str, data_dir: str | None, n: int) -> tuple[Any, Any]:
    key = (split, data_dir, n)
    if key not in _DATA:
        from models import fashion_mnist

        _DATA[key] = fashion_mnist.load(split, data_dir, limit=n)
    return _DATA[key]


def _fit(net: Any, x: Any) -> Any:
    """Images reshaped to an imported network's input (an ONNX MLP taking (n, 784) vectors reads the same pixels)."""
    from ..cli._args import fit_input

    return fit_input(net, x)


def _zero_fraction(source: Any) -> float:
    import numpy as np

    if hasattr(source, "weighted_layers"):  # real weights only: not the structural zeros between conv groups
        from ..nn.im2col import support

        mats = [m if s is None else m[s] for m, s in ((l.weight * l.mask, support(l)) for l in source.weighted_layers())]
    else:
        mats = [l.weight for l in source]
    total = sum(m.size for m in mats)
    return float(sum(m.size - np.count_nonzero(m) for m in mats) / total) if total else 0.0


def pruned_network(p: Point, tile: tuple[int, int] | None) -> tuple[Any, float, float | None]:
    """(the network or matrix layers point ``p`` maps, its weight sparsity, its float accuracy on the point's test
    images or None), cached per process by everything that changes the pruned weights."""
    key = _prune_key(p, tile)
    if key in _NETS:
        _NETS.move_to_end(key)
        source, zeros, _ = _NETS[key]
        if p.accuracy_images and (key, p.accuracy_images) not in _FLOAT_ACC:
            x, y = _data("test", p.data_dir, p.accuracy_images)
            _FLOAT_ACC[(key, p.accuracy_images)] = float(source.accuracy(_fit(source, x), y))
        return source, zeros, _FLOAT_ACC.get((key, p.accuracy_images))
    import models

    from .. import prune as hp
    from ..nn.im2col import supports

    trainable = models.evaluable(p.model, p.weights)
    if trainable:
        net = models.workload(p.model, p.weights, trainable=True)
        if p.method != "none" and p.sparsity > 0:
            data = _data("train", p.data_dir, p.prune_images) if p._data_driven else None
            if data is not None:
                data = (_fit(net, data[0]), data[1])
            scores = hp.score(net, data, p.method, seed=p.seed)
            if p.structure == "hardware":
                masks = hp.select(scores, p.sparsity, scope=p.scope, structure="xbar_tiles", tile=tile,
                                  support=supports(net))
            else:
                masks = hp.select(scores, p.sparsity, scope=p.scope, structure=p.structure, support=supports(net))
            net = net.copy()
            net.set_masks(masks)
        source: Any = net
        acc = None
        if p.accuracy_images:
            x, y = _data("test", p.data_dir, p.accuracy_images)
            acc = float(net.accuracy(_fit(net, x), y))
        _FLOAT_ACC[(key, p.accuracy_images)] = acc
    else:
        pattern = "random" if p.method == "none" else p.method
        source = list(models.workload(p.model, p.weights, seed=p.seed, sparsity=p.sparsity, pattern=pattern))
        acc = None
    out = (source, _zero_fraction(source), acc)
    _NETS[key] = out
    while len(_NETS) > _NET_CACHE_SIZE:
        _NETS.popitem(last=False)
    return out


# ---- mapping groups ----------------------------------------------------------------------------------------------
def _strip(d: Mapping[str, Any], prefixes: Sequence[str], path: str = "") -> dict[str, Any]:
    out = {}
    for k, v in d.items():
        key = f"{path}{k}"
        if any(key == p or key.startswith(p + ".") for p in prefixes):
            continue
        out[k] = _strip(v, prefixes, key + ".") if isinstance(v, Mapping) else v
    return out


def map_key(be: Any, config: Any) -> str:
    """The part of ``config`` that ``be.map`` reads (all of it unless the back-end declares cost-only keys)."""
    d = be.config_to_dict(config)
    d.pop("derived", None)
    return json.dumps(_strip(d, tuple(getattr(be, "cost_only_keys", ()))), sort_keys=True, default=str)


@dataclasses.dataclass(frozen=True)
class Task:
    """Points that share one mapping (same pruned network, same map-relevant configuration)."""

    points: tuple[tuple[int, Point], ...]
    """(index in the sweep, point)."""


def plan(spec: SweepSpec, skip: Iterable[str] = ()) -> list[Task]:
    """The tasks of ``spec``'s points not in ``skip`` (keys), ordered by pruned network."""
    from .. import backend

    skip = set(skip)
    groups: dict[Any, list[tuple[int, Point]]] = {}
    order: dict[Any, Any] = {}
    cfg_cache: dict[Any, Any] = {}
    for i, p in enumerate(spec.points):
        if p.key in skip:
            continue
        be = backend.get(p.hardware)
        ident = (p.hardware, p.preset, json.dumps(p.overrides, default=str))
        if ident not in cfg_cache:
            cfg = be.resolve_config(p.preset, None, dict(p.overrides))
            tile = be.pruning_unit(cfg)[1] if p.structure == "hardware" else None
            cfg_cache[ident] = (map_key(be, cfg), tile)
        mkey, tile = cfg_cache[ident]
        pk = _prune_key(p, tile)
        gk = (pk, p.hardware, mkey)
        groups.setdefault(gk, []).append((i, p))
        order.setdefault(gk, (repr(pk), min(i for i, _ in groups[gk])))
    keys = sorted(groups, key=lambda k: order[k])
    return [Task(tuple(groups[k])) for k in keys]


def run_task(task: Task) -> list[dict[str, Any]]:
    """Run one task (in a worker process): the rows of its points, in order."""
    from .. import backend

    rows = []
    mapping = None
    for idx, p in task.points:
        t0 = time.perf_counter()
        be = backend.get(p.hardware)
        cfg = be.resolve_config(p.preset, None, dict(p.overrides))
        tile = be.pruning_unit(cfg)[1] if p.structure == "hardware" else None
        source, zeros, float_acc = pruned_network(p, tile)
        if mapping is None:
            mapping = be.map(source, cfg)
            m = mapping
        else:  # same map-relevant configuration: re-cost the shared mapping with this point's configuration
            m = dataclasses.replace(mapping, config=cfg)
        rep = be.cost(m)
        metrics: dict[str, Any] = rep.total.to_dict()
        if rep.chip is not None:
            metrics.update({f"chip.{k}": v for k, v in rep.chip.to_dict().items() if k != "breakdown"})
        metrics["weight_sparsity"] = zeros
        if p.accuracy_images:
            x, y = _data("test", p.data_dir, p.accuracy_images)
            metrics["accuracy"] = float(be.accuracy(m, _fit(source, x), y, seed=p.seed))
            metrics["float_accuracy"] = float_acc
            hook = getattr(be, "nonidealities", None)  # what the accuracy on hardware had on (an optional hook)
            if hook is not None:
                metrics["nonidealities"] = f"{hook(cfg)['summary']}; chip instance seed {p.seed}"
        rows.append({"key": p.key, "idx": idx, "params": p.params(), "config": be.config_to_dict(cfg),
                     "metrics": metrics, "breakdown": {k: v.to_dict() for k, v in rep.breakdown().items()},
                     "seconds": time.perf_counter() - t0})
    return rows


def _init_worker() -> None:
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


@dataclasses.dataclass(frozen=True)
class SweepResult:
    """What :func:`run_sweep` did."""

    points: int
    """Points in the spec."""
    ran: int
    """Points run now."""
    resumed: int
    """Points found in the store and skipped."""
    seconds: float
    store: str


def default_jobs() -> int:
    """One worker per core available to this process."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def run_sweep(spec: SweepSpec, store_path: str | os.PathLike[str], *, jobs: int | None = None,
              resume: bool = False, dask: str | None = None,
              progress: Callable[[int, int], None] | None = None) -> SweepResult:
    """Run ``spec`` into the SQLite store at ``store_path`` (see :mod:`hwsim.sweep.store`), each point committed as
    it finishes. ``resume`` skips stored points (without it a store holding points is refused); ``jobs`` worker
    processes (default: one per core; 1 = in this process); ``dask`` a scheduler address or ``"local"`` (a
    ``distributed.LocalCluster``) instead of processes; ``progress(done, total)`` is called after each task."""
    from ..errors import ConfigError
    from .store import Store

    t0 = time.perf_counter()
    with Store(store_path) as store:
        done = store.done_keys()
        if done and not resume:
            raise ConfigError(f"sweep store {str(store_path)!r} already holds {len(done)} points; pass --resume to "
                              "continue it or --overwrite to start again")
        store.set_meta("spec", spec.source)
        keys = {p.key for p in spec.points}
        resumed = len(keys & done)
        tasks = plan(spec, done)
        total = sum(len(t.points) for t in tasks)
        finished = 0
        if progress:
            progress(0, total)
        for rows in _execute(tasks, jobs, dask):
            for row in rows:
                store.add(row)
            finished += len(rows)
            if progress:
                progress(finished, total)
    return SweepResult(len(spec.points), finished, resumed, time.perf_counter() - t0, str(store_path))


def _execute(tasks: Sequence[Task], jobs: int | None, dask: str | None) -> Iterable[list[dict[str, Any]]]:
    """Task results as they complete."""
    if not tasks:
        return
    if dask is not None:
        yield from _execute_dask(tasks, dask)
        return
    jobs = default_jobs() if jobs is None else jobs
    if jobs <= 1 or len(tasks) == 1:
        for t in tasks:
            yield run_task(t)
        return
    import concurrent.futures as cf
    import multiprocessing as mp

    # not "fork": a process that has run a parallel numba kernel holds an OpenMP runtime that a fork must not copy;
    # a fork server (fresh, with hwsim imported) forks clean workers quickly
    if "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        from .. import backend

        ctx.set_forkserver_preload(["hwsim.sweep.run", *(type(be).__module__ for be in backend.backends()), "models"])
    else:  # pragma: no cover - Windows
        ctx = mp.get_context("spawn")
    with cf.ProcessPoolExecutor(max_workers=min(jobs, len(tasks)), mp_context=ctx, initializer=_init_worker) as ex:
        futures = [ex.submit(run_task, t) for t in tasks]
        try:
            for f in cf.as_completed(futures):
                yield f.result()
        except BaseException:
            for f in futures:
                f.cancel()
            raise


def _execute_dask(tasks: Sequence[Task], address: str) -> Iterable[list[dict[str, Any]]]:
    from ..errors import ConfigError

    try:
        import distributed
    except ImportError:
        raise ConfigError("--dask needs the 'distributed' package: pip install 'hwsim[dask]'") from None
    cluster = None
    if address == "local":
        cluster = distributed.LocalCluster(n_workers=default_jobs(), threads_per_worker=1, processes=True,
                                           dashboard_address=None)
        address = cluster.scheduler_address
    try:
        with distributed.Client(address) as client:
            futures = [client.submit(run_task, t, pure=False) for t in tasks]
            for f in distributed.as_completed(futures):
                yield f.result()
    finally:
        if cluster is not None:
            cluster.close()
