"""Argument types shared by the CLI's verbs: counts and seeds are validated where they are parsed, so a negative
``--limit`` is refused instead of indexing from the end."""
from __future__ import annotations

import argparse


def _int(text: str, lo: int, what: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{what}: expected an integer, got {text!r}") from None
    if v < lo:
        raise argparse.ArgumentTypeError(f"{what}: must be >= {lo}, got {v}")
    return v


def count(text: str) -> int:
    """A positive count (images, samples): an integer >= 1."""
    return _int(text, 1, "count")


def seed(text: str) -> int:
    """A random seed: an integer >= 0 (numpy's seeds are non-negative)."""
    return _int(text, 0, "seed")


def add_import_args(p: argparse.ArgumentParser, normalisation: bool = True) -> None:
    """Trained weights with PyTorch's names (``--state``), and the input shape (and normalisation, for commands that
    evaluate) of an imported network (``--weights FILE.onnx`` or ``--model SPEC.toml`` only; refused otherwise)."""
    g = p.add_argument_group("your own network (--weights FILE.onnx, --model SPEC.toml, --state)")
    g.add_argument("--input-shape", type=shape, metavar="C,H,W", help="the model's input shape without the batch "
                   "axis, when the file leaves axes symbolic (default: the file's)")
    g.add_argument("--state", metavar="FILE.pt|.safetensors|.npz", help="trained weights with PyTorch's names "
                   "(conv1.weight 4-D, fc1.bias, bn1.running_mean, ...; a .pt is read without running pickle code) "
                   "bound to --model NAME|SPEC.toml or replacing the parameters of --weights FILE.onnx; every "
                   "parameter must be given and every tensor must match one")
    if not normalisation:
        return
    g.add_argument("--mean", metavar="M[,M...]", help="input normalisation (x - mean) / std, one value or one per "
                   "channel (default: the file's hwsim.mean metadata, else none)")
    g.add_argument("--std", metavar="S[,S...]", help="see --mean (default: the file's hwsim.std metadata, else none)")


def shape(text: str) -> tuple[int, ...]:
    """A shape ``C,H,W`` (or ``F``): positive integers separated by commas."""
    parts = [t.strip() for t in text.replace("x", ",").split(",")]
    try:
        dims = tuple(int(t) for t in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"shape: expected positive integers like 1,28,28, got {text!r}") from None
    if not dims or min(dims) < 1:
        raise argparse.ArgumentTypeError(f"shape: expected positive integers like 1,28,28, got {text!r}")
    return dims


def fit_input(net, x):
    """Images ``x`` (n, 1, 28, 28) reshaped (row-major) to ``net.input_shape`` when the sizes agree, else
    DataError: an imported MLP taking (n, 784) reads the same pixels a zoo network flattens."""
    import math

    from ..errors import DataError

    want = tuple(net.input_shape)
    if x.shape[1:] == want:
        return x
    if math.prod(x.shape[1:]) != math.prod(want):
        raise DataError(f"network {net.name!r} takes inputs of shape (n, {', '.join(map(str, want))}) but the data "
                        f"are (n, {', '.join(map(str, x.shape[1:]))}); give --input-shape or use matching data")
    return x.reshape((len(x),) + want)
