"""Seeded minibatch training and evaluation."""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

from ..errors import ConfigError, DataError
from .loss import softmax_cross_entropy
from .network import Network
from .optim import Adam, Optimizer


@dataclass(frozen=True)
class EpochLog:
    epoch: int
    loss: float
    train_accuracy: float
    val_accuracy: Optional[float]
    seconds: float


@dataclass(frozen=True)
class TrainLog:
    epochs: list[EpochLog] = field(default_factory=list)


def check_dataset(network: Network, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Validate a labelled data set against ``network``; returns (x in the network's dtype, y as int64)."""
    x = network.validate_input(x)
    y = np.asarray(y)
    if len(x) == 0:
        raise DataError("data set is empty")
    if y.shape != (len(x),) or y.dtype.kind not in "iu":
        raise DataError(f"labels must be integers of shape ({len(x)},), got {y.dtype} {y.shape}")
    n_classes = int(np.prod(network.output_shape))
    if y.min() < 0 or y.max() >= n_classes:
        raise DataError(f"labels must lie in [0, {n_classes - 1}], got [{y.min()}, {y.max()}]")
    return x, y.astype(np.int64)


def fit(network: Network, x: np.ndarray, y: np.ndarray, *, epochs: int = 1, batch_size: int = 128,
        optimizer: Optional[Optimizer] = None, seed: int | np.random.Generator = 0,
        lr_schedule: Optional[Callable[[int], float]] = None,
        x_val: Optional[np.ndarray] = None, y_val: Optional[np.ndarray] = None,
        progress: bool = False,
        augment: Optional[Callable[[np.ndarray, np.random.Generator], np.ndarray]] = None) -> TrainLog:
    """Train in place with shuffled minibatches. Masks stay fixed: pruned weights remain exactly 0.

    ``lr_schedule(epoch)`` multiplies the optimizer's base learning rate at the start of each epoch.
    ``augment(batch, rng)`` returns an augmented copy of each training batch (e.g. :func:`crop_and_flip`), drawn from
    the training generator so that a seed gives one run.
    """
    if epochs < 0 or batch_size < 1:
        raise ConfigError(f"epochs must be >= 0 and batch_size >= 1, got {epochs}, {batch_size}")
    x, y = check_dataset(network, x, y)
    opt = optimizer or Adam(network)
    base_lr = opt.lr
    rng = np.random.default_rng(seed)
    log = TrainLog()
    for epoch in range(epochs):
        t0 = time.perf_counter()
        if lr_schedule is not None:
            opt.lr = base_lr * float(lr_schedule(epoch))
        order = rng.permutation(len(x))
        total_loss, correct = 0.0, 0
        for i in range(0, len(x), batch_size):
            idx = order[i:i + batch_size]
            xb = x[idx]
            if augment is not None:
                xa = augment(xb, rng)
                if not isinstance(xa, np.ndarray) or xa.shape != xb.shape or xa.dtype != xb.dtype:
                    raise ConfigError(f"augment must return an array like its input ({xb.dtype} {xb.shape}), got "
                                      f"{getattr(xa, 'dtype', type(xa).__name__)} {getattr(xa, 'shape', '')}")
                xb = xa
            logits = network.forward(xb, train=True, validate=False)
            loss, grad = softmax_cross_entropy(logits, y[idx])
            network.backward(grad)
            opt.step()
            total_loss += loss * len(idx)
            correct += int((logits.argmax(axis=1) == y[idx]).sum())
        val = network.accuracy(x_val, y_val) if x_val is not None and y_val is not None else None
        entry = EpochLog(epoch, total_loss / len(x), correct / len(x), val, time.perf_counter() - t0)
        log.epochs.append(entry)
        if progress:
            v = f"  val {val:.4f}" if val is not None else ""
            print(f"epoch {epoch + 1}/{epochs}  loss {entry.loss:.4f}  train {entry.train_accuracy:.4f}{v}  "
                  f"{entry.seconds:.1f} s", file=sys.stderr, flush=True)
    opt.lr = base_lr
    return log


def crop_and_flip(pad: int = 2) -> Callable[[np.ndarray, np.random.Generator], np.ndarray]:
    """Augmentation of (n, C, H, W) images: a random crop of the zero-padded image (``pad`` pixels each side) and a
    horizontal flip with probability 1/2 -- the CIFAR augmentation of He et al., CVPR 2016, Sec. 4.2."""
    if pad < 0:
        raise ConfigError(f"pad must be >= 0, got {pad}")

    def augment(xb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        n, _, h, w = xb.shape
        xp = np.pad(xb, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
        dy, dx = rng.integers(0, 2 * pad + 1, size=(2, n))
        flip = rng.random(n) < 0.5
        out = np.empty_like(xb)
        for i in range(n):
            crop = xp[i, :, dy[i]:dy[i] + h, dx[i]:dx[i] + w]
            out[i] = crop[:, :, ::-1] if flip[i] else crop
        return out

    return augment
