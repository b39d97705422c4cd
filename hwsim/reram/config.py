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

    TOML_TABLE: ClassVar[str] = "adc"

    def __post_init__(self) -> None:
        C.pos_int(self, "bits")
        C.int_in(self, "cols_per_adc", 1, MAX_CROSSBAR_DIM, what="columns per ADC")
        C.int_in(self, "bits", 1, 16)
        C.positive(self, "sample_rate_hz", "range_fraction")
        C.require(self, "range_fraction", self.range_fraction <= 1.0, f"must lie in (0, 1], got {self.range_fraction!r}")
        C.nonneg(self, "leakage_w", *(n for n in ("energy_per_conversion_j", "area_mm2") if getattr(self, n) is not None))
        C.flag(self, "flip_encoding")

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

    TOML_TABLE: ClassVar[str] = "peripherals"

    def __post_init__(self) -> None:
        C.pos_int(self, "access_bits")
        C.nodes(self, **{f.name: Component for f in fields(self) if f.name != "access_bits"})


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
    """A single chip carries (and powers) its links too ([ISAAC]'s chip: 65.8 W and 85.4 mm^2 include them; they
    connect to the host). False: only multi-chip systems have links."""

    TOML_TABLE: ClassVar[str] = "chip"

    def __post_init__(self) -> None:
        C.pos_int(self, "tiles_per_chip", "imas_per_tile", "crossbars_per_ima", "reload_batch", "tile_buffer_bytes",
                  "noc_tiles_per_router")
        if self.chips is not None:
            C.pos_int(self, "chips")
        if self.global_buffer_bytes is not None:
            C.pos_int(self, "global_buffer_bytes")
        C.flag(self, "replicate", "links_on_single_chip")
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
                       peripherals=_without_leakage(base.peripherals))


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


def default() -> ReramConfig:
    """The default: ISAAC-like hardware at 8-bit weights and inputs with differential column pairs (assumption:
    8-bit is what pruned-network studies use; 16-bit ISAAC is available as 'isaac'), with [PUMA]'s leakage per
    component (ADC 0.2 mW, DAC 0.39 uW, shift-add 5 uW, 64 KB eDRAM 0.46 mW: ``puma-simulator`` ``constants.py``) so
    that idle hardware costs static power. Accuracy with a built chip's device variation: lognormal conductance
    variation of sigma ``BUILT_CHIP_SIGMA`` = 0.043, the mean spread of [Wan22]'s write-verified cells (4.3 % of G_max)
    taken as hwsim's relative spread per cell (an approximation: [Wan22]'s spread is nearly additive, so low-conductance
    cells see relatively more of it and the top of the range less, 2.8 %); no stuck-at faults. Cost is unaffected
    (``ideal`` for ideal devices)."""
    return ReramConfig(precision=PrecisionConfig(weight_bits=8, input_bits=8, dac_bits=1, signed="differential"),
                       nonideal=NonIdealityConfig(sigma=BUILT_CHIP_SIGMA), preset="default")


#: Device variation of the ``default`` preset (relative, lognormal): [Wan22], see :func:`default`.
BUILT_CHIP_SIGMA = 0.043


def ideal() -> ReramConfig:
    """``default`` with ideal devices (no conductance variation, no stuck-at faults; the default until 2026-12-01):
    accuracy then differs from the float network's only by quantization and the ADC. Cost is that of ``default``."""
    return replace(default(), nonideal=NonIdealityConfig(), preset="ideal")


PRESETS: dict[str, Callable[[], ReramConfig]] = {"default": default, "isaac": isaac, "neurosim-cell": neurosim_cell,
                                                 "ideal": ideal}
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
