"""The ``hwsim`` command line: one module per verb (``zoo``: models, ``evaluate``, ``cost``, ``prune``, ``sweep``,
``pareto``, ``demo``, ``warmup``),
hardware options built from the back-end registry (:mod:`hwsim.cli._hardware`). Command names and JSON output forms
are a public contract (DESIGN.md)."""
from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from .. import backend
from ..errors import HwsimError
from . import cost, demo, evaluate, pareto, prune, sweep, warmup, zoo


def build_parser() -> argparse.ArgumentParser:
    """The ``hwsim`` parser, with every registered back-end's options."""
    kinds = ", ".join(be.title for be in backend.backends())
    ap = argparse.ArgumentParser(prog="hwsim", description="Cost and accuracy of pruned neural networks on hardware "
                                 f"accelerator models ({kinds}).")
    ap.add_argument("--debug", action="store_true", help="show the Python traceback of an error")
    sub = ap.add_subparsers(dest="command", required=True)
    for verb in (zoo, evaluate, cost, prune, sweep, pareto, demo, warmup):
        verb.add_parser(sub)
    return ap


def _error(message: str) -> None:
    one_line = " ".join(message.split())
    print(f"hwsim: error: {one_line}", file=sys.stderr, flush=True)


def _quiet_stdout() -> None:
    """After a broken pipe (``hwsim ... | head``): point stdout at /dev/null so the interpreter's final flush does not
    fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # pragma: no cover - stdout without a file descriptor
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status. The one funnel of every failure: bad input (any
    :class:`HwsimError`) is one line ``hwsim: error: ...`` and status 2, an operating-system error (a file that cannot
    be read or written) one line and status 1, any other exception one line naming it and status 1; the traceback
    only with ``--debug``. Ctrl-C ends quietly with status 130, a closed pipe (``| head``) quietly with 0."""
    argv = list(sys.argv[1:] if argv is None else argv)
    end = argv.index("--") if "--" in argv else len(argv)
    debug = "--debug" in argv[:end]
    if debug:  # accepted anywhere before "--": before or after the command
        argv = ["--debug"] + [a for a in argv[:end] if a != "--debug"] + argv[end:]
    try:
        args = build_parser().parse_args(argv)
        status = int(args.func(args) or 0)
        sys.stdout.flush()
        return status
    except KeyboardInterrupt:
        if debug:
            raise
        return 130
    except BrokenPipeError:
        _quiet_stdout()
        return 0
    except HwsimError as exc:
        if debug:
            raise
        _error(str(exc))
        return 2
    except (OverflowError, FloatingPointError) as exc:  # a value in range alone that overflows in the model
        if debug:
            raise
        _error(f"numeric overflow ({exc}): an input value (a weight, gain or configuration value such as a loss in "
               "dB) is too large for the model")
        return 2
    except OSError as exc:
        if debug:
            raise
        where = f" {exc.filename!r}" if getattr(exc, "filename", None) else ""
        _error(f"{exc.strerror or exc}{':' + where if where else ''}")
        return 1
    except MemoryError:
        if debug:
            raise
        _error("out of memory (an input too large for this machine)")
        return 1
    except Exception as exc:  # the funnel: no traceback reaches a user without --debug
        if debug:
            raise
        _error(f"internal error ({type(exc).__name__}: {exc}); rerun with --debug for the traceback and please "
               "report it")
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
