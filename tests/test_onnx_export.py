"""ONNX export of any hwsim network (issue 12): onnxruntime runs the exported file to hwsim's forward, and importing
it gives back the same layers, weights and masks bit for bit."""
from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import onnx_models as M  # noqa: E402  (tests/onnx_models.py, needs onnx)

import models  # noqa: E402
from hwsim import prune as hp  # noqa: E402
from hwsim.errors import ConfigError, DataError  # noqa: E402
from hwsim.importers import load_onnx  # noqa: E402
from hwsim.importers.onnx_export import export_onnx  # noqa: E402
from hwsim.nn import Layer, Network  # noqa: E402
from hwsim.nn.graph import BatchNorm  # noqa: E402


@pytest.fixture
def images(images100) -> np.ndarray:
    return images100


def _same_layers(a: Network, b: Network) -> None:
    la, lb = a.weighted_layers(), b.weighted_layers()
    assert [l.name for l in la] == [l.name for l in lb]
    for x, y in zip(la, lb):
        assert np.array_equal(x.mask, y.mask), x.name
        assert np.array_equal(x.effective_weight(), y.effective_weight()), x.name
        assert np.array_equal(x.bias, y.bias), x.name
        assert x.mvms_per_inference == y.mvms_per_inference


@pytest.mark.parametrize("name", ["lenet-300-100", "lenet5"])
def test_pruned_zoo_network_exports_runs_in_onnxruntime_and_round_trips_bit_for_bit(tmp_path, images, name):
    net = hp.one_shot(models.get(name, pretrained=True), None, criterion="magnitude", sparsity=0.8,
                      finetune_epochs=0)
    p = export_onnx(net, tmp_path / f"{name}.onnx")
    assert np.abs(M.run_ort(p, images) - net.forward(images)).max() <= 1e-5
    back = load_onnx(p)
    _same_layers(net, back)
    assert back.sparsity() == pytest.approx(net.sparsity())
    assert np.array_equal(back.forward(images), net.forward(images))


@pytest.mark.parametrize("build", ["mlp", "cnn", "residual", "activations"])
def test_imported_graphs_export_to_what_onnxruntime_and_the_importer_agree_on(tmp_path, images, build):
    """Every operator the importer reads (grouped, dilated, strided convolutions; pools; Clip, Tanh, Sigmoid, Gelu,
    Softmax; residual Add, Concat, an unfolded batch norm, input normalisation) exports and imports back."""
    src = tmp_path / "src.onnx"
    src.write_bytes(getattr(M, build)().SerializeToString())
    net = load_onnx(src)
    pruned = hp.one_shot(net, None, criterion="magnitude", sparsity=0.5, finetune_epochs=0)
    p = export_onnx(pruned, tmp_path / "out.onnx")
    x = images if net.input_shape == (1, 28, 28) else np.random.default_rng(0).standard_normal(
        (100,) + net.input_shape).astype(np.float32)
    assert np.abs(M.run_ort(p, x) - pruned.forward(x)).max() <= 1e-5  # normalisation is in the graph now
    back = load_onnx(p)
    _same_layers(pruned, back)
    assert np.abs(back.forward(x) - pruned.forward(x)).max() <= 1e-6


def test_batch_norms_export_as_batch_normalization_and_fold_again_on_import(tmp_path, images):
    from models.resnet import fold_batch_norm, resnet20

    net = resnet20(seed=2, batch_norm=True, blocks_per_stage=1)
    rng = np.random.default_rng(1)
    for bn in (l for l in net.layers if isinstance(l, BatchNorm)):
        bn.running_mean = rng.normal(size=bn.channels) * 0.1
        bn.running_var = rng.uniform(0.5, 2.0, bn.channels)
        bn.gamma[:] = rng.uniform(0.5, 1.5, bn.channels)
    p = export_onnx(net, tmp_path / "r.onnx")
    ops = [n.op_type for n in onnx.load(str(p)).graph.node]
    assert ops.count("BatchNormalization") == 9 and ops.count("Add") == 3 and "GlobalAveragePool" in ops
    inits = {t.name for t in onnx.load(str(p)).graph.initializer}
    assert {"conv1.weight", "bn1.running_var", "layer2.0.downsample.0.weight", "fc.bias"} <= inits
    assert "conv1.bias" not in inits  # a convolution before a batch norm has no bias
    want = M.run_ort(p, images)
    assert np.abs(net.forward(images) - want).max() <= 1e-4 * np.abs(want).max()
    back = load_onnx(p)
    assert not any(isinstance(l, BatchNorm) for l in back.layers)
    folded = fold_batch_norm(net)
    for a, b in zip(folded.weighted_layers(), back.weighted_layers()):
        assert a.name == b.name and np.allclose(a.weight, b.weight, rtol=1e-6, atol=1e-7)
    assert np.abs(back.astype(np.float64).forward(images) - want).max() <= 1e-5 * max(1.0, np.abs(want).max())
    # the PyTorch-style state dict of the trained network binds by name to its own export
    from models.resnet import torch_state

    state = torch_state(net)
    assert state["layer2.0.downsample.0.weight"].shape == (32, 16, 1, 1) and "layer2.0.downsample.1.running_mean" in state
    bound = load_onnx(p, state={k: v * 2 if k == "fc.bias" else v for k, v in state.items()})
    assert np.allclose(bound.weighted_layers()[-1].bias, 2 * net.weighted_layers()[-1].bias)


def test_export_refuses_a_layer_it_cannot_write(tmp_path):
    class Odd(Layer):
        name = "odd"

        def forward(self, x, train=False, matmul=None):
            return x

    net = Network([models.get("lenet-300-100").layers[0], Odd(), *models.get("lenet-300-100").layers[1:]],
                  (1, 28, 28))
    with pytest.raises(ConfigError, match="odd.*no ONNX export"):
        export_onnx(net, tmp_path / "x.onnx")
    with pytest.raises(ConfigError, match="shape-only"):
        export_onnx(models.get("resnet18"), tmp_path / "x.onnx")
    assert not (tmp_path / "x.onnx").exists()


def test_cli_prune_of_a_zoo_model_writes_onnx_that_evaluates_the_same(tmp_path, capsys):
    import json

    from hwsim.cli import main
    from models import fashion_mnist

    try:
        fashion_mnist.load("test", limit=1)
    except DataError:
        pytest.skip("Fashion-MNIST not installed")
    common = ["--model", "lenet5", "--sparsity", "0.8", "--finetune-epochs", "0", "--limit", "300", "--json"]
    assert main(["prune", "--out", str(tmp_path / "z.onnx"), *common]) == 0
    got = json.loads(capsys.readouterr().out)
    assert main(["prune", "--out", str(tmp_path / "z.npz"), *common]) == 0
    assert json.loads(capsys.readouterr().out)["accuracy"] == got["accuracy"]
    assert main(["evaluate", "--weights", str(tmp_path / "z.onnx"), "--limit", "300", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["accuracy"] == got["accuracy"]
    _same_layers(load_onnx(tmp_path / "z.onnx"), models.get("lenet5").load(tmp_path / "z.npz"))
    assert main(["prune", "--out", str(tmp_path / "z.txt"), *common]) == 2
    assert "must end in .npz or .onnx" in capsys.readouterr().err


def test_without_the_onnx_package_export_is_one_clear_error_before_any_work(tmp_path, monkeypatch, capsys):
    from hwsim.cli import main

    monkeypatch.setitem(__import__("sys").modules, "onnx", None)  # import onnx now raises ImportError
    with pytest.raises(ConfigError, match="writing .onnx files needs the optional package onnx"):
        export_onnx(models.get("lenet5"), tmp_path / "x.onnx")
    assert main(["prune", "--model", "lenet5", "--out", str(tmp_path / "x.onnx"), "--sparsity", "0.5"]) == 2
    assert "pip install 'hwsim[onnx]'" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())
