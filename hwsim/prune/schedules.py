"""Schedules: one-shot pruning, gradual pruning with fine-tuning, iterative magnitude pruning with rewinding.

Every schedule works on a copy of the given network and returns it; masks stay fixed between pruning
steps (the optimizers of :mod:`hwsim.nn` re-zero masked weights after every update, and gradients are
zero there), so pruned weights are exactly 0 throughout fine-tuning.

* :func:`prune`: score with a criterion, select masks, install them (no training).
* :func:`one_shot`: :func:`prune` then fine-tune for a few epochs (Han et al., NeurIPS 2015, one
  prune/retrain cycle).
* :func:`gradual`: Zhu & Gupta (2017, "To prune, or not to prune", eq. 1) polynomial schedule
  s_t = s_f + (s_i - s_f) (1 - (t - t_0)/(n dt))^3, re-scoring and pruning every ``frequency`` minibatches
  while training, then fine-tuning at the final sparsity.
* :func:`iterative_magnitude`: lottery-ticket iterative magnitude pruning (Frankle & Carbin, ICLR 2019)
  with weight rewinding to iteration k (Frankle et al., ICML 2020, "Linear mode connectivity and the
  lottery ticket hypothesis"): train, prune a fixed fraction of the remaining weights by magnitude, reset
  the surviving weights to their values after ``rewind_step`` minibatches, repeat.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

import numpy as np

from ..errors import ConfigError
from ..nn import Adam, Network, distillation_loss, fit, softmax_cross_entropy
from ..nn.im2col import supports
from .criteria import CRITERIA, NEEDS_INPUTS, NEEDS_LABELS, score
from .selection import Sparsity, check_sparsity, select, sparsity_of


@dataclass(frozen=True)
class PruneStep:
    """One pruning event of a schedule."""

    step: int
    """Minibatch step at which the masks were updated (0 = before any training)."""
    target_sparsity: float
    sparsity: float
    """Achieved fraction of pruned weights."""
    val_accuracy: Optional[float] = None
    """Accuracy on ``val_data`` after the step's training (when given)."""


def _train_data(network: Network, data: Any) -> tuple[np.ndarray, np.ndarray]:
    from .criteria import check_data

    return check_data(network, data, labels=True)  # type: ignore[return-value]


def prune(network: Network, data: Any = None, *, criterion: str = "magnitude", sparsity: Sparsity = 0.5,
          scope: str = "layer", structure: str = "unstructured", seed: int | np.random.Generator = 0,
          scores: Optional[Sequence[np.ndarray]] = None, n_samples: Optional[int] = None,
          **select_kw: Any) -> Network:
    """A copy of ``network`` pruned once by ``criterion`` (or precomputed ``scores``) to ``sparsity``.

    Existing masks are kept (already-pruned weights count towards the target). ``select_kw`` go to
    :func:`hwsim.prune.select` (``block``, ``tile``, ``n``, ``m``, ``protect_output``).
    """
    if criterion not in CRITERIA:
        raise ConfigError(f"unknown criterion {criterion!r}; choose one of {', '.join(CRITERIA)}")
    sc = scores if scores is not None else score(network, data, criterion, seed=seed, n_samples=n_samples)
    masks = select(sc, None if structure == "nm" else sparsity, scope=scope, structure=structure,
                   masks=network.masks(), support=supports(network), **select_kw)
    out = network.copy()
    out.set_masks(masks)
    return out


def finetune(network: Network, train_data: Any, *, epochs: int = 1, lr: float = 1e-3, batch_size: int = 128,
             seed: int | np.random.Generator = 0, cosine: bool = True, teacher: Optional[Network] = None,
             alpha: float = 0.5, temperature: float = 4.0) -> Network:
    """Train ``network`` in place with Adam (masks fixed) for ``epochs``; cosine learning-rate decay by default.

    With a ``teacher`` network (e.g. the unpruned original) the loss is knowledge distillation (Hinton et al.
    2015, "Distilling the knowledge in a neural network", sec. 2): (1 - alpha) CE(y, s) + alpha T^2
    KL(softmax(t/T) || softmax(s/T)), whose gradient w.r.t. the student logits s is
    (1 - alpha)(softmax(s) - onehot(y)) + alpha T (softmax(s/T) - softmax(t/T)) per sample.
    Returns the network.
    """
    if int(epochs) < 0:
        raise ConfigError(f"epochs must be >= 0, got {epochs}")
    x, y = _train_data(network, train_data)
    n_ep = int(epochs)
    if teacher is None:
        sched: Optional[Callable[[int], float]] = None
        if cosine and n_ep > 0:
            sched = lambda e: 0.5 * (1 + math.cos(math.pi * e / n_ep))  # noqa: E731
        fit(network, x, y, epochs=n_ep, batch_size=batch_size, optimizer=Adam(network, lr=lr), seed=seed,
            lr_schedule=sched)
        return network
    if not isinstance(teacher, Network):
        raise ConfigError(f"teacher must be a hwsim.nn.Network, got {type(teacher).__name__}")
    if not (0.0 <= alpha <= 1.0) or not (temperature > 0 and np.isfinite(temperature)):
        raise ConfigError(f"distillation needs alpha in [0, 1] and temperature > 0, got {alpha}, {temperature}")
    if int(batch_size) < 1:
        raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
    t_logits = teacher.predict(x).astype(np.float64)
    rng = np.random.default_rng(seed)
    opt = Adam(network, lr=lr)
    for e in range(n_ep):
        if cosine:
            opt.lr = lr * 0.5 * (1 + math.cos(math.pi * e / n_ep))
        order = rng.permutation(len(x))
        for i in range(0, len(x), int(batch_size)):
            idx = order[i:i + int(batch_size)]
            logits = network.forward(x[idx], train=True, validate=False)
            _, g_ce = softmax_cross_entropy(logits, y[idx])
            _, g_kd = distillation_loss(logits.astype(np.float64), t_logits[idx], temperature)
            network.backward(((1 - alpha) * g_ce + alpha * g_kd).astype(logits.dtype))
            opt.step()
    opt.lr = lr
    return network


def one_shot(network: Network, data: Any = None, *, criterion: str = "magnitude", sparsity: Sparsity = 0.5,
             scope: str = "layer", structure: str = "unstructured", finetune_epochs: int = 0,
             train_data: Any = None, lr: float = 1e-3, batch_size: int = 128,
             seed: int | np.random.Generator = 0, n_samples: Optional[int] = None, distill: bool = False,
             **select_kw: Any) -> Network:
    """Prune once (criterion scored on ``data``) and fine-tune ``finetune_epochs`` on ``train_data`` (default ``data``).

    ``distill``: fine-tune by knowledge distillation from the unpruned ``network`` (see :func:`finetune`).
    """
    if int(finetune_epochs) < 0:
        raise ConfigError(f"finetune_epochs must be >= 0, got {finetune_epochs}")
    pruned = prune(network, data, criterion=criterion, sparsity=sparsity, scope=scope, structure=structure,
                   seed=seed, n_samples=n_samples, **select_kw)
    if finetune_epochs:
        td = train_data if train_data is not None else data
        finetune(pruned, td, epochs=finetune_epochs, lr=lr, batch_size=batch_size, seed=seed,
                 teacher=network if distill else None)
    return pruned


def zhu_gupta_sparsity(t: int, s_i: float, s_f: float, t0: int, n_steps: int, dt: int) -> float:
    """Zhu & Gupta (2017) eq. 1 target sparsity at minibatch step ``t`` (clamped to the ramp)."""
    if n_steps * dt <= 0:
        return s_f
    frac = min(max((t - t0) / (n_steps * dt), 0.0), 1.0)
    return s_f + (s_i - s_f) * (1.0 - frac) ** 3


def _minibatches(n: int, batch_size: int, rng: np.random.Generator):
    while True:
        order = rng.permutation(n)
        for i in range(0, n - batch_size + 1 if n >= batch_size else 1, batch_size):
            yield order[i:i + batch_size]


def _step(net: Network, opt: Adam, x: np.ndarray, y: np.ndarray, idx: np.ndarray) -> float:
    logits = net.forward(x[idx], train=True, validate=False)
    loss, g = softmax_cross_entropy(logits, y[idx])
    net.backward(g)
    opt.step()
    return loss


def gradual(network: Network, train_data: Any, *, final_sparsity: Sparsity, initial_sparsity: float = 0.0,
            criterion: str = "magnitude", scope: str = "layer", structure: str = "unstructured",
            epochs: int = 3, ramp_fraction: float = 0.6, frequency: int = 100, lr: float = 1e-3,
            batch_size: int = 128, seed: int | np.random.Generator = 0, score_samples: int = 2000,
            val_data: Any = None, **select_kw: Any) -> tuple[Network, list[PruneStep]]:
    """Gradual pruning (Zhu & Gupta 2017) while training with Adam, then fine-tuning at the final sparsity.

    Pruning events happen every ``frequency`` minibatches over the first ``ramp_fraction`` of the
    ``epochs * steps_per_epoch`` steps; data-driven criteria are re-scored on ``score_samples`` random
    training samples at each event. ``final_sparsity`` may be one float, or one per layer (with
    ``scope="layer"``: each layer follows its own cubic ramp from ``initial_sparsity``). Returns (pruned
    network, list of pruning events; an event's ``target_sparsity`` is the weight-count-weighted mean target).
    """
    per_layer = isinstance(final_sparsity, (Sequence, np.ndarray)) and not isinstance(final_sparsity, str)
    n_layers = len(network.weighted_layers()) if isinstance(network, Network) else 0
    if per_layer:
        if scope != "layer":
            raise ConfigError("per-layer final sparsities need scope='layer'")
        finals = [check_sparsity(v, f"final_sparsity of layer {i}") for i, v in enumerate(final_sparsity)]
        if len(finals) != n_layers:
            raise ConfigError(f"got {len(finals)} final sparsities for {n_layers} weighted layers")
    else:
        finals = [check_sparsity(final_sparsity, "final_sparsity")]
    s_i = check_sparsity(initial_sparsity, "initial_sparsity")
    if s_i > min(finals):
        raise ConfigError(f"initial_sparsity {s_i} exceeds final_sparsity {min(finals)}")
    if int(epochs) < 1 or int(frequency) < 1 or int(batch_size) < 1:
        raise ConfigError(f"epochs, frequency and batch_size must be >= 1, got {epochs}, {frequency}, {batch_size}")
    if not (0.0 < ramp_fraction <= 1.0):
        raise ConfigError(f"ramp_fraction must lie in (0, 1], got {ramp_fraction}")
    if criterion not in CRITERIA:
        raise ConfigError(f"unknown criterion {criterion!r}; choose one of {', '.join(CRITERIA)}")
    net = network.copy()
    x, y = _train_data(net, train_data)
    rng = np.random.default_rng(seed)
    steps_per_epoch = max(len(x) // batch_size, 1)
    total = int(epochs) * steps_per_epoch
    n_events = max(int(ramp_fraction * total) // int(frequency), 1)
    opt = Adam(net, lr=lr)
    events: list[PruneStep] = []
    batches = _minibatches(len(x), int(batch_size), rng)
    needs_data = criterion in NEEDS_LABELS or criterion in NEEDS_INPUTS
    sizes = np.array([l.weight.size for l in net.weighted_layers()], dtype=np.float64)

    def targets_at(t: int) -> list[float]:
        return [zhu_gupta_sparsity(t, s_i, f, 0, n_events, int(frequency)) for f in finals]

    def prune_to(t: int, targets: list[float]) -> None:
        data = None
        if needs_data:
            idx = rng.choice(len(x), size=min(score_samples, len(x)), replace=False)
            data = (x[idx], y[idx])
        sc = score(net, data, criterion, seed=rng)
        masks = select(sc, targets if per_layer else targets[0], scope=scope, structure=structure,
                       masks=net.masks(), support=supports(net), **select_kw)
        net.set_masks(masks)
        mean_t = float(np.dot(targets, sizes) / sizes.sum()) if per_layer else targets[0]
        events.append(PruneStep(t, mean_t, sparsity_of(masks, supports(net))))

    for t in range(total):
        if t % frequency == 0 and t // frequency <= n_events:
            prune_to(t, targets_at(t))
        # cosine decay over the fine-tuning tail only
        if t > n_events * frequency:
            tail = total - n_events * frequency
            opt.lr = lr * 0.5 * (1 + math.cos(math.pi * (t - n_events * frequency) / max(tail, 1)))
        _step(net, opt, x, y, next(batches))
    if not events or t // frequency < n_events:
        prune_to(total, finals)  # too few steps to reach the end of the ramp
    if val_data is not None:
        xv, yv = _train_data(net, val_data)
        last = events[-1]
        events[-1] = PruneStep(last.step, last.target_sparsity, last.sparsity, net.accuracy(xv, yv))
    return net, events


def iterative_magnitude(network: Network, train_data: Any, *, final_sparsity: float, rounds: int = 3,
                        epochs_per_round: int = 1, rewind_step: int = 0, scope: str = "global",
                        lr: float = 1e-3, batch_size: int = 128, seed: int | np.random.Generator = 0,
                        final_epochs: Optional[int] = None, val_data: Any = None
                        ) -> tuple[Network, list[PruneStep]]:
    """Iterative magnitude pruning with weight rewinding (lottery ticket).

    Round r (1..rounds): train ``epochs_per_round``, prune by magnitude to
    s_r = 1 - (1 - final_sparsity)^(r / rounds) (each round removes the same fraction of the remaining
    weights), rewind the surviving weights and biases to their values after ``rewind_step`` minibatches of the
    first round (0 = the given network's weights, the original lottery ticket), reset the optimizer. Finally
    train the ticket ``final_epochs`` (default ``epochs_per_round``). Returns (network, pruning events).
    """
    s_f = check_sparsity(final_sparsity, "final_sparsity")
    if int(rounds) < 1 or int(epochs_per_round) < 1 or int(rewind_step) < 0:
        raise ConfigError(f"rounds and epochs_per_round must be >= 1 and rewind_step >= 0, got {rounds}, "
                          f"{epochs_per_round}, {rewind_step}")
    fe = int(epochs_per_round if final_epochs is None else final_epochs)
    if fe < 0:
        raise ConfigError(f"final_epochs must be >= 0, got {final_epochs}")
    net = network.copy()
    x, y = _train_data(net, train_data)
    rng = np.random.default_rng(seed)
    steps = int(epochs_per_round) * max(len(x) // batch_size, 1)
    if rewind_step > steps:
        raise ConfigError(f"rewind_step {rewind_step} exceeds the {steps} minibatch steps of a round")
    rewind: Optional[list[tuple[np.ndarray, np.ndarray]]] = None
    events: list[PruneStep] = []

    def snapshot() -> list[tuple[np.ndarray, np.ndarray]]:
        return [(l.weight.copy(), l.bias.copy()) for l in net.weighted_layers()]

    def train(n_steps: int, record: bool) -> None:
        nonlocal rewind
        opt = Adam(net, lr=lr)
        batches = _minibatches(len(x), int(batch_size), rng)
        for t in range(n_steps):
            if record and t == rewind_step:
                rewind = snapshot()
            opt.lr = lr * 0.5 * (1 + math.cos(math.pi * t / n_steps))
            _step(net, opt, x, y, next(batches))
        if record and rewind is None:
            rewind = snapshot()

    t_global = 0
    for r in range(1, int(rounds) + 1):
        train(steps, record=(r == 1))
        t_global += steps
        target = 1.0 - (1.0 - s_f) ** (r / rounds)
        masks = select(score(net, None, "magnitude"), target, scope=scope, masks=net.masks(), support=supports(net))
        assert rewind is not None
        for l, (w, b), m in zip(net.weighted_layers(), rewind, masks):
            l.set_mask(m)
            l.set_weight(w, b)
        events.append(PruneStep(t_global, target, sparsity_of(masks, supports(net))))
    if fe:
        train(fe * max(len(x) // batch_size, 1), record=False)
    if val_data is not None:
        xv, yv = _train_data(net, val_data)
        last = events[-1]
        events[-1] = PruneStep(last.step, last.target_sparsity, last.sparsity, net.accuracy(xv, yv))
    return net, events
