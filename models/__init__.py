"""The hwsim model zoo: trainable LeNets with shipped Fashion-MNIST weights, and shape-only large networks.

``models.get(name)`` returns a :class:`hwsim.nn.Network` (trainable, ``pretrained=True`` loads the shipped
weights) or a :class:`models.shapes.ShapeNetwork` (shapes and MVM counts only, synthetic weights).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Union

from hwsim.errors import ConfigError, DataError
from hwsim.nn import Network

from . import shapes
from .lenet import lenet5, lenet_300_100
from .shapes import ShapeNetwork

WEIGHTS_DIR = Path(__file__).parent / "weights"

_TRAINABLE: dict[str, Callable[..., Network]] = {"lenet-300-100": lenet_300_100, "lenet5": lenet5}
_SHAPES: dict[str, Callable[[], ShapeNetwork]] = {"vgg16": shapes.vgg16, "resnet18": shapes.resnet18,
                                                  "resnet50": shapes.resnet50,
                                                  "bert-base-block": shapes.bert_base_block}

Model = Union[Network, ShapeNetwork]


def names() -> list[str]:
    """Registered model names."""
    return list(_TRAINABLE) + list(_SHAPES)


def get(name: str, pretrained: bool = False, seed: int = 0) -> Model:
    """Build a registered model. ``pretrained`` loads the shipped weights (LeNets only)."""
    if name in _TRAINABLE:
        net = _TRAINABLE[name](seed=seed)
        if pretrained:
            path = WEIGHTS_DIR / f"{name}.npz"
            if not path.is_file():
                raise DataError(f"shipped weights {path} are missing; reinstall hwsim or run "
                                "'python -m models.train_pretrained'")
            net.load(path)
        return net
    if name in _SHAPES:
        if pretrained:
            raise ConfigError(f"model {name!r} is shape-only: it has no pretrained weights")
        return _SHAPES[name]()
    raise ConfigError(f"unknown model {name!r}; available: {', '.join(names())}")


@dataclass(frozen=True)
class ModelInfo:
    name: str
    kind: str
    """'trainable' or 'shapes'."""
    layers: int
    """Weighted layers (2-D matrices)."""
    weights: int
    params: int
    """Weights plus biases."""
    mvms_per_inference: int
    pretrained: bool


def info(name: str) -> ModelInfo:
    m = get(name)
    trainable = isinstance(m, Network)
    n_layers = len(m.weighted_layers()) if trainable else len(m.layers)
    return ModelInfo(name, "trainable" if trainable else "shapes", n_layers, m.num_weights(), m.num_params(),
                     m.mvms_per_inference(), trainable and (WEIGHTS_DIR / f"{name}.npz").is_file())
