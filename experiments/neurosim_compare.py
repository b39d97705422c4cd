"""hwsim's 'neurosim-v1.4' preset against DNN+NeuroSim V1.4's published VGG-8 run.

    python experiments/neurosim_compare.py

Published figures: github.com/neurosim/DNN_NeuroSim_V1.4, commit 9e6742c, ``Data/1.4_Release_test.csv`` row 1 (the
columns ``main.cpp`` writes: chip area, clock period, pipeline cycle, buffer and IC latency, ADC latency, TOPS/W,
FPS). Prints the three headline figures with their ratios, conv1's transfer cycles rescaled to NeuroSim's 900 input
vectors beside the published buffer and interconnect latency, and how TOPS/W moves with the two assumptions the
preset's docstring names (input bit density, NeuroSim's vector count).
"""
from __future__ import annotations

import models
import hwsim.reram as rr

ROW1 = {"TOPS/W": 23.9369, "inferences/s": 5148.66, "area mm^2": 84.7747}
ROW1_LATENCY_S = {"buffer": 136858e-9, "interconnect": 47868.9e-9, "ADC": 8032.31e-9, "clock": 2.2312e-9}
NS_CONV1_VECTORS = 900  # (32 - 3 + 1)^2: NeuroSim's numInVector for conv1


def chip(overrides=None):
    cfg = rr.resolve_config("neurosim-v1.4", overrides=overrides or {})
    m = rr.map(models.get("vgg8-cifar"), cfg)
    r = rr.cost(m)
    return m, r


def main() -> None:
    m, r = chip()
    c = r.chip
    ours = {"TOPS/W": c.tops_per_w, "inferences/s": c.throughput_inferences_per_s, "area mm^2": c.area_mm2}
    print("vgg8-cifar on neurosim-v1.4 against Data/1.4_Release_test.csv row 1 (NeuroSim 9e6742c)")
    print(f"{'figure':14s} {'hwsim':>12s} {'NeuroSim':>12s} {'ratio':>7s}")
    for k, v in ours.items():
        print(f"{k:14s} {v:12.4g} {ROW1[k]:12.4g} {v / ROW1[k]:7.3f}")
    det = r.extra["chip_schedule"]["detail"]
    L = det["layers"]["conv1"]
    k = NS_CONV1_VECTORS / m.layers[0].mvms_per_inference
    clk = det["clock_s"]
    print(f"\nconv1 (the slowest stage) at NeuroSim's {NS_CONV1_VECTORS} vectors, clock {clk * 1e9:.4f} ns:")
    print(f"  buffers      {(L['tile_buffer_cycles'] + L['global_buffer_cycles']) * k * clk * 1e6:8.2f} us "
          f"(published {ROW1_LATENCY_S['buffer'] * 1e6:.2f} us incl. 0.48 us of PE buffers hwsim leaves out)")
    print(f"  interconnect {(L['htree_cycles'] + L['global_bus_cycles']) * k * clk * 1e6:8.2f} us "
          f"(published {ROW1_LATENCY_S['interconnect'] * 1e6:.2f} us; X-Y bus over 99 tiles here, 103 there)")
    print(f"  compute      {NS_CONV1_VECTORS / 16 * m.layers[0].mvm_latency_s * 1e6:8.2f} us "
          f"(published ADC latency {ROW1_LATENCY_S['ADC'] * 1e6:.2f} us)")
    print(f"  tiles: {det['tiles_cm']} conventional + {det['tiles_nm']} novel-mapped (NeuroSim: 67 + 36)")
    print("\nTOPS/W under the preset's assumptions:")
    for label, ov in (("input bit density 0.10 (preset)", {}), ("input bit density 0.5 (random bits)",
                                                                  {"system.input_activity": 0.5})):
        t = chip(ov)[1].chip.tops_per_w
        print(f"  {label:38s} {t:6.2f} TOPS/W  ({t / ROW1['TOPS/W']:.2f}x row 1; on NeuroSim's vector counts, "
              f"x 314.6 M / 228.3 M conversions: {t * 314_580_992 / 228_335_616:.2f})")
    print("  NeuroSim 9e6742c itself on random 8-bit traces (bits 1 with p = 0.5): 14.42 TOPS/W")


if __name__ == "__main__":
    main()
