"""Configuration of the ReRAM crossbar simulator: nested frozen dataclasses, presets, TOML loading.

Units are plain SI and named in every field (``_s``, ``_j``, ``_w``, ``_hz``, ``_ohm``, ``_v``), except areas in
``mm2`` (as in :class:`hwsim.report.Report`). Every default carries its source; values that are our own choice are
marked *assumption* with the reasoning.

Sources used below:

* [ISAAC]  A. Shafiee et al., "ISAAC: a CNN accelerator with in-situ analog arithmetic in crossbars", ISCA 2016,
  Table 6 (per-component power and area of an IMA and of a tile; 8 crossbars per IMA, 12 IMAs per tile).
* [ACC]    Accelergy-Project/hwcomponents-library, ``library/isaac.py`` (per-action energies derived from [ISAAC]
  Table 6: ADC 1.666666667 pJ/conversion at 8 bit, scaled 0.79-2.38 pJ for 4-10 bit after Saberi et al. 2011;
  1-bit DAC 0.41667 pJ; shift-add 0.021 pJ; eDRAM 20.45 pJ per 256-bit access; bus 0.054 pJ/bit; router
  20.74 pJ per 256-bit transfer).
* [PUMA]   A. Ankit et al., "PUMA", ASPLOS 2019; puma-simulator ``include/constants.py`` (leakage: ADC 0.2 mW,
  DAC 0.000390625 mW, shift-add (sna) 0.005 mW, 64 KB eDRAM 0.46 mW).
* [NS]     DNN+NeuroSim V1.4 (github.com/neurosim/DNN_NeuroSim_V1.4, HEAD ac828e6; its published VGG-8 run
  ``Data/1.4_Release_test.csv`` was written by commit 9e6742c, whose ``Param.cpp`` differs: see
  :func:`neurosim_cell`) ``Param.cpp``: 128x128 sub-arrays, cellBit 1, 8 columns per ADC (column mux,
  ``numColMuxed = 8``), 5-bit ADC (``levelOutput = 32; // ... 32 levels --> 5-bit ADC``, the "1.4 update 230615"
  version; ``Inference_pytorch/inference.py`` default ``--ADCprecision 5``), R_on 100 kOhm, R_off 1.7 MOhm
  (on/off 17), read voltage 0.5 V, read pulse 10 ns, 8-bit weights and inputs (``--wl_weight 8 --wl_activate 8``).
  NeuroSim's accuracy model (``wage_quantizer.LinearQuantizeOut``) sets each ADC call's range to the min..max of
  the partial sums actually seen in that call (a software calibration); hwsim's ADC has a fixed full scale:
  ``adc.range_fraction`` of the largest possible read, or per layer from calibration inputs with
  :func:`hwsim.reram.calibrate_adc` (``hwsim evaluate --adc-calibration N``), which this preset needs (LeNet-300-100:
  71.7 % full-range, 89.6 % calibrated on 500 training images, float 89.98 %).
* [Wan22]  W. Wan et al., "A compute-in-memory chip based on resistive random-access memory" (NeuRRAM), Nature 608,
  504 (2022), Extended Data Fig. 3d: standard deviation of the conductance change after iterative write-verify
  programming, by initial conductance and time; as fitted by IBM aihwkit (``ReRamWan2022NoiseModel``,
  ``src/aihwkit/inference/noise/reram.py``; 4th-order polynomial in G / G_max, G_max = 40 uS) 1 s after programming:
  sigma(G) = 0.35 uS at G = 0, ~2.0-2.3 uS at mid-range, 1.10 uS at G_max (2.8 % of G_max), 1.73 uS = 4.3 % of G_max
  on average over [0, G_max]. See :func:`default`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace
from typing import Any, Callable, ClassVar

from .. import config as C

MAPPING_MODES = ("dense", "skip_empty", "compact", "ou")
"""Sparse-aware mapping modes (see :mod:`hwsim.reram.mapping`)."""
SIGNED_MODES = ("differential", "offset")
OU_PACKINGS = ("critical_path", "densest")
VARIATION_KINDS = ("lognormal", "gaussian")
#: Largest crossbar side and ADC sharing accepted (published arrays: 64-1024).
MAX_CROSSBAR_DIM = 4096
#: Largest conductance variation sigma accepted (published: <= 0.5).
MAX_SIGMA = 10.0

#: [ACC] ISAAC ADC energy per conversion by resolution, J (8 bit from ISAAC Table 6: 16 mW / (8 ADCs x 1.2 GS/s);
#: other resolutions scaled by Accelergy after Saberi et al. 2011).
ADC_ENERGY_BY_BITS_J = {4: 0.79e-12, 5: 0.99e-12, 6: 1.20e-12, 7: 1.42e-12, 8: 1.666666667e-12,
                        9: 1.969078145e-12, 10: 2.379022742e-12}
#: [ACC] ISAAC ADC area by resolution, mm^2 (8 bit: 9600 um^2 / 8 ADCs, [ISAAC] Table 6).
ADC_AREA_BY_BITS_MM2 = {4: 361.04e-6, 5: 476.91e-6, 6: 626.91e-6, 7: 845.18e-6, 8: 1200e-6,
                        9: 1827.911647e-6, 10: 3002.008032e-6}


def adc_energy_j(bits: int) -> float:
    """ADC energy per conversion at ``bits`` from [ACC]'s table; outside 4-10 bit scaled by 2^bits from the nearest
    end (assumption: Accelergy scales ADC energy with ``pow_base(2)`` of the resolution)."""
    if bits in ADC_ENERGY_BY_BITS_J:
        return ADC_ENERGY_BY_BITS_J[bits]
    ref = 4 if bits < 4 else 10
    return ADC_ENERGY_BY_BITS_J[ref] * 2.0 ** (bits - ref)


def adc_area_mm2(bits: int) -> float:
    """ADC area at ``bits`` from [ACC]'s table; outside 4-10 bit scaled by 2^bits (assumption, as energy)."""
    if bits in ADC_AREA_BY_BITS_MM2:
        return ADC_AREA_BY_BITS_MM2[bits]
    ref = 4 if bits < 4 else 10
    return ADC_AREA_BY_BITS_MM2[ref] * 2.0 ** (bits - ref)


# ---- technology blocks -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CrossbarConfig:
    """One crossbar array and its cells."""

    rows: int = 128
    """Wordlines (inputs) per crossbar. [ISAAC] Sec. 6 / Table 6: 128x128."""
    cols: int = 128
    """Bitlines (weight slices) per crossbar. [ISAAC] Table 6: 128x128."""
    bits_per_cell: int = 2
    """Bits stored per cell. [ISAAC] Table 6: 2 bits per cell."""
    read_time_s: float = 100e-9
    """Duration of one crossbar read (one input-bit cycle), s. [ISAAC] Sec. 5: 100 ns crossbar read."""
    read_voltage_v: float = 0.086
    """Read voltage on a driven row for a '1' input digit, V. Assumption: ISAAC gives no device voltages; 0.086 V
    with [NS]'s cell (100 kOhm / 1.7 MOhm), mid-scale conductance and input activity 0.5 reproduces ISAAC Table 6's
    crossbar power of 0.3 mW per array (2.4 mW per 8 arrays) within 1%."""
    r_on_ohm: float = 100e3
    """Low-resistance (on) state, Ohm. Assumption for ISAAC (no device data in the paper): [NS] R_on 100 kOhm."""
    r_off_ohm: float = 1.7e6
    """High-resistance (off) state, Ohm. Assumption for ISAAC: [NS] R_off 1.7 MOhm."""
    area_mm2: float = 0.0002 / 8
    """Area of one crossbar array, mm^2. [ISAAC] Table 6: 8 arrays, 0.0002 mm^2."""
    write_voltage_v: float = 2.0
    """Programming voltage across a cell, V (weight reloading only). [NS] ``Param.cpp``: ``writeVoltage = 2``."""
    write_pulse_s: float = 50e-9
    """Duration of the pulse that programs one row of cells, s (weight reloading only). Assumption: HfOx ReRAM
    SET/RESET pulses are 10-100 ns; 50 ns, one pulse per cell, no verify iterations (a lower bound)."""

    TOML_TABLE: ClassVar[str] = "crossbar"

    def __post_init__(self) -> None:
        C.int_in(self, "rows", 1, MAX_CROSSBAR_DIM, what="crossbar size (bounded before anything is allocated)")
        C.int_in(self, "cols", 1, MAX_CROSSBAR_DIM, what="crossbar size (bounded before anything is allocated)")
        C.int_in(self, "bits_per_cell", 1, 16)
        C.require(self, "bits_per_cell", self.bits_per_cell <= 8, f"must be <= 8, got {self.bits_per_cell}")
        C.positive(self, "read_time_s", "read_voltage_v", "r_on_ohm", "r_off_ohm", "write_voltage_v", "write_pulse_s")
        C.require(self, "r_off_ohm", self.r_off_ohm > self.r_on_ohm,
                  f"({self.r_off_ohm}) must exceed r_on_ohm ({self.r_on_ohm})")
        C.nonneg(self, "area_mm2")


@dataclass(frozen=True)
class PrecisionConfig:
    """Number formats of weights and inputs and how signs are encoded."""

    weight_bits: int = 16
    """Signed weight precision, bits (symmetric: integers in [-(2^(b-1)-1), 2^(b-1)-1]). [ISAAC] Sec. 4: 16 bit."""
    input_bits: int = 16
    """Unsigned input precision, bits. [ISAAC] Sec. 4: 16-bit inputs."""
    dac_bits: int = 1
    """Input bits applied per crossbar cycle. [ISAAC] Table 6: 1-bit DACs (bit-serial inputs)."""
    signed: str = "offset"
    """'differential' (G+/G- column pairs, magnitude sliced, weight_bits-1 bits) or 'offset' (weights stored as
    q + 2^(b-1), the offset removed digitally with the sum of the inputs). [ISAAC] Sec. 5 stores weights with a
    bias of 2^15 and subtracts it digitally, i.e. 'offset'."""

    TOML_TABLE: ClassVar[str] = "precision"

    def __post_init__(self) -> None:
        C.pos_int(self, "weight_bits", "input_bits", "dac_bits")
        C.int_in(self, "weight_bits", 2, 16)
        C.int_in(self, "input_bits", 1, 16)
        C.require(self, "dac_bits", self.dac_bits <= self.input_bits,
                  f"({self.dac_bits}) must not exceed input_bits ({self.input_bits})")
        C.one_of(self, "signed", SIGNED_MODES)


@dataclass(frozen=True)
class AdcConfig:
    """Column analog-to-digital converters."""

    bits: int = 8
    """Resolution, bits. [ISAAC] Table 6: 8-bit ADC."""
    cols_per_adc: int = 128
    """Adjacent columns sharing one ADC. [ISAAC] Table 6: 8 ADCs per IMA of 8 crossbars, one per 128 columns."""
    sample_rate_hz: float = 1.2e9
    """Conversions per second of one ADC. [ISAAC] Table 6: 1.2 GS/s."""
    energy_per_conversion_j: float | None = None
    """Energy per conversion, J; None takes [ACC]'s table at ``bits`` (8 bit: 1.6667 pJ)."""
    leakage_w: float = 0.2e-3
    """Leakage per ADC, W. [PUMA] constants.py adc_pow_leak 0.2 mW (ISAAC lists none)."""
    area_mm2: float | None = None
    """Area per ADC, mm^2; None takes [ACC]'s table at ``bits`` (8 bit: 0.0012 mm^2 = 0.0096 / 8, [ISAAC])."""
    range_fraction: float = 1.0
    """Full scale of the ADC as a fraction of the largest possible column sum of one read; < 1 clips large sums
    to gain resolution (assumption: a free design knob, 1.0 = never clip)."""
    flip_encoding: bool = False
    """[ISAAC] Sec. 5 data encoding: a column whose weights sum to more than half the maximum stores the flipped
    weights (max - w), and the digital periphery undoes the flip, so every read is at most half the full scale and
    the ADC needs one bit less than the sum's width. Modelled as one extra bit of effective ADC resolution (exact
    for ideal devices, where both give the exact read); energy and area stay those of ``bits``."""

    includes_array_energy: bool = False
    """The energy per conversion already includes the cell (column) current drawn while the column is sensed, so
    the crossbar's ``V^2 G t`` array energy is not charged again. [NS9] ``MultilevelSenseAmp::CalculatePower``
    (current mode) adds ``GetColumnPower(R_column) x t_sense`` to every conversion and ``SubArray::CalculatePower``
    drops the bit-line ``C V^2`` term for that reason ("already considered in multilevelsenseamp")."""

    TOML_TABLE: ClassVar[str] = "adc"

    def __post_init__(self) -> None:
        C.pos_int(self, "bits")
        C.int_in(self, "cols_per_adc", 1, MAX_CROSSBAR_DIM, what="columns per ADC")
        C.int_in(self, "bits", 1, 16)
        C.positive(self, "sample_rate_hz", "range_fraction")
        C.require(self, "range_fraction", self.range_fraction <= 1.0, f"must lie in (0, 1], got {self.range_fraction!r}")
        C.nonneg(self, "leakage_w", *(n for n in ("energy_per_conversion_j", "area_mm2") if getattr(self, n) is not None))
        C.flag(self, "flip_encoding", "includes_array_energy")

    @property
    def effective_bits(self) -> int:
        """Resolution the reads see: ``bits``, plus one with ISAAC's flipped encoding."""
        return self.bits + int(self.flip_encoding)

    @property
    def conversion_energy_j(self) -> float:
        return adc_energy_j(self.bits) if self.energy_per_conversion_j is None else float(self.energy_per_conversion_j)

    @property
    def adc_area_mm2(self) -> float:
        return adc_area_mm2(self.bits) if self.area_mm2 is None else float(self.area_mm2)


@dataclass(frozen=True)
class Component:
    """A peripheral component: energy per action, leakage and area per instance, instances per crossbar."""

    energy_per_action_j: float = 0.0
    """Energy of one action (conversion, sample, bit, access), J."""
    leakage_w: float = 0.0
    """Leakage power of one instance, W."""
    area_mm2: float = 0.0
    """Area of one instance, mm^2."""
    instances_per_crossbar: float = 1.0
    """Instances attributed to one crossbar (fractions = shared by several crossbars). Ignored for DACs (one per
    row) and sample-and-holds (one per column)."""

    TOML_TABLE: ClassVar[str] = "peripherals.<component>"  # one of PeripheralsConfig's tables; exact when merged

    def __post_init__(self) -> None:
        C.nonneg(self, "energy_per_action_j", "leakage_w", "area_mm2", "instances_per_crossbar")


# Operating point of [ISAAC] used to turn its Table 6 powers into energies per action (as [ACC] does):
# one crossbar cycle = 128 columns / 1.2 GS/s = 106.67 ns; one 16-bit MVM = 16 cycles = 1.7067 us; per crossbar and
# MVM 128 x 16 input bits and 16 outputs x 16 bits move through the buffers.
_ISAAC_CYCLE_S = 128 / 1.2e9
_ISAAC_MVM_S = 16 * _ISAAC_CYCLE_S
_ISAAC_IN_BITS = 128 * 16
_ISAAC_OUT_BITS = 16 * 16


@dataclass(frozen=True)
class PeripheralsConfig:
    """Digital and mixed-signal periphery of a crossbar; every entry is a :class:`Component`."""

    dac: Component = field(default_factory=lambda: Component(
        energy_per_action_j=0.41667e-12, leakage_w=0.390625e-6, area_mm2=0.00017 / 1024))
    """1-bit DAC, one per row; action = one conversion (one driven row in one cycle). Energy [ACC] 0.41667 pJ
    (= [ISAAC] 4 mW / 1024 DACs x 106.67 ns); leakage [PUMA] 0.39 uW; area [ISAAC] 0.00017 mm^2 per 8x128."""
    sample_hold: Component = field(default_factory=lambda: Component(
        energy_per_action_j=10e-6 / 1024 * _ISAAC_CYCLE_S, leakage_w=0.0, area_mm2=0.00004 / 1024))
    """Sample-and-hold, one per column; action = one sampled column. Energy: [ISAAC] 10 uW per 8x128 S+H spread
    over one 106.67 ns cycle (derived, as [ACC] derives the others); area [ISAAC] 0.00004 mm^2 per 8x128."""
    shift_add: Component = field(default_factory=lambda: Component(
        energy_per_action_j=0.021e-12, leakage_w=5e-6, area_mm2=0.00024 / 4, instances_per_crossbar=0.5))
    """Shift-and-add unit; action = merging one ADC output. Energy [ACC] 0.021 pJ; leakage [PUMA] sna 5 uW;
    [ISAAC] Table 6: 4 units (0.00024 mm^2) per IMA of 8 crossbars."""
    input_register: Component = field(default_factory=lambda: Component(
        energy_per_action_j=1.24e-3 / 8 * _ISAAC_MVM_S / _ISAAC_IN_BITS, area_mm2=0.0021 / 8))
    """IMA input register (2 KB per 8 crossbars); action = one input bit delivered to a driven row. Energy derived
    from [ISAAC] Table 6 (1.24 mW per IMA) at its operating point (16384 bits per 1.7067 us)."""
    output_register: Component = field(default_factory=lambda: Component(
        energy_per_action_j=0.23e-3 / 8 * _ISAAC_MVM_S / _ISAAC_OUT_BITS, area_mm2=0.00077 / 8))
    """IMA output register (256 B per 8 crossbars); action = one output bit of one crossbar. Energy derived from
    [ISAAC] Table 6 (0.23 mW per IMA, 2048 bits per 1.7067 us)."""
    buffer: Component = field(default_factory=lambda: Component(
        energy_per_action_j=20.45e-12, leakage_w=0.46e-3, area_mm2=0.083, instances_per_crossbar=1 / 96))
    """Tile eDRAM (64 KB per 96 crossbars); action = one ``access_bits`` access; every bit moved to or from a
    crossbar is written once and read once. Energy [ACC] 20.45 pJ / 256 bit; leakage [PUMA] 0.46 mW per 64 KB;
    area [ISAAC] 0.083 mm^2."""
    bus: Component = field(default_factory=lambda: Component(
        energy_per_action_j=0.054e-12, area_mm2=0.090, instances_per_crossbar=1 / 96))
    """eDRAM-to-IMA bus (one per 96 crossbars); action = one bit moved. Energy [ACC] 0.054 pJ/bit; area [ISAAC]
    0.090 mm^2."""
    router: Component = field(default_factory=lambda: Component(
        energy_per_action_j=20.74e-12, area_mm2=0.151 / 4, instances_per_crossbar=1 / 96))
    """On-chip router (one per 4 tiles of 96 crossbars); action = one ``access_bits`` transfer. Energy [ACC]
    20.74 pJ / 256 bit; area [ISAAC] 0.151 mm^2 per 4 tiles."""
    output_unit: Component = field(default_factory=lambda: Component(
        energy_per_action_j=(0.52e-3 + 0.05e-3 + 0.4e-3 + 1.68e-3) * _ISAAC_MVM_S / (96 * _ISAAC_OUT_BITS),
        area_mm2=0.0006 + 0.00006 + 0.00024 + 0.0032, instances_per_crossbar=1 / 96))
    """Tile-level sigmoid, shift-add, max-pool and 3 KB output register; action = one output bit. Energy derived
    from [ISAAC] Table 6 (0.52 + 0.05 + 0.4 + 1.68 mW per tile); area [ISAAC] sum of the four rows."""
    access_bits: int = 256
    """Width of one buffer access / router flit, bits. [ACC]: 256-bit eDRAM and router."""
    dac_per_nonzero_digit: bool = False
    """The DAC (word-line driver) spends its energy only for a nonzero input digit: ``dac.energy_per_action_j`` is
    the energy of one driven '1' and is charged x ``system.input_activity`` per row and cycle. False: per row and
    cycle whatever the digit ([ACC]'s ISAAC DAC energy is an average at ISAAC's operating point). [NS9]
    ``SubArray::CalculatePower`` charges the word line of the rows whose input bit is 1 (``activityRowRead``)."""

    TOML_TABLE: ClassVar[str] = "peripherals"

    def __post_init__(self) -> None:
        C.pos_int(self, "access_bits")
        C.flag(self, "dac_per_nonzero_digit")
        C.nodes(self, **{f.name: Component for f in fields(self) if f.name not in ("access_bits",
                                                                                  "dac_per_nonzero_digit")})


@dataclass(frozen=True)
class MappingConfig:
    """How weights are laid out on crossbars."""

    mode: str = "skip_empty"
    """'dense', 'skip_empty', 'compact' or 'ou' (see hwsim.reram.mapping). Assumption: skip_empty is the default
    because it is what any sparse-aware controller does for free."""
    ou_rows: int = 8
    """Operation-unit rows ('ou' mode). Yang et al., "Sparse ReRAM Engine" (SRE), ISCA 2019: 8x8 OUs...16x16."""
    ou_cols: int = 8
    """Operation-unit columns ('ou' mode). SRE (ISCA 2019)."""
    ou_packing: str = "critical_path"
    """How 'ou' mode compresses a column strip's nonzero OUs: 'critical_path' spreads them over the fewest crossbars
    that keep every crossbar within the layer's slowest natural crossbar (frees crossbars, never slower);
    'densest' packs them into the fewest crossbars (frees the most crossbars; their OUs then run one after another,
    so the layer can be as slow as a dense one). Assumption: SRE's compression exists to cut OU cycles."""
    ou_skip_zero_inputs: bool = False
    """'ou' mode skips an operation unit in an input cycle when every row it drives carries a zero input digit
    (SRE, Yang et al. ISCA 2019, Sec. 4: activation sparsity exploited at OU granularity). The fraction of OU reads
    performed is ``1 - (1 - system.input_digit_density)^rows`` per OU of ``rows`` rows (independent digits), or
    per layer as measured on real inputs by :func:`hwsim.reram.calibrate_ou_activity`. False (default): every
    nonzero OU is read every cycle (SRE's weight-only scheme)."""

    TOML_TABLE: ClassVar[str] = "mapping"

    def __post_init__(self) -> None:
        C.one_of(self, "mode", MAPPING_MODES, what="mapping mode")
        C.pos_int(self, "ou_rows", "ou_cols")
        C.one_of(self, "ou_packing", OU_PACKINGS, what="OU packing")
        C.flag(self, "ou_skip_zero_inputs")


@dataclass(frozen=True)
class NonIdealityConfig:
    """Device non-idealities applied by ``run`` (the cost model is unaffected)."""

    sigma: float = 0.0
    """Relative conductance variation (std of the log for 'lognormal', of G/G_nominal for 'gaussian')."""
    variation: str = "lognormal"
    """'lognormal' (G = G_nom exp(sigma z)) or 'gaussian' (G = G_nom (1 + sigma z), clipped at 0)."""
    p_sa0: float = 0.0
    """Probability that a cell is stuck at G_off (SA0)."""
    p_sa1: float = 0.0
    """Probability that a cell is stuck at G_on (SA1)."""

    TOML_TABLE: ClassVar[str] = "nonideal"

    def __post_init__(self) -> None:
        C.number_in(self, "sigma", 0.0, MAX_SIGMA, what="relative variation (exp(sigma z) must stay finite)")
        C.one_of(self, "variation", VARIATION_KINDS)
        C.fraction(self, "p_sa0", "p_sa1")
        C.require(self, "p_sa0", self.p_sa0 + self.p_sa1 <= 1.0, f"+ p_sa1 must be <= 1, got {self.p_sa0 + self.p_sa1}")

    @property
    def ideal(self) -> bool:
        return self.sigma == 0.0 and self.p_sa0 == 0.0 and self.p_sa1 == 0.0


@dataclass(frozen=True)
class SystemConfig:
    """System-level modelling choices."""

    power_gating: bool = True
    """Crossbars of the dense footprint that a sparse-aware mapping mode leaves unallocated are power-gated: no
    leakage. False makes the whole dense footprint leak (allocated crossbars always leak, including the all-zero
    ones that 'dense' mode allocates)."""
    pipeline_layers: bool = True
    """Layers run as an inter-layer pipeline ([ISAAC] Sec. 3): network latency = slowest layer + one MVM of every
    other layer (pipeline fill). False: layers run one after another (sum of layer latencies)."""
    input_activity: float = 0.5
    """Mean (v / V_read)^2 over driven rows and cycles, for array energy. Assumption: random input bits, half of
    them '1' with a 1-bit DAC."""
    input_digit_density: float = 0.5
    """Probability that one row's input digit in one cycle is nonzero, for 'ou' mode's zero-input skipping
    (``mapping.ou_skip_zero_inputs``) when no measured value is attached to the layer. Assumption: 0.5, random
    input bits as ``input_activity``; measure it with :func:`hwsim.reram.calibrate_ou_activity` (ReLU networks
    carry far fewer nonzero digits)."""

    TOML_TABLE: ClassVar[str] = "system"

    def __post_init__(self) -> None:
        C.flag(self, "power_gating", "pipeline_layers")
        C.fraction(self, "input_activity", "input_digit_density")


SCHEDULES = ("isaac", "neurosim")
"""Chip-level schedules (see :mod:`hwsim.reram.chip` and :mod:`hwsim.reram.neurosim`)."""


@dataclass(frozen=True)
class NeurosimChipConfig:
    """DNN+NeuroSim V1.4's chip organisation, used when ``chip.schedule = 'neurosim'`` (see
    :mod:`hwsim.reram.neurosim`). Structure from [NS9] ``Param.cpp`` (line numbers of commit 9e6742c); per-bit
    energies, areas and leakages are NeuroSim's own circuit models evaluated for the 22 nm configuration of its
    published VGG-8 run (``Data/1.4_Release_test.csv`` row 1) by compiling 9e6742c and printing the values its
    ``Buffer``/``HTree``/``XYBus``/``AdderTree`` objects compute (on random 8-bit traces; none of these depend on the
    data: the interconnect uses the fixed toggle rates below). They are NeuroSim's numbers for that floorplan (tile
    1024x1024 cells of 2x2 PEs, novel-mapped tiles of 9 PEs, a chip of 103 tiles); other networks get the same
    per-bit and per-tile figures."""

    speed_up_degree: int = 8
    """Pipeline speed-up target: layers are duplicated ``ceil((IFM_l / ceil(IFM_max / d))^2)`` times with
    ``d = min(speed_up_degree, IFM_max / IFM_min)`` over layers with a k>1 kernel. [NS9] ``Param.cpp`` line 108
    (``speedUpDegree = 8``); rule: ``Chip.cpp`` ``ChipDesignInitialize`` (pipeline branch)."""
    novel_mapping_pes: int = 9
    """PEs of a novel-mapped tile, one per kernel position (NeuroSim's most common k^2 among the layers, 9 for
    3x3 convolutions); 0 disables novel mapping. [NS9] ``Param.cpp`` line 98 ``novelMapping = true``; ``Chip.cpp``
    ``ChipDesignInitialize``: a layer is novel-mapped when its k^2 equals this and C k^2 >= the sub-array rows.
    *Assumption*: hwsim's shape-only layers carry no kernel size, so a layer counts as a k x k convolution when it
    has more than one MVM per inference and its inputs are a multiple of k^2 (exact for the zoo's 3x3
    convolutions)."""
    tile_buffer_width_bits: int = 32
    """Interface width of one tile buffer core (register file), bits. [NS9] ``Param.cpp`` line 87
    (``tileBufferCoreSizeCol = 32``)."""
    tile_buffer_core_bits: int = 1024
    """Capacity of one tile buffer core, bits. [NS9] ``Param.cpp`` lines 86-87 (32 x 32)."""
    global_buffer_width_bits: int = 128
    """Interface width of one global buffer core, bits. [NS9] ``Param.cpp`` line 82 (``globalBufferCoreSizeCol``)."""
    global_buffer_core_bits: int = 128 * 128
    """Capacity of one global buffer core, bits. [NS9] ``Param.cpp`` lines 81-82 (128 x 128)."""
    global_bus_max_width_bits: int = 2048
    """Upper bound of the global bus width, bits (the summed tile interfaces are halved until below it).
    [NS9] ``Param.cpp`` line 261 (``maxGlobalBusWidth``); ``Chip.cpp`` ``ChipInitialize``."""
    input_toggle: float = 0.18
    """Toggle rate of input (activation) bits on the interconnect. [NS9] ``Param.cpp`` line 267 (``inputtoggle``,
    'VGG8-CIFAR10: 0.18', measured by NeuroSim on real traces)."""
    output_toggle: float = 0.5
    """Toggle rate of output (partial-sum) bits on the interconnect. [NS9] ``Param.cpp`` line 276."""
    tile_buffer_energy_per_bit_j: float = 1.787e-15
    """Energy of one bit written to and read from a tile (or PE-group) register-file buffer, J. [NS9]
    ``Buffer::CalculatePower`` (DFF-based, ``tileBufferType = false``, line 84) at 22 nm: 0.347 pJ for the
    194,400 bits of VGG-8 conv1's tile input buffer."""
    global_buffer_energy_per_bit_j: float = 8.03e-16
    """Energy of one bit written to and read from the global buffer, J. [NS9] ``Buffer::CalculatePower``
    (register file, ``globalBufferType = false``, line 79): 5.90 nJ over the 7.35 Mbit VGG-8 moves through it."""
    htree_energy_per_toggle_j: float = 5.17e-14
    """Tile H-tree energy per toggled bit, conventionally mapped tile (0.70 mm side), J. [NS9]
    ``HTree::CalculatePower`` at 22 nm (``Tile.cpp`` charges (in x input_toggle + out x output_toggle) bits)."""
    htree_nm_energy_per_toggle_j: float = 4.653e-13
    """Tile H-tree energy per toggled bit, novel-mapped tile (9 PEs, 1.14 mm side, 1152-bit bus), J. [NS9]
    ``HTree::CalculatePower``."""
    global_bus_energy_per_toggle_j: float = 3.462e-13
    """Global X-Y bus energy per toggled bit, J. [NS9] ``XYBus::CalculatePower`` (``globalBusType = false``,
    line 76) summed over VGG-8's layers: 0.663 uJ for 1.91 M toggled bits."""
    tile_accumulation_area_mm2: float = 0.00106785
    """Accumulation (adder tree) of a conventionally mapped tile, mm^2. [NS9] ``TileCalculateArea``
    (``accumulationCM``)."""
    tile_buffer_area_mm2: float = 0.00359360
    """Input (2 cores) and output buffers of a conventionally mapped tile, mm^2. [NS9] ``TileCalculateArea``."""
    tile_htree_area_mm2: float = 0.00344509
    """H-tree of a conventionally mapped tile, mm^2. [NS9] ``TileCalculateArea`` (``hTreeCM``)."""
    tile_nm_accumulation_area_mm2: float = 0.0344383
    """Accumulation of a novel-mapped tile (9 PEs), mm^2. [NS9] ``TileCalculateArea`` (``accumulationNM``)."""
    tile_nm_buffer_area_mm2: float = 0.0168464
    """Input (9 cores) and output (4 cores) buffers of a novel-mapped tile, mm^2. [NS9] ``TileCalculateArea``."""
    tile_nm_htree_area_mm2: float = 0.154918
    """H-tree of a novel-mapped tile, mm^2. [NS9] ``TileCalculateArea`` (``hTreeNM``, 1152-bit bus)."""
    tile_leakage_w: float = 0.16844e-6
    """Leakage of a conventionally mapped tile beyond its PEs (accumulation 0.103, buffers 0.065 uW), W. [NS9]
    ``AdderTree``/``Buffer``/``HTree::CalculatePower`` (``Tile.cpp`` ``*leakage``)."""
    tile_nm_leakage_w: float = 3.3985e-6
    """Leakage of a novel-mapped tile beyond its PEs (accumulation 3.32, buffers 0.074 uW), W. [NS9]."""
    global_buffer_core_area_mm2: float = 0.020397
    """Area of one global buffer core, mm^2. [NS9] ``Buffer::CalculateArea``: 1.448 mm^2 for 71 cores."""
    global_bus_area_per_bit_mm: float = 9.52e-5
    """Global X-Y bus area per bit of width per mm of bus length, mm^2/(bit mm). [NS9] ``XYBus::CalculateArea``
    (repeated wires, ``treeFoldedRatio = 4``): 2.489 mm^2 for a 1089-bit bus over 11 + 10 tiles of 1.143 mm."""
    chip_periphery_area_mm2: float = 0.5410
    """Chip-level accumulation (0.4637), max-pooling (0.0601) and ReLU (0.0171) units, mm^2. [NS9]
    ``ChipCalculateArea`` for the VGG-8 floorplan (``chipActivation = true``, line 92)."""
    post_layout_energy_factor: float = 1.22
    """Post-layout energy increase applied to the chip's energy (NeuroSim divides its TOPS/W by it). [NS9]
    ``Param.cpp`` line 430 (``zeta = 1.22``, ``validated = true``: calibrated on silicon, Lu et al., Frontiers in
    AI 4, 659060, 2021)."""

    TOML_TABLE: ClassVar[str] = "chip.neurosim"

    def __post_init__(self) -> None:
        C.pos_int(self, "speed_up_degree", "tile_buffer_width_bits", "tile_buffer_core_bits",
                  "global_buffer_width_bits", "global_buffer_core_bits", "global_bus_max_width_bits")
        C.int_in(self, "novel_mapping_pes", 0, 64)
        C.fraction(self, "input_toggle", "output_toggle")
        C.nonneg(self, "tile_buffer_energy_per_bit_j", "global_buffer_energy_per_bit_j", "htree_energy_per_toggle_j",
                 "htree_nm_energy_per_toggle_j", "global_bus_energy_per_toggle_j", "tile_accumulation_area_mm2",
                 "tile_buffer_area_mm2", "tile_htree_area_mm2", "tile_nm_accumulation_area_mm2",
                 "tile_nm_buffer_area_mm2", "tile_nm_htree_area_mm2", "tile_leakage_w", "tile_nm_leakage_w",
                 "global_buffer_core_area_mm2",
                 "global_bus_area_per_bit_mm", "chip_periphery_area_mm2")
        C.positive(self, "post_layout_energy_factor")


@dataclass(frozen=True)
class ChipConfig:
    """The fixed chip the crossbars sit on ([ISAAC] Sec. 6 / Table 6): tiles x IMAs x crossbars, tile buffers, an
    optional global buffer, a concentrated-mesh interconnect and chip-to-chip links (see :mod:`hwsim.reram.chip`)."""

    tiles_per_chip: int = 168
    """Tiles on one chip. [ISAAC] Table 6: 168 tiles per chip."""
    imas_per_tile: int = 12
    """In-situ multiply-accumulate units (IMAs, MNSIM's PEs) per tile. [ISAAC] Table 6: 12 IMAs per tile."""
    crossbars_per_ima: int = 8
    """Crossbars per IMA. [ISAAC] Table 6: 8 crossbars per IMA."""
    chips: int | None = None
    """Chips available. None: the fewest chips that hold every layer once. An integer fixes the count: more chips
    than needed leave room for replication; fewer make the schedule reload weights (``cells_written``)."""
    replicate: bool = True
    """Replicate layers to balance the inter-layer pipeline within the chips ([ISAAC] Sec. 4: layers are replicated
    so that every pipeline stage produces its outputs at the same rate; greedy on the slowest stage)."""
    reload_batch: int = 1
    """Inferences computed per weight load when the chips are too few (assumption: 1, a single input stream; a
    batch amortises the writes)."""
    tile_buffer_bytes: int = 64 * 1024
    """Activation buffer capacity per tile, bytes. [ISAAC] Table 6: 64 KB eDRAM per tile (its energy, leakage and
    area are ``peripherals.buffer``)."""
    global_buffer_bytes: int | None = None
    """Global activation buffer capacity per chip, bytes; None: no global buffer ([ISAAC] has none: activations that
    do not fit a layer's tile buffers are parked in other tiles' eDRAM, at ``peripherals.buffer`` energy per bit)."""
    global_buffer_energy_per_bit_j: float = 20.45e-12 / 256
    """Global buffer energy per bit read or written, J. [ACC] eDRAM 20.45 pJ per 256-bit access (as the tile's)."""
    global_buffer_leakage_w: float = 0.0
    """Global buffer leakage per chip, W (assumption: 0 with no global buffer)."""
    global_buffer_area_mm2: float = 0.0
    """Global buffer area per chip, mm^2 (assumption: 0 with no global buffer)."""
    global_buffer_bandwidth_bits_per_s: float = 256 * 1.2e9
    """Global buffer bandwidth, bits/s. Assumption: one 256-bit access ([ACC]) per 1.2 GHz clock ([ISAAC])."""
    noc_tiles_per_router: int = 4
    """Tiles sharing one router of the concentrated mesh. [ISAAC] Table 6: one router per 4 tiles."""
    noc_energy_per_bit_per_hop_j: float = 20.74e-12 / 256
    """Energy of one bit crossing one router hop, J. [ACC] router 20.74 pJ per 256-bit flit."""
    noc_hop_latency_s: float = 2.5e-9
    """Latency of one router hop, s. Assumption: a 3-stage router pipeline at [ISAAC]'s 1.2 GHz."""
    noc_bandwidth_bits_per_s: float = 256 * 1.2e9
    """Bandwidth of one mesh link, bits/s. Assumption: one 256-bit flit ([ACC]) per 1.2 GHz clock ([ISAAC])."""
    link_power_w: float = 10.4
    """Chip-to-chip links of one chip, W (static: serial links stay up). [ISAAC] Table 6: HyperTransport, 4 links,
    10.4 W."""
    link_area_mm2: float = 22.88
    """Chip-to-chip links of one chip, mm^2. [ISAAC] Table 6: HyperTransport 22.88 mm^2."""
    link_bandwidth_bits_per_s: float = 4 * 6.4e9 * 8
    """Bandwidth of a chip's links, bits/s. [ISAAC] Table 6: 4 HyperTransport links of 6.4 GB/s."""
    link_latency_s: float = 50e-9
    """Latency of one chip-to-chip transfer, s. Assumption: tens of ns for a HyperTransport hop."""
    links_on_single_chip: bool = True
    """A single chip carries its links too ([ISAAC]'s chip: 85.4 mm^2 includes their 22.88 mm^2; they connect to
    the host and to other chips). False: only multi-chip systems have links (no link area or power)."""
    area_of_occupied_tiles: bool = False
    """The chip's area counts only the tiles the mapped network occupies (an accelerator sized to the network, as
    MNSIM-2.0's ``Model_Area.calculate_model_area`` sums tile area x each layer's ``tilenum``); False: every tile of
    the allocated chips (a fixed chip such as [ISAAC]'s)."""
    link_power_gating: bool = True
    """Links of a job that fits one chip are power-gated: they keep their area but draw no power. A link with no
    traffic for the whole job need not stay up: HyperTransport defines disconnecting its links to conserve power
    (LDTSTOP# and the disconnect NOP; Holden, Anderson and Trodden, "HyperTransport System Architecture",
    MindShare/Addison-Wesley 2003, ch. 9 "HT Link Disconnect/Reconnect Sequence" and ch. 18 "HT Power
    Management"), and ISAAC's links exist to chain chips, a one-chip job sends nothing over them (host input and
    output are not modelled). Without gating a one-chip LeNet-300-100 on the default preset was almost all link
    leakage (10.4 W x the interval). False: a single chip powers its links too, as [ISAAC] Table 6's 65.8 W chip
    power counts them (the ``isaac`` preset, which reproduces that figure). Multi-chip jobs always power them."""
    tile_buffer_bandwidth_bits_per_s: float = 256 * 1e9
    """Bits per second one tile buffer reads or writes; a bit passing through a buffer is written once and read
    once (two accesses), and a layer's buffer traffic shares the bandwidth of the tiles its IMAs occupy. [ACC]
    ``IsaacEDRAM``: one 256-bit access per 1 ns global cycle (32 nm, 2048 x 256 bit)."""
    tile_buffer_latency_s: float = 1e-9
    """Latency of one tile buffer access, s: every layer's outputs are written and read once on their way to the
    next layer, two accesses added to the latency of one input. [ACC] ``IsaacEDRAM`` global cycle 1 ns."""
    schedule: str = "isaac"
    """How layers are placed, replicated and timed: 'isaac' (this module's docstring: a fixed chip of
    ``tiles_per_chip`` tiles, greedy replication, transfers overlapped with compute) or 'neurosim' (DNN+NeuroSim
    V1.4's chip, :mod:`hwsim.reram.neurosim`: one chip sized to the network, IFM-based duplication, compute +
    buffer + interconnect latencies added per layer; ``chip.neurosim`` holds its parameters)."""
    neurosim: NeurosimChipConfig = field(default_factory=NeurosimChipConfig)
    """Parameters of the 'neurosim' schedule (ignored by 'isaac')."""

    TOML_TABLE: ClassVar[str] = "chip"

    def __post_init__(self) -> None:
        C.pos_int(self, "tiles_per_chip", "imas_per_tile", "crossbars_per_ima", "reload_batch", "tile_buffer_bytes",
                  "noc_tiles_per_router")
        if self.chips is not None:
            C.pos_int(self, "chips")
        if self.global_buffer_bytes is not None:
            C.pos_int(self, "global_buffer_bytes")
        C.flag(self, "replicate", "links_on_single_chip", "link_power_gating", "area_of_occupied_tiles")
        C.positive(self, "tile_buffer_bandwidth_bits_per_s")
        C.nonneg(self, "tile_buffer_latency_s")
        C.one_of(self, "schedule", SCHEDULES, what="chip schedule")
        C.nodes(self, neurosim=NeurosimChipConfig)
        if self.schedule == "neurosim":
            C.require(self, "chips", self.chips in (None, 1), f"must be 1 or unset with schedule 'neurosim' (one chip "
                      f"sized to the network), got {self.chips}")
            for name in ("imas_per_tile", "crossbars_per_ima"):  # NeuroSim's PEs and tiles are square grids
                v = getattr(self, name)
                C.require(self, name, math.isqrt(v) ** 2 == v, f"must be a square (NeuroSim's PEs and tiles are "
                          f"n x n grids) with schedule 'neurosim', got {v}")
        C.nonneg(self, "global_buffer_energy_per_bit_j", "global_buffer_leakage_w", "global_buffer_area_mm2",
                 "noc_energy_per_bit_per_hop_j", "noc_hop_latency_s", "link_power_w", "link_area_mm2",
                 "link_latency_s")
        C.positive(self, "global_buffer_bandwidth_bits_per_s", "noc_bandwidth_bits_per_s", "link_bandwidth_bits_per_s")

    @property
    def crossbars_per_tile(self) -> int:
        return self.imas_per_tile * self.crossbars_per_ima

    @property
    def crossbars_per_chip(self) -> int:
        return self.tiles_per_chip * self.crossbars_per_tile


@dataclass(frozen=True)
class ReramConfig:
    """The whole ReRAM accelerator model."""

    crossbar: CrossbarConfig = field(default_factory=CrossbarConfig)
    precision: PrecisionConfig = field(default_factory=PrecisionConfig)
    adc: AdcConfig = field(default_factory=AdcConfig)
    peripherals: PeripheralsConfig = field(default_factory=PeripheralsConfig)
    mapping: MappingConfig = field(default_factory=MappingConfig)
    nonideal: NonIdealityConfig = field(default_factory=NonIdealityConfig)
    system: SystemConfig = field(default_factory=SystemConfig)
    chip: ChipConfig = field(default_factory=ChipConfig)
    preset: str | None = None
    """Name of the preset this configuration started from (informational)."""

    def __post_init__(self) -> None:
        C.root(self)
        b, bpc = self.precision.weight_bits, self.crossbar.bits_per_cell
        C.require(self, "crossbar.bits_per_cell", bpc <= b, f"({bpc}) must not exceed precision.weight_bits ({b})")
        if self.mapping.mode == "ou":
            for side in ("rows", "cols"):
                ou, xb = getattr(self.mapping, "ou_" + side), getattr(self.crossbar, side)
                C.require(self, "mapping.ou_" + side, xb % ou == 0, f"({ou}) must divide crossbar.{side} ({xb})")

    # ---- derived geometry (used by the mapper and by the pruning front-end) -----------------------------------
    @property
    def rows(self) -> int:
        """Crossbar rows R (inputs per crossbar)."""
        return self.crossbar.rows

    @property
    def cols(self) -> int:
        """Crossbar columns C."""
        return self.crossbar.cols

    @property
    def magnitude_bits(self) -> int:
        """Bits stored per weight: weight_bits - 1 (differential magnitude) or weight_bits (offset)."""
        return self.precision.weight_bits - 1 if self.precision.signed == "differential" else self.precision.weight_bits

    @property
    def slices(self) -> int:
        """Cells (columns) per stored number: ceil(magnitude_bits / bits_per_cell)."""
        return -(-self.magnitude_bits // self.crossbar.bits_per_cell)

    @property
    def columns_per_weight(self) -> int:
        """Crossbar columns one weight occupies: 2 x slices (differential) or slices (offset)."""
        return 2 * self.slices if self.precision.signed == "differential" else self.slices

    @property
    def weights_per_crossbar_column_block(self) -> float:
        """Weights (outputs) per crossbar row: cols / columns_per_weight."""
        return self.cols / self.columns_per_weight

    @property
    def cycles_per_mvm(self) -> int:
        """Input cycles per MVM: ceil(input_bits / dac_bits)."""
        return -(-self.precision.input_bits // self.precision.dac_bits)

    @property
    def levels(self) -> int:
        """Highest cell level 2^bits_per_cell - 1."""
        return 2 ** self.crossbar.bits_per_cell - 1

    @property
    def g_on_s(self) -> float:
        return 1.0 / self.crossbar.r_on_ohm

    @property
    def g_off_s(self) -> float:
        return 1.0 / self.crossbar.r_off_ohm

    @property
    def adcs_per_crossbar(self) -> int:
        return -(-self.cols // self.adc.cols_per_adc)

    @property
    def conversion_time_s(self) -> float:
        return 1.0 / self.adc.sample_rate_hz

    def read_full_scale(self, rows_per_read: int) -> int:
        """Largest column sum (level units) of one read that drives ``rows_per_read`` rows."""
        return rows_per_read * self.levels * (2 ** self.precision.dac_bits - 1)

    def adc_bits_for_rows(self, rows_per_read: int) -> int:
        """Physical ADC resolution a read of ``rows_per_read`` rows uses: the bits that resolve every level of its
        full scale (x ``adc.range_fraction``; one bit less with ISAAC's flipped encoding), at most ``adc.bits``. One
        source of truth for the ADC energy per conversion in ``cost`` and the ADC that ``run`` simulates (an 8x8
        operation unit of 2-bit cells reads at most 24: 5 bits, not 8)."""
        fs = max(1.0, math.floor(self.read_full_scale(rows_per_read) * self.adc.range_fraction))
        needed = math.ceil(math.log2(fs + 1)) - int(self.adc.flip_encoding)
        return max(1, min(self.adc.bits, needed))

    def conversion_energy_for_rows_j(self, rows_per_read: int) -> float:
        """ADC energy per conversion for reads of ``rows_per_read`` rows, J: ``adc.energy_per_conversion_j`` if
        given (a fixed-resolution ADC), else [ACC]'s table at :meth:`adc_bits_for_rows`."""
        if self.adc.energy_per_conversion_j is not None:
            return float(self.adc.energy_per_conversion_j)
        return adc_energy_j(self.adc_bits_for_rows(rows_per_read))

    @property
    def offset_value(self) -> int:
        """Digital offset added to every weight in 'offset' mode: 2^(weight_bits-1)."""
        return 2 ** (self.precision.weight_bits - 1)

    def __str__(self) -> str:
        return C.describe(self)


# ---- presets -----------------------------------------------------------------------------------------------------
def _without_leakage(p: PeripheralsConfig) -> PeripheralsConfig:
    """``p`` with every component's leakage set to 0."""
    return replace(p, **{f.name: replace(getattr(p, f.name), leakage_w=0.0) for f in fields(p)
                         if isinstance(getattr(p, f.name), Component)})


def isaac() -> ReramConfig:
    """ISAAC ([ISAAC], ISCA 2016): 128x128 crossbars, 2 bits/cell, 16-bit weights (offset encoding) and inputs
    fed 1 bit per cycle, one 8-bit 1.2 GS/s ADC per crossbar, 100 ns read; energies per action from [ACC], derived
    from Table 6; ISAAC's flipped-weight encoding lets the 8-bit ADC read exactly. No leakage: Table 6 lists each
    component's total power at the operating point, which the energies per action already reproduce (adding
    [PUMA]'s leakage on top counted it twice: 354.6 mW per tile instead of 330 mW). The chip: 168 tiles of 12 IMAs
    x 8 crossbars, 64 KB eDRAM per tile, HyperTransport links (10.4 W, 22.88 mm^2): 65.8 W, 85.4 mm^2."""
    base = ReramConfig()
    return ReramConfig(preset="isaac", adc=AdcConfig(flip_encoding=True, leakage_w=0.0),
                       peripherals=_without_leakage(base.peripherals),
                       # Table 6's 65.8 W chip power counts the HyperTransport links powered
                       chip=ChipConfig(link_power_gating=False))


def neurosim_cell() -> ReramConfig:
    """NeuroSim's cell and sub-array on ISAAC's periphery and chip -- *not* DNN+NeuroSim V1.4's chip (renamed from
    'neurosim' on 2026-12-01, issue 10). From [NS] ``Param.cpp`` at HEAD (ac828e6): 128x128 sub-arrays, cellBit 1,
    ``numColMuxed = 8`` columns per ADC, ``levelOutput = 32`` (5-bit; line 258), R_on 100 kOhm with on/off 17
    (line 344), 10 ns read pulse, 8-bit weights and inputs; read voltage 0.5 V (V1.4's 22 nm value is 0.55 V, HEAD
    line 356: kept at 0.5 V so that results recorded with this preset stay comparable). Everything else is ISAAC's
    32 nm periphery ([ACC] energies, the 5-bit ADC from [ACC]'s scaled table, [PUMA] leakage, ISAAC's 168-tile
    chip with HyperTransport links), and the ADC is a SAR-like 1 GS/s converter (assumption), where V1.4 uses a
    multilevel sense amplifier (``SARADC = false``) clocked by its sensing delay and computes every periphery
    energy and area with its own 22 nm circuit models, which hwsim does not reimplement. On VGG-8 (CIFAR-10) it is
    therefore far from DNN+NeuroSim's published run (``Data/1.4_Release_test.csv`` row 1: 23.94 TOPS/W, 5,148.66
    FPS, 84.77 mm^2), and that run used a different cell and ADC again (commit 9e6742c ``Param.cpp``: R_on 6 kOhm /
    R_off 102 kOhm, line 412-413; 16 levels = 4 bit, line 330; 0.5 V, line 417). (Before 2026-11-25 this preset had
    a 4-bit ADC: LeNet-300-100 fell to 29 % with it, 73 % with 5 bits, on the first 2000 test images.)"""
    return ReramConfig(
        crossbar=CrossbarConfig(rows=128, cols=128, bits_per_cell=1, read_time_s=10e-9, read_voltage_v=0.5,
                                r_on_ohm=100e3, r_off_ohm=1.7e6),
        precision=PrecisionConfig(weight_bits=8, input_bits=8, dac_bits=1, signed="differential"),
        # Assumption: a 5-bit converter at 1 GS/s (10 conversions per 10 ns read pulse).
        adc=AdcConfig(bits=5, cols_per_adc=8, sample_rate_hz=1e9),
        preset="neurosim-cell")


#: DNN+NeuroSim V1.4's synchronous clock for its published VGG-8 run: the sensing cycle ([NS9] ``main.cpp`` prints
#: "Chip clock period is: 2.2312ns"; ``SubArray::CalculateLatency`` (CalculateclkFreq): (max(WL switch matrix, column
#: mux + decoder) + multilevel sense amplifier + encoder) x beta 1.4, the sense amplifier from
#: ``MultilevelSenseAmp::CalculateLatency``'s 22 nm table at R_on / 128 rows).
NEUROSIM_V14_CLOCK_S = 2.2312e-9


def neurosim_v14() -> ReramConfig:
    """DNN+NeuroSim V1.4 as it produced its published VGG-8 run ([NS9]: commit 9e6742c, ``Data/1.4_Release_test.csv``
    row 1: 22 nm, RRAM 1T1R, conventional parallel read of all 128 rows, 8-bit weights and inputs, 1 bit per cell,
    4-bit multilevel current-mode sense amplifier shared by 8 columns, R_on 6 kOhm / R_off 102 kOhm, pipelined
    chip with ``speedUpDegree = 8``, register-file buffers, X-Y global bus, ``validated`` calibration). The chip is
    :mod:`hwsim.reram.neurosim`'s; the per-action energies below are NeuroSim's 22 nm circuit models, obtained by
    compiling 9e6742c and summing what its ``SubArray``/``ProcessingUnit`` objects charge per component over a VGG-8
    run on random traces (inputs: bits 1 with probability 0.5; weights: uniform 8-bit), divided by that run's action
    counts (228.3 M conversions, 114.2 M '1' word-line pulses per input bit, 222.5 M crossbar input bits, 28.5 M
    crossbar output bits); areas and leakages are NeuroSim's ``ProcessingUnitCalculateArea`` of one 4 x 4 PE / 16.
    Nothing is fitted to row 1: the same run reproduces row 1's area (84.7747 mm^2), clock (2.2312 ns) and frame
    rate (5148.66 FPS) exactly, its energy depends on the traces (14.4 TOPS/W on these, 23.9 on NeuroSim's trained
    VGG-8 activations).

    **Against row 1** (``hwsim cost --hardware reram --model vgg8-cifar --preset neurosim-v1.4``; hwsim's
    ``vgg8-cifar`` is shape-only, 1.23184e9 ops as NeuroSim counts them):

    ===========  ===============  ===============  =====
    figure       hwsim            NeuroSim row 1   ratio
    ===========  ===============  ===============  =====
    TOPS/W       20.49            23.94            0.86
    throughput   4,550 FPS        5,148.66 FPS     0.88
    chip area    79.31 mm^2       84.77 mm^2       0.94
    ===========  ===============  ===============  =====

    (``tests/reram/test_reram_neurosim.py`` checks each within 2x; ``experiments/neurosim_compare.py`` prints the
    table with the sensitivities below.)

    Every term that differs (largest first):

    1. *Vectors per layer.* NeuroSim runs (H - k + 1)^2 input vectors per convolution (``numInVector`` in
       ``ChipCalculatePerformance``: 900, 900, 196, 196, 36, 36 for VGG-8's 'same'-padded layers) while counting
       the operations of H^2 (1024, 1024, 256, 256, 64, 64). hwsim runs the 1024, ... MVMs the padded layers
       really take: 37.8 % more conversions and row pulses (314.6 M against 228.3 M), 1.14x the slowest layer's
       MVMs. This alone is a factor 1.38 on TOPS/W and 1.14 on the frame rate.
    2. *Input bits.* NeuroSim's energy is measured on real VGG-8 traces; hwsim's shape-only network has none, so
       ``system.input_activity`` (the fraction of input bits that are 1, which pulse a word line) is set to 0.10,
       the density whose bus toggle rate 2p(1-p) is NeuroSim's own 0.18 for VGG-8 (``Param.cpp`` line 267, used by
       NeuroSim for its interconnect energy). *Assumption*: independent bits. At hwsim's generic 0.5 the word lines
       cost 5x more and TOPS/W falls to 0.44x row 1 (10.60). Rescaled to NeuroSim's vector counts that is 14.60
       TOPS/W, and NeuroSim 9e6742c itself gives 14.42 on random traces of that density: hwsim's composition of
       NeuroSim's per-action energies agrees with NeuroSim to 1.3 % when both see the same bits.
    3. *Sense-amplifier energy* depends on the column currents; the per-conversion figure is NeuroSim's at random
       weights and 0.5 input density (48.1 fJ; 46.0 fJ on ReLU-like traces), not at row 1's trained weights.
    4. *Max pooling.* NeuroSim sends a pooled layer's outputs over the global bus 4x smaller (``netStructure[l][6]``);
       hwsim's layers do not say which are pooled, so conv2/4/6's chip outputs are charged in full.
    5. *Duplication.* hwsim applies NeuroSim's IFM rule (16, 16, 4, 4, 1, 1, 1, 1 copies) but not the extra
       copies NeuroSim puts in free PE slots (conv5 x2, fc2 x8): 99 tiles (67 conventional, 32 novel-mapped)
       against 103 (67 + 36), 4 novel-mapped tiles (5.2 mm^2) less area.
    6. *Latency terms not modelled*: adder-tree accumulation, PE buffers and buses, ReLU/pooling (under 2 % of the
       slowest layer in NeuroSim's breakdown; 1.3 + 0.5 us of conv1's 194 us).
    7. *Leakage* is charged over hwsim's interval with the tiles' full leakage; NeuroSim weights each layer's
       tiles by their busy time (``leakagePowerPerLayer``): 0.4 % of the energy either way.

    The clock, the MVM time (64 cycles = 142.80 ns per vector, NeuroSim's fc1 ADC latency to the digit), the
    duplication rule, the tile/PE hierarchy, the buffer and bus cycle counts and the areas are NeuroSim's own: on
    NeuroSim's 900 vectors the model gives conv1 its 194 us to within the terms of item 6."""
    ns_cfg = NeurosimChipConfig()
    return ReramConfig(
        crossbar=CrossbarConfig(
            rows=128, cols=128, bits_per_cell=1,  # Param.cpp lines 278-279, 331 (cellBit = 1)
            read_time_s=NEUROSIM_V14_CLOCK_S,  # the sensing cycle (synchronous clock) covers the column read
            read_voltage_v=0.5, r_on_ohm=6e3, r_off_ohm=6e3 * 17,  # Param.cpp lines 417, 412-413
            area_mm2=3.80633e-4,  # ProcessingUnitCalculateArea: PE array 6.09013e-3 mm^2 / 16 (1T1R 4F x 12F, 22 nm)
            write_voltage_v=2.0),  # Param.cpp line 421
        # Inference wrapper default (commit 8816ec5) and row 1: --wl_weight 8 --wl_activate 8; LoadInWeightData maps
        # w in [-1, 1] to unsigned 0 .. 2^8 (offset binary), bit-sliced over 8 one-bit cells (numColPerSynapse)
        precision=PrecisionConfig(weight_bits=8, input_bits=8, dac_bits=1, signed="offset"),
        adc=AdcConfig(
            bits=4,  # levelOutput = 16 (Param.cpp line 330: "levels of the multilevelSenseAmp output ... 2^N")
            cols_per_adc=8,  # numColMuxed = 8 (line 321)
            sample_rate_hz=1.0 / NEUROSIM_V14_CLOCK_S,  # one sensing cycle per conversion
            energy_per_conversion_j=4.8145e-14,  # MultilevelSenseAmp::CalculatePower (currentMode, line 103)
            leakage_w=4.6695e-9,  # PE leakage 1.19538 uW / 16 sub-arrays / 16 sense amplifiers
            area_mm2=3.34192e-5,  # PE 'ADC' area 8.55532e-3 mm^2 / 256 sense amplifiers
            includes_array_energy=True),  # the column current is inside the sense amplifier's energy
        peripherals=PeripheralsConfig(
            # word line charged per muxed column read (capRow2 Vdd^2 x 8) + WL switch matrix, per '1' input bit;
            # area: the PE's 'other' area (WL switch matrix, column mux and decoder, PE registers) / 16 / 128 rows
            dac=Component(energy_per_action_j=3.7321e-13, area_mm2=4.15466e-5),
            sample_hold=Component(energy_per_action_j=2.7835e-14),  # column mux + mux decoder per conversion
            shift_add=Component(energy_per_action_j=1.4560e-14, area_mm2=1.40296e-3),  # ShiftAdd (weight + input)
            input_register=Component(energy_per_action_j=1.0481e-14),  # PE input/output registers and buses, per input bit
            output_register=Component(),
            buffer=Component(), bus=Component(), router=Component(),  # tile/chip transfers: hwsim.reram.neurosim
            output_unit=Component(energy_per_action_j=8.9035e-15),  # PE/tile/chip adder trees + ReLU, per output bit
            dac_per_nonzero_digit=True),
        mapping=MappingConfig(mode="dense"),  # NeuroSim maps every weight
        system=SystemConfig(input_activity=0.10, input_digit_density=0.10),
        chip=ChipConfig(schedule="neurosim", imas_per_tile=4, crossbars_per_ima=16, links_on_single_chip=False,
                        neurosim=ns_cfg),
        preset="neurosim-v1.4")


def mnsim2() -> ReramConfig:
    """MNSIM-2.0's default accelerator ([MN]: github.com/thu-nics/MNSIM-2.0 at ca39ccb, ``SimConfig.ini``; line
    numbers below are that file's, component figures are the defaults its ``MNSIM/Hardware_Model`` classes pick for
    those settings). A PE is a pair of 256 x 256 crossbars (positive and negative weights, ``Xbar_Polarity = 2``
    line 96, ``Group_Num = 1`` line 102), a tile 2 x 2 PEs (``PE_Num`` line 151), the accelerator 64 x 64 tiles
    (``Tile_Num`` line 205); weights and activations are 9 bits (``network.py``: ``quantize_config_list`` default
    ``weight_bit 9, activation_bit 9``), 1 bit per cell (``Device_Level = 2`` line 26), 1-bit DACs (``DAC_Choice = 1``
    line 65), 6-bit 1 GS/s ADCs (``ADC_Choice = 6`` line 75: 1650 um^2, 1.26 mW, conversion time (6 + 2) / 1 GS/s =
    8 ns, so 10.08 pJ, ``ADC.py``), 128 ADCs and 128 DACs per PE (``ADC_Num``/``DAC_Num`` lines 104-106).
    hwsim's ISAAC-style schedule places and times it (MNSIM's own latency model is not reimplemented).

    MNSIM publishes no reference output (its README has none, and the manual's VGG-8 case-study output is a
    screenshot), so no published figure is compared. Known differences from MNSIM's own model: (a) MNSIM subtracts
    the positive and negative columns in the analog domain (``Sub_Position = 0``, line 99) and converts each pair
    once; hwsim converts both columns of a differential pair (twice MNSIM's conversions, ADC energy and conversion
    time); (b) MNSIM's crossbar read power assumes 10 % of the rows driven (``Device.py``
    ``calculate_device_read_power``: V^2 = 0.9 x 0^2 + 0.1 x 0.15^2), which ``system.input_activity = 0.1``
    reproduces, and a mean cell conductance of 0.67 G_on + 0.33 G_off, where hwsim uses the mapped weights' levels;
    (c) MNSIM's NoC energy is off by default (``NoC_enable = 0``, line 216) and so is hwsim's here; (d) the global
    buffer MNSIM sizes from the network graph is not modelled; (e) MNSIM charges buffer leakage per access (one
    20 ns cycle of leakage with every read or write, ``calculate_buf_read_energy``), hwsim charges every powered
    buffer over the whole interval: on ``vgg8-cifar`` (399 occupied tiles, no layer duplicated, as MNSIM) the 90 nm
    SRAM buffers' 8.86 mW each make most of the 14.9 W of static power and of the 46.7 mJ per inference over the
    2.84 ms interval (0.026 TOPS/W, 352 inferences/s, 2,590 mm^2 of occupied tiles). Replicating layers over the
    whole 64 x 64-tile template instead (``chip.replicate = true``, ``chip.area_of_occupied_tiles = false``) gives
    3,969 tiles, 148 W and 26,590 mm^2: MNSIM's template is an upper bound on the tile count, not a chip."""
    ns = 2e-9  # Digital_Frequency = 500 MHz (line 118): one digital cycle
    t_buf = 20e-9  # Buffer.py: buf_cycle = 20 ns (the CACTI cycle table is commented out)
    return ReramConfig(
        crossbar=CrossbarConfig(
            rows=256, cols=256, bits_per_cell=1,  # Xbar_Size = 256,256 (line 45); Subarray_Size 256 (line 48)
            read_time_s=3.16e-9,  # Read_Latency = 3.16 ns (line 22)
            read_voltage_v=0.15,  # Read_Voltage = 0,0.15 (line 16)
            r_on_ohm=1e4, r_off_ohm=1e6,  # Device_Resistance = 1e6, 1e4 (line 28, HRS to LRS)
            # Crossbar.py calculate_xbar_area (Area_Calculation = 0, line 61): rows x cols x Device_Area (1.44 um^2,
            # line 8) + 1150 um^2 per row (analog PIM)
            area_mm2=(256 * 256 * 1.44 + 1150 * 256) * 1e-6,
            write_voltage_v=3.0, write_pulse_s=10e-9),  # Write_Voltage = 0,3 (line 20); Write_Latency 10 ns (line 24)
        precision=PrecisionConfig(weight_bits=9, input_bits=9, dac_bits=1, signed="differential"),
        adc=AdcConfig(bits=6, cols_per_adc=4,  # 128 ADCs per PE of 2 x 256 columns
                      sample_rate_hz=1.0 / 8e-9, energy_per_conversion_j=8e-9 * 1.26e-3, leakage_w=0.0,
                      area_mm2=1650e-6),
        peripherals=PeripheralsConfig(
            # DAC.py choice 1: 0.0039 mW x (1 + 2) / 1 GS/s; 0.166 um^2; 128 DACs per PE shared by its 512 rows
            dac=Component(energy_per_action_j=0.0039e-3 * 3e-9, area_mm2=0.166e-6 * 128 / 512),
            sample_hold=Component(),
            # ShiftReg.py 65 nm (line 131): 8.1e-7 W; Adder.py 45 nm (line 120): 2.5e-9 W/bit x 8; one 2 ns cycle;
            # areas 1.42 um^2 + 10 x 14 x 45^2 / 1e6 x 8 um^2, one of each per ADC
            shift_add=Component(energy_per_action_j=(8.1e-7 + 2.5e-9 * 8) * ns,
                                area_mm2=(1.42 + 10 * 14 * 45 ** 2 / 1e6 * 8) * 1e-6, instances_per_crossbar=64),
            # Reg.py 45 nm (line 137): 18.8e-9 x (45/65)^2 W per 8-bit register for one cycle; 0.683 um^2
            input_register=Component(energy_per_action_j=18.8e-9 * (45 / 65) ** 2 * ns / 8,
                                     area_mm2=1.4256 * (45 / 65) ** 2 * 1e-6 * 128 / 2),
            output_register=Component(energy_per_action_j=18.8e-9 * (45 / 65) ** 2 * ns / 8,
                                      area_mm2=1.4256 * (45 / 65) ** 2 * 1e-6 * 64),
            # PE input buffer: Buffer.py, SRAM (Buffer_Choice 1, line 183), 90 nm (line 185), 64-bit (line 191),
            # 16 KB (PE.py default_inbuf_size): read 44.837 / write 43.709 pJ per access, 8.86342 mW leakage,
            # 0.616314 mm^2; one per PE (2 crossbars)
            buffer=Component(energy_per_action_j=(44.837e-12 + 43.709e-12) / 2, leakage_w=8.86342e-3,
                             area_mm2=0.616314, instances_per_crossbar=1 / 2),
            bus=Component(), router=Component(),  # NoC_enable = 0 (line 216): no interconnect energy
            # tile output buffer (4 KB: read 8.54257 / write 19.9484 pJ per 64-bit access, 1.95684 mW, 0.0686947 mm^2)
            # and joint module (JointModule.py 45 nm, line 143: 2.64e-4 x (45/65)^2 W per 9-bit output for a cycle)
            output_unit=Component(energy_per_action_j=(8.54257e-12 + 19.9484e-12) / 64
                                  + 2.64e-4 * (45 / 65) ** 2 * ns / 9,
                                  leakage_w=1.95684e-3, area_mm2=0.0686947 + 353.76 * (45 / 65) ** 2 * 1e-6,
                                  instances_per_crossbar=1 / 8),
            access_bits=64),  # Buffer_Bitwidth = 64 (line 191)
        system=SystemConfig(input_activity=0.1),  # Device.py: V^2 = 0.9 x 0 + 0.1 x Vread^2
        chip=ChipConfig(
            tiles_per_chip=64 * 64, imas_per_tile=4, crossbars_per_ima=2,  # lines 205, 151, 96/102
            tile_buffer_bytes=16 * 1024 * 4,  # four 16 KB PE input buffers per tile
            tile_buffer_bandwidth_bits_per_s=4 * 64 / t_buf,  # four 64-bit buffers, one access per 20 ns each
            tile_buffer_latency_s=t_buf,
            noc_tiles_per_router=1,  # Tile_Connection (line 202): tiles connect directly to their neighbours
            noc_energy_per_bit_per_hop_j=0.0, noc_hop_latency_s=0.0,
            noc_bandwidth_bits_per_s=20e9,  # Inter_Tile_Bandwidth = 20 Gbps (line 169)
            links_on_single_chip=False, link_power_w=0.0, link_area_mm2=0.0,  # one accelerator, no chip links
            # MNSIM duplicates no layer unless asked (Tile_connection_graph.py TCG.__init__: multiple = [1] * layers)
            # and its area is that of the occupied tiles (Model_Area.py calculate_model_area: tile_area x tilenum)
            replicate=False, area_of_occupied_tiles=True),
        preset="mnsim2")


def default() -> ReramConfig:
    """The default: ISAAC-like hardware at 8-bit weights and inputs with differential column pairs (assumption:
    8-bit is what pruned-network studies use; 16-bit ISAAC is available as 'isaac'), with ISAAC's flipped-weight
    encoding ([ISAAC] Sec. 5, ``adc.flip_encoding``) that makes its 8-bit ADC read a 128-row sum of 2-bit cells (up to
    384 levels) exactly -- without it the ADC's LSB is 2 levels and every read rounds: ResNet-20 lost 23 points of
    accuracy through 22 layers of that rounding (71 % against 94 % on 100 test images), LeNet-5 18 (72.9 % against
    90.6 % on the test set) --, with [PUMA]'s leakage per
    component (ADC 0.2 mW, DAC 0.39 uW, shift-add 5 uW, 64 KB eDRAM 0.46 mW: ``puma-simulator`` ``constants.py``) so
    that idle hardware costs static power. Accuracy with a built chip's device variation: lognormal conductance
    variation of sigma ``BUILT_CHIP_SIGMA`` = 0.043, the mean spread of [Wan22]'s write-verified cells (4.3 % of G_max)
    taken as hwsim's relative spread per cell (an approximation: [Wan22]'s spread is nearly additive, so low-conductance
    cells see relatively more of it and the top of the range less, 2.8 %); no stuck-at faults. Cost is unaffected
    (``ideal`` for ideal devices)."""
    return ReramConfig(precision=PrecisionConfig(weight_bits=8, input_bits=8, dac_bits=1, signed="differential"),
                       adc=AdcConfig(flip_encoding=True), nonideal=NonIdealityConfig(sigma=BUILT_CHIP_SIGMA),
                       preset="default")


#: Device variation of the ``default`` preset (relative, lognormal): [Wan22], see :func:`default`.
BUILT_CHIP_SIGMA = 0.043


def ideal() -> ReramConfig:
    """``default`` with ideal devices (no conductance variation, no stuck-at faults; the default until 2026-12-01):
    accuracy then differs from the float network's only by quantization and the ADC. Cost is that of ``default``."""
    return replace(default(), nonideal=NonIdealityConfig(), preset="ideal")


PRESETS: dict[str, Callable[[], ReramConfig]] = {"default": default, "isaac": isaac, "neurosim-cell": neurosim_cell,
                                                 "ideal": ideal, "neurosim-v1.4": neurosim_v14, "mnsim2": mnsim2}
"""Preset name -> zero-argument constructor."""


def config_to_dict(cfg: ReramConfig) -> dict[str, Any]:
    """The resolved configuration as a JSON-able nested dict (plus derived geometry under 'derived')."""
    d = C.to_dict(cfg, ReramConfig)
    d["adc"]["energy_per_conversion_j"] = cfg.adc.conversion_energy_j
    d["adc"]["area_mm2"] = cfg.adc.adc_area_mm2
    d["derived"] = {"columns_per_weight": cfg.columns_per_weight, "slices": cfg.slices,
                    "cycles_per_mvm": cfg.cycles_per_mvm, "adcs_per_crossbar": cfg.adcs_per_crossbar,
                    "g_on_s": cfg.g_on_s, "g_off_s": cfg.g_off_s}
    return d
