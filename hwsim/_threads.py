"""Independent work items of ``nogil`` numba kernels run on a few Python threads (issue 16).

Both back-ends' batched kernels are serial ``nogil`` functions over a part of the work (a chunk of tiles, a block of
columns); :func:`run_items` runs the parts on the calling thread and on up to ``threads - 1`` workers of one shared
pool, each thread taking the next item as it comes. No ``prange``: numba's parfor pipeline cost ~1.5-2 s of cold
compile per kernel family, and its static split made a parallel call wait for a core that another process held
while its other workers spun (measured on the 2-core CI machines; BENCHMARKS.md).
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()
_DONE = object()


def pool() -> ThreadPoolExecutor:
    """The shared worker pool: NUMBA_NUM_THREADS - 1 threads (the calling thread is the last one), made on first use."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            import numba

            _POOL = ThreadPoolExecutor(max_workers=max(1, numba.config.NUMBA_NUM_THREADS - 1),
                                       thread_name_prefix="hwsim")
        return _POOL


def run_items(work: Callable[[int, Any], None], items: Iterable[Any], threads: int) -> None:
    """``work(w, item)`` for every item, on ``threads`` threads (the calling thread is w = 0, pool workers 1..),
    each taking the next item until none is left; one thread: in order on the calling thread. An exception in any
    item is raised here after every thread has stopped."""
    if threads <= 1:
        for it in items:
            work(0, it)
        return
    todo = iter(items)
    lock = threading.Lock()

    def loop(w: int) -> None:
        while True:
            with lock:
                it = next(todo, _DONE)
            if it is _DONE:
                return
            work(w, it)

    futures = [pool().submit(loop, w) for w in range(1, threads)]
    try:
        loop(0)
    finally:
        for f in futures:
            f.result()
