"""Pruning criteria: functions of (network, data) returning one score array per weighted layer.

Convention: a score array has the shape of the layer's 2-D weight matrix (out, in) and **higher means more
important** (kept longer). Structured criteria (neuron/filter L2 norm, mean activation, APoZ) give every
weight of an output neuron (a row of the matrix; a filter for a convolution) the neuron's score, so that
unstructured selection on them prunes whole rows, and structured selection (which averages scores over a
group) recovers the neuron score exactly.

Data are a tuple ``(x, y)``: inputs of the network's input shape and integer labels. Gradients are the
gradient of the mean softmax cross-entropy over all given samples (accumulated over minibatches, so the
result does not depend on ``batch_size`` up to rounding). Gradient work is done on a float64 copy of the
network; the caller's network is never modified.

Criteria (name -> source):

* ``random``      -- uniform scores (baseline), seeded.
* ``magnitude``   -- |w| (Han et al., NeurIPS 2015).
* ``gradient``    -- |dL/dw|, the magnitude of the full-data gradient.
* ``taylor``      -- |w * dL/dw|, first-order Taylor estimate of the loss change when w is removed
  (Molchanov et al., ICLR 2017 sec. 2.2, applied per weight; "global gradient" pruning in Blalock et al.,
  MLSys 2020, sec. 4).
* ``snip``        -- connection sensitivity |w * dL/dw| / sum_all |w * dL/dw| at initialisation (Lee et al.,
  ICLR 2019, eq. 6); call it on the untrained network to get SNIP proper.
* ``grasp``       -- GraSP (Wang et al., ICLR 2020, eq. 8): S(-w) = -w * (H g); the paper removes the weights
  with the *largest* S, so the importance returned here is -S = w * (H g). H g is a finite difference of
  gradients (see :func:`hessian_gradient_product`). ``temperature`` divides the logits as in the paper
  (they use T = 200 on CIFAR; default 1 here).
* ``grad_magnitude`` -- gradient-and-magnitude: prune a weight only where both |w| and |g| are small.
  The score is max(F_w(|w|), F_g(|g|)) with F the empirical CDF within the layer, so that pruning the
  scores below the q-quantile removes exactly the weights whose |w| *and* |g| are both below their own
  q-quantiles (a joint threshold rule expressed as a sparsity). With ``thresholds=(t_w, t_g)`` the score is
  max(|w|/t_w, |g|/t_g) instead: it is < 1 exactly where both are under their thresholds.
* ``l2``          -- L2 norm of each output neuron's / filter's weight row (Li et al., ICLR 2017, uses the
  L1 norm of filters; L2 as in He et al., IJCAI 2018 soft filter pruning).
* ``mean_activation`` -- mean post-activation output of each neuron over the data and spatial positions
  (Polyak & Wolf 2015, "Channel-level acceleration ...", mean activation criterion).
* ``apoz``        -- 1 - APoZ, APoZ = average percentage of zero (post-ReLU) outputs of a neuron
  (Hu et al. 2016, "Network Trimming", eq. 1); higher APoZ = less important.
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ..errors import ConfigError, DataError
from ..nn import Network, ReLU, WeightedLayer, check_dataset, softmax_cross_entropy
from ..nn.hooks import wrapped

CRITERIA = ("random", "magnitude", "gradient", "taylor", "snip", "grasp", "grad_magnitude", "l2",
            "mean_activation", "apoz")
#: criteria that need labelled data
NEEDS_LABELS = frozenset({"gradient", "taylor", "snip", "grasp", "grad_magnitude"})
#: criteria that need inputs (labels optional)
NEEDS_INPUTS = frozenset({"mean_activation", "apoz"})
#: criteria whose scores are constant along output rows (structured by construction)
STRUCTURED = frozenset({"l2", "mean_activation", "apoz"})

Data = Any  # (x, y) tuple


def _check_network(network: Any) -> Network:
    if not isinstance(network, Network):
        raise ConfigError(f"pruning needs a trainable hwsim.nn.Network, got {type(network).__name__}")
    if not network.weighted_layers():
        raise ConfigError(f"network {network.name!r} has no weighted layers to prune")
    return network


def check_data(network: Network, data: Data, labels: bool = True, n_samples: Optional[int] = None
               ) -> tuple[np.ndarray, Optional[np.ndarray]]:
    """Validate ``data`` = (x, y) against ``network``; returns (x, y) (y None when ``labels`` is false and absent).

    Raises :class:`DataError` for missing, empty, misshaped, non-finite or mislabelled data.
    """
    if data is None:
        raise DataError("this criterion needs data: pass data=(x, y)")
    if isinstance(data, np.ndarray):
        x, y = data, None
    elif isinstance(data, (tuple, list)) and len(data) == 2:
        x, y = data
    else:
        raise DataError(f"data must be a tuple (x, y) of inputs and integer labels, got {type(data).__name__}")
    if not isinstance(x, np.ndarray):
        raise DataError(f"data inputs must be a numpy array, got {type(x).__name__}")
    if n_samples is not None:
        if int(n_samples) < 1:
            raise ConfigError(f"n_samples must be >= 1, got {n_samples}")
        x = x[:int(n_samples)]
        y = None if y is None else np.asarray(y)[:int(n_samples)]
    if y is None:
        if labels:
            raise DataError("this criterion needs labels: pass data=(x, y)")
        x = network.validate_input(x)
        if len(x) == 0:
            raise DataError("data set is empty")
        return x, None
    x, y = check_dataset(network, x, y)  # empty, shape, dtype, range of labels -> DataError
    return x, y


def _float64_copy(network: Network) -> Network:
    return network.copy().astype(np.float64)


def _loss_and_gradients(net: Network, x: np.ndarray, y: np.ndarray, batch_size: int, temperature: float = 1.0
                        ) -> tuple[float, list[np.ndarray], list[np.ndarray]]:
    """Mean cross-entropy over (x, y) and its gradients w.r.t. every weight matrix and bias (masked entries 0)."""
    layers = net.weighted_layers()
    gw = [np.zeros(l.weight.shape, dtype=np.float64) for l in layers]
    gb = [np.zeros(l.bias.shape, dtype=np.float64) for l in layers]
    n = len(x)
    total = 0.0
    for i in range(0, n, batch_size):
        xb, yb = x[i:i + batch_size], y[i:i + batch_size]
        logits = net.forward(xb.astype(net.dtype, copy=False), train=True, validate=False)
        loss, dlogits = softmax_cross_entropy(logits / temperature, yb)
        net.backward(dlogits / temperature)
        w = len(xb) / n
        total += loss * w
        for k, l in enumerate(layers):
            gw[k] += w * l.grad_weight
            gb[k] += w * l.grad_bias
    return total, gw, gb


def gradients(network: Network, data: Data, batch_size: int = 1000, n_samples: Optional[int] = None
              ) -> list[np.ndarray]:
    """Full-data gradient of the mean cross-entropy w.r.t. each weight matrix (float64; 0 where masked)."""
    net = _check_network(network)
    x, y = check_data(net, data, labels=True, n_samples=n_samples)
    return _loss_and_gradients(_float64_copy(net), x, y, _check_batch(batch_size))[1]


def hessian_gradient_product(network: Network, data: Data, batch_size: int = 1000, n_samples: Optional[int] = None,
                             temperature: float = 1.0, fd_rel: float = 1e-6
                             ) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(g, H g) per weight matrix, for the mean cross-entropy, as GraSP needs them.

    g is the gradient w.r.t. all parameters (weights and biases, the paper's theta); H g is the Hessian of
    the loss times g, by a central finite difference of gradients on a float64 copy:
    ``H g ~= (grad L(theta + eps g) - grad L(theta - eps g)) / (2 eps)`` with
    ``eps = fd_rel * ||theta|| / ||g||``. The truncation error is O(eps^2) where the loss is smooth; a ReLU
    network is piecewise smooth, and ``fd_rel`` = 1e-6 keeps the step far below typical pre-activation
    margins while float64 rounding stays near 1e-10 relative. Only unmasked weights move (g is 0 on masks).
    """
    net = _check_network(network)
    x, y = check_data(net, data, labels=True, n_samples=n_samples)
    bs = _check_batch(batch_size)
    if not (temperature > 0 and np.isfinite(temperature)):
        raise ConfigError(f"temperature must be a positive finite number, got {temperature}")
    if not (0 < fd_rel < 1e-2):
        raise ConfigError(f"fd_rel must lie in (0, 0.01), got {fd_rel}")
    base = _float64_copy(net)
    _, gw, gb = _loss_and_gradients(base, x, y, bs, temperature)
    layers = base.weighted_layers()
    theta_norm = np.sqrt(sum(float(np.sum(l.weight ** 2) + np.sum(l.bias ** 2)) for l in layers))
    g_norm = np.sqrt(sum(float(np.sum(a ** 2)) for a in gw) + sum(float(np.sum(b ** 2)) for b in gb))
    if g_norm == 0.0:
        return gw, [np.zeros_like(a) for a in gw]
    eps = fd_rel * max(theta_norm, 1.0) / g_norm
    grads = []
    for sign in (1.0, -1.0):
        shifted = base.copy()
        for l, a, b in zip(shifted.weighted_layers(), gw, gb):
            l.weight = l.weight + sign * eps * a
            l.bias = l.bias + sign * eps * b
        grads.append(_loss_and_gradients(shifted, x, y, bs, temperature)[1])
    hg = [(p - m) / (2 * eps) for p, m in zip(*grads)]
    for a, l in zip(hg, layers):
        a[~l.mask] = 0.0
    return gw, hg


def _check_batch(batch_size: int) -> int:
    if int(batch_size) < 1:
        raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
    return int(batch_size)


def _row_broadcast(layer: WeightedLayer, per_row: np.ndarray) -> np.ndarray:
    return np.broadcast_to(np.asarray(per_row, dtype=np.float64)[:, None], layer.weight.shape).copy()


def activations(network: Network, x: np.ndarray, batch_size: int = 1000) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per weighted layer and output neuron: (mean activation, fraction of zero activations).

    The activation is the layer's output after the ReLU that immediately follows it (if any; otherwise the
    raw output), averaged over samples and, for a convolution, over output pixels. In an imported graph the ReLU
    counts when every consumer of the layer's output is a ReLU. The network's own forward pass runs (chains and
    graphs with residual or concatenation paths alike); each weighted layer's ``forward`` is wrapped for the call.
    """
    weighted = network.weighted_layers()
    relu_after = _followed_by_relu(network, weighted)
    sums = [np.zeros(l.weight.shape[0]) for l in weighted]
    zeros = [np.zeros(l.weight.shape[0]) for l in weighted]
    counts = [0] * len(weighted)

    def recording(k: int, forward: Any) -> Any:
        def record(h: np.ndarray, *args: Any, **kw: Any) -> np.ndarray:
            out = forward(h, *args, **kw)
            a = np.maximum(out, 0) if relu_after[k] else out
            a = np.moveaxis(a, 1, -1).reshape(-1, a.shape[1]) if a.ndim == 4 else a
            sums[k] += a.sum(axis=0, dtype=np.float64)
            zeros[k] += (a <= 0).sum(axis=0)
            counts[k] += a.shape[0]
            return out
        return record

    with wrapped(weighted, "forward", recording):
        for i in range(0, len(x), batch_size):
            network.forward(x[i:i + batch_size])
    return [s / c for s, c in zip(sums, counts)], [z / c for z, c in zip(zeros, counts)]


def _followed_by_relu(network: Network, weighted: list[WeightedLayer]) -> list[bool]:
    """Per weighted layer: is its output consumed only by ReLUs (a chain: is the next layer a ReLU)?"""
    nodes = getattr(network, "nodes", None)
    if nodes is None:
        layers = network.layers
        nxt = {id(l): (layers[j + 1] if j + 1 < len(layers) else None) for j, l in enumerate(layers)}
        return [isinstance(nxt[id(l)], ReLU) for l in weighted]
    consumers: dict[str, list[Any]] = {}
    for nd in nodes:
        for t in nd.inputs:
            consumers.setdefault(t, []).append(nd.layer)
    out_of = {id(nd.layer): nd.output for nd in nodes}
    return [bool(consumers.get(out_of[id(l)])) and all(isinstance(c, ReLU) for c in consumers[out_of[id(l)]])
            for l in weighted]


def score(network: Network, data: Data = None, criterion: str = "magnitude", *, seed: int | np.random.Generator = 0,
          batch_size: int = 1000, n_samples: Optional[int] = None, temperature: float = 1.0,
          thresholds: Optional[tuple[float, float]] = None) -> list[np.ndarray]:
    """Importance scores (float64, one (out, in) array per weighted layer; higher = keep) by ``criterion``.

    ``data`` = (x, y) is needed by every criterion except random, magnitude and l2; ``n_samples`` uses only
    the first n samples. See the module docstring for each criterion and its source.
    """
    net = _check_network(network)
    if criterion not in CRITERIA:
        raise ConfigError(f"unknown criterion {criterion!r}; choose one of {', '.join(CRITERIA)}")
    layers = net.weighted_layers()
    if criterion == "random":
        rng = np.random.default_rng(seed)
        return [rng.random(l.weight.shape) for l in layers]
    if criterion == "magnitude":
        return [np.abs(l.effective_weight().astype(np.float64)) for l in layers]
    if criterion == "l2":
        return [_row_broadcast(l, np.sqrt(np.sum(l.effective_weight().astype(np.float64) ** 2, axis=1)))
                for l in layers]
    bs = _check_batch(batch_size)
    if criterion in NEEDS_INPUTS:
        x, _ = check_data(net, data, labels=False, n_samples=n_samples)
        mean, zero_frac = activations(net, x, bs)
        per_row = mean if criterion == "mean_activation" else [1.0 - z for z in zero_frac]
        return [_row_broadcast(l, r) for l, r in zip(layers, per_row)]
    weights = [l.effective_weight().astype(np.float64) for l in layers]
    if criterion == "grasp":
        _, hg = hessian_gradient_product(net, data, bs, n_samples, temperature)
        return [w * h for w, h in zip(weights, hg)]
    if temperature != 1.0:
        raise ConfigError(f"temperature applies to criterion 'grasp' only, got temperature={temperature} "
                          f"with {criterion!r}")
    g = gradients(net, data, bs, n_samples)
    if criterion == "gradient":
        return [np.abs(a) for a in g]
    if criterion == "taylor":
        return [np.abs(w * a) for w, a in zip(weights, g)]
    if criterion == "snip":
        s = [np.abs(w * a) for w, a in zip(weights, g)]
        total = sum(float(a.sum()) for a in s)
        return [a / total for a in s] if total > 0 else s
    # grad_magnitude
    if thresholds is not None:
        tw, tg = (float(t) for t in thresholds)
        if not (tw > 0 and tg > 0 and np.isfinite(tw) and np.isfinite(tg)):
            raise ConfigError(f"thresholds (t_w, t_g) must be positive and finite, got {thresholds}")
        return [np.maximum(np.abs(w) / tw, np.abs(a) / tg) for w, a in zip(weights, g)]
    return [np.maximum(_ecdf(np.abs(w)), _ecdf(np.abs(a))) for w, a in zip(weights, g)]


def _ecdf(a: np.ndarray) -> np.ndarray:
    """Empirical CDF value of every entry within its array: fraction of entries <= it (ties share a value)."""
    flat = a.ravel()
    s = np.sort(flat)
    return (np.searchsorted(s, flat, side="right") / flat.size).reshape(a.shape)

