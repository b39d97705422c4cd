"""Phase-domain pruning of photonic meshes and fine-tuning of the remaining phases *through* the mesh.

A mapped layer (:mod:`hwsim.photonic.mapping`) holds, per K x K tile, one row of heater phases (rad) and a
gain; heater static power is P_pi (phi mod 2pi)/pi per phase, so a phase set to 0 is a heater switched off
([CHAMP]-style phase pruning; Gu et al., "Towards hardware-efficient optical neural networks: beyond FFT
architecture via joint learnability", TCAD 2020, and the phase-pruning of CHAMP). The physics -- the mesh
forward, the exact phase gradients (:func:`hwsim.photonic.phase_gradients`), the heater-power penalty
(:func:`hwsim.photonic.power_penalty`) and the SVD gauge (:func:`hwsim.photonic.gauge_optimize`) -- lives in
:mod:`hwsim.photonic`; this module chooses phases and schedules their training.

* :func:`phase_scores` / :func:`select_phases` -- criteria: ``magnitude`` (wrapped distance to 0),
  ``power`` (wrapped distance per unit of heater power saved: phases near 2pi are nearly free to zero and
  save the most), ``power_sq`` (squared wrapped distance per unit of power saved: a small phase error
  costs accuracy roughly quadratically, so near-0 and near-2pi heaters are both cheap, while the linear
  ``power`` ratio ranks near-0 phases with near-pi ones), ``sensitivity`` (first-order loss change
  |dL/dphi * dphi| per unit of power saved).
* :func:`network_phase_gradients` -- dL/dphase per layer of the cross-entropy on data, through the meshes.
* :func:`finetune_phases` -- Adam on the unpruned phases and the tile gains with gradients through the
  meshes; pruned phases stay exactly 0 (heater off). Optionally with a heater-power regulariser
  (:func:`hwsim.photonic.power_penalty`, ``power_reg``) that drives phases toward 0 while the network keeps
  its accuracy.
* :func:`iterative_phase_pruning` -- alternate selection and fine-tuning.
* :func:`regularized_phase_pruning` -- CHAMP-style: train with the power regulariser, switch off every heater
  within a threshold of 0, repeat; then fine-tune the remaining phases without the regulariser.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any, Optional, Sequence

import numpy as np

from ..errors import ConfigError, DataError
from ..nn import Network, distillation_loss, softmax_cross_entropy
from ..photonic import prune_phases
from ..photonic.gradients import (POWER_REGULARIZERS, TWO_PI, layer_forward, phase_gradients, power_penalty,
                                   power_units)
from ..photonic.phase_pruning import wrapped_magnitude as wrapped  # distance of a phase to 0 on the circle

PHASE_CRITERIA = ("magnitude", "power", "power_sq", "sensitivity")


def phase_scores(mapping: Any, criterion: str = "power", grads: Optional[Sequence[np.ndarray]] = None
                 ) -> list[np.ndarray]:
    """Per layer (T, P) scores, lower = prune first; heaters already off score +inf (nothing to prune).

    ``sensitivity`` needs ``grads`` (dL/dphase per layer, e.g. from :func:`network_phase_gradients`).
    """
    if criterion not in PHASE_CRITERIA:
        raise ConfigError(f"unknown phase criterion {criterion!r}; choose one of {', '.join(PHASE_CRITERIA)}")
    out = []
    for i, layer in enumerate(mapping.layers):
        # heater drive wrap(phase - offset) (0 = off); on an ideal chip the phases themselves
        ph = layer.drive() if getattr(layer, "offsets", None) is not None else layer.phases
        pw = power_units(ph)
        if criterion == "magnitude":
            s = wrapped(ph)
        elif criterion == "power":
            s = wrapped(ph) / np.maximum(pw, 1e-300)
        elif criterion == "power_sq":
            s = wrapped(ph) ** 2 / np.maximum(pw, 1e-300)
        else:
            if grads is None:
                raise ConfigError("phase criterion 'sensitivity' needs grads= (dL/dphase per layer)")
            g = np.asarray(grads[i])
            if g.shape != ph.shape:
                raise DataError(f"layer {layer.name!r}: grads shape {g.shape} != phases shape {ph.shape}")
            delta = np.where(np.mod(ph, TWO_PI) <= math.pi, -np.mod(ph, TWO_PI), TWO_PI - np.mod(ph, TWO_PI))
            s = np.abs(g * delta) / np.maximum(pw, 1e-300)
        out.append(np.where(pw > 0, s, np.inf))
    return out


def select_phases(mapping: Any, fraction: float, criterion: str = "power",
                  grads: Optional[Sequence[np.ndarray]] = None) -> list[np.ndarray]:
    """Prune masks (True = prune, the convention of ``hwsim.photonic.prune_phases``) for the lowest-scoring
    ``fraction`` of the heaters that are on, ranked globally over all layers."""
    from .selection import check_sparsity

    f = check_sparsity(fraction, "phase fraction")
    scores = phase_scores(mapping, criterion, grads)
    flat = np.concatenate([s.ravel() for s in scores])
    live = np.isfinite(flat)
    n_prune = int(np.floor(f * live.sum() + 1e-9))
    chosen = np.zeros(flat.size, dtype=bool)
    if n_prune:
        order = np.argsort(np.where(live, flat, np.inf), kind="stable")[:n_prune]
        chosen[order] = True
    out, off = [], 0
    for s in scores:
        out.append(chosen[off:off + s.size].reshape(s.shape))
        off += s.size
    return out


def _network_for(mapping: Any) -> Network:
    net = mapping.network
    if not isinstance(net, Network):
        raise ConfigError("phase fine-tuning needs a mapping of a hwsim.nn.Network (map the network, not matrices)")
    if len(net.weighted_layers()) != len(mapping.layers):
        raise ConfigError("mapping and network disagree on the number of weighted layers")
    n = net.copy().astype(np.float64)
    for l in n.weighted_layers():
        l.set_mask(np.ones(l.weight.shape, dtype=bool))
    return n


def network_phase_gradients(mapping: Any, data: Any, batch_size: int = 1000, n_samples: int = 2000
                            ) -> list[np.ndarray]:
    """dL/dphase per layer (T, P) of the mean cross-entropy on ``data`` through the mapped meshes."""
    from .criteria import check_data

    net = _network_for(mapping)
    x, y = check_data(net, data, labels=True, n_samples=n_samples)
    for l, lm in zip(net.weighted_layers(), mapping.layers):
        l.weight = layer_forward(lm).matrix
    gw = [np.zeros(l.weight.shape) for l in net.weighted_layers()]
    for i in range(0, len(x), batch_size):
        logits = net.forward(x[i:i + batch_size], train=True, validate=False)
        _, d = softmax_cross_entropy(logits, y[i:i + batch_size])
        net.backward(d)
        w = len(logits) / len(x)
        for a, l in zip(gw, net.weighted_layers()):
            a += w * l.grad_weight
    return [phase_gradients(lm, g)[0] for lm, g in zip(mapping.layers, gw)]


def finetune_phases(mapping: Any, train_data: Any, *, epochs: int = 1, lr: float = 2e-3, batch_size: int = 256,
                    seed: int | np.random.Generator = 0, train_gains: bool = True, train_biases: bool = True,
                    max_steps: Optional[int] = None, power_reg: float = 0.0, reg_kind: str = "wrapped",
                    teacher: Optional[Network] = None, kd_weight: float = 0.0, kd_temperature: float = 4.0) -> Any:
    """A new mapping whose unpruned phases (and tile gains, and the digital biases) are trained with Adam
    through the meshes.

    Heaters that are off (pruned: phase = fabrication offset, 0 on an ideal chip) stay exactly there; trained phases
    are wrapped into [0, 2pi) after each step, so the heater power of the result is measured by ``hwsim.photonic.cost``.
    With ``train_biases`` the biases (added electronically after detection) are trained too; the mapping's
    network is then a copy carrying the new biases (the caller's network is not modified).
    ``power_reg`` (lambda >= 0): the loss is mean cross-entropy + lambda * :func:`power_penalty` (``reg_kind``)
    summed over every unpruned phase, so phases the data does not need drift toward 0 (heater off).
    ``teacher`` (e.g. the dense float network) with ``kd_weight`` w in (0, 1]: the loss is (1 - w) * cross-entropy
    + w * :func:`hwsim.nn.distillation_loss` against the teacher's logits at ``kd_temperature``.
    """
    from .criteria import check_data

    if int(epochs) < 0 or int(batch_size) < 1:
        raise ConfigError(f"epochs must be >= 0 and batch_size >= 1, got {epochs}, {batch_size}")
    if not (lr > 0 and np.isfinite(lr)):
        raise ConfigError(f"lr must be a positive finite number, got {lr}")
    if not (power_reg >= 0 and np.isfinite(power_reg)):
        raise ConfigError(f"power_reg must be a finite number >= 0, got {power_reg}")
    if reg_kind not in POWER_REGULARIZERS:
        raise ConfigError(f"unknown power regulariser {reg_kind!r}; choose one of {', '.join(POWER_REGULARIZERS)}")
    if not 0.0 <= kd_weight <= 1.0:
        raise ConfigError(f"kd_weight must lie in [0, 1], got {kd_weight}")
    if kd_weight > 0 and teacher is None:
        raise ConfigError("kd_weight > 0 needs a teacher network")
    if not (kd_temperature > 0 and np.isfinite(kd_temperature)):
        raise ConfigError(f"kd_temperature must be a positive finite number, got {kd_temperature}")
    net = _network_for(mapping)
    x, y = check_data(net, train_data, labels=True)
    if kd_weight > 0 and (tuple(teacher.input_shape) != tuple(net.input_shape)
                          or teacher.weighted_layers()[-1].bias.shape != net.weighted_layers()[-1].bias.shape):
        raise ConfigError(f"teacher input {teacher.input_shape} / outputs do not match the mapped network's "
                          f"{net.input_shape}")
    rng = np.random.default_rng(seed)
    phases = [lm.phases.copy() for lm in mapping.layers]
    gains = [lm.gains.copy() for lm in mapping.layers]
    offs = [lm.off_phases() for lm in mapping.layers]  # a heater that is off sits at its fabrication offset
    free = [lm.drive() != 0.0 for lm in mapping.layers]
    state = [[np.zeros_like(p), np.zeros_like(p), np.zeros_like(g), np.zeros_like(g)] for p, g in zip(phases, gains)]
    bstate = [[np.zeros_like(l.bias), np.zeros_like(l.bias)] for l in net.weighted_layers()]
    b1, b2, eps = 0.9, 0.999, 1e-8
    t = 0
    steps_per_epoch = max(len(x) // batch_size, 1)
    total = int(epochs) * steps_per_epoch if max_steps is None else min(int(max_steps), int(epochs) * steps_per_epoch)
    layers = net.weighted_layers()
    while t < total:
        order = rng.permutation(len(x))
        for i in range(0, len(x) - batch_size + 1 if len(x) >= batch_size else 1, batch_size):
            if t >= total:
                break
            idx = order[i:i + batch_size]
            fws = [layer_forward(lm, p, g) for lm, p, g in zip(mapping.layers, phases, gains)]
            for l, fw in zip(layers, fws):
                l.weight = fw.matrix
            logits = net.forward(x[idx], train=True, validate=False)
            _, d = softmax_cross_entropy(logits, y[idx])
            if kd_weight > 0:
                _, dk = distillation_loss(logits, teacher.forward(x[idx], validate=False), kd_temperature)
                d = (1.0 - kd_weight) * d + kd_weight * dk
            net.backward(d)
            t += 1
            lr_t = lr * 0.5 * (1 + math.cos(math.pi * (t - 1) / total))
            for l, lm, fw, p, g, fr, st, off in zip(layers, mapping.layers, fws, phases, gains, free, state, offs):
                gp, gg = phase_gradients(lm, l.grad_weight, forward=fw)
                if power_reg > 0:
                    gp = gp + power_reg * power_penalty(p - off, reg_kind)[1]
                gp = np.where(fr, gp, 0.0)
                for j, (param, grad) in enumerate(((p, gp), (g, gg))):
                    if j == 1 and not train_gains:
                        continue
                    mom, var = st[2 * j], st[2 * j + 1]
                    mom *= b1
                    mom += (1 - b1) * grad
                    var *= b2
                    var += (1 - b2) * grad * grad
                    param -= lr_t * (mom / (1 - b1 ** t)) / (np.sqrt(var / (1 - b2 ** t)) + eps)
                p[:] = np.where(fr, np.mod(p, TWO_PI), off)
            if train_biases:
                for l, (mom, var) in zip(layers, bstate):
                    mom *= b1
                    mom += (1 - b1) * l.grad_bias
                    var *= b2
                    var += (1 - b2) * l.grad_bias * l.grad_bias
                    l.bias -= lr_t * (mom / (1 - b1 ** t)) / (np.sqrt(var / (1 - b2 ** t)) + eps)
    new_layers = tuple(dataclasses.replace(lm, phases=p, gains=g, reference_phases=lm.reference)
                       for lm, p, g in zip(mapping.layers, phases, gains))
    network = mapping.network
    if train_biases:
        network = mapping.network.copy()
        for dst, src in zip(network.weighted_layers(), layers):
            dst.bias = src.bias.astype(dst.bias.dtype)
    return dataclasses.replace(mapping, layers=new_layers, network=network)


def iterative_phase_pruning(mapping: Any, train_data: Any, *, fractions: Sequence[float] = (0.2, 0.2, 0.2),
                            criterion: str = "power", steps: int = 150, lr: float = 2e-3, batch_size: int = 256,
                            seed: int | np.random.Generator = 0, grad_samples: int = 2000,
                            callback: Any = None) -> list[Any]:
    """Alternate phase pruning and phase fine-tuning through the meshes; returns the mapping after each stage.

    Stage i switches off ``fractions[i]`` of the heaters still on (ranked by ``criterion``; sensitivity
    gradients are recomputed on ``grad_samples`` training samples at each stage), then trains the remaining
    phases and gains for ``steps`` minibatches. ``callback(stage, mapping)`` is called after each stage.
    """
    if criterion not in PHASE_CRITERIA:
        raise ConfigError(f"unknown phase criterion {criterion!r}; choose one of {', '.join(PHASE_CRITERIA)}")
    rng = np.random.default_rng(seed)
    out = []
    m = mapping
    for i, f in enumerate(fractions):
        grads = network_phase_gradients(m, train_data, n_samples=grad_samples) if criterion == "sensitivity" else None
        m = prune_phases(m, select_phases(m, f, criterion, grads))
        m = finetune_phases(m, train_data, epochs=10**6, lr=lr, batch_size=batch_size, seed=rng, max_steps=steps)
        out.append(m)
        if callback is not None:
            callback(i, m)
    return out


def regularized_phase_pruning(mapping: Any, train_data: Any, *, power_reg: float, rounds: int = 3,
                              threshold: float = 0.1, steps: int = 200, lr: float = 5e-3, final_steps: int = 200,
                              final_lr: float = 2e-3, batch_size: int = 256, reg_kind: str = "wrapped",
                              seed: int | np.random.Generator = 0, callback: Any = None,
                              teacher: Optional[Network] = None, kd_weight: float = 0.0,
                              kd_temperature: float = 4.0, kd_in_rounds: bool = False) -> list[Any]:
    """Power-regularised training and threshold pruning of phases, CHAMP-style; returns the mapping after each
    round and, last, after the final fine-tuning.

    Each of ``rounds`` rounds trains the phases, gains and biases for ``steps`` minibatches with the heater-power
    regulariser (``power_reg``, ``reg_kind``, learning rate ``lr``), then switches off every heater within
    ``threshold`` rad of 0 on the circle (:func:`hwsim.photonic.prune_phases`). Finally the remaining phases
    are fine-tuned without the regulariser for ``final_steps`` at ``final_lr`` (0 to skip).
    ``callback(stage, mapping)`` is called after each round (stage 0 .. rounds-1) and after the final step.
    ``teacher``, ``kd_weight``, ``kd_temperature``: distillation (:func:`finetune_phases`) in the final
    fine-tuning, and in the rounds too with ``kd_in_rounds`` (measured on LeNet-300-100: distilling in the rounds
    fights the regulariser, 83 % instead of 88 % of the heater power saved after 6 rounds).
    """
    if int(rounds) < 1:
        raise ConfigError(f"rounds must be >= 1, got {rounds}")
    if not (0 <= threshold <= math.pi):
        raise ConfigError(f"threshold must lie in [0, pi] rad, got {threshold}")
    kd = {"teacher": teacher, "kd_weight": kd_weight, "kd_temperature": kd_temperature}
    rng = np.random.default_rng(seed)
    out = []
    m = mapping
    for i in range(int(rounds)):
        m = finetune_phases(m, train_data, epochs=10**6, lr=lr, batch_size=batch_size, seed=rng, max_steps=steps,
                            power_reg=power_reg, reg_kind=reg_kind, **(kd if kd_in_rounds else {}))
        m = prune_phases(m, threshold=float(threshold))
        out.append(m)
        if callback is not None:
            callback(i, m)
    if final_steps:
        m = finetune_phases(m, train_data, epochs=10**6, lr=final_lr, batch_size=batch_size, seed=rng,
                            max_steps=final_steps, **kd)
        out.append(m)
        if callback is not None:
            callback(int(rounds), m)
    return out

