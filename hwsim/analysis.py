"""Analysis of sweep results: the Pareto front (non-dominated set) over two or three chosen metrics."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .errors import ConfigError

#: Metrics where more is better (default sense "max"); every other metric defaults to "min".
MAXIMIZE = frozenset({"accuracy", "float_accuracy", "chip.throughput_inferences_per_s", "chip.tops_per_w",
                      "chip.utilization", "weight_sparsity"})
SENSES = ("min", "max")


def default_sense(metric: str) -> str:
    """"max" for accuracies, throughput, TOPS/W, utilisation and sparsity; "min" for costs."""
    return "max" if metric in MAXIMIZE else "min"


def _matrix(points: Any, metrics: Sequence[str] | None) -> tuple[np.ndarray, Sequence[str]]:
    if isinstance(points, np.ndarray) or (len(points) and not isinstance(points[0], Mapping)):
        a = np.asarray(points, dtype=np.float64)
        if a.ndim != 2:
            raise ConfigError(f"points must be a 2-D array (points x metrics), got shape {a.shape}")
        return a, metrics or [f"m{i}" for i in range(a.shape[1])]
    if not metrics:
        raise ConfigError("name the metrics of the front (2 or 3 keys of the rows)")
    missing = [m for m in metrics if points and all(m not in r for r in points)]
    if missing:
        have = sorted({k for r in points for k, v in r.items() if isinstance(v, (int, float)) and not isinstance(v, bool)})
        raise ConfigError(f"unknown metric {missing[0]!r}; the rows hold: {', '.join(have)}")

    def num(v: Any) -> float:
        return float(v) if isinstance(v, (int, float, np.floating, np.integer)) and not isinstance(v, bool) else np.nan

    return np.array([[num(r.get(m)) for m in metrics] for r in points], dtype=np.float64).reshape(-1, len(metrics)), \
        metrics


def pareto_front(points: Sequence[Mapping[str, Any]] | np.ndarray, metrics: Sequence[str] | None = None,
                 sense: str | Sequence[str] | Mapping[str, str] | None = None) -> np.ndarray:
    """Indices of the non-dominated points, sorted by the first metric (ascending), then the others.

    ``points``: rows (dicts, e.g. :func:`hwsim.sweep.read_rows`) with ``metrics`` naming 2 or 3 of their keys, or an
    (n, k) array. ``sense``: "min"/"max" for all metrics, one per metric, or a dict metric -> sense (default per
    metric: :func:`default_sense`). A point is dominated when another is at least as good in every metric and better
    in one; rows lacking a metric (None, NaN) are never on the front; identical points are all kept.
    """
    a, names = _matrix(points, metrics)
    k = a.shape[1]
    if not 2 <= k <= 3:
        raise ConfigError(f"a Pareto front needs 2 or 3 metrics, got {k}")
    if sense is None:
        senses = [default_sense(m) for m in names]
    elif isinstance(sense, str):
        senses = [sense] * k
    elif isinstance(sense, Mapping):
        senses = [sense.get(m, default_sense(m)) for m in names]
    else:
        senses = list(sense)
    if len(senses) != k or any(s not in SENSES for s in senses):
        raise ConfigError(f"sense must be 'min' or 'max' per metric ({k} metrics), got {sense!r}")
    c = a * np.array([1.0 if s == "min" else -1.0 for s in senses])  # all minimised
    ok = np.flatnonzero(np.all(np.isfinite(c), axis=1))
    c_ok = c[ok]
    keep = np.ones(len(ok), dtype=bool)
    for i in range(len(ok)):  # O(n^2 k) in chunks of one row: 10^4 points in well under a second
        le = np.all(c_ok <= c_ok[i], axis=1)
        lt = np.any(c_ok < c_ok[i], axis=1)
        keep[i] = not np.any(le & lt)
    front = ok[keep]
    order = np.lexsort(tuple(a[front, j] for j in reversed(range(k))))
    return front[order]


def dominated(n: int, front: np.ndarray) -> np.ndarray:
    """Indices 0..n-1 not in ``front``."""
    mask = np.ones(n, dtype=bool)
    mask[np.asarray(front, dtype=int)] = False
    return np.flatnonzero(mask)
