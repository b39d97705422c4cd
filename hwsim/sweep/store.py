"""The sweep store: one SQLite database (standard library), one row per finished point.

Each row holds the point's parameters, its full resolved configuration (JSON), every Report metric (totals and, when
the back-end fills ``Report.chip``, the chip-level figures prefixed ``chip.``; JSON in ``metrics``), the component
breakdown of the totals (JSON) and the seconds the point took. A row is inserted and committed as soon as its point
finishes, in SQLite's write-ahead log with ``synchronous=FULL``: a killed sweep loses no finished point, and the point
key (primary key) makes a resumed sweep insert no point twice. SQLite's journal is the store's atomicity; exports
(CSV, Parquet) are written through :mod:`hwsim.atomic_io`.
"""
from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import ConfigError, DataError

SCHEMA_VERSION = "1"
#: Parameter columns of a row (in export order).
PARAM_COLUMNS = ("hardware", "preset", "model", "weights", "method", "sparsity", "structure", "scope", "seed",
                 "accuracy_images")
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS points (
    key TEXT PRIMARY KEY, idx INTEGER NOT NULL,
    {", ".join(f"{c} {'REAL' if c == 'sparsity' else 'INTEGER' if c in ('seed', 'accuracy_images') else 'TEXT'}"
               for c in PARAM_COLUMNS)},
    overrides TEXT NOT NULL, config TEXT NOT NULL, metrics TEXT NOT NULL, breakdown TEXT NOT NULL,
    seconds REAL NOT NULL, finished_at TEXT NOT NULL
);
"""


class Store:
    """A sweep's SQLite store (use as a context manager, or call :meth:`close`)."""

    def __init__(self, path: str | os.PathLike[str], create: bool = True) -> None:
        self.path = Path(path)
        if not create and not self.path.is_file():
            raise DataError(f"sweep store {str(self.path)!r} does not exist")
        try:
            self._db = sqlite3.connect(str(self.path), isolation_level=None, timeout=30.0)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            if create:
                self._db.executescript(_SCHEMA)
                self._db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
            else:
                self._db.execute("SELECT count(*) FROM points").fetchone()
        except sqlite3.DatabaseError as exc:
            raise DataError(f"sweep store {str(self.path)!r} is not a readable hwsim sweep store: {exc}") from None

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    def set_meta(self, name: str, value: Any) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (name, json.dumps(value, default=str)))

    def meta(self, name: str) -> Any:
        row = self._db.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return None if row is None else json.loads(row[0])

    def __len__(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM points").fetchone()[0])

    def done_keys(self) -> set[str]:
        """Keys of the stored (finished) points."""
        return {r[0] for r in self._db.execute("SELECT key FROM points")}

    def add(self, row: Mapping[str, Any]) -> bool:
        """Insert one finished point and commit; False (nothing written) when its key is already stored."""
        cur = self._db.execute(
            f"INSERT OR IGNORE INTO points (key, idx, {', '.join(PARAM_COLUMNS)}, overrides, config, metrics, "
            f"breakdown, seconds, finished_at) VALUES ({', '.join('?' * (len(PARAM_COLUMNS) + 8))})",
            (row["key"], int(row["idx"]), *(row["params"].get(c) for c in PARAM_COLUMNS),
             json.dumps(row["params"]["overrides"], sort_keys=True, default=str),
             json.dumps(row["config"], sort_keys=True, default=str), json.dumps(row["metrics"]),
             json.dumps(row["breakdown"]), float(row["seconds"]),
             time.strftime("%Y-%m-%dT%H:%M:%S%z")))
        return cur.rowcount == 1

    def raw_rows(self) -> list[dict[str, Any]]:
        """Stored rows as dicts of the table's columns (JSON columns decoded), in point order."""
        cur = self._db.execute("SELECT * FROM points ORDER BY idx, key")
        names = [d[0] for d in cur.description]
        out = []
        for r in cur:
            d = dict(zip(names, r))
            for c in ("overrides", "config", "metrics", "breakdown"):
                d[c] = json.loads(d[c])
            out.append(d)
        return out

    def rows(self) -> list[dict[str, Any]]:
        """Flat rows: parameters, ``set.<dotted key>`` per override, then every metric (one level of keys)."""
        return [flat_row(d) for d in self.raw_rows()]


def flat_row(d: Mapping[str, Any]) -> dict[str, Any]:
    """A stored row as one flat dict (what CSV, Parquet and ``hwsim pareto`` see)."""
    out: dict[str, Any] = {"key": d["key"], "idx": d["idx"]}
    out.update({c: d[c] for c in PARAM_COLUMNS})
    out.update({f"set.{k}": v for k, v in d["overrides"].items()})
    out.update(d["metrics"])
    out["seconds"] = d["seconds"]
    return out


def _columns(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    cols: dict[str, None] = {}
    for r in rows:
        cols.update(dict.fromkeys(r))
    return list(cols)


def export_csv(rows: Sequence[Mapping[str, Any]], path: str | os.PathLike[str]) -> Path:
    """Write flat rows as CSV (union of columns, blank where a row lacks one), atomically."""
    import csv
    import io

    from ..atomic_io import write_text

    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=_columns(rows), lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return write_text(path, buf.getvalue())


def export_parquet(rows: Sequence[Mapping[str, Any]], path: str | os.PathLike[str]) -> Path:
    """Write flat rows as Parquet (needs pyarrow: ``pip install 'hwsim[parquet]'``), atomically."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise ConfigError("--parquet needs pyarrow, which is not installed: pip install 'hwsim[parquet]' "
                          "(or use --csv)") from None
    from ..atomic_io import atomic_open

    cols = _columns(rows)
    table = pa.table({c: [r.get(c) for r in rows] for c in cols})
    with atomic_open(path, "wb") as f:
        pq.write_table(table, f)
    return Path(path)


def read_rows(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Flat rows from a sweep store (.sqlite/.db) or a CSV export (numbers parsed back)."""
    p = Path(path)
    if not p.is_file():
        raise DataError(f"{str(p)!r} does not exist")
    if p.suffix.lower() == ".csv":
        import csv

        with p.open(newline="") as f:
            return [{k: _parse(v) for k, v in r.items()} for r in csv.DictReader(f)]
    with Store(p, create=False) as s:
        return s.rows()


def _parse(v: str) -> Any:
    if v == "":
        return None
    for t in (int, float):
        try:
            return t(v)
        except ValueError:
            pass
    return {"True": True, "False": False}.get(v, v)


def remove(path: str | os.PathLike[str]) -> None:
    """Delete a store and its SQLite side files (``--overwrite``)."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        q = Path(str(path) + suffix)
        if q.exists():
            q.unlink()

