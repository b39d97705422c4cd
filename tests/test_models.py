"""Model zoo: registry, shapes and MVM counts against published figures, synthetic weights."""
import numpy as np
import pytest

import models
from hwsim.errors import ConfigError
from hwsim.nn import Network
from models.shapes import ShapeNetwork


# Published parameter counts minus the batch-norm parameters that no crossbar or mesh stores.
@pytest.mark.parametrize("name,weights,params,layers", [
    ("vgg16", 138_344_128, 138_357_544, 16),        # torchvision VGG-16: 138,357,544 params
    ("resnet18", 11_678_912, 11_679_912, 21),       # torchvision: 11,689,512 incl. 9,600 BN
    ("resnet50", 25_502_912, 25_503_912, 54),       # torchvision: 25,557,032 incl. 53,120 BN
    ("bert-base-block", 7_077_888, 7_084_800, 6),   # 4 x 768^2 + 2 x 768*3072
])
def test_shape_networks_match_published_counts(name, weights, params, layers):
    m = models.get(name)
    assert isinstance(m, ShapeNetwork)
    assert (m.num_weights(), m.num_params(), len(m.layers)) == (weights, params, layers)


def test_mvm_counts_are_output_pixels():
    vgg = {l.name: l for l in models.get("vgg16").layers}
    assert vgg["conv1_1"].mvms_per_inference == 224 * 224 and vgg["conv1_1"].shape == (64, 27)
    assert vgg["conv5_3"].mvms_per_inference == 14 * 14 and vgg["fc6"].shape == (4096, 25088)
    r50 = {l.name: l for l in models.get("resnet50").layers}
    assert r50["conv1"].shape == (64, 147) and r50["conv1"].mvms_per_inference == 112 * 112
    assert r50["layer2.0.conv1"].mvms_per_inference == 56 * 56  # stride sits on the 3x3 (v1.5)
    assert r50["layer2.0.conv2"].mvms_per_inference == 28 * 28
    assert r50["layer4.2.conv3"].shape == (2048, 512) and r50["layer4.2.conv3"].mvms_per_inference == 49
    bert = models.get("bert-base-block")
    assert all(l.mvms_per_inference == 128 for l in bert.layers)
    lenet5 = models.get("lenet5")
    assert [l.mvms_per_inference for l in lenet5.weighted_layers()] == [784, 100, 1, 1, 1]
    assert [l.shape for l in lenet5.weighted_layers()] == [(6, 25), (16, 150), (120, 400), (84, 120), (10, 84)]


@pytest.mark.parametrize("pattern", ["random", "magnitude", "block"])
def test_synthetic_weights_sparsity_and_seed(pattern):
    net = models.get("resnet18")
    a = list(net.matrix_layers(seed=3, sparsity=0.9, pattern=pattern))
    b = list(net.matrix_layers(seed=3, sparsity=0.9, pattern=pattern))
    zeros = sum(int((m.weight == 0).sum()) for m in a)
    assert zeros / net.num_weights() == pytest.approx(0.9, abs=0.05)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.weight, y.weight)


def test_block_pattern_zeroes_whole_crossbar_blocks():
    (m,) = [l for l in models.get("vgg16").matrix_layers(seed=0, sparsity=0.5, pattern="block", block=(128, 128))
            if l.name == "conv3_1"]
    wt = m.weight.T  # (in=1152, out=256): 9 x 2 blocks
    blocks = [wt[r:r + 128, c:c + 128] for r in range(0, 1152, 128) for c in range(0, 256, 128)]
    empty = sum(not b.any() for b in blocks)
    assert empty == 9  # round(0.5 * 18)


def test_registry_errors():
    with pytest.raises(ConfigError, match="unknown model"):
        models.get("alexnet")
    with pytest.raises(ConfigError, match="shape-only"):
        models.get("vgg16", pretrained=True)
    with pytest.raises(ConfigError, match="sparsity"):
        next(models.get("resnet18").matrix_layers(sparsity=1.0))
    with pytest.raises(ConfigError, match="pattern"):
        next(models.get("resnet18").matrix_layers(sparsity=0.5, pattern="diagonal"))


def test_registry_names():
    assert models.names() == ["lenet-300-100", "lenet5", "resnet20", "vgg16", "vgg8-cifar", "resnet18", "resnet50",
                              "bert-base-block"]


def test_vgg8_cifar_is_neurosims_network():
    """NeuroSIM/NetWork_VGG8.csv shapes; NeuroSim V1.4 counts 1.23184e9 operations (2 per MAC) per image."""
    net = models.get("vgg8-cifar")
    assert [l.shape for l in net.layers][:2] == [(128, 27), (128, 1152)] and net.layers[-1].shape == (10, 1024)
    assert 2 * sum(l.out_features * l.in_features * l.mvms_per_inference for l in net.layers) == 1_231_835_136
    assert isinstance(models.get("lenet5"), Network)
