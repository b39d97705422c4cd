import numpy as np
import pytest

from hwsim.nn import Dense, Network, ReLU


def make_dense(w, b=None, name="fc"):
    """A one-layer float64 network y = x W^T + b on inputs of shape (in,)."""
    w = np.asarray(w, dtype=np.float64)
    net = Network([Dense(w.shape[1], w.shape[0], name)], (w.shape[1],), name="tiny")
    net.astype(np.float64)
    net.weighted_layers()[0].set_weight(w, None if b is None else np.asarray(b, dtype=np.float64))
    return net


def make_mlp(sizes=(8, 6, 4), seed=0, dtype=np.float64):
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(Dense(a, b, f"fc{i + 1}", seed=seed + i))
        if i < len(sizes) - 2:
            layers.append(ReLU())
    net = Network(layers, (sizes[0],), name="mlp")
    return net.astype(dtype)


def blobs(n=200, d=8, k=4, seed=0):
    """A linearly separable-ish synthetic classification set: (x float64 (n, d), y int64 (n,))."""
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((k, d)) * 3
    y = rng.integers(0, k, n)
    x = centers[y] + rng.standard_normal((n, d))
    return x.astype(np.float64), y.astype(np.int64)


@pytest.fixture(scope="session")
def have_data():
    """Skip when Fashion-MNIST is not installed (the CI installs dataset-fashion-mnist)."""
    from models import fashion_mnist

    try:
        fashion_mnist.find_data_dir()
    except Exception:  # pragma: no cover
        pytest.skip("Fashion-MNIST not installed")


@pytest.fixture
def tiny_mlp():
    return make_mlp()


@pytest.fixture
def tiny_data():
    return blobs()
