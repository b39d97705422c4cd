"""Layers of the numpy network runtime, forward and backward.

Images are NCHW float arrays. Every weighted layer (:class:`Dense`, :class:`Conv2d`) holds one 2-D
weight matrix ``weight`` of shape (out_features, in_features) -- a convolution's is
(C_out, C_in*kh*kw) through im2col -- a same-shape boolean ``mask`` that forward and backward respect
(a pruned weight stays exactly 0 through training), and ``mvms_per_inference``: the matrix-vector
products one inference makes with the matrix (1 for a dense layer, output pixels for a convolution).
"""
from __future__ import annotations

from typing import Callable, Optional

import numpy as np

from ..errors import ConfigError, DataError
from . import _kernels

#: matmul hook: (weighted-layer index, cols (n, in_features)) -> (n, out_features), bias not included.
MatmulHook = Callable[[int, np.ndarray], np.ndarray]


class Layer:
    """Base class: ``forward`` caches what ``backward`` needs when ``train`` is true."""

    name: str = ""

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return input_shape

    def forward(self, x: np.ndarray, train: bool = False, matmul: Optional[MatmulHook] = None) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def params(self) -> list[tuple[str, np.ndarray, np.ndarray]]:
        """(name, parameter, gradient) triples; empty for layers without weights."""
        return []

    def astype(self, dtype: np.dtype) -> None:
        """Convert parameters to ``dtype`` in place."""


class WeightedLayer(Layer):
    """A layer computing ``cols @ (weight * mask).T + bias``."""

    weight: np.ndarray
    bias: np.ndarray
    mask: np.ndarray
    grad_weight: np.ndarray
    grad_bias: np.ndarray
    mvms_per_inference: int = 1
    index: int = -1
    """Position among the network's weighted layers (set by the Network)."""

    def _init_params(self, out_f: int, in_f: int, rng: np.random.Generator) -> None:
        # He (Kaiming) normal initialisation for ReLU networks: He et al., ICCV 2015.
        self.weight = (rng.standard_normal((out_f, in_f)) * np.sqrt(2.0 / in_f)).astype(np.float32)
        self.bias = np.zeros(out_f, dtype=np.float32)
        self.mask = np.ones((out_f, in_f), dtype=bool)
        self.grad_weight = np.zeros_like(self.weight)
        self.grad_bias = np.zeros_like(self.bias)

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.weight.shape[0]), int(self.weight.shape[1]))

    def effective_weight(self) -> np.ndarray:
        """The weight matrix with pruned entries exactly zero."""
        return np.where(self.mask, self.weight, np.zeros((), dtype=self.weight.dtype))

    def set_mask(self, mask: np.ndarray) -> None:
        """Install a pruning mask (True = kept) and zero the pruned weights."""
        m = np.asarray(mask)
        if m.shape != self.weight.shape:
            raise ConfigError(f"layer {self.name!r}: mask shape {m.shape} != weight shape {self.weight.shape}")
        self.mask = m.astype(bool, copy=True)
        self.weight[~self.mask] = 0.0

    def _checked(self, kind: str, value: np.ndarray, like: np.ndarray) -> np.ndarray:
        """``value`` as a copy in ``like``'s dtype, or DataError if its shape differs or it holds NaN/inf."""
        a = np.asarray(value)
        if a.shape != like.shape:
            raise DataError(f"layer {self.name!r}: {kind} shape {a.shape} != expected {like.shape}")
        if not np.all(np.isfinite(a)):
            raise DataError(f"layer {self.name!r}: {kind} holds NaN/inf values")
        return a.astype(like.dtype, copy=True)

    def set_weight(self, weight: np.ndarray, bias: Optional[np.ndarray] = None) -> None:
        self.weight = self._checked("weight", weight, self.weight)
        if bias is not None:
            self.bias = self._checked("bias", bias, self.bias)
        self.weight[~self.mask] = 0.0

    def _linear(self, cols: np.ndarray, matmul: Optional[MatmulHook]) -> np.ndarray:
        if matmul is None:
            y = cols @ self.effective_weight().T
        else:
            y = np.asarray(matmul(self.index, cols))
            if y.shape != (cols.shape[0], self.weight.shape[0]):
                raise ConfigError(f"layer {self.name!r}: matmul hook returned shape {y.shape}, "
                                  f"expected {(cols.shape[0], self.weight.shape[0])}")
        return y + self.bias

    def _grad_linear(self, cols: np.ndarray, grad: np.ndarray) -> np.ndarray:
        gw = grad.T @ cols
        gw[~self.mask] = 0.0
        self.grad_weight = gw.astype(self.weight.dtype, copy=False)
        self.grad_bias = grad.sum(axis=0).astype(self.bias.dtype, copy=False)
        return grad @ self.effective_weight()

    def params(self) -> list[tuple[str, np.ndarray, np.ndarray]]:
        """Weight and bias; the bias stays fixed (at 0) on a layer declared without one (``has_bias = False``: a
        convolution before a batch norm, whose beta is the bias)."""
        p = [("weight", self.weight, self.grad_weight)]
        return p + [("bias", self.bias, self.grad_bias)] if getattr(self, "has_bias", True) else p

    def astype(self, dtype: np.dtype) -> None:
        self.weight = self.weight.astype(dtype)
        self.bias = self.bias.astype(dtype)
        self.grad_weight = np.zeros_like(self.weight)
        self.grad_bias = np.zeros_like(self.bias)


class Dense(WeightedLayer):
    """Fully connected layer: y = x W^T + b, W of shape (out_features, in_features)."""

    def __init__(self, in_features: int, out_features: int, name: str = "", seed: int | np.random.Generator = 0):
        if in_features < 1 or out_features < 1:
            raise ConfigError(f"Dense: features must be >= 1, got in={in_features}, out={out_features}")
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.name = name or f"fc{in_features}x{out_features}"
        self._init_params(self.out_features, self.in_features, np.random.default_rng(seed))
        self.mvms_per_inference = 1

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        if input_shape != (self.in_features,):
            raise ConfigError(f"layer {self.name!r} expects input shape ({self.in_features},), got {input_shape}")
        return (self.out_features,)

    def forward(self, x: np.ndarray, train: bool = False, matmul: Optional[MatmulHook] = None) -> np.ndarray:
        if train:
            self._x = x
        return self._linear(x, matmul)

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return self._grad_linear(self._x, grad)


class Conv2d(WeightedLayer):
    """2-D convolution through im2col; weight matrix (C_out, C_in*kh*kw)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, padding: int = 0,
                 name: str = "", seed: int | np.random.Generator = 0):
        if min(in_channels, out_channels, kernel_size, stride) < 1 or padding < 0:
            raise ConfigError(f"Conv2d: invalid geometry in={in_channels} out={out_channels} k={kernel_size} "
                              f"stride={stride} pad={padding}")
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.k, self.stride, self.pad = int(kernel_size), int(stride), int(padding)
        self.name = name or f"conv{in_channels}x{out_channels}k{kernel_size}"
        self._init_params(self.out_channels, self.in_channels * self.k * self.k, np.random.default_rng(seed))
        self.mvms_per_inference = 1

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        if len(input_shape) != 3 or input_shape[0] != self.in_channels:
            raise ConfigError(f"layer {self.name!r} expects input (C={self.in_channels}, H, W), got {input_shape}")
        _, h, w = input_shape
        oh = (h + 2 * self.pad - self.k) // self.stride + 1
        ow = (w + 2 * self.pad - self.k) // self.stride + 1
        if oh < 1 or ow < 1:
            raise ConfigError(f"layer {self.name!r}: input {input_shape} too small for kernel {self.k}")
        self.mvms_per_inference = oh * ow
        return (self.out_channels, oh, ow)

    def forward(self, x: np.ndarray, train: bool = False, matmul: Optional[MatmulHook] = None) -> np.ndarray:
        n, c, h, w = x.shape
        oh = (h + 2 * self.pad - self.k) // self.stride + 1
        ow = (w + 2 * self.pad - self.k) // self.stride + 1
        cols = np.empty((n * oh * ow, c * self.k * self.k), dtype=x.dtype)
        _kernels.im2col(np.ascontiguousarray(x), self.k, self.k, self.stride, self.pad, cols)
        if train:
            self._cols, self._xshape = cols, x.shape
        y = self._linear(cols, matmul)  # (n*oh*ow, C_out)
        return np.ascontiguousarray(y.reshape(n, oh, ow, -1).transpose(0, 3, 1, 2))

    def backward(self, grad: np.ndarray) -> np.ndarray:
        n, c, h, w = self._xshape
        g = grad.transpose(0, 2, 3, 1).reshape(-1, self.out_channels)
        gcols = np.ascontiguousarray(self._grad_linear(self._cols, g))
        out = np.empty(self._xshape, dtype=grad.dtype)
        _kernels.col2im(gcols, n, c, h, w, self.k, self.k, self.stride, self.pad, out)
        return out


class ReLU(Layer):
    name = "relu"

    def forward(self, x: np.ndarray, train: bool = False, matmul: Optional[MatmulHook] = None) -> np.ndarray:
        if train:
            self._pos = x > 0
        return np.maximum(x, 0)

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return grad * self._pos


class MaxPool2d(Layer):
    """k x k max pooling (first maximum wins ties), stride defaults to k."""

    def __init__(self, kernel_size: int, stride: Optional[int] = None):
        self.k = int(kernel_size)
        self.stride = int(stride or kernel_size)
        if self.k < 1 or self.stride < 1:
            raise ConfigError(f"MaxPool2d: kernel and stride must be >= 1, got {kernel_size}, {stride}")
        self.name = f"maxpool{self.k}"

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        c, h, w = input_shape
        return (c, (h - self.k) // self.stride + 1, (w - self.k) // self.stride + 1)

    def forward(self, x: np.ndarray, train: bool = False, matmul: Optional[MatmulHook] = None) -> np.ndarray:
        n, c, h, w = x.shape
        _, oh, ow = self.output_shape((c, h, w))
        out = np.empty((n, c, oh, ow), dtype=x.dtype)
        am = np.empty((n, c, oh, ow), dtype=np.int64)
        _kernels.maxpool_forward(np.ascontiguousarray(x), self.k, self.stride, out, am)
        if train:
            self._am, self._xshape = am, x.shape
        return out

    def backward(self, grad: np.ndarray) -> np.ndarray:
        n, c, h, w = self._xshape
        out = np.empty(self._xshape, dtype=grad.dtype)
        _kernels.maxpool_backward(np.ascontiguousarray(grad), self._am, h, w, out)
        return out


class AvgPool2d(Layer):
    """k x k average pooling with stride k (non-overlapping); trailing rows/cols that do not fill a window are dropped."""

    def __init__(self, kernel_size: int):
        self.k = int(kernel_size)
        if self.k < 1:
            raise ConfigError(f"AvgPool2d: kernel must be >= 1, got {kernel_size}")
        self.name = f"avgpool{self.k}"

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        c, h, w = input_shape
        return (c, h // self.k, w // self.k)

    def forward(self, x: np.ndarray, train: bool = False, matmul: Optional[MatmulHook] = None) -> np.ndarray:
        n, c, h, w = x.shape
        oh, ow = h // self.k, w // self.k
        if train:
            self._xshape = x.shape
        xs = x[:, :, :oh * self.k, :ow * self.k].reshape(n, c, oh, self.k, ow, self.k)
        return xs.mean(axis=(3, 5))

    def backward(self, grad: np.ndarray) -> np.ndarray:
        n, c, h, w = self._xshape
        oh, ow = grad.shape[2:]
        g = np.repeat(np.repeat(grad, self.k, axis=2), self.k, axis=3) / (self.k * self.k)
        out = np.zeros(self._xshape, dtype=grad.dtype)
        out[:, :, :oh * self.k, :ow * self.k] = g
        return out


class Flatten(Layer):
    name = "flatten"

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return (int(np.prod(input_shape)),)

    def forward(self, x: np.ndarray, train: bool = False, matmul: Optional[MatmulHook] = None) -> np.ndarray:
        if train:
            self._xshape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return grad.reshape(self._xshape)
