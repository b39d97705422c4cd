"""Observing layers inside a network's own forward or backward pass (chains and imported graphs alike)."""
from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any


@contextlib.contextmanager
def wrapped(layers: Sequence[Any], method: str, wrap: Callable[[int, Callable], Callable]) -> Iterator[None]:
    """For the ``with`` block, ``layers[k].<method>`` is ``wrap(k, original)`` (an instance attribute over the class
    method); the originals are back afterwards, also on an exception. ``wrap`` returns the replacement, which
    receives the original call's arguments."""
    for k, layer in enumerate(layers):
        setattr(layer, method, wrap(k, getattr(layer, method)))
    try:
        yield
    finally:
        for layer in layers:
            with contextlib.suppress(AttributeError):
                delattr(layer, method)
