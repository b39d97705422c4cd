"""Grow-and-prune from a sparse seed network (NeST).

Dai, Yin, Jha, "NeST: A Neural Network Synthesis Tool Based on a Grow-and-Prune Paradigm", IEEE Transactions
on Computers 68(10), 2019, sec. 3: start from a sparse seed architecture; a *growth* phase activates dormant
connections with the largest loss-gradient magnitude |dL/dw| (gradient-based growth, sec. 3.2.1, Algorithm 1),
each new weight initialised to -lr * dL/dw (one gradient step from 0, as the paper's "initialise with the
gradient"), with training between growth steps; then a *pruning* phase removes the smallest-magnitude weights
(magnitude-based pruning, sec. 3.3) in a few steps, retraining after each, down to the target sparsity.

Hyperparameters: ``seed_density`` (fraction of connections in the random seed, per layer), ``growth_fraction``
(fraction of each layer's weights grown per growth step, ranked by |grad| among dormant ones), the share of the
training steps spent growing (``grow_share``; the rest prunes and retrains), and ``prune_rounds``. The paper's seeds are very sparse and
its growth thresholds are set per data set; the defaults here (seed density 0.05, growth 0.05 per step, four
growth steps per epoch of growth, half of the steps growing) are this implementation's choices for LeNet-sized networks, stated as such.
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ..nn import Adam, Network
from ._common import (MethodResult, check_fraction, check_int, check_network, dense_gradients, layer_support, minibatches,
                      random_masks, step_loss, top_k_mask, train_arrays)
from .selection import check_sparsity

DEFAULT_SEED_DENSITY = 0.05
DEFAULT_GROWTH_FRACTION = 0.05
GROWTH_STEPS_PER_EPOCH = 4


def grow(weight: np.ndarray, mask: np.ndarray, grad: np.ndarray, n: int, lr: float,
         allowed: Optional[np.ndarray] = None) -> tuple[np.ndarray, np.ndarray]:
    """Activate the ``n`` dormant connections of largest |grad| (only where ``allowed``: the real weights of a grouped
    convolution); new weights -lr * grad. Returns (weight, mask)."""
    g = top_k_mask(np.abs(grad), n, allowed=~mask if allowed is None else ~mask & allowed)
    w = np.where(g, -lr * grad, weight)
    return w, mask | g


def nest_train(network: Network, train_data: Any, *, sparsity: float, epochs: int = 2, lr: float = 1e-3,
               seed_density: float = DEFAULT_SEED_DENSITY, growth_fraction: float = DEFAULT_GROWTH_FRACTION,
               grow_share: float = 0.5, prune_rounds: int = 3, batch_size: int = 128, grad_samples: int = 1000,
               seed: int | np.random.Generator = 0) -> tuple[Network, MethodResult]:
    """NeST on a copy of ``network`` (its weights are the seed's values where the random seed mask keeps them).

    ``epochs`` in total: the first ``grow_share`` of the minibatch steps train with growth, the rest is split over
    ``prune_rounds`` magnitude-pruning steps (geometric in the kept fraction) each followed by retraining.
    """
    net = check_network(network).copy()
    s = check_sparsity(sparsity)
    d0 = check_fraction("seed_density", seed_density, lo_open=True)
    gf = check_fraction("growth_fraction", growth_fraction)
    x, y = train_arrays(net, train_data)
    epochs = check_int("epochs", epochs, 1)
    share = check_fraction("grow_share", grow_share, lo_open=True, hi_open=True)
    rounds = check_int("prune_rounds", prune_rounds, 1)
    bs = check_int("batch_size", batch_size, 1)
    rng = np.random.default_rng(seed)
    layers = net.weighted_layers()
    net.set_masks(random_masks(net, [max(1, int(round(d0 * int(layer_support(l).sum())))) for l in layers], rng))
    opt = Adam(net, lr=lr)
    batches = minibatches(len(x), bs, rng)
    spe = max(len(x) // bs, 1)
    hist = []
    t = 0
    grow_every = max(spe // GROWTH_STEPS_PER_EPOCH, 1)
    grow_steps = max(int(share * epochs * spe), 1)
    for _ in range(grow_steps):
        if t % grow_every == 0:
            gidx = rng.choice(len(x), size=min(int(grad_samples), len(x)), replace=False)
            grads = dense_gradients(net, x[gidx], y[gidx])
            for l, g in zip(layers, grads):
                sup = layer_support(l)
                w, m = grow(l.weight.astype(np.float64), l.mask, g, int(round(gf * int(sup.sum()))), lr, allowed=sup)
                l.mask = m
                l.weight[...] = w
            hist.append((t, net.sparsity()))
        idx = next(batches)
        step_loss(net, x[idx], y[idx])
        opt.step()
        t += 1
    keep0 = [int(l.mask.sum()) for l in layers]
    target = [max(1, int(round((1 - s) * int(layer_support(l).sum())))) for l in layers]
    per_round = max((epochs * spe - grow_steps) // rounds, 1)
    for r in range(1, rounds + 1):
        for l, k0, kt in zip(layers, keep0, target):
            k = int(round(k0 * (kt / k0) ** (r / rounds))) if kt < k0 else int(l.mask.sum())
            l.set_mask(top_k_mask(np.abs(l.weight), k, allowed=l.mask))
        hist.append((t, net.sparsity()))
        for _ in range(per_round):
            idx = next(batches)
            step_loss(net, x[idx], y[idx])
            opt.step()
            t += 1
    return net, MethodResult("nest", net.sparsity(), t, tuple(hist),
                             (("peak_density", float(sum(keep0)) / net.num_weights()),))
