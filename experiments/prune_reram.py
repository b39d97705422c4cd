"""ReRAM: hardware-aware pruning frees crossbar tiles; unstructured magnitude pruning at the same sparsity does not.

For each model (LeNet-300-100, LeNet-5; pretrained), :func:`hwsim.prune.optimize` minimises allocated
crossbar tiles (metric ``tiles``, default ReRAM config: 128 x 128 crossbars, 8 columns per weight, mapping
``skip_empty``) under a validation-accuracy floor of (dense validation accuracy - ``--margin``); validation is
the first 5k test images (the shipped weights saw all 60k training images, so no training split measures
generalisation); accuracies are reported on the other 5k test images (never used for a decision) and on the
full test set. The reference is global magnitude pruning of single
weights at the *same* weight sparsity, fine-tuned the same number of epochs, mapped with ``skip_empty`` and
with the crossbar-aware ``compact`` mapping (SNrram-style row/column compaction). Anchor: crossbar-aware
pruning (Liang et al. 2018) reports 44-72% fewer crossbars.

Writes prune_reram.json, .csv, .png and prune_reram_<model>.npz to experiments/out/ (or ``--out``).  Usage::

    python experiments/prune_reram.py [--models lenet-300-100 lenet5] [--epochs 2] [--margin 0.0075] [--out DIR]
    python experiments/prune_reram.py --replot experiments/out/prune_reram_l300.json   # redraw the figure only
"""
from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import time
from pathlib import Path

import models
from hwsim import atomic_io
from hwsim import plots
from hwsim import prune as hp
from hwsim import reram
from models import fashion_mnist

OUT = Path(__file__).resolve().parent / "out"
LEVELS = (0.0, 0.25, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95)


def _mode(cfg, mode):
    return dataclasses.replace(cfg, mapping=dataclasses.replace(cfg.mapping, mode=mode))


def plot(results: list[dict], path: Path) -> None:
    """Allocated crossbars per model: dense, magnitude pruning (skip_empty and compact mappings), hardware-aware."""
    axes = plots.axes_grid(len(results), height=4.2)
    for ax, r in zip(axes, results):
        mag, hw = r["magnitude"], r["hw_aware"]
        tiles = {"dense": r["dense_tiles"], "magnitude\nskip_empty": mag["tiles_skip_empty"],
                 "magnitude\ncompact": mag["tiles_compact"], "hw-aware\nskip_empty": hw["tiles_skip_empty"]}
        accs = dict(zip(tiles, (r["dense_test_accuracy"], mag["test_accuracy"], mag["test_accuracy"],
                                hw["test_accuracy"])))
        plots.plot_metric_bars(tiles, "tiles", accs, ax, colors=["gray", "tab:blue", "tab:cyan", "tab:orange"],
                               ylabel="allocated crossbars (128 x 128)",
                               title=f"{r['model']}: {100 * hw['weight_sparsity']:.1f}% weight sparsity\n"
                                     "(bar labels: test accuracy)")
    plots.save(axes[0], path)


def run_model(name: str, a: argparse.Namespace, train, test) -> dict:
    net = models.get(name, pretrained=True)
    cfg = reram.resolve_config(a.preset)
    # Decisions use the first --val-samples test images; results are reported on the rest (never seen by any
    # decision) and, for reference, on the full test set.
    (xv, yv), (xh, yh) = fashion_mnist.held_out_split(*test, n_val=a.val_samples)
    xt, yt = test
    base_acc, base_held = net.accuracy(xt, yt), net.accuracy(xh, yh)
    base_val = net.accuracy(xv, yv)
    base_tiles = reram.cost(reram.map(net, cfg)).total.tiles
    t0 = time.perf_counter()
    tr = train if not a.train_samples else (train[0][:a.train_samples], train[1][:a.train_samples])
    r = hp.optimize(net, "reram", tr, metric="tiles", accuracy_floor=base_val - a.margin, config=cfg,
                    finetune_epochs=a.epochs, levels=LEVELS, val_data=(xv, yv), recovery_steps=a.recovery_steps,
                    max_trials=a.max_trials, lr=a.lr, seed=a.seed, schedule=a.schedule,
                    sort_neurons=a.sort_neurons, progress=True)
    t_opt = time.perf_counter() - t0
    hw = r.network
    s = hw.sparsity()
    # reference: unstructured global magnitude at the same weight sparsity, same fine-tuning budget
    mag = hp.prune(net, criterion="magnitude", sparsity=min(s, 0.999), scope="global")
    hp.finetune(mag, tr, epochs=a.epochs, lr=a.lr, seed=a.seed)
    out = {"model": name, "preset": a.preset, "dense_test_accuracy": base_acc, "dense_heldout_accuracy": base_held,
           "dense_val_accuracy": base_val, "dense_tiles": base_tiles, "accuracy_floor_val": base_val - a.margin,
           "optimize_seconds": t_opt,
           "hw_aware": {"layer_sparsity": list(r.sparsity), "weight_sparsity": s, "test_accuracy": hw.accuracy(xt, yt),
                        "heldout_accuracy": hw.accuracy(xh, yh), "val_accuracy": r.val_accuracy,
                        "trials": list(r.trials)},
           "magnitude": {"weight_sparsity": mag.sparsity(), "test_accuracy": mag.accuracy(xt, yt),
                         "heldout_accuracy": mag.accuracy(xh, yh)}}
    for mode in ("skip_empty", "compact", "ou"):
        c = _mode(cfg, mode)
        out["hw_aware"][f"tiles_{mode}"] = reram.cost(reram.map(hw, c)).total.tiles
        out["magnitude"][f"tiles_{mode}"] = reram.cost(reram.map(mag, c)).total.tiles
    rep_hw = reram.cost(reram.map(hw, cfg))
    rep_dense = reram.cost(reram.map(net, cfg))
    for k in ("static_power_w", "energy_j", "latency_s", "area_mm2"):
        out["hw_aware"][k] = getattr(rep_hw.total, k)
        out[f"dense_{k}"] = getattr(rep_dense.total, k)
    out["hw_aware"]["tiles_freed"] = 1 - out["hw_aware"]["tiles_skip_empty"] / base_tiles
    out["magnitude"]["tiles_freed_skip_empty"] = 1 - out["magnitude"]["tiles_skip_empty"] / base_tiles
    out["magnitude"]["tiles_freed_compact"] = 1 - out["magnitude"]["tiles_compact"] / base_tiles
    for meth in ("hw_aware", "magnitude"):
        out[meth]["accuracy_loss_pt"] = 100 * (base_acc - out[meth]["test_accuracy"])
        out[meth]["heldout_loss_pt"] = 100 * (base_held - out[meth]["heldout_accuracy"])
    hp.save(hw, a.out / f"prune_reram_{name}.npz")
    print(json.dumps(out, indent=1), flush=True)
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", default=["lenet-300-100", "lenet5"])
    ap.add_argument("--preset", default="default")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--margin", type=float, default=0.007, help="allowed validation accuracy drop (fraction)")
    ap.add_argument("--val-samples", type=int, default=5000, dest="val_samples")
    ap.add_argument("--train-samples", type=int, default=None, dest="train_samples")
    ap.add_argument("--recovery-steps", type=int, default=50, dest="recovery_steps")
    ap.add_argument("--max-trials", type=int, default=5, dest="max_trials")
    ap.add_argument("--schedule", default="gradual", choices=["one_shot", "gradual"])
    ap.add_argument("--no-sort-neurons", action="store_false", dest="sort_neurons",
                    help="do not reorder hidden neurons by norm before tile pruning")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tag", default="prune_reram")
    ap.add_argument("--out", type=Path, default=OUT, help="output folder (default: experiments/out)")
    ap.add_argument("--replot", metavar="JSON", type=Path, help="only redraw the figure of an earlier run's .json")
    a = ap.parse_args(argv)
    if a.replot:
        plot(json.loads(a.replot.read_text())["results"], a.replot.with_suffix(".png"))
        return
    a.out.mkdir(parents=True, exist_ok=True)
    train, test = fashion_mnist.load("train"), fashion_mnist.load("test")
    results = [run_model(m, a, train, test) for m in a.models]
    args = {k: str(v) if isinstance(v, Path) else v for k, v in vars(a).items()}
    atomic_io.write_text(a.out / f"{a.tag}.json", json.dumps({"args": args, "results": results}, indent=1))
    with atomic_io.atomic_open(a.out / f"{a.tag}.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["model", "method", "weight_sparsity", "test_accuracy", "accuracy_loss_pt", "heldout_accuracy",
                    "heldout_loss_pt", "tiles_skip_empty", "tiles_compact", "tiles_ou", "dense_tiles"])
        for r in results:
            for meth in ("hw_aware", "magnitude"):
                d = r[meth]
                w.writerow([r["model"], meth, d["weight_sparsity"], d["test_accuracy"], d["accuracy_loss_pt"],
                            d["heldout_accuracy"], d["heldout_loss_pt"], d["tiles_skip_empty"], d["tiles_compact"], d["tiles_ou"], r["dense_tiles"]])
    plot(results, a.out / f"{a.tag}.png")
    print(f"wrote {a.out / a.tag}.json/.csv/.png")

if __name__ == "__main__":
    main()
