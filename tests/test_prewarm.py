"""The demo's cold-start prewarm process (hwsim._prewarm): when it starts, what it runs, and that it always ends."""
import os
import subprocess
import sys
import time

import pytest

from hwsim import _prewarm, demo
from hwsim.reram import _kernels_run


class _NoCache:
    """A dispatcher-like object without numba's cache attributes."""


def test_kernel_cached_reads_numba_cache_index(tmp_path, monkeypatch):
    class File:
        _index_path = str(tmp_path / "k.nbi")

    class Cache:
        _cache_file = File()

    class Disp:
        _cache = Cache()

    assert not _prewarm.kernel_cached(Disp())
    (tmp_path / "k.nbi").write_bytes(b"")
    assert _prewarm.kernel_cached(Disp())
    assert not _prewarm.kernel_cached(_NoCache())  # cannot tell: treated as not cached


def test_no_prewarm_when_the_last_kernel_is_cached_or_jit_is_off(monkeypatch):
    monkeypatch.setattr(_prewarm, "kernel_cached", lambda d: True)
    assert _prewarm.start("hwsim.demo:prewarm_steps", last_kernel=_kernels_run.bitserial_adc_lists) is None
    monkeypatch.setattr(_prewarm, "kernel_cached", lambda d: False)
    from numba.core import config

    monkeypatch.setattr(config, "DISABLE_JIT", True)
    assert _prewarm.start("hwsim.demo:prewarm_steps", last_kernel=_kernels_run.bitserial_adc_lists) is None


def test_no_prewarm_on_one_core(monkeypatch):
    monkeypatch.setattr(_prewarm, "kernel_cached", lambda d: False)
    monkeypatch.setattr(_prewarm, "usable_cores", lambda: 1)
    assert _prewarm.start("hwsim.demo:prewarm_steps", last_kernel=_kernels_run.bitserial_adc_lists) is None


def test_steps_stop_when_the_parent_is_gone():
    ran = []
    _prewarm.run_steps([lambda: ran.append(1), lambda: ran.append(2)], parent=os.getppid())
    assert ran == [1, 2]
    _prewarm.run_steps([lambda: ran.append(3)], parent=-1)  # not this process's parent: nothing runs
    assert ran == [1, 2]


def test_stop_ends_a_running_process():
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    t0 = time.perf_counter()
    _prewarm.Prewarm(proc).stop()
    assert proc.poll() is not None and time.perf_counter() - t0 < 10
    _prewarm.Prewarm(proc).stop()  # already ended: nothing to do


def test_prewarm_process_runs_the_walk_and_exits(tmp_path):
    """A real prewarm process on a walk that records its steps: it runs them in order and exits 0."""
    mod = tmp_path / "walk_for_test.py"
    mod.write_text("import os\n"
                   "def steps(path):\n"
                   "    return [lambda: open(path, 'a').write('a'), lambda: open(path, 'a').write('b')]\n")
    out = tmp_path / "trace"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path)] + sys.path))
    proc = subprocess.run([sys.executable, "-m", "hwsim._prewarm", str(os.getpid()), "walk_for_test:steps",
                           str(out)], env=env, timeout=120)
    assert proc.returncode == 0 and out.read_text() == "ab"


def test_demo_prewarm_steps_cover_steps_three_to_five(monkeypatch):
    """The walk is the photonic mapping, the sweep's modes and the hardware runs, each on one or two images."""
    calls = []

    class Spy:
        def __init__(self, be):
            self.be = be

        def __getattr__(self, name):
            return getattr(self.be, name)

        def map(self, net, cfg):
            calls.append(("map", self.be.name))
            return self.be.map(net, cfg)

        def cost(self, m):
            calls.append(("cost", self.be.name))
            return self.be.cost(m)

        def accuracy(self, m, x, y, seed=0):
            calls.append(("accuracy", self.be.name, len(y)))
            return 0.0

    from hwsim import backend

    real = backend.backends()
    monkeypatch.setattr(backend, "backends", lambda: [Spy(b) for b in real])
    steps = demo.prewarm_steps()
    assert len(steps) == 3
    steps[0]()
    assert calls == [(what, b.name) for b in reversed(real[1:]) for what in ("map", "cost")]
    calls.clear()
    steps[2]()
    assert {c for c in calls if c[0] == "accuracy"} >= {("accuracy", b.name, 2) for b in real}
    assert max(c[2] for c in calls if c[0] == "accuracy") <= 2


@pytest.mark.parametrize("fails", [False, True])
def test_demo_stops_its_prewarm_process(tmp_path, monkeypatch, fails):
    stopped = []

    class Fake:
        def stop(self):
            stopped.append(True)

    monkeypatch.setattr(demo, "_start_prewarm", lambda data_dir: Fake())
    if fails:
        monkeypatch.setattr(demo, "_run_demo", lambda *a: (_ for _ in ()).throw(RuntimeError("boom")))
        with pytest.raises(RuntimeError):
            demo.run_demo(tmp_path / "out")
    else:
        monkeypatch.setattr(demo, "_run_demo", lambda out, stage, data_dir: ({}, ""))
        demo.run_demo(tmp_path / "out")
    assert stopped == [True]
