"""Network runtime: masks, training, matmul hook, input validation."""
import numpy as np
import pytest

from hwsim.errors import ConfigError, DataError
from hwsim.nn import SGD, Adam, Conv2d, Dense, Flatten, MaxPool2d, Network, ReLU, fit


def _tiny_net(seed=0):
    return Network([Conv2d(1, 3, 3, padding=1, name="c1", seed=seed), ReLU(), MaxPool2d(2), Flatten(),
                    Dense(3 * 4 * 4, 8, "d1", seed + 1), ReLU(), Dense(8, 3, "d2", seed + 2)], (1, 8, 8))


def _toy_data(n=240, seed=0):
    """Three classes: bright top, bright bottom, bright left half."""
    rng = np.random.default_rng(seed)
    x = rng.random((n, 1, 8, 8), dtype=np.float32) * 0.3
    y = rng.integers(0, 3, n)
    x[y == 0, :, :4, :] += 0.7
    x[y == 1, :, 4:, :] += 0.7
    x[y == 2, :, :, :4] += 0.7
    return x, y


def test_weight_matrices_and_mvm_counts():
    net = _tiny_net()
    ls = net.weighted_layers()
    assert [l.shape for l in ls] == [(3, 9), (8, 48), (3, 8)]
    assert [l.mvms_per_inference for l in ls] == [64, 1, 1]
    assert [m.name for m in net.matrix_layers()] == ["c1", "d1", "d2"]


@pytest.mark.parametrize("opt", [Adam, SGD])
def test_pruned_weights_stay_exactly_zero_through_training(opt):
    net = _tiny_net()
    rng = np.random.default_rng(1)
    masks = [rng.random(l.shape) > 0.6 for l in net.weighted_layers()]
    net.set_masks(masks)
    x, y = _toy_data()
    fit(net, x, y, epochs=3, batch_size=32, optimizer=opt(net, lr=0.01), seed=0)
    for l, m in zip(net.weighted_layers(), masks):
        assert np.all(l.weight[~m] == 0.0)
        assert np.any(l.weight[m] != 0.0)
    assert net.sparsity() == pytest.approx(1 - sum(m.sum() for m in masks) / sum(m.size for m in masks))


def test_training_learns_and_is_seeded():
    x, y = _toy_data()
    accs = []
    for _ in range(2):
        net = _tiny_net()
        fit(net, x, y, epochs=8, batch_size=32, optimizer=Adam(net, lr=0.01), seed=3)
        accs.append((net.accuracy(x, y), net.weighted_layers()[0].weight.copy()))
    assert accs[0][0] > 0.9
    np.testing.assert_array_equal(accs[0][1], accs[1][1])


def test_matmul_hook_replaces_the_product():
    net = _tiny_net()
    x, _ = _toy_data(10)
    calls = []

    def hook(i, cols):
        calls.append((i, cols.shape))
        return cols @ net.weighted_layers()[i].effective_weight().T

    np.testing.assert_allclose(net.forward(x, matmul=hook), net.forward(x), rtol=1e-6)
    assert [c[0] for c in calls] == [0, 1, 2]
    assert calls[0][1] == (10 * 64, 9)
    with pytest.raises(ConfigError, match="hook returned shape"):
        net.forward(x, matmul=lambda i, cols: cols)


@pytest.mark.parametrize("bad,match", [
    (np.zeros((2, 1, 7, 8), np.float32), "expects input of shape"),
    (np.zeros((2, 64), np.float32), "expects input of shape"),
    (np.zeros((2, 1, 8, 8), np.uint8), "dtype must be floating"),
    (np.full((2, 1, 8, 8), np.nan, np.float32), "NaN/inf"),
    (np.full((2, 1, 8, 8), np.inf, np.float32), "NaN/inf"),
])
def test_bad_input_is_a_clear_error(bad, match):
    with pytest.raises(DataError, match=match):
        _tiny_net().forward(bad)


def test_bad_weights_and_masks():
    net = _tiny_net()
    layer = net.weighted_layers()[1]
    with pytest.raises(DataError, match="NaN/inf"):
        layer.set_weight(np.full(layer.shape, np.nan))
    with pytest.raises(DataError, match="shape"):
        layer.set_weight(np.zeros((2, 2)))
    with pytest.raises(ConfigError, match="mask shape"):
        layer.set_mask(np.ones((2, 2), bool))
    with pytest.raises(ConfigError, match="masks for"):
        net.set_masks([np.ones((3, 9), bool)])


def test_bad_labels_and_empty_data():
    net = _tiny_net()
    x, y = _toy_data(20)
    with pytest.raises(DataError, match="labels must lie"):
        fit(net, x, y + 5)
    with pytest.raises(DataError, match="empty"):
        fit(net, x[:0], y[:0])
    with pytest.raises(DataError, match="labels"):
        fit(net, x, y.astype(float))


def test_layer_geometry_errors():
    with pytest.raises(ConfigError):
        Dense(0, 3)
    with pytest.raises(ConfigError):
        Conv2d(1, 2, 0)
    with pytest.raises(ConfigError, match="expects input"):
        Network([Dense(5, 2)], (4,))
    with pytest.raises(ConfigError, match="learning rate"):
        Adam(_tiny_net(), lr=-1)


def test_predict_refuses_nan_or_inf_logits():
    """A hook (hardware model) that overflows is an error from ``predict`` too, never silent NaN/inf logits."""
    net = _tiny_net()
    x, y = _toy_data(10)
    with np.errstate(over="ignore", invalid="ignore"):
        with pytest.raises(DataError, match="outputs overflowed: 10 of 10"):
            net.predict(x, matmul=lambda i, cols: np.full((len(cols), net.weighted_layers()[i].weight.shape[0]),
                                                          np.inf, np.float32))
        with pytest.raises(DataError, match="outputs overflowed: 10 of 10"):
            net.accuracy(x, y, matmul=lambda i, cols: np.full((len(cols), net.weighted_layers()[i].weight.shape[0]),
                                                              np.nan, np.float32))
    assert np.all(np.isfinite(net.predict(x)))


def test_wrapped_hooks_see_the_networks_own_pass_and_are_removed_even_on_error():
    from hwsim.nn.hooks import wrapped

    net = _tiny_net()
    x, _ = _toy_data(4)
    seen = []

    def spy(k, forward):
        def record(h, *args, **kw):
            out = forward(h, *args, **kw)
            seen.append((k, out.shape))
            return out
        return record

    with wrapped(net.weighted_layers(), "forward", spy):
        np.testing.assert_array_equal(net.forward(x), _tiny_net().forward(x))
    assert [k for k, _ in seen] == [0, 1, 2] and seen[-1][1] == (4, 3)
    with pytest.raises(ZeroDivisionError):
        with wrapped(net.weighted_layers(), "forward", spy):
            1 / 0
    assert all("forward" not in vars(l) for l in net.weighted_layers())  # the class methods again


def test_default_float_batch_keeps_the_im2col_matrix_small_and_changes_no_prediction():
    import models

    assert models.get("lenet-300-100").default_batch_size() == 1000  # 784 inputs: 2^21 / 784 > 1000
    assert models.get("lenet5").default_batch_size() == (1 << 21) // (25 * 28 * 28)  # conv1's 784 x 25 im2col
    assert models.get("resnet20").default_batch_size() == (1 << 21) // (144 * 28 * 28)
    net = models.get("lenet5")
    x = np.random.default_rng(0).random((300, 1, 28, 28), dtype=np.float32)
    assert np.allclose(net.predict(x), net.predict(x, batch_size=1000), rtol=1e-5, atol=1e-5)
