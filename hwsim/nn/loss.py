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


def distillation_loss(logits: np.ndarray, teacher_logits: np.ndarray, temperature: float = 4.0
                      ) -> tuple[float, np.ndarray]:
    """Knowledge-distillation loss (Hinton et al., "Distilling the Knowledge in a Neural Network", 2015) and its
    gradient w.r.t. ``logits``: T^2 * mean over the batch of KL(softmax(teacher/T) || softmax(logits/T)).

    The T^2 factor keeps the gradient's scale independent of T (Hinton et al., Sec. 2); the gradient is
    T (softmax(logits/T) - softmax(teacher/T)) / n. Zero iff the two softmaxes agree.
    """
    if logits.ndim != 2 or teacher_logits.shape != logits.shape:
        raise DataError(f"logits {logits.shape} and teacher logits {np.shape(teacher_logits)} must be the same 2-D "
                        "(n, classes) shape")
    if not (temperature > 0 and np.isfinite(temperature)):
        raise DataError(f"temperature must be a positive finite number, got {temperature}")
    t = float(temperature)
    n = logits.shape[0]
    zs = logits / t
    zs = zs - zs.max(axis=1, keepdims=True)
    log_ps = zs - np.log(np.exp(zs).sum(axis=1, keepdims=True))
    zt = teacher_logits / t
    zt = zt - zt.max(axis=1, keepdims=True)
    log_pt = zt - np.log(np.exp(zt).sum(axis=1, keepdims=True))
    pt = np.exp(log_pt)
    loss = float(t * t * np.sum(pt * (log_pt - log_ps)) / n)
    return loss, t * (np.exp(log_ps) - pt) / n
