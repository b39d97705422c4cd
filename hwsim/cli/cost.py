"""``hwsim cost``: latency, energy, static power and area of a network on a hardware model (the Report)."""
from __future__ import annotations

import argparse
import sys
from typing import Any

from ..errors import ConfigError
from ._args import add_import_args, seed
from ._hardware import add_hardware_args, hardware_options, mapping_for
from ._output import check_finite_report, print_json
from ._pruning import SPARSITY_HELP, describe, prune, trainable


def add_parser(sub: Any) -> None:
    p = sub.add_parser("cost", help="latency, energy, static power and area of a network on a hardware model")
    p.add_argument("--model")
    p.add_argument("--weights", help="weights .npz (one array per layer: 2-D (out, in), or a 4-D convolution weight "
                   "with --model; zeros = pruned), or an ONNX model (.onnx: architecture, weights and MVMs per "
                   "inference, no --model)")
    p.add_argument("--sparsity", type=float, help=SPARSITY_HELP)
    p.add_argument("--pattern", help="synthetic sparsity pattern of a shape-only model: random (default), magnitude, "
                   "block (a trainable model is pruned by magnitude; 'hwsim prune' has the other structures)")
    p.add_argument("--seed", type=seed, default=0)
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print the Report as JSON (the public contract)")
    out.add_argument("--csv", action="store_true", help="print one CSV row per layer and one for the total (SI units)")
    add_import_args(p, normalisation=False)
    add_hardware_args(p, "cost", required=True)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import models

    be, options = hardware_options(args, "cost")
    replacing = [o.flag for o in be.options if o.name in options and "--weights" in o.excludes]
    ignored = [f for f, v in (("--model", args.model), ("--sparsity", args.sparsity), ("--pattern", args.pattern),
                              ("--input-shape", args.input_shape), ("--state", args.state))
               if v is not None]
    if replacing and ignored:
        raise ConfigError(f"{', '.join(ignored)}: not with {replacing[0]} (the file replaces the network)")
    shape_only = (args.model is not None and args.weights is None and args.state is None
                  and not models.is_layer_spec(args.model) and not models.entry(args.model).trainable)
    if args.pattern is not None and not shape_only:
        raise ConfigError("--pattern: only for a shape-only model's synthetic weights (--model "
                          f"{'|'.join(n for n, e in models.REGISTRY.items() if not e.trainable)} without --weights); "
                          "--sparsity prunes a trainable network by magnitude, and 'hwsim prune' writes other "
                          "structures to pass with --weights")
    network = None  # none given: a back-end option may supply the mapping (a programming file)
    pruning = None
    if args.model is not None or args.weights is not None:
        network = models.workload(args.model, args.weights, seed=args.seed,
                                  sparsity=0.0 if args.sparsity is None or not shape_only else args.sparsity,
                                  pattern="random" if args.pattern is None else args.pattern,
                                  input_shape=args.input_shape, state=args.state)
        if args.sparsity is not None and not shape_only:
            if not trainable(network):
                raise ConfigError(f"--sparsity: {args.weights} holds bare matrices, not a network to prune; prune "
                                  "a trainable model with 'hwsim prune' and pass its file with --weights")
            network, pruning = prune(network, args.sparsity)
    mapping, _, _ = mapping_for(args, be, options, network)
    report = be.cost(mapping)
    check_finite_report(report)
    if args.json:
        if pruning is None:
            print(report.to_json(indent=2))
        else:
            print_json({**report.to_dict(), "pruning": pruning})
    elif args.csv:
        if pruning is not None:
            print(f"hwsim: {describe(pruning)}", file=sys.stderr)
        print(_csv(report))
    else:
        if pruning is not None:
            print(describe(pruning))
        print(report.format_table())
    return 0


def _csv(report: Any) -> str:
    """The Report as CSV: one row per layer, then ``total`` (SI units: s, J, W; area in mm^2)."""
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["layer", "out", "in", "mvms_per_inference", "tiles", "latency_s", "energy_j", "static_power_w",
                "area_mm2"])
    for l in report.layers:
        w.writerow([l.name, l.shape[0], l.shape[1], l.mvms_per_inference, l.tiles, repr(l.latency_s),
                    repr(l.energy_j), repr(l.static_power_w), repr(l.area_mm2)])
    t = report.total
    w.writerow(["total", "", "", "", t.tiles, repr(t.latency_s), repr(t.energy_j), repr(t.static_power_w),
                repr(t.area_mm2)])
    return buf.getvalue().rstrip("\n")
