"""The README's main job end to end: report, CSV tables and PNG figures."""
import json

from hwsim.cli import main


def test_demo_writes_report_tables_and_figures(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path)]) == 0
    rep = json.loads((tmp_path / "report.json").read_text())
    assert {a["model"]: a["accuracy"] >= 0.89 for a in rep["accuracy"]} == {"lenet-300-100": True, "lenet5": True}
    assert {c["hardware"] for c in rep["cost"]} == {"reram", "photonic"}
    for fig in rep["figures"]:
        assert (tmp_path / fig).stat().st_size > 10_000
    assert (tmp_path / "sweep.csv").read_text().count("\n") == 1 + 2 * 7 * (4 + 1)
    # tile-aligned pruning frees tiles on both back-ends; unstructured pruning leaves skip_empty's tiles unchanged
    at90 = [r for r in rep["sweep"] if r["sparsity"] == 0.9]
    dense_tiles = {r["hardware"]: r["tiles"] for r in rep["sweep"] if r["sparsity"] == 0.0 and r["mapping"] != "dense"}
    for r in at90:
        if r["structure"].startswith("tile-aligned") and r["mapping"] != "dense":
            assert r["tiles"] < 0.25 * dense_tiles[r["hardware"]]
    assert "Accuracy on hardware" in capsys.readouterr().out
