"""Run every README command with ``--json`` and save or compare the JSON each prints (issue 9: behaviour unchanged).

    python benchmarks/readme_json.py --save DIR      # record the JSON of every README command into DIR
    python benchmarks/readme_json.py --compare DIR   # run them again; exit 1 on the first difference
    python benchmarks/readme_json.py --fast ...      # skip the three prune commands (minutes of fine-tuning)

Run-dependent values (wall-clock ``seconds``, the output paths of ``--out``) are dropped before comparing; all else
must be identical: same keys, same numbers to the last bit. Each command runs in a fresh process from a scratch
folder, exactly as a user types it (the ``hwsim`` on PATH, i.e. the installed package).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: The README's input files, copied into the scratch folder so that paths echoed in the JSON do not name the checkout.
INPUT_FILES = {"chip.npz": ROOT / "experiments/out/prune_photonic_final_programming.npz",
               "stage_a.npz": ROOT / "experiments/out/prune_photonic_v2_stage_a.npz"}
CHIP, STAGE_A = "chip.npz", "stage_a.npz"

#: (name, argv after ``hwsim``, slow). Every command of README.md's "Command line" section, plus each preset.
COMMANDS: list[tuple[str, list[str], bool]] = [
    ("models", ["models", "--json"], False),
    ("evaluate_lenet5", ["evaluate", "--model", "lenet5", "--json"], False),
    ("cost_reram_lenet300", ["cost", "--hardware", "reram", "--model", "lenet-300-100", "--json"], False),
    ("cost_reram_isaac_lenet5", ["cost", "--hardware", "reram", "--preset", "isaac", "--model", "lenet5", "--json"],
     False),
    ("cost_reram_neurosim_resnet18", ["cost", "--hardware", "reram", "--preset", "neurosim-cell", "--model", "resnet18",
                                      "--sparsity", "0.5", "--json"], False),
    ("cost_reram_toml", ["cost", "--hardware", "reram", "--config", "isaac_adc6.toml", "--model", "lenet-300-100",
                         "--json"], False),
    ("cost_reram_ou_vgg16", ["cost", "--hardware", "reram", "--mapping", "ou", "--model", "vgg16", "--sparsity", "0.9",
                             "--pattern", "block", "--json"], False),
    ("cost_photonic_lenet300", ["cost", "--hardware", "photonic", "--model", "lenet-300-100", "--json"], False),
    ("cost_photonic_reck_lenet5", ["cost", "--hardware", "photonic", "--preset", "harris2014_reck", "--model",
                                   "lenet5", "--json"], False),
    ("cost_photonic_push_pull_tile8", ["cost", "--hardware", "photonic", "--preset", "harris2014_push_pull",
                                       "--tile", "8", "--model", "lenet-300-100", "--json"], False),
    ("cost_photonic_weights_only", ["cost", "--hardware", "photonic", "--weights", "weights_only.npz", "--json"],
     False),
    ("evaluate_reram", ["evaluate", "--model", "lenet-300-100", "--hardware", "reram", "--limit", "2000", "--json"],
     False),
    ("evaluate_reram_calibrated", ["evaluate", "--model", "lenet-300-100", "--hardware", "reram", "--preset",
                                   "neurosim-cell", "--adc-calibration", "200", "--limit", "1000", "--json"], False),
    ("evaluate_photonic", ["evaluate", "--model", "lenet-300-100", "--hardware", "photonic", "--phase-noise", "0.01",
                           "--seed", "3", "--limit", "2000", "--json"], False),
    ("cost_phases", ["cost", "--hardware", "photonic", "--phases", CHIP, "--json"], False),
    ("evaluate_phases", ["evaluate", "--model", "lenet-300-100", "--hardware", "photonic", "--phases", CHIP,
                         "--phase-noise", "0.01", "--limit", "2000", "--json"], False),
    ("prune_magnitude", ["prune", "--model", "lenet-300-100", "--criterion", "magnitude", "--sparsity", "0.9",
                         "--finetune-epochs", "3", "--out", "p_magnitude.npz", "--json"], True),
    ("evaluate_lenet300_weights", ["evaluate", "--model", "lenet-300-100", "--weights", "p_magnitude.npz", "--json"],
     True),
    ("prune_reram_tiles", ["prune", "--model", "lenet-300-100", "--hardware", "reram", "--metric", "tiles",
                           "--accuracy-floor", "0.89", "--val-split", "test", "--out", "p_tiles.npz", "--json"], True),
    ("prune_phase_domain", ["prune", "--model", "lenet-300-100", "--weights", STAGE_A, "--hardware", "photonic",
                            "--phase-power-reg", "1.2e-4", "--gauge-levels", "16", "--out", "chip_pruned.npz", "--json"],
     True),
    ("demo", ["demo", "--out", "demo-out", "--json"], False),
]
DROPPED_KEYS = {"seconds", "out"}


def _clean(obj):
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items() if k not in DROPPED_KEYS}
    if isinstance(obj, list):
        return [_clean(v) for v in obj]
    return obj


def _inputs(work: Path) -> None:
    """The input files the commands name: a TOML config and a weights-only file."""
    import numpy as np

    for name, source in INPUT_FILES.items():
        shutil.copyfile(source, work / name)
    (work / "isaac_adc6.toml").write_text('preset = "isaac"\n[adc]\nbits = 6\n')
    rng = np.random.default_rng(0)
    w1 = rng.standard_normal((40, 30))
    w1[np.abs(w1) < 1.0] = 0.0
    np.savez(work / "weights_only.npz", fc1=w1, fc2=rng.standard_normal((10, 40)))


def run_all(fast: bool) -> dict[str, object]:
    hwsim = shutil.which("hwsim") or str(Path(sys.executable).parent / "hwsim")
    out: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as d:
        work = Path(d)
        _inputs(work)
        env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
        for name, argv, slow in COMMANDS:
            if fast and slow:
                continue
            t0 = time.perf_counter()
            p = subprocess.run([hwsim, *argv], cwd=work, env=env, capture_output=True, text=True)
            if p.returncode != 0:
                raise SystemExit(f"{name}: exit {p.returncode}\n{p.stderr[-2000:]}")
            out[name] = _clean(json.loads(p.stdout))
            print(f"{name:<34} {time.perf_counter() - t0:7.1f} s", file=sys.stderr, flush=True)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--save", type=Path)
    g.add_argument("--compare", type=Path)
    ap.add_argument("--fast", action="store_true", help="skip the prune commands")
    args = ap.parse_args()
    results = run_all(args.fast)
    if args.save:
        args.save.mkdir(parents=True, exist_ok=True)
        for name, obj in results.items():
            tmp = args.save / f".{name}.json.tmp"
            tmp.write_text(json.dumps(obj, indent=1, sort_keys=True))
            tmp.replace(args.save / f"{name}.json")
        print(f"saved {len(results)} outputs to {args.save}")
        return 0
    bad = 0
    for name, obj in results.items():
        ref = json.loads((args.compare / f"{name}.json").read_text())
        same = json.dumps(obj, sort_keys=True) == json.dumps(ref, sort_keys=True)
        print(f"{name:<34} {'identical' if same else 'DIFFERENT'}")
        bad += not same
    print(f"{len(results) - bad} of {len(results)} identical")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
