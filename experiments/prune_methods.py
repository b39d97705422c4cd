"""Every pruning method in hwsim side by side: accuracy at 90 % and 98 % sparsity and the hardware cost (issue 14).

LeNet-300-100 and LeNet-5 on Fashion-MNIST. For every method -- the issue-14 methods of
:mod:`hwsim.prune.methods` (gRDA, Deep R, L0, OBD, OBS, GSP, FPGraSP, NeST, Koopman magnitude / gradient, SET,
RigL) and the existing schedules (one-shot with each criterion of :data:`hwsim.prune.CRITERIA` then fine-tuning,
Zhu-Gupta gradual magnitude pruning, iterative magnitude pruning with rewinding) -- at each target sparsity:

* training budget: ``--epochs`` epochs per model (default 2 for both, :data:`EPOCHS`) over the 60k training
  images (LeNet-5: the first ``--lenet5-train`` images, default all 60k), Adam at 1e-3 unless the method's own
  default (gRDA: SGD dual averaging at 0.005), batch 128, seed 0. Methods marked ``start = pretrained`` begin from
  the shipped weights; ``init`` ones (Deep R, NeST, SET, RigL) from a fresh He-normal initialisation, as their
  papers do. One-shot methods prune, are measured (``acc_no_ft``), then fine-tuned for the same budget (masks
  fixed). IMP uses 2 rounds of ``max(epochs // 2, 1)`` epochs plus the same final training (its ``epochs`` column
  says how many it used). The column ``epochs`` is the training actually done, in epochs of the training set used.
* gRDA and L0 set no sparsity: their penalty (c for gRDA, lambda for L0) was chosen per model and target from short
  pilots at the table's budget (:data:`PENALTY`); the ``sparsity`` column is what they reached.
* accuracy: the full 10k test set; sparsity: fraction of weights pruned (masks);
* ReRAM: ``hwsim.reram`` preset ``default`` (128 x 128 crossbars, mapping skip_empty): allocated crossbar tiles,
  static power, area; photonic: ``hwsim.photonic`` preset ``harris2014_weight_stationary`` (one mesh pair per
  16 x 16 tile, Harris 2014 heaters; the chip-level default ``harris2014`` is time-multiplexed, whose static
  power does not follow the pruned tiles): mesh tiles and static power (heaters of the resident tiles, laser,
  receivers) of each pruned network.

Writes prune_methods.csv, .json and .md (the full table, then the README's compact one) to experiments/out/ (or
``--out``), all through :mod:`hwsim.atomic_io`, after every row. A rerun resumes: rows already in ``<tag>.json`` with
the same budget (epochs, training images, seed) and penalty are kept, the others are (re)run, so a killed run loses
at most the row in progress (``--fresh`` starts over). Each row's pruned network is saved in ``<tag>_nets/`` (scratch,
not committed), so ``--markdown ... --hardware DIR...`` can recompute every hardware column with one version of the
simulators. One command regenerates the table (about 1.5-2 hours on 2 shared cores)::

    nohup nice -n 5 env OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1 python experiments/prune_methods.py &

or one process per model, merged into prune_methods.* at the end::

    OPENBLAS_NUM_THREADS=1 python experiments/prune_methods.py --models lenet-300-100 --tag prune_methods_l300
    OPENBLAS_NUM_THREADS=1 python experiments/prune_methods.py --models lenet5 --tag prune_methods_lenet5
    python experiments/prune_methods.py --markdown experiments/out/prune_methods_{l300,lenet5}.json
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

import models
from hwsim import atomic_io, backend
from hwsim import prune as hp
from hwsim.prune.methods import METHODS, run_method
from models import fashion_mnist

OUT = Path(__file__).resolve().parent / "out"
SPARSITIES = (0.9, 0.98)
#: training budget: epochs for (LeNet-300-100, LeNet-5); LeNet-5 trains on the first LENET5_TRAIN images
EPOCHS = (2, 2)
LENET5_TRAIN = 60000
#: penalty per (model, method, target): gRDA c and L0 lambda set no sparsity, so each was chosen from short pilots at
#: the table's budget (sparsity reached, values below interpolated).
#: LeNet-300-100 (2 epochs of 60k): gRDA c = 0.5 gave 78 %, 0.65 87.6 %, 0.75 91.4 %, 1.0 96.7 %, 1.15 98.1 %,
#: 1.3 98.9 %; L0 lambda = 3 gave 69.8 %, 7 88.1 %, 10 93.0 %, 30 98.7 %, 100 99.7 %.
#: LeNet-5 (2 epochs of 60k): gRDA c = 0.72 gave 82.4 %, 1.13 94.8 %, 1.6 98.9 %; L0 lambda = 7 gave 43.6 %,
#: 24 76.1 %, 80 94.6 %, 250 99.2 % (interpolated in log density).
PENALTY: dict[tuple[str, str, float], dict[str, float]] = {
    ("lenet-300-100", "grda", 0.9): {"c": 0.72}, ("lenet-300-100", "grda", 0.98): {"c": 1.13},
    ("lenet-300-100", "l0", 0.9): {"lam": 7.9}, ("lenet-300-100", "l0", 0.98): {"lam": 24.0},
    ("lenet5", "grda", 0.9): {"c": 0.91}, ("lenet5", "grda", 0.98): {"c": 1.42},
    ("lenet5", "l0", 0.9): {"lam": 49.0}, ("lenet5", "l0", 0.98): {"lam": 145.0},
}
RERAM_PRESET = "default"
PHOTONIC_PRESET = "harris2014_weight_stationary"
FIELDS = ("model", "method", "family", "start", "target", "sparsity", "epochs", "acc_no_ft", "accuracy",
          "reram_tiles", "reram_static_w", "reram_area_mm2", "photonic_tiles", "photonic_static_w", "seconds")


def hardware(net: Any) -> dict[str, float]:
    out = {}
    for name, preset, key in (("reram", RERAM_PRESET, "reram"), ("photonic", PHOTONIC_PRESET, "photonic")):
        be = backend.get(name)
        rep = be.cost(be.map(net, be.resolve_config(preset)))
        out[f"{key}_tiles"] = int(rep.total.tiles)
        out[f"{key}_static_w"] = float(rep.total.static_power_w)
        if key == "reram":
            out["reram_area_mm2"] = float(rep.total.area_mm2)
    return out


def _net_path(out: Path, tag: str, row: dict) -> Path:
    name = f"{row['model']}__{row['method'].replace(':', '-')}__{row['target']:g}.npz"
    return out / f"{tag}_nets" / name


def save_net(path: Path, net: Any) -> None:
    """The pruned weights, biases and masks of ``net`` (so the hardware columns can be recomputed, ``--hardware``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for i, l in enumerate(net.weighted_layers()):
        arrays[f"w{i}"], arrays[f"b{i}"], arrays[f"m{i}"] = l.weight, l.bias, l.mask
    tmp = path.with_name(path.stem + f".{os.getpid()}.tmp.npz")
    np.savez_compressed(tmp, **arrays)
    os.replace(tmp, path)


def load_net(path: Path, model: str) -> Any:
    net = models.get(model, pretrained=True)
    with np.load(path) as z:
        for i, l in enumerate(net.weighted_layers()):
            l.mask = np.ones_like(l.mask)
            l.set_weight(z[f"w{i}"], z[f"b{i}"])
            l.set_mask(z[f"m{i}"])
    return net


def existing_methods() -> list[str]:
    return [f"one_shot:{c}" for c in hp.CRITERIA] + ["gradual", "imp"]


def run_one(method: str, base: Any, train: tuple, test: tuple, target: float, epochs: int, seed: int,
            hyper: dict[str, float] | None = None) -> dict[str, Any]:
    x, y = train
    acc_no_ft = None
    if method.startswith("one_shot:"):
        crit = method.split(":", 1)[1]
        scope = "global" if crit not in ("l2", "mean_activation", "apoz") else "layer"
        structure = "neuron" if crit in ("l2", "mean_activation", "apoz") else "unstructured"
        net = hp.prune(base, (x[:5000], y[:5000]), criterion=crit, sparsity=target, scope=scope,
                       structure=structure, seed=seed)
        acc_no_ft = net.accuracy(*test)
        hp.finetune(net, train, epochs=epochs, seed=seed)
        family, start, used = "one-shot + fine-tune", "pretrained", epochs
    elif method == "gradual":
        net, _ = hp.gradual(base, train, final_sparsity=target, epochs=epochs, seed=seed, scope="global")
        family, start, used = "gradual (Zhu-Gupta)", "pretrained", epochs
    elif method == "imp":
        e = max(epochs // 2, 1)
        net, _ = hp.iterative_magnitude(base, train, final_sparsity=target, rounds=2, epochs_per_round=e,
                                        final_epochs=e, seed=seed)
        family, start, used = "IMP + rewinding", "pretrained", 3 * e
    else:
        m = METHODS[method]
        hyper = hyper or {}
        net, info = run_method(method, base, (x[:5000], y[:5000]) if not m.trains else train, sparsity=target,
                               epochs=epochs, seed=seed, **hyper)
        family, start, used = m.source, m.start, (epochs if m.trains else 0)
        if not m.trains:
            acc_no_ft = net.accuracy(*test)
            hp.finetune(net, train, epochs=epochs, seed=seed)
            used = epochs
    return {"family": family, "start": start, "epochs": used, "acc_no_ft": acc_no_ft, "net": net}


def markdown(rows: list[dict], meta: dict) -> str:
    out = io.StringIO()
    out.write(f"Fashion-MNIST, full 10k test set. Budget: {meta['budget']}. ReRAM: preset `{RERAM_PRESET}` "
              f"(crossbar tiles, static power); photonic: preset `{PHOTONIC_PRESET}` (mesh tiles, static power). "
              "`no-ft`: accuracy right after one-shot pruning, before fine-tuning. Regenerate (resumable): "
              "`OPENBLAS_NUM_THREADS=1 python experiments/prune_methods.py`.\n\n")
    for model in dict.fromkeys(r["model"] for r in rows):
        d = meta["dense"][model]
        out.write(f"**{model}** (dense: {d['accuracy'] * 100:.2f} %, ReRAM {d['reram_tiles']} tiles / "
                  f"{d['reram_static_w'] * 1e3:.3g} mW, photonic {d['photonic_tiles']} tiles / "
                  f"{d['photonic_static_w']:.4g} W)\n\n")
        out.write("| method | start | epochs | sparsity @90 | acc @90 (no-ft) | ReRAM tiles | ReRAM static mW | "
                  "photonic static W | sparsity @98 | acc @98 (no-ft) | ReRAM tiles | ReRAM static mW | "
                  "photonic static W |\n")
        out.write("|" + " --- |" * 13 + "\n")
        for method in dict.fromkeys(r["method"] for r in rows if r["model"] == model):
            cells = [method]
            rs = {r["target"]: r for r in rows if r["model"] == model and r["method"] == method}
            first = next(iter(rs.values()))
            cells += [first["start"], str(first["epochs"])]
            for t in SPARSITIES:
                r = rs.get(t)
                if r is None:
                    cells += ["-"] * 5
                    continue
                nf = f" ({r['acc_no_ft'] * 100:.1f})" if r["acc_no_ft"] is not None else ""
                cells += [f"{r['sparsity'] * 100:.1f} %", f"{r['accuracy'] * 100:.2f}{nf}", str(r["reram_tiles"]),
                          f"{r['reram_static_w'] * 1e3:.3g}", f"{r['photonic_static_w']:.4g}"]
            out.write("| " + " | ".join(cells) + " |\n")
        out.write("\n")
    return out.getvalue()


def compact(rows: list[dict], meta: dict) -> str:
    """The README's short form: per method, accuracy (sparsity where it missed the target by > 0.5 pt) at each target
    for both models, ReRAM crossbar tiles and photonic static power."""
    models_ = list(dict.fromkeys(r["model"] for r in rows))
    head = ["method", "start"]
    for m in models_:
        for t in SPARSITIES:
            head += [f"{m} @{t * 100:.0f} %: acc", "tiles", "photonic W"]
    out = io.StringIO()
    out.write("| " + " | ".join(head) + " |\n|" + " --- |" * len(head) + "\n")
    dense = ["dense", "-"]
    for m in models_:
        d = meta["dense"][m]
        dense += [f"{d['accuracy'] * 100:.2f}", str(d["reram_tiles"]), f"{d['photonic_static_w']:.0f}"] * len(SPARSITIES)
    out.write("| " + " | ".join(dense) + " |\n")
    for method in dict.fromkeys(r["method"] for r in rows):
        rs = {(r["model"], r["target"]): r for r in rows if r["method"] == method}
        cells = [method, next(iter(rs.values()))["start"]]
        for m in models_:
            for t in SPARSITIES:
                r = rs.get((m, t))
                if r is None:
                    cells += ["not run", "", ""]
                    continue
                miss = f" (at {r['sparsity'] * 100:.1f} %)" if abs(r["sparsity"] - t) > 0.005 else ""
                cells += [f"{r['accuracy'] * 100:.2f}{miss}", str(r["reram_tiles"]), f"{r['photonic_static_w']:.0f}"]
        out.write("| " + " | ".join(cells) + " |\n")
    return out.getvalue()


def _budget(model: str, a: argparse.Namespace) -> dict[str, Any]:
    """What a row of ``model`` was trained with; a row is reused only when this matches."""
    if model == "lenet-300-100":
        return {"epochs": a.epochs[0], "train_images": 60000, "seed": a.seed}
    return {"epochs": a.epochs[1], "train_images": a.lenet5_train, "seed": a.seed}


def _budget_text(budgets: dict[str, dict], seed: Any) -> str:
    names = {"lenet-300-100": "LeNet-300-100", "lenet5": "LeNet-5"}
    parts = []
    for model, b in budgets.items():
        imgs = "60k images" if b["train_images"] >= 60000 else f"the first {b['train_images'] // 1000}k images"
        parts.append(f"{names.get(model, model)} {b['epochs']} epoch(s) of {imgs}")
    return "; ".join(parts) + f"; Adam 1e-3 (gRDA: SGD 5e-3), batch 128, seed {seed}"


def _order(rows: list[dict]) -> list[dict]:
    """Rows in table order: model, then method (existing schedules first, then :data:`METHODS`), then target."""
    models_ = list(dict.fromkeys(r["model"] for r in rows))
    for m in ("lenet5", "lenet-300-100"):
        if m in models_:
            models_.remove(m)
            models_.insert(0, m)
    known = existing_methods() + list(METHODS)
    rank = {m: i for i, m in enumerate(known)}
    return sorted(rows, key=lambda r: (models_.index(r["model"]), rank.get(r["method"], len(known)), r["method"],
                                       r["target"]))


def _merge(paths: list[Path]) -> tuple[list[dict], dict]:
    """Rows and meta of several output JSONs (e.g. one per model, run in separate processes); a later file's row
    replaces an earlier one for the same (model, method, target)."""
    rows: dict[tuple, dict] = {}
    meta: dict[str, Any] = {}
    for path in paths:
        d = json.loads(path.read_text())
        for r in d["rows"]:
            rows[(r["model"], r["method"], r["target"])] = r
        dense = {**meta.get("dense", {}), **d["meta"]["dense"]}
        budgets = {**meta.get("budgets", {}), **d["meta"].get("budgets", {})}
        sparsities = sorted(set(meta.get("sparsities", [])) | set(d["meta"].get("sparsities", [])))
        meta = {**meta, **d["meta"], "dense": dense, "budgets": budgets, "sparsities": sparsities}
    if meta.get("budgets"):
        meta["budget"] = _budget_text(meta["budgets"], meta.get("seed"))
    return _order(list(rows.values())), meta


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", nargs="+", default=["lenet-300-100", "lenet5"])
    p.add_argument("--sparsities", nargs="+", type=float, default=list(SPARSITIES))
    p.add_argument("--methods", nargs="+", help="subset (default: every method); names as in the table")
    p.add_argument("--epochs", nargs=2, type=int, default=list(EPOCHS), metavar=("L300", "LENET5"),
                   help="training epochs per method for LeNet-300-100 and LeNet-5")
    p.add_argument("--lenet5-train", type=int, default=LENET5_TRAIN,
                   help="LeNet-5 trains on the first N training images")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=OUT)
    p.add_argument("--tag", default="prune_methods")
    p.add_argument("--fresh", action="store_true",
                   help="discard the rows already in <out>/<tag>.json (default: keep them and run only the missing "
                        "ones; rows of another budget or penalty are rerun)")
    p.add_argument("--markdown", type=Path, nargs="+",
                   help="only rewrite <out>/<tag>.json/.csv/.md from these JSON files (e.g. runs split by model)")
    p.add_argument("--hardware", type=Path, nargs="+", metavar="NETS_DIR",
                   help="with --markdown: recompute the dense and hardware columns with the current simulators from "
                        "the pruned networks saved in these directories (<tag>_nets/ beside each run's JSON)")
    a = p.parse_args(argv)
    a.out.mkdir(parents=True, exist_ok=True)
    if a.hardware and not a.markdown:
        p.error("--hardware needs --markdown")
    if a.markdown:
        rows, meta = _merge(a.markdown)
        if a.hardware:
            _rehardware(rows, meta, a.hardware)
        _write(a, rows, meta)
        return 0
    methods = a.methods or (existing_methods() + list(METHODS))
    unknown = sorted(set(methods) - set(existing_methods()) - set(METHODS))
    if unknown:
        p.error(f"unknown method(s) {', '.join(unknown)}; known: {', '.join(existing_methods() + list(METHODS))}")
    budgets = {m: _budget(m, a) for m in a.models}
    # resume: keep every row of <out>/<tag>.json (other models too); a row is done when its budget and penalty match
    path = a.out / f"{a.tag}.json"
    done: dict[tuple, dict] = {}
    meta: dict[str, Any] = {"dense": {}, "budgets": {}, "sparsities": a.sparsities, "seed": a.seed}
    if path.exists() and not a.fresh:
        old_rows, old_meta = _merge([path])
        meta["dense"].update(old_meta.get("dense", {}))
        meta["budgets"].update(old_meta.get("budgets", {}))
        meta["sparsities"] = sorted(set(a.sparsities) | set(old_meta.get("sparsities", [])))
        for r in old_rows:
            done[(r["model"], r["method"], r["target"])] = r
        print(f"resuming: {len(done)} row(s) in {path}", flush=True)
    xtr, ytr = fashion_mnist.load("train")
    test = fashion_mnist.load("test")
    for model in a.models:
        b = budgets[model]
        if meta["budgets"].get(model) not in (None, b):
            stale = [k for k, r in done.items() if k[0] == model]
            print(f"{model}: {len(stale)} row(s) of budget {meta['budgets'][model]} will be rerun at {b}", flush=True)
        meta["budgets"][model] = b
        epochs, n = b["epochs"], b["train_images"]
        train = (xtr[:n], ytr[:n])
        base = models.get(model, pretrained=True)
        meta["dense"][model] = {"accuracy": base.accuracy(*test), **hardware(base)}
        for target in a.sparsities:
            for method in methods:
                hyper = PENALTY.get((model, method, target), {})
                old = done.get((model, method, target))
                if old is not None and old.get("budget") == b and old.get("hyper", {}) == hyper:
                    continue
                t0 = time.perf_counter()
                r = run_one(method, base, train, test, target, epochs, a.seed, hyper)
                net = r.pop("net")
                row = {"model": model, "method": method, "target": target, "sparsity": net.sparsity(),
                       "accuracy": net.accuracy(*test), **r, **hardware(net)}
                row["seconds"] = time.perf_counter() - t0
                row["budget"], row["hyper"] = b, hyper
                save_net(_net_path(a.out, a.tag, row), net)
                done[(model, method, target)] = row
                print(f"{model:14s} {method:28s} target {target:.2f} sparsity {row['sparsity']:.4f} "
                      f"acc {row['accuracy']:.4f} no-ft {row['acc_no_ft']} reram {row['reram_tiles']} "
                      f"photonic {row['photonic_static_w']:.4g} W  {row['seconds']:.0f} s", flush=True)
                meta["budget"] = _budget_text(meta["budgets"], a.seed)
                _write(a, _order(list(done.values())), meta)
    meta["budget"] = _budget_text(meta["budgets"], a.seed)
    _write(a, _order(list(done.values())), meta)
    return 0


def _rehardware(rows: list[dict], meta: dict, dirs: list[Path]) -> None:
    """Recompute every row's hardware columns (and the dense ones) from its saved network, so that the whole table
    comes from one version of the simulators; exits naming the rows without a saved network (a mixed table is not
    written)."""
    missing = []
    for r in rows:
        name = _net_path(Path("."), "x", r).name
        found = [d / name for d in dirs if (d / name).exists()]
        if not found:
            missing.append(f"{r['model']} {r['method']} {r['target']}")
            continue
        r.update(hardware(load_net(found[-1], r["model"])))
    if missing:
        raise SystemExit(f"no saved network for {len(missing)} row(s): {', '.join(missing)}")
    for model, d in meta["dense"].items():
        d.update(hardware(models.get(model, pretrained=True)))


def _write(a: argparse.Namespace, rows: list[dict], meta: dict) -> None:
    atomic_io.write_text(a.out / f"{a.tag}.json", json.dumps({"meta": meta, "rows": rows}, indent=1))
    with atomic_io.atomic_open(a.out / f"{a.tag}.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS)
        w.writeheader()
        for r in rows:
            w.writerow({k: r.get(k) for k in FIELDS})
    atomic_io.write_text(a.out / f"{a.tag}.md", markdown(rows, meta) + "\n## Compact (README)\n\n" + compact(rows, meta))


if __name__ == "__main__":
    sys.exit(main())
