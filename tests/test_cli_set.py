"""Issue 13, item 6: --set KEY=VALUE on cost/evaluate (through resolve_config(overrides=...)), --preset with
--config, defaults in --help, SI prefixes in tables and --csv on cost."""
import json

import pytest

from hwsim import reram
from hwsim.cli import main
from hwsim.cli._hardware import parse_set
from hwsim.errors import ConfigError


def _cost(capsys, *argv):
    assert main(["cost", "--hardware", "reram", "--model", "lenet-300-100", "--json", *argv]) == 0
    return json.loads(capsys.readouterr().out)


def test_set_overrides_any_key_and_equals_the_api(capsys):
    got = _cost(capsys, "--preset", "isaac", "--set", "adc.bits=6", "--set", "crossbar.rows=256",
                "--set", "mapping.mode=ou")
    cfg = reram.resolve_config("isaac", overrides={"adc.bits": 6, "crossbar.rows": 256, "mapping.mode": "ou"})
    assert got["config"] == reram.config_to_dict(cfg)
    assert got["total"]["energy_j"] == reram.cost(reram.map(__import__("models").get(
        "lenet-300-100", pretrained=True), cfg)).total.energy_j


def test_preset_with_config_file_overrides_that_preset(tmp_path, capsys):
    f = tmp_path / "c.toml"
    f.write_text("[adc]\nbits = 5\n")
    got = _cost(capsys, "--preset", "isaac", "--config", str(f), "--set", "crossbar.rows=64")
    assert got["preset"] == "isaac" and got["config"]["adc"]["bits"] == 5 and got["config"]["crossbar"]["rows"] == 64
    f.write_text('preset = "default"\n')
    assert main(["cost", "--hardware", "reram", "--model", "lenet-300-100", "--preset", "isaac", "--config",
                 str(f)]) == 2
    assert "names preset 'default'" in capsys.readouterr().err


@pytest.mark.parametrize("argv, words", [
    (["--set", "adc.bitz=6"], ["adc.bitz", "allowed here"]),
    (["--set", "adc.bits=six"], ["adc.bits", "int"]),
    (["--set", "adc.bits"], ["KEY=VALUE"]),
    (["--set", "adc.bits=6", "--adc-bits", "5"], ["also given as --adc-bits"]),
])
def test_bad_set_is_one_line_naming_the_key(argv, words, capsys):
    assert main(["cost", "--hardware", "reram", "--model", "lenet-300-100", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hwsim: error:") and all(w in err for w in words), err


def test_parse_set_reads_toml_values():
    assert parse_set(["a.b=6", "a.c=0.5", "a.d=true", "a.e=ou", 'a.f="x y"', "a.g=[1, 2]"]) == \
        {"a.b": 6, "a.c": 0.5, "a.d": True, "a.e": "ou", "a.f": "x y", "a.g": [1, 2]}
    with pytest.raises(ConfigError, match="twice"):
        parse_set(["a.b=1", "a.b=2"])


def test_help_shows_defaults_and_presets(capsys):
    with pytest.raises(SystemExit):
        main(["cost", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "(default: 8 in preset default)" in out and "isaac" in out and "--set KEY=VALUE" in out


def test_cost_csv_and_si_table(capsys):
    assert main(["cost", "--hardware", "reram", "--model", "lenet-300-100", "--csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("layer,out,in") and lines[-1].startswith("total,") and len(lines) == 5
    assert main(["cost", "--hardware", "photonic", "--model", "lenet-300-100"]) == 0
    table = capsys.readouterr().out
    assert "static kW" in table or "static W" in table  # the photonic LeNet draws watts, not 8.7e+06 mW
    assert "e+0" not in table.split("\n\n")[0]
