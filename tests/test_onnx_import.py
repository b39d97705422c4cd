"""ONNX import (issue 12): onnxruntime is the oracle of the float forward; the imported graph maps, costs and runs
on both hardware kinds like a zoo network."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import onnx_models as M  # noqa: E402  (tests/onnx_models.py, needs onnx)

from hwsim import backend  # noqa: E402
from hwsim.errors import DataError  # noqa: E402
from hwsim.importers import load_onnx  # noqa: E402
from hwsim.importers.onnx_export import export_onnx  # noqa: E402
from hwsim.nn.graph import GraphNetwork  # noqa: E402


@pytest.fixture
def images(images100) -> np.ndarray:
    return images100


def _save(tmp_path, model, name="m.onnx"):
    p = tmp_path / name
    p.write_bytes(model.SerializeToString())
    return p


@pytest.mark.parametrize("build", ["mlp", "cnn", "residual"])
def test_forward_matches_onnxruntime(tmp_path, images, build):
    model = getattr(M, build)()
    p = _save(tmp_path, model)
    net = load_onnx(p)
    assert isinstance(net, GraphNetwork)
    meta = {m.key: float(m.value) for m in model.metadata_props}
    x_ref = images
    if meta:  # the importer applies the metadata's normalisation; onnxruntime gets normalised images
        x_ref = ((images - np.float32(meta["hwsim.mean"])) / np.float32(meta["hwsim.std"])).astype(np.float32)
    want = M.run_ort(p, x_ref)
    got = net.forward(images)
    assert got.shape == want.shape
    assert np.abs(got - want).max() <= 1e-5
    # the hook path (how the hardware back-ends evaluate) with exact products gives the same logits
    layers = net.weighted_layers()
    hooked = net.forward(images, matmul=lambda i, cols: cols @ layers[i].effective_weight().T)
    assert np.abs(hooked - got).max() <= 1e-6


def test_activations_softmax_gelu_match_onnxruntime(tmp_path):
    p = _save(tmp_path, M.activations())
    x = np.random.default_rng(1).standard_normal((100, 20)).astype(np.float32)
    assert np.abs(load_onnx(p).forward(x) - M.run_ort(p, x)).max() <= 1e-5


def test_batchnorm_folded_into_preceding_weight_layer(tmp_path):
    net = load_onnx(_save(tmp_path, M.residual()))
    kinds = [type(nd.layer).__name__ for nd in net.nodes]
    assert kinds.count("ChannelAffine") == 1  # only the BatchNorm after the Add stays a layer
    assert [l.name for l in net.weighted_layers()] == ["conv1", "layer1.conv1", "layer1.conv2", "layer1.downsample",
                                                       "fc"]


def test_grouped_conv_is_block_diagonal_and_stays_masked(tmp_path):
    net = load_onnx(_save(tmp_path, M.cnn()))
    dw = next(l for l in net.weighted_layers() if l.name == "dw")
    assert dw.shape == (8, 72) and dw.mvms_per_inference == 14 * 14
    assert int(dw.mask.sum()) == 8 * 9 and np.count_nonzero(dw.effective_weight()) == 8 * 9
    dw.set_mask(np.ones(dw.shape, dtype=bool))  # a mask cannot revive the structural zeros between groups
    assert int(dw.mask.sum()) == 8 * 9


def test_resnet18_graph_mvms_equal_zoo_and_costs_on_both_kinds(tmp_path):
    import models

    net = load_onnx(_save(tmp_path, M.resnet18()))
    got = [(l.name, l.shape, l.mvms_per_inference) for l in net.weighted_layers()]
    want = [(s.name, s.shape, s.mvms_per_inference) for s in models.get("resnet18").layers]
    assert got == want
    for kind in ("reram", "photonic"):
        be = backend.get(kind)
        rep = be.cost(be.map(net, be.resolve_config()))
        assert [l.mvms_per_inference for l in rep.layers] == [w[2] for w in want]
        assert rep.total.energy_j > 0 and rep.total.latency_s > 0


@pytest.mark.parametrize("kind", ["reram", "photonic"])
def test_accuracy_on_hardware_equals_the_zoo_network(tmp_path, images, kind):
    """The shipped LeNet-5 exported to ONNX and imported: float logits, hardware logits and hardware accuracy equal
    the zoo network's (same matrices, same mapping, same seed)."""
    import models
    from models import fashion_mnist

    zoo = models.get("lenet5", pretrained=True)
    p = export_onnx(zoo, tmp_path / "m.onnx")
    net = load_onnx(p)
    assert np.abs(net.forward(images) - M.run_ort(p, images)).max() <= 1e-5
    be = backend.get(kind)
    cfg = be.resolve_config()
    m_zoo, m_net = be.map(zoo, cfg), be.map(net, cfg)
    assert np.array_equal(be.run(m_net, images, seed=0), be.run(m_zoo, images, seed=0))
    try:
        y = fashion_mnist.load("test", limit=100)[1]
    except DataError:
        pytest.skip("Fashion-MNIST not installed")
    acc = be.accuracy(m_net, images, y, seed=0)
    # equal to the zoo network's; the bound only rules out both being broken alike (the default presets carry
    # device non-idealities, so hardware accuracy sits below the float 90 %)
    assert acc == be.accuracy(m_zoo, images, y, seed=0) and acc >= 0.5


def test_backward_matches_finite_differences(tmp_path):
    net = load_onnx(_save(tmp_path, M.residual())).astype(np.float64)
    x = np.random.default_rng(2).random((2, 1, 28, 28))
    v = np.random.default_rng(3).standard_normal((2, 10))
    net.forward(x, train=True)
    gx = net.backward(v)
    layer = net.weighted_layers()[1]
    idx = tuple(np.argwhere(layer.mask)[5])
    eps = 1e-6
    for what, arr, grad, at in (("input", x, gx, (1, 0, 13, 7)), ("weight", layer.weight, layer.grad_weight, idx)):
        old = arr[at]
        arr[at] = old + eps
        up = float((net.forward(x) * v).sum())
        arr[at] = old - eps
        down = float((net.forward(x) * v).sum())
        arr[at] = old
        assert grad[at] == pytest.approx((up - down) / (2 * eps), rel=1e-5, abs=1e-7), what


def test_unsupported_operators_listed_with_node_names(tmp_path):
    from onnx import TensorProto, helper

    nodes = [helper.make_node("Relu", ["input"], ["a"], name="r"), helper.make_node("Erf", ["a"], ["b"], name="e1"),
             helper.make_node("LSTM", ["b"], ["c"], name="lstm0")]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 4])],
                          [helper.make_tensor_value_info("c", TensorProto.FLOAT, [1, 4])])
    p = _save(tmp_path, helper.make_model(g))
    with pytest.raises(DataError, match=r"2 unsupported operator\(s\): Erf \(node 'e1'\), LSTM \(node 'lstm0'\)"):
        load_onnx(p)


def test_hostile_files_are_data_errors(tmp_path):
    good = _save(tmp_path, M.mlp()).read_bytes()
    bad = tmp_path / "bad.onnx"
    for blob in (b"", b"\xff" * 100, good[:len(good) // 2], b"not an onnx model at all"):
        bad.write_bytes(blob)
        with pytest.raises(DataError):
            load_onnx(bad)
    for b in M.mutated(good, 30, 4):  # byte mutations: only hwsim errors (or a valid, different network)
        bad.write_bytes(b)
        try:
            load_onnx(bad)
        except DataError:
            pass


def test_tensor_size_checked_and_external_data_refused(tmp_path):
    m = M.mlp()
    t = next(t for t in m.graph.initializer if t.name == "fc1.weight")
    t.dims[0] = 10**9  # claims 784e9 floats: refused before allocating
    with pytest.raises(DataError, match="fc1.weight"):
        load_onnx(_save(tmp_path, m, "big.onnx"))
    m = M.mlp()
    t = next(t for t in m.graph.initializer if t.name == "fc1.weight")
    t.data_location = onnx.TensorProto.EXTERNAL
    t.external_data.add(key="location", value="/etc/passwd")
    with pytest.raises(DataError, match="external"):
        load_onnx(_save(tmp_path, m, "ext.onnx"))


def test_preprocessing_arguments_override_metadata_and_are_checked(tmp_path, images):
    p = _save(tmp_path, M.cnn())
    a = load_onnx(p).forward(images[:5])
    b = load_onnx(p, mean="0.2860", std="0.3530").forward(images[:5])
    assert np.array_equal(a, b)
    from hwsim.errors import ConfigError

    with pytest.raises(ConfigError, match="std"):
        load_onnx(p, std="0")
    with pytest.raises(ConfigError, match="channels"):
        load_onnx(p, mean="0.1,0.2")


# ---- command line ------------------------------------------------------------------------------------------------
def _lenet5_onnx(tmp_path):
    import models

    return export_onnx(models.get("lenet5", pretrained=True), tmp_path / "lenet5.onnx")


@pytest.mark.parametrize("hw", [[], ["--hardware", "reram"], ["--hardware", "photonic"]])
def test_cli_evaluate_onnx_equals_zoo_model(tmp_path, capsys, hw):
    import json

    from hwsim.cli import main

    p = _lenet5_onnx(tmp_path)
    try:
        from models import fashion_mnist

        fashion_mnist.load("test", limit=1)
    except DataError:
        pytest.skip("Fashion-MNIST not installed")
    accs = []
    for src in (["--weights", str(p)], ["--model", "lenet5"]):
        assert main(["evaluate", *src, "--limit", "200", "--json", *hw]) == 0
        accs.append(json.loads(capsys.readouterr().out)["accuracy"])
    assert accs[0] == accs[1] > 0.5  # equal; the bound rules out both broken alike (presets carry non-idealities)


def test_cli_evaluate_reshapes_images_to_a_vector_input_and_normalises(tmp_path, capsys):
    import json

    from hwsim.cli import main

    g = M.G(0)
    out = g.gemm("input", 784, 10, "fc")
    p = _save(tmp_path, g.model([784], out, 10))
    try:
        assert main(["evaluate", "--weights", str(p), "--limit", "20", "--mean", "0.5", "--std", "0.25",
                     "--json"]) == 0
    except DataError:
        pytest.skip("Fashion-MNIST not installed")
    assert json.loads(capsys.readouterr().out)["n"] == 20
    assert main(["evaluate", "--weights", str(p), "--limit", "20", "--input-shape", "1,28,28"]) == 2
    assert "has 3 axes" in capsys.readouterr().err


def test_cli_cost_onnx_uses_the_graph_mvms(tmp_path, capsys):
    import json

    from hwsim.cli import main

    p = _save(tmp_path, M.cnn())
    net = load_onnx(p)
    for kind in ("reram", "photonic"):
        assert main(["cost", "--weights", str(p), "--hardware", kind, "--json"]) == 0
        rep = json.loads(capsys.readouterr().out)
        assert [(l["name"], l["mvms_per_inference"]) for l in rep["layers"]] == \
            [(l.name, l.mvms_per_inference) for l in net.weighted_layers()]


@pytest.mark.parametrize("argv, message", [
    (["evaluate", "--weights", "{onnx}", "--model", "lenet5"], "holds the architecture"),
    (["evaluate", "--model", "lenet5", "--mean", "0.5"], "--mean: only with --weights FILE.onnx"),
    (["cost", "--model", "resnet18", "--input-shape", "3,32,32", "--hardware", "reram"], "--input-shape: only with"),
    (["cost", "--weights", "{onnx}", "--model", "lenet5", "--hardware", "reram"], "holds the architecture"),
    (["evaluate", "--weights", "{garbage}"], "not a valid ONNX model"),
])
def test_cli_refuses_flags_that_do_not_apply(tmp_path, capsys, argv, message):
    from hwsim.cli import main

    onnx_path = _save(tmp_path, M.mlp())
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"\x08\x07\x12garbage" * 3)
    argv = [a.format(onnx=onnx_path, garbage=garbage) for a in argv]
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_cli_cost_refuses_normalisation_flags(tmp_path):
    from hwsim.cli import main

    with pytest.raises(SystemExit):
        main(["cost", "--weights", str(_save(tmp_path, M.mlp())), "--hardware", "reram", "--mean", "0.5"])


# ---- pruning and export back to ONNX -----------------------------------------------------------------------------
@pytest.mark.parametrize("build", ["mlp", "cnn", "residual"])
def test_export_import_round_trip_preserves_masks_and_weights(tmp_path, images, build):
    from hwsim import prune as hp
    from hwsim.importers import save_onnx

    src = _save(tmp_path, getattr(M, build)())
    pruned = hp.one_shot(load_onnx(src), None, criterion="magnitude", sparsity=0.6, finetune_epochs=0)
    for layer in pruned.weighted_layers():  # biases that fine-tuning changed, also where the file had none
        layer.bias = layer.bias + np.float32(0.01)
    back = load_onnx(save_onnx(pruned, src, tmp_path / "pruned.onnx"))
    for a, b in zip(pruned.weighted_layers(), back.weighted_layers()):
        assert a.name == b.name and np.array_equal(a.mask, b.mask)
        assert np.array_equal(a.effective_weight(), b.effective_weight())
        assert np.abs(a.bias - b.bias).max() <= 1e-6
    x = images[:20]
    assert np.abs(back.forward(x) - pruned.forward(x)).max() <= 1e-5
    if build != "cnn":  # (the cnn's normalisation is metadata, which onnxruntime does not apply)
        assert np.abs(M.run_ort(tmp_path / "pruned.onnx", x) - pruned.forward(x)).max() <= 1e-5


def test_cli_prune_onnx_equals_pruning_the_zoo_model(tmp_path, capsys):
    import json

    from hwsim.cli import main
    from models import fashion_mnist

    try:
        fashion_mnist.load("test", limit=1)
    except DataError:
        pytest.skip("Fashion-MNIST not installed")
    p = _lenet5_onnx(tmp_path)
    common = ["--sparsity", "0.8", "--finetune-epochs", "1", "--train-limit", "1000", "--limit", "300", "--json"]
    assert main(["prune", "--weights", str(p), "--out", str(tmp_path / "p.onnx"), *common]) == 0
    got = json.loads(capsys.readouterr().out)
    assert main(["prune", "--model", "lenet5", "--out", str(tmp_path / "z.npz"), *common]) == 0
    want = json.loads(capsys.readouterr().out)
    assert got["accuracy"] == want["accuracy"] and got["sparsity"] == want["sparsity"]
    assert main(["evaluate", "--weights", str(tmp_path / "p.onnx"), "--limit", "300", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["accuracy"] == got["accuracy"]
    assert main(["prune", "--weights", str(p), "--out", str(tmp_path / "p.npz")]) == 2
    assert "must end in .onnx" in capsys.readouterr().err


@pytest.mark.slow
def test_byte_mutations_of_valid_onnx_give_only_hwsim_errors(tmp_path):
    """3000 mutated / truncated copies of a valid model: each loads (and runs) or raises one hwsim error, quickly."""
    import time

    from hwsim.errors import HwsimError

    bad = tmp_path / "fz.onnx"
    x = np.zeros((1, 1, 28, 28), np.float32)
    for b in M.mutated(M.residual().SerializeToString(), 3000, 7, seed=1, truncate=0.2):
        bad.write_bytes(b)
        t = time.perf_counter()
        try:
            with np.errstate(all="ignore"):
                load_onnx(bad).forward(x)
        except HwsimError:
            pass
        assert time.perf_counter() - t < 2.0


# ---- Sub / Mul / Div by a constant (issue 12: normalisation as PyTorch's exporter writes it) ------------------------
def test_sub_mul_div_by_constants_match_onnxruntime(tmp_path, images):
    g = M.G(4)
    x = g.node("Sub", ["input", g.tensor("mean", np.array(0.286, np.float32))])
    x = g.node("Div", [x, g.tensor("std", np.array([[[0.353]]], np.float32))])
    x = g.node("Relu", [g.conv(x, 1, 4, 3, "conv1", pad=1)])
    x = g.node("Mul", [g.tensor("gain", np.array([0.5, 1.0, 2.0, -1.0], np.float32).reshape(1, 4, 1, 1)), x])
    x = g.node("Sub", [g.tensor("one", np.array([1.0], np.float32)), x])  # constant minus activation
    x = g.node("Flatten", [g.node("MaxPool", [x], kernel_shape=[4, 4], strides=[4, 4])])
    out = g.gemm(x, 4 * 7 * 7, 10, "fc")
    p = _save(tmp_path, g.model([1, 28, 28], out, 10))
    assert np.abs(load_onnx(p).forward(images) - M.run_ort(p, images)).max() <= 1e-5
    g = M.G(4)
    x = g.node("Sub", ["input", g.tensor("pixelwise", np.zeros((1, 1, 28, 28), np.float32))])
    out = g.gemm(g.node("Flatten", [x]), 784, 10, "fc")
    with pytest.raises(DataError, match=r"constant of shape \(1, 1, 28, 28\) is neither one value nor one per "
                                        "channel"):
        load_onnx(_save(tmp_path, g.model([1, 28, 28], out, 10), "bad.onnx"))


def test_pytorch_exported_onnx_matches_torch_and_binds_its_state():
    """tests/data/tiny_cnn.onnx: torch.onnx.export (legacy exporter, do_constant_folding=False) of the network of
    tiny_cnn.pt, its input normalisation exported as Sub / Div: torch's logits, with its own or a --state's weights."""
    data = Path(__file__).parent / "data"
    io_ = np.load(data / "tiny_cnn_io.npz")
    x = io_["pixels"].astype(np.float32) / np.float32(255)
    for state in (None, data / "tiny_cnn.pt"):
        net = load_onnx(data / "tiny_cnn.onnx", state=state)
        assert np.abs(net.forward(x) - io_["logits"]).max() <= 1e-5
    assert [l.name for l in net.weighted_layers()] == ["conv1", "conv2", "fc"]
