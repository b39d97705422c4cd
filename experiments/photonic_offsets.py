"""Phase pruning under fabrication phase offsets (issue 11, 4 and 7): LeNet-300-100, weight-stationary 16 x 16
Clements tiles (the chip of ``prune_photonic.py``), full Fashion-MNIST test set.

For each heater kind (single-arm "standard", "push_pull") and offset sigma (0, 0.05, 0.2 rad, seed 0):

* ``naive``: the committed 90 %-saved chip (``prune_photonic_final_programming.npz``, pruned on an ideal chip) on a
  chip with offsets: its pruned phases are 0, which now costs P_pi wrap(0 - offset)/pi (single-arm: ~2 P_pi for a
  positive offset) -- the issue's re-costing.
* ``switched_off``: the same heaters switched off instead, i.e. left at their offsets (power 0, phases moved).
* ``repaired``: ``switched_off`` fine-tuned offset-aware (the off heaters stay at their offsets; distilled from the
  unpruned network): ``--repair-steps`` minibatches.
* ``reprune`` (``--reprune``, the slow one): the whole phase-pruning recipe of ``prune_photonic.py`` from the stage-A
  weights on the chip with offsets (gauge, power-regularised rounds pruning on the heater *drive*, distilled
  fine-tuning).

Savings are against the unpruned network mapped on the same kind of chip (same sigma and seed). Writes
``experiments/out/photonic_offsets[_TAG].json``. Run with ``OPENBLAS_NUM_THREADS=1``.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path


import models
from hwsim import photonic
from hwsim.atomic_io import atomic_open
from hwsim.photonic.mapping import with_offsets
from hwsim.prune import photonic_phases as pp
from models import fashion_mnist

OUT = Path(__file__).resolve().parent / "out"


def with_heater(cfg, mode: str, sigma: float, seed: int):
    return dataclasses.replace(cfg, heater=dataclasses.replace(cfg.heater, mode=mode, offset_sigma_rad=sigma,
                                                               offset_seed=seed))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--modes", default="standard,push_pull")
    ap.add_argument("--sigmas", default="0,0.05,0.2")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repair-steps", type=int, default=1000)
    ap.add_argument("--reprune", action="store_true")
    ap.add_argument("--tag", default="")
    a = ap.parse_args(argv)
    xt, yt = fashion_mnist.load("test")
    train = fashion_mnist.load("train")
    teacher = models.get("lenet-300-100", pretrained=True)
    chip0 = photonic.load_programming(OUT / "prune_photonic_final_programming.npz", models.get("lenet-300-100"))
    base_cfg = photonic.resolve_config("harris2014_weight_stationary")
    rows = []
    for mode in a.modes.split(","):
        for sigma in (float(s) for s in a.sigmas.split(",")):
            t0 = time.time()
            cfg = with_heater(base_cfg, mode, sigma, a.seed)
            dense = photonic.map(teacher, cfg)
            p_dense = photonic.cost(dense).total.static_power_w
            row = {"heater_mode": mode, "offset_sigma_rad": sigma, "seed": a.seed, "dense_static_power_w": p_dense,
                   "dense_accuracy": photonic.accuracy(dense, xt, yt)}

            def rec(name, m):
                p = photonic.cost(m).total.static_power_w
                row[name] = {"static_power_w": p, "saving": 1 - p / p_dense, "accuracy": photonic.accuracy(m, xt, yt),
                             "heaters_on": int(sum(int((l.drive() != 0).sum()) for l in m.layers))}

            ccfg = with_heater(chip0.config, mode, sigma, a.seed)
            naive = dataclasses.replace(chip0, config=ccfg, layers=tuple(with_offsets(chip0.layers, ccfg)))
            rec("naive", naive)
            if sigma > 0 and not a.reprune:
                off = photonic.prune_phases(naive, mask=[l.phases == 0.0 for l in chip0.layers])
                rec("switched_off", off)
                if a.repair_steps:
                    rep = pp.finetune_phases(off, train, epochs=10**6, max_steps=a.repair_steps, lr=2e-3, seed=a.seed,
                                             teacher=teacher, kd_weight=0.7, kd_temperature=4.0)
                    rec("repaired", rep)
            if a.reprune:
                stage_a = photonic.map(models.get("lenet-300-100").load(OUT / "prune_photonic_v2_stage_a.npz"), cfg)
                start = photonic.gauge_optimize(stage_a, levels=16, sweeps=2)
                outs = pp.regularized_phase_pruning(start, train, power_reg=1.2e-4, rounds=8, threshold=0.1,
                                                    steps=300, lr=1e-2, final_steps=3000, final_lr=5e-3, seed=a.seed,
                                                    teacher=teacher, kd_weight=0.7, kd_temperature=4.0)
                rec("reprune", outs[-1])
            row["seconds"] = time.time() - t0
            rows.append(row)
            print(json.dumps(row), flush=True)
            path = OUT / f"photonic_offsets{('_' + a.tag) if a.tag else ''}.json"
            with atomic_open(path, "w") as f:
                json.dump({"rows": rows, "argv": argv or []}, f, indent=1)


if __name__ == "__main__":
    main()
