"""``hwsim sweep SPEC.toml``: cost (and accuracy on hardware) over a grid of design points, stored in SQLite."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..errors import ConfigError


def _jobs(text: str) -> int:
    from ._args import count

    return count(text)


def add_parser(sub: Any) -> None:
    p = sub.add_parser("sweep", help="cost (and accuracy on hardware) over a grid of design points, into SQLite",
                       description="Run every point of a sweep spec (a TOML file: see hwsim.sweep.spec; axes over "
                       "hardware, presets, models, weights files, pruning method x sparsity, seeds and any dotted "
                       "back-end config key under [set]). Every point is validated before any work; each finished "
                       "point is committed to the store at once, so a killed sweep resumes with --resume.",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("spec", metavar="SPEC.toml", help="the sweep spec")
    p.add_argument("--store", metavar="FILE.sqlite", help="SQLite store (default: SPEC with suffix .sqlite)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--resume", action="store_true", help="skip the points already in the store")
    g.add_argument("--overwrite", action="store_true", help="delete an existing store first")
    p.add_argument("--jobs", type=_jobs, default=None, metavar="N",
                   help="worker processes (default: one per core; 1 = no subprocesses)")
    p.add_argument("--dask", metavar="ADDRESS", help="run on a Dask scheduler at ADDRESS, or 'local' for a "
                   "distributed.LocalCluster (needs the 'distributed' package: pip install 'hwsim[dask]')")
    p.add_argument("--csv", metavar="FILE.csv", help="also export the store's rows as CSV")
    p.add_argument("--parquet", metavar="FILE.parquet", help="also export the store's rows as Parquet (pyarrow)")
    p.add_argument("--dry-run", action="store_true", help="validate the spec and list the points; run nothing")
    p.add_argument("--quiet", action="store_true", help="no progress line on stderr")
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from .. import sweep as sw
    from ..atomic_io import check_output_file
    from ..sweep import store as st

    if args.dask is not None and args.jobs is not None:
        raise ConfigError("--jobs: not with --dask (the Dask cluster's workers run the points)")
    if args.parquet is not None:
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise ConfigError("--parquet needs pyarrow, which is not installed: pip install 'hwsim[parquet]' "
                              "(or use --csv)") from None
    spec = sw.load_spec(args.spec)
    store = Path(args.store) if args.store else Path(args.spec).with_suffix(".sqlite")
    if args.dry_run:
        points = [{"index": i, "key": p.key, **p.params()} for i, p in enumerate(spec.points)]
        if args.json:
            print(json.dumps({"points": points, "n": len(points)}, indent=2, default=str))
        else:
            for i, p in enumerate(spec.points):
                print(f"{i:>5}  {p.label()}")
            print(f"{len(points)} points; nothing run (--dry-run)")
        return 0
    check_output_file(store, "--store")
    for flag, path, suffix in (("--csv", args.csv, ".csv"), ("--parquet", args.parquet, ".parquet")):
        if path is not None:
            check_output_file(path, flag, suffix)
    if args.overwrite:
        st.remove(store)
    progress = sw.Progress("points", enabled=not args.quiet)
    result = sw.run_sweep(spec, store, jobs=args.jobs, resume=args.resume, dask=args.dask, progress=progress)
    rows = sw.read_rows(store)
    if args.csv:
        sw.export_csv(rows, args.csv)
    if args.parquet:
        sw.export_parquet(rows, args.parquet)
    rate = result.ran / result.seconds if result.seconds > 0 else 0.0
    summary = {"points": result.points, "ran": result.ran, "resumed": result.resumed, "stored": len(rows),
               "seconds": result.seconds, "points_per_s": rate, "store": str(store), "csv": args.csv,
               "parquet": args.parquet}
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"{result.points} points: {result.ran} run in {result.seconds:.1f} s ({rate:.3g} points/s), "
              f"{result.resumed} already stored; {len(rows)} rows in {store}"
              + "".join(f", {p}" for p in (args.csv, args.parquet) if p))
    sys.stdout.flush()
    return 0
