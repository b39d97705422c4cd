"""Figures from Reports. matplotlib is imported lazily; every function takes an optional ``ax`` and returns it.

Quantities are converted from SI to the units a paper prints: W -> mW, J -> nJ, s -> ns (or us), mm^2 stays.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from .report import Report

#: metric name -> (axis label, factor from SI)
METRIC_UNITS: dict[str, tuple[str, float]] = {
    "static_power_w": ("static power (mW)", 1e3),
    "energy_j": ("energy per inference (nJ)", 1e9),
    "latency_s": ("latency per inference (us)", 1e6),
    "area_mm2": ("area (mm$^2$)", 1.0),
    "tiles": ("allocated tiles", 1.0),
}


_PREFIXES = ((1e-9, "n"), (1e-6, "u"), (1e-3, "m"), (1.0, ""), (1e3, "k"))
_SI_UNITS = {"static_power_w": ("static power", "W"), "energy_j": ("energy per inference", "J"),
             "latency_s": ("latency per inference", "s")}


def scaled_unit(metric: str, largest: float) -> tuple[str, float]:
    """(axis label, factor from SI) with the SI prefix that puts ``largest`` (SI) between 1 and 1000."""
    if metric not in _SI_UNITS:
        return METRIC_UNITS[metric]
    name, unit = _SI_UNITS[metric]
    scale, prefix = _PREFIXES[0]
    for s, p in _PREFIXES:
        if abs(largest) >= s:
            scale, prefix = s, p
    return f"{name} ({prefix}{unit})", 1.0 / scale


def _axes(ax: Any = None) -> Any:
    if ax is not None:
        return ax
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=(5.5, 3.8), constrained_layout=True)
    return ax


def metric_label(metric: str) -> str:
    if metric not in METRIC_UNITS:
        from .errors import ConfigError

        raise ConfigError(f"unknown metric {metric!r}; choose one of {', '.join(METRIC_UNITS)}")
    return METRIC_UNITS[metric][0]


def total_metric(report: Report, metric: str) -> float:
    """A Report total in the plotted unit (see :data:`METRIC_UNITS`)."""
    metric_label(metric)
    return float(getattr(report.total, metric)) * METRIC_UNITS[metric][1]


def plot_metric_vs_sparsity(series: Mapping[str, Sequence[tuple[float, Report]]], metric: str, ax: Any = None,
                            relative: bool = False, title: str | None = None) -> Any:
    """One line per label: ``metric`` against weight sparsity (%). ``relative`` divides by the first point."""
    ax = _axes(ax)
    styles = ["-", "--", "-.", ":"]
    markers = ["o", "s", "^", "v", "D", "x", "+", "*"]
    for i, (label, pts) in enumerate(series.items()):
        pts = sorted(pts, key=lambda p: p[0])
        xs = [100 * s for s, _ in pts]
        ys = [total_metric(r, metric) for _, r in pts]
        if relative and ys and ys[0]:
            ys = [100 * y / ys[0] for y in ys]
        # distinct marker and dash per line so that coinciding curves stay visible
        ax.plot(xs, ys, linestyle=styles[i % len(styles)], marker=markers[i % len(markers)], ms=4,
                mfc="none", label=label)
    ax.set_xlabel("weight sparsity (%)")
    ax.set_ylabel(f"{metric_label(metric).split(' (')[0]} (% of unpruned)" if relative else metric_label(metric))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    return ax


def plot_breakdown(report: Report, quantity: str = "energy_j", ax: Any = None, title: str | None = None) -> Any:
    """Stacked bars per layer of the component breakdown of ``quantity`` (energy_j, static_power_w or area_mm2)."""
    import numpy as np

    ax = _axes(ax)
    label, factor = scaled_unit(quantity, max((getattr(l, quantity) for l in report.layers), default=0.0))
    comps = list(report.breakdown())
    names = [l.name for l in report.layers]
    bottom = np.zeros(len(names))
    import matplotlib

    colors = matplotlib.colormaps["tab20"].colors
    for ci, comp in enumerate(comps):
        vals = np.array([getattr(l.breakdown.get(comp), quantity, 0.0) if comp in l.breakdown else 0.0
                         for l in report.layers]) * factor
        ax.bar(names, vals, bottom=bottom, label=comp, color=colors[ci % len(colors)])
        bottom += vals
    ax.set_ylabel(label)
    ax.set_xlabel("layer")
    ax.tick_params(axis="x", rotation=45, labelsize=7)
    ax.legend(fontsize=7, ncol=2)
    ax.set_title(title or f"{report.hardware}: {label.split(' (')[0]} by component", fontsize=10)
    return ax


def plot_pareto(points: Mapping[str, Sequence[tuple[float, float]]], metric: str, ax: Any = None,
                title: str | None = None) -> Any:
    """Accuracy (%) against a hardware metric, one marker set per label; points are (metric in SI, accuracy)."""
    ax = _axes(ax)
    label, factor = METRIC_UNITS[metric]
    for name, pts in points.items():
        pts = sorted(pts)
        ax.plot([m * factor for m, _ in pts], [100 * a for _, a in pts], marker="o", ms=3.5, label=name)
    ax.set_xlabel(label)
    ax.set_ylabel("test accuracy (%)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    return ax


def save(ax: Any, path: str) -> None:
    """Save the figure of ``ax`` as PNG (150 dpi) and close it."""
    import matplotlib.pyplot as plt

    fig = ax.figure
    fig.savefig(path, dpi=150)
    plt.close(fig)
