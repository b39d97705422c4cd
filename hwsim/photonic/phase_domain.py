"""``hwsim prune --hardware photonic --phase-power-reg L``: phase-domain pruning of a whole network, as a command.

Map the network, optionally lower heater power with the SVD gauge, switch heaters off by power-regularised training
rounds, fine-tune the remaining phases distilled from the unpruned network, and write a programming file
(:func:`hwsim.photonic.save_programming`) that ``hwsim cost/evaluate --phases`` read. The pruning schedule itself is
:func:`hwsim.prune.photonic_phases.regularized_phase_pruning`.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..backend import PruneContext
from ..errors import ConfigError
from .config import PhotonicConfig
from .cost import cost
from .gauge import gauge_optimize
from .mapping import PhotonicMapping, map
from .programming_io import save_programming
from .run import accuracy


def _power_and_heaters(m: PhotonicMapping) -> tuple[Any, int]:
    rep = cost(m)
    return rep.total, int(sum(l.counts["heaters_on"] for l in rep.layers))


def prune_command(network: Any, cfg: PhotonicConfig, s: Mapping[str, Any], ctx: PruneContext) -> dict[str, Any]:
    """Run phase-domain pruning of ``network`` mapped with ``cfg``, with settings ``s`` (the photonic back-end's prune
    options by name: phase_power_reg, phase_rounds, phase_steps, phase_lr, phase_threshold, final_steps, final_lr,
    kd_weight, kd_temperature, gauge_levels) and return the result dict ``hwsim prune --json`` prints (static power
    in W)."""
    from ..prune.photonic_phases import regularized_phase_pruning

    if not (s["phase_power_reg"] > 0 and s["phase_rounds"] >= 1 and s["phase_steps"] >= 1 and s["final_steps"] >= 0):
        raise ConfigError("--phase-power-reg must be > 0, --phase-rounds and --phase-steps >= 1, --final-steps >= 0")
    train = ctx.train()
    xt, yt = ctx.test()
    dense = map(network, cfg)
    before = cost(dense).total
    start = gauge_optimize(dense, levels=s["gauge_levels"], sweeps=2) if s["gauge_levels"] else dense
    unpruned = ctx.pretrained()  # distillation teacher and the unpruned baseline
    rounds = s["phase_rounds"]
    ctx.say(f"{ctx.model}: {before.tiles} tiles, static power {before.static_power_w:.4g} W; {rounds} regularised "
            f"rounds of {s['phase_steps']} steps, then {s['final_steps']} fine-tuning steps")

    def progress(i: int, m: PhotonicMapping) -> None:
        total, on = _power_and_heaters(m)
        p = total.static_power_w
        stage = f"round {i + 1}" if i < rounds else "fine-tuned"
        ctx.say(f"  {stage:<10} heaters on {on:>8}  static power {p:.4g} W "
                f"({100 * (1 - p / before.static_power_w):.2f}% saved)")

    outs = regularized_phase_pruning(
        start, train, power_reg=s["phase_power_reg"], rounds=rounds, threshold=s["phase_threshold"],
        steps=s["phase_steps"], lr=s["phase_lr"], final_steps=s["final_steps"], final_lr=s["final_lr"],
        seed=ctx.seed, callback=progress, kd_weight=s["kd_weight"],
        teacher=unpruned if s["kd_weight"] > 0 else None, kd_temperature=s["kd_temperature"])
    chip = outs[-1]
    path = save_programming(chip, ctx.out)
    after, heaters = _power_and_heaters(chip)
    result = {"model": ctx.model, "out": str(path), "hardware": "photonic", "metric": "static_power_w",
              "baseline_static_power_w": before.static_power_w, "static_power_w": after.static_power_w,
              "saving": 1.0 - after.static_power_w / before.static_power_w,
              "heaters_on": heaters,
              "phases": int(sum(l.phases.size for l in chip.layers)),
              "baseline_accuracy": accuracy(dense, xt, yt), "accuracy": accuracy(chip, xt, yt),
              "n": int(len(yt)), "report": {"total": after.to_dict(), "baseline_total": before.to_dict()}}
    if ctx.weights is not None:  # the baseline above is the --weights start; also against the unpruned model
        unpruned_map = map(unpruned, cfg)
        up = cost(unpruned_map).total.static_power_w
        result.update({"unpruned_static_power_w": up, "saving_vs_unpruned": 1.0 - after.static_power_w / up,
                       "unpruned_accuracy": accuracy(unpruned_map, xt, yt)})
    return result


def summary(result: Mapping[str, Any]) -> str:
    """The human-readable lines ``hwsim prune`` prints for ``result``."""
    r = result
    lines = [f"{r['model']} on photonic: static power {r['baseline_static_power_w']:.4g} W -> {r['static_power_w']:.4g} "
             f"W ({100 * r['saving']:.2f}% saved), heaters on {r['heaters_on']} of {r['phases']}, test accuracy "
             f"{100 * r['baseline_accuracy']:.2f}% -> {100 * r['accuracy']:.2f}% ({r['n']} images)  -> {r['out']}"]
    if "unpruned_static_power_w" in r:
        lines.append(f"  vs the unpruned model: {r['unpruned_static_power_w']:.4g} W, "
                     f"{100 * r['saving_vs_unpruned']:.2f}% saved, test accuracy {100 * r['unpruned_accuracy']:.2f}%")
    return "\n".join(lines)
