"""Shared pieces of the training-time pruning methods (issue 14): hyperparameter checks, dense gradients,
per-layer budgets, a small Adam on plain arrays, and the minibatch loop they all use.

Not public API: the method modules (:mod:`.grda`, :mod:`.deep_r`, :mod:`.l0`, :mod:`.obs`, :mod:`.gsp`,
:mod:`.nest`, :mod:`.koopman`, :mod:`.dst`) build on it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterator, Optional, Sequence

import numpy as np

from ..errors import ConfigError
from ..nn import Network, softmax_cross_entropy
from ..nn.im2col import support
from .criteria import check_data


@dataclass(frozen=True)
class MethodResult:
    """What a training-time pruning method returns besides the network."""

    method: str
    sparsity: float
    """Achieved fraction of pruned weights (exact zeros) over all weight matrices."""
    steps: int
    """Minibatch steps of training done by the method (0 for one-shot methods)."""
    history: tuple[tuple[int, float], ...] = field(default_factory=tuple)
    """(step, sparsity) after every mask update or logging point."""
    extra: tuple[tuple[str, float], ...] = field(default_factory=tuple)
    """Method-specific scalars (name, value), e.g. the final gRDA threshold."""


# ---- checks ----------------------------------------------------------------------------------------------------

def check_real(name: str, v: Any) -> float:
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise ConfigError(f"{name} must be a number, got {v!r}")
    f = float(v)
    if not math.isfinite(f):
        raise ConfigError(f"{name} must be finite, got {v!r}")
    return f


def check_positive(name: str, v: Any) -> float:
    f = check_real(name, v)
    if not f > 0:
        raise ConfigError(f"{name} must be > 0, got {v!r}")
    return f


def check_nonneg(name: str, v: Any) -> float:
    f = check_real(name, v)
    if f < 0:
        raise ConfigError(f"{name} must be >= 0, got {v!r}")
    return f


def check_fraction(name: str, v: Any, lo_open: bool = False, hi_open: bool = False) -> float:
    """``v`` in [0, 1] (ends open as asked) or :class:`ConfigError` naming the value and the range."""
    f = check_real(name, v)
    lo_ok = f > 0 if lo_open else f >= 0
    hi_ok = f < 1 if hi_open else f <= 1
    if not (lo_ok and hi_ok):
        rng = ("(" if lo_open else "[") + "0, 1" + (")" if hi_open else "]")
        raise ConfigError(f"{name} must lie in {rng}, got {v!r}")
    return f


def check_int(name: str, v: Any, minimum: int) -> int:
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
        raise ConfigError(f"{name} must be an integer >= {minimum}, got {v!r}")
    if int(v) < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}, got {v!r}")
    return int(v)


def check_network(network: Any) -> Network:
    """``network`` if it is a Network with weighted layers, else :class:`ConfigError`."""
    from .criteria import _check_network

    return _check_network(network)


def train_arrays(network: Network, data: Any) -> tuple[np.ndarray, np.ndarray]:
    x, y = check_data(network, data, labels=True)
    assert y is not None
    return x, y


# ---- budgets, masks, gradients -----------------------------------------------------------------------------------

def layer_support(layer: Any) -> np.ndarray:
    """Where ``layer``'s matrix holds real weights (bool, its shape): all of it, except the structural zeros
    between the groups of a grouped convolution (:func:`hwsim.nn.im2col.support`). Growth and budgets stay on it."""
    sup = support(layer)
    return np.ones(layer.weight.shape, dtype=bool) if sup is None else sup


def layer_budgets(network: Network, sparsity: float) -> list[int]:
    """Weights kept per layer at a uniform per-layer ``sparsity`` of its real weights (at least 1 per layer, so no
    layer is cut)."""
    return [max(1, int(round((1.0 - sparsity) * int(layer_support(l).sum())))) for l in network.weighted_layers()]


def random_masks(network: Network, budgets: Sequence[int], rng: np.random.Generator) -> list[np.ndarray]:
    """One uniformly random mask per layer with exactly ``budgets[i]`` kept real weights."""
    out = []
    for l, k in zip(network.weighted_layers(), budgets):
        m = np.zeros(l.weight.size, dtype=bool)
        m[rng.choice(np.flatnonzero(layer_support(l)), size=int(k), replace=False)] = True
        out.append(m.reshape(l.weight.shape))
    return out


def fixed_budget_masks(network: Network, budgets: Sequence[int], from_init: bool, rng: np.random.Generator
                       ) -> list[np.ndarray]:
    """Starting connectivity of a fixed-budget method: uniformly random (``from_init``, as sparse-from-scratch
    papers start) or the largest magnitudes of the network's weights; exactly ``budgets[i]`` per layer."""
    if from_init:
        return random_masks(network, budgets, rng)
    return [top_k_mask(np.abs(l.effective_weight()), k, allowed=layer_support(l))
            for l, k in zip(network.weighted_layers(), budgets)]


def top_k_mask(score: np.ndarray, k: int, allowed: Optional[np.ndarray] = None) -> np.ndarray:
    """Bool mask of the ``k`` highest scores (among ``allowed`` entries when given); ties broken by position."""
    s = np.asarray(score, dtype=np.float64).ravel().copy()
    if allowed is not None:
        s[~np.asarray(allowed).ravel()] = -np.inf
        k = min(int(k), int(np.count_nonzero(allowed)))
    out = np.zeros(s.size, dtype=bool)
    if k > 0:
        idx = np.argpartition(-s, k - 1)[:k] if k < s.size else np.arange(s.size)
        out[idx] = True
    return out.reshape(np.shape(score))


def step_loss(net: Network, xb: np.ndarray, yb: np.ndarray) -> float:
    """Forward + backward on one batch (fills every layer's gradients, zero on masked entries); the loss."""
    logits = net.forward(xb, train=True, validate=False)
    loss, g = softmax_cross_entropy(logits, yb)
    net.backward(g)
    return float(loss)


def dense_gradients(net: Network, xb: np.ndarray, yb: np.ndarray) -> list[np.ndarray]:
    """Gradient of the batch loss w.r.t. *every* weight entry, pruned ones included (they are 0, so the function is
    the same); masks are restored afterwards. What RigL, NeST and GraSP-style growth rank dormant weights by."""
    layers = net.weighted_layers()
    saved = [l.mask for l in layers]
    for l in layers:
        l.mask = np.ones_like(l.mask)
    try:
        step_loss(net, xb, yb)
        return [l.grad_weight.astype(np.float64) for l in layers]
    finally:
        for l, m in zip(layers, saved):
            l.mask = m


def minibatches(n: int, batch_size: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Endless shuffled minibatch indices, a fresh permutation every epoch (last partial batch dropped)."""
    while True:
        order = rng.permutation(n)
        for i in range(0, max(n - batch_size + 1, 1), batch_size):
            yield order[i:i + batch_size]


def cosine(t: int, total: int) -> float:
    """0.5 (1 + cos(pi t / total)), clamped to [0, 1] (1 at t = 0, 0 at t >= total)."""
    if total <= 0:
        return 0.0
    return 0.5 * (1.0 + math.cos(math.pi * min(max(t / total, 0.0), 1.0)))


class ArrayAdam:
    """Adam (Kingma & Ba, ICLR 2015, Algorithm 1) on a list of plain arrays updated in place."""

    def __init__(self, params: Sequence[np.ndarray], lr: float, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8):
        self.params = list(params)
        self.lr, self.b1, self.b2, self.eps = float(lr), beta1, beta2, eps
        self.m = [np.zeros_like(p) for p in self.params]
        self.v = [np.zeros_like(p) for p in self.params]
        self.t = 0

    def step(self, grads: Sequence[np.ndarray]) -> None:
        self.t += 1
        c1, c2 = 1 - self.b1 ** self.t, 1 - self.b2 ** self.t
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            m *= self.b1
            m += (1 - self.b1) * g
            v *= self.b2
            v += (1 - self.b2) * g * g
            p -= (self.lr * (m / c1) / (np.sqrt(v / c2) + self.eps)).astype(p.dtype, copy=False)
