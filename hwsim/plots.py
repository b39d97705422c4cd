"""Figures from Reports and from experiment results (accuracy against sparsity or against a hardware saving).

matplotlib is imported lazily; every ``plot_*`` function takes an optional ``ax`` and returns it; :func:`axes_grid`
makes a figure of several panels and :func:`save` writes any Axes' figure as PNG (plus PDF/SVG on request).

Figures for a paper: absolute values with the SI prefix chosen per axis from the data (mW/W/kW, pJ/nJ/\u00b5J;
:func:`metric_axis`), a relative axis only beside an absolute one, log axes when the data span more than
:data:`LOG_SPAN`, legends right of the data without empty or duplicate entries (coinciding lines share one entry),
titles naming model, hardware, preset and sparsity (:func:`figure_title`).
"""
from __future__ import annotations

import os
from typing import Any, Mapping, Sequence

from .report import Report

#: metric name -> (axis label, factor from SI): the fixed units of :func:`total_metric` (figures choose their prefix
#: per axis from the data instead: :func:`metric_axis`)
METRIC_UNITS: dict[str, tuple[str, float]] = {
    "static_power_w": ("static power (mW)", 1e3),
    "energy_j": ("energy per inference (nJ)", 1e9),
    "latency_s": ("latency per inference (\u00b5s)", 1e6),
    "area_mm2": ("area (mm$^2$)", 1.0),
    "tiles": ("allocated tiles", 1.0),
}


_SI_UNITS = {"static_power_w": ("static power", "W"), "energy_j": ("energy per inference", "J"),
             "latency_s": ("latency per inference", "s")}
#: Display names of metrics other than the Report totals (sweep rows: ``chip.*``, accuracies).
_NAMES = {"chip.latency_s": "chip latency per inference", "chip.pipeline_interval_s": "pipeline interval",
          "chip.energy_per_inference_j": "chip energy per inference", "chip.static_power_w": "chip static power",
          "chip.area_mm2": "chip area", "chip.tops_per_w": "TOPS/W", "chip.utilization": "tile utilisation",
          "chip.throughput_inferences_per_s": "throughput", "chip.chips": "chips", "chip.tiles_used": "tiles used",
          "accuracy": "accuracy on hardware", "float_accuracy": "float accuracy", "weight_sparsity": "weight sparsity"}
#: Span (max / min of positive values) beyond which an axis is drawn logarithmic.
LOG_SPAN = 100.0
#: Title height in axes coordinates, set explicitly: no figure here has tick labels above its axes, where matplotlib's
#: automatic title placement would matter, and that placement measured every tick label at every draw (a third of the
#: demo's figure time).
TITLE_Y = 1.0
#: Resolution of the PNG figures (dots per inch).
PNG_DPI = 150


def si_prefix(largest: float) -> tuple[str, float]:
    """(SI prefix, factor from SI) putting ``largest`` (in SI) between 1 and 1000; "\u00b5" for micro (the same
    choice as :meth:`hwsim.report.Report.format_table`)."""
    from .report import _prefix

    return _prefix(largest)


def scaled_unit(metric: str, largest: float) -> tuple[str, float]:
    """(axis label, factor from SI) with the SI prefix that puts ``largest`` (SI) between 1 and 1000."""
    if metric not in _SI_UNITS:
        return METRIC_UNITS[metric]
    name, unit = _SI_UNITS[metric]
    prefix, factor = si_prefix(largest)
    return f"{name} ({prefix}{unit})", factor


def metric_name(metric: str) -> str:
    """The display name of a Report or sweep-row metric (``chip.static_power_w`` -> "chip static power")."""
    return _NAMES.get(metric) or (_SI_UNITS.get(metric, (None,))[0]) or metric.split(".")[-1].replace("_", " ")


def metric_axis(metric: str, values: Sequence[float]) -> tuple[str, float, bool]:
    """(axis label, factor from SI, log scale?) for any metric of a Report or a sweep row, from the values shown:
    the SI prefix suits the largest value, log when the positive values span more than :data:`LOG_SPAN`."""
    import numpy as np

    v = np.asarray([x for x in values if x is not None], dtype=np.float64)
    v = v[np.isfinite(v)]
    pos = v[v > 0]
    log = bool(pos.size and pos.max() / pos.min() > LOG_SPAN)
    largest = float(np.abs(v).max()) if v.size else 0.0
    base = metric.split(".")[-1]
    name = metric_name(metric)
    if metric in ("accuracy", "float_accuracy", "weight_sparsity") or base == "utilization":
        return f"{name} (%)", 100.0, False
    for suffix, unit in (("_w", "W"), ("_j", "J"), ("_s", "s")):
        if base.endswith(suffix) and not base.endswith("per_s"):
            prefix, factor = si_prefix(largest)
            return f"{name} ({prefix}{unit})", factor, log
    if base.endswith("mm2"):
        return f"{_NAMES.get(metric, 'area')} (mm$^2$)", 1.0, log
    if base.endswith("inferences_per_s"):
        prefix, factor = si_prefix(largest)
        return f"{name} ({prefix}inferences/s)", factor, log
    if metric == "tiles":
        return "allocated tiles", 1.0, log
    return name, 1.0, log


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


def legend_outside(ax: Any, fontsize: float = 7, title: str | None = None, below: bool = False) -> None:
    """A legend right of the Axes (``below``: under the x label, for Axes with a right-hand axis), never over the
    data, without empty labels; nothing when no line is labelled."""
    handles, labels = ax.get_legend_handles_labels()
    pairs = [(h, l) for h, l in zip(handles, labels) if l and not l.startswith("_")]
    if not pairs:
        return
    if below:
        ax.legend(*zip(*pairs), fontsize=fontsize, loc="upper center", bbox_to_anchor=(0.5, -0.2), borderaxespad=0.0,
                  frameon=False, title=title, title_fontsize=fontsize, ncol=1)
    else:
        ax.legend(*zip(*pairs), fontsize=fontsize, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0,
                  frameon=False, title=title, title_fontsize=fontsize)


def figure_title(model: str | None = None, hardware: str | None = None, preset: str | None = None,
                 sparsity: float | str | None = None, detail: str | None = None) -> str:
    """A title naming the model, hardware, preset and sparsity: "LeNet-300-100 on reram (isaac), 90 % sparsity"."""
    head = " on ".join(x for x in (model, hardware) if x)
    if preset:
        head += f" ({preset})"
    if isinstance(sparsity, (int, float)):
        head += f", {100 * sparsity:g} % weight sparsity"
    elif sparsity:
        head += f", {sparsity}"
    return head + (f"\n{detail}" if detail else "")


def _merge_identical(series: Mapping[str, tuple[list[float], list[float]]]) -> dict[str, tuple[list[float], list[float]]]:
    """Series with identical points drawn once, their labels joined one per line with "= " (so a legend lists visible
    lines and stays as narrow as its longest label)."""
    import numpy as np

    merged: dict[str, tuple[list[float], list[float]]] = {}
    for label, (xs, ys) in series.items():
        for other, (ox, oy) in list(merged.items()):
            if len(ox) == len(xs) and np.allclose(ox, xs) and np.allclose(oy, ys, rtol=1e-9, atol=0):
                merged[f"{other}\n= {label}"] = merged.pop(other)
                break
        else:
            merged[label] = (xs, ys)
    return merged


def report_metric(report: Report, metric: str) -> float:
    """A Report's ``metric``: a field of ``report.total``, or ``chip.<field>`` of ``report.chip`` (an error when the
    Report has no chip level)."""
    if metric.startswith("chip."):
        if report.chip is None:
            raise ValueError(f"metric {metric!r}: this Report has no chip level")
        return float(getattr(report.chip, metric[5:]))
    return float(getattr(report.total, metric))


def plot_metric_vs_sparsity(series: Mapping[str, Sequence[tuple[float, Report]]], metric: str, ax: Any = None,
                            relative: bool = False, title: str | None = None) -> Any:
    """One line per label: ``metric`` (:func:`report_metric`: absolute, SI prefix chosen from the data, log axis
    when it spans more than :data:`LOG_SPAN`) against weight sparsity (%). ``relative`` adds a right-hand axis in %
    of the first label's unpruned value (the absolute axis stays). Labels whose lines coincide share one legend
    entry."""
    ax = _axes(ax)
    raw = {}
    for label, pts in series.items():
        pts = sorted(pts, key=lambda p: p[0])
        raw[label] = ([100 * s for s, _ in pts], [report_metric(r, metric) for _, r in pts])
    allv = [y for _, ys in raw.values() for y in ys]
    ylabel, factor, log = metric_axis(metric, allv)
    for i, (label, (xs, ys)) in enumerate(_merge_identical(raw).items()):
        ax.plot(xs, [y * factor for y in ys], linestyle=_DASHES[i % len(_DASHES)], marker=_MARKERS[i % len(_MARKERS)],
                ms=4, mfc="none", label=label)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("weight sparsity (%)")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3, which="both" if log else "major")
    first = next(iter(raw.values()), ([], []))
    ref = first[1][0] * factor if first[1] and first[0][0] == 0 else None
    if relative and ref:
        sec = ax.secondary_yaxis("right", functions=(lambda y: 100 * y / ref, lambda p: p * ref / 100))
        sec.set_ylabel(f"% of unpruned {next(iter(raw))}", fontsize=8)
    legend_outside(ax, below=bool(relative and ref))
    if title:
        ax.set_title(title, fontsize=9, y=TITLE_Y)
    return ax


def plot_breakdown(report: Report, quantity: str = "energy_j", ax: Any = None, title: str | None = None) -> Any:
    """Stacked bars per layer of the component breakdown of ``quantity`` (energy_j, static_power_w or area_mm2), each
    legend entry with its share of the total; components that are zero in every layer are left out, and those under
    ``minor`` (1 %) of the total each are stacked as one grey "other" segment that names them (no legend entries for
    bars too thin to see)."""
    import numpy as np

    ax = _axes(ax)
    label, factor = scaled_unit(quantity, max((getattr(l, quantity) for l in report.layers), default=0.0))
    names = [l.name for l in report.layers]
    bottom = np.zeros(len(names))
    import matplotlib

    colors = matplotlib.colormaps["tab20"].colors
    comps = {comp: np.array([getattr(l.breakdown[comp], quantity) if comp in l.breakdown else 0.0
                             for l in report.layers]) * factor for comp in report.breakdown()}
    grand = sum(float(v.sum()) for v in comps.values())
    minor = 0.01
    other = np.zeros(len(names))
    small: list[str] = []
    for ci, (comp, vals) in enumerate(comps.items()):
        if not np.any(vals > 0):
            continue
        share = float(vals.sum()) / grand if grand > 0 else 0.0
        if share < minor:
            other += vals
            small.append(comp)
            continue
        ax.bar(names, vals, bottom=bottom, label=f"{comp} ({share * 100:.0f} %)", color=colors[ci % len(colors)])
        bottom += vals
    if small:
        share = float(other.sum()) / grand
        ax.bar(names, other, bottom=bottom, color="0.6",
               label=f"other, {share * 100:.2g} %:\n" + ",\n".join(small))
        bottom += other
    ax.set_ylabel(label)
    ax.set_xlabel("layer")
    ax.set_ylim(0, max(float(bottom.max(initial=0.0)) * 1.08, 1e-30))  # headroom: the top bar is not clipped
    ax.tick_params(axis="x", rotation=45 if len(names) > 4 else 0, labelsize=7)
    legend_outside(ax)
    ax.set_title(title or f"{report.hardware} ({report.preset or 'default'}): {label.split(' (')[0]} by component",
                 fontsize=9, y=TITLE_Y)
    return ax


def plot_chip_breakdown(report: Report, quantity: str = "static_power_w", ax: Any = None,
                        title: str | None = None) -> Any:
    """Horizontal bars, one per component, of the chip-level breakdown of ``quantity`` (static_power_w, energy_j =
    energy per inference, or area_mm2) of ``report.chip``: the whole chip over its schedule, where
    :func:`plot_breakdown` shows each layer's share (for a time-multiplexed chip the layers share the always-on
    laser and cores, which appear only here). Components that are zero are left out; each bar is labelled with its
    value and share."""
    if report.chip is None:
        raise ValueError(f"{report.hardware}: this Report has no chip level")
    ax = _axes(ax)
    color = {name: f"C{i % 10}" for i, name in enumerate(report.chip.breakdown)}  # one colour per component
    items = [(name, float(getattr(c, quantity))) for name, c in report.chip.breakdown.items()]
    items = sorted([(n, v) for n, v in items if v > 0], key=lambda nv: nv[1])
    total = sum(v for _, v in items)
    label, factor = scaled_unit(quantity, max((v for _, v in items), default=0.0))
    ys = range(len(items))
    ax.barh(list(ys), [v * factor for _, v in items], color=[color[n] for n, _ in items])
    ax.set_yticks(list(ys), [n for n, _ in items], fontsize=8)
    for y, (_, v) in zip(ys, items):
        share = 100 * v / total
        ax.text(v * factor, y, f" {v * factor:.3g} ({share:.0f} %)" if share >= 1 else f" {v * factor:.3g} (<1 %)",
                va="center", fontsize=7)
    ax.set_xlim(0, max((v * factor for _, v in items), default=1.0) * 1.35)  # room for the value labels
    ax.set_xlabel(f"chip {label}")
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(title or f"{report.hardware} ({report.preset or 'default'}): chip by component", fontsize=9,
                 y=TITLE_Y)
    return ax


def plot_pareto(points: Mapping[str, Sequence[tuple[float, float]]], metric: str, ax: Any = None,
                title: str | None = None, *, y_metric: str = "accuracy", sense: Sequence[str] | None = None,
                log: bool | None = None) -> Any:
    """The Pareto front of ``y_metric`` (default accuracy, a fraction) against ``metric`` (in SI), one per label:
    a step line through the non-dominated points (:func:`hwsim.analysis.pareto_front`) over the faded dominated ones.

    ``points`` maps a label to (x in SI, y) pairs; ``sense`` = (x sense, y sense), default min for costs and max
    for accuracies; ``log`` forces the x axis' scale (default: log when it spans more than :data:`LOG_SPAN`).
    """
    import numpy as np

    from .analysis import default_sense, pareto_front

    ax = _axes(ax)
    xs_all = [x for pts in points.values() for x, _ in pts]
    ys_all = [y for pts in points.values() for _, y in pts]
    xlabel, xf, xlog = metric_axis(metric, xs_all)
    ylabel, yf, ylog = metric_axis(y_metric, ys_all)
    senses = list(sense) if sense is not None else [default_sense(metric), default_sense(y_metric)]
    for i, (name, pts) in enumerate(points.items()):
        a = np.asarray(pts, dtype=np.float64).reshape(-1, 2)
        color = f"C{i % 10}"
        front = pareto_front(a, [metric, y_metric], senses) if len(a) else np.zeros(0, dtype=int)
        rest = np.setdiff1d(np.arange(len(a)), front)
        if rest.size:
            ax.scatter(a[rest, 0] * xf, a[rest, 1] * yf, s=10, color=color, alpha=0.2, lw=0)
        f = a[front]
        # the front's attainment line: from each point, hold y until the next point (x ascending)
        ax.step(f[:, 0] * xf, f[:, 1] * yf, where="post", color=color, lw=1.2)
        ax.plot(f[:, 0] * xf, f[:, 1] * yf, ls="none", marker=_MARKERS[i % len(_MARKERS)], ms=4.5, color=color,
                mfc="none", label=f"{name} ({len(f)} of {len(a)} on the front)" if len(points) > 1 or rest.size
                else name)
    if log if log is not None else xlog:
        ax.set_xscale("log")
    if ylog:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel if y_metric != "accuracy" else "test accuracy on hardware (%)")
    ax.grid(alpha=0.3, which="both")
    legend_outside(ax)
    if title:
        ax.set_title(title, fontsize=9, y=TITLE_Y)
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
        ax.set_title(title, fontsize=10, y=TITLE_Y)
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
        ax.set_title(title, fontsize=9, y=TITLE_Y)
    return ax


def save(ax: Any, path: str | os.PathLike[str], formats: Sequence[str] = ()) -> list[str]:
    """Save the figure of ``ax`` as PNG (150 dpi) at ``path`` and in each of ``formats`` ("pdf", "svg") beside it
    (same stem), cropped to the figure's tight bounding box (``bbox_inches="tight"``), atomically
    (:mod:`hwsim.atomic_io`), then close it; returns the paths written.

    The layout engine runs once, and every format is drawn once at those positions and that box:
    ``savefig(bbox_inches="tight")`` laid out and drew each format twice.
    """
    import matplotlib.pyplot as plt

    from .atomic_io import atomic_open

    fig = ax.figure
    base = os.fspath(path)
    stem = base[:-4] if base.lower().endswith(".png") else base
    written = []
    try:
        fig.draw_without_rendering()  # the layout
        bbox = fig.get_tightbbox(fig.canvas.get_renderer()).padded(plt.rcParams["savefig.pad_inches"])
        fig.set_layout_engine("none")  # savefig then draws once, without laying out again
        for fmt, target in (("png", base), *((f, f"{stem}.{f}") for f in formats if f != "png")):
            with atomic_open(target) as f:
                fig.savefig(f, dpi=PNG_DPI, format=fmt, bbox_inches=bbox)
            written.append(target)
    finally:
        plt.close(fig)
    return written
