"""Dynamic sparse training at a fixed sparsity from initialisation: SET and RigL.

Both train a network whose every layer keeps exactly its budget of connections from the first step to the
last; every ``delta_t`` minibatches a fraction f_t of each layer's active connections -- the smallest
magnitudes -- is dropped and the same number of dormant connections is grown:

* SET -- Mocanu et al., "Scalable training of artificial neural networks with adaptive sparse connectivity
  inspired by network science", Nature Communications 9, 2383 (2018), Algorithm 1 / "SET procedure": regrowth
  at *random* positions (new weights drawn like the initialisation, He normal scaled by ``init_scale``).
* RigL -- Evci, Gale, Menick, Castro, Elsen, "Rigging the Lottery: Making All Tickets Winners", ICML 2020,
  Algorithm 1 and eq. (1): regrowth where the *dense gradient* |dL/dw| of the current minibatch is largest,
  new weights initialised to 0; update fraction f_t = (alpha / 2)(1 + cos(pi t / T_end)) (eq. 1), no updates
  after T_end.

The same cosine decay is used for both (the issue's recipe; SET's paper uses a constant fraction, i.e. the
decay's first value). Defaults from RigL sec. 4.1: alpha = 0.3, delta_t = 100, T_end = 75 % of training;
SET's zeta = 0.3 matches alpha. Sparsity is uniform per layer (RigL's "uniform" distribution; the paper keeps
the first layer dense, here every layer takes the target so that the table compares equal budgets).
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ..errors import ConfigError
from ..nn import Adam, Network
from ._common import (MethodResult, check_fraction, check_int, check_network, cosine, dense_gradients, layer_support,
                      fixed_budget_masks, layer_budgets, minibatches, step_loss, top_k_mask, train_arrays)
from .selection import check_sparsity

REGROWTH = ("random", "gradient")
DEFAULT_ALPHA = 0.3
DEFAULT_DELTA_T = 100
DEFAULT_T_END = 0.75


def drop_and_grow(weight: np.ndarray, mask: np.ndarray, n: int, grow_score: np.ndarray,
                  allowed: Optional[np.ndarray] = None) -> tuple[np.ndarray, np.ndarray]:
    """Drop the ``n`` smallest-|w| active connections and grow the ``n`` best-scoring dormant ones (never one just
    dropped; only where ``allowed``, the real weights of a grouped convolution). Returns (new mask, bool array of
    grown positions); the active count is unchanged."""
    allowed = np.ones(mask.shape, dtype=bool) if allowed is None else np.asarray(allowed, dtype=bool)
    k = int(mask.sum())
    n = min(int(n), k - 1, int(allowed.sum()) - k)
    if n <= 0:
        return mask.copy(), np.zeros_like(mask)
    keep = top_k_mask(np.abs(weight), k - n, allowed=mask)
    dropped = mask & ~keep
    grow = top_k_mask(grow_score, n, allowed=~mask & allowed)
    del dropped
    return keep | grow, grow


def dst_train(network: Network, train_data: Any, *, sparsity: float, regrowth: str = "gradient",
              epochs: int = 1, lr: float = 1e-3, alpha: float = DEFAULT_ALPHA, delta_t: int = DEFAULT_DELTA_T,
              t_end: float = DEFAULT_T_END, init_scale: float = 1.0, batch_size: int = 128,
              from_init: bool = True, seed: int | np.random.Generator = 0) -> tuple[Network, MethodResult]:
    """SET (``regrowth="random"``) or RigL (``regrowth="gradient"``) training of a copy of ``network`` with Adam.

    ``alpha`` in [0, 1]: initial update fraction; ``delta_t`` >= 1 minibatches between updates; ``t_end`` in
    [0, 1]: fraction of the training steps after which the mask is frozen. ``from_init``: start from a random
    mask of the target density (the papers); otherwise from the largest magnitudes of the given weights.
    """
    net = check_network(network).copy()
    s = check_sparsity(sparsity)
    if regrowth not in REGROWTH:
        raise ConfigError(f"regrowth must be one of {', '.join(REGROWTH)}, got {regrowth!r}")
    alpha = check_fraction("alpha (update fraction)", alpha)
    t_end = check_fraction("t_end (fraction of training with mask updates)", t_end)
    delta_t = check_int("delta_t", delta_t, 1)
    x, y = train_arrays(net, train_data)
    epochs = check_int("epochs", epochs, 1)
    bs = check_int("batch_size", batch_size, 1)
    rng = np.random.default_rng(seed)
    budgets = layer_budgets(net, s)
    net.set_masks(fixed_budget_masks(net, budgets, from_init, rng))
    opt = Adam(net, lr=lr)
    batches = minibatches(len(x), bs, rng)
    steps = epochs * max(len(x) // bs, 1)
    stop = int(t_end * steps)
    hist = []
    name = "rigl" if regrowth == "gradient" else "set"
    for t in range(1, steps + 1):
        idx = next(batches)
        if t % delta_t == 0 and t < stop:
            frac = alpha * cosine(t, stop)
            grads = dense_gradients(net, x[idx], y[idx]) if regrowth == "gradient" else None
            for i, l in enumerate(net.weighted_layers()):
                n = int(round(frac * int(l.mask.sum())))
                score = np.abs(grads[i]) if grads is not None else rng.random(l.weight.shape)
                new, grown = drop_and_grow(l.weight, l.mask, n, score, allowed=layer_support(l))
                init = 0.0 if regrowth == "gradient" else \
                    init_scale * rng.standard_normal(l.weight.shape) * np.sqrt(2.0 / l.weight.shape[1])
                l.weight[...] = np.where(grown, init, np.where(new, l.weight, 0.0))
                l.mask = new
                _reset_adam(opt, l, grown)
            hist.append((t, net.sparsity()))
        step_loss(net, x[idx], y[idx])
        opt.step()
    return net, MethodResult(name, net.sparsity(), steps, tuple(hist))


def _reset_adam(opt: Adam, layer: Any, grown: np.ndarray) -> None:
    """Zero Adam's moments of newly grown weights (RigL resets them; stale moments of dormant weights are 0 anyway
    unless a weight was dropped and grown again)."""
    st = opt._state.get(id(layer.weight))
    if st is not None:
        for a in st.values():
            a[grown] = 0.0
