"""Reading TOML configuration files (``tomllib`` on Python >= 3.11, ``tomli`` before) with clear errors."""
from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .errors import ConfigError

try:  # Python >= 3.11
    import tomllib as _toml
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as _toml  # type: ignore[no-redef]


def read_toml(path: str | Path) -> dict[str, Any]:
    """The TOML file at ``path`` as a dict; ConfigError if it is missing, unreadable or not valid TOML."""
    p = Path(path)
    try:
        return _toml.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {str(p)!r} does not exist") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read config file {str(p)!r}: {e}") from None
    except _toml.TOMLDecodeError as e:
        raise ConfigError(f"config file {str(p)!r} is not valid TOML: {e}") from None


def _type_name(hint: Any) -> str:
    """'int', 'str or None', ... for an error message."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return " or ".join(_type_name(h) for h in typing.get_args(hint))
    return "None" if hint is type(None) else getattr(hint, "__name__", str(hint))


def _type_ok(value: Any, hint: Any) -> bool:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_type_ok(value, h) for h in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    return False


def merge_dataclass(obj: Any, data: Mapping[str, Any], path: str) -> Any:
    """``obj`` (a frozen dataclass) with the fields in ``data`` (a parsed TOML table) replaced, nested tables merged
    into nested dataclasses; unknown keys (and ``preset``), non-tables and mistyped values raise ConfigError naming
    the dotted key. Integers are accepted for float fields."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path or 'config'} must be a table, got {type(data).__name__}")
    hints = typing.get_type_hints(type(obj))
    names = {f.name for f in dataclasses.fields(obj)}
    changes: dict[str, Any] = {}
    for key, value in data.items():
        where = f"{path}.{key}" if path else key
        if key not in names or key == "preset":
            allowed = ", ".join(sorted(n for n in names if n != "preset"))
            raise ConfigError(f"unknown config key {where!r}; allowed here: {allowed}")
        current = getattr(obj, key)
        if dataclasses.is_dataclass(current):
            changes[key] = merge_dataclass(current, value, where)
        else:
            if not _type_ok(value, hints[key]):
                raise ConfigError(f"config key {where!r} must be of type {_type_name(hints[key])}, got {value!r} "
                                  f"({type(value).__name__})")
            wants_float = _type_ok(1.5, hints[key])
            changes[key] = float(value) if (wants_float and isinstance(value, int)
                                            and not isinstance(value, bool)) else value
    try:
        return dataclasses.replace(obj, **changes)
    except ConfigError:
        raise
    except (TypeError, ValueError) as exc:  # pragma: no cover - defensive
        raise ConfigError(f"invalid values in {path or 'config'}: {exc}") from None
