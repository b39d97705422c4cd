"""A directed acyclic graph of layers: the executable form of an imported network (ONNX, :mod:`hwsim.importers`).

:class:`GraphNetwork` is a :class:`hwsim.nn.Network` whose layers are evaluated in topological order over named
tensors instead of as a stack, so residual additions and concatenations run. Everything the back-ends and pruning
use is the same as for a sequential network: ``weighted_layers()`` (2-D weights (out, in) with masks, in
topological order), ``forward(x, matmul=hook)`` (the hook replaces every weighted product, which is how
``hwsim.reram.run`` / ``hwsim.photonic.run`` evaluate on hardware), ``matrix_layers()`` with MVMs per inference
from the real output shapes, ``backward`` for fine-tuning.

Convolutions (:class:`GraphConv`) take any stride, asymmetric padding, dilation and groups. The weight matrix is
(C_out, C_in*kh*kw) with columns ordered (c, kh, kw) -- PyTorch's / ONNX's ``weight.reshape(C_out, -1)`` for
``groups == 1``. A grouped (or depthwise) convolution is one block-diagonal matrix of that shape: the entries
between groups are structural zeros, masked (pruned) from the start, so the hardware sees a sparse matrix whose
empty tiles it skips. Those structural zeros are not parameters: :meth:`GraphNetwork.num_weights`,
:meth:`GraphNetwork.sparsity` and :func:`layer_sparsity` count only the real ones (:func:`support`), so a
grouped layer is 0 % sparse until a real weight is pruned.

The im2col order -- how a (C_out, C_in/groups, kh, kw) weight becomes the matrix -- is documented once, in
:mod:`hwsim.nn.im2col` (with :func:`conv_matrix`, :func:`support` and the sparsity helpers, re-exported here).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from ..errors import ConfigError, DataError
from .im2col import (conv_mask, conv_matrix, kernel_shape, layer_sparsity, real_weights,  # noqa: F401 - re-exported
                     support, supports)
from . import _kernels
from .layers import Layer, MatmulHook, WeightedLayer
from .network import Network


def _windows(xp: np.ndarray, kh: int, kw: int, sh: int, sw: int, dh: int, dw: int, oh: int, ow: int,
             i: int, j: int) -> np.ndarray:
    """Strided view of padded ``xp`` (n, c, H, W): the input of kernel tap (i, j) for every output pixel."""
    return xp[:, :, i * dh:i * dh + sh * (oh - 1) + 1:sh, j * dw:j * dw + sw * (ow - 1) + 1:sw]


def _out_size(size: int, k: int, s: int, p0: int, p1: int, d: int, ceil: bool = False) -> int:
    span = size + p0 + p1 - d * (k - 1) - 1
    return (-(-span // s) if ceil else span // s) + 1


class GraphConv(WeightedLayer):
    """General 2-D convolution (stride, pads (top, left, bottom, right), dilation, groups) through im2col."""

    def __init__(self, in_channels: int, out_channels: int, kernel: tuple[int, int], stride=(1, 1),
                 pads=(0, 0, 0, 0), dilation=(1, 1), groups: int = 1, name: str = "conv"):
        kh, kw = (int(k) for k in kernel)
        if min(in_channels, out_channels, kh, kw, *stride, *dilation, groups) < 1 or min(pads) < 0:
            raise ConfigError(f"layer {name!r}: invalid convolution geometry in={in_channels} out={out_channels} "
                              f"kernel={kernel} stride={stride} pads={pads} dilation={dilation} groups={groups}")
        if in_channels % groups or out_channels % groups:
            raise ConfigError(f"layer {name!r}: channels in={in_channels} out={out_channels} not divisible by "
                              f"groups={groups}")
        self.in_channels, self.out_channels, self.groups = int(in_channels), int(out_channels), int(groups)
        self.kh, self.kw = kh, kw
        self.stride = tuple(int(s) for s in stride)
        self.pads = tuple(int(p) for p in pads)
        self.dilation = tuple(int(d) for d in dilation)
        self.name = name
        self._init_params(self.out_channels, self.in_channels * kh * kw, np.random.default_rng(0))
        self.mask = self.group_mask()
        self.weight[~self.mask] = 0.0

    def group_mask(self) -> np.ndarray:
        """True on the block diagonal of a grouped convolution (everything for ``groups == 1``)."""
        g, k = self.groups, self.kh * self.kw
        co, ci = self.out_channels // g, self.in_channels // g
        m = np.zeros((self.out_channels, self.in_channels * k), dtype=bool)
        for i in range(g):
            m[i * co:(i + 1) * co, i * ci * k:(i + 1) * ci * k] = True
        return m

    def set_grouped_weight(self, w4: np.ndarray) -> None:
        """Install an ONNX/PyTorch weight (C_out, C_in/groups, kh, kw) as the block-diagonal matrix."""
        self.weight = conv_matrix(self, w4).astype(self.weight.dtype)

    def set_mask(self, mask: np.ndarray) -> None:
        super().set_mask(np.asarray(mask) & self.group_mask() if np.shape(mask) == self.weight.shape else mask)

    def _geometry(self, h: int, w: int) -> tuple[int, int]:
        t, l, b, r = self.pads
        oh = _out_size(h, self.kh, self.stride[0], t, b, self.dilation[0])
        ow = _out_size(w, self.kw, self.stride[1], l, r, self.dilation[1])
        return oh, ow

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        if len(input_shape) != 3 or input_shape[0] != self.in_channels:
            raise ConfigError(f"layer {self.name!r} expects input (C={self.in_channels}, H, W), got {input_shape}")
        oh, ow = self._geometry(input_shape[1], input_shape[2])
        if oh < 1 or ow < 1:
            raise ConfigError(f"layer {self.name!r}: input {input_shape} too small for kernel {(self.kh, self.kw)}")
        self.mvms_per_inference = oh * ow
        return (self.out_channels, oh, ow)

    def _pad(self, x: np.ndarray) -> np.ndarray:
        t, l, b, r = self.pads
        return np.pad(x, ((0, 0), (0, 0), (t, b), (l, r))) if any(self.pads) else x

    def _square(self) -> bool:
        """Square kernel, one stride, equal pads, no dilation: the compiled im2col / col2im of :mod:`._kernels`."""
        return (self.kh == self.kw and self.stride[0] == self.stride[1] and len(set(self.pads)) == 1
                and self.dilation == (1, 1))

    def forward(self, x: np.ndarray, train: bool = False, matmul: Optional[MatmulHook] = None) -> np.ndarray:
        n, c, h, w = x.shape
        oh, ow = self._geometry(h, w)
        if self._square():
            cols = np.empty((n * oh * ow, c * self.kh * self.kw), dtype=x.dtype)
            _kernels.im2col(np.ascontiguousarray(x), self.kh, self.kw, self.stride[0], self.pads[0], cols)
        else:
            xp = self._pad(x)
            cols = np.empty((n, oh, ow, c, self.kh, self.kw), dtype=x.dtype)
            for i in range(self.kh):
                for j in range(self.kw):
                    win = _windows(xp, self.kh, self.kw, *self.stride, *self.dilation, oh, ow, i, j)
                    cols[:, :, :, :, i, j] = win.transpose(0, 2, 3, 1)
            cols = cols.reshape(n * oh * ow, c * self.kh * self.kw)
        if train:
            self._cols, self._xshape = cols, x.shape
        y = self._linear(cols, matmul)
        return np.ascontiguousarray(y.reshape(n, oh, ow, -1).transpose(0, 3, 1, 2))

    def backward(self, grad: np.ndarray) -> np.ndarray:
        n, c, h, w = self._xshape
        oh, ow = grad.shape[2:]
        g = grad.transpose(0, 2, 3, 1).reshape(-1, self.out_channels)
        if self._square():
            gx = np.empty(self._xshape, dtype=grad.dtype)
            _kernels.col2im(np.ascontiguousarray(self._grad_linear(self._cols, g)), n, c, h, w, self.kh, self.kw,
                            self.stride[0], self.pads[0], gx)
            return gx
        gcols = self._grad_linear(self._cols, g).reshape(n, oh, ow, c, self.kh, self.kw)
        t, l, b, r = self.pads
        gx = np.zeros((n, c, h + t + b, w + l + r), dtype=grad.dtype)
        for i in range(self.kh):
            for j in range(self.kw):
                _windows(gx, self.kh, self.kw, *self.stride, *self.dilation, oh, ow, i, j)[...] += \
                    gcols[:, :, :, :, i, j].transpose(0, 3, 1, 2)
        return gx[:, :, t:t + h, l:l + w]


class ChannelAffine(Layer):
    """y = x * scale + shift per channel (axis 1): an unfolded BatchNormalization, or input normalisation."""

    def __init__(self, scale: np.ndarray, shift: np.ndarray, name: str = "affine"):
        self.scale, self.shift, self.name = np.asarray(scale, np.float64), np.asarray(shift, np.float64), name

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        if self.scale.size not in (1, input_shape[0]):
            raise ConfigError(f"layer {self.name!r}: {self.scale.size} channel values for input {input_shape}")
        return input_shape

    def _b(self, a: np.ndarray, x: np.ndarray) -> np.ndarray:
        return a.astype(x.dtype).reshape((1, -1) + (1,) * (x.ndim - 2))

    def forward(self, x: np.ndarray, train: bool = False, matmul: Optional[MatmulHook] = None) -> np.ndarray:
        return x * self._b(self.scale, x) + self._b(self.shift, x)

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return grad * self._b(self.scale, grad)


class BatchNorm(ChannelAffine):
    """Batch normalisation with PyTorch's parameters (``weight`` = gamma, ``bias`` = beta, ``running_mean``,
    ``running_var``, ``eps``): y = (x - mean) / sqrt(var + eps) * gamma + beta per channel (axis 1).

    By default the statistics are frozen (inference mode, also while fine-tuning an imported network: the layer is the
    affine map of its running statistics). With ``batch_statistics=True`` -- how hwsim trains a network with batch
    norm from scratch (Ioffe & Szegedy, ICML 2015) -- a training forward normalises by the batch's own mean and biased
    variance over (N, H, W), updates the running statistics as PyTorch does (``momentum``, unbiased variance) and
    learns gamma and beta; evaluation uses the running statistics.
    """

    def __init__(self, channels: int, eps: float = 1e-5, name: str = "bn", batch_statistics: bool = False,
                 momentum: float = 0.1):
        if channels < 1 or not eps > 0:
            raise ConfigError(f"layer {name!r}: batch norm needs channels >= 1 and eps > 0, got {channels}, {eps}")
        if not 0 < momentum <= 1:
            raise ConfigError(f"layer {name!r}: batch norm momentum must lie in (0, 1], got {momentum}")
        self.channels, self.eps = int(channels), float(eps)
        self.batch_statistics, self.momentum = bool(batch_statistics), float(momentum)
        self.gamma, self.beta = np.ones(self.channels), np.zeros(self.channels)
        self.grad_gamma, self.grad_beta = np.zeros(self.channels), np.zeros(self.channels)
        self.running_mean, self.running_var = np.zeros(self.channels), np.ones(self.channels)
        super().__init__(np.ones(self.channels), np.zeros(self.channels), name=name)
        self.refresh()

    def refresh(self) -> None:
        """Recompute scale and shift from the parameters (after they were set)."""
        if np.any(self.running_var + self.eps <= 0):
            raise DataError(f"layer {self.name!r}: running_var + eps must be > 0")
        self.scale = self.gamma / np.sqrt(self.running_var + self.eps)
        self.shift = self.beta - self.running_mean * self.scale

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        if not input_shape or input_shape[0] != self.channels:
            raise ConfigError(f"layer {self.name!r}: batch norm of {self.channels} channels after an input of shape "
                              f"{input_shape}")
        return input_shape

    def params(self) -> list[tuple[str, np.ndarray, np.ndarray]]:
        return [("weight", self.gamma, self.grad_gamma), ("bias", self.beta, self.grad_beta)] \
            if self.batch_statistics else []

    def forward(self, x: np.ndarray, train: bool = False, matmul: Optional[MatmulHook] = None) -> np.ndarray:
        if not (train and self.batch_statistics):
            if self.batch_statistics:  # gamma / beta / statistics move while training
                self.refresh()
            return super().forward(x, train, matmul)
        axes = (0,) + tuple(range(2, x.ndim))
        count = x.size // self.channels
        if count < 2:
            raise DataError(f"layer {self.name!r}: batch statistics need more than one value per channel")
        mean = x.mean(axis=axes, dtype=np.float64)
        var = x.var(axis=axes, dtype=np.float64)
        inv_std = 1.0 / np.sqrt(var + self.eps)
        self.running_mean = (1 - self.momentum) * self.running_mean + self.momentum * mean
        self.running_var = (1 - self.momentum) * self.running_var + self.momentum * var * count / (count - 1)
        xhat = (x - self._b(mean, x)) * self._b(inv_std, x)
        self._xhat, self._inv_std, self._axes = xhat, inv_std, axes
        return xhat * self._b(self.gamma, x) + self._b(self.beta, x)

    def backward(self, grad: np.ndarray) -> np.ndarray:
        if not self.batch_statistics:
            return super().backward(grad)
        xhat, axes = self._xhat, self._axes
        count = grad.size // self.channels
        self.grad_beta = grad.sum(axis=axes, dtype=np.float64)
        self.grad_gamma = (grad * xhat).sum(axis=axes, dtype=np.float64)
        k = self.gamma * self._inv_std / count
        gx = (grad * count - self._b(self.grad_beta, grad) - xhat * self._b(self.grad_gamma, grad)) * self._b(k, grad)
        return gx.astype(grad.dtype, copy=False)


class Elementwise(Layer):
    """A pointwise activation: LeakyRelu, Clip, Sigmoid, Tanh, Gelu (exact erf form), Identity."""

    def __init__(self, kind: str, alpha: float = 0.01, lo: float = -np.inf, hi: float = np.inf, name: str = ""):
        if kind not in ("leakyrelu", "clip", "sigmoid", "tanh", "gelu", "identity"):
            raise ConfigError(f"unknown activation {kind!r}")
        self.kind, self.alpha, self.lo, self.hi = kind, float(alpha), float(lo), float(hi)
        self.name = name or kind

    def forward(self, x: np.ndarray, train: bool = False, matmul: Optional[MatmulHook] = None) -> np.ndarray:
        k = self.kind
        if train:
            self._x = x
        if k == "leakyrelu":
            return np.where(x >= 0, x, x * x.dtype.type(self.alpha))
        if k == "clip":
            return np.clip(x, self.lo, self.hi).astype(x.dtype, copy=False)
        if k == "sigmoid":
            return (1.0 / (1.0 + np.exp(-x))).astype(x.dtype, copy=False)
        if k == "tanh":
            return np.tanh(x)
        if k == "gelu":
            return (0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))).astype(x.dtype, copy=False)
        return x

    def backward(self, grad: np.ndarray) -> np.ndarray:
        x, k = self._x, self.kind
        if k == "leakyrelu":
            return np.where(x >= 0, grad, grad * grad.dtype.type(self.alpha))
        if k == "clip":
            return grad * ((x >= self.lo) & (x <= self.hi))
        if k == "sigmoid":
            s = 1.0 / (1.0 + np.exp(-x))
            return (grad * s * (1 - s)).astype(grad.dtype, copy=False)
        if k == "tanh":
            return grad * (1 - np.tanh(x) ** 2)
        if k == "gelu":
            cdf = 0.5 * (1.0 + _erf(x / math.sqrt(2.0)))
            pdf = np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
            return (grad * (cdf + x * pdf)).astype(grad.dtype, copy=False)
        return grad


_ERF = np.frompyfunc(math.erf, 1, 1)


def _erf(x: np.ndarray) -> np.ndarray:
    return _ERF(x.astype(np.float64)).astype(np.float64)


class Pool(Layer):
    """Max or average pooling with any kernel, stride, pads, dilation (max), ceil_mode and count_include_pad;
    ``global_`` averages each channel to 1 x 1."""

    def __init__(self, kind: str, kernel=(1, 1), stride=(1, 1), pads=(0, 0, 0, 0), dilation=(1, 1),
                 ceil_mode: bool = False, count_include_pad: bool = False, global_: bool = False, name: str = "pool"):
        self.kind, self.kernel, self.stride, self.pads = kind, tuple(kernel), tuple(stride), tuple(pads)
        self.dilation, self.ceil, self.include_pad, self.global_ = tuple(dilation), ceil_mode, count_include_pad, global_
        self.name = name

    def _geom(self, h: int, w: int) -> tuple[int, int, int, int, tuple[int, int, int, int]]:
        if self.global_:
            return h, w, 1, 1, (0, 0, 0, 0)
        (kh, kw), (sh, sw), (t, l, b, r), (dh, dw) = self.kernel, self.stride, self.pads, self.dilation
        oh = _out_size(h, kh, sh, t, b, dh, self.ceil)
        ow = _out_size(w, kw, sw, l, r, dw, self.ceil)
        if self.ceil:  # the last window must start inside the (left-padded) input
            if (oh - 1) * sh >= h + t:
                oh -= 1
            if (ow - 1) * sw >= w + l:
                ow -= 1
        # extra bottom/right padding so every window of a ceil-mode output exists
        eb = max(0, (oh - 1) * sh + dh * (kh - 1) + 1 - (h + t + b))
        er = max(0, (ow - 1) * sw + dw * (kw - 1) + 1 - (w + l + r))
        return kh, kw, oh, ow, (t, l, b + eb, r + er)

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        if len(input_shape) != 3:
            raise ConfigError(f"layer {self.name!r} expects (C, H, W) input, got {input_shape}")
        _, _, oh, ow, _ = self._geom(*input_shape[1:])
        if oh < 1 or ow < 1:
            raise ConfigError(f"layer {self.name!r}: input {input_shape} too small for kernel {self.kernel}")
        return (input_shape[0], oh, ow)

    def forward(self, x: np.ndarray, train: bool = False, matmul: Optional[MatmulHook] = None) -> np.ndarray:
        n, c, h, w = x.shape
        if self.global_:
            if train:
                self._xshape = x.shape
            return x.mean(axis=(2, 3), keepdims=True)
        kh, kw, oh, ow, (t, l, b, r) = self._geom(h, w)
        fill = -np.inf if self.kind == "max" else 0.0
        xp = np.pad(x, ((0, 0), (0, 0), (t, b), (l, r)), constant_values=fill)
        (sh, sw), (dh, dw) = self.stride, self.dilation
        taps = np.stack([_windows(xp, kh, kw, sh, sw, dh, dw, oh, ow, i, j) for i in range(kh) for j in range(kw)])
        if self.kind == "max":
            arg = taps.argmax(axis=0)
            out = np.take_along_axis(taps, arg[None], axis=0)[0]
            if train:
                self._arg = arg
        else:
            if self.include_pad:  # ONNX: the explicit pads count, the ceil-mode overhang does not
                ones = np.pad(np.ones((1, 1, h + self.pads[0] + self.pads[2], w + self.pads[1] + self.pads[3])),
                              ((0, 0), (0, 0), (0, b - self.pads[2]), (0, r - self.pads[3])))
            else:
                ones = np.pad(np.ones((1, 1, h, w)), ((0, 0), (0, 0), (t, b), (l, r)))
            cnt = sum(_windows(ones, kh, kw, sh, sw, dh, dw, oh, ow, i, j) for i in range(kh) for j in range(kw))
            out = (taps.sum(axis=0) / cnt).astype(x.dtype, copy=False)
            if train:
                self._cnt = cnt
        if train:
            self._xshape, self._padded = x.shape, xp.shape
        return np.ascontiguousarray(out)

    def backward(self, grad: np.ndarray) -> np.ndarray:
        n, c, h, w = self._xshape
        if self.global_:
            return np.broadcast_to(grad / (h * w), self._xshape).astype(grad.dtype)
        kh, kw, oh, ow, (t, l, b, r) = self._geom(h, w)
        (sh, sw), (dh, dw) = self.stride, self.dilation
        gx = np.zeros(self._padded, dtype=grad.dtype)
        for idx in range(kh * kw):
            i, j = divmod(idx, kw)
            g = grad * (self._arg == idx) if self.kind == "max" else grad / self._cnt
            _windows(gx, kh, kw, sh, sw, dh, dw, oh, ow, i, j)[...] += g
        return gx[:, :, t:t + h, l:l + w]


class Reshape(Layer):
    """Flatten / Reshape to ``shape`` (without the batch axis)."""

    def __init__(self, shape: tuple[int, ...], name: str = "reshape"):
        self.shape, self.name = tuple(int(s) for s in shape), name

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        if math.prod(input_shape) != math.prod(self.shape):
            raise ConfigError(f"layer {self.name!r}: cannot reshape {input_shape} to {self.shape}")
        return self.shape

    def forward(self, x: np.ndarray, train: bool = False, matmul: Optional[MatmulHook] = None) -> np.ndarray:
        if train:
            self._xshape = x.shape
        return x.reshape((x.shape[0],) + self.shape)

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return grad.reshape(self._xshape)


class Softmax(Layer):
    def __init__(self, axis: int = -1, name: str = "softmax"):
        self.axis, self.name = axis, name

    def forward(self, x: np.ndarray, train: bool = False, matmul: Optional[MatmulHook] = None) -> np.ndarray:
        e = np.exp(x - x.max(axis=self.axis, keepdims=True))
        y = e / e.sum(axis=self.axis, keepdims=True)
        if train:
            self._y = y
        return y

    def backward(self, grad: np.ndarray) -> np.ndarray:
        y = self._y
        return y * (grad - (grad * y).sum(axis=self.axis, keepdims=True))


class MultiInput(Layer):
    """A layer of several inputs: ``forward_many`` / ``backward_many``."""

    def output_shape_many(self, shapes: Sequence[tuple[int, ...]]) -> tuple[int, ...]:
        raise NotImplementedError

    def forward_many(self, xs: Sequence[np.ndarray], train: bool = False) -> np.ndarray:
        raise NotImplementedError

    def backward_many(self, grad: np.ndarray) -> list[np.ndarray]:
        raise NotImplementedError


class Add(MultiInput):
    """Sum of its inputs (a residual connection), with an optional constant (broadcast without the batch axis)."""

    def __init__(self, const: Optional[np.ndarray] = None, name: str = "add"):
        self.const, self.name = (None if const is None else np.asarray(const, np.float64)), name

    def output_shape_many(self, shapes: Sequence[tuple[int, ...]]) -> tuple[int, ...]:
        if any(s != shapes[0] for s in shapes):
            raise ConfigError(f"layer {self.name!r}: inputs of different shapes {list(shapes)}")
        if self.const is not None:
            try:
                np.broadcast_shapes((1,) + shapes[0], self.const.shape)
            except ValueError:
                raise ConfigError(f"layer {self.name!r}: constant {self.const.shape} does not broadcast to "
                                  f"{shapes[0]}") from None
        return shapes[0]

    def forward_many(self, xs: Sequence[np.ndarray], train: bool = False) -> np.ndarray:
        y = xs[0]
        for x in xs[1:]:
            y = y + x
        if self.const is not None:
            y = y + self.const.astype(y.dtype)
        self._n = len(xs)
        return y

    def backward_many(self, grad: np.ndarray) -> list[np.ndarray]:
        return [grad] * self._n


class Concat(MultiInput):
    def __init__(self, axis: int, name: str = "concat"):
        self.axis, self.name = int(axis), name  # axis without the batch axis (>= 0)

    def output_shape_many(self, shapes: Sequence[tuple[int, ...]]) -> tuple[int, ...]:
        a = self.axis
        if any(len(s) != len(shapes[0]) or s[:a] + s[a + 1:] != shapes[0][:a] + shapes[0][a + 1:] for s in shapes):
            raise ConfigError(f"layer {self.name!r}: cannot concatenate {list(shapes)} on axis {a + 1}")
        return shapes[0][:a] + (sum(s[a] for s in shapes),) + shapes[0][a + 1:]

    def forward_many(self, xs: Sequence[np.ndarray], train: bool = False) -> np.ndarray:
        self._sizes = [x.shape[self.axis + 1] for x in xs]
        return np.concatenate(xs, axis=self.axis + 1)

    def backward_many(self, grad: np.ndarray) -> list[np.ndarray]:
        return np.split(grad, np.cumsum(self._sizes)[:-1], axis=self.axis + 1)


@dataclass
class Node:
    """One layer of the graph: ``layer`` applied to the tensors named ``inputs``, producing ``output``."""

    layer: Layer
    inputs: list[str]
    output: str


class GraphNetwork(Network):
    """A network whose layers form a DAG over named tensors (see module doc). ``nodes`` in topological order."""

    def __init__(self, nodes: Sequence[Node], input_name: str, input_shape: tuple[int, ...], output_name: str,
                 name: str = "graph", classes: Optional[Sequence[str]] = None):
        self.nodes = list(nodes)
        self.layers = [nd.layer for nd in self.nodes]
        self.input_name, self.output_name = input_name, output_name
        self.input_shape = tuple(int(s) for s in input_shape)
        self.name = name
        self.classes = list(classes) if classes is not None else None
        shapes: dict[str, tuple[int, ...]] = {input_name: self.input_shape}
        for nd in self.nodes:
            missing = [t for t in nd.inputs if t not in shapes]
            if missing:
                raise ConfigError(f"layer {nd.layer.name!r}: input tensor(s) {missing} not produced before it")
            if nd.output in shapes:
                raise ConfigError(f"tensor {nd.output!r} is produced twice")
            ins = [shapes[t] for t in nd.inputs]
            shapes[nd.output] = (nd.layer.output_shape_many(ins) if isinstance(nd.layer, MultiInput)
                                 else nd.layer.output_shape(ins[0]))
        if output_name not in shapes:
            raise ConfigError(f"graph output {output_name!r} is never produced")
        self.shapes = shapes
        self.output_shape = shapes[output_name]
        if not self.weighted_layers():
            raise ConfigError(f"network {name!r} has no weighted layer (Conv, Gemm, MatMul)")
        seen: set[str] = set()
        for idx, layer in enumerate(self.weighted_layers()):
            layer.index = idx
            if layer.name in seen:
                raise ConfigError(f"duplicate layer name {layer.name!r} in network {name!r}")
            seen.add(layer.name)
        last: dict[str, int] = {}
        for i, nd in enumerate(self.nodes):
            for t in nd.inputs:
                last[t] = i
        self._last_use = last

    def num_weights(self) -> int:
        """Real weights: the structural zeros between the groups of a grouped convolution are not counted."""
        return int(sum(real_weights(l) for l in self.weighted_layers()))

    def num_params(self) -> int:
        return self.num_weights() + int(sum(l.bias.size for l in self.weighted_layers()))

    def sparsity(self) -> float:
        """Fraction of the real weights that are pruned (structural zeros between groups are not pruned weights)."""
        kept = 0
        for l in self.weighted_layers():
            sup = support(l)
            kept += int(l.mask.sum() if sup is None else (l.mask & sup).sum())
        return 1.0 - kept / self.num_weights()

    def forward(self, x: np.ndarray, train: bool = False, matmul: Optional[MatmulHook] = None,
                validate: bool = True) -> np.ndarray:
        if validate:
            x = self.validate_input(x)
        env = {self.input_name: x}
        for i, nd in enumerate(self.nodes):
            ins = [env[t] for t in nd.inputs]
            if isinstance(nd.layer, MultiInput):
                env[nd.output] = nd.layer.forward_many(ins, train=train)
            else:
                env[nd.output] = nd.layer.forward(ins[0], train=train, matmul=matmul)
            for t in set(nd.inputs):
                if self._last_use[t] == i and t != self.output_name:
                    del env[t]
        return env[self.output_name]

    def backward(self, grad: np.ndarray) -> np.ndarray:
        grads: dict[str, np.ndarray] = {self.output_name: grad}
        for nd in reversed(self.nodes):
            g = grads.pop(nd.output, None)
            if g is None:  # a branch that does not reach the output
                continue
            gin = nd.layer.backward_many(g) if isinstance(nd.layer, MultiInput) else [nd.layer.backward(g)]
            for t, gi in zip(nd.inputs, gin):
                grads[t] = grads[t] + gi if t in grads else gi
        return grads[self.input_name]

    def __repr__(self) -> str:
        return (f"GraphNetwork({self.name!r}, {len(self.nodes)} nodes, {len(self.weighted_layers())} weighted layers, "
                f"{self.num_params()} params)")
