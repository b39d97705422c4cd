"""The hardware part of the command line, built from the back-end registry (:mod:`hwsim.backend`).

Every back-end declares its options once (:class:`hwsim.backend.Option`); this module turns them into argparse
flags and help, refuses a flag given with another ``--hardware``, with a command it does not apply to, or together
with a flag it excludes, and resolves the configuration and the mapping a command works on.
"""
from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

from .. import backend
from ..errors import ConfigError

_HW_COMMANDS = ("cost", "evaluate")


def _applies(option: backend.Option, command: str) -> bool:
    """Whether ``command``'s parser carries ``option`` (cost and evaluate share theirs, then refuse per command)."""
    if command in _HW_COMMANDS:
        return bool(set(option.commands) & set(_HW_COMMANDS))
    return command in option.commands


def _dest(flag: str) -> str:
    return flag[2:].replace("-", "_")


def add_hardware_args(p: argparse.ArgumentParser, command: str, required: bool) -> None:
    """``--hardware`` (and ``--preset``/``--config`` for cost and evaluate) and every back-end's options for
    ``command``, one argument group per back-end."""
    names = backend.names()
    p.add_argument("--hardware", choices=names, required=required,
                   help="hardware back-end: " + "; ".join(f"{be.name} = {be.description}" for be in backend.backends()))
    if command in _HW_COMMANDS:
        presets = "; ".join(f"{be.name}: {', '.join(be.presets)} (default {be.default_preset})"
                            for be in backend.backends())
        p.add_argument("--preset", help=f"named configuration preset of the hardware ({presets})")
        p.add_argument("--config", help="TOML configuration file (may name a base 'preset'; with --preset, the file's "
                       "tables override that preset)")
        p.add_argument("--set", action="append", dest="set_overrides", metavar="KEY=VALUE", default=None,
                       help="override any dotted config key of the back-end (repeatable), e.g. --set adc.bits=6 "
                       "--set crossbar.rows=256 --set mapping.mode=ou; VALUE in TOML syntax (bare words are strings); "
                       "applied after --preset/--config and validated like the TOML file")
    seen: dict[str, backend.Option] = {}
    for be in backend.backends():
        opts = [o for o in be.options if _applies(o, command)]
        if not opts:
            continue
        g = p.add_argument_group(f"{be.title} options (--hardware {be.name})")
        for o in opts:
            if o.flag in seen:
                if seen[o.flag].type is not o.type:
                    raise ConfigError(f"back-ends declare {o.flag} with different types")
                continue
            seen[o.flag] = o
            kw: dict[str, Any] = {"dest": o.name, "type": o.type, "default": None, "help": o.help + _default_note(be, o)}
            if o.metavar:
                kw["metavar"] = o.metavar
            if o.choices:
                kw["choices"] = o.choices
            g.add_argument(o.flag, **kw)


def _default_note(be: Any, o: backend.Option) -> str:
    """" (default: V)" from the option's declared default, or the default preset's value of its config key."""
    if "default" in o.help:
        return ""
    if o.default is not None:
        return f" (default: {o.default})"
    if o.key is None:
        return ""
    try:
        value: Any = be.config_to_dict(be.resolve_config())
        for part in o.key.split("."):
            value = value[part]
    except Exception:  # a back-end whose dict form differs: no note rather than a wrong one
        return ""
    return f" (default: {value} in preset {be.default_preset})"


def parse_set(items: list[str] | None) -> dict[str, Any]:
    """``["adc.bits=6", "mapping.mode=ou"]`` -> ``{"adc.bits": 6, "mapping.mode": "ou"}``: each VALUE parsed as a TOML
    value (numbers, booleans, quoted strings, arrays), a bare word kept as a string. ConfigError naming the item."""
    try:
        import tomllib
    except ImportError:  # pragma: no cover - Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    out: dict[str, Any] = {}
    for item in items or []:
        key, eq, text = item.partition("=")
        key = key.strip()
        if not eq or not key or any(not part.isidentifier() for part in key.split(".")):
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE with a dotted config key, e.g. --set adc.bits=6")
        if key in out:
            raise ConfigError(f"--set {key}: given twice")
        try:
            out[key] = tomllib.loads(f"v = {text.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            out[key] = text.strip()
    return out


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in table.items():
        if isinstance(v, Mapping):
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def resolve_config(args: argparse.Namespace, be: Any, options: Mapping[str, Any]) -> Any:
    """The configuration of ``--preset``/``--config`` (both: the file's tables over that preset), the back-end's
    config options, then ``--set`` overrides, all through ``be.resolve_config(overrides=...)``."""
    overrides = {o.key: options[o.name] for o in be.options if o.key is not None and o.name in options}
    sets = parse_set(getattr(args, "set_overrides", None))
    both = [k for k in sets if k in overrides]
    if both:
        flag = next(o.flag for o in be.options if o.key == both[0])
        raise ConfigError(f"--set {both[0]}: also given as {flag}; give it once")
    preset, file = getattr(args, "preset", None), getattr(args, "config", None)
    if preset is not None and file is not None:
        from ..config import read_toml

        data = read_toml(file)
        named = data.pop("preset", None)
        if named is not None and named != preset:
            raise ConfigError(f"--config {file} names preset {named!r} but --preset is {preset!r}")
        be.get_preset(preset)  # an unknown preset is refused naming the presets
        return be.resolve_config(preset, None, {**_flatten(data), **overrides, **sets})
    return be.resolve_config(preset, file, {**overrides, **sets})


def _owners(flag: str) -> list[str]:
    return [be.name for be in backend.backends() if any(o.flag == flag for o in be.options)]


def hardware_options(args: argparse.Namespace, command: str) -> tuple[Any, dict[str, Any]]:
    """(back-end or None, its options given on the command line by :attr:`Option.name`), after refusing every
    flag that does not apply (ConfigError naming the flags)."""
    given = {}
    for be in backend.backends():
        for o in be.options:
            if _applies(o, command) and getattr(args, o.name, None) is not None:
                given[o.flag] = o
    if args.hardware is None:
        flags = [f for f in ("--preset", "--config") if getattr(args, _dest(f), None) is not None] + list(given)
        if getattr(args, "set_overrides", None):
            flags.append("--set")
        if flags:
            owners = sorted({n for f in given for n in _owners(f)}, key=backend.names().index) or backend.names()
            raise ConfigError(f"{', '.join(flags)} need --hardware {'|'.join(owners)}")
        return None, {}
    be = backend.get(args.hardware)
    own = {o.flag: o for o in be.options}
    foreign = [f for f in given if f not in own]
    if foreign:
        owners = "|".join(_owners(foreign[0]))
        same = [f for f in foreign if "|".join(_owners(f)) == owners]
        raise ConfigError(f"{', '.join(same)}: only for --hardware {owners}")
    for flag in given:
        o = own[flag]
        if command not in o.commands:
            raise ConfigError(f"{flag}: not for 'hwsim {command}'" + (f" ({o.note})" if o.note else ""))
        fixed = [f for f in o.excludes if getattr(args, _dest(f), None) is not None]
        if fixed:
            raise ConfigError(f"{', '.join(fixed)}: not with {flag}" + (f" ({o.note})" if o.note else ""))
    return be, {o.name: getattr(args, o.name) for o in be.options if o.flag in given}


def mapping_for(args: argparse.Namespace, be: Any, options: Mapping[str, Any],
                network: Any) -> tuple[Any, Any, dict[str, Any]]:
    """(mapping, config, keys for ``--json``): the back-end's own mapping when an option supplies one
    (:meth:`hwsim.backend.Backend.open_mapping`), else ``network`` mapped with ``--preset``/``--config`` and the
    config options."""
    opened = be.open_mapping(options, network)
    if opened is not None:
        if getattr(args, "set_overrides", None):
            raise ConfigError("--set: not with a back-end option that supplies the programmed chip (its file holds "
                              "the configuration)")
        mapping, extra = opened
        return mapping, mapping.config, extra
    if network is None:
        raise ConfigError("give --model NAME or --weights FILE.npz")
    cfg = resolve_config(args, be, options)
    return be.map(network, cfg), cfg, {}
