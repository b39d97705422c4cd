import numpy as np
import pytest

import hwsim


@pytest.fixture(scope="session", autouse=True)
def _warmup():
    """Compile every numba kernel once per session (cached on disk afterwards)."""
    hwsim.warmup()


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture(scope="session")
def fmnist_test():
    """The full Fashion-MNIST test set (needs the Debian package dataset-fashion-mnist or HWSIM_DATA_DIR)."""
    from models import fashion_mnist

    return fashion_mnist.load("test")
