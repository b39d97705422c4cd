"""Network runtime benchmarks: numba kernels vs their numpy oracles, one LeNet-300-100 / LeNet-5 epoch, and
ResNet-20's training step and inference (GraphConv's compiled im2col path against its strided-window path).

Run: ``python benchmarks/bench_nn.py [--no-epoch] [--no-kernels] [--no-resnet]``. Prints medians and ratios.
"""
from __future__ import annotations

import argparse

import numpy as np
from _timing import machine, median_seconds  # the script's folder is on sys.path

import hwsim
from hwsim.nn import _kernels, _reference


def kernels() -> None:
    rng = np.random.default_rng(0)
    print(f"{'kernel':<34}{'numba ms':>10}{'numpy ms':>10}{'speed-up':>10}")
    for (n, c, h, k, s, p) in [(128, 1, 28, 5, 1, 2), (128, 6, 14, 5, 1, 0), (32, 64, 56, 3, 1, 1)]:
        x = rng.standard_normal((n, c, h, h)).astype(np.float32)
        oh = (h + 2 * p - k) // s + 1
        out = np.empty((n * oh * oh, c * k * k), np.float32)
        t_nb = median_seconds(lambda: _kernels.im2col(x, k, k, s, p, out))
        t_np = median_seconds(lambda: _reference.im2col(x, k, k, s, p))
        print(f"{f'im2col {n}x{c}x{h}x{h} k{k}':<34}{t_nb * 1e3:>10.2f}{t_np * 1e3:>10.2f}{t_np / t_nb:>10.1f}")
        g = rng.standard_normal(out.shape).astype(np.float32)
        xo = np.empty_like(x)
        t_nb = median_seconds(lambda: _kernels.col2im(g, n, c, h, h, k, k, s, p, xo), repeat=3)
        t_np = median_seconds(lambda: _reference.col2im(g, n, c, h, h, k, k, s, p), repeat=3)
        print(f"{f'col2im {n}x{c}x{h}x{h} k{k}':<34}{t_nb * 1e3:>10.2f}{t_np * 1e3:>10.2f}{t_np / t_nb:>10.1f}")
    x = rng.standard_normal((128, 6, 28, 28)).astype(np.float32)
    out = np.empty((128, 6, 14, 14), np.float32)
    am = np.empty(out.shape, np.int64)
    t_nb = median_seconds(lambda: _kernels.maxpool_forward(x, 2, 2, out, am))
    t_np = median_seconds(lambda: _reference.maxpool_forward(x, 2, 2))
    print(f"{'maxpool fwd 128x6x28x28':<34}{t_nb * 1e3:>10.2f}{t_np * 1e3:>10.2f}{t_np / t_nb:>10.1f}")
    gi = np.empty_like(x)
    t_nb = median_seconds(lambda: _kernels.maxpool_backward(out, am, 28, 28, gi))
    t_np = median_seconds(lambda: _reference.maxpool_backward(out, am, 28, 28), repeat=3)
    print(f"{'maxpool bwd 128x6x28x28':<34}{t_nb * 1e3:>10.2f}{t_np * 1e3:>10.2f}{t_np / t_nb:>10.1f}")


def epochs() -> None:
    import models
    from hwsim.nn import Adam, fit
    from models import fashion_mnist

    x, y = fashion_mnist.load("train")
    for name, repeat in (("lenet-300-100", 3), ("lenet5", 1)):
        def one_epoch():
            net = models.get(name, seed=0)
            fit(net, x, y, epochs=1, batch_size=128, optimizer=Adam(net), seed=0)
        t = median_seconds(one_epoch, repeat=repeat, warmup=0)
        print(f"one training epoch, {name}, 60k images, batch 128, Adam: median {t:.2f} s over {repeat}")


def resnet() -> None:
    """One ResNet-20 training step (batch 128, batch norm with batch statistics, SGD) and inference of 1,000 images
    (the deployed form, batch norms folded), with GraphConv's compiled im2col / col2im and with the window path."""
    import contextlib
    from unittest import mock

    from hwsim.nn import SGD
    from hwsim.nn.graph import GraphConv
    from hwsim.nn.loss import softmax_cross_entropy
    from models.resnet import resnet20

    rng = np.random.default_rng(0)
    x, y = rng.random((128, 1, 28, 28), dtype=np.float32), rng.integers(0, 10, 128)
    xi = rng.random((1000, 1, 28, 28), dtype=np.float32)
    rows = []
    for label, square in (("compiled im2col", None), ("window path", lambda self: False)):
        with mock.patch.object(GraphConv, "_square", square) if square else contextlib.nullcontext():
            net = resnet20(seed=0, batch_norm=True)
            opt = SGD(net, lr=0.01)

            def step():
                _, g = softmax_cross_entropy(net.forward(x, train=True, validate=False), y)
                net.backward(g)
                opt.step()

            deployed = resnet20(seed=0)
            rows.append((label, median_seconds(step, repeat=5), median_seconds(lambda: deployed.predict(xi),
                                                                                 repeat=3)))
    print(f"{'ResNet-20':<22}{'train step (128) s':>20}{'inference (1000) s':>20}")
    for label, t_step, t_inf in rows:
        print(f"{label:<22}{t_step:>20.3f}{t_inf:>20.3f}")
    print(f"{'window / compiled':<22}{rows[1][1] / rows[0][1]:>20.2f}{rows[1][2] / rows[0][2]:>20.2f}")
    print(f"one ResNet-20 epoch (469 steps) ~ {469 * rows[0][1] / 60:.1f} min")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--no-epoch", action="store_true")
    ap.add_argument("--no-kernels", action="store_true")
    ap.add_argument("--no-resnet", action="store_true")
    a = ap.parse_args()
    import os

    print(machine(), f"| load average {os.getloadavg()[0]:.2f} | OPENBLAS_NUM_THREADS="
          f"{os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}")
    hwsim.warmup()
    if not a.no_kernels:
        kernels()
    if not a.no_epoch:
        epochs()
    if not a.no_resnet:
        resnet()
