"""`hwsim prune` subcommand (standalone entry until wired into hwsim.cli) and its output file for `hwsim cost`."""
import json

import numpy as np
import pytest

from hwsim import cli
from hwsim.cli import main as cli_main
from hwsim.weights_io import read_weights


@pytest.fixture(scope="module")
def have_data():
    from models import fashion_mnist

    try:
        fashion_mnist.find_data_dir()
    except Exception:  # pragma: no cover - the CI installs dataset-fashion-mnist
        pytest.skip("Fashion-MNIST not installed")


def test_prune_cli_writes_a_file_hwsim_cost_accepts(tmp_path, capsys, have_data):
    out = tmp_path / "p.npz"
    rc = cli_main(["prune", "--model", "lenet-300-100", "--criterion", "magnitude", "--sparsity", "0.8",
                         "--structure", "xbar_tiles", "--hardware", "reram", "--finetune-epochs", "0",
                         "--train-limit", "2000", "--limit", "500", "--out", str(out), "--json"])
    assert rc == 0
    res = json.loads(capsys.readouterr().out)
    assert res["sparsity"] == pytest.approx(0.8, abs=0.02)
    assert res["report"]["total"]["tiles"] < res["report"]["baseline_total"]["tiles"]
    wf = read_weights(out)
    assert [w.shape for _, w in wf.weights] == [(300, 784), (100, 300), (10, 100)]
    assert cli.main(["cost", "--hardware", "reram", "--weights", str(out), "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["total"]["tiles"] == res["report"]["total"]["tiles"]
    assert cli.main(["evaluate", "--model", "lenet-300-100", "--weights", str(out), "--limit", "500", "--json"]) == 0
    ev = json.loads(capsys.readouterr().out)
    assert ev["accuracy"] == pytest.approx(res["accuracy"])


def test_prune_cli_nm_text_output(tmp_path, capsys, have_data):
    out = tmp_path / "nm.npz"
    rc = cli_main(["prune", "--model", "lenet-300-100", "--structure", "nm", "--n", "2", "--m", "4",
                         "--finetune-epochs", "0", "--train-limit", "1000", "--limit", "200", "--out", str(out)])
    assert rc == 0
    text = capsys.readouterr().out
    assert "sparsity 50.00%" in text and "fc1" in text
    w = dict(read_weights(out).weights)["fc1"]
    assert np.all((w.reshape(300, -1, 4) != 0).sum(axis=2) <= 2)


@pytest.mark.parametrize("argv, msg", [
    (["--sparsity", "1.0"], "sparsity must lie in"),
    (["--sparsity", "-0.1"], "sparsity must lie in"),
    (["--structure", "block", "--block", "400", "4"], "larger than layer"),
    (["--structure", "xbar_tiles"], "needs --tile"),
    (["--accuracy-floor", "0.8"], "need --hardware"),
    (["--schedule", "imp", "--criterion", "snip"], "iterative \\*magnitude\\*"),
])
def test_prune_cli_bad_input(tmp_path, capsys, have_data, argv, msg):
    rc = cli_main(["prune", "--model", "lenet-300-100", "--finetune-epochs", "0", "--train-limit", "500",
                         "--limit", "100", "--out", str(tmp_path / "x.npz")] + argv)
    assert rc == 2
    import re

    assert re.search(msg, capsys.readouterr().err)


def test_prune_cli_shape_only_model(tmp_path, capsys):
    rc = cli_main(["prune", "--model", "vgg16", "--out", str(tmp_path / "x.npz")])
    assert rc == 2
    assert "shape-only" in capsys.readouterr().err


def test_prune_cli_unknown_criterion(tmp_path):
    with pytest.raises(SystemExit):
        cli_main(["prune", "--model", "lenet-300-100", "--criterion", "lottery", "--out", str(tmp_path / "x.npz")])


def test_prune_cli_hardware_aware_budget(tmp_path, capsys, have_data):
    out = tmp_path / "hw.npz"
    rc = cli_main(["prune", "--model", "lenet-300-100", "--hardware", "reram", "--metric", "tiles",
                         "--budget", "120", "--finetune-epochs", "0", "--train-limit", "6000", "--out", str(out),
                         "--json"])
    assert rc == 0
    res = json.loads(capsys.readouterr().out)
    assert res["tiles"] <= 120 and res["report"]["total"]["tiles"] == res["tiles"]
    assert res["baseline_tiles"] == 155


def test_prune_cli_val_split_test_needs_full_test_set(tmp_path, capsys, have_data):
    rc = cli_main(["prune", "--model", "lenet-300-100", "--hardware", "reram", "--accuracy-floor", "0.8",
                         "--val-split", "test", "--limit", "100", "--train-limit", "500", "--out",
                         str(tmp_path / "x.npz")])
    assert rc == 2
    assert "needs more than 5000 test images" in capsys.readouterr().err


def test_prune_cli_phase_domain_writes_a_programming_file(tmp_path, capsys, have_data):
    """--hardware photonic --phase-power-reg: heaters switched off, a programming file that cost/evaluate read."""
    out = tmp_path / "chip.npz"
    rc = cli_main(["prune", "--model", "lenet-300-100", "--hardware", "photonic", "--phase-power-reg", "2e-3",
                   "--phase-rounds", "1", "--phase-steps", "3", "--phase-threshold", "0.3", "--final-steps", "2",
                   "--train-limit", "1000", "--limit", "300", "--out", str(out), "--json"])
    assert rc == 0
    res = json.loads(capsys.readouterr().out)
    assert 0.05 < res["saving"] < 1 and res["heaters_on"] < res["phases"]
    assert "saving_vs_unpruned" not in res  # started from the unpruned model itself
    assert res["static_power_w"] < res["baseline_static_power_w"]
    assert cli.main(["cost", "--hardware", "photonic", "--phases", res["out"], "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["total"]["static_power_w"] == pytest.approx(res["static_power_w"], rel=1e-12)
    assert cli.main(["evaluate", "--model", "lenet-300-100", "--hardware", "photonic", "--phases", res["out"],
                     "--limit", "300", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["accuracy"] == pytest.approx(res["accuracy"])


@pytest.mark.parametrize("extra, match", [
    (["--hardware", "reram"], "--phase-power-reg: only for --hardware photonic"),
    ([], "--phase-power-reg need --hardware photonic"),
    (["--hardware", "photonic", "--accuracy-floor", "0.8"], "--accuracy-floor: not with --phase-power-reg"),
    (["--hardware", "photonic", "--phase-rounds", "0"], "--phase-rounds and --phase-steps >= 1"),
])
def test_prune_cli_phase_domain_bad_flags(tmp_path, capsys, extra, match):
    rc = cli_main(["prune", "--model", "lenet-300-100", "--phase-power-reg", "1e-4", "--out", str(tmp_path / "c.npz")]
                  + extra)
    assert rc == 2 and match in capsys.readouterr().err


def test_prune_cli_phase_domain_from_pruned_weights_reports_both_baselines(tmp_path, capsys, have_data):
    w = tmp_path / "tiles.npz"
    assert cli_main(["prune", "--model", "lenet-300-100", "--structure", "xbar_tiles", "--tile", "16", "16",
                     "--sparsity", "0.5", "--finetune-epochs", "0", "--train-limit", "500", "--limit", "200",
                     "--out", str(w), "--json"]) == 0
    capsys.readouterr()
    # weight-stationary: every tile its own mesh, so all-zero tiles free their heaters (time-multiplexed, they
    # shorten the schedule instead: tests/photonic/test_photonic_chip.py)
    assert cli_main(["prune", "--model", "lenet-300-100", "--weights", str(w), "--hardware", "photonic",
                     "--preset", "harris2014_weight_stationary",
                     "--phase-power-reg", "2e-3", "--phase-rounds", "1", "--phase-steps", "2", "--final-steps", "0",
                     "--train-limit", "500", "--limit", "200", "--out", str(tmp_path / "c.npz"), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    # the all-zero 16x16 tiles (50 % of the weights) already removed about half the heaters of the unpruned model
    assert res["baseline_static_power_w"] < 0.6 * res["unpruned_static_power_w"]
    assert res["saving_vs_unpruned"] > res["saving"] > 0
