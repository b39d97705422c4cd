"""Reproduce the shipped pretrained weights: ``python -m models.train_pretrained [--model NAME] [--out DIR]``.

Training uses the 60k Fashion-MNIST training images only (the test set is never used for any choice) from a fixed
seed; it is deterministic on a given machine up to floating-point summation order in BLAS.

* The LeNets: Adam (lr 1e-3, batch 128) with a cosine learning-rate decay (:data:`models.PRETRAINING`).
* ``resnet20``: trained with batch norm (batch statistics) by SGD with momentum, weight decay, cosine decay and
  crop-and-flip augmentation (:data:`models.resnet.RESNET_TRAINING`); then written two ways: the deployed zoo
  weights with every batch norm folded into its convolution (``resnet20.npz``) and the trained network's ONNX
  export with its BatchNormalization nodes and PyTorch-style names (``resnet20.onnx``; needs the ``onnx`` extra).
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

from hwsim.errors import ConfigError
from hwsim.importers.onnx_export import export_onnx
from hwsim.nn import SGD, Adam, fit
from hwsim.nn.train import crop_and_flip

from . import fashion_mnist
from . import PRETRAINING, REGISTRY, WEIGHTS_DIR
from . import resnet

#: Every registry model that ships weights (models.REGISTRY, whose ``training`` field states the recipe).
RECIPES = {name: dict(build=e.build, **(resnet.RESNET_TRAINING if name == "resnet20" else PRETRAINING))
           for name, e in REGISTRY.items() if e.training is not None}
SEED = PRETRAINING["seed"]


def _cosine(epochs: int):
    return lambda e: 0.5 * (1 + math.cos(math.pi * e / epochs))


def train(name: str, out_dir: Path = WEIGHTS_DIR, data_dir: str | None = None, epochs: int | None = None) -> float:
    r = RECIPES[name]
    x, y = fashion_mnist.load("train", data_dir)
    xt, yt = fashion_mnist.load("test", data_dir)
    n_ep = epochs or r["epochs"]
    out_dir.mkdir(parents=True, exist_ok=True)
    if name == "resnet20":
        return _train_resnet(r, x, y, xt, yt, n_ep, out_dir)
    net = r["build"](seed=SEED)
    fit(net, x, y, epochs=n_ep, batch_size=r["batch_size"], optimizer=Adam(net, lr=r["lr"], weight_decay=r["weight_decay"]),
        seed=SEED, lr_schedule=_cosine(n_ep), progress=True)
    acc = net.accuracy(xt, yt)
    net.save(out_dir / f"{name}.npz")
    print(f"{name}: test accuracy {acc:.4f} -> {out_dir / (name + '.npz')}", file=sys.stderr)
    return acc


def _train_resnet(r: dict, x: np.ndarray, y: np.ndarray, xt: np.ndarray, yt: np.ndarray, n_ep: int,
                  out_dir: Path) -> float:
    net = resnet.resnet20(seed=r["seed"], batch_norm=True)
    opt = SGD(net, lr=r["lr"], momentum=r["momentum"], weight_decay=r["weight_decay"])
    fit(net, x, y, epochs=n_ep, batch_size=r["batch_size"], optimizer=opt, seed=r["seed"], lr_schedule=_cosine(n_ep),
        progress=True, augment=crop_and_flip(r["crop_pad"]))
    acc_bn = net.accuracy(xt, yt)
    deployed = resnet.fold_batch_norm(net)
    acc = deployed.accuracy(xt, yt)
    deployed.save(out_dir / "resnet20.npz")
    try:
        export_onnx(net, out_dir / "resnet20.onnx")
    except ConfigError as e:  # the onnx extra is not installed: export_onnx refuses before writing anything
        print(f"resnet20: ONNX export skipped ({e})", file=sys.stderr)
    print(f"resnet20: test accuracy {acc:.4f} folded ({acc_bn:.4f} with batch norm) -> {out_dir}", file=sys.stderr)
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
