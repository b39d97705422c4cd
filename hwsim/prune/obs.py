"""Optimal Brain Damage and layer-wise Optimal Brain Surgeon.

* OBD -- LeCun, Denker, Solla, "Optimal Brain Damage", NeurIPS 1989, eq. (5)-(6): with a diagonal Hessian and
  the network at a minimum, removing w_q raises the loss by the saliency s_q = h_qq w_q^2 / 2. The diagonal
  h_qq is the Gauss-Newton (Levenberg-Marquardt) curvature of the cross-entropy, which for softmax outputs
  equals the diagonal of the Fisher information E_x E_{y ~ p(y|x)}[(d log p / d w_q)^2], computed exactly by
  summing the per-sample squared gradients over every class c weighted by p(c | x) (:func:`fisher_diagonal`).
* OBS -- Hassibi & Stork, "Second order derivatives for network pruning: Optimal Brain Surgeon", NeurIPS 1992,
  eq. (4)-(5): removing w_q costs L_q = w_q^2 / (2 [H^-1]_qq) and the compensating update of every other
  weight is dw = -(w_q / [H^-1]_qq) H^-1 e_q (:func:`obs_remove`). Layer-wise, as in L-OBS (Dong, Chen,
  Pan, NeurIPS 2017, eq. (3)-(7)): the loss of layer l is the squared error of its outputs,
  E = 1/(2n) ||(W - W') X^T||^2, whose Hessian is H = X^T X / n for every output row (the inputs X of the
  layer: a dense layer's input vectors, a convolution's im2col patches), so one d x d inverse serves all rows
  and the method scales to LeNet and imported networks. Saliencies L_q rank the weights of the whole layer (H is
  shared by the rows, so they are comparable and rows keep different numbers of weights); the pruned set P of a
  row then gets the exact multi-weight OBS compensation, which for a quadratic is the least-squares
  refit of the kept weights S: W'_S = argmin ||X_S W'_S - X W||^2 (the OBS update applied to all of P at once;
  Frantar & Alistarh, "Optimal Brain Compression", NeurIPS 2022, eq. (2)-(3), same result). The targets X W use
  the *unpruned* network's inputs and the refit the pruned network's inputs, layer after layer, so errors of
  earlier layers are compensated too. H is damped by ``damp`` times its mean diagonal (OBC / GPTQ use 1 %).

Both are one-shot (no fine-tuning here; :func:`hwsim.prune.finetune` can follow).
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ..errors import ConfigError
from ..nn import Conv2d, Network, WeightedLayer, softmax
from ..nn.hooks import wrapped
from ._common import MethodResult, check_network, check_nonneg, layer_support, top_k_mask
from .criteria import check_data
from .selection import check_sparsity

DEFAULT_DAMP = 0.01
#: at most this many input rows per layer enter a layer Hessian (convolutions: patches, thinned by a stride)
MAX_ROWS = 100_000


# ---- single-weight OBS (Hassibi & Stork eq. 4-5) ------------------------------------------------------------------

def obs_saliency(w: np.ndarray, h_inv: np.ndarray) -> np.ndarray:
    """L_q = w_q^2 / (2 [H^-1]_qq) for every q (eq. 5): the loss increase of removing w_q with compensation."""
    return np.asarray(w, dtype=np.float64) ** 2 / (2.0 * np.diag(h_inv))


def obs_remove(w: np.ndarray, h_inv: np.ndarray, q: int) -> np.ndarray:
    """Weights after removing w_q with the OBS compensating update dw = -(w_q / [H^-1]_qq) H^-1 e_q (eq. 4);
    entry q is exactly 0."""
    w = np.asarray(w, dtype=np.float64)
    out = w - (w[q] / h_inv[q, q]) * h_inv[:, q]
    out[q] = 0.0
    return out


# ---- OBD ----------------------------------------------------------------------------------------------------------

def _is_conv(layer: WeightedLayer) -> bool:
    """A convolution (zoo ``Conv2d`` or an imported graph's convolution): its input is cached as im2col columns."""
    return isinstance(layer, Conv2d) or hasattr(layer, "group_mask")


def _layer_inputs(layer: WeightedLayer) -> np.ndarray:
    return layer._cols if _is_conv(layer) else layer._x  # cached by forward(train=True)


def fisher_diagonal(network: Network, data: Any, batch_size: int = 500, n_samples: Optional[int] = None
                    ) -> list[np.ndarray]:
    """Diagonal of the Gauss-Newton = Fisher curvature of the mean cross-entropy, per weight matrix (float64).

    h_qq = 1/n sum_x sum_c p(c|x) (d CE(x, c) / d w_q)^2, with per-sample gradients: for a dense layer
    (delta_c^2)^T (x^2); for a convolution the per-sample gradient sums over output pixels before squaring.
    """
    net = check_network(network).copy().astype(np.float64)
    x, _ = check_data(net, data, labels=True, n_samples=n_samples)
    layers = net.weighted_layers()
    h = [np.zeros(l.weight.shape) for l in layers]
    n = len(x)
    for i in range(0, n, batch_size):
        xb = x[i:i + batch_size].astype(np.float64)
        logits = net.forward(xb, train=True, validate=False)
        p = softmax(logits)
        inputs = [_layer_inputs(l) for l in layers]
        nb = len(xb)
        for c in range(p.shape[1]):
            g = p.copy()
            g[:, c] -= 1.0  # d CE(x, c) / d logits, per sample (not divided by the batch)
            deltas = _backward_deltas(net, g)
            for k, (l, d, a) in enumerate(zip(layers, deltas, inputs)):
                if _is_conv(l):
                    pix = d.shape[0] // nb
                    per = np.einsum("npo,npk->nok", d.reshape(nb, pix, -1), a.reshape(nb, pix, -1))
                    h[k] += np.einsum("n,nok->ok", p[:, c], per ** 2)
                else:
                    h[k] += ((d ** 2) * p[:, c:c + 1]).T @ (a ** 2)
    return [a / n for a in h]


def _backward_deltas(net: Network, grad: np.ndarray) -> list[np.ndarray]:
    """d loss / d (output of each weighted layer), rows = samples (x pixels for convolutions).

    The network's own backward pass runs (a chain or an imported graph with residual and concatenation paths);
    each weighted layer's ``backward`` is wrapped for the call to record the gradient it receives."""
    layers = net.weighted_layers()
    out: dict[int, np.ndarray] = {}

    def recording(k: int, backward: Any) -> Any:
        def record(g: np.ndarray) -> np.ndarray:
            out[k] = g.transpose(0, 2, 3, 1).reshape(-1, g.shape[1]) if g.ndim == 4 else g
            return backward(g)
        return record

    with wrapped(layers, "backward", recording):
        net.backward(grad)
    return [out[k] for k in range(len(layers))]


def obd_scores(network: Network, data: Any, n_samples: Optional[int] = None) -> list[np.ndarray]:
    """OBD saliency h_qq w_q^2 / 2 per weight (higher = keep); pruned weights score 0."""
    h = fisher_diagonal(network, data, n_samples=n_samples)
    return [0.5 * hh * l.effective_weight().astype(np.float64) ** 2 for hh, l in zip(h, network.weighted_layers())]


def obd_prune(network: Network, data: Any, *, sparsity: float, scope: str = "layer",
              n_samples: Optional[int] = None) -> tuple[Network, MethodResult]:
    """A copy of ``network`` with the lowest-saliency weights removed (one-shot OBD, no retraining)."""
    from ..nn.im2col import supports
    from .selection import select

    net = check_network(network)
    s = check_sparsity(sparsity)
    masks = select(obd_scores(net, data, n_samples), s, scope=scope, masks=net.masks(), support=supports(net))
    out = net.copy()
    out.set_masks(masks)
    return out, MethodResult("obd", out.sparsity(), 0)


# ---- layer-wise OBS -------------------------------------------------------------------------------------------------

def layer_hessian(inputs: np.ndarray, damp: float = DEFAULT_DAMP) -> np.ndarray:
    """H = X^T X / n + damp * mean(diag) * I of a layer's inputs X (n, d) (float64)."""
    x = np.asarray(inputs, dtype=np.float64)
    h = x.T @ x / max(len(x), 1)
    lam = damp * float(np.mean(np.diag(h)))
    h[np.diag_indices_from(h)] += lam if lam > 0 else damp
    return h


def obs_prune(network: Network, data: Any, *, sparsity: float, damp: float = DEFAULT_DAMP,
              n_samples: Optional[int] = 2000, batch_size: int = 500) -> tuple[Network, MethodResult]:
    """A copy of ``network`` pruned one-shot by layer-wise OBS to ``sparsity`` in every layer, with compensation.

    ``data``: (x, y) or inputs only (labels are not needed: the layer-wise objective is output reconstruction);
    the first ``n_samples`` are used. Biases are unchanged (the refit is of the kept weights).
    """
    net0 = check_network(network)
    s = check_sparsity(sparsity)
    damp = check_nonneg("damp", damp)
    if damp == 0:
        raise ConfigError("damp must be > 0 (the layer Hessian of ReLU inputs is often singular), got 0")
    x, _ = check_data(net0, data, labels=False, n_samples=n_samples)
    dense = net0.copy().astype(np.float64)
    pruned = net0.copy().astype(np.float64)
    layers_d, layers_p = dense.weighted_layers(), pruned.weighted_layers()
    x = x.astype(np.float64)
    for k in range(len(layers_p)):
        a_d = _inputs_of(dense, k, x, batch_size)
        a_p = _inputs_of(pruned, k, x, batch_size)
        lp = layers_p[k]
        w = lp.effective_weight().astype(np.float64)   # (out, d)
        h_p = layer_hessian(a_p, damp)                  # refit Hessian on the pruned inputs
        h_inv = np.linalg.inv(h_p)
        target = (a_d @ layers_d[k].effective_weight().T).astype(np.float64)   # (n, out): unpruned outputs
        cross = a_p.T @ target / len(a_p)                                       # (d, out)
        keep_n = max(1, int(round((1.0 - s) * int(layer_support(lp).sum()))))  # of its real weights
        new = np.zeros_like(w)
        sal = w ** 2 / (2.0 * np.diag(h_inv))[None, :]   # same H for every row: comparable across the layer
        mask = top_k_mask(sal, keep_n, allowed=lp.mask)
        for r in range(w.shape[0]):
            idx = np.flatnonzero(mask[r])
            if len(idx):
                new[r, idx] = np.linalg.solve(h_p[np.ix_(idx, idx)], cross[idx, r])
        lp.mask = mask
        lp.set_weight(new)
    out = network.copy()
    for lo, lp in zip(out.weighted_layers(), layers_p):
        lo.mask = lp.mask.copy()
        lo.set_weight(lp.weight, lp.bias)
    return out, MethodResult("obs", out.sparsity(), 0)


def _inputs_of(net: Network, k: int, x: np.ndarray, batch_size: int, max_rows: int = MAX_ROWS) -> np.ndarray:
    """Inputs (rows: samples, x output pixels for convolutions) that weighted layer ``k`` sees on ``x``; a
    convolution's patch rows are thinned by a fixed stride to at most about ``max_rows`` (the same rows for any
    network of the same architecture, so targets and refits stay paired)."""
    layer = net.weighted_layers()[k]
    stride = max(1, -(-len(x) * layer.mvms_per_inference // max_rows))
    chunks = []

    def caching(_: int, forward: Any) -> Any:
        def cache(h: np.ndarray, train: bool = False, matmul: Any = None) -> np.ndarray:
            forward(h, train=True, matmul=matmul)  # this layer caches its inputs; the layers before ran in eval mode
            chunks.append(np.array(_layer_inputs(layer)[::stride], dtype=np.float64))
            raise _Reached  # the layers after it are not needed
        return cache

    with wrapped([layer], "forward", caching):  # the network's own forward pass: chains and imported graphs alike
        for i in range(0, len(x), batch_size):
            try:
                net.forward(x[i:i + batch_size], validate=False)
            except _Reached:
                pass
    return np.concatenate(chunks, axis=0)


class _Reached(Exception):
    """Raised by :func:`_inputs_of`'s hook once its layer has seen the batch: the forward pass stops there."""
