"""``hwsim evaluate``: test accuracy on Fashion-MNIST, in float or measured through a hardware model."""
from __future__ import annotations

import argparse
from typing import Any

from ._args import add_import_args, count, fit_input, seed
from ._hardware import add_hardware_args, hardware_options, mapping_for
from ._output import print_json


def add_parser(sub: Any) -> None:
    p = sub.add_parser("evaluate", help="test accuracy on Fashion-MNIST, in float or through a hardware model")
    p.add_argument("--model", help="zoo model (trainable); not with an ONNX file")
    p.add_argument("--weights", help="weights .npz (one 2-D array per layer, network order), or an ONNX model "
                   "(.onnx: architecture and weights, no --model)")
    p.add_argument("--data-dir", help="folder of Fashion-MNIST (or MNIST) IDX files")
    p.add_argument("--limit", type=count, help="evaluate the first N test images only")
    p.add_argument("--seed", type=seed, default=0)
    p.add_argument("--json", action="store_true")
    add_import_args(p)
    add_hardware_args(p, "evaluate", required=False)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import models
    from models import fashion_mnist

    be, options = hardware_options(args, "evaluate")
    net = models.workload(args.model, args.weights, trainable=True, input_shape=args.input_shape, mean=args.mean,
                          std=args.std, state=args.state)
    x, y = fashion_mnist.load("test", args.data_dir, limit=args.limit)
    x = fit_input(net, x)
    label = args.model if args.model is not None else args.weights
    result: dict[str, Any] = {"model": label}
    if be is None:
        acc = net.accuracy(x, y)
    else:
        mapping, cfg, extra = mapping_for(args, be, options, net)
        result.update(extra)
        mapping, extra = be.prepare_evaluation(
            mapping, options, lambda n: fit_input(net, fashion_mnist.load("train", args.data_dir, limit=n)[0]), args.seed)
        result.update(extra)
        acc = be.accuracy(mapping, x, y, seed=args.seed)
        result.update({"hardware": be.name, "preset": getattr(cfg, "preset", args.preset),
                       "config": be.config_to_dict(cfg), "seed": args.seed})
    result.update({"accuracy": float(acc), "n": int(len(y))})
    if args.json:
        print_json(result)
    else:
        where = f" on {be.name}" if be is not None else ""
        print(f"{label}{where}: test accuracy {acc * 100:.2f}% on {len(y)} Fashion-MNIST images")
    return 0
