"""Turn a :class:`PhotonicMapping`'s counts into a :class:`hwsim.Report` (per-component cost table).

Model (per layer; tiles of a layer run in parallel, layers one after another):

* heaters: static power P_pi * sum(phi/pi) over every programmed phase, phi in [0, 2pi) (push-pull:
  |phi|/pi, phi in (-pi, pi]); energy = static power x layer latency.
* laser: every allocated tile needs K x detector sensitivity at its outputs through the path loss
  L_dB = optical_depth x MZI loss (2 phase shifters + 2 couplers) + 2 screens x phase-shifter loss + coupling
  loss; electrical power = optical / wall-plug efficiency, on for one symbol per MVM.
  (Assumption: full-scale signals, every output port at the sensitivity; the 1/K fan-in of a unitary mesh
  is already in "K x sensitivity".)
* dac_modulator: DAC + modulator energy per unpadded input of every tile per MVM.
* pd_adc: photodetector/TIA/ADC energy per unpadded output of every tile per MVM. (Assumption: partial
  sums of the tiles of one output block are added digitally at negligible cost.)
* latency: MVMs / conversion rate + time of flight through the optical path (optical_depth MZI lengths + 2
  screen phase shifters, at group index n_g).
* area (mesh): MZIs x length x 2 pitches (an MZI spans two modes) + 2K screen phase shifters x length x pitch.
"""
from __future__ import annotations

from ..errors import ConfigError
from ..report import ComponentCost, LayerReport, Report
from .config import PhotonicConfig, config_to_dict
from .mapping import LayerMapping, PhotonicMapping, layer_counts

C_LIGHT_M_S = 299_792_458.0


def path_loss_db(cfg: PhotonicConfig, optical_depth: int) -> float:
    """Insertion loss of one tile's light path, dB."""
    mzi_db = 2.0 * cfg.heater.loss_db + 2.0 * cfg.mzi.coupler_loss_db
    return optical_depth * mzi_db + 2.0 * cfg.heater.loss_db + cfg.optoelectronics.coupling_loss_db


def layer_report(layer: LayerMapping, cfg: PhotonicConfig) -> LayerReport:
    oe = cfg.optoelectronics
    k = layer.tile
    counts = layer_counts(layer, push_pull=cfg.heater.mode == "push_pull")
    t_symbol = 1.0 / oe.conversion_rate_hz
    depth = counts["optical_depth"]
    path_m = depth * cfg.mzi.length_m + 2.0 * cfg.heater.length_m
    t_flight = path_m * cfg.mzi.group_index / C_LIGHT_M_S
    latency = counts["mvms"] * t_symbol + t_flight if counts["tiles"] else 0.0

    heater_w = cfg.heater.p_pi_w * counts["heater_pi_units"]
    loss_db = path_loss_db(cfg, depth)
    laser_opt_w = k * oe.detector_sensitivity_w * 10.0 ** (loss_db / 10.0)
    laser_j = counts["tile_mvms"] * laser_opt_w / oe.laser_wallplug_efficiency * t_symbol
    dac_j = counts["dac_conversions"] * (oe.dac_energy_j + oe.modulator_energy_j)
    adc_j = counts["adc_conversions"] * oe.adc_energy_j
    area_mm2 = (counts["mzis"] * cfg.mzi.length_m * 2.0 * cfg.mzi.pitch_m
                + counts["tiles"] * 2 * k * cfg.heater.length_m * cfg.mzi.pitch_m) * 1e6
    breakdown = {
        "heaters": ComponentCost(energy_j=heater_w * latency, static_power_w=heater_w),
        "laser": ComponentCost(energy_j=laser_j),
        "dac_modulator": ComponentCost(energy_j=dac_j),
        "pd_adc": ComponentCost(energy_j=adc_j),
        "mesh": ComponentCost(area_mm2=area_mm2),
    }
    counts = dict(counts)
    counts["path_loss_db"] = loss_db
    counts["time_of_flight_s"] = t_flight
    return LayerReport(
        name=layer.name, shape=layer.shape, mvms_per_inference=layer.mvms_per_inference, tiles=layer.tiles,
        latency_s=latency, energy_j=sum(c.energy_j for c in breakdown.values()),
        static_power_w=heater_w, area_mm2=area_mm2, breakdown=breakdown, counts=counts)


def cost(mapping: PhotonicMapping) -> Report:
    """Latency, energy, static power and area of a mapped network (hardware = "photonic")."""
    if not isinstance(mapping, PhotonicMapping):
        raise ConfigError(f"cost expects a PhotonicMapping, got {type(mapping).__name__}")
    cfg = mapping.config
    layers = [layer_report(l, cfg) for l in mapping.layers]
    return Report.from_layers("photonic", cfg.preset, config_to_dict(cfg), layers,
                              extra={"mesh": cfg.mesh.mesh, "tile": cfg.mesh.tile,
                                     "heater_mode": cfg.heater.mode})
