"""The ReRAM back-end object (:data:`BACKEND`) registered in :mod:`hwsim.backend`, and its configuration API."""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from ..backend import BackendBase, Option
from ..errors import ConfigError
from ..report import Report
from .calibration import calibrate_adc
from .config import MAPPING_MODES, PRESETS, ReramConfig, config_to_dict
from .cost import cost as _cost
from .mapping import ReramMapping
from .mapping import map as _map
from .run import accuracy as _accuracy
from .run import run as _run


def tile_geometry(config: Any) -> tuple[int, int]:
    """(outputs per crossbar, inputs per crossbar) of a ReRAM config in weight-matrix coordinates.

    The crossbar stores W^T: ``rows`` inputs, and each output takes ``columns_per_weight`` adjacent columns,
    so one tile holds ``cols // columns_per_weight`` outputs. When ``cols`` is not a multiple of
    ``columns_per_weight`` weights straddle tiles and tile-aligned blocks are only approximately aligned.
    """
    cpw = int(config.columns_per_weight)
    return max(int(config.cols) // cpw, 1), int(config.rows)


class ReramBackend(BackendBase):
    """ReRAM crossbar accelerators (ISAAC / NeuroSim lineage); see :mod:`hwsim.reram`."""

    name = "reram"
    title = "ReRAM"
    description = "ReRAM crossbar accelerator (ISAAC / NeuroSim lineage): sparse-aware mapping, bit-serial ADC reads"
    config_class = ReramConfig
    presets = PRESETS
    default_preset = "default"
    sweep_metrics = ("static_power_w", "energy_j", "tiles", "latency_s")
    #: Dotted config keys (prefixes) that ``map`` does not read: a sweep maps once and re-costs a mapping with each
    #: value (``dataclasses.replace(mapping, config=...)``); ``tests/test_sweep.py`` checks each against a fresh map.
    cost_only_keys = ("adc.bits", "adc.energy_per_conversion_j", "adc.leakage_w", "adc.area_mm2", "adc.range_fraction",
                      "adc.flip_encoding", "nonideal", "chip", "system.power_gating", "system.pipeline_layers",
                      "system.input_activity", "crossbar.read_voltage_v", "crossbar.r_on_ohm", "crossbar.r_off_ohm",
                      "crossbar.write_voltage_v", "crossbar.write_pulse_s", "crossbar.area_mm2")
    options = (
        Option("--mapping", key="mapping.mode", metavar="MODE",
               help=f"sparse-aware mapping mode: {', '.join(MAPPING_MODES)} (default: the preset's)"),
        Option("--adc-bits", type=int, key="adc.bits", metavar="BITS", help="ADC resolution, bits"),
        Option("--sigma", type=float, key="nonideal.sigma", help="conductance variation sigma (relative)"),
        Option("--adc-calibration", type=int, metavar="N", commands=("evaluate",),
               note="changes accuracy, not cost: use it with 'hwsim evaluate'",
               help="evaluate: set each layer's ADC full scale from the reads of the first N training images "
                    "(hwsim.reram.calibrate_adc)"),
    )

    def config_to_dict(self, config: Any) -> dict[str, Any]:
        """The resolved configuration as a JSON-able nested dict (plus derived geometry under 'derived')."""
        return config_to_dict(config)

    def pruning_unit(self, config: Any) -> tuple[str, tuple[int, int]]:
        """Whole crossbars: an all-zero crossbar tile is not allocated (:func:`tile_geometry`)."""
        return "xbar_tiles", tile_geometry(config)

    def sweep_variants(self, config: Any) -> list[tuple[str, Any]]:
        """``config`` under every mapping mode (dense, skip_empty, compact, ou)."""
        return [(m, dataclasses.replace(config, mapping=dataclasses.replace(config.mapping, mode=m)))
                for m in MAPPING_MODES]

    def map(self, source: Any, config: ReramConfig | None = None) -> ReramMapping:
        return _map(source, config)

    def cost(self, mapping: ReramMapping) -> Report:
        return _cost(mapping)

    def run(self, mapping: ReramMapping, x: Any, seed: Any = 0) -> Any:
        return _run(mapping, x, seed=seed)

    def accuracy(self, mapping: ReramMapping, x: Any, y: Any, seed: Any = 0) -> float:
        return _accuracy(mapping, x, y, seed=seed)

    def nonidealities(self, config: ReramConfig) -> dict[str, Any]:
        """What :func:`hwsim.reram.run` applies: weight and input quantization, the ADC, conductance variation and
        stuck-at faults (a finite on/off ratio matters only with variation: the reference is calibrated)."""
        ni, adc = config.nonideal, config.adc
        parts = [f"{config.precision.weight_bits}-bit weights, {config.precision.input_bits}-bit inputs",
                 f"{adc.bits}-bit ADC" + (" with flipped encoding" if adc.flip_encoding else "")
                 + (f" at {adc.range_fraction:g} of full scale" if adc.range_fraction < 1 else "")]
        parts.append(f"conductance variation sigma {ni.sigma:g} ({ni.variation})" if ni.sigma > 0
                     else "no device variation")
        if ni.p_sa0 > 0 or ni.p_sa1 > 0:
            parts.append(f"stuck-at faults SA0 {ni.p_sa0:.3g}, SA1 {ni.p_sa1:.3g}")
        else:
            parts.append("no stuck-at faults")
        return {"summary": ", ".join(parts), "ideal": ni.ideal,
                "weight_bits": config.precision.weight_bits, "input_bits": config.precision.input_bits,
                "adc_bits": adc.bits, "adc_effective_bits": adc.effective_bits,
                "adc_range_fraction": adc.range_fraction, "variation": ni.variation if ni.sigma > 0 else None,
                "variation_sigma": ni.sigma, "p_sa0": ni.p_sa0, "p_sa1": ni.p_sa1,
                "on_off_ratio": config.crossbar.r_off_ohm / config.crossbar.r_on_ohm}

    def prepare_evaluation(self, mapping: ReramMapping, options: Mapping[str, Any],
                           train_images: Callable[[int], Any], seed: int) -> tuple[ReramMapping, dict[str, Any]]:
        """With ``adc_calibration`` = N: each layer's ADC full scale from the reads of N training images."""
        n = options.get("adc_calibration")
        if n is None:
            return mapping, {}
        if n < 1:
            raise ConfigError(f"--adc-calibration needs a positive number of images, got {n}")
        xc = train_images(n)
        mapping = calibrate_adc(mapping, xc, seed=seed)
        return mapping, {"adc_calibration_images": int(len(xc)),
                         "adc_full_scale": [l.adc_full_scale for l in mapping.layers]}

    def warmup(self) -> None:
        """Compile every kernel of this package on tiny inputs (cached on disk by numba)."""
        from ._warmup import warmup

        warmup()


BACKEND = ReramBackend()
get_preset = BACKEND.get_preset
config_from_dict = BACKEND.config_from_dict
load_config = BACKEND.load_config
resolve_config = BACKEND.resolve_config
