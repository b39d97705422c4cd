"""The fuzz suite (issue 15): hypothesis strategies and byte mutations of valid files, one family per boundary.

A bounded sample runs in the default test run (``HWSIM_FUZZ_EXAMPLES`` examples per test, default 20); the long
run sets it in the thousands (``python benchmarks/fuzz_long.py``, or ``pytest -m slow tests/fuzz``). Every case
counts in :data:`hostile.CASES`, printed at the end of the session and written as JSON to ``HWSIM_FUZZ_REPORT``
when that is set."""
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import hostile  # noqa: E402


def pytest_terminal_summary(terminalreporter):
    if hostile.CASES:
        total = sum(hostile.CASES.values())
        terminalreporter.write_line(f"fuzz cases: {total} ({', '.join(f'{k} {v}' for k, v in sorted(hostile.CASES.items()))})")
    report = os.environ.get("HWSIM_FUZZ_REPORT")
    if report:
        Path(report).write_text(json.dumps(dict(hostile.CASES), indent=1, sort_keys=True))
