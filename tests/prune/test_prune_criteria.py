"""Every criterion on a tiny network with a hand-checkable answer, and bad input."""
import numpy as np
import pytest
from conftest import make_dense, make_mlp, blobs

import hwsim.prune as hp
from hwsim.errors import ConfigError, DataError
from hwsim.nn import Dense, Network, ReLU

# W x = [1, 1] for x = [1, 2]: p = [0.5, 0.5], dL/dlogits = [-0.5, 0.5], dL/dW = outer(., x)
W = np.array([[1.0, 0.0], [0.0, 0.5]])
X = np.array([[1.0, 2.0]])
Y = np.array([0])
G = np.array([[-0.5, -1.0], [0.5, 1.0]])


def test_magnitude_is_abs_weight_and_respects_mask():
    net = make_dense([[1.0, -3.0], [0.5, 2.0]])
    net.set_masks([np.array([[True, True], [False, True]])])
    (s,) = hp.score(net, None, "magnitude")
    np.testing.assert_array_equal(s, [[1.0, 3.0], [0.0, 2.0]])


def test_random_is_seeded_uniform():
    net = make_mlp()
    a, b, c = hp.score(net, None, "random", seed=3), hp.score(net, None, "random", seed=3), hp.score(net, None, "random", seed=4)
    for x, y, z, l in zip(a, b, c, net.weighted_layers()):
        assert x.shape == l.weight.shape
        np.testing.assert_array_equal(x, y)
        assert not np.array_equal(x, z)
        assert x.min() >= 0 and x.max() < 1


def test_gradient_hand_case():
    (s,) = hp.score(make_dense(W), (X, Y), "gradient")
    np.testing.assert_allclose(s, np.abs(G), atol=1e-12)


def test_gradient_does_not_depend_on_batch_size():
    net, (x, y) = make_mlp(), blobs(50)
    a = hp.score(net, (x, y), "gradient", batch_size=7)
    b = hp.score(net, (x, y), "gradient", batch_size=50)
    for u, v in zip(a, b):
        np.testing.assert_allclose(u, v, rtol=1e-10, atol=1e-14)


def test_taylor_hand_case():
    (s,) = hp.score(make_dense(W), (X, Y), "taylor")
    np.testing.assert_allclose(s, [[0.5, 0.0], [0.0, 0.5]], atol=1e-12)


def test_snip_is_normalised_connection_sensitivity():
    (s,) = hp.score(make_dense(W), (X, Y), "snip")
    np.testing.assert_allclose(s, [[0.5, 0.0], [0.0, 0.5]], atol=1e-12)  # |w g| sums to 1 already
    net, data = make_mlp(), blobs(60)
    s = hp.score(net, data, "snip")
    assert abs(sum(a.sum() for a in s) - 1.0) < 1e-12
    t = hp.score(net, data, "taylor")
    ratio = s[0].ravel()[np.argmax(t[0])] / t[0].max()
    for a, b in zip(s, t):
        np.testing.assert_allclose(a, b * ratio, rtol=1e-9)


def test_grad_magnitude_joint_quantile_hand_case():
    (s,) = hp.score(make_dense(W), (X, Y), "grad_magnitude")
    # ECDF(|W|) = [[1, .5], [.5, .75]], ECDF(|G|) = [[.5, 1], [.5, 1]]
    np.testing.assert_allclose(s, [[1.0, 1.0], [0.5, 1.0]])
    (m,) = hp.select([s], 0.25)
    np.testing.assert_array_equal(m, [[True, True], [False, True]])  # the only weight small in both


def test_grad_magnitude_explicit_thresholds():
    (s,) = hp.score(make_dense(W), (X, Y), "grad_magnitude", thresholds=(0.6, 0.6))
    np.testing.assert_allclose(s, [[1 / 0.6, 1 / 0.6], [0.5 / 0.6, 1 / 0.6]])
    assert np.argwhere(s < 1).tolist() == [[1, 0]]


def _exact_hg(w, b, x, y):
    """Exact Hessian-gradient product of softmax regression (weights and biases), the GraSP hand case."""
    n = len(x)
    z = x @ w.T + b
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    d = p.copy()
    d[np.arange(n), y] -= 1
    d /= n
    gw, gb = d.T @ x, d.sum(0)
    hg = np.zeros_like(w)
    for i in range(n):
        v = gw @ x[i] + gb
        u = p[i] * v - p[i] * (p[i] @ v)  # (diag(p) - p p^T) v
        hg += np.outer(u, x[i]) / n
    return gw, hg


def test_grasp_hessian_gradient_product_matches_exact_softmax_regression():
    rng = np.random.default_rng(0)
    w, b = rng.standard_normal((3, 4)), rng.standard_normal(3)
    x, y = rng.standard_normal((7, 4)), rng.integers(0, 3, 7)
    gw, hg = _exact_hg(w, b, x, y)
    net = make_dense(w, b)
    (g_fd,), (hg_fd,) = hp.hessian_gradient_product(net, (x, y))
    np.testing.assert_allclose(g_fd, gw, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(hg_fd, hg, rtol=1e-5, atol=1e-9)
    (s,) = hp.score(net, (x, y), "grasp")
    np.testing.assert_allclose(s, w * hg, rtol=1e-5, atol=1e-9)


def test_grasp_temperature_scales_logits():
    rng = np.random.default_rng(1)
    w, b = rng.standard_normal((3, 4)), rng.standard_normal(3)
    x, y = rng.standard_normal((5, 4)), rng.integers(0, 3, 5)
    # logits / T is softmax regression with W/T, b/T; chain rule: Hg_T(W) = Hg(W/T, b/T) / T^3
    _, hg = _exact_hg(w / 4, b / 4, x, y)
    (s,) = hp.score(make_dense(w, b), (x, y), "grasp", temperature=4.0)
    np.testing.assert_allclose(s, w * hg / 64, rtol=1e-5, atol=1e-10)


def test_l2_is_row_norm_broadcast():
    (s,) = hp.score(make_dense([[3.0, 4.0], [0.0, 1.0]]), None, "l2")
    np.testing.assert_allclose(s, [[5.0, 5.0], [1.0, 1.0]])


def _act_net():
    net = Network([Dense(2, 3, "a"), ReLU(), Dense(3, 2, "b")], (2,)).astype(np.float64)
    net.weighted_layers()[0].set_weight(np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]]), np.zeros(3))
    net.weighted_layers()[1].set_weight(np.array([[1.0, 1.0, 1.0], [0.0, -1.0, 0.0]]), np.zeros(2))
    return net


def test_mean_activation_and_apoz_hand_case():
    x = np.array([[1.0, 2.0], [3.0, -1.0]])
    # layer a: pre-activations [[1, 2, -3], [3, -1, -2]] -> ReLU [[1, 2, 0], [3, 0, 0]]
    s = hp.score(_act_net(), (x, np.array([0, 1])), "mean_activation")
    np.testing.assert_allclose(s[0], np.repeat([[2.0], [1.0], [0.0]], 2, axis=1))
    # layer b (no ReLU after it: raw outputs): [[3, -2], [3, 0]] -> means [3, -1]
    np.testing.assert_allclose(s[1], np.repeat([[3.0], [-1.0]], 3, axis=1))
    a = hp.score(_act_net(), x, "apoz")  # inputs alone are enough
    np.testing.assert_allclose(a[0], np.repeat([[1.0], [0.5], [0.0]], 2, axis=1))


def test_activation_criteria_average_over_conv_pixels():
    from hwsim.nn import Conv2d, Flatten

    net = Network([Conv2d(1, 2, 1, name="c"), ReLU(), Flatten(), Dense(8, 2, "d")], (1, 2, 2)).astype(np.float64)
    net.weighted_layers()[0].set_weight(np.array([[1.0], [-1.0]]), np.zeros(2))
    x = np.array([[[[1.0, -2.0], [3.0, 0.0]]]])
    mean = hp.score(net, x, "mean_activation")[0][:, 0]
    apoz = hp.score(net, x, "apoz")[0][:, 0]
    np.testing.assert_allclose(mean, [1.0, 0.5])  # filter 0: relu(1,-2,3,0) = 1,0,3,0; filter 1: 0,2,0,0
    np.testing.assert_allclose(apoz, [0.5, 0.25])


def test_criteria_do_not_modify_the_network():
    net, data = make_mlp(), blobs(40)
    before = [l.weight.copy() for l in net.weighted_layers()]
    for c in hp.CRITERIA:
        hp.score(net, data, c)
    for a, l in zip(before, net.weighted_layers()):
        np.testing.assert_array_equal(a, l.weight)


@pytest.mark.parametrize("criterion", hp.CRITERIA)
def test_every_criterion_returns_finite_scores_of_weight_shapes(criterion):
    net, data = make_mlp(), blobs(40)
    s = hp.score(net, data, criterion)
    assert [a.shape for a in s] == [l.weight.shape for l in net.weighted_layers()]
    assert all(np.all(np.isfinite(a)) for a in s)


# ---- bad input ---------------------------------------------------------------------------------------------------
def test_unknown_criterion():
    with pytest.raises(ConfigError, match="unknown criterion 'magnitud'"):
        hp.score(make_mlp(), None, "magnitud")


def test_gradient_criterion_without_data():
    with pytest.raises(DataError, match="needs data"):
        hp.score(make_mlp(), None, "taylor")


def test_gradient_criterion_without_labels():
    with pytest.raises(DataError, match="needs labels"):
        hp.score(make_mlp(), np.zeros((3, 8)), "snip")


def test_empty_data():
    with pytest.raises(DataError, match="empty"):
        hp.score(make_mlp(), (np.zeros((0, 8)), np.zeros(0, dtype=np.int64)), "gradient")


def test_empty_inputs_for_activation_criterion():
    with pytest.raises(DataError, match="empty"):
        hp.score(make_mlp(), np.zeros((0, 8)), "apoz")


def test_labels_out_of_range():
    with pytest.raises(DataError, match="labels must lie in"):
        hp.score(make_mlp(), (np.zeros((3, 8)), np.array([0, 1, 4])), "gradient")


def test_labels_of_wrong_length():
    with pytest.raises(DataError, match="labels must be integers of shape"):
        hp.score(make_mlp(), (np.zeros((3, 8)), np.array([0, 1])), "gradient")


def test_float_labels():
    with pytest.raises(DataError, match="labels must be integers"):
        hp.score(make_mlp(), (np.zeros((3, 8)), np.array([0.0, 1.0, 2.0])), "gradient")


def test_inputs_of_wrong_shape():
    with pytest.raises(DataError, match="expects input of shape"):
        hp.score(make_mlp(), (np.zeros((3, 7)), np.array([0, 1, 2])), "gradient")


def test_data_not_a_pair():
    with pytest.raises(DataError, match="tuple"):
        hp.score(make_mlp(), (np.zeros((3, 8)),), "gradient")


def test_not_a_network():
    with pytest.raises(ConfigError, match="Network"):
        hp.score([np.ones((2, 2))], None, "magnitude")


def test_bad_temperature():
    with pytest.raises(ConfigError, match="temperature"):
        hp.score(make_mlp(), blobs(10), "grasp", temperature=0.0)


def test_temperature_with_other_criterion():
    with pytest.raises(ConfigError, match="temperature applies"):
        hp.score(make_mlp(), blobs(10), "taylor", temperature=2.0)


def test_bad_thresholds():
    with pytest.raises(ConfigError, match="thresholds"):
        hp.score(make_mlp(), blobs(10), "grad_magnitude", thresholds=(0.0, 1.0))


def test_bad_n_samples():
    with pytest.raises(ConfigError, match="n_samples"):
        hp.score(make_mlp(), blobs(10), "gradient", n_samples=0)


def test_bad_batch_size():
    with pytest.raises(ConfigError, match="batch_size"):
        hp.score(make_mlp(), blobs(10), "gradient", batch_size=0)
