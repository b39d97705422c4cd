"""Evaluate a network *through* the photonic hardware: reconstructed meshes with non-idealities.

For each ``run`` call, one static chip instance is drawn from ``seed``: every programmed phase is rounded
to the heater DAC grid 2pi/2^bits (``noise.phase_bits``, 0 = continuous), then a Gaussian phase error of
standard deviation ``noise.phase_noise_rad`` is added (fabrication / thermal crosstalk; pruned phases get it
too), and every directional coupler's cross-power is 0.5 + N(0, ``noise.bs_imbalance``) clipped to [0, 1].
The layer matrix is gain x Re(U A V) per tile (homodyne detection of the in-phase quadrature); the network's
``forward`` then computes ``cols @ W_hw.T`` for each weighted layer and adds the bias itself.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from ..errors import ConfigError, DataError
from .config import NoiseConfig
from .mapping import LayerMapping, PhotonicMapping, layer_matrix


def _rng(seed: Any) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or (isinstance(seed, (int, np.integer)) and not isinstance(seed, bool)):
        return np.random.default_rng(seed)
    raise ConfigError(f"seed must be an int, a numpy Generator or None, got {seed!r}")


def noisy_phases(phases: np.ndarray, noise: NoiseConfig, rng: np.random.Generator) -> np.ndarray:
    """Quantized then noisy copy of ``phases`` (rad)."""
    p = np.asarray(phases, dtype=np.float64)
    if noise.phase_bits:
        step = 2 * math.pi / (1 << noise.phase_bits)
        p = np.mod(np.round(p / step) * step, 2 * math.pi)
    if noise.phase_noise_rad > 0:
        p = p + rng.normal(0.0, noise.phase_noise_rad, size=p.shape)
    return p


def hardware_matrix(layer: LayerMapping, noise: NoiseConfig | None = None, seed: Any = None) -> np.ndarray:
    """The (out, in) matrix this layer's meshes implement on one chip instance drawn from ``seed``."""
    noise = noise or NoiseConfig()
    rng = _rng(seed)
    ph = noisy_phases(layer.phases, noise, rng) if (noise.phase_bits or noise.phase_noise_rad > 0) else layer.phases
    kappa = None
    if noise.bs_imbalance > 0 and layer.tiles:
        k = layer.tile
        ncoup = 2 * k * (k - 1) + 2 * k
        kappa = np.clip(0.5 + rng.normal(0.0, noise.bs_imbalance, size=(layer.tiles, ncoup)), 0.0, 1.0)
    return layer_matrix(layer, ph, kappa)


def _hook(mapping: PhotonicMapping, seed: Any, noise: NoiseConfig | None):
    net = mapping.network
    if net is None:
        raise ConfigError("this mapping has no network (it was mapped from shapes or bare matrices); "
                          "map a hwsim.nn.Network to run it")
    noise = mapping.config.noise if noise is None else noise
    rng = _rng(seed)
    n_layers = len(mapping.layers)
    # one independent stream per layer, so a layer's chip instance does not depend on evaluation order
    seeds = rng.integers(0, 2**63 - 1, size=n_layers)
    cache: dict[int, np.ndarray] = {}

    def hook(index: int, cols: np.ndarray) -> np.ndarray:
        if not 0 <= index < n_layers:
            raise DataError(f"layer index {index} out of range for a mapping of {n_layers} layers")
        w = cache.get(index)
        if w is None:
            w = hardware_matrix(mapping.layers[index], noise, np.random.default_rng(int(seeds[index])))
            w = w.astype(cols.dtype if cols.dtype.kind == "f" else np.float64)
            cache[index] = w
        return cols @ w.T

    return hook


def _checked_hook(mapping: PhotonicMapping, seed: Any, noise: NoiseConfig | None, batch_size: Any):
    if not isinstance(mapping, PhotonicMapping):
        raise ConfigError(f"expected a PhotonicMapping, got {type(mapping).__name__}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigError(f"batch_size must be a positive integer, got {batch_size!r}")
    return _hook(mapping, seed, noise)


def run(mapping: PhotonicMapping, x: np.ndarray, *, seed: Any = 0, batch_size: int = 1000,
        noise: NoiseConfig | None = None) -> np.ndarray:
    """Logits of the mapped network on ``x`` evaluated through the hardware (noise from the config unless
    ``noise`` is given; same seed, same result)."""
    hook = _checked_hook(mapping, seed, noise, batch_size)
    return mapping.network.predict(x, matmul=hook, batch_size=batch_size)


def accuracy(mapping: PhotonicMapping, x: np.ndarray, y: np.ndarray, *, seed: Any = 0,
             noise: NoiseConfig | None = None, batch_size: int = 1000) -> float:
    """Top-1 accuracy (fraction in [0, 1]) of the mapped network evaluated through the hardware."""
    hook = _checked_hook(mapping, seed, noise, batch_size)
    return mapping.network.accuracy(x, y, matmul=hook, batch_size=batch_size)


def with_noise(mapping: PhotonicMapping, **changes: Any) -> PhotonicMapping:
    """The same mapping with some noise fields changed (e.g. ``phase_noise_rad=0.01``)."""
    cfg = mapping.config
    return dataclasses.replace(mapping, config=dataclasses.replace(cfg, noise=dataclasses.replace(cfg.noise, **changes)))
