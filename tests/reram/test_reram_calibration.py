"""ADC range calibration (calibrate_adc): hand cases, effect on accuracy, bad input, CLI."""
import json
from dataclasses import replace

import numpy as np
import pytest

import hwsim.reram as rr
from hwsim.cli import main
from hwsim.errors import DataError, MappingError
from hwsim.reram.run import LayerEngine
from test_reram_mapping import tiny
from test_reram_run import one_weight_net


@pytest.mark.parametrize("x, full_scale", [
    ([1.0, 1.0, 1.0], 3.0),  # every row driven in both cycles: slice-0 column reads 1 + 1 + 1
    ([1.0, 0.0, 1.0], 2.0),  # row 2 never driven
    ([1.0, 0.5, 0.0], 2.0),  # x_q = [3, 2, 0]: cycle 0 drives row 0 only, cycle 1 rows 0 and 1
])
def test_full_scale_is_the_largest_read_hand_case(x, full_scale):
    """tiny(): 1 bit/cell, 3-bit weights q = [3, 3, 1] -> slice 0 levels [1, 1, 1], slice 1 levels [1, 1, 0];
    2-bit inputs fed 1 bit per cycle. The largest column read over both cycles and slices is the full scale."""
    net = one_weight_net([3.0, 3.0, 1.0])
    m = rr.calibrate_adc(rr.map(net, tiny()), np.array([x]))
    assert m.layers[0].adc_full_scale == full_scale


def test_lower_percentile_never_raises_the_full_scale(rng):
    from test_reram_run import small_net

    net = small_net()
    m = rr.map(net, tiny(rows=8, cols=8))
    x = rng.random((64, 40))
    hi, lo = rr.calibrate_adc(m, x), rr.calibrate_adc(m, x, percentile=50)
    for a, b in zip(hi.layers, lo.layers):
        assert 1.0 <= b.adc_full_scale <= a.adc_full_scale
    assert m.layers[0].adc_full_scale is None  # the input mapping is unchanged


def test_full_scale_at_the_largest_possible_read_changes_nothing(rng):
    from test_reram_run import small_net

    net = small_net()
    cfg = tiny(rows=8, cols=8)
    m = rr.map(net, cfg)
    fs_full = cfg.rows * cfg.levels * (2 ** cfg.precision.dac_bits - 1)
    same = replace(m, layers=tuple(replace(l, adc_full_scale=float(fs_full)) for l in m.layers))
    x = rng.random((20, 40))
    assert np.array_equal(rr.run(m, x, seed=1), rr.run(same, x, seed=1))
    lm = same.layers[0]
    w = net.weighted_layers()[0].effective_weight()
    assert LayerEngine(w, lm, cfg, np.random.default_rng(0)).lsb == LayerEngine(w, m.layers[0], cfg,
                                                                               np.random.default_rng(0)).lsb


def test_calibration_rescues_a_low_resolution_adc(fmnist_test):
    """NeuroSim preset (5-bit ADC over 128-row reads): a full-range ADC loses ~18 pt on LeNet-300-100; calibrated
    on 300 training images it is within 1.5 pt of float."""
    import models
    from models import fashion_mnist

    net = models.get("lenet-300-100", pretrained=True)
    x, y = fmnist_test
    x, y = x[:2000], y[:2000]
    m = rr.map(net, rr.resolve_config("neurosim-cell"))
    xc, _ = fashion_mnist.load("train", limit=300)
    cal = rr.calibrate_adc(m, xc, seed=0)
    before, after, flt = rr.accuracy(m, x, y, seed=0), rr.accuracy(cal, x, y, seed=0), net.accuracy(x, y)
    assert after > before + 0.1 and after > flt - 0.015


@pytest.mark.parametrize("bad", [0.0, 100.5, -1.0, True])
def test_bad_percentile(bad):
    m = rr.map(one_weight_net([1.0, 2.0]), tiny())
    with pytest.raises(DataError, match="percentile"):
        rr.calibrate_adc(m, np.ones((2, 2)), percentile=bad)


def test_bad_calibration_inputs_and_mappings():
    m = rr.map(one_weight_net([1.0, 2.0]), tiny())
    with pytest.raises(DataError, match="non-empty batch"):
        rr.calibrate_adc(m, np.ones((0, 2)))
    with pytest.raises(MappingError, match="needs a mapping of a hwsim.nn.Network"):
        rr.calibrate_adc(rr.map([np.ones((2, 2))], tiny()), np.ones((1, 2)))
    with pytest.raises(MappingError, match="needs a ReramMapping"):
        rr.calibrate_adc("mapping", np.ones((1, 2)))


def test_cli_adc_calibration(capsys):
    assert main(["evaluate", "--model", "lenet-300-100", "--hardware", "reram", "--preset", "neurosim-cell",
                 "--adc-calibration", "100", "--limit", "300", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["adc_calibration_images"] == 100 and len(out["adc_full_scale"]) == 3 and out["accuracy"] > 0.8
    for argv, match in ((["cost", "--hardware", "reram", "--model", "lenet-300-100", "--adc-calibration", "10"],
                         "changes accuracy, not cost"),
                        (["evaluate", "--model", "lenet-300-100", "--hardware", "photonic", "--adc-calibration", "10"],
                         "only for --hardware reram"),
                        (["evaluate", "--model", "lenet-300-100", "--adc-calibration", "10"], "need --hardware"),
                        (["evaluate", "--model", "lenet-300-100", "--hardware", "reram", "--adc-calibration", "0"],
                         "positive number of images")):
        assert main(argv) == 2
        assert match in capsys.readouterr().err
