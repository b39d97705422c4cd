"""Issue-5 acceptance runs on the real data (slow: minutes; run with ``pytest -m slow tests/prune``)."""
import importlib.util
from pathlib import Path

import numpy as np
import pytest

import hwsim.prune as hp

ROOT = Path(__file__).resolve().parents[2]


def _load(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "experiments" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.slow
def test_lenet300_90_percent_sparsity_within_half_a_point(fmnist_test):
    r = _load("prune_lenet90").run(epochs=15)
    assert r["sparsity"] >= 0.9 - 1e-6
    assert r["loss_pt"] <= 0.5
    for l in r["network"].weighted_layers():
        assert np.all(l.weight[~l.mask] == 0.0)


@pytest.mark.slow
def test_reram_hardware_aware_frees_tiles_where_magnitude_does_not(fmnist_test):
    import models
    from hwsim import reram
    from models import fashion_mnist

    net = models.get("lenet-300-100", pretrained=True)
    train = fashion_mnist.load("train", limit=20000)
    x, y = fmnist_test
    cfg = reram.resolve_config()
    base_val = net.accuracy(x[:5000], y[:5000])
    r = hp.optimize(net, "reram", train, metric="tiles", accuracy_floor=base_val - 0.015, config=cfg,
                    val_data=(x[:5000], y[:5000]), finetune_epochs=2, recovery_steps=30, schedule="gradual",
                    sort_neurons=True, levels=(0.0, 0.5, 0.7, 0.8), max_trials=3)
    assert r.val_accuracy >= base_val - 0.015
    assert r.report.total.tiles <= 0.75 * r.baseline_report.total.tiles
    mag = hp.prune(net, criterion="magnitude", sparsity=r.network.sparsity(), scope="global")
    assert reram.cost(reram.map(mag, cfg)).total.tiles == r.baseline_report.total.tiles  # no tile freed


def test_committed_photonic_chip_still_saves_90_percent_within_a_point(fmnist_test):
    """The programming file written by the photonic recipe (experiments/prune_photonic.py, run
    prune_photonic_final) re-costed and re-evaluated by the current simulator: a change of the cost model, the
    mesh conventions or the photonic forward that invalidates the recorded result fails here (fast: seconds)."""
    import models
    from hwsim import photonic

    net = models.get("lenet-300-100", pretrained=True)
    chip = photonic.load_programming(ROOT / "experiments" / "out" / "prune_photonic_final_programming.npz",
                                     models.get("lenet-300-100"))
    # the chip the file records (an ideal chip: the preset's built-chip phase noise is an accuracy setting added later)
    dense = photonic.map(net, photonic.resolve_config("harris2014_weight_stationary", overrides={
        "noise.phase_noise_rad": 0.0, "noise.phase_bits": 0}))
    assert chip.config.chip.mode == "weight_stationary"
    x, y = fmnist_test
    saved = 1 - photonic.cost(chip).total.static_power_w / photonic.cost(dense).total.static_power_w
    loss_pt = 100 * (photonic.accuracy(dense, x, y) - photonic.accuracy(chip, x, y))
    assert saved >= 0.90 and loss_pt <= 1.0
    assert saved == pytest.approx(0.9019, abs=5e-4) and loss_pt == pytest.approx(0.73, abs=0.02)
