"""Any hwsim network as an ONNX model (optional extra ``hwsim[onnx]``): the zoo's networks, imported graphs and what
``hwsim prune`` made of them.

:func:`export_onnx` writes the network's own layers, not a copy of some source file (that is
:func:`hwsim.importers.save_onnx`, which keeps an imported file's graph and metadata). Each layer becomes the ONNX
operator :func:`hwsim.importers.load_onnx` reads back into the same layer:

* :class:`hwsim.nn.Dense` -> Gemm (``transB = 1``); :class:`hwsim.nn.Conv2d` / :class:`hwsim.nn.graph.GraphConv`
  -> Conv, the (C_out, C_in/groups, kh, kw) weight taken from the im2col matrix (:mod:`hwsim.nn.im2col`; a grouped
  convolution's diagonal blocks); pruned weights are exact zeros, which the importer reads as the mask;
* :class:`hwsim.nn.graph.BatchNorm` -> BatchNormalization (running statistics; the importer folds it into the
  layer before it again); any other per-channel affine layer (input normalisation) -> Mul and Add by constants;
* ReLU, LeakyRelu, Clip, Sigmoid, Tanh, Gelu (opset 20), Identity, MaxPool, AveragePool, GlobalAveragePool,
  Add (residual or constant), Concat, Flatten / Reshape, Softmax.

Initializers carry PyTorch's names (``conv1.weight``, ``bn1.running_mean``, ``fc.bias``), so a state dict of the same
architecture binds to the exported graph (``--weights model.onnx --state other.pt``). The input is ``input`` of
shape (N, *input_shape) with a symbolic batch axis, the output ``logits``. The file is written atomically.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import numpy as np

from ..errors import ConfigError
from ..nn.graph import (Add, BatchNorm, ChannelAffine, Concat, Elementwise, GraphConv, GraphNetwork, Pool, Reshape,
                        Softmax)
from ..nn.im2col import kernel_weight
from ..nn.layers import AvgPool2d, Conv2d, Dense, Flatten, Layer, MaxPool2d, ReLU
from ..nn.network import Network
from .onnx_import import _onnx, unique_name

#: ONNX opset written (Gelu needs 20; everything else is in 13).
OPSET = 13
OPSET_GELU = 20


def _steps(network: Network) -> Iterator[tuple[Layer, list[str], str, tuple[int, ...]]]:
    """(layer, input tensor names, output tensor name, shape of the first input without the batch axis) in execution
    order, for a graph or a sequential network; the network's input is called ``input``."""
    if isinstance(network, GraphNetwork):
        for nd in network.nodes:
            yield (nd.layer, ["input" if t == network.input_name else t for t in nd.inputs], nd.output,
                   network.shapes[nd.inputs[0]])
        return
    prev, shape = "input", network.input_shape
    for i, layer in enumerate(network.layers):
        out = f"{layer.name or type(layer).__name__.lower()}:{i}"
        yield layer, [prev], out, shape
        prev, shape = out, layer.output_shape(shape)


class _Writer:
    def __init__(self, network: Network):
        self.onnx = _onnx("writing")
        self.h, self.nh = self.onnx.helper, self.onnx.numpy_helper
        self.net = network
        self.nodes: list[Any] = []
        self.inits: list[Any] = []
        self.names: set[str] = set()
        self.opset = OPSET

    def fresh(self, base: str) -> str:
        return unique_name(base, self.names)

    def const(self, name: str, arr: Any, dtype: Any = np.float32) -> str:
        name = self.fresh(name)
        self.inits.append(self.nh.from_array(np.ascontiguousarray(np.asarray(arr, dtype=dtype)), name))
        return name

    def node(self, op: str, inputs: list[str], output: str, name: str, **attrs: Any) -> None:
        self.nodes.append(self.h.make_node(op, inputs, [output], name=self.fresh(name or op), **attrs))

    def channel_const(self, arr: np.ndarray, shape: tuple[int, ...], name: str) -> str:
        """A per-channel vector shaped to broadcast over (N, C, ...) tensors of ``shape`` (without the batch axis)."""
        a = np.asarray(arr, np.float64).reshape(-1)
        if a.size > 1 and len(shape) > 1:
            a = a.reshape((a.size,) + (1,) * (len(shape) - 1))
        return self.const(name, a)

    def layer(self, layer: Layer, ins: list[str], out: str, shape_in: tuple[int, ...]) -> None:
        x, name = ins[0], layer.name
        if isinstance(layer, (GraphConv, Conv2d)):
            if isinstance(layer, GraphConv):
                t, l, b, r = layer.pads
                attrs = dict(strides=list(layer.stride), pads=[t, l, b, r], dilations=list(layer.dilation),
                             group=layer.groups, kernel_shape=[layer.kh, layer.kw])
            else:
                attrs = dict(strides=[layer.stride] * 2, pads=[layer.pad] * 4, kernel_shape=[layer.k] * 2)
            w4 = kernel_weight(layer, layer.effective_weight().astype(np.float32))
            inputs = [x, self.const(f"{name}.weight", w4)]
            if getattr(layer, "has_bias", True) or np.any(layer.bias):
                inputs.append(self.const(f"{name}.bias", layer.bias))
            self.node("Conv", inputs, out, name, **attrs)
        elif isinstance(layer, Dense):
            self.node("Gemm", [x, self.const(f"{name}.weight", layer.effective_weight()),
                               self.const(f"{name}.bias", layer.bias)], out, name, transB=1)
        elif isinstance(layer, BatchNorm):
            self.node("BatchNormalization", [x] + [self.const(f"{name}.{k}", v) for k, v in (
                ("weight", layer.gamma), ("bias", layer.beta), ("running_mean", layer.running_mean),
                ("running_var", layer.running_var))], out, name, epsilon=layer.eps)
        elif isinstance(layer, ChannelAffine):
            mid = self.fresh(f"{name}:scaled")
            self.node("Mul", [x, self.channel_const(layer.scale, shape_in, f"{name}.scale")], mid, f"{name}.mul")
            self.node("Add", [mid, self.channel_const(layer.shift, shape_in, f"{name}.shift")], out, f"{name}.add")
        elif isinstance(layer, ReLU):
            self.node("Relu", [x], out, name)
        elif isinstance(layer, Elementwise):
            self.elementwise(layer, x, out)
        elif isinstance(layer, MaxPool2d):
            self.node("MaxPool", [x], out, name, kernel_shape=[layer.k] * 2, strides=[layer.stride] * 2)
        elif isinstance(layer, AvgPool2d):
            self.node("AveragePool", [x], out, name, kernel_shape=[layer.k] * 2, strides=[layer.k] * 2)
        elif isinstance(layer, Pool):
            self.pool(layer, x, out)
        elif isinstance(layer, (Flatten, Reshape)):
            target = layer.output_shape(shape_in)
            if len(target) == 1:
                self.node("Flatten", [x], out, name, axis=1)
            else:
                self.node("Reshape", [x, self.const(f"{name}.shape", (0,) + tuple(target), np.int64)], out, name)
        elif isinstance(layer, Softmax):
            self.node("Softmax", [x], out, name, axis=layer.axis if layer.axis < 0 else layer.axis + 1)
        elif isinstance(layer, Add):
            inputs = list(ins)
            if layer.const is not None:
                inputs.append(self.const(f"{name}.const", layer.const[None] if layer.const.ndim else layer.const))
            if len(inputs) == 1:
                self.node("Identity", inputs, out, name)
            else:
                acc = inputs[0]
                for i, other in enumerate(inputs[1:]):
                    dst = out if i == len(inputs) - 2 else self.fresh(f"{name}:{i}")
                    self.node("Add", [acc, other], dst, name)
                    acc = dst
        elif isinstance(layer, Concat):
            self.node("Concat", list(ins), out, name, axis=layer.axis + 1)
        else:
            raise ConfigError(f"layer {name!r} ({type(layer).__name__}) has no ONNX export")

    def elementwise(self, layer: Elementwise, x: str, out: str) -> None:
        k, name = layer.kind, layer.name
        if k == "leakyrelu":
            self.node("LeakyRelu", [x], out, name, alpha=layer.alpha)
        elif k == "clip":
            lo = self.const(f"{name}.min", layer.lo if np.isfinite(layer.lo) else np.finfo(np.float32).min)
            hi = self.const(f"{name}.max", layer.hi if np.isfinite(layer.hi) else np.finfo(np.float32).max)
            self.node("Clip", [x, lo, hi], out, name)
        elif k == "gelu":
            self.opset = max(self.opset, OPSET_GELU)
            self.node("Gelu", [x], out, name)
        else:
            self.node({"sigmoid": "Sigmoid", "tanh": "Tanh", "identity": "Identity"}[k], [x], out, name)

    def pool(self, layer: Pool, x: str, out: str) -> None:
        if layer.global_:
            if layer.kind != "avg":
                raise ConfigError(f"layer {layer.name!r}: only global average pooling exports")
            self.node("GlobalAveragePool", [x], out, layer.name)
            return
        attrs: dict[str, Any] = dict(kernel_shape=list(layer.kernel), strides=list(layer.stride),
                                     pads=list(layer.pads), ceil_mode=int(layer.ceil))
        if layer.kind == "max":
            attrs["dilations"] = list(layer.dilation)
            self.node("MaxPool", [x], out, layer.name, **attrs)
        else:
            self.node("AveragePool", [x], out, layer.name, count_include_pad=int(layer.include_pad), **attrs)


def onnx_model(network: Network) -> Any:
    """``network`` as an in-memory ``onnx.ModelProto`` (see the module doc); checked with ``onnx.checker``."""
    if not isinstance(network, Network):
        raise ConfigError(f"export_onnx needs a hwsim network (hwsim.nn.Network or GraphNetwork), got "
                          f"{type(network).__name__}; shape-only zoo models have no weights to export")
    w = _Writer(network)
    onnx = w.onnx
    w.names.add("input")
    steps = list(_steps(network))
    if not steps:
        raise ConfigError(f"network {network.name!r} has no layers to export")
    final = network.output_name if isinstance(network, GraphNetwork) else steps[-1][2]
    renamed = {"input": "input"}
    for layer, ins, out, shape_in in steps:
        dst = "logits" if out == final else w.fresh(out)
        renamed[out] = dst
        w.layer(layer, [renamed[t] for t in ins], dst, shape_in)
    h = w.h
    graph = h.make_graph(
        w.nodes, network.name,
        [h.make_tensor_value_info("input", onnx.TensorProto.FLOAT, ["N", *network.input_shape])],
        [h.make_tensor_value_info("logits", onnx.TensorProto.FLOAT, ["N", *network.output_shape])],
        initializer=w.inits)
    model = h.make_model(graph, producer_name="hwsim", opset_imports=[h.make_opsetid("", w.opset)])
    model.ir_version = min(model.ir_version, 9)
    onnx.checker.check_model(model)
    return model


def export_onnx(network: Network, path: str | Path) -> Path:
    """Write ``network`` (a zoo network, an imported graph, a pruned network) as an ONNX file (see the module doc):
    ``load_onnx(path)`` gives the same forward pass, weights and masks (batch norms folded again on import)."""
    from ..atomic_io import atomic_open

    model = onnx_model(network)
    path = Path(path)
    with atomic_open(path) as f:
        f.write(model.SerializeToString())
    return path
