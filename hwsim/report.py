"""The hardware-independent cost Report every back-end returns.

All quantities are plain SI: seconds, joules, watts; area in mm^2 (the one exception, named in the
field). ``energy_j`` and ``latency_s`` are per inference (one input sample). The JSON form produced by
:meth:`Report.to_dict` is a public contract (see DESIGN.md): keys may be added, never renamed or dropped.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence


@dataclass(frozen=True)
class ComponentCost:
    """Cost of one hardware component within one layer."""

    energy_j: float = 0.0
    """Energy per inference, J."""
    static_power_w: float = 0.0
    """Static (leakage / holding) power, W."""
    area_mm2: float = 0.0
    """Silicon area, mm^2."""

    def to_dict(self) -> dict[str, float]:
        return {"energy_j": float(self.energy_j), "static_power_w": float(self.static_power_w),
                "area_mm2": float(self.area_mm2)}


@dataclass(frozen=True)
class LayerReport:
    """Cost of one weighted layer (one 2-D weight matrix)."""

    name: str
    shape: tuple[int, int]
    """(out_features, in_features) of the weight matrix."""
    mvms_per_inference: int
    """Matrix-vector products one inference makes with this matrix."""
    tiles: int
    """Allocated hardware tiles, in the back-end's unit of allocation (e.g. crossbars or K x K meshes)."""
    latency_s: float
    """Latency of this layer for one inference, s."""
    energy_j: float
    """Energy of this layer for one inference, J (dynamic + static x latency)."""
    static_power_w: float
    """Static power of this layer's allocated hardware, W."""
    area_mm2: float
    """Area of this layer's allocated hardware, mm^2."""
    breakdown: Mapping[str, ComponentCost] = field(default_factory=dict)
    """Per-component costs; their sums equal the layer's energy, static power and area."""
    counts: Mapping[str, float] = field(default_factory=dict)
    """Action counts per inference (conversions, driven rows, heaters on, ...), back-end specific."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "shape": [int(self.shape[0]), int(self.shape[1])],
            "mvms_per_inference": int(self.mvms_per_inference),
            "tiles": int(self.tiles),
            "latency_s": float(self.latency_s),
            "energy_j": float(self.energy_j),
            "static_power_w": float(self.static_power_w),
            "area_mm2": float(self.area_mm2),
            "breakdown": {k: v.to_dict() for k, v in self.breakdown.items()},
            "counts": {k: _num(v) for k, v in self.counts.items()},
        }


@dataclass(frozen=True)
class Totals:
    """Network totals of a Report."""

    tiles: int
    latency_s: float
    """Latency of one inference through all layers, s."""
    energy_j: float
    """Energy of one inference, J."""
    static_power_w: float
    """Static power of all allocated hardware, W."""
    area_mm2: float
    """Area of all allocated hardware, mm^2."""

    def to_dict(self) -> dict[str, Any]:
        return {"tiles": int(self.tiles), "latency_s": float(self.latency_s), "energy_j": float(self.energy_j),
                "static_power_w": float(self.static_power_w), "area_mm2": float(self.area_mm2)}


@dataclass(frozen=True)
class Chip:
    """The whole allocated hardware (all chips) running the network's schedule (DESIGN.md, "Chip level").

    Every back-end that models a chip fills the same keys. One MAC counts as 2 ops; ``energy_per_inference_j``
    includes static power x the schedule's wall-clock time per inference."""

    chips: int
    """Chips allocated."""
    tiles_used: int
    """Physical tiles (crossbar tiles, photonic cores, ...) the schedule uses."""
    tiles_available: int
    """Physical tiles on the allocated chips."""
    latency_s: float
    """Latency of one input through the whole schedule, s."""
    pipeline_interval_s: float
    """Time between successive inferences in steady state, s (1 / throughput)."""
    energy_per_inference_j: float
    """Dynamic plus static energy per inference in steady state, J."""
    static_power_w: float
    """Static (always-on) power of the allocated chips, W."""
    area_mm2: float
    """Area of the allocated chips, mm^2."""
    macs_per_inference: int
    """Multiply-accumulates of one inference (for ops/s and TOPS/W: 2 ops per MAC)."""
    breakdown: Mapping[str, ComponentCost] = field(default_factory=dict)
    """Per-component energy per inference, static power and area; sums equal the chip's figures."""

    @property
    def utilization(self) -> float:
        """tiles_used / tiles_available."""
        return self.tiles_used / self.tiles_available if self.tiles_available else 0.0

    @property
    def throughput_inferences_per_s(self) -> float:
        """1 / pipeline_interval_s."""
        return 1.0 / self.pipeline_interval_s if self.pipeline_interval_s > 0 else math.inf

    @property
    def tops_per_w(self) -> float:
        """Tera-operations per second per watt = 2 MACs / energy per inference / 1e12."""
        return 2.0 * self.macs_per_inference / self.energy_per_inference_j / 1e12 if self.energy_per_inference_j else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"chips": int(self.chips), "tiles_used": int(self.tiles_used),
                "tiles_available": int(self.tiles_available), "utilization": float(self.utilization),
                "latency_s": float(self.latency_s), "pipeline_interval_s": float(self.pipeline_interval_s),
                "throughput_inferences_per_s": float(self.throughput_inferences_per_s),
                "energy_per_inference_j": float(self.energy_per_inference_j),
                "static_power_w": float(self.static_power_w), "area_mm2": float(self.area_mm2),
                "tops_per_w": float(self.tops_per_w), "macs_per_inference": int(self.macs_per_inference),
                "breakdown": {k: v.to_dict() for k, v in self.breakdown.items()}}


@dataclass(frozen=True)
class Report:
    """Cost of a mapped network on one hardware back-end."""

    hardware: str
    """Registry name of the back-end (:mod:`hwsim.backend`)."""
    preset: str | None
    config: Mapping[str, Any]
    """The resolved configuration as a JSON-able dict."""
    layers: tuple[LayerReport, ...]
    total: Totals
    extra: Mapping[str, Any] = field(default_factory=dict)
    """Additional back-end specific network-level figures (e.g. pipelined throughput)."""
    chip: Chip | None = None
    """The chip-level view (all chips running the schedule), for back-ends that model a chip."""

    @classmethod
    def from_layers(cls, hardware: str, preset: str | None, config: Mapping[str, Any],
                    layers: Sequence[LayerReport], latency_s: float | None = None,
                    extra: Mapping[str, Any] | None = None, chip: Chip | None = None) -> "Report":
        """Build a Report whose totals are the sums over layers.

        ``latency_s`` overrides the summed latency (e.g. when a back-end overlaps layers).
        """
        layers = tuple(layers)
        total = Totals(
            tiles=int(sum(l.tiles for l in layers)),
            latency_s=float(sum(l.latency_s for l in layers)) if latency_s is None else float(latency_s),
            energy_j=float(sum(l.energy_j for l in layers)),
            static_power_w=float(sum(l.static_power_w for l in layers)),
            area_mm2=float(sum(l.area_mm2 for l in layers)),
        )
        return cls(hardware, preset, dict(config), layers, total, dict(extra or {}), chip)

    def breakdown(self) -> dict[str, ComponentCost]:
        """Per-component costs summed over layers."""
        acc: dict[str, list[float]] = {}
        for layer in self.layers:
            for name, c in layer.breakdown.items():
                a = acc.setdefault(name, [0.0, 0.0, 0.0])
                a[0] += c.energy_j
                a[1] += c.static_power_w
                a[2] += c.area_mm2
        return {k: ComponentCost(*v) for k, v in acc.items()}

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract of DESIGN.md (plus added keys ``breakdown``, ``extra`` and per-layer ``counts``)."""
        total = self.total.to_dict()
        total["breakdown"] = {k: v.to_dict() for k, v in self.breakdown().items()}
        out = {
            "hardware": self.hardware,
            "preset": self.preset,
            "config": _jsonable(self.config),
            "layers": [l.to_dict() for l in self.layers],
            "total": total,
            "extra": _jsonable(self.extra),
        }
        if self.chip is not None:
            out["chip"] = self.chip.to_dict()
        return out

    def to_json(self, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    def format_table(self) -> str:
        """A human-readable table; each column's SI prefix is chosen from its largest value (ns/\u00b5s/ms,
        pJ/nJ/\u00b5J, mW/W/kW; "\u00b5" for micro), area in mm^2."""
        lat = _column_unit("s", [l.latency_s for l in self.layers] + [self.total.latency_s])
        en = _column_unit("J", [l.energy_j for l in self.layers] + [self.total.energy_j])
        pw = _column_unit("W", [l.static_power_w for l in self.layers] + [self.total.static_power_w])
        head = (f"{'layer':<16}{'shape':>14}{'MVMs':>9}{'tiles':>9}{'latency ' + lat[0]:>14}{'energy ' + en[0]:>14}"
                f"{'static ' + pw[0]:>13}{'area mm2':>11}")
        rows = [f"hardware: {self.hardware}   preset: {self.preset or '-'}", head, "-" * len(head)]

        def row(name: str, shape: str, mvms: str, t: Any) -> str:
            return (f"{name:<16}{shape:>14}{mvms:>9}{t.tiles:>9d}{t.latency_s * lat[1]:>14.4g}"
                    f"{t.energy_j * en[1]:>14.4g}{t.static_power_w * pw[1]:>13.4g}{t.area_mm2:>11.4g}")

        for l in self.layers:
            rows.append(row(l.name[:16], f"{l.shape[0]}x{l.shape[1]}", str(l.mvms_per_inference), l))
        rows.append("-" * len(head))
        rows.append(row("sum of layers", "", "", self.total))  # Report.total; the chip line is the whole schedule
        if self.chip is not None:
            c = self.chip
            rows.append("")
            rows.append(f"chip: {c.chips} chip(s), {c.tiles_used} of {c.tiles_available} tiles used; latency "
                        f"{si(c.latency_s, 's')}, throughput {c.throughput_inferences_per_s:.4g} inferences/s, "
                        f"{si(c.energy_per_inference_j, 'J')}/inference, static {si(c.static_power_w, 'W')}, "
                        f"{c.area_mm2:.4g} mm2, {c.tops_per_w:.4g} TOPS/W")
        rows += _component_rows("component", self.breakdown())
        if self.chip is not None and self.chip.breakdown:
            # the chip's own breakdown: per inference in steady state, with buffers, interconnect, links and the
            # static power of every allocated tile (the table above is the crossbar level, Report.total)
            rows += _component_rows("chip component", self.chip.breakdown)
        return "\n".join(rows)


def _component_rows(title: str, comps: Mapping[str, ComponentCost]) -> list[str]:
    """Rows of a component table (energy, static power, area), each column with its own SI prefix."""
    if not comps:
        return []
    cen = _column_unit("J", [c.energy_j for c in comps.values()])
    cpw = _column_unit("W", [c.static_power_w for c in comps.values()])
    rows = ["", f"{title:<20}{'energy ' + cen[0]:>14}{'static ' + cpw[0]:>13}{'area mm2':>11}"]
    for name, c in comps.items():
        rows.append(f"{name:<20}{c.energy_j * cen[1]:>14.4g}{c.static_power_w * cpw[1]:>13.4g}{c.area_mm2:>11.4g}")
    return rows


_SI_PREFIXES = ((1e-15, "f"), (1e-12, "p"), (1e-9, "n"), (1e-6, "\u00b5"), (1e-3, "m"), (1.0, ""), (1e3, "k"),
                (1e6, "M"), (1e9, "G"))


def _prefix(largest: float) -> tuple[str, float]:
    """(prefix, factor from SI) putting ``largest`` between 1 and 1000."""
    scale, prefix = 1.0, ""
    if largest and math.isfinite(largest):
        scale, prefix = _SI_PREFIXES[0]
        for s, p in _SI_PREFIXES:
            if abs(largest) >= s * 0.9995:
                scale, prefix = s, p
    return prefix, 1.0 / scale


def _column_unit(unit: str, values: Sequence[float]) -> tuple[str, float]:
    """(unit with prefix, factor from SI) for a table column holding ``values`` (SI)."""
    prefix, factor = _prefix(max((abs(float(v)) for v in values), default=0.0))
    return prefix + unit, factor


def si(value: float, unit: str, digits: int = 4) -> str:
    """``value`` (SI) with its own prefix: ``si(8696.0, "W")`` -> ``"8.696 kW"``."""
    prefix, factor = _prefix(abs(float(value)))
    return f"{float(value) * factor:.{digits}g} {prefix}{unit}"


def si_format(metric: str, value: Any) -> str:
    """A metric of a Report or sweep row for a table: SI prefix from the metric's unit suffix (``_w``, ``_j``,
    ``_s``), accuracies and fractions in %, other numbers with 4 significant digits."""
    if value is None or isinstance(value, str):
        return str(value)
    base = metric.split(".")[-1]
    if metric in ("accuracy", "float_accuracy", "weight_sparsity") or base == "utilization":
        return f"{100 * float(value):.2f}%"
    for suffix, unit in (("_w", "W"), ("_j", "J"), ("_s", "s")):
        if base.endswith(suffix) and not base.endswith("per_s"):
            return si(value, unit)
    if base.endswith("mm2"):
        return f"{float(value):.4g} mm2"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _num(v: Any) -> Any:
    if isinstance(v, (bool,)):
        return v
    if isinstance(v, int) or (hasattr(v, "dtype") and getattr(v.dtype, "kind", "") in "iu"):
        return int(v)
    f = float(v)
    return int(f) if f.is_integer() and abs(f) < 2**53 else f


def _jsonable(obj: Any) -> Any:
    """Convert nested dataclass-dicts, tuples and numpy scalars into JSON-able values."""
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (str, bool)) or obj is None:
        return obj
    if isinstance(obj, (int, float)):
        if isinstance(obj, float) and not math.isfinite(obj):
            return str(obj)
        return obj
    if hasattr(obj, "item"):
        return _jsonable(obj.item())
    return str(obj)
