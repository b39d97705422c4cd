"""Sweep specifications: a TOML file (or a dict) -> a validated list of :class:`Point` s.

A spec names fixed settings and axes; every list-valued setting is an axis and the sweep is the Cartesian product of
the axes. Top-level keys (:data:`AXES` may be a scalar or a list; :data:`SETTINGS` are scalars)::

    hardware = NAME                       # a registered back-end's name (a string), or a list of them
    preset = ["default", "isaac"]         # the back-end's presets (None/absent: its default preset)
    model = "lenet-300-100"               # zoo models ...
    weights = "pruned.npz"                # ... and/or weights files (.npz, one 2-D array per layer), or ONNX graphs
                                          # (.onnx, no model: pruned, costed and evaluated like a trainable model)
    method = ["magnitude", "taylor"]      # "none" or a pruning criterion (hwsim.prune.CRITERIA); shape-only models:
                                          # "none", "random", "magnitude", "block" (synthetic weights)
    sparsity = [0.0, 0.5, 0.9]            # fraction of weights pruned, in [0, 1)
    structure = "unstructured"            # or "neuron", or "hardware" (aligned to the back-end's pruning unit)
    scope = "global"                      # or "layer"
    seed = [0, 1, 2]                      # synthetic weights, random criterion, and the run's noise draw
    accuracy_images = 2000                # > 0: accuracy on hardware on the first N test images (trainable models)
    prune_images = 1000                   # training images for data-driven criteria (taylor, snip, ...)
    data_dir = "/path/to/fashion-mnist"   # optional

    [set]                                 # any back-end config key, dotted; a list is an axis
    "adc.bits" = [4, 5, 6, 7, 8]
    crossbar.rows = [64, 128, 256]

    [[point]]                             # explicit points (optional): each overrides the settings above and is
    preset = "isaac"                      # crossed with the axes it does not fix
    set = { "adc.bits" = 6 }

Validation happens before any work (:func:`load_spec` / :func:`expand`): unknown keys, wrong types, empty lists,
unknown hardware, presets, models, methods and structures are refused naming the key and the allowed values, and
every point's configuration is resolved through its back-end's ``resolve_config(preset, None, overrides)``.
"""
from __future__ import annotations

import hashlib
import itertools
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError

#: Settings that may be scalars or lists (axes), with their defaults.
AXES: dict[str, Any] = {"hardware": None, "preset": None, "model": None, "weights": None, "method": "none",
                        "sparsity": 0.0, "structure": "unstructured", "scope": "global", "seed": 0}
#: Scalar settings of the whole sweep, with their defaults.
SETTINGS: dict[str, Any] = {"accuracy_images": 0, "prune_images": 1000, "data_dir": None, "name": None}
#: Structures a sweep prunes to ("hardware": the back-end's pruning unit at each point's configuration).
STRUCTURES = ("unstructured", "neuron", "hardware")
SCOPES = ("global", "layer")
#: Methods for shape-only models (synthetic weights drawn at the sparsity in this pattern; "none" = dense).
SHAPE_ONLY_METHODS = ("none", "random", "magnitude", "block")


def _criteria() -> tuple[str, ...]:
    from ..prune import CRITERIA

    return ("none", *CRITERIA)


@dataclass(frozen=True)
class Point:
    """One design point of a sweep: what is pruned how, and on which hardware configuration."""

    hardware: str
    preset: str | None
    model: str | None
    weights: str | None
    method: str
    sparsity: float
    """Fraction of weights pruned, in [0, 1)."""
    structure: str
    scope: str
    seed: int
    overrides: tuple[tuple[str, Any], ...] = ()
    """Dotted back-end config keys and values, sorted by key."""
    accuracy_images: int = 0
    """Test images the accuracy on hardware is measured on (0: cost only)."""
    prune_images: int = 1000
    data_dir: str | None = None
    weights_sha256: str | None = field(default=None, compare=False)

    def params(self) -> dict[str, Any]:
        """The point as a JSON-able dict (what the store keeps per row besides config and metrics)."""
        return {"hardware": self.hardware, "preset": self.preset, "model": self.model, "weights": self.weights,
                "method": self.method, "sparsity": self.sparsity, "structure": self.structure, "scope": self.scope,
                "seed": self.seed, "overrides": dict(self.overrides), "accuracy_images": self.accuracy_images}

    @property
    def key(self) -> str:
        """A stable identity (SHA-256 of the canonical JSON of everything that changes the result, the weights
        file's content included): ``--resume`` skips points whose key is stored."""
        ident = {**self.params(), "prune_images": self.prune_images if self._data_driven else None,
                 "weights_sha256": self.weights_sha256}
        return hashlib.sha256(json.dumps(ident, sort_keys=True, default=str).encode()).hexdigest()[:32]

    @property
    def _data_driven(self) -> bool:
        from ..prune.criteria import NEEDS_INPUTS, NEEDS_LABELS

        return self.method in NEEDS_LABELS or self.method in NEEDS_INPUTS

    def label(self) -> str:
        """A short human-readable description (errors and progress)."""
        bits = [self.hardware, self.preset or "default preset", self.model or self.weights or "-",
                f"{self.method} {self.sparsity:g}"] + [f"{k}={v}" for k, v in self.overrides]
        return ", ".join(str(b) for b in bits)


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep: its points (in order) and where it came from."""

    points: tuple[Point, ...]
    source: dict[str, Any]
    """The spec as read (JSON-able), stored with the results."""
    name: str | None = None

    def __len__(self) -> int:
        return len(self.points)


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"crossbar": {"rows": [..]}, "adc.bits": 6}`` -> ``{"crossbar.rows": [..], "adc.bits": 6}``."""
    out: dict[str, Any] = {}
    for k, v in table.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


def _as_list(key: str, value: Any) -> list[Any]:
    if isinstance(value, (list, tuple)):
        if not value:
            raise ConfigError(f"sweep key {key!r}: empty list (an empty grid has no points); give at least one value")
        return list(value)
    return [value]


def _check_type(key: str, value: Any, kinds: tuple[type, ...], what: str) -> None:
    if value is None:
        return
    if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
        raise ConfigError(f"sweep key {key!r}: expected {what}, got {value!r} ({type(value).__name__})")


def read_spec(path: str | Path) -> dict[str, Any]:
    """The TOML file at ``path`` as a dict (ConfigError on a syntax error, naming the file)."""
    from ..config import read_toml

    return read_toml(path)


def load_spec(path: str | Path) -> SweepSpec:
    """Read and validate the sweep spec at ``path`` (relative weights paths are taken from the spec's folder)."""
    return expand(read_spec(path), base_dir=Path(path).parent)


def expand(data: Mapping[str, Any], base_dir: str | Path | None = None) -> SweepSpec:
    """Validate a spec dict and expand it into points; every point's configuration is resolved once here."""

    data = dict(data)
    allowed = [*AXES, *SETTINGS, "set", "point"]
    unknown = [k for k in data if k not in allowed]
    if unknown:
        raise ConfigError(f"unknown sweep key {unknown[0]!r}; allowed: {', '.join(allowed)}")
    settings = {k: data.get(k, d) for k, d in SETTINGS.items()}
    for k in ("accuracy_images", "prune_images"):
        _check_type(k, settings[k], (int,), "an integer")
    if settings["accuracy_images"] < 0:
        raise ConfigError(f"sweep key 'accuracy_images': must be >= 0, got {settings['accuracy_images']}")
    if settings["prune_images"] < 1:
        raise ConfigError(f"sweep key 'prune_images': must be >= 1, got {settings['prune_images']}")
    _check_type("data_dir", settings["data_dir"], (str,), "a folder path")
    _check_type("name", settings["name"], (str,), "a string")

    base = {k: data.get(k, d) for k, d in AXES.items()}
    base_set = data.get("set", {})
    if not isinstance(base_set, Mapping):
        raise ConfigError(f"sweep key 'set': expected a table of dotted config keys, got {base_set!r}")
    base_set = _flatten(base_set)
    explicit = data.get("point", [{}])
    if isinstance(explicit, Mapping):
        explicit = [explicit]
    if not isinstance(explicit, list) or not explicit:
        raise ConfigError("sweep key 'point': expected one or more [[point]] tables")
    point_keys = [*AXES, "set"]
    raw: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for i, p in enumerate(explicit):
        if not isinstance(p, Mapping):
            raise ConfigError(f"[[point]] {i + 1}: expected a table, got {p!r}")
        bad = [k for k in p if k not in point_keys]
        if bad:
            raise ConfigError(f"[[point]] {i + 1}: unknown key {bad[0]!r}; allowed: {', '.join(point_keys)}")
        pset = p.get("set", {})
        if not isinstance(pset, Mapping):
            raise ConfigError(f"[[point]] {i + 1}: 'set' must be a table of dotted config keys, got {pset!r}")
        axes = {**base, **{k: v for k, v in p.items() if k != "set"}}
        raw.append((axes, {**base_set, **_flatten(pset)}))

    if base_dir is not None:
        base_dir = Path(base_dir)
    points: list[Point] = []
    sha_cache: dict[str, str] = {}
    for axes, sets in raw:
        lists = {k: _as_list(k, v) for k, v in axes.items()}
        set_lists = {f"set.{k}": _as_list(f"set.{k}", v) for k, v in sets.items()}
        names = [*lists, *set_lists]
        for combo in itertools.product(*lists.values(), *set_lists.values()):
            values = dict(zip(names, combo))
            overrides = tuple(sorted((k[4:], v) for k, v in values.items() if k.startswith("set.")))
            points.append(_point(values, overrides, settings, base_dir, sha_cache))
    _validate(points, settings)
    seen: dict[str, int] = {}
    unique = []
    for p in points:  # explicit points may repeat a grid point: keep the first
        if p.key not in seen:
            seen[p.key] = len(unique)
            unique.append(p)
    source = json.loads(json.dumps(data, default=str))
    return SweepSpec(tuple(unique), source, settings["name"])


def _point(v: Mapping[str, Any], overrides: tuple[tuple[str, Any], ...], settings: Mapping[str, Any],
           base_dir: Path | None, sha_cache: dict[str, str]) -> Point:
    import models

    from .. import backend

    hw = v["hardware"]
    if hw is None:
        raise ConfigError(f"sweep key 'hardware' is required; choose one or more of {', '.join(backend.names())}")
    _check_type("hardware", hw, (str,), "a back-end name")
    if hw not in backend.names():
        raise ConfigError(f"sweep key 'hardware': unknown hardware {hw!r}; choose one of {', '.join(backend.names())}")
    be = backend.get(hw)
    preset = v["preset"]
    _check_type("preset", preset, (str,), "a preset name")
    if preset is not None and preset not in be.presets:
        raise ConfigError(f"sweep key 'preset': unknown {be.title} preset {preset!r}; choose one of "
                          f"{', '.join(be.presets)}")
    model, weights = v["model"], v["weights"]
    _check_type("model", model, (str,), "a model name")
    _check_type("weights", weights, (str,), "a weights file path")
    if model is None and weights is None:
        raise ConfigError(f"sweep key 'model' (or 'weights') is required; models: {', '.join(models.names())}")
    if model is not None and model not in models.REGISTRY:
        raise ConfigError(f"sweep key 'model': unknown model {model!r}; choose one of {', '.join(models.names())}")
    sha = None
    if weights is not None:
        wp = Path(weights)
        if not wp.is_absolute() and base_dir is not None and not wp.exists() and (base_dir / wp).exists():
            wp = base_dir / wp
        if not wp.is_file():
            raise ConfigError(f"sweep key 'weights': file {weights!r} not found")
        weights = str(wp)
        if weights not in sha_cache:
            from ..atomic_io import sha256_file

            sha_cache[weights] = sha256_file(wp)
        sha = sha_cache[weights]
    trainable = models.evaluable(model, weights)  # a trainable zoo model, or an ONNX graph (weights = FILE.onnx)
    method = v["method"]
    _check_type("method", method, (str,), "a method name")
    methods = _criteria() if trainable else SHAPE_ONLY_METHODS
    if model is None and not trainable:
        methods = ("none",)
    if method not in methods:
        kind = "trainable model" if trainable else ("shape-only model" if model else "weights file without a model")
        raise ConfigError(f"sweep key 'method': {method!r} is not a pruning method for a {kind} "
                          f"({model or weights}); choose one of {', '.join(methods)}")
    s = v["sparsity"]
    _check_type("sparsity", s, (int, float), "a number in [0, 1)")
    s = float(s)
    if not (0.0 <= s < 1.0) or math.isnan(s):
        raise ConfigError(f"sweep key 'sparsity': must lie in [0, 1), got {s}")
    if method == "none" and s > 0:
        raise ConfigError(f"sweep key 'sparsity': {s} > 0 needs a pruning 'method' (method is 'none'); choose one "
                          f"of {', '.join(m for m in methods if m != 'none')}")
    structure, scope = v["structure"], v["scope"]
    _check_type("structure", structure, (str,), "a structure name")
    _check_type("scope", scope, (str,), "'global' or 'layer'")
    if structure not in STRUCTURES:
        raise ConfigError(f"sweep key 'structure': unknown {structure!r}; choose one of {', '.join(STRUCTURES)}")
    if scope not in SCOPES:
        raise ConfigError(f"sweep key 'scope': unknown {scope!r}; choose one of {', '.join(SCOPES)}")
    if not trainable and structure != "unstructured":
        raise ConfigError(f"sweep key 'structure': {structure!r} needs a trainable model; shape-only models and "
                          "weights files take 'unstructured' (their pattern is the method)")
    seed = v["seed"]
    _check_type("seed", seed, (int,), "an integer >= 0")
    if seed < 0:
        raise ConfigError(f"sweep key 'seed': must be >= 0, got {seed}")
    n_acc = int(settings["accuracy_images"])
    if n_acc and not trainable:
        trained = ", ".join(n for n, e in models.REGISTRY.items() if e.trainable)
        raise ConfigError(f"sweep key 'accuracy_images': accuracy needs a trainable model ({trained}); "
                          f"{model or weights!r} is not")
    return Point(hw, preset, model, weights, method, s, structure, scope, int(seed), overrides, n_acc,
                 int(settings["prune_images"]), settings["data_dir"], sha)


def _validate(points: Sequence[Point], settings: Mapping[str, Any]) -> None:
    """Resolve every distinct configuration (errors name the point and the key) and check the data exist."""
    from .. import backend

    done: set[Any] = set()
    for i, p in enumerate(points):
        ident = (p.hardware, p.preset, json.dumps(p.overrides, default=str))
        if ident in done:
            continue
        done.add(ident)
        try:
            backend.get(p.hardware).resolve_config(p.preset, None, dict(p.overrides))
        except ConfigError as exc:
            raise ConfigError(f"sweep point {i + 1} ({p.label()}): {exc}") from None
    if any(p.accuracy_images or p._data_driven for p in points):
        from models import fashion_mnist

        fashion_mnist.load("test", settings["data_dir"], limit=1)  # DataError naming the folder, before any work
