"""Softmax cross-entropy loss."""
from __future__ import annotations

import numpy as np

from ..errors import DataError


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def softmax_cross_entropy(logits: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of integer ``labels`` under softmax(``logits``) and its gradient w.r.t. the logits."""
    if logits.ndim != 2:
        raise DataError(f"logits must be 2-D (n, classes), got shape {logits.shape}")
    labels = np.asarray(labels)
    if labels.shape != (logits.shape[0],):
        raise DataError(f"labels shape {labels.shape} does not match logits batch {logits.shape[0]}")
    if labels.size and (labels.min() < 0 or labels.max() >= logits.shape[1]):
        raise DataError(f"labels must lie in [0, {logits.shape[1] - 1}], got range "
                        f"[{labels.min()}, {labels.max()}]")
    n = logits.shape[0]
    z = logits - logits.max(axis=1, keepdims=True)
    logsumexp = np.log(np.exp(z).sum(axis=1))
    loss = float(np.mean(logsumexp - z[np.arange(n), labels]))
    grad = np.exp(z - logsumexp[:, None])
    grad[np.arange(n), labels] -= 1.0
    return loss, grad / n
