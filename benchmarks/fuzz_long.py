"""The fuzz suite's long run (issue 15): thousands of hostile cases against the readers, the library and the CLI.

    OPENBLAS_NUM_THREADS=1 python benchmarks/fuzz_long.py [--examples N]

Runs ``tests/fuzz`` with ``HWSIM_FUZZ_EXAMPLES=N`` (default 500 per test; 12 tests) and prints the number of cases
per family. Exit 0 means 0 tracebacks and 0 silent wrong results (every case either refused with one HwsimError or
checked against its oracle); a failure prints hypothesis's minimal failing example.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--examples", type=int, default=500, help="hypothesis examples per fuzz test")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        report = Path(d) / "cases.json"
        env = dict(os.environ, HWSIM_FUZZ_EXAMPLES=str(args.examples), HWSIM_FUZZ_REPORT=str(report))
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "",
                               str(ROOT / "tests" / "fuzz"), "-k", "not long_run"], cwd=ROOT, env=env)
        cases = json.loads(report.read_text()) if report.exists() else {}
    total = sum(cases.values())
    for family, n in sorted(cases.items()):
        print(f"  {family:<28} {n:>7}")
    verdict = "0 tracebacks, 0 silent wrong results" if proc.returncode == 0 else "FAILURES (see above)"
    print(f"fuzz long run: {total} cases in {time.perf_counter() - t0:.0f} s: {verdict}")
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
