"""Config validation, presets, TOML loading and the CLI-facing resolve_config."""
import json

import pytest

import hwsim.reram as rr
from hwsim.errors import ConfigError, HwsimError
from hwsim.reram import (AdcConfig, CrossbarConfig, MappingConfig, NonIdealityConfig, PrecisionConfig,
                                ReramConfig, config_from_dict)


@pytest.mark.parametrize("name", sorted(rr.PRESETS))
def test_every_preset_constructs_and_serialises(name):
    cfg = rr.get_preset(name)
    assert isinstance(cfg, ReramConfig) and cfg.preset == name
    json.dumps(rr.config_to_dict(cfg))
    assert cfg.columns_per_weight >= 1 and cfg.cycles_per_mvm >= 1


def test_isaac_preset_values_and_per_action_energies():
    cfg = rr.get_preset("isaac")
    assert (cfg.rows, cfg.cols, cfg.crossbar.bits_per_cell) == (128, 128, 2)
    assert (cfg.precision.weight_bits, cfg.precision.input_bits, cfg.precision.dac_bits) == (16, 16, 1)
    assert (cfg.adc.bits, cfg.adc.cols_per_adc, cfg.adc.sample_rate_hz) == (8, 128, 1.2e9)
    assert cfg.crossbar.read_time_s == 100e-9
    # Accelergy's ISAAC component library
    assert cfg.adc.conversion_energy_j == pytest.approx(1.67e-12, rel=3e-3)
    assert cfg.peripherals.dac.energy_per_action_j == pytest.approx(0.417e-12, rel=1e-3)
    assert cfg.peripherals.shift_add.energy_per_action_j == pytest.approx(0.021e-12)
    assert cfg.peripherals.buffer.energy_per_action_j == pytest.approx(20.45e-12)
    assert cfg.peripherals.access_bits == 256
    # ADC energy range over 4-10 bit
    assert rr.config.adc_energy_j(4) == pytest.approx(0.79e-12)
    assert rr.config.adc_energy_j(10) == pytest.approx(2.38e-12, rel=1e-3)
    # no leakage: Table 6 powers are totals (PUMA's leakage on top counted it twice); PUMA's only in 'default'
    assert cfg.adc.leakage_w == 0.0
    assert all(getattr(cfg.peripherals, f).leakage_w == 0.0 for f in ("dac", "shift_add", "buffer", "router"))
    d = rr.get_preset("default")
    assert d.adc.leakage_w == 0.2e-3
    assert d.peripherals.dac.leakage_w == pytest.approx(0.39e-6, rel=2e-3)
    assert d.peripherals.shift_add.leakage_w == 5e-6
    assert d.peripherals.buffer.leakage_w == 0.46e-3
    # the chip: 168 tiles x 12 IMAs x 8 crossbars, 64 KB eDRAM per tile, HyperTransport 10.4 W / 22.88 mm^2
    assert (cfg.chip.tiles_per_chip, cfg.chip.imas_per_tile, cfg.chip.crossbars_per_ima) == (168, 12, 8)
    assert cfg.chip.crossbars_per_chip == 16128 and cfg.chip.tile_buffer_bytes == 65536
    assert (cfg.chip.link_power_w, cfg.chip.link_area_mm2) == (10.4, 22.88)
    # offset encoding: 16 bits / 2 bits per cell = 8 columns per weight, 16 cycles per MVM
    assert cfg.columns_per_weight == 8 and cfg.cycles_per_mvm == 16


def test_neurosim_cell_preset_values():
    cfg = rr.get_preset("neurosim-cell")
    assert (cfg.rows, cfg.cols, cfg.crossbar.bits_per_cell) == (128, 128, 1)
    assert (cfg.adc.bits, cfg.adc.cols_per_adc) == (5, 8)  # Param.cpp levelOutput = 32
    assert (cfg.crossbar.r_on_ohm, cfg.crossbar.r_off_ohm) == (100e3, 1.7e6)
    assert (cfg.crossbar.read_voltage_v, cfg.crossbar.read_time_s) == (0.5, 10e-9)
    # differential 8-bit: 7 magnitude bits in 7 slices, two columns each
    assert cfg.columns_per_weight == 14 and cfg.adcs_per_crossbar == 16


def test_str_shows_only_differences():
    assert str(rr.get_preset("isaac")) == ("ReramConfig(preset='isaac', adc.leakage_w=0.0, adc.flip_encoding=True, "
                                          "peripherals.dac.leakage_w=0.0, peripherals.shift_add.leakage_w=0.0, "
                                          "peripherals.buffer.leakage_w=0.0, chip.link_power_gating=False)")
    assert "precision.weight_bits=8" in str(rr.get_preset("default"))


def test_resolve_config_overrides_and_none_keeps():
    cfg = rr.resolve_config("isaac", mapping="ou", adc_bits=6, sigma=0.1)
    assert cfg.mapping.mode == "ou" and cfg.adc.bits == 6 and cfg.nonideal.sigma == 0.1
    assert rr.resolve_config("isaac", mapping=None) == rr.get_preset("isaac")
    assert rr.resolve_config().preset == "default"


def test_toml_with_base_preset_and_nested_override(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text('preset = "neurosim-cell"\n[adc]\nbits = 6\nsample_rate_hz = 2000000000\n[mapping]\nmode = "compact"\n')
    cfg = rr.resolve_config(file=p)
    assert cfg.preset == "neurosim-cell" and cfg.adc.bits == 6 and cfg.mapping.mode == "compact"
    assert cfg.adc.sample_rate_hz == 2e9 and isinstance(cfg.adc.sample_rate_hz, float)
    assert cfg.crossbar.bits_per_cell == 1  # kept from the base preset
    p.write_text('[peripherals.dac]\nenergy_per_action_j = 1e-12\n')
    assert rr.load_config(p).peripherals.dac.energy_per_action_j == 1e-12


# ---- bad input: one pytest.raises per case ------------------------------------------------------------------------
def test_bits_per_cell_above_weight_bits():
    with pytest.raises(ConfigError, match="bits_per_cell"):
        ReramConfig(crossbar=CrossbarConfig(bits_per_cell=4), precision=PrecisionConfig(weight_bits=3))


def test_non_positive_adc_bits():
    with pytest.raises(ConfigError, match="adc.bits"):
        AdcConfig(bits=0)


def test_negative_adc_bits_via_resolve():
    with pytest.raises(ConfigError, match="adc.bits"):
        rr.resolve_config(adc_bits=-2)


def test_non_positive_crossbar_rows():
    with pytest.raises(ConfigError, match="crossbar.rows"):
        CrossbarConfig(rows=0)


def test_non_positive_crossbar_cols():
    with pytest.raises(ConfigError, match="crossbar.cols"):
        CrossbarConfig(cols=-128)


def test_unknown_mapping_mode():
    with pytest.raises(ConfigError, match="unknown mapping mode 'sparse'"):
        rr.resolve_config(mapping="sparse")


def test_unknown_mapping_mode_dataclass():
    with pytest.raises(ConfigError, match="mapping mode"):
        MappingConfig(mode="Dense")


def test_unknown_preset():
    with pytest.raises(ConfigError, match="unknown ReRAM preset 'prime'"):
        rr.resolve_config("prime")


def test_preset_and_file_exclusive(tmp_path):
    with pytest.raises(ConfigError, match="mutually exclusive"):
        rr.resolve_config("isaac", tmp_path / "x.toml")


def test_unknown_top_level_key():
    with pytest.raises(ConfigError, match="unknown config key 'crossbars'"):
        config_from_dict({"crossbars": {"rows": 64}})


def test_unknown_nested_key():
    with pytest.raises(ConfigError, match="unknown config key 'adc.resolution'"):
        config_from_dict({"adc": {"resolution": 6}})


def test_mistyped_int_key():
    with pytest.raises(ConfigError, match="'crossbar.rows' must be of type"):
        config_from_dict({"crossbar": {"rows": "128"}})


def test_float_for_int_key():
    with pytest.raises(ConfigError, match="'adc.bits' must be of type"):
        config_from_dict({"adc": {"bits": 6.0}})


def test_bool_for_int_key():
    with pytest.raises(ConfigError, match="'precision.input_bits' must be of type"):
        config_from_dict({"precision": {"input_bits": True}})


def test_scalar_for_table():
    with pytest.raises(ConfigError, match="adc must be a table"):
        config_from_dict({"adc": 8})


def test_unknown_preset_in_toml(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text('preset = "isaac2"\n')
    with pytest.raises(ConfigError, match="unknown ReRAM preset"):
        rr.load_config(p)


def test_invalid_toml(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text('[adc\nbits = 3\n')
    with pytest.raises(ConfigError, match="not valid TOML"):
        rr.load_config(p)


def test_missing_toml(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        rr.load_config(tmp_path / "nope.toml")


def test_r_off_below_r_on():
    with pytest.raises(ConfigError, match="r_off_ohm"):
        CrossbarConfig(r_on_ohm=1e6, r_off_ohm=1e5)


def test_bad_signed_mode():
    with pytest.raises(ConfigError, match="precision.signed"):
        PrecisionConfig(signed="twos_complement")


def test_ou_must_divide_crossbar():
    with pytest.raises(ConfigError, match="ou_rows"):
        ReramConfig(mapping=MappingConfig(mode="ou", ou_rows=7))


def test_negative_sigma():
    with pytest.raises(ConfigError, match="sigma"):
        rr.resolve_config(sigma=-0.1)


def test_fault_rates_sum_above_one():
    with pytest.raises(ConfigError, match="p_sa0"):
        NonIdealityConfig(p_sa0=0.6, p_sa1=0.6)


def test_errors_are_value_errors():
    with pytest.raises(ValueError):
        AdcConfig(cols_per_adc=0)
    assert issubclass(ConfigError, HwsimError)
