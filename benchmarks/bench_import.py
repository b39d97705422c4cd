"""Import benchmark (issue 12): a ResNet-18-shaped ONNX graph (ImageNet shapes, random weights, batch norm after every
convolution; built by the tests' ``onnx_models.resnet18``) read by ``hwsim.importers.load_onnx`` and costed on ReRAM,
against the zoo's shape-only ``resnet18`` costed the same way; and the shipped ResNet-20's ONNX import.

Run: ``python benchmarks/bench_import.py`` (needs the ``onnx`` extra). Prints medians and the ratio.
"""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from _timing import machine, median_seconds  # the script's folder is on sys.path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import onnx_models  # noqa: E402  (tests/onnx_models.py: the ONNX graphs the tests build with onnx.helper)

import models  # noqa: E402
from hwsim import reram  # noqa: E402
from hwsim.importers import load_onnx  # noqa: E402


def main() -> None:
    print(machine(), f"| load average {os.getloadavg()[0]:.2f} | OPENBLAS_NUM_THREADS="
          f"{os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}")
    cfg = reram.resolve_config()
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "resnet18.onnx"
        path.write_bytes(onnx_models.resnet18().SerializeToString())
        size_mb = path.stat().st_size / 2**20
        t_load = median_seconds(lambda: load_onnx(path), repeat=3)
        t_all = median_seconds(lambda: reram.cost(reram.map(load_onnx(path), cfg)), repeat=3)
    zoo = models.get("resnet18")
    t_zoo = median_seconds(lambda: reram.cost(reram.map(zoo.matrix_layers(seed=0), cfg)), repeat=3)
    shipped = models.WEIGHTS_DIR / "resnet20.onnx"
    t_r20 = median_seconds(lambda: load_onnx(shipped), repeat=5)
    print(f"ResNet-18 ONNX ({size_mb:.1f} MiB): import {t_load:.2f} s; import + ReRAM map + cost {t_all:.2f} s "
          f"(target <= 5 s); the zoo's shape-only resnet18 map + cost {t_zoo:.2f} s (ratio {t_all / t_zoo:.2f})")
    print(f"shipped ResNet-20 ONNX import: {t_r20 * 1e3:.0f} ms")


if __name__ == "__main__":
    main()
