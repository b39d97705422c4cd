"""Sweep throughput (issue 13, acceptance; a benchmark, not a timed test).

1. A 1,000-point cost sweep over ResNet-50 shapes on ReRAM: ADC bits (4..8) x crossbar size (32..512, square) x
   bits per cell (1, 2) x mapping mode (dense, skip_empty, compact, ou) x sparsity (0, 0.5, 0.7, 0.9, 0.95; seeded
   random synthetic weights). Target: <= 60 s on a 2-core machine.
2. A 50-point LeNet-300-100 sweep with accuracy on hardware on 2,000 test images (ReRAM, global magnitude pruning at
   5 sparsities x ADC bits 4..8 x 2 seeds). Target: <= 2 min.

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_sweep.py [--only resnet|lenet] [--jobs N] [--out DIR]

Prints points per second; the stores (SQLite) and CSVs are left in ``--out`` (default: a temporary folder).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from _timing import machine  # noqa: E402

RESNET_SPEC = """
name = "resnet50-reram-1000"
hardware = "reram"
model = "resnet50"
method = "random"
sparsity = [0.0, 0.5, 0.7, 0.9, 0.95]
[set]
"adc.bits" = [4, 5, 6, 7, 8]
"crossbar.bits_per_cell" = [1, 2]
"mapping.mode" = ["dense", "skip_empty", "compact", "ou"]
""" + "".join(f'[[point]]\nset = {{ "crossbar.rows" = {r}, "crossbar.cols" = {r} }}\n' for r in (32, 64, 128, 256, 512))

LENET_SPEC = """
name = "lenet-300-100-reram-accuracy-50"
hardware = "reram"
model = "lenet-300-100"
method = "magnitude"
sparsity = [0.0, 0.5, 0.7, 0.8, 0.9]
seed = [0, 1]
accuracy_images = 2000
[set]
"adc.bits" = [4, 5, 6, 7, 8]
"""


def bench(name: str, text: str, out: Path, jobs: int | None) -> dict:
    from hwsim import sweep

    spec_path = out / f"{name}.toml"
    spec_path.write_text(text)
    spec = sweep.load_spec(spec_path)
    store = out / f"{name}.sqlite"
    for suffix in ("", "-wal", "-shm"):
        Path(str(store) + suffix).unlink(missing_ok=True)
    t0 = time.perf_counter()
    res = sweep.run_sweep(spec, store, jobs=jobs, progress=sweep.Progress(name))
    wall = time.perf_counter() - t0
    rows = sweep.read_rows(store)
    sweep.export_csv(rows, out / f"{name}.csv")
    return {"sweep": name, "points": res.points, "seconds": round(wall, 2), "points_per_s": round(res.points / wall, 2),
            "maps": len(sweep.plan(spec)), "jobs": jobs or sweep.default_jobs()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", choices=("resnet", "lenet"))
    ap.add_argument("--jobs", type=int)
    ap.add_argument("--out")
    args = ap.parse_args()
    import hwsim

    hwsim.warmup()
    out = Path(args.out or tempfile.mkdtemp(prefix="bench-sweep-"))
    out.mkdir(parents=True, exist_ok=True)
    print(machine(), f"load average {os.getloadavg()[0]:.1f}")
    for key, name, text in (("resnet", "resnet50_reram_1000", RESNET_SPEC), ("lenet", "lenet_accuracy_50", LENET_SPEC)):
        if args.only in (None, key):
            print(json.dumps(bench(name, text, out, args.jobs)), flush=True)
    print(f"stores and CSVs in {out}; load average now {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
