"""A sequential network of :mod:`hwsim.nn.layers` with input validation and weight I/O."""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Iterator, Optional, Sequence

import numpy as np

from ..errors import ConfigError, DataError
from ..workload import MatrixLayer
from .layers import Layer, MatmulHook, WeightedLayer


class Network:
    """A feed-forward stack of layers on inputs of shape ``input_shape`` (without the batch axis)."""

    def __init__(self, layers: Sequence[Layer], input_shape: tuple[int, ...], name: str = "network",
                 classes: Optional[Sequence[str]] = None):
        self.layers = list(layers)
        self.input_shape = tuple(int(s) for s in input_shape)
        self.name = name
        self.classes = list(classes) if classes is not None else None
        shape = self.input_shape
        seen: set[str] = set()
        for i, layer in enumerate(self.layers):
            shape = layer.output_shape(shape)
        self.output_shape = shape
        for idx, layer in enumerate(self.weighted_layers()):
            layer.index = idx
            if layer.name in seen:
                raise ConfigError(f"duplicate layer name {layer.name!r} in network {name!r}")
            seen.add(layer.name)

    # ---- structure -------------------------------------------------------------------------------------------
    def weighted_layers(self) -> list[WeightedLayer]:
        """The layers holding a weight matrix, in network order."""
        return [l for l in self.layers if isinstance(l, WeightedLayer)]

    def matrix_layers(self) -> Iterator[MatrixLayer]:
        """The masked weight matrices as the hardware sees them (exact zeros = pruned)."""
        for l in self.weighted_layers():
            yield MatrixLayer(l.name, l.effective_weight(), l.mvms_per_inference)

    def num_weights(self) -> int:
        return int(sum(l.weight.size for l in self.weighted_layers()))

    def num_params(self) -> int:
        return int(sum(l.weight.size + l.bias.size for l in self.weighted_layers()))

    def sparsity(self) -> float:
        """Fraction of pruned (masked) weights over all weight matrices."""
        total = self.num_weights()
        kept = sum(int(l.mask.sum()) for l in self.weighted_layers())
        return 1.0 - kept / total

    def mvms_per_inference(self) -> int:
        return int(sum(l.mvms_per_inference for l in self.weighted_layers()))

    def masks(self) -> list[np.ndarray]:
        return [l.mask.copy() for l in self.weighted_layers()]

    def set_masks(self, masks: Sequence[np.ndarray]) -> None:
        layers = self.weighted_layers()
        if len(masks) != len(layers):
            raise ConfigError(f"got {len(masks)} masks for {len(layers)} weighted layers")
        for layer, m in zip(layers, masks):
            layer.set_mask(m)

    def copy(self) -> "Network":
        return copy.deepcopy(self)

    def astype(self, dtype) -> "Network":
        """Convert every parameter to ``dtype`` in place (float64 for gradient checks); returns self."""
        for l in self.layers:
            l.astype(np.dtype(dtype))
        return self

    @property
    def dtype(self) -> np.dtype:
        return self.weighted_layers()[0].weight.dtype

    # ---- evaluation ------------------------------------------------------------------------------------------
    def validate_input(self, x: np.ndarray) -> np.ndarray:
        """Check shape, dtype and finiteness of a batch; return it as the network's float dtype."""
        if not isinstance(x, np.ndarray):
            raise DataError(f"input must be a numpy array, got {type(x).__name__}")
        if x.shape[1:] != self.input_shape or x.ndim != len(self.input_shape) + 1:
            raise DataError(f"network {self.name!r} expects input of shape (n, {', '.join(map(str, self.input_shape))}),"
                            f" got {x.shape}")
        if x.dtype.kind != "f":
            raise DataError(f"input dtype must be floating point (scale integer images to [0, 1]), got {x.dtype}")
        if not np.all(np.isfinite(x)):
            raise DataError("input holds NaN/inf values")
        return x.astype(self.dtype, copy=False)

    def forward(self, x: np.ndarray, train: bool = False, matmul: Optional[MatmulHook] = None,
                validate: bool = True) -> np.ndarray:
        """Logits of a batch. ``matmul`` replaces every weighted layer's product (see :data:`MatmulHook`)."""
        if validate:
            x = self.validate_input(x)
        for layer in self.layers:
            x = layer.forward(x, train=train, matmul=matmul)
        return x

    def backward(self, grad: np.ndarray) -> np.ndarray:
        """Back-propagate d loss / d logits; fills every layer's gradients; returns d loss / d input."""
        for layer in reversed(self.layers):
            grad = layer.backward(grad)
        return grad

    #: Largest im2col matrix (elements) a default float batch builds: a few MiB, which stays in cache (ResNet-20: 18
    #: images a batch, 2x faster than 1,000; LeNet-5: 1.5x; an MLP keeps 1,000; ``benchmarks/bench_nn.py``).
    BATCH_ELEMENTS = 1 << 21

    def default_batch_size(self) -> int:
        """Images per batch of a float pass: as many as keep the largest layer input (in_features x MVMs per
        inference, the im2col matrix of a convolution) within :data:`BATCH_ELEMENTS`, between 16 and 1,000."""
        widest = max(l.weight.shape[1] * max(1, l.mvms_per_inference) for l in self.weighted_layers())
        return int(min(1000, max(16, self.BATCH_ELEMENTS // widest)))

    def predict(self, x: np.ndarray, matmul: Optional[MatmulHook] = None, batch_size: Optional[int] = None
                ) -> np.ndarray:
        """Logits of ``x`` computed in batches (``batch_size`` images; default :meth:`default_batch_size`)."""
        x = self.validate_input(x)
        if batch_size is None:
            batch_size = self.default_batch_size()
        outs = [self.forward(x[i:i + batch_size], matmul=matmul, validate=False) for i in range(0, len(x), batch_size)]
        if not outs:
            return np.zeros((0,) + self.output_shape, dtype=self.dtype)
        logits = np.concatenate(outs, axis=0)
        bad = int(np.count_nonzero(~np.all(np.isfinite(logits.reshape(len(logits), -1)), axis=1)))
        if bad:  # an overflow (weights, gains or noise out of range) is an error, never a silent wrong number
            raise DataError(f"the network's outputs overflowed: {bad} of {len(x)} samples gave NaN/inf logits "
                            "(weights, gains or noise too large for float32)")
        return logits

    def accuracy(self, x: np.ndarray, y: np.ndarray, matmul: Optional[MatmulHook] = None,
                 batch_size: Optional[int] = None) -> float:
        """Top-1 accuracy in [0, 1]."""
        y = np.asarray(y)
        if y.shape != (len(x),):
            raise DataError(f"labels shape {y.shape} does not match {len(x)} inputs")
        if len(x) == 0:
            raise DataError("cannot compute accuracy on an empty data set")
        n_classes = int(np.prod(self.output_shape))
        if y.dtype.kind not in "iu" or int(y.min()) < 0 or int(y.max()) >= n_classes:
            raise DataError(f"labels must be integers in [0, {n_classes - 1}] (the network has {n_classes} outputs), "
                            f"got dtype {y.dtype} in [{y.min()}, {y.max()}]")
        logits = self.predict(x, matmul=matmul, batch_size=batch_size)  # raises on NaN/inf logits
        return float(np.mean(logits.argmax(axis=1) == y))

    # ---- weights I/O -----------------------------------------------------------------------------------------
    def state(self) -> dict[str, np.ndarray]:
        """Arrays in network order: ``NAME`` (2-D weight), ``NAME.bias``, ``NAME.mask``."""
        out: dict[str, np.ndarray] = {}
        for l in self.weighted_layers():
            out[l.name] = l.effective_weight()
            out[l.name + ".bias"] = l.bias
            out[l.name + ".mask"] = l.mask
        return out

    def save(self, path: str | Path) -> None:
        """Save weights, biases and masks to a ``.npz`` readable by :func:`hwsim.weights_io.read_weights` (``.npz``
        appended when missing, as numpy does), atomically: an interrupt leaves the old file intact or the new one
        whole (:mod:`hwsim.atomic_io`)."""
        from ..atomic_io import atomic_open

        p = Path(path)
        if p.suffix != ".npz":
            p = p.with_name(p.name + ".npz")
        with atomic_open(p) as f:
            np.savez_compressed(f, **self.state())

    def load(self, path: str | Path) -> "Network":
        """Load weights (and biases and masks, where present) from a ``.npz``; returns self."""
        from ..weights_io import read_weights

        self.load_state(read_weights(path))
        return self

    def load_state(self, wf) -> "Network":
        """Install a :class:`hwsim.weights_io.WeightsFile` after checking counts and shapes."""
        layers = self.weighted_layers()
        if len(wf.weights) != len(layers):
            raise DataError(f"weights file {wf.source} holds {len(wf.weights)} weight matrices, network {self.name!r} "
                            f"has {len(layers)} weighted layers ({', '.join(l.name for l in layers)})")
        from ..weights_io import layer_matrix

        # every shape checked before any layer changes; 4-D convolution weights placed in im2col order
        mats = [layer_matrix(layer, key, wf) for layer, (key, _) in zip(layers, wf.weights)]
        for layer, (key, _), (w, mask) in zip(layers, wf.weights, mats):
            layer.set_mask(mask)  # the file's mask, else exact zeros mean pruned
            layer.set_weight(w, wf.biases.get(key))
        return self

    def __repr__(self) -> str:
        return f"Network({self.name!r}, {len(self.weighted_layers())} weighted layers, {self.num_params()} params)"
