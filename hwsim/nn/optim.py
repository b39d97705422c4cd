"""Optimizers: SGD with momentum and Adam. Both keep pruned weights exactly zero."""
from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import numpy as np

from ..errors import ConfigError

#: Callables run after every optimizer step with the optimizer (progress reports: :func:`on_step`).
_STEP_HOOKS: list[Callable[["Optimizer"], None]] = []


@contextlib.contextmanager
def on_step(callback: Callable[["Optimizer"], None]) -> Iterator[None]:
    """Within the block, ``callback(optimizer)`` runs after every :meth:`Optimizer.step` of any training loop (how the
    CLI shows epochs of fine-tuning without each schedule taking a progress argument)."""
    _STEP_HOOKS.append(callback)
    try:
        yield
    finally:
        _STEP_HOOKS.remove(callback)


class Optimizer:
    def __init__(self, network, lr: float):
        if not (lr > 0 and np.isfinite(lr)):
            raise ConfigError(f"learning rate must be a positive finite number, got {lr}")
        self.network = network
        self.lr = float(lr)
        self._state: dict[int, dict[str, np.ndarray]] = {}

    def _update(self, key: int, p: np.ndarray, g: np.ndarray) -> None:
        raise NotImplementedError

    def step(self) -> None:
        for layer in self.network.layers:  # weighted layers and any other layer that learns (batch norm)
            for pname, p, g in layer.params():
                self._update(id(p), p, g)
        for layer in self.network.weighted_layers():
            layer.weight[~layer.mask] = 0.0
        for hook in _STEP_HOOKS:
            hook(self)


class SGD(Optimizer):
    """SGD with (heavy-ball) momentum and decoupled-free L2 weight decay."""

    def __init__(self, network, lr: float = 0.01, momentum: float = 0.9, weight_decay: float = 0.0):
        super().__init__(network, lr)
        if not 0 <= momentum < 1:
            raise ConfigError(f"momentum must lie in [0, 1), got {momentum}")
        self.momentum, self.weight_decay = float(momentum), float(weight_decay)

    def _update(self, key: int, p: np.ndarray, g: np.ndarray) -> None:
        if self.weight_decay:
            g = g + self.weight_decay * p
        st = self._state.setdefault(key, {"v": np.zeros_like(p)})
        v = st["v"]
        v *= self.momentum
        v += g
        p -= self.lr * v


class Adam(Optimizer):
    """Adam (Kingma & Ba, ICLR 2015)."""

    def __init__(self, network, lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
                 weight_decay: float = 0.0):
        super().__init__(network, lr)
        if not (0 <= beta1 < 1 and 0 <= beta2 < 1):
            raise ConfigError(f"Adam betas must lie in [0, 1), got {beta1}, {beta2}")
        self.beta1, self.beta2, self.eps, self.weight_decay = float(beta1), float(beta2), float(eps), float(weight_decay)
        self.t = 0

    def step(self) -> None:
        self.t += 1
        super().step()

    def _update(self, key: int, p: np.ndarray, g: np.ndarray) -> None:
        if self.weight_decay:
            g = g + self.weight_decay * p
        st = self._state.setdefault(key, {"m": np.zeros_like(p), "v": np.zeros_like(p)})
        m, v = st["m"], st["v"]
        m *= self.beta1
        m += (1 - self.beta1) * g
        v *= self.beta2
        v += (1 - self.beta2) * g * g
        mhat = m / (1 - self.beta1 ** self.t)
        vhat = v / (1 - self.beta2 ** self.t)
        p -= self.lr * mhat / (np.sqrt(vhat) + self.eps)
