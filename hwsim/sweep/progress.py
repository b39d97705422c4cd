"""A small progress line with rate and ETA on stderr (no dependency): rewritten in place on a terminal, one line
every few seconds otherwise (logs, CI)."""
from __future__ import annotations

import sys
import time
from typing import IO, Any


def _duration(s: float) -> str:
    s = max(0.0, s)
    if s < 60:
        return f"{s:.0f}s"
    if s < 3600:
        return f"{int(s // 60)}m{int(s % 60):02d}s"
    return f"{int(s // 3600)}h{int(s % 3600 // 60):02d}m"


class Progress:
    """``Progress("points")(done, total)`` prints ``points 120/1000 (12%), 8.3/s, ETA 1m46s`` to ``stream``."""

    def __init__(self, what: str, stream: IO[str] | None = None, every_s: float = 5.0, enabled: bool = True) -> None:
        self.what = what
        self.stream = stream if stream is not None else sys.stderr
        self.every_s = every_s
        self.enabled = enabled
        self.t0 = time.perf_counter()
        self._last = -1e9
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())

    def line(self, done: int, total: int) -> str:
        """The progress text for ``done`` of ``total`` items."""
        el = time.perf_counter() - self.t0
        rate = done / el if el > 0 else 0.0
        pct = 100.0 * done / total if total else 100.0
        eta = f", ETA {_duration((total - done) / rate)}" if 0 < done < total and rate > 0 else ""
        return f"{self.what} {done}/{total} ({pct:.0f}%), {rate:.3g}/s, {_duration(el)} elapsed{eta}"

    def __call__(self, done: int, total: int, *_: Any) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        final = done >= total
        if not final and now - self._last < (0.2 if self._tty else self.every_s):
            return
        self._last = now
        text = self.line(done, total)
        if self._tty:
            self.stream.write("\r" + text + ("\n" if final else "\x1b[K"))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()
