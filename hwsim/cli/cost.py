"""``hwsim cost``: latency, energy, static power and area of a network on a hardware model (the Report)."""
from __future__ import annotations

import argparse
from typing import Any

from ._hardware import add_hardware_args, hardware_options, mapping_for


def add_parser(sub: Any) -> None:
    p = sub.add_parser("cost", help="latency, energy, static power and area of a network on a hardware model")
    p.add_argument("--model")
    p.add_argument("--weights", help="weights .npz (one 2-D array per layer, (out, in), zeros = pruned)")
    p.add_argument("--sparsity", type=float, default=0.0, help="synthetic sparsity for shape-only models")
    p.add_argument("--pattern", default="random", help="synthetic sparsity pattern: random, magnitude, block")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    add_hardware_args(p, "cost", required=True)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import models

    be, options = hardware_options(args, "cost")
    network = None  # none given: a back-end option may supply the mapping (a programming file)
    if args.model is not None or args.weights is not None:
        network = models.workload(args.model, args.weights, seed=args.seed, sparsity=args.sparsity,
                                  pattern=args.pattern)
    mapping, _, _ = mapping_for(args, be, options, network)
    report = be.cost(mapping)
    print(report.to_json(indent=2) if args.json else report.format_table())
    return 0
