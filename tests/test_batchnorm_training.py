"""Batch norm trained with batch statistics, the crop-and-flip augmentation, GraphConv's compiled im2col path, and the
ResNet-20 zoo model's two forms (issue 12, item 5)."""
from __future__ import annotations

import numpy as np
import pytest

from hwsim.errors import ConfigError, DataError
from hwsim.nn import SGD, Adam, fit
from hwsim.nn.graph import BatchNorm, GraphConv
from hwsim.nn.train import crop_and_flip

from test_gradcheck import RTOL, _numeric, _rel_err


def _bn(channels=3, seed=0):
    bn = BatchNorm(channels, eps=1e-3, name="bn", batch_statistics=True)
    rng = np.random.default_rng(seed)
    bn.gamma[:] = rng.uniform(0.5, 1.5, channels)
    bn.beta[:] = rng.normal(size=channels)
    return bn


@pytest.mark.parametrize("shape", [(4, 3, 5, 2), (6, 3)])
def test_batch_statistics_gradients_match_finite_differences(shape):
    bn = _bn(shape[1])
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape) * 2 + 0.5
    r = rng.standard_normal(shape)
    loss = lambda: float(np.sum(bn.forward(x, train=True) * r))  # noqa: E731
    bn.forward(x, train=True)
    gx = bn.backward(r.copy())
    assert _rel_err(gx, _numeric(loss, x)) < RTOL
    bn.forward(x, train=True)
    bn.backward(r.copy())
    grads = {n: g.copy() for n, _, g in bn.params()}
    for name, p, _ in bn.params():
        assert _rel_err(grads[name], _numeric(loss, p)) < RTOL, name


def test_batch_statistics_normalise_and_update_running_statistics_as_pytorch():
    bn = BatchNorm(2, eps=1e-5, name="bn", batch_statistics=True, momentum=0.1)
    x = np.arange(2 * 2 * 3, dtype=np.float64).reshape(2, 2, 3) ** 1.5
    y = bn.forward(x, train=True)
    xc = x.transpose(1, 0, 2).reshape(2, -1)
    mean, var = xc.mean(axis=1), xc.var(axis=1)
    assert np.allclose(y.transpose(1, 0, 2).reshape(2, -1), (xc - mean[:, None]) / np.sqrt(var[:, None] + 1e-5))
    assert np.allclose(bn.running_mean, 0.1 * mean)  # from 0
    assert np.allclose(bn.running_var, 0.9 + 0.1 * xc.var(axis=1, ddof=1))  # from 1, unbiased like PyTorch
    # evaluation uses the running statistics, after the parameters moved
    bn.gamma[:] = [2.0, 3.0]
    want = (x - bn.running_mean[None, :, None]) / np.sqrt(bn.running_var[None, :, None] + 1e-5) \
        * np.array([2.0, 3.0])[None, :, None]
    assert np.allclose(bn.forward(x), want)


def test_frozen_batch_norm_learns_nothing_and_refuses_bad_arguments():
    frozen = BatchNorm(3)
    assert frozen.params() == []
    with pytest.raises(ConfigError, match="momentum"):
        BatchNorm(3, batch_statistics=True, momentum=0.0)
    with pytest.raises(DataError, match="more than one value"):
        _bn(3).forward(np.ones((1, 3)), train=True)


def test_optimizers_train_batch_norm_parameters_and_keep_masks():
    from models.resnet import resnet20

    net = resnet20(seed=1, batch_norm=True, blocks_per_stage=1)
    conv = net.weighted_layers()[1]
    mask = np.ones_like(conv.mask)
    mask[:, ::2] = False
    conv.set_mask(mask)
    bns = [l for l in net.layers if isinstance(l, BatchNorm)]
    before = [b.gamma.copy() for b in bns]
    rng = np.random.default_rng(0)
    x, y = rng.random((16, 1, 28, 28), dtype=np.float32), rng.integers(0, 10, 16)
    for opt in (SGD(net, lr=0.1, momentum=0.9, weight_decay=1e-3), Adam(net, lr=1e-2)):
        fit(net, x, y, epochs=1, batch_size=8, optimizer=opt, seed=0)
    assert all(not np.array_equal(b.gamma, g) for b, g in zip(bns, before))
    assert np.all(conv.weight[~mask] == 0)
    assert all(not np.any(l.bias) for l in net.weighted_layers() if not getattr(l, "has_bias", True))


def test_crop_and_flip_is_a_seeded_shift_or_mirror_of_each_image():
    rng = np.random.default_rng(0)
    x = rng.random((32, 1, 6, 6)).astype(np.float32)
    a = crop_and_flip(0)(x, np.random.default_rng(3))
    assert all(np.array_equal(a[i], x[i]) or np.array_equal(a[i], x[i, :, :, ::-1]) for i in range(32))
    assert any(not np.array_equal(a[i], x[i]) for i in range(32))
    b = crop_and_flip(2)(x, np.random.default_rng(3))
    assert b.shape == x.shape and b.dtype == x.dtype
    assert np.array_equal(b, crop_and_flip(2)(x, np.random.default_rng(3)))
    # a crop of the zero-padded image: every output pixel is 0 or some input pixel of the same image
    for i in range(32):
        assert np.isin(b[i], np.append(x[i].ravel(), 0)).all()
    with pytest.raises(ConfigError):
        crop_and_flip(-1)
    from models.lenet import lenet5

    with pytest.raises(ConfigError, match="augment must return"):
        fit(lenet5(), np.zeros((4, 1, 28, 28), np.float32), np.zeros(4, int), augment=lambda xb, r: xb[:, :, :20])


@pytest.mark.parametrize("stride,pad,groups", [(1, 1, 1), (2, 1, 2), (2, 0, 1), (1, 2, 4)])
def test_graph_conv_compiled_path_equals_the_window_path(monkeypatch, stride, pad, groups):
    rng = np.random.default_rng(stride + pad + groups)
    conv = GraphConv(4, 8, (3, 3), (stride, stride), (pad,) * 4, groups=groups, name="c")
    conv.set_weight(rng.standard_normal(conv.weight.shape) * conv.group_mask(), rng.standard_normal(8))
    x = rng.standard_normal((3, 4, 9, 7)).astype(np.float32)
    g = rng.standard_normal((3,) + conv.output_shape((4, 9, 7))).astype(np.float32)
    assert conv._square()
    fast_y, fast_gx = conv.forward(x, train=True), conv.backward(g)
    fast_gw = conv.grad_weight.copy()
    monkeypatch.setattr(GraphConv, "_square", lambda self: False)
    slow_y, slow_gx = conv.forward(x, train=True), conv.backward(g)
    assert np.allclose(fast_y, slow_y, atol=1e-5) and np.allclose(fast_gx, slow_gx, atol=1e-5)
    assert np.allclose(fast_gw, conv.grad_weight, atol=1e-4)


@pytest.mark.parametrize("groups", [1, 2, 4])
def test_kernel_weight_inverts_conv_matrix(groups):
    from hwsim.nn.im2col import conv_matrix, kernel_weight

    conv = GraphConv(4, 8, (3, 2), groups=groups, name="c")
    w4 = np.random.default_rng(groups).standard_normal((8, 4 // groups, 3, 2))
    assert np.array_equal(kernel_weight(conv, conv_matrix(conv, w4)), w4)


def test_resnet20_shapes_mvms_and_batch_norm_folding():
    from models.resnet import fold_batch_norm, resnet20

    net = resnet20(seed=0, batch_norm=True)
    layers = net.weighted_layers()
    assert len(layers) == 22 and net.num_weights() == 270_608
    mvms = {l.name: l.mvms_per_inference for l in layers}
    assert mvms["conv1"] == 28 * 28 and mvms["layer1.2.conv2"] == 28 * 28
    assert mvms["layer2.0.downsample.0"] == 14 * 14 and mvms["layer3.2.conv2"] == 7 * 7 and mvms["fc"] == 1
    assert {l.name for l in net.layers if isinstance(l, BatchNorm)} >= {"bn1", "layer2.0.bn1", "layer2.0.downsample.1"}
    rng = np.random.default_rng(0)
    x = rng.random((64, 1, 28, 28), dtype=np.float32)
    fit(net, x, rng.integers(0, 10, 64), epochs=1, batch_size=32, seed=0)  # statistics and gammas away from 1, 0
    folded = fold_batch_norm(net)
    assert not any(isinstance(l, BatchNorm) for l in folded.layers)
    ref = net.forward(x)
    assert np.abs(folded.forward(x) - ref).max() <= 1e-4 * np.abs(ref).max()


def test_resnet_torch_state_round_trip_and_refusals():
    """torch_state gives exactly the names bind_state expects: the state binds back into a fresh training form."""
    from hwsim.importers import bind_state
    from models.resnet import resnet20, torch_state

    net = resnet20(seed=3, batch_norm=True, blocks_per_stage=1)
    rng = np.random.default_rng(0)
    for bn in (l for l in net.layers if isinstance(l, BatchNorm)):
        bn.running_mean = rng.normal(size=bn.channels)
        bn.gamma[:] = rng.uniform(0.5, 1.5, bn.channels)
    state = torch_state(net)
    back = bind_state(resnet20(batch_norm=True, blocks_per_stage=1), state)
    assert all(np.array_equal(v, w) for v, w in zip(state.values(), torch_state(back).values()))
    x = rng.random((8, 1, 28, 28), dtype=np.float32)
    assert np.abs(back.forward(x) - net.forward(x)).max() <= 1e-4  # BN parameters pass through float32
    with pytest.raises(DataError, match="missing.*bn1.running_var"):
        bind_state(resnet20(batch_norm=True, blocks_per_stage=1),
                   {k: v for k, v in state.items() if k != "bn1.running_var"})
    with pytest.raises(DataError, match="wrong shape.*fc.weight"):
        bind_state(resnet20(batch_norm=True, blocks_per_stage=1), {**state, "fc.weight": state["fc.weight"].T})
