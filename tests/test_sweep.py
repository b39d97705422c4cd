"""hwsim sweep (issue 13): spec validation before any work, the SQLite store, resume after SIGKILL, mapping reuse
across cost-only keys, process-pool parity, CSV export, and the CLI."""
import dataclasses
import os
import signal
import subprocess
import sys

import pytest

from hwsim import backend, sweep
from hwsim.cli import main
from hwsim.errors import ConfigError

SMALL = {"hardware": "reram", "model": "lenet-300-100", "method": "magnitude", "sparsity": [0.0, 0.8],
         "set": {"adc.bits": [4, 8], "crossbar": {"rows": [64, 128]}}}


def _values(rows):
    """Rows without timing, keyed by point key."""
    return {r["key"]: {k: v for k, v in r.items() if k != "seconds"} for r in rows}


# ---- spec ----------------------------------------------------------------------------------------------------------
def test_grid_is_the_product_of_every_axis():
    spec = sweep.expand({**SMALL, "seed": [0, 1]})
    assert len(spec) == 2 * 2 * 2 * 2
    p = spec.points[0]
    assert p.overrides == (("adc.bits", 4), ("crossbar.rows", 64)) and p.sparsity == 0.0
    assert len({p.key for p in spec.points}) == len(spec)


def test_explicit_points_cross_the_axes_they_do_not_fix():
    spec = sweep.expand({**SMALL, "point": [{"preset": "isaac", "set": {"adc.bits": 6}}, {"sparsity": 0.5}]})
    isaac = [p for p in spec.points if p.preset == "isaac"]
    assert len(isaac) == 2 * 2 and all(dict(p.overrides)["adc.bits"] == 6 for p in isaac)
    assert len([p for p in spec.points if p.sparsity == 0.5]) == 2 * 2


@pytest.mark.parametrize("change, words", [
    ({"colour": 1}, ["unknown sweep key 'colour'", "allowed:", "sparsity"]),
    ({"sparsity": []}, ["'sparsity'", "empty"]),
    ({"sparsity": "high"}, ["'sparsity'", "number"]),
    ({"sparsity": 1.0}, ["'sparsity'", "[0, 1)"]),
    ({"seed": 1.5}, ["'seed'", "integer"]),
    ({"hardware": "fpga"}, ["unknown hardware 'fpga'", "reram", "photonic"]),
    ({"preset": "nope"}, ["unknown ReRAM preset 'nope'", "isaac"]),
    ({"model": "alexnet"}, ["unknown model 'alexnet'", "lenet5"]),
    ({"method": "prayer"}, ["'prayer'", "magnitude", "taylor"]),
    ({"method": "none"}, ["'sparsity'", "method"]),
    ({"structure": "rows"}, ["'structure'", "hardware"]),
    ({"set": {"adc.bitz": [4]}}, ["adc.bitz", "allowed here", "bits"]),
    ({"set": {"adc.bits": ["six"]}}, ["adc.bits", "int"]),
    ({"set": {"adc.bits": [4, 99]}}, ["adc.bits", "[1, 16]", "sweep point"]),
    ({"set": {"adc.bits": []}}, ["set.adc.bits", "empty"]),
    ({"accuracy_images": -1}, ["accuracy_images", ">= 0"]),
    ({"model": "resnet50", "accuracy_images": 10}, ["accuracy", "trainable"]),
    ({"model": "resnet50"}, ["'magnitude'"]),
    ({"point": [{"colour": 1}]}, ["[[point]] 1", "colour"]),
])
def test_bad_specs_fail_before_any_work_naming_key_and_allowed_values(change, words, tmp_path):
    data = {**SMALL, **change}
    if change.get("model") == "resnet50" and "accuracy_images" not in change:
        data["method"] = "magnitude"
        data["model"] = "resnet50"
        data["sparsity"] = [0.0]
        data["structure"] = "neuron"
        words = ["'structure'", "trainable"]
    with pytest.raises(ConfigError) as exc:
        sweep.expand(data)
    for w in words:
        assert w in str(exc.value), (w, str(exc.value))


def test_bad_spec_on_the_command_line_is_one_line_and_writes_nothing(tmp_path, capsys):
    spec = tmp_path / "s.toml"
    spec.write_text('hardware = "reram"\nmodel = "lenet-300-100"\n[set]\n"adc.bits" = [4, 99]\n')
    assert main(["sweep", str(spec)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hwsim: error: sweep point 2") and "adc.bits" in err
    assert not (tmp_path / "s.sqlite").exists()


# ---- running and storing -------------------------------------------------------------------------------------------
def test_rows_hold_config_and_metrics_equal_to_a_direct_cost(tmp_path):
    spec = sweep.expand(SMALL)
    res = sweep.run_sweep(spec, tmp_path / "s.sqlite", jobs=1)
    assert (res.points, res.ran, res.resumed) == (8, 8, 0)
    with sweep.Store(tmp_path / "s.sqlite") as st:
        raw = st.raw_rows()
    assert len(raw) == 8
    import models

    import hwsim.prune as hp

    be = backend.get("reram")
    for r in raw:
        p = spec.points[r["idx"]]
        net = models.get("lenet-300-100", pretrained=True)
        if p.sparsity:
            net.set_masks(hp.select(hp.score(net, None, "magnitude"), p.sparsity, scope="global"))
        cfg = be.resolve_config(None, None, dict(p.overrides))
        rep = be.cost(be.map(net, cfg))
        assert r["config"] == be.config_to_dict(cfg)
        for k, v in rep.total.to_dict().items():
            assert r["metrics"][k] == pytest.approx(v, rel=1e-12), k
        assert r["metrics"]["chip.static_power_w"] == pytest.approx(rep.chip.static_power_w, rel=1e-12)
        assert r["metrics"]["weight_sparsity"] == pytest.approx(p.sparsity, abs=1e-3)


def test_mapping_groups_share_a_mapping_only_across_cost_only_keys():
    spec = sweep.expand(SMALL)
    tasks = sweep.plan(spec)
    assert len(tasks) == 4 and all(len(t.points) == 2 for t in tasks)  # adc.bits shares; rows and sparsity do not
    photonic = sweep.expand({"hardware": "photonic", "model": "lenet-300-100", "set": {"mesh.tile": [8, 16]}})
    assert len(sweep.plan(photonic)) == 2


@pytest.mark.parametrize("key, value", [
    ("adc.bits", 5), ("adc.leakage_w", 1e-3), ("adc.energy_per_conversion_j", 3e-12), ("adc.area_mm2", 1e-3),
    ("nonideal.sigma", 0.1), ("chip.tiles_per_chip", 64), ("system.power_gating", False),
    ("system.pipeline_layers", False), ("system.input_activity", 0.25), ("crossbar.read_voltage_v", 0.2),
    ("crossbar.r_on_ohm", 50e3), ("crossbar.r_off_ohm", 3e6), ("crossbar.area_mm2", 1e-4),
    ("adc.range_fraction", 0.5), ("crossbar.write_voltage_v", 1.5), ("crossbar.write_pulse_s", 1e-7),
    ("adc.flip_encoding", True),
])
def test_reram_cost_only_keys_recost_a_shared_mapping_exactly(key, value, rng):
    """Every key ReRAM declares cost-only: re-costing a mapping made under another value equals a fresh map."""
    be = backend.get("reram")
    assert any(key == k or key.startswith(k + ".") for k in be.cost_only_keys)
    w = rng.standard_normal((150, 300))
    w[:, :128] = 0.0
    base = be.resolve_config("isaac")
    other = be.resolve_config("isaac", None, {key: value})
    shared = dataclasses.replace(be.map([w], base), config=other)
    assert be.cost(shared).to_dict() == be.cost(be.map([w], other)).to_dict()
    assert sweep.map_key(be, base) == sweep.map_key(be, other)


def test_process_pool_gives_the_rows_of_a_serial_run(tmp_path):
    spec = sweep.expand(SMALL)
    sweep.run_sweep(spec, tmp_path / "a.sqlite", jobs=1)
    sweep.run_sweep(spec, tmp_path / "b.sqlite", jobs=2)
    assert _values(sweep.read_rows(tmp_path / "a.sqlite")) == _values(sweep.read_rows(tmp_path / "b.sqlite"))


def test_resume_runs_only_missing_points_and_store_refuses_a_second_run(tmp_path):
    store = tmp_path / "s.sqlite"
    part = sweep.expand({**SMALL, "sparsity": [0.0]})
    sweep.run_sweep(part, store, jobs=1)
    full = sweep.expand(SMALL)
    with pytest.raises(ConfigError, match="--resume"):
        sweep.run_sweep(full, store, jobs=1)
    res = sweep.run_sweep(full, store, jobs=1, resume=True)
    assert (res.ran, res.resumed) == (4, 4)
    rows = sweep.read_rows(store)
    assert len(rows) == 8 and len({r["key"] for r in rows}) == 8


def test_accuracy_on_hardware_and_csv_export(tmp_path, capsys):
    spec = tmp_path / "s.toml"
    spec.write_text('hardware = ["reram", "photonic"]\nmodel = "lenet-300-100"\nmethod = "magnitude"\n'
                    'sparsity = [0.0, 0.9]\naccuracy_images = 100\nseed = [0, 1]\n')
    assert main(["sweep", str(spec), "--jobs", "1", "--csv", str(tmp_path / "s.csv"), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "8 points: 8 run" in out
    rows = sweep.read_rows(tmp_path / "s.csv")
    assert len(rows) == 8 and {r["hardware"] for r in rows} == {"reram", "photonic"}
    assert all(0 < r["accuracy"] <= 1 and 0 < r["float_accuracy"] <= 1 for r in rows)
    assert all("chip.static_power_w" in r for r in rows)
    dense = [r for r in rows if r["sparsity"] == 0.0]
    assert len({r["float_accuracy"] for r in dense}) == 1


@pytest.mark.slow
def test_shape_only_models_take_synthetic_patterns(tmp_path):
    spec = sweep.expand({"hardware": "reram", "model": "vgg8-cifar", "method": ["random", "block"],
                         "sparsity": [0.5], "set": {"mapping.mode": ["dense", "skip_empty"]}})
    sweep.run_sweep(spec, tmp_path / "s.sqlite", jobs=1)
    rows = sweep.read_rows(tmp_path / "s.sqlite")
    assert len(rows) == 4 and all(r["weight_sparsity"] == pytest.approx(0.5, abs=0.05) for r in rows)


def test_parquet_without_pyarrow_is_refused_before_work(tmp_path, capsys):
    try:
        import pyarrow  # noqa: F401
        pytest.skip("pyarrow is installed")
    except ImportError:
        pass
    spec = tmp_path / "s.toml"
    spec.write_text('hardware = "reram"\nmodel = "lenet-300-100"\n')
    assert main(["sweep", str(spec), "--parquet", str(tmp_path / "s.parquet")]) == 2
    assert "pyarrow" in capsys.readouterr().err and not (tmp_path / "s.sqlite").exists()


# ---- SIGKILL midway, then resume -----------------------------------------------------------------------------------
KILL_WRAPPER = r"""
import sys, time
import hwsim.sweep.store as st
real = st.Store.add
n = [0]
def add(self, row):
    ok = real(self, row)
    n[0] += 1
    print(f"ROW {n[0]}", file=sys.stderr, flush=True)
    time.sleep(0.05)
    return ok
st.Store.add = add
from hwsim.cli import main
sys.exit(main(sys.argv[1:]))
"""

KILL_SPEC = ('hardware = "reram"\nmodel = "lenet-300-100"\nmethod = ["magnitude", "random"]\n'
             'sparsity = [0.0, 0.5, 0.9]\n[set]\n"crossbar.rows" = [64, 128]\n'
             '"adc.bits" = [4, 8]\n')


def test_sigkill_midway_then_resume_stores_every_point_once_with_uninterrupted_values(tmp_path):
    spec = tmp_path / "s.toml"
    spec.write_text(KILL_SPEC)
    n = len(sweep.load_spec(spec))
    store = tmp_path / "killed.sqlite"
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, "-c", KILL_WRAPPER, "sweep", str(spec), "--store", str(store),
                             "--jobs", "2", "--quiet"], stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True)
    seen = 0
    for line in proc.stderr:
        if line.startswith("ROW"):
            seen = int(line.split()[1])
            if seen >= 5:
                os.killpg(proc.pid, signal.SIGKILL)  # the sweep and its workers
                break
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL and 5 <= seen < n
    with sweep.Store(store) as st:
        assert 5 <= len(st) < n
    assert main(["sweep", str(spec), "--store", str(store), "--resume", "--jobs", "2", "--quiet"]) == 0
    resumed = sweep.read_rows(store)
    assert len(resumed) == n and len({r["key"] for r in resumed}) == n
    sweep.run_sweep(sweep.load_spec(spec), tmp_path / "clean.sqlite", jobs=1)
    assert _values(resumed) == _values(sweep.read_rows(tmp_path / "clean.sqlite"))


# ---- Dask ------------------------------------------------------------------------------------------------------------
def test_dask_local_cluster_gives_the_rows_of_the_process_pool(tmp_path):
    distributed = pytest.importorskip("distributed")
    spec = sweep.expand(SMALL)
    sweep.run_sweep(spec, tmp_path / "pool.sqlite", jobs=2)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as lc:
        res = sweep.run_sweep(spec, tmp_path / "dask.sqlite", dask=lc.scheduler_address)
    assert res.ran == len(spec)
    assert _values(sweep.read_rows(tmp_path / "dask.sqlite")) == _values(sweep.read_rows(tmp_path / "pool.sqlite"))
