"""Configuration machinery shared by every back-end: TOML files, presets, dotted-key overrides, field checks, diffs.

A back-end's configuration is a tree of frozen dataclasses. Each node class names its TOML table in a class
attribute ``TOML_TABLE`` (``"adc"``, ``"optoelectronics"``; ``""`` for the root), so every error names the TOML path
of the bad field (``adc.bits must be a positive integer, got 0``). The same rules apply to a TOML file
(:func:`load`), to a dict and to ``overrides={"adc.bits": 6}`` (:func:`resolve`). TOML is read with ``tomllib`` on
Python >= 3.11 and ``tomli`` before.
"""
from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from .errors import ConfigError

C = TypeVar("C")

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
    except FieldError as exc:
        raise exc.at(path) from None
    except ConfigError:
        raise
    except (TypeError, ValueError) as exc:  # pragma: no cover - defensive
        raise ConfigError(f"invalid values in {path or 'config'}: {exc}") from None


# ---- field checks (used in the config dataclasses' __post_init__) ------------------------------------------------
class FieldError(ConfigError):
    """A config field with a bad value; the message starts with the field's TOML path."""

    def __init__(self, table: str, name: str, problem: str) -> None:
        self.table, self.name, self.problem = table, name, problem
        key = f"{table}.{name}" if table else name
        sep = " " if problem.startswith(("must", "(", "+")) else ": "
        super().__init__(f"{key}{sep}{problem}")

    def at(self, path: str) -> FieldError:
        """The same error for a node that sits at TOML path ``path`` (known only while merging a file)."""
        return self if not path or self.table == path else FieldError(path, self.name, self.problem)


def _table(obj: Any) -> str:
    return getattr(type(obj), "TOML_TABLE", "")


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def require(obj: Any, name: str, ok: bool, problem: str) -> None:
    """Raise :class:`FieldError` ``<table>.<name> <problem>`` unless ``ok``."""
    if not ok:
        raise FieldError(_table(obj), name, problem)


def positive(obj: Any, *names: str) -> None:
    """Each field is a finite number > 0."""
    for n in names:
        v = getattr(obj, n)
        require(obj, n, _is_number(v) and v > 0, f"must be a finite number > 0, got {v!r}")


def nonneg(obj: Any, *names: str) -> None:
    """Each field is a finite number >= 0."""
    for n in names:
        v = getattr(obj, n)
        require(obj, n, _is_number(v) and v >= 0, f"must be a finite number >= 0, got {v!r}")


def fraction(obj: Any, *names: str) -> None:
    """Each field is a number in [0, 1]."""
    for n in names:
        v = getattr(obj, n)
        require(obj, n, _is_number(v) and 0 <= v <= 1, f"must lie in [0, 1], got {v!r}")


def pos_int(obj: Any, *names: str) -> None:
    """Each field is an integer >= 1."""
    for n in names:
        v = getattr(obj, n)
        require(obj, n, isinstance(v, int) and not isinstance(v, bool) and v >= 1,
                f"must be a positive integer, got {v!r}")


def int_in(obj: Any, name: str, lo: int, hi: int, what: str = "") -> None:
    """The field is an integer in [lo, hi]; ``what`` explains it in the message."""
    v = getattr(obj, name)
    require(obj, name, isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi,
            f"{what + ' ' if what else ''}must be an integer in [{lo}, {hi}], got {v!r}")


def number_in(obj: Any, name: str, lo: float, hi: float, what: str = "") -> None:
    """The field is a finite number in [lo, hi]; ``what`` explains it in the message."""
    v = getattr(obj, name)
    require(obj, name, _is_number(v) and lo <= v <= hi, f"{what + ' ' if what else ''}must lie in [{lo:g}, {hi:g}], "
            f"got {v!r}")


def one_of(obj: Any, name: str, choices: Iterable[Any], what: str = "") -> None:
    """The field is one of ``choices``; ``what`` names the kind of value in the message ("mapping mode")."""
    choices = tuple(choices)
    v = getattr(obj, name)
    listed = ", ".join(map(str, choices))
    require(obj, name, v in choices, f"unknown {what} {v!r}; choose one of {listed}" if what
            else f"must be one of {listed}, got {v!r}")


def flag(obj: Any, *names: str) -> None:
    """Each field is a bool (TOML true/false)."""
    for n in names:
        v = getattr(obj, n)
        require(obj, n, isinstance(v, bool), f"must be true/false, got {v!r}")


def nodes(obj: Any, **types_: type) -> None:
    """Each named field holds a node of the given dataclass type (a table in TOML)."""
    for n, t in types_.items():
        v = getattr(obj, n)
        require(obj, n, isinstance(v, t), f"must be a {t.__name__}, got {type(v).__name__}")


def root(obj: Any) -> None:
    """A back-end's root config: ``preset`` is None or a string, every other field holds a node of the type its
    default factory builds."""
    require(obj, "preset", obj.preset is None or isinstance(obj.preset, str), f"must be a string, got {obj.preset!r}")
    nodes(obj, **{f.name: f.default_factory for f in dataclasses.fields(obj) if f.name != "preset"})


# ---- diffs and presets -------------------------------------------------------------------------------------------
def diff(a: Any, b: Any, prefix: str = "") -> dict[str, Any]:
    """Dotted key -> value of ``a`` for every leaf field where config ``a`` differs from ``b`` (``preset`` ignored)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(a):
        if f.name == "preset":
            continue
        va, vb = getattr(a, f.name), getattr(b, f.name)
        if dataclasses.is_dataclass(va):
            out.update(diff(va, vb, prefix + f.name + "."))
        elif va != vb:
            out[prefix + f.name] = va
    return out


def describe(cfg: Any) -> str:
    """``XConfig(preset='name', adc.bits=6)``: the preset and the fields that differ from the
    defaults (``type(cfg)()``)."""
    parts = [f"preset={cfg.preset!r}"] + [f"{k}={v!r}" for k, v in diff(cfg, type(cfg)()).items()]
    return f"{type(cfg).__name__}({', '.join(parts)})"


def preset(presets: Mapping[str, Callable[[], C]], name: Any, kind: str) -> C:
    """The configuration built by preset ``name``; ConfigError naming the choices otherwise."""
    if not isinstance(name, str) or name not in presets:
        raise ConfigError(f"unknown {kind} preset {name!r}; choose one of {', '.join(presets)}")
    return presets[name]()


def to_dict(cfg: Any, cls: type) -> dict[str, Any]:
    """Configuration ``cfg`` (which must be a ``cls``) as a JSON-able nested dict."""
    if not isinstance(cfg, cls):
        raise ConfigError(f"expected a {cls.__name__}, got {type(cfg).__name__}")
    return dataclasses.asdict(cfg)


def nested(overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``{"adc.bits": 6, "adc.cols_per_adc": 8}`` -> ``{"adc": {"bits": 6, "cols_per_adc": 8}}`` (a TOML layout)."""
    if not isinstance(overrides, Mapping):
        raise ConfigError(f"overrides must be a mapping of dotted keys to values, got {type(overrides).__name__}")
    out: dict[str, Any] = {}
    for key, value in overrides.items():
        if not isinstance(key, str) or not key or any(not p for p in key.split(".")):
            raise ConfigError(f"override key {key!r} is not a dotted config key such as 'adc.bits'")
        node = out
        *head, leaf = key.split(".")
        for i, part in enumerate(head):
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override {key!r} conflicts with {'.'.join(head[:i + 1])!r}")
        if isinstance(node.get(leaf), dict):
            raise ConfigError(f"override {key!r} conflicts with {key + '.'!r}... keys")
        node[leaf] = value
    return out


def from_dict(data: Mapping[str, Any], presets: Mapping[str, Callable[[], C]], default_preset: str, kind: str) -> C:
    """A configuration from a TOML-layout dict: an optional top-level ``preset`` names the base (else
    ``default_preset``), every other table overrides nested fields (unknown or mistyped keys are errors)."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"config must be a table, got {type(data).__name__}")
    data = dict(data)
    base_name = data.pop("preset", None)
    if base_name is not None and not isinstance(base_name, str):
        raise ConfigError(f"config key 'preset' must be a string, got {base_name!r}")
    return merge_dataclass(preset(presets, base_name or default_preset, kind), data, "")


def resolve(presets: Mapping[str, Callable[[], C]], default_preset: str, kind: str, preset_name: str | None = None,
            file: str | Path | None = None, overrides: Mapping[str, Any] | None = None) -> C:
    """A preset or a TOML file (not both; neither = ``default_preset``), then dotted-key ``overrides`` validated like
    the file. The result's ``preset`` is the base preset's name."""
    if preset_name is not None and file is not None:
        raise ConfigError("give either a preset or a configuration file, not both (they are mutually exclusive)")
    cfg = (from_dict(read_toml(file), presets, default_preset, kind) if file is not None
           else preset(presets, preset_name or default_preset, kind))
    return merge_dataclass(cfg, nested(overrides), "") if overrides else cfg
