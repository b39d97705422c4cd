"""The README's main job end to end: report (JSON, Markdown, HTML), CSV tables and PNG figures."""
import base64
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from hwsim import atomic_io, demo
from hwsim.cli import main
from hwsim.report_html import HEADLINE_COLUMNS

PNG = b"\x89PNG\r\n\x1a\n"


def parse_html(path: Path) -> ET.Element:
    """report.html as an element tree: the page is well-formed (XHTML-compatible) markup after its doctype line."""
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>\n")
    return ET.fromstring(text.split("\n", 1)[1])


def check_html(folder: Path, rep: dict) -> ET.Element:
    """Every figure of report.json is embedded (base64 of the very PNG beside the page), the headline table's
    values are report.json's, and nothing is linked from outside the file."""
    root = parse_html(folder / "report.html")
    imgs = root.findall(".//img")
    assert sorted(i.get("data-file") for i in imgs) == sorted(rep["figures"])
    for img in imgs:
        src = img.get("src")
        assert src.startswith("data:image/png;base64,")
        data = base64.b64decode(src.split(",", 1)[1])
        assert data.startswith(PNG) and data == (folder / img.get("data-file")).read_bytes()
    assert not [e for e in root.iter() if e.get("href") or (e.tag == "script")]
    table = root.find(".//table[@id='headline']")
    keys = [th.get("data-key") for th in table.find("thead").iter("th")]
    assert keys == [k for k, _, _ in HEADLINE_COLUMNS]
    rows = table.find("tbody").findall("tr")
    assert len(rows) == len(rep["headline"]) > 0
    for tr, want in zip(rows, rep["headline"]):
        for key, td in zip(keys, tr.findall("td")):
            if td.get("data-value") is not None:
                assert float(td.get("data-value")) == want[key], key
            else:
                assert "".join(td.itertext()) == str(want[key]), key
    return root


def test_report_html_is_self_contained_and_matches_report_json(tmp_path):
    """A fast check of the HTML writer on a synthetic report (the full demo runs in the test below)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for name in ("reram_energy_j_vs_sparsity.png", "breakdown_reram_energy_j.png"):
        fig, ax = plt.subplots(figsize=(2, 1.5))
        ax.plot([0, 1], [1, 0.5])
        fig.savefig(tmp_path / name)
        plt.close(fig)
    head = {"model": "lenet-300-100", "model_title": "LeNet-300-100 <&>", "hardware": "reram", "preset": "default",
            "sparsity": 0.0, "accuracy": 0.8922, "float_accuracy": 0.8998, "accuracy_images": 10000, "seed": 0,
            "nonidealities": "8-bit ADC, conductance variation sigma 0.043 (lognormal)", "static_power_w": 10.4455,
            "energy_j": 9.317e-06, "latency_s": 2.514e-06, "area_mm2": 85.42, "throughput_inferences_per_s": 1171875.0,
            "tops_per_w": 0.05715, "level": "chip"}
    rep = {"models": [{"name": "lenet-300-100", "kind": "mlp", "layers": 3, "weights": 266200,
                       "mvms_per_inference": 3}],
           "accuracy": [{"model": "lenet-300-100", "accuracy": 0.8998, "n": 10000}],
           "cost": [{"model": "lenet-300-100", "hardware": "reram", "preset": "default", "tiles": 155,
                     "latency_s": 2.5e-6, "energy_j": 4.3e-7, "static_power_w": 0.0399, "area_mm2": 0.6, "chips": 1,
                     "chip_latency_s": 2.52e-6, "chip_energy_per_inference_j": 4.419e-7,
                     "chip_static_power_w": 0.0494, "chip_area_mm2": 85.42, "chip_tops_per_w": 1.205}],
           "sweep": [{"hardware": "reram", "mapping": "ou", "structure": "unstructured", "sparsity": 0.9, "tiles": 9,
                      "static_power_w": 0.028, "energy_j": 2.1e-6, "float_accuracy_no_finetune": 0.54,
                      "chip_static_power_w": 0.0247, "chip_energy_per_inference_j": 6.67e-7,
                      "chip_energy_vs_unpruned": 0.158}],
           "hardware_accuracy": [{"model": "lenet-300-100", "hardware": "reram", "preset": "default", "accuracy": 0.8922,
                                  "float_accuracy": 0.8998, "n": 10000, "nonidealities": head["nonidealities"]}],
           "headline": [head], "figures": ["reram_energy_j_vs_sparsity.png", "breakdown_reram_energy_j.png"],
           "seconds": 1.0}
    (tmp_path / "report.html").write_text(demo._html(rep, tmp_path, "LeNet-300-100"), encoding="utf-8")
    root = check_html(tmp_path, rep)
    text = "".join(root.itertext())
    assert "LeNet-300-100 <&>" in text and "10.45 W" in text and "9.317 \u00b5J" in text
    assert "conductance variation sigma 0.043" in text
    assert "49.4 mW" in text and "85.42 mm\u00b2" in text  # the cost table is the chip's
    assert "24.7 mW" in text and "667 nJ" in text  # the sweep table has the chip's figures beside the layer sums
    assert "0.16x" in text  # and the chip energy against the same mapping unpruned


@pytest.fixture(scope="module")
def demo_out(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "out"
    assert main(["demo", "--out", str(out)]) == 0
    return out, json.loads((out / "report.json").read_text())


def test_demo_writes_report_tables_and_figures(demo_out):
    out, rep = demo_out
    assert {a["model"]: a["accuracy"] >= 0.89 for a in rep["accuracy"]} == {"lenet-300-100": True, "lenet5": True,
                                                                             "resnet20": True}
    assert {a["model"]: a["n"] for a in rep["accuracy"]} == {"lenet-300-100": 10_000, "lenet5": 10_000,
                                                             "resnet20": demo.FLOAT_IMAGES["resnet20"]}
    assert {c["hardware"] for c in rep["cost"]} == {"reram", "photonic"}
    for fig in rep["figures"]:
        assert (out / fig).stat().st_size > 10_000
    assert (out / "sweep.csv").read_text().count("\n") == 1 + 2 * 7 * (4 + 2)  # ReRAM: 4 modes; photonic: 2 chips
    # tile-aligned pruning frees tiles on both back-ends; unstructured pruning leaves skip_empty's tiles unchanged
    at90 = [r for r in rep["sweep"] if r["sparsity"] == 0.9]
    dense_tiles = {r["hardware"]: r["tiles"] for r in rep["sweep"] if r["sparsity"] == 0.0 and r["mapping"] != "dense"}
    for r in at90:
        if r["structure"].startswith("tile-aligned") and r["mapping"] != "dense":
            assert r["tiles"] < 0.25 * dense_tiles[r["hardware"]]
    assert "Accuracy on hardware" in (out / "report.md").read_text()


def test_demo_sweep_rows_compare_each_mapping_with_itself_unpruned(demo_out):
    """chip_energy_vs_unpruned: a row's chip energy over the unpruned network's on the same hardware, mapping and
    structure (1 at sparsity 0); every mode's pruned network beats its own unpruned operation at 90 %."""
    out, rep = demo_out
    rows = rep["sweep"]
    for r in rows:
        base = next(b for b in rows if b["sparsity"] == 0.0 and
                    (b["hardware"], b["mapping"], b["structure"]) == (r["hardware"], r["mapping"], r["structure"]))
        assert r["chip_energy_vs_unpruned"] == r["chip_energy_per_inference_j"] / base["chip_energy_per_inference_j"]
        if r["sparsity"] == 0.9:
            assert r["chip_energy_vs_unpruned"] < 1.0, (r["mapping"], r["structure"])
    assert "chip_energy_vs_unpruned" in (out / "sweep.csv").read_text().splitlines()[0]
    assert "vs unpruned" in (out / "report.md").read_text()


def test_demo_accuracy_on_hardware_names_its_nonidealities(demo_out):
    """Default presets carry a built chip's non-idealities and say so; preset ideal is the old behaviour (within
    quantization of the float accuracy)."""
    _, rep = demo_out
    rows = {(a["hardware"], a["preset"]): a for a in rep["hardware_accuracy"] if a["model"] == demo.SWEEP_MODEL}
    assert set(rows) == {("reram", "default"), ("reram", "ideal"), ("photonic", "harris2014"), ("photonic", "ideal")}
    resnet = {a["hardware"]: a for a in rep["hardware_accuracy"] if a["model"] == "resnet20"}
    assert set(resnet) == {"reram", "photonic"}
    assert all(a["n"] == demo.HARDWARE_IMAGES["resnet20"] and 0 < a["accuracy"] <= 1 for a in resnet.values())
    # 8-bit ADCs that read exactly (ISAAC's flipped encoding) and sigma 0.043 cost a 22-layer network little
    assert resnet["reram"]["accuracy"] >= resnet["reram"]["float_accuracy"] - 0.03
    for a in rep["hardware_accuracy"]:
        assert a["nonidealities"] == a["nonidealities_detail"]["summary"] and a["seed"] == demo.HARDWARE_SEED


def test_demo_side_process_rows_equal_the_same_measurements_in_process(demo_out):
    """The demo measures steps 2 and 5 in a second process (hwsim._side); the rows it reports are the numbers this
    process computes (the ideal presets and the float accuracy of the sweep model, the cheap ones)."""
    from models import fashion_mnist

    from hwsim import backend

    _, rep = demo_out
    x, y = fashion_mnist.load("test")
    net = demo._shipped_nets()[demo.SWEEP_MODEL]
    float_acc = next(a["accuracy"] for a in rep["accuracy"] if a["model"] == demo.SWEEP_MODEL)
    assert float_acc == net.accuracy(x, y)
    for be in backend.backends():
        row = demo._hardware_accuracy(demo.SWEEP_MODEL, net, be, be.resolve_config("ideal"), "ideal", x, y, float_acc)
        got = next(a for a in rep["hardware_accuracy"]
                   if (a["model"], a["hardware"], a["preset"]) == (demo.SWEEP_MODEL, be.name, "ideal"))
        assert {k: v for k, v in got.items() if k != "seconds"} == {k: v for k, v in row.items() if k != "seconds"}


def test_demo_html_report(demo_out):
    out, rep = demo_out
    root = check_html(out, rep)
    assert {h["hardware"] for h in rep["headline"]} == {"reram", "photonic"}
    for h in rep["headline"]:
        acc = next(a for a in rep["hardware_accuracy"]
                   if (a["model"], a["hardware"], a["preset"]) == (h["model"], h["hardware"], h["preset"]))
        assert (h["accuracy"], h["nonidealities"], h["sparsity"]) == (acc["accuracy"], acc["nonidealities"], 0.0)
        assert h["tops_per_w"] > 0 and h["throughput_inferences_per_s"] > 0
    assert "report.html" in atomic_io.verify_folder(out)["files"]   # in the manifest, checksum verified
    assert len(root.findall(".//figure")) == len(rep["figures"]) == 12  # 6 sweep, 4 per-layer and 2 chip breakdowns


def test_cost_rows_without_a_chip_level_show_the_layer_sum_and_no_tops_per_w():
    """A back-end without Report.chip (a third-party one): its row carries the layer sums and JSON-safe blanks."""
    from types import SimpleNamespace

    total = SimpleNamespace(latency_s=1e-6, energy_j=2e-9, static_power_w=3e-3, area_mm2=0.5)
    cols = demo._chip_columns(SimpleNamespace(chip=None, total=total))
    assert cols["chips"] is None and cols["chip_tops_per_w"] is None and cols["chip_static_power_w"] == 3e-3
    assert demo._num(None) == "-" and demo._num(1.23456) == "1.235"
    json.dumps(cols, allow_nan=False)


@pytest.mark.parametrize("side", ["fails", pytest.param("none", marks=pytest.mark.slow)],
                         ids=["side process fails", "one core"])
def test_demo_measures_in_its_own_process_without_a_side_process(demo_out, tmp_path, monkeypatch, side):
    """Without a second core, or when the side process gives no usable result, the demo measures steps 2 and 5
    itself: the same rows (a shortened demo: two sparsities, no ResNet-20 on hardware)."""
    from hwsim import _side

    class Failed:
        def result(self):
            return {"accuracy": [], "hardware_accuracy": []}  # not the rows the demo expects

        def stop(self):
            pass

    monkeypatch.setattr(_side, "start", lambda task, args: Failed() if side == "fails" else None)
    monkeypatch.setattr(demo, "SWEEP_SPARSITIES", (0.0, 0.9))
    monkeypatch.setattr(demo, "HARDWARE_IMAGES", {})
    monkeypatch.setattr(demo, "FLOAT_IMAGES", {"resnet20": demo.FLOAT_IMAGES["resnet20"]})
    rep = demo.run_demo(tmp_path / "out")
    _, full = demo_out
    assert rep["accuracy"] == full["accuracy"]
    drop = ("seconds",)
    want = [{k: v for k, v in r.items() if k not in drop} for r in full["hardware_accuracy"]
            if r["model"] == demo.SWEEP_MODEL]
    assert [{k: v for k, v in r.items() if k not in drop} for r in rep["hardware_accuracy"]] == want
