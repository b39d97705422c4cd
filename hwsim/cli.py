"""The ``hwsim`` command line. Command names and JSON output forms are a public contract (DESIGN.md)."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Sequence

from .errors import HwsimError


def _print_json(obj: Any) -> None:
    print(json.dumps(obj, indent=2, allow_nan=False))


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[str(h) for h in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
             for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


# ---- models ------------------------------------------------------------------------------------------------------
def cmd_models(args: argparse.Namespace) -> int:
    import models

    infos = [models.info(n) for n in models.names()]
    if args.json:
        _print_json([i.__dict__ for i in infos])
    else:
        print(_table(["model", "kind", "layers", "weights", "params", "MVMs/inference", "pretrained"],
                     [[i.name, i.kind, i.layers, f"{i.weights:,}", f"{i.params:,}", f"{i.mvms_per_inference:,}",
                       "yes" if i.pretrained else "-"] for i in infos]))
    return 0


# ---- shared loading ----------------------------------------------------------------------------------------------
def _load_network(args: argparse.Namespace, need_network: bool):
    """A Network (pretrained, or with --weights), a ShapeNetwork, or bare matrices from --weights."""
    import models
    from .errors import ConfigError
    from .nn import Network
    from .weights_io import read_weights
    from .workload import MatrixLayer

    if args.model is None and args.weights is None:
        raise ConfigError("give --model NAME or --weights FILE.npz")
    if args.model is None:
        if need_network:
            raise ConfigError("--weights without --model gives matrices only; evaluating needs --model NAME")
        wf = read_weights(args.weights)
        return [MatrixLayer(k, w, 1) for k, w in wf.weights]
    model = models.get(args.model, pretrained=args.weights is None and args.model in ("lenet-300-100", "lenet5"))
    if isinstance(model, Network):
        if args.weights is not None:
            model.load(args.weights)
        return model
    if need_network:
        raise ConfigError(f"model {args.model!r} is shape-only; evaluating accuracy needs a trained model "
                          "(lenet-300-100 or lenet5)")
    if args.weights is not None:
        wf = read_weights(args.weights)
        if [w.shape for _, w in wf.weights] != [l.shape for l in model.layers]:
            raise ConfigError(f"--weights {args.weights} does not match the shapes of {args.model}")
        return [MatrixLayer(s.name, w, s.mvms_per_inference) for s, (_, w) in zip(model.layers, wf.weights)]
    return model.matrix_layers(seed=args.seed, sparsity=args.sparsity, pattern=args.pattern)


def _resolve_config(args: argparse.Namespace):
    from .hardware import backend

    be = backend(args.hardware)
    if args.hardware == "reram":
        cfg = be.resolve_config(args.preset, args.config, mapping=args.mapping, adc_bits=args.adc_bits,
                                sigma=args.sigma)
    else:
        cfg = be.resolve_config(args.preset, args.config, mesh=args.mesh, tile=args.tile,
                                phase_noise=args.phase_noise)
    return be, cfg


def _backend_flags(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """The back-end-specific options, by back-end: flag -> value (None when not given)."""
    return {"reram": {"--mapping": args.mapping, "--adc-bits": args.adc_bits, "--sigma": args.sigma,
                      "--adc-calibration": args.adc_calibration},
            "photonic": {"--mesh": args.mesh, "--tile": args.tile, "--phase-noise": args.phase_noise,
                         "--phases": args.phases}}


def _check_hw_flags(args: argparse.Namespace) -> None:
    from .errors import ConfigError

    if args.phases is not None:
        fixed = [f for f, v in (("--preset", args.preset), ("--config", args.config), ("--mesh", args.mesh),
                                ("--tile", args.tile), ("--weights", args.weights)) if v is not None]
        if fixed:
            raise ConfigError(f"{', '.join(fixed)}: not with --phases (the programming file fixes the hardware "
                              "configuration and replaces the weights)")
    if args.preset is not None and args.config is not None:
        raise ConfigError("--preset and --config are mutually exclusive")
    for hw, flags in _backend_flags(args).items():
        if args.hardware != hw:
            used = [k for k, v in flags.items() if v is not None]
            if used:
                raise ConfigError(f"{', '.join(used)}: only for --hardware {hw}")


# ---- cost --------------------------------------------------------------------------------------------------------
def _programmed(args: argparse.Namespace, network: Any = None):
    """The photonic mapping of ``--phases`` (with ``--phase-noise`` applied when given)."""
    from . import photonic
    from .photonic.run import with_noise

    mapping = photonic.load_programming(args.phases, network)
    if args.phase_noise is not None:
        mapping = with_noise(mapping, phase_noise_rad=float(args.phase_noise))
    return photonic, mapping


def cmd_cost(args: argparse.Namespace) -> int:
    if args.adc_calibration is not None:
        from .errors import ConfigError

        raise ConfigError("--adc-calibration changes accuracy, not cost: use it with 'hwsim evaluate'")
    _check_hw_flags(args)
    if args.phases is not None:
        be, mapping = _programmed(args)
    else:
        be, cfg = _resolve_config(args)
        mapping = be.map(_load_network(args, need_network=False), cfg)
    report = be.cost(mapping)
    if args.json:
        print(report.to_json(indent=2))
    else:
        print(report.format_table())
    return 0


# ---- evaluate ----------------------------------------------------------------------------------------------------
def cmd_evaluate(args: argparse.Namespace) -> int:
    from models import fashion_mnist

    from .errors import ConfigError

    if args.hardware is None:
        given = {"--preset": args.preset, "--config": args.config}
        for flags in _backend_flags(args).values():
            given.update(flags)
        hw_flags = [f for f, v in given.items() if v is not None]
        if hw_flags:
            raise ConfigError(f"{', '.join(hw_flags)} need --hardware reram|photonic")
    else:
        _check_hw_flags(args)
    net = _load_network(args, need_network=True)
    x, y = fashion_mnist.load("test", args.data_dir, limit=args.limit)
    result: dict[str, Any] = {"model": args.model}
    if args.hardware is None:
        acc = net.accuracy(x, y)
    else:
        if args.phases is not None:
            be, mapping = _programmed(args, net)
            cfg = mapping.config
            result["phases"] = args.phases
        else:
            be, cfg = _resolve_config(args)
            mapping = be.map(net, cfg)
        if args.adc_calibration is not None:
            if args.adc_calibration < 1:
                raise ConfigError(f"--adc-calibration needs a positive number of images, got {args.adc_calibration}")
            xc, _ = fashion_mnist.load("train", args.data_dir, limit=args.adc_calibration)
            mapping = be.calibrate_adc(mapping, xc, seed=args.seed)
            result["adc_calibration_images"] = int(len(xc))
            result["adc_full_scale"] = [l.adc_full_scale for l in mapping.layers]
        acc = be.accuracy(mapping, x, y, seed=args.seed)
        result.update({"hardware": args.hardware, "preset": getattr(cfg, "preset", args.preset),
                       "config": be.config_to_dict(cfg),
                       "seed": args.seed})
    result.update({"accuracy": float(acc), "n": int(len(y))})
    if args.json:
        _print_json(result)
    else:
        where = f" on {args.hardware}" if args.hardware else ""
        print(f"{args.model}{where}: test accuracy {acc * 100:.2f}% on {len(y)} Fashion-MNIST images")
    return 0


# ---- demo (the README's main job) --------------------------------------------------------------------------------
def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    run_demo(Path(args.out), data_dir=args.data_dir, as_json=args.json)
    return 0


def _add_hw_args(p: argparse.ArgumentParser, required: bool) -> None:
    p.add_argument("--hardware", choices=["reram", "photonic"], required=required)
    p.add_argument("--preset", help="named configuration preset of the hardware")
    p.add_argument("--config", help="TOML configuration file (may name a base 'preset')")
    g = p.add_argument_group("ReRAM options")
    g.add_argument("--mapping", help="sparse-aware mapping mode: dense, skip_empty, compact, ou")
    g.add_argument("--adc-bits", type=int, dest="adc_bits")
    g.add_argument("--sigma", type=float, help="conductance variation sigma (relative)")
    g.add_argument("--adc-calibration", type=int, dest="adc_calibration", metavar="N",
                   help="evaluate: set each layer's ADC full scale from the reads of the first N training images "
                        "(hwsim.reram.calibrate_adc)")
    g = p.add_argument_group("photonic options")
    g.add_argument("--mesh", help="clements or reck")
    g.add_argument("--tile", type=int, help="mesh size K (tiles are K x K)")
    g.add_argument("--phase-noise", type=float, dest="phase_noise", help="phase noise sigma, rad")
    g.add_argument("--phases", help="programming file .npz (phases, gains, biases and configuration of a programmed "
                   "chip, e.g. after phase-domain pruning; see hwsim.photonic.save_programming): replaces mapping "
                   "the weights, and fixes the hardware configuration")


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="hwsim", description="Cost and accuracy of pruned neural networks on ReRAM "
                                 "crossbar and coherent photonic accelerators.")
    sub = ap.add_subparsers(dest="command", required=True)

    p = sub.add_parser("models", help="list the model zoo")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_models)

    p = sub.add_parser("evaluate", help="test accuracy on Fashion-MNIST, in float or through a hardware model")
    p.add_argument("--model", required=True)
    p.add_argument("--weights", help="weights .npz (one 2-D array per layer, network order)")
    p.add_argument("--data-dir", help="folder of Fashion-MNIST (or MNIST) IDX files")
    p.add_argument("--limit", type=int, help="evaluate the first N test images only")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    _add_hw_args(p, required=False)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("cost", help="latency, energy, static power and area of a network on a hardware model")
    p.add_argument("--model")
    p.add_argument("--weights", help="weights .npz (one 2-D array per layer, (out, in), zeros = pruned)")
    p.add_argument("--sparsity", type=float, default=0.0, help="synthetic sparsity for shape-only models")
    p.add_argument("--pattern", default="random", help="synthetic sparsity pattern: random, magnitude, block")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    _add_hw_args(p, required=True)
    p.set_defaults(func=cmd_cost)

    from .prune_cli import add_prune_parser

    add_prune_parser(sub)

    p = sub.add_parser("demo", help="the main job: model zoo, accuracy of the shipped weights, report and plots")
    p.add_argument("--out", default="hwsim-out", help="output folder")
    p.add_argument("--data-dir")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_demo)
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except HwsimError as exc:
        print(f"hwsim: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
