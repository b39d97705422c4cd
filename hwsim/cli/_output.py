"""Output shared by the CLI's verbs: JSON on stdout."""
from __future__ import annotations

import json
import math
from typing import Any

from ..errors import MappingError


def print_json(obj: Any) -> None:
    """``obj`` as indented JSON on stdout (NaN and infinities are refused: they are not JSON)."""
    print(json.dumps(obj, indent=2, allow_nan=False))


def _non_finite(obj: Any, path: str = "") -> list[str]:
    if isinstance(obj, float):
        return [] if math.isfinite(obj) else [path or "value"]
    if isinstance(obj, dict):
        return [k for key, v in obj.items() for k in _non_finite(v, f"{path}.{key}" if path else str(key))]
    if isinstance(obj, (list, tuple)):
        return [k for i, v in enumerate(obj) for k in _non_finite(v, f"{path}[{i}]")]
    return []


def check_finite_report(report: Any) -> None:
    """Refuse a Report holding NaN or infinities (an overflow in the cost model): never print them silently."""
    bad = _non_finite(report.to_dict())
    if bad:
        raise MappingError(f"the cost overflowed: {len(bad)} values are not finite ({', '.join(bad[:3])}"
                           f"{', ...' if len(bad) > 3 else ''}); the weights or the configuration are out of range")
