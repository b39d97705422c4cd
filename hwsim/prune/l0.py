"""L0 regularisation with hard-concrete gates.

Louizos, Welling, Kingma, "Learning Sparse Neural Networks through L0 Regularization", ICLR 2018, sec. 3
and eq. (9)-(13). Every weight w_j gets a gate z_j drawn from a hard-concrete distribution with location
log_alpha_j, temperature beta and stretch interval (gamma, zeta):

    u ~ U(0, 1),  s = sigmoid((log u - log(1 - u) + log_alpha) / beta),  s_bar = s (zeta - gamma) + gamma,
    z = min(1, max(0, s_bar))                                                      (eq. 10)

the network computes with w * z, and the loss adds lambda times the expected number of non-zero gates,
sum_j sigmoid(log_alpha_j - beta log(-gamma / zeta)) (eq. 12), per training sample (the paper's objective,
eq. 3, sums the data term over N samples). Gates and weights are trained together by the
reparameterisation gradient. At test time the gates are *deterministic* (eq. 13):

    z_hat = min(1, max(0, sigmoid(log_alpha) (zeta - gamma) + gamma))

and weights whose z_hat = 0 are pruned (mask), the rest are w * z_hat.

Defaults: beta = 2/3, gamma = -0.1, zeta = 1.1 (sec. 4, "we used beta = 2/3 ... gamma = -0.1, zeta = 1.1");
log_alpha initialised around log(1 - p) - log(p) with p = droprate_init = 0.5 and std 0.01 (the authors'
code, github.com/AMLab-Amsterdam/L0_regularization, ``droprate_init=0.5``). The sparsity is governed by
``lam`` (lambda); :func:`l0_train` reports the sparsity it reached. The gates have their own Adam step
``gate_lr`` (default 0.01, this implementation's choice: the paper trains for 200 epochs at one learning rate;
in a budget of one or two epochs log_alpha must travel from 0 past log(-gamma / (zeta - gamma)) ~ -2.4 to close
a gate, which Adam at 1e-3 cannot do in a few hundred steps).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ConfigError
from ..nn import Network
from ._common import (ArrayAdam, MethodResult, check_fraction, check_int, check_network, check_nonneg,
                      check_positive, check_real, minibatches, step_loss, train_arrays)

BETA = 2.0 / 3.0
GAMMA = -0.1
ZETA = 1.1
DROPRATE_INIT = 0.5


def _sigmoid(v: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * v))


def check_stretch(gamma: float, zeta: float) -> tuple[float, float]:
    g, z = check_real("gamma", gamma), check_real("zeta", zeta)
    if not (g < 0.0 and z > 1.0):
        raise ConfigError(f"hard-concrete stretch needs gamma < 0 < 1 < zeta, got gamma={gamma!r}, zeta={zeta!r}")
    return g, z


def sample_gates(log_alpha: np.ndarray, u: np.ndarray, beta: float = BETA, gamma: float = GAMMA,
                 zeta: float = ZETA) -> tuple[np.ndarray, np.ndarray]:
    """Training gates z (eq. 10) for uniform noise ``u`` in (0, 1), and dz/dlog_alpha."""
    s = _sigmoid((np.log(u) - np.log1p(-u) + log_alpha) / beta)
    sb = s * (zeta - gamma) + gamma
    z = np.clip(sb, 0.0, 1.0)
    dz = np.where((sb > 0) & (sb < 1), (zeta - gamma) * s * (1 - s) / beta, 0.0)
    return z, dz


def test_gates(log_alpha: np.ndarray, gamma: float = GAMMA, zeta: float = ZETA) -> np.ndarray:
    """Deterministic test-time gates (eq. 13): min(1, max(0, sigmoid(log_alpha)(zeta - gamma) + gamma))."""
    return np.clip(_sigmoid(log_alpha) * (zeta - gamma) + gamma, 0.0, 1.0)


def expected_l0(log_alpha: np.ndarray, beta: float = BETA, gamma: float = GAMMA, zeta: float = ZETA
                ) -> tuple[float, np.ndarray]:
    """Expected number of non-zero gates (eq. 12) and its gradient w.r.t. log_alpha."""
    p = _sigmoid(log_alpha - beta * np.log(-gamma / zeta))
    return float(p.sum()), p * (1 - p)


def l0_train(network: Network, train_data: Any, *, lam: float = 1.0, epochs: int = 1, lr: float = 1e-3,
             beta: float = BETA, gamma: float = GAMMA, zeta: float = ZETA, droprate_init: float = DROPRATE_INIT,
             gate_lr: float = 0.01, batch_size: int = 128, seed: int | np.random.Generator = 0
             ) -> tuple[Network, MethodResult]:
    """Train a copy of ``network`` with hard-concrete L0 gates (Adam on weights, biases and log_alpha) for
    ``epochs``; return it with the deterministic test-time gates folded in (w * z_hat; z_hat = 0 pruned).

    ``lam``: weight of the expected L0 norm per training sample (dimensionless, >= 0); ``beta`` > 0 the
    temperature; ``droprate_init`` in (0, 1) sets the initial log_alpha.
    """
    net = check_network(network).copy()
    lam = check_nonneg("lam (L0 penalty)", lam)
    beta = check_positive("beta (hard-concrete temperature)", beta)
    gamma, zeta = check_stretch(gamma, zeta)
    p0 = check_fraction("droprate_init", droprate_init, lo_open=True, hi_open=True)
    x, y = train_arrays(net, train_data)
    epochs = check_int("epochs", epochs, 1)
    bs = check_int("batch_size", batch_size, 1)
    rng = np.random.default_rng(seed)
    layers = net.weighted_layers()
    theta = [np.where(l.mask, l.weight, 0).astype(np.float64) for l in layers]
    bias = [l.bias.astype(np.float64) for l in layers]
    log_alpha = [np.log(1 - p0) - np.log(p0) + 0.01 * rng.standard_normal(t.shape) for t in theta]
    frozen = [~l.mask for l in layers]  # already pruned weights stay pruned
    for la, f in zip(log_alpha, frozen):
        la[f] = -50.0
    opt = ArrayAdam(theta + bias, lr)
    gate_opt = ArrayAdam(log_alpha, check_positive("gate_lr", gate_lr))
    n_train = len(x)
    batches = minibatches(len(x), bs, rng)
    steps = epochs * max(len(x) // bs, 1)
    hist = []
    for t in range(steps):
        idx = next(batches)
        zs, dzs = [], []
        for l, th, b, la in zip(layers, theta, bias, log_alpha):
            u = rng.uniform(1e-6, 1 - 1e-6, size=th.shape)
            z, dz = sample_gates(la, u, beta, gamma, zeta)
            zs.append(z)
            dzs.append(dz)
            l.weight[...] = th * z
            l.bias[...] = b
        step_loss(net, x[idx], y[idx])
        gw, gb, gla = [], [], []
        for l, th, z, dz, la, f in zip(layers, theta, zs, dzs, log_alpha, frozen):
            g = l.grad_weight.astype(np.float64)
            gw.append(np.where(f, 0.0, g * z))
            gb.append(l.grad_bias.astype(np.float64))
            _, dl0 = expected_l0(la, beta, gamma, zeta)
            gla.append(np.where(f, 0.0, g * th * dz + (lam / n_train) * dl0))
        opt.step(gw + gb)
        gate_opt.step(gla)
        if (t + 1) % max(steps // 8, 1) == 0:
            hist.append((t + 1, _gate_sparsity(log_alpha, gamma, zeta)))
    for l, th, b, la in zip(layers, theta, bias, log_alpha):
        zh = test_gates(la, gamma, zeta)
        l.mask = np.ones_like(l.mask)
        l.set_weight(th * zh, b)
        l.set_mask(zh > 0)
    n_active = sum(expected_l0(la, beta, gamma, zeta)[0] for la in log_alpha)
    return net, MethodResult("l0", net.sparsity(), steps, tuple(hist), (("expected_l0", n_active),))


def _gate_sparsity(log_alpha: list[np.ndarray], gamma: float, zeta: float) -> float:
    total = sum(la.size for la in log_alpha)
    return float(sum(int(np.count_nonzero(test_gates(la, gamma, zeta) == 0)) for la in log_alpha) / total)
