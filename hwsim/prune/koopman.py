"""Koopman-operator pruning: Koopman magnitude and Koopman gradient pruning.

Redman, Fonoberova, Mohr, Kevrekidis, Mezic, "An Operator Theoretic View on Pruning Deep Neural Networks",
ICLR 2022, sec. 3-4. Training is viewed as a dynamical system on the weights, w_{t+1} = T(w_t); its Koopman
operator is approximated from a window of weight snapshots by dynamic mode decomposition (exact DMD, Tu et al.
2014, Algorithm 2): with X = [w_0 .. w_{m-1}], Y = [w_1 .. w_m] and the rank-r SVD X = U S V^T,

    A~ = U^T Y V S^-1,    A~ W = W Lambda,    Phi = Y V S^-1 W,    b = Phi^+ w_0,
    w_t ~= sum_j Phi_j lambda_j^t b_j.

* Koopman magnitude pruning (KMP): the mode whose eigenvalue is closest to 1 is the training's fixed point,
  w_inf ~= Phi_1 b_1 lambda_1^m; weights are ranked by |w_inf| (the magnitude pruning of the predicted
  converged network; the paper shows it reduces to magnitude pruning once training has converged).
* Koopman gradient pruning (KGP): the Koopman model's one-step change at the end of the window,
  dw = sum_j Phi_j b_j lambda_j^m (lambda_j - 1) (~= -lr * gradient under SGD); weights are ranked by |dw|,
  the Koopman counterpart of gradient-magnitude pruning (the paper shows the equivalence early in training).
  This reading of KGP as the modal estimate of the update is this implementation's; see the paper, sec. 4.2.

``scope="global"`` (default, as the paper's code ``KoopGlobalMagWeight`` does): one DMD over all the network's
weights concatenated, weights ranked across layers (the paper's equivalence to *global* magnitude pruning);
``scope="layer"``: one DMD per layer on its flattened weight matrix, each layer pruned to the target. After scoring,
the network (the last snapshot) is pruned once and fine-tuned for the remaining budget (masks fixed).
Defaults: 10 snapshots every 20 minibatches (this implementation's choice; the paper uses short windows of
training epochs on MNIST/CIFAR); when that window exceeds half of the ``epochs`` budget, the snapshot interval
shrinks so that the window is at most half of it (at least one minibatch per snapshot) and the rest fine-tunes.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ConfigError
from ..nn import Adam, Network
from ._common import (MethodResult, check_int, check_network, layer_support, minibatches, step_loss, top_k_mask, train_arrays)
from ..nn.im2col import supports
from .selection import check_sparsity, select

CRITERIA = ("magnitude", "gradient")
SCOPES = ("global", "layer")
DEFAULT_SNAPSHOTS = 10
DEFAULT_SNAPSHOT_EVERY = 20


def dmd(snapshots: np.ndarray, rtol: float = 1e-10) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact DMD of snapshot columns (d, m + 1): (eigenvalues (r,), modes (d, r), amplitudes (r,)), complex."""
    s = np.asarray(snapshots, dtype=np.float64)
    if s.ndim != 2 or s.shape[1] < 3:
        raise ConfigError(f"DMD needs a (d, m + 1) snapshot matrix with at least 3 snapshots, got shape {s.shape}")
    x, y = s[:, :-1], s[:, 1:]
    u, sig, vt = np.linalg.svd(x, full_matrices=False)
    r = max(1, int(np.count_nonzero(sig > rtol * sig[0]))) if sig[0] > 0 else 1
    u, sig, v = u[:, :r], sig[:r], vt[:r].T
    a = u.T @ y @ v / sig[None, :]
    lam, w = np.linalg.eig(a)
    phi = (y @ v / sig[None, :]) @ w
    b = np.linalg.lstsq(phi, s[:, 0].astype(np.complex128), rcond=None)[0]
    return lam, phi, b


def koopman_scores(snapshots: np.ndarray, criterion: str = "magnitude") -> np.ndarray:
    """KMP (|fixed-point mode|) or KGP (|predicted one-step change|) scores from (d, m + 1) snapshots."""
    if criterion not in CRITERIA:
        raise ConfigError(f"Koopman criterion must be one of {', '.join(CRITERIA)}, got {criterion!r}")
    lam, phi, b = dmd(snapshots)
    m = snapshots.shape[1] - 1
    if criterion == "magnitude":
        j = int(np.argmin(np.abs(lam - 1.0)))
        return np.abs((phi[:, j] * b[j] * lam[j] ** m).real)
    return np.abs((phi * (b * lam ** m * (lam - 1.0))[None, :]).sum(axis=1).real)


def koopman_prune(network: Network, train_data: Any, *, sparsity: float, criterion: str = "magnitude",
                  epochs: int = 1, lr: float = 1e-3, snapshots: int = DEFAULT_SNAPSHOTS,
                  snapshot_every: int = DEFAULT_SNAPSHOT_EVERY, batch_size: int = 128,
                  seed: int | np.random.Generator = 0, scope: str = "global") -> tuple[Network, MethodResult]:
    """Train a copy of ``network`` for ``(snapshots - 1) * snapshot_every`` minibatches recording weight snapshots,
    score by KMP or KGP, prune each layer to ``sparsity``, and fine-tune the rest of the ``epochs`` budget (Adam,
    cosine decay); the whole run takes ``epochs`` epochs of minibatch steps."""
    net = check_network(network).copy()
    s = check_sparsity(sparsity)
    if criterion not in CRITERIA:
        raise ConfigError(f"Koopman criterion must be one of {', '.join(CRITERIA)}, got {criterion!r}")
    if scope not in SCOPES:
        raise ConfigError(f"Koopman scope must be one of {', '.join(SCOPES)}, got {scope!r}")
    m = check_int("snapshots", snapshots, 3)
    every = check_int("snapshot_every", snapshot_every, 1)
    x, y = train_arrays(net, train_data)
    epochs = check_int("epochs", epochs, 1)
    bs = check_int("batch_size", batch_size, 1)
    rng = np.random.default_rng(seed)
    layers = net.weighted_layers()
    snaps = [[l.weight.astype(np.float64).ravel()] for l in layers]
    opt = Adam(net, lr=lr)
    batches = minibatches(len(x), bs, rng)
    spe = max(len(x) // bs, 1)
    every = max(1, min(every, (epochs * spe) // (2 * (m - 1))))   # the window stays within half of the budget
    window = (m - 1) * every
    for t in range(1, window + 1):
        idx = next(batches)
        step_loss(net, x[idx], y[idx])
        opt.step()
        if t % every == 0:
            for sn, l in zip(snaps, layers):
                sn.append(l.weight.astype(np.float64).ravel())
    if scope == "global":   # one DMD over every weight, ranked across layers
        flat = koopman_scores(np.concatenate([np.stack(sn, axis=1) for sn in snaps], axis=0), criterion)
        scores, at = [], 0
        for l in layers:
            scores.append(flat[at:at + l.weight.size].reshape(l.weight.shape))
            at += l.weight.size
        net.set_masks(select(scores, s, scope="global", masks=net.masks(), support=supports(net)))
    else:
        for sn, l in zip(snaps, layers):
            sc = koopman_scores(np.stack(sn, axis=1), criterion).reshape(l.weight.shape)
            k = max(1, int(round((1 - s) * int(layer_support(l).sum()))))
            l.set_mask(top_k_mask(np.where(l.mask, sc, -np.inf), k, allowed=l.mask))
    rest = epochs * spe - window
    if rest > 0:   # fine-tune the remaining minibatch steps (masks fixed), cosine decay
        opt = Adam(net, lr=lr)
        for t in range(rest):
            opt.lr = lr * 0.5 * (1 + np.cos(np.pi * t / rest))
            idx = next(batches)
            step_loss(net, x[idx], y[idx])
            opt.step()
    name = "koopman_magnitude" if criterion == "magnitude" else "koopman_gradient"
    return net, MethodResult(name, net.sparsity(), window + max(rest, 0))
