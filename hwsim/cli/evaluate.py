"""``hwsim evaluate``: test accuracy on Fashion-MNIST, in float or measured through a hardware model.

Accuracy on hardware names the non-idealities that were on (:meth:`hwsim.backend.BackendBase.nonidealities`: the
JSON key ``nonidealities``, one line in the text output); the default presets carry a built chip's (preset ``ideal``
for none). Evaluations of more than a few thousand images report progress on stderr."""
from __future__ import annotations

import argparse
import sys
import time
from typing import Any, Callable

from ._args import add_import_args, count, fit_input, seed
from ._hardware import add_hardware_args, hardware_options, mapping_for
from ._output import print_json
from ._pruning import SPARSITY_HELP, describe, prune

#: Evaluations longer than this (estimated from the first chunk of images) show progress on stderr, s.
PROGRESS_AFTER_S = 2.0
#: Images per chunk when progress is shown (each chunk re-draws the same chip instance from the same seed, so the
#: accuracy is exactly that of one call).
CHUNK = 2000


def add_parser(sub: Any) -> None:
    p = sub.add_parser("evaluate", help="test accuracy on Fashion-MNIST, in float or through a hardware model")
    p.add_argument("--model", help="zoo model (trainable), or your own network as a layer-spec file SPEC.toml "
                   "(weights from --state or --weights); not with an ONNX file")
    p.add_argument("--weights", help="weights .npz (one array per layer, network order: 2-D, or a 4-D convolution "
                   "weight), or an ONNX model (.onnx: architecture and weights, no --model)")
    p.add_argument("--sparsity", type=float, help=SPARSITY_HELP.split(". A shape-only")[0])
    p.add_argument("--data-dir", help="folder of Fashion-MNIST (or MNIST) IDX files")
    p.add_argument("--limit", type=count, help="evaluate the first N test images only")
    p.add_argument("--seed", type=seed, default=0, help="chip instance (device variation, phase noise) drawn from this "
                   "seed (default 0)")
    p.add_argument("--json", action="store_true")
    add_import_args(p)
    add_hardware_args(p, "evaluate", required=False)
    p.set_defaults(func=run)


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def measured_accuracy(acc: Callable[[Any, Any], float], x: Any, y: Any, what: str) -> float:
    """``acc(x, y)`` over all images; when the first 1,000 images project more than :data:`PROGRESS_AFTER_S`, the
    rest runs in chunks of :data:`CHUNK` with a progress line on stderr (same result: accuracy is a mean over
    images and every chunk sees the same chip instance)."""
    from ..sweep.progress import Progress

    n = len(y)
    first = min(1000, n)
    if n <= first:
        return float(acc(x, y))
    t0 = time.perf_counter()
    correct = acc(x[:first], y[:first]) * first
    spent = time.perf_counter() - t0
    if spent * n / first < PROGRESS_AFTER_S:
        return float((correct + acc(x[first:], y[first:]) * (n - first)) / n)
    bar = Progress(f"{what}: images", every_s=2.0)
    bar.t0 = t0
    bar(first, n)
    for i in range(first, n, CHUNK):
        j = min(i + CHUNK, n)
        correct += acc(x[i:j], y[i:j]) * (j - i)
        bar(j, n)
    return float(correct / n)


def run(args: argparse.Namespace) -> int:
    import models
    from models import fashion_mnist

    be, options = hardware_options(args, "evaluate")
    net = models.workload(args.model, args.weights, trainable=True, input_shape=args.input_shape, mean=args.mean,
                          std=args.std, state=args.state)
    label = args.model if args.model is not None else args.weights
    result: dict[str, Any] = {"model": label}
    if args.sparsity is not None:
        net, result["pruning"] = prune(net, args.sparsity)
    x, y = fashion_mnist.load("test", args.data_dir, limit=args.limit)
    x = fit_input(net, x)
    nonideal: dict[str, Any] | None = None
    if be is None:
        acc = measured_accuracy(net.accuracy, x, y, "float")
    else:
        mapping, cfg, extra = mapping_for(args, be, options, net)
        result.update(extra)
        mapping, extra = be.prepare_evaluation(
            mapping, options, lambda n: fit_input(net, fashion_mnist.load("train", args.data_dir, limit=n)[0]), args.seed)
        result.update(extra)
        acc = measured_accuracy(lambda xs, ys: be.accuracy(mapping, xs, ys, seed=args.seed), x, y, be.name)
        nonideal = nonidealities(be, getattr(mapping, "config", cfg), extra, args.seed)
        result.update({"hardware": be.name, "preset": getattr(cfg, "preset", args.preset),
                       "config": be.config_to_dict(cfg), "seed": args.seed, "nonidealities": nonideal})
    result.update({"accuracy": float(acc), "n": int(len(y))})
    if args.json:
        print_json(result)
    else:
        if "pruning" in result:
            print(describe(result["pruning"]))
        where = f" on {be.name} (preset {result['preset']})" if be is not None else " (float)"
        print(f"{label}{where}: test accuracy {acc * 100:.2f}% on {len(y)} Fashion-MNIST images")
        if nonideal is not None:
            print(f"  non-idealities: {nonideal['summary']}")
    return 0


def nonidealities(be: Any, config: Any, extra: dict[str, Any], seed: int) -> dict[str, Any]:
    """The back-end's account of what was on (:meth:`hwsim.backend.BackendBase.nonidealities`), with the chip
    instance's seed and what ``prepare_evaluation`` added (e.g. a calibrated ADC) in its summary."""
    hook = getattr(be, "nonidealities", None)
    d = dict(hook(config)) if hook is not None else {"summary": f"not declared by the {be.name} back-end",
                                                     "ideal": None}
    notes = [f"{k.replace('_', ' ')} {v}" for k, v in extra.items() if isinstance(v, (int, float, str))
             and not isinstance(v, bool)]
    d["summary"] = d["summary"] + "".join(f"; {n}" for n in notes) + f"; chip instance seed {seed}"
    d["seed"] = seed
    return d
