"""Programming files: a programmed photonic chip (phases, gains, biases, configuration) saved and loaded."""
import json
import math

import numpy as np
import pytest

from hwsim.cli import main
from hwsim.errors import DataError
from hwsim.nn import Dense, Network, ReLU
from hwsim.photonic import (MeshConfig, PhotonicConfig, accuracy, cost, load_programming, map, prune_phases,
                            save_programming)

CFG = PhotonicConfig(mesh=MeshConfig(tile=4))


def _net(sizes=(10, 7, 3), seed=0):
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(Dense(a, b, f"fc{i + 1}", seed=seed + i))
        if i < len(sizes) - 2:
            layers.append(ReLU())
    net = Network(layers, (sizes[0],)).astype(np.float64)
    for l in net.weighted_layers():
        l.bias = np.random.default_rng(seed + 9).standard_normal(l.bias.shape)
    return net


@pytest.fixture
def saved(tmp_path):
    net = _net()
    net.weighted_layers()[0].weight[:4, :4] = 0.0  # one all-zero tile: not mapped
    m = prune_phases(map(net, CFG), threshold=0.3)
    return net, m, save_programming(m, tmp_path / "chip.npz")


def _rewrite(path, change):
    """Load the raw arrays, apply ``change(arrays, meta)``, write them back (meta re-encoded)."""
    with np.load(path, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    meta = json.loads(arrays["__hwsim__"].tobytes())
    change(arrays, meta)
    if "__hwsim__" in arrays:
        arrays["__hwsim__"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    np.savez(path, **arrays)


def test_round_trip_keeps_cost_and_outputs(saved):
    net, m, path = saved
    other = _net(seed=5)  # same architecture, different weights and biases: only the shapes are used
    back = load_programming(path, other)
    assert cost(back).to_dict() == cost(m).to_dict()
    x = np.random.default_rng(0).standard_normal((50, 10))
    for a, b in zip(back.network.weighted_layers(), net.weighted_layers()):  # the saved biases, not other's
        assert np.array_equal(a.bias, b.bias)
    for a, b in zip(back.layers, m.layers):
        assert np.array_equal(a.phases, b.phases) and np.array_equal(a.gains, b.gains)
        assert np.array_equal(a.tile_rows, b.tile_rows) and a.grid == b.grid and a.shape == b.shape
    y = np.argmax(net.predict(x), axis=1)
    assert accuracy(back, x, y) == accuracy(m, x, y)
    assert back.layers[0].tiles == m.layers[0].tiles == 5  # 2 x 3 grid minus the zero tile
    assert np.array_equal(other.weighted_layers()[0].bias, _net(seed=5).weighted_layers()[0].bias)  # caller's net


def test_load_without_network_costs_only(saved):
    _, m, path = saved
    back = load_programming(path)
    assert back.network is None and cost(back).total.static_power_w == cost(m).total.static_power_w


@pytest.mark.parametrize("change, match", [
    (lambda a, m: a.pop("__hwsim__"), "not an hwsim photonic programming file"),
    (lambda a, m: m.update(version=2), "unsupported programming file version 2"),
    (lambda a, m: m.update(format="x"), "format"),
    (lambda a, m: m["layers"][0].update(tile=5), "disagrees with the configuration|does not fit"),
    (lambda a, m: m["layers"][0].update(grid=[9, 9]), r"grid \(9, 9\) does not fit"),
    (lambda a, m: m["layers"][0].update(mesh="triangle"), "unknown mesh"),
    (lambda a, m: m["config"]["heater"].update(p_pi_mw=3), "bad configuration: unknown config key"),
    (lambda a, m: a.update({"layer0.phases": a["layer0.phases"][:, :-1]}), "must be float of shape"),
    (lambda a, m: a["layer0.phases"].__setitem__((0, 0), np.nan), "NaN or inf"),
    (lambda a, m: a["layer0.gains"].__setitem__(0, -1.0), "gains must be >= 0"),
    (lambda a, m: a["layer0.tile_rows"].__setitem__(0, 7), "outside the 2 x 3 grid"),
    (lambda a, m: a["layer0.tile_cols"].__setitem__(1, a["layer0.tile_cols"][0]) or
     a["layer0.tile_rows"].__setitem__(1, a["layer0.tile_rows"][0]), "appears twice"),
    (lambda a, m: a.pop("layer1.gains"), "'layer1.gains' is missing"),
    (lambda a, m: a.update(junk=np.zeros(3)), "unexpected arrays"),
])
def test_bad_programming_files(saved, change, match):
    _, _, path = saved
    _rewrite(path, change)
    with pytest.raises(DataError, match=match):
        load_programming(path, _net())


def test_pickled_and_corrupt_files(tmp_path, saved):
    p = tmp_path / "obj.npz"
    np.savez(p, __hwsim__=np.array([{"a": 1}], dtype=object))
    with pytest.raises(DataError, match="pickle"):
        load_programming(p)
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(DataError, match="not a valid .npz"):
        load_programming(bad)
    with pytest.raises(DataError, match="does not exist"):
        load_programming(tmp_path / "missing.npz")
    w = tmp_path / "w.npz"
    np.savez(w, fc1=np.zeros((3, 3)))
    with pytest.raises(DataError, match="weights .npz goes to --weights"):
        load_programming(w)


def test_network_of_the_wrong_shape_or_no_biases(saved, tmp_path):
    _, m, path = saved
    with pytest.raises(DataError, match="do not match the network"):
        load_programming(path, _net((10, 6, 3)))
    import dataclasses

    bare = save_programming(dataclasses.replace(m, network=None), tmp_path / "bare")
    assert bare.suffix == ".npz"
    with pytest.raises(DataError, match="no biases saved"):
        load_programming(bare, _net())


def test_phases_are_wrapped_on_load(saved):
    _, _, path = saved
    _rewrite(path, lambda a, m: a["layer0.phases"].__setitem__((0, 0), 2 * math.pi - 1e-15))
    assert load_programming(path).layers[0].phases[0, 0] == 0.0


def test_cli_cost_and_evaluate_read_programming_files(tmp_path, capsys):
    import models

    net = models.get("lenet-300-100", pretrained=True)
    m = prune_phases(map(net, PhotonicConfig()), threshold=0.05)
    path = save_programming(m, tmp_path / "lenet.npz")
    assert main(["cost", "--hardware", "photonic", "--phases", str(path), "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["total"]["static_power_w"] == pytest.approx(cost(m).total.static_power_w, rel=1e-12)
    assert main(["evaluate", "--model", "lenet-300-100", "--hardware", "photonic", "--phases", str(path),
                 "--limit", "300", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    from models import fashion_mnist

    x, y = fashion_mnist.load("test", limit=300)
    assert out["accuracy"] == pytest.approx(accuracy(m, x, y)) and out["phases"] == str(path)


@pytest.mark.parametrize("argv, match", [
    (["cost", "--hardware", "photonic", "--phases", "X.npz", "--preset", "harris2014"], "--preset: not with --phases"),
    (["cost", "--hardware", "photonic", "--phases", "X.npz", "--tile", "8"], "--tile: not with --phases"),
    (["cost", "--hardware", "reram", "--phases", "X.npz"], "--phases: only for --hardware photonic"),
    (["evaluate", "--model", "lenet-300-100", "--phases", "X.npz"], "--phases need --hardware"),
])
def test_cli_programming_flag_errors(argv, match, capsys):
    assert main(argv) == 2
    assert match in capsys.readouterr().err
