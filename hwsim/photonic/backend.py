"""The photonic back-end object (:data:`BACKEND`) registered in :mod:`hwsim.backend`, and its configuration API.

Besides the verbs it adds two things to the command line: programming files (``--phases CHIP.npz`` replaces mapping
the weights by a saved, programmed chip) and phase-domain pruning (``hwsim prune --hardware photonic
--phase-power-reg L``: power-regularised heater pruning, then distilled phase fine-tuning, written as a programming
file).
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from ..backend import BackendBase, Option, PruneContext
from ..errors import ConfigError
from ..report import Report
from .config import DEFAULT_PRESET, MESHES, PRESETS, PhotonicConfig
from .cost import cost as _cost
from .mapping import PhotonicMapping
from .mapping import map as _map
from .programming_io import load_programming
from .run import accuracy as _accuracy
from .run import run as _run
from .run import with_noise

_PHASE_DOMAIN = "photonic phase-domain pruning"


def _prune_option(flag: str, type_: Any, default: Any, help_: str) -> Option:
    return Option(flag, type=type_, default=default, commands=("prune",), help=f"{help_} (default {default})")


class PhotonicBackend(BackendBase):
    """Coherent photonic MZI-mesh accelerators (Clements / Reck meshes on SVD tiles); see :mod:`hwsim.photonic`."""

    name = "photonic"
    title = "photonic"
    description = "coherent photonic accelerator: K x K SVD tiles on Clements/Reck MZI meshes, thermo-optic heaters"
    config_class = PhotonicConfig
    presets = PRESETS
    default_preset = DEFAULT_PRESET
    #: chip level: time-multiplexed layers share the physical cores, so the sum over layers counts a core once per
    #: layer that uses it (``Report.total``); the chip's always-on power is drawn once, over wall-clock time
    sweep_metrics = ("chip.static_power_w", "chip.energy_per_inference_j")
    options = (
        Option("--mesh", key="mesh.mesh", help=f"mesh topology: {', '.join(MESHES)}"),
        Option("--tile", type=int, key="mesh.tile", metavar="K", help="mesh size K (tiles are K x K)"),
        Option("--phase-noise", type=float, key="noise.phase_noise_rad", metavar="RAD",
               help="phase noise sigma, rad"),
        Option("--phases", metavar="CHIP.npz", excludes=("--preset", "--config", "--mesh", "--tile", "--weights"),
               note="the programming file fixes the hardware configuration and replaces the weights",
               help="programming file .npz (phases, gains, biases and configuration of a programmed chip, e.g. after "
                    "phase-domain pruning; see hwsim.photonic.save_programming): replaces mapping the weights, and "
                    "fixes the hardware configuration"),
        Option("--phase-power-reg", type=float, commands=("prune",), metavar="LAMBDA",
               excludes=("--budget", "--accuracy-floor"),
               note="prune tiles first, then pass the result with --weights",
               help="photonic phase-domain pruning: lambda of the heater-power regulariser (per P_pi; 1.2e-4 for "
                    "LeNet-300-100); writes a programming file for 'hwsim cost/evaluate --phases' to --out"),
        _prune_option("--phase-rounds", int, 8, "phase-domain pruning: regularised train-and-cut rounds"),
        _prune_option("--phase-steps", int, 300, "phase-domain pruning: minibatches per round"),
        _prune_option("--phase-lr", float, 1e-2, "phase-domain pruning: learning rate of the rounds"),
        _prune_option("--phase-threshold", float, 0.1,
                      "phase-domain pruning: heaters within this many rad of 0 are switched off after each round"),
        _prune_option("--final-steps", int, 3000, "phase-domain pruning: fine-tuning minibatches after the rounds"),
        _prune_option("--final-lr", float, 5e-3, "phase-domain pruning: learning rate of the final fine-tuning"),
        _prune_option("--kd-weight", float, 0.7,
                      "phase-domain pruning, final fine-tuning: weight of distillation from the model's shipped "
                      "pretrained (unpruned) float network (0 = labels only)"),
        _prune_option("--kd-temperature", float, 4.0, "phase-domain pruning: distillation temperature"),
        _prune_option("--gauge-levels", int, 0,
                      "phase-domain pruning: before the rounds, lower heater power with the SVD gauge (levels per "
                      "mode; 0 = off)"),
    )

    def pruning_unit(self, config: Any) -> tuple[str, tuple[int, int]]:
        """K x K blocks: an all-zero tile is not mapped (no heaters, laser share or converters)."""
        k = int(config.mesh.tile)
        return "xbar_tiles", (k, k)

    def sweep_variants(self, config: Any) -> list[tuple[str, Any]]:
        """The configured chip, and beside a time-multiplexed one the same meshes weight-stationary (one mesh pair
        per tile, CHAMP-style: where pruning tiles away removes their heaters and static power)."""
        if config.chip.mode != "time_multiplexed":
            return [("weight-stationary", config)]
        ws = dataclasses.replace(config, chip=dataclasses.replace(config.chip, mode="weight_stationary"))
        return [(f"{config.chip.cores} time-multiplexed cores", config), ("weight-stationary", ws)]

    def map(self, source: Any, config: PhotonicConfig | None = None) -> PhotonicMapping:
        return _map(source, config)

    def cost(self, mapping: PhotonicMapping) -> Report:
        return _cost(mapping)

    def run(self, mapping: PhotonicMapping, x: Any, seed: Any = 0) -> Any:
        return _run(mapping, x, seed=seed)

    def accuracy(self, mapping: PhotonicMapping, x: Any, y: Any, seed: Any = 0) -> float:
        return _accuracy(mapping, x, y, seed=seed)

    def nonidealities(self, config: PhotonicConfig) -> dict[str, Any]:
        """What :func:`hwsim.photonic.run` applies: phase noise, heater-DAC phase quantization, coupler imbalance,
        and the fabrication offsets at which switched-off (pruned) heaters sit. Not modelled: detector noise, input
        and output converters, loss imbalance."""
        n, off = config.noise, config.heater.offset_sigma_rad
        parts = [f"phase noise sigma {n.phase_noise_rad:g} rad" if n.phase_noise_rad > 0 else "no phase noise",
                 f"{n.phase_bits}-bit heater DACs" if n.phase_bits else "continuous phases (no heater-DAC rounding)"]
        if n.bs_imbalance > 0:
            parts.append(f"coupler imbalance sigma {n.bs_imbalance:g}")
        if off > 0:
            parts.append(f"fabrication phase offsets sigma {off:g} rad (seed {config.heater.offset_seed})")
        ideal = n.phase_noise_rad == 0 and n.phase_bits == 0 and n.bs_imbalance == 0 and off == 0
        return {"summary": ("ideal chip: " if ideal else "") + ", ".join(parts), "ideal": ideal,
                "phase_noise_rad": n.phase_noise_rad,
                "phase_bits": n.phase_bits, "bs_imbalance": n.bs_imbalance, "offset_sigma_rad": off}

    def open_mapping(self, options: Mapping[str, Any], network: Any) -> tuple[PhotonicMapping, dict[str, Any]] | None:
        """``phases``: the programmed chip of a programming file (with ``phase_noise`` applied when given)."""
        path = options.get("phases")
        if path is None:
            return None
        mapping = load_programming(path, network)
        if options.get("phase_noise") is not None:
            mapping = with_noise(mapping, phase_noise_rad=float(options["phase_noise"]))
        return mapping, {"phases": path}

    def prune_command(self, network: Any, options: Mapping[str, Any],
                      context: PruneContext) -> tuple[dict[str, Any], str] | None:
        """``--phase-power-reg``: phase-domain pruning (:func:`hwsim.photonic.phase_domain.prune_command`)."""
        given = {k: v for k, v in options.items() if v is not None}
        if "phase_power_reg" not in given:
            if given:
                flags = ", ".join("--" + k.replace("_", "-") for k in given)
                raise ConfigError(f"{flags}: only with --phase-power-reg ({_PHASE_DOMAIN})")
            return None
        settings = {o.name: given.get(o.name, o.default) for o in self.options if "prune" in o.commands}
        from .phase_domain import prune_command, summary

        result = prune_command(network, self.resolve_config(context.preset), settings, context)
        return result, summary(result)

    def warmup(self) -> None:
        """Compile every kernel of this package on tiny inputs (cached on disk by numba)."""
        import numpy as np

        from . import _svd
        from .mapping import layer_matrix
        from .mesh import decompose, reconstruct

        u = np.array([[0.0, 1.0], [1.0, 0.0]])
        for mesh in MESHES:
            p = decompose(u, mesh)
            reconstruct(p)
            decompose(u.astype(np.complex128), mesh)
        w32 = np.array([[1.0, -2.0, 0.5], [0.0, 3.0, 1.0]], dtype=np.float32)
        cfg = dataclasses.replace(PhotonicConfig(), mesh=dataclasses.replace(PhotonicConfig().mesh, tile=2))
        for w in (w32, w32.astype(np.float64)):
            m = _map([w], cfg)
            _cost(m)
            layer_matrix(m.layers[0])
        # the batched Jacobi SVD: the mapper takes it for stacks of >= _svd.JACOBI_MIN_TILES tiles only, which the
        # tiny mapping above does not reach
        _svd.svd_tiles(np.ascontiguousarray(np.arange(32.0).reshape(2, 4, 4)))


BACKEND = PhotonicBackend()
get_preset = BACKEND.get_preset
config_from_dict = BACKEND.config_from_dict
load_config = BACKEND.load_config
resolve_config = BACKEND.resolve_config
