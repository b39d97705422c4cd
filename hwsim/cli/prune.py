"""``hwsim prune``: prune a zoo model, fine-tune, evaluate, save a ``.npz`` for ``hwsim cost --weights``.

Weight-domain pruning (criteria, structures, schedules) and hardware-aware pruning (:func:`hwsim.prune.optimize`
against any registered back-end); a back-end may add its own pruning method through its prune options
(:meth:`hwsim.backend.Backend.prune_command`, e.g. phase-domain pruning of mesh heaters). Examples: README.md.
"""
from __future__ import annotations

import argparse
import sys
from typing import Any

from .. import backend
from ..atomic_io import check_output_file
from ._args import add_import_args, count, fit_input, seed
from ._hardware import add_hardware_args, hardware_options
from ._output import print_json

SCHEDULES = ("one_shot", "gradual", "imp")
#: Minibatch size of every training loop the CLI runs (the schedules' default).
BATCH = 128


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _plan(args: argparse.Namespace, hw_aware: bool, n_train: int) -> dict[str, Any]:
    """What the training will do, for the progress line: a label, epochs per training run and minibatch steps per
    epoch. Training runs are told apart by their optimizer (each fine-tuning creates its own)."""
    import math

    full = max(math.ceil(n_train / BATCH), 1)      # nn.fit: every sample once per epoch
    whole = max(n_train // BATCH, 1)                # gradual / IMP: full minibatches only
    if hw_aware:
        n = n_train - 5000 if args.val_split == "train" else n_train
        return {"what": "trial", "epochs": args.finetune_epochs, "steps": max(math.ceil(max(n, 1) / BATCH), 1)}
    if args.method is not None:
        return {"what": f"{args.method} training", "epochs": max(args.epochs, 1), "steps": full}
    if args.schedule == "gradual":
        return {"what": "gradual pruning while training", "epochs": args.epochs, "steps": whole}
    if args.schedule == "imp":
        return {"what": "IMP round", "epochs": args.epochs, "steps": whole, "runs": args.rounds + 1}
    return {"what": "fine-tuning", "epochs": args.finetune_epochs, "steps": full}


class TrainingProgress:
    """Epochs of every training loop inside the block, on stderr (through :func:`hwsim.nn.optim.on_step`): a line at
    each epoch's end and at most every ``every_s`` seconds in between, with the minibatches done and an ETA."""

    def __init__(self, plan: dict[str, Any], every_s: float = 5.0) -> None:
        self.plan = plan
        self.every_s = every_s
        self.opt: Any = None
        self.run = 0
        self.steps = 0
        self.t0 = self.last = 0.0

    def __enter__(self) -> "TrainingProgress":
        from ..nn.optim import on_step

        self._ctx = on_step(self)
        self._ctx.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._ctx.__exit__(*exc)

    def __call__(self, opt: Any) -> None:
        import time

        now = time.perf_counter()
        if opt is not self.opt:
            self.opt, self.steps, self.t0, self.last = opt, 0, now, now
            self.run += 1
        self.steps += 1
        spe, epochs = self.plan["steps"], max(self.plan["epochs"], 1)
        total = spe * epochs
        end_of_epoch = self.steps % spe == 0
        if not (end_of_epoch or now - self.last >= self.every_s):
            return
        self.last = now
        epoch = min((self.steps - 1) // spe + 1, epochs)
        rate = self.steps / max(now - self.t0, 1e-9)
        what = self.plan["what"]
        if what != "fine-tuning" and not what.endswith("training"):
            runs = self.plan.get("runs")
            what = f"{what} {self.run}" + (f"/{runs}" if runs else "") + ", fine-tuning"
        state = "done" if end_of_epoch else f"{100 * (self.steps - (epoch - 1) * spe) / spe:.0f}%"
        eta = f", ETA {max(total - self.steps, 0) / rate:.0f} s" if self.steps < total else ""
        _say(f"{what}: epoch {epoch}/{epochs} {state} ({self.steps}/{total} minibatches of {BATCH}, "
             f"{now - self.t0:.1f} s{eta})")


def add_parser(subparsers: Any) -> None:
    """Register ``hwsim prune`` on an argparse subparsers object."""
    import models

    from ..prune import CRITERIA, METRICS, SCOPES, STRUCTURES
    from ..prune.methods import HYPERPARAMETERS, METHODS

    trainable = ", ".join(n for n, e in models.REGISTRY.items() if e.trainable)
    p = subparsers.add_parser("prune", help="prune a model (criteria, schedules, hardware-aware), fine-tune, "
                              "evaluate, and save a weights .npz for 'hwsim cost --weights'")
    p.add_argument("--model", help=f"trainable zoo model ({trainable}), or a layer-spec file SPEC.toml (weights from "
                   "--state or --weights); not with an ONNX file")
    p.add_argument("--weights", help="start from this weights .npz instead of the shipped pretrained weights, or "
                   "prune an ONNX model (.onnx, no --model; then --out is an .onnx file too)")
    p.add_argument("--out", required=True, help="output weights file (.npz: weights, biases, masks), or an ONNX "
                   "model (.onnx: pruned weights exact zeros; for an ONNX model the same graph with the pruned, "
                   "fine-tuned weights, and the only choice)")
    p.add_argument("--criterion", choices=CRITERIA, help="importance criterion (default magnitude)")
    p.add_argument("--sparsity", type=float, help="fraction of weights pruned, in [0, 1) (default 0.9)")
    p.add_argument("--scope", choices=SCOPES, help="selection scope (default global)")
    p.add_argument("--structure", choices=STRUCTURES, help="pruning structure (default unstructured)")
    p.add_argument("--block", type=int, nargs=2, metavar=("B_OUT", "B_IN"), help="block shape for --structure block")
    p.add_argument("--tile", type=int, nargs=2, metavar=("OUT", "IN"),
                   help="tile geometry for --structure xbar_* (default: from --hardware's config)")
    p.add_argument("--n", type=int, help="N of N:M (--structure nm)")
    p.add_argument("--m", type=int, help="M of N:M (--structure nm)")
    p.add_argument("--schedule", choices=SCHEDULES, help="schedule (default one_shot)")
    p.add_argument("--finetune-epochs", type=int, dest="finetune_epochs",
                   help="one_shot / hardware-aware: fine-tuning epochs (default 2)")
    p.add_argument("--epochs", type=int, help="gradual: total epochs (default 4); imp: epochs per round (default 4); "
                   "--method: training epochs (default 2; one-shot OBD/OBS: fine-tuning epochs after pruning, "
                   "default 0)")
    p.add_argument("--rounds", type=int, help="imp: pruning rounds (default 3)")
    p.add_argument("--lr", type=float, help="learning rate (default 1e-3; --method: the method's own default)")
    p.add_argument("--train-limit", type=count, dest="train_limit", help="use the first N training images only")
    p.add_argument("--score-samples", type=count, dest="score_samples",
                   help="training samples used by data-driven criteria (default 5000)")
    m = p.add_argument_group("training-time and second-order methods (--method NAME; the schedule, criterion and "
                             "selection flags above do not apply to them)")
    m.add_argument("--method", choices=tuple(METHODS),
                   help="; ".join(f"{k}: {v.source}" for k, v in METHODS.items()))
    for h in HYPERPARAMETERS:
        default = f"{h.default:g}" if isinstance(h.default, (int, float)) else str(h.default)
        m.add_argument(h.flag, dest=h.name, type=h.type, metavar=h.name.upper(),
                       help=f"{h.help} (default {default}; --method {'/'.join(h.methods)} only)")
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
    add_import_args(p)
    add_hardware_args(p, "prune", required=False)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Handler of ``hwsim prune`` (see the module docstring)."""
    import models
    from models import fashion_mnist

    from ..errors import ConfigError

    hw, hw_options = hardware_options(args, "prune")
    _check_method_flags(args, bool(hw_options))
    _apply_defaults(args)
    # before any work: not a folder, its folder writable; a weights .npz unless a back-end's own pruning writes it
    imported = models.is_onnx(args.weights)
    if args.model is None and not imported:
        raise ConfigError("give --model NAME|SPEC.toml (a trainable zoo model or a layer spec) or --weights FILE.onnx")
    check_output_file(args.out, "--out", suffix=None if hw_options else ".onnx" if imported else (".npz", ".onnx"))
    if models.is_onnx(args.out):
        from ..importers.onnx_import import _onnx

        _onnx("writing")  # the optional package, before any work
    hw_aware = args.budget is not None or args.accuracy_floor is not None
    if hw_aware and hw is None:
        raise ConfigError(f"--budget / --accuracy-floor need --hardware {'|'.join(backend.names())}")
    if args.model is not None and not models.is_layer_spec(args.model) and not models.entry(args.model).trainable:
        raise ConfigError(f"model {args.model!r} is shape-only: pruning needs a trainable model")
    net = models.workload(args.model, args.weights, trainable=True, input_shape=args.input_shape, mean=args.mean,
                          std=args.std, state=args.state)
    label = args.model if args.model is not None else args.weights

    def load(split: str, limit: Any) -> Any:
        x, y = fashion_mnist.load(split, args.data_dir, limit=limit)
        return fit_input(net, x), y
    if hw is not None:
        say = _say  # progress on stderr: stdout keeps the result (the --json object)
        context = backend.PruneContext(
            model=label, weights=args.weights, out=args.out, preset=args.preset, seed=args.seed,
            train=lambda: load("train", args.train_limit), test=lambda: load("test", args.limit),
            pretrained=(lambda: models.get(args.model, pretrained=True))
            if not imported and not models.is_layer_spec(args.model) and args.state is None else
            (lambda: models.workload(args.model, args.weights, trainable=True, input_shape=args.input_shape,
                                     mean=args.mean, std=args.std, state=args.state)), say=say)
        own = hw.prune_command(net, hw_options, context)
        if own is not None:
            result, text = own
            if args.json:
                print_json(result)
            else:
                print(text)
            return 0
    train = load("train", args.train_limit)
    xt, yt = load("test", args.limit)
    with TrainingProgress(_plan(args, hw_aware, len(train[1]))):
        return _prune(args, hw, net, label, imported, train, xt, yt, hw_aware)


def _prune(args: argparse.Namespace, hw: Any, net: Any, label: str, imported: bool, train: Any, xt: Any, yt: Any,
           hw_aware: bool) -> int:
    """Weight-domain pruning (the rest of :func:`run`, once the data are loaded)."""
    import models
    from models import fashion_mnist

    from .. import prune as hp
    from ..errors import ConfigError

    base_acc = net.accuracy(xt, yt)
    result: dict[str, Any] = {"model": label, "out": args.out, "baseline_accuracy": base_acc}
    cfg = hw.resolve_config(args.preset) if hw is not None else None
    tile = tuple(args.tile) if args.tile else None
    if tile is None and args.structure is not None and args.structure.startswith("xbar_"):
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
                        progress=True)
        pruned = r.network
        result.update({"hardware": args.hardware, "metric": args.metric, "layer_sparsity": list(r.sparsity),
                       "baseline_" + args.metric: hp.metric_of(r.baseline_report, args.metric),
                       args.metric: hp.metric_of(r.report, args.metric), "saving": r.saving,
                       "val_accuracy": r.val_accuracy, "baseline_val_accuracy": r.baseline_val_accuracy})
    elif args.method is not None:
        pruned, info = _run_method(args, net, train)
        result.update({"method": args.method, "method_steps": info.steps})
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
    from ..nn.im2col import layer_sparsity

    if imported:
        from ..importers import save_onnx

        path = save_onnx(pruned, args.weights, args.out)
    elif models.is_onnx(args.out):
        from ..importers.onnx_export import export_onnx

        path = export_onnx(pruned, args.out)
    else:
        path = hp.save(pruned, args.out)
    result.update({"out": str(path), "sparsity": pruned.sparsity(), "accuracy": pruned.accuracy(xt, yt),
                   "n": int(len(yt)),
                   "layers": [{"name": l.name, "shape": list(l.shape), "sparsity": layer_sparsity(l)}
                              for l in pruned.weighted_layers()]})
    if hw is not None:
        rep = hw.cost(hw.map(pruned, cfg))
        base = hw.cost(hw.map(net, cfg))
        result["report"] = {"total": rep.total.to_dict(), "baseline_total": base.total.to_dict()}
    if args.json:
        print_json(result)
    else:
        print(f"{label}: sparsity {result['sparsity'] * 100:.2f}%  test accuracy {result['accuracy'] * 100:.2f}% "
              f"(unpruned {base_acc * 100:.2f}%, {result['n']} images)  -> {path}")
        for l in result["layers"]:
            print(f"  {l['name']:<8} {l['shape'][0]:>5} x {l['shape'][1]:<5} sparsity {l['sparsity'] * 100:6.2f}%")
        if "report" in result:
            t, b = result["report"]["total"], result["report"]["baseline_total"]
            print(f"  {args.hardware}: tiles {b['tiles']} -> {t['tiles']}, static power {b['static_power_w']:.4g} W -> "
                  f"{t['static_power_w']:.4g} W, energy {b['energy_j']:.4g} J -> {t['energy_j']:.4g} J per inference")
    return 0


#: weight-domain flags and their defaults (None in the parser, so that a given flag can be told from a default)
DEFAULTS = {"criterion": "magnitude", "sparsity": 0.9, "scope": "global", "structure": "unstructured",
            "schedule": "one_shot", "finetune_epochs": 2, "epochs": 4, "rounds": 3, "lr": 1e-3, "score_samples": 5000}
#: flags that do not apply with --method (refused, never ignored)
NOT_WITH_METHOD = ("criterion", "scope", "structure", "block", "tile", "n", "m", "schedule", "finetune_epochs",
                   "rounds", "score_samples", "budget", "accuracy_floor")


def _flag(dest: str) -> str:
    return "--" + dest.replace("_", "-")


def _check_method_flags(args: argparse.Namespace, backend_pruning: bool) -> None:
    """Refuse method hyperparameters without --method or with a method they do not apply to, and the weight-domain
    flags that do not apply to --method."""
    from ..errors import ConfigError
    from ..prune.methods import HYPERPARAMETERS, METHODS

    given = [h for h in HYPERPARAMETERS if getattr(args, h.name, None) is not None]
    if args.method is None:
        if given:
            raise ConfigError(f"{given[0].flag} applies to --method {'/'.join(given[0].methods)} only")
        return
    for h in given:
        if args.method not in h.methods:
            raise ConfigError(f"{h.flag} does not apply to --method {args.method} (it applies to "
                              f"{'/'.join(h.methods)})")
    bad = [d for d in NOT_WITH_METHOD if getattr(args, d, None) is not None]
    if bad:
        raise ConfigError(f"{_flag(bad[0])} does not apply to --method {args.method} (it has its own schedule and "
                          "selection; see hwsim prune --help)")
    if backend_pruning:
        raise ConfigError(f"--method {args.method} prunes weights; the back-end's own pruning options do not apply")
    m = METHODS[args.method]
    if not m.sets_sparsity and args.sparsity is not None:
        knobs = "/".join(_flag(h.name) for h in m.hyperparameters() if h.name in ("c", "mu", "lam"))
        raise ConfigError(f"--sparsity does not apply to --method {args.method}: its sparsity follows from {knobs}")
    from ..prune import check_sparsity
    from ..prune.methods import check_hyper

    if args.sparsity is not None:
        check_sparsity(args.sparsity)
    check_hyper(args.method, {h.name: getattr(args, h.name) for h in given})   # values checked before any work


def _apply_defaults(args: argparse.Namespace) -> None:
    """Fill the defaults of the flags not given (with --method: epochs 2, or 0 for the one-shot OBD/OBS; the
    method's own learning rate)."""
    from ..prune.methods import METHODS

    if args.method is not None:
        if args.epochs is None:
            args.epochs = 2 if METHODS[args.method].trains else 0
        if args.sparsity is None:
            args.sparsity = DEFAULTS["sparsity"]
        return
    for k, v in DEFAULTS.items():
        if getattr(args, k) is None:
            setattr(args, k, v)


def _run_method(args: argparse.Namespace, net: Any, train: Any) -> tuple[Any, Any]:
    """``--method NAME``: :func:`hwsim.prune.run_method` with the given hyperparameters (OBD/OBS: ``--epochs`` of
    fine-tuning after the one-shot pruning)."""
    from .. import prune as hp
    from ..prune.methods import METHODS

    from ..errors import ConfigError

    m = METHODS[args.method]
    hyper = {h.name: getattr(args, h.name) for h in m.hyperparameters() if getattr(args, h.name) is not None}
    if args.epochs < (1 if m.trains else 0):
        raise ConfigError(f"--epochs must be >= {1 if m.trains else 0} for --method {args.method}, got {args.epochs}")
    data = train if m.trains else (train[0][:5000], train[1][:5000])
    pruned, info = hp.run_method(args.method, net, data, sparsity=args.sparsity, epochs=max(args.epochs, 1),
                                 lr=args.lr, seed=args.seed, **hyper)
    if not m.trains and args.epochs:
        hp.finetune(pruned, train, epochs=args.epochs, lr=args.lr or 1e-3, seed=args.seed)
    return pruned, info
