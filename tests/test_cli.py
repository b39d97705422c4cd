"""The CLI's public contract: command names, JSON forms, clear errors."""
import json

import numpy as np
import pytest

from hwsim.cli import main


def test_models_json(capsys):
    assert main(["models", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["name"] for r in rows} >= {"lenet-300-100", "lenet5", "vgg16", "resnet18", "resnet50", "bert-base-block"}
    assert all({"layers", "params", "mvms_per_inference"} <= set(r) for r in rows)


def test_models_table(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "resnet50" in out and "25,502,912" in out


def test_evaluate_json(capsys):
    assert main(["evaluate", "--model", "lenet-300-100", "--limit", "500", "--json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert obj["model"] == "lenet-300-100" and obj["n"] == 500 and 0.8 < obj["accuracy"] <= 1.0


def test_evaluate_with_weights_file(tmp_path, capsys):
    import models

    net = models.get("lenet-300-100", pretrained=True)
    w = net.weighted_layers()[0]
    w.set_mask(np.abs(w.weight) > np.quantile(np.abs(w.weight), 0.5))
    net.save(tmp_path / "p.npz")
    assert main(["evaluate", "--model", "lenet-300-100", "--weights", str(tmp_path / "p.npz"), "--limit", "200",
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n"] == 200


@pytest.mark.parametrize("argv,match", [
    (["evaluate", "--model", "nope"], "unknown model"),
    (["evaluate", "--model", "vgg16"], "shape-only"),
    (["evaluate", "--model", "lenet5", "--weights", "/nonexistent.npz"], "does not exist"),
    (["evaluate", "--model", "lenet5", "--sigma", "0.1"], "need --hardware"),
])
def test_cli_errors_are_clear(argv, match, capsys):
    assert main(argv) == 2
    assert match in capsys.readouterr().err


def test_warmup_command_compiles_every_part_and_reports_seconds(capsys):
    """``hwsim warmup``: every registered back-end and the network runtime, progress on stderr, JSON on stdout."""
    import json

    from hwsim import backend
    from hwsim.cli import main

    assert main(["warmup", "--json"]) == 0
    out, err = capsys.readouterr()
    got = json.loads(out)
    assert set(got["seconds"]) == {"nn"} | set(backend.names())
    assert got["total_s"] == pytest.approx(sum(got["seconds"].values()))
    assert "hwsim.warmup [1/" in err and "done in" in err
