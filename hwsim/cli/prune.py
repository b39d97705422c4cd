"""``hwsim prune``: prune a zoo model, fine-tune, evaluate, save a ``.npz`` for ``hwsim cost --weights``.

Weight-domain pruning (criteria, structures, schedules) and hardware-aware pruning (:func:`hwsim.prune.optimize`
against any registered back-end); a back-end may add its own pruning method through its prune options
(:meth:`hwsim.backend.Backend.prune_command`, e.g. phase-domain pruning of mesh heaters). Examples: README.md.
"""
from __future__ import annotations

import argparse
from typing import Any

from .. import backend
from ..atomic_io import check_output_file
from ._args import count, seed
from ._hardware import add_hardware_args, hardware_options
from ._output import print_json

SCHEDULES = ("one_shot", "gradual", "imp")


def add_parser(subparsers: Any) -> None:
    """Register ``hwsim prune`` on an argparse subparsers object."""
    import models

    from ..prune import CRITERIA, METRICS, SCOPES, STRUCTURES

    trainable = ", ".join(n for n, e in models.REGISTRY.items() if e.trainable)
    p = subparsers.add_parser("prune", help="prune a model (criteria, schedules, hardware-aware), fine-tune, "
                              "evaluate, and save a weights .npz for 'hwsim cost --weights'")
    p.add_argument("--model", required=True, help=f"trainable zoo model ({trainable})")
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
    p.add_argument("--train-limit", type=count, dest="train_limit", help="use the first N training images only")
    p.add_argument("--score-samples", type=count, default=5000, dest="score_samples",
                   help="training samples used by data-driven criteria")
    g = p.add_argument_group("hardware-aware pruning (needs --hardware and exactly one of --budget, --accuracy-floor)")
    g.add_argument("--preset", help="hardware preset (default: the back-end's default)")
    g.add_argument("--metric", default="tiles", choices=METRICS)
    g.add_argument("--budget", type=float, help="maximum value of --metric (SI unit, or a tile count)")
    g.add_argument("--accuracy-floor", type=float, dest="accuracy_floor",
                   help="minimum validation accuracy, a fraction in (0, 1]")
    g.add_argument("--val-split", choices=["train", "test"], default="train", dest="val_split",
                   help="validation data for the floor: the last 5000 training images (default; the shipped "
                        "weights were trained on them, so they overstate accuracy) or the first 5000 test images "
                        "(then the reported accuracy is measured on the remaining test images only)")
    p.add_argument("--data-dir", help="folder of Fashion-MNIST (or MNIST) IDX files")
    p.add_argument("--limit", type=count, help="evaluate on the first N test images only")
    p.add_argument("--seed", type=seed, default=0)
    p.add_argument("--json", action="store_true")
    add_hardware_args(p, "prune", required=False)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Handler of ``hwsim prune`` (see the module docstring)."""
    import models
    from models import fashion_mnist

    from .. import prune as hp
    from ..errors import ConfigError

    hw, hw_options = hardware_options(args, "prune")
    # before any work: not a folder, its folder writable; a weights .npz unless a back-end's own pruning writes it
    check_output_file(args.out, "--out", suffix=None if hw_options else ".npz")
    hw_aware = args.budget is not None or args.accuracy_floor is not None
    if hw_aware and hw is None:
        raise ConfigError(f"--budget / --accuracy-floor need --hardware {'|'.join(backend.names())}")
    if not models.entry(args.model).trainable:
        raise ConfigError(f"model {args.model!r} is shape-only: pruning needs a trainable model")
    net = models.workload(args.model, args.weights, trainable=True)
    if hw is not None:
        say = (lambda msg: None) if args.json else (lambda msg: print(msg, flush=True))
        context = backend.PruneContext(
            model=args.model, weights=args.weights, out=args.out, preset=args.preset, seed=args.seed,
            train=lambda: fashion_mnist.load("train", args.data_dir, limit=args.train_limit),
            test=lambda: fashion_mnist.load("test", args.data_dir, limit=args.limit),
            pretrained=lambda: models.get(args.model, pretrained=True), say=say)
        own = hw.prune_command(net, hw_options, context)
        if own is not None:
            result, text = own
            if args.json:
                print_json(result)
            else:
                print(text)
            return 0
    train = fashion_mnist.load("train", args.data_dir, limit=args.train_limit)
    xt, yt = fashion_mnist.load("test", args.data_dir, limit=args.limit)
    base_acc = net.accuracy(xt, yt)
    result: dict[str, Any] = {"model": args.model, "out": args.out, "baseline_accuracy": base_acc}
    cfg = hw.resolve_config(args.preset) if hw is not None else None
    tile = tuple(args.tile) if args.tile else None
    if tile is None and args.structure.startswith("xbar_"):
        if cfg is None:
            raise ConfigError(f"--structure {args.structure} needs --tile OUT IN or --hardware to derive it")
        tile = hw.pruning_unit(cfg)[1]
    sel = {"block": tuple(args.block) if args.block else None, "tile": tile, "n": args.n, "m": args.m}
    sel = {k: v for k, v in sel.items() if v is not None}
    if hw_aware:
        val_kw: dict[str, Any] = {}
        if args.val_split == "test":
            if len(yt) < 5001:
                raise ConfigError("--val-split test needs more than 5000 test images (drop --limit)")
            val_kw["val_data"], (xt, yt) = fashion_mnist.held_out_split(xt, yt, 5000)
            base_acc = net.accuracy(xt, yt)
            result["baseline_accuracy"] = base_acc
        r = hp.optimize(net, hw, train, metric=args.metric, budget=args.budget, **val_kw,
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
        print_json(result)
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
