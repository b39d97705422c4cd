"""The README's main job (``hwsim demo``): what pruning buys on every registered hardware back-end, on the
bundled models and data, written as a report (JSON, Markdown and a self-contained HTML page with the figures inline),
CSV tables and PNG (+ PDF) figures.

Steps: (1) the model zoo; (2) float accuracy of the zoo's shipped weights on the Fashion-MNIST test set (the first
:data:`FLOAT_IMAGES` images for the large ones);
(3) their cost on every back-end at its default preset; (4) a pruning sweep of :data:`SWEEP_MODEL` (global
magnitude pruning, unstructured and aligned to each back-end's pruning unit; cost only, no fine-tuning) through
each back-end's sweep variants (:meth:`hwsim.backend.Backend.sweep_variants`, e.g. every mapping mode);
(5) accuracy *on hardware* of :data:`SWEEP_MODEL` through every back-end at its default preset, which carries a built
chip's non-idealities (named in every row: :meth:`hwsim.backend.BackendBase.nonidealities`), and at its ``ideal``
preset when it has one, then of the :data:`HARDWARE_IMAGES` models at the default presets on their first images;
(6) the headline table (chip-level cost beside accuracy on hardware) and ``report.html``.

Steps 2 and 5 (about 13 s of one core: the float passes and the bit-serial ReRAM and photonic forward passes) need
nothing from steps 3-4, so on a machine with a second core a side process (:mod:`hwsim._side`) measures step 2 and the
first back-end's part of step 5 (:func:`measurements`) while this process maps, costs and plots on one BLAS thread,
then measures the other back-ends' part of step 5 (the warm demo 21-27 s -> 13-14 s on 2 cores, BENCHMARKS.md); the
side's rows are checked on arrival, and without a second core, or when it fails, they are measured here.
"""
from __future__ import annotations

import contextlib
import csv
import json
import sys
import time
from pathlib import Path
from typing import Any

SWEEP_SPARSITIES = (0.0, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98)
SWEEP_MODEL = "lenet-300-100"
"""The zoo model the demo prunes, plots and evaluates on hardware on the full test set (it must ship weights)."""
#: Test images (the first N) for a shipped model's float accuracy when not the full set: ResNet-20 makes 40.6 M MACs
#: per image (about 2.7 ms each in numpy on one core); its full-set figure is a test (tests/test_pretrained.py).
FLOAT_IMAGES = {"resnet20": 1000}
#: Further shipped models whose accuracy on hardware the demo measures at each back-end's default preset, on the first
#: N test images (ResNet-20 through the bit-serial ReRAM model: about 50 ms per image on one core).
HARDWARE_IMAGES = {"resnet20": 100}
#: Seed of the chip instance (device variation, phase noise) accuracy on hardware is measured on.
HARDWARE_SEED = 0
#: Vector formats written beside every PNG figure (for papers).
FIGURE_FORMATS = ("pdf",)


#: File-name stems of the sweep figures of chip-level metrics (the names the layer-sum figures had).
_FIGURE_STEMS = {"chip.static_power_w": "static_power_w", "chip.energy_per_inference_j": "energy_j"}


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    import io

    from .atomic_io import write_text

    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\r\n")
    w.writeheader()
    w.writerows(rows)
    write_text(path, buf.getvalue())


def _pruned(net: Any, sparsity: float, structure: str, tile: tuple[int, int] | None) -> Any:
    from . import prune as hp
    from .nn.im2col import supports

    pruned = net.copy()
    if sparsity > 0:
        scores = hp.score(pruned, None, "magnitude")
        pruned.set_masks(hp.select(scores, sparsity, scope="global", structure=structure, tile=tile,
                                   support=supports(pruned)))
    return pruned


def run_demo(out: Path, data_dir: str | None = None, as_json: bool = False) -> dict[str, Any]:
    """Run the demo into folder ``out`` and return the report dict (also written to ``out/report.json``).

    The folder is built beside ``out`` and replaces it as a whole once complete, with a manifest of checksums
    written last (:func:`hwsim.atomic_io.output_folder`): an interrupted run leaves the previous folder intact.
    """
    from threadpoolctl import threadpool_limits

    from . import _side
    from .atomic_io import check_output_dir, output_folder

    out = check_output_dir(out, "--out")
    side = _side.start("hwsim.demo:measurements", [data_dir or "", ",".join(_side_backends(_backend_names())),
                                                   "" if _sweep_kernels_cached() else "compile-sweep"])
    # beside the side process, one BLAS thread here (two processes on two cores: more threads only contend; measured:
    # warm demo 16.1 -> 14.5 s)
    blas = threadpool_limits(1, user_api="blas") if side is not None else contextlib.nullcontext()
    try:
        with blas, output_folder(out) as stage:
            report, text = _run_demo(out, stage, data_dir, side)
    finally:
        if side is not None:
            side.stop()
    print(json.dumps(report, indent=2, default=str) if as_json else text)
    return report


def _run_demo(out: Path, stage: Path, data_dir: str | None, side: Any = None) -> tuple[dict[str, Any], str]:
    """(report, Markdown text) of :func:`run_demo`, both written into the staging folder ``stage`` (``out`` only
    names the result in the text). ``side``: a side process (:mod:`hwsim._side`) computing :func:`measurements`
    (steps 2 and 5) beside steps 3-4, or None to compute them here."""
    import models
    from models import fashion_mnist

    from . import backend, plots
    from .atomic_io import write_text
    from .report import si
    from .tables import table

    t_start = time.perf_counter()
    report: dict[str, Any] = {"models": [models.info(n).__dict__ for n in models.names()]}

    _log("[1/6] model zoo")
    x, y = fashion_mnist.load("test", data_dir)
    nets = _shipped_nets()
    if side is not None:
        _log("[2/6] float accuracy of the shipped weights on the Fashion-MNIST test set, and [5/6] accuracy on "
             "hardware: measured in a second process beside steps 3-4")
        report["accuracy"] = []  # filled at step 5 (its place in report.json stays)
    else:
        _log("[2/6] float accuracy of the shipped weights on the Fashion-MNIST test set")
        report["accuracy"] = float_accuracies(nets, x, y)

    _log("[3/6] cost of the shipped networks on every back-end (default presets)")
    backends = {be.name: (be, be.resolve_config()) for be in backend.backends()}
    report["cost"] = []
    headline_reports: dict[str, Any] = {}
    for name, net in nets.items():
        for hw, (be, cfg) in backends.items():
            rep = be.cost(be.map(net, cfg))
            report["cost"].append({"model": name, "hardware": hw, "preset": rep.preset, **rep.total.to_dict(),
                                   **_chip_columns(rep)})
            if name == SWEEP_MODEL:
                headline_reports[hw] = rep
                for q in ("energy_j", "static_power_w"):
                    what = "energy per inference" if q == "energy_j" else "static power"
                    ax = plots.plot_breakdown(rep, q, title=plots.figure_title(
                        models.entry(name).title, hw, rep.preset, 0.0, f"{what} by component and layer"))
                    plots.save(ax, str(stage / f"breakdown_{hw}_{q}.png"), formats=FIGURE_FORMATS)
                if rep.chip is not None:  # the whole chip: what the layers share (a time-multiplexed laser, cores)
                    axes = plots.axes_grid(2, width=4.6, height=3.2)
                    for ax, q in zip(axes, ("static_power_w", "energy_j")):
                        what = "chip static power" if q == "static_power_w" else "chip energy per inference"
                        plots.plot_chip_breakdown(rep, q, ax=ax, title=plots.figure_title(
                            models.entry(name).title, hw, rep.preset, 0.0, f"{what} by component"))
                    plots.save(axes[0], str(stage / f"breakdown_{hw}_chip.png"), formats=FIGURE_FORMATS)
    _write_csv(stage / "cost.csv", report["cost"])

    _log(f"[4/6] pruning sweep of {SWEEP_MODEL} through every back-end's variants")
    base, title = nets[SWEEP_MODEL], models.entry(SWEEP_MODEL).title
    sweep_rows: list[dict[str, Any]] = []
    series: dict[str, dict[str, list]] = {hw: {} for hw in backends}
    accuracy_series: dict[str, dict[str, list]] = {hw: {} for hw in backends}
    pruned: dict[tuple, tuple[Any, float]] = {}  # one pruned network and float pass per distinct pruning
    for hw, (be, default_cfg) in backends.items():
        structure_unit, tile = be.pruning_unit(default_cfg)
        variants = be.sweep_variants(default_cfg)
        for structure in ("unstructured", structure_unit):
            label = "unstructured" if structure == "unstructured" else f"tile-aligned {tile[0]} out x {tile[1]} in"
            for s in SWEEP_SPARSITIES:
                key = (s, structure, None if structure == "unstructured" else tuple(tile)) if s > 0 else (0.0,)
                if key not in pruned:
                    net = _pruned(base, s, structure, tile)
                    pruned[key] = net, net.accuracy(x, y)
                net, acc = pruned[key]
                accuracy_series[hw].setdefault(label, []).append((s, acc))
                for mode, cfg in variants:
                    rep = be.cost(be.map(net, cfg))
                    key = f"{mode}, {label}" if len(variants) > 1 else label
                    series[hw].setdefault(key, []).append((s, rep))
                    sweep_rows.append({"hardware": hw, "mapping": mode, "structure": label, "sparsity": s,
                                       "float_accuracy_no_finetune": acc, **rep.total.to_dict(),
                                       **_chip_columns(rep)})
                _log(f"      {hw:<8} {label:<22} sparsity {s:.2f}: float accuracy {acc * 100:.2f}% (no fine-tuning)")
    _add_unpruned_ratios(sweep_rows)
    _write_csv(stage / "sweep.csv", sweep_rows)
    figures: list[str] = []
    figure_metrics: dict[str, str] = {}
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
        path = stage / f"{hw}_{_FIGURE_STEMS.get(metric, metric)}_vs_sparsity.png"
        plots.save(cost_ax, str(path), formats=FIGURE_FORMATS)
        figures.append(path.name)
        figure_metrics[path.name] = metric
    report["sweep"] = sweep_rows

    _log(f"[5/6] accuracy on hardware: {SWEEP_MODEL} through every back-end (full test set, chip instance seed "
         f"{HARDWARE_SEED})")
    if side is None:
        report["hardware_accuracy"] = hardware_accuracies(nets, backends, x, y, report["accuracy"], log=True)
    else:  # the side process measures the first back-end's rows; the others' are measured here meanwhile
        in_side = {n: backends[n] for n in _side_backends(list(backends))}
        here = {n: b for n, b in backends.items() if n not in in_side}
        unpruned = [{"model": SWEEP_MODEL, "accuracy": pruned[(0.0,)][1]}]  # the sweep's float pass at sparsity 0
        rows = hardware_accuracies(nets, here, x, y, unpruned, log=True)
        measured = _checked_measurements(side.result(), nets, in_side)
        if measured is not None:
            report["accuracy"] = measured["accuracy"]
            _log_hardware_rows(measured["hardware_accuracy"])
        else:
            _log("      the second process gave no result: measuring here")
            report["accuracy"] = float_accuracies(nets, x, y)
            measured = {"hardware_accuracy": hardware_accuracies(nets, in_side, x, y, report["accuracy"], log=True)}
        report["hardware_accuracy"] = _in_table_order(measured["hardware_accuracy"] + rows, nets, backends)

    _log("[6/6] headline table and reports (JSON, Markdown, HTML)")
    report["headline"] = []
    for hw, rep in headline_reports.items():
        acc_row = next(a for a in report["hardware_accuracy"]
                       if a["model"] == SWEEP_MODEL and a["hardware"] == hw and a["preset"] == rep.preset)
        report["headline"].append(_headline(SWEEP_MODEL, title, hw, rep, acc_row))
    report["figures"] = figures + sorted(p.name for p in stage.glob("breakdown_*.png"))
    report["figure_metrics"] = figure_metrics
    report["figures_vector"] = sorted(p.name for f in FIGURE_FORMATS for p in stage.glob(f"*.{f}"))
    report["report_html"] = "report.html"
    report["seconds"] = time.perf_counter() - t_start
    write_text(stage / "report.json", json.dumps(report, indent=2, default=str))

    text = [
        "## Model zoo",
        table(["model", "kind", "layers", "weights", "MVMs/inference"],
               [[m["name"], m["kind"], m["layers"], f"{m['weights']:,}", f"{m['mvms_per_inference']:,}"]
                for m in report["models"]]),
        "", "## Test accuracy of the shipped weights (float)",
        table(["model", "accuracy", "images"], [[a["model"], f"{a['accuracy'] * 100:.2f}%", a["n"]]
                                                 for a in report["accuracy"]]),
        "", "## Cost per inference of the shipped networks (default presets, chip level)",
        table(["model", "hardware", "tiles", "chips", "latency", "energy", "static power", "area mm2", "TOPS/W"],
               [[c["model"], c["hardware"], c["tiles"], c["chips"] or "-", si(c["chip_latency_s"], "s"),
                 si(c["chip_energy_per_inference_j"], "J"), si(c["chip_static_power_w"], "W"),
                 f"{c['chip_area_mm2']:.4g}", _num(c["chip_tops_per_w"])] for c in report["cost"]]),
        "", f"## {title}, global magnitude pruning at 90% (no fine-tuning)",
        table(["hardware", "mapping", "pruning", "tiles", "layers static mW", "layers energy nJ", "chip static",
               "chip energy", "vs unpruned"],
               [[r["hardware"], r["mapping"], r["structure"], r["tiles"], f"{r['static_power_w'] * 1e3:.4g}",
                 f"{r['energy_j'] * 1e9:.4g}", si(r["chip_static_power_w"], "W"),
                 si(r["chip_energy_per_inference_j"], "J"), f"{r['chip_energy_vs_unpruned']:.2f}x"]
                for r in sweep_rows if r["sparsity"] == 0.9]),
        "(vs unpruned: chip energy per inference against the unpruned network on the same mapping, the baseline each "
        "mode is built to beat: SRE's operation-unit mode `ou` against itself on the dense network, whose many "
        "low-resolution conversions cost more than full-array reads)",
        "", f"## Accuracy on hardware (chip instance seed {HARDWARE_SEED}; float: the same images)",
        table(["model", "hardware", "preset", "accuracy", "float", "images", "seconds", "non-idealities on"],
               [[a["model"], a["hardware"], a["preset"], f"{a['accuracy'] * 100:.2f}%",
                 f"{a['float_accuracy'] * 100:.2f}%", a["n"], f"{a['seconds']:.1f}", a["nonidealities"]]
                for a in report["hardware_accuracy"]], left=(0, 1, 2, -1)),
        "", f"## Headline: {title} on each back-end's default preset (chip level)",
        table(["hardware", "preset", "sparsity", "accuracy", "static power", "energy", "latency", "area",
               "throughput", "TOPS/W"],
              [[h["hardware"], h["preset"], f"{h['sparsity'] * 100:g}%", f"{h['accuracy'] * 100:.2f}%",
                si(h["static_power_w"], "W"), si(h["energy_j"], "J"), si(h["latency_s"], "s"),
                f"{h['area_mm2']:.4g} mm2", f"{h['throughput_inferences_per_s']:,.0f}/s", f"{h['tops_per_w']:.4g}"]
               for h in report["headline"]]),
        "", f"figures and tables in {out}/: " + ", ".join(report["figures"] + ["cost.csv", "sweep.csv", "report.html"]),
    ]
    write_text(stage / "report.md", "\n".join(text) + "\n")
    write_text(stage / "report.html", _html(report, stage, title))
    return report, "\n".join(text)


def _add_unpruned_ratios(rows: list[dict[str, Any]]) -> None:
    """Each sweep row gains ``chip_energy_vs_unpruned``: its chip energy per inference over that of the unpruned
    network (sparsity 0) on the same hardware, mapping and pruning structure: what pruning buys on that mapping.
    A mode is built to beat its own unpruned operation (SRE's operation units against operation units on the dense
    network), which the absolute columns beside other modes do not show."""
    base = {(r["hardware"], r["mapping"], r["structure"]): r["chip_energy_per_inference_j"]
            for r in rows if r["sparsity"] == 0.0}
    for r in rows:
        r["chip_energy_vs_unpruned"] = r["chip_energy_per_inference_j"] / base[(r["hardware"], r["mapping"],
                                                                               r["structure"])]


def measurements(data_dir: str = "", backend_names: str = "", first: str = "") -> dict[str, list[dict[str, Any]]]:
    """Steps 2 and 5, the demo's accuracy measurements, as JSON-ready rows: ``accuracy`` (:func:`float_accuracies`)
    and ``hardware_accuracy`` (:func:`hardware_accuracies` on the back-ends named in the comma-separated
    ``backend_names``). Loads the models and data itself: the demo's side process (:mod:`hwsim._side`) runs it beside
    steps 3-4. ``first`` = "compile-sweep" (a first run, numba's cache empty): before measuring, map and cost one
    pruned network through the first back-end's sweep variants (:func:`compile_sweep_kernels`), so that their kernels
    are in numba's on-disk cache when step 4 of the demo needs them (the measurements are the same either way)."""
    from models import fashion_mnist

    from . import backend

    if first not in ("", "compile-sweep"):
        raise ValueError(f"measurements: first must be '' or 'compile-sweep', got {first!r}")
    x, y = fashion_mnist.load("test", data_dir or None)
    nets = _shipped_nets()
    bes = [backend.get(name) for name in backend_names.split(",") if name]
    backends = {be.name: (be, be.resolve_config()) for be in bes}
    if first == "compile-sweep":
        compile_sweep_kernels(nets[SWEEP_MODEL], backends)
    accuracy = float_accuracies(nets, x, y)
    return {"accuracy": accuracy, "hardware_accuracy": hardware_accuracies(nets, backends, x, y, accuracy)}


def compile_sweep_kernels(base: Any, backends: dict[str, Any]) -> None:
    """Map and cost ``base`` pruned to 90 % (unstructured and aligned to the back-end's pruning unit) through every
    sweep variant of the first back-end in ``backends`` (name -> (back-end, default config)): on a first run this
    compiles the ReRAM mapping modes of the demo's step 4 into numba's cache (3 s of the 9.5 s the cold demo compiled
    in its own process) while the demo maps the shipped networks. Only the first back-end's: the demo reaches the
    others' mappings while the side process would still be compiling them, and both compiling one kernel gains
    nothing (measured: the photonic lane decomposition compiled in both processes at once, cold demo 25.4-27.4 s)."""
    for be, cfg in list(backends.values())[:1]:
        unit, tile = be.pruning_unit(cfg)
        for structure in ("unstructured", unit):
            net = _pruned(base, 0.9, structure, tile)
            for _, variant in be.sweep_variants(cfg):
                be.cost(be.map(net, variant))


def _sweep_kernels_cached() -> bool:
    """Whether numba's on-disk cache holds the last kernel the demo's sweep compiles (False when it cannot tell:
    the check reads numba internals, and a wrong False only costs the side process a few seconds)."""
    from .reram import _kernels

    try:
        return Path(_kernels.ou_pack._cache._cache_file._index_path).exists()
    except AttributeError:
        return False


def float_accuracies(nets: dict[str, Any], x: Any, y: Any) -> list[dict[str, Any]]:
    """Step 2: each shipped model's float accuracy on the first :data:`FLOAT_IMAGES` test images (all by default)."""
    rows = []
    for n, net in nets.items():
        k = FLOAT_IMAGES.get(n, len(y))
        rows.append({"model": n, "accuracy": net.accuracy(x[:k], y[:k]), "n": int(min(k, len(y)))})
    return rows


def hardware_accuracies(nets: dict[str, Any], backends: dict[str, Any], x: Any, y: Any,
                        float_rows: list[dict[str, Any]], log: bool = False) -> list[dict[str, Any]]:
    """Step 5, in :func:`_hardware_plan`'s order: :data:`SWEEP_MODEL` on every back-end of ``backends`` (name ->
    (back-end, default config)) at its default preset and at ``ideal`` on the whole test set, then the
    :data:`HARDWARE_IMAGES` models at the default presets on their first images (``log``: print each row as it is
    measured)."""
    rows = []
    float_acc = {SWEEP_MODEL: next(a["accuracy"] for a in float_rows if a["model"] == SWEEP_MODEL)}
    for model, name, preset, k in _hardware_plan(nets, backends):
        be, default_cfg = backends[name]
        cfg = default_cfg if preset == be.default_preset else be.resolve_config(preset)
        if model not in float_acc:  # a HARDWARE_IMAGES model: its float accuracy on the same first images
            float_acc[model] = nets[model].accuracy(x[:k], y[:k])
        rows.append(_hardware_accuracy(model, nets[model], be, cfg, preset, x[:k], y[:k], float_acc[model]))
        if log:
            _log_hardware_rows(rows[-1:])
    return rows


def _hardware_plan(nets: dict[str, Any], backends: dict[str, Any]) -> list[tuple[str, str, str, int | None]]:
    """Step 5's rows in table order, as (model, back-end name, preset, first images or None for all):
    :data:`SWEEP_MODEL` on each back-end at :func:`_hardware_presets`, then each :data:`HARDWARE_IMAGES` model
    (shipped in ``nets``) on each back-end at its default preset."""
    plan: list[tuple[str, str, str, int | None]] = [
        (SWEEP_MODEL, name, p, None) for name, (be, _) in backends.items() for p in _hardware_presets(be)]
    plan += [(m, name, be.default_preset, k) for m, k in HARDWARE_IMAGES.items() if m in nets
             for name, (be, _) in backends.items()]
    return plan


def _log_hardware_rows(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        if row["model"] == SWEEP_MODEL:
            _log(f"      {row['hardware']:<8} preset {row['preset']:<12} {row['accuracy'] * 100:.2f}% "
                 f"({row['nonidealities']})")
        else:
            _log(f"      {row['model']} {row['hardware']:<8} preset {row['preset']:<12} {row['accuracy'] * 100:.2f}% "
                 f"on the first {row['n']} images (float {row['float_accuracy'] * 100:.2f}%)")


def _checked_measurements(got: Any, nets: dict[str, Any], backends: dict[str, Any]) -> dict[str, Any] | None:
    """The side process's :func:`measurements` when it has exactly the rows the demo expects (the models, back-ends
    and presets, with numeric accuracies in [0, 1]); None otherwise (the demo then measures in its own process)."""
    if not isinstance(got, dict) or set(got) != {"accuracy", "hardware_accuracy"}:
        return None
    acc, hw = got["accuracy"], got["hardware_accuracy"]
    if not (isinstance(acc, list) and isinstance(hw, list) and all(isinstance(r, dict) for r in acc + hw)):
        return None
    try:
        if [r["model"] for r in acc] != list(nets) or [(r["model"], r["hardware"]) for r in hw] != [
                (m, h) for m, h, _, _ in _hardware_plan(nets, backends)]:
            return None
        values = [r["accuracy"] for r in acc] + [r[k] for r in hw for k in ("accuracy", "float_accuracy")]
    except KeyError:
        return None
    if not all(isinstance(v, float) and 0.0 <= v <= 1.0 for v in values):
        return None
    return got


def _side_backends(names: list[str]) -> list[str]:
    """The back-ends whose accuracy on hardware the side process measures: the first (ReRAM's bit-serial engine,
    most of step 5's time); the demo's process measures the others' after its sweep. Measured balance on 2 cores:
    with every back-end's rows in the side process, the demo's process waited 1.5-1.7 s for it (warm) and 4 s (cold)."""
    return names[:1]


def _in_table_order(rows: list[dict[str, Any]], nets: dict[str, Any], backends: dict[str, Any]
                    ) -> list[dict[str, Any]]:
    """Accuracy-on-hardware rows measured in two processes, in :func:`_hardware_plan`'s order for ``backends`` (a
    stable sort: each back-end's presets stay as measured)."""
    order = {}
    for model, name, _, _ in _hardware_plan(nets, backends):
        order.setdefault((model, name), len(order))
    return sorted(rows, key=lambda r: order[(r["model"], r["hardware"])])


def _backend_names() -> list[str]:
    from . import backend

    return [be.name for be in backend.backends()]


def _shipped_nets() -> dict[str, Any]:
    """The zoo models that ship trained weights, loaded, by name."""
    import models

    return {name: models.get(name, pretrained=True) for name, e in models.REGISTRY.items() if e.ships_weights}


def _hardware_presets(be: Any) -> list[str]:
    """The presets step 5 measures the sweep model's accuracy on hardware with: the default, and ``ideal`` too when
    the back-end has one."""
    return [be.default_preset] + [p for p in ("ideal",) if p in be.presets and p != be.default_preset]


def _hardware_accuracy(model: str, net: Any, be: Any, cfg: Any, preset: str, x: Any, y: Any,
                       float_acc: float) -> dict[str, Any]:
    """One accuracy-on-hardware row: ``net`` mapped with ``cfg`` and run on (x, y) at chip seed HARDWARE_SEED."""
    t0 = time.perf_counter()
    acc = be.accuracy(be.map(net, cfg), x, y, seed=HARDWARE_SEED)
    nonideal = _nonidealities(be, cfg)
    return {"model": model, "hardware": be.name, "preset": getattr(cfg, "preset", preset), "accuracy": acc,
            "float_accuracy": float_acc, "n": int(len(y)), "seed": HARDWARE_SEED,
            "nonidealities": nonideal["summary"], "nonidealities_detail": nonideal,
            "seconds": time.perf_counter() - t0}


def _nonidealities(be: Any, cfg: Any) -> dict[str, Any]:
    """What the back-end applies when it measures accuracy with ``cfg`` (an optional hook of the contract)."""
    hook = getattr(be, "nonidealities", None)
    return dict(hook(cfg)) if hook is not None else {"summary": f"not declared by the {be.name} back-end",
                                                     "ideal": None}


def _num(v: Any) -> str:
    """A table cell: 4 significant digits, or "-" for a figure the back-end does not report."""
    return "-" if v is None else f"{v:.4g}"


def _chip_columns(rep: Any) -> dict[str, Any]:
    """A cost row's chip-level figures (``Report.chip``: all allocated hardware running the schedule; the layer sum
    ``Report.total`` counts a time-multiplexed photonic core once per layer that uses it)."""
    chip, total = rep.chip, rep.total
    if chip is None:
        return {"chips": None, "chip_latency_s": total.latency_s, "chip_energy_per_inference_j": total.energy_j,
                "chip_static_power_w": total.static_power_w, "chip_area_mm2": total.area_mm2,
                "chip_tops_per_w": None}
    return {"chips": chip.chips, "chip_latency_s": chip.latency_s, "chip_energy_per_inference_j":
            chip.energy_per_inference_j, "chip_static_power_w": chip.static_power_w, "chip_area_mm2": chip.area_mm2,
            "chip_tops_per_w": chip.tops_per_w}


def _headline(model: str, title: str, hw: str, rep: Any, acc: dict[str, Any]) -> dict[str, Any]:
    """One headline row: the shipped (unpruned) network's chip-level cost beside its accuracy on hardware."""
    chip = rep.chip
    total = rep.total
    return {"model": model, "model_title": title, "hardware": hw, "preset": rep.preset, "sparsity": 0.0,
            "accuracy": acc["accuracy"], "float_accuracy": acc["float_accuracy"], "accuracy_images": acc["n"],
            "seed": acc["seed"], "nonidealities": acc["nonidealities"],
            "static_power_w": chip.static_power_w if chip is not None else total.static_power_w,
            "energy_j": chip.energy_per_inference_j if chip is not None else total.energy_j,
            "latency_s": chip.latency_s if chip is not None else total.latency_s,
            "area_mm2": chip.area_mm2 if chip is not None else total.area_mm2,
            "throughput_inferences_per_s": chip.throughput_inferences_per_s if chip is not None else None,
            "tops_per_w": chip.tops_per_w if chip is not None else None,
            "level": "chip" if chip is not None else "total"}


_CAPTIONS = {
    "static_power_w": "static power", "energy_j": "energy per inference", "tiles": "allocated tiles",
    "latency_s": "latency",
}


def _caption(name: str, model_title: str, metric: str | None = None) -> str:
    """A figure's caption from its file name (and the Report metric a sweep figure plots, when known)."""
    from .plots import metric_name

    stem = name.rsplit(".", 1)[0]
    if stem.startswith("breakdown_"):
        hw, _, metric = stem[len("breakdown_"):].partition("_")
        if metric == "chip":
            return (f"{model_title} on {hw} (default preset, unpruned): the whole chip's static power and energy per "
                    "inference by component, over its schedule")
        return (f"{model_title} on {hw} (default preset, unpruned): {_CAPTIONS.get(metric, metric)} by component "
                "and layer")
    hw, _, rest = stem.partition("_")
    stem_metric = rest.replace("_vs_sparsity", "")
    what = metric_name(metric) if metric and metric.startswith("chip.") else _CAPTIONS.get(stem_metric, stem_metric)
    return (f"{model_title} on {hw}: {what} against weight sparsity (global magnitude "
            "pruning, no fine-tuning; unstructured and tile-aligned), beside the float accuracy of the same networks")


def _html(report: dict[str, Any], stage: Path, title: str) -> str:
    """report.html: headline, accuracy on hardware, cost tables and every PNG figure inline."""
    from . import report_html as H
    from .report import si

    acc_rows = [[a["model"], a["hardware"], str(a["preset"]), f"{a['accuracy'] * 100:.2f} %",
                 f"{a['float_accuracy'] * 100:.2f} %", f"{a['n']:,}", a["nonidealities"]]
                for a in report["hardware_accuracy"]]
    acc_table = H.table(["model", "hardware", "preset", "accuracy on hardware", "float accuracy (same images)",
                         "images", "non-idealities on"], acc_rows, wrap=(-1,))
    cost_rows = [[c["model"], c["hardware"], str(c["preset"]), f"{c['tiles']:,}", str(c["chips"] or "-"),
                  si(c["chip_latency_s"], "s"), si(c["chip_energy_per_inference_j"], "J"),
                  si(c["chip_static_power_w"], "W"), f"{c['chip_area_mm2']:.4g} mm\u00b2", _num(c["chip_tops_per_w"])]
                 for c in report["cost"]]
    cost_table = H.table(["model", "hardware", "preset", "tiles", "chips", "latency", "energy / inference",
                          "static power", "area", "TOPS/W"], cost_rows)
    at90 = [r for r in report["sweep"] if r["sparsity"] == 0.9]
    sweep_table = H.table(["hardware", "mapping", "pruning", "tiles", "static power (sum of layers)",
                           "energy (sum of layers)", "chip static power", "chip energy / inference",
                           "chip energy vs unpruned, same mapping", "float accuracy (no fine-tuning)"],
                          [[r["hardware"], r["mapping"], r["structure"], f"{r['tiles']:,}", si(r["static_power_w"], "W"),
                            si(r["energy_j"], "J"), si(r["chip_static_power_w"], "W"),
                            si(r["chip_energy_per_inference_j"], "J"), f"{r['chip_energy_vs_unpruned']:.2f}x",
                            f"{r['float_accuracy_no_finetune'] * 100:.2f} %"] for r in at90])
    figs = "\n".join(H.figure(stage / f, _caption(f, title, report.get("figure_metrics", {}).get(f)))
                     for f in report["figures"])
    zoo = H.table(["model", "kind", "layers", "weights", "MVMs / inference"],
                  [[m["name"], m["kind"], str(m["layers"]), f"{m['weights']:,}", f"{m['mvms_per_inference']:,}"]
                   for m in report["models"]])
    floats = H.table(["model", "float test accuracy", "images"],
                     [[a["model"], f"{a['accuracy'] * 100:.2f} %", f"{a['n']:,}"] for a in report["accuracy"]])
    intro = ('<p class="note">Written by <code>hwsim demo</code> in '
             f"{report['seconds']:.0f} s. Cost is per inference at each back-end's default preset; the headline "
             "gives the chip level (<code>Report.chip</code>: all allocated hardware running the schedule). Accuracy "
             "on hardware is measured on the Fashion-MNIST test set (the images column says how many) through the hardware "
             "model, on one chip "
             "instance, with the non-idealities named beside it; preset <code>ideal</code> switches them off. "
             "Figures are embedded (PNG, base64) so this file can be shared on its own; the PNG and PDF files sit "
             "beside it.</p>")
    sections = [
        (f"Headline: {title}, shipped weights (unpruned), default presets", H.headline_table(report["headline"])),
        ("Accuracy on hardware", acc_table),
        ("Cost per inference of the shipped networks (default presets, chip level)", cost_table),
        (f"{title} at 90 % weight sparsity (global magnitude pruning, no fine-tuning)", sweep_table),
        ("Figures", figs),
        ("Model zoo", zoo),
        ("Float accuracy of the shipped weights", floats),
    ]
    return H.page(f"hwsim demo: {title} on {', '.join(h['hardware'] for h in report['headline'])}", sections, intro)
