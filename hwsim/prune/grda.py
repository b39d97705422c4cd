"""Directional pruning with gRDA, the generalized regularized dual averaging optimiser.

Chao, Wang, Xing, Cheng, "Directional Pruning of Deep Neural Networks", NeurIPS 2020, eq. (3)-(4)
(the gRDA update) and sec. 3 (directional pruning as its asymptotic limit):

    W_{n+1} = S_{g(n, gamma)}( W_0 - gamma * sum_{i=0..n} grad f(W_i; Z_{i+1}) ),
    g(n, gamma) = c * gamma^(1/2) * (n gamma)^mu,       S_g(v) = sign(v) max(|v| - g, 0)

gamma is the learning rate, c > 0 the initial sparsity control and mu in (0.5, 1) the growth exponent of
the soft threshold. Weights whose accumulated (dual-averaged) gradient stays within the growing threshold
are *exact* zeros -- there is no separate pruning step; the mask of the returned network is ``weight != 0``.
Biases follow the same dual averaging with c = 0 (plain SGD), as they are not pruned.

Defaults: lr = 0.005, c = 0.005, mu = 0.7 -- the authors' gRDA-Optimizer README (github.com/donlan2710/
gRDA-Optimizer: "lr = 0.005 ... c = 0.005 for gRDA"; mu = 0.7 is the default of their grda_pytorch.py).
The threshold is hard to invert into a target sparsity; :func:`grda_train` reports the sparsity it reached.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..nn import Network
from ._common import (MethodResult, check_int, check_network, check_positive, check_real, minibatches,
                      step_loss, train_arrays)

DEFAULT_LR = 0.005
DEFAULT_C = 0.005
DEFAULT_MU = 0.7


def check_mu(mu: Any) -> float:
    """``mu`` in the open interval (0.5, 1) or :class:`ConfigError`."""
    from ..errors import ConfigError

    f = check_real("mu", mu)
    if not (0.5 < f < 1.0):
        raise ConfigError(f"gRDA mu must lie in (0.5, 1) (Chao et al. 2020, eq. 4), got {mu!r}")
    return f


def threshold(n: int, lr: float, c: float, mu: float) -> float:
    """Soft threshold g(n, gamma) = c gamma^(1/2) (n gamma)^mu after ``n`` steps (eq. 4)."""
    return float(c * np.sqrt(lr) * (n * lr) ** mu)


def soft_threshold(v: np.ndarray, g: float) -> np.ndarray:
    """S_g(v) = sign(v) max(|v| - g, 0): exact zeros where |v| <= g."""
    return np.sign(v) * np.maximum(np.abs(v) - g, 0.0)


class GRDA:
    """The gRDA optimiser on a :class:`hwsim.nn.Network`: call :meth:`step` after ``network.backward``.

    The dual accumulators start at the network's current weights W_0 (eq. 3); every step subtracts
    lr * gradient and re-thresholds, so a weight is exactly 0 whenever its accumulator lies within
    g(n, lr). The masks are all-True during training (gRDA may revive a weight) and are set to
    ``weight != 0`` by :meth:`finalize`.
    """

    def __init__(self, network: Network, lr: float = DEFAULT_LR, c: float = DEFAULT_C, mu: float = DEFAULT_MU):
        self.network = check_network(network)
        self.lr = check_positive("lr", lr)
        self.c = check_positive("c", c)
        self.mu = check_mu(mu)
        self.n = 0
        layers = network.weighted_layers()
        for l in layers:
            l.mask = np.ones_like(l.mask)
        self.acc = [l.weight.astype(np.float64) for l in layers]

    def step(self) -> None:
        self.n += 1
        g = threshold(self.n, self.lr, self.c, self.mu)
        for l, a in zip(self.network.weighted_layers(), self.acc):
            a -= self.lr * l.grad_weight
            l.weight[...] = soft_threshold(a, g)
            l.bias -= (self.lr * l.grad_bias).astype(l.bias.dtype)

    def finalize(self) -> None:
        """Install masks = (weight != 0): the exact zeros gRDA produced become pruned weights."""
        for l in self.network.weighted_layers():
            l.set_mask(l.weight != 0)


def grda_train(network: Network, train_data: Any, *, epochs: int = 1, lr: float = DEFAULT_LR,
               c: float = DEFAULT_C, mu: float = DEFAULT_MU, batch_size: int = 128,
               seed: int | np.random.Generator = 0) -> tuple[Network, MethodResult]:
    """Train a copy of ``network`` with gRDA for ``epochs`` (minibatch SGD order, seeded); returns it with exact
    zeros as its pruned weights, and the achieved sparsity. ``lr`` in 1/loss units per step (gamma)."""
    net = check_network(network).copy()
    x, y = train_arrays(net, train_data)
    epochs = check_int("epochs", epochs, 1)
    bs = check_int("batch_size", batch_size, 1)
    opt = GRDA(net, lr, c, mu)
    rng = np.random.default_rng(seed)
    batches = minibatches(len(x), bs, rng)
    steps = epochs * max(len(x) // bs, 1)
    hist = []
    for t in range(steps):
        idx = next(batches)
        step_loss(net, x[idx], y[idx])
        opt.step()
        if (t + 1) % max(steps // 8, 1) == 0:
            hist.append((t + 1, _zero_fraction(net)))
    opt.finalize()
    return net, MethodResult("grda", net.sparsity(), steps, tuple(hist),
                             (("threshold", threshold(opt.n, opt.lr, opt.c, opt.mu)),))


def _zero_fraction(net: Network) -> float:
    layers = net.weighted_layers()
    return 1.0 - sum(int(np.count_nonzero(l.weight)) for l in layers) / net.num_weights()
