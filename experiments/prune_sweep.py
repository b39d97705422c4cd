"""Accuracy vs sparsity per pruning criterion on LeNet-300-100 / Fashion-MNIST (issue 5 acceptance table).

For every criterion and sparsity in 50..98%, the shipped pretrained network is pruned once (criterion
scored on ``--score-samples`` training images), its test accuracy is measured before fine-tuning, then it is
fine-tuned ``--epochs`` epochs on the 60k training images (Adam, cosine decay, masks fixed) and measured
again on the full 10k test set. Unstructured criteria select globally; the structured ones (l2,
mean_activation, apoz) prune whole neurons per layer (the 10 class outputs are protected), so their
achieved weight sparsity is slightly below the target and is recorded.

Writes prune_sweep.csv, .json, .png and _zoom.png to experiments/out/ (or ``--out``).  Usage::

    python experiments/prune_sweep.py [--epochs 1] [--sparsities 0.5 0.7 ...] [--criteria magnitude snip ...] [--out DIR]
    python experiments/prune_sweep.py --replot experiments/out/prune_sweep.json   # redraw the figures only
"""
from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path

import numpy as np

import models
from hwsim import atomic_io
from hwsim import plots
from hwsim import prune as hp
from models import fashion_mnist

OUT = Path(__file__).resolve().parent / "out"
SPARSITIES = (0.5, 0.7, 0.8, 0.9, 0.95, 0.98)
STRUCTURED = {"l2", "mean_activation", "apoz"}


def plot(rows: list[dict], meta: dict, path: Path) -> None:
    """``path``: accuracy vs sparsity per criterion before and after fine-tuning; ``<path>_zoom``: fine-tuned only."""
    base = meta["baseline_accuracy"]

    def series(key):
        crits = dict.fromkeys(r["criterion"] for r in rows)
        return {c: [(r["sparsity"], r[key]) for r in rows if r["criterion"] == c] for c in crits}

    what = "pruned at initialization, trained from scratch" if meta["at_init"] else \
        "pruned after training (shipped weights)"
    axes = plots.axes_grid(2, width=6, height=4.6, sharey=True)
    plots.plot_accuracy_vs_sparsity(
        series("acc_pruned"), base, axes[0],
        title="at initialization (untrained)" if meta["at_init"] else "after pruning (no fine-tuning)")
    plots.plot_accuracy_vs_sparsity(
        series("acc_finetuned"), base, axes[1],
        title=f"after {meta['epochs']} epoch(s) of {'training' if meta['at_init'] else 'fine-tuning'} (masks fixed)")
    axes[0].set_ylim(0, 100)
    axes[0].figure.suptitle(f"LeNet-300-100 on Fashion-MNIST ({meta['n_test'] // 1000}k test images), {what}: "
                            "accuracy vs sparsity per criterion")
    plots.save(axes[0], path)
    lo = min((r["acc_finetuned"] for r in rows if r["target_sparsity"] <= 0.9),
             default=min(r["acc_finetuned"] for r in rows))
    ax = plots.plot_accuracy_vs_sparsity(series("acc_finetuned"), base,
                                         title=f"fine-tuned {meta['epochs']} epoch(s): zoom")
    ax.set_ylim(100 * lo - 1, 100 * base + 1)
    plots.save(ax, path.with_name(path.stem + "_zoom.png"))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=1, help="fine-tuning epochs per point")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--sparsities", type=float, nargs="+", default=list(SPARSITIES))
    ap.add_argument("--criteria", nargs="+", default=list(hp.CRITERIA))
    ap.add_argument("--score-samples", type=int, default=5000)
    ap.add_argument("--train-samples", type=int, default=None, help="fine-tune on the first N training images")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tag", default=None)
    ap.add_argument("--out", type=Path, default=OUT, help="output folder (default: experiments/out)")
    ap.add_argument("--replot", metavar="JSON", type=Path, help="only redraw the figures of an earlier run's .json")
    ap.add_argument("--at-init", action="store_true", dest="at_init",
                    help="prune the untrained network (seed --seed) and train it from scratch --epochs epochs: "
                         "the setting SNIP and GraSP were designed for (GraSP with temperature 200, as in the paper)")
    a = ap.parse_args(argv)
    if a.replot:
        d = json.loads(a.replot.read_text())
        plot(d["rows"], d["meta"], a.replot.with_suffix(".png"))
        return
    a.tag = a.tag or ("prune_sweep_init" if a.at_init else "prune_sweep")
    a.out.mkdir(parents=True, exist_ok=True)
    net = models.get("lenet-300-100", pretrained=not a.at_init, seed=a.seed)
    train = fashion_mnist.load("train")
    ft_data = train if a.train_samples is None else (train[0][:a.train_samples], train[1][:a.train_samples])
    xt, yt = fashion_mnist.load("test")
    if a.at_init:  # the reference is the same network trained densely with the same budget
        dense = net.copy()
        hp.finetune(dense, train if a.train_samples is None else (train[0][:a.train_samples], train[1][:a.train_samples]),
                    epochs=a.epochs, lr=a.lr, seed=a.seed)
        base = dense.accuracy(xt, yt)
    else:
        base = net.accuracy(xt, yt)
    idx = np.random.default_rng(a.seed).choice(len(train[0]), a.score_samples, replace=False)
    score_data = (train[0][idx], train[1][idx])
    rows = []
    t_all = time.perf_counter()
    for crit in a.criteria:
        t0 = time.perf_counter()
        kw_s = {"temperature": 200.0} if (a.at_init and crit == "grasp") else {}
        scores = hp.score(net, score_data, crit, seed=a.seed, **kw_s)
        t_score = time.perf_counter() - t0
        for s in a.sparsities:
            structured = crit in STRUCTURED
            kw = dict(scope="layer", structure="neuron") if structured else dict(scope="global")
            p = hp.prune(net, scores=scores, criterion=crit, sparsity=s, **kw)
            acc0 = p.accuracy(xt, yt)
            t1 = time.perf_counter()
            hp.finetune(p, ft_data, epochs=a.epochs, lr=a.lr, seed=a.seed)
            acc1 = p.accuracy(xt, yt)
            row = {"criterion": crit, "selection": "neuron/layer" if structured else "unstructured/global",
                   "target_sparsity": s, "sparsity": p.sparsity(), "acc_pruned": acc0, "acc_finetuned": acc1,
                   "loss_pt": 100 * (base - acc1), "epochs": a.epochs, "score_s": t_score,
                   "finetune_s": time.perf_counter() - t1}
            rows.append(row)
            print(f"{crit:>16} {s:5.2f} -> {row['sparsity']:.4f}  pruned {acc0:.4f}  finetuned {acc1:.4f}  "
                  f"({row['finetune_s']:.1f} s)", flush=True)
    meta = {"model": "lenet-300-100", "dataset": "fashion-mnist", "baseline_accuracy": base, "n_test": int(len(yt)),
            "epochs": a.epochs, "train_samples": len(ft_data[0]), "at_init": a.at_init, "lr": a.lr, "score_samples": a.score_samples, "seed": a.seed,
            "seconds": time.perf_counter() - t_all}
    with atomic_io.atomic_open(a.out / f"{a.tag}.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    atomic_io.write_text(a.out / f"{a.tag}.json", json.dumps({"meta": meta, "rows": rows}, indent=1))
    plot(rows, meta, a.out / f"{a.tag}.png")
    print(f"wrote {a.out / a.tag}.csv/.json/.png/_zoom.png in {meta['seconds']:.0f} s")


if __name__ == "__main__":
    main()
