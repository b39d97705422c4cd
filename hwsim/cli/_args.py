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
