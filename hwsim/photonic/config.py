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
  (2017): SVD of each weight matrix onto two meshes and a column of attenuating MZIs (Fig. 1). The built chip (56 MZIs,
  Harris's thermo-optic heaters, OpSIS foundry; arXiv:1610.02365 main text): "measured fidelity for the 720 OIU and
  DMMC cores ... 99.8 +- 0.003 %", limited by the "16-bit voltage resolution per channel" of its drivers, photodetection
  noise and thermal crosstalk that "effectively reduces the number of bits of resolution for setting phases";
  Fig. 3(a) there simulates accuracy against the phase-encoding error sigma_Phi. See :func:`built_chip_noise`.
* [Bristow07] A. D. Bristow, N. Rotenberg, H. M. van Driel, "Two-photon absorption and Kerr coefficients of silicon
  for 850-2200 nm", Appl. Phys. Lett. 90, 191104 (2007): beta_TPA = 0.79 cm/GW at 1.55 um.
* [Fang11] Q. Fang, J. Song, X. Luo, M. Yu, G. Lo and Y. Liu, "Mode-size converter with high coupling efficiency and
  broad bandwidth", Opt. Express 19, 21588 (2011), abstract: fiber-to-chip coupling efficiency > 80 % (TE) and
  > 70 % (TM) per facet at 1600 nm, i.e. 0.97 dB and 1.55 dB.
* [LT] H. Zhu et al., "Lightening-Transformer: a dynamically-operated optically-interconnected photonic Transformer
  accelerator", HPCA 2024; its published simulator (github.com/zhuhanqing/Lightening-Transformer, commit 642cab0),
  ``hardware_simulator/params/device_params/default.yaml`` (device table: photodetector sensitivity -25 dBm, power
  1.1 mW; TIA 3 mW; directional coupler 0.33 dB; laser wall-plug efficiency 0.2, 400 x 300 um; MZI modulator
  260 x 20 um; precision 4 bit; 4 tiles x 2 cores), ``hardware/DAC.py`` (8-bit 14 GS/s DAC, 50 mW, 11,000 um^2)
  and ``hardware/ADC.py`` (8-bit 10 GS/s SAR ADC, 14.8 mW, 2,850 um^2); its laser model
  (``hardware/photonic_MZI.py``, ``cal_laser_power``): P = sensitivity x outputs x 10^(loss/10) x 2^bits / wall-plug.
* [Vlasov04] Y. A. Vlasov and S. J. McNab, "Losses in single-mode silicon-on-insulator strip waveguides and bends",
  Opt. Express 12, 1622 (2004), abstract: 3.6 +- 0.1 dB/cm propagation loss (445 x 220 nm strip, 1.5 um).
* [Jahani18] S. Jahani et al., "Controlling evanescent waves using silicon photonic all-dielectric metamaterials for
  dense integration", Nat. Commun. 9, 1893 (2018), abstract: 3.7 +- 1.0 dB/cm, "comparable to those of silicon strip
  waveguides". [Selvaraja09] S. K. Selvaraja et al., "Low-loss amorphous silicon-on-insulator technology for photonic
  integrated circuitry", Opt. Commun. 282, 1767 (2009), abstract (amorphous Si, 193 nm lithography): 3.46 dB/cm
  photonic wires (480 x 220 nm), 1.34 dB/cm ridge waveguides. Strip waveguides (the ones MZIs, bends and heaters use)
  sit at 3-4 dB/cm in these measurements; 1-2 dB/cm is a rib/ridge figure. 3.6 dB/cm stays.
* [Horowitz14] M. Horowitz, "Computing's energy problem (and what we can do about it)", ISSCC 2014, Fig. 1.1.9
  (45 nm): 32-bit integer add 0.1 pJ; 64-bit read of an 8 KB SRAM 10 pJ.
* [ISAAC] A. Shafiee et al., ISCA 2016, Table 6: eDRAM buffer 64 KB in 0.083 mm^2. [PUMA] A. Ankit et al.,
  ASPLOS 2019, Table 3: 64 KB eDRAM leakage 0.46 mW (the values hwsim's ReRAM back-end uses too).
* [IRDS] the maximum exposure field of a lithography scanner, 26 mm x 33 mm = 858 mm^2 (IRDS 2020 Lithography,
  Table LITH-1 "exposure field"): one chip's area limit without stitching.

Laser budget audit (issue 11; LeNet-300-100 on the default 8 cores of 16 x 16, 35.0 dB per core,
:func:`hwsim.photonic.chip.path_loss_terms_db`): couplers 66 x 0.33 = 21.8 dB, phase shifters 35 x 0.23 = 8.1 dB,
waveguide 3.0 dB, modulator 1.2 dB, fibre coupling 1.0 dB. Each detector needs sensitivity x 2^bits at its full scale
and the laser feeds K of them: 16 x 50.6 uW x 10^3.5 / 0.2 = 12.8 W per core, 103 W for 8 cores. Two things this does
not change: (1) one laser split 8 ways instead of 8 lasers: the detectors still need the same photons, so the optical
power is the same plus the splitter's excess loss (sharing saves laser area, not power); (2) the full-scale
requirement per detector is LT's model: a unitary mesh conserves power, so with the input spread over K modes each
output receives 1/K of the light on average; a detector scaled to the whole laser (power routed to one output) would
need K x less laser but typical outputs would then use 1/K of its range (log2 K = 4 bits lost at K = 16); the laser
term stays K x sensitivity x 2^bits. The Sigma attenuators and inputs below full amplitude lose further power that the
model does not charge (it is optimistic there), and LT's -25 dBm is quoted at its 5 GHz clock (hwsim runs 10 GS/s;
thermal-noise-limited sensitivity worsens ~1.5 dB). The term least supported by a measurement is the coupler: LT's
0.33 dB per directional coupler comes with no source in LT's files (nor in SimPhony's coupler tables, which list
0.15-0.5 dB with empty references); every 0.1 dB per coupler moves the 16 x 16 laser by 10^0.66 = 4.6x. Measured
meshes bound the MZI column (2 couplers + a phase shifter, 0.89 dB here) on both sides without pinning it: a 16 x 16
silicon MZI switch, ~6.7 dB on chip over 7 stages in its all-cross state, ~1 dB per stage including waveguide
crossings and p-i-n phase shifters (L. Lu et al., Opt. Express 24, 9295 (2016),
abstract); a 20-mode silicon-nitride processor, 2.9 dB over ~20 MZI columns, <= 0.15 dB per column (C. Taballione et
al., Quantum 7, 1071 (2023), abstract; a lower-loss platform than silicon strip waveguides).
Heaters: P_pi = 24.77 mW is [Harris14]'s measurement (no thermal undercut); a programmed LeNet-300-100 tile draws 8.12
W on average (328 P_pi over its 528 phase shifters, a mean single-arm phase of 0.62 pi), so 8 resident cores are ~65
W, whatever the laser does. Static power of the default chip, 168 W = laser 103 W + heaters 64 W + receivers 0.5 W, is
therefore above the issue's "watts to tens of watts" on cited numbers; the test
``tests/photonic/test_photonic_chip_audit.py`` writes the budget out term by term.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar

from .. import config as C

MESHES = ("clements", "reck")
SVD_SIGNS = ("canonical", "lapack")
HEATER_MODES = ("standard", "push_pull")
CHIP_MODES = ("time_multiplexed", "weight_stationary")
LN2 = 0.6931471805599453
MAX_TILE = 256


@dataclass(frozen=True)
class MeshConfig:
    """How weight matrices are cut and which mesh implements each unitary."""

    mesh: str = "clements"
    """Mesh topology, "clements" (rectangular, depth K [Clements16]) or "reck" (triangular, depth 2K-3 [Reck94])."""
    tile: int = 16
    """Tile size K: W is cut into K x K tiles (padded with zeros), each on its own pair of K-mode meshes."""
    svd_signs: str = "canonical"
    """Which of a tile's equally valid SVDs the meshes implement (the sign of each singular pair, and bases of
    repeated singular values, set the programmed phases and so the heater power). "canonical": the form of
    :func:`hwsim.photonic._svd.canonicalize`, fixed by the tile alone (Reports do not depend on the SVD routine).
    "lapack": numpy's LAPACK SVD as it returns them, the mapper before that form (issue 16): reproduces earlier
    figures, e.g. weight-stationary LeNet-300-100's 8,696.5 W of heaters (8,675.1 W canonical, -0.25 %), to the
    rounding of the machine's LAPACK build; every stack goes through LAPACK."""

    TOML_TABLE: ClassVar[str] = "mesh"

    def __post_init__(self) -> None:
        C.one_of(self, "mesh", MESHES, what="mesh")
        C.one_of(self, "svd_signs", SVD_SIGNS, what="SVD sign convention")
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
    offset_sigma_rad: float = 0.0
    """Standard deviation of each phase shifter's fabrication phase offset, rad (0 = the ideal chip). A heater that
    is off leaves its phase at the offset; programming phi costs P_pi x wrap(phi - offset)/pi (push-pull: |.|/pi)."""
    offset_seed: int = 0
    """Seed of the offsets (one draw per physical phase shifter: per core when time-multiplexed, per tile's mesh
    pair when weight-stationary; :func:`hwsim.photonic.offsets.layer_offsets`)."""

    TOML_TABLE: ClassVar[str] = "heater"

    def __post_init__(self) -> None:
        C.one_of(self, "mode", HEATER_MODES, what="heater mode")
        C.positive(self, "p_pi_w", "length_m")
        C.nonneg(self, "loss_db", "offset_sigma_rad")
        C.int_in(self, "offset_seed", 0, 2**63 - 1, what="offset seed")


@dataclass(frozen=True)
class MZIConfig:
    """Geometry and passive loss of one Mach-Zehnder interferometer."""

    coupler_loss_db: float = 0.33
    """Excess loss of one 50:50 directional coupler, dB. [LT] default.yaml, direction_coupler.insertion_loss (LT
    states no measurement behind it). Two per MZI column: the largest term of the default laser budget (module
    docstring, "Laser budget audit")."""
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
    modulator_loss_db: float = 1.2
    """Insertion loss of the input MZI modulator on the light path, dB. [LT] default.yaml mzi_modulator."""
    modulator_energy_j: float = 200e-15
    """Modulator drive energy per input symbol, J. [Baehr-Jones12] abstract: 200 fJ/bit at 20 Gb/s."""
    dac_energy_j: float = 50e-3 / 14e9
    """DAC energy per input conversion, J: [LT] hardware/DAC.py, an 8-bit 14 GS/s DAC at 50 mW = 3.57 pJ."""
    adc_energy_j: float = 2.6e-12
    """Photodetector + TIA + ADC energy per output conversion, J. Assumption: Walden figure of merit of
    ~10 fJ per conversion step for 8-bit multi-GS/s ADCs, 2^8 steps."""
    detector_sensitivity_w: float = 10 ** (-25 / 10) * 1e-3
    """Optical power a photodetector needs for one bit of output precision, W: -25 dBm, [LT] default.yaml
    photo_detector.sensitivity. The full-scale requirement is this x 2^output_bits ([LT] laser model)."""
    output_bits: int = 4
    """Output precision the detectors must resolve, bits: the laser grows as 2^bits ([LT] laser model; [LT]
    default.yaml precision 4 bit). At 8 bits a 16 x 16 Clements core needs ~16x the laser power of 4 bits."""
    waveguide_loss_db_per_m: float = 360.0
    """Propagation loss of the strip waveguides along the light path, dB/m. [Vlasov04] abstract: 3.6 dB/cm;
    [Jahani18] and [Selvaraja09]: 3.5-3.7 dB/cm is typical of strip waveguides (1-2 dB/cm is for rib/ridge)."""
    receiver_static_power_w: float = 4.1e-3
    """Always-on bias of one output channel (photodetector 1.1 mW + TIA 3 mW), W. [LT] default.yaml."""
    dac_area_mm2: float = 0.011
    """Area of one input DAC, mm^2. [LT] hardware/DAC.py: 11,000 um^2."""
    adc_area_mm2: float = 0.00285
    """Area of one output ADC, mm^2. [LT] hardware/ADC.py: 2,850 um^2."""
    modulator_area_mm2: float = 260e-3 * 20e-3
    """Area of one input MZI modulator, mm^2. [LT] default.yaml mzi_modulator: 260 x 20 um."""
    laser_area_mm2: float = 0.4 * 0.3
    """Area of one laser (one per core or per weight-stationary mesh pair), mm^2. [LT] default.yaml: 400 x 300 um."""
    laser_wallplug_efficiency: float = 0.2
    """Electrical-to-optical efficiency of the laser. [LT] default.yaml laser.wall_plug_eff 0.2 (LT cites no
    measurement; assumption: typical for III-V lasers coupled to silicon)."""
    max_waveguide_power_w: float = 1.0
    """Most optical power one input waveguide may carry for the linear loss budget to hold, W. [Bristow07]: silicon's
    two-photon absorption coefficient is 0.79 cm/GW at 1.55 um; in a strip waveguide of ~0.1 um^2 effective area
    (assumption: 450 x 220 nm) it adds beta P / A_eff = 0.79 / cm per W, as much as the 3.6 dB/cm linear loss
    (``waveguide_loss_db_per_m``) at ~1 W, before free-carrier absorption. A configuration whose laser budget needs
    more is refused (it would not draw the power computed; it would not work)."""
    coupling_loss_db: float = 1.0
    """Fiber/laser-to-chip coupling loss, dB. [Fang11] abstract: cantilevered edge (mode-size) converter on SOI,
    > 80 % (TE, 0.97 dB) and > 70 % (TM, 1.55 dB) per facet at 1600 nm (cleaved fiber, index-matching oil)."""

    TOML_TABLE: ClassVar[str] = "optoelectronics"

    def __post_init__(self) -> None:
        C.positive(self, "conversion_rate_hz", "detector_sensitivity_w", "laser_wallplug_efficiency",
                   "max_waveguide_power_w")
        C.nonneg(self, "modulator_energy_j", "dac_energy_j", "adc_energy_j", "coupling_loss_db",
                 "waveguide_loss_db_per_m", "receiver_static_power_w", "modulator_loss_db", "dac_area_mm2", "adc_area_mm2",
                 "modulator_area_mm2", "laser_area_mm2")
        C.int_in(self, "output_bits", 1, 16, what="output precision")
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
class ChipConfig:
    """The chip the tiles run on (DESIGN.md, "Chip level"): a few physical K x K cores reprogrammed tile after tile
    (time-multiplexed, the default), or one mesh pair per tile, nothing reprogrammed (weight-stationary, CHAMP's
    SC-IPNN assumption: an explicit mode for small networks and for comparison with CHAMP-style studies)."""

    mode: str = "time_multiplexed"
    """"time_multiplexed": ``cores`` physical cores per chip, each layer's tiles loaded ``cores`` at a time (rounds),
    every round streaming the whole batch; "weight_stationary": one physical mesh pair per tile, all resident."""
    cores: int = 8
    """Physical cores per chip (each a K x K mesh pair, attenuator column, modulator/DAC row, detector/ADC row).
    [LT] default.yaml arch: 4 tiles x 2 cores = 8 (Shen et al. 2017 reprogrammed one core per layer)."""
    core_size: int = 0
    """Modes K of a physical core; 0 = the tile size ``mesh.tile``. A tile may not be larger than a core."""
    batch_size: int = 256
    """Inferences streamed through each round of programmed cores (reprogramming amortised over them).
    Assumption: a serving batch; latency of one input grows with it, the pipeline interval shrinks."""
    heater_bandwidth_hz: float = 130e3
    """-3 dB modulation bandwidth of a thermo-optic heater, Hz. [Harris14] Sec. 3: 130 kHz; first-order thermal
    response, time constant 1 / (2 pi f_3dB) = 1.22 us."""
    settle_bits: int = 8
    """A reprogrammed phase settles to within half an LSB of 2 pi / 2^settle_bits before the round computes: a step of
    up to 2 pi takes (settle_bits + 1) ln 2 time constants. Assumption: 8-bit phase precision (0.012 rad)."""
    phase_dac_energy_j: float = 50e-3 / 14e9
    """Energy of one heater DAC write when a core is reprogrammed, J. [LT] hardware/DAC.py (the same 8-bit DAC LT
    assigns to every MZI), 3.57 pJ: an upper bound for a slow heater driver."""
    phase_dac_area_mm2: float = 0.011
    """Area of one heater DAC (one per phase shifter of a core), mm^2. [LT] hardware/DAC.py, 11,000 um^2."""
    accumulate_energy_j: float = 0.1e-12
    """Digital addition of one partial tile output into its accumulator, J. [Horowitz14] 32-bit add, 0.1 pJ."""
    nonlinearity_energy_j: float = 0.1e-12
    """Nonlinearity (ReLU: one compare) and bias add per layer output, J. Assumption: one 32-bit add [Horowitz14]."""
    buffer_energy_per_bit_j: float = 10e-12 / 64
    """Activation buffer access energy per bit, J. [Horowitz14] 8 KB SRAM, 64-bit read 10 pJ."""
    buffer_bytes: int = 2 * 1024 * 1024
    """Activation buffer per chip (inputs and partial sums of a batch), bytes. Assumption: 2 MiB."""
    buffer_area_mm2_per_64kib: float = 0.083
    """Buffer area per 64 KiB, mm^2. [ISAAC] Table 6 eDRAM."""
    buffer_leakage_w_per_64kib: float = 0.46e-3
    """Buffer leakage per 64 KiB, W. [PUMA] Table 3 eDRAM."""
    activation_bits: int = 8
    """Bits of one buffered input or output activation. Assumption: 8-bit DACs ([LT] in_bit 8)."""
    partial_sum_bits: int = 16
    """Bits of one buffered partial sum (read and written per partial tile output). Assumption."""
    reticle_area_mm2: float = 858.0
    """Area limit of one chip, mm^2 ([IRDS] 26 x 33 mm). Time-multiplexed: a larger chip is a configuration error;
    weight-stationary: the meshes spread over ceil(area / limit) chips."""

    TOML_TABLE: ClassVar[str] = "chip"

    def __post_init__(self) -> None:
        C.one_of(self, "mode", CHIP_MODES, what="chip mode")
        C.int_in(self, "cores", 1, 1 << 20, what="physical cores per chip")
        C.int_in(self, "core_size", 0, MAX_TILE, what="core size K (0 = mesh.tile)")
        C.int_in(self, "batch_size", 1, 1 << 30, what="batch size")
        C.int_in(self, "settle_bits", 1, 24, what="phase settling precision")
        C.int_in(self, "activation_bits", 1, 64, what="activation bits")
        C.int_in(self, "partial_sum_bits", 1, 64, what="partial-sum bits")
        C.int_in(self, "buffer_bytes", 0, 1 << 40, what="buffer size")
        C.positive(self, "heater_bandwidth_hz", "reticle_area_mm2")
        C.nonneg(self, "phase_dac_energy_j", "phase_dac_area_mm2", "accumulate_energy_j", "nonlinearity_energy_j",
                 "buffer_energy_per_bit_j", "buffer_area_mm2_per_64kib", "buffer_leakage_w_per_64kib")

    @property
    def settle_s(self) -> float:
        """Time for a reprogrammed heater to settle, s: (settle_bits + 1) ln 2 / (2 pi f_3dB)."""
        return (self.settle_bits + 1) * LN2 / (2.0 * 3.141592653589793 * self.heater_bandwidth_hz)


@dataclass(frozen=True)
class PhotonicConfig:
    """Everything the photonic back-end needs."""

    mesh: MeshConfig = field(default_factory=MeshConfig)
    heater: HeaterConfig = field(default_factory=HeaterConfig)
    mzi: MZIConfig = field(default_factory=MZIConfig)
    optoelectronics: OptoelectronicsConfig = field(default_factory=OptoelectronicsConfig)
    noise: NoiseConfig = field(default_factory=NoiseConfig)
    chip: ChipConfig = field(default_factory=ChipConfig)
    preset: str | None = None
    """Name of the preset this configuration came from (None for a hand-built one)."""

    def __post_init__(self) -> None:
        C.root(self)
        if self.chip.core_size and self.mesh.tile > self.chip.core_size:
            raise C.FieldError("mesh", "tile", f"({self.mesh.tile}) is larger than a physical core: chip.core_size = "
                               f"{self.chip.core_size}; allowed: mesh.tile <= {self.chip.core_size}, or chip.core_size "
                               "= 0 (cores sized to the tile)")
        if self.chip.mode == "time_multiplexed":
            from .chip import chip_area_mm2, core_area_mm2

            area = chip_area_mm2(self)
            if area > self.chip.reticle_area_mm2:
                fit = int((self.chip.reticle_area_mm2 - (area - self.chip.cores * core_area_mm2(self)))
                          // core_area_mm2(self))
                raise C.FieldError("chip", "cores", f"({self.chip.cores}) x {core_area_mm2(self):.4g} mm^2 per core "
                                   f"plus the buffer = {area:.4g} mm^2 exceeds chip.reticle_area_mm2 = "
                                   f"{self.chip.reticle_area_mm2:g}; allowed: chip.cores <= {max(fit, 0)}")

    @property
    def core_size(self) -> int:
        """Modes K of a physical core (``chip.core_size``, or the tile size)."""
        return self.chip.core_size or self.mesh.tile

    def __str__(self) -> str:
        return C.describe(self)


#: Phase error of the built chip, rad: see :func:`built_chip_noise`.
BUILT_CHIP_PHASE_NOISE_RAD = 0.077
#: Heater DAC resolution of the modelled chip, bits: see :func:`built_chip_noise`.
BUILT_CHIP_PHASE_BITS = 8


def built_chip_noise() -> NoiseConfig:
    """The non-idealities the harris2014 presets evaluate accuracy with (``ideal`` for none).

    * ``phase_noise_rad`` = 0.077: the Gaussian phase error that, in hwsim's own mesh model (a 4-mode Reck core, every
      phase shifter perturbed, probed with single-mode inputs, fidelity sum_i sqrt(p_i q_i) of the output intensity
      distributions), gives the mean fidelity [Shen17] measured on their built chip's 720 configured cores, 99.8 %
      (1 - f = 0.0020 at 0.077 rad; ``tests/test_nonidealities.py`` re-derives it). An upper bound on the phase error
      alone: the measured infidelity also holds detection noise and coupler imbalance.
    * ``phase_bits`` = 8: the heater DAC this configuration's cost already charges (``chip.phase_dac_energy_j`` and
      ``chip.phase_dac_area_mm2`` are [LT]'s 8-bit DAC; ``chip.settle_bits`` = 8). [Shen17]'s drivers had 16-bit
      voltage resolution (a phase step of at most 2 pi / 2^15, phase going with V^2), finer than the chip modelled here.
    * No coupler imbalance (``bs_imbalance`` 0: [Shen17] gives no figure for it) and no fabrication offsets
      (``heater.offset_sigma_rad`` 0: calibrated away, as on a built chip).
    """
    return NoiseConfig(phase_noise_rad=BUILT_CHIP_PHASE_NOISE_RAD, phase_bits=BUILT_CHIP_PHASE_BITS)


def harris2014() -> PhotonicConfig:
    """Default: Harris 2014 thermo-optic heaters (single-arm), Clements meshes of 16 x 16 tiles, time-multiplexed on
    8 physical cores ([LT]'s 4 tiles x 2 cores), batch 256; accuracy with a built chip's phase error and 8-bit heater
    DACs (:func:`built_chip_noise`)."""
    return PhotonicConfig(noise=built_chip_noise(), preset="harris2014")


def ideal() -> PhotonicConfig:
    """``harris2014`` on an ideal chip: no phase error, continuous phases (the accuracy of the float network up to
    rounding; the default until 2026-12-01). Cost is that of ``harris2014``."""
    return PhotonicConfig(preset="ideal")


def harris2014_push_pull() -> PhotonicConfig:
    """Harris 2014 heaters in push-pull pairs (power goes with |phi|, phi in (-pi, pi]); built-chip noise."""
    return PhotonicConfig(heater=HeaterConfig(mode="push_pull"), noise=built_chip_noise(),
                          preset="harris2014_push_pull")


def harris2014_weight_stationary() -> PhotonicConfig:
    """Harris 2014 heaters, Clements 16 x 16 tiles, one physical mesh pair per tile (nothing reprogrammed):
    CHAMP's SC-IPNN assumption, the chip the phase-pruning experiments and the README's 8.70 kW figure describe;
    built-chip noise."""
    return PhotonicConfig(chip=ChipConfig(mode="weight_stationary"), noise=built_chip_noise(),
                          preset="harris2014_weight_stationary")


def lightening_transformer_mzi() -> PhotonicConfig:
    """[LT]'s MZI-mesh baseline (``params/device_params/Bs_mzi_8bit.yaml``): 12 x 12 Clements cores, 4 tiles x 2 cores,
    5 GHz, 8-bit inputs/outputs; phase shifter and directional coupler 0.33 dB each (default.yaml, so an MZI column
    costs 0.99 dB as LT's ``mzi.insertion_loss``), MZI modulator 1.2 dB; LT's laser model has no fibre coupling and
    no waveguide loss (both 0 here). Heaters, converters and digital costs stay hwsim's ([Harris14], [LT] DAC).
    Accuracy on an ideal chip (LT's model has no phase error).

    Against the core power LT's simulator gives its MZI baseline (``cal_core_power``: 22.17 W per 12 x 12 core at
    5 GHz, 8 bits; hwsim 28.1 W, 1.27x, ``tests/photonic/test_photonic_chip_audit.py``), every differing term: laser
    19.11 vs 22.25 W (hwsim also crosses the two output screens, 2 x 0.33 dB); heaters 0 vs ~5 W (LT sets the phase
    shifters' static power to 0; hwsim holds the programmed phases at [Harris14]'s P_pi); LT runs one 8-bit DAC per
    MZI at the clock, 132 x 17.9 mW = 2.36 W, where hwsim writes the heater DACs only when a core is reprogrammed;
    LT's "computation" 144 x 450 fJ x 5 GHz = 0.32 W has no hwsim counterpart; input modulators 450 vs 200 fJ
    ([Baehr-Jones12]); input DACs equal (3.57 pJ); ADC + detection 89 + 49 mW vs 12 x 2.6 pJ x 5 GHz + 12 x 4.1 mW
    = 156 + 49 mW; hwsim adds digital accumulation and buffers (0.48 W at one MVM per symbol)."""
    return PhotonicConfig(mesh=MeshConfig(tile=12), heater=HeaterConfig(loss_db=0.33),
                          mzi=MZIConfig(coupler_loss_db=0.33),
                          optoelectronics=OptoelectronicsConfig(conversion_rate_hz=5e9, output_bits=8,
                                                                coupling_loss_db=0.0, waveguide_loss_db_per_m=0.0),
                          chip=ChipConfig(cores=8), preset="lightening_transformer_mzi")


#: [Shen17] (arXiv:1610.02365v1, Discussion): "maintaining the phase modulator settings requires some (small) power of
#: ~10 mW per modulator on average", W: the one power figure published for that built chip (see :func:`shen2017`).
SHEN17_HOLD_POWER_PER_PHASE_SHIFTER_W = 10e-3


def shen2017() -> PhotonicConfig:
    """[Shen17]'s built chip: 4-mode SU(4) cores programmed by the Givens-rotation (Reck) algorithm, each weight matrix
    on its own mesh pair and attenuator column (the OIU + DMMC of their Fig. 2; nothing reprogrammed while it runs),
    [Harris14]'s thermo-optic phase shifters (their ref. 32: one heater per phase, single-arm), the built chip's
    noise (:func:`built_chip_noise`, derived from the same paper). Converters, laser and digital costs are hwsim's:
    the paper's test bed read its outputs with off-chip photodetectors and drove the heaters from a 240-channel
    16-bit supply, and publishes no energy for them.

    Checked against the chip's one published power figure, ~10 mW per phase shifter on average to hold the
    programmed phases (:data:`SHEN17_HOLD_POWER_PER_PHASE_SHIFTER_W`): 4 x 4 layers of Gaussian weights hold 17.6 mW
    per phase shifter here (a mean single-arm phase of 0.71 pi at P_pi = 24.77 mW; 1.76x; push-pull heaters would
    give 11.7 mW), written out in ``tests/photonic/test_photonic_chip_audit.py``. The paper's matrices were trained
    unitaries, whose phase distribution it does not publish, and "~10 mW" is a rounded figure."""
    return PhotonicConfig(mesh=MeshConfig(mesh="reck", tile=4), chip=ChipConfig(mode="weight_stationary"),
                          noise=built_chip_noise(), preset="shen2017")


def harris2014_reck() -> PhotonicConfig:
    """Harris 2014 heaters on Reck (triangular) meshes of 8 x 8 tiles; built-chip noise. Reck's depth 2N - 3
    ([Reck94]) makes the light path of a 16-mode core lose 60.5 dB, so each input waveguide would need 45 W of light
    (12 modes: 1.2 W), beyond ``optoelectronics.max_waveguide_power_w``; 8 modes lose 30 dB."""
    return PhotonicConfig(mesh=MeshConfig(mesh="reck", tile=8), noise=built_chip_noise(), preset="harris2014_reck")


#: Named presets (zero-argument constructors). The default is "harris2014".
PRESETS: dict[str, Callable[[], PhotonicConfig]] = {
    "harris2014": harris2014,
    "harris2014_push_pull": harris2014_push_pull,
    "harris2014_reck": harris2014_reck,
    "harris2014_weight_stationary": harris2014_weight_stationary,
    "lightening_transformer_mzi": lightening_transformer_mzi,
    "shen2017": shen2017,
    "ideal": ideal,
}
DEFAULT_PRESET = "harris2014"


def config_to_dict(cfg: PhotonicConfig) -> dict[str, Any]:
    """JSON-able nested dict of the resolved configuration (SI units, as in the field names)."""
    return C.to_dict(cfg, PhotonicConfig)
