"""run(): the network through the crossbars -- exact path, bit-serial path, ADC, non-idealities, seeding."""
from dataclasses import replace

import numpy as np
import pytest

import hwsim.reram as rr
from hwsim.errors import DataError, MappingError
from hwsim.nn import Dense, Network, ReLU
from hwsim.reram.config import AdcConfig, NonIdealityConfig
from hwsim.reram.run import LayerEngine, engines
from test_reram_mapping import tiny


def small_net(seed=0, sparsity=0.6):
    net = Network([Dense(40, 30, "a", seed), ReLU(), Dense(30, 7, "b", seed + 1)], (40,))
    rng = np.random.default_rng(seed)
    for l in net.weighted_layers():
        l.set_mask(rng.random(l.weight.shape) >= sparsity)
        l.bias[:] = rng.standard_normal(l.bias.shape).astype(np.float32) * 0.1
    return net


def one_weight_net(w):
    net = Network([Dense(len(w), 1, "a")], (len(w),))
    net.weighted_layers()[0].set_weight(np.array([w], dtype=np.float32), np.zeros(1, dtype=np.float32))
    return net


@pytest.mark.parametrize("mode", rr.MAPPING_MODES)
@pytest.mark.parametrize("signed", ["differential", "offset"])
def test_bit_serial_path_equals_exact_product_when_ideal(mode, signed, rng):
    cfg = tiny(mode, signed=signed, rows=8, cols=8 if signed == "differential" else 6, wb=3, ou_rows=4, ou_cols=2)
    cfg = replace(cfg, adc=AdcConfig(bits=8, cols_per_adc=2, sample_rate_hz=1e8))
    net = small_net()
    x = rng.random((9, 40)).astype(np.float32)
    m = rr.map(net, cfg)
    exact = engines(m, 0)
    assert all(e.exact for e in exact)
    serial = [LayerEngine(l.effective_weight(), lm, cfg, np.random.default_rng(0), bit_serial=True)
              for l, lm in zip(net.weighted_layers(), m.layers)]
    assert not any(e.exact for e in serial) and all(e.blocks for e in serial)
    y1 = net.forward(x, matmul=lambda i, c: exact[i](c))
    y2 = net.forward(x, matmul=lambda i, c: serial[i](c))
    np.testing.assert_allclose(y2, y1, rtol=1e-5, atol=1e-5)


def test_exact_path_is_the_integer_product(rng):
    cfg = replace(rr.get_preset("ideal"), adc=AdcConfig(bits=9))
    net = small_net()
    m = rr.map(net, cfg)
    e = engines(m, 0)[0]
    assert e.exact
    x = rng.random((5, 40))
    W = net.weighted_layers()[0].effective_weight().astype(np.float64)
    s = np.abs(W).max() / 127
    q = np.sign(W / s) * np.floor(np.abs(W / s) + 0.5)
    sx = x.max(axis=1) / 255
    xq = np.floor(x / sx[:, None] + 0.5)
    np.testing.assert_allclose(e(x.astype(np.float32)), (xq @ q.T) * sx[:, None] * s, rtol=1e-5)


def test_adc_hand_case_lsb_two():
    # 4 rows, 1-bit cells, q = 3 (cells 1, 1 on the + columns), 2-bit inputs, 2-bit ADC: FS = 4 -> 3 bits needed,
    # LSB = 2. Input [1,1,1,0] -> xq = 3 (both digits 1); each column reads 3 -> code round(1.5) = 2 -> 4.
    # y = (1 + 2) * (1 + 2) * 4 = 36 instead of 27; times input scale 1/3 and weight scale 1 -> 12.
    cfg = replace(tiny("skip_empty", rows=4, cols=4), adc=AdcConfig(bits=2, cols_per_adc=2, sample_rate_hz=1e8))
    net = one_weight_net([3.0, 3.0, 3.0, 3.0])
    y = rr.run(rr.map(net, cfg), np.array([[1.0, 1.0, 1.0, 0.0]], dtype=np.float32))
    assert y[0, 0] == pytest.approx(12.0)
    # exact ADC (3 bits) gives 9
    y = rr.run(rr.map(net, replace(cfg, adc=AdcConfig(bits=3))), np.array([[1.0, 1.0, 1.0, 0.0]], dtype=np.float32))
    assert y[0, 0] == pytest.approx(9.0)


def test_adc_clipping():
    # range_fraction 0.5: FS = 2 levels, 1-bit ADC -> LSB 2, max code 1 -> every read of 4 clips to 2
    cfg = replace(tiny("skip_empty", rows=4, cols=4),
                  adc=AdcConfig(bits=1, cols_per_adc=2, sample_rate_hz=1e8, range_fraction=0.5))
    net = one_weight_net([3.0, 3.0, 3.0, 3.0])
    y = rr.run(rr.map(net, cfg), np.ones((1, 4), dtype=np.float32))
    assert y[0, 0] == pytest.approx(3 * 3 * 2 / 3)  # (1+2)(1+2) * 2 * (1/3)


def test_negative_inputs_are_split():
    cfg = replace(tiny("skip_empty", rows=4, cols=4), adc=AdcConfig(bits=3))
    net = one_weight_net([3.0, -3.0, 0.0, 0.0])
    y = rr.run(rr.map(net, cfg), np.array([[-1.0, 1.0, 0.0, 0.0]], dtype=np.float32))
    assert y[0, 0] == pytest.approx(-6.0)


def test_same_seed_same_result_and_batch_independent(rng):
    cfg = rr.resolve_config("default", sigma=0.1)
    net = small_net()
    m = rr.map(net, cfg)
    x = rng.random((50, 40)).astype(np.float32)
    a = rr.run(m, x, seed=7)
    np.testing.assert_array_equal(a, rr.run(m, x, seed=7, batch_size=7))
    assert not np.allclose(a, rr.run(m, x, seed=8))
    ideal = rr.run(rr.map(net, rr.resolve_config("default", adc_bits=9)), x)
    assert np.abs(a - ideal).max() > 0


def test_generator_seed_accepted(rng):
    m = rr.map(small_net(), rr.resolve_config("default", sigma=0.05))
    x = rng.random((3, 40)).astype(np.float32)
    np.testing.assert_array_equal(rr.run(m, x, seed=np.random.default_rng(1)),
                                  rr.run(m, x, seed=np.random.default_rng(1)))


@pytest.mark.parametrize("kw", [dict(variation="gaussian", sigma=0.05), dict(p_sa0=0.05), dict(p_sa1=0.02)])
def test_nonidealities_perturb_output(kw, rng):
    net = small_net()
    x = rng.random((20, 40)).astype(np.float32)
    base = rr.run(rr.map(net, rr.resolve_config("default", adc_bits=9)), x)
    cfg = replace(rr.resolve_config("default", adc_bits=9), nonideal=NonIdealityConfig(**kw))
    y = rr.run(rr.map(net, cfg), x, seed=0)
    err = np.abs(y - base).max()
    assert 0 < err < 10 * np.abs(base).max()


def test_empty_tiles_add_variation_noise_only_in_dense_mode(rng):
    # with variation, G_off cells of an all-zero tile add noise in 'dense' mode; skip_empty does not read them
    net = Network([Dense(300, 4, "a")], (300,))
    w = np.zeros((4, 300), dtype=np.float32)
    w[:, :100] = rng.standard_normal((4, 100))
    net.weighted_layers()[0].set_weight(w, np.zeros(4, dtype=np.float32))
    x = rng.random((200, 300)).astype(np.float32)
    ideal = rr.run(rr.map(net, rr.resolve_config("default", adc_bits=9)), x)
    errs = {}
    for mode in ("dense", "skip_empty"):
        y = rr.run(rr.map(net, rr.resolve_config("default", mapping=mode, adc_bits=9, sigma=0.3)), x, seed=0)
        errs[mode] = np.sqrt(np.mean((y - ideal) ** 2))
    assert errs["skip_empty"] < errs["dense"]


def test_run_shape_only_raises():
    import models

    m = rr.map(models.get("resnet18").matrix_layers(), rr.get_preset("default"))
    with pytest.raises(MappingError, match="needs a hwsim.nn.Network"):
        rr.run(m, np.zeros((1, 3, 224, 224), dtype=np.float32))


def test_run_bad_batch_size():
    m = rr.map(small_net(), rr.get_preset("default"))
    with pytest.raises(DataError, match="batch_size"):
        rr.run(m, np.zeros((2, 40), dtype=np.float32), batch_size=0)


def test_run_bad_seed():
    m = rr.map(small_net(), rr.get_preset("default"))
    with pytest.raises(DataError, match="seed"):
        rr.run(m, np.zeros((2, 40), dtype=np.float32), seed="abc")


def test_run_bad_input_shape():
    m = rr.map(small_net(), rr.get_preset("default"))
    with pytest.raises(DataError, match="expects input"):
        rr.run(m, np.zeros((2, 41), dtype=np.float32))


def test_accuracy_label_mismatch():
    m = rr.map(small_net(), rr.get_preset("default"))
    with pytest.raises(DataError, match="labels"):
        rr.accuracy(m, np.zeros((2, 40), dtype=np.float32), np.zeros(3))


def test_run_after_reshaping_network_raises():
    net = small_net()
    m = rr.map(net, rr.get_preset("default"))
    other = Network([Dense(40, 31, "a"), ReLU(), Dense(31, 7, "b")], (40,))
    m2 = rr.ReramMapping(m.config, m.layers, other)
    with pytest.raises(MappingError, match="map the network again"):
        rr.run(m2, np.zeros((1, 40), dtype=np.float32))


@pytest.mark.slow
def test_lenet_ideal_8bit_within_half_point_of_float(fmnist_test):
    import models

    x, y = fmnist_test
    net = models.get("lenet-300-100", pretrained=True)
    ref = net.accuracy(x, y)
    cfg = rr.resolve_config("default", adc_bits=9)  # 8-bit weights and inputs, lossless ADC, no noise
    acc = rr.accuracy(rr.map(net, cfg), x, y, seed=0)
    assert abs(acc - ref) <= 0.005


@pytest.mark.parametrize("mode", ["skip_empty", "compact"])
def test_run_reads_the_mapped_tiles(mode):
    # run() programs exactly the crossbars the mapper counted (a compact permutation changes no result, tested
    # above, and no tile count): one read group per allocated tile, driving the counted rows
    net = small_net(sparsity=0.9)
    cfg = tiny(mode, rows=8, cols=8, wb=3)
    m = rr.map(net, cfg)
    for l, lm in zip(net.weighted_layers(), m.layers):
        e = LayerEngine(l.effective_weight(), lm, cfg, np.random.default_rng(0), bit_serial=True)
        assert len(e.groups) == lm.tiles
        if lm.mode == "compact":
            assert sum(len(g.rows) for g in e.groups) * cfg.cycles_per_mvm == lm.counts["row_activations"]
    assert any(lm.mode == "compact" for lm in m.layers) or mode == "skip_empty"


def test_isaac_flipped_encoding_makes_its_8_bit_adc_exact():
    # 128 rows x 2-bit cells x 1-bit inputs: a read sums up to 384 = 9 bits. ISAAC's flipped encoding keeps every
    # read within 8 bits, so its preset computes the exact quantised product; without the flip the 8-bit ADC
    # rounds reads to an LSB of 2.
    import models
    from dataclasses import replace

    net = models.get("lenet-300-100", pretrained=True)
    x = np.random.default_rng(0).random((64, 1, 28, 28)).astype(np.float32)
    isaac = rr.get_preset("isaac")
    assert isaac.adc.bits == 8 and isaac.adc.effective_bits == 9
    ideal16 = rr.resolve_config("isaac", adc_bits=12)  # comfortably lossless reference
    ref = rr.run(rr.map(net, ideal16), x, seed=0)
    np.testing.assert_allclose(rr.run(rr.map(net, isaac), x, seed=0), ref, rtol=1e-9, atol=1e-9)
    unflipped = replace(isaac, adc=replace(isaac.adc, flip_encoding=False))
    assert np.max(np.abs(rr.run(rr.map(net, unflipped), x, seed=0) - ref)) > 1e-3
    assert rr.cost(rr.map(net, isaac)).total.energy_j == rr.cost(rr.map(net, unflipped)).total.energy_j
