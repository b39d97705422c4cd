"""The :class:`Schedule` record both chip schedules fill (:mod:`hwsim.reram.chip`, :mod:`hwsim.reram.neurosim`)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Schedule:
    """Placement and timing of a mapped network on the chips (all times per inference unless named)."""

    chips: int
    rounds: int
    """Weight loads per batch (1: weight-stationary, nothing reprogrammed)."""
    replicas: tuple[int, ...]
    imas: tuple[int, ...]
    """IMAs each layer occupies (all copies)."""
    stage_s: tuple[float, ...]
    latency_s: float
    pipeline_interval_s: float
    tiles_used: int
    tiles_available: int
    noc_bit_hops: float
    noc_hops: tuple[float, ...]
    link_bits: float
    spill_bits: float
    cells_written: float
    """Cells programmed per inference (0 when weight-stationary)."""
    write_time_s: float
    """Programming time per inference, s."""
    detail: dict = field(default_factory=dict)
    """Schedule-specific details ('neurosim': clock, tile kinds, per-layer cycles and traffic)."""

    def to_dict(self, names: list[str]) -> dict[str, Any]:
        extra = {"detail": self.detail} if self.detail else {}
        return {**extra, "chips": self.chips, "rounds": self.rounds, "replicas": dict(zip(names, self.replicas)),
                "imas": dict(zip(names, self.imas)), "stage_s": dict(zip(names, self.stage_s)),
                "noc_hops": dict(zip(names, self.noc_hops)), "noc_bit_hops_per_inference": self.noc_bit_hops,
                "link_bits_per_inference": self.link_bits, "spill_bits_per_inference": self.spill_bits,
                "cells_written_per_inference": self.cells_written, "write_time_per_inference_s": self.write_time_s}
