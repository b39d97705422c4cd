"""The lead's CLI driving hwsim.reram (cost and evaluate)."""
import json

import pytest

from hwsim.cli import main


def test_cli_cost_json(capsys):
    assert main(["cost", "--hardware", "reram", "--preset", "isaac", "--mapping", "compact", "--model",
                 "lenet-300-100", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["hardware"] == "reram" and d["preset"] == "isaac" and d["config"]["mapping"]["mode"] == "compact"
    assert d["total"]["tiles"] == sum(l["tiles"] for l in d["layers"]) > 0


def test_cli_cost_shape_model_table(capsys):
    assert main(["cost", "--hardware", "reram", "--model", "resnet18", "--sparsity", "0.5"]) == 0
    assert "hardware: reram" in capsys.readouterr().out


def test_cli_cost_config_file(tmp_path, capsys):
    p = tmp_path / "r.toml"
    p.write_text('preset = "neurosim-cell"\n[mapping]\nmode = "ou"\n')
    assert main(["cost", "--hardware", "reram", "--config", str(p), "--model", "lenet-300-100", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["config"]["mapping"]["mode"] == "ou"


def test_cli_bad_mapping_is_a_clean_error(capsys):
    assert main(["cost", "--hardware", "reram", "--mapping", "banana", "--model", "lenet-300-100"]) == 2
    assert "unknown mapping mode 'banana'" in capsys.readouterr().err


@pytest.mark.slow
def test_cli_evaluate(capsys, fmnist_test):
    assert main(["evaluate", "--hardware", "reram", "--model", "lenet-300-100", "--adc-bits", "9", "--limit", "500",
                 "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["n"] == 500 and 0.8 < d["accuracy"] <= 1.0
