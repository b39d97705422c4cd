"""``hwsim prune --method NAME``: hyperparameter flags declared once, refused where they do not apply."""
import json

import numpy as np
import pytest

from hwsim.cli import main as cli_main
from hwsim.prune.methods import HYPERPARAMETERS, METHODS


def _run(tmp_path, *argv):
    return cli_main(["prune", "--model", "lenet-300-100", "--out", str(tmp_path / "p.npz"), *argv])


@pytest.mark.parametrize("argv, msg", [
    (["--method", "rigl", "--mu", "0.7"], "--mu does not apply to --method rigl"),
    (["--mu", "0.7"], "--mu applies to --method grda only"),
    (["--method", "set", "--criterion", "snip"], "--criterion does not apply to --method set"),
    (["--method", "obs", "--schedule", "gradual"], "--schedule does not apply"),
    (["--method", "nest", "--finetune-epochs", "1"], "--finetune-epochs does not apply"),
    (["--method", "deep_r", "--structure", "neuron"], "--structure does not apply"),
    (["--method", "grda", "--sparsity", "0.9"], "--sparsity does not apply to --method grda"),
    (["--method", "l0", "--sparsity", "0.5"], "--sparsity does not apply to --method l0"),
    (["--method", "obd", "--damp", "0.1"], "--damp does not apply to --method obd"),
])
def test_flags_that_do_not_apply_are_refused(tmp_path, capsys, argv, msg):
    assert _run(tmp_path, *argv) == 2
    assert msg in capsys.readouterr().err
    assert not (tmp_path / "p.npz").exists()


@pytest.mark.parametrize("argv, msg", [
    (["--method", "grda", "--mu", "1.0"], r"mu must lie in (0.5, 1)"),
    (["--method", "grda", "--mu", "0.5"], r"mu must lie in (0.5, 1)"),
    (["--method", "deep_r", "--temperature", "0"], "temperature must be > 0"),
    (["--method", "l0", "--beta", "-1"], "beta (hard-concrete temperature) must be > 0"),
    (["--method", "rigl", "--update-fraction", "1.2"], "must lie in [0, 1], got 1.2"),
    (["--method", "set", "--t-end", "-0.5"], "must lie in [0, 1], got -0.5"),
    (["--method", "nest", "--growth-fraction", "2"], "growth_fraction must lie in [0, 1]"),
    (["--method", "rigl", "--sparsity", "-0.1"], "sparsity must lie in [0, 1)"),
])
def test_bad_hyperparameters_are_clear_errors(tmp_path, capsys, have_data, argv, msg):
    assert _run(tmp_path, "--train-limit", "300", "--limit", "100", *argv) == 2
    assert msg in capsys.readouterr().err


def test_every_hyperparameter_has_a_flag_in_help(capsys):
    with pytest.raises(SystemExit):
        cli_main(["prune", "--help"])
    text = capsys.readouterr().out
    for h in HYPERPARAMETERS:
        assert h.flag in text
    for name in METHODS:
        assert name in text


def test_method_writes_a_pruned_file_and_reports_hardware(tmp_path, capsys, have_data):
    rc = _run(tmp_path, "--method", "rigl", "--sparsity", "0.8", "--epochs", "1", "--train-limit", "1000",
              "--limit", "300", "--delta-t", "2", "--hardware", "reram", "--json")
    assert rc == 0
    res = json.loads(capsys.readouterr().out)
    assert res["method"] == "rigl" and res["sparsity"] == pytest.approx(0.8, abs=1e-3)
    assert "report" in res
    data = np.load(tmp_path / "p.npz")
    assert np.count_nonzero(data["fc1"]) <= int(0.2 * 784 * 300) + 1
