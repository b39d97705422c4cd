"""Turn a :class:`PhotonicMapping`'s counts into a :class:`hwsim.Report`: per layer, and the chip running the schedule.

The chip, its cores, the optical path, the laser and the schedule are in :mod:`hwsim.photonic.chip`. Per layer
(``Report.layers``; ``Report.total`` sums them), each layer costed *in isolation* on the chip, as the ReRAM back-end
does:

* ``static_power_w`` = heater power of the layer's resident tiles, time-averaged over its run: P_pi x sum of
  wrap(phi - offset)/pi over every programmed phase (push-pull: |.|/pi, wrapped to (-pi, pi]) -- all of them when
  weight-stationary, divided by the layer's rounds when time-multiplexed (each tile is resident for one round). This
  is the figure phase pruning lowers; the chip's always-on power (heaters, laser, receivers, buffer) is
  ``Report.chip.static_power_w``.
* ``latency_s``: weight-stationary, MVMs / symbol rate + time of flight; time-multiplexed, the layer's rounds x
  (settling + the batch's MVMs + time of flight), the time one input spends in the layer.
* energy per inference: heaters (power x compute time), reprogramming (heater power while settling + one heater-DAC
  write per phase shifter per tile, over the batch), laser and receivers (always on: the cores' power x the layer's
  time per inference), DAC + modulator per unpadded input and detector + ADC per unpadded output of every tile per
  MVM, digital (one addition per partial tile output, a nonlinearity per layer output, activation buffer bits).
* area: the cores the layer occupies (all its tiles' mesh pairs when weight-stationary; min(tiles, cores) cores).

``Report.chip`` is the whole chip running the network's schedule (:func:`hwsim.photonic.chip.chip_cost`); its energy
per inference includes the always-on power x the wall-clock time per inference.
"""
from __future__ import annotations

from ..errors import ConfigError
from ..report import ComponentCost, LayerReport, Report
from . import chip as CH
from .config import PhotonicConfig, config_to_dict
from .mapping import LayerMapping, PhotonicMapping, layer_counts


def path_loss_db(cfg: PhotonicConfig, k: int | None = None) -> float:
    """Insertion loss of one core's light path, dB (K = the core size unless given)."""
    return CH.path_loss_db(cfg, cfg.core_size if k is None else k)


def _layer(layer: LayerMapping, cfg: PhotonicConfig) -> tuple[LayerReport, dict]:
    oe, ch = cfg.optoelectronics, cfg.chip
    k = cfg.core_size
    tm = ch.mode == "time_multiplexed"
    counts = layer_counts(layer, push_pull=cfg.heater.mode == "push_pull")
    t = counts["tiles"]
    timing = CH.layer_timing(cfg, t, layer.mvms_per_inference)
    batch = ch.batch_size if tm else 1
    heater_w = cfg.heater.p_pi_w * counts["heater_pi_units"]
    cores = min(t, ch.cores) if tm else t
    if tm:
        latency = timing.time_s
        per_inf = timing.time_s / batch
        static = heater_w / timing.rounds if t else 0.0
        heat_j = heater_w * timing.stream_s / batch
        writes = t * CH.heaters_per_core(k)
        reprog_j = (heater_w * timing.program_s + writes * ch.phase_dac_energy_j) / batch
        lit = ch.cores if t else 0  # the laser and receivers of every core are on while the layer runs
    else:
        latency = per_inf = timing.stream_s
        static = heater_w
        heat_j = heater_w * latency
        writes, reprog_j = 0, 0.0
        lit = t
    dig = CH.digital_counts(layer, counts, cfg)
    dynamic = {"dac_modulator": counts["dac_conversions"] * (oe.dac_energy_j + oe.modulator_energy_j),
               "pd_adc": counts["adc_conversions"] * oe.adc_energy_j,
               "digital": CH.digital_energy_j(dig, cfg)}
    areas = CH.core_areas_mm2(cfg, k)
    laser_w = lit * CH.laser_power_w(cfg, k)
    rx_w = lit * k * oe.receiver_static_power_w
    breakdown = {
        "heaters": ComponentCost(energy_j=heat_j, static_power_w=static, area_mm2=cores * areas["mesh"]),
        "reprogramming": ComponentCost(energy_j=reprog_j, area_mm2=cores * areas["reprogramming"]),
        "laser": ComponentCost(energy_j=laser_w * per_inf, area_mm2=cores * areas["laser"]),
        "receivers": ComponentCost(energy_j=rx_w * per_inf),
        "dac_modulator": ComponentCost(energy_j=dynamic["dac_modulator"], area_mm2=cores * areas["dac_modulator"]),
        "pd_adc": ComponentCost(energy_j=dynamic["pd_adc"], area_mm2=cores * areas["pd_adc"]),
        "digital": ComponentCost(energy_j=dynamic["digital"]),
    }
    counts = dict(counts)
    counts.update(dig)
    counts.update({"rounds": timing.rounds, "phase_writes_per_batch": writes, "path_loss_db": CH.path_loss_db(cfg, k),
                   "time_of_flight_s": CH.path_length_m(cfg, k) * cfg.mzi.group_index / CH.C_LIGHT_M_S})
    rep = LayerReport(
        name=layer.name, shape=layer.shape, mvms_per_inference=layer.mvms_per_inference, tiles=layer.tiles,
        latency_s=latency, energy_j=sum(c.energy_j for c in breakdown.values()), static_power_w=static,
        area_mm2=sum(c.area_mm2 for c in breakdown.values()), breakdown=breakdown, counts=counts)
    info = {"tiles": t, "heater_w": heater_w, "timing": timing, "dynamic": dynamic, "phase_writes": writes,
            "mvms": layer.mvms_per_inference, "activation_values": max(layer.shape) * (1 if t else 0)}
    return rep, info


def layer_report(layer: LayerMapping, cfg: PhotonicConfig) -> LayerReport:
    """The cost of one mapped layer in isolation (module docstring)."""
    return _layer(layer, cfg)[0]


def cost(mapping: PhotonicMapping) -> Report:
    """Latency, energy, static power and area of a mapped network per layer, and the chip running its schedule
    (hardware = "photonic")."""
    if not isinstance(mapping, PhotonicMapping):
        raise ConfigError(f"cost expects a PhotonicMapping, got {type(mapping).__name__}")
    cfg = mapping.config
    pairs = [_layer(l, cfg) for l in mapping.layers]
    layers = [p[0] for p in pairs]
    macs = sum(l.shape[0] * l.shape[1] * l.mvms_per_inference for l in mapping.layers)
    chip, sched = CH.chip_cost(cfg, [p[1] for p in pairs], macs)
    return Report.from_layers("photonic", cfg.preset, config_to_dict(cfg), layers,
                              latency_s=chip.latency_s,
                              extra={"mesh": cfg.mesh.mesh, "tile": cfg.mesh.tile, "heater_mode": cfg.heater.mode,
                                     "chip_mode": cfg.chip.mode, "chip_schedule": sched},
                              chip=chip)
