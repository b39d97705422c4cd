"""Issue 13, items 6-7 on the command line: --set on evaluate, --sparsity on a trainable model (cost and evaluate),
accuracy on hardware naming its non-idealities, and progress on stderr with --json clean on stdout."""
import json

import numpy as np
import pytest

import models
from hwsim import backend
from hwsim import prune as hp
from hwsim.cli import evaluate as cli_evaluate
from hwsim.cli import main


def _json(capsys, argv):
    assert main(argv) == 0, capsys.readouterr().err
    cap = capsys.readouterr()
    return json.loads(cap.out), cap.err


EVAL = ["evaluate", "--model", "lenet-300-100", "--limit", "300", "--json"]


def test_set_on_evaluate_reaches_the_config_and_the_accuracy(capsys):
    """--set on evaluate: the resolved config and the accuracy are the API's with the same overrides."""
    got, _ = _json(capsys, EVAL + ["--hardware", "reram", "--preset", "ideal", "--set", "adc.bits=4",
                                   "--set", "nonideal.sigma=0.1"])
    be = backend.get("reram")
    cfg = be.resolve_config("ideal", overrides={"adc.bits": 4, "nonideal.sigma": 0.1})
    assert got["config"] == be.config_to_dict(cfg)
    from models import fashion_mnist

    x, y = fashion_mnist.load("test", limit=300)
    net = models.get("lenet-300-100", pretrained=True)
    assert got["accuracy"] == be.accuracy(be.map(net, cfg), x, y, seed=0)
    assert "4-bit ADC" in got["nonidealities"]["summary"]
    assert "conductance variation sigma 0.1 (lognormal)" in got["nonidealities"]["summary"]
    assert got["nonidealities"]["variation_sigma"] == 0.1 and got["nonidealities"]["adc_bits"] == 4
    # photonic: --set on a noise key switches the built chip's phase noise off, and the record says so
    got, _ = _json(capsys, EVAL + ["--hardware", "photonic", "--set", "noise.phase_noise_rad=0"])
    assert got["config"]["noise"]["phase_noise_rad"] == 0.0 and got["config"]["noise"]["phase_bits"] == 8
    assert got["nonidealities"]["summary"].startswith("no phase noise, 8-bit heater DACs")
    assert main(EVAL + ["--hardware", "photonic", "--set", "noise.phase_bitz=3"]) == 2
    assert "noise.phase_bitz" in capsys.readouterr().err


@pytest.mark.parametrize("hw, default, words", [
    ("reram", "default", "conductance variation sigma 0.043 (lognormal)"),
    ("photonic", "harris2014", "phase noise sigma 0.077 rad, 8-bit heater DACs"),
])
def test_evaluate_names_the_nonidealities_and_ideal_is_the_old_default(capsys, hw, default, words):
    got, _ = _json(capsys, EVAL + ["--hardware", hw])
    assert got["preset"] == default and words in got["nonidealities"]["summary"]
    assert got["nonidealities"]["ideal"] is False and got["nonidealities"]["seed"] == 0
    ideal, _ = _json(capsys, EVAL + ["--hardware", hw, "--preset", "ideal"])
    assert ideal["nonidealities"]["ideal"] is True
    float_acc, _ = _json(capsys, EVAL)
    assert "nonidealities" not in float_acc
    if hw == "photonic":   # the ideal chip is the float network up to rounding
        assert ideal["accuracy"] == pytest.approx(float_acc["accuracy"], abs=0.004)
    assert main(["evaluate", "--model", "lenet-300-100", "--limit", "300", "--hardware", hw]) == 0
    text = capsys.readouterr().out
    assert f"(preset {default})" in text and "non-idealities: " in text and words in text


def test_default_presets_cost_what_ideal_costs():
    """The non-idealities are accuracy-only: the default and ideal presets give the same Report."""
    net = models.get("lenet-300-100", pretrained=True)
    for be in backend.backends():
        a = be.cost(be.map(net, be.resolve_config()))
        b = be.cost(be.map(net, be.resolve_config("ideal")))
        assert a.total.to_dict() == b.total.to_dict() and a.chip.to_dict() == b.chip.to_dict()


def _magnitude(net, s):
    out = net.copy()
    out.set_masks(hp.select(hp.score(out, None, "magnitude"), s, scope="global", structure="unstructured"))
    return out


def test_sparsity_prunes_a_trainable_model_by_global_magnitude(capsys):
    net = models.get("lenet-300-100", pretrained=True)
    pruned = _magnitude(net, 0.9)
    got, _ = _json(capsys, ["cost", "--hardware", "reram", "--model", "lenet-300-100", "--sparsity", "0.9", "--json"])
    assert got["pruning"]["method"] == "magnitude" and got["pruning"]["scope"] == "global"
    assert got["pruning"]["finetune_epochs"] == 0 and got["pruning"]["sparsity"] == pytest.approx(0.9, abs=1e-6)
    be = backend.get("reram")
    want = be.cost(be.map(pruned, be.resolve_config()))
    assert got["total"] == want.to_dict()["total"]
    assert got["total"]["energy_j"] < be.cost(be.map(net, be.resolve_config())).total.energy_j  # never ignored
    got, _ = _json(capsys, EVAL + ["--sparsity", "0.9"])
    from models import fashion_mnist

    x, y = fashion_mnist.load("test", limit=300)
    assert got["accuracy"] == pruned.accuracy(x, y) and got["pruning"]["sparsity"] == pytest.approx(0.9, abs=1e-6)
    assert main(["cost", "--hardware", "reram", "--model", "lenet-300-100", "--sparsity", "0.5"]) == 0
    assert capsys.readouterr().out.startswith("pruned: one-shot global magnitude pruning, unstructured, no fine-tuning")
    # --pattern stays shape-only; the refusal names hwsim prune
    assert main(["cost", "--hardware", "reram", "--model", "lenet-300-100", "--sparsity", "0.5", "--pattern",
                 "block"]) == 2
    assert "hwsim prune" in capsys.readouterr().err
    assert main(["cost", "--hardware", "reram", "--model", "lenet-300-100", "--sparsity", "1.5"]) == 2
    assert "--sparsity" in capsys.readouterr().err


def test_evaluate_progress_goes_to_stderr_and_json_stays_clean(capsys, monkeypatch):
    monkeypatch.setattr(cli_evaluate, "PROGRESS_AFTER_S", 0.0)
    monkeypatch.setattr(cli_evaluate, "CHUNK", 700)
    argv = ["evaluate", "--model", "lenet-300-100", "--limit", "2500", "--hardware", "reram", "--json"]
    got, err = _json(capsys, argv)
    assert "reram: images 1000/2500" in err and "reram: images 2500/2500 (100%)" in err
    # chunked on the same chip instance: exactly the accuracy of one call
    monkeypatch.setattr(cli_evaluate, "PROGRESS_AFTER_S", 1e9)
    whole, err = _json(capsys, argv)
    assert err == "" and whole["accuracy"] == got["accuracy"]


def test_prune_progress_goes_to_stderr_and_json_stays_clean(tmp_path, capsys):
    got, err = _json(capsys, ["prune", "--model", "lenet-300-100", "--out", str(tmp_path / "p.npz"),
                              "--finetune-epochs", "2", "--train-limit", "1280", "--limit", "200", "--json"])
    assert got["sparsity"] == pytest.approx(0.9, abs=1e-3)
    assert "fine-tuning: epoch 1/2 done (10/20 minibatches of 128" in err
    assert "fine-tuning: epoch 2/2 done (20/20 minibatches of 128" in err


def test_hardware_aware_prune_explains_its_steps(tmp_path, capsys):
    got, err = _json(capsys, ["prune", "--model", "lenet-300-100", "--hardware", "reram", "--out",
                              str(tmp_path / "h.npz"), "--budget", "60", "--finetune-epochs", "1",
                              "--train-limit", "6000", "--limit", "200", "--json"])
    assert got["tiles"] <= 60
    assert "Step 1/3: each layer alone pruned" in err and "Step 2/3" in err and "Step 3/3" in err
    assert "layer fc1 (300 x 784): 0% -> tiles" in err and "loss +" in err
    assert "trial 1: layer sparsities fc1" in err and "fits the budget" in err
    assert "trial 1, fine-tuning: epoch 1/1 done" in err
    assert "dloss" not in err and "cost [" not in err


def test_sweep_rows_name_the_nonidealities(tmp_path, capsys):
    spec = tmp_path / "s.toml"
    spec.write_text('hardware = ["reram", "photonic"]\nmodel = ["lenet-300-100"]\naccuracy_images = 200\n')
    assert main(["sweep", str(spec), "--jobs", "1", "--json"]) == 0
    cap = capsys.readouterr()
    assert json.loads(cap.out)["stored"] == 2
    assert "points 2/2 (100%)" in cap.err
    from hwsim.sweep import read_rows

    rows = {r["hardware"]: r for r in read_rows(tmp_path / "s.sqlite")}
    assert "conductance variation sigma 0.043" in rows["reram"]["nonidealities"]
    assert "phase noise sigma 0.077 rad" in rows["photonic"]["nonidealities"]
    assert np.isfinite(rows["photonic"]["accuracy"])
