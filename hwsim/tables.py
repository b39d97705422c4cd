"""Plain-text tables for terminals and Markdown reports (the CLI's and the demo's one formatter)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], left: Sequence[int] = (0,)) -> str:
    """Columns padded to their widest cell, the columns ``left`` (default the first; negative from the end)
    left-aligned and the others right-aligned, a dashed rule under the header."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lefts = {i % len(headers) for i in left}
    lines = ["  ".join(c.ljust(w) if i in lefts else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
             for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
