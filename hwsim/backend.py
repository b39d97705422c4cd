"""The back-end contract and its registry: a new hardware kind is one package and one registry line.

A back-end package (one of :data:`BUILTIN`, or a third-party package) exports one object,
``BACKEND``, that satisfies :class:`Backend`: its name, its configuration class and presets, the command-line
options it adds (declared once as :class:`Option` s, from which ``hwsim`` builds its flags, help and checks), the
unit that structured and hardware-aware pruning align to, and the verbs ``map``, ``cost``, ``run``, ``accuracy``
and ``warmup``. Subclass :class:`BackendBase` to get configuration handling (presets, TOML files, dotted-key
overrides, all validated by :mod:`hwsim.config`) and the optional hooks for free.

The CLI, the pruning front-end, the demo and :func:`hwsim.warmup` iterate this registry; nothing outside the
back-end packages branches on a hardware name. Back-ends are found in three ways: the built-in table below
(:data:`BUILTIN`: name -> package), packages that declare an entry point in the group ``hwsim.backends``
(``name = "package.module:BACKEND"``), and :func:`register` at run time (a notebook or a test).
"""
from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from . import config as C
from .errors import ConfigError
from .report import Report

#: The registry lines of the built-in back-ends: name -> package exporting ``BACKEND``. Order = display order.
BUILTIN: dict[str, str] = {"reram": "hwsim.reram", "photonic": "hwsim.photonic"}
ENTRY_POINT_GROUP = "hwsim.backends"

#: The commands whose hardware options a back-end may declare.
COMMANDS = ("cost", "evaluate", "prune")


@dataclass(frozen=True)
class Option:
    """One command-line option a back-end adds (``hwsim cost/evaluate/prune --hardware NAME ...``).

    With ``key`` the option overrides that dotted config field (``--adc-bits`` -> ``adc.bits``) and the CLI passes it
    to :meth:`Backend.resolve_config`; without, the back-end's hooks read it (``--phases``, ``--adc-calibration``).
    The CLI refuses it with any other ``--hardware``, with a command not in ``commands``, and together with any flag
    in ``excludes``; ``note`` explains the option's limits in those refusals.
    """

    flag: str
    """The flag, ``--kebab-case``."""
    help: str
    type: Callable[[str], Any] = str
    key: str | None = None
    """Dotted config key the option overrides, or None."""
    choices: tuple[Any, ...] | None = None
    metavar: str | None = None
    default: Any = None
    """Value the back-end uses when the flag is not given (shown in ``--help``); not applied by the parser."""
    commands: tuple[str, ...] = ("cost", "evaluate")
    excludes: tuple[str, ...] = ()
    note: str = ""

    def __post_init__(self) -> None:
        if not self.flag.startswith("--") or len(self.flag) < 4:
            raise ConfigError(f"option flag {self.flag!r} must look like '--name'")
        bad = [c for c in self.commands if c not in COMMANDS]
        if bad or not self.commands:
            raise ConfigError(f"option {self.flag}: commands must be among {', '.join(COMMANDS)}, got {self.commands}")

    @property
    def name(self) -> str:
        """``--adc-bits`` -> ``adc_bits`` (the keyword in :meth:`BackendBase.resolve_config` and hook options)."""
        return self.flag[2:].replace("-", "_")


@runtime_checkable
class Backend(Protocol):
    """What a hardware back-end provides (see :class:`BackendBase` for the hooks' defaults)."""

    name: str
    """Registry name, the value of ``--hardware``."""
    title: str
    """Short human-readable name for messages and help."""
    description: str
    """One line on what is modelled."""
    config_class: type
    presets: Mapping[str, Callable[[], Any]]
    """Preset name -> zero-argument constructor (each constructor's docstring cites its source)."""
    default_preset: str
    options: Sequence[Option]
    sweep_metrics: Sequence[str]
    """Report metrics worth plotting against sparsity for this hardware (the demo's figures): a field of
    ``Report.total`` (the sum over layers), or ``chip.<field>`` of ``Report.chip`` where layers share hardware."""

    def resolve_config(self, preset: str | None = None, file: str | Path | None = None,
                       overrides: Mapping[str, Any] | None = None, **shortcuts: Any) -> Any: ...
    def config_to_dict(self, config: Any) -> dict[str, Any]: ...
    def pruning_unit(self, config: Any) -> tuple[str, tuple[int, int]]: ...
    def sweep_variants(self, config: Any) -> list[tuple[str, Any]]: ...
    def map(self, source: Any, config: Any = None) -> Any: ...
    def cost(self, mapping: Any) -> Report: ...
    def run(self, mapping: Any, x: Any, seed: Any = 0) -> Any: ...
    def accuracy(self, mapping: Any, x: Any, y: Any, seed: Any = 0) -> float: ...
    def warmup(self) -> None: ...
    def open_mapping(self, options: Mapping[str, Any], network: Any) -> tuple[Any, dict[str, Any]] | None: ...
    def prepare_evaluation(self, mapping: Any, options: Mapping[str, Any], train_images: Callable[[int], Any],
                           seed: int) -> tuple[Any, dict[str, Any]]: ...
    def prune_command(self, network: Any, options: Mapping[str, Any],
                      context: Any) -> tuple[dict[str, Any], str] | None: ...


class BackendBase:
    """Configuration handling and default hooks for a back-end; a subclass sets the class attributes of
    :class:`Backend` and implements ``map``, ``cost``, ``run``, ``accuracy``, ``warmup`` and ``pruning_unit``."""

    name: str = ""
    title: str = ""
    description: str = ""
    config_class: type = object
    presets: Mapping[str, Callable[[], Any]] = {}
    default_preset: str = ""
    options: Sequence[Option] = ()
    sweep_metrics: Sequence[str] = ("static_power_w", "energy_j")

    # ---- configuration ---------------------------------------------------------------------------------------
    def get_preset(self, name: str) -> Any:
        """The configuration of preset ``name``."""
        return C.preset(self.presets, name, self.title)

    def config_from_dict(self, data: Mapping[str, Any]) -> Any:
        """A configuration from a TOML-layout dict (optional top-level ``preset``; unknown keys are errors)."""
        return C.from_dict(data, self.presets, self.default_preset, self.title)

    def load_config(self, path: str | Path) -> Any:
        """A configuration from a TOML file (optional top-level ``preset``; unknown keys are errors)."""
        return self.config_from_dict(C.read_toml(path))

    def resolve_config(self, preset: str | None = None, file: str | Path | None = None,
                       overrides: Mapping[str, Any] | None = None, **shortcuts: Any) -> Any:
        """A preset or a TOML file (not both; neither = the default preset), then ``overrides`` (dotted keys such as
        ``{"adc.bits": 6}``, validated like the file). ``shortcuts`` are the keyword forms of the back-end's
        config options (``adc_bits=6`` for ``--adc-bits``); None leaves a field as it is."""
        keys = {o.name: o.key for o in self.options if o.key is not None}
        merged = dict(overrides or {})
        for name, value in shortcuts.items():
            if name not in keys:
                raise ConfigError(f"unknown {self.name} config keyword {name!r}; choose one of {', '.join(keys)} "
                                  "or pass overrides={'table.field': value}")
            if value is not None:
                merged[keys[name]] = value
        return C.resolve(self.presets, self.default_preset, self.title, preset, file, merged)

    def config_to_dict(self, config: Any) -> dict[str, Any]:
        """The resolved configuration as a JSON-able nested dict (SI units, as in the field names)."""
        return C.to_dict(config, self.config_class)

    # ---- hooks with defaults -----------------------------------------------------------------------------------
    def sweep_variants(self, config: Any) -> list[tuple[str, Any]]:
        """(label, config) pairs worth comparing side by side in a sweep; default: ``config`` alone."""
        return [(str(getattr(config, "preset", None) or self.name), config)]

    def open_mapping(self, options: Mapping[str, Any], network: Any) -> tuple[Any, dict[str, Any]] | None:
        """A mapping that replaces ``map(network, config)`` when an option says so (e.g. a programming file),
        with the keys it adds to ``hwsim evaluate --json``; None (the default) to map as usual. ``options`` holds
        the back-end's given options by :attr:`Option.name`."""
        return None

    def prepare_evaluation(self, mapping: Any, options: Mapping[str, Any], train_images: Callable[[int], Any],
                           seed: int) -> tuple[Any, dict[str, Any]]:
        """The mapping ``hwsim evaluate`` measures (e.g. after calibrating on ``train_images(n)``) and the keys it
        adds to the JSON; the default returns ``mapping`` unchanged."""
        return mapping, {}

    def prune_command(self, network: Any, options: Mapping[str, Any],
                      context: Any) -> tuple[dict[str, Any], str] | None:
        """A hardware-specific ``hwsim prune`` method selected by this back-end's prune options (``options`` by
        :attr:`Option.name`, None where not given; ``context`` a :class:`PruneContext`): the result dict that
        ``--json`` prints and the text printed otherwise; None (the default) to prune in the weight domain."""
        return None

    def nonidealities(self, config: Any) -> dict[str, Any]:
        """What ``run`` and ``accuracy`` apply with ``config`` beyond the float network (quantization, converters,
        device variation, phase noise, faults...): a JSON-able dict whose ``"summary"`` is one human-readable line
        and whose other keys are the values in SI units; ``"ideal"`` is True when nothing but quantization is on.
        Every printed or stored accuracy on hardware carries it (``hwsim evaluate``, ``hwsim sweep``, the demo).
        The default declares nothing (an optional hook: :class:`Backend` does not require it)."""
        return {"summary": f"not declared by the {self.name} back-end", "ideal": None}

    def __repr__(self) -> str:
        return f"<hwsim back-end {self.name!r}: {self.title}>"


@dataclass(frozen=True)
class PruneContext:
    """What ``hwsim prune`` hands a back-end's :meth:`Backend.prune_command`."""

    model: str
    """Zoo model name."""
    weights: str | None
    """The ``--weights`` file the network started from, or None (the shipped pretrained weights)."""
    out: str
    """Output path (checked writable by the CLI)."""
    preset: str | None
    seed: int
    train: Callable[[], Any]
    """() -> (x, y) training data (honours ``--train-limit``)."""
    test: Callable[[], Any]
    """() -> (x, y) test data (honours ``--limit``)."""
    pretrained: Callable[[], Any]
    """() -> the model's shipped, unpruned network (a baseline or a distillation teacher)."""
    say: Callable[[str], None]
    """Progress output (silent with ``--json``)."""


# ---- the registry ----------------------------------------------------------------------------------------------
_registered: dict[str, Backend] = {}
_loaded = False


#: Every attribute and method :class:`Backend` declares.
_MEMBERS = tuple(dict.fromkeys([*Backend.__annotations__, *(n for n in vars(Backend) if not n.startswith("_"))]))


def _check_backend(be: Any) -> None:
    missing = [m for m in _MEMBERS if not hasattr(be, m)]
    if missing:
        raise ConfigError(f"back-end {getattr(be, 'name', be)!r} lacks {', '.join(missing)} (see hwsim.backend.Backend)")
    if not isinstance(be.name, str) or not be.name.isidentifier() or be.name != be.name.lower():
        raise ConfigError(f"back-end name {be.name!r} must be a lower-case identifier")
    if be.default_preset not in be.presets:
        raise ConfigError(f"back-end {be.name!r}: default preset {be.default_preset!r} is not among its presets")


def register(backend: Backend, *, replace: bool = False) -> Backend:
    """Add ``backend`` to the registry (``replace=True`` to supersede one of the same name); returns it."""
    _load()
    _check_backend(backend)
    if backend.name in _registered and not replace and _registered[backend.name] is not backend:
        raise ConfigError(f"a back-end named {backend.name!r} is already registered (pass replace=True)")
    _registered[backend.name] = backend
    return backend


def unregister(name: str) -> None:
    """Remove back-end ``name`` from the registry (built-in ones come back only with a new process)."""
    _load()
    _registered.pop(name, None)


def _import_backend(target: str) -> Backend:
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr or "BACKEND")


def _load() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for name, package in BUILTIN.items():
        be = _import_backend(package)
        _check_backend(be)
        _registered[name] = be
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            be = ep.load()
            _check_backend(be)
        except Exception as exc:  # a broken plug-in must not take the built-in back-ends down
            import warnings

            warnings.warn(f"hwsim back-end plug-in {ep.name!r} ({ep.value}) not loaded: {exc}", stacklevel=2)
            continue
        _registered.setdefault(be.name, be)


def names() -> tuple[str, ...]:
    """Names of the registered back-ends, built-in ones first."""
    _load()
    return tuple(_registered)


def backends() -> tuple[Backend, ...]:
    """The registered back-ends, built-in ones first."""
    _load()
    return tuple(_registered.values())


def get(name: str | Backend) -> Backend:
    """The back-end registered as ``name`` (a back-end object is returned as it is)."""
    if not isinstance(name, str):
        _check_backend(name)
        return name
    _load()
    if name not in _registered:
        raise ConfigError(f"unknown hardware {name!r}; choose one of {', '.join(_registered)}")
    return _registered[name]
