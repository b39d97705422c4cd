"""ResNet-20 for Fashion-MNIST (He et al., CVPR 2016, Sec. 4.2: the 6n+2-layer CIFAR ResNet, n = 3).

A 3x3 stem convolution to 16 channels, three stages of n basic blocks (two 3x3 convolutions, each followed by batch
norm, with a residual addition and ReLU) at 16, 32 and 64 channels on 28x28, 14x14 and 7x7 feature maps, global
average pooling and a 64 -> 10 fully connected layer. Where a stage halves the map and doubles the channels the
shortcut is a strided 1x1 convolution with batch norm (the paper's option B), so every layer is a matrix the hardware
maps. 19 convolutions + 2 projection shortcuts + 1 fully connected layer = 22 weighted layers, 0.27 M weights.

:func:`resnet20` with ``batch_norm=True`` is the network hwsim trains (batch norm with batch statistics,
:class:`hwsim.nn.graph.BatchNorm`); :func:`fold_batch_norm` turns it into the deployed form, each batch norm folded
into the convolution before it (W' = W * gamma / sqrt(var + eps) row-wise, b' = (b - mean) * gamma / sqrt(var + eps)
+ beta), which is exact in evaluation and is what the hardware maps: the zoo model ``resnet20`` and its shipped
weights. The ONNX export of the trained network keeps the batch norms (``python -m models.train_pretrained``).
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from hwsim.nn import Dense, ReLU
from hwsim.nn.graph import Add, BatchNorm, GraphConv, GraphNetwork, Node, Pool, Reshape

from .fashion_mnist import CLASSES

#: Channels of the three stages (He et al. 2016, Sec. 4.2: 16, 32, 64).
STAGE_CHANNELS = (16, 32, 64)


class _Builder:
    def __init__(self, batch_norm: bool, seed: int):
        self.batch_norm = batch_norm
        self.seeds = iter(np.random.SeedSequence(seed).spawn(64))
        self.nodes: list[Node] = []

    def node(self, layer, inputs: list[str], out: str) -> str:
        self.nodes.append(Node(layer, inputs, out))
        return out

    def conv(self, x: str, c_in: int, c_out: int, k: int, stride: int, name: str, relu: bool) -> str:
        p = k // 2
        conv = GraphConv(c_in, c_out, (k, k), (stride, stride), (p, p, p, p), name=name)
        rng = np.random.default_rng(next(self.seeds))  # He normal (He et al., ICCV 2015), like the other zoo models
        conv.weight = (rng.standard_normal(conv.weight.shape) * np.sqrt(2.0 / conv.weight.shape[1])).astype(np.float32)
        if self.batch_norm:
            conv.has_bias = False  # the batch norm's beta is the bias (PyTorch: bias=False before a BatchNorm2d)
        y = self.node(conv, [x], name)
        if self.batch_norm:
            bn = name.replace("conv", "bn") if "conv" in name else name[:-1] + "1"  # torchvision: downsample.0 / .1
            y = self.node(BatchNorm(c_out, name=bn, batch_statistics=True), [y], bn)
        return self.node(ReLU(), [y], name + "_relu") if relu else y

    def block(self, x: str, c_in: int, c_out: int, stride: int, name: str) -> str:
        h = self.conv(x, c_in, c_out, 3, stride, f"{name}.conv1", relu=True)
        h = self.conv(h, c_out, c_out, 3, 1, f"{name}.conv2", relu=False)
        short = x if stride == 1 and c_in == c_out else self.conv(x, c_in, c_out, 1, stride, f"{name}.downsample.0",
                                                                  relu=False)
        s = self.node(Add(name=f"{name}.add"), [h, short], f"{name}.add")
        return self.node(ReLU(), [s], f"{name}.relu")


def resnet20(seed: int = 0, batch_norm: bool = False, blocks_per_stage: int = 3) -> GraphNetwork:
    """ResNet-20 (``blocks_per_stage`` = 3; 6n+2 layers in general) on (1, 28, 28) images.

    ``batch_norm=False`` (the zoo model): the deployed form, batch norms folded into the convolutions' biases.
    ``batch_norm=True``: the training form, each convolution followed by a batch norm with batch statistics.
    """
    b = _Builder(batch_norm, seed)
    x = b.conv("input", 1, STAGE_CHANNELS[0], 3, 1, "conv1", relu=True)
    c_in = STAGE_CHANNELS[0]
    for s, c in enumerate(STAGE_CHANNELS):
        for i in range(blocks_per_stage):
            stride = 2 if s > 0 and i == 0 else 1
            x = b.block(x, c_in, c, stride, f"layer{s + 1}.{i}")
            c_in = c
    x = b.node(Pool("avg", global_=True, name="avgpool"), [x], "avgpool")
    x = b.node(Reshape((c_in,), name="flatten"), [x], "flatten")
    fc = Dense(c_in, 10, "fc", next(b.seeds))
    x = b.node(fc, [x], "fc")
    name = "resnet20" if blocks_per_stage == 3 else f"resnet{6 * blocks_per_stage + 2}"
    return GraphNetwork(b.nodes, "input", (1, 28, 28), x, name=name, classes=CLASSES)


def fold_batch_norm(trained: GraphNetwork, seed: Optional[int] = 0) -> GraphNetwork:
    """The deployed form of a :func:`resnet20` trained with ``batch_norm=True``: a ``batch_norm=False`` network whose
    convolutions carry the folded batch norms (exact in evaluation, up to float32 rounding)."""
    blocks = sum(1 for nd in trained.nodes if isinstance(nd.layer, Add)) // len(STAGE_CHANNELS)
    out = resnet20(seed=seed or 0, batch_norm=False, blocks_per_stage=blocks)
    bns = {nd.inputs[0]: nd.layer for nd in trained.nodes if isinstance(nd.layer, BatchNorm)}
    src = {l.name: l for l in trained.weighted_layers()}
    for layer in out.weighted_layers():
        w = src[layer.name]
        weight, bias = w.weight.astype(np.float64), w.bias.astype(np.float64)
        bn = bns.get(layer.name)
        if bn is not None:
            bn.refresh()
            weight = weight * bn.scale[:, None]
            bias = bias * bn.scale + bn.shift
        layer.set_mask(w.mask)
        layer.set_weight(weight, bias)
    return out


#: How ``python -m models.train_pretrained --model resnet20`` trains the shipped weights: SGD with momentum and L2
#: weight decay as in He et al. 2016 (Sec. 4.2: momentum 0.9, decay 1e-4 there; 5e-4 here for the short schedule),
#: cosine decay from lr 0.05 over a short schedule (numpy on two cores), random-crop (pad 2) and flip augmentation.
RESNET_TRAINING = {"epochs": 8, "lr": 0.05, "momentum": 0.9, "batch_size": 128, "weight_decay": 5e-4,
                   "crop_pad": 2, "seed": 20261201}


def torch_state(trained: GraphNetwork) -> dict[str, np.ndarray]:
    """The trained (``batch_norm=True``) network's parameters under PyTorch's names -- ``conv1.weight`` (16, 1, 3, 3),
    ``bn1.weight`` / ``.bias`` / ``.running_mean`` / ``.running_var``, ``fc.weight`` / ``fc.bias`` -- as a
    torchvision-style ResNet's ``state_dict()`` would hold them; :func:`hwsim.importers.bind_state` installs them back
    into a ``resnet20(batch_norm=True)``."""
    from hwsim.nn.im2col import kernel_weight

    state: dict[str, np.ndarray] = {}
    for nd in trained.nodes:
        layer = nd.layer
        if isinstance(layer, GraphConv):
            state[f"{layer.name}.weight"] = kernel_weight(layer, layer.weight).astype(np.float32)
            if getattr(layer, "has_bias", True):
                state[f"{layer.name}.bias"] = layer.bias.astype(np.float32)
        elif isinstance(layer, Dense):
            state[f"{layer.name}.weight"] = layer.weight.astype(np.float32)
            state[f"{layer.name}.bias"] = layer.bias.astype(np.float32)
        elif isinstance(layer, BatchNorm):
            for key, arr in (("weight", layer.gamma), ("bias", layer.beta), ("running_mean", layer.running_mean),
                             ("running_var", layer.running_var)):
                state[f"{layer.name}.{key}"] = np.asarray(arr, np.float32)
    return state

