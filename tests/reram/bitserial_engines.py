"""Shared by the bit-serial engine tests: a small pruned MLP and its outputs through the reference table kernel
(``fast=False``) and the fast engine (``fast=True``), each layer programmed from the same seeded generator."""
import numpy as np

import hwsim.reram as rr
from hwsim.nn import Dense, Network, ReLU
from hwsim.reram.run import LayerEngine


def net3(sparsity, seed=0, prune_all=None):
    """150-60-20-5 MLP with random masks of ``sparsity`` (layer ``prune_all`` fully pruned) and small biases."""
    net = Network([Dense(150, 60, "a", seed), ReLU(), Dense(60, 20, "b", seed + 1), ReLU(),
                   Dense(20, 5, "c", seed + 2)], (150,))
    rng = np.random.default_rng(seed)
    for k, l in enumerate(net.weighted_layers()):
        mask = rng.random(l.weight.shape) >= sparsity
        if k == prune_all:
            mask[:] = False
        l.set_mask(mask)
        l.bias[:] = rng.standard_normal(l.bias.shape).astype(np.float32) * 0.1
    return net


def both(net, cfg, x, seed=0):
    """([reference logits, fast logits], [reference engines, fast engines]) of ``net`` mapped with ``cfg``."""
    m = rr.map(net, cfg)
    outs, engs = [], []
    for fast in (False, True):
        rngs = np.random.default_rng(seed).spawn(len(m.layers))
        eng = [LayerEngine(l.effective_weight(), lm, cfg, r, bit_serial=True, fast=fast)
               for l, lm, r in zip(net.weighted_layers(), m.layers, rngs)]
        outs.append(net.forward(x, matmul=lambda i, c: eng[i](c)))
        engs.append(eng)
    return outs, engs
