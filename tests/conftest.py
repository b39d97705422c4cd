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


@pytest.fixture(scope="session")
def images100() -> np.ndarray:
    """100 Fashion-MNIST test images, or seeded random ones where the data set is not installed."""
    from hwsim.errors import DataError
    from models import fashion_mnist

    try:
        return fashion_mnist.load("test", limit=100)[0]
    except DataError:
        return np.random.default_rng(0).random((100, 1, 28, 28), dtype=np.float32)
