"""Pruned networks on disk: ``.npz`` files with weights, biases and masks that ``hwsim cost --weights`` accepts.

The file layout is the one of DESIGN.md / :mod:`hwsim.weights_io`: one 2-D (out, in) array per weighted layer
in network order (pruned entries exactly 0), plus ``NAME.bias`` and ``NAME.mask`` companions.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import ConfigError
from ..nn import Network
from ..weights_io import read_weights
from .selection import check_masks


def apply_masks(network: Network, masks: Sequence[np.ndarray]) -> Network:
    """A copy of ``network`` with ``masks`` installed (pruned weights zeroed); ConfigError on wrong count/shape."""
    if not isinstance(network, Network):
        raise ConfigError(f"apply_masks needs a hwsim.nn.Network, got {type(network).__name__}")
    ms = check_masks(masks, [l.shape for l in network.weighted_layers()])
    out = network.copy()
    out.set_masks(ms)
    return out


def save(network: Network, path: str | Path) -> Path:
    """Write ``network`` (weights with exact zeros where pruned, biases, masks) to ``path`` (.npz); returns the path.

    The file is read back and checked, so a file this returns is one ``hwsim cost --weights`` accepts.
    """
    if not isinstance(network, Network):
        raise ConfigError(f"save needs a hwsim.nn.Network, got {type(network).__name__}")
    p = Path(path)
    if p.suffix != ".npz":
        raise ConfigError(f"pruned networks are saved as .npz, got {str(p)!r}")
    p.parent.mkdir(parents=True, exist_ok=True)
    network.save(p)
    wf = read_weights(p)
    if [w.shape for _, w in wf.weights] != [l.shape for l in network.weighted_layers()]:  # pragma: no cover
        raise ConfigError(f"{p}: saved shapes do not match the network")
    return p


def load(network: Network, path: str | Path) -> Network:
    """A copy of ``network`` (the architecture) with weights, biases and masks from ``path``."""
    if not isinstance(network, Network):
        raise ConfigError(f"load needs a hwsim.nn.Network as the architecture, got {type(network).__name__}")
    return network.copy().load(path)


def load_masks(path: str | Path) -> list[np.ndarray]:
    """Masks from a weights file, in file order (``NAME.mask`` where present, else weight != 0)."""
    wf = read_weights(path)
    return [wf.masks[k] if k in wf.masks else (w != 0) for k, w in wf.weights]
