"""The im2col order: how a convolution weight becomes the 2-D matrix the hardware stores, in one place.

A convolution weight ``W`` of shape (C_out, C_in/groups, kh, kw) -- PyTorch's ``conv.weight``, ONNX's Conv ``W``, a
4-D array in a weights ``.npz`` -- is the matrix ``W.reshape(C_out, -1)`` of shape (C_out, C_in/groups*kh*kw):
column ``(c * kh + i) * kw + j`` holds input channel ``c`` (within its group), kernel row ``i``, kernel column
``j``. One MVM per output pixel (y, x) multiplies it by that pixel's receptive field in the same order,
``x_padded[c, y*stride + i*dilation, x*stride + j*dilation]`` (:func:`hwsim.nn.graph.GraphConv.forward`, and the
zoo's :class:`hwsim.nn.Conv2d` through its numba im2col kernel). A grouped (or depthwise) convolution is one
block-diagonal matrix (C_out, C_in*kh*kw): group ``g``'s rows ``g*C_out/groups ...`` sit over its own columns
``g*C_in/groups*kh*kw ...`` (:func:`conv_matrix`); the entries between groups are structural zeros, masked from
the start, so the hardware sees a sparse matrix whose empty tiles it skips. They are not parameters:
:func:`real_weights`, :func:`layer_sparsity`, :meth:`hwsim.nn.GraphNetwork.sparsity` and the pruning targets
(:func:`supports`, ``hwsim.prune.select(support=...)``) count only the real weights.

``tests/test_torch_state.py`` checks this order against PyTorch's ``conv2d`` (a fixture from real torch).
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ..errors import DataError
from .layers import Conv2d, Layer, WeightedLayer


def kernel_shape(layer: Layer) -> Optional[tuple[int, int, int, int]]:
    """The 4-D weight shape (C_out, C_in/groups, kh, kw) of a convolution layer (:class:`GraphConv` or the zoo's
    :class:`hwsim.nn.Conv2d`), or None for any other layer."""
    if hasattr(layer, "kh") and hasattr(layer, "groups"):  # GraphConv
        return (layer.out_channels, layer.in_channels // layer.groups, layer.kh, layer.kw)
    if isinstance(layer, Conv2d):
        return (layer.out_channels, layer.in_channels, layer.k, layer.k)
    return None


def conv_matrix(layer: Layer, w: np.ndarray, what: str = "") -> np.ndarray:
    """A convolution weight as ``layer`` 's 2-D matrix (float64): 4-D (C_out, C_in/groups, kh, kw) in the im2col
    order of the module doc (block-diagonal for groups > 1), or already that matrix. DataError naming ``what`` (or
    the layer) when the shape fits neither."""
    ks = kernel_shape(layer)
    what = what or f"layer {layer.name!r}"
    w = np.asarray(w)
    shape2 = tuple(getattr(layer, "weight").shape)
    if ks is None or w.ndim not in (2, 4) or (w.ndim == 4 and w.shape != ks) or (w.ndim == 2 and w.shape != shape2):
        want = f"{ks} (or its im2col matrix {shape2})" if ks is not None else f"{shape2}"
        raise DataError(f"{what}: weight of shape {tuple(w.shape)} does not fit {getattr(layer, 'name', '')!r}, "
                        f"which takes {want}")
    if w.ndim == 2:
        return w.astype(np.float64)
    g = getattr(layer, "groups", 1)
    co, ci, kh, kw = ks
    flat = w.reshape(co, -1).astype(np.float64)
    if g == 1:
        return flat
    k = ci * kh * kw
    full = np.zeros(shape2, dtype=np.float64)
    step = co // g
    for i in range(g):
        full[i * step:(i + 1) * step, i * k:(i + 1) * k] = flat[i * step:(i + 1) * step]
    return full


def kernel_weight(layer: Layer, w: np.ndarray) -> np.ndarray:
    """The 4-D (C_out, C_in/groups, kh, kw) weight of convolution ``layer`` given its im2col matrix ``w`` (the
    inverse of :func:`conv_matrix`: the diagonal blocks for groups > 1), in ``w`` 's dtype."""
    co, ci, kh, kw = kernel_shape(layer)
    g = getattr(layer, "groups", 1)
    if g == 1:
        return w.reshape(co, ci, kh, kw)
    step, k = co // g, ci * kh * kw
    return np.concatenate([w[i * step:(i + 1) * step, i * k:(i + 1) * k] for i in range(g)]).reshape(co, ci, kh, kw)


def conv_mask(layer: Layer, m: np.ndarray, what: str = "") -> np.ndarray:
    """A mask given like a weight (4-D or the matrix) as ``layer`` 's 2-D mask (False between groups)."""
    full = conv_matrix(layer, np.asarray(m).astype(np.float64), what) != 0
    sup = support(layer)
    return full if sup is None else full & sup


def support(layer: Layer) -> Optional[np.ndarray]:
    """Where ``layer`` 's matrix holds real parameters: the block diagonal of a grouped convolution; None (all of
    it) for every other layer."""
    if getattr(layer, "groups", 1) > 1 and hasattr(layer, "group_mask"):  # GraphConv
        return layer.group_mask()
    return None


def real_weights(layer: WeightedLayer) -> int:
    """Number of real weights (parameters) of ``layer``: its matrix without the structural zeros between groups."""
    sup = support(layer)
    return int(layer.weight.size if sup is None else sup.sum())


def layer_sparsity(layer: WeightedLayer) -> float:
    """Fraction of ``layer`` 's real weights that are pruned (structural zeros between groups not counted)."""
    sup = support(layer)
    kept = int(layer.mask.sum() if sup is None else (layer.mask & sup).sum())
    return 1.0 - kept / real_weights(layer)


def supports(network: Any) -> Optional[list[np.ndarray]]:
    """Per weighted layer, where its matrix holds real parameters (see :func:`support`); None when that is
    everywhere in every layer (no grouped convolution), which selection treats as the default."""
    layers = network.weighted_layers()
    sups = [support(l) for l in layers]
    if all(s is None for s in sups):
        return None
    return [np.ones(l.weight.shape, dtype=bool) if s is None else s for l, s in zip(layers, sups)]
