"""The photonic chip: physical cores, a schedule of tiles onto them, and the chip's cost (:class:`hwsim.report.Chip`).

Cores. A core is one K x K mesh pair (V mesh, attenuator column, U mesh) with its modulator/DAC row (K inputs), its
detector/ADC row (K outputs), one heater DAC per phase shifter and one laser. Its area is the meshes (MZIs x length x
2 pitches + 2K screen phase shifters) + K (DAC + modulator) + K ADCs + heater DACs + laser; a chip adds its
activation buffer.

Optical path and laser (per core, continuous-wave). Loss L_dB = modulator + optical_depth x (one phase shifter + two
couplers) + 2 screen phase shifters + fibre-to-chip coupling (in; detectors are on chip) + waveguide loss x path
length (depth x MZI length + 2 screen shifters). One phase shifter per MZI: the internal one sits on one of the two
arms and the external one on one of the two inputs, so light crosses one on average. Every one of the K detectors
needs sensitivity x 2^output_bits at full scale ([LT] laser model), so the electrical laser power of a core is
K x sensitivity x 2^bits x 10^(L/10) / wall-plug efficiency.

Schedule (time-multiplexed, the default). Layer l with T_l tiles runs in R_l = ceil(T_l / cores) rounds, layers one
after another. A round programs up to ``cores`` tiles onto the cores -- every heater settles within half an LSB of
2 pi / 2^settle_bits: t_prog = (settle_bits + 1) ln 2 / (2 pi f_3dB) (7.6 us for [Harris14]'s 130 kHz at 8 bits) --
then streams the whole batch B through them: B x n_l MVMs at the symbol rate, plus the time of flight. Partial tile
outputs are added digitally while they stream (no extra time). Per batch: S = sum_l R_l (t_prog + B n_l t_sym +
t_flight); the latency of one input is S (it waits for its batch through every round), the pipeline interval S / B.
Each tile is resident for one round, so the heater energy per batch is sum_l P_l (t_prog + B n_l t_sym + t_flight)
(P_l: heater power of all of layer l's programmed phases); its settling part is charged to ``reprogramming`` together
with one heater-DAC write per phase shifter per tile. Laser, receiver bias and buffer leakage are on for all of S.

Weight-stationary: one core per tile, all resident, never reprogrammed; layers form a pipeline: interval = the slowest
layer's n_l t_sym, latency = sum_l (n_l t_sym + t_flight); every tile's heaters, laser and receivers are always on.
The meshes spread over ceil(area / reticle) chips.

Static energy per inference = the chip's always-on power (heaters averaged over the schedule, laser, receivers,
buffer leakage) x the wall-clock time per inference (S / B, or the interval).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError
from ..report import Chip, ComponentCost

C_LIGHT_M_S = 299_792_458.0
#: Largest light-path loss the laser model accepts, dB: beyond it the laser power of 10^(loss/10) x the detector
#: requirement is astronomically large (1e30 x) and 10^(loss/10) soon overflows; a configuration there is a mistake.
MAX_PATH_LOSS_DB = 300.0
_KIB64 = 64 * 1024


def _depth(k: int, mesh: str) -> int:
    from .mesh import mesh_depth

    return 2 * mesh_depth(k, mesh) + 1


def path_length_m(cfg: Any, k: int) -> float:
    """Light path through one core of K modes, m."""
    return _depth(k, cfg.mesh.mesh) * cfg.mzi.length_m + 2.0 * cfg.heater.length_m


def path_loss_terms_db(cfg: Any, k: int) -> dict[str, float]:
    """The light path of one K-mode core term by term, dB: ``modulator``, ``phase_shifters`` (one per MZI column
    crossed, plus the two output screens), ``couplers`` (two per MZI column), ``fibre_coupling`` and ``waveguide``
    (loss per m x :func:`path_length_m`). Their sum is :func:`path_loss_db`; ``Report.extra["chip_schedule"]`` carries
    them so the largest term of the laser budget can be read off."""
    oe = cfg.optoelectronics
    depth = _depth(k, cfg.mesh.mesh)
    return {"modulator": oe.modulator_loss_db,
            "phase_shifters": (depth + 2) * cfg.heater.loss_db,
            "couplers": depth * 2.0 * cfg.mzi.coupler_loss_db,
            "fibre_coupling": oe.coupling_loss_db,
            "waveguide": oe.waveguide_loss_db_per_m * path_length_m(cfg, k)}


def path_loss_db(cfg: Any, k: int) -> float:
    """Insertion loss of one core's light path (modulator to detector), dB: the sum of :func:`path_loss_terms_db`."""
    return float(sum(path_loss_terms_db(cfg, k).values()))


def detector_power_w(cfg: Any) -> float:
    """Optical power one detector needs at full scale, W: sensitivity x 2^output_bits."""
    oe = cfg.optoelectronics
    return oe.detector_sensitivity_w * float(1 << oe.output_bits)


def laser_power_w(cfg: Any, k: int) -> float:
    """Electrical (wall-plug) power of the continuous-wave laser of one K-mode core, W."""
    oe = cfg.optoelectronics
    loss_db = path_loss_db(cfg, k)
    if not loss_db <= MAX_PATH_LOSS_DB:
        raise ConfigError(f"the light path of a {k}-mode core loses {loss_db:.4g} dB, more than {MAX_PATH_LOSS_DB:g} dB: "
                          "no laser can feed it; check heater.loss_db, mzi.coupler_loss_db and the optoelectronics "
                          "loss fields")
    per_waveguide_w = detector_power_w(cfg) * 10.0 ** ((loss_db - oe.coupling_loss_db) / 10.0)
    if per_waveguide_w > oe.max_waveguide_power_w:
        raise ConfigError(
            f"the light path of a {k}-mode core loses {loss_db:.4g} dB, so each of its {k} input waveguides would "
            f"carry {per_waveguide_w:.3g} W of light for the detectors to resolve {oe.output_bits} bits: more than "
            f"optoelectronics.max_waveguide_power_w = {oe.max_waveguide_power_w:g} W, where silicon's two-photon "
            "absorption stops the loss budget from holding (no laser power makes this chip work); use smaller "
            "tiles (mesh.tile), a shallower mesh (clements), fewer optoelectronics.output_bits or lower losses")
    return k * detector_power_w(cfg) * 10.0 ** (loss_db / 10.0) / oe.laser_wallplug_efficiency


def heaters_per_core(k: int) -> int:
    """Phase shifters (heaters, each with its DAC) of one K-mode core: 2K(K-1) mesh + 2K screens + K attenuators."""
    return 2 * k * (k - 1) + 3 * k


def core_areas_mm2(cfg: Any, k: int) -> dict[str, float]:
    """Area of one K-mode core by component, mm^2."""
    oe, ch = cfg.optoelectronics, cfg.chip
    mzis = k * (k - 1) + k
    return {"mesh": (mzis * cfg.mzi.length_m * 2.0 * cfg.mzi.pitch_m + 2 * k * cfg.heater.length_m * cfg.mzi.pitch_m) * 1e6,
            "dac_modulator": k * (oe.dac_area_mm2 + oe.modulator_area_mm2),
            "pd_adc": k * oe.adc_area_mm2,
            "reprogramming": heaters_per_core(k) * ch.phase_dac_area_mm2,
            "laser": oe.laser_area_mm2}


def core_area_mm2(cfg: Any) -> float:
    """Area of one physical core (K = ``cfg.core_size``), mm^2."""
    return float(sum(core_areas_mm2(cfg, cfg.core_size).values()))


def buffer_area_mm2(cfg: Any) -> float:
    return cfg.chip.buffer_bytes / _KIB64 * cfg.chip.buffer_area_mm2_per_64kib


def chip_area_mm2(cfg: Any) -> float:
    """Area of one time-multiplexed chip: its cores and its buffer, mm^2."""
    return cfg.chip.cores * core_area_mm2(cfg) + buffer_area_mm2(cfg)


@dataclass(frozen=True)
class LayerTiming:
    """Schedule of one layer, per batch (time-multiplexed) or per inference (weight-stationary)."""

    rounds: int
    """Core loads (0 for a layer without tiles; 1 when weight-stationary)."""
    program_s: float
    """Settling time per round, s (0 when weight-stationary)."""
    stream_s: float
    """Compute time per round: the batch's (or one inference's) MVMs + time of flight, s."""

    @property
    def time_s(self) -> float:
        """rounds x (program + stream), s."""
        return self.rounds * (self.program_s + self.stream_s)


def layer_timing(cfg: Any, tiles: int, mvms: int) -> LayerTiming:
    """Rounds, settling and streaming time of one layer of ``tiles`` tiles and ``mvms`` MVMs per inference."""
    if tiles == 0:
        return LayerTiming(0, 0.0, 0.0)
    k = cfg.core_size
    t_sym = 1.0 / cfg.optoelectronics.conversion_rate_hz
    t_flight = path_length_m(cfg, k) * cfg.mzi.group_index / C_LIGHT_M_S
    if cfg.chip.mode == "weight_stationary":
        return LayerTiming(1, 0.0, mvms * t_sym + t_flight)
    ch = cfg.chip
    return LayerTiming(-(-tiles // ch.cores), ch.settle_s, ch.batch_size * mvms * t_sym + t_flight)


def digital_counts(layer: Any, counts: dict[str, float], cfg: Any) -> dict[str, float]:
    """Digital actions per inference: partial-output additions, nonlinearities, buffer bits."""
    ch = cfg.chip
    outputs = layer.shape[0] * layer.mvms_per_inference if counts["tiles"] else 0
    return {"accumulations": float(counts["adc_conversions"]), "nonlinearities": float(outputs),
            "buffer_bits": float(counts["dac_conversions"] * ch.activation_bits
                                 + 2 * counts["adc_conversions"] * ch.partial_sum_bits + outputs * ch.activation_bits)}


def digital_energy_j(dig: dict[str, float], cfg: Any) -> float:
    ch = cfg.chip
    return (dig["accumulations"] * ch.accumulate_energy_j + dig["nonlinearities"] * ch.nonlinearity_energy_j
            + dig["buffer_bits"] * ch.buffer_energy_per_bit_j)


def chip_cost(cfg: Any, layers: list[dict[str, Any]], macs: int) -> tuple[Chip, dict[str, Any]]:
    """The chip running the schedule. ``layers``: per layer a dict with ``tiles``, ``heater_w`` (heater power of
    all its programmed phases), ``timing`` (:class:`LayerTiming`), ``dynamic`` (component -> J per inference of the
    per-action components: dac_modulator, pd_adc, digital) and ``phase_writes`` (heater DAC writes per batch).
    Returns the :class:`Chip` and the schedule as a dict (``Report.extra["chip_schedule"]``)."""
    ch, oe = cfg.chip, cfg.optoelectronics
    k = cfg.core_size
    tm = ch.mode == "time_multiplexed"
    per_core = core_areas_mm2(cfg, k)
    total_tiles = sum(l["tiles"] for l in layers)
    cores = ch.cores if tm else total_tiles
    batch = ch.batch_size if tm else 1
    dyn: dict[str, float] = {}
    for l in layers:
        for name, e in l["dynamic"].items():
            dyn[name] = dyn.get(name, 0.0) + e
    if tm:
        s = sum(l["timing"].time_s for l in layers)  # per batch
        latency, interval = s, s / batch
        heat_compute = sum(l["heater_w"] * l["timing"].stream_s for l in layers) / batch
        heat_settle = sum(l["heater_w"] * l["timing"].program_s for l in layers) / batch
        writes = sum(l["phase_writes"] for l in layers) / batch
        heater_static = (heat_compute + heat_settle) / interval if interval > 0 else 0.0
        area_cores = cores * sum(per_core.values())
        chips = 1
        tiles_used = min(ch.cores, max((l["tiles"] for l in layers), default=0))
        tiles_available = ch.cores
    else:
        stages = [l["timing"].stream_s for l in layers if l["tiles"]]
        latency = float(sum(stages))
        t_sym = 1.0 / oe.conversion_rate_hz
        interval = max((l["mvms"] * t_sym for l in layers if l["tiles"]), default=0.0)
        heater_static = float(sum(l["heater_w"] for l in layers))
        heat_compute, heat_settle, writes = heater_static * interval, 0.0, 0.0
        area_cores = total_tiles * sum(per_core.values())
        chips = max(1, math.ceil((area_cores + buffer_area_mm2(cfg)) / ch.reticle_area_mm2)) if total_tiles else 1
        if total_tiles and sum(per_core.values()) > ch.reticle_area_mm2:
            raise ConfigError(f"one {k}-mode mesh pair ({sum(per_core.values()):.4g} mm^2) exceeds "
                              f"chip.reticle_area_mm2 = {ch.reticle_area_mm2:g}")
        tiles_used = tiles_available = total_tiles
    laser_w = cores * laser_power_w(cfg, k)
    rx_w = cores * k * oe.receiver_static_power_w
    buf_w = chips * ch.buffer_bytes / _KIB64 * ch.buffer_leakage_w_per_64kib
    parts = {  # (energy per inference, static power, area)
        "heaters": (heat_compute, heater_static, cores * per_core["mesh"]),
        "reprogramming": (heat_settle + writes * ch.phase_dac_energy_j, 0.0, cores * per_core["reprogramming"]),
        "laser": (laser_w * interval, laser_w, cores * per_core["laser"]),
        "receivers": (rx_w * interval, rx_w, 0.0),
        "dac_modulator": (dyn.get("dac_modulator", 0.0), 0.0, cores * per_core["dac_modulator"]),
        "pd_adc": (dyn.get("pd_adc", 0.0), 0.0, cores * per_core["pd_adc"]),
        "digital": (dyn.get("digital", 0.0) + buf_w * interval, buf_w, chips * buffer_area_mm2(cfg)),
    }
    breakdown = {n: ComponentCost(energy_j=e, static_power_w=p, area_mm2=a) for n, (e, p, a) in parts.items()}
    chip = Chip(chips=chips, tiles_used=int(tiles_used), tiles_available=int(tiles_available), latency_s=latency,
                pipeline_interval_s=interval, energy_per_inference_j=sum(c.energy_j for c in breakdown.values()),
                static_power_w=sum(c.static_power_w for c in breakdown.values()),
                area_mm2=sum(c.area_mm2 for c in breakdown.values()), macs_per_inference=int(macs),
                breakdown=breakdown)
    sched = {"mode": ch.mode, "cores": int(cores), "core_size": int(k), "batch_size": int(batch),
             "settle_s": ch.settle_s if tm else 0.0, "path_loss_db": path_loss_db(cfg, k),
             "path_loss_terms_db": path_loss_terms_db(cfg, k),
             "detector_power_w": detector_power_w(cfg), "laser_power_per_core_w": laser_power_w(cfg, k),
             "rounds": [int(l["timing"].rounds) for l in layers],
             "layer_time_s": [float(l["timing"].time_s) for l in layers],
             "reprogramming_time_fraction": (sum(l["timing"].rounds * l["timing"].program_s for l in layers)
                                             / latency if tm and latency > 0 else 0.0),
             "buffer_required_bytes": int(batch * max((l["activation_values"] for l in layers), default=0)
                                          * ch.partial_sum_bits // 8)}
    return chip, sched
