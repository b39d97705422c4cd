"""Compile a command's later numba kernels in a second process while the command runs (cold-start overlap).

On the first run after an install numba compiles every kernel a command uses: about 11 s of CPU for ``hwsim demo``
(BENCHMARKS.md, "Cold start"), on the command's path. numba caches compiled kernels on disk, and a process that
calls a kernel loads it from that cache if another process has written it by then. So a command can start a
*prewarm* process that walks its later steps on one or two inputs, in the order the command will need them, at a
lower scheduling priority: on a machine with a second core those kernels compile there while the command does its
first steps, and the command then finds them cached (measured: the cold demo 32.4 s -> 24.1 s, warm 21-22 s).

A thread would not do: numba's type inference is Python code holding the GIL, and numba compiles under one
process-wide lock, so a compiling thread stalls a main thread that makes many short numpy calls (measured slower
than compiling in line).

The prewarm process changes no result: it writes only numba's cache (one file at a time, renamed into place by
numba), its output goes nowhere, and it exits when its walk is done, when the command ends it
(:meth:`Prewarm.stop`), or when its parent is gone (checked between steps). It is not started when numba's JIT is
off, on one core, or when the kernel the walk needs last is already cached (a warm run).
"""
from __future__ import annotations

import importlib
import os
import subprocess
import sys
from typing import Any, Callable, Iterable


def kernel_cached(dispatcher: Any) -> bool:
    """Whether numba's on-disk cache holds an index for this ``@njit(cache=True)`` dispatcher (False when it cannot
    tell: the check reads numba internals, and a wrong False only costs an unneeded prewarm process)."""
    try:
        return os.path.exists(dispatcher._cache._cache_file._index_path)
    except AttributeError:
        return False


def usable_cores() -> int:
    """CPU cores this process may run on (the prewarm pays only with a second one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


class Prewarm:
    """A running prewarm process (:func:`start`)."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.proc = proc

    def stop(self) -> None:
        """End the process if it still runs (its remaining steps only compile what the command no longer needs)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start(walk: str, args: Iterable[str] = (), last_kernel: Any = None) -> Prewarm | None:
    """Start ``python -m hwsim._prewarm`` running ``walk`` ("module:function", called with the string ``args``) at
    a lower priority; None when numba's JIT is off, on one core, when ``last_kernel`` (the dispatcher the walk
    reaches last) is already cached, or when no process can be started."""
    from numba.core import config as numba_config

    if numba_config.DISABLE_JIT or not sys.executable or usable_cores() < 2:
        return None
    if last_kernel is not None and kernel_cached(last_kernel):
        return None
    try:
        proc = subprocess.Popen([sys.executable, "-m", "hwsim._prewarm", str(os.getpid()), walk, *args],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                close_fds=True)
    except OSError:
        return None
    return Prewarm(proc)


def run_steps(steps: Iterable[Callable[[], object]], parent: int) -> None:
    """Call each step in order, stopping as soon as the process's parent is no longer ``parent``."""
    for step in steps:
        if os.getppid() != parent:
            return
        step()


def main(argv: list[str]) -> int:
    """The prewarm process: ``PARENT_PID module:function [ARG...]``; the function returns the steps to run."""
    parent, walk, args = int(argv[0]), argv[1], argv[2:]
    try:
        os.nice(10)
    except (AttributeError, OSError):
        pass
    module, _, name = walk.partition(":")
    steps = getattr(importlib.import_module(module), name)(*args)
    run_steps(steps, parent)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
