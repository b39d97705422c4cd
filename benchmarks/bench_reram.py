"""Benchmarks of hwsim.reram (print medians and ratios measured in the same run).

    python benchmarks/bench_reram.py [--quick] [--section mapcost|chip|run|sweep|vgg]

* map+cost of ResNet-50 shapes (25.5M weights, 90% random pruning) in every mapping mode, beside the floor
  (np.count_nonzero of every layer) and the numpy reference of the mapper kernel (on a subset of layers);
* chip-level map + cost of ResNet-50 shapes at 90% sparsity (placement, replication, Report.chip; target <= 0.3 s),
  and the schedule alone;
* run of LeNet-300-100 over the Fashion-MNIST test set: the default preset (device variation) and other
  non-idealities on the chunk-list kernel, ideal devices on the low-bits and exact paths, each beside the table
  kernel (fast=False) and the float pass (issue 16: default preset <= 30x the float pass);
* accuracy vs ADC bits and vs conductance variation sigma;
* VGG-16 shapes (138M weights) map+cost peak memory (max RSS, in a fresh subprocess).
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time

import numpy as np
from _timing import median_seconds  # the script's folder is on sys.path


def median_time(fn, repeat=5):
    return median_seconds(fn, repeat=repeat, warmup=0)


def bench_mapcost(repeat):
    import models
    import hwsim.reram as rr
    from hwsim.reram import _reference as ref
    from hwsim.reram.mapping import quantization, zero_levels

    layers = list(models.get("resnet50").matrix_layers(seed=0, sparsity=0.9))
    n = sum(l.weight.size for l in layers)
    floor = median_time(lambda: [np.count_nonzero(l.weight) for l in layers], repeat)
    print(f"ResNet-50 shapes: {len(layers)} layers, {n / 1e6:.1f}M weights, 90% random pruning")
    print(f"  floor (np.count_nonzero of every layer): {floor * 1e3:8.1f} ms")
    from hwsim.reram.mapping import ReramMapping, map_layer
    from hwsim.workload import iter_matrix_layers

    def dense_path(cfg):  # the dense-pass mapper (scan of every weight, q materialised): the A/B reference
        return rr.cost(ReramMapping(cfg, tuple(map_layer(l, cfg, _sparse=False) for l in iter_matrix_layers(layers))))

    t_val = median_time(lambda: list(iter_matrix_layers(layers)), repeat)
    print(f"  weight validation alone (hwsim.workload.iter_matrix_layers, part of every map): {t_val * 1e3:8.1f} ms   "
          f"{t_val / floor:6.1f}x floor")
    for mode in rr.MAPPING_MODES:
        cfg = rr.resolve_config("default", mapping=mode)
        t = median_time(lambda: rr.cost(rr.map(layers, cfg)), repeat)
        t_d = median_time(lambda: dense_path(cfg), repeat)
        rep = rr.cost(rr.map(layers, cfg))
        same = rep.to_json() == dense_path(cfg).to_json()
        print(f"  map+cost {mode:<10} {t * 1e3:8.1f} ms   {t / floor:6.1f}x floor   tiles {rep.total.tiles}   "
              f"dense-pass path {t_d * 1e3:8.1f} ms ({t_d / floor:5.1f}x floor, {t_d / t:4.2f}x slower), "
              f"Report JSON identical: {same}")
    # mapper kernel vs its numpy reference, on the layers up to ~2M weights (the oracle materialises every cell)
    cfg = rr.get_preset("default")
    sub = [l for l in layers if l.weight.size <= 600_000][:12]
    ns = sum(l.weight.size for l in sub)

    def oracle():
        for l in sub:
            s, qmax = quantization(l.weight, cfg)
            ref.scan_layer(l.weight, 1 / s, qmax, cfg.rows, cfg.cols, cfg.columns_per_weight, cfg.slices,
                           cfg.crossbar.bits_per_cell, True, cfg.offset_value, zero_levels(cfg))

    t_ref = median_time(oracle, 3)
    t_k = median_time(lambda: rr.map(sub, cfg), repeat)
    print(f"  mapper on {len(sub)} layers ({ns / 1e6:.2f}M weights): kernel {t_k * 1e3:.1f} ms, numpy reference "
          f"{t_ref * 1e3:.1f} ms, ratio {t_ref / t_k:.1f}x")


def bench_chip(repeat):
    import models
    import hwsim.reram as rr
    from hwsim.reram.chip import schedule

    layers = list(models.get("resnet50").matrix_layers(seed=0, sparsity=0.9))
    for preset in ("default", "isaac", "neurosim-v1.4"):
        cfg = rr.get_preset(preset)
        t = median_time(lambda: rr.cost(rr.map(layers, cfg)), repeat)
        cpu = []  # CPU seconds of this process (all threads): what the work costs whatever the machine's load
        for _ in range(repeat):
            c0 = time.process_time()
            rr.cost(rr.map(layers, cfg))
            cpu.append(time.process_time() - c0)
        m = rr.map(layers, cfg)
        t_s = median_time(lambda: schedule(m), repeat)
        c = rr.cost(m).chip
        print(f"ResNet-50 shapes, 90% random, {preset}: chip-level map+cost {t * 1e3:7.1f} ms (target <= 300 ms; "
              f"CPU {sorted(cpu)[len(cpu) // 2] * 1e3:.1f} ms), "
              f"schedule alone {t_s * 1e3:.2f} ms; {c.chips} chip(s), {c.tiles_used}/{c.tiles_available} tiles, "
              f"{c.throughput_inferences_per_s:.4g} inferences/s, {c.tops_per_w:.3g} TOPS/W")


def _wall_cpu(fn, repeat):
    """(median wall s, median CPU s of this process, all threads) of ``fn()`` over ``repeat`` runs."""
    wall, cpu = [], []
    for _ in range(repeat):
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return sorted(wall)[len(wall) // 2], sorted(cpu)[len(cpu) // 2]


def bench_run(limit, repeat=3):
    import numba

    import models
    from models import fashion_mnist
    import hwsim.reram as rr

    from hwsim.reram.run import engines

    net = models.get("lenet-300-100", pretrained=True)
    x, y = fashion_mnist.load("test", limit=limit)
    acc_f = net.accuracy(x, y)
    t_f, c_f = _wall_cpu(lambda: net.accuracy(x, y), 5)
    print(f"LeNet-300-100, {len(y)} Fashion-MNIST test images: float {acc_f * 100:.2f}%, median of 5 "
          f"{t_f * 1e3:.1f} ms (CPU {c_f * 1e3:.1f} ms); numba threads {numba.get_num_threads()}, "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}; medians of {repeat} runs, "
          f"ratios to the float pass as wall (CPU); A/B in this process against the table kernel (fast=False)")

    def row(label, m, ab):
        acc = rr.accuracy(m, x, y, seed=0)
        dt, ct = _wall_cpu(lambda: rr.accuracy(m, x, y, seed=0), repeat)
        print(f"  run {label:<52} {acc * 100:6.2f}%  {dt:6.2f} s  ({dt / t_f:5.1f}x float; CPU {ct:5.2f} s, "
              f"{ct / c_f:5.1f}x)")
        if not ab:
            return

        def reference():
            eng = engines(m, 0, fast=False)
            return net.accuracy(x, y, matmul=lambda i, c: eng[i](c))

        acc_r = reference()
        dt_r, ct_r = _wall_cpu(reference, repeat)
        same = np.array_equal(net.predict(x[:2000], matmul=(lambda e: lambda i, c: e[i](c))(engines(m, 0))),
                              net.predict(x[:2000], matmul=(lambda e: lambda i, c: e[i](c))(engines(m, 0, fast=False))))
        print(f"      table kernel (reference)                         {acc_r * 100:6.2f}%  {dt_r:6.2f} s  "
              f"({dt_r / t_f:5.1f}x float; CPU {ct_r:5.2f} s, {ct_r / c_f:5.1f}x); speed-up {dt_r / dt:.1f}x "
              f"(CPU {ct_r / ct:.1f}x), logits on 2000 images bit-identical: {same}")

    # the default preset carries device variation (lognormal sigma 0.043): the chunk-list kernel
    for label, preset, kw in (("default preset (sigma 0.043, 8-bit ADC; list kernel)", "default", {}),
                              ("default + stuck-at 1 %/1 % (list kernel)", "default",
                               {"overrides": {"nonideal.p_sa0": 0.01, "nonideal.p_sa1": 0.01}}),
                              ("default, clipping ADC range 1/4 (list kernel)", "default",
                               {"overrides": {"adc.range_fraction": 0.25}}),
                              ("ideal preset, 3-bit ADC (list kernel)", "ideal", {"adc_bits": 3})):
        row(label, rr.map(net, rr.resolve_config(preset, **kw)), True)
    # preset ideal = the default preset with ideal devices: the low-bits path (LSB <= 2^LOWBITS_MAX), the list
    # kernel (coarser ADCs) and the exact path
    for label, kw in (("ideal preset (8-bit ADC, low-bits path)", {}),
                      ("ideal preset, 7-bit ADC (list kernel)", {"adc_bits": 7}),
                      ("ideal preset, 6-bit ADC (list kernel)", {"adc_bits": 6}),
                      ("ideal preset, 4-bit ADC (list kernel)", {"adc_bits": 4}),
                      ("ideal 8-bit (9-bit ADC, exact path)", {"adc_bits": 9})):
        row(label, rr.map(net, rr.resolve_config("ideal", **kw)), "exact" not in label)


def bench_sweep(limit):
    import models
    from models import fashion_mnist
    import hwsim.reram as rr

    net = models.get("lenet-300-100", pretrained=True)
    x, y = fashion_mnist.load("test", limit=limit)
    print(f"Accuracy of LeNet-300-100 on {len(y)} test images, ideal preset (the default with ideal devices: 8-bit "
          f"weights/inputs, 2 bits/cell, 128x128, skip_empty), float {net.accuracy(x, y) * 100:.2f}%")
    for bits in (4, 5, 6, 7, 8, 9):
        acc = rr.accuracy(rr.map(net, rr.resolve_config("ideal", adc_bits=bits)), x, y, seed=0)
        print(f"  ADC bits {bits}: {acc * 100:.2f}%")
    for sigma in (0.0, 0.02, 0.05, 0.1, 0.2, 0.3):
        acc = rr.accuracy(rr.map(net, rr.resolve_config("ideal", adc_bits=9, sigma=sigma)), x, y, seed=0)
        print(f"  sigma {sigma:4.2f} (lognormal, 9-bit ADC): {acc * 100:.2f}%")


def vgg_child():
    import models
    import hwsim.reram as rr

    t = time.perf_counter()
    r = rr.cost(rr.map(models.get("vgg16").matrix_layers(seed=0, sparsity=0.9), rr.get_preset("default")))
    dt = time.perf_counter() - t
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2
    print(f"VGG-16 shapes (138M weights, 90% random, weights drawn layer by layer): map+cost incl. generation "
          f"{dt:.1f} s, tiles {r.total.tiles}, peak RSS {rss:.2f} GB")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--section", choices=["mapcost", "chip", "run", "sweep", "vgg", "all"], default="all")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--vgg-child", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.vgg_child:
        vgg_child()
        return
    import os

    import hwsim

    hwsim.warmup()
    from _timing import machine

    print(machine())
    print("load average at start: %.2f %.2f %.2f (shared machine: compare ratios within one run)" % os.getloadavg())
    if a.section in ("mapcost", "all"):
        bench_mapcost(3 if a.quick else 7)
        print("load average at end of mapcost: %.2f %.2f %.2f" % os.getloadavg())
    if a.section in ("chip", "all"):
        bench_chip(3 if a.quick else 7)
    if a.section in ("run", "all"):
        bench_run(2000 if a.quick else None)
        print("load average at end of run: %.2f %.2f %.2f" % os.getloadavg())
    if a.section in ("sweep", "all"):
        bench_sweep(2000 if a.quick else None)
    if a.section in ("vgg", "all"):
        subprocess.run([sys.executable, __file__, "--vgg-child"], check=True)


if __name__ == "__main__":
    main()
