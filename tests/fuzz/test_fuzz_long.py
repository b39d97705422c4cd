"""The fuzz suite's long run as a slow test: benchmarks/fuzz_long.py with thousands of cases."""
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.slow
def test_fuzz_long_run():
    script = Path(__file__).parents[2] / "benchmarks" / "fuzz_long.py"
    proc = subprocess.run([sys.executable, str(script), "--examples", "250"], capture_output=True, text=True,
                          timeout=3600)
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-2000:]
    assert "0 tracebacks, 0 silent wrong results" in proc.stdout
