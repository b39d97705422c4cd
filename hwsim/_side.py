"""Run an independent part of a command in a second process, on the other core, while the command does the rest.

``hwsim demo`` measures accuracies (float and through the simulated hardware: the bit-serial ReRAM engine, the
photonic meshes) that none of its cost and sweep steps need until its report: about 11 s of one core, on a 2-core
machine that has a second core idle meanwhile (BENCHMARKS.md, "Demo"). A thread would not do: the measurements are
Python driving numpy and numba (the GIL; and numba compiles under one process-wide lock on a first run).

The side process runs ``module:function(*args)`` (string arguments; the function loads what it needs itself, so no
object crosses the process boundary) and writes its result as JSON to its standard output, nothing else: no file is
written, and the parent validates what it reads. It runs with one BLAS and one numba thread (two processes on two
cores; more threads would only contend), exits when its parent is gone (a watcher thread, every 0.2 s) and is ended
by :meth:`SideProcess.stop`. When it cannot be started (one core, no interpreter) or fails, :meth:`SideProcess.result`
gives None and the caller computes the same function in its own process: the side process only moves work, it never
decides a result.
"""
from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import threading
import time
from typing import Any

#: Threads the side process's BLAS and numba may use (the command keeps the machine's other core).
_ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1"}
_PARENT_POLL_S = 0.2


def usable_cores() -> int:
    """CPU cores this process may run on (a side process pays only with a second one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


class SideProcess:
    """A running side process (:func:`start`)."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.proc = proc

    def result(self) -> Any:
        """The function's result (waits for it), or None when the process failed or wrote something that is not
        JSON (the caller then computes it itself)."""
        try:
            out, _ = self.proc.communicate()
        except BaseException:
            self.stop()
            raise
        if self.proc.returncode != 0:
            return None
        try:
            return json.loads(out)
        except ValueError:
            return None

    def stop(self) -> None:
        """End the process if it still runs."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def start(task: str, args: list[str]) -> SideProcess | None:
    """Start ``python -m hwsim._side`` computing ``task`` ("module:function", called with the string ``args``);
    None on one core or when no process can be started."""
    if not sys.executable or usable_cores() < 2:
        return None
    try:
        proc = subprocess.Popen([sys.executable, "-m", "hwsim._side", str(os.getpid()), task, *args],
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                close_fds=True, env={**os.environ, **_ONE_THREAD})
    except OSError:
        return None
    return SideProcess(proc)


def _exit_when_orphaned(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(_PARENT_POLL_S)
    os._exit(1)  # the command is gone: nobody will read the result


def main(argv: list[str]) -> int:
    """The side process: ``PARENT_PID module:function [ARG...]``; prints the function's result as JSON."""
    parent, task, args = int(argv[0]), argv[1], argv[2:]
    threading.Thread(target=_exit_when_orphaned, args=(parent,), daemon=True).start()
    out = sys.stdout
    sys.stdout = sys.stderr  # anything the task prints must not corrupt the result
    module, _, name = task.partition(":")
    result = getattr(importlib.import_module(module), name)(*args)
    out.write(json.dumps(result, allow_nan=False))
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
