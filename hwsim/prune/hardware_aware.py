"""Hardware-aware pruning: per-layer sparsity allocated from measured sensitivity and simulated cost.

:func:`optimize` minimises a hardware Report metric (``tiles``, ``static_power_w``, ``energy_j``,
``latency_s``, ``area_mm2``) under an accuracy floor, or maximises accuracy under a metric budget. The
algorithm (documented choice: Lagrangian relaxation over a discrete grid, then a verified search):

1. **Unit.** Prune in the unit the hardware exploits, the back-end's ``pruning_unit(config)``
   (:mod:`hwsim.backend`): e.g. whole crossbar tiles whose all-zero instances are not allocated, or whole mesh
   tiles that are not mapped. Within the unit, groups are ranked by ``criterion`` (magnitude by default: the
   mean |w| of the block).
2. **Sensitivity.** For every layer l and sparsity level s of ``levels``, prune layer l alone and measure
   the increase of the validation cross-entropy, dL_l(s) (no fine-tuning), as in per-layer sensitivity
   analysis (Han et al., NeurIPS 2015, sec. 3.3; Li et al., ICLR 2017, sec. 3.3). Interactions between
   layers are neglected (additive model).
3. **Marginal cost.** The simulator costs layer l pruned to each level: c_l(s) = metric of
   ``cost(map([layer], config))`` -- the back-end is fast enough to sit in the loop (a LeNet layer maps in
   milliseconds). Totals are sums over layers (for ``latency_s`` with a pipelined back-end the per-layer sum
   is a proxy; the final Report is always measured in full).
4. **Allocation.** For a multiplier lambda >= 0 each layer independently picks
   s_l = argmin_s c_l(s) + lambda dL_l(s) (Lagrangian relaxation of min sum c s.t. sum dL <= eps; Everett
   1963). Sweeping lambda over a log grid yields the lower convex hull of (cost, predicted loss)
   allocations, sorted from cheapest to safest.
5. **Verification.** ``accuracy_floor`` mode: bisection over that list -- prune to the candidate, fine-tune
   ``finetune_epochs`` (masks fixed), measure validation accuracy -- keeping the cheapest candidate that
   meets the floor (at most ``max_trials`` fine-tunings). ``budget`` mode: the safest candidate whose
   predicted metric is within the budget, fine-tuned; if its measured metric exceeds the budget, the next
   cheaper candidate is tried.

Validation data default to the last ``val_samples`` of ``data``; fine-tuning uses the rest. The test set is
never touched here. Caution: when ``network`` was trained on all of ``data`` (the shipped zoo weights saw all
60k Fashion-MNIST training images), that split overstates accuracy and an ``accuracy_floor`` relative to it
is unreachable for any real pruning; pass held-out ``val_data`` instead (the experiments use half of the
test set and report on the other half).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import numpy as np

from .. import backend
from ..errors import ConfigError
from ..nn import Network, softmax_cross_entropy
from ..nn.im2col import supports
from ..report import Report
from ..workload import MatrixLayer
from .criteria import check_data, score
from .schedules import finetune, gradual
from .selection import check_sparsity, select

METRICS = ("tiles", "static_power_w", "energy_j", "latency_s", "area_mm2")
DEFAULT_LEVELS = (0.0, 0.25, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.98)


def hardware_unit(hardware: Any, config: Any) -> tuple[str, tuple[int, int]]:
    """(structure, tile) that ``hardware`` (a registered back-end's name or object) exploits with ``config``: its
    :meth:`hwsim.backend.Backend.pruning_unit`."""
    return backend.get(hardware).pruning_unit(config)


def sort_hidden_neurons(network: Network) -> Network:
    """A function-preserving copy of ``network`` whose hidden dense neurons are sorted by decreasing L2 norm.

    For every Dense layer followed (through element-wise layers only, e.g. ReLU) by another Dense layer,
    its output neurons (rows, with mask and bias) are reordered by decreasing row L2 norm, and the next
    layer's input columns are reordered the same way, so the network computes exactly the same function.
    Strong neurons then share crossbar column strips and weak ones fill whole strips and whole input
    blocks of the next layer, which tile-aligned pruning can free: a permutation is free on a crossbar
    (it is only the order in which outputs are written to the next layer's input buffer). Convolutions are
    left in place.
    """
    from ..nn import Dense, ReLU

    if not isinstance(network, Network):
        raise ConfigError(f"sort_hidden_neurons needs a hwsim.nn.Network, got {type(network).__name__}")
    net = network.copy()
    layers = net.layers
    for i, layer in enumerate(layers):
        if not isinstance(layer, Dense):
            continue
        j = i + 1
        while j < len(layers) and isinstance(layers[j], ReLU):
            j += 1
        if j >= len(layers) or not isinstance(layers[j], Dense):
            continue
        nxt = layers[j]
        order = np.argsort(-np.sqrt(np.sum(layer.effective_weight().astype(np.float64) ** 2, axis=1)),
                           kind="stable")
        layer.weight, layer.mask, layer.bias = layer.weight[order], layer.mask[order], layer.bias[order]
        nxt.weight, nxt.mask = nxt.weight[:, order], nxt.mask[:, order]
        layer.grad_weight = np.zeros_like(layer.weight)
        layer.grad_bias = np.zeros_like(layer.bias)
        nxt.grad_weight = np.zeros_like(nxt.weight)
    return net


def metric_of(report: Report, metric: str) -> float:
    """A Report total by metric name."""
    if metric not in METRICS:
        raise ConfigError(f"unknown metric {metric!r}; choose one of {', '.join(METRICS)}")
    return float(getattr(report.total, metric))


def _layer_metric(be: Any, cfg: Any, layer: Any, w: np.ndarray, metric: str) -> float:
    rep = be.cost(be.map([MatrixLayer(layer.name, w, layer.mvms_per_inference)], cfg))
    return float(getattr(rep.layers[0], metric))


def _val_loss_acc(net: Network, x: np.ndarray, y: np.ndarray, batch_size: int = 1000) -> tuple[float, float]:
    loss, correct = 0.0, 0
    for i in range(0, len(x), batch_size):
        logits = net.forward(x[i:i + batch_size], validate=False)
        l, _ = softmax_cross_entropy(logits, y[i:i + batch_size])
        loss += l * len(logits)
        correct += int((logits.argmax(axis=1) == y[i:i + batch_size]).sum())
    return loss / len(x), correct / len(x)


def _recover(net: Network, x: np.ndarray, y: np.ndarray, steps: int, batch_size: int, lr: float,
             rng: np.random.Generator) -> None:
    from ..nn import Adam

    opt = Adam(net, lr=lr)
    for _ in range(steps):
        idx = rng.integers(0, len(x), size=min(batch_size, len(x)))
        logits = net.forward(x[idx], train=True, validate=False)
        _, g = softmax_cross_entropy(logits, y[idx])
        net.backward(g)
        opt.step()


@dataclass(frozen=True)
class Candidate:
    """One allocation on the Lagrangian hull."""

    sparsity: tuple[float, ...]
    """Per-layer sparsity level."""
    predicted_cost: float
    """Sum of per-layer metric values."""
    predicted_loss_increase: float
    """Sum of per-layer validation cross-entropy increases (no fine-tuning)."""


@dataclass(frozen=True)
class HardwareAwareResult:
    """Outcome of :func:`optimize`."""

    network: Network
    """The pruned, fine-tuned network."""
    metric: str
    sparsity: tuple[float, ...]
    """Chosen per-layer sparsity (fraction of weights pruned; whole units)."""
    report: Report
    """Report of the pruned network."""
    baseline_report: Report
    """Report of the unpruned network (same config)."""
    val_accuracy: float
    baseline_val_accuracy: float
    levels: tuple[float, ...]
    sensitivity: np.ndarray = field(repr=False)
    """(layers, levels) validation cross-entropy increase of pruning one layer alone."""
    layer_costs: np.ndarray = field(repr=False)
    """(layers, levels) per-layer metric at each level."""
    trials: tuple[dict, ...] = ()
    """Verified candidates: sparsity, measured metric and validation accuracy."""

    @property
    def saving(self) -> float:
        """Fraction of the baseline metric saved."""
        b = metric_of(self.baseline_report, self.metric)
        return 1.0 - metric_of(self.report, self.metric) / b if b > 0 else 0.0


def lagrangian_hull(costs: np.ndarray, losses: np.ndarray, n_lambda: int = 400) -> list[tuple[tuple[int, ...], float, float]]:
    """Allocations (level index per layer, total cost, total loss) minimising cost + lambda * loss per layer.

    Sweeps lambda over 0 and a log grid spanning the cost/loss ratios of the data; returns unique
    allocations sorted by total cost ascending (= predicted loss descending).
    """
    c = np.asarray(costs, dtype=np.float64)
    d = np.maximum(np.asarray(losses, dtype=np.float64), 0.0)  # pruning cannot help in the additive model
    dc = np.abs(c[:, :, None] - c[:, None, :]).ravel()
    dd = np.abs(d[:, :, None] - d[:, None, :]).ravel()
    ok = (dc > 0) & (dd > 0)
    if ok.any():
        r = dc[ok] / dd[ok]
        lams = np.concatenate([[0.0], np.geomspace(r.min() / 10, r.max() * 10, n_lambda), [np.inf]])
    else:
        lams = np.array([0.0, np.inf])
    seen: dict[tuple[int, ...], tuple[float, float]] = {}
    for lam in lams:
        if np.isinf(lam):
            obj = d + 1e-12 * c  # safest; ties broken by cost
        else:
            obj = c + lam * d + 1e-12 * d
        idx = tuple(int(i) for i in np.argmin(obj, axis=1))
        if idx not in seen:
            rows = np.arange(len(idx))
            seen[idx] = (float(c[rows, idx].sum()), float(d[rows, idx].sum()))
    out = [(k, v[0], v[1]) for k, v in seen.items()]
    out.sort(key=lambda t: (t[1], t[2]))
    return out


def optimize(network: Network, hardware: Any, data: Any, *, metric: str = "tiles",
             budget: Optional[float] = None, accuracy_floor: Optional[float] = None, config: Any = None,
             criterion: str = "magnitude", structure: Optional[str] = None, tile: Optional[tuple[int, int]] = None,
             levels: Sequence[float] = DEFAULT_LEVELS, finetune_epochs: int = 2, lr: float = 1e-3,
             batch_size: int = 128, val_data: Any = None, val_samples: int = 5000,
             train_samples: Optional[int] = None, seed: int | np.random.Generator = 0,
             max_trials: int = 6, recovery_steps: int = 0, schedule: str = "one_shot",
             sort_neurons: bool = False, progress: bool = False) -> HardwareAwareResult:
    """Prune ``network`` for ``hardware`` (a registered back-end's name or object, :mod:`hwsim.backend`) with
    ``config`` (None: the back-end's default preset).

    Give exactly one of ``accuracy_floor`` (minimum validation accuracy, a fraction in (0, 1]) and
    ``budget`` (maximum value of ``metric``, in its SI unit or tile count). See the module docstring for the
    algorithm. ``structure``/``tile`` override the hardware's pruning unit. ``recovery_steps`` > 0 measures
    each sensitivity after that many Adam minibatch steps on the training split (a short recovery), which
    ranks layers by how much accuracy fine-tuning can win back rather than by the raw damage; 0 measures
    the damage directly. ``schedule``: "one_shot" (prune to the candidate, then fine-tune) or "gradual"
    (reach each layer's candidate sparsity along a Zhu & Gupta cubic ramp over the first half of the
    ``finetune_epochs``, then fine-tune; gentler for coarse units such as whole tiles). ``sort_neurons``
    first reorders hidden dense neurons by norm (:func:`sort_hidden_neurons`, function-preserving), so that
    whole tiles of weak neurons can be freed; the returned network is the reordered one.
    """
    if not isinstance(network, Network):
        raise ConfigError(f"optimize needs a trainable hwsim.nn.Network, got {type(network).__name__}")
    if metric not in METRICS:
        raise ConfigError(f"unknown metric {metric!r}; choose one of {', '.join(METRICS)}")
    if (budget is None) == (accuracy_floor is None):
        raise ConfigError("give exactly one of budget= (maximum metric) or accuracy_floor= (minimum accuracy)")
    if accuracy_floor is not None and not (isinstance(accuracy_floor, (int, float)) and 0 < accuracy_floor <= 1):
        raise ConfigError(f"accuracy_floor must be a fraction in (0, 1], got {accuracy_floor!r}")
    if budget is not None and not (isinstance(budget, (int, float)) and np.isfinite(budget) and budget >= 0):
        raise ConfigError(f"budget must be a finite number >= 0 (in the metric's unit), got {budget!r}")
    if schedule not in ("one_shot", "gradual"):
        raise ConfigError(f"unknown schedule {schedule!r}; choose 'one_shot' or 'gradual'")
    lv = sorted({check_sparsity(s, "level") for s in levels} | {0.0})
    if int(max_trials) < 1 or int(finetune_epochs) < 0 or int(recovery_steps) < 0:
        raise ConfigError(f"max_trials must be >= 1, finetune_epochs and recovery_steps >= 0, got {max_trials}, "
                          f"{finetune_epochs}, {recovery_steps}")
    be = backend.get(hardware)
    cfg = config if config is not None else be.resolve_config()
    if structure is None:
        structure, unit_tile = be.pruning_unit(cfg)
        tile = tile or unit_tile
    x_all, y_all = check_data(network, data, labels=True)
    if val_data is not None:
        xv, yv = check_data(network, val_data, labels=True)
        xt, yt = x_all, y_all
    else:
        if int(val_samples) < 1 or int(val_samples) >= len(x_all):
            raise ConfigError(f"val_samples must lie in [1, {len(x_all) - 1}] for {len(x_all)} samples, "
                              f"got {val_samples}")
        xv, yv = x_all[-int(val_samples):], y_all[-int(val_samples):]
        xt, yt = x_all[:-int(val_samples)], y_all[:-int(val_samples)]
    if train_samples is not None:
        xt, yt = xt[:int(train_samples)], yt[:int(train_samples)]
    rng = np.random.default_rng(seed)

    def log(msg: str) -> None:
        if progress:
            import sys
            print(msg, file=sys.stderr, flush=True)

    original = network
    if sort_neurons:
        network = sort_hidden_neurons(network)
    layers = network.weighted_layers()
    goal = (f"validation accuracy >= {accuracy_floor * 100:.2f}%" if accuracy_floor is not None
            else f"{metric} <= {budget:.6g}")
    log(f"hardware-aware pruning on {be.name} ({getattr(cfg, 'preset', None) or 'custom config'}): the cheapest "
        f"{metric} with {goal}, in 3 steps. Step 1/3: each layer alone pruned ({structure}) to the sparsity levels "
        f"{', '.join(f'{s * 100:g}%' for s in lv)}; for each level its {metric} and the rise of the validation loss "
        f"on {len(yv)} images (no fine-tuning)")
    sc = score(network, (xt[:5000], yt[:5000]), criterion, seed=rng)
    base_loss, base_acc = _val_loss_acc(network, xv, yv)
    L, S = len(layers), len(lv)
    sens = np.zeros((L, S))
    costs = np.zeros((L, S))
    level_masks: list[list[np.ndarray]] = []
    sup = supports(network)
    for li, layer in enumerate(layers):
        per = []
        for si, s in enumerate(lv):
            (m,) = select([sc[li]], s, structure=structure, tile=tile, masks=[layer.mask],
                          support=None if sup is None else [sup[li]])
            per.append(m)
            w = np.where(m, layer.effective_weight(), 0).astype(np.float64)
            costs[li, si] = _layer_metric(be, cfg, layer, w, metric)
            if s > 0:
                if recovery_steps:
                    probe = network.copy()
                    probe.weighted_layers()[li].set_mask(m)
                    _recover(probe, xt, yt, int(recovery_steps), batch_size, lr, rng)
                    loss, _ = _val_loss_acc(probe, xv, yv)
                else:
                    old = layer.mask
                    layer.mask = m  # temporarily, restored below; forward uses effective_weight()
                    try:
                        loss, _ = _val_loss_acc(network, xv, yv)
                    finally:
                        layer.mask = old
                sens[li, si] = loss - base_loss
        level_masks.append(per)
        log(f"  layer {layer.name} ({layer.weight.shape[0]} x {int(np.prod(layer.weight.shape[1:]))}): "
            + "; ".join(f"{s * 100:g}% -> {metric} {costs[li, si]:.4g}, loss +{sens[li, si]:.4f}"
                        for si, s in enumerate(lv)))
    hull = lagrangian_hull(costs, sens)
    log(f"Step 2/3: {len(hull)} candidate allocations (one sparsity level per layer) on the lower convex hull of "
        f"total {metric} against summed loss rise: each is the cheapest for some trade-off between the two")
    if accuracy_floor is not None:
        log(f"Step 3/3: bisecting the candidates for the cheapest whose validation accuracy after pruning and "
            f"{finetune_epochs} fine-tuning epochs meets the floor (at most {int(max_trials)} trials)")
    else:
        log(f"Step 3/3: the safest candidate within the budget, pruned and fine-tuned {finetune_epochs} epochs, "
            f"then cheaper ones until the measured {metric} fits (at most {int(max_trials)} trials)")
    baseline_report = be.cost(be.map(original, cfg))

    def build(idx: tuple[int, ...]) -> Network:
        if schedule == "gradual" and finetune_epochs:
            kw = {"tile": tile} if tile is not None else {}
            net, _ = gradual(network, (xt, yt), final_sparsity=[lv[i] for i in idx], criterion=criterion,
                             scope="layer", structure=structure, epochs=int(finetune_epochs), lr=lr,
                             batch_size=batch_size, seed=rng, ramp_fraction=0.5, **kw)
            return net
        net = network.copy()
        net.set_masks([level_masks[li][si] for li, si in enumerate(idx)])
        if finetune_epochs:
            finetune(net, (xt, yt), epochs=int(finetune_epochs), lr=lr, batch_size=batch_size, seed=rng)
        return net

    trials: list[dict] = []
    best: Optional[tuple[tuple[int, ...], Network, float, Report]] = None
    if accuracy_floor is not None:
        lo, hi = 0, len(hull) - 1  # hull[hi] is the safest (usually no pruning)
        # bisection for the cheapest candidate meeting the floor (accuracy assumed monotone along the hull)
        for _ in range(int(max_trials)):
            if lo > hi:
                break
            mid = (lo + hi) // 2
            idx = hull[mid][0]
            net = build(idx)
            acc = _val_loss_acc(net, xv, yv)[1]
            rep = be.cost(be.map(net, cfg))
            trials.append({"sparsity": [lv[i] for i in idx], "metric": metric_of(rep, metric), "val_accuracy": acc})
            verdict = ("meets the floor: try a cheaper candidate" if acc >= accuracy_floor
                       else "below the floor: try a safer candidate")
            log(f"  trial {len(trials)}: layer sparsities "
                + ", ".join(f"{l.name} {lv[i] * 100:g}%" for l, i in zip(layers, idx))
                + f" -> {metric} {metric_of(rep, metric):.4g} (unpruned {metric_of(baseline_report, metric):.4g}), "
                f"validation accuracy {acc * 100:.2f}%: {verdict}")
            if acc >= accuracy_floor:
                if best is None or metric_of(rep, metric) <= metric_of(best[3], metric):
                    best = (idx, net, acc, rep)
                hi = mid - 1
            else:
                lo = mid + 1
        if best is None:  # fall back to the unpruned allocation (always meets a floor the dense net meets)
            idx = tuple(0 for _ in layers)
            net = network.copy()
            best = (idx, net, base_acc, baseline_report)
    else:
        feasible = [h for h in hull if h[1] <= budget * (1 + 1e-12)]
        if not feasible:
            raise ConfigError(f"{metric} budget {budget} is below the cheapest allocation the levels reach "
                              f"({hull[0][1]:.6g}); add higher sparsity levels or raise the budget")
        # safest candidate within the budget; the measured total can exceed the per-layer sum (e.g. a pipelined
        # latency), so step to cheaper candidates until the measured metric fits
        for cand in reversed(feasible[-int(max_trials):] if len(feasible) > int(max_trials) else feasible):
            idx = cand[0]
            net = build(idx)
            acc = _val_loss_acc(net, xv, yv)[1]
            rep = be.cost(be.map(net, cfg))
            trials.append({"sparsity": [lv[i] for i in idx], "metric": metric_of(rep, metric), "val_accuracy": acc})
            fits = metric_of(rep, metric) <= budget * (1 + 1e-12)
            log(f"  trial {len(trials)}: layer sparsities "
                + ", ".join(f"{l.name} {lv[i] * 100:g}%" for l, i in zip(layers, idx))
                + f" -> {metric} {metric_of(rep, metric):.4g} (budget {budget:.6g}), validation accuracy "
                f"{acc * 100:.2f}%: {'fits the budget' if fits else 'over the budget once measured: try a cheaper one'}")
            if metric_of(rep, metric) <= budget * (1 + 1e-12):
                best = (idx, net, acc, rep)
                break
        if best is None:
            raise ConfigError(f"no candidate met the {metric} budget {budget} once measured "
                              f"(tried {len(trials)}); raise the budget or add higher sparsity levels")
    idx, net, acc, rep = best
    return HardwareAwareResult(net, metric, tuple(lv[i] for i in idx), rep, baseline_report, float(acc),
                               float(base_acc), tuple(lv), sens, costs, tuple(trials))
