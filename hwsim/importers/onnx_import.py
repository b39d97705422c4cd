"""ONNX models as executable :class:`hwsim.nn.graph.GraphNetwork` objects (optional extra ``hwsim[onnx]``).

Supported operators (:data:`SUPPORTED_OPS`, default domain, 2-D images NCHW or vectors NC): Conv (stride, pads,
dilation, groups incl. depthwise, auto_pad), Gemm, MatMul (by a constant matrix), BatchNormalization (inference
form), Relu, LeakyRelu, Clip, Sigmoid, Tanh, Gelu, MaxPool, AveragePool, GlobalAveragePool, Add (residual, or a
constant), Sub / Mul / Div by a constant of one value or one per channel (input normalisation as PyTorch's exporter
writes it: a per-channel affine layer), Concat, Flatten, Reshape (constant shape), Softmax, Dropout, Identity,
Constant. Anything else is one
:class:`DataError` listing every unsupported operator with its node name.

Mapping conventions:

* every Conv / Gemm / MatMul is one weighted layer with a 2-D matrix (out, in); a Conv's is
  ``W.reshape(C_out, -1)`` (columns ordered c, kh, kw), block-diagonal for groups > 1
  (:class:`hwsim.nn.graph.GraphConv`); exact zeros in the file's weights are pruned weights (masked);
* a BatchNormalization (or a constant Add after MatMul) whose input is a weighted layer used by nothing else is
  folded into that layer -- W' = W * gamma / sqrt(var + eps) row-wise, b' = (b - mean) * gamma / sqrt(var + eps)
  + beta, computed in float64 -- so the hardware maps the matrix the network really applies; any other
  BatchNormalization stays a per-channel affine layer. Both are exact (up to float32 rounding) in evaluation;
* input normalisation ``(x - mean) / std`` (per channel or one value) from the arguments or from the model's
  metadata (``metadata_props`` keys ``hwsim.mean`` / ``hwsim.std``, comma-separated) is the graph's first layer.

Loading is safe: the file's size is checked before reading (:data:`MAX_ONNX_BYTES`), a protobuf parse error is one
:class:`DataError`, external-data tensors (which would read other files) are refused, and every tensor's declared
size is checked against its stored bytes and :data:`MAX_TENSOR_BYTES` before numpy allocates it.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from ..errors import ConfigError, DataError
from ..nn.graph import (Add, ChannelAffine, Concat, Elementwise, GraphConv, GraphNetwork, Node, Pool, Reshape,
                        Softmax)
from ..nn.im2col import kernel_weight
from ..nn.layers import Dense, ReLU, WeightedLayer

#: Largest .onnx file read (protobuf's own limit is 2 GiB).
MAX_ONNX_BYTES = 2 * 2**30 - 1
#: Largest single tensor accepted (elements x item size).
MAX_TENSOR_BYTES = 2 * 2**30

SUPPORTED_OPS = ("Conv", "Gemm", "MatMul", "BatchNormalization", "Relu", "LeakyRelu", "Clip", "Sigmoid", "Tanh",
                 "Gelu", "MaxPool", "AveragePool", "GlobalAveragePool", "Add", "Sub", "Mul", "Div", "Concat", "Flatten",
                 "Reshape", "Softmax", "Dropout", "Identity", "Constant")

# ONNX TensorProto data types: (numpy dtype, typed field holding the values when raw_data is absent)
_DTYPES = {1: (np.float32, "float_data"), 2: (np.uint8, "int32_data"), 3: (np.int8, "int32_data"),
           4: (np.uint16, "int32_data"), 5: (np.int16, "int32_data"), 6: (np.int32, "int32_data"),
           7: (np.int64, "int64_data"), 9: (np.bool_, "int32_data"), 10: (np.float16, "int32_data"),
           11: (np.float64, "double_data"), 12: (np.uint32, "uint64_data"), 13: (np.uint64, "uint64_data")}


def _onnx(what: str = "reading") -> Any:
    try:
        import onnx
    except ImportError:
        raise ConfigError(f"{what} .onnx files needs the optional package onnx: pip install 'hwsim[onnx]'") from None
    return onnx


def tensor_to_array(t: Any, where: str) -> np.ndarray:
    """A TensorProto as a numpy array, its size checked against its stored bytes before allocation."""
    from onnx import numpy_helper

    name = t.name or "<unnamed>"
    if t.data_location == 1 or len(t.external_data):
        raise DataError(f"{where}: tensor {name!r} stores its data in an external file; only self-contained models "
                        "are read (onnx.save(model, path, save_as_external_data=False))")
    if t.data_type not in _DTYPES:
        raise DataError(f"{where}: tensor {name!r} has unsupported data type {t.data_type}")
    dtype, field = _DTYPES[t.data_type]
    dims = list(t.dims)
    if any(d < 0 for d in dims) or len(dims) > 8:
        raise DataError(f"{where}: tensor {name!r} has an invalid shape {dims}")
    count = math.prod(dims)
    nbytes = count * np.dtype(dtype).itemsize
    if nbytes > MAX_TENSOR_BYTES:
        raise DataError(f"{where}: tensor {name!r} claims shape {dims} ({nbytes} bytes), over the "
                        f"{MAX_TENSOR_BYTES}-byte limit")
    if t.HasField("raw_data") if hasattr(t, "HasField") else t.raw_data:
        if len(t.raw_data) != nbytes:
            raise DataError(f"{where}: tensor {name!r} claims shape {dims} ({nbytes} bytes) but stores "
                            f"{len(t.raw_data)} bytes")
    elif len(getattr(t, field)) != count:
        raise DataError(f"{where}: tensor {name!r} claims shape {dims} ({count} values) but stores "
                        f"{len(getattr(t, field))}")
    try:
        arr = np.array(numpy_helper.to_array(t))
    except Exception as exc:  # a value the converter refuses
        raise DataError(f"{where}: tensor {name!r} cannot be read: {exc}") from None
    if arr.shape != tuple(dims):
        raise DataError(f"{where}: tensor {name!r} read as shape {arr.shape}, declared {dims}")
    return arr


def _floats(arr: np.ndarray, what: str) -> np.ndarray:
    if arr.dtype.kind not in "fiub":
        raise DataError(f"{what} has non-numeric dtype {arr.dtype}")
    with np.errstate(invalid="ignore", over="ignore"):
        a = np.asarray(arr, dtype=np.float64)
    if not np.all(np.isfinite(a)):
        raise DataError(f"{what} holds NaN/inf values")
    return a


def _parse_floats(text: Any, what: str) -> Optional[np.ndarray]:
    if text is None:
        return None
    if isinstance(text, str):
        try:
            vals = [float(v) for v in text.replace(" ", "").split(",") if v != ""]
        except ValueError:
            raise ConfigError(f"{what}: expected comma-separated numbers, got {text!r}") from None
    else:
        vals = [float(v) for v in np.atleast_1d(np.asarray(text, dtype=np.float64))]
    if not vals or not all(math.isfinite(v) for v in vals):
        raise ConfigError(f"{what}: expected finite numbers, got {text!r}")
    return np.asarray(vals)


def read_model(path: str | Path) -> Any:
    """The ModelProto of ``path``, read safely (size checked, parse errors as one DataError)."""
    onnx = _onnx()
    p = Path(path)
    where = f"ONNX file {str(p)!r}"
    if not p.is_file():
        raise DataError(f"{where} does not exist")
    size = p.stat().st_size
    if size > MAX_ONNX_BYTES:
        raise DataError(f"{where} is {size} bytes, over the {MAX_ONNX_BYTES}-byte limit")
    data = p.read_bytes()
    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except Exception as exc:  # google.protobuf.message.DecodeError, RuntimeWarning, ...
        raise DataError(f"{where} is not a valid ONNX model (protobuf parse error: {exc})") from None
    if not model.HasField("graph") or len(model.graph.node) == 0:
        raise DataError(f"{where} holds no graph (not an ONNX model, or an empty one)")
    return model


class _Builder:
    def __init__(self, model: Any, where: str, input_shape: Optional[Sequence[int]], mean: Any, std: Any,
                 name: str, state: Optional[dict[str, np.ndarray]] = None, state_source: str = ""):
        self.model, self.where, self.g, self.name = model, where, model.graph, name
        self.init: dict[str, np.ndarray] = {t.name: tensor_to_array(t, where) for t in self.g.initializer}
        if state is not None:
            self.bind(state, state_source)
        self.alias: dict[str, str] = {}
        self.nodes: list[Node] = []
        self.shapes: dict[str, tuple[int, ...]] = {}
        self.names: set[str] = set()
        self.input_shape = input_shape
        self.mean, self.std = mean, std

    def bind(self, state: dict[str, np.ndarray], source: str) -> None:
        """Replace the initializers named in ``state`` (PyTorch names, same layout); every parameter of a weighted
        layer or BatchNormalization must be given, and every given tensor must match one (see :func:`load_onnx`)."""
        params = {i for n in self.g.node if n.op_type in ("Conv", "Gemm", "MatMul", "BatchNormalization", "Add")
                  for i in n.input[1:] if i in self.init}
        given = {k: v for k, v in state.items() if not k.endswith(".num_batches_tracked")}
        unmatched = sorted(k for k in given if k not in self.init)
        missing = sorted(params - set(given))
        if unmatched or missing:
            parts = []
            if unmatched:
                parts.append(f"{len(unmatched)} tensor(s) of {source} match no parameter of the graph: "
                             f"{', '.join(unmatched[:20])}{' ...' if len(unmatched) > 20 else ''}")
            if missing:
                parts.append(f"{len(missing)} parameter(s) of the graph are missing from {source}: "
                             f"{', '.join(missing[:20])}{' ...' if len(missing) > 20 else ''}")
            raise DataError(f"{self.where}: {'; '.join(parts)} (export with do_constant_folding=False to keep "
                            "PyTorch's parameter names)")
        for k, v in given.items():
            old = self.init[k]
            if tuple(v.shape) != old.shape:
                raise DataError(f"{self.where}: {source}: tensor {k!r} has shape {tuple(v.shape)}, the graph's "
                                f"{old.shape}")
            if v.dtype.kind not in "fiub":
                raise DataError(f"{self.where}: {source}: tensor {k!r} has non-numeric dtype {v.dtype}")
            self.init[k] = np.asarray(v).astype(old.dtype)

    # ---- helpers ------------------------------------------------------------------------------------------------
    def err(self, node: Any, msg: str) -> DataError:
        return DataError(f"{self.where}: node {node.name or node.output[0]!r} ({node.op_type}): {msg}")

    def attrs(self, node: Any) -> dict[str, Any]:
        from onnx import helper

        out = {}
        for a in node.attribute:
            if a.type == 4:  # TENSOR
                out[a.name] = tensor_to_array(a.t, self.where)
            else:
                try:
                    out[a.name] = helper.get_attribute_value(a)
                except Exception as exc:
                    raise self.err(node, f"attribute {a.name!r} unreadable: {exc}") from None
        return out

    def t(self, name: str) -> str:
        while name in self.alias:
            name = self.alias[name]
        return name

    def const(self, node: Any, name: str, what: str) -> np.ndarray:
        if name not in self.init:
            raise self.err(node, f"{what} {name!r} must be a constant (an initializer or Constant node)")
        return self.init[name]

    def activation(self, node: Any, name: str) -> str:
        t = self.t(name)
        if t not in self.shapes:
            if t in self.init:
                raise self.err(node, f"input {name!r} is a constant where an activation is expected")
            raise self.err(node, f"input {name!r} is not produced by any earlier node")
        return t

    def unique(self, base: str) -> str:
        return unique_name(base, self.names)

    def add(self, node: Any, layer: Any, inputs: list[str]) -> None:
        out = node.output[0]
        try:
            from ..nn.graph import MultiInput

            shape = (layer.output_shape_many([self.shapes[i] for i in inputs]) if isinstance(layer, MultiInput)
                     else layer.output_shape(self.shapes[inputs[0]]))
        except ConfigError as exc:
            raise self.err(node, str(exc)) from None
        self.shapes[out] = shape
        self.nodes.append(Node(layer, inputs, out))

    def layer_name(self, node: Any, weight: Optional[str] = None) -> str:
        if weight and weight.endswith(".weight"):
            return self.unique(weight[:-7])
        return self.unique(node.name or node.output[0])

    @staticmethod
    def spatial(a: dict, key: str, default: int, rank: int = 2) -> tuple[int, ...]:
        v = tuple(int(x) for x in a.get(key, [default] * rank))
        return v

    def pads(self, node: Any, a: dict, in_hw: tuple[int, int], k: tuple[int, int], s: tuple[int, int],
             d: tuple[int, int]) -> tuple[int, int, int, int]:
        auto = a.get("auto_pad", b"NOTSET")
        auto = auto.decode() if isinstance(auto, bytes) else auto
        if auto in ("NOTSET", ""):
            p = self.spatial(a, "pads", 0, 4)
            if len(p) != 4 or min(p) < 0:
                raise self.err(node, f"pads {p}: expected 4 non-negative values (2-D only)")
            return (p[0], p[1], p[2], p[3])
        if auto == "VALID":
            return (0, 0, 0, 0)
        if auto in ("SAME_UPPER", "SAME_LOWER"):
            out = []
            for size, kk, ss, dd in zip(in_hw, k, s, d):
                o = -(-size // ss)
                total = max(0, (o - 1) * ss + dd * (kk - 1) + 1 - size)
                small, big = total // 2, total - total // 2
                out.append((small, big) if auto == "SAME_UPPER" else (big, small))
            return (out[0][0], out[1][0], out[0][1], out[1][1])
        raise self.err(node, f"auto_pad {auto!r} unsupported")

    def image(self, node: Any, x: str) -> tuple[int, int, int]:
        s = self.shapes[x]
        if len(s) != 3:
            raise self.err(node, f"expects a 4-D NCHW input, got shape (N, {', '.join(map(str, s))})")
        return s  # type: ignore[return-value]

    # ---- graph ----------------------------------------------------------------------------------------------------
    def graph_input(self) -> tuple[str, tuple[int, ...]]:
        real = [i for i in self.g.input if i.name not in self.init]
        if len(real) != 1:
            raise DataError(f"{self.where}: expected exactly one graph input, got {[i.name for i in real]}")
        inp = real[0]
        dims = [d.dim_value if d.HasField("dim_value") else None for d in inp.type.tensor_type.shape.dim]
        if self.input_shape is not None:
            shape = tuple(int(s) for s in self.input_shape)
            if len(dims) and len(dims) - 1 != len(shape):
                raise ConfigError(f"input shape {shape} has {len(shape)} axes, the model's input {inp.name!r} has "
                                  f"{len(dims) - 1} (without the batch axis)")
            for have, want in zip(dims[1:], shape):
                if have not in (None, 0) and have != want:
                    raise ConfigError(f"input shape {shape} does not match the model's input {inp.name!r} "
                                      f"(N, {', '.join('?' if v in (None, 0) else str(v) for v in dims[1:])})")
        else:
            if len(dims) < 2 or any(v in (None, 0) for v in dims[1:]):
                raise DataError(f"{self.where}: input {inp.name!r} has shape {dims} with unknown axes; give the "
                                "input shape (--input-shape C,H,W)")
            shape = tuple(int(v) for v in dims[1:])
        if any(s < 1 for s in shape) or math.prod(shape) > 2**31:
            raise ConfigError(f"input shape {shape} out of range")
        return inp.name, shape

    def preprocess(self, x: str, shape: tuple[int, ...]) -> None:
        meta = {p.key: p.value for p in self.model.metadata_props}
        mean = _parse_floats(self.mean if self.mean is not None else meta.get("hwsim.mean"), "input mean")
        std = _parse_floats(self.std if self.std is not None else meta.get("hwsim.std"), "input std")
        if mean is None and std is None:
            return
        mean = np.zeros(1) if mean is None else mean
        std = np.ones(1) if std is None else std
        ch = shape[0] if len(shape) >= 1 else 1
        for what, v in (("input mean", mean), ("input std", std)):
            if v.size not in (1, ch):
                raise ConfigError(f"{what}: {v.size} values for an input of {ch} channels (give 1 or {ch})")
        if np.any(std <= 0):
            raise ConfigError(f"input std must be > 0, got {list(std)}")
        n = max(mean.size, std.size)
        mean, std = np.broadcast_to(mean, (n,)), np.broadcast_to(std, (n,))
        out = x + ":normalized"
        layer = ChannelAffine(1.0 / std, -mean / std, name=self.unique("normalize"))
        self.shapes[out] = shape
        self.nodes.append(Node(layer, [x], out))
        self.alias[x] = out

    def origin(self, node: Any, layer: WeightedLayer, **kw: Any) -> None:
        """Where ``layer`` came from, for :func:`save_onnx`: the node's index, weight and bias tensors."""
        layer.onnx_origin = {"node": self.current, "weight": node.input[1],  # type: ignore[attr-defined]
                             "bias": node.input[2] if len(node.input) > 2 and node.input[2] else None,
                             "scale": None, "shift": None, "bias_add": None, **kw}

    def build(self) -> GraphNetwork:
        bad = [f"{n.op_type} (node {n.name or n.output[0]!r})" for n in self.g.node
               if n.op_type not in SUPPORTED_OPS or n.domain not in ("", "ai.onnx")]
        if bad:
            raise DataError(f"{self.where}: {len(bad)} unsupported operator(s): {', '.join(bad)}; supported: "
                            f"{', '.join(SUPPORTED_OPS)}")
        in_name, in_shape = self.graph_input()
        self.shapes[in_name] = in_shape
        self.preprocess(in_name, in_shape)
        for self.current, node in enumerate(self.g.node):
            getattr(self, "op_" + node.op_type)(node, self.attrs(node))
        if len(self.g.output) != 1:
            raise DataError(f"{self.where}: expected exactly one graph output, got {[o.name for o in self.g.output]}")
        out = self.t(self.g.output[0].name)
        if out not in self.shapes:
            raise DataError(f"{self.where}: graph output {self.g.output[0].name!r} is not computed by the graph")
        self.fold(out)
        try:
            return GraphNetwork(self.nodes, in_name, in_shape, out, name=self.name)
        except ConfigError as exc:
            raise DataError(f"{self.where}: {exc}") from None

    def fold(self, out: str) -> None:
        """Fold BatchNormalization / constant bias Add into the weighted layer before it (see module doc)."""
        consumers: dict[str, int] = {}
        for nd in self.nodes:
            for t in nd.inputs:
                consumers[t] = consumers.get(t, 0) + 1
        producer = {nd.output: nd for nd in self.nodes}
        keep = []
        for nd in self.nodes:
            src = producer.get(nd.inputs[0]) if len(nd.inputs) == 1 else None
            foldable = (src is not None and isinstance(src.layer, WeightedLayer) and consumers[src.output] == 1
                        and src.output != out)
            layer = nd.layer
            if foldable and isinstance(layer, ChannelAffine) and getattr(layer, "fold_into_weights", False):
                w = src.layer
                s = np.broadcast_to(layer.scale, (w.weight.shape[0],))
                t = np.broadcast_to(layer.shift, (w.weight.shape[0],))
                w.onnx_origin.update(scale=np.array(s), shift=np.array(t))  # type: ignore[attr-defined]
                w.weight = (w.weight.astype(np.float64) * s[:, None]).astype(w.weight.dtype)
                w.weight[~w.mask] = 0.0
                w.bias = (w.bias.astype(np.float64) * s + t).astype(w.bias.dtype)
            elif foldable and isinstance(layer, Add) and layer.const is not None and getattr(layer, "fold_into_weights", False) \
                    and layer.const.size == src.layer.weight.shape[0]:
                w = src.layer
                w.bias = (w.bias.astype(np.float64) + layer.const.reshape(-1)).astype(w.bias.dtype)
                w.onnx_origin["bias_add"] = layer.const_name  # type: ignore[attr-defined]
            else:
                keep.append(nd)
                continue
            # the weighted layer now produces the folded node's output
            src.output = nd.output
        self.nodes = keep

    # ---- operators ------------------------------------------------------------------------------------------------
    def op_Identity(self, node: Any, a: dict) -> None:
        self.alias[node.output[0]] = self.activation(node, node.input[0])

    def op_Dropout(self, node: Any, a: dict) -> None:
        if len(node.output) > 1 and node.output[1]:
            used = any(node.output[1] in n.input for n in self.g.node)
            if used:
                raise self.err(node, "the dropout mask output is used; only inference dropout (identity) is supported")
        self.op_Identity(node, a)

    def op_Constant(self, node: Any, a: dict) -> None:
        if "value" not in a:
            raise self.err(node, f"only the 'value' attribute is supported, got {sorted(a)}")
        self.init[node.output[0]] = a["value"]

    def op_Conv(self, node: Any, a: dict) -> None:
        x = self.activation(node, node.input[0])
        c, h, w_ = self.image(node, x)
        wname = node.input[1]
        w = _floats(self.const(node, wname, "weight"), f"{self.where}: weight {wname!r}")
        if w.ndim != 4:
            raise self.err(node, f"only 2-D convolutions are supported (weight shape {w.shape})")
        g = int(a.get("group", 1))
        k = (w.shape[2], w.shape[3])
        if "kernel_shape" in a and tuple(a["kernel_shape"]) != k:
            raise self.err(node, f"kernel_shape {a['kernel_shape']} != weight's {k}")
        if g < 1 or w.shape[1] * g != c or w.shape[0] % g:
            raise self.err(node, f"weight {w.shape} with group={g} does not fit an input of {c} channels")
        s, d = self.spatial(a, "strides", 1), self.spatial(a, "dilations", 1)
        pads = self.pads(node, a, (h, w_), k, s, d)
        layer = GraphConv(c, w.shape[0], k, s, pads, d, g, name=self.layer_name(node, wname))
        try:
            layer.set_grouped_weight(w)
        except DataError as exc:
            raise self.err(node, str(exc)) from None
        layer.set_mask((layer.weight != 0) & layer.group_mask())
        if len(node.input) > 2 and node.input[2]:
            layer.bias = self.bias(node, node.input[2], w.shape[0], layer.bias.dtype)
        self.origin(node, layer, op="Conv")
        self.add(node, layer, [x])

    def bias(self, node: Any, name: str, n: int, dtype: Any) -> np.ndarray:
        b = _floats(self.const(node, name, "bias"), f"{self.where}: bias {name!r}")
        if b.size != n or (b.ndim > 1 and max(b.shape) != n):
            raise self.err(node, f"bias {name!r} has shape {b.shape}, expected ({n},)")
        return b.reshape(n).astype(dtype)

    def dense(self, node: Any, x: str, w: np.ndarray, wname: str) -> Dense:
        if self.shapes[x] != (w.shape[1],):
            raise self.err(node, f"input shape (N, {', '.join(map(str, self.shapes[x]))}) does not match a weight of "
                           f"{w.shape[1]} inputs (only 2-D (N, features) inputs are supported)")
        layer = Dense(w.shape[1], w.shape[0], name=self.layer_name(node, wname))
        layer.set_weight(w)
        layer.set_mask(w != 0)
        layer.bias = np.zeros_like(layer.bias)
        return layer

    def op_Gemm(self, node: Any, a: dict) -> None:
        x = self.activation(node, node.input[0])
        if int(a.get("transA", 0)):
            raise self.err(node, "transA=1 is not supported")
        wname = node.input[1]
        b = _floats(self.const(node, wname, "weight"), f"{self.where}: weight {wname!r}")
        if b.ndim != 2:
            raise self.err(node, f"weight {wname!r} must be 2-D, got {b.shape}")
        w = (b if int(a.get("transB", 0)) else b.T) * float(a.get("alpha", 1.0))
        layer = self.dense(node, x, w, wname)
        if len(node.input) > 2 and node.input[2]:
            c = _floats(self.const(node, node.input[2], "bias"), f"{self.where}: bias {node.input[2]!r}")
            try:
                c = np.broadcast_to(c, (1, w.shape[0])).reshape(-1)
            except ValueError:
                raise self.err(node, f"bias {node.input[2]!r} shape {c.shape} does not broadcast to ({w.shape[0]},)")
            layer.bias = (c * float(a.get("beta", 1.0))).astype(layer.bias.dtype)
        self.origin(node, layer, op="Gemm", alpha=float(a.get("alpha", 1.0)), beta=float(a.get("beta", 1.0)),
                    transB=int(a.get("transB", 0)))
        self.add(node, layer, [x])

    def op_MatMul(self, node: Any, a: dict) -> None:
        x = self.activation(node, node.input[0])
        wname = node.input[1]
        b = _floats(self.const(node, wname, "weight"), f"{self.where}: weight {wname!r}")
        if b.ndim != 2:
            raise self.err(node, f"weight {wname!r} must be 2-D, got {b.shape}")
        layer = self.dense(node, x, b.T, wname)
        self.origin(node, layer, op="MatMul")
        self.add(node, layer, [x])

    def op_BatchNormalization(self, node: Any, a: dict) -> None:
        x = self.activation(node, node.input[0])
        if int(a.get("training_mode", 0)) or (len(node.output) > 1 and any(node.output[1:])):
            raise self.err(node, "training-mode batch normalization is not supported (export in eval mode)")
        gamma, beta, mean, var = (_floats(self.const(node, n, what), f"{self.where}: {what} {n!r}")
                                  for n, what in zip(node.input[1:5], ("scale", "bias", "mean", "var")))
        ch = self.shapes[x][0]
        if any(v.shape != (ch,) for v in (gamma, beta, mean, var)):
            raise self.err(node, f"parameters must have shape ({ch},)")
        eps = float(a.get("epsilon", 1e-5))
        if np.any(var + eps <= 0):
            raise self.err(node, "var + epsilon must be > 0")
        s = gamma / np.sqrt(var + eps)
        layer = ChannelAffine(s, beta - mean * s, name=self.unique(node.name or node.output[0]))
        layer.fold_into_weights = True  # type: ignore[attr-defined]
        self.add(node, layer, [x])

    def _act(self, node: Any, layer: Any) -> None:
        self.add(node, layer, [self.activation(node, node.input[0])])

    def op_Relu(self, node: Any, a: dict) -> None:
        self._act(node, ReLU())

    def op_LeakyRelu(self, node: Any, a: dict) -> None:
        self._act(node, Elementwise("leakyrelu", alpha=float(a.get("alpha", 0.01)), name=node.name))

    def op_Sigmoid(self, node: Any, a: dict) -> None:
        self._act(node, Elementwise("sigmoid", name=node.name))

    def op_Tanh(self, node: Any, a: dict) -> None:
        self._act(node, Elementwise("tanh", name=node.name))

    def op_Gelu(self, node: Any, a: dict) -> None:
        approx = a.get("approximate", b"none")
        if (approx.decode() if isinstance(approx, bytes) else approx) != "none":
            raise self.err(node, f"approximate={approx!r} is not supported (only 'none')")
        self._act(node, Elementwise("gelu", name=node.name))

    def op_Clip(self, node: Any, a: dict) -> None:
        lo, hi = float(a.get("min", -np.inf)), float(a.get("max", np.inf))
        for i, which in ((1, "min"), (2, "max")):
            if len(node.input) > i and node.input[i]:
                v = self.const(node, node.input[i], which)
                if v.size != 1:
                    raise self.err(node, f"{which} must be a scalar")
                if which == "min":
                    lo = float(v.reshape(-1)[0])
                else:
                    hi = float(v.reshape(-1)[0])
        self._act(node, Elementwise("clip", lo=lo, hi=hi, name=node.name))

    def _pool(self, node: Any, a: dict, kind: str) -> None:
        x = self.activation(node, node.input[0])
        _, h, w = self.image(node, x)
        if len(node.output) > 1 and node.output[1]:
            raise self.err(node, "the indices output is not supported")
        if "kernel_shape" not in a or len(a["kernel_shape"]) != 2:
            raise self.err(node, "needs a 2-D kernel_shape")
        k = tuple(int(v) for v in a["kernel_shape"])
        s, d = self.spatial(a, "strides", 1), self.spatial(a, "dilations", 1)
        if kind == "avg" and d != (1, 1):
            raise self.err(node, f"dilations {d} are not supported for AveragePool")
        pads = self.pads(node, a, (h, w), k, s, d)
        layer = Pool(kind, k, s, pads, d, bool(a.get("ceil_mode", 0)), bool(a.get("count_include_pad", 0)),
                     name=node.name or kind + "pool")
        self.add(node, layer, [x])

    def op_MaxPool(self, node: Any, a: dict) -> None:
        if int(a.get("storage_order", 0)):
            raise self.err(node, "storage_order=1 is not supported")
        self._pool(node, a, "max")

    def op_AveragePool(self, node: Any, a: dict) -> None:
        self._pool(node, a, "avg")

    def op_GlobalAveragePool(self, node: Any, a: dict) -> None:
        x = self.activation(node, node.input[0])
        self.image(node, x)
        self.add(node, Pool("avg", global_=True, name=node.name or "globalavgpool"), [x])

    def _by_constant(self, node: Any) -> tuple[str, np.ndarray, bool]:
        """(activation, per-channel constant of 1 or C values, whether the constant is the first input) of a
        binary Sub / Mul / Div between an activation and a constant that is one value or one per channel (axis 1):
        input normalisation ``(x - mean) / std`` as PyTorch exports it, or a scaling."""
        if len(node.input) != 2:
            raise self.err(node, f"expects 2 inputs, got {len(node.input)}")
        ins = [self.t(i) for i in node.input]
        is_const = [i in self.init for i in ins]
        if is_const.count(True) != 1:
            raise self.err(node, "only an activation and a constant are supported (a per-channel or scalar "
                           "constant: input normalisation, scaling)")
        ci = is_const.index(True)
        x = self.activation(node, node.input[1 - ci])
        c = _floats(self.init[ins[ci]], f"{self.where}: constant {ins[ci]!r}")
        shape = (1,) + self.shapes[x]
        dims = (1,) * (len(shape) - c.ndim) + c.shape if c.ndim <= len(shape) else None
        if dims is None or any(d != 1 for i, d in enumerate(dims) if i != 1) or dims[1] not in (1, shape[1]):
            raise self.err(node, f"constant of shape {c.shape} is neither one value nor one per channel of "
                           f"(N, {', '.join(map(str, shape[1:]))})")
        return x, c.reshape(-1), ci == 0

    def _affine(self, node: Any, x: str, scale: np.ndarray, shift: np.ndarray) -> None:
        self.add(node, ChannelAffine(scale, shift, name=self.unique(node.name or node.output[0])), [x])

    def op_Sub(self, node: Any, a: dict) -> None:
        x, c, first = self._by_constant(node)
        one = np.ones_like(c)
        self._affine(node, x, -one if first else one, c if first else -c)  # c - x or x - c

    def op_Mul(self, node: Any, a: dict) -> None:
        x, c, _ = self._by_constant(node)
        self._affine(node, x, c, np.zeros_like(c))

    def op_Div(self, node: Any, a: dict) -> None:
        x, c, first = self._by_constant(node)
        if first:
            raise self.err(node, "a constant divided by an activation is not supported")
        if np.any(c == 0):
            raise self.err(node, "divides by zero")
        self._affine(node, x, 1.0 / c, np.zeros_like(c))

    def op_Add(self, node: Any, a: dict) -> None:
        acts = [self.t(i) for i in node.input if self.t(i) not in self.init]
        consts = [self.init[self.t(i)] for i in node.input if self.t(i) in self.init]
        if not acts:
            raise self.err(node, "adds two constants (constant folding is not supported)")
        acts = [self.activation(node, i) for i in acts]
        const = None
        if consts:
            const = _floats(consts[0], f"{self.where}: constant of node {node.name!r}")
            shape = (1,) + self.shapes[acts[0]]
            try:
                if np.broadcast_shapes(shape, const.shape) != shape:
                    raise ValueError
            except ValueError:
                raise self.err(node, f"constant of shape {const.shape} does not broadcast to "
                               f"(N, {', '.join(map(str, shape[1:]))})") from None
        layer = Add(const, name=node.name or "add")
        layer.const_name = next((self.t(i) for i in node.input if self.t(i) in self.init), None)  # type: ignore
        # a bias after MatMul: folded into the weighted layer when it is the only user (fold)
        layer.fold_into_weights = len(acts) == 1 and const is not None and len(self.shapes[acts[0]]) == 1  # type: ignore[attr-defined]
        self.add(node, layer, acts)

    def op_Concat(self, node: Any, a: dict) -> None:
        xs = [self.activation(node, i) for i in node.input]
        rank = len(self.shapes[xs[0]]) + 1
        axis = int(a.get("axis", 1))
        axis = axis + rank if axis < 0 else axis
        if not 1 <= axis < rank:
            raise self.err(node, f"axis {a.get('axis')} must be a non-batch axis of a rank-{rank} tensor")
        self.add(node, Concat(axis - 1, name=node.name or "concat"), xs)

    def op_Flatten(self, node: Any, a: dict) -> None:
        x = self.activation(node, node.input[0])
        axis = int(a.get("axis", 1))
        if axis != 1:
            raise self.err(node, f"axis={axis} is not supported (only 1: keep the batch axis)")
        self.add(node, Reshape((math.prod(self.shapes[x]),), name=node.name or "flatten"), [x])

    def op_Reshape(self, node: Any, a: dict) -> None:
        x = self.activation(node, node.input[0])
        target = [int(v) for v in self.const(node, node.input[1], "shape").reshape(-1)]
        if int(a.get("allowzero", 0)):
            raise self.err(node, "allowzero=1 is not supported")
        ins = self.shapes[x]
        if not target or target[0] not in (0, -1, 1):
            raise self.err(node, f"shape {target}: the first axis must be the batch (0, -1 or 1)")
        rest = [ins[i] if v == 0 and i < len(ins) else v for i, v in enumerate(target[1:])]  # 0: copy that axis
        if rest.count(-1) > 1 or any(v < -1 for v in rest) or (target[0] == -1 and -1 in rest):
            raise self.err(node, f"shape {target} is not supported")
        if -1 in rest:
            known = math.prod(v for v in rest if v != -1)
            if known == 0 or math.prod(ins) % known:
                raise self.err(node, f"cannot reshape {ins} to {target}")
            rest[rest.index(-1)] = math.prod(ins) // known
        self.add(node, Reshape(tuple(rest), name=node.name or "reshape"), [x])

    def op_Softmax(self, node: Any, a: dict) -> None:
        x = self.activation(node, node.input[0])
        rank = len(self.shapes[x]) + 1
        opset = max((o.version for o in self.model.opset_import if o.domain in ("", "ai.onnx")), default=13)
        axis = int(a.get("axis", -1 if opset >= 13 else 1))
        axis = axis + rank if axis < 0 else axis
        if rank != 2 and opset < 13:
            raise self.err(node, "Softmax before opset 13 on a tensor of rank > 2 is not supported")
        if not 1 <= axis < rank:
            raise self.err(node, f"axis {axis} must be a non-batch axis")
        self.add(node, Softmax(axis - rank, name=node.name or "softmax"), [x])


def load_onnx(path: str | Path, *, input_shape: Optional[Sequence[int]] = None, mean: Any = None, std: Any = None,
              name: Optional[str] = None, state: Any = None) -> GraphNetwork:
    """An ONNX file as an executable :class:`GraphNetwork` (see module doc). ``input_shape`` (without the batch
    axis) is needed only when the model's input has symbolic axes; ``mean`` / ``std`` (one value or one per channel,
    or a comma-separated string) override the model's ``hwsim.mean`` / ``hwsim.std`` metadata. ``state`` (a
    ``.pt`` / ``.pth`` / ``.safetensors`` / ``.npz`` path or a dict of arrays, PyTorch's names such as
    ``conv1.weight``, ``bn1.running_mean``: :func:`hwsim.importers.read_state`)
    replaces the graph's initializers of the same names and layout: every parameter of a Conv / Gemm / MatMul /
    BatchNormalization / bias Add must be given and every given tensor must match one (``*.num_batches_tracked``
    excepted), else one DataError listing the names. Every problem with the file is a :class:`DataError`."""
    p = Path(path)
    model = read_model(p)
    where = f"ONNX file {str(p)!r}"
    source = "the state"
    if state is not None and not isinstance(state, dict):
        from .state import read_state

        source = f"{str(state)!r}"
        state = read_state(state)
    try:
        return _Builder(model, where, input_shape, mean, std, name or model.graph.name or p.stem, state,
                        source).build()
    except (ConfigError, DataError):
        raise
    except RecursionError:
        raise DataError(f"{where}: graph too deeply nested") from None
    except (TypeError, ValueError, IndexError, KeyError, AttributeError, OverflowError, StopIteration) as exc:
        # a damaged graph that parses as protobuf but not as a model (missing attributes, inputs, dims): one error
        raise DataError(f"{where}: malformed ONNX graph ({type(exc).__name__}: {exc})") from None


def _set_const(model: Any, name: str, arr: np.ndarray) -> None:
    """Replace initializer (or Constant node output) ``name`` by ``arr``, keeping its data type."""
    from onnx import numpy_helper

    g = model.graph
    for t in g.initializer:
        if t.name == name:
            t.CopyFrom(numpy_helper.from_array(arr.astype(_DTYPES[t.data_type][0]), name))
            return
    for n in g.node:
        if n.op_type == "Constant" and n.output[0] == name:
            old = next(a for a in n.attribute if a.name == "value")
            old.t.CopyFrom(numpy_helper.from_array(arr.astype(_DTYPES[old.t.data_type][0]), name))
            return
    g.initializer.append(numpy_helper.from_array(arr.astype(np.float32), name))


def unique_name(base: str, used: set[str]) -> str:
    """``base``, or ``base_2``, ``base_3``, ... : the first not in ``used`` (which it joins)."""
    name, i = base, 1
    while name in used:
        i += 1
        name = f"{base}_{i}"
    used.add(name)
    return name


def _fresh(model: Any, base: str) -> str:
    used = {t.name for t in model.graph.initializer} | {o for n in model.graph.node for o in n.output} | \
        {i.name for i in model.graph.input}
    return unique_name(base, used)


def save_onnx(network: GraphNetwork, source: str | Path, path: str | Path) -> Path:
    """Write ``network`` -- imported from ``source`` by :func:`load_onnx`, then pruned and/or fine-tuned -- back into
    a copy of ``source``: every weighted layer's weight and bias (un-folding a folded BatchNormalization, alpha and
    beta), pruned weights as exact zeros. The graph, its other nodes and metadata are kept, so ``load_onnx(path)``
    gives back the same masks and (to float32 rounding where BatchNormalization was folded) the same weights."""
    from ..atomic_io import atomic_open

    model = read_model(source)
    nodes = model.graph.node
    for layer in network.weighted_layers():
        o = getattr(layer, "onnx_origin", None)
        if o is None or o["node"] >= len(nodes):
            raise ConfigError(f"layer {layer.name!r} was not imported from {source}; cannot write it back")
        node = nodes[o["node"]]
        if node.op_type != o["op"] or node.input[1] != o["weight"]:
            raise ConfigError(f"{source} changed since {network.name!r} was imported from it (node {o['node']})")
        w = layer.effective_weight().astype(np.float64)
        b = layer.bias.astype(np.float64)
        if o["scale"] is not None:
            s, t = o["scale"], o["shift"]
            nz = s != 0
            w = np.where(nz[:, None], w / np.where(nz, s, 1.0)[:, None], 0.0)
            b = np.where(nz, (b - t) / np.where(nz, s, 1.0), 0.0)
        if o["op"] == "Conv":
            _set_const(model, o["weight"], kernel_weight(layer, w))
        elif o["op"] == "Gemm":
            core = w / o["alpha"]
            _set_const(model, o["weight"], core if o["transB"] else core.T)
            if o["beta"] == 0 and np.any(b):
                raise ConfigError(f"layer {layer.name!r}: Gemm with beta=0 cannot hold a bias")
            b = b / (o["beta"] or 1.0)
        else:
            _set_const(model, o["weight"], w.T)
        if o["bias_add"] is not None:
            _set_const(model, o["bias_add"], b)
        elif o["bias"] is not None:
            _set_const(model, o["bias"], b)
        elif np.any(b):  # a layer without a bias tensor that now has one: add it (MatMul becomes Gemm)
            name = _fresh(model, f"{layer.name}.bias")
            _set_const(model, name, b)
            if node.op_type == "MatMul":
                node.op_type = "Gemm"
            node.input.append(name)
    path = Path(path)
    with atomic_open(path) as f:
        f.write(model.SerializeToString())
    return path
