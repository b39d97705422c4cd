"""Output shared by the CLI's verbs: JSON on stdout."""
from __future__ import annotations

import json
from typing import Any


def print_json(obj: Any) -> None:
    """``obj`` as indented JSON on stdout (NaN and infinities are refused: they are not JSON)."""
    print(json.dumps(obj, indent=2, allow_nan=False))
