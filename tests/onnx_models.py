"""ONNX test models built with ``onnx.helper`` (no downloads): an MLP, a CNN with padding/stride/groups, a residual
block with BatchNorm, and a ResNet-18-shaped graph with random weights. Needs the ``onnx`` package."""
from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def mutated(good: bytes, count: int, flips: int, seed: int = 0, truncate: float = 0.0):
    """``count`` copies of ``good`` with up to ``flips`` random bytes replaced (exactly ``flips`` when ``truncate`` is
    0), a fraction ``truncate`` of them also cut short: hostile-file cases."""
    rng = np.random.default_rng(seed)
    for _ in range(count):
        b = bytearray(good)
        n = flips if not truncate else int(rng.integers(1, flips + 1))
        for i in rng.integers(0, len(b), n):
            b[i] = int(rng.integers(0, 256))
        if truncate and rng.random() < truncate:
            b = b[:int(rng.integers(0, len(b)))]
        yield bytes(b)


class G:
    """A tiny graph builder: nodes, initializers with PyTorch-style names, fresh tensor names."""

    def __init__(self, seed: int = 0):
        self.rng = np.random.default_rng(seed)
        self.nodes: list = []
        self.inits: list = []
        self.n = 0

    def tensor(self, name: str, arr: np.ndarray) -> str:
        self.inits.append(numpy_helper.from_array(np.asarray(arr), name))
        return name

    def node(self, op: str, inputs: list[str], name: str = "", **attrs) -> str:
        self.n += 1
        out = f"t{self.n}"
        self.nodes.append(helper.make_node(op, inputs, [out], name=name or f"{op.lower()}{self.n}", **attrs))
        return out

    def conv(self, x: str, cin: int, cout: int, k: int, name: str, stride: int = 1, pad: int = 0, groups: int = 1,
             dilation: int = 1, bias: bool = True) -> str:
        w = (self.rng.standard_normal((cout, cin // groups, k, k)) * np.sqrt(2.0 / (cin // groups * k * k)))
        ins = [x, self.tensor(name + ".weight", w.astype(np.float32))]
        if bias:
            ins.append(self.tensor(name + ".bias", (0.1 * self.rng.standard_normal(cout)).astype(np.float32)))
        return self.node("Conv", ins, name, kernel_shape=[k, k], strides=[stride, stride], pads=[pad] * 4,
                         dilations=[dilation, dilation], group=groups)

    def bn(self, x: str, c: int, name: str) -> str:
        r = self.rng
        ins = [x] + [self.tensor(f"{name}.{p}", v.astype(np.float32)) for p, v in (
            ("weight", 1 + 0.2 * r.standard_normal(c)), ("bias", 0.1 * r.standard_normal(c)),
            ("running_mean", 0.1 * r.standard_normal(c)), ("running_var", 0.5 + r.random(c)))]
        return self.node("BatchNormalization", ins, name, epsilon=1e-5)

    def gemm(self, x: str, fin: int, fout: int, name: str) -> str:
        w = (self.rng.standard_normal((fout, fin)) * np.sqrt(2.0 / fin)).astype(np.float32)
        b = (0.1 * self.rng.standard_normal(fout)).astype(np.float32)
        return self.node("Gemm", [x, self.tensor(name + ".weight", w), self.tensor(name + ".bias", b)], name, transB=1)

    def model(self, x_shape: list, out: str, n_out: int, metadata: dict | None = None, opset: int = 17
              ) -> onnx.ModelProto:
        graph = helper.make_graph(self.nodes, "test", [helper.make_tensor_value_info("input", TensorProto.FLOAT,
                                                                                     ["N"] + list(x_shape))],
                                  [helper.make_tensor_value_info(out, TensorProto.FLOAT, ["N", n_out])], self.inits)
        m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
        m.ir_version = 8
        for k, v in (metadata or {}).items():
            m.metadata_props.add(key=k, value=v)
        onnx.checker.check_model(m)
        return m


def mlp(seed: int = 0) -> onnx.ModelProto:
    """784-512-256-10 with a MatMul + Add layer, Relu, LeakyRelu, Dropout, Softmax-free logits."""
    g = G(seed)
    x = g.node("Flatten", ["input"], axis=1)
    x = g.node("Relu", [g.gemm(x, 784, 512, "fc1")])
    x = g.node("Dropout", [x])
    w = (g.rng.standard_normal((512, 256)) * np.sqrt(2.0 / 512)).astype(np.float32)
    x = g.node("MatMul", [x, g.tensor("fc2.weight_t", w)], "fc2")
    x = g.node("Add", [x, g.tensor("fc2.bias", (0.1 * g.rng.standard_normal(256)).astype(np.float32))], "fc2_bias")
    x = g.node("LeakyRelu", [x], alpha=0.1)
    out = g.gemm(x, 256, 10, "fc3")
    return g.model([1, 28, 28], out, 10)


def cnn(seed: int = 0) -> onnx.ModelProto:
    """Padding, stride, groups (incl. depthwise), dilation, max and average pooling, Clip, Tanh, Sigmoid, Gelu."""
    g = G(seed)
    x = g.node("Relu", [g.conv("input", 1, 8, 3, "conv1", pad=1)])
    x = g.node("Clip", [g.conv(x, 8, 8, 3, "dw", stride=2, pad=1, groups=8),  # depthwise
                        g.tensor("c.min", np.array(0.0, np.float32)), g.tensor("c.max", np.array(6.0, np.float32))])
    x = g.node("Tanh", [g.conv(x, 8, 16, 3, "conv2", pad=2, groups=2, dilation=2)])
    x = g.node("MaxPool", [x], kernel_shape=[2, 2], strides=[2, 2])
    x = g.node("Sigmoid", [g.conv(x, 16, 16, 1, "pw")])
    x = g.node("AveragePool", [x], kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1], count_include_pad=0)
    x = g.node("Reshape", [x, g.tensor("shape", np.array([-1, 16 * 7 * 7], np.int64))])
    out = g.gemm(x, 16 * 7 * 7, 10, "fc")
    return g.model([1, 28, 28], out, 10, {"hwsim.mean": "0.2860", "hwsim.std": "0.3530"})


def residual(seed: int = 0) -> onnx.ModelProto:
    """Conv-BN-ReLU stem, a basic block with a downsampling shortcut (Conv-BN), Add, Concat, global pooling."""
    g = G(seed)
    x = g.node("Relu", [g.bn(g.conv("input", 1, 8, 3, "conv1", pad=1, bias=False), 8, "bn1")])
    y = g.node("Relu", [g.bn(g.conv(x, 8, 16, 3, "layer1.conv1", stride=2, pad=1, bias=False), 16, "layer1.bn1")])
    y = g.bn(g.conv(y, 16, 16, 3, "layer1.conv2", pad=1, bias=False), 16, "layer1.bn2")
    s = g.bn(g.conv(x, 8, 16, 1, "layer1.downsample", stride=2, bias=False), 16, "layer1.downsample_bn")
    z = g.node("Relu", [g.node("Add", [y, s])])
    z2 = g.bn(z, 16, "post_bn")  # after an Add: stays a per-channel affine layer
    z = g.node("Concat", [z, z2], axis=1)
    z = g.node("GlobalAveragePool", [z])
    z = g.node("Flatten", [z])
    out = g.gemm(z, 32, 10, "fc")
    return g.model([1, 28, 28], out, 10)


def resnet18(seed: int = 0, hw: int = 224) -> onnx.ModelProto:
    """ResNet-18 (ImageNet shape), random weights, BatchNorm after every convolution, node order as the zoo's."""
    g = G(seed)
    x = g.node("Relu", [g.bn(g.conv("input", 3, 64, 7, "conv1", stride=2, pad=3, bias=False), 64, "bn1")])
    x = g.node("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    cin = 64
    for stage, cout in enumerate((64, 128, 256, 512), start=1):
        for block in range(2):
            stride = 2 if (stage > 1 and block == 0) else 1
            p = f"layer{stage}.{block}"
            y = g.node("Relu", [g.bn(g.conv(x, cin, cout, 3, p + ".conv1", stride, 1, bias=False), cout, p + ".bn1")])
            y = g.bn(g.conv(y, cout, cout, 3, p + ".conv2", 1, 1, bias=False), cout, p + ".bn2")
            if stride != 1 or cin != cout:
                x = g.bn(g.conv(x, cin, cout, 1, p + ".downsample", stride, 0, bias=False), cout, p + ".downsample_bn")
            x = g.node("Relu", [g.node("Add", [y, x])])
            cin = cout
    x = g.node("Flatten", [g.node("GlobalAveragePool", [x])])
    out = g.gemm(x, 512, 1000, "fc")
    return g.model([3, hw, hw], out, 1000)


def activations(seed: int = 0) -> onnx.ModelProto:
    """Gelu (opset 20), Softmax, Identity on a small MLP."""
    g = G(seed)
    x = g.node("Gelu", [g.gemm("input", 20, 16, "fc1")])
    x = g.node("Identity", [x])
    out = g.node("Softmax", [g.gemm(x, 16, 5, "fc2")], axis=-1)
    return g.model([20], out, 5, opset=20)


def run_ort(path, x):
    """onnxruntime's output of the model at ``path`` on input ``x`` (the oracle of the ONNX tests)."""
    import onnxruntime as ort

    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"input": x})[0]
