"""Numpy network runtime: layers as 2-D weight matrices with masks, forward/backward, training."""
from __future__ import annotations

import numpy as np

from .layers import AvgPool2d, Conv2d, Dense, Flatten, Layer, MatmulHook, MaxPool2d, ReLU, WeightedLayer
from .loss import distillation_loss, softmax, softmax_cross_entropy
from .network import Network
from .optim import SGD, Adam, Optimizer
from .train import EpochLog, TrainLog, check_dataset, fit

__all__ = ["AvgPool2d", "Conv2d", "Dense", "Flatten", "Layer", "MatmulHook", "MaxPool2d", "ReLU", "WeightedLayer",
           "distillation_loss", "softmax", "softmax_cross_entropy", "Network", "SGD", "Adam", "Optimizer", "EpochLog",
           "TrainLog", "check_dataset", "fit"]
