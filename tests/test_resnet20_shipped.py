"""The shipped ResNet-20 (issue 12, item 5): its ONNX export runs in onnxruntime to hwsim's forward, imports back to the
zoo network, and the zoo network maps and runs on both hardware kinds."""
from __future__ import annotations

import numpy as np
import pytest

import models
from hwsim.nn.graph import BatchNorm

ONNX_PATH = models.WEIGHTS_DIR / "resnet20.onnx"


def test_registry_entry_states_the_recipe_and_ships_weights():
    e = models.entry("resnet20")
    assert e.trainable and e.ships_weights and ONNX_PATH.is_file()
    assert "batch norm" in e.training and "python -m models.train_pretrained --model resnet20" in e.training
    net = models.get("resnet20", pretrained=True)
    assert not any(isinstance(l, BatchNorm) for l in net.layers)  # deployed form: folded
    assert net.mvms_per_inference() == 7204 and net.num_weights() == 270_608


def test_shipped_onnx_matches_onnxruntime_and_imports_to_the_zoo_network(images100):
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    import onnx_models as M

    from hwsim.importers import load_onnx

    want = M.run_ort(ONNX_PATH, images100)
    imported = load_onnx(ONNX_PATH)
    assert np.abs(imported.forward(images100) - want).max() <= 1e-5
    zoo = models.get("resnet20", pretrained=True)
    assert np.abs(zoo.forward(images100) - want).max() <= 1e-5
    for a, b in zip(zoo.weighted_layers(), imported.weighted_layers()):
        assert a.name == b.name and a.mvms_per_inference == b.mvms_per_inference
        assert np.allclose(a.weight, b.weight, rtol=1e-6, atol=1e-7) and np.allclose(a.bias, b.bias, atol=1e-6)


@pytest.mark.parametrize("kind", ["reram", "photonic"])
def test_shipped_resnet20_runs_on_hardware(kind, images100):
    """On the ideal chip the network keeps the float decision on almost every image: ReRAM's 8-bit ADCs read exactly
    (the default preset's flipped encoding; without it every read rounds to 2 levels and a 22-layer network loses
    about 20 points), the photonic ideal chip is exact."""
    from hwsim import backend

    be = backend.get(kind)
    net = models.get("resnet20", pretrained=True)
    m = be.map(net, be.resolve_config("ideal"))
    rep = be.cost(m)
    assert rep.chip is not None and rep.chip.static_power_w > 0
    x = images100[:40]
    logits = be.run(m, x, seed=0)
    assert logits.shape == (40, 10) and np.isfinite(logits).all()
    assert np.mean(logits.argmax(1) == net.predict(x).argmax(1)) >= 0.9
