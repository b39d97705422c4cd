"""Photonic back-end benchmarks: prints medians and ratios side by side (run a few times: the machine is shared).

    python benchmarks/bench_photonic.py [--quick] [--no-vgg] [--only mesh]

0. single calls of the public decompose + reconstruct (one unitary), best and median, quiet and with one core kept
   busy by another process, vs the `interferometer` package (PyPI, benchmark-only);
1. decompose + reconstruct (Clements, Haar-random complex unitaries), hwsim batched over many tiles vs
   `interferometer`, per tile;
2. map + cost of ResNet-50 shapes, 16 x 16 tiles (wall time, numba's thread count and one thread), against the
   floor of weight generation + serial numpy SVD of the same tiles; ``--only svd``: the batched Jacobi SVD against
   numpy's per K (thread CPU time);
3. map + cost of VGG-16 shapes in a subprocess: wall time and peak RSS;
4. static power vs weight sparsity (LeNet-300-100, trained weights): random unstructured vs all-zero tiles;
5. LeNet-300-100 accuracy on hardware vs phase-noise sigma (full Fashion-MNIST test set).
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time

import numpy as np
from _timing import machine, median_seconds  # the script's folder is on sys.path

import hwsim
from hwsim import photonic as P


def median_time(fn, reps):
    return median_seconds(fn, repeat=reps, warmup=0)


def bench_mesh(quick: bool) -> None:
    import interferometer as itf

    import numba

    print(f"## batched: decompose + reconstruct of a stack, per tile (Clements, complex Haar unitaries; lane kernels "
          f"for N <= 32, per-tile kernels above; {numba.get_num_threads()} threads)")
    print(f"{'N':>4} {'tiles':>7} {'hwsim us/tile':>14} {'interferometer us/tile':>23} {'ratio':>8} {'max err hwsim':>14}")
    for n, tiles, itf_reps in ((8, 10000, 30), (16, 10000, 15), (32, 10000, 3), (64, 2000, 1)):
        if quick:
            tiles, itf_reps = max(200, tiles // 20), max(1, itf_reps // 3)
        u = P.haar_unitary(n, tiles, seed=n)
        P.reconstruct(P.decompose(u[:4]))
        out = {}

        def ours():
            out["v"] = P.reconstruct(P.decompose(u))

        t_ours = median_time(ours, 3) / tiles
        err = float(np.max(np.abs(out["v"] - u)))
        ts = []
        for i in range(itf_reps):
            t = time.perf_counter()
            I = itf.square_decomposition(u[i])
            I.calculate_transformation()
            ts.append(time.perf_counter() - t)
        t_itf = float(np.median(ts))
        print(f"{n:>4} {tiles:>7} {t_ours * 1e6:>14.2f} {t_itf * 1e6:>23.1f} {t_itf / t_ours:>8.0f} {err:>14.2e}")


_BUSY = "import time\nt = time.time()\nwhile time.time() - t < 600: pass\n"


def bench_single(quick: bool) -> None:
    """Public single-call decompose + reconstruct (one unitary, the path a user takes): best and median of 200
    calls, quiet and while a busy-loop process keeps one core busy, against interferometer's best of 3."""
    import numba

    import interferometer as itf
    from hwsim.photonic import mesh as M

    reps = 50 if quick else 200
    print(f"## single call: public decompose + reconstruct of one unitary (Clements, complex; per-tile kernel on the "
          f"calling thread; NUMBA_NUM_THREADS = {numba.get_num_threads()}, unused), best / median of {reps} calls")
    print(f"{'N':>4} {'best us':>9} {'median us':>10} {'median, 1 core busy':>20} {'itf best ms':>12} "
          f"{'ratio best':>11} {'ratio median busy':>18}")
    rows = []
    for n in (16, 31, 32, 33, 64):
        u = P.haar_unitary(n, 3, seed=n)
        assert not M._use_lanes(1, n) and M._chunks(1, False, n) == 1
        P.reconstruct(P.decompose(u[0]))
        ts = []
        for _ in range(reps):
            t = time.perf_counter()
            P.reconstruct(P.decompose(u[0]))
            ts.append(time.perf_counter() - t)
        ti = []
        for i in range(3):
            t = time.perf_counter()
            I = itf.square_decomposition(u[i])
            I.calculate_transformation()
            ti.append(time.perf_counter() - t)
        rows.append([n, min(ts), float(np.median(ts)), None, min(ti)])
    busy = subprocess.Popen([sys.executable, "-c", _BUSY])
    try:
        time.sleep(0.2)
        for row in rows:
            u = P.haar_unitary(row[0], 1, seed=row[0])[0]
            ts = []
            for _ in range(reps):
                t = time.perf_counter()
                P.reconstruct(P.decompose(u))
                ts.append(time.perf_counter() - t)
            row[3] = float(np.median(ts))
    finally:
        busy.kill()
        busy.wait()
    for n, b, med, med_busy, ti in rows:
        print(f"{n:>4} {b * 1e6:>9.1f} {med * 1e6:>10.1f} {med_busy * 1e6:>20.1f} {ti * 1e3:>12.2f} {ti / b:>11.0f} "
              f"{ti / med_busy:>18.0f}")


def bench_resnet50(reps: int) -> None:
    """Map + cost of ResNet-50 shapes (K = 16) on numba's thread count and on one thread, against the floor of the
    issue (weight generation + serial numpy SVD of the same tiles) and the same floor with the Jacobi SVD."""
    import numba

    import models
    from hwsim.photonic import _kernels_tiles as KT, _svd as SV

    net = models.get("resnet50")
    cfg = P.resolve_config()
    holder = {}

    def run():
        holder["r"] = P.cost(P.map(net, cfg))

    threads = numba.get_num_threads()
    t = median_time(run, reps)
    c0 = time.process_time()
    run()
    cpu = time.process_time() - c0
    numba.set_num_threads(1)
    try:
        t1 = median_time(run, reps)
    finally:
        numba.set_num_threads(threads)
    r = holder["r"]
    c = r.chip
    print(f"## ResNet-50 shapes, K = 16, chip level ({cfg.chip.mode}, {cfg.chip.cores} cores, batch "
          f"{cfg.chip.batch_size}): map + cost median {t:.2f} s over {reps} runs on {threads} threads ({cpu:.2f} s CPU), "
          f"{t1:.2f} s on 1 thread (target <= 5 s); {r.total.tiles} tiles; chip: static {c.static_power_w:.1f} W, "
          f"{c.energy_per_inference_j * 1e3:.3f} mJ/inference, {c.throughput_inferences_per_s:.4g} inferences/s, "
          f"latency {c.latency_s * 1e3:.4g} ms, area {c.area_mm2:.0f} mm^2")
    # floor in the same run: weight generation + SVD of the same tiles (serial), nothing else

    def floor(svd):
        for layer in hwsim.iter_matrix_layers(net):
            tr, tc = np.nonzero(KT.tile_nonzero(layer.weight, 16))
            for c0 in range(0, tr.shape[0], 4096):
                b = np.empty((min(4096, tr.shape[0] - c0), 16, 16))
                KT.gather_tiles(layer.weight, 16, tr[c0:c0 + 4096].astype(np.int64), tc[c0:c0 + 4096].astype(np.int64), b)
                svd(b)

    tf = median_time(lambda: floor(np.linalg.svd), reps)
    tj = median_time(lambda: floor(SV.svd_tiles), reps)
    tg = median_time(lambda: floor(lambda b: None), reps)
    print(f"   floor (weight generation + numpy SVD of the same tiles, serial): median {tf:.2f} s (weights + gather alone "
          f"{tg:.2f} s; with the Jacobi SVD instead {tj:.2f} s); map + cost = {t / tf:.2f}x floor on {threads} threads, "
          f"{t1 / tf:.2f}x on 1 thread (target <= 0.6x)")


def bench_svd() -> None:
    """Thread CPU time per tile: the lane-batched Jacobi SVD against numpy's (LAPACK gesdd per tile), and the
    canonical form, on Gaussian tiles; medians of 5 (the best beside them: the machine is shared)."""
    import statistics

    from hwsim.photonic import _svd as SV

    def cpu_times(fn, reps=5):
        ts = []
        for _ in range(reps):
            t0 = time.thread_time()
            fn()
            ts.append(time.thread_time() - t0)
        return statistics.median(ts), min(ts)

    print("## batched SVD of K x K tiles, thread CPU time per tile, median of 5 (best) (Gaussian tiles; sweeps: the "
          "most a block of 32 needed)")
    print(f"{'K':>4} {'tiles':>6} {'jacobi us':>16} {'numpy us':>16} {'ratio':>6} {'sweeps':>7} {'canonical us':>13} "
          f"{'max |s - s_np| / s0':>20}")
    for k, n in ((4, 8192), (8, 8192), (12, 4096), (16, 4096), (20, 2048), (24, 1024), (28, 1024), (32, 512)):
        b = np.random.default_rng(k).standard_normal((n, k, k))
        SV.svd_tiles(b[:32].copy())
        tj, bj = cpu_times(lambda: SV.svd_tiles(b))
        tn, bn = cpu_times(lambda: np.linalg.svd(b))
        u, s, vt, sweeps = SV.svd_tiles(b)
        tc, _ = cpu_times(lambda: SV.canonicalize(u, s, vt))
        err = float(np.max(np.abs(s - np.linalg.svd(b, compute_uv=False)) / s[:, :1]))
        print(f"{k:>4} {n:>6} {tj / n * 1e6:>8.2f} ({bj / n * 1e6:5.2f}) {tn / n * 1e6:>8.2f} ({bn / n * 1e6:5.2f}) "
              f"{tn / tj:>6.2f} {sweeps:>7} {tc / n * 1e6:>13.2f} {err:>20.2e}")


_VGG_CHILD = """
import time, resource
import hwsim, models
from hwsim import photonic as P
hwsim.warmup()
t = time.perf_counter()
r = P.cost(P.map(models.get("vgg16"), P.resolve_config()))
dt = time.perf_counter() - t
print(r.total.tiles, dt, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2, r.total.static_power_w)
"""


def bench_vgg16() -> None:
    # the child imports the installed package (pip install -e .), like this script
    res = subprocess.run([sys.executable, "-c", _VGG_CHILD], capture_output=True, text=True)
    if res.returncode != 0:
        print("## VGG-16: FAILED\n" + res.stderr[-2000:])
        return
    tiles, dt, rss_gb, static = res.stdout.split()[-4:]
    print(f"## VGG-16 shapes, K = 16: {int(tiles)} tiles, map + cost {float(dt):.1f} s, "
          f"peak RSS {float(rss_gb):.2f} GiB, static {float(static) / 1e3:.0f} kW")


def bench_sparsity() -> None:
    import models

    net = models.get("lenet-300-100", pretrained=True)
    ws = [l.weight.astype(np.float64) * l.mask for l in net.weighted_layers()]
    cfg = P.resolve_config()
    rng = np.random.default_rng(0)
    base = P.cost(P.map(ws, cfg))
    print("## static power vs weight sparsity (LeNet-300-100 trained weights, K = 16)")
    print(f"{'pattern':<28}{'sparsity':>9}{'tiles':>7}{'static W':>12}{'ratio':>8}")
    print(f"{'dense':<28}{0.0:>9.2f}{base.total.tiles:>7}{base.total.static_power_w:>12.1f}{1.0:>8.3f}")
    for s in (0.5, 0.9):
        w2 = [w * (rng.random(w.shape) >= s) for w in ws]
        r = P.cost(P.map(w2, cfg))
        print(f"{'random unstructured':<28}{s:>9.2f}{r.total.tiles:>7}{r.total.static_power_w:>12.1f}"
              f"{r.total.static_power_w / base.total.static_power_w:>8.3f}")
    for s in (0.5, 0.9):
        w2 = []
        for w in ws:
            w = w.copy()
            nr, nc = -(-w.shape[0] // 16), -(-w.shape[1] // 16)
            zero = rng.random((nr, nc)) < s
            for i, j in zip(*np.nonzero(zero)):
                w[i * 16:(i + 1) * 16, j * 16:(j + 1) * 16] = 0
            w2.append(w)
        r = P.cost(P.map(w2, cfg))
        print(f"{'all-zero 16x16 tiles':<28}{s:>9.2f}{r.total.tiles:>7}{r.total.static_power_w:>12.1f}"
              f"{r.total.static_power_w / base.total.static_power_w:>8.3f}")
    for thr in (0.05, 0.2):
        m = P.prune_phases(P.map(ws, cfg), threshold=thr)
        r = P.cost(m)
        errs = P.matrix_error(m)
        print(f"{'phases within %.2f rad of 0' % thr:<28}{'':>9}{r.total.tiles:>7}{r.total.static_power_w:>12.1f}"
              f"{r.total.static_power_w / base.total.static_power_w:>8.3f}   ||dW||/||W|| "
              + ", ".join(f"{k} {v:.3f}" for k, v in errs.items()))


def bench_accuracy(quick: bool) -> None:
    import models
    from models import fashion_mnist

    net = models.get("lenet-300-100", pretrained=True)
    x, y = fashion_mnist.load("test")
    if quick:
        x, y = x[:2000], y[:2000]
    m = P.map(net, P.resolve_config())
    print(f"## LeNet-300-100 accuracy on hardware vs phase noise ({len(y)} test images, 3 chip seeds)")
    print(f"float accuracy {net.accuracy(x, y):.4f}")
    print(f"{'sigma rad':>10}{'mean acc':>10}{'min':>8}{'max':>8}")
    for s in (0.0, 0.005, 0.01, 0.02, 0.05, 0.1):
        accs = [P.accuracy(m, x, y, seed=k, noise=P.NoiseConfig(phase_noise_rad=s)) for k in range(3)]
        print(f"{s:>10.3f}{np.mean(accs):>10.4f}{min(accs):>8.4f}{max(accs):>8.4f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--no-vgg", action="store_true")
    ap.add_argument("--only", choices=("mesh", "resnet50", "svd"),
                    help="run only sections 0-1 (mesh), 2 (resnet50) or the batched SVD (svd)")
    args = ap.parse_args()
    hwsim.warmup()
    print(f"load average at start: {os.getloadavg()}")
    print(f"{machine()}; numba threads {__import__('numba').get_num_threads()}, "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}")
    if args.only in (None, "mesh"):
        bench_single(args.quick)
        bench_mesh(args.quick)
    if args.only in (None, "svd"):
        bench_svd()
    if args.only in (None, "resnet50"):
        bench_resnet50(1 if args.quick else 3)
    if args.only:
        print(f"load average at end: {os.getloadavg()}")
        return
    if not args.no_vgg:
        bench_vgg16()
    bench_sparsity()
    bench_accuracy(args.quick)
    print(f"load average at end: {os.getloadavg()}; peak RSS of this process "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2:.2f} GiB")


if __name__ == "__main__":
    main()
