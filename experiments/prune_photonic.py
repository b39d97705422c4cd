"""Photonic: cut the static (heater) power of LeNet-300-100 on 16 x 16 Clements tiles; compare phase criteria.

Stage A (tile pruning, weight domain): :func:`hwsim.prune.optimize` with metric ``static_power_w`` prunes whole
16 x 16 blocks (an all-zero block is not mapped: no heaters, no converters) under a validation floor of
(dense validation accuracy - ``--margin-a``), fine-tuning with masks fixed. Validation = the first 5k test
images (the shipped weights saw all 60k training images); results are reported on the other 5k test images
(never used for a decision) and on the full test set.

Stage B (phase domain, on the mapped meshes of stage A): switch off a fraction of the heaters that are on,
chosen by ``magnitude`` (wrapped distance to 0) or ``power`` (wrapped distance per unit of heater power saved)
or ``sensitivity`` (first-order loss change per unit of power saved, gradients through the meshes), then
fine-tune the remaining phases and tile gains through the meshes (:func:`finetune_phases`). Accuracy is
measured *through the photonic model* (``hwsim.photonic.accuracy``, noise-free preset), static power by
``hwsim.photonic.cost``. Reference: CHAMP, 99.45% of parameters pruned and 98.23% static power saved with
negligible accuracy loss.

Stage B' (``--power-reg LAMBDA ...``, replaces the criteria sweep): CHAMP-style power-regularised phase training
(:func:`regularized_phase_pruning`): train phases, gains and biases with loss = cross-entropy + lambda * sum of
heater power (wrapped surrogate), switch off every heater within ``--reg-threshold`` rad of 0, repeat
``--reg-rounds`` times, then fine-tune the rest without the regulariser. Rows carry the validation accuracy
(test[:5000], for choosing lambda), the held-out accuracy (test[5000:]) and the full test accuracy.

Measured (v2 stage A, 305 tiles, 71.4% saved; dense photonic accuracy: test 89.98%, held-out 90.12%, val 89.84%):
the SVD gauge (``--gauge-levels 16``) alone takes stage A to 73.6% saved at identical W; regularised phase pruning
(runs a-i) gives 84.2% saved at -0.83 pt test / -0.66 pt held-out (d: lambda 1e-4, lr 1e-2,
4 rounds, 600 final steps), 88.2% at -0.95 / -1.00 (h: lambda 1.5e-4, lr 1e-2, 5 rounds, 2000 final steps) and
91.0% at -1.53 / -1.28 (i: lambda 1e-4, lr 2e-2, 5 rounds, 2000 final steps). Session 2 (runs j-s, then the
final run ``prune_photonic_final``): 8 gentler rounds (lambda 1.2e-4, run k: 90.4% saved after the rounds) and a final
fine-tuning distilled from the dense float network (``--kd-stage final --kd-weight 0.7 --kd-temperature 4``) at
lr 5e-3 for 3000 steps (chosen on the validation images: val 88.68 / 88.98 / 89.16 / 88.92 % for lr 2e-3 x 3000
steps (run n), 2e-3 x 6000 (p), 5e-3 x 3000 (q), 1e-2 x 3000 (s, which also drifted below 90 % saved)).
Result (``prune_photonic_final``, identical to run q): **90.19 % static power saved** (8696.5 -> 853.3 W; 53,379
of 565,488 heaters on, 90.6 % of the dense phases pruned) at **89.25 % test (-0.73 pt)**, **89.34 % held-out
(-0.78 pt)**, 89.16 % val. The same recipe from the 8 rounds at lambda 1.5e-4 (run o, 91.7 % after the rounds;
final run r) gives 91.46 % saved at -1.12 / -1.02 pt; at lambda 1.35e-4 (run t) **91.04 % saved at 89.08 % test
(-0.90 pt), 89.28 % held-out (-0.84 pt)**, val 88.88 %; 10 rounds at 1.2e-4 (run u) 91.63 % at -1.04 / -0.88 pt.
Chosen on validation (the most power saved with val >= dense val - 1 pt = 88.84 %): run t; the final run is the
safer point. Longer distilled fine-tuning does not help: 6000 steps after t's rounds (run v) 90.85 %, val 88.82 %,
-1.06 pt; after o's rounds (run w) 91.31 %, val 88.74 %, -1.02 pt. Every trial run (the criteria sweeps v1, iter,
long, v2 and the regularised runs a-w) is one row per run and series of experiments/out/prune_photonic_trials.csv:
its recorded arguments, stage A, static power saved, val / test / held-out accuracy and their losses against the
dense chip (dense val = 2 x test - held-out: the halves are equal), and the state after the regularised rounds;
the files of run t and of the final run are kept beside it. Reproduce with::

    OPENBLAS_NUM_THREADS=1 python experiments/prune_photonic.py \
        --stage-a experiments/out/prune_photonic_v2_stage_a.npz --gauge-levels 16 --power-reg 1.2e-4 \
        --reg-lr 1e-2 --reg-rounds 8 --reg-steps 300 --final-steps 3000 --phase-lr 5e-3 \
        --kd-weight 0.7 --kd-temperature 4 --kd-stage final --tag prune_photonic_final   # ~13 min, one core

Writes <tag>.json, .csv and .png (default tag prune_photonic) to experiments/out/ (or ``--out DIR``).  Usage::

    python experiments/prune_photonic.py [--fractions 0.2 0.4 0.6] [--phase-steps 150] [--out DIR]
    python experiments/prune_photonic.py --replot experiments/out/prune_photonic_final.json   # redraw the figure
    python experiments/prune_photonic.py --stage-a experiments/out/prune_photonic_v2_stage_a.npz \
        --power-reg 1e-3 3e-3 --reg-rounds 3 --reg-steps 200 --tag prune_photonic_reg
"""
from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path

import models
from hwsim import atomic_io
from hwsim import photonic, plots
from hwsim import prune as hp
from hwsim.prune import photonic_phases as pp
from models import fashion_mnist

OUT = Path(__file__).resolve().parent / "out"
LEVELS = (0.0, 0.5, 0.7, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97)


def plot(res: dict, path: Path) -> None:
    """Accuracy through the photonic model vs static power saved: stage A (+ gauge), then each criterion's
    or regulariser's points; a regulariser's final result is drawn as a star."""
    st = res["stage_a"]
    series = {"stage A: 16x16 tile pruning": [(st["power_saved"], st["test_accuracy_photonic"])]}
    styles = {"stage A: 16x16 tile pruning": {"color": "gray", "marker": "D"}}
    if "stage_a_gauge" in res:
        g = res["stage_a_gauge"]
        series["stage A + SVD gauge"] = [(g["power_saved"], g["test_accuracy_photonic"])]
        styles["stage A + SVD gauge"] = {"color": "gray", "marker": "v"}
    for i, crit in enumerate(dict.fromkeys(r["criterion"] for r in res["rows"])):
        rows = [r for r in res["rows"] if r["criterion"] == crit]
        c = f"C{i}"
        if "power_saved_pruned" in rows[0]:
            series[f"{crit}: phases pruned"] = [(r["power_saved_pruned"], r["test_accuracy_pruned"]) for r in rows]
            styles[f"{crit}: phases pruned"] = {"color": c, "ls": ":", "ms": 3}
        final = [r for r in rows if r.get("final", False)]
        label = f"{crit}: regularised rounds" if final else f"{crit}: + phase fine-tuning"
        series[label] = [(r["power_saved_finetuned"], r["test_accuracy_finetuned"]) for r in rows
                         if not r.get("final", False)]
        styles[label] = {"color": c, "marker": "o"}
        if final:
            f = final[-1]
            label = (f"{crit}: final fine-tuning ({100 * f['power_saved_finetuned']:.1f}% saved, "
                     f"{100 * f['test_accuracy_finetuned']:.2f}%)")
            series[label] = [(f["power_saved_finetuned"], f["test_accuracy_finetuned"])]
            styles[label] = {"color": c, "marker": "*", "ms": 13, "mfc": c, "zorder": 3}
    ax = plots.plot_accuracy_vs_saved(series, "static_power_w", res["dense_test_accuracy_photonic"], margin_pt=1.0,
                                      target_saved=0.9, ylabel="test accuracy through the photonic model (%)",
                                      title="LeNet-300-100, 16x16 Clements tiles: static power vs accuracy",
                                      styles=styles)
    plots.save(ax, path)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--margin-a", type=float, default=0.006, dest="margin_a")
    ap.add_argument("--epochs", type=int, default=2, help="stage A fine-tuning epochs per trial")
    ap.add_argument("--recovery-steps", type=int, default=60, dest="recovery_steps")
    ap.add_argument("--fractions", type=float, nargs="+", default=[0.2, 0.4, 0.6])
    ap.add_argument("--criteria", nargs="+", default=["magnitude", "power", "power_sq", "sensitivity"])
    ap.add_argument("--phase-steps", type=int, default=150, dest="phase_steps")
    ap.add_argument("--phase-lr", type=float, default=2e-3, dest="phase_lr")
    ap.add_argument("--phase-batch", type=int, default=256, dest="phase_batch")
    ap.add_argument("--iterative", action="store_true",
                    help="prune the --fractions one after the other (each of the heaters still on), fine-tuning "
                         "the phases after each stage")
    ap.add_argument("--power-reg", type=float, nargs="+", default=[], dest="power_reg",
                    help="lambdas of the heater-power regulariser (runs regularised phase pruning instead of criteria)")
    ap.add_argument("--reg-kind", default="wrapped", dest="reg_kind")
    ap.add_argument("--reg-rounds", type=int, default=3, dest="reg_rounds")
    ap.add_argument("--reg-steps", type=int, default=200, dest="reg_steps")
    ap.add_argument("--reg-lr", type=float, default=5e-3, dest="reg_lr")
    ap.add_argument("--reg-threshold", type=float, default=0.1, dest="reg_threshold")
    ap.add_argument("--final-steps", type=int, default=200, dest="final_steps")
    ap.add_argument("--gauge-levels", type=int, default=0, dest="gauge_levels",
                    help="SVD gauge optimisation (free power, W unchanged) of the stage-A mapping and of each "
                         "regularised result, with this many phase levels per mode (0: off)")
    ap.add_argument("--kd-weight", type=float, default=0.0, dest="kd_weight",
                    help="distillation from the dense float network during phase training (weight in [0, 1])")
    ap.add_argument("--kd-temperature", type=float, default=4.0, dest="kd_temperature")
    ap.add_argument("--kd-stage", choices=("all", "final"), default="all", dest="kd_stage",
                    help="distil in every training step (all) or only in the final fine-tuning (final)")
    ap.add_argument("--save-pruned", dest="save_pruned",
                    help="write the chip after the regularised rounds to this programming file (.npz)")
    ap.add_argument("--load-pruned", dest="load_pruned",
                    help="skip the regularised rounds: load their result (from --save-pruned) and fine-tune it")
    ap.add_argument("--save-programming", dest="save_programming",
                    help="write the final programmed chip (hwsim.photonic.save_programming) to this .npz: "
                         "'hwsim cost --hardware photonic --phases FILE' and 'hwsim evaluate ... --phases FILE' read it")
    ap.add_argument("--stage-a", help="reuse a stage-A weights .npz instead of optimizing")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tag", default="prune_photonic")
    ap.add_argument("--out", type=Path, default=OUT, help="output folder (default: experiments/out)")
    ap.add_argument("--replot", metavar="JSON", help="only redraw the figure of an earlier run's .json")
    a = ap.parse_args(argv)
    if a.replot:
        plot(json.loads(Path(a.replot).read_text()), Path(a.replot).with_suffix(".png"))
        return
    a.out.mkdir(parents=True, exist_ok=True)
    net = models.get("lenet-300-100", pretrained=True)
    train, (xt, yt) = fashion_mnist.load("train"), fashion_mnist.load("test")
    # weight-stationary (one mesh pair per tile, CHAMP-style): the chip the README figures describe
    cfg = photonic.resolve_config("harris2014_weight_stationary")  # Clements, K = 16, noise-free
    dense_map = photonic.map(net, cfg)
    dense = photonic.cost(dense_map)
    p_dense = dense.total.static_power_w
    dense_acc = photonic.accuracy(dense_map, xt, yt)
    res: dict = {"config": photonic.config_to_dict(cfg), "dense_static_power_w": p_dense, "dense_tiles": dense.total.tiles,
                 "dense_test_accuracy_float": net.accuracy(xt, yt), "dense_test_accuracy_photonic": dense_acc,
                 "dense_phases": int(sum(l.phases.size for l in dense_map.layers)), "rows": []}
    t0 = time.perf_counter()
    val, (xh, yh) = fashion_mnist.held_out_split(xt, yt)
    res["dense_heldout_accuracy_photonic"] = photonic.accuracy(dense_map, xh, yh)
    if a.stage_a:
        stage_a = hp.load(net, a.stage_a)
    else:
        r = hp.optimize(net, "photonic", train, metric="static_power_w", accuracy_floor=net.accuracy(*val) - a.margin_a,
                        config=cfg, finetune_epochs=a.epochs, levels=LEVELS, recovery_steps=a.recovery_steps,
                        val_data=val, seed=a.seed, schedule="gradual", sort_neurons=True, progress=True)
        stage_a = r.network
        res["stage_a_trials"] = list(r.trials)
        res["stage_a_layer_sparsity"] = list(r.sparsity)
        hp.save(stage_a, a.out / f"{a.tag}_stage_a.npz")
    m_a = photonic.map(stage_a, cfg)
    rep_a = photonic.cost(m_a)
    res["stage_a"] = {"weight_sparsity": stage_a.sparsity(), "tiles": rep_a.total.tiles,
                      "static_power_w": rep_a.total.static_power_w,
                      "power_saved": 1 - rep_a.total.static_power_w / p_dense,
                      "test_accuracy_photonic": photonic.accuracy(m_a, xt, yt),
                      "heldout_accuracy_photonic": photonic.accuracy(m_a, xh, yh), "seconds": time.perf_counter() - t0}
    print(json.dumps(res["stage_a"], indent=1), flush=True)
    if a.gauge_levels:
        m_a = photonic.gauge_optimize(m_a, levels=a.gauge_levels, sweeps=2)
        p_g = photonic.cost(m_a).total.static_power_w
        res["stage_a_gauge"] = {"static_power_w": p_g, "power_saved": 1 - p_g / p_dense,
                                "test_accuracy_photonic": photonic.accuracy(m_a, xt, yt),
                                "heldout_accuracy_photonic": photonic.accuracy(m_a, xh, yh)}
        print("stage A + gauge:", json.dumps(res["stage_a_gauge"]), flush=True)
    xtr, ytr = train
    grads = pp.network_phase_gradients(m_a, (xtr, ytr), n_samples=5000) if "sensitivity" in a.criteria else None
    live_a = int(sum(l.counts["heaters_on"] for l in photonic.cost(m_a).layers))

    def tuned_metrics(mp, t1: float, with_val: bool = False) -> dict:
        """Heaters, power saved and accuracies of a fine-tuned mapping (row fields, in CSV column order)."""
        rep = photonic.cost(mp)
        live = int(sum(l.counts["heaters_on"] for l in rep.layers))
        acc1, held1 = photonic.accuracy(mp, xt, yt), photonic.accuracy(mp, xh, yh)
        m = {"heaters_on": live, "heaters_on_stage_a": live_a, "phases_pruned_of_dense": 1 - live / res["dense_phases"],
             "power_saved_finetuned": 1 - rep.total.static_power_w / p_dense}
        if with_val:
            m["val_accuracy_finetuned"] = photonic.accuracy(mp, *val)
        m.update({"test_accuracy_finetuned": acc1, "loss_pt_finetuned": 100 * (dense_acc - acc1),
                  "heldout_accuracy_finetuned": held1,
                  "heldout_loss_pt_finetuned": 100 * (res["dense_heldout_accuracy_photonic"] - held1),
                  "seconds": time.perf_counter() - t1})
        return m
    if a.power_reg:
        a.criteria = []
    res["args"] = {k: str(v) if isinstance(v, Path) else v for k, v in vars(a).items()}
    for lam in a.power_reg:
        t1 = time.perf_counter()
        name = f"reg {lam:g}"

        def record_reg(i, mp, name=name, lam=lam):
            row = {"criterion": name, "power_reg": lam, "stage": i + 1, "final": i >= a.reg_rounds,
                   **tuned_metrics(mp, t1, with_val=True)}
            res["rows"].append(row)
            print(f"{name:>12} stage {i + 1}: heaters on {row['heaters_on']}, power saved "
                  f"{100 * row['power_saved_finetuned']:.2f}% val {100 * row['val_accuracy_finetuned']:.2f}% "
                  f"test {100 * row['test_accuracy_finetuned']:.2f}% held-out "
                  f"{100 * row['heldout_accuracy_finetuned']:.2f}%  ({row['seconds']:.0f} s)", flush=True)

        kd = {"teacher": net if a.kd_weight > 0 else None, "kd_weight": a.kd_weight,
              "kd_temperature": a.kd_temperature}
        if a.load_pruned:
            pruned = photonic.load_programming(a.load_pruned, m_a.network)
            record_reg(a.reg_rounds - 1, pruned)
        else:
            outs = pp.regularized_phase_pruning(
                m_a, (xtr, ytr), power_reg=lam, rounds=a.reg_rounds, threshold=a.reg_threshold, steps=a.reg_steps,
                lr=a.reg_lr, final_steps=0 if a.kd_stage == "final" else a.final_steps, final_lr=a.phase_lr,
                batch_size=a.phase_batch, reg_kind=a.reg_kind, seed=a.seed, callback=record_reg,
                **(dict(kd, kd_in_rounds=True) if a.kd_stage == "all" else {}))
            pruned = outs[a.reg_rounds - 1]
            if a.save_pruned:
                photonic.save_programming(pruned, a.save_pruned)
        if a.load_pruned or a.kd_stage == "final":
            outs = [pp.finetune_phases(pruned, (xtr, ytr), epochs=10**6, lr=a.phase_lr, batch_size=a.phase_batch,
                                       seed=a.seed + 1, max_steps=a.final_steps, **kd)]
            record_reg(a.reg_rounds, outs[-1])
        if a.save_programming:
            print("programming file:", photonic.save_programming(outs[-1], a.save_programming), flush=True)
        if a.gauge_levels:
            record_reg(a.reg_rounds + 1, photonic.gauge_optimize(outs[-1], levels=a.gauge_levels, sweeps=2))
    for crit in a.criteria if a.iterative else []:
        t1 = time.perf_counter()

        def record(i, mp, crit=crit):
            row = {"criterion": crit, "stage": i + 1, "phase_fraction": a.fractions[i], **tuned_metrics(mp, t1)}
            res["rows"].append(row)
            print(f"{crit:>12} stage {i + 1}: heaters on {row['heaters_on']}, power saved "
                  f"{100 * row['power_saved_finetuned']:.2f}% test acc {100 * row['test_accuracy_finetuned']:.2f}% "
                  f"held-out {100 * row['heldout_accuracy_finetuned']:.2f}%  ({row['seconds']:.0f} s)", flush=True)

        pp.iterative_phase_pruning(m_a, (xtr, ytr), fractions=a.fractions, criterion=crit, steps=a.phase_steps,
                                   lr=a.phase_lr, batch_size=a.phase_batch, seed=a.seed, callback=record)
    for crit in [] if a.iterative else a.criteria:
        for f in a.fractions:
            t1 = time.perf_counter()
            masks = pp.select_phases(m_a, f, crit, grads)
            pruned = photonic.prune_phases(m_a, masks)
            acc0 = photonic.accuracy(pruned, xt, yt)
            p0 = photonic.cost(pruned).total.static_power_w
            tuned = pp.finetune_phases(pruned, (xtr, ytr), epochs=1, lr=a.phase_lr, batch_size=a.phase_batch,
                                       seed=a.seed, max_steps=a.phase_steps)
            m = tuned_metrics(tuned, t1)
            row = {"criterion": crit, "phase_fraction": f,
                   **{k: m.pop(k) for k in ("heaters_on", "heaters_on_stage_a", "phases_pruned_of_dense")},
                   "power_saved_pruned": 1 - p0 / p_dense, "test_accuracy_pruned": acc0, **m}
            res["rows"].append(row)
            print(f"{crit:>12} {f:.2f}: power saved {100 * row['power_saved_pruned']:.2f}% acc {100 * acc0:.2f}% -> "
                  f"tuned {100 * row['power_saved_finetuned']:.2f}% acc {100 * row['test_accuracy_finetuned']:.2f}%  "
                  f"({row['seconds']:.0f} s)", flush=True)
    atomic_io.write_text(a.out / f"{a.tag}.json", json.dumps(res, indent=1))
    with atomic_io.atomic_open(a.out / f"{a.tag}.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(res["rows"][0]))
        w.writeheader()
        w.writerows(res["rows"])
    plot(res, a.out / f"{a.tag}.png")
    print(f"wrote {a.out / a.tag}.json/.csv/.png")


if __name__ == "__main__":
    main()
