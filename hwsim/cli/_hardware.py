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
        p.add_argument("--config", help="TOML configuration file (may name a base 'preset')")
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
            kw: dict[str, Any] = {"dest": o.name, "type": o.type, "default": None, "help": o.help}
            if o.metavar:
                kw["metavar"] = o.metavar
            if o.choices:
                kw["choices"] = o.choices
            g.add_argument(o.flag, **kw)


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
    if getattr(args, "preset", None) is not None and getattr(args, "config", None) is not None:
        raise ConfigError("--preset and --config are mutually exclusive")
    return be, {o.name: getattr(args, o.name) for o in be.options if o.flag in given}


def mapping_for(args: argparse.Namespace, be: Any, options: Mapping[str, Any],
                network: Any) -> tuple[Any, Any, dict[str, Any]]:
    """(mapping, config, keys for ``--json``): the back-end's own mapping when an option supplies one
    (:meth:`hwsim.backend.Backend.open_mapping`), else ``network`` mapped with ``--preset``/``--config`` and the
    config options."""
    opened = be.open_mapping(options, network)
    if opened is not None:
        mapping, extra = opened
        return mapping, mapping.config, extra
    if network is None:
        raise ConfigError("give --model NAME or --weights FILE.npz")
    overrides = {o.key: options[o.name] for o in be.options if o.key is not None and o.name in options}
    cfg = be.resolve_config(args.preset, args.config, overrides)
    return be.map(network, cfg), cfg, {}
