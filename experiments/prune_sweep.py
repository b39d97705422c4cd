"""Accuracy vs sparsity per pruning criterion on LeNet-300-100 / Fashion-MNIST (issue 5 acceptance table).

For every criterion and sparsity in 50..98%, the shipped pretrained network is pruned once (criterion
scored on ``--score-samples`` training images), its test accuracy is measured before fine-tuning, then it is
fine-tuned ``--epochs`` epochs on the 60k training images (Adam, cosine decay, masks fixed) and measured
again on the full 10k test set. Unstructured criteria select globally; the structured ones (l2,
mean_activation, apoz) prune whole neurons per layer (the 10 class outputs are protected), so their
achieved weight sparsity is slightly below the target and is recorded.

Writes experiments/out/prune_sweep.csv, .json and .png.  Usage::

    python experiments/prune_sweep.py [--epochs 1] [--sparsities 0.5 0.7 ...] [--criteria magnitude snip ...]
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

import models  # noqa: E402
from hwsim import prune as hp  # noqa: E402
from models import fashion_mnist  # noqa: E402

OUT = ROOT / "experiments" / "out"
SPARSITIES = (0.5, 0.7, 0.8, 0.9, 0.95, 0.98)
STRUCTURED = {"l2", "mean_activation", "apoz"}


def plot_accuracy_vs_sparsity(rows: list[dict], baseline: float, ax=None, key: str = "acc_finetuned"):
    """One line per criterion: test accuracy (%) against achieved weight sparsity (%); returns the Axes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4.5), constrained_layout=True)
    for crit in dict.fromkeys(r["criterion"] for r in rows):
        pts = sorted((r["sparsity"], r[key]) for r in rows if r["criterion"] == crit)
        ax.plot([100 * s for s, _ in pts], [100 * a for _, a in pts], marker="o", ms=3.5, label=crit)
    ax.axhline(100 * baseline, color="k", ls="--", lw=0.8, label=f"dense {100 * baseline:.2f}%")
    ax.axhline(100 * baseline - 0.5, color="gray", ls=":", lw=0.8, label="dense - 0.5 pt")
    ax.set_xlabel("weight sparsity (%)")
    ax.set_ylabel("test accuracy (%)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    return ax


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
    ap.add_argument("--at-init", action="store_true", dest="at_init",
                    help="prune the untrained network (seed --seed) and train it from scratch --epochs epochs: "
                         "the setting SNIP and GraSP were designed for (GraSP with temperature 200, as in the paper)")
    a = ap.parse_args(argv)
    a.tag = a.tag or ("prune_sweep_init" if a.at_init else "prune_sweep")
    OUT.mkdir(parents=True, exist_ok=True)
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
    with open(OUT / f"{a.tag}.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    (OUT / f"{a.tag}.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6), constrained_layout=True, sharey=True)
    plot_accuracy_vs_sparsity(rows, base, axes[0], "acc_pruned").set_title("after pruning (no fine-tuning)")
    plot_accuracy_vs_sparsity(rows, base, axes[1], "acc_finetuned").set_title(
        f"after {a.epochs} epoch(s) of {'training' if a.at_init else 'fine-tuning'} (masks fixed)")
    axes[0].set_ylim(0, 100)
    axes[0].set_title("at initialization (untrained)" if a.at_init else "after pruning (no fine-tuning)")
    what = "pruned at initialization, trained from scratch" if a.at_init else "pruned after training (shipped weights)"
    fig.suptitle(f"LeNet-300-100 on Fashion-MNIST (10k test images), {what}: accuracy vs sparsity per criterion")
    fig.savefig(OUT / f"{a.tag}.png", dpi=120)
    # zoomed view of the fine-tuned accuracies
    ax = plot_accuracy_vs_sparsity(rows, base, None, "acc_finetuned")
    lo = min(r["acc_finetuned"] for r in rows if r["target_sparsity"] <= 0.9)
    ax.set_ylim(100 * lo - 1, 100 * base + 1)
    ax.set_title(f"fine-tuned {a.epochs} epoch(s): zoom")
    ax.figure.savefig(OUT / f"{a.tag}_zoom.png", dpi=120)
    print(f"wrote {OUT / a.tag}.csv/.json/.png in {meta['seconds']:.0f} s")


if __name__ == "__main__":
    main()
