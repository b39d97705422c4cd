"""Shape-only networks for mapping studies: exact weight-matrix shapes and MVM counts, synthetic weights.

Every layer is the 2-D matrix the hardware stores: a convolution as (C_out, C_in*kh*kw) with one MVM per
output pixel, a linear layer as (out, in) with one MVM per inference (per token for a transformer). Biases
and batch-norm parameters are not stored on the crossbar / mesh and are not listed; ``params`` counts them
where a reference count includes them (see :attr:`ShapeNetwork.num_params`).

Sources of the shapes: VGG-16 (Simonyan & Zisserman, ICLR 2015, configuration D, Table 1), ResNet-18/50
(He et al., CVPR 2016, Table 1; stride on the 3x3 convolution of each bottleneck as in torchvision's
"ResNet v1.5"), BERT-base (Devlin et al., NAACL 2019: hidden 768, 12 heads, FFN 3072) at 128 tokens.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np

from hwsim.errors import ConfigError
from hwsim.workload import MatrixLayer


@dataclass(frozen=True)
class LayerSpec:
    name: str
    out_features: int
    in_features: int
    mvms_per_inference: int
    kind: str
    """'conv', 'linear' or 'attention' (a projection inside a transformer block)."""
    bias: bool = True

    @property
    def shape(self) -> tuple[int, int]:
        return (self.out_features, self.in_features)


@dataclass(frozen=True)
class ShapeNetwork:
    """A network known only by its weight-matrix shapes; weights are drawn synthetically and lazily."""

    name: str
    layers: tuple[LayerSpec, ...]
    description: str = ""

    def num_weights(self) -> int:
        return int(sum(l.out_features * l.in_features for l in self.layers))

    def num_params(self) -> int:
        """Weights plus biases of the listed matrices."""
        return self.num_weights() + int(sum(l.out_features for l in self.layers if l.bias))

    def mvms_per_inference(self) -> int:
        return int(sum(l.mvms_per_inference for l in self.layers))

    def matrix_layers(self, seed: int | np.random.Generator = 0, sparsity: float = 0.0, pattern: str = "random",
                      block: tuple[int, int] = (128, 128), dtype=np.float32) -> Iterator[MatrixLayer]:
        """Yield synthetic weights layer by layer (He-normal, std sqrt(2/in)), pruned to ``sparsity``.

        ``pattern``: 'random' zeroes each weight independently with probability ``sparsity`` (unstructured);
        'magnitude' zeroes the smallest-magnitude fraction ``sparsity`` of each layer; 'block' zeroes whole
        ``block`` = (rows of W^T = inputs, cols of W^T = outputs) tiles of W^T, a fraction ``sparsity`` of them.
        """
        if not 0.0 <= sparsity < 1.0:
            raise ConfigError(f"sparsity must lie in [0, 1), got {sparsity}")
        if pattern not in ("random", "magnitude", "block"):
            raise ConfigError(f"unknown sparsity pattern {pattern!r}; choose 'random', 'magnitude' or 'block'")
        if min(block) < 1:
            raise ConfigError(f"block dimensions must be >= 1, got {block}")
        rng = np.random.default_rng(seed)
        for spec in self.layers:
            out_f, in_f = spec.shape
            w = rng.standard_normal((out_f, in_f), dtype=np.float32 if dtype == np.float32 else np.float64)
            w *= np.sqrt(2.0 / in_f)
            if sparsity > 0:
                if pattern == "random":
                    w[rng.random((out_f, in_f), dtype=np.float32) < sparsity] = 0.0
                elif pattern == "magnitude":
                    k = int(round(sparsity * w.size))
                    if k:
                        thr = np.partition(np.abs(w).ravel(), k - 1)[k - 1]
                        w[np.abs(w) <= thr] = 0.0
                else:
                    br, bc = block  # rows of W^T (inputs) x cols of W^T (outputs)
                    nbr, nbc = -(-in_f // br), -(-out_f // bc)
                    n_blocks = nbr * nbc
                    n_zero = int(round(sparsity * n_blocks))
                    for b in rng.permutation(n_blocks)[:n_zero]:
                        r, c = divmod(int(b), nbc)
                        w[c * bc:(c + 1) * bc, r * br:(r + 1) * br] = 0.0
            yield MatrixLayer(spec.name, w, spec.mvms_per_inference)


def _conv(name: str, cin: int, cout: int, k: int, out_hw: int) -> LayerSpec:
    return LayerSpec(name, cout, cin * k * k, out_hw * out_hw, "conv", bias=False)


def vgg16() -> ShapeNetwork:
    cfg = [(64, 224), (64, 224), (128, 112), (128, 112), (256, 56), (256, 56), (256, 56),
           (512, 28), (512, 28), (512, 28), (512, 14), (512, 14), (512, 14)]
    names = ["conv1_1", "conv1_2", "conv2_1", "conv2_2", "conv3_1", "conv3_2", "conv3_3",
             "conv4_1", "conv4_2", "conv4_3", "conv5_1", "conv5_2", "conv5_3"]
    layers, cin = [], 3
    for name, (cout, hw) in zip(names, cfg):
        layers.append(LayerSpec(name, cout, cin * 9, hw * hw, "conv", bias=True))
        cin = cout
    layers += [LayerSpec("fc6", 4096, 512 * 7 * 7, 1, "linear"), LayerSpec("fc7", 4096, 4096, 1, "linear"),
               LayerSpec("fc8", 1000, 4096, 1, "linear")]
    return ShapeNetwork("vgg16", tuple(layers), "VGG-16 (configuration D), ImageNet 224x224")


def vgg8_cifar() -> ShapeNetwork:
    """VGG-8 on CIFAR-10 (32x32x3), DNN+NeuroSim V1.4's default network: ``Inference_pytorch/NeuroSIM/NetWork_VGG8.csv``
    (input map H, W, C_in, kernel, C_out per layer; 3x3 convolutions with 'same' padding, 2x2 max-pooling after
    conv2, conv4 and conv6), then 8192 -> 1024 -> 10; 616M MACs (NeuroSim: 1.23184e9 operations per image)."""
    convs = [("conv1", 3, 128, 32), ("conv2", 128, 128, 32), ("conv3", 128, 256, 16), ("conv4", 256, 256, 16),
             ("conv5", 256, 512, 8), ("conv6", 512, 512, 8)]
    layers = [_conv(n, cin, cout, 3, hw) for n, cin, cout, hw in convs]
    layers += [LayerSpec("fc1", 1024, 8192, 1, "linear", bias=False), LayerSpec("fc2", 10, 1024, 1, "linear", bias=False)]
    return ShapeNetwork("vgg8-cifar", tuple(layers), "VGG-8 (DNN+NeuroSim V1.4 default), CIFAR-10 32x32")


def resnet18() -> ShapeNetwork:
    layers = [_conv("conv1", 3, 64, 7, 112)]
    cin, hw = 64, 56
    for stage, cout in enumerate((64, 128, 256, 512), start=1):
        for block in range(2):
            stride = 2 if (stage > 1 and block == 0) else 1
            out_hw = hw // stride
            p = f"layer{stage}.{block}"
            layers.append(_conv(p + ".conv1", cin, cout, 3, out_hw))
            layers.append(_conv(p + ".conv2", cout, cout, 3, out_hw))
            if stride != 1 or cin != cout:
                layers.append(_conv(p + ".downsample", cin, cout, 1, out_hw))
            cin, hw = cout, out_hw
    layers.append(LayerSpec("fc", 1000, 512, 1, "linear"))
    return ShapeNetwork("resnet18", tuple(layers), "ResNet-18, ImageNet 224x224")


def resnet50() -> ShapeNetwork:
    layers = [_conv("conv1", 3, 64, 7, 112)]
    cin, hw = 64, 56
    for stage, (blocks, mid) in enumerate(((3, 64), (4, 128), (6, 256), (3, 512)), start=1):
        cout = mid * 4
        for block in range(blocks):
            stride = 2 if (stage > 1 and block == 0) else 1
            out_hw = hw // stride
            p = f"layer{stage}.{block}"
            layers.append(_conv(p + ".conv1", cin, mid, 1, hw))
            layers.append(_conv(p + ".conv2", mid, mid, 3, out_hw))
            layers.append(_conv(p + ".conv3", mid, cout, 1, out_hw))
            if block == 0:
                layers.append(_conv(p + ".downsample", cin, cout, 1, out_hw))
            cin, hw = cout, out_hw
    layers.append(LayerSpec("fc", 1000, 2048, 1, "linear"))
    return ShapeNetwork("resnet50", tuple(layers), "ResNet-50 (v1.5), ImageNet 224x224")


def bert_base_block(tokens: int = 128) -> ShapeNetwork:
    """One BERT-base encoder block at ``tokens`` tokens: the six weight matrices, one MVM per token each.

    The attention products Q K^T and A V multiply activations by activations; they have no stored weights and
    are not mapped onto crossbars or meshes (as in ISAAC/PUMA-style weight-stationary mapping studies).
    """
    if tokens < 1:
        raise ConfigError(f"tokens must be >= 1, got {tokens}")
    d, ff = 768, 3072
    layers = tuple(LayerSpec(n, o, i, tokens, "attention" if n.startswith("attn") else "linear")
                   for n, o, i in (("attn.query", d, d), ("attn.key", d, d), ("attn.value", d, d),
                                   ("attn.output", d, d), ("ffn.intermediate", ff, d), ("ffn.output", d, ff)))
    return ShapeNetwork("bert-base-block", layers, f"BERT-base encoder block, {tokens} tokens")
