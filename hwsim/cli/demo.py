"""``hwsim demo``: the README's main job (:func:`hwsim.demo.run_demo`)."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def add_parser(sub: Any) -> None:
    p = sub.add_parser("demo", help="the main job: model zoo, accuracy of the shipped weights, report and plots")
    p.add_argument("--out", default="hwsim-out", help="output folder")
    p.add_argument("--data-dir")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..demo import run_demo

    run_demo(Path(args.out), data_dir=args.data_dir, as_json=args.json)
    return 0
