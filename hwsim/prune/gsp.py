"""Gradient Support Pursuit for sparsity-constrained training, and its filter-pruning form.

Bahmani, Raj, Boufounos, "Greedy Sparsity-Constrained Optimization", JMLR 14 (2013), Algorithm 1 (named
"GraSP" there -- here ``gsp``, to keep it apart from GraSP pruning at initialisation, Wang et al. ICLR 2020,
the ``grasp`` criterion of :mod:`hwsim.prune.criteria`). With a budget of s non-zeros, each iteration:

1. z = grad f(x)                                   (gradient at the current s-sparse iterate)
2. Z = supp(z_{2s})                                (the 2s largest |z|)
3. T = Z union supp(x)                             (merge supports)
4. b = argmin f(x) s.t. x|_{T^c} = 0               (minimise on the merged support)
5. x = b_s                                         (prune back to the s largest |b|)

For a network the exact minimisation of step 4 is replaced by ``inner_steps`` Adam minibatch steps on the
merged support, and z is the dense gradient of a minibatch of ``grad_samples`` examples; the budget s is
per layer (1 - sparsity of its weights), so the 2s of step 2 is capped by the layer's size.

FPGraSP (``structure="filter"``): the same iteration on groups -- the output rows of each weight matrix (a
dense layer's neurons, a convolution's filters) -- with group norms in place of magnitudes, i.e. the
group-sparse form of Algorithm 1 (block sparsity, Bahmani et al. sec. 5). The class outputs are never removed.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ConfigError
from ..nn import Adam, Network
from ._common import (MethodResult, check_int, check_network, dense_gradients, layer_budgets, layer_support, minibatches,
                      step_loss, top_k_mask, train_arrays)
from .selection import check_sparsity

STRUCTURES = ("unstructured", "filter")
DEFAULT_INNER_STEPS = 50


def gsp_support(weight: np.ndarray, grad: np.ndarray, mask: np.ndarray, s: int) -> np.ndarray:
    """Steps 2-3 of Algorithm 1: supp(grad_{2s}) union supp(mask) (``s`` = the budget)."""
    z = top_k_mask(np.abs(grad), min(2 * s, grad.size))
    return z | mask


def gsp_train(network: Network, train_data: Any, *, sparsity: float, structure: str = "unstructured",
              epochs: int = 1, lr: float = 1e-3, inner_steps: int = DEFAULT_INNER_STEPS, batch_size: int = 128,
              grad_samples: int = 1000, seed: int | np.random.Generator = 0) -> tuple[Network, MethodResult]:
    """Gradient Support Pursuit (``structure="unstructured"``) or FPGraSP (``"filter"``) on a copy of ``network``.

    Starts from the largest-magnitude weights (rows) of the given network at the budget, then runs Algorithm 1
    for ``epochs`` of minibatch steps, ``inner_steps`` per iteration; ends on a pruned support after a final
    restricted minimisation of ``inner_steps`` steps.
    """
    net = check_network(network).copy()
    s = check_sparsity(sparsity)
    if structure not in STRUCTURES:
        raise ConfigError(f"structure must be one of {', '.join(STRUCTURES)}, got {structure!r}")
    x, y = train_arrays(net, train_data)
    epochs = check_int("epochs", epochs, 1)
    inner = check_int("inner_steps", inner_steps, 1)
    bs = check_int("batch_size", batch_size, 1)
    gs = check_int("grad_samples", grad_samples, 1)
    rng = np.random.default_rng(seed)
    layers = net.weighted_layers()
    if structure == "filter":
        budgets = [max(1, int(round((1 - s) * l.weight.shape[0]))) for l in layers]
        budgets[-1] = layers[-1].weight.shape[0]   # class outputs kept
    else:
        budgets = layer_budgets(net, s)
    _prune_to(net, budgets, structure)
    opt = Adam(net, lr=lr)
    batches = minibatches(len(x), bs, rng)
    steps = epochs * max(len(x) // bs, 1)
    iters = max(steps // inner - 1, 1)
    t = 0
    hist = []
    for _ in range(iters):
        gidx = rng.choice(len(x), size=min(gs, len(x)), replace=False)
        grads = dense_gradients(net, x[gidx], y[gidx])
        for l, g, k in zip(layers, grads, budgets):
            if structure == "filter":
                rows = top_k_mask(np.linalg.norm(g, axis=1), min(2 * k, g.shape[0]))
                merged = rows[:, None] | l.mask.any(axis=1, keepdims=True)
                l.mask = np.broadcast_to(merged, l.mask.shape) & layer_support(l)
            else:
                l.mask = gsp_support(l.weight, g, l.mask, k) & layer_support(l)
        for _ in range(inner):
            idx = next(batches)
            step_loss(net, x[idx], y[idx])
            opt.step()
            t += 1
        _prune_to(net, budgets, structure)
        hist.append((t, net.sparsity()))
    for _ in range(inner):     # final restricted minimisation on the s-sparse support
        idx = next(batches)
        step_loss(net, x[idx], y[idx])
        opt.step()
        t += 1
    name = "fpgrasp" if structure == "filter" else "gsp"
    return net, MethodResult(name, net.sparsity(), t, tuple(hist))


def _prune_to(net: Network, budgets: list[int], structure: str) -> None:
    """Step 5: keep the ``budgets[i]`` largest |w| (rows by L2 norm for filters) of each layer."""
    for l, k in zip(net.weighted_layers(), budgets):
        w = l.effective_weight().astype(np.float64)
        if structure == "filter":
            rows = top_k_mask(np.linalg.norm(w, axis=1), k)
            l.set_mask(np.broadcast_to(rows[:, None], w.shape))
        else:
            l.set_mask(top_k_mask(np.abs(w), k, allowed=l.mask))
