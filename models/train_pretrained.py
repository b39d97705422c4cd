"""Reproduce the shipped pretrained weights: ``python -m models.train_pretrained [--model NAME] [--out DIR]``.

Training uses the 60k Fashion-MNIST training images only (the test set is never used for any choice),
Adam (lr 1e-3, batch 128) with a cosine learning-rate decay, from a fixed seed; it is deterministic
on a given machine up to floating-point summation order in BLAS.
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from hwsim.nn import Adam, fit

from . import fashion_mnist
from . import PRETRAINING, REGISTRY, WEIGHTS_DIR

#: Every registry model that ships weights (models.REGISTRY, whose ``training`` field states this recipe).
RECIPES = {name: dict(build=e.build, **PRETRAINING) for name, e in REGISTRY.items() if e.training is not None}
SEED = PRETRAINING["seed"]


def train(name: str, out_dir: Path = WEIGHTS_DIR, data_dir: str | None = None, epochs: int | None = None) -> float:
    r = RECIPES[name]
    net = r["build"](seed=SEED)
    x, y = fashion_mnist.load("train", data_dir)
    xt, yt = fashion_mnist.load("test", data_dir)
    n_ep = epochs or r["epochs"]
    fit(net, x, y, epochs=n_ep, batch_size=r["batch_size"], optimizer=Adam(net, lr=r["lr"], weight_decay=r["weight_decay"]),
        seed=SEED, lr_schedule=lambda e: 0.5 * (1 + math.cos(math.pi * e / n_ep)), progress=True)
    acc = net.accuracy(xt, yt)
    out_dir.mkdir(parents=True, exist_ok=True)
    net.save(out_dir / f"{name}.npz")
    print(f"{name}: test accuracy {acc:.4f} -> {out_dir / (name + '.npz')}", file=sys.stderr)
    return acc


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", choices=sorted(RECIPES), action="append")
    ap.add_argument("--out", type=Path, default=WEIGHTS_DIR)
    ap.add_argument("--data-dir")
    ap.add_argument("--epochs", type=int)
    a = ap.parse_args(argv)
    for name in a.model or sorted(RECIPES):
        train(name, a.out, a.data_dir, a.epochs)


if __name__ == "__main__":
    main()
