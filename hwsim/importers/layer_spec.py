"""Layer-spec files: your own MLP or CNN as a small TOML list of layers, evaluated, costed and pruned without ONNX.

A spec names the layers in order, with PyTorch's module names, so that a ``state_dict`` saved from the same
architecture binds by name (``--state FILE.pt|.safetensors|.npz``, :mod:`hwsim.importers.state`)::

    name = "my-cnn"
    input_shape = [1, 28, 28]        # C, H, W without the batch axis ([F] for an MLP on flat vectors)
    mean = 0.2860                    # optional input normalisation (x - mean) / std: one value or one per channel
    std = 0.3530

    [[layer]]
    type = "conv"                    # weight conv1.weight (6, 1, 5, 5), bias conv1.bias (6)
    name = "conv1"
    shape = [6, 1, 5, 5]             # the weight's shape: (C_out, C_in/groups, kh, kw)
    stride = 1                       # int or [sh, sw]; default 1
    padding = 2                      # int, [ph, pw] (both sides, as PyTorch) or [top, left, bottom, right]
    # dilation = 1, groups = 1, bias = true (the defaults, as in PyTorch's nn.Conv2d)

    [[layer]]
    type = "batchnorm"               # bn1.weight / .bias / .running_mean / .running_var; eps = 1e-5
    name = "bn1"
    activation = "relu"              # after the layer: relu, leakyrelu, sigmoid, tanh, gelu or none

    [[layer]]
    type = "maxpool"                 # kernel (int or pair), stride (default: kernel), padding
    kernel = 2

    [[layer]]
    type = "flatten"

    [[layer]]
    type = "linear"                  # fc1.weight (10, 1176), fc1.bias (10)
    name = "fc1"
    shape = [10, 1176]               # (out, in)

Layer types: ``linear`` (``dense``), ``conv`` (``conv2d``), ``batchnorm`` (``bn``), ``maxpool``, ``avgpool``,
``globalavgpool``, ``flatten``, ``dropout`` / ``identity`` (inference: nothing), and the activations ``relu``,
``leakyrelu`` (``negative_slope``, default 0.01), ``sigmoid``, ``tanh``, ``gelu`` as layers of their own.
``activation`` may be given on ``linear``, ``conv`` and ``batchnorm``. Shapes are checked layer by layer: a
``shape`` whose input size does not match what the previous layer gives is an error naming the layer.

A batch norm must directly follow a ``linear`` or ``conv`` without an activation: after the state is bound it is
folded into that layer (W' = W * gamma / sqrt(var + eps) row-wise, b' = (b - mean) * gamma / sqrt(var + eps) +
beta), so the hardware maps the matrix the network really applies and a pruned network saves as a plain weights
``.npz`` (``--model SPEC.toml --weights pruned.npz`` loads it back). Without a state the weights are He-initialised
(for costing; evaluating and pruning need ``--state``). Errors in the spec are :class:`ConfigError` s naming the
file and the layer.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from ..errors import ConfigError
from ..nn.graph import BatchNorm, ChannelAffine, Elementwise, GraphConv, GraphNetwork, Node, Pool, Reshape
from ..nn.layers import Dense, ReLU, WeightedLayer

ACTIVATIONS = ("relu", "leakyrelu", "sigmoid", "tanh", "gelu", "none")
_TYPES = {"linear": "linear", "dense": "linear", "fc": "linear", "conv": "conv", "conv2d": "conv",
          "batchnorm": "batchnorm", "bn": "batchnorm", "batchnorm1d": "batchnorm", "batchnorm2d": "batchnorm",
          "maxpool": "maxpool", "avgpool": "avgpool", "globalavgpool": "globalavgpool", "flatten": "flatten",
          "dropout": "identity", "identity": "identity", "relu": "relu", "leakyrelu": "leakyrelu",
          "sigmoid": "sigmoid", "tanh": "tanh", "gelu": "gelu"}
_KEYS = {"linear": {"shape", "bias", "activation"},
         "conv": {"shape", "stride", "padding", "dilation", "groups", "bias", "activation"},
         "batchnorm": {"eps", "activation"},
         "maxpool": {"kernel", "stride", "padding"}, "avgpool": {"kernel", "stride", "padding"},
         "globalavgpool": set(), "flatten": set(), "identity": {"p"}, "relu": set(), "leakyrelu": {"negative_slope"},
         "sigmoid": set(), "tanh": set(), "gelu": set()}
_NAMED = ("linear", "conv", "batchnorm")
_TOP = ("name", "input_shape", "mean", "std", "classes", "layer")


def is_layer_spec(path: Any) -> bool:
    """Whether ``path`` names a layer-spec file (by its ``.toml`` suffix)."""
    return isinstance(path, (str, Path)) and Path(path).suffix.lower() == ".toml"


def _activation(kind: str, where: str, alpha: float = 0.01) -> Any:
    if kind == "relu":
        return ReLU()
    if kind in ("leakyrelu", "sigmoid", "tanh", "gelu"):
        return Elementwise(kind, alpha=alpha)
    raise ConfigError(f"{where}: unknown activation {kind!r}; choose one of {', '.join(ACTIVATIONS)}")


class _Spec:
    def __init__(self, data: dict, where: str):
        self.data, self.where = data, where

    def ints(self, v: Any, n: int, what: str, lo: int = 1, allowed: Sequence[int] = ()) -> tuple[int, ...]:
        vals = [v] * n if isinstance(v, int) and not isinstance(v, bool) else v
        if not isinstance(vals, list) or (len(vals) != n and len(vals) not in allowed) or not all(
                isinstance(x, int) and not isinstance(x, bool) and x >= lo for x in vals):
            raise ConfigError(f"{what}: expected an integer >= {lo} or a list of {n}, got {v!r}")
        return tuple(vals)


def _floats(v: Any, what: str) -> Optional[np.ndarray]:
    if v is None:
        return None
    vals = v if isinstance(v, list) else [v]
    if not vals or not all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) for x in vals):
        raise ConfigError(f"{what}: expected a finite number or a list of them, got {v!r}")
    return np.asarray(vals, dtype=np.float64)


def build_layers(data: dict, where: str, input_shape: Optional[Sequence[int]] = None
                 ) -> tuple[list[Any], tuple[int, ...]]:
    """The spec's layers (batch norms not yet folded) and the input shape, every shape checked."""
    unknown = [k for k in data if k not in _TOP]
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r}; allowed: {', '.join(_TOP)}")
    spec = _Spec(data, where)
    shape_v = input_shape if input_shape is not None else data.get("input_shape")
    if shape_v is None:
        raise ConfigError(f"{where}: 'input_shape' is required (C, H, W or F, without the batch axis)")
    shape_l = list(shape_v) if isinstance(shape_v, (list, tuple)) else shape_v
    if not isinstance(shape_l, list) or len(shape_l) not in (1, 3):
        raise ConfigError(f"{where}: input_shape must be [C, H, W] or [F], got {shape_v!r}")
    in_shape = spec.ints(shape_l, len(shape_l), f"{where}: input_shape")
    layers_v = data.get("layer")
    if not isinstance(layers_v, list) or not layers_v:
        raise ConfigError(f"{where}: needs one or more [[layer]] tables")
    shape: tuple[int, ...] = in_shape
    out: list[Any] = []
    names: set[str] = set()
    for i, entry in enumerate(layers_v):
        at = f"{where}: layer {i + 1}"
        if not isinstance(entry, dict):
            raise ConfigError(f"{at}: expected a table, got {entry!r}")
        t = entry.get("type")
        if t not in _TYPES:
            raise ConfigError(f"{at}: unknown type {t!r}; choose one of {', '.join(_TYPES)}")
        kind = _TYPES[t]
        name = entry.get("name")
        if name is not None and (not isinstance(name, str) or not name.strip() or name != name.strip()):
            raise ConfigError(f"{at}: name must be a non-empty string without surrounding spaces, got {name!r}")
        if name is not None:
            at = f"{where}: layer {i + 1} ({name!r})"
        bad = [k for k in entry if k not in _KEYS[kind] | {"type", "name"}]
        if bad:
            raise ConfigError(f"{at}: unknown key {bad[0]!r} for type {t!r}; allowed: "
                              f"{', '.join(sorted(_KEYS[kind] | {'type', 'name'}))}")
        if kind in _NAMED:
            if name is None:
                raise ConfigError(f"{at}: a {t} layer needs a 'name' (its PyTorch module name, e.g. 'conv1')")
            if name in names:
                raise ConfigError(f"{at}: name {name!r} is used twice")
            names.add(name)
        try:
            layer, shape = _layer(spec, kind, entry, name or kind, shape, at)
        except ConfigError as exc:
            msg = str(exc)
            raise ConfigError(msg if msg.startswith(where) else f"{at}: {msg}") from None
        out.append(layer)
        act = entry.get("activation", "none")
        if not isinstance(act, str):
            raise ConfigError(f"{at}: activation must be one of {', '.join(ACTIVATIONS)}, got {act!r}")
        if act != "none":
            out.append(_activation(act, at))
    _check_folds(out, where)
    return out, in_shape


def _layer(spec: _Spec, kind: str, e: dict, name: str, shape: tuple[int, ...], at: str) -> tuple[Any, tuple]:
    if kind == "linear":
        w = spec.ints(e.get("shape"), 2, f"{at}: shape (out, in)")
        if len(shape) != 1:
            raise ConfigError(f"{at}: a linear layer takes a vector, but the input here has shape {shape}; add a "
                              "flatten layer before it")
        if shape[0] != w[1]:
            raise ConfigError(f"{at}: shape {list(w)} takes {w[1]} inputs, the layer before gives {shape[0]}")
        layer: Any = Dense(w[1], w[0], name=name)
        layer.has_bias = _bool(e.get("bias", True), f"{at}: bias")
        return layer, (w[0],)
    if kind == "conv":
        w = spec.ints(e.get("shape"), 4, f"{at}: shape (C_out, C_in/groups, kh, kw)")
        if len(shape) != 3:
            raise ConfigError(f"{at}: a convolution takes (C, H, W) images, the input here has shape {shape}")
        groups = spec.ints(e.get("groups", 1), 1, f"{at}: groups")[0]
        if w[1] * groups != shape[0] or w[0] % groups:
            raise ConfigError(f"{at}: shape {list(w)} with groups={groups} takes {w[1] * groups} input channels "
                              f"(and C_out divisible by groups); the layer before gives {shape[0]}")
        stride = spec.ints(e.get("stride", 1), 2, f"{at}: stride")
        dilation = spec.ints(e.get("dilation", 1), 2, f"{at}: dilation")
        pads = _pads(spec, e.get("padding", 0), f"{at}: padding")
        layer = GraphConv(shape[0], w[0], (w[2], w[3]), stride, pads, dilation, groups, name=name)
        layer.has_bias = _bool(e.get("bias", True), f"{at}: bias")
        return layer, layer.output_shape(shape)
    if kind == "batchnorm":
        eps = e.get("eps", 1e-5)
        if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not eps > 0:
            raise ConfigError(f"{at}: eps must be a number > 0, got {eps!r}")
        layer = BatchNorm(shape[0], float(eps), name=name)
        return layer, shape
    if kind in ("maxpool", "avgpool"):
        k = spec.ints(e.get("kernel"), 2, f"{at}: kernel")
        s = spec.ints(e.get("stride", list(k)), 2, f"{at}: stride")
        pads = _pads(spec, e.get("padding", 0), f"{at}: padding")
        if len(shape) != 3:
            raise ConfigError(f"{at}: pooling takes (C, H, W) images, the input here has shape {shape}")
        layer = Pool("max" if kind == "maxpool" else "avg", k, s, pads, (1, 1), name=name)
        return layer, layer.output_shape(shape)
    if kind == "globalavgpool":
        if len(shape) != 3:
            raise ConfigError(f"{at}: global average pooling takes (C, H, W) images, the input here has shape {shape}")
        return Pool("avg", global_=True, name=name), (shape[0], 1, 1)
    if kind == "flatten":
        return Reshape((math.prod(shape),), name=name), (math.prod(shape),)
    if kind == "identity":
        return Elementwise("identity", name=name), shape
    alpha = e.get("negative_slope", 0.01)
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)):
        raise ConfigError(f"{at}: negative_slope must be a number, got {alpha!r}")
    return _activation(kind, at, float(alpha)), shape


def _bool(v: Any, what: str) -> bool:
    if not isinstance(v, bool):
        raise ConfigError(f"{what}: expected true or false, got {v!r}")
    return v


def _pads(spec: _Spec, v: Any, what: str) -> tuple[int, int, int, int]:
    p = spec.ints(v, 2, what, lo=0, allowed=(4,))
    return (p[0], p[1], p[0], p[1]) if len(p) == 2 else (p[0], p[1], p[2], p[3])


def _check_folds(layers: list[Any], where: str) -> None:
    for i, layer in enumerate(layers):
        if isinstance(layer, BatchNorm) and (i == 0 or not isinstance(layers[i - 1], WeightedLayer)):
            raise ConfigError(f"{where}: batch norm {layer.name!r} must directly follow a linear or conv layer "
                              "without an activation (it is folded into that layer's weights)")


def fold(layers: list[Any]) -> list[Any]:
    """Fold every batch norm into the weighted layer before it (see the module doc); returns the remaining layers."""
    out: list[Any] = []
    for layer in layers:
        if isinstance(layer, BatchNorm):
            w = out[-1]
            s, t = layer.scale, layer.shift
            w.weight = (w.weight.astype(np.float64) * s[:, None]).astype(w.weight.dtype)
            w.weight[~w.mask] = 0.0
            w.bias = (w.bias.astype(np.float64) * s + t).astype(w.bias.dtype)
            w.has_bias = True
            w.folded_bn = layer.name
            continue
        out.append(layer)
    return out


def load_layer_spec(path: str | Path | None = None, *, data: Optional[dict] = None, state: Any = None,
                    input_shape: Optional[Sequence[int]] = None, mean: Any = None, std: Any = None,
                    name: Optional[str] = None) -> GraphNetwork:
    """The network of a layer-spec TOML file (or of ``data``, the same dict), with ``state`` (a path or a
    name -> array dict of PyTorch-named tensors) bound and batch norms folded; ``input_shape`` / ``mean`` / ``std``
    override the spec's. See the module doc."""
    from ..config import read_toml
    from .onnx_import import _parse_floats
    from .state import bind_state

    if data is None:
        if path is None:
            raise ConfigError("give a layer-spec path or its data")
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"layer spec {str(p)!r} does not exist")
        data = read_toml(p)
        where = f"layer spec {str(p)!r}"
    else:
        where = f"layer spec {name or data.get('name', '')!r}"
    layers, in_shape = build_layers(data, where, input_shape)
    net_name = name or data.get("name") or (Path(path).stem if path is not None else "layer-spec")
    if not isinstance(net_name, str):
        raise ConfigError(f"{where}: name must be a string, got {net_name!r}")
    if state is not None:
        bind_state(layers, state, where)
    layers = fold(layers)
    nodes: list[Node] = []
    cur = "input"
    m = _parse_floats(mean, "input mean") if mean is not None else _floats(data.get("mean"), f"{where}: mean")
    s = _parse_floats(std, "input std") if std is not None else _floats(data.get("std"), f"{where}: std")
    if m is not None or s is not None:
        m = np.zeros(1) if m is None else m
        s = np.ones(1) if s is None else s
        ch = in_shape[0]
        for what, v in (("mean", m), ("std", s)):
            if v.size not in (1, ch):
                raise ConfigError(f"{where}: input {what}: {v.size} values for an input of {ch} channels (give 1 or "
                                  f"{ch})")
        if np.any(s <= 0):
            raise ConfigError(f"{where}: input std must be > 0, got {list(s)}")
        n = max(m.size, s.size)
        m, s = np.broadcast_to(m, (n,)), np.broadcast_to(s, (n,))
        nodes.append(Node(ChannelAffine(1.0 / s, -m / s, name="normalize"), [cur], "normalized"))
        cur = "normalized"
    for i, layer in enumerate(layers):
        nodes.append(Node(layer, [cur], f"t{i}"))
        cur = f"t{i}"
    classes = data.get("classes")
    if classes is not None and not (isinstance(classes, list) and all(isinstance(c, str) for c in classes)):
        raise ConfigError(f"{where}: classes must be a list of strings")
    try:
        net = GraphNetwork(nodes, "input", in_shape, cur, name=net_name, classes=classes)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    net.layer_spec = str(path) if path is not None else None  # type: ignore[attr-defined]
    return net
