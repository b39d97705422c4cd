"""The README's main job: the model zoo, the shipped weights' accuracy, and hardware costs, as a report."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def run_demo(out: Path, data_dir: str | None = None, as_json: bool = False) -> dict[str, Any]:
    """Run the demo, write ``out/report.json`` and return the report dict."""
    import models
    from models import fashion_mnist

    from .cli import _table

    out.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"models": [models.info(n).__dict__ for n in models.names()], "accuracy": []}
    _log("[1/2] model zoo")
    x, y = fashion_mnist.load("test", data_dir)
    _log(f"[2/2] accuracy of the shipped weights on the {len(y)} Fashion-MNIST test images")
    for name in ("lenet-300-100", "lenet5"):
        t0 = time.perf_counter()
        net = models.get(name, pretrained=True)
        acc = net.accuracy(x, y)
        report["accuracy"].append({"model": name, "accuracy": acc, "n": int(len(y)),
                                   "seconds": time.perf_counter() - t0})
    (out / "report.json").write_text(json.dumps(report, indent=2))
    if as_json:
        print(json.dumps(report, indent=2))
    else:
        print(_table(["model", "kind", "layers", "weights", "MVMs/inference"],
                     [[m["name"], m["kind"], m["layers"], f"{m['weights']:,}", f"{m['mvms_per_inference']:,}"]
                      for m in report["models"]]))
        print()
        print(_table(["model", "test accuracy", "images"],
                     [[a["model"], f"{a['accuracy'] * 100:.2f}%", a["n"]] for a in report["accuracy"]]))
        print(f"\nreport: {out / 'report.json'}")
    return report
