"""Presets, TOML loading, resolve_config and config validation."""
import json

import pytest

from hwsim.errors import ConfigError
from hwsim.photonic import (PRESETS, HeaterConfig, MeshConfig, MZIConfig, NoiseConfig, OptoelectronicsConfig,
                            PhotonicConfig, config_to_dict, load_config, resolve_config)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_constructs_and_serialises(name):
    cfg = PRESETS[name]()
    assert cfg.preset == name
    json.dumps(config_to_dict(cfg))


def test_default_is_harris2014_with_cited_values():
    cfg = resolve_config()
    assert cfg.preset == "harris2014"
    assert cfg.heater.p_pi_w == pytest.approx(24.77e-3)
    assert cfg.heater.loss_db == pytest.approx(0.23)
    assert cfg.mesh.tile == 16 and cfg.mesh.mesh == "clements"


def test_overrides():
    cfg = resolve_config("harris2014_push_pull", mesh="reck", tile=8, phase_noise=0.01)
    assert (cfg.mesh.mesh, cfg.mesh.tile, cfg.noise.phase_noise_rad, cfg.heater.mode) == ("reck", 8, 0.01, "push_pull")
    assert "tile=8" in str(cfg) or "mesh.tile" in str(cfg)


def test_toml_file(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text('preset = "harris2014_reck"\n[heater]\np_pi_w = 0.03\n[mesh]\ntile = 4\n')
    cfg = resolve_config(file=f)
    assert cfg.heater.p_pi_w == 0.03 and cfg.mesh.tile == 4 and cfg.mesh.mesh == "reck"
    assert load_config(f) == cfg


def test_toml_unknown_key(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text("[heater]\np_pi_mw = 3\n")
    with pytest.raises(ConfigError, match="unknown config key 'heater.p_pi_mw'; allowed here: "):
        resolve_config(file=f)


def test_toml_unknown_table(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text("[laser]\nx = 3\n")
    with pytest.raises(ConfigError, match="unknown config key 'laser'"):
        resolve_config(file=f)


def test_toml_wrong_type(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text('[mesh]\ntile = "big"\n')
    with pytest.raises(ConfigError, match="'mesh.tile' must be of type int"):
        resolve_config(file=f)


def test_toml_invalid(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text("[mesh\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        resolve_config(file=f)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        resolve_config(file=tmp_path / "nope.toml")


def test_preset_and_file_exclusive(tmp_path):
    with pytest.raises(ConfigError, match="not both"):
        resolve_config("harris2014", tmp_path / "x.toml")


def test_unknown_preset():
    with pytest.raises(ConfigError, match="unknown photonic preset 'nope'"):
        resolve_config("nope")


def test_unknown_mesh():
    with pytest.raises(ConfigError, match="unknown mesh"):
        resolve_config(mesh="butterfly")


def test_tile_below_two():
    with pytest.raises(ConfigError, match=r"tile size K must be an integer in \[2"):
        resolve_config(tile=1)


def test_tile_not_int():
    with pytest.raises(ConfigError, match="tile size"):
        MeshConfig(tile=4.0)


def test_negative_phase_noise():
    with pytest.raises(ConfigError, match="phase_noise_rad"):
        resolve_config(phase_noise=-0.1)


def test_bad_heater_mode():
    with pytest.raises(ConfigError, match="heater mode"):
        HeaterConfig(mode="pulsed")


def test_nonpositive_p_pi():
    with pytest.raises(ConfigError, match="p_pi_w"):
        HeaterConfig(p_pi_w=0.0)


def test_nan_length():
    with pytest.raises(ConfigError, match="length_m"):
        MZIConfig(length_m=float("nan"))


def test_wallplug_above_one():
    with pytest.raises(ConfigError, match="wallplug"):
        OptoelectronicsConfig(laser_wallplug_efficiency=1.5)


def test_phase_bits_range():
    with pytest.raises(ConfigError, match="phase_bits"):
        NoiseConfig(phase_bits=-1)


def test_imbalance_range():
    with pytest.raises(ConfigError, match="bs_imbalance"):
        NoiseConfig(bs_imbalance=0.7)


def test_nested_type_checked():
    with pytest.raises(ConfigError, match="must be a MeshConfig"):
        PhotonicConfig(mesh="clements")


def test_config_to_dict_rejects_other_types():
    with pytest.raises(ConfigError, match="PhotonicConfig"):
        config_to_dict({"mesh": 1})
