"""Pruning front-end timings: selection, criteria, the simulator in the loop, gradients through photonic meshes.

``python benchmarks/bench_prune.py`` prints medians (5 runs after a warm-up) side by side. The hardware-aware
loop (hwsim.prune.optimize) costs every layer at every sparsity level, so the per-layer map+cost time is what
"fast enough to sit in the loop" means; the phase-gradient row compares one reverse sweep through the meshes
with the finite differences it replaces (2 mesh forwards per phase, extrapolated from one forward).
"""
from __future__ import annotations

import os

import numpy as np
from _timing import machine, median_seconds  # the script's folder is on sys.path


def main() -> None:
    import hwsim
    import models
    from hwsim import photonic, reram
    from hwsim import prune as hp
    from hwsim.workload import MatrixLayer
    from models import fashion_mnist

    hwsim.warmup()
    print(machine(), "| load average", tuple(round(v, 2) for v in os.getloadavg()))
    net = models.get("lenet-300-100", pretrained=True)
    x, y = fashion_mnist.load("train", limit=5000)
    rows = []

    def bench(name, fn, repeat=5):
        t = median_seconds(fn, repeat=repeat)
        rows.append((name, t))
        print(f"{name:<62} {t * 1e3:10.2f} ms", flush=True)
        return t

    sc = hp.score(net, None, "magnitude")
    bench("select unstructured global, LeNet-300-100 (266k weights)", lambda: hp.select(sc, 0.9, scope="global"))
    bench("select unstructured per layer", lambda: hp.select(sc, 0.9))
    bench("select xbar_tiles (16x128) per layer", lambda: hp.select(sc, 0.9, structure="xbar_tiles", tile=(16, 128)))
    bench("select N:M 2:4", lambda: hp.select(sc, None, structure="nm", n=2, m=4))
    big = [np.random.default_rng(0).random((4096, 4096))]
    bench("select unstructured, one 4096x4096 layer (16.8M)", lambda: hp.select(big, 0.9), repeat=3)
    for crit in ("magnitude", "taylor", "grasp", "apoz"):
        bench(f"score {crit}, 5000 samples", lambda c=crit: hp.score(net, (x, y), c), repeat=3)
    fc1 = net.weighted_layers()[0]
    pruned = hp.prune(net, criterion="magnitude", sparsity=0.9, structure="xbar_tiles", tile=(16, 16))
    w = pruned.weighted_layers()[0].effective_weight()
    rc = reram.resolve_config()
    pc = photonic.resolve_config()
    bench("in-the-loop cost: reram map+cost of fc1 (784x300)",
          lambda: reram.cost(reram.map([MatrixLayer("fc1", fc1.effective_weight(), 1)], rc)))
    bench("in-the-loop cost: photonic map+cost of fc1, dense (931 tiles)",
          lambda: photonic.cost(photonic.map([MatrixLayer("fc1", fc1.effective_weight(), 1)], pc)), repeat=3)
    bench("in-the-loop cost: photonic map+cost of fc1, 90% tiles pruned",
          lambda: photonic.cost(photonic.map([MatrixLayer("fc1", w, 1)], pc)))
    lm = photonic.map(pruned, pc).layers[0]
    g = np.ones(lm.shape)
    t_fwd = bench(f"phase forward (numpy), fc1 at 90% ({lm.tiles} tiles of 16x16)",
                  lambda: photonic.layer_forward(lm).matrix)
    t_back = bench("phase gradients, one reverse sweep (all phases and gains)", lambda: photonic.phase_gradients(lm, g))
    n_ph = lm.phases.size
    print(f"{'finite differences would need 2 x ' + str(n_ph) + ' forwards':<62} {2 * n_ph * t_fwd * 1e3:10.0f} ms "
          f"(x{2 * n_ph * t_fwd / t_back:,.0f} the reverse sweep)")
    bench("back-end forward (numba tiles_forward) for comparison", lambda: photonic.layer_matrix(lm))


if __name__ == "__main__":
    main()
