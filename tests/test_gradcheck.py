"""Analytic gradients of every layer against central finite differences, float64, 1e-6 relative."""
import numpy as np
import pytest

from hwsim.nn import AvgPool2d, Conv2d, Dense, Flatten, MaxPool2d, Network, ReLU, softmax_cross_entropy

RTOL = 1e-6
EPS = 1e-5  # float64 central differences: truncation O(EPS^2), round-off ~1e-16/EPS


def _rel_err(a, b):
    return np.max(np.abs(a - b) / np.maximum(np.maximum(np.abs(a), np.abs(b)), 1e-7))


def _numeric(f, arr):
    g = np.zeros_like(arr)
    it = np.nditer(arr, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = arr[i]
        arr[i] = old + EPS
        fp = f()
        arr[i] = old - EPS
        fm = f()
        arr[i] = old
        g[i] = (fp - fm) / (2 * EPS)
    return g


def _check_layer(layer, in_shape, seed=0):
    rng = np.random.default_rng(seed)
    layer.astype(np.float64)
    x = rng.standard_normal(in_shape)
    y0 = layer.forward(x, train=True)
    r = rng.standard_normal(y0.shape)
    loss = lambda: float(np.sum(layer.forward(x) * r))
    layer.forward(x, train=True)
    gx = layer.backward(r.copy())
    assert _rel_err(gx, _numeric(loss, x)) < RTOL
    for name, p, g in layer.params():
        layer.forward(x, train=True)
        layer.backward(r.copy())
        g = [q for n, _, q in layer.params() if n == name][0]
        assert _rel_err(g, _numeric(loss, p)) < RTOL, name


def test_dense_gradients():
    _check_layer(Dense(7, 5, seed=1), (4, 7))


@pytest.mark.parametrize("stride,pad", [(1, 0), (1, 1), (2, 1)])
def test_conv_gradients(stride, pad):
    _check_layer(Conv2d(2, 3, 3, stride=stride, padding=pad, seed=2), (2, 2, 6, 5))


def test_relu_gradients():
    _check_layer(ReLU(), (3, 11))


def test_maxpool_gradients():
    _check_layer(MaxPool2d(2), (2, 3, 6, 6))


def test_avgpool_gradients():
    _check_layer(AvgPool2d(2), (2, 3, 5, 6))


def test_flatten_gradients():
    _check_layer(Flatten(), (2, 3, 2, 2))


def test_masked_dense_gradient_is_zero_where_pruned():
    layer = Dense(6, 4, seed=3)
    mask = np.random.default_rng(0).random((4, 6)) > 0.5
    layer.set_mask(mask)
    _check_layer(layer, (3, 6))
    assert np.all(layer.grad_weight[~mask] == 0)


def test_full_network_with_softmax_cross_entropy():
    net = Network([Conv2d(1, 2, 3, padding=1, seed=1), ReLU(), MaxPool2d(2), Flatten(), Dense(2 * 3 * 3, 4, seed=2),
                   ReLU(), Dense(4, 3, seed=3)], (1, 6, 6)).astype(np.float64)
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 1, 6, 6))
    y = np.array([0, 2, 1])

    def loss():
        return softmax_cross_entropy(net.forward(x), y)[0]

    _, g = softmax_cross_entropy(net.forward(x, train=True), y)
    net.backward(g)
    analytic = [p[2].copy() for l in net.weighted_layers() for p in l.params()]
    params = [p[1] for l in net.weighted_layers() for p in l.params()]
    for a, p in zip(analytic, params):
        assert _rel_err(a, _numeric(loss, p)) < RTOL


def test_softmax_cross_entropy_gradient():
    rng = np.random.default_rng(1)
    z = rng.standard_normal((4, 5))
    y = np.array([0, 4, 2, 2])
    _, g = softmax_cross_entropy(z, y)
    assert _rel_err(g, _numeric(lambda: softmax_cross_entropy(z, y)[0], z)) < RTOL


@pytest.mark.parametrize("temperature", [1.0, 4.0])
def test_distillation_loss_gradient(temperature):
    from hwsim.nn import distillation_loss

    rng = np.random.default_rng(2)
    z, t = rng.standard_normal((4, 5)), 3 * rng.standard_normal((4, 5))
    loss, g = distillation_loss(z, t, temperature)
    assert loss > 0
    assert _rel_err(g, _numeric(lambda: distillation_loss(z, t, temperature)[0], z)) < RTOL


def test_distillation_loss_is_zero_for_matching_logits_and_checks_input():
    from hwsim.errors import DataError
    from hwsim.nn import distillation_loss

    z = np.random.default_rng(3).standard_normal((3, 4))
    loss, g = distillation_loss(z + 7.0, z, 2.0)  # a constant shift per row leaves the softmax unchanged
    assert abs(loss) < 1e-12 and np.abs(g).max() < 1e-15
    with pytest.raises(DataError, match="same 2-D"):
        distillation_loss(z, z[:2])
    with pytest.raises(DataError, match="temperature"):
        distillation_loss(z, z, 0.0)
