"""The ``hwsim`` command line: one module per verb (``zoo``: models, ``evaluate``, ``cost``, ``prune``, ``demo``),
hardware options built from the back-end registry (:mod:`hwsim.cli._hardware`). Command names and JSON output forms
are a public contract (DESIGN.md)."""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .. import backend
from ..errors import HwsimError
from . import cost, demo, evaluate, prune, zoo


def build_parser() -> argparse.ArgumentParser:
    """The ``hwsim`` parser, with every registered back-end's options."""
    kinds = ", ".join(be.title for be in backend.backends())
    ap = argparse.ArgumentParser(prog="hwsim", description="Cost and accuracy of pruned neural networks on hardware "
                                 f"accelerator models ({kinds}).")
    sub = ap.add_subparsers(dest="command", required=True)
    for verb in (zoo, evaluate, cost, prune, demo):
        verb.add_parser(sub)
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (2 with a one-line message on bad input)."""
    try:
        args = build_parser().parse_args(argv)
        return int(args.func(args) or 0)
    except HwsimError as exc:
        print(f"hwsim: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
