"""The README's main job (``hwsim demo``): what pruning buys on every registered hardware back-end, on the
bundled models and data, written as a report (JSON + Markdown), CSV tables and PNG figures.

Steps: (1) the model zoo; (2) float accuracy of the zoo's shipped weights on the full Fashion-MNIST test set;
(3) their cost on every back-end at its default preset; (4) a pruning sweep of :data:`SWEEP_MODEL` (global
magnitude pruning, unstructured and aligned to each back-end's pruning unit; cost only, no fine-tuning) through
each back-end's sweep variants (:meth:`hwsim.backend.Backend.sweep_variants`, e.g. every mapping mode);
(5) accuracy *on hardware* of :data:`SWEEP_MODEL` through every back-end.
"""
from __future__ import annotations

import csv
import json
import sys
import time
from pathlib import Path
from typing import Any

SWEEP_SPARSITIES = (0.0, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98)
SWEEP_MODEL = "lenet-300-100"
#: Vector formats written beside every PNG figure (for papers).
FIGURE_FORMATS = ("pdf",)
"""The zoo model the demo prunes, plots and evaluates on hardware (it must ship weights)."""


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def _pruned(net: Any, sparsity: float, structure: str, tile: tuple[int, int] | None) -> Any:
    from . import prune as hp

    pruned = net.copy()
    if sparsity > 0:
        scores = hp.score(pruned, None, "magnitude")
        pruned.set_masks(hp.select(scores, sparsity, scope="global", structure=structure, tile=tile))
    return pruned


def run_demo(out: Path, data_dir: str | None = None, as_json: bool = False) -> dict[str, Any]:
    """Run the demo into folder ``out`` and return the report dict (also written to ``out/report.json``).

    The folder is built beside ``out`` and replaces it as a whole once complete, with a manifest of checksums
    written last (:func:`hwsim.atomic_io.output_folder`): an interrupted run leaves the previous folder intact.
    """
    from .atomic_io import check_output_dir, output_folder

    out = check_output_dir(out, "--out")
    with output_folder(out) as stage:
        report, text = _run_demo(out, stage, data_dir)
    print(json.dumps(report, indent=2, default=str) if as_json else text)
    return report


def _run_demo(out: Path, stage: Path, data_dir: str | None) -> tuple[dict[str, Any], str]:
    """(report, Markdown text) of :func:`run_demo`, both written into the staging folder ``stage`` (``out`` only
    names the result in the text)."""
    import models
    from models import fashion_mnist

    from . import backend, plots
    from .tables import table

    t_start = time.perf_counter()
    report: dict[str, Any] = {"models": [models.info(n).__dict__ for n in models.names()]}

    _log("[1/5] model zoo")
    _log("[2/5] float accuracy of the shipped weights on the Fashion-MNIST test set")
    x, y = fashion_mnist.load("test", data_dir)
    nets = {name: models.get(name, pretrained=True) for name, e in models.REGISTRY.items() if e.ships_weights}
    report["accuracy"] = [{"model": n, "accuracy": net.accuracy(x, y), "n": int(len(y))} for n, net in nets.items()]

    _log("[3/5] cost of the shipped networks on every back-end (default presets)")
    backends = {be.name: (be, be.resolve_config()) for be in backend.backends()}
    report["cost"] = []
    for name, net in nets.items():
        for hw, (be, cfg) in backends.items():
            rep = be.cost(be.map(net, cfg))
            report["cost"].append({"model": name, "hardware": hw, "preset": rep.preset, **rep.total.to_dict()})
            if name == SWEEP_MODEL:
                for q in ("energy_j", "static_power_w"):
                    what = "energy per inference" if q == "energy_j" else "static power"
                    ax = plots.plot_breakdown(rep, q, title=plots.figure_title(
                        models.entry(name).title, hw, rep.preset, 0.0, f"{what} by component and layer"))
                    plots.save(ax, str(stage / f"breakdown_{hw}_{q}.png"), formats=FIGURE_FORMATS)
    _write_csv(stage / "cost.csv", report["cost"])

    _log(f"[4/5] pruning sweep of {SWEEP_MODEL} through every back-end's variants")
    base, title = nets[SWEEP_MODEL], models.entry(SWEEP_MODEL).title
    sweep_rows: list[dict[str, Any]] = []
    series: dict[str, dict[str, list]] = {hw: {} for hw in backends}
    accuracy_series: dict[str, dict[str, list]] = {hw: {} for hw in backends}
    for hw, (be, default_cfg) in backends.items():
        structure_unit, tile = be.pruning_unit(default_cfg)
        variants = be.sweep_variants(default_cfg)
        for structure in ("unstructured", structure_unit):
            label = "unstructured" if structure == "unstructured" else f"tile-aligned {tile[0]} out x {tile[1]} in"
            for s in SWEEP_SPARSITIES:
                net = _pruned(base, s, structure, tile)
                acc = net.accuracy(x, y)
                accuracy_series[hw].setdefault(label, []).append((s, acc))
                for mode, cfg in variants:
                    rep = be.cost(be.map(net, cfg))
                    key = f"{mode}, {label}" if len(variants) > 1 else label
                    series[hw].setdefault(key, []).append((s, rep))
                    sweep_rows.append({"hardware": hw, "mapping": mode, "structure": label, "sparsity": s,
                                       "float_accuracy_no_finetune": acc, **rep.total.to_dict()})
                _log(f"      {hw:<8} {label:<22} sparsity {s:.2f}: float accuracy {acc * 100:.2f}% (no fine-tuning)")
    _write_csv(stage / "sweep.csv", sweep_rows)
    figures = []
    span = f"{100 * min(SWEEP_SPARSITIES):g}-{100 * max(SWEEP_SPARSITIES):g} % weight sparsity"
    for hw, metric in ((hw, m) for hw, (be, _) in backends.items() for m in be.sweep_metrics):
        # cost (absolute, SI prefix, % of the unpruned network on the right) beside float accuracy at each sparsity
        cost_ax, acc_ax = plots.axes_grid(2, width=5.2, height=4.6)
        plots.plot_metric_vs_sparsity(series[hw], metric, ax=cost_ax, relative=True,
                                      title=plots.figure_title(title, hw, backends[hw][1].preset, span,
                                                               "global magnitude pruning, no fine-tuning"))
        plots.plot_accuracy_vs_sparsity(accuracy_series[hw], ax=acc_ax, margin_pt=None,
                                        ylabel="float test accuracy, no fine-tuning (%)",
                                        title=f"{title}: accuracy of the same pruned networks ({len(y)} images)")
        plots.legend_outside(acc_ax, below=True)
        path = stage / f"{hw}_{metric}_vs_sparsity.png"
        plots.save(cost_ax, str(path), formats=FIGURE_FORMATS)
        figures.append(path.name)
    report["sweep"] = sweep_rows

    _log(f"[5/5] accuracy on hardware: {SWEEP_MODEL} through every back-end (full test set)")
    report["hardware_accuracy"] = []
    for hw, (be, cfg) in backends.items():
        t0 = time.perf_counter()
        acc = be.accuracy(be.map(base, cfg), x, y, seed=0)
        report["hardware_accuracy"].append({"model": SWEEP_MODEL, "hardware": hw, "preset": None,
                                            "accuracy": acc, "n": int(len(y)), "seconds": time.perf_counter() - t0})
    report["figures"] = figures + sorted(p.name for p in stage.glob("breakdown_*.png"))
    report["figures_vector"] = sorted(p.name for f in FIGURE_FORMATS for p in stage.glob(f"*.{f}"))
    report["seconds"] = time.perf_counter() - t_start
    (stage / "report.json").write_text(json.dumps(report, indent=2, default=str))

    text = [
        "## Model zoo",
        table(["model", "kind", "layers", "weights", "MVMs/inference"],
               [[m["name"], m["kind"], m["layers"], f"{m['weights']:,}", f"{m['mvms_per_inference']:,}"]
                for m in report["models"]]),
        "", "## Test accuracy of the shipped weights (float)",
        table(["model", "accuracy", "images"], [[a["model"], f"{a['accuracy'] * 100:.2f}%", a["n"]]
                                                 for a in report["accuracy"]]),
        "", "## Cost per inference (default presets)",
        table(["model", "hardware", "tiles", "latency us", "energy nJ", "static mW", "area mm2"],
               [[c["model"], c["hardware"], c["tiles"], f"{c['latency_s'] * 1e6:.4g}", f"{c['energy_j'] * 1e9:.4g}",
                 f"{c['static_power_w'] * 1e3:.4g}", f"{c['area_mm2']:.4g}"] for c in report["cost"]]),
        "", f"## {title}, global magnitude pruning at 90% (no fine-tuning)",
        table(["hardware", "mapping", "pruning", "tiles", "static mW", "energy nJ"],
               [[r["hardware"], r["mapping"], r["structure"], r["tiles"], f"{r['static_power_w'] * 1e3:.4g}",
                 f"{r['energy_j'] * 1e9:.4g}"] for r in sweep_rows if r["sparsity"] == 0.9]),
        "", f"## Accuracy on hardware ({title}, default presets)",
        table(["hardware", "accuracy", "images", "seconds"],
               [[a["hardware"], f"{a['accuracy'] * 100:.2f}%", a["n"], f"{a['seconds']:.1f}"]
                for a in report["hardware_accuracy"]]),
        "", f"figures and tables in {out}/: " + ", ".join(report["figures"] + ["cost.csv", "sweep.csv"]),
    ]
    (stage / "report.md").write_text("\n".join(text) + "\n")
    return report, "\n".join(text)
