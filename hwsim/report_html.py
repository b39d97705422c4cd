"""The demo's HTML report: one self-contained file (figures inline as base64 PNG, no scripts, no external links).

Why inline: a report that is shared (mailed, attached to an issue, copied off a cluster) keeps its figures; relative
``<img>`` links break as soon as the file leaves its folder. The PNGs (and PDFs) stay beside it for papers. The page
is well-formed XHTML-compatible markup (every element closed, text escaped), so ``xml.etree`` parses it, and every
number in the headline table carries its exact value in a ``data-value`` attribute (SI units, ``repr``) equal to the
one in ``report.json``.
"""
from __future__ import annotations

import base64
import html
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .report import si

#: Headline columns: (key in a headline row, header, formatter kind).
HEADLINE_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("model_title", "model", "text"),
    ("hardware", "hardware", "text"),
    ("preset", "preset", "text"),
    ("sparsity", "weight sparsity", "percent"),
    ("accuracy", "accuracy on hardware", "percent"),
    ("nonidealities", "non-idealities on", "text"),
    ("static_power_w", "static power", "W"),
    ("energy_j", "energy / inference", "J"),
    ("latency_s", "latency", "s"),
    ("area_mm2", "area", "mm2"),
    ("throughput_inferences_per_s", "throughput (inferences)", "inf/s"),
    ("tops_per_w", "TOPS/W", "number"),
)

_CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 1240px;
       color: #1b1b1b; line-height: 1.45; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.25em; margin-top: 1.8em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
p.note { color: #555; font-size: 0.92em; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.92em; }
th, td { border: 1px solid #d0d0d0; padding: 0.3em 0.6em; vertical-align: top; white-space: nowrap; }
th { background: #f2f4f7; text-align: left; white-space: normal; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.text { text-align: left; }
td.wrap { white-space: normal; min-width: 14em; max-width: 30em; }
table#headline { font-size: 0.86em; }
figure { margin: 1.2em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #e3e3e3; }
figcaption { font-size: 0.9em; color: #444; margin-top: 0.3em; }
code { background: #f4f4f4; padding: 0 0.2em; }
"""


def esc(text: Any) -> str:
    """``text`` escaped for element content and attribute values."""
    return html.escape(str(text), quote=True)


def fmt(value: Any, kind: str) -> str:
    """A headline value for display: SI prefixes for W, J and s; percentages; 4 significant digits otherwise."""
    if value is None:
        return "n/a"
    if kind == "text":
        return str(value)
    v = float(value)
    if kind == "percent":
        return f"{v * 100:.2f} %"
    if kind in ("W", "J", "s"):
        return si(v, kind)
    if kind == "mm2":
        return f"{v:.4g} mm\u00b2"
    if kind == "inf/s":
        for factor, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
            if v >= factor:
                return f"{v / factor:.4g} {prefix}/s"
        return f"{v:.4g} /s"
    return f"{v:.4g}"


def _cell(value: Any, kind: str, wrap: bool = False) -> str:
    if kind == "text":
        return f'<td class="{"wrap" if wrap else "text"}">{esc(fmt(value, kind))}</td>'
    data = "" if value is None else f' data-value="{esc(repr(float(value)))}"'
    return f'<td class="num"{data}>{esc(fmt(value, kind))}</td>'


def _numeric(text: str) -> bool:
    t = text.strip().lstrip("+-")
    return bool(t) and (t[0].isdigit() or t.startswith("n/a"))


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], cls: str = "", wrap: Sequence[int] = ()) -> str:
    """A plain table of already-formatted cells (escaped here): columns whose cells all start with a digit are
    right-aligned, the others left-aligned; columns ``wrap`` (indices) may break lines."""
    kinds = [("wrap" if i in wrap or i - len(headers) in wrap else
              "num" if rows and all(_numeric(str(r[i])) for r in rows) else "text") for i in range(len(headers))]
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f'<td class="{kinds[i]}">{esc(c)}</td>'
                                    for i, c in enumerate(r)) + "</tr>" for r in rows)
    return f'<table class="{esc(cls)}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def headline_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """The headline table: one row per (model, hardware, preset, sparsity), values with ``data-value``."""
    head = "".join(f'<th data-key="{esc(k)}">{esc(h)}</th>' for k, h, _ in HEADLINE_COLUMNS)
    body = "".join('<tr class="headline">' + "".join(_cell(r.get(k), kind, wrap=k == "nonidealities")
                                                     for k, _, kind in HEADLINE_COLUMNS)
                   + "</tr>" for r in rows)
    return f'<table id="headline"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def figure(path: Path, caption: str) -> str:
    """``<figure>`` with the PNG at ``path`` inline (base64) and its caption."""
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (f'<figure id="{esc(path.stem)}"><img alt="{esc(caption)}" data-file="{esc(path.name)}" '
            f'src="data:image/png;base64,{data}" /><figcaption>{esc(caption)} '
            f"(<code>{esc(path.name)}</code>)</figcaption></figure>")


def page(title: str, sections: Sequence[tuple[str, str]], intro: str = "") -> str:
    """A whole page: ``sections`` are (heading, HTML body) pairs."""
    parts = [f"<h2>{esc(h)}</h2>\n{body}" for h, body in sections]
    return ("<!DOCTYPE html>\n"
            '<html lang="en"><head><meta charset="utf-8" />'
            '<meta name="viewport" content="width=device-width, initial-scale=1" />'
            f"<title>{esc(title)}</title><style>{_CSS}</style></head>\n"
            f"<body><h1>{esc(title)}</h1>\n{intro}\n" + "\n".join(parts) + "\n</body></html>\n")
