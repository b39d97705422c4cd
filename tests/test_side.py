"""The demo's side process (hwsim._side): when it starts, what it returns, that a failure only moves the work back
into the command, and that it always ends."""
import os
import subprocess
import sys
import time

import pytest

from hwsim import _side, demo

TASKS = '''
import json, os, sys, time
def answer(a, b):
    print("noise on stdout must not reach the result")
    return {"sum": int(a) + int(b), "threads": os.environ.get("OPENBLAS_NUM_THREADS")}
def fails():
    raise RuntimeError("boom")
def not_json():
    return {1, 2}
def nan():
    return float("nan")
def sleeps(path):
    open(path, "w").write(str(os.getpid()))
    time.sleep(60)
'''


@pytest.fixture()
def tasks(tmp_path, monkeypatch):
    (tmp_path / "side_tasks_for_test.py").write_text(TASKS)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(tmp_path)] + sys.path))
    monkeypatch.setattr(_side, "usable_cores", lambda: 2)
    return tmp_path


def test_result_is_the_functions_json_and_the_side_runs_on_one_blas_thread(tasks):
    side = _side.start("side_tasks_for_test:answer", ["2", "40"])
    assert side.result() == {"sum": 42, "threads": "1"}
    side.stop()  # already ended: nothing to do


@pytest.mark.parametrize("task", ["fails", "not_json", "nan", "no_such_function"])
def test_a_failed_side_process_gives_none(tasks, task):
    side = _side.start(f"side_tasks_for_test:{task}", [])
    assert side.result() is None


def test_no_side_process_on_one_core(monkeypatch):
    monkeypatch.setattr(_side, "usable_cores", lambda: 1)
    assert _side.start("side_tasks_for_test:answer", ["1", "2"]) is None


def test_stop_ends_a_running_side_process(tasks):
    side = _side.start("side_tasks_for_test:sleeps", [str(tasks / "pid")])
    t0 = time.perf_counter()
    while not (tasks / "pid").exists() and time.perf_counter() - t0 < 60:
        time.sleep(0.05)
    side.stop()
    assert side.proc.poll() is not None and time.perf_counter() - t0 < 70


def test_side_process_exits_when_its_parent_is_gone(tasks):
    """A parent that is SIGKILLed cannot stop its side process: the side process notices and exits by itself."""
    pid_file = tasks / "pid"
    parent = subprocess.Popen([sys.executable, "-c",
                               "import sys, time; from hwsim import _side; "
                               f"_side.usable_cores = lambda: 2; _side.start('side_tasks_for_test:sleeps', "
                               f"[{str(pid_file)!r}]); time.sleep(60)"])
    t0 = time.perf_counter()
    while not pid_file.exists() and time.perf_counter() - t0 < 60:
        time.sleep(0.05)
    while not pid_file.read_text() and time.perf_counter() - t0 < 60:
        time.sleep(0.05)
    side_pid = int(pid_file.read_text())
    parent.kill()
    parent.wait()
    t1 = time.perf_counter()
    while time.perf_counter() - t1 < 10:
        try:
            os.kill(side_pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        os.kill(side_pid, 9)
        pytest.fail("the side process outlived its parent by 10 s")


def _rows():
    nets = demo._shipped_nets()
    from hwsim import backend

    backends = {be.name: (be, None) for be in backend.backends()}
    acc = [{"model": n, "accuracy": 0.9, "n": 10} for n in nets]
    hw = [{"model": m, "hardware": h, "preset": p, "accuracy": 0.5, "float_accuracy": 0.9}
          for m, h, p in [(demo.SWEEP_MODEL, name, p) for name, (be, _) in backends.items()
                          for p in demo._hardware_presets(be)]
          + [(m, name, be.default_preset) for m in demo.HARDWARE_IMAGES for name, (be, _) in backends.items()]]
    return nets, backends, {"accuracy": acc, "hardware_accuracy": hw}


def test_the_demo_takes_only_the_rows_it_expects_from_the_side_process():
    nets, backends, good = _rows()
    assert demo._checked_measurements(good, nets, backends) is good
    bad = [None, [], {"accuracy": good["accuracy"]}, {**good, "extra": 1},
           {**good, "accuracy": good["accuracy"][:-1]},
           {**good, "hardware_accuracy": good["hardware_accuracy"][::-1]},
           {**good, "accuracy": [{**good["accuracy"][0], "accuracy": 1.5}] + good["accuracy"][1:]},
           {**good, "accuracy": [{**good["accuracy"][0], "accuracy": "0.9"}] + good["accuracy"][1:]},
           {**good, "hardware_accuracy": [{**good["hardware_accuracy"][0], "accuracy": None}]
            + good["hardware_accuracy"][1:]},
           {**good, "hardware_accuracy": [{"model": demo.SWEEP_MODEL}] + good["hardware_accuracy"][1:]},
           {**good, "accuracy": ["x"] + good["accuracy"][1:]}]
    for b in bad:
        assert demo._checked_measurements(b, nets, backends) is None


@pytest.mark.parametrize("fails", [False, True])
def test_demo_stops_its_side_process(tmp_path, monkeypatch, fails):
    stopped = []

    class Fake:
        def stop(self):
            stopped.append(True)

    monkeypatch.setattr(_side, "start", lambda task, args: Fake())
    if fails:
        monkeypatch.setattr(demo, "_run_demo", lambda *a: (_ for _ in ()).throw(RuntimeError("boom")))
        with pytest.raises(RuntimeError):
            demo.run_demo(tmp_path / "out")
    else:
        monkeypatch.setattr(demo, "_run_demo", lambda out, stage, data_dir, side: ({}, ""))
        demo.run_demo(tmp_path / "out")
    assert stopped == [True]


def test_a_first_run_compiles_the_sweeps_kernels_in_the_side_process_first(monkeypatch):
    """measurements(first="compile-sweep") maps and costs the pruned sweep model through every back-end's sweep
    variants, both pruning structures, before it measures; the rows do not depend on it."""
    from hwsim import backend

    order = []
    monkeypatch.setattr(demo, "float_accuracies", lambda nets, x, y: order.append("float") or [])
    monkeypatch.setattr(demo, "hardware_accuracies", lambda *a: order.append("hardware") or [])
    calls = []

    class Spy:
        def __init__(self, be):
            self.be = be

        def __getattr__(self, name):
            return getattr(self.be, name)

        def map(self, net, cfg):
            calls.append((self.be.name, cfg))
            return self.be.map(net, cfg)

        def cost(self, m):
            order.append("cost")
            return self.be.cost(m)

    real = {be.name: be for be in backend.backends()}
    monkeypatch.setattr(backend, "get", lambda name: Spy(real[name]))
    assert demo.measurements("", ",".join(real), first="compile-sweep") == {"accuracy": [], "hardware_accuracy": []}
    assert order[-2:] == ["float", "hardware"] and set(order[:-2]) == {"cost"}
    want = [(name, variant) for name, be in list(real.items())[:1] for _ in range(2)
            for _, variant in be.sweep_variants(be.resolve_config())]
    assert calls == want
    calls.clear()
    order.clear()
    demo.measurements("", ",".join(real))  # a warm run: no extra mapping
    assert calls == [] and order == ["float", "hardware"]
    with pytest.raises(ValueError, match="compile-sweep"):
        demo.measurements("", ",".join(real), first="compile")  # refused, not ignored


def test_sweep_kernels_cached_reads_numbas_index_and_says_no_when_it_cannot_tell(monkeypatch, tmp_path):
    from hwsim.reram import _kernels

    class File:
        _index_path = str(tmp_path / "k.nbi")

    class Cache:
        _cache_file = File()

    class Disp:
        _cache = Cache()

    monkeypatch.setattr(_kernels, "ou_pack", Disp())
    assert not demo._sweep_kernels_cached()
    (tmp_path / "k.nbi").write_bytes(b"")
    assert demo._sweep_kernels_cached()
    monkeypatch.setattr(_kernels, "ou_pack", object())
    assert not demo._sweep_kernels_cached()


def test_rows_measured_in_two_processes_come_back_in_the_tables_order():
    """The side process measures the first back-end's rows, the demo's process the others': merged, they are in
    hardware_accuracies' order (sweep model first, back-ends in registry order, presets as measured)."""
    from hwsim import backend

    nets = demo._shipped_nets()
    backends = {be.name: (be, None) for be in backend.backends()}
    names = list(backends)
    assert names == ["reram", "photonic"] and demo._side_backends(names) == ["reram"]
    want = [(demo.SWEEP_MODEL, "reram", "default"), (demo.SWEEP_MODEL, "reram", "ideal"),
            (demo.SWEEP_MODEL, "photonic", "harris2014"), (demo.SWEEP_MODEL, "photonic", "ideal")]
    want += [(m, h, backends[h][0].default_preset) for m in demo.HARDWARE_IMAGES for h in names]
    assert [p[:3] for p in demo._hardware_plan(nets, backends)] == want
    rows = [{"model": m, "hardware": h, "preset": p} for m, h, p in want]
    side = [r for r in rows if r["hardware"] == "reram"]
    here = [r for r in rows if r["hardware"] != "reram"]
    assert demo._in_table_order(side + here, nets, backends) == rows
    assert demo._in_table_order(here + side, nets, backends) == rows
