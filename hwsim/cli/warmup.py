"""``hwsim warmup``: compile every numba kernel once, ahead of time, with progress (numba caches them on disk)."""
from __future__ import annotations

import argparse
import json
from typing import Any


def add_parser(sub: Any) -> None:
    p = sub.add_parser("warmup", help="compile every numba kernel ahead of time (cached on disk for later runs)",
                       description="Compile the network runtime's and every registered back-end's numba kernels on "
                       "tiny inputs, one part at a time with its time on stderr. numba caches the machine code on "
                       "disk, so the first real command after an install does not wait for it (seconds per part "
                       "cold, well under one when cached).")
    p.add_argument("--json", action="store_true", help="print the seconds per part as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from .. import warmup

    seconds = warmup(progress=True)
    if args.json:
        print(json.dumps({"seconds": seconds, "total_s": sum(seconds.values())}))
    else:
        from ..tables import table

        rows = [[name, f"{s:.2f}"] for name, s in seconds.items()] + [["total", f"{sum(seconds.values()):.2f}"]]
        print(table(["part", "seconds"], rows))
    return 0
