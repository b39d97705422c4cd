"""``hwsim pareto STORE``: the Pareto front of a sweep over two or three metrics, as a table, CSV and a figure."""
from __future__ import annotations

import argparse
import json
from typing import Any

from ..errors import ConfigError


def add_parser(sub: Any) -> None:
    p = sub.add_parser("pareto", help="the Pareto front (non-dominated points) of a sweep over 2 or 3 metrics",
                       description="Read a sweep store (or its CSV export) and print the points no other point "
                       "beats in every chosen metric. Senses default to max for accuracy, throughput, TOPS/W and "
                       "utilisation, min for every cost; --max/--min override.",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("store", metavar="STORE", help="sweep store (.sqlite) or its CSV export")
    p.add_argument("--x", default="static_power_w", help="first metric (a row key: static_power_w, energy_j, "
                   "latency_s, area_mm2, tiles, chip.*, accuracy, ...)")
    p.add_argument("--y", default="accuracy", help="second metric")
    p.add_argument("--z", help="optional third metric (the front is 3-D; the figure shows x against y)")
    p.add_argument("--max", action="append", default=[], metavar="METRIC", help="maximise METRIC (repeatable)")
    p.add_argument("--min", action="append", default=[], metavar="METRIC", help="minimise METRIC (repeatable)")
    p.add_argument("--where", action="append", default=[], metavar="KEY=VALUE",
                   help="keep rows whose KEY equals VALUE (repeatable; e.g. hardware=reram, set.adc.bits=6)")
    p.add_argument("--group", metavar="KEY", help="one front per value of KEY (e.g. hardware, model, method)")
    p.add_argument("--out", metavar="FIG.png", help="draw the front(s): PNG, plus PDF beside it")
    p.add_argument("--csv", metavar="FRONT.csv", help="write the front's rows as CSV")
    p.add_argument("--json", action="store_true", help="print the front's rows as JSON")
    p.set_defaults(func=run)


def _match(row: dict[str, Any], cond: str) -> bool:
    key, _, want = cond.partition("=")
    have = row.get(key)
    if isinstance(have, (int, float)) and not isinstance(have, bool):
        try:
            return float(want) == float(have)
        except ValueError:
            return False
    return str(have) == want


def run(args: argparse.Namespace) -> int:
    from ..analysis import default_sense, pareto_front
    from ..atomic_io import check_output_file
    from ..report import si_format
    from ..sweep import export_csv, read_rows

    for cond in args.where:
        if "=" not in cond:
            raise ConfigError(f"--where {cond!r}: expected KEY=VALUE")
    both = set(args.max) & set(args.min)
    if both:
        raise ConfigError(f"--max and --min both name {sorted(both)[0]!r}")
    if args.out is not None:
        check_output_file(args.out, "--out", ".png")
    if args.csv is not None:
        check_output_file(args.csv, "--csv", ".csv")
    rows = read_rows(args.store)
    if not rows:
        raise ConfigError(f"{args.store!r} holds no points")
    keys = set().union(*rows)
    for cond in args.where:
        if cond.partition("=")[0] not in keys:
            raise ConfigError(f"--where {cond!r}: unknown key; the rows hold: {', '.join(sorted(keys))}")
    rows = [r for r in rows if all(_match(r, c) for c in args.where)]
    if not rows:
        raise ConfigError("no row matches every --where")
    metrics = [m for m in (args.x, args.y, args.z) if m is not None]
    numeric = sorted(k for k in keys if any(isinstance(r.get(k), (int, float)) and not isinstance(r.get(k), bool)
                                            for r in rows))
    for flag, m in zip(("--x", "--y", "--z"), metrics):
        if m not in numeric:
            hint = " (accuracy needs accuracy_images > 0 in the sweep spec)" if m in ("accuracy", "float_accuracy") \
                else ""
            raise ConfigError(f"{flag} {m!r}: not a metric of these rows{hint}; choose one of {', '.join(numeric)}")
    for m in [*args.max, *args.min]:
        if m not in metrics:
            raise ConfigError(f"--max/--min {m!r}: not among the chosen metrics {', '.join(metrics)}")
    sense = ["max" if m in args.max else "min" if m in args.min else default_sense(m) for m in metrics]
    if args.group is not None and args.group not in keys:
        raise ConfigError(f"--group {args.group!r}: unknown key; the rows hold: {', '.join(sorted(keys))}")
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault(str(r.get(args.group)) if args.group else "all points", []).append(r)
    fronts = {g: [rs[i] for i in pareto_front(rs, metrics, sense)] for g, rs in groups.items()}
    front_rows = [dict(r, front_group=g) if args.group else r for g, f in fronts.items() for r in f]
    if args.csv:
        export_csv(front_rows, args.csv)
    if args.out:
        from .. import plots

        ax = plots.plot_pareto({g: [(r[args.x], r[args.y]) for r in rs
                                    if r.get(args.x) is not None and r.get(args.y) is not None]
                                for g, rs in groups.items()}, args.x, y_metric=args.y, sense=sense[:2],
                               title=_title(rows, args.where))
        plots.save(ax, args.out, formats=("pdf",))
    if args.json:
        print(json.dumps({"metrics": metrics, "sense": sense, "rows": len(rows), "front": front_rows}, indent=2,
                         default=str))
        return 0
    swept = [k for k in sorted(keys) if k.startswith("set.") or k in ("preset", "model", "method", "sparsity",
                                                                         "seed", "hardware")]
    swept = [k for k in swept if len({json.dumps(r.get(k), default=str) for r in rows}) > 1]
    for g, f in fronts.items():
        print(f"{g}: {len(f)} of {len(groups[g])} points on the front ({', '.join(f'{s} {m}' for m, s in zip(metrics, sense))})")
        head = [*swept, *metrics]
        table = [[str(r.get(k)) for k in swept] + [si_format(m, r.get(m)) for m in metrics] for r in f]
        widths = [max(len(h), *(len(t[i]) for t in table)) for i, h in enumerate(head)]
        print("  ".join(h.rjust(w) for h, w in zip(head, widths)))
        for t in table:
            print("  ".join(c.rjust(w) for c, w in zip(t, widths)))
    if args.out:
        print(f"figure: {args.out} (+ .pdf)")
    return 0


def _title(rows: list[dict[str, Any]], where: list[str]) -> str:
    def one(k: str) -> str | None:
        vals = {str(r.get(k)) for r in rows}
        return vals.pop() if len(vals) == 1 else None

    model, hw, preset = one("model"), one("hardware"), one("preset")
    if model is not None:
        import models

        model = models.REGISTRY[model].title if model in models.REGISTRY else model
    s = one("sparsity")
    title = " on ".join(x for x in (model or "several models", hw or "several back-ends"))
    title += f" ({preset if preset not in (None, 'None') else 'default preset'})" if preset or hw else ""
    if s is not None:
        title += f", {100 * float(s):g} % sparsity"
    else:
        sp = sorted({float(r["sparsity"]) for r in rows if r.get("sparsity") is not None})
        if sp:
            title += f", sparsity {100 * sp[0]:g}-{100 * sp[-1]:g} %"
    return title + (f"\n{', '.join(where)}" if where else "")
