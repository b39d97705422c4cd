"""Deep R: training under a fixed connectivity budget with random rewiring.

Bellec, Kappel, Maass, Legenstein, "Deep Rewiring: Training very sparse deep networks", ICLR 2018,
Algorithm 1. Every connection k has a fixed sign s_k and a parameter theta_k; it is active iff theta_k > 0 and
then w_k = s_k theta_k (sign-constrained). One step, for active connections:

    theta_k <- theta_k - eta dE/dtheta_k - eta alpha + sqrt(2 eta T) nu_k,      nu_k ~ N(0, 1)

A connection whose theta crosses zero becomes dormant (w_k = 0, masked); then as many dormant connections,
drawn uniformly at random, are activated with theta = epsilon, so each layer keeps *exactly* its budget of K
active connections after every step.

Here the gradient term is the step of the caller's optimiser on the masked weights (Algorithm 1 uses SGD;
``optimizer="adam"`` is the default, as for every training-time method in the comparison table), and the
L1 term, the noise and the rewiring follow Algorithm 1 exactly. Signs s_k are drawn at random for every
connection and kept: an active connection takes the sign of its initial weight, a dormant one the drawn sign.

Defaults come from the authors' MNIST script (github.com/guillaumeBellec/deep_rewiring,
script_mnist_deep_rewiring.py): alpha = 1e-5 (``l1``), reactivation at epsilon = 1e-12, and a noise of std
lr * 1e-5 per step at lr = 0.5, i.e. T = (0.5e-5)^2 / (2 * 0.5) = 2.5e-11.
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ..errors import ConfigError
from ..nn import SGD, Adam, Network
from ._common import (MethodResult, layer_support, check_int, check_network, check_nonneg, check_positive, fixed_budget_masks,
                      layer_budgets, minibatches, step_loss, train_arrays)
from .selection import check_sparsity

DEFAULT_ALPHA = 1e-5
DEFAULT_TEMPERATURE = 2.5e-11
EPSILON = 1e-12


class DeepR:
    """Deep R state on a network whose masks are the active connections; call :meth:`step` after the optimiser."""

    def __init__(self, network: Network, budgets: list[int], lr: float, alpha: float = DEFAULT_ALPHA,
                 temperature: float = DEFAULT_TEMPERATURE, rng: Optional[np.random.Generator] = None):
        self.network = check_network(network)
        self.lr = check_positive("lr", lr)
        self.alpha = check_nonneg("alpha (L1 coefficient)", alpha)
        self.temperature = check_positive("temperature", temperature)
        self.rng = rng if rng is not None else np.random.default_rng(0)
        layers = network.weighted_layers()
        if len(budgets) != len(layers):
            raise ConfigError(f"got {len(budgets)} connection budgets for {len(layers)} layers")
        self.budgets = []
        for l, k in zip(layers, budgets):
            if isinstance(k, bool) or int(k) != k or not (1 <= int(k) <= l.weight.size):
                raise ConfigError(f"connection budget of layer {l.name!r} must be an integer in [1, {l.weight.size}],"
                                  f" got {k!r}")
            self.budgets.append(int(k))
        self.signs = []
        for l, k in zip(layers, self.budgets):
            s = np.where(self.rng.random(l.weight.shape) < 0.5, -1.0, 1.0)
            w = l.weight
            s = np.where(l.mask & (w != 0), np.sign(w), s)
            self.signs.append(s.astype(l.weight.dtype))
            if int(l.mask.sum()) != k:
                raise ConfigError(f"layer {l.name!r} has {int(l.mask.sum())} active connections, budget {k}")
            # active connections start with theta = |w| > 0 in the direction of their sign
            l.weight[...] = np.where(l.mask, s * np.maximum(np.abs(w), EPSILON), 0.0)
        self.rewired = 0
        self.supports = [layer_support(l) for l in layers]

    def step(self) -> None:
        """L1 shrinkage, noise, deactivation of crossed connections and random reactivation (Algorithm 1)."""
        noise_std = np.sqrt(2.0 * self.lr * self.temperature)
        for l, s, k, sup in zip(self.network.weighted_layers(), self.signs, self.budgets, self.supports):
            theta = s * l.weight
            act = l.mask
            theta = theta - self.lr * self.alpha + noise_std * self.rng.standard_normal(theta.shape)
            alive = act & (theta > 0)
            short = k - int(alive.sum())
            if short > 0:
                dormant = np.flatnonzero(~alive & sup)
                new = self.rng.choice(dormant, size=short, replace=False)
                alive.ravel()[new] = True
                theta.ravel()[new] = EPSILON
                self.rewired += short
            l.mask = alive
            l.weight[...] = np.where(alive, s * theta, 0.0)

    def counts(self) -> list[int]:
        return [int(l.mask.sum()) for l in self.network.weighted_layers()]


def deep_r_train(network: Network, train_data: Any, *, sparsity: float, epochs: int = 1, lr: float = 1e-3,
                 alpha: float = DEFAULT_ALPHA, temperature: float = DEFAULT_TEMPERATURE, batch_size: int = 128,
                 optimizer: str = "adam", from_init: bool = True, seed: int | np.random.Generator = 0
                 ) -> tuple[Network, MethodResult]:
    """Train a copy of ``network`` with Deep R at a per-layer connection budget of (1 - ``sparsity``) of its weights.

    ``from_init``: start from a uniformly random sparse connectivity (the paper); otherwise from the network's
    largest-magnitude weights. ``lr`` is the optimiser's step (eta); returns the network and its record.
    """
    net = check_network(network).copy()
    s = check_sparsity(sparsity)
    x, y = train_arrays(net, train_data)
    epochs = check_int("epochs", epochs, 1)
    bs = check_int("batch_size", batch_size, 1)
    if optimizer not in ("adam", "sgd"):
        raise ConfigError(f"optimizer must be 'adam' or 'sgd', got {optimizer!r}")
    rng = np.random.default_rng(seed)
    budgets = layer_budgets(net, s)
    net.set_masks(fixed_budget_masks(net, budgets, from_init, rng))
    dr = DeepR(net, budgets, lr, alpha, temperature, rng)
    opt = Adam(net, lr=lr) if optimizer == "adam" else SGD(net, lr=lr, momentum=0.0)
    batches = minibatches(len(x), bs, rng)
    steps = epochs * max(len(x) // bs, 1)
    for t in range(steps):
        idx = next(batches)
        step_loss(net, x[idx], y[idx])
        opt.step()
        dr.step()
    return net, MethodResult("deep_r", net.sparsity(), steps, ((steps, net.sparsity()),),
                             (("rewired", float(dr.rewired)),))
