"""Network evaluated through the photonic hardware (LeNet-300-100 on Fashion-MNIST)."""
import numpy as np
import pytest

from hwsim.errors import ConfigError, DataError
from hwsim.photonic import NoiseConfig, accuracy, hardware_matrix, map, resolve_config, run

models = pytest.importorskip("models")


@pytest.fixture(scope="module")
def lenet_mapping():
    net = models.get("lenet-300-100", pretrained=True)
    return net, map(net, resolve_config("ideal"))  # the default preset carries a built chip's phase noise


def test_noise_free_accuracy_equals_float(lenet_mapping, fmnist_test):
    net, m = lenet_mapping
    x, y = fmnist_test
    assert abs(accuracy(m, x, y, seed=0) - net.accuracy(x, y)) <= 0.001


def test_noise_free_logits_match_float(lenet_mapping, fmnist_test):
    net, m = lenet_mapping
    x, _ = fmnist_test
    assert np.allclose(run(m, x[:200], seed=0), net.predict(x[:200]), atol=1e-4)


def test_seeded_noise_is_reproducible_and_degrades(lenet_mapping, fmnist_test):
    _, m = lenet_mapping
    x, y = fmnist_test
    noise = NoiseConfig(phase_noise_rad=0.2, phase_bits=6, bs_imbalance=0.02)
    a = run(m, x[:300], seed=3, noise=noise)
    b = run(m, x[:300], seed=3, noise=noise)
    c = run(m, x[:300], seed=4, noise=noise)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert accuracy(m, x[:1000], y[:1000], seed=3, noise=noise) < accuracy(m, x[:1000], y[:1000], seed=3) - 0.05


def test_hardware_matrix_error_grows_with_phase_noise(lenet_mapping):
    _, m = lenet_mapping
    layer = m.layers[2]
    w = hardware_matrix(layer)
    errs = [np.linalg.norm(hardware_matrix(layer, NoiseConfig(phase_noise_rad=s), seed=1) - w) for s in (0.01, 0.05, 0.2)]
    assert errs[0] < errs[1] < errs[2]


def test_run_without_network():
    m = map([np.ones((3, 3))], resolve_config(tile=2))
    with pytest.raises(ConfigError, match="no network"):
        run(m, np.zeros((1, 3)))


def test_bad_seed(lenet_mapping, fmnist_test):
    _, m = lenet_mapping
    with pytest.raises(ConfigError, match="seed"):
        run(m, fmnist_test[0][:2], seed="x")


def test_bad_labels(lenet_mapping, fmnist_test):
    _, m = lenet_mapping
    with pytest.raises(DataError, match="labels"):
        accuracy(m, fmnist_test[0][:5], np.zeros(4, int))


def test_bad_batch_size(lenet_mapping, fmnist_test):
    _, m = lenet_mapping
    with pytest.raises(ConfigError, match="batch_size"):
        run(m, fmnist_test[0][:5], batch_size=0)
