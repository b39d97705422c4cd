"""Configuration of the coherent photonic (MZI mesh) accelerator: frozen dataclasses, presets, TOML.

Every default carries its unit in its name and a source (paper + section/table) or the word "assumption"
with the reasoning. Sources:

* [Harris14] N. C. Harris et al., "Efficient, compact and low loss thermo-optic phase shifter in silicon",
  Opt. Express 22, 10487 (2014), abstract and Sec. 3: P_pi = 24.77 mW, insertion loss 0.23 dB, length 61.6 um.
* [Baehr-Jones12] T. Baehr-Jones et al., "Ultralow drive voltage silicon traveling-wave modulator",
  Opt. Express 20, 12014 (2012), abstract: 200 fJ/bit RF energy at 20 Gb/s.
* [Clements16] W. R. Clements et al., Optica 3, 1460 (2016): rectangular mesh, depth N.
* [Reck94] M. Reck et al., PRL 73, 58 (1994): triangular mesh, depth 2N - 3.
* [Shen17] Y. Shen et al., "Deep learning with coherent nanophotonic circuits", Nat. Photonics 11, 441
  (2017): SVD of each weight matrix onto two meshes and a column of attenuating MZIs (Fig. 1).
* [Fang11] Q. Fang, J. Song, X. Luo, M. Yu, G. Lo and Y. Liu, "Mode-size converter with high coupling efficiency and
  broad bandwidth", Opt. Express 19, 21588 (2011), abstract: fiber-to-chip coupling efficiency > 80 % (TE) and
  > 70 % (TM) per facet at 1600 nm, i.e. 0.97 dB and 1.55 dB.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar

from .. import config as C

MESHES = ("clements", "reck")
HEATER_MODES = ("standard", "push_pull")
MAX_TILE = 256


@dataclass(frozen=True)
class MeshConfig:
    """How weight matrices are cut and which mesh implements each unitary."""

    mesh: str = "clements"
    """Mesh topology, "clements" (rectangular, depth K [Clements16]) or "reck" (triangular, depth 2K-3 [Reck94])."""
    tile: int = 16
    """Tile size K: W is cut into K x K tiles (padded with zeros), each on its own pair of K-mode meshes."""

    TOML_TABLE: ClassVar[str] = "mesh"

    def __post_init__(self) -> None:
        C.one_of(self, "mesh", MESHES, what="mesh")
        C.int_in(self, "tile", 2, MAX_TILE, what="tile size K")


@dataclass(frozen=True)
class HeaterConfig:
    """Thermo-optic phase shifters (every programmed phase is one heater)."""

    p_pi_w: float = 24.77e-3
    """Heater power for a pi phase shift, W. [Harris14] abstract / Sec. 3 (24.77 +- 0.43 mW)."""
    mode: str = "standard"
    """"standard": one heater per phase, P = p_pi * phi/pi with phi in [0, 2pi) (the usual single-arm heater).
    "push_pull": heaters on both sides so either sign is reachable: P = p_pi * |phi|/pi, phi wrapped to (-pi, pi]
    (assumption: symmetric push-pull pair, the one on the active side drawing the power)."""
    loss_db: float = 0.23
    """Insertion loss of one phase shifter, dB. [Harris14] abstract (0.23 +- 0.13 dB)."""
    length_m: float = 61.6e-6
    """Phase shifter length, m. [Harris14] abstract (61.6 um)."""

    TOML_TABLE: ClassVar[str] = "heater"

    def __post_init__(self) -> None:
        C.one_of(self, "mode", HEATER_MODES, what="heater mode")
        C.positive(self, "p_pi_w", "length_m")
        C.nonneg(self, "loss_db")


@dataclass(frozen=True)
class MZIConfig:
    """Geometry and passive loss of one Mach-Zehnder interferometer."""

    coupler_loss_db: float = 0.0
    """Excess loss of one 50:50 directional coupler, dB. Assumption: lossless couplers; [Harris14] measured the
    phase shifter only, and the phase shifters (2 per MZI on the light path) dominate the path loss."""
    length_m: float = 250e-6
    """MZI length along the light path, m. Assumption: two phase shifters of 61.6 um [Harris14] plus two
    directional couplers and bends of ~60 um each."""
    pitch_m: float = 25e-6
    """Distance between neighbouring waveguide modes (MZI width per mode), m. Assumption: typical thermal
    crosstalk-limited pitch of silicon heater arrays."""
    group_index: float = 4.2
    """Group index of the silicon strip waveguide at 1550 nm (time of flight). Assumption: textbook value for a
    500 x 220 nm silicon wire."""

    TOML_TABLE: ClassVar[str] = "mzi"

    def __post_init__(self) -> None:
        C.nonneg(self, "coupler_loss_db")
        C.positive(self, "length_m", "pitch_m", "group_index")


@dataclass(frozen=True)
class OptoelectronicsConfig:
    """Laser, modulators, detectors and data converters around the meshes."""

    conversion_rate_hz: float = 10e9
    """Symbol rate of the DACs/modulators and ADCs: one MVM per symbol, Hz. Assumption: half the 20 Gb/s
    the modulator of [Baehr-Jones12] demonstrates, a common choice for multi-GS/s 8-bit converters."""
    modulator_energy_j: float = 200e-15
    """Modulator drive energy per input symbol, J. [Baehr-Jones12] abstract: 200 fJ/bit at 20 Gb/s."""
    dac_energy_j: float = 1e-12
    """DAC energy per input conversion, J. Assumption: ~1 pJ for an 8-bit converter at 10 GS/s."""
    adc_energy_j: float = 2.6e-12
    """Photodetector + TIA + ADC energy per output conversion, J. Assumption: Walden figure of merit of
    ~10 fJ per conversion step for 8-bit multi-GS/s ADCs, 2^8 steps."""
    detector_sensitivity_w: float = 10e-6
    """Optical power a photodetector needs at full scale for the required SNR, W. Assumption: -20 dBm, typical
    for ~10 GHz germanium receivers."""
    laser_wallplug_efficiency: float = 0.2
    """Electrical-to-optical efficiency of the laser. Assumption: typical for III-V lasers coupled to silicon."""
    coupling_loss_db: float = 1.0
    """Fiber/laser-to-chip coupling loss, dB. [Fang11] abstract: cantilevered edge (mode-size) converter on SOI,
    > 80 % (TE, 0.97 dB) and > 70 % (TM, 1.55 dB) per facet at 1600 nm (cleaved fiber, index-matching oil)."""

    TOML_TABLE: ClassVar[str] = "optoelectronics"

    def __post_init__(self) -> None:
        C.positive(self, "conversion_rate_hz", "detector_sensitivity_w", "laser_wallplug_efficiency")
        C.nonneg(self, "modulator_energy_j", "dac_energy_j", "adc_energy_j", "coupling_loss_db")
        C.require(self, "laser_wallplug_efficiency", self.laser_wallplug_efficiency <= 1,
                  f"must lie in (0, 1], got {self.laser_wallplug_efficiency}")


@dataclass(frozen=True)
class NoiseConfig:
    """Non-idealities applied by :func:`hwsim.photonic.run` (a static chip instance per seed)."""

    phase_noise_rad: float = 0.0
    """Standard deviation of a Gaussian error added to every programmed phase, rad (0 = none)."""
    phase_bits: int = 0
    """Heater DAC resolution: phases are rounded to multiples of 2pi/2^bits before noise; 0 = continuous."""
    bs_imbalance: float = 0.0
    """Standard deviation of the power splitting ratio of every directional coupler around 0.5 (0 = ideal)."""

    TOML_TABLE: ClassVar[str] = "noise"

    def __post_init__(self) -> None:
        C.nonneg(self, "phase_noise_rad", "bs_imbalance")
        C.int_in(self, "phase_bits", 0, 32, what="(0 = continuous)")
        C.require(self, "bs_imbalance", self.bs_imbalance <= 0.5, f"must lie in [0, 0.5], got {self.bs_imbalance}")


@dataclass(frozen=True)
class PhotonicConfig:
    """Everything the photonic back-end needs."""

    mesh: MeshConfig = field(default_factory=MeshConfig)
    heater: HeaterConfig = field(default_factory=HeaterConfig)
    mzi: MZIConfig = field(default_factory=MZIConfig)
    optoelectronics: OptoelectronicsConfig = field(default_factory=OptoelectronicsConfig)
    noise: NoiseConfig = field(default_factory=NoiseConfig)
    preset: str | None = None
    """Name of the preset this configuration came from (None for a hand-built one)."""

    def __post_init__(self) -> None:
        C.require(self, "preset", self.preset is None or isinstance(self.preset, str),
                  f"must be a string, got {self.preset!r}")
        C.nodes(self, mesh=MeshConfig, heater=HeaterConfig, mzi=MZIConfig, optoelectronics=OptoelectronicsConfig,
                noise=NoiseConfig)

    def __str__(self) -> str:
        return C.describe(self)


def harris2014() -> PhotonicConfig:
    """Default: Harris 2014 thermo-optic heaters (single-arm), Clements meshes of 16 x 16 tiles."""
    return PhotonicConfig(preset="harris2014")


def harris2014_push_pull() -> PhotonicConfig:
    """Harris 2014 heaters in push-pull pairs (power goes with |phi|, phi in (-pi, pi])."""
    return PhotonicConfig(heater=HeaterConfig(mode="push_pull"), preset="harris2014_push_pull")


def harris2014_reck() -> PhotonicConfig:
    """Harris 2014 heaters on Reck (triangular) meshes."""
    return PhotonicConfig(mesh=MeshConfig(mesh="reck"), preset="harris2014_reck")


#: Named presets (zero-argument constructors). The default is "harris2014".
PRESETS: dict[str, Callable[[], PhotonicConfig]] = {
    "harris2014": harris2014,
    "harris2014_push_pull": harris2014_push_pull,
    "harris2014_reck": harris2014_reck,
}
DEFAULT_PRESET = "harris2014"


def config_to_dict(cfg: PhotonicConfig) -> dict[str, Any]:
    """JSON-able nested dict of the resolved configuration (SI units, as in the field names)."""
    return C.to_dict(cfg, PhotonicConfig)
