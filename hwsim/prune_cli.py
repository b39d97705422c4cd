"""The ``hwsim prune`` subcommand: prune a zoo model, fine-tune, evaluate, save a ``.npz`` for ``hwsim cost --weights``.

:func:`hwsim.cli.build_parser` registers it through :func:`add_prune_parser`; the handler returns 0 and raises
:class:`hwsim.errors.HwsimError` subclasses on bad input like every other command.

Examples::

    hwsim prune --model lenet-300-100 --criterion magnitude --sparsity 0.9 --finetune-epochs 3 --out p.npz
    hwsim prune --model lenet-300-100 --schedule gradual --sparsity 0.9 --epochs 4 --out p.npz --json
    hwsim prune --model lenet-300-100 --hardware reram --metric tiles --accuracy-floor 0.89 --val-split test \
        --out p.npz
"""
from __future__ import annotations

import argparse
import json
from typing import Any

SCHEDULES = ("one_shot", "gradual", "imp")


def add_prune_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``hwsim prune`` on an argparse subparsers object; returns the new parser."""
    from .prune import CRITERIA, SCOPES, STRUCTURES
    from .prune.hardware_aware import METRICS

    p = subparsers.add_parser("prune", help="prune a model (criteria, schedules, hardware-aware), fine-tune, "
                              "evaluate, and save a weights .npz for 'hwsim cost --weights'")
    p.add_argument("--model", required=True, help="trainable zoo model (lenet-300-100, lenet5)")
    p.add_argument("--weights", help="start from this weights .npz instead of the shipped pretrained weights")
    p.add_argument("--out", required=True, help="output weights file (.npz: weights, biases, masks)")
    p.add_argument("--criterion", default="magnitude", choices=CRITERIA)
    p.add_argument("--sparsity", type=float, default=0.9, help="fraction of weights pruned, in [0, 1)")
    p.add_argument("--scope", default="global", choices=SCOPES)
    p.add_argument("--structure", default="unstructured", choices=STRUCTURES)
    p.add_argument("--block", type=int, nargs=2, metavar=("B_OUT", "B_IN"), help="block shape for --structure block")
    p.add_argument("--tile", type=int, nargs=2, metavar=("OUT", "IN"),
                   help="tile geometry for --structure xbar_* (default: from --hardware's config)")
    p.add_argument("--n", type=int, help="N of N:M (--structure nm)")
    p.add_argument("--m", type=int, help="M of N:M (--structure nm)")
    p.add_argument("--schedule", default="one_shot", choices=SCHEDULES)
    p.add_argument("--finetune-epochs", type=int, default=2, dest="finetune_epochs",
                   help="one_shot / hardware-aware: fine-tuning epochs")
    p.add_argument("--epochs", type=int, default=4, help="gradual: total epochs; imp: epochs per round")
    p.add_argument("--rounds", type=int, default=3, help="imp: pruning rounds")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--train-limit", type=int, dest="train_limit", help="use the first N training images only")
    p.add_argument("--score-samples", type=int, default=5000, dest="score_samples",
                   help="training samples used by data-driven criteria")
    g = p.add_argument_group("hardware-aware pruning (needs --hardware and exactly one of --budget, --accuracy-floor)")
    g.add_argument("--hardware", choices=["reram", "photonic"])
    g.add_argument("--preset", help="hardware preset (default: the back-end's default)")
    g.add_argument("--metric", default="tiles", choices=METRICS)
    g.add_argument("--budget", type=float, help="maximum value of --metric (SI unit, or a tile count)")
    g.add_argument("--accuracy-floor", type=float, dest="accuracy_floor",
                   help="minimum validation accuracy, a fraction in (0, 1]")
    g.add_argument("--val-split", choices=["train", "test"], default="train", dest="val_split",
                   help="validation data for the floor: the last 5000 training images (default; the shipped "
                        "weights were trained on them, so they overstate accuracy) or the first 5000 test images "
                        "(then the reported accuracy is measured on the remaining test images only)")
    g = p.add_argument_group("photonic phase-domain pruning (needs --hardware photonic and --phase-power-reg; writes "
                             "a programming file for 'hwsim cost/evaluate --phases' to --out)")
    g.add_argument("--phase-power-reg", type=float, dest="phase_power_reg",
                   help="lambda of the heater-power regulariser (per P_pi; 1.2e-4 for LeNet-300-100)")
    g.add_argument("--phase-rounds", type=int, default=8, dest="phase_rounds", help="regularised train-and-cut rounds")
    g.add_argument("--phase-steps", type=int, default=300, dest="phase_steps", help="minibatches per round")
    g.add_argument("--phase-lr", type=float, default=1e-2, dest="phase_lr", help="learning rate of the rounds")
    g.add_argument("--phase-threshold", type=float, default=0.1, dest="phase_threshold",
                   help="heaters within this many rad of 0 are switched off after each round")
    g.add_argument("--final-steps", type=int, default=3000, dest="final_steps",
                   help="fine-tuning minibatches after the rounds")
    g.add_argument("--final-lr", type=float, default=5e-3, dest="final_lr")
    g.add_argument("--kd-weight", type=float, default=0.7, dest="kd_weight",
                   help="final fine-tuning: weight of distillation from the model's shipped pretrained (unpruned) "
                        "float network (0 = labels only)")
    g.add_argument("--kd-temperature", type=float, default=4.0, dest="kd_temperature")
    g.add_argument("--gauge-levels", type=int, default=0, dest="gauge_levels",
                   help="before the rounds, lower heater power with the SVD gauge (levels per mode; 0 = off)")
    p.add_argument("--data-dir", help="folder of Fashion-MNIST (or MNIST) IDX files")
    p.add_argument("--limit", type=int, help="evaluate on the first N test images only")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_prune)
    return p


def cmd_prune(args: argparse.Namespace) -> int:
    """Handler of ``hwsim prune`` (see the module docstring)."""
    import models
    from models import fashion_mnist

    from . import prune as hp
    from .errors import ConfigError
    from .nn import Network

    net = models.get(args.model, pretrained=args.weights is None)
    if not isinstance(net, Network):
        raise ConfigError(f"model {args.model!r} is shape-only: pruning needs a trainable model")
    if args.weights is not None:
        net.load(args.weights)
    hw_aware = args.budget is not None or args.accuracy_floor is not None
    if hw_aware and args.hardware is None:
        raise ConfigError("--budget / --accuracy-floor need --hardware reram|photonic")
    if args.phase_power_reg is not None:
        if args.hardware != "photonic" or hw_aware:
            raise ConfigError("--phase-power-reg needs --hardware photonic (and no --budget / --accuracy-floor: "
                              "prune tiles first, then pass the result with --weights)")
        return _phase_domain(args, net)
    train = fashion_mnist.load("train", args.data_dir, limit=args.train_limit)
    xt, yt = fashion_mnist.load("test", args.data_dir, limit=args.limit)
    base_acc = net.accuracy(xt, yt)
    result: dict[str, Any] = {"model": args.model, "out": args.out, "baseline_accuracy": base_acc}
    hw = None
    cfg = None
    if args.hardware is not None:
        from .hardware import backend

        hw = backend(args.hardware)
        cfg = hw.resolve_config(args.preset) if args.preset is not None else hw.resolve_config()
    tile = tuple(args.tile) if args.tile else None
    if tile is None and args.structure.startswith("xbar_"):
        if cfg is None:
            raise ConfigError(f"--structure {args.structure} needs --tile OUT IN or --hardware to derive it")
        tile = hp.hardware_unit(args.hardware, cfg)[1]
    sel = {"block": tuple(args.block) if args.block else None, "tile": tile, "n": args.n, "m": args.m}
    sel = {k: v for k, v in sel.items() if v is not None}
    if hw_aware:
        val_kw: dict[str, Any] = {}
        if args.val_split == "test":
            if len(yt) < 5001:
                raise ConfigError("--val-split test needs more than 5000 test images (drop --limit)")
            val_kw["val_data"] = (xt[:5000], yt[:5000])
            xt, yt = xt[5000:], yt[5000:]
            base_acc = net.accuracy(xt, yt)
            result["baseline_accuracy"] = base_acc
        r = hp.optimize(net, args.hardware, train, metric=args.metric, budget=args.budget, **val_kw,
                        accuracy_floor=args.accuracy_floor, config=cfg, criterion=args.criterion,
                        finetune_epochs=args.finetune_epochs, lr=args.lr, seed=args.seed,
                        progress=not args.json)
        pruned = r.network
        result.update({"hardware": args.hardware, "metric": args.metric, "layer_sparsity": list(r.sparsity),
                       "baseline_" + args.metric: hp.metric_of(r.baseline_report, args.metric),
                       args.metric: hp.metric_of(r.report, args.metric), "saving": r.saving,
                       "val_accuracy": r.val_accuracy, "baseline_val_accuracy": r.baseline_val_accuracy})
    elif args.schedule == "one_shot":
        pruned = hp.one_shot(net, (train[0][:args.score_samples], train[1][:args.score_samples]),
                             criterion=args.criterion, sparsity=args.sparsity, scope=args.scope,
                             structure=args.structure, finetune_epochs=args.finetune_epochs, train_data=train,
                             lr=args.lr, seed=args.seed, **sel)
    elif args.schedule == "gradual":
        pruned, _ = hp.gradual(net, train, final_sparsity=args.sparsity, criterion=args.criterion, scope=args.scope,
                               structure=args.structure, epochs=args.epochs, lr=args.lr, seed=args.seed,
                               score_samples=args.score_samples, **sel)
    else:
        if args.criterion != "magnitude" or args.structure != "unstructured":
            raise ConfigError("--schedule imp is iterative *magnitude* pruning of single weights: use "
                              "--criterion magnitude --structure unstructured")
        pruned, _ = hp.iterative_magnitude(net, train, final_sparsity=args.sparsity, rounds=args.rounds,
                                           epochs_per_round=args.epochs, scope=args.scope, lr=args.lr,
                                           seed=args.seed)
    path = hp.save(pruned, args.out)
    result.update({"out": str(path), "sparsity": pruned.sparsity(), "accuracy": pruned.accuracy(xt, yt),
                   "n": int(len(yt)),
                   "layers": [{"name": l.name, "shape": list(l.shape), "sparsity": 1.0 - float(l.mask.mean())}
                              for l in pruned.weighted_layers()]})
    if hw is not None:
        rep = hw.cost(hw.map(pruned, cfg))
        base = hw.cost(hw.map(net, cfg))
        result["report"] = {"total": rep.total.to_dict(), "baseline_total": base.total.to_dict()}
    if args.json:
        print(json.dumps(result, indent=2, allow_nan=False))
    else:
        print(f"{args.model}: sparsity {result['sparsity'] * 100:.2f}%  test accuracy {result['accuracy'] * 100:.2f}% "
              f"(unpruned {base_acc * 100:.2f}%, {result['n']} images)  -> {path}")
        for l in result["layers"]:
            print(f"  {l['name']:<8} {l['shape'][0]:>5} x {l['shape'][1]:<5} sparsity {l['sparsity'] * 100:6.2f}%")
        if "report" in result:
            t, b = result["report"]["total"], result["report"]["baseline_total"]
            print(f"  {args.hardware}: tiles {b['tiles']} -> {t['tiles']}, static power {b['static_power_w']:.4g} W -> "
                  f"{t['static_power_w']:.4g} W, energy {b['energy_j']:.4g} J -> {t['energy_j']:.4g} J per inference")
    return 0


def _phase_domain(args: argparse.Namespace, net: Any) -> int:
    """``hwsim prune --hardware photonic --phase-power-reg L``: map ``net``, switch heaters off by power-regularised
    training rounds, fine-tune the rest (distilled from ``net``), write a programming file."""
    import models
    from models import fashion_mnist

    from . import photonic
    from .errors import ConfigError
    from .prune import photonic_phases as pp

    if not (args.phase_power_reg > 0 and args.phase_rounds >= 1 and args.phase_steps >= 1 and args.final_steps >= 0):
        raise ConfigError("--phase-power-reg must be > 0, --phase-rounds and --phase-steps >= 1, --final-steps >= 0")
    cfg = photonic.resolve_config(args.preset) if args.preset is not None else photonic.resolve_config()
    train = fashion_mnist.load("train", args.data_dir, limit=args.train_limit)
    xt, yt = fashion_mnist.load("test", args.data_dir, limit=args.limit)
    dense = photonic.map(net, cfg)
    before = photonic.cost(dense).total
    start = photonic.gauge_optimize(dense, levels=args.gauge_levels, sweeps=2) if args.gauge_levels else dense
    unpruned = models.get(args.model, pretrained=True)  # distillation teacher and the unpruned baseline
    say = (lambda *a: None) if args.json else (lambda *a: print(*a, flush=True))
    say(f"{args.model}: {before.tiles} tiles, static power {before.static_power_w:.4g} W; "
        f"{args.phase_rounds} regularised rounds of {args.phase_steps} steps, then {args.final_steps} fine-tuning steps")

    def power_and_heaters(m: Any) -> tuple[Any, int]:
        rep = photonic.cost(m)
        return rep.total, int(sum(l.counts["heaters_on"] for l in rep.layers))

    def progress(i: int, m: Any) -> None:
        total, on = power_and_heaters(m)
        p = total.static_power_w
        stage = f"round {i + 1}" if i < args.phase_rounds else "fine-tuned"
        say(f"  {stage:<10} heaters on {on:>8}  static power {p:.4g} W ({100 * (1 - p / before.static_power_w):.2f}% "
            "saved)")

    outs = pp.regularized_phase_pruning(
        start, train, power_reg=args.phase_power_reg, rounds=args.phase_rounds, threshold=args.phase_threshold,
        steps=args.phase_steps, lr=args.phase_lr, final_steps=args.final_steps, final_lr=args.final_lr,
        seed=args.seed, callback=progress, kd_weight=args.kd_weight,
        teacher=unpruned if args.kd_weight > 0 else None, kd_temperature=args.kd_temperature)
    chip = outs[-1]
    path = photonic.save_programming(chip, args.out)
    after, heaters = power_and_heaters(chip)
    result = {"model": args.model, "out": str(path), "hardware": "photonic", "metric": "static_power_w",
              "baseline_static_power_w": before.static_power_w, "static_power_w": after.static_power_w,
              "saving": 1.0 - after.static_power_w / before.static_power_w,
              "heaters_on": heaters,
              "phases": int(sum(l.phases.size for l in chip.layers)),
              "baseline_accuracy": photonic.accuracy(dense, xt, yt), "accuracy": photonic.accuracy(chip, xt, yt),
              "n": int(len(yt)), "report": {"total": after.to_dict(), "baseline_total": before.to_dict()}}
    if args.weights is not None:  # the baseline above is the --weights start; also against the unpruned model
        unpruned_map = photonic.map(unpruned, cfg)
        up = photonic.cost(unpruned_map).total.static_power_w
        result.update({"unpruned_static_power_w": up, "saving_vs_unpruned": 1.0 - after.static_power_w / up,
                       "unpruned_accuracy": photonic.accuracy(unpruned_map, xt, yt)})
    if args.json:
        print(json.dumps(result, indent=2, allow_nan=False))
    else:
        print(f"{args.model} on photonic: static power {before.static_power_w:.4g} W -> {after.static_power_w:.4g} W "
              f"({100 * result['saving']:.2f}% saved), heaters on {result['heaters_on']} of {result['phases']}, "
              f"test accuracy {100 * result['baseline_accuracy']:.2f}% -> {100 * result['accuracy']:.2f}% "
              f"({result['n']} images)  -> {path}")
        if "unpruned_static_power_w" in result:
            print(f"  vs the unpruned model: {result['unpruned_static_power_w']:.4g} W, "
                  f"{100 * result['saving_vs_unpruned']:.2f}% saved, test accuracy "
                  f"{100 * result['unpruned_accuracy']:.2f}%")
    return 0
