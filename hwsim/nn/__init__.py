"""Numpy network runtime: layers as 2-D weight matrices with masks, forward/backward, training."""
from __future__ import annotations

import numpy as np

from .layers import AvgPool2d, Conv2d, Dense, Flatten, Layer, MatmulHook, MaxPool2d, ReLU, WeightedLayer
from .loss import distillation_loss, softmax, softmax_cross_entropy
from .network import Network
from .graph import GraphNetwork
from .optim import SGD, Adam, Optimizer
from .train import EpochLog, TrainLog, check_dataset, crop_and_flip, fit

__all__ = ["AvgPool2d", "Conv2d", "Dense", "Flatten", "Layer", "MatmulHook", "MaxPool2d", "ReLU", "WeightedLayer",
           "distillation_loss", "softmax", "softmax_cross_entropy", "Network", "GraphNetwork", "SGD", "Adam", "Optimizer",
           "EpochLog", "TrainLog", "check_dataset", "crop_and_flip", "fit", "warmup"]


def warmup() -> None:
    """Compile the runtime's kernels for float32 and float64 on tiny inputs."""
    for dtype in (np.float32, np.float64):
        net = Network([Conv2d(1, 2, 3, padding=1), ReLU(), MaxPool2d(2), Flatten(), Dense(8, 2)], (1, 4, 4))
        net.astype(dtype)
        x = np.zeros((1, 1, 4, 4), dtype=dtype)
        net.forward(x, train=True)
        net.backward(np.ones((1, 2), dtype=dtype))
