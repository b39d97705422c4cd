"""Figures from Reports and from experiment results (accuracy against sparsity or against a hardware saving).

matplotlib is imported lazily; every ``plot_*`` function takes an optional ``ax`` and returns it; :func:`axes_grid`
makes a figure of several panels and :func:`save` writes any Axes' figure as PNG.

Quantities are converted from SI to the units a paper prints: W -> mW, J -> nJ, s -> ns (or us), mm^2 stays.
"""
from __future__ import annotations

import os
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


def axes_grid(ncols: int = 1, nrows: int = 1, width: float = 5.5, height: float = 3.8, sharey: bool = False
              ) -> list[Any]:
    """A new figure of ``nrows`` x ``ncols`` Axes, each ``width`` x ``height`` inches, as a flat list (row by row).

    For figures of several panels: pass each Axes to a ``plot_*`` function, then :func:`save` any one of them.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    _, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), sharey=sharey,
                           constrained_layout=True, squeeze=False)
    return list(axes.ravel())


#: marker and dash cycles: coinciding curves stay visible (open markers of distinct shapes)
_MARKERS = ("o", "s", "^", "v", "D", "x", "+", "*")
_DASHES = ("-", "--", "-.", ":")


def _axes(ax: Any = None) -> Any:
    return ax if ax is not None else axes_grid()[0]


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
    for i, (label, pts) in enumerate(series.items()):
        pts = sorted(pts, key=lambda p: p[0])
        xs = [100 * s for s, _ in pts]
        ys = [total_metric(r, metric) for _, r in pts]
        if relative and ys and ys[0]:
            ys = [100 * y / ys[0] for y in ys]
        # distinct marker and dash per line so that coinciding curves stay visible
        ax.plot(xs, ys, linestyle=_DASHES[i % len(_DASHES)], marker=_MARKERS[i % len(_MARKERS)], ms=4,
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


def _accuracy_lines(ax: Any, series: Mapping[str, Sequence[tuple[float, float]]], sort: bool,
                    styles: Mapping[str, Mapping[str, Any]] | None, dense_accuracy: float | None,
                    margin_pt: float | None, ylabel: str, title: str | None) -> Any:
    """Accuracy (%) against a fraction (%), one line per label, with the dense accuracy and dense - margin."""
    for i, (label, pts) in enumerate(series.items()):
        pts = sorted(pts) if sort else list(pts)
        style = {"marker": _MARKERS[i % len(_MARKERS)], "ms": 4, "mfc": "none", **(styles or {}).get(label, {})}
        if len(pts) == 1 and "ls" not in style and "linestyle" not in style:
            style["ls"] = "none"
        ax.plot([100 * x for x, _ in pts], [100 * a for _, a in pts], label=label, **style)
    if dense_accuracy is not None:
        ax.axhline(100 * dense_accuracy, color="k", ls="--", lw=0.8, label=f"dense {100 * dense_accuracy:.2f}%")
        if margin_pt:
            ax.axhline(100 * dense_accuracy - margin_pt, color="gray", ls=":", lw=0.8,
                       label=f"dense - {margin_pt:g} pt")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, ncol=2 if len(series) > 6 else 1)
    if title:
        ax.set_title(title, fontsize=10)
    return ax


def plot_accuracy_vs_sparsity(series: Mapping[str, Sequence[tuple[float, float]]],
                              dense_accuracy: float | None = None, ax: Any = None, margin_pt: float | None = 0.5,
                              ylabel: str = "test accuracy (%)", title: str | None = None,
                              styles: Mapping[str, Mapping[str, Any]] | None = None) -> Any:
    """One line per label (e.g. a pruning criterion): accuracy (%) against weight sparsity (%).

    ``series`` maps a label to (sparsity, accuracy) points, both fractions; ``dense_accuracy`` (a fraction)
    draws the unpruned network's accuracy and ``margin_pt`` points below it; ``styles`` maps a label to
    ``Axes.plot`` keywords (short aliases: ``ls``, ``ms``).
    """
    ax = _axes(ax)
    _accuracy_lines(ax, series, True, styles, dense_accuracy, margin_pt, ylabel, title)
    ax.set_xlabel("weight sparsity (%)")
    return ax


def plot_accuracy_vs_saved(series: Mapping[str, Sequence[tuple[float, float]]], metric: str = "static_power_w",
                           dense_accuracy: float | None = None, ax: Any = None, margin_pt: float | None = 1.0,
                           target_saved: float | None = None, ylabel: str = "test accuracy (%)",
                           title: str | None = None, styles: Mapping[str, Mapping[str, Any]] | None = None) -> Any:
    """Accuracy (%) against the share of a hardware metric saved vs the unpruned network (%), one line per label.

    ``series`` maps a label to (saved, accuracy) points, both fractions, drawn in the given order (a trajectory:
    pruning rounds, say); a one-point series is a marker. ``target_saved`` (a fraction) draws a vertical line;
    ``dense_accuracy``, ``margin_pt`` and ``styles`` as in :func:`plot_accuracy_vs_sparsity`.
    """
    ax = _axes(ax)
    _accuracy_lines(ax, series, False, styles, dense_accuracy, margin_pt, ylabel, title)
    if target_saved is not None:
        ax.axvline(100 * target_saved, color="gray", ls=":", lw=0.8)
    ax.set_xlabel(f"{metric_label(metric).split(' (')[0]} saved (% of unpruned)")
    return ax


def plot_metric_bars(values: Mapping[str, Report | float], metric: str = "tiles",
                     accuracies: Mapping[str, float] | None = None, ax: Any = None, ylabel: str | None = None,
                     title: str | None = None, colors: Sequence[str] | None = None) -> Any:
    """One bar per label: a hardware metric, a Report's total or a value in SI (a count for ``tiles``).

    Bars whose label is in ``accuracies`` (fractions) are annotated with that accuracy in %; ``ylabel``
    replaces the metric's label (e.g. to name the tile size).
    """
    ax = _axes(ax)
    vals = {k: float(getattr(v.total, metric)) if isinstance(v, Report) else float(v) for k, v in values.items()}
    label, factor = scaled_unit(metric, max(vals.values(), default=0.0))
    bars = ax.bar(list(vals), [v * factor for v in vals.values()],
                  color=list(colors) if colors else [f"C{i}" for i in range(len(vals))])
    for name, b in zip(vals, bars):
        if accuracies and name in accuracies:
            ax.text(b.get_x() + b.get_width() / 2, b.get_height(), f"{100 * accuracies[name]:.2f}%", ha="center",
                    va="bottom", fontsize=8)
    ax.set_ylabel(ylabel or label)
    ax.grid(axis="y", alpha=0.3)
    if title:
        ax.set_title(title, fontsize=9)
    return ax


def save(ax: Any, path: str | os.PathLike[str]) -> None:
    """Save the figure of ``ax`` as PNG (150 dpi), atomically (:mod:`hwsim.atomic_io`), and close it."""
    import matplotlib.pyplot as plt

    from .atomic_io import atomic_open

    fig = ax.figure
    try:
        with atomic_open(path) as f:
            fig.savefig(f, dpi=150, format="png")
    finally:
        plt.close(fig)
