"""The LeNet family (LeCun et al. 1998; LeNet-300-100 as in Han et al., NeurIPS 2015)."""
from __future__ import annotations

import numpy as np

from hwsim.nn import Conv2d, Dense, Flatten, MaxPool2d, Network, ReLU

from .fashion_mnist import CLASSES


def lenet_300_100(seed: int = 0) -> Network:
    """784-300-100-10 MLP with ReLU; takes (n, 1, 28, 28) images."""
    ss = np.random.SeedSequence(seed).spawn(3)
    return Network([Flatten(), Dense(784, 300, "fc1", ss[0]), ReLU(), Dense(300, 100, "fc2", ss[1]), ReLU(),
                    Dense(100, 10, "fc3", ss[2])], (1, 28, 28), name="lenet-300-100", classes=CLASSES)


def lenet5(seed: int = 0) -> Network:
    """LeNet-5 with ReLU and max pooling: conv 6@5x5 (pad 2) - pool - conv 16@5x5 - pool - 120 - 84 - 10."""
    ss = np.random.SeedSequence(seed).spawn(5)
    return Network([Conv2d(1, 6, 5, padding=2, name="conv1", seed=ss[0]), ReLU(), MaxPool2d(2),
                    Conv2d(6, 16, 5, name="conv2", seed=ss[1]), ReLU(), MaxPool2d(2), Flatten(),
                    Dense(400, 120, "fc1", ss[2]), ReLU(), Dense(120, 84, "fc2", ss[3]), ReLU(),
                    Dense(84, 10, "fc3", ss[4])], (1, 28, 28), name="lenet5", classes=CLASSES)
