"""hwsim.analysis.pareto_front and hwsim pareto (issue 13): the non-dominated set for 2 or 3 metrics."""
import numpy as np
import pytest

from hwsim import analysis, sweep
from hwsim.cli import main
from hwsim.errors import ConfigError


def _brute(a, senses):
    c = a * np.array([1 if s == "min" else -1 for s in senses])
    keep = []
    for i in range(len(c)):
        if not any(np.all(c[j] <= c[i]) and np.any(c[j] < c[i]) for j in range(len(c))):
            keep.append(i)
    return sorted(keep)


@pytest.mark.parametrize("k", [2, 3])
@pytest.mark.parametrize("senses", ["min", "mixed"])
def test_front_matches_brute_force_on_seeded_points(k, senses, rng):
    a = rng.integers(0, 6, size=(60, k)).astype(float)  # many ties and duplicates
    s = ["min"] * k if senses == "min" else ["min", "max", "min"][:k]
    front = analysis.pareto_front(a, sense=s)
    assert sorted(front.tolist()) == _brute(a, s)
    assert np.all(np.diff(a[front, 0]) >= 0)  # sorted by the first metric


def test_rows_default_senses_and_missing_values():
    rows = [{"static_power_w": 1.0, "accuracy": 0.9}, {"static_power_w": 2.0, "accuracy": 0.95},
            {"static_power_w": 2.0, "accuracy": 0.8}, {"static_power_w": 0.5, "accuracy": None},
            {"static_power_w": 3.0, "accuracy": 0.95}]
    assert analysis.pareto_front(rows, ["static_power_w", "accuracy"]).tolist() == [0, 1]
    assert analysis.pareto_front(rows, ["static_power_w", "accuracy"], {"accuracy": "min"}).tolist() == [0, 2]
    with pytest.raises(ConfigError, match="unknown metric 'power'.*static_power_w"):
        analysis.pareto_front(rows, ["power", "accuracy"])
    with pytest.raises(ConfigError, match="2 or 3 metrics"):
        analysis.pareto_front(np.zeros((3, 4)))
    with pytest.raises(ConfigError, match="'min' or 'max'"):
        analysis.pareto_front(rows, ["static_power_w", "accuracy"], "up")


def test_pareto_command_prints_front_and_draws_it(tmp_path, capsys):
    spec = sweep.expand({"hardware": "reram", "model": "lenet-300-100", "method": "magnitude",
                         "sparsity": [0.0, 0.5, 0.9], "accuracy_images": 100, "set": {"adc.bits": [3, 5, 8]}})
    sweep.run_sweep(spec, tmp_path / "s.sqlite", jobs=1)
    fig = tmp_path / "front.png"
    assert main(["pareto", str(tmp_path / "s.sqlite"), "--x", "energy_j", "--y", "accuracy", "--out", str(fig),
                 "--csv", str(tmp_path / "f.csv")]) == 0
    out = capsys.readouterr().out
    assert "points on the front (min energy_j, max accuracy)" in out and " nJ" in out and "%" in out
    assert fig.read_bytes()[:4] == b"\x89PNG" and (tmp_path / "front.pdf").is_file()
    front = sweep.read_rows(tmp_path / "f.csv")
    rows = sweep.read_rows(tmp_path / "s.sqlite")
    for r in rows:  # nothing off the front beats a front point in both metrics
        assert not any(r["energy_j"] < f["energy_j"] and r["accuracy"] > f["accuracy"] for f in front)
    assert main(["pareto", str(tmp_path / "s.sqlite"), "--x", "nope"]) == 2
    assert "choose one of" in capsys.readouterr().err
    assert main(["pareto", str(tmp_path / "s.sqlite"), "--where", "set.adc.bits=8", "--x", "static_power_w",
                 "--y", "accuracy", "--z", "latency_s", "--json"]) == 0
