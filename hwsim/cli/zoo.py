"""``hwsim models``: the model zoo."""
from __future__ import annotations

import argparse
from typing import Any

from ..tables import table
from ._output import print_json


def add_parser(sub: Any) -> None:
    p = sub.add_parser("models", help="list the model zoo")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import models

    infos = [models.info(n) for n in models.names()]
    if args.json:
        print_json([i.__dict__ for i in infos])
    else:
        print(table(["model", "kind", "layers", "weights", "params", "MVMs/inference", "pretrained"],
                    [[i.name, i.kind, i.layers, f"{i.weights:,}", f"{i.params:,}", f"{i.mvms_per_inference:,}",
                      "yes" if i.pretrained else "-"] for i in infos]))
    return 0
